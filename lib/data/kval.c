/*
 * kval — one Kusto value from its text (see kval.h).
 *
 * Every parser is strict (the whole text, nothing around it) and works on
 * integers where it can: a row reader calls one per field, tens of millions
 * of times per load, so the common forms take a fast path and only the rare
 * ones (a real with many digits) go through the C library.  JSON for
 * dynamic values is in kval_json.c.
 */
#include "data/kval.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

#define TICKS_PER_MIN (60 * TIMEFMT_TICKS_PER_SEC)
#define TICKS_PER_DAY (86400 * TIMEFMT_TICKS_PER_SEC)
/* 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.9999999Z in ticks from the epoch. */
#define DT_MIN INT64_C(-621355968000000000)
#define DT_MAX (INT64_C(3155378975999999999) + DT_MIN)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Case-insensitive equality of text (len bytes) and a lower-case word. */
static bool word_is(const char *text, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len && word[i]; i++)
		if (lower(text[i]) != word[i])
			return false;
	return i == len && word[i] == '\0';
}

/* ---- bool, int, long ---- */

int kval_parse_bool(const char *text, size_t len, int64_t *ret)
{
	if (word_is(text, len, "true") || (len == 1 && text[0] == '1'))
		*ret = 1;
	else if (word_is(text, len, "false") || (len == 1 && text[0] == '0'))
		*ret = 0;
	else
		return -EINVAL;
	return 0;
}

int kval_parse_int(const char *text, size_t len, int64_t min, int64_t max, int64_t *ret)
{
	const char *p = text, *end = text + len;
	bool neg = false, big = false;
	uint64_t v = 0;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (p == end)
		return -EINVAL;
	for (; p < end; p++) {
		if (!is_digit(*p))
			return -EINVAL;
		/* Past 19 digits keep checking the form: garbage says so first. */
		big |= v > (UINT64_MAX - 9) / 10;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (big || (neg ? v > (uint64_t) - (min + 1) + 1 : v > (uint64_t)max))
		return -ERANGE;
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* ---- real ---- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* NaN and the infinities in the forms Kusto and .NET write them. */
static bool special_real(const char *text, size_t len, double *ret)
{
	bool neg = len > 0 && text[0] == '-';
	size_t skip = len > 0 && (text[0] == '-' || text[0] == '+');

	if (word_is(text, len, "nan")) {
		*ret = NAN;
		return true;
	}
	if (word_is(text + skip, len - skip, "inf") ||
	    word_is(text + skip, len - skip, "infinity") ||
	    (len - skip == 3 && memcmp(text + skip, "\xe2\x88\x9e", 3) == 0)) {
		*ret = neg ? -INFINITY : INFINITY;
		return true;
	}
	return false;
}

struct real_parts {
	uint64_t mant; /* the first 19 significant digits */
	int sig;       /* significant digits seen */
	int exp10;     /* value = mant * 10^exp10 when sig <= 19 */
	bool neg;
};

/* Reads the digits of a mantissa (with an optional point) into *d; the end. */
static const char *real_mantissa(const char *p, const char *end, struct real_parts *d)
{
	bool point = false, any = false;

	for (; p < end; p++) {
		if (*p == '.' && !point) {
			point = true;
			continue;
		}
		if (!is_digit(*p))
			break;
		any = true;
		if (d->sig == 0 && *p == '0') {
			d->exp10 -= point;
			continue;
		}
		if (++d->sig <= 19)
			d->mant = d->mant * 10 + (uint64_t)(*p - '0');
		d->exp10 += (d->sig > 19) - point;
	}
	return any ? p : NULL;
}

/* Checks the grammar [+-]?(d+[.d*]|.d+)([eE][+-]?d+)? and splits it. */
static bool real_split(const char *text, size_t len, struct real_parts *d)
{
	const char *p = text, *end = text + len;
	int e = 0, esign = 1, edigits = 0;

	memset(d, 0, sizeof(*d));
	if (p < end && (*p == '-' || *p == '+'))
		d->neg = *p++ == '-';
	p = real_mantissa(p, end, d);
	if (!p)
		return false;
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '-' || *p == '+'))
			esign = *p++ == '-' ? -1 : 1;
		for (; p < end && is_digit(*p); p++, edigits++)
			e = e < 100000 ? e * 10 + (*p - '0') : e;
		if (edigits == 0)
			return false;
	}
	d->exp10 += esign * e;
	return p == end;
}

int kval_parse_real(const char *text, size_t len, double *ret)
{
	static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
	struct real_parts d;
	double v;

	if (special_real(text, len, ret))
		return 0;
	if (!real_split(text, len, &d))
		return -EINVAL;
	/* Clinger's fast path: a mantissa below 2^53 times an exact power of
	 * ten is one correctly rounded operation. */
	if (d.sig <= 15 && d.exp10 >= -22 && d.exp10 <= 22) {
		v = (double)d.mant;
		v = d.exp10 < 0 ? v / pow10[-d.exp10] : v * pow10[d.exp10];
		*ret = d.neg ? -v : v;
		return 0;
	}
	(void)pthread_once(&c_locale_once, c_locale_init);
	if (c_locale == (locale_t)0)
		return -ENOMEM;
	errno = 0;
	v = strtod_l(text, NULL, c_locale);
	if (errno == ERANGE && isinf(v))
		return -ERANGE;
	*ret = v;
	return 0;
}

/* ---- datetime ---- */

/* Reads exactly n digits at *p (before end) and advances *p. */
static bool fixed(const char **p, const char *end, int n, unsigned *ret)
{
	unsigned v = 0;

	if (end - *p < n)
		return false;
	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return false;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

static bool eat(const char **p, const char *end, char c)
{
	if (*p < end && **p == c) {
		(*p)++;
		return true;
	}
	return false;
}

static bool leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD" as days since the epoch. */
static bool dt_date(const char **p, const char *end, int64_t *ret)
{
	static const unsigned char mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y, m, d;

	if (!fixed(p, end, 4, &y) || !eat(p, end, '-') || !fixed(p, end, 2, &m) ||
	    !eat(p, end, '-') || !fixed(p, end, 2, &d))
		return false;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (unsigned)(m == 2 && leap(y)))
		return false;
	*ret = timefmt_days_from_civil(y, m, d);
	return true;
}

/* ".f{1,7}" when present, as ticks. */
static bool dt_fraction(const char **p, const char *end, int64_t *ret)
{
	int64_t v = 0;
	int n = 0;

	*ret = 0;
	if (!eat(p, end, '.'))
		return true;
	for (; *p < end && is_digit(**p); (*p)++, n++) {
		if (n == 7)
			return false;
		v = v * 10 + (**p - '0');
	}
	for (int k = n; k < 7; k++)
		v *= 10;
	*ret = v;
	return n > 0;
}

/* "hh:mm[:ss[.f]]" as ticks of the day. */
static bool dt_clock(const char **p, const char *end, int64_t *ret)
{
	unsigned h, m, s = 0;
	int64_t frac = 0;

	if (!fixed(p, end, 2, &h) || !eat(p, end, ':') || !fixed(p, end, 2, &m))
		return false;
	if (eat(p, end, ':') && (!fixed(p, end, 2, &s) || !dt_fraction(p, end, &frac)))
		return false;
	if (h > 23 || m > 59 || s > 59)
		return false;
	*ret = ((int64_t)h * 3600 + m * 60 + s) * TIMEFMT_TICKS_PER_SEC + frac;
	return true;
}

/* "Z", "±hh", "±hh:mm", "±hhmm" or nothing, as ticks to subtract. */
static bool dt_zone(const char **p, const char *end, int64_t *ret)
{
	unsigned h, m = 0;
	int sign;

	*ret = 0;
	if (*p == end || eat(p, end, 'Z') || eat(p, end, 'z'))
		return true;
	if (**p != '+' && **p != '-')
		return false;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (!fixed(p, end, 2, &h))
		return false;
	if ((eat(p, end, ':') || *p < end) && !fixed(p, end, 2, &m))
		return false;
	if (h > 14 || m > 59)
		return false;
	*ret = sign * ((int64_t)h * 60 + m) * TICKS_PER_MIN;
	return true;
}

int kval_parse_datetime(const char *text, size_t len, int64_t *ret)
{
	const char *p = text, *end = text + len;
	int64_t days, clock = 0, zone = 0, t;

	if (!dt_date(&p, end, &days))
		return -EINVAL;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' ')) {
		p++;
		if (!dt_clock(&p, end, &clock) || !dt_zone(&p, end, &zone))
			return -EINVAL;
	}
	if (p != end)
		return -EINVAL;
	t = days * TICKS_PER_DAY + clock - zone;
	if (t < DT_MIN || t > DT_MAX)
		return -ERANGE;
	*ret = t;
	return 0;
}

/* ---- guid, decimal ---- */

static int hexval(char c)
{
	if (is_digit(c))
		return c - '0';
	c = lower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int kval_parse_guid(const char *text, size_t len, char ret[KVAL_SCRATCH])
{
	char out[37];

	if (len == 38 && text[0] == '{' && text[37] == '}') {
		text++;
		len = 36;
	}
	if (len != 36)
		return -EINVAL;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? text[i] != '-' : hexval(text[i]) < 0)
			return -EINVAL;
		out[i] = lower(text[i]);
	}
	out[36] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}

/* The largest System.Decimal mantissa, 2^96 - 1. */
static const char DEC_MAX[] = "79228162514264337593543950335";

/* The digits of the mantissa (integer and fraction digits, leading zeros
 * dropped) against 2^96 - 1; -ERANGE past it. */
static int dec_check_mantissa(const char *ip, size_t ni, const char *fp, size_t nf)
{
	char m[64];
	size_t n = 0, k = 0;

	memcpy(m, ip, ni);
	memcpy(m + ni, fp, nf);
	n = ni + nf;
	while (k < n && m[k] == '0')
		k++;
	if (n - k > 29 || (n - k == 29 && memcmp(m + k, DEC_MAX, 29) > 0))
		return -ERANGE;
	return k == n; /* 1: the value is zero */
}

int kval_parse_decimal(const char *text, size_t len, char ret[KVAL_SCRATCH])
{
	const char *p = text, *end = text + len, *ip, *fp = "";
	size_t ni, nf = 0;
	bool neg = false;
	int zero;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	for (ip = p; p < end && is_digit(*p); p++)
		;
	ni = (size_t)(p - ip);
	if (p < end && *p == '.')
		for (fp = ++p; p < end && is_digit(*p); p++)
			nf++;
	if (p != end || ni + nf == 0)
		return -EINVAL;
	while (ni > 0 && *ip == '0') {
		ip++;
		ni--;
	}
	if (nf > 28 || ni > 29)
		return -ERANGE;
	zero = dec_check_mantissa(ip, ni, fp, nf);
	if (zero < 0)
		return zero;
	(void)snprintf(ret, KVAL_SCRATCH, "%s%.*s%s%s%.*s", neg && !zero ? "-" : "", (int)ni, ip,
	               ni ? "" : "0", nf ? "." : "", (int)nf, fp);
	return 0;
}

/* Splits a canonical decimal: sign, integer digits, fraction digits. */
static void dec_split(const char *s, bool *neg, const char **ip, size_t *ni, const char **fp,
                      size_t *nf)
{
	const char *dot;

	*neg = *s == '-';
	s += *neg;
	dot = strchr(s, '.');
	*ip = s;
	*ni = dot ? (size_t)(dot - s) : strlen(s);
	*fp = dot ? dot + 1 : "";
	*nf = strlen(*fp);
}

/* Compares magnitudes. */
static int dec_cmp_abs(const char *ai, size_t ani, const char *af, size_t anf, const char *bi,
                       size_t bni, const char *bf, size_t bnf)
{
	int c;
	size_t i, n = anf > bnf ? anf : bnf;

	if (ani != bni)
		return ani < bni ? -1 : 1;
	c = memcmp(ai, bi, ani);
	if (c)
		return c < 0 ? -1 : 1;
	for (i = 0; i < n; i++) {
		char x = i < anf ? af[i] : '0', y = i < bnf ? bf[i] : '0';

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

int kval_decimal_cmp(const char *a, const char *b)
{
	bool an, bn;
	const char *ai, *af, *bi, *bf;
	size_t ani, anf, bni, bnf;
	int c;

	dec_split(a, &an, &ai, &ani, &af, &anf);
	dec_split(b, &bn, &bi, &bni, &bf, &bnf);
	if (an != bn)
		return an ? -1 : 1;
	c = dec_cmp_abs(ai, ani, af, anf, bi, bni, bf, bnf);
	return an ? -c : c;
}

/* ---- any type ---- */

static void why_for(enum proto_coltype t, int r, char why[KVAL_WHYLEN])
{
	static const char *const forms[] = {
	    [PROTO_T_BOOL] = "true, false, 1 or 0",
	    [PROTO_T_DATETIME] = "ISO 8601, e.g. 2026-01-02T03:04:05.1234567Z",
	    [PROTO_T_DYNAMIC] = "one JSON value",
	    [PROTO_T_GUID] = "8-4-4-4-12 hex digits",
	    [PROTO_T_INT] = "a whole number",
	    [PROTO_T_LONG] = "a whole number",
	    [PROTO_T_REAL] = "a number, NaN or Infinity",
	    [PROTO_T_STRING] = "text",
	    [PROTO_T_TIMESPAN] = "[-][d.]hh:mm:ss[.fffffff]",
	    [PROTO_T_DECIMAL] = "[+-]digits[.digits]",
	};
	const char *name = proto_coltype_name(t);

	if (r == -ERANGE)
		(void)snprintf(why, KVAL_WHYLEN, "out of range for %s", name);
	else if (r == -ENOMEM)
		(void)snprintf(why, KVAL_WHYLEN, "out of memory");
	else
		(void)snprintf(why, KVAL_WHYLEN, "not a %s (%s)", name, forms[t]);
}

static int parse_typed(enum proto_coltype t, char *text, size_t len, char *scratch, struct kval *v)
{
	int r;

	switch (t) {
	case PROTO_T_BOOL:
		return kval_parse_bool(text, len, &v->i);
	case PROTO_T_INT:
		return kval_parse_int(text, len, INT32_MIN, INT32_MAX, &v->i);
	case PROTO_T_LONG:
		return kval_parse_int(text, len, INT64_MIN, INT64_MAX, &v->i);
	case PROTO_T_REAL:
		return kval_parse_real(text, len, &v->r);
	case PROTO_T_DATETIME:
		return kval_parse_datetime(text, len, &v->i);
	case PROTO_T_TIMESPAN:
		r = timefmt_parse_timespan(text, &v->i);
		return r < 0 || strlen(text) != len ? -EINVAL : 0;
	case PROTO_T_GUID:
	case PROTO_T_DECIMAL:
		r = t == PROTO_T_GUID ? kval_parse_guid(text, len, scratch)
		                      : kval_parse_decimal(text, len, scratch);
		v->s = scratch;
		v->len = r == 0 ? strlen(scratch) : 0;
		return r;
	case PROTO_T_DYNAMIC:
		v->s = text;
		return kval_json_minify(text, len, &v->len);
	case PROTO_T_STRING:
		v->s = text;
		v->len = len;
		return 0;
	}
	return -EINVAL;
}

int kval_parse(enum proto_coltype t, char *text, size_t len, char scratch[KVAL_SCRATCH],
               struct kval *ret, char why[KVAL_WHYLEN])
{
	struct kval v = {0};
	int r;

	if (len == 0) {
		v.null = t != PROTO_T_STRING;
		v.s = t == PROTO_T_STRING ? text : NULL;
		*ret = v;
		return 0;
	}
	r = parse_typed(t, text, len, scratch, &v);
	if (r < 0) {
		why_for(t, r, why);
		return r;
	}
	*ret = v;
	return 0;
}

/* ---- formatting ---- */

static char *format_real(double r, char *buf, size_t len)
{
	if (isnan(r))
		(void)snprintf(buf, len, "NaN");
	else if (isinf(r))
		(void)snprintf(buf, len, "%s", r < 0 ? "-Infinity" : "Infinity");
	else
		(void)snprintf(buf, len, "%.17g", r);
	return buf;
}

char *kval_format(enum proto_coltype t, const struct kval *v, char *buf, size_t len)
{
	char tmp[TIMEFMT_TIMESPAN_LEN > TIMEFMT_DATETIME_LEN ? TIMEFMT_TIMESPAN_LEN
	                                                     : TIMEFMT_DATETIME_LEN];

	if (len == 0)
		return buf;
	if (v->null) {
		buf[0] = '\0';
		return buf;
	}
	switch (t) {
	case PROTO_T_BOOL:
		(void)snprintf(buf, len, "%s", v->i ? "true" : "false");
		break;
	case PROTO_T_INT:
	case PROTO_T_LONG:
		(void)snprintf(buf, len, "%lld", (long long)v->i);
		break;
	case PROTO_T_REAL:
		return format_real(v->r, buf, len);
	case PROTO_T_DATETIME:
		(void)snprintf(buf, len, "%s", timefmt_format_datetime(v->i, tmp));
		break;
	case PROTO_T_TIMESPAN:
		(void)snprintf(buf, len, "%s", timefmt_format_timespan(v->i, tmp));
		break;
	default:
		(void)snprintf(buf, len, "%.*s", (int)v->len, v->s ? v->s : "");
		break;
	}
	return buf;
}

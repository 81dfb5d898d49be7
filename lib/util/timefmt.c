/*
 * timefmt — Kusto datetime and timespan values (see timefmt.h).
 *
 * All arithmetic is on integers: civil dates are converted with Howard
 * Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar),
 * so nothing depends on timegm, the TZ variable or the locale.  Parsers are
 * strict: every field is range-checked, trailing bytes are refused, and
 * overflow of the int64_t tick count is detected rather than wrapped.
 */
#include "util/timefmt.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TICKS_PER_MS (TIMEFMT_TICKS_PER_SEC / 1000)
#define TICKS_PER_MIN (60 * TIMEFMT_TICKS_PER_SEC)
#define TICKS_PER_HOUR (60 * TICKS_PER_MIN)
#define TICKS_PER_DAY (24 * TICKS_PER_HOUR)
#define FRACTION_DIGITS 7

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads exactly n digits at *s into *ret and advances *s; false if any is not a digit. */
static bool read_fixed(const char **s, unsigned n, unsigned *ret)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++) {
		if (!is_digit((*s)[i]))
			return false;
		v = v * 10 + (unsigned)((*s)[i] - '0');
	}
	*s += n;
	*ret = v;
	return true;
}

/* Reads ".f{1,7}" when present, as ticks (the digits scaled to 7 places).
 * Returns false on a '.' without digits or with more than 7 digits. */
static bool read_fraction(const char **s, int64_t *ret)
{
	int64_t v = 0;
	unsigned n = 0;
	const char *p = *s;

	*ret = 0;
	if (*p != '.')
		return true;
	for (p++; is_digit(*p); p++) {
		if (++n > FRACTION_DIGITS)
			return false;
		v = v * 10 + (*p - '0');
	}
	if (n == 0)
		return false;
	for (; n < FRACTION_DIGITS; n++)
		v *= 10;
	*s = p;
	*ret = v;
	return true;
}

static bool is_leap(unsigned y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12, d 1-31). */
int64_t timefmt_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *ret_y, unsigned *ret_m, unsigned *ret_d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	*ret_y = (int64_t)yoe + era * 400 + (m <= 2);
	*ret_m = m;
	*ret_d = doy - (153 * mp + 2) / 5 + 1;
}

/* Parses "YYYY-MM-DD" and advances *s; the days since the epoch in *ret. */
static bool read_date(const char **s, int64_t *ret)
{
	unsigned y, m, d;

	if (!read_fixed(s, 4, &y) || *(*s)++ != '-' || !read_fixed(s, 2, &m) || *(*s)++ != '-' ||
	    !read_fixed(s, 2, &d))
		return false;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return false;
	*ret = timefmt_days_from_civil(y, m, d);
	return true;
}

/* Parses "hh:mm:ss" (hours 0-23) and advances *s; seconds of the day in *ret. */
static bool read_clock(const char **s, int64_t *ret)
{
	unsigned h, m, sec;

	if (!read_fixed(s, 2, &h) || *(*s)++ != ':' || !read_fixed(s, 2, &m) || *(*s)++ != ':' ||
	    !read_fixed(s, 2, &sec))
		return false;
	if (h > 23 || m > 59 || sec > 59)
		return false;
	*ret = (int64_t)h * 3600 + m * 60 + sec;
	return true;
}

int timefmt_parse_datetime(const char *s, int64_t *ret)
{
	int64_t days, secs, frac;

	if (s == NULL || !read_date(&s, &days) || *s++ != 'T' || !read_clock(&s, &secs) ||
	    !read_fraction(&s, &frac) || *s++ != 'Z' || *s != '\0')
		return -EINVAL;
	/* Years 1-9999 are about +-2.5e17 ticks: far from int64_t's limits. */
	*ret = days * TICKS_PER_DAY + secs * TIMEFMT_TICKS_PER_SEC + frac;
	return 0;
}

/* Writes v as exactly n decimal digits; returns the end. */
static char *put_digits(char *p, uint64_t v, unsigned n)
{
	for (unsigned i = n; i-- > 0; v /= 10)
		p[i] = (char)('0' + v % 10);
	return p + n;
}

char *timefmt_format_datetime(int64_t ticks, char *buf)
{
	int64_t days = ticks / TICKS_PER_DAY, rem = ticks % TICKS_PER_DAY, y;
	unsigned m, d;
	char *p = buf;

	if (rem < 0) {
		rem += TICKS_PER_DAY;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	/* Any int64_t tick count is within +-29,228 years: at most 5 year digits. */
	if (y < 0)
		*p++ = '-';
	uint64_t ay = y < 0 ? (uint64_t)-y : (uint64_t)y;
	p = put_digits(p, ay, ay >= 10000 ? 5 : 4);
	*p++ = '-';
	p = put_digits(p, m, 2);
	*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, (uint64_t)rem / TICKS_PER_HOUR, 2);
	*p++ = ':';
	p = put_digits(p, (uint64_t)rem / TICKS_PER_MIN % 60, 2);
	*p++ = ':';
	p = put_digits(p, (uint64_t)rem / TIMEFMT_TICKS_PER_SEC % 60, 2);
	*p++ = '.';
	p = put_digits(p, (uint64_t)rem % TIMEFMT_TICKS_PER_SEC, FRACTION_DIGITS);
	*p++ = 'Z';
	*p = '\0';
	return buf;
}

/* Reads an unsigned decimal of 1-19 digits (fits uint64_t) and advances *s. */
static bool read_uint(const char **s, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned n = 0;

	for (; is_digit(**s); (*s)++) {
		if (++n > 19)
			return false;
		v = v * 10 + (uint64_t)(**s - '0');
	}
	*ret = v;
	return n > 0;
}

/* Applies the sign to a magnitude, refusing what int64_t cannot hold. */
static int apply_sign(bool neg, uint64_t mag, int64_t *ret)
{
	if (mag > (uint64_t)INT64_MAX + neg)
		return -EINVAL;
	*ret = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	return 0;
}

int timefmt_parse_timespan(const char *s, int64_t *ret)
{
	uint64_t days = 0, mag;
	int64_t secs, frac;
	bool neg;

	if (s == NULL)
		return -EINVAL;
	neg = *s == '-';
	s += neg;
	/* "d." is present when a '.' follows the first run of digits. */
	const char *p = s;
	while (is_digit(*p))
		p++;
	if (*p == '.' && (!read_uint(&s, &days) || *s++ != '.'))
		return -EINVAL;
	if (!read_clock(&s, &secs) || !read_fraction(&s, &frac) || *s != '\0')
		return -EINVAL;
	if (__builtin_mul_overflow(days, (uint64_t)TICKS_PER_DAY, &mag) ||
	    __builtin_add_overflow(mag, (uint64_t)(secs * TIMEFMT_TICKS_PER_SEC + frac), &mag))
		return -EINVAL;
	return apply_sign(neg, mag, ret);
}

/* The ticks of a friendly unit suffix, 0 when unknown. */
static uint64_t unit_ticks(const char *u)
{
	static const struct {
		const char *name;
		uint64_t ticks;
	} units[] = {
	    {"d", TICKS_PER_DAY},         {"h", TICKS_PER_HOUR}, {"m", TICKS_PER_MIN},
	    {"s", TIMEFMT_TICKS_PER_SEC}, {"ms", TICKS_PER_MS},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(u, units[i].name) == 0)
			return units[i].ticks;
	return 0;
}

/* "N[.F]unit": the fraction may have up to 7 digits and must come out as a
 * whole number of ticks ("0.00001ms" is refused, not rounded). */
static int parse_friendly(const char *s, bool neg, int64_t *ret)
{
	uint64_t whole, frac = 0, scale = 1, unit, mag, part;

	if (!read_uint(&s, &whole))
		return -EINVAL;
	if (*s == '.') {
		s++;
		for (unsigned n = 0; is_digit(*s); s++, n++) {
			if (n == FRACTION_DIGITS)
				return -EINVAL;
			frac = frac * 10 + (uint64_t)(*s - '0');
			scale *= 10;
		}
		if (scale == 1)
			return -EINVAL;
	}
	unit = unit_ticks(s);
	if (unit == 0)
		return -EINVAL;
	/* frac < 1e7 and unit <= 8.64e11, so frac * unit cannot overflow. */
	if ((frac * unit) % scale != 0)
		return -EINVAL;
	part = frac * unit / scale;
	if (__builtin_mul_overflow(whole, unit, &mag) || __builtin_add_overflow(mag, part, &mag))
		return -EINVAL;
	return apply_sign(neg, mag, ret);
}

int timefmt_parse_duration(const char *s, int64_t *ret)
{
	bool neg;

	if (s == NULL)
		return -EINVAL;
	if (strchr(s, ':') != NULL)
		return timefmt_parse_timespan(s, ret);
	neg = *s == '-';
	if (strcmp(s + neg, "0") == 0)
		return apply_sign(neg, 0, ret);
	return parse_friendly(s + neg, neg, ret);
}

char *timefmt_format_timespan(int64_t ticks, char *buf)
{
	uint64_t mag = ticks < 0 ? 0 - (uint64_t)ticks : (uint64_t)ticks;
	uint64_t days = mag / TICKS_PER_DAY, rem = mag % TICKS_PER_DAY;
	uint64_t secs = rem / TIMEFMT_TICKS_PER_SEC, frac = rem % TIMEFMT_TICKS_PER_SEC;
	int n = 0;

	if (ticks < 0)
		buf[n++] = '-';
	if (days > 0)
		n += snprintf(buf + n, TIMEFMT_TIMESPAN_LEN - (size_t)n, "%llu.",
		              (unsigned long long)days);
	n += snprintf(buf + n, TIMEFMT_TIMESPAN_LEN - (size_t)n, "%02u:%02u:%02u",
	              (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60), (unsigned)(secs % 60));
	if (frac > 0)
		(void)snprintf(buf + n, TIMEFMT_TIMESPAN_LEN - (size_t)n, ".%07u", (unsigned)frac);
	return buf;
}

int64_t timefmt_now(void)
{
	struct timespec ts;

	/* CLOCK_REALTIME cannot fail with a valid clock id and pointer. */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * TIMEFMT_TICKS_PER_SEC + ts.tv_nsec / 100;
}

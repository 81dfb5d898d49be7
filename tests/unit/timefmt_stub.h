/*
 * TEMPORARY stand-ins for lib/timefmt.c, which another helper is writing:
 * test_conf.c and fuzz_conf.c include this so that they link before it lands.
 * Delete this file and its two #includes once timefmt.c is merged.
 *
 * The definitions are weak, so that the real functions win wherever
 * timefmt.o is linked in (the fuzz build links every library source).
 * Careful: a weak definition stops the linker from pulling timefmt.o out of
 * libfollower.a, so until this file is deleted the unit test runs against
 * these stand-ins, not the real parser.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

static int64_t stub_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* Digits: exactly n of them (n > 0) or, with n == 0, one or more. */
static const char *stub_digits(const char *s, unsigned n, int64_t *ret)
{
	int64_t v = 0;
	unsigned i = 0;

	for (; s[i] >= '0' && s[i] <= '9' && (n == 0 || i < n) && i < 15; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0 || (n != 0 && i != n))
		return NULL;
	*ret = v;
	return s + i;
}

/* ".f{1,7}" as ticks, or nothing. */
static const char *stub_fraction(const char *s, int64_t *ret)
{
	int64_t v = 0;
	unsigned i = 0;

	*ret = 0;
	if (*s != '.')
		return s;
	for (s++; s[i] >= '0' && s[i] <= '9' && i < 7; i++)
		v = v * 10 + (s[i] - '0');
	if (i == 0)
		return NULL;
	for (unsigned k = i; k < 7; k++)
		v *= 10;
	*ret = v;
	return s + i;
}

__attribute__((weak)) int timefmt_parse_datetime(const char *s, int64_t *ret)
{
	int64_t y, mo, d, h, mi, se, f;

	if ((s = stub_digits(s, 4, &y)) == NULL || *s++ != '-' ||
	    (s = stub_digits(s, 2, &mo)) == NULL || *s++ != '-' ||
	    (s = stub_digits(s, 2, &d)) == NULL || *s++ != 'T' ||
	    (s = stub_digits(s, 2, &h)) == NULL || *s++ != ':' ||
	    (s = stub_digits(s, 2, &mi)) == NULL || *s++ != ':' ||
	    (s = stub_digits(s, 2, &se)) == NULL || (s = stub_fraction(s, &f)) == NULL ||
	    strcmp(s, "Z") != 0)
		return -EINVAL;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return -EINVAL;
	int64_t days = stub_days_from_civil(y, (unsigned)mo, (unsigned)d);
	*ret = ((days * 86400 + h * 3600 + mi * 60 + se) * TIMEFMT_TICKS_PER_SEC) + f;
	return 0;
}

__attribute__((weak)) char *timefmt_format_datetime(int64_t ticks, char *buf)
{
	int64_t secs = ticks / TIMEFMT_TICKS_PER_SEC, f = ticks % TIMEFMT_TICKS_PER_SEC;
	if (f < 0) {
		f += TIMEFMT_TICKS_PER_SEC;
		secs--;
	}
	int64_t days = secs / 86400, sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
	unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
	if (snprintf(buf, TIMEFMT_DATETIME_LEN, "%04d-%02u-%02uT%02d:%02d:%02d.%07dZ",
	             (int)(y % 10000), m, d, (int)(sod / 3600), (int)(sod / 60 % 60),
	             (int)(sod % 60), (int)f) >= TIMEFMT_DATETIME_LEN)
		buf[0] = '\0';
	return buf;
}

/* "[-][d.]hh:mm:ss[.f]" */
static int stub_timespan(const char *s, int64_t *ret)
{
	int64_t d = 0, h, m, sec, f;
	bool neg = *s == '-';
	const char *p = s + neg, *q;

	if ((q = stub_digits(p, 0, &d)) != NULL && *q == '.' && strchr(q, ':') != NULL)
		p = q + 1;
	else
		d = 0;
	if ((p = stub_digits(p, 2, &h)) == NULL || *p++ != ':' ||
	    (p = stub_digits(p, 2, &m)) == NULL || *p++ != ':' ||
	    (p = stub_digits(p, 2, &sec)) == NULL || (p = stub_fraction(p, &f)) == NULL ||
	    *p != '\0' || h > 23 || m > 59 || sec > 59)
		return -EINVAL;
	int64_t t = ((d * 86400 + h * 3600 + m * 60 + sec) * TIMEFMT_TICKS_PER_SEC) + f;
	*ret = neg ? -t : t;
	return 0;
}

__attribute__((weak)) int timefmt_parse_duration(const char *s, int64_t *ret)
{
	static const struct {
		const char *unit;
		int64_t ticks;
	} units[] = {{"ms", 10000},
	             {"s", 10000000},
	             {"m", 600000000},
	             {"h", INT64_C(36000000000)},
	             {"d", INT64_C(864000000000)}};
	int64_t whole, frac;
	const char *p;

	if (strchr(s, ':') != NULL)
		return stub_timespan(s, ret);
	if (strcmp(s, "0") == 0) {
		*ret = 0;
		return 0;
	}
	if ((p = stub_digits(s, 0, &whole)) == NULL || (p = stub_fraction(p, &frac)) == NULL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) == 0) {
			*ret = whole * units[i].ticks + frac * units[i].ticks / 10000000;
			return 0;
		}
	}
	return -EINVAL;
}

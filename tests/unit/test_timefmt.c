/*
 * Unit tests for timefmt: datetime and timespan parsing and formatting,
 * boundaries of every field and of int64_t, and round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

#define SEC TIMEFMT_TICKS_PER_SEC
#define DAY (86400 * SEC)
/* 0001-01-01 and the last tick of 9999-12-31, as .NET counts them, from the epoch. */
#define MIN_DT INT64_C(-621355968000000000)
#define MAX_DT (INT64_C(3155378975999999999) - INT64_C(621355968000000000))

static int64_t dt(const char *s)
{
	int64_t t = 42;

	assert_int_equal(timefmt_parse_datetime(s, &t), 0);
	return t;
}

static void refuse_dt(const char *s)
{
	int64_t t = 42;

	if (timefmt_parse_datetime(s, &t) != -EINVAL)
		fail_msg("datetime '%s' accepted", s);
	assert_int_equal(t, 42); /* untouched on failure */
}

static void test_datetime_parse(void **state)
{
	(void)state;
	assert_int_equal(dt("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(dt("1970-01-01T00:00:00.0000001Z"), 1);
	assert_int_equal(dt("1969-12-31T23:59:59.9999999Z"), -1);
	assert_int_equal(dt("2026-11-23T09:59:58.1230000Z"), INT64_C(17954279981230000));
	assert_int_equal(dt("2026-11-23T09:59:58.123Z"), INT64_C(17954279981230000));
	assert_int_equal(dt("0001-01-01T00:00:00.0000000Z"), MIN_DT);
	assert_int_equal(dt("9999-12-31T23:59:59.9999999Z"), MAX_DT);
	assert_int_equal(dt("1970-01-01T00:00:00.5Z"), SEC / 2);
	assert_int_equal(dt("2000-02-29T00:00:00Z"), dt("2000-03-01T00:00:00Z") - DAY);
	assert_int_equal(dt("2024-02-29T00:00:00Z") + DAY, dt("2024-03-01T00:00:00Z"));
	assert_int_equal(dt("2024-12-31T23:59:59Z") + SEC, dt("2025-01-01T00:00:00Z"));
}

static void test_datetime_refuse(void **state)
{
	static const char *bad[] = {
	    "",
	    "2026-11-23",
	    "2026-11-23T10:00:00",
	    "2026-11-23T10:00:00z",
	    "2026-11-23t10:00:00Z",
	    "2026-11-23 10:00:00Z",
	    "2026-11-23T10:00:00+00:00",
	    "2026-11-23T10:00:00ZZ",
	    "2026-11-23T10:00:00Z ",
	    " 2026-11-23T10:00:00Z",
	    "0000-01-01T00:00:00Z",
	    "10000-01-01T00:00:00Z",
	    "-001-01-01T00:00:00Z",
	    "2026-13-01T00:00:00Z",
	    "2026-00-01T00:00:00Z",
	    "2026-01-00T00:00:00Z",
	    "2026-01-32T00:00:00Z",
	    "2026-04-31T00:00:00Z",
	    "2023-02-29T00:00:00Z",
	    "1900-02-29T00:00:00Z",
	    "2026-01-01T24:00:00Z",
	    "2026-01-01T23:60:00Z",
	    "2026-01-01T23:59:60Z",
	    "2026-1-01T00:00:00Z",
	    "2026-01-01T0:00:00Z",
	    "2026-01-01T00:00:00.Z",
	    "2026-01-01T00:00:00.12345678Z",
	    "2026-01-01T00:00:00,5Z",
	    "2026-01-01T00:00:00.-5Z",
	    "+2026-01-01T00:00:00Z",
	    "2026-01-01T00:00Z",
	    "2026-01-01T00:00:00.1234567",
	    "2026-01-0aT00:00:00Z",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse_dt(bad[i]);
	refuse_dt(NULL);
}

static void test_datetime_format(void **state)
{
	char buf[TIMEFMT_DATETIME_LEN];

	(void)state;
	assert_string_equal(timefmt_format_datetime(0, buf), "1970-01-01T00:00:00.0000000Z");
	assert_string_equal(timefmt_format_datetime(-1, buf), "1969-12-31T23:59:59.9999999Z");
	assert_string_equal(timefmt_format_datetime(MIN_DT, buf), "0001-01-01T00:00:00.0000000Z");
	assert_string_equal(timefmt_format_datetime(MAX_DT, buf), "9999-12-31T23:59:59.9999999Z");
	assert_string_equal(timefmt_format_datetime(INT64_C(17954279981230000), buf),
	                    "2026-11-23T09:59:58.1230000Z");
	/* Out of the protocol's range still formats without overflowing buf. */
	assert_true(strlen(timefmt_format_datetime(INT64_MIN, buf)) < sizeof(buf));
	assert_true(strlen(timefmt_format_datetime(INT64_MAX, buf)) < sizeof(buf));
}

static void test_datetime_round_trip(void **state)
{
	char buf[TIMEFMT_DATETIME_LEN];
	uint64_t x = 88172645463325252u; /* xorshift: deterministic spread */

	(void)state;
	for (int i = 0; i < 200000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int64_t t = MIN_DT + (int64_t)(x % (uint64_t)(MAX_DT - MIN_DT + 1));
		int64_t back = 0;
		assert_int_equal(timefmt_parse_datetime(timefmt_format_datetime(t, buf), &back), 0);
		assert_int_equal(back, t);
	}
	/* Every day boundary over four centuries (leap rules included). */
	for (int64_t day = -200000; day < 200000; day += 1) {
		int64_t back = 0;
		assert_int_equal(
		    timefmt_parse_datetime(timefmt_format_datetime(day * DAY, buf), &back), 0);
		assert_int_equal(back, day * DAY);
	}
}

static int64_t span(const char *s)
{
	int64_t t = 42;

	if (timefmt_parse_timespan(s, &t) != 0)
		fail_msg("timespan '%s' refused", s);
	return t;
}

static void test_timespan_parse(void **state)
{
	(void)state;
	assert_int_equal(span("00:00:00"), 0);
	assert_int_equal(span("-00:00:00"), 0);
	assert_int_equal(span("7.00:00:00"), 7 * DAY);
	assert_int_equal(span("00:30:00"), 1800 * SEC);
	assert_int_equal(span("1.02:03:04.5000000"), DAY + (2 * 3600 + 3 * 60 + 4) * SEC + SEC / 2);
	assert_int_equal(span("1.02:03:04.5"), DAY + (2 * 3600 + 3 * 60 + 4) * SEC + SEC / 2);
	assert_int_equal(span("00:00:00.0000001"), 1);
	assert_int_equal(span("-00:00:01"), -SEC);
	assert_int_equal(span("-1.00:00:00"), -DAY);
	assert_int_equal(span("23:59:59.9999999"), DAY - 1);
	assert_int_equal(span("0.23:59:59"), DAY - SEC);
	assert_int_equal(span("10675199.02:48:05.4775807"), INT64_MAX);
	assert_int_equal(span("-10675199.02:48:05.4775808"), INT64_MIN);
}

static void test_timespan_refuse(void **state)
{
	static const char *bad[] = {
	    "",
	    "-",
	    "1",
	    "1s",
	    "00:00",
	    "0:00:00",
	    "00:0:00",
	    "24:00:00",
	    "00:60:00",
	    "00:00:60",
	    "1.",
	    "1.24:00:00",
	    ".00:00:00",
	    "1..00:00:00",
	    "00:00:00.",
	    "00:00:00.12345678",
	    "00:00:00 ",
	    " 00:00:00",
	    "+00:00:00",
	    "--00:00:00",
	    "00:00:00x",
	    "1.00:00:00.5.",
	    "10675199.02:48:05.4775808",
	    "-10675199.02:48:05.4775809",
	    "10675200.00:00:00",
	    "99999999999999999999.00:00:00",
	    "1e3.00:00:00",
	    "00-00-00",
	};
	int64_t t = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (timefmt_parse_timespan(bad[i], &t) != -EINVAL)
			fail_msg("timespan '%s' accepted", bad[i]);
	assert_int_equal(timefmt_parse_timespan(NULL, &t), -EINVAL);
	assert_int_equal(t, 42);
}

static void test_timespan_format(void **state)
{
	static const int64_t values[] = {
	    0,
	    1,
	    -1,
	    SEC,
	    -SEC,
	    59 * SEC,
	    3600 * SEC,
	    DAY - 1,
	    DAY,
	    7 * DAY,
	    -7 * DAY,
	    DAY + 3723 * SEC + SEC / 2,
	    INT64_MAX,
	    INT64_MIN,
	    INT64_MIN + 1,
	    123456789012345,
	};
	char buf[TIMEFMT_TIMESPAN_LEN];

	(void)state;
	assert_string_equal(timefmt_format_timespan(0, buf), "00:00:00");
	assert_string_equal(timefmt_format_timespan(7 * DAY, buf), "7.00:00:00");
	assert_string_equal(timefmt_format_timespan(1800 * SEC, buf), "00:30:00");
	assert_string_equal(timefmt_format_timespan(DAY + 7384 * SEC + SEC / 2, buf),
	                    "1.02:03:04.5000000");
	assert_string_equal(timefmt_format_timespan(-SEC, buf), "-00:00:01");
	assert_string_equal(timefmt_format_timespan(1, buf), "00:00:00.0000001");
	assert_string_equal(timefmt_format_timespan(INT64_MAX, buf), "10675199.02:48:05.4775807");
	assert_string_equal(timefmt_format_timespan(INT64_MIN, buf), "-10675199.02:48:05.4775808");
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		int64_t back = 0;
		assert_int_equal(
		    timefmt_parse_timespan(timefmt_format_timespan(values[i], buf), &back), 0);
		assert_int_equal(back, values[i]);
	}
}

static int64_t dur(const char *s)
{
	int64_t t = 42;

	if (timefmt_parse_duration(s, &t) != 0)
		fail_msg("duration '%s' refused", s);
	return t;
}

static void test_duration(void **state)
{
	static const char *bad[] = {
	    "",
	    "-",
	    "h",
	    "1",
	    "7",
	    "1x",
	    "1H",
	    "1D",
	    "7 d",
	    " 7d",
	    "7d ",
	    "1.h",
	    ".5h",
	    "1..5h",
	    "1e3s",
	    "0.00001ms",
	    "1.12345678h",
	    "1us",
	    "1sec",
	    "1d1h",
	    "999999999999999d",
	    "9223372036854775808ms",
	    "18446744073709551616s",
	    "00",
	    "0.0",
	    "+1s",
	    "1ms ",
	    "24:00:00",
	};
	int64_t t = 42;

	(void)state;
	assert_int_equal(dur("0"), 0);
	assert_int_equal(dur("7d"), 7 * DAY);
	assert_int_equal(dur("12h"), 12 * 3600 * SEC);
	assert_int_equal(dur("30m"), 30 * 60 * SEC);
	assert_int_equal(dur("1.5h"), 5400 * SEC);
	assert_int_equal(dur("90s"), 90 * SEC);
	assert_int_equal(dur("100ms"), SEC / 10);
	assert_int_equal(dur("1.5ms"), 15000);
	assert_int_equal(dur("0.0000001s"), 1);
	assert_int_equal(dur("0s"), 0);
	assert_int_equal(dur("-7d"), -7 * DAY);
	assert_int_equal(dur("7.00:00:00"), 7 * DAY);
	assert_int_equal(dur("00:30:00"), 1800 * SEC);
	assert_int_equal(dur("-1.02:03:04.5"), -(DAY + 7384 * SEC + SEC / 2));
	assert_int_equal(dur("10675199d"), 10675199 * DAY);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (timefmt_parse_duration(bad[i], &t) != -EINVAL)
			fail_msg("duration '%s' accepted", bad[i]);
	assert_int_equal(timefmt_parse_duration(NULL, &t), -EINVAL);
	assert_int_equal(t, 42);
}

static void test_now(void **state)
{
	int64_t a = timefmt_now(), b = timefmt_now();

	(void)state;
	/* After 2020-01-01 and monotonic enough across two calls. */
	assert_true(a > dt("2020-01-01T00:00:00Z"));
	assert_true(b >= a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_datetime_parse),
	    cmocka_unit_test(test_datetime_refuse),
	    cmocka_unit_test(test_datetime_format),
	    cmocka_unit_test(test_datetime_round_trip),
	    cmocka_unit_test(test_timespan_parse),
	    cmocka_unit_test(test_timespan_refuse),
	    cmocka_unit_test(test_timespan_format),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for kval: every Kusto type from its text — the forms accepted,
 * boundaries, nulls, refusals with their reason — decimal comparison and
 * formatting back to Kusto's text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/kval.h"
#include "util/timefmt.h"

#define SEC TIMEFMT_TICKS_PER_SEC

/* Parses s (copied: kval may rewrite it) as t; returns rc. */
static int parse(enum proto_coltype t, const char *s, struct kval *v, char *buf, size_t bufsize)
{
	static char scratch[KVAL_SCRATCH];
	char why[KVAL_WHYLEN] = "";

	(void)snprintf(buf, bufsize, "%s", s);
	return kval_parse(t, buf, strlen(buf), scratch, v, why);
}

static struct kval ok(enum proto_coltype t, const char *s)
{
	static char buf[4096];
	struct kval v;

	if (parse(t, s, &v, buf, sizeof(buf)) != 0)
		fail_msg("%s '%s' refused", proto_coltype_name(t), s);
	return v;
}

static void bad(enum proto_coltype t, const char *s, int want)
{
	char buf[4096], scratch[KVAL_SCRATCH], why[KVAL_WHYLEN] = "";
	struct kval v = {.i = 42};
	int rc;

	(void)snprintf(buf, sizeof(buf), "%s", s);
	rc = kval_parse(t, buf, strlen(buf), scratch, &v, why);
	if (rc != want)
		fail_msg("%s '%s': %d, wanted %d", proto_coltype_name(t), s, rc, want);
	assert_int_equal(v.i, 42); /* untouched */
	assert_true(strlen(why) > 0);
	assert_string_equal(buf, s); /* the text is intact for the error message */
}

static void test_nulls(void **state)
{
	(void)state;
	for (int t = PROTO_T_BOOL; t <= PROTO_T_DECIMAL; t++) {
		struct kval v = ok((enum proto_coltype)t, "");

		if (t == PROTO_T_STRING) {
			assert_false(v.null);
			assert_int_equal(v.len, 0);
			assert_string_equal(v.s, "");
		} else {
			assert_true(v.null);
		}
	}
}

static void test_bool(void **state)
{
	(void)state;
	assert_int_equal(ok(PROTO_T_BOOL, "true").i, 1);
	assert_int_equal(ok(PROTO_T_BOOL, "True").i, 1);
	assert_int_equal(ok(PROTO_T_BOOL, "TRUE").i, 1);
	assert_int_equal(ok(PROTO_T_BOOL, "false").i, 0);
	assert_int_equal(ok(PROTO_T_BOOL, "FaLsE").i, 0);
	assert_int_equal(ok(PROTO_T_BOOL, "1").i, 1);
	assert_int_equal(ok(PROTO_T_BOOL, "0").i, 0);
	bad(PROTO_T_BOOL, "yes", -EINVAL);
	bad(PROTO_T_BOOL, "2", -EINVAL);
	bad(PROTO_T_BOOL, "truex", -EINVAL);
	bad(PROTO_T_BOOL, " true", -EINVAL);
}

static void test_int_long(void **state)
{
	(void)state;
	assert_int_equal(ok(PROTO_T_INT, "0").i, 0);
	assert_int_equal(ok(PROTO_T_INT, "-1").i, -1);
	assert_int_equal(ok(PROTO_T_INT, "+7").i, 7);
	assert_int_equal(ok(PROTO_T_INT, "2147483647").i, INT32_MAX);
	assert_int_equal(ok(PROTO_T_INT, "-2147483648").i, INT32_MIN);
	assert_int_equal(ok(PROTO_T_INT, "000012").i, 12);
	bad(PROTO_T_INT, "2147483648", -ERANGE);
	bad(PROTO_T_INT, "-2147483649", -ERANGE);
	bad(PROTO_T_INT, "1.0", -EINVAL);
	bad(PROTO_T_INT, "12a", -EINVAL);
	bad(PROTO_T_INT, "-", -EINVAL);
	bad(PROTO_T_INT, "0x10", -EINVAL);
	assert_true(ok(PROTO_T_LONG, "9223372036854775807").i == INT64_MAX);
	assert_true(ok(PROTO_T_LONG, "-9223372036854775808").i == INT64_MIN);
	assert_true(ok(PROTO_T_LONG, "2147483648").i == INT64_C(2147483648));
	bad(PROTO_T_LONG, "9223372036854775808", -ERANGE);
	bad(PROTO_T_LONG, "-9223372036854775809", -ERANGE);
	bad(PROTO_T_LONG, "99999999999999999999999", -ERANGE);
	bad(PROTO_T_LONG, "1e3", -EINVAL);
}

static void test_real(void **state)
{
	(void)state;
	assert_true(ok(PROTO_T_REAL, "1.5").r == 1.5);
	assert_true(ok(PROTO_T_REAL, "-0.25").r == -0.25);
	assert_true(ok(PROTO_T_REAL, "+3").r == 3.0);
	assert_true(ok(PROTO_T_REAL, ".5").r == 0.5);
	assert_true(ok(PROTO_T_REAL, "5.").r == 5.0);
	assert_true(ok(PROTO_T_REAL, "1e3").r == 1000.0);
	assert_true(ok(PROTO_T_REAL, "1.25E-2").r == 0.0125);
	assert_true(ok(PROTO_T_REAL, "0.1").r == 0.1);
	assert_true(ok(PROTO_T_REAL, "123.456").r == 123.456);
	assert_true(ok(PROTO_T_REAL, "0.000001234").r == 0.000001234);
	/* Beyond the fast path: correctly rounded by strtod. */
	assert_true(ok(PROTO_T_REAL, "3.141592653589793238462643").r == 3.141592653589793);
	assert_true(ok(PROTO_T_REAL, "1.7976931348623157e308").r == 1.7976931348623157e308);
	assert_true(ok(PROTO_T_REAL, "4.9e-324").r > 0);
	assert_true(ok(PROTO_T_REAL, "1e-400").r == 0); /* underflow is not an error */
	assert_true(isnan(ok(PROTO_T_REAL, "NaN").r));
	assert_true(isnan(ok(PROTO_T_REAL, "nan").r));
	assert_true(ok(PROTO_T_REAL, "Infinity").r == INFINITY);
	assert_true(ok(PROTO_T_REAL, "-Infinity").r == -INFINITY);
	assert_true(ok(PROTO_T_REAL, "+inf").r == INFINITY);
	assert_true(ok(PROTO_T_REAL, "-inf").r == -INFINITY);
	assert_true(ok(PROTO_T_REAL, "\xe2\x88\x9e").r == INFINITY);
	assert_true(ok(PROTO_T_REAL, "-\xe2\x88\x9e").r == -INFINITY);
	bad(PROTO_T_REAL, "1e999", -ERANGE);
	bad(PROTO_T_REAL, "-1e999", -ERANGE);
	bad(PROTO_T_REAL, "abc", -EINVAL);
	bad(PROTO_T_REAL, "1.2.3", -EINVAL);
	bad(PROTO_T_REAL, "1e", -EINVAL);
	bad(PROTO_T_REAL, "0x1p3", -EINVAL);
	bad(PROTO_T_REAL, ".", -EINVAL);
	bad(PROTO_T_REAL, "1,5", -EINVAL);
	bad(PROTO_T_REAL, "-nan", -EINVAL);
}

static void test_datetime(void **state)
{
	int64_t base = ok(PROTO_T_DATETIME, "2026-03-04T05:06:07Z").i;

	(void)state;
	assert_true(ok(PROTO_T_DATETIME, "1970-01-01T00:00:00Z").i == 0);
	assert_true(ok(PROTO_T_DATETIME, "1970-01-01").i == 0);
	assert_true(ok(PROTO_T_DATETIME, "1970-01-01T00:00:00.0000001Z").i == 1);
	assert_true(ok(PROTO_T_DATETIME, "1970-01-01T00:00:00.1234567Z").i == 1234567);
	assert_true(ok(PROTO_T_DATETIME, "1970-01-01T00:00:00.5").i == SEC / 2);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04 05:06:07").i == base);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04T05:06:07").i == base);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04T05:06Z").i == base - 7 * SEC);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04T07:06:07+02:00").i == base);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04T07:06:07+0200").i == base);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04T07:06:07+02").i == base);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04T00:36:07-04:30").i == base);
	assert_true(ok(PROTO_T_DATETIME, "2026-03-04T05:06:07z").i == base);
	assert_true(ok(PROTO_T_DATETIME, "0001-01-01T00:00:00Z").i == INT64_C(-621355968000000000));
	assert_true(ok(PROTO_T_DATETIME, "9999-12-31T23:59:59.9999999Z").i ==
	            INT64_C(2534023007999999999));
	assert_true(ok(PROTO_T_DATETIME, "2024-02-29").i ==
	            ok(PROTO_T_DATETIME, "2024-03-01").i - 86400 * SEC);
	bad(PROTO_T_DATETIME, "0001-01-01T00:00:00+01:00", -ERANGE);
	bad(PROTO_T_DATETIME, "9999-12-31T23:59:59-01:00", -ERANGE);
	bad(PROTO_T_DATETIME, "2026-03-04T05:06:07.12345678Z", -EINVAL);
	bad(PROTO_T_DATETIME, "2025-02-29", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-13-01", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-03-04T24:00:00Z", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-03-04T05:60:00Z", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-03-04T05:06:07.Z", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-03-04T05:06:07ZZ", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-03-04T05:06:07+2", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-03-04T05:06:07+15:00", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-3-4", -EINVAL);
	bad(PROTO_T_DATETIME, "yesterday", -EINVAL);
	bad(PROTO_T_DATETIME, "2026-03-04T", -EINVAL);
}

static void test_timespan(void **state)
{
	(void)state;
	assert_true(ok(PROTO_T_TIMESPAN, "00:00:01").i == SEC);
	assert_true(ok(PROTO_T_TIMESPAN, "-00:00:01.5").i == -SEC - SEC / 2);
	assert_true(ok(PROTO_T_TIMESPAN, "1.02:03:04.1234567").i ==
	            ((86400 + 2 * 3600 + 3 * 60 + 4) * SEC + 1234567));
	bad(PROTO_T_TIMESPAN, "1h", -EINVAL);
	bad(PROTO_T_TIMESPAN, "00:60:00", -EINVAL);
	bad(PROTO_T_TIMESPAN, "99999999999.00:00:00", -EINVAL);
}

static void test_guid(void **state)
{
	struct kval v;

	(void)state;
	v = ok(PROTO_T_GUID, "3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162");
	assert_string_equal(v.s, "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162");
	assert_int_equal(v.len, 36);
	v = ok(PROTO_T_GUID, "{3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162}");
	assert_string_equal(v.s, "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162");
	bad(PROTO_T_GUID, "3f2b6c1e9a4d4e0b8c7a1d2e3f405162", -EINVAL);
	bad(PROTO_T_GUID, "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f40516g", -EINVAL);
	bad(PROTO_T_GUID, "{3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162", -EINVAL);
}

static void test_decimal(void **state)
{
	(void)state;
	assert_string_equal(ok(PROTO_T_DECIMAL, "1.50").s, "1.50");
	assert_string_equal(ok(PROTO_T_DECIMAL, "+001.5").s, "1.5");
	assert_string_equal(ok(PROTO_T_DECIMAL, "-0.00").s, "0.00");
	assert_string_equal(ok(PROTO_T_DECIMAL, "-0").s, "0");
	assert_string_equal(ok(PROTO_T_DECIMAL, ".5").s, "0.5");
	assert_string_equal(ok(PROTO_T_DECIMAL, "-.5").s, "-0.5");
	assert_string_equal(ok(PROTO_T_DECIMAL, "7.").s, "7");
	assert_string_equal(ok(PROTO_T_DECIMAL, "79228162514264337593543950335").s,
	                    "79228162514264337593543950335");
	assert_string_equal(ok(PROTO_T_DECIMAL, "-79228162514264337593543950335").s,
	                    "-79228162514264337593543950335");
	assert_string_equal(ok(PROTO_T_DECIMAL, "7.9228162514264337593543950335").s,
	                    "7.9228162514264337593543950335");
	assert_string_equal(ok(PROTO_T_DECIMAL, "0.0000000000000000000000000001").s,
	                    "0.0000000000000000000000000001");
	bad(PROTO_T_DECIMAL, "79228162514264337593543950336", -ERANGE);
	bad(PROTO_T_DECIMAL, "792281625142643375935439503350", -ERANGE);
	bad(PROTO_T_DECIMAL, "0.00000000000000000000000000001", -ERANGE);
	bad(PROTO_T_DECIMAL, "1e5", -EINVAL);
	bad(PROTO_T_DECIMAL, ".", -EINVAL);
	bad(PROTO_T_DECIMAL, "-", -EINVAL);
	bad(PROTO_T_DECIMAL, "1.2.3", -EINVAL);
	bad(PROTO_T_DECIMAL, "NaN", -EINVAL);
	assert_true(kval_decimal_cmp("1.5", "1.50") == 0);
	assert_true(kval_decimal_cmp("1.5", "1.51") < 0);
	assert_true(kval_decimal_cmp("-1.5", "1") < 0);
	assert_true(kval_decimal_cmp("-2", "-1.5") < 0);
	assert_true(kval_decimal_cmp("10", "9.99") > 0);
	assert_true(kval_decimal_cmp("0", "0.00") == 0);
}

static void test_dynamic(void **state)
{
	struct kval v;

	(void)state;
	v = ok(PROTO_T_DYNAMIC, "{\"a\":1,\"b\":[true,false,null]}");
	assert_string_equal(v.s, "{\"a\":1,\"b\":[true,false,null]}");
	v = ok(PROTO_T_DYNAMIC, " { \"a\" : 1 ,\n\t\"b\" : [ 1.5e3 , \"x y\" ] } ");
	assert_string_equal(v.s, "{\"a\":1,\"b\":[1.5e3,\"x y\"]}");
	assert_int_equal(v.len, strlen(v.s));
	assert_string_equal(ok(PROTO_T_DYNAMIC, "\"caf\xc3\xa9 \\u00e9\\n\"").s,
	                    "\"caf\xc3\xa9 \\u00e9\\n\"");
	assert_string_equal(ok(PROTO_T_DYNAMIC, "42").s, "42");
	assert_string_equal(ok(PROTO_T_DYNAMIC, "[]").s, "[]");
	assert_string_equal(ok(PROTO_T_DYNAMIC, "{ }").s, "{}");
	assert_string_equal(ok(PROTO_T_DYNAMIC, "-0.5e-3").s, "-0.5e-3");
	bad(PROTO_T_DYNAMIC, "{a:1}", -EINVAL);
	bad(PROTO_T_DYNAMIC, "{\"a\":1,}", -EINVAL);
	bad(PROTO_T_DYNAMIC, "[1 2]", -EINVAL);
	bad(PROTO_T_DYNAMIC, "{\"a\":1} x", -EINVAL);
	bad(PROTO_T_DYNAMIC, "hello", -EINVAL);
	bad(PROTO_T_DYNAMIC, "01", -EINVAL);
	bad(PROTO_T_DYNAMIC, "\"\\x\"", -EINVAL);
	bad(PROTO_T_DYNAMIC, "\"\\u12\"", -EINVAL);
	bad(PROTO_T_DYNAMIC, "\"\xc3\x28\"", -EINVAL);     /* bad UTF-8 */
	bad(PROTO_T_DYNAMIC, "\"\xed\xa0\x80\"", -EINVAL); /* a surrogate */
	bad(PROTO_T_DYNAMIC, "\"\xc0\xaf\"", -EINVAL);     /* overlong */
	bad(PROTO_T_DYNAMIC, "\"a\tb\"", -EINVAL);         /* raw control byte */
	bad(PROTO_T_DYNAMIC, "{\"a\" : tru}", -EINVAL);
	bad(PROTO_T_DYNAMIC, "[", -EINVAL);
}

static void test_dynamic_depth(void **state)
{
	char deep[2 * (KVAL_MAX_DEPTH + 1) + 1];
	struct kval v;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < KVAL_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i < KVAL_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	v = ok(PROTO_T_DYNAMIC, deep);
	assert_int_equal(v.len, n);
	n = 0;
	for (int i = 0; i <= KVAL_MAX_DEPTH; i++)
		deep[n++] = '[';
	for (int i = 0; i <= KVAL_MAX_DEPTH; i++)
		deep[n++] = ']';
	deep[n] = '\0';
	bad(PROTO_T_DYNAMIC, deep, -EINVAL);
}

static void test_string(void **state)
{
	struct kval v = ok(PROTO_T_STRING, "h\xc3\xa9llo, \"world\"");

	(void)state;
	assert_false(v.null);
	assert_string_equal(v.s, "h\xc3\xa9llo, \"world\"");
}

static void test_format(void **state)
{
	char buf[64];
	struct kval v = {0};

	(void)state;
	v.i = 1234567;
	assert_string_equal(kval_format(PROTO_T_DATETIME, &v, buf, sizeof(buf)),
	                    "1970-01-01T00:00:00.1234567Z");
	v.i = 90 * SEC;
	assert_string_equal(kval_format(PROTO_T_TIMESPAN, &v, buf, sizeof(buf)), "00:01:30");
	v.r = 0.1;
	assert_string_equal(kval_format(PROTO_T_REAL, &v, buf, sizeof(buf)), "0.10000000000000001");
	v.r = NAN;
	assert_string_equal(kval_format(PROTO_T_REAL, &v, buf, sizeof(buf)), "NaN");
	v.r = -INFINITY;
	assert_string_equal(kval_format(PROTO_T_REAL, &v, buf, sizeof(buf)), "-Infinity");
	v.i = -5;
	assert_string_equal(kval_format(PROTO_T_LONG, &v, buf, sizeof(buf)), "-5");
	v.i = 1;
	assert_string_equal(kval_format(PROTO_T_BOOL, &v, buf, sizeof(buf)), "true");
	v.null = true;
	assert_string_equal(kval_format(PROTO_T_LONG, &v, buf, sizeof(buf)), "");
	/* A formatted real parses back to itself. */
	v.null = false;
	v.r = 123.456e-7;
	(void)kval_format(PROTO_T_REAL, &v, buf, sizeof(buf));
	assert_true(ok(PROTO_T_REAL, buf).r == v.r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nulls),    cmocka_unit_test(test_bool),
	    cmocka_unit_test(test_int_long), cmocka_unit_test(test_real),
	    cmocka_unit_test(test_datetime), cmocka_unit_test(test_timespan),
	    cmocka_unit_test(test_guid),     cmocka_unit_test(test_decimal),
	    cmocka_unit_test(test_dynamic),  cmocka_unit_test(test_dynamic_depth),
	    cmocka_unit_test(test_string),   cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for colstats: row and null counts, min/max of every ranged
 * type (NaN left out, infinities in, decimals compared by value), columns
 * without a range, and the text a leader publishes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "data/colstats.h"

static const struct proto_column cols[] = {
    {"D", PROTO_T_DATETIME}, {"R", PROTO_T_REAL},     {"M", PROTO_T_DECIMAL}, {"I", PROTO_T_INT},
    {"S", PROTO_T_STRING},   {"T", PROTO_T_TIMESPAN}, {"B", PROTO_T_BOOL},
};
#define N 7

static void add(struct colstats *s, int64_t d, double r, const char *m, int64_t i, bool null)
{
	struct kval row[N] = {0};

	row[0].i = d;
	row[1].r = r;
	row[2].s = m;
	row[2].len = m ? strlen(m) : 0;
	row[3].i = i;
	row[4].s = "x";
	row[4].len = 1;
	row[5].i = -d;
	row[6].i = 1;
	for (int k = 0; null && k < N; k++)
		row[k].null = k != 4;
	colstats_add(s, row);
}

static void test_ranges(void **state)
{
	struct colstats *s = NULL;
	struct colstats_col c;
	char min[COLSTATS_TEXT], max[COLSTATS_TEXT];

	(void)state;
	assert_int_equal(colstats_new(cols, N, &s), 0);
	add(s, 20, 1.5, "10.5", 3, false);
	add(s, 0, 0, NULL, 0, true);
	add(s, 10, NAN, "-2", -7, false);
	add(s, 30, -INFINITY, "9.99", 5, false);
	add(s, 0, 0, NULL, 0, true);
	assert_int_equal(colstats_rows(s), 5);
	assert_int_equal(colstats_get(s, 0, &c), 0);
	assert_true(c.has_range);
	assert_int_equal(c.nulls, 2);
	assert_int_equal(c.min.i, 10);
	assert_int_equal(c.max.i, 30);
	assert_int_equal(colstats_get(s, 1, &c), 0);
	assert_true(c.min.r == -INFINITY && c.max.r == 1.5);
	assert_int_equal(colstats_get(s, 2, &c), 0);
	assert_string_equal(c.min.s, "-2");
	assert_string_equal(c.max.s, "10.5");
	assert_int_equal(colstats_get(s, 4, &c), 0);
	assert_false(c.has_range);
	assert_int_equal(c.nulls, 0); /* strings are never null */
	assert_int_equal(colstats_get(s, 6, &c), 0);
	assert_false(c.has_range);
	assert_int_equal(c.nulls, 2);
	assert_int_equal(colstats_get(s, 7, &c), -EINVAL);
	assert_true(colstats_format(s, 0, min, max));
	assert_string_equal(min, "1970-01-01T00:00:00.0000010Z");
	assert_string_equal(max, "1970-01-01T00:00:00.0000030Z");
	assert_true(colstats_format(s, 1, min, max));
	assert_string_equal(min, "-Infinity");
	assert_string_equal(max, "1.5");
	assert_true(colstats_format(s, 3, min, max));
	assert_string_equal(min, "-7");
	assert_string_equal(max, "5");
	assert_true(colstats_format(s, 5, min, max));
	assert_string_equal(min, "-00:00:00.0000030");
	assert_string_equal(max, "-00:00:00.0000010");
	assert_false(colstats_format(s, 4, min, max));
	assert_string_equal(min, "");
	colstats_free(s);
}

static void test_all_nan_or_null(void **state)
{
	struct colstats *s = NULL;
	struct colstats_col c;

	(void)state;
	assert_int_equal(colstats_new(cols, N, &s), 0);
	add(s, 1, NAN, "1", 1, false);
	assert_int_equal(colstats_get(s, 1, &c), 0);
	assert_false(c.has_range);
	assert_int_equal(c.nulls, 0);
	colstats_free(s);
	assert_int_equal(colstats_new(cols, N, &s), 0);
	assert_int_equal(colstats_rows(s), 0);
	assert_int_equal(colstats_get(s, 0, &c), 0);
	assert_false(c.has_range);
	colstats_free(s);
	colstats_free(NULL);
	assert_true(colstats_ranged(PROTO_T_LONG));
	assert_false(colstats_ranged(PROTO_T_GUID));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ranges),
	    cmocka_unit_test(test_all_nan_or_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

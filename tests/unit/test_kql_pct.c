/*
 * Unit tests for kql_pct (percentile's partial state as text) and the SQL
 * aggregates over it: values read back bit for bit (negative zero,
 * infinities, the extremes of a long as doubles), the integer flag, no
 * values, malformed texts refused (by kql_pct_count/read and by
 * kql_pmerge, whose error names percentile), and kql_pmerge's answer over
 * several states the nearest rank of all their values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "query/kql_exec.h"
#include "query/kql_pct.h"

static void test_round_trip(void **state)
{
	const double v[] = {0.0,
	                    -0.0,
	                    1.5,
	                    -2.25,
	                    INFINITY,
	                    -INFINITY,
	                    9223372036854775807.0,
	                    -9223372036854775808.0,
	                    5e-324,
	                    1.7976931348623157e308};
	size_t n = sizeof(v) / sizeof(*v);
	char *text = malloc(kql_pct_size(n));
	double back[sizeof(v) / sizeof(*v)];
	bool integral = true;

	assert_non_null(text);
	kql_pct_write(v, n, false, text);
	assert_int_equal(strlen(text) + 1, kql_pct_size(n));
	assert_int_equal(kql_pct_count(text, strlen(text), &integral), (long)n);
	assert_false(integral);
	assert_int_equal(kql_pct_read(text, n, back), 0);
	assert_memory_equal(back, v, sizeof(v));
	kql_pct_write(v, 0, true, text);
	assert_string_equal(text, "i");
	assert_int_equal(kql_pct_count(text, 1, &integral), 0);
	assert_true(integral);
	free(text);
}

static void test_malformed(void **state)
{
	bool integral;
	double d;

	assert_int_equal(kql_pct_count("", 0, &integral), -1);
	assert_int_equal(kql_pct_count("x", 1, &integral), -1);
	assert_int_equal(kql_pct_count("i0000000000", 11, &integral), -1);
	assert_int_equal(kql_pct_count("i00000000000", 12, &integral), 1);
	/* the first letter holds 4 bits only; letters past '0' + 63 */
	assert_int_equal(kql_pct_read("iG0000000000", 1, &d), -1);
	assert_int_equal(kql_pct_read("i0000000000p", 1, &d), -1);
	assert_int_equal(kql_pct_read("i0000000000o", 1, &d), 0);
}

/* One text answer of sql on a registered connection, or its error. */
static char *answer(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *r;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	r = sqlite3_step(st) == SQLITE_ROW ? strdup((const char *)sqlite3_column_text(st, 0))
	                                   : strdup(sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return r;
}

static void test_merge(void **state)
{
	static const char *const cases[][2] = {
	    /* states of 1..3 and of 4..6 (integers), of none: ranks over 1..6 */
	    {"WITH s(x, k) AS (VALUES (1, 0), (2, 0), (3, 0), (6, 1), (5, 1), (4, 1), (NULL, 2)), "
	     "p(t) AS (SELECT kql_pstate(x) FROM s GROUP BY k) "
	     "SELECT kql_pmerge(t, 50) || ' ' || typeof(kql_pmerge(t, 100)) FROM p",
	     "3 integer"},
	    {"WITH s(x, k) AS (VALUES (1, 0), (2.5, 1)), p(t) AS (SELECT kql_pstate(x) FROM s "
	     "GROUP "
	     "BY k) SELECT kql_pmerge(t, 100) FROM p",
	     "2.5"},
	    {"WITH s(x) AS (VALUES (NULL)), p(t) AS (SELECT kql_pstate(x) FROM s) "
	     "SELECT coalesce(kql_pmerge(t, 50), 'null') FROM p",
	     "null"},
	    {"SELECT kql_pmerge('i0', 50)", "percentile(): a malformed partial state"},
	};
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(kql_exec_register(db), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char *got = answer(db, cases[i][0]);
		if (strcmp(got, cases[i][1]) != 0)
			fail_msg("%s: %s, want %s", cases[i][0], got, cases[i][1]);
		free(got);
	}
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

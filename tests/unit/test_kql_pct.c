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

static int cmp_bits(const void *a, const void *b)
{
	uint64_t x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x < y ? -1 : x > y;
}

/* v[0 .. n) through its text (the same values, by their bits, in the
 * same order unless paired), and whether the text was of pairs. */
static bool round_trip(const double *v, size_t n, bool integral)
{
	size_t len = 0;
	char *text = kql_pct_text(v, n, integral, &len);
	double *back = calloc(n + 1, sizeof(*back));
	bool flag = !integral, pairs;

	assert_non_null(text);
	assert_non_null(back);
	assert_int_equal(strlen(text), len);
	assert_int_equal(kql_pct_count(text, len, &flag), (long long)n);
	assert_true(flag == integral);
	assert_int_equal(kql_pct_read(text, len, back), 0);
	pairs = text[0] == 'I' || text[0] == 'R';
	if (pairs) {
		double *sorted = malloc((n + 1) * sizeof(*sorted));
		assert_non_null(sorted);
		memcpy(sorted, v, n * sizeof(*v));
		qsort(sorted, n, sizeof(*sorted), cmp_bits);
		qsort(back, n, sizeof(*back), cmp_bits);
		assert_memory_equal(back, sorted, n * sizeof(*v));
		free(sorted);
	} else {
		assert_memory_equal(back, v, n * sizeof(*v));
	}
	free(text);
	free(back);
	return pairs;
}

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
	enum { N = 4096 };
	double *many = malloc(N * sizeof(*many));
	size_t len;
	char *text;

	assert_false(round_trip(v, sizeof(v) / sizeof(*v), false));
	assert_false(round_trip(v, 0, true));
	/* 0 and -0 of one count each among repeated values: kept apart */
	for (size_t i = 0; i < N; i++)
		many[i] = i == 7 ? -0.0 : (double)(i % 100);
	assert_true(round_trip(many, N, true));
	text = kql_pct_text(many, N, true, &len);
	assert_true(len < N); /* 101 values and counts, not 4096 values */
	free(text);
	for (size_t i = 0; i < N; i++)
		many[i] = (double)i * 0.5;
	assert_false(round_trip(many, N, false));
	free(many);
	/* 5,000 values scattered over 50,000: an eighth would be 6,250, though
	 * the first thousands are nearly all distinct (the benchmark's
	 * latencies: paired, a few kB) */
	enum { M = 50000 };
	many = malloc(M * sizeof(*many));
	assert_non_null(many);
	for (size_t i = 0; i < M; i++)
		many[i] = (double)(i * 7919 % 5000) / 1000.0;
	assert_true(round_trip(many, M, false));
	free(many);
}

static void test_malformed(void **state)
{
	bool integral;

	assert_int_equal(kql_pct_count("", 0, &integral), -1);
	assert_int_equal(kql_pct_count("x", 1, &integral), -1);
	assert_int_equal(kql_pct_count("i0000000000", 11, &integral), -1);
	assert_int_equal(kql_pct_count("i00000000000", 12, &integral), 1);
	assert_int_equal(kql_pct_count("I00000000000", 12, &integral), -1);
	/* a count of 0, of 2 */
	assert_int_equal(kql_pct_count("I0000000000000000000000", 23, &integral), -1);
	assert_int_equal(kql_pct_count("R0000000000000000000002", 23, &integral), 2);
	assert_false(integral);
	/* a count past KQL_PCT_MAX (2^40 = 0000000g000 + 1 letters) */
	assert_int_equal(kql_pct_count("I000000000000000G000000", 23, &integral), -1);
	/* the first letter holds 4 bits only; letters past '0' + 63 */
	double d[2];
	assert_int_equal(kql_pct_read("iG0000000000", 12, d), -1);
	assert_int_equal(kql_pct_read("i0000000000p", 12, d), -1);
	assert_int_equal(kql_pct_read("i0000000000o", 12, d), 0);
	assert_int_equal(kql_pct_read("R0000000000o00000000002", 23, d), 0);
	assert_memory_equal(&d[0], &d[1], sizeof(*d));
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
	    /* repeated values (pairs) with distinct ones: ranks over all */
	    {"WITH RECURSIVE s(x, k) AS (VALUES (0, 0) UNION ALL SELECT x + 1, (x + 1) % 2 FROM s "
	     "WHERE x < 999), p(t) AS (SELECT kql_pstate(CASE WHEN k = 0 THEN x % 3 ELSE x END) "
	     "FROM s "
	     "GROUP BY k) SELECT substr(min(t), 1, 1) || max(substr(t, 1, 1)) || ' ' || "
	     "(SELECT kql_pmerge(t, 50) FROM p) || ' ' || (SELECT kql_pmerge(t, 80) FROM p) FROM p",
	     "Ii 2 599"},
	    /* repeated values only: the pairs sorted */
	    {"WITH RECURSIVE s(x, k) AS (VALUES (0, 0) UNION ALL SELECT x + 1, (x + 1) % 2 FROM s "
	     "WHERE x < 999), p(t) AS (SELECT kql_pstate(CASE WHEN k = 0 THEN x % 3 ELSE x % 5 "
	     "END) "
	     "FROM s GROUP BY k) SELECT min(substr(t, 1, 1)) || max(substr(t, 1, 1)) || ' ' || "
	     "(SELECT kql_pmerge(t, 50) FROM p) || ' ' || (SELECT kql_pmerge(t, 80) FROM p) || ' ' "
	     "|| "
	     "(SELECT kql_pmerge(t, 99) FROM p) FROM p",
	     "II 1 2 4"},
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

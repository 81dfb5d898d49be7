/*
 * Unit tests for kql_stmts and kql_exec_run_kept: a statement kept by its
 * text is found again and only once, the least recently used one goes
 * when the cache is full, a long text is not kept; run through the
 * executor, a kept statement answers as a new one would when its
 * parameters change (the needle of has and in~, folded once per
 * statement) and when the view it reads is defined again, and a failed
 * one is not kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_stmts.h"

static sqlite3 *db;

static int setup(void **state)
{
	if (sqlite3_open(":memory:", &db) != SQLITE_OK || kql_exec_register(db) != 0)
		return -1;
	return sqlite3_exec(db,
	                    "CREATE TABLE rows (s TEXT, n INTEGER);"
	                    "INSERT INTO rows VALUES ('alpha beta', 1), ('beta gamma', 2),"
	                    "('Gamma delta', 3), ('alphabet', 4);"
	                    "CREATE TEMP VIEW T AS SELECT s AS s, n AS n FROM rows;",
	                    NULL, NULL, NULL);
}

static int teardown(void **state)
{
	sqlite3_close(db);
	return 0;
}

static sqlite3_stmt *prepared(const char *sql)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	return st;
}

static void test_take_give(void **state)
{
	struct kql_stmts *c;
	sqlite3_stmt *st = prepared("SELECT ?1 + 1");

	assert_int_equal(kql_stmts_new(&c), 0);
	assert_null(kql_stmts_take(c, "SELECT ?1 + 1"));
	assert_int_equal(sqlite3_bind_int(st, 1, 41), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	kql_stmts_give(c, "SELECT ?1 + 1", st);
	assert_null(kql_stmts_take(c, "SELECT ?1 + 2"));
	assert_ptr_equal(kql_stmts_take(c, "SELECT ?1 + 1"), st);
	/* taken out: not found twice */
	assert_null(kql_stmts_take(c, "SELECT ?1 + 1"));
	/* given back reset, its bindings cleared */
	kql_stmts_give(c, "SELECT ?1 + 1", st);
	st = kql_stmts_take(c, "SELECT ?1 + 1");
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(st, 0), SQLITE_NULL);
	kql_stmts_give(c, "SELECT ?1 + 1", st);
	kql_stmts_free(c); /* finalizes it: sqlite3_close in teardown would fail otherwise */
	assert_null(sqlite3_next_stmt(db, NULL));
}

static void test_lru_and_long(void **state)
{
	struct kql_stmts *c;
	char sql[KQL_STMTS_MAX + 1][32];
	char *long_sql = malloc(KQL_STMTS_TEXT + 32);

	assert_int_equal(kql_stmts_new(&c), 0);
	for (int i = 0; i <= KQL_STMTS_MAX; i++) {
		(void)snprintf(sql[i], sizeof(sql[i]), "SELECT %d", i);
		kql_stmts_give(c, sql[i], prepared(sql[i]));
	}
	/* the first given is the one evicted */
	assert_null(kql_stmts_take(c, sql[0]));
	for (int i = 1; i <= KQL_STMTS_MAX; i++) {
		sqlite3_stmt *st = kql_stmts_take(c, sql[i]);

		assert_non_null(st);
		kql_stmts_give(c, sql[i], st);
	}
	memset(long_sql, ' ', KQL_STMTS_TEXT + 31);
	memcpy(long_sql, "SELECT 1", 8);
	long_sql[KQL_STMTS_TEXT + 31] = '\0';
	kql_stmts_give(c, long_sql, prepared(long_sql));
	assert_null(kql_stmts_take(c, long_sql));
	/* and it evicted nothing */
	for (int i = 1; i <= KQL_STMTS_MAX; i++) {
		sqlite3_stmt *st = kql_stmts_take(c, sql[i]);

		assert_non_null(st);
		sqlite3_finalize(st);
	}
	kql_stmts_free(c);
	free(long_sql);
	assert_null(sqlite3_next_stmt(db, NULL));
}

static int add_line(void *arg, const struct kql_value *row, size_t n)
{
	char *out = arg;
	size_t len = strlen(out);

	(void)snprintf(out + len, 256 - len, "%lld;", row[0].isnull ? -1LL : (long long)row[0].i);
	return 0;
}

static const struct kql_schema_column cols[] = {{"s", PROTO_T_STRING}, {"n", PROTO_T_LONG}};
static const struct kql_schema_table tables[] = {{"T", cols, 2}};
static const struct kql_schema_db dbs[] = {{"db", tables, 1}};

/* Whether c keeps the statement of q (looked at, and left as it was). */
static bool kept(struct kql_stmts *c, const char *q)
{
	struct kql_schema schema = {dbs, 1, "db"};
	struct kql_arena *a = kql_arena_new();
	struct kql_query *kq;
	struct kql_error e = {0};
	sqlite3_stmt *st;
	char *sql;

	assert_int_equal(kql_compile(a, q, strlen(q), &schema, &kq, &e), 0);
	assert_non_null(sql = kql_exec_sql(kq->results[0]));
	if ((st = kql_stmts_take(c, sql)) != NULL)
		kql_stmts_give(c, sql, st);
	free(sql);
	kql_arena_free(a);
	return st != NULL;
}

/* The first column of q's rows (a long) over T, through c. */
static const char *run_kept(struct kql_stmts *c, const char *q, int want_rc)
{
	static char out[256];
	struct kql_schema schema = {dbs, 1, "db"};
	struct kql_arena *a = kql_arena_new();
	struct kql_query *kq;
	struct kql_error e = {0};

	out[0] = '\0';
	if (kql_compile(a, q, strlen(q), &schema, &kq, &e) != 0)
		fail_msg("%s: %s", q, e.message);
	assert_int_equal(kql_exec_run_kept(db, c, kq->results[0], 0, add_line, out, &e) < 0,
	                 want_rc < 0);
	kql_arena_free(a);
	return out;
}

/* The same SQL text with other parameters: the kept statement is used and
 * answers for the new ones (a folded needle is not carried over). */
static void test_kept_parameters(void **state)
{
	struct kql_stmts *c;

	assert_int_equal(kql_stmts_new(&c), 0);
	assert_false(kept(c, "T | where s has 'alpha' | count"));
	assert_string_equal(run_kept(c, "T | where s has 'alpha' | count", 0), "1;");
	/* the same statement for another needle */
	assert_true(kept(c, "T | where s has 'GAMMA' | count"));
	assert_string_equal(run_kept(c, "T | where s has 'GAMMA' | count", 0), "2;");
	assert_string_equal(run_kept(c, "T | where s has 'delta' | count", 0), "1;");
	assert_string_equal(run_kept(c, "T | where s in~ ('ALPHABET', 'x') | project n", 0), "4;");
	assert_string_equal(run_kept(c, "T | where s in~ ('BETA GAMMA', 'x') | project n", 0),
	                    "2;");
	assert_string_equal(run_kept(c, "T | where n > 2 | project n", 0), "3;4;");
	assert_string_equal(run_kept(c, "T | where n > 3 | project n", 0), "4;");
	kql_stmts_free(c);
}

/* The view redefined between two runs (a new version's extents): the kept
 * statement reads the new definition. */
static void test_kept_view_redefined(void **state)
{
	struct kql_stmts *c;

	assert_int_equal(kql_stmts_new(&c), 0);
	assert_string_equal(run_kept(c, "T | summarize sum(n)", 0), "10;");
	assert_true(kept(c, "T | summarize sum(n)"));
	assert_int_equal(sqlite3_exec(db,
	                              "DROP VIEW T; CREATE TEMP VIEW T AS SELECT s AS s, n AS n "
	                              "FROM rows WHERE n < 3",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_string_equal(run_kept(c, "T | summarize sum(n)", 0), "3;");
	kql_stmts_free(c);
	assert_int_equal(sqlite3_exec(db,
	                              "DROP VIEW T; CREATE TEMP VIEW T AS SELECT s AS s, n AS n "
	                              "FROM rows",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
}

/* A statement that failed is not kept. */
static void test_failed_not_kept(void **state)
{
	struct kql_stmts *c;

	assert_int_equal(kql_stmts_new(&c), 0);
	/* a remainder of a long by zero is refused by the engine at its row */
	run_kept(c, "T | project x = n % (n - 1)", -1);
	assert_false(kept(c, "T | project x = n % (n - 1)"));
	run_kept(c, "T | project x = n / n", 0);
	assert_true(kept(c, "T | project x = n / n"));
	kql_stmts_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_take_give),       cmocka_unit_test(test_lru_and_long),
	    cmocka_unit_test(test_kept_parameters), cmocka_unit_test(test_kept_view_redefined),
	    cmocka_unit_test(test_failed_not_kept),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

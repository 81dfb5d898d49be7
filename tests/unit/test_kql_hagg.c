/*
 * Unit tests for kql_hagg: a split's partial plan hashed gives the rows
 * its SQL gives (sorted, a $dset's members sorted), for every aggregate
 * the hash path runs, null keys and values, texts compared bytewise
 * (quotes, control characters and UTF-8 in a $dset's JSON), integer and
 * real sums, many groups and members (the tables grow), distinct; the
 * values the hash path leaves to the SQL (-ENOTSUP); its memory bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_hagg.h"
#include "query/kql_split.h"

static const struct kql_schema_column tcols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING}, {"Host", PROTO_T_STRING},
    {"Latency", PROTO_T_REAL},       {"N", PROTO_T_LONG},       {"Flag", PROTO_T_BOOL},
};
/* W: 10 rows of 100 KB texts, distinct N; H: the keys W joins */
static const struct kql_schema_column wcols[] = {{"N", PROTO_T_LONG}, {"S", PROTO_T_STRING}};
static const struct kql_schema_column hcols[] = {{"N", PROTO_T_LONG}};
static const struct kql_schema_table tables[] = {{"T", tcols, 6}, {"W", wcols, 2}, {"H", hcols, 1}};
static const struct kql_schema_db dbs[] = {{"Db", tables, 3}};
static const struct kql_schema schema = {dbs, 1, "Db"};

static sqlite3 *db;

static int exec(const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		print_error("%s: %s\n", sql, msg);
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Row i of n: 5 levels (one null), hosts of texts that sort bytewise,
 * nulls in every column now and then. */
static void insert_row(sqlite3_stmt *st, int64_t i)
{
	static const char *const levels[] = {"Info", "Warning", "Error", "\"q\"\\\n\x01", NULL};
	static const char *const hosts[] = {"a", "ab", "b", "Z", "\xc3\xa9t\xc3\xa9", ""};

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_int64(st, 1, INT64_C(16700000000000000) + (i % 13) * INT64_C(36000000000));
	if (levels[i % 5])
		sqlite3_bind_text(st, 2, levels[i % 5], -1, SQLITE_STATIC);
	if (i % 17)
		sqlite3_bind_text(st, 3, hosts[i % 6], -1, SQLITE_STATIC);
	if (i % 7)
		sqlite3_bind_double(st, 4, (double)(i % 40) * 0.25 - 3);
	if (i % 11)
		sqlite3_bind_int64(st, 5, i % 23 - 9);
	sqlite3_bind_int64(st, 6, i % 3 == 0);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
}

static int setup(void **state)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_open(":memory:", &db) != SQLITE_OK || kql_exec_register(db) < 0 ||
	    exec("CREATE TABLE \"T\"(\"Timestamp\", \"Level\", \"Host\", \"Latency\", \"N\", "
	         "\"Flag\"); BEGIN") < 0 ||
	    sqlite3_prepare_v2(db, "INSERT INTO \"T\" VALUES(?1, ?2, ?3, ?4, ?5, ?6)", -1, &st,
	                       NULL) != SQLITE_OK)
		return -1;
	for (int64_t i = 0; i < 500; i++)
		insert_row(st, i);
	sqlite3_finalize(st);
	return exec("CREATE TABLE \"W\"(\"N\", \"S\"); CREATE TABLE \"H\"(\"N\"); "
	            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) "
	            "INSERT INTO \"W\" SELECT x, printf('%.*c', 100000, 'w') FROM c; INSERT INTO "
	            "\"H\" VALUES (1); COMMIT");
}

static int teardown(void **state)
{
	sqlite3_close(db);
	return 0;
}

/* Rows as text lines: each value formatted, a JSON array's members
 * sorted (the order of a set is no part of it). */
struct out {
	const struct kql_plan *p;
	char **lines;
	size_t n;
};

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void put_set(FILE *f, const char *text)
{
	json_t *a = json_loads(text, JSON_DECODE_ANY, NULL);
	size_t n = json_array_size(a);
	char **m = calloc(n + 1, sizeof(*m));

	assert_non_null(a);
	for (size_t i = 0; i < n; i++)
		m[i] = json_dumps(json_array_get(a, i), JSON_ENCODE_ANY | JSON_COMPACT);
	qsort(m, n, sizeof(*m), cmp_text);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%s", i ? "," : "[", m[i]);
		free(m[i]);
	}
	fputs(n ? "]" : "[]", f);
	free(m);
	json_decref(a);
}

static int add_line(void *arg, const struct kql_value *row, size_t n)
{
	struct out *o = arg;
	char buf[4096], *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	for (size_t i = 0; i < n; i++) {
		fputs(i ? "\t" : "", f);
		if (o->p->cols[i].type == PROTO_T_DYNAMIC && !row[i].isnull)
			put_set(f, row[i].s);
		else
			fputs(kql_exec_format(&row[i], o->p->cols[i].type, buf, sizeof(buf)), f);
	}
	fclose(f);
	if ((o->n & (o->n - 1)) == 0) /* 0, 1, 2, 4 ...: room for as many more */
		o->lines = realloc(o->lines, (o->n ? 2 * o->n : 1) * sizeof(*o->lines));
	o->lines[o->n++] = line;
	return 0;
}

/* The lines sorted and joined; o emptied. */
static char *joined(struct out *o)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (o->n)
		qsort(o->lines, o->n, sizeof(*o->lines), cmp_text);
	for (size_t i = 0; i < o->n; i++) {
		fprintf(f, "%s\n", o->lines[i]);
		free(o->lines[i]);
	}
	fclose(f);
	free(o->lines);
	o->lines = NULL;
	o->n = 0;
	return text;
}

/* q's partial plan (q must split) in arena a. */
static const struct kql_plan *partial_of(struct kql_arena *a, const char *q)
{
	struct kql_error e = {0};
	struct kql_query *kq = NULL;
	struct kql_split s;

	if (kql_compile(a, q, strlen(q), &schema, &kq, &e) != 0)
		fail_msg("%s: %s", q, e.message);
	assert_int_equal(kql_split(a, kq->results[0], &s), 0);
	return s.partial;
}

/* Runs q's partial plan hashed (within lim) into *ret (its sorted lines). */
static int hashed(const char *q, const struct kql_hagg_limits *lim, char **ret)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct out o = {partial_of(a, q), NULL, 0};
	int rc;

	rc = kql_hagg_run(db, o.p, 0, lim, add_line, &o, &e);
	*ret = joined(&o);
	kql_arena_free(a);
	return rc;
}

/* q's partial plan hashed and as SQL: the same rows. */
static void same_rows(const char *q)
{
	struct kql_hagg_limits lim = {0, NULL};
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct out o = {partial_of(a, q), NULL, 0};
	char *sql, *hash;

	assert_int_equal(kql_exec_run(db, o.p, 0, add_line, &o, &e), 0);
	sql = joined(&o);
	assert_int_equal(hashed(q, &lim, &hash), 0);
	if (strcmp(sql, hash) != 0)
		fail_msg("%s\nsql:\n%shash:\n%s", q, sql, hash);
	free(sql);
	free(hash);
	kql_arena_free(a);
}

static void test_aggregates(void **state)
{
	static const char *const queries[] = {
	    "T | count",
	    "T | summarize count() by Level",
	    "T | summarize count(), countif(Flag), countif(N > 3) by Host",
	    "T | summarize sum(N), sum(Latency), sumif(N, Flag), sumif(Latency, N > 0) by Level",
	    "T | summarize min(N), max(N), min(Latency), max(Latency), min(Host), max(Host), "
	    "min(Timestamp), max(Timestamp) by Level",
	    "T | summarize take_any(Host), take_any(N), min(Flag), max(Flag) by Level",
	    "T | summarize avg(Latency), avg(N), avgif(N, Flag), avgif(Latency, Flag) by Host",
	    "T | summarize dcount(Host), dcount(Level), dcount(N), dcountif(Host, Flag), "
	    "dcount(Timestamp) by Flag",
	    "T | summarize dcount(Level), count(), avg(Latency)",
	    "T | summarize count() by bin(Timestamp, 1h), Level, Flag",
	    "T | summarize sum(N), count() by N, Latency",
	    "T | where Level == 'nothing' | summarize count(), sum(N), min(Host), dcount(N)",
	    "T | where Level == 'nothing' | summarize count() by Host",
	    "T | where N > 0 | extend x = N * 2 | summarize sum(x), max(x) by Host",
	    "T | distinct Host",
	    "T | distinct Level, Flag, N",
	    "T | where Flag | project Latency, Host | distinct *",
	};

	for (size_t i = 0; i < sizeof(queries) / sizeof(*queries); i++)
		same_rows(queries[i]);
}

/* A null key is its own group; nulls are skipped by every aggregate. */
static void test_nulls(void **state)
{
	struct kql_hagg_limits lim = {0, NULL};
	char *rows;

	assert_int_equal(hashed("T | where isnull(Level) | summarize count(), min(Level), "
	                        "dcount(Level), sum(N) by Level",
	                        &lim, &rows),
	                 0);
	assert_string_equal(rows, "\t100\t\th1E\t174\n");
	free(rows);
	assert_int_equal(hashed("T | where isnull(N) | summarize count(), sum(N), min(N), "
	                        "avg(N), countif(N > 0) by bin(N, 1)",
	                        &lim, &rows),
	                 0);
	/* avg's partial state of integers: its exact sum and count */
	assert_string_equal(rows, "null\t46\t0\tnull\t0,0\t0\n");
	free(rows);
}

/* 100,000 groups, 100,000 members of one set: both tables grow. */
static void test_many_groups(void **state)
{
	assert_int_equal(exec("CREATE TABLE big AS WITH RECURSIVE r(v) AS (SELECT 1 UNION ALL "
	                      "SELECT v + 1 FROM r WHERE v < 100000) SELECT v FROM r"),
	                 0);
	assert_int_equal(exec("ALTER TABLE \"T\" RENAME TO \"T2\"; CREATE TABLE \"T\" AS SELECT "
	                      "v AS \"Timestamp\", 'h' || (v * 7919 % 100003) AS \"Level\", "
	                      "'x' AS \"Host\", v * 0.5 AS \"Latency\", v AS \"N\", v % 2 AS "
	                      "\"Flag\" FROM big"),
	                 0);
	same_rows("T | summarize count(), sum(N), max(Latency) by Level");
	same_rows("T | summarize dcount(Level), dcount(N) by Flag");
	same_rows("T | distinct Level, N");
	assert_int_equal(exec("DROP TABLE \"T\"; DROP TABLE big; ALTER TABLE \"T2\" RENAME TO "
	                      "\"T\""),
	                 0);
}

/* q's partial plan as SQL fails with a refusal holding what. */
static void sql_refuses(const char *q, const char *what)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct out o = {partial_of(a, q), NULL, 0};

	assert_int_not_equal(kql_exec_run(db, o.p, 0, add_line, &o, &e), 0);
	free(joined(&o));
	assert_string_equal(e.code, KQL_E_UNSUPPORTED);
	if (strstr(e.message, what) == NULL)
		fail_msg("%s: %s", q, e.message);
	kql_arena_free(a);
}

/* Values whose SQL result the hash path would not reproduce: left to the
 * SQL, nothing handed over. */
static void test_left_to_sql(void **state)
{
	static const char *const cases[][2] = {
	    {"INSERT INTO \"T\"(\"N\", \"Level\") VALUES(9223372036854775807, 'ovf'), (1, 'ovf')",
	     "T | where Level == 'ovf' | summarize sum(N)"},
	    {"INSERT INTO \"T\"(\"N\", \"Level\") VALUES('12', 'text')",
	     "T | where Level == 'text' | summarize sum(N) by Level"},
	    {"INSERT INTO \"T\"(\"Latency\", \"Level\") VALUES(1, 'mixed'), (1.0, 'mixed')",
	     "T | where Level == 'mixed' | summarize count() by Latency"},
	    {"INSERT INTO \"T\"(\"Host\", \"Level\") VALUES(5, 'num')",
	     "T | where Level == 'num' | summarize count() by Host"},
	    /* +inf and -inf summed: NaN, which the SQL's kql_rsum refuses */
	    {"INSERT INTO \"T\"(\"Latency\", \"Level\") VALUES(9e999, 'nan'), (-9e999, 'nan')",
	     "T | where Level == 'nan' | summarize sum(Latency) by Level"},
	};
	struct kql_hagg_limits lim = {0, NULL};
	char *rows;

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		assert_int_equal(exec("SAVEPOINT s"), 0);
		assert_int_equal(exec(cases[i][0]), 0);
		if (hashed(cases[i][1], &lim, &rows) != -ENOTSUP)
			fail_msg("hashed: %s", cases[i][1]);
		assert_string_equal(rows, "");
		free(rows);
		if (strstr(cases[i][1], "'nan'") != NULL)
			sql_refuses(cases[i][1], "the aggregate 'sum' gives NaN");
		assert_int_equal(exec("ROLLBACK TO s; RELEASE s"), 0);
	}
}

/* Past max_bytes or the query's budget: -E2BIG, the budget given back. */
static void test_limits(void **state)
{
	struct kql_budget b = {.limit = 4096};
	struct kql_hagg_limits small = {2048, NULL}, budget = {0, &b}, roomy = {1 << 24, &b};
	const char *q = "T | summarize count() by N, Latency";
	char *rows;

	assert_int_equal(hashed(q, &small, &rows), -E2BIG);
	assert_string_equal(rows, "");
	free(rows);
	assert_int_equal(hashed(q, &budget, &rows), -E2BIG);
	free(rows);
	assert_int_equal(b.used, 0);
	b.limit = 0;
	assert_int_equal(hashed(q, &roomy, &rows), 0);
	free(rows);
	assert_int_equal(b.used, 0);
	assert_true(b.peak > 4096);
}

/* innerunique's partial keeps each key's whole row: its texts count
 * against the bounds (10 groups of 100 KB: past 64 KB). */
static void test_row_texts(void **state)
{
	struct kql_hagg_limits small = {1 << 16, NULL}, roomy = {1 << 24, NULL};
	const char *q = "W | join H on N | summarize max(strlen(S))";
	char *rows;

	assert_int_equal(hashed(q, &small, &rows), -E2BIG);
	free(rows);
	assert_int_equal(hashed(q, &roomy, &rows), 0);
	free(rows);
}

static void test_supports(void **state)
{
	struct kql_arena *a = kql_arena_new();

	assert_true(
	    kql_hagg_supports(partial_of(a, "T | summarize avg(N), dcount(Host) by Level")));
	assert_true(kql_hagg_supports(partial_of(a, "T | summarize dcount(Host)")));
	/* no key, no set: the SQL sorts nothing, the hash path is no faster */
	assert_false(kql_hagg_supports(partial_of(a, "T | summarize count(), max(N)")));
	assert_false(kql_hagg_supports(partial_of(a, "T | top 3 by N")));
	assert_false(kql_hagg_supports(partial_of(a, "T | where N > 1 | take 3")));
	kql_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_aggregates),  cmocka_unit_test(test_nulls),
	    cmocka_unit_test(test_many_groups), cmocka_unit_test(test_left_to_sql),
	    cmocka_unit_test(test_limits),      cmocka_unit_test(test_supports),
	    cmocka_unit_test(test_row_texts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * Unit tests for kql_split and kql_par: a summarize split into partial
 * states per partition and merged gives exactly the rows of the whole
 * plan run on one connection, over a stored table laid out as the query
 * store lays it (rowid = eid << 32 | row) in a file each partition's own
 * connection attaches: nulls, an extent with no row, an empty partition, a
 * partition with no row left after the filter, summarize without by over
 * no rows (one row, count 0), avg of nulls only (NaN), dcount, the
 * operators above the summarize; top N and take N over a filter (any N of
 * its rows); distinct; one partition; each partial plan hashed (kql_hagg)
 * and as SQL; joins whose left side is the table (each partition joined
 * with the whole right side: duplicate and null keys, every kind that
 * splits, and those that do not); what is not split; the fallbacks;
 * sums of longs exact, split or whole, and their overflow refused;
 * percentile and percentiles of longs, ints, reals, datetimes and
 * timespans (one state per column, hashed too), and past the query's
 * memory budget the whole plan's error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_hagg.h"
#include "query/kql_par.h"
#include "query/kql_split.h"

#define NOW INT64_C(16700000000000000)
#define HOUR INT64_C(36000000000)

static const struct kql_schema_column tcols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING}, {"Host", PROTO_T_STRING},
    {"Latency", PROTO_T_REAL},       {"N", PROTO_T_LONG},       {"Flag", PROTO_T_BOOL},
};
static const struct kql_schema_column hcols[] = {
    {"Host", PROTO_T_STRING}, {"N", PROTO_T_LONG}, {"Team", PROTO_T_STRING}};
/* U, a union's other table: N typed as T's, Code T lacks, Latency as a
 * long (the outer union's Latency_real and Latency_long) */
static const struct kql_schema_column ucols[] = {{"Level", PROTO_T_STRING},
                                                 {"N", PROTO_T_LONG},
                                                 {"Code", PROTO_T_LONG},
                                                 {"Timestamp", PROTO_T_DATETIME},
                                                 {"Latency", PROTO_T_LONG}};
static const struct kql_schema_table tables[] = {{"T", tcols, 6}, {"H", hcols, 3}, {"U", ucols, 5}};
static const struct kql_schema_db dbs[] = {{"Db", tables, 3}};
static const struct kql_schema schema = {dbs, 1, "Db"};

static char path[64];
static sqlite3 *coord; /* the caller's connection: T over every extent */

/* Partition k reads the positions first[k] .. last[k] (last < first:
 * none) of the list of the split's (table, extent) pairs in the order of
 * its scans, numbered from 1 (as daemon/query_par.c cuts it): T alone,
 * position e is T's extent e; over T then U (extents 6 and 7), 5 and 6
 * are U's; over U then T, 1 and 2 are U's, 3 .. 6 T's 1 .. 4. */
struct parts {
	int64_t first[4], last[4];
	bool fail_open;
	const struct kql_split *split; /* NULL: T alone */
};

/* The budget the partitions' connections count against (NULL: none). */
static struct kql_budget *part_budget;

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		print_error("%s: %s\n", sql, msg);
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

/* Extent e's row i: levels of 3 values, hosts of 5, latency null every
 * 7th row (all null in extent 2 for level Debug), N null every 11th. */
static void insert_row(sqlite3_stmt *st, int64_t e, int64_t i)
{
	static const char *const levels[] = {"Info", "Warning", "Error"};
	char host[16];
	int64_t n = e * 100 + i;

	(void)snprintf(host, sizeof(host), "h%d", (int)(n % 5));
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, (e << 32) | i);
	sqlite3_bind_int64(st, 2, NOW + (n % 9) * HOUR);
	sqlite3_bind_text(st, 3, e == 2 && i % 2 ? "Debug" : levels[n % 3], -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, host, -1, SQLITE_TRANSIENT);
	if (n % 7 == 0 || (e == 2 && i % 2))
		sqlite3_bind_null(st, 5);
	else
		sqlite3_bind_double(st, 5, (double)(n % 40) * 0.25);
	if (n % 11 == 0)
		sqlite3_bind_null(st, 6);
	else
		sqlite3_bind_int64(st, 6, n % 17 - 3);
	sqlite3_bind_int64(st, 7, n % 4 == 0);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
}

/* H, read whole by every partition (a join's right side), in extent 5 of
 * d2: host h1 and N 1 twice, a null N, a host and an N that T lacks. */
static void fill_h(sqlite3 *db)
{
	assert_int_equal(exec(db,
	                      "CREATE TABLE d2(c0, c1, c2); INSERT INTO d2(rowid, c0, c1, c2) "
	                      "VALUES (5 << 32, 'h0', 1, 'a'), ((5 << 32) + 1, 'h1', 1, 'b'), "
	                      "((5 << 32) + 2, 'h1', NULL, 'c'), ((5 << 32) + 3, 'h9', 5, 'd'), "
	                      "((5 << 32) + 4, 'h2', 20, 'e')"),
	                 0);
}

/* U in extents 6 (20 rows) and 7 (25) of d3: levels of T and one of its
 * own, N null every 4th, Code and Latency every 3rd. */
static void fill_u(sqlite3 *db)
{
	assert_int_equal(exec(db, "CREATE TABLE d3(c0, c1, c2, c3, c4); "
	                          "WITH RECURSIVE r(e, i) AS (SELECT 6, 0 UNION ALL SELECT "
	                          "iif(i + 1 = 20 AND e = 6, 7, e), iif(i + 1 = 20 AND e = 6, 0, "
	                          "i + 1) FROM r WHERE NOT (e = 7 AND i = 24)) "
	                          "INSERT INTO d3(rowid, c0, c1, c2, c3, c4) SELECT (e << 32) + i, "
	                          "iif(i % 5 = 4, 'Trace', iif(i % 2, 'Info', 'Error')), "
	                          "iif(i % 4 = 0, NULL, e * 10 + i % 6), iif(i % 3, NULL, i * 7), "
	                          "16700000000000000 + (i % 4) * 36000000000, "
	                          "iif(i % 3 = 1, NULL, i % 8) FROM r"),
	                 0);
}

/* Extents 1 (50 rows), 2 (30), 3 (none), 4 (40) of d1. */
static void fill(sqlite3 *db)
{
	static const int rows[] = {0, 50, 30, 0, 40};
	sqlite3_stmt *st = NULL;

	assert_int_equal(exec(db, "CREATE TABLE d1(c0, c1, c2, c3, c4, c5); BEGIN"), 0);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO d1(rowid, c0, c1, c2, c3, c4, c5) "
	                                    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	for (int64_t e = 1; e <= 4; e++)
		for (int64_t i = 0; i < rows[e]; i++)
			insert_row(st, e, i);
	sqlite3_finalize(st);
	assert_int_equal(exec(db, "COMMIT"), 0);
}

/* The tables a split may partition: their views' columns and extents. */
static const int64_t t_eids[] = {1, 2, 3, 4}, u_eids[] = {6, 7};
static const struct stored {
	const char *name, *select;
	const int64_t *eids;
	size_t n;
} stored[] = {
    {"T",
     "c0 AS \"Timestamp\", c1 AS \"Level\", c2 AS \"Host\", c3 AS \"Latency\", c4 AS \"N\", "
     "c5 AS \"Flag\" FROM q.d1",
     t_eids, 4},
    {"U",
     "c0 AS \"Level\", c1 AS \"N\", c2 AS \"Code\", c3 AS \"Timestamp\", c4 AS \"Latency\" "
     "FROM q.d3",
     u_eids, 2},
};

/* Where stored table i's pairs start in p's list (its split's scans in
 * order; T alone without one); -1 when p does not partition it. */
static int64_t pairs_base(const struct parts *p, size_t i)
{
	static const struct kql_plan t = {.table = "T"}, *const alone[] = {&t};
	const struct kql_plan *const *scans = p->split ? p->split->scans : alone;
	size_t nscans = p->split ? p->split->nscans : 1;
	int64_t base = 0;

	for (size_t j = 0; j < nscans; j++)
		for (size_t x = 0; x < 2; x++) {
			if (strcmp(scans[j]->table, stored[x].name) != 0)
				continue;
			if (x == i)
				return base;
			base += (int64_t)stored[x].n;
		}
	return -1;
}

/* Stored table i's extents lo .. hi in partition k of p (none: hi < lo;
 * p NULL: all of them). */
static void extents_of(const struct parts *p, size_t k, size_t i, int64_t *lo, int64_t *hi)
{
	const struct stored *t = &stored[i];
	int64_t base = p ? pairs_base(p, i) : -1, first, last;

	*lo = t->eids[0];
	*hi = t->eids[t->n - 1];
	if (base < 0)
		return;
	first = p->first[k] > base + 1 ? p->first[k] : base + 1;
	last = p->last[k] < base + (int64_t)t->n ? p->last[k] : base + (int64_t)t->n;
	*lo = first <= last ? t->eids[first - base - 1] : 1;
	*hi = first <= last ? t->eids[last - base - 1] : 0;
}

/* T and U over partition k's extents of them on db (q attached; p NULL:
 * all of them), and H whole. */
static int view(sqlite3 *db, const struct parts *p, size_t k)
{
	char sql[512];
	int64_t lo, hi;

	if (exec(db, "CREATE TEMP VIEW \"H\" AS SELECT c0 AS \"Host\", c1 AS \"N\", c2 AS "
	             "\"Team\" FROM q.d2 WHERE rowid BETWEEN 5 << 32 AND (6 << 32) - 1") != 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		extents_of(p, k, i, &lo, &hi);
		(void)snprintf(sql, sizeof(sql),
		               "CREATE TEMP VIEW \"%s\" AS SELECT %s WHERE rowid BETWEEN %lld AND "
		               "%lld",
		               stored[i].name, stored[i].select, (long long)(lo << 32),
		               (long long)(((hi + 1) << 32) - 1));
		if (exec(db, sql) != 0)
			return -1;
	}
	return 0;
}

/* A connection with the table file attached, its aggregates counting
 * against b (NULL: none). */
static int open_budget(sqlite3 **ret, struct kql_budget *b)
{
	char sql[128];

	if (sqlite3_open(":memory:", ret) != SQLITE_OK || kql_exec_register_budget(*ret, b) < 0)
		return -ENOMEM;
	(void)snprintf(sql, sizeof(sql), "ATTACH '%s' AS q", path);
	return exec(*ret, sql);
}

static int open_conn(sqlite3 **ret)
{
	return open_budget(ret, NULL);
}

static int part_open(void *arg, size_t k, sqlite3 **ret_db)
{
	struct parts *p = arg;
	sqlite3 *db = NULL;

	if (p->fail_open && k == 1)
		return -EIO;
	if (open_budget(&db, part_budget) < 0 || view(db, p, k) < 0) {
		sqlite3_close(db);
		return -EIO;
	}
	*ret_db = db;
	return 0;
}

static void part_close(void *arg, size_t k, sqlite3 *db)
{
	sqlite3_close(db);
}

static int setup(void **state)
{
	sqlite3 *db = NULL;
	int fd;

	(void)snprintf(path, sizeof(path), "/tmp/test_kql_par.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		return -1;
	close(fd);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return -1;
	fill(db);
	fill_h(db);
	fill_u(db);
	sqlite3_close(db);
	return open_conn(&coord) < 0 || view(coord, NULL, 0) < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	sqlite3_close(coord);
	unlink(path);
	return 0;
}

struct out {
	FILE *f;
	const struct kql_plan *p;
	char *text;
	size_t len;
};

static int write_row(void *arg, const struct kql_value *row, size_t n)
{
	struct out *o = arg;
	char buf[4096];

	for (size_t i = 0; i < n; i++)
		fprintf(o->f, "%s%s", i > 0 ? "\t" : "",
		        kql_exec_format(&row[i], o->p->cols[i].type, buf, sizeof(buf)));
	fputc('\n', o->f);
	return 0;
}

/* Runs q whole and split over parts; asserts the same rows (in order,
 * unless ret_split_rows: then the split's rows are returned there), returns
 * the whole rows (to free) and whether the plan split. */
static char *run_both(const char *q, struct parts *parts, size_t nparts, bool *ret_split,
                      char **ret_split_rows)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct kql_query *kq = NULL;
	struct kql_split s;
	struct out whole = {0}, split = {0};
	struct kql_par par = {&s, nparts, NOW, 1 << 20, part_open, part_close, parts, NULL, false};
	int r;

	if (kql_compile(a, q, strlen(q), &schema, &kq, &e) != 0)
		fail_msg("%s: %s", q, e.message);
	whole.p = split.p = kq->results[0];
	whole.f = open_memstream(&whole.text, &whole.len);
	if (kql_exec_run(coord, whole.p, NOW, write_row, &whole, &e) != 0)
		fail_msg("%s: %s", q, e.message);
	fclose(whole.f);
	r = kql_split(a, kq->results[0], &s);
	assert_true(r == 0 || r == 1);
	parts->split = &s;
	*ret_split = r == 0;
	/* the partial plan hashed (kql_hagg), then as SQL (GROUP BY) */
	for (int sorted = 0; r == 0 && sorted < 2; sorted++) {
		par.sorted = sorted;
		split.f = open_memstream(&split.text, &split.len);
		if (kql_par_run(coord, &par, write_row, &split, &e) != 0)
			fail_msg("%s: %s", q, e.message);
		fclose(split.f);
		if (!ret_split_rows && strcmp(whole.text, split.text) != 0)
			fail_msg("%s (%s)\nwhole:\n%ssplit:\n%s", q, sorted ? "sorted" : "hashed",
			         whole.text, split.text);
		if (ret_split_rows && !sorted)
			*ret_split_rows = split.text;
		else
			free(split.text);
	}
	parts->split = NULL;
	kql_arena_free(a);
	return whole.text;
}

static char *compare(const char *q, struct parts *parts, size_t nparts, bool *ret_split)
{
	return run_both(q, parts, nparts, ret_split, NULL);
}

static const char *const split_queries[] = {
    "T | count",
    "T | where Level == 'Error' | count",
    "T | summarize count() by Level",
    "T | summarize avg(Latency), max(Latency), min(Host), sum(N), countif(Flag) by Host",
    "T | summarize avg(Latency), sum(Latency), min(N), max(Timestamp) by Level",
    "T | summarize dcount(Host), dcountif(Level, Flag), avgif(N, Flag), sumif(N, Flag), "
    "take_any(Level) by bin(Timestamp, 1h) | sort by Timestamp asc",
    "T | summarize c = count() by Level | top 2 by c",
    "T | extend x = N * 2 | where x > 10 | summarize sum(x), avg(N) by Host | order by Host asc",
    "T | where Level == 'nothing' | summarize count(), avg(Latency), sum(N), dcount(Host), "
    "max(Host)",
    "T | where Level == 'nothing' | summarize count() by Host",
    "T | summarize count(), avg(N) by Level, Flag | where count_ > 3 | project Level, avg_N",
    "T | project Host, N | summarize dcount(N) by Host | take 3",
    "T | summarize dcount(Latency), dcount(N, 0), dcountif(Host, Flag, 4) by Level",
    "T | summarize by Level",
    "T | extend d = Timestamp - datetime(2022-01-01) | summarize avg(d), avgif(d, Flag) by Host",
    "T | top 7 by N desc, Timestamp asc, Latency desc, Host asc, Level asc",
    "T | where Level != 'Info' | top 4 by Latency asc nulls first, Timestamp desc, N asc, "
    "Host desc",
    "T | where N > 12 | take 1000 | order by Timestamp asc, N asc, Host asc, Latency asc",
    "T | distinct Host | order by Host asc",
    "T | where N > 3 | distinct Level, Flag, N | order by Level asc, Flag asc, N asc",
    "T | project Latency, Timestamp | distinct * | order by Latency asc, Timestamp asc",
    /* joins on the left side: duplicate keys on the right, null keys */
    "T | join kind=inner H on Host | summarize count(), sum(N), dcount(Team) by Team",
    "T | where Level == 'Error' | join kind=inner H on N | summarize count(), avg(Latency) by "
    "Team, Host",
    "T | join kind=inner H on Host, N | summarize count() by Team",
    "T | join kind=leftouter H on N | summarize count(), dcount(Team), countif(isnull(N1)) by "
    "Level",
    "T | join kind=leftsemi H on Host | summarize count(), max(N) by Host",
    "T | join kind=leftanti H on N | summarize count(), countif(isnull(N)) by Host",
    "T | project Host, N | where N > 2 | join kind=inner (H | where Team != 'b') on Host | "
    "summarize sum(N) by Team",
    "T | join kind=inner H on Host | join kind=leftanti (H | where Team == 'e') on Host | "
    "summarize count() by Team",
    "T | join kind=inner H on Host | top 5 by N desc, Timestamp asc, Team asc, Latency asc",
    "T | join kind=leftsemi H on N | where Level == 'nothing' | summarize count(), sum(N)",
    "T | join kind=leftouter H on Host | distinct Team, Level | order by Team asc, Level asc",
    /* the scan's order: ties (9 timestamps), nulls, all null, few or many groups */
    "T | summarize arg_max(Timestamp, Host, N), arg_min(Timestamp, Latency) by Level",
    "T | summarize arg_min(Latency, *) by Host",
    "T | summarize arg_max(Timestamp, *)",
    "T | summarize arg_max(N, Timestamp), arg_min(N, Latency), count() by Host, Flag",
    "T | summarize arg_min(Host, Timestamp, N), arg_max(Host, Latency) by Level",
    "T | summarize arg_max(Latency, Host, N), arg_min(Latency, N) by Level, Host",
    "T | where Level == 'Debug' | summarize arg_max(Latency, Host, N), arg_min(Latency, Host)",
    "T | where Level == 'Debug' | summarize arg_max(Latency, Host) by Host",
    "T | summarize arg_max(Timestamp, Latency), make_list(Level, 2), make_set(Latency, 3) "
    "by N, Host",
    "T | summarize make_list(Host), make_list(N), make_set(N), make_set(Flag) by Level",
    "T | summarize make_list(Host, 7), make_set(Level, 2), make_set(Host, 40), "
    "make_list(Latency, 0), make_list(Timestamp, 3)",
    "T | summarize make_set(Latency), make_list(Latency), make_set(Timestamp) by Host",
    "T | summarize make_set(Latency * 2), make_set(N / 2) by Flag",
    "T | extend d = todynamic(iff(Flag, '{\"a\":1,\"b\":[2]}', '{\"b\":[2],\"a\":1}')) "
    "| summarize make_set(d), make_list(d, 3), make_set(todynamic(strcat('[', N, ',\"', "
    "Host, '\"]')), 9) by Level",
    "T | where Level == 'nothing' | summarize make_list(Host), make_set(N), arg_max(N, Host), "
    "count()",
    "T | where Level == 'nothing' | summarize make_list(Host), arg_min(N, Host) by Level",
    "T | summarize count(), set = make_set(Host) by Level | order by Level asc",
    /* datetimes: exact sums of ticks (2^63 passed at a few hundred rows) */
    "T | summarize avg(Timestamp), avgif(Timestamp, Flag) by Level",
    "T | extend t = iff(Flag, Timestamp + 1tick, Timestamp) + (N % 3) * 1tick | summarize "
    "avg(t), avgif(t, N > 5), avg(Timestamp + 500000d)",
    "T | where Level == 'Debug' | summarize avg(Timestamp), avgif(Timestamp, Flag) by Host",
    "T | where Level == 'nothing' | summarize avg(Timestamp), count()",
    /* NaN (avg of no values) passed on through arithmetic */
    "T | summarize a = avg(Latency), c = avgif(N, Level == 'nothing') by Level "
    "| extend b = round(a * 2, 3), d = c + 1, e = -c / 2 | order by Level asc",
    /* nested past SQLite's parser stack (CTEs, hoisted layers, flat chains) */
    "T | extend x = N + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N"
    " + N + N + N + N + N + N | summarize sum(x), avg(x) by Host | order by Host asc",
    "T | where N != 0 | where N != 1 | where N != 2 | where N != 3 | where N != 4 | where N !"
    "= 5 | where N != 6 | where N != 7 | where N != 8 | where N != 9 | where N != 10 | where "
    "N != 11 | where N != 12 | where N != 13 | where N != 14 | where N != 15 | where N != 16 "
    "| where N != 17 | where N != 18 | where N != 19 | where N != 20 | where N != 21 | where "
    "N != 22 | where N != 23 | where N != 24 | summarize count(), dcount(Host) by Level | ord"
    "er by Level asc",
    "T | summarize countif(N == 0 or N == 1 or N == 2 or N == 3 or N == 4 or N == 5 or N == 6"
    " or N == 7 or N == 8 or N == 9 or N == 10 or N == 11 or N == 12 or N == 13 or N == 14 or"
    " N == 15 or N == 16 or N == 17 or N == 18 or N == 19 or N == 20 or N == 21 or N == 22 or"
    " N == 23 or N == 24 or N == 25 or N == 26 or N == 27 or N == 28 or N == 29), sumif(N + N"
    " + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N + N, Flag) by Level"
    " | order by Level asc",
    "T | top 3 by Latency + Latency + Latency + Latency + Latency + Latency + Latency + Laten"
    "cy + Latency + Latency + Latency + Latency + Latency + Latency + Latency + Latency + Lat"
    "ency + Latency + Latency + Latency desc, N asc, Timestamp asc",
    "T | summarize a = avg(Latency) by Level | extend b = -(a + 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8"
    " + 9 + 10) | order by Level asc",
    /* deep predicates of the -if aggregates, and a deep branch reached
     * only where its division is defined, in the partial expressions */
    "T | summarize a = avgif(Latency, N + N + N + N + N + N + N + N + N + N + N > 100), c = cou"
    "ntif(iff(N == 0, false, 100 / N + N + N + N + N + N + N + N + N + N > 10)), s = sumif(N, "
    "Flag and N + N + N + N + N + N + N + N + N + N > 3) by Level | order by Level asc",
    "T | extend y = iff(N == 0, 0, 1000 / N + N + N + N + N + N + N + N + N + N + N) | summariz"
    "e sum(y), max(y) by Level | order by Level asc",
};

static void test_split_same_rows(void **state)
{
	/* extent 3 holds no row; 1|2..4, everything|nothing, 1|2|3|4 */
	struct parts halves = {{1, 2}, {1, 4}, false, NULL};
	struct parts lopsided = {{1, 1}, {4, 0}, false, NULL};
	struct parts fours = {{1, 2, 3, 4}, {1, 2, 3, 4}, false, NULL};
	struct parts one = {{1}, {4}, false, NULL};
	bool split;

	for (size_t i = 0; i < sizeof(split_queries) / sizeof(*split_queries); i++) {
		free(compare(split_queries[i], &halves, 2, &split));
		if (!split)
			fail_msg("not split: %s", split_queries[i]);
		free(compare(split_queries[i], &lopsided, 2, &split));
		free(compare(split_queries[i], &fours, 4, &split));
		free(compare(split_queries[i], &one, 1, &split));
	}
}

/* Only Debug rows (extent 2) have a null Latency everywhere: avg is
 * NaN (Kusto's 0/0), split or whole; count 0 without by over nothing. */
static void test_split_edges(void **state)
{
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	bool split;
	char *rows;

	rows = compare("T | where Level == 'Debug' | summarize avg(Latency), count()", &halves, 2,
	               &split);
	assert_true(split);
	assert_string_equal(rows, "NaN\t15\n");
	free(rows);
	rows =
	    compare("T | where Level == 'nothing' | summarize count(), sum(N)", &halves, 2, &split);
	assert_string_equal(rows, "0\t0\n");
	free(rows);
	/* the partition 3..4 has no Warning row of host h0 */
	rows = compare("T | where Host == 'h0' and N > 10 | summarize count() by Level", &halves, 2,
	               &split);
	free(rows);
}

/* take N over a filter: any N of the rows, each one of them. */
static void test_split_take(void **state)
{
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	struct parts fours = {{1, 2, 3, 4}, {1, 2, 3, 4}, false, NULL};
	struct parts *all[] = {&halves, &fours};
	bool split;

	for (size_t i = 0; i < 2; i++) {
		char *rows = NULL,
		     *whole = run_both("T | where N > 10", all[i], i ? 4 : 2, &split, NULL);
		char *got = NULL, *save = NULL, *line;
		size_t n = 0;
		free(run_both("T | where N > 10 | take 4", all[i], i ? 4 : 2, &split, &got));
		assert_true(split);
		rows = strdup(got);
		for (line = strtok_r(rows, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			n++;
			if (!strstr(whole, line))
				fail_msg("not a row of the table: %s", line);
		}
		assert_int_equal(n, 4);
		free(rows);
		free(got);
		free(whole);
	}
}

/* Each of the n queries gives the same rows split over parts as whole,
 * and splits (or not) as split says. */
static void each_same(const char *const *q, size_t n, struct parts *parts, size_t nparts,
                      bool split)
{
	bool did;

	for (size_t i = 0; i < n; i++) {
		free(compare(q[i], parts, nparts, &did));
		if (did != split)
			fail_msg("%s: %s", split ? "not split" : "split", q[i]);
	}
}

static void test_not_split(void **state)
{
	static const char *const whole[] = {
	    "T | summarize percentile(Host, 50)", /* not a number: whole, as today */
	    "T | take 3",
	    "print x = 1 | summarize count()",
	    /* a right row matched in no partition; innerunique whose right
	     * side reads the partitioned table */
	    "T | join (T | where Level == 'Error') on N | summarize count() by Host",
	    "T | join kind=rightouter H on Host | summarize count() by Team",
	    "T | join kind=fullouter H on N | summarize count() by Team",
	    "T | join kind=rightsemi H on Host | summarize count() by Team",
	    "T | join kind=rightanti H on N | summarize count() by Team",
	    /* the right side reads the partitioned table */
	    "T | join kind=inner (T | where Level == 'Error') on N | summarize count() by Host",
	    /* sums and extremes of a dynamic: their states would cross as
	     * another type (a sum of no number 0 whole, 0.0 split) */
	    "T | extend d = todynamic(tostring(N)) | summarize sum(d), max(d), avg(d) by Host",
	    "T | extend d = -dynamic({'a':1}) | summarize sum(d) by Host",
	};
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};

	each_same(whole, sizeof(whole) / sizeof(*whole), &halves, 2, false);
}

/* innerunique: each partition keeps one left row per key, the join one
 * of those.  Answers that do not depend on which row is kept equal the
 * whole plan's; one that does gives whole rows of T, once per key. */
static void test_innerunique(void **state)
{
	static const char *const same[] = {
	    "T | join H on Host | summarize count() by Team",
	    "T | join kind=innerunique H on Host, N | summarize count() by Team, Host",
	    "T | where Level == 'Error' | join H on N | summarize count() by Team, N",
	    "T | project N, Host | join (H | project N, Team) on N | order by Team asc",
	    "T | join H on Host | join kind=leftanti (H | where Team == 'e') on Host | count",
	    "T | where Level == 'nothing' | join H on Host | count",
	    /* under a join's left side: its right side read by the final plan */
	    "T | summarize count() | join (T | summarize count()) on count_",
	    "T | summarize c = count() by Host | join kind=rightouter H on Host | order by Team "
	    "asc",
	};
	struct parts fours = {{1, 2, 3, 4}, {1, 2, 3, 4}, false, NULL};
	struct parts lopsided = {{1, 1}, {4, 0}, false, NULL};
	bool split;

	each_same(same, sizeof(same) / sizeof(*same), &fours, 4, true);
	each_same(same, sizeof(same) / sizeof(*same), &lopsided, 2, true);
	char *rows = run_both("T | project Host, N, Latency, Level", &fours, 4, &split, NULL);
	char *got = NULL, *save = NULL, *line;
	size_t n = 0;
	free(run_both("T | join (H | where Team != 'd') on Host | project Host, N, Latency, Level",
	              &fours, 4, &split, &got));
	assert_true(split);
	for (line = strtok_r(got, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++)
		if (!strstr(rows, line))
			fail_msg("not a row of T: %s", line);
	assert_int_equal(n, 4); /* h0 and h2 once, h1 twice (two rows of H) */
	free(got);
	free(rows);
}

/* A plan that reads a table's ingestion time runs whole: a partition's
 * views (daemon/query_par.c) do not give it, on either side of a join. */
static void test_not_split_ingestion(void **state)
{
	static const char *const whole[] = {
	    "T | summarize count() by bin(ingestion_time(), 1h)",
	    "T | where ingestion_time() > ago(1h) | summarize count() by Host",
	    "T | join kind=inner (H | extend t = ingestion_time()) on Host | summarize count()",
	};

	for (size_t i = 0; i < sizeof(whole) / sizeof(*whole); i++) {
		struct kql_arena *a = kql_arena_new();
		struct kql_error e = {0};
		struct kql_query *kq = NULL;
		struct kql_split s;

		if (kql_compile(a, whole[i], strlen(whole[i]), &schema, &kq, &e) != 0)
			fail_msg("%s: %s", whole[i], e.message);
		if (kql_split(a, kq->results[0], &s) != 1)
			fail_msg("split: %s", whole[i]);
		kql_arena_free(a);
	}
}

/* leftsemi and leftanti (IN over the right side's non-null keys) agree
 * with an inner join on the right side's distinct keys, and together
 * they keep every row: a null key matches nothing. */
static void test_semi_anti(void **state)
{
	static const char *const keys[] = {"Host", "N", "Host, N"};
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	char q[256], *semi, *anti, *inner;
	bool split;
	long ns, na;

	for (size_t i = 0; i < 3; i++) {
		(void)snprintf(q, sizeof(q), "T | join kind=leftsemi H on %s | count", keys[i]);
		semi = compare(q, &halves, 2, &split);
		assert_true(split);
		(void)snprintf(q, sizeof(q), "T | join kind=leftanti H on %s | count", keys[i]);
		anti = compare(q, &halves, 2, &split);
		(void)snprintf(q, sizeof(q),
		               "T | join kind=inner (H | summarize by %s) on %s | count", keys[i],
		               keys[i]);
		inner = compare(q, &halves, 2, &split);
		assert_string_equal(semi, inner);
		ns = strtol(semi, NULL, 10);
		na = strtol(anti, NULL, 10);
		assert_true(ns > 0 && na > 0);
		assert_int_equal(ns + na, 120);
		free(semi);
		free(anti);
		free(inner);
	}
}

/* Generated joins: every combination of a filter on T, a join kind, its
 * keys and a summarize over columns whose values do not depend on which
 * left row innerunique keeps (the keys, the right side's), each equal
 * split and whole over two layouts, hashed and as SQL. */
static void test_join_grid(void **state)
{
	static const char *const filters[] = {"", "| where Level != 'Info' ", "| where N > 3 "};
	static const char *const kinds[] = {"", "kind=inner ", "kind=leftouter "};
	static const char *const keys[] = {"Host", "N", "Host, N"};
	static const char *const aggs[] = {
	    "summarize count(), dcount(Team), sum(N1) by Team",
	    "summarize count(), max(Team), min(N1)",
	    "summarize count() by Host, N | where count_ > 0 | order by Host asc, N asc",
	    "distinct Team, N1 | order by Team asc, N1 asc",
	};
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	struct parts fours = {{1, 2, 3, 4}, {1, 2, 3, 4}, false, NULL};
	char q[320];
	bool split;

	for (size_t f = 0; f < 3; f++)
		for (size_t k = 0; k < 3; k++)
			for (size_t n = 0; n < 3; n++)
				for (size_t g = 0; g < 4; g++) {
					(void)snprintf(q, sizeof(q), "T %s| join %sH on %s | %s",
					               filters[f], kinds[k], keys[n], aggs[g]);
					free(compare(q, &halves, 2, &split));
					if (!split)
						fail_msg("not split: %s", q);
					free(compare(q, &fours, 4, &split));
				}
}

/* Unions: every input's table partitioned, runs of their (table, extent)
 * pairs in the union's order; the union's columns (nulls where an input
 * lacks one, Latency_real and Latency_long, withsource's names) the
 * whole plan's, the tables named or matched by a wildcard name.  Each
 * query equal split and whole over 2 and 4 partitions (cut inside a
 * table, between the two, inside U), hashed and as SQL, and each split. */
static void test_union(void **state)
{
	static const char *const same[] = {
	    "union T, U | summarize count() by Level | order by Level asc",
	    "union withsource=Src T, U | where N > 3 | count",
	    "union withsource=Src U, T | summarize count(), sum(N), min(Timestamp), "
	    "avg(Latency_real), max(Latency_long), countif(isnull(Code)) by Src, Level",
	    "union kind=inner T, U | summarize count(), dcount(N), max(Timestamp), avg(N) by Level",
	    "union kind=inner withsource=Src U, T | summarize count() by Src, N",
	    "union (T | where Level != 'Info'), (U | where isnotnull(Code)) | summarize count(), "
	    "sum(Code), make_set(Host, 9) by Level",
	    "union T, U | summarize avg(N), dcount(Host), countif(isnull(Code)) by bin(Timestamp, "
	    "1h) | order by Timestamp asc",
	    "union withsource=Src T, U | top 9 by N desc, Src asc, Timestamp asc, Level asc, Host "
	    "asc, Latency_real asc, Code asc, Latency_long asc",
	    "union T, U | distinct Level, N | order by Level asc, N asc",
	    "union withsource=Src T, U | where N > 12 | take 1000 | order by Src asc, N asc, "
	    "Timestamp asc, Level asc, Host asc, Latency_real asc, Code asc, Latency_long asc",
	    /* the union's order: partitions are runs of T's then U's extents */
	    "union T, U | summarize arg_max(Timestamp, *), make_list(N), make_set(Code) by Level",
	    "union U, T | summarize arg_min(N, Level, Code), make_list(Level, 30), take_any(Code)",
	    /* joins in an input and over the union */
	    "union (T | join kind=inner H on Host), U | summarize count(), sum(N) by Team, Level",
	    "union T, U | join kind=leftouter H on N | summarize count() by Team, Level",
	    "union T, U | join H on N | summarize count() by Team",
	    /* wildcard names: each matched table partitioned, withsource its name */
	    "union withsource=Src T*, U* | summarize count(), sum(N), max(Latency_long) by Src, "
	    "Level",
	    "T | union withsource=Src kind=inner *U | summarize count(), make_list(N) by Src",
	};
	/* T's extents are positions 1 .. 4, U's 5, 6 (union U, T: 1, 2 and
	 * 3 .. 6): halves, a cut between (or inside) the tables, inside the
	 * last table, four, one partition empty */
	struct parts layouts[] = {
	    {{1, 4}, {3, 6}, false, NULL},
	    {{1, 5}, {4, 6}, false, NULL},
	    {{1, 3, 5, 6}, {2, 4, 5, 6}, false, NULL},
	    {{1, 7}, {6, 0}, false, NULL},
	};

	for (size_t l = 0; l < sizeof(layouts) / sizeof(*layouts); l++)
		each_same(same, sizeof(same) / sizeof(*same), &layouts[l], l == 2 ? 4 : 2, true);
}

/* A union that reads a table twice stays whole: a partition's view of
 * it is restricted. */
static void test_union_not_split(void **state)
{
	static const char *const whole[] = {
	    "union T, T | count",
	    "union T, (T | where N > 3), U | summarize count() by Level",
	    "union T, U | join kind=inner (U | project N) on N | summarize count()",
	    "union T, (U | summarize count() by Level) | summarize count()",
	    "union T, U | take 3",
	    "union T*, T | count",
	};
	struct parts halves = {{1, 4}, {3, 6}, false, NULL};

	each_same(whole, sizeof(whole) / sizeof(*whole), &halves, 2, false);
}

/* The right side's bound: at most 1M rows and a quarter of the left's. */
static void test_join_cheap(void **state)
{
	assert_true(kql_split_join_cheap(10000000, 100));
	assert_true(kql_split_join_cheap(4000000, 1000000));
	assert_false(kql_split_join_cheap(8000000, 1000001));
	assert_true(kql_split_join_cheap(400, 100));
	assert_false(kql_split_join_cheap(399, 100));
	assert_false(kql_split_join_cheap(0, 1));
	assert_true(kql_split_join_cheap(0, 0));
}

static void test_fallbacks(void **state)
{
	const char *q = "T | summarize count() by Host, N";
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct kql_query *kq = NULL;
	struct kql_split s;
	struct parts bad = {{1, 3}, {2, 4}, true, NULL};
	struct kql_par par = {&s, 2, NOW, 1 << 20, part_open, part_close, &bad, NULL, false};
	struct out o = {0};

	assert_int_equal(kql_compile(a, q, strlen(q), &schema, &kq, &e), 0);
	assert_int_equal(kql_split(a, kq->results[0], &s), 0);
	o.p = kq->results[0];
	o.f = open_memstream(&o.text, &o.len);
	/* a partition that cannot open; partial rows past the bound */
	assert_int_equal(kql_par_run(coord, &par, write_row, &o, &e), -EAGAIN);
	bad.fail_open = false;
	par.max_bytes = 200;
	assert_int_equal(kql_par_run(coord, &par, write_row, &o, &e), -EAGAIN);
	fclose(o.f);
	assert_int_equal(o.len, 0);
	free(o.text);
	kql_arena_free(a);
}

/* +inf in one partition, -inf in the other: min, max, avg (NaN) as the
 * whole plan's, hashed or sorted; the merged sum, NaN, refused as the
 * whole plan refuses it. */
static void test_split_infinities(void **state)
{
	static const char *const q = "T | summarize sum(Latency)";
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct kql_query *kq = NULL;
	struct kql_split s;
	struct kql_par par = {&s, 2, NOW, 1 << 20, part_open, part_close, &halves, NULL, false};
	struct out o = {0};
	bool split;
	char *rows;

	assert_int_equal(exec(coord, "UPDATE q.d1 SET c3 = 9e999 WHERE rowid = 1 << 32; "
	                             "UPDATE q.d1 SET c3 = -9e999 WHERE rowid = 4 << 32"),
	                 0);
	rows = compare("T | summarize max(Latency), min(Latency), avg(Latency) by Level "
	               "| where Level == 'Warning'",
	               &halves, 2, &split);
	assert_true(split);
	assert_string_equal(rows, "Warning\tInfinity\t-Infinity\tNaN\n");
	free(rows);
	assert_int_equal(kql_compile(a, q, strlen(q), &schema, &kq, &e), 0);
	o.p = kq->results[0];
	o.f = open_memstream(&o.text, &o.len);
	assert_int_not_equal(kql_exec_run(coord, o.p, NOW, write_row, &o, &e), 0);
	assert_non_null(strstr(e.message, "the aggregate 'sum' gives NaN"));
	assert_int_equal(kql_split(a, kq->results[0], &s), 0);
	for (int sorted = 0; sorted < 2; sorted++) {
		par.sorted = sorted;
		e = (struct kql_error){0};
		assert_int_not_equal(kql_par_run(coord, &par, write_row, &o, &e), 0);
		assert_string_equal(e.code, KQL_E_UNSUPPORTED);
		assert_non_null(strstr(e.message, "the aggregate 'sum' gives NaN"));
	}
	fclose(o.f);
	assert_int_equal(o.len, 0);
	free(o.text);
	kql_arena_free(a);
	assert_int_equal(exec(coord, "UPDATE q.d1 SET c3 = 5.0 WHERE rowid = 1 << 32; "
	                             "UPDATE q.d1 SET c3 = 0.0 WHERE rowid = 4 << 32"),
	                 0);
}

/* q refused with what, whole and split (hashed and sorted) over parts,
 * with the whole plan's error code: by the merge, or by a partition (then
 * kql_par_run says -EAGAIN and the caller runs the plan whole, which
 * refuses it). */
static void expect_refused_over(const char *q, const char *what, struct parts *parts, size_t nparts)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct kql_query *kq = NULL;
	struct kql_split s;
	struct kql_par par = {&s, nparts, NOW, 1 << 20, part_open, part_close, parts, NULL, false};
	struct out o = {0};
	const char *code;

	assert_int_equal(kql_compile(a, q, strlen(q), &schema, &kq, &e), 0);
	o.p = kq->results[0];
	o.f = open_memstream(&o.text, &o.len);
	if (kql_exec_run(coord, o.p, NOW, write_row, &o, &e) == 0 ||
	    strstr(e.message, what) == NULL)
		fail_msg("%s (whole): %s", q, e.message);
	code = e.code;
	assert_int_equal(kql_split(a, kq->results[0], &s), 0);
	for (int sorted = 0; sorted < 2; sorted++) {
		par.sorted = sorted;
		e = (struct kql_error){0};
		int rc = kql_par_run(coord, &par, write_row, &o, &e);
		/* a partition's refusal: the caller runs the plan whole (above) */
		if (rc == -EAGAIN)
			continue;
		if (rc == 0 || e.code == NULL || strcmp(e.code, code) != 0 ||
		    strstr(e.message, what) == NULL)
			fail_msg("%s (%s): %d %s", q, sorted ? "sorted" : "hashed", rc, e.message);
	}
	fclose(o.f);
	free(o.text);
	kql_arena_free(a);
}

static void expect_refused_both(const char *q, const char *what)
{
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};

	expect_refused_over(q, what, &halves, 2);
}

/* percentile and percentiles of longs, ints, reals, datetimes and
 * timespans, with and without keys: nulls, groups of one value, of
 * repeated values, of nulls only, no rows; several levels of one column
 * and of two.  The nearest rank over all values, as the whole plan's. */
static void test_split_percentiles(void **state)
{
	static const char *const same[] = {
	    "T | summarize percentile(N, 50), percentiles(Latency, 0, 5, 50, 95, 100)",
	    "T | summarize percentiles(N, 25, 50, 99.9), percentile(Timestamp, 50) by Level",
	    "T | extend d = Timestamp - datetime(2022-01-01) | summarize percentiles(d, 10, 90), "
	    "percentile(Latency, 50) by Host",
	    "T | summarize percentile(N, 50), percentile(N, 95), p = percentile(N, 10), "
	    "count() by Flag",
	    "T | extend i = toint(N) | summarize percentiles(i, 1, 99), percentile(N * 2, 50)",
	    "T | summarize percentiles(Timestamp, 0, 100), percentile(N, 75) by Timestamp, Host",
	    "T | where N == 5 | summarize percentiles(N, 0, 50, 100), percentile(Latency, 95) by "
	    "Level",
	    "T | where Level == 'Debug' | summarize percentile(Latency, 50), count() by Host",
	    "T | where Level == 'Debug' | summarize percentiles(Latency, 50, 90)",
	    "T | where Level == 'nothing' | summarize percentile(N, 50), percentiles(Timestamp, "
	    "5, 95)",
	    "T | where Level == 'nothing' | summarize percentile(N, 50) by Host",
	    "T | summarize percentiles(Latency, 50, 95) by Level | where Level != 'Info' "
	    "| order by Level asc",
	};
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	struct parts lopsided = {{1, 1}, {4, 0}, false, NULL};
	struct parts fours = {{1, 2, 3, 4}, {1, 2, 3, 4}, false, NULL};
	size_t n = sizeof(same) / sizeof(*same);

	each_same(same, n, &halves, 2, true);
	each_same(same, n, &lopsided, 2, true);
	each_same(same, n, &fours, 4, true);
}

static int count_row(void *arg, const struct kql_value *row, size_t n)
{
	++*(size_t *)arg;
	return 0;
}

/* percentiles(x, 50, 95) and percentile(x, 10) of one x keep one state;
 * a partial plan with keys is hashed (not run as SQL instead). */
static void test_split_percentile_state(void **state)
{
	const char *q =
	    "T | summarize percentiles(N, 50, 95), percentile(N, 10), percentile(Latency, "
	    "5) by Level";
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct kql_query *kq = NULL;
	struct kql_hagg_limits lim = {0};
	struct kql_split s;
	char *partial, *final, *at;
	size_t nstates = 0, rows = 0;

	assert_int_equal(kql_compile(a, q, strlen(q), &schema, &kq, &e), 0);
	assert_int_equal(kql_split(a, kq->results[0], &s), 0);
	partial = kql_plan_text(s.partial);
	final = kql_plan_text(s.final);
	for (at = partial; (at = strstr(at, "$pstate(")) != NULL; at++)
		nstates++;
	assert_int_equal(nstates, 2);
	assert_non_null(strstr(final, "$percentile_merge("));
	assert_true(kql_hagg_supports(s.partial));
	assert_int_equal(kql_hagg_run(coord, s.partial, NOW, &lim, count_row, &rows, &e), 0);
	assert_int_equal(rows, 4); /* the levels */
	free(partial);
	free(final);
	kql_arena_free(a);
}

/* The values count against the query's budget, split as whole: past it
 * the same error (a partition's refusal runs the plan whole); within it
 * the same rows; everything counted given back either way. */
static void test_split_percentile_budget(void **state)
{
	struct kql_budget b = {.limit = 1000};
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	struct parts fours = {{1, 2, 3, 4}, {1, 2, 3, 4}, false, NULL};
	sqlite3 *saved = coord;
	bool split;

	part_budget = &b;
	assert_int_equal(open_budget(&coord, &b), 0);
	assert_int_equal(view(coord, NULL, 0), 0);
	expect_refused_over("T | summarize percentiles(N, 50, 95)", "memory", &halves, 2);
	expect_refused_over("T | summarize percentile(Latency, 50), percentile(N, 95) by Flag",
	                    "memory", &fours, 4);
	assert_int_equal(b.used, 0);
	b.limit = 1 << 20;
	free(compare("T | summarize percentiles(N, 50, 95), percentile(Timestamp, 5) by Level",
	             &fours, 4, &split));
	assert_true(split);
	assert_int_equal(b.used, 0);
	sqlite3_close(coord);
	coord = saved;
	part_budget = NULL;
}

/* Sums of longs are exact and a total past a long is refused, whole and
 * split alike (SQLite's sum failed as soon as a running sum overflowed;
 * its x * 2 made a real of an overflow, which the sum then answered). */
static void test_split_overflow(void **state)
{
	struct parts halves = {{1, 3}, {2, 4}, false, NULL};
	char *before, *after, want[64], *end = NULL;
	bool split;

	before = compare("T | summarize sum(N), countif(isnotnull(N))", &halves, 2, &split);
	/* rows 1 << 32 (N 100) and 4 << 32 (N 400): partitions 1..2, 3..4 */
	assert_int_equal(exec(coord,
	                      "UPDATE q.d1 SET c4 = 9223372036853775807 WHERE rowid = 1 << 32; "
	                      "UPDATE q.d1 SET c4 = -9223372036853775807 WHERE rowid = 4 << 32"),
	                 0);
	after = compare("T | summarize sum(N), sumif(N, N < 1000), s = sum(N + 1) - count()",
	                &halves, 2, &split);
	assert_true(split);
	(void)snprintf(want, sizeof(want), "%lld\t", strtoll(before, NULL, 10) - 18);
	if (strncmp(after, want, strlen(want)) != 0)
		fail_msg("[%s], want [%s] before [%s]", after, want, before);
	free(after);
	/* avg is the exact sum's mean, whole or split: partial sums past a
	 * long are no overflow, and the two values that cancel out do, where
	 * a sum of doubles would lose the others beside them */
	after = compare("T | summarize avg(N)", &halves, 2, &split);
	assert_true(split);
	long long sum = strtoll(before, &end, 10) - 18, n = strtoll(end, NULL, 10);
	if (strtod(after, NULL) != (double)sum / (double)n)
		fail_msg("avg [%s], want %lld / %lld", after, sum, n);
	free(before);
	free(after);
	free(compare("T | summarize avg(N), avgif(N, N > 0), avg(N) by Flag", &halves, 2, &split));
	free(compare("T | extend d = N * 1tick | summarize avg(d) by Flag", &halves, 2, &split));
	expect_refused_both("T | summarize sum(N * 2)", "the operator '*'");
	expect_refused_both("T | summarize sumif(-N - 10000000, N != 0)", "the operator '-'");
	assert_int_equal(
	    exec(coord, "UPDATE q.d1 SET c4 = 9223372036853775807 WHERE rowid = 4 << 32"), 0);
	expect_refused_both("T | summarize sum(N)", "the aggregate 'sum' overflows a long");
	expect_refused_both("T | summarize sum(N) by Flag", "the aggregate 'sum' overflows a long");
	assert_int_equal(exec(coord, "UPDATE q.d1 SET c4 = 100 WHERE rowid = 1 << 32; "
	                             "UPDATE q.d1 SET c4 = 400 WHERE rowid = 4 << 32"),
	                 0);
}

/* The split is a plan: the partial plan and the merge print as plans. */
static void test_split_plans(void **state)
{
	const char *q = "T | where N > 1 | summarize avg(Latency), dcount(Host) by Level | top 1 "
	                "by avg_Latency";
	struct kql_arena *a = kql_arena_new();
	struct kql_error e = {0};
	struct kql_query *kq = NULL;
	struct kql_split s;
	char *partial, *final;

	assert_int_equal(kql_compile(a, q, strlen(q), &schema, &kq, &e), 0);
	assert_int_equal(kql_split(a, kq->results[0], &s), 0);
	assert_string_equal(s.scan->table, "T");
	partial = kql_plan_text(s.partial);
	final = kql_plan_text(s.final);
	assert_non_null(strstr(partial, "$countnn("));
	assert_non_null(strstr(partial, "$dstate("));
	assert_non_null(strstr(partial, "scan"));
	assert_non_null(strstr(final, "$avg_merge("));
	assert_non_null(strstr(final, "$dcount_merge("));
	assert_non_null(strstr(final, "top"));
	free(partial);
	free(final);
	kql_arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_split_same_rows),
	    cmocka_unit_test(test_split_edges),
	    cmocka_unit_test(test_split_take),
	    cmocka_unit_test(test_not_split),
	    cmocka_unit_test(test_not_split_ingestion),
	    cmocka_unit_test(test_fallbacks),
	    cmocka_unit_test(test_split_plans),
	    cmocka_unit_test(test_join_cheap),
	    cmocka_unit_test(test_semi_anti),
	    cmocka_unit_test(test_split_infinities),
	    cmocka_unit_test(test_split_overflow),
	    cmocka_unit_test(test_innerunique),
	    cmocka_unit_test(test_join_grid),
	    cmocka_unit_test(test_split_percentiles),
	    cmocka_unit_test(test_split_percentile_budget),
	    cmocka_unit_test(test_split_percentile_state),
	    cmocka_unit_test(test_union),
	    cmocka_unit_test(test_union_not_split),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

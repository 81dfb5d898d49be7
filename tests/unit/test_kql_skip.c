/*
 * Unit tests for kql_skip: which extents a query's time filters let it
 * leave out, by their column statistics — the bounds' edges (> and >= at
 * an extent's max), between, ago() against now, a null constant, nulls-only
 * and missing columns, statistics of another type or none at all, several
 * scans of one table (skipped only when every scan is empty on it), a
 * table the query does not read, a filter that is not a conjunction, and
 * a function's tabular argument used twice (one plan node on two paths).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_skip.h"
#include "util/timefmt.h"

static sqlite3 *db;

static const struct kql_schema_column ev_cols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Host", PROTO_T_STRING}, {"Code", PROTO_T_LONG}};
static const struct kql_schema_column other_cols[] = {{"When", PROTO_T_DATETIME}};
static const struct kql_schema_table tables[] = {{"Events", ev_cols, 3}, {"Other", other_cols, 1}};
static const struct kql_schema_db sdb = {"Logs", tables, 2};
static const struct kql_schema schema = {&sdb, 1, "Logs"};

/* The extents: their Timestamp statistics. */
enum { X_DEC1, X_DEC2, X_NULLS, X_NOSTATS, X_RETYPED, X_NOCOL, X_NOW, NX };
static struct proto_colstat stats[NX][2];
static struct proto_extent ext[NX];

static void set_ts(int i, const char *min, const char *max, enum proto_coltype type)
{
	stats[i][0] = (struct proto_colstat){"Timestamp", type, 0, (char *)min, (char *)max};
	stats[i][1] = (struct proto_colstat){"Host", PROTO_T_STRING, 0, NULL, NULL};
	ext[i] = (struct proto_extent){.stats = stats[i], .nstats = 2, .rows = 10};
}

static int64_t now;
static char now_min[TIMEFMT_DATETIME_LEN], now_max[TIMEFMT_DATETIME_LEN];

static int setup(void **state)
{
	if (sqlite3_open(":memory:", &db) != SQLITE_OK || kql_exec_register(db) != 0)
		return -1;
	(void)timefmt_parse_datetime("2026-12-04T12:00:00Z", &now);
	set_ts(X_DEC1, "2026-12-01T00:00:00.0000000Z", "2026-12-01T01:00:00.0000000Z",
	       PROTO_T_DATETIME);
	set_ts(X_DEC2, "2026-12-02T00:00:00.0000000Z", "2026-12-02T01:00:00.0000000Z",
	       PROTO_T_DATETIME);
	set_ts(X_NULLS, NULL, NULL, PROTO_T_DATETIME);
	set_ts(X_NOSTATS, NULL, NULL, PROTO_T_DATETIME);
	ext[X_NOSTATS].nstats = 0;
	set_ts(X_RETYPED, "a", "z", PROTO_T_STRING);
	set_ts(X_NOCOL, NULL, NULL, PROTO_T_STRING);
	ext[X_NOCOL].stats = &stats[X_NOCOL][1]; /* Host only */
	ext[X_NOCOL].nstats = 1;
	(void)timefmt_format_datetime(now - 30 * 60 * TIMEFMT_TICKS_PER_SEC, now_min);
	(void)timefmt_format_datetime(now - 10 * 60 * TIMEFMT_TICKS_PER_SEC, now_max);
	set_ts(X_NOW, now_min, now_max, PROTO_T_DATETIME);
	return 0;
}

static int teardown(void **state)
{
	sqlite3_close(db);
	return 0;
}

/* Which extents q skips of table t, as a string of 0/1 in enum order
 * ("r" first when the query reads the table, "-" when not). */
static void expect(const char *q, const char *t, const char *want)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_error err = {0};
	struct kql_query *kq = NULL;
	struct kql_skip *s = NULL;
	char got[NX + 2];

	assert_non_null(a);
	if (kql_compile(a, q, strlen(q), &schema, &kq, &err) != 0)
		fail_msg("%s: %s", q, err.message);
	assert_int_equal(kql_skip_new(db, kq, "Logs", kql_schema_table(&sdb, t), now, &s), 0);
	got[0] = kql_skip_reads(s) ? 'r' : '-';
	for (int i = 0; i < NX; i++)
		got[i + 1] = kql_skip_extent(s, &ext[i]) ? '1' : '0';
	got[NX + 1] = '\0';
	if (strcmp(got, want) != 0)
		fail_msg("%s: skipped %s, want %s", q, got, want);
	kql_skip_free(s);
	kql_arena_free(a);
}

/*                          1 2 N S R C now */
static void test_edges(void **state)
{
	expect("Events | where Timestamp > datetime(2026-12-01T12:00:00Z)", "Events", "r1010010");
	expect("Events | where Timestamp >= datetime(2026-12-01T01:00:00Z)", "Events", "r0010010");
	expect("Events | where Timestamp > datetime(2026-12-01T01:00:00Z)", "Events", "r1010010");
	expect("Events | where Timestamp < datetime(2026-12-02T00:00:00Z)", "Events", "r0110011");
	expect("Events | where Timestamp <= datetime(2026-12-02T00:00:00Z)", "Events", "r0010011");
	expect("Events | where datetime(2026-12-02T00:00:00Z) > Timestamp", "Events", "r0110011");
	expect("Events | where Timestamp == datetime(2026-12-01T00:30:00Z)", "Events", "r0110011");
	expect("Events | where Timestamp between (datetime(2026-12-01T02:00:00Z) .. "
	       "datetime(2026-12-01T23:00:00Z))",
	       "Events", "r1110011");
	/* between (x .. timespan) is not pushed (the binder's rule) */
	expect("Events | where Timestamp between (datetime(2026-12-01T02:00:00Z) .. 1d)", "Events",
	       "r0000000");
}

static void test_now_and_null(void **state)
{
	expect("Events | where Timestamp > ago(1h)", "Events", "r1110010");
	expect("Events | where Timestamp > ago(5m)", "Events", "r1110011");
	expect("Events | where Timestamp > now() - 2d and Code == 3", "Events", "r1110010");
	expect("let since = ago(1h); Events | where Timestamp >= since", "Events", "r1110010");
	expect("Events | where Timestamp > datetime(null)", "Events", "r1111111");
	expect("Events | where Code > 3 | where Timestamp > ago(1h)", "Events", "r1110010");
}

static void test_nothing_proved(void **state)
{
	expect("Events | count", "Events", "r0000000");
	expect("Events | where Timestamp > ago(1h) or Code == 1", "Events", "r0000000");
	expect("Events | where not(Timestamp < ago(1h))", "Events", "r0000000");
	expect("Events | extend T = Timestamp | where T > ago(1h)", "Events", "r0000000");
	expect("Events | where Timestamp != datetime(2026-12-01T00:30:00Z)", "Events", "r0000000");
}

static void test_several_scans(void **state)
{
	expect("union (Events | where Timestamp > ago(1h)), Events", "Events", "r0000000");
	expect("union (Events | where Timestamp > ago(1h)), "
	       "(Events | where Timestamp < datetime(2026-12-01T12:00:00Z))",
	       "Events", "r0110010");
	expect("Events | where Timestamp > ago(1h) | join kind=inner (Events | where Timestamp < "
	       "datetime(2026-12-01T12:00:00Z)) on Host",
	       "Events", "r0110010");
	expect("Other | count", "Events", "-1111111");
	/* their statistics have no When: null in every row, but none at all proves nothing */
	expect("Other | where When > ago(1h)", "Other", "r1110111");
	/* one node, two paths: the filter above one use bounds only that use */
	expect("let f = (t:(*)) { union (t | where Timestamp > ago(1h)), (t | where Code == 1) }; "
	       "f(Events)",
	       "Events", "r0000000");
	expect("let f = (t:(*)) { t | where Timestamp > ago(1h) }; union (f(Events)), (f(Events))",
	       "Events", "r1110010");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_edges),
	    cmocka_unit_test(test_now_and_null),
	    cmocka_unit_test(test_nothing_proved),
	    cmocka_unit_test(test_several_scans),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

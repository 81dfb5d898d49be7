/*
 * kql_exec — the fifth stage on the embedded engine: runs a kql_plan on a
 * SQLite connection.  The plan becomes one SQL statement whose identifiers
 * are generated (c0, c1 ... for columns, never a name from the query) and
 * whose every literal is a bound parameter, so no query text reaches SQL as
 * text.  KQL's semantics that SQL lacks (has, =~, case-insensitive
 * contains, null rules of ==, conversions that give null, bin, arg_max,
 * percentile ...) are functions registered on the connection by
 * kql_exec_register.
 *
 * Plans over datatable, print and range run on any connection (an
 * in-memory one is enough).  A stored table T reads the connection's table
 * named T, columns by their schema names, values stored as kql_value holds
 * them (datetime and timespan as int64 ticks, bool 0/1, dynamic as JSON
 * text); the query store will provide such tables (or views) for one
 * visible version.  Identifiers in the SQL are the schema's, quoted; none
 * comes from the query's text.
 */
#ifndef FOLLOWERD_KQL_EXEC_H
#define FOLLOWERD_KQL_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "query/kql_stmts.h"

#include "query/kql_err.h"
#include "query/kql_plan.h"

/* One value of a result row, as its column's type holds it: int, long,
 * bool, datetime and timespan (ticks) in i; real in r; string, guid,
 * decimal and dynamic (JSON text) in s.  Borrowed for the callback only. */
struct kql_value {
	bool isnull;
	int64_t i;
	double r;
	const char *s;
};

/* Called once per result row with ncols values; non-zero stops the query
 * and is returned by kql_exec_run. */
typedef int kql_row_fn(void *arg, const struct kql_value *row, size_t ncols);

/* A query's memory budget, shared by its connections (and threads): the
 * states of the aggregates registered here (make_set/make_list of dynamic
 * values, percentile(s), arg_max/arg_min) are counted against limit as they
 * grow; past it the aggregate fails with SQLITE_TOOBIG, which kql_exec_run
 * reports as KQL_E_RUNAWAY.  The counters are atomics. */
struct kql_budget {
	uint64_t limit; /* bytes; 0: unbounded */
	uint64_t used;  /* bytes held now */
	uint64_t peak;  /* the most ever held */
};

/* Registers the kql_* SQL functions on db; 0 or -ENOMEM.  Among them, for
 * a stored table's view to give its rows' ingestion time (kql_plan.h's
 * KQL_INGEST_COLUMN): kql_ingest(key, map), with map the text
 * "k0 t0 k1 t1 ..." (keys ascending), is the t of the greatest k not above
 * key, null below k0 (the map is parsed once per statement when it is a
 * constant). */
int kql_exec_register(sqlite3 *db);

/* The same, the aggregates counting their memory against b (borrowed for
 * db's life; NULL: not counted). */
int kql_exec_register_budget(sqlite3 *db, struct kql_budget *b);

/* Bounds db's own memory for a query of limit bytes: a quarter for the
 * main schema's page cache (the sorter's memory before it spills to a
 * temporary file), an eighth each for the temp schema's and the attached
 * ones', temp_store = FILE (sorts, DISTINCT, GROUP BY and joins spill to
 * files: SQLite's temporary directory), and a half for one value (a string
 * json_group_array builds: SQLITE_LIMIT_LENGTH).  0 or -EIO. */
int kql_exec_bound(sqlite3 *db, uint64_t limit);

/* The name of the table (a view) the executor reads for table of another
 * database db (database("db").T): "db/table" ('/' is in no entity name),
 * into buf of n bytes; NULL when it does not fit. */
char *kql_exec_view_name(const char *db, const char *table, char *buf, size_t n);

/* Runs plan p (borrowed) on db (registered), now() being now (ticks),
 * calling row for each result row.  0; -EINVAL with err filled for a plan
 * the executor cannot run or an engine error; or row's non-zero return. */
int kql_exec_run(sqlite3 *db, const struct kql_plan *p, int64_t now, kql_row_fn *row, void *arg,
                 struct kql_error *err);
/* The same with the statements kept in stmts (kql_stmts.h: db's, borrowed;
 * NULL: none kept): one of the same SQL text is used again, and this one is
 * kept after it ran without error. */
int kql_exec_run_kept(sqlite3 *db, struct kql_stmts *stmts, const struct kql_plan *p, int64_t now,
                      kql_row_fn *row, void *arg, struct kql_error *err);

/* db's last error as the query's: the memory budget (KQL_E_RUNAWAY), a
 * refusal a kql_* function raised at a position of the query (a NaN the
 * engine cannot hold, a long divided by zero: KQL_E_UNSUPPORTED there), or
 * the engine's message at pos.  Returns -EINVAL. */
int kql_exec_error(sqlite3 *db, struct kql_pos pos, struct kql_error *err);

/* The SQL of p, a new malloc'd string (for tests and debugging); NULL when
 * the executor cannot run p. */
char *kql_exec_sql(const struct kql_plan *p);

/* v formatted as Kusto writes it in text (7-digit datetimes, timespans
 * [-][d.]hh:mm:ss[.fffffff], true/false, reals like 1.5 or 2); into buf of
 * size n, returned. */
char *kql_exec_format(const struct kql_value *v, enum proto_coltype type, char *buf, size_t n);

#endif

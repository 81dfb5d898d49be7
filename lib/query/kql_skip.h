/*
 * kql_skip — which extents of a table a query may leave out without reading
 * them (issue 13: filters skip extents before anything is read).
 *
 * The binder pushes the predicates of a where directly over a table that
 * statistics can decide into its scan (kql_plan.h's kql_timebound): a
 * datetime, timespan, int, long or real column, or ingestion_time(),
 * compared with a constant by <, <=, >, >=, ==, between or in (ago() and
 * now() included).  kql_skip evaluates those constants once per query, on
 * the executor (the same semantics as the rows get), and keeps, for one
 * table, one conjunction of conditions per scan of it in the query's
 * results.  An extent is skipped when every scan of its table is proved
 * empty on it:
 *
 * - by its column statistics: the min and max of the column lie outside
 *   what the condition admits, or the column holds only nulls there (no
 *   range, or a column added after the extent was written: its rows read
 *   null), since a null never satisfies a comparison or in.  Numbers
 *   compare as the executor compares the rows: integers exactly, an int or
 *   long beside a real as reals (an int column against 2.5, a real one
 *   against a long; past 2^53 the long rounds, as in Kusto).  A real NaN
 *   counts in no range, and satisfies no comparison either (the store
 *   holds it as null).  Statistics of another type than the column's (a
 *   retyped column: int then long) prove nothing, nor a decimal's.
 * - by its creation time, for ingestion_time(): every row of an extent
 *   reads its extent's max created-on (query_extents.h), so the condition
 *   is decided for the whole extent at once.  Created-on proves nothing
 *   about a datetime column (a backfill sets it, a merge spans it).
 *
 * A constant that is null (or NaN) makes its comparison drop every row.
 *
 * A scan is matched with its bounds per path through the plan: a bound
 * counts for a path only when its filter lies on that path directly above
 * the scan (plans are DAGs: a function's tabular argument is bound once
 * and used by every reference).
 */
#ifndef FOLLOWERD_KQL_SKIP_H
#define FOLLOWERD_KQL_SKIP_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "proto/proto.h"
#include "query/kql_plan.h"
#include "query/kql_schema.h"

#define KQL_SKIP_MAX_VISITS 10000 /* plan nodes walked; past it nothing is skipped */

/* The scans of one table in a query and their conditions. */
struct kql_skip;

/* The skip rule of table (borrowed, of database dbname) for query q, its
 * constants evaluated on db (kql_exec_register'ed) with now() being now.
 * A table the query does not scan has no scans: every extent is skipped.
 * 0 and a new rule in *ret, or -ENOMEM. */
int kql_skip_new(sqlite3 *db, const struct kql_query *q, const char *dbname,
                 const struct kql_schema_table *table, int64_t now, struct kql_skip **ret);

/* NULL is a no-op. */
void kql_skip_free(struct kql_skip *s);

/* Whether the query reads no row of extent x (borrowed), by its column
 * statistics and its creation time. */
bool kql_skip_extent(const struct kql_skip *s, const struct proto_extent *x);

/* One column of an extent's statistics as kql_skip reads them, decoded once
 * (a caller may keep them per extent): the range of a datetime, timespan,
 * int or long column in min, max (ticks for times), of a real in rmin, rmax;
 * range false when it holds nulls only.  The other types only named. */
struct kql_skip_col {
	const char *name;
	enum proto_coltype type;
	bool range;
	int64_t min, max;
	double rmin, rmax;
};

/* x's statistics into cols (x->nstats of them, names borrowed from x); a
 * min or max that does not parse (or a NaN) is typed string (proves
 * nothing). */
void kql_skip_cols_of(const struct proto_extent *x, struct kql_skip_col *cols);

/* kql_skip_extent over decoded statistics (n = 0: none known) of an extent
 * whose rows' ingestion time is ingested (its max created-on). */
bool kql_skip_cols(const struct kql_skip *s, const struct kql_skip_col *cols, size_t n,
                   int64_t ingested);

/* Whether the query scans the table at all. */
bool kql_skip_reads(const struct kql_skip *s);

/* Whether some scan of the table reads its rows' ingestion time
 * (kql_plan.h's ingest): its view must then have KQL_INGEST_COLUMN. */
bool kql_skip_ingest(const struct kql_skip *s);

#endif

/*
 * kql_skip — which extents of a table a query may leave out without reading
 * them (issue 13: time filters skip extents before anything is read).
 *
 * The binder pushes the time predicates of a where directly over a table
 * into its scan (kql_plan.h's kql_timebound: a datetime column compared
 * with a constant, ago() and now() included).  kql_skip evaluates those
 * constants once per query, on the executor (the same semantics as the
 * rows get), and keeps, for one table, one conjunction of closed tick
 * ranges per scan of it in the query's results.  An extent is skipped when
 * every scan of its table is proved empty on it by its column statistics:
 * the min and max of the bounded column lie outside the scan's range, or
 * the column holds only nulls there (no range, or a column added after the
 * extent was written: its rows read null, and where drops a null
 * comparison).  Statistics of another type (a retyped column) prove
 * nothing.
 *
 * Created-on is not used: in Kusto an extent's creation time is not its
 * rows' time (a backfill sets it, a merge spans it), so it proves nothing
 * about a datetime column; only ingestion_time() filters could use it, and
 * that function is outside this engine's subset.
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

/* Column col of the table read only in [lo, hi] (ticks, inclusive; lo > hi:
 * no row at all). */
struct kql_skip_range {
	int col;
	int64_t lo, hi;
};

struct kql_skip_scan {
	struct kql_skip_range *ranges; /* all must hold */
	size_t nranges;
};

/* The scans of one table in a query (owned by the caller of
 * kql_skip_new, freed with kql_skip_free). */
struct kql_skip {
	const struct kql_schema_table *table; /* borrowed */
	struct kql_skip_scan *scans;
	size_t nscans;
	bool all; /* some scan reads every extent: nothing is skipped */
};

/* The skip rule of table (borrowed, of database dbname) for query q, its
 * constants evaluated on db (kql_exec_register'ed) with now() being now.
 * A table the query does not scan has no scans: every extent is skipped.
 * 0 and a new rule in *ret, or -ENOMEM. */
int kql_skip_new(sqlite3 *db, const struct kql_query *q, const char *dbname,
                 const struct kql_schema_table *table, int64_t now, struct kql_skip **ret);

/* NULL is a no-op. */
void kql_skip_free(struct kql_skip *s);

/* Whether the query reads no row of extent x (borrowed), by its column
 * statistics. */
bool kql_skip_extent(const struct kql_skip *s, const struct proto_extent *x);

/* One column of an extent's statistics as kql_skip reads them, decoded once
 * (a caller may keep them per extent): a datetime column's range in ticks,
 * range false when it holds nulls only; the other types only named. */
struct kql_skip_col {
	const char *name;
	enum proto_coltype type;
	bool range;
	int64_t min, max;
};

/* x's statistics into cols (x->nstats of them, names borrowed from x); a
 * datetime min or max that does not parse is typed string (proves
 * nothing). */
void kql_skip_cols_of(const struct proto_extent *x, struct kql_skip_col *cols);

/* kql_skip_extent over decoded statistics (n = 0: none known). */
bool kql_skip_cols(const struct kql_skip *s, const struct kql_skip_col *cols, size_t n);

/* Whether the query scans the table at all. */
bool kql_skip_reads(const struct kql_skip *s);

#endif

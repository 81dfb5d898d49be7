/*
 * kql_hagg — hash aggregation of a split's partial plan (kql_split.h) on
 * SQLite, which has none: its GROUP BY and DISTINCT sort every input row.
 * The partial aggregate's input (its keys, then its aggregates' arguments,
 * as SQL generated for the plan under it, filters included) is read row by
 * row and aggregated in C in a hash table; the rows handed over are
 * exactly the ones the partial plan's SQL gives (in another order): the
 * same storage classes, SQLite's sum of integers and reals, min and max
 * compared as SQLite compares values, nulls skipped, a null key its own
 * group, strings bytewise.  Where a value would make the two differ (a
 * group key equal as integer and as real, a text in a sum, an integer sum
 * that overflows, a real in a dcount's set) the run stops with -ENOTSUP
 * before any row is handed over and the caller runs the SQL instead.
 *
 * Aggregates: count, countif, sum, sumif, min, max, take_any (SQLite's
 * max), and the partial states $countnn, $tsum (avg's exact sum and count
 * of integers: past a long, -ENOTSUP), $dset (each group's distinct
 * values, a JSON array, kept in a second hash table, never sorted),
 * $pstate (the group's values, kql_pct.h's text) and
 * $row (the group's first row; the SQL's bare column takes another row
 * of the group: either is innerunique's "one row per key"); and distinct
 * (every column a key).  The table's memory counts against a
 * bound of the caller's and the query's budget: past either, -E2BIG.
 */
#ifndef FOLLOWERD_KQL_HAGG_H
#define FOLLOWERD_KQL_HAGG_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "query/kql_exec.h"
#include "query/kql_plan.h"

/* Whether p (borrowed) is a summarize of the aggregates above or a
 * distinct, which kql_hagg_run can run, and whose SQL would sort (keys,
 * or a $dset: a summarize of counts and sums alone is one pass already). */
bool kql_hagg_supports(const struct kql_plan *p);

/* Bounds of one run: max_bytes of the table (0: none) and the query's
 * budget (borrowed; NULL: not counted). */
struct kql_hagg_limits {
	size_t max_bytes;
	struct kql_budget *budget;
};

/* Runs p (kql_hagg_supports, or any summarize of the aggregates above:
 * tests) on db (registered), now() being now, calling
 * row once per group.  0; row's non-zero return; -ENOTSUP (nothing handed
 * over: run p's SQL); -E2BIG past a limit (nothing handed over); -ENOMEM;
 * -EINVAL with err when the engine fails (an interrupt included). */
int kql_hagg_run(sqlite3 *db, const struct kql_plan *p, int64_t now,
                 const struct kql_hagg_limits *lim, kql_row_fn *row, void *arg,
                 struct kql_error *err);

#endif

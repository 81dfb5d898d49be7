/*
 * kql_split — a plan transformation for parallel scans: a summarize over a
 * stored table (through filters and projections) becomes a partial
 * aggregate, run on each partition of the table's rows, and a final plan
 * whose summarize merges the partial rows read from a table of the
 * executor's (KQL_SPLIT_TABLE).  Both are ordinary plans (kql_plan.h): an
 * executor runs the partial plan once per partition, with the table
 * restricted to that partition, gathers the rows into KQL_SPLIT_TABLE, then
 * runs the final plan.  kql_par (SQLite, threads) is one such executor.
 *
 * Decomposable: count, countif, sum, sumif, min, max, take_any (each its
 * own merge: sums of counts, min of mins ...), avg and avgif (a sum and a
 * count of non-null values, divided after the merge), dcount and dcountif
 * (exact: each partition's distinct values, counted once merged; not over
 * reals, whose JSON text would round).  Everything else (make_set and
 * make_list, whose order is the scan's; arg_max, arg_min; percentiles)
 * keeps the plan whole.  top N and take N split too: each partition's N
 * rows, then N of all of them (take: any N rows, as Kusto's; the
 * partitions stop once N are found; top: rows tied on the keys may come
 * in another order).  distinct splits as each partition's distinct
 * rows, then the distinct rows of those.  The answers equal the unsplit
 * plan's but for the order of adding reals (a sum or avg of reals may differ in the last
 * digits, as in any parallel engine).
 */
#ifndef FOLLOWERD_KQL_SPLIT_H
#define FOLLOWERD_KQL_SPLIT_H

#include "query/kql_arena.h"
#include "query/kql_plan.h"

/* The table the final plan reads the partial rows from; '$' is in no
 * Kusto name, so it cannot be a stored table's. */
#define KQL_SPLIT_TABLE "$partials"

struct kql_split {
	const struct kql_plan *scan;    /* the stored table whose rows are partitioned */
	const struct kql_plan *partial; /* per partition: keys then partial states, or rows */
	struct kql_plan *final;         /* the whole plan, the split operator over the partials */
	/* take: the partitions may all stop once this many rows are found
	 * (NULL: each runs to its end) */
	const struct kql_expr *limit;
};

/* Splits p (borrowed) at its first operator (from the result down through
 * single-input operators) that reads a stored table through filters and
 * projections only and is a summarize whose aggregates all decompose, a
 * distinct, a top, or a take over a filter (without one, take stops at
 * once anyway).  0 with ret filled (its plans in arena a, sharing p's unchanged nodes); 1 when p
 * has no such operator (ret untouched: run p whole); -ENOMEM. */
int kql_split(struct kql_arena *a, const struct kql_plan *p, struct kql_split *ret);

#endif

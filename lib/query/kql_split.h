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
 * (each partition's HyperLogLog state, merged exactly), avg/avgif of
 * datetimes (exact sums of ticks), and the aggregates whose answer follows
 * the scan's order, merged in the partitions' order (KQL_SPLIT_PART
 * below): arg_max and arg_min (the first row of the best key; all keys
 * null: the first row), make_list and make_set (the lists joined in
 * order, cut to their max, a literal); and percentile and percentiles
 * of numbers, datetimes and timespans at literal levels (each
 * partition's values as text, kql_pct.h, one state per x however many
 * levels; the merge's nearest rank over all of them is the whole
 * plan's).  top N and take N split too: each partition's N
 * rows, then N of all of them (take: any N rows, as Kusto's; the
 * partitions stop once N are found; top: rows tied on the keys may come
 * in another order).  distinct splits as each partition's distinct
 * rows, then the distinct rows of those.  The answers equal the unsplit
 * plan's but for the order of adding reals (a sum or avg of reals may
 * differ in the last digits, as in any parallel engine).
 *
 * Joins.  The stored table may be reached through the left side of joins
 * of kind inner, leftouter, leftsemi and leftanti, whose rows for a left
 * row depend on that row and on the right side as a whole: each partition
 * of the left side is joined with the whole right side.  Not rightouter,
 * rightsemi, rightanti, fullouter (a right row matched by no partition),
 * nor a right side reading the partitioned table (its partitions' views
 * of it are restricted).  innerunique (one left row per key across all
 * partitions) splits below itself: the partial plan keeps one row per key
 * of each partition (a summarize by the join keys of $row of every other
 * column), the final plan's innerunique join one of those.  A split is
 * also found under the left side of any join, which the final plan then
 * runs, reading its right side whole.  The executor reads the right side once per
 * partition: it should split only when that side is small
 * (kql_split_join_cheap), and must give each partition the whole of any
 * other table the partial plan reads.
 *
 * Unions.  The stored tables may be reached through the inputs of a union
 * (any kind, withsource or not; each input through filters, projections
 * and joins as above): they are all partitioned (scans, in the order the
 * whole plan reads their rows: a union's inputs one after the other).
 * The partitions are then runs of the list of (table, extent) pairs in
 * that order, each reading its run's share of each table (perhaps none):
 * the partitions' rows in order are still the whole plan's in order, so
 * the merges that follow the scan's order hold (where every partition
 * reading a share of every table would interleave them), and an
 * executor's partitioning by runs of extents applies to that list as it
 * is.  The union itself runs in the partial plan over the partition's
 * views: its columns, their order, types, nulls and withsource names are
 * the whole plan's.  Each table is read once below the split operator (a
 * union of a table with itself, or with a join reading it on the right,
 * stays whole: a partition's view of it is restricted).
 */
#ifndef FOLLOWERD_KQL_SPLIT_H
#define FOLLOWERD_KQL_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

#include "query/kql_arena.h"
#include "query/kql_plan.h"

/* The table the final plan reads the partial rows from; '$' is in no
 * Kusto name, so it cannot be a stored table's. */
#define KQL_SPLIT_TABLE "$partials"

/* Its column after the partial plan's (p0, p1 ...): the index of the
 * partition the row comes from.  Partitions must be runs of the scan's
 * rows in the whole plan's order, numbered in that order: the merges of
 * arg_max/arg_min and make_list/make_set order by it. */
#define KQL_SPLIT_PART "part"

/* Stored tables partitioned by one split at most (a union's inputs). */
#define KQL_SPLIT_MAX_SCANS 16

struct kql_split {
	const struct kql_plan *scan; /* the (first) stored table whose rows are partitioned */
	/* every stored table whose rows are partitioned (scans[0] is scan), in
	 * the order the whole plan reads their rows: partition k reads run k
	 * of their (table, extent) pairs in this order */
	const struct kql_plan *const *scans;
	size_t nscans;
	const struct kql_plan *partial; /* per partition: keys then partial states, or rows */
	struct kql_plan *final;         /* the whole plan, the split operator over the partials */
	/* take: the partitions may all stop once this many rows are found
	 * (NULL: each runs to its end) */
	const struct kql_expr *limit;
};

/* Splits p (borrowed) at its first operator (from the result down through
 * single-input operators) that reads stored tables through filters,
 * projections, the left sides of joins (see Joins above) and unions (see
 * Unions) only and is
 * a summarize whose aggregates all decompose, a distinct, a top, a take
 * over a filter, or an innerunique join (without one, take stops at once anyway).  0 with
 * ret filled (its plans in arena a, sharing p's unchanged nodes); 1 when
 * p has no such operator, or reads some table's ingestion time (kql_plan.h:
 * a partition's views do not give it) (ret untouched: run p whole);
 * -ENOMEM. */
int kql_split(struct kql_arena *a, const struct kql_plan *p, struct kql_split *ret);

/* The bound on a join's right side (its stored tables' rows together) for
 * a split: each of K partitions reads and indexes the whole right side, so
 * a split costs (K - 1) right sides more than the whole plan and saves a
 * share of the left side's scan; a right side of at most a quarter of the
 * left's rows and 1,000,000 rows (tens of MB, indexed in well under a
 * second) keeps that extra work small beside the left side's scan. */
#define KQL_SPLIT_JOIN_MAX_RIGHT INT64_C(1000000)
#define KQL_SPLIT_JOIN_MIN_RATIO 4 /* left rows per right row at least */

/* Whether a split whose partial plan joins left_rows partitioned rows with
 * right_rows whole ones (read by every partition) is worth it. */
bool kql_split_join_cheap(int64_t left_rows, int64_t right_rows);

#endif

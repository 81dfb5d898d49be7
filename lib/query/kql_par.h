/*
 * kql_par — runs a split plan (kql_split.h) on SQLite with several
 * threads: the partial plan on one connection per partition at once (the
 * caller's thread runs partition 0, a new thread each other one), their
 * rows gathered into KQL_SPLIT_TABLE on the caller's connection, then the
 * final plan there, its rows handed over as kql_exec_run does.
 *
 * A partial summarize or distinct runs on the hash path (kql_hagg) unless
 * the values ask for the SQL's (-ENOTSUP: then that partition runs the
 * SQL); its table counts against max_bytes and the query's budget.
 *
 * The caller opens each partition's connection (open): registered
 * (kql_exec_register), its stored tables (the split's scans: a union's
 * several) restricted to that partition's run of their rows, any other
 * table the partial plan reads (a join's right side) whole, and seeing
 * the same data as the caller's connection (the caller checks its
 * snapshot).  The partitions' rows together must be exactly the tables'
 * rows the caller's connection sees.
 */
#ifndef FOLLOWERD_KQL_PAR_H
#define FOLLOWERD_KQL_PAR_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "query/kql_exec.h"
#include "query/kql_split.h"

#define KQL_PAR_MAX 16 /* partitions at most */

/* Opens partition part's connection into *ret_db (0), or fails (negative
 * errno: the caller then runs the plan whole).  Called on the partition's
 * thread; close is called on it too, with what open returned. */
typedef int kql_par_open_fn(void *arg, size_t part, sqlite3 **ret_db);
typedef void kql_par_close_fn(void *arg, size_t part, sqlite3 *db);

struct kql_par {
	const struct kql_split *split; /* borrowed */
	size_t nparts;                 /* 1 .. KQL_PAR_MAX */
	int64_t now;                   /* now() of the query, ticks */
	size_t max_bytes;              /* partial rows one partition may hold */
	kql_par_open_fn *open;
	kql_par_close_fn *close;
	void *arg;
	/* the query's budget, which a partition's hash table counts against
	 * (borrowed; NULL: none) */
	struct kql_budget *budget;
	/* true: each partition runs the partial plan's SQL (GROUP BY, a sort)
	 * even where kql_hagg could aggregate it (tests, benchmarks) */
	bool sorted;
};

/* Runs par on db (registered; the caller's thread).  0; row's non-zero
 * return; -EINVAL with err when the final plan fails; -EAGAIN when a
 * partition could not run (its open failed, its partial rows passed
 * max_bytes, the engine stopped it, a thread could not start): then no
 * row was handed over and the caller runs the plan whole. */
int kql_par_run(sqlite3 *db, const struct kql_par *par, kql_row_fn *row, void *arg,
                struct kql_error *err);

#endif

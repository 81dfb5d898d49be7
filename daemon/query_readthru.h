/*
 * query_readthru — a query's cold extents read through for it (issue 12).
 *
 * A query over a visible version is complete: the extents it cannot skip
 * (query_run.c asks lib/query/kql_skip) and that are not loaded in the query
 * store are loaded for it.  Those whose artifacts are cached are loaded by
 * qsync's next pass; the others (cold, or hot and still warming) are read
 * through first: the worker lists their artifacts that are not cached
 * (qrt_need_add), checks the bytes against query_readthru_max_size, and
 * hands the list to the loop, which owns warm and its demand API
 * (warm_demand: fetch, verify, commit into the cache, kept there
 * cache_demand_keep).  The worker waits until every artifact is cached, one
 * failed, the query's deadline passed or it was cancelled; then qsync loads
 * the extents (they are cached now) and the query reads them.  They stay
 * cold: once the warmer evicts their artifacts, qsync drops them.
 *
 * The handoff: a batch goes onto q->rt_posted under q->mu and an eventfd
 * wakes the loop, which starts a demand per artifact; each demand's end is
 * counted in the batch under q->mu and wakes the worker (q->rt_cond).  When
 * the worker is done with a batch, whatever the outcome, it posts it again
 * as closing: the loop cancels the demands still running and frees it.  So
 * a batch is the worker's until it is posted closing, and demands are only
 * ever touched by the loop.
 */
#ifndef FOLLOWERD_QUERY_READTHRU_H
#define FOLLOWERD_QUERY_READTHRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

struct job;
struct query;
struct warm;

/* The artifacts a query needs read through. */
struct qrt_art {
	char sha256[PROTO_SHA256_LEN + 1];
	uint64_t size;
};

struct qrt_need {
	struct qrt_art *v;
	size_t n, cap;
	uint64_t bytes;   /* their sizes added up */
	uint64_t extents; /* the extents they belong to */
};

/* Adds the artifacts of x (borrowed) that the cache in cache_dir does not
 * hold; 1 when there was one (x is cold or warming), 0 when x is cached, or
 * -ENOMEM. */
int qrt_need_add(struct qrt_need *n, const char *cache_dir, const struct proto_extent *x);

/* Frees the list; the struct is empty again. */
void qrt_need_clear(struct qrt_need *n);

/* On the worker: reads n's artifacts through for j, within the bound.  0
 * when all are cached now; -EOPNOTSUPP when this daemon cannot read
 * through (no warmer); -EFBIG over query_readthru_max_size; -ETIMEDOUT
 * past the deadline; -ECANCELED; another negative errno when an artifact
 * could not be read through.  msg gets the message for the client (every
 * error but -EOPNOTSUPP). */
int qrt_fetch(struct job *j, const struct qrt_need *n, char *msg, size_t len);

/* ---- the loop's side (query.c) ---- */

/* The handoff's eventfd and event on q->base; 0 or a negative errno. */
int qrt_init(struct query *q);
/* Cancels the demands of batches left (the workers are joined), frees. */
void qrt_free(struct query *q);

/* Adds the counts of a query that ran (the worker): extents it skipped,
 * its worker's kept connections it used again and those it opened
 * (query_sess.h). */
void qrt_count_run(struct query *q, uint64_t extents_skipped, uint64_t reused, uint64_t opened);
/* Counts a scan run split over nparts partitions (1: hashed alone). */
void qrt_count_scan(struct query *q, size_t nparts);

#endif

/*
 * query_extents — what a query's walk needs to know of each extent, kept
 * in memory between queries so that walking a table costs little.
 *
 * A query walks every visible extent of each table it scans, in one state
 * store snapshot, and decides for each: skipped by its statistics
 * (lib/query/kql_skip), loaded, or to load (query_readthru.h).  Decoding an
 * extent from the state store (its statistics are JSON, its artifacts
 * another table) costs ~15-25 us, which made 1,000 extents ~15-40 ms per
 * query.  So the walk lists the visible extents by id only
 * (store_extents with ids_only), and takes whether each is queryable and
 * its statistics decoded (kql_skip_col: ranges as ticks or numbers) from
 * this cache, which decodes an extent once, the first time a query meets
 * it (store_extent_get).  An extent row never changes once written, so an
 * entry stays right: it is keyed by the store's row id and checked against
 * the extent's uuid.
 *
 * Bounded: past QX_CACHE_BYTES the cache is emptied and fills again (a
 * database with that many extents walks slower, never wrongly); column
 * names are interned (at most QX_NAMES; past it, extents are decoded each
 * time).  Shared by the query workers under a mutex; a lookup copies the
 * entry into the caller's buffer.
 *
 * Also here, what makes an extent hot or cold for a query
 * (query_datascope=hotcache reads the hot ones only): its created-on range
 * under the table's effective caching policy (query_policy, query.h),
 * the leader's policies with the follower's overrides, as the warmer
 * computes it.
 */
#ifndef FOLLOWERD_QUERY_EXTENTS_H
#define FOLLOWERD_QUERY_EXTENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/kql_skip.h"

#define QX_CACHE_BYTES ((size_t)64 << 20)
#define QX_NAMES 4096

struct qx_cache;
struct query;
struct store;

/* One extent as the walk sees it; the caller's buffer, reused between
 * lookups (zero-initialised is empty; qx_info_clear frees it). */
struct qx_info {
	bool typed;                       /* its artifacts declare a data format */
	int64_t min_created, max_created; /* its created-on range (hot or cold) */
	struct kql_skip_col *cols;        /* its statistics (names owned by the cache) */
	size_t ncols, cap;
};

/* A new empty cache in *ret; 0 or -ENOMEM. */
int qx_cache_new(struct qx_cache **ret);
/* NULL is a no-op. */
void qx_cache_free(struct qx_cache *c);

/* Extent id (the state store's row id) with uuid, from the cache or
 * decoded from s (the caller's read transaction) into *ret.  0, or a
 * negative errno with err (STORE_ERRLEN) filled. */
int qx_info_get(struct qx_cache *c, struct store *s, int64_t id, const char *uuid,
                struct qx_info *ret, char *err);

void qx_info_clear(struct qx_info *i);

/* The cache's entries and bytes now (for tests and measurements). */
void qx_cache_size(struct qx_cache *c, size_t *ret_entries, size_t *ret_bytes);

/* Frees q's copies of the attaches (query_set_conf, query.h; the workers
 * are joined). */
void query_attaches_free(struct query *q);

#endif

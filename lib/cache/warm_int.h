/*
 * warm_int — what warm.c and warm_demand.c share (not for callers).
 *
 * warm.c owns the downloads (struct dl) and the worker thread; the
 * read-through half (warm_demand.c) keeps the requests waiting for an
 * artifact and hooks into both: it runs its store lookups as worker jobs,
 * starts downloads through warm's own path (so that a request and the
 * background warmer share one transfer of a sha256), and hears how each
 * download ended.
 */
#ifndef FOLLOWERD_WARM_INT_H
#define FOLLOWERD_WARM_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/warm.h"

struct cache;
struct conf_attach;
struct fetch_result;
struct proto_extent;
struct qstore_index;
struct warm_dm;

/* ---- warm.c, for warm_demand.c (loop thread unless said) ---- */

/* Runs call(w, arg) on the worker thread, then called(w, arg) on the loop.
 * 0, or -ENOMEM (neither runs). */
int warm_call_(struct warm *w, void (*call)(struct warm *w, void *arg),
               void (*called)(struct warm *w, void *arg), void *arg);

/* The read-through state warm_dm_new_ made. */
struct warm_dm *warm_dm_(const struct warm *w);

/* The cache (shared with the worker: thread-safe), the store's path. */
struct cache *warm_cache_(const struct warm *w);
const char *warm_store_path_(const struct warm *w);

/* The configuration's attach of store name db (borrowed until the next
 * warm_set_conf); NULL when none. */
const struct conf_attach *warm_attach_(const struct warm *w, const char *db);

/* Whether a download of sha256 is in flight or waiting for its slot (its
 * end is reported through warm_dm_settle_). */
bool warm_in_flight_(const struct warm *w, const char *sha256);

/* A reader waits for sha256's download: if it still waits for a slot or in
 * the fetch queue, it goes first. */
void warm_hurry_(struct warm *w, const char *sha256);

/* Starts the download of sha256 (size bytes) from url, ahead of the
 * warmer's queue; account and key (may be NULL) sign it with Shared Key.
 * Strings borrowed.  0, or -ENOMEM. */
int warm_fetch_(struct warm *w, const char *sha256, uint64_t size, const char *url,
                const char *account, const char *key, const char *db, const char *table);

/* ---- warm_qs.c, for warm.c (the worker thread) ---- */

/* How long auto-prefetch waits for a version's typed extents to load once
 * its artifacts are cached, before it publishes the version anyway. */
#define WARM_LOAD_WAIT_MS 60000

struct warm_qs;

/* One database's query store as a scan saw it. */
struct warm_qdb {
	struct qstore_index *ix; /* sorted by extent id */
	size_t nix;
	uint64_t file_bytes;   /* the file, its WAL and -shm */
	uint64_t loaded_bytes; /* what its loaded extents added (at most file_bytes) */
	double scale;          /* their recorded bytes to the file's (<= 1) */
};

/* What the query store holds of an extent. */
enum warm_qstate {
	WARM_Q_NONE,    /* not typed: never loaded */
	WARM_Q_WAITING, /* typed, not loaded yet */
	WARM_Q_LOADED,
	WARM_Q_ERROR, /* not queryable: its rows did not parse */
};

int warm_qs_new_(const char *cache_dir, struct warm_qs **ret);
void warm_qs_free_(struct warm_qs *qs);
/* Reads database db_id's query store into *ret (empty when there is none
 * yet); 0 or -ENAMETOOLONG. */
int warm_qs_db_(struct warm_qs *qs, int64_t db_id, struct warm_qdb *ret);
void warm_qdb_clear_(struct warm_qdb *q);
/* x's state in q and its cost in the query store (*ret_cost: what its load
 * added, or an estimate before; 0 when not typed). */
enum warm_qstate warm_qs_extent_(struct warm_qs *qs, const struct warm_qdb *q,
                                 const struct proto_extent *x, uint64_t *ret_cost);
/* The part of an extent's cost its artifact i bears (by size). */
uint64_t warm_qs_share_(uint64_t cost, const struct proto_extent *x, size_t i);
/* A scan ended: the ratios it learned apply from the next one. */
void warm_qs_scan_end_(struct warm_qs *qs);
/* Auto-prefetch waits for the loads of db's version: the ms left of
 * WARM_LOAD_WAIT_MS since it began waiting for that version (0: publish). */
int64_t warm_qs_wait_(struct warm_qs *qs, const char *db, uint64_t version, int64_t now_ms);
/* db's version was published (or needs no wait): forget its wait. */
void warm_qs_waited_(struct warm_qs *qs, const char *db);

/* ---- warm_demand.c, for warm.c ---- */

/* With warm_new / warm_free (after the worker stopped: every waiter is
 * dropped without a call). */
int warm_dm_new_(struct warm *w, unsigned max_downloads, int64_t keep_ms, struct warm_dm **ret);
void warm_dm_free_(struct warm_dm *dm);
/* A reload: cache_demand_concurrency (more slots start queued downloads
 * now, fewer let the running ones finish) and cache_demand_keep (for the
 * artifacts served from now on). */
void warm_dm_set_conf_(struct warm_dm *dm, unsigned max_downloads, int64_t keep_ms);

/* A transfer of sha256 ended with res (kept for the error text). */
void warm_dm_transfer_(struct warm_dm *dm, const char *sha256, const struct fetch_result *res);

/* The download of sha256 ended: 0 (the object is committed), or why not.
 * open is true when it failed before any transfer (the cache writer). */
void warm_dm_settle_(struct warm_dm *dm, const char *sha256, int r, bool open);

/* Any thread: the monotonic ms sha256's pin ends (not to be evicted until
 * then), INT64_MAX while requests wait for it, 0 when it is not pinned. */
int64_t warm_dm_pin_until_(struct warm_dm *dm, const char *sha256);

#endif

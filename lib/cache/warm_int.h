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
#include <stdint.h>

#include "cache/warm.h"

struct cache;
struct conf_attach;
struct fetch_result;
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

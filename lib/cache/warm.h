/*
 * warm — keeps the artifact cache warm: fetches the hot artifacts of every
 * followed database into lib/cache, and records them in the store.
 *
 * Above sync, cache, policy, fetch and store.  The daemon hands it sync's
 * `changed` hook (warm_changed) and the configuration; warm then scans the
 * store (its own connection) for the extents each table's effective caching
 * policy makes hot, and queues a fetch of every hot artifact the cache does
 * not hold yet, newest extents first (priority from max_created).  The fetch
 * handle's limits (fetch_concurrency, fetch_concurrency_per_leader) bound the
 * transfers.  Each download resumes an existing .part file (Range), streams
 * through cache_writer_sink, is verified and committed, then recorded cached
 * in the store.
 *
 * Everything that blocks (store reads and writes, cache_writer_open with
 * resume, cache_writer_commit's fsync, cache_reconcile) runs on one worker
 * thread of warm's own, one job at a time; results come back to the loop
 * through an eventfd.  The loop only queues transfers and counts.
 *
 * Failures: a failed download is retried at the next scan (scans are
 * re-run with exponential backoff while anything is pending); an artifact
 * whose digest is wrong WARM_MAX_FAILS times is quarantined in the store and
 * never fetched again; a 404 is not counted (the leader may have dropped the
 * extent since: the next scan no longer wants it).
 *
 * Eviction (at each scan): cached artifacts of cold extents that no hot
 * extent holds, and of dropped extents and detached databases (blobs no
 * artifact references); then, over cache_max_size or under min_free_space,
 * the oldest hot artifacts (by max_created) go and only the newest wanted
 * ones that fit are fetched.  The query stores (<cache_dir>/query, kept by
 * qsync) count with the artifacts (warm_qs.c): each artifact is charged its
 * share of what its extent's rows take there (an estimate before they are
 * loaded), the stores' other bytes as a whole; cold artifacts kept after a
 * read-through whose rows are loaded go first, before any hot one.  Scans run on sync's hook, after
 * each round of downloads, with backoff after failures, and when the soonest hot span of an extent
 * ends (policy_next_change).
 *
 * Auto-prefetch (an attach's prefetch = true): sync applies commits without
 * making them visible (store.h).  A scan wants the extents of the applied
 * version; when it finds every hot artifact of a database's applied version
 * cached (its warm_status hot_files == cached_files, after eviction) and its
 * typed hot extents loaded in the query store (load_waiting == 0: qsync
 * loads the applied version's extents too; one whose rows do not parse
 * counts as done; at most WARM_LOAD_WAIT_MS of waiting) it makes that
 * version visible (store_db_publish, on the worker).  A database whose
 * attach does not ask for prefetch (any more) is published at the next scan.
 * The extents an unpublished version dropped are still visible: their
 * cached artifacts are kept like those of any visible extent.
 *
 * Startup: the first job reconciles the cache with the store.
 *
 * Read-through (warm_demand, in warm_demand.c): any artifact an extent
 * references, hot or cold, can be asked for; it is downloaded, verified and
 * committed like a warmed one, and only then handed to the caller as an
 * open file of the cache (never unverified bytes).  Requests for the same
 * sha256 share one download, also with the warmer's own; demand downloads
 * go ahead of the warmer's in lib/fetch's queue and at most
 * cache_demand_concurrency of them run at once (more wait, FIFO).  A
 * caller that goes away (warm_demand_cancel) never stops a download: it
 * completes and is cached.  An artifact fetched on demand is kept from
 * eviction while requests wait for it and cache_demand_keep after (then the
 * warmer scans again: cold or over the limits, it goes).
 *
 * The library does not log.  Errors: 0 or a negative errno.
 */
#ifndef FOLLOWERD_WARM_H
#define FOLLOWERD_WARM_H

#include <stdbool.h>
#include <stdint.h>

#define WARM_ERRLEN 512
#define WARM_MAX_FAILS 3 /* digest failures before an artifact is quarantined */

struct conf;
struct event_base;
struct fetch;
struct sync_change;
struct warm;

/* Starts warm on base using fetch (both borrowed, must outlive it), with the
 * store at store_path (opened by the worker) and the cache in
 * conf->cache_dir.  conf is borrowed for the call (what is needed is
 * copied).  The worker reconciles the cache first, then scans.  Returns 0
 * and a new warm in *ret, or a negative errno with a line in err. */
int warm_new(struct event_base *base, struct fetch *fetch, const struct conf *conf,
             const char *store_path, struct warm **ret, char *err);

/* Cancels transfers, waits for the worker's current job, frees.  NULL is a
 * no-op. */
void warm_free(struct warm *w);

/* Takes the configuration's attaches (borrowed for the call, copied) and
 * rescans. */
int warm_set_conf(struct warm *w, const struct conf *conf);

/* sync's changed hook: a version applied or a database detached.  Schedules
 * a rescan. */
void warm_changed(struct warm *w, const struct sync_change *c);

/* The counts of the last scan plus the loop's live counters. */
struct warm_status {
	uint64_t hot_files, hot_bytes;       /* hot artifacts of the database */
	uint64_t cached_files, cached_bytes; /* ...of which cached */
	uint64_t pending;                    /* hot, not cached, not in flight */
	uint64_t in_flight;                  /* downloads of the database's artifacts */
	uint64_t failed;                     /* hot artifacts whose last fetch failed */
	uint64_t quarantined;                /* hot artifacts quarantined */
	uint64_t over_limit; /* hot artifacts left out: no room under cache_max_size /
	                        min_free_space (the oldest go first) */
	/* the query store: typed hot extents of the applied version */
	uint64_t load_extents, load_rows;     /* to load */
	uint64_t loaded_extents, loaded_rows; /* ...of them loaded or not queryable */
	uint64_t load_waiting;                /* ...cached, not loaded yet */
	uint64_t not_queryable;               /* ...whose rows did not parse */
	uint64_t query_bytes;                 /* the database's query store (file, WAL, -shm) */
};

/* The status of database (its store name) as of the last scan into *ret;
 * -ENOENT when the last scan did not see it. */
int warm_status(struct warm *w, const char *database, struct warm_status *ret);

/* The same per table of database, in the store's name order: fn(arg, table,
 * status) (borrowed for the call); non-zero from fn stops the walk and is
 * returned.  -ENOENT when the last scan did not see the database. */
int warm_table_status(struct warm *w, const char *database,
                      int (*fn)(void *arg, const char *table, const struct warm_status *st),
                      void *arg);

/* Counters since warm_new, over every database. */
#define WARM_RATE_SAMPLES 16      /* one a second at most */
#define WARM_RATE_WINDOW_MS 10000 /* the rate is over the last 10 s */
struct warm_totals {
	uint64_t fetched_files, fetched_bytes; /* downloads committed; body bytes of them */
	uint64_t failed_downloads;             /* downloads that failed (retried later) */
	uint64_t evicted_files, evicted_bytes; /* artifacts removed from the cache */
	double bytes_per_s; /* fetched over the last WARM_RATE_WINDOW_MS; 0 when idle */
};
void warm_totals(struct warm *w, struct warm_totals *ret);

/* Scans done since warm_new (tests and metrics). */
uint64_t warm_scans(const struct warm *w);

/* The counts of every database added up, as of the last scan (pending and
 * in_flight are not filled: 0).  Cheap: for a status line every second. */
void warm_status_total(const struct warm *w, struct warm_status *ret);

/* Rescans now, failed downloads retried at once (followerctl warm).
 * Returns the scan count to wait for: warm_status is current for the kick
 * once warm_scans() reaches it. */
uint64_t warm_kick(struct warm *w);

/* The cache's size in bytes as of the last scan into *ret, the query
 * stores' included (they count against cache_max_size with the artifacts);
 * -EAGAIN before the first scan (the cache is being reconciled). */
int warm_cache_used(const struct warm *w, uint64_t *ret);

/* Of it, the query stores' bytes (files, WALs, -shm) as of the last scan. */
uint64_t warm_query_bytes(const struct warm *w);

/* Scans again soon (the query stores loaded: a prefetch may publish, the
 * loading counts move), without retrying failed downloads at once. */
void warm_rescan(struct warm *w);

/* Installs fn (NULL: none), called on the loop when the cache's content
 * changed: a download was committed or a scan evicted (the query stores
 * follow the cache). */
void warm_set_changed(struct warm *w, void (*fn)(void *arg), void *arg);

/* What warm tells the daemon (which logs it; the library does not). */
enum warm_report_kind {
	WARM_REPORT_QUARANTINED, /* an artifact failed its digest WARM_MAX_FAILS times */
	WARM_REPORT_DISK_FULL,   /* a download failed for want of space (ENOSPC, EDQUOT) */
	WARM_REPORT_DISK_OK,     /* a download was committed after WARM_REPORT_DISK_FULL */
};

/* One report; strings borrowed for the call. */
struct warm_report {
	enum warm_report_kind kind;
	const char *database; /* the store name */
	const char *extent_id;
	const char *sha256;
	const char *url; /* may hold a SAS token: redact it when logging */
	int error;       /* negative errno, 0 = none */
};

/* Installs fn (NULL: none), called on the loop from warm's own callbacks,
 * never from inside a warm_* call. */
void warm_set_report(struct warm *w, void (*fn)(void *arg, const struct warm_report *r), void *arg);

/* ---- read-through ---- */

struct warm_demand;

/* How a demand ended; valid for the callback only. */
struct warm_demand_result {
	/* 0, or: -ENOENT no extent (of the database asked) references sha256, or
	 * the leader answered 404; -EBADMSG the bytes' sha256 differs (the file
	 * is quarantined) or the artifact is quarantined; -EMSGSIZE / -EFBIG
	 * fewer / more bytes than the extent declares; -EPROTO a redirect or a
	 * malformed response; -EACCES the leader refused; -EIO, -ETIMEDOUT the
	 * leader failed; with cache set: the cache could not take it (-ENOSPC,
	 * -EDQUOT, -EACCES, -EROFS, ...); -EBUSY another process downloads it */
	int result;
	bool cache;        /* result < 0 comes from the cache's disk, not the leader */
	int fd;            /* result 0: the verified object, read-only; the callee owns it */
	uint64_t size;     /* its size */
	const char *error; /* result < 0: a line naming the sha256 and what failed */
};

typedef void (*warm_demand_fn)(void *arg, const struct warm_demand_result *res);

/* Asks for the artifact sha256 (as referenced by an extent of database, a
 * store name; NULL: of any database).  done(arg, res) is called once, from
 * the loop, never from inside this call, unless the demand is cancelled
 * first.  Returns 0 and a handle in *ret (valid until done is called or
 * warm_demand_cancel), or -EINVAL (not a sha256) / -ENOMEM, no call then. */
int warm_demand(struct warm *w, const char *sha256, const char *database, warm_demand_fn done,
                void *arg, struct warm_demand **ret);

/* The caller went away: done will not be called and d is freed.  The
 * download, if one runs, goes on for the others and the cache.  NULL is a
 * no-op. */
void warm_demand_cancel(struct warm_demand *d);

/* Read-through counters since warm_new. */
struct warm_demand_stats {
	uint64_t requests;  /* warm_demand calls */
	uint64_t shared;    /* ...that joined a download or lookup already under way */
	uint64_t downloads; /* downloads started for demands */
	uint64_t failed;    /* demands answered with an error */
	unsigned waiting;   /* demands waiting now */
	unsigned queued;    /* artifacts waiting for a demand download slot */
};
void warm_demand_stats(struct warm *w, struct warm_demand_stats *ret);

#endif

/*
 * qsync — keeps each followed database's query store (store/qstore.h) the
 * rows of its visible extents whose artifacts are cached.
 *
 * Above the cache and its warmer: the warmer decides which artifacts are
 * cached (the hot ones, and for a while those read through for a request);
 * qsync follows its decisions.  A pass, on qsync's own thread, for each
 * database of the state store (a read-only handle): makes each table's
 * stored schema its current one, loads every visible extent that declares a
 * data format, is not loaded and has all its artifacts in the cache (in
 * one transaction each, store/qload.h), and drops the loaded extents that
 * are no longer visible or no longer cached (cold: not kept loaded), and the
 * tables and databases that are gone.  While auto-prefetch holds a version
 * back (visible < applied) the extents of the applied version are loaded
 * too, so that it is queryable when the warmer publishes it (it waits for
 * the loads); readers pick their version's extents by rowid range and do not
 * see the others.  A database's pass is skipped (its counts carried over)
 * while its versions and the cache are the same as at its last pass.  The
 * file is created at the first extent to load (none for opaque leaders); a
 * pass that loaded or dropped truncates the WAL (checkpoint), retried after
 * RECHECK_MS while a reader holds it, so that the file's size is what the
 * warmer counts against cache_max_size.  An extent whose rows do not parse
 * (a leader that published bad data, a format this build does not know) is
 * not queryable: its error, naming the table, extent, artifact, line and
 * column, is kept in the query store and the rest of the table stays
 * queryable.  ENOSPC stops the pass, loses nothing (the load rolls back)
 * and is reported until a pass loads again.
 *
 * Files: <cache_dir>/query/<database id>.db (the state store's integer id,
 * never a leader's name in a path).
 *
 * Threads: qsync_kick only signals the thread; the status is copied under
 * a mutex.  The library does not log.
 */
#ifndef FOLLOWERD_QSYNC_H
#define FOLLOWERD_QSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QSYNC_ERRLEN 768

struct qsync;

/* Starts the thread over the state store at store_path and the cache in
 * cache_dir (both copied).  It waits for a kick.  0 or a negative errno. */
int qsync_new(const char *store_path, const char *cache_dir, struct qsync **ret);
/* Stops the thread after the load under way (it is rolled back) and frees. */
void qsync_free(struct qsync *q);

/* Asks for a pass (coalesced with one pending).  A pass walks only the
 * databases whose visible or applied version changed since their last
 * pass (or whose last pass left a load to retry): the others' counts are
 * carried over. */
void qsync_kick(struct qsync *q);

/* The cache's content changed (a commit or an eviction): asks for a pass
 * that walks every database. */
void qsync_cache_changed(struct qsync *q);

/* Asks for a pass of every database and waits until one that started
 * after this call has ended, at most timeout_ms: true when it did (a reader that found visible
 * extents cached but not loaded yet reads them after it). */
bool qsync_wait(struct qsync *q, int timeout_ms);

/* Totals over every database, as of the last pass (and live counters). */
struct qsync_status {
	uint64_t passes;
	uint64_t extents, rows, bytes; /* loaded now */
	uint64_t not_queryable;        /* extents whose rows did not load */
	uint64_t loads, loaded_rows;   /* since qsync_new */
	uint64_t load_errors;          /* since qsync_new */
	uint64_t drops;                /* extents dropped since qsync_new */
	double rows_per_s;             /* of the last load */
	double pass_s;                 /* how long the last pass took */
	uint64_t skipped;              /* databases it had nothing to do for */
	bool disk_full;                /* the last load hit ENOSPC */
	char last_error[QSYNC_ERRLEN]; /* "" when none */
};
void qsync_status(struct qsync *q, struct qsync_status *ret);

/* Calls fn(arg, database local name, table, extents, rows, bytes) for each
 * table of the last pass (under qsync's lock: fn must be quick and must
 * not call qsync).  Non-zero from fn stops the walk and is returned. */
int qsync_tables(struct qsync *q,
                 int (*fn)(void *arg, const char *database, const char *table, uint64_t extents,
                           uint64_t rows, uint64_t bytes),
                 void *arg);

/* The query store file of database id into buf. */
int qsync_path(const char *cache_dir, int64_t db_id, char *buf, size_t len);

#endif

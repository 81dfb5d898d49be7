/*
 * sync — the heart of followerd: follows leader databases into the store.
 *
 * One struct sync runs on the daemon's event loop.  Every leader root named
 * by the attach configurations is polled on its own timer (the smallest poll
 * interval of its configurations, with jitter) by a conditional GET of its
 * head; a 304, or a head identical to the last one, ends the poll there.
 * Each followed database is a small state machine (OpenBSD ntpd's peers):
 * when its leader moved on, sync_plan() decides how to follow — the log
 * objects after the applied version, the newest checkpoint plus the log after
 * it, or a resync — and the database runs that step, then decides again.
 * Failures back off exponentially with jitter per leader and per database;
 * the applied version stays intact.
 *
 * Nothing here blocks the loop.  Leader objects come through lib/fetch (on
 * the loop).  Decoding and hashing run on a pool of CPU threads; every store
 * write runs on one store thread that owns its own store connection, one task
 * at a time in submission order; results come back to the loop through an
 * eventfd.  A checkpoint is fetched a few parts at a time, each part's size
 * and sha256 verified before its records are decoded and fed, and freed once
 * fed, so memory stays bounded whatever its size.
 *
 * The library does not log: what happened is reported through
 * sync_callbacks.event (on change for failures, so a leader down for an hour
 * is one report), and the store keeps each database's last error.
 *
 * Names: a followed database is named in the store by its attach name, or
 * "ATTACH/LEADER_DB" for the databases of an attach of "*".
 *
 * Errors: 0 or a negative errno, with one line in err (SYNC_ERRLEN bytes).
 */
#ifndef FOLLOWERD_SYNC_H
#define FOLLOWERD_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "store/store.h"

#define SYNC_ERRLEN 512

struct conf;
struct event_base;
struct fetch;
struct sync;

/* ---- what sync reports ---- */

enum sync_event_kind {
	SYNC_EV_ATTACHED,    /* a database's first version is in the store */
	SYNC_EV_APPLIED,     /* a version was applied (commit or checkpoint) */
	SYNC_EV_DETACHED,    /* the database left the store (detail says why) */
	SYNC_EV_REWIND,      /* the leader rewound or recreated the database: resync (warning) */
	SYNC_EV_ERROR,       /* syncing the database failed; reported when the error changes */
	SYNC_EV_RECOVERED,   /* the database syncs again after SYNC_EV_ERROR */
	SYNC_EV_UNREACHABLE, /* a leader's head could not be read; reported when the error changes
	                      */
	SYNC_EV_REACHABLE,   /* the leader's head is read again after SYNC_EV_UNREACHABLE */
};

/* One event.  Strings are borrowed for the call; absent ones are NULL. */
struct sync_event {
	enum sync_event_kind kind;
	const char *database;   /* the store name; NULL for leader events */
	const char *local_name; /* the name the views show */
	const char *leader;     /* the leader root, as configured (never holds secrets) */
	const char *url;        /* the object concerned, query redacted */
	uint64_t leader_version;
	uint64_t applied_version;
	bool checkpoint;                     /* APPLIED/ATTACHED: from a checkpoint */
	const struct store_summary *summary; /* APPLIED/ATTACHED */
	int error;                           /* negative errno, 0 = none */
	const char *detail;                  /* one line: what failed, why detached, ... */
};

/* What the artifact cache needs to hear (the next issue's hook). */
enum sync_change_kind {
	SYNC_CHANGE_APPLIED,  /* a version applied: extents may have come and gone */
	SYNC_CHANGE_DETACHED, /* the database left the store: its artifacts are unreferenced */
};

struct sync_change {
	enum sync_change_kind kind;
	const char *database;
	uint64_t version;
	const struct store_summary *summary; /* APPLIED: counts added/removed */
};

/* Callbacks, all called on the loop from sync's own loop callbacks (never
 * from inside a sync_* call).  Any may be NULL.  They must not call
 * sync_free. */
struct sync_callbacks {
	void *arg;
	void (*event)(void *arg, const struct sync_event *ev);
	void (*changed)(void *arg, const struct sync_change *c);
};

/* Tuning; zero means the default for every member. */
struct sync_options {
	const char *store_path;  /* required: the store file (created when absent) */
	unsigned decode_threads; /* CPU threads decoding and hashing (2) */
	unsigned log_window;     /* log objects fetched ahead per database (4) */
	unsigned part_window;    /* checkpoint parts in the pipeline (3) */
	long request_timeout_ms; /* any leader object (60000) */
	int64_t backoff_min_ms;  /* first retry delay (min(poll interval, 1 s)) */
	int64_t backoff_max_ms;  /* longest delay (10 poll intervals, 2 s to 5 min) */
	uint64_t seed;           /* jitter; 0: random */
};

/* ---- life ---- */

/* Returns a new sync on base using fetch (both borrowed: they must outlive
 * it), opening the store at opt->store_path and starting its threads.
 * Nothing is followed until sync_set_conf.  cb is copied. */
int sync_new(struct event_base *base, struct fetch *fetch, const struct sync_options *opt,
             const struct sync_callbacks *cb, struct sync **ret, char *err);

/* Cancels every transfer, waits for the store thread's current task (a
 * checkpoint being applied is rolled back), frees.  NULL is a no-op.  Not
 * from a sync callback. */
void sync_free(struct sync *s);

/* Starts a graceful stop: no new polls or steps, transfers cancelled, queued
 * store work dropped (staged checkpoints aborted); done(arg) is called from
 * the loop when the threads are idle and sync_free will not wait. */
void sync_stop(struct sync *s, void (*done)(void *arg), void *arg);

/* ---- configuration ---- */

/* Follows what c configures (borrowed for the call: what sync keeps is
 * copied).  The first call detaches the databases the store holds that no
 * configuration names any more.  Later calls (SIGHUP) apply the differences:
 * removed configurations are detached, added ones start, changed ones are
 * restarted when their leader, database or local names changed, otherwise
 * updated in place (credentials, poll interval); changed include/exclude
 * lists take effect at the next sync (the database is reloaded with them). */
int sync_set_conf(struct sync *s, const struct conf *c, char *err);

/* ---- driving ---- */

/* Polls every leader now (followerctl sync).  Backoffs are reset. */
void sync_poll_now(struct sync *s);

/* Syncs every configured database once: each leader's head is read, every
 * database brought to the version it names, detached or failed; then
 * done(arg, failed, message) with the number of databases that failed and
 * the first failure's text ("" when none).  No periodic polls or retries
 * happen in this mode.  -EBUSY when a round is already running. */
int sync_once(struct sync *s, void (*done)(void *arg, unsigned failed, const char *message),
              void *arg);

/* ---- status ---- */

struct sync_status {
	const char *database; /* store name */
	const char *attach;   /* the configuration */
	const char *local_name;
	const char *leader; /* root */
	const char *leader_db;
	const char *state;             /* "new", "idle", "log", "checkpoint", "replay", "queued",
	                                  "detaching", "backoff", "absent", "detached" */
	char uuid[PROTO_UUID_LEN + 1]; /* applied uuid, "" before the first version */
	uint64_t applied_version;
	int64_t applied_committed; /* ticks */
	uint64_t leader_version;   /* 0 until the leader's head named it */
	int64_t leader_committed;
	uint64_t lag_versions;
	int64_t lag_ticks;      /* leader commit time - applied commit time, >= 0 */
	const char *last_error; /* NULL when the last step succeeded */
	int64_t retry_in_ms;    /* in backoff: the next attempt is this far away, else 0 */
	int64_t last_step_ms;   /* the last log/checkpoint step that succeeded (fetch, decode,
	                           apply): its wall time; -1 before the first */
};

/* Calls fn for every followed database in name order (borrowed strings, valid
 * for the call).  fn returning non-zero stops the walk and is returned. */
int sync_status(struct sync *s, int (*fn)(void *arg, const struct sync_status *st), void *arg);

/* ---- pure decisions (exported for tests) ---- */

/* What a database must do next. */
enum sync_step {
	SYNC_STEP_NONE,       /* up to date */
	SYNC_STEP_LOG,        /* apply log objects from..to */
	SYNC_STEP_CHECKPOINT, /* load checkpoint, then decide again (the log after it) */
	SYNC_STEP_REPLAY,     /* no checkpoint: rebuild from log 1..to and swap it in at once */
	SYNC_STEP_DETACH,     /* leave the store */
	SYNC_STEP_WAIT,       /* nothing to do until the leader names the database */
};

enum sync_why {
	SYNC_WHY_NONE,
	SYNC_WHY_FIRST,    /* nothing applied yet */
	SYNC_WHY_BEHIND,   /* the leader moved on */
	SYNC_WHY_VACUUMED, /* the log no longer reaches back to applied + 1 */
	SYNC_WHY_REWIND,   /* the leader's version went back, or its commit time changed */
	SYNC_WHY_UUID,     /* the database was recreated or restored: another uuid */
	SYNC_WHY_RESYNC,   /* the follower asked for it (include/exclude lists changed) */
	SYNC_WHY_DROPPED,  /* the database is not in the head */
	SYNC_WHY_DETACHED, /* the leader lists this follower in detached_followers */
};

/* What the follower has (the store's row; uuid "" and applied 0 when none). */
struct sync_have {
	bool stored; /* the store holds the database */
	const char *uuid;
	uint64_t applied;
	int64_t applied_committed;
	bool resync; /* reload even if up to date */
};

struct sync_plan {
	enum sync_step step;
	enum sync_why why;
	uint64_t checkpoint; /* CHECKPOINT: the version to load */
	uint64_t from, to;   /* LOG: versions to apply; REPLAY: 1..to */
	bool warn;           /* a rewind the daemon should warn about */
};

/* Decides from what the follower has and the leader's head entry (NULL when
 * the head does not name the database; detached when it lists this
 * follower).  Never fails: an impossible head was refused by proto. */
void sync_plan(const struct sync_have *have, const struct proto_head_db *head, bool detached,
               struct sync_plan *ret);

/* The delay in ms before retry number attempt (1 = after the first failure):
 * min * 2^(attempt-1) capped at max, then scaled by a jitter factor from
 * [0.5, 1.0) taken from rnd (any 64-bit value).  Never below 1. */
int64_t sync_backoff(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t rnd);

/* A poll delay: interval scaled into [0.9, 1.1) by rnd, never below 1. */
int64_t sync_jitter(int64_t interval_ms, uint64_t rnd);

const char *sync_step_name(enum sync_step step);
const char *sync_why_name(enum sync_why why);

#endif

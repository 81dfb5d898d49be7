/*
 * sync_int — what the files of the sync module share (not for callers).
 *
 * The module is split by job: sync.c (life, configuration, status, once
 * rounds, reports), sync_leader.c (leader roots: request URLs and
 * credentials, head polls, handing heads to databases), sync_db.c (a followed
 * database's state machine: deciding, failing, backing off, detaching, its
 * include filter), sync_log.c (the log and replay steps), sync_ckpt.c (the
 * checkpoint step), sync_task.c (what runs on the worker threads: decoding,
 * hashing and every store write) and sync_work.c (the worker lanes).
 *
 * Threads: everything in struct sync, sync_leader, sync_attach and sync_db
 * belongs to the loop thread.  A task carries copies of what its worker needs
 * (names, bodies, a referenced immutable filter) and its results; the loop
 * reads them in the task's done callback.  A database with tasks in flight
 * is freed only when the last one is back (db->tasks).
 */
#ifndef FOLLOWERD_SYNC_INT_H
#define FOLLOWERD_SYNC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "net/fetch.h"
#include "proto/proto.h"
#include "store/store.h"
#include "sync/sync.h"

struct event;
struct event_base;

/* ---- worker lanes (sync_work.c) ---- */

struct sync_task {
	void (*run)(struct sync_task *t, void *ctx); /* worker thread; ctx: the lane's */
	void (*done)(struct sync_task *t);           /* loop thread, or sync_lane_free's */
	bool cancelled; /* run: only release what the task holds; done: sync is going away */
	struct sync_task *next;
};

struct sync_lane;

/* nthreads threads; ctx is passed to every run (the store lane's store). */
int sync_lane_new(struct event_base *base, unsigned nthreads, void *ctx, struct sync_lane **ret);
void sync_lane_submit(struct sync_lane *l, struct sync_task *t);
/* Tasks not yet started run as cancelled from now on. */
void sync_lane_cancel_queued(struct sync_lane *l);
/* fn(arg) once, from the loop, when nothing is queued, running or undelivered. */
void sync_lane_when_idle(struct sync_lane *l, void (*fn)(void *arg), void *arg);
/* Joins the threads (queued tasks run as cancelled) and calls done (cancelled)
 * for every task not yet handed back.  NULL is a no-op. */
void sync_lane_free(struct sync_lane *l);

/* ---- include filter (sync_db.c) ---- */

/* What a database lets into the store: its attach's include/exclude lists
 * plus the source tables of the materialized views they include.  Shared
 * read-only with worker tasks by reference count (counted on the loop). */
struct sync_filter {
	unsigned refs;
	struct conf_attach *conf; /* owned copy; only its lists are read */
	char **forced;            /* sorted table names */
	size_t nforced;
};

/* A materialized view the database includes, and its source table. */
struct sync_mv {
	char *name;
	char *source;
};

struct sync_mvs {
	struct sync_mv *v;
	size_t n;
};

int sync_filter_new(const struct conf_attach *a, const struct sync_mvs *mvs,
                    struct sync_filter **ret);
struct sync_filter *sync_filter_ref(struct sync_filter *f);
void sync_filter_unref(struct sync_filter *f);
bool sync_filter_forces(const struct sync_filter *f, const char *table);
/* store_include_fn over a struct sync_filter. */
bool sync_filter_include(enum proto_kind kind, const char *name, void *arg);
/* Adds table to the forced set (only while no task uses f); 0 / -ENOMEM. */
int sync_filter_force(struct sync_filter *f, const char *table);

void sync_mvs_clear(struct sync_mvs *m);
/* Sets (source non-NULL) or removes (source NULL) view name. */
int sync_mvs_set(struct sync_mvs *m, const char *name, const char *source);
const char *sync_mvs_source(const struct sync_mvs *m, const char *name);

/* ---- leaders (sync_leader.c) ---- */

struct sync_leader {
	struct sync *s;
	char *root;    /* as configured: the name in reports */
	char *base;    /* URL objects are found under, without a trailing '/' */
	char *account; /* Azure Shared Key: account and its key */
	char *key;
	char *sas; /* Azure SAS token */
	bool azure_key;
	int64_t interval_ms; /* smallest poll interval of the attaches that use it */
	unsigned users;      /* attaches that use it (set_conf recounts) */
	struct event *timer;
	struct fetch_job *job;
	char etag[FETCH_ETAG_MAX];
	char *body; /* the last head accepted, to skip an identical one */
	size_t body_len;
	struct proto_head *head; /* NULL before the first head */
	size_t *order;           /* head->dbs indices sorted by name */
	unsigned fails;
	char *error;                       /* the reported error; NULL when reachable */
	bool once_wanted;                  /* the once round waits for this head */
	bool decoding;                     /* a new head is being decoded on the CPU lane */
	char pending_etag[FETCH_ETAG_MAX]; /* its ETag */
	unsigned tasks;                    /* tasks in flight that point at it */
	bool doomed;                       /* free when tasks reaches 0 */
};

/* A request for an object under the leader's root, with its credentials. */
struct sync_req {
	char url[CONF_MAX_URL + PROTO_MAX_PATH + 4200];
	char h_date[64];
	char h_version[64];
	char h_auth[160];
	const char *headers[4];
};

int sync_leader_new(struct sync *s, const struct conf_attach *a, struct sync_leader **ret,
                    char *err);
/* Frees l now, or once its tasks are back.  NULL is a no-op. */
void sync_leader_free(struct sync_leader *l);
void sync_leader_put(struct sync_leader *l);
/* The indices of h->dbs sorted by name (a new array). */
int sync_head_index(const struct proto_head *h, size_t **ret);
/* True when a would use leader l (same root, same credentials). */
bool sync_leader_matches(const struct sync_leader *l, const struct conf_attach *a);
/* Fills req (url, headers) for path; etag may be NULL.  0 or -EINVAL. */
int sync_leader_request(const struct sync_leader *l, const char *path, const char *etag,
                        struct sync_req *req, struct fetch_request *fr);
/* Polls after delay_ms (0: now); a poll in flight is left alone. */
void sync_leader_schedule(struct sync_leader *l, int64_t delay_ms);
void sync_leader_poll_now(struct sync_leader *l);
/* Gives the leader's head, if any, to its databases again. */
void sync_leader_hand_out(struct sync_leader *l);
/* The leader's head entry of database name (borrowed), or NULL. */
const struct proto_head_db *sync_leader_head_db(const struct sync_leader *l, const char *name);
/* Whether the head lists this follower as detached from d. */
bool sync_leader_detached(const struct sync *s, const struct proto_head_db *d);

/* ---- attaches and databases (sync_db.c) ---- */

struct sync_attach {
	struct conf_attach *conf; /* owned copy */
	struct sync_leader *leader;
	bool star;
	bool seen; /* set_conf: still configured */
};

enum sync_dbstate {
	DB_NEW,
	DB_IDLE,
	DB_LOG,
	DB_CHECKPOINT,
	DB_REPLAY,
	DB_QUEUED,
	DB_DETACHING,
	DB_BACKOFF,
	DB_ABSENT,
	DB_DETACHED,
};

struct sync_run; /* the running log, checkpoint or replay step */
struct stask;

struct sync_db {
	struct sync *s;
	char *name;                 /* store name */
	char *leader_db;            /* at the leader */
	char *local_name;           /* in the views */
	char *root;                 /* the leader root it was attached from */
	struct sync_attach *attach; /* NULL: no configuration names it (detach) */
	struct sync_attach *adopt;  /* takes this name over once it left the store */
	enum sync_dbstate state;
	const char *saved_state; /* the state word last written to the store */
	/* what the store holds (updated from store task results only) */
	bool stored;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t applied;
	int64_t applied_committed;
	struct sync_mvs mvs;  /* included views at the applied version */
	struct sync_mvs hint; /* views a restarted checkpoint load saw late */
	uint64_t reloaded_at; /* the version the last checkpoint or replay landed on */
	bool resync;          /* reload with the current filter at the next sync */
	uint64_t replay_to;   /* a reload replays the log up to here: mvs already knows
	                         the views there, so their sources are let in throughout */
	/* what the leader says */
	bool in_head;
	bool detached_by_leader;
	struct proto_head_db head;     /* scalars and uuid only (name NULL) */
	uint64_t saved_leader_version; /* last written with store_db_set_poll */
	/* the running step */
	unsigned gen; /* bumped when a step is abandoned: stale results are dropped */
	struct sync_plan plan;
	char plan_uuid[PROTO_UUID_LEN + 1];  /* the head's uuid when the step started */
	bool warned;                         /* the rewind of this plan was reported */
	char detach_why[CONF_MAX_NAME + 64]; /* the reason the running detach reports */
	struct sync_run *step;
	bool store_busy;     /* a step's store task is in flight */
	unsigned tasks;      /* tasks in flight that point at this database */
	bool doomed;         /* free when tasks reaches 0 */
	struct event *timer; /* fires at next, or at deadline while a step runs */
	int64_t next;        /* monotonic ms of the next decision, 0: none planned */
	int64_t deadline;    /* monotonic ms by which the running step must progress */
	int64_t step_start;  /* monotonic ms the running log/checkpoint step started */
	int64_t step_ms;     /* how long the last such step that succeeded took, -1: none */
	unsigned fails;
	char *error; /* the last error reported (and stored); NULL: none */
	/* once round */
	bool once_wanted, once_failed;
};

int sync_db_new(struct sync *s, const char *name, const char *root, const char *leader_db,
                const char *local_name, struct sync_db **ret);
/* A task in flight points at db: get when it is made, put when it is freed
 * (the last put of a released database frees it). */
void sync_db_get(struct sync_db *db);
void sync_db_put(struct sync_db *db);
/* Cancels its work and frees it now or, with tasks in flight, when they are
 * back.  Removes it from s->dbs. */
void sync_db_release(struct sync_db *db);
/* Decides and starts the next step on the next loop turn. */
void sync_db_kick(struct sync_db *db);
/* The leader's head changed or was read (h NULL: not named). */
void sync_db_head(struct sync_db *db, const struct proto_head_db *h, bool detached);
/* The head could not be read: the database shares the leader's error. */
void sync_db_leader_failed(struct sync_db *db, int r, const char *url, const char *msg);
void sync_db_leader_ok(struct sync_db *db);
/* The running step ended: r 0 (decide again) or a failure to report. */
void sync_db_step_done(struct sync_db *db, int r, const char *url, const char *msg);
/* The running step moved forward: its deadline moves with it. */
void sync_db_progress(struct sync_db *db);
/* Abandons the running step (cancels its transfers, drops its results). */
void sync_db_abandon(struct sync_db *db);
void sync_db_set_state(struct sync_db *db, enum sync_dbstate st);
const char *sync_dbstate_name(enum sync_dbstate st);
/* A new filter for the database: its attach's lists and its views' sources. */
int sync_db_filter(struct sync_db *db, struct sync_filter **ret);
/* A store task applied a version (commit, checkpoint or replay): mirror it,
 * report it, tell the cache.  Takes t's summary and views. */
void sync_db_applied(struct sync_db *db, struct stask *t, bool checkpoint);
int sync_mvs_copy(struct sync_mvs *dst, const struct sync_mvs *src);
/* Reports and counts a database in the once round as finished. */
void sync_db_once_finished(struct sync_db *db, bool failed, const char *msg);

/* ---- steps (sync_log.c, sync_ckpt.c) ---- */

struct sync_run {
	enum sync_step kind;
	void (*free)(struct sync_run *st); /* cancels transfers; releases what it holds */
};

int sync_log_start(struct sync_db *db, bool replay);
int sync_ckpt_start(struct sync_db *db);
/* The next database waiting for the checkpoint slot, if any, starts. */
void sync_ckpt_slot_freed(struct sync *s);

/* ---- tasks (sync_task.c) ---- */

/* A store write.  The task owns every input (copies) and output. */
enum stask_kind {
	STK_ENSURE,    /* the database's row exists */
	STK_STATE,     /* state word */
	STK_ERROR,     /* last error (text NULL: clear) */
	STK_POLL,      /* leader version seen */
	STK_CONFIG,    /* config json put (text NULL: delete) */
	STK_APPLY,     /* ensure the row, apply commit */
	STK_CK_BEGIN,  /* ensure the row, begin checkpoint */
	STK_CK_FEED,   /* feed records (freed after) */
	STK_CK_FINISH, /* finish: summary */
	STK_CK_ABORT,  /* abort */
	STK_REPLAY,    /* ensure the row, rebuild from commits, swap in */
	STK_DETACH,    /* detach (absent is fine) */
};

struct stask {
	struct sync_task t;
	enum stask_kind kind;
	struct sync *s;
	struct sync_db *db; /* NULL for status writes (fire and forget) */
	unsigned gen;
	char *name;                          /* store name */
	char *root, *leader_db, *local_name; /* ensure the row */
	char *text;
	uint64_t version;
	int64_t when, committed;
	struct sync_filter *filter;    /* referenced */
	struct proto_commit *commit;   /* APPLY */
	struct proto_commit **commits; /* REPLAY */
	size_t ncommits;
	struct proto_manifest *manifest; /* CK_BEGIN (kept by the step) */
	struct store_ckpt *ck;           /* CK_*: in and out */
	struct proto_action *recs;       /* CK_FEED */
	size_t nrecs;
	/* results */
	int r;
	char err[STORE_ERRLEN];
	struct store_summary sum;
	struct sync_mvs mvs; /* REPLAY: the views of the rebuilt state */
	char uuid[PROTO_UUID_LEN + 1];
	bool created;                     /* the row was added */
	bool resync_after;                /* APPLY: the views' sources changed: reload after it */
	void (*on_done)(struct stask *t); /* loop: after the generic bookkeeping */
	void *arg;
};

/* A new store task of kind for db (may be NULL); copies name. */
struct stask *sync_stask_new(struct sync *s, enum stask_kind kind, struct sync_db *db);
void sync_stask_submit(struct stask *t);
void sync_stask_free(struct stask *t);
/* Fire-and-forget status writes. */
void sync_store_state(struct sync *s, const char *name, const char *state);
void sync_store_error(struct sync *s, const char *name, const char *error);
void sync_store_poll(struct sync *s, const char *name, uint64_t version, int64_t committed);
void sync_store_config(struct sync *s, const char *name, const char *json);
void sync_store_ensure(struct sync *s, const struct sync_db *db);

/* Decoding on the CPU lane. */
enum dtask_kind {
	DTK_HEAD,
	DTK_COMMIT,
	DTK_MANIFEST,
	DTK_PART,
};

struct dtask {
	struct sync_task t;
	enum dtask_kind kind;
	struct sync_db *db;         /* or: */
	struct sync_leader *leader; /* HEAD */
	unsigned gen;
	uint64_t index; /* version (commit) or part number */
	char *body;
	size_t len;
	char *url; /* redacted */
	/* expectations */
	char uuid[PROTO_UUID_LEN + 1];
	char *database;
	uint64_t version;
	uint64_t size, records; /* PART */
	char sha256[PROTO_SHA256_LEN + 1];
	/* results */
	int r;
	char err[PROTO_ERRLEN + 128];
	struct proto_head *head; /* HEAD, with order; the body is kept */
	size_t *order;
	struct proto_commit *commit;
	struct proto_manifest *manifest;
	struct proto_action *recs;
	size_t nrecs;
	void (*on_done)(struct dtask *t);
	void *arg;
};

struct dtask *sync_dtask_new(struct sync_db *db, enum dtask_kind kind, const char *url, char *body,
                             size_t len);
/* A head to decode for l; takes body (on success only). */
struct dtask *sync_dtask_new_head(struct sync_leader *l, const char *url, char *body, size_t len);
/* A new task of kind decoding the body of res, fetched for db's step; NULL
 * when the fetch failed or memory ran out, the step then done with that. */
struct dtask *sync_dtask_fetched(struct sync_db *db, enum dtask_kind kind,
                                 struct fetch_result *res);
void sync_dtask_submit(struct dtask *t);
/* Ends the step of t's database with t's decoding failure (out of memory
 * stays, anything else is -EBADMSG) and frees t. */
void sync_dtask_fail(struct dtask *t);
void sync_dtask_free(struct dtask *t);
void sync_actions_free(struct proto_action *v, size_t n);

/* ---- the engine (sync.c) ---- */

struct sync {
	struct event_base *base;
	struct fetch *fetch;
	struct sync_options opt;
	struct sync_callbacks cb;
	struct store *store; /* owned by the store lane's thread once started */
	struct sync_lane *store_lane;
	struct sync_lane *cpu_lane;
	char *follower_name;
	int64_t poll_ms; /* the daemon's poll interval */
	bool configured; /* sync_set_conf ran once */
	bool stopping;
	bool freeing;
	void (*stop_done)(void *arg);
	void *stop_arg;
	unsigned stop_wait;
	uint64_t rnd; /* xorshift state */
	struct sync_leader **leaders;
	size_t nleaders;
	struct sync_attach **attaches;
	size_t nattaches;
	struct sync_db **dbs; /* sorted by name */
	size_t ndbs;
	struct sync_db *ck_owner; /* the database loading a checkpoint */
	/* stored attach configurations at start: name -> json */
	char **saved_names, **saved_json;
	size_t nsaved;
	/* once round */
	bool once;
	unsigned once_left, once_failed;
	char once_msg[SYNC_ERRLEN];
	void (*once_done)(void *arg, unsigned failed, const char *message);
	void *once_arg;
	struct event *once_ev;
};

uint64_t sync_random(struct sync *s);
/* Monotonic milliseconds. */
int64_t sync_now_ms(void);
void sync_emit(struct sync *s, const struct sync_event *ev);
void sync_changed(struct sync *s, const struct sync_change *c);
struct sync_db *sync_find_db(const struct sync *s, const char *name);
int sync_add_db(struct sync *s, struct sync_db *db);
void sync_remove_db(struct sync *s, struct sync_db *db);
/* Retry delays of the leader or database with this poll interval. */
int64_t sync_backoff_ms(const struct sync *s, int64_t interval_ms, unsigned attempt);
/* Checks whether the once round is complete (on the next loop turn). */
void sync_once_check(struct sync *s);
int64_t sync_attach_interval_ms(const struct sync *s, const struct conf_attach *a);

#endif

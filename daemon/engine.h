/*
 * engine — the seam between the process shell (daemon/) and the sync engine.
 *
 * The daemon drives whatever implements struct engine_ops below; the one
 * engine is engine_sync (engine_sync.c), over lib/sync (poll the leaders,
 * apply versions to the store) and lib/warm (keep the cache warm).  The
 * seam keeps the process shell (signals, sd_notify, reload, HTTP) apart
 * from the engine's modules.
 *
 * The engine does not log (lib/ never does): it reports what happened as a
 * struct engine_report, and engine_report_log() turns that into one journal
 * record with the right MESSAGE_ID, priority and fields, logged on change
 * where a failure repeats every poll.
 *
 * Threading: everything here runs on the daemon's one event loop.  The
 * engine calls the engine_events callbacks only from its own loop callbacks,
 * never from inside start/reload/stop (so the daemon is never re-entered).
 */
#ifndef FOLLOWERD_ENGINE_H
#define FOLLOWERD_ENGINE_H

#include <stddef.h>
#include <stdint.h>

struct conf; /* lib/conf/conf.h */
struct event_base;
struct log_memo;
struct sync;
struct warm;
struct qsync;

enum engine_mode {
	ENGINE_RUN,  /* follow the leaders until stopped */
	ENGINE_ONCE, /* sync every configured database once, then call done() */
};

/* What happened; each kind is logged with its own MESSAGE_ID (log.h). */
enum engine_report_kind {
	ENGINE_VERSION_APPLIED,      /* info */
	ENGINE_DATABASE_ATTACHED,    /* notice */
	ENGINE_DATABASE_DETACHED,    /* notice */
	ENGINE_LEADER_UNREACHABLE,   /* warning, logged when the reason changes */
	ENGINE_LEADER_REACHABLE,     /* notice, logged only after UNREACHABLE */
	ENGINE_ARTIFACT_QUARANTINED, /* warning, every time */
	ENGINE_DISK_FULL,            /* err, logged when the reason changes */
	ENGINE_DISK_RECOVERED,       /* notice, logged only after DISK_FULL */
	ENGINE_DATABASE_REWOUND,     /* warning: the leader rewound or recreated it */
	ENGINE_SYNC_FAILED,          /* warning, logged when the reason changes */
	ENGINE_SYNC_RECOVERED,       /* notice, logged only after SYNC_FAILED */
};

/* One event.  Strings are borrowed for the call; NULL / 0 means "not
 * applicable" and the field is left out.  URLs may carry secrets: they are
 * redacted when logged, never pre-redact them. */
struct engine_report {
	enum engine_report_kind kind;
	const char *database;        /* the store's name: the message's prefix, memo keys */
	const char *local_name;      /* FOLLOWER_DATABASE= (NULL: database) */
	const char *leader;          /* LEADER= (the leader's root URL) */
	uint64_t leader_version;     /* LEADER_VERSION= */
	uint64_t applied_version;    /* APPLIED_VERSION= */
	const char *extent_id;       /* EXTENT_ID= */
	const char *artifact_sha256; /* ARTIFACT_SHA256= */
	const char *url;             /* URL= (the object that failed) */
	int error;                   /* ERRNO= (negative errno), 0 = none */
	const char *detail;          /* one line of why, for the message */
};

/* How the engine talks back to the daemon.  arg is passed to every call. */
struct engine_events {
	void *arg;
	/* The engine serves: store open, listeners bound.  Sends READY=1. */
	void (*ready)(void *arg);
	/* A one-line human status ("following 3 databases, 1 behind"); STATUS=. */
	void (*status)(void *arg, const char *line);
	/* Something worth a log record happened. */
	void (*report)(void *arg, const struct engine_report *r);
	/* The engine has finished: after stop(), or at the end of ENGINE_ONCE, or
	 * on a fatal error (status < 0, with err text).  The daemon then exits
	 * its loop and calls free(). */
	void (*done)(void *arg, int status, const char *err);
};

/* An engine is a void * handle made by start() and passed back to the other
 * operations: each implementation keeps its own state type behind it. */
struct engine_ops {
	const char *name;
	/* Starts the engine on base for conf in mode.  conf is borrowed until a
	 * later reload() succeeds or free(); events is copied.  Opening the store
	 * and binding listeners may happen here or later on the loop; ready() says
	 * when they are done.  0, or a negative errno with err filled (*ret
	 * untouched). */
	int (*start)(struct event_base *base, const struct conf *conf, enum engine_mode mode,
	             const struct engine_events *events, void **ret, char *err, size_t errlen);
	/* Switches to conf (borrowed as above) without blocking the loop.  On 0
	 * the daemon frees the previous conf, so the engine must hold nothing of
	 * it; on failure (negative errno, err filled) the engine keeps running
	 * with the previous conf, untouched. */
	int (*reload)(void *engine, const struct conf *conf, char *err, size_t errlen);
	/* Begins a graceful stop: cancel transfers, finish or roll back the
	 * current transaction, close listeners; then done(0) from the loop.
	 * Called at most once.  The daemon exits anyway after its deadline. */
	void (*stop)(void *engine);
	/* Frees the engine after the loop has ended; NULL is a no-op. */
	void (*free)(void *engine);
	/* Polls every leader now, backoffs reset (followerctl sync); 0, or a
	 * negative errno (-EAGAIN while stopping).  NULL: not supported. */
	int (*poll_now)(void *engine);
	/* The engine's cache warmer (lib/warm), borrowed; NULL when it has none. */
	struct warm *(*warm)(void *engine);
	/* The engine's query-store follower (lib/cache/qsync), borrowed; NULL
	 * when it has none. */
	struct qsync *(*qsync)(void *engine);
	/* The engine's sync (lib/sync), borrowed; NULL when it has none. */
	struct sync *(*sync)(void *engine);
};

/* The engine over lib/sync (engine_sync.c). */
extern const struct engine_ops engine_sync;

/* Logs r once with its MESSAGE_ID, priority and fields; repeated failures
 * (LEADER_UNREACHABLE, DISK_FULL) only when their detail changes, their
 * recoveries only after a failure (memo borrowed). */
void engine_report_log(struct log_memo *memo, const struct engine_report *r);

#endif

/*
 * query_int — what query.c (the loop's side: requests, streaming) and
 * query_run.c (the workers' side: compile, views, execute) share.
 */
#ifndef FOLLOWERD_QUERY_INT_H
#define FOLLOWERD_QUERY_INT_H

#include <pthread.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "proto/proto.h"
#include "query.h"
#include "query/kframe.h"
#include "query/kql_arena.h"
#include "query/kql_exec.h"
#include "query/kreq.h"

struct event;
struct qrt_batch;
struct qx_cache;
struct conf_attach;
struct qsess;
struct qsync;
struct store;
struct warm;

/* A piece of encoded answer waiting for the loop. */
struct chunk {
	struct chunk *next;
	size_t len;
	char data[];
};

#define QUERY_FOREIGN_MAX 16 /* other databases one query may name */

/* Another database a query reads (database("name").T), the caller allowed. */
struct foreign {
	char name[256], config[256];
	int64_t id;
};

struct job {
	struct query *q;
	struct job *next;       /* the queue, or the done list */
	struct http_wait *wait; /* NULL once the client went away or the reply ended */
	struct event *drain;    /* the loop: retries while the socket is full */
	struct kreq req;
	enum kframe_shape shape;
	char config[256], db[256];
	int64_t db_id;
	char request_id[128], activity_id[37];
	int64_t deadline;         /* ticks */
	struct kql_budget budget; /* query_max_memory: the engine's counters (atomics) */
	struct foreign foreign[QUERY_FOREIGN_MAX];
	size_t nforeign;
	/* under q->mu */
	struct chunk *head, *tail;
	size_t queued;
	bool cancel, done, notified, started;
	bool last;        /* the worker's: what query_emit gets now is the answer's end */
	bool gone;        /* the client went away: nothing more is sent */
	int status;       /* != 0: an error answer before any output */
	char *error_json; /* its body */
	/* the query log (query_log.c), under q->mu */
	struct query_info rec;
	uint64_t rows_now;                 /* rows encoded so far (atomic: the worker's) */
	struct job *live_prev, *live_next; /* q->live while it runs */
	bool live;
	char cancel_why[256]; /* the reason its client is told */
};

/* An idle read-only connection to a query store (query_pool.c): the
 * store at path attached as "q", mapped; path's device and inode when it
 * was opened. */
struct qpool_conn {
	sqlite3 *db;
	char *path;
	dev_t dev;
	ino_t ino;
};

#define QUERY_POOL_MAX 4 /* idle connections kept: the partitions of two queries */
/* PRAGMA mmap_size of a kept connection's q; SQLite caps it at its build's
 * SQLITE_MAX_MMAP_SIZE (Debian: ~2 GiB), pages beyond are read as before */
#define QUERY_MMAP_BYTES "1099511627776"

struct query {
	struct event_base *base;
	struct qsync *qsync; /* borrowed: NULL when there is none */
	char *store_path, *cache_dir;
	pthread_t threads[QUERY_WORKERS];
	size_t nthreads;
	uint64_t max_memory; /* query_max_memory (the loop's) */
	pthread_mutex_t mu;
	pthread_cond_t work, space; /* a job queued; room in a job's queue */
	size_t helpers;             /* extra threads of parallel scans (query_par.c) */
	struct job *queue, *queue_last, *done;
	size_t queued;
	size_t running;    /* jobs on a worker */
	uint64_t finished; /* jobs done since query_new */
	bool stop;
	int efd;
	struct event *efd_ev;
	/* the query log (query_log.c), under mu */
	struct job *live;           /* running (or waiting) queries, newest first */
	struct query_wait *waiting; /* waiting at the front door, newest first */
	bool wait_cancels;          /* one of them was cancelled: the loop answers it */
	struct query_info *log;     /* a ring of QUERY_LOG_MAX ended ones */
	size_t log_head, log_n, log_text;
	/* query_readthru.c: the warmer (the loop's; NULL: no read-through),
	 * the bound, batches for the loop and the counts, under mu */
	struct warm *warm;
	bool can_readthru;
	uint64_t readthru_max;
	struct qrt_batch *rt_posted;
	pthread_cond_t rt_cond; /* a batch's demand ended */
	struct http_query_totals totals;
	struct qx_cache *xcache;       /* query_extents.h */
	struct conf_attach **attaches; /* copies, under mu: the follower's overrides */
	size_t nattaches;
	int rt_efd;
	struct event *rt_ev;
	struct qpool_conn pool[QUERY_POOL_MAX]; /* query_pool.c, under mu */
	size_t npool;
};

/* ---- query_run.c: on a worker, with its own store handle ---- */

/* Runs j: its answer goes through query_emit, its end through query_finish.
 * *store (the worker's read-only state store handle) is opened when NULL;
 * sess (query_sess.h, the worker's) is used and kept for the next query. */
void query_run(struct job *j, struct store **store, struct qsess *sess);
/* Drops s's connection when its query store was removed or replaced. */
void query_sess_tidy(const struct query *q, struct qsess *s);

/* ---- query_pool.c: idle connections to the query stores ---- */

/* A connection with the store at path attached as "q" (mmap on) into
 * *ret, an idle one when there is one; the caller sets its functions,
 * bounds and handlers.  0, or -errno. */
int query_pool_get(struct query *q, const char *path, struct qpool_conn *ret);

/* Gives c back to the pool when it can be cleaned (its transaction rolled
 * back, its temp views dropped) and there is room; closes it otherwise.
 * c is emptied. */
void query_pool_put(struct query *q, struct qpool_conn *c);

/* Closes c's connection; c is emptied. */
void query_pool_close(struct qpool_conn *c);
/* Closes the idle connections to query stores removed or replaced since
 * they opened them (a detached database's file is freed only once no
 * descriptor holds it). */
void query_pool_tidy(struct query *q);

/* Closes every idle connection (query_free, the workers joined). */
void query_pool_free(struct query *q);

/* ---- query_view.c: SQL text of our own over the query store ---- */

/* CREATE TEMP VIEW "view" AS SELECT c0 AS "A", ... FROM alias.<sqlname>
 * WHERE the rowid ranges of the sorted eids (runs merged; when db is not
 * NULL, also across eids with no row of the table in db's snapshot, which
 * the view must then be read in), for table e of the query store attached
 * as alias; stored is false when the query store has no rows of e
 * (nothing loaded yet): then typed NULLs and no row.  With ingested (the
 * ingestion time of each eid's rows, or NULL) the view also has the
 * column KQL_INGEST_COLUMN (lib/query/kql_plan.h), each row's by its
 * rowid.  A new malloc'd string, NULL on ENOMEM. */
char *query_view_sql(sqlite3 *db, const struct proto_entity *e, const char *view, const char *alias,
                     const char *sqlname, const int64_t *eids, const int64_t *ingested,
                     size_t neids, bool stored);
/* DROP VIEW IF EXISTS temp."view"; new, NULL on ENOMEM. */
char *query_view_drop_sql(const char *view);
/* file:PATH?mode=ro, the path percent-encoded where a URI needs it; new,
 * NULL on ENOMEM. */
char *query_ro_uri(const char *path);
/* Attaches the query store at path to db, read-only, as alias (a name of
 * ours, never a query's).  0, -ENOMEM or -EIO. */
int query_attach_ro(sqlite3 *db, const char *path, const char *alias);

/* ---- query_par.c: parallel scans ---- */

/* A stored table as the coordinator's view reads it: its loaded extents
 * in the coordinator's snapshot. */
struct qtable {
	const struct proto_entity *ent; /* borrowed */
	char sqlname[32];               /* d<tid> */
	int64_t tid;
	int64_t *eids; /* sorted, owned */
	size_t neids;
	uint64_t rows; /* q.qextents.rows of eids, summed: the rows of the view */
};

/* A prepared query, as a parallel scan sees it. */
struct qpar_ctx {
	struct job *j;
	sqlite3 *db; /* the coordinator's connection, in its read transaction */
	struct kql_arena *arena;
	const struct qtable *tables;
	size_t ntables;
	struct kql_budget *budget; /* what db's aggregates count against */
};

/* Runs p with its summarize split across the scanned tables' extents (a
 * connection and a thread each, when a core is free) and merged on c->db.
 * 0; row's non-zero return; -EINVAL with err; -EAGAIN when p is not run
 * this way (nothing emitted: the caller runs it whole). */
int query_par_run(const struct qpar_ctx *c, const struct kql_plan *p, int64_t now, kql_row_fn *row,
                  void *arg, struct kql_error *err);

/* ---- query_count.c: a bare count from the query store's catalogue ---- */

/* Answers p from c's tables' row counts when p counts the rows of a stored
 * table with nothing that drops rows in between (count, summarize count()
 * over scan and projects): one row to row.  0, row's non-zero return, or
 * -EAGAIN when p is not such a count (the caller runs it). */
int query_count_run(const struct qpar_ctx *c, const struct kql_plan *p, kql_row_fn *row, void *arg);

/* ---- query.c ---- */

/* Appends len bytes of answer (the worker); waits while QUERY_QUEUE_BYTES
 * wait already.  0, or -ECANCELED when the query is cancelled. */
int query_emit(struct job *j, const char *buf, size_t len);
/* The worker is done with j: an error answer (status != 0, body stolen)
 * when nothing was emitted, or the end of the streamed one. */
void query_finish(struct job *j, int status, char *error_json);
/* Whether j was cancelled (a client gone, daemon stopping). */
bool query_cancelled(struct job *j);

/* ---- query_log.c ---- */

/* Records j as running (the loop, once j is filled): who, what, when;
 * app is the request's x-ms-app (may be NULL). */
void query_log_start(struct job *j, const char *user, const char *app);
/* j ended (its text moves to the log); called with q->mu held.  The state
 * follows from j: cancelled, an error (error_json's @message), a failure
 * noted by query_note, or completed. */
void query_log_end_locked(struct job *j, const char *error_json);
/* Records r (copied) as ended: a query refused before it became a job. */
void query_log_refused(struct query *q, const struct query_info *r);
/* j ended before it ran: throttled, or dropped (daemon stopping). */
void query_log_drop(struct job *j, enum query_state state, const char *reason);
/* The worker: the rows answered, and the failure the answer carries
 * (NULL: none) once the run ends. */
void query_note(struct job *j, uint64_t rows, const char *failure);
/* Cancels j (q->mu held) with why. */
void query_cancel_locked(struct job *j, const char *why);
/* Why j was cancelled, into buf. */
void query_cancel_reason(struct job *j, char *buf, size_t len);
void query_log_free(struct query *q);
/* The loop (after an eventfd wake): answers the queued requests that
 * .cancel query cancelled. */
void query_wait_cancelled(struct query *q);

/* ---- query.c ---- */

/* The record of a query request (req borrowed) that has not run: its
 * request id, database, principal, application and text (a new string
 * into r->text).  0, or -EINVAL when the body is no query request. */
int query_info_of_request(struct evhttp_request *req, const struct auth_principal *who,
                          struct query_info *r);

/* A Kusto error body: {"error":{code, message, @type, @message, ...}}. */
char *query_error_json(const char *code, const char *type, const char *errcode, const char *message,
                       const struct job *j);

#endif

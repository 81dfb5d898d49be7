/*
 * query — KQL queries of the running daemon: POST /v1/rest/query and
 * /v2/rest/query (docs/HTTP.md), answered in Kusto's v1 or v2 form.
 *
 * On the loop: the request body (lib/query/kreq), the database and whether
 * the caller may read its data (users, viewers and admins of its effective
 * principals; monitors may not).  On query's worker threads: the query is
 * compiled (lib/query: parse, bind against the state store's schema of the
 * database, plan) and run by the embedded engine on an in-memory SQLite
 * connection that attaches the database's query store read-only, with one
 * view per table restricted to the rowid ranges of the visible version's
 * loaded extents, so the answer is exactly one version; the rows are
 * encoded (lib/query/kframe) as they come and handed to the loop, which
 * streams them (at most QUERY_QUEUE_BYTES wait per query: a slow client
 * slows its own query, nothing else).  servertimeout and a client that goes
 * away stop the engine (a progress handler).
 *
 * The running and recent queries (the last QUERY_LOG_MAX, at most
 * QUERY_LOG_BYTES of their text) are kept for .show queries: who ran what,
 * when, how long, how it ended and how many rows it answered; a running one
 * can be cancelled (.cancel query) as a client that goes away cancels its
 * own.  Workers update a query's record under the context's mutex, readers
 * (the management worker) take a copy.
 *
 * Extents whose artifacts are cached but not loaded yet (a commit just
 * applied) are waited for: the query asks qsync (borrowed, may be NULL) for
 * a pass.  Extents whose column statistics (or created-on, for
 * ingestion_time()) rule out the query's filters are skipped first
 * (lib/query/kql_skip; query_extents.h keeps
 * the walk cheap); the others not cached (cold, or warming) are read
 * through for the query (query_readthru.h), within
 * query_readthru_max_size, unless query_datascope = hotcache, which reads
 * the hot extents that are loaded (query_policy) and reports what it
 * skipped.  Extents that are not
 * queryable (no data format, rows that do not parse) are left out.
 */
#ifndef FOLLOWERD_QUERY_H
#define FOLLOWERD_QUERY_H

#include "http.h"

#define QUERY_WORKERS 2
#define QUERY_NICE 5                        /* the workers' nice, relative to the loop's */
#define QUERY_QUEUE_BYTES ((size_t)4 << 20) /* encoded bytes waiting for the loop */
#define QUERY_QUEUE_MAX 256                 /* jobs waiting for a worker (503 past it) */
#define QUERY_LOG_MAX 1000                  /* recent queries kept for .show queries */
#define QUERY_LOG_BYTES ((size_t)16 << 20)  /* ... and at most this much of their text */
#define QUERY_TEXT_MAX ((size_t)64 << 10)   /* a query's text kept (ADX cuts at 64 KB) */
#define QUERY_ID_MAX 128                    /* bytes of a client request id */

struct event_base;
struct conf;
struct policy;
struct query;
struct store;
struct store_entity;
struct warm;

enum query_state {
	QUERY_IN_PROGRESS,
	QUERY_COMPLETED,
	QUERY_FAILED,
	QUERY_CANCELLED,
	QUERY_THROTTLED,
	QUERY_QUEUED, /* waiting at the front door for a max_concurrent_queries slot */
};

/* What .show queries shows of one query. */
struct query_info {
	char request_id[QUERY_ID_MAX]; /* x-ms-client-request-id ("" when none) */
	char activity_id[37];          /* x-ms-activity-id of the answer */
	char db[256];                  /* the database's local name */
	char user[AUTH_FQN_MAX + 1];   /* the caller's principal ("" anonymous) */
	char app[128];                 /* x-ms-app */
	char *text;                    /* owned: at most QUERY_TEXT_MAX bytes */
	int64_t started, ended;        /* ticks; ended is 0 while it runs */
	enum query_state state;
	uint64_t rows;     /* result rows answered (so far, while it runs) */
	uint64_t mem_peak; /* bytes counted against query_max_memory */
	char reason[512];  /* why it failed or was cancelled, else "" */
};

/* Starts the workers (each with its own read-only store handle on
 * store_path, opened lazily) over the query stores in cache_dir (copied).
 * 0, or a negative errno with err filled. */
int query_new(struct event_base *base, const char *store_path, const char *cache_dir,
              struct qsync *qsync, struct query **ret, char *err, size_t errlen);

/* Cancels every query, joins the workers, answers nothing more.  NULL ok. */
void query_free(struct query *q);

/* query_max_memory for the queries that arrive from now on (the loop). */
void query_set_max_memory(struct query *q, uint64_t bytes);

/* Queries on a worker, waiting for one, and done since query_new. */
void query_counts(struct query *q, uint64_t *running, uint64_t *queued, uint64_t *finished);

/* The throttled hook of http: records a query refused at the front door
 * (429) as Throttled, with its request id, text and database (req's body,
 * borrowed).  The loop. */
void query_throttled(struct query *q, struct evhttp_request *req, const struct auth_principal *who);

struct query_wait;

/* The queued hook of http: a query request (req borrowed for the call: its
 * body and headers are read now) waits at the front door for a
 * max_concurrent_queries slot.  It is listed by .show queries as Queued
 * until query_wait_end; .cancel query of its request id makes
 * on_cancel(arg, why) run on the loop, after which the record is ended
 * (Cancelled) and must not be passed to query_wait_end.  NULL when the body
 * is no query request or memory is short (the request is then not listed).
 * The loop. */
struct query_wait *query_wait_start(struct query *q, struct evhttp_request *req,
                                    const struct auth_principal *who,
                                    void (*on_cancel)(void *arg, const char *why), void *arg);

/* The request leaves the queue: admitted or refused (gone_reason NULL: not
 * logged here; a refused one is logged by query_throttled), or its client
 * went away (logged Cancelled with gone_reason).  True when a .cancel query
 * came first (its reason in why): the caller answers it as cancelled.  NULL
 * w is a no-op (false).  The loop. */
bool query_wait_end(struct query_wait *w, const char *gone_reason, char *why, size_t len);

/* The hook of http: takes call->wait over. */
void query_request(struct query *q, const struct http_kusto_call *call);

/* "InProgress", "Completed", "Failed", "Cancelled", "Throttled", "Queued". */
const char *query_state_name(enum query_state s);

/* A copy of the running queries, then the recent ones, newest first, into
 * *ret (free with query_list_free).  0 or -ENOMEM.  Any thread. */
int query_list(struct query *q, struct query_info **ret, size_t *ret_n);
void query_list_free(struct query_info *v, size_t n);

/* Cancels the running or queued query whose request id is id, as a client
 * going away does, with why (copied) as the reason its client is told.  0,
 * or -ENOENT when no query with that id runs or waits.  Any thread. */
int query_cancel(struct query *q, const char *id, const char *why);

/* The warmer that reads cold extents through for queries (borrowed, must
 * outlive q; NULL: none, a query that needs them is refused) and, from
 * conf (borrowed for the call), the bound on the bytes one query may read
 * through (query_readthru_max_size) and the attaches' caching overrides
 * (which extents are hot, for query_datascope=hotcache).  On the loop;
 * again at each reload.  NULL q is a no-op. */
void query_set_conf(struct query *q, struct warm *w, const struct conf *conf);

/* The effective caching policy of table in database config (store name)
 * for a query: the leader's policies from s (the worker's snapshot), the
 * follower's overrides from q's attaches.  0 and a new policy (free with
 * policy_free), or a negative errno. */
int query_policy(struct query *q, struct store *s, const char *config,
                 const struct store_entity *table, struct policy **ret);

/* The counts since query_new (extents skipped, read through) into *ret. */
void query_totals(struct query *q, struct http_query_totals *ret);

#endif

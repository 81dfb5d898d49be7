/*
 * http — followerd's HTTP endpoint on the daemon's event loop (evhttp).
 *
 * Serves the read-only views (lib/views) of the followed databases, their
 * artifacts from the cache (sendfile, Range, ETag), /metrics (Prometheus
 * text) and /healthz, to callers identified and authorized by lib/auth:
 *
 *   GET /v1/databases                              the databases the caller may see
 *   GET /v1/databases/{db}                         one database: versions, lag, state
 *   GET /v1/databases/{db}/tables[/{t}]            schema (also external_tables,
 *                                                  materialized_views)
 *   GET /v1/databases/{db}/extents?table=&from=&to=&cursor=&limit=
 *   GET /v1/databases/{db}/policies | principals | history?limit= | cache
 *   GET /v1/databases/{db}/extents/{id}/artifacts/{name}
 *   GET /v1/artifacts/{sha256}
 *   GET /metrics, GET /healthz
 *   POST /v1/admin/sync                            poll every leader now (hooks.sync_now;
 *                                                  the superuser or an admin of every
 *                                                  followed database)
 *   POST /v1/admin/warm {"database"[,"table"]}     fetch the database's hot set now
 *                                                  (hooks.warm; an admin of it); the
 *                                                  progress: GET .../cache's "warming"
 *   GET /v1/admin/attachments, PUT|DELETE /v1/admin/attachments/{name}
 *                                                  (hooks.attachments; authorized as
 *                                                  /v1/admin/sync)
 *   POST /v1/rest/mgmt, GET /v1/rest/auth/metadata  (the Kusto surface: a hook)
 *
 * Listeners: the `listen` addresses (TCP, HTTPS with tls_cert/tls_key, or
 * unix:/path) and the admin Unix socket (admin_socket, mode 0660), or the
 * sockets systemd passes (sd_listen_fds: one named "admin" is the admin
 * socket, any other replaces `listen`).  All are bound by http_new, so the
 * daemon says READY=1 only once they are.
 *
 * Limits: headers 16 KiB (431), bodies 1 MiB (413), every method parsed and
 * the wrong ones answered 405; the front door (http_door.h) caps
 * connections and requests in flight per client address and principal,
 * makes room at max_connections by closing the idle first, runs three
 * clocks per connection (header_timeout: a client trickling its head a byte
 * a second is cut off, evhttp's own timeouts only bound idle gaps;
 * keepalive_timeout; request_timeout) and holds the query endpoints to
 * max_concurrent_queries (429 in Kusto's shape past it).
 *
 * Every request gets exactly one reply; errors are JSON
 * {"error":{"code","message"}} with their status.
 *
 * Views run on the loop, one read-only SQLite snapshot per request: each is
 * bounded (a page of at most 1,000 extents) but /cache and a /v1/artifacts
 * lookup by a caller who may not read every database scan a database's
 * artifact rows (see lib/views/views.h).
 *
 * Two seams for work that lands later:
 *   - READ-THROUGH: an artifact the cache does not hold is handed to
 *     hooks.miss, which may take the request over (fetch it, then complete
 *     it with http_wait_serve once the file is verified and cached, or
 *     http_wait_error) or let http answer 503 "not cached yet";
 *   - KUSTO: POST /v1/rest/mgmt and GET /v1/rest/auth/metadata go to
 *     hooks.mgmt / hooks.auth_metadata (the caller already identified);
 *     without them mgmt answers a Kusto-shaped 400 "not available" and auth
 *     metadata 404 (what Kusto clients take as "no AAD sign-in").
 */
#ifndef FOLLOWERD_HTTP_H
#define FOLLOWERD_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "policy/auth.h"
#include "store/store.h"

struct cache;
struct conf;
struct event_base;
struct evhttp_request;
struct http;
struct http_reload;
struct http_wait;
struct views_ctx;
struct sync;
struct warm;
struct evbuffer;
struct qsync;

#define HTTP_MAX_HEADERS ((size_t)16 << 10) /* bytes of a request's headers (431 past it) */
#define HTTP_MAX_BODY ((size_t)1 << 20)     /* bytes of a request's body (413 past it) */
#define HTTP_ADMIN_MAX_CONNECTIONS 64       /* the admin socket's own cap */
#define HTTP_STALL_MS 3000                  /* a loop turn this late makes /healthz 503 */
#define HTTP_STALL_MEMORY_S 30              /* ... for this long afterwards */

/* READ-THROUGH SEAM: an artifact that is not in the cache. */
struct http_miss {
	const char *sha256;
	uint64_t size;
	enum store_blob_state state; /* the store's word: unknown (never fetched) or quarantined */
	const char *database;        /* the store's name of the database asked for; NULL when
	                                asked by sha256 alone */
	bool head;                   /* a HEAD request */
	struct http_wait *wait;      /* the request, for a hook that takes it over */
};

/* KUSTO SEAM: a call of the Kusto surface.  All borrowed for the call. */
struct http_kusto_call {
	const struct auth_principal *who; /* identified (maybe anonymous: check!) */
	const struct views_ctx *views;    /* the store (NULL: none yet), conf, cache, now */
	bool allow_anonymous;             /* for auth_allowed() */
	const char *body;                 /* the request body, NUL-terminated (mgmt) */
	size_t len;
	struct http_wait *wait; /* query: the request, taken over (http_wait_*) */
	bool v1;                /* query: POST /v1/rest/query (else /v2) */
	/* query: the followed databases, principals resolved (http_dbs: kept
	 * between requests while the store's data_version stays); dbs_ok
	 * false when the store could not be read */
	const struct views_db *dbs;
	size_t ndbs;
	bool dbs_ok;
};

/* ADMIN SURFACE: GET /v1/admin/attachments, PUT and DELETE
 * /v1/admin/attachments/{name}, the caller authorized (the superuser or an
 * admin of every followed database).  All borrowed for the call. */
struct http_admin_call {
	const struct auth_principal *who;
	int method;       /* EVHTTP_REQ_GET, _PUT or _DELETE */
	const char *name; /* the attachment; NULL for the list */
	const char *body; /* PUT: the request body, NUL-terminated */
	size_t len;
};

/* What queries did since start (hooks.query_totals), for /metrics. */
struct http_query_totals {
	uint64_t extents_skipped;  /* left out by their statistics (time filters) */
	uint64_t readthru_extents; /* extents read through for queries */
	uint64_t readthru_files;   /* artifacts read through for queries */
	uint64_t readthru_bytes;   /* their bytes */
	uint64_t readthru_refused; /* queries refused: over query_readthru_max_size */
	uint64_t readthru_failed;  /* queries whose read-through failed */
	/* the query store connections of the workers' sessions (query_sess.h)
	 * a query's preparation used again, and those it opened afresh */
	uint64_t sessions_reused, sessions_opened;
	/* scans run split: over several partitions at once, or as one
	 * partition hashed (no idle core, or one extent) */
	uint64_t scans_split, scans_hashed;
};

struct http_hooks {
	void *arg;
	/* Returns 1 when it took the request over (it must then complete
	 * m->wait exactly once, now or later, unless http calls the wait's
	 * gone callback first), 0 to have http answer 503 "not cached yet"
	 * (e.g. after queueing the download), a negative errno to answer 503
	 * with that error (m->wait untouched then). */
	int (*miss)(void *arg, struct evhttp_request *req, const struct http_miss *m);
	/* Must reply to req exactly once. */
	void (*mgmt)(void *arg, struct evhttp_request *req, const struct http_kusto_call *call);
	void (*auth_metadata)(void *arg, struct evhttp_request *req,
	                      const struct http_kusto_call *call);
	/* POST /v1/rest/query and /v2/rest/query: must complete call->wait
	 * exactly once (http_wait_error, or a streamed answer), unless its gone
	 * callback runs first.  NULL: answered 503. */
	void (*query)(void *arg, const struct http_kusto_call *call);
	/* A query request (POST /v1|v2/rest/query, req borrowed for the call)
	 * refused with 429 past max_concurrent_queries: for .show queries.
	 * NULL: not reported. */
	void (*throttled)(void *arg, struct evhttp_request *req, const struct auth_principal *who);
	/* A query request (req borrowed for the call) now waits for a
	 * max_concurrent_queries slot: returns a token for .show queries (NULL:
	 * not listed); when it is cancelled (.cancel query), cancel(cancel_arg,
	 * why) runs on the loop and the token is spent.  Otherwise unqueued is
	 * called once when it leaves the queue: gone_reason non-NULL when its
	 * client went away; true (why filled) when a cancel came first.  NULL:
	 * waiting queries are not listed. */
	void *(*queued)(void *arg, struct evhttp_request *req, const struct auth_principal *who,
	                void (*cancel)(void *cancel_arg, const char *why), void *cancel_arg);
	bool (*unqueued)(void *arg, void *token, const char *gone_reason, char *why, size_t len);
	/* POST /v1/admin/sync, the caller authorized: 0, or a negative errno
	 * (answered 503).  NULL: answered 503 "no sync engine". */
	int (*sync_now)(void *arg);
	/* Must reply to req exactly once.  NULL: answered 503. */
	void (*attachments)(void *arg, struct evhttp_request *req,
	                    const struct http_admin_call *call);
	/* The cache warmer (borrowed; NULL: none, e.g. --once): its live counts
	 * go into GET /v1/databases/{db}/cache ("warming") and /metrics. */
	struct warm *(*warm)(void *arg);
	/* The query stores' follower (borrowed; NULL: none): rows loaded per
	 * table, loads and errors for /metrics. */
	struct qsync *(*qsync)(void *arg);
	/* The sync engine (borrowed; NULL: none): per-database step times for
	 * /metrics. */
	struct sync *(*sync)(void *arg);
	/* The queries' counts into *ret (NULL: not shown in /metrics). */
	void (*query_totals)(void *arg, struct http_query_totals *ret);
	/* The query workers' counts for /metrics; false: no query engine. */
	bool (*query_counts)(void *arg, uint64_t *running, uint64_t *queued, uint64_t *finished);
};

struct http_options {
	const char *store_path; /* the store file, read through its own read-only handle */
	struct cache *cache;    /* borrowed; NULL: http opens conf->cache_dir itself */
	struct http_hooks hooks;
};

/* Binds every listener and starts serving conf (borrowed until a reload
 * commits another or http_free) on base.  Opens the store read-only when the
 * file exists (else on a later request), loads the tokens file and the TLS
 * certificate.  0, or a negative errno with err filled (*ret untouched). */
int http_new(struct event_base *base, const struct conf *conf, const struct http_options *opt,
             struct http **ret, char *err, size_t errlen);

/* Stops accepting connections (a graceful stop); those open finish. */
void http_stop(struct http *h);

/* Frees h and everything it holds, closing every connection and removing
 * the admin socket it created; NULL is a no-op. */
void http_free(struct http *h);

/* Reload in two steps so that a configuration the engine refuses leaves the
 * endpoint untouched: prepare loads what can fail (tokens file, TLS
 * certificate) for conf; commit switches to it (conf borrowed from then on);
 * abort drops it.  Listener addresses are not changed by a reload (a
 * warning is logged): restart for that. */
int http_reload_prepare(struct http *h, const struct conf *conf, struct http_reload **ret,
                        char *err, size_t errlen);
void http_reload_commit(struct http *h, struct http_reload *r, const struct conf *conf);
void http_reload_abort(struct http_reload *r);

/* Installs hooks (copied); the seams above. */
void http_set_hooks(struct http *h, const struct http_hooks *hooks);

/* Completes a request the miss hook took over with the artifact's verified
 * file fd (stolen, read-only): served as a cached artifact is (ETag, Range,
 * sendfile).  Frees wait.  When the client went away meanwhile without
 * http noticing, the reply goes nowhere. */
void http_wait_serve(struct http_wait *wait, int fd);

/* Completes it with an error reply {"error":{code, message}}.  Frees wait. */
void http_wait_error(struct http_wait *wait, int status, const char *code, const char *message);

/* A streamed answer to a request a hook took over: the status line and
 * Content-Type, then chunks (buf's bytes are moved; sent(arg) once they are
 * written to the socket, or dropped with the connection: never called
 * then), then the end, which frees wait.  Before http_wait_start the hook
 * may still answer with http_wait_error. */
void http_wait_start(struct http_wait *wait, int status, const char *reason, const char *ctype);
int http_wait_chunk(struct http_wait *wait, struct evbuffer *buf, void (*sent)(void *arg),
                    void *arg);
void http_wait_end(struct http_wait *wait);
/* Or the whole answer at once, instead of start, chunks and end: body's
 * bytes (moved) go out with a Content-Length, in one write where they
 * fit.  Frees wait. */
void http_wait_reply(struct http_wait *wait, int status, const char *reason, const char *ctype,
                     struct evbuffer *body);
/* The request, to add output headers before http_wait_start (borrowed). */
struct evhttp_request *http_wait_request(struct http_wait *wait);

/* fn(arg) is called if the client goes away (or http is freed) before the
 * request is completed; wait is freed right after fn returns and must not
 * be completed. */
void http_wait_on_gone(struct http_wait *wait, void (*fn)(void *arg), void *arg);

/* Replies to req with status and body (stolen; NULL: {} ), as JSON. */
void http_reply_json(struct evhttp_request *req, int status, json_t *body);

/* Replies with {"error":{"code","message"}}. */
void http_reply_error(struct evhttp_request *req, int status, const char *code,
                      const char *message);

#endif

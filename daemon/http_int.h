/*
 * http_int — what the files of the HTTP endpoint share (not for callers).
 *
 * http.c: life, listeners, TLS, connections (tracking), heartbeat;
 * http_door.c: the front door — per-client caps, the clocks, query slots;
 * http_routes.c: a request's way — parse, identify, route, authorize, reply;
 * http_files.c: artifacts (sendfile, Range, ETag); http_metrics.c: /metrics
 * and /healthz.
 */
#ifndef FOLLOWERD_HTTP_INT_H
#define FOLLOWERD_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "policy/auth.h"
#include "conf/conf.h"
#include "http.h"
#include "http_door.h"
#include "views/views.h"

#define HTTP_MAX_SEGMENTS 8
#define HTTP_MAX_LISTENERS 32 /* per endpoint */
#define HTTP_STATUS_MAX 600
#define HTTP_CONN_BUCKETS 4096 /* connection lookup table; chains stay short */
#define HTTP_MEMO_SLOTS 4096   /* remembered sizes of cached artifacts */
#define HTTP_NAMED_SLOTS 1024  /* remembered artifacts by name */
#define HTTP_VERDICT_SLOTS 256 /* remembered verdicts of /v1/artifacts/{sha256} */

struct log_memo;

/* The two endpoints: the query listeners and the admin socket. */
enum http_side {
	HTTP_PUBLIC,
	HTTP_ADMIN,
};

struct http_endpoint {
	struct http *h;
	enum http_side side;
	struct evhttp *evh;
	int max_connections;
	unsigned connections;
	struct evhttp_bound_socket *bound[HTTP_MAX_LISTENERS];
	size_t nbound;
	/* Connections the door may close to make room, oldest first. */
	struct door_list idle; /* between requests */
	struct door_list head; /* sending a request */
};

/* One client connection. */
struct http_conn {
	struct http_endpoint *ep;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until conn_init ran */
	struct event *init;              /* one loop turn after accept */
	struct event *deadline;          /* the door's clock of the state (http_door.c) */
	struct http_conn *next;          /* hash chain */
	bool unix_peer;                  /* AF_UNIX */
	bool local;                      /* loopback or AF_UNIX */
	bool have_uid;
	bool refuse;            /* HTTPS endpoint but no TLS bufferevent: close at once */
	uint32_t uid;           /* SO_PEERCRED */
	struct http_wait *wait; /* a request waiting for a read-through (http_files.c) */
	/* The last Authorization header's principal: a keep-alive client sends
	 * the same one with every request (valid while conf_gen holds: a reload
	 * may bring other tokens). */
	char *authz;
	char authz_fqn[AUTH_FQN_MAX + 1];
	uint64_t authz_gen;
	/* The door (http_door.c). */
	enum door_state state;
	bool entered;               /* counted by http_door_enter */
	bool listed;                /* in ep->idle or ep->head */
	struct http_conn *lru_prev; /* ... its place there */
	struct http_conn *lru_next;
	struct door_client *addr;        /* its address's counts */
	struct door_client *principal;   /* the last request's principal's */
	bool req_addr, req_principal;    /* a request in flight is counted there */
	bool slot;                       /* holds a query slot */
	struct door_park *park;          /* a query waiting for a slot */
	struct evbuffer_cb_entry *in_cb; /* sees the first byte after an idle gap */
	int64_t since_ms;                /* when the state began */
};

struct http_counters {
	uint64_t responses[HTTP_STATUS_MAX]; /* by status */
	uint64_t accepted, rejected;         /* connections; rejected: past the cap */
	uint64_t deadlines;                  /* connections cut at their header deadline */
	uint64_t artifact_bytes;             /* artifact body bytes queued */
	uint64_t not_cached;                 /* artifact requests answered 503 */
	uint64_t read_through;               /* artifact requests the miss hook took */
};

/* A cached artifact's size, remembered (http_files.c). */
struct http_memo {
	char sha256[PROTO_SHA256_LEN + 1]; /* "" when the slot is free */
	uint64_t size;
};

/* An artifact found by database, extent and name, valid while the store's
 * data_version stays the same (http_files.c). */
struct http_named {
	char *key; /* "config/extent/name"; NULL when the slot is free */
	int64_t version;
	struct views_artifact a;
};

/* Whether a principal may read an artifact's bytes, found by a scan of the
 * databases that reference it: holds while the store (dbs_version) and the
 * configuration (conf_gen) do. */
struct http_verdict {
	char *key; /* "sha256 principal"; NULL when the slot is free */
	int64_t version;
	uint64_t conf_gen;
	int verdict;
};

/* What a reload replaces. */
struct http_reload {
	const struct conf *conf;
	struct auth_tokens *tokens;
	SSL_CTX *tls;
};

struct http {
	struct event_base *base;
	const struct conf *conf;
	char *store_path;
	struct store *store; /* read-only; NULL until the file exists */
	int64_t store_retry; /* monotonic ms of the next open attempt */
	struct cache *cache;
	bool own_cache;
	struct auth_tokens *tokens;
	SSL_CTX *tls;
	struct http_endpoint pub, adm;
	struct http_conn *conns[HTTP_CONN_BUCKETS];
	char *admin_path; /* the admin socket this process bound, removed at free */
	dev_t admin_dev;
	ino_t admin_ino;
	struct http_hooks hooks;
	struct http_counters n;
	struct event *heartbeat;
	int64_t beat_ms;       /* monotonic ms of the last heartbeat */
	int64_t stall_at_ms;   /* when the loop last turned HTTP_STALL_MS late; 0: never */
	int64_t stall_ms;      /* how late */
	struct log_memo *memo; /* store open failures, logged on change */
	/* The followed databases with their principals, kept between requests
	 * while the store's data_version and the configuration stay the same. */
	struct views_db *dbs;
	size_t ndbs;
	int64_t dbs_version;
	int64_t dbs_checked_ms; /* when data_version last confirmed them (http_now_ms) */
	bool dbs_ok;
	struct http_memo sizes[HTTP_MEMO_SLOTS];
	struct http_named named[HTTP_NAMED_SLOTS];
	struct http_verdict verdicts[HTTP_VERDICT_SLOTS];
	uint64_t conf_gen;       /* bumped by every reload: principals may have changed */
	struct http_wait *waits; /* requests the miss hook holds */
	bool stopped;
	/* The door (http_door.c). */
	struct door_limits lim;
	struct door_client *clients[DOOR_BUCKETS];
	struct door_memo *refusals; /* DOOR_MEMO_SLOTS: when each client was last logged */
	unsigned queries;           /* query slots held */
	struct door_park *parked, *parked_last; /* queries waiting, oldest first */
	unsigned nparked;
	struct event *door_kick; /* admits waiting queries on the next loop turn */
	uint64_t refused[DOOR_R_N];
	uint64_t closed[DOOR_C_N];
};

/* A request being answered. */
struct http_call {
	struct http *h;
	struct http_endpoint *ep;
	struct http_conn *conn; /* NULL if the connection went away meanwhile */
	struct evhttp_request *req;
	enum evhttp_cmd_type method;
	char *seg[HTTP_MAX_SEGMENTS]; /* decoded path segments, pointing into path */
	char *path;                   /* the path's copy, '/' turned into NULs */
	size_t nseg;
	struct evkeyvalq query;
	bool query_parsed;
	struct auth_principal who;
	struct views_ctx v;
	bool snapshot; /* views_begin succeeded */
	bool recent;   /* artifact bytes: the databases may be HTTP_DBS_RECENT_MS old */
	bool replied;
	char err[VIEWS_ERRLEN];
};

/* ---- http.c ---- */
int64_t http_now_ms(void);
struct store *http_store(struct http *h);
/* The followed databases as of the call's snapshot (borrowed, valid for
 * the call): re-read only when the store or the configuration changed.
 * 0 or a negative errno (c->err says). */
int http_dbs(struct http_call *c, const struct views_db **ret, size_t *ret_n);
/* For artifact bytes only (immutable under their sha256, so no snapshot to
 * be consistent with): as http_dbs, but the kept databases serve without a
 * store read while data_version confirmed them less than HTTP_DBS_RECENT_MS
 * ago — the read transaction it costs (WAL read-mark locks) was a third of
 * an authenticated 64 KiB GET.  A principal removed, an extent dropped or
 * an artifact evicted is seen at most that much later (an evicted file is
 * found missing when opened, and asked about again). */
#define HTTP_DBS_RECENT_MS 10
int http_dbs_recent(struct http_call *c, const struct views_db **ret, size_t *ret_n);
/* The tracked connection of req (NULL: not tracked). */
struct http_conn *http_conn_of(struct http *h, struct evhttp_request *req);

/* ---- http_routes.c ---- */
/* evhttp's request callback (arg: the endpoint); also how a query that
 * waited for its slot is run. */
void http_on_request(struct evhttp_request *req, void *arg);
/* Replies: each ends the call (exactly one per request). */
void http_call_json(struct http_call *c, int status, json_t *body);
void http_call_error(struct http_call *c, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The error reply for a views/store errno (404, 400, 503, 500). */
void http_call_fail(struct http_call *c, int r);
/* The roles the caller holds in d (all of them for the superuser). */
unsigned http_roles(const struct http_call *c, const struct views_db *d);
bool http_may(const struct http_call *c, const struct views_db *d, enum auth_request req);
/* Sets the standard headers of a reply (Content-Type etc.). */
void http_headers(struct evhttp_request *req, const char *content_type);

/* ---- http_files.c ---- */
void http_named_clear(struct http *h);
void http_artifact_named(struct http_call *c, const struct views_db *d);
void http_artifact_sha(struct http_call *c);
/* The client of wait went away / http is being freed: the hook's gone
 * callback runs, wait is freed (the request too, when evhttp detached it:
 * client_gone). */
void http_wait_drop(struct http_wait *wait, bool client_gone);

/* ---- http_metrics.c ---- */
void http_metrics(struct http_call *c);
/* Adds the warmer's live counts of d to the cache view j as "warming" (null
 * when there is no warmer or it has not scanned d yet): 0 or -ENOMEM. */
int http_warming(struct http_call *c, const struct views_db *d, json_t *j);
void http_healthz(struct http_call *c);

#endif

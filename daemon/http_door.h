/*
 * http_door — the front door of the HTTP endpoint: who may hold a
 * connection, for how long, and how many requests they may have in flight
 * (see followerd.conf(5), LIMITS, and docs/HTTP.md).
 *
 * Three clocks per connection, by its state: HEAD (from the accept, or the
 * first byte after an idle gap, until a whole request arrived:
 * header_timeout, which also holds a TLS handshake), BUSY (a request is
 * being answered: request_timeout, evhttp's), IDLE (keep-alive between
 * requests: keepalive_timeout).
 *
 * Per-client caps: connections and requests in flight per client address
 * and per authenticated principal.  At max_connections the idle go first,
 * then those sending their head for over a second (the heaviest client's
 * first), then a fresh one of a client holding more connections than the
 * newcomer, before a new client is refused.
 *
 * Query slots: requests of a route marked as a query (http_routes.c, the
 * routes table's `query`) hold one of max_concurrent_queries slots from
 * their dispatch until their reply is sent or their client goes; as many
 * more wait up to query_queue_timeout, the rest are answered 429 in Kusto's
 * shape (TooManyRequests), so queries cannot take the connections that
 * views, /healthz and /metrics need.  A KQL query that waits is handed to
 * hooks.queued (listed Queued by .show queries); .cancel query answers it
 * through the hook's cancel callback.  A new query route needs nothing else:
 * a handler that answers later (a worker thread) keeps its slot until then.
 *
 * Used by http.c (connections) and http_routes.c (requests) only; the
 * structs are in http_int.h.
 */
#ifndef FOLLOWERD_HTTP_DOOR_H
#define FOLLOWERD_HTTP_DOOR_H

#include <stdbool.h>
#include <stdint.h>

struct http;
struct http_call;
struct http_conn;
struct http_endpoint;
struct evbuffer;
struct evhttp_request;
struct door_memo;

#define DOOR_BUCKETS 4096       /* clients by key; chains stay short */
#define DOOR_MEMO_SLOTS 1024    /* refusals logged, by client (direct-mapped) */
#define DOOR_LOG_EVERY_MS 60000 /* a client's refusals are logged once a minute */
#define DOOR_RETRY_AFTER "1"    /* seconds, in 503 and 429 answers */
#define DOOR_SCAN 8             /* connections looked at to choose one to close */
#define DOOR_HEAD_GRACE_MS 1000 /* sending a head for less: never closed for room */

/* Why a client was refused, as /metrics names it. */
enum door_refusal {
	DOOR_R_MAX_CONNECTIONS, /* the endpoint is full, nothing idle to close */
	DOOR_R_ADDR_CONNECTIONS,
	DOOR_R_ADDR_REQUESTS,
	DOOR_R_PRINCIPAL_CONNECTIONS,
	DOOR_R_PRINCIPAL_REQUESTS,
	DOOR_R_QUERIES, /* no query slot in time: 429 */
	DOOR_R_N,
};

/* Why the door closed a connection it had let in. */
enum door_close {
	DOOR_C_HEADER_TIMEOUT,
	DOOR_C_KEEPALIVE_TIMEOUT,
	DOOR_C_EVICTED_IDLE, /* to make room at max_connections */
	DOOR_C_EVICTED_HEAD,
	DOOR_C_N,
};

enum door_state {
	DOOR_HEAD,
	DOOR_BUSY,
	DOOR_IDLE,
};

/* The caps in force (from the configuration; 0s resolved). */
struct door_limits {
	unsigned conns_per_addr, reqs_per_addr;
	unsigned conns_per_principal, reqs_per_principal;
	unsigned queries, parked; /* query slots; waiting at most */
	int64_t query_wait_ms;
};

struct door_client;
struct door_park;

/* Connections in one state, oldest first (linked through lru_prev/next). */
struct door_list {
	struct http_conn *first, *last;
};

/* Sets up / frees the door of h (the tables live in struct http). */
int http_door_init(struct http *h);
void http_door_free(struct http *h);

/* Recomputes the caps from h->conf (start and reload); waiting queries
 * that now fit are admitted. */
void http_door_apply(struct http *h);

/* A connection is about to be counted: 0 to let it in (it is then in HEAD
 * and counted), -1 to close it at once (refused, counted and logged).  May
 * close an idle connection to make room. */
int http_door_enter(struct http_conn *c, int fd);

/* The connection is going away: its counts, its waiting query, its slot. */
void http_door_leave(struct http_conn *c);

/* The clocks: a request was dispatched (BUSY) / answered (HEAD or IDLE). */
void http_door_busy(struct http_conn *c);
void http_door_done(struct http_conn *c);

/* A request's caps once its caller is known (c->who): 0, or -1 after
 * answering 503 with Retry-After. */
int http_door_admit(struct http_call *c);

/* A query route's slot: 0 to run now (the slot is held until the reply is
 * sent or the client goes), 1 when the request now waits (it is run again
 * through http_on_request when a slot frees, or answered 429), -1 after
 * answering 429. */
int http_door_query(struct http_call *c);

/* The request of c (a query that waited) is answered or dropped with h
 * freed: for http_free, before evhttp frees the connections. */
void http_door_drop_parked(struct http *h);

/* Kusto's throttling error, 429 with Retry-After. */
void http_door_reply_throttled(struct evhttp_request *req, const char *message);

/* The /metrics lines of the door. */
void http_door_metrics(const struct http *h, struct evbuffer *b);

#endif

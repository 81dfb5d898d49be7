/*
 * http_door — the front door of the HTTP endpoint (see http_door.h): the
 * per-client caps, the three clocks of a connection, making room at
 * max_connections, and the query slots.
 *
 * Clients are counted in one hash table keyed by "a:ADDRESS" (an IPv4
 * address, an IPv6 /64, "u:UID" for a Unix peer) or "p:FQN" (a principal);
 * an entry lives while it counts a connection or a request.  Refusals are
 * counted by cause and logged once per client a minute (the rest are
 * summed into the next line), so a flood cannot flood the journal.
 *
 * Nothing here blocks: refusals close before reading or answer at once,
 * and a query that waits for a slot is a parked request with a timer.
 */
#include "http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"

#define KEY_MAX (AUTH_FQN_MAX + 3)
#define TICKS_PER_MS (PROTO_TICKS_PER_SEC / 1000)

struct door_client {
	struct door_client *next; /* hash chain */
	uint64_t hash;
	unsigned conns, requests;
	char key[]; /* "a:…", "u:…" or "p:…" */
};

/* When a client was last logged, and how many refusals since went unsaid. */
struct door_memo {
	uint64_t hash;
	int64_t logged_ms;
	uint64_t unsaid;
};

/* A query waiting for a slot. */
struct door_park {
	struct door_park *prev, *next; /* h->parked, oldest first */
	struct http *h;
	struct http_endpoint *ep;
	struct evhttp_request *req;
	struct http_conn *conn;
	struct event *timer;       /* query_queue_timeout: then 429 */
	struct auth_principal who; /* for the throttled hook */
	void *token;               /* hooks.queued's: listed by .show queries */
};

static const char *const refusal_names[DOOR_R_N] = {
    [DOOR_R_MAX_CONNECTIONS] = "max_connections",
    [DOOR_R_ADDR_CONNECTIONS] = "max_connections_per_address",
    [DOOR_R_ADDR_REQUESTS] = "max_requests_per_address",
    [DOOR_R_PRINCIPAL_CONNECTIONS] = "max_connections_per_principal",
    [DOOR_R_PRINCIPAL_REQUESTS] = "max_requests_per_principal",
    [DOOR_R_QUERIES] = "max_concurrent_queries",
};

static const char *const close_names[DOOR_C_N] = {
    [DOOR_C_HEADER_TIMEOUT] = "header_timeout",
    [DOOR_C_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
    [DOOR_C_EVICTED_IDLE] = "evicted_idle",
    [DOOR_C_EVICTED_HEAD] = "evicted_head",
};

/* ---- the client table ---- */

/* FNV-1a: keys are short and the table only needs an even spread. */
static uint64_t hash_of(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

/* The entry of key, made when absent; NULL when out of memory. */
static struct door_client *client_get(struct http *h, const char *key)
{
	uint64_t hash = hash_of(key);
	struct door_client **b = &h->clients[hash % DOOR_BUCKETS], *cl;
	size_t len = strlen(key);

	for (cl = *b; cl != NULL; cl = cl->next)
		if (cl->hash == hash && strcmp(cl->key, key) == 0)
			return cl;
	cl = calloc(1, sizeof(*cl) + len + 1);
	if (cl == NULL)
		return NULL;
	cl->hash = hash;
	memcpy(cl->key, key, len + 1);
	cl->next = *b;
	*b = cl;
	return cl;
}

/* Frees cl once it counts nothing. */
static void client_put(struct http *h, struct door_client *cl)
{
	struct door_client **p;

	if (cl == NULL || cl->conns > 0 || cl->requests > 0)
		return;
	for (p = &h->clients[cl->hash % DOOR_BUCKETS]; *p != NULL && *p != cl; p = &(*p)->next)
		;
	if (*p == cl)
		*p = cl->next;
	free(cl);
}

/* The key of a peer: its IPv4 address, its IPv6 /64 (one host gets a /64,
 * so a finer key would be no cap at all), a Unix peer's uid. */
static void addr_key(const struct http_conn *c, int fd, char key[KEY_MAX])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char a[INET6_ADDRSTRLEN] = "?";

	(void)snprintf(key, KEY_MAX, "a:?");
	if (c->unix_peer) {
		(void)snprintf(key, KEY_MAX, "u:%s%" PRIu32, c->have_uid ? "" : "?", c->uid);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		(void)inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof(a));
	} else if (ss.ss_family == AF_INET6) {
		struct in6_addr *in6 = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(in6)) {
			(void)inet_ntop(AF_INET, &in6->s6_addr[12], a, sizeof(a));
		} else {
			memset(&in6->s6_addr[8], 0, 8);
			(void)inet_ntop(AF_INET6, in6, a, sizeof(a));
			(void)snprintf(key, KEY_MAX, "a:%s/64", a);
			return;
		}
	}
	(void)snprintf(key, KEY_MAX, "a:%s", a);
}

/* ---- refusals: counted, logged once a minute per client ---- */

static void refusal_log(struct http *h, const char *key, enum door_refusal why)
{
	uint64_t hash = hash_of(key);
	struct door_memo *m = &h->refusals[hash % DOOR_MEMO_SLOTS];
	int64_t now = http_now_ms();

	h->refused[why]++;
	if (m->hash == hash && now - m->logged_ms < DOOR_LOG_EVERY_MS) {
		m->unsaid++;
		return;
	}
	if (m->hash == hash && m->unsaid > 0)
		log_warning("http: refusing %s: past %s (and %" PRIu64 " more refusals of it in "
		            "the last minute)",
		            key + 2, refusal_names[why], m->unsaid);
	else
		log_warning("http: refusing %s: past %s (logged once a minute per client)", key + 2,
		            refusal_names[why]);
	m->hash = hash;
	m->logged_ms = now;
	m->unsaid = 0;
}

/* 503 with Retry-After; the connection closes after it. */
static void refuse_503(struct http_call *c, const char *key, enum door_refusal why)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);

	refusal_log(c->h, key, why);
	(void)evhttp_add_header(out, "Retry-After", DOOR_RETRY_AFTER);
	(void)evhttp_add_header(out, "Connection", "close");
	http_call_error(c, 503, "TooManyRequests", "%s: too many %s; retry later", key + 2,
	                why == DOOR_R_ADDR_REQUESTS || why == DOOR_R_PRINCIPAL_REQUESTS
	                    ? "requests in flight"
	                    : "connections");
}

void http_door_reply_throttled(struct evhttp_request *req, const char *message)
{
	(void)evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
	                        DOOR_RETRY_AFTER);
	http_reply_json(req, 429,
	                json_pack("{s:{s:s, s:s, s:s, s:s, s:b}}", "error", "code",
	                          "TooManyRequests", "message", "Request is throttled.", "@type",
	                          "Kusto.Data.Exceptions.KustoRequestThrottledException",
	                          "@message", message, "@permanent", false));
}

/* ---- the clocks ---- */

static struct timeval tv_of_ticks(int64_t ticks)
{
	struct timeval tv = {(time_t)(ticks / PROTO_TICKS_PER_SEC),
	                     (suseconds_t)(ticks % PROTO_TICKS_PER_SEC / 10)};

	return tv;
}

static void list_append(struct door_list *l, struct http_conn *c)
{
	c->lru_prev = l->last;
	c->lru_next = NULL;
	*(l->last != NULL ? &l->last->lru_next : &l->first) = c;
	l->last = c;
}

static void list_remove(struct door_list *l, struct http_conn *c)
{
	*(c->lru_prev != NULL ? &c->lru_prev->lru_next : &l->first) = c->lru_next;
	*(c->lru_next != NULL ? &c->lru_next->lru_prev : &l->last) = c->lru_prev;
	c->lru_prev = c->lru_next = NULL;
}

static void unlist(struct http_conn *c)
{
	if (!c->listed)
		return;
	list_remove(c->state == DOOR_IDLE ? &c->ep->idle : &c->ep->head, c);
	c->listed = false;
}

/* Moves c to state, its clock started now (BUSY: evhttp's timeouts). */
static void set_state(struct http_conn *c, enum door_state state)
{
	const struct conf *conf = c->ep->h->conf;
	struct timeval tv;

	unlist(c);
	c->state = state;
	c->since_ms = http_now_ms();
	(void)evtimer_del(c->deadline);
	if (state == DOOR_BUSY)
		return;
	tv = tv_of_ticks(state == DOOR_HEAD ? conf->header_timeout : conf->keepalive_timeout);
	(void)evtimer_add(c->deadline, &tv);
	list_append(state == DOOR_IDLE ? &c->ep->idle : &c->ep->head, c);
	c->listed = true;
}

/* A byte after an idle gap starts the head clock: a client that trickles
 * its next request gets header_timeout from its first byte, no more. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn *c = arg;

	if (info->n_added > 0 && c->state == DOOR_IDLE)
		set_state(c, DOOR_HEAD);
}

void http_door_busy(struct http_conn *c)
{
	if (c->entered)
		set_state(c, DOOR_BUSY);
}

/* Drops what a request counted: its slot, its requests in flight. */
static void request_end(struct http_conn *c)
{
	struct http *h = c->ep->h;

	if (c->slot) {
		c->slot = false;
		h->queries--;
		if (h->parked != NULL)
			event_active(h->door_kick, EV_TIMEOUT, 0);
	}
	if (c->req_addr && c->addr != NULL)
		c->addr->requests--;
	if (c->req_principal && c->principal != NULL)
		c->principal->requests--;
	c->req_addr = c->req_principal = false;
}

void http_door_done(struct http_conn *c)
{
	request_end(c);
	if (!c->entered)
		return;
	/* a pipelined request already waiting is sending its head */
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) > 0)
		set_state(c, DOOR_HEAD);
	else
		set_state(c, DOOR_IDLE);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http *h = c->ep->h;

	if (c->state == DOOR_BUSY)
		return; /* a late timer: the request is being answered */
	if (c->state == DOOR_HEAD) {
		h->closed[DOOR_C_HEADER_TIMEOUT]++;
		h->n.deadlines++;
		log_debug("http: closing a connection that did not send its request in time");
	} else {
		h->closed[DOOR_C_KEEPALIVE_TIMEOUT]++;
	}
	evhttp_connection_free(c->evcon); /* calls http_door_leave, then frees c */
}

/* ---- connections ---- */

/* Of the first DOOR_SCAN connections of a list (oldest first) that have
 * been in their state since before `before`, the one whose address holds
 * the most connections: room is made at the expense of the heaviest client
 * first, not of whoever happens to be oldest. */
static struct http_conn *heaviest(struct http_conn *first, int64_t before)
{
	struct http_conn *best = NULL;
	unsigned n = 0, best_load = 0;

	for (struct http_conn *c = first; c != NULL && n < DOOR_SCAN; c = c->lru_next, n++) {
		unsigned load = c->addr != NULL ? c->addr->conns : 0;

		if (c->since_ms > before)
			break; /* the rest are younger still */
		if (best == NULL || load > best_load) {
			best = c;
			best_load = load;
		}
	}
	return best;
}

static unsigned load_of(const struct http_conn *c)
{
	return c->addr != NULL ? c->addr->conns : 0;
}

/* Closes an idle connection, else one that has been sending its head for
 * DOOR_HEAD_GRACE_MS, else — so that a flood of fresh connections cannot
 * win every race for the room it makes — a fresh one of an address that
 * holds more than one connection more than the newcomer's (which holds
 * `load`); -1 when there is none (the newcomer is refused). */
static int make_room(struct http_endpoint *ep, unsigned load)
{
	int64_t now = http_now_ms();
	struct http_conn *v = heaviest(ep->idle.first, now);
	enum door_close why = DOOR_C_EVICTED_IDLE;

	if (v == NULL) {
		why = DOOR_C_EVICTED_HEAD;
		v = heaviest(ep->head.first, now - DOOR_HEAD_GRACE_MS);
	}
	if (v == NULL && (v = heaviest(ep->head.first, now)) != NULL && load_of(v) <= load + 1)
		v = NULL;
	if (v == NULL)
		return -1;
	ep->h->closed[why]++;
	evhttp_connection_free(v->evcon);
	return 0;
}

static int enter_refused(struct http_conn *c, const char *key, enum door_refusal why)
{
	refusal_log(c->ep->h, key, why);
	c->ep->h->n.rejected++;
	return -1;
}

int http_door_enter(struct http_conn *c, int fd)
{
	struct http_endpoint *ep = c->ep;
	struct http *h = ep->h;
	char key[KEY_MAX];

	c->deadline = evtimer_new(h->base, on_deadline, c);
	if (c->deadline == NULL)
		return -1;
	addr_key(c, fd, key);
	if (ep->side == HTTP_PUBLIC) {
		c->addr = client_get(h, key); /* NULL (out of memory): not counted */
		if (c->addr != NULL && c->addr->conns >= h->lim.conns_per_addr)
			return enter_refused(c, key, DOOR_R_ADDR_CONNECTIONS);
	}
	/* connections counts c already */
	if (ep->connections > (unsigned)ep->max_connections &&
	    make_room(ep, c->addr != NULL ? c->addr->conns : 0) < 0)
		return enter_refused(c, key, DOOR_R_MAX_CONNECTIONS);
	if (c->addr != NULL)
		c->addr->conns++;
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), on_input, c);
	c->entered = true;
	set_state(c, DOOR_HEAD);
	return 0;
}

/* Takes p's request out of .show queries' list (hooks.unqueued): true
 * when a .cancel query came first (its reason in why). */
static bool unqueue(struct door_park *p, const char *gone_reason, char *why, size_t len)
{
	struct http *h = p->h;
	void *token = p->token;

	p->token = NULL;
	if (token == NULL || h->hooks.unqueued == NULL)
		return false;
	return h->hooks.unqueued(h->hooks.arg, token, gone_reason, why, len);
}

static void park_free(struct door_park *p)
{
	struct http *h = p->h;
	char why[256];

	(void)unqueue(p, NULL, why, sizeof(why));
	*(p->prev != NULL ? &p->prev->next : &h->parked) = p->next;
	*(p->next != NULL ? &p->next->prev : &h->parked_last) = p->prev;
	h->nparked--;
	p->conn->park = NULL;
	event_free(p->timer);
	free(p);
}

void http_door_leave(struct http_conn *c)
{
	struct http *h = c->ep->h;

	if (c->park != NULL) {
		/* evhttp detached the unanswered request: ours to free */
		struct evhttp_request *req = c->park->req;
		char why[256];

		(void)unqueue(c->park,
		              "the client closed its connection while waiting for a query slot",
		              why, sizeof(why));
		park_free(c->park);
		evhttp_request_free(req);
	}
	request_end(c);
	unlist(c);
	if (c->in_cb != NULL)
		(void)evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	if (c->entered && c->addr != NULL)
		c->addr->conns--;
	if (c->principal != NULL)
		c->principal->conns--;
	client_put(h, c->addr);
	client_put(h, c->principal);
	c->addr = c->principal = NULL;
	if (c->deadline != NULL)
		event_free(c->deadline);
	c->deadline = NULL;
}

/* ---- requests ---- */

/* Counts c's connection for the principal of the call (once per change). */
static int principal_conn(struct http_call *c, char key[KEY_MAX])
{
	struct http_conn *k = c->conn;
	struct door_client *p;

	if (k->principal != NULL && strcmp(k->principal->key, key) == 0)
		return 0;
	if ((p = client_get(c->h, key)) == NULL)
		return 0; /* out of memory: not counted */
	if (p->conns >= c->h->lim.conns_per_principal) {
		client_put(c->h, p);
		refuse_503(c, key, DOOR_R_PRINCIPAL_CONNECTIONS);
		return -1;
	}
	if (k->req_principal)
		k->principal->requests--;
	k->req_principal = false;
	if (k->principal != NULL)
		k->principal->conns--;
	client_put(c->h, k->principal);
	k->principal = p;
	p->conns++;
	return 0;
}

int http_door_admit(struct http_call *c)
{
	struct http_conn *k = c->conn;
	const struct door_limits *lim = &c->h->lim;
	char key[KEY_MAX];

	if (k == NULL || c->ep->side != HTTP_PUBLIC)
		return 0;
	if (!k->req_addr && k->addr != NULL) {
		if (k->addr->requests >= lim->reqs_per_addr) {
			refuse_503(c, k->addr->key, DOOR_R_ADDR_REQUESTS);
			return -1;
		}
		k->addr->requests++;
		k->req_addr = true;
	}
	if (c->who.via == AUTH_VIA_NONE || c->who.fqn[0] == '\0')
		return 0;
	(void)snprintf(key, sizeof(key), "p:%s", c->who.fqn);
	if (principal_conn(c, key) < 0)
		return -1;
	if (!k->req_principal) {
		if (k->principal->requests >= lim->reqs_per_principal) {
			refuse_503(c, key, DOOR_R_PRINCIPAL_REQUESTS);
			return -1;
		}
		k->principal->requests++;
		k->req_principal = true;
	}
	return 0;
}

/* ---- query slots ---- */

/* A KQL query (/v1|v2/rest/query), not a .show command: what the query
 * log lists. */
static bool is_query(struct evhttp_request *req)
{
	const char *uri = evhttp_request_get_uri(req);

	return uri != NULL && strstr(uri, "/rest/query") != NULL;
}

/* Tells the throttled hook of a refused query (not of a .show command). */
static void report_throttled(struct http *h, struct evhttp_request *req,
                             const struct auth_principal *who)
{
	if (h->hooks.throttled != NULL && is_query(req))
		h->hooks.throttled(h->hooks.arg, req, who);
}

/* Kusto's words for a cancelled query (as a running one's client reads
 * them), for one cancelled while it waited: 503, nothing ran. */
static void reply_cancelled(struct evhttp_request *req, const char *why)
{
	char msg[400];

	(void)snprintf(msg, sizeof(msg),
	               "Query was cancelled (E_QUERY_CANCELLED) while waiting for a query slot: %s",
	               why);
	http_reply_json(req, 503,
	                json_pack("{s:{s:s, s:s, s:s, s:s, s:b}}", "error", "code",
	                          "General_InternalServerError", "message", "Query was cancelled.",
	                          "@type", "Kusto.Data.Exceptions.KustoServiceException",
	                          "@message", msg, "@permanent", true));
}

/* .cancel query of a waiting request (hooks.queued's cancel, on the loop):
 * its token is spent. */
static void on_park_cancel(void *arg, const char *why)
{
	struct door_park *p = arg;
	struct evhttp_request *req = p->req;

	p->token = NULL;
	park_free(p);
	reply_cancelled(req, why);
}

static void on_park_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct door_park *p = arg;
	struct evhttp_request *req = p->req;
	struct http_conn *k = p->conn;
	char msg[128], why[256];

	if (unqueue(p, NULL, why, sizeof(why))) {
		park_free(p);
		reply_cancelled(req, why);
		return;
	}
	(void)snprintf(msg, sizeof(msg),
	               "%u queries are running (max_concurrent_queries); retry later",
	               p->h->lim.queries);
	refusal_log(p->h, k->addr != NULL ? k->addr->key : "a:?", DOOR_R_QUERIES);
	report_throttled(p->h, req, &p->who);
	park_free(p);
	http_door_reply_throttled(req, msg);
}

static int park(struct http_call *c)
{
	struct http *h = c->h;
	struct door_park *p = calloc(1, sizeof(*p));
	struct timeval tv = {(time_t)(h->lim.query_wait_ms / 1000),
	                     (suseconds_t)(h->lim.query_wait_ms % 1000 * 1000)};

	if (p == NULL || (p->timer = evtimer_new(h->base, on_park_timeout, p)) == NULL ||
	    evtimer_add(p->timer, &tv) < 0) {
		if (p != NULL && p->timer != NULL)
			event_free(p->timer);
		free(p);
		return -ENOMEM;
	}
	p->h = h;
	p->ep = c->ep;
	p->req = c->req;
	p->conn = c->conn;
	p->who = c->who;
	c->conn->park = p;
	if (h->hooks.queued != NULL && is_query(c->req))
		p->token = h->hooks.queued(h->hooks.arg, c->req, &c->who, on_park_cancel, p);
	p->prev = h->parked_last;
	*(h->parked_last != NULL ? &h->parked_last->next : &h->parked) = p;
	h->parked_last = p;
	h->nparked++;
	return 0;
}

int http_door_query(struct http_call *c)
{
	struct http *h = c->h;
	char msg[128];

	if (c->conn == NULL || c->ep->side != HTTP_PUBLIC || c->conn->slot)
		return 0;
	if (h->queries < h->lim.queries) {
		h->queries++;
		c->conn->slot = true;
		return 0;
	}
	if (h->nparked < h->lim.parked && h->lim.query_wait_ms > 0 && park(c) == 0) {
		c->replied = true; /* answered later: run again, or 429 */
		return 1;
	}
	(void)snprintf(msg, sizeof(msg),
	               "%u queries are running and %u waiting (max_concurrent_queries); retry "
	               "later",
	               h->queries, h->nparked);
	refusal_log(h, c->conn->addr != NULL ? c->conn->addr->key : "a:?", DOOR_R_QUERIES);
	report_throttled(h, c->req, &c->who);
	c->replied = true;
	http_door_reply_throttled(c->req, msg);
	return -1;
}

/* Runs waiting queries while slots are free (a loop turn after one freed:
 * never from inside another connection's callbacks). */
static void on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	struct door_park *p;

	while (h->queries < h->lim.queries && (p = h->parked) != NULL) {
		struct evhttp_request *req = p->req;
		struct http_endpoint *ep = p->ep;
		struct http_conn *k = p->conn;
		char why[256];

		if (unqueue(p, NULL, why, sizeof(why))) {
			park_free(p);
			reply_cancelled(req, why);
			continue;
		}
		park_free(p);
		h->queries++;
		k->slot = true;
		http_on_request(req, ep);
	}
}

void http_door_drop_parked(struct http *h)
{
	/* evhttp frees the requests with their connections */
	while (h->parked != NULL) {
		char why[256];
		(void)unqueue(h->parked, "followerd is stopping", why, sizeof(why));
		park_free(h->parked);
	}
}

/* ---- life ---- */

static unsigned or_quarter(int v, int max_connections)
{
	if (v > 0)
		return (unsigned)v;
	return max_connections >= 4 ? (unsigned)max_connections / 4 : 1;
}

void http_door_apply(struct http *h)
{
	const struct conf *conf = h->conf;
	struct door_limits *l = &h->lim;

	l->conns_per_addr = or_quarter(conf->max_connections_per_address, conf->max_connections);
	l->reqs_per_addr = or_quarter(conf->max_requests_per_address, conf->max_connections);
	l->conns_per_principal =
	    or_quarter(conf->max_connections_per_principal, conf->max_connections);
	l->reqs_per_principal = or_quarter(conf->max_requests_per_principal, conf->max_connections);
	l->queries = (unsigned)conf->max_concurrent_queries;
	l->parked = l->queries;
	l->query_wait_ms = conf->query_queue_timeout / TICKS_PER_MS;
	if (h->parked != NULL)
		event_active(h->door_kick, EV_TIMEOUT, 0);
}

int http_door_init(struct http *h)
{
	h->refusals = calloc(DOOR_MEMO_SLOTS, sizeof(*h->refusals));
	h->door_kick = event_new(h->base, -1, 0, on_kick, h);
	return h->refusals != NULL && h->door_kick != NULL ? 0 : -ENOMEM;
}

/* After evhttp_free: every connection left, so the table is empty. */
void http_door_free(struct http *h)
{
	if (h->door_kick != NULL)
		event_free(h->door_kick);
	free(h->refusals);
}

/* ---- /metrics ---- */

void http_door_metrics(const struct http *h, struct evbuffer *b)
{
	(void)evbuffer_add_printf(b, "# HELP followerd_http_refused_total Clients refused, by the "
	                             "limit they were past.\n"
	                             "# TYPE followerd_http_refused_total counter\n");
	for (int i = 0; i < DOOR_R_N; i++)
		(void)evbuffer_add_printf(
		    b, "followerd_http_refused_total{cause=\"%s\"} %" PRIu64 "\n", refusal_names[i],
		    h->refused[i]);
	(void)evbuffer_add_printf(b, "# HELP followerd_http_closed_total Connections the server "
	                             "closed: a clock ran out, or room was made.\n"
	                             "# TYPE followerd_http_closed_total counter\n");
	for (int i = 0; i < DOOR_C_N; i++)
		(void)evbuffer_add_printf(b,
		                          "followerd_http_closed_total{cause=\"%s\"} %" PRIu64 "\n",
		                          close_names[i], h->closed[i]);
	(void)evbuffer_add_printf(b,
	                          "# HELP followerd_http_queries Query slots held and queries "
	                          "waiting for one.\n"
	                          "# TYPE followerd_http_queries gauge\n"
	                          "followerd_http_queries{state=\"running\"} %u\n"
	                          "followerd_http_queries{state=\"waiting\"} %u\n",
	                          h->queries, h->nparked);
}

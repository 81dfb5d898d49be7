/*
 * query — KQL queries: the loop's side (query.h).  A request becomes a job
 * for the workers; the workers' encoded answer comes back in chunks through
 * an eventfd and is streamed, never more than the socket can take: while
 * the connection's output holds QUERY_SOCKET_BYTES the job waits for a
 * drain timer, and its worker waits for the loop.
 */
#include "query_int.h"
#include "query_readthru.h"
#include "query_sess.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "policy/auth.h"
#include "query/kql_lex.h"
#include "store/store.h"
#include "util/hash64.h"
#include "util/timefmt.h"
#include "views/views.h"

#define QUERY_SOCKET_BYTES ((size_t)1 << 20)
#define DRAIN_MS 5
#define JSON_TYPE "application/json; charset=utf-8"
#define TIDY_S 5 /* idle seconds between a worker's checks for removed stores */

static void job_free(struct job *j)
{
	struct chunk *c;

	if (j->live) /* never ran: the daemon is stopping */
		query_log_drop(j, QUERY_CANCELLED, "followerd is stopping");
	while ((c = j->head)) {
		j->head = c->next;
		free(c);
	}
	if (j->drain)
		event_free(j->drain);
	kreq_clear(&j->req);
	free(j->error_json);
	free(j->rec.text);
	free(j);
}

/* ---- errors ---- */

char *query_error_json(const char *code, const char *type, const char *errcode, const char *message,
                       const struct job *j)
{
	json_t *e = json_pack("{s:{s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:b}}", "error", "code", code,
	                      "message", message, "@type", type, "@message", message, "@context",
	                      "activityId", j ? j->activity_id : "", "clientRequestId",
	                      j ? j->request_id : "", "@permanent", true);
	char *s;

	if (e && errcode)
		(void)json_object_set_new(json_object_get(e, "error"), "@errorCode",
		                          json_string(errcode));
	s = e ? json_dumps(e, JSON_COMPACT) : NULL;
	json_decref(e);
	return s;
}

/* Answers wait at once with a Kusto error (before any output). */
static void reply_error(struct http_wait *wait, int status, const char *reason, const char *body)
{
	struct evbuffer *b = evbuffer_new();

	if (b && body)
		(void)evbuffer_add(b, body, strlen(body));
	http_wait_reply(wait, status, reason, JSON_TYPE, b);
	evbuffer_free(b);
}

static const char *reason_of(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 429:
		return "Too Many Requests";
	default:
		return "Service Unavailable";
	}
}

static void refuse(struct http_wait *wait, int status, const char *code, const char *type,
                   const char *message)
{
	char *body = query_error_json(code, type, NULL, message, NULL);

	reply_error(wait, status, reason_of(status), body);
	free(body);
}

/* ---- the worker's side of the queue ---- */

int query_emit(struct job *j, const char *buf, size_t len)
{
	struct query *q = j->q;
	struct chunk *c = malloc(sizeof(*c) + len);
	bool wake;

	if (!c)
		return -ENOMEM;
	c->next = NULL;
	c->len = len;
	memcpy(c->data, buf, len);
	pthread_mutex_lock(&q->mu);
	/* a query cancelled by .cancel query still tells its client why */
	while (j->queued >= QUERY_QUEUE_BYTES && !j->gone && !q->stop)
		pthread_cond_wait(&q->space, &q->mu);
	if (j->gone || q->stop) {
		pthread_mutex_unlock(&q->mu);
		free(c);
		return -ECANCELED;
	}
	*(j->tail ? &j->tail->next : &j->head) = c;
	j->tail = c;
	j->queued += len;
	/* the answer's last piece waits for query_finish's wake: one wake and
	 * one write for an answer that fits a chunk */
	wake = !j->notified && !j->last;
	if (wake) {
		j->notified = true;
		j->next = q->done;
		q->done = j;
	}
	pthread_mutex_unlock(&q->mu);
	if (wake)
		(void)eventfd_write(q->efd, 1);
	return 0;
}

/* The @message of a Kusto error body, into buf ("" when it has none). */
static const char *error_message(const char *error_json, char *buf, size_t len)
{
	json_t *e = error_json != NULL ? json_loads(error_json, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(json_object_get(e, "error"), "@message"));

	(void)snprintf(buf, len, "%s", m != NULL ? m : "");
	json_decref(e);
	return buf;
}

void query_finish(struct job *j, int status, char *error_json)
{
	struct query *q = j->q;
	char msg[512];
	bool wake;

	if (status != 0)
		(void)error_message(error_json, msg, sizeof(msg));
	pthread_mutex_lock(&q->mu);
	query_log_end_locked(j, status != 0 ? msg : NULL);
	j->done = true;
	j->status = status;
	j->error_json = error_json;
	wake = !j->notified;
	if (wake) {
		j->notified = true;
		j->next = q->done;
		q->done = j;
	}
	pthread_mutex_unlock(&q->mu);
	if (wake)
		(void)eventfd_write(q->efd, 1);
}

bool query_cancelled(struct job *j)
{
	bool c;

	pthread_mutex_lock(&j->q->mu);
	c = j->cancel || j->q->stop;
	pthread_mutex_unlock(&j->q->mu);
	return c;
}

/* With q->mu held: until a job or the stop.  Idle for TIDY_S, the worker
 * lets go of connections to query stores removed meanwhile (a detached
 * database's), whose space stays taken while a descriptor holds them. */
static void wait_work(struct query *q, struct qsess *sess)
{
	struct timespec until;

	while (!q->queue && !q->stop) {
		(void)clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TIDY_S;
		if (pthread_cond_timedwait(&q->work, &q->mu, &until) != ETIMEDOUT)
			continue;
		pthread_mutex_unlock(&q->mu);
		if (sess)
			query_sess_tidy(q, sess);
		query_pool_tidy(q);
		pthread_mutex_lock(&q->mu);
	}
}

static void *worker_main(void *arg)
{
	struct query *q = arg;
	struct store *store = NULL;
	struct qsess *sess = NULL;
	struct job *j;

	/* below the loop: with every core scanning, sync, /healthz and the
	 * views still get the CPU on time (a thread's nice is its own) */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), QUERY_NICE);
	pthread_mutex_lock(&q->mu);
	for (;;) {
		wait_work(q, sess);
		if (q->stop)
			break;
		j = q->queue;
		q->queue = j->next;
		if (!q->queue)
			q->queue_last = NULL;
		q->queued--;
		q->running++;
		pthread_mutex_unlock(&q->mu);
		if (sess || qsess_new(&sess) == 0)
			query_run(j, &store, sess);
		else
			query_finish(j, 503,
			             query_error_json("ServiceUnavailable",
			                              "Kusto.Data.Exceptions.KustoServiceException",
			                              NULL, "out of memory", j));
		pthread_mutex_lock(&q->mu);
		q->running--;
		q->finished++;
	}
	pthread_mutex_unlock(&q->mu);
	store_free(store);
	qsess_free(sess);
	return NULL;
}

/* ---- the loop's side: streaming ---- */

static size_t socket_backlog(struct job *j)
{
	struct evhttp_request *req = http_wait_request(j->wait);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;

	return bev ? evbuffer_get_length(bufferevent_get_output(bev)) : 0;
}

/* Moves the job's chunks to the connection while it has room. */
static bool pump(struct job *j)
{
	struct query *q = j->q;
	struct evbuffer *b = evbuffer_new();
	struct chunk *c;
	size_t moved = 0;

	if (!b)
		return false;
	pthread_mutex_lock(&q->mu);
	while ((c = j->head) && socket_backlog(j) + evbuffer_get_length(b) < QUERY_SOCKET_BYTES) {
		j->head = c->next;
		if (!j->head)
			j->tail = NULL;
		(void)evbuffer_add(b, c->data, c->len);
		moved += c->len;
		free(c);
	}
	j->queued -= moved;
	pthread_cond_broadcast(&q->space);
	bool rest = j->head != NULL;
	pthread_mutex_unlock(&q->mu);
	if (evbuffer_get_length(b) > 0)
		(void)http_wait_chunk(j->wait, b, NULL, NULL);
	evbuffer_free(b);
	return rest;
}

/* An answer that ended before any of it went out: all of it at once, with
 * a Content-Length (it is at most QUERY_QUEUE_BYTES and a chunk). */
static void reply_whole(struct job *j)
{
	struct query *q = j->q;
	struct evbuffer *b = evbuffer_new();
	struct chunk *c, *list;
	bool whole = b != NULL;

	/* the list is taken under the lock, copied outside it */
	pthread_mutex_lock(&q->mu);
	list = j->head;
	j->head = j->tail = NULL;
	j->queued = 0;
	pthread_mutex_unlock(&q->mu);
	while ((c = list)) {
		list = c->next;
		whole = whole && evbuffer_add(b, c->data, c->len) == 0;
		free(c);
	}
	if (whole)
		http_wait_reply(j->wait, 200, "OK", JSON_TYPE, b);
	else
		http_wait_error(j->wait, 503, "ServiceUnavailable", "out of memory");
	j->wait = NULL;
	evbuffer_free(b);
	job_free(j);
}

static void arm_drain(struct job *j)
{
	struct timeval tv = {0, DRAIN_MS * 1000};

	(void)event_add(j->drain, &tv);
}

/* What the loop does with a job the worker touched (or a drain timer). */
static void advance(struct job *j)
{
	struct query *q = j->q;
	bool done, listed, more;

	pthread_mutex_lock(&q->mu);
	done = j->done;
	listed = j->notified;
	pthread_mutex_unlock(&q->mu);
	/* An ended job still on q->done (a drain timer fired first) is the
	 * loop's to free only once on_done has taken it off that list. */
	if (done && listed)
		return;
	if (!j->wait) { /* the client went away: only the worker's end matters */
		if (done)
			job_free(j);
		return;
	}
	if (done && j->status != 0 && !j->started) {
		reply_error(j->wait, j->status, reason_of(j->status), j->error_json);
		job_free(j);
		return;
	}
	if (done && !j->started) {
		reply_whole(j);
		return;
	}
	if (!j->started) {
		http_wait_start(j->wait, 200, "OK", JSON_TYPE);
		j->started = true;
	}
	more = pump(j);
	if (more) {
		arm_drain(j);
	} else if (done) {
		http_wait_end(j->wait);
		job_free(j);
	}
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
	advance(arg);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct query *q = arg;
	struct job *list, *j;
	eventfd_t v;

	(void)eventfd_read(q->efd, &v);
	pthread_mutex_lock(&q->mu);
	list = q->done;
	q->done = NULL;
	for (j = list; j; j = j->next)
		j->notified = false;
	pthread_mutex_unlock(&q->mu);
	while ((j = list)) {
		list = j->next;
		if (!event_pending(j->drain, EV_TIMEOUT, NULL))
			advance(j);
	}
	query_wait_cancelled(q);
}

/* The client went away: the worker stops at its next check. */
static void on_gone(void *arg)
{
	struct job *j = arg;

	pthread_mutex_lock(&j->q->mu);
	query_cancel_locked(j, "the client closed its connection");
	j->gone = true;
	pthread_mutex_unlock(&j->q->mu);
	j->wait = NULL;
	if (event_pending(j->drain, EV_TIMEOUT, NULL))
		event_del(j->drain);
	/* freed when the worker reports its end (advance sees no wait) */
	pthread_mutex_lock(&j->q->mu);
	bool done = j->done && !j->notified;
	pthread_mutex_unlock(&j->q->mu);
	if (done)
		job_free(j);
}

/* ---- requests ---- */

/* A new activity id (the loop's): a GUID of version 4's shape, unique in
 * this process and unpredictable across processes: each half is murmur3's
 * finalizer (a bijection) of a counter xor a random key drawn once.
 * RAND_bytes per request was ~3% of a small query's CPU. */
static void new_activity_id(char out[37])
{
	static uint64_t key[2], n;
	static bool keyed;
	unsigned char b[16];
	uint64_t h[2];

	if (!keyed && RAND_bytes((unsigned char *)key, sizeof(key)) != 1)
		key[0] = (uint64_t)timefmt_now() ^ ((uint64_t)getpid() << 32);
	keyed = true;
	n++;
	h[0] = hash64_fmix(key[0] ^ n);
	h[1] = hash64_fmix(key[1] ^ n);
	memcpy(b, h, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	(void)snprintf(out, 37,
	               "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	               b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	               b[13], b[14], b[15]);
}

/* The client's request id, printable ASCII only, bounded. */
static void request_id(struct evhttp_request *req, char out[128])
{
	const char *s =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "x-ms-client-request-id");
	size_t n = 0;

	for (; s && *s && n + 1 < 128; s++)
		if (*s >= 0x20 && *s < 0x7f)
			out[n++] = *s;
	out[n] = '\0';
}

static void headers(struct job *j)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(http_wait_request(j->wait));

	if (j->request_id[0])
		(void)evhttp_add_header(h, "x-ms-client-request-id", j->request_id);
	(void)evhttp_add_header(h, "x-ms-activity-id", j->activity_id);
}

/* The followed database shown as name in call's list, or NULL. */
static const struct views_db *db_named(const struct http_kusto_call *call, const char *name)
{
	for (size_t i = 0; name && i < call->ndbs; i++)
		if (strcmp(call->dbs[i].info.local_name, name) == 0)
			return &call->dbs[i];
	return NULL;
}

/* The database (borrowed from call) and the caller's right to its data;
 * 0, or answered. */
static int authorize(const struct http_kusto_call *call, const char *name,
                     const struct views_db **ret)
{
	const struct views_db *d;
	char msg[1600];
	unsigned roles;

	if (!call->views || !call->views->store || !call->dbs_ok) {
		refuse(call->wait, 503, "ServiceUnavailable",
		       "Kusto.Data.Exceptions.KustoServiceException",
		       "the state store is not open yet, or cannot be read; retry");
		return -1;
	}
	if (!(d = db_named(call, name))) {
		(void)snprintf(msg, sizeof(msg), "database '%s' is not followed here",
		               name ? name : "");
		refuse(call->wait, 404, "BadRequest_EntityNotFound",
		       "Kusto.Data.Exceptions.EntityNotFoundException", msg);
		return -1;
	}
	roles = call->who->superuser ? AUTH_ROLES_ALL : auth_roles(&d->effective, call->who->fqn);
	if (!auth_allowed(call->who, roles, AUTH_REQ_DATA, call->allow_anonymous)) {
		(void)snprintf(msg, sizeof(msg), "%s may not query database '%s'",
		               call->who->fqn[0] ? call->who->fqn : "an anonymous caller", name);
		refuse(call->wait, 403, "Forbidden",
		       "Kusto.Data.Exceptions.KustoRequestDeniedException", msg);
		return -1;
	}
	*ret = d;
	return 0;
}

/* Collecting the other databases a query names (kql_lex_databases). */
struct names {
	const struct http_kusto_call *call;
	const char *current;
	struct foreign *v;
	size_t n;
	char forbidden[256]; /* the first one the caller may not read */
	bool too_many;
};

static void foreign_set(struct foreign *f, const char *name, const struct views_db *d)
{
	(void)snprintf(f->name, sizeof(f->name), "%s", name);
	(void)snprintf(f->config, sizeof(f->config), "%s", d->info.config);
	f->id = d->info.id;
}

static int add_name(void *arg, const char *name)
{
	struct names *ns = arg;
	const struct views_db *d;
	unsigned roles;

	if (strcmp(name, ns->current) == 0)
		return 0;
	for (size_t i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i].name, name) == 0)
			return 0;
	if (!(d = db_named(ns->call, name)))
		return 0; /* unknown: the binder names it */
	roles = ns->call->who->superuser ? AUTH_ROLES_ALL
	                                 : auth_roles(&d->effective, ns->call->who->fqn);
	if (!auth_allowed(ns->call->who, roles, AUTH_REQ_DATA, ns->call->allow_anonymous))
		(void)snprintf(ns->forbidden, sizeof(ns->forbidden), "%s", name);
	else if (ns->n == QUERY_FOREIGN_MAX)
		ns->too_many = true;
	else
		foreign_set(&ns->v[ns->n++], name, d);
	return ns->forbidden[0] != '\0' || ns->too_many ? 1 : 0;
}

/* The other databases j's query names (database("X")), each one the caller
 * may read; 0, or answered (403 naming a database it may not read). */
static int authorize_foreign(struct job *j, const struct http_kusto_call *call)
{
	struct names ns = {.call = call, .current = j->db, .v = j->foreign};
	char msg[1600];

	if (strstr(j->req.csl, "database") == NULL)
		return 0;
	(void)kql_lex_databases(j->req.csl, strlen(j->req.csl), add_name, &ns);
	j->nforeign = ns.n;
	if (ns.too_many) {
		(void)snprintf(msg, sizeof(msg), "a query may read at most %d other databases",
		               QUERY_FOREIGN_MAX);
		refuse(call->wait, 400, "General_BadRequest",
		       "Kusto.Data.Exceptions.KustoBadRequestException", msg);
		return -1;
	}
	if (ns.forbidden[0] == '\0')
		return 0;
	(void)snprintf(msg, sizeof(msg), "%s may not query database '%s'",
	               call->who->fqn[0] ? call->who->fqn : "an anonymous caller", ns.forbidden);
	refuse(call->wait, 403, "Forbidden", "Kusto.Data.Exceptions.KustoRequestDeniedException",
	       msg);
	return -1;
}

static struct job *job_new(struct query *q, const struct http_kusto_call *call, struct kreq *kr,
                           const struct views_db *d)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j || !(j->drain = evtimer_new(q->base, on_drain, j))) {
		free(j);
		return NULL;
	}
	j->q = q;
	j->wait = call->wait;
	j->req = *kr;
	*kr = (struct kreq){0};
	j->shape = call->v1 ? KFRAME_V1 : j->req.opts.fragmented ? KFRAME_V2_FRAGMENTED : KFRAME_V2;
	(void)snprintf(j->config, sizeof(j->config), "%s", d->info.config);
	(void)snprintf(j->db, sizeof(j->db), "%s", d->info.local_name);
	j->db_id = d->info.id;
	request_id(http_wait_request(j->wait), j->request_id);
	new_activity_id(j->activity_id);
	j->deadline = timefmt_now() + j->req.opts.timeout;
	j->budget.limit = q->max_memory;
	return j;
}

/* Queues j; false when the queue is full. */
static bool enqueue(struct query *q, struct job *j)
{
	pthread_mutex_lock(&q->mu);
	if (q->queued >= QUERY_QUEUE_MAX) {
		pthread_mutex_unlock(&q->mu);
		return false;
	}
	*(q->queue_last ? &q->queue_last->next : &q->queue) = j;
	q->queue_last = j;
	q->queued++;
	pthread_cond_signal(&q->work);
	pthread_mutex_unlock(&q->mu);
	return true;
}

void query_set_max_memory(struct query *q, uint64_t bytes)
{
	if (q)
		q->max_memory = bytes;
}

void query_counts(struct query *q, uint64_t *running, uint64_t *queued, uint64_t *finished)
{
	pthread_mutex_lock(&q->mu);
	*running = q->running;
	*queued = q->queued;
	*finished = q->finished;
	pthread_mutex_unlock(&q->mu);
}

int query_info_of_request(struct evhttp_request *req, const struct auth_principal *who,
                          struct query_info *r)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : NULL;
	const char *app = evhttp_find_header(evhttp_request_get_input_headers(req), "x-ms-app");
	struct kreq kr = {0};
	char err[KREQ_ERRLEN];

	if (body == NULL || kreq_parse(body, len, &kr, err) < 0)
		return -EINVAL;
	request_id(req, r->request_id);
	(void)snprintf(r->db, sizeof(r->db), "%s", kr.db != NULL ? kr.db : "");
	(void)snprintf(r->user, sizeof(r->user), "%s", who->fqn);
	(void)snprintf(r->app, sizeof(r->app), "%s", app != NULL ? app : "");
	r->text = kr.csl; /* taken over */
	kr.csl = NULL;
	r->started = timefmt_now();
	kreq_clear(&kr);
	return 0;
}

void query_throttled(struct query *q, struct evhttp_request *req, const struct auth_principal *who)
{
	struct query_info r = {.state = QUERY_THROTTLED};

	if (q == NULL || query_info_of_request(req, who, &r) < 0)
		return;
	(void)snprintf(r.reason, sizeof(r.reason),
	               "refused: max_concurrent_queries were running and waiting");
	r.ended = r.started;
	query_log_refused(q, &r);
	free(r.text);
}

void query_request(struct query *q, const struct http_kusto_call *call)
{
	struct kreq kr = {0};
	const struct views_db *d = NULL;
	char err[KREQ_ERRLEN];
	struct job *j;

	if (kreq_parse(call->body, call->len, &kr, err) < 0)
		return refuse(call->wait, 400, "BadRequest",
		              "Kusto.Data.Exceptions.KustoBadRequestException", err);
	if (authorize(call, kr.db, &d) < 0) {
		kreq_clear(&kr);
		return;
	}
	j = job_new(q, call, &kr, d);
	kreq_clear(&kr);
	if (!j)
		return refuse(call->wait, 503, "ServiceUnavailable",
		              "Kusto.Data.Exceptions.KustoServiceException", "out of memory");
	if (authorize_foreign(j, call) < 0) {
		job_free(j);
		return;
	}
	headers(j);
	query_log_start(
	    j, call->who->fqn,
	    evhttp_find_header(evhttp_request_get_input_headers(http_wait_request(j->wait)),
	                       "x-ms-app"));
	http_wait_on_gone(j->wait, on_gone, j);
	if (!enqueue(q, j)) {
		struct http_wait *w = j->wait;
		query_log_drop(j, QUERY_THROTTLED, "too many queries are waiting for a worker");
		job_free(j);
		refuse(w, 429, "TooManyRequests",
		       "Kusto.Data.Exceptions.KustoRequestThrottledException",
		       "too many queries are waiting; retry later");
	}
}

/* ---- life ---- */

int query_new(struct event_base *base, const char *store_path, const char *cache_dir,
              struct qsync *qsync, struct query **ret, char *err, size_t errlen)
{
	struct query *q = calloc(1, sizeof(*q));
	int r = -ENOMEM;

	if (q)
		q->efd = -1; /* nothing to close yet */
	if (!q || !(q->store_path = strdup(store_path)) || !(q->cache_dir = strdup(cache_dir)) ||
	    !(q->log = calloc(QUERY_LOG_MAX, sizeof(*q->log))))
		goto fail;
	q->base = base;
	q->qsync = qsync;
	q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->efd < 0 ||
	    !(q->efd_ev = event_new(base, q->efd, EV_READ | EV_PERSIST, on_done, q)) ||
	    event_add(q->efd_ev, NULL) < 0) {
		r = q->efd < 0 ? -errno : -ENOMEM;
		goto fail;
	}
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->work, NULL);
	pthread_cond_init(&q->space, NULL);
	if ((r = qrt_init(q)) < 0) {
		query_free(q);
		(void)snprintf(err, errlen, "cannot start the query workers: %s", strerror(-r));
		return r;
	}
	for (; q->nthreads < QUERY_WORKERS; q->nthreads++)
		if ((r = pthread_create(&q->threads[q->nthreads], NULL, worker_main, q)) != 0) {
			r = -r;
			query_free(q);
			(void)snprintf(err, errlen, "cannot start the query workers: %s",
			               strerror(-r));
			return r;
		}
	*ret = q;
	return 0;
fail:
	(void)snprintf(err, errlen, "cannot start the query workers: %s", strerror(-r));
	if (q) {
		if (q->efd_ev)
			event_free(q->efd_ev);
		if (q->efd >= 0)
			close(q->efd);
		free(q->store_path);
		free(q->cache_dir);
		free(q->log);
		free(q);
	}
	return r;
}

void query_free(struct query *q)
{
	struct job *j;

	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	for (j = q->queue; j; j = j->next)
		j->cancel = true;
	pthread_cond_broadcast(&q->work);
	pthread_cond_broadcast(&q->space);
	pthread_mutex_unlock(&q->mu);
	for (size_t i = 0; i < q->nthreads; i++)
		pthread_join(q->threads[i], NULL);
	query_pool_free(q);
	qrt_free(q);
	while ((j = q->queue)) {
		q->queue = j->next;
		job_free(j);
	}
	/* ended by the workers after the loop stopped (http is freed first:
	 * their clients are gone) */
	while ((j = q->done)) {
		q->done = j->next;
		job_free(j);
	}
	event_free(q->efd_ev);
	close(q->efd);
	query_log_free(q);
	pthread_cond_destroy(&q->space);
	pthread_cond_destroy(&q->work);
	pthread_mutex_destroy(&q->mu);
	free(q->store_path);
	free(q->cache_dir);
	free(q);
}

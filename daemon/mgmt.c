/*
 * mgmt — the Kusto management surface and the configuration overlay of the
 * running daemon (see mgmt.h): life, the worker thread and the Kusto hook.
 *
 * The worker takes jobs from a FIFO under a mutex and puts them, answered,
 * on a done list; the eventfd is written when that list goes from empty to
 * not empty, and the loop drains it and sends the replies.  A request
 * handed to a job stays valid until it is answered (evhttp keeps a request
 * whose connection closed until its reply, which then just frees it).
 */
#include "mgmt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "store/store.h"
#include "util/timefmt.h"

/* ---- replies ---- */

static void free_body(const void *data, size_t len, void *arg)
{
	free(arg);
}

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return status < 500 ? "Error" : "Internal Server Error";
	}
}

void mgmt_reply(struct evhttp_request *req, int status, char *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	(void)evhttp_add_header(h, "Content-Type", "application/json");
	(void)evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	(void)evhttp_add_header(h, "Cache-Control", "no-store");
	if (body == NULL)
		(void)evbuffer_add(out, "{}", 2);
	else if (evbuffer_add_reference(out, body, strlen(body), free_body, body) < 0)
		free(body);
	evhttp_send_reply(req, status, reason_of(status), NULL);
}

/* A Kusto-shaped error answer. */
static void reply_kusto_error(struct evhttp_request *req, enum kusto_errcode code,
                              const char *message)
{
	struct kusto_error e = {.code = code};

	(void)snprintf(e.message, sizeof(e.message), "%s", message);
	mgmt_reply(req, kusto_error_status(code), kusto_error_body(&e));
}

/* ---- configurations ---- */

void mgmt_conf_unref(struct mgmt *m, struct mconf *mc)
{
	if (mc == NULL || --mc->refs > 0)
		return;
	conf_free(mc->conf);
	free(mc);
}

void mgmt_set_conf(struct mgmt *m, const struct conf *file, struct conf *eff)
{
	struct mconf *mc = calloc(1, sizeof(*mc));

	m->file = file;
	if (mc == NULL) {
		/* Keep the previous one alive for ever rather than crash: rare. */
		log_err("mgmt: out of memory; a configuration is leaked");
		mc = m->cur;
		m->cur = NULL;
		if (mc != NULL)
			mc->refs++;
		mgmt_conf_unref(m, mc);
		return;
	}
	mc->conf = eff;
	mc->refs = 1;
	mgmt_conf_unref(m, m->cur);
	m->cur = mc;
}

void mgmt_set_query(struct mgmt *m, struct query *q)
{
	m->query = q;
}

const struct conf *mgmt_conf(const struct mgmt *m)
{
	return m->cur != NULL ? m->cur->conf : NULL;
}

static void compose_warn(void *arg, const char *name, int error, const char *why)
{
	log_warning("attachment %s: the admin's change no longer applies (%s): %s", name,
	            strerror(-error), why);
}

int mgmt_compose(struct mgmt *m, const struct conf *file, struct conf **ret, char *err,
                 size_t errlen)
{
	return overlay_compose(m->overlay, file, NULL, compose_warn, m, ret, err, errlen);
}

/* ---- jobs ---- */

void mgmt_job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->body);
	free(j->out);
	mgmt_change_free(j->change);
	free(j);
}

int mgmt_submit(struct mgmt *m, struct job *j)
{
	int r = 0;

	j->next = NULL;
	(void)pthread_mutex_lock(&m->mu);
	if (m->quit || (j->kind == JOB_SHOW && m->nqueued >= MGMT_QUEUE_MAX)) {
		r = -EAGAIN;
	} else {
		*m->queue_tail = j;
		m->queue_tail = &j->next;
		m->nqueued++;
		(void)pthread_cond_signal(&m->cv);
	}
	(void)pthread_mutex_unlock(&m->mu);
	return r;
}

/* ---- the worker ---- */

static void show_run(struct mgmt *m, struct job *j)
{
	struct mgmt_be b = {
	    .who = &j->who, .allow_anonymous = j->allow_anonymous, .query = m->query};
	struct kusto_backend be;
	struct kusto_error e;
	char err[STORE_ERRLEN] = "";
	bool snap = false;

	if (m->test_delay_ms > 0) {
		struct timespec ts = {m->test_delay_ms / 1000, m->test_delay_ms % 1000 * 1000000};

		(void)nanosleep(&ts, NULL); /* the worker's thread, never the loop */
	}
	if (m->ro == NULL && store_open_readonly(m->store_path, &m->ro, err) < 0)
		m->ro = NULL; /* not there yet: nothing is followed */
	b.v = (struct views_ctx){.store = m->ro, .conf = j->mc->conf, .now = timefmt_now()};
	if (m->ro != NULL && views_begin(&b.v, err) == 0)
		snap = true;
	else if (m->ro != NULL)
		b.v.store = NULL;
	mgmt_be_init(&b, &be);
	if (kusto_mgmt(j->body, j->len, &be, false, &j->status, &j->out, &e) < 0) {
		j->status = 500;
		j->out = NULL;
	}
	if (snap)
		views_end(&b.v);
	mgmt_be_clear(&b);
}

static struct job *take_job(struct mgmt *m)
{
	struct job *j = NULL;

	(void)pthread_mutex_lock(&m->mu);
	while (!m->quit && m->queue == NULL)
		(void)pthread_cond_wait(&m->cv, &m->mu);
	if (!m->quit && (j = m->queue) != NULL) {
		m->queue = j->next;
		if (m->queue == NULL)
			m->queue_tail = &m->queue;
		m->nqueued--;
	}
	(void)pthread_mutex_unlock(&m->mu);
	return j;
}

static void put_done(struct mgmt *m, struct job *j)
{
	uint64_t one = 1;
	bool wake;

	j->next = NULL;
	(void)pthread_mutex_lock(&m->mu);
	wake = m->done == NULL;
	*m->done_tail = j;
	m->done_tail = &j->next;
	(void)pthread_mutex_unlock(&m->mu);
	if (wake)
		(void)!write(m->efd, &one, sizeof(one));
}

static void *worker_main(void *arg)
{
	struct mgmt *m = arg;
	struct job *j;

	while ((j = take_job(m)) != NULL) {
		if (j->kind == JOB_SHOW)
			show_run(m, j);
		else
			mgmt_persist_run(m, j);
		put_done(m, j);
	}
	store_free(m->ro);
	store_free(m->rw);
	m->ro = m->rw = NULL;
	return NULL;
}

/* ---- back on the loop ---- */

static void deliver(struct mgmt *m, struct job *j)
{
	if (j->kind == JOB_PERSIST) {
		mgmt_persist_done(m, j);
	} else {
		mgmt_reply(j->req, j->status, j->out);
		j->out = NULL;
	}
	mgmt_conf_unref(m, j->mc);
	mgmt_job_free(j);
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct mgmt *m = arg;
	struct job *j, *next;
	uint64_t n;

	(void)!read(m->efd, &n, sizeof(n));
	(void)pthread_mutex_lock(&m->mu);
	j = m->done;
	m->done = NULL;
	m->done_tail = &m->done;
	(void)pthread_mutex_unlock(&m->mu);
	for (; j != NULL; j = next) {
		next = j->next;
		deliver(m, j);
	}
}

/* ---- the Kusto hook ---- */

/* A read command (or anything that is not a control command): to the
 * worker, with the effective configuration of now. */
static void submit_show(struct mgmt *m, struct evhttp_request *req,
                        const struct http_kusto_call *call)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL || (j->body = malloc(call->len + 1)) == NULL) {
		free(j);
		return reply_kusto_error(req, KUSTO_E_INTERNAL, "out of memory");
	}
	memcpy(j->body, call->body, call->len);
	j->body[call->len] = '\0';
	j->len = call->len;
	j->kind = JOB_SHOW;
	j->req = req;
	j->who = *call->who;
	j->allow_anonymous = call->allow_anonymous;
	j->mc = m->cur;
	m->cur->refs++;
	if (mgmt_submit(m, j) == 0)
		return;
	mgmt_conf_unref(m, j->mc);
	j->mc = NULL;
	mgmt_job_free(j);
	reply_kusto_error(req, KUSTO_E_INTERNAL, "too many management requests at once; retry");
}

/* Whether the caller may run control commands on db: unknown or invisible
 * databases are let through to answer 404. */
static bool may_control(struct mgmt_be *b, const char *db)
{
	const struct views_db *d = NULL;
	char err[KUSTO_ERRLEN];

	if (mgmt_be_find(b, db, &d, err) < 0)
		return true;
	return mgmt_be_may(b, d, AUTH_REQ_CONTROL);
}

/* A control command, on the loop over the request's snapshot. */
static void run_control(struct mgmt *m, struct evhttp_request *req,
                        const struct http_kusto_call *call, const char *db)
{
	struct mgmt_be b = {.who = call->who, .allow_anonymous = call->allow_anonymous, .m = m};
	struct kusto_backend be;
	struct kusto_error e;
	char *out = NULL;
	int status = 500;

	b.v = *call->views;
	b.v.conf = mgmt_conf(m);
	mgmt_be_init(&b, &be);
	if (kusto_mgmt(call->body, call->len, &be, may_control(&b, db), &status, &out, &e) < 0) {
		mgmt_be_clear(&b);
		return reply_kusto_error(req, KUSTO_E_INTERNAL, "out of memory");
	}
	if (status != 200)
		log_info("mgmt: %s: %s", call->who->fqn[0] != '\0' ? call->who->fqn : "anonymous",
		         e.message);
	if (b.change != NULL) {
		struct mgmt_change *c = b.change;

		b.change = NULL;
		b.changed = NULL;
		mgmt_be_clear(&b);
		return mgmt_change_commit(m, c, req, true, status, out);
	}
	mgmt_be_clear(&b);
	mgmt_reply(req, status, out);
}

void mgmt_on_mgmt(void *arg, struct evhttp_request *req, const struct http_kusto_call *call)
{
	struct mgmt *m = arg;
	struct kusto_request kr = {0};
	struct kusto_cmd cmd = {0};
	struct kusto_error e;
	bool control = false;

	if (kusto_request_decode(call->body, call->len, &kr, &e) == 0 &&
	    kusto_parse(kr.csl, strlen(kr.csl), &cmd, &e) == 0)
		control = kusto_cmd_is_write(&cmd) && cmd.database != NULL;
	if (control)
		run_control(m, req, call, cmd.database);
	else
		submit_show(m, req, call);
	kusto_cmd_clear(&cmd);
	kusto_request_clear(&kr);
}

/* ---- life ---- */

static int load_entry(void *arg, const char *name, const char *json)
{
	struct mgmt *m = arg;
	char err[MGMT_ERRLEN];

	if (overlay_set(m->overlay, name, json, err, sizeof(err)) < 0)
		log_warning("state store: attachment %s: ignoring a malformed run-time change: %s",
		            name, err);
	return 0;
}

/* Reads the overlay from the store (created when absent). */
static int load_overlay(struct mgmt *m, char *err, size_t errlen)
{
	char serr[STORE_ERRLEN] = "", dir[4096];
	struct store *s = NULL;
	char *slash;
	int r;

	(void)snprintf(dir, sizeof(dir), "%s", m->store_path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			r = -errno;
			(void)snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			return r;
		}
	}
	r = store_open(m->store_path, &s, serr);
	if (r == 0)
		r = store_overlay_list(s, load_entry, m, serr);
	store_free(s);
	if (r < 0)
		(void)snprintf(err, errlen, "%s: %s", m->store_path, serr);
	return r;
}

static int start_worker(struct mgmt *m, char *err, size_t errlen)
{
	int r;

	m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->efd < 0 ||
	    (m->efd_ev = event_new(m->base, m->efd, EV_READ | EV_PERSIST, on_done, m)) == NULL ||
	    event_add(m->efd_ev, NULL) < 0) {
		(void)snprintf(err, errlen, "cannot set up the management worker");
		return -ENOMEM;
	}
	r = pthread_create(&m->thread, NULL, worker_main, m);
	if (r != 0) {
		(void)snprintf(err, errlen, "cannot start the management worker: %s", strerror(r));
		return -r;
	}
	m->started = true;
	return 0;
}

int mgmt_new(struct event_base *base, const char *store_path, const struct mgmt_events *ev,
             struct mgmt **ret, char *err, size_t errlen)
{
	struct mgmt *m = calloc(1, sizeof(*m));
	int r = -ENOMEM;

	if (m == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->base = base;
	m->ev = *ev;
	m->efd = -1;
	m->queue_tail = &m->queue;
	m->done_tail = &m->done;
	m->test_delay_ms = getenv("FOLLOWERD_TEST_QUERY_DELAY_MS") != NULL
	                       ? strtol(getenv("FOLLOWERD_TEST_QUERY_DELAY_MS"), NULL, 10)
	                       : 0;
	(void)pthread_mutex_init(&m->mu, NULL);
	(void)pthread_cond_init(&m->cv, NULL);
	if ((m->store_path = strdup(store_path)) == NULL || overlay_new(&m->overlay) < 0)
		(void)snprintf(err, errlen, "out of memory");
	else if ((r = load_overlay(m, err, errlen)) == 0)
		r = start_worker(m, err, errlen);
	if (r < 0) {
		mgmt_free(m);
		return r;
	}
	*ret = m;
	return 0;
}

/* Answers what the worker left undone. */
static void drain(struct mgmt *m)
{
	struct job *j, *next;

	on_done(m->efd, EV_READ, m);
	for (j = m->queue; j != NULL; j = next) {
		next = j->next;
		if (j->kind == JOB_PERSIST)
			mgmt_persist_done(m, j); /* j->persist: -ECANCELED, not written */
		else
			reply_kusto_error(j->req, KUSTO_E_INTERNAL, "followerd is stopping");
		mgmt_conf_unref(m, j->mc);
		mgmt_job_free(j);
	}
	m->queue = NULL;
}

void mgmt_stop(struct mgmt *m)
{
	if (m == NULL || !m->started)
		return;
	(void)pthread_mutex_lock(&m->mu);
	m->quit = true;
	(void)pthread_cond_signal(&m->cv);
	(void)pthread_mutex_unlock(&m->mu);
	(void)pthread_join(m->thread, NULL);
	m->started = false;
	drain(m);
}

void mgmt_free(struct mgmt *m)
{
	if (m == NULL)
		return;
	mgmt_stop(m);
	if (m->efd_ev != NULL)
		event_free(m->efd_ev);
	if (m->efd >= 0)
		(void)close(m->efd);
	mgmt_conf_unref(m, m->cur);
	overlay_free(m->overlay);
	(void)pthread_mutex_destroy(&m->mu);
	(void)pthread_cond_destroy(&m->cv);
	free(m->store_path);
	free(m);
}

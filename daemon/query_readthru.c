/*
 * query_readthru — a query's cold extents read through for it (see
 * query_readthru.h): the worker's list and wait, the loop's demands.
 */
#include "query_readthru.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "query_extents.h"
#include "query_int.h"
#include "cache/cache.h"
#include "cache/warm.h"
#include "util/timefmt.h"

#define WAIT_SLICE_MS 100 /* a cancel is seen within this */

struct qrt_item {
	struct qrt_art art;
	struct warm_demand *dem; /* the loop's; NULL once ended */
	struct qrt_batch *b;
};

struct qrt_batch {
	struct qrt_batch *next; /* q->rt_posted */
	struct query *q;
	char db[256]; /* the store's (config) name */
	struct qrt_item *items;
	size_t n;
	bool loop_closing; /* the loop's copy of closing, taken when drained */
	/* under q->mu */
	bool posted, closing;
	size_t pending;
	int result;
	char error[512];
};

/* ---- the list (worker) ---- */

static bool cached(const char *cache_dir, const struct proto_artifact *a)
{
	char path[4096];

	return cache_path_in(cache_dir, a->sha256, path, sizeof(path)) == 0 &&
	       access(path, R_OK) == 0;
}

static int push(struct qrt_need *n, const struct proto_artifact *a)
{
	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 16;
		struct qrt_art *v = reallocarray(n->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		n->v = v;
		n->cap = cap;
	}
	memcpy(n->v[n->n].sha256, a->sha256, sizeof(n->v[n->n].sha256));
	n->v[n->n++].size = a->size;
	n->bytes += a->size;
	return 0;
}

int qrt_need_add(struct qrt_need *n, const char *cache_dir, const struct proto_extent *x)
{
	int cold = 0, r;

	for (size_t i = 0; i < x->nartifacts; i++) {
		if (cached(cache_dir, &x->artifacts[i]))
			continue;
		if ((r = push(n, &x->artifacts[i])) < 0)
			return r;
		cold = 1;
	}
	n->extents += (uint64_t)cold;
	return cold;
}

void qrt_need_clear(struct qrt_need *n)
{
	free(n->v);
	*n = (struct qrt_need){0};
}

/* ---- the worker's side ---- */

static struct qrt_batch *batch_new(struct job *j, const struct qrt_need *n)
{
	struct qrt_batch *b = calloc(1, sizeof(*b));

	if (!b || !(b->items = calloc(n->n + 1, sizeof(*b->items)))) {
		free(b);
		return NULL;
	}
	b->q = j->q;
	(void)snprintf(b->db, sizeof(b->db), "%s", j->config);
	for (size_t i = 0; i < n->n; i++)
		b->items[i] = (struct qrt_item){n->v[i], NULL, b};
	b->n = b->pending = n->n;
	return b;
}

/* Hands b to the loop (under q->mu); false when it is there already. */
static bool post(struct query *q, struct qrt_batch *b)
{
	if (b->posted)
		return false;
	b->posted = true;
	b->next = q->rt_posted;
	q->rt_posted = b;
	return true;
}

static void wake_loop(struct query *q)
{
	(void)eventfd_write(q->rt_efd, 1);
}

static struct timespec slice_end(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += WAIT_SLICE_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* Waits for b's end (under q->mu); 0 or a negative errno. */
static int wait_batch(struct job *j, struct qrt_batch *b)
{
	struct query *q = j->q;

	for (;;) {
		struct timespec until = slice_end();
		if (b->result < 0)
			return b->result;
		if (b->pending == 0)
			return 0;
		if (j->cancel || q->stop)
			return -ECANCELED;
		if (timefmt_now() >= j->deadline)
			return -ETIMEDOUT;
		(void)pthread_cond_timedwait(&q->rt_cond, &q->mu, &until);
	}
}

static void size_text(uint64_t bytes, char *buf, size_t len)
{
	if (bytes >= (UINT64_C(1) << 30))
		(void)snprintf(buf, len, "%.1f GiB", (double)bytes / (double)(UINT64_C(1) << 30));
	else if (bytes >= (UINT64_C(1) << 20))
		(void)snprintf(buf, len, "%.1f MiB", (double)bytes / (double)(UINT64_C(1) << 20));
	else
		(void)snprintf(buf, len, "%" PRIu64 " bytes", bytes);
}

/* The bound's message. */
static void over_bound(const struct job *j, const struct qrt_need *n, uint64_t max, char *msg,
                       size_t len)
{
	char need[32], bound[32];

	size_text(n->bytes, need, sizeof(need));
	size_text(max, bound, sizeof(bound));
	(void)snprintf(
	    msg, len,
	    "the query needs %" PRIu64 " extent%s of database '%s' that %s not in the cache (cold, "
	    "or still warming up): reading them through would fetch %s (%" PRIu64
	    " bytes), more than query_readthru_max_size allows (%s, %" PRIu64
	    " bytes). Narrow the query to fewer extents, with a time filter directly on the table "
	    "(e.g. '| where Timestamp > ago(1d)'), or query only what is loaded with "
	    "'set query_datascope=\"hotcache\";'",
	    n->extents, n->extents == 1 ? "" : "s", j->db, n->extents == 1 ? "is" : "are", need,
	    n->bytes, bound, max);
}

static void failed_msg(const struct job *j, int r, const struct qrt_batch *b, char *msg, size_t len)
{
	if (r == -ECANCELED)
		(void)snprintf(msg, len,
		               "the query was cancelled while its extents were read through");
	else if (r == -ETIMEDOUT)
		(void)snprintf(msg, len,
		               "Query execution has exceeded the allowed limits (80DA0001): the "
		               "servertimeout of the request passed while the query's extents were "
		               "read through");
	else
		(void)snprintf(
		    msg, len,
		    "database '%s': an extent the query needs could not be read through: "
		    "%s; retry, or query what is loaded with "
		    "set query_datascope='hotcache'",
		    j->db, b->error[0] ? b->error : strerror(-r));
}

/* Whether read-through is on, and its bound (under q->mu). */
static int admit(struct job *j, const struct qrt_need *n, char *msg, size_t len)
{
	struct query *q = j->q;

	if (!q->can_readthru)
		return -EOPNOTSUPP;
	if (n->bytes > q->readthru_max) {
		q->totals.readthru_refused++;
		over_bound(j, n, q->readthru_max, msg, len);
		return -EFBIG;
	}
	q->totals.readthru_extents += n->extents;
	return 0;
}

int qrt_fetch(struct job *j, const struct qrt_need *n, char *msg, size_t len)
{
	struct query *q = j->q;
	struct qrt_batch *b = NULL;
	int r;

	pthread_mutex_lock(&q->mu);
	r = admit(j, n, msg, len);
	pthread_mutex_unlock(&q->mu);
	if (r < 0 || n->n == 0)
		return r;
	if (!(b = batch_new(j, n))) {
		(void)snprintf(msg, len, "out of memory");
		return -ENOMEM;
	}
	pthread_mutex_lock(&q->mu);
	(void)post(q, b);
	pthread_mutex_unlock(&q->mu);
	wake_loop(q);
	pthread_mutex_lock(&q->mu);
	r = wait_batch(j, b);
	if (r < 0) {
		q->totals.readthru_failed += r != -ECANCELED;
		failed_msg(j, r, b, msg, len);
	}
	b->closing = true; /* the loop's from here on */
	(void)post(q, b);
	pthread_mutex_unlock(&q->mu);
	wake_loop(q);
	return r;
}

/* ---- the loop's side ---- */

static void on_demand(void *arg, const struct warm_demand_result *res)
{
	struct qrt_item *it = arg;
	struct qrt_batch *b = it->b;
	struct query *q = b->q;

	it->dem = NULL;
	if (res->result == 0)
		(void)close(res->fd); /* cached: qsync loads it from there */
	pthread_mutex_lock(&q->mu);
	b->pending--;
	if (res->result < 0 && b->result == 0) {
		b->result = res->result;
		(void)snprintf(b->error, sizeof(b->error), "%s", res->error ? res->error : "");
	} else if (res->result == 0) {
		q->totals.readthru_files++;
		q->totals.readthru_bytes += it->art.size;
	}
	pthread_cond_broadcast(&q->rt_cond);
	pthread_mutex_unlock(&q->mu);
}

/* A demand that could not start ends at once. */
static void start_failed(struct qrt_item *it, int r)
{
	struct warm_demand_result res = {.result = r, .fd = -1};
	char err[160];

	(void)snprintf(err, sizeof(err), "artifact %s: %s", it->art.sha256,
	               r == -EOPNOTSUPP ? "this daemon has no cache warmer" : strerror(-r));
	res.error = err;
	on_demand(it, &res);
}

static void start(struct query *q, struct qrt_batch *b)
{
	int r;

	for (size_t i = 0; i < b->n; i++) {
		struct qrt_item *it = &b->items[i];
		r = q->warm ? warm_demand(q->warm, it->art.sha256, b->db, on_demand, it, &it->dem)
		            : -EOPNOTSUPP;
		if (r < 0)
			start_failed(it, r);
	}
}

static void batch_free(struct qrt_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		warm_demand_cancel(b->items[i].dem);
	free(b->items);
	free(b);
}

/* Takes the posted batches; each one's closing as it was then. */
static struct qrt_batch *drain(struct query *q)
{
	struct qrt_batch *list;

	pthread_mutex_lock(&q->mu);
	list = q->rt_posted;
	q->rt_posted = NULL;
	for (struct qrt_batch *b = list; b; b = b->next) {
		b->posted = false;
		b->loop_closing = b->closing;
	}
	pthread_mutex_unlock(&q->mu);
	return list;
}

static void on_posted(evutil_socket_t fd, short what, void *arg)
{
	struct query *q = arg;
	struct qrt_batch *b, *next;
	eventfd_t v;

	(void)eventfd_read(q->rt_efd, &v);
	for (b = drain(q); b; b = next) {
		next = b->next;
		if (b->loop_closing)
			batch_free(b);
		else
			start(q, b);
	}
}

int qrt_init(struct query *q)
{
	int r;

	q->rt_efd = -1;
	pthread_cond_init(&q->rt_cond, NULL);
	if ((r = qx_cache_new(&q->xcache)) < 0)
		return r;
	q->rt_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (q->rt_efd < 0)
		return -errno;
	if (!(q->rt_ev = event_new(q->base, q->rt_efd, EV_READ | EV_PERSIST, on_posted, q)) ||
	    event_add(q->rt_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

void qrt_free(struct query *q)
{
	struct qrt_batch *b, *next;

	/* the workers are joined: every batch left was posted closing */
	for (b = drain(q); b; b = next) {
		next = b->next;
		batch_free(b);
	}
	if (q->rt_ev)
		event_free(q->rt_ev);
	if (q->rt_efd >= 0)
		close(q->rt_efd);
	pthread_cond_destroy(&q->rt_cond);
	qx_cache_free(q->xcache);
	query_attaches_free(q);
}

void qrt_count_run(struct query *q, uint64_t extents_skipped, uint64_t reused, uint64_t opened)
{
	pthread_mutex_lock(&q->mu);
	q->totals.extents_skipped += extents_skipped;
	q->totals.sessions_reused += reused;
	q->totals.sessions_opened += opened;
	pthread_mutex_unlock(&q->mu);
}

void qrt_count_scan(struct query *q, size_t nparts)
{
	pthread_mutex_lock(&q->mu);
	if (nparts > 1)
		q->totals.scans_split++;
	else
		q->totals.scans_hashed++;
	pthread_mutex_unlock(&q->mu);
}

void query_totals(struct query *q, struct http_query_totals *ret)
{
	pthread_mutex_lock(&q->mu);
	*ret = q->totals;
	pthread_mutex_unlock(&q->mu);
}

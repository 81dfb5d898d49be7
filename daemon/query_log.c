/*
 * query_log — the running and recent queries of the daemon (query.h):
 * each job carries its record while it runs (linked in q->live), and moves
 * it into a ring of the last QUERY_LOG_MAX ended ones when it ends, the
 * oldest leaving first (also while their text passes QUERY_LOG_BYTES).
 * Everything is under q->mu: workers end records and note rows, the loop
 * starts them, the management worker copies them (query_list) and cancels
 * (query_cancel) through the same flag a client that goes away sets.  A
 * running query's row count is the worker's atomic, read when copied.
 *
 * Requests waiting at the front door for a max_concurrent_queries slot
 * have a record too (struct query_wait, in q->waiting, Queued): the door
 * (the loop) starts and ends it; .cancel query, on another thread, marks
 * it and wakes the loop through the context's eventfd, where
 * query_wait_cancelled has the door answer it.
 */
#include "query_int.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

const char *query_state_name(enum query_state s)
{
	static const char *const names[] = {
	    [QUERY_IN_PROGRESS] = "InProgress", [QUERY_COMPLETED] = "Completed",
	    [QUERY_FAILED] = "Failed",          [QUERY_CANCELLED] = "Cancelled",
	    [QUERY_THROTTLED] = "Throttled",    [QUERY_QUEUED] = "Queued",
	};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "Unknown";
}

/* The first n bytes of s at most, not cutting a UTF-8 sequence. */
static char *cut_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

void query_log_start(struct job *j, const char *user, const char *app)
{
	struct query *q = j->q;
	struct query_info *r = &j->rec;

	(void)snprintf(r->request_id, sizeof(r->request_id), "%s", j->request_id);
	(void)snprintf(r->activity_id, sizeof(r->activity_id), "%s", j->activity_id);
	(void)snprintf(r->db, sizeof(r->db), "%s", j->db);
	(void)snprintf(r->user, sizeof(r->user), "%s", user);
	(void)snprintf(r->app, sizeof(r->app), "%s", app != NULL ? app : "");
	r->text = cut_text(j->req.csl != NULL ? j->req.csl : "", QUERY_TEXT_MAX);
	r->started = timefmt_now();
	r->state = QUERY_IN_PROGRESS;
	pthread_mutex_lock(&q->mu);
	j->live_prev = NULL;
	j->live_next = q->live;
	if (q->live != NULL)
		q->live->live_prev = j;
	q->live = j;
	j->live = true;
	pthread_mutex_unlock(&q->mu);
}

static void unlink_live(struct job *j)
{
	struct query *q = j->q;

	*(j->live_prev != NULL ? &j->live_prev->live_next : &q->live) = j->live_next;
	if (j->live_next != NULL)
		j->live_next->live_prev = j->live_prev;
	j->live_prev = j->live_next = NULL;
	j->live = false;
}

static size_t text_len(const struct query_info *r)
{
	return r->text != NULL ? strlen(r->text) : 0;
}

/* Moves r into the ring (its text too), the oldest leaving for room. */
static void log_push(struct query *q, struct query_info *r)
{
	size_t len = text_len(r);

	while (q->log_n > 0 && (q->log_n == QUERY_LOG_MAX || q->log_text + len > QUERY_LOG_BYTES)) {
		struct query_info *old = &q->log[q->log_head];
		q->log_text -= text_len(old);
		free(old->text);
		old->text = NULL;
		q->log_head = (q->log_head + 1) % QUERY_LOG_MAX;
		q->log_n--;
	}
	q->log[(q->log_head + q->log_n) % QUERY_LOG_MAX] = *r;
	q->log_n++;
	q->log_text += len;
	r->text = NULL;
}

/* Ends j's record with state and reason (NULL: keep the one noted). */
static void end_locked(struct job *j, enum query_state state, const char *reason)
{
	struct query_info *r = &j->rec;

	if (!j->live)
		return;
	unlink_live(j);
	r->ended = timefmt_now();
	r->mem_peak = __atomic_load_n(&j->budget.peak, __ATOMIC_RELAXED);
	r->state = state;
	if (reason != NULL)
		(void)snprintf(r->reason, sizeof(r->reason), "%s", reason);
	log_push(j->q, r);
}

void query_log_end_locked(struct job *j, const char *error_message)
{
	if (j->cancel || j->q->stop)
		end_locked(j, QUERY_CANCELLED,
		           j->cancel_why[0] != '\0' ? j->cancel_why : "followerd is stopping");
	else if (error_message != NULL)
		end_locked(j, QUERY_FAILED, error_message);
	else
		end_locked(j, j->rec.reason[0] != '\0' ? QUERY_FAILED : QUERY_COMPLETED, NULL);
}

void query_log_drop(struct job *j, enum query_state state, const char *reason)
{
	pthread_mutex_lock(&j->q->mu);
	end_locked(j, state, reason);
	pthread_mutex_unlock(&j->q->mu);
}

void query_note(struct job *j, uint64_t rows, const char *failure)
{
	pthread_mutex_lock(&j->q->mu);
	j->rec.rows = rows;
	if (failure != NULL)
		(void)snprintf(j->rec.reason, sizeof(j->rec.reason), "%s", failure);
	pthread_mutex_unlock(&j->q->mu);
}

void query_cancel_locked(struct job *j, const char *why)
{
	if (!j->cancel)
		(void)snprintf(j->cancel_why, sizeof(j->cancel_why), "%s", why);
	j->cancel = true;
	pthread_cond_broadcast(&j->q->space);
}

void query_cancel_reason(struct job *j, char *buf, size_t len)
{
	pthread_mutex_lock(&j->q->mu);
	(void)snprintf(buf, len, "%s", j->cancel_why[0] ? j->cancel_why : "followerd is stopping");
	pthread_mutex_unlock(&j->q->mu);
}

void query_log_refused(struct query *q, const struct query_info *r)
{
	struct query_info copy = *r;

	if ((copy.text = cut_text(r->text != NULL ? r->text : "", QUERY_TEXT_MAX)) == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	log_push(q, &copy);
	pthread_mutex_unlock(&q->mu);
	free(copy.text); /* NULL once pushed */
}

/* ---- queued at the front door ---- */

struct query_wait {
	struct query *q;
	struct query_wait *prev, *next; /* q->waiting */
	struct query_info rec;
	bool cancel;
	char why[256];
	void (*on_cancel)(void *arg, const char *why);
	void *arg;
};

struct query_wait *query_wait_start(struct query *q, struct evhttp_request *req,
                                    const struct auth_principal *who,
                                    void (*on_cancel)(void *arg, const char *why), void *arg)
{
	struct query_wait *w = q != NULL ? calloc(1, sizeof(*w)) : NULL;
	char *text;

	if (w == NULL || query_info_of_request(req, who, &w->rec) < 0) {
		free(w);
		return NULL;
	}
	text = cut_text(w->rec.text, QUERY_TEXT_MAX);
	free(w->rec.text);
	if ((w->rec.text = text) == NULL) {
		free(w);
		return NULL;
	}
	w->rec.state = QUERY_QUEUED;
	w->q = q;
	w->on_cancel = on_cancel;
	w->arg = arg;
	pthread_mutex_lock(&q->mu);
	w->next = q->waiting;
	if (q->waiting != NULL)
		q->waiting->prev = w;
	q->waiting = w;
	pthread_mutex_unlock(&q->mu);
	return w;
}

static void unlink_wait(struct query_wait *w)
{
	*(w->prev != NULL ? &w->prev->next : &w->q->waiting) = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
}

/* Unlinks w, logging it Cancelled with reason when there is one; frees it. */
static void wait_end_locked(struct query_wait *w, const char *reason)
{
	unlink_wait(w);
	if (reason != NULL) {
		w->rec.state = QUERY_CANCELLED;
		w->rec.ended = timefmt_now();
		(void)snprintf(w->rec.reason, sizeof(w->rec.reason), "%s", reason);
		log_push(w->q, &w->rec);
	}
	free(w->rec.text);
	free(w);
}

bool query_wait_end(struct query_wait *w, const char *gone_reason, char *why, size_t len)
{
	struct query *q;
	bool cancelled;

	if (w == NULL)
		return false;
	q = w->q;
	pthread_mutex_lock(&q->mu);
	cancelled = w->cancel;
	if (cancelled)
		(void)snprintf(why, len, "%s", w->why);
	wait_end_locked(w, cancelled ? w->why : gone_reason);
	pthread_mutex_unlock(&q->mu);
	return cancelled;
}

void query_wait_cancelled(struct query *q)
{
	for (;;) {
		struct query_wait *w = NULL;
		void (*fn)(void *, const char *) = NULL;
		void *arg = NULL;
		char why[256];

		pthread_mutex_lock(&q->mu);
		for (w = q->wait_cancels ? q->waiting : NULL; w != NULL && !w->cancel; w = w->next)
			;
		if (w == NULL) {
			q->wait_cancels = false;
		} else {
			fn = w->on_cancel;
			arg = w->arg;
			(void)snprintf(why, sizeof(why), "%s", w->why);
			wait_end_locked(w, why);
		}
		pthread_mutex_unlock(&q->mu);
		if (fn == NULL)
			return;
		fn(arg, why);
	}
}

int query_cancel(struct query *q, const char *id, const char *why)
{
	bool wake = false;
	int r = -ENOENT;

	pthread_mutex_lock(&q->mu);
	for (struct job *j = q->live; j != NULL; j = j->live_next)
		if (strcmp(j->rec.request_id, id) == 0) {
			query_cancel_locked(j, why);
			r = 0;
		}
	for (struct query_wait *w = q->waiting; w != NULL; w = w->next)
		if (strcmp(w->rec.request_id, id) == 0 && !w->cancel) {
			w->cancel = true;
			(void)snprintf(w->why, sizeof(w->why), "%s", why);
			q->wait_cancels = wake = true;
			r = 0;
		}
	pthread_mutex_unlock(&q->mu);
	/* the loop answers it (query_wait_cancelled) */
	if (wake)
		(void)eventfd_write(q->efd, 1);
	return r;
}

/* A copy of r (its text duplicated); false when out of memory. */
static bool copy_info(struct query_info *to, const struct query_info *r)
{
	*to = *r;
	to->text = strdup(r->text != NULL ? r->text : "");
	return to->text != NULL;
}

int query_list(struct query *q, struct query_info **ret, size_t *ret_n)
{
	struct query_info *v = NULL;
	size_t n = 0, cap = 0;
	bool ok = true;

	pthread_mutex_lock(&q->mu);
	for (struct job *j = q->live; j != NULL; j = j->live_next)
		cap++;
	for (struct query_wait *w = q->waiting; w != NULL; w = w->next)
		cap++;
	cap += q->log_n;
	v = calloc(cap + 1, sizeof(*v));
	for (struct query_wait *w = q->waiting; v != NULL && ok && w != NULL; w = w->next)
		ok = copy_info(&v[n++], &w->rec);
	for (struct job *j = q->live; v != NULL && ok && j != NULL; j = j->live_next) {
		uint64_t now = __atomic_load_n(&j->rows_now, __ATOMIC_RELAXED);
		ok = copy_info(&v[n], &j->rec);
		if (v[n].rows < now)
			v[n].rows = now;
		n++;
	}
	for (size_t i = q->log_n; v != NULL && ok && i > 0; i--)
		ok = copy_info(&v[n++], &q->log[(q->log_head + i - 1) % QUERY_LOG_MAX]);
	pthread_mutex_unlock(&q->mu);
	if (v == NULL || !ok) {
		query_list_free(v, n);
		return -ENOMEM;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

void query_list_free(struct query_info *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i].text);
	free(v);
}

void query_log_free(struct query *q)
{
	while (q->waiting != NULL)
		wait_end_locked(q->waiting, NULL);
	for (size_t i = 0; q->log != NULL && i < q->log_n; i++)
		free(q->log[(q->log_head + i) % QUERY_LOG_MAX].text);
	free(q->log);
	q->log = NULL;
	q->log_n = 0;
}

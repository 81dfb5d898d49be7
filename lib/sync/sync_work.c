/*
 * sync_work — worker lanes: a few threads running tasks off the event loop
 * and handing each finished task back to it (see sync_int.h).
 *
 * A lane is a FIFO of tasks, n threads taking from it, and a done list the
 * loop drains when the lane's eventfd becomes readable.  One thread makes a
 * lane strictly ordered (the store lane); more make a pool (decoding).  The
 * eventfd is written only when the done list goes from empty to non-empty,
 * so a burst of results costs the loop one wake-up.
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#define LANE_MAX_THREADS 16

struct sync_lane {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct sync_task *head, *tail;           /* to run */
	struct sync_task *done_head, *done_tail; /* run, waiting for the loop */
	unsigned running;                        /* tasks inside run() now */
	bool quit;                               /* threads exit when the queue is empty */
	bool cancel;                             /* tasks still queued run as cancelled */
	bool inited;                             /* mu and cv exist */
	int efd;
	struct event *ev;
	pthread_t threads[LANE_MAX_THREADS];
	unsigned nthreads;
	void *ctx;
	void (*idle)(void *arg); /* sync_lane_when_idle */
	void *idle_arg;
};

static void push(struct sync_task **head, struct sync_task **tail, struct sync_task *t)
{
	t->next = NULL;
	if (*tail != NULL)
		(*tail)->next = t;
	else
		*head = t;
	*tail = t;
}

static struct sync_task *pop(struct sync_task **head, struct sync_task **tail)
{
	struct sync_task *t = *head;

	if (t != NULL) {
		*head = t->next;
		if (*head == NULL)
			*tail = NULL;
		t->next = NULL;
	}
	return t;
}

static void wake_loop(struct sync_lane *l)
{
	uint64_t one = 1;

	/* The counter cannot overflow in practice; EAGAIN would mean it is
	 * already readable, which is all that is wanted. */
	(void)!write(l->efd, &one, sizeof(one));
}

static void *lane_main(void *arg)
{
	struct sync_lane *l = arg;
	struct sync_task *t;

	(void)pthread_mutex_lock(&l->mu);
	for (;;) {
		while (l->head == NULL && !l->quit)
			(void)pthread_cond_wait(&l->cv, &l->mu);
		t = pop(&l->head, &l->tail);
		if (t == NULL)
			break;
		t->cancelled = t->cancelled || l->cancel;
		l->running++;
		(void)pthread_mutex_unlock(&l->mu);
		t->run(t, l->ctx);
		(void)pthread_mutex_lock(&l->mu);
		l->running--;
		if (l->done_head == NULL)
			wake_loop(l);
		push(&l->done_head, &l->done_tail, t);
	}
	(void)pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* Takes the done list; the caller runs it. */
static struct sync_task *take_done(struct sync_lane *l)
{
	struct sync_task *list;

	(void)pthread_mutex_lock(&l->mu);
	list = l->done_head;
	l->done_head = l->done_tail = NULL;
	(void)pthread_mutex_unlock(&l->mu);
	return list;
}

static bool lane_idle(struct sync_lane *l)
{
	bool idle;

	(void)pthread_mutex_lock(&l->mu);
	idle = l->head == NULL && l->running == 0 && l->done_head == NULL;
	(void)pthread_mutex_unlock(&l->mu);
	return idle;
}

static void lane_ready(evutil_socket_t fd, short what, void *arg)
{
	struct sync_lane *l = arg;
	struct sync_task *t, *next;
	uint64_t n;

	(void)!read(l->efd, &n, sizeof(n));
	for (t = take_done(l); t != NULL; t = next) {
		next = t->next;
		t->done(t);
	}
	if (l->idle != NULL && lane_idle(l)) {
		void (*fn)(void *) = l->idle;

		l->idle = NULL;
		fn(l->idle_arg);
	}
}

static int lane_start(struct sync_lane *l, unsigned nthreads)
{
	for (; l->nthreads < nthreads; l->nthreads++) {
		int r = pthread_create(&l->threads[l->nthreads], NULL, lane_main, l);

		if (r != 0)
			return -r;
	}
	return 0;
}

int sync_lane_new(struct event_base *base, unsigned nthreads, void *ctx, struct sync_lane **ret)
{
	struct sync_lane *l = calloc(1, sizeof(*l));
	int r = -ENOMEM;

	if (l == NULL)
		return -ENOMEM;
	l->efd = -1;
	l->ctx = ctx;
	if (nthreads == 0 || nthreads > LANE_MAX_THREADS) {
		r = -EINVAL;
		goto out;
	}
	(void)pthread_mutex_init(&l->mu, NULL);
	(void)pthread_cond_init(&l->cv, NULL);
	l->inited = true;
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0) {
		r = -errno;
		goto out;
	}
	l->ev = event_new(base, l->efd, EV_READ | EV_PERSIST, lane_ready, l);
	if (l->ev == NULL || event_add(l->ev, NULL) < 0)
		goto out;
	r = lane_start(l, nthreads);
	if (r < 0)
		goto out;
	*ret = l;
	return 0;
out:
	sync_lane_free(l);
	return r;
}

void sync_lane_submit(struct sync_lane *l, struct sync_task *t)
{
	(void)pthread_mutex_lock(&l->mu);
	push(&l->head, &l->tail, t);
	(void)pthread_cond_signal(&l->cv);
	(void)pthread_mutex_unlock(&l->mu);
}

void sync_lane_cancel_queued(struct sync_lane *l)
{
	(void)pthread_mutex_lock(&l->mu);
	l->cancel = true;
	(void)pthread_mutex_unlock(&l->mu);
}

void sync_lane_when_idle(struct sync_lane *l, void (*fn)(void *arg), void *arg)
{
	l->idle = fn;
	l->idle_arg = arg;
	/* one pass of lane_ready reports idleness even when nothing is pending */
	event_active(l->ev, EV_READ, 0);
}

void sync_lane_free(struct sync_lane *l)
{
	struct sync_task *t, *next;

	if (l == NULL)
		return;
	if (!l->inited) {
		free(l);
		return;
	}
	(void)pthread_mutex_lock(&l->mu);
	l->quit = true;
	l->cancel = true;
	(void)pthread_cond_broadcast(&l->cv);
	(void)pthread_mutex_unlock(&l->mu);
	for (unsigned i = 0; i < l->nthreads; i++)
		(void)pthread_join(l->threads[i], NULL);
	/* every task ran (as cancelled when it had not started): hand back */
	for (t = take_done(l); t != NULL; t = next) {
		next = t->next;
		t->cancelled = true;
		t->done(t);
	}
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->efd >= 0)
		(void)close(l->efd);
	if (l->inited) {
		(void)pthread_mutex_destroy(&l->mu);
		(void)pthread_cond_destroy(&l->cv);
	}
	free(l);
}

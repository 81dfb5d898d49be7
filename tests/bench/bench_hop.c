/*
 * bench_hop — what running a query off the event loop costs at least: the
 * loop hands a job to a sleeping worker (mutex, condition variable) and the
 * worker hands it back (an eventfd the loop's libevent base watches), as
 * daemon/query.c does, with nothing done in between.  Each hop starts after
 * an idle gap, as a kept-alive client's next request does, so both threads
 * are asleep when it starts.
 *
 *   bench_hop N GAP_US   prints the median round trip of N hops, ms
 */
#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct hop {
	pthread_mutex_t mu;
	pthread_cond_t work;
	bool job, stop;
	int efd;
	struct event_base *base;
	struct event *gap, *back;
	struct timeval gap_tv;
	double t0, *us;
	int n, i;
};

static double now_us(void)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void *worker(void *arg)
{
	struct hop *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->job && !h->stop)
			pthread_cond_wait(&h->work, &h->mu);
		if (h->stop)
			break;
		h->job = false;
		pthread_mutex_unlock(&h->mu);
		(void)eventfd_write(h->efd, 1);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

/* The gap is over: one hop starts. */
static void on_gap(evutil_socket_t fd, short what, void *arg)
{
	struct hop *h = arg;

	(void)fd;
	(void)what;
	h->t0 = now_us();
	pthread_mutex_lock(&h->mu);
	h->job = true;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->mu);
}

/* The worker handed it back: one hop ends. */
static void on_back(evutil_socket_t fd, short what, void *arg)
{
	struct hop *h = arg;
	eventfd_t v;

	(void)what;
	if (eventfd_read(fd, &v) < 0)
		return;
	h->us[h->i++] = now_us() - h->t0;
	if (h->i < h->n)
		(void)event_add(h->gap, &h->gap_tv);
	else
		(void)event_base_loopbreak(h->base);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int run(struct hop *h)
{
	pthread_t t;
	int rc = -1;

	h->gap = evtimer_new(h->base, on_gap, h);
	h->back = event_new(h->base, h->efd, EV_READ | EV_PERSIST, on_back, h);
	if (!h->gap || !h->back || event_add(h->back, NULL) < 0 ||
	    event_add(h->gap, &h->gap_tv) < 0 || pthread_create(&t, NULL, worker, h) != 0)
		goto out;
	rc = event_base_dispatch(h->base) < 0 ? -1 : 0;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->mu);
	(void)pthread_join(t, NULL);
out:
	if (h->gap)
		event_free(h->gap);
	if (h->back)
		event_free(h->back);
	return rc;
}

int main(int argc, char **argv)
{
	struct hop h = {.mu = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};
	long gap = argc == 3 ? atol(argv[2]) : -1;
	int rc = 1;

	h.n = argc == 3 ? atoi(argv[1]) : 0;
	if (h.n <= 0 || gap < 0 || gap >= 1000000) {
		fprintf(stderr, "usage: bench_hop N GAP_US\n");
		return 2;
	}
	h.gap_tv = (struct timeval){.tv_usec = gap};
	h.us = calloc((size_t)h.n, sizeof(*h.us));
	h.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	h.base = event_base_new();
	if (!h.us || h.efd < 0 || !h.base || run(&h) < 0 || h.i != h.n) {
		fprintf(stderr, "bench_hop: %s\n", errno ? "setup failed" : "interrupted");
		goto out;
	}
	qsort(h.us, (size_t)h.n, sizeof(*h.us), cmp);
	printf("%.3f\n", h.us[h.n / 2] / 1e3);
	rc = 0;
out:
	if (h.base)
		event_base_free(h.base);
	if (h.efd >= 0)
		(void)close(h.efd);
	free(h.us);
	return rc;
}

/* Tests for lib/sinkpool: order, back-pressure, sticky errors, cancel. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "util/sinkpool.h"

/* One stream's side: what the thread wrote and what the loop was told. */
struct sink {
	atomic_size_t written;
	atomic_int writes;
	atomic_bool in_write, pattern_bad;
	atomic_int fail_at; /* the write number that fails with -ENOSPC; 0: none */
	atomic_bool gate;   /* writes wait while set */
	unsigned char seed;
	long sleep_us;
	int done_calls, done_r, resumes;
};

static unsigned char byte_at(const struct sink *k, size_t i)
{
	return (unsigned char)(k->seed + i * 7 + i / 251);
}

static int sink_write(const void *buf, size_t len, void *arg)
{
	struct sink *k = arg;
	const unsigned char *b = buf;
	size_t at = atomic_load(&k->written);
	struct timespec ts = {0, k->sleep_us * 1000};

	atomic_store(&k->in_write, true);
	while (atomic_load(&k->gate))
		(void)nanosleep(&(struct timespec){0, 1000000}, NULL);
	if (k->sleep_us > 0)
		(void)nanosleep(&ts, NULL);
	for (size_t i = 0; i < len; i++)
		if (b[i] != byte_at(k, at + i))
			atomic_store(&k->pattern_bad, true);
	atomic_store(&k->written, at + len);
	atomic_store(&k->in_write, false);
	if (atomic_fetch_add(&k->writes, 1) + 1 == atomic_load(&k->fail_at))
		return -ENOSPC;
	return 0;
}

static void sink_done(int r, void *arg)
{
	struct sink *k = arg;

	k->done_calls++;
	k->done_r = r;
}

static void sink_resume(void *arg)
{
	((struct sink *)arg)->resumes++;
}

static struct sinkpool_stream *open_sink(struct sinkpool *p, struct sink *k, unsigned char seed)
{
	struct sinkpool_stream_ops ops = {sink_write, sink_done, sink_resume, k};
	struct sinkpool_stream *s;

	memset(k, 0, sizeof(*k));
	k->seed = seed;
	s = sinkpool_open(p, &ops);
	assert_non_null(s);
	return s;
}

/* Pushes bytes [at, at+len) of k's pattern. */
static int push(struct sinkpool_stream *s, const struct sink *k, size_t at, size_t len)
{
	unsigned char *b = malloc(len);
	int r;

	assert_non_null(b);
	for (size_t i = 0; i < len; i++)
		b[i] = byte_at(k, at + i);
	r = sinkpool_push(s, b, len);
	free(b);
	return r;
}

static double now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop until *v >= want or 5 s pass. */
static bool run_until(struct event_base *base, const int *v, int want)
{
	double end = now_s() + 5;

	while (*v < want && now_s() < end)
		(void)event_base_loop(base, EVLOOP_NONBLOCK);
	return *v >= want;
}

struct tctx {
	struct event_base *base;
	struct sinkpool *p;
};

static int setup(void **state)
{
	struct tctx *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->base = event_base_new();
	assert_non_null(t->base);
	assert_int_equal(sinkpool_new(t->base, 64 << 10, &t->p), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tctx *t = *state;

	sinkpool_free(t->p);
	event_base_free(t->base);
	free(t);
	return 0;
}

/* Two streams interleaved: each one's bytes arrive whole and in order. */
static void test_order(void **state)
{
	struct tctx *t = *state;
	struct sink a, b;
	struct sinkpool_stream *sa = open_sink(t->p, &a, 1), *sb = open_sink(t->p, &b, 2);
	size_t at_a = 0, at_b = 0;

	for (int i = 0; i < 400; i++) {
		size_t la = 1 + (size_t)i * 37 % 5000, lb = 1 + (size_t)i * 91 % 3000;

		while (push(sa, &a, at_a, la) == -EAGAIN)
			(void)event_base_loop(t->base, EVLOOP_NONBLOCK);
		at_a += la;
		while (push(sb, &b, at_b, lb) == -EAGAIN)
			(void)event_base_loop(t->base, EVLOOP_NONBLOCK);
		at_b += lb;
	}
	assert_int_equal(sinkpool_finish(sa), 0);
	assert_int_equal(sinkpool_finish(sb), 0);
	assert_true(run_until(t->base, &a.done_calls, 1));
	assert_true(run_until(t->base, &b.done_calls, 1));
	assert_int_equal(a.done_r, 0);
	assert_int_equal(b.done_r, 0);
	assert_int_equal(atomic_load(&a.written), at_a);
	assert_int_equal(atomic_load(&b.written), at_b);
	assert_false(atomic_load(&a.pattern_bad));
	assert_false(atomic_load(&b.pattern_bad));
}

/* A full queue refuses; resume runs once it drained; a big push into an
 * empty queue is taken. */
static void test_backpressure(void **state)
{
	struct tctx *t = *state;
	struct sink a;
	struct sinkpool_stream *s = open_sink(t->p, &a, 3);
	size_t at = 0;
	int r;

	atomic_store(&a.gate, true);
	while ((r = push(s, &a, at, 4096)) == 0)
		at += 4096;
	assert_int_equal(r, -EAGAIN);
	assert_true(at >= 60 << 10 && at <= 64 << 10);
	assert_int_equal(a.resumes, 0);
	atomic_store(&a.gate, false);
	assert_true(run_until(t->base, &a.resumes, 1));
	assert_int_equal(push(s, &a, at, 4096), 0);
	at += 4096;
	assert_int_equal(sinkpool_finish(s), 0);
	assert_true(run_until(t->base, &a.done_calls, 1));
	assert_int_equal(a.resumes, 1);
	/* 1 MiB at once, past the bound, into an empty queue */
	s = open_sink(t->p, &a, 4);
	assert_int_equal(push(s, &a, 0, 1 << 20), 0);
	assert_int_equal(sinkpool_finish(s), 0);
	assert_true(run_until(t->base, &a.done_calls, 1));
	assert_int_equal(atomic_load(&a.written), 1 << 20);
	assert_false(atomic_load(&a.pattern_bad));
}

/* A write error is sticky: later pushes return it, and on_done gets it. */
static void test_error(void **state)
{
	struct tctx *t = *state;
	struct sink a;
	struct sinkpool_stream *s = open_sink(t->p, &a, 5);
	double end = now_s() + 5;

	atomic_store(&a.fail_at, 1);
	assert_int_equal(push(s, &a, 0, 100), 0);
	while (atomic_load(&a.writes) < 1 && now_s() < end)
		(void)nanosleep(&(struct timespec){0, 1000000}, NULL);
	/* the error is recorded after the write returns, under the lock */
	while (push(s, &a, 100, 100) == 0 && now_s() < end)
		(void)nanosleep(&(struct timespec){0, 1000000}, NULL);
	assert_int_equal(push(s, &a, 100, 100), -ENOSPC);
	assert_int_equal(sinkpool_finish(s), 0);
	assert_true(run_until(t->base, &a.done_calls, 1));
	assert_int_equal(a.done_r, -ENOSPC);
}

/* Cancel waits for the stream's write under way and drops the rest; no
 * callback runs afterwards. */
static void test_cancel(void **state)
{
	struct tctx *t = *state;
	struct sink a, b;
	struct sinkpool_stream *s = open_sink(t->p, &a, 6), *sb = open_sink(t->p, &b, 7);
	double end = now_s() + 5;
	int writes;

	a.sleep_us = 50000;
	for (int i = 0; i < 8; i++)
		assert_int_equal(push(s, &a, (size_t)i * 300000, 300000), i == 0 ? 0 : -EAGAIN);
	assert_int_equal(push(sb, &b, 0, 10), -EAGAIN); /* b waits for room too */
	while (!atomic_load(&a.in_write) && now_s() < end)
		(void)nanosleep(&(struct timespec){0, 1000000}, NULL);
	assert_true(atomic_load(&a.in_write));
	sinkpool_cancel(s);
	assert_false(atomic_load(&a.in_write));
	writes = atomic_load(&a.writes);
	assert_int_equal(writes, 1);
	assert_true(run_until(t->base, &b.resumes, 1)); /* the queue is empty */
	assert_int_equal(push(sb, &b, 0, 10), 0);
	assert_int_equal(sinkpool_finish(sb), 0);
	assert_true(run_until(t->base, &b.done_calls, 1));
	assert_int_equal(atomic_load(&a.writes), writes);
	assert_int_equal(a.done_calls, 0);
	assert_int_equal(a.resumes, 0);
	sinkpool_cancel(NULL);
}

/* A stream cancelled after its finish marker was reached, before the loop
 * ran its on_done: no on_done. */
static void test_cancel_done(void **state)
{
	struct tctx *t = *state;
	struct sink a, b;
	struct sinkpool_stream *s = open_sink(t->p, &a, 8), *sb = open_sink(t->p, &b, 9);
	double end = now_s() + 5;

	assert_int_equal(push(s, &a, 0, 1000), 0);
	assert_int_equal(sinkpool_finish(s), 0);
	assert_int_equal(push(sb, &b, 0, 10), 0);
	/* one thread, one FIFO: once b's bytes are written, s's marker was reached */
	while (atomic_load(&b.writes) < 1 && now_s() < end)
		(void)nanosleep(&(struct timespec){0, 1000000}, NULL);
	assert_int_equal(atomic_load(&b.writes), 1);
	sinkpool_cancel(s);
	assert_int_equal(sinkpool_finish(sb), 0);
	assert_true(run_until(t->base, &b.done_calls, 1));
	assert_int_equal(a.done_calls, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_done, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

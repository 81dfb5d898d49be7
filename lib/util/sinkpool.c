/*
 * sinkpool — writes download bodies on a thread of its own (see sinkpool.h).
 *
 * One FIFO of chunks across all streams, taken by one thread: a stream's
 * bytes are written in the order they were pushed.  A push appends to the
 * last chunk when it is the same stream's and has room, so the thread sees
 * few, large writes.  The thread tells the loop through an eventfd: a
 * stream's finish marker was reached (the done list), or the queue drained
 * to half the bound while a push was refused (resume).
 */
#include "util/sinkpool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>

#define SINKPOOL_MAX_DEFAULT (16u << 20)
#define CHUNK_MIN (256u << 10) /* room a new chunk leaves for later pushes */
/* Spare chunks of CHUNK_MIN kept for reuse: allocating and freeing one per
 * push let malloc hand the pages back and fault them in again, a tenth of
 * the loop thread's time on a warm of small artifacts. */
#define SPARE_MAX 64

struct chunk {
	struct chunk *next;
	struct sinkpool_stream *s;
	size_t len, cap;
	bool finish; /* the stream's end marker, no bytes */
	unsigned char data[];
};

struct sinkpool_stream {
	struct sinkpool *p;
	struct sinkpool_stream_ops ops;
	struct sinkpool_stream *prev, *next; /* all streams (loop only) */
	struct sinkpool_stream *next_done;
	int err;          /* the first write error (under mu) */
	bool refused;     /* a push was refused, resume not yet called (under mu) */
	bool resume_now;  /* loop only: resume due in this round */
	bool queued_done; /* on the done list (under mu) */
};

struct sinkpool {
	struct event_base *base;
	struct event *ev;
	int efd;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t work, idle;
	struct chunk *head, *tail;
	struct chunk *spare; /* free chunks of CHUNK_MIN (under mu) */
	unsigned nspare;
	size_t bytes, max;
	unsigned nrefused;
	bool resume_sig; /* the loop was told to resume */
	bool stop;
	struct sinkpool_stream *busy;    /* the stream being written */
	struct sinkpool_stream *done;    /* finish markers reached */
	struct sinkpool_stream *streams; /* loop only */
};

static void wake_loop(struct sinkpool *p)
{
	uint64_t one = 1;

	/* EAGAIN only when the counter is huge: the loop is waking anyway */
	if (write(p->efd, &one, sizeof(one)) < 0)
		return;
}

/* Under mu: keeps c for reuse, or frees it. */
static void chunk_put(struct sinkpool *p, struct chunk *c)
{
	if (c->cap != CHUNK_MIN || p->nspare >= SPARE_MAX) {
		free(c);
		return;
	}
	c->next = p->spare;
	p->spare = c;
	p->nspare++;
}

/* Under mu: the chunk c of the thread is written; account for it. */
static bool chunk_written(struct sinkpool *p, struct chunk *c, int r)
{
	bool wake = false;

	if (r < 0 && c->s->err == 0)
		c->s->err = r;
	p->bytes -= c->len;
	if (c->finish) {
		c->s->next_done = p->done;
		p->done = c->s;
		c->s->queued_done = true;
		wake = true;
	}
	if (p->nrefused > 0 && !p->resume_sig && p->bytes <= p->max / 2) {
		p->resume_sig = true;
		wake = true;
	}
	p->busy = NULL;
	(void)pthread_cond_broadcast(&p->idle);
	return wake;
}

static struct chunk *take(struct sinkpool *p)
{
	struct chunk *c = p->head;

	p->head = c->next;
	if (p->head == NULL)
		p->tail = NULL;
	p->busy = c->s;
	return c;
}

static void *run(void *arg)
{
	struct sinkpool *p = arg;

	(void)pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		struct chunk *c;
		bool skip, wake;
		int r = 0;

		if (p->head == NULL) {
			(void)pthread_cond_wait(&p->work, &p->mu);
			continue;
		}
		c = take(p);
		skip = c->finish || c->s->err != 0;
		(void)pthread_mutex_unlock(&p->mu);
		if (!skip)
			r = c->s->ops.write(c->data, c->len, c->s->ops.arg);
		(void)pthread_mutex_lock(&p->mu);
		wake = chunk_written(p, c, r);
		chunk_put(p, c);
		if (wake)
			wake_loop(p);
	}
	(void)pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ---- the loop side ---- */

static void unlink_stream(struct sinkpool_stream *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->p->streams = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
}

static struct sinkpool_stream *first_resume(struct sinkpool *p)
{
	for (struct sinkpool_stream *s = p->streams; s != NULL; s = s->next)
		if (s->resume_now)
			return s;
	return NULL;
}

/* Calls on_resume for every stream refused before now.  A callback may push
 * (and be refused again: then it waits for the next round) or cancel any
 * stream, hence the fresh search each time. */
static void run_resumes(struct sinkpool *p)
{
	struct sinkpool_stream *s;

	(void)pthread_mutex_lock(&p->mu);
	if (!p->resume_sig) {
		(void)pthread_mutex_unlock(&p->mu);
		return;
	}
	p->resume_sig = false;
	for (s = p->streams; s != NULL; s = s->next) {
		s->resume_now = s->refused;
		s->refused = false;
	}
	p->nrefused = 0;
	(void)pthread_mutex_unlock(&p->mu);
	while ((s = first_resume(p)) != NULL) {
		s->resume_now = false;
		s->ops.resume(s->ops.arg);
	}
}

static struct sinkpool_stream *take_done(struct sinkpool *p)
{
	struct sinkpool_stream *s;

	(void)pthread_mutex_lock(&p->mu);
	s = p->done;
	if (s != NULL) {
		p->done = s->next_done;
		s->queued_done = false;
	}
	(void)pthread_mutex_unlock(&p->mu);
	return s;
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct sinkpool *p = arg;
	struct sinkpool_stream *s;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	run_resumes(p);
	while ((s = take_done(p)) != NULL) {
		unlink_stream(s);
		s->ops.done(s->err, s->ops.arg);
		free(s);
	}
}

static int pool_init(struct sinkpool *p)
{
	if (pthread_mutex_init(&p->mu, NULL) != 0)
		return -ENOMEM;
	if (pthread_cond_init(&p->work, NULL) != 0 || pthread_cond_init(&p->idle, NULL) != 0)
		return -ENOMEM;
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	p->ev = event_new(p->base, p->efd, EV_READ | EV_PERSIST, on_wake, p);
	if (p->ev == NULL || event_add(p->ev, NULL) < 0)
		return -ENOMEM;
	if (pthread_create(&p->thread, NULL, run, p) != 0)
		return -EAGAIN;
	p->started = true;
	return 0;
}

int sinkpool_new(struct event_base *base, size_t max_bytes, struct sinkpool **ret)
{
	struct sinkpool *p = calloc(1, sizeof(*p));
	int r;

	if (p == NULL)
		return -ENOMEM;
	p->base = base;
	p->efd = -1;
	p->max = max_bytes > 0 ? max_bytes : SINKPOOL_MAX_DEFAULT;
	r = pool_init(p);
	if (r < 0) {
		sinkpool_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void sinkpool_free(struct sinkpool *p)
{
	struct chunk *c, *next;

	if (p == NULL)
		return;
	if (p->started) {
		(void)pthread_mutex_lock(&p->mu);
		p->stop = true;
		(void)pthread_cond_signal(&p->work);
		(void)pthread_mutex_unlock(&p->mu);
		(void)pthread_join(p->thread, NULL);
	}
	for (c = p->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	for (c = p->spare; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	if (p->ev != NULL)
		event_free(p->ev);
	if (p->efd >= 0)
		(void)close(p->efd);
	(void)pthread_mutex_destroy(&p->mu);
	(void)pthread_cond_destroy(&p->work);
	(void)pthread_cond_destroy(&p->idle);
	free(p);
}

struct sinkpool_stream *sinkpool_open(struct sinkpool *p, const struct sinkpool_stream_ops *ops)
{
	struct sinkpool_stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->p = p;
	s->ops = *ops;
	s->next = p->streams;
	if (p->streams != NULL)
		p->streams->prev = s;
	p->streams = s;
	return s;
}

/* Under mu. */
static void append(struct sinkpool *p, struct chunk *c)
{
	if (p->tail != NULL)
		p->tail->next = c;
	else
		p->head = c;
	p->tail = c;
	p->bytes += c->len;
	(void)pthread_cond_signal(&p->work);
}

/* Under mu: a spare chunk for len bytes, or NULL (then malloc one). */
static struct chunk *spare_take(struct sinkpool *p, size_t len)
{
	struct chunk *c = p->spare;

	if (len > CHUNK_MIN || c == NULL)
		return NULL;
	p->spare = c->next;
	p->nspare--;
	return c;
}

/* Not under mu: the copy would keep the thread from its next chunk. */
static struct chunk *chunk_fill(struct chunk *c, struct sinkpool_stream *s, const void *buf,
                                size_t len)
{
	size_t cap = len > CHUNK_MIN ? len : CHUNK_MIN;

	if (c == NULL && (c = malloc(sizeof(*c) + cap)) == NULL)
		return NULL;
	*c = (struct chunk){.s = s, .len = len, .cap = cap};
	memcpy(c->data, buf, len);
	return c;
}

/* Under mu: appends to the last chunk when it is s's and has room. */
static bool coalesce(struct sinkpool *p, struct sinkpool_stream *s, const void *buf, size_t len)
{
	struct chunk *t = p->tail;

	if (t == NULL || t->s != s || t->finish || t->cap - t->len < len)
		return false;
	memcpy(t->data + t->len, buf, len);
	t->len += len;
	p->bytes += len;
	return true;
}

int sinkpool_push(struct sinkpool_stream *s, const void *buf, size_t len)
{
	struct sinkpool *p = s->p;
	struct chunk *c;
	int r = 0;

	(void)pthread_mutex_lock(&p->mu);
	if (s->err != 0) {
		r = s->err;
		goto out;
	}
	if (p->bytes > 0 && p->bytes + len > p->max) {
		p->nrefused += !s->refused;
		s->refused = true;
		r = -EAGAIN;
		goto out;
	}
	if (len == 0 || coalesce(p, s, buf, len))
		goto out;
	/* only the loop pushes: the room checked above is still there */
	c = spare_take(p, len);
	(void)pthread_mutex_unlock(&p->mu);
	if ((c = chunk_fill(c, s, buf, len)) == NULL)
		return -ENOMEM;
	(void)pthread_mutex_lock(&p->mu);
	append(p, c);
out:
	(void)pthread_mutex_unlock(&p->mu);
	return r;
}

int sinkpool_finish(struct sinkpool_stream *s)
{
	struct chunk *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->s = s;
	c->finish = true;
	(void)pthread_mutex_lock(&s->p->mu);
	append(s->p, c);
	(void)pthread_mutex_unlock(&s->p->mu);
	return 0;
}

/* Under mu: takes s's chunks out of the queue. */
static void drop_chunks(struct sinkpool *p, struct sinkpool_stream *s)
{
	struct chunk **pc = &p->head, *c;

	p->tail = NULL;
	while ((c = *pc) != NULL) {
		if (c->s != s) {
			p->tail = c;
			pc = &c->next;
			continue;
		}
		*pc = c->next;
		p->bytes -= c->len;
		chunk_put(p, c);
	}
}

/* Under mu: takes s off the done list. */
static void drop_done(struct sinkpool *p, struct sinkpool_stream *s)
{
	for (struct sinkpool_stream **ps = &p->done; *ps != NULL; ps = &(*ps)->next_done)
		if (*ps == s) {
			*ps = s->next_done;
			return;
		}
}

void sinkpool_cancel(struct sinkpool_stream *s)
{
	struct sinkpool *p;

	if (s == NULL)
		return;
	p = s->p;
	(void)pthread_mutex_lock(&p->mu);
	drop_chunks(p, s);
	while (p->busy == s)
		(void)pthread_cond_wait(&p->idle, &p->mu);
	if (s->queued_done)
		drop_done(p, s);
	if (s->refused)
		p->nrefused--;
	(void)pthread_mutex_unlock(&p->mu);
	unlink_stream(s);
	free(s);
}

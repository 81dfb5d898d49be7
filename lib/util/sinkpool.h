/*
 * sinkpool — writes download bodies on a thread of its own, off the loop.
 *
 * A fetch sink that writes and hashes on the event loop makes SHA-256 the
 * ceiling of every download (one core, ~1.8 GB/s, shared with libcurl).  A
 * sinkpool takes the bytes on the loop (a copy into a bounded queue), and
 * one thread runs each stream's write function on them, in order.
 *
 * Back-pressure: when the bytes queued across all streams would pass the
 * bound, sinkpool_push refuses (-EAGAIN) and the caller pauses its transfer
 * (fetch's FETCH_PAUSE); once the queue has drained to half the bound,
 * on_resume runs on the loop for every stream that was refused.
 *
 * A stream ends with sinkpool_finish (on_done on the loop once everything
 * before it was written, with the first write error or 0) or with
 * sinkpool_cancel (its queued bytes are dropped, a write under way is waited
 * for, no callback runs afterwards).  Either way the write function's object
 * is the caller's again once on_done runs or sinkpool_cancel returns.
 *
 * Everything but the write function runs on the loop thread.  The library
 * does not log.
 */
#ifndef FOLLOWERD_SINKPOOL_H
#define FOLLOWERD_SINKPOOL_H

#include <stddef.h>

struct event_base;
struct sinkpool;
struct sinkpool_stream;

/* Runs on the pool's thread: 0 or a negative errno (sticky for the stream:
 * its later bytes are dropped and push returns it). */
typedef int (*sinkpool_write_fn)(const void *buf, size_t len, void *arg);
/* Runs on the loop: the stream's bytes are all written; r is the first
 * write error or 0.  The stream is freed when it returns. */
typedef void (*sinkpool_done_fn)(int r, void *arg);
/* Runs on the loop: the queue has room again after a refused push. */
typedef void (*sinkpool_resume_fn)(void *arg);

struct sinkpool_stream_ops {
	sinkpool_write_fn write;   /* required */
	sinkpool_done_fn done;     /* required */
	sinkpool_resume_fn resume; /* required */
	void *arg;
};

/* Returns 0 and a new pool in *ret (its thread running), or a negative
 * errno.  base is borrowed and must outlive the pool; max_bytes is the bound
 * on queued bytes (0: 16 MiB). */
int sinkpool_new(struct event_base *base, size_t max_bytes, struct sinkpool **ret);

/* Stops the thread and frees.  Every stream must be finished (its on_done
 * run) or cancelled.  NULL is a no-op. */
void sinkpool_free(struct sinkpool *p);

/* Returns a new stream (ended by sinkpool_finish or sinkpool_cancel), or
 * NULL (ENOMEM).  ops is copied. */
struct sinkpool_stream *sinkpool_open(struct sinkpool *p, const struct sinkpool_stream_ops *ops);

/* Queues a copy of len bytes.  0; -EAGAIN when the queue is full (nothing
 * queued: on_resume will run, push again then); the stream's write error;
 * -ENOMEM.  A push into an empty queue is always taken, however long. */
int sinkpool_push(struct sinkpool_stream *s, const void *buf, size_t len);

/* No more bytes: on_done runs once the queued ones are written.  Returns 0,
 * or -ENOMEM (nothing changed: cancel the stream). */
int sinkpool_finish(struct sinkpool_stream *s);

/* Drops the stream's queued bytes, waits for a write of it under way, and
 * frees it: no callback runs for it afterwards.  NULL is a no-op. */
void sinkpool_cancel(struct sinkpool_stream *s);

#endif

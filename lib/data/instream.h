/*
 * instream — the bytes of an artifact, decompressed as they stream in.
 *
 * A row reader (data/rowreader.h) pulls decoded bytes from an instream; the
 * instream pulls raw bytes from a file descriptor or a read callback, or is
 * fed chunks by its owner (push: a network body arriving in a libcurl write
 * callback).  Compression is plain, gzip (zlib; several concatenated
 * members, as `cat a.gz b.gz` makes) or zstd (libzstd streaming; several
 * frames).  The caller says which; the first bytes are checked against the
 * magic numbers, so a gzip file declared plain (or the reverse) is refused
 * rather than read as rows.  Memory is bounded: one raw buffer and the
 * decompressor's state (zstd windows above INSTREAM_ZSTD_WINDOW_LOG are
 * refused).
 *
 * Errors: instream_read returns a negative errno and instream_error says
 * what (e.g. "gzip: truncated input").
 */
#ifndef FOLLOWERD_INSTREAM_H
#define FOLLOWERD_INSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/proto.h"

#define INSTREAM_RAW_BYTES ((size_t)256 << 10)
#define INSTREAM_ZSTD_WINDOW_LOG 25 /* 32 MiB */
#define INSTREAM_ERRLEN 160

/* Reads up to len bytes into buf: the count, 0 at the end, or -errno. */
typedef ssize_t (*instream_read_fn)(void *arg, void *buf, size_t len);

struct instream;

/* A new instream for compression c, with no source yet.  0 or -ENOMEM. */
int instream_new(enum proto_compression c, struct instream **ret);
/* Frees s and what it owns (never the fd or the callback's arg); NULL ok. */
void instream_free(struct instream *s);

/* Sources; set one before the first read (with none, the instream waits
 * for pushed chunks).  The fd is borrowed (not closed). */
void instream_from_fd(struct instream *s, int fd);
void instream_from_fn(struct instream *s, instream_read_fn fn, void *arg);
/* Push mode: buf (len bytes, borrowed) is the next raw chunk; it must stay
 * valid until instream_read returns -EAGAIN (it has then been consumed).
 * instream_push_end says no chunk follows. */
void instream_push(struct instream *s, const void *buf, size_t len);
void instream_push_end(struct instream *s);

/* Reads up to len decoded bytes into buf: the count (> 0), 0 at the end of
 * the data, -EAGAIN when a pushed chunk is used up, or an error: -EBADMSG
 * (corrupt, truncated, wrong magic), -EFBIG (zstd window too large),
 * -ENOMEM, or the source's -errno. */
ssize_t instream_read(struct instream *s, void *buf, size_t len);

/* The last error (never NULL; "" when none). */
const char *instream_error(const struct instream *s);
/* Raw bytes consumed so far. */
uint64_t instream_bytes_in(const struct instream *s);

/* The compression the first bytes (at least 4 when there are) announce by
 * their magic number; PROTO_COMP_NONE when neither. */
enum proto_compression instream_detect(const void *buf, size_t len);
/* The compression a file name's suffix says: .gz, .gzip, .zst, .zstd. */
enum proto_compression instream_from_name(const char *name);

#endif

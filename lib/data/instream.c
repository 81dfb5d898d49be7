/*
 * instream — decompressing byte source (see instream.h).
 *
 * One code path for every source: raw bytes come from raw_fill, which
 * reads the fd or the callback into the owned raw buffer, or hands over the
 * pushed chunk (and says -EAGAIN once it is used up).  The decoders keep
 * their input position across calls, so a push that ends mid-stream simply
 * resumes on the next chunk.
 */
#include "data/instream.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

enum source { SRC_NONE, SRC_FD, SRC_FN, SRC_PUSH };

struct instream {
	enum proto_compression comp;
	enum source src;
	int fd;
	instream_read_fn fn;
	void *arg;
	bool push_end;
	bool eof;       /* the source said end */
	bool checked;   /* the magic number was checked */
	bool in_member; /* gzip/zstd: inside a member/frame */
	bool zinit;
	const unsigned char *in; /* raw bytes not yet decoded */
	size_t inlen;
	unsigned char *raw; /* owned buffer (fd, fn) */
	uint64_t bytes_in;
	z_stream z;
	ZSTD_DCtx *zd;
	char err[INSTREAM_ERRLEN];
};

static int fail(struct instream *s, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct instream *s, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return r;
}

int instream_new(enum proto_compression c, struct instream **ret)
{
	struct instream *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->comp = c;
	s->fd = -1;
	if (c == PROTO_COMP_GZIP) {
		if (inflateInit2(&s->z, 16 + MAX_WBITS) != Z_OK)
			goto nomem;
		s->zinit = true;
	} else if (c == PROTO_COMP_ZSTD) {
		s->zd = ZSTD_createDCtx();
		if (!s->zd || ZSTD_isError(ZSTD_DCtx_setParameter(s->zd, ZSTD_d_windowLogMax,
		                                                  INSTREAM_ZSTD_WINDOW_LOG)))
			goto nomem;
	}
	*ret = s;
	return 0;
nomem:
	instream_free(s);
	return -ENOMEM;
}

void instream_free(struct instream *s)
{
	if (!s)
		return;
	if (s->zinit)
		(void)inflateEnd(&s->z);
	ZSTD_freeDCtx(s->zd);
	free(s->raw);
	free(s);
}

void instream_from_fd(struct instream *s, int fd)
{
	s->src = SRC_FD;
	s->fd = fd;
}

void instream_from_fn(struct instream *s, instream_read_fn fn, void *arg)
{
	s->src = SRC_FN;
	s->fn = fn;
	s->arg = arg;
}

void instream_push(struct instream *s, const void *buf, size_t len)
{
	s->src = SRC_PUSH;
	s->in = buf;
	s->inlen = len;
	s->bytes_in += len;
}

void instream_push_end(struct instream *s)
{
	s->src = SRC_PUSH;
	s->push_end = true;
}

const char *instream_error(const struct instream *s)
{
	return s->err;
}

uint64_t instream_bytes_in(const struct instream *s)
{
	return s->bytes_in;
}

enum proto_compression instream_detect(const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return PROTO_COMP_GZIP;
	if (len >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return PROTO_COMP_ZSTD;
	return PROTO_COMP_NONE;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

enum proto_compression instream_from_name(const char *name)
{
	if (ends_with(name, ".gz") || ends_with(name, ".gzip"))
		return PROTO_COMP_GZIP;
	if (ends_with(name, ".zst") || ends_with(name, ".zstd"))
		return PROTO_COMP_ZSTD;
	return PROTO_COMP_NONE;
}

/* Reads from the fd or the callback into dst: the count, 0 at the end. */
static ssize_t source_read(struct instream *s, void *dst, size_t len)
{
	ssize_t n;

	if (s->src == SRC_FN)
		n = s->fn(s->arg, dst, len);
	else
		do
			n = read(s->fd, dst, len);
		while (n < 0 && errno == EINTR);
	if (s->src == SRC_FD && n < 0)
		n = -errno;
	if (n < 0)
		return fail(s, (int)n, "read: %s", strerror((int)-n));
	s->bytes_in += (uint64_t)n;
	return n;
}

/* Makes raw input available in s->in: 1, 0 at the end, -EAGAIN, -errno. */
static int raw_fill(struct instream *s)
{
	ssize_t n;

	if (s->inlen > 0)
		return 1;
	/* With no source set, the instream waits for pushed chunks. */
	if (s->src == SRC_PUSH || s->src == SRC_NONE)
		return s->push_end ? 0 : -EAGAIN;
	if (s->eof)
		return 0;
	if (!s->raw && !(s->raw = malloc(INSTREAM_RAW_BYTES)))
		return fail(s, -ENOMEM, "out of memory");
	n = source_read(s, s->raw, INSTREAM_RAW_BYTES);
	if (n < 0)
		return (int)n;
	s->eof = n == 0;
	s->in = s->raw;
	s->inlen = (size_t)n;
	return n > 0;
}

/* The first bytes must carry the declared compression's magic (and a plain
 * stream neither magic). */
static int check_magic(struct instream *s, const void *p, size_t len)
{
	enum proto_compression seen = instream_detect(p, len);

	s->checked = true;
	if (seen == s->comp || (s->comp == PROTO_COMP_ZSTD && len < 4))
		return 0;
	if (s->comp == PROTO_COMP_NONE)
		return fail(s, -EBADMSG, "%s-compressed data declared plain",
		            proto_compression_name(seen));
	return fail(s, -EBADMSG, "not %s data (no magic number)", proto_compression_name(s->comp));
}

static ssize_t read_plain(struct instream *s, void *buf, size_t len)
{
	ssize_t n;
	int r;

	if (s->inlen > 0 || s->src == SRC_PUSH || s->src == SRC_NONE) {
		r = raw_fill(s);
		if (r <= 0)
			return r;
		n = (ssize_t)(len < s->inlen ? len : s->inlen);
		memcpy(buf, s->in, (size_t)n);
		s->in += n;
		s->inlen -= (size_t)n;
		return n;
	}
	/* fd and callback: straight into the caller's buffer, no copy. */
	if (s->eof)
		return 0;
	n = source_read(s, buf, len);
	s->eof = n == 0;
	return n;
}

/* One inflate step into buf; the bytes produced (maybe 0) or -errno. */
static ssize_t inflate_step(struct instream *s, void *buf, size_t len)
{
	int zr;

	if (!s->in_member) {
		if (inflateReset(&s->z) != Z_OK)
			return fail(s, -EBADMSG, "gzip: reset failed");
		s->in_member = true;
	}
	s->z.next_in = (unsigned char *)s->in;
	s->z.avail_in = (uInt)(s->inlen > UINT32_MAX ? UINT32_MAX : s->inlen);
	s->z.next_out = buf;
	s->z.avail_out = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	zr = inflate(&s->z, Z_NO_FLUSH);
	s->inlen -= (size_t)(s->z.next_in - s->in);
	s->in = s->z.next_in;
	if (zr == Z_STREAM_END)
		s->in_member = false;
	else if (zr == Z_MEM_ERROR)
		return fail(s, -ENOMEM, "out of memory");
	else if (zr != Z_OK && zr != Z_BUF_ERROR)
		return fail(s, -EBADMSG, "gzip: %s", s->z.msg ? s->z.msg : "corrupt data");
	return (ssize_t)(len - s->z.avail_out);
}

/* One zstd step into buf; the bytes produced (maybe 0) or -errno. */
static ssize_t zstd_step(struct instream *s, void *buf, size_t len)
{
	ZSTD_inBuffer in = {s->in, s->inlen, 0};
	ZSTD_outBuffer out = {buf, len, 0};
	size_t zr = ZSTD_decompressStream(s->zd, &out, &in);

	s->in += in.pos;
	s->inlen -= in.pos;
	if (ZSTD_isError(zr)) {
		if (ZSTD_getErrorCode(zr) == ZSTD_error_frameParameter_windowTooLarge)
			return fail(s, -EFBIG, "zstd: window larger than %u MiB",
			            1u << (INSTREAM_ZSTD_WINDOW_LOG - 20));
		return fail(s, -EBADMSG, "zstd: %s", ZSTD_getErrorName(zr));
	}
	s->in_member = zr != 0;
	return (ssize_t)out.pos;
}

static ssize_t read_compressed(struct instream *s, void *buf, size_t len)
{
	bool any_in = s->bytes_in > 0;

	for (;;) {
		int r = raw_fill(s);
		ssize_t n;

		if (r == 0 && s->in_member) {
			/* A decoder may hold output back for want of room. */
			n = s->comp == PROTO_COMP_GZIP ? inflate_step(s, buf, len)
			                               : zstd_step(s, buf, len);
			if (n != 0)
				return n;
		}
		if (r == 0 && (s->in_member || !any_in))
			return fail(s, -EBADMSG, "%s: truncated input",
			            proto_compression_name(s->comp));
		if (r <= 0)
			return r;
		any_in = true;
		if (!s->checked && check_magic(s, s->in, s->inlen) < 0)
			return -EBADMSG;
		n = s->comp == PROTO_COMP_GZIP ? inflate_step(s, buf, len) : zstd_step(s, buf, len);
		if (n != 0)
			return n;
	}
}

ssize_t instream_read(struct instream *s, void *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return 0;
	if (s->comp != PROTO_COMP_NONE)
		return read_compressed(s, buf, len);
	n = read_plain(s, buf, len);
	if (n > 0 && !s->checked && check_magic(s, buf, (size_t)n) < 0)
		return -EBADMSG;
	return n;
}

/*
 * cache_writer — one download into tmp/<sha256>.part, hashed while written,
 * verified and published into objects/ (see cache.h).
 *
 * The .part file is locked (flock, exclusive, non-blocking) for the life of
 * the writer, so two writers of one sha256 — two extents sharing an artifact,
 * or two daemons on one cache — never interleave.  After taking the lock the
 * writer checks that the name still refers to the file it opened: another
 * writer may have committed (renamed) it in between, and truncating that
 * inode would truncate a published object.
 *
 * Bytes are written with pwrite at the writer's own offset, and hashed after
 * they are written, so the digest always covers exactly the file's bytes.
 */
#include "cache/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cache/cache_int.h"

#define PART_MODE 0640
#define REHASH_BUF (1024 * 1024)
#define OPEN_ATTEMPTS 4

struct cache_writer {
	struct cache *c;
	char sha256[CACHE_SHA256_LEN + 1];
	char part[CACHE_PARTNAME_LEN];
	uint64_t size;    /* expected */
	uint64_t written; /* bytes in the file */
	uint64_t found;   /* bytes the .part file had when opened */
	int fd;
	EVP_MD_CTX *md;
	int err;   /* sticky failure, 0 = none */
	bool gone; /* the .part name is no longer ours (removed, renamed) */
};

static void writer_free(struct cache_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		(void)close(w->fd); /* releases the lock */
	EVP_MD_CTX_free(w->md);
	free(w);
}

static int writer_new(struct cache *c, const char *sha256, uint64_t size, struct cache_writer **ret)
{
	struct cache_writer *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	w->c = c;
	w->fd = -1;
	w->size = size;
	memcpy(w->sha256, sha256, sizeof(w->sha256));
	cache_part_name(sha256, w->part);
	w->md = EVP_MD_CTX_new();
	if (w->md == NULL || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
		writer_free(w);
		return -ENOMEM;
	}
	*ret = w;
	return 0;
}

/* Empties and unlinks the .part file (the name is still ours: we hold its
 * lock, so no other writer recreated it). */
static void discard(struct cache_writer *w)
{
	if (w->gone)
		return;
	/* Best effort: truncating first returns the space even if an open
	 * descriptor elsewhere keeps the inode alive; unlink failing leaves a
	 * .part that reconcile removes. */
	int r = ftruncate(w->fd, 0);

	r |= unlinkat(w->c->tmp_fd, w->part, 0);
	(void)r;
	w->gone = true;
}

/* 1 when fd is still the file named w->part, 0 when the name moved on. */
static int still_named(struct cache_writer *w, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return -errno;
	if (fstatat(w->c->tmp_fd, w->part, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISREG(a.st_mode))
		return -EINVAL;
	w->found = (uint64_t)a.st_size;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* One attempt: 0 with w->fd set, 1 to try again, or a negative errno. */
static int try_open_part(struct cache_writer *w)
{
	int fd = openat(w->c->tmp_fd, w->part,
	                O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, PART_MODE);
	int r;

	if (fd < 0 && errno == ELOOP) /* a symlink planted in tmp/: not ours */
		return unlinkat(w->c->tmp_fd, w->part, 0) < 0 ? -errno : 1;
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		(void)close(fd);
		return r;
	}
	r = still_named(w, fd);
	if (r == 1 && fcntl(fd, F_SETFL, 0) == 0) {
		w->fd = fd;
		return 0;
	}
	(void)close(fd);
	if (r == -EINVAL) /* not a regular file (a FIFO, ...): remove it */
		return cache_rm(w->c->tmp_fd, w->part) < 0 ? -EINVAL : 1;
	return r < 0 ? r : 1;
}

static int open_part(struct cache_writer *w)
{
	int r = 1;

	for (int i = 0; i < OPEN_ATTEMPTS && r == 1; i++)
		r = try_open_part(w);
	return r == 1 ? -EBUSY : r;
}

/* Hashes the first len bytes of the .part file. */
static int rehash(struct cache_writer *w, uint64_t len)
{
	char *buf = malloc(REHASH_BUF);
	uint64_t off = 0;
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (off < len && r == 0) {
		size_t want = len - off < REHASH_BUF ? (size_t)(len - off) : REHASH_BUF;
		ssize_t n = pread(w->fd, buf, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO; /* shorter than fstat said */
		else if (EVP_DigestUpdate(w->md, buf, (size_t)n) != 1)
			r = -ENOMEM;
		else
			off += (uint64_t)n;
	}
	free(buf);
	return r;
}

static int reset(struct cache_writer *w)
{
	if (ftruncate(w->fd, 0) < 0)
		return -errno;
	if (EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1)
		return -ENOMEM;
	w->written = 0;
	return 0;
}

/* Resumes from what the .part file holds, or empties it. */
static int start(struct cache_writer *w, bool resume)
{
	int r;

	if (w->found == 0)
		return 0; /* a new file: nothing to hash or truncate */
	if (resume && w->found <= w->size) {
		r = rehash(w, w->found);
		if (r == 0) {
			w->written = w->found;
			return 0;
		}
		if (r == -ENOMEM)
			return r;
		/* Unreadable bytes are not worth resuming: start again. */
	}
	return reset(w);
}

int cache_writer_open(struct cache *c, const char *sha256, uint64_t size, unsigned flags,
                      struct cache_writer **ret, uint64_t *ret_offset)
{
	struct cache_writer *w = NULL;
	int r;

	if (!cache_valid_sha256(sha256) || (flags & ~(unsigned)CACHE_RESUME) != 0)
		return -EINVAL;
	if (cache_has(c, sha256, size))
		return -EEXIST;
	if ((r = writer_new(c, sha256, size, &w)) < 0)
		return r;
	if ((r = open_part(w)) < 0 || (r = start(w, (flags & CACHE_RESUME) != 0)) < 0)
		goto out;
	*ret_offset = w->written;
	*ret = w;
	w = NULL;
out:
	writer_free(w);
	return r;
}

static int fail(struct cache_writer *w, int r)
{
	w->err = r;
	if (r == -ENOSPC || r == -EDQUOT)
		discard(w); /* give the space back now */
	return r;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int cache_writer_write(struct cache_writer *w, const void *buf, size_t len)
{
	int r;

	if (w->err != 0)
		return w->err;
	if (len > w->size - w->written)
		return fail(w, -EFBIG);
	if ((r = pwrite_all(w->fd, buf, len, w->written)) < 0)
		return fail(w, r);
	if (EVP_DigestUpdate(w->md, buf, len) != 1)
		return fail(w, -ENOMEM);
	w->written += len;
	return 0;
}

int cache_writer_sink(const void *buf, size_t len, void *arg)
{
	return cache_writer_write(arg, buf, len);
}

int cache_writer_restart(struct cache_writer *w)
{
	int r;

	if (w->err != 0)
		return w->err;
	if ((r = reset(w)) < 0)
		return fail(w, r);
	return 0;
}

uint64_t cache_writer_offset(const struct cache_writer *w)
{
	return w->written;
}

/* 0 when the bytes hash to the name; -EBADMSG (file quarantined) if not. */
static int verify(struct cache_writer *w)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char got[CACHE_SHA256_LEN + 1];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(w->md, md, &n) != 1 || n * 2 != CACHE_SHA256_LEN)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++) {
		got[2 * i] = hex[md[i] >> 4];
		got[2 * i + 1] = hex[md[i] & 15];
	}
	got[CACHE_SHA256_LEN] = '\0';
	if (strcmp(got, w->sha256) == 0)
		return 0;
	(void)cache_quarantine(w->c, w->part, w->sha256);
	w->gone = true;
	return -EBADMSG;
}

/* Opens objects/ab/, creating it (and making its name durable) when absent. */
static int fanout_dir(struct cache *c, const char *sha256, int *ret)
{
	char name[3] = {sha256[0], sha256[1], '\0'};
	int fd = openat(c->objects_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(c->objects_fd, name, 0750) == 0) {
			if (fsync(c->objects_fd) < 0 && errno != EINVAL)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		fd = openat(c->objects_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return errno == ENOTDIR ? -ELOOP : -errno;
	*ret = fd;
	return 0;
}

/* Renames the .part to objects/ab/<sha256>.  Usually nothing has that name
 * (one rename); a wrong-sized object of it is replaced and uncounted. */
static int rename_in(struct cache_writer *w, int dfd)
{
	struct cache *c = w->c;
	struct stat old;
	bool replaced;

	if (renameat2(c->tmp_fd, w->part, dfd, w->sha256, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EEXIST && errno != EINVAL) /* EINVAL: no RENAME_NOREPLACE here */
		return -errno;
	replaced = fstatat(dfd, w->sha256, &old, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(old.st_mode);
	if (renameat(c->tmp_fd, w->part, dfd, w->sha256) < 0)
		return -errno;
	if (replaced)
		cache_count(c, (uint64_t)old.st_size, false);
	return 0;
}

/* fsync, rename into objects/ab/, fsync the directory.  On a failed fsync
 * the file is not retried (the kernel may have dropped the dirty pages and
 * a second fsync can succeed falsely): the caller discards it. */
static int publish(struct cache_writer *w)
{
	struct cache *c = w->c;
	int dfd = -1, r = 0;

	if (fsync(w->fd) < 0)
		return -errno;
	if ((r = fanout_dir(c, w->sha256, &dfd)) < 0)
		return r;
	if ((r = rename_in(w, dfd)) < 0)
		goto out;
	w->gone = true;
	if (fsync(dfd) < 0 && errno != EINVAL) {
		r = -errno;
		(void)unlinkat(dfd, w->sha256, 0);
		goto out;
	}
	cache_count(c, w->size, true);
out:
	(void)close(dfd);
	return r;
}

int cache_writer_commit(struct cache_writer *w)
{
	int r = w->err;

	if (r == 0 && w->written != w->size)
		r = -EMSGSIZE;
	if (r == 0)
		r = verify(w);
	if (r == 0)
		r = publish(w);
	if (r < 0)
		discard(w); /* a no-op once quarantined or renamed */
	writer_free(w);
	return r;
}

void cache_writer_abort(struct cache_writer *w, bool keep)
{
	if (w == NULL)
		return;
	if (!keep || w->err != 0)
		discard(w);
	writer_free(w);
}

/*
 * fsutil — durable file operations (see fsutil.h).
 *
 * A file is published as: a temp file in the destination's directory
 * (".tmp-" + 12 random hex digits, created O_EXCL with mode 0666 & ~umask so
 * a published leader directory stays readable by a web server), data written
 * and fsynced, then rename(2) (or link(2) for an exclusive create, which
 * fails with EEXIST instead of replacing), then an fsync of the directory so
 * the new name itself survives a crash.  Readers of a directory that is
 * being written (target_list) skip names starting with FSUTIL_TMP_PREFIX.
 */
#include "util/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define FSUTIL_TMP_PREFIX ".tmp-"
#define COPY_BUF (256 * 1024)

/* Fills an open temp file; returns 0 or a negative errno. */
typedef int (*fill_fn)(int fd, void *arg);

struct mem_src {
	const void *data;
	size_t len;
};

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fill_mem(int fd, void *arg)
{
	const struct mem_src *m = arg;

	return write_all(fd, m->data, m->len);
}

static int fill_copy(int fd, void *arg)
{
	int src = *(int *)arg;
	char *buf = malloc(COPY_BUF);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n = read(src, buf, COPY_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = write_all(fd, buf, (size_t)n);
		if (r < 0)
			break;
	}
	free(buf);
	return r;
}

/* Splits path into its directory (written to dir, "." when none). */
static int dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash) {
		if (len < 2)
			return -ENAMETOOLONG;
		strcpy(dir, ".");
		return 0;
	}
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

/* fsync of a directory.  EINVAL means the file system cannot sync
 * directories (some FUSE ones); there is nothing more to do then. */
static int fsync_path(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0 && errno != EINVAL)
		r = -errno;
	(void)close(fd);
	return r;
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	int r = dir_of(path, dir, sizeof(dir));

	return r < 0 ? r : fsync_path(dir);
}

/* The header's "is_dir": a path that is a directory is synced itself;
 * anything else (a file, a name just unlinked) syncs its directory. */
int fsutil_fsync_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return fsync_path(path);
	return fsync_parent(path);
}

/* Creates a new temp file in dir; its name goes to tmp. */
static int open_temp(const char *dir, char *tmp, size_t len)
{
	int attempt;

	for (attempt = 0; attempt < 16; attempt++) {
		uint8_t rnd[6];
		int fd;

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return -EIO;
		if (snprintf(tmp, len, "%s/%s%02x%02x%02x%02x%02x%02x", dir, FSUTIL_TMP_PREFIX,
		             rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >= (int)len)
			return -ENAMETOOLONG;
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* Moves tmp into place at path (link for exclusive, rename otherwise). */
static int publish(const char *tmp, const char *path, bool exclusive)
{
	if (!exclusive)
		return rename(tmp, path) < 0 ? -errno : 0;
	if (link(tmp, path) < 0)
		return -errno;
	(void)unlink(tmp);
	return 0;
}

static int write_durably(const char *path, bool exclusive, fill_fn fill, void *arg)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	bool tmp_exists = false;
	int fd = -1, r;

	r = dir_of(path, dir, sizeof(dir));
	if (r < 0)
		goto out;
	fd = r = open_temp(dir, tmp, sizeof(tmp));
	if (r < 0)
		goto out;
	tmp_exists = true;
	r = fill(fd, arg);
	if (r < 0)
		goto out;
	if (fsync(fd) < 0) {
		r = -errno;
		goto out;
	}
	r = close(fd) < 0 ? -errno : 0;
	fd = -1;
	if (r < 0)
		goto out;
	r = publish(tmp, path, exclusive);
	if (r < 0)
		goto out;
	tmp_exists = false;
	r = fsync_path(dir);
out:
	if (fd >= 0)
		(void)close(fd);
	if (tmp_exists)
		(void)unlink(tmp);
	return r;
}

int fsutil_write_atomic(const char *path, const void *data, size_t len, bool exclusive)
{
	struct mem_src m = {data, len};

	return write_durably(path, exclusive, fill_mem, &m);
}

int fsutil_copy_atomic(const char *src, const char *dst, bool exclusive)
{
	int fd = open(src, O_RDONLY | O_CLOEXEC);
	int r;

	if (fd < 0)
		return -errno;
	r = write_durably(dst, exclusive, fill_copy, &fd);
	(void)close(fd);
	return r;
}

/* Reads up to max + 1 bytes, so that a file larger than max is detected even
 * when fstat's size is wrong (a growing file, /proc). */
static int read_bounded(int fd, size_t max, size_t hint, char **ret, size_t *ret_len)
{
	size_t cap = (hint < max ? hint : max) + 1, len = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;
		if (len == cap) {
			size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
			char *nbuf;
			if (ncap <= cap)
				break; /* already holds max + 1 bytes */
			nbuf = realloc(buf, ncap + 1);
			if (!nbuf) {
				free(buf);
				return -ENOMEM;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max) {
		free(buf);
		return -EFBIG;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

int fsutil_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat st;
	size_t hint = 4096;
	char *data = NULL;
	size_t len = 0;
	int fd, r;

	if (max >= SIZE_MAX - 1)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > max) {
			r = -EFBIG;
			goto out;
		}
		hint = (size_t)st.st_size;
	}
	r = read_bounded(fd, max, hint, &data, &len);
	if (r < 0)
		goto out;
	*ret = data;
	if (ret_len)
		*ret_len = len;
out:
	(void)close(fd);
	return r;
}

/* Creates one directory; 1 when created, 0 when it existed, or -errno. */
/* 1: made, 0: there.  A directory already there is looked at, not made:
 * a sandbox (ProtectSystem=strict) sees no attempt to write its parents. */
static int mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (mkdir(path, mode) == 0)
		return 1;
	if (errno != EEXIST)
		return -errno;
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int fsutil_mkdirs(const char *path, mode_t mode)
{
	struct stat st;
	char buf[PATH_MAX];
	size_t len = strlen(path), i;
	int r;

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	while (len > 1 && buf[len - 1] == '/')
		buf[--len] = '\0';
	/* Most calls find the directory there: one stat instead of a mkdir and
	 * a stat per component (a leader's million artifacts go through here). */
	if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		if (buf[i - 1] == '/')
			continue; /* "//" */
		buf[i] = '\0';
		r = mkdir_one(buf, mode);
		if (r == 1)
			r = fsync_parent(buf);
		if (i < len)
			buf[i] = '/';
		if (r < 0)
			return r;
	}
	return 0;
}

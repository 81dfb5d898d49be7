/*
 * cache — the content-addressed artifact files: layout, serving, usage
 * (see cache.h).  The writer is in cache_writer.c, the directory walks
 * (reconcile, quarantine, usage scan) in cache_walk.c.
 *
 * The cache keeps its directories open and names everything relative to
 * them (openat and friends), so no leader-supplied string ever becomes a
 * path: the only names are sha256 hex digits checked by cache_valid_sha256.
 */
#include "cache/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cache/cache_int.h"
#include "util/fsutil.h"

#define DIR_MODE 0750
#define DEFAULT_QUARANTINE_FILES 16
#define DEFAULT_QUARANTINE_BYTES ((uint64_t)1 << 30)

bool cache_valid_sha256(const char *s)
{
	size_t i;

	if (s == NULL)
		return false;
	for (i = 0; i < CACHE_SHA256_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

void cache_object_name(const char *sha256, char buf[CACHE_OBJNAME_LEN])
{
	buf[0] = sha256[0];
	buf[1] = sha256[1];
	buf[2] = '/';
	memcpy(buf + 3, sha256, CACHE_SHA256_LEN + 1);
}

void cache_part_name(const char *sha256, char buf[CACHE_PARTNAME_LEN])
{
	memcpy(buf, sha256, CACHE_SHA256_LEN);
	memcpy(buf + CACHE_SHA256_LEN, CACHE_PART_SUFFIX, sizeof(CACHE_PART_SUFFIX));
}

void cache_count(struct cache *c, uint64_t bytes, bool add)
{
	(void)pthread_mutex_lock(&c->lock);
	if (c->counted && add) {
		c->usage.bytes += bytes;
		c->usage.files++;
	} else if (c->counted) {
		c->usage.bytes -= bytes < c->usage.bytes ? bytes : c->usage.bytes;
		c->usage.files -= c->usage.files > 0;
	}
	(void)pthread_mutex_unlock(&c->lock);
}

/* Creates (when absent) and opens the subdirectory name of the root; a new
 * directory is fsynced into the root so the layout survives a crash. */
static int open_subdir(int root_fd, const char *name, int *ret)
{
	int fd;

	if (mkdirat(root_fd, name, DIR_MODE) == 0) {
		if (fsync(root_fd) < 0 && errno != EINVAL)
			return -errno;
	} else if (errno != EEXIST) {
		return -errno;
	}
	fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOTDIR ? -ELOOP : -errno; /* a symlink to a file says ENOTDIR */
	*ret = fd;
	return 0;
}

static void set_options(struct cache *c, const struct cache_options *opt)
{
	if (opt != NULL)
		c->opt = *opt;
	if (c->opt.quarantine_max_files == 0)
		c->opt.quarantine_max_files = DEFAULT_QUARANTINE_FILES;
	if (c->opt.quarantine_max_bytes == 0)
		c->opt.quarantine_max_bytes = DEFAULT_QUARANTINE_BYTES;
}

int cache_open(const char *dir, const struct cache_options *opt, struct cache **ret)
{
	struct cache *c = calloc(1, sizeof(*c));
	int r = -ENOMEM;

	if (c == NULL)
		return -ENOMEM;
	c->root_fd = c->objects_fd = c->tmp_fd = c->quarantine_fd = -1;
	if (pthread_mutex_init(&c->lock, NULL) != 0) {
		free(c);
		return -ENOMEM;
	}
	set_options(c, opt);
	if ((c->dir = strdup(dir)) == NULL)
		goto out;
	if ((r = fsutil_mkdirs(dir, DIR_MODE)) < 0)
		goto out;
	c->root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->root_fd < 0) {
		r = -errno;
		goto out;
	}
	if ((r = open_subdir(c->root_fd, "objects", &c->objects_fd)) < 0 ||
	    (r = open_subdir(c->root_fd, "tmp", &c->tmp_fd)) < 0 ||
	    (r = open_subdir(c->root_fd, "quarantine", &c->quarantine_fd)) < 0)
		goto out;
	*ret = c;
	c = NULL;
	r = 0;
out:
	cache_free(c);
	return r;
}

static void close_fd(int fd)
{
	if (fd >= 0)
		(void)close(fd);
}

void cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	close_fd(c->root_fd);
	close_fd(c->objects_fd);
	close_fd(c->tmp_fd);
	close_fd(c->quarantine_fd);
	(void)pthread_mutex_destroy(&c->lock);
	free(c->dir);
	free(c);
}

int cache_path_in(const char *dir, const char *sha256, char *buf, size_t len)
{
	char name[CACHE_OBJNAME_LEN];
	int n;

	if (!cache_valid_sha256(sha256))
		return -EINVAL;
	cache_object_name(sha256, name);
	n = snprintf(buf, len, "%s/objects/%s", dir, name);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int cache_path(const struct cache *c, const char *sha256, char *buf, size_t len)
{
	return cache_path_in(c->dir, sha256, buf, len);
}

/* Checks that fd is a regular file of size bytes. */
static int check_size(int fd, uint64_t size)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	return (uint64_t)st.st_size == size ? 0 : -EMSGSIZE;
}

int cache_open_object(struct cache *c, const char *sha256, uint64_t size, int *ret_fd)
{
	char name[CACHE_OBJNAME_LEN];
	int fd, r;

	if (!cache_valid_sha256(sha256))
		return -EINVAL;
	cache_object_name(sha256, name);
	/* O_NONBLOCK: opening a planted FIFO must not hang.  It stays set: Linux
	 * ignores it on regular files (check_size insists on one), and clearing
	 * it would cost a syscall on every artifact GET. */
	fd = openat(c->objects_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if ((r = check_size(fd, size)) < 0) {
		(void)close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

bool cache_has(struct cache *c, const char *sha256, uint64_t size)
{
	char name[CACHE_OBJNAME_LEN];
	struct stat st;

	if (!cache_valid_sha256(sha256))
		return false;
	cache_object_name(sha256, name);
	if (fstatat(c->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

int cache_remove(struct cache *c, const char *sha256)
{
	char name[CACHE_OBJNAME_LEN];
	struct stat st;

	if (!cache_valid_sha256(sha256))
		return -EINVAL;
	cache_object_name(sha256, name);
	if (fstatat(c->objects_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (unlinkat(c->objects_fd, name, 0) < 0)
		return -errno;
	if (S_ISREG(st.st_mode))
		cache_count(c, (uint64_t)st.st_size, false);
	return 0;
}

int cache_usage(struct cache *c, struct cache_usage *ret)
{
	int r = 0;

	/* The lock is held through a first scan so that a commit on another
	 * thread is neither lost nor counted twice. */
	(void)pthread_mutex_lock(&c->lock);
	if (!c->counted) {
		r = cache_scan_usage(c, &c->usage);
		c->counted = r == 0;
	}
	if (r == 0)
		*ret = c->usage;
	(void)pthread_mutex_unlock(&c->lock);
	return r;
}

int cache_disk_space(struct cache *c, uint64_t *ret_free, uint64_t *ret_total)
{
	struct statvfs sv;

	if (fstatvfs(c->root_fd, &sv) < 0)
		return -errno;
	*ret_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	*ret_total = (uint64_t)sv.f_blocks * sv.f_frsize;
	return 0;
}

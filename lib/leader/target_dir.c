/*
 * target_dir — a leader in a local directory (the directory backend of
 * target.h).
 *
 * Writes go through fsutil (temp + fsync + rename + fsync dir); parents are
 * created as needed.  Paths were checked by target.c (no absolute path, no
 * "." or ".." segment), so every object lies under the root; symlinks
 * inside the root are the owner's business.
 *
 * ETags: "SIZE-MTIMENS-INODE" in hex, quoted like HTTP's.  An atomic
 * replace always makes a new inode, but the kernel may reuse the number of
 * a freed one and file-system timestamps are coarse (a jiffy on ext4), so
 * two writes of the same size within one tick could in theory look alike.
 * That is why TARGET_PUT_IF_MATCH compares and replaces under the writer
 * lock (taken for the call unless this target already holds it): no other
 * conditional writer can slip in between, and a leader holds the lock for
 * all its writes anyway.
 *
 * The writer lock is flock(2) on ROOT/.lock, polled with LOCK_NB so that a
 * timeout is possible (leaderctl is a CLI; a short sleep is fine).
 */
#include "leader/target_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

#define LOCK_NAME ".lock"
#define TMP_PREFIX ".tmp-"
#define LOCK_POLL_MS 20
#define IF_MATCH_LOCK_MS 30000
#define LIST_DEPTH_MAX 32

struct dir_target {
	struct target base;
	char root[PATH_MAX];
	int lock_fd; /* -1 when the writer lock is not held */
};

static struct dir_target *dir_of(struct target *t)
{
	return (struct dir_target *)t;
}

static int full_path(struct dir_target *d, const char *path, char *buf)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", d->root, path) >= PATH_MAX)
		return target_fail(&d->base, -ENAMETOOLONG, "%s/%s: path too long", d->root, path);
	return 0;
}

static void make_etag(const struct stat *st, char etag[TARGET_ETAG_MAX])
{
	uint64_t ns = (uint64_t)st->st_mtim.tv_sec * 1000000000u + (uint64_t)st->st_mtim.tv_nsec;

	(void)snprintf(etag, TARGET_ETAG_MAX, "\"%" PRIx64 "-%" PRIx64 "-%" PRIx64 "\"",
	               (uint64_t)st->st_size, ns, (uint64_t)st->st_ino);
}

/* Reads an open regular file of at most max bytes. */
static int read_fd(int fd, size_t size, char **ret)
{
	char *buf = malloc(size + 1);
	size_t got = 0;

	if (!buf)
		return -ENOMEM;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO; /* shrank while read: a writer bypassed us */
			free(buf);
			return e;
		}
		got += (size_t)n;
	}
	buf[size] = '\0';
	*ret = buf;
	return 0;
}

#define READ_PIECE ((size_t)1 << 20)

/* Gives the open file to fn in pieces of READ_PIECE bytes, at most max. */
static int read_pieces(struct target *t, int fd, const char *full, uint64_t max, target_read_fn fn,
                       void *arg)
{
	char *buf = malloc(READ_PIECE);
	uint64_t total = 0;
	int r = buf ? 0 : target_fail(t, -ENOMEM, "out of memory");

	while (r == 0) {
		ssize_t n = read(fd, buf, READ_PIECE);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = target_fail(t, -errno, "read %s: %s", full, strerror(errno));
		if (n <= 0)
			break;
		total += (uint64_t)n;
		if (total > max) /* grew while read: a writer bypassed the lock */
			r = target_fail(t, -EFBIG, "%s: more than the %" PRIu64 " bytes allowed",
			                full, max);
		else
			r = fn(buf, (size_t)n, arg);
	}
	free(buf);
	return r;
}

static int dir_read(struct target *t, const char *path, uint64_t max, target_read_fn fn, void *arg)
{
	struct dir_target *d = dir_of(t);
	char full[PATH_MAX];
	struct stat st;
	int fd, r = full_path(d, path, full);

	if (r < 0)
		return r;
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return target_fail(t, -errno, "%s: %s", full, strerror(errno));
	if (fstat(fd, &st) < 0)
		r = target_fail(t, -errno, "%s: %s", full, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		r = target_fail(t, -EISDIR, "%s: not a regular file", full);
	else if ((uint64_t)st.st_size > max)
		r = target_fail(t, -EFBIG, "%s: %jd bytes, more than the %" PRIu64 " allowed", full,
		                (intmax_t)st.st_size, max);
	else
		r = read_pieces(t, fd, full, max, fn, arg);
	(void)close(fd);
	return r;
}

static int dir_get(struct target *t, const char *path, size_t max, char **ret_data, size_t *ret_len,
                   char ret_etag[TARGET_ETAG_MAX])
{
	struct dir_target *d = dir_of(t);
	char full[PATH_MAX], *data = NULL;
	struct stat st;
	int fd = -1, r;

	r = full_path(d, path, full);
	if (r < 0)
		return r;
	fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return target_fail(t, -errno, "%s: %s", full, strerror(errno));
	r = fstat(fd, &st) < 0 ? -errno : 0;
	if (r == 0 && !S_ISREG(st.st_mode))
		r = -EISDIR;
	if (r < 0) {
		(void)target_fail(t, r, "%s: %s", full,
		                  r == -EISDIR ? "not a regular file" : strerror(-r));
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = target_fail(t, -EFBIG, "%s: %jd bytes, more than the %zu allowed", full,
		                (intmax_t)st.st_size, max);
		goto out;
	}
	r = read_fd(fd, (size_t)st.st_size, &data);
	if (r < 0) {
		(void)target_fail(t, r, "read %s: %s", full, strerror(-r));
		goto out;
	}
	*ret_data = data;
	if (ret_len)
		*ret_len = (size_t)st.st_size;
	if (ret_etag)
		make_etag(&st, ret_etag);
out:
	(void)close(fd);
	return r;
}

/* Opens ROOT/.lock and takes flock, waiting up to timeout_ms; the fd. */
static int take_flock(struct dir_target *d, int timeout_ms)
{
	char path[PATH_MAX];
	int64_t start = target_now_ms();
	int fd, r;

	r = full_path(d, LOCK_NAME, path);
	if (r < 0)
		return r;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return target_fail(&d->base, -errno, "lock %s: %s", path, strerror(errno));
	for (;;) {
		int64_t waited;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		r = errno;
		waited = target_now_ms() - start;
		if (r != EWOULDBLOCK && r != EINTR) {
			(void)close(fd);
			return target_fail(&d->base, -r, "lock %s: %s", path, strerror(r));
		}
		if (waited >= timeout_ms) {
			(void)close(fd);
			return target_fail(&d->base, -ETIMEDOUT,
			                   "lock %s: held by another writer "
			                   "(waited %" PRId64 " ms)",
			                   path, waited);
		}
		target_sleep_ms(timeout_ms - waited < LOCK_POLL_MS ? timeout_ms - waited
		                                                   : LOCK_POLL_MS);
	}
}

/* The current ETag of path equals etag?  0, -ESTALE, or another error. */
static int check_etag(struct dir_target *d, const char *full, const char *etag)
{
	char cur[TARGET_ETAG_MAX];
	struct stat st;

	if (lstat(full, &st) < 0) {
		if (errno == ENOENT)
			return target_fail(&d->base, -ESTALE, "%s: absent, expected ETag %s", full,
			                   etag);
		return target_fail(&d->base, -errno, "%s: %s", full, strerror(errno));
	}
	make_etag(&st, cur);
	if (strcmp(cur, etag) != 0)
		return target_fail(&d->base, -ESTALE, "%s: ETag is %s, expected %s", full, cur,
		                   etag);
	return 0;
}

static int write_src(struct dir_target *d, const char *full, const struct target_src *src,
                     bool exclusive)
{
	int r = src->local_path ? fsutil_copy_atomic(src->local_path, full, exclusive)
	                        : fsutil_write_atomic(full, src->data, src->len, exclusive);

	if (r == -EEXIST && exclusive)
		return target_fail(&d->base, r, "%s: already exists", full);
	if (r < 0)
		return target_fail(&d->base, r, "write %s%s%s: %s", full,
		                   src->local_path ? " from " : "",
		                   src->local_path ? src->local_path : "", strerror(-r));
	return 0;
}

static int make_parent(struct dir_target *d, const char *full)
{
	char parent[PATH_MAX];
	char *slash;
	int r;

	(void)snprintf(parent, sizeof(parent), "%s", full);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return 0;
	*slash = '\0';
	r = fsutil_mkdirs(parent, 0755);
	return r < 0 ? target_fail(&d->base, r, "mkdir %s: %s", parent, strerror(-r)) : 0;
}

static int dir_put(struct target *t, const char *path, const struct target_src *src,
                   enum target_put_mode mode, const char *etag)
{
	struct dir_target *d = dir_of(t);
	char full[PATH_MAX];
	int lock_fd = -1, r;

	r = full_path(d, path, full);
	if (r < 0)
		return r;
	r = make_parent(d, full);
	if (r < 0)
		return r;
	if (mode != TARGET_PUT_IF_MATCH)
		return write_src(d, full, src, mode == TARGET_PUT_NEW);
	if (d->lock_fd < 0) {
		lock_fd = r = take_flock(d, IF_MATCH_LOCK_MS);
		if (r < 0)
			return r;
	}
	r = check_etag(d, full, etag);
	if (r == 0)
		r = write_src(d, full, src, false);
	if (lock_fd >= 0)
		(void)close(lock_fd); /* releases the flock */
	return r;
}

static int dir_del(struct target *t, const char *path)
{
	struct dir_target *d = dir_of(t);
	char full[PATH_MAX];
	int r;

	r = full_path(d, path, full);
	if (r < 0)
		return r;
	if (unlink(full) < 0) {
		if (errno == ENOENT)
			return 0;
		return target_fail(t, -errno, "unlink %s: %s", full, strerror(errno));
	}
	r = fsutil_fsync_dir(full);
	return r < 0 ? target_fail(t, r, "fsync of the directory of %s: %s", full, strerror(-r))
	             : 0;
}

/* ---- listing ---- */

struct entry {
	char *name;
	bool is_dir;
	uint64_t size;
	int64_t mtime;
};

/* The sort key of an entry at i: its name, then '/' for a directory, then
 * the end (-1), which sorts first. */
static int key_at(const struct entry *e, size_t i, size_t len)
{
	if (i < len)
		return (unsigned char)e->name[i];
	return i == len && e->is_dir ? '/' : -1;
}

/* Orders entries as their full paths sort: a directory "a" as "a/". */
static int cmp_entry(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	size_t la = strlen(a->name), lb = strlen(b->name), i;

	for (i = 0;; i++) {
		int c = key_at(a, i, la), e = key_at(b, i, lb);
		if (c != e)
			return c < e ? -1 : 1;
		if (c == -1)
			return 0;
	}
}

struct walk {
	struct dir_target *d;
	const char *prefix;
	target_list_fn fn;
	void *arg;
	char rel[PATH_MAX];
};

static void free_entries(struct entry *es, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(es[i].name);
	free(es);
}

/* Whether a name read from a directory is one of ours to hide. */
static bool hidden(const char *name, bool at_root)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	       strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0 ||
	       (at_root && strcmp(name, LOCK_NAME) == 0);
}

/* Reads the regular files and directories of dirfd (closed) into *ret. */
static int read_entries(int dirfd, bool at_root, struct entry **ret, size_t *ret_n)
{
	DIR *dir = fdopendir(dirfd);
	struct entry *es = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int r = 0;

	if (!dir) {
		r = -errno;
		(void)close(dirfd);
		return r;
	}
	while ((errno = 0, de = readdir(dir))) {
		struct stat st;
		if (hidden(de->d_name, at_root) ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue;
		if (n == cap) {
			struct entry *ne = realloc(es, (cap = cap ? cap * 2 : 64) * sizeof(*es));
			if (!ne) {
				r = -ENOMEM;
				break;
			}
			es = ne;
		}
		es[n] = (struct entry){strdup(de->d_name), S_ISDIR(st.st_mode),
		                       (uint64_t)st.st_size, (int64_t)st.st_mtim.tv_sec};
		if (!es[n++].name) {
			r = -ENOMEM;
			break;
		}
	}
	if (r == 0 && errno != 0)
		r = -errno;
	(void)closedir(dir);
	if (r < 0) {
		free_entries(es, n);
		return r;
	}
	if (n > 1)
		qsort(es, n, sizeof(*es), cmp_entry);
	*ret = es;
	*ret_n = n;
	return 0;
}

/* Could a path under directory rel (ending in '/') match the prefix? */
static bool dir_may_match(const char *rel, const char *prefix)
{
	size_t a = strlen(rel), b = strlen(prefix);

	return strncmp(rel, prefix, a < b ? a : b) == 0;
}

static int walk_dir(struct walk *w, int dirfd, size_t rel_len, int depth);

static int walk_entry(struct walk *w, int dirfd, const struct entry *e, size_t rel_len, int depth)
{
	size_t n = strlen(e->name);
	int fd;

	if (rel_len + n + 2 > TARGET_PATH_MAX + 1)
		return 0; /* longer than any object path: not ours */
	memcpy(w->rel + rel_len, e->name, n + 1);
	if (!e->is_dir)
		return strncmp(w->rel, w->prefix, strlen(w->prefix)) == 0
		           ? w->fn(w->rel, e->size, e->mtime, w->arg)
		           : 0;
	w->rel[rel_len + n] = '/';
	w->rel[rel_len + n + 1] = '\0';
	if (!dir_may_match(w->rel, w->prefix))
		return 0;
	fd = openat(dirfd, e->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return target_fail(&w->d->base, -errno, "%s/%s: %s", w->d->root, w->rel,
		                   strerror(errno));
	return walk_dir(w, fd, rel_len + n + 1, depth + 1);
}

/* Lists directory dirfd (consumed), whose path relative to the root is
 * w->rel[0..rel_len). */
static int walk_dir(struct walk *w, int dirfd, size_t rel_len, int depth)
{
	struct entry *es = NULL;
	size_t n = 0, i;
	int dup_fd, r;

	if (depth > LIST_DEPTH_MAX) {
		(void)close(dirfd);
		return target_fail(&w->d->base, -ELOOP, "%s/%s: more than %d levels deep",
		                   w->d->root, w->rel, LIST_DEPTH_MAX);
	}
	dup_fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0); /* fdopendir takes dirfd */
	if (dup_fd < 0) {
		r = -errno;
		(void)close(dirfd);
		return target_fail(&w->d->base, r, "%s: %s", w->d->root, strerror(-r));
	}
	r = read_entries(dirfd, depth == 0, &es, &n);
	if (r < 0) {
		(void)close(dup_fd);
		return target_fail(&w->d->base, r, "read directory %s/%s: %s", w->d->root, w->rel,
		                   strerror(-r));
	}
	for (i = 0, r = 0; i < n && r == 0; i++)
		r = walk_entry(w, dup_fd, &es[i], rel_len, depth);
	w->rel[rel_len] = '\0';
	free_entries(es, n);
	(void)close(dup_fd);
	return r;
}

static int dir_list(struct target *t, const char *prefix, target_list_fn fn, void *arg)
{
	struct dir_target *d = dir_of(t);
	struct walk *w = calloc(1, sizeof(*w));
	int fd, r;

	if (!w)
		return target_fail(t, -ENOMEM, "out of memory");
	*w = (struct walk){.d = d, .prefix = prefix, .fn = fn, .arg = arg};
	fd = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		r = target_fail(t, -errno, "%s: %s", d->root, strerror(errno));
	else
		r = walk_dir(w, fd, 0, 0);
	free(w);
	return r;
}

/* ---- the writer lock ---- */

static int dir_lock(struct target *t, int timeout_ms)
{
	struct dir_target *d = dir_of(t);
	int fd;

	if (d->lock_fd >= 0)
		return 0;
	fd = take_flock(d, timeout_ms);
	if (fd < 0)
		return fd;
	d->lock_fd = fd;
	return 0;
}

static int dir_lock_renew(struct target *t)
{
	struct dir_target *d = dir_of(t);

	if (d->lock_fd < 0)
		return target_fail(t, -ENOLCK, "%s/%s: not locked", d->root, LOCK_NAME);
	return 0; /* a flock lasts as long as its file description */
}

static void dir_unlock(struct target *t)
{
	struct dir_target *d = dir_of(t);

	if (d->lock_fd >= 0)
		(void)close(d->lock_fd);
	d->lock_fd = -1;
}

static void dir_free(struct target *t)
{
	dir_unlock(t);
	free(t);
}

static const struct target_ops dir_ops = {
    .get = dir_get,
    .read = dir_read,
    .put = dir_put,
    .del = dir_del,
    .list = dir_list,
    .lock = dir_lock,
    .lock_renew = dir_lock_renew,
    .unlock = dir_unlock,
    .free = dir_free,
};

int target_dir_open(const char *dir, struct target **ret, char *err, size_t errlen)
{
	struct dir_target *d;
	struct stat st;

	if (!*dir) {
		(void)snprintf(err, errlen, "empty directory name");
		return -EINVAL;
	}
	if (stat(dir, &st) < 0) {
		int e = errno;
		if (e == ENOENT)
			(void)snprintf(err, errlen, "%s: leader directory does not exist", dir);
		else
			(void)snprintf(err, errlen, "%s: %s", dir, strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a directory", dir);
		return -ENOTDIR;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (!realpath(dir, d->root)) {
		int e = errno;
		(void)snprintf(err, errlen, "%s: %s", dir, strerror(e));
		free(d);
		return -e;
	}
	d->base.ops = &dir_ops;
	d->lock_fd = -1;
	(void)snprintf(d->base.describe, sizeof(d->base.describe), "%s", d->root);
	*ret = &d->base;
	return 0;
}

/*
 * cache_walk — the walks over the cache's directories: startup reconcile,
 * the quarantine's bounds, the first usage count (see cache.h).
 *
 * Every walk reads a directory through its open fd (openat ".", fdopendir)
 * and looks at entries with fstatat(AT_SYMLINK_NOFOLLOW): a symlink planted
 * anywhere is an entry to remove, never a path to follow.
 */
#include "cache/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_int.h"

#define RM_MAX_DEPTH 16
#define DEFAULT_TMP_MAX_AGE_S (7 * 86400)

int cache_opendir(int dirfd, DIR **ret)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (d == NULL) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	*ret = d;
	return 0;
}

static bool is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static int rm_depth(int dirfd, const char *name, int depth);

/* Empties the directory name in dirfd (not followed if a symlink). */
static int rm_contents(int dirfd, const char *name, int depth)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d;
	int r = 0;

	if (fd < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		r = -errno;
		(void)close(fd);
		return r;
	}
	while ((e = readdir(d)) != NULL)
		if (!is_dot(e->d_name) && r == 0)
			r = rm_depth(fd, e->d_name, depth + 1);
	(void)closedir(d);
	return r;
}

static int rm_depth(int dirfd, const char *name, int depth)
{
	int r;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM) /* EPERM: some systems refuse unlink(dir) so */
		return -errno;
	if (depth >= RM_MAX_DEPTH)
		return -ELOOP;
	if ((r = rm_contents(dirfd, name, depth)) < 0)
		return r;
	return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0 : -errno;
}

int cache_rm(int dirfd, const char *name)
{
	return rm_depth(dirfd, name, 0);
}

/* ---- quarantine ---- */

struct qent {
	char name[CACHE_SHA256_LEN + 1];
	struct timespec mtime;
	uint64_t size;
};

struct qlist {
	struct qent *v;
	size_t n, cap;
	int64_t removed;
};

static int cmp_qent(const void *a, const void *b)
{
	const struct qent *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int qlist_add(struct qlist *l, const char *name, const struct stat *st)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		struct qent *v = realloc(l->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	memcpy(l->v[l->n].name, name, CACHE_SHA256_LEN + 1);
	l->v[l->n].mtime = st->st_mtim;
	l->v[l->n].size = (uint64_t)st->st_size;
	l->n++;
	return 0;
}

/* Lists the quarantined files, removing entries that do not belong. */
static int qlist_read(struct cache *c, struct qlist *l)
{
	struct dirent *e;
	DIR *d = NULL;
	int r = cache_opendir(c->quarantine_fd, &d);

	while (r == 0 && (e = readdir(d)) != NULL) {
		struct stat st;

		if (is_dot(e->d_name) ||
		    fstatat(c->quarantine_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode) && cache_valid_sha256(e->d_name))
			r = qlist_add(l, e->d_name, &st);
		else if (cache_rm(c->quarantine_fd, e->d_name) == 0)
			l->removed++;
	}
	if (d != NULL)
		(void)closedir(d);
	return r;
}

int64_t cache_quarantine_trim(struct cache *c)
{
	struct qlist l = {0};
	uint64_t bytes = 0;
	size_t left;
	int r = qlist_read(c, &l);

	if (r < 0) {
		free(l.v);
		return r;
	}
	for (size_t i = 0; i < l.n; i++)
		bytes += l.v[i].size;
	if (l.n > 0)
		qsort(l.v, l.n, sizeof(l.v[0]), cmp_qent);
	left = l.n;
	/* Oldest first until within both bounds. */
	for (size_t i = 0;
	     i < l.n && (left > c->opt.quarantine_max_files || bytes > c->opt.quarantine_max_bytes);
	     i++) {
		if (unlinkat(c->quarantine_fd, l.v[i].name, 0) < 0 && errno != ENOENT)
			continue;
		left--;
		bytes -= l.v[i].size;
		l.removed++;
	}
	free(l.v);
	return l.removed;
}

uint64_t cache_quarantine(struct cache *c, const char *name, const char *sha256)
{
	int64_t n;

	if (renameat(c->tmp_fd, name, c->quarantine_fd, sha256) < 0) {
		(void)unlinkat(c->tmp_fd, name, 0);
		return 0;
	}
	n = cache_quarantine_trim(c);
	return n > 0 ? (uint64_t)n : 0;
}

/* ---- objects/ walks ---- */

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

/* "ab": the name of a fan-out directory. */
static bool is_fanout(const char *name)
{
	return is_hex(name[0]) && is_hex(name[1]) && name[2] == '\0';
}

/* A walk over objects/: fn is called for each entry of every objects/ab/
 * directory (with its fd and name), stray for any other entry of objects/
 * (a misnamed file, a symlink in place of a fan-out directory).  The walk
 * stops at fn's first error. */
struct objwalk {
	struct cache *c;
	int (*fn)(struct objwalk *w, int dfd, const char *prefix, const char *name);
	void (*stray)(struct objwalk *w, int dfd, const char *name);
	void *arg;
};

static int walk_fanout(struct objwalk *w, const char *prefix)
{
	int fd = openat(w->c->objects_fd, prefix, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct dirent *e;
	DIR *d = NULL;
	int r;

	if (fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		w->stray(w, w->c->objects_fd, prefix);
		return 0;
	}
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	r = cache_opendir(fd, &d);
	while (r == 0 && (e = readdir(d)) != NULL)
		if (!is_dot(e->d_name))
			r = w->fn(w, fd, prefix, e->d_name);
	if (d != NULL)
		(void)closedir(d);
	(void)close(fd);
	return r;
}

static int walk_objects(struct objwalk *w)
{
	struct dirent *e;
	DIR *d = NULL;
	int r = cache_opendir(w->c->objects_fd, &d);

	while (r == 0 && (e = readdir(d)) != NULL) {
		if (is_dot(e->d_name))
			continue;
		if (is_fanout(e->d_name))
			r = walk_fanout(w, e->d_name);
		else
			w->stray(w, w->c->objects_fd, e->d_name);
	}
	if (d != NULL)
		(void)closedir(d);
	return r;
}

/* An object entry that may be kept: a regular file named by its sha256
 * under the directory of its first two digits.  *st filled. */
static bool object_ok(int dfd, const char *prefix, const char *name, struct stat *st)
{
	return fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st->st_mode) &&
	       cache_valid_sha256(name) && name[0] == prefix[0] && name[1] == prefix[1];
}

static int scan_fn(struct objwalk *w, int dfd, const char *prefix, const char *name)
{
	struct cache_usage *u = w->arg;
	struct stat st;

	if (object_ok(dfd, prefix, name, &st)) {
		u->bytes += (uint64_t)st.st_size;
		u->files++;
	}
	return 0;
}

static void scan_stray(struct objwalk *w, int dfd, const char *name)
{
}

int cache_scan_usage(struct cache *c, struct cache_usage *ret)
{
	struct cache_usage u = {0};
	struct objwalk w = {.c = c, .fn = scan_fn, .stray = scan_stray, .arg = &u};
	int r = walk_objects(&w);

	if (r == 0)
		*ret = u;
	return r;
}

/* ---- reconcile ---- */

struct rec {
	struct cache *c;
	const struct cache_reconcile_ops *ops;
	struct cache_reconcile_stats st;
	time_t oldest_part; /* .part files last written before this are stale */
};

static void rec_remove(struct rec *x, int dfd, const char *name, uint64_t *counter)
{
	if (cache_rm(dfd, name) < 0)
		x->st.errors++;
	else
		(*counter)++;
}

static void rec_stray(struct objwalk *w, int dfd, const char *name)
{
	struct rec *x = w->arg;

	rec_remove(x, dfd, name, &x->st.strays);
}

static int rec_object(struct objwalk *w, int dfd, const char *prefix, const char *name)
{
	struct rec *x = w->arg;
	struct cache_known k = {0};
	struct stat st;
	int r;

	if (!object_ok(dfd, prefix, name, &st)) {
		rec_remove(x, dfd, name, &x->st.strays);
		return 0;
	}
	r = x->ops->known(x->ops->arg, name, &k);
	if (r == -ENOENT) {
		rec_remove(x, dfd, name, &x->st.unknown);
		return 0;
	}
	if (r < 0)
		return r;
	if (k.size != (uint64_t)st.st_size) {
		rec_remove(x, dfd, name, &x->st.wrong_size);
		return 0;
	}
	x->st.objects++;
	x->st.bytes += k.size;
	if (!k.cached && x->ops->adopt != NULL) {
		x->ops->adopt(x->ops->arg, name, k.size);
		x->st.adopted++;
	}
	return 0;
}

/* The sha256 of a well-formed "<sha256>.part" name into sha, else false. */
static bool part_sha(const char *name, char sha[CACHE_SHA256_LEN + 1])
{
	if (strlen(name) != CACHE_PARTNAME_LEN - 1 ||
	    strcmp(name + CACHE_SHA256_LEN, CACHE_PART_SUFFIX) != 0)
		return false;
	memcpy(sha, name, CACHE_SHA256_LEN);
	sha[CACHE_SHA256_LEN] = '\0';
	return cache_valid_sha256(sha);
}

/* 1 to keep the .part file name, 0 to remove it, or a callback's error. */
static int part_keep(struct rec *x, const char *name, const struct stat *st)
{
	char sha[CACHE_SHA256_LEN + 1];
	struct cache_known k = {0};
	int r;

	if (!part_sha(name, sha) || st->st_mtim.tv_sec < x->oldest_part)
		return 0;
	r = x->ops->known(x->ops->arg, sha, &k);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	/* Too long to be resumed, or no longer needed. */
	return (uint64_t)st->st_size <= k.size && !cache_has(x->c, sha, k.size);
}

static int rec_tmp(struct rec *x)
{
	int tfd = x->c->tmp_fd;
	struct dirent *e;
	DIR *d = NULL;
	int r = cache_opendir(tfd, &d);

	while (r == 0 && (e = readdir(d)) != NULL) {
		struct stat st;

		if (is_dot(e->d_name) || fstatat(tfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISREG(st.st_mode)) {
			rec_remove(x, tfd, e->d_name, &x->st.strays);
			continue;
		}
		r = part_keep(x, e->d_name, &st);
		if (r == 1)
			x->st.parts_kept++;
		else if (r == 0)
			rec_remove(x, tfd, e->d_name, &x->st.parts_removed);
		r = r < 0 ? r : 0;
	}
	if (d != NULL)
		(void)closedir(d);
	return r;
}

static int rec_check_cached(void *arg, const char *sha256, uint64_t size)
{
	struct rec *x = arg;

	if (cache_has(x->c, sha256, size))
		return 0;
	x->st.lost++;
	if (x->ops->lost != NULL)
		x->ops->lost(x->ops->arg, sha256, size);
	return 0;
}

static int rec_quarantine(struct rec *x)
{
	int64_t n = cache_quarantine_trim(x->c);

	if (n < 0)
		return (int)n;
	x->st.quarantine_removed += (uint64_t)n;
	return 0;
}

int cache_reconcile(struct cache *c, const struct cache_reconcile_ops *ops,
                    struct cache_reconcile_stats *ret)
{
	struct rec x = {.c = c, .ops = ops};
	struct objwalk w = {.c = c, .fn = rec_object, .stray = rec_stray, .arg = &x};
	int64_t age = ops->tmp_max_age_s > 0 ? ops->tmp_max_age_s : DEFAULT_TMP_MAX_AGE_S;
	int r;

	if (ops->known == NULL)
		return -EINVAL;
	x.oldest_part = time(NULL);
	x.oldest_part = age < (int64_t)x.oldest_part ? x.oldest_part - (time_t)age : 0;
	if ((r = walk_objects(&w)) < 0 || (r = rec_tmp(&x)) < 0 || (r = rec_quarantine(&x)) < 0)
		return r;
	if (ops->each_cached != NULL && (r = ops->each_cached(ops->arg, rec_check_cached, &x)) < 0)
		return r;
	(void)pthread_mutex_lock(&c->lock);
	c->usage = (struct cache_usage){.bytes = x.st.bytes, .files = x.st.objects};
	c->counted = true;
	(void)pthread_mutex_unlock(&c->lock);
	if (ret != NULL)
		*ret = x.st;
	return 0;
}

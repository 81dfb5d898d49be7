/*
 * Unit tests for cache: the layout, write + commit, every way a download
 * fails (digest, size, ENOSPC on a small tmpfs), resume, abort, the lock,
 * names, usage, the quarantine's bounds and the startup reconcile (stray
 * and misnamed files, unknown, wrong-sized and missing objects, symlinks
 * planted in objects/ that must be removed and not followed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cache/cache.h"

/* Paths relative to the cache directory. */
#define RELMAX 256

struct fx {
	char dir[512];  /* the test's directory */
	char cdir[600]; /* the cache, inside it */
	char mnt[700];  /* a tmpfs mounted by the test, "" when none */
	struct cache *c;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	umask(022);
	snprintf(f->dir, sizeof(f->dir), "%s/cache-test.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->cdir, sizeof(f->cdir), "%s/cache", f->dir);
	if (cache_open(f->cdir, NULL, &f->c) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[PATH_MAX + 16];

	cache_free(f->c);
	if (f->mnt[0] != '\0') /* a test that failed half-way */
		(void)umount2(f->mnt, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* len bytes of a pattern seeded by seed. */
static unsigned char *blob(size_t len, unsigned seed)
{
	unsigned char *p = malloc(len ? len : 1);
	uint32_t x = seed * 2654435761u + 1;

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		x = x * 1664525u + 1013904223u;
		p[i] = (unsigned char)(x >> 24);
	}
	return p;
}

static void path_in(const struct fx *f, const char *rel, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/%s", f->cdir, rel);
}

static bool exists(const struct fx *f, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	path_in(f, rel, p);
	return lstat(p, &st) == 0;
}

static int64_t size_of(const struct fx *f, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	path_in(f, rel, p);
	return lstat(p, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Entries of a cache subdirectory other than . and .. */
static int count_in(const struct fx *f, const char *rel)
{
	char p[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	path_in(f, rel, p);
	d = opendir(p);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void obj_rel(const char *sha, char *buf)
{
	snprintf(buf, RELMAX, "objects/%.2s/%s", sha, sha);
}

static void part_rel(const char *sha, char *buf)
{
	snprintf(buf, RELMAX, "tmp/%s.part", sha);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Writes data through a new writer in chunks of step bytes. */
static struct cache_writer *write_through(struct cache *c, const char *sha, uint64_t size,
                                          const unsigned char *data, size_t len, size_t step)
{
	struct cache_writer *w = NULL;
	uint64_t off = 99;

	assert_int_equal(cache_writer_open(c, sha, size, 0, &w, &off), 0);
	assert_true(off == 0);
	for (size_t i = 0; i < len; i += step)
		assert_int_equal(cache_writer_write(w, data + i, len - i < step ? len - i : step),
		                 0);
	return w;
}

/* Commits len bytes of data under their own sha256 (into sha). */
static void put(struct cache *c, const unsigned char *data, size_t len, char sha[65])
{
	sha256_hex(data, len, sha);
	assert_int_equal(cache_writer_commit(write_through(c, sha, len, data, len, 4096)), 0);
}

static void layout(void **state)
{
	struct fx *f = *state;
	const char *sub[] = {"objects", "tmp", "quarantine"};
	char p[PATH_MAX], target[PATH_MAX];
	struct cache *c = NULL;
	struct stat st;

	for (size_t i = 0; i < 3; i++) {
		path_in(f, sub[i], p);
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0750);
	}
	/* Opening again is fine. */
	assert_int_equal(cache_open(f->cdir, NULL, &c), 0);
	cache_free(c);
	cache_free(NULL);
	/* A symlink in place of objects/ is refused, not followed. */
	snprintf(p, sizeof(p), "%s/other", f->dir);
	assert_int_equal(cache_open(p, NULL, &c), 0);
	cache_free(c);
	path_in(f, "objects", target);
	snprintf(p, sizeof(p), "%s/other/objects", f->dir);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(symlink(target, p), 0);
	snprintf(p, sizeof(p), "%s/other", f->dir);
	c = NULL;
	assert_int_equal(cache_open(p, NULL, &c), -ELOOP);
	assert_null(c);
}

static void write_commit(void **state)
{
	struct fx *f = *state;
	size_t len = 300 * 1024 + 7;
	unsigned char *data = blob(len, 1);
	char sha[65], rel[RELMAX], p[PATH_MAX], want[PATH_MAX];
	struct cache_writer *w = NULL;
	struct cache_usage u = {0};
	uint64_t off = 0;
	int fd = -1;
	char *back = malloc(len);

	assert_int_equal(cache_usage(f->c, &u), 0);
	assert_true(u.bytes == 0 && u.files == 0);
	sha256_hex(data, len, sha);
	w = write_through(f->c, sha, len, data, len, 16384);
	assert_true(cache_writer_offset(w) == len);
	part_rel(sha, rel);
	assert_true(size_of(f, rel) == (int64_t)len);
	assert_false(cache_has(f->c, sha, len));
	assert_int_equal(cache_writer_commit(w), 0);

	assert_true(cache_has(f->c, sha, len));
	assert_false(cache_has(f->c, sha, len - 1));
	assert_int_equal(count_in(f, "tmp"), 0);
	assert_int_equal(cache_path(f->c, sha, p, sizeof(p)), 0);
	obj_rel(sha, rel);
	path_in(f, rel, want);
	assert_string_equal(p, want);
	assert_int_equal(cache_open_object(f->c, sha, len, &fd), 0);
	assert_int_equal(read(fd, back, len), (ssize_t)len);
	assert_memory_equal(back, data, len);
	close(fd);
	assert_int_equal(cache_open_object(f->c, sha, len + 1, &fd), -EMSGSIZE);
	assert_int_equal(cache_usage(f->c, &u), 0);
	assert_true(u.bytes == len && u.files == 1);
	/* Already there: no second download. */
	assert_int_equal(cache_writer_open(f->c, sha, len, 0, &w, &off), -EEXIST);

	/* Remove. */
	assert_int_equal(cache_remove(f->c, sha), 0);
	assert_false(cache_has(f->c, sha, len));
	assert_int_equal(cache_remove(f->c, sha), -ENOENT);
	assert_int_equal(cache_open_object(f->c, sha, len, &fd), -ENOENT);
	assert_int_equal(cache_usage(f->c, &u), 0);
	assert_true(u.bytes == 0 && u.files == 0);
	free(back);
	free(data);
}

static void empty_object(void **state)
{
	struct fx *f = *state;
	char sha[65];

	put(f->c, (const unsigned char *)"", 0, sha);
	assert_string_equal(sha,
	                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	assert_true(cache_has(f->c, sha, 0));
}

static void digest_mismatch(void **state)
{
	struct fx *f = *state;
	size_t len = 100000;
	unsigned char *data = blob(len, 2);
	char sha[65], rel[RELMAX];
	struct cache_writer *w;

	sha256_hex(data, len, sha);
	data[len / 2] ^= 1; /* one bit flipped in transit */
	w = write_through(f->c, sha, len, data, len, 8192);
	assert_int_equal(cache_writer_commit(w), -EBADMSG);
	assert_false(cache_has(f->c, sha, len));
	obj_rel(sha, rel);
	assert_false(exists(f, rel));
	assert_int_equal(count_in(f, "tmp"), 0);
	/* Kept for inspection in quarantine/, never in objects/. */
	snprintf(rel, sizeof(rel), "quarantine/%s", sha);
	assert_true(size_of(f, rel) == (int64_t)len);
	free(data);
}

static void short_body(void **state)
{
	struct fx *f = *state;
	size_t len = 5000;
	unsigned char *data = blob(len, 3);
	char sha[65];
	struct cache_writer *w;

	sha256_hex(data, len, sha);
	w = write_through(f->c, sha, len, data, len - 1, 1000);
	assert_int_equal(cache_writer_commit(w), -EMSGSIZE);
	assert_int_equal(count_in(f, "tmp"), 0);
	assert_int_equal(count_in(f, "quarantine"), 0);
	assert_int_equal(count_in(f, "objects"), 0);
	free(data);
}

static void size_over(void **state)
{
	struct fx *f = *state;
	size_t len = 10000;
	unsigned char *data = blob(len + 100, 4);
	char sha[65], rel[RELMAX];
	struct cache_writer *w = NULL;

	sha256_hex(data, len, sha);
	w = write_through(f->c, sha, len, data, 6000, 6000);
	/* The chunk that would pass the size is refused whole, before writing. */
	assert_int_equal(cache_writer_write(w, data + 6000, 4001), -EFBIG);
	part_rel(sha, rel);
	assert_true(size_of(f, rel) == 6000);
	/* Sticky: even a chunk that would fit. */
	assert_int_equal(cache_writer_write(w, data + 6000, 1), -EFBIG);
	assert_int_equal(cache_writer_commit(w), -EFBIG);
	assert_int_equal(count_in(f, "tmp"), 0);
	assert_false(cache_has(f->c, sha, len));
	free(data);
}

static void exact_size_then_more(void **state)
{
	struct fx *f = *state;
	size_t len = 4096;
	unsigned char *data = blob(len, 5);
	char sha[65];
	struct cache_writer *w;

	sha256_hex(data, len, sha);
	w = write_through(f->c, sha, len, data, len, len);
	assert_int_equal(cache_writer_write(w, data, 0), 0);
	assert_int_equal(cache_writer_write(w, data, 1), -EFBIG);
	cache_writer_abort(w, true); /* failed: not kept */
	assert_int_equal(count_in(f, "tmp"), 0);
	free(data);
}

static void resume(void **state)
{
	struct fx *f = *state;
	size_t len = 3 * 1024 * 1024 + 11, half = 1500001;
	unsigned char *data = blob(len, 6);
	char sha[65], rel[RELMAX];
	struct cache_writer *w = NULL;
	uint64_t off = 0;

	sha256_hex(data, len, sha);
	w = write_through(f->c, sha, len, data, half, 65536);
	cache_writer_abort(w, true);
	part_rel(sha, rel);
	assert_true(size_of(f, rel) == (int64_t)half);

	/* The existing bytes are re-hashed and the download continues there. */
	assert_int_equal(cache_writer_open(f->c, sha, len, CACHE_RESUME, &w, &off), 0);
	assert_true(off == half);
	assert_true(cache_writer_offset(w) == half);
	/* Through the fetch-shaped sink this time. */
	assert_int_equal(cache_writer_sink(data + half, 1000, w), 0);
	assert_int_equal(cache_writer_sink(data + half + 1000, len - half - 1000, w), 0);
	assert_int_equal(cache_writer_commit(w), 0);
	assert_true(cache_has(f->c, sha, len));
	free(data);
}

static void resume_corrupt_part(void **state)
{
	struct fx *f = *state;
	size_t len = 200000, half = 70000;
	unsigned char *data = blob(len, 7);
	char sha[65], rel[RELMAX], p[PATH_MAX];
	struct cache_writer *w = NULL;
	uint64_t off = 0;

	sha256_hex(data, len, sha);
	/* A .part whose bytes were damaged while the daemon was down. */
	part_rel(sha, rel);
	path_in(f, rel, p);
	data[10] ^= 0x80;
	write_file(p, data, half);
	data[10] ^= 0x80;
	assert_int_equal(cache_writer_open(f->c, sha, len, CACHE_RESUME, &w, &off), 0);
	assert_true(off == half);
	assert_int_equal(cache_writer_write(w, data + half, len - half), 0);
	/* The whole is verified: never published. */
	assert_int_equal(cache_writer_commit(w), -EBADMSG);
	assert_false(cache_has(f->c, sha, len));
	free(data);
}

static void resume_edge_cases(void **state)
{
	struct fx *f = *state;
	size_t len = 50000;
	unsigned char *data = blob(len + 10, 8);
	char sha[65], rel[RELMAX], p[PATH_MAX];
	struct cache_writer *w = NULL;
	uint64_t off = 99;

	sha256_hex(data, len, sha);
	part_rel(sha, rel);
	path_in(f, rel, p);
	/* Longer than the object: cannot be a prefix of it, start again. */
	write_file(p, data, len + 10);
	assert_int_equal(cache_writer_open(f->c, sha, len, CACHE_RESUME, &w, &off), 0);
	assert_true(off == 0);
	assert_true(size_of(f, rel) == 0);
	cache_writer_abort(w, false);
	assert_false(exists(f, rel));

	/* Without CACHE_RESUME an existing .part is emptied. */
	write_file(p, data, 1000);
	assert_int_equal(cache_writer_open(f->c, sha, len, 0, &w, &off), 0);
	assert_true(off == 0);
	assert_true(size_of(f, rel) == 0);
	cache_writer_abort(w, false);

	/* Complete .part: commit at once. */
	write_file(p, data, len);
	assert_int_equal(cache_writer_open(f->c, sha, len, CACHE_RESUME, &w, &off), 0);
	assert_true(off == len);
	assert_int_equal(cache_writer_commit(w), 0);
	assert_true(cache_has(f->c, sha, len));
	free(data);
}

static void restart_and_abort(void **state)
{
	struct fx *f = *state;
	size_t len = 30000;
	unsigned char *data = blob(len, 9), *junk = blob(len, 10);
	char sha[65], rel[RELMAX];
	struct cache_writer *w;

	sha256_hex(data, len, sha);
	/* The source ignored Range and sends from 0: restart. */
	w = write_through(f->c, sha, len, junk, 12345, 1000);
	assert_int_equal(cache_writer_restart(w), 0);
	assert_true(cache_writer_offset(w) == 0);
	assert_int_equal(cache_writer_write(w, data, len), 0);
	assert_int_equal(cache_writer_commit(w), 0);
	assert_true(cache_has(f->c, sha, len));

	/* Abort without keep removes the .part; with keep it stays. */
	sha256_hex(junk, len, sha);
	part_rel(sha, rel);
	w = write_through(f->c, sha, len, junk, 100, 100);
	cache_writer_abort(w, false);
	assert_false(exists(f, rel));
	w = write_through(f->c, sha, len, junk, 100, 100);
	cache_writer_abort(w, true);
	assert_true(size_of(f, rel) == 100);
	cache_writer_abort(NULL, true);
	free(data);
	free(junk);
}

static void one_writer_per_blob(void **state)
{
	struct fx *f = *state;
	char sha[65];
	struct cache_writer *a = NULL, *b = NULL;
	uint64_t off = 0;

	memset(sha, 'a', 64);
	sha[64] = '\0';
	assert_int_equal(cache_writer_open(f->c, sha, 10, 0, &a, &off), 0);
	assert_int_equal(cache_writer_open(f->c, sha, 10, CACHE_RESUME, &b, &off), -EBUSY);
	assert_null(b);
	cache_writer_abort(a, false);
	assert_int_equal(cache_writer_open(f->c, sha, 10, 0, &b, &off), 0);
	cache_writer_abort(b, false);
}

/* Symlinks and a FIFO planted where the cache writes: never followed, never
 * served, replaced. */
static void planted(void **state)
{
	struct fx *f = *state;
	size_t len = 2000;
	unsigned char *data = blob(len, 60);
	char sha[65], rel[RELMAX], p[PATH_MAX], outside[700];
	struct cache_writer *w = NULL;
	uint64_t off = 99;
	int fd = -1;

	sha256_hex(data, len, sha);
	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	write_file(outside, data, len);
	/* objects/ab/<sha> -> a file of the right size outside the cache. */
	snprintf(rel, sizeof(rel), "objects/%.2s", sha);
	path_in(f, rel, p);
	assert_int_equal(mkdir(p, 0750), 0);
	obj_rel(sha, rel);
	path_in(f, rel, p);
	assert_int_equal(symlink(outside, p), 0);
	assert_false(cache_has(f->c, sha, len));
	assert_int_equal(cache_open_object(f->c, sha, len, &fd), -ENOENT);
	/* tmp/<sha>.part -> the same file: opening the writer must not empty it. */
	part_rel(sha, rel);
	path_in(f, rel, p);
	assert_int_equal(symlink(outside, p), 0);
	assert_int_equal(cache_writer_open(f->c, sha, len, CACHE_RESUME, &w, &off), 0);
	assert_true(off == 0);
	assert_int_equal(cache_writer_write(w, data, len), 0);
	assert_int_equal(cache_writer_commit(w), 0);
	assert_true(cache_has(f->c, sha, len));
	{
		struct stat st;

		assert_int_equal(stat(outside, &st), 0);
		assert_true(st.st_size == (off_t)len);
	}
	/* A FIFO at the .part name does not block the writer. */
	memset(sha, 'd', 64);
	part_rel(sha, rel);
	path_in(f, rel, p);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_equal(cache_writer_open(f->c, sha, 1, CACHE_RESUME, &w, &off), 0);
	assert_true(off == 0);
	cache_writer_abort(w, false);
	assert_false(exists(f, rel));
	free(data);
}

static void names(void **state)
{
	struct fx *f = *state;
	const char *bad[] = {
	    "",
	    "../../etc/passwd",
	    "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b/55",
	};
	struct cache_writer *w = NULL;
	char p[PATH_MAX];
	uint64_t off = 0;
	int fd = -1;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(cache_valid_sha256(bad[i]));
		assert_int_equal(cache_path(f->c, bad[i], p, sizeof(p)), -EINVAL);
		assert_int_equal(cache_writer_open(f->c, bad[i], 1, 0, &w, &off), -EINVAL);
		assert_int_equal(cache_open_object(f->c, bad[i], 1, &fd), -EINVAL);
		assert_int_equal(cache_remove(f->c, bad[i]), -EINVAL);
		assert_false(cache_has(f->c, bad[i], 0));
	}
	assert_false(cache_valid_sha256(NULL));
	assert_true(
	    cache_valid_sha256("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
	assert_int_equal(
	    cache_path(f->c, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", p,
	               20),
	    -ENAMETOOLONG);
	assert_int_equal(cache_writer_open(f->c,
	                                   "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991"
	                                   "b7852b855",
	                                   0, 0x80, &w, &off),
	                 -EINVAL);
}

static void usage_and_space(void **state)
{
	struct fx *f = *state;
	unsigned char *a = blob(1000, 11), *b = blob(2000, 12);
	char sa[65], sb[65];
	struct cache_usage u = {0};
	struct cache *c2 = NULL;
	uint64_t avail = 0, total = 0;

	put(f->c, a, 1000, sa);
	put(f->c, b, 2000, sb);
	/* A fresh handle counts by walking objects/. */
	assert_int_equal(cache_open(f->cdir, NULL, &c2), 0);
	assert_int_equal(cache_usage(c2, &u), 0);
	assert_true(u.bytes == 3000 && u.files == 2);
	assert_int_equal(cache_remove(c2, sa), 0);
	assert_int_equal(cache_usage(c2, &u), 0);
	assert_true(u.bytes == 2000 && u.files == 1);
	cache_free(c2);

	assert_int_equal(cache_disk_space(f->c, &avail, &total), 0);
	assert_true(total > 0 && avail <= total);
	free(a);
	free(b);
}

static void quarantine_bounds(void **state)
{
	struct fx *f = *state;
	struct cache_options opt = {.quarantine_max_files = 2, .quarantine_max_bytes = 5000};
	struct cache *c = NULL;
	char sha[65], rel[RELMAX];

	assert_int_equal(cache_open(f->cdir, &opt, &c), 0);
	for (unsigned i = 0; i < 4; i++) {
		unsigned char *d = blob(1000, 20 + i);

		sha256_hex(d, 1000, sha);
		d[0] ^= 1;
		assert_int_equal(cache_writer_commit(write_through(c, sha, 1000, d, 1000, 1000)),
		                 -EBADMSG);
		free(d);
		assert_int_equal(count_in(f, "quarantine"), i < 2 ? (int)i + 1 : 2);
	}
	/* A file larger than the byte bound is not kept at all. */
	{
		unsigned char *d = blob(6000, 30);

		sha256_hex(d, 6000, sha);
		d[0] ^= 1;
		assert_int_equal(cache_writer_commit(write_through(c, sha, 6000, d, 6000, 6000)),
		                 -EBADMSG);
		free(d);
		snprintf(rel, sizeof(rel), "quarantine/%s", sha);
		assert_false(exists(f, rel));
	}
	cache_free(c);
}

/* ENOSPC on a 1 MiB tmpfs: the write fails cleanly, the space comes back at
 * once and nothing is left behind.  Needs CAP_SYS_ADMIN; skipped without. */
static void enospc(void **state)
{
	struct fx *f = *state;
	size_t len = 4 * 1024 * 1024, step = 65536, i;
	unsigned char *data = blob(len, 40);
	char *mnt = f->mnt, cdir[800], sha[65], rel[PATH_MAX];
	struct cache *c = NULL;
	struct cache_writer *w = NULL;
	uint64_t avail0 = 0, avail = 0, total = 0;
	int r = 0;

	snprintf(mnt, sizeof(f->mnt), "%s/tmpfs", f->dir);
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") != 0) {
		mnt[0] = '\0';
		free(data);
		skip();
	}
	snprintf(cdir, sizeof(cdir), "%s/cache", mnt);
	assert_int_equal(cache_open(cdir, NULL, &c), 0);
	assert_int_equal(cache_disk_space(c, &avail0, &total), 0);
	sha256_hex(data, len, sha);
	w = write_through(c, sha, len, data, 0, step);
	for (i = 0; i < len && r == 0; i += step)
		r = cache_writer_write(w, data + i, step);
	assert_int_equal(r, -ENOSPC);
	assert_true(i > 0 && i < len);
	/* Released before the caller even aborts. */
	snprintf(rel, sizeof(rel), "%s/tmp/%s.part", cdir, sha);
	assert_true(access(rel, F_OK) != 0);
	assert_int_equal(cache_writer_write(w, data, 1), -ENOSPC);
	assert_int_equal(cache_writer_commit(w), -ENOSPC);
	assert_int_equal(cache_disk_space(c, &avail, &total), 0);
	assert_true(avail == avail0);
	assert_false(cache_has(c, sha, len));
	snprintf(rel, sizeof(rel), "%s/objects", cdir);
	{
		DIR *d = opendir(rel);
		struct dirent *e;
		int n = 0;

		assert_non_null(d);
		while ((e = readdir(d)) != NULL)
			n += e->d_name[0] != '.';
		closedir(d);
		assert_int_equal(n, 0);
	}
	cache_free(c);
	assert_int_equal(umount2(mnt, MNT_DETACH), 0);
	mnt[0] = '\0';
	free(data);
}

/* ---- reconcile ---- */

#define MAXB 16

struct store_sim {
	char sha[MAXB][65];
	uint64_t size[MAXB];
	bool cached[MAXB];
	size_t n;
	char lost[MAXB][65];
	size_t nlost;
	char adopted[MAXB][65];
	size_t nadopted;
};

static void sim_add(struct store_sim *s, const char *sha, uint64_t size, bool cached)
{
	assert_true(s->n < MAXB);
	memcpy(s->sha[s->n], sha, 65);
	s->size[s->n] = size;
	s->cached[s->n++] = cached;
}

static int sim_known(void *arg, const char *sha, struct cache_known *ret)
{
	struct store_sim *s = arg;

	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->sha[i], sha) == 0) {
			ret->size = s->size[i];
			ret->cached = s->cached[i];
			return 0;
		}
	}
	return -ENOENT;
}

static int sim_each_cached(void *arg, int (*fn)(void *, const char *, uint64_t), void *fnarg)
{
	struct store_sim *s = arg;

	for (size_t i = 0; i < s->n; i++) {
		int r;

		if (s->cached[i] && (r = fn(fnarg, s->sha[i], s->size[i])) != 0)
			return r;
	}
	return 0;
}

static void sim_lost(void *arg, const char *sha, uint64_t size)
{
	struct store_sim *s = arg;

	memcpy(s->lost[s->nlost++], sha, 65);
}

static void sim_adopt(void *arg, const char *sha, uint64_t size)
{
	struct store_sim *s = arg;

	memcpy(s->adopted[s->nadopted++], sha, 65);
}

static int sim_fail(void *arg, const char *sha, struct cache_known *ret)
{
	return -EIO;
}

static void set_old(const char *path)
{
	struct timespec ts[2] = {{.tv_sec = 1000000000}, {.tv_sec = 1000000000}};

	assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

static void reconcile(void **state)
{
	struct fx *f = *state;
	struct store_sim s = {0};
	struct cache_reconcile_ops ops = {.arg = &s,
	                                  .known = sim_known,
	                                  .each_cached = sim_each_cached,
	                                  .lost = sim_lost,
	                                  .adopt = sim_adopt};
	struct cache_reconcile_stats st = {0};
	unsigned char *d[6];
	char sha[6][65], rel[RELMAX], p[PATH_MAX], outside[700], q[700];
	char fresh[65], stale[65], unknown[65];
	struct cache_usage u = {0};

	for (int i = 0; i < 6; i++) {
		d[i] = blob(1000 + (size_t)i, 50 + (unsigned)i);
		sha256_hex(d[i], 1000 + (size_t)i, sha[i]);
	}
	put(f->c, d[0], 1000, sha[0]); /* kept: known, cached */
	put(f->c, d[1], 1001, sha[1]); /* unknown to the store: removed */
	put(f->c, d[2], 1002, sha[2]); /* the store says another size: removed, lost */
	/* sha[3]: the store says cached, there is no file: lost */
	put(f->c, d[4], 1004, sha[4]); /* known, not cached: adopted */
	sim_add(&s, sha[0], 1000, true);
	sim_add(&s, sha[2], 999, true);
	sim_add(&s, sha[3], 1003, true);
	sim_add(&s, sha[4], 1004, false);

	/* .part files: fresh and known (kept), stale, unknown, misnamed. */
	memcpy(fresh, sha[5], 65);
	sim_add(&s, fresh, 1005, false);
	part_rel(fresh, rel);
	path_in(f, rel, p);
	write_file(p, d[5], 10);
	memset(stale, 'b', 64);
	stale[64] = '\0';
	sim_add(&s, stale, 5000, false);
	part_rel(stale, rel);
	path_in(f, rel, p);
	write_file(p, d[5], 10);
	set_old(p);
	memset(unknown, 'c', 64);
	unknown[64] = '\0';
	part_rel(unknown, rel);
	path_in(f, rel, p);
	write_file(p, d[5], 10);
	path_in(f, "tmp/junk", p);
	write_file(p, d[5], 10);
	/* A .part for an object already cached: no longer needed. */
	part_rel(sha[0], rel);
	path_in(f, rel, p);
	write_file(p, d[0], 10);

	/* Planted in objects/: a symlink under a real name pointing outside,
	 * a symlink in place of a fan-out directory, a misnamed file, a
	 * directory, an object under the wrong fan-out directory. */
	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	write_file(outside, d[0], 1000);
	snprintf(rel, sizeof(rel), "objects/%.2s/%.2s%s", sha[0], sha[0],
	         "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	path_in(f, rel, p);
	assert_int_equal(symlink(outside, p), 0);
	snprintf(q, sizeof(q), "%s/outdir", f->dir);
	assert_int_equal(mkdir(q, 0700), 0);
	snprintf(p, sizeof(p), "%s/keepme", q);
	write_file(p, d[0], 5);
	path_in(f, "objects/zz", p);
	assert_int_equal(symlink(q, p), 0);
	path_in(f, "objects/ee", p); /* well named, but a symlink to a directory */
	assert_int_equal(symlink(q, p), 0);
	snprintf(rel, sizeof(rel), "objects/%.2s/README", sha[0]);
	path_in(f, rel, p);
	write_file(p, d[0], 5);
	snprintf(rel, sizeof(rel), "objects/%.2s/subdir", sha[0]);
	path_in(f, rel, p);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(rel, sizeof(rel), "objects/%.2s/subdir/inner", sha[0]);
	path_in(f, rel, p);
	write_file(p, d[0], 5);
	/* sha[0]'s bytes under another fan-out directory. */
	snprintf(rel, sizeof(rel), "objects/%s", sha[0][0] == '0' ? "11" : "00");
	path_in(f, rel, p);
	assert_int_equal(mkdir(p, 0750), 0);
	snprintf(rel, sizeof(rel), "objects/%s/%s", sha[0][0] == '0' ? "11" : "00", sha[0]);
	path_in(f, rel, p);
	write_file(p, d[0], 1000);
	path_in(f, "quarantine/notasha", p);
	write_file(p, d[0], 5);

	assert_int_equal(cache_reconcile(f->c, &ops, &st), 0);

	assert_true(st.objects == 2 && st.bytes == 2004);
	assert_true(st.unknown == 1);
	assert_true(st.wrong_size == 1);
	assert_true(st.lost == 2);
	assert_true(st.adopted == 1);
	assert_true(st.parts_kept == 1);
	assert_true(st.parts_removed == 4);
	assert_true(st.strays == 6);
	assert_true(st.quarantine_removed == 1);
	assert_true(st.errors == 0);

	assert_int_equal(s.nlost, 2);
	assert_string_equal(s.lost[0], sha[2]);
	assert_string_equal(s.lost[1], sha[3]);
	assert_int_equal(s.nadopted, 1);
	assert_string_equal(s.adopted[0], sha[4]);

	assert_true(cache_has(f->c, sha[0], 1000));
	assert_false(cache_has(f->c, sha[1], 1001));
	assert_false(cache_has(f->c, sha[2], 1002));
	assert_true(cache_has(f->c, sha[4], 1004));
	assert_int_equal(count_in(f, "tmp"), 1);
	part_rel(fresh, rel);
	assert_true(exists(f, rel));
	assert_false(exists(f, "objects/zz"));
	assert_false(exists(f, "objects/ee"));
	assert_int_equal(count_in(f, "quarantine"), 0);
	/* What the symlinks pointed at is untouched. */
	assert_true(access(outside, F_OK) == 0);
	snprintf(p, sizeof(p), "%s/keepme", q);
	assert_true(access(p, F_OK) == 0);
	/* Usage is the kept objects. */
	assert_int_equal(cache_usage(f->c, &u), 0);
	assert_true(u.bytes == 2004 && u.files == 2);

	/* A second run finds nothing to do. */
	memset(&s.lost, 0, sizeof(s.lost));
	s.nlost = s.nadopted = 0;
	s.cached[1] = s.cached[2] = false; /* re-queued by the caller */
	assert_int_equal(cache_reconcile(f->c, &ops, &st), 0);
	assert_true(st.unknown + st.wrong_size + st.strays + st.parts_removed + st.lost == 0);
	assert_true(st.objects == 2 && st.parts_kept == 1);

	/* A store error stops it. */
	ops.known = sim_fail;
	assert_int_equal(cache_reconcile(f->c, &ops, &st), -EIO);
	ops.known = NULL;
	assert_int_equal(cache_reconcile(f->c, &ops, NULL), -EINVAL);
	for (int i = 0; i < 6; i++)
		free(d[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(layout, setup, teardown),
	    cmocka_unit_test_setup_teardown(write_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(empty_object, setup, teardown),
	    cmocka_unit_test_setup_teardown(digest_mismatch, setup, teardown),
	    cmocka_unit_test_setup_teardown(short_body, setup, teardown),
	    cmocka_unit_test_setup_teardown(size_over, setup, teardown),
	    cmocka_unit_test_setup_teardown(exact_size_then_more, setup, teardown),
	    cmocka_unit_test_setup_teardown(resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(resume_corrupt_part, setup, teardown),
	    cmocka_unit_test_setup_teardown(resume_edge_cases, setup, teardown),
	    cmocka_unit_test_setup_teardown(restart_and_abort, setup, teardown),
	    cmocka_unit_test_setup_teardown(one_writer_per_blob, setup, teardown),
	    cmocka_unit_test_setup_teardown(planted, setup, teardown),
	    cmocka_unit_test_setup_teardown(names, setup, teardown),
	    cmocka_unit_test_setup_teardown(usage_and_space, setup, teardown),
	    cmocka_unit_test_setup_teardown(quarantine_bounds, setup, teardown),
	    cmocka_unit_test_setup_teardown(enospc, setup, teardown),
	    cmocka_unit_test_setup_teardown(reconcile, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

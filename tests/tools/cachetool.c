/*
 * cachetool — drives lib/cache from the shell, for fault-injection tests
 * (tests/e2e/cache_faults.sh runs it under strace with injected fsync errors
 * and kills).
 *
 *   cachetool init DIR                      create the layout
 *   cachetool put DIR FILE [CHUNK]          store FILE under its sha256 (resuming a
 *                                           .part file); prints the sha256
 *   cachetool reconcile DIR [SHA:SIZE[:c]]...  reconcile against a store that
 *                                           knows these blobs (":c" = recorded as
 *                                           cached); prints the counts and one
 *                                           "lost SHA" / "adopt SHA" line each
 *
 * Failures print "cachetool: WHAT: -ERRNO (text)" on stderr and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cache/cache.h"

#define MAX_KNOWN 64

static int fail(const char *what, int r)
{
	fprintf(stderr, "cachetool: %s: %d (%s)\n", what, r, strerror(-r));
	return 1;
}

static int sha256_file(const char *path, char out[CACHE_SHA256_LEN + 1], uint64_t *ret_size)
{
	unsigned char buf[65536], md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned n = 0;
	uint64_t size = 0;
	FILE *f = fopen(path, "rb");
	size_t got;

	if (f == NULL || ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -ENOENT;
	while ((got = fread(buf, 1, sizeof(buf), f)) > 0) {
		EVP_DigestUpdate(ctx, buf, got);
		size += got;
	}
	fclose(f);
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (unsigned i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	*ret_size = size;
	return 0;
}

/* Streams FILE from offset into the writer in chunks of chunk bytes. */
static int feed(struct cache_writer *w, const char *path, uint64_t off, size_t chunk)
{
	char *buf = malloc(chunk);
	int fd = open(path, O_RDONLY), r = 0;
	ssize_t n;

	if (buf == NULL || fd < 0 || lseek(fd, (off_t)off, SEEK_SET) < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	while (r == 0 && (n = read(fd, buf, chunk)) > 0)
		r = cache_writer_write(w, buf, (size_t)n);
	close(fd);
	free(buf);
	return r;
}

static int cmd_put(struct cache *c, int argc, char **argv)
{
	char sha[CACHE_SHA256_LEN + 1];
	struct cache_writer *w = NULL;
	uint64_t size = 0, off = 0;
	size_t chunk = argc > 4 ? (size_t)atol(argv[4]) : 65536;
	int r;

	if (argc < 4 || chunk == 0)
		return fail("usage", -EINVAL);
	if ((r = sha256_file(argv[3], sha, &size)) < 0)
		return fail(argv[3], r);
	r = cache_writer_open(c, sha, size, CACHE_RESUME, &w, &off);
	if (r == -EEXIST) {
		printf("%s\n", sha);
		return 0;
	}
	if (r < 0)
		return fail("cache_writer_open", r);
	if ((r = feed(w, argv[3], off, chunk)) < 0) {
		cache_writer_abort(w, true);
		return fail("cache_writer_write", r);
	}
	if ((r = cache_writer_commit(w)) < 0)
		return fail("cache_writer_commit", r);
	printf("%s\n", sha);
	return 0;
}

struct known {
	char sha[MAX_KNOWN][CACHE_SHA256_LEN + 1];
	uint64_t size[MAX_KNOWN];
	bool cached[MAX_KNOWN];
	size_t n;
};

static int k_known(void *arg, const char *sha, struct cache_known *ret)
{
	struct known *k = arg;

	for (size_t i = 0; i < k->n; i++) {
		if (strcmp(k->sha[i], sha) == 0) {
			*ret = (struct cache_known){.size = k->size[i], .cached = k->cached[i]};
			return 0;
		}
	}
	return -ENOENT;
}

static int k_each(void *arg, int (*fn)(void *, const char *, uint64_t), void *fnarg)
{
	struct known *k = arg;
	int r = 0;

	for (size_t i = 0; i < k->n && r == 0; i++)
		if (k->cached[i])
			r = fn(fnarg, k->sha[i], k->size[i]);
	return r;
}

static void k_lost(void *arg, const char *sha, uint64_t size)
{
	printf("lost %s\n", sha);
}

static void k_adopt(void *arg, const char *sha, uint64_t size)
{
	printf("adopt %s\n", sha);
}

static int parse_known(struct known *k, const char *s)
{
	char *end = NULL;

	if (k->n == MAX_KNOWN || strlen(s) < CACHE_SHA256_LEN + 2 || s[CACHE_SHA256_LEN] != ':')
		return -EINVAL;
	memcpy(k->sha[k->n], s, CACHE_SHA256_LEN);
	k->sha[k->n][CACHE_SHA256_LEN] = '\0';
	k->size[k->n] = strtoull(s + CACHE_SHA256_LEN + 1, &end, 10);
	k->cached[k->n] = strcmp(end, ":c") == 0;
	if (!cache_valid_sha256(k->sha[k->n]) || (*end != '\0' && !k->cached[k->n]))
		return -EINVAL;
	k->n++;
	return 0;
}

static int cmd_reconcile(struct cache *c, int argc, char **argv)
{
	static struct known k;
	struct cache_reconcile_ops ops = {
	    .arg = &k, .known = k_known, .each_cached = k_each, .lost = k_lost, .adopt = k_adopt};
	struct cache_reconcile_stats st = {0};
	int r;

	for (int i = 3; i < argc; i++)
		if (parse_known(&k, argv[i]) < 0)
			return fail(argv[i], -EINVAL);
	if ((r = cache_reconcile(c, &ops, &st)) < 0)
		return fail("cache_reconcile", r);
	printf("objects %" PRIu64 " unknown %" PRIu64 " wrong_size %" PRIu64 " strays %" PRIu64
	       " parts_kept %" PRIu64 " parts_removed %" PRIu64 " lost %" PRIu64 " adopted %" PRIu64
	       " errors %" PRIu64 "\n",
	       st.objects, st.unknown, st.wrong_size, st.strays, st.parts_kept, st.parts_removed,
	       st.lost, st.adopted, st.errors);
	return 0;
}

int main(int argc, char **argv)
{
	struct cache *c = NULL;
	int r;

	if (argc < 3) {
		fprintf(stderr, "usage: cachetool init|put|reconcile DIR ...\n");
		return 2;
	}
	if ((r = cache_open(argv[2], NULL, &c)) < 0)
		return fail("cache_open", r);
	if (strcmp(argv[1], "init") == 0)
		r = 0;
	else if (strcmp(argv[1], "put") == 0)
		r = cmd_put(c, argc, argv);
	else if (strcmp(argv[1], "reconcile") == 0)
		r = cmd_reconcile(c, argc, argv);
	else
		r = fail(argv[1], -EINVAL);
	cache_free(c);
	return r;
}

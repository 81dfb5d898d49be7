/*
 * qstore_index — a sorted snapshot of what a query store holds per extent
 * (qstore.h): its readers (qsync's pass, the warmer's scan) look each
 * visible extent up in memory instead of asking SQLite twice per extent.
 */
#include "store/qstore_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct ixbuild {
	struct qstore_index *v;
	size_t n, cap;
};

static struct qstore_index *ix_add(struct ixbuild *b, const char *extent)
{
	struct qstore_index *p;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		if (!(p = reallocarray(b->v, cap, sizeof(*p))))
			return NULL;
		b->v = p;
		b->cap = cap;
	}
	p = &b->v[b->n++];
	*p = (struct qstore_index){0};
	(void)snprintf(p->extent, sizeof(p->extent), "%s", extent ? extent : "");
	return p;
}

static int ix_loaded(void *arg, const struct qstore_extent *e)
{
	struct qstore_index *p = ix_add(arg, e->extent);

	if (!p)
		return -ENOMEM;
	p->loaded = true;
	p->rows = e->rows;
	p->bytes = e->bytes;
	return 0;
}

static int ix_error(void *arg, const char *extent, const char *error)
{
	struct qstore_index *p = ix_add(arg, extent);

	if (!p)
		return -ENOMEM;
	p->error = true;
	return 0;
}

static int ix_cmp(const void *a, const void *b)
{
	return strcmp(((const struct qstore_index *)a)->extent,
	              ((const struct qstore_index *)b)->extent);
}

/* One entry per extent (loaded and in error: both flags). */
static size_t ix_unique(struct qstore_index *v, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k > 0 && strcmp(v[k - 1].extent, v[i].extent) == 0) {
			v[k - 1].error = v[k - 1].error || v[i].error;
			if (v[i].loaded) {
				v[k - 1].loaded = true;
				v[k - 1].rows = v[i].rows;
				v[k - 1].bytes = v[i].bytes;
			}
			continue;
		}
		v[k++] = v[i];
	}
	return k;
}

int qstore_index(struct qstore *q, struct qstore_index **ret, size_t *ret_n, char *err)
{
	struct ixbuild b = {0};
	int r = qstore_extents(q, ix_loaded, &b, err);

	if (r == 0)
		r = qstore_errors(q, ix_error, &b, err);
	if (r < 0) {
		free(b.v);
		return r == -ENOMEM ? qfail(err, r, "query store: out of memory") : r;
	}
	if (b.n > 1)
		qsort(b.v, b.n, sizeof(*b.v), ix_cmp);
	*ret = b.v;
	*ret_n = ix_unique(b.v, b.n);
	return 0;
}

const struct qstore_index *qstore_index_find(const struct qstore_index *v, size_t n,
                                             const char *extent)
{
	struct qstore_index key = {0};

	if (n == 0)
		return NULL;
	(void)snprintf(key.extent, sizeof(key.extent), "%s", extent);
	return bsearch(&key, v, n, sizeof(*v), ix_cmp);
}

int qstore_file_bytes(const char *path, uint64_t *ret)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	char p[4096];
	uint64_t sum = 0;
	struct stat sb;

	for (size_t i = 0; i < N_ELEMENTS(suffix); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", path, suffix[i]) >= sizeof(p))
			return -ENAMETOOLONG;
		if (stat(p, &sb) == 0)
			sum += (uint64_t)sb.st_size;
		else if (errno != ENOENT)
			return -errno;
	}
	*ret = sum;
	return 0;
}

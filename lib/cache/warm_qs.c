/*
 * warm_qs — what the warmer reads of the query stores (warm.h): the bytes
 * they take, what each extent costs there, and whether a pending version's
 * typed extents are loaded (auto-prefetch publishes only then).
 *
 * The warmer does not write the query stores (qsync does, on its own
 * thread); at each scan it opens a database's file read-only, takes a
 * sorted snapshot of its extents (store/qstore.h: qstore_index) and closes
 * it, so that a scan holds no snapshot that would keep qsync's WAL from
 * being checkpointed.
 *
 * An extent's cost in the query store is what its load added (qextents'
 * bytes, scaled down when they add up to more than the file) once loaded; before, its artifacts'
 * sizes times the ratio the loaded extents of the same compression showed at the last scan (1x for
 * plain text, 4x for gzip and zstd until one is loaded).  Space the loaded
 * extents do not account for (the catalogue, free pages, the WAL) is the
 * stores' overhead, charged to the limit as a whole.
 */
#include "cache/warm_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "store/qstore.h"

#define NCOMP 3 /* none, gzip, zstd; an unknown compression is never loaded */

/* A version of a database waiting for its loads since a monotonic ms. */
struct lwait {
	char *db;
	uint64_t version;
	int64_t since_ms;
};

struct warm_qs {
	char *cache_dir;
	double ratio[NCOMP];                 /* query bytes per artifact byte, last scan */
	uint64_t acc_q[NCOMP], acc_a[NCOMP]; /* this scan's loaded extents */
	struct lwait *waits;
	size_t nwaits;
};

static const double default_ratio[NCOMP] = {1.0, 4.0, 4.0};

int warm_qs_new_(const char *cache_dir, struct warm_qs **ret)
{
	struct warm_qs *qs = calloc(1, sizeof(*qs));

	if (qs == NULL || (qs->cache_dir = strdup(cache_dir)) == NULL) {
		free(qs);
		return -ENOMEM;
	}
	memcpy(qs->ratio, default_ratio, sizeof(qs->ratio));
	*ret = qs;
	return 0;
}

void warm_qs_free_(struct warm_qs *qs)
{
	if (qs == NULL)
		return;
	for (size_t i = 0; i < qs->nwaits; i++)
		free(qs->waits[i].db);
	free(qs->waits);
	free(qs->cache_dir);
	free(qs);
}

int warm_qs_db_(struct warm_qs *qs, int64_t db_id, struct warm_qdb *ret)
{
	char path[4096], err[QSTORE_ERRLEN];
	struct qstore *q = NULL;
	int n = snprintf(path, sizeof(path), "%s/query/%" PRId64 ".db", qs->cache_dir, db_id);

	*ret = (struct warm_qdb){0};
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if (qstore_file_bytes(path, &ret->file_bytes) < 0 || ret->file_bytes == 0)
		return 0; /* no store yet: nothing loaded */
	/* a file qsync is creating (no catalogue yet) holds nothing loaded */
	if (qstore_open(path, true, &q, err) == 0 && qstore_index(q, &ret->ix, &ret->nix, err) < 0)
		ret->nix = 0;
	qstore_free(q);
	for (size_t i = 0; i < ret->nix; i++)
		ret->loaded_bytes += ret->ix[i].loaded ? ret->ix[i].bytes : 0;
	/* a load records the pages it added or the bytes it bound, whichever
	 * is more: scaled down to what the file holds */
	ret->scale = 1;
	if (ret->loaded_bytes > ret->file_bytes) {
		ret->scale = (double)ret->file_bytes / (double)ret->loaded_bytes;
		ret->loaded_bytes = ret->file_bytes;
	}
	return 0;
}

void warm_qdb_clear_(struct warm_qdb *q)
{
	free(q->ix);
	*q = (struct warm_qdb){0};
}

static uint64_t artifact_bytes(const struct proto_extent *x)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < x->nartifacts; i++)
		sum += x->artifacts[i].size;
	return sum;
}

/* Learns the ratio of a loaded extent: its bytes split over its artifacts. */
static void learn(struct warm_qs *qs, const struct proto_extent *x, uint64_t bytes)
{
	uint64_t total = artifact_bytes(x);

	for (size_t i = 0; total > 0 && i < x->nartifacts; i++) {
		unsigned c = (unsigned)x->artifacts[i].compression;

		if (c >= NCOMP)
			continue;
		qs->acc_a[c] += x->artifacts[i].size;
		qs->acc_q[c] +=
		    (uint64_t)((double)bytes * (double)x->artifacts[i].size / (double)total);
	}
}

static uint64_t estimate(const struct warm_qs *qs, const struct proto_extent *x)
{
	double sum = 0;

	for (size_t i = 0; i < x->nartifacts; i++) {
		unsigned c = (unsigned)x->artifacts[i].compression;

		sum += (double)x->artifacts[i].size * (c < NCOMP ? qs->ratio[c] : 0);
	}
	return (uint64_t)sum;
}

enum warm_qstate warm_qs_extent_(struct warm_qs *qs, const struct warm_qdb *q,
                                 const struct proto_extent *x, uint64_t *ret_cost)
{
	const struct qstore_index *e;

	*ret_cost = 0;
	if (!proto_extent_typed(x))
		return WARM_Q_NONE;
	e = qstore_index_find(q->ix, q->nix, x->id);
	if (e != NULL && e->loaded) {
		*ret_cost = (uint64_t)((double)e->bytes * q->scale);
		learn(qs, x, *ret_cost);
		return WARM_Q_LOADED;
	}
	*ret_cost = estimate(qs, x);
	return e != NULL && e->error ? WARM_Q_ERROR : WARM_Q_WAITING;
}

uint64_t warm_qs_share_(uint64_t cost, const struct proto_extent *x, size_t i)
{
	uint64_t total = artifact_bytes(x);

	if (total == 0)
		return i == 0 ? cost : 0;
	return (uint64_t)((double)cost * (double)x->artifacts[i].size / (double)total);
}

void warm_qs_scan_end_(struct warm_qs *qs)
{
	for (size_t c = 0; c < NCOMP; c++) {
		if (qs->acc_a[c] > 0)
			qs->ratio[c] = (double)qs->acc_q[c] / (double)qs->acc_a[c];
		qs->acc_a[c] = qs->acc_q[c] = 0;
	}
}

static struct lwait *wait_of(struct warm_qs *qs, const char *db)
{
	for (size_t i = 0; i < qs->nwaits; i++)
		if (strcmp(qs->waits[i].db, db) == 0)
			return &qs->waits[i];
	return NULL;
}

int64_t warm_qs_wait_(struct warm_qs *qs, const char *db, uint64_t version, int64_t now_ms)
{
	struct lwait *l = wait_of(qs, db), *v;

	if (l == NULL) {
		if ((v = realloc(qs->waits, (qs->nwaits + 1) * sizeof(*v))) == NULL)
			return 0; /* out of memory: do not wait */
		qs->waits = v;
		l = &v[qs->nwaits];
		*l = (struct lwait){strdup(db), version, now_ms};
		if (l->db == NULL)
			return 0;
		qs->nwaits++;
	}
	if (l->version != version) {
		l->version = version;
		l->since_ms = now_ms;
	}
	return l->since_ms + WARM_LOAD_WAIT_MS > now_ms ? l->since_ms + WARM_LOAD_WAIT_MS - now_ms
	                                                : 0;
}

void warm_qs_waited_(struct warm_qs *qs, const char *db)
{
	struct lwait *l = wait_of(qs, db);

	if (l == NULL)
		return;
	free(l->db);
	*l = qs->waits[--qs->nwaits];
}

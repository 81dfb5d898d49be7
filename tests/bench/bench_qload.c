/*
 * bench_qload — cached CSV artifacts into the query store (lib/store/qload):
 * rows/s, the store's bytes per CSV byte, peak RSS.  One extent per file,
 * each file its own load (transaction), one thread.
 *
 *   bench_qload STORE FILE... (tests/bench/qload.sh makes the files and
 *   runs the peers on the same ones)
 *
 * With QLOAD_DROP=N, then drops the first N extents one at a time as qsync
 * does (qstore_extent_drop, then qstore_reclaim: the incremental vacuum
 * that hands the freed pages back) and prints the slowest and mean drop
 * and reclaim and the file's size before and after; then loads them again
 * and prints the size (freed pages reused, or the file grows).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "store/qload.h"
#include "store/qstore.h"

static const struct proto_column cols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING},  {"Host", PROTO_T_STRING},
    {"Service", PROTO_T_STRING},     {"Latency", PROTO_T_REAL},  {"Message", PROTO_T_STRING},
    {"Code", PROTO_T_LONG},          {"Props", PROTO_T_DYNAMIC},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum proto_compression comp_of(const char *path)
{
	size_t n = strlen(path);

	return n > 3 && strcmp(path + n - 3, ".gz") == 0 ? PROTO_COMP_GZIP : PROTO_COMP_NONE;
}

static uint64_t file_size(const char *path)
{
	uint64_t n = 0;

	(void)qstore_file_bytes(path, &n);
	return n;
}

/* Drops the first n extents (drop, then reclaim, as qsync does), then
 * loads them again. */
static int drops(struct qstore *q, const char *path, int argc, char **argv, int n)
{
	char err[QLOAD_ERRLEN], id[32];
	double worst_drop = 0, worst_rec = 0, sum_drop = 0, sum_rec = 0, t;
	uint64_t before = (qstore_checkpoint(q), file_size(path));

	for (int i = 2; i < argc && i < n + 2; i++) {
		(void)snprintf(id, sizeof(id), "extent-%d", i);
		t = now();
		if (qstore_extent_drop(q, id, err) < 0)
			goto fail;
		t = now() - t;
		sum_drop += t;
		worst_drop = t > worst_drop ? t : worst_drop;
		t = now();
		if (qstore_reclaim(q, 0, err) < 0)
			goto fail;
		t = now() - t;
		sum_rec += t;
		worst_rec = t > worst_rec ? t : worst_rec;
	}
	(void)qstore_checkpoint(q);
	printf("dropped %d: drop mean %.1f ms max %.1f ms; reclaim mean %.1f ms max %.1f ms; "
	       "file %" PRIu64 " -> %" PRIu64 " bytes\n",
	       n, sum_drop * 1e3 / n, worst_drop * 1e3, sum_rec * 1e3 / n, worst_rec * 1e3, before,
	       file_size(path));
	for (int i = 2; i < argc && i < n + 2; i++) {
		struct qload_artifact a = {argv[i], argv[i], PROTO_FMT_CSV, comp_of(argv[i]),
		                           cols,    NCOLS,   false};
		struct qload_result res;

		(void)snprintf(id, sizeof(id), "extent-%d", i);
		if (qload_extent(q, "Logs", id, cols, NCOLS, &a, 1, &res, err) < 0)
			goto fail;
	}
	(void)qstore_checkpoint(q);
	printf("loaded again: file %" PRIu64 " bytes\n", file_size(path));
	return 0;
fail:
	fprintf(stderr, "bench_qload: %s\n", err);
	return -1;
}

int main(int argc, char **argv)
{
	struct qstore *q = NULL;
	char err[QLOAD_ERRLEN], id[32];
	uint64_t rows = 0, in = 0, bytes = 0;
	struct rusage ru;
	struct stat sb;
	double t0;

	if (argc < 3) {
		fprintf(stderr, "usage: bench_qload STORE FILE...\n");
		return 2;
	}
	if (qstore_open(argv[1], false, &q, err) < 0 ||
	    qstore_table_sync(q, "Logs", cols, NCOLS, NULL, err) < 0) {
		fprintf(stderr, "bench_qload: %s\n", err);
		return 1;
	}
	t0 = now();
	for (int i = 2; i < argc; i++) {
		struct qload_artifact a = {argv[i], argv[i], PROTO_FMT_CSV, comp_of(argv[i]),
		                           cols,    NCOLS,   false};
		struct qload_result res;
		(void)snprintf(id, sizeof(id), "extent-%d", i);
		if (qload_extent(q, "Logs", id, cols, NCOLS, &a, 1, &res, err) < 0) {
			fprintf(stderr, "bench_qload: %s\n", err);
			return 1;
		}
		rows += res.rows;
		in += stat(argv[i], &sb) == 0 ? (uint64_t)sb.st_size : 0;
	}
	double dt = now() - t0;
	(void)qstore_bytes(q, &bytes, err);
	getrusage(RUSAGE_SELF, &ru);
	printf("rows %" PRIu64 " seconds %.3f rows_per_s %.0f input_bytes %" PRIu64
	       " store_bytes %" PRIu64 " peak_rss_kb %ld\n",
	       rows, dt, (double)rows / dt, in, bytes, ru.ru_maxrss);
	if (getenv("QLOAD_DROP") != NULL &&
	    drops(q, argv[1], argc, argv, atoi(getenv("QLOAD_DROP"))) < 0)
		return 1;
	qstore_free(q);
	return 0;
}

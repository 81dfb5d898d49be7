/*
 * bench_qload — cached CSV artifacts into the query store (lib/store/qload):
 * rows/s, the store's bytes per CSV byte, peak RSS.  One extent per file,
 * each file its own load (transaction), one thread.
 *
 *   bench_qload STORE FILE... (tests/bench/qload.sh makes the files and
 *   runs the peers on the same ones)
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
		struct qload_artifact a = {.path = argv[i],
		                           .name = argv[i],
		                           .format = PROTO_FMT_CSV,
		                           .compression = comp_of(argv[i]),
		                           .columns = cols,
		                           .ncolumns = NCOLS};
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
	qstore_free(q);
	return 0;
}

/*
 * bench_qpar — the KQL engine on a query store, one thread against the
 * parallel scans (lib/query/kql_split + kql_par, as daemon/query_par runs
 * them): N generated log-like rows in E extents, loaded by the query
 * store's loader; each reference query compiled and run whole on one
 * connection, then split over P partitions (a connection and a thread
 * each); seconds are the median of R runs.  The rows must be the same.
 *
 *   bench_qpar STORE ROWS EXTENTS PARTS RUNS [QUERY]   (tests/bench/qpar.sh makes
 *   the typed table the sqlite3 CLI runs the hand-written SQL on)
 *
 * Prints one line per query: "name whole_s split_s whole_cpu_s split_cpu_s
 * rows" (CPU: every thread's, user and system).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_par.h"
#include "query/kql_split.h"
#include "store/qstore.h"

static const struct proto_column cols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING}, {"Host", PROTO_T_STRING},
    {"Service", PROTO_T_STRING},     {"Latency", PROTO_T_REAL}, {"Code", PROTO_T_LONG},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))
#define T0 INT64_C(639000000000000000) /* ticks: late 2025 */

static const char *const queries[][2] = {
    {"count", "Logs | count"},
    {"count-where", "Logs | where Level == 'Error' | count"},
    {"count-by-level", "Logs | summarize count() by Level"},
    {"count-by-hour", "Logs | summarize count() by bin(Timestamp, 1h)"},
    {"avg-max-by-host-top10",
     "Logs | summarize avg(Latency), max(Latency) by Host | top 10 by avg_Latency"},
    {"dcount-host", "Logs | summarize dcount(Host)"},
    {"distinct-host", "Logs | distinct Host"},
    {"take-100", "Logs | take 100"},
    {"take-10-where-rare", "Logs | where Latency > 499.99 | take 10"},
    {"top-10-latency", "Logs | top 10 by Latency"},
    {"argmax-by-host", "Logs | summarize arg_max(Latency, Timestamp) by Host"},
    {"makeset-by-host", "Logs | summarize make_set(Service) by Host"},
    {"avg-timestamp", "Logs | summarize avg(Timestamp)"},
    {"percentile-95", "Logs | summarize percentile(Latency, 95)"},
    {"percentile-code", "Logs | summarize percentile(Code, 95)"},
    {"percentiles-by-host", "Logs | summarize percentiles(Latency, 50, 95) by Host"},
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

static const char *store_path;
static int64_t neids;
static size_t nparts;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Row i: 4 levels, 100 hosts, 7 services, latency 0..500, code 200..499;
 * one row a second. */
static int load_row(struct qstore_load *l, uint64_t i, char *err)
{
	static const char *const levels[] = {"Info", "Warning", "Error", "Verbose"};
	uint64_t x = i * 2654435761u % 4294967296u;
	char host[16], svc[8];
	struct kval v[NCOLS];

	(void)snprintf(host, sizeof(host), "host-%03d", (int)(x % 100));
	(void)snprintf(svc, sizeof(svc), "svc%d", (int)(x % 7));
	v[0] = (struct kval){.i = T0 + (int64_t)i * 10000000};
	v[1] = (struct kval){.s = levels[x % 4], .len = strlen(levels[x % 4])};
	v[2] = (struct kval){.s = host, .len = strlen(host)};
	v[3] = (struct kval){.s = svc, .len = strlen(svc)};
	v[4] = (struct kval){.r = (double)(x % 500000) / 1000.0};
	v[5] = (struct kval){.i = 200 + (int64_t)(x % 300)};
	return qstore_load_row(l, v, err);
}

static int load(uint64_t rows, uint64_t extents)
{
	struct qstore *q = NULL;
	struct qstore_load *l = NULL;
	char err[QSTORE_ERRLEN], id[32];
	uint64_t per = rows / extents, i = 0;

	if (qstore_open(store_path, false, &q, err) < 0 ||
	    qstore_table_sync(q, "Logs", cols, NCOLS, NULL, err) < 0)
		goto fail;
	for (uint64_t e = 0; e < extents; e++) {
		(void)snprintf(id, sizeof(id), "extent-%" PRIu64, e);
		if (qstore_load_begin(q, "Logs", id, &l, err) < 0)
			goto fail;
		for (uint64_t k = 0; k < per; k++, i++)
			if (load_row(l, i, err) < 0)
				goto fail;
		if (qstore_load_commit(l, err) < 0)
			goto fail;
	}
	qstore_free(q);
	return 0;
fail:
	fprintf(stderr, "bench_qpar: %s\n", err);
	qstore_free(q);
	return -1;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fprintf(stderr, "bench_qpar: %s: %s\n", sql, msg);
	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : -1;
}

/* A connection whose view Logs reads the extents first .. last (eids). */
static int open_view(int64_t first, int64_t last, sqlite3 **ret)
{
	char sql[1024];
	sqlite3 *db = NULL;

	(void)snprintf(sql, sizeof(sql),
	               "ATTACH 'file:%s?mode=ro' AS q; BEGIN; CREATE TEMP VIEW \"Logs\" AS "
	               "SELECT c0 AS \"Timestamp\", c1 AS \"Level\", c2 AS \"Host\", c3 AS "
	               "\"Service\", c4 AS \"Latency\", c5 AS \"Code\" FROM q.d1 WHERE rowid "
	               "BETWEEN %lld AND %lld",
	               store_path, (long long)(first << 32), (long long)(((last + 1) << 32) - 1));
	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL) !=
	        SQLITE_OK ||
	    kql_exec_register(db) < 0 || exec(db, sql) < 0) {
		sqlite3_close(db);
		return -1;
	}
	*ret = db;
	return 0;
}

/* Partition k of nparts: a run of the eids 1 .. neids. */
static int part_open(void *arg, size_t k, sqlite3 **ret_db)
{
	int64_t per = neids / (int64_t)nparts;
	int64_t first = 1 + (int64_t)k * per;
	int64_t last = k + 1 == nparts ? neids : first + per - 1;

	if (getenv("BENCH_QPAR_TRACE")) /* do the partitions overlap? */
		fprintf(stderr, "partition %zu opens at %.4f\n", k, now());
	return open_view(first, last, ret_db) < 0 ? -EIO : 0;
}

static void part_close(void *arg, size_t k, sqlite3 *db)
{
	if (getenv("BENCH_QPAR_TRACE"))
		fprintf(stderr, "partition %zu ends at %.4f\n", k, now());
	sqlite3_close(db);
}

/* CPU seconds of the process (every thread), user and system. */
static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int count_row(void *arg, const struct kql_value *row, size_t ncols)
{
	(*(size_t *)arg)++;
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One run of kq's plan: whole on db, or split; seconds, CPU seconds into
 * *ret_cpu, rows into *rows. */
static double run_once(sqlite3 *db, struct kql_arena *a, const struct kql_plan *p, bool split,
                       size_t *rows, double *ret_cpu)
{
	double c0 = cpu();
	struct kql_error e = {0};
	struct kql_split s;
	/* QPAR_SORTED=1: the partial plans as SQL (GROUP BY) instead of hashed */
	const char *sorted = getenv("QPAR_SORTED");
	struct kql_par par = {.split = &s,
	                      .nparts = nparts,
	                      .max_bytes = 64u << 20,
	                      .open = part_open,
	                      .close = part_close,
	                      .sorted = sorted && *sorted == '1'};
	double t0 = now();
	int rc;

	*rows = 0;
	if (split && kql_split(a, p, &s) == 0)
		rc = kql_par_run(db, &par, count_row, rows, &e);
	else
		rc = kql_exec_run(db, p, 0, count_row, rows, &e);
	if (rc != 0)
		fprintf(stderr, "bench_qpar: %d %s\n", rc, e.message);
	*ret_cpu = cpu() - c0;
	return now() - t0;
}

/* The least seconds of runs (the run the other processes of a shared
 * machine disturbed least); its CPU seconds likewise into *ret_cpu. */
static double fastest(sqlite3 *db, struct kql_arena *a, const struct kql_plan *p, bool split,
                      int runs, size_t *rows, double *ret_cpu)
{
	double t[32], c[32];

	for (int i = 0; i < runs; i++)
		t[i] = run_once(db, a, p, split, rows, &c[i]);
	qsort(t, (size_t)runs, sizeof(*t), cmp_double);
	qsort(c, (size_t)runs, sizeof(*c), cmp_double);
	*ret_cpu = c[0];
	return t[0];
}

/* Whether query name is in only, a comma-separated list (NULL: all). */
static bool chosen(const char *only, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = only; p && (p = strstr(p, name)) != NULL; p += n)
		if ((p == only || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
			return true;
	return only == NULL;
}

static int bench(int runs, const char *only)
{
	struct kql_schema_column sc[NCOLS];
	struct kql_schema_table st = {"Logs", sc, NCOLS};
	struct kql_schema_db sd = {"Bench", &st, 1};
	struct kql_schema schema = {&sd, 1, "Bench"};
	sqlite3 *db = NULL;

	for (size_t c = 0; c < NCOLS; c++)
		sc[c] = (struct kql_schema_column){cols[c].name, cols[c].type};
	if (open_view(1, neids, &db) < 0)
		return -1;
	for (size_t i = 0; i < NQUERIES; i++) {
		if (!chosen(only, queries[i][0]))
			continue;
		struct kql_arena *a = kql_arena_new();
		struct kql_query *kq = NULL;
		struct kql_error e = {0};
		size_t r1 = 0, r2 = 0;
		if (kql_compile(a, queries[i][1], strlen(queries[i][1]), &schema, &kq, &e) != 0) {
			fprintf(stderr, "bench_qpar: %s: %s\n", queries[i][1], e.message);
			return -1;
		}
		if (getenv("BENCH_QPAR_SQL")) { /* the SQL the engine runs, to compare by hand */
			char *sql = kql_exec_sql(kq->results[0]);
			fprintf(stderr, "%s: %s\n", queries[i][0], sql ? sql : "?");
			free(sql);
		}
		double wc, sc;
		double whole = fastest(db, a, kq->results[0], false, runs, &r1, &wc);
		double split = fastest(db, a, kq->results[0], true, runs, &r2, &sc);
		printf("%s %.4f %.4f %.4f %.4f %zu%s\n", queries[i][0], whole, split, wc, sc, r1,
		       r1 == r2 ? "" : " ROWS-DIFFER");
		fflush(stdout);
		kql_arena_free(a);
	}
	sqlite3_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	int runs;

	if (argc < 6) {
		fprintf(stderr, "usage: bench_qpar STORE ROWS EXTENTS PARTS RUNS\n");
		return 2;
	}
	store_path = argv[1];
	neids = strtoll(argv[3], NULL, 10);
	nparts = strtoul(argv[4], NULL, 10);
	runs = atoi(argv[5]);
	if (neids < 1 || nparts < 1 || nparts > KQL_PAR_MAX || runs < 1 || runs > 31)
		return 2;
	if (access(store_path, F_OK) != 0 && load(strtoull(argv[2], NULL, 10), (uint64_t)neids) < 0)
		return 1;
	return bench(runs, argc > 6 ? argv[6] : NULL) < 0 ? 1 : 0;
}

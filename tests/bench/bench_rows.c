/*
 * bench_rows — parse and type speed of the row readers (lib/data): a
 * log-like table (datetime, three short strings, a real, a four-word
 * message, a long, a small dynamic bag) as CSV, plain and gzip, read from
 * memory through rowreader + colstats, one thread.  Target: well over
 * 1,000,000 rows/s on one core for plain CSV.  The peer, measured in the
 * same run: libcsv (csv_parse, tokenizing only, no typing) on the same
 * bytes, when it is installed.
 *
 *   tests/bench/rows.sh [rows]                  (make bench BENCH=rows)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "data/colstats.h"
#include "data/rowreader.h"
#include "util/timefmt.h"

#ifdef HAVE_LIBCSV
#include <csv.h>
#endif

static const struct proto_column cols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING},  {"Host", PROTO_T_STRING},
    {"Service", PROTO_T_STRING},     {"Latency", PROTO_T_REAL},  {"Message", PROTO_T_STRING},
    {"Code", PROTO_T_LONG},          {"Props", PROTO_T_DYNAMIC},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

struct mem {
	const char *p;
	size_t len, at;
};

static ssize_t mem_read(void *arg, void *buf, size_t len)
{
	struct mem *m = arg;
	size_t n = m->len - m->at < len ? m->len - m->at : len;

	memcpy(buf, m->p + m->at, n);
	m->at += n;
	return (ssize_t)n;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *make_csv(uint64_t rows, size_t *ret_len)
{
	static const char *levels[] = {"Info", "Warning", "Error", "Verbose"};
	static const char *words[] = {"request", "served",  "from",     "cache", "user", "login",
	                              "failed",  "timeout", "upstream", "retry", "ok",   "slow"};
	size_t cap = rows * 200 + 1, len = 0;
	char *buf = malloc(cap), ts[TIMEFMT_DATETIME_LEN];
	int64_t t0 = INT64_C(17000000000000000);

	for (uint64_t i = 0; i < rows; i++) {
		unsigned x = (unsigned)(i * 2654435761u);

		len += (size_t)snprintf(buf + len, cap - len,
		                        "%s,%s,host-%03u,svc%u,%u.%03u,%s %s %s "
		                        "%s,%u,\"{\"\"k\"\":%u,\"\"z\"\":\"\"e%u\"\"}\"\n",
		                        timefmt_format_datetime(t0 + (int64_t)i * 1000000, ts),
		                        levels[x % 4], x % 100, x % 7, x % 500, x % 1000,
		                        words[x % 12], words[(x >> 4) % 12], words[(x >> 8) % 12],
		                        words[(x >> 12) % 12], 200 + x % 300, x % 10, x % 3);
	}
	*ret_len = len;
	return buf;
}

static char *gzip_buf(const char *in, size_t len, size_t *ret_len)
{
	z_stream z = {0};
	size_t cap = len / 2 + 1024;
	char *out = malloc(cap);

	deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)cap;
	while (deflate(&z, Z_FINISH) == Z_OK) {
		size_t used = cap - z.avail_out;
		cap *= 2;
		out = realloc(out, cap);
		z.next_out = (unsigned char *)out + used;
		z.avail_out = (uInt)(cap - used);
	}
	*ret_len = z.total_out;
	deflateEnd(&z);
	return out;
}

/* Reads every row; returns the seconds taken. */
static double run(const char *p, size_t len, enum proto_compression c, uint64_t want)
{
	struct rowreader_opts o = {PROTO_FMT_CSV, cols, NCOLS, false, "bench.csv", 0};
	struct mem m = {p, len, 0};
	struct instream *in = NULL;
	struct rowreader *r = NULL;
	struct colstats *st = NULL;
	const struct kval *row;
	char err[ROWREADER_ERRLEN];
	double t = now();
	int rc;

	if (instream_new(c, &in) < 0 || colstats_new(cols, NCOLS, &st) < 0)
		exit(1);
	instream_from_fn(in, mem_read, &m);
	if (rowreader_new(&o, in, &r, err) < 0) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	while ((rc = rowreader_next(r, &row)) == 1)
		colstats_add(st, row);
	if (rc < 0 || colstats_rows(st) != want) {
		fprintf(stderr, "bench: %s (%" PRIu64 " rows)\n", rowreader_error(r),
		        colstats_rows(st));
		exit(1);
	}
	t = now() - t;
	rowreader_free(r);
	colstats_free(st);
	return t;
}

#ifdef HAVE_LIBCSV
static void cb_field(void *s, size_t len, void *data)
{
	(void)s;
	(void)len;
	(void)data;
}

static void cb_row(int c, void *data)
{
	(void)c;
	(*(uint64_t *)data)++;
}

static double run_libcsv(const char *p, size_t len)
{
	struct csv_parser cp;
	uint64_t rows = 0;
	double t = now();

	csv_init(&cp, CSV_STRICT | CSV_APPEND_NULL);
	for (size_t at = 0; at < len; at += 1 << 18) {
		size_t n = len - at < (1 << 18) ? len - at : (1 << 18);
		csv_parse(&cp, p + at, n, cb_field, cb_row, &rows);
	}
	csv_fini(&cp, cb_field, cb_row, &rows);
	csv_free(&cp);
	return now() - t;
}
#endif

static void line(const char *what, uint64_t rows, size_t bytes, double secs)
{
	printf("%-34s %10.0f rows/s %8.1f MB/s %7.3f s\n", what, (double)rows / secs,
	       (double)bytes / secs / 1e6, secs);
}

int main(int argc, char **argv)
{
	uint64_t rows = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
	size_t len, zlen;
	char *csv = make_csv(rows, &len), *gz = gzip_buf(csv, len, &zlen);
	double best = 1e9, bestz = 1e9;

	printf("%" PRIu64 " rows, %zu bytes CSV (%.0f bytes/row), %zu bytes gzip\n", rows, len,
	       (double)len / (double)rows, zlen);
	for (int i = 0; i < 3; i++) {
		double a = run(csv, len, PROTO_COMP_NONE, rows),
		       b = run(gz, zlen, PROTO_COMP_GZIP, rows);
		best = a < best ? a : best;
		bestz = b < bestz ? b : bestz;
	}
	line("rowreader csv + colstats", rows, len, best);
	line("rowreader csv.gz + colstats", rows, len, bestz);
#ifdef HAVE_LIBCSV
	double p = 1e9;
	for (int i = 0; i < 3; i++) {
		double a = run_libcsv(csv, len);
		p = a < p ? a : p;
	}
	line("peer: libcsv tokenize only", rows, len, p);
	printf("ratio rowreader/libcsv: %.2f\n", p / best);
#endif
	free(csv);
	free(gz);
	return 0;
}

/*
 * libFuzzer target for the row readers (lib/data): CSV, TSV and JSON lines,
 * plain or compressed, read against a schema of every type.
 *
 * The first byte chooses the format (bits 0-1), whether a header record is
 * skipped (bit 2), the compression (bits 3-4: none, gzip, zstd) and the
 * size of each read (bits 5-7: 1 to 8 bytes, or everything), so records
 * straddle reads; the record bound is small (256 bytes) so that path runs
 * too.  Beyond "no crash, no leak, no undefined behaviour" it checks that
 * every value read formats and parses back to itself, and that colstats
 * agrees with the rows on the count of nulls.
 *
 *   make fuzz && build-fuzz/fuzz_rows -max_total_time=60 tests/fuzz/corpus/rows
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/colstats.h"
#include "data/rowreader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct proto_column cols[] = {
    {"B", PROTO_T_BOOL},     {"D", PROTO_T_DATETIME}, {"Y", PROTO_T_DYNAMIC}, {"G", PROTO_T_GUID},
    {"I", PROTO_T_INT},      {"L", PROTO_T_LONG},     {"R", PROTO_T_REAL},    {"S", PROTO_T_STRING},
    {"T", PROTO_T_TIMESPAN}, {"M", PROTO_T_DECIMAL},
};
#define NCOLS (sizeof(cols) / sizeof(cols[0]))

struct src {
	const uint8_t *p;
	size_t len, at, step;
};

static ssize_t src_read(void *arg, void *buf, size_t len)
{
	struct src *s = arg;
	size_t n = s->len - s->at;

	if (s->step && n > s->step)
		n = s->step;
	if (n > len)
		n = len;
	memcpy(buf, s->p + s->at, n);
	s->at += n;
	return (ssize_t)n;
}

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "check failed: %s\n", what);
		abort();
	}
}

/* A value formats to text that parses back to the same value. */
static void round_trip(enum proto_coltype t, const struct kval *v)
{
	char text[512], scratch[KVAL_SCRATCH], why[KVAL_WHYLEN];
	struct kval w;

	if (v->null || t == PROTO_T_STRING || v->len >= sizeof(text) - 1)
		return;
	(void)kval_format(t, v, text, sizeof(text));
	check(kval_parse(t, text, strlen(text), scratch, &w, why) == 0, "formatted value parses");
	if (t == PROTO_T_REAL)
		check((isnan(v->r) && isnan(w.r)) || v->r == w.r, "real round trip");
	else if (v->s)
		check(w.len == v->len && memcmp(w.s, v->s, v->len) == 0, "text round trip");
	else
		check(w.i == v->i, "integer round trip");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum proto_format formats[] = {PROTO_FMT_CSV, PROTO_FMT_TSV, PROTO_FMT_JSON,
	                                            PROTO_FMT_CSV};
	static const enum proto_compression comps[] = {PROTO_COMP_NONE, PROTO_COMP_GZIP,
	                                               PROTO_COMP_ZSTD, PROTO_COMP_NONE};
	struct rowreader_opts o = {0};
	struct instream *in = NULL;
	struct rowreader *r = NULL;
	struct colstats *st = NULL;
	const struct kval *row;
	char err[ROWREADER_ERRLEN];
	uint64_t nulls[NCOLS] = {0};
	struct src s;
	int rc;

	if (size < 1)
		return 0;
	o.format = formats[data[0] & 3];
	o.ignore_first_record = data[0] & 4;
	o.columns = cols;
	o.ncolumns = NCOLS;
	o.name = "fuzz";
	o.max_record = 256;
	s = (struct src){data + 1, size - 1, 0, (size_t)((data[0] >> 5) & 7)};
	if (instream_new(comps[(data[0] >> 3) & 3], &in) < 0 || colstats_new(cols, NCOLS, &st) < 0)
		abort();
	instream_from_fn(in, src_read, &s);
	if (rowreader_new(&o, in, &r, err) < 0)
		abort();
	while ((rc = rowreader_next(r, &row)) == 1) {
		colstats_add(st, row);
		for (size_t i = 0; i < NCOLS; i++) {
			nulls[i] += row[i].null;
			round_trip(cols[i].type, &row[i]);
		}
	}
	check(rc != -EAGAIN, "no EAGAIN from a pull source");
	check(rc == 0 || strlen(rowreader_error(r)) > 0, "an error has a message");
	for (size_t i = 0; i < NCOLS; i++) {
		struct colstats_col c;

		check(colstats_get(st, i, &c) == 0 && c.nulls == nulls[i], "null counts agree");
	}
	rowreader_free(r);
	colstats_free(st);
	return 0;
}

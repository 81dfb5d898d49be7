/*
 * Unit tests for rowreader (and the instream under it): CSV, TSV and JSON
 * lines against a schema, every type, quoting, escapes, line breaks in
 * fields, CRLF, UTF-8, empty lines, BOM, a header record; errors with file,
 * line, column, type and value; gzip (several members) and zstd made here
 * with zlib and libzstd; records that straddle reads; push mode; bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "data/rowreader.h"

static const struct proto_column all_types[] = {
    {"B", PROTO_T_BOOL},     {"D", PROTO_T_DATETIME}, {"Y", PROTO_T_DYNAMIC}, {"G", PROTO_T_GUID},
    {"I", PROTO_T_INT},      {"L", PROTO_T_LONG},     {"R", PROTO_T_REAL},    {"S", PROTO_T_STRING},
    {"T", PROTO_T_TIMESPAN}, {"M", PROTO_T_DECIMAL},
};
#define NALL (sizeof(all_types) / sizeof(all_types[0]))

static const struct proto_column two[] = {{"S", PROTO_T_STRING}, {"L", PROTO_T_LONG}};

struct src {
	const char *p;
	size_t len, at, step; /* step: bytes per read (0: all) */
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

struct opts {
	enum proto_format f;
	enum proto_compression c;
	const struct proto_column *cols;
	size_t ncols;
	bool skip;
	size_t step;
	size_t max_record;
};

/* Reads all of data; the rows as text ("a|b\n", null as ~) in out; rc. */
static int read_all(const struct opts *o, const char *data, size_t len, char *out, size_t size,
                    char *err, size_t errsize)
{
	struct rowreader_opts ro = {o->f, o->cols, o->ncols, o->skip, "t.csv", o->max_record};
	struct src s = {data, len, 0, o->step};
	struct instream *in = NULL;
	struct rowreader *r = NULL;
	const struct kval *row;
	char e[ROWREADER_ERRLEN];
	size_t n = 0;
	int rc;

	assert_int_equal(instream_new(o->c, &in), 0);
	instream_from_fn(in, src_read, &s);
	assert_int_equal(rowreader_new(&ro, in, &r, e), 0);
	out[0] = err[0] = '\0';
	while ((rc = rowreader_next(r, &row)) == 1) {
		for (size_t i = 0; i < o->ncols; i++) {
			char v[256];

			if (row[i].null)
				(void)snprintf(v, sizeof(v), "~");
			else
				(void)kval_format(o->cols[i].type, &row[i], v, sizeof(v));
			n += (size_t)snprintf(out + n, size - n, "%s%s", i ? "|" : "", v);
		}
		n += (size_t)snprintf(out + n, size - n, "\n");
	}
	if (rc < 0)
		(void)snprintf(err, errsize, "%s", rowreader_error(r));
	rowreader_free(r);
	return rc;
}

static void expect(const struct opts *o, const char *data, const char *want)
{
	char out[8192], err[ROWREADER_ERRLEN];
	int rc = read_all(o, data, strlen(data), out, sizeof(out), err, sizeof(err));

	if (rc != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(out, want);
}

static void expect_err(const struct opts *o, const char *data, int want_rc, const char *want)
{
	char out[8192], err[ROWREADER_ERRLEN];
	int rc = read_all(o, data, strlen(data), out, sizeof(out), err, sizeof(err));

	if (rc != want_rc)
		fail_msg("rc %d, wanted %d (%s)", rc, want_rc, err);
	assert_string_equal(err, want);
}

static const struct opts csv2 = {PROTO_FMT_CSV, PROTO_COMP_NONE, two, 2, false, 0, 0};

static void test_csv_quoting(void **state)
{
	(void)state;
	expect(&csv2, "a,1\nb,2\n", "a|1\nb|2\n");
	expect(&csv2, "a,1\nb,2", "a|1\nb|2\n"); /* no final newline */
	expect(&csv2, "a,1\r\nb,2\r\n", "a|1\nb|2\n");
	expect(&csv2, "\"x,y\",1\n", "x,y|1\n");
	expect(&csv2, "\"say \"\"hi\"\"\",1\n", "say \"hi\"|1\n");
	expect(&csv2, "\"two\nlines\",1\n", "two\nlines|1\n");
	expect(&csv2, "\"crlf\r\ninside\",1\r\n", "crlf\r\ninside|1\n");
	expect(&csv2, "\"\",1\n", "|1\n");
	expect(&csv2, ",\n", "|~\n"); /* empty string, null long */
	expect(&csv2, "\"\"\"\",1\n", "\"|1\n");
	expect(&csv2, "a\"b,1\n", "a\"b|1\n"); /* a quote inside an unquoted field */
	expect(&csv2, "h\xc3\xa9llo \xe2\x82\xac,1\n", "h\xc3\xa9llo \xe2\x82\xac|1\n");
	expect(&csv2, "\n\na,1\n\r\n\nb,2\n\n", "a|1\nb|2\n"); /* empty lines */
	expect(&csv2,
	       "\xef\xbb\xbf"
	       "a,1\n",
	       "a|1\n"); /* BOM */
	expect(&csv2, "", "");
	expect(&csv2, "\"a\",\"2\"", "a|2\n");
}

static void test_csv_header(void **state)
{
	struct opts o = csv2;

	(void)state;
	o.skip = true;
	expect(&o, "Name,Value,Extra\na,1\n", "a|1\n");
	expect(&o, "\"Name\",\"Value\"\r\na,1\r\n", "a|1\n");
	expect(&o, "", "");
}

static void test_tsv(void **state)
{
	struct opts o = csv2;

	(void)state;
	o.f = PROTO_FMT_TSV;
	expect(&o, "a,b\t1\nc\t2\n", "a,b|1\nc|2\n");
	expect(&o, "\"x\ty\"\t3\n", "x\ty|3\n");
	expect_err(&o, "a,1\n", -EINVAL, "t.csv:1: 1 fields, the table has 2 columns");
}

static void test_all_types(void **state)
{
	struct opts o = {PROTO_FMT_CSV, PROTO_COMP_NONE, all_types, NALL, false, 0, 0};

	(void)state;
	expect(&o,
	       "true,2026-01-02T03:04:05.1234567Z,\"{\"\"a\"\": [1, 2]}\","
	       "3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162,-2147483648,9223372036854775807,1.5,"
	       "\"x, y\",1.02:03:04,-12.50\n"
	       ",,,,,,,,,\n"
	       "0,2026-01-02 05:04:05+02:00,null,{3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162},"
	       "2147483647,-9223372036854775808,NaN,,-00:00:01,0\n",
	       "true|2026-01-02T03:04:05.1234567Z|{\"a\":[1,2]}|"
	       "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162|-2147483648|9223372036854775807|1.5|x, y|"
	       "1.02:03:04|-12.50\n"
	       "~|~|~|~|~|~|~||~|~\n"
	       "false|2026-01-02T03:04:05.0000000Z|null|3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162|"
	       "2147483647|-9223372036854775808|NaN||-00:00:01|0\n");
}

static void test_csv_errors(void **state)
{
	struct opts o = {PROTO_FMT_CSV, PROTO_COMP_NONE, all_types, NALL, false, 0, 0};
	const char *good = "true,2026-01-02,{},,1,2,3,s,00:00:01,1.5\n";
	char buf[1024];

	(void)state;
	(void)snprintf(buf, sizeof(buf), "%s%s,,,,99999999999,,,,,\n", good, good);
	expect_err(&o, buf, -ERANGE,
	           "t.csv:3: column 'I' (int): '99999999999': out of range for int");
	(void)snprintf(buf, sizeof(buf), "%s\"multi\nline\",,,,,,,,,\n%s,2026-13-01,,,,,,,,\n",
	               good, good);
	expect_err(
	    &o, buf, -EINVAL,
	    "t.csv:2: column 'B' (bool): 'multi\\x0aline': not a bool (true, false, 1 or 0)");
	(void)snprintf(buf, sizeof(buf), "%s,2026-13-01,,,,,,,,\n", good);
	expect_err(&o, buf, -EINVAL,
	           "t.csv:2: column 'D' (datetime): '2026-13-01': not a datetime (ISO 8601, e.g. "
	           "2026-01-02T03:04:05.1234567Z)");
	(void)snprintf(buf, sizeof(buf), "\n\n%s,,{bad},,,,,,,\n", good);
	expect_err(&o, buf, -EINVAL,
	           "t.csv:4: column 'Y' (dynamic): '{bad}': not a dynamic (one JSON value)");
	expect_err(&o, ",,,,,,fast,,,\n", -EINVAL,
	           "t.csv:1: column 'R' (real): 'fast': not a real (a number, NaN or Infinity)");
	expect_err(&o, ",,,,,,1e400,,,\n", -ERANGE,
	           "t.csv:1: column 'R' (real): '1e400': out of range for real");
	expect_err(&o, ",,,,,,,,,1e5\n", -EINVAL,
	           "t.csv:1: column 'M' (decimal): '1e5': not a decimal ([+-]digits[.digits])");
	expect_err(&o, ",,,nope,,,,,,\n", -EINVAL,
	           "t.csv:1: column 'G' (guid): 'nope': not a guid (8-4-4-4-12 hex digits)");
	expect_err(
	    &o, ",,,,,,,,1h,\n", -EINVAL,
	    "t.csv:1: column 'T' (timespan): '1h': not a timespan ([-][d.]hh:mm:ss[.fffffff])");
	expect_err(&csv2, "a,1\nb,2,3\n", -EINVAL, "t.csv:2: 3 fields, the table has 2 columns");
	expect_err(&csv2, "a,1\nb\n", -EINVAL, "t.csv:2: 1 fields, the table has 2 columns");
	expect_err(&csv2, "a,1\n\"open,1\n", -EINVAL, "t.csv:2: a quoted field is not closed");
	expect_err(&csv2, "\"a\"x,1\n", -EINVAL, "t.csv:1: field 1: 'x' after a closing quote");
	expect_err(&csv2, "a,1\nb,x\n", -EINVAL,
	           "t.csv:2: column 'L' (long): 'x': not a long (a whole number)");
	expect_err(&csv2, "a,\"\x01\\\"\n", -EINVAL,
	           "t.csv:1: column 'L' (long): '\\x01\\x5c': not a long (a whole number)");
}

static void test_long_value_excerpt(void **state)
{
	char buf[512], want[512];

	(void)state;
	memset(buf, '7', 200);
	(void)snprintf(buf + 200, sizeof(buf) - 200, "x,1\n");
	memmove(buf + 2, buf, strlen(buf) + 1);
	buf[0] = 'a';
	buf[1] = ',';
	buf[strlen(buf) - 3] = '\n';
	buf[strlen(buf) - 2] = '\0';
	/* "a,777...7x\n": the value is cut after 64 bytes. */
	(void)snprintf(want, sizeof(want),
	               "t.csv:1: column 'L' (long): '%.64s...': not a long "
	               "(a whole number)",
	               buf + 2);
	expect_err(&csv2, buf, -EINVAL, want);
}

static void test_json(void **state)
{
	struct opts o = {PROTO_FMT_JSON, PROTO_COMP_NONE, all_types, NALL, false, 0, 0};

	(void)state;
	expect(&o,
	       "{\"B\":true,\"D\":\"2026-01-02T03:04:05Z\",\"Y\":{\"k\":[1,\"x\"]},\"G\":"
	       "\"3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162\",\"I\":7,\"L\":-9223372036854775808,"
	       "\"R\":2,\"S\":\"a\\\"b\",\"T\":\"00:01:00\",\"M\":\"1.50\",\"extra\":1}\n"
	       "{}\r\n"
	       "\n"
	       "{\"B\":\"false\",\"I\":\"12\",\"R\":\"NaN\",\"S\":42,\"Y\":\"str\",\"M\":3,"
	       "\"D\":null}\n",
	       "true|2026-01-02T03:04:05.0000000Z|{\"k\":[1,\"x\"]}|"
	       "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162|7|-9223372036854775808|2|a\"b|00:01:00|1.50\n"
	       "~|~|~|~|~|~|~||~|~\n"
	       "false|~|\"str\"|~|12|~|NaN|42|~|3\n");
}

static void test_json_errors(void **state)
{
	struct opts o = {PROTO_FMT_JSON, PROTO_COMP_NONE, two, 2, false, 0, 0};

	(void)state;
	expect_err(&o, "{\"L\":1}\n{\"L\":1.5}\n", -EINVAL,
	           "t.csv:2: column 'L' (long): '1.5': not a value of this type");
	expect_err(&o, "{\"L\":\"x\"}\n", -EINVAL,
	           "t.csv:1: column 'L' (long): 'x': not a long (a whole number)");
	expect_err(&o, "{\"L\":1,\"L\":2}\n", -EINVAL,
	           "t.csv:1: not a JSON object: duplicate object key near '\"L\"' (at byte 10)");
	expect_err(&o, "[1]\n", -EINVAL, "t.csv:1: not a JSON object");
	expect_err(&o, "{\"L\":1}\n\n{\"L\":\n", -EINVAL,
	           "t.csv:3: not a JSON object: unexpected token near end of file (at byte 5)");
	expect_err(&o, "{\"L\":true}\n", -EINVAL,
	           "t.csv:1: column 'L' (long): 'true': not a value of this type");
}

/* Records straddle reads: the same text fed one byte at a time and in odd
 * steps, with a small buffer. */
static void test_straddle(void **state)
{
	const char *data = "\"a\nb\",1\r\n\"c\"\"d\",2\ne,3\n\"\",\n";
	const char *want = "a\nb|1\nc\"d|2\ne|3\n|~\n";

	(void)state;
	for (size_t step = 1; step < 8; step++) {
		struct opts o = csv2;

		o.step = step;
		o.max_record = 16;
		expect(&o, data, want);
	}
}

static void test_bounds(void **state)
{
	struct opts o = csv2;
	char big[200];

	(void)state;
	o.max_record = 32;
	memset(big, 'x', sizeof(big));
	big[150] = ',';
	big[151] = '1';
	big[152] = '\n';
	big[153] = '\0';
	expect_err(&o, big, -E2BIG, "t.csv:1: a record longer than 32 bytes");
	o.f = PROTO_FMT_JSON;
	expect_err(&o, "{\"S\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}\n", -E2BIG,
	           "t.csv:1: a record longer than 32 bytes");
}

static char *gzip(const char *in, size_t len, size_t *ret_len)
{
	uLong cap = compressBound((uLong)len) + 64;
	char *out = malloc(cap);
	z_stream z = {0};

	assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
	                 Z_OK);
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*ret_len = z.total_out;
	deflateEnd(&z);
	return out;
}

static char *zstd(const char *in, size_t len, size_t *ret_len)
{
	size_t cap = ZSTD_compressBound(len);
	char *out = malloc(cap);

	*ret_len = ZSTD_compress(out, cap, in, len, 3);
	assert_false(ZSTD_isError(*ret_len));
	return out;
}

/* A few thousand rows, so compressed input spans several reads. */
static char *many_rows(size_t n, size_t *ret_len, char **ret_want)
{
	char *d = malloc(n * 32), *w = malloc(n * 32);
	size_t a = 0, b = 0;

	for (size_t i = 0; i < n; i++) {
		a += (size_t)sprintf(d + a, "\"row, %zu\",%zu\n", i, i * 7);
		b += (size_t)sprintf(w + b, "row, %zu|%zu\n", i, i * 7);
	}
	*ret_len = a;
	*ret_want = w;
	return d;
}

static void check_bin(const struct opts *o, const char *data, size_t len, const char *want)
{
	char *out = malloc(1 << 20), err[ROWREADER_ERRLEN];
	int rc = read_all(o, data, len, out, 1 << 20, err, sizeof(err));

	if (rc != 0)
		fail_msg("refused: %s", err);
	assert_string_equal(out, want);
	free(out);
}

static void test_gzip_zstd(void **state)
{
	size_t len, glen, glen2, zlen, zlen2;
	char *want, *d = many_rows(5000, &len, &want);
	char *g = gzip(d, len / 2, &glen), *g2 = gzip(d + len / 2, len - len / 2, &glen2);
	char *z = zstd(d, len / 3, &zlen), *z2 = zstd(d + len / 3, len - len / 3, &zlen2);
	char *gg = malloc(glen + glen2), *zz = malloc(zlen + zlen2);
	struct opts o = csv2;

	(void)state;
	/* Two gzip members and two zstd frames, as concatenated files make
	 * (the split falls inside a record). */
	memcpy(gg, g, glen);
	memcpy(gg + glen, g2, glen2);
	memcpy(zz, z, zlen);
	memcpy(zz + zlen, z2, zlen2);
	o.c = PROTO_COMP_GZIP;
	check_bin(&o, gg, glen + glen2, want);
	o.step = 7;
	check_bin(&o, gg, glen + glen2, want);
	o.c = PROTO_COMP_ZSTD;
	check_bin(&o, zz, zlen + zlen2, want);
	o.step = 0;
	check_bin(&o, zz, zlen + zlen2, want);
	free(gg);
	free(zz);
	free(g);
	free(g2);
	free(z);
	free(z2);
	free(d);
	free(want);
}

static void check_bin_err(const struct opts *o, const char *data, size_t len, int want_rc,
                          const char *want)
{
	char *out = malloc(1 << 20), err[ROWREADER_ERRLEN];
	int rc = read_all(o, data, len, out, 1 << 20, err, sizeof(err));

	if (rc != want_rc)
		fail_msg("rc %d, wanted %d (%s)", rc, want_rc, err);
	if (strstr(err, want) == NULL)
		fail_msg("'%s' does not say '%s'", err, want);
	free(out);
}

static void test_compressed_errors(void **state)
{
	size_t len, glen, zlen;
	char *want, *d = many_rows(2000, &len, &want);
	char *g = gzip(d, len, &glen), *z = zstd(d, len, &zlen);
	struct opts o = csv2;

	(void)state;
	o.c = PROTO_COMP_GZIP;
	check_bin_err(&o, g, glen - 10, -EBADMSG, "gzip: truncated input");
	check_bin_err(&o, d, len, -EBADMSG, "not gzip data (no magic number)");
	check_bin_err(&o, "", 0, -EBADMSG, "gzip: truncated input");
	check_bin_err(&o, z, zlen, -EBADMSG, "not gzip data");
	g[glen / 2] ^= 0x55;
	check_bin_err(&o, g, glen, -EBADMSG, "gzip: ");
	g[glen / 2] ^= 0x55;
	o.c = PROTO_COMP_ZSTD;
	check_bin_err(&o, z, zlen - 5, -EBADMSG, "zstd: truncated input");
	check_bin_err(&o, g, glen, -EBADMSG, "not zstd data (no magic number)");
	o.c = PROTO_COMP_NONE;
	check_bin_err(&o, g, glen, -EBADMSG, "t.csv:1: gzip-compressed data declared plain");
	check_bin_err(&o, z, zlen, -EBADMSG, "t.csv:1: zstd-compressed data declared plain");
	free(g);
	free(z);
	free(d);
	free(want);
}

/* Push mode: chunks of a gzip body as a network write callback gets them. */
static void test_push(void **state)
{
	size_t len, glen;
	char *want, *d = many_rows(3000, &len, &want), *g = gzip(d, len, &glen);
	struct rowreader_opts ro = {PROTO_FMT_CSV, two, 2, false, "body", 0};
	struct instream *in = NULL;
	struct rowreader *r = NULL;
	const struct kval *row;
	char e[ROWREADER_ERRLEN], *out = malloc(1 << 20);
	size_t n = 0, at = 0;
	int rc;

	(void)state;
	assert_int_equal(instream_new(PROTO_COMP_GZIP, &in), 0);
	assert_int_equal(rowreader_new(&ro, in, &r, e), 0);
	for (;;) {
		rc = rowreader_next(r, &row);
		if (rc == -EAGAIN) {
			size_t k = glen - at < 1000 ? glen - at : 1000;

			if (k == 0)
				instream_push_end(rowreader_instream(r));
			else
				instream_push(rowreader_instream(r), g + at, k);
			at += k;
			continue;
		}
		if (rc != 1)
			break;
		n += (size_t)sprintf(out + n, "%.*s|%lld\n", (int)row[0].len, row[0].s,
		                     (long long)row[1].i);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(out, want);
	assert_int_equal(rowreader_rows(r), 3000);
	assert_int_equal(instream_bytes_in(rowreader_instream(r)), glen);
	assert_int_equal(rowreader_bytes(r), len);
	rowreader_free(r);
	free(out);
	free(g);
	free(d);
	free(want);
}

static void test_fd_and_names(void **state)
{
	int p[2];
	struct instream *in = NULL;
	char buf[16];

	(void)state;
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "a,1\n", 4), 4);
	close(p[1]);
	assert_int_equal(instream_new(PROTO_COMP_NONE, &in), 0);
	instream_from_fd(in, p[0]);
	assert_int_equal(instream_read(in, buf, sizeof(buf)), 4);
	assert_int_equal(instream_read(in, buf, sizeof(buf)), 0);
	instream_free(in);
	close(p[0]);
	assert_int_equal(instream_from_name("x.csv.gz"), PROTO_COMP_GZIP);
	assert_int_equal(instream_from_name("x.csv.zst"), PROTO_COMP_ZSTD);
	assert_int_equal(instream_from_name("x.csv"), PROTO_COMP_NONE);
	assert_int_equal(instream_from_name(".gz"), PROTO_COMP_NONE);
	assert_int_equal(instream_detect("\x1f\x8b", 2), PROTO_COMP_GZIP);
	assert_int_equal(instream_detect("\x28\xb5\x2f\xfd", 4), PROTO_COMP_ZSTD);
}

static void test_bad_options(void **state)
{
	struct rowreader_opts ro = {PROTO_FMT_NONE, two, 2, false, NULL, 0};
	struct instream *in = NULL;
	struct rowreader *r = NULL;
	char e[ROWREADER_ERRLEN];

	(void)state;
	assert_int_equal(instream_new(PROTO_COMP_NONE, &in), 0);
	assert_int_equal(rowreader_new(&ro, in, &r, e), -EINVAL); /* in is freed */
	assert_null(r);
	rowreader_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_quoting), cmocka_unit_test(test_csv_header),
	    cmocka_unit_test(test_tsv),         cmocka_unit_test(test_all_types),
	    cmocka_unit_test(test_csv_errors),  cmocka_unit_test(test_long_value_excerpt),
	    cmocka_unit_test(test_json),        cmocka_unit_test(test_json_errors),
	    cmocka_unit_test(test_straddle),    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_gzip_zstd),   cmocka_unit_test(test_compressed_errors),
	    cmocka_unit_test(test_push),        cmocka_unit_test(test_fd_and_names),
	    cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Unit tests for kframe: the v2 frames (plain and fragmented) and v1 tables
 * a query's answer is written in, read back with jansson: frame order and
 * members, Kusto's value forms for every type, strings escaped (quotes,
 * control bytes, bytes that are not UTF-8), an error after rows reported
 * in the completion information, output in bounded pieces, a failing
 * writer's error kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "query/kframe.h"

struct sink {
	char *buf;
	size_t len;
	size_t calls, biggest;
	int fail_after; /* calls before failing with -EPIPE; 0: never */
};

static int sink_write(void *arg, const char *buf, size_t len)
{
	struct sink *s = arg;

	if (s->fail_after && s->calls >= (size_t)s->fail_after)
		return -EPIPE;
	s->buf = realloc(s->buf, s->len + len + 1);
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->buf[s->len] = '\0';
	s->calls++;
	if (len > s->biggest)
		s->biggest = len;
	return 0;
}

static const struct kframe_column all_cols[] = {
    {"b", PROTO_T_BOOL},     {"i", PROTO_T_INT},      {"l", PROTO_T_LONG}, {"r", PROTO_T_REAL},
    {"d", PROTO_T_DATETIME}, {"t", PROTO_T_TIMESPAN}, {"g", PROTO_T_GUID}, {"m", PROTO_T_DECIMAL},
    {"s", PROTO_T_STRING},   {"y", PROTO_T_DYNAMIC},
};

static void write_rows(struct kframe *f)
{
	const struct kval row[] = {
	    {.i = 1},
	    {.i = -2147483648LL},
	    {.i = 9007199254740993LL},
	    {.r = 0.1},
	    {.i = 0}, /* the epoch */
	    {.i = -(90061LL * 10000000 + 5000000)},
	    {.s = "0f8fad5b-d9cb-469f-a165-70867728950e", .len = 36},
	    {.s = "1.50", .len = 4},
	    {.s = "a\"b\\c\n\x01\x1f\x7f\xff\xc3\xa9", .len = 12},
	    {.s = "{\"k\":[1,\"x\"]}", .len = 13},
	};
	struct kval nulls[10];

	for (size_t i = 0; i < 10; i++)
		nulls[i] = (struct kval){.null = true};
	assert_int_equal(kframe_table_begin(f, "PrimaryResult", all_cols, 10), 0);
	assert_int_equal(kframe_row(f, row), 0);
	assert_int_equal(kframe_row(f, nulls), 0);
	assert_int_equal(kframe_table_end(f), 0);
}

static json_t *parse(const struct sink *s)
{
	json_error_t e;
	json_t *j = json_loadb(s->buf, s->len, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("not JSON at %d: %s\n%s", e.position, e.text, s->buf);
	return j;
}

static const char *frame_type(json_t *frames, size_t i)
{
	return json_string_value(json_object_get(json_array_get(frames, i), "FrameType"));
}

static void check_values(json_t *rows)
{
	json_t *r = json_array_get(rows, 0), *n = json_array_get(rows, 1);

	assert_true(json_is_true(json_array_get(r, 0)));
	assert_int_equal(json_integer_value(json_array_get(r, 1)), -2147483648LL);
	assert_int_equal(json_integer_value(json_array_get(r, 2)), 9007199254740993LL);
	assert_true(json_real_value(json_array_get(r, 3)) == 0.1);
	assert_string_equal(json_string_value(json_array_get(r, 4)),
	                    "1970-01-01T00:00:00.0000000Z");
	assert_string_equal(json_string_value(json_array_get(r, 5)), "-1.01:01:01.5000000");
	assert_string_equal(json_string_value(json_array_get(r, 6)),
	                    "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_string_equal(json_string_value(json_array_get(r, 7)), "1.50");
	assert_string_equal(json_string_value(json_array_get(r, 8)),
	                    "a\"b\\c\n\x01\x1f\x7f\xef\xbf\xbd\xc3\xa9");
	assert_int_equal(
	    json_integer_value(json_array_get(json_object_get(json_array_get(r, 9), "k"), 0)), 1);
	/* nulls: null, but a string is "" */
	for (size_t i = 0; i < 10; i++)
		if (i == 8)
			assert_string_equal(json_string_value(json_array_get(n, i)), "");
		else
			assert_true(json_is_null(json_array_get(n, i)));
}

static void test_v2(void **state)
{
	struct kframe_opts o = {.shape = KFRAME_V2, .client_request_id = "KNC.execute;1"};
	struct sink s = {0};
	struct kframe *f;
	json_t *j, *t;

	assert_int_equal(kframe_new(&o, sink_write, &s, &f), 0);
	assert_int_equal(kframe_property(f, "Visualization", "{\"Visualization\":\"timechart\"}"),
	                 0);
	write_rows(f);
	assert_int_equal(kframe_finish(f, NULL), 0);
	j = parse(&s);
	assert_int_equal(json_array_size(j), 5);
	assert_string_equal(frame_type(j, 0), "DataSetHeader");
	assert_true(json_is_false(json_object_get(json_array_get(j, 0), "IsFragmented")));
	t = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(t, "TableKind")), "QueryProperties");
	assert_string_equal(
	    json_string_value(json_array_get(json_array_get(json_object_get(t, "Rows"), 0), 2)),
	    "{\"Visualization\":\"timechart\"}");
	t = json_array_get(j, 2);
	assert_string_equal(json_string_value(json_object_get(t, "TableKind")), "PrimaryResult");
	assert_int_equal(json_integer_value(json_object_get(t, "TableId")), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(t, "Columns"), 5), "ColumnType")),
	                    "timespan");
	check_values(json_object_get(t, "Rows"));
	t = json_array_get(j, 3);
	assert_string_equal(json_string_value(json_object_get(t, "TableKind")),
	                    "QueryCompletionInformation");
	assert_int_equal(
	    json_integer_value(json_array_get(json_array_get(json_object_get(t, "Rows"), 0), 5)),
	    4);
	assert_string_equal(frame_type(j, 4), "DataSetCompletion");
	assert_true(json_is_false(json_object_get(json_array_get(j, 4), "HasErrors")));
	assert_int_equal(kframe_rows(f), 2);
	json_decref(j);
	kframe_free(f);
	free(s.buf);
}

static void test_v2_fragmented_with_error(void **state)
{
	struct kframe_opts o = {.shape = KFRAME_V2_FRAGMENTED, .end_of_table = true};
	struct kframe_status st = {1, "LimitsExceeded", "Query result set has exceeded the limit",
	                           0};
	struct sink s = {0};
	struct kframe *f;
	json_t *j, *c;

	assert_int_equal(kframe_new(&o, sink_write, &s, &f), 0);
	write_rows(f);
	assert_int_equal(kframe_finish(f, &st), 0);
	j = parse(&s);
	assert_string_equal(frame_type(j, 0), "DataSetHeader");
	assert_true(json_is_true(json_object_get(json_array_get(j, 0), "IsFragmented")));
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(j, 0), "ErrorReportingPlacement")),
	    "EndOfTable");
	assert_string_equal(frame_type(j, 1), "TableHeader");
	assert_string_equal(frame_type(j, 2), "TableFragment");
	check_values(json_object_get(json_array_get(j, 2), "Rows"));
	assert_string_equal(frame_type(j, 3), "TableCompletion");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 3), "RowCount")), 2);
	/* the error after the rows: Level 2 and OneApiErrors */
	c = json_array_get(json_object_get(json_array_get(j, 4), "Rows"), 0);
	assert_int_equal(json_integer_value(json_array_get(c, 5)), 2);
	c = json_array_get(j, 5);
	assert_true(json_is_true(json_object_get(c, "HasErrors")));
	c = json_object_get(json_array_get(json_object_get(c, "OneApiErrors"), 0), "error");
	assert_string_equal(json_string_value(json_object_get(c, "code")), "LimitsExceeded");
	assert_string_equal(json_string_value(json_object_get(c, "@message")),
	                    "Query result set has exceeded the limit");
	json_decref(j);
	kframe_free(f);
	free(s.buf);
}

static void test_v1(void **state)
{
	struct kframe_opts o = {.shape = KFRAME_V1};
	struct sink s = {0};
	struct kframe *f;
	json_t *j, *tables, *t;

	assert_int_equal(kframe_new(&o, sink_write, &s, &f), 0);
	write_rows(f);
	assert_int_equal(kframe_finish(f, NULL), 0);
	j = parse(&s);
	tables = json_object_get(j, "Tables");
	assert_int_equal(json_array_size(tables), 3); /* result, status, TOC */
	t = json_array_get(tables, 0);
	assert_string_equal(json_string_value(json_object_get(t, "TableName")), "Table_0");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(t, "Columns"), 2), "DataType")),
	                    "Int64");
	/* a bool column is SByte in ADX's v1 query answer (measured) */
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(t, "Columns"), 0), "DataType")),
	                    "SByte");
	check_values(json_object_get(t, "Rows"));
	t = json_array_get(tables, 2);
	assert_int_equal(json_array_size(json_object_get(t, "Rows")), 2);
	json_decref(j);
	kframe_free(f);
	free(s.buf);
}

static void test_bounded_pieces_and_failure(void **state)
{
	struct kframe_opts o = {.shape = KFRAME_V2_FRAGMENTED};
	const struct kframe_column col = {"s", PROTO_T_STRING};
	char big[1000];
	struct kval v = {.s = big, .len = sizeof(big)};
	struct sink s = {0}, bad = {.fail_after = 2};
	struct kframe *f;
	json_t *j;

	memset(big, 'x', sizeof(big));
	assert_int_equal(kframe_new(&o, sink_write, &s, &f), 0);
	assert_int_equal(kframe_table_begin(f, "PrimaryResult", &col, 1), 0);
	for (int i = 0; i < 2500; i++)
		assert_int_equal(kframe_row(f, &v), 0);
	assert_int_equal(kframe_finish(f, NULL), 0);
	assert_true(s.calls > 30);
	assert_true(s.biggest <= KFRAME_CHUNK);
	j = parse(&s);
	/* 2,500 rows: fragments of 1,000 */
	assert_string_equal(frame_type(j, 4), "TableFragment");
	assert_string_equal(frame_type(j, 5), "TableCompletion");
	json_decref(j);
	kframe_free(f);
	free(s.buf);

	assert_int_equal(kframe_new(&o, sink_write, &bad, &f), 0);
	assert_int_equal(kframe_table_begin(f, "PrimaryResult", &col, 1), 0);
	int r = 0;
	for (int i = 0; i < 2500 && r == 0; i++)
		r = kframe_row(f, &v);
	assert_int_equal(r, -EPIPE);
	assert_int_equal(kframe_finish(f, NULL), -EPIPE);
	kframe_free(f);
	free(bad.buf);
}

static void test_reals(void **state)
{
	struct kframe_opts o = {.shape = KFRAME_V2};
	const struct kframe_column col = {"r", PROTO_T_REAL};
	const double vals[] = {NAN, INFINITY, -INFINITY, 1e300, 123.0};
	struct sink s = {0};
	struct kframe *f;

	assert_int_equal(kframe_new(&o, sink_write, &s, &f), 0);
	assert_int_equal(kframe_table_begin(f, "PrimaryResult", &col, 1), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(kframe_row(f, &(struct kval){.r = vals[i]}), 0);
	assert_int_equal(kframe_finish(f, NULL), 0);
	assert_non_null(
	    strstr(s.buf, "\"Rows\":[[\"NaN\"],[\"Infinity\"],[\"-Infinity\"],[1e+300],[123]]"));
	kframe_free(f);
	free(s.buf);
}

/* The shortest of %.15g, %.16g, %.17g that reads back as r: the text
 * every real must be written as, however kframe finds it. */
static void shortest_g(double r, char *buf, size_t len)
{
	for (int prec = 15; prec <= 17; prec++) {
		(void)snprintf(buf, len, "%.*g", prec, r);
		if (strtod(buf, NULL) == r)
			return;
	}
}

/* A real for test_numbers_exact's row i (x: the generator's state):
 * short and long fractions at every decimal scale, their neighbours one
 * ulp up, random mantissas from 1e-6 to 1e17, negatives, and -0. */
static double test_real(int i, uint64_t *x)
{
	double r;

	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17; /* xorshift64 */
	r = (double)(*x % 100000000) / pow(10, (double)((*x >> 40) % 19));
	if ((*x >> 20) % 2)
		r = -r;
	if (i % 4 == 1)
		r = nextafter(r, INFINITY);
	if (i % 4 == 2)
		r = (double)(*x >> 11) * 0x1p-53 * pow(10, (double)((*x >> 3) % 24) - 6);
	return i == 0 ? -0.0 : r;
}

/* Reals at the edges of kframe's fixed form (1e-4 and 1e15, where %g
 * turns to an exponent; 15 digits, past which it needs 16 or 17) and of
 * the type. */
static const double edge_reals[] = {1e-4,
                                    0.000099999999999999991,
                                    1e-5,
                                    0.00012345678901234,
                                    0.0001234567890123456,
                                    999999999999999.0,
                                    999999999999999.9,
                                    1e15,
                                    1000000000000002.0,
                                    123456789012345.6,
                                    12345678901234.56,
                                    0.30000000000000004,
                                    0.3333333333333333,
                                    0.6666666666666666,
                                    4.35,
                                    0.1,
                                    100,
                                    100000000000000.5,
                                    9007199254740993.0,
                                    5e-324,
                                    2.2250738585072014e-308,
                                    1.7976931348623157e308,
                                    -1e-5,
                                    -1e-4,
                                    0.5};

/* Every real as the reference writes it, and the extreme longs. */
static void test_numbers_exact(void **state)
{
	enum { N = 100000 };
	struct kframe_opts o = {.shape = KFRAME_V2};
	const struct kframe_column cols[] = {{"r", PROTO_T_REAL}, {"l", PROTO_T_LONG}};
	const int64_t longs[] = {0, -1, 7, INT64_MIN, INT64_MAX, -9007199254740993LL};
	struct sink s = {0};
	struct kframe *f;
	char g[64], *want = malloc((size_t)N * 64), *p = want;
	uint64_t x = 88172645463325252ULL;
	double r;

	assert_non_null(want);
	assert_int_equal(kframe_new(&o, sink_write, &s, &f), 0);
	assert_int_equal(kframe_table_begin(f, "PrimaryResult", cols, 2), 0);
	for (int i = 0; i < N; i++) {
		r = test_real(i, &x);
		if (i > 0 && (size_t)i <= sizeof(edge_reals) / sizeof(edge_reals[0]))
			r = edge_reals[i - 1];
		assert_int_equal(
		    kframe_row(f, (const struct kval[]){{.r = r}, {.i = longs[i % 6]}}), 0);
		shortest_g(r, g, sizeof(g));
		p += sprintf(p, "%s[%s,%lld]", i ? "," : "", g, (long long)longs[i % 6]);
	}
	assert_int_equal(kframe_finish(f, NULL), 0);
	p = strstr(s.buf, "\"Rows\":[[");
	assert_non_null(p);
	p += strlen("\"Rows\":[");
	for (size_t i = 0; want[i]; i++)
		if (p[i] != want[i])
			fail_msg("at byte %zu: got %.40s, want %.40s", i, p + i, want + i);
	kframe_free(f);
	free(s.buf);
	free(want);
}

/* A string of valid UTF-8 (1- to 4-byte characters, escapes)
 * longer than a chunk, its pieces straddling the chunk's flushes at every
 * offset: it reads back whole; an invalid byte reads back as U+FFFD. */
static void test_long_string(void **state)
{
	static const char piece[] = "\xf0\x9f\x98\x80"
	                            "a\"\\\n\x01\x7f\xc3\xa9\xe2\x82\xac";
	const struct kframe_column cols[] = {{"s", PROTO_T_STRING}};
	struct kframe_opts o = {.shape = KFRAME_V1};
	size_t n = 3 * KFRAME_CHUNK + 7, k = sizeof(piece) - 1;
	char *text = malloc(n + 1);
	struct sink s = {0};
	struct kframe *f;
	json_t *j, *v;

	assert_non_null(text);
	for (size_t i = 0; i < n; i++)
		text[i] = piece[i % k];
	text[n - 1] = '\xff'; /* cuts the last piece: invalid from there */
	assert_int_equal(kframe_new(&o, sink_write, &s, &f), 0);
	assert_int_equal(kframe_table_begin(f, "PrimaryResult", cols, 1), 0);
	assert_int_equal(kframe_row(f, (const struct kval[]){{.s = text, .len = n}}), 0);
	assert_int_equal(kframe_finish(f, NULL), 0);
	j = parse(&s);
	v = json_array_get(
	    json_array_get(json_object_get(json_array_get(json_object_get(j, "Tables"), 0), "Rows"),
	                   0),
	    0);
	assert_true(json_string_length(v) > n - k);
	assert_memory_equal(json_string_value(v), text, n - n % k);
	assert_memory_equal(json_string_value(v) + json_string_length(v) - 3, "\xef\xbf\xbd", 3);
	json_decref(j);
	kframe_free(f);
	free(s.buf);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v2),          cmocka_unit_test(test_v2_fragmented_with_error),
	    cmocka_unit_test(test_v1),          cmocka_unit_test(test_bounded_pieces_and_failure),
	    cmocka_unit_test(test_reals),       cmocka_unit_test(test_numbers_exact),
	    cmocka_unit_test(test_long_string),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

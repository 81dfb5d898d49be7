/*
 * libFuzzer target for the leader protocol decoders and the time parsers.
 *
 * The first byte chooses the parser (modulo 5): head, commit, manifest,
 * checkpoint line, or the timefmt parsers; the rest is the input.  Beyond
 * "no crash, no leak, no undefined behaviour" it checks a round trip:
 * whatever decodes must encode, decode again, and encode to the same text,
 * and every time value parsed must format and parse back to itself.
 *
 *   make fuzz && build-fuzz/fuzz_proto -max_total_time=60 tests/fuzz/corpus/proto
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "util/timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "round trip failed: %s\n", what);
		abort();
	}
}

/* Both encodings must exist and be equal (frees them). */
static void same(char *a, char *b, const char *what)
{
	check(a != NULL && b != NULL && strcmp(a, b) == 0, what);
	free(a);
	free(b);
}

static void fuzz_head(const char *buf, size_t len)
{
	struct proto_head *h = NULL, *h2 = NULL;
	char err[PROTO_ERRLEN];
	char *s;

	if (proto_head_decode(buf, len, &h, err) != 0)
		return;
	s = proto_head_encode(h);
	check(s != NULL && proto_head_decode(s, strlen(s), &h2, err) == 0, "head");
	same(s, proto_head_encode(h2), "head");
	proto_head_free(h);
	proto_head_free(h2);
}

static void fuzz_commit(const char *buf, size_t len)
{
	struct proto_commit *c = NULL, *c2 = NULL;
	char err[PROTO_ERRLEN];
	char *s;

	if (proto_commit_decode(buf, len, &c, err) != 0)
		return;
	s = proto_commit_encode(c);
	check(s != NULL && proto_commit_decode(s, strlen(s), &c2, err) == 0, "commit");
	same(s, proto_commit_encode(c2), "commit");
	proto_commit_free(c);
	proto_commit_free(c2);
}

static void fuzz_manifest(const char *buf, size_t len)
{
	struct proto_manifest *m = NULL, *m2 = NULL;
	char err[PROTO_ERRLEN];
	char *s;

	if (proto_manifest_decode(buf, len, &m, err) != 0)
		return;
	s = proto_manifest_encode(m);
	check(s != NULL && proto_manifest_decode(s, strlen(s), &m2, err) == 0, "manifest");
	same(s, proto_manifest_encode(m2), "manifest");
	proto_manifest_free(m);
	proto_manifest_free(m2);
}

static void fuzz_record(const char *buf, size_t len)
{
	struct proto_action a = {0}, a2 = {0};
	char err[PROTO_ERRLEN];
	char *s;

	if (proto_record_decode(buf, len, &a, err) != 0)
		return;
	s = proto_record_encode(&a);
	check(s != NULL && proto_record_decode(s, strlen(s), &a2, err) == 0, "record");
	same(s, proto_record_encode(&a2), "record");
	proto_action_clear(&a);
	proto_action_clear(&a2);
}

static void fuzz_time(const char *buf, size_t len)
{
	char *s = strndup(buf, len), out[TIMEFMT_TIMESPAN_LEN];
	int64_t t, back;

	if (s == NULL)
		return;
	if (timefmt_parse_datetime(s, &t) == 0)
		check(timefmt_parse_datetime(timefmt_format_datetime(t, out), &back) == 0 &&
		          back == t,
		      "datetime");
	if (timefmt_parse_timespan(s, &t) == 0)
		check(timefmt_parse_timespan(timefmt_format_timespan(t, out), &back) == 0 &&
		          back == t,
		      "timespan");
	if (timefmt_parse_duration(s, &t) == 0)
		check(timefmt_parse_timespan(timefmt_format_timespan(t, out), &back) == 0 &&
		          back == t,
		      "duration");
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1;

	if (size < 1)
		return 0;
	size--;
	switch (data[0] % 5) {
	case 0:
		fuzz_head(buf, size);
		break;
	case 1:
		fuzz_commit(buf, size);
		break;
	case 2:
		fuzz_manifest(buf, size);
		break;
	case 3:
		fuzz_record(buf, size);
		break;
	default:
		fuzz_time(buf, size);
		break;
	}
	return 0;
}

/*
 * Unit tests for proto: round trips of every object and action, the exact
 * JSON of the head example, every refusal the decoders make (malformed JSON,
 * types, unknown members, format, sizes, counts, names, uuids, hashes, path
 * escapes, ranges, duplicates), the value validators, names and paths, deep
 * copies, and a torture pass that fails each jansson allocation in turn.
 *
 * Refusals are driven by mutation: a valid object is encoded, parsed back
 * with jansson, one member is replaced or removed, and the decoder must
 * return the expected errno and error text.
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

#include "proto/proto.h"
#include "util/timefmt.h"

#define UUID1 "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162"
#define UUID2 "5a1e2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"
#define SHA1 "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define DT1 "2026-11-23T09:59:58.1230000Z"
#define T0 INT64_C(17954279981230000) /* DT1 in ticks */
#define SEC TIMEFMT_TICKS_PER_SEC

enum which { HEAD, COMMIT, MANIFEST, RECORD };

/* ---- building objects ---- */

static char *xstrdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	assert_non_null(p);
	return p;
}

static void make_sha(char *sha, unsigned i)
{
	for (unsigned k = 0; k < PROTO_SHA256_LEN; k++)
		sha[k] = "0123456789abcdef"[(i * 7 + k * 13) % 16];
	sha[PROTO_SHA256_LEN] = '\0';
}

static void make_id(char *id, unsigned i)
{
	(void)snprintf(id, PROTO_UUID_LEN + 1, "0b5f3c1a-7e2d-4f60-9a8b-%012x", i);
}

/* Every fourth extent's artifacts are typed; one in eight of a format this
 * build does not know. */
static void make_data_format(struct proto_artifact *a, unsigned i)
{
	if (i % 4 == 1) {
		a->format = PROTO_FMT_CSV;
		a->compression = PROTO_COMP_GZIP;
		a->ignore_first_record = true;
	} else if (i % 8 == 3) {
		a->format = PROTO_FMT_UNKNOWN;
		a->format_text = xstrdup("parquet");
		a->compression = PROTO_COMP_UNKNOWN;
		a->compression_text = xstrdup("lz4");
	} else if (i % 8 == 7) {
		a->format = PROTO_FMT_JSON;
	}
}

static void make_stats(struct proto_extent *e)
{
	e->nstats = 3;
	e->stats = xcalloc(3, sizeof(*e->stats));
	e->stats[0].name = xstrdup("Timestamp");
	e->stats[0].type = PROTO_T_DATETIME;
	e->stats[0].min = xstrdup("2026-01-02T03:04:05.0000000Z");
	e->stats[0].max = xstrdup("2026-01-02T04:04:05.0000000Z");
	e->stats[1].name = xstrdup("Message");
	e->stats[1].nulls = 0;
	e->stats[2].name = xstrdup("Latency");
	e->stats[2].type = PROTO_T_REAL;
	e->stats[2].nulls = 7;
	e->stats[2].min = xstrdup("-Infinity");
	e->stats[2].max = xstrdup("1.5");
}

static void make_extent(struct proto_extent *e, unsigned i)
{
	char buf[PROTO_MAX_PATH];

	memset(e, 0, sizeof(*e));
	make_id(e->id, i);
	e->table = xstrdup(i % 2 ? "Events" : "Raw Logs-2.v1");
	e->min_created = T0 + i;
	e->max_created = T0 + i * SEC;
	e->rows = 1000 + i;
	e->original_size = 65536 + i;
	e->compressed_size = 16384;
	e->ntags = i % 3;
	e->tags = e->ntags ? xcalloc(e->ntags, sizeof(*e->tags)) : NULL;
	for (size_t k = 0; k < e->ntags; k++)
		e->tags[k] = xstrdup(k ? "ingest-by:x y" : "drop-by:2026-11-20");
	e->nartifacts = 1 + i % 2;
	e->artifacts = xcalloc(e->nartifacts, sizeof(*e->artifacts));
	for (size_t k = 0; k < e->nartifacts; k++) {
		struct proto_artifact *a = &e->artifacts[k];
		make_sha(a->sha256, i * 2 + (unsigned)k);
		(void)proto_path_artifact(buf, sizeof(buf), a->sha256);
		a->path = xstrdup(buf);
		a->name = xstrdup(k ? "index (1).bin" : "data.csv");
		a->size = 16384 + k;
		make_data_format(a, i);
	}
	if (i % 4 == 1)
		make_stats(e);
}

static void make_entity(struct proto_entity *e, enum proto_kind kind, const char *name, size_t n)
{
	char col[32];

	e->kind = kind;
	e->name = xstrdup(name);
	e->ncolumns = n;
	e->columns = xcalloc(n, sizeof(*e->columns));
	for (size_t i = 0; i < n; i++) {
		(void)snprintf(col, sizeof(col), "col_%zu", i);
		e->columns[i].name = xstrdup(col);
		e->columns[i].type = (enum proto_coltype)(i % 10);
	}
	e->folder = xstrdup(kind == PROTO_TABLE ? "Logs/Raw" : "");
	e->docstring = xstrdup(kind == PROTO_TABLE ? "" : "Docs \"quoted\"\nline two");
	if (kind == PROTO_EXTERNAL_TABLE)
		e->location = xstrdup("https://storage.example/container;impersonate");
	if (kind == PROTO_MATERIALIZED_VIEW) {
		e->source = xstrdup("Events");
		e->query = xstrdup("Events | summarize count() by bin(Timestamp, 1h)");
	}
}

static void make_extents(struct proto_action *a, size_t n, unsigned first)
{
	a->nextents = n;
	a->extents = xcalloc(n, sizeof(*a->extents));
	for (size_t i = 0; i < n; i++)
		make_extent(&a->extents[i], first + (unsigned)i);
}

static void make_ids(struct proto_action *a, size_t n, unsigned first)
{
	a->nids = n;
	a->ids = xcalloc(n, sizeof(*a->ids));
	for (size_t i = 0; i < n; i++)
		make_id(a->ids[i], first + (unsigned)i);
}

static void make_principals(struct proto_action *a, enum proto_role role, size_t n)
{
	a->role = role;
	a->nprincipals = n;
	a->principals = n ? xcalloc(n, sizeof(*a->principals)) : NULL;
	for (size_t i = 0; i < n; i++) {
		a->principals[i].fqn =
		    xstrdup(i ? "aadapp=0c1d2e3f;contoso.com" : "aaduser=alice@contoso.com");
		a->principals[i].name = xstrdup(i ? "" : "Alice (admin)");
	}
}

/* Indexes of the actions make_commit builds, one per op and kind. */
enum {
	A_CREATE_T,
	A_ALTER_T,
	A_CREATE_X,
	A_ALTER_X,
	A_CREATE_V,
	A_ALTER_V,
	A_ADD,
	A_DROP_EXT,
	A_REPLACE,
	A_CACHING_T,
	A_CACHING_DB_NULL,
	A_RETENTION_DB,
	A_RETENTION_T_NULL,
	A_PRINCIPALS_ADMINS,
	A_PRINCIPALS_USERS,
	A_PRINCIPALS_VIEWERS,
	A_PRINCIPALS_MONITORS,
	A_DROP_T,
	A_DROP_X,
	A_DROP_V,
	A_COUNT
};

static void make_action(struct proto_action *a, int i)
{
	static const enum proto_kind kinds[] = {PROTO_TABLE, PROTO_EXTERNAL_TABLE,
	                                        PROTO_MATERIALIZED_VIEW};
	static const char *names[] = {"Events", "Ext Table", "Hourly.v2"};

	if (i <= A_ALTER_V) {
		a->op = i % 2 ? PROTO_OP_ALTER : PROTO_OP_CREATE;
		make_entity(&a->entity, kinds[i / 2], names[i / 2], i % 2 ? 12 : 3);
	} else if (i >= A_DROP_T) {
		a->op = PROTO_OP_DROP;
		a->entity.kind = kinds[i - A_DROP_T];
		a->entity.name = xstrdup(names[i - A_DROP_T]);
	} else if (i == A_ADD) {
		a->op = PROTO_OP_ADD_EXTENTS;
		make_extents(a, 4, 0);
	} else if (i == A_DROP_EXT) {
		a->op = PROTO_OP_DROP_EXTENTS;
		make_ids(a, 2, 0);
	} else if (i == A_REPLACE) {
		a->op = PROTO_OP_REPLACE_EXTENTS;
		make_ids(a, 2, 1);
		make_extents(a, 2, 100);
	} else if (i == A_CACHING_T || i == A_CACHING_DB_NULL) {
		a->op = PROTO_OP_SET_CACHING;
		a->table = i == A_CACHING_T ? xstrdup("Events") : NULL;
		a->has_policy = i == A_CACHING_T;
		if (a->has_policy) {
			a->caching.hot_span = 7 * 86400 * SEC;
			a->caching.nwindows = 2;
			a->caching.windows = xcalloc(2, sizeof(*a->caching.windows));
			a->caching.windows[0] = (struct proto_window){T0, T0 + 3600 * SEC};
			a->caching.windows[1] = (struct proto_window){T0 - 1, T0 - 1};
		}
	} else if (i == A_RETENTION_DB || i == A_RETENTION_T_NULL) {
		a->op = PROTO_OP_SET_RETENTION;
		a->table = i == A_RETENTION_T_NULL ? xstrdup("Events") : NULL;
		a->has_policy = i == A_RETENTION_DB;
		a->retention = (struct proto_retention){365 * 86400 * SEC + 1, false};
		if (!a->has_policy)
			a->retention = (struct proto_retention){0, false};
	} else {
		a->op = PROTO_OP_SET_PRINCIPALS;
		make_principals(a, (enum proto_role)(i - A_PRINCIPALS_ADMINS),
		                (size_t)(A_PRINCIPALS_MONITORS - i));
	}
}

static struct proto_commit *make_commit(void)
{
	struct proto_commit *c = xcalloc(1, sizeof(*c));

	c->database = xstrdup("Logs");
	memcpy(c->uuid, UUID1, sizeof(c->uuid));
	c->version = 42;
	c->committed = T0;
	c->nactions = A_COUNT;
	c->actions = xcalloc(A_COUNT, sizeof(*c->actions));
	for (int i = 0; i < A_COUNT; i++)
		make_action(&c->actions[i], i);
	return c;
}

static struct proto_head *make_head(void)
{
	struct proto_head *h = xcalloc(1, sizeof(*h));

	h->updated = T0 + 1;
	h->checkpoint_interval = 100;
	h->ndbs = 2;
	h->dbs = xcalloc(2, sizeof(*h->dbs));
	h->dbs[0].name = xstrdup("Logs");
	memcpy(h->dbs[0].uuid, UUID1, sizeof(h->dbs[0].uuid));
	h->dbs[0].version = 42;
	h->dbs[0].committed = T0;
	h->dbs[0].checkpoint = 40;
	h->dbs[0].log_start = 1;
	h->dbs[0].ndetached = 2;
	h->dbs[0].detached = xcalloc(2, sizeof(char *));
	h->dbs[0].detached[0] = xstrdup("follower-eu-2");
	h->dbs[0].detached[1] = xstrdup("follower us 1");
	h->dbs[1].name = xstrdup("Metrics");
	memcpy(h->dbs[1].uuid, UUID2, sizeof(h->dbs[1].uuid));
	h->dbs[1].version = 1;
	h->dbs[1].committed = -T0;
	h->dbs[1].checkpoint = 0;
	h->dbs[1].log_start = 1;
	return h;
}

static struct proto_manifest *make_manifest(void)
{
	struct proto_manifest *m = xcalloc(1, sizeof(*m));
	char buf[256];

	m->database = xstrdup("Logs");
	memcpy(m->uuid, UUID1, sizeof(m->uuid));
	m->version = 40;
	m->committed = T0;
	m->nparts = 3;
	m->parts = xcalloc(3, sizeof(*m->parts));
	for (unsigned i = 0; i < 3; i++) {
		(void)proto_path_part(buf, sizeof(buf), UUID1, 40, i);
		m->parts[i].path = xstrdup(buf);
		m->parts[i].size = PROTO_MAX_PART_BYTES - i;
		make_sha(m->parts[i].sha256, i);
		m->parts[i].records = 50 + i;
	}
	m->counts = (struct proto_counts){3, 1, 1, 50000, 50000000, 819200000};
	return m;
}

/* ---- comparing objects ---- */

static void eq_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void eq_entity(const struct proto_entity *a, const struct proto_entity *b)
{
	assert_int_equal(a->kind, b->kind);
	eq_str(a->name, b->name);
	assert_int_equal(a->ncolumns, b->ncolumns);
	for (size_t i = 0; i < a->ncolumns; i++) {
		eq_str(a->columns[i].name, b->columns[i].name);
		assert_int_equal(a->columns[i].type, b->columns[i].type);
	}
	eq_str(a->folder, b->folder);
	eq_str(a->docstring, b->docstring);
	eq_str(a->location, b->location);
	eq_str(a->source, b->source);
	eq_str(a->query, b->query);
}

static void eq_extent(const struct proto_extent *a, const struct proto_extent *b)
{
	assert_string_equal(a->id, b->id);
	eq_str(a->table, b->table);
	assert_int_equal(a->min_created, b->min_created);
	assert_int_equal(a->max_created, b->max_created);
	assert_int_equal(a->rows, b->rows);
	assert_int_equal(a->original_size, b->original_size);
	assert_int_equal(a->compressed_size, b->compressed_size);
	assert_int_equal(a->ntags, b->ntags);
	for (size_t i = 0; i < a->ntags; i++)
		eq_str(a->tags[i], b->tags[i]);
	assert_int_equal(a->nartifacts, b->nartifacts);
	for (size_t i = 0; i < a->nartifacts; i++) {
		eq_str(a->artifacts[i].name, b->artifacts[i].name);
		eq_str(a->artifacts[i].path, b->artifacts[i].path);
		assert_int_equal(a->artifacts[i].size, b->artifacts[i].size);
		assert_string_equal(a->artifacts[i].sha256, b->artifacts[i].sha256);
		assert_int_equal(a->artifacts[i].format, b->artifacts[i].format);
		assert_int_equal(a->artifacts[i].compression, b->artifacts[i].compression);
		assert_int_equal(a->artifacts[i].ignore_first_record,
		                 b->artifacts[i].ignore_first_record);
		eq_str(a->artifacts[i].format_text, b->artifacts[i].format_text);
		eq_str(a->artifacts[i].compression_text, b->artifacts[i].compression_text);
	}
	assert_int_equal(a->nstats, b->nstats);
	for (size_t i = 0; i < a->nstats; i++) {
		eq_str(a->stats[i].name, b->stats[i].name);
		assert_int_equal(a->stats[i].nulls, b->stats[i].nulls);
		assert_int_equal(a->stats[i].type, b->stats[i].type);
		eq_str(a->stats[i].min, b->stats[i].min);
		eq_str(a->stats[i].max, b->stats[i].max);
	}
}

static void eq_caching(const struct proto_caching *a, const struct proto_caching *b)
{
	assert_int_equal(a->hot_span, b->hot_span);
	assert_int_equal(a->nwindows, b->nwindows);
	for (size_t i = 0; i < a->nwindows; i++) {
		assert_int_equal(a->windows[i].min, b->windows[i].min);
		assert_int_equal(a->windows[i].max, b->windows[i].max);
	}
}

static void eq_action(const struct proto_action *a, const struct proto_action *b)
{
	assert_int_equal(a->op, b->op);
	eq_entity(&a->entity, &b->entity);
	assert_int_equal(a->nextents, b->nextents);
	for (size_t i = 0; i < a->nextents; i++)
		eq_extent(&a->extents[i], &b->extents[i]);
	assert_int_equal(a->nids, b->nids);
	for (size_t i = 0; i < a->nids; i++)
		assert_string_equal(a->ids[i], b->ids[i]);
	eq_str(a->table, b->table);
	assert_int_equal(a->has_policy, b->has_policy);
	eq_caching(&a->caching, &b->caching);
	assert_int_equal(a->retention.soft_delete, b->retention.soft_delete);
	assert_int_equal(a->retention.recoverability, b->retention.recoverability);
	assert_int_equal(a->role, b->role);
	assert_int_equal(a->nprincipals, b->nprincipals);
	for (size_t i = 0; i < a->nprincipals; i++) {
		eq_str(a->principals[i].fqn, b->principals[i].fqn);
		eq_str(a->principals[i].name, b->principals[i].name);
	}
}

static void eq_commit(const struct proto_commit *a, const struct proto_commit *b)
{
	eq_str(a->database, b->database);
	assert_string_equal(a->uuid, b->uuid);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->committed, b->committed);
	assert_int_equal(a->nactions, b->nactions);
	for (size_t i = 0; i < a->nactions; i++)
		eq_action(&a->actions[i], &b->actions[i]);
}

static void eq_head(const struct proto_head *a, const struct proto_head *b)
{
	assert_int_equal(a->updated, b->updated);
	assert_int_equal(a->checkpoint_interval, b->checkpoint_interval);
	assert_int_equal(a->ndbs, b->ndbs);
	for (size_t i = 0; i < a->ndbs; i++) {
		const struct proto_head_db *x = &a->dbs[i], *y = &b->dbs[i];
		eq_str(x->name, y->name);
		assert_string_equal(x->uuid, y->uuid);
		assert_int_equal(x->version, y->version);
		assert_int_equal(x->committed, y->committed);
		assert_int_equal(x->checkpoint, y->checkpoint);
		assert_int_equal(x->log_start, y->log_start);
		assert_int_equal(x->ndetached, y->ndetached);
		for (size_t k = 0; k < x->ndetached; k++)
			eq_str(x->detached[k], y->detached[k]);
	}
}

static void eq_manifest(const struct proto_manifest *a, const struct proto_manifest *b)
{
	eq_str(a->database, b->database);
	assert_string_equal(a->uuid, b->uuid);
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->committed, b->committed);
	assert_int_equal(a->nparts, b->nparts);
	for (size_t i = 0; i < a->nparts; i++) {
		eq_str(a->parts[i].path, b->parts[i].path);
		assert_int_equal(a->parts[i].size, b->parts[i].size);
		assert_string_equal(a->parts[i].sha256, b->parts[i].sha256);
		assert_int_equal(a->parts[i].records, b->parts[i].records);
	}
	assert_memory_equal(&a->counts, &b->counts, sizeof(a->counts));
}

/* ---- decoding any object ---- */

/* Decodes buf with the decoder of w and frees the result; the errno. */
static int decode(enum which w, const char *buf, size_t len, char *err)
{
	struct proto_head *h = NULL;
	struct proto_commit *c = NULL;
	struct proto_manifest *m = NULL;
	struct proto_action a = {0};
	int r = -1;

	err[0] = '\0';
	switch (w) {
	case HEAD:
		r = proto_head_decode(buf, len, &h, err);
		break;
	case COMMIT:
		r = proto_commit_decode(buf, len, &c, err);
		break;
	case MANIFEST:
		r = proto_manifest_decode(buf, len, &m, err);
		break;
	case RECORD:
		r = proto_record_decode(buf, len, &a, err);
		break;
	}
	if (r < 0)
		assert_true(h == NULL && c == NULL && m == NULL && a.op == 0 && a.extents == NULL);
	proto_head_free(h);
	proto_commit_free(c);
	proto_manifest_free(m);
	proto_action_clear(&a);
	return r;
}

/* A valid object of kind w, encoded (caller frees); NULL when encoding failed. */
static char *encode_object(enum which w)
{
	struct proto_head *h;
	struct proto_commit *c;
	struct proto_manifest *m;
	struct proto_action a = {0};
	char *s = NULL;

	switch (w) {
	case HEAD:
		h = make_head();
		s = proto_head_encode(h);
		proto_head_free(h);
		break;
	case COMMIT:
		c = make_commit();
		s = proto_commit_encode(c);
		proto_commit_free(c);
		break;
	case MANIFEST:
		m = make_manifest();
		s = proto_manifest_encode(m);
		proto_manifest_free(m);
		break;
	case RECORD:
		make_action(&a, A_ADD);
		s = proto_record_encode(&a);
		proto_action_clear(&a);
		break;
	}
	return s;
}

static char *encode_valid(enum which w)
{
	char *s = encode_object(w);

	assert_non_null(s);
	return s;
}

/* ---- round trips ---- */

static void test_commit_round_trip(void **state)
{
	struct proto_commit *c = make_commit(), *back = NULL;
	char err[PROTO_ERRLEN] = "", *s = proto_commit_encode(c), *s2;

	(void)state;
	assert_non_null(s);
	if (proto_commit_decode(s, strlen(s), &back, err) != 0)
		fail_msg("decode: %s", err);
	eq_commit(c, back);
	s2 = proto_commit_encode(back);
	assert_string_equal(s, s2);
	/* Compact, and members in the documented order. */
	assert_non_null(
	    strstr(s, "{\"format\":\"followerd-leader/1\",\"database\":\"Logs\",\"uuid\":\"" UUID1
	              "\",\"version\":42,\"committed\":\"" DT1 "\",\"actions\":[{\"op\":"
	              "\"create_table\",\"name\":\"Events\",\"columns\":[{\"name\":"
	              "\"col_0\",\"type\":\"bool\"}"));
	assert_null(strchr(s, '\n'));
	free(s);
	free(s2);
	proto_commit_free(c);
	proto_commit_free(back);
}

static void test_head_round_trip(void **state)
{
	struct proto_head *h = make_head(), *back = NULL;
	char err[PROTO_ERRLEN] = "", *s = proto_head_encode(h), *s2;

	(void)state;
	assert_non_null(s);
	if (proto_head_decode(s, strlen(s), &back, err) != 0)
		fail_msg("decode: %s", err);
	eq_head(h, back);
	s2 = proto_head_encode(back);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	proto_head_free(h);
	proto_head_free(back);
}

/* The head of docs/PROTOCOL.md, byte for byte as the encoder writes it. */
static void test_head_exact(void **state)
{
	static const char expect[] = "{\n"
	                             "  \"format\": \"followerd-leader/1\",\n"
	                             "  \"updated\": \"2026-11-23T10:00:00.0000000Z\",\n"
	                             "  \"checkpoint_interval\": 100,\n"
	                             "  \"databases\": [\n"
	                             "    {\n"
	                             "      \"name\": \"Logs\",\n"
	                             "      \"uuid\": \"" UUID1 "\",\n"
	                             "      \"version\": 42,\n"
	                             "      \"committed\": \"2026-11-23T09:59:58.1230000Z\",\n"
	                             "      \"checkpoint\": 40,\n"
	                             "      \"log_start\": 1,\n"
	                             "      \"detached_followers\": [\n"
	                             "        \"follower-eu-2\"\n"
	                             "      ]\n"
	                             "    }\n"
	                             "  ]\n"
	                             "}";
	char *detached[] = {"follower-eu-2"};
	struct proto_head_db db = {.name = "Logs",
	                           .uuid = UUID1,
	                           .version = 42,
	                           .committed = T0,
	                           .checkpoint = 40,
	                           .log_start = 1,
	                           .detached = detached,
	                           .ndetached = 1};
	struct proto_head h = {.checkpoint_interval = 100, .dbs = &db, .ndbs = 1};
	char *s;

	(void)state;
	assert_int_equal(timefmt_parse_datetime("2026-11-23T10:00:00Z", &h.updated), 0);
	s = proto_head_encode(&h);
	assert_string_equal(s, expect);
	free(s);
}

static void test_manifest_round_trip(void **state)
{
	struct proto_manifest *m = make_manifest(), *back = NULL;
	char err[PROTO_ERRLEN] = "", *s = proto_manifest_encode(m), *s2;

	(void)state;
	assert_non_null(s);
	if (proto_manifest_decode(s, strlen(s), &back, err) != 0)
		fail_msg("decode: %s", err);
	eq_manifest(m, back);
	s2 = proto_manifest_encode(back);
	assert_string_equal(s, s2);
	free(s);
	free(s2);
	proto_manifest_free(m);
	proto_manifest_free(back);
}

static bool allowed_in_checkpoint(enum proto_op op)
{
	return op == PROTO_OP_CREATE || op == PROTO_OP_ADD_EXTENTS || op == PROTO_OP_SET_CACHING ||
	       op == PROTO_OP_SET_RETENTION || op == PROTO_OP_SET_PRINCIPALS;
}

/* Every action kind as a checkpoint line: kept when allowed, refused when not. */
static void test_record_round_trip(void **state)
{
	char err[PROTO_ERRLEN], want[PROTO_ERRLEN];

	(void)state;
	for (int i = 0; i < A_COUNT; i++) {
		struct proto_action a = {0}, back = {0};
		make_action(&a, i);
		char *s = proto_record_encode(&a);
		assert_non_null(s);
		assert_null(strchr(s, '\n'));
		int r = proto_record_decode(s, strlen(s), &back, err);
		if (allowed_in_checkpoint(a.op)) {
			if (r != 0)
				fail_msg("action %d: %s", i, err);
			eq_action(&a, &back);
			char *s2 = proto_record_encode(&back);
			assert_string_equal(s, s2);
			free(s2);
		} else {
			assert_int_equal(r, -EINVAL);
			(void)snprintf(want, sizeof(want), "op: '%s' not allowed in a checkpoint",
			               proto_op_name(a.op, a.entity.kind));
			assert_string_equal(err, want);
		}
		proto_action_clear(&a);
		proto_action_clear(&back);
		free(s);
	}
}

/* Members in any order, whitespace anywhere: the same object. */
static void test_member_order(void **state)
{
	char *s = encode_valid(COMMIT), err[PROTO_ERRLEN];
	json_t *v = json_loads(s, 0, NULL), *rev = json_object();
	const char *keys[16], *key;
	json_t *val;
	size_t n = 0;
	struct proto_commit *a = NULL, *b = NULL;

	(void)state;
	json_object_foreach(v, key, val) keys[n++] = key;
	while (n-- > 0)
		assert_int_equal(json_object_set(rev, keys[n], json_object_get(v, keys[n])), 0);
	char *t = json_dumps(rev, JSON_INDENT(3));
	assert_int_equal(proto_commit_decode(s, strlen(s), &a, err), 0);
	if (proto_commit_decode(t, strlen(t), &b, err) != 0)
		fail_msg("%s", err);
	assert_true(strncmp(t, "{\n   \"actions\"", 14) == 0);
	eq_commit(a, b);
	proto_commit_free(a);
	proto_commit_free(b);
	json_decref(v);
	json_decref(rev);
	free(s);
	free(t);
}

/* Optional members may be absent; the decoder fills in their defaults. */
static void test_defaults(void **state)
{
	static const char line[] =
	    "{\"op\":\"create_table\",\"name\":\"T\",\"columns\":[{\"name\":\"a\","
	    "\"type\":\"long\"}]}";
	static const char caching[] = "{\"op\":\"set_caching_policy\",\"policy\":{\"hot_span\":"
	                              "\"1.00:00:00\"}}";
	static const char retention[] = "{\"op\":\"set_retention_policy\",\"table\":\"T\","
	                                "\"policy\":{\"soft_delete\":\"00:00:00\"}}";
	static const char principals[] = "{\"op\":\"set_principals\",\"role\":\"viewers\","
	                                 "\"principals\":[{\"fqn\":\"aaduser=a@b\"}]}";
	struct proto_action a = {0};
	char err[PROTO_ERRLEN];

	(void)state;
	assert_int_equal(proto_record_decode(line, sizeof(line) - 1, &a, err), 0);
	assert_string_equal(a.entity.folder, "");
	assert_string_equal(a.entity.docstring, "");
	assert_null(a.entity.location);
	assert_null(a.entity.source);
	proto_action_clear(&a);
	assert_int_equal(proto_record_decode(caching, sizeof(caching) - 1, &a, err), 0);
	assert_null(a.table);
	assert_true(a.has_policy);
	assert_int_equal(a.caching.nwindows, 0);
	assert_int_equal(a.caching.hot_span, 86400 * SEC);
	proto_action_clear(&a);
	assert_int_equal(proto_record_decode(retention, sizeof(retention) - 1, &a, err), 0);
	assert_string_equal(a.table, "T");
	assert_true(a.retention.recoverability);
	proto_action_clear(&a);
	assert_int_equal(proto_record_decode(principals, sizeof(principals) - 1, &a, err), 0);
	assert_int_equal(a.role, PROTO_ROLE_VIEWERS);
	assert_string_equal(a.principals[0].name, "");
	proto_action_clear(&a);
	/* A trailing newline (as read from NDJSON) is whitespace. */
	char *s = encode_valid(RECORD), *nl;
	assert_non_null(nl = malloc(strlen(s) + 2));
	(void)sprintf(nl, "%s\n", s);
	assert_int_equal(proto_record_decode(nl, strlen(nl), &a, err), 0);
	proto_action_clear(&a);
	free(nl);
	free(s);
}

/* ---- refusals by mutation ---- */

/* Replaces (or with value NULL removes) the member at a dotted path such as
 * "actions.6.extents.0.id" in root; value is stolen. */
static void mutate(json_t *root, const char *path, json_t *value)
{
	char buf[256], *save = NULL, *seg, *next;
	json_t *cur = root;

	assert_true(strlen(path) < sizeof(buf));
	strcpy(buf, path);
	for (seg = strtok_r(buf, ".", &save); seg != NULL; seg = next) {
		next = strtok_r(NULL, ".", &save);
		if (json_is_array(cur)) {
			size_t i = strtoul(seg, NULL, 10);
			if (next == NULL) {
				if ((value ? json_array_set_new(cur, i, value)
				           : json_array_remove(cur, i)) != 0)
					fail_msg("cannot set %s", path);
				return;
			}
			cur = json_array_get(cur, i);
		} else {
			if (next == NULL) {
				assert_int_equal(value ? json_object_set_new(cur, seg, value)
				                       : json_object_del(cur, seg),
				                 0);
				return;
			}
			cur = json_object_get(cur, seg);
		}
		assert_non_null(cur);
	}
}

/* Decodes the valid object of kind w with path set to value; the errno. */
static int decode_mutated(enum which w, const char *path, json_t *value, char *err)
{
	char *s = encode_valid(w), *t;
	json_t *root = json_loads(s, 0, NULL);
	int r;

	assert_non_null(root);
	mutate(root, path, value);
	t = json_dumps(root, JSON_COMPACT);
	assert_non_null(t);
	r = decode(w, t, strlen(t), err);
	json_decref(root);
	free(s);
	free(t);
	return r;
}

#define DEL NULL
#define ADD "actions.6"
#define ADDm "actions[6]"
#define ART ADD ".extents.0.artifacts.0"
#define ARTm ADDm ".extents[0].artifacts[0]"
#define EXT ADD ".extents.0"
#define EXTm ADDm ".extents[0]"
#define S16 "aaaaaaaaaaaaaaaa"
#define S64 S16 S16 S16 S16
#define STR256 S64 S64 S64 S64
#define SEG255 S64 S64 S64 S16 S16 S16 "aaaaaaaaaaaaaaa"
#define PATH1024 SEG255 "/" SEG255 "/" SEG255 "/" SEG255 "a"

static const struct refusal {
	enum which w;
	const char *path;
	const char *value; /* JSON text; NULL removes the member */
	int err;
	const char *msg; /* the error text starts with this */
} refusals[] = {
    /* artifact paths */
    {COMMIT, ART ".path", "\"../x\"", -EINVAL, ARTm ".path: '..' segment not allowed"},
    {COMMIT, ART ".path", "\"/abs\"", -EINVAL, ARTm ".path: absolute path not allowed"},
    {COMMIT, ART ".path", "\"a//b\"", -EINVAL, ARTm ".path: empty segment not allowed"},
    {COMMIT, ART ".path", "\"a/./b\"", -EINVAL, ARTm ".path: '.' segment not allowed"},
    {COMMIT, ART ".path", "\"a/../../b\"", -EINVAL, ARTm ".path: '..' segment not allowed"},
    {COMMIT, ART ".path", "\"a/..\"", -EINVAL, ARTm ".path: '..' segment not allowed"},
    {COMMIT, ART ".path", "\".\"", -EINVAL, ARTm ".path: '.' segment not allowed"},
    {COMMIT, ART ".path", "\"a/\"", -EINVAL, ARTm ".path: empty segment not allowed"},
    {COMMIT, ART ".path", "\"a\\\\b\"", -EINVAL, ARTm ".path: character not allowed"},
    {COMMIT, ART ".path", "\"..\\\\x\"", -EINVAL, ARTm ".path: character not allowed"},
    {COMMIT, ART ".path", "\"%2e%2e/x\"", -EINVAL, ARTm ".path: character not allowed"},
    {COMMIT, ART ".path", "\"a b\"", -EINVAL, ARTm ".path: character not allowed"},
    {COMMIT, ART ".path", "\"a/\\u00e9\"", -EINVAL, ARTm ".path: character not allowed"},
    {COMMIT, ART ".path", "\"\"", -EINVAL, ARTm ".path: must not be empty"},
    {COMMIT, ART ".path", "\"" PATH1024 "\"", 0, ""},
    {COMMIT, ART ".path", "\"" PATH1024 "b\"", -E2BIG, ARTm ".path: longer than 1024 bytes"},
    {COMMIT, ART ".path", "7", -EINVAL, ARTm ".path: expected string"},
    {COMMIT, ART ".path", DEL, -EINVAL, ARTm ".path: missing"},
    {MANIFEST, "parts.1.path", "\"db/../../etc/passwd\"", -EINVAL,
     "parts[1].path: '..' segment not allowed"},
    /* uuids, ids, hashes */
    {COMMIT, "uuid", "\"3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162\"", -EINVAL,
     "uuid: expected lowercase uuid"},
    {COMMIT, "uuid", "\"3f2b6c1e9a4d4e0b8c7a1d2e3f405162\"", -EINVAL, "uuid: expected"},
    {COMMIT, "uuid", "\"{3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162}\"", -EINVAL, "uuid: expected"},
    {COMMIT, "uuid", "\"3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f40516g\"", -EINVAL, "uuid: expected"},
    {HEAD, "databases.1.uuid", "\"3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f4051620\"", -EINVAL,
     "databases[1].uuid: expected lowercase uuid"},
    {COMMIT, EXT ".id", "\"x\"", -EINVAL, EXTm ".id: expected lowercase uuid"},
    {COMMIT, "actions.7.ids.1", "\"0B5F3C1A-7E2D-4F60-9A8B-000000000001\"", -EINVAL,
     "actions[7].ids[1]: expected lowercase uuid"},
    {COMMIT, "actions.7.ids.1", "1", -EINVAL, "actions[7].ids[1]: expected string"},
    {COMMIT, ART ".sha256", "\"" SHA1 "0\"", -EINVAL, ARTm ".sha256: expected 64 lowercase"},
    {COMMIT, ART ".sha256", "\"9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\"",
     -EINVAL, ARTm ".sha256: expected 64 lowercase"},
    {MANIFEST, "parts.0.sha256", "\"9f86\"", -EINVAL, "parts[0].sha256: expected 64"},
    /* names */
    {COMMIT, "database", "\" Logs\"", -EINVAL, "database: invalid name"},
    {COMMIT, "database", "\"Logs \"", -EINVAL, "database: invalid name"},
    {COMMIT, "database", "\"Lo/gs\"", -EINVAL, "database: invalid name"},
    {COMMIT, "database", "\"L\\u00f6gs\"", -EINVAL, "database: invalid name"},
    {COMMIT, "database", "\"\"", -EINVAL, "database: must not be empty"},
    {COMMIT, "database", "\"" STR256 "a\"", -E2BIG, "database: longer than 256 bytes"},
    {COMMIT, "actions.0.name", "\"a;b\"", -EINVAL, "actions[0].name: invalid name"},
    {COMMIT, "actions.0.columns.2.name", "\"a\\tb\"", -EINVAL,
     "actions[0].columns[2].name: invalid name"},
    {COMMIT, "actions.4.source", "\"a|b\"", -EINVAL, "actions[4].source: invalid name"},
    {COMMIT, EXT ".table", "\"\"", -EINVAL, EXTm ".table: must not be empty"},
    {HEAD, "databases.0.detached_followers.1", "\"a/b\"", -EINVAL,
     "databases[0].detached_followers[1]: invalid name"},
    {COMMIT, ART ".name", "\"..\"", -EINVAL, ARTm ".name: not a plain file name"},
    {COMMIT, ART ".name", "\"a/b\"", -EINVAL, ARTm ".name: not a plain file name"},
    {COMMIT, ART ".name", "\"a\\nb\"", -EINVAL, ARTm ".name: control character"},
    /* integers */
    {COMMIT, "version", "0", -EINVAL, "version: out of range (1..9007199254740992)"},
    {COMMIT, "version", "-1", -EINVAL, "version: out of range"},
    {COMMIT, "version", "9007199254740993", -EINVAL, "version: out of range"},
    {COMMIT, "version", "9007199254740992", 0, ""},
    {COMMIT, "version", "1.0", -EINVAL, "version: expected integer"},
    {COMMIT, "version", "\"42\"", -EINVAL, "version: expected integer"},
    {COMMIT, "version", "null", -EINVAL, "version: expected integer"},
    {HEAD, "databases.1.version", "\"1\"", -EINVAL, "databases[1].version: expected integer"},
    {COMMIT, EXT ".rows", "-5", -EINVAL, EXTm ".rows: out of range"},
    {COMMIT, EXT ".rows", "1e3", -EINVAL, EXTm ".rows: expected integer"},
    {COMMIT, ART ".size", "true", -EINVAL, ARTm ".size: expected integer"},
    {MANIFEST, "counts.bytes", "9007199254740993", -EINVAL, "counts.bytes: out of range"},
    {HEAD, "checkpoint_interval", "4294967296", -EINVAL, "checkpoint_interval: out of range"},
    /* datetimes and timespans */
    {COMMIT, "committed", "\"2026-11-23\"", -EINVAL, "committed: expected datetime"},
    {COMMIT, "committed", "\"2026-13-01T00:00:00Z\"", -EINVAL, "committed: expected datetime"},
    {COMMIT, "committed", "0", -EINVAL, "committed: expected string"},
    {COMMIT, EXT ".min_created", "\"2027-01-01T00:00:00Z\"", -EINVAL,
     EXTm ".min_created: later than max_created"},
    {COMMIT, "actions.9.policy.hot_windows.0.min", "\"2030-01-01T00:00:00Z\"", -EINVAL,
     "actions[9].policy.hot_windows[0].min: later than max"},
    {COMMIT, "actions.9.policy.hot_span", "\"-1.00:00:00\"", -EINVAL,
     "actions[9].policy.hot_span: must not be negative"},
    {COMMIT, "actions.9.policy.hot_span", "\"7d\"", -EINVAL,
     "actions[9].policy.hot_span: expected timespan"},
    {COMMIT, "actions.11.policy.soft_delete", "\"00:00:60\"", -EINVAL,
     "actions[11].policy.soft_delete: expected timespan"},
    {COMMIT, "actions.11.policy.recoverability", "\"yes\"", -EINVAL,
     "actions[11].policy.recoverability: expected boolean"},
    /* unknown members and ops, wrong types */
    {COMMIT, "extra", "1", -EINVAL, "unknown member 'extra'"},
    {COMMIT, EXT ".zz", "1", -EINVAL, EXTm ": unknown member 'zz'"},
    {COMMIT, ART ".zz", "null", -EINVAL, ARTm ": unknown member 'zz'"},
    {COMMIT, "actions.0.location", "\"x\"", -EINVAL, "actions[0]: unknown member 'location'"},
    {COMMIT, "actions.2.source", "\"x\"", -EINVAL, "actions[2]: unknown member 'source'"},
    {COMMIT, "actions.17.columns", "[]", -EINVAL, "actions[17]: unknown member 'columns'"},
    {COMMIT, "actions.7.extents", "[]", -EINVAL, "actions[7]: unknown member 'extents'"},
    {COMMIT, "actions.13.table", "\"T\"", -EINVAL, "actions[13]: unknown member 'table'"},
    {COMMIT, "counts", "{}", -EINVAL, "unknown member 'counts'"},
    {MANIFEST, "counts.zz", "0", -EINVAL, "counts: unknown member 'zz'"},
    {HEAD, "databases.0.zz", "0", -EINVAL, "databases[0]: unknown member 'zz'"},
    {COMMIT, "actions.0.op", "\"create_index\"", -EINVAL, "actions[0].op: unknown op"},
    {COMMIT, "actions.0.op", "\"Create_Table\"", -EINVAL, "actions[0].op: unknown op"},
    {COMMIT, "actions.0.op", "3", -EINVAL, "actions[0].op: expected string"},
    {COMMIT, "actions.0.op", DEL, -EINVAL, "actions[0].op: missing"},
    {COMMIT, "actions.0.columns.1.type", "\"varchar\"", -EINVAL,
     "actions[0].columns[1].type: unknown column type 'varchar'"},
    {COMMIT, "actions.13.role", "\"owners\"", -EINVAL, "actions[13].role: unknown role"},
    {COMMIT, "actions.0", "[]", -EINVAL, "actions[0]: expected object"},
    {COMMIT, "actions", "{}", -EINVAL, "actions: expected array"},
    {COMMIT, "actions.0.columns", "{}", -EINVAL, "actions[0].columns: expected array"},
    {COMMIT, EXT ".tags", "\"a\"", -EINVAL, EXTm ".tags: expected array"},
    {COMMIT, ADD ".extents.2.tags.1", "\"\"", -EINVAL,
     ADDm ".extents[2].tags[1]: must not be empty"},
    {COMMIT, ADD ".extents.2.tags.1",
     "\"" STR256 STR256 STR256 STR256 STR256 STR256 STR256 STR256 STR256 STR256 STR256 STR256 STR256
         STR256 STR256 STR256 "x\"",
     -E2BIG, ADDm ".extents[2].tags[1]: longer than 4096 bytes"},
    {COMMIT, EXT ".artifacts.0", "\"x\"", -EINVAL, ARTm ": expected object"},
    {MANIFEST, "counts", "[]", -EINVAL, "counts: expected object"},
    {COMMIT, "actions.9.policy", "[]", -EINVAL, "actions[9].policy: expected object"},
    {COMMIT, "actions.13.principals.0.fqn", "\"\"", -EINVAL,
     "actions[13].principals[0].fqn: must not be empty"},
    /* required members */
    {COMMIT, "actions", DEL, -EINVAL, "actions: missing"},
    {COMMIT, "actions.0.columns", "[]", -EINVAL, "actions[0].columns: must not be empty"},
    {COMMIT, "actions.0.columns", DEL, -EINVAL, "actions[0].columns: missing"},
    {COMMIT, "actions.2.location", DEL, -EINVAL, "actions[2].location: missing"},
    {COMMIT, "actions.2.location", "\"\"", -EINVAL, "actions[2].location: must not be empty"},
    {COMMIT, "actions.4.source", DEL, -EINVAL, "actions[4].source: missing"},
    {COMMIT, "actions.5.query", DEL, -EINVAL, "actions[5].query: missing"},
    {COMMIT, "actions.9.policy", DEL, -EINVAL, "actions[9].policy: missing"},
    {COMMIT, "actions.9.policy.hot_span", DEL, -EINVAL, "actions[9].policy.hot_span: missing"},
    {COMMIT, "actions.7.ids", "[]", -EINVAL, "actions[7].ids: must not be empty"},
    {COMMIT, "actions.8.ids", "[]", -EINVAL, "actions[8].ids: must not be empty"},
    {COMMIT, "actions.8.extents", "[]", -EINVAL, "actions[8].extents: must not be empty"},
    {COMMIT, ADD ".extents", DEL, -EINVAL, ADDm ".extents: missing"},
    {COMMIT, EXT ".artifacts", DEL, -EINVAL, EXTm ".artifacts: missing"},
    {COMMIT, EXT ".tags", DEL, 0, ""},
    {MANIFEST, "counts", DEL, -EINVAL, "counts: missing"},
    {MANIFEST, "counts.rows", DEL, -EINVAL, "counts.rows: missing"},
    {HEAD, "databases.0.log_start", DEL, -EINVAL, "databases[0].log_start: missing"},
    {HEAD, "databases.0.detached_followers", DEL, 0, ""},
    /* text bounds */
    {COMMIT, "actions.0.docstring", NULL /* set below to 4097 bytes */, -E2BIG,
     "actions[0].docstring: longer than 4096 bytes"},
    /* relations */
    {HEAD, "databases.0.log_start", "42", -EINVAL, "databases[0].log_start: out of range (1..41)"},
    {HEAD, "databases.0.log_start", "41", 0, ""},
    {HEAD, "databases.1.log_start", "2", -EINVAL, "databases[1].log_start: out of range (1..1)"},
    {HEAD, "databases.0.log_start", "0", -EINVAL, "databases[0].log_start: out of range"},
    {HEAD, "databases.0.checkpoint", "43", -EINVAL, "databases[0].checkpoint: out of range"},
    {HEAD, "databases.0.version", "0", -EINVAL, "databases[0].version: out of range"},
    {HEAD, "databases.1.name", "\"Logs\"", -EINVAL,
     "databases[1].name: duplicate database name (also databases[0])"},
    {HEAD, "databases.1.uuid", "\"" UUID1 "\"", -EINVAL,
     "databases[1].uuid: duplicate database uuid (also databases[0])"},
    {MANIFEST, "parts.0.size", "16777217", -E2BIG, "parts[0].size: larger than"},
    {MANIFEST, "version", "0", -EINVAL, "version: out of range"},
    {COMMIT, "actions.1.columns.7.name", "\"col_3\"", -EINVAL,
     "actions[1].columns[7].name: duplicate column name (also columns[3])"},
    {COMMIT, EXT ".id", "\"0b5f3c1a-7e2d-4f60-9a8b-000000000003\"", -EINVAL,
     ADDm ".extents[3].id: duplicate extent id (also extents[0].id)"},
    {COMMIT, "actions.7.ids.1", "\"0b5f3c1a-7e2d-4f60-9a8b-000000000000\"", -EINVAL,
     "actions[7].ids[1]: duplicate extent id (also ids[0])"},
    {COMMIT, "actions.8.extents.1.id", "\"0b5f3c1a-7e2d-4f60-9a8b-000000000002\"", -EINVAL,
     "actions[8].extents[1].id: duplicate extent id (also ids[1])"},
    /* format */
    {COMMIT, "format", "\"followerd-leader/2\"", -EPROTONOSUPPORT,
     "format: unsupported format 'followerd-leader/2' (supported: 'followerd-leader/1')"},
    {HEAD, "format", "\"\"", -EPROTONOSUPPORT, "format: unsupported format ''"},
    {MANIFEST, "format", DEL, -EINVAL, "format: missing"},
    {MANIFEST, "format", "1", -EINVAL, "format: expected string"},
    /* typed artifacts and column statistics */
    {COMMIT, ART ".format", "\"csv\"", 0, ""},
    {COMMIT, ART ".format", "\"parquet\"", 0, ""},
    {COMMIT, ART ".format", "\"c sv\"", -EINVAL, ARTm ".format: not a name"},
    {COMMIT, ART ".format", "\"\"", -EINVAL, ARTm ".format: must not be empty"},
    {COMMIT, ART ".format", "\"none\"", 0, ""}, /* kept as an unknown name */
    {COMMIT, ART ".compression", "\"gzip\"", -EINVAL, ARTm ".compression: only with a format"},
    {COMMIT, ART ".ignore_first_record", "true", -EINVAL,
     ARTm ".ignore_first_record: only with a format"},
    {COMMIT, ART ".ignore_first_record", "1", -EINVAL,
     ARTm ".ignore_first_record: expected boolean"},
    {COMMIT, EXT ".columns",
     "[{\"name\":\"A\",\"type\":\"long\",\"nulls\":0,\"min\":\"1\",\"max\":\"2\"}]", 0, ""},
    {COMMIT, EXT ".columns", "[{\"name\":\"A\",\"type\":\"long\",\"nulls\":0,\"min\":\"1\"}]",
     -EINVAL, EXTm ".columns[0].max: missing (min and max go together)"},
    {COMMIT, EXT ".columns", "[{\"name\":\"A\",\"type\":\"long\",\"nulls\":99999999999}]", -EINVAL,
     EXTm ".columns[0].nulls: more than the extent's rows"},
    {COMMIT, EXT ".columns",
     "[{\"name\":\"A\",\"type\":\"long\",\"nulls\":0},{\"name\":\"A\",\"type\":\"long\",\"nulls\":"
     "0}]",
     -EINVAL, EXTm ".columns[1].name: duplicate column name (also columns[0])"},
    {COMMIT, EXT ".columns", "[{\"name\":\"A\",\"type\":\"long\",\"nulls\":0,\"zz\":1}]", -EINVAL,
     EXTm ".columns[0]: unknown member 'zz'"},
    {COMMIT, EXT ".columns",
     "[{\"name\":\"A\",\"type\":\"long\",\"nulls\":0,\"min\":\"\\n\",\"max\":\"1\"}]", -EINVAL,
     EXTm ".columns[0].min: not printable ASCII"},
    {COMMIT, EXT ".columns",
     "[{\"name\":\"A\",\"type\":\"long\",\"nulls\":0,\"min\":\"" S64 "x\",\"max\":\"1\"}]", -E2BIG,
     EXTm ".columns[0].min: longer than 64 bytes"},
    {COMMIT, EXT ".columns", "[{\"nulls\":0}]", -EINVAL, EXTm ".columns[0].name: missing"},
    {COMMIT, EXT ".columns", "[{\"name\":\"A\",\"nulls\":0}]", -EINVAL,
     EXTm ".columns[0].type: missing"},
    {COMMIT, EXT ".columns", "[{\"name\":\"A\",\"type\":\"text\",\"nulls\":0}]", -EINVAL,
     EXTm ".columns[0].type: unknown column type 'text'"},
    /* record lines */
    {RECORD, "op", "\"drop_extents\"", -EINVAL, "op: 'drop_extents' not allowed in a checkpoint"},
    {RECORD, "op", "\"replace_extents\"", -EINVAL, "op: 'replace_extents' not allowed"},
    {RECORD, "extents.1.artifacts.0.path", "\"../../x\"", -EINVAL,
     "extents[1].artifacts[0].path: '..' segment not allowed"},
    {RECORD, "format", "\"followerd-leader/1\"", -EINVAL, "unknown member 'format'"},
};

static void test_refusals(void **state)
{
	char err[PROTO_ERRLEN], big[PROTO_MAX_TEXT + 4];

	(void)state;
	memset(big, 'x', sizeof(big));
	big[0] = '"';
	big[PROTO_MAX_TEXT + 2] = '"';
	big[PROTO_MAX_TEXT + 3] = '\0';
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const struct refusal *t = &refusals[i];
		const char *text = t->value;
		if (text == NULL && t->err == -E2BIG)
			text = big;
		json_t *v = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		if (text != NULL && v == NULL)
			fail_msg("bad test value %s", text);
		int r = decode_mutated(t->w, t->path, v, err);
		if (r != t->err || strncmp(err, t->msg, strlen(t->msg)) != 0)
			fail_msg("%s = %.40s: got %d '%s', want %d '%s'", t->path,
			         text ? text : "(removed)", r, err, t->err, t->msg);
	}
}

/* Texts that are not a valid object at all. */
static void test_bad_json(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} bad[] = {
	    {"", "invalid JSON at line 1"},
	    {"{", "invalid JSON"},
	    {"{\"format\":", "invalid JSON"},
	    {"[]", "expected a JSON object"},
	    {"null", "invalid JSON"},
	    {"\"followerd-leader/1\"", "invalid JSON"},
	    {"{} {}", "invalid JSON"},
	    {"{}x", "invalid JSON"},
	    {"{\"format\":\"followerd-leader/1\",\"format\":\"followerd-leader/1\"}",
	     "invalid JSON at line 1 column"},
	    {"{\"format\":\"followerd-leader/1\\u0000\"}", "invalid JSON"},
	    {"{\"format\":\"\xff\"}", "invalid JSON"},
	    {"{'format':1}", "invalid JSON"},
	    {"{\"format\":\"followerd-leader/1\",}", "invalid JSON"},
	    {"{}", "format: missing"},
	};
	char err[PROTO_ERRLEN];

	(void)state;
	for (int w = HEAD; w <= MANIFEST; w++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			int r = decode(w, bad[i].text, strlen(bad[i].text), err);
			if (r != -EINVAL || strstr(err, bad[i].msg) == NULL)
				fail_msg("'%s': %d '%s'", bad[i].text, r, err);
		}
	/* Duplicate keys deep inside, and the reader's message never holds raw bytes. */
	static const char dup[] =
	    "{\"op\":\"add_extents\",\"extents\":[{\"id\":\"a\",\"id\":\"b\"}]}";
	assert_int_equal(decode(RECORD, dup, sizeof(dup) - 1, err), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));
	assert_int_equal(decode(RECORD, "{\"op\":\"\x01\x02\"}", 11, err), -EINVAL);
	for (const char *p = err; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	/* len bounds the input: a valid object followed by bytes not given is fine. */
	char *s = encode_valid(COMMIT);
	size_t n = strlen(s);
	char *t = malloc(n + 8);
	assert_non_null(t);
	memcpy(t, s, n);
	memcpy(t + n, "garbage", 8);
	assert_int_equal(decode(COMMIT, t, n, err), 0);
	assert_int_equal(decode(COMMIT, t, n + 7, err), -EINVAL);
	free(s);
	free(t);
}

/* Every proper prefix of a valid object is refused. */
static void test_truncated(void **state)
{
	char err[PROTO_ERRLEN];

	(void)state;
	for (int w = HEAD; w <= RECORD; w++) {
		char *s = encode_valid(w);
		size_t n = strlen(s);
		assert_int_equal(decode(w, s, n, err), 0);
		for (size_t len = 0; len < n; len += 1 + len / 512)
			if (decode(w, s, len, err) != -EINVAL)
				fail_msg("object %d truncated to %zu bytes accepted", w, len);
		free(s);
	}
}

/* Objects past their byte bound are refused before parsing. */
static void test_oversize(void **state)
{
	static const struct {
		enum which w;
		size_t max;
		const char *what;
	} bounds[] = {
	    {HEAD, PROTO_MAX_HEAD_BYTES, "head"},
	    {COMMIT, PROTO_MAX_COMMIT_BYTES, "commit"},
	    {MANIFEST, PROTO_MAX_MANIFEST_BYTES, "manifest"},
	    {RECORD, PROTO_MAX_LINE_BYTES, "checkpoint line"},
	};
	char err[PROTO_ERRLEN], want[PROTO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
		/* Zero bytes: jansson would call them invalid, so E2BIG proves no parse. */
		char *buf = calloc(1, bounds[i].max + 1);
		assert_non_null(buf);
		assert_int_equal(decode(bounds[i].w, buf, bounds[i].max + 1, err), -E2BIG);
		(void)snprintf(want, sizeof(want), "%s of %zu bytes is larger than the %zu allowed",
		               bounds[i].what, bounds[i].max + 1, bounds[i].max);
		assert_string_equal(err, want);
		free(buf);
	}
}

/* A JSON array of n copies of an element. */
static json_t *array_of(size_t n, const char *elem)
{
	json_t *arr = json_array(), *v = json_loads(elem, JSON_DECODE_ANY, NULL);

	assert_non_null(arr);
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_array_append(arr, v), 0);
	json_decref(v);
	return arr;
}

/* Every count bound: one past it is refused (before its elements are read). */
static void test_count_bounds(void **state)
{
	static const struct {
		enum which w;
		const char *path;
		size_t max;
		const char *elem;
		const char *msg;
	} counts[] = {
	    {HEAD, "databases", PROTO_MAX_DATABASES, "0", "databases: 10001 elements"},
	    {HEAD, "databases.0.detached_followers", PROTO_MAX_DETACHED, "\"f\"",
	     "databases[0].detached_followers: 1001 elements"},
	    {COMMIT, "actions", PROTO_MAX_ACTIONS, "0", "actions: 100001 elements"},
	    {COMMIT, ADD ".extents", PROTO_MAX_EXTENTS, "0", ADDm ".extents: 100001 elements"},
	    {COMMIT, "actions.7.ids", PROTO_MAX_EXTENTS, "0", "actions[7].ids: 100001 elements"},
	    {COMMIT, EXT ".artifacts", PROTO_MAX_ARTIFACTS, "0", EXTm ".artifacts: 65 elements"},
	    {COMMIT, EXT ".tags", PROTO_MAX_TAGS, "\"t\"", EXTm ".tags: 65 elements"},
	    {COMMIT, "actions.0.columns", PROTO_MAX_COLUMNS, "0",
	     "actions[0].columns: 10001 elements"},
	    {COMMIT, "actions.9.policy.hot_windows", PROTO_MAX_WINDOWS, "0",
	     "actions[9].policy.hot_windows: 65 elements"},
	    {COMMIT, "actions.13.principals", PROTO_MAX_PRINCIPALS, "0",
	     "actions[13].principals: 10001 elements"},
	    {MANIFEST, "parts", PROTO_MAX_PARTS, "0", "parts: 10001 elements"},
	    {RECORD, "extents", PROTO_MAX_LINE_EXTENTS, "0", "extents: 1001 elements"},
	};
	char err[PROTO_ERRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		int r = decode_mutated(counts[i].w, counts[i].path,
		                       array_of(counts[i].max + 1, counts[i].elem), err);
		if (r != -E2BIG || strncmp(err, counts[i].msg, strlen(counts[i].msg)) != 0)
			fail_msg("%s: %d '%s'", counts[i].path, r, err);
	}
}

/* The largest counts that are allowed decode (those cheap to build). */
static void test_count_limits(void **state)
{
	struct proto_action a = {0}, back = {0};
	char err[PROTO_ERRLEN], *s;

	(void)state;
	a.op = PROTO_OP_ADD_EXTENTS;
	make_extents(&a, PROTO_MAX_LINE_EXTENTS, 0);
	s = proto_record_encode(&a);
	assert_non_null(s);
	if (proto_record_decode(s, strlen(s), &back, err) != 0)
		fail_msg("%s", err);
	eq_action(&a, &back);
	free(s);
	proto_action_clear(&back);
	/* The same extents as a commit action; 1,001 of them fit there. */
	struct proto_extent *more = realloc(a.extents, (a.nextents + 1) * sizeof(*more));
	assert_non_null(more);
	a.extents = more;
	make_extent(&a.extents[a.nextents++], 5000);
	struct proto_commit c = {
	    .database = "Logs", .uuid = UUID1, .version = 1, .actions = &a, .nactions = 1};
	struct proto_commit *cb = NULL;
	s = proto_commit_encode(&c);
	assert_int_equal(proto_commit_decode(s, strlen(s), &cb, err), 0);
	eq_commit(&c, cb);
	proto_commit_free(cb);
	free(s);
	/* ...but not as a checkpoint line. */
	s = proto_record_encode(&a);
	assert_int_equal(proto_record_decode(s, strlen(s), &back, err), -E2BIG);
	free(s);
	proto_action_clear(&a);
}

/* proto_action_from_json prefixes its errors with where. */
static void test_action_from_json(void **state)
{
	struct proto_action a = {0}, b = {0};
	char err[PROTO_ERRLEN];
	json_t *v;

	(void)state;
	make_action(&a, A_REPLACE);
	v = proto_action_to_json(&a);
	assert_non_null(v);
	assert_int_equal(proto_action_from_json(v, "actions[3]", &b, err), 0);
	eq_action(&a, &b);
	proto_action_clear(&b);
	mutate(v, "extents.1.artifacts.0.path", json_string("x/../y"));
	assert_int_equal(proto_action_from_json(v, "actions[3]", &b, err), -EINVAL);
	assert_string_equal(err,
	                    "actions[3].extents[1].artifacts[0].path: '..' segment not allowed");
	assert_null(b.extents);
	assert_int_equal(proto_action_from_json(v, NULL, &b, err), -EINVAL);
	assert_string_equal(err, "extents[1].artifacts[0].path: '..' segment not allowed");
	/* Without an error buffer too. */
	assert_int_equal(proto_action_from_json(v, NULL, &b, NULL), -EINVAL);
	json_decref(v);
	v = proto_extent_to_json(&a.extents[0]);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "id")), a.extents[0].id);
	json_decref(v);
	proto_action_clear(&a);
}

/* ---- single values, names, paths, copies ---- */

static void test_validators(void **state)
{
	static const char *good_names[] = {"a", "Logs", "Raw Logs-2.v1", "_x", "A.b-c_d e", STR256};
	static const char *bad_names[] = {"",     " a", "a ",       "a/b",  "a\\b", "a:b",
	                                  "a\tb", "é",  STR256 "a", "a\nb", "a'b",  "a\"b"};
	static const char *good_paths[] = {
	    "a",     "a/b",      "artifacts/9f/" SHA1,
	    "...",   "a/.b/..c", "db/x/checkpoint/00000000000000000040/part-00000.ndjson",
	    PATH1024};
	static const char *bad_paths[] = {
	    "",     "/",     "/a",   "a/",     "a//b", ".",    "..",  "./a", "a/.",       "a/../b",
	    "../x", "a/./b", "a\\b", "%2e%2e", "a b",  "a\nb", "a:b", "~/x", PATH1024 "b"};

	(void)state;
	for (size_t i = 0; i < sizeof(good_names) / sizeof(good_names[0]); i++)
		assert_true(proto_valid_name(good_names[i]));
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		if (proto_valid_name(bad_names[i]))
			fail_msg("name '%s' accepted", bad_names[i]);
	for (size_t i = 0; i < sizeof(good_paths) / sizeof(good_paths[0]); i++)
		if (!proto_valid_path(good_paths[i]))
			fail_msg("path '%.60s' refused", good_paths[i]);
	for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
		if (proto_valid_path(bad_paths[i]))
			fail_msg("path '%.60s' accepted", bad_paths[i]);
	assert_int_equal(strlen(PATH1024), PROTO_MAX_PATH);
	assert_true(proto_valid_uuid(UUID1));
	assert_false(proto_valid_uuid("3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f40516"));
	assert_false(proto_valid_uuid(UUID1 "0"));
	assert_false(proto_valid_uuid("3f2b6c1e-9a4d-4e0b-8c7a-1D2e3f405162"));
	assert_false(proto_valid_uuid("3f2b6c1e-9a4d-4e0b-8c7a11d2e3f405162"));
	assert_false(proto_valid_uuid(""));
	assert_true(proto_valid_sha256(SHA1));
	assert_false(proto_valid_sha256(SHA1 "0"));
	assert_false(proto_valid_sha256("9f86"));
	assert_false(
	    proto_valid_sha256("9F86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
	assert_false(proto_valid_sha256(
	    "g f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
	assert_false(proto_valid_name(NULL));
	assert_false(proto_valid_path(NULL));
	assert_false(proto_valid_uuid(NULL));
	assert_false(proto_valid_sha256(NULL));
}

static void test_names(void **state)
{
	static const char *ops[] = {
	    "create_table", "create_external_table", "create_materialized_view",
	    "alter_table",  "alter_external_table",  "alter_materialized_view",
	    "drop_table",   "drop_external_table",   "drop_materialized_view"};
	enum proto_coltype t;
	enum proto_role role;

	(void)state;
	for (int op = PROTO_OP_CREATE; op <= PROTO_OP_DROP; op++)
		for (int k = PROTO_TABLE; k <= PROTO_MATERIALIZED_VIEW; k++)
			assert_string_equal(proto_op_name(op, k), ops[op * 3 + k]);
	assert_string_equal(proto_op_name(PROTO_OP_ADD_EXTENTS, PROTO_TABLE), "add_extents");
	assert_string_equal(proto_op_name(PROTO_OP_REPLACE_EXTENTS, 2), "replace_extents");
	assert_string_equal(proto_op_name(PROTO_OP_SET_CACHING, 0), "set_caching_policy");
	assert_string_equal(proto_op_name(PROTO_OP_SET_PRINCIPALS, 0), "set_principals");
	assert_null(proto_op_name((enum proto_op)99, 0));
	assert_null(proto_op_name(PROTO_OP_CREATE, (enum proto_kind)3));
	assert_string_equal(proto_kind_name(PROTO_MATERIALIZED_VIEW), "materialized_view");
	assert_null(proto_kind_name((enum proto_kind)3));
	for (int i = 0; i < 10; i++) {
		assert_non_null(proto_coltype_name(i));
		assert_int_equal(proto_coltype_parse(proto_coltype_name(i), &t), 0);
		assert_int_equal(t, i);
	}
	assert_string_equal(proto_coltype_name(PROTO_T_TIMESPAN), "timespan");
	assert_null(proto_coltype_name((enum proto_coltype)10));
	t = PROTO_T_INT;
	assert_int_equal(proto_coltype_parse("String", &t), -EINVAL);
	assert_int_equal(t, PROTO_T_INT);
	for (int i = 0; i < PROTO_NROLES; i++) {
		assert_int_equal(proto_role_parse(proto_role_name(i), &role), 0);
		assert_int_equal(role, i);
	}
	assert_string_equal(proto_role_name(PROTO_ROLE_MONITORS), "monitors");
	assert_int_equal(proto_role_parse("admin", &role), -EINVAL);
	assert_int_equal(proto_role_parse(NULL, &role), -EINVAL);
}

static void test_paths(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(proto_path_commit(buf, sizeof(buf), UUID1, 42), 69);
	assert_string_equal(buf, "db/" UUID1 "/log/00000000000000000042.json");
	(void)proto_path_checkpoint_dir(buf, sizeof(buf), UUID1, 40);
	assert_string_equal(buf, "db/" UUID1 "/checkpoint/00000000000000000040");
	(void)proto_path_manifest(buf, sizeof(buf), UUID1, 40);
	assert_string_equal(buf, "db/" UUID1 "/checkpoint/00000000000000000040/manifest.json");
	(void)proto_path_part(buf, sizeof(buf), UUID1, 9007199254740992u, 7);
	assert_string_equal(buf, "db/" UUID1 "/checkpoint/00009007199254740992/part-00007.ndjson");
	assert_true(proto_valid_path(buf));
	(void)proto_path_artifact(buf, sizeof(buf), SHA1);
	assert_string_equal(buf, "artifacts/9f/" SHA1);
	assert_true(proto_valid_path(buf));
	assert_int_equal(proto_path_commit(buf, 8, UUID1, 1), 69); /* snprintf's result */
	assert_string_equal(buf, "db/3f2b");
	assert_string_equal(PROTO_PATH_HEAD, "head.json");
}

static void test_copies(void **state)
{
	struct proto_commit *c = make_commit();
	struct proto_entity e;
	struct proto_extent x;
	struct proto_caching k;

	(void)state;
	for (int i = A_CREATE_T; i <= A_ALTER_V; i++) {
		assert_int_equal(proto_entity_copy(&e, &c->actions[i].entity), 0);
		eq_entity(&e, &c->actions[i].entity);
		assert_ptr_not_equal(e.name, c->actions[i].entity.name);
		proto_entity_clear(&e);
		assert_null(e.name);
	}
	for (size_t i = 0; i < c->actions[A_ADD].nextents; i++) {
		assert_int_equal(proto_extent_copy(&x, &c->actions[A_ADD].extents[i]), 0);
		eq_extent(&x, &c->actions[A_ADD].extents[i]);
		proto_extent_clear(&x);
	}
	assert_int_equal(proto_caching_copy(&k, &c->actions[A_CACHING_T].caching), 0);
	eq_caching(&k, &c->actions[A_CACHING_T].caching);
	assert_ptr_not_equal(k.windows, c->actions[A_CACHING_T].caching.windows);
	proto_caching_clear(&k);
	assert_int_equal(proto_caching_copy(&k, &c->actions[A_CACHING_DB_NULL].caching), 0);
	assert_null(k.windows);
	/* NULL and cleared structs are no-ops. */
	proto_entity_clear(NULL);
	proto_extent_clear(NULL);
	proto_caching_clear(NULL);
	proto_action_clear(NULL);
	proto_head_db_clear(NULL);
	proto_head_free(NULL);
	proto_commit_free(NULL);
	proto_manifest_free(NULL);
	proto_action_clear(&c->actions[0]);
	proto_action_clear(&c->actions[0]);
	proto_head_db_clear(&(struct proto_head_db){0});
	proto_commit_free(c);
}

/* ---- allocation failures ---- */

static long alloc_budget = -1; /* allocations left before failing; -1: never fail */

static void *budget_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n);
}

/* Fails jansson's first, second, ... allocation in turn while decoding and
 * encoding each object: every attempt fails cleanly (ASan checks the leaks)
 * until one has enough memory and gives the normal result.  jansson reports
 * some of its allocation failures as syntax errors, hence -EINVAL too. */
static void test_alloc_failures(void **state)
{
	char err[PROTO_ERRLEN];

	(void)state;
	json_set_alloc_funcs(budget_malloc, free);
	for (int w = HEAD; w <= RECORD; w++) {
		char *s = encode_valid(w), *again = NULL;
		long budget;
		int r = -1;
		for (budget = 0; r != 0; budget++) {
			alloc_budget = budget;
			r = decode(w, s, strlen(s), err);
			if (r != 0 && r != -ENOMEM && r != -EINVAL)
				fail_msg("object %d, budget %ld: %d %s", w, budget, r, err);
		}
		for (budget = 0; again == NULL; budget++) {
			alloc_budget = budget;
			again = encode_object(w);
		}
		alloc_budget = -1;
		assert_string_equal(s, again);
		free(again);
		free(s);
	}
	json_set_alloc_funcs(malloc, free);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commit_round_trip),
	    cmocka_unit_test(test_head_round_trip),
	    cmocka_unit_test(test_head_exact),
	    cmocka_unit_test(test_manifest_round_trip),
	    cmocka_unit_test(test_record_round_trip),
	    cmocka_unit_test(test_member_order),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_bad_json),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_oversize),
	    cmocka_unit_test(test_count_bounds),
	    cmocka_unit_test(test_count_limits),
	    cmocka_unit_test(test_action_from_json),
	    cmocka_unit_test(test_validators),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_copies),
	    cmocka_unit_test(test_alloc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

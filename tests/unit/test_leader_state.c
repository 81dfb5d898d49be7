/*
 * Unit tests of leader_state: every action applied and refused, the extent
 * hash table under many inserts and drops, records -> encode -> decode ->
 * apply round trips, checkpoint writing + loading through the leader
 * engine on a temporary directory, and snapshots (the writer's state cache):
 * round trips, checks on a state read from one, damaged files refused.
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

#include "leader/leader_int.h"
#include "proto/leader_state.h"
#include "proto/proto.h"

#define UUID "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162"

static char err[LEADER_STATE_ERRLEN];

/* ---- building actions ---- */

static struct proto_entity entity(enum proto_kind kind, const char *name, const char *cols)
{
	struct proto_entity e = {.kind = kind};
	char *copy = strdup(cols), *save = NULL, *c;

	e.name = strdup(name);
	e.folder = strdup("");
	e.docstring = strdup("");
	for (c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
		e.columns = realloc(e.columns, (e.ncolumns + 1) * sizeof(*e.columns));
		e.columns[e.ncolumns].name = strdup(c);
		e.columns[e.ncolumns++].type = PROTO_T_STRING;
	}
	free(copy);
	if (kind == PROTO_EXTERNAL_TABLE)
		e.location = strdup("https://example.com/data");
	return e;
}

static int apply_entity(struct leader_state *s, enum proto_op op, struct proto_entity e)
{
	struct proto_action a = {.op = op, .entity = e};
	int r = leader_state_apply(s, &a, err);

	proto_action_clear(&a);
	return r;
}

static int create(struct leader_state *s, enum proto_kind kind, const char *name)
{
	return apply_entity(s, PROTO_OP_CREATE, entity(kind, name, "a,b"));
}

static int create_view(struct leader_state *s, const char *name, const char *source)
{
	struct proto_entity e = entity(PROTO_MATERIALIZED_VIEW, name, "n");

	e.source = strdup(source);
	e.query = strdup("T | count");
	return apply_entity(s, PROTO_OP_CREATE, e);
}

static int drop(struct leader_state *s, enum proto_kind kind, const char *name)
{
	struct proto_entity e = {.kind = kind, .name = strdup(name)};

	return apply_entity(s, PROTO_OP_DROP, e);
}

/* Extent number n of table: id and artifact derived from n. */
static void make_extent(struct proto_extent *e, const char *table, unsigned n)
{
	unsigned char sha[32] = {0}, id[16] = {0};
	char path[128];

	memset(e, 0, sizeof(*e));
	memcpy(id, &n, sizeof(n));
	id[6] = 0x40;
	id[8] = 0x80;
	leader_state_uuid_format(id, e->id);
	e->table = strdup(table);
	e->min_created = (int64_t)n * PROTO_TICKS_PER_SEC;
	e->max_created = e->min_created + PROTO_TICKS_PER_SEC;
	e->rows = 10;
	e->original_size = 100;
	e->compressed_size = 50;
	e->nartifacts = 1;
	e->artifacts = calloc(1, sizeof(*e->artifacts));
	memcpy(sha, &n, sizeof(n));
	sha[31] = 7;
	leader_state_sha_format(sha, e->artifacts[0].sha256);
	(void)proto_path_artifact(path, sizeof(path), e->artifacts[0].sha256);
	e->artifacts[0].path = strdup(path);
	e->artifacts[0].name = strdup("data.csv");
	e->artifacts[0].size = 50;
	if (n % 3 == 0) {
		e->ntags = 1;
		e->tags = calloc(1, sizeof(*e->tags));
		e->tags[0] = strdup(n % 2 ? "odd" : "even");
	}
}

static int add_range(struct leader_state *s, const char *table, unsigned from, unsigned n)
{
	struct proto_action a = {.op = PROTO_OP_ADD_EXTENTS, .nextents = n};
	unsigned i;
	int r;

	a.extents = calloc(n, sizeof(*a.extents));
	for (i = 0; i < n; i++)
		make_extent(&a.extents[i], table, from + i);
	r = leader_state_apply(s, &a, err);
	proto_action_clear(&a);
	return r;
}

static void id_of(unsigned n, char id[PROTO_UUID_LEN + 1])
{
	struct proto_extent e;

	make_extent(&e, "x", n);
	memcpy(id, e.id, PROTO_UUID_LEN + 1);
	proto_extent_clear(&e);
}

static int drop_ids(struct leader_state *s, enum proto_op op, const unsigned *v, size_t n,
                    unsigned add_from, size_t nadd)
{
	struct proto_action a = {.op = op, .nids = n, .nextents = nadd};
	size_t i;
	int r;

	a.ids = calloc(n ? n : 1, sizeof(*a.ids));
	for (i = 0; i < n; i++)
		id_of(v[i], a.ids[i]);
	a.extents = nadd ? calloc(nadd, sizeof(*a.extents)) : NULL;
	for (i = 0; i < nadd; i++)
		make_extent(&a.extents[i], "T", add_from + (unsigned)i);
	r = leader_state_apply(s, &a, err);
	proto_action_clear(&a);
	return r;
}

static struct leader_state *new_state(void)
{
	struct leader_state *s = NULL;

	assert_int_equal(leader_state_new("Logs", UUID, &s), 0);
	return s;
}

/* ---- tests ---- */

static void test_values(void **unused)
{
	unsigned char id[16], sha[32];
	char text[PROTO_SHA256_LEN + 1];

	assert_int_equal(leader_state_uuid_parse(UUID, id), 0);
	leader_state_uuid_format(id, text);
	assert_string_equal(text, UUID);
	assert_int_equal(leader_state_uuid_parse("3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f40516", id),
	                 -EINVAL);
	assert_int_equal(leader_state_uuid_parse("3F2B6C1E-9A4D-4E0B-8C7A-1D2E3F405162", id),
	                 -EINVAL);
	assert_int_equal(leader_state_uuid_parse("3f2b6c1e+9a4d-4e0b-8c7a-1d2e3f405162", id),
	                 -EINVAL);
	memset(sha, 0xab, sizeof(sha));
	leader_state_sha_format(sha, text);
	assert_int_equal(strlen(text), 64);
	assert_int_equal(leader_state_sha_parse(text, sha), 0);
	text[5] = 'g';
	assert_int_equal(leader_state_sha_parse(text, sha), -EINVAL);
}

static void test_entities(void **unused)
{
	struct leader_state *s = new_state();
	struct proto_counts c;
	const struct proto_entity *e;

	assert_int_equal(create(s, PROTO_TABLE, "T"), 0);
	assert_int_equal(create(s, PROTO_TABLE, "T"), -EINVAL);
	assert_string_equal(err, "table 'T' already exists in database Logs");
	assert_int_equal(create(s, PROTO_EXTERNAL_TABLE, "T"), -EINVAL);
	assert_int_equal(create(s, PROTO_EXTERNAL_TABLE, "X"), 0);
	assert_int_equal(create_view(s, "V", "Nope"), -EINVAL);
	assert_string_equal(err, "materialized view 'V': source table 'Nope' does not exist in "
	                         "database Logs");
	assert_int_equal(create_view(s, "V", "X"), -EINVAL); /* an external table */
	assert_int_equal(create_view(s, "V", "T"), 0);
	assert_int_equal(apply_entity(s, PROTO_OP_CREATE, entity(PROTO_TABLE, "D", "a,b,a")),
	                 -EINVAL);
	assert_string_equal(err, "table 'D': column 'a' appears twice");
	assert_int_equal(apply_entity(s, PROTO_OP_CREATE, entity(PROTO_TABLE, "E", "")), -EINVAL);
	leader_state_counts(s, &c);
	assert_int_equal(c.tables, 1);
	assert_int_equal(c.external_tables, 1);
	assert_int_equal(c.materialized_views, 1);

	/* alter: whole definition, same kind only */
	assert_int_equal(apply_entity(s, PROTO_OP_ALTER, entity(PROTO_TABLE, "T", "z,y,x")), 0);
	e = leader_state_entity(s, "T");
	assert_non_null(e);
	assert_int_equal(e->ncolumns, 3);
	assert_string_equal(e->columns[0].name, "z");
	assert_int_equal(apply_entity(s, PROTO_OP_ALTER, entity(PROTO_TABLE, "X", "a")), -EINVAL);
	assert_string_equal(err, "'X' is an external table, not a table");
	assert_int_equal(apply_entity(s, PROTO_OP_ALTER, entity(PROTO_TABLE, "Q", "a")), -EINVAL);
	assert_string_equal(err, "table 'Q' does not exist in database Logs");

	/* drop: refused while a view reads the table */
	assert_int_equal(drop(s, PROTO_TABLE, "T"), -EINVAL);
	assert_string_equal(err, "table 'T' is the source of materialized view 'V'");
	assert_int_equal(drop(s, PROTO_MATERIALIZED_VIEW, "T"), -EINVAL);
	assert_int_equal(drop(s, PROTO_MATERIALIZED_VIEW, "V"), 0);
	assert_int_equal(drop(s, PROTO_TABLE, "T"), 0);
	assert_null(leader_state_entity(s, "T"));
	assert_int_equal(create(s, PROTO_TABLE, "T"), 0);
	leader_state_free(s);
}

static void test_extents(void **unused)
{
	struct leader_state *s = new_state();
	struct proto_counts c;
	struct proto_extent copy;
	char id[PROTO_UUID_LEN + 1];
	unsigned gone[2] = {1, 2}, twice[2] = {3, 3}, missing[1] = {99};

	assert_int_equal(add_range(s, "T", 0, 1), -EINVAL);
	assert_string_equal(err, "table 'T' does not exist in database Logs");
	assert_int_equal(create(s, PROTO_TABLE, "T"), 0);
	assert_int_equal(create(s, PROTO_EXTERNAL_TABLE, "X"), 0);
	assert_int_equal(add_range(s, "X", 0, 1), -EINVAL);
	assert_string_equal(err, "'X' is an external table: it has no extents");
	assert_int_equal(add_range(s, "T", 0, 10), 0);
	assert_int_equal(add_range(s, "T", 9, 2), -EINVAL);
	id_of(9, id);
	assert_true(strstr(err, id) && strstr(err, "already exists in database Logs"));
	assert_int_equal(leader_state_nextents(s), 10); /* the failed action changed nothing */

	/* drop: all named ids must exist, once */
	assert_int_equal(drop_ids(s, PROTO_OP_DROP_EXTENTS, missing, 1, 0, 0), -EINVAL);
	id_of(99, id);
	assert_true(strncmp(err, "extent ", 7) == 0 && strstr(err, id) &&
	            strstr(err, "not found in database Logs"));
	assert_int_equal(drop_ids(s, PROTO_OP_DROP_EXTENTS, twice, 2, 0, 0), -EINVAL);
	assert_non_null(strstr(err, "appears twice"));
	assert_int_equal(drop_ids(s, PROTO_OP_DROP_EXTENTS, gone, 2, 0, 0), 0);
	id_of(1, id);
	assert_false(leader_state_has_extent(s, id));
	assert_int_equal(leader_state_copy_extent(s, id, &copy), -ENOENT);

	/* replace: a merge of 3 and 4 into 100 */
	gone[0] = 3;
	gone[1] = 4;
	assert_int_equal(drop_ids(s, PROTO_OP_REPLACE_EXTENTS, gone, 2, 5, 1), -EINVAL);
	assert_int_equal(leader_state_nextents(s), 8);
	assert_int_equal(drop_ids(s, PROTO_OP_REPLACE_EXTENTS, gone, 2, 100, 1), 0);
	assert_int_equal(leader_state_nextents(s), 7);
	id_of(100, id);
	assert_int_equal(leader_state_copy_extent(s, id, &copy), 0);
	assert_string_equal(copy.table, "T");
	assert_int_equal(copy.nartifacts, 1);
	assert_string_equal(copy.artifacts[0].name, "data.csv");
	assert_int_equal(strncmp(copy.artifacts[0].path, "artifacts/", 10), 0);
	proto_extent_clear(&copy);
	leader_state_counts(s, &c);
	assert_int_equal(c.extents, 7);
	assert_int_equal(c.rows, 70);
	assert_int_equal(c.bytes, 350);

	/* dropping the table drops its extents */
	assert_int_equal(drop(s, PROTO_TABLE, "T"), 0);
	leader_state_counts(s, &c);
	assert_int_equal(c.extents, 0);
	assert_int_equal(c.rows, 0);
	assert_int_equal(c.bytes, 0);
	leader_state_free(s);
}

static void test_policies_principals(void **unused)
{
	struct leader_state *s = new_state();
	struct proto_action a = {.op = PROTO_OP_SET_CACHING, .has_policy = true};
	struct proto_window w = {.min = 10, .max = 5};
	const struct proto_caching *cp;
	const struct proto_retention *rp;
	const struct proto_principal *pp;
	struct proto_principal p[2] = {{.fqn = "aaduser=a@x", .name = "A"},
	                               {.fqn = "aaduser=b@x", .name = ""}};
	size_t n;

	a.caching.hot_span = 7 * 86400 * PROTO_TICKS_PER_SEC;
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	assert_true(leader_state_caching(s, NULL, &cp));
	assert_int_equal(cp->hot_span, a.caching.hot_span);
	a.table = "T";
	assert_int_equal(leader_state_apply(s, &a, err), -EINVAL);
	assert_string_equal(err, "table 'T' does not exist in database Logs");
	assert_int_equal(create(s, PROTO_TABLE, "T"), 0);
	a.caching.windows = &w;
	a.caching.nwindows = 1;
	assert_int_equal(leader_state_apply(s, &a, err), -EINVAL);
	w.max = 20;
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	assert_true(leader_state_caching(s, "T", &cp));
	assert_int_equal(cp->nwindows, 1);
	a.has_policy = false;
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	assert_false(leader_state_caching(s, "T", &cp));

	memset(&a, 0, sizeof(a));
	a.op = PROTO_OP_SET_RETENTION;
	a.has_policy = true;
	a.retention.soft_delete = 100;
	a.retention.recoverability = true;
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	assert_true(leader_state_retention(s, NULL, &rp));
	assert_int_equal(rp->soft_delete, 100);
	assert_false(leader_state_retention(s, "T", &rp));

	memset(&a, 0, sizeof(a));
	a.op = PROTO_OP_SET_PRINCIPALS;
	a.role = PROTO_ROLE_VIEWERS;
	a.principals = p;
	a.nprincipals = 2;
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	leader_state_principals(s, PROTO_ROLE_VIEWERS, &pp, &n);
	assert_int_equal(n, 2);
	assert_string_equal(pp[1].fqn, "aaduser=b@x");
	p[1].fqn = "aaduser=a@x";
	assert_int_equal(leader_state_apply(s, &a, err), -EINVAL);
	assert_string_equal(err, "principal 'aaduser=a@x' appears twice in role viewers");
	leader_state_principals(s, PROTO_ROLE_ADMINS, &pp, &n);
	assert_int_equal(n, 0);
	leader_state_free(s);
}

static void test_commit(void **unused)
{
	struct leader_state *s = new_state();
	struct proto_commit c = {.database = "Logs", .uuid = UUID, .version = 2, .committed = 5};

	assert_int_equal(leader_state_apply_commit(s, &c, err), -EINVAL);
	assert_string_equal(err, "commit has version 2 where 1 was expected");
	c.version = 1;
	memcpy(c.uuid, "00000000-0000-4000-8000-000000000000", PROTO_UUID_LEN + 1);
	assert_int_equal(leader_state_apply_commit(s, &c, err), -EINVAL);
	memcpy(c.uuid, UUID, PROTO_UUID_LEN + 1);
	assert_int_equal(leader_state_apply_commit(s, &c, err), 0);
	assert_int_equal(leader_state_version(s), 1);
	assert_int_equal(leader_state_committed(s), 5);
	leader_state_free(s);
}

/* Many extents: inserts, drops in a scattered order, lookups, digest. */
static void test_many_extents(void **unused)
{
	enum { N = 200000 };
	struct leader_state *s = new_state();
	unsigned *doomed = calloc(N / 2, sizeof(*doomed)), i;
	bool *dropped = calloc(N, sizeof(*dropped));
	char id[PROTO_UUID_LEN + 1];
	struct proto_counts c;

	assert_int_equal(create(s, PROTO_TABLE, "T"), 0);
	for (i = 0; i < N; i += 1000)
		assert_int_equal(add_range(s, "T", i, 1000), 0);
	assert_int_equal(leader_state_nextents(s), N);
	for (i = 0; i < N / 2; i++)
		doomed[i] = (i * 7919u) % N; /* 7919 is prime: all distinct */
	for (i = 0; i < N / 2; i += 5000)
		assert_int_equal(drop_ids(s, PROTO_OP_DROP_EXTENTS, doomed + i, 5000, 0, 0), 0);
	assert_int_equal(leader_state_nextents(s), N / 2);
	for (i = 0; i < N / 2; i++) {
		id_of(doomed[i], id);
		assert_false(leader_state_has_extent(s, id));
	}
	leader_state_counts(s, &c);
	assert_int_equal(c.extents, N / 2);
	assert_int_equal(c.rows, (uint64_t)N / 2 * 10);
	/* Every id is present exactly when it was not dropped. */
	for (i = 0; i < N / 2; i++)
		dropped[doomed[i]] = true;
	for (i = 0; i < N; i++) {
		id_of(i, id);
		assert_int_equal(leader_state_has_extent(s, id), !dropped[i]);
	}
	free(doomed);
	free(dropped);
	leader_state_free(s);
}

/* ---- records round trip ---- */

static int apply_encoded(const struct proto_action *a, void *arg)
{
	struct leader_state *dst = arg;
	struct proto_action back;
	char perr[PROTO_ERRLEN];
	char *line = proto_record_encode(a);
	int r;

	assert_non_null(line);
	assert_true(a->op != PROTO_OP_ADD_EXTENTS || a->nextents <= PROTO_MAX_LINE_EXTENTS);
	r = proto_record_decode(line, strlen(line), &back, perr);
	if (r < 0)
		fail_msg("%s: %s", perr, line);
	free(line);
	r = leader_state_apply(dst, &back, err);
	proto_action_clear(&back);
	return r;
}

static struct leader_state *sample_state(unsigned nextents)
{
	struct leader_state *s = new_state();
	struct proto_action a = {.op = PROTO_OP_SET_CACHING, .has_policy = true, .table = "T"};
	struct proto_principal p = {.fqn = "aaduser=a@x", .name = "A"};
	unsigned i;

	assert_int_equal(create(s, PROTO_EXTERNAL_TABLE, "X"), 0);
	assert_int_equal(create(s, PROTO_TABLE, "T"), 0);
	assert_int_equal(create(s, PROTO_TABLE, "U"), 0);
	assert_int_equal(create_view(s, "V", "U"), 0);
	a.caching.hot_span = 5;
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	memset(&a, 0, sizeof(a));
	a.op = PROTO_OP_SET_PRINCIPALS;
	a.principals = &p;
	a.nprincipals = 1;
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	for (i = 0; i < nextents; i += 500)
		assert_int_equal(add_range(s, i % 1000 ? "U" : "T", i, 500), 0);
	return s;
}

static void test_records_round_trip(void **unused)
{
	struct leader_state *s = sample_state(5000), *t = new_state();
	unsigned char d1[LEADER_STATE_DIGEST_LEN], d2[LEADER_STATE_DIGEST_LEN];
	unsigned gone[3] = {10, 20, 4000};
	struct proto_counts c1, c2;

	assert_int_equal(drop_ids(s, PROTO_OP_DROP_EXTENTS, gone, 3, 0, 0), 0);
	assert_int_equal(leader_state_foreach_record(s, PROTO_MAX_LINE_EXTENTS, apply_encoded, t),
	                 0);
	assert_int_equal(leader_state_digest(s, d1), 0);
	assert_int_equal(leader_state_digest(t, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	leader_state_counts(s, &c1);
	leader_state_counts(t, &c2);
	assert_memory_equal(&c1, &c2, sizeof(c1));
	/* a difference shows in the digest */
	gone[0] = 11;
	assert_int_equal(drop_ids(t, PROTO_OP_DROP_EXTENTS, gone, 1, 0, 0), 0);
	assert_int_equal(leader_state_digest(t, d2), 0);
	assert_memory_not_equal(d1, d2, sizeof(d1));
	leader_state_free(s);
	leader_state_free(t);
}

/* Digest does not depend on the order extents were added in. */
static void test_digest_order(void **unused)
{
	struct leader_state *a = new_state(), *b = new_state();
	unsigned char d1[LEADER_STATE_DIGEST_LEN], d2[LEADER_STATE_DIGEST_LEN];

	assert_int_equal(create(a, PROTO_TABLE, "T"), 0);
	assert_int_equal(create(b, PROTO_TABLE, "T"), 0);
	assert_int_equal(add_range(a, "T", 0, 10), 0);
	assert_int_equal(add_range(a, "T", 10, 10), 0);
	assert_int_equal(add_range(b, "T", 10, 10), 0);
	assert_int_equal(add_range(b, "T", 0, 10), 0);
	assert_int_equal(leader_state_digest(a, d1), 0);
	assert_int_equal(leader_state_digest(b, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	leader_state_free(a);
	leader_state_free(b);
}

/* ---- snapshot ---- */

/* Writes s to a new temp file and returns it open at offset 0. */
static int snapshot_file(const struct leader_state *s)
{
	char path[] = "/tmp/test_leader_state.snap.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(leader_state_snapshot_write(s, fd, err), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static struct leader_state *snapshot_copy(const struct leader_state *s)
{
	struct leader_state *t = NULL;
	int fd = snapshot_file(s);

	assert_int_equal(leader_state_snapshot_read(fd, &t, err), 0);
	assert_int_equal(close(fd), 0);
	return t;
}

static void assert_same_state(const struct leader_state *a, const struct leader_state *b)
{
	unsigned char d1[LEADER_STATE_DIGEST_LEN], d2[LEADER_STATE_DIGEST_LEN];
	struct proto_counts c1, c2;

	assert_int_equal(leader_state_digest(a, d1), 0);
	assert_int_equal(leader_state_digest(b, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	leader_state_counts(a, &c1);
	leader_state_counts(b, &c2);
	assert_memory_equal(&c1, &c2, sizeof(c1));
	assert_int_equal(leader_state_version(a), leader_state_version(b));
	assert_int_equal(leader_state_committed(a), leader_state_committed(b));
	assert_string_equal(leader_state_database(a), leader_state_database(b));
	assert_string_equal(leader_state_uuid(a), leader_state_uuid(b));
}

/* Adds extents 80001-80003 to T with the data formats and statistics a
 * snapshot must keep: a gzipped CSV with a header and statistics with and
 * without a range (texts of odd lengths: the arena's next block must stay
 * aligned), names this build does not know for both format and compression,
 * and for the compression alone. */
static void add_typed(struct leader_state *s)
{
	struct proto_action a = {.op = PROTO_OP_ADD_EXTENTS, .nextents = 3};
	struct proto_artifact *art;
	struct proto_extent *e;
	unsigned i;

	a.extents = calloc(3, sizeof(*a.extents));
	for (i = 0; i < 3; i++)
		make_extent(&a.extents[i], "T", 80001 + i);
	art = a.extents[0].artifacts;
	art->format = PROTO_FMT_CSV;
	art->compression = PROTO_COMP_GZIP;
	art->ignore_first_record = true;
	art = a.extents[1].artifacts;
	art->format = PROTO_FMT_UNKNOWN;
	art->format_text = strdup("parquet");
	art->compression = PROTO_COMP_UNKNOWN;
	art->compression_text = strdup("lz4");
	art = a.extents[2].artifacts;
	art->format = PROTO_FMT_JSON;
	art->compression = PROTO_COMP_UNKNOWN;
	art->compression_text = strdup("brotli");
	e = &a.extents[0];
	e->nstats = 2;
	e->stats = calloc(2, sizeof(*e->stats));
	e->stats[0] = (struct proto_colstat){.name = strdup("a"),
	                                     .type = PROTO_T_DATETIME,
	                                     .nulls = 3,
	                                     .min = strdup("-12"),
	                                     .max = strdup("2024-01-02T03:04:05Z")};
	e->stats[1] =
	    (struct proto_colstat){.name = strdup("b"), .type = PROTO_T_GUID, .nulls = 10};
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	proto_action_clear(&a);
}

static void assert_artifact_format(const struct proto_artifact *a, enum proto_format f,
                                   const char *ftext, enum proto_compression c, const char *ctext,
                                   bool header)
{
	assert_int_equal(a->format, f);
	assert_int_equal(a->compression, c);
	assert_int_equal(a->ignore_first_record, header);
	if (ftext)
		assert_string_equal(a->format_text, ftext);
	else
		assert_null(a->format_text);
	if (ctext)
		assert_string_equal(a->compression_text, ctext);
	else
		assert_null(a->compression_text);
}

/* The extents of add_typed, as they were added. */
static void assert_typed(const struct leader_state *s)
{
	struct proto_extent e;
	char id[PROTO_UUID_LEN + 1];

	id_of(80001, id);
	assert_int_equal(leader_state_copy_extent(s, id, &e), 0);
	assert_artifact_format(&e.artifacts[0], PROTO_FMT_CSV, NULL, PROTO_COMP_GZIP, NULL, true);
	assert_int_equal(e.nstats, 2);
	assert_string_equal(e.stats[0].name, "a");
	assert_int_equal(e.stats[0].nulls, 3);
	assert_int_equal(e.stats[0].type, PROTO_T_DATETIME);
	assert_int_equal(e.stats[1].type, PROTO_T_GUID);
	assert_string_equal(e.stats[0].min, "-12");
	assert_string_equal(e.stats[0].max, "2024-01-02T03:04:05Z");
	assert_string_equal(e.stats[1].name, "b");
	assert_int_equal(e.stats[1].nulls, 10);
	assert_null(e.stats[1].min);
	assert_null(e.stats[1].max);
	proto_extent_clear(&e);
	id_of(80002, id);
	assert_int_equal(leader_state_copy_extent(s, id, &e), 0);
	assert_artifact_format(&e.artifacts[0], PROTO_FMT_UNKNOWN, "parquet", PROTO_COMP_UNKNOWN,
	                       "lz4", false);
	assert_int_equal(e.nstats, 0);
	proto_extent_clear(&e);
	id_of(80003, id);
	assert_int_equal(leader_state_copy_extent(s, id, &e), 0);
	assert_artifact_format(&e.artifacts[0], PROTO_FMT_JSON, NULL, PROTO_COMP_UNKNOWN, "brotli",
	                       false);
	proto_extent_clear(&e);
}

/* A state with a dropped entity (a hole among the slots), an artifact at a
 * non-canonical path, typed artifacts and column statistics (add_typed), and
 * dropped extents. */
static struct leader_state *snapshot_sample(void)
{
	struct leader_state *s = sample_state(5000);
	struct proto_action a = {.op = PROTO_OP_ADD_EXTENTS, .nextents = 1};
	unsigned gone[3] = {10, 20, 4000};

	assert_int_equal(create(s, PROTO_TABLE, "Z"), 0);
	assert_int_equal(add_range(s, "Z", 90000, 10), 0);
	assert_int_equal(drop(s, PROTO_TABLE, "Z"), 0);
	assert_int_equal(drop_ids(s, PROTO_OP_DROP_EXTENTS, gone, 3, 0, 0), 0);
	a.extents = calloc(1, sizeof(*a.extents));
	make_extent(&a.extents[0], "T", 80000);
	free(a.extents[0].artifacts[0].path);
	a.extents[0].artifacts[0].path = strdup("elsewhere/data.csv");
	assert_int_equal(leader_state_apply(s, &a, err), 0);
	proto_action_clear(&a);
	add_typed(s);
	leader_state_set_version(s, 42, 4242);
	return s;
}

static void test_snapshot_round_trip(void **unused)
{
	struct leader_state *s = snapshot_sample(), *t = snapshot_copy(s), *u;
	struct proto_extent e;
	char id[PROTO_UUID_LEN + 1];

	assert_same_state(s, t);
	id_of(80000, id);
	assert_int_equal(leader_state_copy_extent(t, id, &e), 0);
	assert_string_equal(e.artifacts[0].path, "elsewhere/data.csv");
	proto_extent_clear(&e);
	assert_typed(t);
	/* Changes to a state read from a snapshot (its blocks in one arena),
	 * then a snapshot of that: still the same as the original. */
	assert_int_equal(drop_ids(s, PROTO_OP_REPLACE_EXTENTS, (unsigned[]){30, 31}, 2, 70000, 3),
	                 0);
	assert_int_equal(drop_ids(t, PROTO_OP_REPLACE_EXTENTS, (unsigned[]){30, 31}, 2, 70000, 3),
	                 0);
	u = snapshot_copy(t);
	assert_typed(u);
	leader_state_free(u);
	assert_int_equal(drop(s, PROTO_TABLE, "T"), 0);
	assert_int_equal(drop(t, PROTO_TABLE, "T"), 0);
	u = snapshot_copy(t);
	assert_same_state(s, t);
	assert_same_state(s, u);
	leader_state_free(s);
	leader_state_free(t);
	leader_state_free(u);
}

/* A state read from a snapshot checks actions as any other: an id that is
 * there cannot be added, one that is not cannot be dropped. */
static void test_snapshot_checks(void **unused)
{
	struct leader_state *s = snapshot_sample(), *t = snapshot_copy(s);
	char id[PROTO_UUID_LEN + 1];

	assert_int_equal(add_range(t, "U", 4500, 1), -EINVAL);
	id_of(4500, id);
	assert_non_null(strstr(err, "already exists"));
	assert_int_equal(drop_ids(t, PROTO_OP_DROP_EXTENTS, (unsigned[]){20}, 1, 0, 0), -EINVAL);
	assert_non_null(strstr(err, "not found"));
	assert_int_equal(drop_ids(t, PROTO_OP_DROP_EXTENTS, (unsigned[]){21}, 1, 0, 0), 0);
	assert_int_equal(drop_ids(t, PROTO_OP_DROP_EXTENTS, (unsigned[]){21}, 1, 0, 0), -EINVAL);
	assert_int_equal(add_range(t, "Z", 95000, 1), -EINVAL); /* dropped table */
	assert_int_equal(add_range(t, "X", 95000, 1), -EINVAL); /* external table */
	assert_int_equal(add_range(t, "T", 20, 1), 0);          /* dropped before: new again */
	assert_true(leader_state_has_extent(t, id));
	leader_state_free(s);
	leader_state_free(t);
}

/* Anything but a whole, undamaged snapshot is refused. */
static void test_snapshot_damaged(void **unused)
{
	struct leader_state *s = sample_state(1000), *t = NULL;
	int fd = snapshot_file(s);
	off_t size = lseek(fd, 0, SEEK_END), at;
	unsigned char b;

	for (at = 0; at < size; at += size / 7 + 1) {
		assert_int_equal(pread(fd, &b, 1, at), 1);
		b ^= 0x10;
		assert_int_equal(pwrite(fd, &b, 1, at), 1);
		assert_int_equal(leader_state_snapshot_read(fd, &t, err), -EINVAL);
		assert_null(t);
		b ^= 0x10;
		assert_int_equal(pwrite(fd, &b, 1, at), 1);
	}
	assert_int_equal(leader_state_snapshot_read(fd, &t, err), 0);
	leader_state_free(t);
	t = NULL;
	assert_int_equal(ftruncate(fd, size - 1), 0);
	assert_int_equal(leader_state_snapshot_read(fd, &t, err), -EINVAL);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(leader_state_snapshot_read(fd, &t, err), -EINVAL);
	assert_non_null(strstr(err, "snapshot"));
	assert_null(t);
	assert_int_equal(close(fd), 0);
	leader_state_free(s);
}

/* ---- checkpoint through the engine, on a temporary directory ---- */

static int count_parts(const char *path, uint64_t size, int64_t mtime, void *arg)
{
	if (strstr(path, "/part-")) {
		assert_true(size <= LEADER_PART_MAX_BYTES);
		(*(int *)arg)++;
	}
	return 0;
}

static void test_checkpoint_round_trip(void **unused)
{
	char dir[] = "/tmp/test_leader_state.XXXXXX", err2[LEADER_ERRLEN], cmd[256];
	struct leader_state *s = sample_state(120000), *t = NULL;
	unsigned char d1[LEADER_STATE_DIGEST_LEN], d2[LEADER_STATE_DIGEST_LEN];
	struct proto_manifest *m = NULL;
	struct leader *l = NULL;
	int parts = 0;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(leader_open(dir, NULL, &l, err2, sizeof(err2)), 0);
	leader_state_set_version(s, 7, 123);
	assert_int_equal(leader_write_checkpoint(l, s), 0);
	assert_int_equal(target_list(l->t, "db/", count_parts, &parts), 0);
	/* every part within both caps (the byte cap above) */
	assert_true(parts >= (120000 + LEADER_PART_MAX_EXTENTS - 1) / LEADER_PART_MAX_EXTENTS);
	assert_int_equal(leader_state_new("Logs", UUID, &t), 0);
	assert_int_equal(leader_load_checkpoint(l, t, 7, &m), 0);
	assert_int_equal(m->nparts, (size_t)parts);
	for (size_t i = 0; i < m->nparts; i++)
		assert_true(m->parts[i].size <= LEADER_PART_MAX_BYTES);
	assert_int_equal(m->counts.extents, 120000);
	assert_int_equal(leader_state_version(t), 7);
	assert_int_equal(leader_state_committed(t), 123);
	assert_int_equal(leader_state_digest(s, d1), 0);
	assert_int_equal(leader_state_digest(t, d2), 0);
	assert_memory_equal(d1, d2, sizeof(d1));
	proto_manifest_free(m);
	leader_state_free(t);
	leader_state_free(s);
	leader_free(l);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_entities),
	    cmocka_unit_test(test_extents),
	    cmocka_unit_test(test_policies_principals),
	    cmocka_unit_test(test_commit),
	    cmocka_unit_test(test_many_extents),
	    cmocka_unit_test(test_records_round_trip),
	    cmocka_unit_test(test_digest_order),
	    cmocka_unit_test(test_checkpoint_round_trip),
	    cmocka_unit_test(test_snapshot_round_trip),
	    cmocka_unit_test(test_snapshot_checks),
	    cmocka_unit_test(test_snapshot_damaged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

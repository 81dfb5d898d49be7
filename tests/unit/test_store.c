/* Unit tests for lib/store: the follower's SQLite state. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

#define UUID_A "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162"
#define UUID_B "7c1d2e3f-0000-4000-8000-000000000001"
#define DAY (86400 * PROTO_TICKS_PER_SEC)
#define T0 ((int64_t)1700000000 * PROTO_TICKS_PER_SEC)

/* ---- fixture: a temporary store ---- */

struct fx {
	char dir[64];
	char path[96];
	struct store *s;
	char err[STORE_ERRLEN];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/test_store-XXXXXX");
	if (f == NULL || mkdtemp(f->dir) == NULL)
		return -1;
	(void)snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	if (store_open(f->path, &f->s, f->err) < 0)
		return -1;
	if (store_db_add(f->s, "logs", "file:///leader", "Logs", "Logs", f->err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	store_free(f->s);
	for (const char *const *sfx = (const char *const[]){"", "-wal", "-shm", NULL}; *sfx;
	     sfx++) {
		(void)snprintf(p, sizeof(p), "%s%s", f->path, *sfx);
		(void)unlink(p);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- fixture builders (strings are literals or owned by struct xs) ---- */

static struct proto_column cols_t[] = {
    {(char *)"ts", PROTO_T_DATETIME}, {(char *)"msg", PROTO_T_STRING}, {(char *)"n", PROTO_T_INT}};

static struct proto_entity ent(enum proto_kind kind, const char *name, struct proto_column *cols,
                               size_t n)
{
	struct proto_entity e = {.kind = kind,
	                         .name = (char *)name,
	                         .columns = cols,
	                         .ncolumns = n,
	                         .folder = (char *)"",
	                         .docstring = (char *)""};

	if (kind == PROTO_EXTERNAL_TABLE)
		e.location = (char *)"https://example/x";
	if (kind == PROTO_MATERIALIZED_VIEW) {
		e.source = (char *)"T";
		e.query = (char *)"T | summarize count()";
	}
	return e;
}

static struct proto_action create(enum proto_kind kind, const char *name)
{
	return (struct proto_action){.op = PROTO_OP_CREATE, .entity = ent(kind, name, cols_t, 3)};
}

/* n extents of table with ids/shas numbered from first; one artifact each. */
struct xs {
	struct proto_extent *x;
	struct proto_artifact *a;
	char (*paths)[PROTO_MAX_PATH];
	size_t n;
};

static void id_of(unsigned k, char out[PROTO_UUID_LEN + 1])
{
	(void)snprintf(out, PROTO_UUID_LEN + 1, "%08x-0000-4000-8000-%012x", k, k);
}

static struct xs extents(const char *table, unsigned first, size_t n)
{
	struct xs v = {.x = calloc(n + 1, sizeof(*v.x)),
	               .a = calloc(n + 1, sizeof(*v.a)),
	               .paths = calloc(n + 1, sizeof(*v.paths)),
	               .n = n};

	for (size_t i = 0; i < n; i++) {
		unsigned k = first + (unsigned)i;
		struct proto_artifact *a = &v.a[i];

		(void)snprintf(a->sha256, sizeof(a->sha256), "%064x", k);
		(void)proto_path_artifact(v.paths[i], PROTO_MAX_PATH, a->sha256);
		a->name = (char *)"data.csv";
		a->path = v.paths[i];
		a->size = 1000 + k;
		id_of(k, v.x[i].id);
		v.x[i].table = (char *)table;
		v.x[i].min_created = T0 + (int64_t)k * DAY;
		v.x[i].max_created = T0 + (int64_t)k * DAY + DAY / 2;
		v.x[i].rows = 10 * k;
		v.x[i].original_size = 4000 + k;
		v.x[i].compressed_size = 1000 + k;
		v.x[i].artifacts = a;
		v.x[i].nartifacts = 1;
	}
	return v;
}

static void xs_free(struct xs *v)
{
	free(v->x);
	free(v->a);
	free(v->paths);
}

static uint64_t xs_bytes(const struct xs *v)
{
	uint64_t b = 0;

	for (size_t i = 0; i < v->n; i++)
		b += v->a[i].size;
	return b;
}

static uint64_t xs_rows(const struct xs *v)
{
	uint64_t b = 0;

	for (size_t i = 0; i < v->n; i++)
		b += v->x[i].rows;
	return b;
}

static struct proto_action add(struct xs *v)
{
	return (struct proto_action){.op = PROTO_OP_ADD_EXTENTS, .extents = v->x, .nextents = v->n};
}

static struct proto_commit commit(const char *uuid, uint64_t version, struct proto_action *a,
                                  size_t n)
{
	struct proto_commit c = {.database = (char *)"Logs",
	                         .version = version,
	                         .committed = T0 + (int64_t)version * PROTO_TICKS_PER_SEC,
	                         .actions = a,
	                         .nactions = n};

	memcpy(c.uuid, uuid, sizeof(c.uuid));
	return c;
}

static int apply(struct fx *f, const char *uuid, uint64_t version, struct proto_action *a, size_t n,
                 const struct store_filter *filter, struct store_summary *sum)
{
	struct proto_commit c = commit(uuid, version, a, n);

	return store_apply_commit(f->s, "logs", &c, filter, sum, f->err);
}

/* ---- small readers ---- */

static struct store_db_info db_info(struct fx *f)
{
	struct store_db_info d;

	assert_int_equal(store_db_get(f->s, "logs", &d, f->err), 0);
	return d;
}

static uint64_t applied(struct fx *f)
{
	struct store_db_info d = db_info(f);
	uint64_t v = d.applied_version;

	store_db_info_clear(&d);
	return v;
}

struct collected {
	size_t n;
	char ids[64][PROTO_UUID_LEN + 1];
	char paths[64][PROTO_MAX_PATH];
	uint64_t rows;
	int64_t last;
};

static int collect(void *arg, int64_t id, const struct proto_extent *x)
{
	struct collected *c = arg;

	if (c->n < 64) {
		memcpy(c->ids[c->n], x->id, sizeof(c->ids[0]));
		if (x->nartifacts > 0)
			(void)snprintf(c->paths[c->n], PROTO_MAX_PATH, "%s", x->artifacts[0].path);
	}
	c->n++;
	c->rows += x->rows;
	c->last = id;
	return 0;
}

static struct collected table_extents(struct fx *f, const char *table)
{
	struct store_extent_query q = {
	    .config = "logs", .table = table, .from = INT64_MIN, .to = INT64_MAX, .limit = 1000};
	struct collected c = {0};

	assert_int_equal(store_extents(f->s, &q, collect, &c, f->err), 0);
	return c;
}

static bool has_id(const struct collected *c, unsigned k)
{
	char id[PROTO_UUID_LEN + 1];

	id_of(k, id);
	for (size_t i = 0; i < c->n && i < 64; i++)
		if (strcmp(c->ids[i], id) == 0)
			return true;
	return false;
}

/* The stored entity named name, or NULL; v and n from store_entities. */
static const struct store_entity *find_entity(const struct store_entity *v, size_t n,
                                              const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].e.name, name) == 0)
			return &v[i];
	return NULL;
}

static bool has_change(const struct store_summary *s, enum diff_what what, const char *entity,
                       const char *item)
{
	for (size_t i = 0; i < s->changes.n; i++) {
		const struct diff_change *c = &s->changes.v[i];

		if (c->what == what &&
		    (entity == NULL || (c->entity && !strcmp(c->entity, entity))) &&
		    (item == NULL || (c->item && !strcmp(c->item, item))))
			return true;
	}
	return false;
}

static int64_t sql_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* ---- opening and migrations ---- */

static void test_open_create(void **state)
{
	struct fx *f = *state;
	struct store *s2 = NULL;

	assert_int_equal(sql_int(f->path, "PRAGMA user_version"), STORE_VERSION);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM sqlite_schema WHERE name='blobs'"),
	                 1);
	/* A second handle on the same file opens without migrating again. */
	assert_int_equal(store_open(f->path, &s2, f->err), 0);
	store_free(s2);
	store_free(NULL);
}

/* The schema of version 1 as released (frozen here: a file written then). */
static const char v1_schema[] =
    "CREATE TABLE configs(name TEXT PRIMARY KEY, json TEXT NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE databases(id INTEGER PRIMARY KEY, config TEXT NOT NULL UNIQUE,"
    " root TEXT NOT NULL, leader_db TEXT NOT NULL, local_name TEXT NOT NULL,"
    " uuid TEXT NOT NULL DEFAULT '', applied_version INTEGER NOT NULL DEFAULT 0,"
    " applied_committed INTEGER NOT NULL DEFAULT 0, leader_version INTEGER NOT NULL DEFAULT 0,"
    " leader_committed INTEGER NOT NULL DEFAULT 0, last_poll INTEGER NOT NULL DEFAULT 0,"
    " last_apply INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    " state TEXT NOT NULL DEFAULT 'new', extents INTEGER NOT NULL DEFAULT 0,"
    " rows INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE entities(id INTEGER PRIMARY KEY, db INTEGER NOT NULL, name TEXT NOT NULL,"
    " kind TEXT NOT NULL, folder TEXT NOT NULL, docstring TEXT NOT NULL, location TEXT,"
    " source TEXT, query TEXT, extents INTEGER NOT NULL DEFAULT 0,"
    " rows INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, UNIQUE(db, name));"
    "CREATE TABLE columns(entity INTEGER NOT NULL, ord INTEGER NOT NULL, name TEXT NOT NULL,"
    " type TEXT NOT NULL, PRIMARY KEY(entity, ord)) WITHOUT ROWID;"
    "CREATE TABLE extents(id INTEGER PRIMARY KEY, db INTEGER NOT NULL,"
    " entity INTEGER NOT NULL, uuid BLOB NOT NULL, min_created INTEGER NOT NULL,"
    " max_created INTEGER NOT NULL, rows INTEGER NOT NULL, original_size INTEGER NOT NULL,"
    " compressed_size INTEGER NOT NULL, bytes INTEGER NOT NULL, tags TEXT);"
    "CREATE INDEX extents_uuid ON extents(db, uuid, entity);"
    "CREATE INDEX extents_entity ON extents(entity);"
    "CREATE TABLE artifacts(extent INTEGER NOT NULL, ord INTEGER NOT NULL, name TEXT NOT NULL,"
    " path TEXT, size INTEGER NOT NULL, sha256 BLOB NOT NULL, PRIMARY KEY(extent, ord))"
    " WITHOUT ROWID;"
    "CREATE TABLE caching(db INTEGER NOT NULL, entity INTEGER NOT NULL,"
    " hot_span INTEGER NOT NULL, windows TEXT, PRIMARY KEY(db, entity)) WITHOUT ROWID;"
    "CREATE TABLE retention(db INTEGER NOT NULL, entity INTEGER NOT NULL,"
    " soft_delete INTEGER NOT NULL, recoverability INTEGER NOT NULL,"
    " PRIMARY KEY(db, entity)) WITHOUT ROWID;"
    "CREATE TABLE principals(db INTEGER NOT NULL, role TEXT NOT NULL, ord INTEGER NOT NULL,"
    " fqn TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY(db, role, ord)) WITHOUT ROWID;"
    "CREATE TABLE excluded(db INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,"
    " PRIMARY KEY(db, name)) WITHOUT ROWID;"
    "CREATE TABLE history(id INTEGER PRIMARY KEY, db INTEGER NOT NULL, uuid TEXT NOT NULL,"
    " version INTEGER NOT NULL, committed INTEGER NOT NULL, applied INTEGER NOT NULL,"
    " checkpoint INTEGER NOT NULL, extents_added INTEGER NOT NULL,"
    " extents_removed INTEGER NOT NULL, rows_added INTEGER NOT NULL,"
    " rows_removed INTEGER NOT NULL, bytes_added INTEGER NOT NULL,"
    " bytes_removed INTEGER NOT NULL, changes TEXT NOT NULL);"
    "CREATE INDEX history_db ON history(db, id);"
    "INSERT INTO databases(config, root, leader_db, local_name, uuid, applied_version)"
    " VALUES('old', 'file:///l', 'Old', 'Old', '" UUID_A "', 7);"
    "INSERT INTO configs VALUES('old', '{\"x\":1}');"
    "PRAGMA application_id = 1181707383; PRAGMA user_version = 1;";

static void craft(const char *path, const char *sql)
{
	sqlite3 *db;

	(void)unlink(path);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_migrate_v1(void **state)
{
	struct fx *f = *state;
	char path[128], err[STORE_ERRLEN];
	struct store *s = NULL;
	struct store_db_info d;
	struct store_blob b = {.state = STORE_BLOB_CACHED, .size = 5};
	char *json = NULL;

	(void)snprintf(path, sizeof(path), "%s/v1.db", f->dir);
	craft(path, v1_schema);
	assert_int_equal(store_open(path, &s, err), 0);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), STORE_VERSION);
	/* Data survives; the step-2 table exists and works. */
	assert_int_equal(store_db_get(s, "old", &d, err), 0);
	assert_int_equal(d.applied_version, 7);
	assert_string_equal(d.uuid, UUID_A);
	store_db_info_clear(&d);
	assert_int_equal(store_config_get(s, "old", &json, err), 0);
	assert_string_equal(json, "{\"x\":1}");
	free(json);
	memset(b.sha256, 'a', PROTO_SHA256_LEN);
	assert_int_equal(store_blob_put(s, &b, err), 0);
	store_free(s);
	(void)unlink(path);
}

/* What version 2 added to version 1, and a database with one table, one
 * extent (00000001-...) with one artifact (sha 0...01) and its cached blob. */
static const char v2_extra[] =
    "CREATE TABLE blobs(sha256 BLOB PRIMARY KEY, state TEXT NOT NULL, size INTEGER NOT NULL,"
    " fails INTEGER NOT NULL DEFAULT 0, last_access INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    "UPDATE databases SET extents = 1, rows = 10, bytes = 1001 WHERE config = 'old';"
    "INSERT INTO entities(db, name, kind, folder, docstring, extents, rows, bytes)"
    " VALUES(1, 'T', 'table', '', '', 1, 10, 1001);"
    "INSERT INTO columns VALUES(1, 0, 'msg', 'string');"
    "INSERT INTO extents VALUES(1, 1, 1, x'00000001000040008000000000000001', 5, 6, 10, 4001,"
    " 1001, 1001, NULL);"
    "INSERT INTO artifacts VALUES(1, 0, 'data.csv', NULL, 1001,"
    " x'0000000000000000000000000000000000000000000000000000000000000001');"
    "INSERT INTO blobs VALUES(x'0000000000000000000000000000000000000000000000000000000000000001',"
    " 'cached', 1001, 0, 0);"
    "PRAGMA user_version = 2;";

static struct collected extents_of(struct store *s, const char *config, const char *table,
                                   enum store_extent_set set)
{
	struct store_extent_query q = {
	    .config = config, .table = table, .from = INT64_MIN, .to = INT64_MAX, .set = set};
	struct collected c = {0};
	char err[STORE_ERRLEN];

	assert_int_equal(store_extents(s, &q, collect, &c, err), 0);
	return c;
}

static void exec_sql(const char *path, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* A version 2 file keeps its data; what it held is visible at its applied
 * version, and the prefetch machinery works on its old rows. */
static void test_migrate_v2(void **state)
{
	struct fx *f = *state;
	char path[128], err[STORE_ERRLEN], id[PROTO_UUID_LEN + 1];
	struct store_filter pf = {.prefetch = true};
	struct store_entity *v = NULL;
	struct store *s = NULL;
	struct store_db_info d;
	struct store_blob b;
	struct proto_commit c;
	struct proto_action drop = {.op = PROTO_OP_DROP_EXTENTS, .ids = &id, .nids = 1};
	size_t n = 0;

	(void)snprintf(path, sizeof(path), "%s/v2.db", f->dir);
	craft(path, v1_schema);
	exec_sql(path, v2_extra);
	assert_int_equal(store_open(path, &s, err), 0);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), STORE_VERSION);
	assert_int_equal(store_db_get(s, "old", &d, err), 0);
	assert_int_equal(d.applied_version, 7);
	assert_int_equal(d.visible_version, 7);
	assert_int_equal(d.extents, 1);
	assert_int_equal(d.rows, 10);
	assert_int_equal(d.bytes, 1001);
	store_db_info_clear(&d);
	assert_int_equal(store_entities(s, "old", &v, &n, err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].extents, 1);
	assert_int_equal(v[0].bytes, 1001);
	store_entities_free(v, n);
	assert_int_equal(extents_of(s, "old", "T", STORE_EXTENTS_VISIBLE).n, 1);
	memset(b.sha256, '0', PROTO_SHA256_LEN);
	b.sha256[PROTO_SHA256_LEN - 1] = '1';
	b.sha256[PROTO_SHA256_LEN] = '\0';
	assert_int_equal(store_blob_get(s, b.sha256, &b, err), 0);
	assert_int_equal(b.state, STORE_BLOB_CACHED);

	/* A held drop of the old extent: still visible until published. */
	id_of(1, id);
	c = commit(UUID_A, 8, &drop, 1);
	c.database = (char *)"Old";
	assert_int_equal(store_apply_commit(s, "old", &c, &pf, NULL, err), 0);
	assert_int_equal(extents_of(s, "old", "T", STORE_EXTENTS_VISIBLE).n, 1);
	assert_int_equal(extents_of(s, "old", "T", STORE_EXTENTS_APPLIED).n, 0);
	assert_int_equal(store_db_publish(s, "old", 8, err), 0);
	assert_int_equal(extents_of(s, "old", "T", STORE_EXTENTS_VISIBLE).n, 0);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM artifacts"), 0);
	/* the generation (6) starts at 0 and counted the commit and the publish */
	assert_int_equal(sql_int(path, "SELECT n FROM generation"), 2);
	store_free(s);
	(void)unlink(path);
}

static void test_open_refuses(void **state)
{
	struct fx *f = *state;
	char path[128], err[STORE_ERRLEN];
	struct store *s = NULL;
	FILE *fp;

	(void)snprintf(path, sizeof(path), "%s/other.db", f->dir);
	/* Some other application's database. */
	craft(path, "CREATE TABLE foo(x); INSERT INTO foo VALUES(1);");
	assert_int_equal(store_open(path, &s, err), -EBADMSG);
	assert_non_null(strstr(err, "not a followerd store"));
	/* A store from a newer followerd. */
	craft(path, "PRAGMA application_id = 1181707383; PRAGMA user_version = 99;"
	            "CREATE TABLE x(y);");
	assert_int_equal(store_open(path, &s, err), -EPROTONOSUPPORT);
	assert_int_equal(store_open_readonly(path, &s, err), -EPROTONOSUPPORT);
	/* Not SQLite at all. */
	(void)unlink(path);
	fp = fopen(path, "w");
	assert_non_null(fp);
	(void)fputs("this is not a database, just some text long enough to be a header....\n", fp);
	(void)fclose(fp);
	assert_true(store_open(path, &s, err) < 0);
	/* An empty file is a new store (version 0). */
	fp = fopen(path, "w");
	(void)fclose(fp);
	assert_int_equal(store_open(path, &s, err), 0);
	store_free(s);
	(void)unlink(path);
}

/* ---- configurations and databases ---- */

static int count_configs(void *arg, const char *name, const char *json)
{
	(*(int *)arg)++;
	return strcmp(name, "stop") == 0 ? 42 : 0;
}

static void test_configs(void **state)
{
	struct fx *f = *state;
	char *json = NULL;
	int n = 0;

	assert_int_equal(store_config_get(f->s, "a", &json, f->err), -ENOENT);
	assert_int_equal(store_config_put(f->s, "a", "{\"v\":1}", f->err), 0);
	assert_int_equal(store_config_put(f->s, "b", "{}", f->err), 0);
	assert_int_equal(store_config_put(f->s, "a", "{\"v\":2}", f->err), 0);
	assert_int_equal(store_config_get(f->s, "a", &json, f->err), 0);
	assert_string_equal(json, "{\"v\":2}");
	free(json);
	assert_int_equal(store_config_list(f->s, count_configs, &n, f->err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_config_put(f->s, "stop", "{}", f->err), 0);
	n = 0;
	assert_int_equal(store_config_list(f->s, count_configs, &n, f->err), 42);
	assert_int_equal(store_config_delete(f->s, "a", f->err), 0);
	assert_int_equal(store_config_delete(f->s, "a", f->err), -ENOENT);
	assert_int_equal(store_config_get(f->s, "a", &json, f->err), -ENOENT);
}

/* The overlay is its own table: configurations do not see it, nor it them. */
static void test_overlay(void **state)
{
	struct fx *f = *state;
	int n = 0;

	assert_int_equal(store_overlay_put(f->s, "a", "{\"settings\":{}}", f->err), 0);
	assert_int_equal(store_overlay_put(f->s, "a", "{\"attach\":{}}", f->err), 0);
	assert_int_equal(store_overlay_put(f->s, "b", "{}", f->err), 0);
	assert_int_equal(store_config_put(f->s, "c", "{}", f->err), 0);
	assert_int_equal(store_overlay_list(f->s, count_configs, &n, f->err), 0);
	assert_int_equal(n, 2);
	n = 0;
	assert_int_equal(store_config_list(f->s, count_configs, &n, f->err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_db_add(f->s, "a", "/r", "A", "A", f->err), 0);
	assert_int_equal(store_db_detach(f->s, "a", f->err), 0);
	assert_int_equal(store_overlay_delete(f->s, "a", f->err), 0); /* detach kept it */
	assert_int_equal(store_overlay_delete(f->s, "a", f->err), -ENOENT);
}

static void test_databases_status(void **state)
{
	struct fx *f = *state;
	struct store_db_info *v = NULL, d;
	size_t n = 0;

	assert_int_equal(store_db_add(f->s, "logs", "x", "y", "z", f->err), -EEXIST);
	assert_int_equal(store_db_add(f->s, "aaa", "file:///a", "A", "LocalA", f->err), 0);
	assert_int_equal(store_db_list(f->s, &v, &n, f->err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].config, "aaa");
	assert_string_equal(v[0].local_name, "LocalA");
	assert_string_equal(v[1].config, "logs");
	assert_string_equal(v[1].state, "new");
	assert_null(v[1].last_error);
	assert_string_equal(v[1].uuid, "");
	store_db_info_array_free(v, n);

	assert_int_equal(store_db_set_poll(f->s, "logs", T0, 12, T0 - 5, f->err), 0);
	assert_int_equal(store_db_set_error(f->s, "logs", "leader unreachable", f->err), 0);
	assert_int_equal(store_db_set_state(f->s, "logs", "polling", f->err), 0);
	assert_int_equal(store_db_set_state(f->s, "nope", "x", f->err), -ENOENT);
	d = db_info(f);
	assert_int_equal(d.last_poll, T0);
	assert_int_equal(d.leader_version, 12);
	assert_int_equal(d.leader_committed, T0 - 5);
	assert_string_equal(d.last_error, "leader unreachable");
	assert_string_equal(d.state, "polling");
	store_db_info_clear(&d);
	assert_int_equal(store_db_set_error(f->s, "logs", NULL, f->err), 0);
	d = db_info(f);
	assert_null(d.last_error);
	store_db_info_clear(&d);
}

/* ---- commits ---- */

static struct proto_principal prin_v1[] = {{(char *)"aaduser=alice@x", (char *)"Alice"},
                                           {(char *)"aaduser=bob@x", (char *)"Bob"}};
static struct proto_principal prin_v2[] = {{(char *)"aaduser=bob@x", (char *)"Robert"},
                                           {(char *)"aaduser=carol@x", (char *)""}};

/* Version 1: three entities, extents, policies, principals. */
static void apply_v1(struct fx *f, struct xs *x, struct store_summary *sum)
{
	struct proto_window w = {.min = T0, .max = T0 + DAY};
	struct proto_action a[] = {
	    create(PROTO_TABLE, "T"),
	    create(PROTO_EXTERNAL_TABLE, "X"),
	    create(PROTO_MATERIALIZED_VIEW, "V"),
	    add(x),
	    {.op = PROTO_OP_SET_CACHING,
	     .has_policy = true,
	     .caching = {.hot_span = 7 * DAY, .windows = &w, .nwindows = 1}},
	    {.op = PROTO_OP_SET_CACHING,
	     .table = (char *)"T",
	     .has_policy = true,
	     .caching = {.hot_span = DAY}},
	    {.op = PROTO_OP_SET_RETENTION,
	     .table = (char *)"T",
	     .has_policy = true,
	     .retention = {.soft_delete = 30 * DAY, .recoverability = true}},
	    {.op = PROTO_OP_SET_PRINCIPALS,
	     .role = PROTO_ROLE_VIEWERS,
	     .principals = prin_v1,
	     .nprincipals = 2},
	};

	assert_int_equal(apply(f, UUID_A, 1, a, sizeof(a) / sizeof(a[0]), NULL, sum), 0);
}

static void test_commit_create_and_add(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 3);
	struct store_summary sum = {0};
	struct store_entity *v = NULL;
	struct store_db_info d;
	struct collected c;
	bool hc, hr;
	struct proto_caching cp;
	struct proto_retention rp;
	struct proto_principal *p = NULL;
	size_t n = 0;

	apply_v1(f, &x, &sum);
	assert_int_equal(sum.extents_added, 3);
	assert_int_equal(sum.rows_added, xs_rows(&x));
	assert_int_equal(sum.bytes_added, xs_bytes(&x));
	assert_true(has_change(&sum, DIFF_CREATED, "T", NULL));
	assert_true(has_change(&sum, DIFF_CREATED, "X", NULL));
	assert_true(has_change(&sum, DIFF_CREATED, "V", NULL));
	assert_true(has_change(&sum, DIFF_CACHING_CHANGED, "T", NULL));
	assert_true(has_change(&sum, DIFF_RETENTION_CHANGED, "T", NULL));
	assert_true(has_change(&sum, DIFF_PRINCIPAL_ADDED, NULL, "aaduser=alice@x"));
	store_summary_clear(&sum);

	d = db_info(f);
	assert_int_equal(d.applied_version, 1);
	assert_string_equal(d.uuid, UUID_A);
	assert_int_equal(d.applied_committed, T0 + PROTO_TICKS_PER_SEC);
	assert_int_equal(d.extents, 3);
	assert_int_equal(d.bytes, xs_bytes(&x));
	assert_true(d.last_apply > 0);
	store_db_info_clear(&d);

	assert_int_equal(store_entities(f->s, "logs", &v, &n, f->err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].e.name, "T");
	assert_int_equal(v[0].e.ncolumns, 3);
	assert_string_equal(v[0].e.columns[1].name, "msg");
	assert_int_equal(v[0].e.columns[2].type, PROTO_T_INT);
	assert_int_equal(v[0].extents, 3);
	assert_true(v[0].has_caching);
	assert_int_equal(v[0].caching.hot_span, DAY);
	assert_true(v[0].has_retention);
	assert_true(v[0].retention.recoverability);
	assert_int_equal(v[1].e.kind, PROTO_MATERIALIZED_VIEW);
	assert_string_equal(v[1].e.query, "T | summarize count()");
	assert_int_equal(v[2].e.kind, PROTO_EXTERNAL_TABLE);
	assert_string_equal(v[2].e.location, "https://example/x");
	assert_false(v[2].has_caching);
	store_entities_free(v, n);

	assert_int_equal(store_db_policies(f->s, "logs", &hc, &cp, &hr, &rp, f->err), 0);
	assert_true(hc);
	assert_false(hr);
	assert_int_equal(cp.hot_span, 7 * DAY);
	assert_int_equal(cp.nwindows, 1);
	assert_int_equal(cp.windows[0].max, T0 + DAY);
	proto_caching_clear(&cp);

	assert_int_equal(store_principals(f->s, "logs", PROTO_ROLE_VIEWERS, &p, &n, f->err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[1].name, "Bob");
	store_principals_free(p, n);

	c = table_extents(f, "T");
	assert_int_equal(c.n, 3);
	assert_true(has_id(&c, 2));
	assert_string_equal(c.paths[0], x.paths[0]);
	xs_free(&x);
}

static void test_commit_alter_drop_replace(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 3), y = extents("T", 10, 2);
	struct store_summary sum = {0};
	struct proto_column cols2[] = {{(char *)"msg", PROTO_T_STRING},
	                               {(char *)"ts", PROTO_T_DATETIME},
	                               {(char *)"n", PROTO_T_LONG},
	                               {(char *)"extra", PROTO_T_DYNAMIC}};
	char ids[2][PROTO_UUID_LEN + 1];
	struct store_entity *v = NULL;
	struct proto_principal *p = NULL;
	struct collected c;
	size_t n = 0;

	apply_v1(f, &x, &sum);
	store_summary_clear(&sum);
	id_of(1, ids[0]);
	id_of(2, ids[1]);
	/* Custom (non-canonical) artifact path is kept as given. */
	y.a[1].path = (char *)"elsewhere/blob.csv";
	struct proto_action a[] = {
	    {.op = PROTO_OP_ALTER, .entity = ent(PROTO_TABLE, "T", cols2, 4)},
	    {.op = PROTO_OP_DROP_EXTENTS, .ids = &ids[0], .nids = 1},
	    {.op = PROTO_OP_REPLACE_EXTENTS,
	     .ids = &ids[1],
	     .nids = 1,
	     .extents = y.x,
	     .nextents = 2},
	    {.op = PROTO_OP_SET_CACHING, .table = (char *)"T", .has_policy = false},
	    {.op = PROTO_OP_SET_PRINCIPALS,
	     .role = PROTO_ROLE_VIEWERS,
	     .principals = prin_v2,
	     .nprincipals = 2},
	    {.op = PROTO_OP_DROP, .entity = {.kind = PROTO_MATERIALIZED_VIEW, .name = (char *)"V"}},
	    {.op = PROTO_OP_DROP, .entity = {.kind = PROTO_EXTERNAL_TABLE, .name = (char *)"X"}},
	};
	assert_int_equal(apply(f, UUID_A, 2, a, sizeof(a) / sizeof(a[0]), NULL, &sum), 0);
	assert_int_equal(sum.extents_added, 2);
	assert_int_equal(sum.extents_removed, 2);
	assert_int_equal(sum.bytes_added, xs_bytes(&y));
	assert_int_equal(sum.bytes_removed, x.a[0].size + x.a[1].size);
	assert_true(has_change(&sum, DIFF_COLUMN_ADDED, "T", "extra"));
	assert_true(has_change(&sum, DIFF_COLUMN_RETYPED, "T", "n"));
	assert_true(has_change(&sum, DIFF_COLUMNS_REORDERED, "T", NULL));
	assert_true(has_change(&sum, DIFF_CACHING_CHANGED, "T", NULL));
	assert_true(has_change(&sum, DIFF_PRINCIPAL_REMOVED, NULL, "aaduser=alice@x"));
	assert_true(has_change(&sum, DIFF_PRINCIPAL_RENAMED, NULL, "aaduser=bob@x"));
	assert_true(has_change(&sum, DIFF_PRINCIPAL_ADDED, NULL, "aaduser=carol@x"));
	assert_true(has_change(&sum, DIFF_DROPPED, "V", NULL));
	assert_true(has_change(&sum, DIFF_DROPPED, "X", NULL));
	store_summary_clear(&sum);

	assert_int_equal(store_entities(f->s, "logs", &v, &n, f->err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].e.ncolumns, 4);
	assert_string_equal(v[0].e.columns[0].name, "msg");
	assert_string_equal(v[0].e.columns[3].name, "extra");
	assert_false(v[0].has_caching);
	assert_true(v[0].has_retention);
	assert_int_equal(v[0].extents, 3);
	assert_int_equal(v[0].bytes, x.a[2].size + xs_bytes(&y));
	store_entities_free(v, n);
	c = table_extents(f, "T");
	assert_int_equal(c.n, 3);
	assert_false(has_id(&c, 1));
	assert_false(has_id(&c, 2));
	assert_true(has_id(&c, 3) && has_id(&c, 10) && has_id(&c, 11));
	assert_string_equal(c.paths[2], "elsewhere/blob.csv");
	assert_int_equal(store_principals(f->s, "logs", PROTO_ROLE_VIEWERS, &p, &n, f->err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(p[0].name, "Robert");
	store_principals_free(p, n);

	/* v3: drop the table with its extents; remove its retention first. */
	struct proto_action b[] = {
	    {.op = PROTO_OP_SET_RETENTION, .table = (char *)"T", .has_policy = false},
	    {.op = PROTO_OP_DROP, .entity = {.kind = PROTO_TABLE, .name = (char *)"T"}},
	};
	assert_int_equal(apply(f, UUID_A, 3, b, 2, NULL, &sum), 0);
	assert_int_equal(sum.extents_removed, 3);
	assert_int_equal(sum.bytes_removed, x.a[2].size + xs_bytes(&y));
	assert_true(has_change(&sum, DIFF_RETENTION_CHANGED, "T", NULL));
	assert_true(has_change(&sum, DIFF_DROPPED, "T", NULL));
	store_summary_clear(&sum);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM artifacts"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM columns"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM retention"), 0);
	assert_int_equal(sql_int(f->path, "SELECT extents + rows + bytes FROM databases"), 0);
	/* The database-level caching policy stays. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM caching"), 1);
	xs_free(&x);
	xs_free(&y);
}

static void test_commit_rollback(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 3), y = extents("T", 20, 2);
	struct store_summary sum = {0};
	char bad[1][PROTO_UUID_LEN + 1];
	struct proto_column cols2[] = {{(char *)"only", PROTO_T_STRING}};
	struct store_entity *v = NULL;
	size_t n = 0;

	apply_v1(f, &x, &sum);
	store_summary_clear(&sum);
	id_of(999, bad[0]);
	struct proto_action a[] = {
	    {.op = PROTO_OP_ALTER, .entity = ent(PROTO_TABLE, "T", cols2, 1)},
	    add(&y),
	    {.op = PROTO_OP_DROP_EXTENTS, .ids = bad, .nids = 1},
	};
	assert_int_equal(apply(f, UUID_A, 2, a, 3, NULL, &sum), -EINVAL);
	assert_non_null(strstr(f->err, "actions[2]"));
	assert_non_null(strstr(f->err, bad[0]));
	assert_int_equal(sum.changes.n, 0);
	/* Nothing of the failed commit is visible. */
	assert_int_equal(applied(f), 1);
	assert_int_equal(table_extents(f, "T").n, 3);
	assert_int_equal(store_entities(f->s, "logs", &v, &n, f->err), 0);
	assert_int_equal(v[0].e.ncolumns, 3);
	assert_int_equal(v[0].extents, 3);
	store_entities_free(v, n);

	/* Other refusals, each naming the action. */
	struct proto_action dup[] = {create(PROTO_TABLE, "T")};
	assert_int_equal(apply(f, UUID_A, 2, dup, 1, NULL, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "actions[0] (create_table)"));
	struct proto_action again[] = {add(&x)};
	assert_int_equal(apply(f, UUID_A, 2, again, 1, NULL, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "already exists"));
	struct xs z = extents("Nope", 50, 1);
	struct proto_action unknown[] = {add(&z)};
	assert_int_equal(apply(f, UUID_A, 2, unknown, 1, NULL, NULL), -EINVAL);
	assert_non_null(strstr(f->err, "no table 'Nope'"));
	struct proto_action wrongkind[] = {
	    {.op = PROTO_OP_DROP, .entity = {.kind = PROTO_TABLE, .name = (char *)"V"}}};
	assert_int_equal(apply(f, UUID_A, 2, wrongkind, 1, NULL, NULL), -EINVAL);
	struct proto_action nopolicy[] = {
	    {.op = PROTO_OP_SET_CACHING, .table = (char *)"Nope", .has_policy = false}};
	assert_int_equal(apply(f, UUID_A, 2, nopolicy, 1, NULL, NULL), -EINVAL);
	struct xs ext = extents("X", 60, 1);
	struct proto_action external[] = {add(&ext)};
	assert_int_equal(apply(f, UUID_A, 2, external, 1, NULL, NULL), -EINVAL);
	assert_int_equal(applied(f), 1);
	assert_int_equal(table_extents(f, "T").n, 3);
	xs_free(&x);
	xs_free(&y);
	xs_free(&z);
	xs_free(&ext);
}

static void test_commit_versions(void **state)
{
	struct fx *f = *state;
	struct proto_action a[] = {create(PROTO_TABLE, "T")};

	/* Nothing applied yet: only version 1 can come through the log. */
	assert_int_equal(apply(f, UUID_A, 2, a, 1, NULL, NULL), -ERANGE);
	assert_int_equal(apply(f, UUID_A, 1, a, 1, NULL, NULL), 0);
	assert_int_equal(apply(f, UUID_A, 1, NULL, 0, NULL, NULL), -ERANGE);
	assert_int_equal(apply(f, UUID_A, 3, NULL, 0, NULL, NULL), -ERANGE);
	assert_non_null(strstr(f->err, "does not follow applied version 1"));
	assert_int_equal(apply(f, UUID_B, 2, NULL, 0, NULL, NULL), -ESTALE);
	assert_int_equal(apply(f, UUID_A, 2, NULL, 0, NULL, NULL), 0);
	assert_int_equal(applied(f), 2);
	assert_int_equal(apply(f, UUID_A, 3, NULL, 0, NULL, NULL), 0);
	struct proto_commit c = commit(UUID_A, 4, NULL, 0);
	assert_int_equal(store_apply_commit(f->s, "missing", &c, NULL, NULL, f->err), -ENOENT);
}

static bool not_secret(enum proto_kind kind, const char *name, void *arg)
{
	(*(int *)arg)++;
	return strncmp(name, "Secret", 6) != 0;
}

static void test_commit_filter(void **state)
{
	struct fx *f = *state;
	int calls = 0;
	struct store_filter filter = {.include = not_secret, .arg = &calls};
	struct xs x = extents("T", 1, 2), s = extents("Secret", 100, 3);
	struct store_summary sum = {0};
	struct store_entity *v = NULL;
	char ids[2][PROTO_UUID_LEN + 1];
	struct store_db_info d;
	size_t n = 0;
	struct proto_action a[] = {
	    create(PROTO_TABLE, "T"),
	    create(PROTO_TABLE, "Secret"),
	    add(&x),
	    add(&s),
	    {.op = PROTO_OP_SET_CACHING,
	     .table = (char *)"Secret",
	     .has_policy = true,
	     .caching = {.hot_span = DAY}},
	    {.op = PROTO_OP_ALTER, .entity = ent(PROTO_TABLE, "Secret", cols_t, 1)},
	};

	assert_int_equal(apply(f, UUID_A, 1, a, 6, &filter, &sum), 0);
	assert_true(calls > 0);
	assert_int_equal(sum.extents_added, 2);
	assert_false(has_change(&sum, DIFF_CREATED, "Secret", NULL));
	assert_false(has_change(&sum, DIFF_CACHING_CHANGED, "Secret", NULL));
	store_summary_clear(&sum);
	assert_int_equal(store_entities(f->s, "logs", &v, &n, f->err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].e.name, "T");
	store_entities_free(v, n);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM caching"), 0);
	d = db_info(f);
	assert_int_equal(d.extents, 2);
	store_db_info_clear(&d);

	/* Dropping extents the store never saw (they were Secret's): skipped,
	 * since the database has excluded entities. */
	id_of(100, ids[0]);
	id_of(1, ids[1]);
	struct proto_action b[] = {
	    {.op = PROTO_OP_DROP_EXTENTS, .ids = ids, .nids = 2},
	    {.op = PROTO_OP_DROP, .entity = {.kind = PROTO_TABLE, .name = (char *)"Secret"}}};
	assert_int_equal(apply(f, UUID_A, 2, b, 2, &filter, &sum), 0);
	assert_int_equal(sum.extents_removed, 1);
	store_summary_clear(&sum);
	assert_int_equal(table_extents(f, "T").n, 1);
	xs_free(&x);
	xs_free(&s);
}

/* visible_version, totals: the database's, then table T's (visible). */
static void assert_visible(struct fx *f, uint64_t version, uint64_t extents, uint64_t bytes)
{
	struct store_db_info d = db_info(f);
	struct store_entity *v = NULL;
	size_t n = 0;

	assert_int_equal(d.visible_version, version);
	assert_int_equal(d.extents, extents);
	assert_int_equal(d.bytes, bytes);
	store_db_info_clear(&d);
	assert_int_equal(store_entities(f->s, "logs", &v, &n, f->err), 0);
	assert_non_null(find_entity(v, n, "T"));
	assert_int_equal(find_entity(v, n, "T")->extents, extents);
	assert_int_equal(find_entity(v, n, "T")->bytes, bytes);
	store_entities_free(v, n);
}

static bool lists(struct fx *f, enum store_extent_set set, const unsigned *ks, size_t n)
{
	struct collected c = extents_of(f->s, "logs", "T", set);

	for (size_t i = 0; i < n; i++)
		if (!has_id(&c, ks[i]))
			return false;
	return c.n == n;
}

#define LISTS(f, set, ...)                                                                         \
	lists(f, set, (const unsigned[]){__VA_ARGS__},                                             \
	      sizeof((const unsigned[]){__VA_ARGS__}) / sizeof(unsigned))

/* Auto-prefetch: commits applied with prefetch leave the visible version;
 * readers see its extents (held drops included, new ones not) until
 * store_db_publish; an apply without prefetch publishes at once. */
static void test_prefetch_visibility(void **state)
{
	struct fx *f = *state;
	struct store_filter pf = {.prefetch = true};
	struct xs x = extents("T", 1, 3), y = extents("T", 10, 2), z = extents("T", 20, 1);
	char d1[1][PROTO_UUID_LEN + 1], d2[2][PROTO_UUID_LEN + 1], d3[1][PROTO_UUID_LEN + 1];
	uint64_t b123 = xs_bytes(&x);
	struct proto_action a1[] = {create(PROTO_TABLE, "T"), add(&x)};
	struct proto_action a2[] = {{.op = PROTO_OP_DROP_EXTENTS, .ids = d1, .nids = 1}, add(&y)};
	struct proto_action a3[] = {{.op = PROTO_OP_DROP_EXTENTS, .ids = d2, .nids = 2}};
	struct proto_action a4[] = {{.op = PROTO_OP_DROP_EXTENTS, .ids = d3, .nids = 1}};
	struct proto_action a5[] = {add(&z)};
	struct xs u = extents("U", 30, 1);
	struct proto_action a6[] = {create(PROTO_TABLE, "U"), add(&u)};
	struct proto_action a7[] = {
	    {.op = PROTO_OP_DROP, .entity = {.kind = PROTO_TABLE, .name = (char *)"U"}}};

	id_of(1, d1[0]);
	id_of(10, d2[0]);
	id_of(2, d2[1]);
	id_of(3, d3[0]);
	/* v1 without prefetch: visible at once. */
	assert_int_equal(apply(f, UUID_A, 1, a1, 2, NULL, NULL), 0);
	assert_visible(f, 1, 3, b123);
	/* v2 with prefetch: drop 1, add 10 and 11; readers still see v1. */
	assert_int_equal(apply(f, UUID_A, 2, a2, 2, &pf, NULL), 0);
	assert_int_equal(applied(f), 2);
	assert_visible(f, 1, 3, b123);
	assert_true(LISTS(f, STORE_EXTENTS_VISIBLE, 1, 2, 3));
	assert_true(LISTS(f, STORE_EXTENTS_APPLIED, 2, 3, 10, 11));
	assert_true(LISTS(f, STORE_EXTENTS_HELD, 1));
	/* v3: 10 was never visible (deleted), 2 was (held). */
	assert_int_equal(apply(f, UUID_A, 3, a3, 1, &pf, NULL), 0);
	assert_true(LISTS(f, STORE_EXTENTS_VISIBLE, 1, 2, 3));
	assert_true(LISTS(f, STORE_EXTENTS_APPLIED, 3, 11));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 4);
	assert_int_equal(sql_int(f->path, "SELECT dropped FROM extents WHERE id = 2"), 3);
	/* Only the applied version can be published. */
	assert_int_equal(store_db_publish(f->s, "logs", 2, f->err), -ESTALE);
	assert_int_equal(store_db_publish(f->s, "logs", 3, f->err), 0);
	assert_visible(f, 3, 2, x.a[2].size + y.a[1].size);
	assert_true(LISTS(f, STORE_EXTENTS_VISIBLE, 3, 11));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM artifacts"), 2);
	assert_int_equal(store_db_publish(f->s, "logs", 3, f->err), 0);
	assert_int_equal(store_db_publish(f->s, "nope", 3, f->err), -ENOENT);
	/* v4 held, then v5 without prefetch: published with v5, held rows gone. */
	assert_int_equal(apply(f, UUID_A, 4, a4, 1, &pf, NULL), 0);
	assert_true(LISTS(f, STORE_EXTENTS_VISIBLE, 3, 11));
	assert_int_equal(apply(f, UUID_A, 5, a5, 1, NULL, NULL), 0);
	assert_visible(f, 5, 2, y.a[1].size + z.a[0].size);
	assert_true(LISTS(f, STORE_EXTENTS_VISIBLE, 11, 20));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents WHERE dropped IS NOT NULL"),
	                 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM artifacts"), 2);
	/* v6 adds table U with extent 30; v7, held, drops U: the schema is the
	 * applied version's, so U's extents leave the visible totals at once. */
	assert_int_equal(apply(f, UUID_A, 6, a6, 2, NULL, NULL), 0);
	assert_int_equal(sql_int(f->path, "SELECT visible_extents FROM databases"), 3);
	assert_int_equal(apply(f, UUID_A, 7, a7, 1, &pf, NULL), 0);
	assert_visible(f, 6, 2, y.a[1].size + z.a[0].size);
	assert_int_equal(store_db_publish(f->s, "logs", 7, f->err), 0);
	assert_visible(f, 7, 2, y.a[1].size + z.a[0].size);
	xs_free(&x);
	xs_free(&y);
	xs_free(&z);
	xs_free(&u);
}

static void test_history_bounded(void **state)
{
	struct fx *f = *state;
	struct store_history *h = NULL;
	size_t n = 0;

	for (uint64_t v = 1; v <= STORE_HISTORY_MAX + 5; v++)
		assert_int_equal(apply(f, UUID_A, v, NULL, 0, NULL, NULL), 0);
	assert_int_equal(store_history(f->s, "logs", 0, &h, &n, f->err), 0);
	assert_int_equal(n, STORE_HISTORY_MAX);
	assert_int_equal(h[0].version, STORE_HISTORY_MAX + 5);
	assert_int_equal(h[n - 1].version, 6);
	assert_false(h[0].checkpoint);
	assert_string_equal(h[0].changes, "[]");
	store_history_free(h, n);
	assert_int_equal(store_history(f->s, "logs", 3, &h, &n, f->err), 0);
	assert_int_equal(n, 3);
	store_history_free(h, n);
}

/* ---- checkpoints ---- */

static struct proto_manifest manifest(const char *uuid, uint64_t version,
                                      const struct proto_counts *counts)
{
	struct proto_manifest m = {.database = (char *)"Logs",
	                           .version = version,
	                           .committed = T0 + (int64_t)version * PROTO_TICKS_PER_SEC,
	                           .counts = *counts};

	memcpy(m.uuid, uuid, sizeof(m.uuid));
	return m;
}

/* Begins, feeds recs in slices of slice records, finishes. */
static int load(struct fx *f, const char *uuid, uint64_t version, const struct proto_counts *c,
                const struct proto_action *recs, size_t n, size_t slice,
                const struct store_filter *filter, struct store_summary *sum)
{
	struct proto_manifest m = manifest(uuid, version, c);
	struct store_ckpt *ck = NULL;
	int r = store_checkpoint_begin(f->s, "logs", &m, filter, &ck, f->err);

	for (size_t i = 0; r == 0 && i < n; i += slice)
		r = store_checkpoint_feed(ck, recs + i, n - i < slice ? n - i : slice, f->err);
	if (r < 0) {
		store_checkpoint_abort(ck);
		return r;
	}
	return store_checkpoint_finish(ck, sum, f->err);
}

static struct proto_counts counts_of(uint64_t tables, uint64_t ext, uint64_t mvs,
                                     const struct xs *const *v, size_t nv)
{
	struct proto_counts c = {
	    .tables = tables, .external_tables = ext, .materialized_views = mvs};

	for (size_t i = 0; i < nv; i++) {
		c.extents += v[i]->n;
		c.rows += xs_rows(v[i]);
		c.bytes += xs_bytes(v[i]);
	}
	return c;
}

/* Checkpoint v10: T (extents 1-6 in two records), X, V (extent 7), policies,
 * principals. */
struct ck10 {
	struct xs t1, t2, v;
	struct proto_counts counts;
};

static void ck10_load(struct fx *f, struct ck10 *k, size_t slice, struct store_summary *sum)
{
	k->t1 = extents("T", 1, 3);
	k->t2 = extents("T", 4, 3);
	k->v = extents("V", 7, 1);
	struct proto_action recs[] = {
	    create(PROTO_TABLE, "T"),
	    create(PROTO_EXTERNAL_TABLE, "X"),
	    create(PROTO_MATERIALIZED_VIEW, "V"),
	    {.op = PROTO_OP_SET_CACHING, .has_policy = true, .caching = {.hot_span = 7 * DAY}},
	    {.op = PROTO_OP_SET_CACHING,
	     .table = (char *)"T",
	     .has_policy = true,
	     .caching = {.hot_span = DAY}},
	    {.op = PROTO_OP_SET_RETENTION,
	     .has_policy = true,
	     .retention = {.soft_delete = 10 * DAY}},
	    {.op = PROTO_OP_SET_PRINCIPALS,
	     .role = PROTO_ROLE_ADMINS,
	     .principals = prin_v1,
	     .nprincipals = 2},
	    add(&k->t1),
	    add(&k->t2),
	    add(&k->v),
	};
	const struct xs *all[] = {&k->t1, &k->t2, &k->v};

	k->counts = counts_of(1, 1, 1, all, 3);
	assert_int_equal(load(f, UUID_A, 10, &k->counts, recs, 10, slice, NULL, sum), 0);
}

static void ck10_free(struct ck10 *k)
{
	xs_free(&k->t1);
	xs_free(&k->t2);
	xs_free(&k->v);
}

static void test_checkpoint_initial(void **state)
{
	struct fx *f = *state;
	struct store_summary sum = {0};
	struct store_entity *v = NULL;
	struct store_history *h = NULL;
	struct store_db_info d;
	struct ck10 k;
	size_t n = 0;

	ck10_load(f, &k, 2, &sum);
	assert_int_equal(sum.extents_added, 7);
	assert_int_equal(sum.extents_removed, 0);
	assert_int_equal(sum.bytes_added, k.counts.bytes);
	assert_int_equal(sum.rows_added, k.counts.rows);
	assert_false(sum.rewound);
	assert_true(has_change(&sum, DIFF_CREATED, "T", NULL));
	assert_true(has_change(&sum, DIFF_CREATED, "X", NULL));
	assert_true(has_change(&sum, DIFF_CREATED, "V", NULL));
	assert_true(has_change(&sum, DIFF_PRINCIPAL_ADDED, NULL, "aaduser=bob@x"));
	store_summary_clear(&sum);

	d = db_info(f);
	assert_int_equal(d.applied_version, 10);
	assert_string_equal(d.uuid, UUID_A);
	assert_int_equal(d.applied_committed, T0 + 10 * PROTO_TICKS_PER_SEC);
	assert_int_equal(d.extents, 7);
	assert_int_equal(d.rows, k.counts.rows);
	assert_int_equal(d.bytes, k.counts.bytes);
	store_db_info_clear(&d);

	assert_int_equal(store_entities(f->s, "logs", &v, &n, f->err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(find_entity(v, n, "T")->extents, 6);
	assert_int_equal(find_entity(v, n, "T")->caching.hot_span, DAY);
	assert_int_equal(find_entity(v, n, "V")->extents, 1);
	assert_int_equal(find_entity(v, n, "T")->e.ncolumns, 3);
	store_entities_free(v, n);
	struct collected c = table_extents(f, "T");
	assert_int_equal(c.n, 6);
	assert_string_equal(c.paths[0], k.t1.paths[0]);

	assert_int_equal(store_history(f->s, "logs", 0, &h, &n, f->err), 0);
	assert_int_equal(n, 1);
	assert_true(h[0].checkpoint);
	assert_int_equal(h[0].version, 10);
	assert_int_equal(h[0].extents_added, 7);
	assert_non_null(strstr(h[0].changes, "\"created\""));
	store_history_free(h, n);

	/* The log continues from the checkpoint's version. */
	assert_int_equal(apply(f, UUID_A, 11, NULL, 0, NULL, NULL), 0);
	ck10_free(&k);
}

static struct proto_principal prin_admins2[] = {{(char *)"aaduser=alice@x", (char *)"Alice"}};

static void test_checkpoint_diff(void **state)
{
	struct fx *f = *state;
	struct store_summary sum = {0};
	struct store_entity *v = NULL;
	struct ck10 k;
	size_t n = 0;
	struct proto_column cols2[] = {{(char *)"msg", PROTO_T_STRING},
	                               {(char *)"ts", PROTO_T_DATETIME},
	                               {(char *)"n", PROTO_T_INT},
	                               {(char *)"extra", PROTO_T_BOOL}};

	ck10_load(f, &k, 3, &sum);
	store_summary_clear(&sum);
	/* v20: T altered, keeps 1-3, loses 4-6, gains 30-31; V gone; N new
	 * with 40; database caching changed; admins lose bob. */
	struct xs keep = extents("T", 1, 3), more = extents("T", 30, 2), nx = extents("N", 40, 1);
	struct proto_action recs[] = {
	    {.op = PROTO_OP_CREATE, .entity = ent(PROTO_TABLE, "T", cols2, 4)},
	    create(PROTO_EXTERNAL_TABLE, "X"),
	    create(PROTO_TABLE, "N"),
	    {.op = PROTO_OP_SET_CACHING, .has_policy = true, .caching = {.hot_span = 3 * DAY}},
	    {.op = PROTO_OP_SET_CACHING,
	     .table = (char *)"T",
	     .has_policy = true,
	     .caching = {.hot_span = DAY}},
	    {.op = PROTO_OP_SET_RETENTION,
	     .has_policy = true,
	     .retention = {.soft_delete = 10 * DAY}},
	    {.op = PROTO_OP_SET_PRINCIPALS,
	     .role = PROTO_ROLE_ADMINS,
	     .principals = prin_admins2,
	     .nprincipals = 1},
	    add(&more),
	    add(&keep),
	    add(&nx),
	};
	const struct xs *all[] = {&keep, &more, &nx};
	struct proto_counts c20 = counts_of(2, 1, 0, all, 3);

	assert_int_equal(load(f, UUID_A, 20, &c20, recs, 10, 4, NULL, &sum), 0);
	assert_false(sum.rewound);
	assert_int_equal(sum.extents_added, 3);
	assert_int_equal(sum.extents_removed, 4);
	assert_int_equal(sum.bytes_added, xs_bytes(&more) + xs_bytes(&nx));
	assert_int_equal(sum.bytes_removed, xs_bytes(&k.t2) + xs_bytes(&k.v));
	assert_int_equal(sum.rows_removed, xs_rows(&k.t2) + xs_rows(&k.v));
	assert_true(has_change(&sum, DIFF_COLUMNS_REORDERED, "T", NULL));
	assert_true(has_change(&sum, DIFF_COLUMN_ADDED, "T", "extra"));
	assert_true(has_change(&sum, DIFF_DROPPED, "V", NULL));
	assert_true(has_change(&sum, DIFF_CREATED, "N", NULL));
	assert_false(has_change(&sum, DIFF_CREATED, "T", NULL));
	assert_false(has_change(&sum, DIFF_CACHING_CHANGED, "T", NULL));
	assert_true(has_change(&sum, DIFF_CACHING_CHANGED, NULL, NULL));
	assert_false(has_change(&sum, DIFF_RETENTION_CHANGED, NULL, NULL));
	assert_true(has_change(&sum, DIFF_PRINCIPAL_REMOVED, NULL, "aaduser=bob@x"));
	assert_false(has_change(&sum, DIFF_LOCATION_CHANGED, "X", NULL));
	store_summary_clear(&sum);

	struct collected t = table_extents(f, "T");
	assert_int_equal(t.n, 5);
	assert_true(has_id(&t, 1) && has_id(&t, 2) && has_id(&t, 3));
	assert_true(has_id(&t, 30) && has_id(&t, 31));
	assert_false(has_id(&t, 4));
	assert_int_equal(table_extents(f, "N").n, 1);
	assert_int_equal(store_entities(f->s, "logs", &v, &n, f->err), 0);
	assert_int_equal(n, 3);
	assert_null(find_entity(v, n, "V"));
	assert_int_equal(find_entity(v, n, "T")->extents, 5);
	assert_int_equal(find_entity(v, n, "T")->e.ncolumns, 4);
	assert_string_equal(find_entity(v, n, "T")->e.columns[0].name, "msg");
	store_entities_free(v, n);
	assert_int_equal(applied(f), 20);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM artifacts"), 6);

	/* The same checkpoint again changes nothing. */
	assert_int_equal(load(f, UUID_A, 20, &c20, recs, 10, 10, NULL, &sum), 0);
	assert_int_equal(sum.extents_added + sum.extents_removed + sum.changes.n, 0);
	store_summary_clear(&sum);
	xs_free(&keep);
	xs_free(&more);
	xs_free(&nx);
	ck10_free(&k);
}

static void test_checkpoint_counts(void **state)
{
	struct fx *f = *state;
	struct store_summary sum = {0};
	struct ck10 k;

	ck10_load(f, &k, 10, &sum);
	store_summary_clear(&sum);
	struct xs more = extents("T", 30, 1);
	struct proto_action recs[] = {create(PROTO_TABLE, "T"), add(&more)};
	const struct xs *all[] = {&more};
	struct proto_counts c = counts_of(1, 0, 0, all, 1);

	c.extents++;
	assert_int_equal(load(f, UUID_A, 20, &c, recs, 2, 1, NULL, &sum), -EBADMSG);
	assert_non_null(strstr(f->err, "extents"));
	c.extents--;
	c.bytes += 1;
	assert_int_equal(load(f, UUID_A, 20, &c, recs, 2, 1, NULL, &sum), -EBADMSG);
	assert_non_null(strstr(f->err, "bytes"));
	c.bytes -= 1;
	c.materialized_views = 1;
	assert_int_equal(load(f, UUID_A, 20, &c, recs, 2, 1, NULL, &sum), -EBADMSG);
	/* Nothing changed by the refused loads. */
	assert_int_equal(applied(f), 10);
	assert_int_equal(table_extents(f, "T").n, 6);
	c.materialized_views = 0;
	assert_int_equal(load(f, UUID_A, 20, &c, recs, 2, 1, NULL, &sum), 0);
	assert_int_equal(table_extents(f, "T").n, 1);
	store_summary_clear(&sum);
	xs_free(&more);
	ck10_free(&k);
}

static void test_checkpoint_filter(void **state)
{
	struct fx *f = *state;
	int calls = 0;
	struct store_filter filter = {.include = not_secret, .arg = &calls};
	struct store_summary sum = {0};
	struct xs t = extents("T", 1, 2), s = extents("Secret", 100, 3);
	struct proto_action recs[] = {
	    create(PROTO_TABLE, "T"),
	    create(PROTO_TABLE, "Secret"),
	    {.op = PROTO_OP_SET_CACHING,
	     .table = (char *)"Secret",
	     .has_policy = true,
	     .caching = {.hot_span = DAY}},
	    add(&t),
	    add(&s),
	};
	const struct xs *all[] = {&t, &s};
	const struct xs *kept[] = {&t};
	/* The manifest counts everything the leader has. */
	struct proto_counts c = counts_of(2, 0, 0, all, 2);
	struct proto_counts only_kept = counts_of(1, 0, 0, kept, 1);

	assert_int_equal(load(f, UUID_A, 5, &only_kept, recs, 5, 2, &filter, &sum), -EBADMSG);
	assert_int_equal(load(f, UUID_A, 5, &c, recs, 5, 2, &filter, &sum), 0);
	assert_int_equal(sum.extents_added, 2);
	assert_false(has_change(&sum, DIFF_CREATED, "Secret", NULL));
	store_summary_clear(&sum);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM entities"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM caching"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM excluded WHERE name='Secret'"), 1);
	/* A commit dropping a Secret extent is tolerated afterwards. */
	char ids[1][PROTO_UUID_LEN + 1];
	id_of(101, ids[0]);
	struct proto_action b[] = {{.op = PROTO_OP_DROP_EXTENTS, .ids = ids, .nids = 1}};
	assert_int_equal(apply(f, UUID_A, 6, b, 1, &filter, NULL), 0);
	xs_free(&t);
	xs_free(&s);
}

static void test_checkpoint_rewind(void **state)
{
	struct fx *f = *state;
	struct store_summary sum = {0};
	struct store_history *h = NULL;
	struct xs x = extents("T", 1, 3), y = extents("Fresh", 200, 2);
	size_t n = 0;

	apply_v1(f, &x, &sum);
	store_summary_clear(&sum);
	assert_int_equal(apply(f, UUID_A, 2, NULL, 0, NULL, NULL), 0);
	struct proto_action recs[] = {create(PROTO_TABLE, "Fresh"), add(&y)};
	const struct xs *all[] = {&y};
	struct proto_counts c = counts_of(1, 0, 0, all, 1);

	assert_int_equal(load(f, UUID_B, 5, &c, recs, 2, 1, NULL, &sum), 0);
	assert_true(sum.rewound);
	assert_int_equal(sum.extents_removed, 3);
	assert_int_equal(sum.extents_added, 2);
	assert_true(has_change(&sum, DIFF_DROPPED, "T", NULL));
	assert_true(has_change(&sum, DIFF_CREATED, "Fresh", NULL));
	assert_true(has_change(&sum, DIFF_PRINCIPAL_REMOVED, NULL, "aaduser=alice@x"));
	store_summary_clear(&sum);
	struct store_db_info d = db_info(f);
	assert_string_equal(d.uuid, UUID_B);
	assert_int_equal(d.applied_version, 5);
	assert_int_equal(d.extents, 2);
	store_db_info_clear(&d);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 2);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM entities"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM principals"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM caching"), 0);
	/* The old uuid's history is gone; the checkpoint's row notes the rewind. */
	assert_int_equal(store_history(f->s, "logs", 0, &h, &n, f->err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(h[0].uuid, UUID_B);
	assert_non_null(strstr(h[0].changes, "\"rewind\""));
	assert_non_null(strstr(h[0].changes, UUID_A));
	store_history_free(h, n);
	/* Commits of the old uuid are refused now. */
	assert_int_equal(apply(f, UUID_A, 3, NULL, 0, NULL, NULL), -ESTALE);
	assert_int_equal(apply(f, UUID_B, 6, NULL, 0, NULL, NULL), 0);
	xs_free(&x);
	xs_free(&y);
}

/* A checkpoint keeps no older version: loaded over held commits, it is
 * visible at once and the held rows are gone (counts still verified). */
static void test_prefetch_checkpoint(void **state)
{
	struct fx *f = *state;
	struct store_filter pf = {.prefetch = true};
	struct xs x = extents("T", 1, 3), y = extents("T", 10, 1);
	struct xs a = extents("T", 2, 2), b = extents("T", 20, 1);
	char d1[1][PROTO_UUID_LEN + 1];
	struct proto_action c1[] = {create(PROTO_TABLE, "T"), add(&x)};
	struct proto_action c2[] = {{.op = PROTO_OP_DROP_EXTENTS, .ids = d1, .nids = 1}, add(&y)};
	struct proto_action recs[] = {create(PROTO_TABLE, "T"), add(&a), add(&y), add(&b)};
	const struct xs *all[] = {&a, &y, &b};
	struct proto_counts counts = counts_of(1, 0, 0, all, 3);
	struct store_summary sum = {0};

	id_of(1, d1[0]);
	assert_int_equal(apply(f, UUID_A, 1, c1, 2, NULL, NULL), 0);
	assert_int_equal(apply(f, UUID_A, 2, c2, 2, &pf, NULL), 0);
	assert_true(LISTS(f, STORE_EXTENTS_VISIBLE, 1, 2, 3));
	assert_int_equal(load(f, UUID_A, 5, &counts, recs, 4, 2, &pf, &sum), 0);
	assert_int_equal(sum.extents_added, 1);
	assert_int_equal(sum.extents_removed, 0);
	store_summary_clear(&sum);
	assert_int_equal(applied(f), 5);
	assert_visible(f, 5, 4, xs_bytes(&a) + xs_bytes(&y) + xs_bytes(&b));
	assert_true(LISTS(f, STORE_EXTENTS_VISIBLE, 2, 3, 10, 20));
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 4);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM artifacts"), 4);
	xs_free(&x);
	xs_free(&y);
	xs_free(&a);
	xs_free(&b);
}

static void test_checkpoint_errors(void **state)
{
	struct fx *f = *state;
	struct store_summary sum = {0};
	struct proto_counts zero = {0};
	struct proto_manifest m = manifest(UUID_A, 3, &zero);
	struct store_ckpt *ck = NULL;
	struct xs x = extents("T", 1, 2), bad = extents("Nope", 9, 1);
	struct proto_action ok[] = {create(PROTO_TABLE, "T"), add(&x)};
	struct proto_action unknown[] = {add(&bad)};
	struct proto_action drop[] = {
	    {.op = PROTO_OP_DROP, .entity = {.kind = PROTO_TABLE, .name = (char *)"T"}}};

	/* An unknown table: the feed fails, naming the record; finish refuses. */
	assert_int_equal(store_checkpoint_begin(f->s, "logs", &m, NULL, &ck, f->err), 0);
	assert_int_equal(store_checkpoint_feed(ck, ok, 2, f->err), 0);
	assert_int_equal(store_checkpoint_feed(ck, unknown, 1, f->err), -EINVAL);
	assert_non_null(strstr(f->err, "record 2 (add_extents)"));
	assert_non_null(strstr(f->err, "no table 'Nope'"));
	assert_int_equal(store_checkpoint_feed(ck, ok, 1, f->err), -EINVAL);
	assert_int_equal(store_checkpoint_finish(ck, &sum, f->err), -EINVAL);
	assert_int_equal(applied(f), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM entities"), 0);

	/* Ops a checkpoint cannot hold; a name created twice. */
	assert_int_equal(store_checkpoint_begin(f->s, "logs", &m, NULL, &ck, f->err), 0);
	assert_int_equal(store_checkpoint_feed(ck, drop, 1, f->err), -EINVAL);
	assert_non_null(strstr(f->err, "not allowed in a checkpoint"));
	store_checkpoint_abort(ck);
	assert_int_equal(store_checkpoint_begin(f->s, "logs", &m, NULL, &ck, f->err), 0);
	assert_int_equal(store_checkpoint_feed(ck, ok, 1, f->err), 0);
	assert_int_equal(store_checkpoint_feed(ck, ok, 1, f->err), -EINVAL);
	assert_non_null(strstr(f->err, "created twice"));
	store_checkpoint_abort(ck);
	store_checkpoint_abort(NULL);

	/* The same extent twice, on a first load and on a diff. */
	struct proto_action dup[] = {create(PROTO_TABLE, "T"), add(&x), add(&x)};
	const struct xs *twice[] = {&x, &x};
	struct proto_counts c = counts_of(1, 0, 0, twice, 2);
	assert_int_equal(load(f, UUID_A, 3, &c, dup, 3, 3, NULL, &sum), -EBADMSG);
	assert_non_null(strstr(f->err, "listed twice"));
	const struct xs *once[] = {&x};
	struct proto_counts c1 = counts_of(1, 0, 0, once, 1);
	assert_int_equal(load(f, UUID_A, 3, &c1, dup, 2, 3, NULL, &sum), 0);
	store_summary_clear(&sum);
	assert_int_equal(load(f, UUID_A, 4, &c, dup, 3, 3, NULL, &sum), -EBADMSG);
	assert_non_null(strstr(f->err, "listed twice"));
	assert_int_equal(applied(f), 3);

	/* Staging databases are detached: more checkpoints than ATTACH allows. */
	for (int i = 0; i < 20; i++) {
		assert_int_equal(store_checkpoint_begin(f->s, "logs", &m, NULL, &ck, f->err), 0);
		store_checkpoint_abort(ck);
	}
	assert_int_equal(store_checkpoint_begin(f->s, "missing", &m, NULL, &ck, f->err), -ENOENT);
	xs_free(&x);
	xs_free(&bad);
}

/* Two checkpoints staged at once on one handle, finished in turn. */
static void test_checkpoint_concurrent(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 2), y = extents("U", 50, 3);
	struct proto_action r1[] = {create(PROTO_TABLE, "T"), add(&x)};
	struct proto_action r2[] = {create(PROTO_TABLE, "U"), add(&y)};
	const struct xs *a1[] = {&x}, *a2[] = {&y};
	struct proto_counts c1 = counts_of(1, 0, 0, a1, 1), c2 = counts_of(1, 0, 0, a2, 1);
	struct proto_manifest m1 = manifest(UUID_A, 3, &c1), m2 = manifest(UUID_B, 4, &c2);
	struct store_ckpt *k1 = NULL, *k2 = NULL;

	assert_int_equal(store_db_add(f->s, "other", "file:///o", "O", "O", f->err), 0);
	assert_int_equal(store_checkpoint_begin(f->s, "logs", &m1, NULL, &k1, f->err), 0);
	assert_int_equal(store_checkpoint_begin(f->s, "other", &m2, NULL, &k2, f->err), 0);
	assert_int_equal(store_checkpoint_feed(k1, r1, 1, f->err), 0);
	assert_int_equal(store_checkpoint_feed(k2, r2, 2, f->err), 0);
	/* A commit elsewhere goes through while both are staged. */
	assert_int_equal(store_db_set_state(f->s, "logs", "loading", f->err), 0);
	assert_int_equal(store_checkpoint_feed(k1, r1 + 1, 1, f->err), 0);
	assert_int_equal(store_checkpoint_finish(k2, NULL, f->err), 0);
	assert_int_equal(store_checkpoint_finish(k1, NULL, f->err), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 5);
	assert_int_equal(applied(f), 3);
	xs_free(&x);
	xs_free(&y);
}

/* ---- detach, blobs ---- */

struct blobs_seen {
	size_t n;
	char sha[4][PROTO_SHA256_LEN + 1];
};

static int collect_blob(void *arg, const struct store_blob *b)
{
	struct blobs_seen *s = arg;

	if (s->n < 4)
		memcpy(s->sha[s->n], b->sha256, sizeof(s->sha[0]));
	s->n++;
	return 0;
}

static void put_blob(struct fx *f, unsigned k, enum store_blob_state state)
{
	struct store_blob b = {.state = state, .size = 1000 + k, .fails = 2, .last_access = T0};

	(void)snprintf(b.sha256, sizeof(b.sha256), "%064x", k);
	assert_int_equal(store_blob_put(f->s, &b, f->err), 0);
}

static void test_blobs(void **state)
{
	struct fx *f = *state;
	struct store_blob b;

	put_blob(f, 5, STORE_BLOB_QUARANTINED);
	(void)snprintf(b.sha256, sizeof(b.sha256), "%064x", 5);
	memset(&b, 0, sizeof(b));
	(void)snprintf(b.sha256, sizeof(b.sha256), "%064x", 5);
	assert_int_equal(store_blob_get(f->s, b.sha256, &b, f->err), 0);
	assert_int_equal(b.state, STORE_BLOB_QUARANTINED);
	assert_int_equal(b.size, 1005);
	assert_int_equal(b.fails, 2);
	assert_int_equal(b.last_access, T0);
	put_blob(f, 5, STORE_BLOB_CACHED);
	assert_int_equal(store_blob_get(f->s, b.sha256, &b, f->err), 0);
	assert_int_equal(b.state, STORE_BLOB_CACHED);
	(void)snprintf(b.sha256, sizeof(b.sha256), "%064x", 6);
	assert_int_equal(store_blob_get(f->s, b.sha256, &b, f->err), -ENOENT);
	assert_int_equal(store_blob_get(f->s, "xyz", &b, f->err), -EINVAL);
}

static int64_t generation(struct store *s)
{
	char err[STORE_ERRLEN];
	int64_t g = -1;

	assert_int_equal(store_generation(s, &g, err), 0);
	return g;
}

/* The generation moves with every change of what readers see, in its
 * transaction, and never with a status row or a blob state (what a query
 * worker's kept session relies on). */
static void test_generation(void **state)
{
	struct fx *f = *state;
	struct store_filter pf = {.prefetch = true};
	struct xs x = extents("T", 1, 2), y = extents("T", 10, 1);
	struct proto_action a1[] = {create(PROTO_TABLE, "T"), add(&x)}, a2[] = {add(&y)};
	struct store_blob b = {.state = STORE_BLOB_CACHED, .size = 1};
	struct store *ro = NULL;
	int64_t g = generation(f->s);

	assert_int_equal(store_open_readonly(f->path, &ro, f->err), 0);
	assert_int_equal(generation(ro), g);
	/* status and cache state: the same generation */
	assert_int_equal(store_db_set_poll(f->s, "logs", T0, 7, T0, f->err), 0);
	assert_int_equal(store_db_set_state(f->s, "logs", "following", f->err), 0);
	assert_int_equal(store_db_set_error(f->s, "logs", "unreachable", f->err), 0);
	(void)snprintf(b.sha256, sizeof(b.sha256), "%064x", 1);
	assert_int_equal(store_blobs_put(f->s, &b, 1, f->err), 0);
	assert_int_equal(store_db_add(f->s, "logs", "r", "l", "n", f->err), -EEXIST);
	assert_int_equal(store_overlay_delete(f->s, "none", f->err), -ENOENT);
	assert_int_equal(generation(ro), g);
	/* changes: one step each, seen by a reader */
	assert_int_equal(apply(f, UUID_A, 1, a1, 2, NULL, NULL), 0);
	assert_int_equal(generation(ro), g + 1);
	assert_int_equal(apply(f, UUID_A, 2, a2, 1, &pf, NULL), 0);
	assert_int_equal(store_db_publish(f->s, "logs", 2, f->err), 0);
	assert_int_equal(generation(ro), g + 3);
	assert_int_equal(store_db_publish(f->s, "logs", 2, f->err), 0); /* visible already */
	assert_int_equal(store_config_put(f->s, "logs", "{}", f->err), 0);
	assert_int_equal(store_overlay_put(f->s, "logs", "{}", f->err), 0);
	assert_int_equal(store_overlay_delete(f->s, "logs", f->err), 0);
	assert_int_equal(store_db_add(f->s, "other", "r", "l", "n", f->err), 0);
	assert_int_equal(store_db_detach(f->s, "other", f->err), 0);
	assert_int_equal(generation(ro), g + 8);
	/* a failed change leaves it */
	assert_int_equal(apply(f, UUID_A, 9, a2, 1, NULL, NULL), -ERANGE);
	assert_int_equal(generation(f->s), g + 8);
	store_free(ro);
	xs_free(&x);
	xs_free(&y);
}

static void test_detach(void **state)
{
	struct fx *f = *state;
	struct store_summary sum = {0};
	struct xs x = extents("T", 1, 3), o = extents("T", 500, 1);
	struct blobs_seen seen = {0};
	struct store_db_info d;
	char sha[PROTO_SHA256_LEN + 1];

	apply_v1(f, &x, &sum);
	store_summary_clear(&sum);
	assert_int_equal(store_config_put(f->s, "logs", "{}", f->err), 0);
	assert_int_equal(store_db_add(f->s, "other", "file:///o", "O", "O", f->err), 0);
	struct proto_action a[] = {create(PROTO_TABLE, "T"), add(&o)};
	struct proto_commit c = commit(UUID_B, 1, a, 2);
	assert_int_equal(store_apply_commit(f->s, "other", &c, NULL, NULL, f->err), 0);
	put_blob(f, 1, STORE_BLOB_CACHED);
	put_blob(f, 500, STORE_BLOB_CACHED);
	put_blob(f, 999, STORE_BLOB_CACHED);
	assert_int_equal(store_blobs_unreferenced(f->s, collect_blob, &seen, f->err), 0);
	assert_int_equal(seen.n, 1);
	(void)snprintf(sha, sizeof(sha), "%064x", 999);
	assert_string_equal(seen.sha[0], sha);

	assert_int_equal(store_db_detach(f->s, "logs", f->err), 0);
	assert_int_equal(store_db_get(f->s, "logs", &d, f->err), -ENOENT);
	assert_int_equal(store_db_detach(f->s, "logs", f->err), -ENOENT);
	char *json = NULL;
	assert_int_equal(store_config_get(f->s, "logs", &json, f->err), -ENOENT);
	/* Only the other database's rows remain. */
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM artifacts"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM entities"), 1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM columns"), 3);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM principals"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM caching"), 0);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM history"), 1);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(store_blobs_unreferenced(f->s, collect_blob, &seen, f->err), 0);
	assert_int_equal(seen.n, 2);
	(void)snprintf(sha, sizeof(sha), "%064x", 1);
	assert_string_equal(seen.sha[0], sha);
	xs_free(&x);
	xs_free(&o);
}

/* ---- reading ---- */

struct rows_seen {
	int n;
	char first[64];
};

static int collect_row(void *arg, int ncols, const char *const *values)
{
	struct rows_seen *r = arg;

	if (r->n++ == 0 && ncols > 0)
		(void)snprintf(r->first, sizeof(r->first), "%s", values[0] ? values[0] : "NULL");
	return 0;
}

static void test_readonly(void **state)
{
	struct fx *f = *state;
	struct store *ro = NULL;
	struct store_db_info *v = NULL;
	struct rows_seen rows = {0};
	size_t n = 0;
	char err[STORE_ERRLEN];
	static const char *const refused[] = {
	    "INSERT INTO configs VALUES('x', 'y')",
	    "DELETE FROM databases",
	    "UPDATE databases SET state = 'x'",
	    "PRAGMA query_only = 0",
	    "PRAGMA user_version = 5",
	    "ATTACH '/tmp/test_store_ro_attach.db' AS a",
	    "CREATE TABLE t(x)",
	    "DROP TABLE configs",
	};

	assert_int_equal(store_open_readonly(f->path, &ro, err), 0);
	assert_int_equal(store_query(ro, "SELECT count(*) FROM databases", collect_row, &rows, err),
	                 0);
	assert_int_equal(rows.n, 1);
	assert_string_equal(rows.first, "1");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int r = store_query(ro, refused[i], collect_row, &rows, err);

		if (r >= 0)
			fail_msg("accepted on a read-only handle: %s", refused[i]);
	}
	assert_int_equal(access("/tmp/test_store_ro_attach.db", F_OK), -1);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM databases"), 1);
	assert_int_equal(store_config_put(ro, "x", "{}", err), -EROFS);
	assert_int_equal(store_db_set_state(ro, "logs", "x", err), -EROFS);
	assert_int_equal(store_db_add(ro, "x", "r", "l", "n", err), -EROFS);
	assert_int_equal(store_db_detach(ro, "logs", err), -EROFS);
	assert_int_equal(apply(&(struct fx){.s = ro}, UUID_A, 1, NULL, 0, NULL, NULL), -EROFS);
	/* Reads work through it, and see the writer's commits. */
	assert_int_equal(store_db_list(ro, &v, &n, err), 0);
	assert_int_equal(n, 1);
	store_db_info_array_free(v, n);
	assert_int_equal(store_db_set_state(f->s, "logs", "following", f->err), 0);
	assert_int_equal(store_db_list(ro, &v, &n, err), 0);
	assert_string_equal(v[0].state, "following");
	store_db_info_array_free(v, n);
	/* Ad-hoc SQL is for read-only handles only. */
	assert_int_equal(store_query(f->s, "SELECT 1", collect_row, &rows, err), -EPERM);
	store_free(ro);
}

static void test_lag(void **state)
{
	struct fx *f = *state;
	struct store_lag lag;

	assert_int_equal(apply(f, UUID_A, 1, NULL, 0, NULL, NULL), 0);
	assert_int_equal(store_db_set_poll(f->s, "logs", T0 + 200 * PROTO_TICKS_PER_SEC, 5,
	                                   T0 + 100 * PROTO_TICKS_PER_SEC, f->err),
	                 0);
	assert_int_equal(store_lag(f->s, "logs", &lag, f->err), 0);
	assert_int_equal(lag.versions, 4);
	assert_int_equal(lag.ticks, 99 * PROTO_TICKS_PER_SEC);
	assert_int_equal(store_db_set_poll(f->s, "logs", T0, 1, T0 + PROTO_TICKS_PER_SEC, f->err),
	                 0);
	assert_int_equal(store_lag(f->s, "logs", &lag, f->err), 0);
	assert_int_equal(lag.versions, 0);
	assert_int_equal(lag.ticks, 0);
	assert_int_equal(store_lag(f->s, "nope", &lag, f->err), -ENOENT);
}

static int stop_after_two(void *arg, int64_t id, const struct proto_extent *x)
{
	return ++*(int *)arg == 2 ? 7 : 0;
}

static void test_extents_paging(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 25);
	struct proto_action a[] = {create(PROTO_TABLE, "T"), add(&x)};
	struct store_extent_query q = {
	    .config = "logs", .table = "T", .from = INT64_MIN, .to = INT64_MAX, .limit = 10};
	struct collected c = {0};
	size_t total = 0;
	int calls = 0;

	x.x[0].tags = (char *[]){(char *)"drop-by:x", (char *)"ingest-by:y"};
	x.x[0].ntags = 2;
	assert_int_equal(apply(f, UUID_A, 1, a, 2, NULL, NULL), 0);
	for (int page = 0; page < 4; page++) {
		memset(&c, 0, sizeof(c));
		assert_int_equal(store_extents(f->s, &q, collect, &c, f->err), 0);
		total += c.n;
		q.after = c.last;
		if (c.n < 10)
			break;
	}
	assert_int_equal(total, 25);
	q.after = 0;
	q.from = T0 + 5 * DAY;
	q.to = T0 + 9 * DAY;
	c = (struct collected){0};
	assert_int_equal(store_extents(f->s, &q, collect, &c, f->err), 0);
	assert_int_equal(c.n, 5);
	assert_true(has_id(&c, 5) && has_id(&c, 9));
	q.from = INT64_MIN;
	q.to = INT64_MAX;
	assert_int_equal(store_extents(f->s, &q, stop_after_two, &calls, f->err), 7);
	q.table = "Nope";
	assert_int_equal(store_extents(f->s, &q, collect, &c, f->err), -ENOENT);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM extents WHERE tags = "
	                                  "'[\"drop-by:x\",\"ingest-by:y\"]'"),
	                 1);
	xs_free(&x);
}

/* ids_only lists the same extents with nothing but their ids decoded;
 * store_extent_get reads one of them in full. */
static void test_extents_ids_only(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 12);
	struct proto_action a[] = {create(PROTO_TABLE, "T"), add(&x)};
	struct store_extent_query q = {.config = "logs",
	                               .table = "T",
	                               .from = INT64_MIN,
	                               .to = INT64_MAX,
	                               .limit = 1000,
	                               .ids_only = true};
	struct collected full, ids = {0}, one = {0};

	assert_int_equal(apply(f, UUID_A, 1, a, 2, NULL, NULL), 0);
	full = table_extents(f, "T");
	assert_int_equal(store_extents(f->s, &q, collect, &ids, f->err), 0);
	assert_int_equal(ids.n, 12);
	assert_int_equal(ids.rows, 0); /* nothing but the id */
	assert_memory_equal(ids.ids, full.ids, 12 * sizeof(ids.ids[0]));
	assert_int_equal(store_extent_get(f->s, ids.last, collect, &one, f->err), 0);
	assert_int_equal(one.n, 1);
	assert_string_equal(one.ids[0], full.ids[11]);
	assert_string_equal(one.paths[0], full.paths[11]);
	assert_true(one.rows > 0);
	assert_int_equal(store_extent_get(f->s, ids.last + 1000, collect, &one, f->err), -ENOENT);
	xs_free(&x);
}

/* Another connection holding the write lock: writers get -EBUSY quickly
 * and a checkpoint keeps its staging for a retry. */
static void test_busy(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 2);
	struct proto_action recs[] = {create(PROTO_TABLE, "T"), add(&x)};
	const struct xs *all[] = {&x};
	struct proto_counts c = counts_of(1, 0, 0, all, 1);
	struct proto_manifest m = manifest(UUID_A, 3, &c);
	struct store_ckpt *ck = NULL;
	sqlite3 *other;

	assert_int_equal(store_checkpoint_begin(f->s, "logs", &m, NULL, &ck, f->err), 0);
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
	/* Staging does not need the store's lock. */
	assert_int_equal(store_checkpoint_feed(ck, recs, 2, f->err), 0);
	assert_int_equal(apply(f, UUID_A, 1, NULL, 0, NULL, NULL), -EBUSY);
	assert_int_equal(store_checkpoint_finish(ck, NULL, f->err), -EBUSY);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
	assert_int_equal(store_checkpoint_finish(ck, NULL, f->err), 0);
	assert_int_equal(applied(f), 3);
	assert_int_equal(table_extents(f, "T").n, 2);
	xs_free(&x);
}

/* ---- through the real decoder: the shapes proto produces apply ---- */

static struct proto_commit *roundtrip_commit(const struct proto_commit *c)
{
	char err[PROTO_ERRLEN] = "";
	struct proto_commit *d = NULL;
	char *json = proto_commit_encode(c);

	assert_non_null(json);
	if (proto_commit_decode(json, strlen(json), &d, err) < 0)
		fail_msg("decode: %s", err);
	free(json);
	return d;
}

static void test_decoded_commit_and_checkpoint(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 3);
	struct store_summary sum = {0};
	struct proto_principal p[] = {{(char *)"aaduser=a@x", (char *)""}};
	struct proto_action a[] = {
	    create(PROTO_TABLE, "T"),
	    add(&x),
	    {.op = PROTO_OP_SET_PRINCIPALS,
	     .role = PROTO_ROLE_USERS,
	     .principals = p,
	     .nprincipals = 1},
	    {.op = PROTO_OP_SET_CACHING, .has_policy = true, .caching = {.hot_span = DAY}},
	};
	struct proto_commit c = commit(UUID_A, 1, a, 4);
	struct proto_commit *d = roundtrip_commit(&c);

	assert_int_equal(store_apply_commit(f->s, "logs", d, NULL, &sum, f->err), 0);
	assert_int_equal(sum.extents_added, 3);
	store_summary_clear(&sum);
	proto_commit_free(d);

	/* The same state as checkpoint lines (encode each record, decode it). */
	struct proto_action recs[] = {a[0], a[1], a[2], a[3]};
	struct proto_action dec[4] = {{0}};
	const struct xs *all[] = {&x};
	struct proto_counts counts = counts_of(1, 0, 0, all, 1);
	struct proto_manifest m = manifest(UUID_A, 1, &counts);
	struct store_ckpt *ck = NULL;
	char perr[PROTO_ERRLEN] = "";

	for (size_t i = 0; i < 4; i++) {
		char *line = proto_record_encode(&recs[i]);

		assert_non_null(line);
		if (proto_record_decode(line, strlen(line), &dec[i], perr) < 0)
			fail_msg("record %zu: %s", i, perr);
		free(line);
	}
	assert_int_equal(store_checkpoint_begin(f->s, "logs", &m, NULL, &ck, f->err), 0);
	assert_int_equal(store_checkpoint_feed(ck, dec, 4, f->err), 0);
	assert_int_equal(store_checkpoint_finish(ck, &sum, f->err), 0);
	/* Nothing differs between what the commit stored and the checkpoint. */
	assert_int_equal(sum.extents_added + sum.extents_removed + sum.changes.n, 0);
	store_summary_clear(&sum);
	for (size_t i = 0; i < 4; i++)
		proto_action_clear(&dec[i]);
	xs_free(&x);
}

/* What a typed extent reads back as (store_extents' callback). */
struct typed_seen {
	int n;
	char data[4][96];
};

static int typed_cb(void *arg, int64_t id, const struct proto_extent *x)
{
	struct typed_seen *t = arg;
	const struct proto_artifact *a = &x->artifacts[0];

	if (t->n < 4)
		(void)snprintf(t->data[t->n], sizeof(t->data[0]),
		               "%s %s %d|%zu %s:%s %" PRIu64 " %s %s", proto_format_name(a->format),
		               proto_compression_name(a->compression), a->ignore_first_record,
		               x->nstats, x->nstats ? x->stats[0].name : "-",
		               x->nstats ? proto_coltype_name(x->stats[0].type) : "-",
		               x->nstats ? x->stats[0].nulls : 0,
		               x->nstats && x->stats[0].min ? x->stats[0].min : "-",
		               x->nstats && x->stats[0].max ? x->stats[0].max : "-");
	t->n++;
	return 0;
}

static struct typed_seen typed_extents(struct fx *f, const char *table)
{
	struct typed_seen t = {0};
	struct store_extent_query q = {
	    .config = "logs", .table = table, .from = INT64_MIN, .to = INT64_MAX, .limit = 100};

	if (store_extents(f->s, &q, typed_cb, &t, f->err) < 0)
		fail_msg("extents: %s", f->err);
	return t;
}

/* An artifact's data format and an extent's column statistics survive a
 * commit and a checkpoint (schema 5); an opaque extent stays opaque. */
static void test_typed_extents(void **state)
{
	struct fx *f = *state;
	struct xs x = extents("T", 1, 2);
	struct proto_colstat st[] = {{(char *)"Timestamp", PROTO_T_DATETIME, 0,
	                              (char *)"2026-12-01T00:00:00.0000000Z",
	                              (char *)"2026-12-02T00:00:00.0000000Z"},
	                             {(char *)"Host", PROTO_T_STRING, 3, NULL, NULL}};
	struct proto_action a[] = {create(PROTO_TABLE, "T"), add(&x)};
	struct store_summary sum = {0};
	struct typed_seen t;

	x.a[0].format = PROTO_FMT_CSV;
	x.a[0].compression = PROTO_COMP_GZIP;
	x.a[0].ignore_first_record = true;
	x.x[0].stats = st;
	x.x[0].nstats = 2;
	assert_int_equal(apply(f, UUID_A, 1, a, 2, NULL, NULL), 0);
	t = typed_extents(f, "T");
	assert_int_equal(t.n, 2);
	assert_string_equal(t.data[0],
	                    "csv gzip 1|2 Timestamp:datetime 0 2026-12-01T00:00:00.0000000Z "
	                    "2026-12-02T00:00:00.0000000Z");
	assert_string_equal(t.data[1], "none none 0|0 -:- 0 - -");

	/* the same state from a checkpoint, into a second follower database */
	struct proto_counts counts = counts_of(1, 0, 0, (const struct xs *const[]){&x}, 1);
	struct proto_manifest m = manifest(UUID_A, 1, &counts);
	struct store_ckpt *ck = NULL;

	assert_int_equal(store_db_detach(f->s, "logs", f->err), 0);
	assert_int_equal(store_db_add(f->s, "logs", "file:///l", "Logs", "Logs", f->err), 0);
	assert_int_equal(store_checkpoint_begin(f->s, "logs", &m, NULL, &ck, f->err), 0);
	if (store_checkpoint_feed(ck, a, 2, f->err) < 0 ||
	    store_checkpoint_finish(ck, &sum, f->err) < 0)
		fail_msg("checkpoint: %s", f->err);
	store_summary_clear(&sum);
	t = typed_extents(f, "T");
	assert_int_equal(t.n, 2);
	assert_string_equal(t.data[0],
	                    "csv gzip 1|2 Timestamp:datetime 0 2026-12-01T00:00:00.0000000Z "
	                    "2026-12-02T00:00:00.0000000Z");
	assert_string_equal(t.data[1], "none none 0|0 -:- 0 - -");
	xs_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_open_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_configs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_overlay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_databases_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_create_and_add, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_alter_drop_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_rollback, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_versions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_commit_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prefetch_visibility, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_initial, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_diff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_filter, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_rewind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prefetch_checkpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_concurrent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blobs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_generation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_detach, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lag, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extents_paging, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extents_ids_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_decoded_commit_and_checkpoint, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_typed_extents, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_views — the JSON views over a store built through the store API:
 * databases and lag, schema, extent pages (cursor, filters, cache states,
 * hotness), policies, principals, history, cache totals, artifact lookups,
 * and that views_begin holds one snapshot while a writer commits.
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

#include "conf/conf.h"
#include "store/store.h"
#include "util/timefmt.h"
#include "views/views.h"

#define UUID_A "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162"
#define UUID_M "7c1d2e3f-0000-4000-8000-000000000001"
#define SEC PROTO_TICKS_PER_SEC
#define DAY (86400 * SEC)

static const char conf_text[] = "[daemon]\n"
                                "state_dir = /tmp/unused\n"
                                "[attach \"logs\"]\n"
                                "leader = /leader\n"
                                "database = Logs\n"
                                "viewers = unix:uid=1000, AADUSER=viewer@x\n"
                                "hot_cache = 30d\n"
                                "table_hot_cache = Audit:2d\n"
                                "[attach \"all\"]\n"
                                "leader = /leader2\n"
                                "database = *\n"
                                "local_prefix = west_\n"
                                "principals_modification_kind = replace\n"
                                "monitors = unix:uid=7\n";

struct fx {
	char dir[64], path[96];
	struct store *w; /* writer */
	struct store *r; /* read-only */
	struct conf *conf;
	struct views_ctx v;
	char err[VIEWS_ERRLEN];
	int64_t t0; /* 2026-11-01 */
};

/* ---- building the store ---- */

static char *extent_json(int n, const char *table, int64_t min, int64_t max, char sha)
{
	char id[64], a[TIMEFMT_DATETIME_LEN], b[TIMEFMT_DATETIME_LEN], hex[65], *out = NULL;

	(void)snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
	memset(hex, sha, 64);
	hex[64] = '\0';
	assert_true(asprintf(&out,
	                     "{\"id\":\"%s\",\"table\":\"%s\",\"min_created\":\"%s\","
	                     "\"max_created\":\"%s\",\"rows\":%d,\"original_size\":100,"
	                     "\"compressed_size\":50,\"tags\":[\"t%d\"],\"artifacts\":["
	                     "{\"name\":\"data.csv\",\"path\":\"artifacts/%s\",\"size\":%d,"
	                     "\"sha256\":\"%s\"}]}",
	                     id, table, timefmt_format_datetime(min, a),
	                     timefmt_format_datetime(max, b), n * 10, n, hex, 1000 + n, hex) > 0);
	return out;
}

static void apply_filtered(struct fx *f, const char *config, const char *uuid, int version,
                           int64_t committed, const char *actions,
                           const struct store_filter *filter)
{
	char *json = NULL, when[TIMEFMT_DATETIME_LEN], err[PROTO_ERRLEN] = "";
	struct proto_commit *c = NULL;

	assert_true(
	    asprintf(&json,
	             "{\"format\":\"followerd-leader/1\",\"database\":\"Logs\","
	             "\"uuid\":\"%s\",\"version\":%d,\"committed\":\"%s\",\"actions\":[%s]}",
	             uuid, version, timefmt_format_datetime(committed, when), actions) > 0);
	if (proto_commit_decode(json, strlen(json), &c, err) < 0)
		fail_msg("decode: %s\n%s", err, json);
	if (store_apply_commit(f->w, config, c, filter, NULL, f->err) < 0)
		fail_msg("apply: %s", f->err);
	proto_commit_free(c);
	free(json);
}

static void apply(struct fx *f, const char *config, const char *uuid, int version,
                  int64_t committed, const char *actions)
{
	apply_filtered(f, config, uuid, version, committed, actions, NULL);
}

static void build_logs(struct fx *f)
{
	char *x[6], *actions = NULL;
	int64_t t = f->t0;

	/* Events: 5 extents, one a day; Audit: one, older. */
	for (int i = 0; i < 5; i++)
		x[i] = extent_json(i + 1, "Events", t + i * DAY, t + i * DAY + DAY / 2, "abcde"[i]);
	x[5] = extent_json(6, "Audit", t - 60 * DAY, t - 59 * DAY, 'f');
	assert_true(
	    asprintf(
	        &actions,
	        "{\"op\":\"create_table\",\"name\":\"Events\",\"columns\":["
	        "{\"name\":\"Timestamp\",\"type\":\"datetime\"},"
	        "{\"name\":\"Level\",\"type\":\"string\"}],\"folder\":\"f\",\"docstring\":\"d\"},"
	        "{\"op\":\"create_table\",\"name\":\"Audit\",\"columns\":["
	        "{\"name\":\"Who\",\"type\":\"string\"}]},"
	        "{\"op\":\"create_external_table\",\"name\":\"Ext\",\"columns\":["
	        "{\"name\":\"A\",\"type\":\"long\"}],\"location\":\"https://x.blob/c\"},"
	        "{\"op\":\"create_materialized_view\",\"name\":\"Hourly\",\"columns\":["
	        "{\"name\":\"Count\",\"type\":\"long\"}],\"source\":\"Events\","
	        "\"query\":\"Events | count\"},"
	        "{\"op\":\"add_extents\",\"extents\":[%s,%s,%s,%s,%s,%s]},"
	        "{\"op\":\"set_caching_policy\",\"policy\":{\"hot_span\":\"7.00:00:00\"}},"
	        "{\"op\":\"set_caching_policy\",\"table\":\"Events\",\"policy\":"
	        "{\"hot_span\":\"1.00:00:00\"}},"
	        "{\"op\":\"set_retention_policy\",\"policy\":{\"soft_delete\":\"365.00:00:00\","
	        "\"recoverability\":true}},"
	        "{\"op\":\"set_principals\",\"role\":\"admins\",\"principals\":"
	        "[{\"fqn\":\"aaduser=admin@x\",\"name\":\"Admin\"}]},"
	        "{\"op\":\"set_principals\",\"role\":\"viewers\",\"principals\":"
	        "[{\"fqn\":\"aaduser=viewer@x\",\"name\":\"Viewer\"}]}",
	        x[0], x[1], x[2], x[3], x[4], x[5]) > 0);
	apply(f, "logs", UUID_A, 1, t + 10 * DAY, actions);
	for (int i = 0; i < 6; i++)
		free(x[i]);
	free(actions);
	/* v2: Events gains a column in front. */
	apply(f, "logs", UUID_A, 2, t + 11 * DAY,
	      "{\"op\":\"alter_table\",\"name\":\"Events\",\"columns\":["
	      "{\"name\":\"Id\",\"type\":\"guid\"},{\"name\":\"Timestamp\",\"type\":\"datetime\"},"
	      "{\"name\":\"Level\",\"type\":\"string\"}]}");
}

static void build_metrics(struct fx *f)
{
	char *x = extent_json(1, "Cpu", f->t0, f->t0 + DAY, 'a'), *actions = NULL;

	assert_true(asprintf(&actions,
	                     "{\"op\":\"create_table\",\"name\":\"Cpu\",\"columns\":["
	                     "{\"name\":\"V\",\"type\":\"real\"}]},"
	                     "{\"op\":\"add_extents\",\"extents\":[%s]},"
	                     "{\"op\":\"set_principals\",\"role\":\"users\",\"principals\":"
	                     "[{\"fqn\":\"aaduser=other@x\",\"name\":\"\"}]}",
	                     x) > 0);
	apply(f, "all/Metrics", UUID_M, 1, f->t0, actions);
	free(x);
	free(actions);
}

static void put_blob(struct fx *f, char c, enum store_blob_state state, uint64_t size)
{
	struct store_blob b = {.state = state, .size = size};

	memset(b.sha256, c, 64);
	b.sha256[64] = '\0';
	assert_int_equal(store_blob_put(f->w, &b, f->err), 0);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[CONF_ERRLEN];

	assert_non_null(f);
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/test_views-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void)snprintf(f->path, sizeof(f->path), "%s/state.db", f->dir);
	assert_int_equal(timefmt_parse_datetime("2026-11-01T00:00:00Z", &f->t0), 0);
	assert_int_equal(store_open(f->path, &f->w, f->err), 0);
	assert_int_equal(store_db_add(f->w, "logs", "file:///leader", "Logs", "Logs", f->err), 0);
	assert_int_equal(
	    store_db_add(f->w, "all/Metrics", "file:///leader2", "Metrics", "west_Metrics", f->err),
	    0);
	build_logs(f);
	build_metrics(f);
	/* The leader is 2 versions ahead, committed 1 hour later. */
	assert_int_equal(store_db_set_poll(f->w, "logs", f->t0 + 12 * DAY, 4,
	                                   f->t0 + 11 * DAY + 3600 * SEC, f->err),
	                 0);
	assert_int_equal(store_db_set_error(f->w, "all/Metrics", "leader unreachable", f->err), 0);
	put_blob(f, 'a', STORE_BLOB_CACHED, 1001);
	put_blob(f, 'b', STORE_BLOB_QUARANTINED, 1002);
	assert_int_equal(store_open_readonly(f->path, &f->r, f->err), 0);
	assert_int_equal(conf_parse("t.conf", conf_text, strlen(conf_text), CONF_SKIP_SECRETS,
	                            &f->conf, err, sizeof(err)),
	                 0);
	f->v = (struct views_ctx){.store = f->r, .conf = f->conf, .now = f->t0 + 4 * DAY + DAY / 2};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char p[160];

	store_free(f->r);
	store_free(f->w);
	conf_free(f->conf);
	for (const char *const *sfx = (const char *const[]){"", "-wal", "-shm", NULL}; *sfx;
	     sfx++) {
		(void)snprintf(p, sizeof(p), "%s%s", f->path, *sfx);
		(void)unlink(p);
	}
	(void)rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- helpers ---- */

static struct views_db find(struct fx *f, const char *name)
{
	struct views_db d;

	if (views_db_find(&f->v, name, &d, f->err) < 0)
		fail_msg("find %s: %s", name, f->err);
	return d;
}

/* The value at a path of members and indexes ("a.b.0.c"), borrowed. */
static json_t *at(json_t *j, const char *path)
{
	char buf[256], *save = NULL;

	(void)snprintf(buf, sizeof(buf), "%s", path);
	for (char *k = strtok_r(buf, ".", &save); j != NULL && k != NULL;
	     k = strtok_r(NULL, ".", &save))
		j = json_is_array(j) ? json_array_get(j, strtoul(k, NULL, 10))
		                     : json_object_get(j, k);
	if (j == NULL)
		fail_msg("no %s", path);
	return j;
}

static const char *str_at(json_t *j, const char *path)
{
	json_t *v = at(j, path);

	if (!json_is_string(v))
		fail_msg("%s is not a string", path);
	return json_string_value(v);
}

static long long int_at(json_t *j, const char *path)
{
	return json_integer_value(at(j, path));
}

/* ---- tests ---- */

static void test_databases(void **state)
{
	struct fx *f = *state;
	struct views_db *dbs = NULL, d;
	size_t n = 0;
	json_t *j = NULL;

	assert_int_equal(views_db_list(&f->v, &dbs, &n, f->err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(dbs[0].info.local_name, "west_Metrics");
	assert_ptr_equal(dbs[0].attach, conf_attach_find(f->conf, "all"));
	assert_ptr_equal(dbs[1].attach, conf_attach_find(f->conf, "logs"));
	views_db_array_free(dbs, n);

	d = find(f, "Logs");
	assert_int_equal(views_database(&f->v, &d, &j, f->err), 0);
	assert_string_equal(str_at(j, "name"), "Logs");
	assert_string_equal(str_at(j, "config"), "logs");
	assert_string_equal(str_at(j, "uuid"), UUID_A);
	assert_int_equal(int_at(j, "applied_version"), 2);
	assert_int_equal(int_at(j, "visible_version"), 2);
	assert_int_equal(int_at(j, "leader_version"), 4);
	assert_int_equal(int_at(j, "lag.versions"), 2);
	assert_true(json_real_value(at(j, "lag.seconds")) == 3600.0);
	assert_string_equal(str_at(j, "applied_committed"), "2026-11-12T00:00:00.0000000Z");
	assert_true(json_is_null(at(j, "last_error")));
	assert_int_equal(int_at(j, "extents"), 6);
	assert_true(json_is_true(at(j, "configured")));
	json_decref(j);
	views_db_clear(&d);

	d = find(f, "west_Metrics");
	assert_int_equal(views_database(&f->v, &d, &j, f->err), 0);
	assert_string_equal(str_at(j, "last_error"), "leader unreachable");
	assert_int_equal(int_at(j, "lag.versions"), 0);
	json_decref(j);
	views_db_clear(&d);

	assert_int_equal(views_db_find(&f->v, "Metrics", &d, f->err), -ENOENT);
	assert_non_null(strstr(f->err, "'Metrics'"));
}

static void test_schema(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	json_t *j = NULL;

	assert_int_equal(views_entities(&f->v, &d, PROTO_TABLE, &j, f->err), 0);
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(str_at(j, "0.name"), "Audit");
	assert_string_equal(str_at(j, "1.name"), "Events");
	/* the altered order */
	assert_string_equal(str_at(j, "1.columns.0.name"), "Id");
	assert_string_equal(str_at(j, "1.columns.0.type"), "guid");
	assert_string_equal(str_at(j, "1.columns.2.name"), "Level");
	assert_int_equal(int_at(j, "1.extents"), 5);
	assert_string_equal(str_at(j, "1.caching.hot_span"), "1.00:00:00");
	assert_true(json_is_null(at(j, "0.caching")));
	json_decref(j);

	assert_int_equal(views_entities(&f->v, &d, PROTO_EXTERNAL_TABLE, &j, f->err), 0);
	assert_int_equal(json_array_size(j), 1);
	assert_string_equal(str_at(j, "0.location"), "https://x.blob/c");
	json_decref(j);
	assert_int_equal(views_entity(&f->v, &d, PROTO_MATERIALIZED_VIEW, "Hourly", &j, f->err), 0);
	assert_string_equal(str_at(j, "source"), "Events");
	assert_string_equal(str_at(j, "query"), "Events | count");
	json_decref(j);
	assert_int_equal(views_entity(&f->v, &d, PROTO_TABLE, "Hourly", &j, f->err), -ENOENT);
	assert_int_equal(views_entity(&f->v, &d, PROTO_TABLE, "Nope", &j, f->err), -ENOENT);
	assert_non_null(strstr(f->err, "no table 'Nope'"));
	views_db_clear(&d);
}

/* Collects every id over pages of limit; returns the number of pages. */
static int walk(struct fx *f, struct views_db *d, const char *table, int64_t from, int64_t to,
                size_t limit, char ids[][40], size_t *ret_n)
{
	char cursor[VIEWS_CURSOR_MAX] = "";
	int pages = 0;

	*ret_n = 0;
	for (;;) {
		struct views_extent_query q = {table, from, to, cursor, limit};
		json_t *j = NULL, *x;
		size_t i;

		if (views_extents(&f->v, d, &q, &j, f->err) < 0)
			fail_msg("extents: %s", f->err);
		pages++;
		assert_true(json_array_size(at(j, "extents")) <= limit);
		json_array_foreach(at(j, "extents"), i, x)(void)
		    snprintf(ids[(*ret_n)++], 40, "%s", str_at(x, "id"));
		if (json_is_null(at(j, "next"))) {
			json_decref(j);
			return pages;
		}
		(void)snprintf(cursor, sizeof(cursor), "%s", str_at(j, "next"));
		json_decref(j);
		assert_true(pages < 20);
	}
}

static void test_extent_pages(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	char ids[20][40];
	size_t n;

	assert_int_equal(walk(f, &d, "Events", INT64_MIN, INT64_MAX, 2, ids, &n), 3);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		char want[64];

		(void)snprintf(want, sizeof(want), "00000000-0000-4000-8000-%012zu", i + 1);
		assert_string_equal(ids[i], want);
	}
	/* an exact fit ends with an empty page's null cursor, not a bogus one */
	assert_int_equal(walk(f, &d, "Events", INT64_MIN, INT64_MAX, 5, ids, &n), 1);
	assert_int_equal(n, 5);
	/* every table (Audit first, by name), across table boundaries */
	assert_int_equal(walk(f, &d, NULL, INT64_MIN, INT64_MAX, 4, ids, &n), 2);
	assert_int_equal(n, 6);
	assert_string_equal(ids[0], "00000000-0000-4000-8000-000000000006");
	assert_string_equal(ids[1], "00000000-0000-4000-8000-000000000001");
	/* a page that ends exactly at a table's end */
	assert_int_equal(walk(f, &d, NULL, INT64_MIN, INT64_MAX, 1, ids, &n), 6);
	assert_int_equal(n, 6);
	for (size_t i = 1; i < n; i++) {
		char want[64];

		(void)snprintf(want, sizeof(want), "00000000-0000-4000-8000-%012zu", i);
		assert_string_equal(ids[i], want);
	}
	/* created-on overlap: days 1..2 of Events */
	assert_int_equal(walk(f, &d, "Events", f->t0 + DAY + DAY / 2, f->t0 + 2 * DAY, 10, ids, &n),
	                 1);
	assert_int_equal(n, 2);
	assert_string_equal(ids[0], "00000000-0000-4000-8000-000000000002");
	assert_string_equal(ids[1], "00000000-0000-4000-8000-000000000003");
	views_db_clear(&d);
}

static void test_extent_errors(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	json_t *j = NULL;
	struct views_extent_query q = {"Nope", INT64_MIN, INT64_MAX, NULL, 10};

	assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), -ENOENT);
	q.table = "Events";
	q.limit = VIEWS_PAGE_MAX + 1;
	assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), -EINVAL);
	q.limit = 10;
	const char *bad[] = {"x", "0", "-1", "Events/1", "1/", "99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		q.cursor = bad[i];
		assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), -EINVAL);
	}
	q.table = NULL;
	q.cursor = "1";
	assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), -EINVAL);
	q.cursor = "Gone/3";
	assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), -EINVAL);
	q.cursor = NULL;
	q.from = 10;
	q.to = 5;
	assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), -EINVAL);
	views_db_clear(&d);
}

static void test_extent_content(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	struct views_extent_query q = {"Events", INT64_MIN, INT64_MAX, NULL, 10};
	json_t *j = NULL;

	assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), 0);
	assert_string_equal(str_at(j, "extents.0.artifacts.0.cache"), "cached");
	assert_string_equal(str_at(j, "extents.1.artifacts.0.cache"), "quarantined");
	assert_string_equal(str_at(j, "extents.2.artifacts.0.cache"), "not_cached");
	assert_int_equal(int_at(j, "extents.0.artifacts.0.size"), 1001);
	assert_string_equal(str_at(j, "extents.0.tags.0"), "t1");
	assert_string_equal(str_at(j, "extents.0.min_created"), "2026-11-01T00:00:00.0000000Z");
	/* now is day 4.5; union of the leader's Events policy (1d) and the
	 * follower's database override (30d): all five are hot */
	for (int i = 0; i < 5; i++) {
		char p[32];

		(void)snprintf(p, sizeof(p), "extents.%d.hot", i);
		assert_true(json_is_true(at(j, p)));
	}
	json_decref(j);
	/* Audit: the leader's 7d against the follower's table override 2d
	 * (the longer wins on union); its extent is 60 days old: cold */
	q.table = "Audit";
	assert_int_equal(views_extents(&f->v, &d, &q, &j, f->err), 0);
	assert_true(json_is_false(at(j, "extents.0.hot")));
	json_decref(j);
	views_db_clear(&d);
}

static void test_policies(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	json_t *j = NULL;

	assert_int_equal(views_policies(&f->v, &d, &j, f->err), 0);
	assert_string_equal(str_at(j, "caching_policies_modification_kind"), "union");
	assert_string_equal(str_at(j, "database.leader.caching.hot_span"), "7.00:00:00");
	assert_string_equal(str_at(j, "database.leader.retention.soft_delete"), "365.00:00:00");
	assert_string_equal(str_at(j, "database.follower.caching.hot_span"), "30.00:00:00");
	assert_string_equal(str_at(j, "database.effective.hot_span"), "30.00:00:00");
	assert_string_equal(str_at(j, "entities.0.name"), "Audit");
	assert_string_equal(str_at(j, "entities.0.follower.caching.hot_span"), "2.00:00:00");
	assert_string_equal(str_at(j, "entities.0.effective.hot_span"), "7.00:00:00");
	assert_string_equal(str_at(j, "entities.1.name"), "Events");
	assert_string_equal(str_at(j, "entities.1.leader.caching.hot_span"), "1.00:00:00");
	assert_true(json_is_null(at(j, "entities.1.follower.caching")));
	assert_string_equal(str_at(j, "entities.1.effective.hot_span"), "30.00:00:00");
	json_decref(j);
	views_db_clear(&d);
}

static void test_principals(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	json_t *j = NULL;

	assert_int_equal(views_principals(&f->v, &d, &j, f->err), 0);
	assert_string_equal(str_at(j, "principals_modification_kind"), "union");
	assert_string_equal(str_at(j, "leader.admins.0.fqn"), "aaduser=admin@x");
	assert_string_equal(str_at(j, "leader.admins.0.name"), "Admin");
	assert_int_equal(json_array_size(at(j, "follower.viewers")), 2);
	/* union: the leader's viewer, then the follower's new one (the other is
	 * the same FQN in other case) */
	assert_int_equal(json_array_size(at(j, "effective.viewers")), 2);
	assert_string_equal(str_at(j, "effective.viewers.0.fqn"), "aaduser=viewer@x");
	assert_string_equal(str_at(j, "effective.viewers.1.fqn"), "unix:uid=1000");
	assert_int_equal(auth_roles(&d.effective, "unix:uid=1000"), AUTH_ROLE(PROTO_ROLE_VIEWERS));
	json_decref(j);
	views_db_clear(&d);

	/* replace: the follower's alone */
	d = find(f, "west_Metrics");
	assert_int_equal(auth_roles(&d.effective, "aaduser=other@x"), 0);
	assert_int_equal(auth_roles(&d.effective, "unix:uid=7"), AUTH_ROLE(PROTO_ROLE_MONITORS));
	views_db_clear(&d);
}

static void test_history(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	json_t *j = NULL;

	assert_int_equal(views_history(&f->v, &d, 0, &j, f->err), 0);
	assert_int_equal(json_array_size(at(j, "history")), 2);
	assert_int_equal(int_at(j, "history.0.version"), 2);
	assert_string_equal(str_at(j, "history.0.source"), "commit");
	assert_true(json_array_size(at(j, "history.0.changes")) > 0);
	assert_int_equal(int_at(j, "history.1.extents_added"), 6);
	json_decref(j);
	assert_int_equal(views_history(&f->v, &d, 1, &j, f->err), 0);
	assert_int_equal(json_array_size(at(j, "history")), 1);
	json_decref(j);
	assert_int_equal(views_history(&f->v, &d, STORE_HISTORY_MAX + 1, &j, f->err), -EINVAL);
	views_db_clear(&d);
}

static void test_cache(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	struct views_cache_stats s;
	json_t *j = NULL;

	assert_int_equal(views_cache_stats(&f->v, &d, &s, f->err), 0);
	assert_int_equal(s.artifacts, 6);
	assert_int_equal(s.bytes, 1001 + 1002 + 1003 + 1004 + 1005 + 1006);
	assert_int_equal(s.cached, 1);
	assert_int_equal(s.cached_bytes, 1001);
	assert_int_equal(s.quarantined, 1);
	assert_int_equal(views_cache(&f->v, &d, &j, f->err), 0);
	assert_int_equal(int_at(j, "cache.artifacts"), 2); /* blob rows */
	assert_int_equal(int_at(j, "cache.cached_bytes"), 1001);
	assert_true(json_is_null(at(j, "disk")));
	json_decref(j);
	views_db_clear(&d);
}

static int count_db(void *arg, const char *config)
{
	char *seen = arg;

	(void)strncat(seen, config, 64);
	(void)strncat(seen, ";", 2);
	return 0;
}

static void test_artifacts(void **state)
{
	struct fx *f = *state;
	struct views_db d = find(f, "Logs");
	struct views_artifact a;
	char sha[65], seen[256] = "";

	assert_int_equal(views_artifact_by_name(&f->v, &d, "00000000-0000-4000-8000-000000000001",
	                                        "data.csv", &a, f->err),
	                 0);
	memset(sha, 'a', 64);
	sha[64] = '\0';
	assert_string_equal(a.sha256, sha);
	assert_int_equal(a.size, 1001);
	assert_int_equal(a.state, STORE_BLOB_CACHED);
	assert_int_equal(views_artifact_by_name(&f->v, &d, "00000000-0000-4000-8000-000000000001",
	                                        "other.csv", &a, f->err),
	                 -ENOENT);
	assert_non_null(strstr(f->err, "no artifact 'other.csv'"));
	assert_int_equal(views_artifact_by_name(&f->v, &d, "00000000-0000-4000-8000-000000000099",
	                                        "data.csv", &a, f->err),
	                 -ENOENT);
	assert_int_equal(views_artifact_by_name(&f->v, &d, "../x", "data.csv", &a, f->err),
	                 -EINVAL);
	/* by sha: 'a' is shared by Logs and Metrics; 'c' has no blob row */
	assert_int_equal(views_artifact_by_sha(&f->v, sha, &a, f->err), 0);
	assert_int_equal(a.state, STORE_BLOB_CACHED);
	assert_int_equal(views_blob_databases(&f->v, sha, count_db, seen, f->err), 0);
	assert_true(strcmp(seen, "logs;all/Metrics;") == 0 ||
	            strcmp(seen, "all/Metrics;logs;") == 0);
	memset(sha, 'c', 64);
	assert_int_equal(views_artifact_by_sha(&f->v, sha, &a, f->err), 0);
	assert_int_equal(a.state, STORE_BLOB_UNKNOWN);
	assert_int_equal(a.size, 1003);
	memset(sha, '9', 64);
	assert_int_equal(views_artifact_by_sha(&f->v, sha, &a, f->err), -ENOENT);
	assert_int_equal(views_artifact_by_sha(&f->v, "ABC", &a, f->err), -EINVAL);
	sha[0] = 'A';
	assert_int_equal(views_artifact_by_sha(&f->v, sha, &a, f->err), -EINVAL);
	views_db_clear(&d);
}

/* A response reads one version even while the writer commits. */
static size_t count_extents(struct fx *f, const struct views_db *d, const char *table)
{
	struct views_extent_query q = {.table = table, .from = INT64_MIN, .to = INT64_MAX};
	json_t *j = NULL;
	size_t n;

	assert_int_equal(views_extents(&f->v, d, &q, &j, f->err), 0);
	n = json_array_size(json_object_get(j, "extents"));
	json_decref(j);
	return n;
}

static int artifact_of(struct fx *f, const struct views_db *d, int n)
{
	struct views_artifact a;
	char id[64];

	(void)snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
	return views_artifact_by_name(&f->v, d, id, "data.csv", &a, f->err);
}

/* Auto-prefetch: a held version 3 (extent 7 added, extent 1 dropped) is
 * applied but every view shows version 2 until it is published. */
static void test_visible_version(void **state)
{
	struct fx *f = *state;
	struct store_filter pf = {.prefetch = true};
	char *x = extent_json(7, "Events", f->t0 + 6 * DAY, f->t0 + 6 * DAY, '9'), *actions = NULL;
	char sha[65], seen[256] = "";
	struct views_db d;
	json_t *j = NULL;

	assert_true(
	    asprintf(&actions,
	             "{\"op\":\"drop_extents\",\"ids\":[\"00000000-0000-4000-8000-000000000001\"]},"
	             "{\"op\":\"add_extents\",\"extents\":[%s]}",
	             x) > 0);
	apply_filtered(f, "logs", UUID_A, 3, f->t0 + 12 * DAY, actions, &pf);
	d = find(f, "Logs");
	assert_int_equal(views_database(&f->v, &d, &j, f->err), 0);
	assert_int_equal(int_at(j, "applied_version"), 3);
	assert_int_equal(int_at(j, "visible_version"), 2);
	assert_int_equal(int_at(j, "extents"), 6);
	json_decref(j);
	assert_int_equal(count_extents(f, &d, "Events"), 5);
	assert_int_equal(artifact_of(f, &d, 1), 0);
	assert_int_equal(artifact_of(f, &d, 7), -ENOENT);
	memset(sha, '9', 64);
	sha[64] = '\0';
	assert_int_equal(views_blob_databases(&f->v, sha, count_db, seen, f->err), 0);
	assert_string_equal(seen, "");
	assert_int_equal(views_cache(&f->v, &d, &j, f->err), 0);
	assert_int_equal(int_at(j, "pending.artifacts"), 1);
	assert_int_equal(int_at(j, "pending.bytes"), 1007);
	json_decref(j);
	views_db_clear(&d);

	assert_int_equal(store_db_publish(f->w, "logs", 3, f->err), 0);
	d = find(f, "Logs");
	assert_int_equal(d.info.visible_version, 3);
	assert_int_equal(count_extents(f, &d, "Events"), 5);
	assert_int_equal(artifact_of(f, &d, 1), -ENOENT);
	assert_int_equal(artifact_of(f, &d, 7), 0);
	assert_int_equal(views_blob_databases(&f->v, sha, count_db, seen, f->err), 0);
	assert_string_equal(seen, "logs;");
	assert_int_equal(views_cache(&f->v, &d, &j, f->err), 0);
	assert_true(json_is_null(json_object_get(j, "pending")));
	json_decref(j);
	views_db_clear(&d);
	free(x);
	free(actions);
}

static void test_snapshot(void **state)
{
	struct fx *f = *state;
	struct views_db d;
	json_t *j = NULL;

	assert_int_equal(views_begin(&f->v, f->err), 0);
	d = find(f, "Logs");
	assert_int_equal(d.info.applied_version, 2);
	apply(f, "logs", UUID_A, 3, f->t0 + 12 * DAY, "{\"op\":\"drop_table\",\"name\":\"Audit\"}");
	assert_int_equal(views_entities(&f->v, &d, PROTO_TABLE, &j, f->err), 0);
	assert_int_equal(json_array_size(j), 2); /* Audit still there in this snapshot */
	json_decref(j);
	assert_int_equal(views_history(&f->v, &d, 0, &j, f->err), 0);
	assert_int_equal(int_at(j, "history.0.version"), 2);
	json_decref(j);
	views_db_clear(&d);
	views_end(&f->v);

	d = find(f, "Logs");
	assert_int_equal(d.info.applied_version, 3);
	/* data_version: the same until another connection commits */
	int64_t v1 = 0, v2 = 0, v3 = 0;
	assert_int_equal(views_data_version(&f->v, &v1, f->err), 0);
	assert_int_equal(views_data_version(&f->v, &v2, f->err), 0);
	assert_int_equal(store_db_set_state(f->w, "logs", "idle", f->err), 0);
	assert_int_equal(views_data_version(&f->v, &v3, f->err), 0);
	assert_true(v1 == v2 && v2 != v3);
	assert_int_equal(views_entities(&f->v, &d, PROTO_TABLE, &j, f->err), 0);
	assert_int_equal(json_array_size(j), 1);
	json_decref(j);
	views_db_clear(&d);
}

static void test_readonly(void **state)
{
	struct fx *f = *state;

	/* the views' handle refuses writes, whatever comes through store_query */
	assert_int_equal(store_db_set_error(f->r, "logs", "x", f->err), -EROFS);
	assert_true(store_query(f->r, "DELETE FROM databases", NULL, NULL, f->err) < 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_databases, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extent_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extent_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_extent_content, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_principals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_artifacts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_visible_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

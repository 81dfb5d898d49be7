/*
 * mkstore — builds a follower's store and artifact cache for the views'
 * end-to-end tests and benchmarks, through lib/store and lib/cache (no
 * leader, no sync engine).
 *
 *   mkstore build CONF STATE_DB CACHE_DIR [EVENTS]
 *       Databases "logs" (shown as Logs) and "metrics" (Metrics), named like
 *       the attach sections of CONF (whose JSON is stored too):
 *         Logs: tables Events (EVENTS extents, default 25, one a day from
 *               2026-10-01, one 64 KiB artifact "data.csv" each; all cached
 *               but the last 5) and Audit (2 extents of 1 KiB, the second
 *               quarantined), external table Ext, materialized view Hourly;
 *               caching 7d (Events 1d); principals admins aaduser=admin@x,
 *               viewers aaduser=viewer@x, monitors aaduser=monitor@x.
 *         Metrics: table Cpu (1 extent, 4 KiB, cached); viewers
 *               aaduser=other@x.
 *       Prints one line per artifact: DB TABLE EXTENT NAME SHA256 SIZE STATE.
 *   mkstore lag STATE_DB CONFIG VERSIONS SECONDS
 *       Makes the leader of CONFIG VERSIONS versions and SECONDS ahead.
 *
 * Failures print "mkstore: what" on stderr and exit 1.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cache/cache.h"
#include "conf/conf.h"
#include "store/store.h"
#include "util/timefmt.h"

#define DAY (86400 * PROTO_TICKS_PER_SEC)
#define UUID_LOGS "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162"
#define UUID_METRICS "7c1d2e3f-0000-4000-8000-000000000001"
#define MAX_EXTENTS 100000

struct ctx {
	struct store *s;
	struct cache *cache;
	char err[STORE_ERRLEN];
};

static int die(const char *what, const char *detail)
{
	fprintf(stderr, "mkstore: %s: %s\n", what, detail);
	exit(1);
}

/* Deterministic bytes of extent n. */
static unsigned char *content(int n, size_t size)
{
	unsigned char *b = malloc(size);
	uint32_t x = 2463534242u + (uint32_t)n * 7919u;

	if (b == NULL)
		die("content", "out of memory");
	for (size_t i = 0; i < size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (unsigned char)x;
	}
	return b;
}

static void sha_hex(const unsigned char *b, size_t n, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (EVP_Digest(b, n, md, &len, EVP_sha256(), NULL) != 1)
		die("sha256", "failed");
	for (unsigned i = 0; i < len; i++)
		(void)sprintf(out + 2 * i, "%02x", md[i]);
}

/* Puts the bytes into the cache and records the blob's state. */
static void put(struct ctx *c, const char *sha, const unsigned char *b, size_t n,
                enum store_blob_state state)
{
	struct store_blob blob = {.state = state, .size = n};
	struct cache_writer *w = NULL;
	uint64_t off = 0;
	int r = 0;

	if (state == STORE_BLOB_CACHED) {
		r = cache_writer_open(c->cache, sha, n, 0, &w, &off);
		if (r == 0 && (r = cache_writer_write(w, b, n)) < 0)
			cache_writer_abort(w, false);
		else if (r == 0)
			r = cache_writer_commit(w);
		if (r < 0 && r != -EEXIST)
			die("cache", strerror(-r));
	}
	memcpy(blob.sha256, sha, 65);
	if (state != STORE_BLOB_UNKNOWN && store_blob_put(c->s, &blob, c->err) < 0)
		die("blob", c->err);
}

/* One extent with one artifact "data.csv"; appends its JSON to a. */
static void extent(struct ctx *c, json_t *a, const char *db, const char *table, int n, int64_t min,
                   size_t size, enum store_blob_state state)
{
	char id[40], sha[65], t0[TIMEFMT_DATETIME_LEN], t1[TIMEFMT_DATETIME_LEN], path[96];
	unsigned char *b = content(n, size);

	(void)snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
	sha_hex(b, size, sha);
	(void)snprintf(path, sizeof(path), "artifacts/%.2s/%s", sha, sha);
	put(c, sha, b, size, state);
	free(b);
	if (json_array_append_new(
	        a,
	        json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:[s], s:[{s:s, s:s, s:I, s:s}]}",
	                  "id", id, "table", table, "min_created", timefmt_format_datetime(min, t0),
	                  "max_created", timefmt_format_datetime(min + DAY / 2, t1), "rows",
	                  100 * n, "original_size", (int)size * 4, "compressed_size", (int)size,
	                  "tags", "tag", "artifacts", "name", "data.csv", "path", path, "size",
	                  (json_int_t)size, "sha256", sha)) < 0)
		die("json", "out of memory");
	printf("%s %s %s data.csv %s %zu %s\n", db, table, id, sha, size,
	       state == STORE_BLOB_CACHED        ? "cached"
	       : state == STORE_BLOB_QUARANTINED ? "quarantined"
	                                         : "not_cached");
}

static void apply(struct ctx *c, const char *config, const char *leader_db, const char *uuid,
                  int64_t when, json_t *actions)
{
	char ts[TIMEFMT_DATETIME_LEN], perr[PROTO_ERRLEN];
	struct proto_commit *commit = NULL;
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:s, s:o}", "format", PROTO_FORMAT, "database",
	                      leader_db, "uuid", uuid, "version", 1, "committed",
	                      timefmt_format_datetime(when, ts), "actions", actions);
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	if (text == NULL)
		die("json", "out of memory");
	if (proto_commit_decode(text, strlen(text), &commit, perr) < 0)
		die("commit", perr);
	if (store_apply_commit(c->s, config, commit, NULL, NULL, c->err) < 0)
		die("apply", c->err);
	proto_commit_free(commit);
	free(text);
	json_decref(j);
}

static json_t *columns(const char *name, const char *type)
{
	return json_pack("[{s:s, s:s}]", "name", name, "type", type);
}

static json_t *principals(const char *role, const char *fqn, const char *name)
{
	return json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "op", "set_principals", "role", role,
	                 "principals", "fqn", fqn, "name", name);
}

static void build_logs(struct ctx *c, int events, int64_t t0)
{
	json_t *x = json_array();
	json_t *actions = json_pack(
	    "[{s:s, s:s, s:o, s:s, s:s}, {s:s, s:s, s:o}, {s:s, s:s, s:o, s:s},"
	    " {s:s, s:s, s:o, s:s, s:s}]",
	    "op", "create_table", "name", "Events", "columns",
	    json_pack("[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]", "name", "Timestamp", "type",
	              "datetime", "name", "Level", "type", "string", "name", "Message", "type",
	              "string"),
	    "folder", "app", "docstring", "application events", "op", "create_table", "name",
	    "Audit", "columns", columns("Who", "string"), "op", "create_external_table", "name",
	    "Ext", "columns", columns("A", "long"), "location", "https://example.blob/c", "op",
	    "create_materialized_view", "name", "Hourly", "columns", columns("Count", "long"),
	    "source", "Events", "query", "Events | summarize count() by bin(Timestamp, 1h)");

	for (int i = 1; i <= events; i++)
		extent(c, x, "Logs", "Events", i, t0 + (i - 1) * DAY, 65536,
		       i <= events - 5 ? STORE_BLOB_CACHED : STORE_BLOB_UNKNOWN);
	extent(c, x, "Logs", "Audit", events + 1, t0 - 30 * DAY, 1024, STORE_BLOB_CACHED);
	extent(c, x, "Logs", "Audit", events + 2, t0 - 29 * DAY, 1024, STORE_BLOB_QUARANTINED);
	if (actions == NULL ||
	    json_array_append_new(actions,
	                          json_pack("{s:s, s:o}", "op", "add_extents", "extents", x)) < 0 ||
	    json_array_append_new(actions, json_pack("{s:s, s:{s:s}}", "op", "set_caching_policy",
	                                             "policy", "hot_span", "7.00:00:00")) < 0 ||
	    json_array_append_new(actions, json_pack("{s:s, s:s, s:{s:s}}", "op",
	                                             "set_caching_policy", "table", "Events",
	                                             "policy", "hot_span", "1.00:00:00")) < 0 ||
	    json_array_append_new(actions, principals("admins", "aaduser=admin@x", "Admin")) < 0 ||
	    json_array_append_new(actions, principals("viewers", "aaduser=viewer@x", "V")) < 0 ||
	    json_array_append_new(actions, principals("monitors", "aaduser=monitor@x", "M")) < 0)
		die("json", "out of memory");
	apply(c, "logs", "Logs", UUID_LOGS, t0 + (int64_t)events * DAY, actions);
}

static void build_metrics(struct ctx *c, int64_t t0)
{
	json_t *x = json_array();
	json_t *actions;

	extent(c, x, "Metrics", "Cpu", 1, t0, 4096, STORE_BLOB_CACHED);
	actions = json_pack("[{s:s, s:s, s:o}, {s:s, s:o}, o]", "op", "create_table", "name", "Cpu",
	                    "columns", columns("V", "real"), "op", "add_extents", "extents", x,
	                    principals("viewers", "aaduser=other@x", "Other"));
	if (actions == NULL)
		die("json", "out of memory");
	apply(c, "metrics", "Metrics", UUID_METRICS, t0 + DAY, actions);
}

/* Adds the databases of the attach sections named logs and metrics, and
 * stores every attach's JSON as the daemon would. */
static void add_databases(struct ctx *c, const struct conf *conf)
{
	for (size_t i = 0; i < conf->nattach; i++) {
		const struct conf_attach *a = conf->attach[i];
		json_t *j = conf_attach_to_json(a);
		char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

		if (text == NULL || store_config_put(c->s, a->name, text, c->err) < 0)
			die("config", text == NULL ? "out of memory" : c->err);
		free(text);
		json_decref(j);
		if (strcmp(a->name, "logs") != 0 && strcmp(a->name, "metrics") != 0)
			continue;
		if (store_db_add(c->s, a->name, a->leader, a->database,
		                 a->local_name != NULL ? a->local_name : a->database, c->err) < 0)
			die("database", c->err);
	}
}

static int cmd_build(int argc, char **argv)
{
	struct ctx c = {0};
	struct conf *conf = NULL;
	char cerr[CONF_ERRLEN];
	int events = argc > 5 ? atoi(argv[5]) : 25;
	int64_t t0 = 0;
	int r;

	if (events < 6 || events > MAX_EXTENTS)
		die("EVENTS", "from 6 to 100000");
	if (conf_load(argv[2], CONF_SKIP_SECRETS, &conf, cerr, sizeof(cerr)) < 0)
		die("conf", cerr);
	if (store_open(argv[3], &c.s, c.err) < 0)
		die("store", c.err);
	if ((r = cache_open(argv[4], NULL, &c.cache)) < 0)
		die("cache", strerror(-r));
	(void)timefmt_parse_datetime("2026-10-01T00:00:00Z", &t0);
	add_databases(&c, conf);
	build_logs(&c, events, t0);
	build_metrics(&c, t0);
	cache_free(c.cache);
	store_free(c.s);
	conf_free(conf);
	return 0;
}

static int cmd_lag(char **argv)
{
	struct store *s = NULL;
	struct store_db_info d;
	char err[STORE_ERRLEN];
	uint64_t versions = strtoull(argv[4], NULL, 10);
	int64_t secs = strtoll(argv[5], NULL, 10);

	if (store_open(argv[2], &s, err) < 0 || store_db_get(s, argv[3], &d, err) < 0 ||
	    store_db_set_poll(s, argv[3], timefmt_now(), d.applied_version + versions,
	                      d.applied_committed + secs * PROTO_TICKS_PER_SEC, err) < 0)
		die("lag", err);
	store_db_info_clear(&d);
	store_free(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "build") == 0)
		return cmd_build(argc, argv);
	if (argc == 6 && strcmp(argv[1], "lag") == 0)
		return cmd_lag(argv);
	fprintf(stderr, "usage: mkstore build CONF STATE_DB CACHE_DIR [EVENTS]\n"
	                "       mkstore lag STATE_DB CONFIG VERSIONS SECONDS\n");
	return 2;
}

/*
 * kustofmt — lib/kusto's output for a real Kusto client to read
 * (tests/e2e/kusto_format.sh feeds it to the Node SDK, azure-kusto-data).
 *
 *   kustofmt types       prints a v1 response whose one table has a column
 *                        of every type with known values, then a row of
 *                        nulls (the values are listed in kusto_format.sh)
 *   kustofmt serve [-r]  reads POST /v1/rest/mgmt bodies from stdin, one per
 *                        line (a client's JSON.stringify never writes a raw
 *                        newline), answers each with kusto_mgmt over a small
 *                        fixed backend and prints "STATUS BODY" on one line
 *                        (the body is compact JSON); -r refuses the control
 *                        commands (403)
 *
 * The backend: databases Sales (uuid 0f8fad5b-..., version 42) and Ops;
 * Sales has table T (Timestamp datetime, Name string) with one extent, the
 * leader's 7d caching policy and one admin; the follower's settings start
 * empty and control commands change them for the life of the process.
 *
 * Failures print "kustofmt: WHAT" on stderr and exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "kusto/kusto.h"
#include "util/timefmt.h"

#define DAY (86400 * TIMEFMT_TICKS_PER_SEC)

static int fail(const char *what)
{
	fprintf(stderr, "kustofmt: %s\n", what);
	return 1;
}

/* ---- types ---- */

static int print_types(void)
{
	static const struct kusto_column cols[] = {
	    {"Name", KUSTO_T_STRING}, {"When", KUSTO_T_DATETIME}, {"Took", KUSTO_T_TIMESPAN},
	    {"Count", KUSTO_T_LONG},  {"Small", KUSTO_T_INT},     {"Ratio", KUSTO_T_REAL},
	    {"Ok", KUSTO_T_BOOL},     {"Id", KUSTO_T_GUID},       {"Payload", KUSTO_T_DYNAMIC},
	};
	struct kusto_table *t = kusto_table_new("Table_0", cols, 9);
	int64_t when = 0;
	char *s;

	if (t == NULL || timefmt_parse_datetime("2024-02-29T12:34:56.789Z", &when) < 0)
		return fail("setup");
	kusto_add_string(t, "caf\xc3\xa9 \"quoted\"");
	kusto_add_datetime(t, when);
	kusto_add_timespan(t, 7 * DAY + 3 * DAY / 24 + TIMEFMT_TICKS_PER_SEC / 2);
	kusto_add_long(t, INT64_C(9007199254740991));
	kusto_add_int(t, -2147483647 - 1);
	kusto_add_real(t, -1.25e-3);
	kusto_add_bool(t, true);
	kusto_add_guid(t, "0F8FAD5B-D9CB-469F-A165-70867728950E");
	kusto_add_dynamic(t, json_pack("{s:[i,s], s:n}", "a", 1, "x", "b"));
	if (kusto_row_end(t) < 0)
		return fail("row 1");
	for (int i = 0; i < 9; i++)
		kusto_add_null(t);
	if (kusto_row_end(t) < 0)
		return fail("row 2");
	s = kusto_response(&t, 1);
	if (s == NULL)
		return fail("kusto_response");
	printf("%s\n", s);
	free(s);
	kusto_table_free(t);
	return 0;
}

/* ---- a fixed backend ---- */

static struct proto_column cols[] = {{"Timestamp", PROTO_T_DATETIME}, {"Name", PROTO_T_STRING}};
static struct proto_caching leader_caching = {7 * DAY, NULL, 0};

/* The follower's settings of Sales (Ops keeps the defaults). */
static struct {
	bool has_caching;
	int64_t hot;
	bool prefetch;
	enum conf_modkind pkind, ckind;
} sales = {.ckind = CONF_MOD_UNION};

static bool known(const char *db)
{
	return strcmp(db, "Sales") == 0 || strcmp(db, "Ops") == 0;
}

static int databases(void *arg, const char *name, kusto_db_fn *emit, void *ctx, char *err)
{
	static const struct kusto_db dbs[] = {
	    {"Ops", "https://leader.example/ops", "", 0},
	    {"Sales", "https://leader.example/root", "0f8fad5b-d9cb-469f-a165-70867728950e", 42},
	};
	int r;

	for (size_t i = 0; i < 2; i++)
		if (name == NULL || strcmp(name, dbs[i].name) == 0)
			if ((r = emit(ctx, &dbs[i])) != 0 || name != NULL)
				return r;
	return name == NULL ? 0 : -ENOENT;
}

static int entities(void *arg, const char *db, kusto_entity_fn *emit, void *ctx, char *err)
{
	static const struct proto_entity t = {PROTO_TABLE, "T",  cols, 2,   "Logs",
	                                      "A table",   NULL, NULL, NULL};
	struct kusto_entity e = {&t, NULL};

	if (!known(db))
		return -ENOENT;
	return strcmp(db, "Sales") == 0 ? emit(ctx, &e) : 0;
}

static int extents(void *arg, const char *db, const char *table, kusto_extent_fn *emit, void *ctx,
                   char *err)
{
	static char *tags[] = {"drop-by:x"};
	struct proto_extent x = {"11111111-2222-3333-4444-555555555555",
	                         "T",
	                         0,
	                         0,
	                         1000,
	                         4096,
	                         1024,
	                         tags,
	                         1,
	                         NULL,
	                         0,
	                         NULL,
	                         0};

	if (!known(db))
		return -ENOENT;
	if (strcmp(db, "Ops") == 0)
		return 0;
	if (timefmt_parse_datetime("2024-01-01T00:00:00Z", &x.min_created) < 0 ||
	    timefmt_parse_datetime("2024-01-01T01:00:00Z", &x.max_created) < 0)
		return -EINVAL;
	return emit(ctx, &x);
}

static int caching(void *arg, const char *db, kusto_caching_fn *emit, void *ctx, char *err)
{
	if (!known(db))
		return -ENOENT;
	return emit(ctx, strcmp(db, "Sales") == 0 ? &leader_caching : NULL);
}

static int principals(void *arg, const char *db, kusto_principal_fn *emit, void *ctx, char *err)
{
	static const struct kusto_principal p = {PROTO_ROLE_ADMINS, "aaduser=alice@contoso.com",
	                                         "Alice", ""};

	if (!known(db))
		return -ENOENT;
	return strcmp(db, "Sales") == 0 ? emit(ctx, &p) : 0;
}

static int follower(void *arg, const char *db, kusto_follower_fn *emit, void *ctx, char *err)
{
	struct kusto_follower f = {
	    .database = db, .root = "https://leader.example/root", .caching_kind = CONF_MOD_UNION};

	if (!known(db))
		return -ENOENT;
	if (strcmp(db, "Sales") == 0) {
		f.has_caching = sales.has_caching;
		f.caching.hot_span = sales.hot;
		f.prefetch = sales.prefetch;
		f.principals_kind = sales.pkind;
		f.caching_kind = sales.ckind;
	}
	return emit(ctx, &f);
}

static int set_follower(void *arg, const char *db, const struct kusto_follower *f, char *err)
{
	if (strcmp(db, "Sales") != 0) {
		(void)snprintf(err, KUSTO_ERRLEN, "only Sales can change here");
		return -EINVAL;
	}
	sales.has_caching = f->has_caching;
	sales.hot = f->caching.hot_span;
	sales.prefetch = f->prefetch;
	sales.pkind = f->principals_kind;
	sales.ckind = f->caching_kind;
	return 0;
}

static int serve(bool writes)
{
	static const struct kusto_backend be = {.databases = databases,
	                                        .entities = entities,
	                                        .extents = extents,
	                                        .caching = caching,
	                                        .principals = principals,
	                                        .follower = follower,
	                                        .set_follower = set_follower};
	char *line = NULL, *out = NULL;
	size_t cap = 0;
	ssize_t n;
	int status = 0, r = 0;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		if (kusto_mgmt(line, (size_t)n, &be, writes, &status, &out, NULL) < 0) {
			r = fail("kusto_mgmt: out of memory");
			break;
		}
		printf("%d %s\n", status, out);
		fflush(stdout);
		free(out);
	}
	free(line);
	return r;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "types") == 0)
		return print_types();
	if (argc >= 2 && strcmp(argv[1], "serve") == 0)
		return serve(!(argc == 3 && strcmp(argv[2], "-r") == 0));
	fprintf(stderr, "usage: kustofmt types | kustofmt serve [-r]\n");
	return 2;
}

/*
 * followerctl_cmds — the commands: which views they read and how they show
 * them.  With --json each prints the daemon's reply as it is (a command that
 * reads several views prints them in one object keyed by view).
 */
#include "followerctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL 256
#define HOT_PAGES 100 /* pages of 1,000 extents read for the HOT column */

/* GET /v1/databases/{db}[suffix] into *ret; an exit code. */
static int get_db(struct ctl *c, const char *db, const char *suffix, json_t **ret)
{
	char *e = ctl_escape(c, db), path[2048];
	int r;

	if (e == NULL)
		return ctl_fail(CTL_DAEMON, "out of memory");
	(void)snprintf(path, sizeof(path), "/v1/databases/%s%s", e, suffix);
	free(e);
	r = ctl_request(c, "GET", path, ret);
	return r;
}

static const char *lag_text(const json_t *db, char *buf, size_t len)
{
	const json_t *lag = json_object_get(db, "lag");
	json_int_t v = json_integer_value(json_object_get(lag, "versions"));
	char d[32];

	if (v == 0) {
		(void)snprintf(buf, len, "0");
		return buf;
	}
	(void)snprintf(
	    buf, len, "%" JSON_INTEGER_FORMAT " v, %s", v,
	    ctl_duration(json_number_value(json_object_get(lag, "seconds")), d, sizeof(d)));
	return buf;
}

/* "cached/total artifacts" of a database's /cache view; "?" (the error
 * printed) when it cannot be read. */
static const char *cache_text(struct ctl *c, const char *name, char *buf, size_t len)
{
	json_t *j = NULL, *d;

	(void)snprintf(buf, len, "?");
	if (get_db(c, name, "/cache", &j) != CTL_OK)
		return buf;
	d = json_object_get(j, "database");
	(void)snprintf(buf, len, "%" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT,
	               json_integer_value(json_object_get(d, "cached")),
	               json_integer_value(json_object_get(d, "artifacts")));
	json_decref(j);
	return buf;
}

/* Counts the cached and all artifacts of one page's hot extents. */
static void hot_count(const json_t *page, uint64_t *cached, uint64_t *total)
{
	const json_t *e, *a;
	size_t i, k;

	json_array_foreach(json_object_get(page, "extents"), i, e)
	{
		if (!json_is_true(json_object_get(e, "hot")))
			continue;
		json_array_foreach(json_object_get(e, "artifacts"), k, a)
		{
			const char *st = json_string_value(json_object_get(a, "cache"));

			(*total)++;
			*cached += st != NULL && strcmp(st, "cached") == 0;
		}
	}
}

/* "cached/total" artifacts of the hot extents, from the extents view's
 * pages (at most HOT_PAGES of them: "?" past that, or on an error). */
static const char *hot_text(struct ctl *c, const char *name, char *buf, size_t len)
{
	uint64_t cached = 0, total = 0;
	json_t *page = NULL;
	char suffix[1024] = "/extents?limit=1000";
	const char *next;
	char *cur;
	int p;

	(void)snprintf(buf, len, "?");
	for (p = 0; p < HOT_PAGES; p++) {
		if (get_db(c, name, suffix, &page) != CTL_OK)
			return buf;
		hot_count(page, &cached, &total);
		next = json_string_value(json_object_get(page, "next"));
		cur = next != NULL ? ctl_escape(c, next) : NULL;
		json_decref(page);
		if (cur == NULL)
			break;
		(void)snprintf(suffix, sizeof(suffix), "/extents?limit=1000&cursor=%s", cur);
		free(cur);
	}
	if (p < HOT_PAGES)
		(void)snprintf(buf, len, "%" PRIu64 "/%" PRIu64, cached, total);
	return buf;
}

static int status_row(struct ctl *c, struct ctl_table *t, const json_t *db)
{
	char name[CELL], leader[CELL], av[CELL], vv[CELL], lv[CELL], lag[CELL], st[CELL],
	    cache[CELL], err[CELL], ver[3 * CELL + 16];
	char hot[CELL];
	const char *cells[8];

	ctl_member(db, "name", name, sizeof(name));
	ctl_member(db, "leader_version", lv, sizeof(lv));
	ctl_member(db, "applied_version", av, sizeof(av));
	ctl_member(db, "visible_version", vv, sizeof(vv));
	(void)snprintf(leader, sizeof(leader), "%s/%s",
	               json_string_value(json_object_get(db, "leader")),
	               json_string_value(json_object_get(db, "leader_database")));
	(void)snprintf(ver, sizeof(ver), "%s/%s (leader %s)", av, vv, lv);
	cells[0] = name;
	cells[1] = leader;
	cells[2] = ver;
	cells[3] = lag_text(db, lag, sizeof(lag));
	cells[4] = ctl_member(db, "state", st, sizeof(st));
	cells[5] = hot_text(c, name, hot, sizeof(hot));
	cells[6] = cache_text(c, name, cache, sizeof(cache));
	cells[7] = ctl_member(db, "last_error", err, sizeof(err));
	return ctl_table_add(t, cells) < 0 ? ctl_fail(CTL_DAEMON, "out of memory") : CTL_OK;
}

int cmd_status(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = {"DATABASE", "LEADER",     "APPLIED/VISIBLE", "LAG",
	                                   "STATE",    "HOT CACHED", "CACHED",          "ERROR"};
	json_t *j = NULL, *dbs, *db;
	struct ctl_table *t = NULL;
	size_t i;
	int r;

	if (argc != 0)
		return ctl_fail(CTL_USAGE, "status takes no arguments");
	if ((r = ctl_request(c, "GET", "/v1/databases", &j)) != CTL_OK)
		goto out;
	dbs = json_object_get(j, "databases");
	if (!c->json && (t = ctl_table_new(8, head)) == NULL) {
		r = ctl_fail(CTL_DAEMON, "out of memory");
		goto out;
	}
	json_array_foreach(dbs, i, db)
	{
		if (!c->json && (r = status_row(c, t, db)) != CTL_OK)
			goto out;
	}
	if (c->json)
		r = ctl_print_json(j);
	else if (json_array_size(dbs) == 0)
		printf("no followed databases\n");
	else
		ctl_table_print(t);
out:
	ctl_table_free(t);
	json_decref(j);
	return r;
}

/* ---- show follower database ---- */

static void show_one(const json_t *db)
{
	static const char *const keys[] = {"name",
	                                   "config",
	                                   "leader",
	                                   "leader_database",
	                                   "uuid",
	                                   "state",
	                                   "applied_version",
	                                   "visible_version",
	                                   "leader_version",
	                                   "applied_committed",
	                                   "leader_committed",
	                                   "last_poll",
	                                   "last_apply",
	                                   "extents",
	                                   "rows",
	                                   "last_error",
	                                   "configured"};
	char buf[CELL], b[32];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		printf("%-18s %s\n", keys[i], ctl_member(db, keys[i], buf, sizeof(buf)));
	printf("%-18s %s\n", "lag", lag_text(db, buf, sizeof(buf)));
	printf("%-18s %s\n", "bytes",
	       ctl_bytes((double)json_integer_value(json_object_get(db, "bytes")), b, sizeof(b)));
}

int cmd_show(struct ctl *c, int argc, char **argv)
{
	json_t *j = NULL, *dbs, *db;
	size_t i;
	int r;

	if (argc < 2 || argc > 3 || strcmp(argv[0], "follower") != 0 ||
	    strcmp(argv[1], "database") != 0)
		return ctl_fail(CTL_USAGE, "usage: show follower database [DB]");
	r = argc == 3 ? get_db(c, argv[2], "", &j) : ctl_request(c, "GET", "/v1/databases", &j);
	if (r != CTL_OK)
		return r;
	if (c->json) {
		r = ctl_print_json(j);
	} else if (argc == 3) {
		show_one(j);
	} else {
		dbs = json_object_get(j, "databases");
		json_array_foreach(dbs, i, db)
		{
			if (i > 0)
				putchar('\n');
			show_one(db);
		}
	}
	json_decref(j);
	return r;
}

/* ---- history ---- */

static int history_row(struct ctl_table *t, const json_t *h)
{
	char v[CELL], com[CELL], app[CELL], src[CELL], ext[CELL], rows[CELL], by[CELL], a[32],
	    d[32], ch[CELL];
	const char *cells[8] = {v, com, app, src, ext, rows, by, ch};

	ctl_member(h, "version", v, sizeof(v));
	ctl_member(h, "committed", com, sizeof(com));
	ctl_member(h, "applied", app, sizeof(app));
	ctl_member(h, "source", src, sizeof(src));
	(void)snprintf(ext, sizeof(ext), "+%" JSON_INTEGER_FORMAT " -%" JSON_INTEGER_FORMAT,
	               json_integer_value(json_object_get(h, "extents_added")),
	               json_integer_value(json_object_get(h, "extents_removed")));
	(void)snprintf(rows, sizeof(rows), "+%" JSON_INTEGER_FORMAT " -%" JSON_INTEGER_FORMAT,
	               json_integer_value(json_object_get(h, "rows_added")),
	               json_integer_value(json_object_get(h, "rows_removed")));
	(void)snprintf(
	    by, sizeof(by), "+%s -%s",
	    ctl_bytes((double)json_integer_value(json_object_get(h, "bytes_added")), a, sizeof(a)),
	    ctl_bytes((double)json_integer_value(json_object_get(h, "bytes_removed")), d,
	              sizeof(d)));
	(void)snprintf(ch, sizeof(ch), "%zu", json_array_size(json_object_get(h, "changes")));
	return ctl_table_add(t, cells);
}

int cmd_history(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = {"VERSION", "COMMITTED", "APPLIED", "SOURCE",
	                                   "EXTENTS", "ROWS",      "BYTES",   "SCHEMA CHANGES"};
	struct ctl_table *t = NULL;
	json_t *j = NULL, *h;
	char q[64] = "/history";
	char *end = NULL;
	size_t i;
	int r;

	if (argc == 3 && strcmp(argv[1], "--limit") == 0) {
		long n = strtol(argv[2], &end, 10);

		if (end == argv[2] || *end != '\0' || n < 1)
			return ctl_fail(CTL_USAGE, "--limit: a positive integer");
		(void)snprintf(q, sizeof(q), "/history?limit=%ld", n);
	} else if (argc != 1) {
		return ctl_fail(CTL_USAGE, "usage: history DB [--limit N]");
	}
	if ((r = get_db(c, argv[0], q, &j)) != CTL_OK)
		return r;
	if (c->json) {
		r = ctl_print_json(j);
		goto out;
	}
	if ((t = ctl_table_new(8, head)) == NULL) {
		r = ctl_fail(CTL_DAEMON, "out of memory");
		goto out;
	}
	json_array_foreach(json_object_get(j, "history"), i, h)
	{
		if (history_row(t, h) < 0) {
			r = ctl_fail(CTL_DAEMON, "out of memory");
			goto out;
		}
	}
	ctl_table_print(t);
out:
	ctl_table_free(t);
	json_decref(j);
	return r;
}

/* ---- sync and the unsupported commands ---- */

int cmd_sync(struct ctl *c, int argc, char **argv)
{
	json_t *j = NULL;
	int r;

	if (argc != 0)
		return ctl_fail(CTL_USAGE, "sync takes no arguments");
	if ((r = ctl_request(c, "POST", "/v1/admin/sync", &j)) != CTL_OK)
		return r;
	if (c->json)
		r = ctl_print_json(j);
	else
		printf("polling every leader now\n");
	json_decref(j);
	return r;
}

int cmd_unsupported(struct ctl *c, int argc, char **argv)
{
	return ctl_fail(CTL_UNSUPPORTED,
	                "%s: not supported by this followerd yet (edit followerd.conf and reload "
	                "the daemon instead)",
	                argv[-1]);
}

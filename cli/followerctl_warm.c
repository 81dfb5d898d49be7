/*
 * followerctl_warm — `followerctl warm DB [TABLE]`: fetch a database's (or
 * a table's) hot set now and follow it until it is cached.
 *
 * POST /v1/admin/warm {"database","table"} makes the daemon's warmer rescan
 * at once and answers the scan count to wait for; then GET
 * /v1/databases/DB/cache is polled: its "warming" member (or
 * warming.tables.TABLE) counts the hot artifacts, the cached ones, those in
 * flight, failed, quarantined and left out for want of room, and its
 * "query_store" member the typed hot extents and rows to load into the
 * query store, those loaded (or not queryable) and those cached but not
 * loaded yet.  The command ends when nothing is in flight or pending after
 * that scan and no cached extent waits to load: 0 when every hot artifact
 * is cached, 1 with the reason otherwise (or at --timeout).
 *
 * On a terminal a progress bar is redrawn in place (bytes, rate, ETA);
 * otherwise one plain line is printed whenever the counts change.
 */
#include "followerctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POLL_MS 200
#define DEFAULT_TIMEOUT_S 600
#define BAR_WIDTH 30

struct progress {
	uint64_t hot_files, hot_bytes, cached_files, cached_bytes;
	uint64_t pending, in_flight, failed, quarantined, over_limit, scans;
	uint64_t load_extents, loaded_extents, load_rows, loaded_rows, load_waiting;
	uint64_t not_queryable;
};

struct warm_run {
	const char *db, *table;
	uint64_t scan; /* the daemon's scan count to wait for */
	double start_s, timeout_s;
	uint64_t start_bytes;
	bool tty, started;
	struct progress last;
};

static double now_s(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t u64(const json_t *o, const char *key)
{
	json_int_t v = json_integer_value(json_object_get(o, key));

	return v > 0 ? (uint64_t)v : 0;
}

/* The query store's part of a warming object (absent from older daemons:
 * zeros, nothing to wait for). */
static void progress_load(const json_t *q, struct progress *p)
{
	p->load_extents = u64(q, "extents");
	p->loaded_extents = u64(q, "loaded_extents");
	p->load_rows = u64(q, "rows");
	p->loaded_rows = u64(q, "loaded_rows");
	p->load_waiting = u64(q, "waiting");
	p->not_queryable = u64(q, "not_queryable");
}

/* ", loaded 1200/5000 rows (3/10 extents[, 1 not queryable])", or "" when
 * nothing is typed. */
static const char *load_text(const struct progress *p, char *buf, size_t len)
{
	int n;

	buf[0] = '\0';
	if (p->load_extents == 0)
		return buf;
	n = snprintf(buf, len, ", loaded %llu/%llu rows (%llu/%llu extents",
	             (unsigned long long)p->loaded_rows, (unsigned long long)p->load_rows,
	             (unsigned long long)p->loaded_extents, (unsigned long long)p->load_extents);
	if (n > 0 && (size_t)n < len && p->not_queryable > 0)
		n += snprintf(buf + n, len - (size_t)n, ", %llu not queryable",
		              (unsigned long long)p->not_queryable);
	if (n > 0 && (size_t)n < len)
		(void)snprintf(buf + n, len - (size_t)n, ")");
	return buf;
}

/* The counts of the cache view j for the run into *ret; -ENOENT while the
 * warmer has not seen the database (or the table). */
static int progress_of(const struct warm_run *w, const json_t *j, struct progress *ret)
{
	const json_t *all = json_object_get(j, "warming"), *o = all;

	if (w->table != NULL)
		o = json_object_get(json_object_get(all, "tables"), w->table);
	if (!json_is_object(o))
		return -ENOENT;
	*ret = (struct progress){.hot_files = u64(o, "hot_files"),
	                         .hot_bytes = u64(o, "hot_bytes"),
	                         .cached_files = u64(o, "cached_files"),
	                         .cached_bytes = u64(o, "cached_bytes"),
	                         .pending = u64(o, "pending"),
	                         .in_flight = u64(o, "in_flight"),
	                         .failed = u64(o, "failed"),
	                         .quarantined = u64(o, "quarantined"),
	                         .over_limit = u64(o, "over_limit"),
	                         .scans = u64(all, "scans")};
	progress_load(json_object_get(o, "query_store"), ret);
	return 0;
}

/* The progress bar, redrawn in place. */
static void show_bar(const struct warm_run *w, const struct progress *p)
{
	double frac = p->hot_bytes ? (double)p->cached_bytes / (double)p->hot_bytes : 1;
	double el = now_s() - w->start_s, rate = 0;
	char bar[BAR_WIDTH + 1], a[32], b[32], r[32], eta[32] = "-", ld[128];
	int fill = (int)(frac * BAR_WIDTH);

	if (el > 0.5 && p->cached_bytes > w->start_bytes)
		rate = (double)(p->cached_bytes - w->start_bytes) / el;
	if (rate > 0 && p->hot_bytes > p->cached_bytes)
		(void)ctl_duration((double)(p->hot_bytes - p->cached_bytes) / rate, eta,
		                   sizeof(eta));
	for (int i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	fprintf(stderr, "\r%s [%s] %3.0f%% %s/%s %s/s ETA %s (%llu/%llu files%s)\033[K",
	        w->table ? w->table : w->db, bar, frac * 100,
	        ctl_bytes((double)p->cached_bytes, a, 32), ctl_bytes((double)p->hot_bytes, b, 32),
	        ctl_bytes(rate, r, 32), eta, (unsigned long long)p->cached_files,
	        (unsigned long long)p->hot_files, load_text(p, ld, sizeof(ld)));
	fflush(stderr);
}

/* One plain line when the counts changed. */
static void show_line(struct warm_run *w, const struct progress *p)
{
	struct progress q = *p;
	char a[32], b[32], ld[128];

	q.scans = w->last.scans; /* a rescan that changed nothing is no news */
	if (w->started && memcmp(&w->last, &q, sizeof(q)) == 0)
		return;
	printf("%s: %llu/%llu files, %s/%s cached, %llu in flight, %llu failed, %llu "
	       "quarantined, %llu over the limit%s\n",
	       w->table ? w->table : w->db, (unsigned long long)p->cached_files,
	       (unsigned long long)p->hot_files, ctl_bytes((double)p->cached_bytes, a, 32),
	       ctl_bytes((double)p->hot_bytes, b, 32), (unsigned long long)p->in_flight,
	       (unsigned long long)p->failed, (unsigned long long)p->quarantined,
	       (unsigned long long)p->over_limit, load_text(p, ld, sizeof(ld)));
	fflush(stdout);
}

/* 1 when the run is over (*ret_code its exit code), 0 to go on. */
static int verdict(const struct warm_run *w, const struct progress *p, int *ret_code)
{
	const char *what = w->table ? w->table : w->db;

	if (p->scans < w->scan || p->in_flight > 0 || (p->pending > p->failed) ||
	    p->load_waiting > 0)
		return 0;
	if (p->quarantined > 0)
		*ret_code = ctl_fail(
		    CTL_DAEMON,
		    "%s: %llu hot artifact%s quarantined (wrong digest at the "
		    "leader; see journalctl MESSAGE_ID=1ea997d64b874b71875a18efcfd3cc6e)",
		    what, (unsigned long long)p->quarantined, p->quarantined == 1 ? "" : "s");
	else if (p->over_limit > 0)
		*ret_code = ctl_fail(
		    CTL_DAEMON,
		    "%s: %llu hot artifact%s left out: no room under cache_max_size "
		    "/ min_free_space",
		    what, (unsigned long long)p->over_limit, p->over_limit == 1 ? "" : "s");
	else if (p->failed > 0)
		*ret_code =
		    ctl_fail(CTL_DAEMON,
		             "%s: %llu hot artifact%s failed to download (the daemon "
		             "retries; see journalctl -u followerd)",
		             what, (unsigned long long)p->failed, p->failed == 1 ? "" : "s");
	else
		*ret_code = CTL_OK;
	return 1;
}

/* GETs the cache view into *ret; an exit code. */
static int fetch_view(struct ctl *c, const char *db, json_t **ret)
{
	char *e = ctl_escape(c, db), path[2048];

	if (e == NULL)
		return ctl_fail(CTL_DAEMON, "out of memory");
	(void)snprintf(path, sizeof(path), "/v1/databases/%s/cache", e);
	free(e);
	return ctl_request(c, "GET", path, ret);
}

/* One poll: 1 when over (*ret_code set), 0 to go on, or an exit code < 0
 * never: failures end the run through *ret_code. */
static int poll_once(struct ctl *c, struct warm_run *w, json_t **last, int *ret_code)
{
	struct progress p;
	json_t *j = NULL;
	int r = fetch_view(c, w->db, &j);

	if (r != CTL_OK) {
		*ret_code = r;
		return 1;
	}
	json_decref(*last);
	*last = j;
	if (progress_of(w, j, &p) < 0)
		return 0;
	if (!w->started)
		w->start_bytes = p.cached_bytes;
	if (!c->json && w->tty)
		show_bar(w, &p);
	else if (!c->json)
		show_line(w, &p);
	w->started = true;
	w->last = p;
	return verdict(w, &p, ret_code);
}

/* Asks for the rescan; an exit code. */
static int kick(struct ctl *c, struct warm_run *w)
{
	json_t *body = json_pack("{s:s}", "database", w->db), *j = NULL;
	int r;

	if (body != NULL && w->table != NULL &&
	    json_object_set_new(body, "table", json_string(w->table)) < 0) {
		json_decref(body);
		body = NULL;
	}
	if (body == NULL)
		return ctl_fail(CTL_DAEMON, "out of memory");
	r = ctl_request_json(c, "POST", "/v1/admin/warm", body, &j);
	if (r == CTL_OK)
		w->scan = u64(j, "scan");
	json_decref(j);
	json_decref(body);
	return r;
}

static int parse_warm(int argc, char **argv, struct warm_run *w)
{
	int pos = 0;

	for (int i = 0; i < argc; i++) {
		char *end = NULL;

		if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			w->timeout_s = strtod(argv[++i], &end);
			if (end == argv[i] || *end != '\0' || w->timeout_s <= 0)
				return ctl_fail(CTL_USAGE,
				                "--timeout: a positive number of seconds");
		} else if (argv[i][0] == '-' || pos == 2) {
			return ctl_fail(CTL_USAGE, "usage: warm DB [TABLE] [--timeout SECONDS]");
		} else if (pos++ == 0) {
			w->db = argv[i];
		} else {
			w->table = argv[i];
		}
	}
	return w->db != NULL ? CTL_OK
	                     : ctl_fail(CTL_USAGE, "usage: warm DB [TABLE] [--timeout SECONDS]");
}

int cmd_warm(struct ctl *c, int argc, char **argv)
{
	struct warm_run w = {.timeout_s = DEFAULT_TIMEOUT_S, .tty = isatty(STDERR_FILENO) == 1};
	struct timespec pause = {0, POLL_MS * 1000000L};
	json_t *last = NULL;
	int r = parse_warm(argc, argv, &w), code = CTL_OK;

	if (r != CTL_OK || (r = kick(c, &w)) != CTL_OK)
		return r;
	w.start_s = now_s();
	while (poll_once(c, &w, &last, &code) == 0) {
		if (now_s() - w.start_s > w.timeout_s) {
			code =
			    ctl_fail(CTL_DAEMON, "%s: not cached after %.0f s", w.db, w.timeout_s);
			break;
		}
		(void)nanosleep(&pause, NULL);
	}
	if (w.tty && !c->json && w.started)
		fputc('\n', stderr);
	if (c->json && last != NULL && ctl_print_json(last) != CTL_OK && code == CTL_OK)
		code = CTL_DAEMON;
	json_decref(last);
	return code;
}

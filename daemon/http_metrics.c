/*
 * http_metrics — GET /metrics (Prometheus text format 0.0.4) and GET
 * /healthz.
 *
 * Metrics come from the store's database rows (versions, lag, totals), its
 * blob rows (the cache), the cache's file system and the endpoint's own
 * counters.  Per-database series show only the databases the caller may
 * see.  /healthz answers anyone (load balancers, systemd): 200 or 503 with
 * the reasons — a database further behind than max_lag, a store that cannot
 * be read, an event loop that stopped turning or turned late (a heartbeat
 * timer measures it) — naming only the databases the caller may see.
 */
#include "http_int.h"
#include "sync/sync.h"
#include "cache/qsync.h"
#include "cache/warm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cache/cache.h"

#define HEARTBEAT_MAX_AGE_MS (1000 + HTTP_STALL_MS)

/* Appends v as a label value (backslash, quote and newline escaped). */
static void label(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			(void)evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			(void)evbuffer_add(b, "\\n", 2);
		else
			(void)evbuffer_add(b, v, 1);
	}
}

static void help(struct evbuffer *b, const char *name, const char *type, const char *text)
{
	(void)evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A series of one value, with its HELP and TYPE lines. */
static void put_u64(struct evbuffer *b, const char *name, const char *type, const char *text,
                    uint64_t v)
{
	help(b, name, type, text);
	(void)evbuffer_add_printf(b, "%s %" PRIu64 "\n", name, v);
}

/* One per-database series for every visible database. */
struct db_series {
	const char *name, *type, *help;
	double (*value)(const struct store_db_info *i);
};

static uint64_t lag_versions(const struct store_db_info *i)
{
	return i->leader_version > i->applied_version ? i->leader_version - i->applied_version : 0;
}

static int64_t lag_ticks(const struct store_db_info *i)
{
	return lag_versions(i) > 0 && i->leader_committed > i->applied_committed
	           ? i->leader_committed - i->applied_committed
	           : 0;
}

static double m_applied(const struct store_db_info *i)
{
	return (double)i->applied_version;
}
static double m_visible(const struct store_db_info *i)
{
	return (double)i->visible_version;
}
static double m_leader(const struct store_db_info *i)
{
	return (double)i->leader_version;
}
static double m_lag_versions(const struct store_db_info *i)
{
	return (double)lag_versions(i);
}
static double m_lag_seconds(const struct store_db_info *i)
{
	return (double)lag_ticks(i) / (double)PROTO_TICKS_PER_SEC;
}
static double m_extents(const struct store_db_info *i)
{
	return (double)i->extents;
}
static double m_rows(const struct store_db_info *i)
{
	return (double)i->rows;
}
static double m_bytes(const struct store_db_info *i)
{
	return (double)i->bytes;
}
static double m_last_apply(const struct store_db_info *i)
{
	return i->last_apply > 0 ? (double)i->last_apply / (double)PROTO_TICKS_PER_SEC : 0;
}
static double m_failing(const struct store_db_info *i)
{
	return i->last_error != NULL;
}

static const struct db_series db_series[] = {
    {"followerd_database_applied_version", "gauge", "Leader version applied.", m_applied},
    {"followerd_database_visible_version", "gauge",
     "Leader version readers see (behind the applied one while prefetch warms it).", m_visible},
    {"followerd_database_leader_version", "gauge", "Newest version the leader's head named.",
     m_leader},
    {"followerd_database_lag_versions", "gauge", "Versions behind the leader.", m_lag_versions},
    {"followerd_database_lag_seconds", "gauge",
     "Leader commit time minus applied commit time, when behind.", m_lag_seconds},
    {"followerd_database_extents", "gauge", "Extents of the visible version.", m_extents},
    {"followerd_database_rows", "gauge", "Rows of the visible extents.", m_rows},
    {"followerd_database_bytes", "gauge", "Artifact bytes of the visible extents.", m_bytes},
    {"followerd_database_last_apply_timestamp_seconds", "gauge",
     "When a version was last applied (Unix time).", m_last_apply},
    {"followerd_database_failing", "gauge", "1 when the last sync step failed.", m_failing},
};

static void put_databases(struct evbuffer *b, const struct views_db *dbs, const bool *visible,
                          size_t n)
{
	for (size_t s = 0; s < sizeof(db_series) / sizeof(db_series[0]); s++) {
		help(b, db_series[s].name, db_series[s].type, db_series[s].help);
		for (size_t i = 0; i < n; i++) {
			if (!visible[i])
				continue;
			(void)evbuffer_add_printf(b, "%s{database=\"", db_series[s].name);
			label(b, dbs[i].info.local_name);
			(void)evbuffer_add_printf(b, "\"} %.17g\n",
			                          db_series[s].value(&dbs[i].info));
		}
	}
}

static void put_cache(struct http_call *c, struct evbuffer *b)
{
	struct views_cache_stats s;
	uint64_t free_b, total_b;

	if (c->v.store != NULL && views_cache_stats(&c->v, NULL, &s, NULL) == 0) {
		help(b, "followerd_cache_blobs", "gauge",
		     "Artifacts recorded by the cache, by state.");
		(void)evbuffer_add_printf(b,
		                          "followerd_cache_blobs{state=\"cached\"} %" PRIu64 "\n"
		                          "followerd_cache_blobs{state=\"quarantined\"} %" PRIu64
		                          "\n",
		                          s.cached, s.quarantined);
		put_u64(b, "followerd_cache_bytes", "gauge", "Bytes of the cached artifacts.",
		        s.cached_bytes);
	}
	if (c->h->cache != NULL && cache_disk_space(c->h->cache, &free_b, &total_b) == 0) {
		put_u64(b, "followerd_cache_disk_free_bytes", "gauge",
		        "Free space of the cache's file system.", free_b);
		put_u64(b, "followerd_cache_disk_total_bytes", "gauge",
		        "Size of the cache's file system.", total_b);
	}
}

static void put_http(const struct http *h, struct evbuffer *b)
{
	const struct http_counters *n = &h->n;

	help(b, "followerd_http_responses_total", "counter", "HTTP responses sent, by status.");
	for (int code = 100; code < HTTP_STATUS_MAX; code++)
		if (n->responses[code] > 0)
			(void)evbuffer_add_printf(
			    b, "followerd_http_responses_total{code=\"%d\"} %" PRIu64 "\n", code,
			    n->responses[code]);
	help(b, "followerd_http_connections", "gauge", "Open client connections.");
	(void)evbuffer_add_printf(b,
	                          "followerd_http_connections{endpoint=\"queries\"} %u\n"
	                          "followerd_http_connections{endpoint=\"admin\"} %u\n",
	                          h->pub.connections, h->adm.connections);
	put_u64(b, "followerd_http_connections_accepted_total", "counter", "Connections accepted.",
	        n->accepted);
	put_u64(b, "followerd_http_connections_rejected_total", "counter",
	        "Connections closed at once, before reading: past max_connections or "
	        "max_connections_per_address.",
	        n->rejected);
	put_u64(b, "followerd_http_request_deadlines_total", "counter",
	        "Connections closed for not sending a request within header_timeout.",
	        n->deadlines);
	put_u64(b, "followerd_http_artifact_bytes_total", "counter", "Artifact bytes sent.",
	        n->artifact_bytes);
	put_u64(b, "followerd_http_artifacts_not_cached_total", "counter",
	        "Artifact requests answered 503: not cached yet.", n->not_cached);
	http_door_metrics(h, b);
	help(b, "followerd_event_loop_stall_seconds", "gauge",
	     "How late the loop's last late turn was (0: never).");
	(void)evbuffer_add_printf(b, "followerd_event_loop_stall_seconds %.3f\n",
	                          (double)h->stall_ms / 1000.0);
}

/* ---- the warmer's counts ---- */

/* The query store's part: typed hot extents to load, loaded (or not
 * queryable), waiting (cached, not loaded yet), and the store's bytes. */
static json_t *load_json(const struct warm_status *st)
{
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "extents", (json_int_t)st->load_extents,
	    "loaded_extents", (json_int_t)st->loaded_extents, "rows", (json_int_t)st->load_rows,
	    "loaded_rows", (json_int_t)st->loaded_rows, "waiting", (json_int_t)st->load_waiting,
	    "not_queryable", (json_int_t)st->not_queryable, "bytes", (json_int_t)st->query_bytes);
}

static json_t *warm_json(const struct warm_status *st)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "hot_files",
	                 (json_int_t)st->hot_files, "hot_bytes", (json_int_t)st->hot_bytes,
	                 "cached_files", (json_int_t)st->cached_files, "cached_bytes",
	                 (json_int_t)st->cached_bytes, "pending", (json_int_t)st->pending,
	                 "in_flight", (json_int_t)st->in_flight, "failed", (json_int_t)st->failed,
	                 "quarantined", (json_int_t)st->quarantined, "over_limit",
	                 (json_int_t)st->over_limit, "query_store", load_json(st));
}

static int warm_table(void *arg, const char *table, const struct warm_status *st)
{
	return json_object_set_new(arg, table, warm_json(st));
}

int http_warming(struct http_call *c, const struct views_db *d, json_t *j)
{
	struct warm *w = c->h->hooks.warm != NULL ? c->h->hooks.warm(c->h->hooks.arg) : NULL;
	struct warm_status st;
	struct warm_totals t;
	json_t *o, *tables = json_object();

	if (w == NULL || tables == NULL || warm_status(w, d->info.config, &st) < 0) {
		json_decref(tables);
		return json_object_set_new(j, "warming", json_null()) == 0 ? 0 : -ENOMEM;
	}
	warm_totals(w, &t);
	if ((o = warm_json(&st)) == NULL) {
		json_decref(tables);
		return -ENOMEM;
	}
	if (json_object_set_new(o, "tables", tables) < 0 ||
	    warm_table_status(w, d->info.config, warm_table, tables) < 0) {
		json_decref(o);
		return -ENOMEM;
	}
	/* the rate is the whole warmer's: transfers are not split per database */
	if (json_object_set_new(o, "fetch_bytes_per_second", json_real(t.bytes_per_s)) < 0 ||
	    json_object_set_new(o, "scans", json_integer((json_int_t)warm_scans(w))) < 0 ||
	    json_object_set_new(j, "warming", o) < 0)
		return -ENOMEM;
	return 0;
}

static void put_warm_db(struct evbuffer *b, struct warm *w, const struct views_db *dbs,
                        const bool *visible, size_t n)
{
	static const char *const names[] = {
	    "followerd_database_hot_bytes", "followerd_database_hot_cached_bytes",
	    "followerd_database_artifacts_pending", "followerd_database_artifacts_quarantined"};
	static const char *const helps[] = {"Bytes of the hot extents' artifacts.",
	                                    "Of them, cached.",
	                                    "Hot artifacts not cached yet (queued or in flight).",
	                                    "Hot artifacts quarantined (failed verification)."};

	for (size_t s = 0; s < 4; s++) {
		help(b, names[s], "gauge", helps[s]);
		for (size_t i = 0; i < n; i++) {
			struct warm_status st;
			uint64_t v[4];

			if (!visible[i] || warm_status(w, dbs[i].info.config, &st) < 0)
				continue;
			v[0] = st.hot_bytes, v[1] = st.cached_bytes;
			v[2] = st.pending + st.in_flight, v[3] = st.quarantined;
			(void)evbuffer_add_printf(b, "%s{database=\"", names[s]);
			label(b, dbs[i].info.local_name);
			(void)evbuffer_add_printf(b, "\"} %" PRIu64 "\n", v[s]);
		}
	}
}

/* Read-through (warm_demand): requests, downloads, what waits. */
static void put_read_through(struct evbuffer *b, struct warm *w)
{
	struct warm_demand_stats d;

	warm_demand_stats(w, &d);
	help(b, "followerd_read_through_requests_total", "counter",
	     "Artifact requests read through (not cached), by outcome: shared joined a "
	     "download or lookup under way.");
	(void)evbuffer_add_printf(
	    b,
	    "followerd_read_through_requests_total{result=\"all\"} %" PRIu64 "\n"
	    "followerd_read_through_requests_total{result=\"shared\"} %" PRIu64 "\n"
	    "followerd_read_through_requests_total{result=\"error\"} %" PRIu64 "\n",
	    d.requests, d.shared, d.failed);
	put_u64(b, "followerd_read_through_downloads_total", "counter",
	        "Downloads started for read-through requests.", d.downloads);
	help(b, "followerd_read_through_waiting", "gauge",
	     "Requests waiting for an artifact; artifacts queued for a download slot.");
	(void)evbuffer_add_printf(b,
	                          "followerd_read_through_waiting{what=\"requests\"} %u\n"
	                          "followerd_read_through_waiting{what=\"queued\"} %u\n",
	                          d.waiting, d.queued);
}

static uint64_t used_bytes(const struct warm *w)
{
	uint64_t used = 0;

	return warm_cache_used(w, &used) == 0 ? used : 0;
}

static void put_warm(struct http_call *c, struct evbuffer *b, const struct views_db *dbs,
                     const bool *visible, size_t n)
{
	struct warm *w = c->h->hooks.warm != NULL ? c->h->hooks.warm(c->h->hooks.arg) : NULL;
	struct warm_totals t;

	if (w == NULL)
		return;
	warm_totals(w, &t);
	help(b, "followerd_fetch_artifacts_total", "counter", "Artifact downloads, by result.");
	(void)evbuffer_add_printf(b,
	                          "followerd_fetch_artifacts_total{result=\"ok\"} %" PRIu64 "\n"
	                          "followerd_fetch_artifacts_total{result=\"error\"} %" PRIu64 "\n",
	                          t.fetched_files, t.failed_downloads);
	put_u64(b, "followerd_fetch_bytes_total", "counter", "Body bytes of the artifacts fetched.",
	        t.fetched_bytes);
	put_u64(b, "followerd_query_store_bytes", "gauge",
	        "Bytes of the query stores (files, WALs, -shm), counted against cache_max_size and "
	        "min_free_space with the artifacts.",
	        warm_query_bytes(w));
	put_u64(b, "followerd_cache_used_bytes", "gauge",
	        "The artifacts and the query stores together, as the warmer last counted them.",
	        used_bytes(w));
	put_u64(b, "followerd_cache_evicted_total", "counter", "Artifacts evicted from the cache.",
	        t.evicted_files);
	put_read_through(b, w);
	put_warm_db(b, w, dbs, visible, n);
}

/* ---- the query stores ---- */

struct qwalk {
	struct evbuffer *b;
	const struct views_db *dbs;
	const bool *visible;
	size_t n;
};

/* Only the databases the caller may see. */
static bool may_see(const struct qwalk *w, const char *database)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->dbs[i].info.local_name, database) == 0)
			return w->visible[i];
	return false;
}

static int put_qtable(void *arg, const char *database, const char *table, uint64_t extents,
                      uint64_t rows, uint64_t bytes)
{
	const struct qwalk *w = arg;
	struct evbuffer *b = w->b;
	static const char *const names[] = {"followerd_query_rows", "followerd_query_bytes",
	                                    "followerd_query_extents"};
	const uint64_t v[] = {rows, bytes, extents};

	if (!may_see(w, database))
		return 0;
	for (size_t i = 0; i < 3; i++) {
		(void)evbuffer_add_printf(b, "%s{database=\"", names[i]);
		label(b, database);
		(void)evbuffer_add(b, "\",table=\"", 9);
		label(b, table);
		(void)evbuffer_add_printf(b, "\"} %" PRIu64 "\n", v[i]);
	}
	return 0;
}

/* The query workers: running, waiting, done. */
static void put_queries(struct http_call *c, struct evbuffer *b)
{
	uint64_t running, queued, finished;

	if (c->h->hooks.query_counts == NULL ||
	    !c->h->hooks.query_counts(c->h->hooks.arg, &running, &queued, &finished))
		return;
	put_u64(b, "followerd_queries_running", "gauge", "KQL queries on a worker now.", running);
	put_u64(b, "followerd_queries_queued", "gauge", "KQL queries waiting for a worker.",
	        queued);
	put_u64(b, "followerd_queries_total", "counter", "KQL queries run to their end.", finished);
}

/* Rows, bytes and extents loaded per table; loads, their rate and errors. */
static void put_query(struct http_call *c, struct evbuffer *b, const struct views_db *dbs,
                      const bool *visible, size_t n)
{
	struct qsync *q = c->h->hooks.qsync != NULL ? c->h->hooks.qsync(c->h->hooks.arg) : NULL;
	struct qwalk w = {b, dbs, visible, n};
	struct qsync_status st;

	put_queries(c, b);
	if (q == NULL)
		return;
	qsync_status(q, &st);
	help(b, "followerd_query_rows", "gauge",
	     "Rows loaded in the query store, per table (also _bytes and _extents).");
	(void)qsync_tables(q, put_qtable, &w);
	put_u64(b, "followerd_query_not_queryable_extents", "gauge",
	        "Visible extents whose rows did not load (bad data, an unknown format).",
	        st.not_queryable);
	help(b, "followerd_query_loads_total", "counter", "Extent loads, by result.");
	(void)evbuffer_add_printf(b,
	                          "followerd_query_loads_total{result=\"ok\"} %" PRIu64 "\n"
	                          "followerd_query_loads_total{result=\"error\"} %" PRIu64 "\n",
	                          st.loads, st.load_errors);
	put_u64(b, "followerd_query_loaded_rows_total", "counter", "Rows loaded since start.",
	        st.loaded_rows);
	help(b, "followerd_query_load_rows_per_second", "gauge", "Rows/s of the last load.");
	(void)evbuffer_add_printf(b, "followerd_query_load_rows_per_second %.0f\n", st.rows_per_s);
	help(b, "followerd_query_pass_seconds", "gauge",
	     "How long the last pass of the query stores over the state store took.");
	(void)evbuffer_add_printf(b, "followerd_query_pass_seconds %.6f\n", st.pass_s);
	put_u64(b, "followerd_query_pass_skipped_databases", "gauge",
	        "Databases the last pass had nothing to do for (no new version, no cache change).",
	        st.skipped);
}

/* What queries skipped and read through (hooks.query_totals). */
static void put_query_totals(struct http_call *c, struct evbuffer *b)
{
	struct http_query_totals t = {0};

	if (c->h->hooks.query_totals == NULL)
		return;
	c->h->hooks.query_totals(c->h->hooks.arg, &t);
	put_u64(b, "followerd_query_extents_skipped_total", "counter",
	        "Extents queries left out unread: their column statistics prove no row matches "
	        "the time filters.",
	        t.extents_skipped);
	put_u64(b, "followerd_query_readthru_extents_total", "counter",
	        "Extents not cached (cold, or warming) that queries read through.",
	        t.readthru_extents);
	help(b, "followerd_query_readthru_files_total", "counter",
	     "Artifacts fetched and verified for queries (also _bytes_total).");
	(void)evbuffer_add_printf(b,
	                          "followerd_query_readthru_files_total %" PRIu64 "\n"
	                          "followerd_query_readthru_bytes_total %" PRIu64 "\n",
	                          t.readthru_files, t.readthru_bytes);
	help(b, "followerd_query_readthru_refused_total", "counter",
	     "Queries refused because their read-through was over query_readthru_max_size, "
	     "or failed.");
	(void)evbuffer_add_printf(
	    b,
	    "followerd_query_readthru_refused_total{reason=\"bound\"} %" PRIu64 "\n"
	    "followerd_query_readthru_refused_total{reason=\"error\"} %" PRIu64 "\n",
	    t.readthru_refused, t.readthru_failed);
	help(b, "followerd_query_sessions_total", "counter",
	     "Query preparations that used their worker's kept connection, views and extent "
	     "walks again (reused: no change of the data since), or opened them afresh.");
	(void)evbuffer_add_printf(b,
	                          "followerd_query_sessions_total{result=\"reused\"} %" PRIu64 "\n"
	                          "followerd_query_sessions_total{result=\"opened\"} %" PRIu64 "\n",
	                          t.sessions_reused, t.sessions_opened);
	help(b, "followerd_query_scans_total", "counter",
	     "Scans run split (a summarize, distinct, top, take or innerunique join): over "
	     "several partitions on as many cores (split), or as one partition hashed (hashed).");
	(void)evbuffer_add_printf(b,
	                          "followerd_query_scans_total{plan=\"split\"} %" PRIu64 "\n"
	                          "followerd_query_scans_total{plan=\"hashed\"} %" PRIu64 "\n",
	                          t.scans_split, t.scans_hashed);
}

struct step_walk {
	struct evbuffer *b;
	const struct views_db *dbs;
	const bool *visible;
	size_t n;
};

static int put_step(void *arg, const struct sync_status *st)
{
	const struct step_walk *sw = arg;

	if (st->last_step_ms < 0)
		return 0;
	for (size_t i = 0; i < sw->n; i++) {
		if (!sw->visible[i] || strcmp(sw->dbs[i].info.config, st->database) != 0)
			continue;
		(void)evbuffer_add_printf(sw->b,
		                          "followerd_database_sync_step_seconds{database=\"");
		label(sw->b, sw->dbs[i].info.local_name);
		(void)evbuffer_add_printf(sw->b, "\"} %.3f\n", (double)st->last_step_ms / 1000.0);
	}
	return 0;
}

/* How long the last sync step of each database took (fetch, decode, apply). */
static void put_sync(struct http_call *c, struct evbuffer *b, const struct views_db *dbs,
                     const bool *visible, size_t n)
{
	struct sync *s = c->h->hooks.sync != NULL ? c->h->hooks.sync(c->h->hooks.arg) : NULL;
	struct step_walk sw = {b, dbs, visible, n};

	if (s == NULL)
		return;
	help(b, "followerd_database_sync_step_seconds", "gauge",
	     "Wall time of the last log or checkpoint step that succeeded: fetch, decode, apply.");
	(void)sync_status(s, put_step, &sw);
}

void http_metrics(struct http_call *c)
{
	const struct views_db *dbs = NULL;
	size_t n = 0, seen = 0;
	bool *visible = NULL;
	struct evbuffer *b = NULL;
	int r = http_dbs(c, &dbs, &n);

	if (r == 0 &&
	    ((visible = calloc(n + 1, sizeof(*visible))) == NULL || (b = evbuffer_new()) == NULL))
		r = -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++)
		seen += visible[i] = http_may(c, &dbs[i], AUTH_REQ_METADATA);
	if (r < 0)
		http_call_fail(c, r);
	else if (n > 0 && seen == 0 && !c->who.superuser)
		http_call_error(c, 403, "Forbidden", "the caller may see no database");
	if (r == 0 && !c->replied) {
		put_databases(b, dbs, visible, n);
		put_cache(c, b);
		put_warm(c, b, dbs, visible, n);
		put_query(c, b, dbs, visible, n);
		put_query_totals(c, b);
		put_sync(c, b, dbs, visible, n);
		put_http(c->h, b);
		http_headers(c->req, "text/plain; version=0.0.4; charset=utf-8");
		c->replied = true;
		evhttp_send_reply(c->req, 200, "OK", b);
	}
	if (b != NULL)
		evbuffer_free(b);
	free(visible);
}

/* ---- /healthz ---- */

static int reason(json_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reason(json_t *a, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return json_array_append_new(a, json_string(buf));
}

static void loop_reasons(const struct http *h, json_t *a)
{
	int64_t now = http_now_ms(), age = now - h->beat_ms;

	if (age > HEARTBEAT_MAX_AGE_MS)
		(void)reason(a, "the event loop did not turn for %.1f s", (double)age / 1000.0);
	else if (h->stall_at_ms > 0 && now - h->stall_at_ms < HTTP_STALL_MEMORY_S * 1000)
		(void)reason(a, "the event loop stalled for %.1f s, %.0f s ago",
		             (double)h->stall_ms / 1000.0, (double)(now - h->stall_at_ms) / 1000.0);
}

static void db_reasons(struct http_call *c, json_t *a)
{
	const struct views_db *dbs = NULL;
	size_t n = 0;
	int64_t max = c->h->conf->max_lag;

	if (c->v.store == NULL) {
		if (c->h->store_path != NULL && access(c->h->store_path, F_OK) == 0)
			(void)reason(a, "the store cannot be read");
		return;
	}
	if (http_dbs(c, &dbs, &n) < 0) {
		(void)reason(a, "the store cannot be read: %s", c->err);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t lag = lag_ticks(&dbs[i].info);

		if (lag <= max)
			continue;
		(void)reason(a, "database %s%s%s is %.0f s behind its leader (max_lag %.0f s)",
		             http_may(c, &dbs[i], AUTH_REQ_METADATA) ? "'" : "",
		             http_may(c, &dbs[i], AUTH_REQ_METADATA) ? dbs[i].info.local_name
		                                                     : "(hidden)",
		             http_may(c, &dbs[i], AUTH_REQ_METADATA) ? "'" : "",
		             (double)lag / PROTO_TICKS_PER_SEC, (double)max / PROTO_TICKS_PER_SEC);
	}
}

void http_healthz(struct http_call *c)
{
	json_t *a = json_array();
	bool ok;

	if (a == NULL)
		return http_call_fail(c, -ENOMEM);
	loop_reasons(c->h, a);
	db_reasons(c, a);
	ok = json_array_size(a) == 0;
	http_call_json(c, ok ? 200 : 503,
	               json_pack("{s:s, s:o}", "status", ok ? "ok" : "unhealthy", "reasons", a));
}

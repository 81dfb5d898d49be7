/*
 * engine_sync — the daemon's engine over lib/sync (see engine.h).
 *
 * Owns the fetch handle (libcurl multi on the daemon's loop) and the sync
 * engine, turns sync's events into engine reports (which the daemon logs
 * once, with its memo for repeated failures) and keeps a one-line status for
 * sd_notify.  In ENGINE_ONCE mode it runs one sync round and reports its
 * outcome through done().
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "net/fetch.h"
#include "sync/sync.h"
#include "cache/qsync.h"
#include "cache/warm.h"

#define STORE_FILE "state.db"
#define QSYNC_RETRY_TICKS 5  /* status ticks (seconds) between retries of a full disk */
#define STATUS_EVERY_MS 1000 /* STATUS= at most this often (and at least: lag and cache move) */
#define TICKS_PER_S 10000000LL

struct esync {
	struct event_base *base;
	struct engine_events ev;
	enum engine_mode mode;
	struct fetch *fetch;
	struct sync *sync;
	struct warm *warm;   /* ENGINE_RUN only: keeps the cache warm */
	struct qsync *qsync; /* ENGINE_RUN only: the query stores follow the cache */
	uint64_t qsync_seen; /* the warmer's fetched + evicted at the last kick */
	uint64_t warm_seen;  /* the warmer's scans at the last kick */
	uint64_t loads_seen; /* qsync's loads, errors and drops at the last rescan */
	unsigned qsync_idle; /* ticks since the last kick */
	struct event *turn;  /* ready() and the once round start on the first loop turn */
	struct event *tick;  /* ENGINE_RUN: recomputes the status every STATUS_EVERY_MS */
	int64_t status_ms;   /* monotonic ms of the last computation */
	uint64_t cache_cap;  /* cache_max_size, 0: none */
	bool disk_full;      /* the warmer's last word on space */
	char status[256];
	bool stopping;
	bool curl; /* curl_global_init succeeded */
};

/* ---- reports ---- */

static enum engine_report_kind report_kind(enum sync_event_kind k)
{
	switch (k) {
	case SYNC_EV_ATTACHED:
		return ENGINE_DATABASE_ATTACHED;
	case SYNC_EV_APPLIED:
		return ENGINE_VERSION_APPLIED;
	case SYNC_EV_DETACHED:
		return ENGINE_DATABASE_DETACHED;
	case SYNC_EV_REWIND:
		return ENGINE_DATABASE_REWOUND;
	case SYNC_EV_ERROR:
		return ENGINE_SYNC_FAILED;
	case SYNC_EV_RECOVERED:
		return ENGINE_SYNC_RECOVERED;
	case SYNC_EV_UNREACHABLE:
		return ENGINE_LEADER_UNREACHABLE;
	case SYNC_EV_REACHABLE:
		break;
	}
	return ENGINE_LEADER_REACHABLE;
}

/* ---- the status line ---- */

struct tally {
	unsigned n, errors;
	int64_t max_lag; /* ticks */
};

static int tally_one(void *arg, const struct sync_status *st)
{
	struct tally *t = arg;

	t->n++;
	t->errors += st->last_error != NULL;
	if (st->lag_ticks > t->max_lag)
		t->max_lag = st->lag_ticks;
	return 0;
}

/* "2s", "5m", "3h", "2d": the coarsest unit that still says something. */
static void fmt_lag(int64_t ticks, char *buf, size_t size)
{
	long long s = (long long)(ticks / TICKS_PER_S);

	if (s < 120)
		(void)snprintf(buf, size, "%llds", s);
	else if (s < 7200)
		(void)snprintf(buf, size, "%lldm", s / 60);
	else if (s < 172800)
		(void)snprintf(buf, size, "%lldh", s / 3600);
	else
		(void)snprintf(buf, size, "%lldd", s / 86400);
}

/* "cache 41.2/100 GiB", "cache 3.1 MiB" (no cap), "cache reconciling". */
static void fmt_cache(const struct esync *e, char *buf, size_t size)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	uint64_t used = 0, top;
	double div = 1;
	size_t u = 0;

	if (e->warm == NULL || warm_cache_used(e->warm, &used) < 0) {
		(void)snprintf(buf, size, "cache %s", e->warm != NULL ? "reconciling" : "off");
		return;
	}
	top = e->cache_cap > used ? e->cache_cap : used;
	for (; u + 1 < sizeof(units) / sizeof(units[0]) && top / div >= 1024; u++)
		div *= 1024;
	if (e->cache_cap == 0)
		(void)snprintf(buf, size, "cache %.*f %s", u ? 1 : 0, used / div, units[u]);
	else
		(void)snprintf(buf, size, "cache %.*f/%.4g %s", u ? 1 : 0, used / div,
		               e->cache_cap / div, units[u]);
}

/* ", 1200000 rows queryable[, 2 extents not queryable][, query store: disk full]" */
static size_t fmt_query(const struct esync *e, char *line, size_t size, size_t len)
{
	struct qsync_status q;

	if (e->qsync == NULL || len >= size)
		return len;
	qsync_status(e->qsync, &q);
	/* only once there is typed data: a follower of opaque leaders says nothing */
	if (q.rows > 0)
		len += (size_t)snprintf(line + len, size - len, ", %llu rows queryable",
		                        (unsigned long long)q.rows);
	if (q.not_queryable > 0 && len < size)
		len += (size_t)snprintf(line + len, size - len, ", %llu extent%s not queryable",
		                        (unsigned long long)q.not_queryable,
		                        q.not_queryable == 1 ? "" : "s");
	if (q.disk_full && len < size)
		len += (size_t)snprintf(line + len, size - len, ", query store: disk full");
	return len;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One line a person can act on: "3 databases, max lag 2s, cache 41.2/100
 * GiB, 0 errors[, 2 artifacts quarantined][, 5 hot artifacts over the cache
 * limit][, disk full]". */
static void update_status(struct esync *e)
{
	struct tally t = {0};
	struct warm_status ws = {0};
	char line[sizeof(e->status)], lag[32], cache[64];
	size_t len;

	e->status_ms = mono_ms();
	(void)sync_status(e->sync, tally_one, &t);
	if (e->warm != NULL)
		warm_status_total(e->warm, &ws);
	fmt_lag(t.max_lag, lag, sizeof(lag));
	fmt_cache(e, cache, sizeof(cache));
	len = (size_t)snprintf(line, sizeof(line), "%u database%s, max lag %s, %s, %u error%s", t.n,
	                       t.n == 1 ? "" : "s", lag, cache, t.errors, t.errors == 1 ? "" : "s");
	if (ws.quarantined > 0 && len < sizeof(line))
		len += (size_t)snprintf(
		    line + len, sizeof(line) - len, ", %llu artifact%s quarantined",
		    (unsigned long long)ws.quarantined, ws.quarantined == 1 ? "" : "s");
	if (ws.over_limit > 0 && len < sizeof(line))
		len += (size_t)snprintf(
		    line + len, sizeof(line) - len, ", %llu hot artifact%s over the cache limit",
		    (unsigned long long)ws.over_limit, ws.over_limit == 1 ? "" : "s");
	len = fmt_query(e, line, sizeof(line), len);
	if (e->disk_full && len < sizeof(line))
		(void)snprintf(line + len, sizeof(line) - len, ", disk full");
	if (strcmp(line, e->status) == 0)
		return;
	(void)snprintf(e->status, sizeof(e->status), "%s", line);
	e->ev.status(e->ev.arg, line);
}

/* After an event: at once unless the last status is less than a second
 * old (the tick catches up). */
static void status_changed(struct esync *e)
{
	if (e->tick == NULL || mono_ms() - e->status_ms >= STATUS_EVERY_MS)
		update_status(e);
}

/* The query stores follow the cache: a pass whenever the warmer fetched,
 * evicted or scanned since the last one (cheap to ask every second; the
 * warmer's changed hook asks at once).  And the warmer follows the query
 * stores: when qsync loaded or dropped since the last tick, it scans again
 * (at most once a tick): the stores' bytes count against the cache's
 * limits, a prefetch waits for the loads, followerctl warm shows them. */
static void kick_qsync(struct esync *e)
{
	struct warm_totals t;
	struct qsync_status q;
	uint64_t seen, loads;

	if (e->qsync == NULL || e->warm == NULL)
		return;
	warm_totals(e->warm, &t);
	qsync_status(e->qsync, &q);
	seen = t.fetched_files + t.evicted_files;
	if (seen != e->qsync_seen) {
		e->qsync_seen = seen;
		qsync_cache_changed(e->qsync);
	}
	/* after a full disk, a pass every QSYNC_RETRY_TICKS until it loads */
	if (warm_scans(e->warm) != e->warm_seen ||
	    (q.disk_full && ++e->qsync_idle >= QSYNC_RETRY_TICKS)) {
		e->warm_seen = warm_scans(e->warm);
		e->qsync_idle = 0;
		qsync_kick(e->qsync);
	}
	loads = q.loads + q.load_errors + q.drops;
	if (loads != e->loads_seen)
		warm_rescan(e->warm);
	e->loads_seen = loads;
}

static void on_cache_changed(void *arg)
{
	struct esync *e = arg;

	if (e->qsync != NULL)
		qsync_cache_changed(e->qsync);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	kick_qsync(arg);
	update_status(arg);
}

static void on_sync_event(void *arg, const struct sync_event *sev)
{
	struct esync *e = arg;
	char detail[1024];
	struct engine_report r = {
	    .kind = report_kind(sev->kind),
	    .database = sev->database,
	    .local_name = sev->local_name,
	    .leader = sev->leader,
	    .leader_version = sev->leader_version,
	    .applied_version = sev->applied_version,
	    .url = sev->url,
	    .error = sev->error,
	    .detail = sev->detail,
	};

	if (sev->summary != NULL) {
		(void)snprintf(detail, sizeof(detail),
		               "%s%llu extents added, %llu removed, %zu schema changes",
		               sev->checkpoint ? "from a checkpoint, " : "",
		               (unsigned long long)sev->summary->extents_added,
		               (unsigned long long)sev->summary->extents_removed,
		               sev->summary->changes.n);
		r.detail = detail;
	}
	e->ev.report(e->ev.arg, &r);
	status_changed(e);
}

struct local_of {
	const char *database;
	char name[256];
};

static int local_one(void *arg, const struct sync_status *st)
{
	struct local_of *l = arg;

	if (strcmp(st->database, l->database) != 0 || st->local_name == NULL)
		return 0;
	(void)snprintf(l->name, sizeof(l->name), "%s", st->local_name);
	return 1;
}

static void on_warm_report(void *arg, const struct warm_report *wr)
{
	static const enum engine_report_kind kinds[] = {
	    [WARM_REPORT_QUARANTINED] = ENGINE_ARTIFACT_QUARANTINED,
	    [WARM_REPORT_DISK_FULL] = ENGINE_DISK_FULL,
	    [WARM_REPORT_DISK_OK] = ENGINE_DISK_RECOVERED,
	};
	struct esync *e = arg;
	struct local_of local = {.database = wr->database};
	char detail[256];
	struct engine_report r;

	(void)sync_status(e->sync, local_one, &local);
	r = (struct engine_report){
	    .kind = kinds[wr->kind],
	    .database = wr->database,
	    .local_name = local.name[0] != '\0' ? local.name : NULL,
	    .extent_id = wr->extent_id,
	    .artifact_sha256 = wr->sha256,
	    .url = wr->url,
	    .error = wr->error,
	};

	(void)snprintf(detail, sizeof(detail),
	               "sha256 %s: its digest was wrong %d times; it is not fetched again",
	               wr->sha256, WARM_MAX_FAILS);
	if (wr->kind == WARM_REPORT_QUARANTINED)
		r.detail = detail;
	else if (wr->kind == WARM_REPORT_DISK_FULL)
		r.detail = "downloads into the cache fail; free space or lower cache_max_size";
	if (wr->kind != WARM_REPORT_QUARANTINED)
		e->disk_full = wr->kind == WARM_REPORT_DISK_FULL;
	e->ev.report(e->ev.arg, &r);
	status_changed(e);
}

static void on_sync_changed(void *arg, const struct sync_change *c)
{
	struct esync *e = arg;

	if (e->warm != NULL)
		warm_changed(e->warm, c);
	if (e->qsync != NULL)
		qsync_kick(e->qsync);
}

/* ---- life ---- */

static void once_done(void *arg, unsigned failed, const char *message)
{
	struct esync *e = arg;
	char err[1024];

	if (failed == 0) {
		e->ev.done(e->ev.arg, 0, NULL);
		return;
	}
	(void)snprintf(err, sizeof(err), "%u database%s failed to sync; first: %s", failed,
	               failed == 1 ? "" : "s", message);
	e->ev.done(e->ev.arg, -EIO, err);
}

static void first_turn(evutil_socket_t fd, short what, void *arg)
{
	struct esync *e = arg;
	int r;

	struct timeval every = {STATUS_EVERY_MS / 1000, (STATUS_EVERY_MS % 1000) * 1000};

	if (e->mode == ENGINE_RUN) {
		update_status(e);
		e->ev.ready(e->ev.arg);
		e->tick = event_new(e->base, -1, EV_PERSIST, on_tick, e);
		if (e->tick == NULL || event_add(e->tick, &every) < 0)
			e->ev.status(e->ev.arg, "status updates stopped: out of memory");
		return;
	}
	r = sync_once(e->sync, once_done, e);
	if (r < 0)
		e->ev.done(e->ev.arg, r, "a sync round is already running");
}

static int open_sync(struct esync *e, const struct conf *conf, char *err, size_t errlen)
{
	char path[4096], serr[SYNC_ERRLEN];
	struct fetch_options fo = {
	    .max_total = (unsigned)conf->fetch_concurrency,
	    .max_per_host = (unsigned)conf->fetch_concurrency_per_leader,
	};
	struct sync_options so = {.store_path = path};
	struct sync_callbacks cb = {.arg = e, .event = on_sync_event, .changed = on_sync_changed};
	char werr[WARM_ERRLEN];
	int r = 0;

	/* The state directory itself, not its parents (systemd's StateDirectory=
	 * makes it; a hand-run daemon gets it made here). */
	if (mkdir(conf->state_dir, 0750) < 0 && errno != EEXIST) {
		r = -errno;
		(void)snprintf(err, errlen, "%s: %s", conf->state_dir, strerror(errno));
		return r;
	}
	(void)snprintf(path, sizeof(path), "%s/%s", conf->state_dir, STORE_FILE);
	if ((e->fetch = fetch_new(e->base, &fo)) == NULL) {
		(void)snprintf(err, errlen, "cannot start the fetcher: %s", strerror(errno));
		return -errno;
	}
	r = sync_new(e->base, e->fetch, &so, &cb, &e->sync, serr);
	if (r == 0)
		r = sync_set_conf(e->sync, conf, serr);
	if (r < 0) {
		(void)snprintf(err, errlen, "%s: %s", path, serr);
		return r;
	}
	e->cache_cap = conf->cache_max_size;
	if (e->mode == ENGINE_RUN &&
	    (r = warm_new(e->base, e->fetch, conf, path, &e->warm, werr)) < 0)
		(void)snprintf(err, errlen, "%s", werr);
	if (e->warm != NULL) {
		warm_set_report(e->warm, on_warm_report, e);
		warm_set_changed(e->warm, on_cache_changed, e);
	}
	if (r == 0 && e->mode == ENGINE_RUN &&
	    (r = qsync_new(path, conf->cache_dir, &e->qsync)) < 0)
		(void)snprintf(err, errlen, "the query store in %s/query: %s", conf->cache_dir,
		               strerror(-r));
	return r;
}

static void esync_free(void *engine)
{
	struct esync *e = engine;

	if (e == NULL)
		return;
	qsync_free(e->qsync);
	warm_free(e->warm);
	sync_free(e->sync);
	fetch_free(e->fetch);
	if (e->turn != NULL)
		event_free(e->turn);
	if (e->tick != NULL)
		event_free(e->tick);
	if (e->curl)
		curl_global_cleanup();
	free(e);
}

static int esync_start(struct event_base *base, const struct conf *conf, enum engine_mode mode,
                       const struct engine_events *events, void **ret, char *err, size_t errlen)
{
	struct esync *e = calloc(1, sizeof(*e));
	int r;

	if (e == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	e->base = base;
	e->ev = *events;
	e->mode = mode;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		(void)snprintf(err, errlen, "cannot initialise libcurl");
		free(e);
		return -EIO;
	}
	e->curl = true;
	r = open_sync(e, conf, err, errlen);
	if (r == 0 && (e->turn = evtimer_new(base, first_turn, e)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		r = -ENOMEM;
	}
	if (r < 0) {
		esync_free(e);
		return r;
	}
	event_active(e->turn, EV_TIMEOUT, 0);
	*ret = e;
	return 0;
}

static int esync_reload(void *engine, const struct conf *conf, char *err, size_t errlen)
{
	struct esync *e = engine;
	char serr[SYNC_ERRLEN];
	int r = sync_set_conf(e->sync, conf, serr);

	if (r < 0) {
		(void)snprintf(err, errlen, "%s", serr);
		return r;
	}
	if ((r = fetch_set_limits(e->fetch, (unsigned)conf->fetch_concurrency,
	                          (unsigned)conf->fetch_concurrency_per_leader)) < 0)
		(void)snprintf(err, errlen, "fetch limits: %s", strerror(-r));
	if (r == 0 && e->warm != NULL && (r = warm_set_conf(e->warm, conf)) < 0)
		(void)snprintf(err, errlen, "cache: %s", strerror(-r));
	if (r == 0)
		e->cache_cap = conf->cache_max_size;
	return r;
}

static void stopped(void *arg)
{
	struct esync *e = arg;

	e->ev.done(e->ev.arg, 0, NULL);
}

static void esync_stop(void *engine)
{
	struct esync *e = engine;

	if (e->stopping)
		return;
	e->stopping = true;
	sync_stop(e->sync, stopped, e);
}

static struct warm *esync_warm(void *engine)
{
	return ((struct esync *)engine)->warm;
}

static struct sync *esync_sync(void *engine)
{
	return ((struct esync *)engine)->sync;
}

static int esync_poll_now(void *engine)
{
	struct esync *e = engine;

	if (e->stopping || e->sync == NULL)
		return -EAGAIN;
	sync_poll_now(e->sync);
	return 0;
}

static struct qsync *esync_qsync(void *engine)
{
	return ((struct esync *)engine)->qsync;
}

const struct engine_ops engine_sync = {
    .name = "sync",
    .start = esync_start,
    .reload = esync_reload,
    .stop = esync_stop,
    .free = esync_free,
    .poll_now = esync_poll_now,
    .warm = esync_warm,
    .qsync = esync_qsync,
    .sync = esync_sync,
};

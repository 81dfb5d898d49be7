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

#include <curl/curl.h>
#include <event2/event.h>

#include "conf.h"
#include "fetch.h"
#include "sync.h"
#include "warm.h"

#define STORE_FILE "state.db"

struct esync {
	struct event_base *base;
	struct engine_events ev;
	enum engine_mode mode;
	struct fetch *fetch;
	struct sync *sync;
	struct warm *warm;  /* ENGINE_RUN only: keeps the cache warm */
	struct event *turn; /* ready() and the once round start on the first loop turn */
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

struct counts {
	unsigned n, behind, failing;
};

static int count_one(void *arg, const struct sync_status *st)
{
	struct counts *c = arg;

	c->n++;
	c->behind += st->lag_versions > 0;
	c->failing += st->last_error != NULL;
	return 0;
}

static void update_status(struct esync *e)
{
	struct counts c = {0};
	char line[sizeof(e->status)];

	(void)sync_status(e->sync, count_one, &c);
	(void)snprintf(line, sizeof(line), "following %u database%s, %u behind, %u failing", c.n,
	               c.n == 1 ? "" : "s", c.behind, c.failing);
	if (strcmp(line, e->status) == 0)
		return;
	(void)snprintf(e->status, sizeof(e->status), "%s", line);
	e->ev.status(e->ev.arg, line);
}

static void on_sync_event(void *arg, const struct sync_event *sev)
{
	struct esync *e = arg;
	char detail[1024];
	struct engine_report r = {
	    .kind = report_kind(sev->kind),
	    .database = sev->database,
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
	update_status(e);
}

static void on_sync_changed(void *arg, const struct sync_change *c)
{
	struct esync *e = arg;

	if (e->warm != NULL)
		warm_changed(e->warm, c);
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

	if (e->mode == ENGINE_RUN) {
		update_status(e);
		e->ev.ready(e->ev.arg);
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
	if (e->mode == ENGINE_RUN &&
	    (r = warm_new(e->base, e->fetch, conf, path, &e->warm, werr)) < 0)
		(void)snprintf(err, errlen, "%s", werr);
	return r;
}

static void esync_free(void *engine)
{
	struct esync *e = engine;

	if (e == NULL)
		return;
	warm_free(e->warm);
	sync_free(e->sync);
	fetch_free(e->fetch);
	if (e->turn != NULL)
		event_free(e->turn);
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
	if (e->warm != NULL && (r = warm_set_conf(e->warm, conf)) < 0)
		(void)snprintf(err, errlen, "cache: %s", strerror(-r));
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

const struct engine_ops engine_sync = {
    .name = "sync",
    .start = esync_start,
    .reload = esync_reload,
    .stop = esync_stop,
    .free = esync_free,
    .poll_now = esync_poll_now,
    .warm = esync_warm,
    .sync = esync_sync,
};

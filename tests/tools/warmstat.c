/*
 * warmstat — runs lib/warm once over a follower's store and cache (the
 * daemon stopped) and prints each database's warm_status, for e2e tests.
 *
 *   warmstat CONF     CONF is the daemon's followerd.conf (state_dir,
 *                     cache_dir, attaches)
 *
 * Runs the loop until a scan has run and no database has a download pending
 * or in flight (or 10 s passed), then prints one line per database:
 *   DB hot=N/BYTES cached=N/BYTES pending=N in_flight=N failed=N quarantined=N
 *      over_limit=N
 * Exit status: 0, 1 on an error (message on stderr), 2 on usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "net/fetch.h"
#include "store/store.h"
#include "cache/warm.h"

#define TICK_MS 100
#define MAX_TICKS 100

struct run {
	struct event_base *base;
	struct warm *warm;
	struct store_db_info *dbs;
	size_t ndbs;
	unsigned ticks;
	struct event *timer;
};

static bool settled(struct run *r)
{
	struct warm_status st;

	if (warm_scans(r->warm) < 1)
		return false;
	for (size_t i = 0; i < r->ndbs; i++)
		if (warm_status(r->warm, r->dbs[i].config, &st) == 0 &&
		    st.pending + st.in_flight > 0)
			return false;
	return true;
}

static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	struct timeval tv = {0, TICK_MS * 1000};

	if (settled(r) || ++r->ticks >= MAX_TICKS) {
		(void)event_base_loopbreak(r->base);
		return;
	}
	(void)evtimer_add(r->timer, &tv);
}

static void print(struct run *r)
{
	struct warm_status st;

	for (size_t i = 0; i < r->ndbs; i++) {
		if (warm_status(r->warm, r->dbs[i].config, &st) < 0)
			continue;
		printf("%s hot=%" PRIu64 "/%" PRIu64 " cached=%" PRIu64 "/%" PRIu64
		       " pending=%" PRIu64 " in_flight=%" PRIu64 " failed=%" PRIu64
		       " quarantined=%" PRIu64 " over_limit=%" PRIu64 "\n",
		       r->dbs[i].config, st.hot_files, st.hot_bytes, st.cached_files,
		       st.cached_bytes, st.pending, st.in_flight, st.failed, st.quarantined,
		       st.over_limit);
	}
}

static int list_dbs(const char *path, struct run *r)
{
	struct store *s = NULL;
	char err[STORE_ERRLEN];
	int rc = store_open_readonly(path, &s, err);

	if (rc == 0)
		rc = store_db_list(s, &r->dbs, &r->ndbs, err);
	if (rc < 0)
		fprintf(stderr, "warmstat: %s: %s\n", path, err);
	store_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct conf *conf = NULL;
	struct fetch *f = NULL;
	struct run r = {0};
	char err[1024], path[4096];
	struct timeval tv = {0, TICK_MS * 1000};
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: warmstat CONF\n");
		return 2;
	}
	if (conf_load(argv[1], 0, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "warmstat: %s\n", err);
		return 1;
	}
	(void)snprintf(path, sizeof(path), "%s/state.db", conf->state_dir);
	(void)curl_global_init(CURL_GLOBAL_DEFAULT);
	r.base = event_base_new();
	if (r.base == NULL || (f = fetch_new(r.base, NULL)) == NULL || list_dbs(path, &r) < 0)
		goto out;
	if (warm_new(r.base, f, conf, path, &r.warm, err) < 0) {
		fprintf(stderr, "warmstat: %s\n", err);
		goto out;
	}
	r.timer = evtimer_new(r.base, tick, &r);
	if (r.timer == NULL || evtimer_add(r.timer, &tv) < 0)
		goto out;
	(void)event_base_dispatch(r.base);
	print(&r);
	rc = 0;
out:
	warm_free(r.warm);
	if (r.timer != NULL)
		event_free(r.timer);
	fetch_free(f);
	if (r.base != NULL)
		event_base_free(r.base);
	store_db_info_array_free(r.dbs, r.ndbs);
	conf_free(conf);
	curl_global_cleanup();
	return rc;
}

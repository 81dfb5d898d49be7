/*
 * bench_sync — measures lib/sync the way followerd runs it (one event loop,
 * lib/fetch on it, the sync engine's worker threads), with a 10 ms ticker on
 * the same loop to see how long the loop is ever kept from turning.
 *
 *   bench_sync attach STORE ROOT DB
 *       a first attach of DB (a fresh store): wall time, peak RSS, the
 *       longest gap between two 10 ms ticks
 *   bench_sync commit STORE ROOT DB LEADERCTL N
 *       the store follows DB already; runs `LEADERCTL -C ROOT generate DB
 *       --commit-extents N` and measures from the head's new mtime (the
 *       leader's write) to the version applied, and from the poll that saw it
 *   bench_sync serial STORE CHECKPOINT_DIR
 *       the peer: the same checkpoint read, decoded and fed on one thread
 *       with no loop (what the pipeline is compared to)
 *
 * Prints "key value" lines for tests/bench/sync.sh.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf/conf.h"
#include "net/fetch.h"
#include "util/fsutil.h"
#include "proto/proto.h"
#include "store/store.h"
#include "sync/sync.h"

extern char **environ;

struct bench {
	struct event_base *base;
	struct event *tick;
	double last_tick, max_gap;
	unsigned long ticks;
	double t_applied, t_seen;
	uint64_t want_version;
	const char *db;
	bool done;
	unsigned failed;
};

static double now(clockid_t c)
{
	struct timespec ts;

	(void)clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct bench *b = arg;
	double t = now(CLOCK_MONOTONIC);

	if (b->last_tick > 0 && t - b->last_tick > b->max_gap)
		b->max_gap = t - b->last_tick;
	b->last_tick = t;
	b->ticks++;
}

static void on_event(void *arg, const struct sync_event *ev)
{
	struct bench *b = arg;

	if (ev->kind == SYNC_EV_ERROR || ev->kind == SYNC_EV_UNREACHABLE)
		fprintf(stderr, "bench_sync: %s: %s\n", ev->database ? ev->database : ev->leader,
		        ev->detail);
	if ((ev->kind == SYNC_EV_APPLIED || ev->kind == SYNC_EV_ATTACHED) && b->want_version > 0 &&
	    ev->applied_version >= b->want_version) {
		b->t_applied = now(CLOCK_REALTIME);
		(void)event_base_loopexit(b->base, NULL);
	}
}

static void on_once(void *arg, unsigned failed, const char *message)
{
	struct bench *b = arg;

	b->failed = failed;
	if (failed > 0)
		fprintf(stderr, "bench_sync: %s\n", message);
	(void)event_base_loopexit(b->base, NULL);
}

static struct conf *make_conf(const char *root, const char *db, const char *poll)
{
	char text[4096], err[CONF_ERRLEN];
	struct conf *c = NULL;

	(void)snprintf(text, sizeof(text),
	               "[daemon]\npoll_interval = %s\nfollower_name = bench\n\n"
	               "[attach \"bench\"]\nleader = %s\ndatabase = %s\n",
	               poll, root, db);
	if (conf_parse("bench.conf", text, strlen(text), 0, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_sync: %s\n", err);
		exit(1);
	}
	return c;
}

static struct sync *start(struct bench *b, struct fetch **ret_fetch, const char *store,
                          struct conf *c)
{
	struct sync_options so = {.store_path = store};
	struct sync_callbacks cb = {.arg = b, .event = on_event};
	struct timeval ten = {0, 10000};
	char err[SYNC_ERRLEN];
	struct sync *s = NULL;

	b->base = event_base_new();
	*ret_fetch = fetch_new(b->base, NULL);
	b->tick = event_new(b->base, -1, EV_PERSIST, on_tick, b);
	if (b->base == NULL || *ret_fetch == NULL || b->tick == NULL ||
	    event_add(b->tick, &ten) < 0) {
		fprintf(stderr, "bench_sync: setup failed\n");
		exit(1);
	}
	if (sync_new(b->base, *ret_fetch, &so, &cb, &s, err) < 0 || sync_set_conf(s, c, err) < 0) {
		fprintf(stderr, "bench_sync: %s\n", err);
		exit(1);
	}
	return s;
}

static void finish(struct bench *b, struct sync *s, struct fetch *f, struct conf *c)
{
	sync_free(s);
	fetch_free(f);
	event_free(b->tick);
	event_base_free(b->base);
	conf_free(c);
}

static long peak_rss_kib(void)
{
	struct rusage ru;

	(void)getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int bench_attach(const char *store, const char *root, const char *db)
{
	struct bench b = {.db = db};
	struct conf *c = make_conf(root, db, "1s");
	struct fetch *f;
	struct sync *s = start(&b, &f, store, c);
	double t0 = now(CLOCK_MONOTONIC), wall;
	struct rusage ru;

	if (sync_once(s, on_once, &b) < 0)
		return 1;
	(void)event_base_dispatch(b.base);
	wall = now(CLOCK_MONOTONIC) - t0;
	(void)getrusage(RUSAGE_SELF, &ru);
	printf("attach_wall_s %.2f\n", wall);
	printf("attach_cpu_s %.2f\n", (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	                                  (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	printf("attach_peak_rss_mb %.1f\n", peak_rss_kib() / 1024.0);
	printf("attach_max_tick_gap_ms %.1f\n", b.max_gap * 1000);
	printf("attach_ticks %lu\n", b.ticks);
	finish(&b, s, f, c);
	return b.failed > 0;
}

static uint64_t head_version(const char *root, const char *db, double *ret_mtime)
{
	char path[4096], err[PROTO_ERRLEN];
	struct proto_head *h = NULL;
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	uint64_t v = 0;

	(void)snprintf(path, sizeof(path), "%s/head.json", root);
	if (fsutil_read_file(path, PROTO_MAX_HEAD_BYTES, &buf, &len) < 0 ||
	    proto_head_decode(buf, len, &h, err) < 0 || stat(path, &st) < 0) {
		free(buf);
		return 0;
	}
	for (size_t i = 0; i < h->ndbs; i++)
		if (strcmp(h->dbs[i].name, db) == 0)
			v = h->dbs[i].version;
	*ret_mtime = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
	proto_head_free(h);
	free(buf);
	return v;
}

struct spawn {
	struct bench *b;
	pid_t pid;
	const char *root;
	struct event *ev;
};

static void on_spawned(evutil_socket_t fd, short what, void *arg)
{
	struct spawn *sp = arg;
	int status;

	if (waitpid(sp->pid, &status, WNOHANG) == 0) {
		struct timeval tv = {0, 1000};

		(void)event_add(sp->ev, &tv);
		return;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench_sync: leaderctl generate failed\n");
		exit(1);
	}
}

static int bench_commit(const char *store, const char *root, const char *db, const char *lc,
                        const char *n)
{
	struct bench b = {.db = db};
	struct conf *c = make_conf(root, db, "100ms");
	struct fetch *f;
	struct sync *s;
	double mtime = 0;
	uint64_t v = head_version(root, db, &mtime);
	char *argv[] = {(char *)lc,         "-C",      (char *)root, "generate", (char *)db,
	                "--commit-extents", (char *)n, NULL};
	struct spawn sp = {.b = &b, .root = root};
	struct timeval tv = {0, 1000};

	b.want_version = v + 1;
	s = start(&b, &f, store, c);
	if (posix_spawn(&sp.pid, lc, NULL, NULL, argv, environ) != 0) {
		perror("bench_sync: posix_spawn");
		return 1;
	}
	sp.ev = evtimer_new(b.base, on_spawned, &sp);
	(void)event_add(sp.ev, &tv);
	(void)event_base_dispatch(b.base);
	(void)waitpid(sp.pid, NULL, 0);
	if (head_version(root, db, &mtime) != v + 1) {
		fprintf(stderr, "bench_sync: the head did not move to %llu\n",
		        (unsigned long long)(v + 1));
		return 1;
	}
	printf("commit_extents %s\n", n);
	printf("commit_head_to_applied_ms %.1f\n", (b.t_applied - mtime) * 1000);
	printf("commit_max_tick_gap_ms %.1f\n", b.max_gap * 1000);
	event_free(sp.ev);
	finish(&b, s, f, c);
	return 0;
}

/* ---- the peer: one thread, no loop ---- */

static int feed_part(struct store_ckpt *ck, const char *buf, size_t len, double *dec, double *feed,
                     char *err)
{
	size_t cap = 64, n = 0;
	struct proto_action *v = calloc(cap, sizeof(*v));
	const char *p = buf, *end = buf + len;
	double t0 = now(CLOCK_MONOTONIC), t1;
	int r = 0;

	while (r == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((nl != NULL ? nl : end) - p);

		if (n == cap)
			v = realloc(v, (cap *= 2) * sizeof(*v));
		if (l > 0 && (r = proto_record_decode(p, l, &v[n], err)) == 0)
			n++;
		p = nl != NULL ? nl + 1 : end;
	}
	t1 = now(CLOCK_MONOTONIC);
	*dec += t1 - t0;
	if (r == 0)
		r = store_checkpoint_feed(ck, v, n, err);
	*feed += now(CLOCK_MONOTONIC) - t1;
	for (size_t i = 0; i < n; i++)
		proto_action_clear(&v[i]);
	free(v);
	return r;
}

static int bench_serial(const char *store, const char *dir)
{
	char path[4096], err[STORE_ERRLEN];
	struct proto_manifest *m = NULL;
	struct store *s = NULL;
	struct store_ckpt *ck = NULL;
	char *buf = NULL;
	size_t len;
	double t0 = now(CLOCK_MONOTONIC), dec = 0, feed = 0, fin;
	int r;

	(void)snprintf(path, sizeof(path), "%s/manifest.json", dir);
	r = fsutil_read_file(path, PROTO_MAX_MANIFEST_BYTES, &buf, &len);
	if (r == 0)
		r = proto_manifest_decode(buf, len, &m, err);
	free(buf);
	if (r == 0)
		r = store_open(store, &s, err);
	if (r == 0)
		r = store_db_add(s, "serial", "file:///serial", m->database, m->database, err);
	if (r == 0)
		r = store_checkpoint_begin(s, "serial", m, NULL, &ck, err);
	for (size_t i = 0; r == 0 && i < m->nparts; i++) {
		(void)snprintf(path, sizeof(path), "%s/part-%05zu.ndjson", dir, i);
		r = fsutil_read_file(path, PROTO_MAX_PART_BYTES, &buf, &len);
		if (r == 0)
			r = feed_part(ck, buf, len, &dec, &feed, err);
		free(buf);
	}
	fin = now(CLOCK_MONOTONIC);
	if (r == 0)
		r = store_checkpoint_finish(ck, NULL, err);
	else
		store_checkpoint_abort(ck);
	if (r < 0) {
		fprintf(stderr, "bench_sync: serial: %s\n", err);
		return 1;
	}
	printf("serial_wall_s %.2f\n", now(CLOCK_MONOTONIC) - t0);
	printf("serial_decode_s %.2f\n", dec);
	printf("serial_feed_s %.2f\n", feed);
	printf("serial_finish_s %.2f\n", now(CLOCK_MONOTONIC) - fin);
	printf("serial_peak_rss_mb %.1f\n", peak_rss_kib() / 1024.0);
	printf("serial_extents %llu\n", (unsigned long long)m->counts.extents);
	store_free(s);
	proto_manifest_free(m);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	(void)signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (argc == 5 && strcmp(argv[1], "attach") == 0)
		r = bench_attach(argv[2], argv[3], argv[4]);
	else if (argc == 7 && strcmp(argv[1], "commit") == 0)
		r = bench_commit(argv[2], argv[3], argv[4], argv[5], argv[6]);
	else if (argc == 4 && strcmp(argv[1], "serial") == 0)
		r = bench_serial(argv[2], argv[3]);
	else
		fprintf(stderr, "usage: bench_sync attach STORE ROOT DB | commit STORE ROOT DB "
		                "LEADERCTL N | serial STORE CHECKPOINT_DIR\n");
	curl_global_cleanup();
	return r;
}

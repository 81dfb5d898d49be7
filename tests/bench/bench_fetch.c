/*
 * bench_fetch — requests per second through lib/fetch over loopback, next to
 * a peer measured in the same run: plain libcurl easy handles reused in a
 * blocking loop (one thread per request in flight), i.e. libcurl's own
 * ceiling without an event loop or a queue.
 *
 * Objects of 4 KiB and 64 KiB, and conditional GETs answered 304, with 1 and
 * 4 requests in flight.  The server is either an evhttp server on its own
 * thread (default) or any server given with -u BASE, which must serve
 * BASE/4k and BASE/64k (e.g. nginx with files of those sizes; ETags on).
 *
 * Not part of `make test`.  Build and run:
 *   make build/libfollower.a
 *   cc -O2 -std=c11 -D_GNU_SOURCE -Ilib tests/bench/bench_fetch.c build/libfollower.a \
 *      $(pkg-config --libs libcurl libevent) -lpthread -o build/bench_fetch
 *   build/bench_fetch [-d] [-n REQUESTS] [-r RUNS] [-u BASE_URL] [-s OBJECT/INFLIGHT]
 * -d drops bodies in an on_data sink instead of collecting them.
 * Prints median req/s and the spread (min-max) over the runs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "net/fetch.h"

#define MAX_RUNS 15

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the built-in server (own thread, own event_base) ----------------- */

static char body4k[4096], body64k[65536];

/* evhttp leaves Nagle on: a 64 KiB reply then waits for the client's
 * delayed ACK (40 ms a request). */
static void nodelay(struct evhttp_request *req)
{
	struct bufferevent *bev =
	    evhttp_connection_get_bufferevent(evhttp_request_get_connection(req));
	int one = 1;

	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void serve(struct evhttp_request *req, void *arg)
{
	const char *path = evhttp_request_get_uri(req);
	const char *inm =
	    evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
	bool big = strcmp(path, "/64k") == 0;
	const char *etag = big ? "\"64k\"" : "\"4k\"";
	struct evbuffer *b;

	(void)arg;
	nodelay(req);
	evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", etag);
	if (inm && strcmp(inm, etag) == 0) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	b = evbuffer_new();
	evbuffer_add_reference(b, big ? body64k : body4k, big ? sizeof(body64k) : sizeof(body4k),
	                       NULL, NULL);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void *server_main(void *arg)
{
	event_base_dispatch(arg);
	return NULL;
}

static int server_start(struct event_base **ret_base, char *url, size_t len)
{
	struct event_base *base = event_base_new();
	struct evhttp *http = base ? evhttp_new(base) : NULL;
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	pthread_t th;

	if (!http)
		return -1;
	memset(body4k, 'a', sizeof(body4k));
	memset(body64k, 'b', sizeof(body64k));
	evhttp_set_gencb(http, serve, NULL);
	bs = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	if (!bs || getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &slen) < 0)
		return -1;
	snprintf(url, len, "http://127.0.0.1:%d", ntohs(sin.sin_port));
	if (pthread_create(&th, NULL, server_main, base) != 0)
		return -1;
	pthread_detach(th);
	*ret_base = base;
	return 0;
}

/* ---- lib/fetch -------------------------------------------------------- */

struct fbench {
	struct fetch *f;
	const char *url;
	const char *etag;
	int left, done, failed;
};

static void fb_next(struct fbench *b);

/* -d: bodies go to a sink that drops them, as the peer does, instead of
 * being collected into memory. */
static bool discard;

static int fb_drop(const void *buf, size_t len, void *arg)
{
	return 0;
}

static void fb_done(struct fetch_result *res, void *arg)
{
	struct fbench *b = arg;

	b->done++;
	if (res->result != 0)
		b->failed++;
	fb_next(b);
}

static void fb_next(struct fbench *b)
{
	struct fetch_request rq = {
	    .url = b->url,
	    .if_none_match = b->etag,
	    .max_bytes = 1 << 20,
	    .on_data = discard ? fb_drop : NULL,
	    .on_done = fb_done,
	    .arg = b,
	};

	if (b->left <= 0)
		return;
	b->left--;
	if (fetch_get(b->f, &rq, NULL) < 0)
		b->failed++;
}

static double bench_fetch(const char *url, const char *etag, int inflight, int n)
{
	struct event_base *base = event_base_new();
	struct fetch_options opt = {.max_total = inflight, .max_per_host = inflight};
	struct fbench b = {.url = url, .etag = etag, .left = n};
	double t0;

	b.f = fetch_new(base, &opt);
	if (!b.f)
		return -1;
	t0 = now_s();
	for (int i = 0; i < inflight; i++)
		fb_next(&b);
	while (b.done < n && b.failed == 0)
		event_base_loop(base, EVLOOP_ONCE);
	t0 = now_s() - t0;
	fetch_free(b.f);
	event_base_free(base);
	return b.failed ? -1 : n / t0;
}

/* ---- the peer: blocking easy handles, one per thread ------------------ */

struct peer {
	const char *url;
	const char *etag;
	int n;
	int failed;
};

static size_t sink(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	char line[128];

	if (p->etag) {
		snprintf(line, sizeof(line), "If-None-Match: %s", p->etag);
		h = curl_slist_append(NULL, line);
	}
	curl_easy_setopt(e, CURLOPT_URL, p->url);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	for (int i = 0; i < p->n; i++)
		if (curl_easy_perform(e) != CURLE_OK)
			p->failed++;
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return NULL;
}

static double bench_peer(const char *url, const char *etag, int threads, int n)
{
	pthread_t th[16];
	struct peer p[16];
	double t0 = now_s();
	int failed = 0;

	for (int i = 0; i < threads; i++) {
		p[i] = (struct peer){url, etag, n / threads, 0};
		pthread_create(&th[i], NULL, peer_main, &p[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		failed += p[i].failed;
	}
	t0 = now_s() - t0;
	return failed ? -1 : (n / threads) * threads / t0;
}

/* ---- the table -------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* -s OBJECT/INFLIGHT: only that row, fetch only (for a profiler). */
static const char *only;

static void row(const char *what, const char *url, const char *etag, int inflight, int n, int runs)
{
	double f[MAX_RUNS], p[MAX_RUNS];
	char name[64];

	snprintf(name, sizeof(name), "%s/%d", what, inflight);
	if (only && strcmp(only, name) != 0)
		return;
	for (int i = 0; i < runs; i++) {
		f[i] = bench_fetch(url, etag, inflight, n);
		p[i] = only ? 1 : bench_peer(url, etag, inflight, n);
	}
	qsort(f, runs, sizeof(double), cmp_double);
	qsort(p, runs, sizeof(double), cmp_double);
	printf("%-8s %8d %11.0f %7.0f-%-7.0f %11.0f %7.0f-%-7.0f %5.2f\n", what, inflight,
	       f[runs / 2], f[0], f[runs - 1], p[runs / 2], p[0], p[runs - 1],
	       f[runs / 2] / p[runs / 2]);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int n = 20000, runs = 5, c;
	const char *base_url = NULL;
	char url[256], u4[300], u64[300];
	struct event_base *sbase = NULL;

	while ((c = getopt(argc, argv, "dn:r:s:u:")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'r')
			runs = atoi(optarg);
		else if (c == 'u')
			base_url = optarg;
		else if (c == 's')
			only = optarg;
		else if (c == 'd')
			discard = true;
		else
			return 2;
	}
	if (n < 4 || runs < 1 || runs > MAX_RUNS)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!base_url) {
		if (server_start(&sbase, url, sizeof(url)) < 0)
			return 1;
		base_url = url;
	}
	snprintf(u4, sizeof(u4), "%s/4k", base_url);
	snprintf(u64, sizeof(u64), "%s/64k", base_url);
	printf("server %s, %d requests per run, %d runs, bodies %s; req/s median and min-max\n",
	       base_url, n, runs, discard ? "dropped" : "collected");
	printf("%-8s %8s %11s %15s %11s %15s %5s\n", "object", "inflight", "fetch", "(spread)",
	       "peer", "(spread)", "ratio");
	for (int inflight = 1; inflight <= 4; inflight *= 4) {
		row("4k", u4, NULL, inflight, n, runs);
		row("64k", u64, NULL, inflight, n, runs);
	}
	/* 304: the ETag as the server forms it (nginx: from mtime and size). */
	for (int inflight = 1; inflight <= 4; inflight *= 4) {
		const char *etag = getenv("BENCH_ETAG_4K") ? getenv("BENCH_ETAG_4K") : "\"4k\"";
		row("4k-304", u4, etag, inflight, n, runs);
	}
	curl_global_cleanup();
	return 0;
}

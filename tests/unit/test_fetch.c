/*
 * Unit tests for lib/fetch: a real HTTP server (libevent evhttp on
 * 127.0.0.1, port chosen by the kernel) runs on the same event_base as the
 * client, and every test drives the loop until a condition holds or a
 * deadline passes.
 *
 * Server routes:
 *   /obj/N            N pattern bytes, ETag "obj-N", honours If-None-Match and
 *                     Range: bytes=S-
 *   /norange/N        the same, ignoring Range
 *   /status/C[/LEN]   status C with a LEN-byte body (default 10)
 *   /redirect         302 to another host, with a secret in the query
 *   /relredirect      302 to a relative path
 *   /big              10 MiB, chunked, 64 KiB per millisecond
 *   /stall            never answers
 *   /delay/MS/TAG     answers TAG after MS ms; counts requests in flight
 *
 * The same server speaks HTTPS with a self-signed certificate made here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/fetch.h"

#define MAX_PEND 256
#define MAX_ORDER 128
#define BIG_TOTAL (10u << 20)
#define BIG_CHUNK (64u << 10)

/* ---- the server ------------------------------------------------------- */

enum pend_kind { P_DELAY, P_STALL, P_BIG };

struct srv;

/* A request the server has not finished answering. */
struct pend {
	struct srv *srv;
	struct evhttp_request *req;
	struct event *ev;
	enum pend_kind kind;
	size_t sent;
	char tag[32];
	bool used;
};

struct counters {
	int inflight, max_inflight;
};

struct srv {
	struct event_base *base;
	struct evhttp *http;
	int port;
	char url[64];
	int hits;
	int stalls;
	struct counters own;
	struct counters *shared; /* also counts here when set */
	char order[MAX_ORDER][32];
	int norder;
	int ports[MAX_ORDER];
	int nports;
	bool big_finished, big_gone;
	struct pend pend[MAX_PEND];
};

static char pattern_byte(size_t i)
{
	return (char)('a' + i % 23);
}

static struct evbuffer *pattern_buf(size_t from, size_t to)
{
	struct evbuffer *b = evbuffer_new();
	char chunk[4096];

	assert_non_null(b);
	while (from < to) {
		size_t n = to - from < sizeof(chunk) ? to - from : sizeof(chunk);
		for (size_t i = 0; i < n; i++)
			chunk[i] = pattern_byte(from + i);
		assert_int_equal(evbuffer_add(b, chunk, n), 0);
		from += n;
	}
	return b;
}

static bool is_pattern(const char *p, size_t len, size_t from)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != pattern_byte(from + i))
			return false;
	return true;
}

static struct pend *pend_new(struct srv *s, struct evhttp_request *req, enum pend_kind kind)
{
	for (int i = 0; i < MAX_PEND; i++) {
		if (!s->pend[i].used) {
			struct pend *p = &s->pend[i];
			memset(p, 0, sizeof(*p));
			p->used = true;
			p->srv = s;
			p->req = req;
			p->kind = kind;
			return p;
		}
	}
	fail_msg("too many pending requests");
	return NULL;
}

static void pend_free(struct pend *p)
{
	if (p->ev)
		event_free(p->ev);
	p->ev = NULL;
	p->used = false;
}

static void count_in(struct srv *s, struct counters *c)
{
	if (!c)
		return;
	c->inflight++;
	if (c->inflight > c->max_inflight)
		c->max_inflight = c->inflight;
}

static void delay_fire(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;
	struct evbuffer *b = evbuffer_new();

	p->srv->own.inflight--;
	if (p->srv->shared)
		p->srv->shared->inflight--;
	evbuffer_add_printf(b, "%s", p->tag);
	evhttp_send_reply(p->req, 200, "OK", b);
	evbuffer_free(b);
	pend_free(p);
}

static void big_tick(evutil_socket_t fd, short what, void *arg)
{
	struct pend *p = arg;

	if (!evhttp_request_get_connection(p->req)) {
		p->srv->big_gone = true; /* the client went away */
		evhttp_send_reply_end(p->req);
		pend_free(p);
	} else if (p->sent >= BIG_TOTAL) {
		p->srv->big_finished = true;
		evhttp_send_reply_end(p->req);
		pend_free(p);
	} else {
		struct evbuffer *b = pattern_buf(p->sent, p->sent + BIG_CHUNK);
		evhttp_send_reply_chunk(p->req, b);
		evbuffer_free(b);
		p->sent += BIG_CHUNK;
	}
}

static void serve_delay(struct srv *s, struct evhttp_request *req, const char *rest)
{
	int ms = 0;
	char tag[32] = "";
	struct pend *p = pend_new(s, req, P_DELAY);
	struct timeval tv;

	assert_int_equal(sscanf(rest, "%d/%31s", &ms, tag), 2);
	snprintf(p->tag, sizeof(p->tag), "%s", tag);
	if (s->norder < MAX_ORDER)
		snprintf(s->order[s->norder++], sizeof(s->order[0]), "%s", tag);
	count_in(s, &s->own);
	count_in(s, s->shared);
	p->ev = evtimer_new(s->base, delay_fire, p);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(p->ev, &tv);
}

static void serve_big(struct srv *s, struct evhttp_request *req)
{
	struct pend *p = pend_new(s, req, P_BIG);
	struct timeval tv = {0, 1000};

	evhttp_send_reply_start(req, 200, "OK");
	p->ev = event_new(s->base, -1, EV_PERSIST, big_tick, p);
	evtimer_add(p->ev, &tv);
}

static void serve_obj(struct evhttp_request *req, size_t n, bool honour_range)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	const char *inm = evhttp_find_header(in, "If-None-Match");
	const char *range = evhttp_find_header(in, "Range");
	char etag[64], cr[96];
	size_t start = 0;
	struct evbuffer *b;

	snprintf(etag, sizeof(etag), "\"obj-%zu\"", n);
	evhttp_add_header(out, "ETag", etag);
	if (inm && strcmp(inm, etag) == 0) {
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	if (honour_range && range && sscanf(range, "bytes=%zu-", &start) == 1) {
		if (start >= n) {
			snprintf(cr, sizeof(cr), "bytes */%zu", n);
			evhttp_add_header(out, "Content-Range", cr);
			evhttp_send_reply(req, 416, "Range Not Satisfiable", NULL);
			return;
		}
		snprintf(cr, sizeof(cr), "bytes %zu-%zu/%zu", start, n - 1, n);
		evhttp_add_header(out, "Content-Range", cr);
		b = pattern_buf(start, n);
		evhttp_send_reply(req, 206, "Partial Content", b);
	} else {
		b = pattern_buf(0, n);
		evhttp_send_reply(req, 200, "OK", b);
	}
	evbuffer_free(b);
}

static void serve_status(struct evhttp_request *req, const char *rest)
{
	int code = 0;
	size_t len = 10;
	struct evbuffer *b;

	assert_true(sscanf(rest, "%d/%zu", &code, &len) >= 1);
	if (code == 403)
		evhttp_add_header(evhttp_request_get_output_headers(req), "x-ms-error-code",
		                  "AuthenticationFailed");
	b = pattern_buf(0, len);
	evhttp_send_reply(req, code, "Test", b);
	evbuffer_free(b);
}

static void serve_redirect(struct srv *s, struct evhttp_request *req, const char *where)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location", where);
	evhttp_send_reply(req, 302, "Found", NULL);
}

static void note_peer(struct srv *s, struct evhttp_request *req)
{
	char *addr;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr, &port);
	for (int i = 0; i < s->nports; i++)
		if (s->ports[i] == port)
			return;
	if (s->nports < MAX_ORDER)
		s->ports[s->nports++] = port;
}

/* evhttp calls back a second time, with no URI, when a connection whose
 * request we hold fails: forget it and answer, which frees it. */
static void forget(struct srv *s, struct evhttp_request *req)
{
	for (int i = 0; i < MAX_PEND; i++)
		if (s->pend[i].used && s->pend[i].req == req)
			pend_free(&s->pend[i]);
	evhttp_send_error(req, 400, NULL);
}

static void serve(struct evhttp_request *req, void *arg)
{
	struct srv *s = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	size_t n;

	if (!path) {
		forget(s, req);
		return;
	}
	s->hits++;
	note_peer(s, req);
	if (sscanf(path, "/obj/%zu", &n) == 1)
		serve_obj(req, n, true);
	else if (sscanf(path, "/norange/%zu", &n) == 1)
		serve_obj(req, n, false);
	else if (strncmp(path, "/status/", 8) == 0)
		serve_status(req, path + 8);
	else if (strcmp(path, "/redirect") == 0)
		serve_redirect(s, req, "http://other.invalid/x/y?sig=SECRET&se=2030");
	else if (strcmp(path, "/relredirect") == 0)
		serve_redirect(s, req, "/obj/5?sig=SECRET");
	else if (strcmp(path, "/big") == 0)
		serve_big(s, req);
	else if (strcmp(path, "/stall") == 0) {
		s->stalls++;
		(void)pend_new(s, req, P_STALL);
	} else if (strncmp(path, "/delay/", 7) == 0)
		serve_delay(s, req, path + 7);
	else
		evhttp_send_error(req, 404, NULL);
}

static void srv_start(struct srv *s, struct event_base *base)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->http = evhttp_new(base);
	assert_non_null(s->http);
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_gencb(s->http, serve, s);
	bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &len),
	                 0);
	s->port = ntohs(sin.sin_port);
	snprintf(s->url, sizeof(s->url), "http://127.0.0.1:%d", s->port);
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg)
{
	return bufferevent_openssl_socket_new(base, -1, SSL_new(arg), BUFFEREVENT_SSL_ACCEPTING,
	                                      BEV_OPT_CLOSE_ON_FREE);
}

/* A self-signed certificate for subject alternative name san ("IP:..." or
 * "DNS:..."), written as PEM to path; returns a server context using it. */
static SSL_CTX *make_tls(const char *san, const char *path)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	FILE *fp;

	assert_non_null(key);
	assert_non_null(ctx);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1,
	                           0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(PEM_write_X509(fp, x), 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(x);
	EVP_PKEY_free(key);
	return ctx;
}

/* Turns a started server into an HTTPS one. */
static void srv_tls(struct srv *s, SSL_CTX *ctx)
{
	evhttp_set_bevcb(s->http, tls_bev, ctx);
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%d", s->port);
}

static void srv_stop(struct srv *s)
{
	for (int i = 0; i < MAX_PEND; i++) {
		struct pend *p = &s->pend[i];
		if (!p->used)
			continue;
		if (p->kind == P_BIG)
			evhttp_send_reply_end(p->req);
		else
			evhttp_send_reply(p->req, 503, "Stopping", NULL);
		pend_free(p);
	}
	evhttp_free(s->http);
}

static bool srv_saw(const struct srv *s, const char *tag)
{
	for (int i = 0; i < s->norder; i++)
		if (strcmp(s->order[i], tag) == 0)
			return true;
	return false;
}

/* ---- the client side -------------------------------------------------- */

struct tctx {
	struct event_base *base;
	struct srv s1, s2;
	struct fetch *f;
	char tmp[64];
};

/* What on_done saw. */
struct rec {
	int calls;
	int result;
	long status;
	bool not_modified, range_honoured;
	char error[1300];
	char url[600];
	char etag[FETCH_ETAG_MAX];
	int64_t content_length, total_length;
	uint64_t bytes;
	char *body;
	size_t body_len;
	double at;
	/* sink tests */
	uint64_t sunk;
	int chunks;
	int fail_after; /* on_data fails with -ENOSPC after this many chunks */
	bool pattern_ok;
	uint64_t from;
	struct fetch_job *job;   /* for callbacks that cancel it */
	struct fetch_job *other; /* ...or another job */
	int hits_at_start;       /* server hits when on_start ran */
	struct tctx *t;          /* for callbacks that start requests */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void rec_done(struct fetch_result *res, void *arg)
{
	struct rec *r = arg;

	r->calls++;
	r->result = res->result;
	r->status = res->status;
	r->not_modified = res->not_modified;
	r->range_honoured = res->range_honoured;
	snprintf(r->error, sizeof(r->error), "%s", res->error);
	snprintf(r->url, sizeof(r->url), "%s", res->url);
	snprintf(r->etag, sizeof(r->etag), "%s", res->etag ? res->etag : "");
	r->content_length = res->content_length;
	r->total_length = res->total_length;
	r->bytes = res->bytes;
	free(r->body);
	r->body = fetch_result_take_body(res, &r->body_len);
	r->at = now_s();
}

static int rec_data(const void *buf, size_t len, void *arg)
{
	struct rec *r = arg;

	if (!is_pattern(buf, len, r->from + r->sunk))
		r->pattern_ok = false;
	r->sunk += len;
	r->chunks++;
	if (r->fail_after && r->chunks >= r->fail_after)
		return -ENOSPC;
	return 0;
}

static void rec_init(struct rec *r)
{
	memset(r, 0, sizeof(*r));
	r->pattern_ok = true;
}

static void set_flag(evutil_socket_t fd, short what, void *arg)
{
	*(bool *)arg = true;
}

/* Runs the loop until cond(arg) or ms pass; returns cond(arg). */
static bool run_until(struct event_base *base, bool (*cond)(const void *), const void *arg, int ms)
{
	bool expired = false;
	struct event *ev = evtimer_new(base, set_flag, &expired);
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

	evtimer_add(ev, &tv);
	while (!cond(arg) && !expired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return cond(arg);
}

static bool rec_is_done(const void *arg)
{
	return ((const struct rec *)arg)->calls > 0;
}

struct all_done {
	struct rec *recs;
	int n;
};

static bool all_are_done(const void *arg)
{
	const struct all_done *a = arg;

	for (int i = 0; i < a->n; i++)
		if (a->recs[i].calls == 0)
			return false;
	return true;
}

struct int_at_least {
	const int *v;
	int want;
};

static bool int_reached(const void *arg)
{
	const struct int_at_least *c = arg;

	return *c->v >= c->want;
}

static bool flag_set(const void *arg)
{
	return *(const bool *)arg;
}

/* Runs the loop for ms, whatever happens (to show nothing does). */
static bool never(const void *arg)
{
	return false;
}

static void get(struct tctx *t, const char *url, const struct fetch_request *base_rq, struct rec *r,
                struct fetch_job **ret)
{
	struct fetch_request rq = {0};

	if (base_rq)
		rq = *base_rq;
	rq.url = url;
	if (!rq.on_done)
		rq.on_done = rec_done;
	if (!rq.arg)
		rq.arg = r;
	if (!rq.max_bytes && !rq.on_data)
		rq.max_bytes = 16 << 20;
	assert_int_equal(fetch_get(t->f, &rq, ret), 0);
}

/* GETs url into memory and waits (5 s at most) for the outcome. */
static void get_wait(struct tctx *t, const char *url, const struct fetch_request *rq, struct rec *r)
{
	rec_init(r);
	get(t, url, rq, r, NULL);
	assert_true(run_until(t->base, rec_is_done, r, 5000));
	assert_int_equal(r->calls, 1);
}

static void new_fetch(struct tctx *t, const struct fetch_options *opt)
{
	fetch_free(t->f);
	t->f = fetch_new(t->base, opt);
	assert_non_null(t->f);
}

static int setup(void **state)
{
	struct tctx *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	t->base = event_base_new();
	assert_non_null(t->base);
	srv_start(&t->s1, t->base);
	srv_start(&t->s2, t->base);
	new_fetch(t, NULL);
	snprintf(t->tmp, sizeof(t->tmp), "/tmp/test_fetch.XXXXXX");
	assert_non_null(mkdtemp(t->tmp));
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tctx *t = *state;
	char cmd[128];

	fetch_free(t->f);
	srv_stop(&t->s1);
	srv_stop(&t->s2);
	event_base_free(t->base);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->tmp);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

static char *url_of(const struct srv *s, const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", s->url, path);
	return buf;
}

/* ---- tests ------------------------------------------------------------ */

static void test_get_200(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128];
	struct fetch_stats st;

	get_wait(t, url_of(&t->s1, "/obj/100000", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.error, "");
	assert_string_equal(r.etag, "\"obj-100000\"");
	assert_int_equal(r.content_length, 100000);
	assert_int_equal(r.total_length, 100000);
	assert_int_equal(r.bytes, 100000);
	assert_non_null(r.body);
	assert_int_equal(r.body_len, 100000);
	assert_int_equal(r.body[r.body_len], '\0');
	assert_true(is_pattern(r.body, r.body_len, 0));
	free(r.body);

	fetch_stats(t->f, &st);
	assert_int_equal(st.started, 1);
	assert_int_equal(st.ok, 1);
	assert_int_equal(st.bytes_received, 100000);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.queued, 0);
}

static void test_empty_and_head(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128];
	struct fetch_request rq = {.method = FETCH_HEAD};

	get_wait(t, url_of(&t->s1, "/obj/0", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, 0);
	assert_non_null(r.body); /* collect mode always gives a body on success */
	assert_int_equal(r.body_len, 0);
	free(r.body);

	/* (evhttp sends no Content-Length on HEAD, so none is checked.) */
	get_wait(t, url_of(&t->s1, "/obj/1234", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.bytes, 0);
	assert_string_equal(r.etag, "\"obj-1234\"");
	free(r.body);
	/* ...and the connection is still good for a GET. */
	get_wait(t, url_of(&t->s1, "/obj/12", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.body_len, 12);
	assert_int_equal(t->s1.nports, 1);
	free(r.body);
}

static void test_304(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128], etag[FETCH_ETAG_MAX];
	struct fetch_request rq = {0};
	struct fetch_stats st;

	url_of(&t->s1, "/obj/500", u, sizeof(u));
	get_wait(t, u, NULL, &r);
	assert_int_equal(r.status, 200);
	snprintf(etag, sizeof(etag), "%s", r.etag);
	free(r.body);

	rq.if_none_match = etag;
	get_wait(t, u, &rq, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 304);
	assert_true(r.not_modified);
	assert_null(r.body);
	assert_int_equal(r.bytes, 0);
	assert_string_equal(r.etag, etag);

	rq.if_none_match = "\"stale\"";
	get_wait(t, u, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_false(r.not_modified);
	assert_int_equal(r.bytes, 500);
	free(r.body);

	fetch_stats(t->f, &st);
	assert_int_equal(st.ok, 2);
	assert_int_equal(st.not_modified, 1);
}

static void test_http_errors(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128];
	struct fetch_stats st;

	get_wait(t, url_of(&t->s1, "/status/404", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -ENOENT);
	assert_int_equal(r.status, 404);
	assert_null(r.body);
	assert_int_equal(r.bytes, 0); /* the error body never reaches the caller */
	assert_non_null(strstr(r.error, "HTTP 404"));
	assert_non_null(strstr(r.error, u));

	get_wait(t, url_of(&t->s1, "/status/403", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EACCES);
	assert_non_null(strstr(r.error, "HTTP 403 (AuthenticationFailed)"));

	get_wait(t, url_of(&t->s1, "/status/500", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EIO);
	assert_int_equal(r.status, 500);
	assert_non_null(strstr(r.error, "HTTP 500"));

	/* An error body too long to drain is cut off; still judged by status. */
	get_wait(t, url_of(&t->s1, "/status/503/1000000", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EIO);
	assert_int_equal(r.status, 503);

	get_wait(t, url_of(&t->s1, "/status/400", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EIO);

	fetch_stats(t->f, &st);
	assert_int_equal(st.not_found, 1);
	assert_int_equal(st.denied, 1);
	assert_int_equal(st.failed, 3);
}

static void test_too_big(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128];
	struct fetch_request rq = {.max_bytes = 1 << 20};
	double t0 = now_s();
	struct fetch_stats st;

	/* Chunked, no Content-Length: the cap is enforced as bytes arrive. */
	get_wait(t, url_of(&t->s1, "/big", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.result, -EFBIG);
	assert_true(r.bytes <= (1u << 20));
	assert_true(r.bytes > (1u << 19)); /* it did read up to the cap */
	assert_null(r.body);
	assert_non_null(strstr(r.error, "larger than 1048576 bytes"));
	/* The whole body takes >= 160 ms to send: we stopped well before. */
	assert_true(r.at - t0 < 1.0);
	assert_true(run_until(t->base, flag_set, &t->s1.big_gone, 2000));
	assert_false(t->s1.big_finished);

	/* A Content-Length over the cap is refused before any byte. */
	get_wait(t, url_of(&t->s1, "/obj/2000000", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.result, -EFBIG);
	assert_int_equal(r.bytes, 0);
	assert_int_equal(r.content_length, 2000000);

	fetch_stats(t->f, &st);
	assert_int_equal(st.too_big, 2);
	assert_true(st.bytes_received <= (1u << 20));
}

static void test_redirect(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128], want[160];

	get_wait(t, url_of(&t->s1, "/redirect", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EPROTO);
	assert_int_equal(r.status, 302);
	assert_non_null(strstr(r.error, "redirect to http://other.invalid/x/y?*** refused"));
	assert_null(strstr(r.error, "SECRET"));
	assert_int_equal(t->s2.hits, 0);

	get_wait(t, url_of(&t->s1, "/relredirect", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EPROTO);
	snprintf(want, sizeof(want), "redirect to %s/obj/5?*** refused", t->s1.url);
	assert_non_null(strstr(r.error, want));
	assert_null(strstr(r.error, "SECRET"));
}

static void test_range(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128];
	struct fetch_request rq = {.range_start = 400};

	get_wait(t, url_of(&t->s1, "/obj/1000", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 206);
	assert_true(r.range_honoured);
	assert_int_equal(r.content_length, 600);
	assert_int_equal(r.total_length, 1000);
	assert_int_equal(r.body_len, 600);
	assert_true(is_pattern(r.body, r.body_len, 400));
	free(r.body);

	/* Streamed to a sink, the sink sees the bytes from the offset on. */
	rec_init(&r);
	r.from = 400;
	rq.on_data = rec_data;
	rq.arg = &r;
	get(t, u, &rq, &r, NULL);
	assert_true(run_until(t->base, rec_is_done, &r, 5000));
	assert_int_equal(r.result, 0);
	assert_int_equal(r.sunk, 600);
	assert_true(r.pattern_ok);
	assert_null(r.body);
	rq.on_data = NULL;
	rq.arg = NULL;

	/* A server ignoring Range: nothing delivered, the caller restarts. */
	get_wait(t, url_of(&t->s1, "/norange/1000", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.result, -ENOTSUP);
	assert_int_equal(r.status, 200);
	assert_false(r.range_honoured);
	assert_int_equal(r.bytes, 0);
	assert_null(r.body);
	assert_int_equal(r.content_length, 1000);
	assert_non_null(strstr(r.error, "Range ignored"));

	rq.range_start = 1000;
	get_wait(t, url_of(&t->s1, "/obj/1000", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.result, -ERANGE);
	assert_int_equal(r.status, 416);
}

static void test_concurrency(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 4, .max_per_host = 4};
	struct rec r[50];
	struct all_done all = {r, 50};
	char u[128], path[64];
	struct fetch_stats st;

	new_fetch(t, &opt);
	for (int i = 0; i < 50; i++) {
		rec_init(&r[i]);
		snprintf(path, sizeof(path), "/delay/20/c%d", i);
		get(t, url_of(&t->s1, path, u, sizeof(u)), NULL, &r[i], NULL);
	}
	fetch_stats(t->f, &st);
	assert_int_equal(st.active, 4);
	assert_int_equal(st.queued, 46);
	assert_true(run_until(t->base, all_are_done, &all, 10000));
	for (int i = 0; i < 50; i++) {
		assert_int_equal(r[i].result, 0);
		free(r[i].body);
	}
	assert_int_equal(t->s1.own.max_inflight, 4);
	assert_int_equal(t->s1.own.inflight, 0);
	/* Kept-alive connections: no more than the limit were ever opened. */
	assert_true(t->s1.nports <= 4);
	fetch_stats(t->f, &st);
	assert_int_equal(st.started, 50);
	assert_int_equal(st.ok, 50);
}

/* A reload's new limits: more slots start queued jobs at once. */
static void test_set_limits(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 2, .max_per_host = 2};
	struct rec r[30];
	struct all_done all = {r, 30};
	char u[128], path[64];
	struct fetch_stats st;

	new_fetch(t, &opt);
	for (int i = 0; i < 30; i++) {
		rec_init(&r[i]);
		snprintf(path, sizeof(path), "/delay/20/l%d", i);
		get(t, url_of(&t->s1, path, u, sizeof(u)), NULL, &r[i], NULL);
	}
	fetch_stats(t->f, &st);
	assert_int_equal(st.active, 2);
	assert_int_equal(fetch_set_limits(t->f, 6, 5), 0);
	fetch_stats(t->f, &st);
	assert_int_equal(st.active, 5); /* the per-host limit */
	assert_int_equal(st.queued, 25);
	assert_true(run_until(t->base, all_are_done, &all, 10000));
	for (int i = 0; i < 30; i++) {
		assert_int_equal(r[i].result, 0);
		free(r[i].body);
	}
	assert_int_equal(t->s1.own.max_inflight, 5);
	/* per host above total is cut to total, 0 is the default */
	assert_int_equal(fetch_set_limits(t->f, 1, 9), 0);
	assert_int_equal(fetch_set_limits(t->f, 0, 0), 0);
}

static void test_per_host(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 4, .max_per_host = 3};
	struct counters both = {0};
	struct rec r[40];
	struct all_done all = {r, 40};
	char u[128], path[64];

	new_fetch(t, &opt);
	t->s1.shared = t->s2.shared = &both;
	/* The first 20 go to s1: only 3 of them may run, the 4th slot goes to s2. */
	for (int i = 0; i < 40; i++) {
		rec_init(&r[i]);
		snprintf(path, sizeof(path), "/delay/20/h%d", i);
		get(t, url_of(i < 20 ? &t->s1 : &t->s2, path, u, sizeof(u)), NULL, &r[i], NULL);
	}
	assert_true(run_until(t->base, all_are_done, &all, 10000));
	for (int i = 0; i < 40; i++) {
		assert_int_equal(r[i].result, 0);
		free(r[i].body);
	}
	assert_int_equal(t->s1.own.max_inflight, 3);
	assert_true(t->s2.own.max_inflight <= 3);
	assert_int_equal(both.max_inflight, 4);
	t->s1.shared = t->s2.shared = NULL;
}

static void test_priority(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 1};
	static const struct {
		const char *tag;
		int prio;
	} q[] = {{"a", 1}, {"b", 5}, {"c", 3}, {"d", 5}, {"e", -2}, {"f", 3}};
	static const char *const want[] = {"blocker", "b", "d", "c", "f", "a", "e"};
	struct rec r[7];
	struct all_done all = {r, 7};
	char u[128], path[64];
	struct fetch_request rq = {0};

	new_fetch(t, &opt);
	rec_init(&r[0]);
	get(t, url_of(&t->s1, "/delay/30/blocker", u, sizeof(u)), NULL, &r[0], NULL);
	for (int i = 0; i < 6; i++) {
		rec_init(&r[i + 1]);
		rq.priority = q[i].prio;
		snprintf(path, sizeof(path), "/delay/1/%s", q[i].tag);
		get(t, url_of(&t->s1, path, u, sizeof(u)), &rq, &r[i + 1], NULL);
	}
	assert_true(run_until(t->base, all_are_done, &all, 5000));
	assert_int_equal(t->s1.norder, 7);
	for (int i = 0; i < 7; i++) {
		assert_string_equal(t->s1.order[i], want[i]);
		free(r[i].body);
	}
}

/* A queued job raised goes first; raising a running one or lowering is a
 * no-op. */
static void test_raise(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 1};
	static const char *const want[] = {"blocker", "z", "x", "y"};
	struct fetch_job *blocker, *z;
	struct rec r[4];
	struct all_done all = {r, 4};
	char u[128];
	struct fetch_request rq = {.priority = 2};

	new_fetch(t, &opt);
	for (int i = 0; i < 4; i++)
		rec_init(&r[i]);
	get(t, url_of(&t->s1, "/delay/30/blocker", u, sizeof(u)), NULL, &r[0], &blocker);
	get(t, url_of(&t->s1, "/delay/1/x", u, sizeof(u)), &rq, &r[1], NULL);
	get(t, url_of(&t->s1, "/delay/1/y", u, sizeof(u)), &rq, &r[2], NULL);
	rq.priority = 0;
	get(t, url_of(&t->s1, "/delay/1/z", u, sizeof(u)), &rq, &r[3], &z);
	fetch_raise(blocker, 100); /* running: nothing to do */
	fetch_raise(z, 1);         /* still below x and y */
	fetch_raise(z, 3);         /* now above them */
	fetch_raise(z, -5);        /* not a raise */
	fetch_raise(NULL, 1);
	assert_true(run_until(t->base, all_are_done, &all, 5000));
	assert_int_equal(t->s1.norder, 4);
	for (int i = 0; i < 4; i++) {
		assert_string_equal(t->s1.order[i], want[i]);
		free(r[i].body);
	}
}

static void test_cancel(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 1};
	struct rec stall, queued, after;
	struct fetch_job *js, *jq;
	struct int_at_least seen = {&t->s1.stalls, 1};
	char u[128];
	struct fetch_stats st;

	new_fetch(t, &opt);
	rec_init(&stall);
	rec_init(&queued);
	get(t, url_of(&t->s1, "/stall", u, sizeof(u)), NULL, &stall, &js);
	get(t, url_of(&t->s1, "/delay/1/q", u, sizeof(u)), NULL, &queued, &jq);
	assert_true(run_until(t->base, int_reached, &seen, 5000));

	fetch_cancel(jq); /* queued */
	fetch_cancel(js); /* running */
	fetch_stats(t->f, &st);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.cancelled, 2);

	/* The slot is free again; run until a later request completes. */
	get_wait(t, url_of(&t->s1, "/obj/10", u, sizeof(u)), NULL, &after);
	assert_int_equal(after.result, 0);
	free(after.body);
	assert_false(run_until(t->base, never, NULL, 50));
	assert_int_equal(stall.calls, 0);
	assert_int_equal(queued.calls, 0);
	assert_false(srv_saw(&t->s1, "q"));
	fetch_cancel(NULL);
}

/* fetch_free with jobs running and queued: no callback, nothing leaks. */
static void test_free_busy(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 2};
	struct rec r[4];
	struct int_at_least seen = {&t->s1.stalls, 1};
	char u[128];

	new_fetch(t, &opt);
	for (int i = 0; i < 4; i++)
		rec_init(&r[i]);
	get(t, url_of(&t->s1, "/stall", u, sizeof(u)), NULL, &r[0], NULL);
	get(t, url_of(&t->s1, "/big", u, sizeof(u)), NULL, &r[1], NULL);
	get(t, url_of(&t->s1, "/obj/10", u, sizeof(u)), NULL, &r[2], NULL);
	get(t, url_of(&t->s1, "/obj/20", u, sizeof(u)), NULL, &r[3], NULL);
	assert_true(run_until(t->base, int_reached, &seen, 5000));
	fetch_free(t->f);
	t->f = NULL;
	assert_true(run_until(t->base, flag_set, &t->s1.big_gone, 2000));
	for (int i = 0; i < 4; i++)
		assert_int_equal(r[i].calls, 0);
	assert_int_equal(t->s1.hits, 2);
}

/* on_data cancels its own job: no more data, no on_done. */
static int cancel_self_data(const void *buf, size_t len, void *arg)
{
	struct rec *r = arg;

	r->chunks++;
	fetch_cancel(r->job);
	return 0;
}

static void test_cancel_from_data(void **state)
{
	struct tctx *t = *state;
	struct rec self, other;
	struct fetch_request rq = {.on_data = cancel_self_data};
	char u[128];
	struct fetch_stats st;

	rec_init(&self);
	rq.arg = &self;
	get(t, url_of(&t->s1, "/obj/1000000", u, sizeof(u)), &rq, &self, &self.job);
	get_wait(t, url_of(&t->s1, "/obj/10", u, sizeof(u)), NULL, &other);
	free(other.body);
	assert_false(run_until(t->base, never, NULL, 50));
	assert_int_equal(self.chunks, 1);
	assert_int_equal(self.calls, 0);
	fetch_stats(t->f, &st);
	assert_int_equal(st.cancelled, 1);
	assert_int_equal(st.active, 0);
}

/* Pause and resume: on_data refuses every other chunk (FETCH_PAUSE); while
 * paused nothing arrives; a timer resumes it and the refused bytes come
 * again, so the body arrives whole and in order. */
struct pauser {
	struct rec rec;
	struct event *ev;
	bool paused;
	int pauses, calls_while_paused;
};

static int pause_data(const void *buf, size_t len, void *arg)
{
	struct pauser *p = arg;
	struct timeval tv = {0, 20000};

	if (p->paused)
		p->calls_while_paused++;
	if (p->rec.chunks % 2 == 0 && p->pauses < 6) {
		p->rec.chunks++;
		p->pauses++;
		p->paused = true;
		evtimer_add(p->ev, &tv);
		return FETCH_PAUSE;
	}
	return rec_data(buf, len, &p->rec);
}

static void pause_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pauser *p = arg;

	p->paused = false;
	fetch_resume(p->rec.job);
}

static void test_pause_resume(void **state)
{
	struct tctx *t = *state;
	struct pauser p;
	struct fetch_request rq = {.on_data = pause_data, .on_done = rec_done};
	char u[128];

	memset(&p, 0, sizeof(p));
	rec_init(&p.rec);
	p.ev = evtimer_new(t->base, pause_timer, &p);
	rq.arg = &p;
	rq.on_done = rec_done;
	get(t, url_of(&t->s1, "/obj/3000000", u, sizeof(u)), &rq, &p.rec, &p.rec.job);
	/* rec_done takes arg as a struct rec: the pauser starts with one */
	assert_true(run_until(t->base, rec_is_done, &p.rec, 5000));
	event_free(p.ev);
	assert_int_equal(p.rec.result, 0);
	assert_int_equal(p.rec.sunk, 3000000);
	assert_int_equal(p.rec.bytes, 3000000);
	assert_true(p.rec.pattern_ok);
	assert_true(p.pauses >= 2);
	assert_int_equal(p.calls_while_paused, 0);
	free(p.rec.body);
}

/* on_data fails the bytes it paused on once resumed: the transfer ends at
 * once with that error (not after the stall timeout). */
static int pause_then_fail(const void *buf, size_t len, void *arg)
{
	struct pauser *p = arg;
	struct timeval tv = {0, 10000};

	if (p->pauses++ == 0) {
		evtimer_add(p->ev, &tv);
		return FETCH_PAUSE;
	}
	return -ENOSPC;
}

static void test_pause_fail(void **state)
{
	struct tctx *t = *state;
	struct pauser p;
	struct fetch_request rq = {.on_data = pause_then_fail};
	char u[128];

	memset(&p, 0, sizeof(p));
	rec_init(&p.rec);
	p.ev = evtimer_new(t->base, pause_timer, &p);
	rq.arg = &p;
	get(t, url_of(&t->s1, "/obj/1000000", u, sizeof(u)), &rq, &p.rec, &p.rec.job);
	assert_true(run_until(t->base, rec_is_done, &p.rec, 3000));
	event_free(p.ev);
	assert_int_equal(p.rec.result, -ENOSPC);
	assert_int_equal(p.pauses, 2);
}

/* A paused job can be cancelled; fetch_resume(NULL) is a no-op. */
static int pause_always(const void *buf, size_t len, void *arg)
{
	struct rec *r = arg;

	r->chunks++;
	return FETCH_PAUSE;
}

static void test_pause_cancel(void **state)
{
	struct tctx *t = *state;
	struct rec r, other;
	struct fetch_request rq = {.on_data = pause_always};
	char u[128];
	struct fetch_stats st;

	rec_init(&r);
	rq.arg = &r;
	get(t, url_of(&t->s1, "/obj/1000000", u, sizeof(u)), &rq, &r, &r.job);
	assert_true(run_until(t->base, int_reached, &(struct int_at_least){&r.chunks, 1}, 5000));
	assert_false(run_until(t->base, never, NULL, 100));
	assert_int_equal(r.chunks, 1);
	assert_int_equal(r.calls, 0);
	fetch_resume(NULL);
	fetch_cancel(r.job);
	assert_false(run_until(t->base, never, NULL, 20));
	get_wait(t, url_of(&t->s1, "/obj/10", u, sizeof(u)), NULL, &other);
	assert_int_equal(other.result, 0);
	free(other.body);
	fetch_stats(t->f, &st);
	assert_int_equal(st.cancelled, 1);
	assert_int_equal(st.active, 0);
	assert_int_equal(r.calls, 0);
}

/* Re-entrancy: on_done starts the next request of a chain. */
struct chain {
	struct tctx *t;
	int left, done;
	int result;
};

static void chain_done(struct fetch_result *res, void *arg)
{
	struct chain *c = arg;
	struct fetch_request rq = {.max_bytes = 100, .on_done = chain_done, .arg = c};
	char u[128];

	c->done++;
	if (res->result != 0)
		c->result = res->result;
	if (c->left-- > 0) {
		rq.url = url_of(&c->t->s1, "/obj/7", u, sizeof(u));
		assert_int_equal(fetch_get(c->t->f, &rq, NULL), 0);
	}
}

/* Two jobs finishing together: the first delivered cancels the other, and
 * cancels itself (a no-op). */
struct pair {
	struct fetch_job *job[2];
	int calls[2];
};

struct pair_arg {
	struct pair *p;
	int i;
};

static void pair_done(struct fetch_result *res, void *arg)
{
	struct pair_arg *a = arg;

	a->p->calls[a->i]++;
	fetch_cancel(a->p->job[a->i]);
	fetch_cancel(a->p->job[1 - a->i]);
}

/* on_data starts another request (deferred: we are inside libcurl). */
static int data_starts(const void *buf, size_t len, void *arg)
{
	struct rec *r = arg;
	char u[128];

	if (r->chunks++ == 0)
		get(r->t, url_of(&r->t->s1, "/obj/3", u, sizeof(u)), NULL, r + 1, NULL);
	return 0;
}

static void test_reentrant(void **state)
{
	struct tctx *t = *state;
	struct chain c = {.t = t, .left = 5};
	struct int_at_least six = {&c.done, 6};
	struct fetch_request rq = {.max_bytes = 100, .on_done = chain_done, .arg = &c};
	struct pair p = {0};
	struct pair_arg pa[2] = {{&p, 0}, {&p, 1}};
	struct rec r[2];
	struct all_done all = {r, 2};
	char u[128], fu[2][200];

	rq.url = url_of(&t->s1, "/obj/7", u, sizeof(u));
	assert_int_equal(fetch_get(t->f, &rq, NULL), 0);
	assert_true(run_until(t->base, int_reached, &six, 5000));
	assert_int_equal(c.result, 0);
	assert_false(run_until(t->base, never, NULL, 20));
	assert_int_equal(c.done, 6);

	/* Two file:// reads complete inside one libcurl call. */
	for (int i = 0; i < 2; i++) {
		snprintf(fu[i], sizeof(fu[i]), "file://%s/pair%d", t->tmp, i);
		FILE *fp = fopen(fu[i] + 7, "w");
		assert_non_null(fp);
		fputs("x", fp);
		fclose(fp);
		rq = (struct fetch_request){.url = fu[i], .max_bytes = 10, .on_done = pair_done};
		rq.arg = &pa[i];
		assert_int_equal(fetch_get(t->f, &rq, &p.job[i]), 0);
	}
	assert_false(run_until(t->base, never, NULL, 100));
	assert_int_equal(p.calls[0] + p.calls[1], 1);

	rec_init(&r[0]);
	rec_init(&r[1]);
	r[0].t = t;
	rq = (struct fetch_request){.on_data = data_starts, .arg = &r[0]};
	get(t, url_of(&t->s1, "/obj/100000", u, sizeof(u)), &rq, &r[0], NULL);
	assert_true(run_until(t->base, all_are_done, &all, 5000));
	assert_int_equal(r[0].result, 0);
	assert_int_equal(r[1].result, 0);
	assert_int_equal(r[1].body_len, 3);
	free(r[1].body);
}

static void test_sink_fails(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	struct fetch_request rq = {.on_data = rec_data};
	char u[128];

	rec_init(&r);
	r.fail_after = 3;
	rq.arg = &r;
	get(t, url_of(&t->s1, "/obj/1000000", u, sizeof(u)), &rq, &r, NULL);
	assert_true(run_until(t->base, rec_is_done, &r, 5000));
	assert_int_equal(r.result, -ENOSPC);
	assert_int_equal(r.chunks, 3);
	assert_true(r.pattern_ok);
	assert_true(r.bytes < r.sunk); /* the refused chunk is not counted */
	assert_non_null(strstr(r.error, "sink failed"));
}

static void test_stall(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.low_speed_limit = 1, .low_speed_time_s = 1};
	struct rec r;
	struct fetch_request rq = {.timeout_ms = 300};
	char u[128];
	double t0;

	new_fetch(t, &opt);
	url_of(&t->s1, "/stall", u, sizeof(u));
	t0 = now_s();
	get_wait(t, u, NULL, &r);
	assert_int_equal(r.result, -ETIMEDOUT);
	assert_true(r.at - t0 >= 0.9);
	assert_true(r.at - t0 < 3.0);
	assert_non_null(strstr(r.error, u));

	t0 = now_s();
	get_wait(t, u, &rq, &r);
	assert_int_equal(r.result, -ETIMEDOUT);
	assert_true(r.at - t0 < 0.9);
	assert_int_equal(t->s1.stalls, 2);
}

static void test_refused(void **state)
{
	struct tctx *t = *state;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct rec r;
	char u[128];
	double t0;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd); /* nobody listens there now */
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", ntohs(sin.sin_port));
	t0 = now_s();
	get_wait(t, u, NULL, &r);
	assert_int_equal(r.result, -EIO);
	assert_int_equal(r.status, 0);
	assert_true(r.at - t0 < 1.0);
	assert_non_null(strstr(r.error, u));
}

static void test_file(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char path[128], u[200];
	struct fetch_request rq = {.range_start = 1000};
	FILE *fp;

	snprintf(path, sizeof(path), "%s/obj", t->tmp);
	fp = fopen(path, "w");
	assert_non_null(fp);
	for (size_t i = 0; i < 300000; i++)
		fputc(pattern_byte(i), fp);
	assert_int_equal(fclose(fp), 0);
	snprintf(u, sizeof(u), "file://%s", path);

	get_wait(t, u, NULL, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.body_len, 300000);
	assert_int_equal(r.content_length, 300000);
	assert_true(is_pattern(r.body, r.body_len, 0));
	free(r.body);

	get_wait(t, u, &rq, &r);
	assert_int_equal(r.result, 0);
	assert_true(r.range_honoured);
	assert_int_equal(r.body_len, 299000);
	assert_int_equal(r.total_length, 300000);
	assert_true(is_pattern(r.body, r.body_len, 1000));
	free(r.body);

	rq.range_start = 400000;
	get_wait(t, u, &rq, &r);
	assert_int_equal(r.result, -ERANGE);

	snprintf(u, sizeof(u), "file://%s/missing?sig=SECRET", t->tmp);
	get_wait(t, u, NULL, &r);
	assert_int_equal(r.result, -ENOENT);
	assert_null(r.body);
	assert_non_null(strstr(r.error, "/missing?***"));
	assert_null(strstr(r.error, "SECRET"));

	snprintf(u, sizeof(u), "file://%s/nodir/x", t->tmp);
	get_wait(t, u, NULL, &r);
	assert_int_equal(r.result, -ENOENT);
}

static void test_keepalive(void **state)
{
	struct tctx *t = *state;
	struct rec r;
	char u[128];

	for (int i = 0; i < 20; i++) {
		get_wait(t, url_of(&t->s1, i % 2 ? "/obj/10" : "/status/404", u, sizeof(u)), NULL,
		         &r);
		free(r.body);
	}
	assert_int_equal(t->s1.hits, 20);
	assert_int_equal(t->s1.nports, 1);
}

static void test_invalid(void **state)
{
	struct tctx *t = *state;
	struct fetch_request rq = {.url = "http://127.0.0.1/", .on_done = rec_done, .max_bytes = 1};
	const char *bad_hdr[] = {"X-A: 1", "X-B: 2\r\nHost: evil", NULL};
	static const char *const bad_urls[] = {"gopher://127.0.0.1/", "ftp://127.0.0.1/x",
	                                       "dict://127.0.0.1/", "not a url", ""};
	struct fetch_job *j = (struct fetch_job *)&rq;

	for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++) {
		rq.url = bad_urls[i];
		assert_int_equal(fetch_get(t->f, &rq, &j), -EINVAL);
	}
	assert_ptr_equal(j, (struct fetch_job *)&rq); /* untouched on failure */
	rq.url = "http://127.0.0.1/";
	rq.headers = bad_hdr;
	assert_int_equal(fetch_get(t->f, &rq, NULL), -EINVAL);
	rq.headers = NULL;
	rq.if_none_match = "\"x\"\nX: y";
	assert_int_equal(fetch_get(t->f, &rq, NULL), -EINVAL);
	rq.if_none_match = NULL;
	rq.max_bytes = 0; /* collect mode needs a cap */
	assert_int_equal(fetch_get(t->f, &rq, NULL), -EINVAL);
	rq.max_bytes = 1;
	rq.on_done = NULL;
	assert_int_equal(fetch_get(t->f, &rq, NULL), -EINVAL);
	assert_null(fetch_new(NULL, NULL));
	fetch_free(NULL);
}

static void test_headers_sent(void **state)
{
	struct tctx *t = *state;
	const char *hdrs[] = {"If-None-Match: \"obj-9\"", NULL};
	struct fetch_request rq = {.headers = hdrs};
	struct rec r;
	char u[128];

	/* A caller's header reaches the server: here it makes a 304. */
	get_wait(t, url_of(&t->s1, "/obj/9", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.status, 304);
}

/* on_data cancels two other running jobs: one stalled, one streaming. */
static int cancel_others_data(const void *buf, size_t len, void *arg)
{
	struct rec *r = arg;

	if (r->chunks++ == 0) {
		fetch_cancel(r->job);
		fetch_cancel(r->other);
	}
	return 0;
}

static void test_cancel_other_from_data(void **state)
{
	struct tctx *t = *state;
	struct rec a, b, c;
	struct fetch_request rq = {.on_data = cancel_others_data};
	struct int_at_least seen = {&t->s1.stalls, 1};
	char u[128];
	struct fetch_stats st;

	rec_init(&a);
	rec_init(&b);
	rec_init(&c);
	get(t, url_of(&t->s1, "/stall", u, sizeof(u)), NULL, &b, &a.job);
	get(t, url_of(&t->s2, "/big", u, sizeof(u)), NULL, &c, &a.other);
	assert_true(run_until(t->base, int_reached, &seen, 5000));
	rq.arg = &a;
	get(t, url_of(&t->s1, "/obj/300000", u, sizeof(u)), &rq, &a, NULL);
	assert_true(run_until(t->base, rec_is_done, &a, 5000));
	assert_int_equal(a.result, 0);
	assert_true(run_until(t->base, flag_set, &t->s2.big_gone, 2000));
	assert_int_equal(b.calls, 0);
	assert_int_equal(c.calls, 0);
	fetch_stats(t->f, &st);
	assert_int_equal(st.cancelled, 2);
	assert_int_equal(st.active, 0);
}

static int start_adds_header(struct fetch_job *job, void *arg)
{
	struct rec *r = arg;

	r->hits_at_start = r->t->s1.hits;
	assert_int_equal(fetch_job_add_header(job, "Bad: a\r\nInjected: b"), -EINVAL);
	return fetch_job_add_header(job, "If-None-Match: \"obj-9\"");
}

static int start_refuses(struct fetch_job *job, void *arg)
{
	return -EKEYREJECTED;
}

static void test_on_start(void **state)
{
	struct tctx *t = *state;
	struct fetch_options opt = {.max_total = 1};
	struct fetch_request rq = {.on_start = start_adds_header};
	struct rec first, r;
	char u[128];

	new_fetch(t, &opt);
	rec_init(&first);
	rec_init(&r);
	r.t = t;
	rq.arg = &r;
	get(t, url_of(&t->s1, "/delay/30/first", u, sizeof(u)), NULL, &first, NULL);
	get(t, url_of(&t->s1, "/obj/9", u, sizeof(u)), &rq, &r, NULL);
	assert_true(run_until(t->base, rec_is_done, &r, 5000));
	assert_int_equal(r.hits_at_start, 1); /* called when it started, not when queued */
	assert_int_equal(r.status, 304);      /* the header it added was sent */
	free(first.body);

	rq.on_start = start_refuses;
	get_wait(t, url_of(&t->s1, "/obj/9", u, sizeof(u)), &rq, &r);
	assert_int_equal(r.result, -EKEYREJECTED);
	assert_non_null(strstr(r.error, "on_start"));
	assert_int_equal(t->s1.hits, 2);
}

static void test_https(void **state)
{
	struct tctx *t = *state;
	char good[128], wrong[128], u[128];
	SSL_CTX *c1, *c2;
	struct fetch_options opt = {0};
	struct rec r;

	snprintf(good, sizeof(good), "%s/good.pem", t->tmp);
	snprintf(wrong, sizeof(wrong), "%s/wrong.pem", t->tmp);
	c1 = make_tls("IP:127.0.0.1", good);
	c2 = make_tls("DNS:wrong.example", wrong);
	srv_tls(&t->s1, c1);
	srv_tls(&t->s2, c2);

	/* Not signed by anyone the system trusts. */
	get_wait(t, url_of(&t->s1, "/obj/10", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EIO);
	assert_non_null(strstr(r.error, "certificate"));

	/* Trusted through ca_file. */
	opt.ca_file = good;
	new_fetch(t, &opt);
	get_wait(t, url_of(&t->s1, "/obj/10", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, 0);
	assert_int_equal(r.body_len, 10);
	assert_true(is_pattern(r.body, r.body_len, 0));
	free(r.body);

	/* Trusted, but issued for another name. */
	opt.ca_file = wrong;
	new_fetch(t, &opt);
	get_wait(t, url_of(&t->s2, "/obj/10", u, sizeof(u)), NULL, &r);
	assert_int_equal(r.result, -EIO);
	assert_non_null(strstr(r.error, "127.0.0.1"));

	/* The servers' connections must go before their SSL_CTX. */
	fetch_free(t->f);
	t->f = NULL;
	srv_stop(&t->s1);
	srv_stop(&t->s2);
	srv_start(&t->s1, t->base);
	srv_start(&t->s2, t->base);
	SSL_CTX_free(c1);
	SSL_CTX_free(c2);
}

static void test_redact(void **state)
{
	char buf[64];

	assert_string_equal(fetch_url_redact("https://a.b/c?sv=1&sig=X", buf, sizeof(buf)),
	                    "https://a.b/c?***");
	assert_string_equal(fetch_url_redact("http://u:pw@h:1/p#frag", buf, sizeof(buf)),
	                    "http://***@h:1/p?***");
	assert_string_equal(fetch_url_redact("file:///x/y", buf, sizeof(buf)), "file:///x/y");
	assert_string_equal(fetch_url_redact("http://h/a@b", buf, sizeof(buf)), "http://h/a@b");
	assert_string_equal(fetch_url_redact("http://h/0123456789", buf, 8), "http://");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_get_200, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_empty_and_head, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_304, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_http_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_limits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_raise, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_per_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_priority, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_busy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_from_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reentrant, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_cancel, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pause_fail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sink_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stall, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_keepalive, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_headers_sent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_cancel_other_from_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_on_start, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_https, setup, teardown),
	    cmocka_unit_test(test_redact),
	};
	int r;

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return r;
}

/*
 * http_files — serving artifacts from the cache.
 *
 * An artifact is found by database, extent id and name, or by sha256 alone,
 * and served from the content-addressed cache (lib/cache): the file is
 * opened (checked to be a regular file of the right size) and handed to the
 * connection's output as a file segment, which libevent sends with
 * sendfile(2) on plain connections (and maps for TLS).  The body goes
 * straight to the connection's buffer after evhttp wrote the headers:
 * evhttp_send_reply would copy it through the request's buffer, which is
 * not one that drains to a socket, and lose sendfile.
 *
 * Content never changes under a name, so the ETag is the sha256; Range asks
 * for one byte range (206), If-None-Match for a 304.  An artifact the cache
 * does not hold goes to the read-through hook (http.h), else 503.  A
 * request the hook takes over waits as a struct http_wait, known to its
 * connection (whose close drops it) and to h (http_free drops them all),
 * until the hook completes it with the verified file or an error.
 */
#include "http_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cache/cache.h"
#include "log.h"

#define ETAG_LEN (PROTO_SHA256_LEN + 3)
#define RETRY_AFTER_S "10"

/* A request waiting for the read-through hook. */
struct http_wait {
	struct http_wait *next; /* h->waits */
	struct http *h;
	struct http_endpoint *ep;
	struct http_conn *conn; /* NULL: not tracked */
	struct evhttp_request *req;
	enum evhttp_cmd_type method;
	struct views_artifact a;
	void (*gone)(void *arg);
	void *gone_arg;
	struct event *closed; /* the peer hung up (EV_CLOSED); NULL: not watched */
};

/* A byte range to serve. */
struct range {
	uint64_t start, len;
	bool partial;
};

static bool parse_u64(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

/* Reads a Range header against size: 0 with the whole file (no header, or
 * one to ignore: malformed, several ranges, another unit), 1 with the part,
 * -1 when unsatisfiable (416). */
static int parse_range(const char *h, uint64_t size, struct range *r)
{
	const char *spec, *dash;
	uint64_t a = 0, b = size > 0 ? size - 1 : 0;
	bool has_a, has_b;

	r->start = 0;
	r->len = size;
	r->partial = false;
	if (h == NULL || strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 0;
	spec = h + 6;
	dash = strchr(spec, '-');
	if (dash == NULL)
		return 0;
	has_a = parse_u64(spec, (size_t)(dash - spec), &a);
	has_b = parse_u64(dash + 1, strlen(dash + 1), &b);
	if ((!has_a && dash != spec) || (!has_b && dash[1] != '\0') || (!has_a && !has_b))
		return 0;
	if (!has_a) { /* the last b bytes */
		if (b == 0 || size == 0)
			return -1;
		a = b >= size ? 0 : size - b;
		b = size - 1;
	} else if (!has_b || b >= size) {
		b = size > 0 ? size - 1 : 0;
	}
	if (a >= size)
		return -1;
	if (b < a)
		return 0;
	r->start = a;
	r->len = b - a + 1;
	r->partial = true;
	return 1;
}

/* True when the If-None-Match list names etag (or is "*"). */
static bool etag_listed(const char *list, const char *etag)
{
	size_t n = strlen(etag);

	for (const char *p = list; p != NULL && *p != '\0';) {
		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (strncmp(p, etag, n) == 0 && (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return true;
		p = strchr(p, ',');
	}
	return false;
}

static void wait_unlink(struct http_wait *wt);

/* The client closed its end while its request waits: evhttp reads nothing
 * until the reply is done, so without this a query would run on for a
 * client long gone.  The waiter is told, then the connection is freed
 * (with the request: evhttp still holds it). */
static void on_peer_closed(evutil_socket_t fd, short what, void *arg)
{
	struct http_wait *wt = arg;
	struct evhttp_connection *evcon = wt->conn->evcon;

	wait_unlink(wt);
	if (wt->gone != NULL)
		wt->gone(wt->gone_arg);
	free(wt);
	evhttp_connection_free(evcon); /* on_conn_close: no wait left */
}

/* Watches the connection for the peer's close, where the loop's backend
 * can tell one (epoll: EPOLLRDHUP). */
static void watch_close(struct http_wait *wt)
{
	struct event_base *base = wt->h->base;

	if (wt->conn == NULL || wt->conn->bev == NULL || wt->conn->evcon == NULL ||
	    !(event_base_get_features(base) & EV_FEATURE_EARLY_CLOSE))
		return;
	wt->closed =
	    event_new(base, bufferevent_getfd(wt->conn->bev), EV_CLOSED, on_peer_closed, wt);
	if (wt->closed != NULL && event_add(wt->closed, NULL) < 0) {
		event_free(wt->closed);
		wt->closed = NULL;
	}
}

struct http_wait *http_wait_take(struct http_call *c)
{
	struct http_wait *wt = calloc(1, sizeof(*wt));

	if (wt == NULL)
		return NULL;
	*wt = (struct http_wait){
	    .h = c->h, .ep = c->ep, .conn = c->conn, .req = c->req, .method = c->method};
	/* known before the hook runs: it may complete the request at once */
	wt->next = c->h->waits;
	c->h->waits = wt;
	if (wt->conn != NULL)
		wt->conn->wait = wt;
	watch_close(wt);
	return wt;
}

/* Hands the request to the miss hook: 1 when it took it over, 0 or a
 * negative errno when http answers. */
static int miss(struct http_call *c, const struct views_artifact *a, const char *database)
{
	struct http_wait *wt = http_wait_take(c);
	struct http_miss m = {.sha256 = a->sha256,
	                      .size = a->size,
	                      .state = a->state,
	                      .database = database,
	                      .head = c->method == EVHTTP_REQ_HEAD,
	                      .wait = wt};
	int r;

	if (wt == NULL)
		return -ENOMEM;
	wt->a = *a;
	r = c->h->hooks.miss(c->h->hooks.arg, c->req, &m);
	if (r == 1) {
		c->h->n.read_through++;
		return 1;
	}
	wait_unlink(wt);
	free(wt);
	return r;
}

static void not_cached(struct http_call *c, const struct views_artifact *a, const char *database)
{
	int r = 0;

	if (c->h->hooks.miss != NULL) {
		r = miss(c, a, database);
		if (r == 1) {
			c->replied = true;
			return;
		}
	}
	c->h->n.not_cached++;
	(void)evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After",
	                        RETRY_AFTER_S);
	http_call_error(
	    c, 503, "NotCached", "artifact %s is not cached yet%s%s%s", a->sha256,
	    a->state == STORE_BLOB_QUARANTINED ? " (its last download failed verification)" : "",
	    r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
}

/* Queues len bytes of seg behind the headers in the connection's output
 * and, on a plain socket, writes them at once (headers by writev, the body
 * by sendfile, one call each) rather than a loop turn later.  What the socket does not
 * take now stays queued for the bufferevent.  (SIGPIPE is ignored.) */
static void queue_file(struct http_call *c, struct bufferevent *bev,
                       struct evbuffer_file_segment *seg, uint64_t len)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	if (evbuffer_add_file_segment(out, seg, 0, (ev_off_t)len) < 0) {
		log_err("http: cannot queue artifact bytes: out of memory");
		return;
	}
	c->h->n.artifact_bytes += len;
	if (c->ep->side == HTTP_ADMIN || c->h->tls == NULL) {
		int fd = bufferevent_getfd(bev);

		/* one call writes the headers (writev), the next the body (sendfile) */
		if (evbuffer_write(out, fd) > 0)
			(void)evbuffer_write(out, fd);
	}
}

/* Sends the headers, then the file part straight to the connection. */
static void send_file(struct http_call *c, int fd, int status, const struct range *rg)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(c->req);
	struct evbuffer_file_segment *seg = NULL;
	char len[24];

	if (c->method != EVHTTP_REQ_HEAD && rg->len > 0 &&
	    (seg = evbuffer_file_segment_new(fd, (ev_off_t)rg->start, (ev_off_t)rg->len,
	                                     EVBUF_FS_CLOSE_ON_FREE)) == NULL) {
		(void)close(fd);
		return http_call_fail(c, -ENOMEM);
	}
	if (seg == NULL)
		(void)close(fd);
	(void)snprintf(len, sizeof(len), "%" PRIu64, rg->len);
	(void)evhttp_add_header(evhttp_request_get_output_headers(c->req), "Content-Length", len);
	http_headers(c->req, "application/octet-stream");
	c->replied = true;
	evhttp_send_reply_start(c->req, status, status == 206 ? "Partial Content" : "OK");
	if (seg != NULL && evcon != NULL)
		queue_file(c, evhttp_connection_get_bufferevent(evcon), seg, rg->len);
	if (seg != NULL)
		evbuffer_file_segment_free(seg);
	evhttp_send_reply_end(c->req);
}

/* Serves an open artifact file: 304, 416, 206 or 200. */
static void serve_fd(struct http_call *c, const struct views_artifact *a, int fd)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(c->req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);
	const char *if_range = evhttp_find_header(in, "If-Range");
	char etag[ETAG_LEN + 1], cr[80];
	struct range rg;
	int r;

	(void)snprintf(etag, sizeof(etag), "\"%s\"", a->sha256);
	(void)evhttp_add_header(out, "ETag", etag);
	(void)evhttp_add_header(out, "Accept-Ranges", "bytes");
	(void)evhttp_add_header(out, "Cache-Control", "private, max-age=31536000, immutable");
	if (etag_listed(evhttp_find_header(in, "If-None-Match"), etag)) {
		(void)close(fd);
		c->replied = true;
		evhttp_send_reply(c->req, 304, "Not Modified", NULL);
		return;
	}
	r = if_range != NULL && strcmp(if_range, etag) != 0
	        ? parse_range(NULL, a->size, &rg)
	        : parse_range(evhttp_find_header(in, "Range"), a->size, &rg);
	if (r < 0) {
		(void)close(fd);
		(void)snprintf(cr, sizeof(cr), "bytes */%" PRIu64, a->size);
		(void)evhttp_add_header(out, "Content-Range", cr);
		return http_call_error(c, 416, "RangeNotSatisfiable",
		                       "the artifact has %" PRIu64 " bytes", a->size);
	}
	if (rg.partial) {
		(void)snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, rg.start,
		               rg.start + rg.len - 1, a->size);
		(void)evhttp_add_header(out, "Content-Range", cr);
	}
	send_file(c, fd, rg.partial ? 206 : 200, &rg);
}

/* ---- remembered sizes ----
 *
 * Content never changes under a sha256 and an object in the cache is always
 * whole, so once the store said an artifact is cached with a size, a later
 * request by sha256 opens the file with that size without a store read:
 * cache_open_object checks that the file is there with that size, and when
 * it is not (evicted since) the store is asked again.  Direct-mapped: a
 * collision forgets the older one. */

static struct http_memo *memo_slot(struct http *h, const char *sha)
{
	unsigned v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 4 | (unsigned)(sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10);
	return &h->sizes[v % HTTP_MEMO_SLOTS];
}

static bool memo_get(struct http *h, const char *sha, uint64_t *ret_size)
{
	struct http_memo *m = memo_slot(h, sha);

	if (strcmp(m->sha256, sha) != 0)
		return false;
	*ret_size = m->size;
	return true;
}

static void memo_put(struct http *h, const char *sha, uint64_t size)
{
	struct http_memo *m = memo_slot(h, sha);

	memcpy(m->sha256, sha, sizeof(m->sha256));
	m->size = size;
}

static void memo_forget(struct http *h, const char *sha)
{
	struct http_memo *m = memo_slot(h, sha);

	if (strcmp(m->sha256, sha) == 0)
		m->sha256[0] = '\0';
}

/* Serves a, which the store (or, with remembered, the memo) says is
 * cached. */
static void serve(struct http_call *c, const struct views_artifact *a, const char *database,
                  bool remembered)
{
	struct views_artifact fresh;
	int fd = -1, r;

	if (a->state != STORE_BLOB_CACHED)
		return not_cached(c, a, database);
	r = cache_open_object(c->h->cache, a->sha256, a->size, &fd);
	if ((r == -ENOENT || r == -EMSGSIZE) && remembered) {
		memo_forget(c->h, a->sha256);
		r = views_artifact_by_sha(&c->v, a->sha256, &fresh, c->err);
		return r < 0 ? http_call_fail(c, r) : serve(c, &fresh, database, false);
	}
	if (r == -ENOENT || r == -EMSGSIZE) {
		log_warning("http: artifact %s is recorded as cached but its file is %s", a->sha256,
		            r == -ENOENT ? "missing" : "of the wrong size");
		return not_cached(c, a, database);
	}
	if (r < 0) {
		(void)snprintf(c->err, sizeof(c->err), "artifact %s: %s", a->sha256, strerror(-r));
		return http_call_fail(c, r == -EINVAL ? -EIO : r);
	}
	memo_put(c->h, a->sha256, a->size);
	serve_fd(c, a, fd);
}

/* ---- artifacts by name, remembered ----
 *
 * The lookup by database, extent and name is a join; its answer (and the
 * blob's state) holds as long as the store's data_version does, which
 * http_dbs read from this request's snapshot. */

void http_named_clear(struct http *h)
{
	for (size_t i = 0; i < HTTP_NAMED_SLOTS; i++) {
		free(h->named[i].key);
		h->named[i].key = NULL;
	}
	for (size_t i = 0; i < HTTP_VERDICT_SLOTS; i++) {
		free(h->verdicts[i].key);
		h->verdicts[i].key = NULL;
	}
}

static uint64_t fnv1a(const char *key)
{
	uint64_t v = 14695981039346656037ull;

	for (const char *p = key; *p != '\0'; p++)
		v = (v ^ (unsigned char)*p) * 1099511628211ull;
	return v;
}

static struct http_named *named_slot(struct http *h, const char *key)
{
	return &h->named[fnv1a(key) % HTTP_NAMED_SLOTS];
}

void http_artifact_named(struct http_call *c, const struct views_db *d)
{
	struct views_artifact a;
	struct http_named *m;
	char key[512], *copy;
	int r, n = snprintf(key, sizeof(key), "%s/%s/%s", d->info.config, c->seg[4], c->seg[6]);

	/* a key too long to remember is looked up every time */
	m = n >= 0 && (size_t)n < sizeof(key) ? named_slot(c->h, key) : NULL;
	if (m != NULL && m->key != NULL && m->version == c->h->dbs_version &&
	    strcmp(m->key, key) == 0)
		return serve(c, &m->a, d->info.config, false);
	r = views_artifact_by_name(&c->v, d, c->seg[4], c->seg[6], &a, c->err);
	if (r < 0)
		return http_call_fail(c, r);
	if (m != NULL && (copy = strdup(key)) != NULL) {
		free(m->key);
		*m = (struct http_named){.key = copy, .version = c->h->dbs_version, .a = a};
	}
	serve(c, &a, d->info.config, false);
}

/* Whether the caller may read the data of a database that references the
 * artifact: 1 yes, 0 no but it may see one, -1 none it may see. */
struct sha_access {
	struct http_call *c;
	const struct views_db *dbs;
	size_t n;
	int verdict;
};

static int sha_db(void *arg, const char *config)
{
	struct sha_access *s = arg;

	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->dbs[i].info.config, config) != 0)
			continue;
		if (http_may(s->c, &s->dbs[i], AUTH_REQ_DATA)) {
			s->verdict = 1;
			return 1;
		}
		if (http_may(s->c, &s->dbs[i], AUTH_REQ_METADATA))
			s->verdict = 0;
	}
	return 0;
}

/* The scan of the databases that reference sha256, remembered per caller. */
static int scan_verdict(struct http_call *c, const char *sha256, struct sha_access *s)
{
	struct http_verdict *m;
	char *key = NULL;
	int r;

	if (asprintf(&key, "%s %s", sha256, c->who.fqn) < 0)
		return -ENOMEM;
	m = &c->h->verdicts[fnv1a(key) % HTTP_VERDICT_SLOTS];
	if (m->key != NULL && m->version == c->h->dbs_version && m->conf_gen == c->h->conf_gen &&
	    strcmp(m->key, key) == 0) {
		free(key);
		s->verdict = m->verdict;
		return 0;
	}
	r = views_blob_databases(&c->v, sha256, sha_db, s, c->err);
	if (r < 0) {
		free(key);
		return r;
	}
	free(m->key);
	*m = (struct http_verdict){.key = key,
	                           .version = c->h->dbs_version,
	                           .conf_gen = c->h->conf_gen,
	                           .verdict = s->verdict};
	return 0;
}

/* The verdict for the caller; 0 or a negative errno.  The artifact's
 * databases are looked for (a scan) only when the caller may read the data
 * of some databases but not of all. */
static int sha_allowed(struct http_call *c, const char *sha256, int *ret)
{
	struct sha_access s = {.c = c, .verdict = -1};
	const struct views_db *dbs = NULL;
	bool all = true, any = false;
	int r;

	/* the superuser, and an allowed anonymous caller, read everything */
	if (auth_allowed(&c->who, 0, AUTH_REQ_DATA, c->h->conf->allow_anonymous)) {
		*ret = 1;
		return 0;
	}
	r = http_dbs_recent(c, &dbs, &s.n);
	for (size_t i = 0; r == 0 && i < s.n; i++) {
		all = all && http_may(c, &dbs[i], AUTH_REQ_DATA);
		any = any || http_may(c, &dbs[i], AUTH_REQ_METADATA);
	}
	s.dbs = dbs;
	if (r == 0 && all && s.n > 0)
		s.verdict = 1;
	else if (r == 0 && any)
		r = scan_verdict(c, sha256, &s);
	if (r < 0)
		return r;
	*ret = s.verdict;
	return 0;
}

void http_artifact_sha(struct http_call *c)
{
	const char *sha = c->seg[2];
	struct views_artifact a;
	bool remembered;
	int verdict = -1, r;

	if (!cache_valid_sha256(sha))
		return http_call_error(c, 400, "BadRequest",
		                       "'%.80s' is not a sha256 (64 lowercase hex digits)", sha);
	if (c->v.store == NULL)
		return http_call_error(c, 404, "NotFound", "no artifact %s", sha);
	memcpy(a.sha256, sha, sizeof(a.sha256));
	a.state = STORE_BLOB_CACHED;
	remembered = memo_get(c->h, sha, &a.size);
	r = remembered ? 0 : views_artifact_by_sha(&c->v, sha, &a, c->err);
	if (r == 0)
		r = sha_allowed(c, sha, &verdict);
	if (r < 0)
		return http_call_fail(c, r);
	if (verdict < 0)
		return http_call_error(c, 404, "NotFound", "no artifact %s", sha);
	if (verdict == 0)
		return http_call_error(
		    c, 403, "Forbidden", "%s may not read the data of artifact %s",
		    c->who.fqn[0] != '\0' ? c->who.fqn : "an anonymous caller", sha);
	serve(c, &a, NULL, remembered);
}

/* ---- read-through waits ---- */

static void wait_unlink(struct http_wait *wt)
{
	for (struct http_wait **p = &wt->h->waits; *p != NULL; p = &(*p)->next)
		if (*p == wt) {
			*p = wt->next;
			break;
		}
	if (wt->conn != NULL && wt->conn->wait == wt)
		wt->conn->wait = NULL;
	if (wt->closed != NULL)
		event_free(wt->closed);
	wt->closed = NULL;
}

/* The call a wait's reply goes through. */
static struct http_call wait_call(struct http_wait *wt)
{
	return (struct http_call){
	    .h = wt->h, .ep = wt->ep, .conn = wt->conn, .req = wt->req, .method = wt->method};
}

void http_wait_serve(struct http_wait *wt, int fd)
{
	struct http_call c = wait_call(wt);

	wait_unlink(wt);
	serve_fd(&c, &wt->a, fd);
	free(wt);
}

void http_wait_error(struct http_wait *wt, int status, const char *code, const char *message)
{
	struct http_call c = wait_call(wt);

	wait_unlink(wt);
	if (status == 503)
		(void)evhttp_add_header(evhttp_request_get_output_headers(c.req), "Retry-After",
		                        RETRY_AFTER_S);
	http_call_error(&c, status, code, "%s", message);
	free(wt);
}

/* ---- streamed answers ---- */

void http_wait_start(struct http_wait *wt, int status, const char *reason, const char *ctype)
{
	(void)evhttp_add_header(evhttp_request_get_output_headers(wt->req), "Content-Type", ctype);
	evhttp_send_reply_start(wt->req, status, reason);
}

struct sent {
	void (*fn)(void *arg);
	void *arg;
};

static void on_sent(struct evhttp_connection *evcon, void *arg)
{
	struct sent s = *(struct sent *)arg;

	free(arg);
	s.fn(s.arg);
}

int http_wait_chunk(struct http_wait *wt, struct evbuffer *buf, void (*sent)(void *arg), void *arg)
{
	struct sent *s;

	if (sent == NULL) {
		evhttp_send_reply_chunk(wt->req, buf);
		return 0;
	}
	if ((s = malloc(sizeof(*s))) == NULL)
		return -ENOMEM;
	*s = (struct sent){sent, arg};
	evhttp_send_reply_chunk_with_cb(wt->req, buf, on_sent, s);
	return 0;
}

void http_wait_end(struct http_wait *wt)
{
	wait_unlink(wt);
	evhttp_send_reply_end(wt->req);
	free(wt);
}

void http_wait_reply(struct http_wait *wt, int status, const char *reason, const char *ctype,
                     struct evbuffer *body)
{
	wait_unlink(wt);
	(void)evhttp_add_header(evhttp_request_get_output_headers(wt->req), "Content-Type", ctype);
	evhttp_send_reply(wt->req, status, reason, body);
	free(wt);
}

struct evhttp_request *http_wait_request(struct http_wait *wt)
{
	return wt->req;
}

void http_wait_on_gone(struct http_wait *wt, void (*fn)(void *arg), void *arg)
{
	wt->gone = fn;
	wt->gone_arg = arg;
}

void http_wait_drop(struct http_wait *wt, bool client_gone)
{
	wait_unlink(wt);
	if (wt->gone != NULL)
		wt->gone(wt->gone_arg);
	/* evhttp detached the request when its client closed (it is ours to
	 * free); at http_free evhttp frees it with the connection */
	if (client_gone)
		evhttp_request_free(wt->req);
	free(wt);
}

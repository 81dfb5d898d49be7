/*
 * http_routes — a request's way through the endpoint: limits, path,
 * route, caller, authorization, one read snapshot, the view, one reply.
 *
 * Every request gets exactly one reply: handlers end in http_call_json /
 * http_call_error (which mark the call replied) or hand the request to a
 * hook that replies; http_on_request answers 500 if a handler forgot.
 */
#include "http_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/keyvalq_struct.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "log.h"
#include "util/timefmt.h"
#include "cache/warm.h"
#include "kusto/kusto.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define METHODS_GET (EVHTTP_REQ_GET | EVHTTP_REQ_HEAD)
#define SUBJECT_MAX 1024

/* ---- replies ---- */

static const char *reason_of(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 206:
		return "Partial Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 416:
		return "Range Not Satisfiable";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 503:
		return "Service Unavailable";
	default:
		return status < 500 ? "Error" : "Internal Server Error";
	}
}

void http_headers(struct evhttp_request *req, const char *content_type)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	(void)evhttp_add_header(h, "Content-Type", content_type);
	(void)evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
	return evbuffer_add(data, buffer, size);
}

void http_reply_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	http_headers(req, "application/json");
	(void)evhttp_add_header(evhttp_request_get_output_headers(req), "Cache-Control",
	                        "no-store");
	if (body == NULL || json_dump_callback(body, dump_cb, out, JSON_COMPACT) < 0)
		(void)evbuffer_add(out, "{}", 2);
	(void)evbuffer_add(out, "\n", 1);
	json_decref(body);
	evhttp_send_reply(req, status, reason_of(status), NULL);
}

void http_reply_error(struct evhttp_request *req, int status, const char *code, const char *message)
{
	http_reply_json(req, status,
	                json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message));
}

void http_call_json(struct http_call *c, int status, json_t *body)
{
	if (c->replied) {
		json_decref(body);
		log_err("http: a second reply to %s was dropped (a bug)",
		        evhttp_request_get_uri(c->req));
		return;
	}
	c->replied = true;
	http_reply_json(c->req, status, body);
}

void http_call_error(struct http_call *c, int status, const char *code, const char *fmt, ...)
{
	char msg[VIEWS_ERRLEN + 64];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == 401)
		(void)evhttp_add_header(evhttp_request_get_output_headers(c->req),
		                        "WWW-Authenticate", "Bearer realm=\"followerd\"");
	http_call_json(c, status,
	               json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg));
}

void http_call_fail(struct http_call *c, int r)
{
	const char *msg = c->err[0] != '\0' ? c->err : strerror(-r);

	switch (r) {
	case -ENOENT:
		http_call_error(c, 404, "NotFound", "%s", msg);
		return;
	case -EINVAL:
		http_call_error(c, 400, "BadRequest", "%s", msg);
		return;
	case -EBUSY:
		http_call_error(c, 503, "Busy", "%s", msg);
		return;
	default:
		log_err("http: %s: %s", evhttp_request_get_uri(c->req), msg);
		http_call_error(c, 500, "InternalError", "%s", msg);
	}
}

/* ---- who is calling ---- */

static bool tls_identity(struct http_call *c, SSL *ssl, char *fqn, size_t len)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned char fp[EVP_MAX_MD_SIZE];
	char subject[SUBJECT_MAX] = "";
	unsigned int n = 0;
	const char *found;
	BIO *b;

	if (cert == NULL || X509_digest(cert, EVP_sha256(), fp, &n) != 1 || n != AUTH_SHA256_LEN)
		return false;
	if (SSL_get_verify_result(ssl) == X509_V_OK && (b = BIO_new(BIO_s_mem())) != NULL) {
		if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0)
			(void)BIO_read(b, subject, sizeof(subject) - 1);
		BIO_free(b);
	}
	found = auth_cert_find(c->h->tokens, fp, subject[0] != '\0' ? subject : NULL);
	(void)snprintf(fqn, len, "%s", found != NULL ? found : "");
	return true;
}

static SSL *conn_ssl(struct http_call *c)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(c->req);

	if (c->ep->side != HTTP_PUBLIC || c->h->tls == NULL || evcon == NULL)
		return NULL;
	return bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(evcon));
}

/* Fills c->who; 0, or -1 after replying 401. */
static bool remembered_token(const struct http_call *c, const char *authz)
{
	const struct http_conn *k = c->conn;

	return k != NULL && k->authz != NULL && k->authz_gen == c->h->conf_gen &&
	       strcmp(k->authz, authz) == 0;
}

static void remember_token(struct http_call *c, const char *authz)
{
	struct http_conn *k = c->conn;

	if (k == NULL)
		return;
	free(k->authz);
	k->authz = strdup(authz); /* NULL (out of memory): not remembered */
	memcpy(k->authz_fqn, c->who.fqn, sizeof(k->authz_fqn));
	k->authz_gen = c->h->conf_gen;
}

static int identify(struct http_call *c)
{
	const char *authz =
	    evhttp_find_header(evhttp_request_get_input_headers(c->req), "Authorization");
	char fqn[AUTH_FQN_MAX + 1] = "";
	const char *tok = NULL, *found;
	SSL *ssl = conn_ssl(c);
	size_t n = 0;
	int r;

	c->who.local = c->conn != NULL && c->conn->local;
	if (authz != NULL && remembered_token(c, authz)) {
		c->who.via = AUTH_VIA_TOKEN;
		memcpy(c->who.fqn, c->conn->authz_fqn, sizeof(c->conn->authz_fqn));
	} else if (authz != NULL) {
		r = auth_bearer(authz, &tok, &n);
		found = r == 0 ? auth_token_find(c->h->tokens, tok, n) : NULL;
		if (found == NULL) {
			http_call_error(c, 401, "Unauthorized", "%s",
			                r == -ENOENT ? "only Bearer tokens are accepted"
			                : r < 0      ? "malformed bearer token"
			                             : "unknown token");
			return -1;
		}
		c->who.via = AUTH_VIA_TOKEN;
		(void)snprintf(c->who.fqn, sizeof(c->who.fqn), "%s", found);
		remember_token(c, authz);
	} else if (ssl != NULL && tls_identity(c, ssl, fqn, sizeof(fqn))) {
		if (fqn[0] == '\0') {
			http_call_error(c, 401, "Unauthorized",
			                "client certificate not recognised");
			return -1;
		}
		c->who.via = AUTH_VIA_CERT;
		(void)snprintf(c->who.fqn, sizeof(c->who.fqn), "%s", fqn);
	} else if (c->conn != NULL && c->conn->unix_peer && c->conn->have_uid) {
		auth_unix_principal(c->conn->uid, &c->who);
	}
	return 0;
}

/* Anonymous callers go no further unless allowed and local. */
static bool admitted(const struct http_call *c)
{
	return c->who.via != AUTH_VIA_NONE || (c->h->conf->allow_anonymous && c->who.local);
}

unsigned http_roles(const struct http_call *c, const struct views_db *d)
{
	if (c->who.superuser)
		return AUTH_ROLES_ALL;
	return auth_roles(&d->effective, c->who.fqn);
}

bool http_may(const struct http_call *c, const struct views_db *d, enum auth_request req)
{
	return auth_allowed(&c->who, http_roles(c, d), req, c->h->conf->allow_anonymous);
}

/* ---- request parsing ---- */

/* Sum of the request line and header bytes. */
static size_t header_bytes(struct evhttp_request *req)
{
	struct evkeyvalq *hs = evhttp_request_get_input_headers(req);
	const char *uri = evhttp_request_get_uri(req);
	size_t n = uri != NULL ? strlen(uri) : 0;
	struct evkeyval *kv;

	TAILQ_FOREACH(kv, hs, next)
	n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

/* Splits and decodes the path into c->seg; 0, or -1 after replying. */
/* Decodes a segment that has escapes, in place (decoding only shrinks it):
 * 0, or -1 when it decodes to something that is no segment. */
static int decode_segment(char *seg)
{
	size_t len = 0;
	char *d = evhttp_uridecode(seg, 0, &len);

	if (d == NULL || strlen(d) != len || strchr(d, '/') != NULL) {
		free(d);
		return -1;
	}
	memcpy(seg, d, len + 1);
	free(d);
	return 0;
}

/* Splits the path into c->seg: one copy for all of them. */
static int parse_path(struct http_call *c)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(c->req);
	const char *p = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	char *s;

	if (p == NULL || p[0] != '/') {
		http_call_error(c, 400, "BadRequest", "the request target is not a path");
		return -1;
	}
	if ((c->path = strdup(p + 1)) == NULL) {
		http_call_fail(c, -ENOMEM);
		return -1;
	}
	for (s = c->path; *s != '\0';) {
		size_t n = strcspn(s, "/");
		bool last = s[n] == '\0';

		if (c->nseg == HTTP_MAX_SEGMENTS) {
			http_call_error(c, 404, "NotFound", "no such path");
			return -1;
		}
		s[n] = '\0';
		if ((memchr(s, '%', n) != NULL && decode_segment(s) < 0) || strcmp(s, ".") == 0 ||
		    strcmp(s, "..") == 0) {
			http_call_error(c, 400, "BadRequest", "malformed path segment %zu",
			                c->nseg + 1);
			return -1;
		}
		c->seg[c->nseg++] = s;
		if (last)
			break;
		s += n + 1;
		if (*s == '\0') {
			http_call_error(c, 404, "NotFound", "no such path (trailing '/')");
			return -1;
		}
	}
	return 0;
}

/* The query parameters; 0, or -1 after replying 400. */
static int parse_query(struct http_call *c)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(c->req);
	const char *q = uri != NULL ? evhttp_uri_get_query(uri) : NULL;

	TAILQ_INIT(&c->query);
	c->query_parsed = true;
	if (q != NULL && evhttp_parse_query_str(q, &c->query) < 0) {
		http_call_error(c, 400, "BadRequest", "malformed query string");
		return -1;
	}
	return 0;
}

/* Checks that every parameter is one of names[] and none repeats; 0 or -1
 * after replying 400. */
static int query_check(struct http_call *c, const char *const *names, size_t n)
{
	struct evkeyval *kv, *o;

	TAILQ_FOREACH(kv, &c->query, next)
	{
		bool known = false;

		for (size_t i = 0; i < n; i++)
			known = known || strcmp(kv->key, names[i]) == 0;
		for (o = TAILQ_FIRST(&c->query); known && o != kv; o = TAILQ_NEXT(o, next))
			known = strcmp(o->key, kv->key) != 0;
		if (!known) {
			http_call_error(c, 400, "BadRequest",
			                "unknown or repeated parameter '%.64s'", kv->key);
			return -1;
		}
	}
	return 0;
}

static const char *param(struct http_call *c, const char *name)
{
	return evhttp_find_header(&c->query, name);
}

/* An unsigned parameter in [1, max]; 0 when absent; -1 after replying. */
static long long param_uint(struct http_call *c, const char *name, long long max)
{
	const char *s = param(c, name);
	char *end = NULL;
	long long v;

	if (s == NULL)
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max) {
		http_call_error(c, 400, "BadRequest", "%s: an integer from 1 to %lld", name, max);
		return -1;
	}
	return v;
}

/* A datetime parameter; dflt when absent; 0 or -1 after replying. */
static int param_time(struct http_call *c, const char *name, int64_t dflt, int64_t *ret)
{
	const char *s = param(c, name);

	*ret = dflt;
	if (s == NULL || timefmt_parse_datetime(s, ret) == 0)
		return 0;
	http_call_error(c, 400, "BadRequest", "%s: a datetime such as 2026-11-23T10:00:00Z", name);
	return -1;
}

/* ---- databases ---- */

/* Finds the database named name (as the views show it) that the caller
 * may see and use for req into *ret (borrowed for the call); 0, or -1 after
 * replying (404 unknown or invisible, 403 visible but not allowed). */
static int open_db_named(struct http_call *c, const char *name, enum auth_request req,
                         const struct views_db **ret)
{
	const struct views_db *dbs = NULL, *d = NULL;
	size_t n = 0;
	int r = c->recent ? http_dbs_recent(c, &dbs, &n) : http_dbs(c, &dbs, &n);

	if (r < 0) {
		http_call_fail(c, r);
		return -1;
	}
	for (size_t i = 0; d == NULL && i < n; i++)
		if (strcmp(dbs[i].info.local_name, name) == 0)
			d = &dbs[i];
	if (d == NULL || !http_may(c, d, AUTH_REQ_METADATA)) {
		http_call_error(c, 404, "NotFound", "database '%s' is not followed here", name);
		return -1;
	}
	if (!http_may(c, d, req)) {
		http_call_error(c, 403, "Forbidden", "%s may not %s %s of database '%s'",
		                c->who.fqn[0] != '\0' ? c->who.fqn : "an anonymous caller",
		                req == AUTH_REQ_CONTROL ? "use" : "read", auth_request_name(req),
		                name);
		return -1;
	}
	*ret = d;
	return 0;
}

/* The database of the path (segment 2), as open_db_named. */
static int open_db(struct http_call *c, enum auth_request req, const struct views_db **ret)
{
	return open_db_named(c, c->seg[2], req, ret);
}

static void h_databases(struct http_call *c)
{
	const struct views_db *dbs = NULL;
	size_t n = 0;
	json_t *a = json_array(), *o = NULL;
	int r = http_dbs(c, &dbs, &n);

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!http_may(c, &dbs[i], AUTH_REQ_METADATA))
			continue;
		r = views_database(&c->v, &dbs[i], &o, c->err);
		if (r == 0 && json_array_append_new(a, o) < 0)
			r = -ENOMEM;
	}
	if (r < 0 || a == NULL) {
		json_decref(a);
		http_call_fail(c, r < 0 ? r : -ENOMEM);
		return;
	}
	http_call_json(c, 200, json_pack("{s:o}", "databases", a));
}

/* The kinds behind the schema routes. */
static int kind_of(const char *seg, enum proto_kind *ret)
{
	static const struct {
		const char *seg;
		enum proto_kind kind;
	} kinds[] = {{"tables", PROTO_TABLE},
	             {"external_tables", PROTO_EXTERNAL_TABLE},
	             {"materialized_views", PROTO_MATERIALIZED_VIEW}};

	for (size_t i = 0; i < N_ELEMENTS(kinds); i++)
		if (strcmp(seg, kinds[i].seg) == 0) {
			*ret = kinds[i].kind;
			return 0;
		}
	return -1;
}

static void reply_view(struct http_call *c, int r, json_t *j)
{
	if (r < 0)
		http_call_fail(c, r);
	else
		http_call_json(c, 200, j);
}

static void h_extents(struct http_call *c, const struct views_db *d)
{
	static const char *const names[] = {"table", "from", "to", "cursor", "limit"};
	struct views_extent_query q = {.from = INT64_MIN, .to = INT64_MAX};
	json_t *j = NULL;
	long long limit;
	int r;

	if (query_check(c, names, N_ELEMENTS(names)) < 0 ||
	    param_time(c, "from", INT64_MIN, &q.from) < 0 ||
	    param_time(c, "to", INT64_MAX, &q.to) < 0 ||
	    (limit = param_uint(c, "limit", VIEWS_PAGE_MAX)) < 0)
		return;
	q.table = param(c, "table");
	q.cursor = param(c, "cursor");
	q.limit = (size_t)limit;
	if (q.table != NULL && !proto_valid_name(q.table)) {
		http_call_error(c, 400, "BadRequest", "table: not a valid name");
		return;
	}
	r = views_extents(&c->v, d, &q, &j, c->err);
	reply_view(c, r, j);
}

static void h_history(struct http_call *c, const struct views_db *d)
{
	static const char *const names[] = {"limit"};
	long long limit;
	json_t *j = NULL;
	int r;

	if (query_check(c, names, 1) < 0 || (limit = param_uint(c, "limit", STORE_HISTORY_MAX)) < 0)
		return;
	r = views_history(&c->v, d, (size_t)limit, &j, c->err);
	reply_view(c, r, j);
}

/* GET /v1/databases/{db}/{kind}[/{name}] */
static void schema_view(struct http_call *c, const struct views_db *d, enum proto_kind kind)
{
	json_t *j = NULL;
	int r;

	if (query_check(c, NULL, 0) < 0)
		return;
	if (c->nseg == 5 && !proto_valid_name(c->seg[4]))
		return http_call_error(c, 400, "BadRequest", "'%.256s' is not a valid name",
		                       c->seg[4]);
	if (c->nseg == 5)
		r = views_entity(&c->v, d, kind, c->seg[4], &j, c->err);
	else
		r = views_entities(&c->v, d, kind, &j, c->err);
	reply_view(c, r, j);
}

/* GET /v1/databases/{db}[/{what}]: the metadata views. */
static void db_view(struct http_call *c, const struct views_db *d)
{
	const char *what = c->nseg > 3 ? c->seg[3] : "";
	enum proto_kind kind;
	json_t *j = NULL;
	int r;

	if (kind_of(what, &kind) == 0)
		return schema_view(c, d, kind);
	if (strcmp(what, "extents") == 0)
		return h_extents(c, d);
	if (strcmp(what, "history") == 0)
		return h_history(c, d);
	if (query_check(c, NULL, 0) < 0)
		return;
	if (what[0] == '\0')
		r = views_database(&c->v, d, &j, c->err);
	else if (strcmp(what, "policies") == 0)
		r = views_policies(&c->v, d, &j, c->err);
	else if (strcmp(what, "principals") == 0)
		r = views_principals(&c->v, d, &j, c->err);
	else if ((r = views_cache(&c->v, d, &j, c->err)) == 0)
		r = http_warming(c, d, j);
	reply_view(c, r, j);
}

static void h_database(struct http_call *c)
{
	bool artifact = c->nseg == 7;
	const struct views_db *d = NULL;

	c->recent = artifact;
	if (open_db(c, artifact ? AUTH_REQ_DATA : AUTH_REQ_METADATA, &d) < 0)
		return;
	if (artifact && query_check(c, NULL, 0) == 0)
		http_artifact_named(c, d);
	else if (!artifact)
		db_view(c, d);
}

/* ---- the Kusto surface (KUSTO SEAM) ---- */

static void kusto_unavailable(struct http_call *c)
{
	const char *msg = "the Kusto management surface is not available in this build";

	c->replied = true;
	http_reply_json(c->req, 400,
	                json_pack("{s:{s:s, s:s, s:s, s:s, s:b}}", "error", "code", "BadRequest",
	                          "message", msg, "@type",
	                          "Kusto.Data.Exceptions.KustoBadRequestException", "@message", msg,
	                          "@permanent", true));
}

static void h_kusto(struct http_call *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	bool mgmt = c->method == EVHTTP_REQ_POST;
	struct http_kusto_call k = {.who = &c->who,
	                            .views = &c->v,
	                            .allow_anonymous = c->h->conf->allow_anonymous,
	                            .len = evbuffer_get_length(in)};
	void (*hook)(void *, struct evhttp_request *, const struct http_kusto_call *) =
	    mgmt ? c->h->hooks.mgmt : c->h->hooks.auth_metadata;

	if (hook == NULL && mgmt)
		return kusto_unavailable(c);
	if (hook == NULL)
		return http_call_error(c, 404, "NotFound",
		                       "no sign-in metadata: use bearer tokens");
	if (evbuffer_add(in, "", 1) < 0 || (k.body = (const char *)evbuffer_pullup(in, -1)) == NULL)
		return http_call_fail(c, -ENOMEM);
	c->replied = true;
	hook(c->h->hooks.arg, c->req, &k);
}

/* POST /v1/rest/query and /v2/rest/query: the query hook takes the request
 * over (a worker runs the query and streams the answer). */
static void h_query(struct http_call *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	struct http_kusto_call k = {.who = &c->who,
	                            .views = &c->v,
	                            .allow_anonymous = c->h->conf->allow_anonymous,
	                            .len = evbuffer_get_length(in),
	                            .v1 = c->nseg > 0 && strcmp(c->seg[0], "v1") == 0};

	if (c->h->hooks.query == NULL)
		return kusto_unavailable(c);
	k.dbs_ok = http_dbs(c, &k.dbs, &k.ndbs) == 0;
	if (evbuffer_add(in, "", 1) < 0 ||
	    (k.body = (const char *)evbuffer_pullup(in, -1)) == NULL ||
	    (k.wait = http_wait_take(c)) == NULL)
		return http_call_fail(c, -ENOMEM);
	c->replied = true;
	c->h->hooks.query(c->h->hooks.arg, &k);
}

/* ---- control ---- */

/* Whether the caller may control the follower as a whole: the superuser,
 * or an admin of every followed database (and there is at least one). */
static int may_control_all(struct http_call *c, bool *ret)
{
	struct views_db *dbs = NULL;
	size_t n = 0;
	int r;

	*ret = c->who.superuser;
	if (*ret || c->v.store == NULL)
		return 0;
	r = views_db_list(&c->v, &dbs, &n, c->err);
	*ret = r == 0 && n > 0;
	for (size_t i = 0; *ret && i < n; i++)
		*ret = http_may(c, &dbs[i], AUTH_REQ_CONTROL);
	views_db_array_free(dbs, n);
	return r;
}

/* The preamble of the follower-wide control routes: no query, and a caller
 * who may control the follower.  False when it answered (400, 403, 5xx). */
static bool control_all_allowed(struct http_call *c)
{
	bool may = false;
	int r;

	if (query_check(c, NULL, 0) < 0)
		return false;
	if ((r = may_control_all(c, &may)) < 0) {
		http_call_fail(c, r);
		return false;
	}
	if (!may)
		http_call_error(c, 403, "Forbidden", "%s may not control the follower",
		                c->who.fqn[0] != '\0' ? c->who.fqn : "an anonymous caller");
	return may;
}

/* POST /v1/admin/sync: every leader is polled now. */
static void h_admin_sync(struct http_call *c)
{
	int r;

	if (!control_all_allowed(c))
		return;
	if (c->h->hooks.sync_now == NULL)
		return http_call_error(c, 503, "Unavailable", "no sync engine in this process");
	r = c->h->hooks.sync_now(c->h->hooks.arg);
	if (r < 0)
		return http_call_error(c, 503, "Unavailable", "cannot poll now: %s", strerror(-r));
	http_call_json(c, 200, json_pack("{s:b}", "polling", true));
}

/* A request's JSON object body into *ret (a new reference); 0, or -1
 * after replying 400. */
static int read_body(struct http_call *c, json_t **ret)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	const char *p = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	json_error_t je;
	json_t *j = p != NULL ? json_loadb(p, len, 0, &je) : NULL;

	if (j == NULL || !json_is_object(j)) {
		http_call_error(c, 400, "BadRequest", "the request body: %s",
		                j != NULL   ? "not a JSON object"
		                : p != NULL ? je.text
		                            : "out of memory");
		json_decref(j);
		return -1;
	}
	*ret = j;
	return 0;
}

/* POST /v1/admin/warm {"database":D[,"table":T]}: the warmer rescans now
 * (the whole database: a table names what the caller waits for). */
static void h_admin_warm(struct http_call *c)
{
	const struct views_db *d = NULL;
	const char *db = NULL, *table = NULL;
	json_t *body = NULL, *jt = NULL, *t = NULL;
	struct warm *w;
	uint64_t scan;

	if (query_check(c, NULL, 0) < 0 || read_body(c, &body) < 0)
		return;
	if (json_unpack(body, "{s:s, s?o !}", "database", &db, "table", &jt) < 0 ||
	    (jt != NULL && !json_is_null(jt) && (table = json_string_value(jt)) == NULL)) {
		http_call_error(c, 400, "BadRequest",
		                "expected {\"database\": NAME[, \"table\": NAME]}");
		goto out;
	}
	if (open_db_named(c, db, AUTH_REQ_CONTROL, &d) < 0)
		goto out;
	if (table != NULL && views_entity(&c->v, d, PROTO_TABLE, table, &t, c->err) < 0) {
		http_call_error(c, 404, "NotFound", "database '%s' has no table '%s'", db, table);
		goto out;
	}
	if ((w = c->h->hooks.warm != NULL ? c->h->hooks.warm(c->h->hooks.arg) : NULL) == NULL) {
		http_call_error(c, 503, "Unavailable", "no cache warmer in this process");
		goto out;
	}
	scan = warm_kick(w);
	http_call_json(c, 200,
	               json_pack("{s:s, s:s?, s:I}", "database", db, "table", table, "scan",
	                         (json_int_t)scan));
out:
	json_decref(t);
	json_decref(body);
}

/* GET /v1/admin/attachments, PUT|DELETE /v1/admin/attachments/{name}: the
 * admin surface of attached database configurations (hooks.attachments). */
static void h_admin_attachments(struct http_call *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	struct http_admin_call a = {.who = &c->who,
	                            .method = (int)c->method,
	                            .name = c->nseg == 4 ? c->seg[3] : NULL,
	                            .body = "",
	                            .len = evbuffer_get_length(in)};

	if (!control_all_allowed(c))
		return;
	if (c->h->hooks.attachments == NULL)
		return http_call_error(c, 503, "Unavailable", "no admin surface in this process");
	if (a.len > 0 && (evbuffer_add(in, "", 1) < 0 ||
	                  (a.body = (const char *)evbuffer_pullup(in, -1)) == NULL))
		return http_call_fail(c, -ENOMEM);
	c->replied = true;
	c->h->hooks.attachments(c->h->hooks.arg, c->req, &a);
}

/* ---- routing ---- */

struct route {
	const char *pattern; /* segments; '*' matches one */
	int methods;
	bool snapshot; /* reads the store */
	void (*fn)(struct http_call *c);
	/* A query endpoint: holds one of max_concurrent_queries slots until
	 * its reply is sent (http_door.h), so queries, however long, cannot
	 * take the connections views and /healthz need.  Mark every route
	 * whose work may run long (KQL queries) this way. */
	bool query;
};

static void h_healthz(struct http_call *c)
{
	http_healthz(c);
}

static void h_metrics(struct http_call *c)
{
	http_metrics(c);
}

static void h_artifact(struct http_call *c)
{
	http_artifact_sha(c);
}

static const struct route routes[] = {
    {"v1/databases", METHODS_GET, true, h_databases, false},
    {"v1/databases/*", METHODS_GET, true, h_database, false},
    {"v1/databases/*/tables", METHODS_GET, true, h_database, false},
    {"v1/databases/*/tables/*", METHODS_GET, true, h_database, false},
    {"v1/databases/*/external_tables", METHODS_GET, true, h_database, false},
    {"v1/databases/*/external_tables/*", METHODS_GET, true, h_database, false},
    {"v1/databases/*/materialized_views", METHODS_GET, true, h_database, false},
    {"v1/databases/*/materialized_views/*", METHODS_GET, true, h_database, false},
    {"v1/databases/*/extents", METHODS_GET, true, h_database, false},
    {"v1/databases/*/extents/*/artifacts/*", METHODS_GET, true, h_database, false},
    {"v1/databases/*/policies", METHODS_GET, true, h_database, false},
    {"v1/databases/*/principals", METHODS_GET, true, h_database, false},
    {"v1/databases/*/history", METHODS_GET, true, h_database, false},
    {"v1/databases/*/cache", METHODS_GET, true, h_database, false},
    /* a snapshot only if the caller's databases must be looked at */
    {"v1/artifacts/*", METHODS_GET, false, h_artifact, false},
    {"metrics", METHODS_GET, true, h_metrics, false},
    {"healthz", METHODS_GET, true, h_healthz, false},
    {"v1/admin/sync", EVHTTP_REQ_POST, true, h_admin_sync, false},
    {"v1/admin/warm", EVHTTP_REQ_POST, true, h_admin_warm, false},
    {"v1/admin/attachments", METHODS_GET, true, h_admin_attachments, false},
    {"v1/admin/attachments/*", EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE, true, h_admin_attachments,
     false},
    {"v1/rest/mgmt", EVHTTP_REQ_POST, true, h_kusto, true},
    {"v1/rest/query", EVHTTP_REQ_POST, true, h_query, true},
    {"v2/rest/query", EVHTTP_REQ_POST, true, h_query, true},
    {"v1/rest/auth/metadata", METHODS_GET, true, h_kusto, false},
};

static bool route_matches(const struct route *r, const struct http_call *c)
{
	const char *p = r->pattern;
	size_t i = 0;

	for (; *p != '\0' && i < c->nseg; i++) {
		size_t n = strcspn(p, "/");

		if (!(n == 1 && p[0] == '*') &&
		    (strlen(c->seg[i]) != n || strncmp(p, c->seg[i], n) != 0))
			return false;
		p += n;
		p += *p == '/';
	}
	return *p == '\0' && i == c->nseg;
}

static void allow_header(struct http_call *c, int methods)
{
	(void)evhttp_add_header(evhttp_request_get_output_headers(c->req), "Allow",
	                        methods & EVHTTP_REQ_POST  ? "POST"
	                        : methods & EVHTTP_REQ_PUT ? "PUT, DELETE"
	                                                   : "GET, HEAD");
}

/* The route of the call, or NULL after replying 404 / 405. */
static const struct route *route_of(struct http_call *c)
{
	int methods = 0;

	for (size_t i = 0; i < N_ELEMENTS(routes); i++) {
		if (!route_matches(&routes[i], c))
			continue;
		if (routes[i].methods & (int)c->method)
			return &routes[i];
		methods |= routes[i].methods;
	}
	if (methods != 0) {
		allow_header(c, methods);
		http_call_error(c, 405, "MethodNotAllowed", "%s is not allowed here",
		                c->method == EVHTTP_REQ_GET ? "GET" : "this method");
	} else {
		http_call_error(c, 404, "NotFound", "no such path");
	}
	return NULL;
}

/* Checks limits, parses, routes, identifies, admits; the route or NULL
 * after replying. */
static const struct route *prepare(struct http_call *c)
{
	const struct route *r;

	if (c->ep->side == HTTP_PUBLIC && c->h->tls != NULL && conn_ssl(c) == NULL) {
		/* a connection evhttp set up itself (we were out of memory) */
		(void)evhttp_add_header(evhttp_request_get_output_headers(c->req), "Connection",
		                        "close");
		http_call_error(c, 400, "BadRequest", "this endpoint speaks HTTPS only");
		return NULL;
	}
	if (header_bytes(c->req) > HTTP_MAX_HEADERS) {
		http_call_error(c, 431, "RequestHeaderFieldsTooLarge",
		                "headers larger than %zu bytes", HTTP_MAX_HEADERS);
		return NULL;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(c->req)) > HTTP_MAX_BODY) {
		http_call_error(c, 413, "PayloadTooLarge", "body larger than %zu bytes",
		                HTTP_MAX_BODY);
		return NULL;
	}
	if (parse_path(c) < 0 || parse_query(c) < 0 || (r = route_of(c)) == NULL || identify(c) < 0)
		return NULL;
	/* /healthz, and Kusto's sign-in metadata (the SDK asks it without
	 * credentials and takes only a 404 as "use your token") */
	if (r->fn != h_healthz && !(r->fn == h_kusto && c->method != EVHTTP_REQ_POST) &&
	    !admitted(c)) {
		http_call_error(c, 401, "Unauthorized", "%s",
		                c->h->conf->allow_anonymous
		                    ? "anonymous access is for local callers only"
		                    : "authentication required");
		return NULL;
	}
	if (http_door_admit(c) < 0)
		return NULL;
	return r;
}

/* Whether c is .show queries or .cancel query: they take no query slot,
 * so that a caller can see and cancel queries while every slot is held. */
static bool query_admin(struct http_call *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
	size_t len = evbuffer_get_length(in);
	const char *body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : NULL;
	struct kusto_request kr = {0};
	struct kusto_cmd cmd = {0};
	struct kusto_error e;
	bool yes = false;

	if (body != NULL && kusto_request_decode(body, len, &kr, &e) == 0 &&
	    kusto_parse(kr.csl, strlen(kr.csl), &cmd, &e) == 0)
		yes = cmd.kind == KUSTO_SHOW_QUERIES || cmd.kind == KUSTO_CANCEL_QUERY;
	kusto_cmd_clear(&cmd);
	kusto_request_clear(&kr);
	return yes;
}

static void run(struct http_call *c)
{
	const struct route *r = prepare(c);

	if (r == NULL ||
	    (r->query && !(r->fn == h_kusto && query_admin(c)) && http_door_query(c) != 0))
		return;
	c->v = (struct views_ctx){.store = http_store(c->h),
	                          .conf = c->h->conf,
	                          .cache = c->h->cache,
	                          .now = timefmt_now()};
	if (r->snapshot && c->v.store != NULL) {
		int rc = views_begin(&c->v, c->err);

		if (rc < 0)
			return http_call_fail(c, rc);
		c->snapshot = true;
	}
	r->fn(c);
}

static void on_complete(struct evhttp_request *req, void *arg)
{
	struct http_conn *conn = arg;
	int status = evhttp_request_get_response_code(req);

	if (status > 0 && status < HTTP_STATUS_MAX)
		conn->ep->h->n.responses[status]++;
	http_door_done(conn);
}

void http_on_request(struct evhttp_request *req, void *arg)
{
	struct http_endpoint *ep = arg;
	struct http_call c = {.h = ep->h, .ep = ep, .req = req};

	c.conn = http_conn_of(ep->h, req);
	c.method = evhttp_request_get_command(req);
	if (c.conn != NULL) {
		http_door_busy(c.conn);
		evhttp_request_set_on_complete_cb(req, on_complete, c.conn);
	}
	run(&c);
	if (c.snapshot)
		views_end(&c.v);
	if (!c.replied)
		http_call_error(&c, 500, "InternalError", "no reply (a bug)");
	free(c.path);
	if (c.query_parsed)
		evhttp_clear_headers(&c.query);
}

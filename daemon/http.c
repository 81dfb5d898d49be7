/*
 * http — the endpoint's life: listeners (bound, or passed by systemd), TLS,
 * the tokens file, connections (tracked here, judged by http_door.c), the
 * loop heartbeat behind /healthz, reloads (see http.h).
 *
 * evhttp 2.1 has no hook for a new connection nor a per-connection user
 * pointer, so connections are tracked through the bufferevent callback
 * (evhttp_set_bevcb, called at each accept): we create the bufferevent, and
 * one loop turn later — before any byte of the connection was read — find
 * evhttp's connection object (the bufferevent's callback argument; checked)
 * and set its close callback.  From then on we know when it goes away, and
 * the door (http_door.c) counts it against the caps and runs its clocks.
 */
#include "http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/err.h>
#include <systemd/sd-daemon.h>

#include "cache/cache.h"
#include "util/fsutil.h"
#include "log.h"

#define BACKLOG 511
#define HEARTBEAT_MS 1000
#define STORE_RETRY_MS 1000
#define TICKS_PER_MS (PROTO_TICKS_PER_SEC / 1000)

int64_t http_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval tv_of_ticks(int64_t ticks)
{
	struct timeval tv = {(time_t)(ticks / PROTO_TICKS_PER_SEC),
	                     (suseconds_t)(ticks % PROTO_TICKS_PER_SEC / 10)};

	return tv;
}

/* ---- the store ---- */

/* The read-only store handle, opened on first need (the engine creates the
 * file); NULL while it does not exist or cannot be opened (logged on
 * change, retried at most once a second). */
struct store *http_store(struct http *h)
{
	char err[STORE_ERRLEN];
	int64_t now = http_now_ms();
	int r;

	if (h->store != NULL || h->store_path == NULL || now < h->store_retry)
		return h->store;
	if (access(h->store_path, F_OK) < 0) {
		h->store_retry = now + STORE_RETRY_MS;
		return NULL;
	}
	r = store_open_readonly(h->store_path, &h->store, err);
	if (r < 0) {
		h->store_retry = now + STORE_RETRY_MS;
		if (log_memo_failed(h->memo, "store", err))
			log_err("views: cannot read the store: %s", err);
		return NULL;
	}
	if (log_memo_ok(h->memo, "store"))
		log_notice("views: the store is readable again");
	return h->store;
}

/* ---- the databases, kept between requests ---- */

static void dbs_drop(struct http *h)
{
	views_db_array_free(h->dbs, h->ndbs);
	h->dbs = NULL;
	h->ndbs = 0;
	h->dbs_ok = false;
}

int http_dbs(struct http_call *c, const struct views_db **ret, size_t *ret_n)
{
	struct http *h = c->h;
	struct views_db *dbs = NULL;
	int64_t version = 0;
	size_t n = 0;
	int r;

	*ret = NULL;
	*ret_n = 0;
	if (c->v.store == NULL)
		return 0;
	if (!c->snapshot) { /* the list and what the caller reads next: one version */
		r = views_begin(&c->v, c->err);
		if (r < 0)
			return r;
		c->snapshot = true;
	}
	r = views_data_version(&c->v, &version, c->err);
	if (r == 0 && (!h->dbs_ok || version != h->dbs_version)) {
		r = views_db_list(&c->v, &dbs, &n, c->err);
		if (r == 0) {
			dbs_drop(h);
			h->dbs = dbs;
			h->ndbs = n;
			h->dbs_version = version;
			h->dbs_ok = true;
		}
	}
	if (r < 0)
		return r;
	h->dbs_checked_ms = http_now_ms();
	*ret = h->dbs;
	*ret_n = h->ndbs;
	return 0;
}

int http_dbs_recent(struct http_call *c, const struct views_db **ret, size_t *ret_n)
{
	struct http *h = c->h;

	if (c->v.store == NULL || !h->dbs_ok ||
	    http_now_ms() - h->dbs_checked_ms >= HTTP_DBS_RECENT_MS)
		return http_dbs(c, ret, ret_n);
	*ret = h->dbs;
	*ret_n = h->ndbs;
	return 0;
}

/* ---- connections ---- */

static size_t bucket_of(const struct evhttp_connection *evcon)
{
	uintptr_t k = (uintptr_t)evcon >> 4;

	return (size_t)((k * 0x9E3779B97F4A7C15ull) >> 32) % HTTP_CONN_BUCKETS;
}

static struct http_conn *conn_find(struct http *h, const struct evhttp_connection *evcon)
{
	struct http_conn *c = h->conns[bucket_of(evcon)];

	while (c != NULL && c->evcon != evcon)
		c = c->next;
	return c;
}

static void conn_unlink(struct http *h, struct http_conn *c)
{
	struct http_conn **p = &h->conns[bucket_of(c->evcon)];

	while (*p != NULL && *p != c)
		p = &(*p)->next;
	if (*p == c)
		*p = c->next;
}

static void conn_free(struct http_conn *c)
{
	if (c->init != NULL)
		event_free(c->init);
	if (c->deadline != NULL)
		event_free(c->deadline);
	free(c->authz);
	free(c);
}

/* evhttp is freeing the connection. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *c = arg;

	if (c->wait != NULL)
		http_wait_drop(c->wait, true);
	http_door_leave(c);
	conn_unlink(c->ep->h, c);
	c->ep->connections--;
	conn_free(c);
}

struct http_conn *http_conn_of(struct http *h, struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);

	return evcon != NULL ? conn_find(h, evcon) : NULL;
}

/* Who is at the other end: loopback or not, and a Unix peer's uid.  TCP
 * connections get TCP_NODELAY: a response is headers (writev) then a body
 * (sendfile), and Nagle would hold the body's last segment until the
 * client's (delayed) ACK — measured here, it cut 64 KiB GETs to half. */
static void conn_peer(struct http_conn *c, int fd)
{
	int one = 1;

	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getpeername(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (ss.ss_family == AF_UNIX) {
		c->unix_peer = c->local = true;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
			c->have_uid = true;
			c->uid = (uint32_t)cred.uid;
		}
	} else if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;

		c->local = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
		const uint8_t *a = in6->sin6_addr.s6_addr;

		c->local = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
		           (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && a[12] == 127);
	}
}

/* One loop turn after the accept: bind c to evhttp's connection object. */
static void on_conn_init(evutil_socket_t unused, short what, void *arg)
{
	struct http_conn *c = arg;
	struct http_endpoint *ep = c->ep;
	struct bufferevent *bev = c->bev;
	void *cbarg = NULL;

	bufferevent_getcb(bev, NULL, NULL, NULL, &cbarg);
	if (cbarg == NULL || evhttp_connection_get_bufferevent(cbarg) != bev) {
		/* evhttp dropped it already (out of memory): nothing to track */
		conn_free(c);
		(void)bufferevent_decref(bev);
		return;
	}
	c->evcon = cbarg;
	event_free(c->init);
	c->init = NULL;
	conn_peer(c, bufferevent_getfd(bev));
	c->next = ep->h->conns[bucket_of(c->evcon)];
	ep->h->conns[bucket_of(c->evcon)] = c;
	ep->connections++;
	ep->h->n.accepted++;
	evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
	(void)bufferevent_decref(bev);
	if (ep->h->stopped || c->refuse) {
		ep->h->n.rejected++;
		evhttp_connection_free(c->evcon); /* frees c */
		return;
	}
	if (http_door_enter(c, bufferevent_getfd(bev)) < 0)
		evhttp_connection_free(c->evcon); /* refused before reading: frees c */
}

/* evhttp's accept: a new bufferevent (TLS on the public side when set). */
static struct bufferevent *on_accept_bev(struct event_base *base, void *arg)
{
	struct http_endpoint *ep = arg;
	struct http_conn *c = calloc(1, sizeof(*c));
	struct bufferevent *bev = NULL;
	SSL *ssl = NULL;

	bool tls = ep->side == HTTP_PUBLIC && ep->h->tls != NULL;

	if (c == NULL)
		return NULL; /* evhttp makes a plain one; on HTTPS prepare() refuses it */
	if (tls && (ssl = SSL_new(ep->h->tls)) != NULL)
		bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING,
		                                     BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		/* plain, or TLS could not be set up (out of memory): then closed
		 * at once by on_conn_init, never served in clear */
		c->refuse = tls;
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	c->ep = ep;
	c->init = event_new(base, -1, 0, on_conn_init, c);
	if (bev == NULL || c->init == NULL) {
		conn_free(c);
		return bev;
	}
	c->bev = bev;
	bufferevent_incref(bev); /* kept alive until on_conn_init */
	event_active(c->init, EV_TIMEOUT, 0);
	return bev;
}

/* ---- TLS ---- */

/* Client certificates are optional and judged per request (fingerprint or
 * verified subject, lib/auth): the handshake accepts any. */
static int accept_any_cert(int preverify, X509_STORE_CTX *ctx)
{
	return 1;
}

static int tls_fail(SSL_CTX *ctx, const char *what, const char *path, char *err, size_t errlen)
{
	char ssl_err[256] = "";

	ERR_error_string_n(ERR_get_error(), ssl_err, sizeof(ssl_err));
	(void)snprintf(err, errlen, "%s %s: %s", what, path, ssl_err);
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return -EINVAL;
}

static int tls_new(const struct conf *conf, SSL_CTX **ret, char *err, size_t errlen)
{
	static const unsigned char sid[] = "followerd";
	SSL_CTX *ctx;

	*ret = NULL;
	if (conf->tls_cert == NULL)
		return 0;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return tls_fail(NULL, "cannot set up", "TLS", err, errlen);
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, conf->tls_cert) != 1)
		return tls_fail(ctx, "tls_cert", conf->tls_cert, err, errlen);
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return tls_fail(ctx, "tls_key", conf->tls_key, err, errlen);
	if (conf->tls_client_ca != NULL) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(conf->tls_client_ca);

		if (names == NULL ||
		    SSL_CTX_load_verify_locations(ctx, conf->tls_client_ca, NULL) != 1) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			return tls_fail(ctx, "tls_client_ca", conf->tls_client_ca, err, errlen);
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	(void)SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_cert);
	*ret = ctx;
	return 0;
}

/* ---- reloadable parts ---- */

void http_reload_abort(struct http_reload *r)
{
	if (r == NULL)
		return;
	auth_tokens_free(r->tokens);
	SSL_CTX_free(r->tls);
	free(r);
}

int http_reload_prepare(struct http *h, const struct conf *conf, struct http_reload **ret,
                        char *err, size_t errlen)
{
	struct http_reload *r = calloc(1, sizeof(*r));
	bool too_open = false;
	int rc = 0;

	if (r == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->conf = conf;
	if (conf->tokens_file != NULL)
		rc = auth_tokens_load(conf->tokens_file, &r->tokens, &too_open, err, errlen);
	if (rc == 0)
		rc = tls_new(conf, &r->tls, err, errlen);
	if (rc < 0) {
		http_reload_abort(r);
		return rc;
	}
	if (too_open)
		log_warning("tokens_file %s is readable by group or others; make it mode 0600",
		            conf->tokens_file);
	if (auth_tokens_subjects(r->tokens) > 0 && conf->tls_client_ca == NULL)
		log_warning("tokens_file %s maps certificate subjects, which need tls_client_ca: "
		            "those lines never match",
		            conf->tokens_file);
	*ret = r;
	return 0;
}

static bool same_addrs(const struct conf *a, const struct conf *b)
{
	if (a->listen.n != b->listen.n || (a->admin_socket == NULL) != (b->admin_socket == NULL) ||
	    (a->admin_socket != NULL && strcmp(a->admin_socket, b->admin_socket) != 0) ||
	    (a->tls_cert == NULL) != (b->tls_cert == NULL))
		return false;
	for (size_t i = 0; i < a->listen.n; i++)
		if (memcmp(&a->listen.v[i], &b->listen.v[i], sizeof(a->listen.v[i])) != 0)
			return false;
	return true;
}

/* evhttp's own timeouts bound each pause in reading or writing: the
 * longest of our clocks, which the door runs itself (they are stricter). */
static void apply_limits(struct http *h)
{
	const struct conf *conf = h->conf;
	int64_t gap = conf->request_timeout;
	struct timeval tv;

	if (conf->keepalive_timeout > gap)
		gap = conf->keepalive_timeout;
	if (conf->header_timeout > gap)
		gap = conf->header_timeout;
	tv = tv_of_ticks(gap);
	h->pub.max_connections = conf->max_connections;
	http_door_apply(h);
	evhttp_set_timeout_tv(h->pub.evh, &tv);
	evhttp_set_timeout_tv(h->adm.evh, &tv);
}

void http_reload_commit(struct http *h, struct http_reload *r, const struct conf *conf)
{
	if (!same_addrs(h->conf, conf))
		log_warning("http: listen, admin_socket or TLS on/off changed: restart followerd "
		            "for the new listeners");
	if (h->tls != NULL && r->tls == NULL)
		log_warning(
		    "http: tls_cert removed: the listeners keep speaking HTTPS with the old "
		    "certificate until a restart");
	auth_tokens_free(h->tokens);
	h->tokens = r->tokens;
	if (r->tls != NULL || h->tls == NULL) {
		SSL_CTX_free(h->tls);
		h->tls = r->tls;
	} else {
		SSL_CTX_free(r->tls);
	}
	h->conf = conf;
	free(r);
	h->conf_gen++;
	dbs_drop(h); /* they point into the old configuration */
	apply_limits(h);
}

void http_set_hooks(struct http *h, const struct http_hooks *hooks)
{
	h->hooks = *hooks;
}

/* ---- listeners ---- */

static int listen_fd(struct http_endpoint *ep, int fd, const char *what, char *err, size_t errlen)
{
	struct evconnlistener *l;

	if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0) {
		(void)snprintf(err, errlen, "%s: %s", what, strerror(errno));
		(void)close(fd);
		return -errno;
	}
	if (ep->nbound == HTTP_MAX_LISTENERS) {
		(void)snprintf(err, errlen, "%s: more than %d listeners", what, HTTP_MAX_LISTENERS);
		(void)close(fd);
		return -E2BIG;
	}
	l = evconnlistener_new(ep->h->base, NULL, NULL,
	                       LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l == NULL || (ep->bound[ep->nbound] = evhttp_bind_listener(ep->evh, l)) == NULL) {
		(void)snprintf(err, errlen, "%s: cannot listen", what);
		if (l != NULL)
			evconnlistener_free(l);
		else
			(void)close(fd);
		return -ENOMEM;
	}
	ep->nbound++;
	return 0;
}

static int bind_inet(struct http_endpoint *ep, const struct conf_addr *a, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	char port[8], what[CONF_HOST_MAX + 32];
	int fd, one = 1, r;

	(void)snprintf(port, sizeof(port), "%u", (unsigned)a->port);
	(void)snprintf(what, sizeof(what), "listen %s:%s", a->host, port);
	r = getaddrinfo(a->host, port, &hints, &ai);
	if (r != 0) {
		(void)snprintf(err, errlen, "%s: %s", what, gai_strerror(r));
		return -EADDRNOTAVAIL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, BACKLOG) < 0) {
		r = -errno;
		(void)snprintf(err, errlen, "%s: %s", what, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);
	log_info("http: listening on %s:%s%s", a->host, port, ep->h->tls != NULL ? " (HTTPS)" : "");
	return listen_fd(ep, fd, what, err, errlen);
}

/* Removes a stale socket file at path; -EADDRINUSE when a process listens
 * on it, -EEXIST when it is not a socket. */
static int unix_clear(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	(void)close(fd);
	if (r == 0)
		return -EADDRINUSE;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}

static int bind_unix(struct http_endpoint *ep, const char *path, bool admin, char *err,
                     size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char dir[sizeof(sa.sun_path)], *slash;
	struct stat st;
	int fd = -1, r;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		(void)snprintf(err, errlen, "%s: path too long for a Unix socket", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	memcpy(dir, path, strlen(path) + 1);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir)
		*slash = '\0';
	r = slash != NULL && slash != dir ? fsutil_mkdirs(dir, 0750) : 0;
	if (r == 0)
		r = unix_clear(path, &sa);
	if (r == 0 && (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		r = -errno;
	if (r == 0 && (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0660) < 0 ||
	               listen(fd, BACKLOG) < 0 || stat(path, &st) < 0))
		r = -errno;
	if (r < 0) {
		(void)snprintf(err, errlen, "%s: %s", path,
		               r == -EADDRINUSE ? "another process listens on it"
		               : r == -EEXIST   ? "exists and is not a socket"
		                                : strerror(-r));
		if (fd >= 0)
			(void)close(fd);
		return r;
	}
	if (admin && (ep->h->admin_path = strdup(path)) != NULL) {
		ep->h->admin_dev = st.st_dev;
		ep->h->admin_ino = st.st_ino;
	}
	log_info("http: listening on unix:%s%s", path, admin ? " (admin)" : "");
	return listen_fd(ep, fd, path, err, errlen);
}

/* Takes the sockets systemd passed; *ret_public / *ret_admin say whether
 * any came for each side. */
static int bind_passed(struct http *h, bool *ret_public, bool *ret_admin, char *err, size_t errlen)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names), r = 0;

	for (int i = 0; r == 0 && i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		bool admin = names != NULL && names[i] != NULL && strcmp(names[i], "admin") == 0;
		char what[64];

		(void)snprintf(what, sizeof(what), "socket %d from systemd", fd);
		if (sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
			(void)snprintf(err, errlen, "%s: not a listening stream socket", what);
			r = -ENOTSOCK;
			break;
		}
		/* systemd passes blocking sockets unless NonBlocking=yes: an
		 * accept on one would stall the whole loop (listen_fd fixes it). */
		r = listen_fd(admin ? &h->adm : &h->pub, fd, what, err, errlen);
		*(admin ? ret_admin : ret_public) = true;
		log_info("http: listening on %s (%s)", what, admin ? "admin" : "queries");
	}
	for (int i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
	return n < 0 ? 0 : r;
}

static int bind_all(struct http *h, char *err, size_t errlen)
{
	bool passed_public = false, passed_admin = false;
	int r = bind_passed(h, &passed_public, &passed_admin, err, errlen);

	for (size_t i = 0; r == 0 && !passed_public && i < h->conf->listen.n; i++) {
		const struct conf_addr *a = &h->conf->listen.v[i];

		r = a->kind == CONF_ADDR_UNIX ? bind_unix(&h->pub, a->path, false, err, errlen)
		                              : bind_inet(&h->pub, a, err, errlen);
	}
	if (r == 0 && passed_public && h->conf->listen.n > 0)
		log_info("http: using the sockets systemd passed, not `listen`");
	if (r == 0 && !passed_admin && h->conf->admin_socket != NULL)
		r = bind_unix(&h->adm, h->conf->admin_socket, true, err, errlen);
	return r;
}

/* ---- the endpoints ---- */

static int endpoint_init(struct http *h, struct http_endpoint *ep, enum http_side side)
{
	ep->h = h;
	ep->side = side;
	ep->max_connections = HTTP_ADMIN_MAX_CONNECTIONS;
	ep->evh = evhttp_new(h->base);
	if (ep->evh == NULL)
		return -ENOMEM;
	/* Hard limits, past which evhttp answers on its own (HTML); ours, with
	 * JSON errors, are half of them and checked per request. */
	evhttp_set_max_headers_size(ep->evh, (ev_ssize_t)(2 * HTTP_MAX_HEADERS));
	evhttp_set_max_body_size(ep->evh, (ev_ssize_t)(2 * HTTP_MAX_BODY));
	/* Every method evhttp knows is parsed, so that the wrong ones get our
	 * JSON 405 (evhttp would answer 501 in HTML). */
	evhttp_set_allowed_methods(ep->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                                        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                                        EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
	                                        EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	evhttp_set_bevcb(ep->evh, on_accept_bev, ep);
	evhttp_set_gencb(ep->evh, http_on_request, ep);
	return 0;
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct http *h = arg;
	int64_t now = http_now_ms();
	int64_t late = now - h->beat_ms - HEARTBEAT_MS;

	if (late >= HTTP_STALL_MS) {
		h->stall_at_ms = now;
		h->stall_ms = late;
		log_warning("the event loop stalled for %.1f s", (double)late / 1000.0);
	}
	h->beat_ms = now;
}

static int start_parts(struct http *h, const struct conf *conf, const struct http_options *opt,
                       char *err, size_t errlen)
{
	struct timeval beat = {HEARTBEAT_MS / 1000, HEARTBEAT_MS % 1000 * 1000};
	struct http_reload *rl = NULL;
	int r;

	h->memo = log_memo_new();
	h->heartbeat = event_new(h->base, -1, EV_PERSIST, on_heartbeat, h);
	if (h->memo == NULL || h->heartbeat == NULL ||
	    (opt->store_path != NULL && (h->store_path = strdup(opt->store_path)) == NULL) ||
	    endpoint_init(h, &h->pub, HTTP_PUBLIC) < 0 ||
	    endpoint_init(h, &h->adm, HTTP_ADMIN) < 0 || http_door_init(h) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->cache = opt->cache;
	if (h->cache == NULL && (r = cache_open(conf->cache_dir, NULL, &h->cache)) < 0) {
		(void)snprintf(err, errlen, "cache_dir %s: %s", conf->cache_dir, strerror(-r));
		return r;
	}
	h->own_cache = opt->cache == NULL;
	r = http_reload_prepare(h, conf, &rl, err, errlen);
	if (r < 0)
		return r;
	http_reload_commit(h, rl, conf);
	h->beat_ms = http_now_ms();
	return event_add(h->heartbeat, &beat) == 0 ? 0 : -ENOMEM;
}

int http_new(struct event_base *base, const struct conf *conf, const struct http_options *opt,
             struct http **ret, char *err, size_t errlen)
{
	struct http *h = calloc(1, sizeof(*h));
	int r;

	if (h == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	h->base = base;
	h->conf = conf;
	h->hooks = opt->hooks;
	r = start_parts(h, conf, opt, err, errlen);
	if (r == 0)
		r = bind_all(h, err, errlen);
	if (r < 0) {
		http_free(h);
		return r;
	}
	(void)http_store(h);
	*ret = h;
	return 0;
}

void http_stop(struct http *h)
{
	if (h == NULL || h->stopped)
		return;
	h->stopped = true;
	for (size_t i = 0; i < h->pub.nbound; i++)
		evhttp_del_accept_socket(h->pub.evh, h->pub.bound[i]);
	for (size_t i = 0; i < h->adm.nbound; i++)
		evhttp_del_accept_socket(h->adm.evh, h->adm.bound[i]);
	h->pub.nbound = h->adm.nbound = 0;
}

/* Removes the admin socket file if it is still the one we bound. */
static void admin_unlink(struct http *h)
{
	struct stat st;

	if (h->admin_path != NULL && lstat(h->admin_path, &st) == 0 && st.st_dev == h->admin_dev &&
	    st.st_ino == h->admin_ino)
		(void)unlink(h->admin_path);
	free(h->admin_path);
}

void http_free(struct http *h)
{
	if (h == NULL)
		return;
	/* requests held by the read-through hook: evhttp frees them below */
	while (h->waits != NULL)
		http_wait_drop(h->waits, false);
	http_door_drop_parked(h);
	/* evhttp_free frees the connections (our close callbacks run) and the
	 * listeners. */
	if (h->pub.evh != NULL)
		evhttp_free(h->pub.evh);
	if (h->adm.evh != NULL)
		evhttp_free(h->adm.evh);
	admin_unlink(h);
	http_door_free(h);
	if (h->heartbeat != NULL)
		event_free(h->heartbeat);
	dbs_drop(h);
	http_named_clear(h);
	store_free(h->store);
	if (h->own_cache)
		cache_free(h->cache);
	auth_tokens_free(h->tokens);
	SSL_CTX_free(h->tls);
	log_memo_free(h->memo);
	free(h->store_path);
	free(h);
}

/*
 * sync_leader — a leader root sync polls (see sync_int.h).
 *
 * One struct per root and set of credentials, shared by every attach that
 * names it: its head serves all its databases, so it is polled once per
 * interval (the smallest of its attaches', with jitter) whatever their
 * number.  A poll is a conditional GET; a 304, or a body identical to the
 * last one (file:// has no ETag), ends there.  A new head is decoded and
 * handed to the databases of the leader's attaches; for an attach of "*"
 * databases appear and disappear with the head.  A failed poll is reported
 * once per distinct error, shared with the leader's databases as their last
 * error, and retried with exponential backoff and jitter.
 *
 * Requests: objects are found at root + "/" + path (paths are validated by
 * proto: relative, no "..", so they cannot leave the root's host); an Azure
 * SAS token is appended as the query, a Shared Key signs each request.
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "net/azure.h"

static void leader_timer(evutil_socket_t fd, short what, void *arg);

static char *root_base(const char *root)
{
	size_t n = strlen(root);
	char *b = malloc(n + 8);

	if (b == NULL)
		return NULL;
	(void)snprintf(b, n + 8, "%s%s", root[0] == '/' ? "file://" : "", root);
	n = strlen(b);
	while (n > 0 && b[n - 1] == '/')
		b[--n] = '\0';
	return b;
}

static int leader_auth(struct sync_leader *l, const struct conf_attach *a, char *err)
{
	struct azure_url u;
	const char *sas = a->sas_token;

	if (a->account_key != NULL) {
		if (azure_url_parse(a->leader, &u, err, SYNC_ERRLEN) < 0)
			return -EINVAL;
		l->azure_key = true;
		if ((l->account = strdup(u.account)) == NULL ||
		    (l->key = strdup(a->account_key)) == NULL)
			return -ENOMEM;
	}
	if (sas != NULL) {
		if (sas[0] == '?')
			sas++;
		if ((l->sas = strdup(sas)) == NULL)
			return -ENOMEM;
	}
	return 0;
}

int sync_leader_new(struct sync *s, const struct conf_attach *a, struct sync_leader **ret,
                    char *err)
{
	struct sync_leader *l = calloc(1, sizeof(*l));
	int r = -ENOMEM;

	if (l == NULL)
		return -ENOMEM;
	l->s = s;
	if ((l->root = strdup(a->leader)) == NULL || (l->base = root_base(a->leader)) == NULL ||
	    (l->timer = evtimer_new(s->base, leader_timer, l)) == NULL)
		goto out;
	r = leader_auth(l, a, err);
	if (r < 0)
		goto out;
	l->interval_ms = sync_attach_interval_ms(s, a);
	*ret = l;
	return 0;
out:
	if (r == -ENOMEM)
		(void)snprintf(err, SYNC_ERRLEN, "out of memory");
	sync_leader_free(l);
	return r;
}

static void leader_destroy(struct sync_leader *l)
{
	if (l->timer != NULL)
		event_free(l->timer);
	proto_head_free(l->head);
	free(l->order);
	free(l->body);
	free(l->error);
	free(l->root);
	free(l->base);
	free(l->account);
	free(l->key);
	free(l->sas);
	free(l);
}

void sync_leader_free(struct sync_leader *l)
{
	if (l == NULL)
		return;
	fetch_cancel(l->job);
	l->job = NULL;
	if (l->timer != NULL)
		(void)event_del(l->timer);
	l->doomed = true;
	if (l->tasks == 0)
		leader_destroy(l);
}

void sync_leader_put(struct sync_leader *l)
{
	if (l->tasks > 0)
		l->tasks--;
	if (l->doomed && l->tasks == 0)
		leader_destroy(l);
}

static bool same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool sync_leader_matches(const struct sync_leader *l, const struct conf_attach *a)
{
	const char *sas =
	    a->sas_token != NULL && a->sas_token[0] == '?' ? a->sas_token + 1 : a->sas_token;

	return strcmp(l->root, a->leader) == 0 && same(l->key, a->account_key) && same(l->sas, sas);
}

/* ---- requests ---- */

static int sign(const struct sync_leader *l, const char *etag, struct sync_req *req)
{
	struct azure_header h[3];
	char date[AZURE_DATE_LEN], auth[AZURE_AUTH_MAX];
	size_t n = 0;
	int r;

	azure_format_date(time(NULL), date);
	h[n++] = (struct azure_header){"x-ms-date", date};
	h[n++] = (struct azure_header){"x-ms-version", AZURE_API_VERSION};
	if (etag != NULL)
		h[n++] = (struct azure_header){"If-None-Match", etag};
	r = azure_sign_shared_key(l->account, l->key, "GET", req->url, h, n, auth, sizeof(auth));
	if (r < 0)
		return r;
	(void)snprintf(req->h_date, sizeof(req->h_date), "x-ms-date: %s", date);
	(void)snprintf(req->h_version, sizeof(req->h_version), "x-ms-version: %s",
	               AZURE_API_VERSION);
	(void)snprintf(req->h_auth, sizeof(req->h_auth), "Authorization: %s", auth);
	req->headers[0] = req->h_date;
	req->headers[1] = req->h_version;
	req->headers[2] = req->h_auth;
	req->headers[3] = NULL;
	return 0;
}

int sync_leader_request(const struct sync_leader *l, const char *path, const char *etag,
                        struct sync_req *req, struct fetch_request *fr)
{
	char url[sizeof(req->url)];
	int n = snprintf(url, sizeof(url), "%s/%s", l->base, path);
	int r = 0;

	if (n < 0 || (size_t)n >= sizeof(url))
		return -EINVAL;
	memset(fr, 0, sizeof(*fr));
	if (l->sas != NULL)
		r = azure_sas_append(url, l->sas, req->url, sizeof(req->url));
	else
		(void)snprintf(req->url, sizeof(req->url), "%s", url);
	if (r == 0 && l->azure_key)
		r = sign(l, etag, req);
	if (r < 0)
		return -EINVAL;
	fr->url = req->url;
	fr->method = FETCH_GET;
	fr->headers = l->azure_key ? req->headers : NULL;
	fr->if_none_match = etag;
	return 0;
}

/* ---- the head ---- */

static const struct proto_head_db *head_find(const struct sync_leader *l, const char *name)
{
	size_t lo = 0, hi = l->head != NULL ? l->head->ndbs : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct proto_head_db *d = &l->head->dbs[l->order[mid]];
		int c = strcmp(name, d->name);

		if (c == 0)
			return d;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct proto_head_db *sync_leader_head_db(const struct sync_leader *l, const char *name)
{
	return head_find(l, name);
}

bool sync_leader_detached(const struct sync *s, const struct proto_head_db *d)
{
	for (size_t i = 0; d != NULL && i < d->ndetached; i++)
		if (strcmp(d->detached[i], s->follower_name) == 0)
			return true;
	return false;
}

static int cmp_order(const void *a, const void *b, void *arg)
{
	const struct proto_head *h = arg;

	return strcmp(h->dbs[*(const size_t *)a].name, h->dbs[*(const size_t *)b].name);
}

int sync_head_index(const struct proto_head *h, size_t **ret)
{
	size_t *o = malloc((h->ndbs > 0 ? h->ndbs : 1) * sizeof(*o));

	if (o == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < h->ndbs; i++)
		o[i] = i;
	qsort_r(o, h->ndbs, sizeof(*o), cmp_order, (void *)h); /* names are unique (proto) */
	*ret = o;
	return 0;
}

/* The databases of a "*" attach: one per head entry, the others gone. */
static void hand_star(struct sync_leader *l, struct sync_attach *a)
{
	struct sync *s = l->s;
	char name[CONF_MAX_NAME * 2 + 2], local[CONF_MAX_NAME + 1], err[CONF_ERRLEN];

	for (size_t i = 0; i < l->head->ndbs; i++) {
		const struct proto_head_db *h = &l->head->dbs[i];
		struct sync_db *db;

		(void)snprintf(name, sizeof(name), "%s/%s", a->conf->name, h->name);
		db = sync_find_db(s, name);
		if (db == NULL) {
			if (conf_attach_local_name(a->conf, h->name, local, sizeof(local), err,
			                           sizeof(err)) < 0 ||
			    sync_db_new(s, name, a->conf->leader, h->name, local, &db) < 0)
				continue; /* a name that cannot be followed here */
			db->attach = a;
			db->once_wanted = s->once;
			s->once_left += s->once;
			if (sync_add_db(s, db) < 0) {
				sync_db_release(db);
				continue;
			}
		}
		if (db->attach == a)
			sync_db_head(db, h, sync_leader_detached(s, h));
		else if (db->attach == NULL)
			db->adopt = a; /* an old identity leaves first */
	}
	for (size_t i = 0; i < s->ndbs; i++) {
		struct sync_db *db = s->dbs[i];

		if (db->attach == a && head_find(l, db->leader_db) == NULL)
			sync_db_head(db, NULL, false);
	}
}

static void hand_out(struct sync_leader *l)
{
	struct sync *s = l->s;

	for (size_t i = 0; i < s->nattaches; i++) {
		struct sync_attach *a = s->attaches[i];
		struct sync_db *db;
		const struct proto_head_db *h;

		if (a->leader != l)
			continue;
		if (a->star) {
			hand_star(l, a);
			continue;
		}
		if ((db = sync_find_db(s, a->conf->name)) == NULL || db->attach != a)
			continue;
		h = head_find(l, a->conf->database);
		sync_db_head(db, h, sync_leader_detached(s, h));
	}
}

/* Gives the leader's head to its databases again (a configuration changed). */
void sync_leader_hand_out(struct sync_leader *l)
{
	if (l->head != NULL)
		hand_out(l);
}

/* ---- polling ---- */

static void leader_once_done(struct sync_leader *l)
{
	if (!l->once_wanted)
		return;
	l->once_wanted = false;
	sync_once_check(l->s);
}

static void for_each_db(struct sync_leader *l, void (*fn)(struct sync_db *db, void *arg), void *arg)
{
	struct sync *s = l->s;

	for (size_t i = 0; i < s->ndbs; i++)
		if (s->dbs[i]->attach != NULL && s->dbs[i]->attach->leader == l)
			fn(s->dbs[i], arg);
}

struct failure {
	int r;
	const char *url, *msg;
};

static void db_failed(struct sync_db *db, void *arg)
{
	const struct failure *f = arg;

	sync_db_leader_failed(db, f->r, f->url, f->msg);
}

static void db_ok(struct sync_db *db, void *arg)
{
	sync_db_leader_ok(db);
}

static void leader_failed(struct sync_leader *l, int r, const char *url, const char *msg)
{
	struct sync *s = l->s;
	struct failure f = {r, url, msg};

	l->fails++;
	if (l->error == NULL || strcmp(l->error, msg) != 0) {
		char *text = strdup(msg);

		if (text != NULL) {
			free(l->error);
			l->error = text;
		}
		sync_emit(s, &(struct sync_event){.kind = SYNC_EV_UNREACHABLE,
		                                  .leader = l->root,
		                                  .url = url,
		                                  .error = r,
		                                  .detail = msg});
	}
	for_each_db(l, db_failed, &f);
	leader_once_done(l);
	sync_leader_schedule(l, sync_backoff_ms(s, l->interval_ms, l->fails));
}

static void leader_ok(struct sync_leader *l)
{
	l->fails = 0;
	if (l->error != NULL) {
		free(l->error);
		l->error = NULL;
		sync_emit(l->s, &(struct sync_event){.kind = SYNC_EV_REACHABLE, .leader = l->root});
	}
	for_each_db(l, db_ok, NULL);
}

/* A new head, decoded on the CPU lane: handed out, or refused whole. */
static void head_decoded(struct dtask *t)
{
	struct sync_leader *l = t->leader;

	l->decoding = false;
	if (l->doomed || l->s->stopping) {
		sync_dtask_free(t);
		return;
	}
	if (t->r < 0) {
		leader_failed(l, t->r == -ENOMEM ? t->r : -EBADMSG, t->url, t->err);
		sync_dtask_free(t);
		return;
	}
	free(l->body);
	proto_head_free(l->head);
	free(l->order);
	l->body = t->body;
	l->body_len = t->len;
	l->head = t->head;
	l->order = t->order;
	t->body = NULL;
	t->head = NULL;
	t->order = NULL;
	sync_dtask_free(t);
	(void)snprintf(l->etag, sizeof(l->etag), "%s", l->pending_etag);
	leader_ok(l);
	hand_out(l);
	leader_once_done(l);
	sync_leader_schedule(l, sync_jitter(l->interval_ms, sync_random(l->s)));
}

static void head_body(struct sync_leader *l, struct fetch_result *res)
{
	size_t len = 0;
	char *body = fetch_result_take_body(res, &len);
	struct dtask *t = body != NULL ? sync_dtask_new_head(l, res->url, body, len) : NULL;

	if (t == NULL) {
		free(body);
		leader_failed(l, -ENOMEM, res->url, "out of memory");
		return;
	}
	(void)snprintf(l->pending_etag, sizeof(l->pending_etag), "%s",
	               res->etag != NULL && strlen(res->etag) < sizeof(l->etag) ? res->etag : "");
	t->on_done = head_decoded;
	l->decoding = true;
	sync_dtask_submit(t);
}

static void head_fetched(struct fetch_result *res, void *arg)
{
	struct sync_leader *l = arg;
	bool unchanged;

	l->job = NULL;
	if (res->result < 0) {
		leader_failed(l, res->result, res->url, res->error);
		return;
	}
	unchanged = res->not_modified || (l->body != NULL && res->body_len == l->body_len &&
	                                  memcmp(res->body, l->body, l->body_len) == 0);
	if (!unchanged) {
		head_body(l, res);
		return;
	}
	leader_ok(l);
	if (l->once_wanted)
		hand_out(l); /* the once round decides on this head */
	leader_once_done(l);
	sync_leader_schedule(l, sync_jitter(l->interval_ms, sync_random(l->s)));
}

/* A head poll slower than two intervals is hopeless: the next one is due. */
static long head_timeout_ms(const struct sync_leader *l)
{
	int64_t t = 2 * l->interval_ms;

	t = t < 2000 ? 2000 : t > 30000 ? 30000 : t;
	return t < l->s->opt.request_timeout_ms ? (long)t : l->s->opt.request_timeout_ms;
}

static void leader_poll(struct sync_leader *l)
{
	struct sync *s = l->s;
	struct sync_req req;
	struct fetch_request fr;
	char msg[128];
	int r;

	if (s->stopping || l->job != NULL || l->decoding)
		return;
	r = sync_leader_request(l, PROTO_PATH_HEAD, l->etag[0] != '\0' ? l->etag : NULL, &req, &fr);
	if (r == 0) {
		fr.max_bytes = PROTO_MAX_HEAD_BYTES;
		fr.timeout_ms = head_timeout_ms(l);
		fr.priority = 10;
		fr.on_done = head_fetched;
		fr.arg = l;
		r = fetch_get(s->fetch, &fr, &l->job);
	}
	if (r < 0) {
		(void)snprintf(msg, sizeof(msg), "cannot request the head: %s",
		               r == -ENOMEM ? "out of memory" : "bad URL");
		leader_failed(l, r, l->root, msg);
	}
}

static void leader_timer(evutil_socket_t fd, short what, void *arg)
{
	leader_poll(arg);
}

void sync_leader_schedule(struct sync_leader *l, int64_t delay_ms)
{
	struct timeval tv = {.tv_sec = delay_ms / 1000, .tv_usec = (delay_ms % 1000) * 1000};

	if (l->s->stopping || l->job != NULL || l->decoding || l->doomed)
		return;
	(void)evtimer_add(l->timer, &tv);
}

void sync_leader_poll_now(struct sync_leader *l)
{
	l->fails = 0;
	sync_leader_schedule(l, 0);
}

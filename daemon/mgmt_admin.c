/*
 * mgmt_admin — run-time changes of the attach configurations: the Kusto
 * control commands' (through set_follower) and the admin surface's
 * (/v1/admin/attachments).
 *
 * A change is one overlay entry: prepared (the overlay composed with it:
 * the configuration's rules checked, a local database clash found), applied
 * at once through the daemon's reload path, persisted by the worker, and
 * answered once the store has it.  A change the store refuses is undone.
 */
#include "mgmt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>

#include "log.h"
#include "policy/policy.h"
#include "store/store.h"

/* ---- changes ---- */

void mgmt_change_free(struct mgmt_change *c)
{
	if (c == NULL)
		return;
	free(c->name);
	free(c->old_text);
	free(c->new_text);
	overlay_free(c->overlay);
	conf_free(c->eff);
	free(c);
}

int mgmt_change_prepare(struct mgmt *m, const char *name, const char *new_text,
                        struct mgmt_change **ret, char *err, size_t errlen)
{
	struct mgmt_change *c = calloc(1, sizeof(*c));
	int r = -ENOMEM;

	if (c == NULL || (c->name = strdup(name)) == NULL ||
	    (new_text != NULL && (c->new_text = strdup(new_text)) == NULL) ||
	    overlay_get(m->overlay, name, &c->old_text) < 0 ||
	    overlay_copy(m->overlay, &c->overlay) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	r = overlay_set(c->overlay, name, new_text, err, errlen);
	if (r == 0)
		r = overlay_compose(c->overlay, m->file, name, NULL, NULL, &c->eff, err, errlen);
out:
	if (r < 0) {
		mgmt_change_free(c);
		return r;
	}
	*ret = c;
	return 0;
}

/* Switches the daemon to c's configuration and overlay; 0 or the daemon's
 * error. */
static int install(struct mgmt *m, struct mgmt_change *c, char *err, size_t errlen)
{
	int r = m->ev.apply(m->ev.arg, c->eff, err, errlen);

	if (r < 0)
		return r;
	overlay_free(m->overlay);
	m->overlay = c->overlay;
	c->overlay = NULL;
	mgmt_set_conf(m, m->file, c->eff);
	c->eff = NULL;
	return 0;
}

static void reply_error(struct evhttp_request *req, bool kusto, int status, const char *message)
{
	struct kusto_error e = {.code = status == 503 || status >= 500 ? KUSTO_E_INTERNAL
	                                                               : KUSTO_E_BAD_REQUEST};
	json_t *j;

	if (kusto) {
		(void)snprintf(e.message, sizeof(e.message), "%s", message);
		mgmt_reply(req, kusto_error_status(e.code), kusto_error_body(&e));
		return;
	}
	j = json_pack("{s:{s:s, s:s}}", "error", "code",
	              status == 400   ? "BadRequest"
	              : status == 404 ? "NotFound"
	              : status == 409 ? "Conflict"
	              : status == 413 ? "PayloadTooLarge"
	              : status == 503 ? "Unavailable"
	                              : "InternalError",
	              "message", message);
	mgmt_reply(req, status, j != NULL ? json_dumps(j, JSON_COMPACT) : NULL);
	json_decref(j);
}

void mgmt_change_commit(struct mgmt *m, struct mgmt_change *c, struct evhttp_request *req,
                        bool kusto, int status, char *body)
{
	char err[MGMT_ERRLEN] = "";
	struct job *j = NULL;
	int r = install(m, c, err, sizeof(err));

	if (r < 0) {
		log_err("attachment %s: cannot apply the change: %s", c->name, err);
		free(body);
		mgmt_change_free(c);
		return reply_error(req, kusto, 500, err);
	}
	log_notice("attachment %s: changed at run time%s", c->name,
	           c->new_text == NULL ? " (back to the file's section)" : "");
	if ((j = calloc(1, sizeof(*j))) != NULL) {
		*j = (struct job){.kind = JOB_PERSIST, .req = req, .change = c, .kusto = kusto};
		j->persist = -ECANCELED;
		j->status = status;
		j->out = body;
		if (mgmt_submit(m, j) == 0)
			return;
		j->change = NULL;
		j->out = NULL;
		mgmt_job_free(j);
	}
	free(body);
	mgmt_change_free(c);
	reply_error(req, kusto, 503,
	            "the change applies but could not be saved: followerd is "
	            "stopping or out of memory");
}

void mgmt_persist_run(struct mgmt *m, struct job *j)
{
	const struct mgmt_change *c = j->change;
	struct timespec wait = {0, MGMT_PERSIST_WAIT_MS * 1000000L};
	int r = 0;

	if (m->rw == NULL && (r = store_open(m->store_path, &m->rw, j->err)) < 0) {
		m->rw = NULL;
		j->persist = r;
		return;
	}
	for (int i = 0; i < MGMT_PERSIST_TRIES; i++) {
		if (c->new_text != NULL)
			r = store_overlay_put(m->rw, c->name, c->new_text, j->err);
		else if ((r = store_overlay_delete(m->rw, c->name, j->err)) == -ENOENT)
			r = 0;
		if (r != -EBUSY)
			break;
		(void)nanosleep(&wait, NULL);
	}
	j->persist = r;
}

/* Puts the entry back as it was before j's change. */
static void undo(struct mgmt *m, struct job *j)
{
	struct mgmt_change *c = NULL;
	char err[MGMT_ERRLEN] = "";
	int r = mgmt_change_prepare(m, j->change->name, j->change->old_text, &c, err, sizeof(err));

	if (r == 0)
		r = install(m, c, err, sizeof(err));
	if (r < 0)
		log_err("attachment %s: cannot undo an unsaved change: %s", j->change->name, err);
	mgmt_change_free(c);
}

void mgmt_persist_done(struct mgmt *m, struct job *j)
{
	char msg[MGMT_ERRLEN + 128];

	if (j->persist == 0) {
		mgmt_reply(j->req, j->status, j->out);
		j->out = NULL;
		return;
	}
	(void)snprintf(msg, sizeof(msg), "the change could not be saved in the state store (%s)%s",
	               j->err[0] != '\0' ? j->err : strerror(-j->persist),
	               m->quit ? "" : "; it was undone");
	log_err("attachment %s: %s", j->change->name, msg);
	if (!m->quit)
		undo(m, j);
	reply_error(j->req, j->kusto, 503, msg);
}

/* ---- the follower's settings as an attach ---- */

/* The capacity conf's grown arrays imply for n items (see conf.c). */
static size_t capacity(size_t n)
{
	size_t cap = 4;

	while (cap < n)
		cap *= 2;
	return cap;
}

static int set_caching(struct conf_attach *a, const struct kusto_follower *f)
{
	struct proto_caching cur = {0};
	bool has = false, same;
	struct conf_window *v = NULL;

	if (policy_override_db(a, &cur, &has) < 0)
		return -ENOMEM;
	same =
	    has == f->has_caching &&
	    (!has || (cur.hot_span == f->caching.hot_span && cur.nwindows == f->caching.nwindows &&
	              (cur.nwindows == 0 || memcmp(cur.windows, f->caching.windows,
	                                           cur.nwindows * sizeof(*cur.windows)) == 0)));
	proto_caching_clear(&cur);
	if (same)
		return 0; /* keep the file's spelling (a window without hot_cache) */
	if (f->has_caching && (v = calloc(capacity(f->caching.nwindows), sizeof(*v))) == NULL)
		return -ENOMEM;
	for (size_t i = 0; f->has_caching && i < f->caching.nwindows; i++)
		v[i] = (struct conf_window){f->caching.windows[i].min, f->caching.windows[i].max};
	free(a->hot_windows.v);
	a->hot_windows.v = v;
	a->hot_windows.n = f->has_caching ? f->caching.nwindows : 0;
	a->hot_cache = f->has_caching ? f->caching.hot_span : CONF_UNSET;
	return 0;
}

static int set_tables(struct conf_attach *a, const struct kusto_follower *f)
{
	struct conf_table_hot *v = calloc(capacity(f->ntables), sizeof(*v));
	size_t n = 0;

	for (; v != NULL && n < f->ntables; n++) {
		v[n].hot = f->tables[n].hot;
		if ((v[n].table = strdup(f->tables[n].table)) == NULL)
			break;
	}
	if (v == NULL || n < f->ntables) {
		for (size_t i = 0; v != NULL && i < n; i++)
			free(v[i].table);
		free(v);
		return -ENOMEM;
	}
	for (size_t i = 0; i < a->table_hot_cache.n; i++)
		free(a->table_hot_cache.v[i].table);
	free(a->table_hot_cache.v);
	a->table_hot_cache.v = v;
	a->table_hot_cache.n = n;
	return 0;
}

static int set_role(struct conf_list *l, const struct kusto_follower *f, enum proto_role role)
{
	char **v = calloc(capacity(f->nprincipals), sizeof(*v));
	size_t n = 0;
	int r = v != NULL ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < f->nprincipals; i++)
		if (f->principals[i].role == role &&
		    (v[n++] = strdup(f->principals[i].fqn)) == NULL)
			r = -ENOMEM;
	if (r < 0) {
		for (size_t i = 0; v != NULL && i < n; i++)
			free(v[i]);
		free(v);
		return r;
	}
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = v;
	l->n = n;
	return 0;
}

int mgmt_attach_with(const struct conf_attach *a, const struct kusto_follower *f,
                     struct conf_attach **ret)
{
	struct conf_list *roles[PROTO_NROLES];
	struct conf_attach *n = NULL;
	int r = conf_attach_copy(a, &n);

	if (r < 0)
		return r;
	roles[PROTO_ROLE_ADMINS] = &n->admins;
	roles[PROTO_ROLE_USERS] = &n->users;
	roles[PROTO_ROLE_VIEWERS] = &n->viewers;
	roles[PROTO_ROLE_MONITORS] = &n->monitors;
	r = set_caching(n, f);
	if (r == 0)
		r = set_tables(n, f);
	for (size_t k = 0; r == 0 && k < PROTO_NROLES; k++)
		r = set_role(roles[k], f, (enum proto_role)k);
	if (r < 0) {
		conf_attach_free(n);
		return r;
	}
	n->principals_modification_kind = f->principals_kind;
	n->caching_policies_modification_kind = f->caching_kind;
	n->prefetch = f->prefetch;
	*ret = n;
	return 0;
}

/* ---- /v1/admin/attachments ---- */

/* The attach JSON with its "source" (a new reference, NULL: no memory). */
static json_t *attach_json_of(const struct conf_attach *a, const char *source)
{
	json_t *j = conf_attach_to_json(a);

	if (j != NULL && json_object_set_new(j, "source", json_string(source)) < 0) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static json_t *attach_json(struct mgmt *m, const struct conf_attach *a)
{
	return attach_json_of(a, overlay_source(m->overlay, a->name));
}

static void reply_json(struct evhttp_request *req, int status, json_t *j)
{
	char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	if (text == NULL)
		return reply_error(req, false, 500, "out of memory");
	mgmt_reply(req, status, text);
}

static void list_attachments(struct mgmt *m, struct evhttp_request *req)
{
	const struct conf *c = mgmt_conf(m);
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < c->nattach; i++)
		if (json_array_append_new(a, attach_json(m, c->attach[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	reply_json(req, 200, a != NULL ? json_pack("{s:o}", "attachments", a) : NULL);
}

static int change_status(int r)
{
	return r == -EEXIST ? 409 : r == -EINVAL || r == -E2BIG ? 400 : 500;
}

/* The PUT body as an attach named name (*ret); 0 or an HTTP status with
 * err filled. */
static int put_body(const struct http_admin_call *call, struct conf_attach **ret, char *err,
                    size_t errlen)
{
	json_error_t je;
	json_t *v, *name;
	int r;

	if (call->len > MGMT_MAX_ATTACH_BODY) {
		(void)snprintf(err, errlen, "body larger than %zu bytes", MGMT_MAX_ATTACH_BODY);
		return 413;
	}
	v = json_loadb(call->body, call->len, JSON_REJECT_DUPLICATES, &je);
	if (v == NULL || !json_is_object(v)) {
		(void)snprintf(err, errlen, "expected a JSON object: %s",
		               v == NULL ? je.text : "not an object");
		json_decref(v);
		return 400;
	}
	name = json_object_get(v, "name");
	if (name != NULL &&
	    !(json_is_string(name) && strcmp(json_string_value(name), call->name) == 0)) {
		(void)snprintf(err, errlen, "name: must be the path's name '%s'", call->name);
		json_decref(v);
		return 400;
	}
	r = name == NULL ? json_object_set_new(v, "name", json_string(call->name)) : 0;
	if (r == 0)
		r = conf_attach_from_json(v, 0, ret, err, errlen);
	json_decref(v);
	return r == 0 ? 0 : change_status(r);
}

static void put_attachment(struct mgmt *m, struct evhttp_request *req,
                           const struct http_admin_call *call)
{
	struct conf_attach *a = NULL;
	struct mgmt_change *c = NULL;
	char err[MGMT_ERRLEN] = "", *text = NULL;
	json_t *j;
	int status = put_body(call, &a, err, sizeof(err)), r;

	if (status != 0)
		return reply_error(req, false, status, err);
	r = overlay_entry_attach(a, &text);
	conf_attach_free(a);
	if (r == 0)
		r = mgmt_change_prepare(m, call->name, text, &c, err, sizeof(err));
	free(text);
	if (r < 0)
		return reply_error(req, false, change_status(r), err[0] ? err : strerror(-r));
	j = json_pack("{s:o}", "attachment",
	              attach_json_of(conf_attach_find(c->eff, call->name), "admin"));
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL) {
		mgmt_change_free(c);
		return reply_error(req, false, 500, "out of memory");
	}
	mgmt_change_commit(m, c, req, false, 200, text);
}

static void delete_attachment(struct mgmt *m, struct evhttp_request *req, const char *name)
{
	struct mgmt_change *c = NULL;
	char err[MGMT_ERRLEN] = "", *text = NULL, *body;
	int r;

	if (conf_attach_find(mgmt_conf(m), name) == NULL) {
		(void)snprintf(err, sizeof(err), "no attachment named '%s'", name);
		return reply_error(req, false, 404, err);
	}
	r = overlay_entry_detach(m->file, name, &text);
	if (r == 0)
		r = mgmt_change_prepare(m, name, text, &c, err, sizeof(err));
	free(text);
	if (r < 0)
		return reply_error(req, false, change_status(r), err[0] ? err : strerror(-r));
	json_t *j = json_pack("{s:s}", "detached", name);
	body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (body == NULL) {
		mgmt_change_free(c);
		return reply_error(req, false, 500, "out of memory");
	}
	mgmt_change_commit(m, c, req, false, 200, body);
}

void mgmt_on_attachments(void *arg, struct evhttp_request *req, const struct http_admin_call *call)
{
	struct mgmt *m = arg;

	if (call->name == NULL)
		list_attachments(m, req);
	else if (call->method == EVHTTP_REQ_PUT)
		put_attachment(m, req, call);
	else
		delete_attachment(m, req, call->name);
}

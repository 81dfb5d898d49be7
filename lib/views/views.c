/*
 * views — snapshots, databases, schema, policies, principals and history
 * (see views.h).
 */
#include "views/views_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/timefmt.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

int views_errf(char *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return r;
	va_start(ap, fmt);
	(void)vsnprintf(err, VIEWS_ERRLEN, fmt, ap);
	va_end(ap);
	return r;
}

int views_set(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL)
		return -ENOMEM;
	return json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

/* ---- snapshots ---- */

static int no_rows(void *arg, int ncols, const char *const *values)
{
	return 0;
}

int views_begin(const struct views_ctx *v, char *err)
{
	/* A deferred transaction: the snapshot starts at the first read and
	 * the store's own reads join it (they only begin when none is open). */
	return store_query(v->store, "BEGIN", no_rows, NULL, err);
}

void views_end(const struct views_ctx *v)
{
	(void)store_query(v->store, "COMMIT", no_rows, NULL, NULL);
}

static int version_row(void *arg, int ncols, const char *const *values)
{
	int64_t *v = arg;

	*v = ncols > 0 && values[0] != NULL ? strtoll(values[0], NULL, 10) : -1;
	return 0;
}

int views_data_version(const struct views_ctx *v, int64_t *ret, char *err)
{
	int64_t version = -1;
	int r = store_query(v->store, "PRAGMA data_version", version_row, &version, err);

	if (r == 0 && version < 0)
		r = views_errf(err, -EIO, "PRAGMA data_version: no answer");
	if (r == 0)
		*ret = version;
	return r;
}

/* ---- JSON pieces ---- */

json_t *views_datetime(int64_t ticks)
{
	char buf[TIMEFMT_DATETIME_LEN];

	if (ticks == 0)
		return json_null();
	return json_string(timefmt_format_datetime(ticks, buf));
}

static json_t *timespan(int64_t ticks)
{
	char buf[TIMEFMT_TIMESPAN_LEN];

	return json_string(timefmt_format_timespan(ticks, buf));
}

static json_t *window_json(int64_t min, int64_t max)
{
	return json_pack("{s:o, s:o}", "min", views_datetime(min), "max", views_datetime(max));
}

json_t *views_caching_json(const struct proto_caching *c)
{
	json_t *o, *w;

	if (c == NULL)
		return json_null();
	w = json_array();
	for (size_t i = 0; w != NULL && i < c->nwindows; i++)
		if (json_array_append_new(w, window_json(c->windows[i].min, c->windows[i].max)) <
		    0) {
			json_decref(w);
			w = NULL;
		}
	o = json_pack("{s:o, s:o}", "hot_span", timespan(c->hot_span), "hot_windows", w);
	return o;
}

json_t *views_retention_json(const struct proto_retention *r)
{
	if (r == NULL)
		return json_null();
	return json_pack("{s:o, s:b}", "soft_delete", timespan(r->soft_delete), "recoverability",
	                 r->recoverability);
}

/* The effective policy p as JSON: where each part came from. */
static json_t *policy_json(const struct policy *p)
{
	json_t *w = json_array();

	for (size_t i = 0; w != NULL && i < p->nwindows; i++) {
		json_t *o = window_json(p->windows[i].min, p->windows[i].max);

		if (o == NULL ||
		    json_object_set_new(o, "from",
		                        json_string(policy_source_name(p->windows[i].from))) < 0 ||
		    json_array_append_new(w, o) < 0) {
			json_decref(w);
			return NULL;
		}
	}
	return json_pack("{s:s, s:b, s:o, s:s, s:o, s:s, s:s}", "kind", policy_kind_name(p->kind),
	                 "all_hot", p->all_hot, "hot_span", timespan(p->hot_span), "span_from",
	                 policy_source_name(p->span_from), "hot_windows", w, "leader",
	                 policy_source_name(p->leader), "follower",
	                 policy_source_name(p->follower));
}

/* ---- databases ---- */

void views_db_clear(struct views_db *d)
{
	if (d == NULL)
		return;
	store_db_info_clear(&d->info);
	auth_principals_clear(&d->leader);
	auth_principals_clear(&d->follower);
	auth_principals_clear(&d->effective);
	memset(d, 0, sizeof(*d));
}

void views_db_array_free(struct views_db *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		views_db_clear(&v[i]);
	free(v);
}

const struct conf_attach *views_attach_of(const struct conf *c, const char *config)
{
	size_t n = strcspn(config, "/");

	for (size_t i = 0; c != NULL && i < c->nattach; i++)
		if (strlen(c->attach[i]->name) == n && strncmp(c->attach[i]->name, config, n) == 0)
			return c->attach[i];
	return NULL;
}

/* Reads the leader's principals of d and combines them with the attach's. */
static int db_principals(const struct views_ctx *v, struct views_db *d, char *err)
{
	enum conf_modkind kind =
	    d->attach != NULL ? d->attach->principals_modification_kind : CONF_MOD_NONE;
	int r = 0;

	for (size_t k = 0; r == 0 && k < PROTO_NROLES; k++)
		r = store_principals(v->store, d->info.config, (enum proto_role)k, &d->leader.v[k],
		                     &d->leader.n[k], err);
	if (r == 0 && (r = auth_follower_principals(d->attach, &d->follower)) < 0)
		return views_errf(err, r, "out of memory");
	if (r == 0 && (r = auth_effective(&d->leader, &d->follower, kind, &d->effective)) < 0)
		return views_errf(err, r, "database '%s': cannot combine principals",
		                  d->info.local_name);
	return r;
}

/* Takes info over into d (resolving its attach and principals). */
static int db_fill(const struct views_ctx *v, struct store_db_info *info, struct views_db *d,
                   char *err)
{
	memset(d, 0, sizeof(*d));
	d->info = *info;
	memset(info, 0, sizeof(*info));
	d->attach = views_attach_of(v->conf, d->info.config);
	return db_principals(v, d, err);
}

int views_db_list(const struct views_ctx *v, struct views_db **ret, size_t *ret_n, char *err)
{
	struct store_db_info *infos = NULL;
	struct views_db *dbs = NULL;
	size_t n = 0, i = 0;
	int r = store_db_list(v->store, &infos, &n, err);

	if (r < 0)
		return r;
	dbs = calloc(n + 1, sizeof(*dbs));
	if (dbs == NULL)
		r = views_errf(err, -ENOMEM, "out of memory");
	for (; r == 0 && i < n; i++)
		r = db_fill(v, &infos[i], &dbs[i], err);
	store_db_info_array_free(infos, n);
	if (r < 0) {
		views_db_array_free(dbs, i);
		return r;
	}
	*ret = dbs;
	*ret_n = n;
	return 0;
}

int views_db_find(const struct views_ctx *v, const char *name, struct views_db *ret, char *err)
{
	struct store_db_info *infos = NULL;
	struct views_db d = {0};
	size_t n = 0, i;
	int r = store_db_list(v->store, &infos, &n, err);

	if (r < 0)
		return r;
	for (i = 0; i < n; i++)
		if (strcmp(infos[i].local_name, name) == 0)
			break;
	if (i == n)
		r = views_errf(err, -ENOENT, "database '%s' is not followed here", name);
	else
		r = db_fill(v, &infos[i], &d, err);
	store_db_info_array_free(infos, n);
	if (r < 0) {
		views_db_clear(&d);
		return r;
	}
	*ret = d;
	return 0;
}

static json_t *lag_json(const struct store_db_info *i)
{
	uint64_t versions =
	    i->leader_version > i->applied_version ? i->leader_version - i->applied_version : 0;
	int64_t ticks = versions > 0 && i->leader_committed > i->applied_committed
	                    ? i->leader_committed - i->applied_committed
	                    : 0;

	return json_pack("{s:I, s:f}", "versions", (json_int_t)versions, "seconds",
	                 (double)ticks / (double)TIMEFMT_TICKS_PER_SEC);
}

int views_database(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err)
{
	const struct store_db_info *i = &d->info;
	json_t *o = json_pack(
	    "{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:o, s:I, s:o, s:o, s:s, s:o, s:o, s:o, s:I, s:I, "
	    "s:I, s:b}",
	    "name", i->local_name, "config", i->config, "leader", i->root, "leader_database",
	    i->leader_db, "uuid", i->uuid[0] != '\0' ? json_string(i->uuid) : json_null(),
	    "applied_version", (json_int_t)i->applied_version, "visible_version",
	    (json_int_t)i->visible_version, "applied_committed",
	    views_datetime(i->applied_committed), "leader_version", (json_int_t)i->leader_version,
	    "leader_committed", views_datetime(i->leader_committed), "lag", lag_json(i), "state",
	    i->state, "last_error",
	    i->last_error != NULL ? json_string(i->last_error) : json_null(), "last_poll",
	    views_datetime(i->last_poll), "last_apply", views_datetime(i->last_apply), "extents",
	    (json_int_t)i->extents, "rows", (json_int_t)i->rows, "bytes", (json_int_t)i->bytes,
	    "configured", d->attach != NULL);

	if (o == NULL)
		return views_errf(err, -ENOMEM, "out of memory");
	*ret = o;
	return 0;
}

/* ---- schema ---- */

static json_t *columns_json(const struct proto_entity *e)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < e->ncolumns; i++)
		if (json_array_append_new(
		        a, json_pack("{s:s, s:s}", "name", e->columns[i].name, "type",
		                     proto_coltype_name(e->columns[i].type))) < 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* Adds the members only some kinds have. */
static int entity_extras(json_t *o, const struct proto_entity *e)
{
	int r = 0;

	if (e->location != NULL)
		r = views_set(o, "location", json_string(e->location));
	if (r == 0 && e->source != NULL)
		r = views_set(o, "source", json_string(e->source));
	if (r == 0 && e->query != NULL)
		r = views_set(o, "query", json_string(e->query));
	return r;
}

static json_t *entity_json(const struct store_entity *x)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:o, s:o}", "name",
	                      x->e.name, "kind", proto_kind_name(x->e.kind), "folder", x->e.folder,
	                      "docstring", x->e.docstring, "columns", columns_json(&x->e),
	                      "extents", (json_int_t)x->extents, "rows", (json_int_t)x->rows,
	                      "bytes", (json_int_t)x->bytes, "caching",
	                      views_caching_json(x->has_caching ? &x->caching : NULL), "retention",
	                      views_retention_json(x->has_retention ? &x->retention : NULL));

	if (o != NULL && entity_extras(o, &x->e) < 0) {
		json_decref(o);
		o = NULL;
	}
	return o;
}

/* Appends the entities of kind (all kinds when all) named name (any when
 * NULL) to a; *ret_found counts them. */
static int entities_append(const struct store_entity *v, size_t n, enum proto_kind kind,
                           const char *name, json_t *a, size_t *ret_found)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].e.kind != kind || (name != NULL && strcmp(v[i].e.name, name) != 0))
			continue;
		if (json_array_append_new(a, entity_json(&v[i])) < 0)
			return -ENOMEM;
		(*ret_found)++;
	}
	return 0;
}

static int entities_select(const struct views_ctx *v, const struct views_db *d,
                           enum proto_kind kind, const char *name, json_t **ret, char *err)
{
	struct store_entity *ents = NULL;
	size_t n = 0, found = 0;
	json_t *a = NULL;
	int r = store_entities(v->store, d->info.config, &ents, &n, err);

	if (r == 0 &&
	    ((a = json_array()) == NULL || entities_append(ents, n, kind, name, a, &found) < 0))
		r = views_errf(err, -ENOMEM, "out of memory");
	if (r == 0 && name != NULL && found == 0)
		r = views_errf(err, -ENOENT, "database '%s' has no %s '%s'", d->info.local_name,
		               proto_kind_name(kind), name);
	store_entities_free(ents, n);
	if (r < 0) {
		json_decref(a);
		return r;
	}
	*ret = a;
	return 0;
}

int views_entities(const struct views_ctx *v, const struct views_db *d, enum proto_kind kind,
                   json_t **ret, char *err)
{
	return entities_select(v, d, kind, NULL, ret, err);
}

int views_entity(const struct views_ctx *v, const struct views_db *d, enum proto_kind kind,
                 const char *name, json_t **ret, char *err)
{
	json_t *a = NULL;
	int r = entities_select(v, d, kind, name, &a, err);

	if (r < 0)
		return r;
	*ret = json_incref(json_array_get(a, 0));
	json_decref(a);
	return 0;
}

/* ---- policies ---- */

int views_policy_of(const struct views_db *d, const struct store_entity *e, bool has_db,
                    const struct proto_caching *db, struct policy **ret)
{
	struct proto_caching fdb = {0}, ftable = {0};
	bool has_fdb = false, has_ftable = false;
	enum conf_modkind kind =
	    d->attach != NULL ? d->attach->caching_policies_modification_kind : CONF_MOD_NONE;
	int r = 0;

	if (d->attach != NULL)
		r = policy_override_db(d->attach, &fdb, &has_fdb);
	if (r == 0 && d->attach != NULL && e != NULL)
		has_ftable = policy_override_table(d->attach, e->e.name, &ftable);
	if (r == 0)
		r = policy_effective(has_db ? db : NULL,
		                     e != NULL && e->has_caching ? &e->caching : NULL,
		                     has_fdb ? &fdb : NULL, has_ftable ? &ftable : NULL, kind, ret);
	proto_caching_clear(&fdb);
	return r;
}

/* {"leader": {caching, retention}, "follower": {caching}, "effective"} of
 * entity e (NULL: the database's, from db / ret). */
static json_t *policy_set_json(const struct views_db *d, const struct store_entity *e, bool has_db,
                               const struct proto_caching *db, bool has_ret,
                               const struct proto_retention *ret)
{
	struct proto_caching f = {0};
	bool has_f = false;
	struct policy *p = NULL;
	json_t *o = NULL;

	if (d->attach != NULL && e == NULL && policy_override_db(d->attach, &f, &has_f) < 0)
		return NULL;
	if (d->attach != NULL && e != NULL)
		has_f = policy_override_table(d->attach, e->e.name, &f);
	if (views_policy_of(d, e, has_db, db, &p) == 0)
		o = json_pack("{s:{s:o, s:o}, s:{s:o}, s:o}", "leader", "caching",
		              views_caching_json(e != NULL ? (e->has_caching ? &e->caching : NULL)
		                                 : has_db  ? db
		                                           : NULL),
		              "retention",
		              views_retention_json(e != NULL
		                                       ? (e->has_retention ? &e->retention : NULL)
		                                   : has_ret ? ret
		                                             : NULL),
		              "follower", "caching", views_caching_json(has_f ? &f : NULL),
		              "effective", policy_json(p));
	policy_free(p);
	if (e == NULL)
		proto_caching_clear(&f);
	return o;
}

static int policies_build(const struct views_db *d, const struct store_entity *ents, size_t n,
                          bool has_c, const struct proto_caching *c, bool has_t,
                          const struct proto_retention *t, json_t **ret)
{
	enum conf_modkind kind =
	    d->attach != NULL ? d->attach->caching_policies_modification_kind : CONF_MOD_NONE;
	json_t *a = json_array();
	json_t *o = json_pack(
	    "{s:s, s:o, s:o}", "caching_policies_modification_kind", policy_kind_name(kind),
	    "database", policy_set_json(d, NULL, has_c, c, has_t, t), "entities", json_incref(a));

	for (size_t i = 0; o != NULL && i < n; i++) {
		json_t *x = policy_set_json(d, &ents[i], has_c, c, false, NULL);

		if (x == NULL || json_object_set_new(x, "name", json_string(ents[i].e.name)) < 0 ||
		    json_object_set_new(x, "kind", json_string(proto_kind_name(ents[i].e.kind))) <
		        0 ||
		    json_array_append_new(a, x) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	json_decref(a);
	if (o == NULL)
		return -ENOMEM;
	*ret = o;
	return 0;
}

int views_policies(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err)
{
	struct store_entity *ents = NULL;
	struct proto_caching c = {0};
	struct proto_retention t = {0};
	bool has_c = false, has_t = false;
	size_t n = 0;
	int r = store_db_policies(v->store, d->info.config, &has_c, &c, &has_t, &t, err);

	if (r == 0)
		r = store_entities(v->store, d->info.config, &ents, &n, err);
	if (r == 0 && policies_build(d, ents, n, has_c, &c, has_t, &t, ret) < 0)
		r = views_errf(err, -ENOMEM, "database '%s': cannot build the policies",
		               d->info.local_name);
	store_entities_free(ents, n);
	proto_caching_clear(&c);
	return r;
}

/* ---- principals ---- */

static json_t *principals_json(const struct auth_principals *p)
{
	json_t *o = json_object();

	for (size_t k = 0; o != NULL && k < PROTO_NROLES; k++) {
		json_t *a = json_array();

		for (size_t i = 0; a != NULL && i < p->n[k]; i++)
			if (json_array_append_new(a, json_pack("{s:s, s:s}", "fqn", p->v[k][i].fqn,
			                                       "name", p->v[k][i].name)) < 0) {
				json_decref(a);
				a = NULL;
			}
		if (views_set(o, proto_role_name((enum proto_role)k), a) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	return o;
}

int views_principals(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err)
{
	enum conf_modkind kind =
	    d->attach != NULL ? d->attach->principals_modification_kind : CONF_MOD_NONE;
	json_t *o =
	    json_pack("{s:s, s:o, s:o, s:o}", "principals_modification_kind",
	              policy_kind_name(kind), "leader", principals_json(&d->leader), "follower",
	              principals_json(&d->follower), "effective", principals_json(&d->effective));

	if (o == NULL)
		return views_errf(err, -ENOMEM, "out of memory");
	*ret = o;
	return 0;
}

/* ---- history ---- */

static json_t *history_json(const struct store_history *h)
{
	json_t *changes = json_loads(h->changes, JSON_REJECT_DUPLICATES, NULL);

	return json_pack(
	    "{s:s, s:I, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "uuid", h->uuid,
	    "version", (json_int_t)h->version, "committed", views_datetime(h->committed), "applied",
	    views_datetime(h->applied), "source", h->checkpoint ? "checkpoint" : "commit",
	    "extents_added", (json_int_t)h->extents_added, "extents_removed",
	    (json_int_t)h->extents_removed, "rows_added", (json_int_t)h->rows_added, "rows_removed",
	    (json_int_t)h->rows_removed, "bytes_added", (json_int_t)h->bytes_added, "bytes_removed",
	    (json_int_t)h->bytes_removed, "changes", changes != NULL ? changes : json_null());
}

int views_history(const struct views_ctx *v, const struct views_db *d, size_t limit, json_t **ret,
                  char *err)
{
	struct store_history *h = NULL;
	size_t n = 0;
	json_t *a;
	int r;

	if (limit > STORE_HISTORY_MAX)
		return views_errf(err, -EINVAL, "limit %zu: at most %d", limit, STORE_HISTORY_MAX);
	r = store_history(v->store, d->info.config, limit > 0 ? limit : VIEWS_HISTORY_DEFAULT, &h,
	                  &n, err);
	if (r < 0)
		return r;
	a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, history_json(&h[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	store_history_free(h, n);
	if (a == NULL || (*ret = json_pack("{s:o}", "history", a)) == NULL)
		return views_errf(err, -ENOMEM, "out of memory");
	return 0;
}

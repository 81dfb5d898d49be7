/*
 * mgmt_backend — lib/kusto's struct kusto_backend over the store (a
 * read-only handle), the effective configuration and lib/policy, for one
 * caller: databases the caller may not see do not exist for it.
 *
 * The leader's data comes from the store, the follower's settings from the
 * database's attach (or, within a control command, from the change that
 * set_follower prepared).  set_follower does not apply anything: it
 * composes the change for mgmt_on_mgmt to apply, persist and answer.
 */
#include "mgmt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy/policy.h"

#define EXTENT_PAGE 1000

/* ---- finding databases ---- */

bool mgmt_be_may(const struct mgmt_be *b, const struct views_db *d, enum auth_request req)
{
	unsigned roles =
	    b->who->superuser ? AUTH_ROLES_ALL : auth_roles(&d->effective, b->who->fqn);

	return auth_allowed(b->who, roles, req, b->allow_anonymous);
}

static int not_found(const char *name, char *err)
{
	(void)snprintf(err, KUSTO_ERRLEN, "database '%s' is not followed here", name);
	return -ENOENT;
}

int mgmt_be_find(struct mgmt_be *b, const char *name, const struct views_db **ret, char *err)
{
	int r;

	if (b->have_one && strcmp(b->one.info.local_name, name) == 0) {
		if (!mgmt_be_may(b, &b->one, AUTH_REQ_METADATA))
			return not_found(name, err);
		*ret = &b->one;
		return 0;
	}
	if (b->have_one)
		views_db_clear(&b->one);
	b->have_one = false;
	if (b->v.store == NULL)
		return not_found(name, err);
	r = views_db_find(&b->v, name, &b->one, err);
	if (r < 0)
		return r;
	b->have_one = true;
	if (!mgmt_be_may(b, &b->one, AUTH_REQ_METADATA))
		return not_found(name, err);
	*ret = &b->one;
	return 0;
}

static int by_local_name(const void *x, const void *y)
{
	const struct views_db *a = x, *b = y;

	return strcmp(a->info.local_name, b->info.local_name);
}

static int emit_db(const struct views_db *d, kusto_db_fn *emit, void *ctx)
{
	struct kusto_db k = {.name = d->info.local_name,
	                     .root = d->info.root,
	                     .uuid = d->info.uuid,
	                     .version = d->info.visible_version};

	return emit(ctx, &k);
}

static int be_databases(void *arg, const char *name, kusto_db_fn *emit, void *ctx, char *err)
{
	struct mgmt_be *b = arg;
	const struct views_db *d = NULL;
	int r = 0;

	if (name != NULL)
		return (r = mgmt_be_find(b, name, &d, err)) < 0 ? r : emit_db(d, emit, ctx);
	if (!b->listed && b->v.store != NULL) {
		if ((r = views_db_list(&b->v, &b->dbs, &b->ndbs, err)) < 0)
			return r;
		qsort(b->dbs, b->ndbs, sizeof(*b->dbs), by_local_name);
	}
	b->listed = true;
	for (size_t i = 0; r == 0 && i < b->ndbs; i++)
		if (mgmt_be_may(b, &b->dbs[i], AUTH_REQ_METADATA))
			r = emit_db(&b->dbs[i], emit, ctx);
	return r;
}

/* ---- the leader's data ---- */

static int be_entities(void *arg, const char *db, kusto_entity_fn *emit, void *ctx, char *err)
{
	struct mgmt_be *b = arg;
	const struct views_db *d = NULL;
	struct store_entity *v = NULL;
	size_t n = 0;
	int r = mgmt_be_find(b, db, &d, err);

	if (r == 0)
		r = store_entities(b->v.store, d->info.config, &v, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct kusto_entity k = {.e = &v[i].e,
		                         .caching = v[i].has_caching ? &v[i].caching : NULL};

		r = emit(ctx, &k);
	}
	store_entities_free(v, n);
	return r;
}

struct extent_walk {
	kusto_extent_fn *emit;
	void *ctx;
	int64_t last;
	size_t seen;
};

static int extent_one(void *arg, int64_t id, const struct proto_extent *x)
{
	struct extent_walk *w = arg;

	w->last = id;
	w->seen++;
	return w->emit(w->ctx, x);
}

/* Every extent of one table, a page at a time. */
static int table_extents(struct mgmt_be *b, const char *config, const char *table,
                         kusto_extent_fn *emit, void *ctx, char *err)
{
	struct extent_walk w = {.emit = emit, .ctx = ctx};
	struct store_extent_query q = {.config = config,
	                               .table = table,
	                               .from = INT64_MIN,
	                               .to = INT64_MAX,
	                               .limit = EXTENT_PAGE};
	int r = 0;

	do {
		w.seen = 0;
		q.after = w.last;
		r = store_extents(b->v.store, &q, extent_one, &w, err);
	} while (r == 0 && w.seen == EXTENT_PAGE);
	return r;
}

static int be_extents(void *arg, const char *db, const char *table, kusto_extent_fn *emit,
                      void *ctx, char *err)
{
	struct mgmt_be *b = arg;
	const struct views_db *d = NULL;
	struct store_entity *v = NULL;
	size_t n = 0;
	int r = mgmt_be_find(b, db, &d, err);

	if (r == 0 && table != NULL)
		return table_extents(b, d->info.config, table, emit, ctx, err);
	if (r == 0)
		r = store_entities(b->v.store, d->info.config, &v, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		if (v[i].e.kind != PROTO_EXTERNAL_TABLE && v[i].extents > 0)
			r = table_extents(b, d->info.config, v[i].e.name, emit, ctx, err);
	store_entities_free(v, n);
	return r;
}

static int be_caching(void *arg, const char *db, kusto_caching_fn *emit, void *ctx, char *err)
{
	struct mgmt_be *b = arg;
	const struct views_db *d = NULL;
	struct proto_caching c = {0};
	struct proto_retention ret = {0};
	bool has = false, has_ret = false;
	int r = mgmt_be_find(b, db, &d, err);

	if (r == 0)
		r = store_db_policies(b->v.store, d->info.config, &has, &c, &has_ret, &ret, err);
	if (r == 0)
		r = emit(ctx, has ? &c : NULL);
	proto_caching_clear(&c);
	return r;
}

static int be_principals(void *arg, const char *db, kusto_principal_fn *emit, void *ctx, char *err)
{
	struct mgmt_be *b = arg;
	const struct views_db *d = NULL;
	int r = mgmt_be_find(b, db, &d, err);

	for (size_t k = 0; r == 0 && k < PROTO_NROLES; k++)
		for (size_t i = 0; r == 0 && i < d->leader.n[k]; i++) {
			const struct proto_principal *p = &d->leader.v[k][i];
			struct kusto_principal kp = {.role = (enum proto_role)k,
			                             .fqn = p->fqn,
			                             .name = p->name != NULL ? p->name : "",
			                             .notes = ""};

			r = emit(ctx, &kp);
		}
	return r;
}

/* ---- the follower's settings ---- */

static const struct conf_list *role_list(const struct conf_attach *a, size_t k)
{
	const struct conf_list *lists[PROTO_NROLES] = {&a->admins, &a->users, &a->viewers,
	                                               &a->monitors};

	return lists[k];
}

static int emit_follower(const struct views_db *d, const struct conf_attach *a,
                         kusto_follower_fn *emit, void *ctx)
{
	struct kusto_principal *v = NULL;
	struct kusto_follower f = {.database = d->info.local_name,
	                           .root = d->info.root,
	                           .tables = a->table_hot_cache.v,
	                           .ntables = a->table_hot_cache.n,
	                           .principals_kind = a->principals_modification_kind,
	                           .caching_kind = a->caching_policies_modification_kind,
	                           .prefetch = a->prefetch};
	size_t n = 0;
	int r;

	for (size_t k = 0; k < PROTO_NROLES; k++)
		n += role_list(a, k)->n;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return -ENOMEM;
	n = 0;
	for (size_t k = 0; k < PROTO_NROLES; k++)
		for (size_t i = 0; i < role_list(a, k)->n; i++)
			v[n++] = (struct kusto_principal){.role = (enum proto_role)k,
			                                  .fqn = role_list(a, k)->items[i],
			                                  .name = "",
			                                  .notes = ""};
	f.principals = v;
	f.nprincipals = n;
	r = policy_override_db(a, &f.caching, &f.has_caching);
	if (r == 0)
		r = emit(ctx, &f);
	proto_caching_clear(&f.caching);
	free(v);
	return r;
}

static int be_follower(void *arg, const char *db, kusto_follower_fn *emit, void *ctx, char *err)
{
	struct mgmt_be *b = arg;
	const struct views_db *d = NULL;
	const struct conf_attach *a;
	int r = mgmt_be_find(b, db, &d, err);

	if (r < 0)
		return r;
	a = d->attach;
	if (b->changed != NULL && a != NULL && strcmp(a->name, b->changed->name) == 0)
		a = b->changed;
	if (a == NULL) {
		(void)snprintf(err, KUSTO_ERRLEN, "database '%s': no attach configures it", db);
		return -ENOENT;
	}
	return emit_follower(d, a, emit, ctx);
}

static int be_set_follower(void *arg, const char *db, const struct kusto_follower *f, char *err)
{
	struct mgmt_be *b = arg;
	const struct views_db *d = NULL;
	struct conf_attach *next = NULL;
	char *text = NULL;
	int r;

	if (b->m == NULL || b->change != NULL) {
		(void)snprintf(err, KUSTO_ERRLEN, "control commands cannot run here");
		return -EPERM;
	}
	if ((r = mgmt_be_find(b, db, &d, err)) < 0)
		return r;
	if (d->attach == NULL) {
		(void)snprintf(err, KUSTO_ERRLEN, "database '%s': no attach configures it", db);
		return -ENOENT;
	}
	r = mgmt_attach_with(d->attach, f, &next);
	if (r == 0)
		r = overlay_entry_settings(b->m->overlay, b->m->file, d->attach, next, &text);
	if (r == 0)
		r = mgmt_change_prepare(b->m, next->name, text, &b->change, err, KUSTO_ERRLEN);
	if (r == 0)
		b->changed = conf_attach_find(b->change->eff, next->name);
	if (r == -ENOMEM)
		(void)snprintf(err, KUSTO_ERRLEN, "out of memory");
	conf_attach_free(next);
	free(text);
	return r == -EEXIST ? -EINVAL : r;
}

void mgmt_be_init(struct mgmt_be *b, struct kusto_backend *ret)
{
	*ret = (struct kusto_backend){.arg = b,
	                              .databases = be_databases,
	                              .entities = be_entities,
	                              .extents = be_extents,
	                              .caching = be_caching,
	                              .principals = be_principals,
	                              .follower = be_follower,
	                              .set_follower = be_set_follower};
	mgmt_be_queries_init(ret);
}

void mgmt_be_clear(struct mgmt_be *b)
{
	views_db_array_free(b->dbs, b->ndbs);
	if (b->have_one)
		views_db_clear(&b->one);
	mgmt_change_free(b->change);
	b->dbs = NULL;
	b->ndbs = 0;
	b->have_one = false;
	b->change = NULL;
	b->changed = NULL;
}

/*
 * query_extents — the walk's per-extent facts, decoded once (see
 * query_extents.h): an open-addressing table keyed by the state store's
 * row id, entries holding their statistics columns, names interned.
 */
#include "query_extents.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "query_int.h"
#include "conf/conf.h"
#include "policy/policy.h"
#include "proto/proto.h"
#include "store/store.h"

struct entry {
	int64_t id; /* 0: a free slot (row ids start at 1) */
	char uuid[PROTO_UUID_LEN + 1];
	bool typed;
	int64_t min_created, max_created;
	size_t ncols;
	struct kql_skip_col *cols;
};

struct qx_cache {
	pthread_mutex_t mu;
	struct entry *slots;
	size_t cap, n, bytes; /* cap: a power of two */
	char **names;         /* interned column names */
	size_t nnames;
};

int qx_cache_new(struct qx_cache **ret)
{
	struct qx_cache *c = calloc(1, sizeof(*c));

	if (!c || !(c->names = calloc(QX_NAMES, sizeof(*c->names)))) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->mu, NULL);
	*ret = c;
	return 0;
}

/* Empties the table (under mu); names stay, entries copied out point there. */
static void empty(struct qx_cache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		free(c->slots[i].cols);
	free(c->slots);
	c->slots = NULL;
	c->cap = c->n = c->bytes = 0;
}

void qx_cache_free(struct qx_cache *c)
{
	if (!c)
		return;
	empty(c);
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static size_t slot_of(const struct qx_cache *c, int64_t id)
{
	uint64_t h = (uint64_t)id * UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h >> 20) & (c->cap - 1);
}

/* The slot of id, or the free slot where it would go (cap > 0). */
static struct entry *find(const struct qx_cache *c, int64_t id)
{
	size_t i = slot_of(c, id);

	while (c->slots[i].id != 0 && c->slots[i].id != id)
		i = (i + 1) & (c->cap - 1);
	return &c->slots[i];
}

/* Doubles the table (under mu): 0 or -ENOMEM. */
static int grow(struct qx_cache *c)
{
	struct qx_cache old = *c;
	size_t cap = c->cap ? c->cap * 2 : 1024;

	if (!(c->slots = calloc(cap, sizeof(*c->slots)))) {
		c->slots = old.slots;
		return -ENOMEM;
	}
	c->cap = cap;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].id != 0)
			*find(c, old.slots[i].id) = old.slots[i];
	free(old.slots);
	return 0;
}

/* name interned (under mu); NULL when the pool is full or out of memory. */
static const char *intern(struct qx_cache *c, const char *name)
{
	for (size_t i = 0; i < c->nnames; i++)
		if (strcmp(c->names[i], name) == 0)
			return c->names[i];
	if (c->nnames == QX_NAMES || !(c->names[c->nnames] = strdup(name)))
		return NULL;
	return c->names[c->nnames++];
}

/* ---- the caller's copy ---- */

static int info_reserve(struct qx_info *i, size_t n)
{
	struct kql_skip_col *v;

	if (n <= i->cap)
		return 0;
	if (!(v = reallocarray(i->cols, n, sizeof(*v))))
		return -ENOMEM;
	i->cols = v;
	i->cap = n;
	return 0;
}

void qx_info_clear(struct qx_info *i)
{
	free(i->cols);
	*i = (struct qx_info){0};
}

static int copy_out(const struct entry *e, struct qx_info *ret)
{
	int r = info_reserve(ret, e->ncols);

	if (r < 0)
		return r;
	ret->typed = e->typed;
	ret->min_created = e->min_created;
	ret->max_created = e->max_created;
	ret->ncols = e->ncols;
	if (e->ncols > 0)
		memcpy(ret->cols, e->cols, e->ncols * sizeof(*ret->cols));
	return 0;
}

/* ---- a miss: decode, keep ---- */

struct decoded {
	struct qx_cache *c;
	struct qx_info *ret;
	struct kql_skip_col *cols; /* x's statistics, names interned when keep */
	bool keep;
};

/* x's columns with interned names (under mu); false when one cannot be. */
static bool intern_cols(struct qx_cache *c, struct kql_skip_col *cols, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!(cols[i].name = intern(c, cols[i].name)))
			return false;
	return true;
}

static int on_decoded(void *arg, int64_t id, const struct proto_extent *x)
{
	struct decoded *d = arg;

	d->ret->typed = proto_extent_typed(x);
	d->ret->min_created = x->min_created;
	d->ret->max_created = x->max_created;
	d->ret->ncols = 0; /* no statistics known: until the names are interned */
	if (!(d->cols = calloc(x->nstats + 1, sizeof(*d->cols))))
		return 0;
	kql_skip_cols_of(x, d->cols);
	/* x's names die with the call: the walk gets interned ones */
	pthread_mutex_lock(&d->c->mu);
	d->keep = intern_cols(d->c, d->cols, x->nstats);
	pthread_mutex_unlock(&d->c->mu);
	if (!d->keep)
		return 0;
	if (info_reserve(d->ret, x->nstats) < 0) {
		d->keep = false;
		return 0;
	}
	if (x->nstats > 0)
		memcpy(d->ret->cols, d->cols, x->nstats * sizeof(*d->cols));
	d->ret->ncols = x->nstats;
	return 0;
}

/* Keeps the decoded entry (under mu); the cache takes cols. */
static void keep(struct qx_cache *c, int64_t id, const char *uuid, const struct qx_info *i,
                 struct kql_skip_col *cols)
{
	size_t bytes = sizeof(struct entry) * 2 + i->ncols * sizeof(*cols);
	struct entry *e;

	if (c->bytes + bytes > QX_CACHE_BYTES)
		empty(c);
	if ((c->n + 1) * 2 > c->cap && grow(c) < 0) {
		free(cols);
		return;
	}
	e = find(c, id);
	if (e->id == 0)
		c->n++;
	else
		free(e->cols);
	*e = (struct entry){id, "", i->typed, i->min_created, i->max_created, i->ncols, cols};
	memcpy(e->uuid, uuid, sizeof(e->uuid));
	c->bytes += bytes;
}

int qx_info_get(struct qx_cache *c, struct store *s, int64_t id, const char *uuid,
                struct qx_info *ret, char *err)
{
	struct decoded d = {c, ret, NULL, false};
	struct entry *e;
	int r = 1;

	pthread_mutex_lock(&c->mu);
	if (c->cap > 0 && (e = find(c, id))->id == id && strcmp(e->uuid, uuid) == 0)
		r = copy_out(e, ret);
	pthread_mutex_unlock(&c->mu);
	if (r <= 0)
		return r;
	if ((r = store_extent_get(s, id, on_decoded, &d, err)) < 0) {
		free(d.cols);
		return r;
	}
	pthread_mutex_lock(&c->mu);
	if (d.keep)
		keep(c, id, uuid, ret, d.cols);
	else
		free(d.cols);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

void qx_cache_size(struct qx_cache *c, size_t *ret_entries, size_t *ret_bytes)
{
	pthread_mutex_lock(&c->mu);
	*ret_entries = c->n;
	*ret_bytes = c->bytes;
	pthread_mutex_unlock(&c->mu);
}

/* ---- hot or cold: the caching policy of a table for a query ---- */

static void attaches_free(struct conf_attach **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		conf_attach_free(v[i]);
	free(v);
}

void query_set_conf(struct query *q, struct warm *w, const struct conf *conf)
{
	struct conf_attach **v = calloc(conf->nattach + 1, sizeof(*v));
	size_t n = 0;

	if (!q) {
		free(v);
		return;
	}
	for (; v && n < conf->nattach; n++)
		if (conf_attach_copy(conf->attach[n], &v[n]) < 0)
			break; /* out of memory: the overrides copied so far */
	q->warm = w;
	pthread_mutex_lock(&q->mu);
	q->can_readthru = w != NULL;
	q->readthru_max = conf->query_readthru_max_size;
	if (v) {
		attaches_free(q->attaches, q->nattaches);
		q->attaches = v;
		q->nattaches = n;
	}
	pthread_mutex_unlock(&q->mu);
}

/* The follower's overrides of config's attach for table (under q->mu). */
static int overrides(struct query *q, const char *config, const char *table,
                     struct proto_caching *ret_db, bool *ret_has_db, struct proto_caching *ret_t,
                     bool *ret_has_t, enum conf_modkind *ret_kind)
{
	size_t len = strcspn(config, "/"); /* "name/db" for an attach of every database */

	for (size_t i = 0; i < q->nattaches; i++) {
		const struct conf_attach *a = q->attaches[i];
		if (strlen(a->name) != len || strncmp(a->name, config, len) != 0)
			continue;
		*ret_kind = a->caching_policies_modification_kind;
		*ret_has_t = policy_override_table(a, table, ret_t);
		return policy_override_db(a, ret_db, ret_has_db);
	}
	return 0;
}

int query_policy(struct query *q, struct store *s, const char *config,
                 const struct store_entity *table, struct policy **ret)
{
	struct proto_caching ldb = {0}, fdb = {0}, ft = {0};
	struct proto_retention rp;
	bool has_ldb = false, has_fdb = false, has_ft = false, has_rp;
	enum conf_modkind kind = CONF_MOD_UNION;
	char err[STORE_ERRLEN];
	int r = store_db_policies(s, config, &has_ldb, &ldb, &has_rp, &rp, err);

	if (r == 0) {
		pthread_mutex_lock(&q->mu);
		r = overrides(q, config, table->e.name, &fdb, &has_fdb, &ft, &has_ft, &kind);
		pthread_mutex_unlock(&q->mu);
	}
	if (r == 0)
		r = policy_effective(has_ldb ? &ldb : NULL,
		                     table->has_caching ? &table->caching : NULL,
		                     has_fdb ? &fdb : NULL, has_ft ? &ft : NULL, kind, ret);
	if (has_ldb)
		proto_caching_clear(&ldb);
	if (has_fdb)
		proto_caching_clear(&fdb);
	return r;
}

void query_attaches_free(struct query *q)
{
	attaches_free(q->attaches, q->nattaches);
	q->attaches = NULL;
	q->nattaches = 0;
}

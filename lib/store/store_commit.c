/*
 * store_commit — applying one commit (log object) to a followed database in
 * one transaction (see store_apply_commit in store.h).
 *
 * Actions apply in order on the stored state; the first that cannot apply
 * rolls everything back.  Entities the filter excludes are remembered by
 * name in the excluded table (never their definitions or extents), so that
 * a later drop_extents naming their extents, which the store never saw, can
 * be told from a drop of an extent that does not exist.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One commit being applied. */
struct apply {
	struct store *s;
	const struct store_filter *filter;
	struct store_dbrow row;
	struct store_summary sum;
	const struct proto_action *act;
	size_t index;
	char *err;
	int has_excluded; /* -1 unknown, else whether the database has excluded entities */
	uint64_t version; /* the commit's */
	bool hold;        /* prefetch: the visible version stays (store_db_publish) */
	/* Extent count/rows/bytes deltas of one entity, flushed when another
	 * entity's extents come (add_extents is mostly one table at a time). */
	int64_t acc_entity;
	int64_t acc_n, acc_rows, acc_bytes;
};

/* An entity as found by name. */
struct ent_ref {
	bool found;
	int64_t id;
	enum proto_kind kind;
};

/* Writes "actions[i] (op): <message>" into the error buffer; returns r. */
static int act_err(struct apply *a, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int act_err(struct apply *a, int r, const char *fmt, ...)
{
	char msg[STORE_ERRLEN];
	const char *op = proto_op_name(a->act->op, a->act->entity.kind);
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return store_errf(a->err, r, "actions[%zu] (%s): %s", a->index, op != NULL ? op : "?", msg);
}

/* Prefixes an error a lower function wrote with the action index. */
static int act_wrap(struct apply *a, int r)
{
	char msg[STORE_ERRLEN];

	if (r >= 0 || a->err == NULL)
		return r;
	(void)snprintf(msg, sizeof(msg), "%s", a->err);
	return act_err(a, r, "%s", msg);
}

static bool included(const struct apply *a, enum proto_kind kind, const char *name)
{
	if (a->filter == NULL || a->filter->include == NULL)
		return true;
	return a->filter->include(kind, name, a->filter->arg);
}

/* Steps statement id, which looks up an entity of this database by name, as
 * store_step_row: 1 with the row in *ret (the caller reads and resets it). */
static int ent_row(struct apply *a, enum store_st id, const char *name, sqlite3_stmt **ret)
{
	sqlite3_stmt *st = store_stmt(a->s, id, a->err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a->row.id);
	(void)store_bind_text(st, 2, name);
	*ret = st;
	return store_step_row(a->s, st, a->err, "entity");
}

static int ent_find(struct apply *a, const char *name, struct ent_ref *ret)
{
	sqlite3_stmt *st;
	int r = ent_row(a, ST_ENT_FIND, name, &st);

	ret->found = r == 1;
	if (r == 1) {
		ret->id = sqlite3_column_int64(st, 0);
		if (store_kind_parse((const char *)sqlite3_column_text(st, 1), &ret->kind) < 0)
			r = store_errf(a->err, -EBADMSG, "entity '%s': bad kind in the store",
			               name);
		(void)sqlite3_reset(st);
	}
	return r < 0 ? r : 0;
}

/* ---- the excluded set ---- */

static int excl_put(struct apply *a, const char *name, enum proto_kind kind)
{
	a->has_excluded = 1;
	return store_excluded_put(a->s, a->row.id, name, kind, a->err);
}

static int excl_delete(struct apply *a, const char *name)
{
	sqlite3_stmt *st = store_stmt(a->s, ST_EXCL_DELETE, a->err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a->row.id);
	(void)store_bind_text(st, 2, name);
	a->has_excluded = -1;
	return store_step_done(a->s, st, a->err, "excluded delete");
}

/* The kind an excluded name had, else PROTO_TABLE (what extents belong to). */
static int excl_kind(struct apply *a, const char *name, bool *ret_found, enum proto_kind *ret)
{
	sqlite3_stmt *st = store_stmt(a->s, ST_EXCL_GET, a->err);
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a->row.id);
	(void)store_bind_text(st, 2, name);
	r = store_step_row(a->s, st, a->err, "excluded");
	*ret_found = r == 1;
	*ret = PROTO_TABLE;
	if (r == 1) {
		(void)store_kind_parse((const char *)sqlite3_column_text(st, 0), ret);
		(void)sqlite3_reset(st);
	}
	return r < 0 ? r : 0;
}

static int excl_any(struct apply *a, bool *ret)
{
	sqlite3_stmt *st;
	int r;

	if (a->has_excluded >= 0) {
		*ret = a->has_excluded;
		return 0;
	}
	st = store_stmt(a->s, ST_EXCL_ANY, a->err);
	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a->row.id);
	r = store_step_row(a->s, st, a->err, "excluded");
	(void)sqlite3_reset(st);
	if (r < 0)
		return r;
	a->has_excluded = r;
	*ret = r;
	return 0;
}

/* ---- entity totals ---- */

static int acc_flush(struct apply *a)
{
	sqlite3_stmt *st;

	if (a->acc_entity == 0 || (a->acc_n == 0 && a->acc_rows == 0 && a->acc_bytes == 0))
		return 0;
	st = store_stmt(a->s, ST_ENT_ADD_TOTALS, a->err);
	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a->acc_entity);
	(void)sqlite3_bind_int64(st, 2, a->acc_n);
	(void)sqlite3_bind_int64(st, 3, a->acc_rows);
	(void)sqlite3_bind_int64(st, 4, a->acc_bytes);
	a->acc_n = a->acc_rows = a->acc_bytes = 0;
	return store_step_done(a->s, st, a->err, "entity totals");
}

static int acc_add(struct apply *a, int64_t entity, int64_t n, int64_t rows, int64_t bytes)
{
	if (entity != a->acc_entity) {
		int r = acc_flush(a);

		if (r < 0)
			return r;
		a->acc_entity = entity;
	}
	a->acc_n += n;
	a->acc_rows += rows;
	a->acc_bytes += bytes;
	return 0;
}

/* ---- entity actions ---- */

static int do_create(struct apply *a)
{
	const struct proto_entity *e = &a->act->entity;
	struct ent_ref ref;
	int64_t id;
	int r;

	if (!included(a, e->kind, e->name))
		return excl_put(a, e->name, e->kind);
	r = ent_find(a, e->name, &ref);
	if (r == 0 && ref.found)
		return act_err(a, -EINVAL, "'%s' already exists (a %s)", e->name,
		               store_kind_name(ref.kind));
	if (r == 0)
		r = store_entity_insert(a->s, a->row.id, e, &id, a->err);
	if (r == 0)
		r = excl_delete(a, e->name);
	if (r == 0)
		r = diff_entity(NULL, e, &a->sum.changes);
	return r;
}

/* Loads the stored entity named name into *ret (caller clears); *ret_found. */
static int ent_load(struct apply *a, const char *name, bool *ret_found, struct proto_entity *ret,
                    int64_t *ret_id)
{
	sqlite3_stmt *st;
	int r = ent_row(a, ST_ENT_GET, name, &st);

	*ret_found = r == 1;
	if (r == 1) {
		r = store_entity_read(a->s, st, ret, ret_id, a->err);
		(void)sqlite3_reset(st);
	}
	return r;
}

static int do_alter(struct apply *a)
{
	const struct proto_entity *e = &a->act->entity;
	struct proto_entity old = {0};
	bool found;
	int64_t id;
	int r;

	if (!included(a, e->kind, e->name))
		return 0;
	r = ent_load(a, e->name, &found, &old, &id);
	if (r < 0)
		return r;
	if (!found)
		r = act_err(a, -EINVAL, "'%s': no such entity", e->name);
	else if (old.kind != e->kind)
		r = act_err(a, -EINVAL, "'%s' is a %s", e->name, store_kind_name(old.kind));
	if (r == 0)
		r = diff_entity(&old, e, &a->sum.changes);
	if (r == 0)
		r = store_entity_update(a->s, id, e, a->err);
	proto_entity_clear(&old);
	return r;
}

/* A held commit drops entity id: what the visible version showed of it goes
 * from the visible totals too (the schema is the applied version's). */
static int ent_unsee(struct apply *a, int64_t id)
{
	sqlite3_stmt *st = store_stmt(a->s, ST_DB_UNSEE_ENTITY, a->err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a->row.id);
	(void)sqlite3_bind_int64(st, 2, id);
	return store_step_done(a->s, st, a->err, "visible totals");
}

/* Deletes entity id with its extents, artifacts, columns and policies. */
static int ent_drop(struct apply *a, int64_t id)
{
	static const enum store_st by_entity[] = {ST_ENT_DROP_ARTIFACTS, ST_ENT_DROP_EXTENTS,
	                                          ST_COL_DELETE, ST_ENT_DELETE};
	int r = acc_flush(a);

	if (r == 0 && a->hold)
		r = ent_unsee(a, id);
	if (r == 0)
		r = store_caching_write(a->s, a->row.id, id, NULL, a->err);
	if (r == 0)
		r = store_retention_write(a->s, a->row.id, id, NULL, a->err);
	for (size_t i = 0; r == 0 && i < sizeof(by_entity) / sizeof(by_entity[0]); i++)
		r = store_run_id(a->s, by_entity[i], id, a->err);
	return r;
}

/* The extent totals of entity id (from its row), added to the removed sums. */
static int ent_count_removed(struct apply *a, const char *name)
{
	sqlite3_stmt *st;
	int r = ent_row(a, ST_ENT_GET, name, &st);

	if (r == 1) {
		a->sum.extents_removed += (uint64_t)sqlite3_column_int64(st, 8);
		a->sum.rows_removed += (uint64_t)sqlite3_column_int64(st, 9);
		a->sum.bytes_removed += (uint64_t)sqlite3_column_int64(st, 10);
		(void)sqlite3_reset(st);
	}
	return r < 0 ? r : 0;
}

static int do_drop(struct apply *a)
{
	const struct proto_entity *e = &a->act->entity;
	struct ent_ref ref;
	bool was_excluded;
	enum proto_kind kind;
	int r = ent_find(a, e->name, &ref);

	if (r < 0)
		return r;
	if (ref.found && ref.kind != e->kind)
		return act_err(a, -EINVAL, "'%s' is a %s", e->name, store_kind_name(ref.kind));
	if (ref.found) {
		r = acc_flush(a);
		if (r == 0)
			r = ent_count_removed(a, e->name);
		if (r == 0)
			r = ent_drop(a, ref.id);
		if (r == 0)
			r = diff_entity(e, NULL, &a->sum.changes);
		return r;
	}
	r = excl_kind(a, e->name, &was_excluded, &kind);
	if (r < 0)
		return r;
	if (!was_excluded && included(a, e->kind, e->name))
		return act_err(a, -EINVAL, "'%s': no such entity", e->name);
	return excl_delete(a, e->name);
}

/* ---- extents ---- */

/* Resolves the table of extent i: *ret_id 0 means skip it (excluded). */
static int extent_table(struct apply *a, size_t i, const char *table, int64_t *ret_id)
{
	struct ent_ref ref;
	bool was_excluded;
	enum proto_kind kind = PROTO_TABLE;
	int r = ent_find(a, table, &ref);

	*ret_id = 0;
	if (r == 0 && !ref.found)
		r = excl_kind(a, table, &was_excluded, &kind);
	if (r < 0)
		return r;
	if (ref.found)
		kind = ref.kind;
	if (!included(a, kind, table))
		return ref.found ? 0 : excl_put(a, table, kind);
	if (!ref.found)
		return act_err(a, -EINVAL, "extents[%zu]: no table '%s'", i, table);
	if (kind == PROTO_EXTERNAL_TABLE)
		return act_err(a, -EINVAL, "extents[%zu]: '%s' is an external table", i, table);
	*ret_id = ref.id;
	return 0;
}

static int add_extents(struct apply *a, const struct proto_extent *v, size_t n)
{
	const char *last = NULL;
	int64_t entity = 0;

	for (size_t i = 0; i < n; i++) {
		const struct proto_extent *x = &v[i];
		uint64_t bytes = 0;
		int r = 0;

		if (last == NULL || strcmp(last, x->table) != 0)
			r = extent_table(a, i, x->table, &entity);
		last = x->table;
		if (r == 0 && entity != 0)
			r = act_wrap(
			    a, store_extent_insert(a->s, a->row.id, entity, x, a->version, a->err));
		if (r < 0)
			return r;
		if (entity == 0)
			continue;
		for (size_t k = 0; k < x->nartifacts; k++)
			bytes += x->artifacts[k].size;
		a->sum.extents_added++;
		a->sum.rows_added += x->rows;
		a->sum.bytes_added += bytes;
		r = acc_add(a, entity, 1, (int64_t)x->rows, (int64_t)bytes);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Deletes the extent of row st (id, entity, rows, bytes, added), or, when
 * the visible version holds it, marks it dropped by this version. */
static int extent_delete(struct apply *a, sqlite3_stmt *st)
{
	int64_t id = sqlite3_column_int64(st, 0), entity = sqlite3_column_int64(st, 1);
	int64_t rows = sqlite3_column_int64(st, 2), bytes = sqlite3_column_int64(st, 3);
	uint64_t added = (uint64_t)sqlite3_column_int64(st, 4);
	sqlite3_stmt *hold;
	int r;

	(void)sqlite3_reset(st);
	a->sum.extents_removed++;
	a->sum.rows_removed += (uint64_t)rows;
	a->sum.bytes_removed += (uint64_t)bytes;
	r = acc_add(a, entity, -1, -rows, -bytes);
	if (r == 0 && a->hold && added <= a->row.visible_version) {
		if ((hold = store_stmt(a->s, ST_EXT_HOLD, a->err)) == NULL)
			return -EIO;
		(void)sqlite3_bind_int64(hold, 1, id);
		(void)sqlite3_bind_int64(hold, 2, (int64_t)a->version);
		return store_step_done(a->s, hold, a->err, "extent hold");
	}
	if (r == 0)
		r = store_run_id(a->s, ST_ART_DELETE, id, a->err);
	if (r == 0)
		r = store_run_id(a->s, ST_EXT_DELETE, id, a->err);
	return r;
}

static int drop_extents(struct apply *a, const char (*ids)[PROTO_UUID_LEN + 1], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char uuid[16];
		sqlite3_stmt *st;
		bool lenient;
		int r;

		if (store_uuid_parse(ids[i], uuid) < 0)
			return act_err(a, -EINVAL, "ids[%zu]: bad extent id '%.36s'", i, ids[i]);
		st = store_stmt(a->s, ST_EXT_FIND, a->err);
		if (st == NULL)
			return -EIO;
		(void)sqlite3_bind_int64(st, 1, a->row.id);
		(void)sqlite3_bind_blob(st, 2, uuid, sizeof(uuid), SQLITE_STATIC);
		r = store_step_row(a->s, st, a->err, "extent");
		if (r == 1)
			r = extent_delete(a, st);
		else if (r == 0 && (r = excl_any(a, &lenient)) == 0 && !lenient)
			r = act_err(a, -EINVAL, "ids[%zu]: extent %s: no such extent", i, ids[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- policies and principals ---- */

/* The entity id a policy action applies to: 0 for the database, -1 to skip
 * (an excluded table). */
static int policy_target(struct apply *a, int64_t *ret_id, enum proto_kind *ret_kind)
{
	const char *table = a->act->table;
	struct ent_ref ref;
	bool was_excluded;
	int r;

	*ret_id = 0;
	*ret_kind = PROTO_TABLE;
	if (table == NULL)
		return 0;
	r = ent_find(a, table, &ref);
	if (r == 0 && !ref.found)
		r = excl_kind(a, table, &was_excluded, ret_kind);
	if (r < 0)
		return r;
	if (ref.found)
		*ret_kind = ref.kind;
	*ret_id = -1;
	if (!included(a, *ret_kind, table))
		return 0;
	if (!ref.found)
		return act_err(a, -EINVAL, "no table '%s'", table);
	*ret_id = ref.id;
	return 0;
}

static int do_caching(struct apply *a)
{
	const struct proto_action *act = a->act;
	const struct proto_caching *p = act->has_policy ? &act->caching : NULL;
	struct proto_caching old = {0};
	enum proto_kind kind;
	bool has = false;
	int64_t id;
	int r = policy_target(a, &id, &kind);

	if (r < 0 || id < 0)
		return r;
	r = store_caching_read(a->s, a->row.id, id, &has, &old, a->err);
	if (r == 0)
		r = diff_caching(act->table, kind, has ? &old : NULL, p, &a->sum.changes);
	if (r == 0)
		r = store_caching_write(a->s, a->row.id, id, p, a->err);
	proto_caching_clear(&old);
	return r;
}

static int do_retention(struct apply *a)
{
	const struct proto_action *act = a->act;
	const struct proto_retention *p = act->has_policy ? &act->retention : NULL;
	struct proto_retention old = {0};
	enum proto_kind kind;
	bool has = false;
	int64_t id;
	int r = policy_target(a, &id, &kind);

	if (r < 0 || id < 0)
		return r;
	r = store_retention_read(a->s, a->row.id, id, &has, &old, a->err);
	if (r == 0)
		r = diff_retention(act->table, kind, has ? &old : NULL, p, &a->sum.changes);
	if (r == 0)
		r = store_retention_write(a->s, a->row.id, id, p, a->err);
	return r;
}

static int do_principals(struct apply *a)
{
	const struct proto_action *act = a->act;
	struct proto_principal *old = NULL;
	size_t nold = 0;
	int r = store_principals_read(a->s, a->row.id, act->role, &old, &nold, a->err);

	if (r == 0)
		r = diff_principals(act->role, old, nold, act->principals, act->nprincipals,
		                    &a->sum.changes);
	if (r == 0)
		r = store_principals_write(a->s, a->row.id, act->role, act->principals,
		                           act->nprincipals, a->err);
	store_principals_free(old, nold);
	return r;
}

static int apply_action(struct apply *a)
{
	const struct proto_action *act = a->act;
	int r;

	switch (act->op) {
	case PROTO_OP_CREATE:
		return do_create(a);
	case PROTO_OP_ALTER:
		return do_alter(a);
	case PROTO_OP_DROP:
		return do_drop(a);
	case PROTO_OP_ADD_EXTENTS:
		return add_extents(a, act->extents, act->nextents);
	case PROTO_OP_DROP_EXTENTS:
		return drop_extents(a, (const char(*)[PROTO_UUID_LEN + 1]) act->ids, act->nids);
	case PROTO_OP_REPLACE_EXTENTS:
		r = drop_extents(a, (const char(*)[PROTO_UUID_LEN + 1]) act->ids, act->nids);
		return r < 0 ? r : add_extents(a, act->extents, act->nextents);
	case PROTO_OP_SET_CACHING:
		return do_caching(a);
	case PROTO_OP_SET_RETENTION:
		return do_retention(a);
	case PROTO_OP_SET_PRINCIPALS:
		return do_principals(a);
	}
	return act_err(a, -EINVAL, "unknown op %d", (int)act->op);
}

/* ---- the commit ---- */

/* -ESTALE / -ERANGE unless c follows the applied version of the same uuid (a
 * database never loaded takes version 1 of any uuid). */
static int check_version(struct apply *a, const char *config, const struct proto_commit *c)
{
	const struct store_dbrow *row = &a->row;

	if (row->uuid[0] == '\0' && row->applied_version == 0)
		return c->version == 1
		           ? 0
		           : store_errf(a->err, -ERANGE,
		                        "database '%s': commit version %" PRIu64
		                        " but nothing applied yet (a checkpoint is needed)",
		                        config, c->version);
	if (strcmp(row->uuid, c->uuid) != 0)
		return store_errf(a->err, -ESTALE,
		                  "database '%s': commit of uuid %s but the store follows %s",
		                  config, c->uuid, row->uuid);
	if (c->version != row->applied_version + 1)
		return store_errf(a->err, -ERANGE,
		                  "database '%s': commit version %" PRIu64
		                  " does not follow applied version %" PRIu64,
		                  config, c->version, row->applied_version);
	return 0;
}

static int set_applied(struct apply *a, const struct proto_commit *c)
{
	const struct store_summary *sum = &a->sum;
	sqlite3_stmt *st = store_stmt(a->s, ST_DB_SET_APPLIED, a->err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a->row.id);
	(void)store_bind_text(st, 2, c->uuid);
	(void)sqlite3_bind_int64(st, 3, (int64_t)c->version);
	(void)sqlite3_bind_int64(st, 4, c->committed);
	(void)sqlite3_bind_int64(st, 5, store_now());
	(void)sqlite3_bind_int64(
	    st, 6, (int64_t)(a->row.extents + sum->extents_added - sum->extents_removed));
	(void)sqlite3_bind_int64(st, 7,
	                         (int64_t)(a->row.rows + sum->rows_added - sum->rows_removed));
	(void)sqlite3_bind_int64(st, 8,
	                         (int64_t)(a->row.bytes + sum->bytes_added - sum->bytes_removed));
	(void)sqlite3_bind_int(st, 9, !a->hold);
	return store_step_done(a->s, st, a->err, "database applied");
}

static int apply_all(struct apply *a, const char *config, const struct proto_commit *c)
{
	int r = store_dbrow_find(a->s, config, &a->row, a->err);

	if (r == 0)
		r = check_version(a, config, c);
	for (size_t i = 0; r == 0 && i < c->nactions; i++) {
		a->index = i;
		a->act = &c->actions[i];
		r = apply_action(a);
	}
	if (r == 0)
		r = acc_flush(a);
	/* Without prefetch the version is visible in this transaction. */
	if (r == 0 && !a->hold)
		r = store_purge_held(a->s, &a->row, a->err);
	if (r == 0 && !a->hold)
		r = store_run_id(a->s, ST_ENT_PUBLISH, a->row.id, a->err);
	if (r == 0)
		r = set_applied(a, c);
	if (r == 0)
		r = store_history_add(a->s, a->row.id, c->uuid, c->version, c->committed, false,
		                      &a->sum, NULL, a->err);
	return r;
}

int store_apply_commit(struct store *s, const char *config, const struct proto_commit *c,
                       const struct store_filter *filter, struct store_summary *ret, char *err)
{
	struct apply a = {.s = s,
	                  .filter = filter,
	                  .err = err,
	                  .has_excluded = -1,
	                  .version = c->version,
	                  .hold = filter != NULL && filter->prefetch};
	int r = store_check_writable(s, err);

	if (r == 0)
		r = store_begin(s, err);
	if (r < 0)
		return r;
	r = apply_all(&a, config, c);
	if (r == 0)
		r = store_commit(s, err);
	if (r < 0) {
		store_rollback(s);
		store_summary_clear(&a.sum);
		return r;
	}
	if (ret != NULL)
		*ret = a.sum;
	else
		store_summary_clear(&a.sum);
	return 0;
}

void store_summary_clear(struct store_summary *sum)
{
	if (sum == NULL)
		return;
	diff_list_clear(&sum->changes);
	memset(sum, 0, sizeof(*sum));
}

/*
 * store_read — the read API for the views and the lag (see store.h): plain
 * owned structs and arrays for the small things (databases, entities,
 * history), a callback walk for extents (a table may hold a million; the
 * caller pages with a cursor).  Works on writable and read-only handles;
 * each function reads one consistent snapshot (one statement, or a deferred
 * transaction around several).
 */
#include "store/store_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Reads several statements from one snapshot. */
static int read_begin(struct store *s, char *err)
{
	int rc;

	if (!sqlite3_get_autocommit(s->db))
		return 0;
	rc = sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL);
	return rc == SQLITE_OK ? 1 : store_sqlerr(s, rc, err, "begin");
}

static void read_end(struct store *s, int began)
{
	if (began == 1)
		(void)sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

/* ---- databases ---- */

void store_db_info_clear(struct store_db_info *d)
{
	if (d == NULL)
		return;
	free(d->config);
	free(d->root);
	free(d->leader_db);
	free(d->local_name);
	free(d->last_error);
	free(d->state);
	memset(d, 0, sizeof(*d));
}

void store_db_info_array_free(struct store_db_info *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		store_db_info_clear(&v[i]);
	free(v);
}

/* Fills d from a row of DB_COLS. */
static int db_info_read(sqlite3_stmt *st, struct store_db_info *d)
{
	const char *uuid = (const char *)sqlite3_column_text(st, 5);

	memset(d, 0, sizeof(*d));
	d->id = sqlite3_column_int64(st, 0);
	(void)snprintf(d->uuid, sizeof(d->uuid), "%s", uuid != NULL ? uuid : "");
	d->applied_version = (uint64_t)sqlite3_column_int64(st, 6);
	d->applied_committed = sqlite3_column_int64(st, 7);
	d->leader_version = (uint64_t)sqlite3_column_int64(st, 8);
	d->leader_committed = sqlite3_column_int64(st, 9);
	d->last_poll = sqlite3_column_int64(st, 10);
	d->last_apply = sqlite3_column_int64(st, 11);
	/* 14-16 are the applied version's totals, for the writers. */
	d->visible_version = (uint64_t)sqlite3_column_int64(st, 17);
	d->extents = (uint64_t)sqlite3_column_int64(st, 18);
	d->rows = (uint64_t)sqlite3_column_int64(st, 19);
	d->bytes = (uint64_t)sqlite3_column_int64(st, 20);
	if (store_col_dup(st, 1, &d->config, true) && store_col_dup(st, 2, &d->root, true) &&
	    store_col_dup(st, 3, &d->leader_db, true) &&
	    store_col_dup(st, 4, &d->local_name, true) &&
	    store_col_dup(st, 12, &d->last_error, false) && store_col_dup(st, 13, &d->state, true))
		return 0;
	store_db_info_clear(d);
	return -ENOMEM;
}

int store_db_get(struct store *s, const char *config, struct store_db_info *ret, char *err)
{
	sqlite3_stmt *st;
	struct store_db_info d;
	int r = store_find_row(s, ST_DB_GET, config, "database", &st, err);

	if (r == 0)
		return store_errf(err, -ENOENT, "database '%s': not attached", config);
	if (r < 0)
		return r;
	r = db_info_read(st, &d);
	(void)sqlite3_reset(st);
	if (r == 0)
		*ret = d;
	return r;
}

int store_db_list(struct store *s, struct store_db_info **ret, size_t *ret_n, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_DB_LIST, err);
	struct store_db_info *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (st == NULL)
		return -EIO;
	while ((r = store_step_row(s, st, err, "databases")) == 1) {
		struct store_db_info *nv = store_grow(v, n, &cap, 8, sizeof(*v));

		if (nv == NULL) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		r = db_info_read(st, &v[n]);
		if (r < 0)
			break;
		n++;
	}
	(void)sqlite3_reset(st);
	if (r < 0) {
		store_db_info_array_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int store_lag(struct store *s, const char *config, struct store_lag *ret, char *err)
{
	struct store_db_info d;
	struct store_lag lag = {0};
	int r = store_db_get(s, config, &d, err);

	if (r < 0)
		return r;
	if (d.leader_version > d.applied_version)
		lag.versions = d.leader_version - d.applied_version;
	if (lag.versions > 0 && d.leader_committed > d.applied_committed)
		lag.ticks = d.leader_committed - d.applied_committed;
	store_db_info_clear(&d);
	*ret = lag;
	return 0;
}

/* ---- entities, policies, principals ---- */

void store_entities_free(struct store_entity *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		proto_entity_clear(&v[i].e);
		proto_caching_clear(&v[i].caching);
	}
	free(v);
}

/* Reads the entity of row st with its policies and totals into x. */
static int entity_info_read(struct store *s, int64_t db, sqlite3_stmt *st, struct store_entity *x,
                            char *err)
{
	int64_t id;
	int r;

	memset(x, 0, sizeof(*x));
	x->extents = (uint64_t)sqlite3_column_int64(st, 11); /* the visible totals */
	x->rows = (uint64_t)sqlite3_column_int64(st, 12);
	x->bytes = (uint64_t)sqlite3_column_int64(st, 13);
	r = store_entity_read(s, st, &x->e, &id, err);
	if (r == 0)
		r = store_caching_read(s, db, id, &x->has_caching, &x->caching, err);
	if (r == 0)
		r = store_retention_read(s, db, id, &x->has_retention, &x->retention, err);
	return r;
}

static int entities_read(struct store *s, int64_t db, struct store_entity **ret, size_t *ret_n,
                         char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_ENT_LIST, err);
	struct store_entity *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	while ((r = store_step_row(s, st, err, "entities")) == 1) {
		struct store_entity *nv = store_grow(v, n, &cap, 8, sizeof(*v));

		if (nv == NULL) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		r = entity_info_read(s, db, st, &v[n], err);
		if (r < 0) {
			proto_entity_clear(&v[n].e);
			proto_caching_clear(&v[n].caching);
			break;
		}
		n++;
	}
	(void)sqlite3_reset(st);
	if (r < 0) {
		store_entities_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int store_entities(struct store *s, const char *config, struct store_entity **ret, size_t *ret_n,
                   char *err)
{
	struct store_dbrow row = {0};
	int began = read_begin(s, err);
	int r = began;

	if (r >= 0)
		r = store_dbrow_find(s, config, &row, err);
	if (r >= 0)
		r = entities_read(s, row.id, ret, ret_n, err);
	read_end(s, began);
	return r < 0 ? r : 0;
}

int store_db_policies(struct store *s, const char *config, bool *ret_has_caching,
                      struct proto_caching *ret_caching, bool *ret_has_retention,
                      struct proto_retention *ret_retention, char *err)
{
	struct store_dbrow row = {0};
	struct proto_caching c = {0};
	struct proto_retention t = {0};
	bool has_c = false, has_t = false;
	int began = read_begin(s, err);
	int r = began;

	if (r >= 0)
		r = store_dbrow_find(s, config, &row, err);
	if (r >= 0)
		r = store_caching_read(s, row.id, 0, &has_c, &c, err);
	if (r >= 0)
		r = store_retention_read(s, row.id, 0, &has_t, &t, err);
	read_end(s, began);
	if (r < 0) {
		proto_caching_clear(&c);
		return r;
	}
	*ret_has_caching = has_c;
	*ret_caching = c;
	*ret_has_retention = has_t;
	*ret_retention = t;
	return 0;
}

int store_principals(struct store *s, const char *config, enum proto_role role,
                     struct proto_principal **ret, size_t *ret_n, char *err)
{
	struct store_dbrow row = {0};
	int began = read_begin(s, err);
	int r = began;

	if (r >= 0)
		r = store_dbrow_find(s, config, &row, err);
	if (r >= 0)
		r = store_principals_read(s, row.id, role, ret, ret_n, err);
	read_end(s, began);
	return r < 0 ? r : 0;
}

/* ---- extents ---- */

/* The extent being handed to the callback and the buffers it borrows. */
struct extent_buf {
	struct proto_extent x;
	json_t *tags;
	json_t *stats; /* x.stats' strings point into it */
	size_t cap;    /* of x.artifacts */
};

static void extent_buf_reset(struct extent_buf *b)
{
	for (size_t i = 0; i < b->x.nartifacts; i++) {
		free(b->x.artifacts[i].name);
		free(b->x.artifacts[i].path);
		free(b->x.artifacts[i].format_text);
		free(b->x.artifacts[i].compression_text);
	}
	free(b->x.stats);
	b->x.stats = NULL;
	b->x.nstats = 0;
	json_decref(b->stats);
	b->stats = NULL;
	b->x.nartifacts = 0;
	free(b->x.tags);
	b->x.tags = NULL;
	b->x.ntags = 0;
	json_decref(b->tags);
	b->tags = NULL;
}

static int tags_read(sqlite3_stmt *st, int col, struct extent_buf *b)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	size_t i;
	json_t *t;

	if (text == NULL)
		return 0;
	b->tags = json_loads(text, 0, NULL);
	if (!json_is_array(b->tags))
		return -EBADMSG;
	b->x.tags = calloc(json_array_size(b->tags) + 1, sizeof(char *));
	if (b->x.tags == NULL)
		return -ENOMEM;
	json_array_foreach(b->tags, i, t)
	{
		if (!json_is_string(t))
			return -EBADMSG;
		b->x.tags[b->x.ntags++] = (char *)json_string_value(t);
	}
	return 0;
}

/* An artifact's stored data format ("csv gzip 0") into a. */
static int data_read(sqlite3_stmt *st, int col, struct proto_artifact *a)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	char f[32], c[32];
	int ignore;

	if (text == NULL)
		return 0;
	if (sscanf(text, "%31s %31s %d", f, c, &ignore) != 3)
		return -EBADMSG;
	a->ignore_first_record = ignore != 0;
	if (proto_format_parse(f, &a->format) < 0) {
		a->format = PROTO_FMT_UNKNOWN;
		a->format_text = strdup(f);
	}
	if (proto_compression_parse(c, &a->compression) < 0) {
		a->compression = PROTO_COMP_UNKNOWN;
		a->compression_text = strdup(c);
	}
	return 0;
}

static int stats_read(sqlite3_stmt *st, int col, struct extent_buf *b)
{
	const char *text = (const char *)sqlite3_column_text(st, col);
	json_t *v;
	size_t i;

	if (text == NULL)
		return 0;
	b->stats = json_loads(text, 0, NULL);
	if (!json_is_array(b->stats))
		return -EBADMSG;
	b->x.stats = calloc(json_array_size(b->stats) + 1, sizeof(*b->x.stats));
	if (b->x.stats == NULL)
		return -ENOMEM;
	json_array_foreach(b->stats, i, v)
	{
		struct proto_colstat *c = &b->x.stats[b->x.nstats++];
		json_t *min = json_array_get(v, 2), *max = json_array_get(v, 3);

		/* 4 members: a pre-release row without the type (string). */
		if (json_array_size(v) == 5 &&
		    proto_coltype_parse(json_string_value(json_array_get(v, 4)), &c->type) < 0)
			return -EBADMSG;
		if (json_array_size(v) == 4)
			c->type = PROTO_T_STRING;
		if ((json_array_size(v) != 4 && json_array_size(v) != 5) ||
		    !json_is_string(json_array_get(v, 0)) ||
		    !json_is_integer(json_array_get(v, 1)) ||
		    !(json_is_string(min) || json_is_null(min)) ||
		    !(json_is_string(max) || json_is_null(max)))
			return -EBADMSG;
		c->name = (char *)json_string_value(json_array_get(v, 0));
		c->nulls = (uint64_t)json_integer_value(json_array_get(v, 1));
		c->min = (char *)json_string_value(min);
		c->max = (char *)json_string_value(max);
	}
	return 0;
}

static int artifact_push(sqlite3_stmt *st, struct extent_buf *b)
{
	struct proto_artifact *a;
	char path[STORE_PATH_CANONICAL];

	a = store_grow(b->x.artifacts, b->x.nartifacts, &b->cap, 4, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	b->x.artifacts = a;
	if (sqlite3_column_bytes(st, 3) != 32)
		return -EBADMSG;
	a = &b->x.artifacts[b->x.nartifacts++];
	memset(a, 0, sizeof(*a));
	a->size = (uint64_t)sqlite3_column_int64(st, 2);
	store_sha_format(sqlite3_column_blob(st, 3), a->sha256);
	if (sqlite3_column_type(st, 1) == SQLITE_NULL) {
		store_path_canonical(a->sha256, path);
		a->path = strdup(path);
	} else if (!store_col_dup(st, 1, &a->path, true)) {
		return -ENOMEM;
	}
	if (a->path == NULL || !store_col_dup(st, 0, &a->name, true))
		return -ENOMEM;
	return data_read(st, 4, a);
}

static int artifacts_read(struct store *s, int64_t id, struct extent_buf *b, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_ART_LIST, err);
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, id);
	while ((r = store_step_row(s, st, err, "artifacts")) == 1) {
		r = artifact_push(st, b);
		if (r < 0)
			break;
	}
	(void)sqlite3_reset(st);
	return r < 0 ? store_errf(err, r, "extent %s: bad artifact row", b->x.id) : 0;
}

/* Fills b from an ST_EXT_PAGE row. */
static int extent_read(struct store *s, sqlite3_stmt *st, struct extent_buf *b, char *err)
{
	if (sqlite3_column_bytes(st, 1) != 16)
		return store_errf(err, -EBADMSG, "bad extent row in the store");
	store_uuid_format(sqlite3_column_blob(st, 1), b->x.id);
	b->x.min_created = sqlite3_column_int64(st, 2);
	b->x.max_created = sqlite3_column_int64(st, 3);
	b->x.rows = (uint64_t)sqlite3_column_int64(st, 4);
	b->x.original_size = (uint64_t)sqlite3_column_int64(st, 5);
	b->x.compressed_size = (uint64_t)sqlite3_column_int64(st, 6);
	if (tags_read(st, 7, b) < 0)
		return store_errf(err, -EBADMSG, "extent %s: bad tags in the store", b->x.id);
	if (stats_read(st, 8, b) < 0)
		return store_errf(err, -EBADMSG, "extent %s: bad statistics in the store", b->x.id);
	return artifacts_read(s, sqlite3_column_int64(st, 0), b, err);
}

/* Only the id of an ST_EXT_PAGE row. */
static int extent_id_read(sqlite3_stmt *st, struct extent_buf *b, char *err)
{
	if (sqlite3_column_bytes(st, 1) != 16)
		return store_errf(err, -EBADMSG, "bad extent row in the store");
	store_uuid_format(sqlite3_column_blob(st, 1), b->x.id);
	return 0;
}

static int extents_walk(struct store *s, const struct store_dbrow *row, int64_t entity,
                        const struct store_extent_query *q,
                        int (*fn)(void *arg, int64_t id, const struct proto_extent *x), void *arg,
                        char *err)
{
	static const enum store_st page[] = {
	    [STORE_EXTENTS_VISIBLE] = ST_EXT_PAGE,
	    [STORE_EXTENTS_APPLIED] = ST_EXT_PAGE_APPLIED,
	    [STORE_EXTENTS_HELD] = ST_EXT_PAGE_HELD,
	};
	sqlite3_stmt *st;
	struct extent_buf b = {.x = {.table = (char *)q->table}};
	int r;

	if ((size_t)q->set >= sizeof(page) / sizeof(page[0]))
		return store_errf(err, -EINVAL, "extents: unknown set %d", (int)q->set);
	st = store_stmt(s, page[q->set], err);
	if (st == NULL)
		return -EIO;
	if (q->set == STORE_EXTENTS_VISIBLE)
		(void)sqlite3_bind_int64(st, 6, (int64_t)row->visible_version);
	(void)sqlite3_bind_int64(st, 1, entity);
	(void)sqlite3_bind_int64(st, 2, q->after);
	(void)sqlite3_bind_int64(st, 3, q->from);
	(void)sqlite3_bind_int64(st, 4, q->to);
	(void)sqlite3_bind_int64(st, 5, q->limit > 0 ? (int64_t)q->limit : 1000);
	while ((r = store_step_row(s, st, err, "extents")) == 1) {
		r = q->ids_only ? extent_id_read(st, &b, err) : extent_read(s, st, &b, err);
		if (r == 0)
			r = fn(arg, sqlite3_column_int64(st, 0), &b.x);
		extent_buf_reset(&b);
		if (r != 0)
			break;
	}
	(void)sqlite3_reset(st);
	free(b.x.artifacts);
	return r;
}

int store_extents(struct store *s, const struct store_extent_query *q,
                  int (*fn)(void *arg, int64_t id, const struct proto_extent *x), void *arg,
                  char *err)
{
	struct store_dbrow row = {0};
	sqlite3_stmt *st;
	int64_t entity = 0;
	int began = read_begin(s, err);
	int r = began;

	if (r >= 0)
		r = store_dbrow_find(s, q->config, &row, err);
	if (r >= 0 && (st = store_stmt(s, ST_ENT_FIND, err)) == NULL)
		r = -EIO;
	if (r >= 0) {
		(void)sqlite3_bind_int64(st, 1, row.id);
		(void)store_bind_text(st, 2, q->table);
		r = store_step_row(s, st, err, "entity");
		if (r == 1)
			entity = sqlite3_column_int64(st, 0);
		(void)sqlite3_reset(st);
		if (r == 0)
			r = store_errf(err, -ENOENT, "database '%s': no table '%s'", q->config,
			               q->table);
	}
	if (r >= 0)
		r = extents_walk(s, &row, entity, q, fn, arg, err);
	read_end(s, began);
	return r;
}

int store_extent_get(struct store *s, int64_t id,
                     int (*fn)(void *arg, int64_t id, const struct proto_extent *x), void *arg,
                     char *err)
{
	struct extent_buf b = {0};
	sqlite3_stmt *st;
	int began = read_begin(s, err);
	int r = began;

	if (r >= 0 && (st = store_stmt(s, ST_EXT_GET, err)) == NULL)
		r = -EIO;
	if (r >= 0) {
		(void)sqlite3_bind_int64(st, 1, id);
		r = store_step_row(s, st, err, "extent");
		if (r == 0)
			r = store_errf(err, -ENOENT, "no extent of id %lld", (long long)id);
		if (r == 1 && (r = extent_read(s, st, &b, err)) == 0)
			r = fn(arg, id, &b.x);
		extent_buf_reset(&b);
		(void)sqlite3_reset(st);
	}
	free(b.x.artifacts);
	read_end(s, began);
	return r;
}

/* ---- history ---- */

void store_history_free(struct store_history *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i].changes);
	free(v);
}

static int history_read(sqlite3_stmt *st, struct store_history *h)
{
	const char *uuid = (const char *)sqlite3_column_text(st, 0);

	memset(h, 0, sizeof(*h));
	(void)snprintf(h->uuid, sizeof(h->uuid), "%s", uuid != NULL ? uuid : "");
	h->version = (uint64_t)sqlite3_column_int64(st, 1);
	h->committed = sqlite3_column_int64(st, 2);
	h->applied = sqlite3_column_int64(st, 3);
	h->checkpoint = sqlite3_column_int(st, 4) != 0;
	h->extents_added = (uint64_t)sqlite3_column_int64(st, 5);
	h->extents_removed = (uint64_t)sqlite3_column_int64(st, 6);
	h->rows_added = (uint64_t)sqlite3_column_int64(st, 7);
	h->rows_removed = (uint64_t)sqlite3_column_int64(st, 8);
	h->bytes_added = (uint64_t)sqlite3_column_int64(st, 9);
	h->bytes_removed = (uint64_t)sqlite3_column_int64(st, 10);
	return store_col_dup(st, 11, &h->changes, true) ? 0 : -ENOMEM;
}

static int history_rows(struct store *s, int64_t db, size_t limit, struct store_history **ret,
                        size_t *ret_n, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_HIST_LIST, err);
	struct store_history *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_int64(st, 2, limit > 0 ? (int64_t)limit : -1);
	while ((r = store_step_row(s, st, err, "history")) == 1) {
		struct store_history *nv = store_grow(v, n, &cap, 16, sizeof(*v));

		if (nv == NULL) {
			r = -ENOMEM;
			break;
		}
		v = nv;
		r = history_read(st, &v[n]);
		if (r < 0)
			break;
		n++;
	}
	(void)sqlite3_reset(st);
	if (r < 0) {
		store_history_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int store_history(struct store *s, const char *config, size_t limit, struct store_history **ret,
                  size_t *ret_n, char *err)
{
	struct store_dbrow row = {0};
	int began = read_begin(s, err);
	int r = began;

	if (r >= 0)
		r = store_dbrow_find(s, config, &row, err);
	if (r >= 0)
		r = history_rows(s, row.id, limit, ret, ret_n, err);
	read_end(s, began);
	return r < 0 ? r : 0;
}

/* ---- ad-hoc reads ---- */

/* sql's statement from the ring, or prepared into it (replacing the oldest
 * idle one): read-only statements only.  *ret_slot is its slot, or -1 for a
 * statement of the caller's to finalize (every slot busy: nested queries). */
static int query_stmt(struct store *s, const char *sql, sqlite3_stmt **ret, int *ret_slot,
                      char *err)
{
	sqlite3_stmt *st = NULL;
	int slot = (int)s->qnext, rc;
	char *copy = NULL;

	for (int i = 0; i < STORE_QUERY_CACHE; i++)
		if (s->q[i].sql != NULL && !s->q[i].busy && strcmp(s->q[i].sql, sql) == 0) {
			*ret = s->q[i].st;
			*ret_slot = i;
			return 0;
		}
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return store_sqlerr(s, rc, err, "query");
	if (st == NULL || !sqlite3_stmt_readonly(st)) {
		(void)sqlite3_finalize(st);
		return store_errf(err, -EROFS, "query: not a read-only statement");
	}
	if (s->q[slot].busy || (copy = strdup(sql)) == NULL) {
		*ret = st;
		*ret_slot = -1;
		return 0;
	}
	(void)sqlite3_finalize(s->q[slot].st);
	free(s->q[slot].sql);
	s->q[slot].sql = copy;
	s->q[slot].st = st;
	s->qnext = (s->qnext + 1) % STORE_QUERY_CACHE;
	*ret = st;
	*ret_slot = slot;
	return 0;
}

int store_query(struct store *s, const char *sql,
                int (*fn)(void *arg, int ncols, const char *const *values), void *arg, char *err)
{
	const char *values[64];
	sqlite3_stmt *st = NULL;
	int rc, r = 0, n, slot = -1;

	if (!s->readonly)
		return store_errf(err, -EPERM, "ad-hoc queries run on read-only handles only");
	if ((r = query_stmt(s, sql, &st, &slot, err)) < 0)
		return r;
	if (slot >= 0)
		s->q[slot].busy = true;
	n = sqlite3_column_count(st);
	if (n > 64)
		n = 64;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			values[i] = (const char *)sqlite3_column_text(st, i);
		r = fn(arg, n, values);
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = store_sqlerr(s, rc, err, "query");
	if (slot < 0) {
		(void)sqlite3_finalize(st);
		return r;
	}
	(void)sqlite3_reset(st);
	s->q[slot].busy = false;
	return r;
}

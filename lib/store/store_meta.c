/*
 * store_meta — the rows of a database's metadata: entities and their ordered
 * columns, caching and retention policies, principals, extents with their
 * artifacts, and the history (see store_impl.h).  Each function is one small
 * step of a change; the caller holds the transaction.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- entities ---- */

static void bind_entity(sqlite3_stmt *st, int first, const struct proto_entity *e)
{
	(void)store_bind_text(st, first, store_kind_name(e->kind));
	(void)store_bind_text(st, first + 1, e->folder != NULL ? e->folder : "");
	(void)store_bind_text(st, first + 2, e->docstring != NULL ? e->docstring : "");
	(void)store_bind_text(st, first + 3, e->location);
	(void)store_bind_text(st, first + 4, e->source);
	(void)store_bind_text(st, first + 5, e->query);
}

static int columns_insert(struct store *s, int64_t id, const struct proto_entity *e, char *err)
{
	for (size_t i = 0; i < e->ncolumns; i++) {
		sqlite3_stmt *st = store_stmt(s, ST_COL_INSERT, err);
		const char *type = proto_coltype_name(e->columns[i].type);
		int r;

		if (st == NULL)
			return -EIO;
		if (type == NULL)
			return store_errf(err, -EINVAL, "%s.%s: bad column type", e->name,
			                  e->columns[i].name);
		(void)sqlite3_bind_int64(st, 1, id);
		(void)sqlite3_bind_int64(st, 2, (int64_t)i);
		(void)store_bind_text(st, 3, e->columns[i].name);
		(void)store_bind_text(st, 4, type);
		r = store_step_done(s, st, err, "column insert");
		if (r < 0)
			return r;
	}
	return 0;
}

int store_entity_insert(struct store *s, int64_t db, const struct proto_entity *e, int64_t *ret_id,
                        char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_ENT_INSERT, err);
	int64_t id;
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)store_bind_text(st, 2, e->name);
	bind_entity(st, 3, e);
	r = store_step_done(s, st, err, "entity insert");
	if (r < 0)
		return r;
	id = sqlite3_last_insert_rowid(s->db);
	r = columns_insert(s, id, e, err);
	if (r == 0)
		*ret_id = id;
	return r;
}

int store_entity_update(struct store *s, int64_t id, const struct proto_entity *e, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_ENT_UPDATE, err);
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, id);
	bind_entity(st, 2, e);
	r = store_step_done(s, st, err, "entity update");
	if (r == 0)
		r = store_run_id(s, ST_COL_DELETE, id, err);
	if (r == 0)
		r = columns_insert(s, id, e, err);
	return r;
}

int store_entity_totals(struct store *s, int64_t id, uint64_t extents, uint64_t rows,
                        uint64_t bytes, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_ENT_SET_TOTALS, err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, id);
	(void)sqlite3_bind_int64(st, 2, (int64_t)extents);
	(void)sqlite3_bind_int64(st, 3, (int64_t)rows);
	(void)sqlite3_bind_int64(st, 4, (int64_t)bytes);
	return store_step_done(s, st, err, "entity totals");
}

int store_excluded_put(struct store *s, int64_t db, const char *name, enum proto_kind kind,
                       char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_EXCL_PUT, err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)store_bind_text(st, 2, name);
	(void)store_bind_text(st, 3, store_kind_name(kind));
	return store_step_done(s, st, err, "excluded put");
}

static int columns_read(struct store *s, int64_t id, struct proto_entity *e, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_COL_LIST, err);
	size_t cap = 0;
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, id);
	while ((r = store_step_row(s, st, err, "columns")) == 1) {
		struct proto_column *c;

		c = store_grow(e->columns, e->ncolumns, &cap, 8, sizeof(*c));
		if (c == NULL) {
			r = -ENOMEM;
			break;
		}
		e->columns = c;
		c = &e->columns[e->ncolumns];
		if (proto_coltype_parse((const char *)sqlite3_column_text(st, 1), &c->type) < 0) {
			r = store_errf(err, -EBADMSG, "%s: bad column type in the store", e->name);
			break;
		}
		if (!store_col_dup(st, 0, &c->name, true)) {
			r = -ENOMEM;
			break;
		}
		e->ncolumns++;
	}
	(void)sqlite3_reset(st);
	return r;
}

int store_entity_read(struct store *s, sqlite3_stmt *st, struct proto_entity *ret, int64_t *ret_id,
                      char *err)
{
	struct proto_entity e = {0};
	int64_t id = sqlite3_column_int64(st, 0);
	int r = -ENOMEM;

	if (store_kind_parse((const char *)sqlite3_column_text(st, 2), &e.kind) < 0)
		return store_errf(err, -EBADMSG, "entity %lld: bad kind in the store",
		                  (long long)id);
	if (!store_col_dup(st, 1, &e.name, true) || !store_col_dup(st, 3, &e.folder, true) ||
	    !store_col_dup(st, 4, &e.docstring, true) ||
	    !store_col_dup(st, 5, &e.location, false) || !store_col_dup(st, 6, &e.source, false) ||
	    !store_col_dup(st, 7, &e.query, false))
		goto out;
	r = columns_read(s, id, &e, err);
out:
	if (r < 0) {
		proto_entity_clear(&e);
		return r;
	}
	*ret = e;
	*ret_id = id;
	return 0;
}

/* ---- policies ---- */

/* Windows as stored: "[[min,max],...]" in ticks, NULL when there are none. */
static int windows_encode(const struct proto_caching *p, char **ret)
{
	json_t *a;

	*ret = NULL;
	if (p->nwindows == 0)
		return 0;
	a = json_array();
	for (size_t i = 0; a != NULL && i < p->nwindows; i++)
		if (json_array_append_new(a, json_pack("[II]", (json_int_t)p->windows[i].min,
		                                       (json_int_t)p->windows[i].max)) < 0) {
			json_decref(a);
			a = NULL;
		}
	*ret = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return *ret != NULL ? 0 : -ENOMEM;
}

static int windows_decode(const char *text, struct proto_caching *p)
{
	json_t *a = text != NULL ? json_loads(text, 0, NULL) : NULL;
	size_t i;
	json_t *w;
	int r = -EBADMSG;

	if (text == NULL)
		return 0;
	if (!json_is_array(a))
		goto out;
	p->windows = calloc(json_array_size(a) + 1, sizeof(*p->windows));
	if (p->windows == NULL) {
		r = -ENOMEM;
		goto out;
	}
	json_array_foreach(a, i, w)
	{
		json_int_t min, max;

		if (json_unpack(w, "[II]", &min, &max) < 0)
			goto out;
		p->windows[i].min = min;
		p->windows[i].max = max;
		p->nwindows = i + 1;
	}
	r = 0;
out:
	json_decref(a);
	return r;
}

int store_caching_read(struct store *s, int64_t db, int64_t entity, bool *ret_has,
                       struct proto_caching *ret, char *err)
{
	struct proto_caching p = {0};
	sqlite3_stmt *st = store_stmt(s, ST_CACHING_GET, err);
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_int64(st, 2, entity);
	r = store_step_row(s, st, err, "caching policy");
	if (r <= 0) {
		*ret_has = false;
		return r;
	}
	p.hot_span = sqlite3_column_int64(st, 0);
	r = windows_decode((const char *)sqlite3_column_text(st, 1), &p);
	(void)sqlite3_reset(st);
	if (r < 0) {
		proto_caching_clear(&p);
		return store_errf(err, r, "caching policy: bad windows in the store");
	}
	*ret = p;
	*ret_has = true;
	return 0;
}

int store_retention_read(struct store *s, int64_t db, int64_t entity, bool *ret_has,
                         struct proto_retention *ret, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_RETENTION_GET, err);
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_int64(st, 2, entity);
	r = store_step_row(s, st, err, "retention policy");
	if (r <= 0) {
		*ret_has = false;
		return r;
	}
	ret->soft_delete = sqlite3_column_int64(st, 0);
	ret->recoverability = sqlite3_column_int(st, 1) != 0;
	(void)sqlite3_reset(st);
	*ret_has = true;
	return 0;
}

/* Binds (db, entity) and runs the delete statement id. */
static int policy_delete(struct store *s, enum store_st id, int64_t db, int64_t entity, char *err)
{
	sqlite3_stmt *st = store_stmt(s, id, err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_int64(st, 2, entity);
	return store_step_done(s, st, err, "policy delete");
}

int store_caching_write(struct store *s, int64_t db, int64_t entity, const struct proto_caching *p,
                        char *err)
{
	sqlite3_stmt *st;
	char *windows = NULL;
	int r;

	if (p == NULL)
		return policy_delete(s, ST_CACHING_DELETE, db, entity, err);
	st = store_stmt(s, ST_CACHING_PUT, err);
	if (st == NULL)
		return -EIO;
	r = windows_encode(p, &windows);
	if (r < 0)
		return r;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_int64(st, 2, entity);
	(void)sqlite3_bind_int64(st, 3, p->hot_span);
	(void)store_bind_text(st, 4, windows);
	r = store_step_done(s, st, err, "caching policy");
	free(windows);
	return r;
}

int store_retention_write(struct store *s, int64_t db, int64_t entity,
                          const struct proto_retention *p, char *err)
{
	sqlite3_stmt *st;

	if (p == NULL)
		return policy_delete(s, ST_RETENTION_DELETE, db, entity, err);
	st = store_stmt(s, ST_RETENTION_PUT, err);
	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_int64(st, 2, entity);
	(void)sqlite3_bind_int64(st, 3, p->soft_delete);
	(void)sqlite3_bind_int(st, 4, p->recoverability);
	return store_step_done(s, st, err, "retention policy");
}

/* ---- principals ---- */

void store_principals_free(struct proto_principal *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++) {
		free(v[i].fqn);
		free(v[i].name);
	}
	free(v);
}

/* Appends the row of st to *v; false on ENOMEM. */
static bool principal_push(sqlite3_stmt *st, struct proto_principal **v, size_t *n, size_t *cap)
{
	struct proto_principal *nv = store_grow(*v, *n, cap, 8, sizeof(*nv));

	if (nv == NULL)
		return false;
	*v = nv;
	(*v)[*n].name = NULL;
	if (!store_col_dup(st, 0, &(*v)[*n].fqn, true))
		return false;
	(*n)++;
	return store_col_dup(st, 1, &(*v)[*n - 1].name, true);
}

int store_principals_read(struct store *s, int64_t db, enum proto_role role,
                          struct proto_principal **ret, size_t *ret_n, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_PRIN_LIST, err);
	struct proto_principal *v = NULL;
	size_t n = 0, cap = 0;
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)store_bind_text(st, 2, proto_role_name(role));
	while ((r = store_step_row(s, st, err, "principals")) == 1)
		if (!principal_push(st, &v, &n, &cap)) {
			r = -ENOMEM;
			break;
		}
	(void)sqlite3_reset(st);
	if (r < 0) {
		store_principals_free(v, n);
		return r;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

int store_principals_write(struct store *s, int64_t db, enum proto_role role,
                           const struct proto_principal *v, size_t n, char *err)
{
	const char *name = proto_role_name(role);
	sqlite3_stmt *st = store_stmt(s, ST_PRIN_DELETE, err);
	int r;

	if (st == NULL)
		return -EIO;
	if (name == NULL)
		return store_errf(err, -EINVAL, "bad role %d", (int)role);
	(void)sqlite3_bind_int64(st, 1, db);
	(void)store_bind_text(st, 2, name);
	r = store_step_done(s, st, err, "principals delete");
	for (size_t i = 0; r == 0 && i < n; i++) {
		st = store_stmt(s, ST_PRIN_INSERT, err);
		if (st == NULL)
			return -EIO;
		(void)sqlite3_bind_int64(st, 1, db);
		(void)store_bind_text(st, 2, name);
		(void)sqlite3_bind_int64(st, 3, (int64_t)i);
		(void)store_bind_text(st, 4, v[i].fqn);
		(void)store_bind_text(st, 5, v[i].name != NULL ? v[i].name : "");
		r = store_step_done(s, st, err, "principal insert");
	}
	return r;
}

/* ---- extents ---- */

const char *store_path_stored(const struct proto_artifact *a)
{
	const char *p = a->path;

	if (p == NULL)
		return "";
	if (strncmp(p, "artifacts/", 10) == 0 && p[10] == a->sha256[0] && p[11] == a->sha256[1] &&
	    p[12] == '/' && strcmp(p + 13, a->sha256) == 0)
		return NULL;
	return p;
}

void store_path_canonical(const char *sha256, char *buf)
{
	(void)snprintf(buf, STORE_PATH_CANONICAL, "artifacts/%.2s/%s", sha256, sha256);
}

int store_tags_encode(char *const *tags, size_t n, char **ret)
{
	json_t *a;

	*ret = NULL;
	if (n == 0)
		return 0;
	a = json_array();
	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(tags[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	*ret = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return *ret != NULL ? 0 : -ENOMEM;
}

int store_data_encode(const struct proto_artifact *a, char **ret)
{
	const char *f =
	    a->format == PROTO_FMT_UNKNOWN ? a->format_text : proto_format_name(a->format);
	const char *c = a->compression == PROTO_COMP_UNKNOWN
	                    ? a->compression_text
	                    : proto_compression_name(a->compression);

	*ret = NULL;
	if (a->format == PROTO_FMT_NONE)
		return 0;
	if (asprintf(ret, "%s %s %d", f ? f : "?", c ? c : "?", a->ignore_first_record ? 1 : 0) <
	    0) {
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* [name, nulls, min, max, type]: the type is the column's as the rows were
 * written (docs/PROTOCOL.md, "Column statistics"). */
static json_t *colstat_json(const struct proto_colstat *c)
{
	return json_pack("[s,I,s?,s?,s]", c->name, (json_int_t)c->nulls, c->min, c->max,
	                 proto_coltype_name(c->type));
}

int store_stats_encode(const struct proto_extent *x, char **ret)
{
	json_t *a;

	*ret = NULL;
	if (x->nstats == 0)
		return 0;
	a = json_array();
	for (size_t i = 0; a != NULL && i < x->nstats; i++)
		if (json_array_append_new(a, colstat_json(&x->stats[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	*ret = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return *ret != NULL ? 0 : -ENOMEM;
}

static uint64_t extent_bytes(const struct proto_extent *x)
{
	uint64_t b = 0;

	for (size_t i = 0; i < x->nartifacts; i++)
		b += x->artifacts[i].size;
	return b;
}

int store_artifact_put(struct store *s, sqlite3_stmt *st, int64_t key, const struct proto_extent *x,
                       size_t i, const char *what, char *err)
{
	const struct proto_artifact *a = &x->artifacts[i];
	unsigned char sha[32];
	char *data = NULL;
	int r;

	if (store_sha_parse(a->sha256, sha) < 0)
		return store_errf(err, -EINVAL, "extent %s: artifacts[%zu]: bad sha256", x->id, i);
	if (store_data_encode(a, &data) < 0)
		return store_errf(err, -ENOMEM, "out of memory");
	(void)sqlite3_bind_int64(st, 1, key);
	(void)sqlite3_bind_int64(st, 2, (int64_t)i);
	(void)store_bind_text(st, 3, a->name != NULL ? a->name : "");
	(void)store_bind_text(st, 4, store_path_stored(a));
	(void)sqlite3_bind_int64(st, 5, (int64_t)a->size);
	(void)sqlite3_bind_blob(st, 6, sha, sizeof(sha), SQLITE_STATIC);
	(void)store_bind_text(st, 7, data);
	r = store_step_done(s, st, err, what);
	free(data);
	return r;
}

static int artifacts_insert(struct store *s, int64_t id, const struct proto_extent *x, char *err)
{
	for (size_t i = 0; i < x->nartifacts; i++) {
		sqlite3_stmt *st = store_stmt(s, ST_ART_INSERT, err);
		int r;

		if (st == NULL)
			return -EIO;
		r = store_artifact_put(s, st, id, x, i, "artifact insert", err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* -EINVAL when database db holds extent uuid already. */
static int extent_absent(struct store *s, int64_t db, const unsigned char uuid[16], const char *id,
                         char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_EXT_EXISTS, err);
	int r;

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_blob(st, 2, uuid, 16, SQLITE_STATIC);
	r = store_step_row(s, st, err, "extent");
	(void)sqlite3_reset(st);
	if (r == 1)
		return store_errf(err, -EINVAL, "extent %s: already exists", id);
	return r;
}

int store_extent_insert(struct store *s, int64_t db, int64_t entity, const struct proto_extent *x,
                        uint64_t added, char *err)
{
	unsigned char uuid[16];
	char *tags = NULL, *stats = NULL;
	sqlite3_stmt *st;
	int r;

	if (store_uuid_parse(x->id, uuid) < 0)
		return store_errf(err, -EINVAL, "extent '%.36s': bad id", x->id);
	r = extent_absent(s, db, uuid, x->id, err);
	if (r == 0)
		r = store_tags_encode(x->tags, x->ntags, &tags);
	if (r == 0)
		r = store_stats_encode(x, &stats);
	if (r < 0 || (st = store_stmt(s, ST_EXT_INSERT, err)) == NULL) {
		free(tags);
		free(stats);
		return r < 0 ? r : -EIO;
	}
	(void)sqlite3_bind_int64(st, 1, db);
	(void)sqlite3_bind_int64(st, 2, entity);
	(void)sqlite3_bind_blob(st, 3, uuid, sizeof(uuid), SQLITE_STATIC);
	(void)sqlite3_bind_int64(st, 4, x->min_created);
	(void)sqlite3_bind_int64(st, 5, x->max_created);
	(void)sqlite3_bind_int64(st, 6, (int64_t)x->rows);
	(void)sqlite3_bind_int64(st, 7, (int64_t)x->original_size);
	(void)sqlite3_bind_int64(st, 8, (int64_t)x->compressed_size);
	(void)sqlite3_bind_int64(st, 9, (int64_t)extent_bytes(x));
	(void)store_bind_text(st, 10, tags);
	(void)sqlite3_bind_int64(st, 11, (int64_t)added);
	(void)store_bind_text(st, 12, stats);
	r = store_step_done(s, st, err, "extent insert");
	free(tags);
	free(stats);
	if (r < 0)
		return r;
	return artifacts_insert(s, sqlite3_last_insert_rowid(s->db), x, err);
}

int store_purge_held(struct store *s, const struct store_dbrow *row, char *err)
{
	int r;

	if (row->visible_version >= row->applied_version)
		return 0;
	r = store_run_id(s, ST_PURGE_ARTIFACTS, row->id, err);
	if (r == 0)
		r = store_run_id(s, ST_PURGE_EXTENTS, row->id, err);
	return r;
}

/* ---- history ---- */

/* The history's change text: the change list, plus note when not NULL. */
static char *changes_text(const struct store_summary *sum, const char *note_json)
{
	json_t *a = diff_list_to_json(&sum->changes);
	json_t *note = note_json != NULL ? json_loads(note_json, 0, NULL) : NULL;
	char *text = NULL;

	if (a != NULL && (note_json == NULL || json_array_append(a, note) == 0))
		text = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(note);
	json_decref(a);
	return text;
}

int store_history_add(struct store *s, int64_t db, const char *uuid, uint64_t version,
                      int64_t committed, bool checkpoint, const struct store_summary *sum,
                      const char *note_json, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_HIST_INSERT, err);
	char *text = changes_text(sum, note_json);
	int r = -ENOMEM;

	if (st == NULL || text == NULL)
		goto out;
	(void)sqlite3_bind_int64(st, 1, db);
	(void)store_bind_text(st, 2, uuid);
	(void)sqlite3_bind_int64(st, 3, (int64_t)version);
	(void)sqlite3_bind_int64(st, 4, committed);
	(void)sqlite3_bind_int64(st, 5, store_now());
	(void)sqlite3_bind_int(st, 6, checkpoint);
	(void)sqlite3_bind_int64(st, 7, (int64_t)sum->extents_added);
	(void)sqlite3_bind_int64(st, 8, (int64_t)sum->extents_removed);
	(void)sqlite3_bind_int64(st, 9, (int64_t)sum->rows_added);
	(void)sqlite3_bind_int64(st, 10, (int64_t)sum->rows_removed);
	(void)sqlite3_bind_int64(st, 11, (int64_t)sum->bytes_added);
	(void)sqlite3_bind_int64(st, 12, (int64_t)sum->bytes_removed);
	(void)store_bind_text(st, 13, text);
	r = store_step_done(s, st, err, "history insert");
	if (r == 0 && (st = store_stmt(s, ST_HIST_TRIM, err)) == NULL)
		r = -EIO;
	if (r == 0) {
		(void)sqlite3_bind_int64(st, 1, db);
		(void)sqlite3_bind_int64(st, 2, STORE_HISTORY_MAX);
		r = store_step_done(s, st, err, "history trim");
	}
out:
	if (st == NULL && r == -ENOMEM)
		r = -EIO;
	free(text);
	return r;
}

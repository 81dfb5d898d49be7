/*
 * diff — what changed between two versions of a database's metadata
 * (see diff.h).  Columns and principals are matched by name through sorted
 * index arrays (qsort_r: no shared state, safe on a worker thread), so a
 * 10,000-column alter or a 10,000-principal role costs O(n log n), not
 * O(n * m).
 */
#include "store/diff.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const what_names[] = {
    [DIFF_CREATED] = "created",
    [DIFF_DROPPED] = "dropped",
    [DIFF_KIND_CHANGED] = "kind_changed",
    [DIFF_COLUMN_ADDED] = "column_added",
    [DIFF_COLUMN_DROPPED] = "column_dropped",
    [DIFF_COLUMN_RETYPED] = "column_retyped",
    [DIFF_COLUMNS_REORDERED] = "columns_reordered",
    [DIFF_FOLDER_CHANGED] = "folder_changed",
    [DIFF_DOCSTRING_CHANGED] = "docstring_changed",
    [DIFF_LOCATION_CHANGED] = "location_changed",
    [DIFF_SOURCE_CHANGED] = "source_changed",
    [DIFF_QUERY_CHANGED] = "query_changed",
    [DIFF_CACHING_CHANGED] = "caching_changed",
    [DIFF_RETENTION_CHANGED] = "retention_changed",
    [DIFF_PRINCIPAL_ADDED] = "principal_added",
    [DIFF_PRINCIPAL_REMOVED] = "principal_removed",
    [DIFF_PRINCIPAL_RENAMED] = "principal_renamed",
};

const char *diff_what_name(enum diff_what what)
{
	return (size_t)what < N_ELEMENTS(what_names) ? what_names[what] : NULL;
}

void diff_list_clear(struct diff_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].entity);
		free(l->v[i].item);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int dup_or_null(const char *s, char **ret)
{
	*ret = NULL;
	if (s == NULL)
		return 0;
	*ret = strdup(s);
	return *ret != NULL ? 0 : -ENOMEM;
}

int diff_list_add(struct diff_list *l, const struct diff_change *c)
{
	struct diff_change copy = *c;

	if (l->n == l->cap) {
		size_t cap = l->cap > 0 ? l->cap * 2 : 8;
		struct diff_change *v = reallocarray(l->v, cap, sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	if (dup_or_null(c->entity, &copy.entity) < 0)
		return -ENOMEM;
	if (dup_or_null(c->item, &copy.item) < 0) {
		free(copy.entity);
		return -ENOMEM;
	}
	l->v[l->n++] = copy;
	return 0;
}

/* Appends a change about entity e with no item. */
static int add_simple(struct diff_list *out, enum diff_what what, const struct proto_entity *e)
{
	struct diff_change c = {.what = what, .kind = e->kind, .entity = e->name};

	return diff_list_add(out, &c);
}

/* strcmp that treats NULL as "". */
static int str_cmp(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

/* ---- columns ---- */

/* Matching of the two column lists: for each old column the position of the
 * same-named new column (SIZE_MAX: dropped), and the reverse. */
struct colmatch {
	size_t *new_of_old;
	size_t *old_of_new;
};

static int cmp_colidx(const void *a, const void *b, void *arg)
{
	const struct proto_column *cols = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(cols[x].name, cols[y].name);

	if (r != 0)
		return r;
	return x < y ? -1 : x > y;
}

static size_t *sorted_index(const struct proto_column *cols, size_t n)
{
	size_t *idx = calloc(n > 0 ? n : 1, sizeof(*idx));

	if (idx == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_colidx, (void *)cols);
	return idx;
}

/* Fills m by a merge of both lists sorted by name. */
static int match_columns(const struct proto_entity *old, const struct proto_entity *new,
                         struct colmatch *m)
{
	size_t *a = sorted_index(old->columns, old->ncolumns);
	size_t *b = sorted_index(new->columns, new->ncolumns);
	size_t i = 0, j = 0;
	int r = -ENOMEM;

	m->new_of_old = malloc((old->ncolumns + 1) * sizeof(size_t));
	m->old_of_new = malloc((new->ncolumns + 1) * sizeof(size_t));
	if (a == NULL || b == NULL || m->new_of_old == NULL || m->old_of_new == NULL)
		goto out;
	memset(m->new_of_old, 0xff, (old->ncolumns + 1) * sizeof(size_t));
	memset(m->old_of_new, 0xff, (new->ncolumns + 1) * sizeof(size_t));
	while (i < old->ncolumns && j < new->ncolumns) {
		int c = strcmp(old->columns[a[i]].name, new->columns[b[j]].name);

		if (c == 0) {
			m->new_of_old[a[i]] = b[j];
			m->old_of_new[b[j]] = a[i];
		}
		i += c <= 0;
		j += c >= 0;
	}
	r = 0;
out:
	free(a);
	free(b);
	return r;
}

/* True when the columns both versions have appear in another order. */
static bool reordered(const struct proto_entity *old, const struct colmatch *m)
{
	size_t last = 0;
	bool first = true;

	for (size_t i = 0; i < old->ncolumns; i++) {
		size_t p = m->new_of_old[i];

		if (p == SIZE_MAX)
			continue;
		if (!first && p < last)
			return true;
		last = p;
		first = false;
	}
	return false;
}

static int add_column(struct diff_list *out, enum diff_what what, const struct proto_entity *e,
                      const char *column, enum proto_coltype old_type, enum proto_coltype new_type)
{
	struct diff_change c = {.what = what,
	                        .kind = e->kind,
	                        .entity = e->name,
	                        .item = (char *)column,
	                        .old_type = old_type,
	                        .new_type = new_type};

	return diff_list_add(out, &c);
}

static int column_changes(const struct proto_entity *old, const struct proto_entity *new,
                          const struct colmatch *m, struct diff_list *out)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < old->ncolumns; i++)
		if (m->new_of_old[i] == SIZE_MAX)
			r = add_column(out, DIFF_COLUMN_DROPPED, new, old->columns[i].name,
			               old->columns[i].type, 0);
	for (size_t j = 0; r == 0 && j < new->ncolumns; j++)
		if (m->old_of_new[j] == SIZE_MAX)
			r = add_column(out, DIFF_COLUMN_ADDED, new, new->columns[j].name, 0,
			               new->columns[j].type);
	for (size_t j = 0; r == 0 && j < new->ncolumns; j++) {
		size_t i = m->old_of_new[j];

		if (i != SIZE_MAX && old->columns[i].type != new->columns[j].type)
			r = add_column(out, DIFF_COLUMN_RETYPED, new, new->columns[j].name,
			               old->columns[i].type, new->columns[j].type);
	}
	if (r == 0 && reordered(old, m))
		r = add_simple(out, DIFF_COLUMNS_REORDERED, new);
	return r;
}

static int text_changes(const struct proto_entity *old, const struct proto_entity *new,
                        struct diff_list *out)
{
	static const struct {
		enum diff_what what;
		size_t offset;
	} texts[] = {
	    {DIFF_FOLDER_CHANGED, offsetof(struct proto_entity, folder)},
	    {DIFF_DOCSTRING_CHANGED, offsetof(struct proto_entity, docstring)},
	    {DIFF_LOCATION_CHANGED, offsetof(struct proto_entity, location)},
	    {DIFF_SOURCE_CHANGED, offsetof(struct proto_entity, source)},
	    {DIFF_QUERY_CHANGED, offsetof(struct proto_entity, query)},
	};
	int r = 0;

	for (size_t i = 0; r == 0 && i < N_ELEMENTS(texts); i++) {
		const char *a = *(char *const *)((const char *)old + texts[i].offset);
		const char *b = *(char *const *)((const char *)new + texts[i].offset);

		if (str_cmp(a, b) != 0)
			r = add_simple(out, texts[i].what, new);
	}
	return r;
}

int diff_entity(const struct proto_entity *old, const struct proto_entity *new,
                struct diff_list *out)
{
	struct colmatch m = {0};
	int r;

	if (old == NULL)
		return new != NULL ? add_simple(out, DIFF_CREATED, new) : 0;
	if (new == NULL)
		return add_simple(out, DIFF_DROPPED, old);
	if (old->kind != new->kind) {
		struct diff_change c = {.what = DIFF_KIND_CHANGED,
		                        .kind = new->kind,
		                        .old_kind = old->kind,
		                        .entity = new->name};

		r = diff_list_add(out, &c);
		if (r < 0)
			return r;
	}
	r = match_columns(old, new, &m);
	if (r == 0)
		r = column_changes(old, new, &m, out);
	if (r == 0)
		r = text_changes(old, new, out);
	free(m.new_of_old);
	free(m.old_of_new);
	return r;
}

/* ---- policies ---- */

bool diff_caching_equal(const struct proto_caching *a, const struct proto_caching *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	if (a->hot_span != b->hot_span || a->nwindows != b->nwindows)
		return false;
	for (size_t i = 0; i < a->nwindows; i++)
		if (a->windows[i].min != b->windows[i].min ||
		    a->windows[i].max != b->windows[i].max)
			return false;
	return true;
}

bool diff_retention_equal(const struct proto_retention *a, const struct proto_retention *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return a->soft_delete == b->soft_delete && a->recoverability == b->recoverability;
}

static int add_policy(struct diff_list *out, enum diff_what what, const char *entity,
                      enum proto_kind kind)
{
	struct diff_change c = {.what = what, .kind = kind, .entity = (char *)entity};

	return diff_list_add(out, &c);
}

int diff_caching(const char *entity, enum proto_kind kind, const struct proto_caching *old,
                 const struct proto_caching *new, struct diff_list *out)
{
	if (diff_caching_equal(old, new))
		return 0;
	return add_policy(out, DIFF_CACHING_CHANGED, entity, kind);
}

int diff_retention(const char *entity, enum proto_kind kind, const struct proto_retention *old,
                   const struct proto_retention *new, struct diff_list *out)
{
	if (diff_retention_equal(old, new))
		return 0;
	return add_policy(out, DIFF_RETENTION_CHANGED, entity, kind);
}

/* ---- principals ---- */

static int cmp_prinidx(const void *a, const void *b, void *arg)
{
	const struct proto_principal *v = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int r = strcmp(v[x].fqn, v[y].fqn);

	if (r != 0)
		return r;
	return x < y ? -1 : x > y;
}

/* Indices of v sorted by fqn, duplicates after the first removed; *ret_n. */
static size_t *prin_index(const struct proto_principal *v, size_t n, size_t *ret_n)
{
	size_t *idx = calloc(n > 0 ? n : 1, sizeof(*idx));
	size_t k = 0;

	if (idx == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_prinidx, (void *)v);
	for (size_t i = 0; i < n; i++)
		if (k == 0 || strcmp(v[idx[k - 1]].fqn, v[idx[i]].fqn) != 0)
			idx[k++] = idx[i];
	*ret_n = k;
	return idx;
}

static int add_principal(struct diff_list *out, enum diff_what what, enum proto_role role,
                         const char *fqn)
{
	struct diff_change c = {.what = what, .role = role, .item = (char *)fqn};

	return diff_list_add(out, &c);
}

int diff_principals(enum proto_role role, const struct proto_principal *old, size_t nold,
                    const struct proto_principal *new, size_t nnew, struct diff_list *out)
{
	size_t na = 0, nb = 0, i = 0, j = 0;
	size_t *a = prin_index(old, nold, &na);
	size_t *b = prin_index(new, nnew, &nb);
	int r = a != NULL && b != NULL ? 0 : -ENOMEM;

	while (r == 0 && (i < na || j < nb)) {
		int c = i == na ? 1 : j == nb ? -1 : strcmp(old[a[i]].fqn, new[b[j]].fqn);

		if (c < 0)
			r = add_principal(out, DIFF_PRINCIPAL_REMOVED, role, old[a[i]].fqn);
		else if (c > 0)
			r = add_principal(out, DIFF_PRINCIPAL_ADDED, role, new[b[j]].fqn);
		else if (str_cmp(old[a[i]].name, new[b[j]].name) != 0)
			r = add_principal(out, DIFF_PRINCIPAL_RENAMED, role, new[b[j]].fqn);
		i += c <= 0;
		j += c >= 0;
	}
	free(a);
	free(b);
	return r;
}

/* ---- JSON ---- */

static bool is_column(enum diff_what w)
{
	return w == DIFF_COLUMN_ADDED || w == DIFF_COLUMN_DROPPED || w == DIFF_COLUMN_RETYPED;
}

static bool is_principal(enum diff_what w)
{
	return w == DIFF_PRINCIPAL_ADDED || w == DIFF_PRINCIPAL_REMOVED ||
	       w == DIFF_PRINCIPAL_RENAMED;
}

/* Sets key to a string value; false on ENOMEM. */
static bool set_str(json_t *o, const char *key, const char *value)
{
	return json_object_set_new(o, key, json_string(value)) == 0;
}

static json_t *change_to_json(const struct diff_change *c)
{
	json_t *o = json_object();
	bool ok = o != NULL && set_str(o, "change", diff_what_name(c->what));

	if (ok && is_principal(c->what))
		ok = set_str(o, "role", proto_role_name(c->role)) && set_str(o, "fqn", c->item);
	else if (ok && c->entity != NULL)
		ok =
		    set_str(o, "kind", proto_kind_name(c->kind)) && set_str(o, "entity", c->entity);
	if (ok && c->what == DIFF_KIND_CHANGED)
		ok = set_str(o, "old_kind", proto_kind_name(c->old_kind));
	if (ok && is_column(c->what))
		ok = set_str(o, "column", c->item);
	if (ok && (c->what == DIFF_COLUMN_DROPPED || c->what == DIFF_COLUMN_RETYPED))
		ok = set_str(o, "old_type", proto_coltype_name(c->old_type));
	if (ok && (c->what == DIFF_COLUMN_ADDED || c->what == DIFF_COLUMN_RETYPED))
		ok = set_str(o, "new_type", proto_coltype_name(c->new_type));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *diff_list_to_json(const struct diff_list *l)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < l->n; i++) {
		if (json_array_append_new(a, change_to_json(&l->v[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

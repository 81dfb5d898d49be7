/*
 * kusto_follow — the follower's own settings: .show follower database(s)
 * and the control commands that change them.
 *
 * A control command is a read-modify-write: the backend's current settings
 * are copied, the command applied to the copy (so adding a principal twice
 * or deleting an override that is not there changes nothing), the whole new
 * settings handed to the backend's set_follower, and the answer is the
 * database's .show follower database row read back after the change.
 *
 * .show follower database columns and their order: Azure Data Explorer's
 * "Follower commands" page (cluster-follower), whose sample output (evaluate
 * narrow(), which keeps the order) is DatabaseName, LeaderClusterMetadataPath,
 * CachingPolicyOverride, AuthorizedPrincipalsOverride,
 * AuthorizedPrincipalsModificationKind, IsAutoPrefetchEnabled,
 * TableMetadataOverrides, CachingPoliciesModificationKind; the kinds are
 * written "None" / "Union" / "Replace" as there, the overrides as the JSON
 * it shows (null when there is none, "[]" for no principals).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "kusto/kusto_int.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct kusto_column follower_cols[] = {
    {"DatabaseName", KUSTO_T_STRING},
    {"LeaderClusterMetadataPath", KUSTO_T_STRING},
    {"CachingPolicyOverride", KUSTO_T_STRING},
    {"AuthorizedPrincipalsOverride", KUSTO_T_STRING},
    {"AuthorizedPrincipalsModificationKind", KUSTO_T_STRING},
    {"IsAutoPrefetchEnabled", KUSTO_T_BOOL},
    {"TableMetadataOverrides", KUSTO_T_STRING},
    {"CachingPoliciesModificationKind", KUSTO_T_STRING},
};

/* ---- owned copies ---- */

void kusto_follower_clear(struct kusto_follower *f)
{
	if (f == NULL)
		return;
	/* Every pointer of an owned copy was allocated here (const for the
	 * backend's sake only). */
	free((char *)f->database);
	free((char *)f->root);
	proto_caching_clear(&f->caching);
	for (size_t i = 0; i < f->ntables; i++)
		free(f->tables[i].table);
	free((struct conf_table_hot *)f->tables);
	for (size_t i = 0; i < f->nprincipals; i++) {
		free((char *)f->principals[i].fqn);
		free((char *)f->principals[i].name);
		free((char *)f->principals[i].notes);
	}
	free((struct kusto_principal *)f->principals);
	*f = (struct kusto_follower){0};
}

static char *dup_or_empty(const char *s)
{
	return strdup(s != NULL ? s : "");
}

static int copy_tables(struct kusto_follower *dst, const struct kusto_follower *src)
{
	struct conf_table_hot *v = calloc(src->ntables + 1, sizeof(*v));

	dst->tables = v;
	if (v == NULL)
		return -ENOMEM;
	for (; dst->ntables < src->ntables; dst->ntables++) {
		v[dst->ntables].hot = src->tables[dst->ntables].hot;
		v[dst->ntables].table = dup_or_empty(src->tables[dst->ntables].table);
		if (v[dst->ntables].table == NULL)
			return -ENOMEM;
	}
	return 0;
}

static int copy_principals(struct kusto_follower *dst, const struct kusto_follower *src)
{
	struct kusto_principal *v = calloc(src->nprincipals + 1, sizeof(*v));

	dst->principals = v;
	if (v == NULL)
		return -ENOMEM;
	for (; dst->nprincipals < src->nprincipals; dst->nprincipals++) {
		const struct kusto_principal *p = &src->principals[dst->nprincipals];
		struct kusto_principal *q = &v[dst->nprincipals];
		q->role = p->role;
		q->fqn = dup_or_empty(p->fqn);
		q->name = dup_or_empty(p->name);
		q->notes = dup_or_empty(p->notes);
		if (q->fqn == NULL || q->name == NULL || q->notes == NULL) {
			dst->nprincipals++; /* so that clear frees this one too */
			return -ENOMEM;
		}
	}
	return 0;
}

/* A deep copy of src into dst (cleared by the caller also on failure). */
static int follower_copy(struct kusto_follower *dst, const struct kusto_follower *src)
{
	*dst = (struct kusto_follower){
	    .has_caching = src->has_caching,
	    .principals_kind = src->principals_kind,
	    .caching_kind = src->caching_kind,
	    .prefetch = src->prefetch,
	};
	dst->database = dup_or_empty(src->database);
	dst->root = dup_or_empty(src->root);
	if (dst->database == NULL || dst->root == NULL)
		return -ENOMEM;
	if (src->has_caching && proto_caching_copy(&dst->caching, &src->caching) < 0)
		return -ENOMEM;
	if (copy_tables(dst, src) < 0)
		return -ENOMEM;
	return copy_principals(dst, src);
}

struct follower_get {
	struct kusto_exec *x;
	struct kusto_follower *f;
	bool got;
};

static int copy_follower(void *ctx, const struct kusto_follower *src)
{
	struct follower_get *g = ctx;

	g->got = true;
	kusto_follower_clear(g->f);
	if (follower_copy(g->f, src) == 0)
		return 0;
	kusto_follower_clear(g->f);
	return kusto_exec_oom(g->x);
}

int kusto_follower_get(struct kusto_exec *x, const char *db, struct kusto_follower *ret)
{
	const struct kusto_backend *be = x->be;
	struct follower_get g = {.x = x, .f = ret};

	*ret = (struct kusto_follower){0};
	int r = be->follower(be->arg, db, copy_follower, &g, x->berr);
	/* The backend promises one call of emit: none means no such database. */
	r = kusto_exec_backend(x, r == 0 && !g.got ? -ENOENT : r, db);
	if (r < 0)
		kusto_follower_clear(ret);
	return r;
}

/* ---- .show follower database ---- */

static const char *kind_title(enum conf_modkind k)
{
	static const char *const titles[] = {"None", "Union", "Replace"};

	return (unsigned)k < NCOLS(titles) ? titles[k] : "?";
}

/* [{"Principal":{"FullyQualifiedName","DisplayName"},"Role","Notes"}] */
static json_t *principals_json(const struct kusto_follower *f)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < f->nprincipals; i++) {
		const struct kusto_principal *p = &f->principals[i];
		json_t *v = json_pack("{s:{s:s, s:s}, s:s, s:s}", "Principal", "FullyQualifiedName",
		                      p->fqn, "DisplayName", p->name, "Role",
		                      kusto_role_title(p->role), "Notes", p->notes);
		if (json_array_append_new(arr, v) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* {"T":{"CachingPolicyOverride":{...}}}, or null when there is none. */
static json_t *tables_json(const struct kusto_follower *f)
{
	json_t *obj = f->ntables > 0 ? json_object() : json_null();

	for (size_t i = 0; obj != NULL && i < f->ntables; i++) {
		json_t *v = json_pack("{s:o}", "CachingPolicyOverride",
		                      kusto_caching_json(f->tables[i].hot, NULL, 0));
		if (json_object_set_new(obj, f->tables[i].table, v) < 0) {
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

/* A JSON value's compact text as a string value (JSON null as null). */
static void add_json(struct kusto_table *t, json_t *v)
{
	char *s = v != NULL && !json_is_null(v) ? json_dumps(v, JSON_COMPACT) : NULL;

	if (v == NULL || (s == NULL && !json_is_null(v)))
		kusto_add_dynamic(t, NULL); /* fails the table: out of memory */
	else
		kusto_add_string(t, s);
	free(s);
	json_decref(v);
}

static int follower_row(struct kusto_exec *x, const char *db)
{
	struct kusto_follower f;
	int r = kusto_follower_get(x, db, &f);

	if (r < 0)
		return r;
	kusto_add_string(x->t, db);
	kusto_add_string(x->t, f.root);
	add_json(x->t, f.has_caching ? kusto_caching_json(f.caching.hot_span, f.caching.windows,
	                                                  f.caching.nwindows)
	                             : json_null());
	add_json(x->t, principals_json(&f));
	kusto_add_string(x->t, kind_title(f.principals_kind));
	kusto_add_bool(x->t, f.prefetch);
	add_json(x->t, tables_json(&f));
	kusto_add_string(x->t, kind_title(f.caching_kind));
	kusto_follower_clear(&f);
	return kusto_exec_row_end(x);
}

/* The names of every followed database, copied out of the walk. */
struct name_list {
	struct kusto_exec *x;
	char **v;
	size_t n;
};

static int collect_name(void *ctx, const struct kusto_db *d)
{
	struct name_list *l = ctx;
	char **v;

	if (l->n >= KUSTO_MAX_ROWS)
		return 0; /* the result would be refused anyway; follower_row says so */
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (v == NULL)
		return kusto_exec_oom(l->x);
	l->v = v;
	if ((v[l->n] = strdup(d->name)) == NULL)
		return kusto_exec_oom(l->x);
	l->n++;
	return 0;
}

int kusto_exec_show_follower(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	const struct kusto_cmd *c = x->cmd;
	struct name_list all = {.x = x};
	int r = kusto_exec_table(x, follower_cols, NCOLS(follower_cols));

	if (r == 0 && c->nnames == 0)
		r = kusto_exec_backend(x, be->databases(be->arg, NULL, collect_name, &all, x->berr),
		                       "");
	for (size_t i = 0; r == 0 && i < c->nnames; i++)
		r = follower_row(x, c->names[i]);
	for (size_t i = 0; r == 0 && i < all.n; i++)
		r = follower_row(x, all.v[i]);
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i]);
	free(all.v);
	return r;
}

/* ---- the control commands ---- */

static int too_many(struct kusto_exec *x, const char *what, int max)
{
	return kusto_fail(x->err, KUSTO_E_BAD_REQUEST, -E2BIG, "more than %d %s", max, what);
}

/* Sets (or adds) the table or view override name = hot. */
static int set_table(struct kusto_exec *x, struct kusto_follower *f, const char *name, int64_t hot)
{
	struct conf_table_hot *v = (struct conf_table_hot *)f->tables;

	for (size_t i = 0; i < f->ntables; i++)
		if (strcmp(v[i].table, name) == 0) {
			v[i].hot = hot;
			return 0;
		}
	if (f->ntables >= CONF_MAX_ITEMS)
		return too_many(x, "table overrides", CONF_MAX_ITEMS);
	v = realloc(v, (f->ntables + 1) * sizeof(*v));
	if (v == NULL)
		return kusto_exec_oom(x);
	f->tables = v;
	v[f->ntables] = (struct conf_table_hot){.table = strdup(name), .hot = hot};
	if (v[f->ntables].table == NULL)
		return kusto_exec_oom(x);
	f->ntables++;
	return 0;
}

static void remove_table(struct kusto_follower *f, const char *name)
{
	struct conf_table_hot *v = (struct conf_table_hot *)f->tables;

	for (size_t i = 0; i < f->ntables; i++)
		if (strcmp(v[i].table, name) == 0) {
			free(v[i].table);
			memmove(&v[i], &v[i + 1], (f->ntables - i - 1) * sizeof(*v));
			f->ntables--;
			return;
		}
}

static ssize_t find_principal(const struct kusto_follower *f, enum proto_role role, const char *fqn)
{
	for (size_t i = 0; i < f->nprincipals; i++)
		if (f->principals[i].role == role && strcasecmp(f->principals[i].fqn, fqn) == 0)
			return (ssize_t)i;
	return -1;
}

/* Adds an override principal; one already there gets the new notes. */
static int add_principal(struct kusto_exec *x, struct kusto_follower *f, const char *fqn)
{
	struct kusto_principal *v = (struct kusto_principal *)f->principals;
	ssize_t at = find_principal(f, x->cmd->role, fqn);
	char *notes = strdup(x->cmd->notes != NULL ? x->cmd->notes : "");

	if (notes == NULL)
		return kusto_exec_oom(x);
	if (at >= 0) {
		free((char *)v[at].notes);
		v[at].notes = notes;
		return 0;
	}
	if (f->nprincipals >= PROTO_MAX_PRINCIPALS) {
		free(notes);
		return too_many(x, "principal overrides", PROTO_MAX_PRINCIPALS);
	}
	v = realloc(v, (f->nprincipals + 1) * sizeof(*v));
	if (v == NULL) {
		free(notes);
		return kusto_exec_oom(x);
	}
	f->principals = v;
	/* f owns the new entry from here on, also when a strdup fails. */
	struct kusto_principal *p = &v[f->nprincipals++];
	p->role = x->cmd->role;
	p->notes = notes;
	p->fqn = strdup(fqn);
	p->name = strdup("");
	return p->fqn != NULL && p->name != NULL ? 0 : kusto_exec_oom(x);
}

static void drop_principal(struct kusto_follower *f, enum proto_role role, const char *fqn)
{
	struct kusto_principal *v = (struct kusto_principal *)f->principals;
	ssize_t at = find_principal(f, role, fqn);

	if (at < 0)
		return;
	free((char *)v[at].fqn);
	free((char *)v[at].name);
	free((char *)v[at].notes);
	memmove(&v[at], &v[at + 1], (f->nprincipals - (size_t)at - 1) * sizeof(*v));
	f->nprincipals--;
}

static int set_db_caching(struct kusto_exec *x, struct kusto_follower *f, bool set)
{
	proto_caching_clear(&f->caching);
	f->has_caching = set;
	if (set && proto_caching_copy(&f->caching, &x->cmd->caching) < 0)
		return kusto_exec_oom(x);
	return 0;
}

/* Applies x->cmd to the settings f. */
static int apply(struct kusto_exec *x, struct kusto_follower *f)
{
	const struct kusto_cmd *c = x->cmd;
	int r = 0;

	switch (c->kind) {
	case KUSTO_ALTER_FOLLOWER_CACHING:
	case KUSTO_DELETE_FOLLOWER_CACHING:
		return set_db_caching(x, f, c->kind == KUSTO_ALTER_FOLLOWER_CACHING);
	case KUSTO_ALTER_FOLLOWER_TABLE_CACHING:
		for (size_t i = 0; r == 0 && i < c->nnames; i++)
			r = set_table(x, f, c->names[i], c->caching.hot_span);
		return r;
	case KUSTO_DELETE_FOLLOWER_TABLE_CACHING:
		for (size_t i = 0; i < c->nnames; i++)
			remove_table(f, c->names[i]);
		return 0;
	case KUSTO_ADD_FOLLOWER_PRINCIPALS:
		for (size_t i = 0; r == 0 && i < c->nprincipals; i++)
			r = add_principal(x, f, c->principals[i]);
		return r;
	case KUSTO_DROP_FOLLOWER_PRINCIPALS:
		for (size_t i = 0; i < c->nprincipals; i++)
			drop_principal(f, c->role, c->principals[i]);
		return 0;
	case KUSTO_ALTER_FOLLOWER_PRINCIPALS_KIND:
		f->principals_kind = c->modkind;
		return 0;
	case KUSTO_ALTER_FOLLOWER_CACHING_KIND:
		f->caching_kind = c->modkind;
		return 0;
	case KUSTO_ALTER_FOLLOWER_PREFETCH:
		f->prefetch = c->prefetch;
		return 0;
	default:
		return kusto_fail(x->err, KUSTO_E_INTERNAL, -EINVAL, "not a control command");
	}
}

int kusto_exec_control(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	struct kusto_follower f;
	int r = kusto_follower_get(x, x->db, &f);

	if (r == 0)
		r = apply(x, &f);
	if (r == 0)
		r = kusto_exec_backend(x, be->set_follower(be->arg, x->db, &f, x->berr), x->db);
	kusto_follower_clear(&f);
	if (r == 0)
		r = kusto_exec_table(x, follower_cols, NCOLS(follower_cols));
	return r < 0 ? r : follower_row(x, x->db);
}

/*
 * kusto_exec — runs a parsed .show command against the backend and builds
 * its result table.  Data arrives through the backend's emit callbacks, as
 * borrowed structs; rows are built inside them, so nothing is copied except
 * what must outlive one callback (policies to combine, names to walk).
 *
 * Column names and order, from Azure Data Explorer's documentation
 * (learn.microsoft.com/azure/data-explorer/kusto/management/...):
 *   .show databases         show-databases (the ten columns an ADX emulator
 *                           measured: the older pages list the first eight)
 *   .show database schema as json  show-schema-database: one column,
 *                           DatabaseSchema, holding {"Databases":{...}}
 *   .show tables            show-tables-command
 *   .show table schema as json     show-table-schema-command
 *   .show extents           show-extents ("Returns")
 *   .show ... policy caching       the policy commands' output (PolicyName,
 *                           EntityName, Policy, ChildEntities, EntityType),
 *                           alter-database-cache-policy-command; the
 *                           effective policy (leader's and follower's by the
 *                           modification kind, lib/policy)
 *   .show database principals      cluster-follower's sample (Role ...
 *                           PrincipalFQN, Notes); effective principals by
 *                           principals-modification-kind
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kusto/kusto_int.h"
#include "util/version.h"
#include "policy/policy.h"
#include "util/timefmt.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct kusto_column databases_cols[] = {
    {"DatabaseName", KUSTO_T_STRING},
    {"PersistentStorage", KUSTO_T_STRING},
    {"Version", KUSTO_T_STRING},
    {"IsCurrent", KUSTO_T_BOOL},
    {"DatabaseAccessMode", KUSTO_T_STRING},
    {"PrettyName", KUSTO_T_STRING},
    {"ReservedSlot1", KUSTO_T_BOOL},
    {"DatabaseId", KUSTO_T_GUID},
    {"InTransitionTo", KUSTO_T_STRING},
    {"SuspensionState", KUSTO_T_STRING},
};

static const struct kusto_column db_schema_cols[] = {{"DatabaseSchema", KUSTO_T_STRING}};

static const struct kusto_column tables_cols[] = {
    {"TableName", KUSTO_T_STRING},
    {"DatabaseName", KUSTO_T_STRING},
    {"Folder", KUSTO_T_STRING},
    {"DocString", KUSTO_T_STRING},
};

static const struct kusto_column version_cols[] = {
    {"BuildVersion", KUSTO_T_STRING},    {"BuildTime", KUSTO_T_DATETIME},
    {"ServiceType", KUSTO_T_STRING},     {"ProductVersion", KUSTO_T_STRING},
    {"ServiceOffering", KUSTO_T_STRING},
};

static const struct kusto_column functions_cols[] = {
    {"Name", KUSTO_T_STRING},   {"Parameters", KUSTO_T_STRING}, {"Body", KUSTO_T_STRING},
    {"Folder", KUSTO_T_STRING}, {"DocString", KUSTO_T_STRING},
};

static const struct kusto_column table_schema_cols[] = {
    {"TableName", KUSTO_T_STRING}, {"Schema", KUSTO_T_STRING},    {"DatabaseName", KUSTO_T_STRING},
    {"Folder", KUSTO_T_STRING},    {"DocString", KUSTO_T_STRING},
};

static const struct kusto_column extents_cols[] = {
    {"ExtentId", KUSTO_T_GUID},
    {"DatabaseName", KUSTO_T_STRING},
    {"TableName", KUSTO_T_STRING},
    {"MaxCreatedOn", KUSTO_T_DATETIME},
    {"OriginalSize", KUSTO_T_REAL},
    {"ExtentSize", KUSTO_T_REAL},
    {"CompressedSize", KUSTO_T_REAL},
    {"IndexSize", KUSTO_T_REAL},
    {"Blocks", KUSTO_T_LONG},
    {"Segments", KUSTO_T_LONG},
    {"ExtentContainerId", KUSTO_T_STRING},
    {"RowCount", KUSTO_T_LONG},
    {"MinCreatedOn", KUSTO_T_DATETIME},
    {"Tags", KUSTO_T_STRING},
    {"Kind", KUSTO_T_STRING},
    {"DeletedRowCount", KUSTO_T_LONG},
};

static const struct kusto_column policy_cols[] = {
    {"PolicyName", KUSTO_T_STRING},    {"EntityName", KUSTO_T_STRING}, {"Policy", KUSTO_T_STRING},
    {"ChildEntities", KUSTO_T_STRING}, {"EntityType", KUSTO_T_STRING},
};

static const struct kusto_column principals_cols[] = {
    {"Role", KUSTO_T_STRING},
    {"PrincipalType", KUSTO_T_STRING},
    {"PrincipalDisplayName", KUSTO_T_STRING},
    {"PrincipalObjectId", KUSTO_T_STRING},
    {"PrincipalFQN", KUSTO_T_STRING},
    {"Notes", KUSTO_T_STRING},
};

/* ---- shared helpers ---- */

int kusto_exec_table(struct kusto_exec *x, const struct kusto_column *cols, size_t n)
{
	x->t = kusto_table_new("Table_0", cols, n);
	return x->t != NULL ? 0 : kusto_fail(x->err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
}

int kusto_exec_oom(struct kusto_exec *x)
{
	x->failed = kusto_fail(x->err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
	return x->failed;
}

int kusto_exec_row_end(struct kusto_exec *x)
{
	int r = kusto_row_end(x->t);

	if (r == 0)
		return 0;
	if (r == -E2BIG)
		x->failed = kusto_fail(x->err, KUSTO_E_LIMITS, r,
		                       "the result has more than %d rows; ask for less (e.g. .show "
		                       "table T extents)",
		                       KUSTO_MAX_ROWS);
	else if (r == -ENOMEM)
		x->failed = kusto_fail(x->err, KUSTO_E_INTERNAL, r, "out of memory");
	else
		x->failed = kusto_fail(x->err, KUSTO_E_INTERNAL, r,
		                       "internal error: a value does not fit its column");
	return x->failed;
}

int kusto_exec_backend(struct kusto_exec *x, int r, const char *db)
{
	char buf[128];
	const char *sep = x->berr[0] != '\0' ? ": " : "";
	const char *why =
	    x->berr[0] != '\0' ? x->berr : strerror_r(r < 0 ? -r : EIO, buf, sizeof(buf));

	if (x->failed != 0)
		return x->failed;
	if (r == 0) {
		x->berr[0] = '\0'; /* the next call's message is its own */
		return 0;
	}
	if (r > 0)
		r = -EIO;
	switch (r) {
	case -ENOENT:
		return kusto_fail(x->err, KUSTO_E_DB_NOT_FOUND, r,
		                  "Database '%s' was not found%s%s", db, sep, x->berr);
	case -EINVAL:
	case -E2BIG:
		return kusto_fail(x->err, KUSTO_E_BAD_REQUEST, r, "%s", why);
	case -EPERM:
	case -EACCES:
		return kusto_fail(x->err, KUSTO_E_FORBIDDEN, r, "%s", why);
	default:
		return kusto_fail(x->err, KUSTO_E_INTERNAL, r, "the follower failed: %s", why);
	}
}

/* Stores an owned copy of a JSON value's compact text as a string value. */
static void add_json_text(struct kusto_table *t, json_t *v)
{
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	if (s == NULL)
		kusto_add_dynamic(t, NULL); /* fails the table: out of memory */
	else
		kusto_add_string(t, s);
	free(s);
	json_decref(v);
}

static int add_window(json_t *arr, int64_t min, int64_t max)
{
	char a[TIMEFMT_DATETIME_LEN], b[TIMEFMT_DATETIME_LEN];

	return json_array_append_new(arr, json_pack("{s:s, s:s}", "MinValue",
	                                            timefmt_format_datetime(min, a), "MaxValue",
	                                            timefmt_format_datetime(max, b)));
}

static json_t *span_json(int64_t hot, json_t *windows)
{
	char buf[TIMEFMT_TIMESPAN_LEN];
	json_t *v;

	timefmt_format_timespan(hot, buf);
	v = json_pack("{s:{s:s}, s:{s:s}}", "DataHotSpan", "Value", buf, "IndexHotSpan", "Value",
	              buf);
	if (v != NULL && windows != NULL && json_object_set(v, "HotWindows", windows) < 0) {
		json_decref(v);
		v = NULL;
	}
	json_decref(windows);
	return v;
}

json_t *kusto_caching_json(int64_t hot, const struct proto_window *w, size_t nw)
{
	json_t *arr = nw > 0 ? json_array() : NULL;

	for (size_t i = 0; i < nw; i++)
		if (arr == NULL || add_window(arr, w[i].min, w[i].max) < 0) {
			json_decref(arr);
			return NULL;
		}
	return span_json(hot, arr);
}

/* The effective policy, or JSON null when everything is hot (no policy). */
static json_t *policy_json(const struct policy *p)
{
	json_t *arr = p->nwindows > 0 ? json_array() : NULL;

	if (p->all_hot)
		return json_null();
	for (size_t i = 0; i < p->nwindows; i++)
		if (arr == NULL || add_window(arr, p->windows[i].min, p->windows[i].max) < 0) {
			json_decref(arr);
			return NULL;
		}
	return span_json(p->hot_span, arr);
}

/* ---- .show databases ---- */

static int database_row(void *ctx, const struct kusto_db *d)
{
	struct kusto_exec *x = ctx;
	char version[32];

	(void)snprintf(version, sizeof(version), "v%llu.0", (unsigned long long)d->version);
	kusto_add_string(x->t, d->name);
	kusto_add_string(x->t, d->root);
	kusto_add_string(x->t, version);
	kusto_add_bool(x->t, strcmp(d->name, x->context) == 0);
	kusto_add_string(x->t, "ReadOnlyFollowing");
	kusto_add_string(x->t, "");
	kusto_add_bool(x->t, false);
	kusto_add_guid(x->t, d->uuid);
	kusto_add_string(x->t, "");
	kusto_add_string(x->t, "");
	return kusto_exec_row_end(x);
}

static int show_databases(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	int r = kusto_exec_table(x, databases_cols, NCOLS(databases_cols));

	if (r == 0)
		r = kusto_exec_backend(x, be->databases(be->arg, NULL, database_row, x, x->berr),
		                       "");
	return r;
}

/* ---- schemas ---- */

static json_t *columns_json(const struct proto_entity *e)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < e->ncolumns; i++) {
		const struct proto_column *c = &e->columns[i];
		if (json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "Name", c->name, "Type",
		                                         proto_coltype_clr_name(c->type), "CslType",
		                                         proto_coltype_name(c->type))) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* One entity's schema object: {"Name","OrderedColumns","Folder","DocString"}
 * plus what its kind adds. */
static json_t *entity_json(const struct proto_entity *e)
{
	json_t *v = json_pack("{s:s, s:o, s:s, s:s}", "Name", e->name, "OrderedColumns",
	                      columns_json(e), "Folder", e->folder ? e->folder : "", "DocString",
	                      e->docstring ? e->docstring : "");
	int r = 0;

	if (v == NULL)
		return NULL;
	if (e->kind == PROTO_TABLE)
		r = json_object_set_new(v, "DefaultColumn", json_null());
	if (e->kind == PROTO_MATERIALIZED_VIEW)
		r = json_object_set_new(v, "SourceTable", json_string(e->source ? e->source : ""));
	if (r == 0 && e->kind == PROTO_MATERIALIZED_VIEW)
		r = json_object_set_new(v, "Query", json_string(e->query ? e->query : ""));
	if (r != 0) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* The "Databases" member of .show database schema as json. */
struct db_schema {
	struct kusto_exec *x;
	uint64_t version;
	json_t *kinds[3]; /* Tables, ExternalTables, MaterializedViews by proto_kind */
};

static int schema_version(void *ctx, const struct kusto_db *d)
{
	struct db_schema *s = ctx;

	s->version = d->version;
	return 0;
}

static int schema_entity(void *ctx, const struct kusto_entity *ke)
{
	struct db_schema *s = ctx;
	const struct proto_entity *e = ke->e;

	if ((unsigned)e->kind >= NCOLS(s->kinds))
		return 0;
	if (json_object_set_new(s->kinds[e->kind], e->name, entity_json(e)) < 0)
		return kusto_exec_oom(s->x);
	return 0;
}

static json_t *db_schema_json(struct db_schema *s, const char *db)
{
	json_t *one =
	    json_pack("{s:s, s:O, s:O, s:O, s:{}, s:n, s:I, s:i}", "Name", db, "Tables",
	              s->kinds[PROTO_TABLE], "ExternalTables", s->kinds[PROTO_EXTERNAL_TABLE],
	              "MaterializedViews", s->kinds[PROTO_MATERIALIZED_VIEW], "Functions",
	              "PrettyName", "MajorVersion", (json_int_t)s->version, "MinorVersion", 0);

	return one != NULL ? json_pack("{s:{s:o}}", "Databases", db, one) : NULL;
}

static int show_db_schema(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	struct db_schema s = {.x = x};
	int r = kusto_exec_table(x, db_schema_cols, NCOLS(db_schema_cols));

	for (size_t i = 0; r == 0 && i < NCOLS(s.kinds); i++)
		if ((s.kinds[i] = json_object()) == NULL)
			r = kusto_fail(x->err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
	if (r == 0)
		r = kusto_exec_backend(
		    x, be->databases(be->arg, x->db, schema_version, &s, x->berr), x->db);
	if (r == 0)
		r = kusto_exec_backend(x, be->entities(be->arg, x->db, schema_entity, &s, x->berr),
		                       x->db);
	if (r == 0) {
		add_json_text(x->t, db_schema_json(&s, x->db));
		r = kusto_exec_row_end(x);
	}
	for (size_t i = 0; i < NCOLS(s.kinds); i++)
		json_decref(s.kinds[i]);
	return r;
}

/* ---- tables ---- */

/* A walk over the tables (kind PROTO_TABLE) of x->db: fn for each, or for
 * the one named only; a missing named table is KUSTO_E_TABLE_NOT_FOUND. */
struct table_walk {
	struct kusto_exec *x;
	const char *only;
	bool found;
	int (*fn)(struct table_walk *w, const struct kusto_entity *e);
	struct policy_inputs *pi; /* .show table policy caching */
};

static int walk_entity(void *ctx, const struct kusto_entity *ke)
{
	struct table_walk *w = ctx;

	if (ke->e->kind != PROTO_TABLE || (w->only != NULL && strcmp(ke->e->name, w->only) != 0))
		return 0;
	w->found = true;
	return w->fn(w, ke);
}

static int walk_tables(struct table_walk *w)
{
	struct kusto_exec *x = w->x;
	const struct kusto_backend *be = x->be;
	int r = kusto_exec_backend(x, be->entities(be->arg, x->db, walk_entity, w, x->berr), x->db);

	if (r == 0 && w->only != NULL && !w->found)
		r = kusto_fail(x->err, KUSTO_E_TABLE_NOT_FOUND, -ENOENT,
		               "Table '%s' was not found in database '%s'", w->only, x->db);
	return r;
}

static int table_row(struct table_walk *w, const struct kusto_entity *ke)
{
	struct kusto_exec *x = w->x;

	kusto_add_string(x->t, ke->e->name);
	kusto_add_string(x->t, x->db);
	kusto_add_string(x->t, ke->e->folder);
	kusto_add_string(x->t, ke->e->docstring);
	return kusto_exec_row_end(x);
}

static int table_schema_row(struct table_walk *w, const struct kusto_entity *ke)
{
	struct kusto_exec *x = w->x;

	kusto_add_string(x->t, ke->e->name);
	add_json_text(x->t, entity_json(ke->e));
	kusto_add_string(x->t, x->db);
	kusto_add_string(x->t, ke->e->folder);
	kusto_add_string(x->t, ke->e->docstring);
	return kusto_exec_row_end(x);
}

/* .show version: ADX's columns, followerd's own values (ADX's web UI and
 * the SDKs' health checks ask it first). */
static int show_version(struct kusto_exec *x)
{
	int r = kusto_exec_table(x, version_cols, NCOLS(version_cols));

	if (r < 0)
		return r;
	kusto_add_string(x->t, FOLLOWERD_VERSION);
	kusto_add_null(x->t);
	kusto_add_string(x->t, "Engine");
	kusto_add_string(x->t, "followerd " FOLLOWERD_VERSION);
	kusto_add_string(x->t, "{\"Type\":\"followerd\"}");
	return kusto_exec_row_end(x);
}

/* .show functions: a follower serves no stored functions, so none. */
static int show_functions(struct kusto_exec *x)
{
	return kusto_exec_table(x, functions_cols, NCOLS(functions_cols));
}

static int show_tables(struct kusto_exec *x, bool schema)
{
	struct table_walk w = {.x = x, .only = x->cmd->table};
	int r;

	w.fn = schema ? table_schema_row : table_row;
	if (schema)
		r = kusto_exec_table(x, table_schema_cols, NCOLS(table_schema_cols));
	else
		r = kusto_exec_table(x, tables_cols, NCOLS(tables_cols));
	return r < 0 ? r : walk_tables(&w);
}

/* ---- extents ---- */

/* Kusto shows an extent's tags as one string, one tag per line. */
static char *join_tags(const struct proto_extent *e)
{
	size_t n = 1;
	char *s, *p;

	for (size_t i = 0; i < e->ntags; i++)
		n += strlen(e->tags[i]) + 2;
	s = p = malloc(n);
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < e->ntags; i++) {
		size_t k = strlen(e->tags[i]);
		if (i > 0) {
			memcpy(p, "\r\n", 2);
			p += 2;
		}
		memcpy(p, e->tags[i], k);
		p += k;
	}
	*p = '\0';
	return s;
}

static int extent_row(void *ctx, const struct proto_extent *e)
{
	struct kusto_exec *x = ctx;
	char *tags = join_tags(e);

	kusto_add_guid(x->t, e->id);
	kusto_add_string(x->t, x->db);
	kusto_add_string(x->t, e->table);
	kusto_add_datetime(x->t, e->max_created);
	kusto_add_real(x->t, (double)e->original_size);
	kusto_add_real(x->t, (double)e->compressed_size);
	kusto_add_real(x->t, (double)e->compressed_size);
	kusto_add_real(x->t, 0);
	kusto_add_long(x->t, 0);
	kusto_add_long(x->t, 0);
	kusto_add_string(x->t, "");
	kusto_add_long(x->t, e->rows > INT64_MAX ? INT64_MAX : (int64_t)e->rows);
	kusto_add_datetime(x->t, e->min_created);
	if (tags == NULL)
		kusto_add_dynamic(x->t, NULL); /* fails the table: out of memory */
	else
		kusto_add_string(x->t, tags);
	kusto_add_string(x->t, "StorageV3");
	kusto_add_long(x->t, 0);
	free(tags);
	return kusto_exec_row_end(x);
}

static int no_row(struct table_walk *w, const struct kusto_entity *e)
{
	(void)w;
	(void)e;
	return 0;
}

static int show_extents(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	struct table_walk w = {.x = x, .only = x->cmd->table, .fn = no_row};
	int r = kusto_exec_table(x, extents_cols, NCOLS(extents_cols));

	/* A table extents command names a table that must exist. */
	if (r == 0 && w.only != NULL)
		r = walk_tables(&w);
	if (r == 0)
		r = kusto_exec_backend(
		    x, be->extents(be->arg, x->db, w.only, extent_row, x, x->berr), x->db);
	return r;
}

/* ---- caching policies ---- */

/* What the effective policy of the database or of one table combines. */
struct policy_inputs {
	bool has_leader_db, has_leader_table;
	struct proto_caching leader_db, leader_table;
	struct kusto_follower f; /* owned copy */
	json_t *children;        /* the database's tables, for ChildEntities */
};

static void policy_inputs_clear(struct policy_inputs *pi)
{
	proto_caching_clear(&pi->leader_db);
	proto_caching_clear(&pi->leader_table);
	kusto_follower_clear(&pi->f);
	json_decref(pi->children);
}

static int copy_leader_db(void *ctx, const struct proto_caching *c)
{
	struct table_walk *w = ctx;

	if (c == NULL)
		return 0;
	w->pi->has_leader_db = true;
	return proto_caching_copy(&w->pi->leader_db, c) < 0 ? kusto_exec_oom(w->x) : 0;
}

static int note_table(struct table_walk *w, const struct kusto_entity *ke)
{
	struct policy_inputs *pi = w->pi;
	int r = 0;

	if (w->only == NULL)
		r = json_array_append_new(pi->children, json_string(ke->e->name));
	else if (ke->caching != NULL) {
		pi->has_leader_table = true;
		r = proto_caching_copy(&pi->leader_table, ke->caching);
	}
	return r < 0 ? kusto_exec_oom(w->x) : 0;
}

/* The follower's override of table name, when it has one. */
static bool follower_table(const struct kusto_follower *f, const char *name,
                           struct proto_caching *ret)
{
	for (size_t i = 0; i < f->ntables; i++)
		if (strcmp(f->tables[i].table, name) == 0) {
			*ret = (struct proto_caching){.hot_span = f->tables[i].hot};
			return true;
		}
	return false;
}

static int policy_row(struct kusto_exec *x, struct policy_inputs *pi, const char *table)
{
	struct proto_caching ft;
	bool has_ft = table != NULL && follower_table(&pi->f, table, &ft);
	struct policy *p = NULL;
	char name[2 * PROTO_MAX_NAME + 8];
	int r = policy_effective(pi->has_leader_db ? &pi->leader_db : NULL,
	                         pi->has_leader_table ? &pi->leader_table : NULL,
	                         pi->f.has_caching ? &pi->f.caching : NULL, has_ft ? &ft : NULL,
	                         pi->f.caching_kind, &p);

	if (r < 0)
		return kusto_fail(x->err, KUSTO_E_INTERNAL, r,
		                  "the caching policy cannot be combined");
	if (table != NULL)
		(void)snprintf(name, sizeof(name), "[%s].[%s]", x->db, table);
	else
		(void)snprintf(name, sizeof(name), "[%s]", x->db);
	kusto_add_string(x->t, "CachingPolicy");
	kusto_add_string(x->t, name);
	add_json_text(x->t, policy_json(p));
	if (table == NULL)
		add_json_text(x->t, json_incref(pi->children));
	else
		kusto_add_null(x->t);
	kusto_add_string(x->t, table == NULL ? "Database" : "Table");
	policy_free(p);
	return kusto_exec_row_end(x);
}

static int show_caching(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	struct policy_inputs pi = {0};
	struct table_walk w = {.x = x, .only = x->cmd->table, .fn = note_table, .pi = &pi};
	int r = kusto_exec_table(x, policy_cols, NCOLS(policy_cols));

	if (r == 0 && (pi.children = json_array()) == NULL)
		r = kusto_fail(x->err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
	if (r == 0)
		r = kusto_follower_get(x, x->db, &pi.f);
	if (r == 0)
		r = kusto_exec_backend(x, be->caching(be->arg, x->db, copy_leader_db, &w, x->berr),
		                       x->db);
	if (r == 0)
		r = walk_tables(&w);
	if (r == 0)
		r = policy_row(x, &pi, x->cmd->table);
	policy_inputs_clear(&pi);
	return r;
}

/* ---- principals ---- */

const char *kusto_role_title(enum proto_role r)
{
	static const char *const titles[] = {"Admin", "User", "Viewer", "Monitor"};

	return (unsigned)r < NCOLS(titles) ? titles[r] : "?";
}

/* Kusto's PrincipalType from the FQN's prefix. */
static const char *principal_type(const char *fqn)
{
	static const struct {
		const char *prefix, *type;
	} types[] = {
	    {"aaduser=", "AAD User"},
	    {"aadgroup=", "AAD Group"},
	    {"aadapp=", "AAD Application"},
	    {"msauser=", "MSA User"},
	};

	for (size_t i = 0; i < NCOLS(types); i++)
		if (strncasecmp(fqn, types[i].prefix, strlen(types[i].prefix)) == 0)
			return types[i].type;
	return "";
}

struct principal_walk {
	struct kusto_exec *x;
	struct kusto_follower f; /* owned copy: the overrides */
	bool *dup;               /* per override: the leader has it too */
};

static int principal_row(struct kusto_exec *x, const struct kusto_principal *p)
{
	char role[PROTO_MAX_NAME + 32];

	(void)snprintf(role, sizeof(role), "Database %s %s", x->db, kusto_role_title(p->role));
	kusto_add_string(x->t, role);
	kusto_add_string(x->t, principal_type(p->fqn));
	kusto_add_string(x->t, p->name);
	kusto_add_string(x->t, "");
	kusto_add_string(x->t, p->fqn);
	kusto_add_string(x->t, p->notes);
	return kusto_exec_row_end(x);
}

static int leader_principal(void *ctx, const struct kusto_principal *p)
{
	struct principal_walk *w = ctx;

	for (size_t i = 0; i < w->f.nprincipals; i++)
		if (w->f.principals[i].role == p->role &&
		    strcasecmp(w->f.principals[i].fqn, p->fqn) == 0)
			w->dup[i] = true;
	return principal_row(w->x, p);
}

/* The effective principals: the leader's (none, union), then the overrides
 * the leader does not already have (union, replace). */
static int show_principals(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	struct principal_walk w = {.x = x};
	int r = kusto_exec_table(x, principals_cols, NCOLS(principals_cols));

	if (r == 0)
		r = kusto_follower_get(x, x->db, &w.f);
	if (r == 0 && (w.dup = calloc(w.f.nprincipals + 1, sizeof(bool))) == NULL)
		r = kusto_fail(x->err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
	if (r == 0 && w.f.principals_kind != CONF_MOD_REPLACE)
		r = kusto_exec_backend(
		    x, be->principals(be->arg, x->db, leader_principal, &w, x->berr), x->db);
	for (size_t i = 0; r == 0 && w.f.principals_kind != CONF_MOD_NONE && i < w.f.nprincipals;
	     i++)
		if (!w.dup[i])
			r = principal_row(x, &w.f.principals[i]);
	free(w.dup);
	kusto_follower_clear(&w.f);
	return r;
}

/* ---- dispatch ---- */

/* The database a command works on: the one it names, else the request's. */
static int pick_database(struct kusto_exec *x)
{
	const struct kusto_cmd *c = x->cmd;

	x->db = c->database != NULL ? c->database : x->context;
	if (c->kind == KUSTO_SHOW_DATABASES || c->kind == KUSTO_SHOW_FOLLOWER ||
	    c->kind == KUSTO_SHOW_QUERIES || c->kind == KUSTO_CANCEL_QUERY ||
	    c->kind == KUSTO_SHOW_VERSION || x->db[0] != '\0')
		return 0;
	return kusto_fail(x->err, KUSTO_E_BAD_REQUEST, -EINVAL,
	                  "'%s' needs a database: set \"db\" in the request",
	                  kusto_cmd_name(c->kind));
}

static int dispatch(struct kusto_exec *x)
{
	switch (x->cmd->kind) {
	case KUSTO_SHOW_DATABASES:
		return show_databases(x);
	case KUSTO_SHOW_DATABASE_SCHEMA:
		return show_db_schema(x);
	case KUSTO_SHOW_TABLES:
	case KUSTO_SHOW_TABLE_SCHEMA:
		return show_tables(x, x->cmd->kind == KUSTO_SHOW_TABLE_SCHEMA);
	case KUSTO_SHOW_DATABASE_EXTENTS:
	case KUSTO_SHOW_TABLE_EXTENTS:
		return show_extents(x);
	case KUSTO_SHOW_DATABASE_CACHING:
	case KUSTO_SHOW_TABLE_CACHING:
		return show_caching(x);
	case KUSTO_SHOW_DATABASE_PRINCIPALS:
		return show_principals(x);
	case KUSTO_SHOW_FOLLOWER:
		return kusto_exec_show_follower(x);
	case KUSTO_SHOW_QUERIES:
		return kusto_exec_show_queries(x);
	case KUSTO_CANCEL_QUERY:
		return kusto_exec_cancel_query(x);
	case KUSTO_SHOW_VERSION:
		return show_version(x);
	case KUSTO_SHOW_FUNCTIONS:
		return show_functions(x);
	default:
		return kusto_exec_control(x);
	}
}

int kusto_execute(const struct kusto_cmd *cmd, const char *context_db,
                  const struct kusto_backend *be, struct kusto_table **ret, struct kusto_error *err)
{
	struct kusto_exec x = {
	    .cmd = cmd, .context = context_db ? context_db : "", .be = be, .err = err};
	int r = pick_database(&x);

	if (r == 0)
		r = dispatch(&x);
	if (r < 0) {
		kusto_table_free(x.t);
		return r;
	}
	*ret = x.t;
	return 0;
}

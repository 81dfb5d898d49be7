/*
 * proto_encode — the JSON a leader publishes (docs/PROTOCOL.md), from the
 * structs of proto.h.
 *
 * Members are added in the order the protocol documents them (jansson keeps
 * insertion order when dumping).  Log objects and checkpoint lines are
 * compact; the head and manifests, small and read by people, are indented.
 * Every jansson call that can fail is checked.  Members are set in ||
 * chains (sequenced, so the order is kept; a failed json_*_set_new releases
 * its value, and the values after it are never built).
 * The encoder trusts its input (leaderctl validates with proto_valid_*);
 * a string that is not UTF-8 fails the encoding like an allocation would.
 */
#include "proto/proto.h"

#include <stdlib.h>

#include "util/timefmt.h"

#define DUMP_COMPACT JSON_COMPACT
#define DUMP_PRETTY JSON_INDENT(2)

/* Each set_* returns 0 or -1, and consumes its value either way. */
static int set(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new_nocheck(o, key, v);
}

static int set_str(json_t *o, const char *key, const char *s)
{
	return set(o, key, json_string(s != NULL ? s : ""));
}

static int set_uint(json_t *o, const char *key, uint64_t v)
{
	return set(o, key, json_integer((json_int_t)v));
}

static int set_datetime(json_t *o, const char *key, int64_t t)
{
	char buf[TIMEFMT_DATETIME_LEN];

	return set(o, key, json_string_nocheck(timefmt_format_datetime(t, buf)));
}

static int set_timespan(json_t *o, const char *key, int64_t t)
{
	char buf[TIMEFMT_TIMESPAN_LEN];

	return set(o, key, json_string_nocheck(timefmt_format_timespan(t, buf)));
}

static int append(json_t *arr, json_t *v)
{
	return json_array_append_new(arr, v);
}

/* Returns the new object when err is 0, else drops it and returns NULL. */
static json_t *done(json_t *o, int err)
{
	if (err != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *strv_to_json(char *const *v, size_t n)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < n; i++)
		err |= append(arr, json_string(v[i]));
	return done(arr, err);
}

/* The data members of a typed artifact (none for an opaque one). */
static int set_data_format(json_t *o, const struct proto_artifact *a)
{
	const char *f =
	    a->format == PROTO_FMT_UNKNOWN ? a->format_text : proto_format_name(a->format);
	const char *c = a->compression == PROTO_COMP_UNKNOWN
	                    ? a->compression_text
	                    : proto_compression_name(a->compression);

	if (a->format == PROTO_FMT_NONE)
		return 0;
	return set_str(o, "format", f) ||
	       (a->compression != PROTO_COMP_NONE && set_str(o, "compression", c)) ||
	       (a->ignore_first_record && set(o, "ignore_first_record", json_true()));
}

static json_t *artifact_to_json(const struct proto_artifact *a)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (!err)
		err |= set_str(o, "name", a->name) || set_str(o, "path", a->path) ||
		       set_uint(o, "size", a->size) || set_str(o, "sha256", a->sha256) ||
		       set_data_format(o, a);
	return done(o, err);
}

static json_t *colstat_to_json(const struct proto_colstat *c)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (!err)
		err |= set_str(o, "name", c->name) ||
		       set_str(o, "type", proto_coltype_name(c->type)) ||
		       set_uint(o, "nulls", c->nulls) || (c->min && set_str(o, "min", c->min)) ||
		       (c->max && set_str(o, "max", c->max));
	return done(o, err);
}

/* Adds "columns" to an extent's object when it has statistics. */
static int set_stats(json_t *o, const struct proto_extent *e)
{
	json_t *arr;
	int err;

	if (e->nstats == 0)
		return 0;
	arr = json_array();
	err = arr == NULL;
	for (size_t i = 0; !err && i < e->nstats; i++)
		err |= append(arr, colstat_to_json(&e->stats[i]));
	return set(o, "columns", done(arr, err));
}

static json_t *artifacts_to_json(const struct proto_extent *e)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < e->nartifacts; i++)
		err |= append(arr, artifact_to_json(&e->artifacts[i]));
	return done(arr, err);
}

json_t *proto_extent_to_json(const struct proto_extent *e)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (!err)
		err |= set_str(o, "id", e->id) || set_str(o, "table", e->table) ||
		       set_datetime(o, "min_created", e->min_created) ||
		       set_datetime(o, "max_created", e->max_created) ||
		       set_uint(o, "rows", e->rows) ||
		       set_uint(o, "original_size", e->original_size) ||
		       set_uint(o, "compressed_size", e->compressed_size) ||
		       set(o, "tags", strv_to_json(e->tags, e->ntags)) ||
		       set(o, "artifacts", artifacts_to_json(e)) || set_stats(o, e);
	return done(o, err);
}

static json_t *columns_to_json(const struct proto_entity *e)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < e->ncolumns; i++) {
		json_t *c = json_object();
		err |= c == NULL;
		if (!err)
			err |= set_str(c, "name", e->columns[i].name) ||
			       set_str(c, "type", proto_coltype_name(e->columns[i].type));
		err |= append(arr, c);
	}
	return done(arr, err);
}

/* The members of create_* and alter_*. */
static int entity_members(json_t *o, const struct proto_entity *e)
{
	int err = set_str(o, "name", e->name) || set(o, "columns", columns_to_json(e)) ||
	          set_str(o, "folder", e->folder) || set_str(o, "docstring", e->docstring);

	if (e->kind == PROTO_EXTERNAL_TABLE)
		err |= set_str(o, "location", e->location);
	if (e->kind == PROTO_MATERIALIZED_VIEW)
		err |= set_str(o, "source", e->source) || set_str(o, "query", e->query);
	return err;
}

static json_t *extents_to_json(const struct proto_extent *v, size_t n)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < n; i++)
		err |= append(arr, proto_extent_to_json(&v[i]));
	return done(arr, err);
}

static json_t *ids_to_json(const char (*ids)[PROTO_UUID_LEN + 1], size_t n)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < n; i++)
		err |= append(arr, json_string(ids[i]));
	return done(arr, err);
}

static json_t *windows_to_json(const struct proto_caching *c)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < c->nwindows; i++) {
		json_t *w = json_object();
		err |= w == NULL;
		if (!err)
			err |= set_datetime(w, "min", c->windows[i].min) ||
			       set_datetime(w, "max", c->windows[i].max);
		err |= append(arr, w);
	}
	return done(arr, err);
}

static json_t *policy_to_json(const struct proto_action *a)
{
	json_t *o;
	int err;

	if (!a->has_policy)
		return json_null();
	o = json_object();
	err = o == NULL;
	if (!err && a->op == PROTO_OP_SET_CACHING)
		err |= set_timespan(o, "hot_span", a->caching.hot_span) ||
		       set(o, "hot_windows", windows_to_json(&a->caching));
	else if (!err)
		err |= set_timespan(o, "soft_delete", a->retention.soft_delete) ||
		       set(o, "recoverability", json_boolean(a->retention.recoverability));
	return done(o, err);
}

static json_t *principals_to_json(const struct proto_action *a)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < a->nprincipals; i++) {
		json_t *p = json_object();
		err |= p == NULL;
		if (!err)
			err |= set_str(p, "fqn", a->principals[i].fqn) ||
			       set_str(p, "name", a->principals[i].name);
		err |= append(arr, p);
	}
	return done(arr, err);
}

/* The members that follow "op". */
static int action_members(json_t *o, const struct proto_action *a)
{
	switch (a->op) {
	case PROTO_OP_CREATE:
	case PROTO_OP_ALTER:
		return entity_members(o, &a->entity);
	case PROTO_OP_DROP:
		return set_str(o, "name", a->entity.name);
	case PROTO_OP_ADD_EXTENTS:
		return set(o, "extents", extents_to_json(a->extents, a->nextents));
	case PROTO_OP_DROP_EXTENTS:
		return set(o, "ids", ids_to_json(a->ids, a->nids));
	case PROTO_OP_REPLACE_EXTENTS:
		return set(o, "ids", ids_to_json(a->ids, a->nids)) ||
		       set(o, "extents", extents_to_json(a->extents, a->nextents));
	case PROTO_OP_SET_CACHING:
	case PROTO_OP_SET_RETENTION:
		return (a->table != NULL ? set_str(o, "table", a->table) : 0) ||
		       set(o, "policy", policy_to_json(a));
	case PROTO_OP_SET_PRINCIPALS:
		return set_str(o, "role", proto_role_name(a->role)) ||
		       set(o, "principals", principals_to_json(a));
	}
	return -1;
}

json_t *proto_action_to_json(const struct proto_action *a)
{
	const char *op = proto_op_name(a->op, a->entity.kind);
	json_t *o;

	if (op == NULL)
		return NULL;
	o = json_object();
	if (o == NULL)
		return NULL;
	return done(o, set_str(o, "op", op) || action_members(o, a));
}

/* Dumps and releases root; NULL when root is NULL or on ENOMEM. */
static char *dump(json_t *root, size_t flags)
{
	char *s = root != NULL ? json_dumps(root, flags) : NULL;

	json_decref(root);
	return s;
}

char *proto_record_encode(const struct proto_action *a)
{
	return dump(proto_action_to_json(a), DUMP_COMPACT);
}

static json_t *head_db_to_json(const struct proto_head_db *db)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (!err)
		err |= set_str(o, "name", db->name) || set_str(o, "uuid", db->uuid) ||
		       set_uint(o, "version", db->version) ||
		       set_datetime(o, "committed", db->committed) ||
		       set_uint(o, "checkpoint", db->checkpoint) ||
		       set_uint(o, "log_start", db->log_start) ||
		       set(o, "detached_followers", strv_to_json(db->detached, db->ndetached));
	return done(o, err);
}

static json_t *head_dbs_to_json(const struct proto_head *h)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < h->ndbs; i++)
		err |= append(arr, head_db_to_json(&h->dbs[i]));
	return done(arr, err);
}

char *proto_head_encode(const struct proto_head *h)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (!err)
		err |= set_str(o, "format", PROTO_FORMAT) ||
		       set_datetime(o, "updated", h->updated) ||
		       set_uint(o, "checkpoint_interval", h->checkpoint_interval) ||
		       set(o, "databases", head_dbs_to_json(h));
	return dump(done(o, err), DUMP_PRETTY);
}

/* The members every commit and manifest starts with. */
static json_t *object_start(const char *database, const char *uuid, uint64_t version,
                            int64_t committed)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (!err)
		err |= set_str(o, "format", PROTO_FORMAT) || set_str(o, "database", database) ||
		       set_str(o, "uuid", uuid) || set_uint(o, "version", version) ||
		       set_datetime(o, "committed", committed);
	return done(o, err);
}

static json_t *actions_to_json(const struct proto_commit *c)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < c->nactions; i++)
		err |= append(arr, proto_action_to_json(&c->actions[i]));
	return done(arr, err);
}

char *proto_commit_encode(const struct proto_commit *c)
{
	json_t *o = object_start(c->database, c->uuid, c->version, c->committed);

	if (o == NULL)
		return NULL;
	return dump(done(o, set(o, "actions", actions_to_json(c))), DUMP_COMPACT);
}

static json_t *parts_to_json(const struct proto_manifest *m)
{
	json_t *arr = json_array();
	int err = arr == NULL;

	for (size_t i = 0; !err && i < m->nparts; i++) {
		const struct proto_part *p = &m->parts[i];
		json_t *o = json_object();
		err |= o == NULL;
		if (!err)
			err |= set_str(o, "path", p->path) || set_uint(o, "size", p->size) ||
			       set_str(o, "sha256", p->sha256) ||
			       set_uint(o, "records", p->records);
		err |= append(arr, o);
	}
	return done(arr, err);
}

static json_t *counts_to_json(const struct proto_counts *c)
{
	json_t *o = json_object();
	int err = o == NULL;

	if (!err)
		err |= set_uint(o, "tables", c->tables) ||
		       set_uint(o, "external_tables", c->external_tables) ||
		       set_uint(o, "materialized_views", c->materialized_views) ||
		       set_uint(o, "extents", c->extents) || set_uint(o, "rows", c->rows) ||
		       set_uint(o, "bytes", c->bytes);
	return done(o, err);
}

char *proto_manifest_encode(const struct proto_manifest *m)
{
	json_t *o = object_start(m->database, m->uuid, m->version, m->committed);

	if (o == NULL)
		return NULL;
	return dump(done(o, set(o, "parts", parts_to_json(m)) ||
	                        set(o, "counts", counts_to_json(&m->counts))),
	            DUMP_PRETTY);
}

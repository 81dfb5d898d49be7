/*
 * TEMPORARY: copies of the lib/proto.c functions the store and diff tests
 * need, until the proto module lands in main.  Delete this file (and its
 * #include lines) after `git merge main` brings lib/proto.c.
 */
#ifndef FOLLOWERD_TEST_PROTO_SHIM_H
#define FOLLOWERD_TEST_PROTO_SHIM_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

static const char *const shim_kind_names[] = {"table", "external_table", "materialized_view"};
static const char *const shim_coltype_names[] = {
    "bool", "datetime", "dynamic", "guid", "int", "long", "real", "string", "timespan", "decimal"};
static const char *const shim_role_names[] = {"admins", "users", "viewers", "monitors"};

const char *proto_kind_name(enum proto_kind k)
{
	return (size_t)k < 3 ? shim_kind_names[k] : NULL;
}

const char *proto_coltype_name(enum proto_coltype t)
{
	return (size_t)t < 10 ? shim_coltype_names[t] : NULL;
}

int proto_coltype_parse(const char *s, enum proto_coltype *ret)
{
	for (size_t i = 0; s != NULL && i < 10; i++)
		if (strcmp(s, shim_coltype_names[i]) == 0) {
			*ret = (enum proto_coltype)i;
			return 0;
		}
	return -EINVAL;
}

const char *proto_role_name(enum proto_role r)
{
	return (size_t)r < 4 ? shim_role_names[r] : NULL;
}

int proto_role_parse(const char *s, enum proto_role *ret)
{
	for (size_t i = 0; s != NULL && i < 4; i++)
		if (strcmp(s, shim_role_names[i]) == 0) {
			*ret = (enum proto_role)i;
			return 0;
		}
	return -EINVAL;
}

const char *proto_op_name(enum proto_op op, enum proto_kind kind)
{
	static const char *const entity_ops[][3] = {
	    {"create_table", "create_external_table", "create_materialized_view"},
	    {"alter_table", "alter_external_table", "alter_materialized_view"},
	    {"drop_table", "drop_external_table", "drop_materialized_view"},
	};
	static const char *const ops[] = {"add_extents",          "drop_extents",
	                                  "replace_extents",      "set_caching_policy",
	                                  "set_retention_policy", "set_principals"};

	if ((size_t)op < 3)
		return (size_t)kind < 3 ? entity_ops[op][kind] : NULL;
	return (size_t)op - 3 < 6 ? ops[op - 3] : NULL;
}

int proto_path_artifact(char *buf, size_t len, const char *sha256)
{
	return snprintf(buf, len, "artifacts/%.2s/%s", sha256, sha256);
}

void proto_entity_clear(struct proto_entity *e)
{
	if (e == NULL)
		return;
	free(e->name);
	for (size_t i = 0; i < e->ncolumns; i++)
		free(e->columns[i].name);
	free(e->columns);
	free(e->folder);
	free(e->docstring);
	free(e->location);
	free(e->source);
	free(e->query);
	memset(e, 0, sizeof(*e));
}

void proto_caching_clear(struct proto_caching *c)
{
	if (c == NULL)
		return;
	free(c->windows);
	memset(c, 0, sizeof(*c));
}

static char *shim_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

int proto_entity_copy(struct proto_entity *dst, const struct proto_entity *src)
{
	struct proto_entity e = {.kind = src->kind, .ncolumns = src->ncolumns};

	e.name = shim_dup(src->name);
	e.folder = shim_dup(src->folder);
	e.docstring = shim_dup(src->docstring);
	e.location = shim_dup(src->location);
	e.source = shim_dup(src->source);
	e.query = shim_dup(src->query);
	e.columns = calloc(src->ncolumns + 1, sizeof(*e.columns));
	for (size_t i = 0; i < e.ncolumns; i++) {
		e.columns[i].type = src->columns[i].type;
		e.columns[i].name = shim_dup(src->columns[i].name);
	}
	*dst = e;
	return 0;
}

int proto_caching_copy(struct proto_caching *dst, const struct proto_caching *src)
{
	struct proto_caching c = {.hot_span = src->hot_span, .nwindows = src->nwindows};

	c.windows = calloc(src->nwindows + 1, sizeof(*c.windows));
	if (c.nwindows > 0)
		memcpy(c.windows, src->windows, c.nwindows * sizeof(*c.windows));
	*dst = c;
	return 0;
}

#endif

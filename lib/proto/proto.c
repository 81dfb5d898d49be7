/*
 * proto — names of the protocol's enumerations and the paths of objects
 * under a leader's root (docs/PROTOCOL.md, "Layout").
 *
 * The module is split by job: proto_decode.c (validation and decoding),
 * proto_encode.c (encoding), proto_mem.c (clear/free/copy) and this file.
 */
#include "proto/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static const char *const kind_names[] = {
    [PROTO_TABLE] = "table",
    [PROTO_EXTERNAL_TABLE] = "external_table",
    [PROTO_MATERIALIZED_VIEW] = "materialized_view",
};

static const char *const coltype_names[] = {
    [PROTO_T_BOOL] = "bool",       [PROTO_T_DATETIME] = "datetime", [PROTO_T_DYNAMIC] = "dynamic",
    [PROTO_T_GUID] = "guid",       [PROTO_T_INT] = "int",           [PROTO_T_LONG] = "long",
    [PROTO_T_REAL] = "real",       [PROTO_T_STRING] = "string",     [PROTO_T_TIMESPAN] = "timespan",
    [PROTO_T_DECIMAL] = "decimal",
};

static const char *const format_names[] = {
    [PROTO_FMT_NONE] = "none",
    [PROTO_FMT_CSV] = "csv",
    [PROTO_FMT_TSV] = "tsv",
    [PROTO_FMT_JSON] = "json",
};

static const char *const compression_names[] = {
    [PROTO_COMP_NONE] = "none",
    [PROTO_COMP_GZIP] = "gzip",
    [PROTO_COMP_ZSTD] = "zstd",
};

static const char *const role_names[] = {
    [PROTO_ROLE_ADMINS] = "admins",
    [PROTO_ROLE_USERS] = "users",
    [PROTO_ROLE_VIEWERS] = "viewers",
    [PROTO_ROLE_MONITORS] = "monitors",
};

/* Entity ops by [op][kind]; the other ops do not depend on a kind. */
static const char *const entity_op_names[][3] = {
    [PROTO_OP_CREATE] = {"create_table", "create_external_table", "create_materialized_view"},
    [PROTO_OP_ALTER] = {"alter_table", "alter_external_table", "alter_materialized_view"},
    [PROTO_OP_DROP] = {"drop_table", "drop_external_table", "drop_materialized_view"},
};

static const char *const op_names[] = {
    [PROTO_OP_ADD_EXTENTS] = "add_extents",
    [PROTO_OP_DROP_EXTENTS] = "drop_extents",
    [PROTO_OP_REPLACE_EXTENTS] = "replace_extents",
    [PROTO_OP_SET_CACHING] = "set_caching_policy",
    [PROTO_OP_SET_RETENTION] = "set_retention_policy",
    [PROTO_OP_SET_PRINCIPALS] = "set_principals",
};

const char *proto_kind_name(enum proto_kind k)
{
	return (size_t)k < N_ELEMENTS(kind_names) ? kind_names[k] : NULL;
}

const char *proto_coltype_name(enum proto_coltype t)
{
	return (size_t)t < N_ELEMENTS(coltype_names) ? coltype_names[t] : NULL;
}

const char *proto_coltype_clr_name(enum proto_coltype t)
{
	static const char *const names[] = {
	    [PROTO_T_BOOL] = "System.Boolean",
	    [PROTO_T_DATETIME] = "System.DateTime",
	    [PROTO_T_DYNAMIC] = "System.Object",
	    [PROTO_T_GUID] = "System.Guid",
	    [PROTO_T_INT] = "System.Int32",
	    [PROTO_T_LONG] = "System.Int64",
	    [PROTO_T_REAL] = "System.Double",
	    [PROTO_T_STRING] = "System.String",
	    [PROTO_T_TIMESPAN] = "System.TimeSpan",
	    [PROTO_T_DECIMAL] = "System.Data.SqlTypes.SqlDecimal",
	};

	return (size_t)t < N_ELEMENTS(names) && names[t] != NULL ? names[t] : "System.Object";
}

int proto_coltype_parse(const char *s, enum proto_coltype *ret)
{
	for (size_t i = 0; s != NULL && i < N_ELEMENTS(coltype_names); i++)
		if (strcmp(s, coltype_names[i]) == 0) {
			*ret = (enum proto_coltype)i;
			return 0;
		}
	return -EINVAL;
}

/* The index of s in names[n], or -EINVAL. */
static int find_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

const char *proto_format_name(enum proto_format f)
{
	return (size_t)f < N_ELEMENTS(format_names) ? format_names[f] : NULL;
}

int proto_format_parse(const char *s, enum proto_format *ret)
{
	int i = find_name(format_names, N_ELEMENTS(format_names), s);

	if (i < 0)
		return i;
	*ret = (enum proto_format)i;
	return 0;
}

const char *proto_compression_name(enum proto_compression c)
{
	return (size_t)c < N_ELEMENTS(compression_names) ? compression_names[c] : NULL;
}

int proto_compression_parse(const char *s, enum proto_compression *ret)
{
	int i = find_name(compression_names, N_ELEMENTS(compression_names), s);

	if (i < 0)
		return i;
	*ret = (enum proto_compression)i;
	return 0;
}

const char *proto_role_name(enum proto_role r)
{
	return (size_t)r < N_ELEMENTS(role_names) ? role_names[r] : NULL;
}

int proto_role_parse(const char *s, enum proto_role *ret)
{
	for (size_t i = 0; s != NULL && i < N_ELEMENTS(role_names); i++)
		if (strcmp(s, role_names[i]) == 0) {
			*ret = (enum proto_role)i;
			return 0;
		}
	return -EINVAL;
}

const char *proto_op_name(enum proto_op op, enum proto_kind kind)
{
	if ((size_t)op < N_ELEMENTS(entity_op_names))
		return (size_t)kind < N_ELEMENTS(kind_names) ? entity_op_names[op][kind] : NULL;
	return (size_t)op < N_ELEMENTS(op_names) ? op_names[op] : NULL;
}

int proto_path_commit(char *buf, size_t len, const char *uuid, uint64_t version)
{
	return snprintf(buf, len, "db/%s/log/%020" PRIu64 ".json", uuid, version);
}

int proto_path_checkpoint_dir(char *buf, size_t len, const char *uuid, uint64_t version)
{
	return snprintf(buf, len, "db/%s/checkpoint/%020" PRIu64, uuid, version);
}

int proto_path_manifest(char *buf, size_t len, const char *uuid, uint64_t version)
{
	return snprintf(buf, len, "db/%s/checkpoint/%020" PRIu64 "/manifest.json", uuid, version);
}

int proto_path_part(char *buf, size_t len, const char *uuid, uint64_t version, unsigned part)
{
	return snprintf(buf, len, "db/%s/checkpoint/%020" PRIu64 "/part-%05u.ndjson", uuid, version,
	                part);
}

int proto_path_artifact(char *buf, size_t len, const char *sha256)
{
	return snprintf(buf, len, "artifacts/%.2s/%s", sha256, sha256);
}

bool proto_extent_typed(const struct proto_extent *x)
{
	for (size_t i = 0; i < x->nartifacts; i++)
		if (x->artifacts[i].format == PROTO_FMT_NONE)
			return false;
	return x->nartifacts > 0;
}

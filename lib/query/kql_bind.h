/*
 * kql_bind — the third stage: resolves a parsed query's names and types
 * against a schema and builds its plan (kql_plan.h).  Tables resolve in the
 * schema's current database (database("db").T elsewhere), columns in the
 * operator's input, let names lexically (scalars and tables are inlined,
 * functions expanded with their arguments), functions in kql_func's table.
 * Every expression gets Kusto's type (long / long is long, datetime -
 * datetime is timespan, int + long is long ...) and every result column
 * Kusto's name (count_, sum_X, a bin() key keeps its column's name,
 * Column1, print_0, a join's repeated names with 1 appended).
 *
 * Errors are Kusto's semantic ones with the position of the offending
 * node: SEM0100 "Failed to resolve table expression named 'X'", "'where'
 * operator: Failed to resolve scalar expression named 'x'", SEM0260 for an
 * unknown function, SEM0101 for a type mismatch.
 */
#ifndef FOLLOWERD_KQL_BIND_H
#define FOLLOWERD_KQL_BIND_H

#include "query/kql_arena.h"
#include "query/kql_ast.h"
#include "query/kql_err.h"
#include "query/kql_plan.h"
#include "query/kql_schema.h"

#define KQL_MAX_INLINE 256 /* let functions expanded per query */
/* Inputs of one union, a wildcard name counting each table it matches: the
 * SQL executor's bound (SQLite's SQLITE_MAX_COMPOUND_SELECT, 500 terms of
 * one UNION ALL; past it the engine refused the statement). */
#define KQL_MAX_UNION 500

/* The values of a query's declared parameters (declare query_parameters),
 * as the request gives them: names and their texts (borrowed). */
struct kql_params {
	char *const *names;
	char *const *values;
	size_t n;
};

/* Binds the KQL_N_QUERY root q (borrowed) against schema (borrowed).  On
 * success *ret is the bound query, allocated in arena (which must outlive
 * it and may be q's).  -EINVAL with err filled, -ENOMEM; *ret untouched. */
int kql_bind(struct kql_arena *arena, const struct kql_node *q, const struct kql_schema *schema,
             struct kql_query **ret, struct kql_error *err);

/* Parses and binds src in one call (kql_parse, then kql_bind), the entry
 * point of an executor.  Same contract. */
int kql_compile(struct kql_arena *arena, const char *src, size_t len,
                const struct kql_schema *schema, struct kql_query **ret, struct kql_error *err);

/* kql_compile with the values of the query's declared parameters (params
 * borrowed; NULL: none). */
int kql_compile_params(struct kql_arena *arena, const char *src, size_t len,
                       const struct kql_schema *schema, const struct kql_params *params,
                       struct kql_query **ret, struct kql_error *err);

#endif

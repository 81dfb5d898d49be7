/*
 * kql_schema — what the binder knows about the data: databases, their
 * tables, each table's columns with Kusto types.  A plain struct the caller
 * fills from one visible version (the daemon from the query store, tests by
 * hand), so the binder depends on no store.  Names are compared exactly, as
 * Kusto compares entity names.
 */
#ifndef FOLLOWERD_KQL_SCHEMA_H
#define FOLLOWERD_KQL_SCHEMA_H

#include <stddef.h>

#include "proto/proto.h"

struct kql_schema_column {
	const char *name;
	enum proto_coltype type;
};

struct kql_schema_table {
	const char *name;
	const struct kql_schema_column *columns;
	size_t ncolumns;
};

struct kql_schema_db {
	const char *name;
	const struct kql_schema_table *tables;
	size_t ntables;
};

/* All borrowed by the binder for the duration of kql_bind. */
struct kql_schema {
	const struct kql_schema_db *dbs;
	size_t ndbs;
	const char *current; /* the request's database: where bare table names resolve */
};

/* The database named name, NULL when unknown. */
const struct kql_schema_db *kql_schema_db(const struct kql_schema *s, const char *name);

/* The table named name in db, NULL when unknown. */
const struct kql_schema_table *kql_schema_table(const struct kql_schema_db *db, const char *name);

#endif

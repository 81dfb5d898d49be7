/*
 * kql_schema — look-ups over the caller's schema struct.  Linear: a
 * database holds tens to hundreds of tables and a query names a few.
 */
#include <string.h>

#include "query/kql_schema.h"

const struct kql_schema_db *kql_schema_db(const struct kql_schema *s, const char *name)
{
	for (size_t i = 0; s != NULL && name != NULL && i < s->ndbs; i++)
		if (strcmp(s->dbs[i].name, name) == 0)
			return &s->dbs[i];
	return NULL;
}

const struct kql_schema_table *kql_schema_table(const struct kql_schema_db *db, const char *name)
{
	for (size_t i = 0; db != NULL && i < db->ntables; i++)
		if (strcmp(db->tables[i].name, name) == 0)
			return &db->tables[i];
	return NULL;
}

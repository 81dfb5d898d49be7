/*
 * views_int — what the files of the views module share (not for callers).
 *
 * views.c: snapshots, databases, schema, policies, principals, history and
 * the JSON pieces; views_data.c: extents, the cache and artifacts.
 */
#ifndef FOLLOWERD_VIEWS_INT_H
#define FOLLOWERD_VIEWS_INT_H

#include <stdarg.h>

#include "policy/policy.h"
#include "views/views.h"

/* Writes a message into err (VIEWS_ERRLEN) and returns r. */
int views_errf(char *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets key of obj to a new reference v (stolen); -ENOMEM when v is NULL or
 * the set fails. */
int views_set(json_t *obj, const char *key, json_t *v);

/* The effective caching policy of entity e (NULL: the database) of d:
 * the leader's database and entity policies, the attach's overrides. */
int views_policy_of(const struct views_db *d, const struct store_entity *e, bool has_db,
                    const struct proto_caching *db, struct policy **ret);

#endif

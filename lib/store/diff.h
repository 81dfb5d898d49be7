/*
 * diff — what changed between two versions of a database's metadata.
 *
 * Pure functions over the protocol's structs (proto.h), no I/O: the store
 * calls them when it applies a commit or diffs a checkpoint against its
 * state, and the change list they build is what a commit's summary, the
 * history and the views report.  Each function appends to a struct diff_list;
 * the list owns copies of every string in it, so the compared structs may be
 * freed afterwards.
 *
 * Errors: 0 or -ENOMEM (the list keeps what was appended before the failure).
 */
#ifndef FOLLOWERD_DIFF_H
#define FOLLOWERD_DIFF_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "proto/proto.h"

enum diff_what {
	DIFF_CREATED,           /* entity created */
	DIFF_DROPPED,           /* entity dropped */
	DIFF_KIND_CHANGED,      /* e.g. a table became a materialized view; old_kind set */
	DIFF_COLUMN_ADDED,      /* item = column, new_type set */
	DIFF_COLUMN_DROPPED,    /* item = column, old_type set */
	DIFF_COLUMN_RETYPED,    /* item = column, old_type and new_type set */
	DIFF_COLUMNS_REORDERED, /* the columns both versions have are in another order */
	DIFF_FOLDER_CHANGED,
	DIFF_DOCSTRING_CHANGED,
	DIFF_LOCATION_CHANGED, /* external tables */
	DIFF_SOURCE_CHANGED,   /* materialized views */
	DIFF_QUERY_CHANGED,    /* materialized views */
	DIFF_CACHING_CHANGED,  /* entity NULL: the database's policy */
	DIFF_RETENTION_CHANGED,
	DIFF_PRINCIPAL_ADDED,   /* item = fqn, role set */
	DIFF_PRINCIPAL_REMOVED, /* item = fqn, role set */
	DIFF_PRINCIPAL_RENAMED, /* item = fqn, role set: the display name changed */
};

/* One change.  Members that do not apply to what are NULL / 0. */
struct diff_change {
	enum diff_what what;
	enum proto_kind kind;     /* the entity's kind (the new one when it changed) */
	enum proto_kind old_kind; /* DIFF_KIND_CHANGED */
	char *entity;             /* entity name; NULL for database-level changes */
	char *item;               /* column name or principal fqn */
	enum proto_coltype old_type;
	enum proto_coltype new_type;
	enum proto_role role;
};

/* A growable list; zero-initialise it ({0}) before the first append. */
struct diff_list {
	struct diff_change *v;
	size_t n;
	size_t cap;
};

/* Releases what the list owns and zeroes it; accepts NULL. */
void diff_list_clear(struct diff_list *l);

/* Appends one change with copies of entity and item (either may be NULL). */
int diff_list_add(struct diff_list *l, const struct diff_change *c);

/* Compares two definitions of the entity named by the new one (borrows both).
 * old NULL appends DIFF_CREATED, new NULL appends DIFF_DROPPED; otherwise
 * appends kind, column (added, dropped, retyped, reordered) and text changes,
 * in a stable order: kind, dropped, added, retyped, reordered, texts. */
int diff_entity(const struct proto_entity *old, const struct proto_entity *new,
                struct diff_list *out);

/* True when two caching policies are the same; NULL means "no policy". */
bool diff_caching_equal(const struct proto_caching *a, const struct proto_caching *b);

/* True when two retention policies are the same; NULL means "no policy". */
bool diff_retention_equal(const struct proto_retention *a, const struct proto_retention *b);

/* Appends DIFF_CACHING_CHANGED for entity (NULL: the database) when the
 * policies differ. */
int diff_caching(const char *entity, enum proto_kind kind, const struct proto_caching *old,
                 const struct proto_caching *new, struct diff_list *out);

/* Appends DIFF_RETENTION_CHANGED for entity (NULL: the database) when the
 * policies differ. */
int diff_retention(const char *entity, enum proto_kind kind, const struct proto_retention *old,
                   const struct proto_retention *new, struct diff_list *out);

/* Compares two principal lists of one role by fqn (order is not significant):
 * appends one change per fqn added, removed or renamed, sorted by fqn.
 * O((n + m) log(n + m)); a list may hold a duplicate fqn, the first counts. */
int diff_principals(enum proto_role role, const struct proto_principal *old, size_t nold,
                    const struct proto_principal *new, size_t nnew, struct diff_list *out);

/* "created", "column_added", ... (stable: stored in the history). */
const char *diff_what_name(enum diff_what what);

/* The list as a JSON array of objects such as
 *   {"change":"column_retyped","kind":"table","entity":"T","column":"c",
 *    "old_type":"int","new_type":"long"}
 * Returns a new reference, NULL on ENOMEM. */
json_t *diff_list_to_json(const struct diff_list *l);

#endif

/*
 * leader_state — the in-memory state of one leader database at one version.
 *
 * leaderctl builds it from a checkpoint plus the log after it, applies the
 * actions of a new commit to it (which is how a commit is validated before
 * anything is published), and streams it back out as checkpoint records.
 * Every action is checked against the state: a table must exist before
 * extents are added to it, an extent id must be new, a dropped extent must be
 * present, a materialized view's source must be a table, and so on.
 *
 * It is built to hold a million extents: an extent is a fixed 80-byte record
 * in a dense array plus one small block for its artifacts and tags; strings
 * that repeat (artifact names, tags, table names) are interned; ids and
 * sha256 sums are kept in binary; an artifact path is stored only when it is
 * not the canonical "artifacts/<sha[0:2]>/<sha>".  Extent ids are found
 * through an open-addressing hash table.
 *
 * Errors: functions return 0 or a negative errno and write one line into err
 * (at most LEADER_STATE_ERRLEN bytes) such as
 * "extent 0b5f3c1a-... not found in database Logs".
 *   -EINVAL  the action does not apply to this state (the state is unchanged
 *            by the failing action; earlier actions of a commit stay applied:
 *            discard the state when a commit fails)
 *   -ENOMEM  out of memory
 */
#ifndef FOLLOWERD_LEADER_STATE_H
#define FOLLOWERD_LEADER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

#define LEADER_STATE_ERRLEN 512
#define LEADER_STATE_DIGEST_LEN 32

struct leader_state;

/* Returns a new empty state at version 0 of database name/uuid in *ret. */
int leader_state_new(const char *database, const char *uuid, struct leader_state **ret);
void leader_state_free(struct leader_state *s);

/* Borrowed strings, valid for the life of the state. */
const char *leader_state_database(const struct leader_state *s);
const char *leader_state_uuid(const struct leader_state *s);
uint64_t leader_state_version(const struct leader_state *s);
int64_t leader_state_committed(const struct leader_state *s);
/* Used after applying a checkpoint's records: the state is now at version. */
void leader_state_set_version(struct leader_state *s, uint64_t version, int64_t committed);

/* Fills *ret with the state's counts (as a checkpoint manifest has them). */
void leader_state_counts(const struct leader_state *s, struct proto_counts *ret);

/* Applies one action (borrowed; copied into the state) after checking it. */
int leader_state_apply(struct leader_state *s, const struct proto_action *a, char *err);

/* Applies a whole commit: its uuid must be the state's and its version the
 * next one; errors are prefixed with "actions[i]: " when it has
 * more than one action.  On success the state is
 * at c->version. */
int leader_state_apply_commit(struct leader_state *s, const struct proto_commit *c, char *err);

/* The table, external table or materialized view called name, or NULL.
 * Borrowed: valid until the next change to the state. */
const struct proto_entity *leader_state_entity(const struct leader_state *s, const char *name);

/* Calls fn for every table, external table and materialized view (tables
 * first, each kind in creation order) with its number of extents; the entity
 * is borrowed for the call.  fn returning non-zero stops and returns that. */
typedef int (*leader_state_entity_fn)(const struct proto_entity *e, uint64_t nextents, void *arg);
int leader_state_foreach_entity(const struct leader_state *s, leader_state_entity_fn fn, void *arg);

/* The principals of role (borrowed, until the next change). */
void leader_state_principals(const struct leader_state *s, enum proto_role role,
                             const struct proto_principal **ret, size_t *ret_n);

/* Caching / retention policy of a table (NULL: the database).  Returns false
 * when none is set; *ret borrowed until the next change. */
bool leader_state_caching(const struct leader_state *s, const char *table,
                          const struct proto_caching **ret);
bool leader_state_retention(const struct leader_state *s, const char *table,
                            const struct proto_retention **ret);

size_t leader_state_nextents(const struct leader_state *s);
bool leader_state_has_extent(const struct leader_state *s, const char *id);

/* A deep copy of extent id into *ret (caller clears with proto_extent_clear);
 * -ENOENT when absent. */
int leader_state_copy_extent(const struct leader_state *s, const char *id,
                             struct proto_extent *ret);

/* Calls fn for every extent (of table only, unless table is NULL).  The
 * extent is a borrowed view valid during the call only: never pass it to
 * proto_extent_clear.  fn returning non-zero stops and returns that value.
 * The state must not be changed from fn. */
typedef int (*leader_state_extent_fn)(const struct proto_extent *e, void *arg);
int leader_state_foreach_extent(const struct leader_state *s, const char *table,
                                leader_state_extent_fn fn, void *arg);

/* Calls fn with the records that rebuild the state from empty, in an order
 * that applies: tables, external tables, materialized views, policies,
 * principals, then add_extents records of at most max_extents extents.
 * Actions are borrowed views valid during the call only. */
typedef int (*leader_state_record_fn)(const struct proto_action *a, void *arg);
int leader_state_foreach_record(const struct leader_state *s, size_t max_extents,
                                leader_state_record_fn fn, void *arg);

/* A digest of the state's content that does not depend on the order in which
 * extents were added: two states with equal digests hold the same tables,
 * policies, principals and extents.  -ENOMEM only. */
int leader_state_digest(const struct leader_state *s, unsigned char ret[LEADER_STATE_DIGEST_LEN]);

/* A snapshot is the whole state (version included) in a binary form that
 * loads at memory speed, for a writer's local cache of the state it commits
 * against.  It is machine-local (host byte order), versioned, and ends with
 * a SHA-256 of its content.  Write writes it to fd (buffered; the caller
 * syncs and renames); read rebuilds a new state from fd (mapped, not
 * loaded).  Read refuses, with -EINVAL, anything that is not a complete,
 * undamaged snapshot of this format. */
int leader_state_snapshot_write(const struct leader_state *s, int fd, char *err);
int leader_state_snapshot_read(int fd, struct leader_state **ret, char *err);

/* uuid text <-> 16 bytes, sha256 hex <-> 32 bytes; -EINVAL on bad text. */
int leader_state_uuid_parse(const char *s, unsigned char ret[16]);
void leader_state_uuid_format(const unsigned char id[16], char ret[PROTO_UUID_LEN + 1]);
int leader_state_sha_parse(const char *s, unsigned char ret[32]);
void leader_state_sha_format(const unsigned char sha[32], char ret[PROTO_SHA256_LEN + 1]);

#endif

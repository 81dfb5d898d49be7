/*
 * store — the follower's state in one SQLite file: every followed database,
 * its leader's metadata at the applied version (entities with ordered
 * columns, extents and their artifacts, policies, principals), a bounded
 * history of applied changes, the persisted attach configurations and the
 * artifact cache's per-blob state.  The only module that speaks SQL.
 *
 * Writing: a commit (log object) is applied as a diff in one transaction,
 * and a checkpoint is staged slice by slice (store_checkpoint_feed) into a
 * private temporary database, then diffed against the stored state and
 * applied in one transaction (store_checkpoint_finish).  A reader never sees
 * half a change; a failed change leaves the previous state and version.
 *
 * Reading: the list and get functions below work on any handle; the views
 * open their own handle with store_open_readonly (WAL: they read a snapshot
 * while the writer goes on).
 *
 * Applied and visible versions (auto-prefetch): readers see a database at
 * its visible version.  Without prefetch every apply makes its version
 * visible in the same transaction.  With prefetch (store_filter.prefetch) a
 * commit leaves the visible version where it was: the extents it adds carry
 * its version and stay hidden, the extents it drops stay as rows marked
 * dropped ("held") while the visible version includes them, and
 * store_db_publish later makes the applied version visible in one
 * transaction, deleting the held rows.  What is versioned is the extent set
 * (store_extents, the totals of store_db_info and store_entity); entities,
 * their schemas, policies and principals are always the applied version's
 * (a table a held commit drops goes at once, with its extents and their
 * share of the visible totals; one it creates shows no extents until
 * published).  A checkpoint (a first load from one, a catch-up past a
 * vacuumed log, a resync, a rewind) keeps no older version: its own
 * becomes visible at once, held rows or not.
 *
 * Costs (tests/bench/store.sh, 1M extents of one artifact): feeding ~1 us
 * and finishing ~3.5 us per extent; a 1,000-extent commit ~15-40 ms.  So a
 * big checkpoint's finish does not belong on the event loop: run it (or the
 * whole load) on a worker thread with its own handle.
 *
 * Threads: a struct store is one SQLite connection and must be used by one
 * thread at a time.  While one handle holds the write lock (a finish, a
 * commit), the others' writes fail with -EBUSY after a short busy timeout
 * (100 ms) rather than stall; retry them later.
 *
 * Databases are named by their config name (the follower's name for the
 * followed database, unique in the store).
 *
 * Errors: functions return 0 or a negative errno and, when err is not NULL,
 * write one line (at most STORE_ERRLEN bytes) into it:
 *   -ENOENT   no such database / config / blob
 *   -EEXIST   the database or config already exists
 *   -EINVAL   an action that cannot apply (names the action index and id)
 *   -ESTALE   a commit of another uuid: the follower must load a checkpoint
 *   -ERANGE   a commit whose version is not applied + 1
 *   -EBADMSG  a checkpoint whose contents disagree with its manifest counts
 *   -EBUSY    the file is locked by another writer; retry later
 *   -EROFS    a write through a read-only handle
 *   -EPROTONOSUPPORT  a store file written by a newer followerd
 *   -ENOMEM, -ENOSPC, -EIO  as usual
 */
#ifndef FOLLOWERD_STORE_H
#define FOLLOWERD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/diff.h"
#include "proto/proto.h"

#define STORE_ERRLEN 512
#define STORE_HISTORY_MAX 1000 /* history rows kept per database */
#define STORE_VERSION 6        /* PRAGMA user_version of a current file */

struct store;
struct store_ckpt;

/* ---- opening ---- */

/* Opens (creating it when absent) the store at path for reading and writing,
 * migrating an older file forward in one transaction.  *ret is a new handle
 * (store_free).  -EPROTONOSUPPORT when the file is newer than this code. */
int store_open(const char *path, struct store **ret, char *err);

/* Opens an existing store read-only: mode=ro, PRAGMA query_only, an
 * authorizer that allows reads only, SQLITE_DBCONFIG_DEFENSIVE.  Every write
 * function fails with -EROFS on such a handle. */
int store_open_readonly(const char *path, struct store **ret, char *err);

/* Closes the handle (aborting nothing: checkpoints must be finished or
 * aborted first).  Accepts NULL. */
void store_free(struct store *s);

/* ---- configurations: one JSON text per config name ---- */

/* Inserts or replaces the configuration name (borrows both strings). */
int store_config_put(struct store *s, const char *name, const char *json, char *err);

/* *ret = a new copy of the JSON text (caller frees); -ENOENT when absent. */
int store_config_get(struct store *s, const char *name, char **ret, char *err);

/* -ENOENT when absent. */
int store_config_delete(struct store *s, const char *name, char *err);

/* Calls fn for each configuration in name order with borrowed strings; a
 * non-zero return from fn stops the walk and is returned. */
int store_config_list(struct store *s, int (*fn)(void *arg, const char *name, const char *json),
                      void *arg, char *err);

/* ---- the overlay: the admin's run-time changes to the attach
 * configurations, one JSON text per attach name (the daemon's; separate
 * from the configurations above, which sync owns) ---- */

/* Inserts or replaces the overlay entry of name (borrows both strings). */
int store_overlay_put(struct store *s, const char *name, const char *json, char *err);

/* -ENOENT when absent. */
int store_overlay_delete(struct store *s, const char *name, char *err);

/* Calls fn for each entry in name order with borrowed strings; a non-zero
 * return from fn stops the walk and is returned. */
int store_overlay_list(struct store *s, int (*fn)(void *arg, const char *name, const char *json),
                       void *arg, char *err);

/* ---- followed databases ---- */

/* Everything the store knows about one followed database (owned strings). */
struct store_db_info {
	int64_t id;
	char *config;                  /* the follower's name for it */
	char *root;                    /* leader root URL */
	char *leader_db;               /* the database's name at the leader */
	char *local_name;              /* the name the views show */
	char uuid[PROTO_UUID_LEN + 1]; /* leader uuid, "" before the first load */
	uint64_t applied_version;      /* 0 before the first load */
	uint64_t visible_version;      /* what readers see: <= applied_version */
	int64_t applied_committed;     /* ticks; commit time of the applied version */
	uint64_t leader_version;       /* newest version seen in the leader's head */
	int64_t leader_committed;      /* ticks; its commit time, 0 = unknown */
	int64_t last_poll;             /* ticks, 0 = never */
	int64_t last_apply;            /* ticks, 0 = never */
	char *last_error;              /* NULL = none */
	char *state;                   /* the sync state machine's word, "new" at first */
	uint64_t extents, rows, bytes; /* totals of the visible (included) extents */
};

void store_db_info_clear(struct store_db_info *d);
void store_db_info_array_free(struct store_db_info *v, size_t n);

/* Adds a followed database with no state yet (applied version 0).  -EEXIST
 * when config is taken. */
int store_db_add(struct store *s, const char *config, const char *root, const char *leader_db,
                 const char *local_name, char *err);

/* Deletes the database, everything under it and the configuration of the
 * same name, in one transaction.  Blobs its artifacts named stay (see
 * store_blobs_unreferenced). */
int store_db_detach(struct store *s, const char *config, char *err);

/* *ret filled (caller clears); -ENOENT. */
int store_db_get(struct store *s, const char *config, struct store_db_info *ret, char *err);

/* All databases in config order: *ret a new array (store_db_info_array_free). */
int store_db_list(struct store *s, struct store_db_info **ret, size_t *ret_n, char *err);

/* Status updates: one UPDATE each, no data touched. */
int store_db_set_poll(struct store *s, const char *config, int64_t when, uint64_t leader_version,
                      int64_t leader_committed, char *err);
/* error NULL clears the last error. */
int store_db_set_error(struct store *s, const char *config, const char *error, char *err);
int store_db_set_state(struct store *s, const char *config, const char *state, char *err);

/* How far behind the leader a database is. */
struct store_lag {
	uint64_t versions; /* leader_version - applied_version, 0 when ahead */
	int64_t ticks;     /* leader commit time - applied commit time, >= 0 */
};

int store_lag(struct store *s, const char *config, struct store_lag *ret, char *err);

/* Makes version, which must be the applied version of database config, the
 * visible one in one transaction: the held extents (dropped at or before it)
 * and their artifacts are deleted, the visible totals copied.  0 when it is
 * visible already; -ESTALE when the applied version is another (applied
 * meanwhile: decide again); -ENOENT. */
int store_db_publish(struct store *s, const char *config, uint64_t version, char *err);

/* The store's generation into *ret: a counter that every transaction
 * changing what a reader of the store can see increases in the same
 * transaction: an applied commit or checkpoint, a publish, a database
 * attached or detached, an attach configuration or overlay entry written.
 * Status rows (a poll's leader version and time, the state, the last
 * error) and the cache's blob states leave it as it is.  So two snapshots
 * of the same generation read the same entities, schemas, extents,
 * policies and principals of every database (a query worker keeps what it
 * read between queries on this).  Read in the caller's snapshot when it
 * holds a read transaction. */
int store_generation(struct store *s, int64_t *ret, char *err);

/* ---- applying changes ---- */

/* The configuration's include/exclude decision for an entity.  Objects it
 * excludes never enter the store (their extents and policies neither). */
typedef bool store_include_fn(enum proto_kind kind, const char *name, void *arg);

struct store_filter {
	store_include_fn *include; /* NULL: include everything */
	void *arg;
	bool prefetch; /* a commit leaves the visible version (store_db_publish) */
};

/* What an applied commit or checkpoint changed. */
struct store_summary {
	uint64_t extents_added, extents_removed;
	uint64_t rows_added, rows_removed;
	uint64_t bytes_added, bytes_removed; /* sums of artifact sizes */
	bool rewound;                        /* checkpoint of a new uuid replaced everything */
	struct diff_list changes;            /* entities, columns, policies, principals */
};

void store_summary_clear(struct store_summary *sum);

/* Applies commit c (borrowed) to database config in one transaction: its
 * uuid must be the stored one (else -ESTALE) and its version applied + 1
 * (else -ERANGE).  An action on an entity or extent that does not exist is
 * -EINVAL naming the action index and the id, and nothing is applied.  An
 * unknown extent id is skipped instead when the database has excluded
 * entities (it may be theirs).  On success *ret (may be NULL) receives the
 * summary (caller clears), applied_version and the history are updated. */
int store_apply_commit(struct store *s, const char *config, const struct proto_commit *c,
                       const struct store_filter *filter, struct store_summary *ret, char *err);

/* Starts loading checkpoint m (borrowed; its uuid, version, commit time and
 * counts are copied) into database config.  Nothing is written to the store
 * until store_checkpoint_finish; records are staged in a private temporary
 * database in SQLite's temp directory (SQLITE_TMPDIR, TMPDIR, /var/tmp),
 * about 100 bytes per extent.  *ret is a new checkpoint (finish or abort it;
 * both before store_free of the handle).  A handle stages at most as many
 * at once as SQLite attaches databases (10 in Debian's build). */
int store_checkpoint_begin(struct store *s, const char *config, const struct proto_manifest *m,
                           const struct store_filter *filter, struct store_ckpt **ret, char *err);

/* Stages n checkpoint records (borrowed; the create_*, set_* and add_extents
 * actions of the parts, in order).  Everything fed is counted; only what the
 * filter includes is kept.  A record naming an unknown table, a second
 * create of a name or an op a checkpoint cannot hold is -EINVAL; after any
 * failure the checkpoint can only be aborted. */
int store_checkpoint_feed(struct store_ckpt *ck, const struct proto_action *records, size_t n,
                          char *err);

/* Checks the counts of everything fed against the manifest, then in one
 * transaction diffs the staged state against the stored one (or replaces
 * everything when the uuid differs), applies it, sets the applied version to
 * the manifest's, records the history and, when the filter excluded nothing,
 * checks the stored counts against the manifest too.  A mismatch is
 * -EBADMSG and nothing is applied.  Frees ck, except on -EBUSY (another
 * connection holds the write lock): then nothing happened and finish may be
 * called again later, or abort.  *ret (may be NULL) receives the summary on
 * success. */
int store_checkpoint_finish(struct store_ckpt *ck, struct store_summary *ret, char *err);

/* Drops the staged records and frees ck; the store is untouched.  Accepts NULL. */
void store_checkpoint_abort(struct store_ckpt *ck);

/* ---- reading ---- */

/* An entity with its ordered columns and policies (owned). */
struct store_entity {
	struct proto_entity e;
	bool has_caching;
	struct proto_caching caching;
	bool has_retention;
	struct proto_retention retention;
	uint64_t extents, rows, bytes;
};

void store_entities_free(struct store_entity *v, size_t n);

/* The database's entities in name order: *ret a new array. */
int store_entities(struct store *s, const char *config, struct store_entity **ret, size_t *ret_n,
                   char *err);

/* The database-level policies; *ret_has* false when none. */
int store_db_policies(struct store *s, const char *config, bool *ret_has_caching,
                      struct proto_caching *ret_caching, bool *ret_has_retention,
                      struct proto_retention *ret_retention, char *err);

/* The principals of role in the leader's order: *ret a new array. */
int store_principals(struct store *s, const char *config, enum proto_role role,
                     struct proto_principal **ret, size_t *ret_n, char *err);
void store_principals_free(struct proto_principal *v, size_t n);

/* Which extents a walk lists. */
enum store_extent_set {
	STORE_EXTENTS_VISIBLE, /* those of the visible version: what readers see */
	STORE_EXTENTS_APPLIED, /* those of the applied version */
	STORE_EXTENTS_HELD,    /* visible but dropped at the applied version */
};

/* A page of a table's extents, in store order (id).  Extents whose created-on
 * range [min_created, max_created] overlaps [from, to] are listed; use
 * INT64_MIN / INT64_MAX for no bound. */
struct store_extent_query {
	const char *config;
	const char *table;
	int64_t from, to;
	int64_t after; /* cursor: 0 for the first page, then the last id seen */
	size_t limit;  /* rows per page, 0 = 1000 */
	enum store_extent_set set;
	/* fn's extent has only its id (and table): nothing else is decoded,
	 * ~20x faster (store_extent_get reads one in full) */
	bool ids_only;
};

/* Calls fn for each extent of the page with a borrowed extent (artifacts and
 * tags filled, valid during the call) and its store id (the next cursor).
 * A non-zero return from fn stops the walk and is returned.  -ENOENT when the
 * database or table does not exist. */
int store_extents(struct store *s, const struct store_extent_query *q,
                  int (*fn)(void *arg, int64_t id, const struct proto_extent *x), void *arg,
                  char *err);

/* Calls fn once with the extent whose store id is id, as store_extents
 * gives it (x's table is NULL).  -ENOENT when there is none. */
int store_extent_get(struct store *s, int64_t id,
                     int (*fn)(void *arg, int64_t id, const struct proto_extent *x), void *arg,
                     char *err);

/* One history row (owned strings). */
struct store_history {
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
	int64_t committed; /* ticks: the leader's commit time */
	int64_t applied;   /* ticks: when the follower applied it */
	bool checkpoint;   /* loaded from a checkpoint, else a commit */
	uint64_t extents_added, extents_removed;
	uint64_t rows_added, rows_removed;
	uint64_t bytes_added, bytes_removed;
	char *changes; /* JSON array (diff_list_to_json); a rewind adds an object */
};

void store_history_free(struct store_history *v, size_t n);

/* The newest limit (0: all kept) history rows of a database, newest first. */
int store_history(struct store *s, const char *config, size_t limit, struct store_history **ret,
                  size_t *ret_n, char *err);

/* Runs one read-only SQL statement through a read-only handle (-EPERM on a
 * writable one), calling fn for each row with borrowed text values (NULL for
 * SQL NULL; at most the first 64 columns).  For the views' ad-hoc queries and
 * tests; a non-zero return from fn stops the walk and is returned.  The last
 * STORE_QUERY_CACHE statements stay prepared, looked up by their exact text
 * (so pass constant SQL with the values inlined only when they repeat). */
int store_query(struct store *s, const char *sql,
                int (*fn)(void *arg, int ncols, const char *const *values), void *arg, char *err);

/* ---- the artifact cache's per-blob state ---- */

enum store_blob_state {
	STORE_BLOB_UNKNOWN,     /* no row: never fetched */
	STORE_BLOB_CACHED,      /* the file is in the cache, verified */
	STORE_BLOB_QUARANTINED, /* failed verification; kept aside */
};

struct store_blob {
	char sha256[PROTO_SHA256_LEN + 1];
	enum store_blob_state state;
	uint64_t size;
	uint32_t fails;      /* consecutive failed fetches */
	int64_t last_access; /* ticks, 0 = never */
};

/* Inserts or replaces the row of b->sha256. */
int store_blob_put(struct store *s, const struct store_blob *b, char *err);
/* The same for v[0..n), in one transaction: all of them or none (inside a
 * transaction under way, as part of it). */
int store_blobs_put(struct store *s, const struct store_blob *v, size_t n, char *err);

/* -ENOENT when the blob has no row (state unknown). */
int store_blob_get(struct store *s, const char *sha256, struct store_blob *ret, char *err);

/* Calls fn for each blob row no artifact of any database references (what
 * detach and dropped extents leave behind), in sha256 order. */
int store_blobs_unreferenced(struct store *s, int (*fn)(void *arg, const struct store_blob *b),
                             void *arg, char *err);

#endif

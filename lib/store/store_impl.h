/*
 * store_impl — what the files of the store module share (not for callers).
 *
 * The module is split by job: store.c (opening, migrations, statements,
 * configurations, databases, blobs), store_meta.c (rows of entities,
 * policies, principals, extents and history), store_commit.c (applying a
 * commit), store_ckpt.c (staging, diffing and applying a checkpoint) and
 * store_read.c (the read API).
 */
#ifndef FOLLOWERD_STORE_IMPL_H
#define FOLLOWERD_STORE_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/store.h"

/* Every statement the module runs more than once, prepared on first use and
 * kept (store.c holds the SQL, in the same order). */
enum store_st {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_GEN_BUMP,
	ST_GEN_GET,
	ST_CONFIG_PUT,
	ST_CONFIG_GET,
	ST_CONFIG_DELETE,
	ST_CONFIG_LIST,
	ST_OVERLAY_PUT,
	ST_OVERLAY_DELETE,
	ST_OVERLAY_LIST,
	ST_DB_ADD,
	ST_DB_FIND,
	ST_DB_GET,
	ST_DB_LIST,
	ST_DB_SET_POLL,
	ST_DB_SET_ERROR,
	ST_DB_SET_STATE,
	ST_DB_SET_APPLIED,
	ST_DB_PUBLISH,
	ST_DB_UNSEE_ENTITY,
	ST_ENT_PUBLISH,
	ST_PURGE_ARTIFACTS,
	ST_PURGE_EXTENTS,
	ST_DB_DELETE,
	ST_WIPE_ARTIFACTS,
	ST_WIPE_EXTENTS,
	ST_WIPE_COLUMNS,
	ST_WIPE_ENTITIES,
	ST_WIPE_CACHING,
	ST_WIPE_RETENTION,
	ST_WIPE_PRINCIPALS,
	ST_WIPE_EXCLUDED,
	ST_WIPE_HISTORY,
	ST_ENT_FIND,
	ST_ENT_GET,
	ST_ENT_LIST,
	ST_ENT_INSERT,
	ST_ENT_UPDATE,
	ST_ENT_DELETE,
	ST_ENT_ADD_TOTALS,
	ST_ENT_SET_TOTALS,
	ST_ENT_DROP_ARTIFACTS,
	ST_ENT_DROP_EXTENTS,
	ST_COL_INSERT,
	ST_COL_DELETE,
	ST_COL_LIST,
	ST_EXT_INSERT,
	ST_EXT_FIND,
	ST_EXT_EXISTS,
	ST_EXT_DELETE,
	ST_EXT_HOLD,
	ST_EXT_PAGE,
	ST_EXT_PAGE_APPLIED,
	ST_EXT_PAGE_HELD,
	ST_EXT_GET,
	ST_EXT_MAXID,
	ST_ART_INSERT,
	ST_ART_DELETE,
	ST_ART_LIST,
	ST_CACHING_GET,
	ST_CACHING_PUT,
	ST_CACHING_DELETE,
	ST_RETENTION_GET,
	ST_RETENTION_PUT,
	ST_RETENTION_DELETE,
	ST_PRIN_LIST,
	ST_PRIN_DELETE,
	ST_PRIN_INSERT,
	ST_EXCL_PUT,
	ST_EXCL_DELETE,
	ST_EXCL_GET,
	ST_EXCL_ANY,
	ST_HIST_INSERT,
	ST_HIST_TRIM,
	ST_HIST_LIST,
	ST_BLOB_PUT,
	ST_BLOB_GET,
	ST_BLOB_UNREF,
	ST_COUNT_KINDS,
	ST_COUNT_EXTENTS,
	ST__COUNT
};

#define STORE_QUERY_CACHE 16

struct store {
	sqlite3 *db;
	bool readonly;
	unsigned nattached; /* checkpoint staging databases made so far (names) */
	sqlite3_stmt *st[ST__COUNT];
	/* store_query's statements, kept prepared: the views ask the same few
	 * queries on every request (a small ring, reused by exact SQL text) */
	struct {
		char *sql;
		sqlite3_stmt *st;
		bool busy; /* stepping: a nested store_query must not reset or evict it */
	} q[STORE_QUERY_CACHE];
	unsigned qnext;
};

/* The row of a followed database the writers need. */
struct store_dbrow {
	int64_t id;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t applied_version;
	uint64_t visible_version;
	uint64_t extents, rows, bytes; /* of the applied version */
};

/* Writes a formatted line into err (NULL allowed); returns r. */
int store_errf(char *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Maps an SQLite result code to a negative errno and writes what failed and
 * SQLite's message into err. */
int store_sqlerr(struct store *s, int rc, char *err, const char *what);

/* The statement id, prepared on first use, reset with its bindings cleared;
 * NULL on failure (err written). */
sqlite3_stmt *store_stmt(struct store *s, enum store_st id, char *err);

/* Steps a statement that returns no row; 0 or a negative errno. */
int store_step_done(struct store *s, sqlite3_stmt *st, char *err, const char *what);

/* Steps a statement expected to return a row: 1 with a row, 0 when done. */
int store_step_row(struct store *s, sqlite3_stmt *st, char *err, const char *what);

/* Steps statement id with its first parameter bound to key, as
 * store_step_row: 1 with the row in *ret (the caller reads and resets it),
 * 0 when there is none. */
int store_find_row(struct store *s, enum store_st id, const char *key, const char *what,
                   sqlite3_stmt **ret, char *err);

/* Runs one parameterless statement of id to completion. */
int store_run(struct store *s, enum store_st id, char *err);

/* Runs one statement of id with one integer parameter to completion. */
int store_run_id(struct store *s, enum store_st id, int64_t a, char *err);

/* Makes room for element n of v, an array of *cap elements of size bytes:
 * v itself while n < *cap, else v reallocated to twice *cap (first when
 * empty) with *cap updated; NULL when out of memory (v and *cap kept). */
void *store_grow(void *v, size_t n, size_t *cap, size_t first, size_t size);

/* Binds text that may be NULL. */
int store_bind_text(sqlite3_stmt *st, int i, const char *v);

/* Copies a text column (NULL stays NULL unless empty_for_null); false on ENOMEM. */
bool store_col_dup(sqlite3_stmt *st, int i, char **ret, bool empty_for_null);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK (rollback never fails).
 * store_commit is for a change of what readers see: it bumps the generation
 * (store_generation) in the transaction it commits.  A transaction that
 * writes only status (a poll's row, the state, the last error: autocommit
 * statements) or the cache's blob states commits without it. */
int store_begin(struct store *s, char *err);
int store_commit(struct store *s, char *err);
void store_rollback(struct store *s);

/* -EROFS with a message when s is read-only. */
int store_check_writable(struct store *s, char *err);

/* The database row of config: -ENOENT when absent. */
int store_dbrow_find(struct store *s, const char *config, struct store_dbrow *ret, char *err);

/* Deletes everything stored under database id except its databases row
 * (and, when keep_history, its history). */
int store_wipe(struct store *s, int64_t db, bool keep_history, char *err);

/* Current time in ticks since the epoch. */
int64_t store_now(void);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" <-> 16 bytes; parse is 0 or -EINVAL. */
int store_uuid_parse(const char *s, unsigned char out[16]);
void store_uuid_format(const unsigned char in[16], char out[PROTO_UUID_LEN + 1]);

/* 64 lowercase hex <-> 32 bytes; parse is 0 or -EINVAL. */
int store_sha_parse(const char *s, unsigned char out[32]);
void store_sha_format(const unsigned char in[32], char out[PROTO_SHA256_LEN + 1]);

/* Entity kind names as stored; parse is 0 or -EINVAL. */
const char *store_kind_name(enum proto_kind k);
int store_kind_parse(const char *s, enum proto_kind *ret);

/* ---- metadata rows (store_meta.c) ---- */

/* Inserts entity e of database db and its columns; *ret_id its id. */
int store_entity_insert(struct store *s, int64_t db, const struct proto_entity *e, int64_t *ret_id,
                        char *err);

/* Replaces the definition of entity id (row and columns) by e. */
int store_entity_update(struct store *s, int64_t id, const struct proto_entity *e, char *err);

/* Sets the extent totals of entity id. */
int store_entity_totals(struct store *s, int64_t id, uint64_t extents, uint64_t rows,
                        uint64_t bytes, char *err);

/* Records name as an entity of database db the filter excluded. */
int store_excluded_put(struct store *s, int64_t db, const char *name, enum proto_kind kind,
                       char *err);

/* Reads entity row st (columns as ST_ENT_GET / ST_ENT_LIST) with its columns
 * into *ret (caller clears); *ret_id its id. */
int store_entity_read(struct store *s, sqlite3_stmt *st, struct proto_entity *ret, int64_t *ret_id,
                      char *err);

/* Reads the caching policy of (db, entity); entity 0 is the database. */
int store_caching_read(struct store *s, int64_t db, int64_t entity, bool *ret_has,
                       struct proto_caching *ret, char *err);
int store_retention_read(struct store *s, int64_t db, int64_t entity, bool *ret_has,
                         struct proto_retention *ret, char *err);

/* Sets (p non-NULL) or removes (p NULL) the policy of (db, entity). */
int store_caching_write(struct store *s, int64_t db, int64_t entity, const struct proto_caching *p,
                        char *err);
int store_retention_write(struct store *s, int64_t db, int64_t entity,
                          const struct proto_retention *p, char *err);

/* Binds artifact i of x to st, an insert of an artifact row whose first
 * column is key (an extent id, or a staging sequence), and steps it. */
int store_artifact_put(struct store *s, sqlite3_stmt *st, int64_t key, const struct proto_extent *x,
                       size_t i, const char *what, char *err);

/* The principals of (db, role) as a new array (store_principals_free). */
int store_principals_read(struct store *s, int64_t db, enum proto_role role,
                          struct proto_principal **ret, size_t *ret_n, char *err);

/* Replaces the principals of (db, role). */
int store_principals_write(struct store *s, int64_t db, enum proto_role role,
                           const struct proto_principal *v, size_t n, char *err);

/* Inserts the extent x of entity into database db with its artifacts, as
 * added by version added. */
int store_extent_insert(struct store *s, int64_t db, int64_t entity, const struct proto_extent *x,
                        uint64_t added, char *err);

/* Deletes the held extents of database row (dropped at its applied version,
 * kept while an older version was visible) with their artifacts: a no-op
 * unless its visible version is behind the applied one.  For the
 * transaction that makes the applied version visible. */
int store_purge_held(struct store *s, const struct store_dbrow *row, char *err);

/* Artifact path as stored: NULL when it is the layout's path of the sha256,
 * "artifacts/<sha[0:2]>/<sha>" (docs/PROTOCOL.md; most are, and it saves ~80
 * bytes a row), else the path.  store_path_canonical writes that path into
 * buf (>= STORE_PATH_CANONICAL bytes) for reading back. */
#define STORE_PATH_CANONICAL (sizeof("artifacts/xx/") + PROTO_SHA256_LEN)
const char *store_path_stored(const struct proto_artifact *a);
void store_path_canonical(const char *sha256, char *buf);

/* Tags as stored: a new JSON array text, or NULL (and 0) when there are none. */
int store_tags_encode(char *const *tags, size_t n, char **ret);
/* An artifact's data format as stored ("csv gzip 0"; *ret NULL: opaque). */
int store_data_encode(const struct proto_artifact *a, char **ret);
/* An extent's column statistics as stored (compact JSON; *ret NULL: none). */
int store_stats_encode(const struct proto_extent *x, char **ret);

/* Appends the history row of an applied change and trims the history. */
int store_history_add(struct store *s, int64_t db, const char *uuid, uint64_t version,
                      int64_t committed, bool checkpoint, const struct store_summary *sum,
                      const char *note_json, char *err);

#endif

/*
 * store — opening the SQLite file, its schema and migrations, the statement
 * table, configurations, followed databases and blob state (see store.h).
 *
 * The schema is versioned with PRAGMA user_version: migrations[i] takes a
 * file from version i to i + 1, and an older file runs the missing steps in
 * one transaction.  Never edit a released step; append a new one.
 *
 * Choices measured on the target machine (1M extents, 1 artifact each):
 * extent ids are 16-byte BLOBs (a UNIQUE index on TEXT uuids cost +0.85 s per
 * million inserts), hot tables have integer keys, artifacts of an extent are
 * a WITHOUT ROWID table keyed (extent, ord), and blob rows are created only
 * when the cache records something (creating one per artifact at load cost
 * ~1 s per million).  Foreign keys are not declared: every delete is explicit,
 * in the transaction of the change, and a checkpoint verifies its counts.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define STORE_APP_ID 0x466f6c77 /* "Folw": PRAGMA application_id */
#define STORE_BUSY_MS 100       /* short: the event loop must not stall */
#define STORE_CACHE_KIB 16384   /* page cache; the daemon's RSS budget is 100 MB */

static const char *const migrations[] = {
    /* 1: the first schema */
    "CREATE TABLE configs("
    "  name TEXT PRIMARY KEY,"
    "  json TEXT NOT NULL"
    ") WITHOUT ROWID;"
    "CREATE TABLE databases("
    "  id INTEGER PRIMARY KEY,"
    "  config TEXT NOT NULL UNIQUE,"
    "  root TEXT NOT NULL,"
    "  leader_db TEXT NOT NULL,"
    "  local_name TEXT NOT NULL,"
    "  uuid TEXT NOT NULL DEFAULT '',"
    "  applied_version INTEGER NOT NULL DEFAULT 0,"
    "  applied_committed INTEGER NOT NULL DEFAULT 0,"
    "  leader_version INTEGER NOT NULL DEFAULT 0,"
    "  leader_committed INTEGER NOT NULL DEFAULT 0,"
    "  last_poll INTEGER NOT NULL DEFAULT 0,"
    "  last_apply INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  state TEXT NOT NULL DEFAULT 'new',"
    "  extents INTEGER NOT NULL DEFAULT 0,"
    "  rows INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE entities("
    "  id INTEGER PRIMARY KEY,"
    "  db INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  folder TEXT NOT NULL,"
    "  docstring TEXT NOT NULL,"
    "  location TEXT,"
    "  source TEXT,"
    "  query TEXT,"
    "  extents INTEGER NOT NULL DEFAULT 0,"
    "  rows INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE(db, name)"
    ");"
    "CREATE TABLE columns("
    "  entity INTEGER NOT NULL,"
    "  ord INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  PRIMARY KEY(entity, ord)"
    ") WITHOUT ROWID;"
    "CREATE TABLE extents("
    "  id INTEGER PRIMARY KEY,"
    "  db INTEGER NOT NULL,"
    "  entity INTEGER NOT NULL,"
    "  uuid BLOB NOT NULL,"
    "  min_created INTEGER NOT NULL,"
    "  max_created INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL,"
    "  original_size INTEGER NOT NULL,"
    "  compressed_size INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  tags TEXT"
    ");"
    /* Not UNIQUE: the writers keep (db, uuid) unique (a commit looks each
     * new id up first, a checkpoint checks its staging and adds only ids
     * not stored), so the index can carry entity and answer a checkpoint
     * diff's probes without reading the table. */
    "CREATE INDEX extents_uuid ON extents(db, uuid, entity);"
    "CREATE INDEX extents_entity ON extents(entity);"
    "CREATE TABLE artifacts("
    "  extent INTEGER NOT NULL,"
    "  ord INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  path TEXT,"
    "  size INTEGER NOT NULL,"
    "  sha256 BLOB NOT NULL,"
    "  PRIMARY KEY(extent, ord)"
    ") WITHOUT ROWID;"
    "CREATE TABLE caching("
    "  db INTEGER NOT NULL,"
    "  entity INTEGER NOT NULL,"
    "  hot_span INTEGER NOT NULL,"
    "  windows TEXT,"
    "  PRIMARY KEY(db, entity)"
    ") WITHOUT ROWID;"
    "CREATE TABLE retention("
    "  db INTEGER NOT NULL,"
    "  entity INTEGER NOT NULL,"
    "  soft_delete INTEGER NOT NULL,"
    "  recoverability INTEGER NOT NULL,"
    "  PRIMARY KEY(db, entity)"
    ") WITHOUT ROWID;"
    "CREATE TABLE principals("
    "  db INTEGER NOT NULL,"
    "  role TEXT NOT NULL,"
    "  ord INTEGER NOT NULL,"
    "  fqn TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  PRIMARY KEY(db, role, ord)"
    ") WITHOUT ROWID;"
    "CREATE TABLE excluded("
    "  db INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  PRIMARY KEY(db, name)"
    ") WITHOUT ROWID;"
    "CREATE TABLE history("
    "  id INTEGER PRIMARY KEY,"
    "  db INTEGER NOT NULL,"
    "  uuid TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  committed INTEGER NOT NULL,"
    "  applied INTEGER NOT NULL,"
    "  checkpoint INTEGER NOT NULL,"
    "  extents_added INTEGER NOT NULL,"
    "  extents_removed INTEGER NOT NULL,"
    "  rows_added INTEGER NOT NULL,"
    "  rows_removed INTEGER NOT NULL,"
    "  bytes_added INTEGER NOT NULL,"
    "  bytes_removed INTEGER NOT NULL,"
    "  changes TEXT NOT NULL"
    ");"
    "CREATE INDEX history_db ON history(db, id);",

    /* 2: the artifact cache's state per blob */
    "CREATE TABLE blobs("
    "  sha256 BLOB PRIMARY KEY,"
    "  state TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  fails INTEGER NOT NULL DEFAULT 0,"
    "  last_access INTEGER NOT NULL DEFAULT 0"
    ") WITHOUT ROWID;",

    /* 3: the admin's run-time changes to the attach configurations (the
     * daemon's overlay over followerd.conf) */
    "CREATE TABLE overlay("
    "  name TEXT PRIMARY KEY,"
    "  json TEXT NOT NULL"
    ") WITHOUT ROWID;",
    /* 4: auto-prefetch.  A database's visible version (what readers see)
     * may lag its applied one; its totals and its tables' are kept for the
     * visible version too.  An extent carries the version that added it and,
     * while a visible version still holds it, the one that dropped it (NULL:
     * live).  Only held rows enter extents_held, so the index costs nothing
     * to a follower without prefetch. */
    "ALTER TABLE databases ADD COLUMN visible_version INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE databases ADD COLUMN visible_extents INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE databases ADD COLUMN visible_rows INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE databases ADD COLUMN visible_bytes INTEGER NOT NULL DEFAULT 0;"
    "UPDATE databases SET visible_version = applied_version, visible_extents = extents, "
    "  visible_rows = rows, visible_bytes = bytes;"
    "ALTER TABLE entities ADD COLUMN visible_extents INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE entities ADD COLUMN visible_rows INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE entities ADD COLUMN visible_bytes INTEGER NOT NULL DEFAULT 0;"
    "UPDATE entities SET visible_extents = extents, visible_rows = rows, "
    "  visible_bytes = bytes;"
    "ALTER TABLE extents ADD COLUMN added INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE extents ADD COLUMN dropped INTEGER;"
    "CREATE INDEX extents_held ON extents(entity, id) WHERE dropped IS NOT NULL;",
    /* 5: typed data.  An artifact's data format ("csv gzip 0": format,
     * compression, ignore_first_record; NULL: opaque bytes) and an extent's
     * column statistics (a compact JSON array, NULL: none), so the query
     * store can read its rows and skip it. */
    "ALTER TABLE artifacts ADD COLUMN data TEXT;"
    "ALTER TABLE extents ADD COLUMN stats TEXT;",
    /* 6: the generation (store_generation): one counter that every change
     * of what a reader sees bumps, so that a query worker can tell a status
     * row (a poll) from a new version without comparing what it read. */
    "CREATE TABLE generation(id INTEGER PRIMARY KEY CHECK(id = 1), n INTEGER NOT NULL);"
    "INSERT INTO generation(id, n) VALUES(1, 0);",
};

_Static_assert(N_ELEMENTS(migrations) == STORE_VERSION, "one migration per schema version");

#define DB_COLS                                                                                    \
	"id, config, root, leader_db, local_name, uuid, applied_version, applied_committed, "      \
	"leader_version, leader_committed, last_poll, last_apply, last_error, state, extents, "    \
	"rows, bytes, visible_version, visible_extents, visible_rows, visible_bytes"
#define ENT_COLS                                                                                   \
	"id, name, kind, folder, docstring, location, source, query, extents, rows, bytes, "       \
	"visible_extents, visible_rows, visible_bytes"
/* The extents a reader sees at visible version ?6 (a publish purges the rows
 * dropped at or before the visible version, so dropped > ?6 always holds
 * for the held rows once published). */
#define EXT_VISIBLE "added <= ?6 AND (dropped IS NULL OR dropped > ?6)"
#define EXT_PAGE_COLS                                                                              \
	"SELECT id, uuid, min_created, max_created, rows, original_size, compressed_size, tags, "  \
	"stats FROM extents "
#define EXT_PAGE_WHERE "WHERE entity = ?1 AND id > ?2 AND max_created >= ?3 AND min_created <= ?4 "
/* The held rows of database ?1: dropped at the applied version, still visible. */
#define EXT_HELD                                                                                   \
	"SELECT id FROM extents INDEXED BY extents_held WHERE entity IN "                          \
	"(SELECT id FROM entities WHERE db = ?1) AND dropped IS NOT NULL"

static const char *const statements[ST__COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_GEN_BUMP] = "UPDATE generation SET n = n + 1 WHERE id = 1",
    [ST_GEN_GET] = "SELECT n FROM generation WHERE id = 1",
    [ST_CONFIG_PUT] = "INSERT OR REPLACE INTO configs(name, json) VALUES(?1, ?2)",
    [ST_CONFIG_GET] = "SELECT json FROM configs WHERE name = ?1",
    [ST_CONFIG_DELETE] = "DELETE FROM configs WHERE name = ?1",
    [ST_CONFIG_LIST] = "SELECT name, json FROM configs ORDER BY name",
    [ST_OVERLAY_PUT] = "INSERT OR REPLACE INTO overlay(name, json) VALUES(?1, ?2)",
    [ST_OVERLAY_DELETE] = "DELETE FROM overlay WHERE name = ?1",
    [ST_OVERLAY_LIST] = "SELECT name, json FROM overlay ORDER BY name",
    [ST_DB_ADD] = "INSERT INTO databases(config, root, leader_db, local_name) "
                  "VALUES(?1, ?2, ?3, ?4)",
    [ST_DB_FIND] = "SELECT id, uuid, applied_version, extents, rows, bytes, visible_version "
                   "FROM databases WHERE config = ?1",
    [ST_DB_GET] = "SELECT " DB_COLS " FROM databases WHERE config = ?1",
    [ST_DB_LIST] = "SELECT " DB_COLS " FROM databases ORDER BY config",
    [ST_DB_SET_POLL] = "UPDATE databases SET last_poll = ?2, leader_version = ?3, "
                       "leader_committed = ?4 WHERE config = ?1",
    [ST_DB_SET_ERROR] = "UPDATE databases SET last_error = ?2 WHERE config = ?1",
    [ST_DB_SET_STATE] = "UPDATE databases SET state = ?2 WHERE config = ?1",
    [ST_DB_SET_APPLIED] = "UPDATE databases SET uuid = ?2, applied_version = ?3, "
                          "applied_committed = ?4, last_apply = ?5, extents = ?6, rows = ?7, "
                          "bytes = ?8, visible_version = CASE WHEN ?9 THEN ?3 ELSE "
                          "visible_version END, visible_extents = CASE WHEN ?9 THEN ?6 ELSE "
                          "visible_extents END, visible_rows = CASE WHEN ?9 THEN ?7 ELSE "
                          "visible_rows END, visible_bytes = CASE WHEN ?9 THEN ?8 ELSE "
                          "visible_bytes END WHERE id = ?1",
    [ST_DB_PUBLISH] = "UPDATE databases SET visible_version = applied_version, "
                      "visible_extents = extents, visible_rows = rows, visible_bytes = bytes "
                      "WHERE id = ?1",
    /* A held commit drops a table: its extents leave the visible totals. */
    [ST_DB_UNSEE_ENTITY] = "UPDATE databases SET "
                           "visible_extents = databases.visible_extents - e.visible_extents, "
                           "visible_rows = databases.visible_rows - e.visible_rows, "
                           "visible_bytes = databases.visible_bytes - e.visible_bytes "
                           "FROM entities e WHERE databases.id = ?1 AND e.id = ?2",
    [ST_ENT_PUBLISH] = "UPDATE entities SET visible_extents = extents, visible_rows = rows, "
                       "visible_bytes = bytes WHERE db = ?1 AND (visible_extents != extents "
                       "OR visible_rows != rows OR visible_bytes != bytes)",
    [ST_PURGE_ARTIFACTS] = "DELETE FROM artifacts WHERE extent IN (" EXT_HELD ")",
    [ST_PURGE_EXTENTS] = "DELETE FROM extents WHERE id IN (" EXT_HELD ")",
    [ST_DB_DELETE] = "DELETE FROM databases WHERE id = ?1",
    [ST_WIPE_ARTIFACTS] = "DELETE FROM artifacts WHERE extent IN "
                          "(SELECT id FROM extents WHERE db = ?1)",
    [ST_WIPE_EXTENTS] = "DELETE FROM extents WHERE db = ?1",
    [ST_WIPE_COLUMNS] = "DELETE FROM columns WHERE entity IN "
                        "(SELECT id FROM entities WHERE db = ?1)",
    [ST_WIPE_ENTITIES] = "DELETE FROM entities WHERE db = ?1",
    [ST_WIPE_CACHING] = "DELETE FROM caching WHERE db = ?1",
    [ST_WIPE_RETENTION] = "DELETE FROM retention WHERE db = ?1",
    [ST_WIPE_PRINCIPALS] = "DELETE FROM principals WHERE db = ?1",
    [ST_WIPE_EXCLUDED] = "DELETE FROM excluded WHERE db = ?1",
    [ST_WIPE_HISTORY] = "DELETE FROM history WHERE db = ?1",
    [ST_ENT_FIND] = "SELECT id, kind FROM entities WHERE db = ?1 AND name = ?2",
    [ST_ENT_GET] = "SELECT " ENT_COLS " FROM entities WHERE db = ?1 AND name = ?2",
    [ST_ENT_LIST] = "SELECT " ENT_COLS " FROM entities WHERE db = ?1 ORDER BY name",
    [ST_ENT_INSERT] = "INSERT INTO entities(db, name, kind, folder, docstring, location, "
                      "source, query) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_ENT_UPDATE] = "UPDATE entities SET kind = ?2, folder = ?3, docstring = ?4, "
                      "location = ?5, source = ?6, query = ?7 WHERE id = ?1",
    [ST_ENT_DELETE] = "DELETE FROM entities WHERE id = ?1",
    [ST_ENT_ADD_TOTALS] = "UPDATE entities SET extents = extents + ?2, rows = rows + ?3, "
                          "bytes = bytes + ?4 WHERE id = ?1",
    [ST_ENT_SET_TOTALS] = "UPDATE entities SET extents = ?2, rows = ?3, bytes = ?4 "
                          "WHERE id = ?1",
    [ST_ENT_DROP_ARTIFACTS] = "DELETE FROM artifacts WHERE extent IN "
                              "(SELECT id FROM extents WHERE entity = ?1)",
    [ST_ENT_DROP_EXTENTS] = "DELETE FROM extents WHERE entity = ?1",
    [ST_COL_INSERT] = "INSERT INTO columns(entity, ord, name, type) VALUES(?1, ?2, ?3, ?4)",
    [ST_COL_DELETE] = "DELETE FROM columns WHERE entity = ?1",
    [ST_COL_LIST] = "SELECT name, type FROM columns WHERE entity = ?1 ORDER BY ord",
    [ST_EXT_INSERT] = "INSERT INTO extents(db, entity, uuid, min_created, max_created, rows, "
                      "original_size, compressed_size, bytes, tags, added, stats) "
                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    /* Live at the applied version: held rows were dropped already. */
    [ST_EXT_FIND] = "SELECT id, entity, rows, bytes, added FROM extents WHERE db = ?1 "
                    "AND uuid = ?2 AND dropped IS NULL",
    [ST_EXT_EXISTS] = "SELECT 1 FROM extents WHERE db = ?1 AND uuid = ?2 AND dropped IS NULL",
    [ST_EXT_DELETE] = "DELETE FROM extents WHERE id = ?1",
    [ST_EXT_HOLD] = "UPDATE extents SET dropped = ?2 WHERE id = ?1",
    [ST_EXT_PAGE] = EXT_PAGE_COLS EXT_PAGE_WHERE "AND " EXT_VISIBLE " ORDER BY id LIMIT ?5",
    [ST_EXT_PAGE_APPLIED] = EXT_PAGE_COLS EXT_PAGE_WHERE "AND dropped IS NULL ORDER BY id LIMIT ?5",
    [ST_EXT_PAGE_HELD] = EXT_PAGE_COLS "INDEXED BY extents_held " EXT_PAGE_WHERE
                                       "AND dropped IS NOT NULL ORDER BY id LIMIT ?5",
    [ST_EXT_GET] = EXT_PAGE_COLS "WHERE id = ?1",
    [ST_EXT_MAXID] = "SELECT coalesce(max(id), 0) FROM extents",
    [ST_ART_INSERT] = "INSERT INTO artifacts(extent, ord, name, path, size, sha256, data) "
                      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [ST_ART_DELETE] = "DELETE FROM artifacts WHERE extent = ?1",
    [ST_ART_LIST] = "SELECT name, path, size, sha256, data FROM artifacts WHERE extent = ?1 "
                    "ORDER BY ord",
    [ST_CACHING_GET] = "SELECT hot_span, windows FROM caching WHERE db = ?1 AND entity = ?2",
    [ST_CACHING_PUT] = "INSERT OR REPLACE INTO caching(db, entity, hot_span, windows) "
                       "VALUES(?1, ?2, ?3, ?4)",
    [ST_CACHING_DELETE] = "DELETE FROM caching WHERE db = ?1 AND entity = ?2",
    [ST_RETENTION_GET] = "SELECT soft_delete, recoverability FROM retention "
                         "WHERE db = ?1 AND entity = ?2",
    [ST_RETENTION_PUT] = "INSERT OR REPLACE INTO retention(db, entity, soft_delete, "
                         "recoverability) VALUES(?1, ?2, ?3, ?4)",
    [ST_RETENTION_DELETE] = "DELETE FROM retention WHERE db = ?1 AND entity = ?2",
    [ST_PRIN_LIST] = "SELECT fqn, name FROM principals WHERE db = ?1 AND role = ?2 "
                     "ORDER BY ord",
    [ST_PRIN_DELETE] = "DELETE FROM principals WHERE db = ?1 AND role = ?2",
    [ST_PRIN_INSERT] = "INSERT INTO principals(db, role, ord, fqn, name) "
                       "VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_EXCL_PUT] = "INSERT OR REPLACE INTO excluded(db, name, kind) VALUES(?1, ?2, ?3)",
    [ST_EXCL_DELETE] = "DELETE FROM excluded WHERE db = ?1 AND name = ?2",
    [ST_EXCL_GET] = "SELECT kind FROM excluded WHERE db = ?1 AND name = ?2",
    [ST_EXCL_ANY] = "SELECT 1 FROM excluded WHERE db = ?1 LIMIT 1",
    [ST_HIST_INSERT] = "INSERT INTO history(db, uuid, version, committed, applied, checkpoint, "
                       "extents_added, extents_removed, rows_added, rows_removed, "
                       "bytes_added, bytes_removed, changes) "
                       "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [ST_HIST_TRIM] = "DELETE FROM history WHERE db = ?1 AND id <= (SELECT id FROM history "
                     "WHERE db = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    [ST_HIST_LIST] = "SELECT uuid, version, committed, applied, checkpoint, extents_added, "
                     "extents_removed, rows_added, rows_removed, bytes_added, bytes_removed, "
                     "changes FROM history WHERE db = ?1 ORDER BY id DESC LIMIT ?2",
    [ST_BLOB_PUT] = "INSERT OR REPLACE INTO blobs(sha256, state, size, fails, last_access) "
                    "VALUES(?1, ?2, ?3, ?4, ?5)",
    [ST_BLOB_GET] = "SELECT state, size, fails, last_access FROM blobs WHERE sha256 = ?1",
    /* EXCEPT sorts both sides once: no index on artifacts(sha256) is kept
     * for a query the cache runs rarely. */
    [ST_BLOB_UNREF] = "SELECT sha256, state, size, fails, last_access FROM blobs "
                      "WHERE sha256 IN (SELECT sha256 FROM blobs EXCEPT "
                      "SELECT sha256 FROM artifacts) ORDER BY sha256",
    [ST_COUNT_KINDS] = "SELECT kind, count(*) FROM entities WHERE db = ?1 GROUP BY kind",
    [ST_COUNT_EXTENTS] = "SELECT count(*), coalesce(sum(rows), 0), coalesce(sum(bytes), 0) "
                         "FROM extents WHERE entity IN (SELECT id FROM entities WHERE db = ?1)",
};

/* ---- errors and statements ---- */

int store_errf(char *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return r;
	va_start(ap, fmt);
	(void)vsnprintf(err, STORE_ERRLEN, fmt, ap);
	va_end(ap);
	return r;
}

static int errno_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_AUTH:
		return -EROFS;
	case SQLITE_PERM:
		return -EACCES;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_RANGE:
	case SQLITE_ERROR:
		return -EINVAL;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	default:
		return -EIO;
	}
}

int store_sqlerr(struct store *s, int rc, char *err, const char *what)
{
	const char *msg = s != NULL && s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

	return store_errf(err, errno_of(rc), "%s: %s", what, msg);
}

sqlite3_stmt *store_stmt(struct store *s, enum store_st id, char *err)
{
	sqlite3_stmt *st = s->st[id];
	int rc;

	if (st != NULL) {
		(void)sqlite3_reset(st);
		(void)sqlite3_clear_bindings(st);
		return st;
	}
	rc = sqlite3_prepare_v3(s->db, statements[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		(void)store_sqlerr(s, rc, err, "prepare");
		return NULL;
	}
	s->st[id] = st;
	return st;
}

int store_step_done(struct store *s, sqlite3_stmt *st, char *err, const char *what)
{
	int rc = sqlite3_step(st);

	(void)sqlite3_reset(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return store_sqlerr(s, rc, err, what);
}

int store_step_row(struct store *s, sqlite3_stmt *st, char *err, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	(void)sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	return store_sqlerr(s, rc, err, what);
}

int store_find_row(struct store *s, enum store_st id, const char *key, const char *what,
                   sqlite3_stmt **ret, char *err)
{
	sqlite3_stmt *st = store_stmt(s, id, err);

	if (st == NULL)
		return -EIO;
	(void)store_bind_text(st, 1, key);
	*ret = st;
	return store_step_row(s, st, err, what);
}

int store_run(struct store *s, enum store_st id, char *err)
{
	sqlite3_stmt *st = store_stmt(s, id, err);

	return st != NULL ? store_step_done(s, st, err, statements[id]) : -EIO;
}

int store_run_id(struct store *s, enum store_st id, int64_t a, char *err)
{
	sqlite3_stmt *st = store_stmt(s, id, err);

	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_int64(st, 1, a);
	return store_step_done(s, st, err, statements[id]);
}

void *store_grow(void *v, size_t n, size_t *cap, size_t first, size_t size)
{
	size_t ncap = *cap > 0 ? *cap * 2 : first;
	void *nv;

	if (n < *cap)
		return v;
	nv = reallocarray(v, ncap, size);
	if (nv != NULL)
		*cap = ncap;
	return nv;
}

int store_bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

bool store_col_dup(sqlite3_stmt *st, int i, char **ret, bool empty_for_null)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	if (v == NULL && !empty_for_null) {
		*ret = NULL;
		return true;
	}
	*ret = strdup(v != NULL ? v : "");
	return *ret != NULL;
}

int store_begin(struct store *s, char *err)
{
	return store_run(s, ST_BEGIN, err);
}

int store_commit(struct store *s, char *err)
{
	int r = store_run(s, ST_GEN_BUMP, err);

	return r == 0 ? store_run(s, ST_COMMIT, err) : r;
}

/* Steps st, a change of what readers see, in a transaction of its own (the
 * generation with it); -ENOENT (err not set) when it changed no row. */
static int step_change(struct store *s, sqlite3_stmt *st, char *err, const char *what)
{
	int r = store_begin(s, err);

	if (r == 0)
		r = store_step_done(s, st, err, what);
	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = -ENOENT;
	if (r == 0)
		r = store_commit(s, err);
	store_rollback(s); /* a no-op once committed */
	return r;
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)store_run(s, ST_ROLLBACK, NULL);
}

int store_check_writable(struct store *s, char *err)
{
	if (s->readonly)
		return store_errf(err, -EROFS, "the store handle is read-only");
	return 0;
}

/* Statement id of a writable handle in *ret: -EROFS (with a message) on a
 * read-only one, -EIO when it cannot be prepared. */
static int writable_stmt(struct store *s, enum store_st id, sqlite3_stmt **ret, char *err)
{
	int r = store_check_writable(s, err);

	if (r < 0)
		return r;
	*ret = store_stmt(s, id, err);
	return *ret != NULL ? 0 : -EIO;
}

int64_t store_now(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * PROTO_TICKS_PER_SEC + ts.tv_nsec / 100;
}

/* ---- small codecs ---- */

/* Lowercase hex digit values, -1 for anything else (a table: this runs for
 * every extent id and sha256 of a million-extent checkpoint). */
static const signed char hexvals[256] = {
    ['0'] = 1, ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,  ['7'] = 8,
    ['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

static int hexval(char c)
{
	return hexvals[(unsigned char)c] - 1;
}

/* Parses n bytes of lowercase hex from s, skipping '-' where dashes says. */
static int hex_parse(const char *s, unsigned char *out, size_t n, bool dashes)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (dashes && (j == 8 || j == 13 || j == 18 || j == 23) && s[j++] != '-')
			return -EINVAL;
		hi = hexval(s[j]);
		lo = hi >= 0 ? hexval(s[j + 1]) : -1;
		if (lo < 0)
			return -EINVAL;
		out[i] = (unsigned char)(hi << 4 | lo);
		j += 2;
	}
	return s[j] == '\0' ? 0 : -EINVAL;
}

static void hex_format(const unsigned char *in, size_t n, char *out, bool dashes)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		if (dashes && (i == 4 || i == 6 || i == 8 || i == 10))
			out[j++] = '-';
		out[j++] = digits[in[i] >> 4];
		out[j++] = digits[in[i] & 15];
	}
	out[j] = '\0';
}

int store_uuid_parse(const char *s, unsigned char out[16])
{
	return hex_parse(s, out, 16, true);
}

void store_uuid_format(const unsigned char in[16], char out[PROTO_UUID_LEN + 1])
{
	hex_format(in, 16, out, true);
}

int store_sha_parse(const char *s, unsigned char out[32])
{
	return hex_parse(s, out, 32, false);
}

void store_sha_format(const unsigned char in[32], char out[PROTO_SHA256_LEN + 1])
{
	hex_format(in, 32, out, false);
}

static const char *const kind_names[] = {"table", "external_table", "materialized_view"};

const char *store_kind_name(enum proto_kind k)
{
	return (size_t)k < N_ELEMENTS(kind_names) ? kind_names[k] : "?";
}

int store_kind_parse(const char *s, enum proto_kind *ret)
{
	for (size_t i = 0; s != NULL && i < N_ELEMENTS(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0) {
			*ret = (enum proto_kind)i;
			return 0;
		}
	return -EINVAL;
}

/* ---- opening ---- */

static int exec(struct store *s, const char *sql, char *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sqlerr(s, rc, err, "schema");
}

static int pragma_int(struct store *s, const char *sql, int64_t *ret, char *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*ret = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	(void)sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : store_sqlerr(s, rc, err, sql);
}

/* Refuses a file that is not a followerd store or is newer than this code;
 * *ret_version is its schema version. */
static int check_file(struct store *s, int64_t *ret_version, char *err)
{
	int64_t version = 0, app = 0, objects = 0;
	int r = pragma_int(s, "PRAGMA user_version", &version, err);

	if (r == 0)
		r = pragma_int(s, "PRAGMA application_id", &app, err);
	if (r == 0)
		r = pragma_int(s, "SELECT count(*) FROM sqlite_schema", &objects, err);
	if (r < 0)
		return r;
	if ((version == 0 && objects > 0) || (version > 0 && app != STORE_APP_ID))
		return store_errf(err, -EBADMSG,
		                  "not a followerd store (application_id %" PRId64
		                  ", user_version %" PRId64 ")",
		                  app, version);
	if (version > STORE_VERSION)
		return store_errf(err, -EPROTONOSUPPORT,
		                  "store schema version %" PRId64
		                  " is newer than this followerd's %d",
		                  version, STORE_VERSION);
	*ret_version = version;
	return 0;
}

/* Runs the missing migration steps in one transaction. */
static int migrate(struct store *s, char *err)
{
	char sql[96];
	int64_t version = 0;
	int r = check_file(s, &version, err);

	if (r < 0 || version == STORE_VERSION)
		return r;
	r = exec(s, "BEGIN IMMEDIATE", err);
	if (r < 0)
		return r;
	/* Again under the lock: another process may have migrated meanwhile. */
	r = check_file(s, &version, err);
	for (int64_t v = version; r == 0 && v < STORE_VERSION; v++)
		r = exec(s, migrations[v], err);
	(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
	               STORE_VERSION, STORE_APP_ID);
	if (r == 0)
		r = exec(s, sql, err);
	if (r == 0)
		r = exec(s, "COMMIT", err);
	if (r < 0)
		(void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return r;
}

static int configure(struct store *s, char *err)
{
	char sql[256];

	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	(void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	(void)sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	/* secure_delete is on in Debian's build: zeroing freed pages buys us
	 * nothing (no secrets here) and costs on every delete. */
	(void)snprintf(sql, sizeof(sql),
	               "PRAGMA cache_size = -%d; PRAGMA secure_delete = OFF; "
	               "PRAGMA foreign_keys = OFF; PRAGMA temp_store = FILE",
	               STORE_CACHE_KIB);
	return exec(s, sql, err);
}

static struct store *store_alloc(void)
{
	return calloc(1, sizeof(struct store));
}

int store_open(const char *path, struct store **ret, char *err)
{
	struct store *s = store_alloc();
	int rc, r = -ENOMEM;

	if (s == NULL)
		goto out;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		r = store_sqlerr(s, rc, err, path);
		goto out;
	}
	r = configure(s, err);
	/* 8 KiB pages (for a new file): the extent id index of a million-extent
	 * load is inserted at random, and with the same 16 MiB of cache larger
	 * pages measured ~20% faster. */
	if (r == 0)
		r = exec(s,
		         "PRAGMA page_size = 8192; PRAGMA journal_mode = WAL; "
		         "PRAGMA synchronous = NORMAL",
		         err);
	if (r == 0)
		r = migrate(s, err);
	if (r < 0)
		goto out;
	*ret = s;
	s = NULL;
out:
	store_free(s);
	return r;
}

/* Reads only: the statement kinds a SELECT needs and a few harmless pragmas
 * without a value.  Everything else (writes, ATTACH, setting pragmas such as
 * query_only back off) is refused. */
static int ro_authorizer(void *arg, int action, const char *a1, const char *a2, const char *db,
                         const char *trigger)
{
	static const char *const pragmas[] = {"table_info",   "table_xinfo",   "index_list",
	                                      "index_info",   "index_xinfo",   "user_version",
	                                      "data_version", "schema_version"};

	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
	case SQLITE_TRANSACTION:
		return SQLITE_OK;
	case SQLITE_PRAGMA:
		for (size_t i = 0; i < N_ELEMENTS(pragmas); i++)
			if (strcmp(a1, pragmas[i]) == 0 && (a2 == NULL || i < 5))
				return SQLITE_OK;
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

/* "file:" URI of path, with the characters a URI gives meaning escaped. */
static char *ro_uri(const char *path)
{
	size_t n = strlen(path);
	char *uri = malloc(5 + 3 * n + sizeof("?mode=ro"));
	char *p = uri;

	if (uri == NULL)
		return NULL;
	p += sprintf(p, "file:");
	for (const char *c = path; *c != '\0'; c++)
		p += *c == '%' || *c == '?' || *c == '#' ? sprintf(p, "%%%02X", (unsigned char)*c)
		                                         : sprintf(p, "%c", *c);
	(void)strcpy(p, "?mode=ro");
	return uri;
}

int store_open_readonly(const char *path, struct store **ret, char *err)
{
	struct store *s = store_alloc();
	char *uri = ro_uri(path);
	int64_t version = 0;
	int rc, r = -ENOMEM;

	if (s == NULL || uri == NULL)
		goto out;
	s->readonly = true;
	rc = sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc != SQLITE_OK) {
		r = store_sqlerr(s, rc, err, path);
		goto out;
	}
	r = configure(s, err);
	if (r == 0)
		r = exec(s, "PRAGMA query_only = ON", err);
	if (r == 0)
		r = check_file(s, &version, err);
	if (r == 0 && version != STORE_VERSION)
		r = store_errf(err, -EPROTONOSUPPORT,
		               "%s: store schema version %" PRId64 " (this followerd reads %d)",
		               path, version, STORE_VERSION);
	if (r < 0)
		goto out;
	(void)sqlite3_set_authorizer(s->db, ro_authorizer, NULL);
	*ret = s;
	s = NULL;
out:
	free(uri);
	store_free(s);
	return r;
}

void store_free(struct store *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < ST__COUNT; i++)
		(void)sqlite3_finalize(s->st[i]);
	for (size_t i = 0; i < STORE_QUERY_CACHE; i++) {
		(void)sqlite3_finalize(s->q[i].st);
		free(s->q[i].sql);
	}
	(void)sqlite3_close_v2(s->db);
	free(s);
}

/* ---- configurations ---- */

static int kv_put(struct store *s, enum store_st id, const char *name, const char *json, char *err)
{
	sqlite3_stmt *st;
	int r = writable_stmt(s, id, &st, err);

	if (r < 0)
		return r;
	(void)store_bind_text(st, 1, name);
	(void)store_bind_text(st, 2, json);
	return step_change(s, st, err, id == ST_CONFIG_PUT ? "config put" : "overlay put");
}

static int kv_delete(struct store *s, enum store_st id, const char *name, char *err)
{
	const char *what = id == ST_CONFIG_DELETE ? "config" : "overlay";
	sqlite3_stmt *st;
	int r = writable_stmt(s, id, &st, err);

	if (r < 0)
		return r;
	(void)store_bind_text(st, 1, name);
	r = step_change(s, st, err, id == ST_CONFIG_DELETE ? "config delete" : "overlay delete");
	if (r == -ENOENT)
		r = store_errf(err, -ENOENT, "%s '%s': not found", what, name);
	return r;
}

static int kv_list(struct store *s, enum store_st id,
                   int (*fn)(void *arg, const char *name, const char *json), void *arg, char *err)
{
	sqlite3_stmt *st = store_stmt(s, id, err);
	int r;

	if (st == NULL)
		return -EIO;
	while ((r = store_step_row(s, st, err,
	                           id == ST_CONFIG_LIST ? "config list" : "overlay list")) == 1) {
		r = fn(arg, (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1));
		if (r != 0)
			break;
	}
	(void)sqlite3_reset(st);
	return r;
}

int store_config_put(struct store *s, const char *name, const char *json, char *err)
{
	return kv_put(s, ST_CONFIG_PUT, name, json, err);
}

int store_config_get(struct store *s, const char *name, char **ret, char *err)
{
	sqlite3_stmt *st;
	char *json = NULL;
	int r = store_find_row(s, ST_CONFIG_GET, name, "config get", &st, err);

	if (r == 0)
		return store_errf(err, -ENOENT, "config '%s': not found", name);
	if (r < 0)
		return r;
	r = store_col_dup(st, 0, &json, true) ? 0 : -ENOMEM;
	(void)sqlite3_reset(st);
	if (r == 0)
		*ret = json;
	return r;
}

int store_config_delete(struct store *s, const char *name, char *err)
{
	return kv_delete(s, ST_CONFIG_DELETE, name, err);
}

int store_config_list(struct store *s, int (*fn)(void *arg, const char *name, const char *json),
                      void *arg, char *err)
{
	return kv_list(s, ST_CONFIG_LIST, fn, arg, err);
}

/* ---- the overlay: one JSON text per attach name ---- */

int store_overlay_put(struct store *s, const char *name, const char *json, char *err)
{
	return kv_put(s, ST_OVERLAY_PUT, name, json, err);
}

int store_overlay_delete(struct store *s, const char *name, char *err)
{
	return kv_delete(s, ST_OVERLAY_DELETE, name, err);
}

int store_overlay_list(struct store *s, int (*fn)(void *arg, const char *name, const char *json),
                       void *arg, char *err)
{
	return kv_list(s, ST_OVERLAY_LIST, fn, arg, err);
}

/* ---- followed databases ---- */

int store_dbrow_find(struct store *s, const char *config, struct store_dbrow *ret, char *err)
{
	sqlite3_stmt *st;
	const char *uuid;
	int r = store_find_row(s, ST_DB_FIND, config, "database", &st, err);

	if (r == 0)
		return store_errf(err, -ENOENT, "database '%s': not attached", config);
	if (r < 0)
		return r;
	ret->id = sqlite3_column_int64(st, 0);
	uuid = (const char *)sqlite3_column_text(st, 1);
	(void)snprintf(ret->uuid, sizeof(ret->uuid), "%s", uuid != NULL ? uuid : "");
	ret->applied_version = (uint64_t)sqlite3_column_int64(st, 2);
	ret->extents = (uint64_t)sqlite3_column_int64(st, 3);
	ret->rows = (uint64_t)sqlite3_column_int64(st, 4);
	ret->bytes = (uint64_t)sqlite3_column_int64(st, 5);
	ret->visible_version = (uint64_t)sqlite3_column_int64(st, 6);
	(void)sqlite3_reset(st);
	return 0;
}

int store_db_add(struct store *s, const char *config, const char *root, const char *leader_db,
                 const char *local_name, char *err)
{
	sqlite3_stmt *st;
	int r = writable_stmt(s, ST_DB_ADD, &st, err);

	if (r < 0)
		return r;
	(void)store_bind_text(st, 1, config);
	(void)store_bind_text(st, 2, root);
	(void)store_bind_text(st, 3, leader_db);
	(void)store_bind_text(st, 4, local_name);
	r = store_begin(s, err);
	if (r == 0)
		r = store_step_done(s, st, err, "database add");
	if (r < 0 && sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE)
		r = store_errf(err, -EEXIST, "database '%s': already attached", config);
	if (r == 0)
		r = store_commit(s, err);
	store_rollback(s); /* a no-op once committed */
	return r;
}

int store_wipe(struct store *s, int64_t db, bool keep_history, char *err)
{
	static const enum store_st order[] = {
	    ST_WIPE_ARTIFACTS,  ST_WIPE_EXTENTS,  ST_WIPE_COLUMNS,
	    ST_WIPE_ENTITIES,   ST_WIPE_CACHING,  ST_WIPE_RETENTION,
	    ST_WIPE_PRINCIPALS, ST_WIPE_EXCLUDED, ST_WIPE_HISTORY,
	};
	size_t n = N_ELEMENTS(order) - (keep_history ? 1 : 0);
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = store_run_id(s, order[i], db, err);
	return r;
}

int store_db_detach(struct store *s, const char *config, char *err)
{
	struct store_dbrow row = {0};
	sqlite3_stmt *st;
	int r = store_check_writable(s, err);

	if (r == 0)
		r = store_begin(s, err);
	if (r < 0)
		return r;
	r = store_dbrow_find(s, config, &row, err);
	if (r == 0)
		r = store_wipe(s, row.id, false, err);
	if (r == 0)
		r = store_run_id(s, ST_DB_DELETE, row.id, err);
	if (r == 0 && (st = store_stmt(s, ST_CONFIG_DELETE, err)) == NULL)
		r = -EIO;
	if (r == 0) {
		(void)store_bind_text(st, 1, config);
		r = store_step_done(s, st, err, "config delete");
	}
	if (r == 0)
		r = store_commit(s, err);
	if (r < 0)
		store_rollback(s);
	return r;
}

/* Runs an UPDATE of databases keyed by config; -ENOENT when no row matched. */
static int db_update(struct store *s, sqlite3_stmt *st, const char *config, char *err)
{
	int r = store_step_done(s, st, err, "database update");

	if (r == 0 && sqlite3_changes(s->db) == 0)
		r = store_errf(err, -ENOENT, "database '%s': not attached", config);
	return r;
}

static int db_update_stmt(struct store *s, enum store_st id, const char *config, sqlite3_stmt **ret,
                          char *err)
{
	int r = writable_stmt(s, id, ret, err);

	if (r == 0)
		(void)store_bind_text(*ret, 1, config);
	return r;
}

int store_db_set_poll(struct store *s, const char *config, int64_t when, uint64_t leader_version,
                      int64_t leader_committed, char *err)
{
	sqlite3_stmt *st;
	int r = db_update_stmt(s, ST_DB_SET_POLL, config, &st, err);

	if (r < 0)
		return r;
	(void)sqlite3_bind_int64(st, 2, when);
	(void)sqlite3_bind_int64(st, 3, (int64_t)leader_version);
	(void)sqlite3_bind_int64(st, 4, leader_committed);
	return db_update(s, st, config, err);
}

int store_db_set_error(struct store *s, const char *config, const char *error, char *err)
{
	sqlite3_stmt *st;
	int r = db_update_stmt(s, ST_DB_SET_ERROR, config, &st, err);

	if (r < 0)
		return r;
	(void)store_bind_text(st, 2, error);
	return db_update(s, st, config, err);
}

int store_db_set_state(struct store *s, const char *config, const char *state, char *err)
{
	sqlite3_stmt *st;
	int r = db_update_stmt(s, ST_DB_SET_STATE, config, &st, err);

	if (r < 0)
		return r;
	(void)store_bind_text(st, 2, state);
	return db_update(s, st, config, err);
}

int store_db_publish(struct store *s, const char *config, uint64_t version, char *err)
{
	struct store_dbrow row = {0};
	int r = store_check_writable(s, err);

	if (r == 0)
		r = store_begin(s, err);
	if (r < 0)
		return r;
	r = store_dbrow_find(s, config, &row, err);
	if (r == 0 && row.applied_version != version)
		r = store_errf(err, -ESTALE,
		               "database '%s': version %" PRIu64 " is not the applied one (%" PRIu64
		               ")",
		               config, version, row.applied_version);
	if (r < 0 || row.visible_version == version)
		goto out;
	r = store_purge_held(s, &row, err);
	if (r == 0)
		r = store_run_id(s, ST_ENT_PUBLISH, row.id, err);
	if (r == 0)
		r = store_run_id(s, ST_DB_PUBLISH, row.id, err);
	if (r == 0)
		r = store_commit(s, err);
out:
	store_rollback(s); /* a no-op once committed */
	return r;
}

int store_generation(struct store *s, int64_t *ret, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_GEN_GET, err);
	int r;

	if (st == NULL)
		return -EIO;
	r = store_step_row(s, st, err, "generation");
	if (r == 1)
		*ret = sqlite3_column_int64(st, 0);
	(void)sqlite3_reset(st);
	return r == 1 ? 0 : r == 0 ? store_errf(err, -EBADMSG, "generation: no row") : r;
}

/* ---- blobs ---- */

static const char *const blob_states[] = {"unknown", "cached", "quarantined"};

static int blob_state_parse(const char *s, enum store_blob_state *ret)
{
	for (size_t i = 0; s != NULL && i < N_ELEMENTS(blob_states); i++)
		if (strcmp(s, blob_states[i]) == 0) {
			*ret = (enum store_blob_state)i;
			return 0;
		}
	return -EINVAL;
}

int store_blob_put(struct store *s, const struct store_blob *b, char *err)
{
	unsigned char sha[32];
	sqlite3_stmt *st;
	int r = store_check_writable(s, err);

	if (r < 0)
		return r;
	if (store_sha_parse(b->sha256, sha) < 0 || (size_t)b->state >= N_ELEMENTS(blob_states))
		return store_errf(err, -EINVAL, "blob '%.64s': bad sha256 or state", b->sha256);
	st = store_stmt(s, ST_BLOB_PUT, err);
	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_blob(st, 1, sha, sizeof(sha), SQLITE_STATIC);
	(void)store_bind_text(st, 2, blob_states[b->state]);
	(void)sqlite3_bind_int64(st, 3, (int64_t)b->size);
	(void)sqlite3_bind_int64(st, 4, b->fails);
	(void)sqlite3_bind_int64(st, 5, b->last_access);
	return store_step_done(s, st, err, "blob put");
}

int store_blobs_put(struct store *s, const struct store_blob *v, size_t n, char *err)
{
	/* inside a transaction of the caller's (a read walking the extents), the
	 * rows are part of it */
	bool own = sqlite3_get_autocommit(s->db) != 0;
	int r = own ? store_begin(s, err) : 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		r = store_blob_put(s, &v[i], err);
	/* the cache's own state: no reader of a database sees it (the
	 * generation stays) */
	if (r == 0 && own)
		r = store_run(s, ST_COMMIT, err);
	if (r < 0 && own)
		store_rollback(s);
	return r;
}

/* Fills b from a row whose columns from first are state, size, fails,
 * last_access. */
static int blob_read(sqlite3_stmt *st, int first, struct store_blob *b)
{
	if (blob_state_parse((const char *)sqlite3_column_text(st, first), &b->state) < 0)
		return -EBADMSG;
	b->size = (uint64_t)sqlite3_column_int64(st, first + 1);
	b->fails = (uint32_t)sqlite3_column_int64(st, first + 2);
	b->last_access = sqlite3_column_int64(st, first + 3);
	return 0;
}

int store_blob_get(struct store *s, const char *sha256, struct store_blob *ret, char *err)
{
	struct store_blob b = {0};
	unsigned char sha[32];
	sqlite3_stmt *st;
	int r;

	if (store_sha_parse(sha256, sha) < 0)
		return store_errf(err, -EINVAL, "blob '%.64s': bad sha256", sha256);
	st = store_stmt(s, ST_BLOB_GET, err);
	if (st == NULL)
		return -EIO;
	(void)sqlite3_bind_blob(st, 1, sha, sizeof(sha), SQLITE_STATIC);
	r = store_step_row(s, st, err, "blob get");
	if (r == 0)
		return store_errf(err, -ENOENT, "blob %s: no state", sha256);
	if (r < 0)
		return r;
	r = blob_read(st, 0, &b);
	(void)sqlite3_reset(st);
	if (r < 0)
		return store_errf(err, r, "blob %s: bad state in the store", sha256);
	memcpy(b.sha256, sha256, sizeof(b.sha256));
	*ret = b;
	return 0;
}

int store_blobs_unreferenced(struct store *s, int (*fn)(void *arg, const struct store_blob *b),
                             void *arg, char *err)
{
	sqlite3_stmt *st = store_stmt(s, ST_BLOB_UNREF, err);
	int r;

	if (st == NULL)
		return -EIO;
	while ((r = store_step_row(s, st, err, "unreferenced blobs")) == 1) {
		struct store_blob b = {0};

		if (sqlite3_column_bytes(st, 0) != 32 || blob_read(st, 1, &b) < 0) {
			r = store_errf(err, -EBADMSG, "bad blob row in the store");
			break;
		}
		store_sha_format(sqlite3_column_blob(st, 0), b.sha256);
		r = fn(arg, &b);
		if (r != 0)
			break;
	}
	(void)sqlite3_reset(st);
	return r;
}

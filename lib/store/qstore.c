/*
 * qstore — the query store's file: its catalogue (qtables, qextents), one
 * data table per KQL table, and loads as single transactions (qstore.h).
 *
 * Names from a leader never reach SQL text: data tables are "d<tid>" and
 * their columns "c<i>"; table names, extent ids and schemas are bound
 * parameters.
 */
#include "store/qstore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "util/timefmt.h"

static const char *const statements[Q__COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_TABLE_GET] = "SELECT tid, schema, ncols FROM qtables WHERE name = ?1",
    [Q_TABLE_PUT] = "INSERT INTO qtables(name, schema, ncols) VALUES(?1, ?2, ?3)",
    [Q_TABLE_SET] = "UPDATE qtables SET schema = ?2, ncols = ?3 WHERE tid = ?1",
    [Q_TABLE_DEL] = "DELETE FROM qtables WHERE tid = ?1",
    [Q_EXT_GET] = "SELECT e.eid, e.rows, e.bytes, e.loaded, t.name FROM qextents e "
                  "JOIN qtables t USING(tid) WHERE e.extent = ?1",
    [Q_EXT_PUT] = "INSERT INTO qextents(eid, extent, tid, rows, bytes, loaded) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [Q_EXT_DEL] = "DELETE FROM qextents WHERE eid = ?1",
    [Q_EXT_DEL_TABLE] = "DELETE FROM qextents WHERE tid = ?1",
    [Q_EXT_LIST] = "SELECT e.eid, e.extent, e.rows, e.bytes, e.loaded, t.name FROM qextents e "
                   "JOIN qtables t USING(tid) ORDER BY e.eid",
    [Q_NEXT_EID] = "SELECT value FROM qmeta WHERE key = 'next_eid'",
    [Q_SET_NEXT_EID] = "UPDATE qmeta SET value = ?1 WHERE key = 'next_eid'",
    [Q_PAGES] = "SELECT (SELECT page_count FROM pragma_page_count()) - "
                "(SELECT freelist_count FROM pragma_freelist_count()), "
                "(SELECT page_size FROM pragma_page_size())",
};

static const char schema_v1[] =
    "CREATE TABLE qmeta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO qmeta VALUES('next_eid', 1);"
    "CREATE TABLE qtables("
    "  tid INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  schema TEXT NOT NULL,"
    "  ncols INTEGER NOT NULL"
    ");"
    "CREATE TABLE qextents("
    "  eid INTEGER PRIMARY KEY,"
    "  extent TEXT NOT NULL UNIQUE,"
    "  tid INTEGER NOT NULL,"
    "  rows INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  loaded INTEGER NOT NULL"
    ");"
    "CREATE INDEX qextents_tid ON qextents(tid);"
    "CREATE TABLE qerrors("
    "  extent TEXT PRIMARY KEY,"
    "  error TEXT NOT NULL,"
    "  at INTEGER NOT NULL"
    ") WITHOUT ROWID;";

/* ---- errors and statements ---- */

int qfail(char *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		(void)vsnprintf(err, QSTORE_ERRLEN, fmt, ap);
		va_end(ap);
	}
	return r;
}

int qsqlerr(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	default:
		return -EIO;
	}
}

int qdbfail(struct qstore *q, char *err, int rc, const char *what)
{
	return qfail(err, qsqlerr(rc), "query store: %s: %s", what, sqlite3_errmsg(q->db));
}

/* The statement id, reset and unbound, prepared on first use. */
sqlite3_stmt *qst(struct qstore *q, enum qst id)
{
	if (!q->st[id] && sqlite3_prepare_v3(q->db, statements[id], -1, SQLITE_PREPARE_PERSISTENT,
	                                     &q->st[id], NULL))
		return NULL;
	(void)sqlite3_reset(q->st[id]);
	(void)sqlite3_clear_bindings(q->st[id]);
	return q->st[id];
}

/* Steps a statement that returns no row (or ignores them). */
static int run(struct qstore *q, enum qst id, char *err)
{
	sqlite3_stmt *s = qst(q, id);
	int rc = s ? sqlite3_step(s) : sqlite3_errcode(q->db);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return qdbfail(q, err, rc, statements[id]);
	return 0;
}

int qexec(struct qstore *q, const char *sql, char *err)
{
	int rc = sqlite3_exec(q->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : qdbfail(q, err, rc, "exec");
}

int qbegin(struct qstore *q, char *err)
{
	return run(q, Q_BEGIN, err);
}

int qcommit(struct qstore *q, char *err)
{
	int r = run(q, Q_COMMIT, err);

	if (r < 0)
		(void)run(q, Q_ROLLBACK, NULL);
	return r;
}

void qrollback(struct qstore *q)
{
	if (!sqlite3_get_autocommit(q->db))
		(void)run(q, Q_ROLLBACK, NULL);
}

/* ---- opening ---- */

static int migrate(struct qstore *q, char *err)
{
	sqlite3_stmt *s = NULL;
	int version = -1, r;

	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if (version < 0)
		return qdbfail(q, err, sqlite3_errcode(q->db), "user_version");
	if (version > QSTORE_VERSION)
		return qfail(err, -EPROTONOSUPPORT, "query store: file version %d is newer than %d",
		             version, QSTORE_VERSION);
	if (version == QSTORE_VERSION || q->readonly)
		return version == QSTORE_VERSION
		           ? 0
		           : qfail(err, -ENOENT, "query store: not initialised");
	/* auto_vacuum must be set before the first table exists. */
	if ((r = qexec(q, "PRAGMA auto_vacuum = INCREMENTAL; VACUUM", err)) < 0 ||
	    (r = qbegin(q, err)) < 0)
		return r;
	if ((r = qexec(q, schema_v1, err)) < 0 ||
	    (r = qexec(q, "PRAGMA user_version = 1", err)) < 0) {
		qrollback(q);
		return r;
	}
	return qcommit(q, err);
}

static int configure(struct qstore *q, char *err)
{
	(void)sqlite3_db_config(q->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_busy_timeout(q->db, QSTORE_BUSY_MS);
	if (q->readonly)
		return qexec(q, "PRAGMA query_only = 1", err);
	return qexec(q, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL", err);
}

int qstore_open(const char *path, bool readonly, struct qstore **ret, char *err)
{
	struct qstore *q = calloc(1, sizeof(*q));
	int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	int r, rc;

	if (!q)
		return qfail(err, -ENOMEM, "query store: out of memory");
	q->readonly = readonly;
	rc = sqlite3_open_v2(path, &q->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		r = qfail(err, qsqlerr(rc), "query store %s: %s", path,
		          q->db ? sqlite3_errmsg(q->db) : "cannot open");
		goto out;
	}
	if ((r = configure(q, err)) < 0 || (r = migrate(q, err)) < 0)
		goto out;
	*ret = q;
	return 0;
out:
	qstore_free(q);
	return r;
}

void qstore_free(struct qstore *q)
{
	if (!q)
		return;
	qstore_load_abort(q->load);
	for (size_t i = 0; i < N_ELEMENTS(q->st); i++)
		sqlite3_finalize(q->st[i]);
	sqlite3_close(q->db);
	free(q);
}

struct sqlite3 *qstore_db(struct qstore *q)
{
	return q->db;
}

/* ---- tables ---- */

bool qtype_text(enum proto_coltype t)
{
	return t == PROTO_T_STRING || t == PROTO_T_GUID || t == PROTO_T_DECIMAL ||
	       t == PROTO_T_DYNAMIC;
}

const char *qstatement(enum qst id)
{
	return statements[id];
}

static const char *affinity(enum proto_coltype t)
{
	if (t == PROTO_T_REAL)
		return "REAL";
	return qtype_text(t) ? "TEXT" : "INTEGER";
}

/* The schema as stored: "type name\n" per column, compared as a string. */
char *qstore_schema_text(const struct proto_column *cols, size_t ncols)
{
	size_t len = 1;
	char *s, *p;

	for (size_t i = 0; i < ncols; i++)
		len += strlen(cols[i].name) + 24;
	if (!(s = p = malloc(len)))
		return NULL;
	*p = '\0';
	for (size_t i = 0; i < ncols; i++)
		p += sprintf(p, "%s %s\n", proto_coltype_name(cols[i].type), cols[i].name);
	return s;
}

/* *ret = table's catalogue row; -ENOENT when it has none. */
int qtable_get(struct qstore *q, const char *table, struct qtable *ret, char *err)
{
	sqlite3_stmt *s = qst(q, Q_TABLE_GET);
	int rc;

	if (!s)
		return qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return qfail(err, -ENOENT, "query store: no table '%s'", table);
	if (rc != SQLITE_ROW)
		return qdbfail(q, err, rc, "table");
	ret->tid = sqlite3_column_int64(s, 0);
	ret->schema = strdup((const char *)sqlite3_column_text(s, 1));
	ret->ncols = (size_t)sqlite3_column_int64(s, 2);
	(void)sqlite3_reset(s);
	return ret->schema ? 0 : qfail(err, -ENOMEM, "query store: out of memory");
}

static int create_data(struct qstore *q, int64_t tid, const struct proto_column *cols, size_t from,
                       size_t ncols, char *err)
{
	char sql[128];
	int r = 0;

	if (from == 0) {
		(void)snprintf(sql, sizeof(sql),
		               "CREATE TABLE d%" PRId64 "(rowid INTEGER PRIMARY KEY)", tid);
		r = qexec(q, sql, err);
	}
	for (size_t i = from; i < ncols && r == 0; i++) {
		(void)snprintf(sql, sizeof(sql), "ALTER TABLE d%" PRId64 " ADD COLUMN c%zu %s", tid,
		               i, affinity(cols[i].type));
		r = qexec(q, sql, err);
	}
	return r;
}

static int table_insert(struct qstore *q, const char *table, const char *schema, size_t ncols,
                        int64_t *ret_tid, char *err)
{
	sqlite3_stmt *s = qst(q, Q_TABLE_PUT);
	int rc;

	if (!s)
		return qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
	sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, schema, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)ncols);
	if ((rc = sqlite3_step(s)) != SQLITE_DONE)
		return qdbfail(q, err, rc, "add table");
	*ret_tid = sqlite3_last_insert_rowid(q->db);
	return 0;
}

static int table_set(struct qstore *q, int64_t tid, const char *schema, size_t ncols, char *err)
{
	sqlite3_stmt *s = qst(q, Q_TABLE_SET);

	if (!s)
		return qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
	sqlite3_bind_int64(s, 1, tid);
	sqlite3_bind_text(s, 2, schema, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, (int64_t)ncols);
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : qdbfail(q, err, rc, "set schema");
}

static int count_extents(struct qstore *q, int64_t tid, uint64_t *ret, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc =
	    sqlite3_prepare_v2(q->db, "SELECT count(*) FROM qextents WHERE tid = ?1", -1, &s, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(s, 1, tid);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW)
		*ret = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : qdbfail(q, err, rc, "count extents");
}

/* Drops table tid's data and extents (its catalogue row stays). */
static int table_empty(struct qstore *q, int64_t tid, char *err)
{
	char sql[64];
	sqlite3_stmt *s;

	(void)snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS d%" PRId64, tid);
	int r = qexec(q, sql, err);
	if (r < 0)
		return r;
	if (!(s = qst(q, Q_EXT_DEL_TABLE)))
		return qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
	sqlite3_bind_int64(s, 1, tid);
	int rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : qdbfail(q, err, rc, "drop extents");
}

/* Is new the old schema with columns appended (old a prefix of new)? */
static bool appended(const struct qtable *t, const char *schema, size_t ncols)
{
	size_t len = strlen(t->schema);

	return ncols >= t->ncols && strncmp(t->schema, schema, len) == 0;
}

static int table_change(struct qstore *q, const struct qtable *t, const char *schema,
                        const struct proto_column *cols, size_t ncols, uint64_t *dropped, char *err)
{
	int r;

	if (appended(t, schema, ncols))
		r = create_data(q, t->tid, cols, t->ncols, ncols, err);
	else if ((r = count_extents(q, t->tid, dropped, err)) == 0 &&
	         (r = table_empty(q, t->tid, err)) == 0)
		r = create_data(q, t->tid, cols, 0, ncols, err);
	return r < 0 ? r : table_set(q, t->tid, schema, ncols, err);
}

static int table_sync(struct qstore *q, const char *table, const char *schema,
                      const struct proto_column *cols, size_t ncols, uint64_t *dropped, char *err)
{
	struct qtable t = {0};
	int64_t tid = 0;
	int r = qtable_get(q, table, &t, err);

	if (r == -ENOENT) {
		r = table_insert(q, table, schema, ncols, &tid, err);
		if (r == 0)
			r = create_data(q, tid, cols, 0, ncols, err);
	} else if (r == 0 && strcmp(t.schema, schema) != 0) {
		r = table_change(q, &t, schema, cols, ncols, dropped, err);
	}
	free(t.schema);
	return r;
}

int qstore_table_sync(struct qstore *q, const char *table, const struct proto_column *cols,
                      size_t ncols, uint64_t *ret_dropped, char *err)
{
	uint64_t dropped = 0;
	char *schema = NULL;
	int r;

	if (ncols == 0 || ncols > PROTO_MAX_COLUMNS)
		return qfail(err, -EINVAL, "query store: table '%s': %zu columns", table, ncols);
	if (!(schema = qstore_schema_text(cols, ncols)))
		return qfail(err, -ENOMEM, "query store: out of memory");
	if ((r = qbegin(q, err)) < 0)
		goto out;
	if ((r = table_sync(q, table, schema, cols, ncols, &dropped, err)) < 0) {
		qrollback(q);
		goto out;
	}
	if ((r = qcommit(q, err)) == 0 && ret_dropped)
		*ret_dropped = dropped;
out:
	free(schema);
	return r;
}

int qstore_table_drop(struct qstore *q, const char *table, char *err)
{
	struct qtable t = {0};
	sqlite3_stmt *s;
	int r = qtable_get(q, table, &t, err);

	free(t.schema);
	if (r == -ENOENT)
		return 0;
	if (r < 0 || (r = qbegin(q, err)) < 0)
		return r;
	if ((r = table_empty(q, t.tid, err)) == 0) {
		if (!(s = qst(q, Q_TABLE_DEL)))
			r = qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
		else {
			sqlite3_bind_int64(s, 1, t.tid);
			int rc = sqlite3_step(s);
			r = rc == SQLITE_DONE ? 0 : qdbfail(q, err, rc, "drop table");
		}
	}
	if (r < 0) {
		qrollback(q);
		return r;
	}
	return qcommit(q, err);
}

/* ---- errors ---- */

/* Runs a one-off statement with up to two text parameters. */
static int run_text(struct qstore *q, const char *sql, const char *a, const char *b, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(q->db, sql, -1, &s, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, a, -1, SQLITE_STATIC);
		if (b)
			sqlite3_bind_text(s, 2, b, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, timefmt_now());
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : qdbfail(q, err, rc, "errors");
}

int qstore_error_set(struct qstore *q, const char *extent, const char *error, char *err)
{
	return run_text(q, "INSERT OR REPLACE INTO qerrors(extent, error, at) VALUES(?1, ?2, ?3)",
	                extent, error, err);
}

int qstore_error_clear(struct qstore *q, const char *extent, char *err)
{
	return run_text(q, "DELETE FROM qerrors WHERE extent = ?1 AND ?3 IS NOT NULL", extent, NULL,
	                err);
}

int qstore_error_get(struct qstore *q, const char *extent, char *buf, size_t len, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(q->db, "SELECT error FROM qerrors WHERE extent = ?1", -1, &s,
	                            NULL),
	    r;

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, extent, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW)
		(void)snprintf(buf, len, "%s", (const char *)sqlite3_column_text(s, 0));
	r = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : qdbfail(q, err, rc, "errors");
	sqlite3_finalize(s);
	return r;
}

int qstore_errors(struct qstore *q, int (*fn)(void *arg, const char *extent, const char *error),
                  void *arg, char *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(q->db, "SELECT extent, error FROM qerrors ORDER BY extent", -1,
	                            &s, NULL),
	    r = 0;

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if ((r = fn(arg, (const char *)sqlite3_column_text(s, 0),
		            (const char *)sqlite3_column_text(s, 1))) != 0)
			break;
		rc = SQLITE_OK;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = qdbfail(q, err, rc, "errors");
	sqlite3_finalize(s);
	return r;
}

int qstore_table_sqlname(struct qstore *q, const char *table, char *buf, size_t len, char *err)
{
	struct qtable t = {0};
	int r = qtable_get(q, table, &t, err);

	free(t.schema);
	if (r == 0 && (size_t)snprintf(buf, len, "d%" PRId64, t.tid) >= len)
		r = qfail(err, -ENAMETOOLONG, "query store: buffer too small");
	return r;
}

/* ---- pages ---- */

int qpages(struct qstore *q, int64_t *ret_used, int64_t *ret_size, char *err)
{
	sqlite3_stmt *s = qst(q, Q_PAGES);
	int rc = s ? sqlite3_step(s) : sqlite3_errcode(q->db);

	if (rc != SQLITE_ROW)
		return qdbfail(q, err, rc, "page count");
	*ret_used = sqlite3_column_int64(s, 0);
	*ret_size = sqlite3_column_int64(s, 1);
	(void)sqlite3_reset(s);
	return 0;
}

int qstore_bytes(struct qstore *q, uint64_t *ret, char *err)
{
	int64_t used, size;
	int r = qpages(q, &used, &size, err);

	if (r == 0)
		*ret = (uint64_t)(used * size);
	return r;
}

int qstore_reclaim(struct qstore *q, uint32_t npages, char *err)
{
	char sql[64];

	(void)snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%" PRIu32 ")", npages);
	return qexec(q, sql, err);
}

bool qstore_checkpoint(struct qstore *q)
{
	int frames = -1;

	/* A truncating checkpoint restarts the WAL even when it is empty, and
	 * every reader then sees a new data_version: the query workers' kept
	 * connections would all be reopened after a pass that wrote nothing.
	 * A passive one tells whether there is anything to truncate. */
	if (sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, NULL) !=
	    SQLITE_OK)
		return false;
	if (frames == 0)
		return true;
	/* SQLITE_BUSY while a reader holds an old snapshot */
	return sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) ==
	       SQLITE_OK;
}

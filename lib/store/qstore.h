/*
 * qstore — the query store: the rows of a followed database's extents,
 * typed by their tables' schemas, in one SQLite file of its own (WAL),
 * beside the state store.  What the KQL engine reads.
 *
 * Layout, chosen for scans over a few columns of many rows, skipping whole
 * extents and dropping one cheaply: one SQLite table per KQL table, a
 * column per KQL column (INTEGER for bool, int, long, datetime and timespan
 * ticks; REAL; TEXT for string, guid, decimal and dynamic), and the rows of
 * an extent under the rowids [eid << 32, (eid << 32) + rows): an extent is
 * one contiguous rowid range, so a reader restricts a scan to the extents
 * of its version with rowid ranges (no index, no join), and a drop is one
 * range delete.  eids only grow, so the extents loaded in order form few
 * ranges.
 *
 * A load is one transaction: the rows and the extent's row in qextents
 * commit together or not at all (kill -9 or ENOSPC mid-load leaves the
 * extent unloaded, never half of it).  Which extents a query reads is the
 * caller's: the state store's visible version names them; the query store
 * only holds rows.  An extent of a version still being read must not be
 * dropped until its readers are done (the caller pins it).
 *
 * Schema changes: qstore_table_sync makes a table's stored columns the
 * table's current ones.  Columns appended at the end are added (rows loaded
 * before read null there, as Kusto reads them); any other change (a column
 * dropped, renamed, retyped or moved) empties the table, and its extents are
 * loaded again by the caller, mapped by column name to the current schema.
 *
 * Threads: a struct qstore is one connection, for one thread at a time.
 * Errors: 0 or a negative errno with one line in err (QSTORE_ERRLEN):
 * -ENOENT (no such table or extent), -EEXIST (the extent is loaded),
 * -ENOSPC (the disk is full: nothing of the load stays), -EIO, -ENOMEM,
 * -EPROTONOSUPPORT (a file of a newer followerd).
 */
#ifndef FOLLOWERD_QSTORE_H
#define FOLLOWERD_QSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/kval.h"
#include "proto/proto.h"

#define QSTORE_ERRLEN 512
#define QSTORE_MAX_EXTENT_ROWS ((uint64_t)1 << 32) /* rows of one extent */
#define QSTORE_MAX_EID ((int64_t)1 << 30)          /* keeps eid << 32 a rowid */

struct qstore;
struct qstore_load;

/* Opens (creating) the query store at path; readonly opens an existing one
 * with query_only.  *ret is a new handle (qstore_free). */
int qstore_open(const char *path, bool readonly, struct qstore **ret, char *err);
/* Closes; an unfinished load is rolled back.  NULL is a no-op. */
void qstore_free(struct qstore *q);

/* Makes table's stored schema cols (borrowed): creates the table, adds
 * appended columns, or empties it on any other change.  *ret_dropped (may be
 * NULL) gets how many loaded extents that emptied. */
int qstore_table_sync(struct qstore *q, const char *table, const struct proto_column *cols,
                      size_t ncols, uint64_t *ret_dropped, char *err);

/* The text a table's stored schema is kept as (qtables.schema), for a
 * reader to check the stored columns are the current ones: a new string. */
char *qstore_schema_text(const struct proto_column *cols, size_t ncols);

/* Drops table with its rows and extents; 0 when it had none. */
int qstore_table_drop(struct qstore *q, const char *table, char *err);

/* Starts loading extent (its leader id, copied) into table, whose schema
 * qstore_table_sync set: one write transaction until commit or abort.
 * -EEXIST when it is loaded already, -ENOENT for an unknown table. */
int qstore_load_begin(struct qstore *q, const char *table, const char *extent,
                      struct qstore_load **ret, char *err);
/* Adds one row: a value per column of the table, in its order (borrowed). */
int qstore_load_row(struct qstore_load *l, const struct kval *row, char *err);
/* Rows added so far. */
uint64_t qstore_load_rows(const struct qstore_load *l);
/* Commits the rows and the extent's row together; frees l either way. */
int qstore_load_commit(struct qstore_load *l, char *err);
/* Rolls back; frees l.  NULL is a no-op. */
void qstore_load_abort(struct qstore_load *l);

/* Deletes the rows of extent; -ENOENT when it is not loaded. */
int qstore_extent_drop(struct qstore *q, const char *extent, char *err);

/* One loaded extent. */
struct qstore_extent {
	const char *table;  /* borrowed for the callback */
	const char *extent; /* the leader's id */
	int64_t eid;        /* its rows are rowids [eid << 32, (eid << 32) + rows) */
	uint64_t rows;
	uint64_t bytes; /* pages the load added, times the page size */
	int64_t loaded; /* ticks */
};

/* Calls fn for each loaded extent in eid order; non-zero from fn stops the
 * walk and is returned. */
int qstore_extents(struct qstore *q, int (*fn)(void *arg, const struct qstore_extent *e), void *arg,
                   char *err);

/* *ret = the loaded extent, or -ENOENT (ret->table, ->extent are NULL). */
int qstore_extent_get(struct qstore *q, const char *extent, struct qstore_extent *ret, char *err);

/* Marks extent not queryable with error (copied); replaces an older one. */
int qstore_error_set(struct qstore *q, const char *extent, const char *error, char *err);
/* error into buf when extent is not queryable: 0, or -ENOENT. */
int qstore_error_get(struct qstore *q, const char *extent, char *buf, size_t len, char *err);
/* Calls fn(arg, extent, error) for each not queryable extent (borrowed);
 * non-zero from fn stops the walk and is returned. */
int qstore_errors(struct qstore *q, int (*fn)(void *arg, const char *extent, const char *error),
                  void *arg, char *err);
/* Forgets extent's error; 0 when it had none. */
int qstore_error_clear(struct qstore *q, const char *extent, char *err);

/* The name of table's SQLite table ("d<tid>") into buf for an executor;
 * -ENOENT when it has no stored schema. */
int qstore_table_sqlname(struct qstore *q, const char *table, char *buf, size_t len, char *err);

/* The file's bytes in use (pages not free, times the page size). */
int qstore_bytes(struct qstore *q, uint64_t *ret, char *err);

/* Hands the pages freed by drops back to the file system (a bounded
 * incremental vacuum of up to pages pages; 0: all). */
int qstore_reclaim(struct qstore *q, uint32_t pages, char *err);

/* What the store holds of one extent: loaded (its rows, bytes) and/or not
 * queryable (error). */
struct qstore_index {
	char extent[PROTO_UUID_LEN + 1];
	bool loaded, error;
	uint64_t rows, bytes;
};

/* A snapshot of every loaded or not queryable extent, one entry each,
 * sorted by extent id: *ret is a new array (free). */
int qstore_index(struct qstore *q, struct qstore_index **ret, size_t *ret_n, char *err);
/* The entry of extent in an index, or NULL. */
const struct qstore_index *qstore_index_find(const struct qstore_index *v, size_t n,
                                             const char *extent);

/* The bytes the query store at path takes on disk: the file, its WAL and
 * its -shm index (their sizes); 0 when there is none.  A negative errno
 * when one cannot be read. */
int qstore_file_bytes(const char *path, uint64_t *ret);

/* Copies the WAL into the file and truncates it, so that the file's size
 * is what the store takes at rest: false when a reader's snapshot kept it
 * from completing (call again later).  An empty WAL is left as it is: its
 * truncation would give every reader a new data_version. */
bool qstore_checkpoint(struct qstore *q);

/* The connection, for an executor's read-only statements (borrowed). */
struct sqlite3 *qstore_db(struct qstore *q);

#endif

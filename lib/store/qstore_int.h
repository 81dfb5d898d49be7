/*
 * qstore_int — what the files of the query store share (not for callers):
 * the handle, its statements and the error helpers.  qstore.c holds the
 * SQL, qstore_load.c the loads and extents.
 */
#ifndef FOLLOWERD_QSTORE_INT_H
#define FOLLOWERD_QSTORE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/qstore.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))
#define QSTORE_VERSION 1
#define QSTORE_BUSY_MS 100
#define SQL_MAX 64 /* "d<tid>" and the like */

enum qst {
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_TABLE_GET,
	Q_TABLE_PUT,
	Q_TABLE_SET,
	Q_TABLE_DEL,
	Q_EXT_GET,
	Q_EXT_PUT,
	Q_EXT_DEL,
	Q_EXT_DEL_TABLE,
	Q_EXT_LIST,
	Q_NEXT_EID,
	Q_SET_NEXT_EID,
	Q_PAGES,
	Q__COUNT
};

struct qstore {
	sqlite3 *db;
	sqlite3_stmt *st[Q__COUNT];
	bool readonly;
	struct qstore_load *load; /* the load under way, if any */
};

struct qstore_load {
	struct qstore *q;
	sqlite3_stmt *insert; /* INSERT INTO d<tid>(rowid, c0, ...) */
	char *extent;
	int64_t tid, eid, pages0, page_size;
	size_t ncols;
	enum proto_coltype *types; /* the table's, parsed from its stored schema */
	uint64_t rows;
	uint64_t payload; /* bytes of the values bound, a floor for small loads */
};

struct qtable {
	int64_t tid;
	char *schema;
	size_t ncols;
};

int qfail(char *err, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int qsqlerr(int rc);
int qdbfail(struct qstore *q, char *err, int rc, const char *what);
/* The statement id, reset and unbound, prepared on first use (NULL on error). */
sqlite3_stmt *qst(struct qstore *q, enum qst id);
const char *qstatement(enum qst id);
int qexec(struct qstore *q, const char *sql, char *err);
int qbegin(struct qstore *q, char *err);
int qcommit(struct qstore *q, char *err); /* rolls back when the commit fails */
void qrollback(struct qstore *q);         /* when a transaction is open */
/* *ret = table's catalogue row (ret->schema owned); -ENOENT when it has none. */
int qtable_get(struct qstore *q, const char *table, struct qtable *ret, char *err);
int qpages(struct qstore *q, int64_t *ret_used, int64_t *ret_size, char *err);
/* Whether values of t are stored as TEXT. */
bool qtype_text(enum proto_coltype t);

#endif

/*
 * qstore_load — loading an extent's rows in one transaction, dropping and
 * listing loaded extents (qstore.h).  Shares qstore.c's statements through
 * qstore_int.h.
 */
#include "store/qstore_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

/* ---- eids ---- */

static int next_eid(struct qstore *q, int64_t *ret, char *err)
{
	sqlite3_stmt *s = qst(q, Q_NEXT_EID);
	int rc = s ? sqlite3_step(s) : sqlite3_errcode(q->db);
	int64_t eid;

	if (rc != SQLITE_ROW)
		return qdbfail(q, err, rc, "next eid");
	eid = sqlite3_column_int64(s, 0);
	(void)sqlite3_reset(s);
	if (eid >= QSTORE_MAX_EID)
		return qfail(err, -EOVERFLOW, "query store: out of extent ids");
	if (!(s = qst(q, Q_SET_NEXT_EID)))
		return qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
	sqlite3_bind_int64(s, 1, eid + 1);
	if ((rc = sqlite3_step(s)) != SQLITE_DONE)
		return qdbfail(q, err, rc, "next eid");
	*ret = eid;
	return 0;
}

/* ---- a load ---- */

static int prepare_insert(struct qstore_load *l, char *err)
{
	size_t len = 64 + l->ncols * 16, n;
	char *sql = malloc(len);
	int rc;

	if (!sql)
		return qfail(err, -ENOMEM, "query store: out of memory");
	n = (size_t)snprintf(sql, len, "INSERT INTO d%" PRId64 " VALUES(?", l->tid);
	for (size_t i = 0; i < l->ncols; i++)
		n += (size_t)snprintf(sql + n, len - n, ",?");
	(void)snprintf(sql + n, len - n, ")");
	rc = sqlite3_prepare_v3(l->q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &l->insert, NULL);
	free(sql);
	return rc == SQLITE_OK ? 0 : qdbfail(l->q, err, rc, "prepare insert");
}

static int extent_exists(struct qstore *q, const char *extent, char *err)
{
	struct qstore_extent e;
	int r = qstore_extent_get(q, extent, &e, err);

	free((char *)e.table);
	free((char *)e.extent);
	if (r == 0)
		return qfail(err, -EEXIST, "query store: extent %s is loaded", extent);
	return r == -ENOENT ? 0 : r;
}

/* The types of a stored schema ("type name\n" per column). */
static int schema_types(const char *schema, size_t ncols, enum proto_coltype **ret, char *err)
{
	enum proto_coltype *v = calloc(ncols ? ncols : 1, sizeof(*v));
	char word[32];
	const char *p = schema;

	if (!v)
		return qfail(err, -ENOMEM, "query store: out of memory");
	for (size_t i = 0; i < ncols; i++) {
		size_t n = strcspn(p, " ");
		if (n >= sizeof(word) || !p[n])
			goto bad;
		memcpy(word, p, n);
		word[n] = '\0';
		if (proto_coltype_parse(word, &v[i]) < 0)
			goto bad;
		p = strchr(p + n, '\n');
		if (!p++)
			goto bad;
	}
	*ret = v;
	return 0;
bad:
	free(v);
	return qfail(err, -EIO, "query store: a stored schema does not parse");
}

static int load_start(struct qstore_load *l, const char *table, char *err)
{
	struct qtable t = {0};
	int r;

	if ((r = qtable_get(l->q, table, &t, err)) < 0)
		return r;
	l->tid = t.tid;
	l->ncols = t.ncols;
	r = schema_types(t.schema, t.ncols, &l->types, err);
	free(t.schema);
	if (r < 0)
		return r;
	if ((r = qbegin(l->q, err)) < 0)
		return r;
	if ((r = extent_exists(l->q, l->extent, err)) < 0 ||
	    (r = next_eid(l->q, &l->eid, err)) < 0 ||
	    (r = qpages(l->q, &l->pages0, &l->page_size, err)) < 0 ||
	    (r = prepare_insert(l, err)) < 0)
		return r;
	return 0;
}

int qstore_load_begin(struct qstore *q, const char *table, const char *extent,
                      struct qstore_load **ret, char *err)
{
	struct qstore_load *l;
	int r;

	if (q->load)
		return qfail(err, -EBUSY, "query store: a load is under way");
	if (!(l = calloc(1, sizeof(*l))) || !(l->extent = strdup(extent))) {
		free(l);
		return qfail(err, -ENOMEM, "query store: out of memory");
	}
	l->q = q;
	q->load = l;
	if ((r = load_start(l, table, err)) < 0) {
		qstore_load_abort(l);
		return r;
	}
	*ret = l;
	return 0;
}

/* Binds v; returns about what it costs in a record. */
static size_t bind_value(sqlite3_stmt *s, int i, const struct kval *v, enum proto_coltype t)
{
	if (v->null) {
		sqlite3_bind_null(s, i);
		return 1;
	}
	if (t == PROTO_T_REAL) {
		sqlite3_bind_double(s, i, v->r);
		return 9;
	}
	if (qtype_text(t)) {
		sqlite3_bind_text64(s, i, v->s, v->len, SQLITE_STATIC, SQLITE_UTF8);
		return v->len + 2;
	}
	sqlite3_bind_int64(s, i, v->i);
	return 9;
}

int qstore_load_row(struct qstore_load *l, const struct kval *row, char *err)
{
	sqlite3_stmt *s = l->insert;
	int rc;

	if (l->rows >= QSTORE_MAX_EXTENT_ROWS)
		return qfail(err, -E2BIG, "query store: extent %s: over %" PRIu64 " rows",
		             l->extent, QSTORE_MAX_EXTENT_ROWS);
	sqlite3_bind_int64(s, 1, (l->eid << 32) + (int64_t)l->rows);
	for (size_t i = 0; i < l->ncols; i++) {
		/* SQLite stores a NaN as null, which Kusto's NaN is not (isnull()
		 * false, sums NaN): the extent is refused (not queryable) rather
		 * than answered wrongly */
		if (l->types[i] == PROTO_T_REAL && !row[i].null && isnan(row[i].r))
			return qfail(err, -EINVAL,
			             "query store: extent %s, row %" PRIu64 ", column %zu: a real "
			             "NaN, which the query store cannot hold",
			             l->extent, l->rows + 1, i + 1);
		l->payload += bind_value(s, (int)i + 2, &row[i], l->types[i]);
	}
	l->payload += 12; /* rowid, record header, cell pointer */
	rc = sqlite3_step(s);
	(void)sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return qdbfail(l->q, err, rc, "insert");
	l->rows++;
	return 0;
}

static int extent_put(struct qstore_load *l, char *err)
{
	int64_t used, size;
	sqlite3_stmt *s;
	int r = qpages(l->q, &used, &size, err), rc;

	if (r < 0)
		return r;
	if (!(s = qst(l->q, Q_EXT_PUT)))
		return qdbfail(l->q, err, sqlite3_errcode(l->q->db), "prepare");
	sqlite3_bind_int64(s, 1, l->eid);
	sqlite3_bind_text(s, 2, l->extent, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, l->tid);
	sqlite3_bind_int64(s, 4, (int64_t)l->rows);
	int64_t grown = used > l->pages0 ? (used - l->pages0) * size : 0;
	sqlite3_bind_int64(s, 5, grown > (int64_t)l->payload ? grown : (int64_t)l->payload);
	sqlite3_bind_int64(s, 6, timefmt_now());
	rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : qdbfail(l->q, err, rc, "add extent");
}

int qstore_load_commit(struct qstore_load *l, char *err)
{
	int r = extent_put(l, err);

	if (r == 0) {
		sqlite3_finalize(l->insert);
		l->insert = NULL;
		r = qcommit(l->q, err);
	}
	qstore_load_abort(l);
	return r;
}

void qstore_load_abort(struct qstore_load *l)
{
	if (!l)
		return;
	sqlite3_finalize(l->insert);
	qrollback(l->q);
	l->q->load = NULL;
	free(l->types);
	free(l->extent);
	free(l);
}

uint64_t qstore_load_rows(const struct qstore_load *l)
{
	return l->rows;
}

/* ---- extents ---- */

static int drop_rows(struct qstore *q, int64_t tid, int64_t eid, char *err)
{
	char sql[128];

	(void)snprintf(sql, sizeof(sql),
	               "DELETE FROM d%" PRId64 " WHERE rowid >= %" PRId64 " AND rowid < %" PRId64,
	               tid, eid << 32, (eid + 1) << 32);
	return qexec(q, sql, err);
}

static int extent_find(struct qstore *q, const char *extent, int64_t *ret_eid, int64_t *ret_tid,
                       char *err)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(q->db, "SELECT eid, tid FROM qextents WHERE extent = ?1", -1,
	                            &s, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, extent, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	if (rc == SQLITE_ROW) {
		*ret_eid = sqlite3_column_int64(s, 0);
		*ret_tid = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE)
		return qfail(err, -ENOENT, "query store: extent %s is not loaded", extent);
	return rc == SQLITE_ROW ? 0 : qdbfail(q, err, rc, "find extent");
}

static int extent_drop(struct qstore *q, const char *extent, char *err)
{
	int64_t eid = 0, tid = 0;
	sqlite3_stmt *s;
	int r = extent_find(q, extent, &eid, &tid, err), rc;

	if (r < 0 || (r = drop_rows(q, tid, eid, err)) < 0)
		return r;
	if (!(s = qst(q, Q_EXT_DEL)))
		return qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
	sqlite3_bind_int64(s, 1, eid);
	rc = sqlite3_step(s);
	return rc == SQLITE_DONE ? 0 : qdbfail(q, err, rc, "drop extent");
}

int qstore_extent_drop(struct qstore *q, const char *extent, char *err)
{
	int r = qbegin(q, err);

	if (r < 0)
		return r;
	if ((r = extent_drop(q, extent, err)) < 0) {
		qrollback(q);
		return r;
	}
	return qcommit(q, err);
}

static void extent_row(sqlite3_stmt *s, struct qstore_extent *e)
{
	e->eid = sqlite3_column_int64(s, 0);
	e->rows = (uint64_t)sqlite3_column_int64(s, 1);
	e->bytes = (uint64_t)sqlite3_column_int64(s, 2);
	e->loaded = sqlite3_column_int64(s, 3);
}

int qstore_extent_get(struct qstore *q, const char *extent, struct qstore_extent *ret, char *err)
{
	sqlite3_stmt *s = qst(q, Q_EXT_GET);
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (!s)
		return qdbfail(q, err, sqlite3_errcode(q->db), "prepare");
	sqlite3_bind_text(s, 1, extent, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE)
		return qfail(err, -ENOENT, "query store: extent %s is not loaded", extent);
	if (rc != SQLITE_ROW)
		return qdbfail(q, err, rc, "extent");
	extent_row(s, ret);
	ret->table = strdup((const char *)sqlite3_column_text(s, 4));
	ret->extent = strdup(extent);
	(void)sqlite3_reset(s);
	if (!ret->table || !ret->extent)
		return qfail(err, -ENOMEM, "query store: out of memory");
	return 0;
}

int qstore_extents(struct qstore *q, int (*fn)(void *arg, const struct qstore_extent *e), void *arg,
                   char *err)
{
	sqlite3_stmt *s = NULL;
	struct qstore_extent e;
	int rc = sqlite3_prepare_v2(q->db, qstatement(Q_EXT_LIST), -1, &s, NULL), r = 0;

	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		e.eid = sqlite3_column_int64(s, 0);
		e.extent = (const char *)sqlite3_column_text(s, 1);
		e.rows = (uint64_t)sqlite3_column_int64(s, 2);
		e.bytes = (uint64_t)sqlite3_column_int64(s, 3);
		e.loaded = sqlite3_column_int64(s, 4);
		e.table = (const char *)sqlite3_column_text(s, 5);
		if ((r = fn(arg, &e)) != 0)
			break;
		rc = SQLITE_OK;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = qdbfail(q, err, rc, "list extents");
	sqlite3_finalize(s);
	return r;
}

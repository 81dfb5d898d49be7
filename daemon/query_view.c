/*
 * query_view — the SQL text of our own over the query store: the view of
 * one table restricted to a set of extents (their rowid ranges), and the
 * read-only attach of a query store (its URI).  Only schema names (quoted)
 * and integers are written; nothing of a query's text.  The coordinator of a query
 * (query_run.c) and each partition of a parallel scan (query_par.c) make
 * their views with it.
 */
#include "query_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "query/kql_plan.h"
#include "util/sbuf.h"

/* An identifier, double-quoted, its quotes doubled. */
static void sb_ident(struct sbuf *b, const char *name)
{
	sbuf_addn(b, "\"", 1);
	for (const char *p = name; *p; p++) {
		sbuf_addn(b, p, 1);
		if (*p == '"')
			sbuf_addn(b, "\"", 1);
	}
	sbuf_addn(b, "\"", 1);
}

static void sb_i64(struct sbuf *b, int64_t v)
{
	char tmp[24];

	sbuf_addn(b, tmp, (size_t)snprintf(tmp, sizeof(tmp), "%" PRId64, v));
}

/* A probe for rows of alias.sqlname between two rowids (NULL: none, the
 * gaps then stay). */
static sqlite3_stmt *gap_probe(sqlite3 *db, const char *alias, const char *sqlname)
{
	sqlite3_stmt *s = NULL;
	char sql[160];

	if (db == NULL)
		return NULL;
	(void)snprintf(sql, sizeof(sql),
	               "SELECT 1 FROM %s.%s WHERE rowid BETWEEN ?1 AND ?2 LIMIT 1", alias, sqlname);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		s = NULL;
	return s;
}

/* eids a < b may share one range: the data table has no row between them
 * in the connection's snapshot (the eids between are other tables'
 * extents, or gone).  One B-tree seek. */
static bool gap_empty(sqlite3_stmt *probe, int64_t a, int64_t b)
{
	if (b == a + 1)
		return true;
	if (probe == NULL)
		return false;
	sqlite3_reset(probe);
	sqlite3_bind_int64(probe, 1, (a + 1) << 32);
	sqlite3_bind_int64(probe, 2, (b << 32) - 1);
	return sqlite3_step(probe) == SQLITE_DONE;
}

/* WHERE over the rowid ranges of the sorted eids, runs merged across gaps
 * without rows: one range is a plain seek, where several (OR) make SQLite
 * test every row against a RowSet. */
static void sb_ranges(struct sbuf *b, const int64_t *eids, size_t n, sqlite3_stmt *probe)
{
	if (n == 0) {
		sbuf_add(b, " WHERE 0");
		return;
	}
	sbuf_add(b, " WHERE");
	for (size_t i = 0; i < n;) {
		size_t k = i;
		while (k + 1 < n && gap_empty(probe, eids[k], eids[k + 1]))
			k++;
		sbuf_add(b, i ? " OR rowid BETWEEN " : " rowid BETWEEN ");
		sb_i64(b, eids[i] << 32);
		sbuf_add(b, " AND ");
		sb_i64(b, ((eids[k] + 1) << 32) - 1);
		i = k + 1;
	}
}

/* The ingestion time column: kql_ingest over the first rowid of each
 * extent (lib/query/kql_exec.h), integers only. */
static void sb_ingest(struct sbuf *b, const int64_t *eids, const int64_t *ingested, size_t n,
                      bool stored)
{
	sbuf_add(b, stored ? ", kql_ingest(rowid, '" : ", NULL");
	for (size_t i = 0; stored && i < n; i++) {
		sbuf_add(b, i ? " " : "");
		sb_i64(b, eids[i] << 32);
		sbuf_add(b, " ");
		sb_i64(b, ingested[i]);
	}
	sbuf_add(b, stored ? "') AS " : " AS ");
	sb_ident(b, KQL_INGEST_COLUMN);
}

char *query_view_sql(sqlite3 *db, const struct proto_entity *e, const char *view, const char *alias,
                     const char *sqlname, const int64_t *eids, const int64_t *ingested,
                     size_t neids, bool stored)
{
	sqlite3_stmt *probe = NULL;
	struct sbuf b = {0};
	char c[48];

	sbuf_add(&b, "CREATE TEMP VIEW ");
	sb_ident(&b, view);
	sbuf_add(&b, " AS SELECT ");
	for (size_t i = 0; i < e->ncolumns; i++) {
		(void)snprintf(c, sizeof(c), "%sc%zu AS ", i ? ", " : "", i);
		sbuf_add(&b, stored ? c : i ? ", NULL AS " : "NULL AS ");
		sb_ident(&b, e->columns[i].name);
	}
	if (ingested != NULL)
		sb_ingest(&b, eids, ingested, neids, stored);
	if (stored) {
		sbuf_add(&b, " FROM ");
		sbuf_add(&b, alias);
		sbuf_add(&b, ".");
		sbuf_add(&b, sqlname);
		probe = gap_probe(db, alias, sqlname);
		sb_ranges(&b, eids, neids, probe);
		sqlite3_finalize(probe);
	} else {
		sbuf_add(&b, " WHERE 0");
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *query_view_drop_sql(const char *view)
{
	struct sbuf b = {0};

	sbuf_add(&b, "DROP VIEW IF EXISTS temp.");
	sb_ident(&b, view);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

char *query_ro_uri(const char *path)
{
	struct sbuf b = {0};
	char tmp[4];

	sbuf_add(&b, "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '?' || *p == '#' || *p == '%') {
			(void)snprintf(tmp, sizeof(tmp), "%%%02x", (unsigned char)*p);
			sbuf_add(&b, tmp);
		} else {
			sbuf_addn(&b, p, 1);
		}
	}
	sbuf_add(&b, "?mode=ro");
	return b.oom ? NULL : b.p;
}

int query_attach_ro(sqlite3 *db, const char *path, const char *alias)
{
	char sql[48], *uri = query_ro_uri(path);
	sqlite3_stmt *s = NULL;
	int rc;

	if (uri == NULL)
		return -ENOMEM;
	(void)snprintf(sql, sizeof(sql), "ATTACH ?1 AS %s", alias);
	rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, uri, -1, SQLITE_STATIC);
		rc = sqlite3_step(s);
	}
	sqlite3_finalize(s);
	free(uri);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

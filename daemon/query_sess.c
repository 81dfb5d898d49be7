/*
 * query_sess — a worker's connection and table walks kept between queries
 * (see query_sess.h).
 */
#include "query_sess.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int qsess_new(struct qsess **ret)
{
	struct qsess *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->schema.generation = -1;
	*ret = s;
	return 0;
}

void qsess_walk_clear(struct qsess_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->exts[i].cols);
	free(w->exts);
	free(w->view_sql);
	free(w->view_eids);
	w->exts = NULL;
	w->view_sql = NULL;
	w->view_eids = NULL;
	w->view_neids = 0;
	w->n = w->cap = w->bytes = 0;
	w->filled = false;
}

static const char *const stmt_sql[QSESS__N] = {
    [QSESS_BEGIN] = "BEGIN",
    [QSESS_SNAPSHOT] = "SELECT count(*) FROM q.qtables",
    [QSESS_VERSION] = "PRAGMA q.data_version",
    [QSESS_COMMIT] = "COMMIT",
    [QSESS_STORED] = "SELECT tid, schema FROM q.qtables WHERE name = ?1",
};

sqlite3_stmt *qsess_stmt(struct qsess *s, enum qsess_st id)
{
	if (!s->st[id] && sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
	                                     &s->st[id], NULL) != SQLITE_OK)
		return NULL;
	(void)sqlite3_reset(s->st[id]);
	return s->st[id];
}

int qsess_run(struct qsess *s, enum qsess_st id)
{
	sqlite3_stmt *st = qsess_stmt(s, id);
	int rc;

	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	(void)sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

struct kql_stmts *qsess_stmts(struct qsess *s)
{
	if (!s->stmts && kql_stmts_new(&s->stmts) < 0)
		return NULL;
	return s->stmts;
}

void qsess_drop(struct qsess *s)
{
	for (size_t i = 0; i < QSESS__N; i++) {
		sqlite3_finalize(s->st[i]);
		s->st[i] = NULL;
	}
	kql_stmts_free(s->stmts);
	s->stmts = NULL;
	if (s->db)
		sqlite3_close(s->db);
	s->db = NULL;
	for (size_t i = 0; i < s->nwalks; i++) {
		qsess_walk_clear(&s->walks[i]);
		free(s->walks[i].table);
	}
	free(s->walks);
	s->walks = NULL;
	s->nwalks = 0;
}

void qsess_schema_clear(struct qsess_schema *c)
{
	store_entities_free(c->ents, c->nents);
	free(c->tables);
	free(c->cols);
	*c = (struct qsess_schema){.generation = -1};
}

void qsess_free(struct qsess *s)
{
	if (!s)
		return;
	qsess_schema_clear(&s->schema);
	qsess_drop(s);
	free(s);
}

struct qsess_walk *qsess_walk(struct qsess *s, const char *table)
{
	struct qsess_walk *v;

	for (size_t i = 0; i < s->nwalks; i++)
		if (strcmp(s->walks[i].table, table) == 0)
			return &s->walks[i];
	if (!(v = reallocarray(s->walks, s->nwalks + 1, sizeof(*v))))
		return NULL;
	s->walks = v;
	v = &s->walks[s->nwalks];
	*v = (struct qsess_walk){0};
	if (!(v->table = strdup(table)))
		return NULL;
	s->nwalks++;
	return v;
}

bool qsess_view_reads(const struct qsess_walk *w, const int64_t *eids, size_t n, bool ingest)
{
	return w->view_sql && w->view_eids && w->view_neids == n && w->view_ingest == ingest &&
	       (n == 0 || memcmp(w->view_eids, eids, n * sizeof(*eids)) == 0);
}

int qsess_view_set(struct qsess_walk *w, const int64_t *eids, size_t n, bool ingest)
{
	w->view_ingest = ingest;
	free(w->view_eids);
	w->view_neids = 0;
	if (!(w->view_eids = malloc((n + 1) * sizeof(*eids))))
		return -ENOMEM;
	if (n > 0)
		memcpy(w->view_eids, eids, n * sizeof(*eids));
	w->view_neids = n;
	return 0;
}

int qsess_walk_add(struct qsess_walk *w, const struct qsess_ext *e)
{
	struct qsess_ext *x;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		if (!(x = reallocarray(w->exts, cap, sizeof(*x))))
			return -ENOMEM;
		w->exts = x;
		w->cap = cap;
	}
	x = &w->exts[w->n];
	*x = *e;
	x->cols = NULL;
	if (e->ncols > 0) {
		if (!(x->cols = calloc(e->ncols, sizeof(*x->cols))))
			return -ENOMEM;
		memcpy(x->cols, e->cols, e->ncols * sizeof(*x->cols));
	}
	w->n++;
	w->bytes += sizeof(*x) + e->ncols * sizeof(*x->cols);
	return 0;
}

static int cmp_eid(const void *a, const void *b)
{
	int64_t x = ((const struct qsess_ext *)a)->eid, y = ((const struct qsess_ext *)b)->eid;

	return x < y ? -1 : x > y;
}

void qsess_walk_done(struct qsess_walk *w)
{
	if (w->n > 0)
		qsort(w->exts, w->n, sizeof(*w->exts), cmp_eid);
	w->filled = w->bytes <= QSESS_WALK_BYTES;
}

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
	*ret = s;
	return 0;
}

void qsess_walk_clear(struct qsess_walk *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->exts[i].cols);
	free(w->exts);
	free(w->view_sql);
	w->exts = NULL;
	w->view_sql = NULL;
	w->n = w->cap = w->bytes = 0;
	w->filled = false;
}

void qsess_drop(struct qsess *s)
{
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

void qsess_free(struct qsess *s)
{
	if (!s)
		return;
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

/*
 * kql_par — a split plan on several threads (kql_par.h).  Each partition
 * keeps its partial rows in memory (a summarize's groups: few, and
 * bounded by max_bytes) until every partition is done; the caller's
 * connection then holds them in a temporary table for the final plan.
 */
#include "query/kql_par.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_exec_int.h"
#include "query/kql_hagg.h"

/* The partial rows of one partition: n values, ncols a row. */
struct rowbuf {
	const struct kql_plan *p;
	struct kql_value *v;
	size_t n, cap, bytes, max;
};

/* What the partitions share: a take's early stop. */
struct shared {
	pthread_mutex_t mu;
	sqlite3 *dbs[KQL_PAR_MAX]; /* running partitions' connections */
	size_t found, want;        /* rows found in all; want: stop at (0: never) */
	bool stop;
};

struct part {
	const struct kql_par *par;
	struct shared *sh;
	size_t k;
	struct rowbuf rows;
	struct kql_error err;
	pthread_t thread;
	bool started;
	int rc;
};

static int rowbuf_grow(struct rowbuf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 64;
	struct kql_value *v;

	while (cap < b->n + more)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	if (!(v = reallocarray(b->v, cap, sizeof(*v))))
		return -ENOMEM;
	b->v = v;
	b->cap = cap;
	return 0;
}

/* The take has its rows: every other partition is interrupted (under
 * sh->mu, so no connection closes meanwhile).  Whether t stops too. */
static bool found(struct part *t)
{
	struct shared *sh = t->sh;
	bool stop;

	pthread_mutex_lock(&sh->mu);
	stop = ++sh->found >= sh->want;
	if (stop && !sh->stop)
		for (size_t k = 0; k < KQL_PAR_MAX; k++)
			if (sh->dbs[k] && k != t->k)
				sqlite3_interrupt(sh->dbs[k]);
	sh->stop = sh->stop || stop;
	pthread_mutex_unlock(&sh->mu);
	return stop;
}

/* kql_row_fn: a copy of the row, its strings owned; 1 when a take has its
 * rows in all partitions. */
static int rowbuf_add(void *arg, const struct kql_value *row, size_t ncols)
{
	struct part *t = arg;
	struct rowbuf *b = &t->rows;

	if (rowbuf_grow(b, ncols) < 0)
		return -ENOMEM;
	for (size_t c = 0; c < ncols; c++) {
		struct kql_value *v = &b->v[b->n++];
		*v = row[c];
		b->bytes += sizeof(*v) + (v->s ? strlen(v->s) + 1 : 0);
		if (v->s && !(v->s = strdup(v->s)))
			return b->n--, -ENOMEM;
	}
	if (b->bytes > b->max)
		return -E2BIG;
	return t->sh->want && found(t) ? 1 : 0;
}

static void rowbuf_clear(struct rowbuf *b)
{
	for (size_t i = 0; i < b->n; i++)
		free((char *)b->v[i].s);
	free(b->v);
	b->v = NULL;
	b->n = b->cap = 0;
}

/* Registers (db) or unregisters (NULL) t's connection; false when the
 * take is already done (then t need not run). */
static bool running(struct part *t, sqlite3 *db)
{
	bool stop;

	pthread_mutex_lock(&t->sh->mu);
	t->sh->dbs[t->k] = db;
	stop = t->sh->stop;
	pthread_mutex_unlock(&t->sh->mu);
	return !stop;
}

/* The partial plan on t's connection db: hashed where kql_hagg can, else
 * (or when the values ask for it) its SQL. */
static int run_partial(struct part *t, sqlite3 *db)
{
	const struct kql_par *par = t->par;
	const struct kql_plan *p = par->split->partial;
	struct kql_hagg_limits lim = {par->max_bytes, par->budget};
	int rc = -ENOTSUP;

	if (!par->sorted && kql_hagg_supports(p))
		rc = kql_hagg_run(db, p, par->now, &lim, rowbuf_add, t, &t->err);
	return rc == -ENOTSUP ? kql_exec_run(db, p, par->now, rowbuf_add, t, &t->err) : rc;
}

static void *part_main(void *arg)
{
	struct part *t = arg;
	const struct kql_par *par = t->par;
	sqlite3 *db = NULL;

	t->rc = par->open(par->arg, t->k, &db);
	if (t->rc == 0 && running(t, db))
		t->rc = run_partial(t, db);
	/* the take has its rows: whatever stopped t (its own rows, the
	 * interrupt), the rows gathered are the visible table's */
	if (!running(t, NULL))
		t->rc = 0;
	if (db)
		par->close(par->arg, t->k, db);
	return NULL;
}

/* Partitions 1.. on threads, 0 here; waits for all.  0 when each ran. */
static int run_parts(struct part *t, size_t n)
{
	int rc = 0;

	for (size_t k = 1; k < n; k++)
		t[k].started = pthread_create(&t[k].thread, NULL, part_main, &t[k]) == 0;
	part_main(&t[0]);
	for (size_t k = 0; k < n; k++) {
		if (k > 0 && t[k].started)
			pthread_join(t[k].thread, NULL);
		if ((k > 0 && !t[k].started) || t[k].rc != 0)
			rc = -EAGAIN;
	}
	return rc;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* CREATE TEMP TABLE "$partials"(p0, p1 ..., part) (the names kql_split's
 * scan of it reads), or (insert) its INSERT; a
 * new malloc'd string, NULL on ENOMEM. */
static char *table_sql(const struct kql_plan *p, bool insert)
{
	char *sql = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&sql, &len);

	if (!f)
		return NULL;
	fputs(insert ? "INSERT INTO temp.\"" KQL_SPLIT_TABLE "\" VALUES("
	             : "CREATE TEMP TABLE \"" KQL_SPLIT_TABLE "\"(",
	      f);
	for (size_t c = 0; c < p->ncols; c++)
		if (insert)
			fputs(c ? ", ?" : "?", f);
		else
			fprintf(f, "%sp%zu", c ? ", " : "", c);
	fputs(insert ? ", ?)" : ", " KQL_SPLIT_PART ")", f);
	if (fclose(f) != 0) {
		free(sql);
		return NULL;
	}
	return sql;
}

/* The partials table (emptied) and its INSERT statement. */
static int create_table(sqlite3 *db, const struct kql_plan *p, sqlite3_stmt **ret)
{
	char *create = table_sql(p, false), *insert = table_sql(p, true);
	int rc = create && insert ? 0 : -ENOMEM;

	if (rc == 0 && (rc = exec(db, "DROP TABLE IF EXISTS temp.\"" KQL_SPLIT_TABLE "\"")) == 0 &&
	    (rc = exec(db, create)) == 0)
		rc = sqlite3_prepare_v2(db, insert, -1, ret, NULL) == SQLITE_OK ? 0 : -EIO;
	free(create);
	free(insert);
	return rc;
}

/* Partition k's rows b (the partial plan p's columns, then k). */
static int insert_rows(sqlite3_stmt *st, const struct rowbuf *b, const struct kql_plan *p, size_t k)
{
	for (size_t i = 0; i + p->ncols <= b->n; i += p->ncols) {
		sqlite3_reset(st);
		for (size_t c = 0; c < p->ncols; c++)
			if (kql_exec_bind(st, (int)c + 1, &b->v[i + c], p->cols[c].type) !=
			    SQLITE_OK)
				return -EIO;
		if (sqlite3_bind_int64(st, (int)p->ncols + 1, (sqlite3_int64)k) != SQLITE_OK)
			return -EIO;
		if (sqlite3_step(st) != SQLITE_DONE)
			return -EIO;
	}
	return 0;
}

/* The partitions' rows into KQL_SPLIT_TABLE on db. */
static int gather(sqlite3 *db, const struct kql_plan *p, const struct part *t, size_t n)
{
	sqlite3_stmt *st = NULL;
	int rc = create_table(db, p, &st);

	for (size_t k = 0; rc == 0 && k < n; k++)
		rc = insert_rows(st, &t[k].rows, p, k);
	sqlite3_finalize(st);
	return rc;
}

int kql_par_run(sqlite3 *db, const struct kql_par *par, kql_row_fn *row, void *arg,
                struct kql_error *err)
{
	const struct kql_plan *p = par->split->partial;
	const struct kql_expr *lim = par->split->limit;
	struct shared sh = {.want = lim && lim->kind == KQL_E_LIT && !lim->isnull && lim->i > 0
	                                ? (size_t)lim->i
	                                : 0};
	struct part t[KQL_PAR_MAX];
	size_t n = par->nparts;
	int rc;

	if (n < 1 || n > KQL_PAR_MAX || p->ncols < 1)
		return -EAGAIN;
	pthread_mutex_init(&sh.mu, NULL);
	for (size_t k = 0; k < n; k++)
		t[k] = (struct part){
		    .par = par, .sh = &sh, .k = k, .rows = {p, NULL, 0, 0, 0, par->max_bytes}};
	rc = run_parts(t, n);
	if (rc == 0 && gather(db, p, t, n) < 0)
		rc = -EAGAIN;
	for (size_t k = 0; k < n; k++)
		rowbuf_clear(&t[k].rows);
	if (rc == 0)
		rc = kql_exec_run(db, par->split->final, par->now, row, arg, err);
	(void)exec(db, "DROP TABLE IF EXISTS temp.\"" KQL_SPLIT_TABLE "\"");
	pthread_mutex_destroy(&sh.mu);
	return rc;
}

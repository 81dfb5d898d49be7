/*
 * kql_skip — extents a query may leave out (kql_skip.h): the scans of one
 * table found per path through the plan, their bounds evaluated on the
 * executor, then the per-extent test against the column statistics.
 */
#include "query/kql_skip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "data/kval.h"
#include "query/kql_exec.h"

#define MAX_CHAIN 64 /* filters directly above a scan that are looked at */

struct walk {
	sqlite3 *db;
	const char *dbname;
	int64_t now;
	struct kql_skip *s;
	size_t visits;
	int r;
};

/* ---- the bounds of one scan on one path ---- */

/* Whether pred's conjuncts include the comparison bound b came from. */
static bool conjunct_of(const struct kql_expr *pred, const struct kql_timebound *b)
{
	bool value = false, col = false;

	if (pred->kind != KQL_E_OP)
		return false;
	if (pred->op == KQL_OP_AND)
		return conjunct_of(pred->args[0], b) || conjunct_of(pred->args[1], b);
	for (size_t i = 0; i < pred->nargs; i++) {
		const struct kql_expr *a = pred->args[i];
		value = value || a == b->value;
		col = col || (a->kind == KQL_E_COL && a->side == 0 && a->col == b->col);
	}
	return value && col;
}

static bool on_path(const struct kql_timebound *b, const struct kql_plan *const *chain, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (conjunct_of(chain[i]->exprs[0], b))
			return true;
	return false;
}

static int on_value(void *arg, const struct kql_value *row, size_t ncols)
{
	*(struct kql_value *)arg = row[0];
	return 0;
}

/* The constant v of b in ticks; 1 when it is null, -1 when it cannot be
 * evaluated (then it bounds nothing). */
static int eval(const struct walk *w, const struct kql_timebound *b, int64_t *v)
{
	struct kql_col col = {"v", PROTO_T_DATETIME, false};
	struct kql_expr *e = b->value;
	struct kql_plan p = {
	    .kind = KQL_P_VALUES, .cols = &col, .ncols = 1, .exprs = &e, .nexprs = 1, .nrows = 1};
	struct kql_value out = {.isnull = true};
	struct kql_error err = {0};

	if (b->value->type != PROTO_T_DATETIME ||
	    kql_exec_run(w->db, &p, w->now, on_value, &out, &err) != 0)
		return -1;
	*v = out.i;
	return out.isnull ? 1 : 0;
}

/* Narrows r by "column op v". */
static void narrow(struct kql_skip_range *r, enum kql_op op, int64_t v)
{
	int64_t lo = INT64_MIN, hi = INT64_MAX;

	if (op == KQL_OP_GT && v == INT64_MAX)
		lo = 1, hi = 0;
	else if (op == KQL_OP_GT)
		lo = v + 1;
	else if (op == KQL_OP_GE)
		lo = v;
	else if (op == KQL_OP_LT && v == INT64_MIN)
		lo = 1, hi = 0;
	else if (op == KQL_OP_LT)
		hi = v - 1;
	else if (op == KQL_OP_LE)
		hi = v;
	else if (op == KQL_OP_EQ)
		lo = hi = v;
	r->lo = lo > r->lo ? lo : r->lo;
	r->hi = hi < r->hi ? hi : r->hi;
}

static struct kql_skip_range *range_of(struct kql_skip_scan *sc, int col)
{
	for (size_t i = 0; i < sc->nranges; i++)
		if (sc->ranges[i].col == col)
			return &sc->ranges[i];
	sc->ranges[sc->nranges] = (struct kql_skip_range){col, INT64_MIN, INT64_MAX};
	return &sc->ranges[sc->nranges++];
}

/* One scan of the table reached under the filters of chain. */
static int add_scan(struct walk *w, const struct kql_plan *p, const struct kql_plan *const *chain,
                    size_t n)
{
	struct kql_skip *s = w->s;
	struct kql_skip_scan *v = reallocarray(s->scans, s->nscans + 1, sizeof(*v)), *sc;
	int64_t value;
	int r;

	if (v == NULL)
		return -ENOMEM;
	s->scans = v;
	sc = &v[s->nscans++];
	*sc = (struct kql_skip_scan){calloc(p->nbounds + 1, sizeof(*sc->ranges)), 0};
	if (sc->ranges == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < p->nbounds; i++) {
		const struct kql_timebound *b = &p->bounds[i];
		if (b->col < 0 || (size_t)b->col >= s->table->ncolumns || !on_path(b, chain, n) ||
		    (r = eval(w, b, &value)) < 0)
			continue;
		if (r == 1) /* a comparison with null: where drops every row */
			*range_of(sc, b->col) = (struct kql_skip_range){b->col, 1, 0};
		else
			narrow(range_of(sc, b->col), b->op, value);
	}
	s->all = s->all || sc->nranges == 0;
	return 0;
}

static bool our_scan(const struct walk *w, const struct kql_plan *p)
{
	return p->kind == KQL_P_SCAN && p->table != NULL &&
	       strcmp(p->table, w->s->table->name) == 0 &&
	       (p->db == NULL || w->dbname == NULL || strcmp(p->db, w->dbname) == 0);
}

/* Every path from p down; chain holds the filters directly above p. */
static void walk(struct walk *w, const struct kql_plan *p, const struct kql_plan **chain, size_t n)
{
	if (w->r < 0 || p == NULL)
		return;
	if (++w->visits > KQL_SKIP_MAX_VISITS) {
		w->s->all = true; /* a pathological DAG: read everything */
		return;
	}
	if (our_scan(w, p)) {
		w->r = add_scan(w, p, chain, n);
		return;
	}
	if (p->kind == KQL_P_FILTER && p->nin == 1) {
		if (n < MAX_CHAIN)
			chain[n++] = p;
		walk(w, p->in[0], chain, n);
		return;
	}
	for (size_t i = 0; i < p->nin; i++)
		walk(w, p->in[i], chain, 0);
}

int kql_skip_new(sqlite3 *db, const struct kql_query *q, const char *dbname,
                 const struct kql_schema_table *table, int64_t now, struct kql_skip **ret)
{
	struct kql_skip *s = calloc(1, sizeof(*s));
	struct walk w = {db, dbname, now, s, 0, 0};
	const struct kql_plan *chain[MAX_CHAIN];

	if (s == NULL)
		return -ENOMEM;
	s->table = table;
	for (size_t i = 0; i < q->nresults && w.r == 0 && !s->all; i++)
		walk(&w, q->results[i], chain, 0);
	if (w.r < 0) {
		kql_skip_free(s);
		return w.r;
	}
	*ret = s;
	return 0;
}

void kql_skip_free(struct kql_skip *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nscans; i++)
		free(s->scans[i].ranges);
	free(s->scans);
	free(s);
}

/* ---- one extent ---- */

void kql_skip_cols_of(const struct proto_extent *x, struct kql_skip_col *cols)
{
	for (size_t i = 0; i < x->nstats; i++) {
		const struct proto_colstat *c = &x->stats[i];
		struct kql_skip_col *k = &cols[i];
		*k = (struct kql_skip_col){c->name ? c->name : "", c->type, false, 0, 0};
		if (c->type != PROTO_T_DATETIME || c->min == NULL || c->max == NULL)
			continue;
		k->range = kval_parse_datetime(c->min, strlen(c->min), &k->min) == 0 &&
		           kval_parse_datetime(c->max, strlen(c->max), &k->max) == 0;
		if (!k->range)
			k->type = PROTO_T_STRING;
	}
}

static const struct kql_skip_col *col_of(const struct kql_skip_col *cols, size_t n,
                                         const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return &cols[i];
	return NULL;
}

/* Whether the statistics prove that no row is in r. */
static bool outside(const struct kql_skip_range *r, const char *name,
                    const struct kql_skip_col *cols, size_t n)
{
	const struct kql_skip_col *c;

	if (r->lo > r->hi)
		return true;
	if (n == 0)
		return false; /* no statistics: nothing is known */
	if ((c = col_of(cols, n, name)) == NULL)
		return true; /* added after the extent was written: null in every row */
	if (c->type != PROTO_T_DATETIME)
		return false; /* retyped since: its statistics say nothing here */
	if (!c->range)
		return true; /* nulls only */
	return c->max < r->lo || c->min > r->hi;
}

static bool scan_empty(const struct kql_skip *s, const struct kql_skip_scan *sc,
                       const struct kql_skip_col *cols, size_t n)
{
	for (size_t i = 0; i < sc->nranges; i++)
		if (outside(&sc->ranges[i], s->table->columns[sc->ranges[i].col].name, cols, n))
			return true;
	return false;
}

bool kql_skip_cols(const struct kql_skip *s, const struct kql_skip_col *cols, size_t n)
{
	if (s->all)
		return false;
	for (size_t i = 0; i < s->nscans; i++)
		if (!scan_empty(s, &s->scans[i], cols, n))
			return false;
	return true;
}

bool kql_skip_extent(const struct kql_skip *s, const struct proto_extent *x)
{
	struct kql_skip_col *cols;
	bool skip;

	if (s->all)
		return false;
	if (s->nscans == 0)
		return true;
	if ((cols = calloc(x->nstats + 1, sizeof(*cols))) == NULL)
		return false; /* out of memory: read it */
	kql_skip_cols_of(x, cols);
	skip = kql_skip_cols(s, cols, x->nstats);
	free(cols);
	return skip;
}

bool kql_skip_reads(const struct kql_skip *s)
{
	return s->all || s->nscans > 0;
}

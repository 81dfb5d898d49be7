/*
 * kql_skip — extents a query may leave out (kql_skip.h): the scans of one
 * table found per path through the plan, their bounds evaluated on the
 * executor, then the per-extent test against the column statistics and
 * the extent's creation time.
 */
#include "query/kql_skip.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/kval.h"
#include "query/kql_exec.h"

#define MAX_CHAIN 64 /* filters directly above a scan that are looked at */

/* A number as the rows hold it: ticks and integers exactly, reals apart. */
struct num {
	bool real;
	int64_t i;
	double r;
};

/* One conjunct of a scan: column col (or KQL_BOUND_INGEST) op the values
 * (in: any of them); none: a null constant, no row at all. */
struct cond {
	int col;
	enum kql_op op;
	bool none;
	struct num *vals;
	size_t nvals;
};

struct scan {
	struct cond *conds; /* all must hold */
	size_t nconds;
};

struct kql_skip {
	const struct kql_schema_table *table; /* borrowed */
	struct scan *scans;
	size_t nscans;
	bool all;    /* some scan reads every extent: nothing is skipped */
	bool ingest; /* some scan reads the rows' ingestion time */
};

struct walk {
	sqlite3 *db;
	const char *dbname;
	int64_t now;
	struct kql_skip *s;
	size_t visits;
	int r;
};

/* ---- the bounds of one scan on one path ---- */

static bool is_bounded(const struct kql_expr *a, const struct kql_timebound *b)
{
	if (b->col == KQL_BOUND_INGEST)
		return a->kind == KQL_E_CALL && a->fn == KQL_F_INGESTION_TIME;
	return a->kind == KQL_E_COL && a->side == 0 && a->col == b->col;
}

/* Whether pred's conjuncts include the comparison bound b came from. */
static bool conjunct_of(const struct kql_expr *pred, const struct kql_timebound *b)
{
	bool value = false, col = false;

	if (pred->kind != KQL_E_OP)
		return false;
	if (pred->op == KQL_OP_AND)
		return conjunct_of(pred->args[0], b) || conjunct_of(pred->args[1], b);
	if (pred == b->value)
		return true; /* in: the bound is the conjunct */
	for (size_t i = 0; i < pred->nargs; i++) {
		const struct kql_expr *a = pred->args[i];
		value = value || a == b->value;
		col = col || is_bounded(a, b);
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

/* The constant e into *v; 1 when it is null (a NaN is null in the store
 * too), -1 when it cannot be evaluated (then it bounds nothing). */
static int eval(const struct walk *w, struct kql_expr *e, struct num *v)
{
	struct kql_col col = {"v", e->type, false};
	struct kql_plan p = {
	    .kind = KQL_P_VALUES, .cols = &col, .ncols = 1, .exprs = &e, .nexprs = 1, .nrows = 1};
	struct kql_value out = {.isnull = true};
	struct kql_error err = {0};

	if (kql_exec_run(w->db, &p, w->now, on_value, &out, &err) != 0)
		return -1;
	*v = (struct num){e->type == PROTO_T_REAL, out.i, out.r};
	return out.isnull || (v->real && isnan(v->r)) ? 1 : 0;
}

/* The values of in (its non-null ones: a null matches no row). */
static int eval_in(const struct walk *w, const struct kql_expr *in, struct cond *c)
{
	int r;

	if (!(c->vals = calloc(in->nargs, sizeof(*c->vals))))
		return -ENOMEM;
	for (size_t i = 1; i < in->nargs; i++) {
		if ((r = eval(w, in->args[i], &c->vals[c->nvals])) < 0)
			return 1; /* not known: bounds nothing */
		c->nvals += r == 0;
	}
	return 0;
}

/* Bound b as a condition into c; 1 when it bounds nothing. */
static int cond_of(const struct walk *w, const struct kql_timebound *b, struct cond *c)
{
	int r;

	*c = (struct cond){b->col, b->op, false, NULL, 0};
	if (b->op == KQL_OP_IN)
		return eval_in(w, b->value, c);
	if (!(c->vals = calloc(1, sizeof(*c->vals))))
		return -ENOMEM;
	if ((r = eval(w, b->value, c->vals)) < 0)
		return 1;
	c->none = r == 1; /* a comparison with null: where drops every row */
	c->nvals = 1;
	return 0;
}

static bool col_ok(const struct walk *w, int col)
{
	return col == KQL_BOUND_INGEST || (col >= 0 && (size_t)col < w->s->table->ncolumns);
}

/* One scan of the table reached under the filters of chain. */
static int add_scan(struct walk *w, const struct kql_plan *p, const struct kql_plan *const *chain,
                    size_t n)
{
	struct kql_skip *s = w->s;
	struct scan *v = reallocarray(s->scans, s->nscans + 1, sizeof(*v)), *sc;
	int r;

	if (v == NULL)
		return -ENOMEM;
	s->scans = v;
	sc = &v[s->nscans++];
	*sc = (struct scan){calloc(p->nbounds + 1, sizeof(*sc->conds)), 0};
	if (sc->conds == NULL)
		return -ENOMEM;
	s->ingest = s->ingest || p->ingest;
	for (size_t i = 0; i < p->nbounds; i++) {
		const struct kql_timebound *b = &p->bounds[i];
		struct cond *c = &sc->conds[sc->nconds];
		if (!col_ok(w, b->col) || !on_path(b, chain, n))
			continue;
		if ((r = cond_of(w, b, c)) < 0)
			return r;
		if (r == 0)
			sc->nconds++;
		else
			free(c->vals);
	}
	s->all = s->all || sc->nconds == 0;
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
		w->s->ingest = true;
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
	for (size_t i = 0; i < q->nresults && w.r == 0 && w.visits <= KQL_SKIP_MAX_VISITS; i++)
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
	for (size_t i = 0; i < s->nscans; i++) {
		for (size_t k = 0; k < s->scans[i].nconds; k++)
			free(s->scans[i].conds[k].vals);
		free(s->scans[i].conds);
	}
	free(s->scans);
	free(s);
}

/* ---- one extent's statistics ---- */

static bool parse_int(const char *t, int64_t *v)
{
	return kval_parse_int(t, strlen(t), INT64_MIN, INT64_MAX, v) == 0;
}

static bool parse_timespan(const char *t, int64_t *v)
{
	char buf[80], scratch[KVAL_SCRATCH], why[KVAL_WHYLEN];
	struct kval k;
	size_t len = strlen(t);

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, t, len + 1);
	if (kval_parse(PROTO_T_TIMESPAN, buf, len, scratch, &k, why) != 0 || k.null)
		return false;
	*v = k.i;
	return true;
}

static bool parse_real(const char *t, double *v)
{
	return kval_parse_real(t, strlen(t), v) == 0 && !isnan(*v);
}

/* c's range from its min and max texts; false when they do not parse. */
static bool parse_range(const struct proto_colstat *c, struct kql_skip_col *k)
{
	switch (c->type) {
	case PROTO_T_DATETIME:
		return kval_parse_datetime(c->min, strlen(c->min), &k->min) == 0 &&
		       kval_parse_datetime(c->max, strlen(c->max), &k->max) == 0;
	case PROTO_T_TIMESPAN:
		return parse_timespan(c->min, &k->min) && parse_timespan(c->max, &k->max);
	case PROTO_T_INT:
	case PROTO_T_LONG:
		return parse_int(c->min, &k->min) && parse_int(c->max, &k->max);
	case PROTO_T_REAL:
		return parse_real(c->min, &k->rmin) && parse_real(c->max, &k->rmax);
	default:
		return false;
	}
}

static bool ranged(enum proto_coltype t)
{
	return t == PROTO_T_DATETIME || t == PROTO_T_TIMESPAN || t == PROTO_T_INT ||
	       t == PROTO_T_LONG || t == PROTO_T_REAL;
}

void kql_skip_cols_of(const struct proto_extent *x, struct kql_skip_col *cols)
{
	for (size_t i = 0; i < x->nstats; i++) {
		const struct proto_colstat *c = &x->stats[i];
		struct kql_skip_col *k = &cols[i];
		*k = (struct kql_skip_col){c->name ? c->name : "", c->type, false, 0, 0, 0, 0};
		if (!ranged(c->type) || c->min == NULL || c->max == NULL)
			continue; /* a ranged type without min and max: nulls only */
		k->range = parse_range(c, k);
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

/* ---- comparisons of numbers, as the executor makes them ---- */

/* Integers exactly, an integer beside a real as a real (promoted, as
 * Kusto compares them: kql_exec_expr.c's compare).  The promotion keeps
 * order (a <= b gives (double)a <= (double)b), so [min, max] of a column
 * still holds every row's promoted value. */
static int cmp(const struct num *a, const struct num *b)
{
	double x, y;

	if (!a->real && !b->real)
		return a->i < b->i ? -1 : a->i > b->i;
	x = a->real ? a->r : (double)a->i;
	y = b->real ? b->r : (double)b->i;
	return x < y ? -1 : x > y;
}

/* Whether no value in [lo, hi] satisfies "value op v". */
static bool outside_one(const struct num *lo, const struct num *hi, enum kql_op op,
                        const struct num *v)
{
	switch (op) {
	case KQL_OP_GT:
		return cmp(hi, v) <= 0;
	case KQL_OP_GE:
		return cmp(hi, v) < 0;
	case KQL_OP_LT:
		return cmp(lo, v) >= 0;
	case KQL_OP_LE:
		return cmp(lo, v) > 0;
	case KQL_OP_EQ:
	case KQL_OP_IN:
		return cmp(v, lo) < 0 || cmp(v, hi) > 0;
	default:
		return false;
	}
}

/* Whether no value in [lo, hi] satisfies c (for in: none of its values). */
static bool outside_range(const struct cond *c, const struct num *lo, const struct num *hi)
{
	if (c->none)
		return true;
	for (size_t i = 0; i < c->nvals; i++)
		if (!outside_one(lo, hi, c->op, &c->vals[i]))
			return false;
	return true;
}

/* Whether the statistics prove that no row satisfies c. */
static bool outside(const struct kql_skip *s, const struct cond *c, const struct kql_skip_col *cols,
                    size_t n, int64_t ingested)
{
	const struct kql_schema_column *col;
	const struct kql_skip_col *k;
	struct num lo = {false, ingested, 0}, hi = lo;

	if (c->none)
		return true;
	if (c->col == KQL_BOUND_INGEST)
		return outside_range(c, &lo, &hi);
	if (n == 0)
		return false; /* no statistics: nothing is known */
	col = &s->table->columns[c->col];
	if ((k = col_of(cols, n, col->name)) == NULL)
		return true; /* added after the extent was written: null in every row */
	if (k->type != col->type)
		return false; /* retyped since: its statistics say nothing here */
	if (!k->range)
		return true; /* nulls only */
	lo = (struct num){k->type == PROTO_T_REAL, k->min, k->rmin};
	hi = (struct num){k->type == PROTO_T_REAL, k->max, k->rmax};
	return outside_range(c, &lo, &hi);
}

static bool scan_empty(const struct kql_skip *s, const struct scan *sc,
                       const struct kql_skip_col *cols, size_t n, int64_t ingested)
{
	for (size_t i = 0; i < sc->nconds; i++)
		if (outside(s, &sc->conds[i], cols, n, ingested))
			return true;
	return false;
}

bool kql_skip_cols(const struct kql_skip *s, const struct kql_skip_col *cols, size_t n,
                   int64_t ingested)
{
	if (s->all)
		return false;
	for (size_t i = 0; i < s->nscans; i++)
		if (!scan_empty(s, &s->scans[i], cols, n, ingested))
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
	skip = kql_skip_cols(s, cols, x->nstats, x->max_created);
	free(cols);
	return skip;
}

bool kql_skip_reads(const struct kql_skip *s)
{
	return s->all || s->nscans > 0;
}

bool kql_skip_ingest(const struct kql_skip *s)
{
	return s->ingest;
}

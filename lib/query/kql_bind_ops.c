/*
 * kql_bind_ops — one function per tabular operator after '|': the plan
 * node it becomes and Kusto's naming of its output columns.  The
 * predicates of a where directly over a table that column statistics or
 * created-on can decide are also pushed down into the scan for extent
 * skipping (kql_skip.h), and a where over an innerunique join filters its
 * left side before the keys are deduplicated, as Kusto does.
 */
#include <string.h>

#include "query/kql_bind_int.h"

typedef struct kql_plan *bind_fn(struct kqlb *b, const struct kqlb_binding *env,
                                 struct kql_plan *in, const struct kql_node *n);

static struct kqlb_scope scope(const struct kql_plan *in, const struct kqlb_binding *env,
                               const char *op)
{
	struct kqlb_scope s = {in, env, op, false};

	return s;
}

static void copy_cols(struct kql_plan *p, const struct kql_plan *in)
{
	memcpy(p->cols, in->cols, in->ncols * sizeof(*p->cols));
}

/* ---- where, with predicates the statistics decide pushed into the scan ---- */

static bool is_cmp(enum kql_op op)
{
	return op == KQL_OP_GT || op == KQL_OP_GE || op == KQL_OP_LT || op == KQL_OP_LE ||
	       op == KQL_OP_EQ;
}

static enum kql_op flip(enum kql_op op)
{
	switch (op) {
	case KQL_OP_GT:
		return KQL_OP_LT;
	case KQL_OP_GE:
		return KQL_OP_LE;
	case KQL_OP_LT:
		return KQL_OP_GT;
	case KQL_OP_LE:
		return KQL_OP_GE;
	default:
		return op;
	}
}

static int add_bound(struct kqlb *b, struct kql_plan *scan, int col, enum kql_op op,
                     struct kql_expr *value)
{
	struct kql_timebound *v = kqlb_alloc(b, (scan->nbounds + 1) * sizeof(*v));

	if (v == NULL)
		return -1;
	if (scan->nbounds > 0)
		memcpy(v, scan->bounds, scan->nbounds * sizeof(*v));
	v[scan->nbounds].col = col;
	v[scan->nbounds].op = op;
	v[scan->nbounds].value = value;
	scan->bounds = v;
	scan->nbounds++;
	return 0;
}

/* The scan's column e is (KQL_BOUND_INGEST: the row's ingestion time)
 * when its statistics can bound it, else -2. */
static int bound_col(const struct kql_expr *e)
{
	enum proto_coltype t = e->type;

	if (e->kind == KQL_E_CALL && e->fn == KQL_F_INGESTION_TIME)
		return KQL_BOUND_INGEST;
	if (e->kind != KQL_E_COL || e->side != 0)
		return -2;
	return t == PROTO_T_DATETIME || t == PROTO_T_TIMESPAN || t == PROTO_T_INT ||
	               t == PROTO_T_LONG || t == PROTO_T_REAL
	           ? e->col
	           : -2;
}

static bool numeric(enum proto_coltype t)
{
	return t == PROTO_T_INT || t == PROTO_T_LONG || t == PROTO_T_REAL;
}

/* Whether v is a constant whose comparison with col (as bound_col) the
 * skip can decide: a datetime or timespan with its own type, a number
 * (int, long, real) with a number. */
static bool bound_value(const struct kql_expr *col, const struct kql_expr *v)
{
	if (!kqlb_constant(v))
		return false;
	return numeric(col->type) ? numeric(v->type) : v->type == col->type;
}

static bool in_bound(const struct kql_expr *pred)
{
	if (pred->op != KQL_OP_IN || bound_col(pred->args[0]) < KQL_BOUND_INGEST)
		return false;
	for (size_t i = 1; i < pred->nargs; i++)
		if (!bound_value(pred->args[0], pred->args[i]))
			return false;
	return true;
}

/* Each conjunct "column op constant" of pred (a column the statistics
 * bound, or ingestion_time()) becomes a bound. */
static int push_bounds(struct kqlb *b, struct kql_plan *scan, const struct kql_expr *pred)
{
	struct kql_expr **a = pred->args;
	int c0, c1;

	if (pred->kind != KQL_E_OP)
		return 0;
	if (pred->op == KQL_OP_AND)
		return push_bounds(b, scan, a[0]) != 0 ? -1 : push_bounds(b, scan, a[1]);
	if (in_bound(pred))
		return add_bound(b, scan, bound_col(a[0]), KQL_OP_IN, (struct kql_expr *)pred);
	if (pred->nargs < 2)
		return 0;
	c0 = bound_col(a[0]);
	c1 = bound_col(a[1]);
	if (is_cmp(pred->op) && c0 >= KQL_BOUND_INGEST && bound_value(a[0], a[1]))
		return add_bound(b, scan, c0, pred->op, a[1]);
	if (is_cmp(pred->op) && c1 >= KQL_BOUND_INGEST && bound_value(a[1], a[0]))
		return add_bound(b, scan, c1, flip(pred->op), a[0]);
	if (pred->op == KQL_OP_BETWEEN && c0 >= KQL_BOUND_INGEST && bound_value(a[0], a[1]) &&
	    bound_value(a[0], a[2]))
		return add_bound(b, scan, c0, KQL_OP_GE, a[1]) != 0
		           ? -1
		           : add_bound(b, scan, c0, KQL_OP_LE, a[2]);
	return 0;
}

/* A filter of in's rows by pred (bound over in's columns). */
static struct kql_plan *filter_over(struct kqlb *b, struct kql_plan *in, struct kql_expr *pred)
{
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_FILTER, pred->pos, in->ncols, in);

	if (p == NULL || (p->exprs = kqlb_alloc(b, sizeof(*p->exprs))) == NULL)
		return NULL;
	copy_cols(p, in);
	p->exprs[0] = pred;
	p->nexprs = 1;
	return p;
}

/* Whether every column e reads is one of join j's left side. */
static bool left_only(const struct kql_expr *e, const struct kql_plan *j)
{
	if (e->kind == KQL_E_COL)
		return e->side == 0 && e->col >= 0 && (size_t)e->col < j->ncols &&
		       j->out_side[e->col] == 0;
	for (size_t i = 0; i < e->nargs; i++)
		if (!left_only(e->args[i], j))
			return false;
	return e->kind != KQL_E_STAR;
}

/* A copy of e that reads the left side's columns where e read j's. */
static struct kql_expr *to_left(struct kqlb *b, const struct kql_expr *e, const struct kql_plan *j)
{
	struct kql_expr *c = kqlb_alloc(b, sizeof(*c));

	if (c == NULL)
		return NULL;
	*c = *e;
	if (e->kind == KQL_E_COL)
		c->col = j->out_col[e->col];
	if (e->nargs > 0 && (c->args = kqlb_alloc(b, e->nargs * sizeof(*c->args))) == NULL)
		return NULL;
	for (size_t i = 0; i < e->nargs; i++)
		if ((c->args[i] = to_left(b, e->args[i], j)) == NULL)
			return NULL;
	return c;
}

/* Each conjunct of pred filters j's left side when it reads only that
 * side, else *top (j and the filters above it so far). */
static int push_conjuncts(struct kqlb *b, struct kql_expr *pred, struct kql_plan *j,
                          struct kql_plan **top)
{
	struct kql_plan **at = top;

	if (pred->kind == KQL_E_OP && pred->op == KQL_OP_AND)
		return push_conjuncts(b, pred->args[0], j, top) != 0
		           ? -1
		           : push_conjuncts(b, pred->args[1], j, top);
	if (left_only(pred, j)) {
		if ((pred = to_left(b, pred, j)) == NULL)
			return -1;
		at = &j->in[0];
	}
	return (*at = filter_over(b, *at, pred)) != NULL ? 0 : -1;
}

/* where over an innerunique join: Kusto filters the left side by the
 * conjuncts that read only its columns before it keeps one row per key
 * (its documentation: with where value == "val1.2" the join "will never
 * give the first result"), so that row is one that passes.  The join is
 * copied, not changed: an 'as' name may share it. */
static struct kql_plan *where_join(struct kqlb *b, const struct kql_plan *in, struct kql_expr *pred)
{
	struct kql_plan *j = kqlb_alloc(b, sizeof(*j)), *top;
	struct kql_plan **ins = kqlb_alloc(b, 2 * sizeof(*ins));

	if (j == NULL || ins == NULL)
		return NULL;
	*j = *in;
	ins[0] = in->in[0];
	ins[1] = in->in[1];
	j->in = ins;
	top = j;
	return push_conjuncts(b, pred, j, &top) == 0 ? top : NULL;
}

static struct kql_plan *bind_where(struct kqlb *b, const struct kqlb_binding *env,
                                   struct kql_plan *in, const struct kql_node *n)
{
	struct kqlb_scope s = scope(in, env, "where");
	struct kql_plan *p, *scan = in;
	struct kql_expr *pred;

	if ((pred = kqlb_expr(b, &s, n->kids)) == NULL)
		return NULL;
	if (pred->type != PROTO_T_BOOL && pred->type != PROTO_T_DYNAMIC)
		return kqlb_fail(b, KQL_E_TYPE, n->kids->pos,
		                 "'where' operator: the predicate must be bool, not '%s'",
		                 proto_coltype_name(pred->type));
	if (in->kind == KQL_P_JOIN && in->join == KQL_JOIN_INNERUNIQUE)
		return where_join(b, in, pred);
	if ((p = filter_over(b, in, pred)) == NULL)
		return NULL;
	p->pos = n->pos;
	/* Filters keep their input's columns, so indexes hold down to the scan. */
	while (scan->kind == KQL_P_FILTER)
		scan = scan->in[0];
	if (scan->kind == KQL_P_SCAN && push_bounds(b, scan, pred) != 0)
		return NULL;
	return p;
}

/* ---- project, extend, project-away, project-rename ---- */

/* Whether item k (bound to e) is a let's name alone, not a column's. */
static bool bare_let(const struct kql_node *k, const struct kql_expr *e)
{
	return k->kind == KQL_N_NAME && e->kind != KQL_E_COL;
}

/* The name of an unnamed item: its column's, d_a, a let's own (measured
 * on Kusto: let v = 5; T | project v names it v; it was Column1), else
 * ColumnN. */
static const char *item_name(struct kqlb *b, const struct kql_node *k, const struct kql_expr *e,
                             const struct kql_plan *in, int *counter)
{
	const char *name;

	if (k->kind == KQL_N_ASSIGN)
		return k->name;
	if (bare_let(k, e))
		return k->name;
	if ((name = kqlb_expr_name(b, e, in)) != NULL)
		return name;
	return kqlb_printf_name(b, "Column%d", ++*counter);
}

static struct kql_plan *bind_project(struct kqlb *b, const struct kqlb_binding *env,
                                     struct kql_plan *in, const struct kql_node *n)
{
	struct kqlb_scope s = scope(in, env, "project");
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_PROJECT, n->pos, n->nkids, in);
	const struct kql_node *k = n->kids;
	const char *name;
	int counter = 0;
	bool *inferred = kqlb_alloc(b, n->nkids * sizeof(*inferred));

	if (p == NULL || inferred == NULL ||
	    (p->exprs = kqlb_alloc(b, n->nkids * sizeof(*p->exprs))) == NULL)
		return NULL;
	for (size_t i = 0; k != NULL; k = k->next, i++) {
		struct kql_expr *e = kqlb_expr(b, &s, k->kind == KQL_N_ASSIGN ? k->kids : k);
		int c;
		if (e == NULL || (name = item_name(b, k, e, in, &counter)) == NULL)
			return NULL;
		/* A name inferred from a call (tolong(Code) is Code) gives way to
		 * Code1 as Kusto's does; two declared ones (a = …, a column) clash. */
		inferred[i] = k->kind != KQL_N_ASSIGN && e->kind == KQL_E_CALL;
		for (c = 0; c < (int)i && strcmp(p->cols[c].name, name) != 0; c++)
			;
		if (c < (int)i && (inferred[i] || inferred[c]))
			name = kqlb_unique_name(b, p->cols, i, name);
		else if (c < (int)i)
			return kqlb_fail(b, KQL_E_NAME, k->pos,
			                 "'project' operator: the column '%s' is projected twice",
			                 name);
		if (name == NULL)
			return NULL;
		p->exprs[i] = e;
		p->cols[i].name = name;
		p->cols[i].type = e->type;
		p->cols[i].nan_if_null = kql_expr_keeps_nan(e, in);
	}
	p->nexprs = n->nkids;
	return p;
}

/* A projection of in's columns, each as itself: the start of extend,
 * project-away and project-rename. */
static struct kql_plan *identity(struct kqlb *b, struct kql_plan *in, struct kql_pos pos,
                                 size_t room)
{
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_PROJECT, pos, in->ncols + room, in);

	if (p == NULL || (p->exprs = kqlb_alloc(b, (in->ncols + room) * sizeof(*p->exprs))) == NULL)
		return NULL;
	for (size_t i = 0; i < in->ncols; i++)
		if ((p->exprs[i] = kqlb_colref(b, in, (int)i, pos)) == NULL)
			return NULL;
	copy_cols(p, in);
	p->ncols = p->nexprs = in->ncols;
	return p;
}

/* extend: a new name is appended, an existing one replaced in place.
 * Every item reads the operator's input, not the items before it (as
 * Kusto, measured: extend x = x + 1, b = x + 1 gives b the input's x + 1;
 * extend a = 1, b = a + 1 fails to resolve a). */
static struct kql_plan *bind_extend(struct kqlb *b, const struct kqlb_binding *env,
                                    struct kql_plan *in, const struct kql_node *n)
{
	struct kql_plan *p = identity(b, in, n->pos, n->nkids);
	struct kqlb_scope s = scope(in, env, "extend");
	const char *name;
	int counter = 0, c;

	for (const struct kql_node *k = n->kids; p != NULL && k != NULL; k = k->next) {
		struct kql_expr *e = kqlb_expr(b, &s, k->kind == KQL_N_ASSIGN ? k->kids : k);
		if (e == NULL || (name = item_name(b, k, e, in, &counter)) == NULL)
			return NULL;
		if ((c = kqlb_column(p, name)) < 0)
			c = (int)p->ncols++;
		p->exprs[c] = e;
		p->cols[c].name = name;
		p->cols[c].type = e->type;
		p->cols[c].nan_if_null = kql_expr_keeps_nan(e, in);
	}
	if (p != NULL)
		p->nexprs = p->ncols;
	return p;
}

/* Marks in mark the columns of in that item k of operator op names: one,
 * or each its wildcard name matches (one at least: kql_bind_wild.c).  0,
 * or -1 with the error set. */
static int mark_item(struct kqlb *b, const struct kql_plan *in, const struct kql_node *k,
                     const char *op, bool *mark)
{
	size_t plen = strlen(k->name), hits = 0;
	int c;

	if (k->kind != KQL_N_PATTERN) {
		if ((c = kqlb_column(in, k->name)) >= 0) {
			mark[c] = true;
			return 0;
		}
		(void)kqlb_fail(b, KQL_E_NAME, k->pos,
		                "'%s' operator: Failed to resolve column named '%s'", op, k->name);
		return -1;
	}
	for (size_t i = 0; i < in->ncols; i++)
		if (kqlb_wild_match(k->name, plen, in->cols[i].name)) {
			mark[i] = true;
			hits++;
		}
	if (hits > 0)
		return 0;
	(void)kqlb_fail(b, KQL_E_NAME, k->pos, "'%s' operator: no column matches '%s'", op,
	                k->name);
	return -1;
}

/* The identity projection of in with the columns whose mark is keep, in
 * their order; NULL on error. */
static struct kql_plan *marked(struct kqlb *b, struct kql_plan *in, const struct kql_node *n,
                               const char *op, bool keep)
{
	struct kql_plan *p = identity(b, in, n->pos, 0);
	bool *mark = kqlb_alloc(b, (in->ncols + 1) * sizeof(*mark));
	size_t k = 0;

	if (p == NULL || mark == NULL)
		return NULL;
	for (const struct kql_node *item = n->kids; item != NULL; item = item->next)
		if (mark_item(b, in, item, op, mark) != 0)
			return NULL;
	for (size_t c = 0; c < in->ncols; c++)
		if (mark[c] == keep) {
			p->cols[k] = p->cols[c];
			p->exprs[k++] = p->exprs[c];
		}
	p->ncols = p->nexprs = k;
	return p;
}

/* project-away: every item names columns of the input (a column named or
 * matched twice is removed once); the others stay in their order. */
static struct kql_plan *bind_away(struct kqlb *b, const struct kqlb_binding *env,
                                  struct kql_plan *in, const struct kql_node *n)
{
	struct kql_plan *p = marked(b, in, n, "project-away", false);

	/* A table has columns (the SQL of none was an engine error). */
	if (p != NULL && p->ncols == 0)
		return kqlb_fail(b, KQL_E_UNSUPPORTED, n->pos,
		                 "'project-away' operator: it removes every column, and a table "
		                 "without columns is not supported");
	return p;
}

/* project-keep: the columns its items name, in the input's order (its
 * page: not the items'). */
static struct kql_plan *bind_keep(struct kqlb *b, const struct kqlb_binding *env,
                                  struct kql_plan *in, const struct kql_node *n)
{
	return marked(b, in, n, "project-keep", true);
}

/* Whether name a goes before b: ordinally (as Kusto compares names),
 * descending when desc. */
static bool name_before(const char *a, const char *b, bool desc)
{
	int r = strcmp(a, b);

	return desc ? r > 0 : r < 0;
}

/* Sorts the column numbers at from[0..n) by their names in in (an
 * insertion sort: a pattern matches few columns, at most KQL's 2,000). */
static void sort_by_name(const struct kql_plan *in, int *from, size_t n, bool desc)
{
	for (size_t i = 1; i < n; i++) {
		int c = from[i];
		size_t j = i;

		for (; j > 0 && name_before(in->cols[c].name, in->cols[from[j - 1]].name, desc);
		     j--)
			from[j] = from[j - 1];
		from[j] = c;
	}
}

/* Appends to order (k so far) the columns item names that no earlier item
 * placed: a pattern's as they come, or by name (asc, desc).  The new k,
 * or -1 with the error set. */
static long reorder_item(struct kqlb *b, const struct kql_plan *in, const struct kql_node *item,
                         bool *placed, int *order, size_t k)
{
	bool *mark = kqlb_alloc(b, (in->ncols + 1) * sizeof(*mark));
	size_t start = k;

	if (mark == NULL || mark_item(b, in, item, "project-reorder", mark) != 0)
		return -1;
	for (size_t c = 0; c < in->ncols; c++)
		if (mark[c] && !placed[c]) {
			placed[c] = true;
			order[k++] = (int)c;
		}
	if (item->i != 0)
		sort_by_name(in, order + start, k - start, item->i == 2);
	return (long)k;
}

/* project-reorder: the columns its items name first, in the items' order,
 * each where it is first named; then the others as they come.  Nothing is
 * renamed or removed. */
static struct kql_plan *bind_reorder(struct kqlb *b, const struct kqlb_binding *env,
                                     struct kql_plan *in, const struct kql_node *n)
{
	struct kql_plan *p = identity(b, in, n->pos, 0), *id = identity(b, in, n->pos, 0);
	bool *placed = kqlb_alloc(b, (in->ncols + 1) * sizeof(*placed));
	int *order = kqlb_alloc(b, (in->ncols + 1) * sizeof(*order));
	long k = 0;

	if (p == NULL || id == NULL || placed == NULL || order == NULL)
		return NULL;
	for (const struct kql_node *item = n->kids; item != NULL; item = item->next)
		if ((k = reorder_item(b, in, item, placed, order, (size_t)k)) < 0)
			return NULL;
	for (size_t c = 0; c < in->ncols; c++)
		if (!placed[c])
			order[k++] = (int)c;
	for (size_t c = 0; c < in->ncols; c++) {
		p->cols[c] = id->cols[order[c]];
		p->exprs[c] = id->exprs[order[c]];
	}
	return p;
}

static struct kql_plan *bind_rename(struct kqlb *b, const struct kqlb_binding *env,
                                    struct kql_plan *in, const struct kql_node *n)
{
	struct kql_plan *p = identity(b, in, n->pos, 0);
	int c;

	for (const struct kql_node *k = n->kids; p != NULL && k != NULL; k = k->next) {
		if ((c = kqlb_column(in, k->kids->name)) < 0)
			return kqlb_fail(
			    b, KQL_E_NAME, k->kids->pos,
			    "'project-rename' operator: Failed to resolve column named '%s'",
			    k->kids->name);
		if (kqlb_column(p, k->name) >= 0 && kqlb_column(p, k->name) != c)
			return kqlb_fail(b, KQL_E_NAME, k->pos,
			                 "'project-rename' operator: a column named '%s' exists",
			                 k->name);
		p->cols[c].name = k->name;
	}
	return p;
}

/* ---- summarize and count ---- */

/* The name of an unnamed summarize key: its column's; bin(Timestamp, 1h),
 * bin_at(Timestamp, 1h, t0) and other calls over one column keep that
 * column's; else ColumnN, a let's name alone too (measured on Kusto:
 * summarize by v of a let v is Column1). */
static const char *key_name(struct kqlb *b, const struct kql_node *k, const struct kql_expr *e,
                            const struct kql_plan *in, int *counter)
{
	if (bare_let(k, e))
		return kqlb_printf_name(b, "Column%d", ++*counter);
	if (k->kind != KQL_N_ASSIGN && e->kind == KQL_E_CALL &&
	    (e->fn == KQL_F_BIN || e->fn == KQL_F_BIN_AT) && e->args[0]->kind == KQL_E_COL)
		return in->cols[e->args[0]->col].name;
	return item_name(b, k, e, in, counter);
}

/* Growing list of a summarize's output: exprs and columns. */
struct outlist {
	struct kql_expr **e;
	struct kql_col *c;
	size_t n, cap;
};

/* True when one of the first n outputs (summarize's keys) is named name. */
static bool name_taken_out(const struct outlist *o, size_t n, const char *name)
{
	for (size_t i = 0; i < n && i < o->n; i++)
		if (strcmp(o->c[i].name, name) == 0)
			return true;
	return false;
}

static int out_add(struct kqlb *b, struct outlist *o, struct kql_expr *e, const char *name)
{
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		struct kql_expr **ne = kqlb_alloc(b, cap * sizeof(*ne));
		struct kql_col *nc = kqlb_alloc(b, cap * sizeof(*nc));
		if (ne == NULL || nc == NULL)
			return -1;
		if (o->n > 0) {
			memcpy(ne, o->e, o->n * sizeof(*ne));
			memcpy(nc, o->c, o->n * sizeof(*nc));
		}
		o->e = ne;
		o->c = nc;
		o->cap = cap;
	}
	if ((name = kqlb_unique_name(b, o->c, o->n, name)) == NULL)
		return -1;
	o->e[o->n] = e;
	o->c[o->n].name = name;
	o->c[o->n].type = e->type;
	o->c[o->n++].nan_if_null = e->kind == KQL_E_CALL && e->type == PROTO_T_REAL &&
	                           (e->fn == KQL_F_AVG || e->fn == KQL_F_AVGIF);
	return 0;
}

static struct kql_expr *agg_call(struct kqlb *b, enum kql_fn fn, struct kql_pos pos,
                                 enum proto_coltype type, struct kql_expr *a0, struct kql_expr *a1)
{
	struct kql_expr *e = kqlb_alloc(b, sizeof(*e));

	if (e == NULL || (e->args = kqlb_alloc(b, 2 * sizeof(*e->args))) == NULL)
		return NULL;
	e->kind = KQL_E_CALL;
	e->fn = fn;
	e->type = type;
	e->pos = pos;
	e->args[0] = a0;
	e->args[1] = a1;
	e->nargs = a1 != NULL ? 2 : 1;
	return e;
}

static bool is_aggregate(const struct kql_expr *e)
{
	return e->kind == KQL_E_CALL && kql_func_get(e->fn)->aggregate;
}

/* The name of a percentile at level lv (a number literal): percentile_x_95,
 * a fraction's '.' as '_'; NULL with the error set when lv is none. */
static const char *percentile_name(struct kqlb *b, const struct kql_expr *lv, const char *col)
{
	double level = lv->type == PROTO_T_REAL ? lv->r : (double)lv->i;
	char buf[64], *dot;

	if (lv->kind != KQL_E_LIT || lv->isnull)
		return kqlb_fail(b, KQL_E_ARGS, lv->pos, "percentile levels must be numbers");
	(void)snprintf(buf, sizeof(buf), "%g", level);
	if ((dot = strchr(buf, '.')) != NULL)
		*dot = '_';
	return kqlb_printf_name(b, "percentile_%s_%s", col ? col : "", buf);
}

/* percentiles(x, 50, 95): one percentile column per level,
 * percentile_x_50, percentile_x_95. */
static int add_percentiles(struct kqlb *b, struct outlist *o, const struct kql_expr *e,
                           const struct kql_plan *in)
{
	const char *col = kqlb_expr_name(b, e->args[0], in), *name;

	for (size_t i = 1; i < e->nargs; i++) {
		struct kql_expr *p;
		if ((name = percentile_name(b, e->args[i], col)) == NULL ||
		    (p = agg_call(b, KQL_F_PERCENTILE, e->pos, e->type, e->args[0],
		                  (struct kql_expr *)e->args[i])) == NULL ||
		    out_add(b, o, p, name) != 0)
			return -1;
	}
	return 0;
}

/* arg_max(ts, a, b) and arg_max(ts, *): ts's extreme, and each other
 * column at the row where it is reached, each column under its own name. */
static int add_arg_extreme(struct kqlb *b, struct outlist *o, const struct kql_node *k,
                           struct kql_expr *e, const struct kql_plan *in, size_t nkeys)
{
	const char *first = kqlb_first_column(e->args[0], in);
	struct kql_expr *x;

	if ((x = agg_call(b, e->fn, e->pos, e->type, e->args[0], e->args[0])) == NULL ||
	    out_add(b, o, x,
	            k->kind == KQL_N_ASSIGN ? k->name
	            : first != NULL         ? first
	                            : kqlb_printf_name(b, "%s_", kql_func_get(e->fn)->prefix)) != 0)
		return -1;
	for (size_t i = 1; i < e->nargs; i++) {
		struct kql_expr *a = e->args[i];
		for (size_t c = 0; a->kind == KQL_E_STAR && c < in->ncols; c++) {
			/* The by keys are already columns of the result. */
			if ((e->args[0]->kind == KQL_E_COL && e->args[0]->col == (int)c) ||
			    name_taken_out(o, nkeys, in->cols[c].name))
				continue;
			if ((x = agg_call(b, e->fn, e->pos, in->cols[c].type, e->args[0],
			                  kqlb_colref(b, in, (int)c, a->pos))) == NULL ||
			    out_add(b, o, x, in->cols[c].name) != 0)
				return -1;
		}
		const char *name = a->kind == KQL_E_STAR ? NULL : kqlb_expr_name(b, a, in);
		if (a->kind != KQL_E_STAR &&
		    ((x = agg_call(b, e->fn, e->pos, a->type, e->args[0], a)) == NULL ||
		     out_add(b, o, x, name != NULL ? name : kqlb_printf_name(b, "%s_", first)) !=
		         0))
			return -1;
	}
	return 0;
}

/* An aggregate's default name: count_, countif_, sum_X, dcount_X, set_X;
 * take_any(X) keeps X's name (only the deprecated any(X) says any_X).  X
 * is the argument's own name (a column, or a function named by its
 * first argument): of an operator's result none, sum(x + 1) is sum_
 * (measured on Kusto; it was sum_x). */
static const char *agg_name(struct kqlb *b, const struct kql_expr *e, const struct kql_node *call,
                            const struct kql_plan *in)
{
	const struct kql_func *f = kql_func_get(e->fn);
	const char *col =
	    e->nargs > 0 && f->id != KQL_F_COUNTIF ? kqlb_expr_name(b, e->args[0], in) : NULL;

	if (f->id == KQL_F_TAKE_ANY && col != NULL && strcmp(call->name, "take_any") == 0)
		return col;
	if (f->id == KQL_F_PERCENTILE && e->nargs == 2)
		return percentile_name(b, e->args[1], col);
	return kqlb_printf_name(b, "%s_%s", f->prefix, col != NULL ? col : "");
}

/* The default name of an expression over aggregates: a function's
 * result, through its first arguments, down to an aggregate named as
 * that aggregate (measured on Kusto: round(sum(y), 2) is sum_y,
 * tostring(count()) count_); else, as an operator's (sum(x) + 1, -sum(x)),
 * NULL: ColumnN. */
static const char *wrapped_name(struct kqlb *b, const struct kql_expr *e, const struct kql_node *v,
                                const struct kql_plan *in)
{
	while (e->kind == KQL_E_CALL && !is_aggregate(e) && e->nargs > 0 && v->kind == KQL_N_CALL &&
	       v->kids != NULL) {
		e = e->args[0];
		v = v->kids;
	}
	if (!is_aggregate(e) || v->kind != KQL_N_CALL || e->fn == KQL_F_PERCENTILES ||
	    e->fn == KQL_F_ARG_MAX || e->fn == KQL_F_ARG_MIN)
		return NULL;
	return agg_name(b, e, v, in);
}

/* A column reference to output c of the aggregate being built. */
static struct kql_expr *out_ref(struct kqlb *b, const struct outlist *o, size_t c,
                                struct kql_pos pos)
{
	struct kql_expr *e = kqlb_alloc(b, sizeof(*e));

	if (e != NULL) {
		e->kind = KQL_E_COL;
		e->type = o->c[c].type;
		e->col = (int)c;
		e->pos = pos;
	}
	return e;
}

/* sum(a) / count(): each aggregate inside becomes a hidden output of the
 * aggregate, and its place in the expression a reference to that output;
 * columns outside any aggregate are refused. */
static int lift_aggregates(struct kqlb *b, struct outlist *o, struct kql_expr **slot)
{
	struct kql_expr *e = *slot;

	if (is_aggregate(e)) {
		const char *hidden = kqlb_printf_name(b, "__agg%zu", o->n);
		if (hidden == NULL || out_add(b, o, e, hidden) != 0)
			return -1;
		return (*slot = out_ref(b, o, o->n - 1, e->pos)) != NULL ? 0 : -1;
	}
	if (e->kind == KQL_E_COL)
		return kqlb_fail(b, KQL_E_UNSUPPORTED, e->pos,
		                 "'summarize' operator: a column outside an aggregate"),
		       -1;
	for (size_t i = 0; i < e->nargs; i++)
		if (lift_aggregates(b, o, &e->args[i]) != 0)
			return -1;
	return 0;
}

/* One item of the aggregate list: its outputs go to o (what the aggregate
 * computes) and f (what summarize returns: o's columns, or expressions
 * over them, named). */
static int add_aggregate(struct kqlb *b, struct outlist *o, struct outlist *f,
                         const struct kql_node *k, const struct kql_plan *in,
                         const struct kqlb_binding *env, size_t nkeys, int *counter)
{
	struct kqlb_scope s = {in, env, "summarize", true};
	const struct kql_node *v = k->kind == KQL_N_ASSIGN ? k->kids : k;
	struct kql_expr *e = kqlb_expr(b, &s, v);
	size_t first = o->n;
	int r;

	if (e == NULL)
		return -1;
	if (!is_aggregate(e)) {
		const char *name = k->kind == KQL_N_ASSIGN ? k->name : wrapped_name(b, e, v, in);
		if (name == NULL && !b->failed)
			name = kqlb_printf_name(b, "Column%d", ++*counter);
		if (name == NULL || lift_aggregates(b, o, &e) != 0)
			return -1;
		if (o->n == first)
			return kqlb_fail(b, KQL_E_TYPE, v->pos,
			                 "'summarize' operator: an aggregate expected"),
			       -1;
		return out_add(b, f, e, name);
	}
	/* An unnamed percentile(x, 95) is percentile_x_95, as percentiles names it. */
	if (e->fn == KQL_F_PERCENTILES || (e->fn == KQL_F_PERCENTILE && k->kind != KQL_N_ASSIGN))
		r = add_percentiles(b, o, e, in);
	else if (e->fn == KQL_F_ARG_MAX || e->fn == KQL_F_ARG_MIN)
		r = add_arg_extreme(b, o, k, e, in, nkeys);
	else
		r = out_add(b, o, e, k->kind == KQL_N_ASSIGN ? k->name : agg_name(b, e, v, in));
	for (size_t c = first; r == 0 && c < o->n; c++) {
		struct kql_expr *ref = out_ref(b, o, c, e->pos);
		r = ref != NULL ? out_add(b, f, ref, o->c[c].name) : -1;
		if (r == 0)
			f->c[f->n - 1].nan_if_null = o->c[c].nan_if_null;
	}
	return r;
}

static struct kql_plan *aggregate_plan(struct kqlb *b, struct kql_plan *in, struct kql_pos pos,
                                       struct outlist *o, size_t nkeys)
{
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_AGGREGATE, pos, 0, in);

	if (p == NULL)
		return NULL;
	p->cols = o->c;
	p->ncols = p->nexprs = o->n;
	p->exprs = o->e;
	p->nkeys = nkeys;
	return p;
}

/* The aggregate, and over it a projection when an item is an expression
 * over aggregates (f differs from o). */
static struct kql_plan *summarize_plan(struct kqlb *b, struct kql_plan *in, struct kql_pos pos,
                                       struct outlist *o, struct outlist *f, size_t nkeys)
{
	struct kql_plan *agg = aggregate_plan(b, in, pos, o, nkeys), *p;
	bool same = f->n == o->n;

	for (size_t c = 0; same && c < f->n; c++)
		same = f->e[c]->kind == KQL_E_COL && f->e[c]->col == (int)c &&
		       strcmp(f->c[c].name, o->c[c].name) == 0;
	if (agg == NULL || same || (p = kqlb_new_plan(b, KQL_P_PROJECT, pos, 0, agg)) == NULL)
		return agg;
	p->cols = f->c;
	p->ncols = p->nexprs = f->n;
	p->exprs = f->e;
	return p;
}

static struct kql_plan *bind_summarize(struct kqlb *b, const struct kqlb_binding *env,
                                       struct kql_plan *in, const struct kql_node *n)
{
	struct kqlb_scope s = scope(in, env, "summarize");
	const struct kql_node *aggs = n->kids, *keys = n->kids->next;
	struct outlist o = {0}, f = {0};
	int counter = 0;

	for (const struct kql_node *k = keys->kids; k != NULL; k = k->next) {
		struct kql_expr *e = kqlb_expr(b, &s, k->kind == KQL_N_ASSIGN ? k->kids : k), *ref;
		const char *name = e != NULL ? key_name(b, k, e, in, &counter) : NULL;
		if (name == NULL || out_add(b, &o, e, name) != 0 ||
		    (ref = out_ref(b, &o, o.n - 1, e->pos)) == NULL ||
		    out_add(b, &f, ref, o.c[o.n - 1].name) != 0)
			return NULL;
	}
	for (const struct kql_node *k = aggs->kids; k != NULL; k = k->next)
		if (add_aggregate(b, &o, &f, k, in, env, keys->nkids, &counter) != 0)
			return NULL;
	return summarize_plan(b, in, n->pos, &o, &f, keys->nkids);
}

static struct kql_plan *bind_count(struct kqlb *b, const struct kqlb_binding *env,
                                   struct kql_plan *in, const struct kql_node *n)
{
	struct outlist o = {0};
	struct kql_expr *e = agg_call(b, KQL_F_COUNT, n->pos, PROTO_T_LONG, NULL, NULL);

	if (e == NULL)
		return NULL;
	e->nargs = 0;
	if (out_add(b, &o, e, "Count") != 0)
		return NULL;
	return aggregate_plan(b, in, n->pos, &o, 0);
}

/* ---- take, top, sort ---- */

static struct kql_expr *bind_limit(struct kqlb *b, const struct kqlb_binding *env,
                                   const struct kql_node *n, const char *op)
{
	struct kqlb_scope s = scope(NULL, env, op);
	struct kql_expr *e = kqlb_expr(b, &s, n);

	if (e != NULL && ((e->type != PROTO_T_LONG && e->type != PROTO_T_INT) || !kqlb_constant(e)))
		return kqlb_fail(b, KQL_E_TYPE, n->pos,
		                 "'%s' operator: the count must be a constant "
		                 "int or long, not '%s'",
		                 op, proto_coltype_name(e->type));
	return e;
}

static struct kql_plan *bind_take(struct kqlb *b, const struct kqlb_binding *env,
                                  struct kql_plan *in, const struct kql_node *n)
{
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_TAKE, n->pos, in->ncols, in);

	if (p == NULL || (p->limit = bind_limit(b, env, n->kids, "take")) == NULL)
		return NULL;
	copy_cols(p, in);
	return p;
}

/* Sort keys from KQL_N_SORTKEY nodes: desc by default; nulls last when
 * descending and first when ascending unless written. */
static int bind_sortkeys(struct kqlb *b, const struct kqlb_binding *env, struct kql_plan *p,
                         const struct kql_node *k, size_t n, const char *op)
{
	struct kqlb_scope s = scope(p->in[0], env, op);

	if ((p->keys = kqlb_alloc(b, n * sizeof(*p->keys))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++, k = k->next) {
		struct kql_sortkey *key = &p->keys[i];
		if ((key->e = kqlb_expr(b, &s, k->kids)) == NULL)
			return -1;
		/* a decimal's text sorts as text: decimal(10) before decimal(9) */
		if (key->e->type == PROTO_T_DECIMAL)
			return kqlb_fail(
			           b, KQL_E_UNSUPPORTED, k->pos,
			           "'%s' operator: sorting by a decimal value is not supported "
			           "(convert it with todouble())",
			           op),
			       -1;
		key->asc = (k->op & KQL_SORT_ASC) != 0;
		key->nulls_first =
		    k->op & KQL_SORT_NULLS_SET ? (k->op & KQL_SORT_NULLS_FIRST) != 0 : key->asc;
	}
	p->nsortkeys = n;
	return 0;
}

static struct kql_plan *bind_sort(struct kqlb *b, const struct kqlb_binding *env,
                                  struct kql_plan *in, const struct kql_node *n)
{
	bool top = n->kind == KQL_N_TOP;
	struct kql_plan *p = kqlb_new_plan(b, top ? KQL_P_TOP : KQL_P_SORT, n->pos, in->ncols, in);
	const struct kql_node *first = top ? n->kids->next : n->kids;

	if (p == NULL || (top && (p->limit = bind_limit(b, env, n->kids, "top")) == NULL) ||
	    bind_sortkeys(b, env, p, first, n->nkids - top, top ? "top" : "sort") != 0)
		return NULL;
	copy_cols(p, in);
	return p;
}

static struct kql_plan *bind_distinct(struct kqlb *b, const struct kqlb_binding *env,
                                      struct kql_plan *in, const struct kql_node *n)
{
	struct kql_plan *p;

	if (n->kids->kind != KQL_N_STAR && (in = bind_project(b, env, in, n)) == NULL)
		return NULL;
	if ((p = kqlb_new_plan(b, KQL_P_DISTINCT, n->pos, in->ncols, in)) == NULL)
		return NULL;
	copy_cols(p, in);
	return p;
}

/* ---- union ---- */

/* Kusto's outer union: a name seen with two types becomes name_type for
 * each type (x_long, x_string); inner keeps the columns all inputs have. */
static bool name_has_two_types(struct kql_plan **in, size_t nin, const char *name)
{
	int seen = -1;

	for (size_t i = 0; i < nin; i++) {
		int c = kqlb_column(in[i], name);
		if (c >= 0 && seen >= 0 && (int)in[i]->cols[c].type != seen)
			return true;
		if (c >= 0)
			seen = (int)in[i]->cols[c].type;
	}
	return false;
}

static bool in_all(struct kql_plan **in, size_t nin, const struct kql_col *col)
{
	for (size_t i = 0; i < nin; i++) {
		int c = kqlb_column(in[i], col->name);
		if (c < 0 || in[i]->cols[c].type != col->type)
			return false;
	}
	return true;
}

static int union_columns(struct kqlb *b, struct kql_plan *p, struct kql_plan **in, size_t nin,
                         bool inner)
{
	for (size_t i = 0; i < nin; i++) {
		for (size_t c = 0; c < in[i]->ncols; c++) {
			const struct kql_col *col = &in[i]->cols[c];
			const char *name = col->name;
			if (inner && !in_all(in, nin, col))
				continue;
			if (!inner && name_has_two_types(in, nin, name) &&
			    (name = kqlb_printf_name(b, "%s_%s", name,
			                             proto_coltype_name(col->type))) == NULL)
				return -1;
			if (kqlb_column(p, name) >= 0)
				continue;
			p->cols[p->ncols].name = name;
			p->cols[p->ncols++].type = col->type;
		}
	}
	return 0;
}

/* maps[i][c]: input i's column for output column c, or -1. */
static int union_maps(struct kqlb *b, struct kql_plan *p, struct kql_plan **in, size_t nin,
                      size_t first)
{
	if ((p->maps = kqlb_alloc(b, nin * sizeof(*p->maps))) == NULL)
		return -1;
	for (size_t i = 0; i < nin; i++) {
		if ((p->maps[i] = kqlb_alloc(b, (p->ncols + 1) * sizeof(int))) == NULL)
			return -1;
		for (size_t c = 0; c < p->ncols; c++) {
			int k = c < first ? -1 : kqlb_column(in[i], p->cols[c].name);
			if (k < 0 && c >= first) {
				/* A name_type column: the input's column of that name and type. */
				for (size_t j = 0; j < in[i]->ncols; j++)
					if (in[i]->cols[j].type == p->cols[c].type &&
					    strcmp(kqlb_printf_name(
					               b, "%s_%s", in[i]->cols[j].name,
					               proto_coltype_name(in[i]->cols[j].type)),
					           p->cols[c].name) == 0)
						k = (int)j;
			}
			p->maps[i][c] = k;
		}
	}
	return 0;
}

struct kql_plan *kqlb_union(struct kqlb *b, const struct kql_node *n, struct kql_plan **in,
                            const char **sources, size_t nin)
{
	size_t room = 1;
	struct kql_plan *p;

	for (size_t i = 0; i < nin; i++)
		room += in[i]->ncols;
	if ((p = kqlb_new_plan(b, KQL_P_UNION, n->pos, room, NULL)) == NULL)
		return NULL;
	p->in = in;
	p->nin = nin;
	p->ncols = 0;
	if (n->str != NULL) {
		p->cols[0].name = n->str;
		p->cols[0].type = PROTO_T_STRING;
		p->ncols = 1;
		p->sources = sources;
	}
	if (union_columns(b, p, in, nin, n->op == KQL_UNION_INNER) != 0 ||
	    union_maps(b, p, in, nin, n->str != NULL) != 0)
		return NULL;
	/* A table has columns: an inner union of inputs sharing none has no result. */
	if (p->ncols == 0)
		return kqlb_fail(b, KQL_E_TYPE, n->pos,
		                 "'union' operator: kind=inner leaves no column common to all its "
		                 "inputs (by name and type)");
	return p;
}

/* ---- join and lookup ---- */

static int join_key(struct kqlb *b, const struct kql_plan *side, const struct kql_node *name,
                    const char *which)
{
	int c = kqlb_column(side, name->name);

	if (c < 0)
		(void)kqlb_fail(
		    b, KQL_E_NAME, name->pos,
		    "'join' operator: Failed to resolve column named '%s' on the %s side",
		    name->name, which);
	return c;
}

static int join_keys(struct kqlb *b, struct kql_plan *p, const struct kql_node *n)
{
	const struct kql_plan *l = p->in[0], *r = p->in[1];
	size_t nk = n->nkids - 1, i = 0;

	if ((p->lkeys = kqlb_alloc(b, nk * sizeof(int))) == NULL ||
	    (p->rkeys = kqlb_alloc(b, nk * sizeof(int))) == NULL)
		return -1;
	for (const struct kql_node *k = n->kids->next; k != NULL; k = k->next, i++) {
		const struct kql_node *ln = k->kind == KQL_N_JOINEQ ? k->kids : k;
		const struct kql_node *rn = k->kind == KQL_N_JOINEQ ? k->kids->next : k;
		if ((p->lkeys[i] = join_key(b, l, ln, "left")) < 0 ||
		    (p->rkeys[i] = join_key(b, r, rn, "right")) < 0)
			return -1;
		if (!kqlb_comparable(l->cols[p->lkeys[i]].type, r->cols[p->rkeys[i]].type))
			return kqlb_fail(
			           b, KQL_E_TYPE, k->pos,
			           "'join' operator: keys '%s' (%s) and '%s' (%s) differ in type",
			           ln->name, proto_coltype_name(l->cols[p->lkeys[i]].type),
			           rn->name, proto_coltype_name(r->cols[p->rkeys[i]].type)),
			       -1;
	}
	p->njoinkeys = nk;
	return 0;
}

static bool is_rkey(const struct kql_plan *p, size_t c)
{
	for (size_t i = 0; i < p->njoinkeys; i++)
		if (p->rkeys[i] == (int)c)
			return true;
	return false;
}

static int join_add(struct kqlb *b, struct kql_plan *p, int side, size_t c)
{
	const struct kql_col *col = &p->in[side]->cols[c];
	const char *name = kqlb_unique_name(b, p->cols, p->ncols, col->name);

	if (name == NULL)
		return -1;
	p->out_side[p->ncols] = side;
	p->out_col[p->ncols] = (int)c;
	p->cols[p->ncols].name = name;
	p->cols[p->ncols++].type = col->type;
	return 0;
}

/* Output columns by kind: semi and anti joins keep one side; the others
 * both, the right side's repeated names with 1 appended (lookup drops the
 * right side's keys, which equal the left's). */
static int join_columns(struct kqlb *b, struct kql_plan *p, bool lookup)
{
	enum kql_join_kind k = p->join;
	bool left = k != KQL_JOIN_RIGHTSEMI && k != KQL_JOIN_RIGHTANTI;
	bool right = k != KQL_JOIN_LEFTSEMI && k != KQL_JOIN_LEFTANTI;
	size_t room = p->in[0]->ncols + p->in[1]->ncols + 1;

	if ((p->cols = kqlb_alloc(b, room * sizeof(*p->cols))) == NULL ||
	    (p->out_side = kqlb_alloc(b, room * sizeof(int))) == NULL ||
	    (p->out_col = kqlb_alloc(b, room * sizeof(int))) == NULL)
		return -1;
	for (size_t c = 0; left && c < p->in[0]->ncols; c++)
		if (join_add(b, p, 0, c) != 0)
			return -1;
	for (size_t c = 0; right && c < p->in[1]->ncols; c++)
		if ((!lookup || !is_rkey(p, c)) && join_add(b, p, 1, c) != 0)
			return -1;
	return 0;
}

static struct kql_plan *bind_join(struct kqlb *b, const struct kqlb_binding *env,
                                  struct kql_plan *in, const struct kql_node *n)
{
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_JOIN, n->pos, 0, NULL);

	if (p == NULL || (p->in = kqlb_alloc(b, 2 * sizeof(*p->in))) == NULL ||
	    (p->in[1] = kqlb_tabular(b, env, n->kids)) == NULL)
		return NULL;
	p->in[0] = in;
	p->nin = 2;
	p->join = (enum kql_join_kind)n->op;
	if (join_keys(b, p, n) != 0 || join_columns(b, p, n->kind == KQL_N_LOOKUP) != 0)
		return NULL;
	return p;
}

/* ---- mv-expand, as, render ---- */

static bool mv_plain(const struct kql_node *k)
{
	return k->name == NULL && k->kids->kind == KQL_N_NAME && k->kids->op == 0;
}

/* mv-expand Name = expr, or an expression without a name: the expressions
 * are first extended into columns (a new name appended, an existing one
 * replaced, as the documentation says), which mv-expand then expands.
 * names[i] is the column of item i. */
static struct kql_plan *mv_extend(struct kqlb *b, const struct kqlb_binding *env,
                                  struct kql_plan *in, const struct kql_node *n, const char **names)
{
	struct kqlb_scope s = scope(in, env, "mv-expand");
	struct kql_plan *p;
	int counter = 0, c;
	size_t i = 0;
	bool plain = true;

	for (const struct kql_node *k = n->kids; k != NULL; k = k->next, i++)
		if ((plain &= mv_plain(k)))
			names[i] = k->kids->name;
	if (plain)
		return in; /* columns only: no extend before */
	p = identity(b, in, n->pos, n->nkids);
	i = 0;
	for (const struct kql_node *k = n->kids; p != NULL && k != NULL; k = k->next, i++) {
		struct kql_expr *e;
		if (mv_plain(k)) {
			names[i] = k->kids->name;
			continue;
		}
		if ((e = kqlb_expr(b, &s, k->kids)) == NULL ||
		    (names[i] = k->name != NULL ? k->name : item_name(b, k, e, in, &counter)) ==
		        NULL)
			return NULL;
		if ((c = kqlb_column(p, names[i])) < 0)
			c = (int)p->ncols++;
		p->exprs[c] = e;
		p->cols[c].name = names[i];
		p->cols[c].type = e->type;
	}
	if (p != NULL)
		p->nexprs = p->ncols;
	return p;
}

static int mv_column(struct kqlb *b, struct kql_plan *p, const struct kql_node *k, const char *name,
                     size_t i)
{
	const struct kql_node *e = k->kids;
	int c;

	if ((c = kqlb_column(p, name)) < 0)
		return kqlb_fail(
		           b, KQL_E_NAME, e->pos,
		           "'mv-expand' operator: Failed to resolve scalar expression named '%s'",
		           name),
		       -1;
	if (p->cols[c].type != PROTO_T_DYNAMIC)
		return kqlb_fail(b, KQL_E_TYPE, e->pos,
		                 "'mv-expand' operator: '%s' is of type '%s', not dynamic", name,
		                 proto_coltype_name(p->cols[c].type)),
		       -1;
	p->expand[i] = c;
	if (k->op == 1)
		p->cols[c].type = k->type;
	return 0;
}

static struct kql_plan *bind_mvexpand(struct kqlb *b, const struct kqlb_binding *env,
                                      struct kql_plan *in, const struct kql_node *n)
{
	const char **names = kqlb_alloc(b, n->nkids * sizeof(*names));
	struct kql_plan *p;
	size_t i = 0;

	if (names == NULL || (in = mv_extend(b, env, in, n, names)) == NULL ||
	    (p = kqlb_new_plan(b, KQL_P_MVEXPAND, n->pos, in->ncols + 1, in)) == NULL ||
	    (p->expand = kqlb_alloc(b, n->nkids * sizeof(int))) == NULL)
		return NULL;
	copy_cols(p, in);
	p->ncols = in->ncols;
	for (const struct kql_node *k = n->kids; k != NULL; k = k->next, i++)
		if (mv_column(b, p, k, names[i], i) != 0)
			return NULL;
	p->nexpand = n->nkids;
	p->bag_as_array = n->op == 1;
	if (n->str != NULL) {
		p->itemindex = (int)p->ncols;
		p->cols[p->ncols].name = kqlb_unique_name(b, p->cols, p->ncols, n->str);
		p->cols[p->ncols++].type = PROTO_T_LONG;
	}
	if (n->i >= 0 && (p->limit = kqlb_alloc(b, sizeof(*p->limit))) != NULL) {
		p->limit->kind = KQL_E_LIT;
		p->limit->type = PROTO_T_LONG;
		p->limit->i = n->i;
	}
	return n->i >= 0 && p->limit == NULL ? NULL : p;
}

/* as names its input: union withsource= reports it, and the operators
 * after it may name it (kqlb_tabular binds the name). */
static struct kql_plan *bind_as(struct kqlb *b, const struct kqlb_binding *env, struct kql_plan *in,
                                const struct kql_node *n)
{
	in->name = n->name;
	return in;
}

/* render changes no data: Kusto reports the visualization in the query's
 * properties, so the binder only records it. */
static struct kql_plan *bind_render(struct kqlb *b, const struct kqlb_binding *env,
                                    struct kql_plan *in, const struct kql_node *n)
{
	b->render = n->name;
	return in;
}

/* getschema: a row per column of its input (ColumnName, ColumnOrdinal,
 * DataType, ColumnType), the input itself never run. */
static struct kql_plan *bind_getschema(struct kqlb *b, const struct kqlb_binding *env,
                                       struct kql_plan *in, const struct kql_node *n)
{
	static const struct kql_col cols[] = {{"ColumnName", PROTO_T_STRING, false},
	                                      {"ColumnOrdinal", PROTO_T_INT, false},
	                                      {"DataType", PROTO_T_STRING, false},
	                                      {"ColumnType", PROTO_T_STRING, false}};
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_VALUES, n->pos, 4, NULL);
	struct kql_expr **e;

	if (p == NULL || (p->exprs = e = kqlb_alloc(b, 4 * in->ncols * sizeof(*e))) == NULL)
		return NULL;
	memcpy(p->cols, cols, sizeof(cols));
	for (size_t c = 0; c < in->ncols; c++, e += 4) {
		e[0] = kqlb_lit_string(b, n->pos, in->cols[c].name);
		e[1] = kqlb_lit_int(b, n->pos, PROTO_T_INT, (int64_t)c);
		e[2] = kqlb_lit_string(b, n->pos, proto_coltype_clr_name(in->cols[c].type));
		e[3] = kqlb_lit_string(b, n->pos, proto_coltype_name(in->cols[c].type));
		if (!e[0] || !e[1] || !e[2] || !e[3])
			return NULL;
	}
	p->nexprs = 4 * in->ncols;
	p->nrows = in->ncols;
	return p;
}

static const struct {
	enum kql_node_kind kind;
	bind_fn *bind;
} binders[] = {
    {KQL_N_WHERE, bind_where},
    {KQL_N_PROJECT, bind_project},
    {KQL_N_PROJECT_AWAY, bind_away},
    {KQL_N_PROJECT_RENAME, bind_rename},
    {KQL_N_PROJECT_KEEP, bind_keep},
    {KQL_N_PROJECT_REORDER, bind_reorder},
    {KQL_N_EXTEND, bind_extend},
    {KQL_N_SUMMARIZE, bind_summarize},
    {KQL_N_COUNT, bind_count},
    {KQL_N_TAKE, bind_take},
    {KQL_N_TOP, bind_sort},
    {KQL_N_SORT, bind_sort},
    {KQL_N_DISTINCT, bind_distinct},
    {KQL_N_JOIN, bind_join},
    {KQL_N_LOOKUP, bind_join},
    {KQL_N_MVEXPAND, bind_mvexpand},
    {KQL_N_AS, bind_as},
    {KQL_N_RENDER, bind_render},
    {KQL_N_GETSCHEMA, bind_getschema},
};

struct kql_plan *kqlb_operator(struct kqlb *b, const struct kqlb_binding *env, struct kql_plan *in,
                               const struct kql_node *op)
{
	for (size_t i = 0; i < sizeof(binders) / sizeof(binders[0]); i++)
		if (binders[i].kind == op->kind)
			return binders[i].bind(b, env, in, op);
	return kqlb_fail(b, KQL_E_UNSUPPORTED, op->pos, "the '%s' operator is not supported",
	                 kql_ast_kind_name(op->kind));
}

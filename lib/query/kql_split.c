/*
 * kql_split — a summarize split into per-partition partial states and
 * their merge (kql_split.h).  Each aggregate of the summarize gives one or
 * two partial columns and one merge expression over them; the keys pass
 * through as the partial plan's first columns and are grouped on again.
 */
#include "query/kql_split.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The partial plan and final summarize being built. */
struct builder {
	struct kql_arena *a;
	const struct kql_plan *agg;
	struct kql_plan *partial, *merge;
	size_t nstates; /* partial columns so far (keys included) */
	/* the merge's reference to the partition's index (its column is
	 * numbered once the states are all added), the state count() (shared
	 * by the arg_max merges), and the states shared by aggregates of one
	 * key (shared_state) */
	struct kql_expr *part, *rows;
	const struct kql_expr **argkey; /* per aggregate: a key expression */
	enum kql_fn *argfn;             /* arg_max, arg_min, $pstate */
	struct kql_expr **argstate;     /* its state */
};

static struct kql_expr *new_expr(struct kql_arena *a, enum kql_expr_kind kind,
                                 enum proto_coltype type, struct kql_pos pos)
{
	struct kql_expr *e = kql_arena_alloc(a, sizeof(*e));

	if (e) {
		e->kind = kind;
		e->type = type;
		e->pos = pos;
	}
	return e;
}

/* An aggregate call fn(args[0], args[1]) (nargs of them). */
static struct kql_expr *new_call(struct kql_arena *a, enum kql_fn fn, enum proto_coltype type,
                                 struct kql_pos pos, struct kql_expr *const *args, size_t nargs)
{
	struct kql_expr *e = new_expr(a, KQL_E_CALL, type, pos);

	if (!e || !(e->args = kql_arena_alloc(a, (nargs + 1) * sizeof(*e->args))))
		return NULL;
	e->fn = fn;
	e->nargs = nargs;
	memcpy(e->args, args, nargs * sizeof(*args));
	return e;
}

/* Appends partial state e (its type the column's) to the partial plan;
 * returns a reference to its column for the merge, NULL on ENOMEM. */
static struct kql_expr *add_state(struct builder *b, struct kql_expr *e)
{
	struct kql_plan *p = b->partial;
	size_t i = b->nstates++;
	char name[24];
	struct kql_expr *col;

	if (!e || !(col = new_expr(b->a, KQL_E_COL, e->type, e->pos)))
		return NULL;
	(void)snprintf(name, sizeof(name), "p%zu", i);
	p->exprs[i] = e;
	p->cols[i] = (struct kql_col){kql_arena_strndup(b->a, name, strlen(name)), e->type, false};
	col->col = (int)i;
	return p->cols[i].name ? col : NULL;
}

/* The merge of a state kept by the same aggregate (count → sum of counts,
 * min → min of mins ...). */
static struct kql_expr *merge_same(struct builder *b, const struct kql_expr *e, enum kql_fn merge)
{
	struct kql_expr *st = add_state(b, (struct kql_expr *)e);

	return st ? new_call(b->a, merge, e->type, e->pos, &st, 1) : NULL;
}

/* avg(x) / avgif(x, pred) of reals: sum and count of the non-null values.
 * Of any other type one state, their exact sum and count as text (of
 * datetimes kql_tavg's, of the others kql_iavg's): the whole plan's mean
 * of the exact sum, whatever the partitions' sums. */
static struct kql_expr *merge_avg(struct builder *b, const struct kql_expr *e)
{
	bool cond = e->fn == KQL_F_AVGIF;
	struct kql_expr *t;

	if (e->args[0]->type != PROTO_T_REAL) {
		t = add_state(
		    b, new_call(b->a, KQL_F_P_TSUM, PROTO_T_STRING, e->pos, e->args, cond ? 2 : 1));
		return t ? new_call(b->a,
		                    e->args[0]->type == PROTO_T_DATETIME ? KQL_F_M_TAVG
		                                                         : KQL_F_M_IAVG,
		                    e->type, e->pos, &t, 1)
		         : NULL;
	}
	struct kql_expr *v[2] = {
	    add_state(b, new_call(b->a, cond ? KQL_F_SUMIF : KQL_F_SUM, PROTO_T_REAL, e->pos,
	                          e->args, cond ? 2 : 1)),
	    add_state(b,
	              new_call(b->a, KQL_F_P_COUNTNN, PROTO_T_LONG, e->pos, e->args, cond ? 2 : 1)),
	};

	return v[0] && v[1] ? new_call(b->a, KQL_F_M_AVG, e->type, e->pos, v, 2) : NULL;
}

/* dcount(x [, accuracy]) / dcountif(x, pred [, accuracy]): each
 * partition's HyperLogLog state (kql_hll.h; $dstate takes dcount's or
 * dcountif's arguments), merged exactly. */
static struct kql_expr *merge_dcount(struct builder *b, const struct kql_expr *e)
{
	struct kql_expr *st =
	    add_state(b, new_call(b->a, KQL_F_P_DSET, PROTO_T_STRING, e->pos, e->args, e->nargs));

	return st ? new_call(b->a, KQL_F_M_DCOUNT, e->type, e->pos, &st, 1) : NULL;
}

/* The merge's reference to the partition's index of a partial row. */
static struct kql_expr *part_ref(struct builder *b, struct kql_pos pos)
{
	if (!b->part)
		b->part = new_expr(b->a, KQL_E_COL, PROTO_T_LONG, pos);
	return b->part;
}

/* make_list(x [, max]) / make_set: each partition's list (its first max
 * elements), joined in the partitions' order, then cut to max.  A set's
 * element new to the whole is new to its partition and comes after fewer
 * than max others there, so each partition's first max hold all of the
 * whole's first max. */
static struct kql_expr *merge_collect(struct builder *b, const struct kql_expr *e)
{
	enum kql_fn fn = e->fn == KQL_F_MAKE_LIST              ? KQL_F_M_LIST
	                 : e->args[0]->type == PROTO_T_DYNAMIC ? KQL_F_M_SET_DYN
	                                                       : KQL_F_M_SET;
	struct kql_expr *v[3] = {part_ref(b, e->pos), add_state(b, (struct kql_expr *)e),
	                         e->nargs > 1 ? e->args[1] : NULL};

	return v[0] && v[1] ? new_call(b->a, fn, e->type, e->pos, v, e->nargs > 1 ? 3 : 2) : NULL;
}

/* Whether two aggregates' arguments are the same value: one expression
 * (percentiles(x, 50, 95) binds to percentile calls of one x) or one
 * column. */
static bool same_value(const struct kql_expr *a, const struct kql_expr *b)
{
	return a == b || (a->kind == KQL_E_COL && b->kind == KQL_E_COL && a->col == b->col &&
	                  a->side == b->side);
}

/* The state fn keeps of key, shared by the aggregates of the same key
 * (arg_max's key, a percentile's values): its slot, NULL while new. */
static struct kql_expr **shared_state(struct builder *b, const struct kql_expr *key, enum kql_fn fn)
{
	size_t i = 0;

	for (; b->argkey[i] && (!same_value(b->argkey[i], key) || b->argfn[i] != fn); i++)
		;
	b->argkey[i] = key;
	b->argfn[i] = fn;
	return &b->argstate[i];
}

/* arg_max(key, x) / arg_min: each partition's first row of its best key
 * (x and the key there), and its rows (none: an empty partition's row of a
 * summarize without keys); merged by kql_argmerge: the best key, the
 * earliest partition among equal keys, and the earliest partition's x
 * where all keys are null, as kql_argmax answers over the whole scan. */
static struct kql_expr *merge_arg(struct builder *b, const struct kql_expr *e)
{
	struct kql_expr *k[2] = {e->args[0], e->args[0]}, *v[4];
	struct kql_expr **key = shared_state(b, e->args[0], e->fn);

	if (!*key)
		*key = add_state(b, new_call(b->a, e->fn, e->args[0]->type, e->pos, k, 2));
	if (!b->rows)
		b->rows = add_state(b, new_call(b->a, KQL_F_COUNT, PROTO_T_LONG, e->pos, k, 0));
	v[0] = part_ref(b, e->pos);
	v[1] = b->rows;
	v[2] = *key;
	/* arg_max(key, ...)'s first column, the key itself, is its state */
	v[3] = e->args[1] == e->args[0] ? v[2] : add_state(b, (struct kql_expr *)e);
	if (!v[0] || !v[1] || !v[2] || !v[3])
		return NULL;
	return new_call(b->a, e->fn == KQL_F_ARG_MAX ? KQL_F_M_ARGMAX : KQL_F_M_ARGMIN, e->type,
	                e->pos, v, 4);
}

/* percentile(x, p): each partition's non-null values of x ($pstate, one
 * per x whatever the levels asked of it), merged into all the values,
 * whose nearest rank is the whole plan's whatever their order. */
static struct kql_expr *merge_pct(struct builder *b, const struct kql_expr *e)
{
	struct kql_expr **st = shared_state(b, e->args[0], KQL_F_P_PSET);
	struct kql_expr *v[2] = {*st, e->args[1]};

	if (!v[0])
		v[0] = *st =
		    add_state(b, new_call(b->a, KQL_F_P_PSET, PROTO_T_STRING, e->pos, e->args, 1));
	return v[0] ? new_call(b->a, KQL_F_M_PCT, e->type, e->pos, v, 2) : NULL;
}

/* percentile(x, p) of a number, datetime or timespan (kql_percentile
 * keeps each value as a double: any other type is left to the whole
 * plan), at a literal level (the merge repeats it). */
static bool pct_splits(const struct kql_expr *e)
{
	switch (e->args[0]->type) {
	case PROTO_T_INT:
	case PROTO_T_LONG:
	case PROTO_T_REAL:
	case PROTO_T_DATETIME:
	case PROTO_T_TIMESPAN:
		return e->args[1]->kind == KQL_E_LIT;
	default:
		return false;
	}
}

/* Whether e is an aggregate this module can split. */
static bool decomposable(const struct kql_expr *e)
{
	if (e->kind != KQL_E_CALL)
		return false;
	switch (e->fn) {
	case KQL_F_COUNT:
	case KQL_F_COUNTIF:
	case KQL_F_TAKE_ANY:
	case KQL_F_DCOUNT:
	case KQL_F_DCOUNTIF:
		return true;
	case KQL_F_SUM:
	case KQL_F_SUMIF:
	case KQL_F_MIN:
	case KQL_F_MAX:
	case KQL_F_AVG:
	case KQL_F_AVGIF:
	case KQL_F_ARG_MAX:
	case KQL_F_ARG_MIN:
		/* not of a dynamic: its partial state would pass through
		 * $partials as another type than the whole plan sums or
		 * compares (the whole's sum of no number is 0, the split's 0.0) */
		return e->nargs == 0 || e->args[0]->type != PROTO_T_DYNAMIC;
	case KQL_F_MAKE_LIST:
	case KQL_F_MAKE_SET:
		/* the merge repeats the bound, which reads no column */
		return e->nargs < 2 || e->args[1]->kind == KQL_E_LIT;
	case KQL_F_PERCENTILE:
		return pct_splits(e);
	default:
		return false;
	}
}

/* The merge expression of aggregate e, its states added. */
static struct kql_expr *merge_of(struct builder *b, const struct kql_expr *e)
{
	switch (e->fn) {
	case KQL_F_COUNT:
	case KQL_F_COUNTIF:
	case KQL_F_SUM:
	case KQL_F_SUMIF:
		return merge_same(b, e, KQL_F_SUM);
	case KQL_F_MIN:
	case KQL_F_MAX:
	case KQL_F_TAKE_ANY:
		return merge_same(b, e, e->fn);
	case KQL_F_AVG:
	case KQL_F_AVGIF:
		return merge_avg(b, e);
	case KQL_F_MAKE_LIST:
	case KQL_F_MAKE_SET:
		return merge_collect(b, e);
	case KQL_F_ARG_MAX:
	case KQL_F_ARG_MIN:
		return merge_arg(b, e);
	case KQL_F_PERCENTILE:
		return merge_pct(b, e);
	default:
		return merge_dcount(b, e);
	}
}

/* Whether join j gives, for each left row, rows that depend on that row
 * and on the right side as a whole only: then each partition of the left
 * side joined with the whole right side gives its share of the rows.  Not
 * innerunique (one left row per key across all partitions), nor the
 * right* and fullouter kinds (a right row matched in no partition). */
static bool join_splits(const struct kql_plan *j)
{
	switch (j->join) {
	case KQL_JOIN_INNER:
	case KQL_JOIN_LEFTOUTER:
	case KQL_JOIN_LEFTSEMI:
	case KQL_JOIN_LEFTANTI:
		return true;
	default:
		return false;
	}
}

/* How many scans under p read a stored table named like scan's (of any
 * database). */
static size_t reads_table(const struct kql_plan *p, const struct kql_plan *scan)
{
	size_t n = 0;

	if (p->kind == KQL_P_SCAN)
		return strcmp(p->table, scan->table) == 0;
	for (size_t i = 0; i < p->nin; i++)
		n += reads_table(p->in[i], scan);
	return n;
}

/* The stored tables a split partitions, in the order the whole plan reads
 * their rows. */
struct scans {
	const struct kql_plan *v[KQL_SPLIT_MAX_SCANS];
	size_t n;
};

/* Appends the stored tables under p through filters, projections, the
 * left sides of joins that split and every input of unions to s, in the
 * order the whole plan reads them (a union reads its inputs one after the
 * other); false when some path ends elsewhere. */
static bool collect_scans(const struct kql_plan *p, struct scans *s)
{
	while (p->kind == KQL_P_FILTER || p->kind == KQL_P_PROJECT ||
	       (p->kind == KQL_P_JOIN && join_splits(p)))
		p = p->in[0];
	if (p->kind == KQL_P_UNION) {
		for (size_t i = 0; i < p->nin; i++)
			if (!collect_scans(p->in[i], s))
				return false;
		return true;
	}
	if (p->kind != KQL_P_SCAN || s->n == KQL_SPLIT_MAX_SCANS)
		return false;
	s->v[s->n++] = p;
	return true;
}

/* Whether the stored tables under p can be partitioned (into s): each is
 * read once under p, as each partition's view of it is restricted (not a
 * join's right side reading it, nor a union of a table with itself). */
static bool scans_below(const struct kql_plan *p, struct scans *s)
{
	s->n = 0;
	if (!collect_scans(p, s))
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (reads_table(p, s->v[i]) != 1)
			return false;
	return true;
}

/* Whether p's input reads stored tables a split can partition. */
static bool splits_below(const struct kql_plan *p)
{
	struct scans s;

	return scans_below(p->in[0], &s);
}

/* ret's scans: those under p (scans_below holds), copied into a. */
static int set_scans(struct kql_arena *a, const struct kql_plan *p, struct kql_split *ret)
{
	struct scans s;
	const struct kql_plan **v;

	(void)scans_below(p, &s);
	if (!(v = kql_arena_alloc(a, s.n * sizeof(*v))))
		return -ENOMEM;
	memcpy(v, s.v, s.n * sizeof(*v));
	ret->scans = v;
	ret->nscans = s.n;
	ret->scan = v[0];
	return 0;
}

static bool splittable(const struct kql_plan *p)
{
	if (p->kind != KQL_P_AGGREGATE || !splits_below(p))
		return false;
	for (size_t i = p->nkeys; i < p->nexprs; i++)
		if (!decomposable(p->exprs[i]))
			return false;
	return true;
}

static struct kql_plan *new_plan(struct kql_arena *a, const struct kql_plan *like, size_t ncols,
                                 size_t nexprs)
{
	struct kql_plan *p = kql_arena_alloc(a, sizeof(*p));

	if (!p || !(p->cols = kql_arena_alloc(a, (ncols + 1) * sizeof(*p->cols))) ||
	    !(p->exprs = kql_arena_alloc(a, (nexprs + 1) * sizeof(*p->exprs))) ||
	    !(p->in = kql_arena_alloc(a, 2 * sizeof(*p->in))))
		return NULL;
	p->kind = KQL_P_AGGREGATE;
	p->pos = like->pos;
	p->nin = 1;
	p->nkeys = like->nkeys;
	return p;
}

/* The scan of the partial rows the final plan reads: columns p0, p1 ...
 * typed as the partial plan's (kql_par names the table's so). */
static struct kql_plan *partials_scan(struct kql_arena *a, const struct kql_plan *partial,
                                      struct kql_expr *part)
{
	struct kql_plan *s = kql_arena_alloc(a, sizeof(*s));
	char name[24];

	if (!s || !(s->reads = kql_arena_alloc(a, partial->ncols + 1)) ||
	    !(s->cols = kql_arena_alloc(a, (partial->ncols + 1) * sizeof(*s->cols))))
		return NULL;
	s->kind = KQL_P_SCAN;
	s->pos = partial->pos;
	s->ncols = partial->ncols;
	s->table = KQL_SPLIT_TABLE;
	memset(s->reads, 1, partial->ncols + 1);
	if (part) {
		part->col = (int)s->ncols;
		s->cols[s->ncols++] = (struct kql_col){KQL_SPLIT_PART, PROTO_T_LONG, false};
	}
	for (size_t c = 0; c < partial->ncols; c++) {
		(void)snprintf(name, sizeof(name), "p%zu", c);
		s->cols[c] = (struct kql_col){kql_arena_strndup(a, name, strlen(name)),
		                              partial->cols[c].type, false};
		if (!s->cols[c].name)
			return NULL;
	}
	return s;
}

/* Keys: the partial plan computes them, the merge groups on its columns. */
static int add_keys(struct builder *b)
{
	for (size_t i = 0; i < b->agg->nkeys; i++) {
		struct kql_expr *k = add_state(b, b->agg->exprs[i]);
		if (!k)
			return -ENOMEM;
		b->merge->exprs[i] = k;
	}
	return 0;
}

/* The partial plan and the merging summarize of agg (splittable). */
static int split_aggregate(struct kql_arena *a, const struct kql_plan *agg, struct kql_split *ret)
{
	/* at most two states per aggregate, and the rows */
	size_t naggs = agg->nexprs - agg->nkeys, most = agg->nkeys + 2 * naggs + 1;
	struct builder b = {.a = a,
	                    .agg = agg,
	                    .partial = new_plan(a, agg, most, most),
	                    .merge = new_plan(a, agg, 0, agg->nexprs)};

	b.argkey = kql_arena_alloc(a, (naggs + 1) * sizeof(*b.argkey));
	b.argfn = kql_arena_alloc(a, (naggs + 1) * sizeof(*b.argfn));
	b.argstate = kql_arena_alloc(a, (naggs + 1) * sizeof(*b.argstate));
	if (!b.partial || !b.merge || !b.argkey || !b.argfn || !b.argstate || add_keys(&b) < 0)
		return -ENOMEM;
	for (size_t i = agg->nkeys; i < agg->nexprs; i++)
		if (!(b.merge->exprs[i] = merge_of(&b, agg->exprs[i])))
			return -ENOMEM;
	b.partial->in[0] = agg->in[0];
	b.partial->ncols = b.partial->nexprs = b.nstates;
	b.merge->cols = agg->cols;
	b.merge->ncols = agg->ncols;
	b.merge->nexprs = agg->nexprs;
	if (!(b.merge->in[0] = partials_scan(a, b.partial, b.part)))
		return -ENOMEM;
	ret->partial = b.partial;
	ret->final = b.merge;
	return set_scans(a, agg->in[0], ret);
}

/* Whether the chains under p (filters, projections, joins, unions down to
 * stored tables) may drop rows: a take then may read far, else it stops
 * at once.  A join but leftouter may drop a left row; a union drops rows
 * where one of its inputs does. */
static bool filters(const struct kql_plan *p)
{
	for (; p->kind != KQL_P_SCAN; p = p->in[0]) {
		if (p->kind == KQL_P_FILTER ||
		    (p->kind == KQL_P_JOIN && p->join != KQL_JOIN_LEFTOUTER))
			return true;
		for (size_t i = 1; p->kind == KQL_P_UNION && i < p->nin; i++)
			if (filters(p->in[i]))
				return true;
	}
	return false;
}

/* take N over a filtered scan (any N rows: each partition's first N, then
 * N of them; the partitions may stop once N are found in all), or top N
 * (each partition's top N, then the top N of those). */
static bool limit_splittable(const struct kql_plan *p)
{
	return p->limit && splits_below(p) &&
	       ((p->kind == KQL_P_TAKE && filters(p->in[0])) || p->kind == KQL_P_TOP);
}

/* distinct over a stored table through filters and projections: each
 * partition's distinct rows, then the distinct rows of those. */
static bool distinct_splittable(const struct kql_plan *p)
{
	return p->kind == KQL_P_DISTINCT && splits_below(p);
}

/* innerunique over a stored table (through filters and projections),
 * its right side reading another table: the left side's one row per key
 * is kept per partition, then once more by the join over their rows. */
static bool dedup_splittable(const struct kql_plan *p)
{
	struct scans s;

	if (p->kind != KQL_P_JOIN || p->join != KQL_JOIN_INNERUNIQUE || !scans_below(p->in[0], &s))
		return false;
	for (size_t i = 0; i < s.n; i++)
		if (reads_table(p->in[1], s.v[i]) != 0)
			return false;
	return true;
}

/* Whether column c of j's left side is one of its keys. */
static bool is_lkey(const struct kql_plan *j, size_t c)
{
	for (size_t k = 0; k < j->njoinkeys; k++)
		if (j->lkeys[k] == (int)c)
			return true;
	return false;
}

/* Column c of in as expression i and column i of p. */
static int add_col(struct kql_arena *a, struct kql_plan *p, const struct kql_plan *in, size_t c,
                   size_t i, bool row)
{
	struct kql_expr *e = new_expr(a, KQL_E_COL, in->cols[c].type, p->pos);
	char name[24];

	if (!e)
		return -ENOMEM;
	e->col = (int)c;
	if (row && !(e = new_call(a, KQL_F_P_ROW, e->type, p->pos, &e, 1)))
		return -ENOMEM;
	(void)snprintf(name, sizeof(name), "p%zu", i);
	p->exprs[i] = e;
	p->cols[i] = (struct kql_col){kql_arena_strndup(a, name, strlen(name)), e->type, false};
	return p->cols[i].name ? 0 : -ENOMEM;
}

/* The partial plan of j's left side: a summarize by its join keys of $row
 * of each other column; at[c] is left column c's partial column. */
static struct kql_plan *dedup_partial(struct kql_arena *a, const struct kql_plan *j, int *at)
{
	const struct kql_plan *l = j->in[0];
	size_t n = j->njoinkeys + l->ncols;
	struct kql_plan *p = new_plan(a, j, n, n);
	size_t i = 0;

	if (!p)
		return NULL;
	p->nkeys = j->njoinkeys;
	for (; i < j->njoinkeys; i++)
		if (add_col(a, p, l, (size_t)j->lkeys[i], i, false) < 0)
			return NULL;
	for (size_t k = j->njoinkeys; k-- > 0;)
		at[j->lkeys[k]] = (int)k; /* a key named twice: its first */
	for (size_t c = 0; c < l->ncols; c++) {
		if (is_lkey(j, c))
			continue;
		at[c] = (int)i;
		if (add_col(a, p, l, c, i++, true) < 0)
			return NULL;
	}
	p->in[0] = (struct kql_plan *)l;
	p->ncols = p->nexprs = i;
	return p;
}

/* The final plan of innerunique join j: j over the partial rows put back
 * in its left side's order (at: dedup_partial's). */
static struct kql_plan *dedup_final(struct kql_arena *a, const struct kql_plan *j,
                                    const struct kql_plan *partial, const int *at)
{
	const struct kql_plan *l = j->in[0];
	struct kql_plan *back = new_plan(a, l, l->ncols, l->ncols),
	                *f = kql_arena_alloc(a, sizeof(*f));

	if (!back || !f || !(back->in[0] = partials_scan(a, partial, NULL)))
		return NULL;
	back->kind = KQL_P_PROJECT;
	back->nkeys = 0;
	for (size_t c = 0; c < l->ncols; c++) {
		struct kql_expr *e = new_expr(a, KQL_E_COL, l->cols[c].type, l->pos);
		if (!e)
			return NULL;
		e->col = at[c];
		back->exprs[c] = e;
		back->cols[c] = l->cols[c];
	}
	back->ncols = back->nexprs = l->ncols;
	*f = *j;
	if (!(f->in = kql_arena_alloc(a, 2 * sizeof(*f->in))))
		return NULL;
	f->in[0] = back;
	f->in[1] = j->in[1];
	return f;
}

static int split_dedup(struct kql_arena *a, const struct kql_plan *j, struct kql_split *ret)
{
	int *at = kql_arena_alloc(a, (j->in[0]->ncols + 1) * sizeof(*at));
	const struct kql_plan *partial = at ? dedup_partial(a, j, at) : NULL;

	if (!partial || !(ret->final = dedup_final(a, j, partial, at)))
		return -ENOMEM;
	ret->partial = partial;
	ret->limit = NULL;
	return set_scans(a, j->in[0], ret);
}

/* The same operator over each partition, then over their rows. */
static int split_limit(struct kql_arena *a, const struct kql_plan *p, struct kql_split *ret)
{
	struct kql_plan *f = kql_arena_alloc(a, sizeof(*f));

	if (!f)
		return -ENOMEM;
	*f = *p;
	if (!(f->in = kql_arena_alloc(a, 2 * sizeof(*f->in))) ||
	    !(f->in[0] = partials_scan(a, p, NULL)))
		return -ENOMEM;
	ret->partial = p;
	ret->final = f;
	ret->limit = p->kind == KQL_P_TAKE ? p->limit : NULL;
	return set_scans(a, p->in[0], ret);
}

/* p with its summarize replaced: the operators above it copied, each
 * reading the copy below it. */
static int split_at(struct kql_arena *a, const struct kql_plan *p, struct kql_split *ret)
{
	struct kql_plan *copy;
	int r;

	if (splittable(p))
		return split_aggregate(a, p, ret);
	if (limit_splittable(p) || distinct_splittable(p))
		return split_limit(a, p, ret);
	if (dedup_splittable(p))
		return split_dedup(a, p, ret);
	/* a join's left side, its right read whole by the final plan */
	if (p->nin != 1 && p->kind != KQL_P_JOIN)
		return 1;
	if ((r = split_at(a, p->in[0], ret)) != 0)
		return r;
	if (!(copy = kql_arena_alloc(a, sizeof(*copy))))
		return -ENOMEM;
	*copy = *p;
	if (!(copy->in = kql_arena_alloc(a, 2 * sizeof(*copy->in))))
		return -ENOMEM;
	copy->in[0] = ret->final;
	copy->in[1] = p->nin > 1 ? p->in[1] : NULL;
	ret->final = copy;
	return 0;
}

bool kql_split_join_cheap(int64_t left_rows, int64_t right_rows)
{
	return right_rows <= KQL_SPLIT_JOIN_MAX_RIGHT &&
	       right_rows <= left_rows / KQL_SPLIT_JOIN_MIN_RATIO;
}

/* Whether some scan under p reads its rows' ingestion time (a partition's
 * views have no such column); past *budget nodes, assumed so. */
static bool reads_ingest(const struct kql_plan *p, size_t *budget)
{
	if (*budget == 0 || p->ingest)
		return true;
	--*budget;
	for (size_t i = 0; i < p->nin; i++)
		if (reads_ingest(p->in[i], budget))
			return true;
	return false;
}

int kql_split(struct kql_arena *a, const struct kql_plan *p, struct kql_split *ret)
{
	struct kql_split s = {0};
	size_t budget = 10000;
	int r = reads_ingest(p, &budget) ? 1 : split_at(a, p, &s);

	if (r == 0)
		*ret = s;
	return r;
}

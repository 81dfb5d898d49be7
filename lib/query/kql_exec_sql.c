/*
 * kql_exec_sql — a plan as one SQLite statement.  Each plan node is a
 * subquery whose columns are named c0, c1 ...; its expressions are
 * kql_exec_expr.c's.  Literals become numbered parameters; nothing from
 * the query's text is written into the SQL.
 *
 * SQLite's parser refuses SQL nested too deep (3.40: a stack of 100, some
 * 20 subqueries or 16 levels of calls), where KQL pipelines and
 * expressions nest far deeper.  So a subquery below SUB_DEPTH others is
 * written as a common table expression ("$0" AS (...), listed before the
 * statement: a CTE read once is a subquery to SQLite's planner, flattened
 * as one), subexpressions taller than HOIST_HEIGHT are computed first, as
 * columns h0, h1 ... of layers below their node (kql_hoist.h; SQLite
 * flattens the layers back into the expression), and chains of and/or
 * and of iff/case in the else place are written flat.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_exec_sqlb.h"

#define SUB_DEPTH 4    /* subqueries nested in one statement or CTE */
#define HOIST_HEIGHT 6 /* KQL levels of an expression written as one */

/* ---- plans: each a SELECT whose columns are c0, c1 ... ---- */

static int plan(struct sqlb *b, const struct kql_plan *p);

typedef int sub_fn(struct sqlb *b, const void *arg);

/* fn's subquery into a CTE of its own, named "$N" where it is used. */
static int cte(struct sqlb *b, sub_fn *fn, const void *arg)
{
	FILE *outer = b->f;
	int depth = b->depth, r = -1;
	char *text = NULL;
	size_t len = 0;

	if (!b->ctes && !(b->ctes = open_memstream(&b->ctes_text, &b->ctes_len)))
		return -1;
	if (!(b->f = open_memstream(&text, &len))) {
		b->f = outer;
		return -1;
	}
	b->depth = 0;
	r = fn(b, arg);
	if (fclose(b->f) != 0)
		r = -1;
	b->f = outer;
	b->depth = depth;
	if (r == 0) {
		/* the CTEs its own subqueries made are listed before it */
		fprintf(b->ctes, "%s\"$%d\" AS (%s)", b->nctes ? ", " : "", b->nctes, text);
		fprintf(outer, "\"$%d\"", b->nctes++);
	}
	free(text);
	return r;
}

/* fn's subquery: "(...)", or below SUB_DEPTH others a CTE's name. */
static int nested(struct sqlb *b, sub_fn *fn, const void *arg)
{
	int r;

	if (b->depth >= SUB_DEPTH)
		return cte(b, fn, arg);
	fputc('(', b->f);
	b->depth++;
	r = fn(b, arg);
	b->depth--;
	fputc(')', b->f);
	return r;
}

static int plan_of(struct sqlb *b, const void *p)
{
	return plan(b, p);
}

/* A plan as a subquery (nested). */
static int sub(struct sqlb *b, const struct kql_plan *in)
{
	return nested(b, plan_of, in);
}

/* "FROM (input) AS t" */
static int from(struct sqlb *b, const struct kql_plan *in, const char *alias)
{
	fputs(" FROM ", b->f);
	if (sub(b, in) != 0)
		return -1;
	fprintf(b->f, " AS %s", alias);
	return 0;
}

/* ---- hoisted subexpressions: layers below a node ---- */

struct layer {
	const struct kql_plan *p; /* the node; its input is t */
	int level;                /* 0: the input itself */
};

static int layer_of(struct sqlb *b, const void *arg);

/* A layer's (or the input's) subquery. */
static int layer_sub(struct sqlb *b, const struct kql_plan *p, int level)
{
	struct layer l = {p, level};

	return level == 0 ? sub(b, p->in[0]) : nested(b, layer_of, &l);
}

/* "SELECT t.*, x AS hN ... FROM (layer below) AS t": the subexpressions
 * hoisted at one level, over the input's columns and the lower layers'. */
static int layer_of(struct sqlb *b, const void *arg)
{
	const struct layer *l = arg;
	const struct kql_hoist *h = b->hoist;
	const struct kql_plan *in = l->p->nin > 0 ? l->p->in[0] : NULL;

	/* print: the first layer is over one row of nothing, a FROM SQLite
	 * needs to flatten it (a layer without one it computes ahead) */
	bool base = l->p->nin == 0 && l->level == 1;
	const char *sep = base ? "" : ", ";
	int r = 0;

	fputs(base ? "SELECT " : "SELECT t.*", b->f);
	for (size_t i = 0; i < h->n && r == 0; i++) {
		if (h->v[i].level != l->level)
			continue;
		fputs(sep, b->f);
		sep = ", ";
		b->defining = h->v[i].e;
		/* one passing a NaN on reads its columns' NaN as null */
		b->nan_in = kql_expr_keeps_nan(h->v[i].e, in) ? NULL : in;
		r = sqlb_expr(b, h->v[i].e, "t.");
		fprintf(b->f, " AS h%zu", i);
	}
	b->defining = NULL;
	b->nan_in = NULL;
	if (r == 0 && base) {
		fputs(" FROM (SELECT 0) AS t", b->f);
	} else if (r == 0) {
		fputs(" FROM ", b->f);
		r = layer_sub(b, l->p, l->level - 1);
		fputs(" AS t", b->f);
	}
	return r;
}

/* "FROM (input, under the node's layers) AS t" */
static int node_from(struct sqlb *b, const struct kql_plan *p)
{
	if (!b->hoist)
		return from(b, p->in[0], "t");
	fputs(" FROM ", b->f);
	if (layer_sub(b, p, b->hoist->levels) != 0)
		return -1;
	fputs(" AS t", b->f);
	return 0;
}

/* The subexpressions of p's expressions and sort keys to hoist into h;
 * b->hoist is h when there are some.  0, or -1 (out of memory). */
static int hoist_node(struct sqlb *b, const struct kql_plan *p, struct kql_hoist *h)
{
	int r = 0;

	for (size_t i = 0; i < p->nexprs && r == 0; i++)
		r = kql_hoist_root(h, p->exprs[i], HOIST_HEIGHT);
	for (size_t i = 0; i < p->nsortkeys && r == 0; i++)
		r = kql_hoist_root(h, p->keys[i].e, HOIST_HEIGHT);
	b->hoist = r == 0 && h->n > 0 ? h : NULL;
	return r == 0 ? 0 : -1;
}

/* The columns a filter or sort passes on, named: with layers under it,
 * "*" would pass their columns too. */
static void pass_columns(struct sqlb *b, const struct kql_plan *p)
{
	if (!b->hoist) {
		fputs("SELECT *", b->f);
		return;
	}
	fputs("SELECT ", b->f);
	for (size_t c = 0; c < p->ncols; c++)
		fprintf(b->f, "%st.c%zu", c > 0 ? ", " : "", c);
	if (p->ingest)
		fputs(p->ncols > 0 ? ", t." INGEST_SQL : "t." INGEST_SQL, b->f);
}

static int select_exprs(struct sqlb *b, struct kql_expr *const *v, size_t n, size_t first_col)
{
	const struct kql_plan *nan_in = b->nan_in;

	for (size_t i = 0; i < n; i++) {
		fputs(i > 0 ? ", " : "", b->f);
		/* a column passed on unchanged, or through arithmetic that
		 * keeps its NaN, is NaN where null (kql_exec_run) */
		b->nan_in = kql_expr_keeps_nan(v[i], nan_in) ? NULL : nan_in;
		if (sqlb_expr(b, v[i], "t.") != 0)
			return -1;
		fprintf(b->f, " AS c%zu", first_col + i);
	}
	b->nan_in = nan_in;
	return 0;
}

/* select_exprs over input in */
static int select_over(struct sqlb *b, const struct kql_plan *p, const struct kql_plan *in)
{
	int r;

	b->nan_in = in;
	r = select_exprs(b, p->exprs, p->nexprs, 0);
	b->nan_in = NULL;
	return r;
}

/* One row of values (print), over layers when it needs them. */
static int print_row(struct sqlb *b, const struct kql_plan *p)
{
	struct kql_hoist h = {0};
	int r = hoist_node(b, p, &h);

	if (r == 0) {
		fputs("SELECT ", b->f);
		r = select_exprs(b, p->exprs, p->ncols, 0);
	}
	if (r == 0 && b->hoist) {
		fputs(" FROM ", b->f);
		r = layer_sub(b, p, b->hoist->levels);
		fputs(" AS t", b->f);
	}
	kql_hoist_clear(&h);
	return r;
}

/* A constant (a range's bound, a limit) as it is, or when it would be
 * hoisted, as a print of it in a CTE of its own: "(SELECT c0 FROM "$N")",
 * which SQLite evaluates once (its layers nested from the CTE's top: a
 * range's text nests deeper than its depth counts). */
static int constant(struct sqlb *b, struct kql_expr *e)
{
	struct kql_plan one = {
	    .kind = KQL_P_VALUES, .pos = e->pos, .ncols = 1, .exprs = &e, .nexprs = 1, .nrows = 1};
	struct kql_hoist h = {0};
	int r = kql_hoist_root(&h, e, HOIST_HEIGHT);
	bool tall = h.n > 0;

	kql_hoist_clear(&h);
	if (r != 0)
		return -1;
	if (!tall)
		return sqlb_expr(b, e, "");
	fputs("(SELECT c0 FROM ", b->f);
	if (cte(b, plan_of, &one) != 0)
		return -1;
	fputc(')', b->f);
	return 0;
}

static int plan_values(struct sqlb *b, const struct kql_plan *p)
{
	if (p->nrows == 0) {
		fputs("SELECT ", b->f);
		for (size_t c = 0; c < p->ncols; c++)
			fprintf(b->f, "%sNULL AS c%zu", c > 0 ? ", " : "", c);
		fputs(" WHERE 0", b->f);
		return 0;
	}
	if (p->nrows == 1)
		return print_row(b, p);
	/* one VALUES list, which SQLite takes of any length (a UNION ALL of
	 * SELECTs stopped at 500 rows); its columns are column1, column2 ... */
	fputs("SELECT ", b->f);
	for (size_t c = 0; c < p->ncols; c++)
		fprintf(b->f, "%scolumn%zu AS c%zu", c > 0 ? ", " : "", c + 1, c);
	fputs(" FROM (VALUES ", b->f);
	for (size_t r = 0; r < p->nrows; r++) {
		fputs(r > 0 ? ", (" : "(", b->f);
		for (size_t c = 0; c < p->ncols; c++) {
			fputs(c > 0 ? ", " : "", b->f);
			if (sqlb_expr(b, p->exprs[r * p->ncols + c], "") != 0)
				return -1;
		}
		fputc(')', b->f);
	}
	fputc(')', b->f);
	return 0;
}

/* range: a recursive CTE, stepping while the next value stays in range. */
static int plan_range(struct sqlb *b, const struct kql_plan *p)
{
	struct kql_expr *const *e = p->exprs;

	fputs("SELECT c0 FROM (WITH RECURSIVE r(c0) AS (SELECT ", b->f);
	if (constant(b, e[0]) != 0)
		return -1;
	fputs(" UNION ALL SELECT c0 + ", b->f);
	if (constant(b, e[2]) != 0)
		return -1;
	fputs(" FROM r WHERE ", b->f);
	if (constant(b, e[2]) != 0)
		return -1;
	fputs(" > 0 AND c0 + ", b->f);
	if (constant(b, e[2]) != 0)
		return -1;
	fputs(" <= ", b->f);
	if (constant(b, e[1]) != 0)
		return -1;
	fputs(") SELECT c0 FROM r WHERE c0 <= ", b->f);
	if (constant(b, e[1]) != 0)
		return -1;
	fputs(")", b->f);
	return 0;
}

static int plan_filter(struct sqlb *b, const struct kql_plan *p)
{
	struct kql_hoist h = {0};
	int r = hoist_node(b, p, &h);

	if (r == 0) {
		pass_columns(b, p);
		r = node_from(b, p);
	}
	if (r == 0) {
		fputs(" WHERE ", b->f);
		b->nan_in = p->in[0];
		r = sqlb_expr(b, p->exprs[0], "t.");
		b->nan_in = NULL;
	}
	kql_hoist_clear(&h);
	return r;
}

static int plan_project(struct sqlb *b, const struct kql_plan *p)
{
	struct kql_hoist h = {0};
	int r = hoist_node(b, p, &h);

	if (r == 0) {
		fputs("SELECT ", b->f);
		r = select_over(b, p, p->in[0]);
	}
	if (r == 0 && p->ingest)
		fputs(p->nexprs > 0 ? ", t." INGEST_SQL " AS " INGEST_SQL
		                    : "t." INGEST_SQL " AS " INGEST_SQL,
		      b->f);
	if (r == 0)
		r = node_from(b, p);
	kql_hoist_clear(&h);
	return r;
}

static int plan_aggregate(struct sqlb *b, const struct kql_plan *p)
{
	struct kql_hoist h = {0};
	int r = hoist_node(b, p, &h);

	if (r == 0) {
		fputs("SELECT ", b->f);
		r = select_over(b, p, p->in[0]);
	}
	if (r == 0)
		r = node_from(b, p);
	for (size_t i = 0; i < p->nkeys && r == 0; i++)
		fprintf(b->f, "%s%zu", i > 0 ? ", " : " GROUP BY ", i + 1);
	kql_hoist_clear(&h);
	return r;
}

/* " LIMIT n" of take and top: a negative n keeps no row (measured on
 * Kusto: top -1 is empty), where SQLite's LIMIT -1 keeps every one. */
static int limit(struct sqlb *b, struct kql_expr *n)
{
	fputs(" LIMIT max(", b->f);
	if (constant(b, n) != 0)
		return -1;
	fputs(", 0)", b->f);
	return 0;
}

/* ORDER BY with Kusto's defaults already in the keys; columns read from
 * the subquery "t". */
static int order_by(struct sqlb *b, const struct kql_plan *p)
{
	for (size_t i = 0; i < p->nsortkeys; i++) {
		fputs(i > 0 ? ", " : " ORDER BY ", b->f);
		/* where Kusto sorts a NaN is not known here: refused too */
		b->nan_in = p->in[0];
		if (sqlb_expr(b, p->keys[i].e, "t.") != 0)
			return -1;
		b->nan_in = NULL;
		fprintf(b->f, " %s NULLS %s", p->keys[i].asc ? "ASC" : "DESC",
		        p->keys[i].nulls_first ? "FIRST" : "LAST");
	}
	return 0;
}

static int plan_sort(struct sqlb *b, const struct kql_plan *p)
{
	struct kql_hoist h = {0};
	int r = hoist_node(b, p, &h);

	if (r == 0) {
		pass_columns(b, p);
		r = node_from(b, p);
	}
	if (r == 0)
		r = order_by(b, p);
	if (r == 0 && p->limit)
		r = limit(b, p->limit);
	kql_hoist_clear(&h);
	return r;
}

/* The columns by name: an input whose rows carry their ingestion time
 * (SELECT * of a filter over such a scan) has one more. */
static int plan_distinct(struct sqlb *b, const struct kql_plan *p)
{
	fputs(p->ncols > 0 ? "SELECT DISTINCT " : "SELECT DISTINCT *", b->f);
	for (size_t c = 0; c < p->ncols; c++)
		fprintf(b->f, "%sc%zu", c > 0 ? ", " : "", c);
	return from(b, p->in[0], "t");
}

static int plan_union(struct sqlb *b, const struct kql_plan *p)
{
	for (size_t i = 0; i < p->nin; i++) {
		fputs(i > 0 ? " UNION ALL SELECT " : "SELECT * FROM (SELECT ", b->f);
		for (size_t c = 0; c < p->ncols; c++) {
			fputs(c > 0 ? ", " : "", b->f);
			if (p->maps[i][c] >= 0)
				fprintf(b->f, "t.c%d", p->maps[i][c]);
			else if (c == 0 && p->sources != NULL &&
			         sqlb_param_text(b, p->sources[i]) != 0)
				return -1;
			else if (!(c == 0 && p->sources != NULL))
				/* a string is never null: "" where an input has none */
				fputs(p->cols[c].type == PROTO_T_STRING ? "''" : "NULL", b->f);
			fprintf(b->f, " AS c%zu", c);
		}
		if (from(b, p->in[i], "t") != 0)
			return -1;
	}
	fputc(')', b->f);
	return 0;
}

/* The keys' equality.  A null key matches a null key (measured on
 * Kusto: a lookup or a join pairs the rows whose keys are both null), so
 * IS, which SQLite's automatic indexes use as they use =. */
static void join_on(struct sqlb *b, const struct kql_plan *p)
{
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(b->f, "%sl.c%d IS r.c%d", i > 0 ? " AND " : "", p->lkeys[i], p->rkeys[i]);
}

/* innerunique keeps one left row per key: a GROUP BY on the keys picks an
 * arbitrary row for the other columns, as Kusto does. */
static int join_left(struct sqlb *b, const struct kql_plan *p)
{
	if (p->join != KQL_JOIN_INNERUNIQUE)
		return from(b, p->in[0], "l");
	fputs(" FROM (SELECT * FROM ", b->f);
	if (sub(b, p->in[0]) != 0)
		return -1;
	fputs(" GROUP BY ", b->f);
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(b->f, "%sc%d", i > 0 ? ", " : "", p->lkeys[i]);
	fputs(") AS l", b->f);
	return 0;
}

/* The keys of one side: "l.c2, l.c5", as a row value "(l.c2, l.c5)"
 * (row: one key is a plain value). */
static void join_keys(struct sqlb *b, const struct kql_plan *p, bool left, bool row)
{
	const int *k = left ? p->lkeys : p->rkeys;

	row = row && p->njoinkeys > 1;
	fputs(row ? "(" : "", b->f);
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(b->f, "%s%s.c%d", i > 0 ? ", " : "", left ? "l" : "r", k[i]);
	fputs(row ? ")" : "", b->f);
}

/* leftsemi/leftanti (and right*): the kept side's rows whose keys are IN
 * the other side's, a subquery SQLite evaluates once into an index (a
 * correlated EXISTS scanned the other side per row).  A null key matches
 * a null key, as in the other joins: a kept row with a null key (the IN
 * unknown) asks the other side once more, by IS, only then. */
static int plan_semijoin(struct sqlb *b, const struct kql_plan *p, bool left, bool anti)
{
	const char *us = left ? "l" : "r", *them = left ? "r" : "l";
	const int *mine = left ? p->lkeys : p->rkeys, *theirs = left ? p->rkeys : p->lkeys;

	fputs("SELECT ", b->f);
	for (size_t c = 0; c < p->ncols; c++)
		fprintf(b->f, "%s%s.c%d AS c%zu", c > 0 ? ", " : "", us, p->out_col[c], c);
	if (from(b, p->in[left ? 0 : 1], us) != 0)
		return -1;
	fputs(anti ? " WHERE NOT ((" : " WHERE ((", b->f);
	join_keys(b, p, left, true);
	fputs(" IN (SELECT ", b->f);
	join_keys(b, p, !left, false);
	if (from(b, p->in[left ? 1 : 0], them) != 0)
		return -1;
	fputs(")) IS 1 OR ((", b->f);
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(b->f, "%s%s.c%d IS NULL", i > 0 ? " OR " : "", us, mine[i]);
	fputs(") AND EXISTS (SELECT 1", b->f);
	if (from(b, p->in[left ? 1 : 0], them) != 0)
		return -1;
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(b->f, "%s%s.c%d IS %s.c%d", i > 0 ? " AND " : " WHERE ", them, theirs[i],
		        us, mine[i]);
	fputs(")))", b->f);
	return 0;
}

/* Output column c of a join.  A string of the side an outer join may
 * leave unmatched is "" there, not null: Kusto's strings are never null
 * (lookup's Alias != "" kept an unmatched row, as null != "" is true). */
static void join_column(struct sqlb *b, const struct kql_plan *p, size_t c)
{
	bool right = p->out_side[c];
	bool open = p->join == KQL_JOIN_FULLOUTER ||
	            p->join == (right ? KQL_JOIN_LEFTOUTER : KQL_JOIN_RIGHTOUTER);
	bool blank = open && p->cols[c].type == PROTO_T_STRING;

	fprintf(b->f, "%s%s%s.c%d%s AS c%zu", c > 0 ? ", " : "", blank ? "coalesce(" : "",
	        right ? "r" : "l", p->out_col[c], blank ? ", '')" : "", c);
}

static int plan_join(struct sqlb *b, const struct kql_plan *p)
{
	static const char *const sql[] = {
	    /* CROSS: SQLite keeps the left side the outer loop and indexes
	     * the right (as LEFT JOIN always does); left to itself, without
	     * statistics, it may index the left, a whole table, instead */
	    [KQL_JOIN_INNERUNIQUE] = "CROSS JOIN", [KQL_JOIN_INNER] = "CROSS JOIN",
	    [KQL_JOIN_LEFTOUTER] = "LEFT JOIN",    [KQL_JOIN_RIGHTOUTER] = "RIGHT JOIN",
	    [KQL_JOIN_FULLOUTER] = "FULL JOIN",
	};
	enum kql_join_kind k = p->join;

	if (k == KQL_JOIN_LEFTSEMI || k == KQL_JOIN_LEFTANTI)
		return plan_semijoin(b, p, true, k == KQL_JOIN_LEFTANTI);
	if (k == KQL_JOIN_RIGHTSEMI || k == KQL_JOIN_RIGHTANTI)
		return plan_semijoin(b, p, false, k == KQL_JOIN_RIGHTANTI);
	fputs("SELECT ", b->f);
	for (size_t c = 0; c < p->ncols; c++)
		join_column(b, p, c);
	if (join_left(b, p) != 0)
		return -1;
	fprintf(b->f, " %s ", sql[k]);
	if (sub(b, p->in[1]) != 0)
		return -1;
	fputs(" AS r ON ", b->f);
	join_on(b, p);
	return 0;
}

/* Column x of t as a JSON array: an array as it is; a property bag as the
 * array of its properties, each a one-property bag ({"k": v}) or, with
 * kind=array, [k, v]; null and any other value as the array of that one
 * value (mv-expand gives null one record, an empty array or bag none). */
static void expand_array(struct sqlb *b, const struct kql_plan *p, int x)
{
	fprintf(b->f,
	        "(CASE WHEN t.c%d IS NULL THEN '[null]' WHEN NOT json_valid(t.c%d) THEN '[]' "
	        "WHEN json_type(t.c%d) = 'array' THEN t.c%d WHEN json_type(t.c%d) = 'object' THEN "
	        "(SELECT json_group_array(%s(key, json(CASE WHEN type IN ('object', 'array') THEN "
	        "value ELSE json_quote(value) END))) FROM json_each(t.c%d)) "
	        "ELSE json_array(json(t.c%d)) END)",
	        x, x, x, x, x, p->bag_as_array ? "json_array" : "json_object", x, x);
}

static int expand_index(const struct kql_plan *p, size_t c)
{
	for (size_t i = 0; i < p->nexpand; i++)
		if (p->expand[i] == (int)c)
			return (int)i;
	return -1;
}

/* mv-expand: a row per index up to the longest expanded array (j.value);
 * the expanded columns zip, a shorter array giving null. */
static int plan_mvexpand(struct sqlb *b, const struct kql_plan *p)
{
	fputs("SELECT ", b->f);
	for (size_t c = 0; c < p->in[0]->ncols; c++) {
		enum proto_coltype t = p->cols[c].type;
		fputs(c > 0 ? ", " : "", b->f);
		if (expand_index(p, c) < 0) {
			fprintf(b->f, "t.c%zu AS c%zu", c, c);
			continue;
		}
		/* to typeof(T): a number, a bool or a string by what the element
		 * holds (kql_elemconv); a datetime or guid from its text; a
		 * timespan or decimal refused (measured on Kusto: null for every
		 * element tried, "1.00:00:00" too, a rule not established) */
		bool held = t == PROTO_T_INT || t == PROTO_T_LONG || t == PROTO_T_REAL ||
		            t == PROTO_T_BOOL || t == PROTO_T_STRING;
		if (t == PROTO_T_TIMESPAN || t == PROTO_T_DECIMAL)
			return sqlb_unsupported(b, p->pos, "mv-expand ... to typeof() of the type",
			                        proto_coltype_name(t));
		if (held)
			fprintf(b->f, "kql_elemconv(%d, ", (int)t);
		else if (t != PROTO_T_DYNAMIC)
			fprintf(b->f, "kql_convert(%d, ", (int)t);
		else
			fputs("nullif(", b->f); /* a JSON null element is null */
		expand_array(b, p, (int)c);
		fprintf(b->f, " %s j.value", t == PROTO_T_DYNAMIC || held ? "->" : "->>");
		if (t == PROTO_T_DYNAMIC)
			fputs(", 'null')", b->f);
		else
			fprintf(b->f, ", %lld)", (long long)kql_exec_at(p->pos));
		fprintf(b->f, " AS c%zu", c);
	}
	if (p->itemindex >= 0)
		fprintf(b->f, ", j.value AS c%d", p->itemindex);
	if (from(b, p->in[0], "t") != 0)
		return -1;
	fputs(", json_each(kql_indexes(", b->f);
	for (size_t i = 0; i < p->nexpand; i++) {
		fputs(i > 0 ? ", json_array_length(" : "json_array_length(", b->f);
		expand_array(b, p, p->expand[i]);
		fputc(')', b->f);
	}
	fputs(")) AS j", b->f);
	if (p->limit != NULL) {
		fputs(" WHERE j.value < ", b->f);
		return constant(b, p->limit);
	}
	return 0;
}

/* A schema name as an SQL identifier: double-quoted, quotes doubled.
 * Names come from the schema the caller trusts, never from the query. */
static void identifier(struct sqlb *b, const char *name)
{
	fputc('"', b->f);
	for (; *name != '\0'; name++) {
		if (*name == '"')
			fputc('"', b->f);
		fputc(*name, b->f);
	}
	fputc('"', b->f);
}

/* A stored table: the connection's table of the same name, its columns by
 * name; only the columns the plan reads, the others null. */
static int plan_scan(struct sqlb *b, const struct kql_plan *p)
{
	fputs("SELECT ", b->f);
	for (size_t c = 0; c < p->ncols; c++) {
		fputs(c > 0 ? ", " : "", b->f);
		if (p->reads[c])
			identifier(b, p->cols[c].name);
		else
			fputs("NULL", b->f);
		fprintf(b->f, " AS c%zu", c);
	}
	if (p->ingest) {
		fputs(", ", b->f);
		identifier(b, KQL_INGEST_COLUMN);
		fputs(" AS " INGEST_SQL, b->f);
	}
	fputs(" FROM ", b->f);
	if (p->foreign) {
		char view[2 * 1024 + 2];
		if (kql_exec_view_name(p->db, p->table, view, sizeof(view)) == NULL)
			return sqlb_unsupported(b, p->pos, "a table name this long:", p->table);
		identifier(b, view);
	} else {
		identifier(b, p->table);
	}
	return 0;
}

char *kql_exec_view_name(const char *db, const char *table, char *buf, size_t n)
{
	int len = snprintf(buf, n, "%s/%s", db, table);

	return len >= 0 && (size_t)len < n ? buf : NULL;
}

static int plan_node(struct sqlb *b, const struct kql_plan *p)
{
	switch (p->kind) {
	case KQL_P_VALUES:
		return plan_values(b, p);
	case KQL_P_RANGE:
		return plan_range(b, p);
	case KQL_P_FILTER:
		return plan_filter(b, p);
	case KQL_P_PROJECT:
		return plan_project(b, p);
	case KQL_P_AGGREGATE:
		return plan_aggregate(b, p);
	case KQL_P_SORT:
	case KQL_P_TOP:
		return plan_sort(b, p);
	case KQL_P_TAKE:
		fputs("SELECT *", b->f);
		if (from(b, p->in[0], "t") != 0)
			return -1;
		return limit(b, p->limit);
	case KQL_P_DISTINCT:
		return plan_distinct(b, p);
	case KQL_P_UNION:
		return plan_union(b, p);
	case KQL_P_JOIN:
		return plan_join(b, p);
	case KQL_P_MVEXPAND:
		return plan_mvexpand(b, p);
	case KQL_P_SCAN:
		return plan_scan(b, p);
	}
	return sqlb_unsupported(b, p->pos, "the plan node", kql_plan_kind_name(p->kind));
}

/* A node's SQL; the hoisted subexpressions are its own (a node of the
 * input may share an expression with it: a let). */
static int plan(struct sqlb *b, const struct kql_plan *p)
{
	const struct kql_hoist *outer = b->hoist;
	int r;

	if (b->failed)
		return -1;
	b->hoist = NULL;
	r = plan_node(b, p);
	b->hoist = outer;
	return r;
}

void kql_sql_clear(struct kql_sql *s)
{
	free(s->text);
	free(s->params);
	memset(s, 0, sizeof(*s));
}

/* "WITH <ctes> <text>" as ret's text, when the build made CTEs. */
static int with_ctes(struct sqlb *b, struct kql_sql *ret)
{
	char *text = NULL;
	int r = 0;

	if (!b->ctes)
		return 0;
	if (fclose(b->ctes) != 0 || !b->ctes_text ||
	    asprintf(&text, "WITH %s %s", b->ctes_text, ret->text) < 0)
		r = -1;
	b->ctes = NULL;
	if (r == 0) {
		free(ret->text);
		ret->text = text;
	}
	return r;
}

int kql_sql_build(const struct kql_plan *p, int64_t now, struct kql_sql *ret, struct kql_error *err)
{
	struct sqlb b = {.out = ret, .err = err};
	struct kql_value v = {false, now, 0, NULL};
	size_t len = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if ((b.f = open_memstream(&ret->text, &len)) == NULL)
		return kql_err_set(err, KQL_E_NOMEM, p->pos, "out of memory");
	/* ?1 is now(), evaluated once per query. */
	if ((r = sqlb_param_add(&b, &v, PROTO_T_DATETIME)) == 0)
		r = plan(&b, p);
	if (fclose(b.f) != 0 || with_ctes(&b, ret) != 0 || (r != 0 && !b.failed)) {
		if (b.ctes)
			(void)fclose(b.ctes);
		free(b.ctes_text);
		kql_sql_clear(ret);
		return kql_err_set(err, KQL_E_NOMEM, p->pos, "out of memory");
	}
	free(b.ctes_text);
	if (r != 0) {
		kql_sql_clear(ret);
		return -EINVAL;
	}
	return 0;
}

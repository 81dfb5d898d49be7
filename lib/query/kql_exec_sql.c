/*
 * kql_exec_sql — a plan as one SQLite statement.  Each plan node is a
 * subquery whose columns are named c0, c1 ...; expressions become SQL
 * operators where SQL agrees with KQL and calls of the kql_* functions
 * where it does not.  Literals become numbered parameters; nothing from the
 * query's text is written into the SQL.
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
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_exec_int.h"
#include "query/kql_hll.h"
#include "query/kql_hoist.h"
#include "query/kql_strop.h"

/* The hidden column of a plan node's rows that carry their ingestion time
 * (kql_plan.h's ingest), after c0, c1 ...: filters, sorts and takes pass
 * it on by their SELECT *, projections name it. */
#define INGEST_SQL "c_it"

#define SUB_DEPTH 4    /* subqueries nested in one statement or CTE */
#define HOIST_HEIGHT 6 /* KQL levels of an expression written as one */

struct sqlb {
	FILE *f;
	struct kql_sql *out;
	size_t cap;
	struct kql_error *err;
	int failed;
	/* The input ("t.") of the expressions being written, whose columns
	 * marked nan_if_null an expression reads through kql_nan. */
	const struct kql_plan *nan_in;
	/* the node's hoisted subexpressions (NULL: none), written as t.hN
	 * except the one being defined */
	const struct kql_hoist *hoist;
	const struct kql_expr *defining;
	int depth;  /* subqueries open in f */
	FILE *ctes; /* "$0" AS (...), "$1" ...; NULL until the first */
	char *ctes_text;
	size_t ctes_len;
	int nctes;
};

static int unsupported(struct sqlb *b, struct kql_pos pos, const char *what, const char *name)
{
	if (!b->failed)
		(void)kql_err_set(b->err, KQL_E_UNSUPPORTED, pos,
		                  "%s '%s' is not supported by the SQLite executor yet", what,
		                  name);
	b->failed = 1;
	return -1;
}

/* Adds a parameter; its number is nparams afterwards. */
static int param_add(struct sqlb *b, const struct kql_value *v, enum proto_coltype type)
{
	struct kql_sql *s = b->out;

	if (s->nparams == KQL_SQL_MAX_PARAMS)
		return unsupported(b, (struct kql_pos){0, 1, 1}, "a query with more literals than",
		                   "32766");
	if (s->nparams == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		struct kql_param *p = realloc(s->params, cap * sizeof(*p));
		if (p == NULL)
			return b->failed = 1, -1;
		s->params = p;
		b->cap = cap;
	}
	s->params[s->nparams].v = *v;
	s->params[s->nparams++].type = type;
	return 0;
}

/* Adds a parameter and writes its placeholder. */
static int param(struct sqlb *b, const struct kql_value *v, enum proto_coltype type)
{
	if (param_add(b, v, type) != 0)
		return -1;
	fprintf(b->f, "?%zu", b->out->nparams);
	return 0;
}

static int param_text(struct sqlb *b, const char *s)
{
	struct kql_value v = {false, 0, 0, s};

	return param(b, &v, PROTO_T_STRING);
}

static int expr(struct sqlb *b, const struct kql_expr *e, const char *prefix);
static int pattern(struct sqlb *b, const struct kql_expr *e, const char *fmt, const char *prefix);

static int args(struct sqlb *b, const struct kql_expr *e, size_t from, const char *prefix)
{
	for (size_t i = from; i < e->nargs; i++) {
		if (i > from)
			fputs(", ", b->f);
		if (expr(b, e->args[i], prefix) != 0)
			return -1;
	}
	return 0;
}

/* "name(arg0, arg1 ...)" */
static int call(struct sqlb *b, const char *name, const struct kql_expr *e, const char *prefix)
{
	fprintf(b->f, "%s(", name);
	if (args(b, e, 0, prefix) != 0)
		return -1;
	fputc(')', b->f);
	return 0;
}

/* "name(arg0, arg1 ..., at)" */
static int call_at(struct sqlb *b, const char *name, const struct kql_expr *e, const char *prefix)
{
	fprintf(b->f, "%s(", name);
	if (args(b, e, 0, prefix) != 0)
		return -1;
	fprintf(b->f, ", %lld)", (long long)kql_exec_at(e->pos));
	return 0;
}

static int literal(struct sqlb *b, const struct kql_expr *e)
{
	struct kql_value v = {e->isnull, e->i, e->r, e->s};

	/* SQLite binds a NaN as null, which Kusto's NaN is not. */
	if (e->type == PROTO_T_REAL && !e->isnull && isnan(e->r))
		return unsupported(b, e->pos, "the NaN literal", "real(nan)");

	/* Kusto's strings are never null: string(null) is "". */
	if (e->type == PROTO_T_STRING && (e->isnull || e->s == NULL)) {
		v.isnull = false;
		v.s = "";
	}
	return param(b, &v, e->type);
}

/* A value as text the way tostring() and strcat() see it. */
static int text_of(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	if (e->type == PROTO_T_STRING)
		return expr(b, e, prefix);
	fputs("kql_tostring(", b->f);
	if (expr(b, e, prefix) != 0)
		return -1;
	fprintf(b->f, ", %d)", (int)e->type);
	return 0;
}

/* ---- operators ---- */

/* Operand i of a binary operator.  A dynamic value beside a scalar is
 * compared (or computed) by its value, not its JSON text: d.n > 3 and
 * d.u == 'x' read the number and the string inside. */
static int operand(struct sqlb *b, const struct kql_expr *e, int i, const char *prefix)
{
	bool unwrap =
	    e->args[i]->type == PROTO_T_DYNAMIC && e->args[1 - i]->type != PROTO_T_DYNAMIC;

	fputs(unwrap ? "(" : "", b->f);
	if (expr(b, e->args[i], prefix) != 0)
		return -1;
	fputs(unwrap ? " ->> '$')" : "", b->f);
	return 0;
}

/* Whether x is an int or long compared with other, a real: Kusto
 * compares the two as reals (the type rule of its numerical operators,
 * .NET's promotion), where SQLite compares them exactly, which differs
 * past 2^53 (9007199254740993 == 9007199254740992.0 is true in Kusto). */
static bool promotes(const struct kql_expr *x, const struct kql_expr *other)
{
	return (x->type == PROTO_T_INT || x->type == PROTO_T_LONG) && other->type == PROTO_T_REAL;
}

/* promotes() of operand i of e, beside the other */
static bool promoted(const struct kql_expr *e, int i)
{
	return promotes(e->args[i], e->args[1 - i]);
}

/* x, as a real when cast */
static int as_real(struct sqlb *b, const struct kql_expr *x, bool cast, const char *prefix)
{
	fputs(cast ? "CAST(" : "", b->f);
	if (expr(b, x, prefix) != 0)
		return -1;
	fputs(cast ? " AS REAL)" : "", b->f);
	return 0;
}

/* Operand i; of a comparison (cmp), an integer beside a real as a real. */
static int side(struct sqlb *b, const struct kql_expr *e, int i, bool cmp, const char *prefix)
{
	bool cast = cmp && promoted(e, i);

	fputs(cast ? "CAST(" : "", b->f);
	if (operand(b, e, i, prefix) != 0)
		return -1;
	fputs(cast ? " AS REAL)" : "", b->f);
	return 0;
}

/* "(a op b)" */
static int pair(struct sqlb *b, const struct kql_expr *e, const char *op, bool cmp,
                const char *prefix)
{
	fputc('(', b->f);
	if (side(b, e, 0, cmp, prefix) != 0)
		return -1;
	fprintf(b->f, " %s ", op);
	if (side(b, e, 1, cmp, prefix) != 0)
		return -1;
	fputc(')', b->f);
	return 0;
}

static int binop(struct sqlb *b, const struct kql_expr *e, const char *op, const char *prefix)
{
	return pair(b, e, op, false, prefix);
}

static int compare(struct sqlb *b, const struct kql_expr *e, const char *op, const char *prefix)
{
	return pair(b, e, op, true, prefix);
}

/* Kusto's == and !=: a null against a value is false for == and true for
 * !=; null against null is null. */
static int equality(struct sqlb *b, const struct kql_expr *e, bool eq, const char *prefix)
{
	/* against a value never null (a literal; a string is never null),
	 * IS and IS NOT say it all, and a filter reads faster */
	for (size_t i = 0; i < 2; i++)
		if (e->args[i]->kind == KQL_E_LIT &&
		    (!e->args[i]->isnull || e->args[i]->type == PROTO_T_STRING))
			return compare(b, e, eq ? "IS" : "IS NOT", prefix);
	fputs("(CASE WHEN ", b->f);
	if (expr(b, e->args[0], prefix) != 0)
		return -1;
	fputs(" IS NULL AND ", b->f);
	if (expr(b, e->args[1], prefix) != 0)
		return -1;
	fputs(" IS NULL THEN NULL ELSE ", b->f);
	if (compare(b, e, eq ? "IS" : "IS NOT", prefix) != 0)
		return -1;
	fputs(" END)", b->f);
	return 0;
}

static const struct {
	enum kql_op op;
	enum kql_strop code;
	bool negate;
} strops[] = {
    {KQL_OP_HAS, KQL_S_HAS, false},
    {KQL_OP_NOT_HAS, KQL_S_HAS, true},
    {KQL_OP_HAS_CS, KQL_S_HAS_CS, false},
    {KQL_OP_NOT_HAS_CS, KQL_S_HAS_CS, true},
    {KQL_OP_HASPREFIX, KQL_S_HASPREFIX, false},
    {KQL_OP_NOT_HASPREFIX, KQL_S_HASPREFIX, true},
    {KQL_OP_HASPREFIX_CS, KQL_S_HASPREFIX_CS, false},
    {KQL_OP_NOT_HASPREFIX_CS, KQL_S_HASPREFIX_CS, true},
    {KQL_OP_HASSUFFIX, KQL_S_HASSUFFIX, false},
    {KQL_OP_NOT_HASSUFFIX, KQL_S_HASSUFFIX, true},
    {KQL_OP_HASSUFFIX_CS, KQL_S_HASSUFFIX_CS, false},
    {KQL_OP_NOT_HASSUFFIX_CS, KQL_S_HASSUFFIX_CS, true},
    {KQL_OP_CONTAINS, KQL_S_CONTAINS, false},
    {KQL_OP_NOT_CONTAINS, KQL_S_CONTAINS, true},
    {KQL_OP_CONTAINS_CS, KQL_S_CONTAINS_CS, false},
    {KQL_OP_NOT_CONTAINS_CS, KQL_S_CONTAINS_CS, true},
    {KQL_OP_STARTSWITH, KQL_S_STARTSWITH, false},
    {KQL_OP_NOT_STARTSWITH, KQL_S_STARTSWITH, true},
    {KQL_OP_STARTSWITH_CS, KQL_S_STARTSWITH_CS, false},
    {KQL_OP_NOT_STARTSWITH_CS, KQL_S_STARTSWITH_CS, true},
    {KQL_OP_ENDSWITH, KQL_S_ENDSWITH, false},
    {KQL_OP_NOT_ENDSWITH, KQL_S_ENDSWITH, true},
    {KQL_OP_ENDSWITH_CS, KQL_S_ENDSWITH_CS, false},
    {KQL_OP_NOT_ENDSWITH_CS, KQL_S_ENDSWITH_CS, true},
    {KQL_OP_EQ_CI, KQL_S_EQ_CI, false},
    {KQL_OP_NE_CI, KQL_S_EQ_CI, true},
};

/* String operators: kql_strop(code, text(a), text(b)), negated for !has. */
static int strop(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	for (size_t i = 0; i < sizeof(strops) / sizeof(strops[0]); i++) {
		if (strops[i].op != e->op)
			continue;
		fprintf(b->f, "(%skql_strop(%d, ", strops[i].negate ? "NOT " : "",
		        (int)strops[i].code);
		if (text_of(b, e->args[0], prefix) != 0)
			return -1;
		fputs(", ", b->f);
		if (text_of(b, e->args[1], prefix) != 0)
			return -1;
		fputs("))", b->f);
		return 0;
	}
	return unsupported(b, e->pos, "the operator", kql_op_name(e->op));
}

/* One side of in: the value, case-folded for in~ (every letter, as =~). */
static int in_value(struct sqlb *b, const struct kql_expr *v, bool ci, const char *prefix)
{
	fputs(ci ? "kql_casefold(" : "", b->f);
	if ((ci ? text_of(b, v, prefix) : expr(b, v, prefix)) != 0)
		return -1;
	fputs(ci ? ")" : "", b->f);
	return 0;
}

enum in_group { IN_ALL, IN_EXACT, IN_REALS };

/* Whether v, a value of an in list, is in group g. */
static bool in_group_has(const struct kql_expr *v, enum in_group g)
{
	if (v->type == PROTO_T_DYNAMIC)
		return false;
	return g == IN_ALL || (v->type == PROTO_T_REAL) == (g == IN_REALS);
}

/* " OR x IN (": x as a real (cast) for the reals' group. */
static int in_head(struct sqlb *b, const struct kql_expr *e, bool ci, bool cast, const char *prefix)
{
	fputs(cast ? " OR CAST(" : " OR ", b->f);
	if (in_value(b, e->args[0], ci, prefix) != 0)
		return -1;
	fputs(cast ? " AS REAL) IN (" : " IN (", b->f);
	return 0;
}

/* Value j of the list; beside a real x, an integer as a real. */
static int in_item(struct sqlb *b, const struct kql_expr *e, size_t j, bool ci, const char *prefix)
{
	const struct kql_expr *v = e->args[j];

	if (!ci && promotes(v, e->args[0]))
		return as_real(b, v, true, prefix);
	return in_value(b, v, ci, prefix);
}

/* " OR x IN (v, ...)" of the list's scalars in group g (IN_REALS: the
 * reals beside an integer x, which is compared as a real, as == does;
 * IN_EXACT: the others); nothing when the group is empty. */
static int in_scalars(struct sqlb *b, const struct kql_expr *e, bool ci, enum in_group g,
                      const char *prefix)
{
	size_t n = 0;

	for (size_t j = 1; j < e->nargs; j++) {
		if (!in_group_has(e->args[j], g))
			continue;
		if (n++ > 0)
			fputs(", ", b->f);
		else if (in_head(b, e, ci, g == IN_REALS, prefix) != 0)
			return -1;
		if (in_item(b, e, j, ci, prefix) != 0)
			return -1;
	}
	fputs(n > 0 ? ")" : "", b->f);
	return 0;
}

/* in, !in, in~, !in~: x IN (the scalars), or in a dynamic array's
 * elements (x in (dynamic(["a", "b"])), as the documentation allows). */
static int in_list(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	bool ci = e->op == KQL_OP_IN_CI || e->op == KQL_OP_NOT_IN_CI;
	bool neg = e->op == KQL_OP_NOT_IN || e->op == KQL_OP_NOT_IN_CI;
	enum proto_coltype t = e->args[0]->type;
	bool split = t == PROTO_T_INT || t == PROTO_T_LONG;

	fputs(neg ? "(NOT (0" : "((0", b->f);
	if (in_scalars(b, e, ci, split ? IN_EXACT : IN_ALL, prefix) != 0 ||
	    (split && in_scalars(b, e, ci, IN_REALS, prefix) != 0))
		return -1;
	for (size_t i = 1; i < e->nargs; i++) {
		if (e->args[i]->type != PROTO_T_DYNAMIC)
			continue;
		fputs(" OR ", b->f);
		if (in_value(b, e->args[0], ci, prefix) != 0)
			return -1;
		fputs(ci ? " IN (SELECT kql_casefold(value) FROM json_each("
		         : " IN (SELECT value FROM json_each(",
		      b->f);
		if (expr(b, e->args[i], prefix) != 0)
			return -1;
		fputs("))", b->f);
	}
	fputs("))", b->f);
	return 0;
}

/* between (lo .. hi); a datetime between (lo .. 1d) ends at lo + 1d. */
/* x between (lo .. hi), as x >= lo and x <= hi: each pair promoted as
 * compare does; when only one bound is a real beside an integer x, x is
 * read twice, once as a real. */
static int between_pairs(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	const struct kql_expr *x = e->args[0], *lo = e->args[1], *hi = e->args[2];

	fputs(e->op == KQL_OP_NOT_BETWEEN ? "(NOT (" : "((", b->f);
	if (as_real(b, x, promotes(x, lo), prefix) != 0)
		return -1;
	fputs(" >= ", b->f);
	if (as_real(b, lo, false, prefix) != 0)
		return -1;
	fputs(" AND ", b->f);
	if (as_real(b, x, promotes(x, hi), prefix) != 0)
		return -1;
	fputs(" <= ", b->f);
	if (as_real(b, hi, false, prefix) != 0)
		return -1;
	fputs("))", b->f);
	return 0;
}

static int between(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	const struct kql_expr *x = e->args[0], *lo = e->args[1], *hi = e->args[2];
	bool span = x->type == PROTO_T_DATETIME && hi->type == PROTO_T_TIMESPAN;

	if (promotes(x, lo) != promotes(x, hi))
		return between_pairs(b, e, prefix);
	/* an integer beside reals, or a real beside integers: as reals */
	fputc('(', b->f);
	if (as_real(b, x, promotes(x, lo), prefix) != 0)
		return -1;
	fprintf(b->f, " %sBETWEEN ", e->op == KQL_OP_NOT_BETWEEN ? "NOT " : "");
	if (as_real(b, lo, promotes(lo, x), prefix) != 0)
		return -1;
	fputs(" AND ", b->f);
	if (span && (fputc('(', b->f), expr(b, lo, prefix) != 0))
		return -1;
	fputs(span ? " + " : "", b->f);
	if (as_real(b, hi, promotes(hi, x), prefix) != 0)
		return -1;
	fputs(span ? "))" : ")", b->f);
	return 0;
}

static bool integral(enum proto_coltype t)
{
	return t == PROTO_T_INT || t == PROTO_T_LONG || t == PROTO_T_DATETIME ||
	       t == PROTO_T_TIMESPAN || t == PROTO_T_BOOL;
}

/* ", at" (kql_exec_at): the query position a function names when it
 * refuses a value; a number of the parser's, not the query's text. */
static void write_at(struct sqlb *b, const struct kql_expr *e)
{
	fprintf(b->f, ", %lld", (long long)kql_exec_at(e->pos));
}

/* fn(code, a, b, at): real arithmetic (+inf for 1.0 / 0, a NaN refused),
 * a long's / and % (a division by zero refused), where SQLite's
 * operators would answer null. */
static int checked_arith(struct sqlb *b, const struct kql_expr *e, const char *fn,
                         const char *prefix)
{
	fprintf(b->f, "%s(%d, ", fn, (int)(e->op - KQL_OP_ADD));
	if (operand(b, e, 0, prefix) != 0)
		return -1;
	fputs(", ", b->f);
	if (operand(b, e, 1, prefix) != 0)
		return -1;
	write_at(b, e);
	fputc(')', b->f);
	return 0;
}

static bool leaf(const struct kql_expr *e)
{
	return e->kind == KQL_E_COL || e->kind == KQL_E_LIT;
}

/* pre a mid b post: e's two operands inside the text of a cast. */
static int around(struct sqlb *b, const struct kql_expr *e, const char *pre, const char *mid,
                  const char *post, const char *prefix)
{
	fputs(pre, b->f);
	if (expr(b, e->args[0], prefix) != 0)
		return -1;
	fputs(mid, b->f);
	if (expr(b, e->args[1], prefix) != 0)
		return -1;
	fputs(post, b->f);
	return 0;
}

/* "(CAST(a AS REAL) op b)": integers whose Kusto result is real */
static int to_real_op(struct sqlb *b, const struct kql_expr *e, const char *op, const char *prefix)
{
	char mid[16];

	(void)snprintf(mid, sizeof(mid), " AS REAL) %s ", op);
	return around(b, e, "(CAST(", mid, ")", prefix);
}

/* "CAST(a op b AS INTEGER)": whole ticks */
static int to_int_op(struct sqlb *b, const struct kql_expr *e, const char *op, const char *prefix)
{
	char mid[8];

	(void)snprintf(mid, sizeof(mid), " %s ", op);
	return around(b, e, "CAST(", mid, " AS INTEGER)", prefix);
}

/* The results SQLite's integer + - * give exactly for a result of type t:
 * an overflow there is a real outside them (-2^63 exactly is left out:
 * a result just below it rounds to it). */
static const char *exact_range(enum proto_coltype t)
{
	switch (t) {
	case PROTO_T_DATETIME:
		return "BETWEEN -621355968000000000 AND 2534023007999999999";
	case PROTO_T_INT:
		return "BETWEEN -2147483648 AND 2147483647";
	default:
		return "BETWEEN -9223372036854775807 AND 9223372036854775807";
	}
}

/* "a mid b", or for unary minus "0 mid x" */
static int int_operands(struct sqlb *b, const struct kql_expr *e, const char *mid,
                        const char *prefix)
{
	if (e->nargs == 1)
		fputc('0', b->f);
	else if (expr(b, e->args[0], prefix) != 0)
		return -1;
	fputs(mid, b->f);
	return expr(b, e->args[e->nargs - 1], prefix);
}

/* Whether e is + - * or unary minus of integers written by checked_int. */
static bool checks_int(const struct kql_expr *e)
{
	enum proto_coltype t = e->type;

	if (e->kind != KQL_E_OP)
		return false;
	if (e->op == KQL_OP_NEG)
		return t == PROTO_T_LONG || t == PROTO_T_INT || t == PROTO_T_TIMESPAN;
	if (e->op < KQL_OP_ADD || e->op > KQL_OP_MUL || e->nargs != 2 ||
	    e->args[0]->type == PROTO_T_REAL || e->args[1]->type == PROTO_T_REAL)
		return false;
	return t == PROTO_T_LONG || t == PROTO_T_INT || t == PROTO_T_TIMESPAN ||
	       t == PROTO_T_DATETIME;
}

#define CHEAP_DEPTH 3 /* nested checks written twice: the SQL grows 2^depth */

/* Whether e is written without a function call: a column, a literal, or
 * a check over such operands (nested at most depth deep), which can then
 * be written twice. */
static bool cheap(const struct kql_expr *e, int depth)
{
	if (leaf(e))
		return true;
	if (depth <= 0 || !checks_int(e))
		return false;
	for (size_t i = 0; i < e->nargs; i++)
		if (!cheap(e->args[i], depth - 1))
			return false;
	return true;
}

/* + - * (and unary minus) of integers, ticks included: kql_iarith refuses
 * a result out of e's type's range, where SQLite's operator makes a real
 * of an overflow (9223372036854775807 + 1 was answered clamped).  Over
 * operands written without a call (cheap) SQLite's operator runs first,
 * and the function only where its result is not exact: one comparison a
 * row (sum(x * 2) over 2,000,000 rows: see README.md).  The operands are
 * exact integers there (checked themselves), so an overflow is a real
 * outside the range, never a real that cancelled back into it. */
static int checked_int(struct sqlb *b, const struct kql_expr *e, enum kql_arith code,
                       const char *prefix)
{
	bool fast =
	    cheap(e->args[0], CHEAP_DEPTH - 1) && cheap(e->args[e->nargs - 1], CHEAP_DEPTH - 1);
	char mid[8];

	(void)snprintf(mid, sizeof(mid), " %c ", "+-*"[code]);
	if (fast) {
		fputs("(CASE WHEN (", b->f);
		if (int_operands(b, e, mid, prefix) != 0)
			return -1;
		fprintf(b->f, ") %s THEN (", exact_range(e->type));
		if (int_operands(b, e, mid, prefix) != 0)
			return -1;
		fputs(") ELSE ", b->f);
	}
	fprintf(b->f, "kql_iarith(%d, ", (int)code);
	if (int_operands(b, e, ", ", prefix) != 0)
		return -1;
	fprintf(b->f, ", %d", (int)e->type);
	write_at(b, e);
	fputs(fast ? ") END)" : ")", b->f);
	return 0;
}

/* Arithmetic whose SQL result type differs from Kusto's: timespan / 2.5
 * stays whole ticks, timespan / timespan and long / real are real. */
static int arith(struct sqlb *b, const struct kql_expr *e, const char *op, const char *prefix)
{
	bool to_int = e->type == PROTO_T_TIMESPAN || e->type == PROTO_T_DATETIME;
	bool to_real =
	    e->type == PROTO_T_REAL && integral(e->args[0]->type) && integral(e->args[1]->type);

	/* SQLite's own + - * of reals differ only where theirs is null: a
	 * NaN, or a null operand (then kql_real's too), so it runs first;
	 * only over columns and literals, which the fallback repeats (nested
	 * expressions written twice would grow the SQL exponentially) */
	if (e->type == PROTO_T_REAL && e->op <= KQL_OP_MUL && leaf(e->args[0]) &&
	    leaf(e->args[1])) {
		fputs("coalesce(", b->f);
		if ((to_real ? to_real_op(b, e, op, prefix) : binop(b, e, op, prefix)) != 0)
			return -1;
		fputs(", ", b->f);
		if (checked_arith(b, e, "kql_real", prefix) != 0)
			return -1;
		fputc(')', b->f);
		return 0;
	}
	if (e->type == PROTO_T_REAL)
		return checked_arith(b, e, "kql_real", prefix);
	if ((e->type == PROTO_T_LONG || e->type == PROTO_T_INT) &&
	    (e->op == KQL_OP_DIV || e->op == KQL_OP_MOD))
		return checked_arith(b, e, "kql_long", prefix);
	if (checks_int(e))
		return checked_int(b, e, (enum kql_arith)(e->op - KQL_OP_ADD), prefix);
	if (!to_int && !to_real)
		return binop(b, e, op, prefix);
	/* a timespan times or divided by a real: past the range refused */
	if (to_int && (e->op == KQL_OP_MUL || e->op == KQL_OP_DIV) &&
	    (e->args[0]->type == PROTO_T_REAL || e->args[1]->type == PROTO_T_REAL))
		return checked_arith(b, e, "kql_ticks", prefix);
	/* a timespan divided by a long: whole ticks, a division by zero
	 * refused (SQLite's would be null) */
	if (to_int && e->op == KQL_OP_DIV)
		return checked_arith(b, e, "kql_long", prefix);
	return to_real ? to_real_op(b, e, op, prefix) : to_int_op(b, e, op, prefix);
}

/* The operands of an and/or chain ((a and b) and c), flat: "a AND b AND
 * c" means the same to SQLite without a parenthesis a level. */
static int logic_operands(struct sqlb *b, const struct kql_expr *e, const char *op,
                          const char *prefix)
{
	const struct kql_expr *l = e->args[0];
	bool chain =
	    l->kind == KQL_E_OP && l->op == e->op && (!b->hoist || kql_hoist_find(b->hoist, l) < 0);

	if ((chain ? logic_operands(b, l, op, prefix) : operand(b, e, 0, prefix)) != 0)
		return -1;
	fprintf(b->f, " %s ", op);
	return operand(b, e, 1, prefix);
}

static int logic(struct sqlb *b, const struct kql_expr *e, const char *op, const char *prefix)
{
	fputc('(', b->f);
	if (logic_operands(b, e, op, prefix) != 0)
		return -1;
	fputc(')', b->f);
	return 0;
}

static int op(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	switch (e->op) {
	case KQL_OP_OR:
		return logic(b, e, "OR", prefix);
	case KQL_OP_AND:
		return logic(b, e, "AND", prefix);
	case KQL_OP_EQ:
		return equality(b, e, true, prefix);
	case KQL_OP_NE:
		return equality(b, e, false, prefix);
	case KQL_OP_LT:
		return compare(b, e, "<", prefix);
	case KQL_OP_LE:
		return compare(b, e, "<=", prefix);
	case KQL_OP_GT:
		return compare(b, e, ">", prefix);
	case KQL_OP_GE:
		return compare(b, e, ">=", prefix);
	case KQL_OP_ADD:
		return arith(b, e, "+", prefix);
	case KQL_OP_SUB:
		return arith(b, e, "-", prefix);
	case KQL_OP_MUL:
		return arith(b, e, "*", prefix);
	case KQL_OP_DIV:
		return arith(b, e, "/", prefix);
	case KQL_OP_MOD:
		/* Kusto's modulo is never negative: -14 % 12 is 10, 14 % -12 is 2
		 * (kql_long, kql_real). */
		return arith(b, e, "%", prefix);
	case KQL_OP_NEG:
		if (checks_int(e))
			return checked_int(b, e, KQL_A_SUB, prefix);
		fputs("(- ", b->f);
		if (expr(b, e->args[0], prefix) != 0)
			return -1;
		fputc(')', b->f);
		return 0;
	case KQL_OP_MATCHES_REGEX:
		return call_at(b, "kql_regex", e, prefix);
	case KQL_OP_IN:
	case KQL_OP_NOT_IN:
	case KQL_OP_IN_CI:
	case KQL_OP_NOT_IN_CI:
		return in_list(b, e, prefix);
	case KQL_OP_BETWEEN:
	case KQL_OP_NOT_BETWEEN:
		return between(b, e, prefix);
	default:
		return strop(b, e, prefix);
	}
}

/* ---- function calls ---- */

/* "fmt" with each %s replaced in turn by args[0], args[1] ... (an
 * argument may appear more than once: write it again). */
static int pattern(struct sqlb *b, const struct kql_expr *e, const char *fmt, const char *prefix)
{
	for (const char *c = fmt; *c != '\0'; c++) {
		if (c[0] == '%' && c[1] >= '0' && c[1] <= '9') {
			size_t i = (size_t)(c[1] - '0');
			if (i >= e->nargs || expr(b, e->args[i], prefix) != 0)
				return -1;
			c++;
		} else {
			fputc(*c, b->f);
		}
	}
	return 0;
}

static int concat(struct sqlb *b, const struct kql_expr *e, size_t from, int delim,
                  const char *prefix)
{
	fputc('(', b->f);
	for (size_t i = from; i < e->nargs; i++) {
		if (i > from && fputs(" || ", b->f) >= 0 && delim >= 0) {
			if (text_of(b, e->args[delim], prefix) != 0)
				return -1;
			fputs(" || ", b->f);
		}
		if (text_of(b, e->args[i], prefix) != 0)
			return -1;
	}
	fputc(')', b->f);
	return 0;
}

static int one_text_arg(struct sqlb *b, const char *fn, const struct kql_expr *e,
                        const char *prefix)
{
	fprintf(b->f, "%s(", fn);
	if (text_of(b, e->args[0], prefix) != 0)
		return -1;
	fputc(')', b->f);
	return 0;
}

/* now() and ago(): ?1 is now(); now(offset) and ago(offset) past a
 * datetime's range refused (kql_iarith: a constant offset is evaluated
 * once, SQLite factors the call out of the row loop). */
static int now_plus(struct sqlb *b, const struct kql_expr *e, int sign, const char *prefix)
{
	if (e->nargs == 0) {
		fputs("(?1)", b->f);
		return 0;
	}
	fprintf(b->f, "kql_iarith(%d, ?1, ", sign < 0 ? KQL_A_SUB : KQL_A_ADD);
	if (expr(b, e->args[0], prefix) != 0)
		return -1;
	fprintf(b->f, ", %d", PROTO_T_DATETIME);
	write_at(b, e);
	fputc(')', b->f);
	return 0;
}

static int coded(struct sqlb *b, const char *fn, int code, bool with_at, const struct kql_expr *e,
                 const char *prefix)
{
	fprintf(b->f, "%s(%d, ", fn, code);
	if (args(b, e, 0, prefix) != 0)
		return -1;
	if (with_at)
		write_at(b, e);
	fputc(')', b->f);
	return 0;
}

/* case(p1, v1, p2, v2, ..., else) */
/* Whether x, the else of an iff or case, is one too, written into the
 * same CASE (not when it is a hoisted column). */
static bool else_chain(const struct sqlb *b, const struct kql_expr *x)
{
	return x->kind == KQL_E_CALL && (x->fn == KQL_F_IFF || x->fn == KQL_F_CASE) &&
	       (!b->hoist || kql_hoist_find(b->hoist, x) < 0);
}

/* iff and case: one CASE for a chain of them in the else place
 * (iff(a, x, iff(b, y, z)): WHEN a THEN x WHEN b THEN y ELSE z). */
static int case_of(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	fputs("(CASE", b->f);
	for (;;) {
		for (size_t i = 0; i + 1 < e->nargs; i += 2) {
			fputs(" WHEN ", b->f);
			if (expr(b, e->args[i], prefix) != 0)
				return -1;
			fputs(" THEN ", b->f);
			if (expr(b, e->args[i + 1], prefix) != 0)
				return -1;
		}
		if (!else_chain(b, e->args[e->nargs - 1]))
			break;
		e = e->args[e->nargs - 1];
	}
	fputs(" ELSE ", b->f);
	if (expr(b, e->args[e->nargs - 1], prefix) != 0)
		return -1;
	fputs(" END)", b->f);
	return 0;
}

/* min_of, max_of: nulls are ignored, all null gives null. */
static int extreme_of(struct sqlb *b, const struct kql_expr *e, const char *agg, const char *prefix)
{
	fprintf(b->f, "(SELECT %s(v) FROM (", agg);
	for (size_t i = 0; i < e->nargs; i++) {
		fputs(i > 0 ? " UNION ALL SELECT " : "SELECT ", b->f);
		if (expr(b, e->args[i], prefix) != 0)
			return -1;
		fputs(" AS v", b->f);
	}
	fputs("))", b->f);
	return 0;
}

static int jreal(struct sqlb *b, const struct kql_expr *e, const char *prefix);

/* Whether a conversion goes between a datetime or timespan (t) and a
 * number (n): tolong(1h), todatetime(1) were their texts' (null; "1" read
 * as a day), where Kusto's answers (ticks?) are not documented. */
static bool time_number(enum proto_coltype t, enum proto_coltype n)
{
	return (t == PROTO_T_DATETIME || t == PROTO_T_TIMESPAN) &&
	       (n == PROTO_T_INT || n == PROTO_T_LONG || n == PROTO_T_REAL);
}

static int conversion(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	if (e->args[0]->type == e->type && e->type != PROTO_T_DYNAMIC)
		return expr(b, e->args[0], prefix);
	/* A bool is 1 or 0 to the number conversions (the bool type's page). */
	if (e->args[0]->type == PROTO_T_BOOL &&
	    (e->type == PROTO_T_INT || e->type == PROTO_T_LONG || e->type == PROTO_T_REAL))
		return e->type == PROTO_T_REAL ? pattern(b, e, "CAST(%0 AS REAL)", prefix)
		                               : expr(b, e->args[0], prefix);
	/* An int or long is true when not zero (tobool's page: tobool(123)
	 * is true); its text "123" was no bool, null.  A real's answer is
	 * not documented (its text "2.5" gave null). */
	if (e->fn == KQL_F_TOBOOL &&
	    (e->args[0]->type == PROTO_T_INT || e->args[0]->type == PROTO_T_LONG))
		return pattern(b, e, "(%0 <> 0)", prefix);
	if (e->fn == KQL_F_TOBOOL && e->args[0]->type == PROTO_T_REAL)
		return unsupported(b, e->pos, "the function", "tobool (of a real)");
	if (time_number(e->type, e->args[0]->type) || time_number(e->args[0]->type, e->type))
		return unsupported(b, e->pos, "the function",
		                   e->args[0]->type == PROTO_T_DATETIME ? "to<number> of a datetime"
		                   : e->args[0]->type == PROTO_T_TIMESPAN
		                       ? "to<number> of a timespan"
		                   : e->type == PROTO_T_DATETIME ? "todatetime of a number"
		                                                 : "totimespan of a number");
	switch (e->fn) {
	case KQL_F_TOSTRING:
		return text_of(b, e->args[0], prefix);
	case KQL_F_TODYNAMIC:
		if (e->args[0]->type == PROTO_T_REAL)
			return jreal(b, e->args[0], prefix);
		if (e->args[0]->type == PROTO_T_DYNAMIC)
			return expr(b, e->args[0], prefix);
		/* text that is no JSON stays a string; JSON null is null */
		if (pattern(b, e,
		            "(CASE WHEN %0 = '' THEN NULL WHEN NOT json_valid(%0) THEN "
		            "json_quote(%0) ELSE kql_todynamic(%0",
		            prefix) != 0)
			return -1;
		fprintf(b->f, ", %lld) END)", (long long)kql_exec_at(e->pos));
		return 0;
	default:
		break;
	}
	fprintf(b->f, "kql_convert(%d, ", (int)e->type);
	if (text_of(b, e->args[0], prefix) != 0)
		return -1;
	write_at(b, e);
	fputc(')', b->f);
	return 0;
}

/* Functions that are one SQL form: a pattern over the arguments (%0, %1
 * ...), a call of a function with all of them, or a call with a leading
 * code. */
enum sql_form { FORM_PATTERN, FORM_CALL, FORM_CALL_AT, FORM_CODED, FORM_CODED_AT };

static const struct {
	enum kql_fn fn;
	enum sql_form form;
	const char *text;
	int code;
} sql_forms[] = {
    {KQL_F_NOT, FORM_PATTERN, "(NOT %0)", 0},
    {KQL_F_ISNULL, FORM_PATTERN, "(%0 IS NULL)", 0},
    {KQL_F_ISNOTNULL, FORM_PATTERN, "(%0 IS NOT NULL)", 0},
    {KQL_F_ISEMPTY, FORM_PATTERN, "(%0 IS NULL OR %0 = '')", 0},
    {KQL_F_ISNOTEMPTY, FORM_PATTERN, "(%0 IS NOT NULL AND %0 <> '')", 0},
    {KQL_F_ARRAY_LENGTH, FORM_PATTERN,
     "(CASE WHEN json_valid(%0) AND json_type(%0) = 'array' THEN json_array_length(%0) END)", 0},
    {KQL_F_BAG_KEYS, FORM_PATTERN,
     "(CASE WHEN json_valid(%0) AND json_type(%0) = 'object' THEN (SELECT "
     "json_group_array(key) FROM json_each(%0)) END)",
     0},
    {KQL_F_SPLIT, FORM_CALL_AT, "kql_split", 0},
    {KQL_F_REPLACE_STRING, FORM_CALL, "replace", 0},
    {KQL_F_INDEXOF, FORM_CALL, "kql_indexof", 0},
    {KQL_F_TRIM, FORM_CALL_AT, "kql_trim", 0},
    {KQL_F_DATETIME_ADD, FORM_CALL_AT, "kql_dtadd", 0},
    {KQL_F_DATETIME_DIFF, FORM_CALL_AT, "kql_dtdiff", 0},
    {KQL_F_DATETIME_PART, FORM_CALL_AT, "kql_dtpart", 0},
    {KQL_F_FORMAT_DATETIME, FORM_CALL_AT, "kql_format_datetime", 0},
    {KQL_F_DAYOFWEEK, FORM_CALL, "kql_dayofweek", 0},
    {KQL_F_ABS, FORM_CALL, "abs", 0},
    {KQL_F_STARTOFDAY, FORM_CODED_AT, "kql_startof", KQL_U_DAY},
    {KQL_F_STARTOFWEEK, FORM_CODED_AT, "kql_startof", KQL_U_WEEK},
    {KQL_F_STARTOFMONTH, FORM_CODED_AT, "kql_startof", KQL_U_MONTH},
    {KQL_F_STARTOFYEAR, FORM_CODED_AT, "kql_startof", KQL_U_YEAR},
    {KQL_F_ENDOFDAY, FORM_CODED_AT, "kql_startof", KQL_U_ENDOFDAY},
    {KQL_F_CEILING, FORM_CODED_AT, "kql_math", 0},
    {KQL_F_SQRT, FORM_CODED_AT, "kql_math", 1},
    {KQL_F_LOG, FORM_CODED_AT, "kql_math", 2},
    {KQL_F_LOG10, FORM_CODED_AT, "kql_math", 3},
    {KQL_F_EXP, FORM_CODED_AT, "kql_math", 4},
    {KQL_F_POW, FORM_CODED_AT, "kql_math", 5},
};

static int simple_form(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	for (size_t i = 0; i < sizeof(sql_forms) / sizeof(sql_forms[0]); i++) {
		if (sql_forms[i].fn != e->fn)
			continue;
		switch (sql_forms[i].form) {
		case FORM_PATTERN:
			return pattern(b, e, sql_forms[i].text, prefix);
		case FORM_CALL:
			return call(b, sql_forms[i].text, e, prefix);
		case FORM_CALL_AT:
			return call_at(b, sql_forms[i].text, e, prefix);
		case FORM_CODED:
		case FORM_CODED_AT:
			return coded(b, sql_forms[i].text, sql_forms[i].code,
			             sql_forms[i].form == FORM_CODED_AT, e, prefix);
		}
	}
	return 1; /* not a simple form */
}

/* coalesce of strings: the first that is not empty ("" when all are). */
static int coalesce_strings(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	fputs("coalesce(", b->f);
	for (size_t i = 0; i < e->nargs; i++) {
		fputs("nullif(", b->f);
		if (expr(b, e->args[i], prefix) != 0)
			return -1;
		fputs(", ''), ", b->f);
	}
	fputs("'')", b->f);
	return 0;
}

/* abs of an integer or a timespan: kql_abs refuses |long.MinValue|,
 * which SQLite's abs fails on as an engine error. */
static int int_abs(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	fputs("kql_abs(", b->f);
	if (expr(b, e->args[0], prefix) != 0)
		return -1;
	fprintf(b->f, ", %d", (int)e->type);
	write_at(b, e);
	fputc(')', b->f);
	return 0;
}

static int scalar_call(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	if (e->fn == KQL_F_ABS && integral(e->type))
		return int_abs(b, e, prefix);
	if (e->fn == KQL_F_IFF || e->fn == KQL_F_CASE)
		return case_of(b, e, prefix);
	int r = simple_form(b, e, prefix);

	if (r <= 0)
		return r;
	switch (e->fn) {
	case KQL_F_DYN_GET:
		/* A JSON null member or element is Kusto's null (SQL NULL), not
		 * the text null; a negative index counts from the end (d[-1]). */
		return integral(e->args[1]->type)
		           ? pattern(b, e,
		                     "nullif(%0 -> (CASE WHEN %1 < 0 THEN '$[#' || %1 || ']' "
		                     "ELSE %1 END), 'null')",
		                     prefix)
		           : pattern(b, e, "nullif(%0 -> %1, 'null')", prefix);
	case KQL_F_COALESCE:
		return e->type == PROTO_T_STRING ? coalesce_strings(b, e, prefix)
		                                 : call(b, "coalesce", e, prefix);
	case KQL_F_BIN:
		/* Datetimes bin from 0001-01-01 (DateTime's ticks), not 1970:
		 * bin(t, 7d) starts weeks on Mondays as Kusto does. */
		return e->args[0]->type == PROTO_T_DATETIME
		           ? pattern(
		                 b, e,
		                 "(kql_bin(%0 + 621355968000000000, %1, 0) - 621355968000000000)",
		                 prefix)
		           : call_at(b, "kql_bin", e, prefix);
	case KQL_F_STRLEN:
		return one_text_arg(b, "length", e, prefix);
	case KQL_F_TOLOWER:
		return one_text_arg(b, "kql_lower", e, prefix);
	case KQL_F_TOUPPER:
		return one_text_arg(b, "kql_upper", e, prefix);
	case KQL_F_SUBSTRING:
		return call_at(b, "kql_substring", e, prefix);
	case KQL_F_STRCAT:
		return concat(b, e, 0, -1, prefix);
	case KQL_F_STRCAT_DELIM:
		return concat(b, e, 1, 0, prefix);
	case KQL_F_EXTRACT:
		return call_at(b, "kql_extract", e, prefix);
	case KQL_F_TOSTRING:
	case KQL_F_TOINT:
	case KQL_F_TOLONG:
	case KQL_F_TOREAL:
	case KQL_F_TOBOOL:
	case KQL_F_TODATETIME:
	case KQL_F_TOTIMESPAN:
	case KQL_F_TOGUID:
	case KQL_F_TODYNAMIC:
		return conversion(b, e, prefix);
	case KQL_F_AGO:
		return now_plus(b, e, -1, prefix);
	case KQL_F_NOW:
		return now_plus(b, e, 1, prefix);
	case KQL_F_ROUND:
		/* an int or long with no digits is itself; with digits (-2:
		 * hundreds) it is rounded as a real is */
		return (e->type == PROTO_T_LONG || e->type == PROTO_T_INT) && e->nargs == 1
		           ? expr(b, e->args[0], prefix)
		           : call_at(b, "kql_round", e, prefix);
	case KQL_F_INGESTION_TIME:
		fprintf(b->f, "%s" INGEST_SQL, prefix);
		return 0;
	case KQL_F_MIN_OF:
		return extreme_of(b, e, "min", prefix);
	case KQL_F_MAX_OF:
		return extreme_of(b, e, "max", prefix);
	default:
		break;
	}
	return unsupported(b, e->pos, "the function", kql_func_get(e->fn)->name);
}

/* kql_jreal(x, at): a real into JSON, an infinity refused */
static int jreal(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	fputs("kql_jreal(", b->f);
	if (expr(b, e, prefix) != 0)
		return -1;
	write_at(b, e);
	fputc(')', b->f);
	return 0;
}

/* A value in a dynamic array built by make_set/make_list: datetimes and
 * timespans as Kusto's text, dynamic values as JSON. */
static int json_item(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	if (e->type == PROTO_T_DYNAMIC) {
		fputs("json(", b->f);
		if (expr(b, e, prefix) != 0)
			return -1;
		fputc(')', b->f);
		return 0;
	}
	if (e->type == PROTO_T_DATETIME || e->type == PROTO_T_TIMESPAN || e->type == PROTO_T_GUID)
		return text_of(b, e, prefix);
	if (e->type == PROTO_T_REAL)
		return jreal(b, e, prefix);
	/* bools are JSON's true and false, not SQLite's 1 and 0 */
	if (e->type == PROTO_T_BOOL) {
		fputs("json(CASE WHEN ", b->f);
		if (expr(b, e, prefix) != 0)
			return -1;
		fputs(" THEN 'true' WHEN ", b->f);
		if (expr(b, e, prefix) != 0)
			return -1;
		fputs(" IS NOT NULL THEN 'false' END)", b->f);
		return 0;
	}
	return expr(b, e, prefix);
}

static int collect_all(struct sqlb *b, const struct kql_expr *e, bool distinct, const char *prefix)
{
	/* A dynamic array's elements join the set one by one. */
	if (e->args[0]->type == PROTO_T_DYNAMIC) {
		fprintf(b->f, "kql_collect(%d, ", distinct);
		if (expr(b, e->args[0], prefix) != 0)
			return -1;
		fputc(')', b->f);
		return 0;
	}
	fprintf(b->f, "json_group_array(%s", distinct ? "DISTINCT " : "");
	if (json_item(b, e->args[0], prefix) != 0)
		return -1;
	fputs(") FILTER (WHERE ", b->f);
	if (expr(b, e->args[0], prefix) != 0)
		return -1;
	fputs(" IS NOT NULL)", b->f);
	return 0;
}

void kql_dcount_parts(const struct kql_expr *e, const struct kql_expr **x,
                      const struct kql_expr **pred, int *acc)
{
	size_t at = 1;

	*x = e->args[0];
	*pred = NULL;
	if (e->nargs > 1 && e->fn != KQL_F_DCOUNT && e->args[1]->type == PROTO_T_BOOL)
		*pred = e->args[at++];
	*acc = at < e->nargs ? (int)e->args[at]->i : KQL_HLL_DEFAULT;
}

/* fn(x, accuracy) of a dcount, dcountif or its state (kql_hll.h); the
 * accuracy a number the binder checked, not the query's text. */
static int dcount(struct sqlb *b, const struct kql_expr *e, const char *fn, const char *prefix)
{
	const struct kql_expr *x, *pred;
	int acc;

	kql_dcount_parts(e, &x, &pred, &acc);
	fprintf(b->f, "%s(", fn);
	if (pred) {
		fputs("CASE WHEN ", b->f);
		if (expr(b, pred, prefix) != 0)
			return -1;
		fputs(" THEN ", b->f);
	}
	if (expr(b, x, prefix) != 0)
		return -1;
	fprintf(b->f, "%s, %d)", pred ? " END" : "", acc);
	return 0;
}

/* make_list/make_set's merge: the partitions' arrays joined in their
 * order (kql_concat's mode 0 list, 1 set, 2 set of dynamic values), past
 * max elements cut as the whole plan's kql_array_head cuts. */
static int concat_merge(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	int mode = e->fn == KQL_F_M_LIST ? 0 : e->fn == KQL_F_M_SET ? 1 : 2;

	if (e->nargs < 3) {
		fprintf(b->f, "kql_concat(%d, ", mode);
		if (pattern(b, e, "%0, %1, ", prefix) != 0)
			return -1;
		fprintf(b->f, "%d)", KQL_COLLECT_MAX);
		return 0;
	}
	fprintf(b->f, "kql_array_head(kql_concat(%d, ", mode);
	return pattern(b, e, "%0, %1, %2), %2)", prefix);
}

/* The aggregates of split plans (kql_split.h): partial states per
 * partition and their merges.  avg's state of integers is their exact
 * sum (kql_tsum), a real sum of reals; a dcount's state is its
 * HyperLogLog state as text (kql_hll.h). */
static int split_call(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	bool cond = e->nargs > 1;

	switch (e->fn) {
	case KQL_F_P_COUNTNN:
		return pattern(b, e, cond ? "count(CASE WHEN %1 THEN %0 END)" : "count(%0)",
		               prefix);
	case KQL_F_P_DSET:
		return dcount(b, e, "kql_dstate", prefix);
	case KQL_F_M_AVG:
		return pattern(b, e,
		               e->type == PROTO_T_TIMESPAN
		                   ? "CAST(round(CAST(sum(%0) AS REAL) / sum(%1)) AS INTEGER)"
		                   : "CAST(sum(%0) AS REAL) / sum(%1)",
		               prefix);
	case KQL_F_M_DCOUNT:
		return call(b, "kql_dmerge", e, prefix);
	case KQL_F_P_TSUM:
		return pattern(b, e, cond ? "kql_tsum(CASE WHEN %1 THEN %0 END)" : "kql_tsum(%0)",
		               prefix);
	case KQL_F_M_TAVG:
		return call(b, "kql_tmerge", e, prefix);
	case KQL_F_P_PSET:
		return call(b, "kql_pstate", e, prefix);
	case KQL_F_M_PCT:
		return call(b, "kql_pmerge", e, prefix);
	case KQL_F_M_IAVG:
		return pattern(b, e,
		               e->type == PROTO_T_TIMESPAN
		                   ? "CAST(round(kql_imerge(%0)) AS INTEGER)"
		                   : "kql_imerge(%0)",
		               prefix);
	case KQL_F_P_ROW: /* a bare column: SQLite takes all from one row */
		return pattern(b, e, "%0", prefix);
	case KQL_F_M_ARGMAX:
		return pattern(b, e, "kql_argmerge(1, %0, %1, %2, %3)", prefix);
	case KQL_F_M_ARGMIN:
		return pattern(b, e, "kql_argmerge(-1, %0, %1, %2, %3)", prefix);
	case KQL_F_M_LIST:
	case KQL_F_M_SET:
	case KQL_F_M_SET_DYN:
		return concat_merge(b, e, prefix);
	default:
		break;
	}
	return unsupported(b, e->pos, "the aggregate", kql_func_get(e->fn)->name);
}

/* make_set(x [, max]) / make_list(x [, max]): at most max elements. */
static int collect(struct sqlb *b, const struct kql_expr *e, bool distinct, const char *prefix)
{
	/* without a max, Kusto's default: cut, not rewritten */
	if (e->nargs < 2) {
		fputs("kql_array_cap(", b->f);
		if (collect_all(b, e, distinct, prefix) != 0)
			return -1;
		fprintf(b->f, ", %d)", KQL_COLLECT_MAX);
		return 0;
	}
	fputs("kql_array_head(", b->f);
	if (collect_all(b, e, distinct, prefix) != 0)
		return -1;
	fputs(", ", b->f);
	if (expr(b, e->args[1], prefix) != 0)
		return -1;
	fputc(')', b->f);
	return 0;
}

/* avg and avgif.  A timespan or datetime average is whole ticks, rounded
 * (later operators expect integers); datetimes are averaged by kql_tavg:
 * an exact sum of ticks, the mean's offset from 2020-01-01 rounded (a
 * double sum of datetimes is inexact past a few values).  Other integers
 * by kql_iavg, their exact sum over their count: SQLite's avg sums
 * doubles, which lose large values' cancellations, and a split plan's
 * partial sums would then answer otherwise. */
static int average(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	bool cond = e->fn == KQL_F_AVGIF;
	const char *fn = e->type == PROTO_T_DATETIME        ? "kql_tavg"
	                 : e->args[0]->type == PROTO_T_REAL ? "avg"
	                                                    : "kql_iavg";

	if (e->type == PROTO_T_TIMESPAN)
		fputs("CAST(round(", b->f);
	fprintf(b->f, "%s(", fn);
	if (pattern(b, e, cond ? "CASE WHEN %1 THEN %0 END" : "%0", prefix) != 0)
		return -1;
	fputs(e->type == PROTO_T_TIMESPAN ? ")) AS INTEGER)" : ")", b->f);
	return 0;
}

/* Whether e is + - * or unary minus whose result's range is a long's (a
 * long or a timespan): written unchecked, an overflow in it leaves a real
 * (a datetime's range is narrower, an int's too: those stay checked). */
static bool long_op(const struct kql_expr *e)
{
	return checks_int(e) && (e->type == PROTO_T_LONG || e->type == PROTO_T_TIMESPAN);
}

/* e with its + - * of longs written as SQLite's operators, unchecked: an
 * overflow anywhere in them makes the result a real (a real operand makes
 * each operator above it real too; the operands that are no such operator
 * are exact integers, or refused, as expr writes them), which the consumer
 * (kql_lsum) refuses.  The check then costs nothing a row. */
static bool hoisted(struct sqlb *b, const struct kql_expr *e, const char *prefix);

static int unchecked(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	if (hoisted(b, e, prefix))
		return 0;
	if (!long_op(e))
		return expr(b, e, prefix);
	fputc('(', b->f);
	if (e->nargs == 1)
		fputc('0', b->f);
	else if (unchecked(b, e->args[0], prefix) != 0)
		return -1;
	fprintf(b->f, " %c ", "+-*"[e->op == KQL_OP_NEG ? 1 : e->op - KQL_OP_ADD]);
	if (unchecked(b, e->args[e->nargs - 1], prefix) != 0)
		return -1;
	fputc(')', b->f);
	return 0;
}

/* kql_lsum's arguments: x (sumif: CASE WHEN pred THEN x END), unchecked
 * when it is + - * of longs, then kql_lsum refuses a real, naming the
 * operator; and the text of the type and positions. */
static int lsum_args(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	const struct kql_expr *x = e->args[0];

	if (e->fn == KQL_F_SUMIF) {
		fputs("CASE WHEN ", b->f);
		if (expr(b, e->args[1], prefix) != 0)
			return -1;
		fputs(" THEN ", b->f);
	}
	if (unchecked(b, x, prefix) != 0)
		return -1;
	fputs(e->fn == KQL_F_SUMIF ? " END" : "", b->f);
	/* one constant argument, which SQLite copies for every row as it
	 * does each argument: "type at op op_at" (op -1: none) */
	fprintf(b->f, ", '%d %lld %d %lld'", (int)e->type, (long long)kql_exec_at(e->pos),
	        long_op(x) ? (x->op == KQL_OP_NEG ? 1 : (int)(x->op - KQL_OP_ADD)) : -1,
	        (long long)kql_exec_at(x->pos));
	return 0;
}

/* sum and sumif: 0 over no values; reals summed by kql_rsum, which
 * refuses a NaN (+inf and -inf) SQLite's sum would make null; integers
 * and timespans by kql_lsum, exact, a total past a long refused (whole or
 * split: the merge sums the partial sums with it too). */
static int sum(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	bool real = e->type == PROTO_T_REAL;

	if (integral(e->type)) {
		fputs("coalesce(kql_lsum(", b->f);
		if (lsum_args(b, e, prefix) != 0)
			return -1;
		fputs("), 0)", b->f);
		return 0;
	}
	fputs(real ? "coalesce(kql_rsum(" : "coalesce(sum(", b->f);
	if (e->fn == KQL_F_SUMIF && pattern(b, e, "CASE WHEN %1 THEN %0 END", prefix) != 0)
		return -1;
	if (e->fn != KQL_F_SUMIF && expr(b, e->args[0], prefix) != 0)
		return -1;
	if (real)
		write_at(b, e);
	fputs("), 0)", b->f);
	return 0;
}

static int aggregate_call(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	switch (e->fn) {
	case KQL_F_COUNT:
		fputs("count(*)", b->f);
		return 0; /* count(x) counts rows too */
	case KQL_F_COUNTIF:
		return pattern(b, e, "coalesce(sum(CASE WHEN %0 THEN 1 ELSE 0 END), 0)", prefix);
	case KQL_F_SUM:
	case KQL_F_SUMIF:
		return sum(b, e, prefix);
	case KQL_F_AVG:
	case KQL_F_AVGIF:
		return average(b, e, prefix);
	case KQL_F_MIN:
		return call(b, "min", e, prefix);
	case KQL_F_MAX:
		return call(b, "max", e, prefix);
	case KQL_F_DCOUNT:
	case KQL_F_DCOUNTIF:
		return dcount(b, e, "kql_dcount", prefix);
	case KQL_F_MAKE_SET:
		return collect(b, e, true, prefix);
	case KQL_F_MAKE_LIST:
		return collect(b, e, false, prefix);
	case KQL_F_ARG_MAX:
		return call(b, "kql_argmax", e, prefix);
	case KQL_F_ARG_MIN:
		return call(b, "kql_argmin", e, prefix);
	case KQL_F_TAKE_ANY:
		return call(b, "max", e, prefix);
	case KQL_F_PERCENTILE:
		return call(b, "kql_percentile", e, prefix);
	default:
		return split_call(b, e, prefix);
	}
}

/* A column of the input.  One whose null is Kusto's NaN (avg of no
 * values) read by an expression (not passed on unchanged) goes through
 * kql_nan, which refuses the NaN the expression would see as null. */
static int column(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	bool nan = e->side == 0 && b->nan_in != NULL && (size_t)e->col < b->nan_in->ncols &&
	           b->nan_in->cols[e->col].nan_if_null;

	fprintf(b->f, "%s%sc%d", nan ? "kql_nan(" : "",
	        e->side == 2   ? "r."
	        : e->side == 1 ? "l."
	                       : prefix,
	        e->col);
	if (nan)
		write_at(b, e);
	fputs(nan ? ")" : "", b->f);
	return 0;
}

/* A hoisted subexpression (kql_hoist.h) as its layer's column; one that
 * passes a NaN on (kql_expr_keeps_nan), read as column reads a column
 * whose null is NaN. */
static bool hoisted(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	int i = b->hoist && e != b->defining ? kql_hoist_find(b->hoist, e) : -1;
	bool nan = i >= 0 && kql_expr_keeps_nan(e, b->nan_in);

	if (i < 0)
		return false;
	fprintf(b->f, "%s%sh%d", nan ? "kql_nan(" : "", prefix, i);
	if (nan)
		write_at(b, e);
	fputs(nan ? ")" : "", b->f);
	return true;
}

static int expr(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	if (b->failed)
		return -1;
	if (hoisted(b, e, prefix))
		return 0;
	switch (e->kind) {
	case KQL_E_COL:
		return column(b, e, prefix);
	case KQL_E_LIT:
		return literal(b, e);
	case KQL_E_OP:
		return op(b, e, prefix);
	case KQL_E_CALL:
		return kql_func_get(e->fn)->aggregate ? aggregate_call(b, e, prefix)
		                                      : scalar_call(b, e, prefix);
	case KQL_E_STAR:
		break;
	}
	return unsupported(b, e->pos, "the expression", "*");
}

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
		r = expr(b, h->v[i].e, "t.");
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
		if (expr(b, v[i], "t.") != 0)
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
		return expr(b, e, "");
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
			if (expr(b, p->exprs[r * p->ncols + c], "") != 0)
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
		r = expr(b, p->exprs[0], "t.");
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

/* ORDER BY with Kusto's defaults already in the keys; columns read from
 * the subquery "t". */
static int order_by(struct sqlb *b, const struct kql_plan *p)
{
	for (size_t i = 0; i < p->nsortkeys; i++) {
		fputs(i > 0 ? ", " : " ORDER BY ", b->f);
		/* where Kusto sorts a NaN is not known here: refused too */
		b->nan_in = p->in[0];
		if (expr(b, p->keys[i].e, "t.") != 0)
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
	if (r == 0 && p->limit) {
		fputs(" LIMIT ", b->f);
		r = constant(b, p->limit);
	}
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
			else if (c == 0 && p->sources != NULL && param_text(b, p->sources[i]) != 0)
				return -1;
			else if (!(c == 0 && p->sources != NULL))
				fputs("NULL", b->f);
			fprintf(b->f, " AS c%zu", c);
		}
		if (from(b, p->in[i], "t") != 0)
			return -1;
	}
	fputc(')', b->f);
	return 0;
}

static void join_on(struct sqlb *b, const struct kql_plan *p)
{
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(b->f, "%sl.c%d = r.c%d", i > 0 ? " AND " : "", p->lkeys[i], p->rkeys[i]);
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
 * correlated EXISTS scanned the other side per row).  Null keys never
 * match: the other side's are left out, and a kept row's null key gives
 * null, which semi drops and anti keeps (IS NOT 1). */
static int plan_semijoin(struct sqlb *b, const struct kql_plan *p, bool left, bool anti)
{
	fputs("SELECT ", b->f);
	for (size_t c = 0; c < p->ncols; c++)
		fprintf(b->f, "%s%s.c%d AS c%zu", c > 0 ? ", " : "", left ? "l" : "r",
		        p->out_col[c], c);
	if (from(b, p->in[left ? 0 : 1], left ? "l" : "r") != 0)
		return -1;
	fputs(" WHERE ", b->f);
	join_keys(b, p, left, true);
	fputs(" IN (SELECT ", b->f);
	join_keys(b, p, !left, false);
	if (from(b, p->in[left ? 1 : 0], left ? "r" : "l") != 0)
		return -1;
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(b->f, "%s%s.c%d IS NOT NULL", i > 0 ? " AND " : " WHERE ", left ? "r" : "l",
		        left ? p->rkeys[i] : p->lkeys[i]);
	fputs(anti ? ") IS NOT 1" : ")", b->f);
	return 0;
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
		fprintf(b->f, "%s%s.c%d AS c%zu", c > 0 ? ", " : "", p->out_side[c] ? "r" : "l",
		        p->out_col[c], c);
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
		if (t != PROTO_T_DYNAMIC)
			fprintf(b->f, "kql_convert(%d, ", (int)t);
		else
			fputs("nullif(", b->f); /* a JSON null element is null */
		expand_array(b, p, (int)c);
		fprintf(b->f, " %s j.value", t == PROTO_T_DYNAMIC ? "->" : "->>");
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
			return unsupported(b, p->pos, "a table name this long:", p->table);
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
		fputs(" LIMIT ", b->f);
		return constant(b, p->limit);
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
	return unsupported(b, p->pos, "the plan node", kql_plan_kind_name(p->kind));
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
	if ((r = param_add(&b, &v, PROTO_T_DATETIME)) == 0)
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

/*
 * kql_exec_expr — a plan's expressions as SQL (kql_exec_sqlb.h): SQL
 * operators where SQL agrees with KQL, calls of the kql_* functions where
 * it does not (kql_exec_fn.c).  Literals become numbered parameters;
 * nothing from the query's text is written into the SQL.  Chains of
 * and/or, and of iff/case in the else place, are written flat (each
 * parenthesis costs SQLite's parser a level: kql_exec_sql.c); a
 * subexpression hoisted into a layer below its node (kql_hoist.h) is
 * written as that layer's column.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_exec_sqlb.h"
#include "query/kql_hll.h"
#include "query/kql_strop.h"

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

/* ", at" (kql_exec_at): the query position a function names when it
 * refuses a value; a number of the parser's, not the query's text. */
static void write_at(struct sqlb *b, const struct kql_expr *e)
{
	fprintf(b->f, ", %lld", (long long)kql_exec_at(e->pos));
}

/* How a dynamic operand is read beside the other operand's type. */
enum dyn_read { DYN_JSON, DYN_VALUE, DYN_NUMBER, DYN_TIME, DYN_TEXT };

/* A dynamic value compared with a scalar of type other. */
static enum dyn_read dyn_beside(enum proto_coltype other)
{
	if (other == PROTO_T_DYNAMIC)
		return DYN_JSON;
	/* compared with a number, only a number compares: SQLite ranks any
	 * text above every number, so an object or a string would be
	 * "greater" than 0; Kusto's answer for it is null */
	if (other == PROTO_T_INT || other == PROTO_T_LONG || other == PROTO_T_REAL)
		return DYN_NUMBER;
	/* a datetime or a timespan inside a dynamic value is its text */
	if (other == PROTO_T_DATETIME || other == PROTO_T_TIMESPAN)
		return DYN_TIME;
	/* beside a string, its tostring (measured on Kusto: a JSON null
	 * element == "" is true) */
	if (other == PROTO_T_STRING)
		return DYN_TEXT;
	return DYN_VALUE;
}

/* "open x close". */
static int wrapped(struct sqlb *b, const char *open, const struct kql_expr *x, const char *close,
                   const char *prefix)
{
	fputs(open, b->f);
	if (expr(b, x, prefix) != 0)
		return -1;
	fputs(close, b->f);
	return 0;
}

/* x, a dynamic value, read as how says beside a value of type other (the
 * query position of e named where a conversion refuses). */
static int dyn_value(struct sqlb *b, const struct kql_expr *x, enum dyn_read how,
                     enum proto_coltype other, const struct kql_expr *e, const char *prefix)
{
	switch (how) {
	case DYN_TEXT:
		return text_of(b, x, prefix);
	case DYN_NUMBER:
		return wrapped(b, "kql_dnum(", x, ")", prefix);
	case DYN_VALUE:
		return wrapped(b, "(", x, " ->> '$')", prefix);
	case DYN_TIME:
		fprintf(b->f, "kql_convert(%d, ", (int)other);
		if (wrapped(b, "(", x, " ->> '$')", prefix) != 0)
			return -1;
		write_at(b, e);
		fputc(')', b->f);
		return 0;
	default:
		return expr(b, x, prefix);
	}
}

/* Operand i of a binary operator.  A dynamic value beside a scalar is
 * compared (or computed) by its value, not its JSON text: d.n > 3 and
 * d.u == 'x' read the number and the string inside. */
static int operand(struct sqlb *b, const struct kql_expr *e, int i, const char *prefix)
{
	enum proto_coltype other = e->args[1 - i]->type;
	enum dyn_read how = dyn_beside(other);

	if (e->args[i]->type != PROTO_T_DYNAMIC)
		return expr(b, e->args[i], prefix);
	/* arithmetic reads only a number (kql_dnum), beside a dynamic too:
	 * SQLite would read the text of an object or a string as a number,
	 * 0 or its digits */
	if (e->kind == KQL_E_OP && e->op >= KQL_OP_ADD && e->op <= KQL_OP_MOD)
		how = DYN_NUMBER;
	return dyn_value(b, e->args[i], how, other, e, prefix);
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

/* The value x of in: a dynamic x by what it holds, beside the list's
 * first scalar's type (a datetime's or timespan's text converted). */
static int in_x(struct sqlb *b, const struct kql_expr *e, bool ci, const char *prefix)
{
	enum proto_coltype other = PROTO_T_DYNAMIC;
	enum dyn_read how;

	if (ci || e->args[0]->type != PROTO_T_DYNAMIC)
		return in_value(b, e->args[0], ci, prefix);
	for (size_t j = e->nargs; j > 1; j--)
		if (e->args[j - 1]->type != PROTO_T_DYNAMIC)
			other = e->args[j - 1]->type;
	/* against a dynamic array's elements (SQL values), or numbers: the
	 * value it holds */
	how = dyn_beside(other);
	if (how == DYN_JSON || how == DYN_NUMBER)
		how = DYN_VALUE;
	return dyn_value(b, e->args[0], how, other, e, prefix);
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
	if (in_x(b, e, ci, prefix) != 0)
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

	/* a null x (or a null among the list) makes SQL's IN null, where
	 * Kusto's in is false and !in true, as its == and != */
	fputs("((0", b->f);
	if (in_scalars(b, e, ci, split ? IN_EXACT : IN_ALL, prefix) != 0 ||
	    (split && in_scalars(b, e, ci, IN_REALS, prefix) != 0))
		return -1;
	for (size_t i = 1; i < e->nargs; i++) {
		if (e->args[i]->type != PROTO_T_DYNAMIC)
			continue;
		fputs(" OR ", b->f);
		if (in_x(b, e, ci, prefix) != 0)
			return -1;
		fputs(ci ? " IN (SELECT kql_casefold(value) FROM json_each("
		         : " IN (SELECT value FROM json_each(",
		      b->f);
		if (expr(b, e->args[i], prefix) != 0)
			return -1;
		fputs("))", b->f);
	}
	fputs(neg ? ") IS NOT TRUE)" : ") IS TRUE)", b->f);
	return 0;
}

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

/* between (lo .. hi); a datetime between (lo .. 1d) ends at lo + 1d. */
static int between(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	const struct kql_expr *x = e->args[0], *lo = e->args[1], *hi = e->args[2];
	bool dyn = x->type == PROTO_T_DYNAMIC;
	bool span = (x->type == PROTO_T_DATETIME || (dyn && lo->type == PROTO_T_DATETIME)) &&
	            hi->type == PROTO_T_TIMESPAN;

	if (promotes(x, lo) != promotes(x, hi))
		return between_pairs(b, e, prefix);
	/* an integer beside reals, or a real beside integers: as reals; a
	 * dynamic value by what it holds, as a comparison reads it */
	fputc('(', b->f);
	if (dyn ? dyn_value(b, x, dyn_beside(lo->type), lo->type, e, prefix) != 0
	        : as_real(b, x, promotes(x, lo), prefix) != 0)
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
		return checked_arith(b, e, "kql_spandiv", prefix);
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
		/* a dynamic negated only when it holds a number */
		fputs(e->args[0]->type == PROTO_T_DYNAMIC ? "(- kql_dnum(" : "(- ", b->f);
		if (expr(b, e->args[0], prefix) != 0)
			return -1;
		fputs(e->args[0]->type == PROTO_T_DYNAMIC ? "))" : ")", b->f);
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
static int box(struct sqlb *b, const struct kql_expr *e, const char *prefix);

static bool numeric(enum proto_coltype t)
{
	return t == PROTO_T_INT || t == PROTO_T_LONG || t == PROTO_T_REAL || t == PROTO_T_DECIMAL;
}

/* to<number> and tobool of a number, a timespan (its ticks) or a datetime
 * (its ticks since 0001-01-01), or of a dynamic value (as what it holds):
 * kql_numconv and kql_dconv.  1 when the conversion is not one of them;
 * todouble of a datetime is refused (not established). */
static int number_conversion(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	enum proto_coltype from = e->args[0]->type, to = e->type;
	bool time = from == PROTO_T_DATETIME || from == PROTO_T_TIMESPAN;

	if (!numeric(to) && to != PROTO_T_BOOL)
		return 1;
	if (from == PROTO_T_DYNAMIC) {
		fprintf(b->f, "kql_dconv(%d, ", (int)to);
	} else if (numeric(from) || (time && to != PROTO_T_BOOL)) {
		if (from == PROTO_T_DATETIME && to == PROTO_T_REAL)
			return unsupported(b, e->pos, "the function", "todouble of a datetime");
		fprintf(b->f, "kql_numconv(%d, ", (int)to);
	} else {
		return 1;
	}
	if (expr(b, e->args[0], prefix) != 0)
		return -1;
	if (from != PROTO_T_DYNAMIC)
		fprintf(b->f, ", %d", from == PROTO_T_DATETIME);
	write_at(b, e);
	fputc(')', b->f);
	return 0;
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
	int r = number_conversion(b, e, prefix);

	if (r <= 0)
		return r;
	/* todatetime(1), totimespan(1): not established */
	if ((e->type == PROTO_T_DATETIME || e->type == PROTO_T_TIMESPAN) &&
	    numeric(e->args[0]->type))
		return unsupported(b, e->pos, "the function",
		                   e->type == PROTO_T_DATETIME ? "todatetime of a number"
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
    /* datetime_part's (its part never refused: no position) */
    {KQL_F_DAYOFMONTH, FORM_PATTERN, "kql_dtpart('day', %0, 0)", 0},
    {KQL_F_DAYOFYEAR, FORM_PATTERN, "kql_dtpart('dayofyear', %0, 0)", 0},
    {KQL_F_HOUROFDAY, FORM_PATTERN, "kql_dtpart('hour', %0, 0)", 0},
    {KQL_F_MONTHOFYEAR, FORM_PATTERN, "kql_dtpart('month', %0, 0)", 0},
    {KQL_F_GETYEAR, FORM_PATTERN, "kql_dtpart('year', %0, 0)", 0},
    {KQL_F_WEEK_OF_YEAR, FORM_PATTERN, "kql_dtpart('week_of_year', %0, 0)", 0},
    {KQL_F_ABS, FORM_CALL, "abs", 0},
    {KQL_F_STARTOFDAY, FORM_CODED_AT, "kql_startof", KQL_U_DAY},
    {KQL_F_STARTOFWEEK, FORM_CODED_AT, "kql_startof", KQL_U_WEEK},
    {KQL_F_STARTOFMONTH, FORM_CODED_AT, "kql_startof", KQL_U_MONTH},
    {KQL_F_STARTOFYEAR, FORM_CODED_AT, "kql_startof", KQL_U_YEAR},
    {KQL_F_ENDOFDAY, FORM_CODED_AT, "kql_startof", KQL_U_ENDOFDAY},
    {KQL_F_ENDOFWEEK, FORM_CODED_AT, "kql_startof", KQL_U_ENDOFWEEK},
    {KQL_F_ENDOFMONTH, FORM_CODED_AT, "kql_startof", KQL_U_ENDOFMONTH},
    {KQL_F_ENDOFYEAR, FORM_CODED_AT, "kql_startof", KQL_U_ENDOFYEAR},
    {KQL_F_CEILING, FORM_CODED_AT, "kql_math", 0},
    {KQL_F_SQRT, FORM_CODED_AT, "kql_math", 1},
    {KQL_F_LOG, FORM_CODED_AT, "kql_math", 2},
    {KQL_F_LOG10, FORM_CODED_AT, "kql_math", 3},
    {KQL_F_EXP, FORM_CODED_AT, "kql_math", 4},
    {KQL_F_POW, FORM_CODED_AT, "kql_math", 5},
    {KQL_F_LOG2, FORM_CODED_AT, "kql_math", 6},
    {KQL_F_EXP2, FORM_CODED_AT, "kql_math", 7},
    {KQL_F_EXP10, FORM_CODED_AT, "kql_math", 8},
    {KQL_F_COS, FORM_CODED_AT, "kql_math", 9},
    {KQL_F_SIN, FORM_CODED_AT, "kql_math", 10},
    {KQL_F_TAN, FORM_CODED_AT, "kql_math", 11},
    {KQL_F_ACOS, FORM_CODED_AT, "kql_math", 12},
    {KQL_F_ASIN, FORM_CODED_AT, "kql_math", 13},
    {KQL_F_ATAN, FORM_CODED_AT, "kql_math", 14},
    {KQL_F_ATAN2, FORM_CODED_AT, "kql_math", 15},
    {KQL_F_COT, FORM_CODED_AT, "kql_math", 16},
    {KQL_F_DEGREES, FORM_CODED_AT, "kql_math", 17},
    {KQL_F_RADIANS, FORM_CODED_AT, "kql_math", 18},
    {KQL_F_SIGN, FORM_CODED_AT, "kql_math", 19},
    {KQL_F_PI, FORM_PATTERN, "3.141592653589793", 0},
    {KQL_F_ARRAY_CONCAT, FORM_CALL_AT, "kql_array_concat", 0},
    {KQL_F_STRCAT_ARRAY, FORM_CALL_AT, "kql_strcat_array", 0},
    {KQL_F_SET_UNION, FORM_CODED_AT, "kql_set", 0},
    {KQL_F_SET_INTERSECT, FORM_CODED_AT, "kql_set", 1},
    {KQL_F_SET_DIFFERENCE, FORM_CODED_AT, "kql_set", 2},
    {KQL_F_REVERSE, FORM_CALL, "kql_reverse", 0},
    {KQL_F_STRCMP, FORM_CALL, "kql_strcmp", 0},
    {KQL_F_STRING_SIZE, FORM_PATTERN, "length(CAST(coalesce(%0, '') AS BLOB))", 0},
    {KQL_F_HASH_MD5, FORM_CODED, "kql_hash", 0},
    {KQL_F_HASH_SHA1, FORM_CODED, "kql_hash", 1},
    {KQL_F_HASH_SHA256, FORM_CODED, "kql_hash", 2},
    {KQL_F_BASE64_ENCODE, FORM_CALL, "kql_b64enc", 0},
    {KQL_F_BASE64_DECODE, FORM_CALL_AT, "kql_b64dec", 0},
    {KQL_F_MAKE_DATETIME, FORM_CALL_AT, "kql_make_datetime", 0},
    {KQL_F_TRIM_START, FORM_CALL_AT, "kql_trim_start", 0},
    {KQL_F_TRIM_END, FORM_CALL_AT, "kql_trim_end", 0},
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

/* Functions with an optional argument the SQL always passes: its
 * default when the call leaves it out, written where it goes. */
static const struct {
	enum kql_fn fn;
	const char *name;
	size_t at;        /* the optional argument's place */
	const char *dflt; /* its default */
} optionals[] = {
    {KQL_F_STRREP, "kql_strrep", 2, "''"},
    {KQL_F_TOHEX, "kql_tohex", 1, "-1"},
    {KQL_F_COUNTOF, "kql_countof", 2, "'normal'"},
    {KQL_F_EXTRACT_ALL, "kql_extract_all", 1, "NULL"}, /* NULL: every group */
};

/* One of optionals[k], all of its function's arguments written (the
 * call leaves out only the optional one); tohex with its value's width
 * (an int's 32 bits, a long's 64) where the others take the position. */
static int optional_arg_call(struct sqlb *b, const struct kql_expr *e, size_t k, const char *prefix)
{
	size_t n = kql_func_get(e->fn)->maxargs;
	bool full = e->nargs == n;

	fprintf(b->f, "%s(", optionals[k].name);
	for (size_t i = 0, a = 0; i < n; i++) {
		fputs(i > 0 ? ", " : "", b->f);
		if (i == optionals[k].at && !full)
			fputs(optionals[k].dflt, b->f);
		else if (expr(b, e->args[a++], prefix) != 0)
			return -1;
	}
	if (e->fn == KQL_F_TOHEX)
		fprintf(b->f, ", %d", e->args[0]->type == PROTO_T_INT ? 32 : 64);
	else
		write_at(b, e);
	fputc(')', b->f);
	return 0;
}

/* The string functions; 1 when e is none. */
static int string_call(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	for (size_t k = 0; k < sizeof(optionals) / sizeof(optionals[0]); k++)
		if (optionals[k].fn == e->fn)
			return optional_arg_call(b, e, k, prefix);
	switch (e->fn) {
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
	default:
		return 1;
	}
}

static int json_item(struct sqlb *b, const struct kql_expr *e, const char *prefix);

/* A value in a dynamic value built here: json_item's, a string's null
 * "" (Kusto's strings are never null). */
static int packed_item(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	if (e->type != PROTO_T_STRING)
		return json_item(b, e, prefix);
	fputs("coalesce(", b->f);
	if (expr(b, e, prefix) != 0)
		return -1;
	fputs(", '')", b->f);
	return 0;
}

/* pack_array(v, ...) as json_array; bag_pack(k, v, ...) as json_object,
 * its keys checked distinct (kql_bag_check). */
static int pack(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	bool bag = e->fn == KQL_F_BAG_PACK;

	fputs(bag ? "kql_bag_check(json_object(" : "json_array(", b->f);
	for (size_t i = 0; i < e->nargs; i++) {
		fputs(i > 0 ? ", " : "", b->f);
		if (packed_item(b, e->args[i], prefix) != 0)
			return -1;
	}
	fputc(')', b->f);
	if (bag) {
		write_at(b, e);
		fputc(')', b->f);
	}
	return 0;
}

/* range(start, stop[, step]): kql_range with the step its page gives by
 * default (1, or 1h for the times) and the elements' type. */
static int range_call(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	enum proto_coltype t = e->args[0]->type;
	bool time = t == PROTO_T_DATETIME || t == PROTO_T_TIMESPAN;

	for (size_t i = 0; i < e->nargs; i++)
		if (e->args[i]->type == PROTO_T_REAL)
			t = PROTO_T_REAL;
	fputs("kql_range(", b->f);
	if (args(b, e, 0, prefix) != 0)
		return -1;
	if (e->nargs == 2)
		fputs(time ? ", 36000000000" : ", 1", b->f);
	fprintf(b->f, ", %d", (int)(t == PROTO_T_INT ? PROTO_T_LONG : t));
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

	if (r <= 0 || (r = string_call(b, e, prefix)) <= 0)
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
	case KQL_F_BIN_AT:
		return expr(b, e->args[1],
		            prefix); /* the binder's fixed + bin(value - fixed, size) */
	case KQL_F_BIN:
		/* Datetimes bin from 0001-01-01 (DateTime's ticks), not 1970:
		 * bin(t, 7d) starts weeks on Mondays as Kusto does. */
		return e->args[0]->type == PROTO_T_DATETIME
		           ? pattern(
		                 b, e,
		                 "(kql_bin(%0 + 621355968000000000, %1, 0) - 621355968000000000)",
		                 prefix)
		           : call_at(b, "kql_bin", e, prefix);
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
	case KQL_F_BOX:
		return box(b, e, prefix);
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
	case KQL_F_PACK_ARRAY:
	case KQL_F_BAG_PACK:
		return pack(b, e, prefix);
	case KQL_F_RANGE:
		return range_call(b, e, prefix);
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

/* $box(x): a scalar as the dynamic value holding it, its JSON text (a
 * string quoted, a datetime its text, a bool true or false); null stays
 * null. */
static int box(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	fputs("(CASE WHEN ", b->f);
	if (expr(b, e->args[0], prefix) != 0)
		return -1;
	fputs(" IS NULL THEN NULL ELSE json_quote(", b->f);
	if (json_item(b, e->args[0], prefix) != 0)
		return -1;
	fputs(") END)", b->f);
	return 0;
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

/* ---- what kql_exec_sql.c calls ---- */

int sqlb_expr(struct sqlb *b, const struct kql_expr *e, const char *prefix)
{
	return expr(b, e, prefix);
}

int sqlb_param_add(struct sqlb *b, const struct kql_value *v, enum proto_coltype type)
{
	return param_add(b, v, type);
}

int sqlb_param_text(struct sqlb *b, const char *s)
{
	return param_text(b, s);
}

int sqlb_unsupported(struct sqlb *b, struct kql_pos pos, const char *what, const char *name)
{
	return unsupported(b, pos, what, name);
}

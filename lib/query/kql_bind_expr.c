/*
 * kql_bind_expr — scalar expressions: names to columns or let values,
 * calls to kql_func entries (or inlined let functions), and Kusto's typing
 * of every operator.  The typing tables follow the KQL documentation's
 * "scalar data types" and arithmetic pages: int widens to long, any real
 * makes real, datetime - datetime is a timespan, datetime +- timespan a
 * datetime, timespan * number a timespan, timespan / timespan a real.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "query/kql_bind_int.h"
#include "query/kql_hll.h"
#include "query/kql_parse.h"

static bool is_integer(enum proto_coltype t)
{
	return t == PROTO_T_INT || t == PROTO_T_LONG;
}

static bool is_number(enum proto_coltype t)
{
	return is_integer(t) || t == PROTO_T_REAL || t == PROTO_T_DECIMAL;
}

bool kqlb_comparable(enum proto_coltype a, enum proto_coltype b)
{
	return a == b || (is_number(a) && is_number(b)) || a == PROTO_T_DYNAMIC ||
	       b == PROTO_T_DYNAMIC || (a == PROTO_T_GUID && b == PROTO_T_STRING) ||
	       (a == PROTO_T_STRING && b == PROTO_T_GUID);
}

/* The type of arithmetic on two numbers: real > decimal > long, and
 * int with int is long too (the numerical operators' page: "If both
 * operands are of integer types (int or long), the result will be of
 * type long"; Kusto.Language's ReturnTypeKind.Widest promotes int to
 * long, after Kusto-Query-Language issue #68 found ADX's gettype(int(1) +
 * int(2)) long), so int.MaxValue + int(1) is 2147483648. */
static enum proto_coltype wider(enum proto_coltype a, enum proto_coltype b)
{
	if (a == PROTO_T_REAL || b == PROTO_T_REAL)
		return PROTO_T_REAL;
	if (a == PROTO_T_DECIMAL || b == PROTO_T_DECIMAL)
		return PROTO_T_DECIMAL;
	return PROTO_T_LONG;
}

/* Result type of a op b for + - * / %, or -1 when Kusto refuses it. */
static int arith_type(enum kql_op op, enum proto_coltype a, enum proto_coltype b)
{
	enum proto_coltype dt = PROTO_T_DATETIME, ts = PROTO_T_TIMESPAN;

	if (a == PROTO_T_DYNAMIC || b == PROTO_T_DYNAMIC)
		return PROTO_T_DYNAMIC;
	/* Kusto.Language: the wider number, an int promoted to long
	 * (ReturnTypeKind.Widest: int + int is a long; SQLite computes it in
	 * 64 bits, so 2147483647 + 1 is 2147483648 as in Kusto) */
	if (is_number(a) && is_number(b))
		return op == KQL_OP_MOD && (!is_integer(a) || !is_integer(b)) ? PROTO_T_REAL
		       : wider(a, b) == PROTO_T_INT                           ? PROTO_T_LONG
		                                                              : (int)wider(a, b);
	if (op == KQL_OP_ADD && ((a == dt && b == ts) || (a == ts && b == dt)))
		return dt;
	if (op == KQL_OP_SUB && a == dt && (b == dt || b == ts))
		return b == dt ? ts : dt;
	if ((op == KQL_OP_ADD || op == KQL_OP_SUB) && a == ts && b == ts)
		return ts;
	if (op == KQL_OP_MUL && ((a == ts && is_number(b)) || (is_number(a) && b == ts)))
		return ts;
	if (op == KQL_OP_DIV && a == ts)
		return b == ts ? PROTO_T_REAL : is_number(b) ? (int)ts : -1;
	if (op == KQL_OP_MOD && a == ts && b == ts)
		return ts;
	return -1;
}

static struct kql_expr *new_expr(struct kqlb *b, enum kql_expr_kind kind, enum proto_coltype type,
                                 struct kql_pos pos, size_t nargs)
{
	struct kql_expr *e = kqlb_alloc(b, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->kind = kind;
	e->type = type;
	e->pos = pos;
	if (nargs > 0 && (e->args = kqlb_alloc(b, nargs * sizeof(*e->args))) == NULL)
		return NULL;
	e->nargs = nargs;
	return e;
}

struct kql_expr *kqlb_call1(struct kqlb *b, enum kql_fn fn, enum proto_coltype type,
                            struct kql_expr *x)
{
	struct kql_expr *e = new_expr(b, KQL_E_CALL, type, x->pos, 1);

	if (e != NULL) {
		e->fn = fn;
		e->args[0] = x;
	}
	return e;
}

struct kql_expr *kqlb_colref(struct kqlb *b, const struct kql_plan *p, int c, struct kql_pos pos)
{
	struct kql_expr *e = new_expr(b, KQL_E_COL, p->cols[c].type, pos, 0);

	if (e != NULL)
		e->col = c;
	return e;
}

bool kqlb_constant(const struct kql_expr *e)
{
	if (e->kind == KQL_E_COL || e->kind == KQL_E_STAR ||
	    (e->kind == KQL_E_CALL &&
	     (kql_func_get(e->fn)->aggregate || e->fn == KQL_F_INGESTION_TIME)))
		return false;
	for (size_t i = 0; i < e->nargs; i++)
		if (!kqlb_constant(e->args[i]))
			return false;
	return true;
}

const char *kqlb_first_column(const struct kql_expr *e, const struct kql_plan *in)
{
	const char *name;

	if (e->kind == KQL_E_COL && in != NULL && e->side == 0)
		return in->cols[e->col].name;
	for (size_t i = 0; i < e->nargs; i++)
		if ((name = kqlb_first_column(e->args[i], in)) != NULL)
			return name;
	return NULL;
}

/* Functions whose result takes its first argument's name (Kusto.Language's
 * ResultNameKind.FirstArgument): project tostring(d.a) is d_a.  Not pow
 * nor exp10, which Kusto.Language lists but Kusto names Column1
 * (measured: distinct pow(C, 2), exp10(C)). */
static bool named_by_first_argument(enum kql_fn fn)
{
	static const enum kql_fn ids[] = {
	    KQL_F_TOSTRING,
	    KQL_F_TOINT,
	    KQL_F_TOLONG,
	    KQL_F_TOREAL,
	    KQL_F_TOBOOL,
	    KQL_F_TODATETIME,
	    KQL_F_TOTIMESPAN,
	    KQL_F_TOGUID,
	    KQL_F_TODYNAMIC,
	    KQL_F_SPLIT,
	    KQL_F_FORMAT_DATETIME,
	    KQL_F_STARTOFDAY,
	    KQL_F_BIN,
	    KQL_F_BIN_AT,
	    KQL_F_ROUND,
	    KQL_F_CEILING,
	    KQL_F_SQRT,
	    KQL_F_LOG,
	    KQL_F_LOG10,
	    KQL_F_EXP,
	    KQL_F_ABS,
	    KQL_F_LOG2,
	    KQL_F_EXP2,
	    KQL_F_COS,
	    KQL_F_SIN,
	    KQL_F_TAN,
	    KQL_F_ACOS,
	    KQL_F_ASIN,
	    KQL_F_ATAN,
	    KQL_F_ATAN2,
	    KQL_F_TOHEX,
	};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (ids[i] == fn)
			return true;
	return false;
}

const char *kqlb_expr_name(struct kqlb *b, const struct kql_expr *e, const struct kql_plan *in)
{
	const char *base;
	char buf[256];

	if (e->kind == KQL_E_COL && in != NULL)
		return in->cols[e->col].name;
	if (e->kind == KQL_E_CALL && e->nargs > 0 && named_by_first_argument(e->fn))
		return kqlb_expr_name(b, e->args[0], in);
	/* Kusto.Language's NameAndFirstArgument: strlen(B) is strlen_B */
	if (e->kind == KQL_E_CALL && e->nargs > 0 &&
	    (e->fn == KQL_F_STRLEN || e->fn == KQL_F_STRING_SIZE) &&
	    (base = kqlb_expr_name(b, e->args[0], in)) != NULL)
		return kqlb_printf_name(b, "%s_%s", kql_func_get(e->fn)->name, base);
	if (e->kind != KQL_E_CALL || e->fn != KQL_F_DYN_GET)
		return NULL;
	/* d.a is named d_a, d["a"] too; an index d[0] gives d_0. */
	if ((base = kqlb_expr_name(b, e->args[0], in)) == NULL || e->args[1]->kind != KQL_E_LIT)
		return NULL;
	if (e->args[1]->type == PROTO_T_STRING)
		(void)snprintf(buf, sizeof(buf), "%s_%s", base, e->args[1]->s);
	else
		(void)snprintf(buf, sizeof(buf), "%s_%lld", base, (long long)e->args[1]->i);
	return kql_arena_strndup(b->a, buf, strlen(buf));
}

/* ---- literals and names ---- */

static struct kql_expr *bind_lit(struct kqlb *b, const struct kql_node *n)
{
	struct kql_expr *e = new_expr(b, KQL_E_LIT, n->type, n->pos, 0);

	if (e == NULL)
		return NULL;
	e->isnull = n->isnull;
	e->i = n->i;
	e->r = n->r;
	e->s = n->str;
	return e;
}

static struct kql_expr *inline_call(struct kqlb *b, const struct kqlb_scope *s,
                                    const struct kqlb_binding *fn, const struct kql_node *n);

static struct kql_expr *bind_name(struct kqlb *b, const struct kqlb_scope *s,
                                  const struct kql_node *n)
{
	const struct kqlb_binding *let;
	int c;

	if (s->in != NULL && n->op == 0 && (c = kqlb_column(s->in, n->name)) >= 0)
		return kqlb_colref(b, s->in, c, n->pos);
	if ((let = kqlb_lookup(s->env, n->name)) != NULL) {
		struct kqlb_scope inner = {NULL, let->env, s->op, false};
		if (let->expr != NULL)
			return let->expr;
		/* a function named without arguments is called (let a = () {1}; a) */
		if (let->plan == NULL && let->ast->kind == KQL_N_FUNC)
			return inline_call(b, s, let, n);
		if (let->plan != NULL)
			return kqlb_fail(b, KQL_E_TYPE, n->pos,
			                 "'%s' is a tabular expression, not a scalar", n->name);
		return kqlb_expr(b, &inner, let->ast);
	}
	if (s->in == NULL)
		return kqlb_fail(b, KQL_E_NAME, n->pos,
		                 "Failed to resolve scalar expression named '%s'", n->name);
	return kqlb_fail(b, KQL_E_NAME, n->pos,
	                 "'%s' operator: Failed to resolve scalar expression named '%s'", s->op,
	                 n->name);
}

/* ---- operators ---- */

static const char *tname(enum proto_coltype t)
{
	return proto_coltype_name(t);
}

static struct kql_expr *op_expr(struct kqlb *b, enum kql_op op, enum proto_coltype type,
                                struct kql_pos pos, size_t nargs)
{
	struct kql_expr *e = new_expr(b, KQL_E_OP, type, pos, nargs);

	if (e != NULL)
		e->op = op;
	return e;
}

struct kql_expr *kqlb_op2(struct kqlb *b, enum kql_op op, enum proto_coltype type,
                          struct kql_pos pos, struct kql_expr *l, struct kql_expr *r)
{
	struct kql_expr *e = op_expr(b, op, type, pos, 2);

	if (e != NULL) {
		e->args[0] = l;
		e->args[1] = r;
	}
	return e;
}

struct kql_expr *kqlb_lit_string(struct kqlb *b, struct kql_pos pos, const char *s)
{
	struct kql_expr *e = new_expr(b, KQL_E_LIT, PROTO_T_STRING, pos, 0);

	if (e != NULL && (e->s = kql_arena_strndup(b->a, s, strlen(s))) == NULL)
		return kqlb_nomem(b);
	return e;
}

struct kql_expr *kqlb_lit_int(struct kqlb *b, struct kql_pos pos, enum proto_coltype t, int64_t v)
{
	struct kql_expr *e = new_expr(b, KQL_E_LIT, t, pos, 0);

	if (e != NULL)
		e->i = v;
	return e;
}

/* A decimal is held as its text, which SQLite reads as a double or
 * compares as text (decimal(10) < decimal(9), the average of decimals 0):
 * computing with one is refused, todouble() its way out. */
static void *decimal_refused(struct kqlb *b, struct kql_pos pos, const char *what)
{
	return kqlb_fail(b, KQL_E_UNSUPPORTED, pos,
	                 "%s of a decimal value is not supported (convert it with todouble())",
	                 what);
}

static int binary_type(struct kqlb *b, const struct kql_node *n, struct kql_expr *l,
                       struct kql_expr *r)
{
	int t;

	if ((l->type == PROTO_T_DECIMAL || r->type == PROTO_T_DECIMAL) && n->op >= KQL_OP_EQ &&
	    n->op <= KQL_OP_MOD)
		return decimal_refused(b, n->pos, "arithmetic or a comparison"), -1;

	if (n->op == KQL_OP_AND || n->op == KQL_OP_OR) {
		if ((l->type != PROTO_T_BOOL && l->type != PROTO_T_DYNAMIC) ||
		    (r->type != PROTO_T_BOOL && r->type != PROTO_T_DYNAMIC))
			t = -1;
		else
			t = PROTO_T_BOOL;
	} else if (n->op >= KQL_OP_ADD && n->op <= KQL_OP_MOD) {
		t = arith_type((enum kql_op)n->op, l->type, r->type);
	} else if (n->op >= KQL_OP_EQ && n->op <= KQL_OP_GE) {
		t = kqlb_comparable(l->type, r->type) ? PROTO_T_BOOL : -1;
		/* Kusto refuses two dynamic values compared (SEM0001), and a
		 * dynamic value ordered against a string (SEM0064) (measured) */
		if ((l->type == PROTO_T_DYNAMIC && r->type == PROTO_T_DYNAMIC) ||
		    (n->op >= KQL_OP_LT &&
		     (l->type == PROTO_T_DYNAMIC || r->type == PROTO_T_DYNAMIC) &&
		     (l->type == PROTO_T_STRING || r->type == PROTO_T_STRING)))
			t = -1;
	} else {
		/* String operators: Kusto converts any operand to its string. */
		t = PROTO_T_BOOL;
	}
	/* ADX's words for a comparison: "Cannot compare values of types string
	 * and long. Try adding explicit casts" */
	if (t < 0 && n->op >= KQL_OP_EQ && n->op <= KQL_OP_GE)
		(void)kqlb_fail(
		    b, KQL_E_TYPE, n->pos,
		    "'%s' operator: Cannot compare values of types %s and %s. Try adding "
		    "explicit casts",
		    kql_op_name((enum kql_op)n->op), tname(l->type), tname(r->type));
	else if (t < 0)
		(void)kqlb_fail(b, KQL_E_TYPE, n->pos,
		                "Operator '%s' cannot be applied to operands of type '%s' and '%s'",
		                kql_op_name((enum kql_op)n->op), tname(l->type), tname(r->type));
	return t;
}

static struct kql_expr *bind_binary(struct kqlb *b, const struct kqlb_scope *s,
                                    const struct kql_node *n)
{
	struct kql_expr *l = kqlb_expr(b, s, n->kids), *r, *e;
	int t;

	if (l == NULL || (r = kqlb_expr(b, s, n->kids->next)) == NULL ||
	    (t = binary_type(b, n, l, r)) < 0 ||
	    (e = op_expr(b, (enum kql_op)n->op, (enum proto_coltype)t, n->pos, 2)) == NULL)
		return NULL;
	/* matches regex reads text: a dynamic string's characters, not its
	 * JSON (measured on Kusto: dynamic('x') matches regex '^x$') */
	if (n->op == KQL_OP_MATCHES_REGEX && l->type != PROTO_T_STRING &&
	    (l = kqlb_text(b, l)) == NULL)
		return NULL;
	e->args[0] = l;
	e->args[1] = r;
	return e;
}

static struct kql_expr *bind_unary(struct kqlb *b, const struct kqlb_scope *s,
                                   const struct kql_node *n)
{
	struct kql_expr *a = kqlb_expr(b, s, n->kids), *e;

	if (a == NULL)
		return NULL;
	if (!is_number(a->type) && a->type != PROTO_T_TIMESPAN && a->type != PROTO_T_DYNAMIC)
		return kqlb_fail(b, KQL_E_TYPE, n->pos, "Unary '-' cannot be applied to type '%s'",
		                 tname(a->type));
	if (n->op == KQL_OP_PLUS)
		return a;
	if (a->kind == KQL_E_LIT && !a->isnull &&
	    (a->type == PROTO_T_INT || a->type == PROTO_T_LONG || a->type == PROTO_T_REAL ||
	     a->type == PROTO_T_TIMESPAN)) {
		/* Fold -literal (of a type held in i or r: a dynamic's or a
		 * decimal's text is negated where it runs) so that datatable values stay literals
		 * (an int stays an int, as Kusto.Language folds it); -int(-2147483648) and
		 * -0x8000000000000000 overflow: refused, as the operator refuses an overflow when
		 * it runs. */
		if ((a->type == PROTO_T_INT && a->i == INT32_MIN) ||
		    ((a->type == PROTO_T_LONG || a->type == PROTO_T_TIMESPAN) && a->i == INT64_MIN))
			return kqlb_fail(b, KQL_E_UNSUPPORTED, n->pos,
			                 "the operator '-' overflows a%s: not supported",
			                 a->type == PROTO_T_INT    ? "n int"
			                 : a->type == PROTO_T_LONG ? " long"
			                                           : " timespan");
		struct kql_expr *c = new_expr(b, KQL_E_LIT, a->type, n->pos, 0);
		if (c != NULL) {
			*c = *a;
			c->pos = n->pos;
			c->i = (int64_t)(0 - (uint64_t)a->i);
			c->r = -a->r;
		}
		return c;
	}
	/* -x of an int column is a long in ADX (Kusto.Language's
	 * UnaryReturnType: an int promoted unless the operand is constant) */
	if ((e = op_expr(b, KQL_OP_NEG, a->type == PROTO_T_INT ? PROTO_T_LONG : a->type, n->pos,
	                 1)) != NULL)
		e->args[0] = a;
	return e;
}

static bool no_range(enum proto_coltype x, enum proto_coltype lo)
{
	return x == PROTO_T_STRING || x == PROTO_T_BOOL || x == PROTO_T_GUID ||
	       (x == PROTO_T_DYNAMIC && lo == PROTO_T_DYNAMIC);
}

/* x in (a, b, ...), between (lo .. hi): kids are value then list. */
static struct kql_expr *bind_list_op(struct kqlb *b, const struct kqlb_scope *s,
                                     const struct kql_node *n)
{
	struct kql_expr *e = op_expr(b, (enum kql_op)n->op, PROTO_T_BOOL, n->pos, n->nkids);
	size_t i = 0;

	if (e == NULL)
		return NULL;
	for (const struct kql_node *k = n->kids; k != NULL; k = k->next, i++) {
		if (i > 0 && e->args[0]->type == PROTO_T_DECIMAL)
			return decimal_refused(b, n->pos, "a comparison");

		if (k->kind == KQL_N_PIPE)
			return kqlb_fail(b, KQL_E_UNSUPPORTED, k->pos,
			                 "a tabular expression in '%s' is not supported",
			                 kql_op_name((enum kql_op)n->op));
		if ((e->args[i] = kqlb_expr(b, s, k)) == NULL)
			return NULL;
		/* x between (datetime(..) .. 1d) means up to the low end plus 1d. */
		if (n->kind == KQL_N_BETWEEN && i == 2 && e->args[0]->type == PROTO_T_DATETIME &&
		    e->args[i]->type == PROTO_T_TIMESPAN)
			continue;
		if (i > 0 && !kqlb_comparable(e->args[0]->type, e->args[i]->type) &&
		    (n->kind == KQL_N_BETWEEN || e->args[i]->type != PROTO_T_STRING ||
		     (n->op != KQL_OP_IN_CI && n->op != KQL_OP_NOT_IN_CI)))
			return kqlb_fail(b, KQL_E_TYPE, k->pos,
			                 "Operator '%s': a '%s' value cannot be compared with '%s'",
			                 kql_op_name((enum kql_op)n->op), tname(e->args[i]->type),
			                 tname(e->args[0]->type));
	}
	/* between ranges numbers, datetimes and timespans: Kusto refuses a
	 * string, a bool or a guid (SEM0208, measured) */
	if (n->kind == KQL_N_BETWEEN && no_range(e->args[0]->type, e->args[1]->type))
		return kqlb_fail(
		    b, KQL_E_TYPE, n->pos,
		    "'between' operator: a '%s' value has no range (numbers, datetimes "
		    "and timespans do)",
		    tname(e->args[e->args[0]->type == PROTO_T_DYNAMIC]->type));
	return e;
}

/* d.a, d["a"], d[0]: a dynamic object's member or element. */
static struct kql_expr *bind_access(struct kqlb *b, const struct kqlb_scope *s,
                                    const struct kql_node *n)
{
	struct kql_expr *obj = kqlb_expr(b, s, n->kids), *key, *e;

	if (obj == NULL)
		return NULL;
	if (obj->type != PROTO_T_DYNAMIC)
		return kqlb_fail(b, KQL_E_TYPE, n->pos,
		                 "member access on a value of type '%s' (only dynamic has members)",
		                 tname(obj->type));
	if (n->kind == KQL_N_MEMBER) {
		if ((key = new_expr(b, KQL_E_LIT, PROTO_T_STRING, n->pos, 0)) == NULL)
			return NULL;
		key->s = n->name;
	} else if ((key = kqlb_expr(b, s, n->kids->next)) == NULL) {
		return NULL;
	}
	if ((e = new_expr(b, KQL_E_CALL, PROTO_T_DYNAMIC, n->pos, 2)) == NULL)
		return NULL;
	e->fn = KQL_F_DYN_GET;
	e->args[0] = obj;
	e->args[1] = key;
	return e;
}

/* ---- calls ---- */

static struct kql_expr *inline_call(struct kqlb *b, const struct kqlb_scope *s,
                                    const struct kqlb_binding *fn, const struct kql_node *n)
{
	const struct kqlb_binding *env = NULL;
	const struct kql_node *body;
	struct kqlb_scope inner = {NULL, NULL, s->op, false};

	if (kqlb_call_env(b, fn, n, s, &env) != 0 || (body = kqlb_body(b, fn->ast, &env)) == NULL)
		return NULL;
	inner.env = env;
	return kqlb_expr(b, &inner, body);
}

static int numeric_rank(enum proto_coltype t)
{
	return t == PROTO_T_INT ? 1 : t == PROTO_T_LONG ? 2 : t == PROTO_T_REAL ? 3 : 0;
}

/* The common type of the values of iff, case, coalesce, min_of, max_of:
 * numbers promote (int to long to real: iff(c, 1, 2.5) is real); beside a
 * dynamic value, of iff, case and coalesce, dynamic (measured on Kusto:
 * coalesce(dynamic([1]), 5) is [1]; the long made it 0); otherwise the
 * first's type. */
static enum proto_coltype common_type(const struct kql_func *f, struct kql_expr **args,
                                      size_t nargs)
{
	bool values_only = f->id == KQL_F_IFF || f->id == KQL_F_CASE;
	enum proto_coltype t = PROTO_T_DYNAMIC;

	for (size_t i = values_only ? 1 : 0;
	     f->id != KQL_F_MIN_OF && f->id != KQL_F_MAX_OF && i < nargs; i++)
		if ((!values_only || i % 2 == 1 || i == nargs - 1) &&
		    args[i]->type == PROTO_T_DYNAMIC)
			return PROTO_T_DYNAMIC;

	for (size_t i = values_only ? 1 : 0; i < nargs; i++) {
		enum proto_coltype a = args[i]->type;
		if (values_only && i % 2 == 0 && i != nargs - 1)
			continue; /* a predicate of case */
		if (t == PROTO_T_DYNAMIC)
			t = a;
		else if (numeric_rank(a) > 0 && numeric_rank(t) > 0 &&
		         numeric_rank(a) > numeric_rank(t))
			t = a;
	}
	return t;
}

static int result_type(const struct kql_func *f, struct kql_expr **args, size_t nargs)
{
	enum proto_coltype a0 = nargs > 0 ? args[0]->type : PROTO_T_LONG;

	if (f->id == KQL_F_IFF || f->id == KQL_F_CASE || f->id == KQL_F_COALESCE ||
	    f->id == KQL_F_MIN_OF || f->id == KQL_F_MAX_OF)
		return common_type(f, args, nargs);
	/* Kusto.Language: bin and floor of numbers are the wider of the two,
	 * an int promoted to long (bin(8, 2.5) is the real 7.5, which a long
	 * column read as 7); abs of an int is a long */
	if (f->id == KQL_F_BIN && nargs == 2 && numeric_rank(a0) > 0 &&
	    numeric_rank(args[1]->type) > 0)
		return numeric_rank(args[1]->type) > numeric_rank(a0) ? args[1]->type
		       : a0 == PROTO_T_INT                            ? PROTO_T_LONG
		                                                      : a0;
	if (f->id == KQL_F_ABS && a0 == PROTO_T_INT)
		return PROTO_T_LONG;
	switch (f->rule) {
	case KQL_R_FIXED:
		return f->type;
	case KQL_R_ARG0:
		return a0;
	case KQL_R_ARG1:
		return nargs > 1 ? args[1]->type : f->type;
	case KQL_R_SUM:
		return is_integer(a0) || a0 == PROTO_T_BOOL ? PROTO_T_LONG : a0;
	case KQL_R_NUMERIC:
		return a0 == PROTO_T_TIMESPAN || a0 == PROTO_T_DATETIME ? a0 : PROTO_T_REAL;
	case KQL_R_ROUND:
		/* Kusto.Language's round: the number's type (ReturnTypeKind.Parameter0) */
		return is_integer(a0) ? a0 : PROTO_T_REAL;
	}
	return f->type;
}

/* dcount's and dcountif's accuracy: an int literal 0..4 (kql_hll.h), which
 * the SQL and the split take as it is. */
static bool check_accuracy(struct kqlb *b, const struct kql_func *f, const struct kql_node *n,
                           struct kql_expr **args)
{
	size_t at = f->id == KQL_F_DCOUNT ? 1 : 2;
	const struct kql_expr *a = (size_t)n->nkids > at ? args[at] : NULL;

	if ((f->id != KQL_F_DCOUNT && f->id != KQL_F_DCOUNTIF) || a == NULL)
		return true;
	if (a->kind == KQL_E_LIT && is_integer(a->type) && !a->isnull && a->i >= 0 &&
	    a->i <= KQL_HLL_MAX)
		return true;
	return (bool)kqlb_fail(b, KQL_E_ARGS, n->pos,
	                       "%s(): the accuracy argument must be an int literal 0 to 4",
	                       n->name);
}

/* x as a dynamic value holding it. */
static struct kql_expr *box(struct kqlb *b, struct kql_expr *x)
{
	return kqlb_call1(b, KQL_F_BOX, PROTO_T_DYNAMIC, x);
}

/* iff, case, coalesce, min_of, max_of: every value of the common type,
 * or a number where it is a number, or dynamic (which gives way).  A
 * string or a timespan among longs or datetimes was read as the common
 * type (iff(false, 1, "a") was 0, a timespan a datetime in 1970); their
 * pages: "all arguments must be of the same type". */
static bool check_values(struct kqlb *b, const struct kql_func *f, const struct kql_node *n,
                         struct kql_expr **args, enum proto_coltype common)
{
	bool values_only = f->id == KQL_F_IFF || f->id == KQL_F_CASE;

	for (size_t i = values_only ? 1 : 0; i < n->nkids; i++) {
		enum proto_coltype a = args[i]->type;
		if (values_only && i % 2 == 0 && i != n->nkids - 1)
			continue; /* a predicate of case */
		if (common == PROTO_T_DYNAMIC && a != PROTO_T_DYNAMIC) {
			if ((args[i] = box(b, args[i])) == NULL)
				return false;
			continue;
		}
		if (a == common || a == PROTO_T_DYNAMIC ||
		    (numeric_rank(a) > 0 && numeric_rank(common) > 0))
			continue;
		return (bool)kqlb_fail(b, KQL_E_TYPE, args[i]->pos,
		                       "%s(): its values must be of one type: '%s' is not '%s'",
		                       n->name, tname(a), tname(common));
	}
	return true;
}

/* The checks Kusto makes on arguments that the plan relies on. */
static bool check_args(struct kqlb *b, const struct kql_func *f, const struct kql_node *n,
                       struct kql_expr **args)
{
	if (!check_accuracy(b, f, n, args))
		return false;
	enum proto_coltype a0 = n->nkids > 0 ? args[0]->type : PROTO_T_LONG;

	if (a0 == PROTO_T_DECIMAL &&
	    (f->id == KQL_F_SUM || f->id == KQL_F_SUMIF || f->id == KQL_F_AVG ||
	     f->id == KQL_F_AVGIF || f->id == KQL_F_MIN || f->id == KQL_F_MAX ||
	     f->id == KQL_F_PERCENTILE || f->id == KQL_F_PERCENTILES || f->id == KQL_F_ARG_MAX ||
	     f->id == KQL_F_ARG_MIN || f->id == KQL_F_MIN_OF || f->id == KQL_F_MAX_OF ||
	     f->id == KQL_F_BIN))
		return (bool)decimal_refused(b, n->pos, n->name);
	bool boolean = a0 == PROTO_T_BOOL || a0 == PROTO_T_DYNAMIC;

	if ((f->id == KQL_F_IFF || f->id == KQL_F_COUNTIF || f->id == KQL_F_NOT) && !boolean)
		return (bool)kqlb_fail(b, KQL_E_TYPE, n->pos,
		                       "%s(): the predicate must be bool, not '%s'", n->name,
		                       tname(a0));
	if ((f->id == KQL_F_SUMIF || f->id == KQL_F_AVGIF || f->id == KQL_F_DCOUNTIF) &&
	    args[1]->type != PROTO_T_BOOL)
		return (bool)kqlb_fail(b, KQL_E_TYPE, n->pos, "%s(): the predicate must be bool",
		                       n->name);
	/* avg also takes datetimes (Kusto's avg(datetime) is a datetime); sum not. */
	if ((f->id == KQL_F_SUM || f->id == KQL_F_AVG || f->id == KQL_F_SUMIF ||
	     f->id == KQL_F_AVGIF) &&
	    !is_number(a0) && a0 != PROTO_T_TIMESPAN && a0 != PROTO_T_DYNAMIC &&
	    a0 != PROTO_T_BOOL &&
	    !(a0 == PROTO_T_DATETIME && (f->id == KQL_F_AVG || f->id == KQL_F_AVGIF)))
		return (bool)kqlb_fail(b, KQL_E_TYPE, n->pos,
		                       "%s(): expects a numeric argument, not '%s'", n->name,
		                       tname(a0));
	if (f->id == KQL_F_BIN && !is_number(a0) && a0 != PROTO_T_DATETIME &&
	    a0 != PROTO_T_TIMESPAN)
		return (bool)kqlb_fail(b, KQL_E_TYPE, n->pos,
		                       "bin(): cannot bin values of type '%s'", tname(a0));
	/* a datetime as the bin size was its ticks from 1970 */
	if (f->id == KQL_F_BIN && n->nkids == 2 && args[1]->type == PROTO_T_DATETIME)
		return (bool)kqlb_fail(b, KQL_E_UNSUPPORTED, args[1]->pos,
		                       "%s(): a datetime bin size is not supported", n->name);
	if (f->id == KQL_F_AGO && a0 != PROTO_T_TIMESPAN)
		return (bool)kqlb_fail(b, KQL_E_TYPE, n->pos, "ago(): expects a timespan, not '%s'",
		                       tname(a0));
	if (f->id == KQL_F_CASE && n->nkids % 2 == 0)
		return (bool)kqlb_fail(b, KQL_E_ARGS, n->pos,
		                       "case(): expects predicate, value pairs and an else value");
	if (f->id == KQL_F_IFF || f->id == KQL_F_CASE || f->id == KQL_F_COALESCE ||
	    f->id == KQL_F_MIN_OF || f->id == KQL_F_MAX_OF)
		return check_values(b, f, n, args, common_type(f, args, n->nkids));
	return true;
}

static struct kql_expr *bind_arg(struct kqlb *b, const struct kqlb_scope *s,
                                 const struct kql_func *f, const struct kql_node *k, size_t i)
{
	struct kqlb_scope inner = *s;

	if (k->kind == KQL_N_STAR) {
		if ((f->id != KQL_F_ARG_MAX && f->id != KQL_F_ARG_MIN) || i == 0)
			return kqlb_fail(b, KQL_E_ARGS, k->pos, "'*' is not an argument of %s()",
			                 f->name);
		return new_expr(b, KQL_E_STAR, PROTO_T_DYNAMIC, k->pos, 0);
	}
	/* An aggregate's arguments are per row; a scalar function's may hold
	 * aggregates when it is itself inside summarize (round(avg(x), 2)). */
	inner.aggregates = s->aggregates && !f->aggregate;
	return kqlb_expr(b, &inner, k);
}

static struct kql_expr *bind_builtin(struct kqlb *b, const struct kqlb_scope *s,
                                     const struct kql_func *f, const struct kql_node *n)
{
	struct kql_expr *e = new_expr(b, KQL_E_CALL, PROTO_T_LONG, n->pos, n->nkids);
	size_t i = 0;

	if (e == NULL)
		return NULL;
	e->fn = f->id;
	for (const struct kql_node *k = n->kids; k != NULL; k = k->next, i++)
		if ((e->args[i] = bind_arg(b, s, f, k, i)) == NULL)
			return NULL;
	if (!kqlb_check_params(b, f->id, n->name, e->args, e->nargs) ||
	    !kqlb_check_shape(b, f->id, n->pos, e->args, e->nargs) || !check_args(b, f, n, e->args))
		return NULL;
	e->type = (enum proto_coltype)result_type(f, e->args, e->nargs);
	return e;
}

/* The conversion function to type t (to*T*()), or -1. */
static int conversion_to(enum proto_coltype t)
{
	static const struct {
		enum proto_coltype t;
		enum kql_fn fn;
	} to[] = {{PROTO_T_INT, KQL_F_TOINT},           {PROTO_T_LONG, KQL_F_TOLONG},
	          {PROTO_T_REAL, KQL_F_TOREAL},         {PROTO_T_BOOL, KQL_F_TOBOOL},
	          {PROTO_T_DATETIME, KQL_F_TODATETIME}, {PROTO_T_TIMESPAN, KQL_F_TOTIMESPAN},
	          {PROTO_T_GUID, KQL_F_TOGUID},         {PROTO_T_DYNAMIC, KQL_F_TODYNAMIC},
	          {PROTO_T_STRING, KQL_F_TOSTRING}};

	for (size_t i = 0; i < sizeof(to) / sizeof(to[0]); i++)
		if (to[i].t == t)
			return (int)to[i].fn;
	return -1;
}

/* extract(regex, group, source, typeof(T)): the captured text converted
 * as to*T*() converts it (null when it does not convert), bound as that
 * conversion over the three-argument extract. */
static struct kql_expr *bind_typed_extract(struct kqlb *b, const struct kqlb_scope *s,
                                           const struct kql_func *f, const struct kql_node *n)
{
	const struct kql_node *t = n->kids->next->next->next;
	struct kql_expr *x = new_expr(b, KQL_E_CALL, PROTO_T_STRING, n->pos, 3);
	int type = -1, fn = -1;
	size_t i = 0;

	if (t->kind == KQL_N_CALL && strcmp(t->name, "typeof") == 0 && t->nkids == 1 &&
	    t->kids->kind == KQL_N_NAME && t->kids->name != NULL)
		type = kql_parse_type_name(t->kids->name);
	if (type < 0 || (fn = conversion_to((enum proto_coltype)type)) < 0)
		return kqlb_fail(b, KQL_E_ARGS, t->pos,
		                 "extract(): the fourth argument must be typeof(T) of a type other "
		                 "than decimal");
	if (x == NULL)
		return NULL;
	x->fn = f->id;
	for (const struct kql_node *k = n->kids; i < 3; k = k->next, i++)
		if ((x->args[i] = bind_arg(b, s, f, k, i)) == NULL)
			return NULL;
	if (!kqlb_check_params(b, f->id, n->name, x->args, 3))
		return NULL;
	if (type == PROTO_T_STRING)
		return x;
	return kqlb_call1(b, (enum kql_fn)fn, (enum proto_coltype)type, x);
}

/* The operators a row keeps its table's ingestion time through: those
 * that pass each input row on whole or map it to one output row. */
static bool keeps_row(const struct kql_plan *p)
{
	return p->kind == KQL_P_FILTER || p->kind == KQL_P_PROJECT || p->kind == KQL_P_SORT ||
	       p->kind == KQL_P_TOP || p->kind == KQL_P_TAKE;
}

/* What made rows that are no table's, in the operators' words. */
static const char *origin(const struct kql_plan *p)
{
	switch (p->kind) {
	case KQL_P_AGGREGATE:
		return "summarize";
	case KQL_P_VALUES:
		return "datatable or print";
	case KQL_P_MVEXPAND:
		return "mv-expand";
	default:
		return kql_plan_kind_name(p->kind);
	}
}

/* ingestion_time() over s's rows: they must be a table's (Kusto gives null
 * elsewhere; here an error says where the rows stopped being a table's),
 * and the scan and the operators down to it carry the time (kql_plan.h).
 * The plans are the binder's own until the query is bound. */
static struct kql_expr *bind_ingestion(struct kqlb *b, const struct kqlb_scope *s,
                                       const struct kql_node *n)
{
	struct kql_plan *p = (struct kql_plan *)s->in, *q;
	struct kql_expr *e;

	for (q = p; q != NULL && keeps_row(q); q = q->in[0])
		;
	if (q == NULL)
		return kqlb_fail(b, KQL_E_UNSUPPORTED, n->pos,
		                 "ingestion_time(): '%s' has no table rows here", s->op);
	if (q->kind != KQL_P_SCAN)
		return kqlb_fail(b, KQL_E_UNSUPPORTED, n->pos,
		                 "ingestion_time(): the rows of '%s' are not a table's (they come "
		                 "from %s); use it before that: extend t = ingestion_time()",
		                 s->op, origin(q));
	for (q = p; q->kind != KQL_P_SCAN; q = q->in[0])
		q->ingest = true;
	q->ingest = true;
	if ((e = new_expr(b, KQL_E_CALL, PROTO_T_DATETIME, n->pos, 0)) != NULL)
		e->fn = KQL_F_INGESTION_TIME;
	return e;
}

/* A copy of n alone (its kids shared, no sibling): to use it twice in a
 * tree built by the binder. */
static struct kql_node *lone(struct kqlb *b, const struct kql_node *n)
{
	struct kql_node *c = kql_ast_new(b->a, n->kind, n->pos);

	if (c == NULL)
		return kqlb_fail(b, KQL_E_NOMEM, n->pos, "out of memory");
	*c = *n;
	c->next = NULL;
	return c;
}

/* The AST of fixed + bin(value - fixed, size), of n's kids, at n. */
static struct kql_node *bin_at_tree(struct kqlb *b, const struct kql_node *n)
{
	const struct kql_node *v = n->kids, *size = v->next, *fixed = size->next;
	struct kql_node *add = kql_ast_new(b->a, KQL_N_BINARY, n->pos);
	struct kql_node *bin = kql_ast_new(b->a, KQL_N_CALL, n->pos);
	struct kql_node *sub = kql_ast_new(b->a, KQL_N_BINARY, n->pos);

	if (add == NULL || bin == NULL || sub == NULL)
		return kqlb_fail(b, KQL_E_NOMEM, n->pos, "out of memory");
	add->op = KQL_OP_ADD;
	sub->op = KQL_OP_SUB;
	bin->name = "bin";
	if (kql_ast_add(sub, lone(b, v)) == NULL || kql_ast_add(sub, lone(b, fixed)) == NULL ||
	    kql_ast_add(bin, sub) == NULL || kql_ast_add(bin, lone(b, size)) == NULL ||
	    kql_ast_add(add, lone(b, fixed)) == NULL || kql_ast_add(add, bin) == NULL)
		return NULL;
	return add;
}

/* Whether bin_at's value v, bin size and fixed point are of kinds it takes:
 * numbers, or a datetime or timespan with a timespan size and a fixed
 * point of the value's type; else the error, naming them. */
static bool bin_at_types(struct kqlb *b, const struct kql_node *n, const struct kql_expr *v,
                         const struct kql_expr *size, const struct kql_expr *fixed)
{
	bool num = is_number(v->type) && is_number(size->type) && is_number(fixed->type);
	bool time = (v->type == PROTO_T_DATETIME || v->type == PROTO_T_TIMESPAN) &&
	            size->type == PROTO_T_TIMESPAN && fixed->type == v->type;

	if (num || time)
		return true;
	return (bool)kqlb_fail(b, KQL_E_TYPE, n->pos,
	                       "bin_at(): cannot bin a '%s' by a '%s' from a '%s' (numbers, or a "
	                       "datetime or timespan by a timespan from one of its type)",
	                       tname(v->type), tname(size->type), tname(fixed->type));
}

/* bin_at(value, size, fixed): fixed + bin(value - fixed, size), as its
 * page defines it (bins aligned on fixed, floored below it too), bound
 * through the operators' own typing and overflow checks.  The call keeps
 * the value first, so that it is named as bin() is (a summarize key keeps
 * its column's name: key_name); the executor writes args[1]. */
static struct kql_expr *bind_bin_at(struct kqlb *b, const struct kqlb_scope *s,
                                    const struct kql_node *n)
{
	struct kql_expr *v, *size, *fixed, *sum, *e;
	struct kql_node *tree;

	if (n->nkids != 3)
		return kqlb_fail(b, KQL_E_ARGS, n->pos, "bin_at(): expects 3 arguments, got %zu",
		                 n->nkids);
	if ((v = kqlb_expr(b, s, n->kids)) == NULL ||
	    (size = kqlb_expr(b, s, n->kids->next)) == NULL ||
	    (fixed = kqlb_expr(b, s, n->kids->next->next)) == NULL ||
	    !bin_at_types(b, n, v, size, fixed) || (tree = bin_at_tree(b, n)) == NULL ||
	    (sum = kqlb_expr(b, s, tree)) == NULL ||
	    (e = new_expr(b, KQL_E_CALL, sum->type, n->pos, 2)) == NULL)
		return NULL;
	e->fn = KQL_F_BIN_AT;
	e->args[0] = v;
	e->args[1] = sum;
	return e;
}

static struct kql_expr *bind_call(struct kqlb *b, const struct kqlb_scope *s,
                                  const struct kql_node *n)
{
	const struct kqlb_binding *let = kqlb_lookup(s->env, n->name);
	const struct kql_func *f;

	if (let != NULL && let->ast != NULL && let->ast->kind == KQL_N_FUNC)
		return inline_call(b, s, let, n);
	if (strcmp(n->name, "bin_at") == 0)
		return bind_bin_at(b, s, n);
	if ((f = kql_func_lookup(n->name)) == NULL) {
		if (kql_func_known_unsupported(n->name))
			return kqlb_fail(b, KQL_E_UNSUPPORTED, n->pos,
			                 "the '%s' function is not supported", n->name);
		return kqlb_fail(b, KQL_E_FUNCTION, n->pos, "Unknown function: '%s'", n->name);
	}
	if (f->aggregate && !s->aggregates)
		return kqlb_fail(b, KQL_E_TYPE, n->pos,
		                 "'%s' operator: the aggregate %s() is only allowed in summarize",
		                 s->op, n->name);
	if (n->nkids < f->minargs || n->nkids > f->maxargs)
		return kqlb_fail(b, KQL_E_ARGS, n->pos, "%s(): expects %u to %u arguments, got %zu",
		                 n->name, f->minargs, f->maxargs, n->nkids);
	if (f->id == KQL_F_EXTRACT && n->nkids == 4)
		return bind_typed_extract(b, s, f, n);
	if (f->id == KQL_F_INGESTION_TIME)
		return bind_ingestion(b, s, n);
	return bind_builtin(b, s, f, n);
}

struct kql_expr *kqlb_expr(struct kqlb *b, const struct kqlb_scope *s, const struct kql_node *n)
{
	struct kql_expr *e = NULL;

	if (!kqlb_enter(b, n->pos))
		return NULL;
	switch (n->kind) {
	case KQL_N_LIT:
		e = bind_lit(b, n);
		break;
	case KQL_N_NAME:
		e = bind_name(b, s, n);
		break;
	case KQL_N_BINARY:
		e = bind_binary(b, s, n);
		break;
	case KQL_N_UNARY:
		e = bind_unary(b, s, n);
		break;
	case KQL_N_IN:
		e = n->op == KQL_OP_HAS_ANY || n->op == KQL_OP_HAS_ALL ? kqlb_has_list(b, s, n)
		                                                       : bind_list_op(b, s, n);
		break;
	case KQL_N_BETWEEN:
		e = bind_list_op(b, s, n);
		break;
	case KQL_N_MEMBER:
	case KQL_N_INDEX:
		e = bind_access(b, s, n);
		break;
	case KQL_N_CALL:
		e = bind_call(b, s, n);
		break;
	case KQL_N_ASSIGN:
		e = kqlb_fail(b, KQL_E_ARGS, n->pos,
		              "a named argument ('%s = ...') where a user-defined function is not "
		              "called",
		              n->name);
		break;
	default:
		e = kqlb_fail(b, KQL_E_TYPE, n->pos, "a %s where a scalar expression is expected",
		              n->kind == KQL_N_STAR ? "'*'" : "tabular expression");
		break;
	}
	kqlb_leave(b);
	return e;
}

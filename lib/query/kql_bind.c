/*
 * kql_bind — statements and tabular operators: each operator of a pipe
 * becomes one plan node over the plan of what precedes it, with its output
 * columns named and typed as Kusto names and types them.  Scalar
 * expressions are kql_bind_expr.c's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "query/kql_bind_int.h"
#include "query/kql_json.h"
#include "query/kql_parse.h"
#include "util/timefmt.h"

#define MAX_BIND_DEPTH 256

/* ---- shared helpers ---- */

void *kqlb_fail(struct kqlb *b, const char *code, struct kql_pos pos, const char *fmt, ...)
{
	va_list ap;
	char msg[KQL_ERR_MSG];

	if (b->failed)
		return NULL;
	b->failed = 1;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)kql_err_set(b->err, code, pos, "%s", msg);
	return NULL;
}

void *kqlb_nomem(struct kqlb *b)
{
	struct kql_pos none = {0, 1, 1};

	return kqlb_fail(b, KQL_E_NOMEM, none, "out of memory");
}

void *kqlb_alloc(struct kqlb *b, size_t n)
{
	void *p = kql_arena_alloc(b->a, n);

	return p != NULL ? p : kqlb_nomem(b);
}

bool kqlb_enter(struct kqlb *b, struct kql_pos pos)
{
	if (b->depth >= MAX_BIND_DEPTH) {
		(void)kqlb_fail(b, KQL_E_LIMIT, pos, "the query nests deeper than %d levels",
		                MAX_BIND_DEPTH);
		return false;
	}
	b->depth++;
	return true;
}

void kqlb_leave(struct kqlb *b)
{
	b->depth--;
}

const struct kqlb_binding *kqlb_lookup(const struct kqlb_binding *env, const char *name)
{
	for (; env != NULL; env = env->next)
		if (strcmp(env->name, name) == 0)
			return env;
	return NULL;
}

int kqlb_column(const struct kql_plan *p, const char *name)
{
	for (size_t i = 0; i < p->ncols; i++)
		if (strcmp(p->cols[i].name, name) == 0)
			return (int)i;
	return -1;
}

static struct kqlb_binding *bind_let(struct kqlb *b, const char *name,
                                     const struct kqlb_binding *env)
{
	struct kqlb_binding *let = kqlb_alloc(b, sizeof(*let));

	if (let != NULL) {
		let->name = name;
		let->env = env;
		let->next = env;
	}
	return let;
}

/* One parameter bound to the call's argument (or its default). */
static struct kqlb_binding *bind_param(struct kqlb *b, const struct kql_node *param,
                                       const struct kql_node *arg, const struct kqlb_scope *s,
                                       const struct kqlb_binding *env)
{
	struct kqlb_binding *p = bind_let(b, param->name, env);

	if (p == NULL)
		return NULL;
	if (param->op == 1)
		p->plan = kqlb_tabular(b, s->env, arg);
	else
		p->expr = kqlb_expr(b, s, arg);
	if (p->plan == NULL && p->expr == NULL)
		return NULL;
	if (p->expr != NULL && !kqlb_comparable(p->expr->type, param->type))
		return kqlb_fail(b, KQL_E_TYPE, arg->pos,
		                 "argument '%s' must be of type '%s', not '%s'", param->name,
		                 proto_coltype_name(param->type),
		                 proto_coltype_name(p->expr->type));
	return p;
}

/* The parameter of fn named name and its index, NULL when none. */
static const struct kql_node *param_named(const struct kqlb_binding *fn, const char *name,
                                          size_t *index)
{
	const struct kql_node *param = fn->ast->kids;

	for (*index = 0; param != fn->ast->last; param = param->next, ++*index)
		if (strcmp(param->name, name) == 0)
			return param;
	return NULL;
}

/* Kusto's rules for a call's arguments: the positional ones first, then
 * those named (name = value), each naming a parameter given no value yet;
 * *npos the positional ones.  0, or -1 with the error set. */
static int check_args(struct kqlb *b, const struct kqlb_binding *fn, const struct kql_node *call,
                      size_t *npos)
{
	size_t nparams = fn->ast->nkids - 1, i;
	uint64_t given = 0; /* KQL_MAX_PARAMS bits */
	bool named = false;

	*npos = 0;
	for (const struct kql_node *a = call->kids; a != NULL; a = a->next) {
		if (a->kind != KQL_N_ASSIGN) {
			if (named)
				return kqlb_fail(b, KQL_E_ARGS, a->pos,
				                 "%s(): a positional argument after a named one",
				                 fn->name),
				       -1;
			if (++*npos > nparams)
				return kqlb_fail(b, KQL_E_ARGS, call->pos,
				                 "%s(): expects %zu arguments, got %zu", fn->name,
				                 nparams, call->nkids),
				       -1;
			given |= 1ull << (*npos - 1);
			continue;
		}
		if (param_named(fn, a->name, &i) == NULL)
			return kqlb_fail(b, KQL_E_ARGS, a->pos, "%s(): no parameter named '%s'",
			                 fn->name, a->name),
			       -1;
		named = true;
		if (given & (1ull << i))
			return kqlb_fail(b, KQL_E_ARGS, a->pos,
			                 "%s(): a value for parameter '%s' given twice", fn->name,
			                 a->name),
			       -1;
		given |= 1ull << i;
	}
	return 0;
}

/* The argument for parameter i (param): the i-th positional one, the one
 * naming it, else its default (NULL: none). */
static const struct kql_node *arg_for(const struct kql_node *call, size_t npos, size_t i,
                                      const struct kql_node *param)
{
	const struct kql_node *a = call->kids;

	if (i < npos) {
		while (i-- > 0)
			a = a->next;
		return a;
	}
	for (; a != NULL; a = a->next)
		if (a->kind == KQL_N_ASSIGN && strcmp(a->name, param->name) == 0)
			return a->kids;
	return param->kids;
}

int kqlb_call_env(struct kqlb *b, const struct kqlb_binding *fn, const struct kql_node *call,
                  const struct kqlb_scope *s, const struct kqlb_binding **ret_env)
{
	const struct kqlb_binding *env = fn->env;
	const struct kql_node *param = fn->ast->kids;
	size_t nparams = fn->ast->nkids - 1, npos;

	if (++b->ninline > KQL_MAX_INLINE)
		return kqlb_fail(b, KQL_E_LIMIT, call->pos, "more than %d function calls",
		                 KQL_MAX_INLINE),
		       -1;
	if (check_args(b, fn, call, &npos) != 0)
		return -1;
	for (size_t i = 0; i < nparams; i++, param = param->next) {
		const struct kql_node *value = arg_for(call, npos, i, param);
		if (value == NULL)
			return kqlb_fail(b, KQL_E_ARGS, call->pos,
			                 "%s(): no value for parameter '%s'", fn->name,
			                 param->name),
			       -1;
		if ((env = bind_param(b, param, value, s, env)) == NULL)
			return -1;
	}
	*ret_env = env;
	return 0;
}

const struct kql_node *kqlb_body(struct kqlb *b, const struct kql_node *func,
                                 const struct kqlb_binding **env)
{
	const struct kql_node *body = func->last, *k;
	struct kqlb_binding *let;

	for (k = body->kids; k != body->last; k = k->next) {
		if ((let = bind_let(b, k->name, *env)) == NULL)
			return NULL;
		let->ast = k->kids;
		*env = let;
	}
	return body->last;
}

/* ---- plans and names ---- */

struct kql_plan *kqlb_new_plan(struct kqlb *b, enum kql_plan_kind kind, struct kql_pos pos,
                               size_t ncols, struct kql_plan *in)
{
	struct kql_plan *p = kqlb_alloc(b, sizeof(*p));

	if (p == NULL || (ncols > 0 && (p->cols = kqlb_alloc(b, ncols * sizeof(*p->cols))) == NULL))
		return NULL;
	p->kind = kind;
	p->pos = pos;
	p->ncols = ncols;
	p->itemindex = -1;
	if (in != NULL) {
		if ((p->in = kqlb_alloc(b, sizeof(*p->in))) == NULL)
			return NULL;
		p->in[0] = in;
		p->nin = 1;
	}
	return p;
}

static bool name_taken(const struct kql_col *cols, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (cols[i].name != NULL && strcmp(cols[i].name, name) == 0)
			return true;
	return false;
}

/* base, or base1, base2 ... when cols[0, n) already has it (Kusto's way
 * with a join's repeated names and repeated aggregates). */
const char *kqlb_unique_name(struct kqlb *b, const struct kql_col *cols, size_t n, const char *base)
{
	char buf[300];

	if (!name_taken(cols, n, base))
		return base;
	for (int k = 1;; k++) {
		(void)snprintf(buf, sizeof(buf), "%s%d", base, k);
		if (!name_taken(cols, n, buf))
			return kql_arena_strndup(b->a, buf, strlen(buf));
	}
}

const char *kqlb_printf_name(struct kqlb *b, const char *fmt, ...)
{
	char buf[300];
	va_list ap;
	const char *s;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s = kql_arena_strndup(b->a, buf, strlen(buf));
	return s != NULL ? s : kqlb_nomem(b);
}

/* ---- sources ---- */

static struct kql_plan *bind_scan(struct kqlb *b, const char *dbname, const char *name,
                                  struct kql_pos pos)
{
	const struct kql_schema_db *db =
	    kql_schema_db(b->schema, dbname != NULL ? dbname : b->schema->current);
	const struct kql_schema_table *t;
	struct kql_plan *p;

	if (db == NULL && dbname != NULL)
		return kqlb_fail(b, KQL_E_NAME, pos, "Failed to resolve database named '%s'",
		                 dbname);
	if ((t = kql_schema_table(db, name)) == NULL)
		return kqlb_fail(b, KQL_E_NAME, pos,
		                 "Failed to resolve table expression named '%s'", name);
	if ((p = kqlb_new_plan(b, KQL_P_SCAN, pos, t->ncolumns, NULL)) == NULL ||
	    (p->reads = kqlb_alloc(b, (t->ncolumns + 1) * sizeof(bool))) == NULL)
		return NULL;
	p->db = db->name;
	p->table = p->name = t->name;
	p->foreign = db != kql_schema_db(b->schema, b->schema->current);
	for (size_t i = 0; i < t->ncolumns; i++) {
		p->cols[i].name = t->columns[i].name;
		p->cols[i].type = t->columns[i].type;
	}
	return p;
}

static struct kql_plan *bind_call_source(struct kqlb *b, const struct kqlb_binding *env,
                                         const struct kql_node *n)
{
	const struct kqlb_binding *fn = kqlb_lookup(env, n->name);
	struct kqlb_scope s = {NULL, env, n->name, false};
	const struct kql_node *body;

	if (fn == NULL || fn->ast == NULL || fn->ast->kind != KQL_N_FUNC)
		return kqlb_fail(b, KQL_E_NAME, n->pos,
		                 "Failed to resolve table expression named '%s'", n->name);
	if (kqlb_call_env(b, fn, n, &s, &env) != 0 || (body = kqlb_body(b, fn->ast, &env)) == NULL)
		return NULL;
	return kqlb_tabular(b, env, body);
}

/* False for what can only be a scalar (a literal, an operator). */
static bool maybe_tabular(const struct kql_node *n)
{
	switch (n->kind) {
	case KQL_N_PIPE:
	case KQL_N_TABLE:
	case KQL_N_DATATABLE:
	case KQL_N_PRINT:
	case KQL_N_RANGE:
	case KQL_N_UNION:
	case KQL_N_NAME:
	case KQL_N_CALL:
		return true;
	default:
		return false;
	}
}

static struct kql_plan *bind_name_source(struct kqlb *b, const struct kqlb_binding *env,
                                         const struct kql_node *n)
{
	const struct kqlb_binding *let = kqlb_lookup(env, n->name);

	if (let == NULL)
		return bind_scan(b, NULL, n->name, n->pos);
	if (let->plan != NULL)
		return let->plan;
	if (let->expr == NULL && let->ast->kind == KQL_N_FUNC)
		return bind_call_source(b, env, n); /* a function named alone is called */
	if (let->expr != NULL || !maybe_tabular(let->ast))
		return kqlb_fail(
		    b, KQL_E_TYPE, n->pos, "'%s' is not a tabular expression%s", n->name,
		    let->ast != NULL && let->ast->kind == KQL_N_FUNC ? " (a function: call it)"
		                                                     : "");
	return kqlb_tabular(b, let->env, let->ast);
}

/* A datatable value converted to its column's type where Kusto converts
 * literals (long into int, real or decimal; null of any type). */
static struct kql_expr *datatable_value(struct kqlb *b, const struct kqlb_binding *env,
                                        const struct kql_node *v, const struct kql_node *col)
{
	struct kqlb_scope s = {NULL, env, "datatable", false};
	struct kql_expr *e = kqlb_expr(b, &s, v);
	enum proto_coltype t = col->type;

	if (e == NULL)
		return NULL;
	if (e->kind != KQL_E_LIT)
		return kqlb_fail(b, KQL_E_TYPE, v->pos, "datatable: values must be literals");
	if (e->type == t || e->isnull || t == PROTO_T_DYNAMIC) {
		e->type = e->isnull ? t : e->type;
		return e;
	}
	if (e->type == PROTO_T_LONG &&
	    (t == PROTO_T_INT || t == PROTO_T_REAL || t == PROTO_T_DECIMAL)) {
		e->type = t;
		e->r = (double)e->i;
		return e;
	}
	if (e->type == PROTO_T_REAL && t == PROTO_T_DECIMAL) {
		e->type = t;
		char buf[KQL_JSON_REAL_LEN];
		e->s = kqlb_printf_name(b, "%s", kql_json_shortest(e->r, buf));
		return e;
	}
	return kqlb_fail(b, KQL_E_TYPE, v->pos,
	                 "datatable: a '%s' value in column '%s' of type '%s'",
	                 proto_coltype_name(e->type), col->name, proto_coltype_name(t));
}

static struct kql_plan *bind_datatable(struct kqlb *b, const struct kqlb_binding *env,
                                       const struct kql_node *n)
{
	size_t ncols = (size_t)n->i, nvalues = n->nkids - ncols, i = 0;
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_VALUES, n->pos, ncols, NULL);
	const struct kql_node *k = n->kids, *coldefs = n->kids;

	if (p == NULL ||
	    (nvalues > 0 && (p->exprs = kqlb_alloc(b, nvalues * sizeof(*p->exprs))) == NULL))
		return NULL;
	for (; i < ncols; i++, k = k->next) {
		if (name_taken(p->cols, i, k->name))
			return kqlb_fail(b, KQL_E_NAME, k->pos,
			                 "datatable: column '%s' appears twice", k->name);
		p->cols[i].name = k->name;
		p->cols[i].type = k->type;
	}
	for (i = 0; k != NULL; k = k->next, i++) {
		const struct kql_node *col = coldefs;
		for (size_t c = 0; c < i % ncols; c++)
			col = col->next;
		if ((p->exprs[i] = datatable_value(b, env, k, col)) == NULL)
			return NULL;
	}
	p->nexprs = nvalues;
	p->nrows = nvalues / ncols;
	return p;
}

static struct kql_plan *bind_print(struct kqlb *b, const struct kqlb_binding *env,
                                   const struct kql_node *n)
{
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_VALUES, n->pos, n->nkids, NULL);
	struct kqlb_scope s = {NULL, env, "print", false};
	const struct kql_node *k = n->kids;
	const char *name;

	if (p == NULL || (p->exprs = kqlb_alloc(b, n->nkids * sizeof(*p->exprs))) == NULL)
		return NULL;
	for (size_t i = 0; k != NULL; k = k->next, i++) {
		const struct kql_node *v = k->kind == KQL_N_ASSIGN ? k->kids : k;
		if ((p->exprs[i] = kqlb_expr(b, &s, v)) == NULL)
			return NULL;
		name = k->kind == KQL_N_ASSIGN ? k->name : kqlb_printf_name(b, "print_%zu", i);
		if (name == NULL || (name = kqlb_unique_name(b, p->cols, i, name)) == NULL)
			return NULL;
		p->cols[i].name = name;
		p->cols[i].type = p->exprs[i]->type;
	}
	p->nexprs = n->nkids;
	p->nrows = 1;
	return p;
}

static bool range_types_ok(enum proto_coltype from, enum proto_coltype to, enum proto_coltype step)
{
	bool num = (from == PROTO_T_LONG || from == PROTO_T_INT || from == PROTO_T_REAL);

	if (num)
		return (to == PROTO_T_LONG || to == PROTO_T_INT || to == PROTO_T_REAL) &&
		       (step == PROTO_T_LONG || step == PROTO_T_INT || step == PROTO_T_REAL);
	return (from == PROTO_T_DATETIME || from == PROTO_T_TIMESPAN) && to == from &&
	       step == PROTO_T_TIMESPAN;
}

static struct kql_plan *bind_range(struct kqlb *b, const struct kqlb_binding *env,
                                   const struct kql_node *n)
{
	struct kql_plan *p = kqlb_new_plan(b, KQL_P_RANGE, n->pos, 1, NULL);
	struct kqlb_scope s = {NULL, env, "range", false};
	const struct kql_node *k = n->kids;
	struct kql_expr **e;

	if (p == NULL || (e = p->exprs = kqlb_alloc(b, 3 * sizeof(*e))) == NULL)
		return NULL;
	for (int i = 0; i < 3; i++, k = k->next)
		if ((e[i] = kqlb_expr(b, &s, k)) == NULL)
			return NULL;
	if (!range_types_ok(e[0]->type, e[1]->type, e[2]->type))
		return kqlb_fail(b, KQL_E_TYPE, n->pos,
		                 "range: from '%s' to '%s' step '%s' is not a valid range",
		                 proto_coltype_name(e[0]->type), proto_coltype_name(e[1]->type),
		                 proto_coltype_name(e[2]->type));
	p->nexprs = 3;
	p->cols[0].name = n->name;
	p->cols[0].type = e[0]->type == PROTO_T_INT ? PROTO_T_LONG : e[0]->type;
	if (e[0]->type != PROTO_T_DATETIME && e[0]->type != PROTO_T_TIMESPAN &&
	    (e[1]->type == PROTO_T_REAL || e[2]->type == PROTO_T_REAL))
		p->cols[0].type = PROTO_T_REAL;
	return p;
}

/* The name withsource gives a union input: its table's (a let naming a
 * table passes the table's on), else union_argN: a let of a datatable
 * is no table (measured on Kusto: union withsource=S A, B of two such
 * lets gives union_arg0, union_arg1; it gave A, B). */
static const char *source_name(struct kqlb *b, const struct kql_plan *p, size_t i)
{
	if (p->name != NULL)
		return p->name;
	return kqlb_printf_name(b, "union_arg%zu", i);
}

/* A union's inputs and their withsource names, n of room. */
struct union_in {
	struct kql_plan **in;
	const char **src;
	size_t n, room;
};

/* Room for the inputs of union n: its references and first, or the bound
 * when a wildcard name may match any number of tables. */
static int union_room(struct kqlb *b, const struct kql_node *n, bool first, struct union_in *u)
{
	u->room = n->nkids + first;
	for (const struct kql_node *k = n->kids; k != NULL; k = k->next)
		if (k->kind == KQL_N_PATTERN)
			u->room = KQL_MAX_UNION;
	u->in = kqlb_alloc(b, u->room * sizeof(*u->in));
	u->src = kqlb_alloc(b, u->room * sizeof(*u->src));
	return u->in != NULL && u->src != NULL ? 0 : -1;
}

/* Appends p, read for the reference k (NULL: the rows before '|'). */
static int union_add(struct kqlb *b, struct union_in *u, const struct kql_node *k,
                     struct kql_plan *p, struct kql_pos pos)
{
	if (p == NULL)
		return -1;
	if (u->n == KQL_MAX_UNION || u->n == u->room) {
		(void)kqlb_fail(b, KQL_E_LIMIT, pos,
		                "'union' operator: more than %d inputs (a wildcard name counts "
		                "each table it matches)",
		                KQL_MAX_UNION);
		return -1;
	}
	u->in[u->n] = p;
	if ((u->src[u->n] = source_name(b, p, u->n)) == NULL)
		return -1;
	u->n++;
	return 0;
}

/* A scan of each table the wildcard name k matches, in the order of
 * their names; withsource gives each its table's name. */
static int union_wild(struct kqlb *b, struct union_in *u, const struct kql_node *k)
{
	const struct kql_schema_table **t;
	size_t nt;

	if (kqlb_wild_tables(b, k, &t, &nt) != 0)
		return -1;
	for (size_t i = 0; i < nt; i++)
		if (union_add(b, u, k, bind_scan(b, k->str, t[i]->name, k->pos), k->pos) != 0)
			return -1;
	return 0;
}

/* Whether the union leg k names nothing there is (isfuzzy=true leaves it
 * out): a table that is not, a database that is not, a wildcard name
 * that matches no table.  A let name resolves; any other leg is bound,
 * its errors kept ("isfuzzy=true only applies to the union sources
 * resolution phase", the union page). */
static bool unresolved(struct kqlb *b, const struct kqlb_binding *env, const struct kql_node *k)
{
	const struct kql_schema_db *db;

	if (k->kind != KQL_N_TABLE && k->kind != KQL_N_PATTERN)
		return false;
	if (k->kind == KQL_N_TABLE && k->str == NULL && kqlb_lookup(env, k->name) != NULL)
		return false;
	db = kql_schema_db(b->schema, k->str != NULL ? k->str : b->schema->current);
	if (db == NULL)
		return true;
	if (k->kind == KQL_N_TABLE)
		return kql_schema_table(db, k->name) == NULL;
	for (size_t i = 0; i < db->ntables; i++)
		if (kqlb_wild_match(k->name, strlen(k->name), db->tables[i].name))
			return false;
	return true;
}

/* union T1, T2 as a source (first is NULL) or | union T2 after first.
 * With isfuzzy=true the legs that name nothing are left out; when none
 * is left, the first of them is refused as without it ("if no
 * resolutions succeed, the query returns an error"). */
static struct kql_plan *bind_union(struct kqlb *b, const struct kqlb_binding *env,
                                   const struct kql_node *n, struct kql_plan *first)
{
	struct union_in u = {NULL, NULL, 0, 0};
	const struct kql_node *missed = NULL;

	if (union_room(b, n, first != NULL, &u) != 0 ||
	    (first != NULL && union_add(b, &u, NULL, first, n->pos) != 0))
		return NULL;
	for (const struct kql_node *k = n->kids; k != NULL; k = k->next) {
		if (n->i && unresolved(b, env, k)) {
			missed = missed != NULL ? missed : k;
			continue;
		}
		if (k->kind == KQL_N_PATTERN
		        ? union_wild(b, &u, k) != 0
		        : union_add(b, &u, k, kqlb_tabular(b, env, k), k->pos) != 0)
			return NULL;
	}
	if (u.n == 0 && missed != NULL) {
		if (missed->kind == KQL_N_PATTERN)
			(void)union_wild(b, &u, missed); /* its error */
		else
			(void)kqlb_tabular(b, env, missed);
		return NULL;
	}
	return kqlb_union(b, n, u.in, u.src, u.n);
}

static struct kql_plan *bind_source(struct kqlb *b, const struct kqlb_binding *env,
                                    const struct kql_node *n)
{
	switch (n->kind) {
	case KQL_N_NAME:
		if (n->op != 0)
			break;
		return bind_name_source(b, env, n);
	case KQL_N_TABLE:
		/* A bare name after union, join or lookup may be a let (T | union T). */
		return n->str == NULL ? bind_name_source(b, env, n)
		                      : bind_scan(b, n->str, n->name, n->pos);
	case KQL_N_CALL:
		return bind_call_source(b, env, n);
	case KQL_N_DATATABLE:
		return bind_datatable(b, env, n);
	case KQL_N_PRINT:
		return bind_print(b, env, n);
	case KQL_N_RANGE:
		return bind_range(b, env, n);
	case KQL_N_UNION:
		return bind_union(b, env, n, NULL);
	case KQL_N_PIPE:
		return kqlb_tabular(b, env, n);
	default:
		break;
	}
	return kqlb_fail(b, KQL_E_TYPE, n->pos, "a scalar expression where a table is expected");
}

/* as T: the operators after it in the pipe may name T (| join (T) on k). */
static const struct kqlb_binding *as_binding(struct kqlb *b, const struct kqlb_binding *env,
                                             const char *name, struct kql_plan *p)
{
	struct kqlb_binding *t = kqlb_alloc(b, sizeof(*t));

	if (t != NULL) {
		t->name = name;
		t->env = env;
		t->plan = p;
		t->next = env;
	}
	return t;
}

struct kql_plan *kqlb_tabular(struct kqlb *b, const struct kqlb_binding *env,
                              const struct kql_node *n)
{
	struct kql_plan *p;

	if (!kqlb_enter(b, n->pos))
		return NULL;
	if (n->kind != KQL_N_PIPE) {
		p = bind_source(b, env, n);
	} else {
		p = bind_source(b, env, n->kids);
		for (const struct kql_node *op = n->kids->next; p != NULL && op != NULL;
		     op = op->next) {
			p = op->kind == KQL_N_UNION ? bind_union(b, env, op, p)
			                            : kqlb_operator(b, env, p, op);
			if (p != NULL && op->kind == KQL_N_AS &&
			    (env = as_binding(b, env, op->name, p)) == NULL)
				p = NULL;
		}
	}
	kqlb_leave(b);
	return p;
}

/* ---- statements ---- */

/* The value of set name = value as text ("true" for a bare set name). */
static const char *set_value(struct kqlb *b, const struct kql_node *v)
{
	char buf[TIMEFMT_DATETIME_LEN + TIMEFMT_TIMESPAN_LEN];

	if (v == NULL)
		return "true";
	if (v->kind == KQL_N_NAME)
		return v->name;
	if (v->kind != KQL_N_LIT || v->isnull)
		return kqlb_fail(b, KQL_E_TYPE, v->pos, "set: the value must be a literal");
	switch (v->type) {
	case PROTO_T_BOOL:
		return v->i ? "true" : "false";
	case PROTO_T_INT:
	case PROTO_T_LONG:
		return kqlb_printf_name(b, "%" PRId64, v->i);
	case PROTO_T_REAL:
		return kqlb_printf_name(b, "%.17g", v->r);
	case PROTO_T_DATETIME:
		return kqlb_printf_name(b, "%s", timefmt_format_datetime(v->i, buf));
	case PROTO_T_TIMESPAN:
		return kqlb_printf_name(b, "%s", timefmt_format_timespan(v->i, buf));
	default:
		return v->str;
	}
}

static int add_set(struct kqlb *b, struct kql_query *q, const struct kql_node *n)
{
	const char *value = set_value(b, n->kids);
	const char **names = kqlb_alloc(b, (q->nsets + 1) * sizeof(*names));
	const char **values = kqlb_alloc(b, (q->nsets + 1) * sizeof(*values));

	if (value == NULL || names == NULL || values == NULL)
		return -1;
	if (q->nsets > 0) {
		memcpy(names, q->set_names, q->nsets * sizeof(*names));
		memcpy(values, q->set_values, q->nsets * sizeof(*values));
	}
	names[q->nsets] = n->name;
	values[q->nsets++] = value;
	q->set_names = names;
	q->set_values = values;
	return 0;
}

static int bind_statements(struct kqlb *b, const struct kql_node *root, struct kql_query *q)
{
	const struct kqlb_binding *env = NULL;
	struct kqlb_binding *let;

	if ((q->results = kqlb_alloc(b, root->nkids * sizeof(*q->results))) == NULL)
		return -1;
	for (const struct kql_node *s = root->kids; s != NULL; s = s->next) {
		if (s->kind == KQL_N_SET) {
			if (add_set(b, q, s) != 0)
				return -1;
		} else if (s->kind == KQL_N_DECLARE) {
			if (kqlb_declare(b, s, &env) != 0)
				return -1;
		} else if (s->kind == KQL_N_LET) {
			/* Kusto refuses a name declared twice (SEM0079, measured) */
			if (kqlb_lookup(env, s->name) != NULL)
				return kqlb_fail(b, KQL_E_NAME, s->pos,
				                 "let: the name '%s' is already declared", s->name),
				       -1;
			if ((let = bind_let(b, s->name, env)) == NULL)
				return -1;
			let->ast = s->kids;
			env = let;
		} else if ((q->results[q->nresults++] = kqlb_tabular(b, env, s)) == NULL ||
		           kqlb_prune(b, q->results[q->nresults - 1], NULL) != 0) {
			return -1;
		}
	}
	if (q->nresults == 0)
		return kqlb_fail(b, KQL_E_SYNTAX, root->pos, "the query has no tabular expression"),
		       -1;
	q->render = b->render;
	return 0;
}

/* kql_bind with the declared parameters' values. */
static int bind_params(struct kql_arena *arena, const struct kql_node *root,
                       const struct kql_schema *schema, const struct kql_params *params,
                       struct kql_query **ret, struct kql_error *err)
{
	struct kqlb b = {arena, schema, err, 0, 0, 0, NULL, params};
	struct kql_query *q = kqlb_alloc(&b, sizeof(*q));

	if (q == NULL || bind_statements(&b, root, q) != 0)
		return err != NULL && err->code != NULL && strcmp(err->code, KQL_E_NOMEM) == 0
		           ? -ENOMEM
		           : -EINVAL;
	*ret = q;
	return 0;
}

int kql_bind(struct kql_arena *arena, const struct kql_node *root, const struct kql_schema *schema,
             struct kql_query **ret, struct kql_error *err)
{
	return bind_params(arena, root, schema, NULL, ret, err);
}

int kql_compile_params(struct kql_arena *arena, const char *src, size_t len,
                       const struct kql_schema *schema, const struct kql_params *params,
                       struct kql_query **ret, struct kql_error *err)
{
	struct kql_node *root;
	int r;

	if ((r = kql_parse(arena, src, len, &root, err)) != 0)
		return r;
	return bind_params(arena, root, schema, params, ret, err);
}

int kql_compile(struct kql_arena *arena, const char *src, size_t len,
                const struct kql_schema *schema, struct kql_query **ret, struct kql_error *err)
{
	return kql_compile_params(arena, src, len, schema, NULL, ret, err);
}

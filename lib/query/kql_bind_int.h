/*
 * kql_bind_int — what kql_bind.c (statements, tabular operators) and
 * kql_bind_expr.c (scalar expressions, typing, naming) share.
 */
#ifndef FOLLOWERD_KQL_BIND_INT_H
#define FOLLOWERD_KQL_BIND_INT_H

#include <stdbool.h>

#include "query/kql_bind.h"

/* A let name (or a function's parameter) and what it stands for; a chain
 * through next is an environment, innermost first. */
struct kqlb_binding {
	const char *name;
	const struct kql_node *ast;     /* the let's value: scalar, tabular or KQL_N_FUNC */
	const struct kqlb_binding *env; /* where ast is bound (lexical scope) */
	struct kql_expr *expr;          /* a bound scalar argument */
	struct kql_plan *plan;          /* a bound tabular argument */
	const struct kqlb_binding *next;
};

struct kqlb {
	struct kql_arena *a;
	const struct kql_schema *schema;
	struct kql_error *err;
	int depth;
	int ninline;
	int failed;                      /* an error was set */
	const char *render;              /* the visualization of the last render */
	const struct kql_params *params; /* declared parameters' values; NULL: none */
};

/* declare query_parameters n: each parameter bound, as a let, to its value
 * (the request's, else its default) onto *env (kql_bind_decl.c).  0, or
 * -1 with the error set. */
int kqlb_declare(struct kqlb *b, const struct kql_node *n, const struct kqlb_binding **env);

/* Where a scalar expression is bound. */
struct kqlb_scope {
	const struct kql_plan *in; /* the row's columns; NULL: none (print, let) */
	const struct kqlb_binding *env;
	const char *op;  /* operator name for messages: "where" */
	bool aggregates; /* summarize's aggregate list */
};

/* The arguments of a call of fn (spelled name) against its parameters'
 * types (kql_bind_sig.c): a text parameter's argument replaced by its
 * tostring; false with the error set on a mistyped one. */
bool kqlb_check_params(struct kqlb *b, enum kql_fn fn, const char *name, struct kql_expr **args,
                       size_t nargs);

/* The call fn(x) of result type (kql_bind_expr.c); NULL on ENOMEM. */
struct kql_expr *kqlb_call1(struct kqlb *b, enum kql_fn fn, enum proto_coltype type,
                            struct kql_expr *x);

/* What a function's arguments must be beyond their types: bag_pack's
 * pairs, range's kinds (kql_bind_sig.c); false with the error set. */
bool kqlb_check_shape(struct kqlb *b, enum kql_fn fn, struct kql_pos pos, struct kql_expr **args,
                      size_t nargs);
/* tostring(x) (kql_bind_sig.c); NULL on ENOMEM. */
struct kql_expr *kqlb_text(struct kqlb *b, struct kql_expr *x);

/* Errors: fill b->err, return NULL. */
void *kqlb_fail(struct kqlb *b, const char *code, struct kql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void *kqlb_nomem(struct kqlb *b);
void *kqlb_alloc(struct kqlb *b, size_t n);
bool kqlb_enter(struct kqlb *b, struct kql_pos pos);
void kqlb_leave(struct kqlb *b);

/* The binding of name in env, NULL when none. */
const struct kqlb_binding *kqlb_lookup(const struct kqlb_binding *env, const char *name);
/* A function call's environment into *ret_env (NULL is an empty one): fn's
 * definition environment plus its parameters bound to the call's arguments
 * (scalars in scope s).  0, or -1 with the error set. */
int kqlb_call_env(struct kqlb *b, const struct kqlb_binding *fn, const struct kql_node *call,
                  const struct kqlb_scope *s, const struct kqlb_binding **ret_env);
/* The result expression of a function body, after adding its lets to *env. */
const struct kql_node *kqlb_body(struct kqlb *b, const struct kql_node *func,
                                 const struct kqlb_binding **env);

/* A plan node of kind with room for ncols columns and in as its one input
 * (NULL: none). */
struct kql_plan *kqlb_new_plan(struct kqlb *b, enum kql_plan_kind kind, struct kql_pos pos,
                               size_t ncols, struct kql_plan *in);
/* base, or base1, base2 ... when one of cols[0, n) already has it. */
const char *kqlb_unique_name(struct kqlb *b, const struct kql_col *cols, size_t n,
                             const char *base);
/* A name formatted into the arena. */
const char *kqlb_printf_name(struct kqlb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* One tabular operator over in (kql_bind_ops.c). */
struct kql_plan *kqlb_operator(struct kqlb *b, const struct kqlb_binding *env, struct kql_plan *in,
                               const struct kql_node *op);
/* union's output over inputs[0, n), with a withsource column when
 * withsource is not NULL (kql_bind_ops.c). */
struct kql_plan *kqlb_union(struct kqlb *b, const struct kql_node *n, struct kql_plan **inputs,
                            const char **sources, size_t ninputs);

/* Whether name matches the wildcard name pat (plen bytes, runs of '*' as
 * one): '*' any run of bytes, the others themselves (kql_bind_wild.c). */
bool kqlb_wild_match(const char *pat, size_t plen, const char *name);
/* The tables of the KQL_N_PATTERN n's database (its str, else the
 * current one) whose names match it, sorted by name: *ret (in the arena)
 * and *ret_n.  0, or -1 with the error set: an unknown database, no table
 * matching (kql_bind_wild.c). */
int kqlb_wild_tables(struct kqlb *b, const struct kql_node *n, const struct kql_schema_table ***ret,
                     size_t *ret_n);
/* Marks in every scan under p the columns operators above use, given the
 * columns of p that are needed (need[p->ncols], NULL: all).  0 or -1
 * (ENOMEM, error set).  kql_bind_prune.c. */
int kqlb_prune(struct kqlb *b, struct kql_plan *p, const bool *need);

/* A scalar expression (kql_bind_expr.c). */
struct kql_expr *kqlb_expr(struct kqlb *b, const struct kqlb_scope *s, const struct kql_node *n);
/* The operator op over l and r, of type type; NULL on ENOMEM. */
struct kql_expr *kqlb_op2(struct kqlb *b, enum kql_op op, enum proto_coltype type,
                          struct kql_pos pos, struct kql_expr *l, struct kql_expr *r);
/* A literal: the string s (copied into the arena), or v of the type t
 * held in an integer (bool, int, long, datetime, timespan). */
struct kql_expr *kqlb_lit_string(struct kqlb *b, struct kql_pos pos, const char *s);
struct kql_expr *kqlb_lit_int(struct kqlb *b, struct kql_pos pos, enum proto_coltype t, int64_t v);
/* x has_any (...), has_all (...) (kql_bind_has.c). */
struct kql_expr *kqlb_has_list(struct kqlb *b, const struct kqlb_scope *s,
                               const struct kql_node *n);
/* A tabular expression (kql_bind.c). */
struct kql_plan *kqlb_tabular(struct kqlb *b, const struct kqlb_binding *env,
                              const struct kql_node *n);
/* Index of the column named name in p, or -1. */
int kqlb_column(const struct kql_plan *p, const char *name);
/* A column reference to p's column c. */
struct kql_expr *kqlb_colref(struct kqlb *b, const struct kql_plan *p, int c, struct kql_pos pos);
/* A constant expression: no column references (aggregates neither). */
bool kqlb_constant(const struct kql_expr *e);
/* The name Kusto gives an unnamed expression: its column, d_a for d.a,
 * else NULL (the caller numbers it). */
const char *kqlb_expr_name(struct kqlb *b, const struct kql_expr *e, const struct kql_plan *in);
/* The first column an expression refers to, or NULL. */
const char *kqlb_first_column(const struct kql_expr *e, const struct kql_plan *in);
/* True when values of types a and b can be compared. */
bool kqlb_comparable(enum proto_coltype a, enum proto_coltype b);

#endif

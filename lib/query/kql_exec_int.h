/*
 * kql_exec_int — what the executor's files share: the SQL a plan becomes
 * (kql_exec_sql.c, kql_exec_expr.c) and the function codes of the
 * registered functions (kql_exec_fn.c) that the SQL calls.
 */
#ifndef FOLLOWERD_KQL_EXEC_INT_H
#define FOLLOWERD_KQL_EXEC_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <sqlite3.h>

#include "query/kql_exec.h"

#define KQL_SQL_MAX_PARAMS 32766 /* SQLite's default SQLITE_MAX_VARIABLE_NUMBER */

/* A parameter: a value and the type that says how to bind it. */
struct kql_param {
	struct kql_value v;
	enum proto_coltype type;
};

/* A plan as one SQL statement: ?1 is now(), the others its literals. */
struct kql_sql {
	char *text;
	struct kql_param *params;
	size_t nparams;
};

/* Builds the SQL of p into ret (cleared with kql_sql_clear, also after a
 * failure).  0, -EINVAL with err (a plan or function the executor cannot
 * run), -ENOMEM. */
int kql_sql_build(const struct kql_plan *p, int64_t now, struct kql_sql *ret,
                  struct kql_error *err);
void kql_sql_clear(struct kql_sql *s);

/* The parts of dcount(x [, accuracy]), dcountif(x, pred [, accuracy]) and
 * the split's state of either ($dset, their arguments): x, the predicate
 * (NULL: none) and the accuracy (bound as an int literal 0..4). */
void kql_dcount_parts(const struct kql_expr *e, const struct kql_expr **x,
                      const struct kql_expr **pred, int *acc);

/* Binds v as its type says to parameter i of st (the engine's code). */
int kql_exec_bind(sqlite3_stmt *st, int i, const struct kql_value *v, enum proto_coltype type);

/* A function's refusal at a query position: its SQLite error message
 * starts with KQL_EXEC_AT "line:column:" (kql_exec_error reads it back);
 * the position reaches the function as one integer argument, line << 32 |
 * column (kql_exec_at), written into the SQL as a number. */
#define KQL_EXEC_AT "kql@"

static inline int64_t kql_exec_at(struct kql_pos pos)
{
	return (int64_t)pos.line << 32 | pos.col;
}

/* Fails the statement with a refusal at the query position at. */
void kql_exec_fail_at(sqlite3_context *ctx, int64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A scalar SQL function of the executor's. */
struct kql_sqlfn {
	const char *name;
	int nargs; /* -1: any number */
	void (*fn)(sqlite3_context *, int, sqlite3_value **);
};

/* Registers fns[0, n) on db (deterministic, innocuous): 0 or -ENOMEM. */
int kql_exec_register_fns(sqlite3 *db, const struct kql_sqlfn *fns, size_t n);

/* Registers the conversions (kql_exec_conv.c) on db. */
int kql_exec_register_conv(sqlite3 *db);
/* Registers the text functions beyond the subset's (kql_exec_text.c). */
int kql_exec_register_text(sqlite3 *db);
/* Registers the dynamic-array functions beyond the subset's
 * (kql_exec_dyn.c). */
int kql_exec_register_dyn(sqlite3 *db);
/* j (borrowed) as the function's result, its compact JSON text; NULL, or
 * no memory, fails it (kql_exec_dyn.c). */
struct json_t;
void kql_exec_result_json(sqlite3_context *ctx, const struct json_t *j);

/* A datetime's range in the engine's ticks (100 ns since 1970):
 * 0001-01-01 to 9999-12-31 23:59:59.9999999, .NET's DateTime. */
#define KQL_DT_MIN INT64_C(-621355968000000000)
#define KQL_DT_MAX INT64_C(2534023007999999999)

/* Operator codes of kql_real(op, a, b, at), kql_long(op, a, b, at) and
 * kql_iarith(op, a, b, type, at). */
enum kql_arith {
	KQL_A_ADD,
	KQL_A_SUB,
	KQL_A_MUL,
	KQL_A_DIV,
	KQL_A_MOD,
};

/* Counts n more bytes of an aggregate's state against the query's budget
 * (the function's user data; NULL: none); false, with the aggregate
 * failed (SQLITE_TOOBIG), past its limit.  kql_exec_release gives them
 * back. */
bool kql_exec_charge(sqlite3_context *ctx, size_t n);
void kql_exec_release(sqlite3_context *ctx, size_t n);

/* Whether arg_max's key k (not null) beats than (sign 1; arg_min: -1):
 * texts compared bytewise, anything else as doubles; a tie is not. */
bool kql_exec_better(sqlite3_value *k, sqlite3_value *than, int sign);

/* make_list/make_set's elements without a max argument (Kusto's
 * default maxSize). */
#define KQL_COLLECT_MAX 1048576

/* The text of an exact sum's state ($tsum: "sum,count", the sum in
 * decimal), malloc'd; NULL on ENOMEM.  kql_tmerge and kql_imerge read it. */
char *kql_tsum_text(__int128 sum, int64_t n);

/* Registers the merges of split states (kql_exec_merge.c) on db, their
 * states counted against b (borrowed; NULL: none). */
int kql_exec_register_merge(sqlite3 *db, struct kql_budget *b);

/* Unit codes of kql_startof(dt, unit). */
enum kql_dtunit {
	KQL_U_DAY,
	KQL_U_WEEK,
	KQL_U_MONTH,
	KQL_U_YEAR,
	KQL_U_ENDOFDAY, /* the end units: the start of the next, less a tick */
	KQL_U_ENDOFWEEK,
	KQL_U_ENDOFMONTH,
	KQL_U_ENDOFYEAR,
};

#endif

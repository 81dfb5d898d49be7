/*
 * kql_plan — the fourth stage's output: an engine-independent tree of
 * relational operators, every output column named and typed, every
 * expression resolved (columns by index into the input's columns,
 * functions by id, literals as typed values).  The binder builds it; an
 * executor (SQLite today) walks it; kql_plan_print renders it as text for
 * tests and debugging.  Nothing here refers to query text except positions.
 *
 * Plans and expressions live in the query's arena and are immutable once
 * built; a let-bound table used twice is the same subtree twice (the tree is
 * then a DAG, which an executor may evaluate twice or once).
 */
#ifndef FOLLOWERD_KQL_PLAN_H
#define FOLLOWERD_KQL_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/proto.h"
#include "query/kql_ast.h"
#include "query/kql_err.h"
#include "query/kql_func.h"

enum kql_expr_kind {
	KQL_E_COL,  /* col: index into the input's columns (side: 0, or 1/2 in join keys) */
	KQL_E_LIT,  /* a typed value */
	KQL_E_OP,   /* op: enum kql_op (binary, unary, in, between); args */
	KQL_E_CALL, /* fn: a scalar function or an aggregate; args */
	KQL_E_STAR, /* "*" of arg_max(x, *): every input column */
};

struct kql_expr {
	enum kql_expr_kind kind;
	enum proto_coltype type; /* of the result */
	struct kql_pos pos;
	int col;
	int side;
	enum kql_op op;
	enum kql_fn fn;
	bool isnull;   /* KQL_E_LIT */
	int64_t i;     /* bool, int, long, datetime, timespan */
	double r;      /* real */
	const char *s; /* string, guid, decimal text, dynamic JSON text */
	struct kql_expr **args;
	size_t nargs;
};

struct kql_col {
	const char *name;
	enum proto_coltype type;
	/* A real whose null is Kusto's NaN: avg/avgif of no values, passed on
	 * unchanged (SQLite holds no NaN); the executor reads it as NaN. */
	bool nan_if_null;
};

enum kql_plan_kind {
	KQL_P_SCAN,      /* db, table; cols = the table's columns; reads: those used above */
	KQL_P_VALUES,    /* rows: nrows x ncols constant expressions (datatable, print) */
	KQL_P_RANGE,     /* exprs: from, to, step */
	KQL_P_FILTER,    /* exprs[0]: the predicate (a null result drops the row) */
	KQL_P_PROJECT,   /* exprs: one per output column (project, extend, rename, away) */
	KQL_P_AGGREGATE, /* exprs: nkeys key expressions, then one aggregate call per column */
	KQL_P_SORT,      /* sort keys */
	KQL_P_TOP,       /* sort keys and limit */
	KQL_P_TAKE,      /* limit */
	KQL_P_DISTINCT,  /* distinct rows of the input (all its columns) */
	KQL_P_UNION,     /* inputs; maps[i][c]: input i's column for output c, or -1 (null) */
	KQL_P_JOIN,      /* join kind, key pairs; output: see kql_bind.c's join naming */
	KQL_P_MVEXPAND,  /* expand: input columns expanded (dynamic arrays), row limit */
};

struct kql_sortkey {
	struct kql_expr *e;
	bool asc;
	bool nulls_first;
};

/* A predicate pushed down to a scan so an executor can skip extents
 * before reading them (kql_skip.h): column col of the table (a datetime,
 * timespan, int, long or real), or the row's ingestion time
 * (KQL_BOUND_INGEST: its extent's creation time), compared by op
 * (KQL_OP_GT, GE, LT, LE, EQ) with value, a constant expression (ago() and
 * now() included) evaluated once per query; or op KQL_OP_IN and value the
 * whole "col in (constants)" expression.  The filter above the scan still
 * applies it to the rows. */
#define KQL_BOUND_INGEST (-1)
struct kql_timebound {
	int col;
	enum kql_op op;
	struct kql_expr *value;
};

/* The column of a stored table's view that holds each row's ingestion time
 * (Kusto's hidden column), read only by a scan marked ingest. */
#define KQL_INGEST_COLUMN "$IngestionTime"

struct kql_plan {
	enum kql_plan_kind kind;
	struct kql_pos pos;
	struct kql_col *cols; /* the output columns */
	size_t ncols;
	struct kql_plan **in; /* inputs: one, two (join: left, right) or more (union) */
	size_t nin;
	/* KQL_P_SCAN */
	const char *db, *table;
	/* a table of another database than the request's (database("db").T):
	 * the executor reads the table named kql_exec_view_name(db, table) */
	bool foreign;
	/* reads[c]: some operator above uses column c; an executor reads only
	 * these (the others are never looked at, null will do). */
	bool *reads;
	struct kql_timebound *bounds;
	size_t nbounds;
	/* KQL_P_VALUES, RANGE, FILTER, PROJECT, AGGREGATE */
	struct kql_expr **exprs;
	size_t nexprs;
	size_t nkeys; /* AGGREGATE: the first nkeys exprs are keys */
	size_t nrows; /* VALUES */
	/* KQL_P_SORT, TOP */
	struct kql_sortkey *keys;
	size_t nsortkeys;
	struct kql_expr *limit; /* TOP, TAKE, MVEXPAND (NULL: none) */
	/* KQL_P_UNION */
	int **maps;
	const char **sources; /* withsource: each input's name, else NULL */
	/* KQL_P_JOIN */
	enum kql_join_kind join;
	int *lkeys, *rkeys; /* columns of left and right compared for equality */
	size_t njoinkeys;
	int *out_side, *out_col; /* output column c is side out_side[c] (0/1), column out_col[c] */
	/* KQL_P_MVEXPAND */
	int *expand; /* input columns expanded; output types may differ (to typeof) */
	size_t nexpand;
	int itemindex;     /* output column of with_itemindex, or -1 */
	bool bag_as_array; /* kind=array: a bag's property as [key, value] */
	/* The rows carry their table's ingestion time as a hidden column
	 * after cols (ingestion_time() is used above): set on a scan and on
	 * the filters, projections, sorts, tops and takes between it and
	 * the use.  An executor reads it from the table's column named
	 * KQL_INGEST_COLUMN. */
	bool ingest;
	/* The name as gives this result (union's withsource reports it). */
	const char *name;
};

/* A bound query: its result tables (one per tabular statement), the
 * options of its set statements and the visualization of render. */
struct kql_query {
	struct kql_plan **results;
	size_t nresults;
	const char **set_names; /* set name = value: names and values (as text) */
	const char **set_values;
	size_t nsets;
	const char *render; /* visualization, NULL without render */
};

/* Writes p as an indented tree, one operator per line, with its typed
 * output columns: "aggregate keys=[bin(Timestamp,1h)] aggs=[count()] ->
 * (Timestamp:datetime, count_:long)".  Returns 0 or -errno from stdio. */
int kql_plan_print(FILE *f, const struct kql_plan *p);

/* The same into a new malloc'd string; NULL on ENOMEM. */
char *kql_plan_text(const struct kql_plan *p);

/* Writes one expression as KQL-like text. */
void kql_expr_print(FILE *f, const struct kql_expr *e, const struct kql_plan *in);

/* The KQL name of a plan kind ("scan", "filter", ...). */
const char *kql_plan_kind_name(enum kql_plan_kind k);

/* Whether e, over a row of in, is NaN exactly where a column of in it
 * reads is NaN (kql_col.nan_if_null), so its own null is NaN too: such a
 * column, or arithmetic on it that gives NaN for NaN (+ - * / of reals,
 * unary minus, round, abs, ceiling, sqrt, exp, log, log10, todouble)
 * whose other operands are such expressions or literals that are not
 * null.  A projection passes the NaN on there instead of refusing it. */
bool kql_expr_keeps_nan(const struct kql_expr *e, const struct kql_plan *in);

#endif

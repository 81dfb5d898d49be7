/*
 * kql_exec_sqlb — what the two files that write a plan's SQL share: the
 * builder (the text, its parameters, the error) and the calls each makes
 * of the other.  kql_exec_sql.c writes plan nodes (subqueries, CTEs,
 * layers), kql_exec_expr.c the expressions inside them.
 */
#ifndef FOLLOWERD_KQL_EXEC_SQLB_H
#define FOLLOWERD_KQL_EXEC_SQLB_H

#include <stdio.h>

#include "query/kql_exec_int.h"
#include "query/kql_hoist.h"

/* The hidden column of a plan node's rows that carry their ingestion time
 * (kql_plan.h's ingest), after c0, c1 ...: filters, sorts and takes pass
 * it on by their SELECT *, projections name it. */
#define INGEST_SQL "c_it"

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

/* e as SQL over the input named prefix ("t."); 0, or -1 with b's error
 * set (or out of memory). */
int sqlb_expr(struct sqlb *b, const struct kql_expr *e, const char *prefix);

/* A new parameter ?N holding v (as type), written nowhere; 0 or -1. */
int sqlb_param_add(struct sqlb *b, const struct kql_value *v, enum proto_coltype type);

/* A text parameter holding s, written as ?N; 0 or -1. */
int sqlb_param_text(struct sqlb *b, const char *s);

/* Refuses what the executor cannot run: b's error names what and name at
 * pos; -1. */
int sqlb_unsupported(struct sqlb *b, struct kql_pos pos, const char *what, const char *name);

#endif

/*
 * kql_hoist — which subexpressions of a plan node an executor computes
 * first, as columns of layers below the node, so that no expression it
 * writes is nested more than a given height.  SQLite's parser (3.40: a
 * stack of 100) refuses SQL nested some 16 KQL levels deep (a sum of 16
 * terms, 18 nested iff), where Kusto and this parser take 128.
 *
 * Any subexpression but an aggregate call may be hoisted, a branch of
 * iff or the right of and/or included: SQLite flattens such a layer (a
 * plain projection) into the statement, putting each expression back
 * where it was read, so a branch is still evaluated only where its
 * condition holds (test_kql_exec's test_deep and test_deep_flattened
 * check both).  Level 1 reads only the node's input; level k also the
 * columns of the levels below it.
 */
#ifndef FOLLOWERD_KQL_HOIST_H
#define FOLLOWERD_KQL_HOIST_H

#include <stddef.h>

#include "query/kql_plan.h"

struct kql_hoisted {
	const struct kql_expr *e; /* borrowed from the plan */
	int level;                /* 1 ..: its layer */
};

struct kql_hoist {
	struct kql_hoisted *v; /* owned; in the order found (children first) */
	size_t n, cap;
	int levels; /* the highest level, 0 when nothing is hoisted */
};

/* Adds to h the subexpressions of e (an expression of the node; e itself
 * is written at the node) to hoist so that none is written more than
 * height levels high (height >= 2).  0, or -ENOMEM. */
int kql_hoist_root(struct kql_hoist *h, const struct kql_expr *e, int height);

/* The index in h->v of e when it is hoisted, else -1. */
int kql_hoist_find(const struct kql_hoist *h, const struct kql_expr *e);

void kql_hoist_clear(struct kql_hoist *h);

#endif

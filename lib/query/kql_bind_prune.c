/*
 * kql_bind_prune — which columns of each table a plan reads.  Walks the
 * plan from the result down, carrying the set of columns each operator's
 * output must provide, and marks them in the scans (reads[]), so that an
 * executor loads only those.  Column indexes are left alone: a scan still
 * has all its table's columns, and unread ones are never looked at.
 */
#include <string.h>

#include "query/kql_bind_int.h"

static void refs(const struct kql_expr *e, bool *need)
{
	if (e->kind == KQL_E_COL && e->side == 0)
		need[e->col] = true;
	for (size_t i = 0; i < e->nargs; i++)
		refs(e->args[i], need);
}

/* A need set for in: a copy of need when the operator keeps its input's
 * columns, else empty. */
static bool *need_of(struct kqlb *b, const struct kql_plan *in, const bool *need)
{
	bool *n = kqlb_alloc(b, (in->ncols + 1) * sizeof(bool));

	if (n != NULL && need != NULL)
		memcpy(n, need, in->ncols * sizeof(bool));
	return n;
}

static int prune_join(struct kqlb *b, struct kql_plan *p, const bool *need)
{
	bool *l = need_of(b, p->in[0], NULL), *r = need_of(b, p->in[1], NULL);

	if (l == NULL || r == NULL)
		return -1;
	for (size_t i = 0; i < p->njoinkeys; i++) {
		l[p->lkeys[i]] = true;
		r[p->rkeys[i]] = true;
	}
	for (size_t c = 0; c < p->ncols; c++)
		if (need[c])
			(p->out_side[c] ? r : l)[p->out_col[c]] = true;
	return kqlb_prune(b, p->in[0], l) != 0 ? -1 : kqlb_prune(b, p->in[1], r);
}

static int prune_union(struct kqlb *b, struct kql_plan *p, const bool *need)
{
	for (size_t i = 0; i < p->nin; i++) {
		bool *n = need_of(b, p->in[i], NULL);
		if (n == NULL)
			return -1;
		for (size_t c = 0; c < p->ncols; c++)
			if (need[c] && p->maps[i][c] >= 0)
				n[p->maps[i][c]] = true;
		if (kqlb_prune(b, p->in[i], n) != 0)
			return -1;
	}
	return 0;
}

/* Operators whose output columns are their input's, plus what their own
 * expressions read. */
static int prune_through(struct kqlb *b, struct kql_plan *p, const bool *need)
{
	bool *n = need_of(b, p->in[0], need);

	if (n == NULL)
		return -1;
	if (p->kind == KQL_P_DISTINCT)
		memset(n, 1, p->in[0]->ncols * sizeof(bool));
	for (size_t i = 0; i < p->nexprs; i++)
		refs(p->exprs[i], n);
	for (size_t i = 0; i < p->nsortkeys; i++)
		refs(p->keys[i].e, n);
	for (size_t i = 0; i < p->nexpand; i++)
		n[p->expand[i]] = true;
	return kqlb_prune(b, p->in[0], n);
}

/* project: the columns of the needed outputs' expressions (an unneeded
 * one may still be computed, over nulls); aggregate: of every expression,
 * since its keys group whatever is needed. */
static int prune_exprs(struct kqlb *b, struct kql_plan *p, const bool *need)
{
	bool *n = need_of(b, p->in[0], NULL);

	if (n == NULL)
		return -1;
	for (size_t i = 0; i < p->nexprs; i++)
		if (p->kind == KQL_P_AGGREGATE || need[i])
			refs(p->exprs[i], n);
	return kqlb_prune(b, p->in[0], n);
}

int kqlb_prune(struct kqlb *b, struct kql_plan *p, const bool *need)
{
	bool *all = NULL;

	if (need == NULL) {
		if ((all = kqlb_alloc(b, (p->ncols + 1) * sizeof(bool))) == NULL)
			return -1;
		memset(all, 1, p->ncols * sizeof(bool));
		need = all;
	}
	switch (p->kind) {
	case KQL_P_SCAN:
		for (size_t c = 0; c < p->ncols; c++)
			p->reads[c] = p->reads[c] || need[c];
		return 0;
	case KQL_P_VALUES:
	case KQL_P_RANGE:
		return 0;
	case KQL_P_PROJECT:
	case KQL_P_AGGREGATE:
		return prune_exprs(b, p, need);
	case KQL_P_UNION:
		return prune_union(b, p, need);
	case KQL_P_JOIN:
		return prune_join(b, p, need);
	default:
		return prune_through(b, p, need);
	}
}

/*
 * kql_hoist — subexpressions computed first, in layers (kql_hoist.h).
 * One pass from the leaves up: a subtree that reaches the height is
 * hoisted and counts as a column (height 1) in the tree above it.
 */
#include "query/kql_hoist.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "query/kql_func.h"

static bool hoistable(const struct kql_expr *e)
{
	if (e->kind == KQL_E_OP)
		return true;
	return e->kind == KQL_E_CALL && !kql_func_get(e->fn)->aggregate;
}

static int add(struct kql_hoist *h, const struct kql_expr *e, int level)
{
	if (kql_hoist_find(h, e) >= 0) /* one node reached twice (a let) */
		return 0;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 8;
		struct kql_hoisted *v = realloc(h->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = (struct kql_hoisted){e, level};
	if (level > h->levels)
		h->levels = level;
	return 0;
}

struct walk {
	struct kql_hoist *h;
	int height;
	int err;
};

static int walk(struct walk *w, const struct kql_expr *e, int *level);

/* Whether argument i of e continues a chain the executor writes flat, at
 * e's own level: the left of and/or under the same operator, an iff or
 * case in the else place of another. */
static bool flat(const struct kql_expr *e, size_t i)
{
	const struct kql_expr *x = e->args[i];

	if (e->kind == KQL_E_OP && (e->op == KQL_OP_AND || e->op == KQL_OP_OR))
		return i == 0 && x->kind == KQL_E_OP && x->op == e->op;
	return e->kind == KQL_E_CALL && (e->fn == KQL_F_IFF || e->fn == KQL_F_CASE) &&
	       i + 1 == e->nargs && x->kind == KQL_E_CALL &&
	       (x->fn == KQL_F_IFF || x->fn == KQL_F_CASE);
}

/* The height of e's tallest argument once what they hoist is columns;
 * *level: the highest level hoisted under e, 0 for none. */
static int walk_args(struct walk *w, const struct kql_expr *e, int *level)
{
	int tall = 0, lv;

	*level = 0;
	for (size_t i = 0; i < e->nargs; i++) {
		int t = walk(w, e->args[i], &lv) - flat(e, i);

		tall = t > tall ? t : tall;
		*level = lv > *level ? lv : *level;
	}
	return tall;
}

/* e's height once what it hoists is columns (a hoisted e: 1). */
static int walk(struct walk *w, const struct kql_expr *e, int *level)
{
	int tall = walk_args(w, e, level);

	if (tall + 1 < w->height || !hoistable(e))
		return tall + 1;
	if (w->err == 0)
		w->err = add(w->h, e, *level + 1);
	(*level)++;
	return 1;
}

int kql_hoist_root(struct kql_hoist *h, const struct kql_expr *e, int height)
{
	struct walk w = {h, height, 0};
	int level;

	(void)walk_args(&w, e, &level);
	return w.err;
}

int kql_hoist_find(const struct kql_hoist *h, const struct kql_expr *e)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->v[i].e == e)
			return (int)i;
	return -1;
}

void kql_hoist_clear(struct kql_hoist *h)
{
	free(h->v);
	*h = (struct kql_hoist){0};
}

/*
 * pqueue — an intrusive binary heap (see pqueue.h).
 */
#include "util/pqueue.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

bool pqueue_before(const struct pqueue_item *a, const struct pqueue_item *b)
{
	return a->priority != b->priority ? a->priority > b->priority : a->seq < b->seq;
}

static void place(struct pqueue *q, size_t i, struct pqueue_item *it)
{
	q->v[i] = it;
	it->idx = i;
}

static void sift_up(struct pqueue *q, size_t i)
{
	struct pqueue_item *it = q->v[i];

	while (i > 0 && pqueue_before(it, q->v[(i - 1) / 2])) {
		place(q, i, q->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(q, i, it);
}

static void sift_down(struct pqueue *q, size_t i)
{
	struct pqueue_item *it = q->v[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= q->n)
			break;
		if (c + 1 < q->n && pqueue_before(q->v[c + 1], q->v[c]))
			c++;
		if (!pqueue_before(q->v[c], it))
			break;
		place(q, i, q->v[c]);
		i = c;
	}
	place(q, i, it);
}

void pqueue_clear(struct pqueue *q)
{
	free(q->v);
	*q = (struct pqueue){0};
}

int pqueue_push(struct pqueue *q, struct pqueue_item *it)
{
	if (q->n == q->cap) {
		size_t cap = q->cap != 0 ? 2 * q->cap : 16;
		struct pqueue_item **v = realloc(q->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n++] = it;
	sift_up(q, q->n - 1);
	return 0;
}

struct pqueue_item *pqueue_top(const struct pqueue *q)
{
	return q->n > 0 ? q->v[0] : NULL;
}

void pqueue_remove(struct pqueue *q, struct pqueue_item *it)
{
	struct pqueue_item *last = q->v[--q->n];
	size_t i = it->idx;

	if (i == q->n)
		return;
	place(q, i, last);
	sift_up(q, i);
	sift_down(q, last->idx);
}

struct pqueue_item *pqueue_pop(struct pqueue *q)
{
	struct pqueue_item *top = pqueue_top(q);

	if (top != NULL)
		pqueue_remove(q, top);
	return top;
}

void pqueue_raise(struct pqueue *q, struct pqueue_item *it, int priority)
{
	if (priority <= it->priority)
		return;
	it->priority = priority;
	sift_up(q, it->idx);
}

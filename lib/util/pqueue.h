/*
 * pqueue — an intrusive binary heap: highest priority first, first in first
 * out among equal priorities.
 *
 * fetch keeps its queued transfers in one per host, and the warmer the
 * artifacts waiting for a download slot in one per leader host; a
 * read-through request raises a waiting artifact to the top (pqueue_raise)
 * and a cancelled transfer leaves its queue (pqueue_remove), which is why
 * items know their place in the heap.
 *
 * The caller owns the items; an item is in at most one queue at a time.
 */
#ifndef FOLLOWERD_PQUEUE_H
#define FOLLOWERD_PQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pqueue_item {
	int priority;
	uint64_t seq; /* the caller's, rising: the order among equals (also
	               * across the caller's queues, see pqueue_before) */
	size_t idx;   /* the item's place in the heap */
};

struct pqueue {
	struct pqueue_item **v;
	size_t n, cap;
};

/* A zeroed struct pqueue is an empty queue; pqueue_clear frees its array
 * (the items stay the caller's). */
void pqueue_clear(struct pqueue *q);

/* Whether a goes before b: a higher priority, or an equal one and an
 * older seq.  For choosing between the tops of several queues. */
bool pqueue_before(const struct pqueue_item *a, const struct pqueue_item *b);

int pqueue_push(struct pqueue *q, struct pqueue_item *it); /* 0 or -ENOMEM */
struct pqueue_item *pqueue_top(const struct pqueue *q);    /* NULL when empty */
struct pqueue_item *pqueue_pop(struct pqueue *q);          /* NULL when empty */
/* Takes it (in q) out of q. */
void pqueue_remove(struct pqueue *q, struct pqueue_item *it);
/* Raises it (in q) to priority, if that is higher than its own. */
void pqueue_raise(struct pqueue *q, struct pqueue_item *it, int priority);

#endif

/*
 * pqueue — an intrusive binary heap: highest priority first, first in first
 * out among equal priorities.
 *
 * The warmer keeps the artifacts waiting for a download slot in one per
 * leader host; a read-through request raises a waiting artifact to the top
 * (pqueue_raise), which is why items know their place in the heap.
 *
 * The caller owns the items; an item is in at most one queue at a time.
 */
#ifndef FOLLOWERD_PQUEUE_H
#define FOLLOWERD_PQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct pqueue_item {
	int priority;
	uint64_t seq; /* set by pqueue_push: the order among equals */
	size_t idx;   /* the item's place in the heap */
};

struct pqueue {
	struct pqueue_item **v;
	size_t n, cap;
	uint64_t next_seq;
};

/* A zeroed struct pqueue is an empty queue; pqueue_clear frees its array
 * (the items stay the caller's). */
void pqueue_clear(struct pqueue *q);

int pqueue_push(struct pqueue *q, struct pqueue_item *it); /* 0 or -ENOMEM */
struct pqueue_item *pqueue_top(const struct pqueue *q);    /* NULL when empty */
struct pqueue_item *pqueue_pop(struct pqueue *q);          /* NULL when empty */
/* Raises it (in q) to priority, if that is higher than its own. */
void pqueue_raise(struct pqueue *q, struct pqueue_item *it, int priority);

#endif

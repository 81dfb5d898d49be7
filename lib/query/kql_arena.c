/*
 * kql_arena — a chain of blocks; a request larger than the block size gets
 * a block of its own.  Alignment is that of max_align_t.
 */
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_arena.h"

#define BLOCK_SIZE 16384

struct block {
	struct block *next;
	size_t used, size;
	alignas(max_align_t) unsigned char data[];
};

struct kql_arena {
	struct block *head;
	size_t total;
};

struct kql_arena *kql_arena_new(void)
{
	return calloc(1, sizeof(struct kql_arena));
}

void kql_arena_free(struct kql_arena *a)
{
	struct block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

static struct block *grow(struct kql_arena *a, size_t n)
{
	size_t size = n > BLOCK_SIZE ? n : BLOCK_SIZE;
	struct block *b;

	if (size > KQL_ARENA_MAX || a->total + size > KQL_ARENA_MAX)
		return NULL;
	if ((b = malloc(sizeof(*b) + size)) == NULL)
		return NULL;
	b->used = 0;
	b->size = size;
	b->next = a->head;
	a->head = b;
	a->total += size;
	return b;
}

void *kql_arena_alloc(struct kql_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	struct block *b = a->head;
	void *p;

	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	if ((b == NULL || b->size - b->used < n) && (b = grow(a, n)) == NULL)
		return NULL;
	p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *kql_arena_strndup(struct kql_arena *a, const char *s, size_t n)
{
	char *p = kql_arena_alloc(a, n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

size_t kql_arena_used(const struct kql_arena *a)
{
	return a->total;
}

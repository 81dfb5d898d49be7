/*
 * shamap — an intrusive hash map keyed by sha256 hex strings (see shamap.h).
 *
 * Separate chaining over a power-of-two bucket array that doubles when the
 * map holds twice as many nodes as buckets.
 */
#include "util/shamap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHAMAP_MIN_BUCKETS 64

struct shamap {
	struct shamap_node **b;
	size_t nb; /* a power of two */
	size_t n;
};

/* The first 16 characters, or all of a shorter key, mixed: for a digest
 * the hex digits alone would do, the mixing keeps other keys spread. */
static uint64_t key_hash(const char *key)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (int i = 0; i < 16 && key[i] != '\0'; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

int shamap_new(struct shamap **ret)
{
	struct shamap *m = calloc(1, sizeof(*m));

	if (m == NULL || (m->b = calloc(SHAMAP_MIN_BUCKETS, sizeof(*m->b))) == NULL) {
		free(m);
		return -ENOMEM;
	}
	m->nb = SHAMAP_MIN_BUCKETS;
	*ret = m;
	return 0;
}

void shamap_free(struct shamap *m)
{
	if (m == NULL)
		return;
	free(m->b);
	free(m);
}

/* Doubles the buckets; on no memory the map keeps its size. */
static void grow(struct shamap *m)
{
	size_t nb = m->nb * 2;
	struct shamap_node **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return;
	for (size_t i = 0; i < m->nb; i++) {
		struct shamap_node *n, *next;

		for (n = m->b[i]; n != NULL; n = next) {
			size_t k = key_hash(n->key) & (nb - 1);

			next = n->next;
			n->next = b[k];
			b[k] = n;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

int shamap_add(struct shamap *m, struct shamap_node *n)
{
	size_t k;

	if (shamap_get(m, n->key) != NULL)
		return -EEXIST;
	if (m->n >= 2 * m->nb)
		grow(m);
	k = key_hash(n->key) & (m->nb - 1);
	n->next = m->b[k];
	m->b[k] = n;
	m->n++;
	return 0;
}

struct shamap_node *shamap_get(const struct shamap *m, const char *key)
{
	struct shamap_node *n = m->b[key_hash(key) & (m->nb - 1)];

	while (n != NULL && strcmp(n->key, key) != 0)
		n = n->next;
	return n;
}

void shamap_del(struct shamap *m, struct shamap_node *n)
{
	struct shamap_node **p = &m->b[key_hash(n->key) & (m->nb - 1)];

	for (; *p != NULL; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			n->next = NULL;
			m->n--;
			return;
		}
}

size_t shamap_count(const struct shamap *m)
{
	return m->n;
}

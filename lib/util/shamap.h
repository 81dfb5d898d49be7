/*
 * shamap — an intrusive hash map keyed by sha256 hex strings.
 *
 * The warmer looks up its downloads in flight by sha256 for every artifact a
 * scan wants and removes one for every download that ends; with a list both
 * were linear, and a first warm of 10,000 artifacts spent more time in
 * strcmp than in any other function of the loop thread.  The keys are
 * digests, so their first hex digits are already a uniform hash.
 *
 * The caller owns the nodes and their keys: a node is embedded in the
 * caller's struct, and its key must stay valid and unchanged while the node
 * is in a map.  The map grows as nodes are added and never fails a lookup;
 * if it cannot grow, its chains get longer.
 */
#ifndef FOLLOWERD_SHAMAP_H
#define FOLLOWERD_SHAMAP_H

#include <stddef.h>

struct shamap_node {
	struct shamap_node *next; /* the map's chain */
	const char *key;          /* 64 lower-case hex digits (any string works) */
};

struct shamap;

int shamap_new(struct shamap **ret); /* 0 or -ENOMEM */
void shamap_free(struct shamap *m);  /* the nodes stay the caller's */

/* Adds n (n->key set, not already in the map): 0, or -EEXIST when a node of
 * that key is in the map. */
int shamap_add(struct shamap *m, struct shamap_node *n);
/* The node of that key, or NULL. */
struct shamap_node *shamap_get(const struct shamap *m, const char *key);
/* Removes n, which must be in the map. */
void shamap_del(struct shamap *m, struct shamap_node *n);
size_t shamap_count(const struct shamap *m);

#endif

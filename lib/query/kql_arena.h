/*
 * kql_arena — bump allocation for one query's AST, plan and strings.  Every
 * stage allocates from the arena of its query and nothing is freed alone:
 * kql_arena_free releases all at once, which keeps the parser's and binder's
 * error paths trivial.  The total is bounded so an untrusted query cannot
 * make the process grow without limit.
 */
#ifndef FOLLOWERD_KQL_ARENA_H
#define FOLLOWERD_KQL_ARENA_H

#include <stddef.h>

#define KQL_ARENA_MAX (64u << 20) /* bytes one query may allocate */

struct kql_arena;

/* A new empty arena, NULL on ENOMEM. */
struct kql_arena *kql_arena_new(void);

/* Frees the arena and everything allocated from it; NULL is a no-op. */
void kql_arena_free(struct kql_arena *a);

/* n zeroed bytes aligned for any type, owned by the arena; NULL when out of
 * memory or past KQL_ARENA_MAX. */
void *kql_arena_alloc(struct kql_arena *a, size_t n);

/* A NUL-terminated copy of s[0, n), owned by the arena; NULL on ENOMEM. */
char *kql_arena_strndup(struct kql_arena *a, const char *s, size_t n);

/* Bytes allocated so far. */
size_t kql_arena_used(const struct kql_arena *a);

#endif

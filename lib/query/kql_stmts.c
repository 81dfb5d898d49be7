/*
 * kql_stmts — prepared statements kept by their SQL text (kql_stmts.h):
 * a handful, looked up linearly, the least recently given back evicted.
 */
#include "query/kql_stmts.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct kept {
	char *sql; /* NULL: a free slot */
	size_t len;
	sqlite3_stmt *st;
	uint64_t used; /* the cache's clock when given back */
};

struct kql_stmts {
	struct kept slot[KQL_STMTS_MAX];
	uint64_t clock;
};

int kql_stmts_new(struct kql_stmts **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static void forget(struct kept *k)
{
	sqlite3_finalize(k->st);
	free(k->sql);
	*k = (struct kept){0};
}

void kql_stmts_free(struct kql_stmts *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < KQL_STMTS_MAX; i++)
		forget(&c->slot[i]);
	free(c);
}

sqlite3_stmt *kql_stmts_take(struct kql_stmts *c, const char *sql)
{
	size_t len = strlen(sql);
	sqlite3_stmt *st;

	for (size_t i = 0; c && i < KQL_STMTS_MAX; i++) {
		struct kept *k = &c->slot[i];

		if (k->sql && k->len == len && memcmp(k->sql, sql, len) == 0) {
			st = k->st;
			free(k->sql);
			*k = (struct kept){0};
			return st;
		}
	}
	return NULL;
}

/* A free slot, or the least recently used one emptied. */
static struct kept *slot_for(struct kql_stmts *c)
{
	struct kept *old = &c->slot[0];

	for (size_t i = 0; i < KQL_STMTS_MAX; i++) {
		if (!c->slot[i].sql)
			return &c->slot[i];
		if (c->slot[i].used < old->used)
			old = &c->slot[i];
	}
	forget(old);
	return old;
}

void kql_stmts_give(struct kql_stmts *c, const char *sql, sqlite3_stmt *st)
{
	size_t len = strlen(sql);
	struct kept *k;
	char *copy;

	if (!c || len > KQL_STMTS_TEXT || !(copy = strdup(sql))) {
		sqlite3_finalize(st);
		return;
	}
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
	k = slot_for(c);
	*k = (struct kept){.sql = copy, .len = len, .st = st, .used = ++c->clock};
}

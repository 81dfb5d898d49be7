/*
 * kql_bind_wild — wildcard names (T*, *Id, E*s, *): which tables of a
 * union and which columns of a project-away one stands for, matched
 * against the visible version's schema and the operator's input.
 *
 * The union and project-away pages say a wildcard pattern names the tables
 * of the database (E* "all the tables in the database whose names begin
 * E") or the input's columns, and nothing more.  What follows is
 * Kusto.Language's (the parser and binder Kusto's tools share), where the
 * pages are silent:
 *  - '*' is any run of characters, none included, anywhere in the name
 *    (E*s, *Id*, a*b*c); every other character stands for itself, compared
 *    ordinally, so matching is case-sensitive (KustoFacts.Matches, which
 *    its binder calls without ignoreCase), as names are.
 *  - A pattern that matches nothing is an error (its binder: "The name
 *    'E*' does not refer to any known table", or column), SEM0100 here;
 *    only union's isfuzzy=true makes it a warning ("Failed to resolve
 *    entity 'SomeView*'" on the union page): there the leg is left out
 *    (kql_bind.c's bind_union), without a warning (this follower has none).
 *  - Tables only, plus views declared by `let ... = view`, which this
 *    follower does not support: other let names are never matched.
 * Chosen here: a union reads the matched tables in the order of their
 * names (bytewise; the page promises no order of union legs), so answers
 * and a split's partitions do not follow the order tables were created.
 */
#include <stdlib.h>
#include <string.h>

#include "query/kql_bind_int.h"

/* The parts of pat (which follows a '*') between stars found in s[0, n) in
 * order, the leftmost of each (it leaves the most room to the others), the
 * last part at the end of s. */
static bool match_rest(const char *pat, const char *s, size_t n)
{
	const char *star, *at;
	size_t k;

	while ((star = strchr(pat, '*')) != NULL) {
		k = (size_t)(star - pat);
		if ((at = memmem(s, n, pat, k)) == NULL)
			return false;
		n -= (size_t)(at - s) + k;
		s = at + k;
		pat = star + 1;
	}
	k = strlen(pat);
	return k <= n && memcmp(s + n - k, pat, k) == 0;
}

bool kqlb_wild_match(const char *pat, size_t plen, const char *name)
{
	size_t n = strlen(name), k;

	/* Runs of '*' are one (kqlp_pattern): a pattern longer than 2n + 1
	 * has more than n other characters.  So each name costs its length,
	 * whatever the pattern's. */
	if (plen > 2 * n + 1)
		return false;
	k = strcspn(pat, "*");
	if (pat[k] == '\0')
		return strcmp(pat, name) == 0;
	return k <= n && memcmp(pat, name, k) == 0 && match_rest(pat + k + 1, name + k, n - k);
}

static int by_name(const void *a, const void *b)
{
	const struct kql_schema_table *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int no_table(struct kqlb *b, const struct kql_node *n)
{
	if (n->str != NULL)
		(void)kqlb_fail(b, KQL_E_NAME, n->pos,
		                "'union' operator: no table of database '%s' matches '%s'", n->str,
		                n->name);
	else
		(void)kqlb_fail(b, KQL_E_NAME, n->pos, "'union' operator: no table matches '%s'",
		                n->name);
	return -1;
}

int kqlb_wild_tables(struct kqlb *b, const struct kql_node *n, const struct kql_schema_table ***ret,
                     size_t *ret_n)
{
	const struct kql_schema_db *db =
	    kql_schema_db(b->schema, n->str != NULL ? n->str : b->schema->current);
	const struct kql_schema_table **v;
	size_t plen = strlen(n->name), k = 0;

	if (db == NULL && n->str != NULL) {
		(void)kqlb_fail(b, KQL_E_NAME, n->pos, "Failed to resolve database named '%s'",
		                n->str);
		return -1;
	}
	if (db == NULL)
		return no_table(b, n);
	if ((v = kqlb_alloc(b, (db->ntables + 1) * sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < db->ntables; i++)
		if (kqlb_wild_match(n->name, plen, db->tables[i].name))
			v[k++] = &db->tables[i];
	if (k == 0)
		return no_table(b, n);
	qsort(v, k, sizeof(*v), by_name);
	*ret = v;
	*ret_n = k;
	return 0;
}

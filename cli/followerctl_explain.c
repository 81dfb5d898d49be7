/*
 * followerctl_explain — why a table's extents are hot or cold: the
 * effective caching policy of the table (lib/policy, as the policies view
 * shows it: which source decided the hot span and each hot window) and the
 * hotness the extents view computed for each extent.
 */
#include "followerctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CELL 256
#define MAX_PAGES 1000 /* pages of extents read (1,000 extents each) */

/* The policies view's entry for table, borrowed from pol; NULL if none. */
static const json_t *entity_of(const json_t *pol, const char *table)
{
	const json_t *e;
	size_t i;

	json_array_foreach(json_object_get(pol, "entities"), i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "name")), table) == 0)
			return e;
	}
	return NULL;
}

static void print_policy(const json_t *pol, const json_t *ent)
{
	const json_t *eff = json_object_get(ent, "effective"), *w, *wins;
	char a[CELL], b[CELL], cc[CELL];
	size_t i;

	printf("caching policies modification kind: %s\n",
	       ctl_member(pol, "caching_policies_modification_kind", a, sizeof(a)));
	printf("leader's table policy:   %s\n",
	       ctl_member(json_object_get(json_object_get(ent, "leader"), "caching"), "hot_span", a,
	                  sizeof(a)));
	printf("follower's override:     %s\n",
	       ctl_member(json_object_get(json_object_get(ent, "follower"), "caching"), "hot_span",
	                  a, sizeof(a)));
	if (json_is_true(json_object_get(eff, "all_hot"))) {
		printf("effective:               everything hot (no hot span limits it)\n");
	} else {
		printf("effective hot span:      %s (decided by: %s)\n",
		       ctl_member(eff, "hot_span", a, sizeof(a)),
		       ctl_member(eff, "span_from", b, sizeof(b)));
	}
	wins = json_object_get(eff, "hot_windows");
	for (i = 0; i < json_array_size(wins); i++) {
		w = json_array_get(wins, i);
		printf("hot window:              %s .. %s (from: %s)\n",
		       ctl_member(w, "min", a, sizeof(a)), ctl_member(w, "max", b, sizeof(b)),
		       ctl_member(w, "from", cc, sizeof(cc)));
	}
}

/* Adds the extents of one page (only id when id is set) to t; the count. */
static size_t page_rows(struct ctl_table *t, const json_t *page, const char *id)
{
	char x[CELL], mn[CELL], mx[CELL];
	const char *cells[4];
	const json_t *e;
	size_t i, n = 0;

	json_array_foreach(json_object_get(page, "extents"), i, e)
	{
		ctl_member(e, "id", x, sizeof(x));
		if (id != NULL && strcmp(x, id) != 0)
			continue;
		cells[0] = x;
		cells[1] = ctl_member(e, "min_created", mn, sizeof(mn));
		cells[2] = ctl_member(e, "max_created", mx, sizeof(mx));
		cells[3] = json_is_true(json_object_get(e, "hot")) ? "hot" : "cold";
		if (ctl_table_add(t, cells) == 0)
			n++;
	}
	return n;
}

/* Pages through the table's extents into t; an exit code. */
static int extents(struct ctl *c, const char *path0, const char *id, struct ctl_table *t,
                   size_t *ret_n)
{
	char path[4096];
	json_t *page = NULL;
	const char *next;
	char *cur = NULL;
	int r = CTL_OK;

	for (int p = 0; p < MAX_PAGES; p++) {
		(void)snprintf(path, sizeof(path), "%s&limit=1000%s%s", path0,
		               cur != NULL ? "&cursor=" : "", cur != NULL ? cur : "");
		free(cur);
		cur = NULL;
		if ((r = ctl_request(c, "GET", path, &page)) != CTL_OK)
			break;
		*ret_n += page_rows(t, page, id);
		next = json_string_value(json_object_get(page, "next"));
		cur = next != NULL && (id == NULL || *ret_n == 0) ? ctl_escape(c, next) : NULL;
		json_decref(page);
		if (cur == NULL)
			break;
	}
	free(cur);
	return r;
}

int cmd_explain(struct ctl *c, int argc, char **argv)
{
	static const char *const head[] = {"EXTENT", "MIN CREATED", "MAX CREATED", "HOTNESS"};
	char *db = NULL, *tb = NULL, path[2048];
	struct ctl_table *t = NULL;
	json_t *pol = NULL;
	const json_t *ent;
	size_t n = 0;
	int r;

	if (argc < 2 || argc > 3)
		return ctl_fail(CTL_USAGE, "usage: explain DB TABLE [EXTENT]");
	db = ctl_escape(c, argv[0]);
	tb = ctl_escape(c, argv[1]);
	if (db == NULL || tb == NULL) {
		r = ctl_fail(CTL_DAEMON, "out of memory");
		goto out;
	}
	(void)snprintf(path, sizeof(path), "/v1/databases/%s/policies", db);
	if ((r = ctl_request(c, "GET", path, &pol)) != CTL_OK)
		goto out;
	if ((ent = entity_of(pol, argv[1])) == NULL) {
		r = ctl_fail(CTL_DAEMON, "database '%s' has no table '%s'", argv[0], argv[1]);
		goto out;
	}
	if (c->json) {
		r = ctl_print_json(ent);
		goto out;
	}
	print_policy(pol, ent);
	(void)snprintf(path, sizeof(path), "/v1/databases/%s/extents?table=%s", db, tb);
	if ((t = ctl_table_new(4, head)) == NULL ||
	    (r = extents(c, path, argc == 3 ? argv[2] : NULL, t, &n)) != CTL_OK)
		goto out;
	if (argc == 3 && n == 0) {
		r = ctl_fail(CTL_DAEMON, "table '%s' has no extent '%s'", argv[1], argv[2]);
		goto out;
	}
	putchar('\n');
	ctl_table_print(t);
out:
	ctl_table_free(t);
	json_decref(pol);
	free(db);
	free(tb);
	return r;
}

/*
 * storedump — prints what the follower's store holds, through the store's
 * read API on a read-only handle, for e2e tests to compare with the leader.
 *
 *   storedump STORE dump CONFIG     the database as checkpoint records, in the
 *                                   form of `leaderctl dump` (one extent per
 *                                   add_extents line; compare sorted)
 *   storedump STORE history CONFIG  one line per history row, oldest first:
 *                                   "VERSION ckpt|commit +ADDED -REMOVED CHANGES_JSON"
 *   storedump STORE lag CONFIG      "VERSIONS SECONDS" behind the leader
 *
 * Exit status: 0, 1 on an error (message on stderr), 2 on usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "store/store.h"

static int print_record(const struct proto_action *a)
{
	char *text = proto_record_encode(a);

	if (text == NULL)
		return -ENOMEM;
	printf("%s\n", text);
	free(text);
	return 0;
}

static int print_extent(void *arg, int64_t id, const struct proto_extent *x)
{
	struct proto_action a = {
	    .op = PROTO_OP_ADD_EXTENTS, .extents = (struct proto_extent *)x, .nextents = 1};
	int64_t *last = arg;

	*last = id;
	return print_record(&a);
}

static int dump_extents(struct store *s, const char *config, const char *table, char *err)
{
	struct store_extent_query q = {
	    .config = config, .table = table, .from = INT64_MIN, .to = INT64_MAX, .limit = 1000};
	int r;

	for (;;) {
		int64_t last = q.after;

		r = store_extents(s, &q, print_extent, &last, err);
		if (r < 0 || last == q.after)
			return r;
		q.after = last;
	}
}

static int dump_policies(const struct store_entity *v, size_t n, bool has_c,
                         struct proto_caching *c, bool has_r, struct proto_retention *rt)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i <= n; i++) {
		const char *table = i < n ? v[i].e.name : NULL;
		bool hc = i < n ? v[i].has_caching : has_c;
		bool hr = i < n ? v[i].has_retention : has_r;
		struct proto_action a = {
		    .op = PROTO_OP_SET_CACHING, .table = (char *)table, .has_policy = true};

		if (hc) {
			a.caching = i < n ? v[i].caching : *c;
			r = print_record(&a);
		}
		if (r == 0 && hr) {
			a.op = PROTO_OP_SET_RETENTION;
			a.retention = i < n ? v[i].retention : *rt;
			r = print_record(&a);
		}
	}
	return r;
}

static int dump_principals(struct store *s, const char *config, char *err)
{
	int r = 0;

	for (int role = 0; r == 0 && role < PROTO_NROLES; role++) {
		struct proto_principal *p = NULL;
		size_t n = 0;
		struct proto_action a = {.op = PROTO_OP_SET_PRINCIPALS, .role = role};

		r = store_principals(s, config, role, &p, &n, err);
		a.principals = p;
		a.nprincipals = n;
		if (r == 0 && n > 0)
			r = print_record(&a);
		store_principals_free(p, n);
	}
	return r;
}

static int dump(struct store *s, const char *config, char *err)
{
	struct store_entity *v = NULL;
	size_t n = 0;
	struct proto_caching c = {0};
	struct proto_retention rt = {0};
	bool has_c = false, has_r = false;
	int r = store_entities(s, config, &v, &n, err);

	for (size_t i = 0; r == 0 && i < n; i++)
		r = print_record(&(struct proto_action){.op = PROTO_OP_CREATE, .entity = v[i].e});
	if (r == 0)
		r = store_db_policies(s, config, &has_c, &c, &has_r, &rt, err);
	if (r == 0)
		r = dump_policies(v, n, has_c, &c, has_r, &rt);
	if (r == 0)
		r = dump_principals(s, config, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = dump_extents(s, config, v[i].e.name, err);
	proto_caching_clear(&c);
	store_entities_free(v, n);
	return r;
}

static int history(struct store *s, const char *config, char *err)
{
	struct store_history *h = NULL;
	size_t n = 0;
	int r = store_history(s, config, 0, &h, &n, err);

	for (size_t i = n; r == 0 && i > 0; i--) {
		const struct store_history *x = &h[i - 1];

		printf("%" PRIu64 " %s +%" PRIu64 " -%" PRIu64 " %s\n", x->version,
		       x->checkpoint ? "ckpt" : "commit", x->extents_added, x->extents_removed,
		       x->changes != NULL ? x->changes : "[]");
	}
	store_history_free(h, n);
	return r;
}

static int lag(struct store *s, const char *config, char *err)
{
	struct store_lag l;
	int r = store_lag(s, config, &l, err);

	if (r == 0)
		printf("%" PRIu64 " %.3f\n", l.versions, (double)l.ticks / PROTO_TICKS_PER_SEC);
	return r;
}

int main(int argc, char **argv)
{
	char err[STORE_ERRLEN] = "";
	struct store *s = NULL;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: storedump STORE dump|history|lag CONFIG\n");
		return 2;
	}
	r = store_open_readonly(argv[1], &s, err);
	if (r == 0 && strcmp(argv[2], "dump") == 0)
		r = dump(s, argv[3], err);
	else if (r == 0 && strcmp(argv[2], "history") == 0)
		r = history(s, argv[3], err);
	else if (r == 0 && strcmp(argv[2], "lag") == 0)
		r = lag(s, argv[3], err);
	else if (r == 0) {
		fprintf(stderr, "storedump: unknown command '%s'\n", argv[2]);
		store_free(s);
		return 2;
	}
	store_free(s);
	if (r < 0) {
		fprintf(stderr, "storedump: %s\n", err[0] != '\0' ? err : strerror(-r));
		return 1;
	}
	return 0;
}

/*
 * leaderctl_show — reading commands: show (the head, or one database's
 * state), log (one line per version) and dump (a database's state as the
 * NDJSON records that rebuild it, one extent per line).  --json gives
 * machine-readable output built with jansson.
 */
#include "leaderctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util/timefmt.h"

static int print_json(struct lc *c, json_t *v, size_t flags)
{
	char *text = v ? json_dumps(v, flags) : NULL;

	json_decref(v);
	if (!text)
		return lc_fail(c, "out of memory");
	printf("%s\n", text);
	free(text);
	return LC_OK;
}

static json_t *jdate(int64_t ticks)
{
	char buf[TIMEFMT_DATETIME_LEN];

	return json_string(timefmt_format_datetime(ticks, buf));
}

static json_t *jstrings(char **v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		(void)json_array_append_new(a, json_string(v[i]));
	return a;
}

/* ---- show: the head ---- */

static json_t *head_db_json(const struct proto_head_db *d)
{
	return json_pack("{s:s, s:s, s:I, s:o, s:I, s:I, s:o}", "name", d->name, "uuid", d->uuid,
	                 "version", (json_int_t)d->version, "committed", jdate(d->committed),
	                 "checkpoint", (json_int_t)d->checkpoint, "log_start",
	                 (json_int_t)d->log_start, "detached_followers",
	                 jstrings(d->detached, d->ndetached));
}

static int show_head_json(struct lc *c, const struct proto_head *h)
{
	json_t *dbs = json_array();
	size_t i;

	for (i = 0; dbs && i < h->ndbs; i++)
		(void)json_array_append_new(dbs, head_db_json(&h->dbs[i]));
	return print_json(c,
	                  json_pack("{s:s, s:I, s:o, s:o}", "target", leader_describe(c->l),
	                            "checkpoint_interval", (json_int_t)h->checkpoint_interval,
	                            "updated", jdate(h->updated), "databases", dbs),
	                  JSON_INDENT(2));
}

static int show_head_text(struct lc *c, const struct proto_head *h)
{
	char when[TIMEFMT_DATETIME_LEN];
	size_t i, k;

	printf("leader %s: %zu database%s, a checkpoint every %u commits\n", leader_describe(c->l),
	       h->ndbs, h->ndbs == 1 ? "" : "s", h->checkpoint_interval);
	if (h->ndbs)
		printf("%-24s %10s %10s %9s  %-28s  %s\n", "DATABASE", "VERSION", "CHECKPOINT",
		       "LOG FROM", "COMMITTED", "UUID");
	for (i = 0; i < h->ndbs; i++) {
		const struct proto_head_db *d = &h->dbs[i];

		printf("%-24s %10llu %10llu %9llu  %-28s  %s\n", d->name,
		       (unsigned long long)d->version, (unsigned long long)d->checkpoint,
		       (unsigned long long)d->log_start,
		       timefmt_format_datetime(d->committed, when), d->uuid);
		for (k = 0; k < d->ndetached; k++)
			printf("  detached follower: %s\n", d->detached[k]);
	}
	return LC_OK;
}

/* ---- show DB: one database's state ---- */

/* The JSON of an action without its "op": a definition or a policy. */
static json_t *action_body(const struct proto_action *a)
{
	json_t *v = proto_action_to_json(a);

	if (v)
		(void)json_object_del(v, "op");
	return v;
}

struct show_db {
	const struct leader_state *st;
	json_t *entities;
	bool json;
};

static json_t *policy_json(const struct leader_state *st, const char *table, bool caching)
{
	const struct proto_caching *cp = NULL;
	const struct proto_retention *rp = NULL;
	struct proto_action a = {.op = caching ? PROTO_OP_SET_CACHING : PROTO_OP_SET_RETENTION};
	json_t *body, *policy;

	a.has_policy =
	    caching ? leader_state_caching(st, table, &cp) : leader_state_retention(st, table, &rp);
	if (!a.has_policy)
		return json_null();
	if (cp)
		a.caching = *cp;
	if (rp)
		a.retention = *rp;
	body = proto_action_to_json(&a);
	policy = body ? json_incref(json_object_get(body, "policy")) : NULL;
	json_decref(body);
	return policy ? policy : json_null();
}

static const char *policy_text(const struct leader_state *st, const char *table, bool caching,
                               char *buf, size_t len)
{
	json_t *p = policy_json(st, table, caching);
	char *text = json_is_null(p) ? NULL : json_dumps(p, JSON_COMPACT);

	(void)snprintf(buf, len, "%s", text ? text : "none");
	free(text);
	json_decref(p);
	return buf;
}

static int entity_cb(const struct proto_entity *e, uint64_t nextents, void *arg)
{
	struct show_db *s = arg;
	struct proto_action a = {.op = PROTO_OP_CREATE, .entity = *e};
	char cbuf[512], rbuf[512];
	json_t *v;

	if (!s->json) {
		printf("  %-20s %-18s %5zu columns %8llu extents  caching %s, retention %s\n",
		       e->name, proto_kind_name(e->kind), e->ncolumns, (unsigned long long)nextents,
		       policy_text(s->st, e->name, true, cbuf, sizeof(cbuf)),
		       policy_text(s->st, e->name, false, rbuf, sizeof(rbuf)));
		return 0;
	}
	v = action_body(&a);
	if (!v)
		return -1;
	(void)json_object_set_new(v, "kind", json_string(proto_kind_name(e->kind)));
	(void)json_object_set_new(v, "extents", json_integer((json_int_t)nextents));
	(void)json_object_set_new(v, "caching", policy_json(s->st, e->name, true));
	(void)json_object_set_new(v, "retention", policy_json(s->st, e->name, false));
	return json_array_append_new(s->entities, v);
}

static json_t *principals_json(const struct leader_state *st)
{
	json_t *all = json_object();
	size_t r, i, n;

	for (r = 0; all && r < PROTO_NROLES; r++) {
		const struct proto_principal *p;
		json_t *list = json_array();

		leader_state_principals(st, (enum proto_role)r, &p, &n);
		for (i = 0; list && i < n; i++)
			(void)json_array_append_new(
			    list, json_pack("{s:s, s:s}", "fqn", p[i].fqn, "name", p[i].name));
		(void)json_object_set_new(all, proto_role_name((enum proto_role)r), list);
	}
	return all;
}

static void principals_text(const struct leader_state *st)
{
	size_t r, i, n;

	for (r = 0; r < PROTO_NROLES; r++) {
		const struct proto_principal *p;

		leader_state_principals(st, (enum proto_role)r, &p, &n);
		for (i = 0; i < n; i++)
			printf("  %-8s %s%s%s%s\n", proto_role_name((enum proto_role)r), p[i].fqn,
			       *p[i].name ? " (" : "", p[i].name, *p[i].name ? ")" : "");
	}
}

static int show_db(struct lc *c, const struct proto_head_db *d, const struct leader_state *st)
{
	struct show_db s = {.st = st, .json = c->json};
	struct proto_counts n;
	char when[TIMEFMT_DATETIME_LEN], cbuf[512], rbuf[512];

	leader_state_counts(st, &n);
	if (c->json) {
		s.entities = json_array();
		if (leader_state_foreach_entity(st, entity_cb, &s) != 0) {
			json_decref(s.entities);
			return lc_fail(c, "out of memory");
		}
		return print_json(
		    c,
		    json_pack("{s:o, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I}, s:o, s:o, s:o, s:o}",
		              "database", head_db_json(d), "entities", s.entities, "counts",
		              "tables", (json_int_t)n.tables, "external_tables",
		              (json_int_t)n.external_tables, "materialized_views",
		              (json_int_t)n.materialized_views, "extents", (json_int_t)n.extents,
		              "rows", (json_int_t)n.rows, "bytes", (json_int_t)n.bytes, "caching",
		              policy_json(st, NULL, true), "retention",
		              policy_json(st, NULL, false), "principals", principals_json(st),
		              "detached_followers", jstrings(d->detached, d->ndetached)),
		    JSON_INDENT(2));
	}
	printf("database %s (%s) at version %llu, committed %s\n", d->name, d->uuid,
	       (unsigned long long)d->version, timefmt_format_datetime(d->committed, when));
	printf("checkpoint %llu, log from version %llu\n", (unsigned long long)d->checkpoint,
	       (unsigned long long)d->log_start);
	printf("%llu extents, %llu rows, %llu bytes; caching %s, retention %s\n",
	       (unsigned long long)n.extents, (unsigned long long)n.rows,
	       (unsigned long long)n.bytes, policy_text(st, NULL, true, cbuf, sizeof(cbuf)),
	       policy_text(st, NULL, false, rbuf, sizeof(rbuf)));
	(void)leader_state_foreach_entity(st, entity_cb, &s);
	principals_text(st);
	for (size_t i = 0; i < d->ndetached; i++)
		printf("  detached follower: %s\n", d->detached[i]);
	return LC_OK;
}

static int json_option(struct lc *c, int argc, char **argv, int *ret_max)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		if (opt != 'j')
			return LC_USAGE;
		c->json = true;
	}
	return lc_positional(c, argc, argv, 0, *ret_max);
}

int lc_cmd_show(struct lc *c, int argc, char **argv)
{
	struct proto_head *h = NULL;
	const struct proto_head_db *d;
	struct leader_state *st = NULL;
	int max = 1, r = json_option(c, argc, argv, &max);

	if (r != LC_OK)
		return r;
	if (leader_read_head(c->l, &h) < 0)
		return lc_engine(c);
	if (optind == argc) {
		r = c->json ? show_head_json(c, h) : show_head_text(c, h);
	} else if (!(d = leader_head_find(h, argv[optind]))) {
		r = lc_fail(c, "database '%s' does not exist", argv[optind]);
	} else {
		r = leader_load(c->l, d, &st) < 0 ? lc_engine(c) : show_db(c, d, st);
	}
	leader_state_free(st);
	proto_head_free(h);
	return r;
}

/* ---- log ---- */

static void count_extents(const struct proto_action *a, uint64_t *rows, json_t *tables)
{
	size_t i;

	for (i = 0; i < a->nextents; i++) {
		size_t k;
		bool seen = false;

		*rows += a->extents[i].rows;
		for (k = 0; k < json_array_size(tables); k++)
			seen = seen || strcmp(json_string_value(json_array_get(tables, k)),
			                      a->extents[i].table) == 0;
		if (!seen)
			(void)json_array_append_new(tables, json_string(a->extents[i].table));
	}
}

/* A short JSON summary of an action: counts instead of whole extents. */
static json_t *action_summary(const struct proto_action *a)
{
	json_t *v, *ids, *tables;
	uint64_t rows = 0;
	size_t i;

	if (a->op != PROTO_OP_ADD_EXTENTS && a->op != PROTO_OP_DROP_EXTENTS &&
	    a->op != PROTO_OP_REPLACE_EXTENTS) {
		v = proto_action_to_json(a);
		if (v && a->op == PROTO_OP_CREATE)
			(void)json_object_del(v, "columns");
		return v;
	}
	ids = json_array();
	tables = json_array();
	for (i = 0; ids && i < a->nids; i++)
		(void)json_array_append_new(ids, json_string(a->ids[i]));
	count_extents(a, &rows, tables);
	v = json_pack("{s:s, s:I, s:I, s:o, s:o}", "op", proto_op_name(a->op, PROTO_TABLE),
	              "extents", (json_int_t)a->nextents, "rows", (json_int_t)rows, "tables",
	              tables, "dropped", ids);
	ids = json_array();
	for (i = 0; v && ids && i < a->nextents; i++)
		(void)json_array_append_new(ids, json_string(a->extents[i].id));
	(void)json_object_set_new(v, "added", ids);
	return v;
}

static void print_action_text(const struct proto_action *a)
{
	json_t *s = action_summary(a), *t = json_object_get(s, "tables");
	const char *op = proto_op_name(a->op, a->entity.kind);
	char *text;

	if (a->op == PROTO_OP_CREATE || a->op == PROTO_OP_ALTER || a->op == PROTO_OP_DROP) {
		printf(" %s %s;", op, a->entity.name);
	} else if (a->op == PROTO_OP_SET_CACHING || a->op == PROTO_OP_SET_RETENTION) {
		text = json_dumps(json_object_get(s, "policy"), JSON_COMPACT | JSON_ENCODE_ANY);
		printf(" %s %s %s;", op, a->table ? a->table : "(database)", text ? text : "?");
		free(text);
	} else if (a->op == PROTO_OP_SET_PRINCIPALS) {
		printf(" %s %s: %zu;", op, proto_role_name(a->role), a->nprincipals);
	} else {
		text = json_dumps(t, JSON_COMPACT);
		printf(" %s", op);
		if (a->nids)
			printf(" -%zu", a->nids);
		if (a->nextents)
			printf(" +%zu (%lld rows) %s", a->nextents,
			       (long long)json_integer_value(json_object_get(s, "rows")),
			       text ? text : "");
		printf(";");
		free(text);
	}
	json_decref(s);
}

static int log_one(struct lc *c, const struct proto_commit *cm)
{
	char when[TIMEFMT_DATETIME_LEN];
	json_t *actions;
	size_t i;

	if (!c->json) {
		printf("%llu %s", (unsigned long long)cm->version,
		       timefmt_format_datetime(cm->committed, when));
		if (cm->nactions == 0)
			printf(" (database created)");
		for (i = 0; i < cm->nactions; i++)
			print_action_text(&cm->actions[i]);
		printf("\n");
		return LC_OK;
	}
	actions = json_array();
	for (i = 0; actions && i < cm->nactions; i++)
		(void)json_array_append_new(actions, action_summary(&cm->actions[i]));
	return print_json(c,
	                  json_pack("{s:I, s:o, s:o}", "version", (json_int_t)cm->version,
	                            "committed", jdate(cm->committed), "actions", actions),
	                  JSON_COMPACT);
}

static int log_options(struct lc *c, int argc, char **argv, uint64_t *from)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"from", required_argument, NULL, 'f'},
	    {NULL, 0, NULL, 0},
	};
	int opt, r = LC_OK;

	while (r == LC_OK && (opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		if (opt == 'j')
			c->json = true;
		else if (opt == 'f')
			r = lc_parse_u64(c, "--from", optarg, PROTO_MAX_VERSION, from);
		else
			r = LC_USAGE;
	}
	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 1, 1);
	return r == LC_OK ? lc_check_name(c, "database", argv[optind]) : r;
}

int lc_cmd_log(struct lc *c, int argc, char **argv)
{
	struct proto_head *h = NULL;
	const struct proto_head_db *d;
	uint64_t from = 0, v;
	int r = log_options(c, argc, argv, &from);

	if (r != LC_OK)
		return r;
	if (leader_read_head(c->l, &h) < 0)
		return lc_engine(c);
	d = leader_head_find(h, argv[optind]);
	if (!d)
		r = lc_fail(c, "database '%s' does not exist", argv[optind]);
	else if (from && from < d->log_start)
		r = lc_fail(c, "%s: versions before %llu were vacuumed", d->name,
		            (unsigned long long)d->log_start);
	for (v = d && from > d->log_start ? from
	         : d                      ? d->log_start
	                                  : 1;
	     d && r == LC_OK && v <= d->version; v++) {
		struct proto_commit *cm = NULL;

		r = leader_read_commit(c->l, d->uuid, v, &cm) < 0 ? lc_engine(c) : log_one(c, cm);
		proto_commit_free(cm);
	}
	proto_head_free(h);
	return r;
}

/* ---- dump ---- */

static int dump_record(const struct proto_action *a, void *arg)
{
	char *line = proto_record_encode(a);

	if (!line)
		return -1;
	printf("%s\n", line);
	free(line);
	return 0;
}

int lc_cmd_dump(struct lc *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"replay", no_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	struct proto_head *h = NULL;
	const struct proto_head_db *d;
	struct leader_state *st = NULL;
	bool replay = false;
	int opt, r = LC_OK;

	while ((opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		if (opt != 'r')
			return LC_USAGE;
		replay = true;
	}
	r = lc_positional(c, argc, argv, 1, 1);
	if (r != LC_OK)
		return r;
	if (leader_read_head(c->l, &h) < 0)
		return lc_engine(c);
	d = leader_head_find(h, argv[optind]);
	if (!d)
		r = lc_fail(c, "database '%s' does not exist", argv[optind]);
	else if ((replay ? leader_load_replay(c->l, d, &st) : leader_load(c->l, d, &st)) < 0)
		r = lc_engine(c);
	else if (leader_state_foreach_record(st, 1, dump_record, NULL) != 0)
		r = lc_fail(c, "out of memory");
	leader_state_free(st);
	proto_head_free(h);
	return r;
}

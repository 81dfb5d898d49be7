/*
 * leaderctl_schema — commands that change a database's schema and settings:
 * tables, external tables and materialized views (create / alter / drop),
 * caching and retention policies, principals.  Each builds its action under
 * the commit lock, against the current state (leader_commit).
 */
#include "leaderctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

/* ---- tables, external tables, materialized views ---- */

struct entity_req {
	enum proto_op op;
	struct proto_entity def; /* what was given; owned */
	bool has[5];             /* folder, docstring, location, source, query given */
};

enum { HAS_FOLDER, HAS_DOCSTRING, HAS_LOCATION, HAS_SOURCE, HAS_QUERY };

/* "create-external-table" -> op CREATE, kind EXTERNAL_TABLE. */
static int parse_entity_command(const char *cmd, enum proto_op *op, enum proto_kind *kind)
{
	static const char *const ops[3] = {"create-", "alter-", "drop-"};
	static const enum proto_op opv[3] = {PROTO_OP_CREATE, PROTO_OP_ALTER, PROTO_OP_DROP};
	static const char *const kinds[3] = {"table", "external-table", "materialized-view"};
	static const enum proto_kind kindv[3] = {PROTO_TABLE, PROTO_EXTERNAL_TABLE,
	                                         PROTO_MATERIALIZED_VIEW};
	size_t i, k;

	for (i = 0; i < 3; i++) {
		size_t n = strlen(ops[i]);

		if (strncmp(cmd, ops[i], n) != 0)
			continue;
		for (k = 0; k < 3; k++) {
			if (strcmp(cmd + n, kinds[k]) == 0) {
				*op = opv[i];
				*kind = kindv[k];
				return 0;
			}
		}
	}
	return -EINVAL;
}

/* Parses "name:type,name:type" into def's columns. */
static int parse_columns(struct lc *c, const char *spec, struct proto_entity *def)
{
	char *copy = strdup(spec), *save = NULL, *item;
	int r = LC_OK;

	if (!copy)
		return lc_fail(c, "out of memory");
	for (item = strtok_r(copy, ",", &save); item && r == LC_OK;
	     item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		struct proto_column *v;
		enum proto_coltype type;

		if (!colon) {
			r = lc_usage(c, "column '%s': expected NAME:TYPE", item);
			break;
		}
		*colon = '\0';
		if (lc_check_name(c, "column", item) != LC_OK) {
			r = LC_USAGE;
			break;
		}
		if (proto_coltype_parse(colon + 1, &type) < 0) {
			r = lc_usage(
			    c,
			    "column '%s': unknown type '%s' (bool datetime dynamic guid int "
			    "long real string timespan decimal)",
			    item, colon + 1);
			break;
		}
		if (def->ncolumns >= PROTO_MAX_COLUMNS) {
			r = lc_usage(c, "more than %d columns", PROTO_MAX_COLUMNS);
			break;
		}
		v = realloc(def->columns, (def->ncolumns + 1) * sizeof(*v));
		if (!v || !(v[def->ncolumns].name = strdup(item))) {
			if (v)
				def->columns = v;
			r = lc_fail(c, "out of memory");
			break;
		}
		def->columns = v;
		def->columns[def->ncolumns++].type = type;
	}
	if (r == LC_OK && def->ncolumns == 0)
		r = lc_usage(c, "no columns given");
	free(copy);
	return r;
}

static int set_text(struct lc *c, char **dst, const char *what, const char *s)
{
	if (strlen(s) > PROTO_MAX_TEXT)
		return lc_usage(c, "%s: longer than %d bytes", what, PROTO_MAX_TEXT);
	free(*dst);
	*dst = strdup(s);
	return *dst ? LC_OK : lc_fail(c, "out of memory");
}

static int entity_options(struct lc *c, int argc, char **argv, struct entity_req *q)
{
	static const struct option opts[] = {
	    {"folder", required_argument, NULL, HAS_FOLDER},
	    {"docstring", required_argument, NULL, HAS_DOCSTRING},
	    {"location", required_argument, NULL, HAS_LOCATION},
	    {"source", required_argument, NULL, HAS_SOURCE},
	    {"query", required_argument, NULL, HAS_QUERY},
	    {NULL, 0, NULL, 0},
	};
	char **dst[5] = {&q->def.folder, &q->def.docstring, &q->def.location, &q->def.source,
	                 &q->def.query};
	bool allowed[5] = {
	    q->op != PROTO_OP_DROP, q->op != PROTO_OP_DROP, q->def.kind == PROTO_EXTERNAL_TABLE,
	    q->def.kind == PROTO_MATERIALIZED_VIEW, q->def.kind == PROTO_MATERIALIZED_VIEW};
	int opt, r = LC_OK;

	while (r == LC_OK && (opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		if (opt == '?')
			return LC_USAGE;
		if (!allowed[opt])
			return lc_usage(c, "--%s does not apply here", opts[opt].name);
		q->has[opt] = true;
		r = set_text(c, dst[opt], opts[opt].name, optarg);
	}
	return r;
}

/* What an alter leaves unsaid stays as it is; a create gets defaults. */
static int fill_entity(struct entity_req *q, const struct proto_entity *old, char *err)
{
	char **dst[5] = {&q->def.folder, &q->def.docstring, &q->def.location, &q->def.source,
	                 &q->def.query};
	const char *from[5] = {"", "", NULL, NULL, NULL};
	size_t i;

	if (old && old->kind == q->def.kind) {
		from[0] = old->folder;
		from[1] = old->docstring;
		from[2] = old->location;
		from[3] = old->source;
		from[4] = old->query;
	}
	for (i = 0; i < 5; i++) {
		if (q->has[i] || !from[i])
			continue;
		free(*dst[i]);
		*dst[i] = strdup(from[i]);
		if (!*dst[i])
			return -ENOMEM;
	}
	return 0;
}

static int build_entity(const struct leader_state *st, struct proto_commit *cm, void *arg,
                        char *err)
{
	struct entity_req *q = arg;
	struct proto_action a = {.op = q->op};
	int r = 0;

	if (q->op == PROTO_OP_ALTER)
		r = fill_entity(q, leader_state_entity(st, q->def.name), err);
	if (r == 0)
		r = q->op == PROTO_OP_DROP ? 0 : proto_entity_copy(&a.entity, &q->def);
	if (r == 0 && q->op == PROTO_OP_DROP) {
		a.entity.kind = q->def.kind;
		a.entity.name = strdup(q->def.name);
		r = a.entity.name ? 0 : -ENOMEM;
	}
	if (r == 0)
		r = leader_commit_add(cm, &a);
	proto_action_clear(&a);
	return r;
}

static int entity_required(struct lc *c, const struct entity_req *q)
{
	if (q->op != PROTO_OP_CREATE)
		return LC_OK;
	if (q->def.kind == PROTO_EXTERNAL_TABLE && !q->has[HAS_LOCATION])
		return lc_usage(c, "--location is required");
	if (q->def.kind == PROTO_MATERIALIZED_VIEW && (!q->has[HAS_SOURCE] || !q->has[HAS_QUERY]))
		return lc_usage(c, "--source and --query are required");
	if (q->def.kind == PROTO_MATERIALIZED_VIEW && lc_check_name(c, "table", q->def.source))
		return LC_USAGE;
	return LC_OK;
}

int lc_cmd_entity(struct lc *c, int argc, char **argv)
{
	struct entity_req q = {0};
	int r;

	if (parse_entity_command(c->cmd, &q.op, &q.def.kind) < 0)
		return lc_fail(c, "internal error: unknown command");
	r = entity_options(c, argc, argv, &q);
	if (r == LC_OK)
		r = lc_positional(c, argc, argv, q.op == PROTO_OP_DROP ? 2 : 3,
		                  q.op == PROTO_OP_DROP ? 2 : 3);
	if (r == LC_OK)
		r = lc_check_name(c, "database", argv[optind]);
	if (r == LC_OK)
		r = lc_check_name(c, "table", argv[optind + 1]);
	if (r == LC_OK && !(q.def.name = strdup(argv[optind + 1])))
		r = lc_fail(c, "out of memory");
	if (r == LC_OK && q.op != PROTO_OP_DROP)
		r = parse_columns(c, argv[optind + 2], &q.def);
	if (r == LC_OK)
		r = entity_required(c, &q);
	if (r == LC_OK && q.op == PROTO_OP_CREATE && fill_entity(&q, NULL, NULL) < 0)
		r = lc_fail(c, "out of memory");
	if (r == LC_OK && leader_commit(c->l, argv[optind], build_entity, &q, NULL) < 0)
		r = lc_engine(c);
	proto_entity_clear(&q.def);
	return r;
}

/* ---- policies ---- */

struct policy_req {
	struct proto_action a; /* table, has_policy, caching / retention: owned */
};

static int build_policy(const struct leader_state *st, struct proto_commit *cm, void *arg,
                        char *err)
{
	struct policy_req *q = arg;

	return leader_commit_add(cm, &q->a);
}

/* "MIN..MAX" as two datetimes. */
static int parse_window(struct lc *c, const char *s, struct proto_caching *p)
{
	const char *dots = strstr(s, "..");
	char min[TIMEFMT_DATETIME_LEN + 8];
	struct proto_window w, *v;

	if (!dots || (size_t)(dots - s) >= sizeof(min))
		return lc_usage(c, "--hot-window: '%s' is not MIN..MAX", s);
	memcpy(min, s, (size_t)(dots - s));
	min[dots - s] = '\0';
	if (lc_parse_datetime(c, "--hot-window", min, &w.min) != LC_OK ||
	    lc_parse_datetime(c, "--hot-window", dots + 2, &w.max) != LC_OK)
		return LC_USAGE;
	if (w.min > w.max)
		return lc_usage(c, "--hot-window: '%s' ends before it starts", s);
	if (p->nwindows >= PROTO_MAX_WINDOWS)
		return lc_usage(c, "more than %d hot windows", PROTO_MAX_WINDOWS);
	v = realloc(p->windows, (p->nwindows + 1) * sizeof(*v));
	if (!v)
		return lc_fail(c, "out of memory");
	p->windows = v;
	p->windows[p->nwindows++] = w;
	return LC_OK;
}

/* Options and positionals shared by both policy commands. */
static int policy_args(struct lc *c, int argc, char **argv, struct policy_req *q, bool caching)
{
	static const struct option opts[] = {
	    {"table", required_argument, NULL, 't'},
	    {"hot-window", required_argument, NULL, 'w'},
	    {"no-recoverability", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	int opt, r = LC_OK;

	q->a.retention.recoverability = true;
	while (r == LC_OK && (opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		if (opt == '?')
			return LC_USAGE;
		if (opt == 't')
			r = lc_check_name(c, "table", optarg) != LC_OK
			        ? LC_USAGE
			        : set_text(c, &q->a.table, "--table", optarg);
		else if (opt == 'w' && caching)
			r = parse_window(c, optarg, &q->a.caching);
		else if (opt == 'n' && !caching)
			q->a.retention.recoverability = false;
		else
			return lc_usage(c, "%s does not apply here", argv[optind - 1]);
	}
	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 2, 2);
	if (r == LC_OK)
		r = lc_check_name(c, "database", argv[optind]);
	q->a.has_policy = r == LC_OK && strcmp(argv[optind + 1], "none") != 0;
	if (r == LC_OK && !q->a.has_policy && q->a.caching.nwindows)
		r = lc_usage(c, "--hot-window with 'none'");
	return r;
}

int lc_cmd_caching(struct lc *c, int argc, char **argv)
{
	struct policy_req q = {.a = {.op = PROTO_OP_SET_CACHING}};
	int r = policy_args(c, argc, argv, &q, true);

	if (r == LC_OK && q.a.has_policy)
		r = lc_parse_duration(c, "hot span", argv[optind + 1], &q.a.caching.hot_span);
	if (r == LC_OK && leader_commit(c->l, argv[optind], build_policy, &q, NULL) < 0)
		r = lc_engine(c);
	proto_action_clear(&q.a);
	return r;
}

int lc_cmd_retention(struct lc *c, int argc, char **argv)
{
	struct policy_req q = {.a = {.op = PROTO_OP_SET_RETENTION}};
	int r = policy_args(c, argc, argv, &q, false);

	if (r == LC_OK && q.a.has_policy)
		r = lc_parse_duration(c, "soft delete", argv[optind + 1],
		                      &q.a.retention.soft_delete);
	if (r == LC_OK && !q.a.has_policy)
		q.a.retention.recoverability = false;
	if (r == LC_OK && leader_commit(c->l, argv[optind], build_policy, &q, NULL) < 0)
		r = lc_engine(c);
	proto_action_clear(&q.a);
	return r;
}

/* ---- principals ---- */

struct principal_req {
	bool add;
	enum proto_role role;
	const char *fqn;
	const char *name;
};

static int copy_principal(struct proto_principal *dst, const char *fqn, const char *name)
{
	dst->fqn = strdup(fqn);
	dst->name = strdup(name ? name : "");
	return dst->fqn && dst->name ? 0 : -ENOMEM;
}

/* The role's new list: the old one with fqn added or removed. */
static int build_principal(const struct leader_state *st, struct proto_commit *cm, void *arg,
                           char *err)
{
	const struct principal_req *q = arg;
	const struct proto_principal *old;
	struct proto_action a = {.op = PROTO_OP_SET_PRINCIPALS, .role = q->role};
	size_t n, i, found = SIZE_MAX;
	int r = 0;

	leader_state_principals(st, q->role, &old, &n);
	for (i = 0; i < n; i++)
		if (strcmp(old[i].fqn, q->fqn) == 0)
			found = i;
	if (q->add == (found != SIZE_MAX)) {
		(void)snprintf(err, LEADER_ERRLEN, "principal '%s' is %s role %s of database %s",
		               q->fqn, q->add ? "already in" : "not in", proto_role_name(q->role),
		               leader_state_database(st));
		return -EINVAL;
	}
	a.principals = calloc(n + 1, sizeof(*a.principals));
	if (!a.principals)
		return -ENOMEM;
	for (i = 0; r == 0 && i < n; i++)
		if (i != found)
			r = copy_principal(&a.principals[a.nprincipals++], old[i].fqn, old[i].name);
	if (r == 0 && q->add)
		r = copy_principal(&a.principals[a.nprincipals++], q->fqn, q->name);
	if (r == 0)
		r = leader_commit_add(cm, &a);
	proto_action_clear(&a);
	return r;
}

int lc_cmd_principal(struct lc *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"name", required_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	struct principal_req q = {.add = strcmp(c->cmd, "add-principal") == 0};
	int opt, r = LC_OK;

	while ((opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		if (opt == '?' || !q.add)
			return opt == '?' ? LC_USAGE
			                  : lc_usage(c, "--name applies to add-principal");
		if (strlen(optarg) > PROTO_MAX_TEXT)
			return lc_usage(c, "--name: longer than %d bytes", PROTO_MAX_TEXT);
		q.name = optarg;
	}
	r = lc_positional(c, argc, argv, 3, 3);
	if (r == LC_OK)
		r = lc_check_name(c, "database", argv[optind]);
	if (r == LC_OK && proto_role_parse(argv[optind + 1], &q.role) < 0)
		r = lc_usage(c, "unknown role '%s' (admins, users, viewers, monitors)",
		             argv[optind + 1]);
	if (r != LC_OK)
		return r;
	q.fqn = argv[optind + 2];
	if (!*q.fqn || strlen(q.fqn) > PROTO_MAX_TEXT)
		return lc_usage(c, "the principal's fqn must be 1 to %d bytes", PROTO_MAX_TEXT);
	if (leader_commit(c->l, argv[optind], build_principal, &q, NULL) < 0)
		return lc_engine(c);
	return LC_OK;
}

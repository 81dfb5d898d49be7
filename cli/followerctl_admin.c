/*
 * followerctl_admin — attach, detach and alter: changing what the daemon
 * follows and how, at run time.
 *
 * attach/detach are the client of the daemon's attachments API, in the
 * spirit of `az kusto attached-database-configuration create/list/show/
 * delete`:
 *
 *   GET    /v1/admin/attachments          {"attachments":[{...,"source"}]}
 *   PUT    /v1/admin/attachments/{name}   an attach JSON (the configuration
 *                                         file's keys) -> {"attachment":{...}}
 *   DELETE /v1/admin/attachments/{name}
 *
 * alter builds the Kusto control commands for follower databases
 * (`.alter follower database X policy caching hot = 7d`, `.add follower
 * database X viewers ('aaduser=...')`, ...) and posts them to
 * /v1/rest/mgmt as {"db":X,"csl":...}; --dry-run prints them instead.
 */
#include "followerctl.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CSL_MAX 8192
#define ATTACH_PATH "/v1/admin/attachments"

/* ---- attach options: the configuration file's keys ---- */

enum opt_kind {
	OPT_STRING, /* "key": "value" */
	OPT_LIST,   /* "key": ["a", "b"] from "a,b"; repeatable */
	OPT_MULTI,  /* "key": ["v1", "v2"]: one item per use */
	OPT_TRUE,   /* "key": true, no value */
	OPT_FALSE,  /* "key": false, no value */
	OPT_KIND,   /* "key": "union" | "replace" | "none", any case */
};

static const struct attach_opt {
	const char *flag; /* without "--" */
	const char *key;
	enum opt_kind kind;
} attach_opts[] = {
    {"leader", "leader", OPT_STRING},
    {"database", "database", OPT_STRING},
    {"local-name", "local_name", OPT_STRING},
    {"local-prefix", "local_prefix", OPT_STRING},
    {"include-tables", "include_tables", OPT_LIST},
    {"exclude-tables", "exclude_tables", OPT_LIST},
    {"principals-modification-kind", "principals_modification_kind", OPT_KIND},
    {"caching-policies-modification-kind", "caching_policies_modification_kind", OPT_KIND},
    {"hot-cache", "hot_cache", OPT_STRING},
    {"hot-window", "hot_window", OPT_MULTI},
    {"table-hot-cache", "table_hot_cache", OPT_MULTI},
    {"prefetch", "prefetch", OPT_TRUE},
    {"no-prefetch", "prefetch", OPT_FALSE},
    {"poll-interval", "poll_interval", OPT_STRING},
    {"viewers", "viewers", OPT_LIST},
    {"admins", "admins", OPT_LIST},
    {"account-key-file", "account_key_file", OPT_STRING},
    {"sas-token-file", "sas_token_file", OPT_STRING},
};

static const struct attach_opt *attach_opt_of(const char *flag, size_t len)
{
	for (size_t i = 0; i < sizeof(attach_opts) / sizeof(attach_opts[0]); i++)
		if (strlen(attach_opts[i].flag) == len &&
		    strncmp(attach_opts[i].flag, flag, len) == 0)
			return &attach_opts[i];
	return NULL;
}

/* Appends the items of "a,b,c" (or v alone for OPT_MULTI) to the array
 * member key of o; 0 or -ENOMEM. */
static int add_items(json_t *o, const char *key, const char *v, bool split)
{
	json_t *a = json_object_get(o, key);
	const char *p = v;

	if (a == NULL && (json_object_set_new(o, key, a = json_array()) < 0 || a == NULL))
		return -ENOMEM;
	while (*p != '\0') {
		size_t n = split ? strcspn(p, ",") : strlen(p);

		if (n > 0 && json_array_append_new(a, json_stringn(p, n)) < 0)
			return -ENOMEM;
		p += n;
		p += *p == ',';
	}
	return 0;
}

/* Lower-cases a modification kind ("Union" as az writes it); -EINVAL when
 * it is none of union, replace, none. */
static int kind_value(const char *v, char *buf, size_t len)
{
	size_t i;

	for (i = 0; v[i] != '\0' && i + 1 < len; i++)
		buf[i] = (char)tolower((unsigned char)v[i]);
	buf[i] = '\0';
	return strcmp(buf, "union") == 0 || strcmp(buf, "replace") == 0 || strcmp(buf, "none") == 0
	           ? 0
	           : -EINVAL;
}

/* Sets one option's member in o from value (NULL for flags); an exit code. */
static int attach_set(json_t *o, const struct attach_opt *opt, const char *value)
{
	char kind[16];
	int r = 0;

	switch (opt->kind) {
	case OPT_STRING:
		r = json_object_set_new(o, opt->key, json_string(value));
		break;
	case OPT_LIST:
	case OPT_MULTI:
		r = add_items(o, opt->key, value, opt->kind == OPT_LIST);
		break;
	case OPT_TRUE:
	case OPT_FALSE:
		r = json_object_set_new(o, opt->key, json_boolean(opt->kind == OPT_TRUE));
		break;
	case OPT_KIND:
		if (kind_value(value, kind, sizeof(kind)) < 0)
			return ctl_fail(CTL_USAGE, "--%s %s: expected union, replace or none",
			                opt->flag, value);
		r = json_object_set_new(o, opt->key, json_string(kind));
		break;
	}
	return r < 0 ? ctl_fail(CTL_DAEMON, "out of memory") : CTL_OK;
}

/* Parses "--flag value" / "--flag=value" options of argv into o; an exit
 * code. */
static int attach_parse(int argc, char **argv, json_t *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *value = NULL;
		const struct attach_opt *opt;
		size_t len;
		int r;

		if (strncmp(a, "--", 2) != 0)
			return ctl_fail(CTL_USAGE, "attach: unexpected argument '%s'", a);
		eq = strchr(a + 2, '=');
		len = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);
		if ((opt = attach_opt_of(a + 2, len)) == NULL)
			return ctl_fail(CTL_USAGE, "attach: unknown option '%s'", a);
		if (opt->kind != OPT_TRUE && opt->kind != OPT_FALSE) {
			value = eq != NULL ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
			if (value == NULL)
				return ctl_fail(CTL_USAGE, "attach: --%s needs a value", opt->flag);
		} else if (eq != NULL) {
			return ctl_fail(CTL_USAGE, "attach: --%s takes no value", opt->flag);
		}
		if ((r = attach_set(o, opt, value)) != CTL_OK)
			return r;
	}
	return CTL_OK;
}

/* ---- attach: list, show, create ---- */

/* The attachments' path, with /{name} when name is not NULL. */
static int attach_path(struct ctl *c, const char *name, char *buf, size_t len)
{
	char *e = name != NULL ? ctl_escape(c, name) : NULL;

	if (name != NULL && e == NULL)
		return ctl_fail(CTL_DAEMON, "out of memory");
	(void)snprintf(buf, len, "%s%s%s", ATTACH_PATH, e != NULL ? "/" : "", e != NULL ? e : "");
	free(e);
	return CTL_OK;
}

static const char *text_of(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);
	size_t i, n = 0;
	const json_t *x;

	if (!json_is_array(v))
		return ctl_member(o, key, buf, len);
	buf[0] = '\0';
	json_array_foreach(v, i, x)
	{
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%s%s", i ? "," : "",
		                      json_string_value(x) ? json_string_value(x) : "?");
		if (n >= len)
			break;
	}
	return buf[0] != '\0' ? buf : "-";
}

static int attach_list(struct ctl *c)
{
	static const char *const head[] = {"NAME", "LEADER", "DATABASE", "LOCAL", "SOURCE"};
	static const char *const keys[] = {"name", "leader", "database", "local_name", "source"};
	struct ctl_table *t = NULL;
	char cells[5][1024];
	const char *row[5];
	json_t *j = NULL, *a;
	size_t i;
	int r = ctl_request(c, "GET", ATTACH_PATH, &j);

	if (r != CTL_OK || c->json) {
		r = r == CTL_OK ? ctl_print_json(j) : r;
		goto out;
	}
	if ((t = ctl_table_new(5, head)) == NULL) {
		r = ctl_fail(CTL_DAEMON, "out of memory");
		goto out;
	}
	json_array_foreach(json_object_get(j, "attachments"), i, a)
	{
		for (size_t k = 0; k < 5; k++)
			row[k] = text_of(a, keys[k], cells[k], sizeof(cells[k]));
		if (ctl_table_add(t, row) < 0) {
			r = ctl_fail(CTL_DAEMON, "out of memory");
			goto out;
		}
	}
	ctl_table_print(t);
out:
	ctl_table_free(t);
	json_decref(j);
	return r;
}

/* Prints an attachment as "key  value" lines. */
static void attach_print(const json_t *a)
{
	char buf[4096];
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)a, key, v)
	{
		printf("%-36s %s\n", key, text_of(a, key, buf, sizeof(buf)));
	}
}

/* Shows the attachment name: the list's entry (the API lists them all). */
static int attach_show(struct ctl *c, const char *name)
{
	json_t *j = NULL, *a, *found = NULL;
	size_t i;
	int r = ctl_request(c, "GET", ATTACH_PATH, &j);

	if (r != CTL_OK)
		return r;
	json_array_foreach(json_object_get(j, "attachments"), i, a)
	{
		const char *n = json_string_value(json_object_get(a, "name"));

		if (found == NULL && n != NULL && strcmp(n, name) == 0)
			found = a;
	}
	if (found == NULL)
		r = ctl_fail(CTL_DAEMON, "no attached database configuration '%s'", name);
	else if (c->json)
		r = ctl_print_json(found);
	else
		attach_print(found);
	json_decref(j);
	return r;
}

static int attach_create(struct ctl *c, const char *name, int argc, char **argv)
{
	json_t *o = json_pack("{s:s}", "name", name), *j = NULL;
	char path[2048];
	int r;

	if (o == NULL)
		return ctl_fail(CTL_DAEMON, "out of memory");
	if ((r = attach_parse(argc, argv, o)) != CTL_OK)
		goto out;
	if (json_object_get(o, "leader") == NULL || json_object_get(o, "database") == NULL) {
		r = ctl_fail(CTL_USAGE, "attach %s: --leader and --database are required", name);
		goto out;
	}
	if ((r = attach_path(c, name, path, sizeof(path))) != CTL_OK ||
	    (r = ctl_request_json(c, "PUT", path, o, &j)) != CTL_OK)
		goto out;
	if (c->json)
		r = ctl_print_json(j);
	else
		attach_print(json_object_get(j, "attachment"));
out:
	json_decref(j);
	json_decref(o);
	return r;
}

static int detach_one(struct ctl *c, const char *name)
{
	char path[2048];
	json_t *j = NULL;
	int r;

	if ((r = attach_path(c, name, path, sizeof(path))) != CTL_OK ||
	    (r = ctl_request(c, "DELETE", path, &j)) != CTL_OK)
		return r;
	if (c->json)
		r = ctl_print_json(j);
	else
		printf("detached %s\n", name);
	json_decref(j);
	return r;
}

int cmd_attach(struct ctl *c, int argc, char **argv)
{
	const char *usage = "usage: attach list | attach show NAME | attach [create] NAME "
	                    "--leader URL --database DB [OPTIONS] | attach delete NAME";

	if (argc == 1 && strcmp(argv[0], "list") == 0)
		return attach_list(c);
	if (argc == 2 && strcmp(argv[0], "show") == 0)
		return attach_show(c, argv[1]);
	if (argc == 2 && strcmp(argv[0], "delete") == 0)
		return detach_one(c, argv[1]);
	if (argc >= 2 && strcmp(argv[0], "create") == 0)
		return attach_create(c, argv[1], argc - 2, argv + 2);
	if (argc >= 1 && strncmp(argv[0], "--", 2) != 0 && strcmp(argv[0], "list") != 0 &&
	    strcmp(argv[0], "show") != 0 && strcmp(argv[0], "delete") != 0)
		return attach_create(c, argv[0], argc - 1, argv + 1);
	return ctl_fail(CTL_USAGE, "%s", usage);
}

int cmd_detach(struct ctl *c, int argc, char **argv)
{
	if (argc != 1)
		return ctl_fail(CTL_USAGE, "usage: detach NAME");
	return detach_one(c, argv[0]);
}

/* ---- alter: Kusto control commands ---- */

/* A Kusto name: as it is when it is an identifier, else ['...'] */
static void kusto_name(const char *s, char *buf, size_t len)
{
	bool plain = isalpha((unsigned char)s[0]) || s[0] == '_';

	for (const char *p = s; plain && *p != '\0'; p++)
		plain = isalnum((unsigned char)*p) || *p == '_';
	if (plain) {
		(void)snprintf(buf, len, "%s", s);
		return;
	}
	(void)snprintf(buf, len, "['");
	for (size_t n = 2; *s != '\0' && n + 4 < len; s++) {
		if (*s == '\'' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
		buf[n] = '\0';
	}
	(void)snprintf(buf + strlen(buf), len - strlen(buf), "']");
}

/* A Kusto string literal '...' with \ escapes. */
static void kusto_string(const char *s, char *buf, size_t len)
{
	size_t n = 0;

	buf[n++] = '\'';
	for (; *s != '\0' && n + 3 < len; s++) {
		if (*s == '\'' || *s == '\\')
			buf[n++] = '\\';
		buf[n++] = *s;
	}
	buf[n++] = '\'';
	buf[n] = '\0';
}

static bool is_role(const char *s)
{
	static const char *const roles[] = {"admins", "users", "viewers", "unrestrictedviewers",
	                                    "monitors"};

	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(s, roles[i]) == 0)
			return true;
	return false;
}

/* "add|drop ROLE PRINCIPAL... [--notes TEXT]" into csl; an exit code. */
static int alter_principals(const char *db, int argc, char **argv, char *csl, size_t len)
{
	char lit[1024];
	size_t n;
	int i;

	if (argc < 3 || !is_role(argv[1]))
		return ctl_fail(CTL_USAGE,
		                "alter DB %s ROLE PRINCIPAL... (ROLE: admins, users, "
		                "viewers, unrestrictedviewers, monitors)",
		                argv[0]);
	n = (size_t)snprintf(csl, len, ".%s follower database %s %s (", argv[0], db, argv[1]);
	for (i = 2; i < argc && strcmp(argv[i], "--notes") != 0; i++) {
		kusto_string(argv[i], lit, sizeof(lit));
		n += (size_t)snprintf(csl + n, n < len ? len - n : 0, "%s%s", i > 2 ? ", " : "",
		                      lit);
	}
	n += (size_t)snprintf(csl + n, n < len ? len - n : 0, ")");
	if (i < argc && strcmp(argv[0], "add") == 0 && i + 2 == argc) {
		kusto_string(argv[i + 1], lit, sizeof(lit));
		n += (size_t)snprintf(csl + n, n < len ? len - n : 0, " %s", lit);
	} else if (i < argc) {
		return ctl_fail(CTL_USAGE, "--notes TEXT: once, last, with add only");
	}
	return n < len ? CTL_OK : ctl_fail(CTL_USAGE, "the command is too long");
}

/* "caching --hot SPAN | --delete [--table T]" into csl; an exit code. */
static int alter_caching(const char *db, int argc, char **argv, char *csl, size_t len)
{
	const char *hot = NULL, *table = NULL;
	bool del = false;
	char tname[512] = "";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--delete") == 0)
			del = true;
		else if (strcmp(argv[i], "--hot") == 0 && i + 1 < argc)
			hot = argv[++i];
		else if (strcmp(argv[i], "--table") == 0 && i + 1 < argc)
			table = argv[++i];
		else
			return ctl_fail(CTL_USAGE, "alter DB caching (--hot SPAN | --delete) "
			                           "[--table TABLE]");
	}
	if (del == (hot != NULL))
		return ctl_fail(CTL_USAGE, "alter DB caching: either --hot SPAN or --delete");
	if (table != NULL) {
		kusto_name(table, tname + 7, sizeof(tname) - 7);
		memcpy(tname, " table ", 7);
	}
	if (del)
		(void)snprintf(csl, len, ".delete follower database %s%s policy caching", db,
		               tname);
	else
		(void)snprintf(csl, len, ".alter follower database %s%s policy caching hot = %s",
		               db, tname, hot);
	return CTL_OK;
}

/* "KIND-NAME VALUE" settings into csl; an exit code. */
static int alter_setting(const char *db, int argc, char **argv, char *csl, size_t len)
{
	char kind[16];
	bool pm = strcmp(argv[0], "principals-modification-kind") == 0;
	bool cm = strcmp(argv[0], "caching-policies-modification-kind") == 0;

	if (argc != 2)
		return ctl_fail(CTL_USAGE, "alter DB %s VALUE", argv[0]);
	if (pm || cm) {
		if (kind_value(argv[1], kind, sizeof(kind)) < 0)
			return ctl_fail(CTL_USAGE, "%s: expected union, replace or none", argv[0]);
		(void)snprintf(csl, len, ".alter follower database %s %s = %s", db, argv[0], kind);
		return CTL_OK;
	}
	if (strcmp(argv[1], "true") != 0 && strcmp(argv[1], "false") != 0)
		return ctl_fail(CTL_USAGE, "alter DB prefetch true|false");
	(void)snprintf(csl, len, ".alter follower database %s prefetch-extents = %s", db, argv[1]);
	return CTL_OK;
}

/* The command of "alter DB WHAT ..." into csl; an exit code. */
static int alter_csl(int argc, char **argv, char *csl, size_t len)
{
	char db[512];
	const char *what = argv[1];

	kusto_name(argv[0], db, sizeof(db));
	if (strcmp(what, "caching") == 0)
		return alter_caching(db, argc - 1, argv + 1, csl, len);
	if (strcmp(what, "add") == 0 || strcmp(what, "drop") == 0)
		return alter_principals(db, argc - 1, argv + 1, csl, len);
	if (strcmp(what, "principals-modification-kind") == 0 ||
	    strcmp(what, "caching-policies-modification-kind") == 0 ||
	    strcmp(what, "prefetch") == 0)
		return alter_setting(db, argc - 1, argv + 1, csl, len);
	return ctl_fail(CTL_USAGE, "alter DB: caching, add, drop, principals-modification-kind, "
	                           "caching-policies-modification-kind or prefetch");
}

int cmd_alter(struct ctl *c, int argc, char **argv)
{
	bool dry = argc > 0 && strcmp(argv[argc - 1], "--dry-run") == 0;
	char csl[CSL_MAX];
	json_t *body = NULL, *j = NULL;
	int r;

	argc -= dry;
	if (argc < 2)
		return ctl_fail(CTL_USAGE,
		                "usage: alter DB (caching|add|drop|"
		                "principals-modification-kind|"
		                "caching-policies-modification-kind|prefetch) ... [--dry-run]");
	if ((r = alter_csl(argc, argv, csl, sizeof(csl))) != CTL_OK)
		return r;
	if ((body = json_pack("{s:s, s:s}", "db", argv[0], "csl", csl)) == NULL)
		return ctl_fail(CTL_DAEMON, "out of memory");
	if (dry) {
		/* the request's body with --json, the command alone otherwise */
		if (c->json)
			r = ctl_print_json(body);
		else
			printf("%s\n", csl);
		json_decref(body);
		return r;
	}
	if ((r = ctl_request_json(c, "POST", "/v1/rest/mgmt", body, &j)) == CTL_OK) {
		if (c->json)
			r = ctl_print_json(j);
		else
			printf("%s: done\n", csl);
	}
	json_decref(j);
	json_decref(body);
	return r;
}

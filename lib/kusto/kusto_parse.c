/*
 * kusto_parse — a recursive-descent parser for exactly the management
 * commands followerd answers (the grammar is in kusto.h), over the tokens of
 * kusto_lex.c.  Each grammar rule is one function; each failure names what
 * was expected, what was found and where.
 *
 * Commands that would change the data Kusto-side (.ingest, .create, .set,
 * .alter table, ...) are recognized by their verb and refused as a whole:
 * a follower database is read-only except for its own settings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kusto/kusto_int.h"
#include "util/timefmt.h"

#define TICKS_PER_DAY (86400 * TIMEFMT_TICKS_PER_SEC)

struct parser {
	const char *src;
	const struct kusto_tok *t; /* the current token */
	struct kusto_cmd *cmd;
	struct kusto_error *err;
};

/* ---- tokens ---- */

static void advance(struct parser *p)
{
	if (p->t->kind != KT_END)
		p->t++;
}

static bool at_word(const struct parser *p, const char *w)
{
	return p->t->kind == KT_WORD && strcmp(p->t->text, w) == 0;
}

/* "'<the token as written>'" or "the end of the command", for messages. */
static const char *found(const struct parser *p, char *buf, size_t len)
{
	if (p->t->kind == KT_END)
		return "the end of the command";
	int n = p->t->len > 40 ? 40 : (int)p->t->len;
	(void)snprintf(buf, len, "'%.*s%s'", n, p->src + p->t->pos, p->t->len > 40 ? "..." : "");
	return buf;
}

/* "expected WHAT, found X" at the current token; returns -EINVAL. */
static int expected(struct parser *p, const char *what)
{
	char buf[64];

	return kusto_syntax(p->err, p->src, p->t->pos, "expected %s, found %s", what,
	                    found(p, buf, sizeof(buf)));
}

static int expect_word(struct parser *p, const char *w)
{
	char what[64];

	if (at_word(p, w)) {
		advance(p);
		return 0;
	}
	(void)snprintf(what, sizeof(what), "'%s'", w);
	return expected(p, what);
}

static int expect_kind(struct parser *p, enum kusto_tok_kind kind, const char *what)
{
	if (p->t->kind != kind)
		return expected(p, what);
	advance(p);
	return 0;
}

static int expect_end(struct parser *p)
{
	return expect_kind(p, KT_END, "the end of the command");
}

static int nomem(struct parser *p)
{
	return kusto_fail(p->err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
}

/* ---- values ---- */

/* A database, table or view name: a word or a bracketed name. */
static int parse_name(struct parser *p, char **ret)
{
	const struct kusto_tok *t = p->t;

	if (t->kind != KT_WORD && t->kind != KT_NAME)
		return expected(p, "a name");
	if (!proto_valid_name(t->text))
		return kusto_syntax(p->err, p->src, t->pos,
		                    "invalid name (1-%d of A-Z a-z 0-9 _ - . space, no leading or "
		                    "trailing space)",
		                    PROTO_MAX_NAME);
	*ret = strdup(t->text);
	if (*ret == NULL)
		return nomem(p);
	advance(p);
	return 0;
}

/* A principal or notes string: at most PROTO_MAX_TEXT bytes, no control
 * characters; principals are not empty. */
static int parse_text(struct parser *p, bool nonempty, char **ret)
{
	const struct kusto_tok *t = p->t;
	size_t n;

	if (t->kind != KT_STRING)
		return expected(p, "a string literal");
	n = strlen(t->text);
	if ((nonempty && n == 0) || n > PROTO_MAX_TEXT)
		return kusto_syntax(p->err, p->src, t->pos, "a string of 1-%d bytes is expected",
		                    PROTO_MAX_TEXT);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t->text[i] < 0x20)
			return kusto_syntax(p->err, p->src, t->pos,
			                    "control character in a string");
	*ret = strdup(t->text);
	if (*ret == NULL)
		return nomem(p);
	advance(p);
	return 0;
}

typedef int item_fn(struct parser *p, char **ret);

static int parse_principal(struct parser *p, char **ret)
{
	return parse_text(p, true, ret);
}

/* "(" item {"," item} ")" with at most KUSTO_MAX_ITEMS items into a new
 * array (*ret, *ret_n; freed by kusto_cmd_clear also on failure). */
static int parse_list(struct parser *p, item_fn *item, char ***ret, size_t *ret_n)
{
	int r = expect_kind(p, KT_LPAREN, "'('");

	while (r == 0) {
		if (*ret_n == KUSTO_MAX_ITEMS)
			return kusto_syntax(p->err, p->src, p->t->pos,
			                    "more than %d items in a list", KUSTO_MAX_ITEMS);
		char **v = realloc(*ret, (*ret_n + 1) * sizeof(**ret));
		if (v == NULL)
			return nomem(p);
		*ret = v;
		r = item(p, &v[*ret_n]);
		if (r < 0)
			return r;
		(*ret_n)++;
		if (p->t->kind != KT_COMMA)
			return expect_kind(p, KT_RPAREN, "',' or ')'");
		advance(p);
	}
	return r;
}

struct unit {
	const char *name;
	int64_t ticks;
};

/* Kusto's timespan units (learn.microsoft.com, kusto/query/scalar-data-types/timespan). */
static int64_t unit_ticks(const char *u)
{
	static const struct unit units[] = {
	    {"d", TICKS_PER_DAY},
	    {"day", TICKS_PER_DAY},
	    {"days", TICKS_PER_DAY},
	    {"h", 3600 * TIMEFMT_TICKS_PER_SEC},
	    {"hr", 3600 * TIMEFMT_TICKS_PER_SEC},
	    {"hrs", 3600 * TIMEFMT_TICKS_PER_SEC},
	    {"hour", 3600 * TIMEFMT_TICKS_PER_SEC},
	    {"hours", 3600 * TIMEFMT_TICKS_PER_SEC},
	    {"m", 60 * TIMEFMT_TICKS_PER_SEC},
	    {"min", 60 * TIMEFMT_TICKS_PER_SEC},
	    {"minute", 60 * TIMEFMT_TICKS_PER_SEC},
	    {"minutes", 60 * TIMEFMT_TICKS_PER_SEC},
	    {"s", TIMEFMT_TICKS_PER_SEC},
	    {"sec", TIMEFMT_TICKS_PER_SEC},
	    {"second", TIMEFMT_TICKS_PER_SEC},
	    {"seconds", TIMEFMT_TICKS_PER_SEC},
	    {"ms", TIMEFMT_TICKS_PER_SEC / 1000},
	    {"milli", TIMEFMT_TICKS_PER_SEC / 1000},
	    {"millis", TIMEFMT_TICKS_PER_SEC / 1000},
	    {"millisecond", TIMEFMT_TICKS_PER_SEC / 1000},
	    {"milliseconds", TIMEFMT_TICKS_PER_SEC / 1000},
	    {"microsecond", 10},
	    {"microseconds", 10},
	    {"tick", 1},
	    {"ticks", 1},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(u, units[i].name) == 0)
			return units[i].ticks;
	return 0;
}

/* "[-]N[.F]unit" exactly: a fraction of up to 7 digits that must come out
 * as whole ticks.  0 or -EINVAL. */
static int number_ticks(const char *s, int64_t *ret)
{
	bool neg = *s == '-';
	int64_t whole = 0, frac = 0, scale = 1, unit, v;

	s += neg;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++)
		if (__builtin_mul_overflow(whole, 10, &whole) ||
		    __builtin_add_overflow(whole, *s - '0', &whole))
			return -EINVAL;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++, scale *= 10) {
			if (scale == 10000000)
				return -EINVAL;
			frac = frac * 10 + (*s - '0');
		}
	unit = unit_ticks(s);
	/* frac < 1e7 and unit <= 8.64e11: the product fits. */
	if (unit == 0 || frac * unit % scale != 0 || __builtin_mul_overflow(whole, unit, &v) ||
	    __builtin_add_overflow(v, frac * unit / scale, &v))
		return -EINVAL;
	*ret = neg ? -v : v;
	return 0;
}

/* A timespan: 7d / 1.5h / ... or time(...) / timespan(...) holding one of
 * those or [-][d.]hh:mm:ss[.f]. */
static int parse_timespan(struct parser *p, int64_t *ret)
{
	const struct kusto_tok *t = p->t;
	int r;

	if (t->kind == KT_NUMBER)
		r = number_ticks(t->text, ret);
	else if (t->kind == KT_TIMESPAN)
		r = strchr(t->text, ':') != NULL ? timefmt_parse_timespan(t->text, ret)
		                                 : number_ticks(t->text, ret);
	else
		return expected(p, "a timespan (7d, 12h, 30m, time(1.00:00:00))");
	if (r < 0)
		return kusto_syntax(p->err, p->src, t->pos,
		                    "invalid timespan (7d, 1.5h, 30m, 10s, 100ms, or d.hh:mm:ss in "
		                    "time(...))");
	advance(p);
	return 0;
}

/* "YYYY-MM-DD[( |T)hh:mm[:ss[.f{1,7}]]][Z]" into the canonical form
 * timefmt_parse_datetime checks; 0 or -EINVAL. */
static int datetime_ticks(const char *s, int64_t *ret)
{
	char buf[TIMEFMT_DATETIME_LEN + 8];
	const char *clock = "00:00:00";
	size_t n = strlen(s), clen = 8;

	if (n < 10)
		return -EINVAL;
	if (n > 10) {
		if (s[10] != ' ' && s[10] != 'T')
			return -EINVAL;
		clock = s + 11;
		clen = n - 11 - (s[n - 1] == 'Z');
	}
	n = (size_t)snprintf(buf, sizeof(buf), "%.10sT%.*s%sZ", s, (int)clen, clock,
	                     clen == 5 ? ":00" : "");
	if (n >= sizeof(buf))
		return -EINVAL;
	return timefmt_parse_datetime(buf, ret);
}

static int parse_datetime(struct parser *p, int64_t *ret)
{
	const struct kusto_tok *t = p->t;

	if (t->kind != KT_DATETIME)
		return expected(p, "datetime(...)");
	if (datetime_ticks(t->text, ret) < 0)
		return kusto_syntax(p->err, p->src, t->pos,
		                    "invalid datetime (YYYY-MM-DD[ hh:mm[:ss[.fffffff]]], UTC)");
	advance(p);
	return 0;
}

/* A word in any case among names (NULL-terminated); its index. */
static int parse_choice(struct parser *p, const char *const *names, const char *what, int *ret)
{
	if (p->t->kind == KT_WORD)
		for (int i = 0; names[i] != NULL; i++)
			if (strcasecmp(p->t->text, names[i]) == 0) {
				*ret = i;
				advance(p);
				return 0;
			}
	return expected(p, what);
}

/* ---- .show ---- */

/* After ".show database X" / ".show table T": the part both share. */
static int parse_show_tail(struct parser *p, enum kusto_cmd_kind schema,
                           enum kusto_cmd_kind extents, enum kusto_cmd_kind caching,
                           bool principals)
{
	int r;

	if (at_word(p, "schema")) {
		advance(p);
		p->cmd->kind = schema;
		if ((r = expect_word(p, "as")) < 0 || (r = expect_word(p, "json")) < 0)
			return r;
	} else if (at_word(p, "extents")) {
		advance(p);
		p->cmd->kind = extents;
	} else if (at_word(p, "policy")) {
		advance(p);
		p->cmd->kind = caching;
		if ((r = expect_word(p, "caching")) < 0)
			return r;
	} else if (principals && at_word(p, "principals")) {
		advance(p);
		p->cmd->kind = KUSTO_SHOW_DATABASE_PRINCIPALS;
	} else {
		return expected(p, principals ? "'schema', 'extents', 'policy' or 'principals'"
		                              : "'schema', 'extents' or 'policy'");
	}
	return expect_end(p);
}

static int parse_show_follower(struct parser *p)
{
	int r;

	p->cmd->kind = KUSTO_SHOW_FOLLOWER;
	if (at_word(p, "database")) {
		advance(p);
		p->cmd->names = calloc(1, sizeof(char *));
		if (p->cmd->names == NULL)
			return nomem(p);
		if ((r = parse_name(p, &p->cmd->names[0])) < 0)
			return r;
		p->cmd->nnames = 1;
	} else if (at_word(p, "databases")) {
		advance(p);
		if (p->t->kind == KT_LPAREN &&
		    (r = parse_list(p, parse_name, &p->cmd->names, &p->cmd->nnames)) < 0)
			return r;
	} else {
		return expected(p, "'database' or 'databases'");
	}
	return expect_end(p);
}

/* After ".show [running]": "queries" [by user 'U'] (by user: running only,
 * as ADX has it). */
static int parse_show_queries(struct parser *p, bool running)
{
	int r;

	p->cmd->kind = KUSTO_SHOW_QUERIES;
	p->cmd->running = running;
	if ((r = expect_word(p, "queries")) < 0)
		return r;
	if (running && at_word(p, "by")) {
		advance(p);
		if ((r = expect_word(p, "user")) < 0 ||
		    (r = parse_text(p, true, &p->cmd->user)) < 0)
			return r;
	}
	return expect_end(p);
}

static int parse_show(struct parser *p)
{
	struct kusto_cmd *c = p->cmd;
	int r;

	if (at_word(p, "queries") || at_word(p, "running")) {
		bool running = at_word(p, "running");
		if (running)
			advance(p);
		return parse_show_queries(p, running);
	}

	if (at_word(p, "databases") || at_word(p, "tables")) {
		c->kind = at_word(p, "tables") ? KUSTO_SHOW_TABLES : KUSTO_SHOW_DATABASES;
		advance(p);
		return expect_end(p);
	}
	if (at_word(p, "database")) {
		advance(p);
		if ((r = parse_name(p, &c->database)) < 0)
			return r;
		return parse_show_tail(p, KUSTO_SHOW_DATABASE_SCHEMA, KUSTO_SHOW_DATABASE_EXTENTS,
		                       KUSTO_SHOW_DATABASE_CACHING, true);
	}
	if (at_word(p, "table")) {
		advance(p);
		if ((r = parse_name(p, &c->table)) < 0)
			return r;
		return parse_show_tail(p, KUSTO_SHOW_TABLE_SCHEMA, KUSTO_SHOW_TABLE_EXTENTS,
		                       KUSTO_SHOW_TABLE_CACHING, false);
	}
	if (at_word(p, "follower")) {
		advance(p);
		return parse_show_follower(p);
	}
	if (at_word(p, "version") || at_word(p, "functions")) {
		c->kind = at_word(p, "version") ? KUSTO_SHOW_VERSION : KUSTO_SHOW_FUNCTIONS;
		advance(p);
		return expect_end(p);
	}
	return expected(p, "'databases', 'database', 'tables', 'table', 'functions', 'version', "
	                   "'follower', 'queries' or 'running'");
}

/* After ".cancel": query 'ID' [with (reason = 'R')]. */
static int parse_cancel(struct parser *p)
{
	struct kusto_cmd *c = p->cmd;
	int r;

	c->kind = KUSTO_CANCEL_QUERY;
	if ((r = expect_word(p, "query")) < 0 || (r = parse_text(p, true, &c->query_id)) < 0)
		return r;
	if (at_word(p, "with")) {
		advance(p);
		if ((r = expect_kind(p, KT_LPAREN, "'('")) < 0 ||
		    (r = expect_word(p, "reason")) < 0 || (r = expect_kind(p, KT_EQ, "'='")) < 0 ||
		    (r = parse_text(p, false, &c->reason)) < 0 ||
		    (r = expect_kind(p, KT_RPAREN, "')'")) < 0)
			return r;
	} else if ((c->reason = strdup("")) == NULL) {
		return nomem(p);
	}
	return expect_end(p);
}

/* ---- the follower's control commands ---- */

/* "hot_window = datetime(..) .. datetime(..)", appended to the windows. */
static int parse_window(struct parser *p, struct proto_caching *c)
{
	const struct kusto_tok *at = p->t;
	struct proto_window w;
	int r;

	if (c->nwindows == PROTO_MAX_WINDOWS)
		return kusto_syntax(p->err, p->src, at->pos, "more than %d hot windows",
		                    PROTO_MAX_WINDOWS);
	if ((r = expect_word(p, "hot_window")) < 0 || (r = expect_kind(p, KT_EQ, "'='")) < 0)
		return r;
	at = p->t;
	if ((r = parse_datetime(p, &w.min)) < 0 || (r = expect_kind(p, KT_DOTDOT, "'..'")) < 0 ||
	    (r = parse_datetime(p, &w.max)) < 0)
		return r;
	if (w.min > w.max)
		return kusto_syntax(p->err, p->src, at->pos,
		                    "a hot window must not end before it starts");
	struct proto_window *v = realloc(c->windows, (c->nwindows + 1) * sizeof(*v));
	if (v == NULL)
		return nomem(p);
	c->windows = v;
	v[c->nwindows++] = w;
	return 0;
}

/* "hot = SPAN {, hot_window = ...}"; windows only for a database. */
static int parse_caching(struct parser *p, bool windows)
{
	struct proto_caching *c = &p->cmd->caching;
	const struct kusto_tok *at;
	int r;

	if ((r = expect_word(p, "hot")) < 0 || (r = expect_kind(p, KT_EQ, "'='")) < 0)
		return r;
	at = p->t;
	if ((r = parse_timespan(p, &c->hot_span)) < 0)
		return r;
	if (c->hot_span < 0)
		return kusto_syntax(p->err, p->src, at->pos, "the hot span cannot be negative");
	while (p->t->kind == KT_COMMA) {
		advance(p);
		if (!windows)
			return kusto_syntax(p->err, p->src, p->t->pos,
			                    "a table or view override is a hot span only (no "
			                    "hot_window): expected the end of the command");
		if ((r = parse_window(p, c)) < 0)
			return r;
	}
	return expect_end(p);
}

/* "table T | tables (...) | materialized-view V | materialized-views (...)",
 * or false when none of these comes next. */
static bool at_entity(const struct parser *p)
{
	return at_word(p, "table") || at_word(p, "tables") || at_word(p, "materialized-view") ||
	       at_word(p, "materialized-views");
}

static int parse_entities(struct parser *p)
{
	struct kusto_cmd *c = p->cmd;
	bool many = at_word(p, "tables") || at_word(p, "materialized-views");
	int r;

	c->entity = strncmp(p->t->text, "table", 5) == 0 ? PROTO_TABLE : PROTO_MATERIALIZED_VIEW;
	advance(p);
	if (many)
		r = parse_list(p, parse_name, &c->names, &c->nnames);
	else if ((c->names = calloc(1, sizeof(char *))) == NULL)
		r = nomem(p);
	else if ((r = parse_name(p, &c->names[0])) == 0)
		c->nnames = 1;
	if (r < 0)
		return r;
	if ((r = expect_word(p, "policy")) < 0)
		return r;
	return expect_word(p, "caching");
}

static int parse_modkind(struct parser *p)
{
	static const char *const kinds[] = {"none", "union", "replace", NULL};
	int r, v = 0;

	/* conf_modkind's values are the indexes of kinds. */
	if ((r = expect_kind(p, KT_EQ, "'='")) < 0 ||
	    (r = parse_choice(p, kinds, "'none', 'union' or 'replace'", &v)) < 0)
		return r;
	p->cmd->modkind = (enum conf_modkind)v;
	return expect_end(p);
}

static int parse_prefetch(struct parser *p)
{
	static const char *const values[] = {"false", "true", NULL};
	int r, v = 0;

	if ((r = expect_kind(p, KT_EQ, "'='")) < 0 ||
	    (r = parse_choice(p, values, "'true' or 'false'", &v)) < 0)
		return r;
	p->cmd->prefetch = v == 1;
	return expect_end(p);
}

/* After ".alter follower database X". */
static int parse_alter_follower(struct parser *p)
{
	struct kusto_cmd *c = p->cmd;
	int r;

	if (at_word(p, "policy")) {
		advance(p);
		c->kind = KUSTO_ALTER_FOLLOWER_CACHING;
		return (r = expect_word(p, "caching")) < 0 ? r : parse_caching(p, true);
	}
	if (at_entity(p)) {
		c->kind = KUSTO_ALTER_FOLLOWER_TABLE_CACHING;
		return (r = parse_entities(p)) < 0 ? r : parse_caching(p, false);
	}
	if (at_word(p, "principals-modification-kind")) {
		advance(p);
		c->kind = KUSTO_ALTER_FOLLOWER_PRINCIPALS_KIND;
		return parse_modkind(p);
	}
	if (at_word(p, "caching-policies-modification-kind")) {
		advance(p);
		c->kind = KUSTO_ALTER_FOLLOWER_CACHING_KIND;
		return parse_modkind(p);
	}
	if (at_word(p, "prefetch-extents")) {
		advance(p);
		c->kind = KUSTO_ALTER_FOLLOWER_PREFETCH;
		return parse_prefetch(p);
	}
	return expected(p, "'policy', 'table', 'tables', 'materialized-view', "
	                   "'materialized-views', 'principals-modification-kind', "
	                   "'caching-policies-modification-kind' or 'prefetch-extents'");
}

/* After ".delete follower database X". */
static int parse_delete_follower(struct parser *p)
{
	int r;

	if (at_entity(p)) {
		p->cmd->kind = KUSTO_DELETE_FOLLOWER_TABLE_CACHING;
		return (r = parse_entities(p)) < 0 ? r : expect_end(p);
	}
	p->cmd->kind = KUSTO_DELETE_FOLLOWER_CACHING;
	if ((r = expect_word(p, "policy")) < 0 || (r = expect_word(p, "caching")) < 0)
		return r;
	return expect_end(p);
}

/* After ".add/.drop follower database X": ROLE (principals) ['notes']. */
static int parse_principals(struct parser *p, bool add)
{
	static const char *const roles[] = {"admins", "users", "viewers", "monitors", NULL};
	struct kusto_cmd *c = p->cmd;
	int r, role = 0;

	/* proto_role's values are the indexes of roles. */
	c->kind = add ? KUSTO_ADD_FOLLOWER_PRINCIPALS : KUSTO_DROP_FOLLOWER_PRINCIPALS;
	if ((r = parse_choice(p, roles, "'admins', 'users', 'viewers' or 'monitors'", &role)) < 0)
		return r;
	c->role = (enum proto_role)role;
	if ((r = parse_list(p, parse_principal, &c->principals, &c->nprincipals)) < 0)
		return r;
	if (add && p->t->kind == KT_STRING)
		r = parse_text(p, false, &c->notes);
	else
		r = (c->notes = strdup("")) == NULL ? nomem(p) : 0;
	return r < 0 ? r : expect_end(p);
}

/* ---- commands ---- */

/* Verbs of commands that change a database (Kusto's management commands),
 * refused whole on a follower. */
static bool is_write_verb(const char *v)
{
	static const char verbs[] =
	    " .ingest .set .append .set-or-append .set-or-replace .create .create-or-alter"
	    " .create-merge .alter .alter-merge .drop .drop-pretend .delete .add .rename .move"
	    " .replace .purge .purge-cleanup .clear .attach .detach .merge .undo .enable .disable"
	    " .execute .update .seal .dup-next-ingest .dup-next-failed-ingest ";
	char word[40];

	if ((size_t)snprintf(word, sizeof(word), " %s ", v) >= sizeof(word))
		return false;
	return strstr(verbs, word) != NULL;
}

/* The read-only refusal of the command whose verb (and next word, when
 * there is one) spans csl[pos, pos + n). */
static int read_only(struct kusto_error *err, const char *csl, size_t pos, size_t n)
{
	int r = kusto_fail(err, KUSTO_E_READ_ONLY, -EINVAL,
	                   "Cannot execute '%.*s': the database is a read-only follower "
	                   "database; its data, tables and policies follow the leader. Only the "
	                   "follower commands (.alter/.delete follower database ... policy "
	                   "caching, .add/.drop follower database ... principals, .alter follower "
	                   "database ... *-modification-kind / prefetch-extents) change a follower",
	                   n > 60 ? 60 : (int)n, csl + pos);

	err->offset = pos;
	return r;
}

/* The offset of the first byte at or after i that is neither whitespace
 * nor in a // comment. */
static size_t skip_blanks(const char *csl, size_t len, size_t i)
{
	for (;;) {
		while (i < len &&
		       (csl[i] == ' ' || csl[i] == '\t' || csl[i] == '\r' || csl[i] == '\n'))
			i++;
		if (i + 1 >= len || csl[i] != '/' || csl[i + 1] != '/')
			return i;
		while (i < len && csl[i] != '\n')
			i++;
	}
}

static bool word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* A write is refused by its verb alone, before the rest is tokenized: its
 * arguments may use syntax this parser does not know (".set T <| query").
 * True (and err filled) when csl[i...] is ".verb" of a write and the next
 * word is not "follower". */
static bool refuse_write(const char *csl, size_t len, size_t i, struct kusto_error *err)
{
	size_t v = i, w, e;
	char verb[32];

	for (i++; i < len && word_char(csl[i]); i++)
		;
	if (i - v >= sizeof(verb))
		return false;
	memcpy(verb, csl + v, i - v);
	verb[i - v] = '\0';
	if (!is_write_verb(verb))
		return false;
	w = skip_blanks(csl, len, i);
	for (e = w; e < len && word_char(csl[e]); e++)
		;
	if (e - w == 8 && memcmp(csl + w, "follower", 8) == 0)
		return false;
	(void)read_only(err, csl, v, e > w ? e - v : i - v);
	return true;
}

/* ".alter/.delete/.add/.drop follower database X ..." */
static int parse_follower(struct parser *p, const char *verb)
{
	int r;

	if ((r = expect_word(p, "follower")) < 0 || (r = expect_word(p, "database")) < 0 ||
	    (r = parse_name(p, &p->cmd->database)) < 0)
		return r;
	if (strcmp(verb, ".alter") == 0)
		return parse_alter_follower(p);
	if (strcmp(verb, ".delete") == 0)
		return parse_delete_follower(p);
	return parse_principals(p, strcmp(verb, ".add") == 0);
}

static int parse_command(struct parser *p)
{
	const struct kusto_tok *verb = p->t;

	if (verb->kind != KT_COMMAND)
		return expected(p, "a management command such as '.show databases' (queries go to "
		                   "/v1/rest/query)");
	advance(p);
	if (strcmp(verb->text, ".show") == 0)
		return parse_show(p);
	if (strcmp(verb->text, ".cancel") == 0)
		return parse_cancel(p);
	if ((strcmp(verb->text, ".alter") == 0 || strcmp(verb->text, ".delete") == 0 ||
	     strcmp(verb->text, ".add") == 0 || strcmp(verb->text, ".drop") == 0) &&
	    at_word(p, "follower"))
		return parse_follower(p, verb->text);
	return kusto_syntax(p->err, p->src, verb->pos, "unknown or unsupported command '%s'",
	                    verb->text);
}

int kusto_parse(const char *csl, size_t len, struct kusto_cmd *ret, struct kusto_error *err)
{
	struct kusto_lex lx = {0};
	struct kusto_cmd cmd = {0};
	int r;

	if (len > KUSTO_MAX_CSL)
		return kusto_fail(err, KUSTO_E_TOO_LARGE, -E2BIG,
		                  "the command is %zu bytes, more than the %zu allowed", len,
		                  KUSTO_MAX_CSL);
	/* A query sent here fails on its first character, not deep inside. */
	size_t i = skip_blanks(csl, len, 0);
	if (i < len && csl[i] != '.')
		return kusto_syntax(err, csl, i,
		                    "expected a management command such as '.show databases' "
		                    "(queries go to /v1/rest/query)");
	if (i < len && refuse_write(csl, len, i, err))
		return -EINVAL;
	r = kusto_lex(csl, len, &lx, err);
	if (r == 0) {
		struct parser p = {.src = csl, .t = lx.toks, .cmd = &cmd, .err = err};
		r = parse_command(&p);
	}
	kusto_lex_clear(&lx);
	if (r < 0) {
		kusto_cmd_clear(&cmd);
		return r;
	}
	*ret = cmd;
	return 0;
}

void kusto_cmd_clear(struct kusto_cmd *c)
{
	if (c == NULL)
		return;
	free(c->database);
	free(c->table);
	for (size_t i = 0; i < c->nnames; i++)
		free(c->names[i]);
	free(c->names);
	free(c->caching.windows);
	for (size_t i = 0; i < c->nprincipals; i++)
		free(c->principals[i]);
	free(c->principals);
	free(c->notes);
	free(c->user);
	free(c->query_id);
	free(c->reason);
	*c = (struct kusto_cmd){0};
}

bool kusto_cmd_is_write(const struct kusto_cmd *c)
{
	return c->kind >= KUSTO_ALTER_FOLLOWER_CACHING;
}

const char *kusto_cmd_name(enum kusto_cmd_kind k)
{
	static const char *const names[] = {
	    [KUSTO_SHOW_DATABASES] = ".show databases",
	    [KUSTO_SHOW_DATABASE_SCHEMA] = ".show database schema as json",
	    [KUSTO_SHOW_DATABASE_EXTENTS] = ".show database extents",
	    [KUSTO_SHOW_DATABASE_CACHING] = ".show database policy caching",
	    [KUSTO_SHOW_DATABASE_PRINCIPALS] = ".show database principals",
	    [KUSTO_SHOW_TABLES] = ".show tables",
	    [KUSTO_SHOW_TABLE_SCHEMA] = ".show table schema as json",
	    [KUSTO_SHOW_TABLE_EXTENTS] = ".show table extents",
	    [KUSTO_SHOW_TABLE_CACHING] = ".show table policy caching",
	    [KUSTO_SHOW_FOLLOWER] = ".show follower databases",
	    [KUSTO_SHOW_QUERIES] = ".show queries",
	    [KUSTO_CANCEL_QUERY] = ".cancel query",
	    [KUSTO_SHOW_VERSION] = ".show version",
	    [KUSTO_SHOW_FUNCTIONS] = ".show functions",
	    [KUSTO_ALTER_FOLLOWER_CACHING] = ".alter follower database policy caching",
	    [KUSTO_DELETE_FOLLOWER_CACHING] = ".delete follower database policy caching",
	    [KUSTO_ALTER_FOLLOWER_TABLE_CACHING] = ".alter follower database table policy caching",
	    [KUSTO_DELETE_FOLLOWER_TABLE_CACHING] =
	        ".delete follower database table policy caching",
	    [KUSTO_ADD_FOLLOWER_PRINCIPALS] = ".add follower database principals",
	    [KUSTO_DROP_FOLLOWER_PRINCIPALS] = ".drop follower database principals",
	    [KUSTO_ALTER_FOLLOWER_PRINCIPALS_KIND] =
	        ".alter follower database principals-modification-kind",
	    [KUSTO_ALTER_FOLLOWER_CACHING_KIND] =
	        ".alter follower database caching-policies-modification-kind",
	    [KUSTO_ALTER_FOLLOWER_PREFETCH] = ".alter follower database prefetch-extents",
	};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) && names[k] != NULL ? names[k] : "?";
}

/*
 * Unit tests for kusto: every command of the grammar parses (quoting,
 * spacing, comments, role-name case, lists), every write is refused as
 * read-only, garbage fails with the right offset, each .show answers the
 * documented columns in order with DataType and ColumnType, timespans come
 * out d.hh:mm:ss, the control commands change a fake backend's follower
 * settings, and errors have Kusto's body and status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kusto/kusto.h"
#include "util/timefmt.h"

#define SEC TIMEFMT_TICKS_PER_SEC
#define HOUR (3600 * SEC)
#define DAY (24 * HOUR)
#define N(a) (sizeof(a) / sizeof((a)[0]))

static int64_t dt(const char *s)
{
	int64_t t = 0;

	assert_int_equal(timefmt_parse_datetime(s, &t), 0);
	return t;
}

/* ---- parsing helpers ---- */

static struct kusto_cmd parse_ok(const char *csl)
{
	struct kusto_cmd c;
	struct kusto_error e = {0};
	int r = kusto_parse(csl, strlen(csl), &c, &e);

	if (r != 0)
		fail_msg("'%s' did not parse: %s", csl, e.message);
	return c;
}

/* Parses csl expecting failure with code at offset; returns the message. */
static const char *parse_fails(const char *csl, enum kusto_errcode code, size_t offset)
{
	static struct kusto_error e;
	struct kusto_cmd c = {0};
	int r;

	memset(&e, 0, sizeof(e));
	r = kusto_parse(csl, strlen(csl), &c, &e);
	if (r == 0)
		fail_msg("'%s' parsed but should not", csl);
	if (e.code != code || e.offset != offset)
		fail_msg("'%s': code %d offset %zu, expected %d at %zu (%s)", csl, e.code, e.offset,
		         code, offset, e.message);
	assert_int_equal(r, code == KUSTO_E_TOO_LARGE ? -E2BIG : -EINVAL);
	return e.message;
}

/* ---- parsing: .show ---- */

static void show_commands_parse(void **state)
{
	static const struct {
		const char *csl;
		enum kusto_cmd_kind kind;
		const char *db, *table;
	} cases[] = {
	    {".show databases", KUSTO_SHOW_DATABASES, NULL, NULL},
	    {"  .show   databases  ", KUSTO_SHOW_DATABASES, NULL, NULL},
	    {".show\n\tdatabases // all of them\n", KUSTO_SHOW_DATABASES, NULL, NULL},
	    {"// first\n// second\n.show databases", KUSTO_SHOW_DATABASES, NULL, NULL},
	    {".show database Sales schema as json", KUSTO_SHOW_DATABASE_SCHEMA, "Sales", NULL},
	    {".show database ['My Sales'] schema as json", KUSTO_SHOW_DATABASE_SCHEMA, "My Sales",
	     NULL},
	    {".show database [\"a.b-c\"] extents", KUSTO_SHOW_DATABASE_EXTENTS, "a.b-c", NULL},
	    {".show database [ 'x' ] policy caching", KUSTO_SHOW_DATABASE_CACHING, "x", NULL},
	    {".show database Sales principals", KUSTO_SHOW_DATABASE_PRINCIPALS, "Sales", NULL},
	    {".show tables", KUSTO_SHOW_TABLES, NULL, NULL},
	    {".show version", KUSTO_SHOW_VERSION, NULL, NULL},
	    {".show functions", KUSTO_SHOW_FUNCTIONS, NULL, NULL},
	    {".show table Events schema as json", KUSTO_SHOW_TABLE_SCHEMA, NULL, "Events"},
	    {".show table ['Events 2'] extents", KUSTO_SHOW_TABLE_EXTENTS, NULL, "Events 2"},
	    {".show table T_1 policy\r\ncaching", KUSTO_SHOW_TABLE_CACHING, NULL, "T_1"},
	    /* Names may be words the grammar uses elsewhere. */
	    {".show table policy extents", KUSTO_SHOW_TABLE_EXTENTS, NULL, "policy"},
	    {".show database database principals", KUSTO_SHOW_DATABASE_PRINCIPALS, "database",
	     NULL},
	};

	for (size_t i = 0; i < N(cases); i++) {
		struct kusto_cmd c = parse_ok(cases[i].csl);
		assert_int_equal(c.kind, cases[i].kind);
		if (cases[i].db == NULL)
			assert_null(c.database);
		else
			assert_string_equal(c.database, cases[i].db);
		if (cases[i].table == NULL)
			assert_null(c.table);
		else
			assert_string_equal(c.table, cases[i].table);
		assert_false(kusto_cmd_is_write(&c));
		kusto_cmd_clear(&c);
	}
}

/* .show queries, .show running queries [by user], .cancel query. */
static void query_commands_parse(void **state)
{
	struct kusto_cmd c = parse_ok(".show queries");

	assert_int_equal(c.kind, KUSTO_SHOW_QUERIES);
	assert_false(c.running);
	assert_false(kusto_cmd_is_write(&c));
	kusto_cmd_clear(&c);
	c = parse_ok(".show running queries by user 'aaduser=a@x'");
	assert_true(c.running);
	assert_string_equal(c.user, "aaduser=a@x");
	kusto_cmd_clear(&c);
	c = parse_ok(".cancel query \"KE.RunQuery;8f70\" with (reason = 'too slow')");
	assert_int_equal(c.kind, KUSTO_CANCEL_QUERY);
	assert_string_equal(c.query_id, "KE.RunQuery;8f70");
	assert_string_equal(c.reason, "too slow");
	assert_false(kusto_cmd_is_write(&c));
	kusto_cmd_clear(&c);
	c = parse_ok(".cancel query 'x'");
	assert_string_equal(c.reason, "");
	kusto_cmd_clear(&c);
	(void)parse_fails(".cancel query", KUSTO_E_SYNTAX, 13);
	(void)parse_fails(".show queries by user 'x'", KUSTO_E_SYNTAX, 14);
	(void)parse_fails(".cancel query 'x' with (why = 'y')", KUSTO_E_SYNTAX, 24);
}

static void show_follower_parses(void **state)
{
	struct kusto_cmd c = parse_ok(".show follower database Sales");

	assert_int_equal(c.kind, KUSTO_SHOW_FOLLOWER);
	assert_int_equal(c.nnames, 1);
	assert_string_equal(c.names[0], "Sales");
	kusto_cmd_clear(&c);

	c = parse_ok(".show follower databases");
	assert_int_equal(c.kind, KUSTO_SHOW_FOLLOWER);
	assert_int_equal(c.nnames, 0);
	kusto_cmd_clear(&c);

	c = parse_ok(".show follower databases (A, ['B c'],[\"D\"] )");
	assert_int_equal(c.nnames, 3);
	assert_string_equal(c.names[0], "A");
	assert_string_equal(c.names[1], "B c");
	assert_string_equal(c.names[2], "D");
	kusto_cmd_clear(&c);
}

/* ---- parsing: the control commands ---- */

static void alter_caching_parses(void **state)
{
	struct kusto_cmd c = parse_ok(".alter follower database Sales policy caching hot = 7d");

	assert_int_equal(c.kind, KUSTO_ALTER_FOLLOWER_CACHING);
	assert_string_equal(c.database, "Sales");
	assert_int_equal(c.caching.hot_span, 7 * DAY);
	assert_int_equal(c.caching.nwindows, 0);
	assert_true(kusto_cmd_is_write(&c));
	kusto_cmd_clear(&c);

	c = parse_ok(".alter follower database ['Sales'] policy caching\n"
	             "  hot = 30d,\n"
	             "  hot_window = datetime(2021-01-01) .. datetime(2021-02-01),\n"
	             "  hot_window=datetime(2021-04-01 10:30)..datetime(2021-05-01T01:02:03.5Z)");
	assert_int_equal(c.caching.hot_span, 30 * DAY);
	assert_int_equal(c.caching.nwindows, 2);
	assert_int_equal(c.caching.windows[0].min, dt("2021-01-01T00:00:00Z"));
	assert_int_equal(c.caching.windows[0].max, dt("2021-02-01T00:00:00Z"));
	assert_int_equal(c.caching.windows[1].min, dt("2021-04-01T10:30:00Z"));
	assert_int_equal(c.caching.windows[1].max, dt("2021-05-01T01:02:03.5Z"));
	kusto_cmd_clear(&c);

	c = parse_ok(".delete follower database Sales policy caching");
	assert_int_equal(c.kind, KUSTO_DELETE_FOLLOWER_CACHING);
	assert_string_equal(c.database, "Sales");
	kusto_cmd_clear(&c);
}

static void table_caching_parses(void **state)
{
	static const struct {
		const char *csl;
		enum kusto_cmd_kind kind;
		enum proto_kind entity;
		size_t n;
		const char *last;
	} cases[] = {
	    {".alter follower database D table T policy caching hot = 1d",
	     KUSTO_ALTER_FOLLOWER_TABLE_CACHING, PROTO_TABLE, 1, "T"},
	    {".alter follower database D tables (T1, T2,T3) policy caching hot = 1d",
	     KUSTO_ALTER_FOLLOWER_TABLE_CACHING, PROTO_TABLE, 3, "T3"},
	    {".alter follower database D materialized-view V policy caching hot = 1d",
	     KUSTO_ALTER_FOLLOWER_TABLE_CACHING, PROTO_MATERIALIZED_VIEW, 1, "V"},
	    {".alter follower database D materialized-views (V1, ['V 2']) policy caching hot = 1d",
	     KUSTO_ALTER_FOLLOWER_TABLE_CACHING, PROTO_MATERIALIZED_VIEW, 2, "V 2"},
	    {".delete follower database D table T policy caching",
	     KUSTO_DELETE_FOLLOWER_TABLE_CACHING, PROTO_TABLE, 1, "T"},
	    {".delete follower database D tables (A, B) policy caching",
	     KUSTO_DELETE_FOLLOWER_TABLE_CACHING, PROTO_TABLE, 2, "B"},
	    {".delete follower database D materialized-views (V) policy caching",
	     KUSTO_DELETE_FOLLOWER_TABLE_CACHING, PROTO_MATERIALIZED_VIEW, 1, "V"},
	};

	for (size_t i = 0; i < N(cases); i++) {
		struct kusto_cmd c = parse_ok(cases[i].csl);
		assert_int_equal(c.kind, cases[i].kind);
		assert_int_equal(c.entity, cases[i].entity);
		assert_int_equal(c.nnames, cases[i].n);
		assert_string_equal(c.names[c.nnames - 1], cases[i].last);
		assert_string_equal(c.database, "D");
		if (c.kind == KUSTO_ALTER_FOLLOWER_TABLE_CACHING)
			assert_int_equal(c.caching.hot_span, DAY);
		kusto_cmd_clear(&c);
	}
}

static void principals_parse(void **state)
{
	static const struct {
		const char *csl;
		enum proto_role role;
	} roles[] = {
	    {".add follower database D admins ('aaduser=a@b.c')", PROTO_ROLE_ADMINS},
	    {".add follower database D Users ('aaduser=a@b.c')", PROTO_ROLE_USERS},
	    {".add follower database D VIEWERS ('aaduser=a@b.c')", PROTO_ROLE_VIEWERS},
	    {".add follower database D Monitors ('aaduser=a@b.c')", PROTO_ROLE_MONITORS},
	};
	struct kusto_cmd c;

	for (size_t i = 0; i < N(roles); i++) {
		c = parse_ok(roles[i].csl);
		assert_int_equal(c.kind, KUSTO_ADD_FOLLOWER_PRINCIPALS);
		assert_int_equal(c.role, roles[i].role);
		assert_int_equal(c.nprincipals, 1);
		assert_string_equal(c.principals[0], "aaduser=a@b.c");
		assert_string_equal(c.notes, "");
		kusto_cmd_clear(&c);
	}

	c = parse_ok(".add follower database ['D'] viewers ('aadgroup=g@x.com', "
	             "\"aaduser=o'neil@x.com\", h'aadapp=1234;x.com', @'msauser=a\\b') "
	             "'My \\'group\\' \\u00e9'");
	assert_int_equal(c.nprincipals, 4);
	assert_string_equal(c.principals[0], "aadgroup=g@x.com");
	assert_string_equal(c.principals[1], "aaduser=o'neil@x.com");
	assert_string_equal(c.principals[2], "aadapp=1234;x.com");
	assert_string_equal(c.principals[3], "msauser=a\\b");
	assert_string_equal(c.notes, "My 'group' \xc3\xa9");
	kusto_cmd_clear(&c);

	c = parse_ok(".drop follower database D admins ('aaduser=a@b.c', 'aaduser=d@b.c')");
	assert_int_equal(c.kind, KUSTO_DROP_FOLLOWER_PRINCIPALS);
	assert_int_equal(c.role, PROTO_ROLE_ADMINS);
	assert_int_equal(c.nprincipals, 2);
	kusto_cmd_clear(&c);

	/* .drop takes no notes. */
	(void)parse_fails(".drop follower database D admins ('a') 'notes'", KUSTO_E_SYNTAX, 39);
}

static void kinds_and_prefetch_parse(void **state)
{
	static const struct {
		const char *csl;
		enum kusto_cmd_kind kind;
		enum conf_modkind modkind;
		bool prefetch;
	} cases[] = {
	    {".alter follower database D principals-modification-kind = none",
	     KUSTO_ALTER_FOLLOWER_PRINCIPALS_KIND, CONF_MOD_NONE, false},
	    {".alter follower database D principals-modification-kind=Union",
	     KUSTO_ALTER_FOLLOWER_PRINCIPALS_KIND, CONF_MOD_UNION, false},
	    {".alter follower database D caching-policies-modification-kind = REPLACE",
	     KUSTO_ALTER_FOLLOWER_CACHING_KIND, CONF_MOD_REPLACE, false},
	    {".alter follower database D caching-policies-modification-kind = union",
	     KUSTO_ALTER_FOLLOWER_CACHING_KIND, CONF_MOD_UNION, false},
	    {".alter follower database D prefetch-extents = true", KUSTO_ALTER_FOLLOWER_PREFETCH,
	     CONF_MOD_NONE, true},
	    {".alter follower database D prefetch-extents = False", KUSTO_ALTER_FOLLOWER_PREFETCH,
	     CONF_MOD_NONE, false},
	};

	for (size_t i = 0; i < N(cases); i++) {
		struct kusto_cmd c = parse_ok(cases[i].csl);
		assert_int_equal(c.kind, cases[i].kind);
		assert_int_equal(c.modkind, cases[i].modkind);
		assert_int_equal(c.prefetch, cases[i].prefetch);
		assert_true(kusto_cmd_is_write(&c));
		assert_string_not_equal(kusto_cmd_name(c.kind), "?");
		kusto_cmd_clear(&c);
	}
}

static void timespans_parse(void **state)
{
	static const struct {
		const char *lit;
		int64_t ticks;
	} cases[] = {
	    {"7d", 7 * DAY},
	    {"0d", 0},
	    {"1.5h", 3 * HOUR / 2},
	    {"30m", 30 * 60 * SEC},
	    {"10s", 10 * SEC},
	    {"100ms", SEC / 10},
	    {"2days", 2 * DAY},
	    {"3hours", 3 * HOUR},
	    {"1minute", 60 * SEC},
	    {"1.25seconds", 5 * SEC / 4},
	    {"5microseconds", 50},
	    {"7ticks", 7},
	    {"time(1.02:03:04)", DAY + 2 * HOUR + 3 * 60 * SEC + 4 * SEC},
	    {"time(00:30:00)", 30 * 60 * SEC},
	    {"time( 7d )", 7 * DAY},
	    {"timespan(1.5h)", 3 * HOUR / 2},
	    {"time(0.00:00:00.0000001)", 1},
	};
	char csl[128];

	for (size_t i = 0; i < N(cases); i++) {
		(void)snprintf(csl, sizeof(csl),
		               ".alter follower database D policy caching hot = %s", cases[i].lit);
		struct kusto_cmd c = parse_ok(csl);
		if (c.caching.hot_span != cases[i].ticks)
			fail_msg("%s: %lld ticks, expected %lld", cases[i].lit,
			         (long long)c.caching.hot_span, (long long)cases[i].ticks);
		kusto_cmd_clear(&c);
	}
}

static void bad_values_fail(void **state)
{
	const char *pre = ".alter follower database D policy caching hot = ";
	static const char *const bad[] = {
	    "7",
	    "7x",
	    "1.5",
	    "-1d",
	    "0.00000001s",
	    "99999999999999999999d",
	    "time(abc)",
	    "time(25:00:00)",
	    "datetime(2021-01-01)",
	};
	char csl[128];

	for (size_t i = 0; i < N(bad); i++) {
		(void)snprintf(csl, sizeof(csl), "%s%s", pre, bad[i]);
		(void)parse_fails(csl, KUSTO_E_SYNTAX, strlen(pre));
	}
	/* Windows: a bad datetime, one that ends before it starts. */
	(void)parse_fails(".alter follower database D policy caching hot = 1d, hot_window = "
	                  "datetime(2021-13-01) .. datetime(2022-01-01)",
	                  KUSTO_E_SYNTAX, 65);
	assert_non_null(strstr(parse_fails(".alter follower database D policy caching hot = 1d, "
	                                   "hot_window = datetime(2022-01-01) .. "
	                                   "datetime(2021-01-01)",
	                                   KUSTO_E_SYNTAX, 65),
	                       "must not end before it starts"));
	/* A table override is a span only. */
	assert_non_null(strstr(parse_fails(".alter follower database D table T policy caching "
	                                   "hot = 1d, hot_window = datetime(2021-01-01) .. "
	                                   "datetime(2021-01-02)",
	                                   KUSTO_E_SYNTAX, 60),
	                       "hot span only"));
}

/* A command with n items in a list, or n hot windows. */
static char *long_command(const char *head, const char *item, size_t n, const char *tail)
{
	size_t len = strlen(head) + n * (strlen(item) + 2) + strlen(tail) + 1;
	char *s = malloc(len), *p = s;

	assert_non_null(s);
	p += sprintf(p, "%s", head);
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? ", " : "", item);
	(void)sprintf(p, "%s", tail);
	return s;
}

static void bounds_hold(void **state)
{
	char *s = long_command(".show follower databases (", "D", KUSTO_MAX_ITEMS, ")");
	struct kusto_cmd c = parse_ok(s);

	assert_int_equal(c.nnames, KUSTO_MAX_ITEMS);
	kusto_cmd_clear(&c);
	free(s);
	s = long_command(".show follower databases (", "D", KUSTO_MAX_ITEMS + 1, ")");
	assert_non_null(strstr(parse_fails(s, KUSTO_E_SYNTAX, 26 + 3 * KUSTO_MAX_ITEMS),
	                       "more than 1000 items"));
	free(s);

	s = long_command(".alter follower database D policy caching hot = 1d, ",
	                 "hot_window = datetime(2021-01-01) .. datetime(2021-01-02)",
	                 PROTO_MAX_WINDOWS + 1, "");
	assert_non_null(strstr(parse_fails(s, KUSTO_E_SYNTAX, 52 + 59 * PROTO_MAX_WINDOWS),
	                       "more than 64 hot windows"));
	free(s);

	/* Names: at most PROTO_MAX_NAME bytes of the allowed characters. */
	s = long_command(".show table ", "", 0, "");
	free(s);
	char name[PROTO_MAX_NAME + 32], longest[PROTO_MAX_NAME + 2];
	memset(longest, 'n', sizeof(longest));
	longest[PROTO_MAX_NAME] = '\0';
	(void)snprintf(name, sizeof(name), ".show table %s extents", longest);
	c = parse_ok(name);
	assert_int_equal(strlen(c.table), PROTO_MAX_NAME);
	kusto_cmd_clear(&c);
	longest[PROTO_MAX_NAME] = 'n';
	longest[PROTO_MAX_NAME + 1] = '\0';
	(void)snprintf(name, sizeof(name), ".show table %s extents", longest);
	(void)parse_fails(name, KUSTO_E_SYNTAX, 12);
	(void)parse_fails(".show table ['a/b'] extents", KUSTO_E_SYNTAX, 12);
	(void)parse_fails(".show table [' a'] extents", KUSTO_E_SYNTAX, 12);
	(void)parse_fails(".show table [''] extents", KUSTO_E_SYNTAX, 12);

	/* The whole command: at most KUSTO_MAX_CSL bytes. */
	size_t big = KUSTO_MAX_CSL + 1;
	s = malloc(big + 1);
	assert_non_null(s);
	memset(s, ' ', big);
	memcpy(s, ".show databases", 15);
	s[big] = '\0';
	(void)parse_fails(s, KUSTO_E_TOO_LARGE, 0);
	s[big - 1] = '\0';
	c = parse_ok(s);
	kusto_cmd_clear(&c);
	free(s);
}

/* ---- parsing: refusals ---- */

static void writes_are_read_only(void **state)
{
	static const char *const writes[] = {
	    ".ingest into table T ('https://x/y.csv') with (format='csv')",
	    ".drop table T",
	    ".alter table T (a:string)",
	    ".set T <| print 1",
	    ".append T <| print x=1",
	    ".set-or-append T <| T | take 1",
	    ".set-or-replace T <| print 1",
	    ".create table T (a:string, b:long)",
	    ".create-or-alter function f() { 1 }",
	    ".create-merge table T (a:string)",
	    ".alter-merge table T (c:int)",
	    ".alter database Sales policy caching hot = 1d",
	    ".delete table T records <| T | where a == 1",
	    ".add database Sales admins ('aaduser=a@b.c')",
	    ".drop database Sales admins ('aaduser=a@b.c')",
	    ".rename table A to B",
	    ".move extents all from table A to table B",
	    ".replace extents in table T <| { .show table T extents }",
	    ".purge table T records in database Sales <| where a == 1",
	    ".clear table T data",
	    ".detach database Sales",
	    ".attach database Sales from @'x'",
	    ".merge table T",
	    ".undo drop table T",
	    ".enable plugin x",
	    ".execute database script <| .create table X (a:string)",
	    "\n  .drop   extents <| .show table T extents",
	    "// a comment first\n.set-or-append T <| print 1",
	};

	for (size_t i = 0; i < N(writes); i++) {
		const char *dot = strchr(writes[i], '.');
		size_t at = (size_t)(dot - writes[i]);
		const char *m = parse_fails(writes[i], KUSTO_E_READ_ONLY, at);
		assert_non_null(strstr(m, "read-only follower database"));
		assert_non_null(strstr(m, "Cannot execute '."));
	}
	assert_non_null(strstr(parse_fails(".drop table T", KUSTO_E_READ_ONLY, 0),
	                       "Cannot execute '.drop table'"));
}

static void garbage_fails_with_offsets(void **state)
{
	static const struct {
		const char *csl;
		size_t offset;
		const char *says;
	} cases[] = {
	    {"", 0, "expected a management command"},
	    {"   ", 3, "expected a management command"},
	    {"T | take 10", 0, "queries go to /v1/rest/query"},
	    {".show databasez", 6, "expected 'databases', 'database', 'tables'"},
	    {".show Databases", 6, "found 'Databases'"},
	    {".SHOW databases", 0, "unknown or unsupported command '.SHOW'"},
	    {".showdatabases", 0, "unknown or unsupported command"},
	    {".show materialized-views", 6, "expected"},
	    {".show table", 11, "expected a name, found the end of the command"},
	    {".show table T", 13, "'schema', 'extents' or 'policy'"},
	    {".show database X schema as xml", 27, "expected 'json'"},
	    {".show database X schema", 23, "expected 'as'"},
	    {".show databases extra", 16, "expected the end of the command, found 'extra'"},
	    {".show table T policy retention", 21, "expected 'caching'"},
	    {".show table ['T'", 16, "expected ']'"},
	    {".show table ['T] extents", 13, "unterminated string"},
	    {".show table [T] extents", 12, "expected ['name']"},
	    {".show table T extents;", 21, "unexpected character ';'"},
	    {".show table T extents\x01", 21, "unexpected byte 0x01"},
	    {".show follower databases (A,)", 28, "expected a name"},
	    {".show follower databases (A B)", 28, "expected ',' or ')'"},
	    {".show follower", 14, "expected 'database' or 'databases'"},
	    {".alter follower database X policy caching hot 7d", 46, "expected '='"},
	    {".alter follower database X policy caching hot = 7d,", 51, "expected 'hot_window'"},
	    {".alter follower database X policy caching", 41, "expected 'hot'"},
	    {".alter follower database X retention", 27, "expected 'policy', 'table'"},
	    {".alter follower database X principals-modification-kind = all", 58,
	     "'none', 'union' or 'replace'"},
	    {".alter follower database X prefetch-extents = yes", 46, "'true' or 'false'"},
	    {".add follower database X ingestors ('aaduser=a')", 25,
	     "'admins', 'users', 'viewers' or 'monitors'"},
	    {".add follower database X admins 'aaduser=a'", 32, "expected '('"},
	    {".add follower database X admins ('')", 33, "string of 1-4096 bytes"},
	    {".add follower database X admins (aaduser)", 33, "expected a string literal"},
	    {".add follower database X admins ('a\\qb')", 35, "unknown escape"},
	    {".add follower database X admins ('a\\u0000')", 35, "not allowed"},
	    {".add follower database X admins ('a\nb')", 33, "unterminated string"},
	    {".delete follower database X policy", 34, "expected 'caching'"},
	    {".delete follower database X table T policy caching hot = 1d", 51,
	     "expected the end of the command"},
	    {".drop follower", 14, "expected 'database'"},
	    {".alter follower database X policy caching hot = datetime(2021-01-01", 56,
	     "missing ')'"},
	};

	for (size_t i = 0; i < N(cases); i++) {
		const char *m = parse_fails(cases[i].csl, KUSTO_E_SYNTAX, cases[i].offset);
		if (strstr(m, cases[i].says) == NULL)
			fail_msg("'%s': message '%s' does not say '%s'", cases[i].csl, m,
			         cases[i].says);
		assert_non_null(strstr(m, "Syntax error: "));
	}
	/* The message names the line and column too. */
	assert_non_null(strstr(parse_fails("\n.show\n  tabels", KUSTO_E_SYNTAX, 9),
	                       "at offset 9 (line 3, column 3)"));
}

/* ---- the result builder ---- */

static void builder_types_map(void **state)
{
	static const struct kusto_column cols[] = {
	    {"s", KUSTO_T_STRING}, {"d", KUSTO_T_DATETIME}, {"t", KUSTO_T_TIMESPAN},
	    {"l", KUSTO_T_LONG},   {"i", KUSTO_T_INT},      {"r", KUSTO_T_REAL},
	    {"b", KUSTO_T_BOOL},   {"g", KUSTO_T_GUID},     {"y", KUSTO_T_DYNAMIC},
	};
	static const char *const data[] = {"String", "DateTime", "TimeSpan", "Int64", "Int32",
	                                   "Double", "Boolean",  "Guid",     "Object"};
	static const char *const kusto[] = {"string", "datetime", "timespan", "long",   "int",
	                                    "real",   "bool",     "guid",     "dynamic"};
	struct kusto_table *t = kusto_table_new("Table_0", cols, N(cols));
	json_t *j, *row;

	assert_non_null(t);
	kusto_add_string(t, "x\"y");
	kusto_add_datetime(t, dt("2024-02-29T12:34:56.789Z"));
	kusto_add_timespan(t, 7 * DAY + 3 * HOUR + 1);
	kusto_add_long(t, INT64_C(9007199254740993));
	kusto_add_int(t, -5);
	kusto_add_real(t, 1.5);
	kusto_add_bool(t, true);
	kusto_add_guid(t, "0F8FAD5B-D9CB-469F-A165-70867728950E");
	kusto_add_dynamic(t, json_pack("{s:[i,i]}", "a", 1, 2));
	assert_int_equal(kusto_row_end(t), 0);
	for (size_t i = 0; i < N(cols); i++)
		kusto_add_null(t);
	assert_int_equal(kusto_row_end(t), 0);
	assert_int_equal(kusto_table_nrows(t), 2);

	j = kusto_table_json(t);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "TableName")), "Table_0");
	for (size_t i = 0; i < N(cols); i++) {
		json_t *c = json_array_get(json_object_get(j, "Columns"), i);
		assert_string_equal(json_string_value(json_object_get(c, "ColumnName")),
		                    cols[i].name);
		assert_string_equal(json_string_value(json_object_get(c, "DataType")), data[i]);
		assert_string_equal(json_string_value(json_object_get(c, "ColumnType")), kusto[i]);
		assert_string_equal(kusto_type_data_type(cols[i].type), data[i]);
		assert_string_equal(kusto_type_column_type(cols[i].type), kusto[i]);
	}
	row = json_array_get(json_object_get(j, "Rows"), 0);
	assert_string_equal(json_string_value(json_array_get(row, 0)), "x\"y");
	assert_string_equal(json_string_value(json_array_get(row, 1)),
	                    "2024-02-29T12:34:56.7890000Z");
	assert_string_equal(json_string_value(json_array_get(row, 2)), "7.03:00:00.0000001");
	assert_int_equal(json_integer_value(json_array_get(row, 3)), INT64_C(9007199254740993));
	assert_int_equal(json_integer_value(json_array_get(row, 4)), -5);
	assert_true(json_is_real(json_array_get(row, 5)));
	assert_true(json_is_true(json_array_get(row, 6)));
	assert_string_equal(json_string_value(json_array_get(row, 7)),
	                    "0f8fad5b-d9cb-469f-a165-70867728950e");
	assert_int_equal(
	    json_integer_value(json_array_get(json_object_get(json_array_get(row, 8), "a"), 1)), 2);
	row = json_array_get(json_object_get(j, "Rows"), 1);
	for (size_t i = 0; i < N(cols); i++)
		assert_true(json_is_null(json_array_get(row, i)));
	json_decref(j);
	kusto_table_free(t);
}

static void builder_timespans_and_reals(void **state)
{
	static const struct kusto_column cols[] = {{"t", KUSTO_T_TIMESPAN}, {"r", KUSTO_T_REAL}};
	static const struct {
		int64_t ticks;
		const char *text;
	} spans[] = {
	    {0, "00:00:00"},
	    {3 * HOUR / 2, "01:30:00"},
	    {7 * DAY, "7.00:00:00"},
	    {1, "00:00:00.0000001"},
	    {-(DAY + SEC), "-1.00:00:01"},
	    {400 * DAY + 23 * HOUR + 59 * 60 * SEC + 59 * SEC, "400.23:59:59"},
	};
	static const double reals[] = {NAN, INFINITY, -INFINITY, 0, 0, 0};
	static const char *const real_text[] = {"NaN", "Infinity", "-Infinity"};
	struct kusto_table *t = kusto_table_new("T", cols, 2);
	regex_t re;
	json_t *j;

	/* The Node SDK's timespan pattern (azure-kusto-data timeUtils.js). */
	assert_int_equal(regcomp(&re, "^(-?)(([0-9]+)\\.)?[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?$",
	                         REG_EXTENDED | REG_NOSUB),
	                 0);
	for (size_t i = 0; i < N(spans); i++) {
		kusto_add_timespan(t, spans[i].ticks);
		kusto_add_real(t, reals[i]);
		assert_int_equal(kusto_row_end(t), 0);
	}
	j = kusto_table_json(t);
	assert_non_null(j);
	for (size_t i = 0; i < N(spans); i++) {
		json_t *row = json_array_get(json_object_get(j, "Rows"), i);
		const char *s = json_string_value(json_array_get(row, 0));
		assert_string_equal(s, spans[i].text);
		assert_int_equal(regexec(&re, s, 0, NULL, 0), 0);
		if (i < N(real_text))
			assert_string_equal(json_string_value(json_array_get(row, 1)),
			                    real_text[i]);
	}
	regfree(&re);
	json_decref(j);
	kusto_table_free(t);
}

static void builder_refuses_misuse(void **state)
{
	static const struct kusto_column cols[] = {{"a", KUSTO_T_LONG}, {"g", KUSTO_T_GUID}};
	struct kusto_table *t = kusto_table_new("T", cols, 2);

	/* Wrong type: the table fails for good. */
	kusto_add_string(t, "no");
	kusto_add_guid(t, NULL);
	assert_int_equal(kusto_row_end(t), -EINVAL);
	kusto_add_long(t, 1);
	kusto_add_guid(t, NULL);
	assert_int_equal(kusto_row_end(t), -EINVAL);
	assert_null(kusto_table_json(t));
	kusto_table_free(t);

	/* Too few, too many values; a bad guid. */
	t = kusto_table_new("T", cols, 2);
	kusto_add_long(t, 1);
	assert_int_equal(kusto_row_end(t), -EINVAL);
	kusto_table_free(t);
	t = kusto_table_new("T", cols, 2);
	kusto_add_long(t, 1);
	kusto_add_guid(t, NULL);
	kusto_add_long(t, 2);
	assert_int_equal(kusto_row_end(t), -EINVAL);
	kusto_table_free(t);
	t = kusto_table_new("T", cols, 2);
	kusto_add_long(t, 1);
	kusto_add_guid(t, "0f8fad5b-d9cb-469f-a165-70867728950");
	assert_int_equal(kusto_row_end(t), -EINVAL);
	kusto_table_free(t);

	/* An open row has no JSON yet; an unknown type makes no table. */
	t = kusto_table_new("T", cols, 2);
	kusto_add_long(t, 1);
	assert_null(kusto_table_json(t));
	kusto_table_free(t);
	assert_null(kusto_table_new("T", (struct kusto_column[]){{"x", (enum kusto_type)99}}, 1));
	kusto_table_free(NULL);
}

static void builder_row_limit(void **state)
{
	static const struct kusto_column cols[] = {{"i", KUSTO_T_INT}};
	struct kusto_table *t = kusto_table_new("T", cols, 1);

	for (int i = 0; i < KUSTO_MAX_ROWS; i++) {
		kusto_add_int(t, i);
		assert_int_equal(kusto_row_end(t), 0);
	}
	kusto_add_int(t, -1);
	assert_int_equal(kusto_row_end(t), -E2BIG);
	assert_int_equal(kusto_table_nrows(t), KUSTO_MAX_ROWS);
	kusto_table_free(t);
}

static void response_has_tables(void **state)
{
	static const struct kusto_column cols[] = {{"a", KUSTO_T_STRING}};
	struct kusto_table *t = kusto_table_new("Table_0", cols, 1);
	char *s;

	s = kusto_response(&t, 1);
	assert_non_null(s);
	assert_string_equal(s,
	                    "{\"Tables\":[{\"TableName\":\"Table_0\",\"Columns\":[{\"ColumnName\":"
	                    "\"a\",\"DataType\":\"String\",\"ColumnType\":\"string\"}],"
	                    "\"Rows\":[]}]}");
	free(s);
	assert_null(kusto_response(&t, 0));
	kusto_table_free(t);
}

/* ---- a fake backend ---- */

#define FAKE_MAX 16

struct fake_follower {
	char root[128];
	bool has_caching;
	int64_t hot;
	struct proto_window windows[FAKE_MAX];
	size_t nwindows;
	char table_names[FAKE_MAX][64];
	int64_t table_hot[FAKE_MAX];
	size_t ntables;
	enum proto_role roles[FAKE_MAX];
	char fqns[FAKE_MAX][128], names[FAKE_MAX][64], notes[FAKE_MAX][128];
	size_t nprincipals;
	enum conf_modkind principals_kind, caching_kind;
	bool prefetch;
};

struct fake {
	struct fake_follower sales, ops;
	int fail; /* every call fails with this when non-zero */
	int sets; /* set_follower calls */
};

static struct fake_follower *fake_follower(struct fake *f, const char *db)
{
	if (strcmp(db, "Sales") == 0)
		return &f->sales;
	if (strcmp(db, "Ops") == 0)
		return &f->ops;
	return NULL;
}

static int fake_databases(void *arg, const char *name, kusto_db_fn *emit, void *ctx, char *err)
{
	static const struct kusto_db dbs[] = {
	    {"Ops", "https://leader.example/ops", "", 0},
	    {"Sales", "https://leader.example/root", "0F8FAD5B-D9CB-469F-A165-70867728950E", 42},
	};
	struct fake *f = arg;
	bool found = false;

	if (f->fail)
		return f->fail;
	for (size_t i = 0; i < N(dbs); i++) {
		if (name != NULL && strcmp(name, dbs[i].name) != 0)
			continue;
		found = true;
		int r = emit(ctx, &dbs[i]);
		if (r != 0)
			return r;
	}
	if (found || name == NULL)
		return 0;
	(void)snprintf(err, KUSTO_ERRLEN, "no followed database is named '%s'", name);
	return -ENOENT;
}

static struct proto_column events_cols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Name", PROTO_T_STRING},     {"Count", PROTO_T_LONG},
    {"Ratio", PROTO_T_REAL},         {"Ok", PROTO_T_BOOL},         {"Id", PROTO_T_GUID},
    {"Took", PROTO_T_TIMESPAN},      {"Payload", PROTO_T_DYNAMIC}, {"Small", PROTO_T_INT},
};
static struct proto_column orders_cols[] = {{"OrderId", PROTO_T_LONG}, {"Total", PROTO_T_DECIMAL}};
static struct proto_column daily_cols[] = {{"Day", PROTO_T_DATETIME}, {"n", PROTO_T_LONG}};
static struct proto_window orders_windows[] = {{0, 0}};
static struct proto_caching orders_caching = {30 * DAY, NULL, 0};
static struct proto_window sales_windows[1];
static struct proto_caching sales_caching = {7 * DAY, sales_windows, 1};

static int fake_entities(void *arg, const char *db, kusto_entity_fn *emit, void *ctx, char *err)
{
	static const struct proto_entity ents[] = {
	    {PROTO_TABLE, "Events", events_cols, N(events_cols), "Logs", "Events of the shop", NULL,
	     NULL, NULL},
	    {PROTO_EXTERNAL_TABLE, "Ext", orders_cols, 1, "", "", "https://x/y", NULL, NULL},
	    {PROTO_MATERIALIZED_VIEW, "Daily", daily_cols, N(daily_cols), "Views", "", NULL,
	     "Events", "Events | summarize n = count() by Day = bin(Timestamp, 1d)"},
	    {PROTO_TABLE, "Orders", orders_cols, N(orders_cols), "", "", NULL, NULL, NULL},
	};
	struct fake *f = arg;

	(void)orders_windows;
	if (f->fail)
		return f->fail;
	if (fake_follower(f, db) == NULL)
		return -ENOENT;
	if (strcmp(db, "Ops") == 0)
		return 0;
	for (size_t i = 0; i < N(ents); i++) {
		struct kusto_entity e = {&ents[i], i == 3 ? &orders_caching : NULL};
		int r = emit(ctx, &e);
		if (r != 0)
			return r;
	}
	return 0;
}

static int fake_extents(void *arg, const char *db, const char *table, kusto_extent_fn *emit,
                        void *ctx, char *err)
{
	static char *tags[] = {"drop-by:2024-01-01", "ingest-by:x"};
	static const struct proto_extent xs[] = {
	    {"11111111-2222-3333-4444-555555555555", "Events", 0, 0, 1000, 4096, 1024, tags, 2,
	     NULL, 0, NULL, 0},
	    {"aaaaaaaa-2222-3333-4444-555555555555", "Events", 0, 0, 7, 70, 20, NULL, 0, NULL, 0,
	     NULL, 0},
	    {"bbbbbbbb-2222-3333-4444-555555555555", "Orders", 0, 0, 3, 30, 10, NULL, 0, NULL, 0,
	     NULL, 0},
	};
	struct fake *f = arg;

	if (f->fail)
		return f->fail;
	if (fake_follower(f, db) == NULL)
		return -ENOENT;
	for (size_t i = 0; i < N(xs) && strcmp(db, "Sales") == 0; i++) {
		struct proto_extent x = xs[i];
		if (table != NULL && strcmp(table, x.table) != 0)
			continue;
		x.min_created = dt("2024-01-01T00:00:00Z") + (int64_t)i * DAY;
		x.max_created = x.min_created + HOUR;
		int r = emit(ctx, &x);
		if (r != 0)
			return r;
	}
	return 0;
}

static int fake_caching(void *arg, const char *db, kusto_caching_fn *emit, void *ctx, char *err)
{
	struct fake *f = arg;

	if (f->fail)
		return f->fail;
	if (fake_follower(f, db) == NULL)
		return -ENOENT;
	sales_windows[0] =
	    (struct proto_window){dt("2023-01-01T00:00:00Z"), dt("2023-02-01T00:00:00Z")};
	return emit(ctx, strcmp(db, "Sales") == 0 ? &sales_caching : NULL);
}

static int fake_principals(void *arg, const char *db, kusto_principal_fn *emit, void *ctx,
                           char *err)
{
	static const struct kusto_principal ps[] = {
	    {PROTO_ROLE_ADMINS, "aaduser=alice@contoso.com", "Alice", ""},
	    {PROTO_ROLE_VIEWERS, "aadgroup=readers@contoso.com", "Readers", "from the leader"},
	};
	struct fake *f = arg;

	if (f->fail)
		return f->fail;
	if (fake_follower(f, db) == NULL)
		return -ENOENT;
	for (size_t i = 0; i < N(ps); i++) {
		int r = emit(ctx, &ps[i]);
		if (r != 0)
			return r;
	}
	return 0;
}

static int fake_get(void *arg, const char *db, kusto_follower_fn *emit, void *ctx, char *err)
{
	struct fake *f = arg;
	struct fake_follower *s = f->fail ? NULL : fake_follower(f, db);
	struct conf_table_hot tables[FAKE_MAX];
	struct kusto_principal ps[FAKE_MAX];

	if (f->fail)
		return f->fail;
	if (s == NULL)
		return -ENOENT;
	for (size_t i = 0; i < s->ntables; i++)
		tables[i] = (struct conf_table_hot){s->table_names[i], s->table_hot[i]};
	for (size_t i = 0; i < s->nprincipals; i++)
		ps[i] = (struct kusto_principal){s->roles[i], s->fqns[i], s->names[i], s->notes[i]};
	struct kusto_follower kf = {
	    .database = db,
	    .root = s->root,
	    .has_caching = s->has_caching,
	    .caching = {s->hot, s->windows, s->nwindows},
	    .tables = tables,
	    .ntables = s->ntables,
	    .principals = ps,
	    .nprincipals = s->nprincipals,
	    .principals_kind = s->principals_kind,
	    .caching_kind = s->caching_kind,
	    .prefetch = s->prefetch,
	};
	return emit(ctx, &kf);
}

static int fake_set(void *arg, const char *db, const struct kusto_follower *kf, char *err)
{
	struct fake *f = arg;
	struct fake_follower *s = fake_follower(f, db);

	if (f->fail)
		return f->fail;
	if (s == NULL)
		return -ENOENT;
	assert_string_equal(kf->database, db);
	if (kf->ntables > FAKE_MAX || kf->nprincipals > FAKE_MAX ||
	    kf->caching.nwindows > FAKE_MAX) {
		(void)snprintf(err, KUSTO_ERRLEN, "the fake holds at most %d of each", FAKE_MAX);
		return -EINVAL;
	}
	f->sets++;
	s->has_caching = kf->has_caching;
	s->hot = kf->caching.hot_span;
	s->nwindows = kf->caching.nwindows;
	for (size_t i = 0; i < s->nwindows; i++)
		s->windows[i] = kf->caching.windows[i];
	s->ntables = kf->ntables;
	for (size_t i = 0; i < kf->ntables; i++) {
		(void)snprintf(s->table_names[i], sizeof(s->table_names[i]), "%s",
		               kf->tables[i].table);
		s->table_hot[i] = kf->tables[i].hot;
	}
	s->nprincipals = kf->nprincipals;
	for (size_t i = 0; i < kf->nprincipals; i++) {
		s->roles[i] = kf->principals[i].role;
		(void)snprintf(s->fqns[i], sizeof(s->fqns[i]), "%s", kf->principals[i].fqn);
		(void)snprintf(s->names[i], sizeof(s->names[i]), "%s", kf->principals[i].name);
		(void)snprintf(s->notes[i], sizeof(s->notes[i]), "%s", kf->principals[i].notes);
	}
	s->principals_kind = kf->principals_kind;
	s->caching_kind = kf->caching_kind;
	s->prefetch = kf->prefetch;
	return 0;
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void)snprintf(f->sales.root, sizeof(f->sales.root), "https://leader.example/root");
	(void)snprintf(f->ops.root, sizeof(f->ops.root), "https://leader.example/ops");
	f->sales.caching_kind = f->ops.caching_kind = CONF_MOD_UNION;
	return f;
}

static int setup(void **state)
{
	*state = fake_new();
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

/* Two queries: one running (alice's), one that ended (bob's). */
static const struct kusto_query fake_query_list[] = {
    {"KNC.execute;1", "Events | count", "Sales", 100, 300, 200, "InProgress",
     "0b1c2d3e-0000-4000-8000-000000000001", "aaduser=alice@x", "", "app", 4096, 0},
    {"KNC.execute;2", "Events | take 3", "Sales", 10, 20, 10, "Completed",
     "0b1c2d3e-0000-4000-8000-000000000002", "aaduser=bob@x", "", "", 0, 3},
};

static int fake_queries(void *arg, bool running, const char *user, kusto_query_fn *emit, void *ctx,
                        char *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < N(fake_query_list); i++)
		if ((!running || strcmp(fake_query_list[i].state, "InProgress") == 0) &&
		    (user == NULL || strcmp(user, fake_query_list[i].user) == 0))
			r = emit(ctx, &fake_query_list[i]);
	return r;
}

static int fake_cancel(void *arg, const char *id, const char *reason, kusto_cancel_fn *emit,
                       void *ctx, char *err)
{
	struct kusto_cancel c = {id, "Cancelled successfully", reason};

	if (strcmp(id, "KNC.execute;2") == 0) {
		(void)snprintf(err, KUSTO_ERRLEN, "may not");
		return -EACCES;
	}
	return strcmp(id, "KNC.execute;1") == 0 ? emit(ctx, &c) : -ENOENT;
}

static struct kusto_backend backend(struct fake *f)
{
	return (struct kusto_backend){.arg = f,
	                              .databases = fake_databases,
	                              .entities = fake_entities,
	                              .extents = fake_extents,
	                              .caching = fake_caching,
	                              .principals = fake_principals,
	                              .follower = fake_get,
	                              .set_follower = fake_set,
	                              .queries = fake_queries,
	                              .cancel_query = fake_cancel};
}

/* ---- running commands through kusto_mgmt ---- */

/* Runs csl in database db through the whole endpoint; returns the parsed
 * response and sets *status. */
static json_t *mgmt(struct fake *f, const char *db, const char *csl, bool writes, int *status)
{
	struct kusto_backend be = backend(f);
	json_t *req = json_pack("{s:s, s:s, s:{}}", "db", db, "csl", csl, "properties");
	char *body = json_dumps(req, 0), *out = NULL;
	struct kusto_error err;
	json_t *resp;

	assert_int_equal(kusto_mgmt(body, strlen(body), &be, writes, status, &out, &err), 0);
	resp = json_loads(out, JSON_REJECT_DUPLICATES, NULL);
	assert_non_null(resp);
	if (*status == 200)
		assert_string_equal(err.message, "");
	else
		assert_string_not_equal(err.message, "");
	free(out);
	free(body);
	json_decref(req);
	return resp;
}

static json_t *mgmt_ok(struct fake *f, const char *db, const char *csl)
{
	int status = 0;
	json_t *resp = mgmt(f, db, csl, true, &status);

	if (status != 200) {
		char *s = json_dumps(resp, 0);
		fail_msg("'%s' answered %d: %s", csl, status, s);
	}
	return resp;
}

/* The error of an answer that must be status / code. */
static const char *mgmt_err(struct fake *f, const char *db, const char *csl, bool writes,
                            int want_status, const char *want_code)
{
	static char message[KUSTO_ERRLEN];
	int status = 0;
	json_t *resp = mgmt(f, db, csl, writes, &status), *e = json_object_get(resp, "error");

	if (status != want_status)
		fail_msg("'%s' answered %d, expected %d", csl, status, want_status);
	assert_string_equal(json_string_value(json_object_get(e, "code")), want_code);
	assert_non_null(json_string_value(json_object_get(e, "message")));
	assert_non_null(strstr(json_string_value(json_object_get(e, "@type")), "Kusto."));
	assert_true(json_is_boolean(json_object_get(e, "@permanent")));
	(void)snprintf(message, sizeof(message), "%s",
	               json_string_value(json_object_get(e, "@message")));
	json_decref(resp);
	return message;
}

static json_t *table0(json_t *resp)
{
	json_t *tables = json_object_get(resp, "Tables");

	assert_int_equal(json_array_size(tables), 1);
	return json_array_get(tables, 0);
}

/* Checks Tables[0]'s columns: names and Kusto types in order, each with a
 * matching DataType. */
static void check_columns(json_t *resp, const char *const *names, const char *const *types,
                          size_t n)
{
	static const char *const kinds[][2] = {
	    {"string", "String"}, {"datetime", "DateTime"}, {"timespan", "TimeSpan"},
	    {"long", "Int64"},    {"int", "Int32"},         {"real", "Double"},
	    {"bool", "Boolean"},  {"guid", "Guid"},         {"dynamic", "Object"},
	};
	json_t *t = table0(resp), *cols = json_object_get(t, "Columns");

	assert_string_equal(json_string_value(json_object_get(t, "TableName")), "Table_0");
	assert_int_equal(json_array_size(cols), n);
	for (size_t i = 0; i < n; i++) {
		json_t *c = json_array_get(cols, i);
		const char *ct = json_string_value(json_object_get(c, "ColumnType"));
		const char *dt_ = json_string_value(json_object_get(c, "DataType"));
		assert_string_equal(json_string_value(json_object_get(c, "ColumnName")), names[i]);
		assert_non_null(ct);
		assert_non_null(dt_);
		assert_string_equal(ct, types[i]);
		bool known = false;
		for (size_t k = 0; k < N(kinds); k++)
			if (strcmp(kinds[k][0], ct) == 0) {
				assert_string_equal(dt_, kinds[k][1]);
				known = true;
			}
		assert_true(known);
	}
}

static json_t *cell(json_t *resp, size_t row, size_t col)
{
	return json_array_get(json_array_get(json_object_get(table0(resp), "Rows"), row), col);
}

static const char *cell_s(json_t *resp, size_t row, size_t col)
{
	const char *s = json_string_value(cell(resp, row, col));

	if (s == NULL)
		fail_msg("row %zu column %zu is not a string", row, col);
	return s;
}

static size_t nrows(json_t *resp)
{
	return json_array_size(json_object_get(table0(resp), "Rows"));
}

/* A cell that holds JSON text, parsed. */
static json_t *cell_json(json_t *resp, size_t row, size_t col)
{
	json_t *v = json_loads(cell_s(resp, row, col), JSON_REJECT_DUPLICATES, NULL);

	assert_non_null(v);
	return v;
}

/* ---- .show results ---- */

static void show_databases_shape(void **state)
{
	static const char *const names[] = {
	    "DatabaseName",       "PersistentStorage", "Version",       "IsCurrent",
	    "DatabaseAccessMode", "PrettyName",        "ReservedSlot1", "DatabaseId",
	    "InTransitionTo",     "SuspensionState"};
	static const char *const types[] = {"string", "string", "string", "bool",   "string",
	                                    "string", "bool",   "guid",   "string", "string"};
	json_t *r = mgmt_ok(*state, "Sales", ".show databases");

	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 2);
	assert_string_equal(cell_s(r, 0, 0), "Ops");
	assert_true(json_is_false(cell(r, 0, 3)));
	assert_true(json_is_null(cell(r, 0, 7)));
	assert_string_equal(cell_s(r, 1, 0), "Sales");
	assert_string_equal(cell_s(r, 1, 1), "https://leader.example/root");
	assert_string_equal(cell_s(r, 1, 2), "v42.0");
	assert_true(json_is_true(cell(r, 1, 3)));
	assert_string_equal(cell_s(r, 1, 4), "ReadOnlyFollowing");
	assert_string_equal(cell_s(r, 1, 7), "0f8fad5b-d9cb-469f-a165-70867728950e");
	json_decref(r);

	/* No database in context: nothing is current. */
	r = mgmt_ok(*state, "", ".show databases");
	assert_true(json_is_false(cell(r, 1, 3)));
	json_decref(r);
}

static void show_database_schema_shape(void **state)
{
	static const char *const names[] = {"DatabaseSchema"};
	static const char *const types[] = {"string"};
	json_t *r = mgmt_ok(*state, "", ".show database Sales schema as json"), *s, *db, *ev, *c;

	check_columns(r, names, types, 1);
	assert_int_equal(nrows(r), 1);
	s = cell_json(r, 0, 0);
	db = json_object_get(json_object_get(s, "Databases"), "Sales");
	assert_string_equal(json_string_value(json_object_get(db, "Name")), "Sales");
	assert_int_equal(json_integer_value(json_object_get(db, "MajorVersion")), 42);
	assert_true(json_is_object(json_object_get(db, "Functions")));
	assert_int_equal(json_object_size(json_object_get(db, "Tables")), 2);
	ev = json_object_get(json_object_get(db, "Tables"), "Events");
	assert_string_equal(json_string_value(json_object_get(ev, "Folder")), "Logs");
	c = json_array_get(json_object_get(ev, "OrderedColumns"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "Name")), "Timestamp");
	assert_string_equal(json_string_value(json_object_get(c, "Type")), "System.DateTime");
	assert_string_equal(json_string_value(json_object_get(c, "CslType")), "datetime");
	c = json_array_get(json_object_get(ev, "OrderedColumns"), 8);
	assert_string_equal(json_string_value(json_object_get(c, "Type")), "System.Int32");
	assert_non_null(json_object_get(json_object_get(db, "ExternalTables"), "Ext"));
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(json_object_get(db, "MaterializedViews"), "Daily"), "SourceTable")),
	    "Events");
	json_decref(s);
	json_decref(r);
}

/* .show version (ADX's web UI asks it first) and .show functions (none). */
static void show_version_functions(void **state)
{
	static const char *const vnames[] = {"BuildVersion", "BuildTime", "ServiceType",
	                                     "ProductVersion", "ServiceOffering"};
	static const char *const vtypes[] = {"string", "datetime", "string", "string", "string"};
	static const char *const fnames[] = {"Name", "Parameters", "Body", "Folder", "DocString"};
	static const char *const ftypes[] = {"string", "string", "string", "string", "string"};
	json_t *r = mgmt_ok(*state, "", ".show version");

	check_columns(r, vnames, vtypes, N(vnames));
	assert_int_equal(nrows(r), 1);
	assert_string_equal(cell_s(r, 0, 2), "Engine");
	json_decref(r);
	r = mgmt_ok(*state, "Sales", ".show functions");
	check_columns(r, fnames, ftypes, N(fnames));
	assert_int_equal(nrows(r), 0);
	json_decref(r);
}

static void show_tables_shape(void **state)
{
	static const char *const names[] = {"TableName", "DatabaseName", "Folder", "DocString"};
	static const char *const types[] = {"string", "string", "string", "string"};
	json_t *r = mgmt_ok(*state, "Sales", ".show tables");

	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 2); /* tables only: no external table, no view */
	assert_string_equal(cell_s(r, 0, 0), "Events");
	assert_string_equal(cell_s(r, 0, 1), "Sales");
	assert_string_equal(cell_s(r, 0, 2), "Logs");
	assert_string_equal(cell_s(r, 0, 3), "Events of the shop");
	assert_string_equal(cell_s(r, 1, 0), "Orders");
	json_decref(r);

	r = mgmt_ok(*state, "Ops", ".show tables");
	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 0);
	json_decref(r);
}

static void show_table_schema_shape(void **state)
{
	static const char *const names[] = {"TableName", "Schema", "DatabaseName", "Folder",
	                                    "DocString"};
	static const char *const types[] = {"string", "string", "string", "string", "string"};
	json_t *r = mgmt_ok(*state, "Sales", ".show table Events schema as json"), *s;

	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 1);
	assert_string_equal(cell_s(r, 0, 0), "Events");
	s = cell_json(r, 0, 1);
	assert_string_equal(json_string_value(json_object_get(s, "Name")), "Events");
	assert_int_equal(json_array_size(json_object_get(s, "OrderedColumns")), N(events_cols));
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_array_get(json_object_get(s, "OrderedColumns"), 6), "CslType")),
	    "timespan");
	assert_string_equal(cell_s(r, 0, 2), "Sales");
	assert_string_equal(cell_s(r, 0, 3), "Logs");
	json_decref(s);
	json_decref(r);
}

static void show_extents_shape(void **state)
{
	static const char *const names[] = {
	    "ExtentId",          "DatabaseName",   "TableName",    "MaxCreatedOn", "OriginalSize",
	    "ExtentSize",        "CompressedSize", "IndexSize",    "Blocks",       "Segments",
	    "ExtentContainerId", "RowCount",       "MinCreatedOn", "Tags",         "Kind",
	    "DeletedRowCount"};
	static const char *const types[] = {
	    "guid", "string", "string", "datetime", "real",     "real",   "real",   "real",
	    "long", "long",   "string", "long",     "datetime", "string", "string", "long"};
	json_t *r = mgmt_ok(*state, "Sales", ".show table Events extents");

	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 2);
	assert_string_equal(cell_s(r, 0, 0), "11111111-2222-3333-4444-555555555555");
	assert_string_equal(cell_s(r, 0, 1), "Sales");
	assert_string_equal(cell_s(r, 0, 2), "Events");
	assert_string_equal(cell_s(r, 0, 3), "2024-01-01T01:00:00.0000000Z");
	assert_true(json_real_value(cell(r, 0, 4)) == 4096.0);
	assert_true(json_real_value(cell(r, 0, 6)) == 1024.0);
	assert_int_equal(json_integer_value(cell(r, 0, 11)), 1000);
	assert_string_equal(cell_s(r, 0, 12), "2024-01-01T00:00:00.0000000Z");
	assert_string_equal(cell_s(r, 0, 13), "drop-by:2024-01-01\r\ningest-by:x");
	assert_string_equal(cell_s(r, 1, 13), "");
	json_decref(r);

	r = mgmt_ok(*state, "", ".show database Sales extents");
	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 3);
	assert_string_equal(cell_s(r, 2, 2), "Orders");
	json_decref(r);
}

static void show_caching_shape(void **state)
{
	static const char *const names[] = {"PolicyName", "EntityName", "Policy", "ChildEntities",
	                                    "EntityType"};
	static const char *const types[] = {"string", "string", "string", "string", "string"};
	json_t *r = mgmt_ok(*state, "", ".show database Sales policy caching"), *p, *w;

	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 1);
	assert_string_equal(cell_s(r, 0, 0), "CachingPolicy");
	assert_string_equal(cell_s(r, 0, 1), "[Sales]");
	p = cell_json(r, 0, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p, "DataHotSpan"), "Value")),
	    "7.00:00:00");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p, "IndexHotSpan"), "Value")),
	    "7.00:00:00");
	w = json_array_get(json_object_get(p, "HotWindows"), 0);
	assert_string_equal(json_string_value(json_object_get(w, "MinValue")),
	                    "2023-01-01T00:00:00.0000000Z");
	json_decref(p);
	p = cell_json(r, 0, 3);
	assert_int_equal(json_array_size(p), 2);
	assert_string_equal(json_string_value(json_array_get(p, 1)), "Orders");
	json_decref(p);
	assert_string_equal(cell_s(r, 0, 4), "Database");
	json_decref(r);

	/* The leader's table policy replaces its database policy. */
	r = mgmt_ok(*state, "Sales", ".show table Orders policy caching");
	check_columns(r, names, types, N(names));
	assert_string_equal(cell_s(r, 0, 1), "[Sales].[Orders]");
	p = cell_json(r, 0, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p, "DataHotSpan"), "Value")),
	    "30.00:00:00");
	assert_null(json_object_get(p, "HotWindows"));
	json_decref(p);
	assert_true(json_is_null(cell(r, 0, 3)));
	assert_string_equal(cell_s(r, 0, 4), "Table");
	json_decref(r);

	/* No policy anywhere: everything is hot, the policy is "null" (the
	 * JSON text of no policy, as Kusto shows it). */
	r = mgmt_ok(*state, "", ".show database Ops policy caching");
	assert_string_equal(cell_s(r, 0, 2), "null");
	assert_string_equal(cell_s(r, 0, 3), "[]");
	json_decref(r);
}

static void show_principals_shape(void **state)
{
	static const char *const names[] = {
	    "Role",         "PrincipalType", "PrincipalDisplayName", "PrincipalObjectId",
	    "PrincipalFQN", "Notes"};
	static const char *const types[] = {"string", "string", "string",
	                                    "string", "string", "string"};
	json_t *r = mgmt_ok(*state, "", ".show database Sales principals");

	check_columns(r, names, types, N(names));
	assert_int_equal(nrows(r), 2);
	assert_string_equal(cell_s(r, 0, 0), "Database Sales Admin");
	assert_string_equal(cell_s(r, 0, 1), "AAD User");
	assert_string_equal(cell_s(r, 0, 2), "Alice");
	assert_string_equal(cell_s(r, 0, 4), "aaduser=alice@contoso.com");
	assert_string_equal(cell_s(r, 1, 0), "Database Sales Viewer");
	assert_string_equal(cell_s(r, 1, 1), "AAD Group");
	assert_string_equal(cell_s(r, 1, 5), "from the leader");
	json_decref(r);
}

static const char *const follower_names[] = {"DatabaseName",
                                             "LeaderClusterMetadataPath",
                                             "CachingPolicyOverride",
                                             "AuthorizedPrincipalsOverride",
                                             "AuthorizedPrincipalsModificationKind",
                                             "IsAutoPrefetchEnabled",
                                             "TableMetadataOverrides",
                                             "CachingPoliciesModificationKind"};
static const char *const follower_types[] = {"string", "string", "string", "string",
                                             "string", "bool",   "string", "string"};

static void show_follower_shape(void **state)
{
	json_t *r = mgmt_ok(*state, "", ".show follower database Sales");

	check_columns(r, follower_names, follower_types, N(follower_names));
	assert_int_equal(nrows(r), 1);
	assert_string_equal(cell_s(r, 0, 0), "Sales");
	assert_string_equal(cell_s(r, 0, 1), "https://leader.example/root");
	assert_true(json_is_null(cell(r, 0, 2)));
	assert_string_equal(cell_s(r, 0, 3), "[]");
	assert_string_equal(cell_s(r, 0, 4), "None");
	assert_true(json_is_false(cell(r, 0, 5)));
	assert_true(json_is_null(cell(r, 0, 6)));
	assert_string_equal(cell_s(r, 0, 7), "Union");
	json_decref(r);

	r = mgmt_ok(*state, "", ".show follower databases");
	check_columns(r, follower_names, follower_types, N(follower_names));
	assert_int_equal(nrows(r), 2);
	assert_string_equal(cell_s(r, 0, 0), "Ops");
	assert_string_equal(cell_s(r, 1, 0), "Sales");
	json_decref(r);

	r = mgmt_ok(*state, "", ".show follower databases (Sales, Ops)");
	assert_int_equal(nrows(r), 2);
	assert_string_equal(cell_s(r, 0, 0), "Sales");
	json_decref(r);
}

/* ---- control commands ---- */

static void caching_override_round_trip(void **state)
{
	struct fake *f = *state;
	json_t *r, *p;

	r = mgmt_ok(f, "",
	            ".alter follower database Sales policy caching hot = 3d, "
	            "hot_window = datetime(2020-01-01) .. datetime(2020-01-31)");
	check_columns(r, follower_names, follower_types, N(follower_names));
	p = cell_json(r, 0, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p, "DataHotSpan"), "Value")),
	    "3.00:00:00");
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(p, "HotWindows"), 0), "MaxValue")),
	                    "2020-01-31T00:00:00.0000000Z");
	json_decref(p);
	json_decref(r);
	assert_true(f->sales.has_caching);
	assert_int_equal(f->sales.hot, 3 * DAY);
	assert_int_equal(f->sales.nwindows, 1);
	assert_int_equal(f->sets, 1);

	/* union: the longer span (the leader's 7d) and both windows. */
	r = mgmt_ok(f, "", ".show database Sales policy caching");
	p = cell_json(r, 0, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p, "DataHotSpan"), "Value")),
	    "7.00:00:00");
	assert_int_equal(json_array_size(json_object_get(p, "HotWindows")), 2);
	json_decref(p);
	json_decref(r);

	/* replace: the override only. */
	json_decref(mgmt_ok(f, "",
	                    ".alter follower database Sales "
	                    "caching-policies-modification-kind = replace"));
	assert_int_equal(f->sales.caching_kind, CONF_MOD_REPLACE);
	r = mgmt_ok(f, "", ".show database Sales policy caching");
	p = cell_json(r, 0, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(p, "DataHotSpan"), "Value")),
	    "3.00:00:00");
	json_decref(p);
	json_decref(r);

	/* replace with no override at all: everything is hot. */
	r = mgmt_ok(f, "", ".delete follower database Sales policy caching");
	assert_true(json_is_null(cell(r, 0, 2)));
	assert_string_equal(cell_s(r, 0, 7), "Replace");
	json_decref(r);
	assert_false(f->sales.has_caching);
	r = mgmt_ok(f, "", ".show database Sales policy caching");
	assert_string_equal(cell_s(r, 0, 2), "null");
	json_decref(r);
}

static void table_overrides_round_trip(void **state)
{
	struct fake *f = *state;
	json_t *r, *o;

	r = mgmt_ok(f, "",
	            ".alter follower database Sales tables (Events, Orders) policy caching "
	            "hot = 12h");
	o = cell_json(r, 0, 6);
	assert_int_equal(json_object_size(o), 2);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(json_object_get(json_object_get(o, "Orders"),
	                                                        "CachingPolicyOverride"),
	                                        "DataHotSpan"),
	                        "Value")),
	                    "12:00:00");
	json_decref(o);
	json_decref(r);
	assert_int_equal(f->sales.ntables, 2);

	/* Setting one again changes it in place. */
	json_decref(mgmt_ok(f, "",
	                    ".alter follower database Sales table Orders policy caching "
	                    "hot = 2d"));
	assert_int_equal(f->sales.ntables, 2);
	assert_int_equal(f->sales.table_hot[1], 2 * DAY);

	/* Under replace, the override is the table's effective policy (the
	 * leader's 30d table policy is gone). */
	json_decref(mgmt_ok(f, "",
	                    ".alter follower database Sales caching-policies-modification-kind"
	                    " = replace"));
	r = mgmt_ok(f, "Sales", ".show table Orders policy caching");
	o = cell_json(r, 0, 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(o, "DataHotSpan"), "Value")),
	    "2.00:00:00");
	json_decref(o);
	json_decref(r);

	r = mgmt_ok(f, "", ".delete follower database Sales table Events policy caching");
	o = cell_json(r, 0, 6);
	assert_int_equal(json_object_size(o), 1);
	assert_non_null(json_object_get(o, "Orders"));
	json_decref(o);
	json_decref(r);
	/* Deleting what is not there changes nothing. */
	json_decref(mgmt_ok(f, "",
	                    ".delete follower database Sales tables (Events, Nope) policy "
	                    "caching"));
	assert_int_equal(f->sales.ntables, 1);
	r = mgmt_ok(f, "",
	            ".delete follower database Sales materialized-view Orders policy caching");
	assert_true(json_is_null(cell(r, 0, 6)));
	json_decref(r);
}

static void principal_overrides_round_trip(void **state)
{
	struct fake *f = *state;
	json_t *r, *o;

	r = mgmt_ok(f, "",
	            ".add follower database Sales viewers ('aaduser=bob@x.com', "
	            "'aadgroup=readers@contoso.com') 'Bob and co'");
	o = cell_json(r, 0, 3);
	assert_int_equal(json_array_size(o), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(json_array_get(o, 0), "Principal"),
	                                      "FullyQualifiedName")),
	    "aaduser=bob@x.com");
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "Role")),
	                    "Viewer");
	assert_string_equal(json_string_value(json_object_get(json_array_get(o, 0), "Notes")),
	                    "Bob and co");
	json_decref(o);
	json_decref(r);

	/* Adding again (any case) only updates the notes. */
	json_decref(
	    mgmt_ok(f, "", ".add follower database Sales Viewers ('AADUSER=BOB@X.COM') 'B'"));
	assert_int_equal(f->sales.nprincipals, 2);
	assert_string_equal(f->sales.notes[0], "B");

	/* none (the default here): the leader's principals only. */
	r = mgmt_ok(f, "", ".show database Sales principals");
	assert_int_equal(nrows(r), 2);
	json_decref(r);
	/* union: the leader's and the overrides it lacks. */
	json_decref(mgmt_ok(f, "",
	                    ".alter follower database Sales principals-modification-kind = "
	                    "union"));
	r = mgmt_ok(f, "", ".show database Sales principals");
	assert_int_equal(nrows(r), 3);
	assert_string_equal(cell_s(r, 2, 4), "aaduser=bob@x.com");
	assert_string_equal(cell_s(r, 2, 0), "Database Sales Viewer");
	assert_string_equal(cell_s(r, 2, 5), "B");
	json_decref(r);
	/* replace: the overrides only. */
	json_decref(mgmt_ok(f, "",
	                    ".alter follower database Sales principals-modification-kind = "
	                    "replace"));
	r = mgmt_ok(f, "", ".show database Sales principals");
	assert_int_equal(nrows(r), 2);
	assert_string_equal(cell_s(r, 0, 4), "aaduser=bob@x.com");
	json_decref(r);

	/* Dropping: the role must match. */
	json_decref(mgmt_ok(f, "", ".drop follower database Sales admins ('aaduser=bob@x.com')"));
	assert_int_equal(f->sales.nprincipals, 2);
	r = mgmt_ok(f, "",
	            ".drop follower database Sales viewers ('aaduser=bob@x.com', "
	            "'aadgroup=readers@contoso.com')");
	assert_string_equal(cell_s(r, 0, 3), "[]");
	assert_string_equal(cell_s(r, 0, 4), "Replace");
	json_decref(r);
	assert_int_equal(f->sales.nprincipals, 0);
}

static void prefetch_round_trip(void **state)
{
	struct fake *f = *state;
	json_t *r = mgmt_ok(f, "", ".alter follower database Ops prefetch-extents = true");

	assert_true(json_is_true(cell(r, 0, 5)));
	assert_string_equal(cell_s(r, 0, 0), "Ops");
	json_decref(r);
	assert_true(f->ops.prefetch);
	assert_false(f->sales.prefetch);
}

static void writes_need_permission(void **state)
{
	struct fake *f = *state;
	int status = 0;
	json_t *r;

	assert_non_null(strstr(mgmt_err(f, "",
	                                ".alter follower database Sales prefetch-extents = "
	                                "true",
	                                false, 403, "Forbidden"),
	                       "database admin"));
	assert_int_equal(f->sets, 0);
	/* Reading needs no permission. */
	r = mgmt(f, "", ".show follower database Sales", false, &status);
	assert_int_equal(status, 200);
	json_decref(r);
	/* A read-only refusal is the same with or without permission. */
	assert_non_null(
	    strstr(mgmt_err(f, "Sales", ".drop table Events", true, 400, "General_BadRequest"),
	           "read-only follower database"));
}

/* ---- errors ---- */

static void errors_have_kusto_shape(void **state)
{
	struct fake *f = *state;

	assert_non_null(strstr(mgmt_err(f, "", ".show database Nope schema as json", true, 404,
	                                "BadRequest_DatabaseNotExist"),
	                       "Database 'Nope' was not found"));
	(void)mgmt_err(f, "", ".show follower database Nope", true, 404,
	               "BadRequest_DatabaseNotExist");
	(void)mgmt_err(f, "", ".alter follower database Nope prefetch-extents = true", true, 404,
	               "BadRequest_DatabaseNotExist");
	(void)mgmt_err(f, "Nope", ".show tables", true, 404, "BadRequest_DatabaseNotExist");
	assert_non_null(strstr(
	    mgmt_err(f, "Sales", ".show table Nope extents", true, 404, "BadRequest_TableNotExist"),
	    "Table 'Nope' was not found in database 'Sales'"));
	/* An external table is not a table here. */
	(void)mgmt_err(f, "Sales", ".show table Ext schema as json", true, 404,
	               "BadRequest_TableNotExist");
	assert_non_null(
	    strstr(mgmt_err(f, "", ".show tables", true, 400, "General_BadRequest"), "set \"db\""));
	assert_non_null(
	    strstr(mgmt_err(f, "", ".show databasez", true, 400, "BadRequest_SyntaxError"),
	           "at offset 6"));

	f->fail = -EIO;
	assert_non_null(
	    strstr(mgmt_err(f, "", ".show databases", true, 500, "General_InternalServerError"),
	           "Input/output error"));
	f->fail = -EINVAL;
	(void)mgmt_err(f, "", ".show databases", true, 400, "General_BadRequest");
	f->fail = -EACCES;
	(void)mgmt_err(f, "", ".show databases", true, 403, "Forbidden");
	f->fail = 0;
}

static void error_body_exact(void **state)
{
	struct kusto_error e = {KUSTO_E_SYNTAX, 3, "Syntax error: x"};
	char *s = kusto_error_body(&e);

	assert_string_equal(s,
	                    "{\"error\":{\"code\":\"BadRequest_SyntaxError\",\"message\":\"Request "
	                    "is invalid and cannot be executed.\",\"@type\":\"Kusto.Data."
	                    "Exceptions.SyntaxException\",\"@message\":\"Syntax error: x\","
	                    "\"@permanent\":true}}");
	free(s);
	assert_int_equal(kusto_error_status(KUSTO_E_SYNTAX), 400);
	assert_int_equal(kusto_error_status(KUSTO_E_READ_ONLY), 400);
	assert_int_equal(kusto_error_status(KUSTO_E_LIMITS), 400);
	assert_int_equal(kusto_error_status(KUSTO_E_FORBIDDEN), 403);
	assert_int_equal(kusto_error_status(KUSTO_E_DB_NOT_FOUND), 404);
	assert_int_equal(kusto_error_status(KUSTO_E_TABLE_NOT_FOUND), 404);
	assert_int_equal(kusto_error_status(KUSTO_E_TOO_LARGE), 413);
	assert_int_equal(kusto_error_status(KUSTO_E_INTERNAL), 500);
	assert_int_equal(kusto_error_status((enum kusto_errcode)77), 500);
}

static void utf8_is_kept_valid(void **state)
{
	static const struct kusto_column cols[] = {{"s", KUSTO_T_STRING}};
	struct fake *f = *state;
	struct kusto_backend be = backend(f);
	struct kusto_table *t = kusto_table_new("T", cols, 1);
	struct kusto_error e = {KUSTO_E_SYNTAX, 0, "cut \xc3"};
	char body[256], *out = NULL;
	int status = 0;
	json_t *j;

	/* Strings and names must be UTF-8; the error is at the literal. */
	(void)parse_fails(".add follower database D admins ('a\xff')", KUSTO_E_SYNTAX, 33);
	(void)parse_fails(".add follower database D admins ('\xed\xa0\x80')", KUSTO_E_SYNTAX, 33);
	(void)parse_fails(".show table ['\xc0\xaf'] extents", KUSTO_E_SYNTAX, 12);
	struct kusto_cmd c = parse_ok(".add follower database D admins ('\xf0\x9f\x98\x80')");
	assert_string_equal(c.principals[0], "\xf0\x9f\x98\x80");
	kusto_cmd_clear(&c);

	/* A message cut inside a character still makes an error body. */
	char *s = kusto_error_body(&e);
	assert_non_null(s);
	assert_non_null(strstr(s, "\"cut ?\""));
	free(s);

	/* A message quoting 40 bytes of a name that ends mid-character (the
	 * fuzzer found kusto_mgmt failing on it). */
	(void)snprintf(body, sizeof(body), "{\"csl\":\".show databases ['%.37s\xc3\xa9']\"}",
	               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(kusto_mgmt(body, strlen(body), &be, true, &status, &out, NULL), 0);
	assert_int_equal(status, 400);
	j = json_loads(out, 0, NULL);
	assert_non_null(j);
	json_decref(j);
	free(out);

	/* A bad byte in the data becomes '?' rather than failing the answer. */
	kusto_add_string(t, "ok\xff\xc3");
	assert_int_equal(kusto_row_end(t), 0);
	j = kusto_table_json(t);
	assert_string_equal(
	    json_string_value(json_array_get(json_array_get(json_object_get(j, "Rows"), 0), 0)),
	    "ok??");
	json_decref(j);
	kusto_table_free(t);
}

/* ---- allocation failures (jansson's allocator is injectable) ---- */

static long alloc_budget = -1; /* allocations left, -1: no limit */

static void *budget_malloc(size_t n)
{
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n);
}

/* kusto_mgmt of csl with jansson failing after n allocations; returns
 * kusto_mgmt's result and sets *ret_exhausted when the budget ran out. */
static int mgmt_budget(struct fake *f, const char *body, long n, int *status, char **out,
                       bool *ret_exhausted)
{
	struct kusto_backend be = backend(f);
	int r;

	alloc_budget = n;
	json_set_alloc_funcs(budget_malloc, free);
	r = kusto_mgmt(body, strlen(body), &be, true, status, out, NULL);
	json_set_alloc_funcs(malloc, free);
	*ret_exhausted = alloc_budget == 0;
	alloc_budget = -1;
	return r;
}

static void allocation_failures(void **state)
{
	static const char *const cmds[] = {
	    ".show databases",
	    ".show database Sales schema as json",
	    ".show table Events extents",
	    ".show database Sales policy caching",
	    ".show table Orders policy caching",
	    ".show database Sales principals",
	    ".show follower databases",
	    ".alter follower database Sales policy caching hot = 3d, hot_window = "
	    "datetime(2021-01-01) .. datetime(2021-02-01)",
	    ".add follower database Sales admins ('aaduser=x@y.z') 'n'",
	    ".alter follower database Sales table Events policy caching hot = 1d",
	    ".drop table T",
	    ".show tabels",
	};
	struct fake *f = *state;

	for (size_t i = 0; i < N(cmds); i++) {
		char body[512], *want = NULL, *out = NULL;
		int want_status = 0, status = 0;
		bool exhausted = true, unused;
		long tried = 0;

		(void)snprintf(body, sizeof(body), "{\"db\":\"Sales\",\"csl\":\"%s\"}", cmds[i]);
		assert_int_equal(mgmt_budget(f, body, -1, &want_status, &want, &unused), 0);
		for (long n = 0; exhausted; n++) {
			assert_true(n < 100000);
			int r = mgmt_budget(f, body, n, &status, &out, &exhausted);
			tried++;
			if (r != 0) {
				assert_int_equal(r, -ENOMEM);
				continue;
			}
			/* Either the whole right answer or an error, never half. */
			if (status == want_status) {
				if (strcmp(out, want) != 0)
					fail_msg("'%s' with %ld allocations: %s", cmds[i], n, out);
			} else {
				assert_int_equal(status, 500);
				assert_non_null(strstr(out, "General_InternalServerError"));
			}
			free(out);
		}
		assert_true(tried > 5); /* every command allocates */
		free(want);
	}
}

/* ---- the request body ---- */

static int decode(const char *body, struct kusto_request *req, struct kusto_error *e)
{
	memset(req, 0, sizeof(*req));
	return kusto_request_decode(body, strlen(body), req, e);
}

static void request_bodies_decode(void **state)
{
	static const struct {
		const char *body, *db, *csl;
	} good[] = {
	    {"{\"db\":\"Sales\",\"csl\":\".show tables\"}", "Sales", ".show tables"},
	    {"{\"csl\":\".show databases\"}", "", ".show databases"},
	    {"{\"db\":null,\"csl\":\"x\",\"properties\":null}", "", "x"},
	    {"{\"db\":\"D\",\"csl\":\"x\",\"properties\":{\"Options\":{\"servertimeout\":"
	     "\"00:04:00\"},\"Parameters\":{}}}",
	     "D", "x"},
	    {"{\"db\":\"D\",\"csl\":\"x\",\"properties\":\"{\\\"Options\\\":{}}\"}", "D", "x"},
	    {"{\"db\":\"D\",\"csl\":\"x\",\"properties\":\"\"}", "D", "x"},
	    {"{\"csl\":\"x\",\"other\":[1,2,3]}", "", "x"},
	    {" {\"csl\":\"caf\\u00e9\"} ", "", "caf\xc3\xa9"},
	};
	static const struct {
		const char *body;
		enum kusto_errcode code;
		const char *says;
	} bad[] = {
	    {"", KUSTO_E_BAD_REQUEST, "not JSON"},
	    {"{\"csl\":", KUSTO_E_BAD_REQUEST, "not JSON"},
	    {"[\".show databases\"]", KUSTO_E_BAD_REQUEST, "must be an object"},
	    {"{\"db\":\"D\"}", KUSTO_E_BAD_REQUEST, "\"csl\" is missing"},
	    {"{\"csl\":5}", KUSTO_E_BAD_REQUEST, "\"csl\" is missing or not a string"},
	    {"{\"csl\":\"x\",\"db\":5}", KUSTO_E_BAD_REQUEST, "\"db\" must be a string"},
	    {"{\"csl\":\"x\",\"csl\":\"y\"}", KUSTO_E_BAD_REQUEST, "duplicate"},
	    {"{\"csl\":\"x\",\"properties\":5}", KUSTO_E_BAD_REQUEST, "\"properties\" must be"},
	    {"{\"csl\":\"x\",\"properties\":\"{nope\"}", KUSTO_E_BAD_REQUEST,
	     "\"properties\" is not JSON"},
	    {"{\"csl\":\"x\",\"properties\":\"[1]\"}", KUSTO_E_BAD_REQUEST,
	     "must hold a JSON object"},
	    {"{\"csl\":\"a\\u0000b\"}", KUSTO_E_BAD_REQUEST, "not JSON"},
	};
	struct kusto_request req;
	struct kusto_error e;

	for (size_t i = 0; i < N(good); i++) {
		if (decode(good[i].body, &req, &e) != 0)
			fail_msg("%s: %s", good[i].body, e.message);
		assert_string_equal(req.db, good[i].db);
		assert_string_equal(req.csl, good[i].csl);
		kusto_request_clear(&req);
	}
	for (size_t i = 0; i < N(bad); i++) {
		assert_int_equal(decode(bad[i].body, &req, &e), -EINVAL);
		assert_int_equal(e.code, bad[i].code);
		if (strstr(e.message, bad[i].says) == NULL)
			fail_msg("%s: '%s' does not say '%s'", bad[i].body, e.message, bad[i].says);
		assert_null(req.csl);
	}
	kusto_request_clear(NULL);
}

static void request_bounds(void **state)
{
	struct kusto_request req;
	struct kusto_error e;
	struct fake *f = *state;
	struct kusto_backend be = backend(f);
	size_t n = KUSTO_MAX_CSL + 1;
	char *body = malloc(n + 32), *out = NULL;
	int status = 0;

	assert_non_null(body);
	/* A command one byte too long: 413. */
	memcpy(body, "{\"csl\":\"", 8);
	memset(body + 8, ' ', n);
	memcpy(body + 8 + n, "\"}", 3);
	assert_int_equal(decode(body, &req, &e), -E2BIG);
	assert_int_equal(e.code, KUSTO_E_TOO_LARGE);
	assert_int_equal(kusto_mgmt(body, strlen(body), &be, true, &status, &out, NULL), 0);
	assert_int_equal(status, 413);
	assert_non_null(strstr(out, "\"Payload too large\""));
	free(out);
	free(body);

	/* A body past KUSTO_MAX_BODY is refused before it is parsed. */
	body = malloc(KUSTO_MAX_BODY + 1);
	assert_non_null(body);
	memset(body, ' ', KUSTO_MAX_BODY + 1);
	assert_int_equal(kusto_request_decode(body, KUSTO_MAX_BODY + 1, &req, &e), -E2BIG);
	assert_int_equal(e.code, KUSTO_E_TOO_LARGE);
	free(body);

	/* A long "db". */
	body = malloc(KUSTO_MAX_DB_NAME + 64);
	assert_non_null(body);
	(void)sprintf(body, "{\"csl\":\"x\",\"db\":\"%0*d\"}", KUSTO_MAX_DB_NAME + 1, 0);
	assert_int_equal(decode(body, &req, &e), -EINVAL);
	free(body);
}

/* .show queries answers ADX's columns; .cancel query a row, or a 400 that
 * names an unknown id, or 403. */
static void query_commands_run(void **state)
{
	struct fake *f = *state;
	json_t *r = mgmt_ok(f, "", ".show queries");
	const char *m;

	assert_int_equal(nrows(r), 2);
	assert_string_equal(cell_s(r, 0, 0), "KNC.execute;1");
	assert_string_equal(cell_s(r, 0, 6), "InProgress");
	assert_string_equal(cell_s(r, 1, 8), "aaduser=bob@x");
	assert_int_equal(json_integer_value(cell(r, 1, 14)), 3);
	assert_string_equal(cell_s(r, 0, 5), "00:00:00.0000200");
	json_decref(r);
	r = mgmt_ok(f, "", ".show running queries");
	assert_int_equal(nrows(r), 1);
	json_decref(r);
	r = mgmt_ok(f, "Sales", ".cancel query 'KNC.execute;1' with (reason = 'slow')");
	assert_string_equal(cell_s(r, 0, 1), "Cancelled successfully");
	assert_string_equal(cell_s(r, 0, 2), "slow");
	json_decref(r);
	m = mgmt_err(f, "", ".cancel query 'nope;42'", false, 400, "BadRequest_EntityNotFound");
	assert_non_null(strstr(m, "'nope;42'"));
	(void)mgmt_err(f, "", ".cancel query 'KNC.execute;2'", false, 403, "Forbidden");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(show_commands_parse),
	    cmocka_unit_test(show_follower_parses),
	    cmocka_unit_test(alter_caching_parses),
	    cmocka_unit_test(table_caching_parses),
	    cmocka_unit_test(principals_parse),
	    cmocka_unit_test(kinds_and_prefetch_parse),
	    cmocka_unit_test(timespans_parse),
	    cmocka_unit_test(bad_values_fail),
	    cmocka_unit_test(bounds_hold),
	    cmocka_unit_test(writes_are_read_only),
	    cmocka_unit_test(garbage_fails_with_offsets),
	    cmocka_unit_test(builder_types_map),
	    cmocka_unit_test(builder_timespans_and_reals),
	    cmocka_unit_test(builder_refuses_misuse),
	    cmocka_unit_test(builder_row_limit),
	    cmocka_unit_test(response_has_tables),
	    cmocka_unit_test_setup_teardown(show_databases_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_database_schema_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_tables_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_version_functions, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_table_schema_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_extents_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_caching_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_principals_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(show_follower_shape, setup, teardown),
	    cmocka_unit_test_setup_teardown(caching_override_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(table_overrides_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(principal_overrides_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(prefetch_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(writes_need_permission, setup, teardown),
	    cmocka_unit_test_setup_teardown(errors_have_kusto_shape, setup, teardown),
	    cmocka_unit_test(query_commands_parse),
	    cmocka_unit_test_setup_teardown(query_commands_run, setup, teardown),
	    cmocka_unit_test(error_body_exact),
	    cmocka_unit_test_setup_teardown(utf8_is_kept_valid, setup, teardown),
	    cmocka_unit_test_setup_teardown(allocation_failures, setup, teardown),
	    cmocka_unit_test(request_bodies_decode),
	    cmocka_unit_test_setup_teardown(request_bounds, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

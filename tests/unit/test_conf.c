/*
 * Unit tests for conf: the followerd.conf parser, every option type valid
 * and invalid (with the exact "file:line: ..." message), defaults, repeated
 * keys, attach rules, secrets, dump, JSON, run-time changes and conf_diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf.h"
#include "util/timefmt.h"

#define SEC INT64_C(10000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define GIB ((uint64_t)1 << 30)

/* ---- helpers ---- */

static char tmpdir[64]; /* secret files live here, made by setup */

static struct conf *parse_flags(const char *text, unsigned flags)
{
	char err[CONF_ERRLEN] = "";
	struct conf *c = NULL;
	int r = conf_parse("followerd.conf", text, strlen(text), flags, &c, err, sizeof(err));

	if (r != 0)
		fail_msg("conf_parse failed (%d): %s\n--- text ---\n%s", r, err, text);
	assert_non_null(c);
	return c;
}

static struct conf *parse(const char *text)
{
	return parse_flags(text, 0);
}

static void expect_error_len(const char *text, size_t len, int want_r, const char *want)
{
	char err[CONF_ERRLEN] = "";
	struct conf *c = NULL;
	int r = conf_parse("followerd.conf", text, len, 0, &c, err, sizeof(err));

	if (r != want_r || strcmp(err, want) != 0)
		fail_msg("--- text ---\n%s\n--- got (%d) ---\n%s\n--- want (%d) ---\n%s", text, r,
		         err, want_r, want);
	assert_null(c); /* untouched on failure */
}

static void expect_error(const char *text, int want_r, const char *want)
{
	expect_error_len(text, strlen(text), want_r, want);
}

/* Writes content to tmpdir/name with mode; returns the path (static). */
static const char *write_file(const char *name, const char *content, mode_t mode)
{
	static char path[256];
	(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	(void)unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return path;
}

/* A growing text for generated configurations. */
struct text {
	char *s;
	size_t len;
	FILE *f;
};

static void text_open(struct text *t)
{
	t->s = NULL;
	t->f = open_memstream(&t->s, &t->len);
	assert_non_null(t->f);
}

static const char *text_close(struct text *t)
{
	assert_int_equal(fclose(t->f), 0);
	return t->s;
}

static int setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_conf.XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- defaults and the option table ---- */

static void test_defaults(void **state)
{
	(void)state;
	struct conf *c = parse("");
	char host[300] = "";

	assert_string_equal(c->state_dir, "/var/lib/followerd");
	assert_string_equal(c->cache_dir, "/var/cache/followerd");
	assert_int_equal(c->listen.n, 1);
	assert_int_equal(c->listen.v[0].kind, CONF_ADDR_INET);
	assert_string_equal(c->listen.v[0].host, "127.0.0.1");
	assert_int_equal(c->listen.v[0].port, 8080);
	assert_string_equal(c->admin_socket, "/run/followerd/admin.sock");
	assert_int_equal(c->log_level, CONF_LOG_INFO);
	assert_int_equal(c->cache_max_size, 100 * GIB);
	assert_int_equal(c->min_free_space, 5 * GIB);
	assert_int_equal(c->fetch_concurrency, 16);
	assert_int_equal(c->fetch_concurrency_per_leader, 4);
	assert_int_equal(c->poll_interval, 30 * SEC);
	assert_int_equal(gethostname(host, sizeof(host) - 1), 0);
	assert_string_equal(c->follower_name, host);
	assert_null(c->tls_cert);
	assert_null(c->tls_key);
	assert_null(c->tokens_file);
	assert_false(c->allow_anonymous);
	assert_int_equal(c->max_lag, 5 * MIN);
	assert_int_equal(c->max_connections, 256);
	assert_int_equal(c->request_timeout, 30 * SEC);
	assert_int_equal(c->header_timeout, 10 * SEC);
	assert_int_equal(c->keepalive_timeout, 30 * SEC);
	assert_int_equal(c->max_connections_per_address, 0); /* a quarter of max_connections */
	assert_int_equal(c->max_requests_per_address, 0);
	assert_int_equal(c->max_connections_per_principal, 0);
	assert_int_equal(c->max_requests_per_principal, 0);
	assert_int_equal(c->max_concurrent_queries, 16);
	assert_int_equal(c->query_queue_timeout, 2 * SEC);
	assert_int_equal(c->nattach, 0);
	conf_free(c);
}

static void test_attach_defaults(void **state)
{
	(void)state;
	struct conf *c = parse("[daemon]\npoll_interval = 1m\n"
	                       "[attach \"a\"]\nleader = /srv/leader\ndatabase = Logs\n");
	struct conf_attach *a = c->attach[0];

	assert_int_equal(c->nattach, 1);
	assert_string_equal(a->name, "a");
	assert_int_equal(a->line, 3);
	assert_string_equal(a->leader, "/srv/leader");
	assert_string_equal(a->database, "Logs");
	assert_null(a->local_name);
	assert_null(a->local_prefix);
	assert_null(a->account_key_file);
	assert_null(a->sas_token_file);
	assert_null(a->account_key);
	assert_null(a->sas_token);
	assert_false(a->secret_too_open);
	assert_int_equal(a->include_tables.n, 0);
	assert_int_equal(a->exclude_materialized_views.n, 0);
	assert_int_equal(a->principals_modification_kind, CONF_MOD_UNION);
	assert_int_equal(a->caching_policies_modification_kind, CONF_MOD_UNION);
	assert_int_equal(a->hot_cache, CONF_UNSET);
	assert_int_equal(a->hot_windows.n, 0);
	assert_int_equal(a->table_hot_cache.n, 0);
	assert_false(a->prefetch);
	assert_int_equal(a->poll_interval, CONF_UNSET);
	assert_int_equal(conf_attach_poll_interval(c, a), MIN); /* the daemon's */
	assert_ptr_equal(conf_attach_find(c, "a"), a);
	assert_null(conf_attach_find(c, "b"));
	conf_free(c);
}

static void test_option_table(void **state)
{
	(void)state;
	size_t n;
	const struct conf_option *o = conf_options(&n);

	assert_true(n > 30);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(o[i].name);
		assert_non_null(o[i].help);
		assert_string_not_equal(conf_type_name(o[i].type), "?");
		/* Keys are unique within a section. */
		for (size_t j = 0; j < i; j++)
			if (o[i].scope == o[j].scope && strcmp(o[i].name, o[j].name) == 0)
				fail_msg("key %s twice", o[i].name);
	}
}

/* The man page and the example file document every option: the table is
 * the truth, the documents follow it. */
static char *read_doc(const char *rel)
{
	char path[512];
	const char *self = __FILE__;
	const char *tail = strstr(self, "tests/unit/test_conf.c");
	int plen = tail != NULL ? (int)(tail - self) : 0;
	(void)snprintf(path, sizeof(path), "%.*s%s", plen, self, rel);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	char *buf = calloc(1, 1 << 20);
	assert_non_null(buf);
	assert_true(fread(buf, 1, (1 << 20) - 1, f) > 0);
	fclose(f);
	return buf;
}

static void test_documented(void **state)
{
	(void)state;
	size_t n;
	const struct conf_option *o = conf_options(&n);
	char *man = read_doc("man/followerd.conf.5");
	char *example = read_doc("conf/followerd.conf");
	char want[128];

	for (size_t i = 0; i < n; i++) {
		/* man: ".It Cm name" is not roff we use; we look for ".B name". */
		(void)snprintf(want, sizeof(want), "\n.B %s\n", o[i].name);
		if (strstr(man, want) == NULL)
			fail_msg("man/followerd.conf.5 does not document %s", o[i].name);
		(void)snprintf(want, sizeof(want), "\n#%s = ", o[i].name);
		char want2[128];
		(void)snprintf(want2, sizeof(want2), "\n%s = ", o[i].name);
		if (strstr(example, want) == NULL && strstr(example, want2) == NULL)
			fail_msg("conf/followerd.conf does not show %s", o[i].name);
	}
	free(man);
	free(example);
}

/* The example file with its example lines ('#' directly followed by a key
 * or a section) uncommented. */
static char *uncomment(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;

	assert_non_null(out);
	for (const char *line = text; *line != '\0';) {
		const char *nl = strchr(line, '\n');
		size_t n = nl != NULL ? (size_t)(nl - line) + 1 : strlen(line);
		bool example =
		    line[0] == '#' && ((line[1] >= 'a' && line[1] <= 'z') || line[1] == '[');
		memcpy(o, line + example, n - example);
		o += n - example;
		line += n;
	}
	*o = '\0';
	return out;
}

/* The shipped example: as it is, it changes nothing; uncommented, its
 * examples parse and its shown defaults are the real ones. */
static void test_example(void **state)
{
	(void)state;
	char *text = read_doc("conf/followerd.conf");
	char *examples = uncomment(text);
	struct conf *defaults = parse(""), *c = parse(text);
	struct conf_diff d;

	assert_int_equal(c->nattach, 0);
	assert_int_equal(conf_diff(defaults, c, &d), 0);
	assert_int_equal(d.daemon.n, 0);
	conf_diff_clear(&d);
	conf_free(c);

	c = parse_flags(examples, CONF_SKIP_SECRETS);
	assert_int_equal(c->nattach, 3);
	assert_int_equal(conf_diff(defaults, c, &d), 0);
	/* Only the keys without a default show an example value. */
	for (size_t i = 0; i < d.daemon.n; i++)
		if (strcmp(d.daemon.items[i], "follower_name") != 0 &&
		    strcmp(d.daemon.items[i], "tls_cert") != 0 &&
		    strcmp(d.daemon.items[i], "tls_key") != 0 &&
		    strcmp(d.daemon.items[i], "tls_client_ca") != 0 &&
		    strcmp(d.daemon.items[i], "tokens_file") != 0)
			fail_msg("conf/followerd.conf shows a wrong default for %s",
			         d.daemon.items[i]);
	conf_diff_clear(&d);

	/* The first example shows the attach defaults. */
	struct conf_attach *a = c->attach[0];
	assert_int_equal(a->principals_modification_kind, CONF_MOD_UNION);
	assert_int_equal(a->caching_policies_modification_kind, CONF_MOD_UNION);
	assert_false(a->prefetch);
	conf_free(c);
	conf_free(defaults);
	free(examples);
	free(text);
}

/* ---- every type, valid ---- */

static void test_values(void **state)
{
	(void)state;
	struct conf *c = parse("# a comment\n"
	                       "  # an indented comment\n"
	                       "[daemon]   # header comment\n"
	                       "state_dir = /srv/state          # trailing comment\n"
	                       "cache_dir=\"/srv/cache # not a comment\"\n"
	                       "\tlog_level\t=\tdebug\t\n"
	                       "cache_max_size = 512M\n"
	                       "min_free_space = 1g\n"
	                       "fetch_concurrency = 1024\n"
	                       "fetch_concurrency_per_leader = 1\n"
	                       "poll_interval = 1.5h\n"
	                       "follower_name = follower-eu-1\n"
	                       "tls_cert = /etc/followerd/cert.pem\n"
	                       "tls_key = /etc/followerd/key.pem\n"
	                       "tokens_file = \"/etc/followerd/to\\\"k\\\\ens\"\n"
	                       "allow_anonymous = true\n"
	                       "max_lag = 1.00:00:00\n"
	                       "max_connections = 1\n"
	                       "request_timeout = 1h\n");

	assert_string_equal(c->state_dir, "/srv/state");
	assert_string_equal(c->cache_dir, "/srv/cache # not a comment");
	assert_int_equal(c->log_level, CONF_LOG_DEBUG);
	assert_int_equal(c->cache_max_size, (uint64_t)512 << 20);
	assert_int_equal(c->min_free_space, GIB);
	assert_int_equal(c->fetch_concurrency, 1024);
	assert_int_equal(c->fetch_concurrency_per_leader, 1);
	assert_int_equal(c->poll_interval, 90 * MIN);
	assert_string_equal(c->follower_name, "follower-eu-1");
	assert_string_equal(c->tls_cert, "/etc/followerd/cert.pem");
	assert_string_equal(c->tls_key, "/etc/followerd/key.pem");
	assert_string_equal(c->tokens_file, "/etc/followerd/to\"k\\ens");
	assert_true(c->allow_anonymous);
	assert_int_equal(c->max_lag, DAY);
	assert_int_equal(c->max_connections, 1);
	assert_int_equal(c->request_timeout, HOUR);
	conf_free(c);
}

static void test_sizes(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint64_t want;
	} cases[] = {
	    {"0", 0},
	    {"1", 1},
	    {"4096", 4096},
	    {"1K", 1024},
	    {"1k", 1024},
	    {"3M", (uint64_t)3 << 20},
	    {"100G", 100 * GIB},
	    {"2T", (uint64_t)2 << 40},
	    {"1024T", (uint64_t)1 << 50},
	};
	char text[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(text, sizeof(text), "[daemon]\ncache_max_size = %s\n",
		               cases[i].text);
		struct conf *c = parse(text);
		assert_int_equal(c->cache_max_size, cases[i].want);
		conf_free(c);
	}
}

static void test_durations(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int64_t want;
	} cases[] = {
	    {"1s", SEC}, {"90s", 90 * SEC}, {"30m", 30 * MIN},      {"12h", 12 * HOUR},
	    {"1d", DAY}, {"1000ms", SEC},   {"00:00:10", 10 * SEC}, {"1.00:00:00", DAY},
	};
	char text[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		(void)snprintf(text, sizeof(text), "[daemon]\npoll_interval = %s\n", cases[i].text);
		struct conf *c = parse(text);
		assert_int_equal(c->poll_interval, cases[i].want);
		conf_free(c);
	}
}

static void test_addresses(void **state)
{
	(void)state;
	struct conf *c = parse("[daemon]\n"
	                       "listen = 0.0.0.0:80\n"
	                       "listen = [::1]:8443\n"
	                       "listen = localhost:0\n"
	                       "listen = unix:/run/followerd/http.sock\n"
	                       "listen = [::]:65535\n");

	assert_int_equal(c->listen.n, 5); /* the default is replaced, not kept */
	assert_int_equal(c->listen.v[0].kind, CONF_ADDR_INET);
	assert_string_equal(c->listen.v[0].host, "0.0.0.0");
	assert_int_equal(c->listen.v[0].port, 80);
	assert_string_equal(c->listen.v[1].host, "::1");
	assert_int_equal(c->listen.v[1].port, 8443);
	assert_string_equal(c->listen.v[2].host, "localhost");
	assert_int_equal(c->listen.v[2].port, 0);
	assert_int_equal(c->listen.v[3].kind, CONF_ADDR_UNIX);
	assert_string_equal(c->listen.v[3].path, "/run/followerd/http.sock");
	assert_string_equal(c->listen.v[4].host, "::");
	assert_int_equal(c->listen.v[4].port, 65535);
	conf_free(c);
}

static void test_attach_values(void **state)
{
	(void)state;
	struct conf *c = parse("[attach \"logs-east\"]\n"
	                       "leader = https://acct.blob.core.windows.net/leader1\n"
	                       "database = Logs\n"
	                       "local_name = Logs East\n"
	                       "include_tables = tableA*, tableB*\n"
	                       "include_tables = My Table   # repeating a list key appends\n"
	                       "exclude_tables = tableA_private\n"
	                       "include_external_tables = ext*\n"
	                       "exclude_external_tables = ext_old\n"
	                       "include_materialized_views = mv1,mv2\n"
	                       "exclude_materialized_views = *\n"
	                       "principals_modification_kind = replace\n"
	                       "caching_policies_modification_kind = replace\n"
	                       "hot_cache = 7d\n"
	                       "hot_window = 2026-01-01T00:00:00Z .. 2026-02-01T00:00:00Z\n"
	                       "hot_window = 2026-03-01T00:00:00.5Z..2026-03-01T00:00:00.5Z\n"
	                       "table_hot_cache = Events:1d\n"
	                       "table_hot_cache = My Table : 00:30:00\n"
	                       "prefetch = true\n"
	                       "poll_interval = 10s\n"
	                       "[attach \"all\"]\n"
	                       "leader = file:///srv/leader2\n"
	                       "database = *\n"
	                       "local_prefix = west_\n");
	struct conf_attach *a = c->attach[0], *b = c->attach[1];
	int64_t jan, feb, mar;

	assert_int_equal(timefmt_parse_datetime("2026-01-01T00:00:00Z", &jan), 0);
	assert_int_equal(timefmt_parse_datetime("2026-02-01T00:00:00Z", &feb), 0);
	assert_int_equal(timefmt_parse_datetime("2026-03-01T00:00:00.5Z", &mar), 0);
	assert_int_equal(c->nattach, 2);
	assert_string_equal(a->local_name, "Logs East");
	assert_int_equal(a->include_tables.n, 3);
	assert_string_equal(a->include_tables.items[0], "tableA*");
	assert_string_equal(a->include_tables.items[1], "tableB*");
	assert_string_equal(a->include_tables.items[2], "My Table");
	assert_int_equal(a->exclude_tables.n, 1);
	assert_string_equal(a->include_materialized_views.items[1], "mv2");
	assert_string_equal(a->exclude_materialized_views.items[0], "*");
	assert_int_equal(a->principals_modification_kind, CONF_MOD_REPLACE);
	assert_int_equal(a->caching_policies_modification_kind, CONF_MOD_REPLACE);
	assert_int_equal(a->hot_cache, 7 * DAY);
	assert_int_equal(a->hot_windows.n, 2);
	assert_int_equal(a->hot_windows.v[0].min, jan);
	assert_int_equal(a->hot_windows.v[0].max, feb);
	assert_int_equal(a->hot_windows.v[1].min, mar);
	assert_int_equal(a->hot_windows.v[1].max, mar);
	assert_int_equal(a->table_hot_cache.n, 2);
	assert_string_equal(a->table_hot_cache.v[0].table, "Events");
	assert_int_equal(a->table_hot_cache.v[0].hot, DAY);
	assert_string_equal(a->table_hot_cache.v[1].table, "My Table");
	assert_int_equal(a->table_hot_cache.v[1].hot, 30 * MIN);
	assert_true(a->prefetch);
	assert_int_equal(a->poll_interval, 10 * SEC);
	assert_int_equal(conf_attach_poll_interval(c, a), 10 * SEC);
	assert_string_equal(b->database, "*");
	assert_string_equal(b->local_prefix, "west_");

	/* The example, through the attach's lists. */
	assert_true(conf_attach_includes(a, CONF_ENTITY_TABLE, "tableA"));
	assert_true(conf_attach_includes(a, CONF_ENTITY_TABLE, "tableA2"));
	assert_false(conf_attach_includes(a, CONF_ENTITY_TABLE, "tableA_private"));
	assert_true(conf_attach_includes(a, CONF_ENTITY_TABLE, "tableB"));
	assert_false(conf_attach_includes(a, CONF_ENTITY_TABLE, "tableC"));
	assert_true(conf_attach_includes(a, CONF_ENTITY_EXTERNAL_TABLE, "ext1"));
	assert_false(conf_attach_includes(a, CONF_ENTITY_EXTERNAL_TABLE, "ext_old"));
	assert_false(conf_attach_includes(a, CONF_ENTITY_MATERIALIZED_VIEW, "mv1"));
	assert_true(conf_attach_includes(b, CONF_ENTITY_MATERIALIZED_VIEW, "anything"));
	conf_free(c);
}

/* CRLF line ends, a byte order mark, a last line without a newline. */
static void test_line_ends(void **state)
{
	(void)state;
	struct conf *c = parse("\xef\xbb\xbf[daemon]\r\nstate_dir = /a\r\n\r\ncache_dir = /b");

	assert_string_equal(c->state_dir, "/a");
	assert_string_equal(c->cache_dir, "/b");
	conf_free(c);
}

/* ---- every type and rule, invalid: the exact message ---- */

#define NAME_RULE                                                                                  \
	"1-256 characters from A-Z a-z 0-9 _ - . and space, not starting or ending with a space"
#define SECTIONS "(expected [daemon] or [attach \"NAME\"])"

struct bad {
	const char *text;
	int r;
	const char *err;
};

static const struct bad bad_daemon[] = {
    {"[daemon]\npoll_interval = 10x\n", -EINVAL,
     "followerd.conf:2: poll_interval: '10x' is not a duration (expected e.g. 30s, 5m, 1h)"},
    {"[daemon]\npoll_interval = 0\n", -EINVAL,
     "followerd.conf:2: poll_interval: '0' is out of range (expected 100ms to 1d)"},
    {"[daemon]\npoll_interval = 25h\n", -EINVAL,
     "followerd.conf:2: poll_interval: '25h' is out of range (expected 100ms to 1d)"},
    {"[daemon]\nstate_dir = var/lib\n", -EINVAL,
     "followerd.conf:2: state_dir: 'var/lib' is not an absolute path"},
    {"[daemon]\nallow_anonymous = yes\n", -EINVAL,
     "followerd.conf:2: allow_anonymous: 'yes' is not a boolean (expected true or false)"},
    {"[daemon]\nallow_anonymous = True\n", -EINVAL,
     "followerd.conf:2: allow_anonymous: 'True' is not a boolean (expected true or false)"},
    {"[daemon]\nfetch_concurrency = 0\n", -EINVAL,
     "followerd.conf:2: fetch_concurrency: '0' is out of range (expected 1 to 1024)"},
    {"[daemon]\nfetch_concurrency = -3\n", -EINVAL,
     "followerd.conf:2: fetch_concurrency: '-3' is out of range (expected 1 to 1024)"},
    {"[daemon]\nfetch_concurrency = 16x\n", -EINVAL,
     "followerd.conf:2: fetch_concurrency: '16x' is not an integer"},
    {"[daemon]\nfetch_concurrency = 99999999999999999999999\n", -EINVAL,
     "followerd.conf:2: fetch_concurrency: '99999999999999999999999' is not an integer"},
    {"[daemon]\ncache_max_size = 1.5G\n", -EINVAL,
     "followerd.conf:2: cache_max_size: '1.5G' is not a size (expected e.g. 512M, 100G; K, "
     "M, G, T are powers of 1024)"},
    {"[daemon]\ncache_max_size = 10X\n", -EINVAL,
     "followerd.conf:2: cache_max_size: '10X' is not a size (expected e.g. 512M, 100G; K, "
     "M, G, T are powers of 1024)"},
    {"[daemon]\ncache_max_size = G\n", -EINVAL,
     "followerd.conf:2: cache_max_size: 'G' is not a size (expected e.g. 512M, 100G; K, "
     "M, G, T are powers of 1024)"},
    {"[daemon]\ncache_max_size = 99999999999T\n", -EINVAL,
     "followerd.conf:2: cache_max_size: '99999999999T' is not a size (expected e.g. 512M, "
     "100G; K, M, G, T are powers of 1024)"},
    {"[daemon]\ncache_max_size = 1025T\n", -EINVAL,
     "followerd.conf:2: cache_max_size: '1025T' is out of range (expected 0 to 1024T)"},
    {"[daemon]\nlog_level = verbose\n", -EINVAL,
     "followerd.conf:2: log_level: 'verbose' is not one of error, warning, notice, info, "
     "debug"},
    {"[daemon]\nlisten = 127.0.0.1\n", -EINVAL,
     "followerd.conf:2: listen: '127.0.0.1' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nlisten = ::1:80\n", -EINVAL,
     "followerd.conf:2: listen: '::1:80' is not an address (expected host:port, [v6]:port "
     "or unix:/path)"},
    {"[daemon]\nlisten = [::1:80\n", -EINVAL,
     "followerd.conf:2: listen: '[::1:80' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nlisten = [1.2.3.4]:80\n", -EINVAL,
     "followerd.conf:2: listen: '[1.2.3.4]:80' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nlisten = host:65536\n", -EINVAL,
     "followerd.conf:2: listen: 'host:65536' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nlisten = host:-1\n", -EINVAL,
     "followerd.conf:2: listen: 'host:-1' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nlisten = unix:run/x.sock\n", -EINVAL,
     "followerd.conf:2: listen: 'unix:run/x.sock' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nlisten = -bad:80\n", -EINVAL,
     "followerd.conf:2: listen: '-bad:80' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nlisten = a_b:80\n", -EINVAL,
     "followerd.conf:2: listen: 'a_b:80' is not an address (expected host:port, "
     "[v6]:port or unix:/path)"},
    {"[daemon]\nfollower_name = my follower\n", -EINVAL,
     "followerd.conf:2: follower_name: 'my follower' is not a valid name (1-256 characters "
     "from A-Z a-z 0-9 _ - .)"},
    {"[daemon]\nadmin_socket = "
     "/run/0123456789012345678901234567890123456789012345678901234567890123456789012345678901"
     "2345678901234567890123456789\n",
     -EINVAL,
     "followerd.conf:2: admin_socket: "
     "'/run/01234567890123456789012345678901234567890123456789012345678...' is longer "
     "than 107 characters"},
    {"[daemon]\nfetch_concurrency = 4\nfetch_concurrency_per_leader = 8\n", -EINVAL,
     "followerd.conf:3: fetch_concurrency_per_leader: 8 is more than fetch_concurrency (4)"},
    {"[daemon]\nfetch_concurrency = 2\n", -EINVAL,
     "followerd.conf:1: fetch_concurrency_per_leader: 4 is more than fetch_concurrency (2)"},
    {"[daemon]\ntls_cert = /etc/c.pem\n", -EINVAL,
     "followerd.conf:2: tls_cert: needs tls_key as well"},
    {"[daemon]\n\ntls_key = /etc/k.pem\n", -EINVAL,
     "followerd.conf:3: tls_key: needs tls_cert as well"},
    {"[daemon]\nmax_lag = 5m\nmax_lag = 6m\n", -EINVAL,
     "followerd.conf:3: max_lag: given twice (first at line 2)"},
    {"[daemon]\nstate_dir =\n", -EINVAL, "followerd.conf:2: state_dir: no value"},
    {"[daemon]\nstate_dir =   # nothing\n", -EINVAL, "followerd.conf:2: state_dir: no value"},
    {"[daemon]\nstate_dir = \"\"\n", -EINVAL, "followerd.conf:2: state_dir: no value"},
    {"[daemon]\nstate_dir = /caf\xc3\n", -EINVAL,
     "followerd.conf:2: state_dir: the value is not valid UTF-8"},
    {"[daemon]\nstate_dir = /\xed\xa0\x80\n", -EINVAL, /* a surrogate */
     "followerd.conf:2: state_dir: the value is not valid UTF-8"},
    {"[daemon]\nstate_dir = /\xc0\xaf\n", -EINVAL, /* overlong '/' */
     "followerd.conf:2: state_dir: the value is not valid UTF-8"},
};

static const struct bad bad_syntax[] = {
    {"[daemon]\npol_interval = 10s\n", -EINVAL,
     "followerd.conf:2: unknown key 'pol_interval' in [daemon] (did you mean "
     "'poll_interval'?)"},
    {"[daemon]\nStateDir = /x\n", -EINVAL, "followerd.conf:2: unknown key 'StateDir' in [daemon]"},
    {"[daemon]\nfrobnicate = 1\n", -EINVAL,
     "followerd.conf:2: unknown key 'frobnicate' in [daemon]"},
    {"[attach \"a\"]\nleadr = /x\n", -EINVAL,
     "followerd.conf:2: unknown key 'leadr' in [attach] (did you mean 'leader'?)"},
    {"[daemon]\nprefetch = true\n", -EINVAL,
     "followerd.conf:2: 'prefetch' is not a [daemon] key (it belongs in [attach \"NAME\"] "
     "sections)"},
    {"[attach \"a\"]\nstate_dir = /x\n", -EINVAL,
     "followerd.conf:2: 'state_dir' is not an [attach] key (it belongs in [daemon])"},
    {"state_dir = /x\n", -EINVAL,
     "followerd.conf:1: 'state_dir' is outside a section (start with [daemon] or [attach "
     "\"NAME\"])"},
    {"[deamon]\n", -EINVAL, "followerd.conf:1: unknown section 'deamon' " SECTIONS},
    {"[Daemon]\n", -EINVAL, "followerd.conf:1: unknown section 'Daemon' " SECTIONS},
    {"[daemon\n", -EINVAL, "followerd.conf:1: malformed section header " SECTIONS},
    {"[]\n", -EINVAL, "followerd.conf:1: malformed section header " SECTIONS},
    {"[daemon] x\n", -EINVAL, "followerd.conf:1: malformed section header " SECTIONS},
    {"[daemon \"x\"]\n", -EINVAL, "followerd.conf:1: malformed section header " SECTIONS},
    {"[attach]\n", -EINVAL, "followerd.conf:1: [attach] needs a quoted name: [attach \"NAME\"]"},
    {"[attach \"a]\n", -EINVAL, "followerd.conf:1: unterminated attach name"},
    {"[attach \"a\" x]\n", -EINVAL, "followerd.conf:1: malformed section header " SECTIONS},
    {"[attach \"a b\"]\n", -EINVAL,
     "followerd.conf:1: [attach]: 'a b' is not a valid name (1-256 characters from A-Z a-z "
     "0-9 _ - .)"},
    {"[attach \"\"]\n", -EINVAL,
     "followerd.conf:1: [attach]: '' is not a valid name (1-256 characters from A-Z a-z 0-9 "
     "_ - .)"},
    {"[daemon]\n[daemon]\n", -EINVAL, "followerd.conf:2: [daemon] given twice (first at line 1)"},
    {"[daemon]\nstate_dir\n", -EINVAL, "followerd.conf:2: expected '=' after 'state_dir'"},
    {"[daemon]\nstate_dir /x\n", -EINVAL, "followerd.conf:2: expected '=' after 'state_dir'"},
    {"[daemon]\n= /x\n", -EINVAL, "followerd.conf:2: expected 'key = value' or a [section]"},
    {"[daemon]\nstate-dir = /x\n", -EINVAL, "followerd.conf:2: expected '=' after 'state'"},
    {"[daemon]\nstate_dir = \"/a\n", -EINVAL, "followerd.conf:2: unterminated quoted value"},
    {"[daemon]\nstate_dir = \"/a\\\"\n", -EINVAL, "followerd.conf:2: unterminated quoted value"},
    {"[daemon]\nstate_dir = \"/a\" b\n", -EINVAL, "followerd.conf:2: text after the closing quote"},
    {"[daemon]\nstate_dir = /a\"b\n", -EINVAL,
     "followerd.conf:2: a '\"' may only quote a whole value"},
    {"[daemon]\nstate_dir = \"/a\\n\"\n", -EINVAL,
     "followerd.conf:2: unknown escape in a quoted value (only \\\" and \\\\)"},
    {"[daemon]\nstate_dir = /a\x01\n", -EINVAL, "followerd.conf:2: control character 0x01"},
    {"[daemon]\n\x7f\n", -EINVAL, "followerd.conf:2: control character 0x7f"},
    {"[daemon]\rstate_dir = /a\n", -EINVAL, "followerd.conf:1: control character 0x0d"},
};

static const struct bad bad_attach[] = {
    {"[daemon]\n\n[attach \"a\"]\ndatabase = Logs\n", -EINVAL,
     "followerd.conf:3: [attach \"a\"]: missing 'leader'"},
    {"[attach \"a\"]\nleader = /l\n[daemon]\n", -EINVAL,
     "followerd.conf:1: [attach \"a\"]: missing 'database'"},
    {"[attach \"a\"]\nleader = /l\ndatabase = *\nlocal_name = X\n", -EINVAL,
     "followerd.conf:4: local_name: not allowed with database = * (use local_prefix)"},
    {"[attach \"a\"]\nleader = /l\ndatabase = Logs\nlocal_prefix = x_\n", -EINVAL,
     "followerd.conf:4: local_prefix: only allowed with database = * (use local_name)"},
    {"[attach \"a\"]\nleader = /l\ndatabase = Logs\naccount_key_file = /k\n"
     "sas_token_file = /s\n",
     -EINVAL,
     "followerd.conf:5: sas_token_file: not allowed with account_key_file (give one "
     "credential)"},
    {"[attach \"a\"]\nleader = /l\ndatabase = Logs\nhot_cache = 7d\n"
     "caching_policies_modification_kind = none\n",
     -EINVAL,
     "followerd.conf:4: hot_cache: has no effect with caching_policies_modification_kind = "
     "none"},
    {"[attach \"a\"]\nleader = /l\ndatabase = Logs\ncaching_policies_modification_kind = none\n"
     "table_hot_cache = T:1d\n",
     -EINVAL,
     "followerd.conf:5: table_hot_cache: has no effect with "
     "caching_policies_modification_kind = none"},
    {"[attach \"a\"]\nleader = /l\ndatabase = A\n[attach \"b\"]\nleader = /l\ndatabase = B\n"
     "[attach \"a\"]\nleader = /m\ndatabase = C\n",
     -EEXIST, "followerd.conf:7: attach \"a\" is already defined at line 1"},
    /* The example: the same local database, from another leader. */
    {"[attach \"a\"]\nleader = /srv/leader1\ndatabase = Logs\n"
     "[attach \"b\"]\nleader = https://acct.blob.core.windows.net/leader2\n"
     "database = Other\nlocal_name = Logs\n",
     -EEXIST,
     "followerd.conf:4: attach \"b\" would land on the same local database 'Logs' as attach "
     "\"a\" (line 1)"},
    {"[attach \"x\"]\nleader = /l\ndatabase = A\nlocal_name = Same\n"
     "[attach \"y\"]\nleader = /l\ndatabase = B\n"
     "[attach \"z\"]\nleader = /m\ndatabase = Same\n",
     -EEXIST,
     "followerd.conf:8: attach \"z\" would land on the same local database 'Same' as attach "
     "\"x\" (line 1)"},
    {"[attach \"a\"]\nleader = https://acct.blob.core.windows.net/c?sv=1&sig=x\n", -EINVAL,
     "followerd.conf:2: leader: 'https://acct.blob.core.windows.net/c?sv=1&sig=x' has a "
     "query or fragment: give a SAS token in sas_token_file"},
    {"[attach \"a\"]\nleader = ftp://host/x\n", -EINVAL,
     "followerd.conf:2: leader: 'ftp://host/x' is not a leader root (expected https://..., "
     "http://..., file:///dir or /dir)"},
    {"[attach \"a\"]\nleader = srv/leader\n", -EINVAL,
     "followerd.conf:2: leader: 'srv/leader' is not a leader root (expected https://..., "
     "http://..., file:///dir or /dir)"},
    {"[attach \"a\"]\nleader = https://user:pw@host/c\n", -EINVAL,
     "followerd.conf:2: leader: 'https://user:pw@host/c' holds credentials: give them in "
     "account_key_file or sas_token_file"},
    {"[attach \"a\"]\nleader = https:///c\n", -EINVAL,
     "followerd.conf:2: leader: 'https:///c' has no host"},
    {"[attach \"a\"]\nleader = \"/a b\"\n", -EINVAL,
     "followerd.conf:2: leader: '/a b' contains a space"},
    {"[attach \"a\"]\nleader = /l\ndatabase = Bad/Name\n", -EINVAL,
     "followerd.conf:3: database: 'Bad/Name' is not a database name (" NAME_RULE
     ") or * (every database)"},
    {"[attach \"a\"]\nleader = /l\ndatabase = \" Logs\"\n", -EINVAL,
     "followerd.conf:3: database: ' Logs' is not a database name (" NAME_RULE
     ") or * (every database)"},
    {"[attach \"a\"]\nlocal_name = a*\n", -EINVAL,
     "followerd.conf:2: local_name: 'a*' is not a database name (" NAME_RULE ")"},
    {"[attach \"a\"]\nlocal_prefix = \" x\"\n", -EINVAL,
     "followerd.conf:2: local_prefix: ' x' is not a name prefix (1-255 characters from A-Z "
     "a-z 0-9 _ - . and space, not starting with a space)"},
    {"[attach \"a\"]\ninclude_tables = a,,b\n", -EINVAL,
     "followerd.conf:2: include_tables: empty item in 'a,,b'"},
    {"[attach \"a\"]\ninclude_tables = a,\n", -EINVAL,
     "followerd.conf:2: include_tables: empty item in 'a,'"},
    {"[attach \"a\"]\nexclude_tables = a/b\n", -EINVAL,
     "followerd.conf:2: exclude_tables: 'a/b' is not a name pattern (1-256 characters from "
     "A-Z a-z 0-9 _ - . space and *, not starting or ending with a space)"},
    {"[attach \"a\"]\nhot_window = 2026-02-01T00:00:00Z .. 2026-01-01T00:00:00Z\n", -EINVAL,
     "followerd.conf:2: hot_window: '2026-02-01T00:00:00Z .. 2026-01-01T00:00:00Z' ends "
     "before it starts"},
    {"[attach \"a\"]\nhot_window = 2026-01-01T00:00:00Z\n", -EINVAL,
     "followerd.conf:2: hot_window: '2026-01-01T00:00:00Z' is not a hot window (expected "
     "e.g. 2026-01-01T00:00:00Z .. 2026-02-01T00:00:00Z)"},
    {"[attach \"a\"]\nhot_window = 2026-01-01 .. 2026-02-01\n", -EINVAL,
     "followerd.conf:2: hot_window: '2026-01-01 .. 2026-02-01' is not a hot window "
     "(expected e.g. 2026-01-01T00:00:00Z .. 2026-02-01T00:00:00Z)"},
    {"[attach \"a\"]\ntable_hot_cache = Events\n", -EINVAL,
     "followerd.conf:2: table_hot_cache: 'Events' is not a table hot span (expected "
     "TABLE:DURATION, e.g. Events:1d)"},
    {"[attach \"a\"]\ntable_hot_cache = Events:1d\ntable_hot_cache = Events:2d\n", -EINVAL,
     "followerd.conf:3: table_hot_cache: table 'Events' is given twice"},
    {"[attach \"a\"]\ntable_hot_cache = Events:10x\n", -EINVAL,
     "followerd.conf:2: table_hot_cache: '10x' is not a duration (expected e.g. 30s, 5m, "
     "1h)"},
    {"[attach \"a\"]\ntable_hot_cache = Bad/T:1d\n", -EINVAL,
     "followerd.conf:2: table_hot_cache: 'Bad/T' is not a table name (" NAME_RULE ")"},
    {"[attach \"a\"]\ntable_hot_cache = :1d\n", -EINVAL,
     "followerd.conf:2: table_hot_cache: '' is not a table name (" NAME_RULE ")"},
    {"[attach \"a\"]\nhot_cache = 36501d\n", -EINVAL,
     "followerd.conf:2: hot_cache: '36501d' is out of range (expected 0 to 36500d)"},
    {"[attach \"a\"]\nprincipals_modification_kind = merge\n", -EINVAL,
     "followerd.conf:2: principals_modification_kind: 'merge' is not one of none, union, "
     "replace"},
    {"[attach \"a\"]\npoll_interval = 0\n", -EINVAL,
     "followerd.conf:2: poll_interval: '0' is out of range (expected 100ms to 1d)"},
    {"[attach \"a\"]\nprefetch = 1\n", -EINVAL,
     "followerd.conf:2: prefetch: '1' is not a boolean (expected true or false)"},
    {"[attach \"a\"]\naccount_key_file = keys/a.key\n", -EINVAL,
     "followerd.conf:2: account_key_file: 'keys/a.key' is not an absolute path"},
    {"[attach \"a\"]\nleader = /l\nleader = /m\n", -EINVAL,
     "followerd.conf:3: leader: given twice (first at line 2)"},
};

static void run_bad(const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		expect_error(cases[i].text, cases[i].r, cases[i].err);
}

static void test_bad_daemon(void **state)
{
	(void)state;
	run_bad(bad_daemon, sizeof(bad_daemon) / sizeof(bad_daemon[0]));
}

static void test_bad_syntax(void **state)
{
	(void)state;
	run_bad(bad_syntax, sizeof(bad_syntax) / sizeof(bad_syntax[0]));
}

static void test_bad_attach(void **state)
{
	(void)state;
	run_bad(bad_attach, sizeof(bad_attach) / sizeof(bad_attach[0]));
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "[daemon]\nstate_dir = /a\0b\n";
	expect_error_len(text, sizeof(text) - 1, -EINVAL,
	                 "followerd.conf:2: control character 0x00");
}

/* ---- bounds ---- */

static void test_long_line(void **state)
{
	(void)state;
	char text[5000];
	char want[128];

	/* Exactly 4096 bytes is fine, 4097 is not. */
	memset(text, '#', sizeof(text));
	memcpy(text, "[daemon]\n", 9);
	text[9 + 4096] = '\n';
	text[9 + 4096 + 1] = '\0';
	struct conf *c = parse(text);
	conf_free(c);
	text[9 + 4096] = '#';
	text[9 + 4097] = '\n';
	text[9 + 4098] = '\0';
	(void)snprintf(want, sizeof(want), "followerd.conf:2: line longer than 4096 bytes");
	expect_error(text, -E2BIG, want);
}

static void test_file_too_large(void **state)
{
	(void)state;
	size_t len = CONF_MAX_FILE_BYTES + 1;
	char *text = malloc(len + 1);

	assert_non_null(text);
	memset(text, '\n', len);
	text[len] = '\0';
	expect_error(text, -E2BIG, "followerd.conf: larger than 1048576 bytes");
	text[len - 1] = '\0'; /* 1 MiB of empty lines is fine */
	conf_free(parse(text));
	free(text);
}

static void test_too_many_attach(void **state)
{
	(void)state;
	struct text t;
	char want[128];

	text_open(&t);
	for (int i = 0; i <= CONF_MAX_ATTACH; i++)
		fprintf(t.f, "[attach \"a%d\"]\nleader=/l\ndatabase=D%d\n", i, i);
	const char *s = text_close(&t);
	(void)snprintf(want, sizeof(want), "followerd.conf:%d: more than 10000 [attach] sections",
	               3 * CONF_MAX_ATTACH + 1);
	expect_error(s, -E2BIG, want);

	/* 10,000 is fine, and a duplicate local name among them is found. */
	struct conf *c = parse_flags(s + strlen("[attach \"a0\"]\nleader=/l\ndatabase=D0\n"), 0);
	assert_int_equal(c->nattach, CONF_MAX_ATTACH);
	conf_free(c);
	free(t.s);

	text_open(&t);
	for (int i = 0; i < CONF_MAX_ATTACH; i++)
		fprintf(t.f, "[attach \"a%d\"]\nleader=/l\ndatabase=D%d\n", i,
		        i == 9999 ? 5000 : i);
	s = text_close(&t);
	expect_error(s, -EEXIST,
	             "followerd.conf:29998: attach \"a9999\" would land on the same local database "
	             "'D5000' as attach \"a5000\" (line 15001)");
	free(t.s);
}

static void test_too_many_items(void **state)
{
	(void)state;
	struct text t;

	text_open(&t);
	fprintf(t.f, "[attach \"a\"]\nleader=/l\ndatabase=D\n");
	for (int i = 0; i < CONF_MAX_ITEMS; i++)
		fprintf(t.f, "include_tables = t%d\n", i);
	const char *s = text_close(&t);
	struct conf *c = parse(s);
	assert_int_equal(c->attach[0]->include_tables.n, CONF_MAX_ITEMS);
	conf_free(c);
	free(t.s);

	text_open(&t);
	fprintf(t.f, "[attach \"a\"]\nleader=/l\ndatabase=D\n");
	for (int i = 0; i < CONF_MAX_ITEMS / 2; i++)
		fprintf(t.f, "include_tables = t%d, u%d\n", i, i);
	fprintf(t.f, "include_tables = last\n");
	s = text_close(&t);
	expect_error(s, -E2BIG, "followerd.conf:504: include_tables: more than 1000 items");
	free(t.s);

	text_open(&t);
	fprintf(t.f, "[attach \"a\"]\nleader=/l\ndatabase=D\n");
	for (int i = 0; i <= CONF_MAX_WINDOWS; i++)
		fprintf(t.f, "hot_window = 2026-01-01T00:00:00Z .. 2026-01-02T00:00:00Z\n");
	s = text_close(&t);
	expect_error(s, -E2BIG, "followerd.conf:68: hot_window: more than 64 hot windows");
	free(t.s);
}

/* ---- secrets ---- */

#define KEY                                                                                        \
	"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

static struct conf *parse_secret(const char *key, const char *path)
{
	char text[512];
	(void)snprintf(text, sizeof(text), "[attach \"a\"]\nleader = /l\ndatabase = D\n%s = %s\n",
	               key, path);
	return parse(text);
}

static void expect_secret_error(const char *key, const char *path, int r, const char *what)
{
	char text[512], want[512];
	(void)snprintf(text, sizeof(text), "[attach \"a\"]\nleader = /l\ndatabase = D\n%s = %s\n",
	               key, path);
	(void)snprintf(want, sizeof(want), "followerd.conf:4: %s: %s", key, what);
	expect_error(text, r, want);
}

static void test_secrets(void **state)
{
	(void)state;
	struct conf *c;
	char path[256], what[512];

	c = parse_secret("account_key_file", write_file("a.key", KEY "\n", 0600));
	assert_string_equal(c->attach[0]->account_key, KEY);
	assert_null(c->attach[0]->sas_token);
	assert_false(c->attach[0]->secret_too_open);
	conf_free(c);

	c = parse_secret("account_key_file", write_file("b.key", KEY, 0640));
	assert_string_equal(c->attach[0]->account_key, KEY);
	assert_true(c->attach[0]->secret_too_open);
	conf_free(c);

	c = parse_secret("sas_token_file", write_file("c.sas", "?sv=2024&sig=abc%2F\r\n", 0604));
	assert_string_equal(c->attach[0]->sas_token, "sv=2024&sig=abc%2F");
	assert_true(c->attach[0]->secret_too_open);
	conf_free(c);

	(void)snprintf(path, sizeof(path), "%s/absent.key", tmpdir);
	(void)snprintf(what, sizeof(what), "cannot read %s: No such file or directory", path);
	expect_secret_error("account_key_file", path, -ENOENT, what);

	(void)snprintf(what, sizeof(what), "%s is not a regular file", tmpdir);
	expect_secret_error("account_key_file", tmpdir, -EINVAL, what);

	strcpy(path, write_file("empty.key", "\n\n", 0600));
	(void)snprintf(what, sizeof(what), "%s is empty", path);
	expect_secret_error("account_key_file", path, -EINVAL, what);

	strcpy(path, write_file("two.key", "abc\ndef\n", 0600));
	(void)snprintf(what, sizeof(what), "%s must hold the secret alone on one line", path);
	expect_secret_error("account_key_file", path, -EINVAL, what);

	strcpy(path, write_file("bad.key", "not_base64!", 0600));
	(void)snprintf(what, sizeof(what), "%s does not hold a base64 account key", path);
	expect_secret_error("account_key_file", path, -EINVAL, what);

	strcpy(path, write_file("bad.sas", "sv=2024", 0600));
	(void)snprintf(what, sizeof(what), "%s does not hold a SAS token (expected sv=...&sig=...)",
	               path);
	expect_secret_error("sas_token_file", path, -EINVAL, what);

	char big[CONF_MAX_SECRET + 2];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strcpy(path, write_file("big.key", big, 0600));
	(void)snprintf(what, sizeof(what), "%s is larger than 4096 bytes", path);
	expect_secret_error("account_key_file", path, -E2BIG, what);

	/* Unreadable: only meaningful when not root (root reads anything). */
	if (geteuid() != 0) {
		strcpy(path, write_file("locked.key", KEY, 0000));
		(void)snprintf(what, sizeof(what), "cannot read %s: Permission denied", path);
		expect_secret_error("account_key_file", path, -EACCES, what);
	}

	/* CONF_SKIP_SECRETS reads nothing. */
	(void)snprintf(what, sizeof(what),
	               "[attach \"a\"]\nleader = /l\ndatabase = D\naccount_key_file = %s/absent\n",
	               tmpdir);
	c = parse_flags(what, CONF_SKIP_SECRETS);
	assert_null(c->attach[0]->account_key);
	conf_free(c);
}

/* A FIFO named as a secret file is refused without blocking. */
static void test_secret_fifo(void **state)
{
	(void)state;
	char path[256], what[512];

	(void)snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	(void)snprintf(what, sizeof(what), "%s is not a regular file", path);
	expect_secret_error("account_key_file", path, -EINVAL, what);
}

/* ---- conf_load ---- */

static void test_load(void **state)
{
	(void)state;
	char err[CONF_ERRLEN], want[512], path[256];
	struct conf *c = NULL;

	strcpy(path, write_file("f.conf", "[daemon]\nlog_level = warning\n", 0644));
	assert_int_equal(conf_load(path, 0, &c, err, sizeof(err)), 0);
	assert_int_equal(c->log_level, CONF_LOG_WARNING);
	conf_free(c);
	c = NULL;

	strcpy(path, write_file("g.conf", "[daemon]\nlog_level = loud\n", 0644));
	assert_int_equal(conf_load(path, 0, &c, err, sizeof(err)), -EINVAL);
	(void)snprintf(want, sizeof(want),
	               "%s:2: log_level: 'loud' is not one of error, warning, notice, info, debug",
	               path);
	assert_string_equal(err, want);
	assert_null(c);

	(void)snprintf(path, sizeof(path), "%s/none.conf", tmpdir);
	assert_int_equal(conf_load(path, 0, &c, err, sizeof(err)), -ENOENT);
	(void)snprintf(want, sizeof(want), "cannot read %s: No such file or directory", path);
	assert_string_equal(err, want);

	char *big = malloc(CONF_MAX_FILE_BYTES + 2);
	assert_non_null(big);
	memset(big, '\n', CONF_MAX_FILE_BYTES + 1);
	big[CONF_MAX_FILE_BYTES + 1] = '\0';
	strcpy(path, write_file("big.conf", big, 0644));
	free(big);
	assert_int_equal(conf_load(path, 0, &c, err, sizeof(err)), -E2BIG);
	(void)snprintf(want, sizeof(want), "%s is larger than 1048576 bytes", path);
	assert_string_equal(err, want);
	assert_null(c);
}

/* ---- dump: the effective configuration, parseable, without secrets ---- */

static const char full_text[] =
    "[daemon]\n"
    "state_dir = /srv/state\n"
    "cache_dir = \"/srv/ca#che\"\n"
    "listen = [::1]:8443\n"
    "listen = unix:/run/f.sock\n"
    "poll_interval = 1.5h\n"
    "max_lag = 00:00:01.0000001\n"
    "cache_max_size = 1536M\n"
    "min_free_space = 1000\n"
    "[attach \"a\"]\n"
    "leader = https://acct.blob.core.windows.net/leader1\n"
    "database = Logs\n"
    "local_name = Logs East\n"
    "include_tables = tableA*, tableB*\n"
    "exclude_tables = tableA_private\n"
    "caching_policies_modification_kind = replace\n"
    "hot_cache = 7d\n"
    "hot_window = 2026-01-01T00:00:00Z .. 2026-02-01T00:00:00.1234567Z\n"
    "table_hot_cache = Events:1d\n"
    "table_hot_cache = My Table:90s\n"
    "prefetch = true\n"
    "poll_interval = 10s\n"
    "[attach \"b\"]\n"
    "leader = /srv/leader2\n"
    "database = *\n"
    "local_prefix = b_\n";

static void test_dump(void **state)
{
	(void)state;
	char text[sizeof(full_text) + 256];
	const char *key = write_file("dump.key", KEY, 0600);

	(void)snprintf(text, sizeof(text), "%saccount_key_file = %s\n", full_text, key);
	struct conf *c = parse(text);
	char *dump = conf_dump(c);
	assert_non_null(dump);

	/* Secrets never appear, their files do. */
	assert_null(strstr(dump, KEY));
	assert_non_null(strstr(dump, key));
	assert_non_null(strstr(dump, "cache_dir = \"/srv/ca#che\"\n"));
	assert_non_null(strstr(dump, "poll_interval = 90m\n"));
	assert_non_null(strstr(dump, "max_lag = 00:00:01.0000001\n"));
	assert_non_null(strstr(dump, "cache_max_size = 1536M\n"));
	assert_non_null(strstr(dump, "min_free_space = 1000\n"));
	assert_non_null(strstr(dump, "listen = [::1]:8443\nlisten = unix:/run/f.sock\n"));
	assert_non_null(strstr(dump, "include_tables = tableA*, tableB*\n"));
	assert_non_null(strstr(dump, "log_level = info\n")); /* defaults included */
	assert_non_null(strstr(dump, "table_hot_cache = My Table:90s\n"));

	/* It parses back to the same configuration. */
	struct conf *again = parse(dump);
	struct conf_diff d;
	assert_int_equal(conf_diff(c, again, &d), 0);
	assert_int_equal(d.added.n + d.removed.n + d.changed.n + d.daemon.n, 0);
	conf_diff_clear(&d);
	for (size_t i = 0; i < c->nattach; i++)
		assert_true(conf_attach_equal(c->attach[i], again->attach[i]));
	conf_free(again);
	free(dump);
	conf_free(c);
}

/* A long list is dumped on several lines, each short enough to parse. */
static void test_dump_long_list(void **state)
{
	(void)state;
	struct text t;

	text_open(&t);
	fprintf(t.f, "[attach \"a\"]\nleader=/l\ndatabase=D\n");
	for (int i = 0; i < CONF_MAX_ITEMS; i++)
		fprintf(t.f, "include_tables = %0200d\n", i);
	const char *s = text_close(&t);
	struct conf *c = parse(s);
	char *dump = conf_dump(c);
	struct conf *again = parse(dump);
	assert_true(conf_attach_equal(c->attach[0], again->attach[0]));
	conf_free(again);
	conf_free(c);
	free(dump);
	free(t.s);
}

/* ---- JSON ---- */

static void test_json_round_trip(void **state)
{
	(void)state;
	char text[sizeof(full_text) + 256];
	char err[CONF_ERRLEN] = "";
	const char *sas = write_file("j.sas", "sv=1&sig=zz", 0600);

	(void)snprintf(text, sizeof(text), "%ssas_token_file = %s\n", full_text, sas);
	struct conf *c = parse(text);
	for (size_t i = 0; i < c->nattach; i++) {
		json_t *j = conf_attach_to_json(c->attach[i]);
		assert_non_null(j);
		/* Through text, as the store keeps it. */
		char *s = json_dumps(j, JSON_COMPACT);
		assert_non_null(s);
		assert_null(strstr(s, "sig=zz")); /* no secret */
		json_t *back = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
		assert_non_null(back);
		struct conf_attach *a = NULL;
		if (conf_attach_from_json(back, 0, &a, err, sizeof(err)) != 0)
			fail_msg("%s\n%s", err, s);
		assert_true(conf_attach_equal(c->attach[i], a));
		assert_int_equal(a->line, 0);
		conf_attach_free(a);
		json_decref(back);
		json_decref(j);
		free(s);
	}
	json_t *j = conf_attach_to_json(c->attach[0]);
	assert_true(json_is_true(json_object_get(j, "prefetch")));
	assert_string_equal(json_string_value(json_object_get(j, "hot_cache")), "7d");
	assert_int_equal(json_array_size(json_object_get(j, "include_tables")), 2);
	assert_int_equal(json_array_size(json_object_get(j, "table_hot_cache")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "principals_modification_kind")),
	                    "union");
	assert_null(json_object_get(j, "local_prefix"));
	json_decref(j);
	conf_free(c);
}

static void expect_json_error(const char *json, int want_r, const char *want)
{
	char err[CONF_ERRLEN] = "";
	struct conf_attach *a = NULL;
	json_error_t je;
	json_t *v = json_loads(json, JSON_ALLOW_NUL, &je);

	if (v == NULL)
		fail_msg("bad test JSON %s: %s", json, je.text);
	int r = conf_attach_from_json(v, 0, &a, err, sizeof(err));
	if (r != want_r || strcmp(err, want) != 0)
		fail_msg("--- JSON ---\n%s\n--- got (%d) ---\n%s\n--- want (%d) ---\n%s", json, r,
		         err, want_r, want);
	assert_null(a);
	json_decref(v);
}

static void test_json_errors(void **state)
{
	(void)state;
#define J(members) "{\"name\": \"a\", \"leader\": \"/l\", \"database\": \"D\"" members "}"
	expect_json_error("[]", -EINVAL, "expected a JSON object");
	expect_json_error("{\"leader\": \"/l\"}", -EINVAL, "missing 'name'");
	expect_json_error("{\"name\": 3}", -EINVAL, "name: expected a string");
	expect_json_error(
	    "{\"name\": \"a b\"}", -EINVAL,
	    "name: 'a b' is not a valid name (1-256 characters from A-Z a-z 0-9 _ - .)");
	expect_json_error("{\"name\": \"a\", \"database\": \"D\"}", -EINVAL, "missing 'leader'");
	expect_json_error(J(", \"hot_cache\": \"10x\""), -EINVAL,
	                  "hot_cache: '10x' is not a duration (expected e.g. 30s, 5m, 1h)");
	expect_json_error(J(", \"hot_cache\": 10"), -EINVAL, "hot_cache: expected a string");
	expect_json_error(J(", \"prefetch\": \"true\""), -EINVAL,
	                  "prefetch: expected true or false");
	expect_json_error(J(", \"include_tables\": \"a*\""), -EINVAL,
	                  "include_tables: expected an array of strings");
	expect_json_error(J(", \"include_tables\": [\"a*\", 1]"), -EINVAL,
	                  "include_tables[1]: expected a string");
	expect_json_error(
	    J(", \"include_tables\": [\"a*\", \"b/c\"]"), -EINVAL,
	    "include_tables[1]: 'b/c' is not a name pattern (1-256 characters from A-Z "
	    "a-z 0-9 _ - . space and *, not starting or ending with a space)");
	/* One JSON item is one pattern: a comma is not a separator there. */
	expect_json_error(J(", \"exclude_tables\": [\"a, b\"]"), -EINVAL,
	                  "exclude_tables[0]: 'a, b' is not a name pattern (1-256 characters from "
	                  "A-Z a-z 0-9 _ - . space and *, not starting or ending with a space)");
	expect_json_error(
	    J(", \"hot_window\": [\"2026-02-01T00:00:00Z .. 2026-01-01T00:00:00Z\"]"), -EINVAL,
	    "hot_window[0]: '2026-02-01T00:00:00Z .. 2026-01-01T00:00:00Z' ends before "
	    "it starts");
	expect_json_error(J(", \"leadr\": \"/x\""), -EINVAL,
	                  "unknown member 'leadr' (did you mean 'leader'?)");
	expect_json_error(J(", \"state_dir\": \"/x\""), -EINVAL, "unknown member 'state_dir'");
	expect_json_error(J(", \"leader\": \"/l\\u0000x\""), -EINVAL, "leader: expected a string");
	expect_json_error(J(", \"local_name\": \"x\\ny\""), -EINVAL,
	                  "local_name: control character 0x0a in the value");
	expect_json_error(J(", \"local_name\": \"\""), -EINVAL, "local_name: no value");
	expect_json_error("{\"name\": \"a\", \"leader\": \"/l\", \"database\": \"*\", "
	                  "\"local_name\": \"X\"}",
	                  -EINVAL, "local_name: not allowed with database = * (use local_prefix)");
	expect_json_error(J(", \"account_key_file\": \"/nonexistent/followerd-test.key\""), -ENOENT,
	                  "account_key_file: cannot read /nonexistent/followerd-test.key: No such "
	                  "file or directory");
#undef J
}

static void test_json_too_many_items(void **state)
{
	(void)state;
	char err[CONF_ERRLEN];
	struct conf_attach *a = NULL;
	json_t *v = json_pack("{s:s, s:s, s:s}", "name", "a", "leader", "/l", "database", "D");
	json_t *arr = json_array();

	for (int i = 0; i <= CONF_MAX_ITEMS; i++)
		assert_int_equal(json_array_append_new(arr, json_string("t")), 0);
	assert_int_equal(json_object_set_new(v, "include_tables", arr), 0);
	assert_int_equal(conf_attach_from_json(v, 0, &a, err, sizeof(err)), -E2BIG);
	assert_string_equal(err, "include_tables: more than 1000 items");
	assert_null(a);
	json_decref(v);
}

/* ---- run time: add, replace, remove, local names ---- */

static struct conf_attach *from_json(const char *json)
{
	char err[CONF_ERRLEN] = "";
	struct conf_attach *a = NULL;
	json_t *v = json_loads(json, 0, NULL);

	assert_non_null(v);
	if (conf_attach_from_json(v, 0, &a, err, sizeof(err)) != 0)
		fail_msg("%s: %s", json, err);
	json_decref(v);
	return a;
}

static void test_runtime(void **state)
{
	(void)state;
	struct conf *c = parse("[attach \"a\"]\nleader = /l1\ndatabase = Logs\n"
	                       "[attach \"all\"]\nleader = /l2\ndatabase = *\n");
	char err[CONF_ERRLEN];
	struct conf_attach *b, *dup, *clash, *b2;

	b = from_json("{\"name\": \"b\", \"leader\": \"/l3\", \"database\": \"Metrics\"}");
	assert_int_equal(conf_attach_add(c, b, err, sizeof(err)), 0);
	assert_int_equal(c->nattach, 3);
	assert_ptr_equal(conf_attach_find(c, "b"), b);

	dup = from_json("{\"name\": \"b\", \"leader\": \"/l4\", \"database\": \"X\"}");
	assert_int_equal(conf_attach_add(c, dup, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "attach \"b\" already exists");

	clash = from_json("{\"name\": \"c\", \"leader\": \"/l4\", \"database\": \"Other\", "
	                  "\"local_name\": \"Logs\"}");
	assert_int_equal(conf_attach_add(c, clash, err, sizeof(err)), -EEXIST);
	assert_string_equal(err, "attach \"c\" would land on the same local database 'Logs' as "
	                         "attach \"a\"");
	assert_int_equal(c->nattach, 3);

	/* Replacing b by a configuration naming a's database is refused, ... */
	b2 = from_json("{\"name\": \"b\", \"leader\": \"/l3\", \"database\": \"Logs\"}");
	assert_int_equal(conf_attach_replace(c, b2, err, sizeof(err)), -EEXIST);
	conf_attach_free(b2);
	/* ... by one of its own name's database is fine. */
	b2 = from_json("{\"name\": \"b\", \"leader\": \"/l3\", \"database\": \"Metrics\", "
	               "\"prefetch\": true}");
	assert_int_equal(conf_attach_replace(c, b2, err, sizeof(err)), 0);
	assert_ptr_equal(conf_attach_find(c, "b"), b2);
	assert_true(conf_attach_find(c, "b")->prefetch);
	assert_int_equal(conf_attach_replace(c, dup, err, sizeof(err)), 0); /* dup is "b" */
	assert_int_equal(conf_attach_replace(c, dup, err, sizeof(err)), 0); /* by itself */
	assert_ptr_equal(conf_attach_find(c, "b"), dup);
	assert_string_equal(dup->database, "X");
	assert_int_equal(conf_attach_replace(c, clash, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "attach \"c\" does not exist");
	conf_attach_free(clash);

	assert_int_equal(conf_attach_remove(c, "a"), 0);
	assert_int_equal(conf_attach_remove(c, "a"), -ENOENT);
	assert_int_equal(c->nattach, 2);
	assert_string_equal(c->attach[0]->name, "all");
	assert_string_equal(c->attach[1]->name, "b");
	/* Now "Logs" is free. */
	clash = from_json("{\"name\": \"c\", \"leader\": \"/l4\", \"database\": \"Other\", "
	                  "\"local_name\": \"Logs\"}");
	assert_int_equal(conf_attach_add(c, clash, err, sizeof(err)), 0);
	conf_free(c);
}

/* Many additions grow the array correctly (and ASan checks the growth). */
static void test_runtime_many(void **state)
{
	(void)state;
	struct conf *c = parse("");
	char err[CONF_ERRLEN], json[128];

	for (int i = 0; i < 100; i++) {
		(void)snprintf(json, sizeof(json),
		               "{\"name\": \"a%d\", \"leader\": \"/l\", \"database\": \"D%d\"}", i,
		               i);
		assert_int_equal(conf_attach_add(c, from_json(json), err, sizeof(err)), 0);
	}
	for (int i = 0; i < 100; i += 2) {
		(void)snprintf(json, sizeof(json), "a%d", i);
		assert_int_equal(conf_attach_remove(c, json), 0);
	}
	for (int i = 100; i < 150; i++) {
		(void)snprintf(json, sizeof(json),
		               "{\"name\": \"a%d\", \"leader\": \"/l\", \"database\": \"D%d\"}", i,
		               i);
		assert_int_equal(conf_attach_add(c, from_json(json), err, sizeof(err)), 0);
	}
	assert_int_equal(c->nattach, 100);
	assert_non_null(conf_attach_find(c, "a149"));
	assert_null(conf_attach_find(c, "a0"));
	conf_free(c);
}

static const char *held_by(const char *local, void *arg)
{
	const char *const *map = arg; /* pairs: local, owner */
	for (; map[0] != NULL; map += 2)
		if (strcmp(map[0], local) == 0)
			return map[1];
	return NULL;
}

static void test_local_names(void **state)
{
	(void)state;
	struct conf *c =
	    parse("[attach \"a\"]\nleader = /l1\ndatabase = Logs\n"
	          "[attach \"b\"]\nleader = /l1\ndatabase = Metrics\nlocal_name = M\n"
	          "[attach \"all\"]\nleader = /l2\ndatabase = *\n"
	          "[attach \"west\"]\nleader = /l3\ndatabase = *\nlocal_prefix = west_\n");
	struct conf_attach *all = c->attach[2], *west = c->attach[3];
	char buf[CONF_MAX_NAME + 1], err[CONF_ERRLEN];
	const char *held[] = {"Events", "west", "west_Events", "west", NULL, NULL};

	assert_int_equal(
	    conf_attach_local_name(c->attach[0], "Logs", buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, "Logs");
	assert_int_equal(
	    conf_attach_local_name(c->attach[1], "Metrics", buf, sizeof(buf), err, sizeof(err)), 0);
	assert_string_equal(buf, "M");
	assert_int_equal(conf_attach_local_name(all, "Events", buf, sizeof(buf), err, sizeof(err)),
	                 0);
	assert_string_equal(buf, "Events");
	assert_int_equal(conf_attach_local_name(west, "Events", buf, sizeof(buf), err, sizeof(err)),
	                 0);
	assert_string_equal(buf, "west_Events");

	/* A prefix that makes the name too long. */
	char leader_db[CONF_MAX_NAME + 1];
	memset(leader_db, 'x', CONF_MAX_NAME);
	leader_db[CONF_MAX_NAME] = '\0';
	assert_int_equal(
	    conf_attach_local_name(west, leader_db, buf, sizeof(buf), err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, "attach \"west\": "
	         "'west_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is "
	         "not a database name (" NAME_RULE ")");
	assert_int_equal(conf_attach_local_name(west, "Ok", buf, 4, err, sizeof(err)), -ENOBUFS);

	/* Single-database configurations win over "*" ones. */
	assert_int_equal(conf_check_local_name(c, all, "Logs", NULL, NULL, err, sizeof(err)),
	                 -EEXIST);
	assert_string_equal(
	    err, "attach \"all\" cannot use local database 'Logs': attach \"a\" names it");
	assert_int_equal(conf_check_local_name(c, all, "M", held_by, held, err, sizeof(err)),
	                 -EEXIST);
	/* "Metrics" is b's leader name, but b lands on "M": "Metrics" is free. */
	assert_int_equal(conf_check_local_name(c, all, "Metrics", held_by, held, err, sizeof(err)),
	                 0);
	/* What another "*" configuration already holds is taken. */
	assert_int_equal(conf_check_local_name(c, all, "Events", held_by, held, err, sizeof(err)),
	                 -EEXIST);
	assert_string_equal(
	    err, "attach \"all\" cannot use local database 'Events': attach \"west\" holds it");
	/* What the configuration itself holds is its own. */
	assert_int_equal(
	    conf_check_local_name(c, west, "west_Events", held_by, held, err, sizeof(err)), 0);
	assert_int_equal(
	    conf_check_local_name(c, c->attach[0], "Logs", held_by, held, err, sizeof(err)), 0);
	conf_free(c);
}

/* ---- reload ---- */

static void test_diff(void **state)
{
	(void)state;
	const char *k1 = write_file("k1.key", "AAAA", 0600);
	char text[1024];

	(void)snprintf(text, sizeof(text),
	               "[daemon]\nlog_level = info\n"
	               "[attach \"same\"]\nleader = /l\ndatabase = S\n"
	               "[attach \"gone\"]\nleader = /l\ndatabase = G\n"
	               "[attach \"edit\"]\nleader = /l\ndatabase = E\n"
	               "[attach \"rotated\"]\nleader = /l\ndatabase = R\naccount_key_file = %s\n",
	               k1);
	struct conf *old = parse(text);
	(void)write_file("k1.key", "BBBB", 0600); /* the key rotates, the path stays */
	(void)snprintf(text, sizeof(text),
	               "[daemon]\nlog_level = debug\nlisten = 127.0.0.1:9090\n"
	               "[attach \"new\"]\nleader = /l\ndatabase = N\n"
	               "[attach \"edit\"]\nleader = /l\ndatabase = E\nprefetch = true\n"
	               "[attach \"rotated\"]\nleader = /l\ndatabase = R\naccount_key_file = %s\n"
	               "[attach \"same\"]\nleader = /l\ndatabase = S\n",
	               k1);
	struct conf *next = parse(text);
	struct conf_diff d;

	assert_int_equal(conf_diff(old, next, &d), 0);
	assert_int_equal(d.added.n, 1);
	assert_string_equal(d.added.items[0], "new");
	assert_int_equal(d.removed.n, 1);
	assert_string_equal(d.removed.items[0], "gone");
	assert_int_equal(d.changed.n, 2);
	assert_string_equal(d.changed.items[0], "edit");
	assert_string_equal(d.changed.items[1], "rotated");
	assert_int_equal(d.daemon.n, 2);
	assert_string_equal(d.daemon.items[0], "listen");
	assert_string_equal(d.daemon.items[1], "log_level");
	conf_diff_clear(&d);

	/* Against itself: nothing. */
	assert_int_equal(conf_diff(next, next, &d), 0);
	assert_int_equal(d.added.n + d.removed.n + d.changed.n + d.daemon.n, 0);
	conf_diff_clear(&d);
	conf_diff_clear(NULL);
	conf_free(old);
	conf_free(next);
}

static void test_copy(void **state)
{
	(void)state;
	char text[sizeof(full_text) + 256];
	const char *key = write_file("copy.key", KEY, 0644);

	(void)snprintf(text, sizeof(text), "%saccount_key_file = %s\n", full_text, key);
	struct conf *c = parse(text);
	struct conf_attach *a = NULL, *b = NULL;

	assert_int_equal(conf_attach_copy(c->attach[0], &a), 0);
	assert_true(conf_attach_equal(a, c->attach[0]));
	assert_ptr_not_equal(a->include_tables.items, c->attach[0]->include_tables.items);
	assert_ptr_not_equal(a->table_hot_cache.v[1].table,
	                     c->attach[0]->table_hot_cache.v[1].table);
	assert_int_equal(a->line, c->attach[0]->line);
	assert_false(conf_attach_equal(a, c->attach[1]));
	conf_attach_free(a);

	/* The key file went into the last section, "b". */
	assert_int_equal(conf_attach_copy(c->attach[1], &a), 0);
	assert_true(conf_attach_equal(a, c->attach[1]));
	assert_string_equal(a->account_key, KEY);
	assert_ptr_not_equal(a->account_key, c->attach[1]->account_key);
	assert_true(a->secret_too_open);
	/* A different secret alone makes a difference. */
	assert_int_equal(conf_attach_copy(a, &b), 0);
	b->account_key[0] = 'X';
	assert_false(conf_attach_equal(a, b));
	conf_attach_free(b);
	/* The copy's arrays still grow. */
	char err[CONF_ERRLEN];
	conf_free(c);
	c = parse("");
	assert_int_equal(conf_attach_add(c, a, err, sizeof(err)), 0);
	conf_free(c);
	conf_attach_free(NULL);
	conf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_attach_defaults),
	    cmocka_unit_test(test_option_table),
	    cmocka_unit_test(test_documented),
	    cmocka_unit_test(test_example),
	    cmocka_unit_test(test_values),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_durations),
	    cmocka_unit_test(test_addresses),
	    cmocka_unit_test(test_attach_values),
	    cmocka_unit_test(test_line_ends),
	    cmocka_unit_test(test_bad_daemon),
	    cmocka_unit_test(test_bad_syntax),
	    cmocka_unit_test(test_bad_attach),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_long_line),
	    cmocka_unit_test(test_file_too_large),
	    cmocka_unit_test(test_too_many_attach),
	    cmocka_unit_test(test_too_many_items),
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test(test_secret_fifo),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_dump),
	    cmocka_unit_test(test_dump_long_list),
	    cmocka_unit_test(test_json_round_trip),
	    cmocka_unit_test(test_json_errors),
	    cmocka_unit_test(test_json_too_many_items),
	    cmocka_unit_test(test_runtime),
	    cmocka_unit_test(test_runtime_many),
	    cmocka_unit_test(test_local_names),
	    cmocka_unit_test(test_diff),
	    cmocka_unit_test(test_copy),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

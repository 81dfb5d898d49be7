/*
 * conf — the followerd.conf parser and the attached database configuration
 * model (see conf.h and followerd.conf(5)).
 *
 * Everything about an option lives in one row of options[] below: its name,
 * section, type, default, bounds, checks and help.  The code after the table
 * is generic over types: set (text to field), text (field to text), free,
 * copy, compare.  The file parser, conf_dump(), the JSON codec and
 * conf_diff() are all written in terms of those, so a new option is one new
 * row (and a field in conf.h).
 *
 * Grown arrays (lists, addresses, windows, attach configurations) are only
 * ever built by appending through grow(), whose capacity is implied by the
 * count: 4, then the next power of two.
 */
#include "conf/conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/match.h"
#include "util/timefmt.h"

#define TICKS_MS (TIMEFMT_TICKS_PER_SEC / 1000)
#define TICKS_S TIMEFMT_TICKS_PER_SEC
#define TICKS_M (60 * TICKS_S)
#define TICKS_H (60 * TICKS_M)
#define TICKS_D (24 * TICKS_H)

#define SIZE_MAX_CONF ((int64_t)1 << 50) /* 1024T */
#define PATH_MAX_CONF 4095
#define SHOW_MAX 64 /* characters of a bad value quoted in a message */
#define SHOW_BUF (SHOW_MAX + 8)
#define TEXT_BUF (CONF_MAX_NAME + 2 * TIMEFMT_DATETIME_LEN + 64)
#define KEY_MAX 64

/* Enum fields are written through an int. */
_Static_assert(sizeof(enum conf_modkind) == sizeof(int), "enum size");
_Static_assert(sizeof(enum conf_log_level) == sizeof(int), "enum size");

int conf_errf(char *err, size_t errlen, int r, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* A value as quoted in a message: at most SHOW_MAX characters, control
 * characters (possible from JSON) replaced by '?'. */
static const char *show(const char *v, char buf[SHOW_BUF])
{
	size_t i;

	for (i = 0; i < SHOW_MAX && v[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)v[i];
		buf[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	if (v[i] != '\0') {
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* Returns v itself or a larger copy with room for element n (see the file
 * comment); NULL when out of memory (v is then unchanged). */
static void *grow(void *v, size_t n, size_t size)
{
	if (n < 4 ? n != 0 : (n & (n - 1)) != 0)
		return v;
	return reallocarray(v, n < 4 ? 4 : 2 * n, size);
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Like strchr, takes a const string and returns a pointer into it. */
static char *skip_space(const char *s)
{
	while (is_space(*s))
		s++;
	return (char *)s;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && is_space(s[n - 1]))
		s[--n] = '\0';
}

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static bool str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* ---- checks of single values (the option table's check hooks) ---- */

#define NAME_RULE                                                                                  \
	"1-256 characters from A-Z a-z 0-9 _ - . and space, not starting or ending with a space"
#define ID_RULE "1-256 characters from A-Z a-z 0-9 _ - ."

static bool is_name_char(char ch)
{
	return is_alnum(ch) || ch == '_' || ch == '-' || ch == '.' || ch == ' ';
}

/* Database and table names as the protocol defines them (PROTOCOL.md). */
static bool valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONF_MAX_NAME || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* Attach and follower names: no spaces, so they need no quoting anywhere. */
static bool valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONF_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static int check_name(const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];

	if (valid_name(v))
		return 0;
	return conf_errf(why, whylen, -EINVAL, "'%s' is not a database name (" NAME_RULE ")",
	                 show(v, sb));
}

static int check_database(const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];

	if (strcmp(v, "*") == 0 || valid_name(v))
		return 0;
	return conf_errf(why, whylen, -EINVAL,
	                 "'%s' is not a database name (" NAME_RULE ") or * (every database)",
	                 show(v, sb));
}

static int check_prefix(const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	size_t n = strlen(v);
	bool ok = n > 0 && n < CONF_MAX_NAME && v[0] != ' ';

	for (size_t i = 0; ok && i < n; i++)
		ok = is_name_char(v[i]);
	if (ok)
		return 0;
	return conf_errf(
	    why, whylen, -EINVAL,
	    "'%s' is not a name prefix (1-255 characters from A-Z a-z 0-9 _ - . and space, "
	    "not starting with a space)",
	    show(v, sb));
}

static int check_pattern(const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	size_t n = strlen(v);
	bool ok = n > 0 && n <= CONF_MAX_NAME && v[0] != ' ' && v[n - 1] != ' ';

	for (size_t i = 0; ok && i < n; i++)
		ok = is_name_char(v[i]) || v[i] == '*';
	if (ok)
		return 0;
	return conf_errf(
	    why, whylen, -EINVAL,
	    "'%s' is not a name pattern (1-256 characters from A-Z a-z 0-9 _ - . space "
	    "and *, not starting or ending with a space)",
	    show(v, sb));
}

/* A principal's FQN ("aaduser=alice@contoso.com", "unix:uid=1000"): printable
 * ASCII without spaces, commas or quotes, with a '=' between a kind and a
 * value. */
static int check_fqn(const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	size_t n = strlen(v);
	const char *eq = strchr(v, '=');
	bool ok = n > 0 && n <= CONF_MAX_FQN && eq != NULL && eq != v && eq[1] != '\0';

	for (size_t i = 0; ok && i < n; i++)
		ok = v[i] > ' ' && v[i] < 0x7f && v[i] != ',' && v[i] != '"' && v[i] != '\\';
	if (ok)
		return 0;
	return conf_errf(
	    why, whylen, -EINVAL,
	    "'%s' is not a principal (KIND=VALUE, e.g. aaduser=alice@contoso.com or "
	    "unix:uid=1000: at most 1024 printable characters, no space, comma or quote)",
	    show(v, sb));
}

static int check_id(const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];

	if (valid_id(v))
		return 0;
	return conf_errf(why, whylen, -EINVAL, "'%s' is not a valid name (" ID_RULE ")",
	                 show(v, sb));
}

/* The part of a URL after "scheme://" up to the path: non-empty, no
 * credentials. */
static int check_authority(const char *v, const char *auth, char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	size_t n = strcspn(auth, "/");

	if (n == 0)
		return conf_errf(why, whylen, -EINVAL, "'%s' has no host", show(v, sb));
	if (memchr(auth, '@', n) != NULL)
		return conf_errf(
		    why, whylen, -EINVAL,
		    "'%s' holds credentials: give them in account_key_file or sas_token_file",
		    show(v, sb));
	return 0;
}

/* A leader root as target_open() and the fetcher take it.  Secrets never go
 * into it: a query string would be a SAS token in a printable place. */
static int check_leader(const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];

	for (const char *p = v; *p != '\0'; p++)
		if (is_space(*p))
			return conf_errf(why, whylen, -EINVAL, "'%s' contains a space",
			                 show(v, sb));
	if (strpbrk(v, "?#") != NULL)
		return conf_errf(why, whylen, -EINVAL,
		                 "'%s' has a query or fragment: give a SAS token in sas_token_file",
		                 show(v, sb));
	if (strncmp(v, "https://", 8) == 0)
		return check_authority(v, v + 8, why, whylen);
	if (strncmp(v, "http://", 7) == 0)
		return check_authority(v, v + 7, why, whylen);
	if (strncmp(v, "file:///", 8) == 0 || v[0] == '/')
		return 0;
	return conf_errf(
	    why, whylen, -EINVAL,
	    "'%s' is not a leader root (expected https://..., http://..., file:///dir or "
	    "/dir)",
	    show(v, sb));
}

/* ---- formatting of durations and sizes (what conf_dump prints parses back) ---- */

static void format_kusto(int64_t t, char *buf, size_t len)
{
	uint64_t u = t < 0 ? -(uint64_t)t : (uint64_t)t;
	uint64_t ticks = (uint64_t)TICKS_S;
	uint64_t secs = u / ticks;
	uint64_t days = secs / 86400;

	(void)snprintf(buf, len, "%s%.0llu%s%02llu:%02llu:%02llu.%07llu", t < 0 ? "-" : "",
	               (unsigned long long)days, days > 0 ? "." : "",
	               (unsigned long long)(secs / 3600 % 24), (unsigned long long)(secs / 60 % 60),
	               (unsigned long long)(secs % 60), (unsigned long long)(u % ticks));
}

/* "0", "7d", "12h", "30m", "90s", "100ms", or Kusto's form below 1 ms. */
static void format_duration(int64_t t, char *buf, size_t len)
{
	static const struct {
		int64_t ticks;
		const char *unit;
	} units[] = {
	    {TICKS_D, "d"}, {TICKS_H, "h"}, {TICKS_M, "m"}, {TICKS_S, "s"}, {TICKS_MS, "ms"},
	};

	if (t == 0) {
		(void)snprintf(buf, len, "0");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (t % units[i].ticks == 0) {
			(void)snprintf(buf, len, "%lld%s", (long long)(t / units[i].ticks),
			               units[i].unit);
			return;
		}
	}
	format_kusto(t, buf, len);
}

static void format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "TGMK";

	for (int i = 0; v != 0 && i < 4; i++) {
		unsigned shift = (unsigned)(40 - 10 * i);
		if (v % ((uint64_t)1 << shift) == 0) {
			(void)snprintf(buf, len, "%llu%c", (unsigned long long)(v >> shift),
			               units[i]);
			return;
		}
	}
	(void)snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* ---- the option table ---- */

static const char *const log_levels[] = {"error", "warning", "notice", "info", "debug", NULL};
static const char *const modkinds[] = {"none", "union", "replace", NULL};

#define DAEMON(field) .scope = CONF_SCOPE_DAEMON, .offset = offsetof(struct conf, field)
#define ATTACH(field) .scope = CONF_SCOPE_ATTACH, .offset = offsetof(struct conf_attach, field)
#define PRINCIPALS(field, what)                                                                    \
	{                                                                                          \
		.name = #field, ATTACH(field), .type = CONF_T_LIST, .flags = CONF_OPT_REPEAT,      \
		.check = check_fqn, .help = what,                                                  \
	}
#define LIST(field, what)                                                                          \
	{                                                                                          \
		.name = #field, ATTACH(field), .type = CONF_T_LIST, .flags = CONF_OPT_REPEAT,      \
		.check = check_pattern, .help = what,                                              \
	}

static const struct conf_option options[] = {
    {
        .name = "state_dir",
        DAEMON(state_dir),
        .type = CONF_T_PATH,
        .def = "/var/lib/followerd",
        .help = "Directory of the state store (SQLite): what every followed database holds.",
    },
    {
        .name = "cache_dir",
        DAEMON(cache_dir),
        .type = CONF_T_PATH,
        .def = "/var/cache/followerd",
        .help = "Directory of the artifact cache.",
    },
    {
        .name = "listen",
        DAEMON(listen),
        .type = CONF_T_ADDRESS,
        .flags = CONF_OPT_REPEAT,
        .def = "127.0.0.1:8080",
        .help = "Address of the HTTP query endpoint; repeat the key for more addresses.",
    },
    {
        .name = "admin_socket",
        DAEMON(admin_socket),
        .type = CONF_T_PATH,
        .def = "/run/followerd/admin.sock",
        .max = CONF_UNIX_PATH_MAX - 1,
        .help = "Unix socket of the admin interface (followerctl).",
    },
    {
        .name = "log_level",
        DAEMON(log_level),
        .type = CONF_T_ENUM,
        .def = "info",
        .choices = log_levels,
        .help = "Least severe message logged.",
    },
    {
        .name = "cache_max_size",
        DAEMON(cache_max_size),
        .type = CONF_T_SIZE,
        .def = "100G",
        .max = SIZE_MAX_CONF,
        .help = "Largest size of the artifact cache and the query stores together; 0: "
                "bounded by min_free_space only.",
    },
    {
        .name = "min_free_space",
        DAEMON(min_free_space),
        .type = CONF_T_SIZE,
        .def = "5G",
        .max = SIZE_MAX_CONF,
        .help = "Free space the cache leaves on its file system (it evicts to keep it).",
    },
    {
        .name = "fetch_concurrency",
        DAEMON(fetch_concurrency),
        .type = CONF_T_INT,
        .def = "16",
        .min = 1,
        .max = 1024,
        .help = "Artifact downloads in flight, in all.",
    },
    {
        .name = "fetch_concurrency_per_leader",
        DAEMON(fetch_concurrency_per_leader),
        .type = CONF_T_INT,
        .def = "4",
        .min = 1,
        .max = 1024,
        .help = "Artifact downloads in flight from one leader (at most fetch_concurrency).",
    },
    {
        .name = "cache_demand_concurrency",
        DAEMON(cache_demand_concurrency),
        .type = CONF_T_INT,
        .def = "4",
        .min = 1,
        .max = 1024,
        .help = "Read-through downloads (artifacts a request asked for) in flight.",
    },
    {
        .name = "cache_demand_keep",
        DAEMON(cache_demand_keep),
        .type = CONF_T_DURATION,
        .def = "10m",
        .min = TICKS_S,
        .max = TICKS_D,
        .help = "How long an artifact a request asked for stays cached, cold or over the limits.",
    },
    {
        .name = "poll_interval",
        DAEMON(poll_interval),
        .type = CONF_T_DURATION,
        .def = "30s",
        .min = 100 * TICKS_MS,
        .max = TICKS_D,
        .help = "How often a leader's head is polled (attach sections may override it).",
    },
    {
        .name = "follower_name",
        DAEMON(follower_name),
        .type = CONF_T_STRING,
        .max = CONF_MAX_NAME,
        .check = check_id,
        .help = "The name a leader uses to detach this follower; default: the host name.",
    },
    {
        .name = "tls_cert",
        DAEMON(tls_cert),
        .type = CONF_T_PATH,
        .help = "PEM certificate chain: the HTTP endpoint speaks HTTPS (needs tls_key).",
    },
    {
        .name = "tls_key",
        DAEMON(tls_key),
        .type = CONF_T_PATH,
        .help = "PEM private key of tls_cert.",
    },
    {
        .name = "tls_client_ca",
        DAEMON(tls_client_ca),
        .type = CONF_T_PATH,
        .help = "PEM CA certificates whose client certificates may be mapped by subject.",
    },
    {
        .name = "tokens_file",
        DAEMON(tokens_file),
        .type = CONF_T_PATH,
        .help = "File of bearer tokens accepted by the HTTP endpoint.",
    },
    {
        .name = "allow_anonymous",
        DAEMON(allow_anonymous),
        .type = CONF_T_BOOL,
        .def = "false",
        .help = "Answer queries that carry no token.",
    },
    {
        .name = "max_lag",
        DAEMON(max_lag),
        .type = CONF_T_DURATION,
        .def = "5m",
        .min = TICKS_S,
        .max = 365 * TICKS_D,
        .help = "A database further behind its leader than this makes followerd unhealthy.",
    },
    {
        .name = "max_connections",
        DAEMON(max_connections),
        .type = CONF_T_INT,
        .def = "256",
        .min = 1,
        .max = 100000,
        .help = "Client connections served at once.",
    },
    {
        .name = "request_timeout",
        DAEMON(request_timeout),
        .type = CONF_T_DURATION,
        .def = "30s",
        .min = TICKS_S,
        .max = TICKS_H,
        .help = "Time a request's work may take (a query), and the longest pause while "
                "its answer is sent.",
    },
    {
        .name = "header_timeout",
        DAEMON(header_timeout),
        .type = CONF_T_DURATION,
        .def = "10s",
        .min = TICKS_S,
        .max = TICKS_H,
        .help = "Time a client has to send a whole request (TLS handshake, head and body) "
                "from its first byte; slow senders hold a connection no longer.",
    },
    {
        .name = "keepalive_timeout",
        DAEMON(keepalive_timeout),
        .type = CONF_T_DURATION,
        .def = "30s",
        .min = TICKS_S,
        .max = TICKS_H,
        .help = "Time a connection may stay idle between requests before it is closed.",
    },
    {
        .name = "max_connections_per_address",
        DAEMON(max_connections_per_address),
        .type = CONF_T_INT,
        .def = "0",
        .min = 0,
        .max = 100000,
        .help = "Connections one client address (IPv6: one /64) may hold; past it, closed "
                "before reading.  0: a quarter of max_connections.",
    },
    {
        .name = "max_requests_per_address",
        DAEMON(max_requests_per_address),
        .type = CONF_T_INT,
        .def = "0",
        .min = 0,
        .max = 100000,
        .help = "Requests in flight from one client address; past it, 503 with Retry-After.  "
                "0: a quarter of max_connections.",
    },
    {
        .name = "max_connections_per_principal",
        DAEMON(max_connections_per_principal),
        .type = CONF_T_INT,
        .def = "0",
        .min = 0,
        .max = 100000,
        .help = "Connections one authenticated principal may hold, from any address; past it, "
                "503 with Retry-After.  0: a quarter of max_connections.",
    },
    {
        .name = "max_requests_per_principal",
        DAEMON(max_requests_per_principal),
        .type = CONF_T_INT,
        .def = "0",
        .min = 0,
        .max = 100000,
        .help = "Requests in flight of one authenticated principal; past it, 503 with "
                "Retry-After.  0: a quarter of max_connections.",
    },
    {
        .name = "max_concurrent_queries",
        DAEMON(max_concurrent_queries),
        .type = CONF_T_INT,
        .def = "16",
        .min = 1,
        .max = 100000,
        .help = "Requests of the query endpoints (/v1/rest/mgmt, /v1/rest/query, "
                "/v2/rest/query) in flight; as many more wait, the rest get 429.",
    },
    {
        .name = "query_queue_timeout",
        DAEMON(query_queue_timeout),
        .type = CONF_T_DURATION,
        .def = "2s",
        .min = 0,
        .max = TICKS_M,
        .help = "Time a query waits for a free slot before it is refused with 429.",
    },
    {
        .name = "query_max_memory",
        DAEMON(query_max_memory),
        .type = CONF_T_SIZE,
        .def = "256M",
        .min = (int64_t)1 << 20,
        .max = (int64_t)64 << 30,
        .help = "Memory one query may hold (aggregate states such as make_list, make_set, "
                "percentile, arg_max, and SQLite's page caches and sort buffers, which "
                "spill to temporary files); past it the query fails (E_RUNAWAY_QUERY).",
    },
    {
        .name = "query_readthru_max_size",
        DAEMON(query_readthru_max_size),
        .type = CONF_T_SIZE,
        .def = "1G",
        .max = SIZE_MAX_CONF,
        .help = "Bytes of artifacts one query may read through (extents it needs that are "
                "not cached: cold, or still warming); past it the query is refused.  0: none.",
    },
    {
        .name = "leader",
        ATTACH(leader),
        .type = CONF_T_STRING,
        .flags = CONF_OPT_REQUIRED,
        .max = CONF_MAX_URL,
        .check = check_leader,
        .help = "The leader's root: https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX], "
                "an http(s):// URL, file:///dir or /dir.",
    },
    {
        .name = "database",
        ATTACH(database),
        .type = CONF_T_STRING,
        .flags = CONF_OPT_REQUIRED,
        .max = CONF_MAX_NAME,
        .check = check_database,
        .help = "The leader database to follow, or * for every database of the leader.",
    },
    {
        .name = "local_name",
        ATTACH(local_name),
        .type = CONF_T_STRING,
        .max = CONF_MAX_NAME,
        .check = check_name,
        .help = "Name of the local database (single database only); default: the "
                "database's name.",
    },
    {
        .name = "local_prefix",
        ATTACH(local_prefix),
        .type = CONF_T_STRING,
        .max = CONF_MAX_NAME - 1,
        .check = check_prefix,
        .help = "With database = *: prepended to each leader database's name.",
    },
    {
        .name = "account_key_file",
        ATTACH(account_key_file),
        .type = CONF_T_PATH,
        .help = "File holding the storage account's Shared Key (base64).",
    },
    {
        .name = "sas_token_file",
        ATTACH(sas_token_file),
        .type = CONF_T_PATH,
        .help = "File holding a SAS token (sv=...&sig=...).",
    },
    LIST(include_tables, "Tables to follow (patterns); none: every table."),
    LIST(exclude_tables, "Tables not to follow (patterns); wins over include_tables."),
    LIST(include_external_tables, "External tables to follow (patterns); none: all."),
    LIST(exclude_external_tables, "External tables not to follow (patterns)."),
    LIST(include_materialized_views, "Materialized views to follow (patterns); none: all."),
    LIST(exclude_materialized_views, "Materialized views not to follow (patterns)."),
    {
        .name = "principals_modification_kind",
        ATTACH(principals_modification_kind),
        .type = CONF_T_ENUM,
        .def = "union",
        .choices = modkinds,
        .help = "How the leader's principals combine with the follower's own.",
    },
    PRINCIPALS(admins, "The follower's own admins (principal FQNs)."),
    PRINCIPALS(users, "The follower's own users (principal FQNs)."),
    PRINCIPALS(viewers, "The follower's own viewers (principal FQNs)."),
    PRINCIPALS(monitors, "The follower's own monitors (principal FQNs)."),
    {
        .name = "caching_policies_modification_kind",
        ATTACH(caching_policies_modification_kind),
        .type = CONF_T_ENUM,
        .def = "union",
        .choices = modkinds,
        .help = "How the leader's caching policies combine with the overrides below.",
    },
    {
        .name = "hot_cache",
        ATTACH(hot_cache),
        .type = CONF_T_DURATION,
        .max = 36500 * TICKS_D,
        .help = "Database caching policy override: the hot span.",
    },
    {
        .name = "hot_window",
        ATTACH(hot_windows),
        .type = CONF_T_WINDOW,
        .flags = CONF_OPT_REPEAT,
        .help = "Database caching policy override: a hot window; repeat for more.",
    },
    {
        .name = "table_hot_cache",
        ATTACH(table_hot_cache),
        .type = CONF_T_TABLE_HOT,
        .flags = CONF_OPT_REPEAT,
        .max = 36500 * TICKS_D,
        .help = "Table caching policy override, TABLE:DURATION; repeat for more tables.",
    },
    {
        .name = "prefetch",
        ATTACH(prefetch),
        .type = CONF_T_BOOL,
        .def = "false",
        .help = "Show a new version only once its hot artifacts are cached and loaded.",
    },
    {
        .name = "poll_interval",
        ATTACH(poll_interval),
        .type = CONF_T_DURATION,
        .min = 100 * TICKS_MS,
        .max = TICKS_D,
        .help = "How often this leader's head is polled; default: [daemon] poll_interval.",
    },
};

#define NOPTS (sizeof(options) / sizeof(options[0]))

const struct conf_option *conf_options(size_t *ret_n)
{
	*ret_n = NOPTS;
	return options;
}

const char *conf_type_name(enum conf_type t)
{
	static const char *const names[] = {
	    [CONF_T_STRING] = "string",
	    [CONF_T_PATH] = "path",
	    [CONF_T_BOOL] = "boolean",
	    [CONF_T_INT] = "integer",
	    [CONF_T_DURATION] = "duration",
	    [CONF_T_SIZE] = "size",
	    [CONF_T_ENUM] = "choice",
	    [CONF_T_LIST] = "list",
	    [CONF_T_ADDRESS] = "address",
	    [CONF_T_WINDOW] = "window",
	    [CONF_T_TABLE_HOT] = "table:duration",
	};
	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static const struct conf_option *find_option(enum conf_scope scope, const char *name)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (options[i].scope == scope && strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

static void *field_of(const struct conf_option *o, const void *base)
{
	return (char *)base + o->offset;
}

/* ---- setting a field from text ---- */

#define EXPECT_DURATION "a duration (expected e.g. 30s, 5m, 1h)"
#define EXPECT_SIZE "a size (expected e.g. 512M, 100G; K, M, G, T are powers of 1024)"
#define EXPECT_ADDRESS "an address (expected host:port, [v6]:port or unix:/path)"
#define EXPECT_WINDOW "a hot window (expected e.g. 2026-01-01T00:00:00Z .. 2026-02-01T00:00:00Z)"
#define EXPECT_TABLE_HOT "a table hot span (expected TABLE:DURATION, e.g. Events:1d)"

/* Bounds as text, for "out of range" messages. */
static void format_bound(const struct conf_option *o, int64_t v, char *buf, size_t len)
{
	if (o->type == CONF_T_DURATION || o->type == CONF_T_TABLE_HOT)
		format_duration(v, buf, len);
	else if (o->type == CONF_T_SIZE)
		format_size((uint64_t)v, buf, len);
	else
		(void)snprintf(buf, len, "%lld", (long long)v);
}

static int check_range(const struct conf_option *o, const char *text, int64_t v, char *why,
                       size_t whylen)
{
	char lo[TIMEFMT_TIMESPAN_LEN], hi[TIMEFMT_TIMESPAN_LEN], sb[SHOW_BUF];

	if (v >= o->min && v <= o->max)
		return 0;
	format_bound(o, o->min, lo, sizeof(lo));
	format_bound(o, o->max, hi, sizeof(hi));
	return conf_errf(why, whylen, -EINVAL, "'%s' is out of range (expected %s to %s)",
	                 show(text, sb), lo, hi);
}

/* Decimal integer, optional '-', nothing else; 0 or -EINVAL. */
static int parse_int(const char *s, int64_t *ret)
{
	bool neg = *s == '-';
	uint64_t v = 0;
	const char *p = s + neg;

	if (*p == '\0')
		return -EINVAL;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -EINVAL;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* Digits with an optional K, M, G or T suffix (powers of 1024). */
static int parse_size(const char *s, int64_t *ret)
{
	static const char units[] = "KMGT";
	char digits[32];
	size_t n = strlen(s);
	unsigned shift = 0;
	int64_t v;

	if (n == 0 || n >= sizeof(digits))
		return -EINVAL;
	const char *u = memchr(units, s[n - 1] & ~0x20, 4);
	if (u != NULL) {
		shift = 10 * (unsigned)(u - units + 1);
		n--;
	}
	memcpy(digits, s, n);
	digits[n] = '\0';
	if (digits[0] == '-' || parse_int(digits, &v) < 0 || v > (INT64_MAX >> shift))
		return -EINVAL;
	*ret = v << shift;
	return 0;
}

/* A duration within o's bounds. */
static int parse_duration(const struct conf_option *o, const char *v, int64_t *ret, char *why,
                          size_t whylen)
{
	char sb[SHOW_BUF];
	int64_t n;

	if (timefmt_parse_duration(v, &n) < 0)
		return conf_errf(why, whylen, -EINVAL, "'%s' is not " EXPECT_DURATION, show(v, sb));
	if (check_range(o, v, n, why, whylen) < 0)
		return -EINVAL;
	*ret = n;
	return 0;
}

static int set_string(const struct conf_option *o, char **f, const char *v, char *why,
                      size_t whylen)
{
	char sb[SHOW_BUF];
	int64_t max = o->max > 0 ? o->max : PATH_MAX_CONF;

	if ((int64_t)strlen(v) > max)
		return conf_errf(why, whylen, -EINVAL, "'%s' is longer than %lld characters",
		                 show(v, sb), (long long)max);
	if (o->type == CONF_T_PATH && v[0] != '/')
		return conf_errf(why, whylen, -EINVAL, "'%s' is not an absolute path", show(v, sb));
	if (o->check != NULL && o->check(v, why, whylen) < 0)
		return -EINVAL;
	char *s = strdup(v);
	if (s == NULL)
		return -ENOMEM;
	free(*f);
	*f = s;
	return 0;
}

static int set_enum(const struct conf_option *o, int *f, const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF], list[128] = "";

	for (int i = 0; o->choices[i] != NULL; i++) {
		if (strcmp(o->choices[i], v) == 0) {
			*f = i;
			return 0;
		}
		(void)snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		               i > 0 ? ", " : "", o->choices[i]);
	}
	return conf_errf(why, whylen, -EINVAL, "'%s' is not one of %s", show(v, sb), list);
}

/* Scalars: bool, int, duration, size, enum. */
static int set_scalar(const struct conf_option *o, void *f, const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	int64_t n;

	switch (o->type) {
	case CONF_T_BOOL:
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return conf_errf(why, whylen, -EINVAL,
			                 "'%s' is not a boolean (expected true or false)",
			                 show(v, sb));
		*(bool *)f = v[0] == 't';
		return 0;
	case CONF_T_INT:
		if (parse_int(v, &n) < 0)
			return conf_errf(why, whylen, -EINVAL, "'%s' is not an integer",
			                 show(v, sb));
		if (check_range(o, v, n, why, whylen) < 0)
			return -EINVAL;
		*(int *)f = (int)n;
		return 0;
	case CONF_T_DURATION:
		if (parse_duration(o, v, &n, why, whylen) < 0)
			return -EINVAL;
		*(int64_t *)f = n;
		return 0;
	case CONF_T_SIZE:
		if (parse_size(v, &n) < 0)
			return conf_errf(why, whylen, -EINVAL, "'%s' is not " EXPECT_SIZE,
			                 show(v, sb));
		if (check_range(o, v, n, why, whylen) < 0)
			return -EINVAL;
		*(uint64_t *)f = (uint64_t)n;
		return 0;
	default:
		return set_enum(o, f, v, why, whylen);
	}
}

static int too_many(const char *what, size_t max, char *why, size_t whylen)
{
	return conf_errf(why, whylen, -E2BIG, "more than %zu %s", max, what);
}

static int list_push(struct conf_list *l, const char *v)
{
	char **items = grow(l->items, l->n, sizeof(*items));
	if (items == NULL)
		return -ENOMEM;
	l->items = items;
	if ((items[l->n] = strdup(v)) == NULL)
		return -ENOMEM;
	l->n++;
	return 0;
}

static int list_add(const struct conf_option *o, struct conf_list *l, const char *v, char *why,
                    size_t whylen)
{
	if (l->n >= CONF_MAX_ITEMS)
		return too_many("items", CONF_MAX_ITEMS, why, whylen);
	if (o->check != NULL && o->check(v, why, whylen) < 0)
		return -EINVAL;
	return list_push(l, v);
}

/* "a, b*, c": items trimmed, none empty.  one_item (JSON) takes v whole. */
static int set_list(const struct conf_option *o, struct conf_list *l, const char *v, bool one_item,
                    char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	char *copy, *item, *next;
	int r = 0;

	if (one_item)
		return list_add(o, l, v, why, whylen);
	if ((copy = strdup(v)) == NULL)
		return -ENOMEM;
	for (item = copy; r == 0 && item != NULL; item = next) {
		next = strchr(item, ',');
		if (next != NULL)
			*next++ = '\0';
		item = skip_space(item);
		trim_end(item);
		if (*item == '\0')
			r = conf_errf(why, whylen, -EINVAL, "empty item in '%s'", show(v, sb));
		else
			r = list_add(o, l, item, why, whylen);
	}
	free(copy);
	return r;
}

/* "unix:/path", "[v6]:port" or "host:port". */
static int parse_addr(const char *v, struct conf_addr *a)
{
	const char *colon, *host = v;
	size_t hostlen;
	int64_t port;
	unsigned char bin[16];

	memset(a, 0, sizeof(*a));
	if (strncmp(v, "unix:", 5) == 0) {
		a->kind = CONF_ADDR_UNIX;
		if (v[5] != '/' || strlen(v + 5) >= sizeof(a->path))
			return -EINVAL;
		strcpy(a->path, v + 5);
		return 0;
	}
	a->kind = CONF_ADDR_INET;
	if (v[0] == '[') {
		const char *close = strchr(v, ']');
		if (close == NULL || close[1] != ':')
			return -EINVAL;
		host = v + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(v, ':');
		if (colon == NULL || memchr(v, ':', (size_t)(colon - v)) != NULL)
			return -EINVAL; /* a bare IPv6 address needs brackets */
		hostlen = (size_t)(colon - v);
	}
	if (hostlen == 0 || hostlen >= sizeof(a->host))
		return -EINVAL;
	memcpy(a->host, host, hostlen);
	if (parse_int(colon + 1, &port) < 0 || colon[1] == '-' || port > 65535)
		return -EINVAL;
	a->port = (uint16_t)port;
	if (v[0] == '[')
		return inet_pton(AF_INET6, a->host, bin) == 1 ? 0 : -EINVAL;
	if (inet_pton(AF_INET, a->host, bin) == 1)
		return 0;
	/* A host name: letters, digits, '-' and '.'. */
	for (size_t i = 0; i < hostlen; i++)
		if (!is_alnum(a->host[i]) && a->host[i] != '-' && a->host[i] != '.')
			return -EINVAL;
	return a->host[0] == '-' || a->host[0] == '.' ? -EINVAL : 0;
}

static int set_addr(struct conf_addrs *l, const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	struct conf_addr a;

	if (l->n >= CONF_MAX_ITEMS)
		return too_many("addresses", CONF_MAX_ITEMS, why, whylen);
	if (parse_addr(v, &a) < 0)
		return conf_errf(why, whylen, -EINVAL, "'%s' is not " EXPECT_ADDRESS, show(v, sb));
	struct conf_addr *nv = grow(l->v, l->n, sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	l->v = nv;
	l->v[l->n++] = a;
	return 0;
}

/* "DATETIME .. DATETIME": Kusto datetimes never contain "..". */
static int parse_window(const char *v, struct conf_window *w)
{
	char buf[2 * TIMEFMT_DATETIME_LEN + 16];
	const char *dots = strstr(v, "..");

	if (dots == NULL || strlen(v) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, v);
	buf[dots - v] = '\0';
	char *min = buf, *max = skip_space(buf + (dots - v) + 2);
	trim_end(min);
	if (timefmt_parse_datetime(min, &w->min) < 0 || timefmt_parse_datetime(max, &w->max) < 0)
		return -EINVAL;
	return 0;
}

static int set_window(struct conf_windows *l, const char *v, char *why, size_t whylen)
{
	char sb[SHOW_BUF];
	struct conf_window w;

	if (l->n >= CONF_MAX_WINDOWS)
		return too_many("hot windows", CONF_MAX_WINDOWS, why, whylen);
	if (parse_window(v, &w) < 0)
		return conf_errf(why, whylen, -EINVAL, "'%s' is not " EXPECT_WINDOW, show(v, sb));
	if (w.max < w.min)
		return conf_errf(why, whylen, -EINVAL, "'%s' ends before it starts", show(v, sb));
	struct conf_window *nv = grow(l->v, l->n, sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	l->v = nv;
	l->v[l->n++] = w;
	return 0;
}

/* "TABLE:DURATION", split at the first ':' (names never hold one; a Kusto
 * timespan may). */
static int set_table_hot(const struct conf_option *o, struct conf_table_hots *l, const char *v,
                         char *why, size_t whylen)
{
	char sb[SHOW_BUF], table[CONF_MAX_NAME + 1];
	const char *colon = strchr(v, ':');
	int64_t hot;

	if (l->n >= CONF_MAX_ITEMS)
		return too_many("tables", CONF_MAX_ITEMS, why, whylen);
	if (colon == NULL || (size_t)(colon - v) > CONF_MAX_NAME)
		return conf_errf(why, whylen, -EINVAL, "'%s' is not " EXPECT_TABLE_HOT,
		                 show(v, sb));
	memcpy(table, v, (size_t)(colon - v));
	table[colon - v] = '\0';
	trim_end(table);
	if (!valid_name(table))
		return conf_errf(why, whylen, -EINVAL, "'%s' is not a table name (" NAME_RULE ")",
		                 show(table, sb));
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].table, table) == 0)
			return conf_errf(why, whylen, -EINVAL, "table '%s' is given twice", table);
	if (parse_duration(o, skip_space(colon + 1), &hot, why, whylen) < 0)
		return -EINVAL;
	struct conf_table_hot *nv = grow(l->v, l->n, sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	l->v = nv;
	if ((l->v[l->n].table = strdup(table)) == NULL)
		return -ENOMEM;
	l->v[l->n++].hot = hot;
	return 0;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF): the store keeps configurations as JSON, which needs it. */
static bool utf8_valid(const unsigned char *s)
{
	while (*s != '\0') {
		unsigned n = *s < 0x80                 ? 0
		             : *s >= 0xc2 && *s < 0xe0 ? 1
		             : *s >= 0xe0 && *s < 0xf0 ? 2
		             : *s >= 0xf0 && *s < 0xf5 ? 3
		                                       : 9;
		if (n == 9)
			return false;
		uint32_t cp = n == 0 ? *s : *s & (0x3f >> n);
		for (unsigned i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		s += n + 1;
	}
	return true;
}

static int set_typed(const struct conf_option *o, void *f, const char *v, bool one_item, char *why,
                     size_t whylen)
{
	switch (o->type) {
	case CONF_T_STRING:
	case CONF_T_PATH:
		return set_string(o, f, v, why, whylen);
	case CONF_T_LIST:
		return set_list(o, f, v, one_item, why, whylen);
	case CONF_T_ADDRESS:
		return set_addr(f, v, why, whylen);
	case CONF_T_WINDOW:
		return set_window(f, v, why, whylen);
	case CONF_T_TABLE_HOT:
		return set_table_hot(o, f, v, why, whylen);
	default:
		return set_scalar(o, f, v, why, whylen);
	}
}

/* Sets the field of o in base from one value as written: the whole value
 * of a line, or (one_item, from JSON) one item of a list.  why receives
 * what was wrong, without the key. */
static int set_value(const struct conf_option *o, void *base, const char *v, bool one_item,
                     char *why, size_t whylen)
{
	int r;

	if (*v == '\0')
		return conf_errf(why, whylen, -EINVAL, "no value");
	for (const char *p = v; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return conf_errf(why, whylen, -EINVAL,
			                 "control character 0x%02x in the value",
			                 (unsigned)(unsigned char)*p);
	if (!utf8_valid((const unsigned char *)v))
		return conf_errf(why, whylen, -EINVAL, "the value is not valid UTF-8");
	r = set_typed(o, field_of(o, base), v, one_item, why, whylen);
	if (r == -ENOMEM)
		(void)conf_errf(why, whylen, r, "out of memory");
	return r;
}

/* ---- fields: free, copy, compare, print ---- */

static size_t scalar_size(enum conf_type t)
{
	switch (t) {
	case CONF_T_BOOL:
		return sizeof(bool);
	case CONF_T_INT:
	case CONF_T_ENUM:
		return sizeof(int);
	case CONF_T_DURATION:
		return sizeof(int64_t);
	case CONF_T_SIZE:
		return sizeof(uint64_t);
	default:
		return 0;
	}
}

static void list_clear(struct conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void field_free(const struct conf_option *o, void *f)
{
	struct conf_table_hots *th = f;

	switch (o->type) {
	case CONF_T_STRING:
	case CONF_T_PATH:
		free(*(char **)f);
		break;
	case CONF_T_LIST:
		list_clear(f);
		break;
	case CONF_T_ADDRESS:
		free(((struct conf_addrs *)f)->v);
		break;
	case CONF_T_WINDOW:
		free(((struct conf_windows *)f)->v);
		break;
	case CONF_T_TABLE_HOT:
		for (size_t i = 0; i < th->n; i++)
			free(th->v[i].table);
		free(th->v);
		break;
	default:
		break;
	}
}

/* Copies an array of n elements into *ret so that grow() keeps working on
 * it; *ret is NULL when n is 0. */
static int copy_array(const void *src, size_t n, size_t size, void **ret)
{
	void *v = NULL;

	for (size_t i = 0; i < n; i++) {
		void *nv = grow(v, i, size);
		if (nv == NULL) {
			free(v);
			return -ENOMEM;
		}
		v = nv;
	}
	if (n > 0)
		memcpy(v, src, n * size);
	*ret = v;
	return 0;
}

static int copy_strings(const struct conf_option *o, void *dst, const void *src)
{
	const struct conf_list *sl = src;
	const struct conf_table_hots *st = src;
	struct conf_table_hots *dt = dst;

	if (o->type == CONF_T_STRING || o->type == CONF_T_PATH) {
		const char *s = *(char *const *)src;
		if (s != NULL && (*(char **)dst = strdup(s)) == NULL)
			return -ENOMEM;
		return 0;
	}
	if (o->type == CONF_T_LIST) {
		for (size_t i = 0; i < sl->n; i++)
			if (list_push(dst, sl->items[i]) < 0)
				return -ENOMEM;
		return 0;
	}
	/* CONF_T_TABLE_HOT: the array first, then its strings. */
	void *v;
	if (copy_array(st->v, st->n, sizeof(*st->v), &v) < 0)
		return -ENOMEM;
	dt->v = v;
	for (; dt->n < st->n; dt->n++)
		if ((dt->v[dt->n].table = strdup(st->v[dt->n].table)) == NULL)
			return -ENOMEM;
	return 0;
}

/* dst is zeroed (or unset) on entry; on failure it holds a part of the copy
 * that field_free() releases. */
static int field_copy(const struct conf_option *o, void *dst, const void *src)
{
	const struct conf_addrs *sa = src;
	const struct conf_windows *sw = src;
	struct conf_addrs *da = dst;
	struct conf_windows *dw = dst;
	void *v;

	switch (o->type) {
	case CONF_T_ADDRESS:
		if (copy_array(sa->v, sa->n, sizeof(*sa->v), &v) < 0)
			return -ENOMEM;
		da->v = v;
		da->n = sa->n;
		return 0;
	case CONF_T_WINDOW:
		if (copy_array(sw->v, sw->n, sizeof(*sw->v), &v) < 0)
			return -ENOMEM;
		dw->v = v;
		dw->n = sw->n;
		return 0;
	case CONF_T_STRING:
	case CONF_T_PATH:
	case CONF_T_LIST:
	case CONF_T_TABLE_HOT:
		return copy_strings(o, dst, src);
	default:
		memcpy(dst, src, scalar_size(o->type));
		return 0;
	}
}

static bool addr_equal(const struct conf_addr *a, const struct conf_addr *b)
{
	return a->kind == b->kind && a->port == b->port && strcmp(a->host, b->host) == 0 &&
	       strcmp(a->path, b->path) == 0;
}

static bool field_equal(const struct conf_option *o, const void *fa, const void *fb)
{
	const struct conf_list *la = fa, *lb = fb;
	const struct conf_addrs *aa = fa, *ab = fb;
	const struct conf_windows *wa = fa, *wb = fb;
	const struct conf_table_hots *ta = fa, *tb = fb;
	size_t n;

	switch (o->type) {
	case CONF_T_STRING:
	case CONF_T_PATH:
		return str_equal(*(char *const *)fa, *(char *const *)fb);
	case CONF_T_LIST:
		for (n = 0; la->n == lb->n && n < la->n; n++)
			if (strcmp(la->items[n], lb->items[n]) != 0)
				return false;
		return la->n == lb->n;
	case CONF_T_ADDRESS:
		for (n = 0; aa->n == ab->n && n < aa->n; n++)
			if (!addr_equal(&aa->v[n], &ab->v[n]))
				return false;
		return aa->n == ab->n;
	case CONF_T_WINDOW:
		for (n = 0; wa->n == wb->n && n < wa->n; n++)
			if (wa->v[n].min != wb->v[n].min || wa->v[n].max != wb->v[n].max)
				return false;
		return wa->n == wb->n;
	case CONF_T_TABLE_HOT:
		for (n = 0; ta->n == tb->n && n < ta->n; n++)
			if (strcmp(ta->v[n].table, tb->v[n].table) != 0 ||
			    ta->v[n].hot != tb->v[n].hot)
				return false;
		return ta->n == tb->n;
	default:
		return memcmp(fa, fb, scalar_size(o->type)) == 0;
	}
}

/* How many values the field holds: items of an array, else 1 when set. */
static size_t field_count(const struct conf_option *o, const void *f)
{
	switch (o->type) {
	case CONF_T_STRING:
	case CONF_T_PATH:
		return *(char *const *)f != NULL;
	case CONF_T_DURATION:
		return *(const int64_t *)f != CONF_UNSET;
	case CONF_T_LIST:
		return ((const struct conf_list *)f)->n;
	case CONF_T_ADDRESS:
		return ((const struct conf_addrs *)f)->n;
	case CONF_T_WINDOW:
		return ((const struct conf_windows *)f)->n;
	case CONF_T_TABLE_HOT:
		return ((const struct conf_table_hots *)f)->n;
	default:
		return 1;
	}
}

static void format_addr(const struct conf_addr *a, char *buf, size_t len)
{
	if (a->kind == CONF_ADDR_UNIX)
		(void)snprintf(buf, len, "unix:%s", a->path);
	else if (strchr(a->host, ':') != NULL)
		(void)snprintf(buf, len, "[%s]:%u", a->host, (unsigned)a->port);
	else
		(void)snprintf(buf, len, "%s:%u", a->host, (unsigned)a->port);
}

static void format_window(const struct conf_window *w, char *buf, size_t len)
{
	char min[TIMEFMT_DATETIME_LEN], max[TIMEFMT_DATETIME_LEN];

	(void)snprintf(buf, len, "%s .. %s", timefmt_format_datetime(w->min, min),
	               timefmt_format_datetime(w->max, max));
}

/* Value i of the field in file syntax: a string of the field itself or buf
 * (TEXT_BUF bytes). */
static const char *field_text(const struct conf_option *o, const void *f, size_t i, char *buf)
{
	const struct conf_table_hots *th = f;
	char d[TIMEFMT_TIMESPAN_LEN];

	switch (o->type) {
	case CONF_T_STRING:
	case CONF_T_PATH:
		return *(char *const *)f;
	case CONF_T_BOOL:
		return *(const bool *)f ? "true" : "false";
	case CONF_T_INT:
		(void)snprintf(buf, TEXT_BUF, "%d", *(const int *)f);
		return buf;
	case CONF_T_DURATION:
		format_duration(*(const int64_t *)f, buf, TEXT_BUF);
		return buf;
	case CONF_T_SIZE:
		format_size(*(const uint64_t *)f, buf, TEXT_BUF);
		return buf;
	case CONF_T_ENUM:
		return o->choices[*(const int *)f];
	case CONF_T_LIST:
		return ((const struct conf_list *)f)->items[i];
	case CONF_T_ADDRESS:
		format_addr(&((const struct conf_addrs *)f)->v[i], buf, TEXT_BUF);
		return buf;
	case CONF_T_WINDOW:
		format_window(&((const struct conf_windows *)f)->v[i], buf, TEXT_BUF);
		return buf;
	case CONF_T_TABLE_HOT:
		format_duration(th->v[i].hot, d, sizeof(d));
		(void)snprintf(buf, TEXT_BUF, "%s:%s", th->v[i].table, d);
		return buf;
	}
	return "";
}

/* ---- structs ---- */

static struct conf_attach *attach_alloc(void)
{
	struct conf_attach *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	for (size_t i = 0; i < NOPTS; i++)
		if (options[i].scope == CONF_SCOPE_ATTACH && options[i].type == CONF_T_DURATION &&
		    options[i].def == NULL)
			*(int64_t *)field_of(&options[i], a) = CONF_UNSET;
	return a;
}

static void fields_free(enum conf_scope scope, void *base)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (options[i].scope == scope)
			field_free(&options[i], field_of(&options[i], base));
}

void conf_attach_free(struct conf_attach *a)
{
	if (a == NULL)
		return;
	fields_free(CONF_SCOPE_ATTACH, a);
	free_secret(a->account_key);
	free_secret(a->sas_token);
	free(a->name);
	free(a);
}

void conf_free(struct conf *c)
{
	if (c == NULL)
		return;
	fields_free(CONF_SCOPE_DAEMON, c);
	for (size_t i = 0; i < c->nattach; i++)
		conf_attach_free(c->attach[i]);
	free(c->attach);
	free(c);
}

static int copy_secret(char **dst, const char *src)
{
	if (src != NULL && (*dst = strdup(src)) == NULL)
		return -ENOMEM;
	return 0;
}

int conf_attach_copy(const struct conf_attach *a, struct conf_attach **ret)
{
	struct conf_attach *n = attach_alloc();
	int r = -ENOMEM;

	if (n == NULL)
		return -ENOMEM;
	n->secret_too_open = a->secret_too_open;
	n->line = a->line;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_option *o = &options[i];
		if (o->scope == CONF_SCOPE_ATTACH &&
		    field_copy(o, field_of(o, n), field_of(o, a)) < 0)
			goto out;
	}
	if (copy_secret(&n->name, a->name) < 0 ||
	    copy_secret(&n->account_key, a->account_key) < 0 ||
	    copy_secret(&n->sas_token, a->sas_token) < 0)
		goto out;
	*ret = n;
	n = NULL;
	r = 0;
out:
	conf_attach_free(n);
	return r;
}

bool conf_attach_equal(const struct conf_attach *a, const struct conf_attach *b)
{
	if (!str_equal(a->name, b->name) || !str_equal(a->account_key, b->account_key) ||
	    !str_equal(a->sas_token, b->sas_token))
		return false;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_option *o = &options[i];
		if (o->scope == CONF_SCOPE_ATTACH &&
		    !field_equal(o, field_of(o, a), field_of(o, b)))
			return false;
	}
	return true;
}

/* ---- files and secrets ---- */

static int errno_why(int e, const char *path, char *why, size_t whylen)
{
	char eb[128];

	return conf_errf(why, whylen, -e, "cannot read %s: %s", path,
	                 strerror_r(e, eb, sizeof(eb)));
}

static int read_fd(int fd, const char *path, size_t max, char *buf, size_t *ret_len, char *why,
                   size_t whylen)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno_why(errno, path, why, whylen);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return conf_errf(why, whylen, -E2BIG, "%s is larger than %zu bytes", path,
			                 max);
	}
	buf[len] = '\0';
	*ret_len = len;
	return 0;
}

/* Reads the regular file path, at most max bytes, into a new NUL-terminated
 * buffer; its mode goes to *ret_mode.  O_NONBLOCK: a FIFO named by mistake
 * (or by a fuzzer) must not hang the caller. */
static int read_file(const char *path, size_t max, char **ret, size_t *ret_len, mode_t *ret_mode,
                     char *why, size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return errno_why(errno, path, why, whylen);
	if (fstat(fd, &st) < 0) {
		r = errno_why(errno, path, why, whylen);
		goto out;
	}
	r = -EINVAL;
	if (!S_ISREG(st.st_mode)) {
		(void)conf_errf(why, whylen, r, "%s is not a regular file", path);
		goto out;
	}
	r = -E2BIG;
	if ((uint64_t)st.st_size > max) {
		(void)conf_errf(why, whylen, r, "%s is larger than %zu bytes", path, max);
		goto out;
	}
	r = -ENOMEM;
	if ((buf = malloc(max + 1)) == NULL)
		goto out;
	if ((r = read_fd(fd, path, max, buf, &len, why, whylen)) < 0)
		goto out;
	*ret = buf;
	*ret_len = len;
	*ret_mode = st.st_mode;
	buf = NULL;
out:
	if (buf != NULL) /* it may hold part of a secret */
		explicit_bzero(buf, max + 1);
	free(buf);
	(void)close(fd);
	return r;
}

static bool is_base64(const char *s)
{
	for (; *s != '\0'; s++)
		if (!is_alnum(*s) && *s != '+' && *s != '/' && *s != '=')
			return false;
	return true;
}

/* Checks a secret read from path (trailing white space already removed);
 * messages name the file, never the content. */
static int check_secret(const char *path, const char *s, bool is_key, char *why, size_t whylen)
{
	if (*s == '\0')
		return conf_errf(why, whylen, -EINVAL, "%s is empty", path);
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return conf_errf(why, whylen, -EINVAL,
			                 "%s must hold the secret alone on one line", path);
	if (is_key && !is_base64(s))
		return conf_errf(why, whylen, -EINVAL, "%s does not hold a base64 account key",
		                 path);
	if (!is_key && strstr(s, "sig=") == NULL)
		return conf_errf(why, whylen, -EINVAL,
		                 "%s does not hold a SAS token (expected sv=...&sig=...)", path);
	return 0;
}

/* Reads the secret in path into a new string (*ret); *ret_open is set when
 * group or others may read the file. */
static int read_secret(const char *path, bool is_key, char **ret, bool *ret_open, char *why,
                       size_t whylen)
{
	char *buf = NULL;
	size_t len;
	mode_t mode;
	int r = read_file(path, CONF_MAX_SECRET, &buf, &len, &mode, why, whylen);

	if (r < 0)
		return r;
	while (len > 0 && (unsigned char)buf[len - 1] <= ' ')
		buf[--len] = '\0';
	/* target_open() takes a SAS token with or without its '?'. */
	size_t skip = !is_key && buf[0] == '?';
	if ((r = check_secret(path, buf + skip, is_key, why, whylen)) < 0) {
		free_secret(buf);
		return r;
	}
	memmove(buf, buf + skip, len + 1 - skip);
	*ret = buf;
	*ret_open = (mode & (S_IRGRP | S_IROTH)) != 0;
	return 0;
}

static int attach_read_secrets(struct conf_attach *a, const struct conf_option **ret_opt, char *why,
                               size_t whylen)
{
	bool open_ = false;
	int r = 0;

	if (a->account_key_file != NULL) {
		*ret_opt = find_option(CONF_SCOPE_ATTACH, "account_key_file");
		r = read_secret(a->account_key_file, true, &a->account_key, &open_, why, whylen);
	} else if (a->sas_token_file != NULL) {
		*ret_opt = find_option(CONF_SCOPE_ATTACH, "sas_token_file");
		r = read_secret(a->sas_token_file, false, &a->sas_token, &open_, why, whylen);
	}
	a->secret_too_open = open_;
	if (r == 0)
		*ret_opt = NULL;
	return r;
}

/* ---- whole sections: required keys, defaults, rules between keys ---- */

/* Fails naming the option the rule is about (*ret_opt). */
static int fail_on(const char *key, const struct conf_option **ret_opt, char *why, size_t whylen,
                   const char *msg)
{
	*ret_opt = find_option(CONF_SCOPE_ATTACH, key);
	return conf_errf(why, whylen, -EINVAL, "%s", msg);
}

static int attach_rules(const struct conf_attach *a, const struct conf_option **ret_opt, char *why,
                        size_t whylen)
{
	bool all = strcmp(a->database, "*") == 0;
	bool overrides =
	    a->hot_cache != CONF_UNSET || a->hot_windows.n > 0 || a->table_hot_cache.n > 0;

	if (all && a->local_name != NULL)
		return fail_on("local_name", ret_opt, why, whylen,
		               "not allowed with database = * (use local_prefix)");
	if (!all && a->local_prefix != NULL)
		return fail_on("local_prefix", ret_opt, why, whylen,
		               "only allowed with database = * (use local_name)");
	if (a->account_key_file != NULL && a->sas_token_file != NULL)
		return fail_on("sas_token_file", ret_opt, why, whylen,
		               "not allowed with account_key_file (give one credential)");
	if (overrides && a->caching_policies_modification_kind == CONF_MOD_NONE)
		return fail_on(a->hot_cache != CONF_UNSET ? "hot_cache"
		               : a->hot_windows.n > 0     ? "hot_window"
		                                          : "table_hot_cache",
		               ret_opt, why, whylen,
		               "has no effect with caching_policies_modification_kind = none");
	return 0;
}

/* Applies the defaults of the options of scope not in seen (lines, 0 when
 * not given). */
static int apply_defaults(enum conf_scope scope, void *base, const unsigned *seen, char *why,
                          size_t whylen)
{
	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_option *o = &options[i];
		if (o->scope != scope || seen[i] != 0 || o->def == NULL)
			continue;
		int r = set_value(o, base, o->def, false, why, whylen);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Completes an attach once all its keys are set (file or JSON): required
 * keys, defaults, rules, secrets.  On failure *ret_opt is the option at
 * fault, NULL when the section as a whole is. */
static int attach_finish(struct conf_attach *a, const unsigned *seen, unsigned flags,
                         const struct conf_option **ret_opt, char *why, size_t whylen)
{
	int r;

	*ret_opt = NULL;
	for (size_t i = 0; i < NOPTS; i++)
		if (options[i].scope == CONF_SCOPE_ATTACH && seen[i] == 0 &&
		    (options[i].flags & CONF_OPT_REQUIRED))
			return conf_errf(why, whylen, -EINVAL, "missing '%s'", options[i].name);
	if ((r = apply_defaults(CONF_SCOPE_ATTACH, a, seen, why, whylen)) < 0)
		return r;
	if ((r = attach_rules(a, ret_opt, why, whylen)) < 0)
		return r;
	if (flags & CONF_SKIP_SECRETS)
		return 0;
	return attach_read_secrets(a, ret_opt, why, whylen);
}

static const char *daemon_rules(const struct conf *c, char *why, size_t whylen)
{
	if (c->fetch_concurrency_per_leader > c->fetch_concurrency) {
		(void)conf_errf(why, whylen, -EINVAL, "%d is more than fetch_concurrency (%d)",
		                c->fetch_concurrency_per_leader, c->fetch_concurrency);
		return "fetch_concurrency_per_leader";
	}
	if (c->tls_cert != NULL && c->tls_key == NULL) {
		(void)conf_errf(why, whylen, -EINVAL, "needs tls_key as well");
		return "tls_cert";
	}
	if (c->tls_key != NULL && c->tls_cert == NULL) {
		(void)conf_errf(why, whylen, -EINVAL, "needs tls_cert as well");
		return "tls_key";
	}
	if (c->tls_client_ca != NULL && c->tls_cert == NULL) {
		(void)conf_errf(why, whylen, -EINVAL,
		                "needs tls_cert (client certificates need HTTPS)");
		return "tls_client_ca";
	}
	return NULL;
}

/* The host name as the default follower_name. */
static int default_follower_name(struct conf *c, char *why, size_t whylen)
{
	char host[CONF_MAX_NAME + 1] = "";

	if (c->follower_name != NULL)
		return 0;
	if (gethostname(host, sizeof(host) - 1) < 0 || !valid_id(host))
		return conf_errf(why, whylen, -EINVAL,
		                 "the host name '%s' is not a follower name (" ID_RULE "): set it",
		                 host);
	if ((c->follower_name = strdup(host)) == NULL)
		return -ENOMEM;
	return 0;
}

/* ---- the file parser ---- */

struct parser {
	const char *file;
	unsigned line;
	unsigned flags;
	struct conf *c;
	struct conf_attach *cur; /* the [attach] section being read, NULL: none */
	bool in_daemon;
	unsigned daemon_line;        /* line of [daemon], 0 when none yet */
	unsigned daemon_seen[NOPTS]; /* line each daemon key was given on */
	unsigned attach_seen[NOPTS]; /* the same, for the current attach */
	char *err;
	size_t errlen;
};

static int perr(struct parser *p, unsigned line, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* "FILE:LINE: message" (no LINE when 0). */
static int perr(struct parser *p, unsigned line, int r, const char *fmt, ...)
{
	char msg[CONF_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line == 0)
		return conf_errf(p->err, p->errlen, r, "%s: %s", p->file, msg);
	return conf_errf(p->err, p->errlen, r, "%s:%u: %s", p->file, line, msg);
}

/* Levenshtein distance of two short strings (keys), capped at 99. */
static unsigned distance(const char *a, const char *b)
{
	unsigned row[KEY_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > KEY_MAX || lb > KEY_MAX)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The known key of scope nearest to key, NULL when none is near. */
static const char *nearest_key(enum conf_scope scope, const char *key)
{
	const char *best = NULL;
	unsigned bestd = strlen(key) < 6 ? 2 : 3;

	for (size_t i = 0; i < NOPTS; i++) {
		if (options[i].scope != scope)
			continue;
		unsigned d = distance(key, options[i].name);
		if (d < bestd) {
			bestd = d;
			best = options[i].name;
		}
	}
	return best;
}

static int unknown_key(struct parser *p, enum conf_scope scope, const char *key)
{
	char sb[SHOW_BUF];
	enum conf_scope other = scope == CONF_SCOPE_DAEMON ? CONF_SCOPE_ATTACH : CONF_SCOPE_DAEMON;
	const char *near = nearest_key(scope, key);
	const char *where = scope == CONF_SCOPE_DAEMON ? "[daemon]" : "[attach]";

	if (find_option(other, key) != NULL && scope == CONF_SCOPE_DAEMON)
		return perr(p, p->line, -EINVAL,
		            "'%s' is not a [daemon] key (it belongs in [attach \"NAME\"] sections)",
		            key);
	if (find_option(other, key) != NULL)
		return perr(p, p->line, -EINVAL,
		            "'%s' is not an [attach] key (it belongs in [daemon])", key);
	if (near != NULL)
		return perr(p, p->line, -EINVAL, "unknown key '%s' in %s (did you mean '%s'?)",
		            show(key, sb), where, near);
	return perr(p, p->line, -EINVAL, "unknown key '%s' in %s", show(key, sb), where);
}

/* Ends the current [attach] section: completes and checks it. */
static int end_attach(struct parser *p)
{
	struct conf_attach *a = p->cur;
	const struct conf_option *o;
	char why[CONF_ERRLEN];
	int r;

	if (a == NULL)
		return 0;
	p->cur = NULL;
	r = attach_finish(a, p->attach_seen, p->flags, &o, why, sizeof(why));
	if (r < 0 && o == NULL)
		return perr(p, a->line, r, "[attach \"%s\"]: %s", a->name, why);
	if (r < 0) {
		unsigned line = p->attach_seen[o - options];
		return perr(p, line != 0 ? line : a->line, r, "%s: %s", o->name, why);
	}
	return 0;
}

static int begin_daemon(struct parser *p)
{
	if (p->daemon_line != 0)
		return perr(p, p->line, -EINVAL, "[daemon] given twice (first at line %u)",
		            p->daemon_line);
	p->daemon_line = p->line;
	p->in_daemon = true;
	return 0;
}

static int begin_attach(struct parser *p, const char *name)
{
	char why[CONF_ERRLEN];
	struct conf *c = p->c;
	struct conf_attach *a;

	if (check_id(name, why, sizeof(why)) < 0)
		return perr(p, p->line, -EINVAL, "[attach]: %s", why);
	if (c->nattach >= CONF_MAX_ATTACH)
		return perr(p, p->line, -E2BIG, "more than %d [attach] sections", CONF_MAX_ATTACH);
	struct conf_attach **v = grow(c->attach, c->nattach, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	c->attach = v;
	if ((a = attach_alloc()) == NULL || (a->name = strdup(name)) == NULL) {
		conf_attach_free(a);
		return -ENOMEM;
	}
	a->line = p->line;
	c->attach[c->nattach++] = a;
	p->cur = a;
	memset(p->attach_seen, 0, sizeof(p->attach_seen));
	return 0;
}

#define SECTION_EXPECT "(expected [daemon] or [attach \"NAME\"])"

static bool is_word(const char *w, size_t len, const char *want)
{
	return len == strlen(want) && strncmp(w, want, len) == 0;
}

static int bad_section(struct parser *p, char *word, char *end)
{
	char sb[SHOW_BUF];
	bool bracket = *skip_space(end) == ']';

	*end = '\0';
	if (word == end || !bracket)
		return perr(p, p->line, -EINVAL, "malformed section header " SECTION_EXPECT);
	return perr(p, p->line, -EINVAL, "unknown section '%s' " SECTION_EXPECT, show(word, sb));
}

/* "[daemon]" or "[attach "NAME"]", then only a comment. */
static int parse_header(struct parser *p, char *s)
{
	char *word = skip_space(s + 1), *name = NULL, *end = word;

	while (is_alnum(*end) || *end == '_')
		end++;
	size_t wlen = (size_t)(end - word);
	s = skip_space(end);
	if (is_word(word, wlen, "attach")) {
		if (*s != '"')
			return perr(p, p->line, -EINVAL,
			            "[attach] needs a quoted name: [attach \"NAME\"]");
		name = s + 1;
		if ((s = strchr(name, '"')) == NULL)
			return perr(p, p->line, -EINVAL, "unterminated attach name");
		*s = '\0';
		s = skip_space(s + 1);
	} else if (!is_word(word, wlen, "daemon")) {
		return bad_section(p, word, end);
	}
	if (*s != ']' || (*(s = skip_space(s + 1)) != '\0' && *s != '#'))
		return perr(p, p->line, -EINVAL, "malformed section header " SECTION_EXPECT);
	int r = end_attach(p);
	if (r < 0)
		return r;
	p->in_daemon = false;
	return name == NULL ? begin_daemon(p) : begin_attach(p, name);
}

/* The value after '=': a double-quoted string (escapes \" and \\) or the
 * text up to a '#', white space trimmed.  Returns it in *ret (inside s). */
static int parse_value_text(struct parser *p, char *s, char **ret)
{
	char *in, *out;

	s = skip_space(s);
	if (*s != '"') {
		char *hash = strchr(s, '#');
		if (hash != NULL)
			*hash = '\0';
		trim_end(s);
		if (strchr(s, '"') != NULL)
			return perr(p, p->line, -EINVAL, "a '\"' may only quote a whole value");
		*ret = s;
		return 0;
	}
	for (in = s + 1, out = s; *in != '"'; *out++ = *in++) {
		if (*in == '\0')
			return perr(p, p->line, -EINVAL, "unterminated quoted value");
		if (*in == '\\' && in[1] != '"' && in[1] != '\\')
			return perr(p, p->line, -EINVAL,
			            "unknown escape in a quoted value (only \\\" and \\\\)");
		if (*in == '\\')
			in++;
	}
	*out = '\0';
	in = skip_space(in + 1);
	if (*in != '\0' && *in != '#')
		return perr(p, p->line, -EINVAL, "text after the closing quote");
	*ret = s;
	return 0;
}

static int set_key(struct parser *p, const char *key, const char *value)
{
	enum conf_scope scope = p->cur != NULL ? CONF_SCOPE_ATTACH : CONF_SCOPE_DAEMON;
	unsigned *seen = p->cur != NULL ? p->attach_seen : p->daemon_seen;
	void *base = p->cur != NULL ? (void *)p->cur : (void *)p->c;
	const struct conf_option *o = find_option(scope, key);
	char why[CONF_ERRLEN];
	int r;

	if (o == NULL)
		return unknown_key(p, scope, key);
	if (seen[o - options] != 0 && !(o->flags & CONF_OPT_REPEAT))
		return perr(p, p->line, -EINVAL, "%s: given twice (first at line %u)", key,
		            seen[o - options]);
	if (seen[o - options] == 0)
		seen[o - options] = p->line;
	if ((r = set_value(o, base, value, false, why, sizeof(why))) < 0)
		return perr(p, p->line, r, "%s: %s", key, why);
	return 0;
}

/* "key = value". */
static int parse_key_value(struct parser *p, char *s)
{
	char sb[SHOW_BUF];
	char *key = s, *value = NULL;
	int r;

	while (is_alnum(*s) || *s == '_')
		s++;
	if (s == key)
		return perr(p, p->line, -EINVAL, "expected 'key = value' or a [section]");
	char *eq = skip_space(s);
	if (*eq != '=') {
		*s = '\0';
		return perr(p, p->line, -EINVAL, "expected '=' after '%s'", show(key, sb));
	}
	*s = '\0';
	if (p->cur == NULL && !p->in_daemon)
		return perr(p, p->line, -EINVAL,
		            "'%s' is outside a section (start with [daemon] or [attach \"NAME\"])",
		            show(key, sb));
	if ((r = parse_value_text(p, eq + 1, &value)) < 0)
		return r;
	return set_key(p, key, value);
}

/* One line of n bytes (no newline). */
static int parse_line(struct parser *p, const char *text, size_t n)
{
	char buf[CONF_MAX_LINE + 1];

	if (n > 0 && text[n - 1] == '\r')
		n--;
	if (n > CONF_MAX_LINE)
		return perr(p, p->line, -E2BIG, "line longer than %d bytes", CONF_MAX_LINE);
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)text[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return perr(p, p->line, -EINVAL, "control character 0x%02x", ch);
	}
	memcpy(buf, text, n);
	buf[n] = '\0';
	char *s = skip_space(buf);
	if (*s == '\0' || *s == '#')
		return 0;
	if (*s == '[')
		return parse_header(p, s);
	return parse_key_value(p, s);
}

/* The local database an attach with a single database lands on; NULL for
 * database = * (known only when the leader is read). */
static const char *static_local(const struct conf_attach *a)
{
	if (strcmp(a->database, "*") == 0)
		return NULL;
	return a->local_name != NULL ? a->local_name : a->database;
}

static const char *attach_name(const struct conf_attach *a)
{
	return a->name;
}

struct keyed {
	const char *key;
	const struct conf_attach *a;
};

static int keyed_cmp(const void *x, const void *y)
{
	const struct keyed *a = x, *b = y;
	int r = strcmp(a->key, b->key);

	if (r != 0)
		return r;
	return (a->a->line > b->a->line) - (a->a->line < b->a->line);
}

/* Finds two configurations of c with the same key(): of all such pairs, the
 * one whose later member comes first in the file (the error a reader
 * expects).  *ret_second is NULL when there is none.  0 or -ENOMEM. */
static int find_clash(const struct conf *c, const char *(*key)(const struct conf_attach *),
                      const struct conf_attach **ret_first, const struct conf_attach **ret_second)
{
	struct keyed *v = calloc(c->nattach + 1, sizeof(*v));
	size_t n = 0;

	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < c->nattach; i++) {
		v[n].key = key(c->attach[i]);
		v[n].a = c->attach[i];
		n += v[n].key != NULL;
	}
	qsort(v, n, sizeof(*v), keyed_cmp);
	*ret_second = NULL;
	for (size_t i = 1; i < n; i++) {
		if (strcmp(v[i - 1].key, v[i].key) != 0)
			continue;
		/* Within a run of equal keys, v[i - 1] is the earliest. */
		size_t first = i - 1;
		if (*ret_second == NULL || v[i].a->line < (*ret_second)->line) {
			*ret_first = v[first].a;
			*ret_second = v[i].a;
		}
		while (i + 1 < n && strcmp(v[i + 1].key, v[i].key) == 0)
			i++;
	}
	free(v);
	return 0;
}

static int check_clashes(struct parser *p)
{
	const struct conf_attach *a, *b;
	int r;

	if ((r = find_clash(p->c, attach_name, &a, &b)) < 0)
		return r;
	if (b != NULL)
		return perr(p, b->line, -EEXIST, "attach \"%s\" is already defined at line %u",
		            b->name, a->line);
	if ((r = find_clash(p->c, static_local, &a, &b)) < 0)
		return r;
	if (b != NULL)
		return perr(p, b->line, -EEXIST,
		            "attach \"%s\" would land on the same local database '%s' as attach "
		            "\"%s\" (line %u)",
		            b->name, static_local(b), a->name, a->line);
	return 0;
}

static int finish_daemon(struct parser *p)
{
	struct conf *c = p->c;
	char why[CONF_ERRLEN];
	const char *key;
	int r;

	if ((r = apply_defaults(CONF_SCOPE_DAEMON, c, p->daemon_seen, why, sizeof(why))) < 0)
		return perr(p, p->daemon_line, r, "%s", why);
	if ((r = default_follower_name(c, why, sizeof(why))) < 0)
		return r == -ENOMEM ? r : perr(p, p->daemon_line, r, "follower_name: %s", why);
	if ((key = daemon_rules(c, why, sizeof(why))) != NULL) {
		unsigned line = p->daemon_seen[find_option(CONF_SCOPE_DAEMON, key) - options];
		return perr(p, line != 0 ? line : p->daemon_line, -EINVAL, "%s: %s", key, why);
	}
	return 0;
}

static int parse_lines(struct parser *p, const char *text, size_t len)
{
	size_t pos = 0;
	int r;

	/* A byte order mark, as some Windows editors write. */
	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - text) - pos : len - pos;
		p->line++;
		if ((r = parse_line(p, text + pos, n)) < 0)
			return r;
		pos += n + 1;
	}
	return 0;
}

int conf_parse(const char *name, const char *text, size_t len, unsigned flags, struct conf **ret,
               char *err, size_t errlen)
{
	struct parser *p = NULL;
	int r = -ENOMEM;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len > CONF_MAX_FILE_BYTES)
		return conf_errf(err, errlen, -E2BIG, "%s: larger than %zu bytes", name,
		                 CONF_MAX_FILE_BYTES);
	if ((p = calloc(1, sizeof(*p))) == NULL || (p->c = calloc(1, sizeof(*p->c))) == NULL)
		goto out;
	p->file = name;
	p->flags = flags;
	p->err = err;
	p->errlen = errlen;
	if ((r = parse_lines(p, text, len)) < 0 || (r = end_attach(p)) < 0 ||
	    (r = finish_daemon(p)) < 0 || (r = check_clashes(p)) < 0)
		goto out;
	*ret = p->c;
	p->c = NULL;
out:
	if (r == -ENOMEM)
		(void)conf_errf(err, errlen, r, "%s: out of memory", name);
	if (p != NULL)
		conf_free(p->c);
	free(p);
	return r;
}

int conf_load(const char *path, unsigned flags, struct conf **ret, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len;
	mode_t mode;
	int r = read_file(path, CONF_MAX_FILE_BYTES, &text, &len, &mode, err, errlen);

	if (r < 0)
		return r;
	r = conf_parse(path, text, len, flags, ret, err, errlen);
	free(text);
	return r;
}

/* ---- printing ---- */

static bool needs_quotes(const char *s)
{
	size_t n = strlen(s);

	return n == 0 || is_space(s[0]) || is_space(s[n - 1]) || strpbrk(s, "#\"") != NULL;
}

/* Output errors are sticky in a FILE: conf_dump checks ferror() once. */
static void put_text(FILE *f, const char *s)
{
	if (!needs_quotes(s)) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* A list on lines of about 100 columns ("key = a, b, c"), repeating the
 * key: a long list must not make a line longer than the parser takes. */
static void put_list(FILE *f, const char *key, const struct conf_list *l)
{
	size_t col = 0;

	for (size_t i = 0; i < l->n; i++) {
		if (col > 0 && col + strlen(l->items[i]) > 100) {
			fputc('\n', f);
			col = 0;
		}
		if (col == 0)
			col += (size_t)fprintf(f, "%s = %s", key, l->items[i]);
		else
			col += (size_t)fprintf(f, ", %s", l->items[i]);
	}
	fputc('\n', f);
}

static void put_section(FILE *f, enum conf_scope scope, const void *base)
{
	char buf[TEXT_BUF];

	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_option *o = &options[i];
		const void *field = field_of(o, base);
		size_t n = o->scope == scope ? field_count(o, field) : 0;
		if (n > 0 && o->type == CONF_T_LIST) {
			put_list(f, o->name, field);
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			fprintf(f, "%s = ", o->name);
			put_text(f, field_text(o, field, j, buf));
			fputc('\n', f);
		}
	}
}

char *conf_dump(const struct conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	fputs("# followerd configuration as loaded: defaults included, secrets left out\n"
	      "[daemon]\n",
	      f);
	put_section(f, CONF_SCOPE_DAEMON, c);
	for (size_t i = 0; i < c->nattach; i++) {
		fprintf(f, "\n[attach \"%s\"]\n", c->attach[i]->name);
		put_section(f, CONF_SCOPE_ATTACH, c->attach[i]);
	}
	bool failed = ferror(f) != 0;
	if (fclose(f) != 0 || failed) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- JSON ---- */

static json_t *field_json(const struct conf_option *o, const void *f)
{
	char buf[TEXT_BUF];
	json_t *arr;

	if (o->type == CONF_T_BOOL)
		return json_boolean(*(const bool *)f);
	if (o->type == CONF_T_INT)
		return json_integer(*(const int *)f);
	if (o->type != CONF_T_LIST && !(o->flags & CONF_OPT_REPEAT))
		return json_string(field_text(o, f, 0, buf));
	if ((arr = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < field_count(o, f); i++) {
		if (json_array_append_new(arr, json_string(field_text(o, f, i, buf))) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

json_t *conf_attach_to_json(const struct conf_attach *a)
{
	json_t *obj = json_object();

	if (obj == NULL || json_object_set_new(obj, "name", json_string(a->name)) < 0)
		goto fail;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_option *o = &options[i];
		const void *f = field_of(o, a);
		if (o->scope != CONF_SCOPE_ATTACH || field_count(o, f) == 0)
			continue;
		if (json_object_set_new(obj, o->name, field_json(o, f)) < 0)
			goto fail;
	}
	return obj;
fail:
	json_decref(obj);
	return NULL;
}

/* A JSON string as a C string: NULL when not a string or when it holds a
 * NUL (which C code would silently cut). */
static const char *json_text(json_t *v)
{
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return NULL;
	return json_string_value(v);
}

static int json_scalar(const struct conf_option *o, json_t *v, char *buf, const char **ret,
                       char *why, size_t whylen)
{
	if (o->type == CONF_T_BOOL) {
		if (!json_is_boolean(v))
			return conf_errf(why, whylen, -EINVAL, "expected true or false");
		*ret = json_is_true(v) ? "true" : "false";
		return 0;
	}
	if (o->type == CONF_T_INT) {
		if (!json_is_integer(v))
			return conf_errf(why, whylen, -EINVAL, "expected an integer");
		(void)snprintf(buf, TEXT_BUF, "%lld", (long long)json_integer_value(v));
		*ret = buf;
		return 0;
	}
	if ((*ret = json_text(v)) == NULL)
		return conf_errf(why, whylen, -EINVAL, "expected a string");
	return 0;
}

static int json_items(const struct conf_option *o, struct conf_attach *a, json_t *v, char *err,
                      size_t errlen)
{
	char why[CONF_ERRLEN];
	const char *text;
	json_t *item;
	size_t i;
	int r;

	if (!json_is_array(v))
		return conf_errf(err, errlen, -EINVAL, "%s: expected an array of strings", o->name);
	if (json_array_size(v) > CONF_MAX_ITEMS)
		return conf_errf(err, errlen, -E2BIG, "%s: more than %d items", o->name,
		                 CONF_MAX_ITEMS);
	json_array_foreach(v, i, item)
	{
		if ((text = json_text(item)) == NULL)
			return conf_errf(err, errlen, -EINVAL, "%s[%zu]: expected a string",
			                 o->name, i);
		if ((r = set_value(o, a, text, true, why, sizeof(why))) < 0)
			return conf_errf(err, errlen, r, "%s[%zu]: %s", o->name, i, why);
	}
	return 0;
}

static int json_member(struct conf_attach *a, const char *key, json_t *v, unsigned *seen, char *err,
                       size_t errlen)
{
	const struct conf_option *o = find_option(CONF_SCOPE_ATTACH, key);
	char why[CONF_ERRLEN], buf[TEXT_BUF], sb[SHOW_BUF];
	const char *text, *near;
	int r;

	if (o == NULL && (near = nearest_key(CONF_SCOPE_ATTACH, key)) != NULL)
		return conf_errf(err, errlen, -EINVAL, "unknown member '%s' (did you mean '%s'?)",
		                 show(key, sb), near);
	if (o == NULL)
		return conf_errf(err, errlen, -EINVAL, "unknown member '%s'", show(key, sb));
	seen[o - options] = 1;
	if (o->type == CONF_T_LIST || (o->flags & CONF_OPT_REPEAT))
		return json_items(o, a, v, err, errlen);
	if ((r = json_scalar(o, v, buf, &text, why, sizeof(why))) < 0 ||
	    (r = set_value(o, a, text, true, why, sizeof(why))) < 0)
		return conf_errf(err, errlen, r, "%s: %s", key, why);
	return 0;
}

static int json_name(json_t *v, struct conf_attach *a, char *err, size_t errlen)
{
	char why[CONF_ERRLEN];
	const char *name = json_text(json_object_get(v, "name"));

	if (json_object_get(v, "name") == NULL)
		return conf_errf(err, errlen, -EINVAL, "missing 'name'");
	if (name == NULL)
		return conf_errf(err, errlen, -EINVAL, "name: expected a string");
	if (check_id(name, why, sizeof(why)) < 0)
		return conf_errf(err, errlen, -EINVAL, "name: %s", why);
	if ((a->name = strdup(name)) == NULL)
		return conf_errf(err, errlen, -ENOMEM, "out of memory");
	return 0;
}

int conf_attach_from_json(json_t *v, unsigned flags, struct conf_attach **ret, char *err,
                          size_t errlen)
{
	unsigned seen[NOPTS] = {0};
	const struct conf_option *o;
	struct conf_attach *a = NULL;
	char why[CONF_ERRLEN];
	const char *key;
	json_t *val;
	int r = -EINVAL;

	if (!json_is_object(v))
		return conf_errf(err, errlen, -EINVAL, "expected a JSON object");
	if ((a = attach_alloc()) == NULL)
		return conf_errf(err, errlen, -ENOMEM, "out of memory");
	if ((r = json_name(v, a, err, errlen)) < 0)
		goto out;
	json_object_foreach(v, key, val)
	{
		if (strcmp(key, "name") != 0 &&
		    (r = json_member(a, key, val, seen, err, errlen)) < 0)
			goto out;
	}
	if ((r = attach_finish(a, seen, flags, &o, why, sizeof(why))) < 0) {
		if (o != NULL)
			(void)conf_errf(err, errlen, r, "%s: %s", o->name, why);
		else
			(void)conf_errf(err, errlen, r, "%s", why);
		goto out;
	}
	*ret = a;
	a = NULL;
out:
	conf_attach_free(a);
	return r;
}

/* ---- attach configurations at run time ---- */

static size_t attach_index(const struct conf *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nattach; i++)
		if (strcmp(c->attach[i]->name, name) == 0)
			break;
	return i;
}

struct conf_attach *conf_attach_find(const struct conf *c, const char *name)
{
	size_t i = attach_index(c, name);

	return i < c->nattach ? c->attach[i] : NULL;
}

/* -EEXIST when a names as its single local database one that another
 * configuration of c (not of the same name) names too. */
static int static_clash(const struct conf *c, const struct conf_attach *a, char *err, size_t errlen)
{
	const char *local = static_local(a);

	for (size_t i = 0; local != NULL && i < c->nattach; i++) {
		const struct conf_attach *o = c->attach[i];
		if (strcmp(o->name, a->name) != 0 && str_equal(static_local(o), local))
			return conf_errf(
			    err, errlen, -EEXIST,
			    "attach \"%s\" would land on the same local database '%s' as "
			    "attach \"%s\"",
			    a->name, local, o->name);
	}
	return 0;
}

int conf_attach_add(struct conf *c, struct conf_attach *a, char *err, size_t errlen)
{
	int r;

	if (conf_attach_find(c, a->name) != NULL)
		return conf_errf(err, errlen, -EEXIST, "attach \"%s\" already exists", a->name);
	if (c->nattach >= CONF_MAX_ATTACH)
		return conf_errf(err, errlen, -E2BIG, "more than %d attach configurations",
		                 CONF_MAX_ATTACH);
	if ((r = static_clash(c, a, err, errlen)) < 0)
		return r;
	struct conf_attach **v = grow(c->attach, c->nattach, sizeof(*v));
	if (v == NULL)
		return conf_errf(err, errlen, -ENOMEM, "out of memory");
	c->attach = v;
	c->attach[c->nattach++] = a;
	return 0;
}

int conf_attach_replace(struct conf *c, struct conf_attach *a, char *err, size_t errlen)
{
	size_t i = attach_index(c, a->name);
	int r;

	if (i == c->nattach)
		return conf_errf(err, errlen, -ENOENT, "attach \"%s\" does not exist", a->name);
	if (c->attach[i] == a)
		return 0; /* replaced by itself: freeing it would leave a dangling pointer */
	if ((r = static_clash(c, a, err, errlen)) < 0)
		return r;
	conf_attach_free(c->attach[i]);
	c->attach[i] = a;
	return 0;
}

int conf_attach_remove(struct conf *c, const char *name)
{
	size_t i = attach_index(c, name);

	if (i == c->nattach)
		return -ENOENT;
	conf_attach_free(c->attach[i]);
	memmove(&c->attach[i], &c->attach[i + 1], (c->nattach - i - 1) * sizeof(c->attach[0]));
	c->nattach--;
	return 0;
}

int conf_attach_local_name(const struct conf_attach *a, const char *leader_db, char *buf,
                           size_t len, char *err, size_t errlen)
{
	char name[2 * CONF_MAX_NAME + 1], sb[SHOW_BUF];
	const char *local = static_local(a);

	if (local == NULL) {
		(void)snprintf(name, sizeof(name), "%s%s",
		               a->local_prefix != NULL ? a->local_prefix : "", leader_db);
		local = name;
	}
	if (!valid_name(local))
		return conf_errf(err, errlen, -EINVAL,
		                 "attach \"%s\": '%s' is not a database name (" NAME_RULE ")",
		                 a->name, show(local, sb));
	if (strlen(local) >= len)
		return conf_errf(err, errlen, -ENOBUFS, "attach \"%s\": buffer too small", a->name);
	strcpy(buf, local);
	return 0;
}

int conf_check_local_name(const struct conf *c, const struct conf_attach *a, const char *local,
                          conf_held_fn held, void *arg, char *err, size_t errlen)
{
	const char *owner;

	for (size_t i = 0; i < c->nattach; i++) {
		const struct conf_attach *o = c->attach[i];
		if (strcmp(o->name, a->name) != 0 && str_equal(static_local(o), local))
			return conf_errf(
			    err, errlen, -EEXIST,
			    "attach \"%s\" cannot use local database '%s': attach \"%s\" "
			    "names it",
			    a->name, local, o->name);
	}
	owner = held != NULL ? held(local, arg) : NULL;
	if (owner != NULL && strcmp(owner, a->name) != 0)
		return conf_errf(
		    err, errlen, -EEXIST,
		    "attach \"%s\" cannot use local database '%s': attach \"%s\" holds it", a->name,
		    local, owner);
	return 0;
}

bool conf_attach_includes(const struct conf_attach *a, enum conf_entity kind, const char *name)
{
	const struct conf_list *inc = &a->include_tables, *exc = &a->exclude_tables;

	if (kind == CONF_ENTITY_EXTERNAL_TABLE) {
		inc = &a->include_external_tables;
		exc = &a->exclude_external_tables;
	} else if (kind == CONF_ENTITY_MATERIALIZED_VIEW) {
		inc = &a->include_materialized_views;
		exc = &a->exclude_materialized_views;
	}
	return match_included(inc->items, inc->n, exc->items, exc->n, name);
}

int64_t conf_attach_poll_interval(const struct conf *c, const struct conf_attach *a)
{
	return a->poll_interval != CONF_UNSET ? a->poll_interval : c->poll_interval;
}

/* ---- reload ---- */

static int name_cmp(const void *x, const void *y)
{
	const struct conf_attach *const *a = x, *const *b = y;

	return strcmp((*a)->name, (*b)->name);
}

static struct conf_attach **sorted_attach(const struct conf *c)
{
	struct conf_attach **v = calloc(c->nattach + 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	if (c->nattach > 0)
		memcpy(v, c->attach, c->nattach * sizeof(*v));
	qsort(v, c->nattach, sizeof(*v), name_cmp);
	return v;
}

/* Walks both sorted lists like a merge, filing each name. */
static int diff_attach(struct conf_attach **o, size_t no, struct conf_attach **n, size_t nn,
                       struct conf_diff *d)
{
	size_t i = 0, j = 0;
	int r = 0;

	while (r == 0 && (i < no || j < nn)) {
		int cmp = i == no ? 1 : j == nn ? -1 : strcmp(o[i]->name, n[j]->name);
		if (cmp < 0) {
			r = list_push(&d->removed, o[i++]->name);
		} else if (cmp > 0) {
			r = list_push(&d->added, n[j++]->name);
		} else {
			if (!conf_attach_equal(o[i], n[j]))
				r = list_push(&d->changed, n[j]->name);
			i++;
			j++;
		}
	}
	return r;
}

int conf_diff(const struct conf *old, const struct conf *next, struct conf_diff *ret)
{
	struct conf_attach **o = sorted_attach(old), **n = sorted_attach(next);
	struct conf_diff d = {0};
	int r = -ENOMEM;

	if (o == NULL || n == NULL)
		goto out;
	for (size_t i = 0; i < NOPTS; i++) {
		const struct conf_option *opt = &options[i];
		if (opt->scope == CONF_SCOPE_DAEMON &&
		    !field_equal(opt, field_of(opt, old), field_of(opt, next)) &&
		    list_push(&d.daemon, opt->name) < 0)
			goto out;
	}
	if ((r = diff_attach(o, old->nattach, n, next->nattach, &d)) < 0)
		goto out;
	*ret = d;
	memset(&d, 0, sizeof(d));
out:
	conf_diff_clear(&d);
	free(o);
	free(n);
	return r;
}

void conf_diff_clear(struct conf_diff *d)
{
	if (d == NULL)
		return;
	list_clear(&d->added);
	list_clear(&d->removed);
	list_clear(&d->changed);
	list_clear(&d->daemon);
}

/*
 * conf — followerd's configuration: the followerd.conf parser and the model
 * of attached database configurations (followerd.conf(5)).
 *
 * The file is a [daemon] section and any number of [attach "NAME"] sections
 * of "key = value" lines.  One declarative option table (conf_options())
 * drives parsing, validation, defaults, printing, JSON and --help.  Parsing is
 * strict and bounded; the first problem is reported as one line,
 * "FILE:LINE: what was wrong (what was expected)".
 *
 * Attached database configurations also come and go at run time (the admin
 * surface): they are added, replaced and removed with library calls and
 * persisted by the store as JSON (conf_attach_to_json / _from_json), which
 * is validated by the same option table as the file.
 *
 * On SIGHUP the daemon parses into a new struct conf, keeps the old one on
 * failure, and otherwise swaps and acts on conf_diff().
 *
 * Secrets (account keys, SAS tokens) are only ever read from files, at load
 * time; they are kept in the struct but never printed by conf_dump() or put
 * into JSON.  The library does not log: a secret file readable by group or
 * others sets conf_attach.secret_too_open for the caller to warn about.
 *
 * Errors: functions return 0 or a negative errno and write one line into err
 * (errlen bytes, CONF_ERRLEN is enough) on failure:
 *   -EINVAL  malformed or invalid configuration
 *   -E2BIG   a bound exceeded (file size, line length, counts)
 *   -EEXIST  a name or local database already taken
 *   -ENOENT, -EACCES, ...  a file could not be read (the error names it)
 *   -ENOMEM  out of memory
 */
#ifndef FOLLOWERD_CONF_H
#define FOLLOWERD_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CONF_ERRLEN 512

/* Bounds. */
#define CONF_MAX_FILE_BYTES ((size_t)1 << 20)
#define CONF_MAX_LINE 4096    /* bytes per line, without the newline */
#define CONF_MAX_ATTACH 10000 /* attached database configurations */
#define CONF_MAX_ITEMS 1000   /* items of one list or repeated key */
#define CONF_MAX_WINDOWS 64   /* hot_window lines per attach (as the protocol) */
#define CONF_MAX_NAME 256     /* database, table and attach names, patterns */
#define CONF_MAX_SECRET 4096  /* bytes of a secret file */
#define CONF_MAX_URL 2048
#define CONF_HOST_MAX 256
#define CONF_UNIX_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define CONF_MAX_FQN 1024      /* a principal's fully qualified name */

/* Flags for conf_parse, conf_load and conf_attach_from_json. */
#define CONF_SKIP_SECRETS 0x1 /* do not read secret files (fuzzing, tools) */

enum conf_log_level {
	CONF_LOG_ERROR,
	CONF_LOG_WARNING,
	CONF_LOG_NOTICE,
	CONF_LOG_INFO,
	CONF_LOG_DEBUG,
};

/* How a follower combines the leader's principals or caching policies with
 * its own overrides (Kusto's *_modification_kind). */
enum conf_modkind {
	CONF_MOD_NONE,    /* the leader's only: overrides are ignored */
	CONF_MOD_UNION,   /* the leader's and the overrides together */
	CONF_MOD_REPLACE, /* the overrides only */
};

/* What an include/exclude pair of lists applies to. */
enum conf_entity {
	CONF_ENTITY_TABLE,
	CONF_ENTITY_EXTERNAL_TABLE,
	CONF_ENTITY_MATERIALIZED_VIEW,
};

/* A list of owned strings (patterns, names). */
struct conf_list {
	char **items;
	size_t n;
};

enum conf_addr_kind {
	CONF_ADDR_INET, /* host:port or [v6]:port */
	CONF_ADDR_UNIX, /* unix:/path */
};

struct conf_addr {
	enum conf_addr_kind kind;
	char host[CONF_HOST_MAX];      /* INET: address or host name, no brackets */
	uint16_t port;                 /* INET: 0 picks a free port */
	char path[CONF_UNIX_PATH_MAX]; /* UNIX: absolute path */
};

struct conf_addrs {
	struct conf_addr *v;
	size_t n;
};

/* A hot window: [min, max] in ticks (100 ns since the epoch), min <= max. */
struct conf_window {
	int64_t min;
	int64_t max;
};

struct conf_windows {
	struct conf_window *v;
	size_t n;
};

/* A table-level caching override: the table's hot span. */
struct conf_table_hot {
	char *table;
	int64_t hot; /* ticks */
};

struct conf_table_hots {
	struct conf_table_hot *v;
	size_t n;
};

/* Durations are ticks (100 ns); optional ones are CONF_UNSET when absent. */
#define CONF_UNSET INT64_C(-1)

/* One attached database configuration ([attach "NAME"]).  Every pointer is
 * owned by the struct; optional strings are NULL when absent. */
struct conf_attach {
	char *name;         /* unique among the daemon's configurations */
	char *leader;       /* root: https://, http://, file:// URL or absolute path */
	char *database;     /* a leader database name, or "*" for all of them */
	char *local_name;   /* single database only; NULL: the database's name */
	char *local_prefix; /* "*" only: prepended to each leader name; NULL: none */
	char *account_key_file;
	char *sas_token_file;
	char *account_key;    /* secret read from account_key_file; NULL when none */
	char *sas_token;      /* secret read from sas_token_file; NULL when none */
	bool secret_too_open; /* the secret file is readable by group or others */
	struct conf_list include_tables;
	struct conf_list exclude_tables;
	struct conf_list include_external_tables;
	struct conf_list exclude_external_tables;
	struct conf_list include_materialized_views;
	struct conf_list exclude_materialized_views;
	enum conf_modkind principals_modification_kind;
	/* The follower's own principals per role (FQNs), combined with the
	 * leader's by principals_modification_kind.  Indexed like enum
	 * proto_role: admins, users, viewers, monitors. */
	struct conf_list admins;
	struct conf_list users;
	struct conf_list viewers;
	struct conf_list monitors;
	enum conf_modkind caching_policies_modification_kind;
	int64_t hot_cache;                      /* database hot span override, or CONF_UNSET */
	struct conf_windows hot_windows;        /* database hot windows override */
	struct conf_table_hots table_hot_cache; /* table hot span overrides */
	bool prefetch;
	int64_t poll_interval; /* CONF_UNSET: the daemon's poll_interval */
	unsigned line;         /* line of the section header; 0 when not from a file */
};

/* The whole configuration.  Every pointer is owned by the struct. */
struct conf {
	char *state_dir;
	char *cache_dir;
	struct conf_addrs listen;
	char *admin_socket;
	enum conf_log_level log_level;
	uint64_t cache_max_size; /* bytes, 0: no limit but min_free_space */
	uint64_t min_free_space; /* bytes */
	int fetch_concurrency;
	int fetch_concurrency_per_leader;
	/* read-through downloads in flight */
	int cache_demand_concurrency;
	int64_t cache_demand_keep; /* ticks a read-through artifact stays cached */
	int64_t poll_interval;     /* ticks */
	char *follower_name;       /* default: the host name */
	char *tls_cert;            /* NULL: plain HTTP */
	char *tls_key;
	char *tls_client_ca; /* NULL: client certificates are identified by fingerprint only */
	char *tokens_file;   /* NULL: no bearer tokens */
	bool allow_anonymous;
	int64_t max_lag; /* ticks */
	int max_connections;
	int64_t request_timeout;   /* ticks */
	int64_t header_timeout;    /* ticks */
	int64_t keepalive_timeout; /* ticks */
	/* per-client caps; 0: a quarter of max_connections */
	int max_connections_per_address;
	int max_requests_per_address;
	int max_connections_per_principal;
	int max_requests_per_principal;
	int max_concurrent_queries;
	int64_t query_queue_timeout; /* ticks */
	uint64_t query_max_memory;   /* bytes of one query (its aggregates, SQLite's caches) */
	/* bytes of artifacts one query may read through; 0: none */
	uint64_t query_readthru_max_size;
	struct conf_attach **attach;
	size_t nattach;
};

/* ---- the option table ---- */

enum conf_scope {
	CONF_SCOPE_DAEMON,
	CONF_SCOPE_ATTACH,
};

enum conf_type {
	CONF_T_STRING,
	CONF_T_PATH, /* absolute */
	CONF_T_BOOL,
	CONF_T_INT,
	CONF_T_DURATION,
	CONF_T_SIZE,
	CONF_T_ENUM,
	CONF_T_LIST,      /* comma separated; repeating the key appends */
	CONF_T_ADDRESS,   /* repeatable */
	CONF_T_WINDOW,    /* "DATETIME .. DATETIME", repeatable */
	CONF_T_TABLE_HOT, /* "TABLE:DURATION", repeatable */
};

#define CONF_OPT_REPEAT 0x1   /* may be given more than once */
#define CONF_OPT_REQUIRED 0x2 /* must be given */

struct conf_option {
	const char *name;
	enum conf_scope scope;
	enum conf_type type;
	unsigned flags;
	const char *def;            /* default in file syntax; NULL: none */
	int64_t min, max;           /* INT, DURATION (ticks), SIZE (bytes) */
	const char *const *choices; /* ENUM: names, NULL-terminated; index = value */
	size_t offset;              /* internal: field in struct conf / conf_attach */
	/* internal: further checks of one string value or list item */
	int (*check)(const char *value, char *why, size_t whylen);
	const char *help;
};

/* The option table (borrowed, static); *ret_n is set to its length. */
const struct conf_option *conf_options(size_t *ret_n);

/* A short name for a type ("duration", "size", ...), for --help. */
const char *conf_type_name(enum conf_type t);

/* ---- loading ---- */

/* Parses len bytes of configuration text (need not be NUL-terminated) into a
 * new struct conf (*ret, free with conf_free; untouched on failure).  name is
 * the file name used in messages.  Secret files are read unless
 * CONF_SKIP_SECRETS is in flags. */
int conf_parse(const char *name, const char *text, size_t len, unsigned flags, struct conf **ret,
               char *err, size_t errlen);

/* Reads path (at most CONF_MAX_FILE_BYTES) and parses it as conf_parse. */
int conf_load(const char *path, unsigned flags, struct conf **ret, char *err, size_t errlen);

/* Writes a message into err (when err is not NULL and errlen > 0) and
 * returns r: the error helper of conf and of the modules that extend it
 * (overlay). */
int conf_errf(char *err, size_t errlen, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

void conf_free(struct conf *c);

/* The effective configuration (defaults included) in file syntax, without
 * secrets: parsing it gives the same configuration.  Returns a new string
 * (caller frees), NULL when out of memory. */
char *conf_dump(const struct conf *c);

/* ---- attached database configurations ---- */

void conf_attach_free(struct conf_attach *a);

/* Deep copy (secrets included) into a new struct (*ret); 0 or -ENOMEM. */
int conf_attach_copy(const struct conf_attach *a, struct conf_attach **ret);

/* True when a and b configure the same thing (line numbers aside, secrets
 * included). */
bool conf_attach_equal(const struct conf_attach *a, const struct conf_attach *b);

/* The attach named name in c (borrowed), NULL when none. */
struct conf_attach *conf_attach_find(const struct conf *c, const char *name);

/* Adds a to c.  Fails with -EEXIST when the name is taken or a would land
 * on a local database another configuration names, -E2BIG past
 * CONF_MAX_ATTACH.  Steals a on success only. */
int conf_attach_add(struct conf *c, struct conf_attach *a, char *err, size_t errlen);

/* Replaces the attach of the same name by a (the old one is freed: callers
 * must not keep pointers to it).  -ENOENT when there is none, -EEXIST on a
 * local database clash.  Steals a on success only. */
int conf_attach_replace(struct conf *c, struct conf_attach *a, char *err, size_t errlen);

/* Removes and frees the attach named name; -ENOENT when there is none. */
int conf_attach_remove(struct conf *c, const char *name);

/* The JSON object of a (a new reference; NULL when out of memory): members
 * are the file's keys and "name", values strings in file syntax (booleans,
 * integers and arrays where the key is one); secrets are not included. */
json_t *conf_attach_to_json(const struct conf_attach *a);

/* Builds a new attach (*ret) from a JSON object as made by
 * conf_attach_to_json, with the file's rules; errors name the member
 * ("hot_cache: ..." / "include_tables[2]: ...").  v is borrowed.  Secret
 * files are read unless CONF_SKIP_SECRETS is in flags. */
int conf_attach_from_json(json_t *v, unsigned flags, struct conf_attach **ret, char *err,
                          size_t errlen);

/* The local database a leader database lands on under a: local_name, the
 * database itself, or local_prefix + leader_db for "*".  Writes it into buf
 * (len >= CONF_MAX_NAME + 1 is enough; -ENOBUFS otherwise); -EINVAL when the
 * result is not a valid database name (a long prefix and name; err says). */
int conf_attach_local_name(const struct conf_attach *a, const char *leader_db, char *buf,
                           size_t len, char *err, size_t errlen);

/* Returns the name of the attach that currently holds local database local
 * (the store knows), or NULL when none does. */
typedef const char *(*conf_held_fn)(const char *local, void *arg);

/* Checks, at sync time, that attach a may land on local database local: no
 * other attach in c names it as its single database (those always win), and
 * held (may be NULL) does not report another attach holding it.  0 or
 * -EEXIST with err naming the other attach. */
int conf_check_local_name(const struct conf *c, const struct conf_attach *a, const char *local,
                          conf_held_fn held, void *arg, char *err, size_t errlen);

/* True when a follows the entity of kind named name (its include/exclude
 * lists, match_included()). */
bool conf_attach_includes(const struct conf_attach *a, enum conf_entity kind, const char *name);

/* a's poll interval: its own, or the daemon's. */
int64_t conf_attach_poll_interval(const struct conf *c, const struct conf_attach *a);

/* ---- reload ---- */

/* What changed from old to next (SIGHUP).  Lists hold names, sorted. */
struct conf_diff {
	struct conf_list added;   /* attach names only in next */
	struct conf_list removed; /* attach names only in old */
	struct conf_list changed; /* in both, configured differently */
	struct conf_list daemon;  /* [daemon] keys whose value changed */
};

/* Fills *ret (caller clears with conf_diff_clear); 0 or -ENOMEM. */
int conf_diff(const struct conf *old, const struct conf *next, struct conf_diff *ret);
void conf_diff_clear(struct conf_diff *d);

#endif

/*
 * kusto — the Kusto-compatible management surface of followerd: what
 * `POST /v1/rest/mgmt` does, as pure functions (no sockets, no clock, no
 * store).  The HTTP server hands it a request body and gets back an HTTP
 * status and a JSON body; the data comes from a struct kusto_backend of
 * callbacks that the daemon implements over store, conf and policy.
 *
 * The pipeline, each step usable alone:
 *   kusto_request_decode  the body {"db","csl","properties"} -> db + csl
 *   kusto_parse           csl -> struct kusto_cmd, or an error at an offset
 *   kusto_execute         cmd + backend -> one result table
 *   kusto_response        tables -> Kusto's v1 JSON {"Tables":[...]}
 *   kusto_error_body      error -> Kusto's {"error":{...}} JSON
 * and kusto_mgmt chains them all.
 *
 * The commands (Kusto's syntax: keywords are case-sensitive, whitespace is
 * free, names may be bracketed ['X'] / ["X"]; role names, modification kinds
 * and booleans are accepted in any case):
 *   .show databases
 *   .show database X schema as json | extents | policy caching | principals
 *   .show tables                      (the request's database)
 *   .show table T schema as json | extents | policy caching
 *   .show follower database X
 *   .show follower databases [(X, ...)]
 *   .show queries                     (running and recent KQL queries)
 *   .show running queries [by user 'fqn']
 *   .cancel query 'request id' [with (reason = 'text')]
 * and the follower's control commands, the only writes:
 *   .alter follower database X policy caching hot = 7d
 *          [, hot_window = datetime(...) .. datetime(...)]...
 *   .delete follower database X policy caching
 *   .alter follower database X (table T | tables (T, ...) |
 *          materialized-view V | materialized-views (V, ...)) policy caching hot = 1d
 *   .delete follower database X (table T | tables (...) | ...) policy caching
 *   .add follower database X (admins|users|viewers|monitors) ('fqn', ...) ['notes']
 *   .drop follower database X (admins|users|viewers|monitors) ('fqn', ...)
 *   .alter follower database X principals-modification-kind = none|union|replace
 *   .alter follower database X caching-policies-modification-kind = none|union|replace
 *   .alter follower database X prefetch-extents = true|false
 * Timespans: 7d, 1.5h, 30m, 10s, 100ms, 1tick (and the long unit names),
 * time(...) / timespan(...) with those or d.hh:mm:ss.  Datetimes:
 * datetime(2024-01-02[ |T]hh:mm[:ss[.fffffff]][Z]), UTC.  Comments // ... .
 *
 * Any other command that would change the data (.ingest, .set, .append,
 * .create, .alter table, .drop table, ...) is refused with KUSTO_E_READ_ONLY;
 * anything else is a syntax error naming the offset.
 *
 * Results follow the column names and order of Azure Data Explorer's
 * documentation (learn.microsoft.com, kusto/management: show-databases,
 * show-schema-database, show-tables-command, show-table-schema-command,
 * show-extents, alter-database-cache-policy-command (the policy columns),
 * manage-database-security-roles and cluster-follower (principals and
 * .show follower database)); see kusto_exec.c for each list.
 *
 * Status codes (Kusto.Data exceptions table, kusto-data-client-errors):
 *   400 BadRequest_SyntaxError      a command that does not parse
 *   400 General_BadRequest          a malformed request body, no database in
 *                                   context, or a write to the read-only data
 *                                   (ADX has no dedicated code for a follower
 *                                   write; the request is well-formed but
 *                                   cannot apply: KustoBadRequestException)
 *   400 LimitsExceeded              a result of more than KUSTO_MAX_ROWS rows
 *   403 Forbidden                   a control command the caller may not run
 *   404 BadRequest_DatabaseNotExist no such followed database (ADX answers
 *                                   400 with this code; 404 by this project's
 *                                   choice, so clients can tell it apart)
 *   404 BadRequest_TableNotExist    no such table
 *   413 Payload too large           a body past KUSTO_MAX_BODY or a command
 *                                   past KUSTO_MAX_CSL
 *   500 General_InternalServerError the backend failed
 *   400 BadRequest_EntityNotFound   .cancel query of a request id that names
 *                                   no running or recent query
 *
 * Costs: everything is synchronous and built in memory.  The largest answer,
 * KUSTO_MAX_ROWS extent rows (.show database X extents), is ~19 MB of JSON
 * and took ~0.4 s and ~150 MB of RSS here; the backend's store reads come on
 * top.  So kusto_mgmt does not belong on the event loop: run it on a worker
 * thread with the backend over its own read-only store handle.  No global
 * state: concurrent calls with separate backends are fine.
 *
 * Every answer is valid UTF-8: string literals and bracketed names must be,
 * and a string cell's bytes that are not become '?'.  (Schemas and policies
 * are built as JSON from the backend's data, which must be UTF-8 already, as
 * everything proto decoded is.)
 *
 * Errors: functions return 0 or a negative errno and fill a struct
 * kusto_error (code, offset, one-line message).
 */
#ifndef FOLLOWERD_KUSTO_H
#define FOLLOWERD_KUSTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf/conf.h"
#include "proto/proto.h"

#define KUSTO_ERRLEN 512
#define KUSTO_MAX_BODY ((size_t)1 << 20) /* bytes of a request body */
#define KUSTO_MAX_CSL ((size_t)64 << 10) /* bytes of one command */
#define KUSTO_MAX_DB_NAME 1024           /* bytes of the request's "db" */
#define KUSTO_MAX_ITEMS 1000             /* items of one list in a command */
#define KUSTO_MAX_ROWS 100000            /* rows of one result table */

/* ---- errors ---- */

enum kusto_errcode {
	KUSTO_E_BAD_REQUEST,     /* 400: malformed body, no database in context */
	KUSTO_E_SYNTAX,          /* 400: the command does not parse (offset set) */
	KUSTO_E_READ_ONLY,       /* 400: a write to the follower's read-only data */
	KUSTO_E_LIMITS,          /* 400: the result would exceed KUSTO_MAX_ROWS */
	KUSTO_E_FORBIDDEN,       /* 403: the caller may not run this command */
	KUSTO_E_DB_NOT_FOUND,    /* 404 */
	KUSTO_E_TABLE_NOT_FOUND, /* 404 */
	KUSTO_E_TOO_LARGE,       /* 413: body or command too large */
	KUSTO_E_INTERNAL,        /* 500: the backend failed, out of memory */
	KUSTO_E_NOT_FOUND,       /* 400: .cancel query of an id no query has */
};

struct kusto_error {
	enum kusto_errcode code;
	size_t offset; /* KUSTO_E_SYNTAX, KUSTO_E_READ_ONLY: byte offset in the command */
	char message[KUSTO_ERRLEN];
};

/* The HTTP status of an error code. */
int kusto_error_status(enum kusto_errcode code);

/* Kusto's error body {"error":{"code","message","@type","@message",
 * "@permanent"}} for e: a new string (caller frees), NULL when out of
 * memory. */
char *kusto_error_body(const struct kusto_error *e);

/* ---- commands ---- */

enum kusto_cmd_kind {
	KUSTO_SHOW_DATABASES,
	KUSTO_SHOW_DATABASE_SCHEMA,     /* database */
	KUSTO_SHOW_DATABASE_EXTENTS,    /* database */
	KUSTO_SHOW_DATABASE_CACHING,    /* database */
	KUSTO_SHOW_DATABASE_PRINCIPALS, /* database */
	KUSTO_SHOW_TABLES,              /* the request's database */
	KUSTO_SHOW_TABLE_SCHEMA,        /* table, in the request's database */
	KUSTO_SHOW_TABLE_EXTENTS,       /* table */
	KUSTO_SHOW_TABLE_CACHING,       /* table */
	KUSTO_SHOW_FOLLOWER,            /* names: the databases, none = all of them */
	KUSTO_SHOW_QUERIES,             /* running: only those running; user: by him */
	KUSTO_CANCEL_QUERY,             /* query_id, reason ("" when none) */
	KUSTO_SHOW_VERSION,             /* the service's version (ADX's web UI asks first) */
	KUSTO_SHOW_FUNCTIONS,           /* the request's database: stored functions (none) */
	/* the control commands (kusto_cmd_is_write) from here on */
	KUSTO_ALTER_FOLLOWER_CACHING,         /* database, caching */
	KUSTO_DELETE_FOLLOWER_CACHING,        /* database */
	KUSTO_ALTER_FOLLOWER_TABLE_CACHING,   /* database, entity, names, caching (span only) */
	KUSTO_DELETE_FOLLOWER_TABLE_CACHING,  /* database, entity, names */
	KUSTO_ADD_FOLLOWER_PRINCIPALS,        /* database, role, principals, notes */
	KUSTO_DROP_FOLLOWER_PRINCIPALS,       /* database, role, principals */
	KUSTO_ALTER_FOLLOWER_PRINCIPALS_KIND, /* database, modkind */
	KUSTO_ALTER_FOLLOWER_CACHING_KIND,    /* database, modkind */
	KUSTO_ALTER_FOLLOWER_PREFETCH,        /* database, prefetch */
};

/* A parsed command.  Strings and arrays are owned; only the members its kind
 * names (above) are set, the others are zero. */
struct kusto_cmd {
	enum kusto_cmd_kind kind;
	char *database;         /* the database the command names */
	char *table;            /* .show table T ... */
	enum proto_kind entity; /* table caching: PROTO_TABLE or PROTO_MATERIALIZED_VIEW */
	char **names;           /* tables/views, or the databases of .show follower */
	size_t nnames;
	struct proto_caching caching; /* hot span and hot windows (ticks) */
	enum proto_role role;
	char **principals; /* fully qualified names, e.g. "aaduser=alice@contoso.com" */
	size_t nprincipals;
	char *notes; /* "" when none */
	enum conf_modkind modkind;
	bool prefetch;
	bool running;   /* .show running queries */
	char *user;     /* .show running queries by user U */
	char *query_id; /* .cancel query: the query's client request id */
	char *reason;   /* .cancel query ... with (reason = R): "" when none */
};

/* Parses len bytes of csl (at most KUSTO_MAX_CSL, no NUL) into *ret (caller
 * clears with kusto_cmd_clear; untouched on failure).  -EINVAL with err
 * KUSTO_E_SYNTAX or KUSTO_E_READ_ONLY and the offset, -E2BIG (KUSTO_E_TOO_LARGE),
 * -ENOMEM (KUSTO_E_INTERNAL). */
int kusto_parse(const char *csl, size_t len, struct kusto_cmd *ret, struct kusto_error *err);

/* Releases what c owns and zeroes it; accepts NULL. */
void kusto_cmd_clear(struct kusto_cmd *c);

/* True for the follower's control commands (they change its settings). */
bool kusto_cmd_is_write(const struct kusto_cmd *c);

/* The command's name for logs: ".show databases", ".alter follower database
 * policy caching", ... (static). */
const char *kusto_cmd_name(enum kusto_cmd_kind k);

/* ---- result tables (Kusto's v1 format) ---- */

enum kusto_type {
	KUSTO_T_STRING,
	KUSTO_T_DATETIME,
	KUSTO_T_TIMESPAN,
	KUSTO_T_LONG,
	KUSTO_T_INT,
	KUSTO_T_REAL,
	KUSTO_T_BOOL,
	KUSTO_T_GUID,
	KUSTO_T_DYNAMIC,
};

/* v1 "DataType" ("String", "DateTime", "TimeSpan", "Int64", "Int32",
 * "Double", "Boolean", "Guid", "Object") and "ColumnType" ("string",
 * "datetime", "timespan", "long", "int", "real", "bool", "guid", "dynamic"). */
const char *kusto_type_data_type(enum kusto_type t);
const char *kusto_type_column_type(enum kusto_type t);

struct kusto_column {
	const char *name;
	enum kusto_type type;
};

struct kusto_table;

/* A new empty table named name with the columns cols (both copied).  NULL
 * when out of memory. */
struct kusto_table *kusto_table_new(const char *name, const struct kusto_column *cols,
                                    size_t ncols);

/* Accepts NULL. */
void kusto_table_free(struct kusto_table *t);

size_t kusto_table_nrows(const struct kusto_table *t);

/* Row building: the kusto_add_* calls append one value each to the current
 * row in column order (starting a row when none is open); kusto_row_end
 * closes it.  A value of the wrong type for its column, too many or too few
 * values, more than KUSTO_MAX_ROWS rows or no memory make the table fail:
 * kusto_row_end then returns -EINVAL, -E2BIG or -ENOMEM (the first failure,
 * for good), and the table can only be freed.
 *   datetime, timespan: ticks (100 ns; datetimes since the Unix epoch)
 *   guid: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (any case; written lowercase)
 *   dynamic: any JSON value (stolen), written as is
 *   NULL strings and guids, and kusto_add_null, write JSON null. */
void kusto_add_string(struct kusto_table *t, const char *s);
void kusto_add_datetime(struct kusto_table *t, int64_t ticks);
void kusto_add_timespan(struct kusto_table *t, int64_t ticks);
void kusto_add_long(struct kusto_table *t, int64_t v);
void kusto_add_int(struct kusto_table *t, int32_t v);
void kusto_add_real(struct kusto_table *t, double v);
void kusto_add_bool(struct kusto_table *t, bool v);
void kusto_add_guid(struct kusto_table *t, const char *guid);
void kusto_add_dynamic(struct kusto_table *t, json_t *v);
void kusto_add_null(struct kusto_table *t);
int kusto_row_end(struct kusto_table *t);

/* The v1 table object {"TableName","Columns":[{"ColumnName","DataType",
 * "ColumnType"}],"Rows":[[...]]}: a new reference, NULL when the table
 * failed, has an open row, or memory ran out. */
json_t *kusto_table_json(const struct kusto_table *t);

/* The v1 response {"Tables":[...]} of n >= 1 tables (borrowed): a new
 * string (caller frees), NULL as kusto_table_json. */
char *kusto_response(struct kusto_table *const *tables, size_t n);

/* ---- the request body ---- */

struct kusto_request {
	char *db;  /* "" when absent or null */
	char *csl; /* the command text */
};

/* Decodes a POST /v1/rest/mgmt body (len bytes, at most KUSTO_MAX_BODY):
 * a JSON object with "csl" (a string, at most KUSTO_MAX_CSL bytes), "db"
 * (a string or null, optional) and "properties" (an object, a string holding
 * a JSON object, or null; optional, otherwise ignored).  Other members are
 * ignored, duplicates refused.  *ret filled (caller clears; untouched on
 * failure); -EINVAL (KUSTO_E_BAD_REQUEST), -E2BIG (KUSTO_E_TOO_LARGE),
 * -ENOMEM. */
int kusto_request_decode(const char *body, size_t len, struct kusto_request *ret,
                         struct kusto_error *err);

void kusto_request_clear(struct kusto_request *r);

/* ---- the backend: the data the daemon provides ---- */

/* Everything below is borrowed for the duration of one emit call. */

/* A followed database. */
struct kusto_db {
	const char *name; /* the local name the views show */
	const char *root; /* the leader's root URL */
	const char *uuid; /* the leader's database uuid, "" before the first load */
	uint64_t version; /* the visible version (store_db_info), 0 before the first load */
};

/* A table, external table or materialized view and the leader's caching
 * policy of it (NULL: none). */
struct kusto_entity {
	const struct proto_entity *e;
	const struct proto_caching *caching;
};

/* An authorized principal: the leader's, or a follower override. */
struct kusto_principal {
	enum proto_role role;
	const char *fqn;   /* "aaduser=alice@contoso.com" */
	const char *name;  /* display name, "" when unknown */
	const char *notes; /* "" when none */
};

/* The follower's own settings of a database (Kusto's "follower database"
 * overrides); conf_attach holds most of them. */
struct kusto_follower {
	const char *database; /* the local name */
	const char *root;     /* the leader's root URL */
	bool has_caching;     /* a database caching override is set */
	struct proto_caching caching;
	const struct conf_table_hot *tables; /* table and view overrides (hot span only) */
	size_t ntables;
	const struct kusto_principal *principals; /* principal overrides */
	size_t nprincipals;
	enum conf_modkind principals_kind;
	enum conf_modkind caching_kind;
	bool prefetch;
};

/* A KQL query the follower runs or ran (.show queries): the columns of
 * ADX's .show queries.  Strings are never NULL ("" when unknown). */
struct kusto_query {
	const char *client_activity_id; /* the request's x-ms-client-request-id */
	const char *text;               /* the query, cut at 64 KiB as ADX cuts it */
	const char *database;
	int64_t started_on, last_updated_on, duration; /* ticks */
	const char *state; /* "InProgress", "Completed", "Failed", "Cancelled", "Throttled" */
	const char *root_activity_id; /* the answer's x-ms-activity-id (a guid) */
	const char *user;             /* the principal ("" for an anonymous caller) */
	const char *failure_reason;   /* "" when it did not fail */
	const char *application;      /* the request's x-ms-app */
	uint64_t memory_peak;         /* bytes counted against query_max_memory */
	uint64_t row_count;           /* result rows sent */
};

/* What .cancel query did. */
struct kusto_cancel {
	const char *client_activity_id;
	const char *state;  /* "Cancelled successfully" or "Cancel failed" */
	const char *reason; /* why it failed, else the reason given */
};

/* Emit callbacks: a non-zero return stops the walk, and the backend function
 * returns it. */
typedef int kusto_db_fn(void *ctx, const struct kusto_db *d);
typedef int kusto_entity_fn(void *ctx, const struct kusto_entity *e);
typedef int kusto_extent_fn(void *ctx, const struct proto_extent *x);
typedef int kusto_caching_fn(void *ctx, const struct proto_caching *c);
typedef int kusto_principal_fn(void *ctx, const struct kusto_principal *p);
typedef int kusto_follower_fn(void *ctx, const struct kusto_follower *f);
typedef int kusto_query_fn(void *ctx, const struct kusto_query *q);
typedef int kusto_cancel_fn(void *ctx, const struct kusto_cancel *c);

/* The daemon's side.  Every function returns 0 or a negative errno, and on
 * failure may write one line into err (KUSTO_ERRLEN bytes); -ENOENT means
 * the database db is not followed.  db is a local database name. */
struct kusto_backend {
	void *arg;
	/* The followed database named name, or every one in name order when name
	 * is NULL. */
	int (*databases)(void *arg, const char *name, kusto_db_fn *emit, void *ctx, char *err);
	/* The entities of db in name order. */
	int (*entities)(void *arg, const char *db, kusto_entity_fn *emit, void *ctx, char *err);
	/* The extents of table in db, or of every table when table is NULL. */
	int (*extents)(void *arg, const char *db, const char *table, kusto_extent_fn *emit,
	               void *ctx, char *err);
	/* The leader's database caching policy: emit is called once, with NULL
	 * when the leader sets none. */
	int (*caching)(void *arg, const char *db, kusto_caching_fn *emit, void *ctx, char *err);
	/* The leader's principals of db, every role. */
	int (*principals)(void *arg, const char *db, kusto_principal_fn *emit, void *ctx,
	                  char *err);
	/* The follower's settings of db: emit is called once. */
	int (*follower)(void *arg, const char *db, kusto_follower_fn *emit, void *ctx, char *err);
	/* Replaces the follower's settings of db by f (borrowed; f->database is
	 * db): the backend persists and applies them. */
	int (*set_follower)(void *arg, const char *db, const struct kusto_follower *f, char *err);
	/* The queries the caller may see, newest first: its own; every query
	 * of a database it administers or monitors.  running: only those
	 * still running; user (NULL: any): only that principal's.  NULL:
	 * .show queries answers an empty table. */
	int (*queries)(void *arg, bool running, const char *user, kusto_query_fn *emit, void *ctx,
	               char *err);
	/* Cancels the running query whose client request id is id, with
	 * reason (""), and emits what happened once.  -ENOENT: no such query
	 * (running or recent); -EACCES: the caller may neither as its own
	 * nor as an admin of its database.  NULL: -ENOENT. */
	int (*cancel_query)(void *arg, const char *id, const char *reason, kusto_cancel_fn *emit,
	                    void *ctx, char *err);
};

/* Runs cmd against the backend.  context_db is the request's database ("" or
 * NULL: none; .show tables and .show table need one).  *ret receives the
 * result table (caller frees; untouched on failure).  A control command
 * answers with its database's .show follower database row after the change.
 * Fails with -EINVAL / -ENOENT / -E2BIG / -ENOMEM / the backend's error and
 * err filled. */
int kusto_execute(const struct kusto_cmd *cmd, const char *context_db,
                  const struct kusto_backend *be, struct kusto_table **ret,
                  struct kusto_error *err);

/* The whole POST /v1/rest/mgmt: decodes body, parses the command, refuses a
 * control command with 403 unless allow_writes, executes it and serializes
 * the result.  *ret_status is the HTTP status (200 or the error's) and
 * *ret_body a new JSON text (the v1 response or Kusto's error body; caller
 * frees).  ret_err (may be NULL) receives the error for the caller's log
 * (its message is "" on success).  Returns 0, or -ENOMEM when not even an
 * error body could be made (then nothing is set). */
int kusto_mgmt(const char *body, size_t len, const struct kusto_backend *be, bool allow_writes,
               int *ret_status, char **ret_body, struct kusto_error *ret_err);

#endif

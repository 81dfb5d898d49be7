/*
 * proto — the leader protocol (docs/PROTOCOL.md, followerd-leader(5)).
 *
 * Decodes, validates and encodes every object a leader publishes: the head,
 * commits (log objects), checkpoint manifests and checkpoint part lines.  It
 * is the only place that knows the JSON shapes; leaderctl encodes with it and
 * followerd decodes with it.  Decoding is strict and bounded: sizes, counts,
 * string lengths, unknown members, format version, names, paths.
 *
 * Errors: functions return 0 or a negative errno and, on failure, write one
 * line into err (at most PROTO_ERRLEN bytes) naming the member that was wrong,
 * e.g. "actions[3].extents[0].artifacts[0].path: '..' segment".
 *   -EINVAL           malformed or invalid object
 *   -E2BIG            a size or count past its bound
 *   -EPROTONOSUPPORT  unknown "format"
 *   -ENOMEM           out of memory
 */
#ifndef FOLLOWERD_PROTO_H
#define FOLLOWERD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PROTO_FORMAT "followerd-leader/1"
#define PROTO_ERRLEN 256

/* Bounds (docs/PROTOCOL.md). */
#define PROTO_MAX_HEAD_BYTES ((size_t)4 << 20)
#define PROTO_MAX_COMMIT_BYTES ((size_t)64 << 20)
#define PROTO_MAX_MANIFEST_BYTES ((size_t)1 << 20)
#define PROTO_MAX_PART_BYTES ((size_t)16 << 20)
#define PROTO_MAX_LINE_BYTES ((size_t)4 << 20)
#define PROTO_MAX_NAME 256
#define PROTO_MAX_TEXT 4096 /* docstring, folder, query, location, display names, tags, fqn */
#define PROTO_MAX_PATH 1024
#define PROTO_MAX_DATABASES 10000
#define PROTO_MAX_DETACHED 1000
#define PROTO_MAX_ACTIONS 100000
#define PROTO_MAX_EXTENTS 100000    /* per action */
#define PROTO_MAX_LINE_EXTENTS 1000 /* per checkpoint line (encoder's choice) */
#define PROTO_MAX_ARTIFACTS 64
#define PROTO_MAX_TAGS 64
#define PROTO_MAX_COLUMNS 10000
#define PROTO_MAX_WINDOWS 64
#define PROTO_MAX_PRINCIPALS 10000
#define PROTO_MAX_PARTS 10000
#define PROTO_MAX_STAT_TEXT 64 /* a column statistic's min or max */
#define PROTO_MAX_FORMAT_NAME 32
#define PROTO_MAX_VERSION ((uint64_t)1 << 53)

#define PROTO_UUID_LEN 36
#define PROTO_SHA256_LEN 64

/* Time values are Kusto ticks: 100 ns units; datetimes since the Unix epoch. */
#define PROTO_TICKS_PER_SEC INT64_C(10000000)

enum proto_kind {
	PROTO_TABLE,
	PROTO_EXTERNAL_TABLE,
	PROTO_MATERIALIZED_VIEW,
};

enum proto_coltype {
	PROTO_T_BOOL,
	PROTO_T_DATETIME,
	PROTO_T_DYNAMIC,
	PROTO_T_GUID,
	PROTO_T_INT,
	PROTO_T_LONG,
	PROTO_T_REAL,
	PROTO_T_STRING,
	PROTO_T_TIMESPAN,
	PROTO_T_DECIMAL,
};

/* What an artifact holds (docs/PROTOCOL.md, "Data formats"): NONE is an
 * opaque artifact (a leader written before formats, or bytes no follower
 * can read), the others rows of the extent's table. */
enum proto_format {
	PROTO_FMT_NONE,
	PROTO_FMT_CSV,
	PROTO_FMT_TSV,
	PROTO_FMT_JSON,
	PROTO_FMT_UNKNOWN, /* a name this build does not know (kept as text) */
};

enum proto_compression {
	PROTO_COMP_NONE,
	PROTO_COMP_GZIP,
	PROTO_COMP_ZSTD,
	PROTO_COMP_UNKNOWN, /* a name this build does not know (kept as text) */
};

enum proto_role {
	PROTO_ROLE_ADMINS,
	PROTO_ROLE_USERS,
	PROTO_ROLE_VIEWERS,
	PROTO_ROLE_MONITORS,
};
#define PROTO_NROLES 4

enum proto_op {
	PROTO_OP_CREATE, /* create_table / create_external_table / create_materialized_view */
	PROTO_OP_ALTER,  /* alter_* : full new definition */
	PROTO_OP_DROP,   /* drop_* : kind + name */
	PROTO_OP_ADD_EXTENTS,
	PROTO_OP_DROP_EXTENTS,
	PROTO_OP_REPLACE_EXTENTS,
	PROTO_OP_SET_CACHING,
	PROTO_OP_SET_RETENTION,
	PROTO_OP_SET_PRINCIPALS,
};

struct proto_column {
	char *name;
	enum proto_coltype type;
};

/* A table, external table or materialized view.  Strings are owned; absent
 * optional strings are "" (folder, docstring) or NULL (kind-specific). */
struct proto_entity {
	enum proto_kind kind;
	char *name;
	struct proto_column *columns;
	size_t ncolumns;
	char *folder;
	char *docstring;
	char *location; /* external tables only, else NULL */
	char *source;   /* materialized views only: the source table, else NULL */
	char *query;    /* materialized views only, else NULL */
};

struct proto_artifact {
	char *name;
	char *path; /* relative to the root, validated */
	uint64_t size;
	char sha256[PROTO_SHA256_LEN + 1];
	enum proto_format format;           /* NONE: opaque bytes (not queryable) */
	enum proto_compression compression; /* NONE unless a format is declared */
	bool ignore_first_record;           /* the first record is a header */
	char *format_text;                  /* owned; the name when format is UNKNOWN, else NULL */
	char *compression_text; /* owned; the name when compression is UNKNOWN, else NULL */
};

/* One column of an extent's rows and its statistics (docs/PROTOCOL.md,
 * "Column statistics"): the columns, in order, are the table's schema the
 * rows were written with, so a reader can map an extent ingested before an
 * alter-table.  min and max are Kusto's text of the values (datetime,
 * timespan, int, long, real, decimal), both NULL when the column has no
 * range (another type, or no value but nulls). */
struct proto_colstat {
	char *name;
	enum proto_coltype type;
	uint64_t nulls;
	char *min;
	char *max;
};

struct proto_extent {
	char id[PROTO_UUID_LEN + 1];
	char *table;
	int64_t min_created; /* ticks */
	int64_t max_created;
	uint64_t rows;
	uint64_t original_size;
	uint64_t compressed_size;
	char **tags;
	size_t ntags;
	struct proto_artifact *artifacts;
	size_t nartifacts;
	struct proto_colstat *stats; /* column statistics, none for opaque extents */
	size_t nstats;
};

struct proto_window {
	int64_t min; /* ticks */
	int64_t max;
};

struct proto_caching {
	int64_t hot_span; /* ticks, >= 0 */
	struct proto_window *windows;
	size_t nwindows;
};

struct proto_retention {
	int64_t soft_delete; /* ticks, >= 0 */
	bool recoverability;
};

struct proto_principal {
	char *fqn;  /* e.g. "aaduser=alice@contoso.com" */
	char *name; /* display name, "" when none */
};

/* One action.  Which members are meaningful depends on op (see the table in
 * docs/PROTOCOL.md); the others are zero. */
struct proto_action {
	enum proto_op op;
	struct proto_entity entity;   /* CREATE/ALTER: whole; DROP: kind + name */
	struct proto_extent *extents; /* ADD_EXTENTS, REPLACE_EXTENTS */
	size_t nextents;
	char (*ids)[PROTO_UUID_LEN + 1]; /* DROP_EXTENTS, REPLACE_EXTENTS */
	size_t nids;
	char *table;     /* SET_CACHING/SET_RETENTION: NULL = the database */
	bool has_policy; /* SET_CACHING/SET_RETENTION: false = policy removed */
	struct proto_caching caching;
	struct proto_retention retention;
	enum proto_role role; /* SET_PRINCIPALS */
	struct proto_principal *principals;
	size_t nprincipals;
};

struct proto_commit {
	char *database;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
	int64_t committed; /* ticks */
	struct proto_action *actions;
	size_t nactions;
};

struct proto_head_db {
	char *name;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
	int64_t committed;
	uint64_t checkpoint; /* newest checkpoint version, 0 = none */
	uint64_t log_start;  /* oldest published log version */
	char **detached;     /* follower names the leader detached */
	size_t ndetached;
};

struct proto_head {
	int64_t updated;
	uint32_t checkpoint_interval;
	struct proto_head_db *dbs;
	size_t ndbs;
};

struct proto_part {
	char *path; /* relative to the root, validated */
	uint64_t size;
	char sha256[PROTO_SHA256_LEN + 1];
	uint64_t records;
};

struct proto_counts {
	uint64_t tables;
	uint64_t external_tables;
	uint64_t materialized_views;
	uint64_t extents;
	uint64_t rows;
	uint64_t bytes; /* sum of artifact sizes */
};

struct proto_manifest {
	char *database;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
	int64_t committed;
	struct proto_part *parts;
	size_t nparts;
	struct proto_counts counts;
};

/* ---- decoding: text in, a new object out (caller frees with *_free) ---- */

/* Each parses len bytes of JSON (not NUL-terminated necessarily), validates
 * and on success stores a new object in *ret (untouched on failure). */
int proto_head_decode(const char *buf, size_t len, struct proto_head **ret, char *err);
int proto_commit_decode(const char *buf, size_t len, struct proto_commit **ret, char *err);
int proto_manifest_decode(const char *buf, size_t len, struct proto_manifest **ret, char *err);

/* Decodes one checkpoint part line into *ret (caller owns; release with
 * proto_action_clear).  Only the ops allowed in checkpoints are accepted. */
int proto_record_decode(const char *line, size_t len, struct proto_action *ret, char *err);

/* Decodes one action from a jansson value; where prefixes the error
 * ("actions[3]").  Used by commit and record decoding; exported for tests. */
int proto_action_from_json(json_t *v, const char *where, struct proto_action *ret, char *err);

/* ---- encoding: returns a new NUL-terminated string (free()), NULL on ENOMEM ---- */

char *proto_head_encode(const struct proto_head *h);
char *proto_commit_encode(const struct proto_commit *c);
char *proto_manifest_encode(const struct proto_manifest *m);
/* One checkpoint line (no trailing newline). */
char *proto_record_encode(const struct proto_action *a);
/* Returns a new reference. */
json_t *proto_action_to_json(const struct proto_action *a);
json_t *proto_extent_to_json(const struct proto_extent *e);

/* ---- validation of single values (shared with leaderctl's argument checks) ---- */

bool proto_valid_name(const char *s);
bool proto_valid_uuid(const char *s);
bool proto_valid_sha256(const char *s);
/* A relative path that cannot climb out of the root. */
bool proto_valid_path(const char *s);

/* ---- names ---- */

const char *proto_kind_name(enum proto_kind k); /* "table", "external_table", "materialized_view" */
const char *proto_coltype_name(enum proto_coltype t); /* "string", ... */
/* The CLR type Kusto holds a column of type t in ("System.Int64" ...), as
 * schemas and getschema name it. */
const char *proto_coltype_clr_name(enum proto_coltype t);
int proto_coltype_parse(const char *s, enum proto_coltype *ret);
/* Whether every artifact of x declares a data format (its rows can be
 * read); false for an extent of no artifact. */
bool proto_extent_typed(const struct proto_extent *x);
const char *proto_format_name(enum proto_format f); /* "none", "csv", "tsv", "json" */
int proto_format_parse(const char *s, enum proto_format *ret);
const char *proto_compression_name(enum proto_compression c); /* "none", "gzip", "zstd" */
int proto_compression_parse(const char *s, enum proto_compression *ret);
const char *proto_role_name(enum proto_role r); /* "admins", ... */
int proto_role_parse(const char *s, enum proto_role *ret);
const char *proto_op_name(enum proto_op op, enum proto_kind kind); /* "create_table", ... */

/* ---- paths of objects under the root; return snprintf's result ---- */

int proto_path_commit(char *buf, size_t len, const char *uuid, uint64_t version);
int proto_path_checkpoint_dir(char *buf, size_t len, const char *uuid, uint64_t version);
int proto_path_manifest(char *buf, size_t len, const char *uuid, uint64_t version);
int proto_path_part(char *buf, size_t len, const char *uuid, uint64_t version, unsigned part);
int proto_path_artifact(char *buf, size_t len, const char *sha256);
#define PROTO_PATH_HEAD "head.json"

/* ---- memory ---- */

/* *_clear releases what a struct owns and zeroes it; *_free also frees the
 * struct.  Both accept NULL.  *_copy makes a deep copy into *dst (0/-ENOMEM). */
void proto_head_free(struct proto_head *h);
void proto_commit_free(struct proto_commit *c);
void proto_manifest_free(struct proto_manifest *m);
void proto_action_clear(struct proto_action *a);
void proto_entity_clear(struct proto_entity *e);
void proto_extent_clear(struct proto_extent *e);
void proto_caching_clear(struct proto_caching *c);
void proto_head_db_clear(struct proto_head_db *d);
int proto_entity_copy(struct proto_entity *dst, const struct proto_entity *src);
int proto_extent_copy(struct proto_extent *dst, const struct proto_extent *src);
int proto_caching_copy(struct proto_caching *dst, const struct proto_caching *src);

#endif

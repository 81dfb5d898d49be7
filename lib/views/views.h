/*
 * views — the read-only JSON views of the followed databases.
 *
 * Pure functions over a read-only store handle (store_open_readonly) and the
 * configuration: each returns a new jansson value that the HTTP routes (and
 * the Kusto surface) serve as they are.  What the views show:
 *   - the followed databases: leader, local name, applied, visible and
 *     leader versions, lag, state, last error, totals;
 *   - tables, external tables and materialized views with their ordered
 *     schema;
 *   - extents, paged by a cursor and filtered by table and created-on range,
 *     each artifact with its cache state (the store's blob state) and each
 *     extent's hotness under the effective caching policy;
 *   - caching and retention policies: the leader's, the follower's overrides
 *     (followerd.conf) and the effective one (lib/policy);
 *   - principals: the leader's, the follower's and the effective ones
 *     (lib/auth);
 *   - the cache state of a database's artifacts; the change history.
 *
 * Consistency: a response must show one version of a database: its visible
 * version (store.h; behind the applied one while auto-prefetch warms it).  Wrap the
 * calls that build one response in views_begin / views_end: they share one
 * SQLite read transaction (WAL: a snapshot; the writer goes on meanwhile).
 * Keep it short: a reader holding a snapshot stops WAL checkpoints.  Every
 * function also works alone (the store's own reads then take their own
 * snapshots).
 *
 * Databases are found by the name the views show (their local name).  The
 * store names each by its configuration ("ATTACH" or "ATTACH/LEADER_DB" for
 * an attach of "*"); the attach of that name gives the follower's overrides
 * and principals.
 *
 * Costs: one page of extents reads its rows and one blob row per artifact;
 * views_cache and views_blob_databases read every artifact of a database
 * (the latter of all databases: there is no index by sha256) — callers
 * should not run them on every request of a busy endpoint.
 *
 * Errors: 0 or a negative errno with one line in err (VIEWS_ERRLEN bytes):
 * -ENOENT (no such database, entity, extent or artifact), -EINVAL (a bad
 * cursor, id or bound), -ENOMEM, -EIO / -EBUSY from the store.  The library
 * does not log.
 */
#ifndef FOLLOWERD_VIEWS_H
#define FOLLOWERD_VIEWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "policy/auth.h"
#include "conf/conf.h"
#include "store/store.h"

#define VIEWS_ERRLEN STORE_ERRLEN
#define VIEWS_PAGE_DEFAULT 100 /* extents per page when no limit is given */
#define VIEWS_PAGE_MAX 1000    /* extents per page at most */
#define VIEWS_HISTORY_DEFAULT 100
#define VIEWS_CURSOR_MAX (PROTO_MAX_NAME + 32)

struct cache; /* lib/cache/cache.h */

/* What every view reads.  All borrowed. */
struct views_ctx {
	struct store *store;     /* a read-only handle */
	const struct conf *conf; /* attach configurations: overrides, principals, kinds */
	struct cache *cache;     /* may be NULL: the cache's disk space is then not shown */
	int64_t now;             /* ticks: hotness */
};

/* One followed database as the views see it. */
struct views_db {
	struct store_db_info info;
	const struct conf_attach *attach; /* borrowed from ctx->conf; NULL when none names it */
	struct auth_principals leader;    /* the leader's principals */
	struct auth_principals follower;  /* the follower's own (the attach) */
	struct auth_principals effective; /* combined by principals_modification_kind */
};

void views_db_clear(struct views_db *d);
void views_db_array_free(struct views_db *v, size_t n);

/* ---- snapshots ---- */

/* Opens one read transaction on ctx->store for the calls up to views_end. */
int views_begin(const struct views_ctx *v, char *err);

/* Ends it (a no-op after a failed views_begin). */
void views_end(const struct views_ctx *v);

/* A number that changes whenever another connection commits to the store
 * (PRAGMA data_version): what a caller keeping views_db_list's result
 * compares to know it is still current.  Inside views_begin it is the
 * snapshot's. */
int views_data_version(const struct views_ctx *v, int64_t *ret, char *err);

/* ---- databases ---- */

/* The attach of c that configures the store database named config
 * ("A" or "A/LEADER_DB" -> attach "A"), or NULL. */
const struct conf_attach *views_attach_of(const struct conf *c, const char *config);

/* Every followed database in config order, principals resolved: *ret a new
 * array (views_db_array_free). */
int views_db_list(const struct views_ctx *v, struct views_db **ret, size_t *ret_n, char *err);

/* The database shown as name into *ret (views_db_clear); -ENOENT. */
int views_db_find(const struct views_ctx *v, const char *name, struct views_db *ret, char *err);

/* The database's object: names, leader, versions, lag, state, last error,
 * totals. */
int views_database(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err);

/* ---- schema ---- */

/* The entities of kind in name order: an array of objects with ordered
 * "columns" [{"name","type"}] and the leader's policies. */
int views_entities(const struct views_ctx *v, const struct views_db *d, enum proto_kind kind,
                   json_t **ret, char *err);

/* One entity of kind; -ENOENT when the database has none of that name. */
int views_entity(const struct views_ctx *v, const struct views_db *d, enum proto_kind kind,
                 const char *name, json_t **ret, char *err);

/* ---- extents ---- */

struct views_extent_query {
	const char *table;  /* NULL: every table, in name order */
	int64_t from, to;   /* created-on range (overlap); INT64_MIN / INT64_MAX: none */
	const char *cursor; /* NULL or "" for the first page, else a returned "next" */
	size_t limit;       /* 0: VIEWS_PAGE_DEFAULT; at most VIEWS_PAGE_MAX */
};

/* One page: {"extents":[...], "next": cursor or null}.  -ENOENT for an
 * unknown table, -EINVAL for a malformed cursor or limit. */
int views_extents(const struct views_ctx *v, const struct views_db *d,
                  const struct views_extent_query *q, json_t **ret, char *err);

/* ---- policies, principals, history ---- */

/* {"caching_policies_modification_kind", "database": {leader, follower,
 * effective}, "entities": [{name, kind, leader, follower, effective}]}. */
int views_policies(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err);

/* {"principals_modification_kind", "leader", "follower", "effective"}, each
 * {"admins":[{"fqn","name"}], "users", "viewers", "monitors"}. */
int views_principals(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err);

/* {"history": [...]}, newest first, at most limit (0: VIEWS_HISTORY_DEFAULT). */
int views_history(const struct views_ctx *v, const struct views_db *d, size_t limit, json_t **ret,
                  char *err);

/* ---- the cache ---- */

/* How much of the artifacts is cached. */
struct views_cache_stats {
	uint64_t artifacts, bytes;     /* referenced artifacts (with repeats) and their sizes */
	uint64_t cached, cached_bytes; /* of them, in the cache */
	uint64_t quarantined;          /* of them, quarantined */
};

/* Of database d; d NULL: the cache as a whole (its blob rows: artifacts
 * and bytes are the rows, cached and quarantined by state). */
int views_cache_stats(const struct views_ctx *v, const struct views_db *d,
                      struct views_cache_stats *ret, char *err);

/* {"database": stats of d (its visible version), "pending": stats of the
 * extents its applied version adds over the visible one (all of them, hot
 * or not; auto-prefetch) or null when both are the same, "cache": stats of
 * the whole cache, "disk": {"free","total"} (when ctx->cache is set)}. */
int views_cache(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err);

/* ---- artifacts ---- */

/* An artifact to serve. */
struct views_artifact {
	char sha256[PROTO_SHA256_LEN + 1];
	uint64_t size;
	enum store_blob_state state; /* STORE_BLOB_UNKNOWN when the store has no row */
};

/* The artifact name of extent id (a uuid) in d; -EINVAL for a malformed id,
 * -ENOENT when the extent or the artifact does not exist. */
int views_artifact_by_name(const struct views_ctx *v, const struct views_db *d, const char *id,
                           const char *name, struct views_artifact *ret, char *err);

/* The artifact sha256 (64 lowercase hex) if some extent references it:
 * size and cache state into *ret; -ENOENT when none does, -EINVAL for a bad
 * sha256. */
int views_artifact_by_sha(const struct views_ctx *v, const char *sha256, struct views_artifact *ret,
                          char *err);

/* Calls fn for each store database (config name) that references sha256,
 * until fn returns non-zero (returned).  Reads every artifact row. */
int views_blob_databases(const struct views_ctx *v, const char *sha256,
                         int (*fn)(void *arg, const char *config), void *arg, char *err);

/* ---- JSON pieces (shared with the Kusto surface) ---- */

/* A datetime string, or JSON null for 0.  New reference. */
json_t *views_datetime(int64_t ticks);

/* {"hot_span", "hot_windows"} / {"soft_delete", "recoverability"}, or null
 * for NULL.  New references. */
json_t *views_caching_json(const struct proto_caching *c);
json_t *views_retention_json(const struct proto_retention *r);

/* The name of a blob state as the views show it: "cached", "quarantined",
 * "not_cached". */
const char *views_blob_state_name(enum store_blob_state s);

#endif

/*
 * query — KQL queries of the running daemon: POST /v1/rest/query and
 * /v2/rest/query (docs/HTTP.md), answered in Kusto's v1 or v2 form.
 *
 * On the loop: the request body (lib/query/kreq), the database and whether
 * the caller may read its data (users, viewers and admins of its effective
 * principals; monitors may not).  On query's worker threads: the query is
 * compiled (lib/query: parse, bind against the state store's schema of the
 * database, plan) and run by the embedded engine on an in-memory SQLite
 * connection that attaches the database's query store read-only, with one
 * view per table restricted to the rowid ranges of the visible version's
 * loaded extents, so the answer is exactly one version; the rows are
 * encoded (lib/query/kframe) as they come and handed to the loop, which
 * streams them (at most QUERY_QUEUE_BYTES wait per query: a slow client
 * slows its own query, nothing else).  servertimeout and a client that goes
 * away stop the engine (a progress handler).
 *
 * Extents whose artifacts are cached but not loaded yet (a commit just
 * applied) are waited for: the query asks qsync (borrowed, may be NULL) for
 * a pass.  Extents whose column statistics rule out the query's time
 * filters are skipped first (lib/query/kql_skip; query_extents.h keeps
 * the walk cheap); the others not cached (cold, or warming) are read
 * through for the query (query_readthru.h), within
 * query_readthru_max_size, unless query_datascope = hotcache, which reads
 * the hot extents that are loaded (query_policy) and reports what it
 * skipped.  Extents that are not
 * queryable (no data format, rows that do not parse) are left out.
 */
#ifndef FOLLOWERD_QUERY_H
#define FOLLOWERD_QUERY_H

#include "http.h"

#define QUERY_WORKERS 2
#define QUERY_NICE 5 /* the workers' nice, relative to the loop's */
#define QUERY_QUEUE_BYTES ((size_t)4 << 20) /* encoded bytes waiting for the loop */
#define QUERY_QUEUE_MAX 256                 /* jobs waiting for a worker (503 past it) */

struct event_base;
struct conf;
struct policy;
struct query;
struct store;
struct store_entity;
struct warm;

/* Starts the workers (each with its own read-only store handle on
 * store_path, opened lazily) over the query stores in cache_dir (copied).
 * 0, or a negative errno with err filled. */
int query_new(struct event_base *base, const char *store_path, const char *cache_dir,
              struct qsync *qsync, struct query **ret, char *err, size_t errlen);

/* Cancels every query, joins the workers, answers nothing more.  NULL ok. */
void query_free(struct query *q);

/* Queries on a worker, waiting for one, and done since query_new. */
void query_counts(struct query *q, uint64_t *running, uint64_t *queued, uint64_t *finished);

/* The hook of http: takes call->wait over. */
void query_request(struct query *q, const struct http_kusto_call *call);

/* The warmer that reads cold extents through for queries (borrowed, must
 * outlive q; NULL: none, a query that needs them is refused) and, from
 * conf (borrowed for the call), the bound on the bytes one query may read
 * through (query_readthru_max_size) and the attaches' caching overrides
 * (which extents are hot, for query_datascope=hotcache).  On the loop;
 * again at each reload.  NULL q is a no-op. */
void query_set_conf(struct query *q, struct warm *w, const struct conf *conf);

/* The effective caching policy of table in database config (store name)
 * for a query: the leader's policies from s (the worker's snapshot), the
 * follower's overrides from q's attaches.  0 and a new policy (free with
 * policy_free), or a negative errno. */
int query_policy(struct query *q, struct store *s, const char *config,
                 const struct store_entity *table, struct policy **ret);

/* The counts since query_new (extents skipped, read through) into *ret. */
void query_totals(struct query *q, struct http_query_totals *ret);

#endif

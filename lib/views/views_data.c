/*
 * views_data — extents, the cache and artifacts (see views.h).
 *
 * The joins the store's read API does not offer (artifacts by extent id or
 * sha256, cache totals) go through store_query on the read-only handle.  The
 * SQL holds only integers and hex digits this file formats from validated
 * values, never a client's text.
 */
#include "views/views_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "cache/qsync.h"
#include "store/qstore.h"

#define SQL_MAX 1024
/* The extents e of visible version v (an SQL expression; see store.h). */
#define VISIBLE_AT(v) " AND e.added <= " v " AND (e.dropped IS NULL OR e.dropped > " v ")"

const char *views_blob_state_name(enum store_blob_state s)
{
	switch (s) {
	case STORE_BLOB_CACHED:
		return "cached";
	case STORE_BLOB_QUARANTINED:
		return "quarantined";
	default:
		return "not_cached";
	}
}

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < PROTO_SHA256_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[i] == '\0';
}

/* The uuid's 32 hex digits (no dashes) into hex; false when malformed. */
static bool uuid_hex(const char *id, char hex[33])
{
	size_t j = 0;

	if (!proto_valid_uuid(id))
		return false;
	for (size_t i = 0; id[i] != '\0' && j < 32; i++)
		if (id[i] != '-')
			hex[j++] = id[i];
	hex[j] = '\0';
	return j == 32;
}

static uint64_t u64(const char *s)
{
	return s != NULL ? strtoull(s, NULL, 10) : 0;
}

/* ---- extents ---- */

/* One page being built. */
struct page {
	const struct views_ctx *v;
	const struct views_db *d;
	json_t *extents;
	const struct policy *policy; /* of the table being walked */
	struct qstore *qs;           /* the database's query store, NULL when it has none */
	size_t limit, count;
	int64_t last_id;
	bool more; /* a row past the limit exists */
};

static json_t *artifact_json(const struct views_ctx *v, const struct proto_artifact *a)
{
	struct store_blob b;
	enum store_blob_state s = STORE_BLOB_UNKNOWN;

	if (store_blob_get(v->store, a->sha256, &b, NULL) == 0)
		s = b.state;
	return json_pack("{s:s, s:I, s:s, s:s}", "name", a->name, "size", (json_int_t)a->size,
	                 "sha256", a->sha256, "cache", views_blob_state_name(s));
}

static json_t *strings_json(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* The extent's query state: {"state": "loaded" | "not_loaded" |
 * "not_queryable", "rows": loaded rows, "error": why it is not queryable}. */
static json_t *query_json(const struct page *p, const struct proto_extent *x)
{
	char why[1024], qerr[QSTORE_ERRLEN];
	struct qstore_extent e = {0};
	json_t *j;

	if (!proto_extent_typed(x))
		return json_pack("{s:s, s:s}", "state", "not_queryable", "error",
		                 "its artifacts declare no data format");
	if (p->qs && qstore_error_get(p->qs, x->id, why, sizeof(why), qerr) == 0)
		return json_pack("{s:s, s:s}", "state", "not_queryable", "error", why);
	if (p->qs && qstore_extent_get(p->qs, x->id, &e, qerr) == 0)
		j = json_pack("{s:s, s:I}", "state", "loaded", "rows", (json_int_t)e.rows);
	else
		j = json_pack("{s:s}", "state", "not_loaded");
	free((char *)e.table);
	free((char *)e.extent);
	return j;
}

static json_t *extent_json(const struct page *p, int64_t id, const struct proto_extent *x)
{
	json_t *arts = json_array();

	for (size_t i = 0; arts != NULL && i < x->nartifacts; i++)
		if (json_array_append_new(arts, artifact_json(p->v, &x->artifacts[i])) < 0) {
			json_decref(arts);
			arts = NULL;
		}
	return json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:o, s:b, s:o, s:o}", "id", x->id,
	                 "table", x->table, "min_created", views_datetime(x->min_created),
	                 "max_created", views_datetime(x->max_created), "rows", (json_int_t)x->rows,
	                 "original_size", (json_int_t)x->original_size, "compressed_size",
	                 (json_int_t)x->compressed_size, "tags", strings_json(x->tags, x->ntags),
	                 "hot", policy_is_hot(p->policy, x->min_created, x->max_created, p->v->now),
	                 "artifacts", arts, "query", query_json(p, x));
}

static int page_add(void *arg, int64_t id, const struct proto_extent *x)
{
	struct page *p = arg;

	if (p->count == p->limit) {
		p->more = true;
		return 1;
	}
	if (json_array_append_new(p->extents, extent_json(p, id, x)) < 0)
		return -ENOMEM;
	p->count++;
	p->last_id = id;
	return 0;
}

/* Walks table e from after (exclusive) into the page. */
static int page_table(struct page *p, const struct store_entity *e, bool has_db,
                      const struct proto_caching *db, const struct views_extent_query *q,
                      int64_t after, char *err)
{
	struct policy *pol = NULL;
	struct store_extent_query sq = {
	    .config = p->d->info.config,
	    .table = e->e.name,
	    .from = q->from,
	    .to = q->to,
	    .after = after,
	    .limit = p->limit - p->count + 1,
	};
	int r = views_policy_of(p->d, e, has_db, db, &pol);

	if (r < 0)
		return views_errf(err, r, "table '%s': cannot evaluate its caching policy",
		                  e->e.name);
	p->policy = pol;
	r = store_extents(p->v->store, &sq, page_add, p, err);
	if (r == -ENOMEM)
		r = views_errf(err, r, "out of memory");
	policy_free(pol);
	p->policy = NULL;
	return r < 0 ? r : 0;
}

/* Splits the cursor: "ID" with a table, "TABLE/ID" without. */
static int cursor_parse(const struct views_extent_query *q, char *table, size_t tlen,
                        int64_t *ret_after, char *err)
{
	const char *c = q->cursor, *slash;
	char *end = NULL;
	long long id;

	table[0] = '\0';
	*ret_after = 0;
	if (c == NULL || c[0] == '\0')
		return 0;
	slash = strrchr(c, '/');
	if ((q->table == NULL) != (slash != NULL) ||
	    (slash != NULL && ((size_t)(slash - c) >= tlen || slash == c)))
		return views_errf(err, -EINVAL, "cursor '%.64s' is not one this page returned", c);
	if (slash != NULL) {
		memcpy(table, c, (size_t)(slash - c));
		table[slash - c] = '\0';
		c = slash + 1;
	}
	errno = 0;
	id = strtoll(c, &end, 10);
	if (errno != 0 || end == c || *end != '\0' || id <= 0 ||
	    (table[0] != '\0' && !proto_valid_name(table)))
		return views_errf(err, -EINVAL, "cursor '%.64s' is not one this page returned",
		                  q->cursor);
	*ret_after = id;
	return 0;
}

/* Walks the tables of ents from the cursor's into the page; *ret_last the
 * table of the last extent added. */
static int page_tables(struct page *p, const struct store_entity *ents, size_t n, bool has_db,
                       const struct proto_caching *db, const struct views_extent_query *q,
                       const char *start, int64_t after, const char **ret_last, char *err)
{
	int r = 0;
	bool found = q->table == NULL && start[0] == '\0';

	for (size_t i = 0; r == 0 && i < n && !p->more; i++) {
		const char *name = ents[i].e.name;
		bool here =
		    q->table != NULL ? strcmp(name, q->table) == 0 : strcmp(name, start) == 0;

		if (!found && !here)
			continue;
		if (q->table != NULL && !here)
			break;
		size_t before = p->count;

		r = page_table(p, &ents[i], has_db, db, q, here ? after : 0, err);
		if (r == 0 && p->count > before)
			*ret_last = name;
		found = true;
		after = 0;
		if (q->table != NULL)
			break;
	}
	if (r == 0 && !found)
		r = views_errf(err, q->table != NULL ? -ENOENT : -EINVAL,
		               q->table != NULL ? "database '%s' has no table '%s'"
		                                : "database '%s': the cursor's table '%s' is gone",
		               p->d->info.local_name, q->table != NULL ? q->table : start);
	return r;
}

static json_t *next_json(const struct page *p, const struct views_extent_query *q,
                         const char *table)
{
	char next[VIEWS_CURSOR_MAX + 32];

	if (!p->more || table == NULL)
		return json_null();
	if (q->table != NULL)
		(void)snprintf(next, sizeof(next), "%" PRId64, p->last_id);
	else
		(void)snprintf(next, sizeof(next), "%s/%" PRId64, table, p->last_id);
	return json_string(next);
}

/* The database's query store, read-only, when it has one (no file: none is
 * loaded yet, or the daemon runs without a cache). */
static void open_qstore(struct page *p)
{
	char path[4096], err[QSTORE_ERRLEN];

	if (p->v->conf == NULL || p->v->conf->cache_dir == NULL ||
	    qsync_path(p->v->conf->cache_dir, p->d->info.id, path, sizeof(path)) < 0 ||
	    access(path, R_OK) < 0 || qstore_open(path, true, &p->qs, err) < 0)
		p->qs = NULL;
}

int views_extents(const struct views_ctx *v, const struct views_db *d,
                  const struct views_extent_query *q, json_t **ret, char *err)
{
	struct page p = {.v = v, .d = d, .limit = q->limit > 0 ? q->limit : VIEWS_PAGE_DEFAULT};
	struct store_entity *ents = NULL;
	struct proto_caching db = {0};
	struct proto_retention unused;
	bool has_db = false, has_ret = false;
	char start[VIEWS_CURSOR_MAX];
	const char *last = NULL;
	size_t n = 0;
	int64_t after = 0;
	int r;

	if (p.limit > VIEWS_PAGE_MAX)
		return views_errf(err, -EINVAL, "limit %zu: at most %d", q->limit, VIEWS_PAGE_MAX);
	if (q->from > q->to)
		return views_errf(err, -EINVAL, "'from' is after 'to'");
	r = cursor_parse(q, start, sizeof(start), &after, err);
	if (r == 0)
		r = store_db_policies(v->store, d->info.config, &has_db, &db, &has_ret, &unused,
		                      err);
	if (r == 0)
		r = store_entities(v->store, d->info.config, &ents, &n, err);
	if (r == 0 && (p.extents = json_array()) == NULL)
		r = views_errf(err, -ENOMEM, "out of memory");
	open_qstore(&p);
	if (r == 0)
		r = page_tables(&p, ents, n, has_db, &db, q, start, after, &last, err);
	qstore_free(p.qs);
	if (r == 0 &&
	    (*ret = json_pack("{s:o, s:O, s:o}", "table",
	                      q->table != NULL ? json_string(q->table) : json_null(), "extents",
	                      p.extents, "next", next_json(&p, q, last))) == NULL)
		r = views_errf(err, -ENOMEM, "out of memory");
	json_decref(p.extents);
	store_entities_free(ents, n);
	proto_caching_clear(&db);
	return r;
}

/* ---- the cache ---- */

static int stats_row(void *arg, int ncols, const char *const *values)
{
	struct views_cache_stats *s = arg;

	if (ncols < 5)
		return -EIO;
	s->artifacts = u64(values[0]);
	s->bytes = u64(values[1]);
	s->cached = u64(values[2]);
	s->cached_bytes = u64(values[3]);
	s->quarantined = u64(values[4]);
	return 0;
}

static json_t *stats_json(const struct views_cache_stats *s);

#define DB_STATS_SQL                                                                               \
	"SELECT count(*), coalesce(sum(a.size), 0), coalesce(sum(b.state = 'cached'), 0), "        \
	"coalesce(sum(CASE WHEN b.state = 'cached' THEN a.size ELSE 0 END), 0), "                  \
	"coalesce(sum(b.state = 'quarantined'), 0) FROM extents e "                                \
	"JOIN artifacts a ON a.extent = e.id LEFT JOIN blobs b ON b.sha256 = a.sha256 "            \
	"WHERE e.db = %" PRId64

static int stats_run(const struct views_ctx *v, const char *sql, struct views_cache_stats *ret,
                     char *err)
{
	struct views_cache_stats s = {0};
	int r = store_query(v->store, sql, stats_row, &s, err);

	if (r == -EIO && err != NULL && err[0] == '\0')
		r = views_errf(err, r, "cache totals: unexpected result");
	if (r == 0)
		*ret = s;
	return r;
}

int views_cache_stats(const struct views_ctx *v, const struct views_db *d,
                      struct views_cache_stats *ret, char *err)
{
	char sql[SQL_MAX];

	if (d != NULL)
		(void)snprintf(sql, sizeof(sql), DB_STATS_SQL VISIBLE_AT("%" PRIu64), d->info.id,
		               d->info.visible_version, d->info.visible_version);
	else
		(void)snprintf(sql, sizeof(sql),
		               "SELECT count(*), coalesce(sum(size), 0), "
		               "coalesce(sum(state = 'cached'), 0), "
		               "coalesce(sum(CASE WHEN state = 'cached' THEN size ELSE 0 END), 0), "
		               "coalesce(sum(state = 'quarantined'), 0) FROM blobs");
	return stats_run(v, sql, ret, err);
}

/* The stats of the extents the applied version adds over the visible one
 * (auto-prefetch), or JSON null when both are the same. */
static int pending_json(const struct views_ctx *v, const struct views_db *d, json_t **ret,
                        char *err)
{
	struct views_cache_stats s;
	char sql[SQL_MAX];
	int r;

	if (d->info.visible_version >= d->info.applied_version) {
		*ret = json_null();
		return 0;
	}
	(void)snprintf(sql, sizeof(sql),
	               DB_STATS_SQL " AND e.added > %" PRIu64 " AND e.dropped IS NULL", d->info.id,
	               d->info.visible_version);
	r = stats_run(v, sql, &s, err);
	if (r == 0)
		*ret = stats_json(&s);
	return r;
}

static json_t *stats_json(const struct views_cache_stats *s)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I}", "artifacts", (json_int_t)s->artifacts,
	                 "bytes", (json_int_t)s->bytes, "cached", (json_int_t)s->cached,
	                 "cached_bytes", (json_int_t)s->cached_bytes, "quarantined",
	                 (json_int_t)s->quarantined);
}

int views_cache(const struct views_ctx *v, const struct views_db *d, json_t **ret, char *err)
{
	struct views_cache_stats mine, all;
	uint64_t free_b = 0, total_b = 0;
	json_t *disk = json_null(), *pending = NULL;
	int r = views_cache_stats(v, d, &mine, err);

	if (r == 0)
		r = views_cache_stats(v, NULL, &all, err);
	if (r == 0)
		r = pending_json(v, d, &pending, err);
	if (r < 0)
		return r;
	if (v->cache != NULL && cache_disk_space(v->cache, &free_b, &total_b) == 0)
		disk = json_pack("{s:I, s:I}", "free", (json_int_t)free_b, "total",
		                 (json_int_t)total_b);
	*ret = json_pack("{s:o, s:o, s:o, s:o}", "database", stats_json(&mine), "pending", pending,
	                 "cache", stats_json(&all), "disk", disk);
	return *ret != NULL ? 0 : views_errf(err, -ENOMEM, "out of memory");
}

/* ---- artifacts ---- */

struct name_lookup {
	const char *name;
	struct views_artifact a;
	bool found;
	bool extent; /* the extent exists (it has at least one artifact row) */
};

static int name_row(void *arg, int ncols, const char *const *values)
{
	struct name_lookup *l = arg;

	l->extent = true;
	if (ncols < 3 || values[0] == NULL || values[2] == NULL || strcmp(values[0], l->name) != 0)
		return 0;
	l->a.size = u64(values[1]);
	for (size_t i = 0; i < PROTO_SHA256_LEN && values[2][i] != '\0'; i++)
		l->a.sha256[i] =
		    (char)(values[2][i] >= 'A' ? values[2][i] - 'A' + 'a' : values[2][i]);
	l->a.sha256[PROTO_SHA256_LEN] = '\0';
	l->found = true;
	return 1;
}

static void blob_state(const struct views_ctx *v, struct views_artifact *a)
{
	struct store_blob b;

	a->state = STORE_BLOB_UNKNOWN;
	if (store_blob_get(v->store, a->sha256, &b, NULL) == 0)
		a->state = b.state;
}

int views_artifact_by_name(const struct views_ctx *v, const struct views_db *d, const char *id,
                           const char *name, struct views_artifact *ret, char *err)
{
	struct name_lookup l = {.name = name};
	char hex[33], sql[SQL_MAX];
	int r;

	if (!uuid_hex(id, hex))
		return views_errf(err, -EINVAL, "'%.64s' is not an extent id", id);
	(void)snprintf(sql, sizeof(sql),
	               "SELECT a.name, a.size, hex(a.sha256) FROM extents e "
	               "JOIN artifacts a ON a.extent = e.id WHERE e.db = %" PRId64
	               " AND e.uuid = x'%s'" VISIBLE_AT("%" PRIu64) " ORDER BY a.ord",
	               d->info.id, hex, d->info.visible_version, d->info.visible_version);
	r = store_query(v->store, sql, name_row, &l, err);
	if (r < 0)
		return r;
	if (!l.found)
		return views_errf(err, -ENOENT,
		                  l.extent ? "extent %s has no artifact '%.256s'"
		                           : "database '%s' has no extent %s",
		                  l.extent ? id : d->info.local_name, l.extent ? name : id);
	blob_state(v, &l.a);
	*ret = l.a;
	return 0;
}

static int size_row(void *arg, int ncols, const char *const *values)
{
	struct views_artifact *a = arg;

	a->size = u64(values[0]);
	return 1;
}

int views_artifact_by_sha(const struct views_ctx *v, const char *sha256, struct views_artifact *ret,
                          char *err)
{
	struct views_artifact a = {0};
	struct store_blob b;
	char sql[SQL_MAX];
	int r;

	if (!is_hex64(sha256))
		return views_errf(err, -EINVAL, "'%.80s' is not a sha256 (64 lowercase hex digits)",
		                  sha256);
	memcpy(a.sha256, sha256, sizeof(a.sha256));
	r = store_blob_get(v->store, sha256, &b, err);
	if (r == 0) {
		a.size = b.size;
		a.state = b.state;
		*ret = a;
		return 0;
	}
	if (r != -ENOENT)
		return r;
	(void)snprintf(sql, sizeof(sql), "SELECT size FROM artifacts WHERE sha256 = x'%s' LIMIT 1",
	               sha256);
	r = store_query(v->store, sql, size_row, &a, err);
	if (r < 0)
		return r;
	if (r == 0)
		return views_errf(err, -ENOENT, "no artifact %s", sha256);
	a.state = STORE_BLOB_UNKNOWN;
	*ret = a;
	return 0;
}

struct db_walk {
	int (*fn)(void *arg, const char *config);
	void *arg;
};

static int db_row(void *arg, int ncols, const char *const *values)
{
	struct db_walk *w = arg;

	return values[0] != NULL ? w->fn(w->arg, values[0]) : 0;
}

int views_blob_databases(const struct views_ctx *v, const char *sha256,
                         int (*fn)(void *arg, const char *config), void *arg, char *err)
{
	struct db_walk w = {fn, arg};
	char sql[SQL_MAX];

	if (!is_hex64(sha256))
		return views_errf(err, -EINVAL, "'%.80s' is not a sha256 (64 lowercase hex digits)",
		                  sha256);
	(void)snprintf(
	    sql, sizeof(sql),
	    "SELECT DISTINCT d.config FROM artifacts a JOIN extents e ON e.id = a.extent "
	    "JOIN databases d ON d.id = e.db WHERE a.sha256 = x'%s'" VISIBLE_AT(
	        "d.visible_version"),
	    sha256);
	return store_query(v->store, sql, db_row, &w, err);
}

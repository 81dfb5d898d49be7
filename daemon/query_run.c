/*
 * query_run — a query on a worker: the database's schema from the state
 * store, compile (lib/query), one view per scanned table over the query
 * store restricted to the visible version's loaded extents, execute, and
 * encode the rows as they come (lib/query/kframe).
 *
 * Exactly one version: the visible extents are read from one state-store
 * snapshot, then the query store's read transaction starts and every one of
 * them is checked loaded in it (a WAL snapshot: rows loaded or dropped
 * later are not seen).  An extent dropped by the query store in between is
 * seen as not loaded, and the query is prepared again (a newer version).
 *
 * The walk decides per extent (query_extents.h gives its facts cheaply):
 * left out by its statistics (kql_skip), loaded (in the view), or missing:
 * cached ones are waited for (qsync's next pass), the others read through
 * (query_readthru.h), then waited for the same way.
 */
#include "query_int.h"
#include "query_extents.h"
#include "query_readthru.h"
#include "query_sess.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cache/cache.h"
#include "cache/qsync.h"
#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_skip.h"
#include "policy/policy.h"
#include "store/qstore.h"
#include "store/store.h"
#include "util/sbuf.h"
#include "util/timefmt.h"

#define PREPARE_TRIES 100 /* a leader committing fast: each try waits for a pass */
/* How long a query waits for the extents of its version to load: those
 * cached (the next pass), those not cached yet (warming, or cold). */
#define LOAD_WAIT (30 * TIMEFMT_TICKS_PER_SEC)
#define WARM_WAIT (5 * TIMEFMT_TICKS_PER_SEC)
#define PROGRESS_OPS 10000
#define BUSY_MS 2000
#define QSYNC_WAIT_MS 1000 /* for a pass that loads what is cached */
#define READTHRU_ROUNDS 3  /* read-throughs of one query (a version may add extents) */

/* One compiled query and what it runs on. */
struct run {
	struct job *j;
	struct store *store;
	/* the request database's schema: the session's (load_schema) */
	struct store_entity *ents;
	size_t nents;
	struct kql_schema_table *tables;
	struct kql_schema_column *cols;
	struct kql_schema_db sdb;
	struct kql_schema schema;
	/* the other databases the query reads (database("X").T), j->foreign's */
	struct fdb {
		struct store_entity *ents;
		size_t nents;
		struct kql_schema_table *tables;
		struct kql_schema_column *cols;
	} fdb[QUERY_FOREIGN_MAX];
	struct kql_schema_db sdbs[QUERY_FOREIGN_MAX + 1];
	struct qtable *qtables; /* the request database's tables with loaded extents */
	size_t nqtables;
	struct kql_arena *arena;
	struct kql_query *kq;
	struct kreq_opts opts;
	sqlite3 *db;
	/* the worker's session (query_sess.h): db is sess->db when kept */
	struct qsess *sess;
	bool kept, unkept;  /* unkept: the connection cannot be kept */
	int64_t generation; /* the state store's (store_generation) */
	/* open_db's connections: the session's used again, or opened */
	uint64_t reused, opened;
	struct kframe *f;
	uint64_t skipped; /* extents left out by query_datascope=hotcache */
	bool truncated, emitted;
	int64_t now;      /* ticks: now() of the query */
	struct kval *row; /* a result row being encoded */
	size_t nrow;
	int status;     /* before output: the HTTP status of the error */
	char *error;    /* its body */
	char msg[1024]; /* a message being built */

	/* extents left out by their statistics (kql_skip); the artifacts of
	 * those to read through (query_readthru.h) */
	uint64_t pruned;
	struct qrt_need need;
};

static void fail(struct run *r, int status, const char *code, const char *type, const char *errcode,
                 const char *msg)
{
	if (r->error)
		return;
	r->status = status;
	r->error = query_error_json(code, type, errcode, msg, r->j);
}

/* ---- the schema ---- */

/* The binder's tables of the entities of a database. */
static int schema_tables(const struct store_entity *ents, size_t nents,
                         struct kql_schema_table **ret_tables, struct kql_schema_column **ret_cols)
{
	struct kql_schema_table *tables = calloc(nents + 1, sizeof(*tables));
	struct kql_schema_column *cols;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < nents; i++)
		n += ents[i].e.ncolumns;
	if (!tables || !(cols = calloc(n + 1, sizeof(*cols)))) {
		free(tables);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nents; i++) {
		const struct proto_entity *e = &ents[i].e;
		tables[i] = (struct kql_schema_table){e->name, &cols[k], e->ncolumns};
		for (size_t c = 0; c < e->ncolumns; c++)
			cols[k++] =
			    (struct kql_schema_column){e->columns[c].name, e->columns[c].type};
	}
	*ret_tables = tables;
	*ret_cols = cols;
	return 0;
}

/* The request database's schema in the state store's snapshot: the
 * session's (query_sess.h) when it was read at this generation, else read
 * and kept there.  r borrows it (the session changes it only here). */
static int load_schema(struct run *r)
{
	struct qsess_schema *c = &r->sess->schema;
	char err[STORE_ERRLEN];
	int rc;

	if (c->generation < 0 || c->generation != r->generation || c->db_id != r->j->db_id) {
		qsess_schema_clear(c);
		if ((rc = store_entities(r->store, r->j->config, &c->ents, &c->nents, err)) < 0 ||
		    (rc = schema_tables(c->ents, c->nents, &c->tables, &c->cols)) < 0) {
			qsess_schema_clear(c);
			return rc;
		}
		c->db_id = r->j->db_id;
		c->generation = r->generation;
	}
	r->ents = c->ents;
	r->nents = c->nents;
	r->tables = c->tables;
	r->cols = c->cols;
	r->sdb = (struct kql_schema_db){r->j->db, r->tables, r->nents};
	r->schema = (struct kql_schema){&r->sdb, 1, r->j->db};
	return 0;
}

/* The schemas of the other databases the query names, in the same
 * state-store snapshot; the binder then knows database("X").T. */
static int load_foreign(struct run *r)
{
	const struct job *j = r->j;
	char err[STORE_ERRLEN];
	int rc = 0;

	r->sdbs[0] = r->sdb;
	for (size_t i = 0; rc == 0 && i < j->nforeign; i++) {
		struct fdb *f = &r->fdb[i];
		if ((rc = store_entities(r->store, j->foreign[i].config, &f->ents, &f->nents,
		                         err)) == 0 &&
		    (rc = schema_tables(f->ents, f->nents, &f->tables, &f->cols)) == 0)
			r->sdbs[i + 1] =
			    (struct kql_schema_db){j->foreign[i].name, f->tables, f->nents};
	}
	if (rc == 0 && j->nforeign > 0)
		r->schema = (struct kql_schema){r->sdbs, j->nforeign + 1, j->db};
	return rc;
}

static int compile(struct run *r)
{
	struct kql_params params = {r->j->req.param_names, r->j->req.param_values,
	                            r->j->req.nparams};
	struct kql_error e = {0};
	char err[KREQ_ERRLEN];
	int rc;

	if (!(r->arena = kql_arena_new()))
		return -ENOMEM;
	rc = kql_compile_params(r->arena, r->j->req.csl, strlen(r->j->req.csl), &r->schema, &params,
	                        &r->kq, &e);
	if (rc < 0) {
		bool syn = e.code && strcmp(e.code, KQL_E_SYNTAX) == 0;
		fail(r, 400, "General_BadRequest",
		     syn ? "Kusto.Data.Exceptions.SyntaxException"
		         : "Kusto.Data.Exceptions.SemanticException",
		     e.code, e.message);
		return rc;
	}
	r->opts = r->j->req.opts;
	for (size_t i = 0; i < r->kq->nsets; i++)
		if (kreq_set(&r->opts, r->kq->set_names[i], r->kq->set_values[i], err) < 0) {
			fail(r, 400, "General_BadRequest",
			     "Kusto.Data.Exceptions.KustoBadRequestException", NULL, err);
			return -EINVAL;
		}
	/* a `set servertimeout` counts from the request's arrival too (once:
	 * a query waiting for loads is compiled again) */
	r->j->deadline += r->opts.timeout - r->j->req.opts.timeout;
	r->j->req.opts.timeout = r->opts.timeout;
	return 0;
}

/* ---- the views ---- */

/* The extents of table T (visible, typed) and what they are in the query
 * store: a sorted array of eids, the count not loaded. */
struct tview {
	const struct store_entity *ent;
	int64_t *eids;
	int64_t *ingested; /* the ingestion time of each eid's rows (max created-on) */
	size_t neids, cap;
	uint64_t missing, cold; /* not loaded; of them, artifacts not cached */
	uint64_t pruned;        /* skipped by their statistics */
	struct kql_skip *skip;  /* which extents the query reads */
	struct qx_info info;    /* the extent being walked */
	struct policy *hot;     /* hotcache: only the extents hot under it */
	struct qrt_need *need;  /* where the cold ones' artifacts go */
	sqlite3_stmt *find;     /* q.qextents by extent */
	int64_t last;           /* the walk's cursor */
	const struct run *r;
	size_t seen;          /* extents of the page */
	struct qsess_walk *w; /* the table's extents (kept, or this query's) */
	uint64_t rows;        /* the loaded rows of eids (q.qextents.rows) */
	/* whose: the query store's schema ("q", or "fN" for another database),
	 * the configuration's name of its database, the view's name */
	const char *alias, *config, *view;
};

static int add_eid(struct tview *t, int64_t eid, int64_t ingested)
{
	if (t->neids == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		int64_t *p = reallocarray(t->eids, cap, sizeof(*p)), *q;
		if (!p)
			return -ENOMEM;
		t->eids = p;
		if (!(q = reallocarray(t->ingested, cap, sizeof(*q))))
			return -ENOMEM;
		t->ingested = q;
		t->cap = cap;
	}
	t->ingested[t->neids] = ingested;
	t->eids[t->neids++] = eid;
	return 0;
}

/* Where extent id is in the query store's snapshot into e: loaded (eid,
 * rows), or not (eid 0), its rows not parsing (bad). */
static void loaded_eid(struct tview *t, const char *id, struct qsess_ext *e)
{
	sqlite3_reset(t->find);
	sqlite3_bind_text(t->find, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(t->find) == SQLITE_ROW) {
		e->eid = sqlite3_column_int64(t->find, 0);
		e->bad = sqlite3_column_int(t->find, 1) != 0;
		e->rows = (uint64_t)sqlite3_column_int64(t->find, 2);
	}
}

/* A missing extent in full: its artifacts not cached are to read through. */
static int on_missing(void *arg, int64_t id, const struct proto_extent *x)
{
	struct tview *t = arg;
	int rc = qrt_need_add(t->need, t->r->j->q->cache_dir, x);

	if (rc < 0)
		return rc;
	t->cold += (uint64_t)rc;
	return 0;
}

/* x has only its id (the walk decodes nothing: query_extents.h): its
 * facts into the walk, whatever the query (apply_walk decides). */
static int on_extent(void *arg, int64_t id, const struct proto_extent *x)
{
	struct tview *t = arg;
	char err[STORE_ERRLEN];
	struct qsess_ext e = {.id = id};
	int rc;

	t->last = id;
	t->seen++;
	if ((rc = qx_info_get(t->r->j->q->xcache, t->r->store, id, x->id, &t->info, err)) < 0)
		return rc;
	e.typed = t->info.typed;
	e.min_created = t->info.min_created;
	e.max_created = t->info.max_created;
	e.cols = t->info.cols;
	e.ncols = t->info.ncols;
	if (e.typed)
		loaded_eid(t, x->id, &e);
	return qsess_walk_add(t->w, &e);
}

/* Decides per extent of the walk: left out (not queryable), skipped by
 * its statistics, cold (hotcache), read (loaded), or missing. */
static int apply_extent(struct tview *t, const struct qsess_ext *e)
{
	char err[STORE_ERRLEN];

	if (!e->typed)
		return 0; /* not queryable: left out */
	if (kql_skip_cols(t->skip, e->cols, e->ncols, e->max_created)) {
		t->pruned++; /* no row of it can match: neither read nor loaded */
		return 0;
	}
	if (t->hot && !policy_is_hot(t->hot, e->min_created, e->max_created, t->r->now)) {
		t->missing++; /* hotcache: cold, even if a read-through loaded it */
		return 0;
	}
	if (e->eid > 0) {
		t->rows += e->rows;
		return add_eid(t, e->eid, e->max_created);
	}
	if (e->bad)
		return 0;
	t->missing++;
	return store_extent_get(t->r->store, e->id, on_missing, t, err);
}

/* The walk is sorted by eid: so are the eids read. */
static int apply_walk(struct tview *t)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < t->w->n; i++)
		rc = apply_extent(t, &t->w->exts[i]);
	return rc;
}

/* Pages through the table's visible extents (1000 a page) into t->w. */
static int walk_extents(struct run *r, struct tview *t)
{
	char err[STORE_ERRLEN];
	struct store_extent_query sq = {.config = t->config,
	                                .table = t->ent->e.name,
	                                .from = INT64_MIN,
	                                .to = INT64_MAX,
	                                .limit = 1000,
	                                .set = STORE_EXTENTS_VISIBLE,
	                                .ids_only = true};
	int rc = 0;

	do {
		t->seen = 0;
		sq.after = t->last;
		rc = store_extents(r->store, &sq, on_extent, t, err);
	} while (rc == 0 && t->seen == sq.limit);
	if (rc == 0)
		qsess_walk_done(t->w);
	return rc;
}

/* ---- SQL text of our own: quoted schema names, integer ranges ---- */

/* CREATE TEMP VIEW "T" AS SELECT c0 AS "A", ... FROM q.dN WHERE ranges;
 * stored is false when the query store has no rows of T (nothing loaded
 * yet): then typed NULLs and no row.  The rows' ingestion times only for
 * a query that reads them (a view's text is kept between queries). */
static char *view_sql(const struct tview *t, const char *sqlname, bool stored)
{
	static const int64_t none[1];
	const int64_t *ingested = NULL;

	if (kql_skip_ingest(t->skip))
		ingested = t->ingested ? t->ingested : none;
	return query_view_sql(t->r->db, &t->ent->e, t->view, t->alias, sqlname, t->eids, ingested,
	                      t->neids, stored);
}

/* ---- preparing: the connection and one view per table ---- */

static int sql_exec(struct run *r, const char *sql)
{
	return sqlite3_exec(r->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* An empty query store as alias: the database has none yet. */
static int attach_empty_as(struct run *r, const char *alias)
{
	char sql[200];

	(void)snprintf(sql, sizeof(sql),
	               "ATTACH ':memory:' AS %s; CREATE TABLE %s.qtables(tid, name, schema, "
	               "ncols); CREATE TABLE %s.qextents(eid, extent); CREATE TABLE "
	               "%s.qerrors(extent)",
	               alias, alias, alias, alias);
	return sql_exec(r, sql);
}

static int attach_empty(struct run *r)
{
	return attach_empty_as(r, "q");
}

/* Database id's query store, read-only, as alias (the empty in-memory one
 * when the database has none yet: every table then reads no row). */
static int attach_as(struct run *r, int64_t id, const char *alias)
{
	char path[4096];

	if (qsync_path(r->j->q->cache_dir, id, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	if (access(path, R_OK) < 0) {
		r->unkept = true; /* qsync creates it later: a new file */
		return attach_empty_as(r, alias);
	}
	return query_attach_ro(r->db, path, alias);
}

/* The request database's query store as q. */
static int attach(struct run *r)
{
	return attach_as(r, r->j->db_id, "q");
}

/* The other databases' query stores as f0, f1 ... (before the read
 * transaction: SQLite attaches nothing inside one). */
static int attach_foreign(struct run *r)
{
	char alias[24];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->j->nforeign; i++) {
		(void)snprintf(alias, sizeof(alias), "f%zu", i);
		rc = attach_as(r, r->j->foreign[i].id, alias);
	}
	return rc;
}

/* The progress handler: a cancel or the deadline stops the engine. */
static int progress(void *arg)
{
	struct run *r = arg;

	return query_cancelled(r->j) || timefmt_now() > r->j->deadline;
}

/* A new connection: functions, bounds, the query stores attached, the
 * read transaction begun. */
static int open_new(struct run *r)
{
	int rc =
	    sqlite3_open_v2(":memory:", &r->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc != SQLITE_OK || kql_exec_register_budget(r->db, &r->sess->budget) < 0 ||
	    kql_exec_bound(r->db, r->j->budget.limit) < 0)
		return -ENOMEM;
	/* the query store's writer (qsync) may hold a lock for a moment */
	(void)sqlite3_busy_timeout(r->db, BUSY_MS);
	sqlite3_progress_handler(r->db, PROGRESS_OPS, progress, r);
	if ((rc = attach(r)) < 0 || (rc = attach_foreign(r)) < 0)
		return rc;
	/* kept by the session: a mapping that outlives the query (query_pool.c);
	 * a small query then reads its pages without a pread each */
	(void)sql_exec(r, "PRAGMA q.mmap_size = " QUERY_MMAP_BYTES);
	/* the query store's snapshot starts here, after the state store's */
	if (sql_exec(r, "BEGIN; SELECT count(*) FROM q.qtables") == 0)
		return 0;
	/* a file qsync is creating (no catalogue yet): nothing is loaded */
	r->unkept = true;
	(void)sql_exec(r, "ROLLBACK");
	if ((rc = sql_exec(r, "DETACH q")) < 0 || (rc = attach_empty(r)) < 0)
		return rc;
	return sql_exec(r, "BEGIN; SELECT count(*) FROM q.qtables");
}

/* The PRAGMA data_version of db's schema alias in its read transaction
 * (-1 when it cannot be read). */
static int64_t q_version(sqlite3 *db)
{
	sqlite3_stmt *s = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA q.data_version", -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* The state store's generation in the caller's snapshot (store.h: equal
 * generations, the same data); -1: unknown. */
static int64_t state_generation(struct run *r)
{
	char err[STORE_ERRLEN];
	int64_t g = -1;

	return store_generation(r->store, &g, err) == 0 ? g : -1;
}

/* The device and inode of database id's query store file. */
static int store_file(const struct query *q, int64_t id, dev_t *dev, ino_t *ino)
{
	char path[4096];
	struct stat st;

	if (qsync_path(q->cache_dir, id, path, sizeof(path)) < 0 || stat(path, &st) < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

/* The request database's. */
static int q_file(struct run *r, dev_t *dev, ino_t *ino)
{
	return store_file(r->j->q, r->j->db_id, dev, ino);
}

void query_sess_tidy(const struct query *q, struct qsess *s)
{
	dev_t dev;
	ino_t ino;

	if (s->db && (store_file(q, s->db_id, &dev, &ino) < 0 || dev != s->dev || ino != s->ino))
		qsess_drop(s);
}

/* q_version on the session's connection, its statement kept. */
static int64_t kept_q_version(struct qsess *s)
{
	sqlite3_stmt *st = qsess_stmt(s, QSESS_VERSION);
	int64_t v = -1;

	if (st && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	if (st)
		(void)sqlite3_reset(st);
	return v;
}

/* Whether the session's connection is the one for this query: the same
 * database, file, bound and state-store generation (the query store's
 * data_version is checked in the new read transaction). */
static bool sess_fits(struct run *r)
{
	const struct qsess *s = r->sess;
	dev_t dev;
	ino_t ino;

	return s->db && s->db_id == r->j->db_id && r->j->nforeign == 0 && r->generation >= 0 &&
	       s->generation == r->generation && s->bound == r->j->budget.limit &&
	       q_file(r, &dev, &ino) == 0 && dev == s->dev && ino == s->ino;
}

/* The session's connection in a new read transaction when its facts are
 * this query's; else the session is dropped and 1 returned. */
static int open_kept(struct run *r)
{
	struct qsess *s = r->sess;

	if (!sess_fits(r)) {
		qsess_drop(s);
		return 1;
	}
	r->db = s->db;
	r->kept = true;
	sqlite3_progress_handler(r->db, PROGRESS_OPS, progress, r);
	if (qsess_run(s, QSESS_BEGIN) == 0 && qsess_run(s, QSESS_SNAPSHOT) == 0 &&
	    kept_q_version(s) == s->q_version)
		return 0;
	/* a pass of qsync (or a failure): afresh */
	r->db = NULL;
	r->kept = false;
	qsess_drop(s);
	return 1;
}

/* A new connection, which the session keeps when it can. */
static int open_fresh(struct run *r)
{
	struct qsess *s = r->sess;
	int rc = open_new(r);

	if (rc < 0 || r->unkept || r->j->nforeign > 0 || r->generation < 0 ||
	    q_file(r, &s->dev, &s->ino) < 0 || (s->q_version = q_version(r->db)) < 0)
		return rc;
	s->db = r->db;
	s->db_id = r->j->db_id;
	s->generation = r->generation;
	s->bound = r->j->budget.limit;
	r->kept = true;
	return 0;
}

static int open_db(struct run *r)
{
	int rc;

	r->sess->budget = (struct kql_budget){.limit = r->j->budget.limit};
	if ((rc = open_kept(r)) <= 0) {
		r->reused++;
		return rc;
	}
	r->opened++;
	return open_fresh(r);
}

/* The stored name of t's table when its stored columns are the current
 * ones ("" otherwise: loaded rows of another schema are not read). */
static int stored_table(struct run *r, const struct tview *t, char name[32])
{
	const struct proto_entity *e = &t->ent->e;
	char *want = qstore_schema_text(e->columns, e->ncolumns);
	sqlite3_stmt *s = NULL;
	char sql[80];
	int rc;

	name[0] = '\0';
	if (!want)
		return -ENOMEM;
	(void)snprintf(sql, sizeof(sql), "SELECT tid, schema FROM %s.qtables WHERE name = ?1",
	               t->alias);
	/* a kept connection's is kept (its alias is q: query_sess.h) */
	if (r->kept && strcmp(t->alias, "q") == 0 &&
	    (s = qsess_stmt(r->sess, QSESS_STORED)) != NULL)
		rc = SQLITE_OK;
	else
		rc = sqlite3_prepare_v2(r->db, sql, -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, e->name, -1, SQLITE_STATIC);
		if (sqlite3_step(s) == SQLITE_ROW &&
		    strcmp((const char *)sqlite3_column_text(s, 1), want) == 0)
			(void)snprintf(name, 32, "d%lld", (long long)sqlite3_column_int64(s, 0));
	}
	if (r->kept && s == r->sess->st[QSESS_STORED]) {
		(void)sqlite3_reset(s);
		(void)sqlite3_clear_bindings(s);
	} else
		sqlite3_finalize(s);
	free(want);
	return rc == SQLITE_OK ? 0 : -EIO;
}

static int find_stmt(struct run *r, struct tview *t)
{
	char sql[200];

	(void)snprintf(sql, sizeof(sql),
	               "SELECT eid, 0, rows FROM %s.qextents WHERE extent = ?1 UNION ALL "
	               "SELECT 0, 1, 0 FROM %s.qerrors WHERE extent = ?1 LIMIT 1",
	               t->alias, t->alias);
	return sqlite3_prepare_v2(r->db, sql, -1, &t->find, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* A table's view for parallel scans (query_par.c): its eids, stolen. */
static void keep_table(struct run *r, const struct store_entity *ent, const char *name,
                       struct tview *t)
{
	struct qtable *q = &r->qtables[r->nqtables++];

	*q = (struct qtable){.ent = &ent->e,
	                     .tid = strtoll(name + 1, NULL, 10),
	                     .eids = t->eids,
	                     .neids = t->neids,
	                     .rows = t->rows};
	(void)snprintf(q->sqlname, sizeof(q->sqlname), "%s", name);
	t->eids = NULL;
}

/* The table's walk, once per session (query_sess.h), then what this
 * query reads of it. */
static int walk_table(struct run *r, struct tview *t)
{
	int rc = 0;

	if (!t->w->filled) {
		qsess_walk_clear(t->w);
		if ((rc = find_stmt(r, t)) == 0)
			rc = walk_extents(r, t);
	}
	return rc == 0 ? apply_walk(t) : rc;
}

/* Makes *sql the connection's view of t (stolen when kept): a kept one of
 * the same text is used again (the same version: data_version). */
static int set_view(struct run *r, struct tview *t, char **sql)
{
	char *drop;
	int rc;

	if (!r->kept)
		return sql_exec(r, *sql);
	if (t->w->view_sql && strcmp(t->w->view_sql, *sql) == 0)
		return 0;
	free(t->w->view_sql);
	t->w->view_sql = NULL;
	if (!(drop = query_view_drop_sql(t->view)))
		return -ENOMEM;
	rc = sql_exec(r, drop);
	free(drop);
	if (rc == 0 && (rc = sql_exec(r, *sql)) == 0) {
		t->w->view_sql = *sql;
		*sql = NULL;
	}
	return rc;
}

/* The view of one table; its missing extents counted into *missing, the
 * cold ones of them (artifacts not cached) into *cold. */
static int table_view_in(struct run *r, struct tview t, const char *dbname,
                         const struct kql_schema_table *st, uint64_t *missing, uint64_t *cold)
{
	const struct store_entity *ent = t.ent;
	struct qsess_walk local = {0};
	char name[32];
	char *sql = NULL;
	bool same;
	int rc;

	t.w = r->kept ? qsess_walk(r->sess, ent->e.name) : &local;
	if (!t.w)
		return -ENOMEM;
	if ((rc = stored_table(r, &t, name)) == 0)
		rc = kql_skip_new(r->db, r->kq, dbname, st, r->opts.has_now ? r->opts.now : r->now,
		                  &t.skip);
	if (rc == 0 && r->opts.scope == KREQ_SCOPE_HOTCACHE)
		rc = query_policy(r->j->q, r->store, t.config, ent, &t.hot);
	/* a table the query does not scan: no extent of it is looked at */
	if (rc == 0 && kql_skip_reads(t.skip))
		rc = walk_table(r, &t);
	if (rc == 0 && !name[0]) {
		t.missing += t.neids; /* loaded under another schema: not readable */
		t.neids = 0;
		t.rows = 0;
	}
	/* a kept view of the same extents is this query's (query_sess.h) */
	same =
	    rc == 0 && r->kept && qsess_view_reads(t.w, t.eids, t.neids, kql_skip_ingest(t.skip));
	if (rc == 0 && !same && !(sql = view_sql(&t, name, name[0] != '\0')))
		rc = -ENOMEM;
	if (rc == 0 && !same && (rc = set_view(r, &t, &sql)) == 0 && r->kept)
		(void)qsess_view_set(t.w, t.eids, t.neids, kql_skip_ingest(t.skip));
	if (rc == 0 && name[0] && t.neids > 0 && strcmp(t.alias, "q") == 0)
		keep_table(r, ent, name, &t);
	*missing += t.missing;
	*cold += t.cold;
	r->pruned += t.pruned;
	free(sql);
	qsess_walk_clear(&local);
	free(t.eids);
	free(t.ingested);
	kql_skip_free(t.skip);
	policy_free(t.hot);
	qx_info_clear(&t.info);
	sqlite3_finalize(t.find);
	return rc;
}

static int table_view(struct run *r, size_t i, uint64_t *missing, uint64_t *cold)
{
	const struct store_entity *ent = &r->ents[i];
	struct tview t = {.ent = ent,
	                  .r = r,
	                  .need = &r->need,
	                  .alias = "q",
	                  .config = r->j->config,
	                  .view = ent->e.name};

	return table_view_in(r, t, r->j->db, &r->tables[i], missing, cold);
}

/* Views of every table (tables are few; a view costs nothing unread). */
static int make_views(struct run *r, uint64_t *missing, uint64_t *cold)
{
	int rc = 0;

	*missing = *cold = 0;
	if (!(r->qtables = calloc(r->nents + 1, sizeof(*r->qtables))))
		return -ENOMEM;
	for (size_t i = 0; i < r->nents && rc == 0; i++)
		if (r->ents[i].e.kind != PROTO_EXTERNAL_TABLE)
			rc = table_view(r, i, missing, cold);
	return rc;
}

/* The views of the other databases' tables, named kql_exec_view_name(db,
 * T), over their query stores attached as f0, f1 ... (attach_foreign);
 * their extents not loaded count as the request database's do. */
static int make_foreign_views(struct run *r, uint64_t *missing, uint64_t *cold)
{
	char alias[24], view[2 * 256 + 2], sql[64];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < r->j->nforeign; i++) {
		const struct foreign *f = &r->j->foreign[i];
		(void)snprintf(alias, sizeof(alias), "f%zu", i);
		(void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.qtables", alias);
		if (sql_exec(r, sql) < 0)
			return -EAGAIN; /* qsync is creating it: after its next pass */
		for (size_t k = 0; rc == 0 && k < r->fdb[i].nents; k++) {
			const struct store_entity *ent = &r->fdb[i].ents[k];
			struct tview t = {.ent = ent,
			                  .r = r,
			                  .need = &r->need,
			                  .alias = alias,
			                  .config = f->config};
			if (ent->e.kind == PROTO_EXTERNAL_TABLE)
				continue;
			if ((t.view = kql_exec_view_name(f->name, ent->e.name, view,
			                                 sizeof(view))) == NULL)
				return -ENAMETOOLONG;
			rc = table_view_in(r, t, f->name, &r->fdb[i].tables[k], missing, cold);
		}
	}
	return rc;
}

/* Ends the query store's read transaction; the session keeps a kept
 * connection (with its views) unless that fails.  Its page caches are
 * given back: an idle worker holds no query's memory. */
static void close_db(struct run *r)
{
	if (r->kept && qsess_run(r->sess, QSESS_COMMIT) < 0)
		qsess_drop(r->sess);
	else if (r->kept)
		(void)sqlite3_db_release_memory(r->db);
	else if (r->db && !r->kept)
		sqlite3_close(r->db);
	r->db = NULL;
	r->kept = false;
}

static int no_rows(void *arg, int ncols, const char *const *values)
{
	return 0;
}

/* Schema, compile, views, with the state store read as one snapshot; 0,
 * or a failure recorded in r (or a negative errno): -EAGAIN when extents
 * are cached but not loaded yet, -ENODATA when some are cold. */
static int prepare(struct run *r)
{
	char err[STORE_ERRLEN];
	uint64_t missing = 0, cold = 0;
	int rc = store_query(r->store, "BEGIN", no_rows, NULL, err);

	r->generation = state_generation(r); /* what the schema and the session are keyed on */
	if (rc == 0 && (rc = load_schema(r)) == 0 && (rc = load_foreign(r)) == 0 &&
	    (rc = compile(r)) == 0 && (rc = open_db(r)) == 0 &&
	    (rc = make_views(r, &missing, &cold)) == 0)
		rc = make_foreign_views(r, &missing, &cold);
	(void)store_query(r->store, "COMMIT", no_rows, NULL, NULL);
	if (rc == 0 && missing > 0 && r->opts.scope == KREQ_SCOPE_HOTCACHE)
		r->skipped = missing;
	else if (rc == 0 && missing > 0)
		rc = cold > 0 ? -ENODATA : -EAGAIN;
	return rc;
}

/* ---- running and encoding ---- */

static int emit(void *arg, const char *buf, size_t len)
{
	struct run *r = arg;

	r->emitted = true;
	return query_emit(r->j, buf, len);
}

static int on_row(void *arg, const struct kql_value *row, size_t ncols)
{
	struct run *r = arg;
	const struct kreq_opts *o = &r->opts;

	if (!o->notruncation &&
	    (kframe_rows(r->f) >= o->max_records || kframe_bytes(r->f) >= o->max_size)) {
		r->truncated = true;
		return 1;
	}
	for (size_t i = 0; i < ncols && i < r->nrow; i++)
		r->row[i] = (struct kval){.null = row[i].isnull,
		                          .i = row[i].i,
		                          .r = row[i].r,
		                          .s = row[i].s,
		                          .len = row[i].s ? strlen(row[i].s) : 0};
	if (kframe_row(r->f, r->row) < 0)
		return -ECANCELED;
	/* .show queries reads it while the query runs (query_list) */
	__atomic_store_n(&r->j->rows_now, kframe_rows(r->f), __ATOMIC_RELAXED);
	return 0;
}

static int columns(struct run *r, const struct kql_plan *p, struct kframe_column **ret)
{
	struct kframe_column *c = calloc(p->ncols + 1, sizeof(*c));
	struct kval *row = reallocarray(r->row, p->ncols + 1, sizeof(*row));

	if (!c || !row) {
		free(c);
		if (row)
			r->row = row;
		return -ENOMEM;
	}
	r->row = row;
	r->nrow = p->ncols;
	for (size_t i = 0; i < p->ncols; i++)
		c[i] = (struct kframe_column){p->cols[i].name, p->cols[i].type};
	*ret = c;
	return 0;
}

/* Runs one result table; 1 when truncation stopped it. */
/* p split across the cores when it can be (query_par.c), else whole. */
static int run_plan(struct run *r, const struct kql_plan *p, int64_t now, struct kql_error *e)
{
	struct qpar_ctx c = {r->j, r->db, r->arena, r->qtables, r->nqtables, &r->sess->budget};
	int rc = query_count_run(&c, p, on_row, r);

	if (rc == -EAGAIN)
		rc = query_par_run(&c, p, now, on_row, r, e);

	if (rc != -EAGAIN)
		return rc;
	/* a kept connection keeps its statements too (kql_stmts.h) */
	return kql_exec_run_kept(r->db, r->kept ? qsess_stmts(r->sess) : NULL, p, now, on_row, r,
	                         e);
}

static int run_result(struct run *r, const struct kql_plan *p, struct kql_error *e)
{
	struct kframe_column *cols = NULL;
	int64_t now = r->opts.has_now ? r->opts.now : r->now;
	int rc = columns(r, p, &cols);

	if (rc == 0 && (rc = kframe_table_begin(r->f, "PrimaryResult", cols, p->ncols)) == 0)
		rc = run_plan(r, p, now, e);
	if (rc >= 0)
		(void)kframe_table_end(r->f);
	free(cols);
	return rc;
}

/* The Visualization property ADX writes for every query (the web UI
 * takes an answer without @ExtendedProperties for a failed query): the
 * render's kind, or null, and its other keys unset. */
static int add_visualization(struct run *r)
{
	char json[512], kind[80];

	if (r->kq->render)
		(void)snprintf(kind, sizeof(kind), "\"%.64s\"", r->kq->render);
	else
		(void)snprintf(kind, sizeof(kind), "null");
	(void)snprintf(json, sizeof(json),
	               "{\"Visualization\":%s,\"Title\":null,\"XColumn\":null,\"Series\":null,"
	               "\"YColumns\":null,\"AnomalyColumns\":null,\"XTitle\":null,\"YTitle\":null,"
	               "\"XAxis\":null,\"YAxis\":null,\"Legend\":null,\"YSplit\":null,"
	               "\"Accumulate\":false,\"IsQuerySorted\":false,\"Kind\":null,"
	               "\"Ymin\":\"NaN\",\"Ymax\":\"NaN\",\"Xmin\":null,\"Xmax\":null}",
	               kind);
	return kframe_property(r->f, "Visualization", json);
}

static int add_properties(struct run *r)
{
	char json[256];
	int rc = add_visualization(r);

	if (rc == 0 && r->opts.scope == KREQ_SCOPE_HOTCACHE) {
		(void)snprintf(json, sizeof(json),
		               "{\"QueryDataScope\":\"hotcache\",\"SkippedExtents\":%" PRIu64 "}",
		               r->skipped);
		rc = kframe_property(r->f, "QueryDataScope", json);
	}
	return rc;
}

/* Kusto's words for a cancelled query (E_QUERY_CANCELLED, 0x80DA0006). */
static void cancelled_message(struct run *r)
{
	char why[256];

	query_cancel_reason(r->j, why, sizeof(why));
	(void)snprintf(r->msg, sizeof(r->msg), "Query was cancelled (E_QUERY_CANCELLED): %s", why);
}

/* How the run ended, as the completion information says it. */
static void end_status(struct run *r, int rc, const struct kql_error *e, struct kframe_status *st)
{
	bool late = timefmt_now() > r->j->deadline;

	*st = (struct kframe_status){0};
	if (r->truncated) {
		(void)snprintf(
		    r->msg, sizeof(r->msg),
		    "Query result set has exceeded the internal %s limit %" PRIu64
		    " (E_QUERY_RESULT_SET_TOO_LARGE; see https://aka.ms/kustoquerylimits); "
		    "set notruncation or raise truncationmaxrecords/truncationmaxsize",
		    kframe_rows(r->f) >= r->opts.max_records ? "record count" : "data size",
		    kframe_rows(r->f) >= r->opts.max_records ? r->opts.max_records
		                                             : r->opts.max_size);
		*st = (struct kframe_status){-1, "LimitsExceeded", r->msg, false};
	} else if (rc < 0 && late) {
		(void)snprintf(r->msg, sizeof(r->msg),
		               "Query execution has exceeded the allowed limits (80DA0001): the "
		               "servertimeout of the request passed");
		*st = (struct kframe_status){-1, "RequestExecutionTimeout", r->msg, false};
	} else if (rc < 0 && e->code != NULL && strcmp(e->code, KQL_E_RUNAWAY) == 0) {
		(void)snprintf(
		    r->msg, sizeof(r->msg),
		    "Query execution has exceeded the memory budget of %" PRIu64
		    " bytes (query_max_memory) during evaluation: an aggregate such as "
		    "make_list, make_set or percentile, or a sort, grew past it. Results "
		    "might be incorrect or incomplete (E_RUNAWAY_QUERY); narrow the query "
		    "(where, project, take) or aggregate less",
		    r->j->budget.limit);
		*st = (struct kframe_status){-1, "LimitsExceeded", r->msg, false};
	} else if (rc < 0 && query_cancelled(r->j)) {
		cancelled_message(r);
		*st = (struct kframe_status){-1, "General_InternalServerError", r->msg, true};
	} else if (rc < 0) {
		(void)snprintf(r->msg, sizeof(r->msg), "%s",
		               e->message[0] ? e->message : "the query failed");
		*st = (struct kframe_status){-1, "General_InternalServerError", r->msg, false};
	}
}

static int execute(struct run *r)
{
	struct kframe_opts o = {.shape = r->j->shape,
	                        .end_of_table = r->opts.end_of_table,
	                        .client_request_id = r->j->request_id,
	                        .activity_id = r->j->activity_id};
	struct kql_error e = {0};
	struct kframe_status st;
	int rc = kframe_new(&o, emit, r, &r->f);

	if (rc == 0)
		rc = add_properties(r);
	for (size_t i = 0; rc == 0 && i < r->kq->nresults && !r->truncated; i++)
		rc = run_result(r, r->kq->results[i], &e);
	if (rc == 1)
		rc = 0;
	end_status(r, rc, &e, &st);
	query_note(r->j, r->f ? kframe_rows(r->f) : 0, st.code != 0 ? st.message : NULL);
	/* a cancelled query's client, if still there, reads why in the answer */
	if (st.code != 0 && !r->emitted && !st.cancelled) {
		/* nothing went out yet: a real HTTP error */
		fail(r,
		     st.cancelled                     ? 503
		     : timefmt_now() > r->j->deadline ? 408
		                                      : 400,
		     st.kusto, "Kusto.Data.Exceptions.KustoServicePartialQueryFailureException",
		     st.cancelled || strcmp(st.kusto, "RequestExecutionTimeout") == 0 ? NULL
		                                                                      : e.code,
		     st.message);
		if (!r->truncated)
			return -EIO;
	}
	r->j->last = true;
	return kframe_finish(r->f, st.code ? &st : NULL);
}

static void run_clear(struct run *r)
{
	close_db(r);
	kframe_free(r->f);
	kql_arena_free(r->arena);
	/* r->ents, tables and cols are the session's (load_schema) */
	for (size_t i = 0; i < QUERY_FOREIGN_MAX; i++) {
		store_entities_free(r->fdb[i].ents, r->fdb[i].nents);
		free(r->fdb[i].tables);
		free(r->fdb[i].cols);
	}
	free(r->row);
	qrt_need_clear(&r->need);
	for (size_t i = 0; i < r->nqtables; i++)
		free(r->qtables[i].eids);
	free(r->qtables);
	*r = (struct run){.j = r->j,
	                  .store = r->store,
	                  .now = r->now,
	                  .sess = r->sess,
	                  .reused = r->reused,
	                  .opened = r->opened};
}

static int open_store(struct run *r, struct store **store)
{
	char err[STORE_ERRLEN];

	if (*store == NULL && store_open_readonly(r->j->q->store_path, store, err) < 0)
		return -EIO;
	r->store = *store;
	return 0;
}

/* The deadline, and a bound on waiting for loads. */
static bool waited_enough(const struct run *r, int64_t start)
{
	int64_t now = timefmt_now();

	return now >= r->j->deadline || now - start > LOAD_WAIT || query_cancelled(r->j);
}

/* The extents not cached are read through (query_readthru.h): -EAGAIN
 * when they are cached now (qsync's next pass loads them), -ENODATA when
 * this daemon cannot read through (they are waited for, as warming), or a
 * failure recorded in r.  *start restarts the wait for loads. */
static int read_through(struct run *r, int *rounds, int64_t *start)
{
	int rc;

	if (!r->j->q->qsync)
		return -ENODATA;
	close_db(r); /* no query store snapshot held while waiting */
	if (++*rounds > READTHRU_ROUNDS) {
		(void)snprintf(r->msg, sizeof(r->msg),
		               "the extents read through for the query were evicted again before "
		               "they could be loaded (cache_demand_keep is too short?); retry");
		fail(r, 503, "ServiceUnavailable", "Kusto.Data.Exceptions.KustoServiceException",
		     NULL, r->msg);
		return -EIO;
	}
	rc = qrt_fetch(r->j, &r->need, r->msg, sizeof(r->msg));
	if (rc == 0) {
		*start = timefmt_now();
		return -EAGAIN;
	}
	if (rc == -EOPNOTSUPP)
		return -ENODATA;
	if (rc == -EFBIG)
		fail(r, 400, "LimitsExceeded",
		     "Kusto.Data.Exceptions.KustoServicePartialQueryFailureLimitsExceededException",
		     NULL, r->msg);
	else if (rc == -ETIMEDOUT)
		fail(r, 408, "RequestExecutionTimeout",
		     "Kusto.Data.Exceptions.KustoRequestTimeoutException", NULL, r->msg);
	else
		fail(r, 503, "ServiceUnavailable", "Kusto.Data.Exceptions.KustoServiceException",
		     NULL, r->msg);
	return rc;
}

/* Prepares r, waiting for cached extents not loaded yet (the query
 * store's next passes) and reading the others through; rc is always the
 * last prepare's. */
static int prepare_loop(struct run *r, int64_t *start)
{
	struct job *j = r->j;
	int rc = 0, rounds = 0;

	for (int i = 0; rc == 0; i++) {
		if ((rc = prepare(r)) != -EAGAIN && rc != -ENODATA)
			break;
		if (rc == -ENODATA && r->opts.scope != KREQ_SCOPE_HOTCACHE &&
		    (rc = read_through(r, &rounds, start)) != -EAGAIN && rc != -ENODATA)
			break;
		if (!j->q->qsync || i + 1 >= PREPARE_TRIES || waited_enough(r, *start) ||
		    (rc == -ENODATA && timefmt_now() - *start > WARM_WAIT))
			break;
		run_clear(r);
		(void)qsync_wait(j->q->qsync, QSYNC_WAIT_MS);
		rc = 0;
	}
	return rc;
}

/* The answer to a query that could not be prepared (rc < 0). */
static void prepare_failed(struct run *r, int rc)
{
	if (query_cancelled(r->j)) {
		cancelled_message(r);
		fail(r, 503, "General_InternalServerError",
		     "Kusto.Data.Exceptions.KustoServiceException", NULL, r->msg);
		return;
	}
	if (rc == -EAGAIN || rc == -ENODATA)
		(void)snprintf(
		    r->msg, sizeof(r->msg),
		    "the visible version of database '%s' has extents that are not loaded "
		    "in the query store yet (cold, or still warming up), and this follower "
		    "could not load them in time; retry, or query what is loaded with "
		    "set query_datascope='hotcache'",
		    r->j->db);
	else if (!r->error)
		(void)snprintf(
		    r->msg, sizeof(r->msg),
		    "the query could not be prepared: the state or query store could not "
		    "be read (%s%s%s)",
		    strerror(-rc), r->db ? ": " : "", r->db ? sqlite3_errmsg(r->db) : "");
	else
		return;
	fail(r, 503, "ServiceUnavailable", "Kusto.Data.Exceptions.KustoServiceException", NULL,
	     r->msg);
}

void query_run(struct job *j, struct store **store, struct qsess *sess)
{
	int64_t start = timefmt_now();
	struct run r = {.j = j, .now = start, .sess = sess};
	int rc = open_store(&r, store);
	uint64_t skipped = 0;
	bool drop;

	if (rc == 0)
		rc = prepare_loop(&r, &start);
	if (rc < 0)
		prepare_failed(&r, rc);
	if (rc == 0) {
		skipped = r.pruned;
		rc = execute(&r);
	}
	qrt_count_run(j->q, skipped, r.reused, r.opened);
	/* the log reads the peak (query_log.c) */
	__atomic_store_n(&j->budget.peak, __atomic_load_n(&sess->budget.peak, __ATOMIC_RELAXED),
	                 __ATOMIC_RELAXED);
	drop = rc != 0 || r.error; /* only a clean end is kept */
	/* the answer is told ended first, the tidying overlaps its sending;
	 * j is the loop's from then on: nothing may call back into it */
	if (r.db)
		sqlite3_progress_handler(r.db, 0, NULL, NULL);
	if (r.error && !r.emitted) {
		query_finish(j, r.status, r.error);
		r.error = NULL;
	} else {
		query_finish(j, 0, NULL);
	}
	close_db(&r);
	if (drop)
		qsess_drop(sess);
	free(r.error);
	run_clear(&r);
}

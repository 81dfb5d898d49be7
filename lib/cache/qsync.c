/*
 * qsync — the query stores follow the state store and the cache (qsync.h).
 *
 * A pass reads the state store in short read transactions (a page of
 * extents at a time, copied) and loads afterwards, so a long load never
 * holds a snapshot that would stop the WAL from being checkpointed.
 */
#include "cache/qsync.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache.h"
#include "store/qload.h"
#include "store/qstore.h"
#include "store/store.h"

#define PAGE 1000
#define RECHECK_MS 500

/* One extent to load, copied out of the state store's page. */
struct job {
	char id[PROTO_UUID_LEN + 1];
	struct qload_artifact *arts;
	size_t narts;
	char **paths, **names;
	struct proto_column *written; /* names borrowed from the table's columns */
	size_t nwritten;
};

/* The visible extents of one table that are cached and typed (and those of
 * the applied version while auto-prefetch holds it back). */
struct walk {
	struct qsync *q;
	const struct store_entity *ent;
	struct qstore *qs;
	const struct qstore_index *ix; /* what the store held when the pass began */
	size_t nix;
	char **keep; /* extent ids to keep loaded, sorted after the walk */
	size_t nkeep, capkeep;
	struct job *jobs;
	size_t njobs, capjobs;
	int64_t last;
	size_t seen;
};

/* What a database's last pass saw: while its versions and the cache stay
 * the same, the next pass has nothing to do for it. */
struct memo {
	int64_t id;
	char *local_name;
	uint64_t visible, applied, gen;
	uint64_t extents, rows, bytes, not_queryable; /* its share of the totals */
};

/* One table's loaded totals, as of a pass. */
struct qtable_count {
	char *database, *table;
	uint64_t extents, rows, bytes;
};

struct qsync {
	char *store_path, *cache_dir;
	struct cache *cache;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_cond_t passed;                    /* a pass ended */
	bool kicked, stop;                        /* under mu */
	uint64_t started, ended;                  /* passes, under mu */
	struct qsync_status st;                   /* under mu */
	struct qsync_status run;                  /* the thread's own, copied into st */
	struct qtable_count *tables, *run_tables; /* under mu / the thread's */
	size_t ntables, nrun_tables, caprun;
	const char *pass_db; /* the database being counted (the thread's) */
	uint64_t gen;        /* the cache's generation, under mu (qsync_cache_changed) */
	uint64_t pass_gen;   /* ...as the pass under way read it (the thread's) */
	bool retry;          /* a load of this database failed and is retried (the thread's) */
	bool recheck;        /* a checkpoint or a write was kept from completing: a pass soon */
	struct memo *memos;  /* the thread's */
	size_t nmemos;
};

/* ---- small helpers ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool kept(const struct walk *w, const char *id)
{
	return w->nkeep > 0 && bsearch(&id, w->keep, w->nkeep, sizeof(*w->keep), cmp_str) != NULL;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *p;

	if (n < *cap)
		return 0;
	p = reallocarray(*v, *cap ? *cap * 2 : 64, size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = *cap ? *cap * 2 : 64;
	return 0;
}

static void job_clear(struct job *j)
{
	for (size_t i = 0; i < j->narts; i++) {
		free(j->paths[i]);
		free(j->names[i]);
	}
	free(j->paths);
	free(j->names);
	free(j->arts);
	free(j->written);
}

int qsync_path(const char *cache_dir, int64_t db_id, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/query/%" PRId64 ".db", cache_dir, db_id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* ---- the walk over a table's visible extents ---- */

static bool cached(struct qsync *q, const struct proto_extent *x)
{
	for (size_t i = 0; i < x->nartifacts; i++)
		if (!cache_has(q->cache, x->artifacts[i].sha256, x->artifacts[i].size))
			return false;
	return true;
}

/* The schema x's artifacts were written with: its statistics list the
 * columns in order with their types (the current schema when x has none).
 * Names are borrowed from the table's columns, which outlive the walk (x's
 * do not); a column dropped since gets "", which maps to nothing. */
static int written(const struct store_entity *ent, const struct proto_extent *x, struct job *j)
{
	const struct proto_entity *e = &ent->e;
	size_t n = x->nstats ? x->nstats : e->ncolumns;

	if (!(j->written = calloc(n ? n : 1, sizeof(*j->written))))
		return -ENOMEM;
	j->nwritten = n;
	for (size_t i = 0; i < n; i++) {
		if (!x->nstats) {
			j->written[i] = e->columns[i];
			continue;
		}
		j->written[i] = (struct proto_column){(char *)"", x->stats[i].type};
		for (size_t k = 0; k < e->ncolumns; k++)
			if (strcmp(e->columns[k].name, x->stats[i].name) == 0)
				j->written[i].name = e->columns[k].name;
	}
	return 0;
}

static int job_fill(struct walk *w, const struct proto_extent *x, struct job *j)
{
	char path[4096];

	memcpy(j->id, x->id, sizeof(j->id));
	j->arts = calloc(x->nartifacts, sizeof(*j->arts));
	j->paths = calloc(x->nartifacts, sizeof(*j->paths));
	j->names = calloc(x->nartifacts, sizeof(*j->names));
	if (!j->arts || !j->paths || !j->names)
		return -ENOMEM;
	for (size_t i = 0; i < x->nartifacts; i++, j->narts++) {
		const struct proto_artifact *a = &x->artifacts[i];
		if (cache_path(w->q->cache, a->sha256, path, sizeof(path)) < 0 ||
		    !(j->paths[i] = strdup(path)) ||
		    asprintf(&j->names[i], "artifact %s (%s)", a->sha256, a->name ? a->name : "") <
		        0)
			return -ENOMEM;
		j->arts[i] = (struct qload_artifact){j->paths[i],           j->names[i], a->format,
		                                     a->compression,        NULL,        0,
		                                     a->ignore_first_record};
	}
	return written(w->ent, x, j);
}

static int on_extent(void *arg, int64_t id, const struct proto_extent *x)
{
	struct walk *w = arg;
	const struct qstore_index *e;
	int r;

	w->last = id;
	w->seen++;
	if (!proto_extent_typed(x) || !cached(w->q, x))
		return 0;
	if ((r = grow((void **)&w->keep, &w->capkeep, w->nkeep, sizeof(*w->keep))) < 0 ||
	    !(w->keep[w->nkeep] = strdup(x->id)))
		return -ENOMEM;
	w->nkeep++;
	if ((e = qstore_index_find(w->ix, w->nix, x->id)) != NULL && (e->loaded || e->error))
		return 0; /* loaded, or not queryable */
	if ((r = grow((void **)&w->jobs, &w->capjobs, w->njobs, sizeof(*w->jobs))) < 0)
		return r;
	memset(&w->jobs[w->njobs], 0, sizeof(*w->jobs));
	return job_fill(w, x, &w->jobs[w->njobs++]);
}

static int walk_set(struct walk *w, struct store *s, const char *config, enum store_extent_set set,
                    char *err)
{
	struct store_extent_query q = {.config = config,
	                               .table = w->ent->e.name,
	                               .from = INT64_MIN,
	                               .to = INT64_MAX,
	                               .limit = PAGE,
	                               .set = set};
	int r = 0;

	w->last = 0;
	do {
		w->seen = 0;
		q.after = w->last;
		r = store_extents(s, &q, on_extent, w, err);
	} while (r == 0 && w->seen == PAGE);
	return r == -ENOENT ? 0 : r;
}

/* The visible extents; while auto-prefetch holds a version back, those of
 * the applied version and those it dropped (still visible) instead: the
 * two sets are disjoint and hold every visible extent, so the pending
 * version loads before it is published (readers pick their version's
 * extents by rowid range: the others loaded beside are not seen). */
static int walk_table(struct walk *w, struct store *s, const struct store_db_info *db, char *err)
{
	int r;

	if (db->visible_version >= db->applied_version)
		r = walk_set(w, s, db->config, STORE_EXTENTS_VISIBLE, err);
	else if ((r = walk_set(w, s, db->config, STORE_EXTENTS_APPLIED, err)) == 0)
		r = walk_set(w, s, db->config, STORE_EXTENTS_HELD, err);
	if (w->nkeep > 0)
		qsort(w->keep, w->nkeep, sizeof(*w->keep), cmp_str);
	return r;
}

/* ---- loading and dropping ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void note_error(struct qsync *q, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note_error(struct qsync *q, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(q->run.last_error, sizeof(q->run.last_error), fmt, ap);
	va_end(ap);
	q->run.disk_full = r == -ENOSPC || r == -EDQUOT;
}

/* Loads one extent; a row that does not parse makes it not queryable, any
 * other failure (the disk, memory) is retried at the next pass. */
static int load_job(struct walk *w, const char *db, struct job *j)
{
	const struct proto_entity *e = &w->ent->e;
	struct qload_result res = {0};
	char err[QLOAD_ERRLEN], msg[QLOAD_ERRLEN + 256], qerr[QSTORE_ERRLEN];
	double t0 = now_s();
	int r;

	for (size_t i = 0; i < j->narts; i++) {
		j->arts[i].columns = j->written;
		j->arts[i].ncolumns = j->nwritten;
	}
	r = qload_extent(w->qs, e->name, j->id, e->columns, e->ncolumns, j->arts, j->narts, &res,
	                 err);
	if (r == 0) {
		w->q->run.loads++;
		w->q->run.loaded_rows += res.rows;
		w->q->run.rows_per_s = (double)res.rows / (now_s() - t0 + 1e-9);
		w->q->run.disk_full = false;
		return 0;
	}
	(void)snprintf(msg, sizeof(msg), "database '%s', table '%s', extent %s: %s", db, e->name,
	               j->id, err);
	w->q->run.load_errors++;
	note_error(w->q, r, "%s", msg);
	if (r == -EINVAL || r == -ERANGE || r == -EBADMSG || r == -E2BIG || r == -EFBIG)
		return qstore_error_set(w->qs, j->id, msg, qerr) < 0 ? -EIO : 0;
	w->q->retry = true;
	w->q->recheck = w->q->recheck || r == -EBUSY; /* another writer held it: again soon */
	return r == -ENOSPC || r == -EDQUOT || r == -ENOMEM ? r : 0;
}

struct dropper {
	struct qsync *q;
	struct walk *walks;
	size_t nwalks;
	char **gone;
	size_t ngone, cap;
};

static bool kept_anywhere(const struct dropper *d, const char *id)
{
	for (size_t i = 0; i < d->nwalks; i++)
		if (kept(&d->walks[i], id))
			return true;
	return false;
}

static int on_loaded(struct dropper *d, const struct qstore_index *e)
{
	if (!e->loaded || kept_anywhere(d, e->extent))
		return 0;
	if (grow((void **)&d->gone, &d->cap, d->ngone, sizeof(*d->gone)) < 0 ||
	    !(d->gone[d->ngone] = strdup(e->extent)))
		return -ENOMEM;
	d->ngone++;
	return 0;
}

/* Drops the extents loaded when the pass began that no walk keeps (not
 * visible, or not cached); those it loaded are kept. */
static int drop_unkept(struct qsync *q, struct qstore *qs, const struct qstore_index *ix,
                       size_t nix, struct walk *walks, size_t n)
{
	struct dropper d = {.q = q, .walks = walks, .nwalks = n};
	char err[QSTORE_ERRLEN];
	int r = 0;

	for (size_t i = 0; i < nix && r == 0; i++)
		r = on_loaded(&d, &ix[i]);

	for (size_t i = 0; i < d.ngone; i++) {
		if (r == 0 && (r = qstore_extent_drop(qs, d.gone[i], err)) == 0)
			q->run.drops++;
		free(d.gone[i]);
	}
	free(d.gone);
	if (r == 0 && d.ngone > 0)
		r = qstore_reclaim(qs, 0, err);
	return r;
}

static void walk_clear(struct walk *w)
{
	for (size_t i = 0; i < w->nkeep; i++)
		free(w->keep[i]);
	for (size_t i = 0; i < w->njobs; i++)
		job_clear(&w->jobs[i]);
	free(w->keep);
	free(w->jobs);
}

/* ---- one database ---- */

static struct qtable_count *table_count(struct qsync *q, const char *table)
{
	struct qtable_count *t;

	for (size_t i = 0; i < q->nrun_tables; i++) {
		t = &q->run_tables[i];
		if (strcmp(t->database, q->pass_db) == 0 && strcmp(t->table, table) == 0)
			return t;
	}
	if (grow((void **)&q->run_tables, &q->caprun, q->nrun_tables, sizeof(*t)) < 0)
		return NULL;
	t = &q->run_tables[q->nrun_tables];
	*t = (struct qtable_count){strdup(q->pass_db), strdup(table), 0, 0, 0};
	if (!t->database || !t->table) {
		free(t->database);
		free(t->table);
		return NULL;
	}
	q->nrun_tables++;
	return t;
}

static int count_loaded(void *arg, const struct qstore_extent *e)
{
	struct qsync *q = arg;
	struct qtable_count *t = table_count(q, e->table);

	q->run.extents++;
	q->run.rows += e->rows;
	q->run.bytes += e->bytes;
	if (!t)
		return -ENOMEM;
	t->extents++;
	t->rows += e->rows;
	t->bytes += e->bytes;
	return 0;
}

static void counts_free(struct qtable_count *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].database);
		free(v[i].table);
	}
	free(v);
}

static int count_error(void *arg, const char *extent, const char *error)
{
	((struct qsync_status *)arg)->not_queryable++;
	return 0;
}

static int sync_tables(struct qstore *qs, const struct store_entity *v, size_t n)
{
	char err[QSTORE_ERRLEN];
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		if (v[i].e.kind != PROTO_EXTERNAL_TABLE && v[i].e.ncolumns > 0)
			r = qstore_table_sync(qs, v[i].e.name, v[i].e.columns, v[i].e.ncolumns,
			                      NULL, err);
	return r;
}

static bool has_jobs(const struct walk *walks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (walks[i].njobs > 0)
			return true;
	return false;
}

/* Opens (creating) db's query store and makes its tables' schemas the
 * current ones. */
static int store_up(const char *path, const struct store_entity *v, size_t n, struct qstore **ret)
{
	char err[QSTORE_ERRLEN];
	int r = qstore_open(path, false, ret, err);

	return r < 0 ? r : sync_tables(*ret, v, n);
}

/* A database's query store exists once it has an extent to load: a
 * follower of opaque leaders has none, and no bytes in the cache for it.
 * Loads and drops are followed by a checkpoint that truncates the WAL, so
 * that the file's size is what the warmer counts at rest. */
static int db_walk(struct qsync *q, struct store *s, const struct store_db_info *db)
{
	struct store_entity *v = NULL;
	struct qstore_index *ix = NULL;
	struct walk *walks = NULL;
	struct qstore *qs = NULL;
	char path[4096], err[STORE_ERRLEN];
	size_t n = 0, nix = 0;
	int r;

	if ((r = qsync_path(q->cache_dir, db->id, path, sizeof(path))) < 0 ||
	    (r = store_entities(s, db->config, &v, &n, err)) < 0 ||
	    (access(path, F_OK) == 0 &&
	     ((r = store_up(path, v, n, &qs)) < 0 || (r = qstore_index(qs, &ix, &nix, err)) < 0)))
		goto out;
	if (!(walks = calloc(n ? n : 1, sizeof(*walks)))) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n && r == 0; i++) {
		walks[i] = (struct walk){.q = q, .ent = &v[i], .ix = ix, .nix = nix};
		if (v[i].e.kind != PROTO_EXTERNAL_TABLE)
			r = walk_table(&walks[i], s, db, err);
	}
	if (r < 0 || (!qs && !has_jobs(walks, n)) || (!qs && (r = store_up(path, v, n, &qs)) < 0))
		goto out;
	for (size_t i = 0; i < n && r == 0; i++) {
		walks[i].qs = qs;
		for (size_t k = 0; k < walks[i].njobs && r == 0; k++)
			r = load_job(&walks[i], db->local_name, &walks[i].jobs[k]);
	}
	if (r == 0)
		r = drop_unkept(q, qs, ix, nix, walks, n);
	if (r == 0 && !qstore_checkpoint(qs))
		q->retry = q->recheck = true;
	q->pass_db = db->local_name;
	if (r == 0)
		r = qstore_extents(qs, count_loaded, q, err);
	if (r == 0)
		r = qstore_errors(qs, count_error, &q->run, err);
out:
	for (size_t i = 0; walks && i < n; i++)
		walk_clear(&walks[i]);
	free(walks);
	free(ix);
	store_entities_free(v, n);
	qstore_free(qs);
	return r;
}

static struct memo *memo_of(struct qsync *q, int64_t id)
{
	for (size_t i = 0; i < q->nmemos; i++)
		if (q->memos[i].id == id)
			return &q->memos[i];
	return NULL;
}

static bool memo_fresh(const struct memo *m, const struct qsync *q, const struct store_db_info *db)
{
	return m != NULL && m->visible == db->visible_version &&
	       m->applied == db->applied_version && m->gen == q->pass_gen &&
	       strcmp(m->local_name, db->local_name) == 0;
}

/* Nothing changed for db since its last pass: its counts are carried over
 * (its tables' from the last pass's, which only this thread replaces). */
static int memo_reuse(struct qsync *q, const struct memo *m)
{
	q->run.extents += m->extents;
	q->run.rows += m->rows;
	q->run.bytes += m->bytes;
	q->run.not_queryable += m->not_queryable;
	q->pass_db = m->local_name;
	for (size_t i = 0; i < q->ntables; i++) {
		const struct qtable_count *o = &q->tables[i];
		struct qtable_count *t;

		if (strcmp(o->database, m->local_name) != 0)
			continue;
		if (!(t = table_count(q, o->table)))
			return -ENOMEM;
		t->extents = o->extents;
		t->rows = o->rows;
		t->bytes = o->bytes;
	}
	q->run.skipped++;
	return 0;
}

/* Remembers db's pass (its share of the totals: after minus before); a
 * database not remembered (out of memory) is walked at its next pass. */
static void memo_save(struct qsync *q, const struct store_db_info *db,
                      const struct qsync_status *before)
{
	struct memo *m = memo_of(q, db->id), *v;

	if (!m) {
		if (!(v = reallocarray(q->memos, q->nmemos + 1, sizeof(*v))))
			return;
		q->memos = v;
		m = &v[q->nmemos++];
		*m = (struct memo){.id = db->id};
	}
	free(m->local_name);
	if (!(m->local_name = strdup(db->local_name))) {
		*m = q->memos[--q->nmemos];
		return;
	}
	m->visible = db->visible_version;
	m->applied = db->applied_version;
	m->gen = q->pass_gen;
	m->extents = q->run.extents - before->extents;
	m->rows = q->run.rows - before->rows;
	m->bytes = q->run.bytes - before->bytes;
	m->not_queryable = q->run.not_queryable - before->not_queryable;
}

static void memo_forget(struct qsync *q, int64_t id)
{
	struct memo *m = memo_of(q, id);

	if (!m)
		return;
	free(m->local_name);
	*m = q->memos[--q->nmemos];
}

/* One database: walked when its versions or the cache changed since its
 * last pass, or that pass left a load to retry; else carried over. */
static int db_pass(struct qsync *q, struct store *s, const struct store_db_info *db)
{
	struct qsync_status before = q->run;
	struct memo *m = memo_of(q, db->id);
	int r;

	if (memo_fresh(m, q, db))
		return memo_reuse(q, m);
	q->retry = false;
	r = db_walk(q, s, db);
	if (r == -EBUSY) /* another writer held the store for longer than its timeout */
		q->recheck = true;
	if (r == 0 && !q->retry)
		memo_save(q, db, &before);
	else
		memo_forget(q, db->id);
	return r;
}

/* Removes the query stores of databases no longer followed (detached). */
static void remove_orphans(struct qsync *q, const struct store_db_info *dbs, size_t n)
{
	char dir[4096], path[4096 + 258];
	struct dirent *d;
	DIR *dp;

	(void)snprintf(dir, sizeof(dir), "%s/query", q->cache_dir);
	if (!(dp = opendir(dir)))
		return;
	while ((d = readdir(dp))) {
		char *end;
		long long id = strtoll(d->d_name, &end, 10);
		bool known = false;

		if (end == d->d_name || strncmp(end, ".db", 3) != 0)
			continue;
		for (size_t i = 0; i < n && !known; i++)
			known = dbs[i].id == id;
		(void)snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		if (!known && unlink(path) == 0)
			q->run.drops++;
	}
	closedir(dp);
}

/* ---- the thread ---- */

static void pass(struct qsync *q)
{
	struct store_db_info *dbs = NULL;
	struct store *s = NULL;
	char err[STORE_ERRLEN];
	size_t n = 0;
	double t0 = now_s();
	int r;

	q->run.extents = q->run.rows = q->run.bytes = q->run.not_queryable = 0;
	q->run.skipped = 0;
	if ((r = store_open_readonly(q->store_path, &s, err)) == 0 &&
	    (r = store_db_list(s, &dbs, &n, err)) == 0)
		for (size_t i = 0; i < n && r != -ENOSPC; i++)
			r = db_pass(q, s, &dbs[i]);
	if (s != NULL && r != -ENOSPC)
		remove_orphans(q, dbs, n);
	if (r < 0 && !q->run.last_error[0])
		note_error(q, r, "query store: %s", strerror(-r));
	store_db_info_array_free(dbs, n);
	store_free(s);
	q->run.passes++;
	q->run.pass_s = now_s() - t0;
}

/* A pass left a checkpoint to finish (a reader held its snapshot) or found
 * the store busy: the next pass comes at a kick or after RECHECK_MS,
 * whichever is first. */
static void recheck_wait(struct qsync *q)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += RECHECK_MS * 1000000L;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (!q->kicked && !q->stop && pthread_cond_timedwait(&q->cond, &q->mu, &until) == 0)
		;
}

static void *qsync_main(void *arg)
{
	struct qsync *q = arg;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->kicked && !q->stop && !q->recheck)
			pthread_cond_wait(&q->cond, &q->mu);
		if (q->recheck && !q->kicked && !q->stop)
			recheck_wait(q);
		if (q->stop)
			break;
		q->recheck = false;
		q->kicked = false;
		q->started++;
		q->pass_gen = q->gen;
		pthread_mutex_unlock(&q->mu);
		pass(q);
		pthread_mutex_lock(&q->mu);
		q->ended = q->started;
		pthread_cond_broadcast(&q->passed);
		q->st = q->run;
		counts_free(q->tables, q->ntables);
		q->tables = q->run_tables;
		q->ntables = q->nrun_tables;
		q->run_tables = NULL;
		q->nrun_tables = q->caprun = 0;
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static int make_dir(const char *cache_dir)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/query", cache_dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return mkdir(path, 0750) == 0 || errno == EEXIST ? 0 : -errno;
}

int qsync_new(const char *store_path, const char *cache_dir, struct qsync **ret)
{
	struct qsync *q = calloc(1, sizeof(*q));
	int r = -ENOMEM;

	if (!q || !(q->store_path = strdup(store_path)) || !(q->cache_dir = strdup(cache_dir)))
		goto fail;
	if ((r = make_dir(cache_dir)) < 0 || (r = cache_open(cache_dir, NULL, &q->cache)) < 0)
		goto fail;
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cond, NULL);
	pthread_cond_init(&q->passed, NULL);
	if ((r = -pthread_create(&q->thread, NULL, qsync_main, q)) < 0) {
		pthread_cond_destroy(&q->passed);
		pthread_cond_destroy(&q->cond);
		pthread_mutex_destroy(&q->mu);
		goto fail;
	}
	*ret = q;
	return 0;
fail:
	if (q) {
		cache_free(q->cache);
		free(q->store_path);
		free(q->cache_dir);
		free(q);
	}
	return r;
}

void qsync_free(struct qsync *q)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_signal(&q->cond);
	pthread_cond_broadcast(&q->passed);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	pthread_cond_destroy(&q->passed);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
	counts_free(q->tables, q->ntables);
	counts_free(q->run_tables, q->nrun_tables);
	for (size_t i = 0; i < q->nmemos; i++)
		free(q->memos[i].local_name);
	free(q->memos);
	cache_free(q->cache);
	free(q->store_path);
	free(q->cache_dir);
	free(q);
}

int qsync_tables(struct qsync *q,
                 int (*fn)(void *arg, const char *database, const char *table, uint64_t extents,
                           uint64_t rows, uint64_t bytes),
                 void *arg)
{
	int r = 0;

	pthread_mutex_lock(&q->mu);
	for (size_t i = 0; i < q->ntables && r == 0; i++)
		r = fn(arg, q->tables[i].database, q->tables[i].table, q->tables[i].extents,
		       q->tables[i].rows, q->tables[i].bytes);
	pthread_mutex_unlock(&q->mu);
	return r;
}

void qsync_kick(struct qsync *q)
{
	pthread_mutex_lock(&q->mu);
	q->kicked = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

void qsync_cache_changed(struct qsync *q)
{
	pthread_mutex_lock(&q->mu);
	q->gen++;
	q->kicked = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->mu);
}

bool qsync_wait(struct qsync *q, int timeout_ms)
{
	struct timespec until;
	uint64_t want;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&q->mu);
	/* a pass under way may have read the store before the caller looked */
	want = q->started + 1;
	q->gen++; /* the reader found work: every database is walked */
	q->kicked = true;
	pthread_cond_signal(&q->cond);
	while (q->ended < want && !q->stop &&
	       pthread_cond_timedwait(&q->passed, &q->mu, &until) == 0)
		;
	ok = q->ended >= want;
	pthread_mutex_unlock(&q->mu);
	return ok;
}

void qsync_status(struct qsync *q, struct qsync_status *ret)
{
	pthread_mutex_lock(&q->mu);
	*ret = q->st;
	pthread_mutex_unlock(&q->mu);
}

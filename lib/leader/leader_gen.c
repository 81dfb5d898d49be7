/*
 * leader_gen — synthetic databases for benchmarks and tests (see
 * leader_generate in leader.h).
 *
 * A generated database is written straight as one checkpoint at version 1
 * plus the head, never as a commit per extent: a million extents take one
 * pass.  Each extent has one small artifact of unique content; the artifacts
 * are written by several threads, each with its own connection to the
 * target, a batch at a time, while the main thread encodes the checkpoint.
 * Everything but the head goes under the new database's uuid, so nothing is
 * visible (and no lock is needed) until the head names it.
 */
#include "leader/leader_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

#define GEN_BATCH 10000
#define GEN_COLUMNS 3

struct gen_batch {
	const struct leader_generate_opts *o;
	uint64_t first; /* index of the batch's first extent in the whole run */
	size_t n;
	char (*ids)[PROTO_UUID_LEN + 1];
	char (*sha)[PROTO_SHA256_LEN + 1];
	uint64_t *sizes;                /* artifact sizes */
	int64_t base_time;              /* extent i is created at base_time + i s */
	struct leader_gen_typed *typed; /* typed extents only */
};

struct gen_worker {
	pthread_t thread;
	struct target *t;
	struct gen_batch *b;
	size_t index;
	size_t stride;
	int r;
	char err[LEADER_ERRLEN];
};

/* The content of extent i's artifact: its id and number, repeated. */
static void gen_content(const struct gen_batch *b, size_t i, char *buf, size_t size)
{
	char line[PROTO_UUID_LEN + 32];
	int n = snprintf(line, sizeof(line), "%s %llu\n", b->ids[i],
	                 (unsigned long long)(b->first + i));
	size_t at;

	for (at = 0; at < size; at += (size_t)n)
		memcpy(buf + at, line, size - at < (size_t)n ? size - at : (size_t)n);
}

/* The creation time of extent i of the run. */
static int64_t gen_time(const struct gen_batch *b, uint64_t i)
{
	return b->base_time + (int64_t)(i % (30 * 86400)) * TIMEFMT_TICKS_PER_SEC;
}

/* The bytes of extent i's artifact into *ret and *ret_len (w's buffers). */
static int gen_bytes(struct gen_worker *w, size_t i, struct leader_gen_buf *g, char **ret,
                     size_t *ret_len)
{
	const struct leader_generate_opts *o = w->b->o;
	uint64_t n = w->b->first + i;
	int r;

	if (!o->rows) {
		gen_content(w->b, i, g->data, o->artifact_size);
		*ret = g->data;
		*ret_len = o->artifact_size;
		return 0;
	}
	r = leader_gen_rows(n, o->rows, gen_time(w->b, n), 60 * TIMEFMT_TICKS_PER_SEC, o->gzip, g,
	                    &w->b->typed[i]);
	*ret = o->gzip ? g->z : g->data;
	*ret_len = o->gzip ? g->zlen : g->len;
	return r;
}

static void *gen_worker_main(void *arg)
{
	struct gen_worker *w = arg;
	struct leader_gen_buf g = {0};
	size_t size = w->b->o->artifact_size, len = 0, i;
	char *buf = NULL, path[128];

	if (!w->b->o->rows && !(g.data = malloc(size ? size : 1))) {
		w->r = -ENOMEM;
		(void)snprintf(w->err, sizeof(w->err), "out of memory");
		return NULL;
	}
	for (i = w->index; w->r == 0 && i < w->b->n; i += w->stride) {
		w->r = gen_bytes(w, i, &g, &buf, &len);
		if (w->r == 0)
			w->r = leader_sha256_hex(buf, len, w->b->sha[i]);
		if (w->r < 0) {
			(void)snprintf(w->err, sizeof(w->err), "out of memory");
			break;
		}
		w->b->sizes[i] = len;
		(void)proto_path_artifact(path, sizeof(path), w->b->sha[i]);
		w->r = target_put(w->t, path, buf, len, TARGET_PUT_NEW, NULL);
		if (w->r == -EEXIST)
			w->r = 0;
		if (w->r < 0)
			(void)snprintf(w->err, sizeof(w->err), "%s: %s", path, target_error(w->t));
	}
	leader_gen_buf_clear(&g);
	return NULL;
}

struct gen {
	struct leader *l;
	const struct leader_generate_opts *o;
	struct gen_worker *workers;
	size_t nworkers;
	struct gen_batch b;
	struct proto_extent *ext;
	struct proto_artifact *art;
	char (*paths)[PROTO_MAX_PATH];
	char artname[16];
	int64_t base_time;
};

static void gen_clear(struct gen *g)
{
	size_t i;

	for (i = 0; i < g->nworkers; i++)
		target_free(g->workers[i].t);
	free(g->workers);
	free(g->b.ids);
	free(g->b.sha);
	free(g->b.sizes);
	free(g->b.typed);
	free(g->ext);
	free(g->art);
	free(g->paths);
}

static int gen_init(struct gen *g, struct leader *l, const struct leader_generate_opts *o)
{
	size_t i;
	int r = 0;

	memset(g, 0, sizeof(*g));
	g->l = l;
	g->o = o;
	g->b.o = o;
	g->base_time = timefmt_now() - (int64_t)30 * 86400 * TIMEFMT_TICKS_PER_SEC;
	g->b.base_time = g->base_time;
	(void)snprintf(g->artname, sizeof(g->artname), "%s", o->gzip ? "data.csv.gz" : "data.csv");
	g->nworkers = o->threads ? o->threads : 4;
	g->workers = calloc(g->nworkers, sizeof(*g->workers));
	g->b.ids = calloc(GEN_BATCH, sizeof(*g->b.ids));
	g->b.sha = calloc(GEN_BATCH, sizeof(*g->b.sha));
	g->ext = calloc(GEN_BATCH, sizeof(*g->ext));
	g->art = calloc(GEN_BATCH, sizeof(*g->art));
	g->paths = calloc(GEN_BATCH, sizeof(*g->paths));
	g->b.sizes = calloc(GEN_BATCH, sizeof(*g->b.sizes));
	g->b.typed = o->rows ? calloc(GEN_BATCH, sizeof(*g->b.typed)) : NULL;
	if (!g->workers || !g->b.ids || !g->b.sha || !g->ext || !g->art || !g->paths ||
	    !g->b.sizes || (o->rows && !g->b.typed))
		return leader_fail(l, -ENOMEM, "out of memory");
	for (i = 0; r == 0 && i < g->nworkers; i++)
		r = leader_open_target(l, &g->workers[i].t, l->err, sizeof(l->err));
	return r;
}

/* Writes the artifacts of the batch [first, first + n) in parallel. */
static int gen_artifacts(struct gen *g, uint64_t first, size_t n)
{
	size_t i;
	int r = 0;

	g->b.first = first;
	g->b.n = n;
	for (i = 0; i < n && r == 0; i++)
		r = leader_new_uuid(g->b.ids[i]);
	if (r < 0)
		return leader_fail(g->l, r, "no random numbers for a uuid");
	for (i = 0; i < g->nworkers; i++) {
		struct gen_worker *w = &g->workers[i];

		w->b = &g->b;
		w->index = i;
		w->stride = g->nworkers;
		w->r = 0;
		if (pthread_create(&w->thread, NULL, gen_worker_main, w) != 0) {
			w->r = -EAGAIN;
			(void)snprintf(w->err, sizeof(w->err), "cannot start a thread");
			w->stride = 0; /* not started: not joined */
		}
	}
	for (i = 0; i < g->nworkers; i++) {
		if (g->workers[i].stride)
			(void)pthread_join(g->workers[i].thread, NULL);
		if (g->workers[i].r < 0 && r == 0)
			r = leader_fail(g->l, g->workers[i].r, "%s", g->workers[i].err);
	}
	return r;
}

/* Describes extent i of the batch (borrowing the batch's buffers). */
static void gen_extent(struct gen *g, size_t i, char *table)
{
	struct proto_extent *e = &g->ext[i];
	struct proto_artifact *a = &g->art[i];
	int64_t t = gen_time(&g->b, g->b.first + i);

	memset(e, 0, sizeof(*e));
	memcpy(e->id, g->b.ids[i], sizeof(e->id));
	e->table = table;
	e->min_created = t;
	e->max_created = t + 60 * TIMEFMT_TICKS_PER_SEC;
	e->rows = 1000;
	e->original_size = g->o->artifact_size * 4;
	e->compressed_size = g->b.sizes[i];
	e->artifacts = a;
	e->nartifacts = 1;
	memset(a, 0, sizeof(*a));
	a->name = g->artname;
	a->size = g->b.sizes[i];
	if (g->o->rows) {
		e->rows = g->o->rows;
		e->original_size = g->b.typed[i].original_size;
		e->stats = g->b.typed[i].stats;
		e->nstats = LEADER_GEN_LOG_COLUMNS;
		a->format = PROTO_FMT_CSV;
		a->compression = g->o->gzip ? PROTO_COMP_GZIP : PROTO_COMP_NONE;
	}
	memcpy(a->sha256, g->b.sha[i], sizeof(a->sha256));
	(void)proto_path_artifact(g->paths[i], sizeof(g->paths[i]), a->sha256);
	a->path = g->paths[i];
}

/* ---- a new database as one checkpoint ---- */

static int gen_tables(struct leader_ckpt *w, char (*names)[16], unsigned n, bool typed)
{
	char cname[GEN_COLUMNS][16] = {"Timestamp", "Message", "Value"};
	static const enum proto_coltype ctype[GEN_COLUMNS] = {PROTO_T_DATETIME, PROTO_T_STRING,
	                                                      PROTO_T_LONG};
	struct proto_column cols[GEN_COLUMNS], *use = cols;
	size_t ncols = typed ? LEADER_GEN_LOG_COLUMNS : GEN_COLUMNS;
	char empty[1] = "";
	unsigned i;
	int r = 0;

	for (i = 0; i < GEN_COLUMNS; i++) {
		cols[i].name = cname[i];
		cols[i].type = ctype[i];
	}
	if (typed)
		use = (struct proto_column *)leader_gen_log_columns;
	for (i = 0; r == 0 && i < n; i++) {
		struct proto_action a = {.op = PROTO_OP_CREATE};

		(void)snprintf(names[i], sizeof(names[i]), "T%04u", i);
		a.entity.kind = PROTO_TABLE;
		a.entity.name = names[i];
		a.entity.columns = use;
		a.entity.ncolumns = ncols;
		a.entity.folder = empty;
		a.entity.docstring = empty;
		r = leader_ckpt_record(w, &a);
	}
	return r;
}

static int gen_checkpoint_extents(struct gen *g, struct leader_ckpt *w, char (*names)[16])
{
	const struct leader_generate_opts *o = g->o;
	uint64_t first;
	int r = 0;

	for (first = 0; r == 0 && first < o->extents; first += GEN_BATCH) {
		size_t n =
		    o->extents - first < GEN_BATCH ? (size_t)(o->extents - first) : GEN_BATCH;
		size_t i;

		r = gen_artifacts(g, first, n);
		for (i = 0; r == 0 && i < n; i++)
			gen_extent(g, i, names[(first + i) * o->tables / o->extents]);
		for (i = 0; r == 0 && i < n; i += PROTO_MAX_LINE_EXTENTS) {
			struct proto_action a = {.op = PROTO_OP_ADD_EXTENTS};

			a.extents = g->ext + i;
			a.nextents =
			    n - i < PROTO_MAX_LINE_EXTENTS ? n - i : PROTO_MAX_LINE_EXTENTS;
			r = leader_ckpt_record(w, &a);
		}
	}
	return r;
}

/* Under the lock: the head names the new database. */
static int gen_publish(struct leader *l, const char *name, const char *uuid, int64_t committed)
{
	char etag[TARGET_ETAG_MAX] = "";
	struct proto_head *h = NULL;
	int r = leader_lock(l);

	if (r < 0)
		return r;
	r = leader_read_head_etag(l, &h, etag);
	if (r == 0 && leader_head_find(h, name))
		r = leader_fail(l, -EEXIST, "database '%s' already exists", name);
	if (r == 0 && leader_head_add_db(h, name, uuid, committed) < 0)
		r = leader_fail(l, -ENOMEM, "out of memory");
	if (r == 0) {
		h->dbs[h->ndbs - 1].checkpoint = 1;
		h->dbs[h->ndbs - 1].log_start = 2;
		r = leader_put_head(l, h, etag);
	}
	proto_head_free(h);
	leader_unlock(l);
	return r;
}

static int gen_new(struct leader *l, const struct leader_generate_opts *o)
{
	char uuid[PROTO_UUID_LEN + 1], (*names)[16] = NULL;
	struct proto_head *h = NULL;
	struct leader_ckpt w;
	struct gen g;
	int64_t committed = timefmt_now();
	int r = leader_read_head(l, &h);

	if (r == 0 && leader_head_find(h, o->database))
		r = leader_fail(l, -EEXIST, "database '%s' already exists", o->database);
	proto_head_free(h);
	if (r < 0)
		return r;
	if (o->tables == 0 || o->tables > 10000 || (o->extents && o->artifact_size == 0))
		return leader_fail(l, -EINVAL,
		                   "generate: 1 to 10000 tables and artifacts of at "
		                   "least one byte");
	if (leader_new_uuid(uuid) < 0)
		return leader_fail(l, -EIO, "no random numbers for a uuid");
	names = calloc(o->tables, sizeof(*names));
	if (!names)
		return leader_fail(l, -ENOMEM, "out of memory");
	leader_ckpt_init(&w, l, uuid, 1);
	r = gen_init(&g, l, o);
	if (r == 0)
		r = gen_tables(&w, names, o->tables, o->rows > 0);
	if (r == 0)
		r = gen_checkpoint_extents(&g, &w, names);
	if (r == 0)
		r = leader_ckpt_finish(&w, o->database, committed);
	if (r == 0)
		r = gen_publish(l, o->database, uuid, committed);
	leader_ckpt_clear(&w);
	gen_clear(&g);
	free(names);
	return r;
}

/* ---- one more commit of synthetic extents ---- */

struct gen_commit {
	struct gen *g;
	char **tables;
	size_t ntables;
	size_t captables;
};

/* Whether e has the columns of generated typed rows. */
static bool log_schema(const struct proto_entity *e)
{
	if (e->ncolumns != LEADER_GEN_LOG_COLUMNS)
		return false;
	for (size_t i = 0; i < e->ncolumns; i++)
		if (e->columns[i].type != leader_gen_log_columns[i].type ||
		    strcmp(e->columns[i].name, leader_gen_log_columns[i].name) != 0)
			return false;
	return true;
}

static int table_cb(const struct proto_entity *e, uint64_t nextents, void *arg)
{
	struct gen_commit *c = arg;

	if (e->kind != PROTO_TABLE || (c->g->o->rows && !log_schema(e)))
		return 0;
	if (c->ntables == c->captables) {
		size_t cap = c->captables ? c->captables * 2 : 16;
		char **v = realloc(c->tables, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->tables = v;
		c->captables = cap;
	}
	c->tables[c->ntables] = strdup(e->name);
	return c->tables[c->ntables++] ? 0 : -ENOMEM;
}

/* Builds one add_extents action from the prepared batch. */
static int gen_build(const struct leader_state *st, struct proto_commit *c, void *arg, char *err)
{
	struct gen_commit *gc = arg;
	struct gen *g = gc->g;
	struct proto_action a = {.op = PROTO_OP_ADD_EXTENTS};
	size_t i;
	int r = leader_state_foreach_entity(st, table_cb, gc);

	if (r < 0)
		return r;
	if (gc->ntables == 0) {
		(void)snprintf(err, LEADER_ERRLEN, "database %s has no table%s",
		               leader_state_database(st),
		               g->o->rows ? " with the generated log columns" : "");
		return -EINVAL;
	}
	a.extents = calloc(g->b.n, sizeof(*a.extents));
	if (!a.extents)
		return -ENOMEM;
	a.nextents = g->b.n;
	for (i = 0; r == 0 && i < g->b.n; i++) {
		gen_extent(g, i, gc->tables[i % gc->ntables]);
		r = proto_extent_copy(&a.extents[i], &g->ext[i]);
	}
	if (r == 0)
		r = leader_commit_add(c, &a);
	proto_action_clear(&a);
	return r;
}

static int gen_more(struct leader *l, const struct leader_generate_opts *o)
{
	struct gen g;
	struct gen_commit gc = {.g = &g};
	size_t i;
	int r;

	if (o->commit_extents > GEN_BATCH || o->artifact_size == 0)
		return leader_fail(l, -EINVAL, "generate: at most %d extents in one commit",
		                   GEN_BATCH);
	r = gen_init(&g, l, o);
	if (r == 0)
		r = gen_artifacts(&g, o->extents, (size_t)o->commit_extents);
	if (r == 0)
		r = leader_commit(l, o->database, gen_build, &gc, NULL);
	for (i = 0; i < gc.ntables; i++)
		free(gc.tables[i]);
	free(gc.tables);
	gen_clear(&g);
	return r;
}

int leader_generate(struct leader *l, const struct leader_generate_opts *o)
{
	int r = 0;

	if (!proto_valid_name(o->database))
		return leader_fail(l, -EINVAL, "'%s' is not a valid database name", o->database);
	if (o->tables || o->extents)
		r = gen_new(l, o);
	if (r == 0 && o->commit_extents)
		r = gen_more(l, o);
	return r;
}

/*
 * warm — keeps the artifact cache warm (see warm.h).
 *
 * Two halves.  The loop half owns the downloads in flight (struct dl) and
 * the scan scheduling; the worker half (one thread) owns its store handle
 * and does every blocking call.  They talk through jobs: the loop appends a
 * job to the worker's queue, the worker runs it and appends it to the done
 * list, writing the eventfd when that list was empty.
 */
#include "cache/warm.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "net/azure.h"
#include "cache/cache.h"
#include "conf/conf.h"
#include "net/fetch.h"
#include "policy/policy.h"
#include "util/pqueue.h"
#include "util/shamap.h"
#include "util/sinkpool.h"
#include "store/store.h"
#include "sync/sync.h"
#include "cache/warm_int.h"

#define TICKS_PER_S 10000000LL
#define EPOCH_TICKS 0LL /* ticks count from the Unix epoch */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 60000
/* Threads that write and hash download bodies, each its own sinkpool (a
 * stream's bytes must stay on one thread, in order).  SHA-256 runs at
 * ~1.7 GB/s on one core here: a single thread capped large downloads at
 * that whatever the network could do. */
#define WARM_SINKS 2
#define STORE_RETRIES 100 /* -EBUSY retries of a store write, 20 ms apart */

/* A download (loop side; the worker touches cw only inside its jobs). */
struct dl {
	struct shamap_node node;        /* keyed by sha, in warm's dlmap */
	struct pqueue_item qi;          /* its priority; in its host's queue until admitted */
	size_t host;                    /* index in warm's hosts */
	bool admitted;                  /* its .part file is (being) opened, its transfer queued */
	struct dl *run_next, *run_prev; /* warm's running, while admitted */
	struct warm *w;
	char sha[CACHE_SHA256_LEN + 1];
	uint64_t size;
	char *url, *account, *key, *db, *table;
	struct cache_writer *cw;
	uint64_t offset;
	struct fetch_job *job;
	struct sinkpool_stream *st; /* writes the body off the loop; NULL: on it */
	int fetch_r;                /* the transfer's result, while st drains */
	int r;                      /* the transfer's result, then the commit's */
	char extent[PROTO_UUID_LEN + 1];
	bool failed_before; /* counted in its database's failed */
	bool quarantined;   /* this commit quarantined it (worker sets, loop reports) */
};

/* A hot artifact the cache lacks, found by a scan. */
struct want {
	char sha[CACHE_SHA256_LEN + 1];
	uint64_t size;
	int priority;
	int64_t max_created;
	size_t st; /* index of the table's dbstat */
	char *url, *account, *key, *db, *table;
	char extent[PROTO_UUID_LEN + 1];
	bool failed_before;
	uint64_t qbytes; /* its share of its extent's query-store bytes */
};

/* A cached artifact a scan saw: hot (kept unless over the size limits) or
 * cold (removed unless another extent holds it hot). */
struct seen {
	char sha[CACHE_SHA256_LEN + 1];
	uint64_t size;
	int64_t max_created;
	size_t db;       /* index of the table's dbstat */
	uint64_t qbytes; /* its share of its extent's query-store bytes */
	bool settled;    /* its extent is loaded or never will be: evicting it loses no load */
};

#define NO_STAT SIZE_MAX /* a seen artifact no status counts (a held extent's) */

struct seenv {
	struct seen *v;
	size_t n, cap;
};

/* The counts of one table of a database; each database also has one entry
 * with table NULL (so a database without tables has a status). */
struct dbstat {
	char *db, *table;
	struct warm_status st;
};

enum jkind { J_SCAN, J_OPEN, J_COMMIT, J_CALL };

struct job {
	struct job *next;
	enum jkind kind;
	/* J_SCAN */
	struct conf_attach **att;
	size_t natt;
	struct want *want;
	size_t nwant, capwant;
	struct dbstat *st;
	size_t nst;
	int64_t next_change; /* ticks, POLICY_NEVER */
	int64_t unpin_ms;    /* monotonic ms the first pin that kept an artifact ends; 0: none */
	struct seenv hot, cold;
	uint64_t evicted, evicted_bytes;
	uint64_t used;       /* the cache's bytes after the scan, the query stores' included */
	struct warm_qdb qdb; /* the query store of the database being scanned */
	uint64_t qfile;      /* the query stores' bytes (files, WALs, -shm) */
	uint64_t qoverhead;  /* ...that no loaded extent accounts for */
	struct seenv kept;   /* cold artifacts kept a while after a read-through */
	uint64_t pinned;     /* bytes of cold artifacts requests wait for */
	int64_t recheck_ms;  /* a prefetch waits for loads: scan again in this many ms */
	uint64_t max_size, min_free; /* the limits as the scan was posted (a reload changes them) */
	bool published;   /* a version became visible: its dropped extents' artifacts go */
	bool unpublished; /* a publish failed (not -ESTALE): scan again later */
	/* J_OPEN, J_COMMIT */
	struct dl *dl;
	int r;
	/* J_CALL (warm_call_) */
	void (*call)(struct warm *w, void *arg);
	void (*called)(struct warm *w, void *arg);
	void *carg;
};

/* The downloads of one leader host (scheme://host:port) waiting for a
 * slot, and how many it has in flight. */
struct hostq {
	char *key;
	struct pqueue q;
	unsigned admitted;
};

struct warm {
	struct event_base *base;
	struct fetch *fetch;
	struct cache *cache;
	struct sinkpool *sinks[WARM_SINKS]; /* write and hash download bodies */
	unsigned next_sink;
	char *store_path;
	struct conf_attach **att; /* copies */
	size_t natt;
	uint64_t max_size, min_free;
	/* loop side */
	struct shamap *dlmap; /* the downloads wanted, by sha256: waiting (in their
	                       * host's queue) or admitted (in running) */
	struct dl *running;   /* the admitted ones (the status counts walk only these) */
	struct hostq *hosts;  /* never shrinks: a leader host or two each */
	size_t nhosts;
	uint64_t next_seq;                /* the queues' order among equals */
	unsigned admitted;                /* downloads in flight */
	unsigned admit_total, admit_host; /* how many may be, in all and per host */
	struct event *done_ev, *scan_timer;
	bool scanning, again;
	int64_t scan_at;  /* monotonic ms the pending scan is due */
	int64_t later_ms; /* a delayed scan asked for while scanning, 0: none */
	unsigned fail_rounds;
	bool round_failed;
	bool round_fetched; /* a download of this round was committed */
	struct dbstat *st;
	size_t nst;
	uint64_t scans;
	struct warm_totals totals;
	int64_t rate_ms[WARM_RATE_SAMPLES]; /* (monotonic ms, fetched bytes), a ring */
	uint64_t rate_bytes[WARM_RATE_SAMPLES];
	size_t rate_next;
	uint64_t used;      /* the cache's bytes as of the last scan, query stores included */
	uint64_t qbytes;    /* the query stores' bytes as of the last scan */
	struct warm_qs *qs; /* the worker's view of the query stores (warm_qs.c) */
	void (*changed)(void *arg); /* the cache's content changed (warm_set_changed) */
	void *changed_arg;
	uint64_t full_size; /* a download this big hit ENOSPC; 0: space is fine */
	void (*report)(void *arg, const struct warm_report *r);
	void *report_arg;
	/* the worker */
	pthread_t thread;
	bool started;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *in, *in_tail; /* FIFO: the worker takes it whole */
	struct job *out;          /* LIFO, reversed when taken */
	bool stop;
	struct store *ws;   /* the worker's store handle */
	bool reconciled;    /* worker only */
	struct warm_dm *dm; /* read-through (warm_demand.c) */
};

static int64_t now_ticks(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return EPOCH_TICKS + (int64_t)ts.tv_sec * TICKS_PER_S + ts.tv_nsec / 100;
}

static int64_t mono_ms(void);

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	(void)nanosleep(&ts, NULL);
}

/* ---- attaches ---- */

static void attaches_free(struct conf_attach **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		conf_attach_free(v[i]);
	free(v);
}

static int attaches_copy(struct conf_attach *const *v, size_t n, struct conf_attach ***ret)
{
	struct conf_attach **c = calloc(n + 1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (conf_attach_copy(v[i], &c[i]) < 0) {
			attaches_free(c, i);
			return -ENOMEM;
		}
	}
	*ret = c;
	return 0;
}

/* The attach of a store name: "NAME" or "NAME/LEADER_DB". */
static const struct conf_attach *attach_of(struct conf_attach **v, size_t n, const char *db)
{
	size_t len = strcspn(db, "/");

	for (size_t i = 0; i < n; i++)
		if (strlen(v[i]->name) == len && strncmp(v[i]->name, db, len) == 0)
			return v[i];
	return NULL;
}

/* ---- frees ---- */

static void want_clear(struct want *x)
{
	free(x->url);
	free(x->account);
	free(x->key);
	free(x->db);
	free(x->table);
}

static void dbstats_free(struct dbstat *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].db);
		free(v[i].table);
	}
	free(v);
}

static void job_free(struct job *j)
{
	if (j == NULL)
		return;
	attaches_free(j->att, j->natt);
	for (size_t i = 0; i < j->nwant; i++)
		want_clear(&j->want[i]);
	free(j->want);
	dbstats_free(j->st, j->nst);
	free(j->hot.v);
	free(j->cold.v);
	free(j->kept.v);
	warm_qdb_clear_(&j->qdb);
	free(j);
}

static void dl_free(struct dl *d)
{
	if (d == NULL)
		return;
	fetch_cancel(d->job);
	sinkpool_cancel(d->st); /* after it, no thread writes to d->cw */
	cache_writer_abort(d->cw, true);
	free(d->url);
	free(d->account);
	free(d->key);
	free(d->db);
	free(d->table);
	free(d);
}

/* ---- the worker ---- */

static int store_ready(struct warm *w)
{
	char err[STORE_ERRLEN];

	if (w->ws != NULL)
		return 0;
	return store_open(w->store_path, &w->ws, err);
}

/* Records n rows in one transaction. */
static int blobs_put(struct warm *w, const struct store_blob *v, size_t n)
{
	char err[STORE_ERRLEN];
	int r = 0;

	for (int i = 0; n > 0 && i < STORE_RETRIES; i++) {
		r = store_blobs_put(w->ws, v, n, err);
		if (r != -EBUSY)
			return r;
		sleep_ms(20);
	}
	return r;
}

static int blob_put(struct warm *w, const struct store_blob *b)
{
	return blobs_put(w, b, 1);
}

static int rec_known(void *arg, const char *sha, struct cache_known *ret)
{
	struct warm *w = arg;
	struct store_blob b;
	char err[STORE_ERRLEN];
	int r = store_blob_get(w->ws, sha, &b, err);

	if (r < 0)
		return r;
	ret->size = b.size;
	ret->cached = b.state == STORE_BLOB_CACHED;
	return 0;
}

static void rec_adopt(void *arg, const char *sha, uint64_t size)
{
	struct warm *w = arg;
	struct store_blob b = {.state = STORE_BLOB_CACHED, .size = size};

	(void)snprintf(b.sha256, sizeof(b.sha256), "%s", sha);
	(void)blob_put(w, &b);
}

static void rec_lost(void *arg, const char *sha, uint64_t size)
{
	struct warm *w = arg;
	struct store_blob b = {.state = STORE_BLOB_UNKNOWN, .size = size};

	(void)snprintf(b.sha256, sizeof(b.sha256), "%s", sha);
	(void)blob_put(w, &b);
}

/* Before the first scan: objects the store does not know (blob rows only:
 * a hot artifact never fetched has no row yet and is fetched again) go. */
static void reconcile(struct warm *w)
{
	struct cache_reconcile_ops ops = {
	    .arg = w, .known = rec_known, .lost = rec_lost, .adopt = rec_adopt};

	if (w->reconciled)
		return;
	w->reconciled = true;
	(void)cache_reconcile(w->cache, &ops, NULL);
}

/* A new status entry for table (NULL: the database's own) of db. */
static struct dbstat *scan_stat(struct job *j, const char *db, const char *table)
{
	struct dbstat *v = realloc(j->st, (j->nst + 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	j->st = v;
	v = &v[j->nst];
	memset(v, 0, sizeof(*v));
	v->db = strdup(db);
	v->table = table != NULL ? strdup(table) : NULL;
	j->nst++;
	return v->db != NULL && (table == NULL || v->table != NULL) ? v : NULL;
}

/* What a scan of one table needs while walking its extents. */
struct tscan {
	struct warm *w;
	struct job *j;
	const struct store_db_info *db;
	const struct conf_attach *a;
	const struct policy *p;
	const struct proto_extent *x; /* the extent being scanned */
	int64_t now;
	struct dbstat *st;
	char base[4096];
	int64_t last; /* the page cursor */
	size_t seen;  /* extents of this page */
	bool held;    /* walking the held extents: keep what is cached, want nothing */
};

static char *artifact_url(const struct tscan *t, const char *path)
{
	char url[8192], out[8192];
	const char *sas = t->a != NULL ? t->a->sas_token : NULL;
	int n = snprintf(url, sizeof(url), "%s/%s", t->base, path);

	if (n < 0 || (size_t)n >= sizeof(url))
		return NULL;
	if (sas == NULL)
		return strdup(url);
	if (sas[0] == '?')
		sas++;
	if (azure_sas_append(url, sas, out, sizeof(out)) < 0)
		return NULL;
	return strdup(out);
}

static int seen_add(struct seenv *v, const char *sha, uint64_t size, int64_t max_created)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		struct seen *nv = realloc(v->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	(void)snprintf(v->v[v->n].sha, sizeof(v->v[v->n].sha), "%s", sha);
	v->v[v->n].size = size;
	v->v[v->n].db = 0;
	v->v[v->n].qbytes = 0;
	v->v[v->n].settled = true;
	v->v[v->n++].max_created = max_created;
	return 0;
}

static int want_add(struct tscan *t, const struct proto_artifact *art, int64_t max_created,
                    bool failed_before, uint64_t qbytes)
{
	struct job *j = t->j;
	struct want *x;
	struct azure_url u;
	char err[256];

	if (j->nwant == j->capwant) {
		size_t cap = j->capwant ? j->capwant * 2 : 64;
		struct want *v = realloc(j->want, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		j->want = v;
		j->capwant = cap;
	}
	x = &j->want[j->nwant];
	memset(x, 0, sizeof(*x));
	(void)snprintf(x->sha, sizeof(x->sha), "%s", art->sha256);
	x->size = art->size;
	x->priority = (int)(max_created / (3600 * TICKS_PER_S));
	x->max_created = max_created;
	x->failed_before = failed_before;
	x->qbytes = qbytes;
	memcpy(x->extent, t->x->id, sizeof(x->extent));
	x->st = j->nst - 1;
	x->url = artifact_url(t, art->path);
	x->db = strdup(t->db->config);
	x->table = strdup(t->st->table);
	if (t->a != NULL && t->a->account_key != NULL &&
	    azure_url_parse(t->a->leader, &u, err, sizeof(err)) == 0) {
		x->account = strdup(u.account);
		x->key = strdup(t->a->account_key);
	}
	j->nwant++;
	return x->url != NULL && x->db != NULL && x->table != NULL ? 0 : -ENOMEM;
}

static int scan_artifact(struct tscan *t, const struct proto_artifact *art, int64_t max_created,
                         uint64_t qbytes)
{
	struct store_blob b;
	char err[STORE_ERRLEN];
	bool known = store_blob_get(t->w->ws, art->sha256, &b, err) == 0;

	t->st->st.hot_files++;
	t->st->st.hot_bytes += art->size;
	if (cache_has(t->w->cache, art->sha256, art->size)) {
		t->st->st.cached_files++;
		t->st->st.cached_bytes += art->size;
		if (!known || b.state != STORE_BLOB_CACHED) {
			/* verified earlier (a crash before the store's commit) */
			b = (struct store_blob){.state = STORE_BLOB_CACHED, .size = art->size};
			(void)snprintf(b.sha256, sizeof(b.sha256), "%s", art->sha256);
			(void)blob_put(t->w, &b);
		}
		if (seen_add(&t->j->hot, art->sha256, art->size, max_created) < 0)
			return -ENOMEM;
		t->j->hot.v[t->j->hot.n - 1].db = t->j->nst - 1;
		t->j->hot.v[t->j->hot.n - 1].qbytes = qbytes;
		return 0;
	}
	if (known && b.state == STORE_BLOB_QUARANTINED) {
		t->st->st.quarantined++;
		return 0;
	}
	if (known && b.fails > 0)
		t->st->st.failed++;
	return want_add(t, art, max_created, known && b.fails > 0, qbytes);
}

/* The query store's counts of a hot extent of the applied version. */
static void count_load(struct warm_status *st, const struct proto_extent *x, enum warm_qstate q,
                       bool cached)
{
	if (q == WARM_Q_NONE)
		return;
	st->load_extents++;
	st->load_rows += x->rows;
	if (q == WARM_Q_WAITING) {
		st->load_waiting += cached;
		return;
	}
	st->loaded_extents++;
	st->loaded_rows += x->rows;
	st->not_queryable += q == WARM_Q_ERROR;
}

static int scan_extent(void *arg, int64_t id, const struct proto_extent *x)
{
	struct tscan *t = arg;
	uint64_t cost, cached;
	enum warm_qstate q = warm_qs_extent_(t->w->qs, &t->j->qdb, x, &cost);
	int64_t next;
	int r;

	t->last = id;
	t->seen++;
	t->x = x;
	next = policy_next_change(t->p, x->min_created, x->max_created, t->now);
	if (next < t->j->next_change)
		t->j->next_change = next;
	if (t->held || !policy_is_hot(t->p, x->min_created, x->max_created, t->now)) {
		/* A held extent is still visible: hot, its cached artifacts stay. */
		struct seenv *v = policy_is_hot(t->p, x->min_created, x->max_created, t->now)
		                      ? &t->j->hot
		                      : &t->j->cold;

		for (size_t i = 0; i < x->nartifacts; i++) {
			const struct proto_artifact *a = &x->artifacts[i];

			if (!cache_has(t->w->cache, a->sha256, a->size))
				continue;
			if (seen_add(v, a->sha256, a->size, x->max_created) < 0)
				return -ENOMEM;
			v->v[v->n - 1].db = NO_STAT;
			v->v[v->n - 1].qbytes = warm_qs_share_(cost, x, i);
			v->v[v->n - 1].settled = q != WARM_Q_WAITING;
		}
		return 0;
	}
	cached = t->st->st.cached_files;
	for (size_t i = 0; i < x->nartifacts; i++) {
		r = scan_artifact(t, &x->artifacts[i], x->max_created, warm_qs_share_(cost, x, i));
		if (r < 0)
			return r;
	}
	count_load(&t->st->st, x, q, t->st->st.cached_files - cached == x->nartifacts);
	return 0;
}

static int scan_table(struct tscan *t, const struct store_entity *e)
{
	/* What is wanted is the applied version; a visible one still behind
	 * it (prefetch) also holds extents the applied version dropped. */
	struct store_extent_query q = {.config = t->db->config,
	                               .table = e->e.name,
	                               .from = INT64_MIN,
	                               .to = INT64_MAX,
	                               .limit = 1000,
	                               .set = t->held ? STORE_EXTENTS_HELD : STORE_EXTENTS_APPLIED};
	char err[STORE_ERRLEN];
	int r;

	/* Pages: the cursor is the last id seen. */
	do {
		t->seen = 0;
		q.after = t->last;
		r = store_extents(t->w->ws, &q, scan_extent, t, err);
	} while (r == 0 && t->seen == q.limit);
	t->last = 0;
	return r == -ENOENT ? 0 : r;
}

static void root_base(const char *root, char *buf, size_t len)
{
	size_t n;

	(void)snprintf(buf, len, "%s%s", root[0] == '/' ? "file://" : "", root);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '/')
		buf[--n] = '\0';
}

static int scan_db(struct warm *w, struct job *j, const struct store_db_info *db)
{
	struct tscan t = {.w = w, .j = j, .db = db, .now = now_ticks()};
	struct proto_caching ldb = {0}, fdb = {0}, ft;
	bool has_ldb = false, has_fdb = false, has_ret;
	struct proto_retention ret;
	struct store_entity *ents = NULL;
	size_t n = 0;
	char err[STORE_ERRLEN];
	int r;

	t.a = attach_of(j->att, j->natt, db->config);
	root_base(db->root, t.base, sizeof(t.base));
	if ((t.st = scan_stat(j, db->config, NULL)) == NULL)
		return -ENOMEM;
	warm_qdb_clear_(&j->qdb);
	(void)warm_qs_db_(w->qs, db->id, &j->qdb);
	t.st->st.query_bytes = j->qdb.file_bytes;
	j->qfile += j->qdb.file_bytes;
	if (j->qdb.file_bytes > j->qdb.loaded_bytes)
		j->qoverhead += j->qdb.file_bytes - j->qdb.loaded_bytes;
	r = store_db_policies(w->ws, db->config, &has_ldb, &ldb, &has_ret, &ret, err);
	if (r == 0 && t.a != NULL)
		r = policy_override_db(t.a, &fdb, &has_fdb);
	if (r == 0)
		r = store_entities(w->ws, db->config, &ents, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++) {
		struct policy *p = NULL;
		bool has_ft;

		if (ents[i].e.kind != PROTO_TABLE)
			continue;
		if ((t.st = scan_stat(j, db->config, ents[i].e.name)) == NULL) {
			r = -ENOMEM;
			break;
		}
		has_ft = t.a != NULL && policy_override_table(t.a, ents[i].e.name, &ft);
		r = policy_effective(
		    has_ldb ? &ldb : NULL, ents[i].has_caching ? &ents[i].caching : NULL,
		    has_fdb ? &fdb : NULL, has_ft ? &ft : NULL,
		    t.a != NULL ? t.a->caching_policies_modification_kind : CONF_MOD_UNION, &p);
		t.p = p;
		if (r == 0)
			r = scan_table(&t, &ents[i]);
		t.held = true;
		if (r == 0 && db->visible_version < db->applied_version)
			r = scan_table(&t, &ents[i]);
		t.held = false;
		policy_free(p);
	}
	store_entities_free(ents, n);
	if (has_ldb)
		proto_caching_clear(&ldb);
	if (has_fdb)
		proto_caching_clear(&fdb);
	return r;
}

/* ---- eviction (worker) ---- */

static int by_sha(const void *a, const void *b)
{
	return strcmp(((const struct seen *)a)->sha, ((const struct seen *)b)->sha);
}

static int by_newest(const void *a, const void *b)
{
	int64_t x = ((const struct seen *)a)->max_created,
	        y = ((const struct seen *)b)->max_created;

	return x < y ? 1 : x > y ? -1 : 0;
}

static int by_want_newest(const void *a, const void *b)
{
	int64_t x = ((const struct want *)a)->max_created,
	        y = ((const struct want *)b)->max_created;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* qsort, which must not see a NULL array even when empty. */
static void sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(v, n, size, cmp);
}

/* Removes an object, pinned or not, and records it as not cached. */
static void drop_object(struct warm *w, struct job *j, const char *sha, uint64_t size)
{
	struct store_blob b = {.state = STORE_BLOB_UNKNOWN, .size = size};

	if (cache_remove(w->cache, sha) < 0)
		return;
	(void)snprintf(b.sha256, sizeof(b.sha256), "%s", sha);
	(void)blob_put(w, &b);
	j->evicted++;
	j->evicted_bytes += size;
}

/* Removes an object unless it is pinned; returns its pin (0: removed). */
static int64_t forget(struct warm *w, struct job *j, const char *sha, uint64_t size)
{
	int64_t until = warm_dm_pin_until_(w->dm, sha);

	/* a pinned one goes at a scan after its pin (a waiter's commit ends a
	 * round, which scans anyway) */
	if (until != 0 && until != INT64_MAX && (j->unpin_ms == 0 || until < j->unpin_ms))
		j->unpin_ms = until;
	if (until == 0)
		drop_object(w, j, sha, size);
	return until;
}

/* Sorts v by sha256 and keeps one entry per sha256 (the newest). */
static void seen_unique(struct seenv *v)
{
	size_t n = 0;

	sort_n(v->v, v->n, sizeof(*v->v), by_sha);
	for (size_t i = 0; i < v->n; i++) {
		if (n > 0 && strcmp(v->v[n - 1].sha, v->v[i].sha) == 0) {
			if (v->v[i].max_created > v->v[n - 1].max_created)
				v->v[n - 1].max_created = v->v[i].max_created;
			if (v->v[n - 1].db == NO_STAT)
				v->v[n - 1].db = v->v[i].db;  /* a status counts it */
			v->v[n - 1].qbytes += v->v[i].qbytes; /* two extents loaded */
			v->v[n - 1].settled = v->v[n - 1].settled && v->v[i].settled;
			continue;
		}
		v->v[n++] = v->v[i];
	}
	v->n = n;
}

/* Cold artifacts no hot extent holds.  Those a read-through pinned stay
 * for now: kept (cache_demand_keep) ones are listed for evict_over, those
 * requests wait for counted as pinned. */
static int evict_cold(struct warm *w, struct job *j)
{
	seen_unique(&j->hot);
	seen_unique(&j->cold);
	for (size_t i = 0; i < j->cold.n; i++) {
		const struct seen *c = &j->cold.v[i];
		int64_t until;

		if (j->hot.n > 0 &&
		    bsearch(c, j->hot.v, j->hot.n, sizeof(*j->hot.v), by_sha) != NULL)
			continue;
		until = forget(w, j, c->sha, c->size);
		if (until == INT64_MAX)
			j->pinned += c->size + c->qbytes;
		else if (until != 0 && seen_add(&j->kept, c->sha, c->size, c->max_created) == 0) {
			j->kept.v[j->kept.n - 1].qbytes = c->qbytes;
			j->kept.v[j->kept.n - 1].settled = c->settled;
		} else if (until != 0)
			return -ENOMEM;
	}
	return 0;
}

static int unref_one(void *arg, const struct store_blob *b)
{
	return b->state == STORE_BLOB_CACHED ? seen_add(arg, b->sha256, b->size, 0) : 0;
}

/* Artifacts of dropped extents and detached databases. */
static int evict_unreferenced(struct warm *w, struct job *j)
{
	struct seenv v = {0};
	char err[STORE_ERRLEN];
	int r = store_blobs_unreferenced(w->ws, unref_one, &v, err);

	for (size_t i = 0; r == 0 && i < v.n; i++)
		(void)forget(w, j, v.v[i].sha, v.v[i].size);
	free(v.v);
	return r;
}

/* The bytes the cache and the query stores may hold together:
 * cache_max_size, and what keeps min_free_space free; UINT64_MAX when
 * neither applies. */
static uint64_t cache_limit(struct warm *w, const struct job *j)
{
	struct cache_usage u;
	uint64_t lim = j->max_size > 0 ? j->max_size : UINT64_MAX, avail, total, room;

	if (j->min_free == 0 || cache_usage(w->cache, &u) < 0 ||
	    cache_disk_space(w->cache, &avail, &total) < 0)
		return lim;
	room = u.bytes + j->qfile + avail;
	room = room > j->min_free ? room - j->min_free : 0;
	return room < lim ? room : lim;
}

static uint64_t seen_cost(const struct seen *s)
{
	return s->size + s->qbytes;
}

/* What stays whatever the hot artifacts do: the query stores' overhead,
 * the cold artifacts requests wait for, and the kept ones.  Over lim with
 * the hot ones, kept cold artifacts whose extents need no more loading go
 * first, the oldest first (qsync then drops their extents). */
static uint64_t evict_kept(struct warm *w, struct job *j, uint64_t lim)
{
	uint64_t base = j->qoverhead + j->pinned, need;

	for (size_t i = 0; i < j->kept.n; i++)
		base += seen_cost(&j->kept.v[i]);
	need = base;
	for (size_t i = 0; i < j->hot.n; i++)
		need += seen_cost(&j->hot.v[i]);
	sort_n(j->kept.v, j->kept.n, sizeof(*j->kept.v), by_newest);
	for (size_t i = j->kept.n; i-- > 0 && need > lim;) {
		if (!j->kept.v[i].settled)
			continue;
		drop_object(w, j, j->kept.v[i].sha, j->kept.v[i].size);
		need -= seen_cost(&j->kept.v[i]);
		base -= seen_cost(&j->kept.v[i]);
	}
	return base;
}

/* Over the limit: cold artifacts kept after a read-through go first, then
 * the oldest hot ones (with what their extents take in the query store),
 * and only the newest wants that fit are fetched. */
static void evict_over(struct warm *w, struct job *j)
{
	uint64_t lim = cache_limit(w, j), used;
	size_t h = 0, x = 0, n = 0;

	if (lim == UINT64_MAX)
		return;
	used = evict_kept(w, j, lim);
	sort_n(j->hot.v, j->hot.n, sizeof(*j->hot.v), by_newest);
	sort_n(j->want, j->nwant, sizeof(*j->want), by_want_newest);
	/* merge both by max_created, newest first: keep what fits */
	while (h < j->hot.n || x < j->nwant) {
		bool take_hot = x == j->nwant ||
		                (h < j->hot.n && j->hot.v[h].max_created >= j->want[x].max_created);

		if (take_hot) {
			if (used + seen_cost(&j->hot.v[h]) <= lim) {
				used += seen_cost(&j->hot.v[h]);
			} else {
				(void)forget(w, j, j->hot.v[h].sha, j->hot.v[h].size);
				if (j->hot.v[h].db != NO_STAT) {
					struct warm_status *st = &j->st[j->hot.v[h].db].st;

					st->cached_files--;
					st->cached_bytes -= j->hot.v[h].size;
					st->over_limit++;
				}
			}
			h++;
		} else if (used + j->want[x].size + j->want[x].qbytes <= lim) {
			used += j->want[x].size + j->want[x].qbytes;
			j->want[n++] = j->want[x++];
		} else {
			j->st[j->want[x].st].st.over_limit++;
			want_clear(&j->want[x++]);
		}
	}
	j->nwant = n;
}

/* Auto-prefetch waits for the loads of db's applied version: true while
 * its typed hot extents are cached and some are neither loaded nor found
 * not queryable, for at most WARM_LOAD_WAIT_MS (then it is published
 * anyway; a scan is due when the wait ends). */
static bool wait_loads(struct warm *w, struct job *j, const struct store_db_info *db,
                       uint64_t waiting)
{
	int64_t left;

	if (waiting == 0) {
		warm_qs_waited_(w->qs, db->config);
		return false;
	}
	left = warm_qs_wait_(w->qs, db->config, db->applied_version, mono_ms());
	if (left > 0 && (j->recheck_ms == 0 || left < j->recheck_ms))
		j->recheck_ms = left;
	return left > 0;
}

/* Auto-prefetch: makes the applied version of a database visible once
 * every hot artifact of it is cached and its typed hot extents are loaded
 * in the query store (or at once when its attach no longer asks for
 * prefetch).  A version applied since the scan read the database is
 * refused by the store (-ESTALE); the next scan decides for it. */
static void publish(struct warm *w, struct job *j, const struct store_db_info *db)
{
	const struct conf_attach *a = attach_of(j->att, j->natt, db->config);
	uint64_t hot = 0, cached = 0, waiting = 0;
	char err[STORE_ERRLEN];
	int r = -EBUSY;

	if (db->visible_version >= db->applied_version)
		return;
	for (size_t i = 0; i < j->nst; i++)
		if (strcmp(j->st[i].db, db->config) == 0) {
			hot += j->st[i].st.hot_files;
			cached += j->st[i].st.cached_files;
			waiting += j->st[i].st.load_waiting;
		}
	if (a != NULL && a->prefetch && (cached < hot || wait_loads(w, j, db, waiting)))
		return;
	warm_qs_waited_(w->qs, db->config);
	for (int i = 0; r == -EBUSY && i < STORE_RETRIES; i++) {
		if (i > 0)
			sleep_ms(20);
		r = store_db_publish(w->ws, db->config, db->applied_version, err);
	}
	j->published = j->published || r == 0;
	j->unpublished = j->unpublished || (r < 0 && r != -ESTALE);
}

static int run_scan(struct warm *w, struct job *j)
{
	struct cache_usage u;
	struct store_db_info *dbs = NULL;
	size_t n = 0;
	char err[STORE_ERRLEN];
	int r = store_ready(w);

	j->next_change = POLICY_NEVER;
	if (r < 0)
		return r;
	reconcile(w);
	r = store_db_list(w->ws, &dbs, &n, err);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = scan_db(w, j, &dbs[i]);
	warm_qdb_clear_(&j->qdb);
	warm_qs_scan_end_(w->qs);
	if (r == 0 && (r = evict_cold(w, j)) == 0) {
		evict_over(w, j);
		r = evict_unreferenced(w, j);
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		publish(w, j, &dbs[i]);
	store_db_info_array_free(dbs, n);
	if (r == 0 && cache_usage(w->cache, &u) == 0)
		j->used = u.bytes + j->qfile;
	return r;
}

/* Settles a finished download's file: committed (fsynced, renamed, the
 * directory fsynced) or aborted.  Fills *row with the blob row to record —
 * cached, or one more failure (quarantined at WARM_MAX_FAILS digest
 * failures) — and returns false when there is none to record. */
static bool commit_file(struct warm *w, struct dl *d, struct store_blob *row)
{
	struct store_blob b = {.state = STORE_BLOB_UNKNOWN, .size = d->size};
	char err[STORE_ERRLEN];

	if (d->r == 0)
		d->r = cache_writer_commit(d->cw);
	else /* keep what can resume: bytes of an artifact the leader still has */
		cache_writer_abort(d->cw, d->r != -ENOTSUP && d->r != -ENOENT &&
		                              cache_writer_offset(d->cw) > 0);
	d->cw = NULL;
	if (store_ready(w) < 0 || d->r == -ENOENT)
		return false;
	if (store_blob_get(w->ws, d->sha, &b, err) < 0)
		b = (struct store_blob){.state = STORE_BLOB_UNKNOWN, .size = d->size};
	(void)snprintf(b.sha256, sizeof(b.sha256), "%s", d->sha);
	b.size = d->size;
	if (d->r == 0) {
		b.state = STORE_BLOB_CACHED;
		b.fails = 0;
	} else {
		b.fails++;
		d->quarantined = d->r == -EBADMSG && b.fails >= WARM_MAX_FAILS &&
		                 b.state != STORE_BLOB_QUARANTINED;
		if (d->r == -EBADMSG && b.fails >= WARM_MAX_FAILS)
			b.state = STORE_BLOB_QUARANTINED;
	}
	*row = b;
	return true;
}

/* Fills *row with the blob row a download needs before its .part file
 * exists, so that the startup reconcile knows the file and keeps it to
 * resume; false when the blob has a row already. */
static bool open_row(struct warm *w, const struct dl *d, struct store_blob *row)
{
	struct store_blob b = {.state = STORE_BLOB_UNKNOWN, .size = d->size};
	char err[STORE_ERRLEN];

	if (store_ready(w) < 0 || store_blob_get(w->ws, d->sha, &b, err) == 0)
		return false;
	(void)snprintf(b.sha256, sizeof(b.sha256), "%s", d->sha);
	*row = b;
	return true;
}

static bool is_download_job(const struct job *j)
{
	return j->kind == J_OPEN || j->kind == J_COMMIT;
}

/* Runs a run of download jobs [first, end), ordered as each one needs: the
 * opens' rows before their .part files, the commits' files durable before
 * their rows.  The rows of the run share one transaction each way: with
 * one per row, a first warm of 10,000 small artifacts spent a quarter of
 * the worker's time committing SQLite transactions. */
static void run_downloads(struct warm *w, struct job *first, struct job *end)
{
	struct store_blob *rows;
	size_t n = 0, count = 0;
	struct job *j;

	for (j = first; j != end; j = j->next)
		count++;
	if ((rows = calloc(count, sizeof(*rows))) == NULL) {
		for (j = first; j != end; j = j->next)
			j->r = j->kind == J_OPEN ? -ENOMEM : j->r;
		return;
	}
	for (j = first; j != end; j = j->next)
		if (j->kind == J_OPEN && open_row(w, j->dl, &rows[n]))
			n++;
	(void)blobs_put(w, rows, n);
	for (j = first; j != end; j = j->next)
		if (j->kind == J_OPEN)
			j->r = cache_writer_open(w->cache, j->dl->sha, j->dl->size, CACHE_RESUME,
			                         &j->dl->cw, &j->dl->offset);
	n = 0;
	for (j = first; j != end; j = j->next)
		if (j->kind == J_COMMIT && commit_file(w, j->dl, &rows[n]))
			n++;
	(void)blobs_put(w, rows, n);
	free(rows);
}

static void run_job(struct warm *w, struct job *j)
{
	switch (j->kind) {
	case J_SCAN:
		j->r = run_scan(w, j);
		break;
	case J_OPEN:
	case J_COMMIT: /* run_jobs runs them in runs */
		break;
	case J_CALL:
		j->call(w, j->carg);
		break;
	}
}

static struct job *reverse(struct job *j)
{
	struct job *r = NULL, *next;

	for (; j != NULL; j = next) {
		next = j->next;
		j->next = r;
		r = j;
	}
	return r;
}

/* Runs the jobs of list in order, a run of download jobs at a time. */
static void run_jobs(struct warm *w, struct job *list)
{
	struct job *j = list, *end;

	while (j != NULL) {
		if (!is_download_job(j)) {
			run_job(w, j);
			j = j->next;
			continue;
		}
		for (end = j->next; end != NULL && is_download_job(end); end = end->next)
			;
		run_downloads(w, j, end);
		j = end;
	}
}

/* Takes every queued job at once: the jobs that queued while the worker was
 * busy run as one batch (a group commit). */
static void *worker_main(void *arg)
{
	struct warm *w = arg;
	struct job *list, *oldest;
	uint64_t one = 1;
	bool wake;

	(void)pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (w->in == NULL) {
			(void)pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		list = w->in;
		w->in = w->in_tail = NULL;
		(void)pthread_mutex_unlock(&w->mu);
		run_jobs(w, list);
		oldest = list;
		list = reverse(list); /* out is newest first */
		(void)pthread_mutex_lock(&w->mu);
		wake = w->out == NULL;
		oldest->next = w->out;
		w->out = list;
		if (wake && write(w->efd, &one, sizeof(one)) < 0)
			continue; /* the counter cannot overflow: the loop reads it */
	}
	(void)pthread_mutex_unlock(&w->mu);
	return NULL;
}

static void post(struct warm *w, struct job *j)
{
	j->next = NULL;
	(void)pthread_mutex_lock(&w->mu);
	if (w->in_tail != NULL)
		w->in_tail->next = j;
	else
		w->in = j;
	w->in_tail = j;
	(void)pthread_cond_signal(&w->cv);
	(void)pthread_mutex_unlock(&w->mu);
}

/* ---- the loop: scans ---- */

static int64_t mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Arms the scan timer delay_ms from now, unless a scan is due sooner. */
static void schedule_scan(struct warm *w, int64_t delay_ms)
{
	struct timeval tv = {delay_ms / 1000, (delay_ms % 1000) * 1000};
	int64_t at = mono_ms() + delay_ms;

	if (w->scanning) {
		/* after this scan: at once, or the earliest delay asked */
		if (delay_ms == 0)
			w->again = true;
		else if (w->later_ms == 0 || delay_ms < w->later_ms)
			w->later_ms = delay_ms;
		return;
	}
	if (evtimer_pending(w->scan_timer, NULL) && w->scan_at <= at)
		return;
	w->scan_at = at;
	(void)evtimer_add(w->scan_timer, &tv);
}

static void scan_timer(evutil_socket_t fd, short what, void *arg)
{
	struct warm *w = arg;
	struct job *j = calloc(1, sizeof(*j));

	(void)fd;
	(void)what;
	if (j == NULL || attaches_copy(w->att, w->natt, &j->att) < 0) {
		free(j);
		schedule_scan(w, BACKOFF_MIN_MS);
		return;
	}
	j->natt = w->natt;
	j->kind = J_SCAN;
	j->max_size = w->max_size;
	j->min_free = w->min_free;
	w->scanning = true;
	w->again = false;
	post(w, j);
}

static struct dl *dl_find(const struct warm *w, const char *sha)
{
	struct shamap_node *n = shamap_get(w->dlmap, sha);

	return n != NULL ? (struct dl *)((char *)n - offsetof(struct dl, node)) : NULL;
}

/* ---- the loop: admission ----
 *
 * A download holds its .part file open from the moment it is admitted, so
 * only a window of them is: twice the fetch limits, enough to keep every
 * transfer slot busy while the worker opens and commits files.  The rest
 * wait in their host's queue, newest first.  (Opening every wanted artifact
 * at once held one descriptor per artifact and delayed the first transfer
 * until all were open.) */

static int host_of(struct warm *w, const char *url, size_t *ret)
{
	const char *p = strstr(url, "://"), *end = p != NULL ? strchr(p + 3, '/') : NULL;
	size_t len = end != NULL ? (size_t)(end - url) : strlen(url);
	struct hostq *v;

	for (size_t i = 0; i < w->nhosts; i++)
		if (strncmp(w->hosts[i].key, url, len) == 0 && w->hosts[i].key[len] == '\0') {
			*ret = i;
			return 0;
		}
	if ((v = realloc(w->hosts, (w->nhosts + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	w->hosts = v;
	v[w->nhosts] = (struct hostq){.key = strndup(url, len)};
	if (v[w->nhosts].key == NULL)
		return -ENOMEM;
	*ret = w->nhosts++;
	return 0;
}

static struct dl *dl_of_item(struct pqueue_item *it)
{
	return (struct dl *)((char *)it - offsetof(struct dl, qi));
}

/* The host whose next download goes first, or NULL. */
static struct hostq *next_host(struct warm *w)
{
	struct hostq *best = NULL;

	for (size_t i = 0; i < w->nhosts; i++) {
		struct hostq *h = &w->hosts[i];
		struct pqueue_item *top = pqueue_top(&h->q);

		if (top == NULL || h->admitted >= w->admit_host)
			continue;
		if (best == NULL || pqueue_before(top, pqueue_top(&best->q)))
			best = h;
	}
	return best;
}

static void admit(struct warm *w)
{
	struct hostq *h;

	while (w->admitted < w->admit_total && (h = next_host(w)) != NULL) {
		struct dl *d = dl_of_item(pqueue_pop(&h->q));
		struct job *j = calloc(1, sizeof(*j));

		if (j == NULL) { /* back in the queue: the next ending retries */
			(void)pqueue_push(&h->q, &d->qi);
			return;
		}
		d->admitted = true;
		d->run_prev = NULL;
		d->run_next = w->running;
		if (w->running != NULL)
			w->running->run_prev = d;
		w->running = d;
		h->admitted++;
		w->admitted++;
		j->kind = J_OPEN;
		j->dl = d;
		post(w, j);
	}
}

/* The end of an admitted download: its slot goes to the next one. */
static void dl_finish(struct warm *w, struct dl *d)
{
	if (d->admitted) {
		w->hosts[d->host].admitted--;
		w->admitted--;
		if (d->run_prev != NULL)
			d->run_prev->run_next = d->run_next;
		else
			w->running = d->run_next;
		if (d->run_next != NULL)
			d->run_next->run_prev = d->run_prev;
	}
	shamap_del(w->dlmap, &d->node);
	dl_free(d);
	admit(w);
}

/* Queues x's download (x's strings become the download's), unless its
 * artifact is wanted already; admit() starts it. */
static void start_download(struct warm *w, struct want *x)
{
	struct dl *d;

	if (dl_find(w, x->sha) != NULL)
		return;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return;
	if (host_of(w, x->url, &d->host) < 0) {
		free(d);
		return;
	}
	d->w = w;
	memcpy(d->sha, x->sha, sizeof(d->sha));
	d->size = x->size;
	d->url = x->url;
	d->account = x->account;
	d->key = x->key;
	d->db = x->db;
	d->table = x->table;
	memcpy(d->extent, x->extent, sizeof(d->extent));
	d->failed_before = x->failed_before;
	x->url = x->account = x->key = x->db = x->table = NULL;
	d->qi.priority = x->priority;
	d->qi.seq = w->next_seq++;
	if (pqueue_push(&w->hosts[d->host].q, &d->qi) < 0) {
		dl_free(d);
		return;
	}
	d->node.key = d->sha;
	(void)shamap_add(w->dlmap, &d->node); /* dl_find said: new */
}

static void arm_next_change(struct warm *w, int64_t next)
{
	int64_t now = now_ticks(), ms;

	if (next == POLICY_NEVER)
		return;
	/* the change may have come while the scan ran (it read the clock when it
	 * started): then rescan now, or the extent stays hot until some other
	 * event */
	ms = next > now ? (next - now) / 10000 + 1 : 0;
	if (ms > 24LL * 3600 * 1000)
		ms = 24LL * 3600 * 1000;
	schedule_scan(w, ms);
}

static void scan_done(struct warm *w, struct job *j)
{
	w->scanning = false;
	w->scans++;
	if (j->r == 0) {
		w->used = j->used;
		w->qbytes = j->qfile;
		if (j->evicted > 0 && w->changed != NULL)
			w->changed(w->changed_arg);
		if (j->recheck_ms > 0)
			schedule_scan(w, j->recheck_ms);
		dbstats_free(w->st, w->nst);
		w->st = j->st;
		w->nst = j->nst;
		w->totals.evicted_files += j->evicted;
		w->totals.evicted_bytes += j->evicted_bytes;
		j->st = NULL;
		j->nst = 0;
		/* newest first: the fetch queue orders by priority anyway */
		for (size_t i = 0; i < j->nwant; i++)
			start_download(w, &j->want[i]);
		admit(w);
		arm_next_change(w, j->next_change);
		if (j->unpin_ms > 0)
			schedule_scan(w, j->unpin_ms > mono_ms() ? j->unpin_ms - mono_ms() + 1 : 0);
	} else {
		w->round_failed = true;
	}
	if (w->again || j->published)
		schedule_scan(w, 0);
	else if (j->r < 0 || j->unpublished)
		schedule_scan(w, BACKOFF_MIN_MS);
	if (w->later_ms > 0)
		schedule_scan(w, w->later_ms);
	w->later_ms = 0;
}

/* ---- the loop: downloads ---- */

static int dl_start(struct fetch_job *job, void *arg)
{
	struct dl *d = arg;
	char date[AZURE_DATE_LEN], auth[AZURE_AUTH_MAX], line[AZURE_AUTH_MAX + 64];
	struct azure_header h[2];
	int r;

	if (d->key == NULL)
		return 0;
	azure_format_date(time(NULL), date);
	h[0] = (struct azure_header){"x-ms-date", date};
	h[1] = (struct azure_header){"x-ms-version", AZURE_API_VERSION};
	r = azure_sign_shared_key(d->account, d->key, "GET", d->url, h, 2, auth, sizeof(auth));
	if (r < 0)
		return r;
	(void)snprintf(line, sizeof(line), "x-ms-date: %s", date);
	if ((r = fetch_job_add_header(job, line)) < 0)
		return r;
	(void)snprintf(line, sizeof(line), "x-ms-version: %s", AZURE_API_VERSION);
	if ((r = fetch_job_add_header(job, line)) < 0)
		return r;
	(void)snprintf(line, sizeof(line), "Authorization: %s", auth);
	return fetch_job_add_header(job, line);
}

/* On the loop: hand the bytes to the sink thread; a full queue pauses the
 * transfer until dl_resume. */
static int dl_data(const void *buf, size_t len, void *arg)
{
	struct dl *d = arg;
	int r;

	if (d->st == NULL)
		return cache_writer_sink(buf, len, d->cw);
	r = sinkpool_push(d->st, buf, len);
	return r == -EAGAIN ? FETCH_PAUSE : r;
}

/* On the sink thread. */
static int dl_write(const void *buf, size_t len, void *arg)
{
	struct dl *d = arg;

	return cache_writer_write(d->cw, buf, len);
}

static void dl_resume(void *arg)
{
	struct dl *d = arg;

	fetch_resume(d->job);
}

static void post_commit(struct warm *w, struct dl *d, int r)
{
	struct job *j = calloc(1, sizeof(*j));

	d->r = r;
	if (j == NULL) {
		warm_dm_settle_(w->dm, d->sha, -ENOMEM, false);
		dl_finish(w, d);
		return;
	}
	j->kind = J_COMMIT;
	j->dl = d;
	post(w, j);
}

/* Every byte of the body is written: commit.  A write error wins over the
 * transfer's (which may only say that the sink refused). */
static void dl_flushed(int r, void *arg)
{
	struct dl *d = arg;

	d->st = NULL; /* freed when this returns */
	post_commit(d->w, d, r != 0 ? r : d->fetch_r);
}

static void dl_done(struct fetch_result *res, void *arg)
{
	struct dl *d = arg;

	d->job = NULL;
	warm_dm_transfer_(d->w->dm, d->sha, res);
	if (d->st == NULL) {
		post_commit(d->w, d, res->result);
		return;
	}
	/* commit once the queued bytes are written */
	d->fetch_r = res->result;
	if (sinkpool_finish(d->st) == 0)
		return;
	sinkpool_cancel(d->st);
	d->st = NULL;
	post_commit(d->w, d, -ENOMEM);
}

/* file:// is read within one libcurl call and cannot pause: write it on the
 * loop (which libcurl blocks for the whole file anyway). */
static int dl_sink_open(struct warm *w, struct dl *d)
{
	struct sinkpool_stream_ops ops = {dl_write, dl_flushed, dl_resume, d};

	if (strncasecmp(d->url, "file:", 5) == 0)
		return 0;
	d->st = sinkpool_open(w->sinks[w->next_sink++ % WARM_SINKS], &ops);
	return d->st != NULL ? 0 : -ENOMEM;
}

static void emit(struct warm *w, enum warm_report_kind kind, const struct dl *d)
{
	struct warm_report r = {kind, d->db, d->extent, d->sha, d->url, d->r};

	if (w->report != NULL)
		w->report(w->report_arg, &r);
}

/* Keeps the database's counts current between scans (followerctl warm
 * watches them) and reports quarantine and disk space. */
static void note_result(struct warm *w, struct dl *d)
{
	struct dbstat *s = NULL;

	for (size_t i = 0; i < w->nst && s == NULL; i++)
		s = strcmp(w->st[i].db, d->db) == 0 && w->st[i].table != NULL && d->table != NULL &&
		            strcmp(w->st[i].table, d->table) == 0
		        ? &w->st[i]
		        : NULL;
	if (s != NULL && d->r == 0) {
		s->st.cached_files++;
		s->st.cached_bytes += d->size;
		s->st.failed -= d->failed_before && s->st.failed > 0;
		w->used += d->size;
	} else if (s != NULL && d->r != -ENOENT && d->r != -EEXIST && d->r != -EBUSY &&
	           !d->failed_before) {
		s->st.failed++;
	}
	if (d->quarantined)
		emit(w, WARM_REPORT_QUARANTINED, d);
	/* space is back when a download at least as big as the one that
	 * failed fits (smaller ones may slip through a full disk) */
	if ((d->r == -ENOSPC || d->r == -EDQUOT) && w->full_size == 0)
		emit(w, WARM_REPORT_DISK_FULL, d);
	else if (d->r == 0 && w->full_size > 0 && d->size >= w->full_size)
		emit(w, WARM_REPORT_DISK_OK, d);
	if (d->r == -ENOSPC || d->r == -EDQUOT)
		w->full_size = d->size > 0 ? d->size : 1;
	else if (d->r == 0 && d->size >= w->full_size)
		w->full_size = 0;
}

static void open_done(struct warm *w, struct job *j)
{
	struct dl *d = j->dl;
	struct fetch_request req = {
	    .url = d->url,
	    .range_start = d->offset,
	    .max_bytes = d->size - d->offset,
	    .priority = d->qi.priority,
	    .on_start = dl_start,
	    .on_data = dl_data,
	    .on_done = dl_done,
	    .arg = d,
	};

	if (j->r < 0) {
		/* -EEXIST: cached meanwhile; -EBUSY: another writer; else retry later */
		if (j->r != -EEXIST)
			w->round_failed = true;
		d->r = j->r;
		note_result(w, d);
		warm_dm_settle_(w->dm, d->sha, j->r == -EEXIST ? 0 : j->r, true);
		dl_finish(w, d);
		return;
	}
	if (d->offset == d->size || d->size == 0) {
		post_commit(w, d, 0);
		return;
	}
	if (dl_sink_open(w, d) < 0) {
		post_commit(w, d, -ENOMEM);
		return;
	}
	if (fetch_get(w->fetch, &req, &d->job) < 0) {
		sinkpool_cancel(d->st);
		d->st = NULL;
		post_commit(w, d, -EIO);
	}
}

/* The totals, and a sample for the rate at most once a second. */
static void count_download(struct warm *w, const struct dl *d)
{
	size_t last = (w->rate_next + WARM_RATE_SAMPLES - 1) % WARM_RATE_SAMPLES;
	int64_t now = mono_ms();

	if (d->r != 0) {
		w->totals.failed_downloads++;
		return;
	}
	w->totals.fetched_files++;
	w->totals.fetched_bytes += d->size - d->offset;
	if (w->changed != NULL)
		w->changed(w->changed_arg);
	if (w->rate_ms[last] != 0 && now - w->rate_ms[last] < 1000) {
		w->rate_bytes[last] = w->totals.fetched_bytes;
		return;
	}
	w->rate_ms[w->rate_next] = now;
	w->rate_bytes[w->rate_next] = w->totals.fetched_bytes;
	w->rate_next = (w->rate_next + 1) % WARM_RATE_SAMPLES;
}

static void commit_done(struct warm *w, struct job *j)
{
	struct dl *d = j->dl;

	/* a 404 is retried too, but not counted against the artifact: the
	 * leader may have dropped the extent, and the next scan will not want
	 * it any more */
	if (d->r != 0)
		w->round_failed = true;
	count_download(w, d);
	w->round_fetched = w->round_fetched || d->r == 0;
	note_result(w, d);
	warm_dm_settle_(w->dm, d->sha, d->r, false);
	dl_finish(w, d);
	if (shamap_count(w->dlmap) > 0)
		return;
	/* a round is over: retry what failed with backoff */
	if (w->round_failed) {
		int64_t ms = BACKOFF_MIN_MS << (w->fail_rounds < 7 ? w->fail_rounds : 7);

		w->fail_rounds++;
		w->round_failed = false;
		schedule_scan(w, ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS);
	} else {
		w->fail_rounds = 0;
		/* the size limits and the status counts come from scans */
		if (w->round_fetched)
			schedule_scan(w, 0);
	}
	w->round_fetched = false;
}

static void on_done_ev(evutil_socket_t fd, short what, void *arg)
{
	struct warm *w = arg;
	struct job *list, *next;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	(void)pthread_mutex_lock(&w->mu);
	list = reverse(w->out);
	w->out = NULL;
	(void)pthread_mutex_unlock(&w->mu);
	for (; list != NULL; list = next) {
		next = list->next;
		if (list->kind == J_SCAN)
			scan_done(w, list);
		else if (list->kind == J_OPEN)
			open_done(w, list);
		else if (list->kind == J_COMMIT)
			commit_done(w, list);
		else
			list->called(w, list->carg);
		job_free(list);
	}
}

/* ---- life ---- */

static int64_t keep_ms(const struct conf *conf)
{
	return conf->cache_demand_keep / (TICKS_PER_S / 1000);
}

static int warm_init(struct warm *w, const struct conf *conf, const char *store_path)
{
	int r;

	w->efd = -1;
	if (pthread_mutex_init(&w->mu, NULL) != 0)
		return -ENOMEM;
	if (pthread_cond_init(&w->cv, NULL) != 0)
		return -ENOMEM;
	if ((w->store_path = strdup(store_path)) == NULL)
		return -ENOMEM;
	if ((r = shamap_new(&w->dlmap)) < 0)
		return r;
	if ((r = cache_open(conf->cache_dir, NULL, &w->cache)) < 0)
		return r;
	for (size_t i = 0; i < WARM_SINKS; i++)
		if ((r = sinkpool_new(w->base, 0, &w->sinks[i])) < 0)
			return r;
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	w->done_ev = event_new(w->base, w->efd, EV_READ | EV_PERSIST, on_done_ev, w);
	w->scan_timer = evtimer_new(w->base, scan_timer, w);
	if (w->done_ev == NULL || w->scan_timer == NULL || event_add(w->done_ev, NULL) < 0)
		return -ENOMEM;
	if ((r = attaches_copy(conf->attach, conf->nattach, &w->att)) < 0)
		return r;
	w->natt = conf->nattach;
	if ((r = warm_qs_new_(conf->cache_dir, &w->qs)) < 0)
		return r;
	if ((r = warm_dm_new_(w, (unsigned)conf->cache_demand_concurrency, keep_ms(conf), &w->dm)) <
	    0)
		return r;
	if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
		return -EAGAIN;
	w->started = true;
	return 0;
}

/* The admission window: twice the fetch limits (see admit). */
static void set_window(struct warm *w, const struct conf *conf)
{
	w->admit_total = 8 * (unsigned)(conf->fetch_concurrency > 0 ? conf->fetch_concurrency : 1);
	w->admit_host = 8 * (unsigned)(conf->fetch_concurrency_per_leader > 0
	                                   ? conf->fetch_concurrency_per_leader
	                                   : 1);
}

int warm_new(struct event_base *base, struct fetch *fetch, const struct conf *conf,
             const char *store_path, struct warm **ret, char *err)
{
	struct warm *w = calloc(1, sizeof(*w));
	int r;

	if (w == NULL) {
		(void)snprintf(err, WARM_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	w->base = base;
	w->fetch = fetch;
	w->max_size = conf->cache_max_size;
	w->min_free = conf->min_free_space;
	set_window(w, conf);
	r = warm_init(w, conf, store_path);
	if (r < 0) {
		(void)snprintf(err, WARM_ERRLEN, "cache %s: %s", conf->cache_dir, strerror(-r));
		warm_free(w);
		return r;
	}
	schedule_scan(w, 0);
	*ret = w;
	return 0;
}

void warm_free(struct warm *w)
{
	struct job *j, *next;

	if (w == NULL)
		return;
	if (w->started) {
		(void)pthread_mutex_lock(&w->mu);
		w->stop = true;
		(void)pthread_cond_signal(&w->cv);
		(void)pthread_mutex_unlock(&w->mu);
		(void)pthread_join(w->thread, NULL);
	}
	/* jobs not run or not drained; their downloads are running or queued */
	for (j = w->in; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	for (j = w->out; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	while (w->running != NULL) {
		struct dl *d = w->running;

		w->running = d->run_next;
		dl_free(d);
	}
	for (size_t i = 0; i < w->nhosts; i++) {
		struct pqueue_item *it;

		while ((it = pqueue_pop(&w->hosts[i].q)) != NULL)
			dl_free(dl_of_item(it));
		free(w->hosts[i].key);
		pqueue_clear(&w->hosts[i].q);
	}
	shamap_free(w->dlmap);
	free(w->hosts);
	for (size_t i = 0; i < WARM_SINKS; i++)
		sinkpool_free(w->sinks[i]); /* every stream went with its download */
	if (w->done_ev != NULL)
		event_free(w->done_ev);
	if (w->scan_timer != NULL)
		event_free(w->scan_timer);
	if (w->efd >= 0)
		(void)close(w->efd);
	warm_dm_free_(w->dm);
	warm_qs_free_(w->qs);
	store_free(w->ws);
	cache_free(w->cache);
	attaches_free(w->att, w->natt);
	dbstats_free(w->st, w->nst);
	free(w->store_path);
	(void)pthread_mutex_destroy(&w->mu);
	(void)pthread_cond_destroy(&w->cv);
	free(w);
}

int warm_set_conf(struct warm *w, const struct conf *conf)
{
	struct conf_attach **c;
	int r = attaches_copy(conf->attach, conf->nattach, &c);

	if (r < 0)
		return r;
	attaches_free(w->att, w->natt);
	w->att = c;
	w->natt = conf->nattach;
	w->max_size = conf->cache_max_size;
	w->min_free = conf->min_free_space;
	set_window(w, conf);
	admit(w);
	warm_dm_set_conf_(w->dm, (unsigned)conf->cache_demand_concurrency, keep_ms(conf));
	schedule_scan(w, 0);
	return 0;
}

void warm_changed(struct warm *w, const struct sync_change *c)
{
	(void)c;
	schedule_scan(w, 0);
}

static uint64_t sub(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

static void status_add(struct warm_status *a, const struct warm_status *b)
{
	a->hot_files += b->hot_files;
	a->hot_bytes += b->hot_bytes;
	a->cached_files += b->cached_files;
	a->cached_bytes += b->cached_bytes;
	a->failed += b->failed;
	a->quarantined += b->quarantined;
	a->over_limit += b->over_limit;
	a->load_extents += b->load_extents;
	a->loaded_extents += b->loaded_extents;
	a->load_rows += b->load_rows;
	a->loaded_rows += b->loaded_rows;
	a->load_waiting += b->load_waiting;
	a->not_queryable += b->not_queryable;
	a->query_bytes += b->query_bytes;
}

/* The live counts of st's entry: downloads in flight, and what is left.
 * Walks the admitted downloads only (the window), not every waiting one: a
 * status asked per table while a million artifacts wait would stall the
 * loop. */
static void status_live(const struct warm *w, const struct dbstat *e, struct warm_status *st)
{
	st->in_flight = 0;
	for (const struct dl *d = w->running; d != NULL; d = d->run_next)
		st->in_flight += strcmp(d->db, e->db) == 0 &&
		                 (e->table == NULL || strcmp(d->table, e->table) == 0);
	st->pending =
	    sub(st->hot_files, st->cached_files + st->quarantined + st->over_limit + st->in_flight);
}

int warm_status(struct warm *w, const char *database, struct warm_status *ret)
{
	struct warm_status st = {0};
	const struct dbstat *own = NULL;

	for (size_t i = 0; i < w->nst; i++) {
		if (strcmp(w->st[i].db, database) != 0)
			continue;
		if (w->st[i].table == NULL)
			own = &w->st[i];
		status_add(&st, &w->st[i].st);
	}
	if (own == NULL)
		return -ENOENT;
	status_live(w, own, &st);
	*ret = st;
	return 0;
}

int warm_table_status(struct warm *w, const char *database,
                      int (*fn)(void *arg, const char *table, const struct warm_status *st),
                      void *arg)
{
	bool found = false;
	int r;

	for (size_t i = 0; i < w->nst; i++) {
		struct warm_status st;

		if (strcmp(w->st[i].db, database) != 0)
			continue;
		found = true;
		if (w->st[i].table == NULL)
			continue;
		st = w->st[i].st;
		status_live(w, &w->st[i], &st);
		if ((r = fn(arg, w->st[i].table, &st)) != 0)
			return r;
	}
	return found ? 0 : -ENOENT;
}

void warm_totals(struct warm *w, struct warm_totals *ret)
{
	size_t last = (w->rate_next + WARM_RATE_SAMPLES - 1) % WARM_RATE_SAMPLES;
	int64_t now = mono_ms();

	*ret = w->totals;
	ret->bytes_per_s = 0;
	/* the oldest sample of the last WARM_RATE_WINDOW_MS, against now */
	for (size_t k = 1; k <= WARM_RATE_SAMPLES; k++) {
		size_t i = (last + k) % WARM_RATE_SAMPLES;

		if (w->rate_ms[i] == 0 || now - w->rate_ms[i] > WARM_RATE_WINDOW_MS)
			continue;
		if (now - w->rate_ms[i] >= 1000)
			ret->bytes_per_s = (double)(w->totals.fetched_bytes - w->rate_bytes[i]) *
			                   1000.0 / (double)(now - w->rate_ms[i]);
		break;
	}
}

uint64_t warm_scans(const struct warm *w)
{
	return w->scans;
}

void warm_status_total(const struct warm *w, struct warm_status *ret)
{
	struct warm_status st = {0};

	for (size_t i = 0; i < w->nst; i++)
		status_add(&st, &w->st[i].st);
	*ret = st;
}

uint64_t warm_kick(struct warm *w)
{
	/* a scan running now may have read the store before the caller's
	 * change: the one after it counts */
	uint64_t target = w->scans + (w->scanning ? 2 : 1);

	w->fail_rounds = 0;
	schedule_scan(w, 0);
	return target;
}

int warm_cache_used(const struct warm *w, uint64_t *ret)
{
	if (w->scans == 0)
		return -EAGAIN;
	*ret = w->used;
	return 0;
}

uint64_t warm_query_bytes(const struct warm *w)
{
	return w->qbytes;
}

void warm_rescan(struct warm *w)
{
	schedule_scan(w, 0);
}

void warm_set_changed(struct warm *w, void (*fn)(void *arg), void *arg)
{
	w->changed = fn;
	w->changed_arg = arg;
}

void warm_set_report(struct warm *w, void (*fn)(void *arg, const struct warm_report *r), void *arg)
{
	w->report = fn;
	w->report_arg = arg;
}

/* ---- for warm_demand.c (warm_int.h) ---- */

int warm_call_(struct warm *w, void (*call)(struct warm *w, void *arg),
               void (*called)(struct warm *w, void *arg), void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return -ENOMEM;
	j->kind = J_CALL;
	j->call = call;
	j->called = called;
	j->carg = arg;
	post(w, j);
	return 0;
}

struct warm_dm *warm_dm_(const struct warm *w)
{
	return w->dm;
}

struct cache *warm_cache_(const struct warm *w)
{
	return w->cache;
}

const char *warm_store_path_(const struct warm *w)
{
	return w->store_path;
}

const struct conf_attach *warm_attach_(const struct warm *w, const char *db)
{
	return attach_of(w->att, w->natt, db);
}

bool warm_in_flight_(const struct warm *w, const char *sha256)
{
	return dl_find(w, sha256) != NULL;
}

void warm_hurry_(struct warm *w, const char *sha256)
{
	struct dl *d = dl_find(w, sha256);

	if (d == NULL)
		return;
	if (d->admitted) {
		d->qi.priority = INT_MAX;     /* what open_done queues it at */
		fetch_raise(d->job, INT_MAX); /* NULL while its file opens */
		return;
	}
	pqueue_raise(&w->hosts[d->host].q, &d->qi, INT_MAX);
	admit(w);
}

int warm_fetch_(struct warm *w, const char *sha256, uint64_t size, const char *url,
                const char *account, const char *key, const char *db, const char *table)
{
	struct want x = {.size = size, .priority = INT_MAX};

	(void)snprintf(x.sha, sizeof(x.sha), "%s", sha256);
	x.url = strdup(url);
	x.account = account != NULL ? strdup(account) : NULL;
	x.key = key != NULL ? strdup(key) : NULL;
	x.db = strdup(db);
	x.table = strdup(table);
	if (x.url != NULL && x.db != NULL && x.table != NULL &&
	    (account == NULL || x.account != NULL) && (key == NULL || x.key != NULL))
		start_download(w, &x);
	want_clear(&x);
	admit(w);
	return dl_find(w, sha256) != NULL ? 0 : -ENOMEM;
}

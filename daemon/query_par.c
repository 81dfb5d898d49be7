/*
 * query_par — parallel scans: a query whose summarize can be split
 * (lib/query/kql_split) runs its partial aggregate on K partitions of the
 * scanned table's extents at once (lib/query/kql_par), each on its own
 * read-only connection to the query store (pooled, the store kept
 * memory-mapped between queries: query_pool.c), and merges them on the
 * coordinator's connection (query_run.c), which then runs the rest.
 *
 * Exactly one version.  The coordinator fixed the extents (its snapshot);
 * each partition's connection starts its own read transaction later, so
 * it checks, in its snapshot, that each of its extents is still loaded at
 * the same eid in the same table (a fingerprint of their ids, compared
 * with the coordinator's).  Loaded extents are never rewritten in place,
 * only added (new eids, outside the ranges) or dropped, so equal
 * fingerprints mean equal rows.  An extent dropped in between fails the
 * check and the query runs whole on the coordinator's snapshot, which is
 * still held; no row went out yet.
 *
 * Threads.  A parallel scan takes the cores that no query is using: with
 * QUERY_WORKERS workers on as many cores, a query runs on two threads
 * while the other worker is idle, and on one when both are busy.  Nothing
 * waits for a thread (no deadlock between two parallel queries), and a
 * query arriving while a parallel scan runs still gets its worker (the
 * cores are shared for the rest of that scan, never withheld).  The extra
 * threads are started per query: a full scan costs far more than a
 * thread.  When no core is idle, a summarize or distinct still runs as
 * one partition on one thread: its partial aggregate is hashed
 * (lib/query/kql_hagg), which is faster than SQLite's GROUP BY (a sort of
 * every row), and the merge of its few partial rows costs little.
 *
 * Joins.  A split through the left side of a join (kql_split) gives each
 * partition the whole of every table the right side reads, checked
 * against the coordinator's snapshot as the partition's own extents are;
 * only when those tables are small beside the partitioned one
 * (kql_split_join_cheap: each partition reads and indexes them all) and
 * are this database's loaded tables (else one partition, the hash path,
 * reads them once); a range on the right keeps the plan whole.
 *
 * Unions.  A split over a union partitions every table the union reads
 * (kql_split's scans, in the union's order): the partitions are runs of
 * the list of their (table, extent) pairs in that order, cut by rows as
 * one table's extents are, each partition with a view of every one of
 * those tables over its run's extents of it (perhaps none) and one
 * fingerprint over them all.
 */
#include "query_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/qsync.h"
#include "log.h"
#include "query_readthru.h"
#include "query/kql_hagg.h"
#include "query/kql_par.h"
#include "query/kql_pct.h"
#include "query/kql_split.h"
#include "util/sbuf.h"
#include "util/timefmt.h"

#define MIN_ROWS 200000         /* fewer: one thread is as fast */
#define MAX_PARTIAL (64u << 20) /* bytes of partial rows per partition */
#define PROGRESS_OPS 10000
#define BUSY_MS 2000
#define MAX_WHOLE 8 /* tables a join's right side reads, at most */

/* A run of the (table, extent) pairs: pairs from .. to - 1. */
struct part {
	size_t from, to;
	char *fingerprint; /* of its extents, table by table */
};

/* A table every partition reads whole (a join's right side). */
struct whole {
	const struct qtable *t;
	char *fingerprint;
};

struct par {
	const struct qpar_ctx *c;
	/* the partitioned tables, in the order of the split's scans (a
	 * union's inputs); table i's extents are the pairs off[i] ..
	 * off[i + 1] - 1 */
	const struct qtable *ts[KQL_SPLIT_MAX_SCANS];
	size_t nts, off[KQL_SPLIT_MAX_SCANS + 1];
	int64_t *w, total; /* rows of each pair, and in all */
	char *path;        /* the query store's file */
	struct part parts[KQL_PAR_MAX];
	struct qpool_conn conns[KQL_PAR_MAX]; /* the partitions' connections */
	size_t nparts;
	struct whole whole[MAX_WHOLE];
	size_t nwhole;
};

/* ---- threads: the cores no query is using ---- */

static size_t cores(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > KQL_PAR_MAX ? KQL_PAR_MAX : (size_t)n;
}

/* Up to want threads for this query (its own included): 1 + the idle cores. */
static size_t slots_take(struct query *q, size_t want)
{
	size_t n = cores(), busy, extra;

	pthread_mutex_lock(&q->mu);
	busy = q->running + q->helpers;
	extra = n > busy ? n - busy : 0;
	if (extra > want - 1)
		extra = want - 1;
	q->helpers += extra;
	pthread_mutex_unlock(&q->mu);
	return extra + 1;
}

static void slots_give(struct query *q, size_t n)
{
	pthread_mutex_lock(&q->mu);
	q->helpers -= n - 1;
	pthread_mutex_unlock(&q->mu);
}

/* ---- the extents: weights, partitions, fingerprints ---- */

static size_t min_rows(void)
{
	const char *v = getenv("FOLLOWERD_TEST_PAR_MIN_ROWS"); /* tests: small tables */

	return v && *v ? (size_t)strtoull(v, NULL, 10) : MIN_ROWS;
}

/* The rows of each extent of t (in the coordinator's snapshot) into w;
 * their total. */
static int64_t weights(sqlite3 *db, const struct qtable *t, int64_t *w)
{
	sqlite3_stmt *s = NULL;
	int64_t total = 0;

	if (sqlite3_prepare_v2(db, "SELECT rows FROM q.qextents WHERE eid = ?1", -1, &s, NULL) !=
	    SQLITE_OK)
		return -1;
	for (size_t i = 0; i < t->neids; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, t->eids[i]);
		w[i] = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		total += w[i];
	}
	sqlite3_finalize(s);
	return total;
}

/* n runs of consecutive (table, extent) pairs with about equal rows
 * each.  Runs of the pairs in the split's order, not a share of every
 * table each: the partitions' rows in order are then the whole plan's
 * (kql_split.h), and a union's tables are cut as one table's extents. */
static void partition(struct par *p, size_t n)
{
	size_t npairs = p->off[p->nts], k = 0, from = 0;
	int64_t sum = 0;

	for (size_t i = 0; i < npairs && k + 1 < n; i++) {
		sum += p->w[i];
		if (sum * (int64_t)n >= p->total * (int64_t)(k + 1)) {
			p->parts[k++] = (struct part){from, i + 1, NULL};
			from = i + 1;
		}
	}
	p->parts[k++] = (struct part){from, npairs, NULL};
	p->nparts = k;
}

/* Table i's extents in partition k (perhaps none) into *ret_eids. */
static size_t slice(const struct par *p, size_t k, size_t i, const int64_t **ret_eids)
{
	size_t lo = p->parts[k].from > p->off[i] ? p->parts[k].from : p->off[i],
	       hi = p->parts[k].to < p->off[i + 1] ? p->parts[k].to : p->off[i + 1];

	*ret_eids = p->ts[i]->eids + (lo - p->off[i]);
	return hi > lo ? hi - lo : 0;
}

/* Appends the ids of the extents loaded at eids in table tid, as db sees
 * them, to b. */
static int fingerprint_add(sqlite3 *db, struct sbuf *b, int64_t tid, const int64_t *eids, size_t n)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(db, "SELECT extent FROM q.qextents WHERE eid = ?1 AND tid = ?2", -1,
	                       &s, NULL) != SQLITE_OK)
		return -EIO;
	sbuf_add(b, "");
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, eids[i]);
		sqlite3_bind_int64(s, 2, tid);
		sbuf_add(b, sqlite3_step(s) == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
		                                          : "-");
		sbuf_add(b, "\n");
	}
	sqlite3_finalize(s);
	return 0;
}

/* b's text (to free), NULL when it ran out of memory or rc < 0. */
static char *fingerprint_end(struct sbuf *b, int rc)
{
	if (b->oom || rc < 0) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

/* The ids of the extents loaded at eids in table tid, as db sees them. */
static char *fingerprint(sqlite3 *db, int64_t tid, const int64_t *eids, size_t n)
{
	struct sbuf b = {0};

	return fingerprint_end(&b, fingerprint_add(db, &b, tid, eids, n));
}

/* Partition k's extents as db sees them, table by table ("|" between). */
static char *part_fingerprint(sqlite3 *db, const struct par *p, size_t k)
{
	struct sbuf b = {0};
	const int64_t *eids;
	int rc = 0;

	for (size_t i = 0; i < p->nts && rc == 0; i++) {
		size_t n = slice(p, k, i, &eids);
		sbuf_add(&b, "|");
		rc = fingerprint_add(db, &b, p->ts[i]->tid, eids, n);
	}
	return fingerprint_end(&b, rc);
}

/* ---- a partition's connection (on its thread) ---- */

static int progress(void *arg)
{
	struct job *j = arg;

	return query_cancelled(j) || timefmt_now() > j->deadline;
}

static int exec(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* The view of t over eids on db. */
static int make_view(sqlite3 *db, const struct qtable *t, const int64_t *eids, size_t neids)
{
	char *sql =
	    query_view_sql(db, t->ent, t->ent->name, "q", t->sqlname, eids, NULL, neids, true);
	int rc = sql ? exec(db, sql) : -ENOMEM;

	free(sql);
	return rc;
}

/* Whether the fingerprint got (to free) is want: -EAGAIN when not. */
static int same_extents(char *got, const char *want)
{
	int rc = !got ? -ENOMEM : strcmp(got, want) != 0 ? -EAGAIN : 0;

	free(got);
	return rc;
}

/* The views of the partitioned tables over partition k's extents (of
 * some tables none: the partial plan reads every one). */
static int part_tables(sqlite3 *db, const struct par *p, size_t k)
{
	const int64_t *eids;
	int rc = same_extents(part_fingerprint(db, p, k), p->parts[k].fingerprint);

	for (size_t i = 0; i < p->nts && rc == 0; i++) {
		size_t n = slice(p, k, i, &eids);
		rc = make_view(db, p->ts[i], eids, n);
	}
	return rc;
}

/* The query store in a read transaction whose extents of partition k
 * (and of the tables read whole) are the coordinator's, and their views. */
static int part_view(sqlite3 *db, const struct par *p, size_t k)
{
	int rc = exec(db, "BEGIN; SELECT count(*) FROM q.qtables");

	if (rc == 0)
		rc = part_tables(db, p, k);
	for (size_t i = 0; i < p->nwhole && rc == 0; i++) {
		const struct qtable *t = p->whole[i].t;
		rc = same_extents(fingerprint(db, t->tid, t->eids, t->neids),
		                  p->whole[i].fingerprint);
		if (rc == 0)
			rc = make_view(db, t, t->eids, t->neids);
	}
	return rc;
}

/* A pooled connection to the query store (query_pool.c: kept mapped
 * between queries), set up for this query. */
static int part_open(void *arg, size_t k, sqlite3 **ret_db)
{
	struct par *p = arg;
	struct qpool_conn *c = &p->conns[k];
	int rc = query_pool_get(p->c->j->q, p->path, c);

	/* the query's memory budget, its caches' share divided between the
	 * partitions */
	if (rc == 0)
		rc = kql_exec_register_budget(c->db, p->c->budget) == 0 &&
		             kql_exec_bound(c->db, p->c->j->budget.limit / p->nparts) == 0
		         ? 0
		         : -ENOMEM;
	if (rc == 0) {
		(void)sqlite3_busy_timeout(c->db, BUSY_MS);
		sqlite3_progress_handler(c->db, PROGRESS_OPS, progress, p->c->j);
		rc = part_view(c->db, p, k);
	}
	if (rc < 0) {
		query_pool_put(p->c->j->q, c); /* kept if it cleans up */
		return rc;
	}
	*ret_db = c->db;
	return 0;
}

static void part_close(void *arg, size_t k, sqlite3 *db)
{
	struct par *p = arg;

	query_pool_put(p->c->j->q, &p->conns[k]);
}

/* ---- the coordinator ---- */

static const struct qtable *find_table(const struct qpar_ctx *c, const struct kql_plan *scan)
{
	if (scan->db && strcmp(scan->db, c->j->db) != 0)
		return NULL; /* another database's table */
	for (size_t i = 0; i < c->ntables; i++)
		if (strcmp(c->tables[i].ent->name, scan->table) == 0)
			return &c->tables[i];
	return NULL;
}

/* The partitions of p's tables over n threads, each with its
 * fingerprint, and the fingerprints of the tables read whole. */
static int plan_parts(struct par *p, size_t n)
{
	partition(p, n);
	for (size_t k = 0; k < p->nparts; k++)
		if (!(p->parts[k].fingerprint = part_fingerprint(p->c->db, p, k)))
			return -ENOMEM;
	for (size_t i = 0; i < p->nwhole; i++) {
		const struct qtable *t = p->whole[i].t;
		if (!(p->whole[i].fingerprint = fingerprint(p->c->db, t->tid, t->eids, t->neids)))
			return -ENOMEM;
	}
	return 0;
}

/* ---- a join's right side: the tables every partition reads whole ---- */

static int add_whole(struct par *p, const struct qtable *t)
{
	for (size_t i = 0; i < p->nwhole; i++)
		if (p->whole[i].t == t)
			return 0;
	if (p->nwhole == MAX_WHOLE)
		return -EAGAIN;
	p->whole[p->nwhole++] = (struct whole){t, NULL};
	return 0;
}

/* Whether scan is one of those s partitions. */
static bool partitioned(const struct kql_split *s, const struct kql_plan *scan)
{
	for (size_t i = 0; i < s->nscans; i++)
		if (s->scans[i] == scan)
			return true;
	return false;
}

/* Whether t is one of the tables p partitions. */
static bool is_part_table(const struct par *p, const struct qtable *t)
{
	for (size_t i = 0; i < p->nts; i++)
		if (p->ts[i] == t)
			return true;
	return false;
}

/* The tables plan n reads besides the partitioned ones (s's scans) into
 * p->whole; -EAGAIN when one is another database's or not loaded, or n
 * has a range (its rows unbounded, read by every partition). */
static int collect_whole(struct par *p, const struct kql_plan *n, const struct kql_split *s)
{
	const struct qtable *t;
	int rc = 0;

	if (n->kind == KQL_P_RANGE)
		return -EAGAIN;
	if (n->kind == KQL_P_SCAN && !partitioned(s, n))
		return (t = find_table(p->c, n)) && !is_part_table(p, t) ? add_whole(p, t)
		                                                         : -EAGAIN;
	for (size_t i = 0; i < n->nin && rc == 0; i++)
		rc = collect_whole(p, n->in[i], s);
	return rc;
}

/* The tables of s's scans into p (this database's loaded tables, each
 * once: kql_split reads each table once); -EAGAIN when one is not. */
static int find_tables(struct par *p, const struct kql_split *s)
{
	for (size_t i = 0; i < s->nscans; i++) {
		const struct qtable *t = find_table(p->c, s->scans[i]);
		if (!t || is_part_table(p, t))
			return -EAGAIN;
		p->ts[p->nts] = t;
		p->off[p->nts + 1] = p->off[p->nts] + t->neids;
		p->nts++;
	}
	return p->nts > 0 ? 0 : -EAGAIN;
}

/* Whether the tables read whole are small beside p's partitioned rows
 * (kql_split_join_cheap): each partition reads them all, so past the
 * bound only one partition may. */
static bool whole_cheap(const struct par *p)
{
	int64_t rows = 0, n;
	int64_t *w;

	for (size_t i = 0; i < p->nwhole; i++) {
		if (!(w = calloc(p->whole[i].t->neids + 1, sizeof(*w))))
			return false;
		n = weights(p->c->db, p->whole[i].t, w);
		free(w);
		if (n < 0)
			return false;
		rows += n;
	}
	if (kql_split_join_cheap(p->total, rows))
		return true;
	log_debug("query %s: a join's right side of %" PRId64 " rows, read by every partition: "
	          "one partition",
	          p->c->j->request_id, rows);
	return false;
}

/* Whether p's tables have enough rows for more than one thread (their
 * rows then weigh their extents). */
static bool worth_it(struct par *p)
{
	int64_t n;

	if (!(p->w = calloc(p->off[p->nts] + 1, sizeof(*p->w))))
		return false;
	for (size_t i = 0; i < p->nts; i++) {
		if ((n = weights(p->c->db, p->ts[i], p->w + p->off[i])) < 0)
			return false;
		p->total += n;
	}
	return p->total >= (int64_t)min_rows();
}

static int store_path(const struct qpar_ctx *c, char **ret)
{
	char path[4096];

	if (qsync_path(c->j->q->cache_dir, c->j->db_id, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	return (*ret = strdup(path)) ? 0 : -ENOMEM;
}

static int run_split(struct par *p, const struct kql_split *s, int64_t now, kql_row_fn *row,
                     void *arg, struct kql_error *err)
{
	struct kql_par kp = {.split = s,
	                     .nparts = p->nparts,
	                     .now = now,
	                     .max_bytes = MAX_PARTIAL,
	                     .open = part_open,
	                     .close = part_close,
	                     .arg = p,
	                     .budget = p->c->budget};

	if (p->nparts < 2 && !kql_hagg_supports(s->partial))
		return -EAGAIN;
	return kql_par_run(p->c->db, &kp, row, arg, err);
}

/* The threads p may use: one per extent, up to KQL_PAR_MAX; one when a
 * join's right side is past the bound (then read once). */
static size_t wanted(const struct par *p)
{
	if (!whole_cheap(p))
		return 1;
	return p->off[p->nts] < KQL_PAR_MAX ? p->off[p->nts] : KQL_PAR_MAX;
}

/* Whether plan p keeps the values of a column ($pstate: percentile's). */
static bool keeps_values(const struct kql_plan *p)
{
	for (size_t i = 0; p->kind == KQL_P_AGGREGATE && i < p->nexprs; i++)
		if (p->exprs[i]->kind == KQL_E_CALL && p->exprs[i]->fn == KQL_F_P_PSET)
			return true;
	for (size_t i = 0; i < p->nin; i++)
		if (keeps_values(p->in[i]))
			return true;
	return false;
}

/* Whether n partitions of p's rows may each hold all their values in
 * partial rows (percentile's state when they do not repeat: KQL_PCT_DIGITS
 * letters a value).  If not, the partitions would stop at MAX_PARTIAL
 * after reading their rows, and the plan run whole after that: it runs
 * whole at once. */
static bool values_fit(const struct par *p, const struct kql_split *s, size_t n)
{
	const char *v = getenv("FOLLOWERD_TEST_PAR_MAX_VALUES"); /* tests: small tables */
	int64_t most = v && *v ? (int64_t)strtoull(v, NULL, 10) : MAX_PARTIAL / KQL_PCT_DIGITS;

	if (!keeps_values(s->partial) || p->total / (int64_t)n <= most)
		return true;
	log_debug("query %s: %" PRId64 " rows' values over %zu partitions, past %" PRId64
	          " each: whole",
	          p->c->j->request_id, p->total, n, most);
	return false;
}

/* Whether split s of plan is worth running on p's tables (0), or not
 * (-EAGAIN: run whole). */
static int prepare(struct par *p, const struct kql_plan *plan, struct kql_split *s)
{
	if (kql_split(p->c->arena, plan, s) != 0 || find_tables(p, s) < 0 ||
	    (p->off[p->nts] < 2 && !kql_hagg_supports(s->partial)) ||
	    collect_whole(p, s->partial, s) < 0 || !worth_it(p))
		return -EAGAIN;
	return 0;
}

int query_par_run(const struct qpar_ctx *c, const struct kql_plan *plan, int64_t now,
                  kql_row_fn *row, void *arg, struct kql_error *err)
{
	struct par p = {.c = c};
	struct kql_split s;
	size_t n = 0;
	int rc = -EAGAIN;

	if (prepare(&p, plan, &s) < 0) {
		free(p.w);
		return -EAGAIN;
	}
	n = slots_take(c->j->q, wanted(&p));
	/* one thread: still the hash path, faster than GROUP BY's sort */
	if ((n > 1 || kql_hagg_supports(s.partial)) && values_fit(&p, &s, n) &&
	    store_path(c, &p.path) == 0 && plan_parts(&p, n) == 0)
		rc = run_split(&p, &s, now, row, arg, err);
	slots_give(c->j->q, n);
	if (rc == 0)
		qrt_count_scan(c->j->q, p.nparts);
	if (p.nparts > 0)
		log_debug("query %s: scan of %s%s over %zu partitions%s: %s", c->j->request_id,
		          p.ts[0]->ent->name, p.nts > 1 ? " and the union's other tables" : "",
		          p.nparts, p.nwhole ? ", joined with tables read whole" : "",
		          rc == -EAGAIN ? "run whole instead" : "merged");
	for (size_t k = 0; k < p.nparts; k++)
		free(p.parts[k].fingerprint);
	for (size_t i = 0; i < p.nwhole; i++)
		free(p.whole[i].fingerprint);
	free(p.path);
	free(p.w);
	return rc;
}

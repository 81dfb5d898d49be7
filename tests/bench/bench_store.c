/*
 * bench_store — the store's share of the targets: a 1,000,000-extent
 * checkpoint loaded into a fresh store (target: well under 6 s, the whole
 * daemon under 100 MB RSS), the same checkpoint again with 1% changed (the
 * diff path), and 1,000-extent commits on top (target <= 200 ms each).
 * The peer, measured in the same run: plain SQLite inserting the same number
 * of rows (integer key + 16-byte blob) in one transaction, same pragmas.
 *
 * Records are generated one slice (1,000 extents, a checkpoint line) at a
 * time, as the daemon decodes them, so the RSS is the store's own.
 *
 *   tests/bench/store.sh [extents] [dir]       (make bench BENCH=store)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"

#define SLICE 1000
#define TABLES 10
#define DAY (86400 * PROTO_TICKS_PER_SEC)
#define T0 ((int64_t)1700000000 * PROTO_TICKS_PER_SEC)
#define UUID "3f2b6c1e-9a4d-4e0b-8c7a-1d2e3f405162"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_peak_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static void die(const char *what, int r, const char *err)
{
	fprintf(stderr, "bench_store: %s: %d %s\n", what, r, err);
	exit(1);
}

/* One slice of generated extents, refilled in place. */
struct slice {
	struct proto_extent x[SLICE];
	struct proto_artifact a[SLICE];
	char paths[SLICE][96];
	char tables[TABLES][16];
};

/* Extent k: a pseudo-random id and sha (so index inserts are random, as
 * with real uuids), one artifact at its canonical path. */
static void fill(struct slice *s, uint64_t first, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t k = first + i, h = k * 0x9e3779b97f4a7c15ull;
		struct proto_artifact *a = &s->a[i];
		struct proto_extent *x = &s->x[i];

		snprintf(x->id, sizeof(x->id),
		         "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-8%03" PRIx64 "-%012" PRIx64,
		         h >> 32, (h >> 16) & 0xffff, h & 0xfff, k >> 40 & 0xfff,
		         k & (uint64_t)0xffffffffffff);
		snprintf(a->sha256, sizeof(a->sha256), "%016" PRIx64 "%016" PRIx64 "%032" PRIx64, h,
		         ~h, k);
		proto_path_artifact(s->paths[i], sizeof(s->paths[i]), a->sha256);
		a->name = (char *)"data.parquet";
		a->path = s->paths[i];
		a->size = 16384 + k % 1000;
		x->table = s->tables[k % TABLES];
		x->min_created = T0 + (int64_t)(k % 1000) * DAY;
		x->max_created = x->min_created + DAY / 2;
		x->rows = 1000;
		x->original_size = 65536;
		x->compressed_size = a->size;
		x->artifacts = a;
		x->nartifacts = 1;
	}
}

static struct proto_column cols[] = {
    {(char *)"ts", PROTO_T_DATETIME}, {(char *)"msg", PROTO_T_STRING}, {(char *)"n", PROTO_T_LONG}};

static void counts_of(uint64_t n, uint64_t skip_every, struct proto_counts *c)
{
	memset(c, 0, sizeof(*c));
	c->tables = TABLES;
	for (uint64_t k = 0; k < n; k++) {
		if (skip_every > 0 && k % skip_every == 0)
			continue;
		c->extents++;
		c->rows += 1000;
		c->bytes += 16384 + k % 1000;
	}
}

/* Loads a checkpoint of extents 0..n-1 (skipping k % skip_every == 0 when
 * skip_every) plus extra new ones from n; prints the timings. */
static void load(struct store *st, struct slice *s, uint64_t version, uint64_t n,
                 uint64_t skip_every, uint64_t extra, const char *label)
{
	struct proto_manifest m = {.database = (char *)"Logs", .version = version, .committed = T0};
	struct proto_action rec = {.op = PROTO_OP_ADD_EXTENTS};
	struct store_summary sum = {0};
	struct store_ckpt *ck = NULL;
	char err[STORE_ERRLEN] = "";
	double t0 = now(), t1, c0 = cpu(), c1;
	int r;

	memcpy(m.uuid, UUID, sizeof(m.uuid));
	counts_of(n, skip_every, &m.counts);
	m.counts.extents += extra;
	m.counts.rows += extra * 1000;
	for (uint64_t k = n; k < n + extra; k++)
		m.counts.bytes += 16384 + k % 1000;
	r = store_checkpoint_begin(st, "logs", &m, NULL, &ck, err);
	if (r < 0)
		die("begin", r, err);
	for (size_t t = 0; t < TABLES; t++) {
		struct proto_action c = {.op = PROTO_OP_CREATE,
		                         .entity = {.kind = PROTO_TABLE,
		                                    .name = s->tables[t],
		                                    .columns = cols,
		                                    .ncolumns = 3,
		                                    .folder = (char *)"",
		                                    .docstring = (char *)""}};
		if ((r = store_checkpoint_feed(ck, &c, 1, err)) < 0)
			die("feed create", r, err);
	}
	for (uint64_t k = 0; k < n + extra; k += SLICE) {
		size_t cnt = n + extra - k < SLICE ? (size_t)(n + extra - k) : SLICE, used = 0;

		fill(s, k, cnt);
		for (size_t i = 0; i < cnt; i++)
			if (skip_every == 0 || k + i >= n || (k + i) % skip_every != 0)
				s->x[used++] = s->x[i];
		rec.extents = s->x;
		rec.nextents = used;
		if ((r = store_checkpoint_feed(ck, &rec, 1, err)) < 0)
			die("feed", r, err);
	}
	t1 = now();
	c1 = cpu();
	r = store_checkpoint_finish(ck, &sum, err);
	if (r < 0)
		die("finish", r, err);
	printf("%-30s %6.2f s wall (feed %.2f, finish %.2f), %6.2f s CPU (feed %.2f, finish %.2f)"
	       "  +%" PRIu64 " -%" PRIu64 " extents, peak RSS %ld MB\n",
	       label, now() - t0, t1 - t0, now() - t1, cpu() - c0, c1 - c0, cpu() - c1,
	       sum.extents_added, sum.extents_removed, rss_peak_mb());
	store_summary_clear(&sum);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Applies ncommits commits of 1,000 new extents each after version. */
static void commits(struct store *st, struct slice *s, uint64_t version, uint64_t first,
                    int ncommits)
{
	struct proto_action act = {.op = PROTO_OP_ADD_EXTENTS};
	struct proto_commit c = {.database = (char *)"Logs", .actions = &act, .nactions = 1};
	double t[64];
	char err[STORE_ERRLEN] = "";

	memcpy(c.uuid, UUID, sizeof(c.uuid));
	for (int i = 0; i < ncommits && i < 64; i++) {
		double t0;
		int r;

		fill(s, first + (uint64_t)i * SLICE, SLICE);
		act.extents = s->x;
		act.nextents = SLICE;
		c.version = version + 1 + (uint64_t)i;
		t0 = now();
		r = store_apply_commit(st, "logs", &c, NULL, NULL, err);
		t[i] = now() - t0;
		if (r < 0)
			die("commit", r, err);
	}
	qsort(t, (size_t)ncommits, sizeof(t[0]), cmp_double);
	printf("%-30s %6.1f ms median, %.1f ms max (%d commits)\n", "1,000-extent commit",
	       t[ncommits / 2] * 1e3, t[ncommits - 1] * 1e3, ncommits);
}

/* What generating the records costs (inside "feed" above, not the store's). */
static void generator(struct slice *s, uint64_t n)
{
	double c0 = cpu();

	for (uint64_t k = 0; k < n; k += SLICE)
		fill(s, k, n - k < SLICE ? (size_t)(n - k) : SLICE);
	printf("%-30s %6.2f s CPU (part of \"feed\" above)\n", "generating the records",
	       cpu() - c0);
}

/* The peer: the same number of rows through bare SQLite. */
static void peer(const char *path, uint64_t n)
{
	sqlite3 *db;
	sqlite3_stmt *ins;
	double t0 = now(), c0 = cpu();
	unsigned char u[16] = {0};

	unlink(path);
	sqlite3_open(path, &db);
	sqlite3_exec(db,
	             "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
	             "PRAGMA cache_size = -16384;"
	             "CREATE TABLE t(id INTEGER PRIMARY KEY, u BLOB, a INTEGER, b INTEGER);"
	             "BEGIN",
	             NULL, NULL, NULL);
	sqlite3_prepare_v2(db, "INSERT INTO t VALUES(?1, ?2, ?3, ?4)", -1, &ins, NULL);
	for (uint64_t k = 1; k <= n; k++) {
		uint64_t h = k * 0x9e3779b97f4a7c15ull;

		memcpy(u, &h, sizeof(h));
		sqlite3_bind_int64(ins, 1, (int64_t)k);
		sqlite3_bind_blob(ins, 2, u, sizeof(u), SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, (int64_t)k);
		sqlite3_bind_int64(ins, 4, (int64_t)k);
		sqlite3_step(ins);
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	printf("%-30s %6.2f s wall, %6.2f s CPU (%.0f rows/s)\n", "peer: bare SQLite, 1 row/extent",
	       now() - t0, cpu() - c0, (double)n / (now() - t0));
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	const char *dir = argc > 2 ? argv[2] : "/tmp";
	char path[512], err[STORE_ERRLEN] = "", sfx[520];
	struct slice *s = calloc(1, sizeof(*s));
	struct store *st = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/bench_store.db", dir);
	for (const char *const *x = (const char *const[]){"", "-wal", "-shm", NULL}; *x; x++) {
		snprintf(sfx, sizeof(sfx), "%s%s", path, *x);
		unlink(sfx);
	}
	for (int t = 0; t < TABLES; t++)
		snprintf(s->tables[t], sizeof(s->tables[t]), "Table%d", t);
	printf("store bench: %" PRIu64 " extents, 1 artifact each, %d tables, in %s\n", n, TABLES,
	       dir);
	if ((r = store_open(path, &st, err)) < 0 ||
	    (r = store_db_add(st, "logs", "file:///leader", "Logs", "Logs", err)) < 0)
		die("open", r, err);
	load(st, s, 10, n, 0, 0, "checkpoint, first load");
	load(st, s, 20, n, 100, n / 100, "checkpoint again, 1% changed");
	commits(st, s, 20, 2 * n, 21);
	generator(s, n);
	store_free(st);
	for (const char *const *x = (const char *const[]){"", "-wal", "-shm", NULL}; *x; x++) {
		snprintf(sfx, sizeof(sfx), "%s%s", path, *x);
		unlink(sfx);
	}
	snprintf(path, sizeof(path), "%s/bench_store_peer.db", dir);
	peer(path, n);
	for (const char *const *x = (const char *const[]){"", "-wal", "-shm", NULL}; *x; x++) {
		snprintf(sfx, sizeof(sfx), "%s%s", path, *x);
		unlink(sfx);
	}
	free(s);
	return 0;
}

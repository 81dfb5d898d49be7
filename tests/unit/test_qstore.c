/*
 * Unit tests for the query store (qstore) and its loader (qload): loads as
 * one transaction, rowid ranges per extent, drops, schema changes (appended
 * columns read null, any other change empties the table and a reload maps
 * by name and converts), bad rows refused with their position and nothing
 * kept, compressed artifacts, read-only handles.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>
#include <zlib.h>

#include "store/qload.h"
#include "store/qstore.h"

struct fx {
	char dir[64];
	char path[96];
	struct qstore *q;
};

static struct proto_column cols4[] = {
    {"Timestamp", PROTO_T_DATETIME},
    {"Host", PROTO_T_STRING},
    {"Latency", PROTO_T_REAL},
    {"Code", PROTO_T_LONG},
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[QSTORE_ERRLEN];

	strcpy(f->dir, "/tmp/test_qstore.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void)snprintf(f->path, sizeof(f->path), "%s/q.db", f->dir);
	assert_int_equal(qstore_open(f->path, false, &f->q, err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	qstore_free(f->q);
	(void)snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
}

static void write_gzip(const char *path, const char *text)
{
	gzFile g = gzopen(path, "wb");

	assert_non_null(g);
	assert_int_equal(gzwrite(g, text, (unsigned)strlen(text)), (int)strlen(text));
	assert_int_equal(gzclose(g), Z_OK);
}

/* One SQL answer as text ("a|b" per row, rows joined by ';'). */
static char *sql(struct fx *f, const char *q)
{
	static char out[4096];
	sqlite3_stmt *s = NULL;
	size_t n = 0;

	out[0] = '\0';
	assert_int_equal(sqlite3_prepare_v2(qstore_db(f->q), q, -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(s); i++) {
			const unsigned char *t = sqlite3_column_text(s, i);
			n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%s",
			                      i ? "|" : (n ? ";" : ""),
			                      t ? (const char *)t : "NULL");
		}
	}
	sqlite3_finalize(s);
	return out;
}

static int load_csv(struct fx *f, const char *table, const char *extent,
                    const struct proto_column *cur, size_t ncur, const struct proto_column *wr,
                    size_t nwr, const char *file, char *err)
{
	struct qload_artifact a = {
	    .path = file,
	    .name = "a.csv",
	    .format = PROTO_FMT_CSV,
	    .compression = PROTO_COMP_NONE,
	    .columns = wr,
	    .ncolumns = nwr,
	};
	struct qload_result res;

	return qload_extent(f->q, table, extent, cur, ncur, &a, 1, &res, err);
}

static const char csv1[] = "2026-12-01T10:00:00Z,web1,1.5,200\n"
                           "2026-12-01T11:00:00Z,\"web,2\",2.5,500\n"
                           "2026-12-01T12:00:00Z,,,\n";

static void test_load_and_read(void **state)
{
	struct fx *f = *state;
	char err[QLOAD_ERRLEN], file[128], name[32];
	struct qstore_extent e;

	(void)snprintf(file, sizeof(file), "%s/a.csv", f->dir);
	write_file(file, csv1);
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(load_csv(f, "Events", "e1", cols4, 4, cols4, 4, file, err), 0);
	assert_int_equal(qstore_table_sqlname(f->q, "Events", name, sizeof(name), err), 0);
	assert_string_equal(name, "d1");
	/* a null real and long, an empty string (never null), a quoted comma */
	assert_string_equal(sql(f, "SELECT count(*), count(c2), count(c3), sum(c3), "
	                           "group_concat(c1, '/') FROM d1"),
	                    "3|2|2|700|web1/web,2/");
	assert_int_equal(qstore_extent_get(f->q, "e1", &e, err), 0);
	assert_int_equal(e.rows, 3);
	assert_true(e.bytes > 0);
	/* the extent's rows are one rowid range */
	assert_string_equal(sql(f, "SELECT min(rowid) >> 32, max(rowid) - min(rowid) FROM d1"),
	                    "1|2");
	free((char *)e.table);
	free((char *)e.extent);
	/* loaded twice: refused */
	assert_int_equal(load_csv(f, "Events", "e1", cols4, 4, cols4, 4, file, err), -EEXIST);
	assert_string_equal(sql(f, "SELECT count(*) FROM d1"), "3");
}

static void test_bad_row_keeps_nothing(void **state)
{
	struct fx *f = *state;
	char err[QLOAD_ERRLEN], file[128];
	struct qstore_extent e;

	(void)snprintf(file, sizeof(file), "%s/bad.csv", f->dir);
	write_file(file, "2026-12-01T10:00:00Z,web1,1.5,200\n2026-12-01T10:00:00Z,web1,fast,200\n");
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(load_csv(f, "Events", "e2", cols4, 4, cols4, 4, file, err), -EINVAL);
	assert_non_null(strstr(err, "a.csv:2"));
	assert_non_null(strstr(err, "Latency"));
	assert_non_null(strstr(err, "fast"));
	assert_string_equal(sql(f, "SELECT count(*) FROM d1"), "0");
	assert_int_equal(qstore_extent_get(f->q, "e2", &e, err), -ENOENT);
	/* the store is usable after: a good load commits */
	write_file(file, csv1);
	assert_int_equal(load_csv(f, "Events", "e2", cols4, 4, cols4, 4, file, err), 0);
	assert_string_equal(sql(f, "SELECT count(*) FROM d1"), "3");
}

static int count_cb(void *arg, const struct qstore_extent *e)
{
	(*(int *)arg)++;
	return 0;
}

static void test_drop_extent(void **state)
{
	struct fx *f = *state;
	char err[QLOAD_ERRLEN], file[128];
	int n = 0;

	(void)snprintf(file, sizeof(file), "%s/a.csv", f->dir);
	write_file(file, csv1);
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(load_csv(f, "Events", "e1", cols4, 4, cols4, 4, file, err), 0);
	assert_int_equal(load_csv(f, "Events", "e2", cols4, 4, cols4, 4, file, err), 0);
	assert_int_equal(qstore_extent_drop(f->q, "e1", err), 0);
	assert_string_equal(sql(f, "SELECT count(*), min(rowid) >> 32 FROM d1"), "3|2");
	assert_int_equal(qstore_extent_drop(f->q, "e1", err), -ENOENT);
	assert_int_equal(qstore_extents(f->q, count_cb, &n, err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(qstore_reclaim(f->q, 0, err), 0);
}

/* The index: one entry per loaded or not queryable extent, sorted; the
 * file's bytes shrink once drops are reclaimed and the WAL truncated. */
static void test_index_and_bytes(void **state)
{
	struct fx *f = *state;
	char err[QLOAD_ERRLEN], file[128], big[64 * 1024];
	struct qstore_index *ix = NULL;
	const struct qstore_index *e;
	uint64_t full = 0, after = 0;
	size_t n = 0, len = 0;

	(void)snprintf(file, sizeof(file), "%s/a.csv", f->dir);
	while (len + 64 < sizeof(big))
		len += (size_t)snprintf(big + len, sizeof(big) - len,
		                        "2026-12-01T10:00:00Z,host-%05zu,1.5,200\n", len);
	write_file(file, big);
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(load_csv(f, "Events", "e2", cols4, 4, cols4, 4, file, err), 0);
	assert_int_equal(load_csv(f, "Events", "e1", cols4, 4, cols4, 4, file, err), 0);
	assert_int_equal(qstore_error_set(f->q, "e3", "bad", err), 0);
	assert_int_equal(qstore_error_set(f->q, "e1", "stale", err), 0);
	assert_int_equal(qstore_index(f->q, &ix, &n, err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ix[0].extent, "e1");
	assert_true(ix[0].loaded && ix[0].error && ix[0].rows > 1000 && ix[0].bytes > 0);
	assert_true(ix[1].loaded && !ix[1].error);
	assert_true(!ix[2].loaded && ix[2].error);
	assert_non_null(e = qstore_index_find(ix, n, "e2"));
	assert_int_equal(e->rows, ix[0].rows);
	assert_null(qstore_index_find(ix, n, "e4"));
	assert_null(qstore_index_find(NULL, 0, "e1"));
	free(ix);
	assert_true(qstore_checkpoint(f->q));
	assert_int_equal(qstore_file_bytes(f->path, &full), 0);
	assert_int_equal(qstore_extent_drop(f->q, "e1", err), 0);
	assert_int_equal(qstore_reclaim(f->q, 0, err), 0);
	assert_true(qstore_checkpoint(f->q));
	assert_int_equal(qstore_file_bytes(f->path, &after), 0);
	assert_true(after < full);
	assert_int_equal(qstore_file_bytes("/nonexistent/q.db", &after), 0);
	assert_int_equal(after, 0);
}

static int64_t data_version(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A checkpoint after a pass that wrote nothing leaves readers alone: the
 * query workers keep a connection while its data_version stays, and a
 * truncation of an empty WAL would change it for every one of them. */
static void test_checkpoint_idle(void **state)
{
	struct fx *f = *state;
	char err[QLOAD_ERRLEN], file[128];
	sqlite3 *r = NULL;
	int64_t v;

	(void)snprintf(file, sizeof(file), "%s/a.csv", f->dir);
	write_file(file, csv1);
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(load_csv(f, "Events", "e1", cols4, 4, cols4, 4, file, err), 0);
	assert_true(qstore_checkpoint(f->q));
	assert_int_equal(sqlite3_open_v2(f->path, &r, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	v = data_version(r);
	assert_true(qstore_checkpoint(f->q));
	assert_true(qstore_checkpoint(f->q));
	assert_int_equal(data_version(r), v);
	/* a write is still seen, and truncated */
	assert_int_equal(qstore_extent_drop(f->q, "e1", err), 0);
	assert_true(data_version(r) != v);
	assert_true(qstore_checkpoint(f->q));
	assert_string_equal(sql(f, "SELECT count(*) FROM d1"), "0");
	sqlite3_close(r);
}

static void test_schema_append(void **state)
{
	struct fx *f = *state;
	struct proto_column cols5[5];
	char err[QLOAD_ERRLEN], file[128];
	uint64_t dropped = 99;

	(void)snprintf(file, sizeof(file), "%s/a.csv", f->dir);
	write_file(file, csv1);
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(load_csv(f, "Events", "e1", cols4, 4, cols4, 4, file, err), 0);
	memcpy(cols5, cols4, sizeof(cols4));
	cols5[4] = (struct proto_column){"Region", PROTO_T_STRING};
	assert_int_equal(qstore_table_sync(f->q, "Events", cols5, 5, &dropped, err), 0);
	assert_int_equal(dropped, 0);
	/* the rows loaded before read null in the new column */
	assert_string_equal(sql(f, "SELECT count(*), count(c4) FROM d1"), "3|0");
	/* an artifact written with the old schema loads into the new one */
	assert_int_equal(load_csv(f, "Events", "e2", cols5, 5, cols4, 4, file, err), 0);
	assert_string_equal(sql(f, "SELECT count(*), count(c4), sum(c4 = '') FROM d1"), "6|3|3");
}

static void test_schema_retype(void **state)
{
	struct fx *f = *state;
	struct proto_column retyped[] = {
	    {"Code", PROTO_T_STRING},
	    {"Latency", PROTO_T_LONG},
	    {"Timestamp", PROTO_T_DATETIME},
	};
	char err[QLOAD_ERRLEN], file[128];
	uint64_t dropped = 0;

	(void)snprintf(file, sizeof(file), "%s/a.csv", f->dir);
	write_file(file, csv1);
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(load_csv(f, "Events", "e1", cols4, 4, cols4, 4, file, err), 0);
	/* reordered, retyped, one dropped: the table is emptied... */
	assert_int_equal(qstore_table_sync(f->q, "Events", retyped, 3, &dropped, err), 0);
	assert_int_equal(dropped, 1);
	assert_string_equal(sql(f, "SELECT count(*) FROM qextents"), "0");
	/* ...and the extent loads again, mapped by name and converted */
	assert_int_equal(load_csv(f, "Events", "e1", retyped, 3, cols4, 4, file, err), 0);
	assert_string_equal(sql(f, "SELECT c0, c1, typeof(c0) FROM d1 ORDER BY rowid"),
	                    "200|1|text;500|2|text;|NULL|text");
}

static void test_gzip_and_json(void **state)
{
	struct fx *f = *state;
	struct proto_column jcols[] = {{"Code", PROTO_T_LONG}, {"Host", PROTO_T_STRING}};
	char err[QLOAD_ERRLEN], gz[128], js[128];
	struct qload_result res;

	(void)snprintf(gz, sizeof(gz), "%s/a.csv.gz", f->dir);
	(void)snprintf(js, sizeof(js), "%s/a.json", f->dir);
	write_gzip(gz, csv1);
	write_file(js, "{\"Host\":\"j1\",\"Code\":7}\n{\"Code\":8}\n");
	struct qload_artifact arts[] = {
	    {gz, "a.csv.gz", PROTO_FMT_CSV, PROTO_COMP_GZIP, cols4, 4, false},
	    {js, "a.json", PROTO_FMT_JSON, PROTO_COMP_NONE, jcols, 2, false},
	};
	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(qload_extent(f->q, "Events", "e1", cols4, 4, arts, 2, &res, err), 0);
	assert_int_equal(res.rows, 5);
	assert_string_equal(sql(f, "SELECT sum(c3), count(c0), group_concat(c1, '/') FROM d1"),
	                    "715|3|web1/web,2//j1/");
	/* a gzip artifact declared plain is refused, not read as rows */
	arts[0].compression = PROTO_COMP_NONE;
	assert_true(qload_extent(f->q, "Events", "e2", cols4, 4, arts, 1, &res, err) < 0);
	assert_string_equal(sql(f, "SELECT count(*) FROM d1"), "5");
}

static void test_abort_and_readonly(void **state)
{
	struct fx *f = *state;
	struct qstore_load *l = NULL;
	struct qstore *ro = NULL;
	char err[QSTORE_ERRLEN];
	struct kval row[4] = {{.i = 1}, {.s = "h", .len = 1}, {.r = 1.0}, {.i = 2}};

	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(qstore_load_begin(f->q, "Events", "e1", &l, err), 0);
	assert_int_equal(qstore_load_row(l, row, err), 0);
	qstore_load_abort(l);
	assert_string_equal(sql(f, "SELECT count(*) FROM d1"), "0");
	assert_int_equal(qstore_load_begin(f->q, "Nope", "e1", &l, err), -ENOENT);
	assert_int_equal(qstore_open(f->path, true, &ro, err), 0);
	assert_true(qstore_table_sync(ro, "T", cols4, 4, NULL, err) < 0);
	qstore_free(ro);
}

/* A real NaN (the leader's "NaN") would become null in SQLite, which
 * Kusto's NaN is not: the load is refused (-EINVAL: the extent is kept not
 * queryable, its error naming the row and column); the infinities load. */
static void test_nan_refused(void **state)
{
	struct fx *f = *state;
	struct qstore_load *l = NULL;
	char err[QSTORE_ERRLEN];
	struct kval inf[4] = {{.i = 1}, {.s = "h", .len = 1}, {.r = INFINITY}, {.i = 2}};
	struct kval nan[4] = {{.i = 1}, {.s = "h", .len = 1}, {.r = NAN}, {.i = 2}};

	assert_int_equal(qstore_table_sync(f->q, "Events", cols4, 4, NULL, err), 0);
	assert_int_equal(qstore_load_begin(f->q, "Events", "e1", &l, err), 0);
	assert_int_equal(qstore_load_row(l, inf, err), 0);
	assert_int_equal(qstore_load_row(l, nan, err), -EINVAL);
	assert_non_null(strstr(err, "extent e1, row 2, column 3: a real NaN"));
	qstore_load_abort(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_load_and_read, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_row_keeps_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drop_extent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_and_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoint_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_append, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_schema_retype, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gzip_and_json, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_abort_and_readonly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nan_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

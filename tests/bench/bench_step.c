/*
 * bench_step — what SQLite alone takes for a statement: prepared once, then
 * run N times, every row stepped and every value read by its type (as an
 * engine encoding it would), nothing formatted or written.  With the
 * static file nginx serves the answer's bytes from, it is the least any
 * server answering the query over HTTP with SQLite could take.
 *
 *   bench_step DB SQL N   prints the median over 5 rounds of up to N runs
 *   (a round ends after a second: a slow statement is run less), ms a run
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;

	(void)clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Every row of s stepped, every value read, into *sum (so that nothing is
 * optimized away).  0, or -1 on an error. */
static int run_once(sqlite3_stmt *s, unsigned long long *sum)
{
	int rc, n = sqlite3_column_count(s);

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		for (int k = 0; k < n; k++) {
			int t = sqlite3_column_type(s, k);

			if (t == SQLITE_INTEGER)
				*sum += (unsigned long long)sqlite3_column_int64(s, k);
			else if (t == SQLITE_FLOAT)
				*sum += (unsigned long long)(sqlite3_column_double(s, k) != 0);
			else if (t != SQLITE_NULL)
				*sum += (unsigned)sqlite3_column_bytes(s, k) +
				        *sqlite3_column_text(s, k);
		}
	(void)sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	double ms[5];
	unsigned long long sum = 0;
	int n = argc == 4 ? atoi(argv[3]) : 0, rc = 1;

	if (n <= 0) {
		fprintf(stderr, "usage: bench_step DB SQL N\n");
		return 2;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, argv[2], -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench_step: %s: %s\n", argv[1], sqlite3_errmsg(db));
		goto out;
	}
	for (int r = 0; r < 5; r++) {
		double t0 = now_ms();
		int i = 0;

		while (i < n && (i == 0 || now_ms() - t0 < 1000.0)) {
			if (run_once(s, &sum) != 0) {
				fprintf(stderr, "bench_step: %s\n", sqlite3_errmsg(db));
				goto out;
			}
			i++;
		}
		ms[r] = (now_ms() - t0) / i;
	}
	qsort(ms, 5, sizeof(ms[0]), cmp);
	printf("%.3f\n", ms[2]);
	rc = sum == 1; /* sum keeps the reads */
out:
	sqlite3_finalize(s);
	sqlite3_close(db);
	return rc;
}

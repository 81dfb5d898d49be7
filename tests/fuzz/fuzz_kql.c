/*
 * libFuzzer target for the KQL engine: lexer, parser, AST dump, binder
 * (against a small schema), plan printer and the SQLite executor (on an
 * in-memory connection, with a step budget so that range cannot run long),
 * whole and split for parallel scans (kql_split, kql_par).  Beyond "no crash, no
 * leak, no undefined behaviour, no stack overflow" it checks that a failure has a known code, a
 * message and a position inside the query, that a success dumps, that every bound plan prints
 * with typed columns, and that the whole and the split plan (two partitions, each holding a part of
 * the rows) answer the same rows where the query chooses none (no take, take_any, top, join,
 * arg_max, list, nor inexact reals summed in another order).  The whole plan runs on statements
 * kept across inputs (kql_stmts), so that comparison covers a kept statement run again with
 * other parameters.
 *
 *   make fuzz && build-fuzz/fuzz_kql -max_total_time=60 -dict=tests/fuzz/kql.dict \
 *       tests/fuzz/corpus/kql
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_bind.h"
#include "query/kql_exec.h"
#include "query/kql_par.h"
#include "query/kql_parse.h"
#include "query/kql_split.h"
#include "query/kql_stmts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what, const char *detail)
{
	if (!ok) {
		fprintf(stderr, "fuzz_kql: %s\n%s\n", what, detail != NULL ? detail : "");
		abort();
	}
}

static const struct kql_schema_column cols[] = {
    {"Timestamp", PROTO_T_DATETIME}, {"Level", PROTO_T_STRING}, {"Host", PROTO_T_STRING},
    {"Latency", PROTO_T_REAL},       {"Code", PROTO_T_LONG},    {"Props", PROTO_T_DYNAMIC},
};
static const struct kql_schema_table tables[] = {{"T", cols, 6}, {"U", cols + 1, 2}};
static const struct kql_schema_db dbs[] = {{"db", tables, 2}};
static const struct kql_schema schema = {dbs, 1, "db"};

static bool known_code(const char *c, bool bound)
{
	if (strcmp(c, KQL_E_SYNTAX) == 0 || strcmp(c, KQL_E_UNSUPPORTED) == 0 ||
	    strcmp(c, KQL_E_LIMIT) == 0)
		return true;
	return bound && (strcmp(c, KQL_E_NAME) == 0 || strcmp(c, KQL_E_FUNCTION) == 0 ||
	                 strcmp(c, KQL_E_TYPE) == 0 || strcmp(c, KQL_E_ARGS) == 0);
}

static void check_error(const struct kql_error *e, size_t size, bool bound)
{
	check(e->code != NULL && known_code(e->code, bound), "an unknown code", e->message);
	check(e->message[0] != '\0', "an error without a message", NULL);
	check(e->pos.off <= size && e->pos.line >= 1 && e->pos.col >= 1, "a position outside",
	      e->message);
}

#define MAX_ROWS 1000

static sqlite3 *db;
static struct kql_stmts *stmts; /* db's, kept across inputs */

/* The schema's tables, with a few rows, for the executor to scan: the
 * whole plan's; a split's two partitions hold a part of them each. */
#define T_ROW1 "(0, 'Error', 'h1', 1.5, 1, '{\"a\":[1,2]}')"
#define T_ROW2 "(864000000000, 'Info', 'h2', NULL, 2, '[1,\"x\"]')"
#define T_ROW3 "(NULL, '', 'h1', 2.5, NULL, NULL)"
#define T_ROW4 "(864000000000, 'Error', 'h2', 0.5, 2, '{\"a\":3}')"
#define TABLES                                                                                     \
	"CREATE TABLE T (Timestamp INTEGER, Level TEXT, Host TEXT, Latency REAL, Code INTEGER, "   \
	"Props TEXT); CREATE TABLE U (Level TEXT, Host TEXT);"
static const char tables_sql[] = TABLES "INSERT INTO T VALUES " T_ROW1 ", " T_ROW2 ", " T_ROW3
                                        ", " T_ROW4 "; INSERT INTO U VALUES ('Error', 'h1'), "
                                        "('Warn', 'h3');";
static const char *const parts_sql[] = {
    TABLES "INSERT INTO T VALUES " T_ROW1 ", " T_ROW2 "; INSERT INTO U VALUES ('Error', 'h1');",
    TABLES "INSERT INTO T VALUES " T_ROW3 ", " T_ROW4 "; INSERT INTO U VALUES ('Warn', 'h3');",
};

static int budget(void *arg)
{
	return ++*(int *)arg > 2000; /* x 1000 virtual machine steps */
}

/* A run's rows as text lines (one value per field, whatever its type:
 * the plan's type decides which field holds it, and the others are the
 * same in both runs), to compare a whole plan's answer with its split's. */
struct rows {
	size_t n;
	char *text;
	size_t len;
	FILE *f;
};

static int count_row(void *arg, const struct kql_value *row, size_t n)
{
	struct rows *rows = arg;

	for (size_t i = 0; i < n; i++) {
		check(row[i].isnull || row[i].s == NULL || strlen(row[i].s) < (1u << 30), "a value",
		      NULL);
		if (rows->f && row[i].isnull)
			fputs("null\t", rows->f);
		else if (rows->f)
			fprintf(rows->f, "%lld %.17g %s\t", (long long)row[i].i, row[i].r,
			        row[i].s ? row[i].s : "");
	}
	if (rows->f)
		fputc('\n', rows->f);
	return ++rows->n >= MAX_ROWS;
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text sorted (in place; the caller frees the array). */
static char **sorted_lines(char *text, size_t *n)
{
	char **v = NULL, *save = NULL;

	*n = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char **w = realloc(v, (*n + 1) * sizeof(*v));
		if (!w)
			abort();
		v = w;
		v[(*n)++] = l;
	}
	if (*n > 1) /* qsort of no array: undefined */
		qsort(v, *n, sizeof(*v), cmp_line);
	return v;
}

/* Whether the whole and split answers hold the same rows (a summarize's
 * groups come in another order hashed). */
static bool same_rows(struct rows *a, struct rows *b)
{
	size_t na, nb;
	char **va = sorted_lines(a->text, &na), **vb = sorted_lines(b->text, &nb);
	bool same = na == nb;

	for (size_t i = 0; same && i < na; i++)
		same = strcmp(va[i], vb[i]) == 0;
	free(va);
	free(vb);
	return same;
}

/* Whether a query's answer may differ between plans that are both right:
 * the rows a take, a take_any, a top among ties, an innerunique join (the
 * default kind) or an arg_max among ties keeps, the order of a list, or
 * reals other than the tables' (halves, summed exactly in any order)
 * summed in another order. */
static bool chooses(const uint8_t *data, size_t size)
{
	static const char *const words[] = {
	    "take",   "limit",     "any",  "join", "lookup", "arg_", "make_", "top",  "percentile",
	    "sample", "serialize", "row_", "sqrt", "log",    "exp",  "pow",   "rand", "/"};

	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
		if (memmem(data, size, words[i], strlen(words[i])))
			return true;
	return false;
}

/* Runs a plan over the tables above; a failure must be an error with a
 * message, never a crash. */
static int execute(const struct kql_plan *p, struct rows *rows)
{
	struct kql_error e = {0};
	int steps = 0, r;

	if (db == NULL &&
	    (sqlite3_open(":memory:", &db) != SQLITE_OK || kql_exec_register(db) != 0 ||
	     sqlite3_exec(db, tables_sql, NULL, NULL, NULL) != SQLITE_OK ||
	     kql_stmts_new(&stmts) != 0))
		abort();
	sqlite3_progress_handler(db, 1000, budget, &steps);
	/* statements kept across inputs, as a worker keeps them: one of an
	 * earlier input's text runs again with this one's parameters, and the
	 * split (fresh statements) must still agree with it */
	r = kql_exec_run_kept(db, stmts, p, 0, count_row, rows, &e);
	check(r == 0 || r == 1 || (r == -EINVAL && e.message[0] != '\0'), "an executor failure",
	      e.message);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	return r;
}

/* A partition: its own connection holding its part of the tables. */
static int part_open(void *arg, size_t k, sqlite3 **ret_db)
{
	if (sqlite3_open(":memory:", ret_db) != SQLITE_OK || kql_exec_register(*ret_db) != 0 ||
	    sqlite3_exec(*ret_db, parts_sql[k], NULL, NULL, NULL) != SQLITE_OK)
		abort();
	sqlite3_progress_handler(*ret_db, 1000, budget, (int *)arg + k); /* a count each */
	return 0;
}

static void part_close(void *arg, size_t k, sqlite3 *pdb)
{
	sqlite3_close(pdb);
}

/* The plan split for parallel scans (kql_split), partial and final run
 * (kql_par, two partitions): printable plans, errors with a message; 1
 * when the plan does not split. */
static int execute_split(struct kql_arena *a, const struct kql_plan *p, struct rows *rows)
{
	struct kql_error e = {0};
	struct kql_split s;
	int psteps[2] = {0}, steps = 0, r = kql_split(a, p, &s);
	struct kql_par par = {&s, 2, 0, 1u << 20, part_open, part_close, psteps, NULL, false};
	char *text;

	check(r == 0 || r == 1 || r == -ENOMEM, "a split failure", NULL);
	if (r != 0)
		return 1;
	text = kql_plan_text(s.final);
	check(text != NULL && strstr(text, KQL_SPLIT_TABLE) != NULL, "a final plan", text);
	free(text);
	sqlite3_progress_handler(db, 1000, budget, &steps);
	r = kql_par_run(db, &par, count_row, rows, &e);
	check(r == 0 || r == 1 || r == -EAGAIN || (r == -EINVAL && e.message[0] != '\0'),
	      "a split executor failure", e.message);
	sqlite3_progress_handler(db, 0, NULL, NULL);
	return r;
}

/* Runs plan p whole and split; where both answer every row and the query
 * chooses nothing, they must answer the same rows. */
static void compare(struct kql_arena *a, const struct kql_plan *p, bool differential)
{
	struct rows whole = {0}, split = {0};
	int rw, rs;

	if (differential) {
		whole.f = open_memstream(&whole.text, &whole.len);
		split.f = open_memstream(&split.text, &split.len);
		if (!whole.f || !split.f)
			abort();
	}
	rw = execute(p, &whole);
	rs = execute_split(a, p, &split);
	if (differential) {
		fclose(whole.f);
		fclose(split.f);
		if (rw == 0 && rs == 0 && !same_rows(&whole, &split))
			check(0, "whole and split differ", NULL);
		free(whole.text);
		free(split.text);
	}
}

static void check_plans(struct kql_arena *a, const struct kql_query *q, bool differential)
{
	check(q->nresults > 0, "no result", NULL);
	for (size_t i = 0; i < q->nresults; i++) {
		char *text = kql_plan_text(q->results[i]);
		check(text != NULL && strstr(text, " -> (") != NULL, "a plan without columns",
		      text);
		free(text);
		compare(a, q->results[i], differential);
	}
}

static void bind(struct kql_arena *a, const struct kql_node *root, const uint8_t *data, size_t size)
{
	struct kql_query *q = NULL;
	struct kql_error e = {0};
	int r = kql_bind(a, root, &schema, &q, &e);

	if (r == 0)
		check_plans(a, q, !chooses(data, size));
	else
		check_error(&e, size, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_node *q = NULL;
	struct kql_error e = {0};
	char *dump;
	int r;

	if (a == NULL)
		return 0;
	r = kql_parse(a, (const char *)data, size, &q, &e);
	if (r == 0) {
		check(q != NULL && q->kind == KQL_N_QUERY, "no query root", NULL);
		dump = kql_ast_dump(q);
		check(dump != NULL && dump[0] == '(', "no dump", NULL);
		free(dump);
		bind(a, q, data, size);
	} else {
		check(r == -EINVAL, "an unexpected return", NULL);
		check_error(&e, size, false);
	}
	kql_arena_free(a);
	return 0;
}

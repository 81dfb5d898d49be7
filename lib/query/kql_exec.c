/*
 * kql_exec — runs a plan's SQL: prepare, bind every literal, step, and
 * hand each row over as kql_values typed by the plan's columns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "query/kql_exec_int.h"

int kql_exec_bind(sqlite3_stmt *st, int i, const struct kql_value *v, enum proto_coltype type)
{
	if (v->isnull)
		return sqlite3_bind_null(st, i);
	switch (type) {
	case PROTO_T_REAL:
		return sqlite3_bind_double(st, i, v->r);
	case PROTO_T_STRING:
	case PROTO_T_GUID:
	case PROTO_T_DECIMAL:
	case PROTO_T_DYNAMIC:
		return sqlite3_bind_text(st, i, v->s != NULL ? v->s : "", -1, SQLITE_STATIC);
	default:
		return sqlite3_bind_int64(st, i, v->i);
	}
}

static int bind_all(sqlite3_stmt *st, const struct kql_sql *sql)
{
	/* ?1 (now) may be unused: only the statement's parameters are bound. */
	size_t n = (size_t)sqlite3_bind_parameter_count(st);

	for (size_t i = 0; i < sql->nparams && i < n; i++)
		if (kql_exec_bind(st, (int)i + 1, &sql->params[i].v, sql->params[i].type) !=
		    SQLITE_OK)
			return -1;
	return 0;
}

/* Column c of the current row as the plan's type says. */
static void read_value(sqlite3_stmt *st, int c, enum proto_coltype type, struct kql_value *v)
{
	memset(v, 0, sizeof(*v));
	v->isnull = sqlite3_column_type(st, c) == SQLITE_NULL;
	if (v->isnull)
		return;
	switch (type) {
	case PROTO_T_REAL:
		v->r = sqlite3_column_double(st, c);
		break;
	case PROTO_T_STRING:
	case PROTO_T_GUID:
	case PROTO_T_DECIMAL:
	case PROTO_T_DYNAMIC:
		v->s = (const char *)sqlite3_column_text(st, c);
		break;
	default:
		v->i = sqlite3_column_int64(st, c);
		break;
	}
}

/* Why column c's value is none of its type's, or NULL.  SQLite turns an
 * integer overflow into a real (read back clamped: 2^63 - 1 + 1 was
 * 2^63 - 1, where .NET wraps), keeps an int's sum past 2^31 and a
 * datetime past year 9999 (datetime_add, + timespan): each is refused
 * rather than printed as a value Kusto never gives. */
static const char *out_of_type(int sqltype, const struct kql_value *v, enum proto_coltype type)
{
	bool integral = type == PROTO_T_INT || type == PROTO_T_LONG || type == PROTO_T_DATETIME ||
	                type == PROTO_T_TIMESPAN;

	if (v->isnull || !integral)
		return NULL;
	if (sqltype == SQLITE_FLOAT)
		return "overflows a 64-bit integer";
	if (type == PROTO_T_INT && (v->i < INT32_MIN || v->i > INT32_MAX))
		return "overflows an int";
	if (type == PROTO_T_DATETIME && (v->i < KQL_DT_MIN || v->i > KQL_DT_MAX))
		return "is a datetime outside 0001-01-01 .. 9999-12-31";
	return NULL;
}

/* A value refused on its way out: which column, and why. */
struct refusal {
	const char *col, *text;
};

static int step_rows(sqlite3_stmt *st, const struct kql_plan *p, kql_row_fn *row, void *arg,
                     struct kql_value *vals, struct refusal *why)
{
	int rc, r;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t c = 0; c < p->ncols; c++) {
			int sqltype = sqlite3_column_type(st, (int)c);

			read_value(st, (int)c, p->cols[c].type, &vals[c]);
			if (vals[c].isnull && p->cols[c].nan_if_null)
				vals[c] = (struct kql_value){.r = NAN};
			if ((why->text = out_of_type(sqltype, &vals[c], p->cols[c].type)) != NULL) {
				why->col = p->cols[c].name;
				return -ERANGE;
			}
		}
		if ((r = row(arg, vals, p->ncols)) != 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

int kql_exec_run(sqlite3 *db, const struct kql_plan *p, int64_t now, kql_row_fn *row, void *arg,
                 struct kql_error *err)
{
	return kql_exec_run_kept(db, NULL, p, now, row, arg, err);
}

/* The statement of sql on db: kept in stmts, or prepared. */
static int stmt_of(sqlite3 *db, struct kql_stmts *stmts, const char *sql, sqlite3_stmt **st)
{
	if ((*st = kql_stmts_take(stmts, sql)) != NULL)
		return SQLITE_OK;
	return sqlite3_prepare_v2(db, sql, -1, st, NULL);
}

int kql_exec_run_kept(sqlite3 *db, struct kql_stmts *stmts, const struct kql_plan *p, int64_t now,
                      kql_row_fn *row, void *arg, struct kql_error *err)
{
	struct kql_sql sql = {0};
	sqlite3_stmt *st = NULL;
	struct kql_value *vals = NULL;
	struct refusal why = {NULL, NULL};
	int r;

	if ((r = kql_sql_build(p, now, &sql, err)) != 0)
		return r;
	r = -1;
	if ((vals = calloc(p->ncols + 1, sizeof(*vals))) == NULL) {
		r = kql_err_set(err, KQL_E_NOMEM, p->pos, "out of memory");
		goto out;
	}
	if (stmt_of(db, stmts, sql.text, &st) != SQLITE_OK || bind_all(st, &sql) != 0)
		goto fail;
	if ((r = step_rows(st, p, row, arg, vals, &why)) >= 0) {
		/* only a statement that ran to its end (or its caller's stop) is kept */
		if (stmts && st) {
			kql_stmts_give(stmts, sql.text, st);
			st = NULL;
		}
		goto out;
	}
	if (why.text != NULL) {
		r = kql_err_set(err, KQL_E_UNSUPPORTED, p->pos,
		                "the value of column '%s' %s: not supported", why.col, why.text);
		goto out;
	}
fail:
	r = kql_exec_error(db, p->pos, err);
out:
	sqlite3_finalize(st);
	free(vals);
	kql_sql_clear(&sql);
	return r;
}

int kql_exec_error(sqlite3 *db, struct kql_pos pos, struct kql_error *err)
{
	const char *msg = sqlite3_errmsg(db);
	unsigned line, col;
	int n = 0;

	/* SQLITE_TOOBIG is the memory budget (kql_exec_bound, the counted
	 * aggregates). */
	if (sqlite3_errcode(db) == SQLITE_TOOBIG)
		return kql_err_set(err, KQL_E_RUNAWAY, pos,
		                   "an operator has exceeded the memory budget of the query during "
		                   "evaluation");
	if (strncmp(msg, KQL_EXEC_AT, strlen(KQL_EXEC_AT)) == 0 &&
	    sscanf(msg + strlen(KQL_EXEC_AT), "%u:%u:%n", &line, &col, &n) == 2 && n > 0) {
		pos = (struct kql_pos){0, line, col};
		return kql_err_set(err, KQL_E_UNSUPPORTED, pos, "%s",
		                   msg + strlen(KQL_EXEC_AT) + n);
	}
	/* The engine's message names no file or SQL of ours that a user
	 * could not see in the plan; it is still kept short. */
	return kql_err_set(err, KQL_E_TYPE, pos, "the query failed in the engine: %.120s", msg);
}

int kql_exec_bound(sqlite3 *db, uint64_t limit)
{
	char sql[160];
	long long kib = (long long)(limit / 1024);

	if (limit == 0)
		return 0;
	/* negative cache_size: KiB; at least SQLite's floor of 10 pages */
	(void)snprintf(sql, sizeof(sql),
	               "PRAGMA temp_store = FILE; PRAGMA main.cache_size = -%lld; "
	               "PRAGMA temp.cache_size = -%lld",
	               kib / 4 > 64 ? kib / 4 : 64, kib / 8 > 64 ? kib / 8 : 64);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	(void)sqlite3_limit(db, SQLITE_LIMIT_LENGTH,
	                    limit / 2 < INT32_MAX ? (int)(limit / 2) : INT32_MAX);
	return 0;
}

char *kql_exec_sql(const struct kql_plan *p)
{
	struct kql_sql sql = {0};
	struct kql_error err = {0};
	char *text;

	if (kql_sql_build(p, 0, &sql, &err) != 0)
		return NULL;
	text = sql.text;
	sql.text = NULL;
	kql_sql_clear(&sql);
	return text;
}

/*
 * kql_plan — the plan printer.  One line per operator, inputs indented
 * below it, expressions written back as KQL-like text with column names
 * taken from the operator's input, so a test reads like the query.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_func.h"
#include "query/kql_plan.h"
#include "util/timefmt.h"

static const char *const kind_names[] = {
    [KQL_P_SCAN] = "scan",          [KQL_P_VALUES] = "values",   [KQL_P_RANGE] = "range",
    [KQL_P_FILTER] = "filter",      [KQL_P_PROJECT] = "project", [KQL_P_AGGREGATE] = "aggregate",
    [KQL_P_SORT] = "sort",          [KQL_P_TOP] = "top",         [KQL_P_TAKE] = "take",
    [KQL_P_DISTINCT] = "distinct",  [KQL_P_UNION] = "union",     [KQL_P_JOIN] = "join",
    [KQL_P_MVEXPAND] = "mv-expand",
};

const char *kql_plan_kind_name(enum kql_plan_kind k)
{
	return k <= KQL_P_MVEXPAND ? kind_names[k] : "?";
}

static void print_lit(FILE *f, const struct kql_expr *e)
{
	char buf[TIMEFMT_DATETIME_LEN + TIMEFMT_TIMESPAN_LEN];

	if (e->isnull) {
		fprintf(f, "%s(null)", proto_coltype_name(e->type));
		return;
	}
	switch (e->type) {
	case PROTO_T_BOOL:
		fputs(e->i ? "true" : "false", f);
		break;
	case PROTO_T_INT:
		fprintf(f, "int(%" PRId64 ")", e->i);
		break;
	case PROTO_T_LONG:
		fprintf(f, "%" PRId64, e->i);
		break;
	case PROTO_T_REAL:
		fprintf(f, "real(%.17g)", e->r);
		break;
	case PROTO_T_DATETIME:
		fprintf(f, "datetime(%s)", timefmt_format_datetime(e->i, buf));
		break;
	case PROTO_T_TIMESPAN:
		fprintf(f, "timespan(%s)", timefmt_format_timespan(e->i, buf));
		break;
	case PROTO_T_STRING:
		fprintf(f, "\"%s\"", e->s);
		break;
	default:
		fprintf(f, "%s(%s)", proto_coltype_name(e->type), e->s);
		break;
	}
}

static void print_args(FILE *f, const struct kql_expr *e, size_t from, const struct kql_plan *in)
{
	for (size_t i = from; i < e->nargs; i++) {
		if (i > from)
			fputs(", ", f);
		kql_expr_print(f, e->args[i], in);
	}
}

static void print_op(FILE *f, const struct kql_expr *e, const struct kql_plan *in)
{
	if (e->op == KQL_OP_NEG) {
		fputc('-', f);
		kql_expr_print(f, e->args[0], in);
	} else if (e->op >= KQL_OP_IN && e->op <= KQL_OP_NOT_IN_CI) {
		kql_expr_print(f, e->args[0], in);
		fprintf(f, " %s (", kql_op_name(e->op));
		print_args(f, e, 1, in);
		fputc(')', f);
	} else if (e->op == KQL_OP_BETWEEN || e->op == KQL_OP_NOT_BETWEEN) {
		kql_expr_print(f, e->args[0], in);
		fprintf(f, " %s (", kql_op_name(e->op));
		kql_expr_print(f, e->args[1], in);
		fputs(" .. ", f);
		kql_expr_print(f, e->args[2], in);
		fputc(')', f);
	} else {
		fputc('(', f);
		kql_expr_print(f, e->args[0], in);
		fprintf(f, " %s ", kql_op_name(e->op));
		kql_expr_print(f, e->args[1], in);
		fputc(')', f);
	}
}

void kql_expr_print(FILE *f, const struct kql_expr *e, const struct kql_plan *in)
{
	switch (e->kind) {
	case KQL_E_COL:
		if (e->side != 0)
			fputs(e->side == 1 ? "$left." : "$right.", f);
		if (in != NULL && e->side == 0 && (size_t)e->col < in->ncols)
			fputs(in->cols[e->col].name, f);
		else
			fprintf(f, "#%d", e->col);
		break;
	case KQL_E_LIT:
		print_lit(f, e);
		break;
	case KQL_E_OP:
		print_op(f, e, in);
		break;
	case KQL_E_CALL:
		fprintf(f, "%s(", e->fn == KQL_F_DYN_GET ? "get" : kql_func_get(e->fn)->name);
		print_args(f, e, 0, in);
		fputc(')', f);
		break;
	case KQL_E_STAR:
		fputc('*', f);
		break;
	}
}

static void print_exprs(FILE *f, const char *label, struct kql_expr **v, size_t n,
                        const struct kql_plan *in)
{
	fprintf(f, " %s=[", label);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			fputs(", ", f);
		kql_expr_print(f, v[i], in);
	}
	fputc(']', f);
}

static void print_sort(FILE *f, const struct kql_plan *p)
{
	fputs(" by=[", f);
	for (size_t i = 0; i < p->nsortkeys; i++) {
		if (i > 0)
			fputs(", ", f);
		kql_expr_print(f, p->keys[i].e, p->in[0]);
		fprintf(f, " %s nulls %s", p->keys[i].asc ? "asc" : "desc",
		        p->keys[i].nulls_first ? "first" : "last");
	}
	fputc(']', f);
}

static void print_scan(FILE *f, const struct kql_plan *p)
{
	size_t n = 0;

	fprintf(f, " %s%s%s reads=[", p->db != NULL ? p->db : "", p->db != NULL ? "." : "",
	        p->table);
	for (size_t c = 0; c < p->ncols; c++)
		if (p->reads[c])
			fprintf(f, "%s%s", n++ > 0 ? ", " : "", p->cols[c].name);
	fputc(']', f);
	for (size_t i = 0; i < p->nbounds; i++) {
		const struct kql_timebound *b = &p->bounds[i];
		fputs(" [", f);
		if (b->op != KQL_OP_IN)
			fprintf(f, "%s %s ",
			        b->col == KQL_BOUND_INGEST ? "ingestion_time()"
			                                   : p->cols[b->col].name,
			        kql_op_name(b->op));
		kql_expr_print(f, b->value, p);
		fputc(']', f);
	}
}

static void print_join(FILE *f, const struct kql_plan *p)
{
	fprintf(f, " kind=%s on=[", kql_join_kind_name(p->join));
	for (size_t i = 0; i < p->njoinkeys; i++)
		fprintf(f, "%s$left.%s == $right.%s", i > 0 ? ", " : "",
		        p->in[0]->cols[p->lkeys[i]].name, p->in[1]->cols[p->rkeys[i]].name);
	fputc(']', f);
}

static void print_details(FILE *f, const struct kql_plan *p)
{
	const struct kql_plan *in = p->nin > 0 ? p->in[0] : NULL;

	switch (p->kind) {
	case KQL_P_SCAN:
		print_scan(f, p);
		break;
	case KQL_P_VALUES:
		fprintf(f, " rows=%zu", p->nrows);
		break;
	case KQL_P_RANGE:
		print_exprs(f, "from,to,step", p->exprs, 3, NULL);
		break;
	case KQL_P_FILTER:
	case KQL_P_PROJECT:
		print_exprs(f, "", p->exprs, p->nexprs, in);
		break;
	case KQL_P_AGGREGATE:
		print_exprs(f, "keys", p->exprs, p->nkeys, in);
		print_exprs(f, "aggs", p->exprs + p->nkeys, p->nexprs - p->nkeys, in);
		break;
	case KQL_P_TOP:
	case KQL_P_TAKE:
		fputs(" limit=", f);
		kql_expr_print(f, p->limit, NULL);
		if (p->kind == KQL_P_TOP)
			print_sort(f, p);
		break;
	case KQL_P_SORT:
		print_sort(f, p);
		break;
	case KQL_P_JOIN:
		print_join(f, p);
		break;
	case KQL_P_MVEXPAND:
		for (size_t i = 0; i < p->nexpand; i++)
			fprintf(f, " %s", in->cols[p->expand[i]].name);
		break;
	default:
		break;
	}
}

static void print_node(FILE *f, const struct kql_plan *p, int depth)
{
	fprintf(f, "%*s%s", depth * 2, "", kql_plan_kind_name(p->kind));
	print_details(f, p);
	fputs(p->ingest ? " +ingestion_time -> (" : " -> (", f);
	for (size_t i = 0; i < p->ncols; i++)
		fprintf(f, "%s%s:%s", i > 0 ? ", " : "", p->cols[i].name,
		        proto_coltype_name(p->cols[i].type));
	fputs(")\n", f);
	for (size_t i = 0; i < p->nin; i++)
		print_node(f, p->in[i], depth + 1);
}

int kql_plan_print(FILE *f, const struct kql_plan *p)
{
	print_node(f, p, 0);
	return ferror(f) ? -EIO : 0;
}

char *kql_plan_text(const struct kql_plan *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	(void)kql_plan_print(f, p);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- NaN passed on (avg of no values) ---- */

static bool nan_op(const struct kql_expr *e)
{
	if (e->kind == KQL_E_OP)
		return (e->op >= KQL_OP_ADD && e->op <= KQL_OP_DIV) || e->op == KQL_OP_NEG;
	switch (e->kind == KQL_E_CALL ? e->fn : KQL_F_COUNT_FNS) {
	case KQL_F_ROUND:
	case KQL_F_ABS:
	case KQL_F_CEILING:
	case KQL_F_SQRT:
	case KQL_F_EXP:
	case KQL_F_LOG:
	case KQL_F_LOG10:
	case KQL_F_TOREAL:
	case KQL_F_LOG2:
	case KQL_F_EXP2:
	case KQL_F_EXP10:
	case KQL_F_COS:
	case KQL_F_SIN:
	case KQL_F_TAN:
	case KQL_F_ACOS:
	case KQL_F_ASIN:
	case KQL_F_ATAN:
	case KQL_F_COT:
	case KQL_F_DEGREES:
	case KQL_F_RADIANS:
	case KQL_F_SIGN:
		return true;
	default:
		return false;
	}
}

static bool number_literal(const struct kql_expr *e)
{
	return e->kind == KQL_E_LIT && !e->isnull &&
	       (e->type == PROTO_T_REAL || e->type == PROTO_T_LONG || e->type == PROTO_T_INT);
}

bool kql_expr_keeps_nan(const struct kql_expr *e, const struct kql_plan *in)
{
	bool nan = false;

	if (in == NULL)
		return false;
	if (e->kind == KQL_E_COL)
		return e->side == 0 && e->col >= 0 && (size_t)e->col < in->ncols &&
		       in->cols[e->col].nan_if_null;
	if (e->type != PROTO_T_REAL || !nan_op(e))
		return false;
	for (size_t i = 0; i < e->nargs; i++) {
		if (kql_expr_keeps_nan(e->args[i], in))
			nan = true;
		else if (!number_literal(e->args[i]))
			return false;
	}
	return nan;
}

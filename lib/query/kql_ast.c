/*
 * kql_ast — node construction, the name tables for kinds and operators, and
 * the S-expression dump the parser's tests compare against.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_ast.h"
#include "util/timefmt.h"

static const char *const kind_names[KQL_N_NKINDS] = {
    [KQL_N_QUERY] = "query",
    [KQL_N_SET] = "set",
    [KQL_N_LET] = "let",
    [KQL_N_FUNC] = "func",
    [KQL_N_PARAM] = "param",
    [KQL_N_BODY] = "body",
    [KQL_N_DECLARE] = "declare",
    [KQL_N_PIPE] = "pipe",
    [KQL_N_TABLE] = "table",
    [KQL_N_PATTERN] = "pattern",
    [KQL_N_DATATABLE] = "datatable",
    [KQL_N_COLDEF] = "coldef",
    [KQL_N_PRINT] = "print",
    [KQL_N_RANGE] = "range",
    [KQL_N_UNION] = "union",
    [KQL_N_WHERE] = "where",
    [KQL_N_PROJECT] = "project",
    [KQL_N_PROJECT_AWAY] = "project-away",
    [KQL_N_PROJECT_RENAME] = "project-rename",
    [KQL_N_PROJECT_KEEP] = "project-keep",
    [KQL_N_PROJECT_REORDER] = "project-reorder",
    [KQL_N_EXTEND] = "extend",
    [KQL_N_SUMMARIZE] = "summarize",
    [KQL_N_LIST] = "list",
    [KQL_N_COUNT] = "count",
    [KQL_N_TAKE] = "take",
    [KQL_N_TOP] = "top",
    [KQL_N_SORT] = "sort",
    [KQL_N_SORTKEY] = "key",
    [KQL_N_DISTINCT] = "distinct",
    [KQL_N_JOIN] = "join",
    [KQL_N_LOOKUP] = "lookup",
    [KQL_N_JOINEQ] = "on",
    [KQL_N_MVEXPAND] = "mv-expand",
    [KQL_N_MVCOL] = "mvcol",
    [KQL_N_AS] = "as",
    [KQL_N_RENDER] = "render",
    [KQL_N_GETSCHEMA] = "getschema",
    [KQL_N_LIT] = "lit",
    [KQL_N_NAME] = "name",
    [KQL_N_BINARY] = "binary",
    [KQL_N_UNARY] = "unary",
    [KQL_N_CALL] = "call",
    [KQL_N_MEMBER] = "member",
    [KQL_N_INDEX] = "index",
    [KQL_N_IN] = "in",
    [KQL_N_BETWEEN] = "between",
    [KQL_N_ASSIGN] = "=",
    [KQL_N_STAR] = "*",
};

static const char *const op_names[KQL_OP_COUNT] = {
    [KQL_OP_OR] = "or",
    [KQL_OP_AND] = "and",
    [KQL_OP_EQ] = "==",
    [KQL_OP_NE] = "!=",
    [KQL_OP_LT] = "<",
    [KQL_OP_LE] = "<=",
    [KQL_OP_GT] = ">",
    [KQL_OP_GE] = ">=",
    [KQL_OP_EQ_CI] = "=~",
    [KQL_OP_NE_CI] = "!~",
    [KQL_OP_ADD] = "+",
    [KQL_OP_SUB] = "-",
    [KQL_OP_MUL] = "*",
    [KQL_OP_DIV] = "/",
    [KQL_OP_MOD] = "%",
    [KQL_OP_NEG] = "neg",
    [KQL_OP_PLUS] = "pos",
    [KQL_OP_HAS] = "has",
    [KQL_OP_NOT_HAS] = "!has",
    [KQL_OP_HAS_CS] = "has_cs",
    [KQL_OP_NOT_HAS_CS] = "!has_cs",
    [KQL_OP_HASPREFIX] = "hasprefix",
    [KQL_OP_NOT_HASPREFIX] = "!hasprefix",
    [KQL_OP_HASPREFIX_CS] = "hasprefix_cs",
    [KQL_OP_NOT_HASPREFIX_CS] = "!hasprefix_cs",
    [KQL_OP_HASSUFFIX] = "hassuffix",
    [KQL_OP_NOT_HASSUFFIX] = "!hassuffix",
    [KQL_OP_HASSUFFIX_CS] = "hassuffix_cs",
    [KQL_OP_NOT_HASSUFFIX_CS] = "!hassuffix_cs",
    [KQL_OP_CONTAINS] = "contains",
    [KQL_OP_NOT_CONTAINS] = "!contains",
    [KQL_OP_CONTAINS_CS] = "contains_cs",
    [KQL_OP_NOT_CONTAINS_CS] = "!contains_cs",
    [KQL_OP_STARTSWITH] = "startswith",
    [KQL_OP_NOT_STARTSWITH] = "!startswith",
    [KQL_OP_STARTSWITH_CS] = "startswith_cs",
    [KQL_OP_NOT_STARTSWITH_CS] = "!startswith_cs",
    [KQL_OP_ENDSWITH] = "endswith",
    [KQL_OP_NOT_ENDSWITH] = "!endswith",
    [KQL_OP_ENDSWITH_CS] = "endswith_cs",
    [KQL_OP_NOT_ENDSWITH_CS] = "!endswith_cs",
    [KQL_OP_MATCHES_REGEX] = "matches regex",
    [KQL_OP_IN] = "in",
    [KQL_OP_NOT_IN] = "!in",
    [KQL_OP_IN_CI] = "in~",
    [KQL_OP_NOT_IN_CI] = "!in~",
    [KQL_OP_BETWEEN] = "between",
    [KQL_OP_NOT_BETWEEN] = "!between",
    [KQL_OP_HAS_ANY] = "has_any",
    [KQL_OP_HAS_ALL] = "has_all",
};

static const char *const join_names[KQL_JOIN_COUNT] = {
    "innerunique", "inner",     "leftouter", "rightouter", "fullouter",
    "leftanti",    "rightanti", "leftsemi",  "rightsemi",
};

struct kql_node *kql_ast_new(struct kql_arena *a, enum kql_node_kind kind, struct kql_pos pos)
{
	struct kql_node *n = kql_arena_alloc(a, sizeof(*n));

	if (n != NULL) {
		n->kind = kind;
		n->pos = pos;
	}
	return n;
}

struct kql_node *kql_ast_add(struct kql_node *n, struct kql_node *kid)
{
	if (kid == NULL)
		return NULL;
	if (n->last != NULL)
		n->last->next = kid;
	else
		n->kids = kid;
	n->last = kid;
	n->nkids++;
	if (kid->height + 1 > n->height)
		n->height = kid->height + 1;
	return kid;
}

struct kql_node *kql_ast_kid(const struct kql_node *n, size_t i)
{
	struct kql_node *k = n->kids;

	while (k != NULL && i-- > 0)
		k = k->next;
	return k;
}

const char *kql_ast_kind_name(enum kql_node_kind k)
{
	return k < KQL_N_NKINDS ? kind_names[k] : "?";
}

const char *kql_op_name(enum kql_op op)
{
	return op < KQL_OP_COUNT ? op_names[op] : "?";
}

const char *kql_join_kind_name(enum kql_join_kind k)
{
	return k < KQL_JOIN_COUNT ? join_names[k] : "?";
}

int kql_op_lookup(const char *word)
{
	for (int op = 0; op < KQL_OP_COUNT; op++)
		if (op != KQL_OP_NEG && op != KQL_OP_PLUS && strcmp(op_names[op], word) == 0)
			return op;
	if (strcmp(word, "<>") == 0)
		return KQL_OP_NE;
	return -1;
}

/* ---- dump ---- */

static void dump_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s < 0x20)
			fprintf(f, "\\x%02x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void dump_lit(FILE *f, const struct kql_node *n)
{
	char buf[TIMEFMT_TIMESPAN_LEN + TIMEFMT_DATETIME_LEN];

	fprintf(f, "%s ", proto_coltype_name(n->type));
	if (n->isnull) {
		fputs("null", f);
		return;
	}
	switch (n->type) {
	case PROTO_T_BOOL:
		fputs(n->i ? "true" : "false", f);
		break;
	case PROTO_T_INT:
	case PROTO_T_LONG:
		fprintf(f, "%" PRId64, n->i);
		break;
	case PROTO_T_REAL:
		fprintf(f, "%.17g", n->r);
		break;
	case PROTO_T_DATETIME:
		fputs(timefmt_format_datetime(n->i, buf), f);
		break;
	case PROTO_T_TIMESPAN:
		fputs(timefmt_format_timespan(n->i, buf), f);
		break;
	default:
		dump_string(f, n->str != NULL ? n->str : "");
		break;
	}
}

/* The fields of n that its kind uses, after the kind's name. */
static void dump_fields(FILE *f, const struct kql_node *n)
{
	if (n->kind == KQL_N_LIT) {
		dump_lit(f, n);
		return;
	}
	if (n->kind == KQL_N_BINARY || n->kind == KQL_N_UNARY || n->kind == KQL_N_IN ||
	    n->kind == KQL_N_BETWEEN)
		fprintf(f, "%s", kql_op_name(n->op));
	else if (n->kind == KQL_N_JOIN || n->kind == KQL_N_LOOKUP)
		fprintf(f, "%s", kql_join_kind_name(n->op));
	else if (n->kind == KQL_N_SORTKEY)
		fprintf(f, "%s%s", n->op & KQL_SORT_ASC ? "asc" : "desc",
		        !(n->op & KQL_SORT_NULLS_SET)  ? ""
		        : n->op & KQL_SORT_NULLS_FIRST ? " nulls-first"
		                                       : " nulls-last");
	else if (n->kind == KQL_N_UNION)
		fprintf(f, "%s", n->op == KQL_UNION_INNER ? "inner" : "outer");
	if (n->kind == KQL_N_NAME && n->op != 0)
		fprintf(f, "%s", n->op == 1 ? "$left." : "$right.");
	if (n->name != NULL)
		fprintf(f, "%s", n->name);
	if ((n->kind == KQL_N_TABLE || n->kind == KQL_N_PATTERN) && n->str != NULL)
		fprintf(f, " db=%s", n->str);
	if (n->kind == KQL_N_UNION && n->str != NULL)
		fprintf(f, " withsource=%s", n->str);
	if (n->kind == KQL_N_COLDEF || (n->kind == KQL_N_PARAM && n->op == 0) ||
	    (n->kind == KQL_N_MVCOL && n->op == 1))
		fprintf(f, ":%s", proto_coltype_name(n->type));
	if (n->kind == KQL_N_PARAM && n->op == 1)
		fprintf(f, ":(*)");
	if (n->kind == KQL_N_MVEXPAND && n->i >= 0)
		fprintf(f, "limit %" PRId64, n->i);
	if ((n->kind == KQL_N_NAME || n->kind == KQL_N_PATTERN) && (n->i == 1 || n->i == 2))
		fprintf(f, " %s", n->i == 1 ? "asc" : "desc"); /* project-reorder's */
}

static void dump_node(FILE *f, const struct kql_node *n)
{
	char *fields = NULL;
	size_t len = 0;
	FILE *g = open_memstream(&fields, &len);

	fprintf(f, "(%s", kql_ast_kind_name(n->kind));
	if (g != NULL) {
		/* Printed apart first so that a kind without fields gets no space. */
		dump_fields(g, n);
		if (fclose(g) == 0 && len > 0)
			fprintf(f, " %s", fields);
		free(fields);
	}
	for (const struct kql_node *k = n->kids; k != NULL; k = k->next) {
		fputc(' ', f);
		dump_node(f, k);
	}
	fputc(')', f);
}

char *kql_ast_dump(const struct kql_node *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	if (n != NULL)
		dump_node(f, n);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

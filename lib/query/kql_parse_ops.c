/*
 * kql_parse_ops — the tabular operators that follow '|', one parse
 * function each, found by name in one table.  KQL's operators outside the
 * follower's subset are listed too, without a function, so that they are
 * refused by name ("the 'mv-apply' operator is not supported") and never
 * half-understood.
 */
#include <stdio.h>
#include <string.h>

#include "query/kql_parse_int.h"

typedef struct kql_node *parse_fn(struct kql_parser *p, struct kql_node *n);

static struct kql_node *parse_where(struct kql_parser *p, struct kql_node *n)
{
	return kql_ast_add(n, kqlp_expr(p)) != NULL ? n : NULL;
}

static struct kql_node *parse_list(struct kql_parser *p, struct kql_node *n)
{
	return kqlp_items(p, n);
}

/* A column name or a wildcard name (KQL_N_PATTERN), appended to n. */
static struct kql_node *name_item(struct kql_parser *p, struct kql_node *n)
{
	struct kql_node *k = kql_ast_add(n, kqlp_node(p, KQL_N_NAME));

	if (k == NULL)
		return NULL;
	if (kqlp_at_pattern(p) ? kqlp_pattern(p, k) == NULL
	                       : (k->name = kqlp_name(p, "a column name")) == NULL)
		return NULL;
	return k;
}

/* project-away (and project-keep) a, b, P*, *Id: names and wildcard names. */
static struct kql_node *parse_names(struct kql_parser *p, struct kql_node *n)
{
	do {
		if (name_item(p, n) == NULL)
			return NULL;
	} while (kqlp_accept(p, ","));
	return n;
}

/* project-reorder b, a* asc, *Id desc: names and wildcard names, each with
 * the order of the columns a pattern matches (i: 0 as they come, 1 by
 * name ascending, 2 descending).  granny-asc and granny-desc (numbers in
 * names compared as numbers) are refused: their page describes them two
 * ways. */
static struct kql_node *parse_reorder(struct kql_parser *p, struct kql_node *n)
{
	struct kql_node *k;

	do {
		if ((k = name_item(p, n)) == NULL)
			return NULL;
		if (kqlp_word(p, 0, "granny") && kqlp_punct(p, 1, "-"))
			return kqlp_unsupported(p, kqlp_tok(p, 0), "order of project-reorder",
			                        kqlp_word(p, 2, "desc") ? "granny-desc"
			                                                : "granny-asc");
		k->i = kqlp_accept(p, "asc") ? 1 : kqlp_accept(p, "desc") ? 2 : 0;
	} while (kqlp_accept(p, ","));
	return n;
}

/* project-rename new = old, ... */
static struct kql_node *parse_renames(struct kql_parser *p, struct kql_node *n)
{
	struct kql_node *a, *old;

	do {
		if ((a = kql_ast_add(n, kqlp_node(p, KQL_N_ASSIGN))) == NULL ||
		    (a->name = kqlp_name(p, "a new column name")) == NULL || !kqlp_expect(p, "=") ||
		    (old = kql_ast_add(a, kqlp_node(p, KQL_N_NAME))) == NULL ||
		    (old->name = kqlp_name(p, "a column name")) == NULL)
			return NULL;
	} while (kqlp_accept(p, ","));
	return n;
}

static bool no_param(struct kql_parser *p, struct kql_node *n, const char *name,
                     const struct kql_tok *v)
{
	return true;
}

static struct kql_node *parse_summarize(struct kql_parser *p, struct kql_node *n)
{
	static const char *const known[] = {NULL};
	struct kql_node *aggs, *keys;

	if (!kqlp_params(p, n, known, no_param) ||
	    (aggs = kql_ast_add(n, kqlp_node(p, KQL_N_LIST))) == NULL ||
	    (keys = kql_ast_add(n, kqlp_node(p, KQL_N_LIST))) == NULL)
		return NULL;
	if (!kqlp_word(p, 0, "by") && !kqlp_at_end(p) && kqlp_items(p, aggs) == NULL)
		return NULL;
	if (kqlp_accept(p, "by") && kqlp_items(p, keys) == NULL)
		return NULL;
	if (aggs->nkids == 0 && keys->nkids == 0)
		return kqlp_expected(p, "an aggregate or 'by'");
	return n;
}

static struct kql_node *parse_count(struct kql_parser *p, struct kql_node *n)
{
	return n;
}

static struct kql_node *parse_take(struct kql_parser *p, struct kql_node *n)
{
	return kql_ast_add(n, kqlp_expr(p)) != NULL ? n : NULL;
}

/* expr [asc|desc] [nulls first|last] */
static struct kql_node *parse_sortkey(struct kql_parser *p)
{
	struct kql_node *k = kqlp_node(p, KQL_N_SORTKEY);

	if (k == NULL || kql_ast_add(k, kqlp_expr(p)) == NULL)
		return NULL;
	if (kqlp_accept(p, "asc"))
		k->op |= KQL_SORT_ASC;
	else
		(void)kqlp_accept(p, "desc");
	if (kqlp_accept(p, "nulls")) {
		k->op |= KQL_SORT_NULLS_SET;
		if (kqlp_accept(p, "first"))
			k->op |= KQL_SORT_NULLS_FIRST;
		else if (!kqlp_expect(p, "last"))
			return NULL;
	}
	return k;
}

static struct kql_node *parse_sortkeys(struct kql_parser *p, struct kql_node *n)
{
	if (!kqlp_expect(p, "by"))
		return NULL;
	do {
		if (kql_ast_add(n, parse_sortkey(p)) == NULL)
			return NULL;
	} while (kqlp_accept(p, ","));
	return n;
}

static struct kql_node *parse_top(struct kql_parser *p, struct kql_node *n)
{
	return kql_ast_add(n, kqlp_expr(p)) != NULL ? parse_sortkeys(p, n) : NULL;
}

static struct kql_node *parse_distinct(struct kql_parser *p, struct kql_node *n)
{
	if (kqlp_punct(p, 0, "*")) {
		p->i++;
		return kql_ast_add(n, kql_ast_new(p->a, KQL_N_STAR, n->pos)) ? n : kqlp_nomem(p);
	}
	return kqlp_items(p, n);
}

static bool set_union_param(struct kql_parser *p, struct kql_node *n, const char *name,
                            const struct kql_tok *v)
{
	if (strcmp(name, "withsource") == 0) {
		n->str = v->text;
		return true;
	}
	if (strcmp(name, "isfuzzy") == 0) {
		n->i = strcmp(v->text, "true") == 0; /* its legs resolved fuzzily */
		return true;
	}
	if (strcmp(v->text, "outer") == 0 || strcmp(v->text, "inner") == 0) {
		n->op = v->text[0] == 'i' ? KQL_UNION_INNER : KQL_UNION_OUTER;
		return true;
	}
	return kqlp_unsupported(p, v, "union kind", v->text) != NULL;
}

static struct kql_node *parse_union(struct kql_parser *p, struct kql_node *n)
{
	static const char *const known[] = {"kind", "withsource", "isfuzzy", NULL};

	if (!kqlp_params(p, n, known, set_union_param))
		return NULL;
	do {
		if (kql_ast_add(n, kqlp_table_ref(p, true)) == NULL)
			return NULL;
	} while (kqlp_accept(p, ","));
	return n;
}

static bool set_join_param(struct kql_parser *p, struct kql_node *n, const char *name,
                           const struct kql_tok *v)
{
	for (int k = 0; k < KQL_JOIN_COUNT; k++)
		if (strcmp(v->text, kql_join_kind_name((enum kql_join_kind)k)) == 0) {
			n->op = k;
			return true;
		}
	if (strcmp(v->text, "anti") == 0 || strcmp(v->text, "leftantisemi") == 0) {
		n->op = KQL_JOIN_LEFTANTI;
		return true;
	}
	if (strcmp(v->text, "rightantisemi") == 0) {
		n->op = KQL_JOIN_RIGHTANTI;
		return true;
	}
	return kqlp_unsupported(p, v, "join kind", v->text) != NULL;
}

/* $left.a or $right.b: a name marked 1 or 2, else NULL. */
static struct kql_node *side_name(struct kql_node *e)
{
	if (e->kind != KQL_N_MEMBER || e->kids->kind != KQL_N_NAME)
		return NULL;
	if (strcmp(e->kids->name, "$left") != 0 && strcmp(e->kids->name, "$right") != 0)
		return NULL;
	e->kids->op = e->kids->name[1] == 'l' ? 1 : 2;
	e->kids->name = e->name;
	e->kids->pos = e->pos;
	return e->kids;
}

/* One condition of on: a column name, or $left.a == $right.b (possibly
 * several joined by 'and'). */
static bool add_condition(struct kql_parser *p, struct kql_node *n, struct kql_node *e)
{
	struct kql_node *l, *r, *eq;

	if (e->kind == KQL_N_NAME && e->op == 0) {
		kql_ast_add(n, e);
		return true;
	}
	if (e->kind == KQL_N_BINARY && e->op == KQL_OP_AND)
		return add_condition(p, n, e->kids) && add_condition(p, n, e->kids->next);
	if (e->kind != KQL_N_BINARY || e->op != KQL_OP_EQ || (l = side_name(e->kids)) == NULL ||
	    (r = side_name(e->kids->next)) == NULL || l->op == r->op) {
		const char *at = p->src + e->pos.off;
		(void)kql_err_syntax(p->err, e->pos, at, kqlp_span(p, e->pos.off, " \t\r\n,|"),
		                     "expected a column name or $left.a == $right.b");
		return false;
	}
	if ((eq = kql_ast_add(n, kql_ast_new(p->a, KQL_N_JOINEQ, e->pos))) == NULL)
		return kqlp_nomem(p) != NULL;
	kql_ast_add(eq, l->op == 1 ? l : r);
	kql_ast_add(eq, l->op == 1 ? r : l);
	return true;
}

static struct kql_node *parse_join(struct kql_parser *p, struct kql_node *n)
{
	static const char *const known[] = {"kind", NULL};
	struct kql_node *e;

	if (n->kind == KQL_N_LOOKUP)
		n->op = KQL_JOIN_LEFTOUTER;
	if (!kqlp_params(p, n, known, set_join_param) ||
	    kql_ast_add(n, kqlp_table_ref(p, false)) == NULL)
		return NULL;
	if (n->kind == KQL_N_LOOKUP && n->op != KQL_JOIN_LEFTOUTER && n->op != KQL_JOIN_INNER)
		return kqlp_unsupported(p, kqlp_tok(p, 0), "lookup kind",
		                        kql_join_kind_name(n->op));
	if (!kqlp_expect(p, "on"))
		return NULL;
	do {
		if ((e = kqlp_expr(p)) == NULL || !add_condition(p, n, e))
			return NULL;
	} while (kqlp_accept(p, ","));
	return n;
}

static bool set_mv_param(struct kql_parser *p, struct kql_node *n, const char *name,
                         const struct kql_tok *v)
{
	if (strcmp(name, "with_itemindex") == 0) {
		n->str = v->text;
		return true;
	}
	if (strcmp(v->text, "bag") == 0 || strcmp(v->text, "array") == 0) {
		n->op = strcmp(v->text, "array") == 0;
		return true;
	}
	return kqlp_unsupported(p, v, "bagexpansion", v->text) != NULL;
}

/* [name =] expr [to typeof(T)] */
static struct kql_node *parse_mvcol(struct kql_parser *p)
{
	struct kql_node *c = kqlp_node(p, KQL_N_MVCOL);
	int type;

	if (c == NULL)
		return NULL;
	if (kqlp_at_assign(p) &&
	    ((c->name = kqlp_name(p, "a name")) == NULL || !kqlp_expect(p, "=")))
		return NULL;
	if (kql_ast_add(c, kqlp_expr(p)) == NULL)
		return NULL;
	if (kqlp_accept(p, "to")) {
		if (!kqlp_expect(p, "typeof") || !kqlp_expect(p, "(") ||
		    (type = kqlp_type(p)) < 0 || !kqlp_expect(p, ")"))
			return NULL;
		c->op = 1;
		c->type = (enum proto_coltype)type;
	}
	return c;
}

static struct kql_node *parse_mvexpand(struct kql_parser *p, struct kql_node *n)
{
	static const char *const known[] = {"bagexpansion", "with_itemindex", "kind", NULL};

	n->i = -1;
	if (!kqlp_params(p, n, known, set_mv_param))
		return NULL;
	do {
		if (kql_ast_add(n, parse_mvcol(p)) == NULL)
			return NULL;
	} while (kqlp_accept(p, ","));
	if (kqlp_accept(p, "limit")) {
		if (kqlp_tok(p, 0)->kind != KQL_T_LONG || kqlp_tok(p, 0)->i < 0)
			return kqlp_expected(p, "a row limit");
		n->i = kqlp_tok(p, 0)->i;
		p->i++;
	}
	return n;
}

static struct kql_node *parse_as(struct kql_parser *p, struct kql_node *n)
{
	static const char *const known[] = {NULL};

	if (!kqlp_params(p, n, known, no_param))
		return NULL;
	return (n->name = kqlp_name(p, "a name")) != NULL ? n : NULL;
}

static struct kql_node *parse_render(struct kql_parser *p, struct kql_node *n)
{
	if ((n->name = kqlp_name(p, "a visualization")) == NULL)
		return NULL;
	if (!kqlp_accept(p, "with"))
		return n;
	if (!kqlp_expect(p, "(") || kqlp_items(p, n) == NULL || !kqlp_expect(p, ")"))
		return NULL;
	return n;
}

static const struct {
	const char *name;
	enum kql_node_kind kind;
	parse_fn *parse; /* NULL: KQL, but outside the subset */
} operators[] = {
    {"where", KQL_N_WHERE, parse_where},
    {"filter", KQL_N_WHERE, parse_where},
    {"project", KQL_N_PROJECT, parse_list},
    {"project-away", KQL_N_PROJECT_AWAY, parse_names},
    {"project-rename", KQL_N_PROJECT_RENAME, parse_renames},
    {"project-keep", KQL_N_PROJECT_KEEP, parse_names},
    {"project-reorder", KQL_N_PROJECT_REORDER, parse_reorder},
    {"extend", KQL_N_EXTEND, parse_list},
    {"summarize", KQL_N_SUMMARIZE, parse_summarize},
    {"count", KQL_N_COUNT, parse_count},
    {"take", KQL_N_TAKE, parse_take},
    {"limit", KQL_N_TAKE, parse_take},
    {"top", KQL_N_TOP, parse_top},
    {"sort", KQL_N_SORT, parse_sortkeys},
    {"order", KQL_N_SORT, parse_sortkeys},
    {"distinct", KQL_N_DISTINCT, parse_distinct},
    {"union", KQL_N_UNION, parse_union},
    {"join", KQL_N_JOIN, parse_join},
    {"lookup", KQL_N_LOOKUP, parse_join},
    {"mv-expand", KQL_N_MVEXPAND, parse_mvexpand},
    {"as", KQL_N_AS, parse_as},
    {"render", KQL_N_RENDER, parse_render},
    {"project-by-names", KQL_N_PROJECT, NULL},
    {"parse", KQL_N_PROJECT, NULL},
    {"parse-where", KQL_N_PROJECT, NULL},
    {"parse-kv", KQL_N_PROJECT, NULL},
    {"make-series", KQL_N_PROJECT, NULL},
    {"mv-apply", KQL_N_PROJECT, NULL},
    {"mvexpand", KQL_N_PROJECT, NULL},
    {"evaluate", KQL_N_PROJECT, NULL},
    {"serialize", KQL_N_PROJECT, NULL},
    {"sample", KQL_N_PROJECT, NULL},
    {"sample-distinct", KQL_N_PROJECT, NULL},
    {"top-nested", KQL_N_PROJECT, NULL},
    {"top-hitters", KQL_N_PROJECT, NULL},
    {"partition", KQL_N_PROJECT, NULL},
    {"facet", KQL_N_PROJECT, NULL},
    {"fork", KQL_N_PROJECT, NULL},
    {"invoke", KQL_N_PROJECT, NULL},
    {"reduce", KQL_N_PROJECT, NULL},
    {"search", KQL_N_PROJECT, NULL},
    {"find", KQL_N_PROJECT, NULL},
    {"getschema", KQL_N_GETSCHEMA, parse_count},
    {"scan", KQL_N_PROJECT, NULL},
    {"consume", KQL_N_PROJECT, NULL},
    {"lookup-fuzzy", KQL_N_PROJECT, NULL},
    {"extend-fuzzy", KQL_N_PROJECT, NULL},
    {"make-graph", KQL_N_PROJECT, NULL},
    {"graph-match", KQL_N_PROJECT, NULL},
    {"externaldata", KQL_N_PROJECT, NULL},
    {"print", KQL_N_PROJECT, NULL},
    {"range", KQL_N_PROJECT, NULL},
    {"datatable", KQL_N_PROJECT, NULL},
    {"assert-schema", KQL_N_PROJECT, NULL},
};

/* The operator's name at the current token; dashed names (project-away,
 * mv-expand) are three adjacent tokens.  Written into buf. */
static bool operator_name(struct kql_parser *p, char *buf, size_t size)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	size_t n = 1;

	if (t->kind != KQL_T_IDENT)
		return false;
	(void)snprintf(buf, size, "%s", t->text);
	while (kqlp_punct(p, n, "-") && !kqlp_tok(p, n)->space &&
	       kqlp_tok(p, n + 1)->kind == KQL_T_IDENT && !kqlp_tok(p, n + 1)->space) {
		size_t len = strlen(buf);
		(void)snprintf(buf + len, size - len, "-%s", kqlp_tok(p, n + 1)->text);
		n += 2;
	}
	p->i += n;
	return true;
}

struct kql_node *kqlp_operator(struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	struct kql_node *n;
	char name[64];

	if (++p->nops > KQL_MAX_OPERATORS) {
		(void)kql_err_set(p->err, KQL_E_LIMIT, t->pos,
		                  "the query has more than %d operators", KQL_MAX_OPERATORS);
		return NULL;
	}
	if (!operator_name(p, name, sizeof(name)))
		return kqlp_expected(p, "a tabular operator");
	for (size_t k = 0; k < sizeof(operators) / sizeof(operators[0]); k++) {
		if (strcmp(operators[k].name, name) != 0)
			continue;
		if (operators[k].parse == NULL)
			return kqlp_unsupported(p, t, "operator", name);
		if ((n = kql_ast_new(p->a, operators[k].kind, t->pos)) == NULL)
			return kqlp_nomem(p);
		return operators[k].parse(p, n);
	}
	p->i = (size_t)(t - p->t);
	return kqlp_expected(p, "a tabular operator");
}

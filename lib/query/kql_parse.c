/*
 * kql_parse — statements and tabular operators by recursive descent over
 * kql_lex's tokens.  A source (a name, database("db").T, datatable, range,
 * print, union, a call of a let function, a parenthesized expression) is
 * followed by '|' operators, each parsed by one function from a table keyed
 * by the operator's name; KQL operators outside the subset are in the same
 * table with no function, so they are refused by name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "query/kql_parse_int.h"

/* ---- token helpers ---- */

const struct kql_tok *kqlp_tok(const struct kql_parser *p, size_t ahead)
{
	return p->i + ahead < p->n ? &p->t[p->i + ahead] : &p->t[p->n - 1];
}

bool kqlp_punct(const struct kql_parser *p, size_t ahead, const char *s)
{
	const struct kql_tok *t = kqlp_tok(p, ahead);

	return t->kind == KQL_T_PUNCT && strcmp(t->text, s) == 0;
}

bool kqlp_word(const struct kql_parser *p, size_t ahead, const char *s)
{
	const struct kql_tok *t = kqlp_tok(p, ahead);

	return t->kind == KQL_T_IDENT && strcmp(t->text, s) == 0;
}

bool kqlp_accept(struct kql_parser *p, const char *s)
{
	if (!kqlp_punct(p, 0, s) && !kqlp_word(p, 0, s))
		return false;
	p->i++;
	return true;
}

void *kqlp_expected(struct kql_parser *p, const char *what)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	const char *shown = t->kind == KQL_T_END ? NULL : p->src + t->pos.off;

	(void)kql_err_syntax(p->err, t->pos, shown, t->len, "expected %s", what);
	return NULL;
}

bool kqlp_expect(struct kql_parser *p, const char *s)
{
	char what[32];

	if (kqlp_accept(p, s))
		return true;
	(void)snprintf(what, sizeof(what), "'%s'", s);
	(void)kqlp_expected(p, what);
	return false;
}

size_t kqlp_span(const struct kql_parser *p, size_t off, const char *stop)
{
	size_t n = 0;

	while (off + n < p->len && strchr(stop, p->src[off + n]) == NULL)
		n++;
	return n;
}

void *kqlp_nomem(struct kql_parser *p)
{
	(void)kql_err_set(p->err, KQL_E_NOMEM, kqlp_tok(p, 0)->pos, "out of memory");
	return NULL;
}

struct kql_node *kqlp_node(struct kql_parser *p, enum kql_node_kind kind)
{
	struct kql_node *n = kql_ast_new(p->a, kind, kqlp_tok(p, 0)->pos);

	return n != NULL ? n : kqlp_nomem(p);
}

bool kqlp_enter(struct kql_parser *p)
{
	if (p->depth >= KQL_MAX_DEPTH) {
		(void)kql_err_set(p->err, KQL_E_LIMIT, kqlp_tok(p, 0)->pos,
		                  "the query nests deeper than %d levels", KQL_MAX_DEPTH);
		return false;
	}
	p->depth++;
	return true;
}

void kqlp_leave(struct kql_parser *p)
{
	p->depth--;
}

const char *kqlp_name(struct kql_parser *p, const char *what)
{
	const struct kql_tok *t = kqlp_tok(p, 0);

	if (t->kind == KQL_T_IDENT && t->text[0] != '$' && t->text[0] != '!') {
		p->i++;
		return t->text;
	}
	if (kqlp_punct(p, 0, "[") && kqlp_tok(p, 1)->kind == KQL_T_STRING &&
	    kqlp_punct(p, 2, "]")) {
		p->i += 3;
		if (p->t[p->i - 2].text[0] != '\0')
			return p->t[p->i - 2].text;
		p->i -= 3;
	}
	return kqlp_expected(p, what);
}

bool kqlp_at_assign(const struct kql_parser *p)
{
	if (kqlp_tok(p, 0)->kind == KQL_T_IDENT)
		return kqlp_punct(p, 1, "=");
	return kqlp_punct(p, 0, "[") && kqlp_tok(p, 1)->kind == KQL_T_STRING &&
	       kqlp_punct(p, 2, "]") && kqlp_punct(p, 3, "=");
}

int kql_parse_type_name(const char *w)
{
	static const struct {
		const char *name;
		enum proto_coltype type;
	} types[] = {
	    {"bool", PROTO_T_BOOL},       {"boolean", PROTO_T_BOOL},
	    {"int", PROTO_T_INT},         {"long", PROTO_T_LONG},
	    {"real", PROTO_T_REAL},       {"double", PROTO_T_REAL},
	    {"string", PROTO_T_STRING},   {"datetime", PROTO_T_DATETIME},
	    {"date", PROTO_T_DATETIME},   {"timespan", PROTO_T_TIMESPAN},
	    {"time", PROTO_T_TIMESPAN},   {"guid", PROTO_T_GUID},
	    {"uniqueid", PROTO_T_GUID},   {"dynamic", PROTO_T_DYNAMIC},
	    {"decimal", PROTO_T_DECIMAL},
	};

	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (strcmp(types[k].name, w) == 0)
			return (int)types[k].type;
	return -1;
}

int kqlp_type(struct kql_parser *p)
{
	int type = kql_parse_type_name(kqlp_tok(p, 0)->text);

	if (kqlp_tok(p, 0)->kind != KQL_T_IDENT || type < 0) {
		(void)kqlp_expected(p, "a type name");
		return -1;
	}
	p->i++;
	return type;
}

void *kqlp_unsupported(struct kql_parser *p, const struct kql_tok *t, const char *what,
                       const char *name)
{
	(void)kql_err_set(p->err, KQL_E_UNSUPPORTED, t->pos, "the '%s' %s is not supported", name,
	                  what);
	return NULL;
}

/* True when the current token ends a tabular operator's arguments. */
bool kqlp_at_end(const struct kql_parser *p)
{
	return kqlp_tok(p, 0)->kind == KQL_T_END || kqlp_punct(p, 0, "|") ||
	       kqlp_punct(p, 0, ";") || kqlp_punct(p, 0, ")") || kqlp_punct(p, 0, "}");
}

/* ---- lists ---- */

/* [name =] expr: an assignment node or the expression itself. */
struct kql_node *kqlp_item(struct kql_parser *p)
{
	struct kql_node *n;

	if (!kqlp_at_assign(p))
		return kqlp_expr(p);
	if ((n = kqlp_node(p, KQL_N_ASSIGN)) == NULL ||
	    (n->name = kqlp_name(p, "a name")) == NULL || !kqlp_expect(p, "=") ||
	    kql_ast_add(n, kqlp_expr(p)) == NULL)
		return NULL;
	return n;
}

/* item, item, ... into n; at least one. */
struct kql_node *kqlp_items(struct kql_parser *p, struct kql_node *n)
{
	do {
		if (kql_ast_add(n, kqlp_item(p)) == NULL)
			return NULL;
	} while (kqlp_accept(p, ","));
	return n;
}

/* Operator parameters (kind=inner, withsource=T, hint.strategy=shuffle):
 * calls set(p, n, name, value token) for each; names outside known are not
 * parameters (they start the operator's arguments). */
bool kqlp_params(struct kql_parser *p, struct kql_node *n, const char *const *known,
                 bool (*set)(struct kql_parser *, struct kql_node *, const char *,
                             const struct kql_tok *))
{
	for (;;) {
		const struct kql_tok *t = kqlp_tok(p, 0);
		bool hint = kqlp_word(p, 0, "hint") && kqlp_punct(p, 1, ".") &&
		            kqlp_tok(p, 2)->kind == KQL_T_IDENT && kqlp_punct(p, 3, "=");
		bool match = false;
		for (size_t k = 0; !hint && known[k] != NULL; k++)
			match |= kqlp_word(p, 0, known[k]) && kqlp_punct(p, 1, "=");
		if (!hint && !match)
			return true;
		p->i += hint ? 4 : 2;
		const struct kql_tok *v = kqlp_tok(p, 0);
		if (v->kind == KQL_T_END || v->kind == KQL_T_PUNCT)
			return kqlp_expected(p, "a parameter value") != NULL;
		p->i++;
		if (!hint && !set(p, n, t->text, v))
			return false;
	}
}

/* ---- sources ---- */

static struct kql_node *parse_datatable(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_DATATABLE), *c;
	size_t nvalues = 0;
	int type;

	p->i++;
	if (n == NULL || !kqlp_expect(p, "("))
		return NULL;
	do {
		if ((c = kql_ast_add(n, kqlp_node(p, KQL_N_COLDEF))) == NULL ||
		    (c->name = kqlp_name(p, "a column name")) == NULL || !kqlp_expect(p, ":") ||
		    (type = kqlp_type(p)) < 0)
			return NULL;
		c->type = (enum proto_coltype)type;
		n->i++;
	} while (kqlp_accept(p, ","));
	if (!kqlp_expect(p, ")") || !kqlp_expect(p, "["))
		return NULL;
	while (!kqlp_punct(p, 0, "]")) {
		if (kql_ast_add(n, kqlp_expr(p)) == NULL)
			return NULL;
		nvalues++;
		if (!kqlp_punct(p, 0, "]") && !kqlp_expect(p, ","))
			return NULL;
	}
	if (nvalues % (size_t)n->i != 0)
		return kqlp_expected(p, "a value for every column of the last row");
	p->i++;
	return n;
}

/* range x from a to b step c */
static struct kql_node *parse_range(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_RANGE);

	p->i++;
	if (n == NULL || (n->name = kqlp_name(p, "a column name")) == NULL ||
	    !kqlp_expect(p, "from") || kql_ast_add(n, kqlp_expr(p)) == NULL ||
	    !kqlp_expect(p, "to") || kql_ast_add(n, kqlp_expr(p)) == NULL ||
	    !kqlp_expect(p, "step") || kql_ast_add(n, kqlp_expr(p)) == NULL)
		return NULL;
	return n;
}

static struct kql_node *parse_print(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_PRINT);

	p->i++;
	return n != NULL ? kqlp_items(p, n) : NULL;
}

/* A word that can name something: not $left, not a negated operator. */
static bool plain_word(const struct kql_tok *t)
{
	return t->kind == KQL_T_IDENT && t->text[0] != '$' && t->text[0] != '!';
}

/* A part of a wildcard name after its first: a word, an integer or '*',
 * right after the token before it (Kusto.Language's ScanWildcardedName;
 * its option for parts apart is off by default). */
static bool pattern_part(const struct kql_tok *t)
{
	if (t->space)
		return false;
	if (t->kind == KQL_T_PUNCT)
		return strcmp(t->text, "*") == 0;
	return t->kind == KQL_T_LONG || plain_word(t);
}

/* Tokens from the current one that spell a wildcard name ('*', or a word
 * with '*' right after it, then more parts); 0 when they spell none. */
static size_t pattern_len(const struct kql_parser *p)
{
	size_t k = 1;

	if (plain_word(kqlp_tok(p, 0)) && kqlp_punct(p, 1, "*") && !kqlp_tok(p, 1)->space)
		k = 2;
	else if (!kqlp_punct(p, 0, "*"))
		return 0;
	while (pattern_part(kqlp_tok(p, k)))
		k++;
	return k;
}

bool kqlp_at_pattern(const struct kql_parser *p)
{
	return pattern_len(p) > 0;
}

struct kql_node *kqlp_pattern(struct kql_parser *p, struct kql_node *n)
{
	size_t k = pattern_len(p), len = 0;
	const struct kql_tok *first = kqlp_tok(p, 0), *last = kqlp_tok(p, k - 1);
	const char *s = p->src + first->pos.off;
	size_t span = last->pos.off + last->len - first->pos.off;
	char *text;

	/* The parts touch: the text is one span of the query. */
	if ((text = kql_arena_alloc(p->a, span + 1)) == NULL)
		return kqlp_nomem(p);
	for (size_t i = 0; i < span; i++)
		if (s[i] != '*' || len == 0 || text[len - 1] != '*')
			text[len++] = s[i];
	text[len] = '\0';
	n->kind = KQL_N_PATTERN;
	n->name = text;
	p->i += k;
	return n;
}

static void *not_wild(struct kql_parser *p)
{
	return kqlp_expected(p, "a table name (a wildcard names the tables of a union only)");
}

/* database("db").Table, or database("db").T* in a union (wild). */
static struct kql_node *parse_database(struct kql_parser *p, bool wild)
{
	struct kql_node *n = kqlp_node(p, KQL_N_TABLE);

	p->i += 2;
	if (n == NULL)
		return NULL;
	if (kqlp_tok(p, 0)->kind != KQL_T_STRING)
		return kqlp_expected(p, "a database name string");
	n->str = kqlp_tok(p, 0)->text;
	p->i++;
	if (!kqlp_expect(p, ")") || !kqlp_expect(p, "."))
		return NULL;
	if (kqlp_at_pattern(p))
		return wild ? kqlp_pattern(p, n) : not_wild(p);
	if ((n->name = kqlp_name(p, "a table name")) == NULL)
		return NULL;
	return n;
}

/* A table of union (wild: or a wildcard name), join or lookup: a name,
 * database("db").T or (...). */
struct kql_node *kqlp_table_ref(struct kql_parser *p, bool wild)
{
	struct kql_node *n;

	if (kqlp_punct(p, 0, "("))
		return kqlp_expr(p);
	if (kqlp_word(p, 0, "database") && kqlp_punct(p, 1, "("))
		return parse_database(p, wild);
	if (kqlp_at_pattern(p) && !wild)
		return not_wild(p);
	if ((n = kqlp_node(p, KQL_N_TABLE)) == NULL)
		return NULL;
	if (kqlp_at_pattern(p))
		return kqlp_pattern(p, n);
	return (n->name = kqlp_name(p, "a table")) != NULL ? n : NULL;
}

static bool source_word(const struct kql_parser *p, const char *w)
{
	return kqlp_word(p, 0, w) && !kqlp_punct(p, 1, "|") && !kqlp_punct(p, 1, ";") &&
	       !kqlp_punct(p, 1, ")") && kqlp_tok(p, 1)->kind != KQL_T_END;
}

static struct kql_node *parse_source(struct kql_parser *p)
{
	static const char *const refused[] = {"find",        "search",   "evaluate", "externaldata",
	                                      "materialize", "cluster",  "view",     "toscalar",
	                                      "make-series", "getschema"};
	const struct kql_tok *t = kqlp_tok(p, 0);

	if (kqlp_word(p, 0, "datatable") && kqlp_punct(p, 1, "("))
		return parse_datatable(p);
	if (kqlp_word(p, 0, "range") && kqlp_tok(p, 1)->kind == KQL_T_IDENT &&
	    kqlp_word(p, 2, "from"))
		return parse_range(p);
	if (source_word(p, "print"))
		return parse_print(p);
	if (source_word(p, "union"))
		return kqlp_operator(p);
	if (kqlp_word(p, 0, "database") && kqlp_punct(p, 1, "("))
		return parse_database(p, false);
	for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++)
		if (kqlp_word(p, 0, refused[k]) &&
		    (kqlp_punct(p, 1, "(") || source_word(p, refused[k])))
			return kqlp_unsupported(p, t, "operator", t->text);
	return kqlp_expr(p);
}

struct kql_node *kqlp_tabular(struct kql_parser *p)
{
	struct kql_node *src, *pipe = NULL;

	if (!kqlp_enter(p))
		return NULL;
	if ((src = parse_source(p)) == NULL)
		goto out;
	if (!kqlp_punct(p, 0, "|")) {
		pipe = src;
		goto out;
	}
	if ((pipe = kql_ast_new(p->a, KQL_N_PIPE, src->pos)) == NULL) {
		(void)kqlp_nomem(p);
		goto out;
	}
	kql_ast_add(pipe, src);
	while (pipe != NULL && kqlp_accept(p, "|"))
		if (kql_ast_add(pipe, kqlp_operator(p)) == NULL)
			pipe = NULL;
out:
	kqlp_leave(p);
	return pipe;
}

/* ---- statements ---- */

static struct kql_node *parse_set(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_SET);

	p->i++;
	if (n == NULL || (n->name = kqlp_name(p, "an option name")) == NULL)
		return NULL;
	if (kqlp_accept(p, "=") && kql_ast_add(n, kqlp_expr(p)) == NULL)
		return NULL;
	return n;
}

static struct kql_node *parse_param(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_PARAM);
	int type;

	if (n == NULL || (n->name = kqlp_name(p, "a parameter name")) == NULL ||
	    !kqlp_expect(p, ":"))
		return NULL;
	if (kqlp_punct(p, 0, "(")) {
		/* A tabular parameter, (*) or (col:type, ...): its columns are
		 * the argument's business. */
		n->op = 1;
		while (!kqlp_punct(p, 0, ")") && kqlp_tok(p, 0)->kind != KQL_T_END)
			p->i++;
		return kqlp_expect(p, ")") ? n : NULL;
	}
	if ((type = kqlp_type(p)) < 0)
		return NULL;
	n->type = (enum proto_coltype)type;
	if (kqlp_accept(p, "=") && kql_ast_add(n, kqlp_expr(p)) == NULL)
		return NULL;
	return n;
}

static struct kql_node *parse_let(struct kql_parser *p);

/* { let ...; expr } */
static struct kql_node *parse_body(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_BODY);

	if (n == NULL || !kqlp_expect(p, "{"))
		return NULL;
	while (kqlp_word(p, 0, "let")) {
		if (kql_ast_add(n, parse_let(p)) == NULL || !kqlp_expect(p, ";"))
			return NULL;
	}
	if (kql_ast_add(n, kqlp_tabular(p)) == NULL)
		return NULL;
	(void)kqlp_accept(p, ";");
	return kqlp_expect(p, "}") ? n : NULL;
}

static struct kql_node *parse_func(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_FUNC);

	if (n == NULL || !kqlp_expect(p, "(") || !kqlp_enter(p))
		return NULL;
	while (n != NULL && !kqlp_punct(p, 0, ")")) {
		if (n->nkids == KQL_MAX_PARAMS) {
			(void)kql_err_set(
			    p->err, KQL_E_UNSUPPORTED, kqlp_tok(p, 0)->pos,
			    "a function with more than %d parameters is not supported",
			    KQL_MAX_PARAMS);
			n = NULL;
		} else if (kql_ast_add(n, parse_param(p)) == NULL ||
		           (!kqlp_punct(p, 0, ")") && !kqlp_expect(p, ","))) {
			n = NULL;
		}
	}
	if (n != NULL && (!kqlp_expect(p, ")") || kql_ast_add(n, parse_body(p)) == NULL))
		n = NULL;
	kqlp_leave(p);
	return n;
}

static bool at_func(const struct kql_parser *p)
{
	return kqlp_punct(p, 0, "(") &&
	       ((kqlp_punct(p, 1, ")") && kqlp_punct(p, 2, "{")) ||
	        (kqlp_tok(p, 1)->kind == KQL_T_IDENT && kqlp_punct(p, 2, ":")));
}

static struct kql_node *parse_let(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_LET);

	p->i++;
	if (n == NULL || (n->name = kqlp_name(p, "a name")) == NULL || !kqlp_expect(p, "="))
		return NULL;
	if (kql_ast_add(n, at_func(p) ? parse_func(p) : kqlp_tabular(p)) == NULL)
		return NULL;
	return n;
}

/* declare query_parameters(name:type [= default], ...): scalar parameters
 * whose values the request's properties give (Parameters). */
static struct kql_node *parse_declare(struct kql_parser *p)
{
	struct kql_node *n = kqlp_node(p, KQL_N_DECLARE), *k;

	p->i += 2;
	if (n == NULL || !kqlp_expect(p, "("))
		return NULL;
	while (!kqlp_punct(p, 0, ")")) {
		const struct kql_tok *t = kqlp_tok(p, 0);
		if ((k = parse_param(p)) == NULL)
			return NULL;
		if (k->op == 1)
			return kqlp_unsupported(p, t, "query parameter of a tabular type", k->name);
		if (kql_ast_add(n, k) == NULL || (!kqlp_punct(p, 0, ")") && !kqlp_expect(p, ",")))
			return NULL;
	}
	return kqlp_expect(p, ")") ? n : NULL;
}

static struct kql_node *parse_statement(struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);

	if (kqlp_word(p, 0, "set") && kqlp_tok(p, 1)->kind == KQL_T_IDENT && !kqlp_punct(p, 1, "|"))
		return parse_set(p);
	if (kqlp_word(p, 0, "let"))
		return parse_let(p);
	if (kqlp_word(p, 0, "declare") && kqlp_word(p, 1, "query_parameters"))
		return parse_declare(p);
	if (kqlp_word(p, 0, "declare") || kqlp_word(p, 0, "alias") || kqlp_word(p, 0, "restrict") ||
	    kqlp_word(p, 0, "pattern"))
		return kqlp_unsupported(p, t, "statement", t->text);
	if (t->kind == KQL_T_PUNCT && t->text[0] == '.')
		return kqlp_unsupported(p, t, "command", "management");
	return kqlp_tabular(p);
}

static struct kql_node *parse_query(struct kql_parser *p)
{
	struct kql_node *q = kqlp_node(p, KQL_N_QUERY);

	if (q == NULL)
		return NULL;
	while (kqlp_tok(p, 0)->kind != KQL_T_END) {
		if (q->nkids >= KQL_MAX_STATEMENTS) {
			(void)kql_err_set(p->err, KQL_E_LIMIT, kqlp_tok(p, 0)->pos,
			                  "the query has more than %d statements",
			                  KQL_MAX_STATEMENTS);
			return NULL;
		}
		if (kql_ast_add(q, parse_statement(p)) == NULL)
			return NULL;
		if (!kqlp_accept(p, ";") && kqlp_tok(p, 0)->kind != KQL_T_END)
			return kqlp_expected(p, "';' or the end of the query");
		while (kqlp_accept(p, ";"))
			;
	}
	if (q->nkids == 0)
		return kqlp_expected(p, "a query");
	return q;
}

int kql_parse(struct kql_arena *arena, const char *src, size_t len, struct kql_node **ret,
              struct kql_error *err)
{
	struct kql_tokens toks;
	struct kql_parser p = {arena, src, len, NULL, 0, 0, 0, 0, err};
	struct kql_node *q;
	int r;

	if ((r = kql_lex(arena, src, len, &toks, err)) != 0)
		return r;
	p.t = toks.v;
	p.n = toks.n;
	if ((q = parse_query(&p)) == NULL)
		return strcmp(err != NULL && err->code ? err->code : "", KQL_E_NOMEM) == 0
		           ? -ENOMEM
		           : -EINVAL;
	*ret = q;
	return 0;
}

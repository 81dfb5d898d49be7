/*
 * kql_parse_expr — scalar expressions by recursive descent, one function
 * per precedence level, loosest first: or; and; comparisons, string
 * operators, in, between, matches regex; + -; * / %; unary - +; postfix
 * d.a d[i]; primaries (literals, names, calls, parentheses).  Literals are
 * decoded here into typed KQL_N_LIT nodes, so the binder sees values.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "query/kql_json.h"
#include "query/kql_parse_int.h"
#include "util/timefmt.h"

static struct kql_node *parse_or(struct kql_parser *p);

static struct kql_node *binary(struct kql_parser *p, int op, struct kql_node *l, struct kql_node *r)
{
	struct kql_node *n;

	if (l == NULL || r == NULL)
		return NULL;
	/* At its left operand: errors point where the expression starts. */
	if ((n = kql_ast_new(p->a, KQL_N_BINARY, l->pos)) == NULL)
		return kqlp_nomem(p);
	n->op = op;
	kql_ast_add(n, l);
	kql_ast_add(n, r);
	/* a + b + c ... is parsed by a loop, not recursion: bound its tree. */
	if (n->height > KQL_MAX_DEPTH) {
		(void)kql_err_set(p->err, KQL_E_LIMIT, kqlp_tok(p, 0)->pos,
		                  "an expression nested deeper than %d levels", KQL_MAX_DEPTH);
		return NULL;
	}
	return n;
}

struct kql_node *kqlp_expr(struct kql_parser *p)
{
	struct kql_node *n;

	if (!kqlp_enter(p))
		return NULL;
	n = parse_or(p);
	kqlp_leave(p);
	return n;
}

static struct kql_node *parse_and(struct kql_parser *p);
static struct kql_node *parse_cmp(struct kql_parser *p);
static struct kql_node *parse_add(struct kql_parser *p);

static struct kql_node *parse_or(struct kql_parser *p)
{
	struct kql_node *n = parse_and(p);

	while (n != NULL && kqlp_word(p, 0, "or")) {
		p->i++;
		n = binary(p, KQL_OP_OR, n, parse_and(p));
	}
	return n;
}

static struct kql_node *parse_and(struct kql_parser *p)
{
	struct kql_node *n = parse_cmp(p);

	while (n != NULL && kqlp_word(p, 0, "and")) {
		p->i++;
		n = binary(p, KQL_OP_AND, n, parse_cmp(p));
	}
	return n;
}

/* in (a, b, ...) and !in, in~, !in~, has_any, has_all: the list may also
 * be one tabular expression in parentheses (in (T | project x)); the
 * binder tells. */
static struct kql_node *parse_in(struct kql_parser *p, int op, struct kql_node *lhs)
{
	struct kql_node *n = kqlp_node(p, KQL_N_IN);

	if (n == NULL)
		return NULL;
	p->i++;
	n->op = op;
	n->pos = lhs->pos;
	kql_ast_add(n, lhs);
	if (!kqlp_expect(p, "("))
		return NULL;
	if (kqlp_punct(p, 0, ")"))
		return kqlp_expected(p, "a value in the list");
	do {
		if (kql_ast_add(n, kqlp_tabular(p)) == NULL)
			return NULL;
	} while (kqlp_accept(p, ","));
	return kqlp_expect(p, ")") ? n : NULL;
}

/* between (low .. high) and !between. */
static struct kql_node *parse_between(struct kql_parser *p, int op, struct kql_node *lhs)
{
	struct kql_node *n = kqlp_node(p, KQL_N_BETWEEN);

	if (n == NULL)
		return NULL;
	p->i++;
	n->op = op;
	n->pos = lhs->pos;
	kql_ast_add(n, lhs);
	if (!kqlp_expect(p, "(") || kql_ast_add(n, parse_add(p)) == NULL || !kqlp_expect(p, "..") ||
	    kql_ast_add(n, parse_add(p)) == NULL || !kqlp_expect(p, ")"))
		return NULL;
	return n;
}

/* The comparison-level operator at the current token, or -1. */
static int cmp_op(const struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	int op;

	if (t->kind != KQL_T_IDENT && t->kind != KQL_T_PUNCT)
		return -1;
	if (kqlp_word(p, 0, "matches") && kqlp_word(p, 1, "regex"))
		return KQL_OP_MATCHES_REGEX;
	op = kql_op_lookup(t->text);
	if (op == KQL_OP_OR || op == KQL_OP_AND || (op >= KQL_OP_ADD && op <= KQL_OP_PLUS) ||
	    op == KQL_OP_MATCHES_REGEX)
		return -1;
	return op;
}

/* Operators of KQL outside the subset, spelled where a comparison goes. */
static bool unsupported_cmp(const struct kql_parser *p)
{
	static const char *const words[] = {"!has_any", "in_any",     "contains_any",
	                                    "!has_all", "has_any_cs", "startswith_any"};
	const struct kql_tok *t = kqlp_tok(p, 0);

	for (size_t k = 0; t->kind == KQL_T_IDENT && k < sizeof(words) / sizeof(words[0]); k++)
		if (strcmp(t->text, words[k]) == 0)
			return true;
	return false;
}

static struct kql_node *parse_cmp(struct kql_parser *p)
{
	struct kql_node *n = parse_add(p);
	int op;

	while (n != NULL && (op = cmp_op(p)) >= 0) {
		if ((op >= KQL_OP_IN && op <= KQL_OP_NOT_IN_CI) || op == KQL_OP_HAS_ANY ||
		    op == KQL_OP_HAS_ALL) {
			n = parse_in(p, op, n);
		} else if (op == KQL_OP_BETWEEN || op == KQL_OP_NOT_BETWEEN) {
			n = parse_between(p, op, n);
		} else {
			p->i += op == KQL_OP_MATCHES_REGEX ? 2 : 1;
			n = binary(p, op, n, parse_add(p));
		}
	}
	if (n != NULL && unsupported_cmp(p))
		return (void)kql_err_set(p->err, KQL_E_UNSUPPORTED, kqlp_tok(p, 0)->pos,
		                         "the '%s' operator is not supported",
		                         kqlp_tok(p, 0)->text),
		       NULL;
	return n;
}

static struct kql_node *parse_mul(struct kql_parser *p);

static struct kql_node *parse_add(struct kql_parser *p)
{
	struct kql_node *n = parse_mul(p);

	while (n != NULL && (kqlp_punct(p, 0, "+") || kqlp_punct(p, 0, "-"))) {
		const struct kql_tok *t = kqlp_tok(p, 0);
		p->i++;
		n = binary(p, t->text[0] == '+' ? KQL_OP_ADD : KQL_OP_SUB, n, parse_mul(p));
	}
	return n;
}

static struct kql_node *parse_unary(struct kql_parser *p);

static struct kql_node *parse_mul(struct kql_parser *p)
{
	struct kql_node *n = parse_unary(p);

	while (n != NULL &&
	       (kqlp_punct(p, 0, "*") || kqlp_punct(p, 0, "/") || kqlp_punct(p, 0, "%"))) {
		const struct kql_tok *t = kqlp_tok(p, 0);
		int op = t->text[0] == '*'   ? KQL_OP_MUL
		         : t->text[0] == '/' ? KQL_OP_DIV
		                             : KQL_OP_MOD;
		p->i++;
		n = binary(p, op, n, parse_unary(p));
	}
	return n;
}

static struct kql_node *parse_postfix(struct kql_parser *p);

static struct kql_node *parse_unary(struct kql_parser *p)
{
	struct kql_node *n;

	if (!kqlp_punct(p, 0, "-") && !kqlp_punct(p, 0, "+"))
		return parse_postfix(p);
	if ((n = kqlp_node(p, KQL_N_UNARY)) == NULL || !kqlp_enter(p))
		return NULL;
	n->op = kqlp_punct(p, 0, "-") ? KQL_OP_NEG : KQL_OP_PLUS;
	p->i++;
	n = kql_ast_add(n, parse_unary(p)) != NULL ? n : NULL;
	kqlp_leave(p);
	return n;
}

static struct kql_node *parse_primary(struct kql_parser *p);

/* d.a, d["a"], d[0], $left.x: member and index access. */
static struct kql_node *parse_postfix(struct kql_parser *p)
{
	struct kql_node *n = parse_primary(p), *m;

	while (n != NULL && (kqlp_punct(p, 0, ".") || kqlp_punct(p, 0, "["))) {
		bool dot = kqlp_punct(p, 0, ".");
		if ((m = kqlp_node(p, dot ? KQL_N_MEMBER : KQL_N_INDEX)) == NULL)
			return NULL;
		p->i++;
		m->pos = n->pos;
		kql_ast_add(m, n);
		if (dot) {
			if ((m->name = kqlp_name(p, "a member name")) == NULL)
				return NULL;
		} else if (kql_ast_add(m, kqlp_expr(p)) == NULL || !kqlp_expect(p, "]")) {
			return NULL;
		}
		n = m;
		if (n->height > KQL_MAX_DEPTH) {
			(void)kql_err_set(p->err, KQL_E_LIMIT, kqlp_tok(p, 0)->pos,
			                  "an expression nested deeper than %d levels",
			                  KQL_MAX_DEPTH);
			return NULL;
		}
	}
	return n;
}

/* ---- literals ---- */

static struct kql_node *lit(struct kql_parser *p, enum proto_coltype type)
{
	struct kql_node *n = kqlp_node(p, KQL_N_LIT);

	if (n != NULL)
		n->type = type;
	return n;
}

static void *bad_literal(struct kql_parser *p, const char *what)
{
	const struct kql_tok *t = kqlp_tok(p, 0);

	return (void)kql_err_syntax(p->err, t->pos, t->raw != NULL ? t->raw : t->text,
	                            strlen(t->raw != NULL ? t->raw : t->text), "%s", what),
	       NULL;
}

/* The zone after a time, as .NET's DateTime parsing (and so Kusto) takes
 * it: nothing, Z, " GMT", " UTC", or an offset +hh:mm, +hhmm, +hh (the RFC
 * forms put a space before it: "... 15:05 +0200").  *ret_ticks is what to
 * subtract to get UTC; -EINVAL for anything else after the time. */
static int zone_offset(const char *s, int64_t *ret_ticks)
{
	int h = 0, m = 0, k = 0, sign;

	if (*s == '\0' || strcmp(s, "Z") == 0 || strcmp(s, " GMT") == 0 || strcmp(s, " UTC") == 0) {
		*ret_ticks = 0;
		return 0;
	}
	s += *s == ' ';
	if (*s != '+' && *s != '-')
		return -EINVAL;
	sign = *s++ == '-' ? -1 : 1;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -EINVAL;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	s += 2;
	if (*s == ':' && sscanf(s + 1, "%2d%n", &m, &k) == 1 && k == 2)
		s += 3;
	else if (isdigit((unsigned char)*s) && sscanf(s, "%2d%n", &m, &k) == 1 && k == 2)
		s += 2;
	if (*s != '\0' || h > 14 || m > 59)
		return -EINVAL;
	*ret_ticks = sign * ((int64_t)h * 60 + m) * 60 * TIMEFMT_TICKS_PER_SEC;
	return 0;
}

/* iso (timefmt's form) shifted from the zone z to UTC. */
static int utc_of(const char *iso, const char *z, int64_t *ret)
{
	int64_t off, t;

	if (zone_offset(z, &off) != 0 || timefmt_parse_datetime(iso, &t) != 0)
		return -EINVAL;
	*ret = t - off;
	return 0;
}

/* The month named by the first three letters of s (any case), 1..12, or 0. */
static int month_named(const char *s)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	char mon[4] = {0};
	const char *m;

	for (int i = 0; i < 3 && isalpha((unsigned char)s[i]); i++)
		mon[i] = (char)tolower((unsigned char)s[i]);
	if (strlen(mon) != 3 || (m = strstr(months, mon)) == NULL || (m - months) % 3 != 0)
		return 0;
	return (int)(m - months) / 3 + 1;
}

/* RFC 822 and RFC 850 (the datetime type's documentation):
 * [Sat, ]8 Nov 14 15:05[:02][ GMT] and [Saturday, ]08-Nov-14 15:05[:02][ GMT];
 * a two-digit year is 1950 to 2049. */
static int parse_rfc_datetime(const char *s, int64_t *ret)
{
	int d, y, h, mi, sec = 0, n = 0, k = 0, mo;
	char mon[4], sep[2], iso[64];
	const char *comma = strchr(s, ',');

	if (comma != NULL)
		s = comma + 1 + (comma[1] == ' ');
	if (sscanf(s, "%2d%1[ -]%3[A-Za-z]%1[ -]%4d %2d:%2d%n", &d, sep, mon, sep, &y, &h, &mi,
	           &n) != 7)
		return -EINVAL;
	s += n;
	if (*s == ':' && sscanf(s + 1, "%2d%n", &sec, &k) == 1)
		s += 1 + k;
	if (strlen(mon) != 3 || (mo = month_named(mon)) == 0)
		return -EINVAL;
	if (y < 100)
		y += y < 50 ? 2000 : 1900;
	(void)snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, sec);
	return utc_of(iso, s, ret);
}

/* Kusto's datetime forms: 2020-01-02, 2020-01-02 03:04,
 * 2020-01-02T03:04:05.1234567Z, 2020-1-2 03:04 GMT, an ISO 8601 offset
 * (2020-01-02T03:04:05+02:00, converted to UTC as Kusto does), and the RFC
 * 822 and 850 ones; normalized to timefmt's ISO form. */
/* The date part of .NET's DateTime.Parse under the invariant culture, as
 * Kusto's datetime() and todatetime() read it (measured on Kusto, as the
 * open translators record): 12-02-2022, 12/02/2022, 12.02.2022 (month
 * first), 2022/12/02, 20221202, 2 Dec 2022, Dec 2, 2022, 2025, 6, 14;
 * *n: the characters read. */
static int net_date(const char *s, int *y, int *mo, int *d, int *n)
{
	char s1, s2, mon[16];

	*n = 0;
	if (sscanf(s, "%2d%c%2d%c%4d%n", mo, &s1, d, &s2, y, n) == 5 && s1 == s2 &&
	    (s1 == '-' || s1 == '/' || s1 == '.') && *n >= 8 && isdigit((unsigned char)s[*n - 4]))
		return 0;
	if ((*n = 0, sscanf(s, "%4d/%2d/%2d%n", y, mo, d, n)) == 3 && *n >= 8 && s[4] == '/')
		return 0;
	if ((*n = 0, sscanf(s, "%4d%2d%2d%n", y, mo, d, n)) == 3 && *n == 8)
		return 0;
	if ((*n = 0, sscanf(s, "%2d %15[A-Za-z] %4d%n", d, mon, y, n)) == 3 &&
	    (*mo = month_named(mon)) > 0 && strlen(mon) == 3)
		return 0;
	if ((*n = 0, sscanf(s, "%15[A-Za-z] %2d, %4d%n", mon, d, y, n)) == 3 &&
	    (*mo = month_named(mon)) > 0 && strlen(mon) == 3)
		return 0;
	if ((*n = 0, sscanf(s, "%4d, %2d, %2d%n", y, mo, d, n)) == 3 &&
	    isdigit((unsigned char)s[3]))
		return 0;
	return -EINVAL;
}

/* One of net_date's dates, then nothing or " HH:mm[:ss]". */
static int parse_net_date(const char *s, int64_t *ret)
{
	int y, mo, d, n, h = 0, mi = 0, sec = 0, k = 0;
	char iso[48];

	if (net_date(s, &y, &mo, &d, &n) != 0 || y < 1000)
		return -EINVAL;
	s += n;
	if (*s != '\0' && (sscanf(s, " %2d:%2d%n", &h, &mi, &k) != 2 ||
	                   (s += k, *s == ':' && (k = 0, sscanf(s, ":%2d%n", &sec, &k)) == 1
	                                ? (s += k, *s != '\0')
	                                : *s != '\0')))
		return -EINVAL;
	(void)snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, sec);
	return utc_of(iso, "", ret);
}

int kql_parse_datetime(const char *s, int64_t *ret)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, k = 0;
	char iso[64], frac[16] = "";

	if (*s == '"' || *s == '\'') {
		/* datetime("2015-01-01"): the quoted form. */
		size_t len = strlen(s);
		char inner[64];
		if (len < 2 || len - 2 >= sizeof(inner) || s[len - 1] != s[0])
			return -EINVAL;
		memcpy(inner, s + 1, len - 2);
		inner[len - 2] = '\0';
		return inner[0] == '"' || inner[0] == '\'' ? -EINVAL
		                                           : kql_parse_datetime(inner, ret);
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 ||
	    (s[n] != '\0' && isdigit((unsigned char)s[n])))
		return parse_rfc_datetime(s, ret) == 0 ? 0 : parse_net_date(s, ret);
	s += n;
	if ((*s == 'T' || *s == ' ') && sscanf(s + 1, "%2d:%2d%n", &h, &mi, &k) == 2) {
		s += 1 + k;
		if (*s == ':' && sscanf(s + 1, "%2d%n", &sec, &k) == 1)
			s += 1 + k;
		if (*s == '.' && sscanf(s + 1, "%7[0-9]%n", frac, &k) == 1)
			s += 1 + k;
	}
	(void)snprintf(iso, sizeof(iso), "%04d-%02d-%02dT%02d:%02d:%02d%s%sZ", y, mo, d, h, mi, sec,
	               frac[0] ? "." : "", frac);
	/* A zone only after a time: 2020-01-02-05:00 is no date. */
	return k == 0 && *s != '\0' && *s != 'Z' && *s != ' ' ? -EINVAL : utc_of(iso, s, ret);
}

/* timespan(...): 1d, 1.5h, 00:10:00, 1.00:00:00, or a bare number of days. */
int kql_parse_timespan(const char *s, int64_t *ret)
{
	char *end;
	double days;

	if (*s == '\0')
		return -EINVAL;
	days = strtod(s, &end);
	if (end != s && strchr(s, ':') == NULL) {
		/* A bare number is days; 25min, 1.5h carry their unit. */
		int64_t unit = *end == '\0' ? 864000000000 : kql_lex_unit_ticks(end, strlen(end));
		if (unit == 0 || !(fabs(days * (double)unit) < 9e18))
			return -EINVAL;
		*ret = (int64_t)llround(days * (double)unit);
		return 0;
	}
	return timefmt_parse_duration(s, ret);
}

/* n hex digits of s into out (lower case), or false. */
static bool guid_hex(const char *s, size_t n, char *out)
{
	for (size_t k = 0; k < n; k++) {
		if (!isxdigit((unsigned char)s[k]))
			return false;
		out[k] = (char)tolower((unsigned char)s[k]);
	}
	return true;
}

/* The forms .NET's Guid.TryParse reads, as Kusto.Language reads a guid
 * literal's text: D (8-4-4-4-12), B ({D}) and N (32 digits); quoted, as
 * guid("...") may be.  (P's "(D)" cannot be: ')' ends the literal.) */
int kql_parse_guid(const char *s, char ret[37])
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	size_t n = strlen(s), at = 0;
	char out[37];

	if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0])
		s++, n -= 2;
	if (n >= 2 && s[0] == '{' && s[n - 1] == '}')
		s++, n -= 2;
	if (n == 32) {
		for (size_t g = 0; g < 5; at += groups[g++])
			if (!guid_hex(s + at, groups[g], out + at + g))
				return -EINVAL;
	} else if (n == 36) {
		for (size_t g = 0; g < 5; at += groups[g++] + 1)
			if (!guid_hex(s + at, groups[g], out + at) ||
			    (g < 4 && s[at + groups[g]] != '-'))
				return -EINVAL;
	} else {
		return -EINVAL;
	}
	for (size_t k = 8; k < 24; k += 5)
		out[k] = '-';
	out[36] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}

static struct kql_node *parse_rawlit(struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	bool dt = strcmp(t->text, "datetime") == 0, guid = t->text[0] == 'g' || t->text[0] == 'u';
	struct kql_node *n = lit(p, dt ? PROTO_T_DATETIME : guid ? PROTO_T_GUID : PROTO_T_TIMESPAN);
	int r;

	if (n == NULL)
		return NULL;
	if (strcmp(t->raw, "null") == 0) {
		n->isnull = true;
	} else if (guid) {
		char g[37];
		if (kql_parse_guid(t->raw, g) != 0)
			return bad_literal(p, "a malformed guid literal");
		if ((n->str = kql_arena_strndup(p->a, g, 36)) == NULL)
			return kqlp_nomem(p);
	} else {
		r = dt ? kql_parse_datetime(t->raw, &n->i) : kql_parse_timespan(t->raw, &n->i);
		if (r != 0)
			return bad_literal(p, dt ? "a malformed datetime literal"
			                         : "a malformed timespan literal");
	}
	p->i++;
	return n;
}

/* Adjacent string literals are one string, as in Kusto ("a" "b"). */
static struct kql_node *parse_string(struct kql_parser *p)
{
	struct kql_node *n = lit(p, PROTO_T_STRING);
	size_t len = 0, k;
	char *s;

	if (n == NULL)
		return NULL;
	for (k = p->i; p->t[k].kind == KQL_T_STRING; k++)
		len += strlen(p->t[k].text);
	if ((s = kql_arena_alloc(p->a, len + 1)) == NULL)
		return kqlp_nomem(p);
	for (len = 0; p->t[p->i].kind == KQL_T_STRING; p->i++) {
		size_t m = strlen(p->t[p->i].text);
		memcpy(s + len, p->t[p->i].text, m);
		len += m;
	}
	n->str = s;
	return n;
}

static struct kql_node *parse_number(struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	struct kql_node *n = lit(p, t->kind == KQL_T_REAL       ? PROTO_T_REAL
	                            : t->kind == KQL_T_TIMESPAN ? PROTO_T_TIMESPAN
	                                                        : PROTO_T_LONG);

	if (n == NULL)
		return NULL;
	n->i = t->i;
	n->r = t->r;
	p->i++;
	return n;
}

/* ---- typed literals: long(12), real(null), bool(true), dynamic([1, "a"]) ---- */

static json_t *parse_json(struct kql_parser *p);

static json_t *json_number(struct kql_parser *p)
{
	bool neg = kqlp_accept(p, "-");
	const struct kql_tok *t = kqlp_tok(p, 0);

	if (!neg)
		(void)kqlp_accept(p, "+");
	t = kqlp_tok(p, 0);
	if (t->kind == KQL_T_LONG || t->kind == KQL_T_REAL) {
		json_t *v = t->kind == KQL_T_LONG
		                ? json_integer(neg ? (json_int_t)(0 - (uint64_t)t->i) : t->i)
		                : json_real(neg ? -t->r : t->r);
		p->i++;
		return v != NULL ? v : kqlp_nomem(p);
	}
	return kqlp_expected(p, "a JSON value");
}

static json_t *json_array_items(struct kql_parser *p)
{
	json_t *a = json_array(), *v;

	if (a == NULL)
		return kqlp_nomem(p);
	while (!kqlp_punct(p, 0, "]")) {
		if ((v = parse_json(p)) == NULL ||
		    (json_array_append_new(a, v) != 0 && kqlp_nomem(p) == NULL) ||
		    (!kqlp_punct(p, 0, "]") && !kqlp_expect(p, ","))) {
			json_decref(a);
			return NULL;
		}
	}
	p->i++;
	return a;
}

static json_t *json_object_items(struct kql_parser *p)
{
	json_t *o = json_object(), *v;
	const char *key;

	if (o == NULL)
		return kqlp_nomem(p);
	while (!kqlp_punct(p, 0, "}")) {
		key = kqlp_tok(p, 0)->text;
		if (kqlp_tok(p, 0)->kind != KQL_T_STRING) {
			json_decref(o);
			return kqlp_expected(p, "a string key");
		}
		p->i++;
		if (!kqlp_expect(p, ":") || (v = parse_json(p)) == NULL ||
		    (json_object_set_new(o, key, v) != 0 && kqlp_nomem(p) == NULL) ||
		    (!kqlp_punct(p, 0, "}") && !kqlp_expect(p, ","))) {
			json_decref(o);
			return NULL;
		}
	}
	p->i++;
	return o;
}

static struct kql_node *parse_rawlit(struct kql_parser *p);
static struct kql_node *parse_typed(struct kql_parser *p, enum proto_coltype type);

/* A typed literal inside a dynamic one (its page: datetime, timespan,
 * real, long, guid, bool and dynamic), as the JSON a dynamic value holds
 * it in: a datetime's, timespan's or guid's text, numbers, true, false. */
static json_t *json_of_literal(struct kql_parser *p, const struct kql_node *n)
{
	char buf[64];

	if (n == NULL)
		return NULL;
	if (n->isnull)
		return json_null();
	switch (n->type) {
	case PROTO_T_BOOL:
		return json_boolean(n->i);
	case PROTO_T_INT:
	case PROTO_T_LONG:
		return json_integer(n->i);
	case PROTO_T_REAL:
		if (isfinite(n->r))
			return json_real(n->r);
		break;
	case PROTO_T_DATETIME:
		return json_string(timefmt_format_datetime(n->i, buf));
	case PROTO_T_TIMESPAN:
		return json_string(timefmt_format_timespan(n->i, buf));
	case PROTO_T_GUID:
		return json_string(n->str);
	case PROTO_T_DYNAMIC:
		return json_loads(n->str, JSON_DECODE_ANY, NULL);
	default:
		break;
	}
	(void)kql_err_set(p->err, KQL_E_UNSUPPORTED, n->pos,
	                  "a %s literal inside a dynamic literal is not supported",
	                  proto_coltype_name(n->type));
	return NULL;
}

/* datetime(…), 1h, guid(…), long(…), dynamic(…) … where a JSON value is
 * expected; NULL when the current token starts none. */
static const struct kql_node *typed_in_json(struct kql_parser *p, bool *none)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	int type;

	*none = false;
	if (t->kind == KQL_T_RAWLIT)
		return parse_rawlit(p);
	if (t->kind == KQL_T_TIMESPAN)
		return parse_number(p);
	if (t->kind == KQL_T_IDENT && kqlp_punct(p, 1, "(") &&
	    (type = kql_parse_type_name(t->text)) >= 0 && type != PROTO_T_STRING &&
	    type != PROTO_T_DATETIME && type != PROTO_T_TIMESPAN && type != PROTO_T_GUID)
		return parse_typed(p, (enum proto_coltype)type);
	*none = true;
	return NULL;
}

static json_t *parse_json_inner(struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	const struct kql_node *lit_node;
	bool none;

	if ((lit_node = typed_in_json(p, &none)) != NULL || !none)
		return lit_node != NULL ? json_of_literal(p, lit_node) : NULL;
	if (kqlp_accept(p, "["))
		return json_array_items(p);
	if (kqlp_accept(p, "{"))
		return json_object_items(p);
	if (t->kind == KQL_T_STRING) {
		json_t *v = json_string(t->text);
		p->i++;
		return v != NULL ? v : kqlp_nomem(p);
	}
	if (kqlp_accept(p, "true"))
		return json_true();
	if (kqlp_accept(p, "false"))
		return json_false();
	if (kqlp_accept(p, "null"))
		return json_null();
	return json_number(p);
}

static json_t *parse_json(struct kql_parser *p)
{
	json_t *v;

	if (!kqlp_enter(p))
		return NULL;
	v = parse_json_inner(p);
	kqlp_leave(p);
	return v;
}

static struct kql_node *parse_dynamic(struct kql_parser *p, struct kql_node *n)
{
	json_t *v = parse_json(p);
	char *s;

	if (v == NULL)
		return NULL;
	if (json_is_null(v)) {
		n->isnull = true;
	} else {
		s = kql_json_dump(v, 0);
		n->str = s != NULL ? kql_arena_strndup(p->a, s, strlen(s)) : NULL;
		free(s);
		if (n->str == NULL) {
			json_decref(v);
			return kqlp_nomem(p);
		}
	}
	json_decref(v);
	return n;
}

/* r truncated into *ret when int64 holds it (a cast of any other real
 * is undefined). */
static bool real_to_i64(double r, int64_t *ret)
{
	if (!(r > -9223372036854775808.0 && r < 9223372036854775808.0))
		return false;
	*ret = (int64_t)r;
	return true;
}

/* A typed literal whose number its type cannot hold. */
static struct kql_node *literal_range(struct kql_parser *p, struct kql_node *n)
{
	const char *at = p->src + n->pos.off;

	(void)kql_err_syntax(p->err, n->pos, at, kqlp_span(p, n->pos.off, ")"),
	                     "a literal out of range");
	return NULL;
}

/* real(nan), real(+inf), real(-inf). */
static bool parse_real_special(struct kql_parser *p, struct kql_node *n)
{
	int sign = kqlp_punct(p, 0, "-") ? -1 : 1;
	size_t k = kqlp_punct(p, 0, "-") || kqlp_punct(p, 0, "+") ? 1 : 0;

	if (kqlp_word(p, k, "nan") && k == 0)
		n->r = NAN;
	else if (kqlp_word(p, k, "inf"))
		n->r = sign * INFINITY;
	else
		return false;
	p->i += k + 1;
	return true;
}

static struct kql_node *parse_scalar_value(struct kql_parser *p, struct kql_node *n)
{
	json_t *v;

	if (n->type == PROTO_T_BOOL) {
		if (!kqlp_word(p, 0, "true") && !kqlp_word(p, 0, "false"))
			return kqlp_expected(p, "true, false or null");
		n->i = kqlp_word(p, 0, "true");
		p->i++;
		return n;
	}
	if (n->type == PROTO_T_REAL && parse_real_special(p, n))
		return n;
	if ((v = json_number(p)) == NULL)
		return NULL;
	n->r = json_number_value(v);
	n->i = json_is_integer(v) ? json_integer_value(v) : 0;
	if (!json_is_integer(v) && !real_to_i64(n->r, &n->i) && n->type != PROTO_T_REAL) {
		json_decref(v);
		return literal_range(p, n);
	}
	json_decref(v);
	if (n->type == PROTO_T_INT && (n->i < INT32_MIN || n->i > INT32_MAX)) {
		const char *at = p->src + n->pos.off;
		(void)kql_err_syntax(p->err, n->pos, at, kqlp_span(p, n->pos.off, ")"),
		                     "an int literal out of range");
		return NULL;
	}
	if (n->type == PROTO_T_DECIMAL) {
		char buf[KQL_JSON_REAL_LEN];
		(void)kql_json_shortest(n->r, buf);
		if ((n->str = kql_arena_strndup(p->a, buf, strlen(buf))) == NULL)
			return kqlp_nomem(p);
	}
	return n;
}

static struct kql_node *parse_typed(struct kql_parser *p, enum proto_coltype type)
{
	struct kql_node *n = lit(p, type);

	if (n == NULL)
		return NULL;
	p->i += 2;
	if (kqlp_accept(p, "null"))
		n->isnull = true;
	else if ((type == PROTO_T_DYNAMIC ? parse_dynamic(p, n) : parse_scalar_value(p, n)) == NULL)
		return NULL;
	return kqlp_expect(p, ")") ? n : NULL;
}

static struct kql_node *parse_call(struct kql_parser *p, const char *name)
{
	struct kql_node *n = kqlp_node(p, KQL_N_CALL);

	if (n == NULL)
		return NULL;
	n->name = name;
	p->i += 2;
	if (kqlp_accept(p, ")"))
		return n;
	do {
		if (kqlp_punct(p, 0, "*") && (kqlp_punct(p, 1, ",") || kqlp_punct(p, 1, ")"))) {
			if (kql_ast_add(n, kqlp_node(p, KQL_N_STAR)) == NULL)
				return NULL;
			p->i++;
		} else if (kql_ast_add(n, kqlp_at_assign(p) ? kqlp_item(p) : kqlp_tabular(p)) ==
		           NULL) {
			/* name = value: a user-defined function's argument named */
			return NULL;
		}
	} while (kqlp_accept(p, ","));
	return kqlp_expect(p, ")") ? n : NULL;
}

static struct kql_node *parse_word(struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	struct kql_node *n;
	int type;

	if (strcmp(t->text, "true") == 0 || strcmp(t->text, "false") == 0) {
		if ((n = lit(p, PROTO_T_BOOL)) != NULL)
			n->i = t->text[0] == 't';
		p->i++;
		return n;
	}
	if (kqlp_punct(p, 1, "(") && (type = kql_parse_type_name(t->text)) >= 0 &&
	    type != PROTO_T_DATETIME && type != PROTO_T_TIMESPAN && type != PROTO_T_GUID &&
	    type != PROTO_T_STRING)
		return parse_typed(p, (enum proto_coltype)type);
	if (kqlp_punct(p, 1, "("))
		return parse_call(p, t->text);
	if ((n = kqlp_node(p, KQL_N_NAME)) == NULL)
		return NULL;
	n->name = t->text;
	p->i++;
	return n;
}

static struct kql_node *parse_paren(struct kql_parser *p)
{
	struct kql_node *n;

	p->i++;
	if ((n = kqlp_tabular(p)) == NULL)
		return NULL;
	return kqlp_expect(p, ")") ? n : NULL;
}

static struct kql_node *parse_primary(struct kql_parser *p)
{
	const struct kql_tok *t = kqlp_tok(p, 0);
	struct kql_node *n;

	switch (t->kind) {
	case KQL_T_STRING:
		return parse_string(p);
	case KQL_T_LONG:
	case KQL_T_REAL:
	case KQL_T_TIMESPAN:
		return parse_number(p);
	case KQL_T_RAWLIT:
		return parse_rawlit(p);
	case KQL_T_IDENT:
		return parse_word(p);
	default:
		break;
	}
	if (kqlp_punct(p, 0, "("))
		return parse_paren(p);
	if (kqlp_punct(p, 0, "[") && kqlp_tok(p, 1)->kind == KQL_T_STRING) {
		if ((n = kqlp_node(p, KQL_N_NAME)) == NULL ||
		    (n->name = kqlp_name(p, "a name")) == NULL)
			return NULL;
		return n;
	}
	return kqlp_expected(p, "an expression");
}

/*
 * kql_lex — a hand-written scanner over the query bytes.  Tokens go into a
 * growing array (malloc'd while scanning, copied into the arena at the end
 * so the caller frees one thing).  Every failure names the byte where the
 * scanner stopped.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_lex.h"

#define TICKS_SEC INT64_C(10000000)

struct lexer {
	struct kql_arena *arena;
	const char *src;
	size_t len, i;
	uint32_t line;
	size_t line_start;
	struct kql_tok *v;
	size_t n, cap;
	bool space;
	struct kql_error *err;
	char *scratch; /* a string's decoded text, as long as the source: once */
};

static const struct {
	const char *name;
	int64_t ticks;
} units[] = {
    {"d", 86400 * TICKS_SEC},
    {"day", 86400 * TICKS_SEC},
    {"days", 86400 * TICKS_SEC},
    {"h", 3600 * TICKS_SEC},
    {"hr", 3600 * TICKS_SEC},
    {"hrs", 3600 * TICKS_SEC},
    {"hour", 3600 * TICKS_SEC},
    {"hours", 3600 * TICKS_SEC},
    {"m", 60 * TICKS_SEC},
    {"min", 60 * TICKS_SEC},
    {"minute", 60 * TICKS_SEC},
    {"minutes", 60 * TICKS_SEC},
    {"s", TICKS_SEC},
    {"sec", TICKS_SEC},
    {"second", TICKS_SEC},
    {"seconds", TICKS_SEC},
    {"ms", TICKS_SEC / 1000},
    {"milli", TICKS_SEC / 1000},
    {"millis", TICKS_SEC / 1000},
    {"millisecond", TICKS_SEC / 1000},
    {"milliseconds", TICKS_SEC / 1000},
    {"microsecond", 10},
    {"microseconds", 10},
    {"tick", 1},
    {"ticks", 1},
};

/* Punctuation, longest first so "==" wins over "=". */
static const char *const puncts[] = {
    "==", "!=", "<>", "<=", ">=", "=~", "!~", "..", "=>", "|", "(", ")", "[", "]",
    "{",  "}",  ",",  ";",  ":",  ".",  "=",  "<",  ">",  "+", "-", "*", "/", "%",
};

int64_t kql_lex_unit_ticks(const char *s, size_t n)
{
	for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++)
		if (strlen(units[k].name) == n && strncmp(units[k].name, s, n) == 0)
			return units[k].ticks;
	return 0;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char peek(const struct lexer *l, size_t ahead)
{
	return l->i + ahead < l->len ? l->src[l->i + ahead] : '\0';
}

static struct kql_pos pos_at(const struct lexer *l, size_t off)
{
	struct kql_pos p = {(uint32_t)off, l->line, (uint32_t)(off - l->line_start + 1)};

	return p;
}

static int fail(struct lexer *l, size_t off, const char *why)
{
	size_t n = off < l->len ? 1 : 0;

	while (off + n < l->len && n < 16 && l->src[off + n] != ' ' && l->src[off + n] != '\n')
		n++;
	return kql_err_syntax(l->err, pos_at(l, off), n ? l->src + off : NULL, n, "%s", why);
}

/* Appends a token spanning [start, l->i). */
static struct kql_tok *push(struct lexer *l, enum kql_tok_kind kind, size_t start)
{
	struct kql_tok *t;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		if ((t = realloc(l->v, cap * sizeof(*t))) == NULL)
			return NULL;
		l->v = t;
		l->cap = cap;
	}
	t = &l->v[l->n++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->pos = pos_at(l, start);
	t->len = (uint32_t)(l->i - start);
	t->space = l->space;
	l->space = false;
	return t;
}

static int nomem(struct lexer *l)
{
	return kql_err_set(l->err, KQL_E_NOMEM, pos_at(l, l->i), "out of memory");
}

/* Skips whitespace and // comments, counting lines. */
static void skip_space(struct lexer *l)
{
	while (l->i < l->len) {
		char c = l->src[l->i];
		if (c == '\n') {
			l->line++;
			l->line_start = ++l->i;
		} else if (c == ' ' || c == '\t' || c == '\r') {
			l->i++;
		} else if (c == '/' && peek(l, 1) == '/') {
			while (l->i < l->len && l->src[l->i] != '\n')
				l->i++;
		} else {
			return;
		}
		l->space = true;
	}
}

/* ---- strings ---- */

static void put_utf8(char *out, size_t *n, uint32_t cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xc0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xe0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	} else {
		out[(*n)++] = (char)(0xf0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3f));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[(*n)++] = (char)(0x80 | (cp & 0x3f));
	}
}

static int hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \uXXXX at l->i (after the backslash and 'u'): a code point, not NUL and
 * not a lone surrogate. */
static int lex_u_escape(struct lexer *l, char *out, size_t *n)
{
	uint32_t cp = 0;

	for (int k = 0; k < 4; k++) {
		int h = hex_value(peek(l, (size_t)k));
		if (h < 0)
			return fail(l, l->i - 2, "a \\u escape needs four hex digits");
		cp = cp * 16 + (uint32_t)h;
	}
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
		return fail(l, l->i - 2, "a \\u escape of NUL or a surrogate");
	l->i += 4;
	put_utf8(out, n, cp);
	return 0;
}

static int lex_escape(struct lexer *l, char *out, size_t *n)
{
	char c = peek(l, 0);

	l->i++;
	switch (c) {
	case 'n':
		out[(*n)++] = '\n';
		return 0;
	case 't':
		out[(*n)++] = '\t';
		return 0;
	case 'r':
		out[(*n)++] = '\r';
		return 0;
	case '\\':
	case '\'':
	case '"':
		out[(*n)++] = c;
		return 0;
	case 'u':
		return lex_u_escape(l, out, n);
	default:
		return fail(l, l->i - 2, "an unknown escape in a string");
	}
}

/* The body of a quoted string from l->i (past the opening quote q) to the
 * closing quote, decoded into out (room for the rest of the query). */
static int lex_quoted(struct lexer *l, char q, bool verbatim, char *out, size_t *n)
{
	size_t open = l->i - 1;

	for (;;) {
		char c = peek(l, 0);
		if (l->i >= l->len || c == '\n')
			return fail(l, open, "a string without its closing quote");
		l->i++;
		if (c == q && verbatim && peek(l, 0) == q) {
			l->i++;
			out[(*n)++] = q;
		} else if (c == q) {
			return 0;
		} else if (c == '\\' && !verbatim) {
			int r = lex_escape(l, out, n);
			if (r != 0)
				return r;
		} else if (c == '\0') {
			return fail(l, l->i - 1, "a NUL byte in a string");
		} else {
			out[(*n)++] = c;
		}
	}
}

/* ```multi-line``` : verbatim, may span lines. */
static int lex_fenced(struct lexer *l, char *out, size_t *n)
{
	size_t open = l->i - 3;

	while (l->i + 3 <= l->len && strncmp(l->src + l->i, "```", 3) != 0) {
		char c = l->src[l->i++];
		if (c == '\0')
			return fail(l, l->i - 1, "a NUL byte in a string");
		if (c == '\n') {
			l->line++;
			l->line_start = l->i;
		}
		out[(*n)++] = c;
	}
	if (l->i + 3 > l->len)
		return fail(l, open, "a ``` string without its closing ```");
	l->i += 3;
	return 0;
}

/* A string starting at l->i; start is where its token begins (before any
 * @ or h prefix). */
/* A string literal: decoded into the scratch buffer (no longer than the
 * rest of the source), then its exact length into the arena; an arena
 * block the rest's size per literal made a query of many strings (a
 * datatable of 5,000 rows) use its quadratic bytes. */
static int lex_string(struct lexer *l, size_t start, bool verbatim)
{
	char *out = l->scratch ? l->scratch : (l->scratch = malloc(l->len + 1)), *text;
	struct kql_tok *t;
	size_t n = 0;
	int r;

	if (out == NULL)
		return nomem(l);
	if (peek(l, 0) == '`') {
		l->i += 3;
		r = lex_fenced(l, out, &n);
	} else {
		char q = l->src[l->i++];
		r = lex_quoted(l, q, verbatim, out, &n);
	}
	if (r != 0)
		return r;
	if ((text = kql_arena_alloc(l->arena, n + 1)) == NULL ||
	    (t = push(l, KQL_T_STRING, start)) == NULL)
		return nomem(l);
	memcpy(text, out, n);
	text[n] = '\0';
	t->text = text;
	return 0;
}

/* @'..', h'..', h@'..': the h (hidden from logs in ADX) changes nothing. */
static int lex_prefixed_string(struct lexer *l)
{
	size_t start = l->i;
	bool verbatim = false;

	if (peek(l, 0) == 'h' || peek(l, 0) == 'H')
		l->i++;
	if (peek(l, 0) == '@') {
		verbatim = true;
		l->i++;
	}
	if (peek(l, 0) != '\'' && peek(l, 0) != '"')
		return fail(l, start, "a string prefix without a string");
	return lex_string(l, start, verbatim);
}

/* ---- numbers and timespans ---- */

static int lex_hex(struct lexer *l, size_t start)
{
	uint64_t v = 0;
	struct kql_tok *t;
	int h;

	l->i += 2;
	if (hex_value(peek(l, 0)) < 0)
		return fail(l, start, "a hex number without digits");
	while ((h = hex_value(peek(l, 0))) >= 0) {
		if (v > (UINT64_MAX >> 4))
			return fail(l, start, "a number too large for a long");
		v = v * 16 + (uint64_t)h;
		l->i++;
	}
	if ((t = push(l, KQL_T_LONG, start)) == NULL)
		return nomem(l);
	t->i = (int64_t)v;
	t->text = "";
	return 0;
}

/* Digits [. digits] [e[+-]digits]: the end of the number's text and
 * whether it is real. */
static size_t scan_digits(struct lexer *l, bool *real)
{
	while (is_digit(peek(l, 0)))
		l->i++;
	if (peek(l, 0) == '.' && peek(l, 1) != '.') {
		*real = true;
		l->i++;
		while (is_digit(peek(l, 0)))
			l->i++;
	}
	if ((peek(l, 0) == 'e' || peek(l, 0) == 'E') &&
	    (is_digit(peek(l, 1)) ||
	     ((peek(l, 1) == '+' || peek(l, 1) == '-') && is_digit(peek(l, 2))))) {
		*real = true;
		l->i += 2;
		while (is_digit(peek(l, 0)))
			l->i++;
	}
	return l->i;
}

static int number_token(struct lexer *l, size_t start, const char *num, bool real, int64_t unit)
{
	struct kql_tok *t;
	double d = strtod(num, NULL);
	char *end;

	if (unit != 0) {
		d = round(d * (double)unit);
		if (!(d < 9.2e18))
			return fail(l, start, "a timespan out of range");
		if ((t = push(l, KQL_T_TIMESPAN, start)) == NULL)
			return nomem(l);
		t->i = (int64_t)d;
	} else if (real) {
		if (isinf(d))
			return fail(l, start, "a real out of range");
		if ((t = push(l, KQL_T_REAL, start)) == NULL)
			return nomem(l);
		t->r = d;
	} else {
		errno = 0;
		long long v = strtoll(num, &end, 10);
		if (errno == ERANGE)
			return fail(l, start, "a number too large for a long");
		if ((t = push(l, KQL_T_LONG, start)) == NULL)
			return nomem(l);
		t->i = v;
	}
	t->text = "";
	return 0;
}

static int lex_number(struct lexer *l)
{
	size_t start = l->i, end, u;
	bool real = false;
	int64_t unit = 0;
	char num[64];

	if (peek(l, 0) == '0' && (peek(l, 1) == 'x' || peek(l, 1) == 'X'))
		return lex_hex(l, start);
	end = scan_digits(l, &real);
	for (u = l->i; u < l->len && (is_alpha(l->src[u]) || is_digit(l->src[u])); u++)
		;
	if (u > l->i && (unit = kql_lex_unit_ticks(l->src + l->i, u - l->i)) == 0)
		return fail(l, start, "a number followed by letters that are no timespan unit");
	if (end - start >= sizeof(num))
		return fail(l, start, "a number longer than 63 digits");
	memcpy(num, l->src + start, end - start);
	num[end - start] = '\0';
	l->i = u;
	return number_token(l, start, num, real, unit);
}

/* A word: letters, digits, '_'; "$left"; "!word"; "in~" and "!in~". */
static int lex_word(struct lexer *l)
{
	size_t start = l->i;
	struct kql_tok *t;

	if (peek(l, 0) == '!' || peek(l, 0) == '$')
		l->i++;
	while (l->i < l->len && (is_alpha(l->src[l->i]) || is_digit(l->src[l->i])))
		l->i++;
	if (l->i - start == 2 + (l->src[start] == '!') &&
	    strncmp(l->src + l->i - 2, "in", 2) == 0 && peek(l, 0) == '~')
		l->i++;
	if ((t = push(l, KQL_T_IDENT, start)) == NULL ||
	    (t->text = kql_arena_strndup(l->arena, l->src + start, l->i - start)) == NULL)
		return nomem(l);
	return 0;
}

/* datetime(...), timespan(...), time(...), guid(...): contents kept raw,
 * because they are not made of KQL tokens (2020-01-01 10:00). */
static bool raw_literal_word(const char *s, size_t n)
{
	static const char *const words[] = {"datetime", "timespan", "time",
	                                    "guid",     "uuid",     "uniqueid"};

	for (size_t k = 0; k < sizeof(words) / sizeof(words[0]); k++)
		if (strlen(words[k]) == n && strncmp(words[k], s, n) == 0)
			return true;
	return false;
}

static int lex_raw(struct lexer *l, size_t start, size_t wordlen)
{
	size_t open = l->i, a, b;
	struct kql_tok *t;

	l->i++;
	while (l->i < l->len && l->src[l->i] != ')' && l->src[l->i] != '\n' &&
	       l->i - open <= KQL_MAX_RAWLIT)
		l->i++;
	if (l->i >= l->len || l->src[l->i] != ')')
		return fail(l, open, "a literal without its closing ')'");
	for (a = open + 1; a < l->i && l->src[a] == ' '; a++)
		;
	for (b = l->i; b > a && l->src[b - 1] == ' '; b--)
		;
	l->i++;
	if ((t = push(l, KQL_T_RAWLIT, start)) == NULL ||
	    (t->text = kql_arena_strndup(l->arena, l->src + start, wordlen)) == NULL ||
	    (t->raw = kql_arena_strndup(l->arena, l->src + a, b - a)) == NULL)
		return nomem(l);
	return 0;
}

static int lex_word_or_raw(struct lexer *l)
{
	size_t start = l->i, save;

	while (l->i < l->len && (is_alpha(l->src[l->i]) || is_digit(l->src[l->i])))
		l->i++;
	save = l->i;
	while (peek(l, 0) == ' ')
		l->i++;
	if (peek(l, 0) == '(' && raw_literal_word(l->src + start, save - start))
		return lex_raw(l, start, save - start);
	l->i = start;
	return lex_word(l);
}

static int lex_punct(struct lexer *l)
{
	size_t start = l->i;
	struct kql_tok *t;

	for (size_t k = 0; k < sizeof(puncts) / sizeof(puncts[0]); k++) {
		size_t n = strlen(puncts[k]);
		if (n <= l->len - l->i && strncmp(l->src + l->i, puncts[k], n) == 0) {
			l->i += n;
			if ((t = push(l, KQL_T_PUNCT, start)) == NULL)
				return nomem(l);
			t->text = puncts[k];
			return 0;
		}
	}
	return fail(l, start, "an unexpected character");
}

static int lex_one(struct lexer *l)
{
	char c = l->src[l->i], d = peek(l, 1);

	if (c == '\'' || c == '"' || (c == '`' && d == '`' && peek(l, 2) == '`'))
		return lex_string(l, l->i, false);
	if ((c == '@' && (d == '\'' || d == '"')) ||
	    ((c == 'h' || c == 'H') && (d == '\'' || d == '"' || d == '@')))
		return lex_prefixed_string(l);
	if (is_digit(c) || (c == '.' && is_digit(d)))
		return lex_number(l);
	if (is_alpha(c))
		return lex_word_or_raw(l);
	if ((c == '$' || c == '!') && is_alpha(d))
		return lex_word(l);
	return lex_punct(l);
}

static int finish(struct lexer *l, struct kql_tokens *ret)
{
	struct kql_tok *t, *v;

	if ((t = push(l, KQL_T_END, l->i)) == NULL)
		return nomem(l);
	t->text = "";
	if ((v = kql_arena_alloc(l->arena, l->n * sizeof(*v))) == NULL)
		return nomem(l);
	memcpy(v, l->v, l->n * sizeof(*v));
	ret->v = v;
	ret->n = l->n;
	return 0;
}

/* The length of the valid UTF-8 sequence at s[0, n), 0 when invalid
 * (overlong forms, surrogates, past U+10FFFF): strings go to JSON as they
 * are, so a query must be UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80                   ? 1
	             : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
	             : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
	             : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
	                                           : 0;

	if (len == 0 || len > n)
		return 0;
	for (size_t k = 1; k < len; k++)
		if ((s[k] & 0xc0) != 0x80)
			return 0;
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return len;
}

static int check_utf8(struct lexer *l)
{
	size_t len;

	for (size_t i = 0; i < l->len; i += len) {
		if ((len = utf8_len((const unsigned char *)l->src + i, l->len - i)) != 0)
			continue;
		for (size_t k = l->line_start; k < i; k++)
			if (l->src[k] == '\n') {
				l->line++;
				l->line_start = k + 1;
			}
		return kql_err_syntax(l->err, pos_at(l, i), NULL, 0, "a byte that is not UTF-8");
	}
	return 0;
}

int kql_lex(struct kql_arena *arena, const char *src, size_t len, struct kql_tokens *ret,
            struct kql_error *err)
{
	struct lexer l = {arena, src, len, 0, 1, 0, NULL, 0, 0, false, err, NULL};
	struct kql_pos start = {0, 1, 1};
	int r;

	if (len > KQL_MAX_QUERY)
		return kql_err_set(err, KQL_E_LIMIT, start, "the query is longer than %u bytes",
		                   KQL_MAX_QUERY);
	if ((r = check_utf8(&l)) != 0)
		return r;
	for (;;) {
		skip_space(&l);
		if (l.i >= l.len)
			break;
		if (l.n >= KQL_MAX_TOKENS) {
			r = kql_err_set(err, KQL_E_LIMIT, pos_at(&l, l.i),
			                "the query has more than %d tokens", KQL_MAX_TOKENS);
			goto out;
		}
		if (src[l.i] == '\0') {
			r = fail(&l, l.i, "a NUL byte in the query");
			goto out;
		}
		if ((r = lex_one(&l)) != 0)
			goto out;
	}
	r = finish(&l, ret);
out:
	free(l.v);
	free(l.scratch);
	return r;
}

static bool punct_is(const struct kql_tok *t, const char *p)
{
	return t->kind == KQL_T_PUNCT && strcmp(t->text, p) == 0;
}

int kql_lex_databases(const char *src, size_t len, int (*fn)(void *arg, const char *name),
                      void *arg)
{
	struct kql_arena *a = kql_arena_new();
	struct kql_tokens tk;
	int r;

	if (a == NULL)
		return -ENOMEM;
	r = kql_lex(a, src, len, &tk, NULL);
	for (size_t i = 0; r == 0 && i + 3 < tk.n; i++) {
		const struct kql_tok *t = &tk.v[i];
		if (t->kind == KQL_T_IDENT && strcmp(t->text, "database") == 0 &&
		    punct_is(&t[1], "(") && t[2].kind == KQL_T_STRING && punct_is(&t[3], ")"))
			r = fn(arg, t[2].text);
	}
	kql_arena_free(a);
	return r;
}

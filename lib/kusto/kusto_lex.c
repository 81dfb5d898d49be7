/*
 * kusto_lex — splits a Kusto management command into tokens for the parser
 * (kusto_parse.c).  The whole command is tokenized up front: it is at most
 * KUSTO_MAX_CSL bytes, so the parser can look ahead freely.  Every token's
 * decoded text lives in one arena: a token's text is never longer than the
 * token itself, so two bytes per input byte always suffice.
 *
 * What Kusto writes and this accepts: whitespace and // comments anywhere;
 * .commands; words (letters, digits, '_' and inner '-'); bracketed names
 * ['x'] ["x"]; strings 'x' "x" with \\ \' \" \n \r \t \uXXXX escapes,
 * verbatim @'x' and obfuscated h'x' strings; numbers with an optional unit
 * (7d, 1.5h); datetime(...), time(...) and timespan(...) literals.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kusto/kusto_int.h"

#define LITERAL_MAX 64 /* bytes inside datetime(...) / time(...) */

struct lexer {
	const char *src;
	size_t len;
	size_t i;
	struct kusto_lex *lx;
	size_t cap; /* of lx->toks */
	char *out;  /* next free byte of the arena */
	struct kusto_error *err;
};

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static char peek(const struct lexer *l, size_t ahead)
{
	return l->i + ahead < l->len ? l->src[l->i + ahead] : '\0';
}

/* Adds a token spanning [pos, l->i) whose text is the arena bytes from text
 * on (terminated here). */
static int push(struct lexer *l, enum kusto_tok_kind kind, size_t pos, char *text)
{
	struct kusto_lex *lx = l->lx;

	if (lx->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct kusto_tok *v = realloc(lx->toks, cap * sizeof(*v));
		if (v == NULL)
			return kusto_fail(l->err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
		lx->toks = v;
		l->cap = cap;
	}
	*l->out++ = '\0';
	lx->toks[lx->n++] = (struct kusto_tok){kind, pos, l->i - pos, text};
	return 0;
}

/* Copies src[pos, l->i) into the arena as the token's text. */
static int push_copy(struct lexer *l, enum kusto_tok_kind kind, size_t pos)
{
	char *text = l->out;

	memcpy(l->out, l->src + pos, l->i - pos);
	l->out += l->i - pos;
	return push(l, kind, pos, text);
}

static void skip_blanks(struct lexer *l)
{
	for (;;) {
		if (is_space(peek(l, 0))) {
			l->i++;
		} else if (peek(l, 0) == '/' && peek(l, 1) == '/') {
			while (l->i < l->len && l->src[l->i] != '\n')
				l->i++;
		} else {
			return;
		}
	}
}

/* A word: letters, digits, '_', and '-' between two of those. */
static void scan_word(struct lexer *l)
{
	while (is_alpha(peek(l, 0)) || is_digit(peek(l, 0)) ||
	       (peek(l, 0) == '-' && (is_alpha(peek(l, 1)) || is_digit(peek(l, 1)))))
		l->i++;
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

/* Writes code point cp (not a surrogate, not NUL) as UTF-8. */
static void put_utf8(struct lexer *l, unsigned cp)
{
	if (cp < 0x80) {
		*l->out++ = (char)cp;
	} else if (cp < 0x800) {
		*l->out++ = (char)(0xc0 | cp >> 6);
		*l->out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*l->out++ = (char)(0xe0 | cp >> 12);
		*l->out++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*l->out++ = (char)(0x80 | (cp & 0x3f));
	}
}

/* \uXXXX at l->i (the backslash): six source bytes, at most three out. */
static int scan_unicode(struct lexer *l)
{
	unsigned cp = 0;

	for (size_t k = 2; k < 6; k++) {
		int h = hex_value(peek(l, k));
		if (h < 0)
			return kusto_syntax(l->err, l->src, l->i, "bad \\u escape (4 hex digits)");
		cp = cp << 4 | (unsigned)h;
	}
	if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff))
		return kusto_syntax(l->err, l->src, l->i, "\\u%04x is not allowed in a string", cp);
	put_utf8(l, cp);
	l->i += 6;
	return 0;
}

static int scan_escape(struct lexer *l)
{
	static const char from[] = "\\'\"nrt", to[] = "\\'\"\n\r\t";
	char c = peek(l, 1);
	const char *p = c != '\0' ? strchr(from, c) : NULL;

	if (c == 'u')
		return scan_unicode(l);
	if (p == NULL)
		return kusto_syntax(l->err, l->src, l->i, "unknown escape in a string");
	*l->out++ = to[p - from];
	l->i += 2;
	return 0;
}

/* The string whose opening quote is at l->i; verbatim strings take no
 * escapes.  The decoded text goes to the arena (not yet terminated). */
static int scan_string_body(struct lexer *l, bool verbatim)
{
	size_t start = l->i;
	char q = l->src[l->i++];

	for (;;) {
		char c = peek(l, 0);
		if (l->i >= l->len || c == '\n')
			return kusto_syntax(l->err, l->src, start, "unterminated string");
		if (c == q) {
			l->i++;
			return 0;
		}
		if (c == '\0')
			return kusto_syntax(l->err, l->src, l->i, "NUL byte in a string");
		if (c == '\\' && !verbatim) {
			int r = scan_escape(l);
			if (r < 0)
				return r;
			continue;
		}
		*l->out++ = c;
		l->i++;
	}
}

/* A string, possibly prefixed with h/H (obfuscated) and/or @ (verbatim);
 * l->i is at the prefix or the quote. */
static int scan_string(struct lexer *l)
{
	size_t pos = l->i;
	char *text = l->out;
	bool verbatim = false;
	int r;

	if (peek(l, 0) == 'h' || peek(l, 0) == 'H')
		l->i++;
	if (peek(l, 0) == '@') {
		verbatim = true;
		l->i++;
	}
	r = scan_string_body(l, verbatim);
	if (r == 0 && !kusto_utf8_valid(text, (size_t)(l->out - text)))
		r = kusto_syntax(l->err, l->src, pos, "invalid UTF-8 in a string");
	return r < 0 ? r : push(l, KT_STRING, pos, text);
}

static bool starts_string(const struct lexer *l)
{
	char c = peek(l, 0), d = peek(l, 1), e = peek(l, 2);

	if (c == '\'' || c == '"')
		return true;
	if (c == '@')
		return d == '\'' || d == '"';
	if (c == 'h' || c == 'H')
		return d == '\'' || d == '"' || (d == '@' && (e == '\'' || e == '"'));
	return false;
}

/* ['name'] or ["name"], l->i at '['. */
static int scan_bracketed(struct lexer *l)
{
	size_t pos = l->i;
	char *text = l->out;
	int r;

	l->i++;
	skip_blanks(l);
	if (peek(l, 0) != '\'' && peek(l, 0) != '"')
		return kusto_syntax(l->err, l->src, pos, "expected ['name'] or [\"name\"]");
	r = scan_string_body(l, false);
	if (r < 0)
		return r;
	if (!kusto_utf8_valid(text, (size_t)(l->out - text)))
		return kusto_syntax(l->err, l->src, pos, "invalid UTF-8 in a name");
	skip_blanks(l);
	if (peek(l, 0) != ']')
		return kusto_syntax(l->err, l->src, l->i, "expected ']' to close ['name']");
	l->i++;
	return push(l, KT_NAME, pos, text);
}

/* digits [. digits] [unit letters], with an optional leading '-'. */
static int scan_number(struct lexer *l)
{
	size_t pos = l->i;

	if (peek(l, 0) == '-')
		l->i++;
	while (is_digit(peek(l, 0)))
		l->i++;
	if (peek(l, 0) == '.' && is_digit(peek(l, 1))) {
		l->i++;
		while (is_digit(peek(l, 0)))
			l->i++;
	}
	while (is_alpha(peek(l, 0)))
		l->i++;
	return push_copy(l, KT_NUMBER, pos);
}

/* The "(...)" after datetime / time / timespan (l->i at '('): its trimmed
 * contents become the token's text. */
static int scan_literal(struct lexer *l, enum kusto_tok_kind kind, size_t pos)
{
	size_t open = l->i, a, b;
	char *text = l->out;

	while (l->i < l->len && l->src[l->i] != ')')
		l->i++;
	if (l->i >= l->len)
		return kusto_syntax(l->err, l->src, open, "missing ')' after '%.*s('",
		                    (int)(open - pos), l->src + pos);
	for (a = open + 1; a < l->i && is_space(l->src[a]); a++)
		;
	for (b = l->i; b > a && is_space(l->src[b - 1]); b--)
		;
	if (b - a > LITERAL_MAX || memchr(l->src + a, '\0', b - a) != NULL)
		return kusto_syntax(l->err, l->src, open + 1, "bad literal in '%.*s(...)'",
		                    (int)(open - pos), l->src + pos);
	memcpy(l->out, l->src + a, b - a);
	l->out += b - a;
	l->i++;
	return push(l, kind, pos, text);
}

/* A word, or a datetime/time/timespan literal when '(' follows one. */
static int scan_word_token(struct lexer *l)
{
	size_t pos = l->i, n, save;

	scan_word(l);
	n = l->i - pos;
	save = l->i;
	skip_blanks(l);
	if (peek(l, 0) == '(') {
		if (n == 8 && memcmp(l->src + pos, "datetime", 8) == 0)
			return scan_literal(l, KT_DATETIME, pos);
		if ((n == 4 && memcmp(l->src + pos, "time", 4) == 0) ||
		    (n == 8 && memcmp(l->src + pos, "timespan", 8) == 0))
			return scan_literal(l, KT_TIMESPAN, pos);
	}
	l->i = save;
	return push_copy(l, KT_WORD, pos);
}

static int scan_punct(struct lexer *l)
{
	static const char chars[] = "(),=";
	static const enum kusto_tok_kind kinds[] = {KT_LPAREN, KT_RPAREN, KT_COMMA, KT_EQ};
	size_t pos = l->i;
	char c = peek(l, 0);
	const char *p = c != '\0' ? strchr(chars, c) : NULL;

	if (c == '.' && peek(l, 1) == '.') {
		l->i += 2;
		return push_copy(l, KT_DOTDOT, pos);
	}
	if (c == '.' && is_alpha(peek(l, 1))) {
		l->i++;
		scan_word(l);
		return push_copy(l, KT_COMMAND, pos);
	}
	if (c == '.' || p != NULL) {
		l->i++;
		return push_copy(l, c == '.' ? KT_DOT : kinds[p - chars], pos);
	}
	if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
		return kusto_syntax(l->err, l->src, pos, "unexpected byte 0x%02x",
		                    (unsigned)(unsigned char)c);
	return kusto_syntax(l->err, l->src, pos, "unexpected character '%c'", c);
}

static int scan_token(struct lexer *l)
{
	char c = peek(l, 0);

	if (starts_string(l))
		return scan_string(l);
	if (is_alpha(c))
		return scan_word_token(l);
	if (is_digit(c) || (c == '-' && is_digit(peek(l, 1))))
		return scan_number(l);
	if (c == '[')
		return scan_bracketed(l);
	return scan_punct(l);
}

void kusto_lex_clear(struct kusto_lex *lx)
{
	if (lx == NULL)
		return;
	free(lx->toks);
	free(lx->arena);
	*lx = (struct kusto_lex){0};
}

int kusto_lex(const char *src, size_t len, struct kusto_lex *lx, struct kusto_error *err)
{
	struct lexer l = {.src = src, .len = len, .lx = lx, .err = err};
	int r;

	*lx = (struct kusto_lex){0};
	lx->arena = malloc(2 * len + 2);
	if (lx->arena == NULL)
		return kusto_fail(err, KUSTO_E_INTERNAL, -ENOMEM, "out of memory");
	l.out = lx->arena;
	for (;;) {
		skip_blanks(&l);
		if (l.i >= len)
			return push(&l, KT_END, len, l.out);
		r = scan_token(&l);
		if (r < 0)
			return r;
	}
}

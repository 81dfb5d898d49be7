/*
 * kval_json — the text of a dynamic value: one JSON value (RFC 8259),
 * validated and stripped of whitespace outside strings, in place.
 *
 * A loader meets a small JSON bag on every row; parsing it into a jansson
 * tree and dumping it again would cost more than the rest of the row, so
 * this is a single pass that only checks and copies.  Strings and numbers
 * are kept as written (escapes included); strings must be valid UTF-8
 * without control characters; nesting is bounded by KVAL_MAX_DEPTH.
 */
#include "data/kval.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>

struct jmin {
	char *r; /* next byte to read */
	char *w; /* next byte to write (w <= r) */
	char *end;
	int depth;
	bool write; /* false: a first pass that only checks */
};

static void skip_ws(struct jmin *j)
{
	while (j->r < j->end && (*j->r == ' ' || *j->r == '\t' || *j->r == '\n' || *j->r == '\r'))
		j->r++;
}

static void put(struct jmin *j, const char *from, size_t n)
{
	if (j->write)
		memmove(j->w, from, n);
	j->w += n;
}

/* Copies the byte under r. */
static void copy1(struct jmin *j)
{
	put(j, j->r, 1);
	j->r++;
}

static bool hex4(const char *p, const char *end)
{
	if (end - p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		char c = p[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/* The length of the UTF-8 sequence at p (a byte >= 0x80), 0 if invalid:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t n, i;
	unsigned c = p[0], min;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, min = 0x10000;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	c &= 0x3f >> (n - 1);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

static int string(struct jmin *j)
{
	char *start = j->r++;

	while (j->r < j->end && *j->r != '"') {
		unsigned char c = (unsigned char)*j->r;
		size_t n = 1;

		if (c < 0x20)
			return -EINVAL;
		if (c == '\\') {
			if (j->end - j->r < 2 || !strchr("\"\\/bfnrtu", j->r[1]) || j->r[1] == '\0')
				return -EINVAL;
			if (j->r[1] == 'u' && !hex4(j->r + 2, j->end))
				return -EINVAL;
			n = j->r[1] == 'u' ? 6 : 2;
		} else if (c >= 0x80) {
			n = utf8_len((const unsigned char *)j->r, (const unsigned char *)j->end);
			if (n == 0)
				return -EINVAL;
		}
		j->r += n;
	}
	if (j->r == j->end)
		return -EINVAL;
	j->r++;
	put(j, start, (size_t)(j->r - start));
	return 0;
}

static bool digits(struct jmin *j)
{
	char *s = j->r;

	while (j->r < j->end && *j->r >= '0' && *j->r <= '9')
		j->r++;
	return j->r > s;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int number(struct jmin *j)
{
	char *start = j->r;

	if (*j->r == '-')
		j->r++;
	if (j->r < j->end && *j->r == '0')
		j->r++;
	else if (!digits(j))
		return -EINVAL;
	if (j->r < j->end && *j->r == '.') {
		j->r++;
		if (!digits(j))
			return -EINVAL;
	}
	if (j->r < j->end && (*j->r == 'e' || *j->r == 'E')) {
		j->r++;
		if (j->r < j->end && (*j->r == '+' || *j->r == '-'))
			j->r++;
		if (!digits(j))
			return -EINVAL;
	}
	put(j, start, (size_t)(j->r - start));
	return 0;
}

static int literal(struct jmin *j, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(j->end - j->r) < n || memcmp(j->r, word, n) != 0)
		return -EINVAL;
	put(j, j->r, n);
	j->r += n;
	return 0;
}

static int value(struct jmin *j);

/* An object or array after its opening byte: members until close. */
static int container(struct jmin *j, char close)
{
	int r;

	if (++j->depth > KVAL_MAX_DEPTH)
		return -EINVAL;
	copy1(j);
	skip_ws(j);
	if (j->r < j->end && *j->r == close) {
		copy1(j);
		j->depth--;
		return 0;
	}
	for (;;) {
		skip_ws(j);
		if (close == '}') {
			if (j->r == j->end || *j->r != '"' || (r = string(j)) < 0)
				return -EINVAL;
			skip_ws(j);
			if (j->r == j->end || *j->r != ':')
				return -EINVAL;
			copy1(j);
		}
		if ((r = value(j)) < 0)
			return r;
		skip_ws(j);
		if (j->r == j->end || (*j->r != ',' && *j->r != close))
			return -EINVAL;
		if (*j->r == close)
			break;
		copy1(j);
	}
	copy1(j);
	j->depth--;
	return 0;
}

static int value(struct jmin *j)
{
	skip_ws(j);
	if (j->r == j->end)
		return -EINVAL;
	switch (*j->r) {
	case '{':
		return container(j, '}');
	case '[':
		return container(j, ']');
	case '"':
		return string(j);
	case 't':
		return literal(j, "true");
	case 'f':
		return literal(j, "false");
	case 'n':
		return literal(j, "null");
	default:
		return *j->r == '-' || (*j->r >= '0' && *j->r <= '9') ? number(j) : -EINVAL;
	}
}

/* One pass over text; the length of its minified form, or -EINVAL. */
static ssize_t pass(char *text, size_t len, bool write)
{
	struct jmin j = {text, text, text + len, 0, write};
	int r = value(&j);

	if (r < 0)
		return r;
	skip_ws(&j);
	if (j.r != j.end)
		return -EINVAL;
	return j.w - text;
}

int kval_json_minify(char *text, size_t len, size_t *ret_len)
{
	/* Checking first keeps a refused value intact for the error message;
	 * text without whitespace (what Kusto writes) needs no second pass. */
	ssize_t n = pass(text, len, false);

	if (n < 0)
		return (int)n;
	if ((size_t)n != len) {
		(void)pass(text, len, true);
		text[n] = '\0';
	}
	*ret_len = (size_t)n;
	return 0;
}

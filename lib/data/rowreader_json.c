/*
 * rowreader_json — JSON lines: one object per line, columns by name.
 *
 * A line (at most max_record bytes) is read in two passes over the reader's
 * buffer, like a CSV record: the scan checks the object (kval_json_span
 * for every value: RFC 8259, UTF-8, no duplicate member) and notes where
 * each column's value is; then each value is decoded in place and typed.
 * jansson parsed every line before and ran at a fifth of the speed; it
 * now only words the error of a line the scan refused (JSON_REJECT_DUPLICATES,
 * so its messages are the ones a reader of these files knows).
 *
 * Values convert as ADX converts them: a JSON string goes through the same
 * text parsers as a CSV field (kval); numbers and booleans go straight into
 * numeric and bool columns; a string column takes a string's content, else
 * the value's JSON text; a dynamic column any value's JSON text, minified
 * and otherwise as written (as from CSV).  A missing member or null is null
 * (a string column's "").
 */
#include "data/rowreader_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OTHER_KEYS 64 /* members of no column checked for duplicates */

void rowreader_json_clear(struct rowreader *r)
{
	if (r->done) {
		free(r->jspans);
		r->jspans = NULL;
	}
}

static void skip_ws(char **p, const char *end)
{
	while (*p < end && (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n'))
		(*p)++;
}

/* The column named by key (len bytes, unescaped), or -1. */
static int find_column(const struct rowreader *r, const char *key, size_t len)
{
	for (size_t i = 0; i < r->ncols; i++)
		if (strncmp(r->cols[i].name, key, len) == 0 && r->cols[i].name[len] == '\0')
			return (int)i;
	return -1;
}

/* Members that name no column: only checked for duplicates. */
struct others {
	const char *key[MAX_OTHER_KEYS];
	size_t len[MAX_OTHER_KEYS];
	size_t n;
};

static bool other_seen(struct others *o, const char *key, size_t len)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->len[i] == len && memcmp(o->key[i], key, len) == 0)
			return true;
	if (o->n < MAX_OTHER_KEYS) {
		o->key[o->n] = key;
		o->len[o->n++] = len;
	}
	return false;
}

/* A member's key at *p: its column (-1: none) in *ret_col.  false when the
 * key is malformed or named twice. */
static bool scan_key(struct rowreader *r, char **p, char *end, struct others *o, int *ret_col)
{
	char key[PROTO_MAX_NAME + 8];
	size_t n, klen;

	if (*p == end || **p != '"' || kval_json_span(*p, (size_t)(end - *p), &n) < 0)
		return false;
	klen = n - 2;
	*ret_col = -1;
	if (klen <= PROTO_MAX_NAME + 6) {
		memcpy(key, *p + 1, klen);
		if (kval_json_unescape(key, klen, &klen) < 0)
			return false;
		*ret_col = find_column(r, key, klen);
	}
	if (*ret_col >= 0 ? r->jspans[*ret_col].p != NULL : other_seen(o, *p, n))
		return false;
	*p += n;
	return true;
}

/* Scans the object on line into r->jspans; false when it is not one
 * well-formed object (the caller words the error). */
static bool scan_object(struct rowreader *r, char *p, char *end)
{
	struct others o = {.n = 0};
	size_t n;
	int col;

	memset(r->jspans, 0, r->ncols * sizeof(*r->jspans));
	skip_ws(&p, end);
	if (p == end || *p++ != '{')
		return false;
	skip_ws(&p, end);
	if (p < end && *p == '}')
		return ++p, skip_ws(&p, end), p == end;
	for (;;) {
		if (!scan_key(r, &p, end, &o, &col))
			return false;
		skip_ws(&p, end);
		if (p == end || *p++ != ':')
			return false;
		skip_ws(&p, end);
		if (kval_json_span(p, (size_t)(end - p), &n) < 0)
			return false;
		if (col >= 0)
			r->jspans[col] = (struct rr_field){p, n, false};
		p += n;
		skip_ws(&p, end);
		if (p < end && *p == ',') {
			p++;
			skip_ws(&p, end);
			continue;
		}
		if (p == end || *p++ != '}')
			return false;
		skip_ws(&p, end);
		return p == end;
	}
}

/* The error of a line the scan refused, in jansson's words. */
static int line_error(struct rowreader *r, const char *line, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	bool object = json_is_object(j);

	json_decref(j);
	if (!j)
		return rowreader_fail(r, -EINVAL, "not a JSON object: %s (at byte %d)", je.text,
		                      je.position);
	return rowreader_fail(r, -EINVAL, "not a JSON object%s",
	                      object ? ": nested deeper than 128 levels" : "");
}

/* A value of the wrong kind for column i. */
static int mismatch(struct rowreader *r, size_t i, const char *v, size_t len)
{
	return rowreader_value_error(r, i, v, len, -EINVAL, "not a value of this type");
}

/* Text through kval, as a CSV field goes. */
static int from_text(struct rowreader *r, size_t i, char *text, size_t len)
{
	char why[KVAL_WHYLEN];
	int rc = kval_parse(r->cols[i].type, text, len, r->scratch[i], &r->vals[i], why);

	return rc < 0 ? rowreader_value_error(r, i, text, len, rc, why) : 1;
}

static int from_string(struct rowreader *r, size_t i, char *v, size_t len)
{
	size_t n;

	if (kval_json_unescape(v + 1, len - 2, &n) < 0)
		return rowreader_fail(r, -EINVAL, "not a JSON object: invalid \\u escape");
	return from_text(r, i, v + 1, n);
}

static bool is_integer(const char *v, size_t len)
{
	return memchr(v, '.', len) == NULL && memchr(v, 'e', len) == NULL &&
	       memchr(v, 'E', len) == NULL;
}

/* A JSON number into a numeric or bool column. */
static int from_number(struct rowreader *r, size_t i, char *v, size_t len)
{
	enum proto_coltype t = r->cols[i].type;
	struct kval *out = &r->vals[i];
	int rc;

	if (t == PROTO_T_REAL)
		rc = kval_parse_real(v, len, &out->r);
	else if (t == PROTO_T_DECIMAL)
		return from_text(r, i, v, len);
	else if (!is_integer(v, len) ||
	         (t != PROTO_T_LONG && t != PROTO_T_INT && t != PROTO_T_BOOL))
		return mismatch(r, i, v, len);
	else
		rc = kval_parse_int(v, len,
		                    t == PROTO_T_LONG  ? INT64_MIN
		                    : t == PROTO_T_INT ? INT32_MIN
		                                       : 0,
		                    t == PROTO_T_LONG  ? INT64_MAX
		                    : t == PROTO_T_INT ? INT32_MAX
		                                       : 1,
		                    &out->i);
	if (rc == -ERANGE && t != PROTO_T_BOOL)
		return from_text(r, i, v, len); /* words the range error */
	return rc < 0 ? mismatch(r, i, v, len) : 1;
}

/* Column i from its value's text v (len bytes, NUL-terminated at len). */
static int json_field(struct rowreader *r, size_t i, char *v, size_t len)
{
	enum proto_coltype t = r->cols[i].type;
	struct kval *out = &r->vals[i];

	memset(out, 0, sizeof(*out));
	if (!v || (len == 4 && memcmp(v, "null", 4) == 0)) {
		out->null = t != PROTO_T_STRING;
		out->s = t == PROTO_T_STRING ? "" : NULL;
		return 1;
	}
	if (*v == '"' && t != PROTO_T_DYNAMIC)
		return from_string(r, i, v, len);
	if (t == PROTO_T_DYNAMIC || t == PROTO_T_STRING) {
		out->s = v;
		return kval_json_minify(v, len, &out->len) < 0 ? mismatch(r, i, v, len) : 1;
	}
	if ((*v == 't' || *v == 'f') && t == PROTO_T_BOOL) {
		out->i = *v == 't';
		return 1;
	}
	if (*v == '-' || (*v >= '0' && *v <= '9'))
		return from_number(r, i, v, len);
	return mismatch(r, i, v, len);
}

/* Reads line (len bytes, in the buffer) into the current row. */
static int json_row(struct rowreader *r, char *line, size_t len)
{
	int rc = 1;

	if (!r->jspans && !(r->jspans = calloc(r->ncols, sizeof(*r->jspans))))
		return rowreader_fail(r, -ENOMEM, "out of memory");
	if (!scan_object(r, line, line + len))
		return line_error(r, line, len);
	for (size_t i = 0; i < r->ncols; i++)
		if (r->jspans[i].p)
			r->jspans[i].p[r->jspans[i].len] = '\0';
	for (size_t i = 0; rc == 1 && i < r->ncols; i++)
		rc = json_field(r, i, r->jspans[i].p, r->jspans[i].len);
	return rc;
}

static bool blank(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return false;
	return true;
}

int rowreader_json_next(struct rowreader *r)
{
	char *line, *nl;
	size_t n;
	int rc;

	for (;;) {
		if (r->pos == r->len && r->eof)
			return 0;
		r->line = r->next_line;
		line = r->buf + r->pos;
		nl = memchr(line, '\n', r->len - r->pos);
		if (!nl && !r->eof) {
			rc = rowreader_fill(r);
			if (rc < 0)
				return rc;
			continue;
		}
		n = nl ? (size_t)(nl - line) : r->len - r->pos;
		r->pos += n + (nl != NULL);
		r->consumed += n + (nl != NULL);
		r->next_line++;
		if (blank(line, n))
			continue;
		if (r->skip_first) {
			r->skip_first = false;
			continue;
		}
		return json_row(r, line, n);
	}
}

/*
 * rowreader_json — JSON lines: one object per line, columns by name.
 *
 * Each line (at most max_record bytes) is parsed by jansson with
 * JSON_REJECT_DUPLICATES; the object's members are looked up by column
 * name.  Values convert as ADX converts them: a JSON string goes through the
 * same text parsers as a CSV field (kval); numbers and booleans go straight
 * into numeric and bool columns; any JSON value fills a dynamic column (its
 * compact text) or a string column (a string's content, else the compact
 * text).  A missing member or null is null (a string column's "").
 */
#include "data/rowreader_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rowreader_json_clear(struct rowreader *r)
{
	size_t i;

	for (i = 0; i < r->ndumps; i++)
		free(r->dumps[i]);
	r->ndumps = 0;
	json_decref(r->json);
	r->json = NULL;
	if (r->done) {
		free(r->dumps);
		r->dumps = NULL;
	}
}

/* The compact text of v, kept until the next row; NULL on ENOMEM. */
static char *dump(struct rowreader *r, const json_t *v)
{
	char *s;

	if (!r->dumps && !(r->dumps = calloc(r->ncols, sizeof(*r->dumps))))
		return NULL;
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s)
		r->dumps[r->ndumps++] = s;
	return s;
}

static int nomem(struct rowreader *r)
{
	return rowreader_fail(r, -ENOMEM, "out of memory");
}

/* A JSON value of the wrong kind for column i. */
static int mismatch(struct rowreader *r, size_t i, const json_t *v)
{
	char *s = dump(r, v);

	if (!s)
		return nomem(r);
	return rowreader_value_error(r, i, s, strlen(s), -EINVAL, "not a value of this type");
}

/* A JSON string's text through kval, as a CSV field would go.  kval
 * writes into text only for dynamic columns, which never come here. */
static int from_text(struct rowreader *r, size_t i, const char *text, size_t len)
{
	char why[KVAL_WHYLEN];
	int rc = kval_parse(r->cols[i].type, (char *)text, len, r->scratch[i], &r->vals[i], why);

	return rc < 0 ? rowreader_value_error(r, i, text, len, rc, why) : 1;
}

static int from_number(struct rowreader *r, size_t i, const json_t *v)
{
	struct kval *out = &r->vals[i];
	enum proto_coltype t = r->cols[i].type;
	char *s;

	if (t == PROTO_T_REAL) {
		out->r = json_number_value(v);
		return 1;
	}
	if (json_is_integer(v) && (t == PROTO_T_LONG || t == PROTO_T_BOOL || t == PROTO_T_INT)) {
		json_int_t n = json_integer_value(v);

		if ((t == PROTO_T_INT && (n < INT32_MIN || n > INT32_MAX)) ||
		    (t == PROTO_T_BOOL && n != 0 && n != 1))
			return mismatch(r, i, v);
		out->i = n;
		return 1;
	}
	if (t != PROTO_T_DECIMAL)
		return mismatch(r, i, v);
	s = dump(r, v);
	return s ? from_text(r, i, s, strlen(s)) : nomem(r);
}

static int json_field(struct rowreader *r, size_t i, const json_t *v)
{
	struct kval *out = &r->vals[i];
	enum proto_coltype t = r->cols[i].type;
	char *s;

	memset(out, 0, sizeof(*out));
	if (!v || json_is_null(v)) {
		out->null = t != PROTO_T_STRING;
		out->s = t == PROTO_T_STRING ? "" : NULL;
		return 1;
	}
	if (json_is_string(v) && t != PROTO_T_DYNAMIC)
		return from_text(r, i, json_string_value(v), json_string_length(v));
	if (t == PROTO_T_DYNAMIC || t == PROTO_T_STRING) {
		if (!(s = dump(r, v)))
			return nomem(r);
		out->s = s;
		out->len = strlen(s);
		return 1;
	}
	if (json_is_boolean(v) && t == PROTO_T_BOOL) {
		out->i = json_is_true(v);
		return 1;
	}
	return json_is_number(v) ? from_number(r, i, v) : mismatch(r, i, v);
}

/* Parses line (len bytes) into the current row. */
static int json_row(struct rowreader *r, const char *line, size_t len)
{
	json_error_t je;
	int rc = 1;

	r->json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (!r->json)
		return rowreader_fail(r, -EINVAL, "not a JSON object: %s (at byte %d)", je.text,
		                      je.position);
	if (!json_is_object(r->json))
		return rowreader_fail(r, -EINVAL, "not a JSON object");
	for (size_t i = 0; rc == 1 && i < r->ncols; i++)
		rc = json_field(r, i, json_object_get(r->json, r->cols[i].name));
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

	rowreader_json_clear(r);
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

/*
 * rowreader — typed rows from CSV, TSV and JSON lines (see rowreader.h).
 *
 * The reader keeps decoded bytes in one buffer.  A record is first scanned
 * without changing a byte (rowreader_csv.c, rowreader_json.c); when the
 * buffer ends inside it, the unread tail moves to the front, more bytes are
 * read and the scan starts again, so a record that straddles two reads
 * costs one rescan and a partial record is never half-modified.  Once the
 * whole record is in, its fields are unquoted and NUL-terminated in place
 * and typed by kval.  This file holds the buffer, the loop and the error
 * messages; the formats are in rowreader_csv.c and rowreader_json.c.
 */
#include "data/rowreader_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int rowreader_fail(struct rowreader *r, int err, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->err, sizeof(r->err), "%s:%llu: ", r->name, (unsigned long long)r->line);

	va_start(ap, fmt);
	(void)vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	r->done = true;
	r->rc = err;
	return err;
}

/* Writes text as a quoted, printable excerpt of at most ~64 bytes. */
static void excerpt(char *buf, size_t size, const char *text, size_t len)
{
	size_t i, n = 0;

	for (i = 0; i < len && n + 8 < size && i < 64; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c < 0x20 || c == 0x7f || c == '\\')
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		else
			buf[n++] = (char)c;
	}
	if (i < len && n + 4 < size)
		n += (size_t)snprintf(buf + n, size - n, "...");
	buf[n] = '\0';
}

int rowreader_value_error(struct rowreader *r, size_t col, const char *text, size_t len, int err,
                          const char *why)
{
	char ex[300];

	excerpt(ex, sizeof(ex), text, len);
	r->err_column = (int)col;
	return rowreader_fail(r, err, "column '%s' (%s): '%s': %s", r->cols[col].name,
	                      proto_coltype_name(r->cols[col].type), ex, why);
}

int rowreader_new(const struct rowreader_opts *o, struct instream *in, struct rowreader **ret,
                  char err[ROWREADER_ERRLEN])
{
	struct rowreader *r = NULL;
	int rc = -ENOMEM;

	if (o->ncolumns == 0 || o->ncolumns > PROTO_MAX_COLUMNS ||
	    (o->format != PROTO_FMT_CSV && o->format != PROTO_FMT_TSV &&
	     o->format != PROTO_FMT_JSON)) {
		(void)snprintf(err, ROWREADER_ERRLEN,
		               "a reader needs 1 to %d columns and a format "
		               "(csv, tsv, json)",
		               PROTO_MAX_COLUMNS);
		rc = -EINVAL;
		goto fail;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->in = in;
	r->format = o->format;
	r->cols = o->columns;
	r->ncols = o->ncolumns;
	r->skip_first = o->ignore_first_record;
	r->max_record = o->max_record ? o->max_record : ROWREADER_MAX_RECORD;
	r->cap = r->max_record < ROWREADER_BUF_BYTES ? r->max_record : ROWREADER_BUF_BYTES;
	r->name = strdup(o->name ? o->name : "input");
	r->buf = malloc(r->cap + 1);
	r->vals = calloc(r->ncols, sizeof(*r->vals));
	r->scratch = calloc(r->ncols, sizeof(*r->scratch));
	r->fields = calloc(r->ncols, sizeof(*r->fields));
	r->err_column = -1;
	r->next_line = 1;
	if (!r->name || !r->buf || !r->vals || !r->scratch || !r->fields)
		goto fail;
	*ret = r;
	return 0;
fail:
	if (rc == -ENOMEM)
		(void)snprintf(err, ROWREADER_ERRLEN, "out of memory");
	if (r)
		rowreader_free(r);
	else
		instream_free(in);
	return rc;
}

void rowreader_free(struct rowreader *r)
{
	if (!r)
		return;
	rowreader_json_clear(r);
	instream_free(r->in);
	free(r->name);
	free(r->buf);
	free(r->vals);
	free(r->scratch);
	free(r->fields);
	free(r);
}

/* Moves the unread tail to the front and reads more after it: 1 when bytes
 * came, 0 at the end of the input, -EAGAIN, or an error. */
int rowreader_fill(struct rowreader *r)
{
	ssize_t n;

	if (r->eof)
		return 0;
	if (r->pos > 0) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->len -= r->pos;
		r->pos = 0;
	}
	if (r->len == r->cap) {
		size_t cap = r->cap * 2 > r->max_record ? r->max_record : r->cap * 2;
		char *b;

		if (r->cap >= r->max_record)
			return rowreader_fail(r, -E2BIG, "a record longer than %zu bytes",
			                      r->max_record);
		b = realloc(r->buf, cap + 1);
		if (!b)
			return rowreader_fail(r, -ENOMEM, "out of memory");
		r->buf = b;
		r->cap = cap;
	}
	n = instream_read(r->in, r->buf + r->len, r->cap - r->len);
	if (n == -EAGAIN)
		return -EAGAIN;
	if (n < 0)
		return rowreader_fail(r, (int)n, "%s", instream_error(r->in));
	r->eof = n == 0;
	r->len += (size_t)n;
	return n > 0;
}

/* Skips a UTF-8 byte order mark at the very start. */
static int skip_bom(struct rowreader *r)
{
	int f;

	while (r->len < 3 && !r->eof) {
		f = rowreader_fill(r);
		if (f < 0)
			return f;
	}
	if (r->len >= 3 && memcmp(r->buf, "\xef\xbb\xbf", 3) == 0)
		r->pos = 3;
	r->bom_checked = true;
	return 0;
}

int rowreader_next(struct rowreader *r, const struct kval **ret_row)
{
	int rc;

	if (r->done)
		return r->rc;
	r->line = r->next_line;
	if (!r->bom_checked && (rc = skip_bom(r)) < 0)
		return rc;
	r->err_column = -1;
	rc = r->format == PROTO_FMT_JSON ? rowreader_json_next(r) : rowreader_csv_next(r);
	if (rc == 1) {
		r->rows++;
		*ret_row = r->vals;
	} else if (rc == 0) {
		r->done = true;
	}
	return rc;
}

struct instream *rowreader_instream(struct rowreader *r)
{
	return r->in;
}

const char *rowreader_error(const struct rowreader *r)
{
	return r->err;
}

uint64_t rowreader_line(const struct rowreader *r)
{
	return r->line;
}

int rowreader_error_column(const struct rowreader *r)
{
	return r->err_column;
}

uint64_t rowreader_rows(const struct rowreader *r)
{
	return r->rows;
}

uint64_t rowreader_bytes(const struct rowreader *r)
{
	return r->consumed;
}

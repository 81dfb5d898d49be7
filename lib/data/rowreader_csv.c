/*
 * rowreader_csv — CSV and TSV records (RFC 4180; see rowreader.h).
 *
 * csv_scan finds the end of one record and its fields without writing:
 * a quoted field may hold separators, line breaks and doubled quotes; after
 * its closing quote only a separator or the end of the record may follow.
 * A quote inside an unquoted field is an ordinary byte, as most writers and
 * ADX treat it.  Then csv_type undoes doubled quotes, ends each field with a
 * NUL in place and types it.
 */
#include "data/rowreader_int.h"

#include <errno.h>
#include <string.h>

struct scan {
	size_t end; /* index after the record's terminator */
	size_t nfields;
	uint64_t lines; /* line breaks in the record, its terminator included */
};

static uint64_t count_nl(const char *p, const char *end)
{
	uint64_t n = 0;

	while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/* A quoted field from p (at the opening quote): its end after the closing
 * quote in *ret_p; 1, 0 (needs more bytes) or an error. */
static int scan_quoted(struct rowreader *r, char *p, char *end, struct rr_field *f, struct scan *s,
                       char **ret_p)
{
	char *start = ++p, *q;

	for (;;) {
		q = memchr(p, '"', (size_t)(end - p));
		if (!q) {
			if (!r->eof)
				return 0;
			return rowreader_fail(r, -EINVAL, "a quoted field is not closed");
		}
		if (q + 1 == end && !r->eof)
			return 0;
		if (q + 1 < end && q[1] == '"') {
			f->escaped = true;
			p = q + 2;
			continue;
		}
		break;
	}
	s->lines += count_nl(start, q);
	f->p = start;
	f->len = (size_t)(q - start);
	*ret_p = q + 1;
	return 1;
}

/* After a closing quote: a separator, LF, CRLF or the end of the input. */
static int after_quote(struct rowreader *r, char **pp, char *end, char sep, size_t field)
{
	char *p = *pp;

	if (p == end || *p == sep || *p == '\n')
		return 1;
	if (*p == '\r') {
		if (p + 1 == end)
			return r->eof ? (*pp = p + 1, 1) : 0;
		if (p[1] == '\n') {
			*pp = p + 1;
			return 1;
		}
	}
	return rowreader_fail(r, -EINVAL, "field %zu: '%c' after a closing quote", field + 1, *p);
}

/* One record from r->pos: 1 (found, *s filled), 0 (needs more), error. */
static int csv_scan(struct rowreader *r, struct scan *s)
{
	char *p = r->buf + r->pos, *end = r->buf + r->len;
	const char sep = r->format == PROTO_FMT_TSV ? '\t' : ',';
	int rc;

	memset(s, 0, sizeof(*s));
	for (;;) {
		struct rr_field f = {p, 0, false};

		if (p < end && *p == '"') {
			rc = scan_quoted(r, p, end, &f, s, &p);
			if (rc > 0)
				rc = after_quote(r, &p, end, sep, s->nfields);
			if (rc <= 0)
				return rc;
		} else {
			while (p < end && *p != sep && *p != '\n')
				p++;
			f.len = (size_t)(p - f.p);
		}
		if (s->nfields < r->ncols)
			r->fields[s->nfields] = f;
		s->nfields++;
		if (p == end) {
			if (!r->eof)
				return 0;
			s->end = r->len;
			return 1;
		}
		if (*p++ == '\n')
			break;
	}
	s->lines++;
	s->end = (size_t)(p - r->buf);
	return 1;
}

/* Undoes doubled quotes in place; the new length. */
static size_t unescape(char *p, size_t len)
{
	size_t i, w = 0;

	for (i = 0; i < len; i++) {
		p[w++] = p[i];
		if (p[i] == '"')
			i++;
	}
	return w;
}

/* Types the fields of a complete record into r->vals. */
static int csv_type(struct rowreader *r)
{
	char why[KVAL_WHYLEN];

	for (size_t i = 0; i < r->ncols; i++) {
		struct rr_field *f = &r->fields[i];
		int rc;

		if (f->escaped)
			f->len = unescape(f->p, f->len);
		f->p[f->len] = '\0';
		rc = kval_parse(r->cols[i].type, f->p, f->len, r->scratch[i], &r->vals[i], why);
		if (rc < 0)
			return rowreader_value_error(r, i, f->p, f->len, rc, why);
	}
	return 1;
}

/* Drops the CR of a CRLF from the last field when it was not quoted. */
static void strip_cr(struct rowreader *r, const struct scan *s)
{
	struct rr_field *f;

	if (s->nfields > r->ncols)
		return;
	f = &r->fields[s->nfields - 1];
	if (f->len > 0 && f->p[f->len - 1] == '\r' && f->p + f->len < r->buf + r->len &&
	    f->p[f->len] == '\n')
		f->len--;
	else if (f->len > 0 && f->p[f->len - 1] == '\r' && f->p + f->len == r->buf + r->len)
		f->len--;
}

static bool empty_line(const struct rowreader *r, const struct scan *s, size_t start)
{
	size_t n = s->end - start;
	const char *p = r->buf + start;

	return s->nfields == 1 &&
	       (n == 0 || (n == 1 && p[0] == '\n') || (n == 2 && p[0] == '\r' && p[1] == '\n') ||
	        (n == 1 && p[0] == '\r'));
}

int rowreader_csv_next(struct rowreader *r)
{
	struct scan s;
	size_t start;
	int rc;

	for (;;) {
		if (r->pos == r->len && r->eof)
			return 0;
		r->line = r->next_line;
		rc = csv_scan(r, &s);
		if (rc == 0) {
			rc = rowreader_fill(r);
			if (rc < 0)
				return rc;
			continue;
		}
		if (rc < 0)
			return rc;
		start = r->pos;
		r->pos = s.end;
		r->next_line += s.lines;
		r->consumed += s.end - start;
		if (empty_line(r, &s, start))
			continue;
		if (r->skip_first) {
			r->skip_first = false;
			continue;
		}
		if (s.nfields != r->ncols)
			return rowreader_fail(r, -EINVAL, "%zu fields, the table has %zu columns",
			                      s.nfields, r->ncols);
		strip_cr(r, &s);
		return csv_type(r);
	}
}

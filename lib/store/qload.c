/*
 * qload — an extent's artifacts into the query store (qload.h): read each
 * with its written schema (data/rowreader), map the row to the table's
 * current schema, insert, and commit the extent in one transaction.
 */
#include "store/qload.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/instream.h"
#include "data/rowreader.h"

#define TEXT_MAX 64 /* a converted number or time as text */

/* How a current column gets its value from a written row. */
struct qload_map {
	int from;                     /* index in the written row, -1: null */
	enum proto_coltype from_type; /* its written type */
	enum proto_coltype to_type;
	char text[TEXT_MAX]; /* a value formatted as a string */
	char *buf;           /* a text value to parse as another type */
	size_t cap;
	char scratch[KVAL_SCRATCH]; /* a conversion's guid or decimal */
};

struct qload {
	struct qstore_load *load;
	struct qload_map *map;
	struct kval *row; /* the mapped row */
	size_t ncols;
};

static bool numeric(enum proto_coltype t)
{
	return t == PROTO_T_INT || t == PROTO_T_LONG || t == PROTO_T_REAL || t == PROTO_T_BOOL;
}

/* ---- the map ---- */

static int find_column(const struct qload_artifact *a, const char *name)
{
	for (size_t i = 0; i < a->ncolumns; i++)
		if (strcmp(a->columns[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void map_build(struct qload *l, const struct proto_column *cols,
                      const struct qload_artifact *a)
{
	for (size_t i = 0; i < l->ncols; i++) {
		struct qload_map *m = &l->map[i];
		m->from = find_column(a, cols[i].name);
		m->from_type = m->from >= 0 ? a->columns[m->from].type : cols[i].type;
		m->to_type = cols[i].type;
	}
}

/* Number to number, as tolong()/toint()/toreal()/tobool() do (truncating). */
static void convert_number(const struct kval *in, struct qload_map *m, struct kval *out)
{
	double d = m->from_type == PROTO_T_REAL ? in->r : (double)in->i;

	out->null = false;
	if (m->to_type == PROTO_T_REAL) {
		out->r = d;
	} else if (m->to_type == PROTO_T_BOOL) {
		out->i = d != 0;
	} else if (isnan(d) || d >= 9.2233720368547758e18 || d < -9.2233720368547758e18) {
		out->null = true;
	} else {
		out->i = m->from_type == PROTO_T_REAL ? (int64_t)d : in->i;
		if (m->to_type == PROTO_T_INT && (out->i > INT32_MAX || out->i < INT32_MIN))
			out->null = true;
	}
}

static bool textual(enum proto_coltype t)
{
	return t == PROTO_T_STRING || t == PROTO_T_DYNAMIC || t == PROTO_T_GUID ||
	       t == PROTO_T_DECIMAL;
}

/* Through text: anything to string (as tostring() writes it), a text value
 * parsed as the new type (null where it does not parse). */
static void convert_text(const struct kval *in, struct qload_map *m, struct kval *out)
{
	char why[KVAL_WHYLEN];

	*out = (struct kval){.null = true};
	if (m->to_type == PROTO_T_STRING) {
		if (textual(m->from_type))
			*out = (struct kval){.s = in->s, .len = in->len};
		else
			*out = (struct kval){.s = kval_format(m->from_type, in, m->text, TEXT_MAX),
			                     .len = strlen(m->text)};
		return;
	}
	if (!textual(m->from_type) || !in->s)
		return;
	if (in->len >= m->cap) {
		char *p = realloc(m->buf, in->len + 1);
		if (!p)
			return;
		m->buf = p;
		m->cap = in->len + 1;
	}
	memcpy(m->buf, in->s, in->len);
	m->buf[in->len] = '\0';
	if (kval_parse(m->to_type, m->buf, in->len, m->scratch, out, why) < 0)
		*out = (struct kval){.null = true};
}

static void map_value(const struct kval *row, struct qload_map *m, struct kval *out)
{
	const struct kval *in;

	if (m->from < 0) {
		*out = (struct kval){.null = m->to_type != PROTO_T_STRING, .s = "", .len = 0};
		return;
	}
	in = &row[m->from];
	if (m->from_type == m->to_type)
		*out = *in;
	else if (in->null)
		*out = (struct kval){.null = m->to_type != PROTO_T_STRING, .s = "", .len = 0};
	else if (numeric(m->from_type) && numeric(m->to_type))
		convert_number(in, m, out);
	else
		convert_text(in, m, out);
}

/* ---- reading one artifact ---- */

static int open_reader(const struct qload_artifact *a, int fd, struct rowreader **ret, char *err)
{
	struct rowreader_opts o = {
	    .format = a->format,
	    .columns = a->columns,
	    .ncolumns = a->ncolumns,
	    .name = a->name,
	};
	struct instream *in = NULL;
	int r = instream_new(a->compression, &in);

	if (r < 0) {
		(void)snprintf(err, QLOAD_ERRLEN, "%s: out of memory", a->name);
		return r;
	}
	instream_from_fd(in, fd);
	return rowreader_new(&o, in, ret, err);
}

static int read_rows(struct qload *l, struct rowreader *rr, char *err)
{
	const struct kval *row;
	char serr[QSTORE_ERRLEN];
	int r;

	while ((r = rowreader_next(rr, &row)) == 1) {
		for (size_t i = 0; i < l->ncols; i++)
			map_value(row, &l->map[i], &l->row[i]);
		if ((r = qstore_load_row(l->load, l->row, serr)) < 0) {
			(void)snprintf(err, QLOAD_ERRLEN, "%s", serr);
			return r;
		}
	}
	if (r < 0)
		(void)snprintf(err, QLOAD_ERRLEN, "%s", rowreader_error(rr));
	return r;
}

static int load_artifact(struct qload *l, const struct proto_column *cols,
                         const struct qload_artifact *a, uint64_t *bytes, char *err)
{
	struct rowreader *rr = NULL;
	int fd = open(a->path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		(void)snprintf(err, QLOAD_ERRLEN, "%s: %s", a->name, strerror(-r));
		return r;
	}
	if (a->format == PROTO_FMT_NONE || a->ncolumns == 0) {
		(void)snprintf(err, QLOAD_ERRLEN, "%s: declares no data format", a->name);
		r = -EINVAL;
		goto out;
	}
	map_build(l, cols, a);
	if ((r = open_reader(a, fd, &rr, err)) == 0 && (r = read_rows(l, rr, err)) == 0)
		*bytes += rowreader_bytes(rr);
out:
	rowreader_free(rr);
	close(fd);
	return r;
}

/* ---- the extent ---- */

int qload_extent(struct qstore *q, const char *table, const char *extent,
                 const struct proto_column *cols, size_t ncols, const struct qload_artifact *arts,
                 size_t narts, struct qload_result *ret, char err[QLOAD_ERRLEN])
{
	struct qload l = {.ncols = ncols};
	char serr[QSTORE_ERRLEN];
	uint64_t bytes = 0;
	int r = -ENOMEM;

	l.map = calloc(ncols ? ncols : 1, sizeof(*l.map));
	l.row = calloc(ncols ? ncols : 1, sizeof(*l.row));
	if (!l.map || !l.row) {
		(void)snprintf(err, QLOAD_ERRLEN, "out of memory");
		goto out;
	}
	if ((r = qstore_load_begin(q, table, extent, &l.load, serr)) < 0) {
		(void)snprintf(err, QLOAD_ERRLEN, "%s", serr);
		goto out;
	}
	for (size_t i = 0; i < narts && r == 0; i++)
		r = load_artifact(&l, cols, &arts[i], &bytes, err);
	if (r == 0)
		ret->rows = qstore_load_rows(l.load);
	if (r == 0 && (r = qstore_load_commit(l.load, serr)) < 0)
		(void)snprintf(err, QLOAD_ERRLEN, "%s", serr);
	else if (r < 0)
		qstore_load_abort(l.load);
	if (r == 0)
		ret->bytes_in = bytes;
out:
	for (size_t i = 0; l.map && i < ncols; i++)
		free(l.map[i].buf);
	free(l.map);
	free(l.row);
	return r;
}

/*
 * qload — an extent's artifacts into the query store (qload.h): read each
 * with its written schema (data/rowreader), map the row to the table's
 * current schema, insert, and commit the extent in one transaction.
 */
#include "store/qload.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
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

#define QLOAD_BATCH_ROWS 2048
#define QLOAD_ARENA ((size_t)256 << 10) /* a batch's text, to start with */
#define QLOAD_BATCHES 4                 /* bounds what is parsed ahead */

/* Rows parsed and mapped, their text copied into the batch's arena. */
struct qbatch {
	struct qbatch *next;
	struct kval *vals; /* QLOAD_BATCH_ROWS rows of ncols values */
	size_t nrows;
	char *arena;
	size_t used, cap;
};

/* One load: a parser thread reads and maps the artifacts' rows into
 * batches; the caller's thread inserts them (SQLite's half of the work, the
 * larger one) and commits. */
struct qload {
	struct qstore_load *load;
	const struct proto_column *cols;
	const struct qload_artifact *arts;
	size_t narts, ncols;
	struct qload_map *map; /* the parser's */
	struct kval *row;      /* the parser's mapped row */
	struct qbatch *cur;    /* the parser's batch being filled */
	uint64_t bytes_in;     /* the parser's */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct qbatch *free_list, *full; /* under mu */
	bool cancel, done;               /* under mu */
	int perror;                      /* the parser's result, once done */
	char perr[QLOAD_ERRLEN];
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
	    .ignore_first_record = a->ignore_first_record,
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

/* ---- batches: the parser thread hands rows to the inserting one ---- */

static struct qbatch *batch_new(size_t ncols)
{
	struct qbatch *b = calloc(1, sizeof(*b));

	if (b && !(b->vals = calloc(QLOAD_BATCH_ROWS * ncols, sizeof(*b->vals)))) {
		free(b);
		return NULL;
	}
	return b;
}

static void batch_free(struct qbatch *b)
{
	if (b) {
		free(b->vals);
		free(b->arena);
		free(b);
	}
}

/* Room for need more bytes in b's arena; only an empty batch may move it. */
static bool batch_room(struct qbatch *b, size_t need)
{
	size_t cap = b->cap ? b->cap : QLOAD_ARENA;
	char *p;

	if (b->used + need <= b->cap)
		return true;
	if (b->nrows > 0)
		return false;
	while (cap < need)
		cap *= 2;
	if (!(p = realloc(b->arena, cap)))
		return false;
	b->arena = p;
	b->cap = cap;
	return true;
}

static size_t row_text(const struct qload *l, const struct kval *row)
{
	size_t n = 0;

	for (size_t i = 0; i < l->ncols; i++)
		if (!row[i].null && row[i].s)
			n += row[i].len + 1;
	return n;
}

/* Copies row into b (false: b is full, or out of memory when empty). */
static bool batch_add(const struct qload *l, struct qbatch *b, const struct kval *row)
{
	struct kval *v = &b->vals[b->nrows * l->ncols];

	if (b->nrows == QLOAD_BATCH_ROWS || !batch_room(b, row_text(l, row)))
		return false;
	for (size_t i = 0; i < l->ncols; i++) {
		v[i] = row[i];
		if (row[i].null || !row[i].s)
			continue;
		memcpy(b->arena + b->used, row[i].s, row[i].len);
		b->arena[b->used + row[i].len] = '\0';
		v[i].s = b->arena + b->used;
		b->used += row[i].len + 1;
	}
	b->nrows++;
	return true;
}

/* The parser's side: waits for a free batch (NULL when cancelled). */
static struct qbatch *take_free(struct qload *l)
{
	struct qbatch *b;

	pthread_mutex_lock(&l->mu);
	while (!l->free_list && !l->cancel)
		pthread_cond_wait(&l->cond, &l->mu);
	b = l->cancel ? NULL : l->free_list;
	if (b)
		l->free_list = b->next;
	pthread_mutex_unlock(&l->mu);
	if (b) {
		b->nrows = 0;
		b->used = 0;
		b->next = NULL;
	}
	return b;
}

static void put_full(struct qload *l, struct qbatch *b)
{
	struct qbatch **p;

	pthread_mutex_lock(&l->mu);
	for (p = &l->full; *p; p = &(*p)->next)
		;
	*p = b;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

static void put_free(struct qload *l, struct qbatch *b)
{
	pthread_mutex_lock(&l->mu);
	b->next = l->free_list;
	l->free_list = b;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
}

/* Passes the current batch on; the next one is free (or NULL: cancelled). */
static int flush(struct qload *l)
{
	if (l->cur && l->cur->nrows > 0)
		put_full(l, l->cur);
	else if (l->cur)
		put_free(l, l->cur);
	l->cur = take_free(l);
	return l->cur ? 0 : -ECANCELED;
}

static int add_row(struct qload *l, const struct kval *row)
{
	int r;

	if (batch_add(l, l->cur, row))
		return 0;
	if ((r = flush(l)) < 0)
		return r;
	return batch_add(l, l->cur, row) ? 0 : -ENOMEM;
}

static int read_rows(struct qload *l, struct rowreader *rr)
{
	const struct kval *row;
	int r;

	while ((r = rowreader_next(rr, &row)) == 1) {
		for (size_t i = 0; i < l->ncols; i++)
			map_value(row, &l->map[i], &l->row[i]);
		if ((r = add_row(l, l->row)) < 0)
			return r;
	}
	if (r < 0)
		(void)snprintf(l->perr, sizeof(l->perr), "%s", rowreader_error(rr));
	return r;
}

static int load_artifact(struct qload *l, const struct qload_artifact *a)
{
	struct rowreader *rr = NULL;
	int fd = open(a->path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0) {
		r = -errno;
		(void)snprintf(l->perr, sizeof(l->perr), "%s: %s", a->name, strerror(-r));
		return r;
	}
	if (a->format == PROTO_FMT_NONE || a->ncolumns == 0) {
		(void)snprintf(l->perr, sizeof(l->perr), "%s: declares no data format", a->name);
		r = -EINVAL;
		goto out;
	}
	map_build(l, l->cols, a);
	if ((r = open_reader(a, fd, &rr, l->perr)) == 0 && (r = read_rows(l, rr)) == 0)
		l->bytes_in += rowreader_bytes(rr);
out:
	rowreader_free(rr);
	close(fd);
	return r;
}

static void *parser_main(void *arg)
{
	struct qload *l = arg;
	int r = (l->cur = take_free(l)) ? 0 : -ECANCELED;

	for (size_t i = 0; i < l->narts && r == 0; i++)
		r = load_artifact(l, &l->arts[i]);
	if (r == 0)
		r = flush(l);
	if (l->cur)
		put_free(l, l->cur);
	l->cur = NULL;
	pthread_mutex_lock(&l->mu);
	l->perror = r == -ECANCELED ? 0 : r;
	l->done = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- the inserting side (the caller's thread) ---- */

/* The next full batch, or NULL when the parser is done and none is left. */
static struct qbatch *take_full(struct qload *l)
{
	struct qbatch *b;

	pthread_mutex_lock(&l->mu);
	while (!l->full && !l->done)
		pthread_cond_wait(&l->cond, &l->mu);
	b = l->full;
	if (b)
		l->full = b->next;
	pthread_mutex_unlock(&l->mu);
	return b;
}

static int insert_batch(struct qload *l, const struct qbatch *b, char *err)
{
	char serr[QSTORE_ERRLEN];
	int r;

	for (size_t i = 0; i < b->nrows; i++)
		if ((r = qstore_load_row(l->load, &b->vals[i * l->ncols], serr)) < 0) {
			(void)snprintf(err, QLOAD_ERRLEN, "%s", serr);
			return r;
		}
	return 0;
}

static int insert_all(struct qload *l, char *err)
{
	struct qbatch *b;
	int r = 0;

	while ((b = take_full(l))) {
		if (r == 0)
			r = insert_batch(l, b, err);
		if (r < 0) {
			pthread_mutex_lock(&l->mu);
			l->cancel = true;
			pthread_mutex_unlock(&l->mu);
		}
		put_free(l, b);
	}
	return r;
}

static int pipeline(struct qload *l, char *err)
{
	pthread_t t;
	int r, rc;

	if ((rc = pthread_create(&t, NULL, parser_main, l)) != 0) {
		(void)snprintf(err, QLOAD_ERRLEN, "cannot start a parser thread: %s", strerror(rc));
		return -rc;
	}
	r = insert_all(l, err);
	pthread_join(t, NULL);
	if (r == 0 && l->perror < 0) {
		r = l->perror;
		(void)snprintf(err, QLOAD_ERRLEN, "%s", l->perr);
	}
	return r;
}

/* ---- the extent ---- */

static int qload_init(struct qload *l)
{
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->map = calloc(l->ncols ? l->ncols : 1, sizeof(*l->map));
	l->row = calloc(l->ncols ? l->ncols : 1, sizeof(*l->row));
	if (!l->map || !l->row)
		return -ENOMEM;
	for (int i = 0; i < QLOAD_BATCHES; i++) {
		struct qbatch *b = batch_new(l->ncols);
		if (!b)
			return -ENOMEM;
		b->next = l->free_list;
		l->free_list = b;
	}
	return 0;
}

static void qload_clear(struct qload *l)
{
	struct qbatch *b;

	while ((b = l->free_list)) {
		l->free_list = b->next;
		batch_free(b);
	}
	while ((b = l->full)) {
		l->full = b->next;
		batch_free(b);
	}
	for (size_t i = 0; l->map && i < l->ncols; i++)
		free(l->map[i].buf);
	free(l->map);
	free(l->row);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->mu);
}

int qload_extent(struct qstore *q, const char *table, const char *extent,
                 const struct proto_column *cols, size_t ncols, const struct qload_artifact *arts,
                 size_t narts, struct qload_result *ret, char err[QLOAD_ERRLEN])
{
	struct qload l = {.ncols = ncols, .cols = cols, .arts = arts, .narts = narts};
	char serr[QSTORE_ERRLEN];
	int r = qload_init(&l);

	if (r < 0) {
		(void)snprintf(err, QLOAD_ERRLEN, "out of memory");
		goto out;
	}
	if ((r = qstore_load_begin(q, table, extent, &l.load, serr)) < 0) {
		(void)snprintf(err, QLOAD_ERRLEN, "%s", serr);
		goto out;
	}
	if ((r = pipeline(&l, err)) < 0) {
		qstore_load_abort(l.load);
		goto out;
	}
	ret->rows = qstore_load_rows(l.load);
	ret->bytes_in = l.bytes_in;
	if ((r = qstore_load_commit(l.load, serr)) < 0)
		(void)snprintf(err, QLOAD_ERRLEN, "%s", serr);
out:
	qload_clear(&l);
	return r;
}

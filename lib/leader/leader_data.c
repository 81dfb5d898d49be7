/*
 * leader_data — typed data on the leader's side: the schema an ingest
 * checks rows against, the check itself (every row of a file through
 * data/rowreader, statistics by data/colstats) and the statistics as the
 * protocol carries them.  Nothing here writes to the target: an ingest
 * checks every file before it uploads one.
 */
#include "leader/leader_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/kval.h"
#include "data/rowreader.h"

int leader_table_schema(struct leader *l, const char *db, const char *table,
                        struct proto_entity *ret)
{
	struct proto_head *h = NULL;
	struct leader_state *st = NULL;
	const struct proto_head_db *d;
	const struct proto_entity *e;
	int r = leader_read_head(l, &h);

	if (r < 0)
		goto out;
	d = leader_head_find(h, db);
	if (!d) {
		r = leader_fail(l, -ENOENT, "database '%s' does not exist", db);
		goto out;
	}
	r = leader_load(l, d, &st);
	if (r < 0)
		goto out;
	e = leader_state_entity(st, table);
	if (!e || e->kind == PROTO_EXTERNAL_TABLE)
		r = leader_fail(l, e ? -EINVAL : -ENOENT,
		                e ? "'%s' is an external table: it has no "
		                    "extents"
		                  : "table '%s' does not exist in database %s",
		                table, db);
	else if (proto_entity_copy(ret, e) < 0)
		r = leader_fail(l, -ENOMEM, "out of memory");
out:
	leader_state_free(st);
	proto_head_free(h);
	return r;
}

/* Reads every row of the open reader into st. */
static int read_rows(struct leader *l, struct rowreader *rr, struct colstats *st)
{
	const struct kval *row;
	int r;

	while ((r = rowreader_next(rr, &row)) == 1)
		colstats_add(st, row);
	if (r < 0)
		return leader_fail(l, r, "%s", rowreader_error(rr));
	return 0;
}

int leader_check_rows(struct leader *l, const char *local, const struct leader_data_opts *o,
                      const struct proto_entity *table, struct colstats *st, uint64_t *ret_bytes)
{
	struct rowreader_opts ro = {
	    o->format, table->columns, table->ncolumns, o->ignore_first_record, local, 0};
	struct instream *in = NULL;
	struct rowreader *rr = NULL;
	char err[ROWREADER_ERRLEN];
	int fd = open(local, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return leader_fail(l, -errno, "%s: %s", local, strerror(errno));
	r = instream_new(o->compression, &in);
	if (r < 0) {
		r = leader_fail(l, r, "out of memory");
		goto out;
	}
	instream_from_fd(in, fd);
	r = rowreader_new(&ro, in, &rr, err);
	if (r < 0) {
		r = leader_fail(l, r, "%s: %s", local, err);
		goto out;
	}
	r = read_rows(l, rr, st);
	if (r == 0 && ret_bytes)
		*ret_bytes = rowreader_bytes(rr);
out:
	rowreader_free(rr);
	(void)close(fd);
	return r;
}

int leader_extent_stats(const struct colstats *st, const struct proto_entity *table,
                        struct proto_extent *e)
{
	char min[COLSTATS_TEXT], max[COLSTATS_TEXT];
	struct proto_colstat *v = calloc(table->ncolumns, sizeof(*v));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < table->ncolumns; i++) {
		struct colstats_col c;
		bool ranged = colstats_format(st, i, min, max);

		(void)colstats_get(st, i, &c);
		v[i].nulls = c.nulls;
		v[i].type = table->columns[i].type;
		v[i].name = strdup(table->columns[i].name);
		v[i].min = ranged ? strdup(min) : NULL;
		v[i].max = ranged ? strdup(max) : NULL;
		if (!v[i].name || (ranged && (!v[i].min || !v[i].max)))
			break;
	}
	e->stats = v;
	e->nstats = i < table->ncolumns ? i + 1 : i;
	return i < table->ncolumns ? -ENOMEM : 0;
}

/* ---- merged extents ---- */

static bool same_columns(const struct proto_extent *a, const struct proto_extent *b)
{
	if (a->nstats != b->nstats)
		return false;
	for (size_t i = 0; i < a->nstats; i++)
		if (a->stats[i].type != b->stats[i].type ||
		    strcmp(a->stats[i].name, b->stats[i].name) != 0)
			return false;
	return true;
}

/* Compares two statistics of type t by value (texts that do not parse,
 * which a decoded extent cannot hold, compare equal). */
static int stat_cmp(enum proto_coltype t, const char *a, const char *b)
{
	char sa[KVAL_SCRATCH], sb[KVAL_SCRATCH], why[KVAL_WHYLEN], ta[PROTO_MAX_STAT_TEXT + 1],
	    tb[PROTO_MAX_STAT_TEXT + 1];
	struct kval x, y;

	(void)snprintf(ta, sizeof(ta), "%s", a);
	(void)snprintf(tb, sizeof(tb), "%s", b);
	if (kval_parse(t, ta, strlen(ta), sa, &x, why) < 0 ||
	    kval_parse(t, tb, strlen(tb), sb, &y, why) < 0)
		return 0;
	if (t == PROTO_T_REAL)
		return (x.r > y.r) - (x.r < y.r);
	if (t == PROTO_T_DECIMAL)
		return kval_decimal_cmp(x.s, y.s);
	return (x.i > y.i) - (x.i < y.i);
}

/* Replaces *dst by a copy of src when better says so (or *dst is NULL). */
static int widen(char **dst, const char *src, enum proto_coltype t, int sign)
{
	char *copy;

	if (!src || (*dst && stat_cmp(t, src, *dst) * sign <= 0))
		return 0;
	copy = strdup(src);
	if (!copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

int leader_merge_stats(const struct proto_extent *src, size_t n, struct proto_extent *m, char *err)
{
	size_t i, k;
	int r = 0;

	for (i = 0; i < n; i++)
		if (src[i].nstats == 0)
			return 0;
	for (i = 1; i < n; i++)
		if (!same_columns(&src[0], &src[i])) {
			(void)snprintf(
			    err, LEADER_ERRLEN,
			    "extents %s and %s were written with different columns "
			    "(the table was altered between them): they cannot be merged",
			    src[0].id, src[i].id);
			return -EINVAL;
		}
	m->stats = calloc(src[0].nstats, sizeof(*m->stats));
	if (!m->stats)
		return -ENOMEM;
	m->nstats = src[0].nstats;
	for (k = 0; r == 0 && k < m->nstats; k++) {
		struct proto_colstat *c = &m->stats[k];

		c->type = src[0].stats[k].type;
		c->name = strdup(src[0].stats[k].name);
		r = c->name ? 0 : -ENOMEM;
		for (i = 0; r == 0 && i < n; i++) {
			c->nulls += src[i].stats[k].nulls;
			r = widen(&c->min, src[i].stats[k].min, c->type, -1);
			if (r == 0)
				r = widen(&c->max, src[i].stats[k].max, c->type, 1);
		}
	}
	return r;
}

/* ---- verify: the rows of typed artifacts ---- */

static bool readable(const struct proto_artifact *a)
{
	return (a->format == PROTO_FMT_CSV || a->format == PROTO_FMT_TSV ||
	        a->format == PROTO_FMT_JSON) &&
	       a->compression != PROTO_COMP_UNKNOWN;
}

/* The columns e's rows were written with: its own, else its table's. */
static int check_columns(struct leader_rowcheck *c, const struct leader_state *st,
                         const struct proto_extent *e)
{
	const struct proto_entity *t = e->nstats ? NULL : leader_state_entity(st, e->table);
	size_t n = e->nstats ? e->nstats : t ? t->ncolumns : 0;

	if (n == 0)
		return 0;
	c->cols = calloc(n, sizeof(*c->cols));
	if (!c->cols)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		c->cols[i] = e->nstats ? (struct proto_column){e->stats[i].name, e->stats[i].type}
		                       : t->columns[i];
	c->ncols = n;
	return 0;
}

int leader_rowcheck_init(struct leader_rowcheck *c, const struct leader_state *st,
                         const struct proto_extent *e)
{
	size_t i;
	int r;

	memset(c, 0, sizeof(*c));
	c->complete = true;
	for (i = 0; i < e->nartifacts; i++)
		if (!readable(&e->artifacts[i]))
			return 0;
	if (e->nartifacts == 0)
		return 0;
	r = check_columns(c, st, e);
	if (r < 0 || c->ncols == 0)
		return r;
	return colstats_new(c->cols, c->ncols, &c->cs) < 0 ? -ENOMEM : 0;
}

void leader_rowcheck_begin(struct leader_rowcheck *c, const struct proto_artifact *a)
{
	struct rowreader_opts o = {a->format, c->cols, c->ncols, a->ignore_first_record,
	                           a->path,   0};
	char err[ROWREADER_ERRLEN];

	c->rc = instream_new(a->compression, &c->in);
	if (c->rc == 0 && rowreader_new(&o, c->in, &c->rr, err) < 0)
		c->rc = -ENOMEM; /* it freed the instream */
	c->in = c->rr ? c->in : NULL;
}

/* Reads the rows the pushed bytes complete: -EAGAIN when it needs more. */
static int drain_rows(struct leader_rowcheck *c)
{
	const struct kval *row;
	int r;

	while ((r = rowreader_next(c->rr, &row)) == 1)
		colstats_add(c->cs, row);
	if (r < 0 && r != -EAGAIN)
		c->rc = r == -ENOMEM ? -ENOMEM : -EINVAL;
	return r;
}

void leader_rowcheck_piece(struct leader_rowcheck *c, const void *data, size_t len)
{
	if (c->rc < 0 || len == 0)
		return;
	instream_push(c->in, data, len);
	(void)drain_rows(c);
}

int leader_rowcheck_end(struct leader_rowcheck *c, char *why, size_t whylen)
{
	int r = c->rc;

	if (r == 0) {
		instream_push_end(c->in);
		(void)drain_rows(c);
		r = c->rc;
	}
	if (r < 0) {
		(void)snprintf(why, whylen, "%s",
		               r == -EINVAL && c->rr ? rowreader_error(c->rr) : "out of memory");
		c->failed = true;
	}
	rowreader_free(c->rr);
	c->rr = NULL;
	c->in = NULL;
	c->rc = 0;
	return r < 0 ? -EINVAL : 0;
}

int leader_rowcheck_compare(const struct leader_rowcheck *c, const struct proto_extent *e,
                            char *why, size_t whylen)
{
	char min[COLSTATS_TEXT], max[COLSTATS_TEXT];

	if (colstats_rows(c->cs) != e->rows) {
		(void)snprintf(why, whylen, "%llu rows where the extent says %llu",
		               (unsigned long long)colstats_rows(c->cs),
		               (unsigned long long)e->rows);
		return -EINVAL;
	}
	for (size_t i = 0; i < e->nstats; i++) {
		const struct proto_colstat *s = &e->stats[i];
		struct colstats_col cc;
		bool ranged = colstats_format(c->cs, i, min, max);

		(void)colstats_get(c->cs, i, &cc);
		if (cc.nulls == s->nulls && ranged == (s->min != NULL) &&
		    (!ranged || (strcmp(min, s->min) == 0 && strcmp(max, s->max) == 0)))
			continue;
		(void)snprintf(why, whylen,
		               "column '%s': %llu nulls, range %s..%s where the extent says %llu, "
		               "%s..%s",
		               s->name, (unsigned long long)cc.nulls, ranged ? min : "none",
		               ranged ? max : "none", (unsigned long long)s->nulls,
		               s->min ? s->min : "none", s->max ? s->max : "none");
		return -EINVAL;
	}
	return 0;
}

void leader_rowcheck_clear(struct leader_rowcheck *c)
{
	rowreader_free(c->rr); /* and its instream */
	free(c->cols);
	colstats_free(c->cs);
	memset(c, 0, sizeof(*c));
}

/*
 * colstats — per-column statistics (see colstats.h).
 *
 * Called once per row on the load path, so a column keeps its extremes in
 * native form (ticks, int64, double, canonical decimal text in a fixed
 * buffer) and formats them only when asked.
 */
#include "data/colstats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

struct col {
	enum proto_coltype type;
	uint64_t nulls;
	bool has;
	int64_t imin, imax;
	double rmin, rmax;
	char dmin[KVAL_SCRATCH], dmax[KVAL_SCRATCH];
};

struct colstats {
	struct col *cols;
	size_t ncols;
	uint64_t rows;
};

bool colstats_ranged(enum proto_coltype t)
{
	return t == PROTO_T_DATETIME || t == PROTO_T_TIMESPAN || t == PROTO_T_INT ||
	       t == PROTO_T_LONG || t == PROTO_T_REAL || t == PROTO_T_DECIMAL;
}

int colstats_new(const struct proto_column *cols, size_t ncols, struct colstats **ret)
{
	struct colstats *s;

	if (ncols == 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s || !(s->cols = calloc(ncols, sizeof(*s->cols)))) {
		free(s);
		return -ENOMEM;
	}
	s->ncols = ncols;
	for (size_t i = 0; i < ncols; i++)
		s->cols[i].type = cols[i].type;
	*ret = s;
	return 0;
}

void colstats_free(struct colstats *s)
{
	if (!s)
		return;
	free(s->cols);
	free(s);
}

static void add_int(struct col *c, int64_t v)
{
	if (!c->has || v < c->imin)
		c->imin = v;
	if (!c->has || v > c->imax)
		c->imax = v;
	c->has = true;
}

static void add_real(struct col *c, double v)
{
	if (isnan(v))
		return;
	if (!c->has || v < c->rmin)
		c->rmin = v;
	if (!c->has || v > c->rmax)
		c->rmax = v;
	c->has = true;
}

static void add_decimal(struct col *c, const char *v)
{
	if (!c->has || kval_decimal_cmp(v, c->dmin) < 0)
		(void)snprintf(c->dmin, sizeof(c->dmin), "%s", v);
	if (!c->has || kval_decimal_cmp(v, c->dmax) > 0)
		(void)snprintf(c->dmax, sizeof(c->dmax), "%s", v);
	c->has = true;
}

void colstats_add(struct colstats *s, const struct kval *row)
{
	s->rows++;
	for (size_t i = 0; i < s->ncols; i++) {
		struct col *c = &s->cols[i];

		if (row[i].null) {
			c->nulls++;
			continue;
		}
		switch (c->type) {
		case PROTO_T_DATETIME:
		case PROTO_T_TIMESPAN:
		case PROTO_T_INT:
		case PROTO_T_LONG:
			add_int(c, row[i].i);
			break;
		case PROTO_T_REAL:
			add_real(c, row[i].r);
			break;
		case PROTO_T_DECIMAL:
			add_decimal(c, row[i].s);
			break;
		default:
			break;
		}
	}
}

uint64_t colstats_rows(const struct colstats *s)
{
	return s->rows;
}

int colstats_get(const struct colstats *s, size_t i, struct colstats_col *ret)
{
	const struct col *c;

	if (i >= s->ncols)
		return -EINVAL;
	c = &s->cols[i];
	memset(ret, 0, sizeof(*ret));
	ret->nulls = c->nulls;
	ret->has_range = c->has;
	if (!c->has)
		return 0;
	ret->min.i = c->imin;
	ret->max.i = c->imax;
	ret->min.r = c->rmin;
	ret->max.r = c->rmax;
	if (c->type == PROTO_T_DECIMAL) {
		ret->min.s = c->dmin;
		ret->min.len = strlen(c->dmin);
		ret->max.s = c->dmax;
		ret->max.len = strlen(c->dmax);
	}
	return 0;
}

bool colstats_format(const struct colstats *s, size_t i, char min[COLSTATS_TEXT],
                     char max[COLSTATS_TEXT])
{
	struct colstats_col c;

	min[0] = max[0] = '\0';
	if (colstats_get(s, i, &c) < 0 || !c.has_range)
		return false;
	(void)kval_format(s->cols[i].type, &c.min, min, COLSTATS_TEXT);
	(void)kval_format(s->cols[i].type, &c.max, max, COLSTATS_TEXT);
	return true;
}

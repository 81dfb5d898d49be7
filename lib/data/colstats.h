/*
 * colstats — per-column statistics of an extent's rows: the row count, each
 * column's null count, and the minimum and maximum of datetime, timespan
 * and numeric (int, long, real, decimal) columns.
 *
 * Leaderctl's ingest computes them while it checks the rows and publishes
 * them with the extent (docs/PROTOCOL.md), so a follower can skip an extent
 * without reading it (a time filter outside [min, max], a count of nulls).
 * A real NaN counts in no range; ±Infinity do.  Strings are never null.
 */
#ifndef FOLLOWERD_COLSTATS_H
#define FOLLOWERD_COLSTATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/kval.h"
#include "proto/proto.h"

/* Room for a formatted minimum or maximum (a datetime, a decimal, a real). */
#define COLSTATS_TEXT 48

struct colstats;

/* One column's statistics. */
struct colstats_col {
	uint64_t nulls;
	bool has_range;  /* min and max hold at least one value */
	struct kval min; /* decimal: s borrowed from the colstats until the next add */
	struct kval max;
};

/* New statistics for the columns (types copied).  0 or -ENOMEM/-EINVAL. */
int colstats_new(const struct proto_column *cols, size_t ncols, struct colstats **ret);
void colstats_free(struct colstats *s);

/* Adds one row of ncols values (as rowreader_next returns them). */
void colstats_add(struct colstats *s, const struct kval *row);

/* Rows added. */
uint64_t colstats_rows(const struct colstats *s);
/* Column i's statistics into *ret; -EINVAL when i is out of range. */
int colstats_get(const struct colstats *s, size_t i, struct colstats_col *ret);
/* Column i's min and max as Kusto writes them into min and max
 * (COLSTATS_TEXT bytes each); false (both "") when it has no range. */
bool colstats_format(const struct colstats *s, size_t i, char min[COLSTATS_TEXT],
                     char max[COLSTATS_TEXT]);

/* Whether a column of type t gets a min and a max. */
bool colstats_ranged(enum proto_coltype t);

#endif

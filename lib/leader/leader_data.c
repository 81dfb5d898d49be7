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
		r = leader_fail(l, e ? -EINVAL : -ENOENT, e ? "'%s' is an external table: it has no "
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
	struct rowreader_opts ro = {o->format, table->columns, table->ncolumns,
				    o->ignore_first_record, local, 0};
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

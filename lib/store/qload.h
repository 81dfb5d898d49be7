/*
 * qload — loads an extent's artifacts (cached files of a declared data
 * format) into the query store, in one transaction.
 *
 * An artifact's rows are read with the schema its table had when it was
 * written (the extent says which), then mapped by column name to the
 * table's current schema: a column of the same name and type is copied, a
 * retyped one converted as Kusto's to<type>() would (numbers to numbers,
 * anything to string, a string parsed as the new type) and null where it
 * cannot, a column added since is null, a dropped one is left out.
 *
 * The first row that does not parse stops the load: nothing of the extent
 * is kept, and the error names the artifact (its name as given), the line
 * and the column, so the caller can mark the extent not queryable.
 */
#ifndef FOLLOWERD_QLOAD_H
#define FOLLOWERD_QLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "store/qstore.h"

#define QLOAD_ERRLEN 768

/* One artifact to read: a path to its cached file (borrowed). */
struct qload_artifact {
	const char *path;
	const char *name; /* names it in errors */
	enum proto_format format;
	enum proto_compression compression;
	const struct proto_column *columns; /* its schema as written (borrowed) */
	size_t ncolumns;
	bool ignore_first_record; /* a header line */
};

/* What one load did. */
struct qload_result {
	uint64_t rows;
	uint64_t bytes_in; /* the artifacts' decoded bytes */
};

/* Loads extent (into table, whose current schema is cols) from its
 * artifacts, in one transaction; qstore_table_sync must have set the
 * schema.  0 with *ret filled, or a negative errno with a line in err:
 * -EINVAL/-ERANGE a row that does not parse (line and column named),
 * -EBADMSG corrupt compressed data, -ENOSPC, -EEXIST (loaded already). */
int qload_extent(struct qstore *q, const char *table, const char *extent,
                 const struct proto_column *cols, size_t ncols, const struct qload_artifact *arts,
                 size_t narts, struct qload_result *ret, char err[QLOAD_ERRLEN]);

#endif

/*
 * rowreader — the rows of an artifact, typed by its table's schema.
 *
 * Reads CSV (RFC 4180: separators, quotes, doubled quotes and line breaks
 * inside quotes, CRLF or LF), TSV (the same with tabs) and JSON lines (one
 * object per line) from an instream (data/instream.h: plain, gzip, zstd;
 * a file, a callback or pushed chunks) and returns one row at a time, each
 * value typed by data/kval.h.  Columns map as ADX maps them by default: CSV
 * and TSV by position in the table's column order (a record with another
 * field count is refused), JSON by column name (a missing member is null,
 * members of no column are ignored).  An empty line is skipped; a UTF-8 BOM
 * at the start is ignored; ignore_first_record skips a header record.
 *
 * Memory is bounded: one buffer that holds at least one record and grows to
 * max_record bytes, never the artifact.  Leaderctl's ingest reads every row
 * before it publishes; a follower's loader reads the rows it stores.
 *
 * Errors: rowreader_next returns a negative errno and rowreader_error
 * gives one line naming the file, the line, and for a bad value the column,
 * its type and the value:
 *   "events.csv:12: column 'Latency' (real): 'fast': not a real (…)"
 *   -EINVAL  a malformed record or value (-ERANGE: a value out of range)
 *   -E2BIG   a record longer than max_record
 *   others   from the instream (-EBADMSG corrupt compressed data, read errors)
 */
#ifndef FOLLOWERD_ROWREADER_H
#define FOLLOWERD_ROWREADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/instream.h"
#include "data/kval.h"
#include "proto/proto.h"

#define ROWREADER_ERRLEN 512
#define ROWREADER_MAX_RECORD ((size_t)4 << 20) /* default record (line) bound */
#define ROWREADER_BUF_BYTES ((size_t)1 << 20)  /* initial buffer */

struct rowreader_opts {
	enum proto_format format;           /* CSV, TSV or JSON */
	const struct proto_column *columns; /* borrowed for the reader's life */
	size_t ncolumns;                    /* 1 to PROTO_MAX_COLUMNS */
	bool ignore_first_record;
	const char *name;  /* names the input in errors (copied); NULL: "input" */
	size_t max_record; /* bytes of one record; 0: ROWREADER_MAX_RECORD */
};

struct rowreader;

/* A new reader of o's format over in (stolen: freed with the reader, also
 * on failure).  0, or -EINVAL (bad options) / -ENOMEM with err set. */
int rowreader_new(const struct rowreader_opts *o, struct instream *in, struct rowreader **ret,
                  char err[ROWREADER_ERRLEN]);
/* Frees r and its instream; NULL ok. */
void rowreader_free(struct rowreader *r);

/* The next row: 1 with *ret_row pointing at ncolumns values (borrowed, valid
 * until the next call), 0 at the end, -EAGAIN when the instream is in push
 * mode and needs the next chunk (push it and call again), or an error (the
 * reader is then done). */
int rowreader_next(struct rowreader *r, const struct kval **ret_row);

/* The instream, to push chunks into (borrowed). */
struct instream *rowreader_instream(struct rowreader *r);

/* The last error (never NULL). */
const char *rowreader_error(const struct rowreader *r);
/* The first line of the last record returned or refused (1-based). */
uint64_t rowreader_line(const struct rowreader *r);
/* The column of the last refused value, or -1 (a record-level error). */
int rowreader_error_column(const struct rowreader *r);
/* Rows returned so far. */
uint64_t rowreader_rows(const struct rowreader *r);
/* Decoded bytes consumed so far (the artifact's original size at the end). */
uint64_t rowreader_bytes(const struct rowreader *r);

#endif

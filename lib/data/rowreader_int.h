/*
 * rowreader_int — what rowreader.c shares with its format files
 * (rowreader_csv.c, rowreader_json.c).  Not for use outside the module.
 */
#ifndef FOLLOWERD_ROWREADER_INT_H
#define FOLLOWERD_ROWREADER_INT_H

#include <jansson.h>

#include "data/rowreader.h"

/* One field of a CSV/TSV record, found by the scan. */
struct rr_field {
	char *p;      /* first byte of the content (after an opening quote) */
	size_t len;   /* bytes of content, doubled quotes still doubled */
	bool escaped; /* holds doubled quotes to undo */
};

struct rowreader {
	struct instream *in;
	enum proto_format format;
	const struct proto_column *cols;
	size_t ncols;
	bool skip_first;
	bool bom_checked;
	bool eof;  /* the instream is at its end */
	bool done; /* the end or an error was returned */
	int rc;    /* the error returned, when done */
	char *name;
	char *buf; /* cap + 1 bytes: room for a NUL after the last field */
	size_t cap;
	size_t pos; /* the next record starts here */
	size_t len; /* bytes in buf */
	size_t max_record;
	uint64_t line;      /* first line of the current record */
	uint64_t next_line; /* first line of the next one */
	uint64_t rows;
	uint64_t consumed;
	int err_column;
	struct kval *vals;
	char (*scratch)[KVAL_SCRATCH];
	struct rr_field *fields;
	json_t *json; /* JSON lines: the current row's object */
	char **dumps; /* JSON lines: texts made for the current row */
	size_t ndumps;
	char err[ROWREADER_ERRLEN];
};

/* Sets the error ("NAME:LINE: " + fmt), marks the reader done, returns err. */
int rowreader_fail(struct rowreader *r, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The error for a value of column col that kval refused. */
int rowreader_value_error(struct rowreader *r, size_t col, const char *text, size_t len, int err,
                          const char *why);
/* More bytes into the buffer: 1, 0 at the end, -EAGAIN or an error. */
int rowreader_fill(struct rowreader *r);

/* The next row of each format: 1, 0 at the end, or as rowreader_next. */
int rowreader_csv_next(struct rowreader *r);
int rowreader_json_next(struct rowreader *r);
/* Releases what the JSON reader holds for the current row. */
void rowreader_json_clear(struct rowreader *r);

#endif

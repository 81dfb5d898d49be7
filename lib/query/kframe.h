/*
 * kframe — a query's answer in Kusto's wire forms, written as it is
 * produced: the v2 frames of POST /v2/rest/query (DataSetHeader,
 * DataTable or TableHeader/TableFragment/TableCompletion,
 * DataSetCompletion) and the v1 tables of POST /v1/rest/query.
 *
 * The last stage of the query pipeline (lex → parse → bind → plan →
 * execute → encode): it knows nothing of plans, only columns and values
 * (data/kval.h), and hands the text to a write callback in pieces of at
 * most KFRAME_CHUNK bytes, so a result of any size costs a bounded buffer.
 *
 * Values take Kusto's JSON forms: int, long, real JSON numbers (NaN and the
 * infinities as the strings "NaN", "Infinity", "-Infinity"), bool true or
 * false, datetime "YYYY-MM-DDThh:mm:ss.fffffffZ", timespan
 * "[-][d.]hh:mm:ss[.fffffff]", guid and decimal strings, dynamic inline
 * JSON, null as null but for a string, which is "" (strings are never
 * null).  Text is escaped for JSON; bytes that are not UTF-8 become U+FFFD.
 *
 * An error after rows were written (a timeout, a cancel, a limit) cannot
 * change the HTTP status any more: kframe_finish puts it where Kusto does —
 * a QueryCompletionInformation row of Level 2 and DataSetCompletion's
 * HasErrors and OneApiErrors (v2), a QueryStatus row of Severity 2 (v1) — so
 * an SDK raises it.  Truncation is such an error (Kusto's partial-result
 * error, 80DA0003).
 */
#ifndef FOLLOWERD_KFRAME_H
#define FOLLOWERD_KFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/kval.h"
#include "proto/proto.h"

#define KFRAME_CHUNK ((size_t)64 << 10)

/* Writes len bytes of the answer; 0, or a negative errno to stop (the
 * client went away): every later call fails with it. */
typedef int (*kframe_write_fn)(void *arg, const char *buf, size_t len);

enum kframe_shape {
	KFRAME_V2,            /* one DataTable frame per table */
	KFRAME_V2_FRAGMENTED, /* TableHeader, TableFragment(s), TableCompletion */
	KFRAME_V1,            /* {"Tables":[...]} */
};

struct kframe_opts {
	enum kframe_shape shape;
	bool end_of_table;             /* v2 fragmented: ErrorReportingPlacement "EndOfTable" */
	const char *client_request_id; /* echoed in the completion tables (borrowed) */
	const char *activity_id;       /* a guid (borrowed) */
};

struct kframe_column {
	const char *name;
	enum proto_coltype type;
};

/* How a query ended. */
struct kframe_status {
	int code;            /* 0: success */
	const char *kusto;   /* Kusto's error code ("LimitsExceeded", ...), NULL on success */
	const char *message; /* what happened, for the user */
	bool cancelled;
};

struct kframe;

/* A new encoder writing through fn(arg, ...) (both borrowed).  -ENOMEM. */
int kframe_new(const struct kframe_opts *o, kframe_write_fn fn, void *arg, struct kframe **ret);
/* Frees; NULL is a no-op (writes nothing). */
void kframe_free(struct kframe *f);

/* Starts a result table ("PrimaryResult", named name) of the columns
 * (borrowed until kframe_table_end).  The first call writes the header. */
int kframe_table_begin(struct kframe *f, const char *name, const struct kframe_column *cols,
                       size_t ncols);
/* One row: a value per column. */
int kframe_row(struct kframe *f, const struct kval *row);
/* Ends the table. */
int kframe_table_end(struct kframe *f);

/* A query property ("Visualization" and its JSON, as render reports it):
 * kept for the @ExtendedProperties table (key and value copied). */
int kframe_property(struct kframe *f, const char *key, const char *json_value);

/* Ends the answer: the properties, the completion tables with st (NULL:
 * success), and the closing bytes; an open table is ended first. */
int kframe_finish(struct kframe *f, const struct kframe_status *st);

/* Rows and bytes written so far (for truncation and the query log). */
uint64_t kframe_rows(const struct kframe *f);
uint64_t kframe_bytes(const struct kframe *f);

/* The canonical Kusto type name, and its v1 DataType (CLR) name. */
const char *kframe_type_name(enum proto_coltype t);
const char *kframe_clr_name(enum proto_coltype t);

#endif

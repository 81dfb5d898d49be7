/*
 * kval — one Kusto value from its text, as ADX ingestion reads a CSV, TSV or
 * JSON field into a column of a given type.
 *
 * The row readers (data/rowreader.h) call it for every field; a follower's
 * loader can call it for one value.  The forms accepted, per type:
 *   bool      true, false (any case), 1, 0
 *   int       [+-]digits, -2147483648 to 2147483647
 *   long      [+-]digits, the int64 range
 *   real      a decimal number with an optional exponent; NaN, Infinity,
 *             inf, ∞ (any case, optionally signed); overflow is refused,
 *             underflow gives 0 or a subnormal
 *   decimal   [+-]digits[.digits] within System.Decimal (at most 29
 *             significant digits up to 79228162514264337593543950335, at
 *             most 28 after the point); kept as canonical text: no '+', no
 *             leading zeros, the written scale kept ("1.50"), "-0" is "0"
 *   datetime  ISO 8601: YYYY-MM-DD, then optionally T (or a space)
 *             hh:mm[:ss[.f{1,7}]] and Z or an offset ±hh[:mm] (none: UTC);
 *             the result within 0001-01-01 .. 9999-12-31T23:59:59.9999999
 *   timespan  [-][d.]hh:mm:ss[.f{1,7}] (util/timefmt.h)
 *   guid      8-4-4-4-12 hex digits, optionally in braces; canonical text
 *             in lower case
 *   dynamic   one JSON value; canonical text has no whitespace outside
 *             strings (strings and numbers are kept as written)
 *   string    anything, as is
 * Empty text is null for every type but string, where it is "".
 */
#ifndef FOLLOWERD_KVAL_H
#define FOLLOWERD_KVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* Room for the canonical text of a guid or a decimal (with its NUL). */
#define KVAL_SCRATCH 48
/* Room for a reason ("out of range for int"). */
#define KVAL_WHYLEN 96
/* Nesting depth of a dynamic value. */
#define KVAL_MAX_DEPTH 128

/* A typed value.  Which member holds it depends on the column's type. */
struct kval {
	bool null;
	int64_t i;     /* bool (0/1), int, long; datetime and timespan in ticks */
	double r;      /* real */
	const char *s; /* string, decimal, guid, dynamic: NUL-terminated, borrowed */
	size_t len;    /* strlen of s (a string may hold NUL bytes: len counts them) */
};

/* Parses text (len bytes, text[len] must be '\0') as type t into *ret.
 * text must stay valid while ret->s is used: a string or a dynamic value
 * points into it (a dynamic value is rewritten in place, never longer); a
 * guid or decimal points into scratch.  Returns 0, or -EINVAL (malformed)
 * or -ERANGE (out of the type's range) with a reason in why; *ret is then
 * untouched. */
int kval_parse(enum proto_coltype t, char *text, size_t len, char scratch[KVAL_SCRATCH],
               struct kval *ret, char why[KVAL_WHYLEN]);

/* The same for one type each (text NUL-terminated at len, no null case). */
int kval_parse_bool(const char *text, size_t len, int64_t *ret);
int kval_parse_int(const char *text, size_t len, int64_t min, int64_t max, int64_t *ret);
int kval_parse_real(const char *text, size_t len, double *ret);
int kval_parse_datetime(const char *text, size_t len, int64_t *ret);
int kval_parse_guid(const char *text, size_t len, char ret[KVAL_SCRATCH]);
int kval_parse_decimal(const char *text, size_t len, char ret[KVAL_SCRATCH]);
/* Validates one JSON value and removes whitespace outside strings, in
 * place; *ret_len gets the new length (text[*ret_len] = '\0'). */
int kval_json_minify(char *text, size_t len, size_t *ret_len);

/* Compares two canonical decimals: <0, 0, >0. */
int kval_decimal_cmp(const char *a, const char *b);

/* Formats v of type t as Kusto writes it (datetime "…Z" with 7 digits,
 * timespan, real with 17 significant digits, NaN/Infinity/-Infinity) into
 * buf of len bytes; strings and other text types are copied (truncated to
 * fit).  Returns buf. */
char *kval_format(enum proto_coltype t, const struct kval *v, char *buf, size_t len);

#endif

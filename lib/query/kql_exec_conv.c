/*
 * kql_exec_conv — the to*() conversions as SQLite functions, each source
 * by its own rule (measured on Kusto, as recorded by the open KQL
 * translators' emulator tests): a text is read in KQL's syntax of its
 * target (an integer: digits with a sign, or 0x and hex digits, blanks
 * around; "5.7" and "1e3" are no long, a long past its range null); a
 * number is truncated toward zero (a real past a long saturates), a long
 * wrapped to an int; a timespan is its ticks, a datetime its ticks since
 * 0001-01-01; a dynamic value converts as what it holds (a JSON number as
 * a number, true as 1, a string as a text).  tobool reads "true", "false"
 * (any case) or an integer (not zero is true), a number by not being
 * zero.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "query/kql_exec_int.h"
#include "query/kql_parse.h"

/* Ticks from 0001-01-01 to 1970-01-01, the engine's epoch. */
#define TICKS_TO_1970 INT64_C(621355968000000000)

/* s without its leading and trailing blanks, copied into buf (NULL when
 * it does not fit). */
static const char *trimmed(const char *s, char *buf, size_t n)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len >= n)
		return NULL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

/* An integer in KQL's syntax: [+-]digits, or 0x and hex digits; 0,
 * -ERANGE past a long, -EINVAL for anything else. */
static int text_integer(const char *s, bool hex, long long *v)
{
	char *end;
	int base = 10;

	if (hex && (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) && isxdigit((unsigned char)s[2]))
		base = 16, s += 2;
	else if (!isdigit((unsigned char)s[*s == '+' || *s == '-']))
		return -EINVAL;
	errno = 0;
	*v = strtoll(s, &end, base);
	if (*end != '\0')
		return -EINVAL;
	return errno == ERANGE ? -ERANGE : 0;
}

/* A real in .NET's syntax: no hexadecimal, and of the words only
 * "Infinity" (strtod also takes "inf" and "0x1p3"); -EDOM for a NaN. */
static int text_real(const char *s, double *d)
{
	char *end;

	if (*s == '\0' || strpbrk(s, "xX") != NULL)
		return -EINVAL;
	*d = strtod(s, &end);
	if (*end != '\0')
		return -EINVAL;
	if (isinf(*d) && strcspn(s, "0123456789") == strlen(s) &&
	    strcasecmp(s + strspn(s, "+-"), "infinity") != 0)
		return -EINVAL;
	return isnan(*d) ? -EDOM : 0;
}

/* The text s as a number of type into ctx's result (none: null). */
static void text_number(sqlite3_context *ctx, const char *s, enum proto_coltype type, int64_t at)
{
	char buf[128];
	long long i;
	double d;
	int r;

	if ((s = trimmed(s, buf, sizeof(buf))) == NULL)
		return;
	if (type != PROTO_T_REAL) {
		if (text_integer(s, true, &i) == 0 &&
		    (type == PROTO_T_LONG || (i >= INT32_MIN && i <= INT32_MAX)))
			sqlite3_result_int64(ctx, i);
		return;
	}
	if ((r = text_real(s, &d)) == 0)
		sqlite3_result_double(ctx, d);
	else if (r == -EDOM)
		kql_exec_fail_at(
		    ctx, at, "the conversion to real of a NaN (not a number) text: not supported");
}

/* The text s as a bool into ctx's result (none: null). */
static void text_bool(sqlite3_context *ctx, const char *s)
{
	char buf[128];
	long long i;

	if ((s = trimmed(s, buf, sizeof(buf))) == NULL)
		return;
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "false") == 0)
		sqlite3_result_int(ctx, s[0] == 't' || s[0] == 'T');
	else if (text_integer(s, false, &i) == 0)
		sqlite3_result_int(ctx, i != 0);
}

/* toguid() as its documentation says: the first 32 hex digits, hyphens
 * skipped, the rest of the text ignored; a leading { or ( (.NET's B and P
 * forms) skipped too.  Written back in the canonical 8-4-4-4-12
 * lower-case form. */
static void text_guid(sqlite3_context *ctx, const char *s)
{
	char hex[33], out[37];
	size_t n = 0, k = 0;

	s += *s == '{' || *s == '(';
	for (; *s != '\0' && n < 32; s++) {
		if (*s == '-')
			continue;
		if (!isxdigit((unsigned char)*s))
			return;
		hex[n++] = (char)tolower((unsigned char)*s);
	}
	if (n != 32)
		return;
	for (size_t i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			out[k++] = '-';
		out[k++] = hex[i];
	}
	sqlite3_result_text(ctx, out, 36, SQLITE_TRANSIENT);
}

/* kql_convert(type, text, at): a text to type. */
static void fn_convert(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	enum proto_coltype type = (enum proto_coltype)sqlite3_value_int(argv[0]);
	const char *s = (const char *)sqlite3_value_text(argv[1]);
	int64_t t;

	if (s == NULL)
		return;
	switch (type) {
	case PROTO_T_INT:
	case PROTO_T_LONG:
	case PROTO_T_REAL:
		text_number(ctx, s, type, sqlite3_value_int64(argv[2]));
		break;
	case PROTO_T_BOOL:
		text_bool(ctx, s);
		break;
	case PROTO_T_DATETIME:
		if (kql_parse_datetime(s, &t) == 0)
			sqlite3_result_int64(ctx, t);
		break;
	case PROTO_T_TIMESPAN:
		if (kql_parse_timespan(s, &t) == 0)
			sqlite3_result_int64(ctx, t);
		break;
	case PROTO_T_GUID:
		text_guid(ctx, s);
		break;
	default:
		sqlite3_result_value(ctx, argv[1]);
		break;
	}
}

/* A real d to an int or a long, toward zero: past a long saturated (as
 * Kusto's rows do); past an int refused, Kusto's constant folder and its
 * rows disagreeing there (-2147483648 against 2147483647). */
static void real_integer(sqlite3_context *ctx, double d, enum proto_coltype type, int64_t at)
{
	if (isnan(d))
		return;
	if (isinf(d))
		kql_exec_fail_at(ctx, at, "the conversion to %s of an infinity: not supported",
		                 type == PROTO_T_INT ? "int" : "long");
	else if (type == PROTO_T_LONG)
		sqlite3_result_int64(ctx, d >= 9223372036854775807.0    ? INT64_MAX
		                          : d <= -9223372036854775808.0 ? INT64_MIN
		                                                        : (sqlite3_int64)d);
	else if (d > -2147483649.0 && d < 2147483648.0)
		sqlite3_result_int64(ctx, (sqlite3_int64)d);
	else
		kql_exec_fail_at(ctx, at,
		                 "the conversion to int of a real out of its range: not "
		                 "supported");
}

/* A number x (an integer, or a real) to type. */
static void number_to(sqlite3_context *ctx, sqlite3_value *x, enum proto_coltype type, int64_t at)
{
	if (sqlite3_value_type(x) == SQLITE_NULL)
		return;
	if (type == PROTO_T_BOOL)
		sqlite3_result_int(ctx, sqlite3_value_double(x) != 0);
	else if (type == PROTO_T_REAL)
		sqlite3_result_double(ctx, sqlite3_value_double(x));
	else if (sqlite3_value_type(x) != SQLITE_INTEGER)
		real_integer(ctx, sqlite3_value_double(x), type, at);
	else if (type == PROTO_T_INT) /* wrapped, as .NET's unchecked cast */
		sqlite3_result_int64(ctx, (int32_t)(uint32_t)sqlite3_value_int64(x));
	else
		sqlite3_result_int64(ctx, sqlite3_value_int64(x));
}

/* kql_numconv(type, x, datetime, at): a number, a timespan (its ticks) or
 * a datetime (when datetime is 1: its ticks since 0001-01-01) to an int,
 * a long, a real or a bool. */
static void fn_numconv(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	enum proto_coltype type = (enum proto_coltype)sqlite3_value_int(argv[0]);
	int64_t at = sqlite3_value_int64(argv[3]);

	if (sqlite3_value_int(argv[2]) == 0 || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
		number_to(ctx, argv[1], type, at);
		return;
	}
	int64_t t = sqlite3_value_int64(argv[1]) + TICKS_TO_1970;

	if (type == PROTO_T_INT)
		sqlite3_result_int64(ctx, (int32_t)(uint32_t)t);
	else
		sqlite3_result_int64(ctx, t);
}

/* kql_dconv(type, d, at): a dynamic value (its JSON) to an int, a long, a
 * real or a bool, as what it holds. */
static void fn_dconv(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	enum proto_coltype type = (enum proto_coltype)sqlite3_value_int(argv[0]);
	const char *s = (const char *)sqlite3_value_text(argv[1]);
	int64_t at = sqlite3_value_int64(argv[2]);
	json_t *j = s != NULL ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;

	if (json_is_integer(j) && type == PROTO_T_INT)
		sqlite3_result_int64(ctx, (int32_t)(uint32_t)json_integer_value(j));
	else if (json_is_integer(j) && type == PROTO_T_BOOL)
		sqlite3_result_int(ctx, json_integer_value(j) != 0);
	else if (json_is_integer(j) && type == PROTO_T_REAL)
		sqlite3_result_double(ctx, (double)json_integer_value(j));
	else if (json_is_integer(j))
		sqlite3_result_int64(ctx, json_integer_value(j));
	else if (json_is_real(j) && type == PROTO_T_BOOL)
		sqlite3_result_int(ctx, json_real_value(j) != 0);
	else if (json_is_real(j) && type == PROTO_T_REAL)
		sqlite3_result_double(ctx, json_real_value(j));
	else if (json_is_real(j))
		real_integer(ctx, json_real_value(j), type, at);
	else if (json_is_boolean(j) && type == PROTO_T_REAL)
		sqlite3_result_double(ctx, json_is_true(j));
	else if (json_is_boolean(j))
		sqlite3_result_int(ctx, json_is_true(j));
	else if (json_is_string(j) && type == PROTO_T_BOOL)
		text_bool(ctx, json_string_value(j));
	else if (json_is_string(j))
		text_number(ctx, json_string_value(j), type, at);
	json_decref(j);
}

/* kql_elemconv(type, json, at): an element of mv-expand ... to typeof(T)
 * (its JSON text) as T, by what it holds (measured on Kusto): a number to
 * a long or an int toward zero, to a real; true/false, or an integer, to
 * a bool; to a string, a string's text, JSON's own text of anything else,
 * "" for null; any other element null (a string "2" is no long, a real
 * no bool). */
static void fn_elemconv(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	enum proto_coltype type = (enum proto_coltype)sqlite3_value_int(argv[0]);
	const char *s = (const char *)sqlite3_value_text(argv[1]);
	int64_t at = sqlite3_value_int64(argv[2]);
	json_t *j = s != NULL ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;

	if (type == PROTO_T_STRING) {
		if (json_is_string(j))
			sqlite3_result_text(ctx, json_string_value(j), -1, SQLITE_TRANSIENT);
		else
			sqlite3_result_text(ctx, j == NULL || json_is_null(j) ? "" : s, -1,
			                    SQLITE_TRANSIENT);
	} else if (type == PROTO_T_BOOL && (json_is_boolean(j) || json_is_integer(j))) {
		sqlite3_result_int(ctx, json_is_true(j) || json_integer_value(j) != 0);
	} else if (type == PROTO_T_REAL && json_is_number(j)) {
		sqlite3_result_double(ctx, json_number_value(j));
	} else if (type == PROTO_T_INT && json_is_integer(j)) {
		sqlite3_result_int64(ctx, (int32_t)(uint32_t)json_integer_value(j));
	} else if (type == PROTO_T_LONG && json_is_integer(j)) {
		sqlite3_result_int64(ctx, json_integer_value(j));
	} else if ((type == PROTO_T_INT || type == PROTO_T_LONG) && json_is_real(j)) {
		real_integer(ctx, json_real_value(j), type, at);
	}
	json_decref(j);
}

int kql_exec_register_conv(sqlite3 *db)
{
	static const struct kql_sqlfn fns[] = {
	    {"kql_convert", 3, fn_convert},
	    {"kql_numconv", 4, fn_numconv},
	    {"kql_dconv", 3, fn_dconv},
	    {"kql_elemconv", 3, fn_elemconv},
	};

	return kql_exec_register_fns(db, fns, sizeof(fns) / sizeof(fns[0]));
}

/*
 * kql_bind_sig — the parameter types of the scalar functions, as
 * Kusto.Language declares them (Functions.cs).  A mistyped argument is a
 * semantic error naming the function, the argument and both types, where
 * the functions read any value as their own (startofday('x') was 1970,
 * sqrt(1h) the square root of its ticks).  A text parameter takes any
 * value as Kusto converts it, through tostring: a dynamic string is its
 * text, not its JSON (substring(dynamic("abc"), 1) is "bc").
 */
#include <ctype.h>
#include <string.h>

#include "query/kql_bind_int.h"

/* One letter a parameter:
 *   a  any scalar, read as it is
 *   x  any scalar, read as text (tostring of what is not a string)
 *   S  a string; a dynamic value read as its tostring
 *   i  an int or a long
 *   n  a number (int, long, real, decimal)
 *   d  a datetime
 *   t  a timespan
 *   D  a dynamic value
 * The last letter stands for any further arguments; a signature ending in
 * '+' repeats as a whole (bag_pack's "Sa+": keys and values alternate).
 * A leading digit n: the signature of a call of n arguments only
 * (extract_all's groups are optional in the middle). */
static const struct {
	enum kql_fn fn;
	const char *params;
} sigs[] = {
    {KQL_F_STRLEN, "S"},
    {KQL_F_ISEMPTY, "x"},
    {KQL_F_ISNOTEMPTY, "x"},
    {KQL_F_TOLOWER, "x"},
    {KQL_F_TOUPPER, "x"},
    {KQL_F_SUBSTRING, "xii"},
    {KQL_F_SPLIT, "xSi"},
    {KQL_F_REPLACE_STRING, "SSS"},
    {KQL_F_TRIM, "SS"},
    {KQL_F_EXTRACT, "SiS"},
    {KQL_F_INDEXOF, "xxiii"},
    {KQL_F_TOGUID, "S"},
    {KQL_F_NOW, "t"},
    {KQL_F_STARTOFDAY, "di"},
    {KQL_F_STARTOFWEEK, "di"},
    {KQL_F_STARTOFMONTH, "di"},
    {KQL_F_STARTOFYEAR, "di"},
    {KQL_F_ENDOFDAY, "di"},
    {KQL_F_ENDOFWEEK, "di"},
    {KQL_F_ENDOFMONTH, "di"},
    {KQL_F_ENDOFYEAR, "di"},
    {KQL_F_DAYOFWEEK, "d"},
    {KQL_F_DAYOFMONTH, "d"},
    {KQL_F_DAYOFYEAR, "d"},
    {KQL_F_HOUROFDAY, "d"},
    {KQL_F_MONTHOFYEAR, "d"},
    {KQL_F_GETYEAR, "d"},
    {KQL_F_WEEK_OF_YEAR, "d"},
    {KQL_F_DATETIME_PART, "Sd"},
    {KQL_F_DATETIME_ADD, "Sid"},
    {KQL_F_DATETIME_DIFF, "Sdd"},
    {KQL_F_FORMAT_DATETIME, "dS"},
    {KQL_F_ROUND, "ni"},
    {KQL_F_CEILING, "n"},
    {KQL_F_SQRT, "n"},
    {KQL_F_LOG, "n"},
    {KQL_F_LOG10, "n"},
    {KQL_F_EXP, "n"},
    {KQL_F_POW, "nn"},
    {KQL_F_COUNTOF, "SSS"},
    {KQL_F_EXTRACT_ALL, "2SS"},
    {KQL_F_EXTRACT_ALL, "3SDS"},
    {KQL_F_PACK_ARRAY, "a"},
    {KQL_F_BAG_PACK, "Sa+"},
    {KQL_F_ARRAY_CONCAT, "D"},
    {KQL_F_STRCAT_ARRAY, "DS"},
    {KQL_F_SET_UNION, "D"},
    {KQL_F_SET_INTERSECT, "D"},
    {KQL_F_SET_DIFFERENCE, "D"},
    {KQL_F_STRREP, "xix"},
    {KQL_F_REVERSE, "x"},
    {KQL_F_STRCMP, "xx"},
    {KQL_F_STRING_SIZE, "S"},
    {KQL_F_TOHEX, "ii"},
    {KQL_F_HASH_MD5, "x"},
    {KQL_F_HASH_SHA1, "x"},
    {KQL_F_HASH_SHA256, "x"},
    {KQL_F_BASE64_ENCODE, "S"},
    {KQL_F_BASE64_DECODE, "S"},
    {KQL_F_MAKE_DATETIME, "iiiiin"},
    {KQL_F_TRIM_START, "SS"},
    {KQL_F_TRIM_END, "SS"},
    {KQL_F_LOG2, "n"},
    {KQL_F_EXP2, "n"},
    {KQL_F_EXP10, "n"},
    {KQL_F_COS, "n"},
    {KQL_F_SIN, "n"},
    {KQL_F_TAN, "n"},
    {KQL_F_ACOS, "n"},
    {KQL_F_ASIN, "n"},
    {KQL_F_ATAN, "n"},
    {KQL_F_ATAN2, "nn"},
    {KQL_F_COT, "n"},
    {KQL_F_DEGREES, "n"},
    {KQL_F_RADIANS, "n"},
    {KQL_F_SIGN, "n"},
};

static const char *params_of(enum kql_fn fn, size_t nargs)
{
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		const char *p = sigs[i].params;

		if (sigs[i].fn != fn)
			continue;
		if (!isdigit((unsigned char)p[0]))
			return p;
		if ((size_t)(p[0] - '0') == nargs)
			return p + 1;
	}
	return NULL;
}

/* The kind of argument i of a signature of np letters, its own, the last
 * one's, or its place in a repeating one. */
static char param_kind(const char *p, size_t np, size_t i)
{
	if (p[np - 1] == '+')
		return p[i % (np - 1)];
	return p[i < np ? i : np - 1];
}

static bool integer(enum proto_coltype t)
{
	return t == PROTO_T_INT || t == PROTO_T_LONG;
}

/* Whether type t is what parameter kind k takes as it is. */
static bool fits(char k, enum proto_coltype t)
{
	switch (k) {
	case 'S':
	case 'x':
		return t == PROTO_T_STRING;
	case 'i':
		return integer(t);
	case 'n': /* a decimal is text in the engine: refused */
		return integer(t) || t == PROTO_T_REAL;
	case 'd':
		return t == PROTO_T_DATETIME;
	case 't':
		return t == PROTO_T_TIMESPAN;
	case 'D':
		return t == PROTO_T_DYNAMIC;
	default:
		return true;
	}
}

static const char *kind_name(char k)
{
	switch (k) {
	case 'S':
		return "a string";
	case 'i':
		return "an int or a long";
	case 'n':
		return "a number";
	case 'd':
		return "a datetime";
	case 'D':
		return "a dynamic value";
	default:
		return "a timespan";
	}
}

/* tostring(x), as a call the executor writes as it writes tostring. */
struct kql_expr *kqlb_text(struct kqlb *b, struct kql_expr *x)
{
	return kqlb_call1(b, KQL_F_TOSTRING, PROTO_T_STRING, x);
}

bool kqlb_check_params(struct kqlb *b, enum kql_fn fn, const char *name, struct kql_expr **args,
                       size_t nargs)
{
	const char *p = params_of(fn, nargs);
	size_t np = p ? strlen(p) : 0;

	for (size_t i = 0; i < nargs && np > 0; i++) {
		char k = param_kind(p, np, i);
		enum proto_coltype t = args[i]->type;

		if (fits(k, t))
			continue;
		if (k == 'x' || (k == 'S' && t == PROTO_T_DYNAMIC)) {
			if ((args[i] = kqlb_text(b, args[i])) == NULL)
				return false;
			continue;
		}
		return (bool)kqlb_fail(b, KQL_E_TYPE, args[i]->pos,
		                       "%s(): argument %zu must be %s, not '%s'%s", name, i + 1,
		                       kind_name(k), proto_coltype_name(t),
		                       t == PROTO_T_DYNAMIC ? " (convert it: to<type>())" : "");
	}
	return true;
}

static bool range_kind(enum proto_coltype t)
{
	return integer(t) || t == PROTO_T_REAL || t == PROTO_T_DATETIME || t == PROTO_T_TIMESPAN;
}

bool kqlb_check_shape(struct kqlb *b, enum kql_fn fn, struct kql_pos pos, struct kql_expr **args,
                      size_t nargs)
{
	if (fn == KQL_F_BAG_PACK && nargs % 2 != 0)
		return (bool)kqlb_fail(b, KQL_E_ARGS, pos,
		                       "bag_pack(): expects key, value pairs, got %zu arguments",
		                       nargs);
	if (fn != KQL_F_RANGE)
		return true;
	/* range(start, stop[, step]): numbers, datetimes or timespans; a
	 * datetime's or timespan's step a timespan, a number's a number */
	enum proto_coltype t = args[0]->type, st = nargs > 2 ? args[2]->type : PROTO_T_LONG;
	bool time = t == PROTO_T_DATETIME || t == PROTO_T_TIMESPAN;

	if (!range_kind(t) ||
	    (time ? args[1]->type != t
	          : !(integer(args[1]->type) || args[1]->type == PROTO_T_REAL)) ||
	    (nargs > 2 && (time ? st != PROTO_T_TIMESPAN : !(integer(st) || st == PROTO_T_REAL))))
		return (bool)kqlb_fail(
		    b, KQL_E_TYPE, pos,
		    "range(): expects numbers, datetimes or timespans, a step of "
		    "their kind (a timespan for the times)");
	return true;
}

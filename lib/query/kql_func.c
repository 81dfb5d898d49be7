/*
 * kql_func — the function table.  Aliases are rows of their own pointing
 * at the same id, so the plan never sees the spelling.
 */
#include <string.h>

#include "query/kql_func.h"

#define ANY 255
#define S false
#define A true

static const struct kql_func funcs[] = {
    {"not", KQL_F_NOT, S, 1, 1, KQL_R_FIXED, PROTO_T_BOOL, NULL},
    {"isnull", KQL_F_ISNULL, S, 1, 1, KQL_R_FIXED, PROTO_T_BOOL, NULL},
    {"isnotnull", KQL_F_ISNOTNULL, S, 1, 1, KQL_R_FIXED, PROTO_T_BOOL, NULL},
    {"isempty", KQL_F_ISEMPTY, S, 1, 1, KQL_R_FIXED, PROTO_T_BOOL, NULL},
    {"isnotempty", KQL_F_ISNOTEMPTY, S, 1, 1, KQL_R_FIXED, PROTO_T_BOOL, NULL},
    {"iff", KQL_F_IFF, S, 3, 3, KQL_R_ARG1, PROTO_T_BOOL, NULL},
    {"iif", KQL_F_IFF, S, 3, 3, KQL_R_ARG1, PROTO_T_BOOL, NULL},
    {"case", KQL_F_CASE, S, 3, ANY, KQL_R_ARG1, PROTO_T_BOOL, NULL},
    {"coalesce", KQL_F_COALESCE, S, 2, 64, KQL_R_ARG0, PROTO_T_BOOL, NULL},
    {"strlen", KQL_F_STRLEN, S, 1, 1, KQL_R_FIXED, PROTO_T_LONG, NULL},
    {"tolower", KQL_F_TOLOWER, S, 1, 1, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"toupper", KQL_F_TOUPPER, S, 1, 1, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"substring", KQL_F_SUBSTRING, S, 2, 3, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"strcat", KQL_F_STRCAT, S, 1, 64, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"strcat_delim", KQL_F_STRCAT_DELIM, S, 3, 64, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"split", KQL_F_SPLIT, S, 2, 3, KQL_R_FIXED, PROTO_T_DYNAMIC, NULL},
    {"replace_string", KQL_F_REPLACE_STRING, S, 3, 3, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"trim", KQL_F_TRIM, S, 2, 2, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"extract", KQL_F_EXTRACT, S, 3, 4, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"indexof", KQL_F_INDEXOF, S, 2, 5, KQL_R_FIXED, PROTO_T_LONG, NULL},
    {"tostring", KQL_F_TOSTRING, S, 1, 1, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"toint", KQL_F_TOINT, S, 1, 1, KQL_R_FIXED, PROTO_T_INT, NULL},
    {"tolong", KQL_F_TOLONG, S, 1, 1, KQL_R_FIXED, PROTO_T_LONG, NULL},
    {"todouble", KQL_F_TOREAL, S, 1, 1, KQL_R_FIXED, PROTO_T_REAL, NULL},
    {"toreal", KQL_F_TOREAL, S, 1, 1, KQL_R_FIXED, PROTO_T_REAL, NULL},
    {"tobool", KQL_F_TOBOOL, S, 1, 1, KQL_R_FIXED, PROTO_T_BOOL, NULL},
    {"toboolean", KQL_F_TOBOOL, S, 1, 1, KQL_R_FIXED, PROTO_T_BOOL, NULL},
    {"todatetime", KQL_F_TODATETIME, S, 1, 1, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"totimespan", KQL_F_TOTIMESPAN, S, 1, 1, KQL_R_FIXED, PROTO_T_TIMESPAN, NULL},
    {"toguid", KQL_F_TOGUID, S, 1, 1, KQL_R_FIXED, PROTO_T_GUID, NULL},
    {"todynamic", KQL_F_TODYNAMIC, S, 1, 1, KQL_R_FIXED, PROTO_T_DYNAMIC, NULL},
    {"parse_json", KQL_F_TODYNAMIC, S, 1, 1, KQL_R_FIXED, PROTO_T_DYNAMIC, NULL},
    {"array_length", KQL_F_ARRAY_LENGTH, S, 1, 1, KQL_R_FIXED, PROTO_T_LONG, NULL},
    {"bag_keys", KQL_F_BAG_KEYS, S, 1, 1, KQL_R_FIXED, PROTO_T_DYNAMIC, NULL},
    {"ago", KQL_F_AGO, S, 1, 1, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"now", KQL_F_NOW, S, 0, 1, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"bin", KQL_F_BIN, S, 2, 2, KQL_R_ARG0, PROTO_T_BOOL, NULL},
    {"floor", KQL_F_BIN, S, 2, 2, KQL_R_ARG0, PROTO_T_BOOL, NULL},
    {"startofday", KQL_F_STARTOFDAY, S, 1, 2, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"startofweek", KQL_F_STARTOFWEEK, S, 1, 2, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"startofmonth", KQL_F_STARTOFMONTH, S, 1, 2, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"startofyear", KQL_F_STARTOFYEAR, S, 1, 2, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"endofday", KQL_F_ENDOFDAY, S, 1, 2, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"dayofweek", KQL_F_DAYOFWEEK, S, 1, 1, KQL_R_FIXED, PROTO_T_TIMESPAN, NULL},
    {"datetime_part", KQL_F_DATETIME_PART, S, 2, 2, KQL_R_FIXED, PROTO_T_INT, NULL},
    {"datetime_add", KQL_F_DATETIME_ADD, S, 3, 3, KQL_R_FIXED, PROTO_T_DATETIME, NULL},
    {"datetime_diff", KQL_F_DATETIME_DIFF, S, 3, 3, KQL_R_FIXED, PROTO_T_LONG, NULL},
    {"format_datetime", KQL_F_FORMAT_DATETIME, S, 2, 2, KQL_R_FIXED, PROTO_T_STRING, NULL},
    {"abs", KQL_F_ABS, S, 1, 1, KQL_R_ARG0, PROTO_T_BOOL, NULL},
    {"round", KQL_F_ROUND, S, 1, 2, KQL_R_ROUND, PROTO_T_REAL, NULL},
    {"ceiling", KQL_F_CEILING, S, 1, 1, KQL_R_ARG0, PROTO_T_BOOL, NULL},
    {"sqrt", KQL_F_SQRT, S, 1, 1, KQL_R_FIXED, PROTO_T_REAL, NULL},
    {"log", KQL_F_LOG, S, 1, 1, KQL_R_FIXED, PROTO_T_REAL, NULL},
    {"log10", KQL_F_LOG10, S, 1, 1, KQL_R_FIXED, PROTO_T_REAL, NULL},
    {"exp", KQL_F_EXP, S, 1, 1, KQL_R_FIXED, PROTO_T_REAL, NULL},
    {"pow", KQL_F_POW, S, 2, 2, KQL_R_FIXED, PROTO_T_REAL, NULL},
    {"min_of", KQL_F_MIN_OF, S, 2, 64, KQL_R_ARG0, PROTO_T_BOOL, NULL},
    {"max_of", KQL_F_MAX_OF, S, 2, 64, KQL_R_ARG0, PROTO_T_BOOL, NULL},
    {"$get", KQL_F_DYN_GET, S, 2, 2, KQL_R_FIXED, PROTO_T_DYNAMIC, NULL},
    {"count", KQL_F_COUNT, A, 0, 0, KQL_R_FIXED, PROTO_T_LONG, "count"},
    {"countif", KQL_F_COUNTIF, A, 1, 1, KQL_R_FIXED, PROTO_T_LONG, "countif"},
    {"sum", KQL_F_SUM, A, 1, 1, KQL_R_SUM, PROTO_T_LONG, "sum"},
    {"sumif", KQL_F_SUMIF, A, 2, 2, KQL_R_SUM, PROTO_T_LONG, "sumif"},
    {"avg", KQL_F_AVG, A, 1, 1, KQL_R_NUMERIC, PROTO_T_REAL, "avg"},
    {"avgif", KQL_F_AVGIF, A, 2, 2, KQL_R_NUMERIC, PROTO_T_REAL, "avgif"},
    {"min", KQL_F_MIN, A, 1, 1, KQL_R_ARG0, PROTO_T_BOOL, "min"},
    {"max", KQL_F_MAX, A, 1, 1, KQL_R_ARG0, PROTO_T_BOOL, "max"},
    {"dcount", KQL_F_DCOUNT, A, 1, 2, KQL_R_FIXED, PROTO_T_LONG, "dcount"},
    {"dcountif", KQL_F_DCOUNTIF, A, 2, 3, KQL_R_FIXED, PROTO_T_LONG, "dcountif"},
    {"make_set", KQL_F_MAKE_SET, A, 1, 2, KQL_R_FIXED, PROTO_T_DYNAMIC, "set"},
    {"makeset", KQL_F_MAKE_SET, A, 1, 2, KQL_R_FIXED, PROTO_T_DYNAMIC, "set"},
    {"make_list", KQL_F_MAKE_LIST, A, 1, 2, KQL_R_FIXED, PROTO_T_DYNAMIC, "list"},
    {"makelist", KQL_F_MAKE_LIST, A, 1, 2, KQL_R_FIXED, PROTO_T_DYNAMIC, "list"},
    {"arg_max", KQL_F_ARG_MAX, A, 2, 64, KQL_R_ARG0, PROTO_T_BOOL, "max"},
    {"arg_min", KQL_F_ARG_MIN, A, 2, 64, KQL_R_ARG0, PROTO_T_BOOL, "min"},
    {"take_any", KQL_F_TAKE_ANY, A, 1, 1, KQL_R_ARG0, PROTO_T_BOOL, "any"},
    {"any", KQL_F_TAKE_ANY, A, 1, 1, KQL_R_ARG0, PROTO_T_BOOL, "any"},
    {"percentile", KQL_F_PERCENTILE, A, 2, 2, KQL_R_ARG0, PROTO_T_BOOL, "percentile"},
    {"percentiles", KQL_F_PERCENTILES, A, 2, 64, KQL_R_ARG0, PROTO_T_BOOL, "percentile"},
};

/* KQL functions outside the subset: refused as unsupported, not unknown. */
static const char *const unsupported[] = {
    "toscalar",
    "materialize",
    "series_stats",
    "make_bag",
    "bag_pack",
    "pack",
    "pack_array",
    "parse_url",
    "parse_path",
    "hash",
    "hash_sha256",
    "base64_encode_tostring",
    "base64_decode_tostring",
    "countof",
    "reverse",
    "row_number",
    "prev",
    "next",
    "extract_all",
    "url_encode",
    "url_decode",
    "zip",
    "bag_merge",
    "stdev",
    "variance",
    "hll",
    "tdigest",
    "count_distinct",
    "make_bag_if",
    "make_set_if",
    "make_list_if",
    "array_concat",
    "array_slice",
    "set_union",
    "set_intersect",
    "strrep",
    "translate",
    "unixtime_seconds_todatetime",
    "todecimal",
    "gettype",
    "typeof",
    "rand",
    "new_guid",
    "dcount_hll",
    "binary_and",
    "binary_or",
    "bin_at",
    "endofweek",
    "endofmonth",
    "endofyear",
    "getmonth",
    "getyear",
    "dayofmonth",
    "dayofyear",
    "hourofday",
    "monthofyear",
    "week_of_year",
    "format_timespan",
    "tohex",
    "sign",
    "exp2",
    "exp10",
    "log2",
    "isnan",
    "isinf",
    "isfinite",
    "cursor_after",
    "ingestion_time",
    "current_principal",
    "has_any_index",
    "estimate_data_size",
};

const struct kql_func *kql_func_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (strcmp(funcs[i].name, name) == 0)
			return &funcs[i];
	return NULL;
}

const struct kql_func *kql_func_get(enum kql_fn id)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (funcs[i].id == id)
			return &funcs[i];
	return NULL;
}

bool kql_func_known_unsupported(const char *name)
{
	for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
		if (strcmp(unsupported[i], name) == 0)
			return true;
	return false;
}

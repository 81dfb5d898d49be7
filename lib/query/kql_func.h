/*
 * kql_func — the scalar functions and aggregates of the follower's KQL
 * subset: their names, arity and result typing.  The binder resolves every
 * call against this table (an unknown name is SEM0260, a known KQL function
 * outside the subset is refused by name); the plan then carries the
 * function's id, which the executor switches on.
 */
#ifndef FOLLOWERD_KQL_FUNC_H
#define FOLLOWERD_KQL_FUNC_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/proto.h"

enum kql_fn {
	/* scalar */
	KQL_F_NOT,
	KQL_F_ISNULL,
	KQL_F_ISNOTNULL,
	KQL_F_ISEMPTY,
	KQL_F_ISNOTEMPTY,
	KQL_F_IFF,
	KQL_F_CASE,
	KQL_F_COALESCE,
	KQL_F_STRLEN,
	KQL_F_TOLOWER,
	KQL_F_TOUPPER,
	KQL_F_SUBSTRING,
	KQL_F_STRCAT,
	KQL_F_STRCAT_DELIM,
	KQL_F_SPLIT,
	KQL_F_REPLACE_STRING,
	KQL_F_TRIM,
	KQL_F_EXTRACT,
	KQL_F_INDEXOF,
	KQL_F_TOSTRING,
	KQL_F_TOINT,
	KQL_F_TOLONG,
	KQL_F_TOREAL,
	KQL_F_TOBOOL,
	KQL_F_TODATETIME,
	KQL_F_TOTIMESPAN,
	KQL_F_TOGUID,
	KQL_F_TODYNAMIC,
	KQL_F_ARRAY_LENGTH,
	KQL_F_BAG_KEYS,
	KQL_F_AGO,
	KQL_F_NOW,
	KQL_F_BIN,
	KQL_F_BIN_AT, /* args: the value, then fixed + bin(value - fixed, size) (kql_bind_expr.c) */
	KQL_F_STARTOFDAY,
	KQL_F_STARTOFWEEK,
	KQL_F_STARTOFMONTH,
	KQL_F_STARTOFYEAR,
	KQL_F_ENDOFDAY,
	KQL_F_ENDOFWEEK,
	KQL_F_ENDOFMONTH,
	KQL_F_ENDOFYEAR,
	KQL_F_DAYOFWEEK,
	KQL_F_DAYOFMONTH,
	KQL_F_DAYOFYEAR,
	KQL_F_HOUROFDAY,
	KQL_F_MONTHOFYEAR,
	KQL_F_GETYEAR,
	KQL_F_WEEK_OF_YEAR,
	KQL_F_DATETIME_PART,
	KQL_F_DATETIME_ADD,
	KQL_F_DATETIME_DIFF,
	KQL_F_FORMAT_DATETIME,
	KQL_F_ABS,
	KQL_F_ROUND,
	KQL_F_CEILING,
	KQL_F_SQRT,
	KQL_F_LOG,
	KQL_F_LOG10,
	KQL_F_EXP,
	KQL_F_POW,
	KQL_F_LOG2,
	KQL_F_EXP2,
	KQL_F_EXP10,
	KQL_F_COS,
	KQL_F_SIN,
	KQL_F_TAN,
	KQL_F_ACOS,
	KQL_F_ASIN,
	KQL_F_ATAN,
	KQL_F_ATAN2,
	KQL_F_COT,
	KQL_F_DEGREES,
	KQL_F_RADIANS,
	KQL_F_SIGN,
	KQL_F_PI,
	KQL_F_STRREP,
	KQL_F_REVERSE,
	KQL_F_STRCMP,
	KQL_F_STRING_SIZE,
	KQL_F_TOHEX,
	KQL_F_HASH_MD5,
	KQL_F_HASH_SHA1,
	KQL_F_HASH_SHA256,
	KQL_F_BASE64_ENCODE,
	KQL_F_BASE64_DECODE,
	KQL_F_MAKE_DATETIME,
	KQL_F_TRIM_START,
	KQL_F_TRIM_END,
	KQL_F_PACK_ARRAY,
	KQL_F_BAG_PACK,
	KQL_F_ARRAY_CONCAT,
	KQL_F_STRCAT_ARRAY,
	KQL_F_SET_UNION,
	KQL_F_SET_INTERSECT,
	KQL_F_SET_DIFFERENCE,
	KQL_F_RANGE,
	KQL_F_EXTRACT_ALL,
	KQL_F_COUNTOF,
	KQL_F_MIN_OF,
	KQL_F_MAX_OF,
	KQL_F_DYN_GET, /* d.a, d["a"], d[0]: (object, key) */
	KQL_F_BOX,     /* a scalar as a dynamic value holding it (iff(c, d, 5) of a dynamic d) */
	/* the row's ingestion time: not a constant (a per-row value), only
	 * over a table's rows (the binder checks; kql_plan.h's ingest) */
	KQL_F_INGESTION_TIME,
	/* aggregates */
	KQL_F_COUNT,
	KQL_F_COUNTIF,
	KQL_F_SUM,
	KQL_F_SUMIF,
	KQL_F_AVG,
	KQL_F_AVGIF,
	KQL_F_MIN,
	KQL_F_MAX,
	KQL_F_DCOUNT,
	KQL_F_DCOUNTIF,
	KQL_F_MAKE_SET,
	KQL_F_MAKE_LIST,
	KQL_F_ARG_MAX,
	KQL_F_ARG_MIN,
	KQL_F_TAKE_ANY,
	KQL_F_PERCENTILE,
	KQL_F_PERCENTILES,
	/* internal aggregates of split plans (kql_split): no KQL name reaches
	 * them (their names start with '$', which no identifier can) */
	KQL_F_P_COUNTNN, /* non-null values of x [where pred]: avg's count */
	KQL_F_P_DSET,    /* $dstate: dcount(if)'s HyperLogLog state as text (kql_hll.h) */
	KQL_F_M_AVG,     /* merged avg: (sum of sums) / (sum of counts), null over none */
	KQL_F_M_DCOUNT,  /* merged dcount: distinct values of the union of sets */
	/* merges by the partition's index (part, ...): the scan's order */
	KQL_F_M_ARGMAX,  /* (part, rows, key, value): value of the first best key */
	KQL_F_M_ARGMIN,  /* the same, the least key */
	KQL_F_M_LIST,    /* (part, list [, max]): the lists in order */
	KQL_F_M_SET,     /* (part, set [, max]): the sets' union, equal SQL values once */
	KQL_F_M_SET_DYN, /* the same of dynamic values: equal JSON once */
	KQL_F_P_TSUM,    /* avg(if) of datetimes: exact sum and count, as text */
	KQL_F_M_TAVG,    /* their merge: the mean, whole ticks */
	KQL_F_M_IAVG,    /* the merge of $tsum of ints, longs, timespans: the mean */
	KQL_F_P_ROW,     /* innerunique's keep: x of one row of the group, every
	                  * $row of a summarize from the same row (nulls too) */
	KQL_F_P_PSET,    /* percentile's: the non-null values of x, as text (kql_pct.h) */
	KQL_F_M_PCT,     /* (state, p): the nearest rank p over the states' values */
	KQL_F_COUNT_FNS
};

/* How a call's result type follows from its arguments'. */
enum kql_fn_rule {
	KQL_R_FIXED,   /* always the entry's type */
	KQL_R_ARG0,    /* the first argument's */
	KQL_R_ARG1,    /* the second argument's (iff, case) */
	KQL_R_SUM,     /* long for int/long/bool, else the argument's */
	KQL_R_NUMERIC, /* real; a timespan or datetime for such an argument (avg) */
	KQL_R_ROUND,   /* real, or the argument's for int/long */
};

struct kql_func {
	const char *name;
	enum kql_fn id;
	bool aggregate;
	unsigned char minargs, maxargs; /* maxargs 255: any number */
	enum kql_fn_rule rule;
	enum proto_coltype type; /* for KQL_R_FIXED */
	const char *prefix;      /* aggregates: result name prefix, "sum" gives sum_X */
};

/* The entry for name, NULL when the subset has no such function.  Aliases
 * (iif, toreal/todouble, parse_json, floor, any) resolve to their entry. */
const struct kql_func *kql_func_lookup(const char *name);

/* The entry of id. */
const struct kql_func *kql_func_get(enum kql_fn id);

/* True when name is a KQL function this follower does not implement (so
 * the error says "not supported" rather than "unknown"). */
bool kql_func_known_unsupported(const char *name);

#endif

/*
 * kreq — a query request as the Kusto SDKs send it: the body of
 * POST /v2/rest/query and /v1/rest/query, {"db", "csl", "properties"},
 * where properties is an object or a JSON string of one (the Python SDK),
 * with its options under "Options" or "options" (Grafana).  Option names
 * match case-insensitively; unknown options are ignored, as ADX ignores
 * them; a known option with a value of the wrong form is refused, naming
 * it.  A query's leading `set name = value;` statements go through
 * kreq_set, with the same names and checks.
 *
 * Honoured: servertimeout ("00:02:00.000" or "2m"; default 4 minutes, at
 * most 1 hour), truncationmaxrecords, truncationmaxsize, notruncation,
 * query_datascope (default, all, hotcache), query_now (fixes now()), and
 * the v2 shape: results_progressive_enabled, results_v2_fragment_primary_tables,
 * results_error_reporting_placement (in_data, end_of_table).
 *
 * Pure: no I/O, no clock.  Untrusted input: the body is capped before
 * parsing (KREQ_MAX_BODY) and parsed with duplicates refused.
 */
#ifndef FOLLOWERD_KREQ_H
#define FOLLOWERD_KREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KREQ_ERRLEN 256
#define KREQ_MAX_BODY ((size_t)1 << 20)          /* bytes of a request body */
#define KREQ_MAX_QUERY ((size_t)256 << 10)       /* bytes of its csl */
#define KREQ_MAX_NAME 1024                       /* bytes of its db */
#define KREQ_DEFAULT_TIMEOUT INT64_C(2400000000) /* 4 minutes in ticks */
#define KREQ_MAX_TIMEOUT INT64_C(36000000000)    /* 1 hour */
#define KREQ_DEFAULT_MAX_RECORDS 500000
#define KREQ_DEFAULT_MAX_SIZE ((uint64_t)64 << 20)

enum kreq_scope {
	KREQ_SCOPE_DEFAULT,
	KREQ_SCOPE_ALL,
	KREQ_SCOPE_HOTCACHE,
};

struct kreq_opts {
	int64_t timeout;      /* ticks */
	uint64_t max_records; /* truncation limits, unless notruncation */
	uint64_t max_size;    /* bytes */
	bool notruncation;
	enum kreq_scope scope;
	bool has_now;
	int64_t now;       /* query_now, ticks (has_now) */
	bool fragmented;   /* results_v2_fragment_primary_tables */
	bool end_of_table; /* results_error_reporting_placement=end_of_table */
	bool progressive;  /* results_progressive_enabled (asked; never sent) */
};

#define KREQ_MAX_PARAMS 64 /* query parameters (properties.Parameters) */

struct kreq {
	char *db;  /* owned */
	char *csl; /* owned */
	struct kreq_opts opts;
	/* properties.Parameters, for declare query_parameters: names and the
	 * values' texts (a number or bool given as JSON, its JSON text); owned */
	char **param_names, **param_values;
	size_t nparams;
};

/* The defaults (ADX's). */
void kreq_opts_default(struct kreq_opts *o);

/* Parses a request body (len bytes) into *ret (kreq_clear).  -EINVAL with a
 * line in err naming what is wrong (a missing csl, a bad option), -E2BIG
 * over the caps, -ENOMEM. */
int kreq_parse(const char *body, size_t len, struct kreq *ret, char err[KREQ_ERRLEN]);

/* Applies one option by name (case-insensitive) and its text value, as a
 * `set` statement or a property: 0, 1 when the name is not one followerd
 * knows (ignored), -EINVAL with err naming the option and its value. */
int kreq_set(struct kreq_opts *o, const char *name, const char *value, char err[KREQ_ERRLEN]);

void kreq_clear(struct kreq *r);

#endif

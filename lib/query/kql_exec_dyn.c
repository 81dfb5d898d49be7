/*
 * kql_exec_dyn — the dynamic-array functions beyond the subset's, as
 * SQLite functions over JSON texts (jansson), each as its page describes
 * it: array_concat, strcat_array, set_union/set_intersect/set_difference
 * (distinct values in first-seen order, compared as JSON values), range()
 * (at most 1,048,576 elements, its page's bound), and the check that
 * keeps a bag_pack's keys distinct.  What a page leaves open (an argument
 * that is no array, a key given twice) is refused at the call's position.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "query/kql_exec_int.h"
#include "util/timefmt.h"

#define RANGE_MAX 1048576

/* The JSON text of v as a jansson value (NULL for SQL NULL, or text that
 * is no JSON). */
static json_t *json_arg(sqlite3_value *v)
{
	const char *s = (const char *)sqlite3_value_text(v);

	return s != NULL ? json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;
}

void kql_exec_result_json(sqlite3_context *ctx, const json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

	if (s == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_text(ctx, s, -1, free);
}

/* The array argument v (argument k of name) into *ret: 0, 1 when it is
 * null (the answer is null), -1 when it is no array (refused). */
static int array_arg(sqlite3_context *ctx, sqlite3_value *v, int64_t at, const char *name, int k,
                     json_t **ret)
{
	*ret = NULL;
	if (sqlite3_value_type(v) == SQLITE_NULL)
		return 1;
	*ret = json_arg(v); /* json_is_array reads its argument twice */
	if (json_is_array(*ret))
		return 0;
	kql_exec_fail_at(ctx, at,
	                 "the function '%s' takes arrays: argument %d is not one (not supported)",
	                 name, k);
	return -1;
}

/* The arrays argv[first, argc - 1) (the last argument is the position)
 * into arr[]: 0, or array_arg's 1 or -1 for the first that is not one. */
static int arrays_of(sqlite3_context *ctx, int argc, sqlite3_value **argv, int first, json_t **arr,
                     const char *name)
{
	int64_t at = sqlite3_value_int64(argv[argc - 1]);
	int rc = 0;

	for (int i = first; rc == 0 && i < argc - 1; i++)
		rc = array_arg(ctx, argv[i], at, name, i - first + 1, &arr[i - first]);
	return rc;
}

static void free_all(json_t **arr, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(arr[i]);
}

/* kql_array_concat(a, b, ..., at) */
static void fn_array_concat(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	json_t *arr[64] = {0}, *out;
	int n = argc - 1, rc;

	if (n < 1 || n > 64)
		return;
	if ((rc = arrays_of(ctx, argc, argv, 0, arr, "array_concat")) == 0) {
		out = json_array();
		for (int i = 0; out != NULL && i < n; i++)
			if (json_array_extend(out, arr[i]) != 0)
				json_decref(out), out = NULL;
		kql_exec_result_json(ctx, out);
		json_decref(out);
	}
	free_all(arr, n);
}

/* Whether v is in arr. */
static bool holds(const json_t *arr, const json_t *v)
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
	{
		if (json_equal(e, v))
			return true;
	}
	return false;
}

/* Whether v belongs to the set op makes of arr[0, n): union, intersect
 * (in every one), difference (in none but the first). */
static bool in_set(int op, json_t **arr, int n, const json_t *v)
{
	for (int i = 1; i < n; i++) {
		bool h = holds(arr[i], v);

		if ((op == 1 && !h) || (op == 2 && h))
			return false;
	}
	return true;
}

/* The distinct values of the set, in the order first seen. */
static json_t *set_of(int op, json_t **arr, int n)
{
	json_t *out = json_array(), *e;
	size_t k;

	for (int i = 0; out != NULL && i < (op == 0 ? n : 1); i++)
		json_array_foreach(arr[i], k, e)
		{
			if (!holds(out, e) && in_set(op, arr, n, e) &&
			    json_array_append(out, e) != 0) {
				json_decref(out);
				return NULL;
			}
		}
	return out;
}

/* kql_set(op, a, b, ..., at): 0 set_union, 1 set_intersect, 2
 * set_difference. */
static void fn_set(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	static const char *const names[] = {"set_union", "set_intersect", "set_difference"};
	int op = sqlite3_value_int(argv[0]), n = argc - 2, rc;
	json_t *arr[64] = {0}, *out;

	if (n < 2 || n > 64 || op < 0 || op > 2)
		return;
	if ((rc = arrays_of(ctx, argc, argv, 1, arr, names[op])) == 0) {
		out = set_of(op, arr, n);
		kql_exec_result_json(ctx, out);
		json_decref(out);
	}
	free_all(arr, n);
}

/* An element's text: a string as it is, null as "", the rest as JSON. */
static int append_text(FILE *f, json_t *e)
{
	char *s;

	if (json_is_string(e))
		return fwrite(json_string_value(e), 1, json_string_length(e), f) ==
		               json_string_length(e)
		           ? 0
		           : -1;
	if (json_is_null(e))
		return 0;
	if ((s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		return -1;
	(void)fputs(s, f);
	free(s);
	return 0;
}

/* kql_strcat_array(array, delimiter, at) */
static void fn_strcat_array(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	json_t *arr[1] = {0}, *e;
	const char *d = (const char *)sqlite3_value_text(argv[1]);
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f;

	if (array_arg(ctx, argv[0], sqlite3_value_int64(argv[2]), "strcat_array", 1, &arr[0]) !=
	    0) {
		json_decref(arr[0]);
		return;
	}
	if ((f = open_memstream(&buf, &len)) == NULL) {
		json_decref(arr[0]);
		sqlite3_result_error_nomem(ctx);
		return;
	}
	json_array_foreach(arr[0], i, e)
	{
		if ((i > 0 && d != NULL && fputs(d, f) < 0) || append_text(f, e) != 0)
			break;
	}
	json_decref(arr[0]);
	if (fclose(f) == 0)
		sqlite3_result_text(ctx, buf, (int)len, SQLITE_TRANSIENT);
	else
		sqlite3_result_error_nomem(ctx);
	free(buf);
}

/* The n-th value of range(start, .., step) of type t as JSON. */
static json_t *range_value(enum proto_coltype t, sqlite3_value *start, sqlite3_value *step,
                           int64_t n)
{
	char buf[64];

	if (t == PROTO_T_REAL)
		return json_real(sqlite3_value_double(start) +
		                 (double)n * sqlite3_value_double(step));
	int64_t v = sqlite3_value_int64(start) + n * sqlite3_value_int64(step);

	if (t == PROTO_T_DATETIME)
		return json_string(timefmt_format_datetime(v, buf));
	if (t == PROTO_T_TIMESPAN)
		return json_string(timefmt_format_timespan(v, buf));
	return json_integer(v);
}

/* Whether v is a whole number a double holds exactly. */
static bool whole(sqlite3_value *v)
{
	double d = sqlite3_value_double(v);

	return d == floor(d) && d > -9007199254740992.0 && d < 9007199254740992.0;
}

/* The number of values of range(start, stop, step): to stop included. */
static int64_t range_count(enum proto_coltype t, sqlite3_value **argv)
{
	double span, step;

	if (t == PROTO_T_REAL) {
		span = sqlite3_value_double(argv[1]) - sqlite3_value_double(argv[0]);
		step = sqlite3_value_double(argv[2]);
	} else {
		span = (double)sqlite3_value_int64(argv[1]) - (double)sqlite3_value_int64(argv[0]);
		step = (double)sqlite3_value_int64(argv[2]);
	}
	if (step == 0 || span / step < 0)
		return span == 0 ? 1 : 0;
	return span / step >= RANGE_MAX ? RANGE_MAX : (int64_t)(span / step) + 1;
}

/* kql_range(start, stop, step, type, at): start, start + step, ... up to
 * stop, at most RANGE_MAX values (the page's truncation). */
static void fn_range(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	enum proto_coltype t = (enum proto_coltype)sqlite3_value_int(argv[3]);
	json_t *out;
	int64_t n;

	for (int i = 0; i < 3; i++)
		if (sqlite3_value_type(argv[i]) == SQLITE_NULL)
			return;
	if (t == PROTO_T_REAL && !(whole(argv[0]) && whole(argv[2]))) {
		/* whether Kusto adds the step or multiplies it decides the
		 * last digits and the count: not documented */
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[4]),
		                 "the function 'range' of reals with a fractional start or step "
		                 "is not supported");
		return;
	}
	n = range_count(t, argv);
	if ((out = json_array()) == NULL) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (int64_t i = 0; i < n; i++)
		if (json_array_append_new(out, range_value(t, argv[0], argv[2], i)) != 0) {
			json_decref(out);
			sqlite3_result_error_nomem(ctx);
			return;
		}
	kql_exec_result_json(ctx, out);
	json_decref(out);
}

/* kql_bag_check(bag, at): the bag json_object built, refused when a key
 * repeats (which value Kusto keeps is not documented). */
static void fn_bag_check(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	json_error_t err;
	json_t *j;

	if (s == NULL)
		return;
	if ((j = json_loads(s, JSON_REJECT_DUPLICATES, &err)) == NULL) {
		kql_exec_fail_at(ctx, sqlite3_value_int64(argv[1]),
		                 "the function 'bag_pack' gives a key twice (not supported)");
		return;
	}
	json_decref(j);
	sqlite3_result_value(ctx, argv[0]);
}

int kql_exec_register_dyn(sqlite3 *db)
{
	static const struct kql_sqlfn fns[] = {
	    {"kql_array_concat", -1, fn_array_concat}, {"kql_set", -1, fn_set},
	    {"kql_strcat_array", 3, fn_strcat_array},  {"kql_range", 5, fn_range},
	    {"kql_bag_check", 2, fn_bag_check},
	};

	return kql_exec_register_fns(db, fns, sizeof(fns) / sizeof(fns[0]));
}

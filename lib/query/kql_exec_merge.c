/*
 * kql_exec_merge — the SQL aggregates that merge a split's partial states
 * whose answer follows the scan's order (kql_split.h): arg_max/arg_min
 * (the first row with the extreme key) and make_list/make_set (elements in
 * the order of the rows).  Each partial row carries its partition's index
 * (the partitions are runs of the scan's order, in that order), and the
 * merges order by it, not by the order the rows reach them: a merge's
 * GROUP BY sorts its rows, and SQLite does not promise a stable sort.
 * Also avg of datetimes, whole and split: an exact sum of ticks, where
 * SQLite's avg adds doubles (inexact past 2^53, a few datetimes), so the
 * split's exact partial sums give the whole plan's answer.
 */
#include "query/kql_exec_int.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- kql_argmerge(sign, part, rows, key, value) ---- */

/* The best keyed partial so far, and the first partition's value among
 * those whose keys were all null (kql_argmax's answer when no key is). */
struct argmerge {
	sqlite3_value *key, *value, *nullvalue;
	int64_t part, nullpart;
	size_t bytes;
};

static size_t value_bytes(sqlite3_value *v)
{
	return v != NULL ? 64 + (size_t)sqlite3_value_bytes(v) : 0;
}

/* *slot = a copy of v (the old one freed); false on ENOMEM (reported). */
static bool keep(sqlite3_context *ctx, struct argmerge *m, sqlite3_value **slot, sqlite3_value *v)
{
	sqlite3_value *copy = sqlite3_value_dup(v);

	if (copy == NULL) {
		sqlite3_result_error_nomem(ctx);
		return false;
	}
	if (!kql_exec_charge(ctx, value_bytes(copy))) {
		sqlite3_value_free(copy);
		return false;
	}
	m->bytes += value_bytes(copy) - value_bytes(*slot);
	kql_exec_release(ctx, value_bytes(*slot));
	sqlite3_value_free(*slot);
	*slot = copy;
	return true;
}

/* Whether a partial keyed k from partition part beats the best so far:
 * a better key, or an equal one from an earlier partition (the whole
 * scan keeps the first row of the extreme key). */
static bool beats(const struct argmerge *m, sqlite3_value *k, int64_t part, int sign)
{
	if (m->key == NULL || kql_exec_better(k, m->key, sign))
		return true;
	return part < m->part && !kql_exec_better(m->key, k, sign);
}

static void argmerge_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct argmerge *m = sqlite3_aggregate_context(ctx, sizeof(*m));
	int sign = sqlite3_value_int(argv[0]);
	int64_t part = sqlite3_value_int64(argv[1]);
	sqlite3_value *k = argv[3];

	/* an empty partition's row of a summarize without keys */
	if (m == NULL || sqlite3_value_int64(argv[2]) <= 0)
		return;
	if (sqlite3_value_type(k) == SQLITE_NULL) {
		if ((m->nullvalue == NULL || part < m->nullpart) &&
		    keep(ctx, m, &m->nullvalue, argv[4]))
			m->nullpart = part;
		return;
	}
	if (beats(m, k, part, sign) && keep(ctx, m, &m->key, k) && keep(ctx, m, &m->value, argv[4]))
		m->part = part;
}

static void argmerge_final(sqlite3_context *ctx)
{
	struct argmerge *m = sqlite3_aggregate_context(ctx, 0);

	if (m == NULL)
		return;
	if (m->key != NULL && m->value != NULL)
		sqlite3_result_value(ctx, m->value);
	else if (m->nullvalue != NULL)
		sqlite3_result_value(ctx, m->nullvalue);
	sqlite3_value_free(m->key);
	sqlite3_value_free(m->value);
	sqlite3_value_free(m->nullvalue);
	kql_exec_release(ctx, m->bytes);
}

/* ---- kql_concat(mode, part, array, cap) ---- */

/* mode: the elements of make_list, make_set of scalars (SQLite's
 * json_group_array(DISTINCT): equal SQL values), or make_set of dynamic
 * values (kql_collect's set: equal JSON, object keys in any order). */
enum { CONCAT_LIST, CONCAT_SET, CONCAT_SET_DYNAMIC };

struct piece {
	int64_t part;
	char *text;
	size_t len;
};

struct concat {
	struct piece *v;
	size_t n, cap, bytes;
	int mode;
	int64_t most; /* elements at most (< 0: any number) */
};

static void concat_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct concat *c = sqlite3_aggregate_context(ctx, sizeof(*c));
	const char *text = (const char *)sqlite3_value_text(argv[2]);
	size_t len = (size_t)sqlite3_value_bytes(argv[2]);
	struct piece *v;

	if (c == NULL || text == NULL)
		return;
	c->mode = sqlite3_value_int(argv[0]);
	c->most = sqlite3_value_type(argv[3]) == SQLITE_NULL ? -1 : sqlite3_value_int64(argv[3]);
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 4;
		if (!(v = realloc(c->v, cap * sizeof(*v)))) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
		c->v = v;
		c->cap = cap;
	}
	if (!kql_exec_charge(ctx, len + 64))
		return;
	c->bytes += len + 64;
	v = &c->v[c->n];
	if (!(v->text = malloc(len + 1))) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	memcpy(v->text, text, len + 1);
	v->len = len;
	v->part = sqlite3_value_int64(argv[1]);
	c->n++;
}

static int by_part(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	return x->part < y->part ? -1 : x->part > y->part;
}

/* The index just past the JSON value starting at s[i] (its delimiter at
 * depth 0: ',' or the array's ']'), n if none. */
static size_t value_end(const char *s, size_t i, size_t n)
{
	int depth = 0;
	bool str = false;

	for (; i < n; i++) {
		char ch = s[i];
		if (str) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				str = false;
		} else if (ch == '"') {
			str = true;
		} else if (ch == '[' || ch == '{') {
			depth++;
		} else if (ch == ']' || ch == '}') {
			if (depth-- == 0)
				return i;
		} else if (ch == ',' && depth == 0) {
			return i;
		}
	}
	return n;
}

static size_t skip_space(const char *s, size_t i, size_t n)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* The key of a number element as SQL compares numbers: an integer and a
 * real of the same value are equal. */
static char *number_key(const char *s, size_t n)
{
	char buf[64], out[48], *end;
	double d;

	if (n >= sizeof(buf))
		return strndup(s, n);
	memcpy(buf, s, n);
	buf[n] = '\0';
	errno = 0;
	if (!strpbrk(buf, ".eE")) {
		long long i = strtoll(buf, &end, 10);
		if (errno == 0 && *end == '\0') {
			(void)snprintf(out, sizeof(out), "i%lld", i);
			return strdup(out);
		}
	}
	d = strtod(buf, &end);
	if (d == floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0)
		(void)snprintf(out, sizeof(out), "i%lld", (long long)d);
	else
		(void)snprintf(out, sizeof(out), "r%.17g", d);
	return strdup(out);
}

/* The set's key of element s[0..n) (a new string; NULL on ENOMEM): equal
 * keys for the elements the whole plan's set holds once. */
static char *element_key(int mode, const char *s, size_t n)
{
	json_t *v;
	char *k;

	if (mode == CONCAT_SET && n > 0 && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
		return number_key(s, n);
	if (mode == CONCAT_SET || !(v = json_loadb(s, n, JSON_DECODE_ANY, NULL)))
		return strndup(s, n);
	k = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v);
	return k;
}

/* Whether element s[0..n) is new to seen (then remembered); -1: ENOMEM. */
static int fresh(json_t *seen, int mode, const char *s, size_t n)
{
	char *key = element_key(mode, s, n);
	int r = -1;

	if (key != NULL) {
		size_t len = strlen(key);
		r = json_object_getn(seen, key, len) == NULL;
		if (r == 1 && json_object_setn_nocheck(seen, key, len, json_true()) < 0)
			r = -1;
	}
	free(key);
	return r;
}

struct joined {
	FILE *f;
	json_t *seen; /* the set's keys (NULL: a list) */
	int mode;
	int64_t cap, count; /* cap < 0: no bound */
};

/* Appends the elements of array text s[0..n) to j, up to its cap. */
static int join_elements(struct joined *j, const char *s, size_t n)
{
	size_t i = skip_space(s, 0, n), end, last;
	int r;

	if (i >= n || s[i] != '[')
		return 0;
	for (i = skip_space(s, i + 1, n); i < n && s[i] != ']'; i = skip_space(s, end + 1, n)) {
		if (j->cap >= 0 && j->count >= j->cap)
			return 0;
		end = value_end(s, i, n);
		for (last = end; last > i && strchr(" \t\n\r", s[last - 1]); last--)
			;
		if (j->seen && (r = fresh(j->seen, j->mode, s + i, last - i)) <= 0) {
			if (r < 0)
				return -ENOMEM;
		} else {
			fputs(j->count++ ? "," : "", j->f);
			fwrite(s + i, 1, last - i, j->f);
		}
		if (end >= n || s[end] != ',')
			break;
	}
	return 0;
}

static void concat_free(sqlite3_context *ctx, struct concat *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].text);
	free(c->v);
	kql_exec_release(ctx, c->bytes);
}

static void concat_final(sqlite3_context *ctx)
{
	struct concat *c = sqlite3_aggregate_context(ctx, 0);
	struct joined j = {0};
	char *out = NULL;
	size_t len = 0;
	int r = 0;

	if (c == NULL || c->n == 0) {
		sqlite3_result_text(ctx, "[]", 2, SQLITE_STATIC);
		if (c != NULL)
			concat_free(ctx, c);
		return;
	}
	qsort(c->v, c->n, sizeof(*c->v), by_part);
	j = (struct joined){NULL, NULL, c->mode, c->most, 0};
	if (!(j.f = open_memstream(&out, &len)) ||
	    (j.mode != CONCAT_LIST && !(j.seen = json_object())))
		r = -ENOMEM;
	if (r == 0)
		fputc('[', j.f);
	for (size_t i = 0; r == 0 && i < c->n; i++)
		r = join_elements(&j, c->v[i].text, c->v[i].len);
	if (r == 0)
		fputc(']', j.f);
	if (j.f && fclose(j.f) != 0)
		r = -ENOMEM;
	json_decref(j.seen);
	if (r == 0) {
		sqlite3_result_text64(ctx, out, len, free, SQLITE_UTF8);
	} else {
		free(out);
		sqlite3_result_error_nomem(ctx);
	}
	concat_free(ctx, c);
}

/* ---- kql_tavg(x), kql_tsum(x), kql_tmerge(state): avg of datetimes;
 * kql_iavg(x), kql_imerge(state): avg of ints, longs and timespans ---- */

/* The exact sum of ticks or integers (a 128-bit integer: ten million
 * datetimes of this century sum past 2^63, two large longs too) and the
 * count of non-null values. */
struct tsum {
	/* SQLite aligns an aggregate's context to 8 bytes, an __int128 wants
	 * 16: the sum is copied in and out */
	unsigned char sum[sizeof(__int128)];
	int64_t n;
};

static __int128 tsum_get(const struct tsum *t)
{
	__int128 v;

	memcpy(&v, t->sum, sizeof(v));
	return v;
}

static void tsum_add(struct tsum *t, __int128 d)
{
	__int128 v = tsum_get(t) + d;

	memcpy(t->sum, &v, sizeof(v));
}

#define TAVG_BASE INT64_C(15778368000000000) /* 2020-01-01, ticks */

static void tsum_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct tsum *t = sqlite3_aggregate_context(ctx, sizeof(*t));

	if (t != NULL && sqlite3_value_type(argv[0]) != SQLITE_NULL) {
		tsum_add(t, sqlite3_value_int64(argv[0]));
		t->n++;
	}
}

/* The mean's whole ticks, its offset from 2020 rounded half away from
 * zero (what round(avg(x - 2020)) gave while its double sum was exact);
 * null over no values. */
static void tavg_result(sqlite3_context *ctx, const struct tsum *t)
{
	__int128 d, q, r;

	if (t == NULL || t->n == 0)
		return;
	d = tsum_get(t) - (__int128)t->n * TAVG_BASE;
	q = d / t->n;
	r = d % t->n;
	if (2 * (r < 0 ? -r : r) >= t->n)
		q += d < 0 ? -1 : 1;
	sqlite3_result_int64(ctx, (sqlite3_int64)(q + TAVG_BASE));
}

static void tavg_final(sqlite3_context *ctx)
{
	tavg_result(ctx, sqlite3_aggregate_context(ctx, 0));
}

/* The mean of integers: their exact sum over their count, as reals (one
 * division of the rounded sum, whole plan or merged, so both answer the
 * same whatever the partitions); null over no values. */
static void iavg_final(sqlite3_context *ctx)
{
	const struct tsum *t = sqlite3_aggregate_context(ctx, 0);

	if (t != NULL && t->n > 0)
		sqlite3_result_double(ctx, (double)tsum_get(t) / (double)t->n);
}

char *kql_tsum_text(__int128 sum, int64_t n)
{
	char digits[48], *p = digits + sizeof(digits), *out = NULL;
	unsigned __int128 u = sum < 0 ? -(unsigned __int128)sum : (unsigned __int128)sum;

	*--p = '\0';
	do
		*--p = (char)('0' + (int)(u % 10));
	while ((u /= 10) != 0);
	return asprintf(&out, "%s%s,%lld", sum < 0 ? "-" : "", p, (long long)n) < 0 ? NULL : out;
}

/* The state as text: "sum,count", the sum in decimal. */
static void tsum_final(sqlite3_context *ctx)
{
	struct tsum *t = sqlite3_aggregate_context(ctx, 0), zero = {0};
	char *out;

	if (t == NULL)
		t = &zero;
	if ((out = kql_tsum_text(tsum_get(t), t->n)) == NULL)
		sqlite3_result_error_nomem(ctx);
	else
		sqlite3_result_text(ctx, out, -1, free);
}

/* Adds the state text (tsum_final's) to t; false if it is not one. */
static bool tsum_parse(struct tsum *t, const char *s)
{
	bool neg = *s == '-';
	unsigned __int128 u = 0;
	char *end;

	for (s += neg; *s >= '0' && *s <= '9'; s++)
		u = u * 10 + (unsigned)(*s - '0');
	if (*s != ',')
		return false;
	t->n += strtoll(s + 1, &end, 10);
	tsum_add(t, neg ? -(__int128)u : (__int128)u);
	return *end == '\0';
}

static void tmerge_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct tsum *t = sqlite3_aggregate_context(ctx, sizeof(*t));
	const char *text = (const char *)sqlite3_value_text(argv[0]);

	if (t != NULL && text != NULL && !tsum_parse(t, text))
		sqlite3_result_error(ctx, "kql_tmerge: not a state", -1);
}

/* kql_array_cap(array, n): the array's first n elements, cut from its
 * text as it is (make_list/make_set's default bound of Kusto's; what
 * comes through whole keeps SQLite's rendering of its values). */
static void fn_array_cap(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s = (const char *)sqlite3_value_text(argv[0]);
	size_t n = (size_t)sqlite3_value_bytes(argv[0]), i, end = 0;
	int64_t most = sqlite3_value_int64(argv[1]), count = 0;

	i = s ? skip_space(s, 0, n) : n;
	if (i >= n || s[i] != '[' || most < 0) {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	for (i = skip_space(s, i + 1, n); i < n && s[i] != ']' && count < most;
	     i = skip_space(s, end + 1, n)) {
		end = value_end(s, i, n);
		count++;
		if (end >= n || s[end] != ',') {
			sqlite3_result_value(ctx, argv[0]); /* n elements or fewer */
			return;
		}
	}
	if (i >= n || s[i] == ']') {
		sqlite3_result_value(ctx, argv[0]);
		return;
	}
	/* cut after element count (its delimiter at end), or none */
	char *out = sqlite3_mprintf("%.*s]", count ? (int)end : (int)skip_space(s, 0, n) + 1, s);
	if (out == NULL)
		sqlite3_result_error_nomem(ctx);
	else
		sqlite3_result_text(ctx, out, -1, sqlite3_free);
}

static const struct {
	const char *name;
	int nargs;
	void (*step)(sqlite3_context *, int, sqlite3_value **);
	void (*final)(sqlite3_context *);
} merges[] = {
    {"kql_argmerge", 5, argmerge_step, argmerge_final},
    {"kql_concat", 4, concat_step, concat_final},
    {"kql_tavg", 1, tsum_step, tavg_final},
    {"kql_tsum", 1, tsum_step, tsum_final},
    {"kql_tmerge", 1, tmerge_step, tavg_final},
    {"kql_iavg", 1, tsum_step, iavg_final},
    {"kql_imerge", 1, tmerge_step, iavg_final},
};

int kql_exec_register_merge(sqlite3 *db, struct kql_budget *b)
{
	int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;

	for (size_t i = 0; i < sizeof(merges) / sizeof(merges[0]); i++)
		if (sqlite3_create_function(db, merges[i].name, merges[i].nargs, flags, b, NULL,
		                            merges[i].step, merges[i].final) != SQLITE_OK)
			return -ENOMEM;
	return sqlite3_create_function(db, "kql_array_cap", 2, flags, NULL, fn_array_cap, NULL,
	                               NULL) == SQLITE_OK
	           ? 0
	           : -ENOMEM;
}

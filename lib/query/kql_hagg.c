/*
 * kql_hagg — hash aggregation of a partial plan (kql_hagg.h).  One open
 * addressing table of groups (their keys' hash kept, keys and states in
 * arrays indexed by group; a $dstate's HyperLogLog state (kql_hll.h)
 * allocated per group), texts copied into chunks freed at the end.
 * Each aggregate step mirrors the SQLite 3.40 function the SQL path uses
 * (sumStep, minmaxStep, count), so the partial rows are the same.
 */
#include "query/kql_hagg.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "query/kql_exec_int.h"
#include "query/kql_hll.h"
#include "query/kql_pct.h"
#include "util/hash64.h"

#define NONE UINT32_MAX
#define MAX_ENTRIES (UINT32_MAX / 4) /* groups, members: indexes are 32 bits */
#define CHUNK 65536

/* A value as SQLite stores it (type: SQLITE_NULL, INTEGER, FLOAT, TEXT);
 * a text is NUL-terminated. */
struct hval {
	int type;
	uint32_t len;
	union {
		int64_t i;
		double r;
		const char *s;
	} u;
};

/* One aggregate's state in one group. */
struct hstate {
	struct hval v;       /* min, max: the best value (text malloc'd, cap bytes) */
	int64_t n;           /* counts; sum: values summed */
	int64_t isum;        /* sum, $tsum: the integer sum (past a long: to the SQL) */
	double rsum;         /* sum: the real sum */
	uint32_t cap;        /* bytes of v's text */
	struct kql_hll *hll; /* $dstate: its state, NULL before a value */
	double *vals;        /* $pstate: the values, n of them */
	size_t vcap;         /* $pstate: the values allocated */
	bool approx, ovf;    /* sum, $pstate: a real seen; the integer sum overflowed */
};

/* An aggregate: its function and the input columns of its value and
 * predicate (-1: none). */
struct agg {
	enum kql_fn fn;
	int x, p, acc; /* acc: a $dstate's accuracy */
	enum proto_coltype type;
};

/* v[i]: an index + 1, 0 empty; mask + 1 slots, n used. */
struct slots {
	uint32_t *v;
	size_t mask, n;
};

struct chunk {
	struct chunk *next;
	size_t used, cap;
	char data[];
};

struct kql_hagg {
	const struct kql_plan *p;
	struct agg *aggs;
	size_t naggs, nkeys, nin; /* nin: the input's columns */
	bool *pred;               /* pred[c]: input column c is a predicate */
	struct hval *row;         /* the current input row */
	struct slots gs;
	uint64_t *ghash;
	struct hval *keys;     /* nkeys per group */
	struct hstate *states; /* naggs per group */
	size_t ngroups, gcap;
	struct chunk *chunks;
	size_t bytes, charged;
	struct kql_hagg_limits lim;
	uint64_t seed;
};

/* ---- memory ---- */

/* Counts n more bytes; -E2BIG past the bound or the query's budget. */
static int account(struct kql_hagg *h, size_t n)
{
	struct kql_budget *b = h->lim.budget;
	uint64_t used, peak;

	h->bytes += n;
	if (h->lim.max_bytes && h->bytes > h->lim.max_bytes)
		return -E2BIG;
	if (!b)
		return 0;
	used = __atomic_add_fetch(&b->used, (uint64_t)n, __ATOMIC_RELAXED);
	h->charged += n;
	peak = __atomic_load_n(&b->peak, __ATOMIC_RELAXED);
	while (used > peak && !__atomic_compare_exchange_n(&b->peak, &peak, used, true,
	                                                   __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return b->limit == 0 || used <= b->limit ? 0 : -E2BIG;
}

/* A copy of s (len bytes and a NUL) in h's chunks. */
static const char *text_copy(struct kql_hagg *h, const char *s, size_t len)
{
	struct chunk *c = h->chunks;
	char *d;

	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > CHUNK ? len + 1 : CHUNK;
		if (!(c = malloc(sizeof(*c) + cap)) || account(h, sizeof(*c) + cap) < 0) {
			free(c);
			return NULL;
		}
		*c = (struct chunk){h->chunks, 0, cap};
		h->chunks = c;
	}
	d = c->data + c->used;
	memcpy(d, s, len);
	d[len] = '\0';
	c->used += len + 1;
	return d;
}

/* ---- hashing and comparing values ---- */

static uint64_t hash_bytes(const char *s, size_t n, uint64_t h)
{
	uint64_t w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * UINT64_C(0x9fb21c651e98df25);
		h ^= h >> 32;
	}
	w = 0;
	memcpy(&w, s, n);
	return hash64_fmix(h ^ w ^ ((uint64_t)n << 56));
}

/* Equal values hash alike: a real equal to an integer hashes as it. */
static uint64_t hash_value(const struct hval *v, uint64_t seed)
{
	double r;
	uint64_t bits;

	switch (v->type) {
	case SQLITE_INTEGER:
		return hash64_fmix(seed ^ (uint64_t)v->u.i);
	case SQLITE_FLOAT:
		r = v->u.r;
		if (r >= -9.2e18 && r <= 9.2e18 && r == (double)(int64_t)r)
			return hash64_fmix(seed ^ (uint64_t)(int64_t)r);
		/* its bits: a cast of a real past uint64's range is undefined */
		memcpy(&bits, &r, sizeof(bits));
		return hash64_fmix(seed ^ UINT64_C(0x5bd1e995) ^ bits);
	case SQLITE_TEXT:
		return hash_bytes(v->u.s, v->len, seed ^ UINT64_C(0x27d4eb2f165667c5));
	default:
		return hash64_fmix(seed ^ 0x7f);
	}
}

/* SQLite's class order: null, numbers, text. */
static int class_of(const struct hval *v)
{
	return v->type == SQLITE_NULL ? 0 : v->type == SQLITE_TEXT ? 2 : 1;
}

/* Numbers as sqlite3MemCompare compares them (an integer and a real
 * exactly, through long double). */
static int compare_numbers(const struct hval *a, const struct hval *b)
{
	long double x = a->type == SQLITE_INTEGER ? (long double)a->u.i : (long double)a->u.r;
	long double y = b->type == SQLITE_INTEGER ? (long double)b->u.i : (long double)b->u.r;

	if (a->type == SQLITE_INTEGER && b->type == SQLITE_INTEGER)
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	return (x > y) - (x < y);
}

/* sqlite3MemCompare with the BINARY collation. */
static int compare(const struct hval *a, const struct hval *b)
{
	int ca = class_of(a), cb = class_of(b), c;

	if (ca != cb)
		return ca < cb ? -1 : 1;
	if (ca == 1)
		return compare_numbers(a, b);
	if (ca == 0)
		return 0;
	c = memcmp(a->u.s, b->u.s, a->len < b->len ? a->len : b->len);
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* Whether a and b are one group; -ENOTSUP when only as integer and real
 * (SQLite would keep one of the two, the output would depend on which). */
static int same(const struct hval *a, const struct hval *b)
{
	if (class_of(a) != class_of(b) || compare(a, b) != 0)
		return 0;
	return a->type == b->type ? 1 : -ENOTSUP;
}

/* ---- reading a row ---- */

/* CASE WHEN's truth of column c (sqlite3VdbeBooleanValue). */
static int64_t truth(sqlite3_stmt *st, int c)
{
	switch (sqlite3_column_type(st, c)) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER:
		return sqlite3_column_int64(st, c) != 0;
	default:
		return sqlite3_column_double(st, c) != 0.0;
	}
}

static int read_row(struct kql_hagg *h, sqlite3_stmt *st)
{
	for (size_t c = 0; c < h->nin; c++) {
		struct hval *v = &h->row[c];
		v->type = h->pred[c] ? SQLITE_INTEGER : sqlite3_column_type(st, (int)c);
		if (h->pred[c])
			v->u.i = truth(st, (int)c);
		else if (v->type == SQLITE_INTEGER)
			v->u.i = sqlite3_column_int64(st, (int)c);
		else if (v->type == SQLITE_FLOAT)
			v->u.r = sqlite3_column_double(st, (int)c);
		else if (v->type == SQLITE_TEXT) {
			v->u.s = (const char *)sqlite3_column_text(st, (int)c);
			v->len = (uint32_t)sqlite3_column_bytes(st, (int)c);
			if (!v->u.s)
				return -ENOMEM;
		} else if (v->type == SQLITE_BLOB)
			return -ENOTSUP;
	}
	return 0;
}

/* Whether a value of v's storage class reads as itself in a column of
 * type t (a number in a string column, a text in a number's, would be
 * converted by the engine: left to the SQL). */
static bool fits(const struct hval *v, enum proto_coltype t)
{
	bool text = t == PROTO_T_STRING || t == PROTO_T_GUID || t == PROTO_T_DECIMAL ||
	            t == PROTO_T_DYNAMIC;

	return v->type == SQLITE_NULL || text == (v->type == SQLITE_TEXT);
}

/* ---- the tables ---- */

/* Room for one more entry in s; an entry's hash is the first field of
 * its record (stride bytes each, from base). */
static int slots_grow(struct kql_hagg *h, struct slots *s, const void *base, size_t stride)
{
	size_t cap = s->v ? (s->mask + 1) * 2 : 1024;
	uint32_t *v;

	if (s->v && (s->n + 1) * 2 <= s->mask + 1)
		return 0;
	if (account(h, cap * sizeof(*v) - (s->v ? (s->mask + 1) * sizeof(*v) : 0)) < 0)
		return -E2BIG;
	if (!(v = calloc(cap, sizeof(*v))))
		return -ENOMEM;
	for (size_t i = 0; i <= s->mask && s->v; i++) {
		uint64_t hash;
		size_t j;
		if (!s->v[i])
			continue;
		memcpy(&hash, (const char *)base + (s->v[i] - 1) * stride, sizeof(hash));
		j = hash & (cap - 1);
		while (v[j])
			j = (j + 1) & (cap - 1);
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->mask = cap - 1;
	return 0;
}

/* Room for one more group in the three arrays indexed by group. */
static int groups_grow(struct kql_hagg *h)
{
	size_t cap = h->gcap ? h->gcap * 2 : 64;
	size_t per =
	    sizeof(*h->ghash) + h->nkeys * sizeof(*h->keys) + h->naggs * sizeof(*h->states);
	void *p;

	if (h->ngroups < h->gcap)
		return 0;
	if (cap > MAX_ENTRIES || account(h, (cap - h->gcap) * per) < 0)
		return -E2BIG;
	if (!(p = reallocarray(h->ghash, cap, sizeof(*h->ghash))))
		return -ENOMEM;
	h->ghash = p;
	if (!(p = reallocarray(h->keys, cap, h->nkeys * sizeof(*h->keys) + 1)))
		return -ENOMEM;
	h->keys = p;
	if (!(p = reallocarray(h->states, cap, h->naggs * sizeof(*h->states) + 1)))
		return -ENOMEM;
	h->states = p;
	h->gcap = cap;
	return 0;
}

/* A new group of the current row's keys (hash hash) in slot at: its keys
 * copied, its states empty.  Its index, or negative errno. */
static int64_t group_add(struct kql_hagg *h, uint64_t hash, size_t at)
{
	size_t g = h->ngroups;
	int rc;

	if ((rc = groups_grow(h)) < 0)
		return rc;
	h->ghash[g] = hash;
	for (size_t k = 0; k < h->nkeys; k++) {
		struct hval *key = &h->keys[g * h->nkeys + k];
		/* checked once a group: a row of the group has keys of the
		 * same storage classes */
		if (!fits(&h->row[k], h->p->cols[k].type))
			return -ENOTSUP;
		*key = h->row[k];
		if (key->type == SQLITE_TEXT && !(key->u.s = text_copy(h, key->u.s, key->len)))
			return -ENOMEM;
	}
	for (size_t a = 0; a < h->naggs; a++)
		h->states[g * h->naggs + a] = (struct hstate){.v.type = SQLITE_NULL};
	h->gs.v[at] = (uint32_t)g + 1;
	h->gs.n++;
	h->ngroups++;
	return (int64_t)g;
}

/* Whether group g has the current row's keys (-ENOTSUP: see same()). */
static int keys_equal(const struct kql_hagg *h, size_t g)
{
	int r = 1;

	for (size_t k = 0; k < h->nkeys && r == 1; k++)
		r = same(&h->keys[g * h->nkeys + k], &h->row[k]);
	return r;
}

static int64_t group_of(struct kql_hagg *h)
{
	uint64_t hash = h->seed;
	size_t i;
	int r;

	for (size_t k = 0; k < h->nkeys; k++)
		hash = hash64_fmix(hash ^ hash_value(&h->row[k], h->seed));
	if ((r = slots_grow(h, &h->gs, h->ghash, sizeof(*h->ghash))) < 0)
		return r;
	for (i = hash & h->gs.mask; h->gs.v[i]; i = (i + 1) & h->gs.mask) {
		size_t g = h->gs.v[i] - 1;
		if (h->ghash[g] == hash && (r = keys_equal(h, g)) != 0)
			return r < 0 ? r : (int64_t)g;
	}
	return group_add(h, hash, i);
}

/* Adds x to $dstate state s of aggregate a (its memory counted); the
 * hashes are the SQL path's (kql_exec_fn.c's value_hash). */
static int hll_step(struct kql_hagg *h, struct hstate *s, const struct agg *a, const struct hval *x)
{
	uint64_t hash = x->type == SQLITE_INTEGER ? kql_hll_hash_int(x->u.i)
	                : x->type == SQLITE_FLOAT ? kql_hll_hash_real(x->u.r)
	                                          : kql_hll_hash_text(x->u.s, x->len);
	long r;

	if (!s->hll) {
		if (account(h, sizeof(*s->hll)) < 0)
			return -E2BIG;
		if (!(s->hll = malloc(sizeof(*s->hll))))
			return -ENOMEM;
		(void)kql_hll_init(s->hll, a->acc);
	}
	if ((r = kql_hll_add(s->hll, hash)) < 0)
		return (int)r;
	return account(h, (size_t)r) < 0 ? -E2BIG : 0;
}

/* $pstate: x kept as kql_percentile keeps it (a double; an integer's
 * storage class remembered), the values counted against h's bounds. */
static int pset_step(struct kql_hagg *h, struct hstate *s, const struct hval *x)
{
	size_t cap = s->vcap ? s->vcap * 2 : 64;
	double *v;

	if (x->type == SQLITE_NULL)
		return 0;
	if (x->type == SQLITE_TEXT)
		return -ENOTSUP; /* SQLite's reading of a text as a number */
	if ((size_t)s->n == s->vcap) {
		if (account(h, (cap - s->vcap) * sizeof(*v)) < 0)
			return -E2BIG;
		if (!(v = realloc(s->vals, cap * sizeof(*v))))
			return -ENOMEM;
		s->vals = v;
		s->vcap = cap;
	}
	s->vals[s->n++] = x->type == SQLITE_INTEGER ? (double)x->u.i : x->u.r;
	s->approx = s->approx || x->type == SQLITE_FLOAT;
	return 0;
}

/* ---- the aggregates' steps ---- */

/* SQLite's sumStep: integers summed exactly until one overflows (the SQL
 * then fails: left to it), every value also summed as a real. */
static int sum_step(struct hstate *s, const struct hval *x)
{
	if (x->type == SQLITE_NULL)
		return 0;
	if (x->type == SQLITE_TEXT)
		return -ENOTSUP;
	s->n++;
	if (x->type == SQLITE_FLOAT) {
		s->rsum += x->u.r;
		s->approx = true;
		return 0;
	}
	s->rsum += (double)x->u.i;
	if (!s->approx && !s->ovf && __builtin_add_overflow(s->isum, x->u.i, &s->isum))
		s->approx = s->ovf = true;
	return s->ovf ? -ENOTSUP : 0;
}

/* x as s's value (a copy of its text, counted against h's bounds: a
 * summarize of $row keeps every group's whole row). */
static int keep(struct kql_hagg *h, struct hstate *s, const struct hval *x)
{
	if (x->type == SQLITE_TEXT && x->len + 1 > s->cap) {
		if (account(h, x->len + 1 - s->cap) < 0)
			return -E2BIG;
		char *p = realloc((char *)(s->cap ? s->v.u.s : NULL), x->len + 1);
		if (!p)
			return -ENOMEM;
		s->v.u.s = p;
		s->cap = x->len + 1;
	}
	if (x->type == SQLITE_TEXT) {
		memcpy((char *)s->v.u.s, x->u.s, x->len + 1);
		s->v.len = x->len;
		s->v.type = SQLITE_TEXT;
		return 0;
	}
	if (s->cap)
		free((char *)s->v.u.s);
	s->cap = 0;
	s->v = *x;
	return 0;
}

/* SQLite's minmaxStep: nulls skipped, the first of equal values kept. */
static int extreme_step(struct kql_hagg *h, struct hstate *s, const struct hval *x, bool max,
                        enum proto_coltype t)
{
	int c;

	if (x->type == SQLITE_NULL)
		return 0;
	if (!fits(x, t))
		return -ENOTSUP;
	c = s->v.type == SQLITE_NULL ? 0 : compare(&s->v, x);
	if (s->v.type != SQLITE_NULL && !(max ? c < 0 : c > 0))
		return 0;
	return keep(h, s, x);
}

static int tsum_step(struct hstate *s, const struct hval *x)
{
	if (x->type == SQLITE_NULL)
		return 0;
	s->n++;
	return x->type != SQLITE_INTEGER || __builtin_add_overflow(s->isum, x->u.i, &s->isum)
	           ? -ENOTSUP
	           : 0;
}

/* Whether aggregate a takes the current row (its predicate's truth). */
static bool taken(const struct kql_hagg *h, const struct agg *a)
{
	return a->p < 0 || h->row[a->p].u.i;
}

static int agg_step(struct kql_hagg *h, size_t g, size_t i)
{
	const struct agg *a = &h->aggs[i];
	struct hstate *s = &h->states[g * h->naggs + i];
	const struct hval *x = a->x >= 0 ? &h->row[a->x] : NULL;

	switch (a->fn) {
	case KQL_F_COUNT:
		s->n++;
		return 0;
	case KQL_F_COUNTIF:
		s->n += taken(h, a);
		return 0;
	case KQL_F_P_COUNTNN:
		s->n += taken(h, a) && x->type != SQLITE_NULL;
		return 0;
	case KQL_F_SUM:
	case KQL_F_SUMIF:
		return taken(h, a) ? sum_step(s, x) : 0;
	case KQL_F_MIN:
		return extreme_step(h, s, x, false, a->type);
	case KQL_F_P_DSET:
		return taken(h, a) && x->type != SQLITE_NULL ? hll_step(h, s, a, x) : 0;
	case KQL_F_P_PSET:
		return pset_step(h, s, x);
	case KQL_F_P_TSUM:
		return taken(h, a) ? tsum_step(s, x) : 0;
	case KQL_F_P_ROW: /* the group's first row, nulls too */
		if (s->n++ > 0)
			return 0;
		return x->type == SQLITE_NULL ? 0 : !fits(x, a->type) ? -ENOTSUP : keep(h, s, x);
	default: /* max, take_any (the SQL's max) */
		return extreme_step(h, s, x, true, a->type);
	}
}

static int add_row(struct kql_hagg *h, sqlite3_stmt *st)
{
	int64_t g;
	int r;

	if ((r = read_row(h, st)) < 0 || (g = group_of(h)) < 0)
		return r < 0 ? r : (int)g;
	for (size_t i = 0; i < h->naggs; i++)
		if ((r = agg_step(h, (size_t)g, i)) < 0)
			return r;
	return 0;
}

/* ---- the rows handed over ---- */

/* SQLite's doubleToInt64 (a real read as an integer). */
static int64_t real_to_int(double r)
{
	if (r <= (double)INT64_MIN)
		return INT64_MIN;
	if (r >= (double)INT64_MAX)
		return INT64_MAX;
	return (int64_t)r;
}

/* v as kql_exec reads it from a column of type t (v fits t). */
static void to_value(const struct hval *v, enum proto_coltype t, struct kql_value *out)
{
	memset(out, 0, sizeof(*out));
	out->isnull = v->type == SQLITE_NULL;
	if (out->isnull)
		return;
	if (v->type == SQLITE_TEXT)
		out->s = v->u.s;
	else if (t == PROTO_T_REAL)
		out->r = v->type == SQLITE_INTEGER ? (double)v->u.i : v->u.r;
	else
		out->i = v->type == SQLITE_INTEGER ? v->u.i : real_to_int(v->u.r);
}

/* The text of a partial state held as text ($dstate, $tsum, $pstate) as
 * out, into *ret (malloc'd). */
static int state_text(const struct agg *a, const struct hstate *s, struct kql_value *out,
                      char **ret)
{
	struct kql_hll empty;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (a->fn == KQL_F_P_TSUM)
		*ret = kql_tsum_text(s->isum, s->n);
	else if (a->fn == KQL_F_P_PSET)
		*ret = kql_pct_text(s->vals, (size_t)s->n, !s->approx, &len);
	else if (s->hll)
		*ret = kql_hll_text(s->hll);
	else
		*ret = kql_hll_init(&empty, a->acc) < 0 ? NULL : kql_hll_text(&empty);
	return (out->s = *ret) ? 0 : -ENOMEM;
}

/* The value of state s of aggregate a (its SQL's: counts, coalesce(sum,
 * 0), min/max or null); a $dstate's, $tsum's or $pstate's text into *json
 * (malloc'd). */
static int state_value(const struct kql_hagg *h, const struct agg *a, const struct hstate *s,
                       struct kql_value *out, char **json)
{
	struct hval v = {SQLITE_INTEGER, 0, {.i = s->n}};

	if (a->fn == KQL_F_P_DSET || a->fn == KQL_F_P_TSUM || a->fn == KQL_F_P_PSET)
		return state_text(a, s, out, json);
	if (a->fn == KQL_F_SUM || a->fn == KQL_F_SUMIF)
		v = s->approx ? (struct hval){SQLITE_FLOAT, 0, {.r = s->rsum}}
		              : (struct hval){SQLITE_INTEGER, 0, {.i = s->isum}};
	else if (a->fn == KQL_F_MIN || a->fn == KQL_F_MAX || a->fn == KQL_F_TAKE_ANY ||
	         a->fn == KQL_F_P_ROW)
		v = s->v;
	to_value(&v, a->type, out);
	return 0;
}

static int emit_group(const struct kql_hagg *h, size_t g, struct kql_value *vals, char **json,
                      kql_row_fn *row, void *arg)
{
	int r = 0;

	for (size_t k = 0; k < h->nkeys; k++)
		to_value(&h->keys[g * h->nkeys + k], h->p->cols[k].type, &vals[k]);
	for (size_t i = 0; i < h->naggs && r == 0; i++)
		r = state_value(h, &h->aggs[i], &h->states[g * h->naggs + i], &vals[h->nkeys + i],
		                &json[i]);
	if (r == 0)
		r = row(arg, vals, h->nkeys + h->naggs);
	for (size_t i = 0; i < h->naggs; i++) {
		free(json[i]);
		json[i] = NULL;
	}
	return r;
}

/* Whether a real sum is NaN (+inf and -inf summed): kql_rsum refuses it
 * at its position, which the SQL run reports (-ENOTSUP: no row handed
 * over, the partition runs the SQL). */
static bool nan_sum(const struct kql_hagg *h)
{
	for (size_t g = 0; g < h->ngroups; g++)
		for (size_t i = 0; i < h->naggs; i++)
			if (h->states[g * h->naggs + i].approx &&
			    isnan(h->states[g * h->naggs + i].rsum))
				return true;
	return false;
}

/* One row per group; a summarize without keys has its one group even
 * over no rows (count 0, sums 0, null min), as SQL's. */
static int emit(struct kql_hagg *h, kql_row_fn *row, void *arg)
{
	size_t n = h->nkeys + h->naggs;
	struct kql_value *vals = calloc(n + 1, sizeof(*vals));
	char **json = calloc(h->naggs + 1, sizeof(*json));
	int r = vals && json ? 0 : -ENOMEM;

	if (r == 0 && nan_sum(h))
		r = -ENOTSUP;
	if (r == 0 && h->ngroups == 0 && h->nkeys == 0 && h->p->kind == KQL_P_AGGREGATE) {
		r = groups_grow(h);
		for (size_t a = 0; r == 0 && a < h->naggs; a++)
			h->states[a] = (struct hstate){.v.type = SQLITE_NULL};
		h->ngroups = r == 0 ? 1 : 0;
	}
	for (size_t g = 0; r == 0 && g < h->ngroups; g++)
		r = emit_group(h, g, vals, json, row, arg);
	free(vals);
	free(json);
	return r;
}

/* ---- setup and the run ---- */

static bool hashable(const struct kql_expr *e)
{
	if (e->kind != KQL_E_CALL)
		return false;
	switch (e->fn) {
	case KQL_F_COUNT:
	case KQL_F_COUNTIF:
	case KQL_F_SUM:
	case KQL_F_SUMIF:
	case KQL_F_MIN:
	case KQL_F_MAX:
	case KQL_F_TAKE_ANY:
	case KQL_F_P_COUNTNN:
	case KQL_F_P_DSET:
	case KQL_F_P_PSET:
	case KQL_F_P_TSUM:
	case KQL_F_P_ROW:
		return true;
	default:
		return false;
	}
}

/* Whether kql_hagg_run can run p. */
static bool runnable(const struct kql_plan *p)
{
	if (p->kind == KQL_P_DISTINCT)
		return p->ncols > 0;
	if (p->kind != KQL_P_AGGREGATE || p->nin != 1)
		return false;
	for (size_t i = p->nkeys; i < p->nexprs; i++)
		if (!hashable(p->exprs[i]))
			return false;
	return true;
}

/* Hashing saves a sort: SQL sorts for the keys (GROUP BY) and keeps a
 * $dstate's values in its hash table, but a summarize of counts, sums, min and
 * max without keys is one pass already. */
bool kql_hagg_supports(const struct kql_plan *p)
{
	bool sorts = p->kind == KQL_P_DISTINCT || p->nkeys > 0;

	for (size_t i = p->nkeys; !sorts && p->kind == KQL_P_AGGREGATE && i < p->nexprs; i++)
		sorts = p->exprs[i]->kind == KQL_E_CALL && p->exprs[i]->fn == KQL_F_P_DSET;
	return sorts && runnable(p);
}

/* Aggregate i's input columns (its value, its predicate) appended to in
 * (the projection read), n of them so far. */
static void agg_inputs(struct kql_hagg *h, size_t i, struct kql_expr **in, size_t *n)
{
	const struct kql_expr *e = h->p->exprs[h->nkeys + i];
	struct agg *a = &h->aggs[i];

	const struct kql_expr *x, *pred = NULL;

	*a = (struct agg){.fn = e->fn, .x = -1, .p = -1, .type = h->p->cols[h->nkeys + i].type};
	if (e->fn == KQL_F_P_DSET)
		kql_dcount_parts(e, &x, &pred, &a->acc);
	if (e->fn == KQL_F_COUNT)
		return;
	if (e->fn == KQL_F_COUNTIF) {
		h->pred[*n] = true;
		a->p = (int)*n;
		in[(*n)++] = e->args[0];
		return;
	}
	a->x = (int)*n;
	in[(*n)++] = e->args[0];
	if (e->fn == KQL_F_P_DSET ? pred != NULL
	                          : e->nargs > 1 && e->fn != KQL_F_MIN && e->fn != KQL_F_MAX &&
	                                e->fn != KQL_F_TAKE_ANY) {
		h->pred[*n] = true;
		a->p = (int)*n;
		in[(*n)++] = e->args[1];
	}
}

static void hagg_free(struct kql_hagg *h)
{
	if (!h)
		return;
	for (size_t s = 0; s < h->ngroups * h->naggs; s++) {
		if (h->states[s].cap)
			free((char *)h->states[s].v.u.s);
		if (h->states[s].hll)
			kql_hll_free(h->states[s].hll);
		free(h->states[s].hll);
		free(h->states[s].vals);
	}
	while (h->chunks) {
		struct chunk *c = h->chunks;
		h->chunks = c->next;
		free(c);
	}
	if (h->lim.budget)
		(void)__atomic_sub_fetch(&h->lim.budget->used, (uint64_t)h->charged,
		                         __ATOMIC_RELAXED);
	free(h->aggs);
	free(h->pred);
	free(h->row);
	free(h->gs.v);
	free(h->ghash);
	free(h->keys);
	free(h->states);
	free(h);
}

static int hagg_new(const struct kql_plan *p, const struct kql_hagg_limits *lim,
                    struct kql_hagg **ret)
{
	struct kql_hagg *h = calloc(1, sizeof(*h));
	size_t most = p->kind == KQL_P_DISTINCT ? p->ncols : p->nkeys + 2 * (p->nexprs - p->nkeys);

	if (!h)
		return -ENOMEM;
	*h = (struct kql_hagg){.p = p, .lim = *lim};
	h->nkeys = p->kind == KQL_P_DISTINCT ? p->ncols : p->nkeys;
	h->naggs = p->kind == KQL_P_DISTINCT ? 0 : p->nexprs - p->nkeys;
	h->seed = hash64_fmix((uint64_t)(uintptr_t)h ^ (uint64_t)time(NULL));
	h->aggs = calloc(h->naggs + 1, sizeof(*h->aggs));
	h->pred = calloc(most + 1, sizeof(*h->pred));
	h->row = calloc(most + 1, sizeof(*h->row));
	if (!h->aggs || !h->pred || !h->row) {
		hagg_free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

/* The SQL of the rows h reads: the input plan's, or (a summarize) a
 * projection of it to the keys and the aggregates' arguments. */
static int input_sql(struct kql_hagg *h, int64_t now, struct kql_sql *ret, struct kql_error *err)
{
	const struct kql_plan *p = h->p;
	struct kql_plan proj = {.kind = KQL_P_PROJECT, .pos = p->pos, .nin = 1};
	struct kql_plan *in = p->in[0];
	int rc;

	if (p->kind == KQL_P_DISTINCT) {
		h->nin = p->ncols;
		return kql_sql_build(in, now, ret, err);
	}
	if (!(proj.exprs = calloc(h->nkeys + 2 * h->naggs + 1, sizeof(*proj.exprs))))
		return -ENOMEM;
	for (; h->nin < h->nkeys; h->nin++)
		proj.exprs[h->nin] = p->exprs[h->nin];
	for (size_t i = 0; i < h->naggs; i++)
		agg_inputs(h, i, proj.exprs, &h->nin);
	proj.nexprs = proj.ncols = h->nin;
	proj.in = &in;
	/* count() alone reads no column: the input's rows will do */
	rc = kql_sql_build(h->nin ? &proj : in, now, ret, err);
	free(proj.exprs);
	return rc;
}

/* Every input row into the table. */
static int scan(struct kql_hagg *h, sqlite3 *db, const struct kql_sql *sql, struct kql_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql->text, -1, &st, NULL) == SQLITE_OK ? 0 : -1;
	size_t n = st ? (size_t)sqlite3_bind_parameter_count(st) : 0;

	for (size_t i = 0; rc == 0 && i < sql->nparams && i < n; i++)
		if (kql_exec_bind(st, (int)i + 1, &sql->params[i].v, sql->params[i].type) !=
		    SQLITE_OK)
			rc = -1;
	while (rc == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		rc = add_row(h, st);
	if (rc == SQLITE_DONE)
		rc = 0;
	else if (rc > 0 || rc == -1)
		rc = kql_exec_error(db, h->p->pos, err);
	sqlite3_finalize(st);
	return rc;
}

int kql_hagg_run(sqlite3 *db, const struct kql_plan *p, int64_t now,
                 const struct kql_hagg_limits *lim, kql_row_fn *row, void *arg,
                 struct kql_error *err)
{
	struct kql_hagg *h = NULL;
	struct kql_sql sql = {0};
	int rc;

	if (!runnable(p))
		return -ENOTSUP;
	if ((rc = hagg_new(p, lim, &h)) == 0 && (rc = input_sql(h, now, &sql, err)) == 0 &&
	    (rc = scan(h, db, &sql, err)) == 0)
		rc = emit(h, row, arg);
	kql_sql_clear(&sql);
	hagg_free(h);
	return rc;
}

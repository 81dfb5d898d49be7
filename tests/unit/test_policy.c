/*
 * Unit tests for policy: hotness by span and by window at their boundaries,
 * the effective policy of every modification kind and combination of leader
 * and follower policies, the next change in time, validation, the conf
 * overrides and the explain texts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policy.h"
#include "util/timefmt.h"

#define SEC TIMEFMT_TICKS_PER_SEC
#define DAY (86400 * SEC)

static int64_t dt(const char *s)
{
	int64_t t = 0;

	assert_int_equal(timefmt_parse_datetime(s, &t), 0);
	return t;
}

/* "now" in every test: 2026-01-10T00:00:00Z. */
static int64_t now0(void)
{
	return dt("2026-01-10T00:00:00Z");
}

static struct policy *eff(const struct proto_caching *ldb, const struct proto_caching *lt,
                          const struct proto_caching *fdb, const struct proto_caching *ft,
                          enum conf_modkind kind)
{
	struct policy *p = NULL;

	assert_int_equal(policy_effective(ldb, lt, fdb, ft, kind, &p), 0);
	assert_non_null(p);
	return p;
}

/* A policy of one side only (leader's database policy, kind none). */
static struct policy *one(const struct proto_caching *c)
{
	return eff(c, NULL, NULL, NULL, CONF_MOD_NONE);
}

static void no_policy_everything_hot(void **state)
{
	static const enum conf_modkind kinds[] = {CONF_MOD_NONE, CONF_MOD_UNION, CONF_MOD_REPLACE};
	int64_t now = now0();
	char buf[512];

	for (size_t i = 0; i < 3; i++) {
		struct policy *p = eff(NULL, NULL, NULL, NULL, kinds[i]);

		assert_true(p->all_hot);
		assert_int_equal(p->leader, POLICY_SRC_NONE);
		assert_int_equal(p->follower, POLICY_SRC_NONE);
		assert_true(
		    policy_is_hot(p, dt("0001-01-01T00:00:00Z"), dt("0001-01-02T00:00:00Z"), now));
		assert_true(policy_is_hot(p, now, now + DAY, now));
		assert_true(policy_next_change(p, now - 100 * DAY, now - 99 * DAY, now) ==
		            POLICY_NEVER);
		policy_explain(p, now - DAY, now, now, buf, sizeof(buf));
		assert_non_null(strstr(buf, "hot: no caching policy applies"));
		assert_non_null(strstr(buf, policy_kind_name(kinds[i])));
		policy_free(p);
	}
}

static void span_boundaries(void **state)
{
	struct proto_caching c = {.hot_span = 7 * DAY};
	struct policy *p = one(&c);
	int64_t now = now0(), edge = now - 7 * DAY, cutoff = 0;

	assert_false(p->all_hot);
	assert_int_equal(p->span_from, POLICY_SRC_LEADER_DB);
	/* Exactly at the span: hot.  One tick either side: hot, then cold. */
	assert_true(policy_is_hot(p, edge - DAY, edge, now));
	assert_true(policy_is_hot(p, edge - DAY, edge + 1, now));
	assert_false(policy_is_hot(p, edge - DAY, edge - 1, now));
	/* min_created plays no part in the span. */
	assert_true(policy_is_hot(p, INT64_MIN, edge, now));
	/* Created in the future (clock skew): hot. */
	assert_true(policy_is_hot(p, now + DAY, now + 2 * DAY, now));
	assert_true(policy_span_cutoff(p, now, &cutoff));
	assert_true(cutoff == edge);

	/* One tick later the extent at the edge is cold. */
	assert_false(policy_is_hot(p, edge - DAY, edge, now + 1));
	assert_true(policy_next_change(p, edge - DAY, edge, now) == now + 1);
	assert_true(policy_next_change(p, now - DAY, now, now) == now + 7 * DAY + 1);
	assert_true(policy_is_hot(p, now - DAY, now, now + 7 * DAY));
	assert_false(policy_is_hot(p, now - DAY, now, now + 7 * DAY + 1));
	/* Cold extents never warm up by the passage of time. */
	assert_true(policy_next_change(p, edge - DAY, edge - 1, now) == POLICY_NEVER);
	policy_free(p);
}

static void span_zero_nothing_hot(void **state)
{
	struct proto_caching c = {.hot_span = 0};
	struct policy *p = one(&c);
	int64_t now = now0(), cutoff = 42;
	char buf[512];

	assert_false(p->all_hot);
	assert_false(policy_is_hot(p, now - DAY, now, now));
	assert_false(policy_is_hot(p, now, now + DAY, now)); /* even the future */
	assert_false(policy_span_cutoff(p, now, &cutoff));
	assert_true(cutoff == 42); /* untouched */
	assert_true(policy_next_change(p, now, now, now) == POLICY_NEVER);
	policy_explain(p, now - DAY, now, now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "cold: the hot span of the leader's database policy is 0"));
	policy_free(p);
}

static void windows_boundaries(void **state)
{
	int64_t a = dt("2021-01-01T00:00:00Z"), b = dt("2021-02-01T00:00:00Z");
	struct proto_window w[] = {{a, b}};
	struct proto_caching c = {.hot_span = 0, .windows = w, .nwindows = 1};
	struct policy *p = one(&c);
	int64_t now = now0();

	assert_int_equal(p->nwindows, 1);
	assert_int_equal(p->windows[0].from, POLICY_SRC_LEADER_DB);
	/* Touching the window at one tick, at either end of the extent. */
	assert_true(policy_is_hot(p, b, b + DAY, now));
	assert_false(policy_is_hot(p, b + 1, b + DAY, now));
	assert_true(policy_is_hot(p, a - DAY, a, now));
	assert_false(policy_is_hot(p, a - DAY, a - 1, now));
	/* Inside, around, a single tick. */
	assert_true(policy_is_hot(p, a + DAY, a + 2 * DAY, now));
	assert_true(policy_is_hot(p, a - DAY, b + DAY, now));
	assert_true(policy_is_hot(p, a, a, now));
	/* Windows do not depend on now: never changes. */
	assert_true(policy_next_change(p, a, a, now) == POLICY_NEVER);
	assert_true(policy_is_hot(p, a, a, INT64_MAX));
	policy_free(p);

	/* A single-tick window. */
	w[0] = (struct proto_window){a, a};
	p = one(&c);
	assert_true(policy_is_hot(p, a, b, now));
	assert_true(policy_is_hot(p, a - DAY, a, now));
	assert_false(policy_is_hot(p, a + 1, b, now));
	policy_free(p);
}

static void empty_windows_span_only(void **state)
{
	struct proto_caching c = {.hot_span = DAY, .windows = NULL, .nwindows = 0};
	struct policy *p = one(&c);
	int64_t now = now0();

	assert_int_equal(p->nwindows, 0);
	assert_false(policy_is_hot(p, dt("2021-01-01T00:00:00Z"), dt("2021-01-02T00:00:00Z"), now));
	assert_true(policy_is_hot(p, now - DAY, now - DAY, now));
	policy_free(p);
}

static void span_and_window(void **state)
{
	int64_t a = dt("2021-01-01T00:00:00Z"), b = dt("2021-02-01T00:00:00Z");
	struct proto_window w[] = {{a, b}};
	struct proto_caching c = {.hot_span = 7 * DAY, .windows = w, .nwindows = 1};
	struct policy *p = one(&c);
	int64_t now = now0();

	/* Hot by span and by window: the window keeps it hot for ever. */
	assert_true(policy_is_hot(p, a, now, now));
	assert_true(policy_next_change(p, a, now, now) == POLICY_NEVER);
	/* Hot by span only. */
	assert_true(policy_next_change(p, b + 1, now, now) == now + 7 * DAY + 1);
	/* Neither. */
	assert_false(policy_is_hot(p, b + 1, now - 8 * DAY, now));
	policy_free(p);
}

/* The caching policies used by the matrix below. */
static int64_t W1MIN, W1MAX, W2MIN, W2MAX;
static struct proto_window w1[1], w2[1];
static struct proto_caching LDB, LT, FDB, FT;

static void matrix_init(void)
{
	W1MIN = dt("2020-01-01T00:00:00Z");
	W1MAX = dt("2020-02-01T00:00:00Z");
	W2MIN = dt("2022-01-01T00:00:00Z");
	W2MAX = dt("2022-02-01T00:00:00Z");
	w1[0] = (struct proto_window){W1MIN, W1MAX};
	w2[0] = (struct proto_window){W2MIN, W2MAX};
	LDB = (struct proto_caching){.hot_span = 30 * DAY, .windows = w1, .nwindows = 1};
	LT = (struct proto_caching){.hot_span = 1 * DAY};
	FDB = (struct proto_caching){.hot_span = 7 * DAY, .windows = w2, .nwindows = 1};
	FT = (struct proto_caching){.hot_span = 2 * DAY};
}

enum { L_DB = 1, L_T = 2, F_DB = 4, F_T = 8 };

struct mcase {
	unsigned have;
	enum conf_modkind kind;
	bool all_hot;
	int64_t span_days;
	enum policy_source span_from, leader, follower;
	size_t nwindows;
};

#define N POLICY_SRC_NONE
#define LD POLICY_SRC_LEADER_DB
#define LTB POLICY_SRC_LEADER_TABLE
#define FD POLICY_SRC_FOLLOWER_DB
#define FTB POLICY_SRC_FOLLOWER_TABLE

static const struct mcase mcases[] = {
    /* none: the leader's alone; a table policy replaces the database's. */
    {0, CONF_MOD_NONE, true, 0, N, N, N, 0},
    {F_DB | F_T, CONF_MOD_NONE, true, 0, N, N, N, 0},
    {L_DB, CONF_MOD_NONE, false, 30, LD, LD, N, 1},
    {L_DB | F_DB | F_T, CONF_MOD_NONE, false, 30, LD, LD, N, 1},
    {L_DB | L_T, CONF_MOD_NONE, false, 1, LTB, LTB, N, 0},
    {L_T | F_DB, CONF_MOD_NONE, false, 1, LTB, LTB, N, 0},
    /* replace: the follower's alone, everything hot when it has none. */
    {0, CONF_MOD_REPLACE, true, 0, N, N, N, 0},
    {L_DB | L_T, CONF_MOD_REPLACE, true, 0, N, N, N, 0},
    {L_DB | F_DB, CONF_MOD_REPLACE, false, 7, FD, N, FD, 1},
    {L_DB | F_DB | F_T, CONF_MOD_REPLACE, false, 2, FTB, N, FTB, 0},
    {F_T, CONF_MOD_REPLACE, false, 2, FTB, N, FTB, 0},
    /* union: the longer span, all windows, of the policies that exist. */
    {0, CONF_MOD_UNION, true, 0, N, N, N, 0},
    {L_DB, CONF_MOD_UNION, false, 30, LD, LD, N, 1},
    {F_DB, CONF_MOD_UNION, false, 7, FD, N, FD, 1},
    {F_T, CONF_MOD_UNION, false, 2, FTB, N, FTB, 0},
    {L_DB | F_DB, CONF_MOD_UNION, false, 30, LD, LD, FD, 2},
    {L_T | F_DB, CONF_MOD_UNION, false, 7, FD, LTB, FD, 1},
    {L_DB | F_T, CONF_MOD_UNION, false, 30, LD, LD, FTB, 1},
    {L_DB | L_T | F_DB | F_T, CONF_MOD_UNION, false, 2, FTB, LTB, FTB, 0},
    {L_T | F_T, CONF_MOD_UNION, false, 2, FTB, LTB, FTB, 0},
};

static struct policy *eff_have(unsigned have, enum conf_modkind kind)
{
	return eff(have & L_DB ? &LDB : NULL, have & L_T ? &LT : NULL, have & F_DB ? &FDB : NULL,
	           have & F_T ? &FT : NULL, kind);
}

static void kinds_matrix(void **state)
{
	matrix_init();
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		const struct mcase *m = &mcases[i];
		struct policy *p = eff_have(m->have, m->kind);

		if (p->all_hot != m->all_hot || p->nwindows != m->nwindows ||
		    (!m->all_hot && p->span_from != m->span_from))
			fail_msg("mcases[%zu]", i);
		assert_int_equal(p->kind, m->kind);
		assert_int_equal(p->all_hot, m->all_hot);
		assert_int_equal(p->leader, m->leader);
		assert_int_equal(p->follower, m->follower);
		if (!m->all_hot) {
			assert_true(p->hot_span == m->span_days * DAY);
			assert_int_equal(p->span_from, m->span_from);
		}
		assert_int_equal(p->nwindows, m->nwindows);
		policy_free(p);
	}
}

/* Extents of every kind of interest relative to the matrix policies. */
static void sample_extents(int64_t now, int64_t (*v)[2], size_t *n)
{
	static const int64_t ages[] = {0, 1, 2, 7, 30, 31, 365};
	size_t k = 0;

	for (size_t i = 0; i < sizeof(ages) / sizeof(ages[0]); i++) {
		v[k][0] = now - ages[i] * DAY - DAY;
		v[k++][1] = now - ages[i] * DAY;
		v[k][0] = now - ages[i] * DAY - DAY;
		v[k++][1] = now - ages[i] * DAY - 1;
	}
	v[k][0] = W1MIN - DAY, v[k++][1] = W1MIN;
	v[k][0] = W1MAX, v[k++][1] = W1MAX + DAY;
	v[k][0] = W1MAX + 1, v[k++][1] = W1MAX + DAY;
	v[k][0] = W2MIN - DAY, v[k++][1] = W2MIN;
	v[k][0] = W2MIN - DAY, v[k++][1] = W2MIN - 1;
	v[k][0] = W1MIN - DAY, v[k++][1] = W2MAX + DAY;
	*n = k;
}

/* For every combination of policies and kinds, hotness equals the rule
 * stated per side: none = the leader's side, replace = the follower's,
 * union = either of the sides that exist; no side = everything hot. */
static void kinds_hotness_by_side(void **state)
{
	static const enum conf_modkind kinds[] = {CONF_MOD_NONE, CONF_MOD_UNION, CONF_MOD_REPLACE};
	int64_t now = now0(), ext[32][2];
	size_t next;

	matrix_init();
	sample_extents(now, ext, &next);
	for (unsigned have = 0; have < 16; have++) {
		const struct proto_caching *lside = have & L_T ? &LT : have & L_DB ? &LDB : NULL;
		const struct proto_caching *fside = have & F_T ? &FT : have & F_DB ? &FDB : NULL;
		struct policy *lp = lside ? one(lside) : NULL, *fp = fside ? one(fside) : NULL;

		for (size_t k = 0; k < 3; k++) {
			struct policy *p = eff_have(have, kinds[k]);

			for (size_t e = 0; e < next; e++) {
				int64_t lo = ext[e][0], hi = ext[e][1];
				bool lh = lp && policy_is_hot(lp, lo, hi, now);
				bool fh = fp && policy_is_hot(fp, lo, hi, now);
				bool want;

				if (kinds[k] == CONF_MOD_NONE)
					want = lp ? lh : true;
				else if (kinds[k] == CONF_MOD_REPLACE)
					want = fp ? fh : true;
				else
					want = (!lp && !fp) || lh || fh;
				if (policy_is_hot(p, lo, hi, now) != want)
					fail_msg("have %u kind %zu extent %zu: want %d", have, k, e,
					         want);
			}
			policy_free(p);
		}
		policy_free(lp);
		policy_free(fp);
	}
}

static void union_windows_sorted(void **state)
{
	struct policy *p;

	matrix_init();
	/* The follower's window sorts after the leader's: W2 is later than W1. */
	p = eff(&FDB, NULL, &LDB, NULL, CONF_MOD_UNION); /* leader has W2, follower W1 */
	assert_int_equal(p->nwindows, 2);
	assert_true(p->windows[0].min == W1MIN);
	assert_int_equal(p->windows[0].from, POLICY_SRC_FOLLOWER_DB);
	assert_true(p->windows[1].min == W2MIN);
	assert_int_equal(p->windows[1].from, POLICY_SRC_LEADER_DB);
	/* Equal spans: the leader is named. */
	policy_free(p);
	p = eff(&LDB, NULL, &LDB, NULL, CONF_MOD_UNION);
	assert_int_equal(p->span_from, POLICY_SRC_LEADER_DB);
	policy_free(p);
}

static void min_greater_than_max(void **state)
{
	struct proto_caching c = {.hot_span = 7 * DAY};
	struct policy *p = one(&c);
	int64_t now = now0();

	/* Validated extents never have min > max; the ends are swapped. */
	assert_true(policy_is_hot(p, now, now - 30 * DAY, now));
	assert_false(policy_is_hot(p, now - 8 * DAY, now - 30 * DAY, now));
	assert_true(policy_next_change(p, now, now - 30 * DAY, now) == now + 7 * DAY + 1);
	policy_free(p);
}

static void extremes(void **state)
{
	struct proto_caching huge = {.hot_span = INT64_MAX};
	struct proto_caching day = {.hot_span = DAY};
	struct policy *p = one(&huge);
	int64_t cutoff = 0;

	/* now - span saturates; max_created + span + 1 would overflow: never. */
	assert_true(policy_span_cutoff(p, -DAY, &cutoff));
	assert_true(cutoff == INT64_MIN);
	assert_true(policy_is_hot(p, INT64_MIN, INT64_MIN, -DAY));
	assert_true(policy_next_change(p, 0, 0, -DAY) == POLICY_NEVER);
	policy_free(p);
	p = one(&day);
	assert_true(policy_next_change(p, INT64_MAX - DAY, INT64_MAX - DAY, INT64_MAX - DAY) ==
	            POLICY_NEVER);
	assert_true(policy_next_change(p, 0, INT64_MAX - DAY - 1, INT64_MAX - DAY) == INT64_MAX);
	policy_free(p);
	p = eff(NULL, NULL, NULL, NULL, CONF_MOD_UNION);
	assert_true(policy_span_cutoff(p, 0, &cutoff));
	assert_true(cutoff == INT64_MIN);
	policy_free(p);
}

static void validation(void **state)
{
	struct proto_window bad[] = {{10, 9}};
	struct proto_window many[PROTO_MAX_WINDOWS + 1];
	struct proto_caching neg = {.hot_span = -1};
	struct proto_caching inv = {.hot_span = 0, .windows = bad, .nwindows = 1};
	struct proto_caching big = {
	    .hot_span = 0, .windows = many, .nwindows = PROTO_MAX_WINDOWS + 1};
	struct proto_caching ok = {.hot_span = DAY};
	struct policy *p = NULL;

	for (size_t i = 0; i < PROTO_MAX_WINDOWS + 1; i++)
		many[i] = (struct proto_window){0, 1};
	assert_int_equal(policy_effective(&neg, NULL, NULL, NULL, CONF_MOD_NONE, &p), -EINVAL);
	/* Invalid inputs are refused even on the side the kind ignores. */
	assert_int_equal(policy_effective(NULL, NULL, NULL, &inv, CONF_MOD_NONE, &p), -EINVAL);
	assert_int_equal(policy_effective(NULL, &big, NULL, NULL, CONF_MOD_UNION, &p), -E2BIG);
	assert_int_equal(policy_effective(&ok, NULL, NULL, NULL, (enum conf_modkind)7, &p),
	                 -EINVAL);
	assert_null(p);
	big.nwindows = PROTO_MAX_WINDOWS;
	assert_int_equal(policy_effective(&big, NULL, &big, NULL, CONF_MOD_UNION, &p), 0);
	assert_int_equal(p->nwindows, 2 * PROTO_MAX_WINDOWS);
	policy_free(p);
	policy_free(NULL);
}

static void conf_overrides(void **state)
{
	struct conf_window cw[] = {{100, 200}, {300, 400}};
	struct conf_table_hot th[] = {{"Events", DAY}, {"Logs", 0}};
	struct conf_attach a = {.hot_cache = CONF_UNSET};
	struct proto_caching c = {.hot_span = 99};
	bool has = true;

	assert_int_equal(policy_override_db(&a, &c, &has), 0);
	assert_false(has);
	assert_true(c.hot_span == 0 && c.windows == NULL && c.nwindows == 0);

	a.hot_windows = (struct conf_windows){cw, 2};
	assert_int_equal(policy_override_db(&a, &c, &has), 0);
	assert_true(has);
	assert_true(c.hot_span == 0);
	assert_int_equal(c.nwindows, 2);
	assert_true(c.windows[1].min == 300 && c.windows[1].max == 400);
	proto_caching_clear(&c);

	a.hot_cache = 7 * DAY;
	a.hot_windows.n = 0;
	assert_int_equal(policy_override_db(&a, &c, &has), 0);
	assert_true(has);
	assert_true(c.hot_span == 7 * DAY);
	assert_int_equal(c.nwindows, 0);
	proto_caching_clear(&c);

	a.table_hot_cache = (struct conf_table_hots){th, 2};
	assert_true(policy_override_table(&a, "Logs", &c));
	assert_true(c.hot_span == 0 && c.nwindows == 0);
	assert_true(policy_override_table(&a, "Events", &c));
	assert_true(c.hot_span == DAY);
	assert_false(policy_override_table(&a, "events", &c)); /* names are case-sensitive */
}

static void explain_texts(void **state)
{
	int64_t now = now0(), w_lo, w_hi;
	char buf[512], tiny[8];
	struct policy *p;

	matrix_init();
	w_lo = W2MIN - DAY;
	w_hi = W2MIN;
	p = eff(&LDB, &LT, &FDB, NULL, CONF_MOD_UNION);
	policy_explain(p, now - DAY, now - DAY / 2, now, buf, sizeof(buf));
	assert_string_equal(buf, "hot: max_created 2026-01-09T12:00:00.0000000Z is within the hot "
	                         "span 7.00:00:00 (since 2026-01-03T00:00:00.0000000Z) of the "
	                         "follower's database override (caching_policies_modification_kind "
	                         "union)");
	policy_explain(p, w_lo, w_hi, now, buf, sizeof(buf));
	assert_string_equal(buf, "hot: created 2021-12-31T00:00:00.0000000Z .. "
	                         "2022-01-01T00:00:00.0000000Z overlaps the hot window "
	                         "2022-01-01T00:00:00.0000000Z .. 2022-02-01T00:00:00.0000000Z of "
	                         "the follower's database override (caching_policies_modification_"
	                         "kind union)");
	policy_explain(p, now - 30 * DAY, now - 8 * DAY, now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "cold: max_created 2026-01-02T00:00:00.0000000Z is older than "
	                            "the hot span 7.00:00:00"));
	assert_non_null(strstr(buf, "and no hot window overlaps"));
	policy_free(p);

	p = eff(&LDB, NULL, NULL, NULL, CONF_MOD_REPLACE);
	policy_explain(p, now, now, now, buf, sizeof(buf));
	assert_non_null(strstr(buf, "the follower sets no override"));
	/* Truncated, always terminated; len 0 writes nothing. */
	assert_ptr_equal(policy_explain(p, now, now, now, tiny, sizeof(tiny)), tiny);
	assert_string_equal(tiny, "hot: no");
	tiny[0] = 'x';
	policy_explain(p, now, now, now, tiny, 0);
	assert_int_equal(tiny[0], 'x');
	policy_free(p);
	assert_string_equal(policy_source_name(POLICY_SRC_FOLLOWER_TABLE),
	                    "the follower's table override");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(no_policy_everything_hot),
	    cmocka_unit_test(span_boundaries),
	    cmocka_unit_test(span_zero_nothing_hot),
	    cmocka_unit_test(windows_boundaries),
	    cmocka_unit_test(empty_windows_span_only),
	    cmocka_unit_test(span_and_window),
	    cmocka_unit_test(kinds_matrix),
	    cmocka_unit_test(kinds_hotness_by_side),
	    cmocka_unit_test(union_windows_sorted),
	    cmocka_unit_test(min_greater_than_max),
	    cmocka_unit_test(extremes),
	    cmocka_unit_test(validation),
	    cmocka_unit_test(conf_overrides),
	    cmocka_unit_test(explain_texts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

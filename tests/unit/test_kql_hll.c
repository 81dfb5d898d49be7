/*
 * Unit tests of kql_hll (dcount's HyperLogLog state): exact below the
 * threshold, the error past it within 3 sigma of the documented standard
 * error for each accuracy (Kusto's: 99.7% of estimates), merges equal to
 * the whole however the values are split, the text's round trip and its
 * malformed forms, hashes that keep types apart.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_hll.h"

static const double sigma[] = {0.016, 0.008, 0.004, 0.0028, 0.002};

static void add_range(struct kql_hll *h, int64_t from, int64_t to)
{
	for (int64_t v = from; v < to; v++)
		assert_true(kql_hll_add(h, kql_hll_hash_int(v)) >= 0);
}

static void test_exact_below_threshold(void **state)
{
	static const int64_t limit[] = {512, 2048, 8192, 16384, 32768};

	for (int acc = 0; acc <= KQL_HLL_MAX; acc++) {
		struct kql_hll h;
		assert_int_equal(kql_hll_init(&h, acc), 0);
		assert_int_equal(kql_hll_count(&h), 0);
		add_range(&h, 0, limit[acc]);
		add_range(&h, 0, limit[acc]); /* repeats */
		assert_int_equal(kql_hll_count(&h), limit[acc]);
		assert_null(h.reg);
		add_range(&h, limit[acc], limit[acc] + 1);
		assert_non_null(h.reg);
		kql_hll_free(&h);
	}
	assert_int_equal(kql_hll_init(&(struct kql_hll){0}, 5), -EINVAL);
	assert_int_equal(kql_hll_init(&(struct kql_hll){0}, -1), -EINVAL);
}

static void test_error_bound(void **state)
{
	static const int64_t sizes[] = {100000, 300000, 1000000};

	for (int acc = 0; acc <= KQL_HLL_MAX; acc++)
		for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
			struct kql_hll h;
			double err;
			(void)kql_hll_init(&h, acc);
			add_range(&h, (int64_t)i << 40, ((int64_t)i << 40) + sizes[i]);
			err = fabs((double)kql_hll_count(&h) / (double)sizes[i] - 1);
			if (err > 3 * sigma[acc])
				fail_msg("accuracy %d, %lld values: error %.4f", acc,
				         (long long)sizes[i], err);
			kql_hll_free(&h);
		}
}

/* The states of parts, merged, are the whole's: the same text. */
static void test_merge_is_exact(void **state)
{
	static const int64_t sizes[] = {300, 1000, 200000};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		struct kql_hll whole, part, merged = {0};
		char *a, *b, *t;
		int64_t n = sizes[i];

		(void)kql_hll_init(&whole, 0);
		add_range(&whole, 0, n);
		for (int k = 0; k < 3; k++) { /* overlapping thirds */
			(void)kql_hll_init(&part, 0);
			add_range(&part, k * n / 3,
			          (k + 1) * n / 3 + 10 < n ? (k + 1) * n / 3 + 10 : n);
			assert_non_null(t = kql_hll_text(&part));
			assert_true(kql_hll_merge_text(&merged, t, strlen(t)) >= 0);
			free(t);
			kql_hll_free(&part);
		}
		assert_int_equal(kql_hll_count(&merged), kql_hll_count(&whole));
		assert_non_null(a = kql_hll_text(&whole));
		assert_non_null(b = kql_hll_text(&merged));
		assert_string_equal(a, b);
		free(a);
		free(b);
		kql_hll_free(&whole);
		kql_hll_free(&merged);
	}
}

static void test_bad_text(void **state)
{
	static const char *const bad[] = {"", "h", "h1", "x1E", "h9E", "h1X", "h1E0", "h0R00"};
	struct kql_hll h, other;
	char *t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		(void)kql_hll_init(&h, 0);
		assert_int_equal(kql_hll_merge_text(&h, bad[i], strlen(bad[i])), -EINVAL);
		kql_hll_free(&h);
	}
	/* another accuracy than the state's values */
	(void)kql_hll_init(&h, 1);
	(void)kql_hll_init(&other, 2);
	add_range(&h, 0, 10);
	add_range(&other, 0, 10);
	assert_non_null(t = kql_hll_text(&other));
	assert_int_equal(kql_hll_merge_text(&h, t, strlen(t)), -EINVAL);
	free(t);
	kql_hll_free(&h);
	kql_hll_free(&other);
}

static void test_hashes(void **state)
{
	assert_true(kql_hll_hash_int(1) != kql_hll_hash_text("1", 1));
	assert_true(kql_hll_hash_int(1) == kql_hll_hash_real(1.0));
	assert_true(kql_hll_hash_real(1.5) != kql_hll_hash_int(1));
	assert_true(kql_hll_hash_text("ab", 2) != kql_hll_hash_blob("ab", 2));
	assert_true(kql_hll_hash_text("", 0) != kql_hll_hash_text("\0", 1));
	assert_true(kql_hll_hash_text("abcdefgh1", 9) != kql_hll_hash_text("abcdefgh2", 9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exact_below_threshold),
	    cmocka_unit_test(test_error_bound),
	    cmocka_unit_test(test_merge_is_exact),
	    cmocka_unit_test(test_bad_text),
	    cmocka_unit_test(test_hashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

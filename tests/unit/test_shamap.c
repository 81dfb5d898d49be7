/* Tests for lib/shamap: add, get, delete, duplicates, growth. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/shamap.h"

#define N 5000

struct item {
	struct shamap_node node;
	char key[65];
	int id;
};

static struct item *items(void)
{
	struct item *v = calloc(N, sizeof(*v));

	assert_non_null(v);
	for (int i = 0; i < N; i++) {
		/* keys sharing long prefixes and keys differing late */
		(void)snprintf(v[i].key, sizeof(v[i].key), "%016x%048d", (unsigned)(i % 7), i);
		v[i].node.key = v[i].key;
		v[i].id = i;
	}
	return v;
}

static void test_add_get_del(void **state)
{
	struct shamap *m;
	struct item *v = items();

	(void)state;
	assert_int_equal(shamap_new(&m), 0);
	assert_null(shamap_get(m, v[0].key));
	for (int i = 0; i < N; i++)
		assert_int_equal(shamap_add(m, &v[i].node), 0);
	assert_int_equal(shamap_count(m), N);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(shamap_get(m, v[i].key), &v[i].node);
	/* remove the even ones: the odd ones stay found, the even ones gone */
	for (int i = 0; i < N; i += 2)
		shamap_del(m, &v[i].node);
	assert_int_equal(shamap_count(m), N / 2);
	for (int i = 0; i < N; i++)
		if (i % 2 == 0)
			assert_null(shamap_get(m, v[i].key));
		else
			assert_ptr_equal(shamap_get(m, v[i].key), &v[i].node);
	/* and back again */
	for (int i = 0; i < N; i += 2)
		assert_int_equal(shamap_add(m, &v[i].node), 0);
	for (int i = 0; i < N; i++)
		assert_ptr_equal(shamap_get(m, v[i].key), &v[i].node);
	shamap_free(m);
	free(v);
}

static void test_duplicate(void **state)
{
	struct shamap *m;
	struct item a = {.key = "ab"}, b = {.key = "ab"}, c = {.key = "abc"};

	(void)state;
	a.node.key = a.key;
	b.node.key = b.key;
	c.node.key = c.key;
	assert_int_equal(shamap_new(&m), 0);
	assert_int_equal(shamap_add(m, &a.node), 0);
	assert_int_equal(shamap_add(m, &b.node), -EEXIST);
	assert_int_equal(shamap_add(m, &c.node), 0);
	assert_ptr_equal(shamap_get(m, "ab"), &a.node);
	assert_ptr_equal(shamap_get(m, "abc"), &c.node);
	assert_null(shamap_get(m, "a"));
	shamap_del(m, &a.node);
	assert_int_equal(shamap_add(m, &b.node), 0);
	assert_ptr_equal(shamap_get(m, "ab"), &b.node);
	assert_int_equal(shamap_count(m), 2);
	shamap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_get_del),
	    cmocka_unit_test(test_duplicate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

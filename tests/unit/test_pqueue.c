/* Tests for lib/pqueue: order by priority, FIFO among equals, raise. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "util/pqueue.h"

#define N 2000

struct item {
	struct pqueue_item q;
	int id;
};

/* Pops everything: priorities never rise, and equal ones come out in the
 * order they went in (ids rise, as the tests push them). */
static int drain_checked(struct pqueue *q)
{
	struct pqueue_item *it;
	int count = 0, last_pri = 0, last_id = -1;

	while ((it = pqueue_pop(q)) != NULL) {
		struct item *x = (struct item *)it;

		if (count > 0) {
			assert_true(it->priority <= last_pri);
			if (it->priority == last_pri)
				assert_true(x->id > last_id);
		}
		last_pri = it->priority;
		last_id = x->id;
		count++;
	}
	return count;
}

static void test_order(void **state)
{
	struct pqueue q = {0};
	struct item *v = calloc(N, sizeof(*v));

	(void)state;
	assert_non_null(v);
	assert_null(pqueue_top(&q));
	assert_null(pqueue_pop(&q));
	srand(7);
	for (int i = 0; i < N; i++) {
		v[i].id = i;
		v[i].q.priority = rand() % 50;
		v[i].q.seq = (uint64_t)i;
		assert_int_equal(pqueue_push(&q, &v[i].q), 0);
	}
	assert_int_equal(q.n, N);
	assert_int_equal(drain_checked(&q), N);
	pqueue_clear(&q);
	free(v);
}

static void test_raise(void **state)
{
	struct pqueue q = {0};
	struct item v[10];

	(void)state;
	for (int i = 0; i < 10; i++) {
		v[i] = (struct item){.id = i, .q.priority = i, .q.seq = (uint64_t)i};
		assert_int_equal(pqueue_push(&q, &v[i].q), 0);
	}
	assert_ptr_equal(pqueue_top(&q), &v[9].q);
	pqueue_raise(&q, &v[2].q, 100);
	assert_ptr_equal(pqueue_pop(&q), &v[2].q);
	/* a lower priority is not a raise */
	pqueue_raise(&q, &v[8].q, 1);
	assert_ptr_equal(pqueue_pop(&q), &v[9].q);
	assert_ptr_equal(pqueue_pop(&q), &v[8].q);
	/* raised to an equal priority: the order they were pushed in decides */
	pqueue_raise(&q, &v[0].q, 7);
	assert_ptr_equal(pqueue_pop(&q), &v[0].q);
	assert_ptr_equal(pqueue_pop(&q), &v[7].q);
	assert_int_equal(drain_checked(&q), 5); /* 1, 3, 4, 5, 6 */
	pqueue_clear(&q);
}

static void test_remove(void **state)
{
	struct pqueue q = {0};
	struct item *v = calloc(N, sizeof(*v));

	(void)state;
	assert_non_null(v);
	srand(11);
	for (int i = 0; i < N; i++) {
		v[i] = (struct item){.id = i, .q.priority = rand() % 20, .q.seq = (uint64_t)i};
		assert_int_equal(pqueue_push(&q, &v[i].q), 0);
	}
	/* out of the middle, the last place and the top */
	for (int i = 0; i < N; i += 3)
		pqueue_remove(&q, &v[i].q);
	pqueue_remove(&q, q.v[q.n - 1]);
	pqueue_remove(&q, pqueue_top(&q));
	assert_int_equal(drain_checked(&q), N - (N + 2) / 3 - 2);
	/* the order of the tops of two queues */
	v[0] = (struct item){.q.priority = 1, .q.seq = 5};
	v[1] = (struct item){.q.priority = 1, .q.seq = 6};
	v[2] = (struct item){.q.priority = 2, .q.seq = 9};
	assert_true(pqueue_before(&v[0].q, &v[1].q));
	assert_false(pqueue_before(&v[1].q, &v[0].q));
	assert_true(pqueue_before(&v[2].q, &v[0].q));
	pqueue_clear(&q);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_raise),
	    cmocka_unit_test(test_remove),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

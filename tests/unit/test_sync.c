/*
 * test_sync — the pure decisions of lib/sync: sync_plan (log, checkpoint,
 * replay, rewind, detach) checked exhaustively over small versions against
 * the protocol's rules and by simulating a follower until it converges, and
 * the backoff and jitter delays.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sync/sync.h"
#include "sync/sync_int.h"

#define U1 "11111111-1111-4111-8111-111111111111"
#define U2 "22222222-2222-4222-8222-222222222222"
#define MAXV 6

static struct proto_head_db head(const char *uuid, uint64_t v, uint64_t cp, uint64_t ls)
{
	struct proto_head_db h = {
	    .version = v, .checkpoint = cp, .log_start = ls, .committed = (int64_t)v * 1000};

	(void)snprintf(h.uuid, sizeof(h.uuid), "%s", uuid);
	return h;
}

/* ---- named cases ---- */

static void test_first_attach(void **state)
{
	struct sync_have have = {.uuid = ""};
	struct proto_head_db h = head(U1, 5, 0, 1);
	struct sync_plan p;

	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_LOG);
	assert_int_equal(p.why, SYNC_WHY_FIRST);
	assert_int_equal(p.from, 1);
	assert_int_equal(p.to, 5);
	h = head(U1, 5, 3, 2);
	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_CHECKPOINT);
	assert_int_equal(p.checkpoint, 3);
	assert_false(p.warn);
}

static void test_behind_and_vacuumed(void **state)
{
	struct sync_have have = {
	    .stored = true, .uuid = U1, .applied = 4, .applied_committed = 4000};
	struct proto_head_db h = head(U1, 9, 8, 5);
	struct sync_plan p;

	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_LOG);
	assert_int_equal(p.from, 5);
	assert_int_equal(p.to, 9);
	h = head(U1, 9, 8, 6); /* applied + 1 < log_start */
	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_CHECKPOINT);
	assert_int_equal(p.why, SYNC_WHY_VACUUMED);
	assert_int_equal(p.checkpoint, 8);
	assert_false(p.warn);
}

static void test_rewinds(void **state)
{
	struct sync_have have = {
	    .stored = true, .uuid = U1, .applied = 7, .applied_committed = 7000};
	struct proto_head_db h = head(U1, 5, 4, 1);
	struct sync_plan p;

	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_CHECKPOINT);
	assert_int_equal(p.why, SYNC_WHY_REWIND);
	assert_true(p.warn);
	h = head(U1, 5, 0, 1); /* no checkpoint: replay the log */
	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_REPLAY);
	assert_int_equal(p.from, 1);
	assert_int_equal(p.to, 5);
	h = head(U2, 9, 0, 1); /* recreated */
	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_REPLAY);
	assert_int_equal(p.why, SYNC_WHY_UUID);
	assert_true(p.warn);
	h = head(U1, 7, 0, 1); /* same version, another commit time: another history */
	h.committed = 1234;
	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.why, SYNC_WHY_REWIND);
	assert_true(p.warn);
}

static void test_detach(void **state)
{
	struct sync_have have = {.stored = true, .uuid = U1, .applied = 3};
	struct proto_head_db h = head(U1, 3, 0, 1);
	struct sync_plan p;

	sync_plan(&have, NULL, false, &p);
	assert_int_equal(p.step, SYNC_STEP_DETACH);
	assert_int_equal(p.why, SYNC_WHY_DROPPED);
	sync_plan(&have, &h, true, &p);
	assert_int_equal(p.step, SYNC_STEP_DETACH);
	assert_int_equal(p.why, SYNC_WHY_DETACHED);
	have.stored = false;
	sync_plan(&have, &h, true, &p);
	assert_int_equal(p.step, SYNC_STEP_WAIT);
	sync_plan(&have, NULL, false, &p);
	assert_int_equal(p.step, SYNC_STEP_WAIT);
}

static void test_resync(void **state)
{
	struct sync_have have = {.stored = true, .uuid = U1, .applied = 3, .resync = true};
	struct proto_head_db h = head(U1, 3, 2, 1);
	struct sync_plan p;

	sync_plan(&have, &h, false, &p);
	assert_int_equal(p.step, SYNC_STEP_CHECKPOINT);
	assert_int_equal(p.why, SYNC_WHY_RESYNC);
	assert_false(p.warn);
}

/* ---- exhaustive: every small state against the rules ---- */

static void expect_reload(const struct proto_head_db *h, enum sync_why why, bool warn,
                          const struct sync_plan *p)
{
	assert_int_equal(p->why, why);
	assert_int_equal(p->warn, warn);
	if (h->checkpoint > 0) {
		assert_int_equal(p->step, SYNC_STEP_CHECKPOINT);
		assert_int_equal(p->checkpoint, h->checkpoint);
	} else {
		assert_int_equal(p->step, SYNC_STEP_REPLAY);
		assert_int_equal(p->from, 1);
		assert_int_equal(p->to, h->version);
	}
}

static void expect_log(uint64_t from, const struct proto_head_db *h, const struct sync_plan *p)
{
	assert_int_equal(p->step, SYNC_STEP_LOG);
	assert_int_equal(p->from, from);
	assert_int_equal(p->to, h->version);
	assert_true(p->from >= h->log_start); /* every log object it needs is published */
	assert_false(p->warn);
}

/* The rules of docs/PROTOCOL.md, "Head", written out case by case. */
static void check_one(const struct sync_have *have, const struct proto_head_db *h, bool detached)
{
	struct sync_plan p;
	bool applied = have->stored && have->uuid[0] != '\0';

	sync_plan(have, h, detached, &p);
	if (h == NULL || detached) {
		assert_int_equal(p.step, have->stored ? SYNC_STEP_DETACH : SYNC_STEP_WAIT);
	} else if (!applied) {
		if (h->checkpoint > 0) {
			assert_int_equal(p.step, SYNC_STEP_CHECKPOINT);
			assert_int_equal(p.checkpoint, h->checkpoint);
		} else {
			expect_log(1, h, &p);
		}
		assert_int_equal(p.why, SYNC_WHY_FIRST);
	} else if (strcmp(have->uuid, h->uuid) != 0) {
		expect_reload(h, SYNC_WHY_UUID, true, &p);
	} else if (h->version < have->applied ||
	           (h->version == have->applied && have->applied_committed != h->committed &&
	            have->applied_committed != 0)) {
		expect_reload(h, SYNC_WHY_REWIND, true, &p);
	} else if (have->resync) {
		expect_reload(h, SYNC_WHY_RESYNC, false, &p);
	} else if (h->version == have->applied) {
		assert_int_equal(p.step, SYNC_STEP_NONE);
	} else if (have->applied + 1 >= h->log_start) {
		expect_log(have->applied + 1, h, &p);
	} else {
		expect_reload(h, SYNC_WHY_VACUUMED, false, &p);
	}
}

/* Every valid head of up to MAXV versions: log_start in 1..checkpoint+1. */
static void for_each_head(const char *uuid, void (*fn)(const struct proto_head_db *h, void *arg),
                          void *arg)
{
	for (uint64_t v = 1; v <= MAXV; v++)
		for (uint64_t cp = 0; cp <= v; cp++)
			for (uint64_t ls = 1; ls <= cp + 1; ls++) {
				struct proto_head_db h = head(uuid, v, cp, ls);

				fn(&h, arg);
			}
}

static void check_haves(const struct proto_head_db *h, void *arg)
{
	static const char *const uuids[] = {"", U1, U2};
	unsigned *n = arg;

	for (int stored = 0; stored < 2; stored++)
		for (size_t u = 0; u < 3; u++)
			for (uint64_t a = 0; a <= MAXV + 1; a++)
				for (int c = 0; c < 3; c++)
					for (int rs = 0; rs < 2; rs++)
						for (int det = 0; det < 2; det++) {
							struct sync_have have = {
							    .stored = stored,
							    .uuid = uuids[u],
							    .applied = a,
							    .applied_committed =
							        c == 0   ? 0
							        : c == 1 ? (int64_t)a * 1000
							                 : 1,
							    .resync = rs,
							};

							check_one(&have, h, det);
							check_one(&have, NULL, det);
							(*n)++;
						}
}

static void test_exhaustive_rules(void **state)
{
	unsigned n = 0;

	for_each_head(U1, check_haves, &n);
	assert_true(n > 10000);
}

/* ---- simulation: following any head converges without mixing histories ---- */

struct follower {
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t applied;
	int64_t committed;
	bool stored, resync;
};

/* Applies plan p as a follower would: a log step applies commits of the
 * head's uuid only when that uuid is the one held. */
static void simulate(struct follower *f, const struct proto_head_db *h, const struct sync_plan *p)
{
	switch (p->step) {
	case SYNC_STEP_LOG:
		assert_true(f->uuid[0] == '\0' || strcmp(f->uuid, h->uuid) == 0);
		assert_int_equal(p->from, f->applied + 1);
		(void)snprintf(f->uuid, sizeof(f->uuid), "%s", h->uuid);
		f->applied = p->to;
		break;
	case SYNC_STEP_CHECKPOINT:
		(void)snprintf(f->uuid, sizeof(f->uuid), "%s", h->uuid);
		f->applied = p->checkpoint;
		break;
	case SYNC_STEP_REPLAY:
		(void)snprintf(f->uuid, sizeof(f->uuid), "%s", h->uuid);
		f->applied = p->to;
		break;
	default:
		fail_msg("unexpected step %s", sync_step_name(p->step));
	}
	f->committed = (int64_t)f->applied * 1000;
	f->stored = true;
	f->resync = false;
}

static void converge(const struct proto_head_db *h, void *arg)
{
	static const char *const uuids[] = {"", U1, U2};

	for (size_t u = 0; u < 3; u++)
		for (uint64_t a = 0; a <= MAXV + 1; a++)
			for (int rs = 0; rs < 2; rs++) {
				struct follower f = {
				    .applied = u == 0 ? 0 : a, .stored = u != 0, .resync = rs};
				struct sync_plan p;
				int steps;

				(void)snprintf(f.uuid, sizeof(f.uuid), "%s", uuids[u]);
				f.committed = (int64_t)f.applied * 1000;
				for (steps = 0; steps < 4; steps++) {
					struct sync_have have = {f.stored, f.uuid, f.applied,
					                         f.committed, f.resync};

					sync_plan(&have, h, false, &p);
					if (p.step == SYNC_STEP_NONE)
						break;
					simulate(&f, h, &p);
				}
				assert_int_equal(p.step, SYNC_STEP_NONE);
				assert_true(steps <= 2); /* a checkpoint, then the log after it */
				assert_string_equal(f.uuid, h->uuid);
				assert_int_equal(f.applied, h->version);
			}
}

static void test_simulated_convergence(void **state)
{
	for_each_head(U1, converge, NULL);
	for_each_head(U2, converge, NULL);
}

/* ---- delays ---- */

static void test_backoff(void **state)
{
	static const uint64_t rnds[] = {0, 1, UINT64_C(1) << 63, UINT64_MAX, 0x123456789abcdefULL};

	for (size_t k = 0; k < sizeof(rnds) / sizeof(rnds[0]); k++) {
		int64_t prev = 0;

		for (unsigned a = 1; a < 200; a++) {
			int64_t d = sync_backoff(a, 100, 30000, rnds[k]);
			int64_t base = 100;

			for (unsigned i = 1; i < a && base < 30000; i++)
				base = base * 2 > 30000 ? 30000 : base * 2;
			assert_true(d >= base / 2);
			assert_true(d <= base);
			assert_true(d >= prev / 2); /* never collapses */
			prev = d;
		}
		assert_true(sync_backoff(1000000, 100, 30000, rnds[k]) <= 30000);
		assert_true(sync_backoff(1, 0, 0, rnds[k]) >= 1);
		assert_true(sync_backoff(5, 1, INT64_MAX, rnds[k]) >= 8);
		assert_true(sync_backoff(70, 1, INT64_MAX, rnds[k]) > 0); /* no overflow */
	}
	/* the jitter spreads: different draws give different delays */
	assert_true(sync_backoff(3, 1000, 60000, 0) != sync_backoff(3, 1000, 60000, UINT64_MAX));
}

static void test_jitter(void **state)
{
	int64_t lo = INT64_MAX, hi = 0;

	for (uint64_t r = 0; r < 1000; r++) {
		int64_t d = sync_jitter(1000, r * UINT64_C(0x9e3779b97f4a7c15));

		assert_true(d >= 900 && d < 1100);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	assert_true(hi - lo > 150); /* it does spread */
	assert_int_equal(sync_jitter(0, 5), 1);
	assert_int_equal(sync_jitter(1, UINT64_MAX), 1);
}

static void test_names(void **state)
{
	assert_string_equal(sync_step_name(SYNC_STEP_CHECKPOINT), "checkpoint");
	assert_string_equal(sync_why_name(SYNC_WHY_VACUUMED), "vacuumed");
	assert_string_equal(sync_step_name((enum sync_step)99), "?");
}

/* ---- worker lanes ---- */

struct ltask {
	struct sync_task t;
	int id;
	int *order; /* done order */
	int *ndone;
	bool cancelled_seen;
	bool *ran;
};

static void lt_run(struct sync_task *t, void *ctx)
{
	struct ltask *x = (struct ltask *)t;

	if (!t->cancelled) {
		usleep(x->id == 0 ? 20000 : 100); /* the first one is slow */
		x->ran[x->id] = true;
	}
}

static void lt_done(struct sync_task *t)
{
	struct ltask *x = (struct ltask *)t;

	x->cancelled_seen = t->cancelled;
	x->order[(*x->ndone)++] = x->id;
}

static void lane_idle_cb(void *arg)
{
	struct event_base *base = arg;

	(void)event_base_loopexit(base, NULL);
}

static void test_lane_order(void **state)
{
	struct event_base *base = event_base_new();
	struct sync_lane *l = NULL;
	struct ltask t[20];
	int order[20], ndone = 0;
	bool ran[20] = {false};

	assert_int_equal(sync_lane_new(base, 1, NULL, &l), 0);
	for (int i = 0; i < 20; i++) {
		t[i] = (struct ltask){.t = {.run = lt_run, .done = lt_done},
		                      .id = i,
		                      .order = order,
		                      .ndone = &ndone,
		                      .ran = ran};
		sync_lane_submit(l, &t[i].t);
	}
	sync_lane_when_idle(l, lane_idle_cb, base);
	assert_int_equal(event_base_dispatch(base), 0);
	assert_int_equal(ndone, 20); /* idle means every result was handed back */
	for (int i = 0; i < 20; i++) {
		assert_int_equal(order[i], i); /* one thread: strictly in order */
		assert_true(ran[i]);
		assert_false(t[i].cancelled_seen);
	}
	sync_lane_free(l);
	event_base_free(base);
}

static void test_lane_free_cancels(void **state)
{
	struct event_base *base = event_base_new();
	struct sync_lane *l = NULL;
	struct ltask t[10];
	int order[10], ndone = 0;
	bool ran[10] = {false};

	assert_int_equal(sync_lane_new(base, 2, NULL, &l), 0);
	for (int i = 0; i < 10; i++) {
		t[i] = (struct ltask){.t = {.run = lt_run, .done = lt_done},
		                      .id = i,
		                      .order = order,
		                      .ndone = &ndone,
		                      .ran = ran};
		sync_lane_submit(l, &t[i].t);
	}
	sync_lane_free(l); /* no loop turn: every task is handed back here */
	assert_int_equal(ndone, 10);
	for (int i = 0; i < 10; i++)
		assert_true(t[i].cancelled_seen);
	event_base_free(base);
	assert_int_equal(sync_lane_new(NULL, 0, NULL, &l), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_attach),
	    cmocka_unit_test(test_behind_and_vacuumed),
	    cmocka_unit_test(test_rewinds),
	    cmocka_unit_test(test_detach),
	    cmocka_unit_test(test_resync),
	    cmocka_unit_test(test_exhaustive_rules),
	    cmocka_unit_test(test_simulated_convergence),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_jitter),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_lane_order),
	    cmocka_unit_test(test_lane_free_cancels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * sync_plan — the pure decisions of sync (see sync.h): what a database must
 * do given what the follower has and what the leader's head says, and how
 * long to wait before retrying or polling again.  No I/O, no state: tested
 * exhaustively by tests/unit/test_sync.c.
 */
#include "sync/sync.h"

#include <string.h>

/* A resync: the newest checkpoint when there is one, else the whole log
 * rebuilt and swapped in at once (it starts at 1 when nothing is
 * checkpointed). */
static void plan_reload(const struct proto_head_db *h, enum sync_why why, bool warn,
                        struct sync_plan *p)
{
	p->why = why;
	p->warn = warn;
	if (h->checkpoint > 0) {
		p->step = SYNC_STEP_CHECKPOINT;
		p->checkpoint = h->checkpoint;
	} else {
		p->step = SYNC_STEP_REPLAY;
		p->from = 1;
		p->to = h->version;
	}
}

/* Nothing applied yet: the checkpoint when there is one (one load instead of
 * many commits), else the log from 1. */
static void plan_first(const struct proto_head_db *h, struct sync_plan *p)
{
	p->why = SYNC_WHY_FIRST;
	if (h->checkpoint > 0) {
		p->step = SYNC_STEP_CHECKPOINT;
		p->checkpoint = h->checkpoint;
	} else {
		p->step = SYNC_STEP_LOG;
		p->from = 1;
		p->to = h->version;
	}
}

/* Same uuid: rewind, up to date, log or (vacuumed) checkpoint. */
static void plan_same(const struct sync_have *have, const struct proto_head_db *h,
                      struct sync_plan *p)
{
	bool recommitted = h->version == have->applied && have->applied_committed != 0 &&
	                   h->committed != 0 && h->committed != have->applied_committed;

	if (h->version < have->applied || recommitted) {
		plan_reload(h, SYNC_WHY_REWIND, true, p);
	} else if (have->resync) {
		plan_reload(h, SYNC_WHY_RESYNC, false, p);
	} else if (h->version == have->applied) {
		p->step = SYNC_STEP_NONE;
	} else if (have->applied + 1 >= h->log_start) {
		p->step = SYNC_STEP_LOG;
		p->why = SYNC_WHY_BEHIND;
		p->from = have->applied + 1;
		p->to = h->version;
	} else {
		plan_reload(h, SYNC_WHY_VACUUMED, false, p);
	}
}

void sync_plan(const struct sync_have *have, const struct proto_head_db *head, bool detached,
               struct sync_plan *ret)
{
	struct sync_plan p = {.step = SYNC_STEP_NONE, .why = SYNC_WHY_NONE};
	bool applied = have->stored && have->uuid != NULL && have->uuid[0] != '\0';

	if (head == NULL || detached) {
		p.why = head == NULL ? SYNC_WHY_DROPPED : SYNC_WHY_DETACHED;
		p.step = have->stored ? SYNC_STEP_DETACH : SYNC_STEP_WAIT;
	} else if (!applied) {
		plan_first(head, &p);
	} else if (strcmp(have->uuid, head->uuid) != 0) {
		plan_reload(head, SYNC_WHY_UUID, true, &p);
	} else {
		plan_same(have, head, &p);
	}
	*ret = p;
}

int64_t sync_backoff(unsigned attempt, int64_t min_ms, int64_t max_ms, uint64_t rnd)
{
	int64_t d = min_ms < 1 ? 1 : min_ms;

	if (max_ms < d)
		max_ms = d;
	for (unsigned i = 1; i < attempt && d < max_ms; i++)
		d = d > max_ms / 2 ? max_ms : d * 2;
	/* jitter in [0.5, 1.0): retries of many followers spread out */
	d = d / 2 + (int64_t)((uint64_t)(d - d / 2) * (rnd >> 11) / (UINT64_C(1) << 53));
	return d < 1 ? 1 : d;
}

int64_t sync_jitter(int64_t interval_ms, uint64_t rnd)
{
	int64_t spread = interval_ms / 5; /* 0.9 .. 1.1 */
	int64_t d = interval_ms - spread / 2;

	if (spread > 0)
		d += (int64_t)((uint64_t)spread * (rnd >> 11) / (UINT64_C(1) << 53));
	return d < 1 ? 1 : d;
}

const char *sync_step_name(enum sync_step step)
{
	static const char *const names[] = {
	    [SYNC_STEP_NONE] = "none",
	    [SYNC_STEP_LOG] = "log",
	    [SYNC_STEP_CHECKPOINT] = "checkpoint",
	    [SYNC_STEP_REPLAY] = "replay",
	    [SYNC_STEP_DETACH] = "detach",
	    [SYNC_STEP_WAIT] = "wait",
	};

	return (size_t)step < sizeof(names) / sizeof(names[0]) ? names[step] : "?";
}

const char *sync_why_name(enum sync_why why)
{
	static const char *const names[] = {
	    [SYNC_WHY_NONE] = "none",         [SYNC_WHY_FIRST] = "first",
	    [SYNC_WHY_BEHIND] = "behind",     [SYNC_WHY_VACUUMED] = "vacuumed",
	    [SYNC_WHY_REWIND] = "rewind",     [SYNC_WHY_UUID] = "uuid",
	    [SYNC_WHY_RESYNC] = "resync",     [SYNC_WHY_DROPPED] = "dropped",
	    [SYNC_WHY_DETACHED] = "detached",
	};

	return (size_t)why < sizeof(names) / sizeof(names[0]) ? names[why] : "?";
}

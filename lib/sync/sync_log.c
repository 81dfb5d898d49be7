/*
 * sync_log — the log and replay steps of a followed database.
 *
 * Log: the log objects from..to are fetched a few ahead of the one being
 * applied (log_window), decoded and checked on the CPU lane (uuid, version,
 * database name), and applied strictly in version order on the store lane,
 * each commit in its own transaction.  The applied version moves one commit
 * at a time, so a failure anywhere keeps everything applied before it.
 *
 * Replay: a resync of a leader that has no checkpoint (a rewind or a changed
 * filter).  The whole log 1..to is fetched and decoded the same way, then the
 * store thread rebuilds the state in memory (lib/leader_state) and swaps it
 * in as one checkpoint: a reader sees the old history or the new one, never
 * a mix.
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_MAX_COMMITS 100000 /* beyond this a leader without checkpoints is refused */

struct log_step;

struct log_slot {
	struct log_step *st;
	uint64_t version;
	struct fetch_job *job;
	bool busy;                   /* fetching or decoding */
	struct proto_commit *commit; /* decoded, waiting to be applied */
};

struct log_step {
	struct sync_run base;
	struct sync_db *db;
	bool replay;
	uint64_t to, next_fetch, next_apply;
	unsigned w;
	struct log_slot *slots;
	struct proto_commit **commits; /* replay: collected in order */
	size_t ncommits;
};

static void log_free(struct sync_run *base)
{
	struct log_step *st = (struct log_step *)base;

	for (unsigned i = 0; i < st->w; i++) {
		fetch_cancel(st->slots[i].job);
		proto_commit_free(st->slots[i].commit);
	}
	for (size_t i = 0; i < st->ncommits; i++)
		proto_commit_free(st->commits[i]);
	free(st->commits);
	free(st->slots);
	free(st);
}

static struct log_step *step_of(struct sync_db *db, unsigned gen)
{
	if (db->doomed || gen != db->gen || db->step == NULL ||
	    (db->step->kind != SYNC_STEP_LOG && db->step->kind != SYNC_STEP_REPLAY))
		return NULL;
	return (struct log_step *)db->step;
}

static void log_pump(struct log_step *st);

/* ---- fetching and decoding ---- */

static void log_decoded(struct dtask *t)
{
	struct sync_db *db = t->db;
	struct log_step *st = step_of(db, t->gen);
	struct log_slot *slot;

	if (st == NULL) {
		sync_dtask_free(t);
		return;
	}
	slot = &st->slots[t->index % st->w];
	slot->busy = false;
	if (t->r < 0) {
		sync_dtask_fail(t);
		return;
	}
	slot->commit = t->commit;
	t->commit = NULL;
	sync_dtask_free(t);
	sync_db_progress(db);
	log_pump(st);
}

static void log_fetched(struct fetch_result *res, void *arg)
{
	struct log_slot *slot = arg;
	struct log_step *st = slot->st;
	struct sync_db *db = st->db;
	struct dtask *t;

	slot->job = NULL;
	if ((t = sync_dtask_fetched(db, DTK_COMMIT, res)) == NULL)
		return;
	t->index = slot->version;
	t->version = slot->version;
	(void)snprintf(t->uuid, sizeof(t->uuid), "%s", db->plan_uuid);
	t->on_done = log_decoded;
	sync_dtask_submit(t);
}

static int log_fetch(struct log_step *st, struct log_slot *slot, uint64_t version)
{
	struct sync_db *db = st->db;
	struct sync *s = db->s;
	struct sync_req req;
	struct fetch_request fr;
	char path[PROTO_MAX_PATH];
	int r;

	(void)proto_path_commit(path, sizeof(path), db->plan_uuid, version);
	r = sync_leader_request(db->attach->leader, path, NULL, &req, &fr);
	if (r < 0)
		return r;
	fr.max_bytes = PROTO_MAX_COMMIT_BYTES;
	fr.timeout_ms = s->opt.request_timeout_ms;
	fr.priority = 1;
	fr.on_done = log_fetched;
	fr.arg = slot;
	slot->version = version;
	slot->busy = true;
	r = fetch_get(s->fetch, &fr, &slot->job);
	if (r < 0)
		slot->busy = false;
	return r;
}

/* ---- applying ---- */

/* Whether c creates table name before action index i. */
static bool created_before(const struct proto_commit *c, size_t i, const char *name)
{
	for (size_t j = 0; j < i; j++)
		if (c->actions[j].op == PROTO_OP_CREATE &&
		    c->actions[j].entity.kind == PROTO_TABLE &&
		    strcmp(c->actions[j].entity.name, name) == 0)
			return true;
	return false;
}

/* Follows the commit's view definitions: the views it includes after it
 * (*mvs), the filter to apply it with (their sources forced in), and whether
 * the database must be reloaded after it (a source that was excluded before
 * this commit is needed now, or one is no longer needed). */
static int view_changes(struct sync_db *db, const struct proto_commit *c, struct sync_mvs *mvs,
                        struct sync_filter *f, bool *ret_resync)
{
	const struct conf_attach *a = db->attach->conf;
	int r = sync_mvs_copy(mvs, &db->mvs);

	for (size_t i = 0; r == 0 && i < c->nactions; i++) {
		const struct proto_action *x = &c->actions[i];
		const struct proto_entity *e = &x->entity;
		const char *old;

		if (e->kind != PROTO_MATERIALIZED_VIEW || x->op > PROTO_OP_DROP)
			continue;
		old = sync_mvs_source(mvs, e->name);
		if (old != NULL && !conf_attach_includes(a, CONF_ENTITY_TABLE, old) &&
		    (x->op == PROTO_OP_DROP || strcmp(old, e->source) != 0))
			*ret_resync = true; /* its source may leave the store */
		if (x->op == PROTO_OP_DROP ||
		    !conf_attach_includes(a, CONF_ENTITY_MATERIALIZED_VIEW, e->name)) {
			r = sync_mvs_set(mvs, e->name, NULL);
			continue;
		}
		r = sync_mvs_set(mvs, e->name, e->source);
		if (r == 0 && !conf_attach_includes(a, CONF_ENTITY_TABLE, e->source) &&
		    !sync_filter_forces(f, e->source)) {
			r = sync_filter_force(f, e->source);
			if (!created_before(c, i, e->source))
				*ret_resync = true; /* the source's past is not in the store */
		}
	}
	return r;
}

/* Frees the finished store task t, keeping its message in err: the step
 * it ran for, or NULL (db kicked) when that step is gone. */
static struct log_step *stask_end(struct stask *t, char err[STORE_ERRLEN])
{
	struct sync_db *db = t->db;
	struct log_step *st;

	(void)snprintf(err, STORE_ERRLEN, "%s", t->err);
	st = step_of(db, t->gen);
	sync_stask_free(t);
	if (st == NULL)
		sync_db_kick(db);
	return st;
}

static void apply_done(struct stask *t)
{
	struct sync_db *db = t->db;
	struct log_step *st;
	char err[STORE_ERRLEN];
	int r = t->r;

	db->store_busy = false;
	if (r == 0) {
		sync_db_applied(db, t, false);
		if (db->applied >= db->replay_to)
			db->replay_to = 0;
		if (t->resync_after) {
			db->resync = true;
			db->replay_to =
			    db->applied; /* reload up to here with the views known now */
		}
	} else if (r == -ESTALE || r == -ERANGE) {
		db->resync = true; /* the store and this mirror disagree: reload */
		db->replay_to = 0;
	}
	if ((st = stask_end(t, err)) == NULL)
		return;
	if (r < 0) {
		sync_db_step_done(db, r, NULL, err);
		return;
	}
	st->next_apply++;
	sync_db_progress(db);
	if (db->resync)
		sync_db_step_done(db, 0, NULL, NULL); /* decide again: a reload */
	else
		log_pump(st);
}

static int log_apply(struct log_step *st, struct log_slot *slot)
{
	struct sync_db *db = st->db;
	struct stask *t = sync_stask_new(db->s, STK_APPLY, db);
	int r = t == NULL ? -ENOMEM : sync_db_filter(db, &t->filter);

	/* replaying up to replay_to, the views there are known already: their
	 * sources are in the filter from the start and nothing changes on the way */
	if (r == 0 && slot->commit->version <= db->replay_to)
		r = sync_mvs_copy(&t->mvs, &db->mvs);
	else if (r == 0)
		r = view_changes(db, slot->commit, &t->mvs, t->filter, &t->resync_after);
	if (r < 0) {
		sync_stask_free(t);
		return r;
	}
	t->commit = slot->commit;
	slot->commit = NULL;
	t->on_done = apply_done;
	db->store_busy = true;
	sync_stask_submit(t);
	return 0;
}

/* ---- replaying ---- */

static void replay_done(struct stask *t)
{
	struct sync_db *db = t->db;
	char err[STORE_ERRLEN];
	int r = t->r;

	db->store_busy = false;
	if (r == 0) {
		db->resync = false;
		db->replay_to = 0;
		sync_db_applied(db, t, true);
	}
	if (stask_end(t, err) != NULL)
		sync_db_step_done(db, r, NULL, err);
}

static int replay_submit(struct log_step *st)
{
	struct sync_db *db = st->db;
	struct stask *t = sync_stask_new(db->s, STK_REPLAY, db);
	int r = t == NULL ? -ENOMEM : sync_filter_new(db->attach->conf, NULL, &t->filter);

	if (r < 0) {
		sync_stask_free(t);
		return r;
	}
	(void)snprintf(t->uuid, sizeof(t->uuid), "%s", db->plan_uuid);
	t->version = st->to;
	t->committed = st->ncommits > 0 ? st->commits[st->ncommits - 1]->committed : 0;
	t->commits = st->commits;
	t->ncommits = st->ncommits;
	st->commits = NULL;
	st->ncommits = 0;
	t->on_done = replay_done;
	db->store_busy = true;
	sync_stask_submit(t);
	return 0;
}

static int replay_keep(struct log_step *st, struct log_slot *slot)
{
	st->commits[st->ncommits++] = slot->commit;
	slot->commit = NULL;
	st->next_apply++;
	return 0;
}

/* ---- the pump ---- */

/* Applies what is ready, in order; then fetches ahead.  Ends the step when
 * everything is applied or something failed. */
static void log_pump(struct log_step *st)
{
	struct sync_db *db = st->db;
	int r = 0;

	while (r == 0 && !db->store_busy && st->next_apply <= st->to) {
		struct log_slot *slot = &st->slots[st->next_apply % st->w];

		if (slot->commit == NULL || slot->version != st->next_apply)
			break;
		r = st->replay ? replay_keep(st, slot) : log_apply(st, slot);
	}
	if (r == 0 && st->next_apply > st->to && !db->store_busy) {
		if (!st->replay) {
			sync_db_step_done(db, 0, NULL, NULL);
			return;
		}
		r = replay_submit(st);
	}
	while (r == 0 && st->next_fetch <= st->to && st->next_fetch < st->next_apply + st->w) {
		r = log_fetch(st, &st->slots[st->next_fetch % st->w], st->next_fetch);
		st->next_fetch++;
	}
	if (r < 0)
		sync_db_step_done(db, r, NULL, r == -ENOMEM ? "out of memory" : "bad request URL");
}

int sync_log_start(struct sync_db *db, bool replay)
{
	struct log_step *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return -ENOMEM;
	st->base.kind = replay ? SYNC_STEP_REPLAY : SYNC_STEP_LOG;
	st->base.free = log_free;
	st->db = db;
	st->replay = replay;
	st->to = db->plan.to;
	st->next_fetch = st->next_apply = db->plan.from;
	st->w = db->s->opt.log_window;
	st->slots = calloc(st->w, sizeof(*st->slots));
	if (replay && st->to - db->plan.from + 1 > REPLAY_MAX_COMMITS) {
		free(st->slots);
		free(st);
		return -E2BIG;
	}
	if (replay && st->slots != NULL)
		st->commits = calloc(st->to - db->plan.from + 1, sizeof(*st->commits));
	if (st->slots == NULL || (replay && st->commits == NULL)) {
		free(st->slots);
		free(st);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < st->w; i++)
		st->slots[i].st = st;
	db->step = &st->base;
	sync_db_set_state(db, replay ? DB_REPLAY : DB_LOG);
	sync_db_progress(db);
	log_pump(st);
	return 0;
}

/*
 * sync_ckpt — the checkpoint step: loads the leader's checkpoint of a
 * database into the store.
 *
 * The manifest is fetched and decoded first; then the parts stream through a
 * pipeline of part_window slots: fetched (collected, at most the size the
 * manifest gives), checked (size, sha256) and decoded on the CPU lane — two
 * threads decode two parts at once — and fed to the store's staging database
 * in part order on the store lane, where the records are freed.  A slot is
 * reused once its part was handed to the store, so at most part_window parts
 * plus the one being fed are in memory, whatever the checkpoint's size.
 * Finally the store diffs the staged state against the stored one, checks the
 * manifest's counts and swaps it in, in one transaction.
 *
 * Views: the records that precede the first add_extents (tables, views,
 * policies, principals) are held back until it comes, so that the source
 * tables of the views the configuration includes are known before any table
 * is fed.  A leader that puts a view after extents and after its (excluded)
 * source makes the step start again with that view known.
 *
 * One database loads a checkpoint at a time (memory); others wait queued.
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ck_step;

struct ck_slot {
	struct ck_step *st;
	unsigned index;
	struct fetch_job *job;
	bool busy;  /* fetching or decoding */
	bool ready; /* decoded: recs */
	struct proto_action *recs;
	size_t nrecs;
};

struct ck_step {
	struct sync_run base;
	struct sync_db *db;
	struct fetch_job *mjob;
	struct proto_manifest *m;   /* NULL until decoded */
	struct store_ckpt *ck;      /* NULL while lent to a task */
	struct sync_filter *filter; /* changed only while no task uses it */
	bool begun;
	bool finishing;
	unsigned w;
	struct ck_slot *slots;
	unsigned next_fetch, next_feed;
	bool entities_known;       /* an add_extents record came: the views are known */
	struct proto_action *held; /* records before the first add_extents */
	size_t nheld, caph;
	struct sync_mvs mvs; /* included views seen */
	bool known;          /* the views are db->mvs (a reload up to db->replay_to): the
	                        checkpoint's own do not count */
	char **tables;       /* tables fed so far (a late view's source may be one) */
	size_t ntables;
};

static void ck_free(struct sync_run *base)
{
	struct ck_step *st = (struct ck_step *)base;
	struct stask *t;

	fetch_cancel(st->mjob);
	for (unsigned i = 0; i < st->w; i++) {
		fetch_cancel(st->slots[i].job);
		sync_actions_free(st->slots[i].recs, st->slots[i].nrecs);
	}
	if (st->ck != NULL && (t = sync_stask_new(st->db->s, STK_CK_ABORT, NULL)) != NULL) {
		t->ck = st->ck; /* aborted on the store thread (or at once when freeing) */
		sync_stask_free(t);
	}
	sync_actions_free(st->held, st->nheld);
	proto_manifest_free(st->m);
	sync_filter_unref(st->filter);
	sync_mvs_clear(&st->mvs);
	for (size_t i = 0; i < st->ntables; i++)
		free(st->tables[i]);
	free(st->tables);
	free(st->slots);
	free(st);
}

static struct ck_step *step_of(struct sync_db *db, unsigned gen)
{
	if (db->doomed || gen != db->gen || db->step == NULL ||
	    db->step->kind != SYNC_STEP_CHECKPOINT)
		return NULL;
	return (struct ck_step *)db->step;
}

static void ck_pump(struct ck_step *st);

static void fail_task(struct sync_db *db, int r, const char *url, const char *err)
{
	char u[CONF_MAX_URL + PROTO_MAX_PATH], e[PROTO_ERRLEN + STORE_ERRLEN];

	(void)snprintf(u, sizeof(u), "%s", url != NULL ? url : "");
	(void)snprintf(e, sizeof(e), "%s", err);
	sync_db_step_done(db, r, url != NULL ? u : NULL, e);
}

/* ---- fetching ---- */

static int ck_get(struct ck_step *st, const char *path, uint64_t max, int prio, fetch_done_fn fn,
                  void *arg, struct fetch_job **ret_job)
{
	struct sync *s = st->db->s;
	struct sync_req req;
	struct fetch_request fr;
	int r = sync_leader_request(st->db->attach->leader, path, NULL, &req, &fr);

	if (r < 0)
		return r;
	fr.max_bytes = max;
	fr.timeout_ms = s->opt.request_timeout_ms;
	fr.priority = prio;
	fr.on_done = fn;
	fr.arg = arg;
	return fetch_get(s->fetch, &fr, ret_job);
}

static void part_decoded(struct dtask *t)
{
	struct sync_db *db = t->db;
	struct ck_step *st = step_of(db, t->gen);
	struct ck_slot *slot;

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
	slot->recs = t->recs;
	slot->nrecs = t->nrecs;
	slot->ready = true;
	t->recs = NULL;
	t->nrecs = 0;
	sync_dtask_free(t);
	sync_db_progress(db);
	ck_pump(st);
}

static void part_fetched(struct fetch_result *res, void *arg)
{
	struct ck_slot *slot = arg;
	struct ck_step *st = slot->st;
	struct sync_db *db = st->db;
	const struct proto_part *p = &st->m->parts[slot->index];
	struct dtask *t;

	slot->job = NULL;
	if ((t = sync_dtask_fetched(db, DTK_PART, res)) == NULL)
		return;
	t->index = slot->index;
	t->size = p->size;
	t->records = p->records;
	(void)snprintf(t->sha256, sizeof(t->sha256), "%s", p->sha256);
	t->on_done = part_decoded;
	sync_dtask_submit(t);
}

static int part_fetch(struct ck_step *st, unsigned i)
{
	struct ck_slot *slot = &st->slots[i % st->w];
	const struct proto_part *p = &st->m->parts[i];
	int r;

	slot->index = i;
	slot->busy = true;
	/* a part larger than the manifest says is cut off and refused */
	r = ck_get(st, p->path, p->size > 0 ? p->size : 1, 0, part_fetched, slot, &slot->job);
	if (r < 0)
		slot->busy = false;
	return r;
}

/* ---- views: which tables the filter must let in ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool table_fed(const struct ck_step *st, const char *name)
{
	return st->ntables > 0 &&
	       bsearch(&name, st->tables, st->ntables, sizeof(*st->tables), cmp_str) != NULL;
}

static int note_table(struct ck_step *st, const char *name)
{
	char **v;
	size_t i;

	if (table_fed(st, name))
		return 0;
	if ((v = realloc(st->tables, (st->ntables + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	st->tables = v;
	for (i = st->ntables; i > 0 && strcmp(v[i - 1], name) > 0; i--)
		v[i] = v[i - 1];
	if ((v[i] = strdup(name)) == NULL) {
		memmove(&v[i], &v[i + 1], (st->ntables - i) * sizeof(*v));
		return -ENOMEM;
	}
	st->ntables++;
	return 0;
}

/* Notes the views and tables of records about to be fed; -EAGAIN when a view
 * needs a source table that was already fed (and left out). */
static int note_records(struct ck_step *st, const struct proto_action *v, size_t n)
{
	const struct conf_attach *a = st->db->attach->conf;
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct proto_entity *e = &v[i].entity;

		if (v[i].op != PROTO_OP_CREATE)
			continue;
		if (e->kind == PROTO_TABLE) {
			r = note_table(st, e->name);
			continue;
		}
		if (st->known || e->kind != PROTO_MATERIALIZED_VIEW ||
		    !conf_attach_includes(a, CONF_ENTITY_MATERIALIZED_VIEW, e->name))
			continue;
		r = sync_mvs_set(&st->mvs, e->name, e->source);
		if (r < 0 || conf_attach_includes(a, CONF_ENTITY_TABLE, e->source) ||
		    sync_filter_forces(st->filter, e->source))
			continue;
		if (table_fed(st, e->source))
			return -EAGAIN;
		r = sync_filter_force(st->filter, e->source);
	}
	return r;
}

/* ---- feeding ---- */

static void feed_done(struct stask *t)
{
	struct sync_db *db = t->db;
	struct ck_step *st = step_of(db, t->gen);
	int r = t->r;

	db->store_busy = false;
	if (st == NULL) {
		sync_stask_free(t); /* aborts the checkpoint it still holds */
		sync_db_kick(db);
		return;
	}
	st->ck = t->ck;
	t->ck = NULL;
	if (r < 0) {
		fail_task(db, r, NULL, t->err);
		sync_stask_free(t);
		return;
	}
	sync_stask_free(t);
	sync_db_progress(db);
	ck_pump(st);
}

static int feed_submit(struct ck_step *st, struct proto_action *recs, size_t n)
{
	struct sync_db *db = st->db;
	struct stask *t = sync_stask_new(db->s, STK_CK_FEED, db);

	if (t == NULL) {
		sync_actions_free(recs, n);
		return -ENOMEM;
	}
	t->recs = recs;
	t->nrecs = n;
	t->ck = st->ck;
	st->ck = NULL;
	t->filter = sync_filter_ref(st->filter);
	t->on_done = feed_done;
	db->store_busy = true;
	sync_stask_submit(t);
	return 0;
}

static int hold(struct ck_step *st, struct proto_action *v, size_t n)
{
	if (st->nheld + n > st->caph) {
		size_t cap = (st->nheld + n) * 2;
		struct proto_action *h = realloc(st->held, cap * sizeof(*h));

		if (h == NULL)
			return -ENOMEM;
		st->held = h;
		st->caph = cap;
	}
	memcpy(&st->held[st->nheld], v, n * sizeof(*v));
	st->nheld += n;
	return 0;
}

/* Feeds the slot's part (with the held records before it, once extents
 * start).  Sets *ret_sent when a feed task went out. */
static int feed_part(struct ck_step *st, struct ck_slot *slot, bool *ret_sent)
{
	size_t k = 0, n = slot->nrecs;
	struct proto_action *recs = slot->recs;
	int r;

	if (!st->entities_known)
		while (k < n && recs[k].op != PROTO_OP_ADD_EXTENTS)
			k++;
	r = note_records(st, recs, n);
	if (r == 0 && !st->entities_known)
		r = hold(st, recs, k);
	if (r < 0)
		return r;
	slot->recs = NULL;
	slot->nrecs = 0;
	slot->ready = false;
	st->next_feed++;
	if (!st->entities_known && k == n) {
		free(recs); /* every record moved to held */
		return 0;
	}
	if (!st->entities_known) {
		st->entities_known = true;
		r = hold(st, recs + k, n - k);
		free(recs);
		if (r < 0)
			return r;
		recs = st->held;
		n = st->nheld;
		st->held = NULL;
		st->nheld = st->caph = 0;
	}
	*ret_sent = true;
	return feed_submit(st, recs, n);
}

/* ---- finishing ---- */

static void finish_done(struct stask *t)
{
	struct sync_db *db = t->db;
	struct ck_step *st = step_of(db, t->gen);
	int r = t->r;

	db->store_busy = false;
	if (r == 0) {
		db->resync = false;
		if (db->replay_to <= t->version)
			db->replay_to = 0;
		sync_db_applied(db, t, true);
	}
	if (st == NULL) {
		sync_stask_free(t);
		sync_db_kick(db);
		return;
	}
	if (r < 0)
		fail_task(db, r, NULL, t->err);
	else
		sync_db_step_done(db, 0, NULL, NULL);
	sync_stask_free(t);
}

static int finish_submit(struct ck_step *st)
{
	struct sync_db *db = st->db;
	struct stask *t = sync_stask_new(db->s, STK_CK_FINISH, db);

	if (t == NULL)
		return -ENOMEM;
	t->ck = st->ck;
	st->ck = NULL;
	(void)snprintf(t->uuid, sizeof(t->uuid), "%s", st->m->uuid);
	t->version = st->m->version;
	t->committed = st->m->committed;
	if (st->known) {
		int r = sync_mvs_copy(&t->mvs, &db->mvs);

		if (r < 0) {
			sync_stask_free(t);
			return r;
		}
	} else {
		t->mvs = st->mvs;
		memset(&st->mvs, 0, sizeof(st->mvs));
	}
	t->filter = sync_filter_ref(st->filter);
	t->on_done = finish_done;
	st->finishing = true;
	db->store_busy = true;
	sync_stask_submit(t);
	return 0;
}

/* ---- the pump ---- */

static int pump_feed(struct ck_step *st)
{
	struct sync_db *db = st->db;
	bool sent = false;
	int r = 0;

	while (r == 0 && !sent && st->begun && !db->store_busy && !st->finishing) {
		struct ck_slot *slot = &st->slots[st->next_feed % st->w];

		if (st->next_feed == st->m->nparts) {
			if (st->nheld > 0) {
				struct proto_action *v = st->held;
				size_t n = st->nheld;

				st->held = NULL;
				st->nheld = st->caph = 0;
				r = feed_submit(st, v, n);
			} else {
				r = finish_submit(st);
			}
			sent = true;
		} else if (slot->ready && slot->index == st->next_feed) {
			r = feed_part(st, slot, &sent);
		} else {
			break;
		}
	}
	return r;
}

static void ck_pump(struct ck_step *st)
{
	struct sync_db *db = st->db;
	int r = 0;

	if (st->m == NULL)
		return; /* the manifest is with the begin task */
	r = pump_feed(st);
	while (r == 0 && st->next_fetch < st->m->nparts && st->next_fetch < st->next_feed + st->w)
		r = part_fetch(st, st->next_fetch++);
	if (r == -EAGAIN) {
		/* a view came after its source table was fed: start again knowing it */
		sync_mvs_clear(&db->hint);
		db->hint = st->mvs;
		memset(&st->mvs, 0, sizeof(st->mvs));
	}
	if (r < 0)
		sync_db_step_done(db, r, NULL,
		                  r == -ENOMEM ? "out of memory" : "cannot request a part");
}

/* ---- the manifest ---- */

static void begin_done(struct stask *t)
{
	struct sync_db *db = t->db;
	struct ck_step *st = step_of(db, t->gen);

	db->store_busy = false;
	if (st == NULL) {
		sync_stask_free(t);
		sync_db_kick(db);
		return;
	}
	if (t->r < 0) {
		fail_task(db, t->r, NULL, t->err);
		sync_stask_free(t);
		return;
	}
	st->ck = t->ck;
	t->ck = NULL;
	st->begun = true;
	sync_stask_free(t);
	ck_pump(st);
}

static int begin_submit(struct ck_step *st)
{
	struct sync_db *db = st->db;
	struct stask *t = sync_stask_new(db->s, STK_CK_BEGIN, db);
	struct proto_manifest *m = NULL;

	/* what the store copies from the manifest; the parts stay with the step */
	if (t == NULL || (m = calloc(1, sizeof(*m))) == NULL ||
	    (m->database = strdup(st->m->database)) == NULL) {
		if (t != NULL && m != NULL)
			free(m);
		sync_stask_free(t);
		return -ENOMEM;
	}
	(void)snprintf(m->uuid, sizeof(m->uuid), "%s", st->m->uuid);
	m->version = st->m->version;
	m->committed = st->m->committed;
	m->counts = st->m->counts;
	t->manifest = m;
	t->filter = sync_filter_ref(st->filter);
	t->on_done = begin_done;
	db->store_busy = true;
	sync_stask_submit(t);
	return 0;
}

static void manifest_decoded(struct dtask *t)
{
	struct sync_db *db = t->db;
	struct ck_step *st = step_of(db, t->gen);
	int r;

	if (st == NULL) {
		sync_dtask_free(t);
		return;
	}
	if (t->r < 0) {
		sync_dtask_fail(t);
		return;
	}
	st->m = t->manifest;
	t->manifest = NULL;
	sync_dtask_free(t);
	/* parts are fetched while the store begins */
	ck_pump(st);
	if ((st = step_of(db, db->gen)) == NULL)
		return;
	r = begin_submit(st);
	if (r < 0)
		sync_db_step_done(db, r, NULL, "out of memory");
}

static void manifest_fetched(struct fetch_result *res, void *arg)
{
	struct ck_step *st = arg;
	struct sync_db *db = st->db;
	struct dtask *t;

	st->mjob = NULL;
	if ((t = sync_dtask_fetched(db, DTK_MANIFEST, res)) == NULL)
		return;
	t->version = db->plan.checkpoint;
	(void)snprintf(t->uuid, sizeof(t->uuid), "%s", db->plan_uuid);
	t->on_done = manifest_decoded;
	sync_dtask_submit(t);
}

int sync_ckpt_start(struct sync_db *db)
{
	struct sync *s = db->s;
	struct ck_step *st;
	char path[PROTO_MAX_PATH];
	int r;

	if (s->ck_owner != NULL && s->ck_owner != db) {
		sync_db_set_state(db, DB_QUEUED); /* kicked when the slot is free */
		return 0;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return -ENOMEM;
	st->base.kind = SYNC_STEP_CHECKPOINT;
	st->base.free = ck_free;
	st->db = db;
	st->w = s->opt.part_window;
	st->slots = calloc(st->w, sizeof(*st->slots));
	st->known = db->replay_to > db->plan.checkpoint;
	r = st->slots == NULL
	        ? -ENOMEM
	        : sync_filter_new(db->attach->conf, st->known ? &db->mvs : &db->hint, &st->filter);
	sync_mvs_clear(&db->hint);
	for (unsigned i = 0; r == 0 && i < st->w; i++)
		st->slots[i].st = st;
	if (r < 0) {
		ck_free(&st->base);
		return r;
	}
	db->step = &st->base;
	s->ck_owner = db;
	sync_db_set_state(db, DB_CHECKPOINT);
	sync_db_progress(db);
	(void)proto_path_manifest(path, sizeof(path), db->plan_uuid, db->plan.checkpoint);
	r = ck_get(st, path, PROTO_MAX_MANIFEST_BYTES, 2, manifest_fetched, st, &st->mjob);
	if (r < 0)
		sync_db_step_done(db, r, NULL, "cannot request the checkpoint manifest");
	return 0;
}

void sync_ckpt_slot_freed(struct sync *s)
{
	for (size_t i = 0; i < s->ndbs; i++)
		if (s->dbs[i]->state == DB_QUEUED)
			sync_db_kick(s->dbs[i]);
}

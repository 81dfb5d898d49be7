/*
 * sync_db — one followed database's state machine (see sync_int.h).
 *
 * A database waits on its timer.  When its leader's head changes, or a retry
 * is due, it decides what to do with sync_plan() from what the store holds
 * (mirrored here from store task results) and the head's entry, runs that
 * step (sync_log.c, sync_ckpt.c, or a detach here), and decides again when
 * the step ends.  A failed step backs off (sync_backoff) and is reported when
 * its error differs from the last one; the first success after it reports
 * the recovery.  The applied version only ever moves by a store transaction,
 * so a failure leaves it as it was.
 *
 * The include filter also lives here: the attach's lists, plus the source
 * tables of the materialized views they include (a view is no use without
 * its source).
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

/* ---- include filter ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool sync_filter_forces(const struct sync_filter *f, const char *table)
{
	return f->nforced > 0 &&
	       bsearch(&table, f->forced, f->nforced, sizeof(*f->forced), cmp_str) != NULL;
}

int sync_filter_force(struct sync_filter *f, const char *table)
{
	char **v;
	size_t i;

	if (sync_filter_forces(f, table))
		return 0;
	v = realloc(f->forced, (f->nforced + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	f->forced = v;
	for (i = f->nforced; i > 0 && strcmp(v[i - 1], table) > 0; i--)
		v[i] = v[i - 1];
	if ((v[i] = strdup(table)) == NULL) {
		memmove(&v[i], &v[i + 1], (f->nforced - i) * sizeof(*v));
		return -ENOMEM;
	}
	f->nforced++;
	return 0;
}

static enum conf_entity entity_of(enum proto_kind kind)
{
	return kind == PROTO_TABLE            ? CONF_ENTITY_TABLE
	       : kind == PROTO_EXTERNAL_TABLE ? CONF_ENTITY_EXTERNAL_TABLE
	                                      : CONF_ENTITY_MATERIALIZED_VIEW;
}

bool sync_filter_include(enum proto_kind kind, const char *name, void *arg)
{
	const struct sync_filter *f = arg;

	if (kind == PROTO_TABLE && sync_filter_forces(f, name))
		return true;
	return conf_attach_includes(f->conf, entity_of(kind), name);
}

int sync_filter_new(const struct conf_attach *a, const struct sync_mvs *mvs,
                    struct sync_filter **ret)
{
	struct sync_filter *f = calloc(1, sizeof(*f));
	int r = f == NULL ? -ENOMEM : conf_attach_copy(a, &f->conf);

	if (f != NULL)
		f->refs = 1;
	for (size_t i = 0; r == 0 && mvs != NULL && i < mvs->n; i++) {
		const struct sync_mv *m = &mvs->v[i];

		if (conf_attach_includes(a, CONF_ENTITY_MATERIALIZED_VIEW, m->name) &&
		    !conf_attach_includes(a, CONF_ENTITY_TABLE, m->source))
			r = sync_filter_force(f, m->source);
	}
	if (r < 0) {
		sync_filter_unref(f);
		return r;
	}
	*ret = f;
	return 0;
}

struct sync_filter *sync_filter_ref(struct sync_filter *f)
{
	if (f != NULL)
		f->refs++;
	return f;
}

void sync_filter_unref(struct sync_filter *f)
{
	if (f == NULL || --f->refs > 0)
		return;
	for (size_t i = 0; i < f->nforced; i++)
		free(f->forced[i]);
	free(f->forced);
	conf_attach_free(f->conf);
	free(f);
}

void sync_mvs_clear(struct sync_mvs *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].source);
	}
	free(m->v);
	m->v = NULL;
	m->n = 0;
}

const char *sync_mvs_source(const struct sync_mvs *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i].name, name) == 0)
			return m->v[i].source;
	return NULL;
}

int sync_mvs_set(struct sync_mvs *m, const char *name, const char *source)
{
	struct sync_mv *v;
	size_t i;
	char *src;

	for (i = 0; i < m->n && strcmp(m->v[i].name, name) != 0; i++)
		;
	if (source == NULL) {
		if (i < m->n) {
			free(m->v[i].name);
			free(m->v[i].source);
			m->v[i] = m->v[--m->n];
		}
		return 0;
	}
	if ((src = strdup(source)) == NULL)
		return -ENOMEM;
	if (i < m->n) {
		free(m->v[i].source);
		m->v[i].source = src;
		return 0;
	}
	v = realloc(m->v, (m->n + 1) * sizeof(*v));
	if (v == NULL || (v[m->n].name = strdup(name)) == NULL) {
		if (v != NULL)
			m->v = v;
		free(src);
		return -ENOMEM;
	}
	m->v = v;
	v[m->n++].source = src;
	return 0;
}

int sync_mvs_copy(struct sync_mvs *dst, const struct sync_mvs *src)
{
	struct sync_mvs m = {0};
	int r = 0;

	for (size_t i = 0; r == 0 && i < src->n; i++)
		r = sync_mvs_set(&m, src->v[i].name, src->v[i].source);
	if (r < 0) {
		sync_mvs_clear(&m);
		return r;
	}
	sync_mvs_clear(dst);
	*dst = m;
	return 0;
}

int sync_db_filter(struct sync_db *db, struct sync_filter **ret)
{
	if (db->attach == NULL)
		return -ENOENT;
	return sync_filter_new(db->attach->conf, &db->mvs, ret);
}

/* ---- life ---- */

static void db_timer(evutil_socket_t fd, short what, void *arg);
static void kick_same_local(const struct sync_db *db);

int sync_db_new(struct sync *s, const char *name, const char *root, const char *leader_db,
                const char *local_name, struct sync_db **ret)
{
	struct sync_db *db = calloc(1, sizeof(*db));

	if (db == NULL)
		return -ENOMEM;
	db->s = s;
	db->state = DB_NEW;
	db->step_ms = -1;
	db->name = strdup(name);
	db->root = strdup(root);
	db->leader_db = strdup(leader_db);
	db->local_name = strdup(local_name);
	db->timer = evtimer_new(s->base, db_timer, db);
	if (db->name == NULL || db->root == NULL || db->leader_db == NULL ||
	    db->local_name == NULL || db->timer == NULL) {
		db->doomed = true;
		sync_db_put(db);
		return -ENOMEM;
	}
	*ret = db;
	return 0;
}

static void db_free(struct sync_db *db)
{
	if (db->timer != NULL)
		event_free(db->timer);
	sync_mvs_clear(&db->mvs);
	sync_mvs_clear(&db->hint);
	free(db->name);
	free(db->root);
	free(db->leader_db);
	free(db->local_name);
	free(db->error);
	free(db);
}

void sync_db_get(struct sync_db *db)
{
	db->tasks++;
}

void sync_db_put(struct sync_db *db)
{
	if (db->tasks > 0)
		db->tasks--;
	if (db->doomed && db->tasks == 0)
		db_free(db);
}

void sync_db_abandon(struct sync_db *db)
{
	struct sync_run *st = db->step;

	db->gen++;
	if (st != NULL) {
		db->step = NULL;
		st->free(st);
	}
	if (db->s->ck_owner == db) {
		db->s->ck_owner = NULL;
		sync_ckpt_slot_freed(db->s);
	}
}

void sync_db_release(struct sync_db *db)
{
	if (db->once_wanted)
		sync_db_once_finished(db, false, NULL);
	sync_db_abandon(db);
	(void)event_del(db->timer);
	sync_remove_db(db->s, db);
	kick_same_local(db);
	db->doomed = true;
	db->tasks++;
	sync_db_put(db); /* frees it unless tasks are in flight */
}

/* ---- state and reports ---- */

const char *sync_dbstate_name(enum sync_dbstate st)
{
	static const char *const names[] = {
	    [DB_NEW] = "new",
	    [DB_IDLE] = "idle",
	    [DB_LOG] = "log",
	    [DB_CHECKPOINT] = "checkpoint",
	    [DB_REPLAY] = "replay",
	    [DB_QUEUED] = "queued",
	    [DB_DETACHING] = "detaching",
	    [DB_BACKOFF] = "backoff",
	    [DB_ABSENT] = "absent",
	    [DB_DETACHED] = "detached",
	};

	return (size_t)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

void sync_db_set_state(struct sync_db *db, enum sync_dbstate st)
{
	const char *name = sync_dbstate_name(st);

	db->state = st;
	if (!db->stored || db->saved_state == name)
		return;
	db->saved_state = name;
	sync_store_state(db->s, db->name, name);
}

static void db_event(struct sync_db *db, enum sync_event_kind kind, const char *url, int error,
                     const char *detail)
{
	struct sync_event ev = {
	    .kind = kind,
	    .database = db->name,
	    .local_name = db->local_name,
	    .leader = db->root,
	    .url = url,
	    .leader_version = db->in_head ? db->head.version : 0,
	    .applied_version = db->applied,
	    .error = error,
	    .detail = detail,
	};

	sync_emit(db->s, &ev);
}

void sync_db_once_finished(struct sync_db *db, bool failed, const char *msg)
{
	struct sync *s = db->s;

	if (!db->once_wanted)
		return;
	db->once_wanted = false;
	if (s->once_left > 0)
		s->once_left--;
	if (failed) {
		s->once_failed++;
		if (s->once_msg[0] == '\0')
			(void)snprintf(s->once_msg, sizeof(s->once_msg), "%s: %s", db->name,
			               msg != NULL ? msg : "failed");
	}
	sync_once_check(s);
}

/* Records err as the database's last error; reports it when it changed. */
static void db_error(struct sync_db *db, int r, const char *url, const char *msg, bool report)
{
	char *text;

	if (db->error != NULL && strcmp(db->error, msg) == 0)
		return;
	if ((text = strdup(msg)) == NULL)
		return;
	free(db->error);
	db->error = text;
	if (db->stored)
		sync_store_error(db->s, db->name, text);
	if (report)
		db_event(db, SYNC_EV_ERROR, url, r, text);
}

static void db_clear_error(struct sync_db *db, bool report)
{
	if (db->error == NULL)
		return;
	free(db->error);
	db->error = NULL;
	if (db->stored)
		sync_store_error(db->s, db->name, NULL);
	if (report)
		db_event(db, SYNC_EV_RECOVERED, NULL, 0, NULL);
}

static void arm(struct sync_db *db, int64_t ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	(void)evtimer_add(db->timer, &tv);
}

/* The next decision in ms (a running step is not disturbed: it decides again
 * when it ends). */
static void db_schedule(struct sync_db *db, int64_t ms)
{
	db->next = sync_now_ms() + ms;
	if (db->step == NULL)
		arm(db, ms);
}

/* A step that makes no progress for two request timeouts is given up (a
 * leader dripping bytes just fast enough for each transfer's own limits). */
void sync_db_progress(struct sync_db *db)
{
	int64_t budget = 2 * (int64_t)db->s->opt.request_timeout_ms;

	db->deadline = sync_now_ms() + budget;
	arm(db, budget);
}

void sync_db_kick(struct sync_db *db)
{
	if (db->doomed || db->s->stopping)
		return;
	db_schedule(db, 0);
}

static void db_fail(struct sync_db *db, int r, const char *url, const char *msg)
{
	struct sync *s = db->s;
	char text[SYNC_ERRLEN + 256];

	if (url != NULL && strstr(msg, url) == NULL)
		(void)snprintf(text, sizeof(text), "%s: %s", url, msg);
	else
		(void)snprintf(text, sizeof(text), "%s", msg);
	db->fails++;
	db_error(db, r, url, text, true);
	sync_db_set_state(db, DB_BACKOFF);
	sync_db_once_finished(db, true, text);
	if (!s->stopping && !db->doomed) {
		int64_t iv = db->attach != NULL ? db->attach->leader->interval_ms : s->poll_ms;

		db_schedule(db, sync_backoff_ms(s, iv, db->fails));
	}
}

void sync_db_step_done(struct sync_db *db, int r, const char *url, const char *msg)
{
	sync_db_abandon(db);
	if (r == -EAGAIN) { /* the step asked to start again at once */
		sync_db_kick(db);
		return;
	}
	if (r < 0) {
		db_fail(db, r, url, msg != NULL ? msg : "failed");
		return;
	}
	db->fails = 0;
	db->warned = false;
	if (db->step_start != 0)
		db->step_ms = sync_now_ms() - db->step_start;
	db->step_start = 0;
	db_clear_error(db, true);
	sync_db_kick(db);
}

void sync_db_leader_failed(struct sync_db *db, int r, const char *url, const char *msg)
{
	char text[SYNC_ERRLEN + 256];

	(void)snprintf(text, sizeof(text), "leader unreachable: %s", msg);
	/* the leader's report covers it: one report per leader, not per database */
	db_error(db, r, url, text, false);
	sync_db_once_finished(db, true, text);
}

void sync_db_leader_ok(struct sync_db *db)
{
	if (db->error != NULL && strncmp(db->error, "leader unreachable: ", 20) == 0)
		db_clear_error(db, false);
}

void sync_db_applied(struct sync_db *db, struct stask *t, bool checkpoint)
{
	bool first = !db->stored || db->uuid[0] == '\0';
	struct sync_event ev;

	db->stored = true;
	(void)snprintf(db->uuid, sizeof(db->uuid), "%s", t->uuid);
	db->reloaded_at = checkpoint ? t->version : 0;
	db->applied = t->version;
	db->applied_committed = t->committed;
	sync_mvs_clear(&db->mvs);
	db->mvs = t->mvs;
	memset(&t->mvs, 0, sizeof(t->mvs));
	if (db->saved_state == NULL)
		sync_db_set_state(db, db->state); /* the row exists now */
	if (db->in_head && db->head.version != db->saved_leader_version) {
		db->saved_leader_version = db->head.version;
		sync_store_poll(db->s, db->name, db->head.version, db->head.committed);
	}
	if (db->error != NULL)
		sync_store_error(db->s, db->name, db->error);
	ev = (struct sync_event){
	    .kind = first ? SYNC_EV_ATTACHED : SYNC_EV_APPLIED,
	    .database = db->name,
	    .local_name = db->local_name,
	    .leader = db->root,
	    .leader_version = db->in_head ? db->head.version : 0,
	    .applied_version = db->applied,
	    .checkpoint = checkpoint,
	    .summary = &t->sum,
	};
	sync_emit(db->s, &ev);
	sync_changed(db->s, &(struct sync_change){.kind = SYNC_CHANGE_APPLIED,
	                                          .database = db->name,
	                                          .version = db->applied,
	                                          .summary = &t->sum});
}

/* ---- the leader's view ---- */

static bool head_same(const struct proto_head_db *a, const struct proto_head_db *b)
{
	return a->version == b->version && a->committed == b->committed &&
	       a->checkpoint == b->checkpoint && a->log_start == b->log_start &&
	       strcmp(a->uuid, b->uuid) == 0;
}

void sync_db_head(struct sync_db *db, const struct proto_head_db *h, bool detached)
{
	bool moved = db->in_head != (h != NULL) ||
	             db->detached_by_leader != (h != NULL && detached) ||
	             (h != NULL && !head_same(h, &db->head));

	db->in_head = h != NULL;
	db->detached_by_leader = h != NULL && detached;
	if (h != NULL) {
		db->head = *h;
		db->head.name = NULL;
		db->head.detached = NULL;
		db->head.ndetached = 0;
	}
	if (h != NULL && db->stored && h->version != db->saved_leader_version) {
		db->saved_leader_version = h->version;
		sync_store_poll(db->s, db->name, h->version, h->committed);
	}
	/* a running step that the new head makes pointless ends now */
	if (db->step != NULL && (h == NULL || detached || strcmp(h->uuid, db->plan_uuid) != 0 ||
	                         h->version < db->plan.to))
		sync_db_abandon(db);
	if (moved || db->once_wanted || db->state == DB_NEW)
		sync_db_kick(db);
}

/* ---- deciding ---- */

/* The databases waiting for db's local name try again. */
static void kick_same_local(const struct sync_db *db)
{
	for (size_t i = 0; i < db->s->ndbs; i++)
		if (db->s->dbs[i] != db && strcmp(db->s->dbs[i]->local_name, db->local_name) == 0)
			sync_db_kick(db->s->dbs[i]);
}

static void detach_done(struct stask *t)
{
	struct sync_db *db = t->db;
	int r = t->r;
	char err[STORE_ERRLEN];

	db->store_busy = false;
	(void)snprintf(err, sizeof(err), "%s", t->err);
	sync_stask_free(t); /* db lives on until this returns (stask_done) */
	if (db->doomed)
		return;
	if (r < 0) {
		db_fail(db, r, NULL, err);
		return;
	}
	db->stored = false;
	db->uuid[0] = '\0';
	db->applied = 0;
	db->applied_committed = 0;
	db->saved_state = NULL;
	db->saved_leader_version = 0;
	sync_mvs_clear(&db->mvs);
	db_event(db, SYNC_EV_DETACHED, NULL, 0, db->detach_why);
	sync_changed(db->s,
	             &(struct sync_change){.kind = SYNC_CHANGE_DETACHED, .database = db->name});
	db->fails = 0;
	free(db->error);
	db->error = NULL;
	kick_same_local(db);
	sync_db_kick(db);
}

static void start_detach(struct sync_db *db, const char *why)
{
	struct stask *t = sync_stask_new(db->s, STK_DETACH, db);

	if (t == NULL) {
		db_fail(db, -ENOMEM, NULL, "out of memory");
		return;
	}
	(void)snprintf(db->detach_why, sizeof(db->detach_why), "%s", why);
	sync_db_set_state(db, DB_DETACHING);
	t->on_done = detach_done;
	db->store_busy = true;
	sync_stask_submit(t);
}

/* The database of a single-database configuration that names the local
 * database of db, a database of "*" (the single one always wins). */
static const struct sync_db *claimant(const struct sync_db *db)
{
	const struct sync *s = db->s;

	for (size_t i = 0; db->attach->star && i < s->ndbs; i++) {
		const struct sync_db *o = s->dbs[i];

		if (o != db && o->attach != NULL && !o->attach->star &&
		    strcmp(o->local_name, db->local_name) == 0)
			return o;
	}
	return NULL;
}

/* Another database that holds db's local name, or is on its way to. */
static struct sync_db *holder(const struct sync_db *db)
{
	const struct sync *s = db->s;

	for (size_t i = 0; i < s->ndbs; i++) {
		struct sync_db *o = s->dbs[i];

		if (o != db && strcmp(o->local_name, db->local_name) == 0 &&
		    (o->stored || o->step != NULL || o->store_busy))
			return o;
	}
	return NULL;
}

/* Settles who has db's local name; false when db must not go on now. */
static bool local_name_ok(struct sync_db *db)
{
	const struct sync_db *c = claimant(db);
	struct sync_db *h;
	char msg[CONF_MAX_NAME * 2 + 96];

	if (c != NULL) {
		(void)snprintf(msg, sizeof(msg), "configuration '%s' names the local database '%s'",
		               c->attach->conf->name, db->local_name);
		if (db->stored) {
			start_detach(db, msg);
			return false;
		}
		sync_db_set_state(db, DB_ABSENT);
		db_error(db, -EEXIST, NULL, msg, true);
		sync_db_once_finished(db, false, NULL);
		return false;
	}
	if (db->stored || db->plan.step == SYNC_STEP_WAIT || (h = holder(db)) == NULL)
		return true;
	if (!db->attach->star && h->attach != NULL && h->attach->star) {
		sync_db_set_state(db, DB_QUEUED); /* the database of "*" leaves first */
		sync_db_kick(h);
		return false;
	}
	(void)snprintf(msg, sizeof(msg), "local database '%s' is taken by '%s'", db->local_name,
	               h->attach != NULL ? h->attach->conf->name : h->name);
	db_fail(db, -EEXIST, NULL, msg);
	return false;
}

static void plan_now(struct sync_db *db, struct sync_plan *p)
{
	struct sync_have have = {
	    .stored = db->stored,
	    .uuid = db->uuid,
	    .applied = db->applied,
	    .applied_committed = db->applied_committed,
	    .resync = db->resync,
	};

	/* A reload just landed on this very version: a head whose commit time
	 * still differs from the objects' is the leader's inconsistency, not a
	 * rewind to chase forever. */
	if (db->reloaded_at != 0 && db->reloaded_at == db->applied)
		have.applied_committed = 0;
	sync_plan(&have, db->in_head ? &db->head : NULL, db->detached_by_leader, p);
}

/* The leader does not name a configured database: an error until it does. */
static void db_absent(struct sync_db *db)
{
	char msg[CONF_MAX_NAME + 96];

	(void)snprintf(msg, sizeof(msg), "the leader's head does not name database '%s'",
	               db->leader_db);
	db_error(db, -ENOENT, NULL, msg, true);
	sync_db_once_finished(db, true, msg);
}

/* A database being attached has its row from the start: its state and
 * errors are kept before its first version arrives. */
static void db_ensure_row(struct sync_db *db)
{
	if (db->stored)
		return;
	sync_store_ensure(db->s, db);
	db->stored = true;
	db->saved_state = NULL;
	if (db->error != NULL)
		sync_store_error(db->s, db->name, db->error);
}

static void run_plan(struct sync_db *db)
{
	int r = 0;

	switch (db->plan.step) {
	case SYNC_STEP_NONE:
		sync_db_set_state(db, DB_IDLE);
		sync_db_once_finished(db, false, NULL);
		return;
	case SYNC_STEP_WAIT:
		if (db->attach->star) {
			sync_db_release(db); /* gone from the head: nothing to wait for */
			return;
		}
		sync_db_set_state(db, db->detached_by_leader ? DB_DETACHED : DB_ABSENT);
		if (!db->detached_by_leader)
			db_absent(db);
		else
			sync_db_once_finished(db, false, NULL);
		return;
	case SYNC_STEP_DETACH:
		start_detach(db, db->detached_by_leader ? "the leader detached this follower"
		                                        : "the leader dropped the database");
		return;
	case SYNC_STEP_LOG:
	case SYNC_STEP_REPLAY:
		db->step_start = sync_now_ms();
		db_ensure_row(db);
		r = sync_log_start(db, db->plan.step == SYNC_STEP_REPLAY);
		break;
	case SYNC_STEP_CHECKPOINT:
		db->step_start = sync_now_ms();
		db_ensure_row(db);
		r = sync_ckpt_start(db);
		break;
	}
	if (r < 0)
		sync_db_step_done(db, r, NULL,
		                  r == -E2BIG ? "the log is too long to replay (no checkpoint)"
		                              : "out of memory");
}

/* A configuration of this name with another identity takes the database
 * over now that it left the store. */
static int adopt(struct sync_db *db)
{
	const struct conf_attach *c = db->adopt->conf;
	const char *name = db->adopt->star ? strchr(db->name, '/') + 1 : c->database;
	char buf[CONF_MAX_NAME + 1], err[CONF_ERRLEN];
	char *root = strdup(c->leader), *leader_db = strdup(name), *local = NULL;

	if (db->adopt->star &&
	    conf_attach_local_name(c, name, buf, sizeof(buf), err, sizeof(err)) == 0)
		local = strdup(buf);
	else if (!db->adopt->star)
		local = strdup(c->local_name != NULL ? c->local_name : c->database);
	if (root == NULL || leader_db == NULL || local == NULL) {
		free(root);
		free(leader_db);
		free(local);
		return -ENOMEM;
	}
	free(db->root);
	free(db->leader_db);
	free(db->local_name);
	db->root = root;
	db->leader_db = leader_db;
	db->local_name = local;
	db->attach = db->adopt;
	db->adopt = NULL;
	db->in_head = false;
	memset(&db->head, 0, sizeof(db->head));
	db->state = DB_NEW;
	if (db->attach->leader->head != NULL) {
		const struct proto_head_db *h = sync_leader_head_db(db->attach->leader, leader_db);

		sync_db_head(db, h, sync_leader_detached(db->s, h));
	}
	return 0;
}

static void db_evaluate(struct sync_db *db)
{
	if (db->s->stopping || db->doomed || db->step != NULL || db->store_busy)
		return; /* a running step decides again when it ends */
	if (db->attach == NULL && db->stored) {
		start_detach(db, "no configuration follows it any more");
		return;
	}
	if (db->attach == NULL && db->adopt == NULL) {
		sync_db_release(db);
		return;
	}
	if (db->attach == NULL && adopt(db) < 0) {
		db_fail(db, -ENOMEM, NULL, "out of memory");
		return;
	}
	if (db->attach->leader->head == NULL)
		return; /* the first head will kick it */
	plan_now(db, &db->plan);
	if (!local_name_ok(db))
		return;
	(void)snprintf(db->plan_uuid, sizeof(db->plan_uuid), "%s", db->head.uuid);
	if (db->plan.why == SYNC_WHY_REWIND || db->plan.why == SYNC_WHY_UUID ||
	    db->plan.why == SYNC_WHY_FIRST)
		db->replay_to = 0; /* what was known of the views does not hold any more */
	if (db->plan.warn && !db->warned) {
		db->warned = true;
		db_event(db, SYNC_EV_REWIND, NULL, 0,
		         db->plan.why == SYNC_WHY_UUID
		             ? "the leader's database has another uuid (recreated or restored): "
		               "resyncing from a checkpoint"
		             : "the leader's version went back (restored): resyncing from a "
		               "checkpoint");
	}
	run_plan(db);
}

static void db_timer(evutil_socket_t fd, short what, void *arg)
{
	struct sync_db *db = arg;
	int64_t now = sync_now_ms();

	if (db->step == NULL) {
		db->next = 0;
		db_evaluate(db);
	} else if (now < db->deadline) {
		arm(db, db->deadline - now);
	} else if (db->store_busy) {
		sync_db_progress(db); /* the local store is slow, not the leader: wait */
	} else {
		sync_db_step_done(db, -ETIMEDOUT, NULL,
		                  "the step made no progress in two request timeouts");
	}
}

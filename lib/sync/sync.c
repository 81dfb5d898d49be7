/*
 * sync — life, configuration, status and once rounds of the sync engine
 * (see sync.h; the parts are described in sync_int.h).
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "util/timefmt.h"

#define TICKS_PER_MS (PROTO_TICKS_PER_SEC / 1000)

/* ---- small helpers shared by the module ---- */

uint64_t sync_random(struct sync *s)
{
	/* xorshift64*: jitter only, no secrecy needed */
	s->rnd ^= s->rnd >> 12;
	s->rnd ^= s->rnd << 25;
	s->rnd ^= s->rnd >> 27;
	return s->rnd * UINT64_C(2685821657736338717);
}

int64_t sync_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sync_emit(struct sync *s, const struct sync_event *ev)
{
	if (s->cb.event != NULL && !s->freeing)
		s->cb.event(s->cb.arg, ev);
}

void sync_changed(struct sync *s, const struct sync_change *c)
{
	if (s->cb.changed != NULL && !s->freeing)
		s->cb.changed(s->cb.arg, c);
}

int64_t sync_attach_interval_ms(const struct sync *s, const struct conf_attach *a)
{
	int64_t t = a->poll_interval != CONF_UNSET ? a->poll_interval / TICKS_PER_MS : s->poll_ms;

	return t > 0 ? t : 1;
}

int64_t sync_backoff_ms(const struct sync *s, int64_t interval_ms, unsigned attempt)
{
	int64_t min = s->opt.backoff_min_ms, max = s->opt.backoff_max_ms;

	if (min <= 0)
		min = interval_ms < 1000 ? interval_ms : 1000;
	if (max <= 0) {
		max = interval_ms * 10;
		max = max < 2000 ? 2000 : max > 300000 ? 300000 : max;
	}
	return sync_backoff(attempt, min, max, sync_random((struct sync *)s));
}

/* ---- the databases, sorted by name ---- */

static size_t db_slot(const struct sync *s, const char *name, bool *ret_found)
{
	size_t lo = 0, hi = s->ndbs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, s->dbs[mid]->name);

		if (c == 0) {
			*ret_found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*ret_found = false;
	return lo;
}

struct sync_db *sync_find_db(const struct sync *s, const char *name)
{
	bool found;
	size_t i = db_slot(s, name, &found);

	return found ? s->dbs[i] : NULL;
}

int sync_add_db(struct sync *s, struct sync_db *db)
{
	bool found;
	size_t i = db_slot(s, db->name, &found);
	struct sync_db **v;

	if (found)
		return -EEXIST;
	if ((v = realloc(s->dbs, (s->ndbs + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	s->dbs = v;
	memmove(&v[i + 1], &v[i], (s->ndbs - i) * sizeof(*v));
	v[i] = db;
	s->ndbs++;
	return 0;
}

void sync_remove_db(struct sync *s, struct sync_db *db)
{
	bool found;
	size_t i = db_slot(s, db->name, &found);

	if (!found || s->dbs[i] != db)
		return;
	memmove(&s->dbs[i], &s->dbs[i + 1], (s->ndbs - i - 1) * sizeof(*s->dbs));
	s->ndbs--;
}

/* ---- opening: the store's databases and saved configurations ---- */

static int load_views(struct store *st, struct sync_db *db, char *err)
{
	struct store_entity *v = NULL;
	size_t n = 0;
	int r = store_entities(st, db->name, &v, &n, err);

	for (size_t i = 0; r == 0 && i < n; i++)
		if (v[i].e.kind == PROTO_MATERIALIZED_VIEW && v[i].e.source != NULL)
			r = sync_mvs_set(&db->mvs, v[i].e.name, v[i].e.source);
	store_entities_free(v, n);
	return r;
}

static const char *state_word(const char *s)
{
	for (int i = DB_NEW; i <= DB_DETACHED; i++)
		if (strcmp(s, sync_dbstate_name(i)) == 0)
			return sync_dbstate_name(i);
	return NULL;
}

static int load_db(struct sync *s, const struct store_db_info *d, char *err)
{
	struct sync_db *db;
	int r = sync_db_new(s, d->config, d->root, d->leader_db, d->local_name, &db);

	if (r < 0)
		return r;
	db->stored = true;
	(void)snprintf(db->uuid, sizeof(db->uuid), "%s", d->uuid);
	db->applied = d->applied_version;
	db->applied_committed = d->applied_committed;
	db->saved_leader_version = d->leader_version;
	db->head.version = d->leader_version;
	db->head.committed = d->leader_committed;
	db->saved_state = state_word(d->state);
	if (d->last_error != NULL && (db->error = strdup(d->last_error)) == NULL)
		r = -ENOMEM;
	if (r == 0)
		r = load_views(s->store, db, err);
	if (r == 0)
		r = sync_add_db(s, db);
	if (r < 0) {
		db->doomed = true;
		sync_db_put(db);
	}
	return r;
}

static int load_dbs(struct sync *s, char *err)
{
	struct store_db_info *v = NULL;
	size_t n = 0;
	int r = store_db_list(s->store, &v, &n, err);

	for (size_t i = 0; r == 0 && i < n; i++)
		r = load_db(s, &v[i], err);
	store_db_info_array_free(v, n);
	return r;
}

static int save_config(void *arg, const char *name, const char *json)
{
	struct sync *s = arg;
	char **a = realloc(s->saved_names, (s->nsaved + 1) * sizeof(*a));
	char **b;

	if (a == NULL)
		return -ENOMEM;
	s->saved_names = a;
	if ((b = realloc(s->saved_json, (s->nsaved + 1) * sizeof(*b))) == NULL)
		return -ENOMEM;
	s->saved_json = b;
	a[s->nsaved] = strdup(name);
	b[s->nsaved] = strdup(json);
	s->nsaved++;
	return a[s->nsaved - 1] == NULL || b[s->nsaved - 1] == NULL ? -ENOMEM : 0;
}

static void options_default(struct sync_options *o)
{
	if (o->decode_threads == 0)
		o->decode_threads = 2;
	if (o->log_window == 0)
		o->log_window = 4;
	if (o->part_window == 0)
		o->part_window = 3;
	if (o->request_timeout_ms == 0)
		o->request_timeout_ms = 60000;
}

static void once_fire(evutil_socket_t fd, short what, void *arg);

static int sync_open(struct sync *s, char *err)
{
	int r = store_open(s->opt.store_path, &s->store, err);

	if (r == 0)
		r = load_dbs(s, err);
	if (r == 0)
		r = store_config_list(s->store, save_config, s, err);
	if (r == 0 && (s->once_ev = event_new(s->base, -1, 0, once_fire, s)) == NULL)
		r = -ENOMEM;
	if (r == 0)
		r = sync_lane_new(s->base, s->opt.decode_threads, NULL, &s->cpu_lane);
	if (r == 0)
		r = sync_lane_new(s->base, 1, s->store, &s->store_lane);
	if (r == -ENOMEM)
		(void)snprintf(err, SYNC_ERRLEN, "out of memory");
	else if (r < 0 && err[0] == '\0')
		(void)snprintf(err, SYNC_ERRLEN, "cannot start worker threads: %s", strerror(-r));
	return r;
}

int sync_new(struct event_base *base, struct fetch *fetch, const struct sync_options *opt,
             const struct sync_callbacks *cb, struct sync **ret, char *err)
{
	struct sync *s;
	int r;

	err[0] = '\0';
	if (opt == NULL || opt->store_path == NULL) {
		(void)snprintf(err, SYNC_ERRLEN, "no store path");
		return -EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		(void)snprintf(err, SYNC_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	s->base = base;
	s->fetch = fetch;
	s->opt = *opt;
	options_default(&s->opt);
	if (cb != NULL)
		s->cb = *cb;
	s->rnd = opt->seed;
	if (s->rnd == 0 && getrandom(&s->rnd, sizeof(s->rnd), GRND_NONBLOCK) != sizeof(s->rnd))
		s->rnd = (uint64_t)sync_now_ms() ^ (uint64_t)getpid() << 32;
	s->rnd |= 1;
	s->poll_ms = 30000;
	r = sync_open(s, err);
	if (r < 0) {
		sync_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/* ---- stopping and freeing ---- */

static void quiesce(struct sync *s)
{
	s->stopping = true;
	for (size_t i = 0; i < s->nleaders; i++) {
		fetch_cancel(s->leaders[i]->job);
		s->leaders[i]->job = NULL;
		(void)event_del(s->leaders[i]->timer);
	}
	for (size_t i = 0; i < s->ndbs; i++) {
		sync_db_abandon(s->dbs[i]);
		(void)event_del(s->dbs[i]->timer);
	}
	if (s->once_ev != NULL)
		(void)event_del(s->once_ev);
}

static void stop_idle(void *arg)
{
	struct sync *s = arg;

	if (--s->stop_wait == 0 && s->stop_done != NULL)
		s->stop_done(s->stop_arg);
}

void sync_stop(struct sync *s, void (*done)(void *arg), void *arg)
{
	quiesce(s);
	s->stop_done = done;
	s->stop_arg = arg;
	s->stop_wait = 2;
	sync_lane_cancel_queued(s->store_lane);
	sync_lane_cancel_queued(s->cpu_lane);
	sync_lane_when_idle(s->store_lane, stop_idle, s);
	sync_lane_when_idle(s->cpu_lane, stop_idle, s);
}

static void attach_free(struct sync_attach *a)
{
	if (a == NULL)
		return;
	conf_attach_free(a->conf);
	free(a);
}

void sync_free(struct sync *s)
{
	if (s == NULL)
		return;
	quiesce(s);
	sync_lane_free(s->cpu_lane);
	s->freeing = true; /* from here on this thread owns the store */
	sync_lane_free(s->store_lane);
	for (size_t i = 0; i < s->ndbs; i++) {
		s->dbs[i]->doomed = true;
		s->dbs[i]->tasks++;
		sync_db_put(s->dbs[i]);
	}
	free(s->dbs);
	for (size_t i = 0; i < s->nleaders; i++)
		sync_leader_free(s->leaders[i]);
	free(s->leaders);
	for (size_t i = 0; i < s->nattaches; i++)
		attach_free(s->attaches[i]);
	free(s->attaches);
	for (size_t i = 0; i < s->nsaved; i++) {
		free(s->saved_names[i]);
		free(s->saved_json[i]);
	}
	free(s->saved_names);
	free(s->saved_json);
	if (s->once_ev != NULL)
		event_free(s->once_ev);
	store_free(s->store);
	free(s->follower_name);
	free(s);
}

/* ---- status ---- */

static void status_of(const struct sync_db *db, struct sync_status *st)
{
	memset(st, 0, sizeof(*st));
	st->database = db->name;
	st->attach = db->attach != NULL ? db->attach->conf->name : NULL;
	st->local_name = db->local_name;
	st->leader = db->root;
	st->leader_db = db->leader_db;
	st->state = sync_dbstate_name(db->state);
	(void)snprintf(st->uuid, sizeof(st->uuid), "%s", db->uuid);
	st->applied_version = db->applied;
	st->applied_committed = db->applied_committed;
	st->leader_version = db->head.version;
	st->leader_committed = db->head.committed;
	if (db->head.version > db->applied && strcmp(db->head.uuid, db->uuid) == 0)
		st->lag_versions = db->head.version - db->applied;
	else if (db->head.version != db->applied)
		st->lag_versions = db->head.version;
	if (st->lag_versions > 0 && db->head.committed > db->applied_committed)
		st->lag_ticks = db->head.committed - db->applied_committed;
	st->last_error = db->error;
	if (db->state == DB_BACKOFF && db->next > 0) {
		int64_t left = db->next - sync_now_ms();

		st->retry_in_ms = left > 0 ? left : 0;
	}
	st->last_step_ms = db->step_ms;
}

int sync_status(struct sync *s, int (*fn)(void *arg, const struct sync_status *st), void *arg)
{
	struct sync_status st;
	int r = 0;

	for (size_t i = 0; r == 0 && i < s->ndbs; i++) {
		if (s->dbs[i]->doomed)
			continue;
		status_of(s->dbs[i], &st);
		r = fn(arg, &st);
	}
	return r;
}

/* ---- driving ---- */

void sync_poll_now(struct sync *s)
{
	for (size_t i = 0; i < s->nleaders; i++)
		sync_leader_poll_now(s->leaders[i]);
	for (size_t i = 0; i < s->ndbs; i++)
		if (s->dbs[i]->state == DB_BACKOFF) {
			s->dbs[i]->fails = 0;
			sync_db_kick(s->dbs[i]);
		}
}

static void once_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sync *s = arg;
	void (*done)(void *, unsigned, const char *) = s->once_done;

	if (!s->once || s->once_left > 0)
		return;
	for (size_t i = 0; i < s->nleaders; i++)
		if (s->leaders[i]->once_wanted)
			return;
	s->once = false;
	s->once_done = NULL;
	if (done != NULL)
		done(s->once_arg, s->once_failed, s->once_msg);
}

void sync_once_check(struct sync *s)
{
	if (s->once && s->once_left == 0 && !s->stopping)
		event_active(s->once_ev, 0, 0);
}

int sync_once(struct sync *s, void (*done)(void *arg, unsigned failed, const char *message),
              void *arg)
{
	if (s->once)
		return -EBUSY;
	s->once = true;
	s->once_done = done;
	s->once_arg = arg;
	s->once_left = 0;
	s->once_failed = 0;
	s->once_msg[0] = '\0';
	for (size_t i = 0; i < s->ndbs; i++) {
		s->dbs[i]->once_wanted = true;
		s->once_left++;
	}
	for (size_t i = 0; i < s->nleaders; i++) {
		s->leaders[i]->once_wanted = true;
		sync_leader_poll_now(s->leaders[i]);
	}
	/* databases no configuration names are detached without a head */
	for (size_t i = 0; i < s->ndbs; i++)
		if (s->dbs[i]->attach == NULL)
			sync_db_kick(s->dbs[i]);
	sync_once_check(s);
	return 0;
}

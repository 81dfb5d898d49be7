/*
 * sync_task — the work sync hands to its worker threads (see sync_int.h):
 * decoding and checking leader objects on the CPU lane, and every store
 * write on the store lane, whose one thread owns the store connection.
 *
 * A task owns its inputs and outputs.  Big inputs (a decoded commit, a part's
 * records) are freed on the worker once used, so the loop never spends time
 * freeing a million small allocations.  A checkpoint handle moves between the
 * loop's step and the task that uses it; whoever holds it when it is no
 * longer wanted aborts it (on the store thread, or after it has joined).
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "proto/leader_state.h"
#include "util/timefmt.h"

/* ---- store tasks ---- */

static int ensure_row(struct store *st, struct stask *t)
{
	int r = store_db_add(st, t->name, t->root, t->leader_db, t->local_name, t->err);

	if (r == -EEXIST) {
		t->err[0] = '\0';
		return 0;
	}
	t->created = r == 0;
	return r;
}

static void release_on_worker(struct stask *t)
{
	if (t->ck != NULL) {
		store_checkpoint_abort(t->ck);
		t->ck = NULL;
	}
	sync_actions_free(t->recs, t->nrecs);
	t->recs = NULL;
	t->nrecs = 0;
	proto_commit_free(t->commit);
	t->commit = NULL;
	for (size_t i = 0; i < t->ncommits; i++)
		proto_commit_free(t->commits[i]);
	free(t->commits);
	t->commits = NULL;
	t->ncommits = 0;
}

static struct store_filter filter_of(struct stask *t)
{
	struct store_filter f = {.include = sync_filter_include, .arg = t->filter};

	/* Auto-prefetch: a commit's version becomes visible when warm has
	 * cached its hot artifacts (store_db_publish), not at apply. */
	f.prefetch = t->filter != NULL && t->filter->conf != NULL && t->filter->conf->prefetch;
	return f;
}

static int run_apply(struct store *st, struct stask *t)
{
	struct store_filter f = filter_of(t);
	int r = ensure_row(st, t);

	if (r == 0)
		r = store_apply_commit(st, t->name, t->commit, &f, &t->sum, t->err);
	if (r == 0) {
		(void)snprintf(t->uuid, sizeof(t->uuid), "%s", t->commit->uuid);
		t->version = t->commit->version;
		t->committed = t->commit->committed;
	}
	return r;
}

static int run_ck_begin(struct store *st, struct stask *t)
{
	struct store_filter f = filter_of(t);
	int r = ensure_row(st, t);

	if (r == 0)
		r = store_checkpoint_begin(st, t->name, t->manifest, &f, &t->ck, t->err);
	return r;
}

static int run_ck_finish(struct stask *t)
{
	struct store_ckpt *ck = t->ck;

	t->ck = NULL; /* finish frees it, whatever the outcome */
	return store_checkpoint_finish(ck, &t->sum, t->err);
}

/* ---- replay: the log rebuilt in memory, swapped in as one checkpoint ---- */

struct replay {
	struct stask *t;
	struct store_ckpt *ck;
};

static int replay_view(const struct proto_entity *e, uint64_t n, void *arg)
{
	struct stask *t = arg;
	int r;

	if (e->kind != PROTO_MATERIALIZED_VIEW || !sync_filter_include(e->kind, e->name, t->filter))
		return 0;
	r = sync_mvs_set(&t->mvs, e->name, e->source);
	if (r == 0 && !conf_attach_includes(t->filter->conf, CONF_ENTITY_TABLE, e->source))
		r = sync_filter_force(t->filter, e->source);
	return r;
}

static int replay_record(const struct proto_action *a, void *arg)
{
	struct replay *rp = arg;

	return store_checkpoint_feed(rp->ck, a, 1, rp->t->err);
}

static int replay_build(struct stask *t, struct leader_state **ret)
{
	struct leader_state *ls = NULL;
	char lerr[LEADER_STATE_ERRLEN];
	int r = leader_state_new(t->leader_db, t->uuid, &ls);

	for (size_t i = 0; r == 0 && i < t->ncommits; i++) {
		r = leader_state_apply_commit(ls, t->commits[i], lerr);
		if (r < 0)
			(void)snprintf(t->err, sizeof(t->err), "replaying version %llu: %.400s",
			               (unsigned long long)t->commits[i]->version, lerr);
	}
	if (r == 0)
		r = leader_state_foreach_entity(ls, replay_view, t);
	if (r < 0) {
		leader_state_free(ls);
		return r;
	}
	*ret = ls;
	return 0;
}

static int run_replay(struct store *st, struct stask *t)
{
	struct proto_manifest m = {.version = t->version, .committed = t->committed};
	struct leader_state *ls = NULL;
	struct replay rp = {.t = t};
	struct store_filter f = filter_of(t);
	int r = ensure_row(st, t);

	if (r == 0)
		r = replay_build(t, &ls);
	if (r < 0)
		goto out;
	m.database = t->leader_db;
	(void)snprintf(m.uuid, sizeof(m.uuid), "%s", t->uuid);
	leader_state_counts(ls, &m.counts);
	r = store_checkpoint_begin(st, t->name, &m, &f, &rp.ck, t->err);
	if (r == 0)
		r = leader_state_foreach_record(ls, PROTO_MAX_LINE_EXTENTS, replay_record, &rp);
	if (r == 0)
		r = store_checkpoint_finish(rp.ck, &t->sum, t->err);
	else
		store_checkpoint_abort(rp.ck);
out:
	leader_state_free(ls);
	return r;
}

static int run_store(struct store *st, struct stask *t)
{
	int r;

	switch (t->kind) {
	case STK_ENSURE:
		return ensure_row(st, t);
	case STK_STATE:
		return store_db_set_state(st, t->name, t->text, t->err);
	case STK_ERROR:
		return store_db_set_error(st, t->name, t->text, t->err);
	case STK_POLL:
		return store_db_set_poll(st, t->name, t->when, t->version, t->committed, t->err);
	case STK_CONFIG:
		if (t->text != NULL)
			return store_config_put(st, t->name, t->text, t->err);
		r = store_config_delete(st, t->name, t->err);
		return r == -ENOENT ? 0 : r;
	case STK_APPLY:
		return run_apply(st, t);
	case STK_CK_BEGIN:
		return run_ck_begin(st, t);
	case STK_CK_FEED:
		return store_checkpoint_feed(t->ck, t->recs, t->nrecs, t->err);
	case STK_CK_FINISH:
		return run_ck_finish(t);
	case STK_CK_ABORT:
		store_checkpoint_abort(t->ck);
		t->ck = NULL;
		return 0;
	case STK_REPLAY:
		return run_replay(st, t);
	case STK_DETACH:
		r = store_db_detach(st, t->name, t->err);
		return r == -ENOENT ? 0 : r;
	}
	return -EINVAL;
}

static void stask_run(struct sync_task *tt, void *ctx)
{
	struct stask *t = (struct stask *)tt;

	if (t->t.cancelled) {
		t->r = -ECANCELED;
	} else {
		t->r = run_store(ctx, t);
		/* a failed status write is not worth a report: the next one retries */
	}
	/* what is no longer needed is freed here, off the loop */
	if (t->kind != STK_CK_BEGIN && t->kind != STK_CK_FEED)
		release_on_worker(t);
	else if (t->t.cancelled || t->r < 0)
		release_on_worker(t);
	else {
		sync_actions_free(t->recs, t->nrecs);
		t->recs = NULL;
		t->nrecs = 0;
	}
}

static void stask_done(struct sync_task *tt)
{
	struct stask *t = (struct stask *)tt;
	struct sync_db *db = t->db;

	/* the database outlives on_done, which frees t (and its reference) */
	if (db != NULL)
		sync_db_get(db);
	if (t->on_done != NULL && !t->t.cancelled)
		t->on_done(t);
	else
		sync_stask_free(t);
	if (db != NULL)
		sync_db_put(db);
}

struct stask *sync_stask_new(struct sync *s, enum stask_kind kind, struct sync_db *db)
{
	struct stask *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->t.run = stask_run;
	t->t.done = stask_done;
	t->kind = kind;
	t->s = s;
	if (db != NULL) {
		t->db = db;
		t->gen = db->gen;
		sync_db_get(db);
		if ((t->name = strdup(db->name)) == NULL || (t->root = strdup(db->root)) == NULL ||
		    (t->leader_db = strdup(db->leader_db)) == NULL ||
		    (t->local_name = strdup(db->local_name)) == NULL) {
			sync_stask_free(t);
			return NULL;
		}
	}
	return t;
}

void sync_stask_submit(struct stask *t)
{
	sync_lane_submit(t->s->store_lane, &t->t);
}

void sync_stask_free(struct stask *t)
{
	if (t == NULL)
		return;
	if (t->ck != NULL) {
		struct stask *a;

		if (t->s->freeing) {
			/* the store thread has been joined: this thread may use the store */
			store_checkpoint_abort(t->ck);
		} else if ((a = sync_stask_new(t->s, STK_CK_ABORT, NULL)) != NULL) {
			a->ck = t->ck;
			sync_stask_submit(a);
		}
		/* else: out of memory; the staging database stays attached until exit */
		t->ck = NULL;
	}
	release_on_worker(t); /* normally already done on the worker */
	proto_manifest_free(t->manifest);
	sync_filter_unref(t->filter);
	store_summary_clear(&t->sum);
	sync_mvs_clear(&t->mvs);
	free(t->name);
	free(t->root);
	free(t->leader_db);
	free(t->local_name);
	free(t->text);
	if (t->db != NULL)
		sync_db_put(t->db);
	free(t);
}

static void status_write(struct sync *s, enum stask_kind kind, const char *name, const char *text)
{
	struct stask *t;

	if (s->stopping || (t = sync_stask_new(s, kind, NULL)) == NULL)
		return;
	t->name = strdup(name);
	t->text = text != NULL ? strdup(text) : NULL;
	if (t->name == NULL || (text != NULL && t->text == NULL)) {
		sync_stask_free(t);
		return;
	}
	t->when = timefmt_now();
	sync_stask_submit(t);
}

void sync_store_state(struct sync *s, const char *name, const char *state)
{
	status_write(s, STK_STATE, name, state);
}

void sync_store_error(struct sync *s, const char *name, const char *error)
{
	status_write(s, STK_ERROR, name, error);
}

void sync_store_config(struct sync *s, const char *name, const char *json)
{
	status_write(s, STK_CONFIG, name, json);
}

void sync_store_ensure(struct sync *s, const struct sync_db *db)
{
	struct stask *t;

	if (s->stopping || (t = sync_stask_new(s, STK_ENSURE, NULL)) == NULL)
		return;
	t->name = strdup(db->name);
	t->root = strdup(db->root);
	t->leader_db = strdup(db->leader_db);
	t->local_name = strdup(db->local_name);
	if (t->name == NULL || t->root == NULL || t->leader_db == NULL || t->local_name == NULL) {
		sync_stask_free(t);
		return;
	}
	sync_stask_submit(t);
}

void sync_store_poll(struct sync *s, const char *name, uint64_t version, int64_t committed)
{
	struct stask *t;

	if (s->stopping || (t = sync_stask_new(s, STK_POLL, NULL)) == NULL)
		return;
	if ((t->name = strdup(name)) == NULL) {
		sync_stask_free(t);
		return;
	}
	t->version = version;
	t->committed = committed;
	t->when = timefmt_now();
	sync_stask_submit(t);
}

/* ---- decoding tasks ---- */

void sync_actions_free(struct proto_action *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		proto_action_clear(&v[i]);
	free(v);
}

static int errf(struct dtask *t, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int errf(struct dtask *t, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return r;
}

static int check_object(struct dtask *t, const char *what, const char *database, const char *uuid,
                        uint64_t version)
{
	if (strcmp(database, t->database) != 0)
		return errf(t, -EINVAL, "%s names database '%s', not '%s'", what, database,
		            t->database);
	if (strcmp(uuid, t->uuid) != 0)
		return errf(t, -EINVAL, "%s has uuid %s, the head says %s", what, uuid, t->uuid);
	if (version != t->version)
		return errf(t, -EINVAL,
		            "%s has version %llu where %llu was expected (out of order)", what,
		            (unsigned long long)version, (unsigned long long)t->version);
	return 0;
}

static int decode_commit(struct dtask *t)
{
	int r = proto_commit_decode(t->body, t->len, &t->commit, t->err);

	if (r == 0)
		r = check_object(t, "commit", t->commit->database, t->commit->uuid,
		                 t->commit->version);
	return r;
}

static int decode_manifest(struct dtask *t)
{
	int r = proto_manifest_decode(t->body, t->len, &t->manifest, t->err);

	if (r == 0)
		r = check_object(t, "checkpoint manifest", t->manifest->database, t->manifest->uuid,
		                 t->manifest->version);
	return r;
}

static int check_sha256(struct dtask *t)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	char got[PROTO_SHA256_LEN + 1];
	unsigned int n = 0;

	if (EVP_Digest(t->body, t->len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return errf(t, -ENOMEM, "sha256 failed");
	for (unsigned i = 0; i < 32; i++) {
		got[2 * i] = hex[md[i] >> 4];
		got[2 * i + 1] = hex[md[i] & 15];
	}
	got[PROTO_SHA256_LEN] = '\0';
	if (strcmp(got, t->sha256) != 0)
		return errf(t, -EBADMSG, "part sha256 is %s, the manifest says %s", got, t->sha256);
	return 0;
}

static int decode_lines(struct dtask *t)
{
	const char *p = t->body, *end = t->body + t->len;
	size_t cap = t->records > 0 ? (size_t)t->records : 1;
	char msg[PROTO_ERRLEN];
	int r = 0;

	if ((t->recs = calloc(cap, sizeof(*t->recs))) == NULL)
		return -ENOMEM;
	for (size_t line = 1; p < end; line++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl != NULL ? nl : end) - p);

		if (n > 0 && t->nrecs == cap)
			return errf(t, -EINVAL, "part has more records than the manifest's %llu",
			            (unsigned long long)t->records);
		if (n > 0 && (r = proto_record_decode(p, n, &t->recs[t->nrecs], msg)) < 0)
			return errf(t, r, "line %zu: %s", line, msg);
		if (n > 0)
			t->nrecs++;
		p = nl != NULL ? nl + 1 : end;
	}
	if (t->nrecs != t->records)
		return errf(t, -EINVAL, "part has %zu records, the manifest says %llu", t->nrecs,
		            (unsigned long long)t->records);
	return 0;
}

static int decode_part(struct dtask *t)
{
	int r;

	if (t->len != t->size)
		return errf(t, -EBADMSG, "part is %zu bytes, the manifest says %llu", t->len,
		            (unsigned long long)t->size);
	r = check_sha256(t);
	if (r == 0)
		r = decode_lines(t);
	return r;
}

static int decode_head(struct dtask *t)
{
	int r = proto_head_decode(t->body, t->len, &t->head, t->err);

	if (r == 0)
		r = sync_head_index(t->head, &t->order);
	return r;
}

static void dtask_run(struct sync_task *tt, void *ctx)
{
	struct dtask *t = (struct dtask *)tt;

	if (t->t.cancelled)
		t->r = -ECANCELED;
	else if (t->kind == DTK_HEAD)
		t->r = decode_head(t);
	else if (t->kind == DTK_COMMIT)
		t->r = decode_commit(t);
	else if (t->kind == DTK_MANIFEST)
		t->r = decode_manifest(t);
	else
		t->r = decode_part(t);
	if (t->kind != DTK_HEAD) {
		free(t->body); /* a head's is kept to recognise the same head later */
		t->body = NULL;
	}
	if (t->r < 0) {
		proto_commit_free(t->commit);
		t->commit = NULL;
		sync_actions_free(t->recs, t->nrecs);
		t->recs = NULL;
		t->nrecs = 0;
	}
}

static void dtask_done(struct sync_task *tt)
{
	struct dtask *t = (struct dtask *)tt;
	struct sync_db *db = t->db;
	struct sync_leader *l = t->leader;

	/* what the task points at outlives on_done, which frees t */
	if (db != NULL)
		sync_db_get(db);
	if (l != NULL)
		l->tasks++;
	if (t->on_done != NULL && !t->t.cancelled)
		t->on_done(t);
	else
		sync_dtask_free(t);
	if (db != NULL)
		sync_db_put(db);
	if (l != NULL)
		sync_leader_put(l);
}

struct dtask *sync_dtask_new(struct sync_db *db, enum dtask_kind kind, const char *url, char *body,
                             size_t len)
{
	struct dtask *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->url = strdup(url)) == NULL ||
	    (t->database = strdup(db->leader_db)) == NULL) {
		if (t != NULL)
			free(t->url);
		free(t);
		return NULL; /* body was not taken */
	}
	t->t.run = dtask_run;
	t->t.done = dtask_done;
	t->kind = kind;
	t->db = db;
	t->gen = db->gen;
	t->body = body;
	t->len = len;
	sync_db_get(db);
	return t;
}

struct dtask *sync_dtask_new_head(struct sync_leader *l, const char *url, char *body, size_t len)
{
	struct dtask *t = calloc(1, sizeof(*t));

	if (t == NULL || (t->url = strdup(url)) == NULL) {
		free(t);
		return NULL; /* body was not taken */
	}
	t->t.run = dtask_run;
	t->t.done = dtask_done;
	t->kind = DTK_HEAD;
	t->leader = l;
	t->body = body;
	t->len = len;
	l->tasks++;
	return t;
}

void sync_dtask_submit(struct dtask *t)
{
	struct sync *s = t->db != NULL ? t->db->s : t->leader->s;

	sync_lane_submit(s->cpu_lane, &t->t);
}

struct dtask *sync_dtask_fetched(struct sync_db *db, enum dtask_kind kind, struct fetch_result *res)
{
	struct dtask *t;
	char *body;
	size_t len = 0;

	if (res->result < 0) {
		sync_db_step_done(db, res->result, res->url, res->error);
		return NULL;
	}
	body = fetch_result_take_body(res, &len);
	t = sync_dtask_new(db, kind, res->url, body, len);
	if (t == NULL) {
		free(body);
		sync_db_step_done(db, -ENOMEM, res->url, "out of memory");
	}
	return t;
}

void sync_dtask_fail(struct dtask *t)
{
	/* the step ends with bounded copies of the url and the message */
	char url[CONF_MAX_URL + PROTO_MAX_PATH], err[sizeof(t->err)];
	int r = t->r == -ENOMEM ? -ENOMEM : -EBADMSG;

	(void)snprintf(url, sizeof(url), "%s", t->url);
	(void)snprintf(err, sizeof(err), "%s", t->err);
	sync_db_step_done(t->db, r, url, err);
	sync_dtask_free(t);
}

void sync_dtask_free(struct dtask *t)
{
	if (t == NULL)
		return;
	free(t->body);
	free(t->url);
	free(t->database);
	proto_head_free(t->head);
	free(t->order);
	proto_commit_free(t->commit);
	proto_manifest_free(t->manifest);
	sync_actions_free(t->recs, t->nrecs);
	if (t->db != NULL)
		sync_db_put(t->db);
	if (t->leader != NULL)
		sync_leader_put(t->leader);
	free(t);
}

/*
 * sync_conf — sync_set_conf: what the configuration says sync follows.
 *
 * Each [attach] becomes a struct sync_attach bound to the leader object of
 * its root and credentials.  On a reload an attach of the same name keeps its
 * object (and its databases their state) when its identity — leader root,
 * database, local name or prefix — is unchanged; credentials and poll
 * intervals are updated in place; changed include/exclude lists make its
 * databases reload at their next sync.  Databases whose identity no
 * configuration matches any more are detached; a new identity under an old
 * name takes the name over once the old database left the store.
 *
 * Across restarts the same comparison is made against the attach JSON the
 * store keeps from the previous run (store_config_*), and the store's
 * databases are bound the same way.
 */
#include "sync/sync_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define TICKS_PER_MS (PROTO_TICKS_PER_SEC / 1000)

static bool same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool has_item(const struct conf_list *l, const char *item)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i], item) == 0)
			return true;
	return false;
}

/* The same patterns, in any order (a list is a set of patterns). */
static bool same_list(const struct conf_list *a, const struct conf_list *b)
{
	for (size_t i = 0; i < a->n; i++)
		if (!has_item(b, a->items[i]))
			return false;
	for (size_t i = 0; i < b->n; i++)
		if (!has_item(a, b->items[i]))
			return false;
	return true;
}

static bool same_lists(const struct conf_attach *a, const struct conf_attach *b)
{
	return same_list(&a->include_tables, &b->include_tables) &&
	       same_list(&a->exclude_tables, &b->exclude_tables) &&
	       same_list(&a->include_external_tables, &b->include_external_tables) &&
	       same_list(&a->exclude_external_tables, &b->exclude_external_tables) &&
	       same_list(&a->include_materialized_views, &b->include_materialized_views) &&
	       same_list(&a->exclude_materialized_views, &b->exclude_materialized_views);
}

static bool same_identity(const struct conf_attach *a, const struct conf_attach *b)
{
	return strcmp(a->leader, b->leader) == 0 && strcmp(a->database, b->database) == 0 &&
	       same_str(a->local_name, b->local_name) && same_str(a->local_prefix, b->local_prefix);
}

static struct sync_attach *find_attach(struct sync_attach **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] != NULL && strcmp(v[i]->conf->name, name) == 0)
			return v[i];
	return NULL;
}

/* ---- leaders ---- */

static int leader_for(struct sync *s, const struct conf_attach *a, struct sync_leader **ret,
                      char *err)
{
	struct sync_leader **v;
	int r;

	for (size_t i = 0; i < s->nleaders; i++)
		if (sync_leader_matches(s->leaders[i], a)) {
			*ret = s->leaders[i];
			return 0;
		}
	if ((v = realloc(s->leaders, (s->nleaders + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	s->leaders = v;
	r = sync_leader_new(s, a, &v[s->nleaders], err);
	if (r < 0)
		return r;
	*ret = v[s->nleaders++];
	return 0;
}

/* Recounts who uses each leader, frees the unused, starts the new. */
static void leaders_recount(struct sync *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nleaders; i++) {
		s->leaders[i]->users = 0;
		s->leaders[i]->interval_ms = INT64_MAX;
	}
	for (size_t i = 0; i < s->nattaches; i++) {
		struct sync_leader *l = s->attaches[i]->leader;
		int64_t iv = sync_attach_interval_ms(s, s->attaches[i]->conf);

		l->users++;
		if (iv < l->interval_ms)
			l->interval_ms = iv;
	}
	for (size_t i = 0; i < s->nleaders; i++) {
		struct sync_leader *l = s->leaders[i];

		if (l->users == 0) {
			sync_leader_free(l);
			continue;
		}
		s->leaders[n++] = l;
		if (l->head == NULL && l->job == NULL && !evtimer_pending(l->timer, NULL))
			sync_leader_schedule(l, 0);
	}
	s->nleaders = n;
}

/* ---- attaches ---- */

/* The lists the previous run followed this attach with, when the store kept
 * them: true when they differ from a's. */
static bool lists_changed_since_last_run(const struct sync *s, const struct conf_attach *a)
{
	struct conf_attach *old = NULL;
	char err[CONF_ERRLEN];
	json_t *v = NULL;
	bool changed = false;

	for (size_t i = 0; i < s->nsaved; i++)
		if (strcmp(s->saved_names[i], a->name) == 0) {
			v = json_loads(s->saved_json[i], JSON_REJECT_DUPLICATES, NULL);
			break;
		}
	if (v != NULL && conf_attach_from_json(v, CONF_SKIP_SECRETS, &old, err, sizeof(err)) == 0)
		changed = same_identity(old, a) && !same_lists(old, a);
	conf_attach_free(old);
	json_decref(v);
	return changed;
}

/* What one configured attach becomes, prepared before anything changes. */
struct pending {
	struct sync_attach *x; /* the old object (reuse) or a new one */
	bool reuse;
	struct conf_attach *conf; /* the new copy */
	struct sync_leader *leader;
	bool lists; /* its include/exclude lists changed */
};

static int prepare(struct sync *s, const struct conf_attach *a, struct pending *p, char *err)
{
	struct sync_attach *old = find_attach(s->attaches, s->nattaches, a->name);
	int r = conf_attach_copy(a, &p->conf);

	if (r < 0)
		return r;
	if (old != NULL && same_identity(old->conf, a)) {
		p->x = old;
		p->reuse = true;
		p->lists = !same_lists(old->conf, a);
	} else {
		if ((p->x = calloc(1, sizeof(*p->x))) == NULL)
			return -ENOMEM;
		p->x->star = strcmp(a->database, "*") == 0;
		p->lists = !s->configured && lists_changed_since_last_run(s, a);
	}
	return leader_for(s, a, &p->leader, err);
}

static void pending_undo(struct pending *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		conf_attach_free(p[i].conf);
		if (!p[i].reuse)
			free(p[i].x);
	}
}

/* Installs the prepared attaches: cannot fail. */
static void commit(struct sync *s, struct pending *p, size_t n, struct sync_attach **v)
{
	for (size_t i = 0; i < n; i++) {
		struct sync_attach *x = p[i].x;

		if (p[i].reuse) {
			conf_attach_free(x->conf);
			for (size_t j = 0; j < s->nattaches; j++)
				if (s->attaches[j] == x)
					s->attaches[j] =
					    NULL; /* kept: not freed with the old ones */
		}
		x->conf = p[i].conf;
		x->leader = p[i].leader;
		v[i] = x;
	}
}

/* ---- databases ---- */

/* The attach a database of that name, root and names belongs to, or NULL. */
static struct sync_attach *owner_of(struct sync *s, const struct sync_db *db)
{
	const char *slash = strchr(db->name, '/');
	char name[CONF_MAX_NAME + 1], local[CONF_MAX_NAME + 1], err[CONF_ERRLEN];
	struct sync_attach *a;
	size_t n = slash != NULL ? (size_t)(slash - db->name) : strlen(db->name);

	if (n >= sizeof(name))
		return NULL;
	memcpy(name, db->name, n);
	name[n] = '\0';
	a = find_attach(s->attaches, s->nattaches, name);
	if (a == NULL || a->star != (slash != NULL) || strcmp(a->conf->leader, db->root) != 0)
		return NULL;
	if (a->star)
		return strcmp(slash + 1, db->leader_db) == 0 &&
		               conf_attach_local_name(a->conf, db->leader_db, local, sizeof(local),
		                                      err, sizeof(err)) == 0 &&
		               strcmp(local, db->local_name) == 0
		           ? a
		           : NULL;
	return strcmp(a->conf->database, db->leader_db) == 0 &&
	               strcmp(a->conf->local_name != NULL ? a->conf->local_name : a->conf->database,
	                      db->local_name) == 0
	           ? a
	           : NULL;
}

static void bind_db(struct sync *s, struct sync_db *db, bool *changed, size_t nchanged)
{
	struct sync_attach *a = owner_of(s, db);

	if (db->attach != a) {
		sync_db_abandon(db); /* its step used the old attach */
		db->attach = a;
	}
	for (size_t i = 0; a != NULL && i < s->nattaches && i < nchanged; i++)
		if (s->attaches[i] == a && changed[i] && db->stored) {
			db->resync = true;
			db->replay_to = 0; /* the views the new lists include are not known */
		}
	sync_db_kick(db);
}

static int single_db(struct sync *s, struct sync_attach *a)
{
	const struct conf_attach *c = a->conf;
	struct sync_db *db = sync_find_db(s, c->name);
	const char *local = c->local_name != NULL ? c->local_name : c->database;
	int r;

	if (db != NULL) {
		if (db->attach == NULL)
			db->adopt = a; /* takes the name over once detached */
		return 0;
	}
	r = sync_db_new(s, c->name, c->leader, c->database, local, &db);
	if (r < 0)
		return r;
	db->attach = a;
	db->once_wanted = s->once;
	s->once_left += s->once;
	r = sync_add_db(s, db);
	if (r < 0)
		sync_db_release(db);
	else
		sync_db_kick(db);
	return r;
}

/* ---- the whole configuration ---- */

static int daemon_settings(struct sync *s, const struct conf *c)
{
	char host[256];
	const char *name = c->follower_name;
	char *copy;

	s->poll_ms = c->poll_interval / TICKS_PER_MS;
	if (name == NULL) {
		if (gethostname(host, sizeof(host)) < 0)
			(void)snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		name = host;
	}
	if ((copy = strdup(name)) == NULL)
		return -ENOMEM;
	free(s->follower_name);
	s->follower_name = copy;
	return 0;
}

static void save_configs(struct sync *s)
{
	for (size_t i = 0; i < s->nattaches; i++) {
		json_t *v = conf_attach_to_json(s->attaches[i]->conf);
		char *text = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		size_t j;

		for (j = 0; j < s->nsaved && strcmp(s->saved_names[j], s->attaches[i]->conf->name);
		     j++)
			;
		if (text != NULL && (j == s->nsaved || strcmp(s->saved_json[j], text) != 0))
			sync_store_config(s, s->attaches[i]->conf->name, text);
		free(text);
		json_decref(v);
	}
	for (size_t j = 0; j < s->nsaved; j++)
		if (find_attach(s->attaches, s->nattaches, s->saved_names[j]) == NULL)
			sync_store_config(s, s->saved_names[j], NULL);
	for (size_t j = 0; j < s->nsaved; j++) {
		free(s->saved_names[j]);
		free(s->saved_json[j]);
	}
	s->nsaved = 0; /* the store has what is configured now */
}

static void swap_attaches(struct sync *s, struct sync_attach **v, size_t n)
{
	for (size_t i = 0; i < s->nattaches; i++) {
		struct sync_attach *old = s->attaches[i];

		if (old == NULL)
			continue;
		for (size_t j = 0; j < s->ndbs; j++)
			if (s->dbs[j]->attach == old) {
				sync_db_abandon(s->dbs[j]);
				s->dbs[j]->attach = NULL;
			}
		for (size_t j = 0; j < s->ndbs; j++)
			if (s->dbs[j]->adopt == old)
				s->dbs[j]->adopt = NULL;
		conf_attach_free(old->conf);
		free(old);
	}
	free(s->attaches);
	s->attaches = v;
	s->nattaches = n;
}

int sync_set_conf(struct sync *s, const struct conf *c, char *err)
{
	size_t n = c->nattach;
	struct pending *p = calloc(n + 1, sizeof(*p));
	struct sync_attach **v = calloc(n + 1, sizeof(*v));
	bool *changed = calloc(n + 1, sizeof(*changed));
	int r = p == NULL || v == NULL || changed == NULL ? -ENOMEM : daemon_settings(s, c);

	err[0] = '\0';
	for (size_t i = 0; r == 0 && i < n; i++)
		r = prepare(s, c->attach[i], &p[i], err);
	if (r < 0) {
		if (p != NULL)
			pending_undo(p, n);
		leaders_recount(s); /* frees leaders made for nothing */
		if (err[0] == '\0')
			(void)snprintf(err, SYNC_ERRLEN, "out of memory");
		free(p);
		free(v);
		free(changed);
		return r;
	}
	for (size_t i = 0; i < n; i++)
		changed[i] = p[i].lists;
	commit(s, p, n, v);
	free(p);
	swap_attaches(s, v, n);
	leaders_recount(s);
	for (size_t i = 0; i < s->ndbs; i++)
		bind_db(s, s->dbs[i], changed, n);
	for (size_t i = 0; r == 0 && i < s->nattaches; i++)
		if (!s->attaches[i]->star)
			r = single_db(s, s->attaches[i]);
	for (size_t i = 0; i < s->nleaders; i++)
		sync_leader_hand_out(s->leaders[i]);
	save_configs(s);
	s->configured = true;
	free(changed);
	if (r < 0)
		(void)snprintf(err, SYNC_ERRLEN, "out of memory");
	return r;
}

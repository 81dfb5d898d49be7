/*
 * warm_demand — read-through: artifacts fetched because a request asked
 * for them (see warm.h).
 *
 * One struct art per sha256 asked for, holding the requests that wait
 * (struct warm_demand).  Its life: LOOKUP (a worker job finds the extent
 * that references it, hence the URL, and whether the cache holds it
 * already), then QUEUED (waiting for one of the cache_demand_concurrency
 * slots), FETCH (our download) or JOINED (the warmer's own download of the
 * same sha256, started before), then settled: every waiter gets its own
 * descriptor of the committed object, or the error.  The art is freed when
 * settled, or when its lookup returns and nobody waits any more.
 *
 * Only the pin list is shared with the worker (eviction asks it), under a
 * mutex; everything else is the loop's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/azure.h"
#include "cache/cache.h"
#include "conf/conf.h"
#include "net/fetch.h"
#include "store/store.h"
#include "cache/warm_int.h"

#define DM_ERRLEN 1024

enum art_state { A_LOOKUP, A_QUEUED, A_FETCH, A_JOINED };

struct warm_demand {
	struct warm_demand *next;
	struct art *art;
	warm_demand_fn done;
	void *arg;
};

struct art {
	struct art *next;       /* dm->arts */
	struct art *next_queue; /* dm->queue */
	struct warm_dm *dm;
	enum art_state state;
	char sha[CACHE_SHA256_LEN + 1];
	char *want_db; /* the first request's database; NULL: any */
	struct warm_demand *waiters;
	bool in_lookup; /* the worker job holds it */
	/* the lookup's answer (worker writes, loop reads after) */
	int lr; /* 0 found, 1 cached already, < 0 error */
	uint64_t size;
	char *db, *root, *path, *table;
	/* the transfer's error text, when it failed */
	int xr;
	char *xerr;
};

struct pin {
	char sha[CACHE_SHA256_LEN + 1];
	int64_t until_ms; /* INT64_MAX: while requests wait */
};

struct warm_dm {
	struct warm *w;
	unsigned max, running;
	int64_t keep_ms; /* how long a served artifact stays pinned */
	struct art *arts;
	struct art *queue, **queue_tail;
	struct warm_demand_stats st;
	struct store *ro; /* the worker's read-only handle */
	pthread_mutex_t mu;
	struct pin *pins;
	size_t npins, cappins;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- pins (any thread) ---- */

/* Pins sha until until_ms (replacing its pin), dropping expired pins. */
static void pin_set(struct warm_dm *dm, const char *sha, int64_t until_ms)
{
	int64_t now = mono_ms();
	size_t n = 0;

	(void)pthread_mutex_lock(&dm->mu);
	for (size_t i = 0; i < dm->npins; i++)
		if (dm->pins[i].until_ms > now && strcmp(dm->pins[i].sha, sha) != 0)
			dm->pins[n++] = dm->pins[i];
	dm->npins = n;
	if (n == dm->cappins) {
		size_t cap = n ? n * 2 : 16;
		struct pin *v = realloc(dm->pins, cap * sizeof(*v));

		if (v == NULL)
			goto out; /* not pinned: at worst evicted and fetched again */
		dm->pins = v;
		dm->cappins = cap;
	}
	(void)snprintf(dm->pins[n].sha, sizeof(dm->pins[n].sha), "%s", sha);
	dm->pins[n].until_ms = until_ms;
	dm->npins++;
out:
	(void)pthread_mutex_unlock(&dm->mu);
}

int64_t warm_dm_pin_until_(struct warm_dm *dm, const char *sha256)
{
	int64_t now = mono_ms(), until = 0;

	(void)pthread_mutex_lock(&dm->mu);
	for (size_t i = 0; until == 0 && i < dm->npins; i++)
		if (dm->pins[i].until_ms > now && strcmp(dm->pins[i].sha, sha256) == 0)
			until = dm->pins[i].until_ms;
	(void)pthread_mutex_unlock(&dm->mu);
	return until;
}

/* ---- arts ---- */

static void art_free(struct art *a)
{
	if (a == NULL)
		return;
	while (a->waiters != NULL) {
		struct warm_demand *d = a->waiters;

		a->waiters = d->next;
		free(d);
	}
	free(a->want_db);
	free(a->db);
	free(a->root);
	free(a->path);
	free(a->table);
	free(a->xerr);
	free(a);
}

static struct art *art_find(struct warm_dm *dm, const char *sha)
{
	for (struct art *a = dm->arts; a != NULL; a = a->next)
		if (strcmp(a->sha, sha) == 0)
			return a;
	return NULL;
}

static void art_unlink(struct warm_dm *dm, struct art *a)
{
	for (struct art **p = &dm->arts; *p != NULL; p = &(*p)->next)
		if (*p == a) {
			*p = a->next;
			return;
		}
}

/* ---- the lookup (worker) ---- */

static int look_row(void *arg, int ncols, const char *const *v)
{
	struct art *a = arg;

	if (ncols < 5 || v[0] == NULL || v[1] == NULL || v[3] == NULL)
		return 0;
	if (a->want_db != NULL && strcmp(v[0], a->want_db) != 0)
		return 0;
	a->db = strdup(v[0]);
	a->root = strdup(v[1]);
	/* NULL: the canonical path (the store keeps only other ones) */
	if (v[2] == NULL && asprintf(&a->path, "artifacts/%.2s/%s", a->sha, a->sha) < 0)
		a->path = NULL;
	else if (v[2] != NULL)
		a->path = strdup(v[2]);
	a->size = strtoull(v[3], NULL, 10);
	a->table = strdup(v[4] != NULL ? v[4] : "");
	return a->db != NULL && a->root != NULL && a->path != NULL && a->table != NULL ? 1
	                                                                               : -ENOMEM;
}

/* Which database, root, path and size an extent gives sha; 0, 1 when the
 * cache holds it, or a negative errno. */
static void dm_lookup(struct warm *w, void *arg)
{
	struct art *a = arg;
	struct warm_dm *dm = warm_dm_(w);
	char err[STORE_ERRLEN], sql[512];
	int r = 0;

	if (dm->ro == NULL)
		r = store_open_readonly(warm_store_path_(w), &dm->ro, err);
	(void)snprintf(sql, sizeof(sql),
	               "SELECT d.config, d.root, a.path, a.size, n.name FROM artifacts a "
	               "JOIN extents e ON e.id = a.extent JOIN databases d ON d.id = e.db "
	               "LEFT JOIN entities n ON n.id = e.entity WHERE a.sha256 = x'%s'",
	               a->sha);
	if (r == 0)
		r = store_query(dm->ro, sql, look_row, a, err);
	if (r == 0)
		r = -ENOENT;
	else if (r == 1)
		r = cache_has(warm_cache_(w), a->sha, a->size) ? 1 : 0;
	a->lr = r;
}

/* ---- settling ---- */

static const char *why_of(const struct art *a, int r, bool cache, char *buf, size_t len)
{
	if (r == -ENOENT && a->state == A_LOOKUP)
		(void)snprintf(buf, len, "no extent%s%s references artifact %s",
		               a->want_db != NULL ? " of " : "",
		               a->want_db != NULL ? a->want_db : "", a->sha);
	else if (r == -EBADMSG)
		(void)snprintf(
		    buf, len,
		    "artifact %s: the downloaded bytes have another sha256 (set aside in "
		    "quarantine, never served)",
		    a->sha);
	else if (r == -EMSGSIZE)
		(void)snprintf(buf, len,
		               "artifact %s: the leader sent fewer bytes than the %llu declared",
		               a->sha, (unsigned long long)a->size);
	else if (r == -EFBIG)
		(void)snprintf(buf, len,
		               "artifact %s: the leader sent more bytes than the %llu declared",
		               a->sha, (unsigned long long)a->size);
	else if (cache)
		(void)snprintf(buf, len, "artifact %s: the cache cannot store it: %s", a->sha,
		               strerror(-r));
	else if (a->xerr != NULL && a->xr == r)
		(void)snprintf(buf, len, "artifact %s: %s", a->sha, a->xerr);
	else
		(void)snprintf(buf, len, "artifact %s: %s", a->sha, strerror(-r));
	return buf;
}

/* Errors of the cache's disk rather than of the leader. */
static bool cache_errno(int r, bool open)
{
	return open || r == -ENOSPC || r == -EDQUOT || r == -EROFS || r == -EBUSY;
}

/* Answers every waiter of a and frees it: r == 0 with a descriptor each. */
static void art_settle(struct warm_dm *dm, struct art *a, int r, bool open)
{
	struct warm_demand_result res = {.result = r, .fd = -1, .size = a->size};
	char err[DM_ERRLEN];
	int fd = -1;

	if (r == 0)
		r = res.result = cache_open_object(warm_cache_(dm->w), a->sha, a->size, &fd);
	res.cache = r < 0 && (cache_errno(r, open) || (r == -EACCES && a->xerr == NULL));
	if (r < 0)
		res.error = why_of(a, r, res.cache, err, sizeof(err));
	pin_set(dm, a->sha, r == 0 ? mono_ms() + dm->keep_ms : 0);
	art_unlink(dm, a);
	while (a->waiters != NULL) {
		struct warm_demand *d = a->waiters;

		a->waiters = d->next;
		res.fd = r == 0 ? (a->waiters == NULL ? fd : dup(fd)) : -1;
		if (r == 0 && res.fd < 0) {
			res.result = -errno;
			res.error = why_of(a, res.result, true, err, sizeof(err));
		}
		dm->st.waiting--;
		dm->st.failed += res.result < 0;
		d->done(d->arg, &res);
		free(d);
	}
	if (r == 0 && fd >= 0 && res.fd != fd)
		(void)close(fd); /* the last waiter was cancelled meanwhile: unreachable */
	art_free(a);
}

static void pump(struct warm_dm *dm);

/* Starts a's download, ahead of the warmer's queue. */
static int art_fetch(struct warm_dm *dm, struct art *a)
{
	const struct conf_attach *at = warm_attach_(dm->w, a->db);
	char base[4096], url[8192], out[8192], err[256];
	const char *sas = at != NULL ? at->sas_token : NULL, *account = NULL;
	struct azure_url u;
	size_t n;

	(void)snprintf(base, sizeof(base), "%s%s", a->root[0] == '/' ? "file://" : "", a->root);
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		base[--n] = '\0';
	if (snprintf(url, sizeof(url), "%s/%s", base, a->path) >= (int)sizeof(url))
		return -ENAMETOOLONG;
	if (sas != NULL &&
	    azure_sas_append(url, sas[0] == '?' ? sas + 1 : sas, out, sizeof(out)) < 0)
		return -ENAMETOOLONG;
	if (sas != NULL)
		memcpy(url, out, sizeof(url));
	if (at != NULL && at->account_key != NULL &&
	    azure_url_parse(at->leader, &u, err, sizeof(err)) == 0)
		account = u.account;
	return warm_fetch_(dm->w, a->sha, a->size, url, account,
	                   account != NULL ? at->account_key : NULL, a->db, a->table);
}

/* Starts a's download now, or queues it for a slot. */
static void art_start(struct warm_dm *dm, struct art *a)
{
	int r;

	if (warm_in_flight_(dm->w, a->sha)) {
		a->state = A_JOINED;
		warm_hurry_(dm->w, a->sha);
		return;
	}
	if (dm->running >= dm->max) {
		a->state = A_QUEUED;
		a->next_queue = NULL;
		*dm->queue_tail = a;
		dm->queue_tail = &a->next_queue;
		dm->st.queued++;
		return;
	}
	a->state = A_FETCH;
	if ((r = art_fetch(dm, a)) < 0)
		return art_settle(dm, a, r, true);
	dm->running++;
	dm->st.downloads++;
}

/* Starts queued downloads while there are slots. */
static void pump(struct warm_dm *dm)
{
	while (dm->queue != NULL && dm->running < dm->max) {
		struct art *a = dm->queue;

		dm->queue = a->next_queue;
		if (dm->queue == NULL)
			dm->queue_tail = &dm->queue;
		dm->st.queued--;
		if (a->waiters == NULL) {
			art_unlink(dm, a);
			art_free(a);
			continue;
		}
		art_start(dm, a);
	}
}

/* The lookup is back (loop). */
static void dm_looked(struct warm *w, void *arg)
{
	struct art *a = arg;
	struct warm_dm *dm = warm_dm_(w);

	a->in_lookup = false;
	if (a->waiters == NULL) {
		art_unlink(dm, a);
		art_free(a);
		return;
	}
	if (a->lr < 0)
		return art_settle(dm, a, a->lr, false);
	if (a->lr == 1)
		return art_settle(dm, a, 0, false);
	art_start(dm, a);
}

void warm_dm_transfer_(struct warm_dm *dm, const char *sha256, const struct fetch_result *res)
{
	struct art *a = art_find(dm, sha256);

	if (a == NULL || res->result == 0 || (a->state != A_FETCH && a->state != A_JOINED))
		return;
	free(a->xerr);
	a->xr = res->result;
	a->xerr = strdup(res->error != NULL && res->error[0] != '\0' ? res->error : "failed");
}

void warm_dm_settle_(struct warm_dm *dm, const char *sha256, int r, bool open)
{
	struct art *a = art_find(dm, sha256);
	bool ours;

	if (a == NULL || (a->state != A_FETCH && a->state != A_JOINED))
		return;
	ours = a->state == A_FETCH;
	/* the writer's own failures (past the transfer) are the cache's */
	art_settle(
	    dm, a, r,
	    open || (r < 0 && a->xerr == NULL && r != -EBADMSG && r != -EMSGSIZE && r != -EFBIG));
	if (ours)
		dm->running--;
	pump(dm);
}

/* ---- the API ---- */

int warm_demand(struct warm *w, const char *sha256, const char *database, warm_demand_fn done,
                void *arg, struct warm_demand **ret)
{
	struct warm_dm *dm = warm_dm_(w);
	struct warm_demand *d;
	struct art *a;

	if (!cache_valid_sha256(sha256))
		return -EINVAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->done = done;
	d->arg = arg;
	dm->st.requests++;
	if ((a = art_find(dm, sha256)) != NULL) {
		dm->st.shared++;
		goto add;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (database != NULL && (a->want_db = strdup(database)) == NULL))
		goto fail;
	a->dm = dm;
	memcpy(a->sha, sha256, sizeof(a->sha));
	a->state = A_LOOKUP;
	a->in_lookup = true;
	if (warm_call_(w, dm_lookup, dm_looked, a) < 0)
		goto fail;
	a->next = dm->arts;
	dm->arts = a;
	pin_set(dm, sha256, INT64_MAX);
add:
	d->art = a;
	d->next = a->waiters;
	a->waiters = d;
	dm->st.waiting++;
	*ret = d;
	return 0;
fail:
	art_free(a);
	free(d);
	return -ENOMEM;
}

void warm_demand_cancel(struct warm_demand *d)
{
	struct art *a;

	if (d == NULL)
		return;
	a = d->art;
	for (struct warm_demand **p = &a->waiters; *p != NULL; p = &(*p)->next)
		if (*p == d) {
			*p = d->next;
			break;
		}
	a->dm->st.waiting--;
	free(d);
	/* the lookup, a queued or running download go on: freed when done */
}

void warm_demand_stats(struct warm *w, struct warm_demand_stats *ret)
{
	*ret = warm_dm_(w)->st;
}

void warm_dm_set_conf_(struct warm_dm *dm, unsigned max_downloads, int64_t keep_ms)
{
	dm->max = max_downloads > 0 ? max_downloads : 1;
	dm->keep_ms = keep_ms;
	pump(dm);
}

int warm_dm_new_(struct warm *w, unsigned max_downloads, int64_t keep_ms, struct warm_dm **ret)
{
	struct warm_dm *dm = calloc(1, sizeof(*dm));

	if (dm == NULL)
		return -ENOMEM;
	if (pthread_mutex_init(&dm->mu, NULL) != 0) {
		free(dm);
		return -ENOMEM;
	}
	dm->w = w;
	dm->max = max_downloads > 0 ? max_downloads : 1;
	dm->keep_ms = keep_ms;
	dm->queue_tail = &dm->queue;
	*ret = dm;
	return 0;
}

void warm_dm_free_(struct warm_dm *dm)
{
	if (dm == NULL)
		return;
	while (dm->arts != NULL) {
		struct art *a = dm->arts;

		dm->arts = a->next;
		art_free(a);
	}
	store_free(dm->ro);
	free(dm->pins);
	(void)pthread_mutex_destroy(&dm->mu);
	free(dm);
}

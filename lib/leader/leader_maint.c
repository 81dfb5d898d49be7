/*
 * leader_maint — verify and vacuum (see leader.h).
 *
 * Both walk the objects under db/<uuid>/ and artifacts/ with target_list and
 * rebuild each database's state from the oldest published log, which is the
 * only way to know every version a follower may still be at.
 *
 * Vacuum keeps the invariant that lets it do this again next time: log_start
 * is only ever raised to one past a checkpoint that is kept, so the state at
 * log_start - 1 can always be loaded.  An artifact may go when no version from
 * that kept checkpoint on references it and, if a published commit dropped
 * it, that commit is older than the grace period; an object is never deleted
 * while its last-modified time is within the grace period (a commit in
 * progress uploads artifacts before it takes the lock).
 */
#include "leader/leader_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "util/timefmt.h"

/* ---- listing and classifying objects ---- */

struct obj {
	char *path;
	uint64_t size;
	int64_t mtime; /* seconds */
};

struct objlist {
	struct obj *v;
	size_t n;
	size_t cap;
};

enum objkind { OBJ_LOG, OBJ_MANIFEST, OBJ_PART, OBJ_TEMP, OBJ_OTHER };

struct objinfo {
	enum objkind kind;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
};

static void objlist_clear(struct objlist *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->v[i].path);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

static int list_cb(const char *path, uint64_t size, int64_t mtime, void *arg)
{
	struct objlist *o = arg;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 256;
		struct obj *v = realloc(o->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		o->v = v;
		o->cap = cap;
	}
	o->v[o->n].path = strdup(path);
	if (!o->v[o->n].path)
		return -ENOMEM;
	o->v[o->n].size = size;
	o->v[o->n].mtime = mtime;
	o->n++;
	return 0;
}

static int list_objects(struct leader *l, const char *prefix, struct objlist *ret)
{
	int r = target_list(l->t, prefix, list_cb, ret);

	if (r == -ENOMEM)
		return leader_fail(l, r, "listing %s: out of memory", prefix);
	return r < 0 ? leader_fail_target(l, r, prefix) : 0;
}

/* A 20-digit version followed by suffix, or -EINVAL. */
static int parse_version(const char *s, const char *suffix, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < 20; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (strncmp(s + 20, suffix, strlen(suffix)) != 0)
		return -EINVAL;
	*ret = v;
	return 0;
}

static void classify(const char *path, struct objinfo *ret)
{
	const char *base = strrchr(path, '/'), *rest;

	memset(ret, 0, sizeof(*ret));
	ret->kind = OBJ_OTHER;
	if (strncmp(path, "db/", 3) == 0 && strlen(path) > 3 + PROTO_UUID_LEN &&
	    path[3 + PROTO_UUID_LEN] == '/')
		memcpy(ret->uuid, path + 3, PROTO_UUID_LEN);
	if (strncmp(base ? base + 1 : path, ".tmp-", 5) == 0) {
		ret->kind = OBJ_TEMP;
		return;
	}
	if (!ret->uuid[0])
		return;
	rest = path + 3 + PROTO_UUID_LEN + 1;
	if (strncmp(rest, "log/", 4) == 0 && strlen(rest) == 4 + 20 + 5 &&
	    parse_version(rest + 4, ".json", &ret->version) == 0)
		ret->kind = OBJ_LOG;
	else if (strncmp(rest, "checkpoint/", 11) == 0 && strlen(rest) > 11 + 21 &&
	         parse_version(rest + 11, "/", &ret->version) == 0)
		ret->kind = strcmp(rest + 32, "manifest.json") == 0 ? OBJ_MANIFEST : OBJ_PART;
}

/* The versions of uuid's objects of one kind in a listing, sorted, so that a
 * database with many versions is checked in O(n log n), not O(n^2). */
struct versions {
	uint64_t *v;
	size_t n;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int versions_of(const struct objlist *o, const char *uuid, enum objkind kind,
                       struct versions *ret)
{
	size_t i;

	ret->n = 0;
	ret->v = malloc((o->n ? o->n : 1) * sizeof(*ret->v));
	if (!ret->v)
		return -ENOMEM;
	for (i = 0; i < o->n; i++) {
		struct objinfo info;

		classify(o->v[i].path, &info);
		if (info.kind == kind && strcmp(info.uuid, uuid) == 0)
			ret->v[ret->n++] = info.version;
	}
	if (ret->n)
		qsort(ret->v, ret->n, sizeof(*ret->v), cmp_u64);
	return 0;
}

static bool versions_has(const struct versions *vs, uint64_t version)
{
	return vs->n && bsearch(&version, vs->v, vs->n, sizeof(*vs->v), cmp_u64) != NULL;
}

/* ---- verify ---- */

struct verify {
	struct leader *l;
	leader_report_fn fn;
	void *arg;
	size_t problems;
	/* Paths already re-hashed: two independent 64-bit hashes per path. */
	uint64_t (*seen)[2];
	size_t nseen;
	size_t capseen;
	const char *dbname;
	const struct leader_state *st; /* the database's state (its extents' tables) */
	struct leader_rowcheck rows;   /* the extent being verified */
};

static void problem(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct verify *v, const char *fmt, ...)
{
	char line[LEADER_ERRLEN + 256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	v->problems++;
	v->fn(line, v->arg);
}

static void path_hashes(const char *s, uint64_t ret[2])
{
	uint64_t a = 14695981039346656037ULL, b = 0x84222325cbf29ce4ULL;

	for (; *s; s++) {
		a = (a ^ (unsigned char)*s) * 1099511628211ULL;
		b = (b + (unsigned char)*s) * 0x9e3779b97f4a7c15ULL;
		b ^= b >> 29;
	}
	ret[0] = a;
	ret[1] = b | 1; /* never {x, 0}: a zero second word marks an empty slot */
}

/* Returns true when path was seen before, and remembers it. */
static int seen_before(struct verify *v, const char *path, bool *ret)
{
	uint64_t h[2];
	size_t j, mask;

	if ((v->nseen + 1) * 2 > v->capseen) {
		size_t cap = v->capseen ? v->capseen * 2 : 1024, i;
		uint64_t(*slots)[2] = calloc(cap, sizeof(*slots));

		if (!slots)
			return -ENOMEM;
		for (i = 0; i < v->capseen; i++) {
			if (!v->seen[i][1])
				continue;
			for (j = v->seen[i][0] & (cap - 1); slots[j][1]; j = (j + 1) & (cap - 1))
				;
			memcpy(slots[j], v->seen[i], sizeof(slots[j]));
		}
		free(v->seen);
		v->seen = slots;
		v->capseen = cap;
	}
	path_hashes(path, h);
	mask = v->capseen - 1;
	for (j = h[0] & mask; v->seen[j][1]; j = (j + 1) & mask) {
		if (v->seen[j][0] == h[0] && v->seen[j][1] == h[1]) {
			*ret = true;
			return 0;
		}
	}
	memcpy(v->seen[j], h, sizeof(h));
	v->nseen++;
	*ret = false;
	return 0;
}

/* An artifact being re-hashed as it streams in: never held whole. */
struct hashing {
	EVP_MD_CTX *md;
	uint64_t len;
	struct leader_rowcheck *rows; /* typed: its rows read from the same pieces */
};

static int hash_piece(const void *data, size_t len, void *arg)
{
	struct hashing *h = arg;

	h->len += len;
	if (h->rows != NULL)
		leader_rowcheck_piece(h->rows, data, len);
	return EVP_DigestUpdate(h->md, data, len) == 1 ? 0 : -ENOMEM;
}

/* Streams the artifact at path (at most max bytes) through SHA-256, and
 * through rows when it is typed. */
static int hash_object(struct verify *v, const char *path, uint64_t max,
                       struct leader_rowcheck *rows, uint64_t *ret_len,
                       char ret_sha[PROTO_SHA256_LEN + 1])
{
	struct hashing h = {EVP_MD_CTX_new(), 0, rows};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int r = h.md && EVP_DigestInit_ex(h.md, EVP_sha256(), NULL) == 1 ? 0 : -ENOMEM;

	if (r == 0)
		r = target_read(v->l->t, path, max, hash_piece, &h);
	if (r == 0 && EVP_DigestFinal_ex(h.md, md, &mdlen) != 1)
		r = -ENOMEM;
	if (r == 0) {
		leader_state_sha_format(md, ret_sha);
		*ret_len = h.len;
	}
	EVP_MD_CTX_free(h.md);
	return r;
}

/* The rows of a typed artifact must parse (data a follower can load);
 * they were read as it streamed in (a verified artifact's verdict only). */
static void rows_verdict(struct verify *v, const struct proto_extent *e,
                         const struct proto_artifact *a, bool good)
{
	char why[LEADER_ERRLEN];

	if (leader_rowcheck_end(&v->rows, why, sizeof(why)) < 0 && good)
		problem(v, "%s: rows of extent %s of %s.%s: %s", a->path, e->id, v->dbname,
		        e->table, why);
}

/* Re-hashes an artifact as it streams in (and reads its rows when typed):
 * true in *ret_good when it is there with the size and sha256 the extent
 * says. */
static int check_artifact(struct verify *v, const struct proto_extent *e,
                          const struct proto_artifact *a, bool *ret_good)
{
	char sha[PROTO_SHA256_LEN + 1];
	struct leader_rowcheck *rows = v->rows.cs ? &v->rows : NULL;
	uint64_t len = 0;
	int r;

	if (rows != NULL)
		leader_rowcheck_begin(rows, a);
	r = hash_object(v, a->path, a->size, rows, &len, sha);
	if (rows != NULL)
		rows_verdict(v, e, a, r == 0 && len == a->size && strcmp(sha, a->sha256) == 0);

	if (r == -ENOENT) {
		problem(v, "%s: missing (extent %s of %s.%s)", a->path, e->id, v->dbname, e->table);
		return 0;
	}
	if (r == -EFBIG || r == -E2BIG) {
		problem(v, "%s: larger than the %llu bytes extent %s of %s.%s says", a->path,
		        (unsigned long long)a->size, e->id, v->dbname, e->table);
		return 0;
	}
	if (r == -ENOMEM)
		return leader_fail(v->l, r, "%s: out of memory", a->path);
	if (r < 0)
		return leader_fail_target(v->l, r, a->path);
	if (len != a->size)
		problem(v, "%s: %llu bytes where extent %s of %s.%s says %llu", a->path,
		        (unsigned long long)len, e->id, v->dbname, e->table,
		        (unsigned long long)a->size);
	else if (strcmp(sha, a->sha256) != 0)
		problem(v, "%s: sha256 %s where extent %s of %s.%s says %s", a->path, sha, e->id,
		        v->dbname, e->table, a->sha256);
	else
		*ret_good = true;
	return 0;
}

static int verify_artifact(struct verify *v, const struct proto_extent *e,
                           const struct proto_artifact *a)
{
	bool seen = false, good = false;
	int r = seen_before(v, a->path, &seen);

	if (r == 0 && !seen)
		r = check_artifact(v, e, a, &good);
	/* Rows are counted only when every artifact of the extent was read. */
	v->rows.complete &= good;
	return r;
}

static int verify_extent_cb(const struct proto_extent *e, void *arg)
{
	struct verify *v = arg;
	char why[LEADER_ERRLEN];
	size_t k;
	int r = leader_rowcheck_init(&v->rows, v->st, e);

	if (r < 0)
		return leader_fail(v->l, r, "out of memory");
	for (k = 0; r == 0 && k < e->nartifacts; k++)
		r = verify_artifact(v, e, &e->artifacts[k]);
	if (r == 0 && v->rows.cs && v->rows.complete && !v->rows.failed &&
	    leader_rowcheck_compare(&v->rows, e, why, sizeof(why)) < 0)
		problem(v, "extent %s of %s.%s: %s", e->id, v->dbname, e->table, why);
	leader_rowcheck_clear(&v->rows);
	return r;
}

/* Loads checkpoint c, replays the log after it and compares with want. */
static void verify_checkpoint(struct verify *v, const struct proto_head_db *db, uint64_t c,
                              const unsigned char *want)
{
	struct leader_state *st = NULL;
	unsigned char got[LEADER_STATE_DIGEST_LEN];
	int r = leader_state_new(db->name, db->uuid, &st);

	if (r == 0)
		r = leader_load_checkpoint(v->l, st, c, NULL);
	if (r == 0 && want && c + 1 >= db->log_start)
		r = leader_load_log(v->l, st, c + 1, db->version, NULL, NULL);
	if (r < 0)
		problem(v, "%s: checkpoint %llu: %s", db->name, (unsigned long long)c,
		        leader_error(v->l));
	else if (want && c + 1 >= db->log_start && leader_state_digest(st, got) == 0 &&
	         memcmp(got, want, sizeof(got)) != 0)
		problem(v, "%s: checkpoint %llu plus the log does not give the state the log gives",
		        db->name, (unsigned long long)c);
	leader_state_free(st);
}

static int verify_layout(struct verify *v, const struct proto_head_db *db, const struct objlist *o)
{
	struct versions logs, manifests = {0};
	uint64_t ver;
	int r = versions_of(o, db->uuid, OBJ_LOG, &logs);

	if (r == 0)
		r = versions_of(o, db->uuid, OBJ_MANIFEST, &manifests);
	for (ver = db->log_start; r == 0 && ver <= db->version; ver++)
		if (!versions_has(&logs, ver))
			problem(v, "%s: log object of version %llu is missing", db->name,
			        (unsigned long long)ver);
	if (r == 0 && db->checkpoint && !versions_has(&manifests, db->checkpoint))
		problem(v, "%s: checkpoint %llu named by the head is missing", db->name,
		        (unsigned long long)db->checkpoint);
	free(logs.v);
	free(manifests.v);
	return r < 0 ? leader_fail(v->l, r, "out of memory") : 0;
}

static int verify_db(struct verify *v, const struct proto_head_db *db)
{
	char prefix[PROTO_MAX_PATH];
	struct objlist o = {0};
	struct leader_state *st = NULL;
	unsigned char want[LEADER_STATE_DIGEST_LEN];
	bool have_want = false;
	size_t i;
	int r;

	v->dbname = db->name;
	(void)snprintf(prefix, sizeof(prefix), "db/%s/", db->uuid);
	r = list_objects(v->l, prefix, &o);
	if (r < 0)
		return r;
	r = verify_layout(v, db, &o);
	if (r < 0) {
		objlist_clear(&o);
		return r;
	}
	if (leader_load_replay(v->l, db, &st) < 0) {
		problem(v, "%s: %s", db->name, leader_error(v->l));
		if (leader_load(v->l, db, &st) < 0)
			st = NULL;
	} else {
		have_want = leader_state_digest(st, want) == 0;
	}
	for (i = 0; i < o.n; i++) {
		struct objinfo info;

		classify(o.v[i].path, &info);
		if (info.kind == OBJ_MANIFEST && info.version <= db->version)
			verify_checkpoint(v, db, info.version, have_want ? want : NULL);
	}
	v->st = st;
	if (st)
		r = leader_state_foreach_extent(st, NULL, verify_extent_cb, v);
	leader_state_free(st);
	objlist_clear(&o);
	return r;
}

int leader_verify(struct leader *l, leader_report_fn fn, void *arg, size_t *ret_problems)
{
	struct verify v = {.l = l, .fn = fn, .arg = arg};
	struct proto_head *h = NULL;
	size_t i;
	int r = leader_read_head(l, &h);

	for (i = 0; r == 0 && i < h->ndbs; i++)
		r = verify_db(&v, &h->dbs[i]);
	if (r == 0)
		*ret_problems = v.problems;
	free(v.seen);
	proto_head_free(h);
	return r;
}

/* ---- vacuum ---- */

/* One artifact of one extent: the last version that references it and, when
 * a published commit dropped it, that commit's time. */
struct occurrence {
	unsigned char sha[32];
	uint64_t last;
	int64_t dropped;
};

struct vacuum {
	struct leader *l;
	const struct leader_vacuum_opts *o;
	leader_report_fn fn;
	void *arg;
	struct leader_vacuum_stats stats;
	int64_t now; /* ticks */
	/* The artifacts to keep (binary sha256), over all databases. */
	unsigned char (*keep)[32];
	size_t nkeep;
	size_t capkeep;
	/* Set when a database could not be read: no artifact is deleted then. */
	bool unsure;
	/* Per database, while its log is replayed. */
	struct occurrence *occ;
	size_t nocc;
	size_t capocc;
	int64_t *committed; /* commit time of log_start + i */
	uint64_t log_start;
};

static void report(struct vacuum *vc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct vacuum *vc, const char *fmt, ...)
{
	char line[LEADER_ERRLEN + 256];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (vc->fn)
		vc->fn(line, vc->arg);
}

static bool older_than(const struct vacuum *vc, int64_t mtime_s, int64_t span)
{
	return mtime_s * TIMEFMT_TICKS_PER_SEC < vc->now - span;
}

static int delete_object(struct vacuum *vc, const struct obj *ob, uint64_t *counter,
                         const char *why)
{
	int r = 0;

	if (!vc->o->dry_run)
		r = target_delete(vc->l->t, ob->path);
	if (r < 0)
		return leader_fail_target(vc->l, r, ob->path);
	report(vc, "%s %s (%s)", vc->o->dry_run ? "would delete" : "deleted", ob->path, why);
	(*counter)++;
	vc->stats.bytes += ob->size;
	/* Keep a long vacuum's Azure lease alive. */
	if ((vc->stats.logs + vc->stats.checkpoints + vc->stats.artifacts + vc->stats.orphans) %
	        1000 ==
	    0)
		r = target_lock_renew(vc->l->t);
	return r < 0 ? leader_fail_target(vc->l, r, ob->path) : 0;
}

static int add_keep(struct vacuum *vc, const unsigned char sha[32])
{
	if (vc->nkeep == vc->capkeep) {
		size_t cap = vc->capkeep ? vc->capkeep * 2 : 1024;
		unsigned char(*v)[32] = realloc(vc->keep, cap * 32);

		if (!v)
			return -ENOMEM;
		vc->keep = v;
		vc->capkeep = cap;
	}
	memcpy(vc->keep[vc->nkeep++], sha, 32);
	return 0;
}

static int add_occurrence(struct vacuum *vc, const struct proto_extent *e, uint64_t last,
                          int64_t dropped)
{
	size_t k;

	for (k = 0; k < e->nartifacts; k++) {
		struct occurrence *o;

		if (vc->nocc == vc->capocc) {
			size_t cap = vc->capocc ? vc->capocc * 2 : 1024;

			o = realloc(vc->occ, cap * sizeof(*o));
			if (!o)
				return -ENOMEM;
			vc->occ = o;
			vc->capocc = cap;
		}
		o = &vc->occ[vc->nocc];
		if (leader_state_sha_parse(e->artifacts[k].sha256, o->sha) < 0)
			continue;
		o->last = last;
		o->dropped = dropped;
		vc->nocc++;
	}
	return 0;
}

struct drop_ctx {
	struct vacuum *vc;
	const struct proto_commit *c;
};

static int dropped_extent_cb(const struct proto_extent *e, void *arg)
{
	struct drop_ctx *d = arg;

	return add_occurrence(d->vc, e, d->c->version - 1, d->c->committed);
}

/* Before commit c applies: remember what it drops and when. */
static int vacuum_hook(struct leader_state *st, const struct proto_commit *c, void *arg)
{
	struct drop_ctx d = {arg, c};
	size_t i, k;
	int r = 0;

	d.vc->committed[c->version - d.vc->log_start] = c->committed;
	for (i = 0; r == 0 && i < c->nactions; i++) {
		const struct proto_action *a = &c->actions[i];

		if (a->op == PROTO_OP_DROP && a->entity.kind != PROTO_EXTERNAL_TABLE)
			r = leader_state_foreach_extent(st, a->entity.name, dropped_extent_cb, &d);
		for (k = 0; r == 0 && k < a->nids; k++) {
			struct proto_extent e;

			if (leader_state_copy_extent(st, a->ids[k], &e) < 0)
				continue; /* the apply that follows reports it */
			r = dropped_extent_cb(&e, &d);
			proto_extent_clear(&e);
		}
	}
	return r;
}

static int current_extent_cb(const struct proto_extent *e, void *arg)
{
	return add_occurrence(arg, e, UINT64_MAX, 0);
}

/* The newest kept checkpoint the log may start after: every log object up to
 * it is older than the retention. */
static int new_base(const struct vacuum *vc, const struct proto_head_db *db,
                    const struct objlist *o, uint64_t *ret)
{
	struct versions manifests;
	uint64_t base = db->log_start - 1, c;

	if (versions_of(o, db->uuid, OBJ_MANIFEST, &manifests) < 0)
		return leader_fail(vc->l, -ENOMEM, "out of memory");
	for (c = db->log_start; c <= db->checkpoint; c++) {
		if (vc->committed[c - db->log_start] >= vc->now - vc->o->log_retention)
			break;
		if (versions_has(&manifests, c))
			base = c;
	}
	free(manifests.v);
	*ret = base;
	return 0;
}

/* Replays db from its oldest published log; fills vc->occ and committed. */
static int replay_db(struct vacuum *vc, const struct proto_head_db *db)
{
	struct leader_state *st = NULL;
	uint64_t base = db->log_start - 1;
	size_t n = db->version + 1 > db->log_start ? db->version + 1 - db->log_start : 0;
	int r = leader_state_new(db->name, db->uuid, &st);

	vc->nocc = 0;
	vc->log_start = db->log_start;
	free(vc->committed);
	vc->committed = calloc(n ? n : 1, sizeof(*vc->committed));
	if (r < 0 || !vc->committed) {
		leader_state_free(st);
		return leader_fail(vc->l, -ENOMEM, "out of memory");
	}
	if (base > 0)
		r = leader_load_checkpoint(vc->l, st, base, NULL);
	if (r == 0)
		r = leader_load_log(vc->l, st, db->log_start, db->version, vacuum_hook, vc);
	if (r == 0)
		r = leader_state_foreach_extent(st, NULL, current_extent_cb, vc);
	if (r == -ENOMEM)
		r = leader_fail(vc->l, r, "out of memory");
	leader_state_free(st);
	return r;
}

static int keep_occurrences(struct vacuum *vc, uint64_t base)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < vc->nocc; i++) {
		const struct occurrence *o = &vc->occ[i];

		if (o->last >= base || (o->dropped && o->dropped >= vc->now - vc->o->grace))
			r = add_keep(vc, o->sha);
	}
	return r < 0 ? leader_fail(vc->l, r, "out of memory") : 0;
}

/* Deletes what db no longer needs once the log starts after base. */
static int prune_db(struct vacuum *vc, const struct proto_head_db *db, uint64_t base,
                    const struct objlist *o)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < o->n; i++) {
		const struct obj *ob = &o->v[i];
		bool young = !older_than(vc, ob->mtime, vc->o->grace);
		struct objinfo info;

		classify(ob->path, &info);
		if (strcmp(info.uuid, db->uuid) != 0)
			continue;
		if (info.kind == OBJ_LOG && info.version <= base)
			r = delete_object(vc, ob, &vc->stats.logs, "log before the retention");
		else if ((info.kind == OBJ_LOG || info.kind == OBJ_MANIFEST ||
		          info.kind == OBJ_PART) &&
		         info.version > db->version && !young)
			r = delete_object(vc, ob, &vc->stats.orphans, "left by a crashed commit");
		else if ((info.kind == OBJ_MANIFEST || info.kind == OBJ_PART) &&
		         info.version != base && info.version != db->checkpoint &&
		         info.version <= db->version)
			r = delete_object(vc, ob, &vc->stats.checkpoints, "older checkpoint");
		else if (info.kind == OBJ_TEMP && !young)
			r = delete_object(vc, ob, &vc->stats.orphans, "temporary file of a crash");
	}
	return r;
}

/* Plans one live database: replay, choose the new log start, mark what to
 * keep.  *ret_base is the version the log will start after. */
static int plan_db(struct vacuum *vc, const struct proto_head_db *db, const struct objlist *o,
                   uint64_t *ret_base)
{
	int r = replay_db(vc, db);

	if (r < 0) {
		report(vc, "%s: %s; no artifact is deleted", db->name, leader_error(vc->l));
		vc->unsure = true;
		*ret_base = db->log_start - 1;
		return 0;
	}
	r = new_base(vc, db, o, ret_base);
	return r < 0 ? r : keep_occurrences(vc, *ret_base);
}

/* Marks every artifact any object of a dropped database names. */
static int keep_dropped_cb(const struct proto_extent *e, void *arg)
{
	struct vacuum *vc = arg;
	size_t k;
	int r = 0;

	for (k = 0; r == 0 && k < e->nartifacts; k++) {
		unsigned char sha[32];

		if (leader_state_sha_parse(e->artifacts[k].sha256, sha) == 0)
			r = add_keep(vc, sha);
	}
	return r;
}

/* The newest checkpoint of a dropped database: every extent in it stays. */
static int keep_dropped_checkpoint(struct vacuum *vc, const char *uuid, uint64_t version)
{
	char path[PROTO_MAX_PATH], *buf = NULL, perr[PROTO_ERRLEN];
	struct proto_manifest *m = NULL;
	struct leader_state *st = NULL;
	size_t len = 0;
	int r;

	(void)proto_path_manifest(path, sizeof(path), uuid, version);
	r = leader_get(vc->l, path, PROTO_MAX_MANIFEST_BYTES, &buf, &len, NULL);
	if (r == 0 && proto_manifest_decode(buf, len, &m, perr) < 0)
		r = leader_fail(vc->l, -EINVAL, "%s: %s", path, perr);
	if (r == 0 && leader_state_new(m->database, uuid, &st) < 0)
		r = leader_fail(vc->l, -ENOMEM, "out of memory");
	if (r == 0)
		r = leader_load_checkpoint(vc->l, st, version, NULL);
	if (r == 0)
		r = leader_state_foreach_extent(st, NULL, keep_dropped_cb, vc);
	if (r < 0) {
		report(vc, "dropped database %s: %s; no artifact is deleted", uuid,
		       leader_error(vc->l));
		vc->unsure = true;
	}
	leader_state_free(st);
	proto_manifest_free(m);
	free(buf);
	return r == -ENOMEM ? r : 0;
}

static int keep_dropped_db(struct vacuum *vc, const char *uuid, const struct objlist *o)
{
	uint64_t newest = 0;
	size_t i, k;
	int r = 0;

	for (i = 0; i < o->n; i++) {
		struct objinfo info;

		classify(o->v[i].path, &info);
		if (info.kind == OBJ_MANIFEST && strcmp(info.uuid, uuid) == 0 &&
		    info.version > newest)
			newest = info.version;
	}
	if (newest)
		r = keep_dropped_checkpoint(vc, uuid, newest);

	for (i = 0; r == 0 && i < o->n; i++) {
		struct objinfo info;
		struct proto_commit *c = NULL;

		classify(o->v[i].path, &info);
		if (info.kind != OBJ_LOG || strcmp(info.uuid, uuid) != 0)
			continue;
		if (leader_read_commit(vc->l, uuid, info.version, &c) < 0) {
			vc->unsure = true;
			continue;
		}
		for (k = 0; r == 0 && k < c->nactions; k++) {
			size_t e;

			for (e = 0; r == 0 && e < c->actions[k].nextents; e++)
				r = keep_dropped_cb(&c->actions[k].extents[e], vc);
		}
		proto_commit_free(c);
	}
	return r < 0 ? leader_fail(vc->l, r, "out of memory") : 0;
}

static bool in_head(const struct proto_head *h, const char *uuid)
{
	size_t j;

	for (j = 0; j < h->ndbs; j++)
		if (strcmp(h->dbs[j].uuid, uuid) == 0)
			return true;
	return false;
}

/* Deletes a dropped database's objects once all are older than grace, or
 * keeps every artifact it names. */
static int vacuum_dropped_uuid(struct vacuum *vc, const char *uuid, const struct objlist *o)
{
	bool young = false;
	size_t j;
	int r = 0;

	for (j = 0; j < o->n; j++)
		if (strncmp(o->v[j].path + 3, uuid, PROTO_UUID_LEN) == 0)
			young = young || !older_than(vc, o->v[j].mtime, vc->o->grace);
	if (young)
		return keep_dropped_db(vc, uuid, o);
	for (j = 0; r == 0 && j < o->n; j++)
		if (strncmp(o->v[j].path + 3, uuid, PROTO_UUID_LEN) == 0)
			r = delete_object(vc, &o->v[j], &vc->stats.orphans, "dropped database");
	return r;
}

static int vacuum_dropped(struct vacuum *vc, const struct proto_head *h, const struct objlist *o)
{
	char(*done)[PROTO_UUID_LEN + 1] = NULL;
	size_t i, j, ndone = 0;
	int r = 0;

	for (i = 0; r == 0 && i < o->n; i++) {
		struct objinfo info;
		void *v;

		classify(o->v[i].path, &info);
		if (!info.uuid[0] || in_head(h, info.uuid))
			continue;
		for (j = 0; j < ndone && strcmp(done[j], info.uuid) != 0; j++)
			;
		if (j < ndone)
			continue;
		v = realloc(done, (ndone + 1) * sizeof(*done));
		if (!v) {
			r = leader_fail(vc->l, -ENOMEM, "out of memory");
			break;
		}
		done = v;
		memcpy(done[ndone++], info.uuid, sizeof(info.uuid));
		r = vacuum_dropped_uuid(vc, info.uuid, o);
	}
	free(done);
	return r;
}

static int cmp_sha(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

struct artifact_scan {
	struct vacuum *vc;
	struct objlist doomed;
};

static int artifact_cb(const char *path, uint64_t size, int64_t mtime, void *arg)
{
	struct artifact_scan *a = arg;
	struct vacuum *vc = a->vc;
	struct objinfo info;
	unsigned char sha[32];
	const char *base = strrchr(path, '/');

	if (!older_than(vc, mtime, vc->o->grace))
		return 0;
	classify(path, &info);
	if (info.kind != OBJ_TEMP) {
		char canon[PROTO_MAX_PATH];

		if (!base || leader_state_sha_parse(base + 1, sha) < 0)
			return 0; /* not ours */
		(void)proto_path_artifact(canon, sizeof(canon), base + 1);
		if (strcmp(canon, path) != 0 ||
		    (vc->nkeep && bsearch(sha, vc->keep, vc->nkeep, 32, cmp_sha) != NULL))
			return 0;
	}
	return list_cb(path, size, mtime, &a->doomed);
}

static int vacuum_artifacts(struct vacuum *vc)
{
	struct artifact_scan a = {.vc = vc};
	size_t i;
	int r;

	if (vc->unsure) {
		report(vc, "artifacts: none deleted (see above)");
		return 0;
	}
	if (vc->nkeep)
		qsort(vc->keep, vc->nkeep, 32, cmp_sha);
	r = target_list(vc->l->t, "artifacts/", artifact_cb, &a);
	if (r < 0)
		r = r == -ENOMEM ? leader_fail(vc->l, r, "out of memory")
		                 : leader_fail_target(vc->l, r, "artifacts/");
	for (i = 0; r == 0 && i < a.doomed.n; i++)
		r = delete_object(vc, &a.doomed.v[i], &vc->stats.artifacts,
		                  "no reachable version references it");
	objlist_clear(&a.doomed);
	return r;
}

/* Raises log_start where the plan allows; the head goes first. */
static int raise_log_start(struct vacuum *vc, struct proto_head *h, const uint64_t *bases,
                           const char *etag)
{
	bool changed = false;
	size_t i;

	for (i = 0; i < h->ndbs; i++) {
		if (bases[i] + 1 > h->dbs[i].log_start) {
			report(vc, "%s: log now starts at version %llu", h->dbs[i].name,
			       (unsigned long long)bases[i] + 1);
			h->dbs[i].log_start = bases[i] + 1;
			changed = true;
		}
	}
	if (!changed || vc->o->dry_run)
		return 0;
	return leader_put_head(vc->l, h, etag);
}

static int vacuum_locked(struct vacuum *vc)
{
	char etag[TARGET_ETAG_MAX] = "";
	struct proto_head *h = NULL;
	struct objlist all = {0};
	uint64_t *bases = NULL;
	bool *ok = NULL;
	size_t i;
	int r = leader_read_head_etag(vc->l, &h, etag);

	if (r == 0)
		r = list_objects(vc->l, "db/", &all);
	if (r == 0 && h->ndbs) {
		bases = calloc(h->ndbs, sizeof(*bases));
		ok = calloc(h->ndbs, sizeof(*ok));
		if (!bases || !ok)
			r = leader_fail(vc->l, -ENOMEM, "out of memory");
	}
	for (i = 0; r == 0 && i < h->ndbs; i++) {
		bool was_unsure = vc->unsure;

		vc->unsure = false;
		r = plan_db(vc, &h->dbs[i], &all, &bases[i]);
		ok[i] = !vc->unsure;
		vc->unsure = vc->unsure || was_unsure;
	}
	if (r == 0)
		r = raise_log_start(vc, h, bases, etag);
	for (i = 0; r == 0 && i < h->ndbs; i++)
		if (ok[i])
			r = prune_db(vc, &h->dbs[i], bases[i], &all);
	if (r == 0)
		r = vacuum_dropped(vc, h, &all);
	if (r == 0)
		r = vacuum_artifacts(vc);
	free(bases);
	free(ok);
	objlist_clear(&all);
	proto_head_free(h);
	return r;
}

int leader_vacuum(struct leader *l, const struct leader_vacuum_opts *o, leader_report_fn fn,
                  void *arg, struct leader_vacuum_stats *ret)
{
	struct vacuum vc = {.l = l, .o = o, .fn = fn, .arg = arg, .now = timefmt_now()};
	int r = leader_lock(l);

	if (r < 0)
		return r;
	r = vacuum_locked(&vc);
	leader_unlock(l);
	if (r == 0 && ret)
		*ret = vc.stats;
	free(vc.keep);
	free(vc.occ);
	free(vc.committed);
	return r;
}

/*
 * leader_cache — the writer's local cache of the state it commits against,
 * so that a commit costs what its actions cost, not what the database holds.
 *
 * Without it every commit rebuilds the database's state from the newest
 * checkpoint and the log after it: for a million extents, ~400 MB of JSON.
 * With it, the writer keeps, after each commit it publishes, a snapshot of
 * the state (leader_state_snapshot_write: binary, checksummed) in
 * DIR/<sha256 of the target>/<uuid>.state, and the next commit starts from
 * that snapshot once the head confirms it:
 *   - same uuid (the file is named by it) and database name;
 *   - at the head's version, the same commit time as the head says; behind
 *     it, the same commit time as the log object (or the checkpoint) of the
 *     snapshot's version says, and then the log objects after it are
 *     replayed onto it, each checked as always — another writer's commits;
 *   - never ahead of the head (a rewound leader), never so far behind that
 *     the log no longer reaches it or that a newer checkpoint is cheaper.
 * Anything else, a damaged file included, is a miss and the state is loaded
 * from the checkpoint as before.  Commit times are 100 ns ticks taken when
 * a version is committed, so a different commit at the same version (a
 * leader restored from a backup, then written again) has a different time.
 *
 * The cache never decides what is published: the writer lock and the
 * head's If-Match stay the arbiters between writers, and every action is
 * still applied to a whole state (leader_state) and checked.  A snapshot is
 * written only after the head of its version was published, to a temp file
 * renamed into place, so writers on one machine can share the directory.
 *
 * Writing a snapshot rewrites the whole state (~115 MB for a million
 * extents), so a big state is not rewritten after every commit: the next
 * commit replays this one's log object instead, which costs what its actions
 * cost.  It is rewritten once the log since it holds 1/16 as many extents as
 * the state, or is LEADER_CACHE_SAVE_VERSIONS (at most the checkpoint
 * interval) versions long — and always when the state is small.
 */
#include "leader/leader_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fsutil.h"

/* A state of fewer extents than this is rewritten after every commit. */
#define LEADER_CACHE_LAZY_EXTENTS 50000
#define LEADER_CACHE_SAVE_VERSIONS 8

static void note(struct leader *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct leader *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(l->state_note, sizeof(l->state_note), fmt, ap);
	va_end(ap);
}

int leader_set_state_cache(struct leader *l, const char *dir)
{
	char sha[PROTO_SHA256_LEN + 1], *path = NULL;
	const char *root = target_describe(l->t);

	free(l->cache_dir);
	l->cache_dir = NULL;
	if (!dir || !*dir)
		return 0;
	if (leader_sha256_hex(root, strlen(root), sha) < 0 ||
	    asprintf(&path, "%s/%.32s", dir, sha) < 0)
		return leader_fail(l, -ENOMEM, "out of memory");
	l->cache_dir = path;
	return 0;
}

const char *leader_state_note(const struct leader *l)
{
	return l->state_note;
}

static int snapshot_path(const struct leader *l, const char *uuid, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s.state", l->cache_dir, uuid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The cached snapshot of db, or -ENOENT / -EINVAL with the reason noted. */
static int read_snapshot(struct leader *l, const struct proto_head_db *db,
                         struct leader_state **ret)
{
	char path[PATH_MAX], serr[LEADER_STATE_ERRLEN];
	struct leader_state *st = NULL;
	int fd, r = snapshot_path(l, db->uuid, path, sizeof(path));

	fd = r == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	if (fd < 0) {
		r = r < 0 ? r : -errno;
		note(l, "no cached state (%s)", strerror(-r));
		return r;
	}
	r = leader_state_snapshot_read(fd, &st, serr);
	(void)close(fd);
	if (r < 0) {
		note(l, "cached state %s unusable: %s", path, serr);
		return r;
	}
	if (strcmp(leader_state_uuid(st), db->uuid) != 0 ||
	    strcmp(leader_state_database(st), db->name) != 0) {
		note(l, "cached state %s is of another database", path);
		leader_state_free(st);
		return -EINVAL;
	}
	*ret = st;
	return 0;
}

/* The commit time of version v of db as published: its log object's, or
 * when the log starts after v, the checkpoint's at v. */
static int committed_at(struct leader *l, const struct proto_head_db *db, uint64_t v, int64_t *ret)
{
	char path[PROTO_MAX_PATH], *buf = NULL, perr[PROTO_ERRLEN];
	struct proto_commit *c = NULL;
	struct proto_manifest *m = NULL;
	size_t len = 0;
	int r;

	if (v >= db->log_start) {
		r = leader_read_commit(l, db->uuid, v, &c);
		if (r == 0)
			*ret = c->committed;
		proto_commit_free(c);
		return r;
	}
	(void)proto_path_manifest(path, sizeof(path), db->uuid, v);
	r = leader_get(l, path, PROTO_MAX_MANIFEST_BYTES, &buf, &len, NULL);
	if (r == 0 && (r = proto_manifest_decode(buf, len, &m, perr)) < 0)
		r = leader_fail(l, r, "%s: %s", path, perr);
	if (r == 0 && (m->version != v || strcmp(m->uuid, db->uuid) != 0))
		r = leader_fail(l, -EINVAL, "%s: is for %s version %llu", path, m->uuid,
		                (unsigned long long)m->version);
	if (r == 0)
		*ret = m->committed;
	proto_manifest_free(m);
	free(buf);
	return r;
}

/* Whether the head confirms a snapshot at version sv (0), or why not. */
static int judge(struct leader *l, const struct proto_head *h, const struct proto_head_db *db,
                 const struct leader_state *st)
{
	uint64_t sv = leader_state_version(st), behind = db->version - sv;
	int64_t committed = 0;

	if (sv == 0 || sv > db->version) {
		note(l, "cached state at version %llu, the head at %llu (rewound?)",
		     (unsigned long long)sv, (unsigned long long)db->version);
		return -ESTALE;
	}
	if (sv + 1 < db->log_start || (db->checkpoint > sv && behind > h->checkpoint_interval)) {
		note(l, "cached state at version %llu is %llu versions behind the head",
		     (unsigned long long)sv, (unsigned long long)behind);
		return -ESTALE;
	}
	if (behind == 0) {
		committed = db->committed;
	} else if (committed_at(l, db, sv, &committed) < 0) {
		note(l, "cached state at version %llu: cannot confirm it: %s",
		     (unsigned long long)sv, leader_error(l));
		return -ESTALE;
	}
	if (committed != leader_state_committed(st)) {
		note(l,
		     "cached state at version %llu is not the version %llu the leader has "
		     "(another commit time: rewound and written again?)",
		     (unsigned long long)sv, (unsigned long long)sv);
		return -ESTALE;
	}
	return 0;
}

/* The extents a commit adds or drops: what replaying it costs. */
static uint64_t commit_extents(const struct proto_commit *c)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < c->nactions; i++)
		n += c->actions[i].nextents + c->actions[i].nids;
	return n;
}

static int count_replayed(struct leader_state *st, const struct proto_commit *c, void *arg)
{
	*(uint64_t *)arg += commit_extents(c);
	return 0;
}

/* The cached state of db brought to db->version, or a negative errno. */
static int load_cached(struct leader *l, const struct proto_head *h, const struct proto_head_db *db,
                       struct leader_state **ret)
{
	struct leader_state *st = NULL;
	uint64_t sv;
	int r = read_snapshot(l, db, &st);

	if (r == 0)
		r = judge(l, h, db, st);
	if (r < 0) {
		leader_state_free(st);
		return r;
	}
	sv = leader_state_version(st);
	r = leader_load_log(l, st, sv + 1, db->version, count_replayed, &l->cache_replayed);
	if (r < 0) {
		note(l, "cached state at version %llu does not take the log after it: %s",
		     (unsigned long long)sv, leader_error(l));
		leader_state_free(st);
		return r;
	}
	note(l, "state from the cache at version %llu and %llu log objects after it",
	     (unsigned long long)sv, (unsigned long long)(db->version - sv));
	l->cache_base = sv;
	*ret = st;
	return 0;
}

int leader_cache_load(struct leader *l, const struct proto_head *h, const struct proto_head_db *db,
                      struct leader_state **ret)
{
	char why[LEADER_ERRLEN];
	int r;

	l->cache_base = 0;
	l->cache_replayed = 0;
	if (!l->cache_dir) {
		note(l, "no state cache");
	} else if (load_cached(l, h, db, ret) == 0) {
		return 0;
	}
	(void)snprintf(why, sizeof(why), "%s", l->state_note);
	r = leader_load(l, db, ret);
	if (r == 0)
		note(l, "%s: state from checkpoint %llu and %llu log objects after it", why,
		     (unsigned long long)db->checkpoint,
		     (unsigned long long)(db->version - db->checkpoint));
	return r;
}

/* Removes the temp files of a writer of uuid killed while it saved: under
 * the lock, no other process on this machine is saving that database. */
static void remove_leftovers(const char *dir, const char *uuid)
{
	char prefix[PROTO_UUID_LEN + 8];
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	(void)snprintf(prefix, sizeof(prefix), ".tmp-%s-", uuid);
	while ((e = readdir(d)))
		if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	(void)closedir(d);
}

/* Writes st to a temp file in the cache directory and renames it over the
 * snapshot of its database; no fsync: a torn file fails its checksum. */
static int save(struct leader *l, const struct leader_state *st, char *serr)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	int fd = -1, r = snapshot_path(l, leader_state_uuid(st), path, sizeof(path));

	if (r == 0 && snprintf(tmp, sizeof(tmp), "%s/.tmp-%s-XXXXXX", l->cache_dir,
	                       leader_state_uuid(st)) >= (int)sizeof(tmp))
		r = -ENAMETOOLONG;
	if (r == 0)
		r = fsutil_mkdirs(l->cache_dir, 0700);
	if (r == 0)
		remove_leftovers(l->cache_dir, leader_state_uuid(st));
	if (r == 0 && (fd = mkstemp(tmp)) < 0)
		r = -errno;
	if (r < 0) {
		(void)snprintf(serr, LEADER_STATE_ERRLEN, "%s: %s", l->cache_dir, strerror(-r));
		return r;
	}
	r = leader_state_snapshot_write(st, fd, serr);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		if (!*serr)
			(void)snprintf(serr, LEADER_STATE_ERRLEN, "%.400s: %s", path, strerror(-r));
		(void)unlink(tmp);
	}
	return r;
}

/* The size from which the snapshot is rewritten only now and then.  The
 * environment's LEADERCTL_TEST_LAZY_EXTENTS lowers it, so a test shows the
 * rule on a database that is quick to generate. */
static uint64_t lazy_extents(void)
{
	const char *s = getenv("LEADERCTL_TEST_LAZY_EXTENTS");
	unsigned long long v = s ? strtoull(s, NULL, 10) : 0;

	return v > 0 ? v : LEADER_CACHE_LAZY_EXTENTS;
}

/* Whether to rewrite the snapshot after commit c (see the top). */
static bool worth_saving(const struct leader *l, const struct leader_state *st,
                         const struct proto_commit *c, uint32_t checkpoint_interval)
{
	uint64_t every = LEADER_CACHE_SAVE_VERSIONS, n = leader_state_nextents(st);

	if (checkpoint_interval && checkpoint_interval < every)
		every = checkpoint_interval;
	return l->cache_base == 0 || n < lazy_extents() || c->version - l->cache_base >= every ||
	       (l->cache_replayed + commit_extents(c)) * 16 >= n;
}

void leader_cache_save(struct leader *l, const struct leader_state *st,
                       const struct proto_commit *c, uint32_t checkpoint_interval)
{
	char serr[LEADER_STATE_ERRLEN] = "";
	size_t n = strlen(l->state_note);

	if (!l->cache_dir || !worth_saving(l, st, c, checkpoint_interval))
		return;
	if (save(l, st, serr) == 0)
		return;
	(void)snprintf(l->state_note + n, sizeof(l->state_note) - n, "; not cached: %s", serr);
}

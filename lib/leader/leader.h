/*
 * leader — the engine under leaderctl: publishes a leader (docs/PROTOCOL.md)
 * to a target (lib/leader/target.h: a directory or an Azure Blob container).
 *
 * A commit is published in the protocol's order — artifacts (uploaded by the
 * caller with leader_upload_file before leader_commit), then the log object,
 * then every checkpoint_interval commits a checkpoint, then the head — so a
 * process killed at any point leaves a valid leader at the old or the new
 * version.  Writers serialise on the target's lock; under it the head is read
 * again, the database's state is loaded (from the writer's local state cache
 * and the log after it when the head confirms the cache, else newest
 * checkpoint + log; leader_cache.c) and the new actions are applied to it
 * (leader_state checks them) before anything is written; a log object
 * already present at the next version is the orphan of a crashed commit and
 * is overwritten (If-Match on the ETag seen under the lock; otherwise the log
 * object is created only if absent); the lock is renewed before the log
 * object, the checkpoint and the head are written, so a writer whose Azure
 * lease was lost stops with -ENOLCK; and the head is replaced only if its
 * ETag is still the one read under the lock.
 *
 * Errors: functions return 0 or a negative errno, and leader_error() gives
 * one line naming what was wrong (an object path, a database, a table...).
 *   -ENOENT   no such database / object; not a leader (no head.json)
 *   -EEXIST   already a leader / database already exists
 *   -EINVAL   refused by validation, or a malformed object on the target
 *   -ESTALE   the head (or the log object being written) changed under the
 *             lock: another writer
 *   -ENOLCK   the writer lock was lost (an Azure lease expired or was broken)
 *             before the commit was published
 *   -EACCES, -EIO, -ETIMEDOUT: from the target (see target.h)
 * The engine blocks (it is for the CLI, never for followerd's event loop).
 */
#ifndef FOLLOWERD_LEADER_H
#define FOLLOWERD_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/colstats.h"
#include "proto/leader_state.h"
#include "proto/proto.h"
#include "leader/target.h"

#define LEADER_ERRLEN 1024
#define LEADER_DEFAULT_CHECKPOINT_INTERVAL 100
#define LEADER_DEFAULT_LOCK_TIMEOUT_MS 60000
/* Checkpoint parts are cut at this size or this many extents.  A follower
 * holds a few parts at once, so they stay small (the protocol allows 16 MiB);
 * an extent with one artifact takes ~400 bytes, so the byte cap binds first
 * (~10,000 extents); the extent cap keeps the same ~170 bytes per extent
 * ratio as before for extents with no artifacts. */
#define LEADER_PART_MAX_BYTES ((size_t)4 << 20)
#define LEADER_PART_MAX_EXTENTS 25000

struct leader;

/* Opens the leader at spec (see target_open); auth is copied.  Does not
 * check that a leader is there (leader_read_head does).  On failure *ret is
 * untouched and err (errlen bytes) says why. */
int leader_open(const char *spec, const struct target_auth *auth, struct leader **ret, char *err,
                size_t errlen);
void leader_free(struct leader *l);

/* The last error (never NULL) and a printable name of the root. */
const char *leader_error(const struct leader *l);
const char *leader_describe(const struct leader *l);

void leader_set_lock_timeout(struct leader *l, int timeout_ms);
/* TEST ONLY (leaderctl's LEADERCTL_TEST_CRASH_AT / LEADERCTL_TEST_STOP_AT):
 * the process raises signal sig (SIGKILL to crash, SIGSTOP to stall) when a
 * commit reaches point: "after-artifacts" (lock taken, state loaded,
 * nothing written yet), "after-log" (log object written) or
 * "after-checkpoint" (checkpoint written, head not yet).  NULL: never. */
void leader_set_crash_point(struct leader *l, const char *point, int sig);

/* Keeps a local cache of each database's state under dir (one directory per
 * target), so that a commit reads only the log after the cached version
 * instead of the whole database (see leader_cache.c for when it is
 * trusted).  NULL or "": no cache (the default). */
int leader_set_state_cache(struct leader *l, const char *dir);
/* What the last commit's state load did (from the cache, or why not), for
 * leaderctl -v; "" before any. */
const char *leader_state_note(const struct leader *l);

/* Writes an empty head; -EEXIST when the target already holds one. */
int leader_init(struct leader *l, uint32_t checkpoint_interval);

/* Reads and decodes the head into *ret (new; proto_head_free). */
int leader_read_head(struct leader *l, struct proto_head **ret);
/* The database called name in h (borrowed), or NULL. */
struct proto_head_db *leader_head_find(const struct proto_head *h, const char *name);

/* Loads the state of database db at db->version from its newest checkpoint
 * and the log after it.  *ret is new (leader_state_free). */
int leader_load(struct leader *l, const struct proto_head_db *db, struct leader_state **ret);
/* The same from the oldest published log (the checkpoint at log_start - 1,
 * or nothing when the log starts at 1): the state "by log". */
int leader_load_replay(struct leader *l, const struct proto_head_db *db, struct leader_state **ret);

/* Reads log object version of database uuid into *ret (new). */
int leader_read_commit(struct leader *l, const char *uuid, uint64_t version,
                       struct proto_commit **ret);

/* Hashes the local file (SHA-256, streamed) and uploads it, unless already
 * there, to artifacts/<sha[0:2]>/<sha>.  Fills *ret (caller clears: name is
 * the file's base name, path, size, sha256) and *ret_lines (newlines in it;
 * may be NULL).  Errors name the local file. */
int leader_upload_file(struct leader *l, const char *local, struct proto_artifact *ret,
                       uint64_t *ret_lines);

/* The actions of a commit are built under the lock, against the state they
 * will apply to: fn appends them to c with leader_commit_add and returns 0,
 * or a negative errno with a message in err (LEADER_ERRLEN bytes). */
typedef int (*leader_build_fn)(const struct leader_state *st, struct proto_commit *c, void *arg,
                               char *err);
/* Appends *a to c, stealing what it owns (*a is zeroed). */
int leader_commit_add(struct proto_commit *c, struct proto_action *a);

/* Commits the actions fn builds to database db; *ret_version (may be NULL)
 * gets the new version. */
int leader_commit(struct leader *l, const char *db, leader_build_fn fn, void *arg,
                  uint64_t *ret_version);

/* Creates a database (new uuid, version 1) and returns its uuid. */
int leader_create_database(struct leader *l, const char *name, char ret_uuid[PROTO_UUID_LEN + 1]);
/* Removes a database from the head (vacuum deletes its objects later). */
int leader_drop_database(struct leader *l, const char *name);
/* Adds (detached) or removes follower from db's detached_followers. */
int leader_set_detached(struct leader *l, const char *db, const char *follower, bool detached);
/* Writes a checkpoint of db at its current version now (no-op when the
 * newest checkpoint is at that version); *ret_version may be NULL. */
int leader_checkpoint(struct leader *l, const char *db, uint64_t *ret_version);

/* ---- maintenance (leader_maint.c) ---- */

/* Receives one line of a report (a problem, or what vacuum removed). */
typedef void (*leader_report_fn)(const char *line, void *arg);

/* Checks the whole leader: head; every published log object; every
 * checkpoint part's size and sha256 and that each checkpoint plus the log
 * reproduces the state the log gives; every artifact the current state of
 * every database references (re-hashed).  Each problem goes to fn;
 * *ret_problems gets their number.  Returns an error only when the check
 * itself could not run (the head is unreadable). */
int leader_verify(struct leader *l, leader_report_fn fn, void *arg, size_t *ret_problems);

struct leader_vacuum_opts {
	int64_t log_retention; /* ticks: log objects younger than this stay */
	int64_t grace;         /* ticks: unreferenced objects younger than this stay */
	bool dry_run;          /* report only */
};

struct leader_vacuum_stats {
	uint64_t logs;        /* log objects deleted */
	uint64_t checkpoints; /* checkpoint objects deleted */
	uint64_t artifacts;   /* artifacts deleted */
	uint64_t orphans;     /* objects of crashed commits and dropped databases */
	uint64_t bytes;       /* their total size */
};

/* Under the lock: raises log_start where log objects are older than the
 * retention and a checkpoint covers them (writing the head first), then
 * deletes those log objects, checkpoints other than the newest and the one
 * the log starts from, artifacts no reachable version references that have
 * been unreferenced for longer than grace, and leftovers of crashed commits
 * and dropped databases older than grace.  Each deletion is reported to fn. */
int leader_vacuum(struct leader *l, const struct leader_vacuum_opts *o, leader_report_fn fn,
                  void *arg, struct leader_vacuum_stats *ret);

/* ---- typed data (leader_data.c) ---- */

/* How the rows of an artifact are written (data/rowreader.h). */
struct leader_data_opts {
	enum proto_format format;           /* CSV, TSV or JSON */
	enum proto_compression compression; /* of this file */
	bool ignore_first_record;
};

/* Copies the definition of table in database db (its current version)
 * into *ret (caller clears with proto_entity_clear).  -ENOENT: no such
 * database or table; -EINVAL: an external table (it has no extents). */
int leader_table_schema(struct leader *l, const char *db, const char *table,
                        struct proto_entity *ret);

/* Reads every row of the local file as o says against table's columns,
 * streaming (never the whole file in memory), adding them to st (a
 * colstats over the same columns).  *ret_bytes (may be NULL) gets the
 * decoded size.  The first bad value fails with leader_error() naming the
 * file, line, column, its type and the value. */
int leader_check_rows(struct leader *l, const char *local, const struct leader_data_opts *o,
                      const struct proto_entity *table, struct colstats *st, uint64_t *ret_bytes);

/* Fills e->stats (new; e owns them) from st for table's columns. */
int leader_extent_stats(const struct colstats *st, const struct proto_entity *table,
                        struct proto_extent *e);

/* The column statistics of the extent merging src[0..n) into *m (new; m
 * owns them): null counts added, the widest range.  None when one of them
 * has none (opaque data).  -EINVAL with err (LEADER_ERRLEN) when their rows
 * were written with different columns: one extent cannot describe both. */
int leader_merge_stats(const struct proto_extent *src, size_t n, struct proto_extent *m, char *err);

/* ---- synthetic databases (leader_gen.c) ---- */

struct leader_generate_opts {
	const char *database;
	unsigned tables;         /* tables to create (new database only) */
	uint64_t extents;        /* extents, spread over the tables */
	size_t artifact_size;    /* bytes per artifact (one per extent, unique) */
	uint64_t commit_extents; /* then: one commit adding this many more */
	unsigned threads;        /* artifact writers (0: 4) */
	uint64_t rows;           /* > 0: typed extents of this many log-like rows (CSV) */
	bool gzip;               /* typed extents: gzip-compressed */
};

/* Writes a new database of o->tables tables and o->extents extents straight
 * as one checkpoint plus the head (version 1, no log), then, when
 * o->commit_extents is set, one ordinary commit adding that many extents
 * (to a database that may already exist).  With o->rows, the tables are
 * log-like (Timestamp datetime, Level, Host, Service string, Latency real,
 * Message string, Code long, Props dynamic) and each extent's artifact is
 * that many rows of CSV (gzip with o->gzip) with its column statistics;
 * a commit then goes to the tables with that schema. */
int leader_generate(struct leader *l, const struct leader_generate_opts *o);

/* A new random (version 4) uuid. */
int leader_new_uuid(char ret[PROTO_UUID_LEN + 1]);

#endif

/*
 * leader_int — what leader.c shares with leader_maint.c (verify, vacuum)
 * and leader_gen.c (generate).  Not for use outside the leader module.
 */
#ifndef FOLLOWERD_LEADER_INT_H
#define FOLLOWERD_LEADER_INT_H

#include "leader/leader.h"

struct leader_preexisting {
	char *path;  /* artifact object */
	char *local; /* the file it was uploaded from */
};

struct leader {
	struct target *t;
	/* What the target was opened with, to open more (generate's writers). */
	char *spec;
	char *account_key;
	char *sas_token;
	char err[LEADER_ERRLEN];
	int lock_timeout_ms;
	char *crash_point;
	int crash_signal;
	/* Artifacts leader_upload_file found already there: a vacuum could
	 * delete them before the commit that references them, so the commit
	 * checks them again under the lock. */
	struct leader_preexisting *pre;
	size_t npre;
	/* The local state cache (leader_cache.c): its directory for this
	 * target, or NULL; and what the last state load did. */
	char *cache_dir;
	char state_note[LEADER_ERRLEN];
	/* The version of the snapshot the last state came from (0: none) and
	 * the extents of the log objects replayed onto it. */
	uint64_t cache_base;
	uint64_t cache_replayed;
};

/* Opens another connection to the same target (for parallel writers). */
int leader_open_target(const struct leader *l, struct target **ret, char *err, size_t errlen);

/* Sets l->err from fmt and returns r (negative). */
int leader_fail(struct leader *l, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* leader_fail with the target's error text. */
int leader_fail_target(struct leader *l, int r, const char *what);

/* Reads an object of at most max bytes (errors name the path). */
int leader_get(struct leader *l, const char *path, size_t max, char **ret, size_t *ret_len,
               char ret_etag[TARGET_ETAG_MAX]);

/* Takes the writer lock (errors say who holds it) / releases it. */
int leader_lock(struct leader *l);
void leader_unlock(struct leader *l);

/* Reads the head with its ETag (under the lock). */
int leader_read_head_etag(struct leader *l, struct proto_head **ret, char etag[TARGET_ETAG_MAX]);
/* Replaces the head if its ETag is still etag ("" : creates it). */
int leader_put_head(struct leader *l, struct proto_head *h, const char *etag);

/* Applies checkpoint version of st's database to st (which must be empty);
 * fills *ret_manifest (new) when not NULL. */
int leader_load_checkpoint(struct leader *l, struct leader_state *st, uint64_t version,
                           struct proto_manifest **ret_manifest);

/* Called with each log object before it is applied. */
typedef int (*leader_log_hook)(struct leader_state *st, const struct proto_commit *c, void *arg);
/* Applies log objects from..to (inclusive) to st. */
int leader_load_log(struct leader *l, struct leader_state *st, uint64_t from, uint64_t to,
                    leader_log_hook hook, void *arg);

/* Streams checkpoint records into parts of bounded size. */
struct leader_ckpt {
	struct leader *l;
	char uuid[PROTO_UUID_LEN + 1];
	uint64_t version;
	char *buf;
	size_t len;
	size_t cap;
	uint64_t records; /* in the current part */
	uint64_t part_extents;
	struct proto_part *parts;
	size_t nparts;
	size_t capparts;
	struct proto_counts counts;
	uint64_t bytes_written;
};

void leader_ckpt_init(struct leader_ckpt *w, struct leader *l, const char *uuid, uint64_t version);
int leader_ckpt_record(struct leader_ckpt *w, const struct proto_action *a);
/* Flushes the last part and writes the manifest. */
int leader_ckpt_finish(struct leader_ckpt *w, const char *database, int64_t committed);
void leader_ckpt_clear(struct leader_ckpt *w);

/* Writes the checkpoint of st at its version. */
int leader_write_checkpoint(struct leader *l, const struct leader_state *st);

/* Appends a database at version 1 (log_start 1, no checkpoint) to h. */
int leader_head_add_db(struct proto_head *h, const char *name, const char *uuid, int64_t committed);

/* Test hook: raises the configured signal when point is the crash point. */
void leader_crash_point(struct leader *l, const char *point);

/* ---- typed rows of generated extents (leader_gen_rows.c) ---- */

#define LEADER_GEN_LOG_COLUMNS 8
/* Timestamp datetime, Level, Host, Service string, Latency real, Message
 * string, Code long, Props dynamic. */
extern const struct proto_column leader_gen_log_columns[LEADER_GEN_LOG_COLUMNS];

/* A generator's buffers, reused from one extent to the next. */
struct leader_gen_buf {
	char *data; /* the CSV */
	size_t len, cap;
	char *z; /* its gzip form */
	size_t zlen, zcap;
};

/* What an extent's artifact holds, for its description. */
struct leader_gen_typed {
	struct proto_colstat stats[LEADER_GEN_LOG_COLUMNS]; /* pointing into text */
	char text[LEADER_GEN_LOG_COLUMNS][2][COLSTATS_TEXT];
	uint64_t original_size;
};

/* Writes rows rows of extent number extent (timestamps in [t0, t0 + span))
 * as CSV into b->data (and gzip into b->z when gzip), statistics in *ret. */
int leader_gen_rows(uint64_t extent, uint64_t rows, int64_t t0, int64_t span, bool gzip,
                    struct leader_gen_buf *b, struct leader_gen_typed *ret);
void leader_gen_buf_clear(struct leader_gen_buf *b);

/* ---- verify of typed rows (leader_data.c) ---- */

/* The rows of one extent's typed artifacts, read while verify re-hashes
 * them, against the columns the extent says they were written with. */
struct leader_rowcheck {
	struct proto_column *cols; /* owned array, names borrowed from the extent or state */
	size_t ncols;
	struct colstats *cs; /* NULL: nothing to check (opaque, or an unknown format) */
	bool complete;       /* every artifact was read */
	bool failed;         /* rows did not parse (reported) */
	/* the artifact being read, its pieces pushed as they stream in */
	struct instream *in;
	struct rowreader *rr;
	int rc; /* its first error: -EINVAL rows that do not parse, -ENOMEM */
};

/* Prepares the check of e (c->cs NULL when its artifacts are not all typed
 * in a format this build reads).  0 or -ENOMEM. */
int leader_rowcheck_init(struct leader_rowcheck *c, const struct leader_state *st,
                         const struct proto_extent *e);
/* Reads the rows of artifact a as its bytes stream in, never holding it
 * whole: begin, each piece in order (after an error pieces are ignored),
 * then end, which gives 0 or -EINVAL with why (rows that do not parse,
 * or out of memory). */
void leader_rowcheck_begin(struct leader_rowcheck *c, const struct proto_artifact *a);
void leader_rowcheck_piece(struct leader_rowcheck *c, const void *data, size_t len);
int leader_rowcheck_end(struct leader_rowcheck *c, char *why, size_t whylen);
/* Compares what was read with e's rows and statistics; -EINVAL with why. */
int leader_rowcheck_compare(const struct leader_rowcheck *c, const struct proto_extent *e,
                            char *why, size_t whylen);
void leader_rowcheck_clear(struct leader_rowcheck *c);

/* SHA-256 of a buffer as hex. */
int leader_sha256_hex(const void *data, size_t len, char ret[PROTO_SHA256_LEN + 1]);

/* The commit time of a new version: now, but never before the previous one. */
int64_t leader_next_committed(int64_t previous);

/* Loads the state of db (in head h) at db->version: from the local state
 * cache when the head confirms it (then only the log after it is read),
 * else as leader_load does.  leader_state_note() says which. */
int leader_cache_load(struct leader *l, const struct proto_head *h, const struct proto_head_db *db,
                      struct leader_state **ret);
/* After commit c was published with st, keeps st as its database's cached
 * state when that is worth it (see leader_cache.c).  Best effort: a failure
 * is only added to the note, and costs the next commit a full load. */
void leader_cache_save(struct leader *l, const struct leader_state *st,
                       const struct proto_commit *c, uint32_t checkpoint_interval);

#endif

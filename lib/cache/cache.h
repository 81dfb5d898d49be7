/*
 * cache — the content-addressed artifact files.
 *
 * Every artifact is stored once, by its sha256, whatever table, database or
 * leader names it (leader names live only in the store):
 *
 *   CACHE_DIR/objects/ab/<sha256>     verified artifacts (ab: the first two hex digits)
 *   CACHE_DIR/tmp/<sha256>.part       downloads in progress (kept to resume with Range)
 *   CACHE_DIR/quarantine/<sha256>     files that failed verification (bounded; never served)
 *
 * A download streams into a writer (the sink of a lib/fetch transfer) that
 * hashes while it writes and refuses a byte past the expected size.  Commit
 * checks the size and digest, fsyncs, renames into objects/ and fsyncs the
 * directory: only then may the caller record the blob as cached in the store
 * (write file, fsync, rename, fsync dir, then commit: a crash can leave a
 * verified file the store does not know, which reconcile finds, never a
 * store row for a file that is not there).  Nothing in objects/ is ever
 * written in place, so a reader (sendfile) never sees a partial file.
 *
 * Partial files are never trusted: resuming re-hashes the bytes already in
 * the .part file before more are appended, and the whole is verified again
 * at commit.  After a failed fsync the file is discarded and must be fetched
 * again (a retried fsync can falsely succeed).
 *
 * No SQLite and no network here: reconcile asks the caller about the store
 * through callbacks.  The library does not log.  Functions return 0 or a
 * negative errno.
 *
 * Threads: a struct cache may be shared by threads (after cache_open only
 * the usage counters change, under a mutex).  A writer is used by one thread
 * at a time, any thread: the fetch sink may hand buffers to a hashing worker.
 * Every call does blocking file I/O.  Writes land in the page cache (fast),
 * but cache_writer_open with CACHE_RESUME reads the whole .part file,
 * cache_writer_commit fsyncs, cache_reconcile walks the whole cache: run
 * those off the event loop.
 */
#ifndef FOLLOWERD_CACHE_H
#define FOLLOWERD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_SHA256_LEN 64

struct cache;
struct cache_writer;

/* Zero means "the default" for every member. */
struct cache_options {
	unsigned quarantine_max_files; /* default 16 */
	uint64_t quarantine_max_bytes; /* default 1 GiB; a larger file is not kept */
};

/* Opens the cache in dir, creating dir (mkdir -p) and the layout (mode 0750)
 * when absent.  objects/, tmp/ and quarantine/ must be directories, not
 * symlinks (-ELOOP, -ENOTDIR); dir itself may be a symlink.  opt may be NULL;
 * it is copied.  Returns 0 and a new cache in *ret (cache_free), or a
 * negative errno. */
int cache_open(const char *dir, const struct cache_options *opt, struct cache **ret);

/* Closes the directories and frees.  NULL is a no-op.  No writer may be open. */
void cache_free(struct cache *c);

/* True when s is exactly 64 lowercase hex digits (the only names the cache
 * accepts anywhere). */
bool cache_valid_sha256(const char *s);

/* ---- serving ---- */

/* Writes the path of the object sha256 ("DIR/objects/ab/<sha256>") into buf;
 * -EINVAL when sha256 is not valid, -ENAMETOOLONG when buf is short.  The
 * file may not exist: open it with cache_open_object to serve it. */
int cache_path(const struct cache *c, const char *sha256, char *buf, size_t len);
/* The same for the cache in dir, without opening it (a reader on another
 * thread that only checks whether an object is there). */
int cache_path_in(const char *dir, const char *sha256, char *buf, size_t len);

/* Opens the object sha256 read-only (O_NOFOLLOW) into *ret_fd (caller
 * closes) after checking that it is a regular file of exactly size bytes:
 * what sendfile may serve.  -ENOENT when absent, -EMSGSIZE when its size
 * differs (never served; reconcile removes it), -EINVAL for a bad name. */
int cache_open_object(struct cache *c, const char *sha256, uint64_t size, int *ret_fd);

/* True when the object sha256 is a regular file of exactly size bytes. */
bool cache_has(struct cache *c, const char *sha256, uint64_t size);

/* Removes the object sha256 (eviction, a dropped extent).  Not fsynced: a
 * crash may bring the name back, and reconcile removes what the store does
 * not know.  -ENOENT when absent. */
int cache_remove(struct cache *c, const char *sha256);

struct cache_usage {
	uint64_t bytes; /* sum of the objects' sizes (st_size) */
	uint64_t files; /* objects */
};

/* The objects' total size and count into *ret.  Kept up to date by commit
 * and remove; the first call walks objects/ unless cache_reconcile already
 * did. */
int cache_usage(struct cache *c, struct cache_usage *ret);

/* Space of the cache's file system for unprivileged users (statvfs f_bavail)
 * and its size, in bytes: the min_free_space rule. */
int cache_disk_space(struct cache *c, uint64_t *ret_free, uint64_t *ret_total);

/* ---- writing ---- */

#define CACHE_RESUME 0x1 /* continue an existing .part file (re-hashed first) */

/* Starts (or resumes) the download of sha256, expected to be size bytes.
 * With CACHE_RESUME and a .part file of at most size bytes, its bytes are
 * read and hashed (size bytes of I/O at worst) and *ret_offset is its
 * length: ask the source for the bytes from there (Range), or commit at once
 * when it equals size.  Otherwise the .part file starts empty and
 * *ret_offset is 0.  Returns 0 and a new writer in *ret; -EEXIST when the
 * object is already cached with that size; -EBUSY when another writer (this
 * or another process) holds this sha256's .part file; -EINVAL for a bad
 * name; other negative errnos from the file system. */
int cache_writer_open(struct cache *c, const char *sha256, uint64_t size, unsigned flags,
                      struct cache_writer **ret, uint64_t *ret_offset);

/* Appends len bytes (hashed).  -EFBIG, before writing anything, when they
 * would take the file past the expected size.  -ENOSPC / -EDQUOT: the .part
 * file is emptied and removed at once so the space is back.  Any failure is
 * sticky: later writes and the commit return it. */
int cache_writer_write(struct cache_writer *w, const void *buf, size_t len);

/* cache_writer_write in the shape of lib/fetch's fetch_data_fn: arg is the
 * writer.  A download is then: cache_writer_open (CACHE_RESUME), a fetch
 * request with range_start = the offset, on_data = cache_writer_sink and
 * max_bytes = size - offset; in on_done, on success cache_writer_commit
 * (off the loop: it fsyncs); on -ENOTSUP (Range ignored, nothing written)
 * cache_writer_restart and fetch from 0; on a transient failure
 * cache_writer_abort(w, true) to resume later. */
int cache_writer_sink(const void *buf, size_t len, void *arg);

/* Starts again from byte 0 (the source ignored a Range request and sends the
 * whole body): the .part file is emptied and the hash reset.  A failed
 * writer stays failed. */
int cache_writer_restart(struct cache_writer *w);

/* Bytes in the .part file so far (resumed ones included). */
uint64_t cache_writer_offset(const struct cache_writer *w);

/* Verifies and publishes the object, and frees w (always).  The size must
 * equal the expected size and the sha256 of the bytes the name; then the file
 * is fsynced, renamed into objects/ and the directory fsynced.  Returns 0
 * once the object is durable, or:
 *   the writer's sticky error (-EFBIG, -ENOSPC, -EIO, ...): file removed
 *   -EMSGSIZE  fewer bytes than expected: file removed (an incomplete
 *              transfer, nothing to inspect)
 *   -EBADMSG   the digest differs: the file is moved to quarantine/<sha256>
 *              (the oldest quarantined files are removed past the bounds)
 *   -EIO etc.  fsync or rename failed: file removed, never fsynced twice;
 *              fetch it again */
int cache_writer_commit(struct cache_writer *w);

/* Abandons a download and frees w; NULL is a no-op.  With keep, the .part
 * file stays for a later CACHE_RESUME, unless the writer failed (its bytes
 * are then not worth keeping: it is removed). */
void cache_writer_abort(struct cache_writer *w, bool keep);

/* ---- startup ---- */

/* What the store says about a blob. */
struct cache_known {
	uint64_t size; /* the artifact's size */
	bool cached;   /* the store records it as cached */
};

/* The caller's side of reconcile.  arg is passed to every callback. */
struct cache_reconcile_ops {
	void *arg;
	/* Whether the store references sha256 (an artifact of some extent, or a
	 * blob row): 0 and *ret filled, -ENOENT when unknown, another negative
	 * errno stops the reconcile with that error.  Required. */
	int (*known)(void *arg, const char *sha256, struct cache_known *ret);
	/* Calls fn(fnarg, sha256, size) for every blob the store records as
	 * cached, stopping at (and returning) a non-zero return of fn.  Optional:
	 * without it nothing is reported lost. */
	int (*each_cached)(void *arg, int (*fn)(void *fnarg, const char *sha256, uint64_t size),
	                   void *fnarg);
	/* A blob the store records as cached but whose file is missing or was of
	 * the wrong size (removed): re-queue it.  Optional. */
	void (*lost)(void *arg, const char *sha256, uint64_t size);
	/* A verified object the store knows but does not record as cached (a
	 * crash between the rename and the store's commit): the caller may record
	 * it as cached.  Optional. */
	void (*adopt)(void *arg, const char *sha256, uint64_t size);
	/* .part files last written longer ago than this (seconds) are removed;
	 * 0: the default, 7 days. */
	int64_t tmp_max_age_s;
};

struct cache_reconcile_stats {
	uint64_t objects, bytes;     /* objects kept and their size */
	uint64_t unknown;            /* objects the store does not know: removed */
	uint64_t wrong_size;         /* objects whose size differed: removed */
	uint64_t strays;             /* bad names, symlinks, other file types: removed */
	uint64_t parts_kept;         /* .part files kept for resume */
	uint64_t parts_removed;      /* .part files stale, unknown or misnamed: removed */
	uint64_t quarantine_removed; /* past the quarantine bounds or misnamed */
	uint64_t lost;               /* reported through ops->lost */
	uint64_t adopted;            /* reported through ops->adopt */
	uint64_t errors;             /* entries that could not be removed */
};

/* Brings the files in line with the store, before any writer is opened (at
 * startup).  Walks objects/, tmp/ and quarantine/ with openat/fdopendir,
 * never following a symlink: anything that is not a well-named regular file
 * is removed (a directory with its contents).  Objects unknown to the store
 * or of the wrong size are removed; stale or unknown .part files removed;
 * quarantine trimmed to its bounds; then every blob the store records as
 * cached whose object is not there with its size is reported through lost.
 * Sets the usage counters.  Failures to remove an entry are counted in
 * errors and the walk goes on; a directory that cannot be read, or an error
 * from a callback, stops it with that error.  *ret (may be NULL) receives
 * the counts. */
int cache_reconcile(struct cache *c, const struct cache_reconcile_ops *ops,
                    struct cache_reconcile_stats *ret);

#endif

/*
 * target — where a leader is written: a local directory or an Azure Blob
 * container (optionally under a prefix).  Used by leaderctl only; its calls
 * block (libcurl easy) and are never used on followerd's event loop.
 *
 * Paths are relative to the leader's root ("head.json", "db/<uuid>/log/...").
 * Functions return 0 or a negative errno; the last error's text (with the
 * URL or file, query strings redacted) is kept in the target and read with
 * target_error().
 *   -ENOENT     object absent
 *   -EEXIST     TARGET_PUT_NEW and the object exists
 *   -ESTALE     TARGET_PUT_IF_MATCH and the ETag no longer matches
 *   -EACCES     authentication or authorisation refused
 *   -EIO        storage unreachable or answered an error
 *   -ETIMEDOUT  the lock could not be taken in time
 */
#ifndef FOLLOWERD_TARGET_H
#define FOLLOWERD_TARGET_H

#include <stddef.h>
#include <stdint.h>

#define TARGET_ETAG_MAX 128

struct target;

/* Credentials for Azure; all NULL for a directory or anonymous access. */
struct target_auth {
	const char *account_key; /* base64 Shared Key */
	const char *sas_token;   /* "sv=...&sig=..." (leading '?' allowed) */
};

enum target_put_mode {
	TARGET_PUT_ANY,      /* create or replace */
	TARGET_PUT_NEW,      /* create only: -EEXIST when present */
	TARGET_PUT_IF_MATCH, /* replace only if the ETag matches: -ESTALE otherwise */
};

/* Opens spec: a directory path, "file:///dir", or an Azure Blob container URL
 * "https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX]" or, path-style as
 * Azurite serves it, "http://127.0.0.1:10000/ACCOUNT/CONTAINER[/PREFIX]".
 * auth is copied.  On failure *ret is untouched and err holds the reason. */
int target_open(const char *spec, const struct target_auth *auth, struct target **ret, char *err,
                size_t errlen);
void target_free(struct target *t);

/* The text of the last error (never NULL). */
const char *target_error(const struct target *t);
/* A printable description of the root, secrets removed. */
const char *target_describe(const struct target *t);

/* Reads an object of at most max bytes into a new buffer (*ret_data, NUL
 * terminated, caller frees) and its ETag (ret_etag may be NULL). */
int target_get(struct target *t, const char *path, size_t max, char **ret_data, size_t *ret_len,
               char ret_etag[TARGET_ETAG_MAX]);

/* Reads an object of at most max bytes in pieces, without holding it whole:
 * fn gets each piece in order (borrowed for the call).  fn returning
 * non-zero stops the read and that value is returned; -EFBIG when the object
 * is larger than max (possibly after some pieces were given). */
typedef int (*target_read_fn)(const void *data, size_t len, void *arg);
int target_read(struct target *t, const char *path, uint64_t max, target_read_fn fn, void *arg);

/* Writes an object durably (directory: temp + fsync + rename + fsync dir). */
int target_put(struct target *t, const char *path, const void *data, size_t len,
               enum target_put_mode mode, const char *etag);

/* Writes the content of a local file as an object (streamed, not loaded). */
int target_put_file(struct target *t, const char *path, const char *local_path,
                    enum target_put_mode mode);

/* Deletes an object; an absent object is not an error. */
int target_delete(struct target *t, const char *path);

/* Calls fn for every object whose path starts with prefix, with its size and
 * last-modified time (seconds since the epoch).  fn returning non-zero stops
 * the listing and that value is returned. */
typedef int (*target_list_fn)(const char *path, uint64_t size, int64_t mtime, void *arg);
int target_list(struct target *t, const char *prefix, target_list_fn fn, void *arg);

/* Takes the leader's writer lock, waiting up to timeout_ms (directory: flock
 * on ".lock"; Azure: a 60 s lease on the ".lock" blob, renewed by
 * target_lock_renew).  -ETIMEDOUT when another writer holds it. */
int target_lock(struct target *t, int timeout_ms);
int target_lock_renew(struct target *t);
void target_unlock(struct target *t);

#endif

/*
 * target_int — what target.c shares with its two backends, target_dir.c and
 * target_azure.c.  Not for callers of target.h (tests/tools may use the
 * test seams at the end).
 *
 * A backend allocates a struct that begins with struct target, fills in
 * ops, and reports failures with target_fail(), which keeps the message
 * that target_error() returns.
 */
#ifndef FOLLOWERD_TARGET_INT_H
#define FOLLOWERD_TARGET_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "leader/target.h"

#define TARGET_ERR_MAX 1024
#define TARGET_DESC_MAX 4200 /* a PATH_MAX directory, or an Azure URL */
/* Longest object path (docs/PROTOCOL.md: artifact paths). */
#define TARGET_PATH_MAX 1024

/* What target_put and target_put_file write: bytes in memory, or a file. */
struct target_src {
	const void *data;
	size_t len;
	const char *local_path; /* non-NULL: the file to copy, data unused */
};

struct target_ops {
	int (*get)(struct target *t, const char *path, size_t max, char **ret_data, size_t *ret_len,
	           char ret_etag[TARGET_ETAG_MAX]);
	int (*read)(struct target *t, const char *path, uint64_t max, target_read_fn fn, void *arg);
	int (*put)(struct target *t, const char *path, const struct target_src *src,
	           enum target_put_mode mode, const char *etag);
	int (*del)(struct target *t, const char *path);
	int (*list)(struct target *t, const char *prefix, target_list_fn fn, void *arg);
	int (*lock)(struct target *t, int timeout_ms);
	int (*lock_renew)(struct target *t);
	void (*unlock)(struct target *t);
	void (*free)(struct target *t);
};

struct target {
	const struct target_ops *ops;
	char describe[TARGET_DESC_MAX];
	char err[TARGET_ERR_MAX];
};

/* Records the error text (printf-style) and returns r. */
int target_fail(struct target *t, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Backend constructors; on failure err holds the reason. */
int target_dir_open(const char *dir, struct target **ret, char *err, size_t errlen);
int target_azure_open(const char *url, const struct target_auth *auth, struct target **ret,
                      char *err, size_t errlen);

/* Milliseconds of CLOCK_MONOTONIC, for lock waits. */
int64_t target_now_ms(void);
/* Sleeps ms milliseconds (EINTR restarts). */
void target_sleep_ms(int64_t ms);

/* Test seam: Azure uploads bigger than single_max bytes go as blocks of
 * block bytes (defaults: 256 MiB single shot, 100 MiB blocks). -EINVAL for a
 * directory target or zero sizes. */
int target_azure_set_block_size(struct target *t, uint64_t single_max, uint64_t block);

#endif

/*
 * fsutil — durable file operations.
 *
 * Every file the cache or a leader directory publishes is written as temp +
 * fsync + rename + fsync(dir), so a crash leaves the old file or the new one,
 * never a torn one.  Functions return 0 or a negative errno.
 */
#ifndef FOLLOWERD_FSUTIL_H
#define FOLLOWERD_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Writes len bytes to path atomically and durably (temp in the same
 * directory, fsync, rename, fsync of the directory).  With exclusive, fails
 * with -EEXIST when path exists (link(2) instead of rename(2)). */
int fsutil_write_atomic(const char *path, const void *data, size_t len, bool exclusive);

/* Copies the file src to dst atomically and durably (as above). */
int fsutil_copy_atomic(const char *src, const char *dst, bool exclusive);

/* Reads a whole file of at most max bytes into a new NUL-terminated buffer
 * (*ret, caller frees); -EFBIG when larger, -ENOENT when absent. */
int fsutil_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* mkdir -p with mode; directories created are fsynced into their parent. */
int fsutil_mkdirs(const char *path, mode_t mode);

/* fsync of the directory that contains path (or of path itself when is_dir). */
int fsutil_fsync_dir(const char *path);

#endif

/*
 * target — where a leader is written (see target.h).
 *
 * This file is the front: it picks the backend from the spec (a directory
 * or file:// URL → target_dir.c; an http(s) URL → target_azure.c, an Azure
 * Blob container), checks every object path before a backend sees it, and
 * keeps the last error text.  Backends implement struct target_ops
 * (target_int.h).
 *
 * Object paths are what docs/PROTOCOL.md allows for artifact paths:
 * relative, 1-1024 characters of A-Z a-z 0-9 _ - . /, no empty, "." or ".."
 * segment.  Two more names are reserved for the target itself: ".lock" at
 * the root (the writer lock) and any segment starting with ".tmp-" (the
 * temp files of an atomic write in a directory).
 */
#include "leader/target_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int target_fail(struct target *t, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return r;
}

int64_t target_now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void target_sleep_ms(int64_t ms)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == '/';
}

/* Checks s as an object path (is_prefix: may be empty and end in '/');
 * returns NULL or what is wrong. */
static const char *path_problem(const char *s, bool is_prefix)
{
	size_t n = strlen(s), i, seg = 0;

	if (n == 0)
		return is_prefix ? NULL : "empty path";
	if (n > TARGET_PATH_MAX)
		return "longer than 1024 characters";
	if (s[0] == '/')
		return "absolute path";
	for (i = 0; i <= n; i++) {
		if (i < n && !path_char(s[i]))
			return "character outside A-Z a-z 0-9 _ - . /";
		if (i < n && s[i] != '/')
			continue;
		if (i == seg && !(is_prefix && i == n))
			return "empty segment";
		if ((i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.'))
			return "'.' or '..' segment";
		if (i - seg >= 5 && strncmp(s + seg, ".tmp-", 5) == 0)
			return "'.tmp-' names are reserved for temp files";
		seg = i + 1;
	}
	if (!is_prefix && strcmp(s, ".lock") == 0)
		return "'.lock' is reserved for the writer lock";
	return NULL;
}

static int check_path(struct target *t, const char *path, bool is_prefix)
{
	const char *why = path_problem(path, is_prefix);

	if (why)
		return target_fail(t, -EINVAL, "%s: invalid object path '%.200s': %s", t->describe,
		                   path, why);
	return 0;
}

int target_open(const char *spec, const struct target_auth *auth, struct target **ret, char *err,
                size_t errlen)
{
	const char *colon = strstr(spec, "://");

	if (strncasecmp(spec, "http://", 7) == 0 || strncasecmp(spec, "https://", 8) == 0)
		return target_azure_open(spec, auth, ret, err, errlen);
	if (auth && (auth->account_key || auth->sas_token)) {
		(void)snprintf(err, errlen, "%s: credentials given for a directory", spec);
		return -EINVAL;
	}
	if (strncasecmp(spec, "file://", 7) == 0) {
		if (spec[7] != '/') {
			(void)snprintf(err, errlen, "%s: file URLs must be file:///absolute/path",
			               spec);
			return -EINVAL;
		}
		return target_dir_open(spec + 7, ret, err, errlen);
	}
	if (colon && (size_t)(colon - spec) < strcspn(spec, "/")) {
		(void)snprintf(err, errlen,
		               "%s: unsupported URL scheme (directory, file://, "
		               "http:// or https://)",
		               spec);
		return -EINVAL;
	}
	return target_dir_open(spec, ret, err, errlen);
}

void target_free(struct target *t)
{
	if (t)
		t->ops->free(t);
}

const char *target_error(const struct target *t)
{
	return t->err;
}

const char *target_describe(const struct target *t)
{
	return t->describe;
}

int target_get(struct target *t, const char *path, size_t max, char **ret_data, size_t *ret_len,
               char ret_etag[TARGET_ETAG_MAX])
{
	int r = check_path(t, path, false);

	if (max > SIZE_MAX / 2)
		max = SIZE_MAX / 2; /* backends add room for a NUL */
	return r < 0 ? r : t->ops->get(t, path, max, ret_data, ret_len, ret_etag);
}

int target_read(struct target *t, const char *path, uint64_t max, target_read_fn fn, void *arg)
{
	int r = check_path(t, path, false);

	return r < 0 ? r : t->ops->read(t, path, max, fn, arg);
}

/* An ETag goes into an HTTP header: printable ASCII only, never CR/LF. */
static bool valid_etag(const char *etag)
{
	size_t i;

	if (!etag || !*etag || strlen(etag) >= TARGET_ETAG_MAX)
		return false;
	for (i = 0; etag[i]; i++)
		if (etag[i] < 0x20 || etag[i] > 0x7e)
			return false;
	return true;
}

static int put(struct target *t, const char *path, const struct target_src *src,
               enum target_put_mode mode, const char *etag)
{
	int r = check_path(t, path, false);

	if (r < 0)
		return r;
	if (mode == TARGET_PUT_IF_MATCH && !valid_etag(etag))
		return target_fail(t, -EINVAL,
		                   "%s: %s: TARGET_PUT_IF_MATCH needs an ETag of 1-%d printable "
		                   "characters",
		                   t->describe, path, TARGET_ETAG_MAX - 1);
	return t->ops->put(t, path, src, mode, etag);
}

int target_put(struct target *t, const char *path, const void *data, size_t len,
               enum target_put_mode mode, const char *etag)
{
	struct target_src src = {data, len, NULL};

	return put(t, path, &src, mode, etag);
}

int target_put_file(struct target *t, const char *path, const char *local_path,
                    enum target_put_mode mode)
{
	struct target_src src = {NULL, 0, local_path};

	return put(t, path, &src, mode, NULL);
}

int target_delete(struct target *t, const char *path)
{
	int r = check_path(t, path, false);

	return r < 0 ? r : t->ops->del(t, path);
}

int target_list(struct target *t, const char *prefix, target_list_fn fn, void *arg)
{
	int r = check_path(t, prefix ? prefix : "", true);

	return r < 0 ? r : t->ops->list(t, prefix ? prefix : "", fn, arg);
}

int target_lock(struct target *t, int timeout_ms)
{
	return t->ops->lock(t, timeout_ms < 0 ? 0 : timeout_ms);
}

int target_lock_renew(struct target *t)
{
	return t->ops->lock_renew(t);
}

void target_unlock(struct target *t)
{
	t->ops->unlock(t);
}

/*
 * fetch — every HTTP(S) and file:// read followerd makes, on its event loop.
 *
 * One libcurl multi handle driven by one libevent event_base (curl's
 * hiperfifo pattern).  Callers describe a request (URL, extra headers, an
 * If-None-Match ETag, a Range start, a body cap, a priority) and get the body
 * either collected into memory or streamed to a callback; one completion
 * callback reports the outcome as a negative errno plus the HTTP details.
 *
 * Transfers beyond the concurrency limits (total and per scheme://host:port)
 * wait in per-host priority queues: higher priority first, FIFO among equals.
 *
 * Policy fixed here, not by callers: protocols http, https and file only;
 * redirects are never followed (a 3xx is -EPROTO naming the Location); TLS
 * peers and host names are verified; no content decoding (callers hash the
 * exact bytes); keep-alive connections are reused across requests.
 *
 * This module never logs.  Error texts carry URLs with the query string and
 * any user:password removed (SAS tokens are secrets), see fetch_url_redact().
 *
 * The process calls curl_global_init() once before fetch_new().  Everything
 * here runs on the thread that runs the event_base; fetch_free() comes before
 * event_base_free().
 *
 * Caveats:
 * - file:// is read by libcurl inside one curl_multi_socket_action() call,
 *   start to end: the loop is blocked for the whole file (300 MiB from tmpfs:
 *   50 ms; a multi-GB artifact from disk: seconds).  Timeouts do not apply.
 *   file:// has no ETag and never answers 304; headers are ignored.
 * - libcurl honours http_proxy / https_proxy / no_proxy from the environment.
 *
 * Result codes (struct fetch_result.result):
 *   0            2xx, or 304 when If-None-Match matched (not_modified set)
 *   -ENOENT      404 / 410; file:// file absent
 *   -EACCES      401 / 403; file:// file unreadable
 *   -EIO         5xx, other 4xx, network failure (refused, reset, DNS, TLS)
 *   -ETIMEDOUT   connect timeout, total timeout, or stalled (low-speed limit)
 *   -EFBIG       the body exceeds max_bytes (the transfer is aborted)
 *   -EPROTO      3xx redirect refused; 206 whose Content-Range does not start
 *                at range_start; a malformed response
 *   -ENOTSUP     range_start > 0 but the server answered 200 (Range ignored):
 *                no body byte was delivered; restart from 0
 *   -ERANGE      416, or file:// range_start beyond the end of the file
 *   -ENOMEM      out of memory
 *   other < 0    the value on_data returned (a positive return: -ECANCELED),
 *                or the negative value on_start returned
 */
#ifndef FOLLOWERD_FETCH_H
#define FOLLOWERD_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct fetch;
struct fetch_job;

#define FETCH_ETAG_MAX 256

/* Zero means "the default" for every numeric member. */
struct fetch_options {
	unsigned max_total;      /* transfers in flight (default 8) */
	unsigned max_per_host;   /* per scheme://host:port (default 4, at most max_total) */
	long connect_timeout_ms; /* default 10000 */
	long low_speed_limit;    /* bytes/s below which a transfer is stalled (default 1) */
	long low_speed_time_s;   /* ...for this many seconds (default 30) */
	long timeout_ms;         /* whole transfer (default 0: none; see fetch_request) */
	const char *user_agent;  /* copied; default "followerd" */
	const char *ca_file;     /* copied; NULL: the system's CA store */
	const char *ca_path;     /* copied; NULL: the system's CA store */
};

/* The outcome of one request, passed to on_done.  It and every string in it
 * are valid only during the on_done call, except the body, which on_done may
 * keep with fetch_result_take_body(). */
struct fetch_result {
	int result;             /* 0 or a negative errno: see the table above */
	long status;            /* HTTP status; 0 for file:// or when none arrived */
	bool not_modified;      /* 304: If-None-Match matched, no body */
	bool range_honoured;    /* range_start > 0 and the body starts there (206) */
	const char *url;        /* the request URL, redacted (query removed); ""
	                           when the transfer never started */
	const char *error;      /* why result != 0, with the redacted URL; "" when 0 */
	const char *etag;       /* the response ETag verbatim (quotes kept); NULL if none */
	int64_t content_length; /* bytes this response announced; -1 unknown */
	int64_t total_length;   /* size of the whole object when known (Content-Range,
	                           or content_length + range_start); -1 unknown */
	uint64_t bytes;         /* body bytes delivered to the sink or collected */
	char *body;             /* collect mode, result 0, not 304: the body, NUL
	                           terminated (body_len excludes the NUL); else NULL.
	                           Freed after on_done unless taken. */
	size_t body_len;
};

enum fetch_method {
	FETCH_GET = 0,
	FETCH_HEAD,
};

/* Called when the transfer is about to start (it may have waited in the
 * queue), to add headers that must be fresh: an Azure Shared Key signature
 * covers x-ms-date and is refused after 15 minutes.  It may call only
 * fetch_job_add_header().  A negative return fails the request with that
 * result (on_done still runs). */
typedef int (*fetch_start_fn)(struct fetch_job *job, void *arg);

/* Receives body bytes in order.  Non-zero aborts the transfer; a negative
 * value becomes the result (e.g. -ENOSPC), except FETCH_PAUSE: the bytes were
 * not taken, the transfer pauses (no timeout counts while paused) and the
 * same bytes come again after fetch_resume().  Runs inside libcurl: it may
 * call fetch_get(), fetch_cancel() and fetch_resume() (they are deferred),
 * never fetch_free().  file:// cannot pause: libcurl would read the rest of
 * the file into memory; sinks of file:// transfers should take every byte. */
typedef int (*fetch_data_fn)(const void *buf, size_t len, void *arg);

#define FETCH_PAUSE 0x7fff0001 /* on_data: not now (see fetch_data_fn) */

/* Called exactly once per request that was not cancelled, from the event loop
 * (never from inside fetch_get or libcurl).  It may call fetch_get() and
 * fetch_cancel() (on any job, its own included: a no-op), never fetch_free(). */
typedef void (*fetch_done_fn)(struct fetch_result *res, void *arg);

/* A request.  fetch_get() copies every string; nothing is borrowed after it
 * returns. */
struct fetch_request {
	const char *url; /* http://, https:// or file:// */
	enum fetch_method method;
	const char *const *headers; /* NULL-terminated "Name: value" list, or NULL */
	const char *if_none_match;  /* ETag to send as If-None-Match, or NULL */
	uint64_t range_start;       /* > 0: ask for bytes range_start.. (Range: bytes=N-) */
	uint64_t max_bytes;         /* body cap; 0 = none (allowed only with on_data) */
	long timeout_ms;            /* whole transfer; 0: fetch_options.timeout_ms */
	int priority;               /* higher starts first when queued */
	fetch_start_fn on_start;    /* optional: add fresh headers */
	fetch_data_fn on_data;      /* NULL: collect the body into res->body */
	fetch_done_fn on_done;      /* required */
	void *arg;                  /* passed to on_start, on_data and on_done */
};

/* Counters since fetch_new(), for /metrics.  Each finished request is counted
 * once in exactly one class. */
struct fetch_stats {
	uint64_t bytes_received; /* body bytes delivered or collected */
	uint64_t started;        /* transfers handed to libcurl */
	uint64_t ok;             /* result 0, not 304 */
	uint64_t not_modified;   /* 304 */
	uint64_t not_found;      /* -ENOENT */
	uint64_t denied;         /* -EACCES */
	uint64_t too_big;        /* -EFBIG */
	uint64_t timed_out;      /* -ETIMEDOUT */
	uint64_t failed;         /* any other error */
	uint64_t cancelled;      /* fetch_cancel() before completion was delivered */
	unsigned active;         /* in flight now */
	unsigned queued;         /* waiting for a slot now */
};

/* Returns a new fetch on base (borrowed: it must outlive the fetch), or NULL
 * with errno set (ENOMEM, EINVAL).  opt may be NULL (all defaults); it is
 * copied. */
struct fetch *fetch_new(struct event_base *base, const struct fetch_options *opt);

/* Cancels every job without calling any callback, then frees.  NULL is a
 * no-op.  Must not be called from on_data or on_done. */
void fetch_free(struct fetch *f);

/* Queues a request.  Returns 0 and, when ret_job is not NULL, a handle valid
 * until on_done returns or fetch_cancel() is called on it; or -EINVAL (bad or
 * unsupported URL, CR/LF in a header, no on_done, collect mode without
 * max_bytes) / -ENOMEM, in which case no callback will ever run. */
int fetch_get(struct fetch *f, const struct fetch_request *req, struct fetch_job **ret_job);

/* Stops a queued or running job and frees it.  Neither on_data nor on_done is
 * called for it afterwards.  Called on the job whose on_done is running, it
 * does nothing.  NULL is a no-op. */
void fetch_cancel(struct fetch_job *job);

/* Continues a transfer whose on_data returned FETCH_PAUSE: on_data gets the
 * held bytes again, now or (when called from inside libcurl) once libcurl
 * returns.  A no-op for a job that is not paused.  NULL is a no-op. */
void fetch_resume(struct fetch_job *job);

/* Raises a queued job to priority, if that is higher than its own; a no-op
 * for a job that started.  NULL is a no-op. */
void fetch_raise(struct fetch_job *job, int priority);

/* Adds the header line "Name: value" (copied) to the job's request; only
 * from its on_start.  -EINVAL when it holds CR or LF, -ENOMEM. */
int fetch_job_add_header(struct fetch_job *job, const char *line);

/* Takes the collected body out of res (caller frees; NULL when none) and its
 * length into *ret_len (may be NULL). */
char *fetch_result_take_body(struct fetch_result *res, size_t *ret_len);

/* New concurrency limits (a reload; 0 means the default, as in
 * fetch_options): more slots start queued jobs now, fewer let the running
 * ones finish.  -EINVAL when libcurl refuses them (nothing changed). */
int fetch_set_limits(struct fetch *f, unsigned max_total, unsigned max_per_host);

/* Copies the counters into *ret. */
void fetch_stats(const struct fetch *f, struct fetch_stats *ret);

/* Writes url into buf (always NUL terminated, truncated to len) with any
 * user:password@ replaced by "***@" and any query or fragment replaced by
 * "?***".  Returns buf. */
char *fetch_url_redact(const char *url, char *buf, size_t len);

#endif

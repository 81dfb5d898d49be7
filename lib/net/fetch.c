/*
 * fetch — libcurl multi on libevent: queueing, policy and error mapping for
 * every read followerd makes over HTTP(S) or file://.
 *
 * The shape is curl's hiperfifo: SOCKETFUNCTION keeps one libevent event per
 * curl socket, TIMERFUNCTION arms one libevent timer (it never calls libcurl:
 * 7.88 returns CURLM_RECURSIVE_API_CALL), and after every
 * curl_multi_socket_action() we run after_curl(): drain finished transfers,
 * reap transfers cancelled from inside libcurl, start queued requests, and
 * schedule delivery of completions.
 *
 * A job moves QUEUED (in its host's queue) -> ACTIVE (in libcurl, on the
 * running list) -> DONE (on the done list) -> DELIVERING (on_done runs) ->
 * freed.  Completions are delivered from a separate event so that on_done
 * never runs inside libcurl or inside fetch_get(), and may call fetch_get()
 * and fetch_cancel() freely.  on_data does run inside libcurl: anything it
 * asks for that would call libcurl is deferred until libcurl returns
 * (in_curl), which is what the CANCELLED state and the reap list are for.
 */
#include "net/fetch.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "util/pqueue.h"

#define FETCH_URL_MAX 8192 /* longer request URLs are refused */
#define FETCH_URL_TEXT 512 /* redacted URL kept for error texts */
#define FETCH_ERROR_MAX 1280
#define FETCH_RANGE_TEXT 128    /* Content-Range kept for error texts */
#define FETCH_DISCARD_MAX 65536 /* error bodies read (and dropped) to keep the connection */

enum job_state {
	JOB_QUEUED,     /* in host->q */
	JOB_ACTIVE,     /* in libcurl, on f->running */
	JOB_CANCELLED,  /* in libcurl, on f->reap: cancelled while in_curl */
	JOB_DONE,       /* on f->done, waiting for delivery */
	JOB_DELIVERING, /* on_done is running */
};

TAILQ_HEAD(job_list, fetch_job);
LIST_HEAD(host_list, fetch_host);
LIST_HEAD(sock_list, fetch_sock);

/* The texts a transfer fills in, allocated when it starts so that a queued
 * job stays small (the cache may queue a hundred thousand extents). */
struct job_text {
	char url[FETCH_URL_TEXT]; /* redacted */
	char errbuf[CURL_ERROR_SIZE];
	char error[FETCH_ERROR_MAX];
	char etag[FETCH_ETAG_MAX];
	char content_range[FETCH_RANGE_TEXT];
};

/* One scheme://host:port: its queue and how many of its jobs are running. */
struct fetch_host {
	char *key;
	unsigned refs;   /* jobs referring to this host, any state */
	unsigned active; /* jobs running */
	struct pqueue q; /* its queued jobs */
	LIST_ENTRY(fetch_host) entry;
};

struct fetch_job {
	struct fetch *f;
	struct fetch_host *host;
	enum job_state state;
	TAILQ_ENTRY(fetch_job) link; /* running, reap or done list */
	struct pqueue_item qi;       /* in host->q while queued */

	char *url;
	bool is_file;
	enum fetch_method method;
	struct curl_slist *headers;
	uint64_t range_start;
	uint64_t max_bytes;
	long timeout_ms;
	fetch_start_fn on_start;
	fetch_data_fn on_data;
	fetch_done_fn on_done;
	void *arg;

	CURL *easy;
	bool judged;       /* the first body byte arrived and the status was checked */
	bool deliver;      /* body bytes go to the sink (2xx), else are discarded */
	bool status_abort; /* an error body was too long to drain: judge by status */
	bool paused;       /* on_data returned FETCH_PAUSE */
	bool resume;       /* fetch_resume() from inside libcurl: unpause after it */
	int err;           /* why we aborted the transfer from a callback */
	size_t discarded;
	char *buf; /* collect mode */
	size_t cap;

	struct fetch_result res;
	struct job_text *txt; /* from the start of the transfer on */
};

/* One socket libcurl asked us to watch. */
struct fetch_sock {
	struct event *ev;
	LIST_ENTRY(fetch_sock) entry;
};

struct fetch {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;   /* libcurl's timeout */
	struct event *deliver; /* runs on_done callbacks */
	struct fetch_options opt;
	char *user_agent, *ca_file, *ca_path;

	struct host_list hosts;
	struct sock_list socks;
	struct job_list running, reap, done;
	unsigned active, queued, ndone;
	unsigned in_curl; /* inside curl_multi_socket_action(): no libcurl calls */
	unsigned resumes; /* jobs with resume set */
	bool delivering;
	bool starting; /* inside on_start */
	uint64_t seq;
	struct fetch_stats stats;
};

static void kick(struct fetch *f);

/* ---- URL redaction ---------------------------------------------------- */

char *fetch_url_redact(const char *url, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	const char *sep = strstr(url, "://");
	const char *auth = sep ? sep + 3 : url;
	size_t auth_len = strcspn(auth, "/?#");
	const char *at = memrchr(auth, '@', auth_len);
	const char *rest = at ? at + 1 : auth;
	size_t rest_len = strcspn(rest, "?#");
	size_t head_len = (size_t)(auth - url);

	(void)snprintf(buf, len, "%.*s%s%.*s%s", (int)(head_len < INT_MAX ? head_len : INT_MAX),
	               url, at ? "***@" : "", (int)(rest_len < INT_MAX ? rest_len : INT_MAX), rest,
	               rest[rest_len] ? "?***" : "");
	return buf;
}

/* ---- per-host priority queues ----------------------------------------- */

static struct fetch_job *job_of(struct pqueue_item *it)
{
	return it != NULL ? (struct fetch_job *)((char *)it - offsetof(struct fetch_job, qi))
	                  : NULL;
}

/* Returns the host for key with a new reference, creating it. */
static struct fetch_host *host_get(struct fetch *f, const char *key)
{
	struct fetch_host *h;

	for (h = LIST_FIRST(&f->hosts); h; h = LIST_NEXT(h, entry)) {
		if (strcmp(h->key, key) == 0) {
			h->refs++;
			return h;
		}
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->key = strdup(key);
	if (!h->key) {
		free(h);
		return NULL;
	}
	h->refs = 1;
	LIST_INSERT_HEAD(&f->hosts, h, entry);
	return h;
}

static void host_free(struct fetch_host *h)
{
	LIST_REMOVE(h, entry);
	pqueue_clear(&h->q);
	free(h->key);
	free(h);
}

static void host_unref(struct fetch_host *h)
{
	if (h && --h->refs == 0)
		host_free(h);
}

/* The host whose next job should start now, or NULL. */
static struct fetch_host *best_host(struct fetch *f)
{
	struct fetch_host *h, *best = NULL;

	for (h = LIST_FIRST(&f->hosts); h; h = LIST_NEXT(h, entry)) {
		if (h->q.n == 0 || h->active >= f->opt.max_per_host)
			continue;
		if (!best || pqueue_before(pqueue_top(&h->q), pqueue_top(&best->q)))
			best = h;
	}
	return best;
}

/* ---- jobs ------------------------------------------------------------- */

static void job_free(struct fetch_job *j)
{
	if (!j)
		return;
	assert(!j->easy);
	curl_slist_free_all(j->headers);
	free(j->buf);
	free(j->res.body);
	free(j->url);
	free(j->txt);
	host_unref(j->host);
	free(j);
}

/* Takes a running job out of libcurl and off its list. */
static void job_detach(struct fetch_job *j)
{
	struct fetch *f = j->f;

	(void)curl_multi_remove_handle(f->multi, j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	TAILQ_REMOVE(j->state == JOB_CANCELLED ? &f->reap : &f->running, j, link);
	f->active--;
	j->host->active--;
}

static void job_unqueue(struct fetch_job *j)
{
	pqueue_remove(&j->host->q, &j->qi);
	j->f->queued--;
}

static void job_to_done(struct fetch_job *j)
{
	struct fetch *f = j->f;

	j->state = JOB_DONE;
	TAILQ_INSERT_TAIL(&f->done, j, link);
	f->ndone++;
}

void fetch_cancel(struct fetch_job *j)
{
	if (!j)
		return;
	struct fetch *f = j->f;

	assert(!f->starting);
	switch (j->state) {
	case JOB_DELIVERING:
	case JOB_CANCELLED:
		return;
	case JOB_QUEUED:
		job_unqueue(j);
		break;
	case JOB_DONE:
		TAILQ_REMOVE(&f->done, j, link);
		f->ndone--;
		break;
	case JOB_ACTIVE:
		if (f->in_curl) {
			/* Inside libcurl (from on_data): reap when it returns. */
			TAILQ_REMOVE(&f->running, j, link);
			TAILQ_INSERT_TAIL(&f->reap, j, link);
			j->state = JOB_CANCELLED;
			f->stats.cancelled++;
			return;
		}
		job_detach(j);
		break;
	}
	f->stats.cancelled++;
	job_free(j);
	kick(f);
}

/* ---- the body --------------------------------------------------------- */

static int collect(struct fetch_job *j, const void *data, size_t len)
{
	size_t need = (size_t)j->res.bytes + len + 1;

	if (need > j->cap) {
		size_t cap = j->cap ? j->cap : 4096;
		while (cap < need)
			cap *= 2;
		if (cap > j->max_bytes + 1)
			cap = (size_t)j->max_bytes + 1;
		char *buf = realloc(j->buf, cap);
		if (!buf)
			return -ENOMEM;
		j->buf = buf;
		j->cap = cap;
	}
	memcpy(j->buf + j->res.bytes, data, len);
	return 0;
}

/* Parses the first byte position and complete length of "bytes A-B/C" (C may
 * be "*": -1).  -EPROTO when malformed. */
static int parse_content_range(const char *v, uint64_t *ret_first, int64_t *ret_total)
{
	unsigned long long first, last;
	char total[32];

	if (sscanf(v, "bytes %llu-%llu/%31s", &first, &last, total) != 3 || last < first)
		return -EPROTO;
	*ret_first = first;
	*ret_total = strcmp(total, "*") == 0 ? -1 : (int64_t)strtoll(total, NULL, 10);
	return 0;
}

/* Copies header name of the last response into buf; "" when absent. */
static void header_copy(CURL *easy, const char *name, char *buf, size_t len)
{
	struct curl_header *h;

	buf[0] = '\0';
	if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK &&
	    strlen(h->value) < len)
		strcpy(buf, h->value);
}

/* A range was asked for and the server sent 2xx: is it the range we want? */
static int judge_range(struct fetch_job *j, long status)
{
	uint64_t first;

	if (j->is_file) {
		j->res.range_honoured = true;
		return 0;
	}
	if (status == 200)
		return -ENOTSUP;
	header_copy(j->easy, "Content-Range", j->txt->content_range, sizeof(j->txt->content_range));
	if (status != 206 ||
	    parse_content_range(j->txt->content_range, &first, &j->res.total_length) < 0 ||
	    first != j->range_start)
		return -EPROTO;
	j->res.range_honoured = true;
	return 0;
}

/* Runs at the first body byte: decides where the body goes, and refuses a
 * body that cannot be right before any of it reaches the sink. */
static void judge(struct fetch_job *j)
{
	long status = 0;
	curl_off_t cl = -1;

	j->judged = true;
	(void)curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
	if (!j->is_file && (status < 200 || status > 299))
		return; /* an error body: drained, judged by status at the end */
	if (j->range_start > 0) {
		j->err = judge_range(j, status);
		if (j->err)
			return;
	}
	(void)curl_easy_getinfo(j->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	if (j->max_bytes && cl > 0 && (uint64_t)cl > j->max_bytes) {
		j->err = -EFBIG;
		return;
	}
	/* One allocation of the announced size instead of a realloc chain. */
	if (!j->on_data && cl > 0 && !j->buf) {
		j->buf = malloc((size_t)cl + 1);
		j->cap = j->buf ? (size_t)cl + 1 : 0;
	}
	j->deliver = true;
}

static size_t deliver(struct fetch_job *j, const char *data, size_t len)
{
	int r;

	if (j->max_bytes && len > j->max_bytes - j->res.bytes) {
		j->err = -EFBIG;
		return 0;
	}
	r = j->on_data ? j->on_data(data, len, j->arg) : collect(j, data, len);
	if (j->state != JOB_ACTIVE)
		return 0; /* on_data cancelled its own job */
	if (r == FETCH_PAUSE && !j->is_file) {
		j->paused = true;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (r) {
		j->err = r < 0 ? r : -ECANCELED;
		return 0;
	}
	j->res.bytes += len;
	j->f->stats.bytes_received += len;
	return len;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_job *j = arg;
	size_t len = size * nmemb;

	if (j->state != JOB_ACTIVE)
		return 0;
	if (!j->judged)
		judge(j);
	if (j->err)
		return 0;
	if (j->deliver)
		return deliver(j, data, len);
	/* Drop a short error body so the connection stays reusable. */
	j->discarded += len;
	if (j->discarded > FETCH_DISCARD_MAX) {
		j->status_abort = true;
		return 0;
	}
	return len;
}

/* ---- completion ------------------------------------------------------- */

static int status_errno(long status)
{
	if ((status >= 200 && status <= 299) || status == 304)
		return 0;
	if (status >= 300 && status <= 399)
		return -EPROTO;
	if (status == 401 || status == 403)
		return -EACCES;
	if (status == 404 || status == 410)
		return -ENOENT;
	if (status == 416)
		return -ERANGE;
	return status == 0 ? -EPROTO : -EIO;
}

/* Why a file:// read failed: libcurl says only "couldn't open". */
static int file_errno(const char *url)
{
	CURLU *u = curl_url();
	char *path = NULL;
	struct stat st;
	int r = -EIO;

	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK)
		goto out;
	if (stat(path, &st) == 0)
		r = -EACCES; /* there, but could not be opened */
	else if (errno == ENOENT || errno == ENOTDIR)
		r = -ENOENT;
	else if (errno == EACCES)
		r = -EACCES;
out:
	curl_free(path);
	curl_url_cleanup(u);
	return r;
}

static int curl_errno(const struct fetch_job *j, CURLcode cc)
{
	switch (cc) {
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_FILE_COULDNT_READ_FILE:
		return file_errno(j->url);
	case CURLE_BAD_DOWNLOAD_RESUME:
	case CURLE_RANGE_ERROR:
		return -ERANGE;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_WEIRD_SERVER_REPLY:
		return -EPROTO;
	default:
		return -EIO;
	}
}

static int classify(const struct fetch_job *j, CURLcode cc)
{
	if (j->err)
		return j->err;
	if (cc != CURLE_OK && !j->status_abort)
		return curl_errno(j, cc);
	if (j->is_file)
		return 0;
	return status_errno(j->res.status);
}

static void error_http(struct fetch_job *j, char *buf, size_t len)
{
	const char *u = j->txt->url;
	long st = j->res.status;
	char *where = NULL;
	struct curl_header *h;
	char loc[FETCH_URL_TEXT], code[128];

	if (st >= 300 && st <= 399) {
		/* The absolute target; the raw header when libcurl cannot tell. */
		(void)curl_easy_getinfo(j->easy, CURLINFO_REDIRECT_URL, &where);
		if (!where &&
		    curl_easy_header(j->easy, "Location", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
			where = h->value;
		if (where)
			(void)snprintf(buf, len, "%s: redirect to %s refused (HTTP %ld)", u,
			               fetch_url_redact(where, loc, sizeof(loc)), st);
		else
			(void)snprintf(buf, len, "%s: HTTP %ld redirect refused", u, st);
		return;
	}
	/* Azure Blob names the reason in a header (AuthenticationFailed...). */
	header_copy(j->easy, "x-ms-error-code", code, sizeof(code));
	(void)snprintf(buf, len, "%s: HTTP %ld%s%s%s", u, st, code[0] ? " (" : "", code,
	               code[0] ? ")" : "");
}

static void error_text(struct fetch_job *j, CURLcode cc, char *buf, size_t len)
{
	const char *u = j->txt->url;
	int r = j->res.result;

	if (r == 0)
		buf[0] = '\0';
	else if (j->err == -EFBIG)
		(void)snprintf(buf, len, "%s: body larger than %" PRIu64 " bytes", u, j->max_bytes);
	else if (j->err == -ENOTSUP)
		(void)snprintf(buf, len, "%s: Range ignored (HTTP %ld instead of 206)", u,
		               j->res.status);
	else if (j->err == -EPROTO)
		(void)snprintf(buf, len,
		               "%s: HTTP %ld, Content-Range \"%s\" does not start at %" PRIu64, u,
		               j->res.status, j->txt->content_range, j->range_start);
	else if (j->err)
		(void)snprintf(buf, len, "%s: body sink failed: %s", u, strerror(-j->err));
	else if (cc != CURLE_OK && !j->status_abort)
		(void)snprintf(buf, len, "%s: %s", u,
		               j->txt->errbuf[0] ? j->txt->errbuf : curl_easy_strerror(cc));
	else
		error_http(j, buf, len);
}

/* Fills j->res from the finished easy handle (before it is removed). */
static void job_result(struct fetch_job *j, CURLcode cc)
{
	struct fetch_result *res = &j->res;
	curl_off_t cl = -1;

	(void)curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &res->status);
	(void)curl_easy_getinfo(j->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
	res->content_length = cl >= 0 ? cl : -1;
	if (!j->res.range_honoured) /* else Content-Range gave the total */
		res->total_length =
		    j->range_start == 0 || res->status == 200 ? res->content_length : -1;
	if (j->is_file && j->range_start && cl >= 0)
		res->total_length = cl + (int64_t)j->range_start;
	header_copy(j->easy, "ETag", j->txt->etag, sizeof(j->txt->etag));
	res->etag = j->txt->etag[0] ? j->txt->etag : NULL;
	res->not_modified = !j->is_file && res->status == 304;
	res->result = classify(j, cc);
	error_text(j, cc, j->txt->error, sizeof(j->txt->error));
	res->error = j->txt->error;
	if (res->result == 0 && !j->on_data && !res->not_modified) {
		res->body = j->buf ? j->buf : strdup("");
		j->buf = NULL;
		if (!res->body) {
			res->result = -ENOMEM;
			(void)snprintf(j->txt->error, sizeof(j->txt->error), "%s: out of memory",
			               j->txt->url);
			return;
		}
		res->body[res->bytes] = '\0';
		res->body_len = (size_t)res->bytes;
	}
}

/* A transfer finished: record its outcome and queue it for delivery. */
static void job_finish(struct fetch_job *j, CURLcode cc)
{
	job_result(j, cc);
	job_detach(j);
	job_to_done(j);
}

/* Finishes a job that never reached libcurl: out of memory, or on_start
 * refused it. */
static void job_fail(struct fetch_job *j, int r, const char *what)
{
	j->res.result = r;
	if (j->txt) {
		(void)snprintf(j->txt->error, sizeof(j->txt->error), "%s: %s", j->txt->url, what);
		j->res.error = j->txt->error;
	} else {
		j->res.error = what;
	}
	job_to_done(j);
}

static void count_result(struct fetch_stats *st, const struct fetch_result *res)
{
	switch (res->result) {
	case 0:
		if (res->not_modified)
			st->not_modified++;
		else
			st->ok++;
		break;
	case -ENOENT:
		st->not_found++;
		break;
	case -EACCES:
		st->denied++;
		break;
	case -EFBIG:
		st->too_big++;
		break;
	case -ETIMEDOUT:
		st->timed_out++;
		break;
	default:
		st->failed++;
		break;
	}
}

/* Delivers the completions present when it started; those on_done adds wait
 * for the next round, so a callback that keeps failing cannot starve the
 * loop. */
static void on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct fetch *f = arg;
	unsigned n = f->ndone;
	struct fetch_job *j;

	f->delivering = true;
	while (n-- > 0 && (j = TAILQ_FIRST(&f->done))) {
		TAILQ_REMOVE(&f->done, j, link);
		f->ndone--;
		j->state = JOB_DELIVERING;
		count_result(&f->stats, &j->res);
		j->on_done(&j->res, j->arg);
		job_free(j);
	}
	f->delivering = false;
	if (f->ndone > 0)
		event_active(f->deliver, EV_TIMEOUT, 1);
}

/* ---- starting transfers ----------------------------------------------- */

/* What every transfer gets, whatever the caller asked. */
static int easy_policy(struct fetch *f, CURL *e)
{
	const struct fetch_options *o = &f->opt;

	if (curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file") ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L) ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) ||
	    /* 512 KiB (libcurl's most; default 16 KiB): a 256 MiB body took
	     * 18-25% longer in 16 KiB writes and sink calls (bench cache) */
	    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 524288L) ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, f->user_agent) ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms) ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, o->low_speed_limit) ||
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, o->low_speed_time_s))
		return -EINVAL;
	if ((f->ca_file && curl_easy_setopt(e, CURLOPT_CAINFO, f->ca_file)) ||
	    (f->ca_path && curl_easy_setopt(e, CURLOPT_CAPATH, f->ca_path)))
		return -EINVAL;
	return 0;
}

/* What this request asked for. */
static int easy_request(struct fetch_job *j, CURL *e)
{
	long timeout = j->timeout_ms ? j->timeout_ms : j->f->opt.timeout_ms;
	char range[32];

	(void)snprintf(range, sizeof(range), "%" PRIu64 "-", j->range_start);
	if (curl_easy_setopt(e, CURLOPT_URL, j->url) ||
	    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)j) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)j) ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->txt->errbuf) ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout) ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers) ||
	    curl_easy_setopt(e, CURLOPT_NOBODY, j->method == FETCH_HEAD ? 1L : 0L))
		return -EINVAL;
	if (j->range_start > 0 && curl_easy_setopt(e, CURLOPT_RANGE, range))
		return -EINVAL;
	return 0;
}

static int append_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *l;

	if (strpbrk(line, "\r\n"))
		return -EINVAL; /* header injection */
	l = curl_slist_append(*list, line);
	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

/* Lets the caller add fresh headers; only fetch_job_add_header() may run. */
static int job_call_start(struct fetch_job *j)
{
	int r;

	if (!j->on_start)
		return 0;
	j->f->starting = true;
	r = j->on_start(j, j->arg);
	j->f->starting = false;
	return r < 0 ? r : 0;
}

static void job_start(struct fetch_job *j)
{
	struct fetch *f = j->f;
	CURL *e = NULL;
	int r;

	j->txt = calloc(1, sizeof(*j->txt));
	if (!j->txt) {
		job_fail(j, -ENOMEM, "out of memory");
		return;
	}
	j->res.url = fetch_url_redact(j->url, j->txt->url, sizeof(j->txt->url));
	r = job_call_start(j);
	if (r < 0) {
		job_fail(j, r, "on_start refused the request");
		return;
	}
	e = curl_easy_init();
	if (!e || easy_policy(f, e) < 0 || easy_request(j, e) < 0 ||
	    curl_multi_add_handle(f->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		job_fail(j, -ENOMEM, "cannot start the transfer");
		return;
	}
	j->easy = e;
	j->state = JOB_ACTIVE;
	TAILQ_INSERT_TAIL(&f->running, j, link);
	f->active++;
	j->host->active++;
	f->stats.started++;
}

int fetch_job_add_header(struct fetch_job *j, const char *line)
{
	assert(j->f->starting);
	return append_header(&j->headers, line);
}

/* Starts queued jobs while there are slots, then schedules delivery. */
static void kick(struct fetch *f)
{
	struct fetch_host *h;

	if (f->in_curl)
		return; /* after_curl() will */
	while (f->active < f->opt.max_total && (h = best_host(f))) {
		struct fetch_job *j = job_of(pqueue_top(&h->q));
		job_unqueue(j);
		job_start(j);
	}
	if (f->ndone > 0 && !f->delivering)
		event_active(f->deliver, EV_TIMEOUT, 1);
}

/* ---- libcurl <-> libevent --------------------------------------------- */

static void drain(struct fetch *f)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(f->multi, &left))) {
		char *priv = NULL;
		struct fetch_job *j;
		if (msg->msg != CURLMSG_DONE)
			continue;
		(void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		j = (struct fetch_job *)priv;
		/* A job cancelled from on_data is reaped by after_curl(); its
		 * message goes with it. */
		if (j && j->state == JOB_ACTIVE)
			job_finish(j, msg->data.result);
	}
}

/* Lets libcurl deliver the held bytes (it calls on_write from inside
 * curl_easy_pause) and go on reading; its 0 ms timeout runs the transfer. */
static void job_unpause(struct fetch_job *j)
{
	struct fetch *f = j->f;
	CURLcode cc;

	j->paused = false;
	f->in_curl++;
	cc = curl_easy_pause(j->easy, CURLPAUSE_CONT);
	f->in_curl--;
	/* on_data refused the held bytes: libcurl stopped there and may not
	 * watch the socket again, so finish the transfer here */
	if (cc != CURLE_OK && j->state == JOB_ACTIVE)
		job_finish(j, cc);
}

static struct fetch_job *first_resume(struct fetch *f)
{
	struct fetch_job *j;

	TAILQ_FOREACH(j, &f->running, link)
	if (j->resume)
		return j;
	return NULL;
}

/* The fetch_resume() calls made from inside libcurl.  A job cancelled
 * meanwhile is on the reap list, no longer on running. */
static void run_resumes(struct fetch *f)
{
	struct fetch_job *j;

	while (f->resumes > 0 && (j = first_resume(f)) != NULL) {
		j->resume = false;
		f->resumes--;
		job_unpause(j);
	}
	f->resumes = 0;
}

static void after_curl(struct fetch *f)
{
	struct fetch_job *j;

	run_resumes(f);
	drain(f);
	while ((j = TAILQ_FIRST(&f->reap))) {
		job_detach(j);
		job_free(j);
	}
	kick(f);
}

void fetch_resume(struct fetch_job *j)
{
	if (!j || j->state != JOB_ACTIVE || !j->paused || j->resume)
		return;
	if (j->f->in_curl) {
		j->resume = true;
		j->f->resumes++;
		return;
	}
	job_unpause(j);
	after_curl(j->f);
}

static void run_curl(struct fetch *f, curl_socket_t s, int bits)
{
	int running;

	f->in_curl++;
	/* Errors here are per transfer and come back through drain(). */
	(void)curl_multi_socket_action(f->multi, s, bits, &running);
	f->in_curl--;
	after_curl(f);
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
	int bits =
	    ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);

	run_curl(arg, fd, bits);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
	run_curl(arg, CURL_SOCKET_TIMEOUT, 0);
}

/* TIMERFUNCTION: only (re)arms the timer; calling libcurl here recurses. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
	struct fetch *f = arg;
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};

	if (timeout_ms < 0)
		return event_del(f->timer);
	return event_add(f->timer, &tv);
}

static void sock_free(struct fetch_sock *s)
{
	LIST_REMOVE(s, entry);
	event_free(s->ev);
	free(s);
}

static struct fetch_sock *sock_new(struct fetch *f, curl_socket_t fd)
{
	struct fetch_sock *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->ev = event_new(f->base, fd, 0, on_event, f);
	if (!s->ev) {
		free(s);
		return NULL;
	}
	LIST_INSERT_HEAD(&f->socks, s, entry);
	return s;
}

/* SOCKETFUNCTION: one persistent event per socket, re-armed on change.  A
 * REMOVE for a socket we never saw (socketp NULL) is fine. */
static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *socketp)
{
	struct fetch *f = arg;
	struct fetch_sock *s = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_free(s);
		return 0;
	}
	if (!s) {
		s = sock_new(f, fd);
		if (!s || curl_multi_assign(f->multi, fd, s) != CURLM_OK) {
			if (s)
				sock_free(s);
			return -1;
		}
	}
	kind |= (what & CURL_POLL_IN) ? EV_READ : 0;
	kind |= (what & CURL_POLL_OUT) ? EV_WRITE : 0;
	if (event_del(s->ev) < 0 || event_assign(s->ev, f->base, fd, kind, on_event, f) < 0 ||
	    event_add(s->ev, NULL) < 0)
		return -1;
	return 0;
}

/* ---- the public face -------------------------------------------------- */

static int copy_opt_string(const char *src, char **dst)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return -ENOMEM;
	return 0;
}

static void apply_defaults(struct fetch_options *o)
{
	if (o->max_total == 0)
		o->max_total = 8;
	if (o->max_per_host == 0)
		o->max_per_host = 4;
	if (o->max_per_host > o->max_total)
		o->max_per_host = o->max_total;
	if (o->connect_timeout_ms == 0)
		o->connect_timeout_ms = 10000;
	if (o->low_speed_limit == 0)
		o->low_speed_limit = 1;
	if (o->low_speed_time_s == 0)
		o->low_speed_time_s = 30;
}

static int multi_setup(struct fetch *f)
{
	CURLM *m = f->multi;

	if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_curl_socket) ||
	    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, (void *)f) ||
	    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_curl_timer) ||
	    curl_multi_setopt(m, CURLMOPT_TIMERDATA, (void *)f) ||
	    /* A safety net: our own queue enforces these, with priorities. */
	    curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)f->opt.max_total) ||
	    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, (long)f->opt.max_per_host) ||
	    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long)f->opt.max_total))
		return -EINVAL;
	return 0;
}

struct fetch *fetch_new(struct event_base *base, const struct fetch_options *opt)
{
	struct fetch *f;

	if (!base || (opt && (opt->connect_timeout_ms < 0 || opt->low_speed_limit < 0 ||
	                      opt->low_speed_time_s < 0 || opt->timeout_ms < 0))) {
		errno = EINVAL;
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->base = base;
	LIST_INIT(&f->hosts);
	LIST_INIT(&f->socks);
	TAILQ_INIT(&f->running);
	TAILQ_INIT(&f->reap);
	TAILQ_INIT(&f->done);
	if (opt)
		f->opt = *opt;
	apply_defaults(&f->opt);
	if (copy_opt_string(f->opt.user_agent ? f->opt.user_agent : "followerd", &f->user_agent) ||
	    copy_opt_string(f->opt.ca_file, &f->ca_file) ||
	    copy_opt_string(f->opt.ca_path, &f->ca_path))
		goto fail;
	f->opt.user_agent = f->opt.ca_file = f->opt.ca_path = NULL; /* not the caller's */
	f->multi = curl_multi_init();
	f->timer = evtimer_new(base, on_timeout, f);
	f->deliver = event_new(base, -1, 0, on_deliver, f);
	if (!f->multi || !f->timer || !f->deliver || multi_setup(f) < 0)
		goto fail;
	return f;
fail:
	fetch_free(f);
	errno = ENOMEM;
	return NULL;
}

static void free_jobs(struct fetch *f)
{
	struct fetch_host *h, *next;
	struct fetch_job *j;

	for (h = LIST_FIRST(&f->hosts); h; h = next) {
		h->refs++; /* keeps h while its last jobs go */
		while (h->q.n > 0) {
			j = job_of(h->q.v[h->q.n - 1]);
			job_unqueue(j);
			job_free(j);
		}
		next = LIST_NEXT(h, entry);
		host_unref(h);
	}
	while ((j = TAILQ_FIRST(&f->running)) || (j = TAILQ_FIRST(&f->reap))) {
		job_detach(j);
		job_free(j);
	}
	while ((j = TAILQ_FIRST(&f->done))) {
		TAILQ_REMOVE(&f->done, j, link);
		job_free(j);
	}
}

void fetch_free(struct fetch *f)
{
	struct fetch_host *h;
	struct fetch_sock *s;

	if (!f)
		return;
	assert(!f->in_curl && !f->delivering);
	free_jobs(f);
	/* The multi first: its cleanup still calls SOCKETFUNCTION and
	 * TIMERFUNCTION, which touch the events freed below. */
	if (f->multi)
		(void)curl_multi_cleanup(f->multi);
	while ((s = LIST_FIRST(&f->socks)))
		sock_free(s);
	while ((h = LIST_FIRST(&f->hosts)))
		host_free(h);
	if (f->timer)
		event_free(f->timer);
	if (f->deliver)
		event_free(f->deliver);
	free(f->user_agent);
	free(f->ca_file);
	free(f->ca_path);
	free(f);
}

/* The queue key "scheme://host:port" of url ("file://" for files), and
 * whether it is a file:// URL.  -EINVAL for anything but http, https, file. */
static int url_key(const char *url, char *key, size_t len, bool *ret_is_file)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL;
	bool is_file = false;
	int r = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
		goto out;
	if (strcmp(scheme, "file") == 0) {
		is_file = true;
		(void)snprintf(key, len, "file://");
	} else if (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) {
		if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
			goto out;
		if ((size_t)snprintf(key, len, "%s://%s:%s", scheme, host, port) >= len)
			goto out;
	} else {
		goto out;
	}
	*ret_is_file = is_file;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

static int build_headers(const struct fetch_request *rq, struct curl_slist **ret)
{
	struct curl_slist *list = NULL;
	char line[FETCH_ETAG_MAX + 32];
	int r = 0;

	for (const char *const *h = rq->headers; h && *h && r == 0; h++)
		r = append_header(&list, *h);
	if (r == 0 && rq->if_none_match) {
		if (strlen(rq->if_none_match) >= FETCH_ETAG_MAX)
			r = -EINVAL;
		else {
			(void)snprintf(line, sizeof(line), "If-None-Match: %s", rq->if_none_match);
			r = append_header(&list, line);
		}
	}
	if (r < 0) {
		curl_slist_free_all(list);
		return r;
	}
	*ret = list;
	return 0;
}

static bool request_valid(const struct fetch_request *rq)
{
	if (!rq || !rq->url || !rq->on_done || rq->timeout_ms < 0)
		return false;
	if (rq->method != FETCH_GET && rq->method != FETCH_HEAD)
		return false;
	if (!rq->on_data && (rq->max_bytes == 0 || rq->max_bytes >= SIZE_MAX))
		return false;
	return strlen(rq->url) <= FETCH_URL_MAX;
}

/* A new job for rq, not yet queued (*ret); -EINVAL or -ENOMEM. */
static int job_new(struct fetch *f, const struct fetch_request *rq, struct fetch_job **ret)
{
	struct fetch_job *j = calloc(1, sizeof(*j));
	char key[512];
	int r = -ENOMEM;

	if (!j)
		return -ENOMEM;
	j->f = f;
	r = url_key(rq->url, key, sizeof(key), &j->is_file);
	if (r < 0 || (r = build_headers(rq, &j->headers)) < 0)
		goto fail;
	r = -ENOMEM;
	j->url = strdup(rq->url);
	j->host = host_get(f, key);
	if (!j->url || !j->host)
		goto fail;
	j->method = rq->method;
	j->range_start = rq->range_start;
	j->max_bytes = rq->max_bytes;
	j->timeout_ms = rq->timeout_ms;
	j->qi.priority = rq->priority;
	j->on_start = rq->on_start;
	j->on_data = rq->on_data;
	j->on_done = rq->on_done;
	j->arg = rq->arg;
	j->res.content_length = j->res.total_length = -1;
	j->res.url = "";
	*ret = j;
	return 0;
fail:
	job_free(j);
	return r;
}

int fetch_get(struct fetch *f, const struct fetch_request *rq, struct fetch_job **ret_job)
{
	struct fetch_job *j = NULL;
	int r;

	if (!f || !request_valid(rq))
		return -EINVAL;
	assert(!f->starting);
	r = job_new(f, rq, &j);
	if (r < 0)
		return r;
	j->qi.seq = f->seq++; /* FIFO among equal priorities, across hosts too */
	r = pqueue_push(&j->host->q, &j->qi);
	if (r < 0) {
		job_free(j);
		return r;
	}
	j->state = JOB_QUEUED;
	f->queued++;
	if (ret_job)
		*ret_job = j;
	kick(f);
	return 0;
}

char *fetch_result_take_body(struct fetch_result *res, size_t *ret_len)
{
	char *body = res->body;

	if (ret_len)
		*ret_len = res->body_len;
	res->body = NULL;
	res->body_len = 0;
	return body;
}

void fetch_raise(struct fetch_job *j, int priority)
{
	if (j != NULL && j->state == JOB_QUEUED)
		pqueue_raise(&j->host->q, &j->qi, priority);
}

int fetch_set_limits(struct fetch *f, unsigned max_total, unsigned max_per_host)
{
	struct fetch_options old = f->opt;

	f->opt.max_total = max_total;
	f->opt.max_per_host = max_per_host;
	apply_defaults(&f->opt);
	if (multi_setup(f) < 0) {
		f->opt = old;
		(void)multi_setup(f);
		return -EINVAL;
	}
	kick(f);
	return 0;
}

void fetch_stats(const struct fetch *f, struct fetch_stats *ret)
{
	*ret = f->stats;
	ret->active = f->active;
	ret->queued = f->queued;
}

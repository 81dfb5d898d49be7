/*
 * target_azure — a leader in an Azure Blob container (the Azure backend of
 * target.h), over blocking libcurl: leaderctl is a CLI, never an event loop.
 *
 * One CURL handle is reused (curl_easy_reset keeps its connections), so a
 * run of puts rides one keep-alive connection.  Requests are signed with
 * Shared Key or carry a SAS token (azure.c); no redirects are followed, only
 * http and https are spoken, TLS is verified, a connection must open within
 * 10 s and a transfer slower than 1 KiB/s for 30 s is dropped.
 *
 * Operations: Put Blob (block blob; files above 256 MiB go as Put Block +
 * Put Block List), Get Blob (the size cap is enforced while receiving, as
 * CURLOPT_MAXFILESIZE cannot stop a transfer under way in curl 7.88), Delete
 * Blob, List Blobs (paged by marker), and a 60 s lease on the ".lock" blob
 * as the writer lock.  While the lease is held, any operation more than 20 s
 * after the last renewal renews it first, so a long run of writes keeps it.
 * Conditional puts: If-None-Match: * (409/412 → -EEXIST), If-Match (412 →
 * -ESTALE).  Error texts name the method and the URL (never a SAS) and the
 * service's error code and message.
 */
#include "leader/target_int.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/azure.h"

#define SINGLE_PUT_MAX (256ull << 20)
#define BLOCK_SIZE (100ull << 20)
#define BLOCKS_MAX 50000
#define LEASE_SECONDS "60"
#define LEASE_RENEW_AFTER_MS 20000
#define LEASE_POLL_MS 200
#define LIST_PAGE_MAX (32u << 20)
#define ERR_BODY_MAX (64u << 10)
#define MARKER_MAX 1024
#define URL_MAX 16384
#define HDRS_MAX 10
#define LOCK_BLOB ".lock"
/* What a SAS token may hold: a percent-encoded query string. */
#define SAS_CHARS                                                                                  \
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%&=+/:,;!$'()*@"

struct az_target {
	struct target base;
	struct azure_url url;
	char *key; /* base64 Shared Key, or NULL */
	char *sas; /* SAS token without '?', or NULL */
	CURL *curl;
	char lease_id[40];
	bool locked;
	int64_t renewed_ms;
	uint64_t single_max, block;
};

/* What a PUT sends: bytes in memory or a range of a file. */
struct az_body {
	const char *data; /* when fd < 0 */
	int fd;
	uint64_t off, len, pos;
	int read_errno;
};

struct az_resp {
	long status;
	char *data; /* 2xx body, NUL-terminated */
	size_t len, cap, max;
	char *err; /* error body (bounded), NUL-terminated */
	size_t errlen, errcap;
	bool too_big, etag_too_long;
	/* A streamed GET (target_read): 2xx bytes go to sink, not to data. */
	target_read_fn sink;
	void *sink_arg;
	uint64_t sunk;
	int sink_r;
	char etag[TARGET_ETAG_MAX];
	char code[64]; /* x-ms-error-code */
};

struct az_req {
	const char *method;
	const char *path;  /* blob path under the prefix; NULL: the container */
	const char *query; /* NULL or encoded "comp=..." */
	const char *what;  /* for messages: "list", "lease acquire", ... or NULL */
	struct azure_header hdrs[HDRS_MAX];
	size_t nhdrs;
	struct az_body *body; /* PUT only */
	struct az_body empty; /* what body points to for an empty PUT */
	struct az_resp resp;
	char date[AZURE_DATE_LEN];
	char clen[24];
	char url[URL_MAX]; /* without SAS: signed, and shown in messages */
};

static struct az_target *az_of(struct target *t)
{
	return (struct az_target *)t;
}

static void req_init(struct az_req *q, const char *method, const char *path, const char *query,
                     const char *what)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->path = path;
	q->query = query;
	q->what = what;
	q->resp.max = ERR_BODY_MAX;
}

static void req_header(struct az_req *q, const char *name, const char *value)
{
	assert(q->nhdrs < HDRS_MAX); /* every request here sends at most 7 */
	q->hdrs[q->nhdrs++] = (struct azure_header){name, value};
}

static void req_done(struct az_req *q)
{
	free(q->resp.data);
	free(q->resp.err);
	q->resp.data = q->resp.err = NULL;
}

/* A new request, set up by req_init (free with req_free); NULL with the
 * target's error set when out of memory. */
static struct az_req *req_new(struct az_target *a, const char *method, const char *path,
                              const char *query, const char *what)
{
	struct az_req *q = malloc(sizeof(*q));

	if (q == NULL)
		(void)target_fail(&a->base, -ENOMEM, "out of memory");
	else
		req_init(q, method, path, query, what);
	return q;
}

static void req_free(struct az_req *q)
{
	req_done(q);
	free(q);
}

/* ---- curl callbacks ---- */

/* Appends to a growable buffer of at most max bytes; false when it would
 * exceed max. */
static bool buf_append(char **buf, size_t *len, size_t *cap, size_t max, const char *p, size_t n)
{
	if (n > max - *len)
		return false;
	if (*len + n + 1 > *cap) {
		size_t ncap = *cap ? *cap : 4096;
		char *nb;
		while (ncap < *len + n + 1)
			ncap *= 2;
		if (ncap > max + 1)
			ncap = max + 1;
		nb = realloc(*buf, ncap);
		if (!nb)
			return false;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, p, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

static size_t sink_piece(struct az_resp *r, const char *p, size_t n)
{
	if (n > r->max - r->sunk) {
		r->too_big = true;
		return 0; /* aborts the transfer */
	}
	r->sunk += n;
	r->sink_r = r->sink(p, n, r->sink_arg);
	return r->sink_r ? 0 : n;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
	struct az_resp *r = arg;
	size_t total = size * n;

	if (r->status < 200 || r->status >= 300) {
		/* Only the start of an error body is kept; the rest is drained. */
		size_t take = total < ERR_BODY_MAX - r->errlen ? total : ERR_BODY_MAX - r->errlen;
		(void)buf_append(&r->err, &r->errlen, &r->errcap, ERR_BODY_MAX, p, take);
		return total;
	}
	if (r->sink)
		return sink_piece(r, p, total);
	if (!buf_append(&r->data, &r->len, &r->cap, r->max, p, total)) {
		r->too_big = true;
		return 0; /* aborts the transfer */
	}
	return total;
}

/* Copies a header's value (after "name:") without surrounding space. */
static bool header_value(const char *line, size_t n, const char *name, char *out, size_t outlen,
                         bool *too_long)
{
	size_t nl = strlen(name), b, e;

	if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return false;
	for (b = nl + 1; b < n && (line[b] == ' ' || line[b] == '\t'); b++)
		;
	for (e = n; e > b && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' ');
	     e--)
		;
	if (e - b >= outlen) {
		if (too_long)
			*too_long = true;
		return true;
	}
	memcpy(out, line + b, e - b);
	out[e - b] = '\0';
	return true;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *arg)
{
	struct az_resp *r = arg;
	size_t n = size * nitems;
	char num[32];

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		const char *sp = memchr(line, ' ', n);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->etag[0] = r->code[0] = '\0';
		r->etag_too_long = false;
		return n;
	}
	(void)header_value(line, n, "ETag", r->etag, sizeof(r->etag), &r->etag_too_long);
	(void)header_value(line, n, "x-ms-error-code", r->code, sizeof(r->code), NULL);
	if (r->status >= 200 && r->status < 300 &&
	    header_value(line, n, "Content-Length", num, sizeof(num), NULL) &&
	    strtoull(num, NULL, 10) > r->max) {
		r->too_big = true;
		return 0; /* refuse before any byte of the body */
	}
	return n;
}

static size_t read_cb(char *p, size_t size, size_t n, void *arg)
{
	struct az_body *b = arg;
	uint64_t left = b->len - b->pos;
	size_t want = n * size < left ? n * size : (size_t)left;
	ssize_t got;

	if (want == 0)
		return 0;
	if (b->fd < 0) {
		memcpy(p, b->data + b->off + b->pos, want);
		b->pos += want;
		return want;
	}
	do
		got = pread(b->fd, p, want, (off_t)(b->off + b->pos));
	while (got < 0 && errno == EINTR);
	if (got <= 0) {
		b->read_errno = got < 0 ? errno : EIO; /* the file shrank under us */
		return CURL_READFUNC_ABORT;
	}
	b->pos += (uint64_t)got;
	return (size_t)got;
}

/* curl rewinds an upload when it retries on a fresh connection. */
static int seek_cb(void *arg, curl_off_t offset, int origin)
{
	struct az_body *b = arg;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > b->len)
		return CURL_SEEKFUNC_CANTSEEK;
	b->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* ---- one request ---- */

/* "METHOD URL[ (what)]" for messages.  The URL is shown without its query:
 * ours carries only operation names, and a SAS never goes into q->url. */
static void req_label(const struct az_req *q, char *buf, size_t len)
{
	char red[URL_MAX];

	(void)azure_redact_url(q->url, red, sizeof(red));
	red[strcspn(red, "?")] = '\0';
	(void)snprintf(buf, len, "%s %s%s%s%s", q->method, red, q->what ? " (" : "",
	               q->what ? q->what : "", q->what ? ")" : "");
}

static int slist_add(struct curl_slist **sl, const char *name, const char *value)
{
	char line[1024];
	struct curl_slist *n;

	if (snprintf(line, sizeof(line), "%s: %s", name, value) >= (int)sizeof(line))
		return -ENOBUFS;
	n = curl_slist_append(*sl, line);
	if (!n)
		return -ENOMEM;
	*sl = n;
	return 0;
}

/* Adds the common headers and the Authorization; returns the header list. */
static int req_headers(struct az_target *a, struct az_req *q, struct curl_slist **ret)
{
	char auth[AZURE_AUTH_MAX];
	struct curl_slist *sl = NULL;
	size_t i;
	int r = 0;

	azure_format_date(time(NULL), q->date);
	req_header(q, "x-ms-date", q->date);
	req_header(q, "x-ms-version", AZURE_API_VERSION);
	if (q->body) {
		(void)snprintf(q->clen, sizeof(q->clen), "%" PRIu64, q->body->len);
		req_header(q, "Content-Length", q->clen);
	}
	for (i = 0; i < q->nhdrs && r == 0; i++)
		r = slist_add(&sl, q->hdrs[i].name, q->hdrs[i].value);
	if (r == 0 && a->key) {
		r = azure_sign_shared_key(a->url.account, a->key, q->method, q->url, q->hdrs,
		                          q->nhdrs, auth, sizeof(auth));
		if (r == 0)
			r = slist_add(&sl, "Authorization", auth);
	}
	if (r < 0) {
		curl_slist_free_all(sl);
		return r;
	}
	*ret = sl;
	return 0;
}

static void req_options(struct az_target *a, struct az_req *q, const char *url,
                        struct curl_slist *hdrs, char *errbuf)
{
	CURL *c = a->curl;

	curl_easy_reset(c);
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	(void)curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	(void)curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	(void)curl_easy_setopt(c, CURLOPT_USERAGENT, "followerd-leaderctl");
	(void)curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	(void)curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	(void)curl_easy_setopt(c, CURLOPT_HEADERDATA, &q->resp);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, &q->resp);
	if (strcmp(q->method, "DELETE") == 0)
		(void)curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
	if (q->body) {
		(void)curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		(void)curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body->len);
		(void)curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		(void)curl_easy_setopt(c, CURLOPT_READDATA, q->body);
		(void)curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
		(void)curl_easy_setopt(c, CURLOPT_SEEKDATA, q->body);
	}
}

/* Why curl failed, as a target error. */
static int transfer_error(struct az_target *a, struct az_req *q, CURLcode cc, const char *errbuf)
{
	char label[URL_MAX + 64];

	req_label(q, label, sizeof(label));
	if (q->resp.sink_r)
		return q->resp.sink_r;
	if (q->resp.too_big)
		return target_fail(&a->base, -EFBIG, "%s: larger than %zu bytes", label,
		                   q->resp.max);
	if (q->body && q->body->read_errno)
		return target_fail(&a->base, -EIO, "%s: reading the local file: %s", label,
		                   strerror(q->body->read_errno));
	return target_fail(&a->base, -EIO, "%s: %s%s%s%s", label, curl_easy_strerror(cc),
	                   errbuf[0] ? " (" : "", errbuf, errbuf[0] ? ")" : "");
}

/* Sends q; 0 when an HTTP answer arrived (q->resp.status), else -errno
 * with the error recorded. */
static int az_perform(struct az_target *a, struct az_req *q)
{
	char errbuf[CURL_ERROR_SIZE] = "", *full = NULL;
	struct curl_slist *hdrs = NULL;
	size_t fulllen = URL_MAX + AZURE_QUERY_MAX;
	CURLcode cc;
	int r;

	r = azure_blob_url(&a->url, q->path, q->query, q->url, sizeof(q->url));
	full = malloc(fulllen);
	if (r == 0 && !full)
		r = -ENOMEM;
	if (r == 0)
		r = azure_sas_append(q->url, a->sas, full, fulllen);
	if (r == 0)
		r = req_headers(a, q, &hdrs);
	if (r < 0) {
		r = target_fail(&a->base, r, "%s %s: cannot build the request: %s", q->method,
		                a->base.describe, strerror(-r));
		goto out;
	}
	req_options(a, q, full, hdrs, errbuf);
	cc = curl_easy_perform(a->curl);
	if (cc != CURLE_OK)
		r = transfer_error(a, q, cc, errbuf);
	else if (q->resp.status < 100)
		r = target_fail(&a->base, -EIO, "%s: no HTTP status", q->url);
out:
	curl_slist_free_all(hdrs);
	if (full)
		explicit_bzero(full, fulllen); /* held the SAS */
	free(full);
	return r;
}

/* Maps a non-2xx answer to an errno and records "LABEL: STATUS CODE (msg)". */
static int status_error(struct az_target *a, struct az_req *q, int r)
{
	char label[URL_MAX + 64], code[64], msg[512];
	long s = q->resp.status;

	if (r == 0)
		r = s == 401 || s == 403 ? -EACCES : s == 404 ? -ENOENT : -EIO;
	azure_error_parse(q->resp.err ? q->resp.err : "", q->resp.errlen, code, sizeof(code), msg,
	                  sizeof(msg));
	if (!code[0])
		(void)snprintf(code, sizeof(code), "%s", q->resp.code);
	req_label(q, label, sizeof(label));
	return target_fail(&a->base, r, "%s: %ld%s%s%s%s%s", label, s, code[0] ? " " : "", code,
	                   msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
}

static bool ok_status(const struct az_req *q)
{
	return q->resp.status >= 200 && q->resp.status < 300;
}

/* ---- the lease (writer lock) ---- */

static int lease_call(struct az_target *a, const char *action, struct az_req *q)
{
	req_init(q, "PUT", LOCK_BLOB, "comp=lease", NULL);
	q->empty = (struct az_body){.data = "", .fd = -1};
	q->body = &q->empty;
	req_header(q, "x-ms-lease-action", action);
	if (strcmp(action, "acquire") == 0) {
		req_header(q, "x-ms-lease-duration", LEASE_SECONDS);
		req_header(q, "x-ms-proposed-lease-id", a->lease_id);
	} else {
		req_header(q, "x-ms-lease-id", a->lease_id);
	}
	q->what = strcmp(action, "acquire") == 0 ? "lease acquire"
	          : strcmp(action, "renew") == 0 ? "lease renew"
	                                         : "lease release";
	return az_perform(a, q);
}

static int az_lock_renew(struct target *t)
{
	struct az_target *a = az_of(t);
	struct az_req *q;
	int r;

	if (!a->locked)
		return target_fail(t, -ENOLCK, "%s/%s: not locked", t->describe, LOCK_BLOB);
	q = malloc(sizeof(*q));
	if (!q)
		return target_fail(t, -ENOMEM, "out of memory");
	r = lease_call(a, "renew", q);
	if (r == 0 && ok_status(q))
		a->renewed_ms = target_now_ms();
	else if (r == 0 && (q->resp.status == 409 || q->resp.status == 412)) {
		a->locked = false; /* someone else holds it now: stop writing */
		r = status_error(a, q, -ENOLCK);
	} else if (r == 0)
		r = status_error(a, q, 0);
	req_free(q);
	return r;
}

/* Renews the lease when it is held and getting old. */
static int maybe_renew(struct az_target *a)
{
	if (!a->locked || target_now_ms() - a->renewed_ms < LEASE_RENEW_AFTER_MS)
		return 0;
	return az_lock_renew(&a->base);
}

/* Renews the lease when due, then performs q: 0 on a 2xx answer (or a 404
 * with missing_ok), else the answer's error. */
static int renew_perform(struct az_target *a, struct az_req *q, bool missing_ok)
{
	int r = maybe_renew(a);

	if (r == 0)
		r = az_perform(a, q);
	if (r == 0 && !ok_status(q) && !(missing_ok && q->resp.status == 404))
		r = status_error(a, q, 0);
	return r;
}

static void new_lease_id(char id[40])
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		memset(b, 0, sizeof(b)); /* never: 16 bytes from getrandom do not fail */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	(void)snprintf(id, 40,
	               "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
	               b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	               b[13], b[14], b[15]);
}

static int az_put(struct target *t, const char *path, const struct target_src *src,
                  enum target_put_mode mode, const char *etag);

/* One acquire attempt: 1 taken, 0 held by another, or -errno. */
static int try_acquire(struct az_target *a, struct az_req *q)
{
	int r = lease_call(a, "acquire", q), tries;

	for (tries = 0; r == 0 && q->resp.status == 404 && tries < 3; tries++) {
		/* No lock blob yet: create it (a racing creator is fine). */
		r = az_put(&a->base, LOCK_BLOB, &(struct target_src){"", 0, NULL}, TARGET_PUT_NEW,
		           NULL);
		if (r < 0 && r != -EEXIST)
			return r;
		req_done(q);
		r = lease_call(a, "acquire", q);
	}
	if (r < 0)
		return r;
	if (ok_status(q))
		return 1;
	return q->resp.status == 409 ? 0 : status_error(a, q, 0);
}

static int az_lock(struct target *t, int timeout_ms)
{
	struct az_target *a = az_of(t);
	int64_t start = target_now_ms(), waited;
	struct az_req *q = malloc(sizeof(*q));
	int r;

	if (!q)
		return target_fail(t, -ENOMEM, "out of memory");
	if (a->locked) {
		free(q);
		return 0;
	}
	new_lease_id(a->lease_id);
	for (;;) {
		r = try_acquire(a, q);
		req_done(q);
		if (r != 0)
			break;
		waited = target_now_ms() - start;
		if (waited >= timeout_ms) {
			r = target_fail(t, -ETIMEDOUT,
			                "lock %s/%s: leased by another writer "
			                "(waited %" PRId64 " ms)",
			                t->describe, LOCK_BLOB, waited);
			break;
		}
		target_sleep_ms(timeout_ms - waited < LEASE_POLL_MS ? timeout_ms - waited
		                                                    : LEASE_POLL_MS);
	}
	free(q);
	if (r == 1) {
		a->locked = true;
		a->renewed_ms = target_now_ms();
		r = 0;
	}
	return r;
}

static void az_unlock(struct target *t)
{
	struct az_target *a = az_of(t);
	struct az_req *q;

	if (!a->locked)
		return;
	a->locked = false;
	q = malloc(sizeof(*q));
	if (!q)
		return; /* the lease expires by itself within 60 s */
	(void)lease_call(a, "release", q);
	req_free(q);
}

/* ---- get, delete ---- */

static int az_get(struct target *t, const char *path, size_t max, char **ret_data, size_t *ret_len,
                  char ret_etag[TARGET_ETAG_MAX])
{
	struct az_target *a = az_of(t);
	struct az_req *q = req_new(a, "GET", path, NULL, NULL);
	int r;

	if (!q)
		return -ENOMEM;
	q->resp.max = max;
	r = renew_perform(a, q, false);
	if (r == 0 && q->resp.etag_too_long)
		r = target_fail(t, -EIO, "GET %s: ETag longer than %d bytes", q->url,
		                TARGET_ETAG_MAX - 1);
	if (r == 0 && !q->resp.data && !(q->resp.data = calloc(1, 1)))
		r = target_fail(t, -ENOMEM, "out of memory");
	if (r == 0) {
		*ret_data = q->resp.data;
		q->resp.data = NULL;
		if (ret_len)
			*ret_len = q->resp.len;
		if (ret_etag)
			memcpy(ret_etag, q->resp.etag, TARGET_ETAG_MAX);
	}
	req_free(q);
	return r;
}

static int az_read(struct target *t, const char *path, uint64_t max, target_read_fn fn, void *arg)
{
	struct az_target *a = az_of(t);
	struct az_req *q = req_new(a, "GET", path, NULL, NULL);
	int r;

	if (!q)
		return -ENOMEM;
	q->resp.max = max > SIZE_MAX ? SIZE_MAX : (size_t)max;
	q->resp.sink = fn;
	q->resp.sink_arg = arg;
	r = renew_perform(a, q, false);
	req_free(q);
	return r;
}

static int az_del(struct target *t, const char *path)
{
	struct az_target *a = az_of(t);
	struct az_req *q = req_new(a, "DELETE", path, NULL, NULL);
	int r;

	if (!q)
		return -ENOMEM;
	r = renew_perform(a, q, true);
	req_free(q);
	return r;
}

/* ---- put ---- */

/* Adds the conditional header of mode. */
static void put_condition(struct az_req *q, enum target_put_mode mode, const char *etag)
{
	if (mode == TARGET_PUT_NEW)
		req_header(q, "If-None-Match", "*");
	else if (mode == TARGET_PUT_IF_MATCH)
		req_header(q, "If-Match", etag);
}

/* Judges the answer to a (conditional) put or block list commit. */
static int put_status(struct az_target *a, struct az_req *q, enum target_put_mode mode)
{
	long s = q->resp.status;

	if (ok_status(q))
		return 0;
	if (mode == TARGET_PUT_NEW && (s == 409 || s == 412))
		return status_error(a, q, -EEXIST);
	if (mode == TARGET_PUT_IF_MATCH && (s == 412 || s == 404))
		return status_error(a, q, -ESTALE);
	return status_error(a, q, 0);
}

static int put_single(struct az_target *a, const char *path, struct az_body *body,
                      enum target_put_mode mode, const char *etag)
{
	struct az_req *q = req_new(a, "PUT", path, NULL, NULL);
	int r;

	if (!q)
		return -ENOMEM;
	q->body = body;
	req_header(q, "x-ms-blob-type", "BlockBlob");
	put_condition(q, mode, etag);
	r = az_perform(a, q);
	if (r == 0)
		r = put_status(a, q, mode);
	req_free(q);
	return r;
}

/* The base64 id of block i (all ids of a blob have the same length). */
static void block_id(unsigned i, char out[32])
{
	char raw[16];

	(void)snprintf(raw, sizeof(raw), "blk-%010u", i);
	(void)EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)raw, 14);
}

static int put_block(struct az_target *a, const char *path, struct az_body *body, unsigned i)
{
	char id[32], enc[96], query[160];
	struct az_req *q;
	int r;

	block_id(i, id);
	(void)azure_url_encode(id, false, enc, sizeof(enc));
	(void)snprintf(query, sizeof(query), "comp=block&blockid=%s", enc);
	if (!(q = req_new(a, "PUT", path, query, "put block")))
		return -ENOMEM;
	q->body = body;
	r = renew_perform(a, q, false);
	req_free(q);
	return r;
}

static int put_block_list(struct az_target *a, const char *path, unsigned n,
                          enum target_put_mode mode, const char *etag)
{
	size_t cap = 128 + (size_t)n * 48, len;
	char *xml = malloc(cap), id[32];
	struct az_body body = {.fd = -1};
	struct az_req *q = malloc(sizeof(*q));
	unsigned i;
	int r = -ENOMEM;

	if (!xml || !q) {
		r = target_fail(&a->base, -ENOMEM, "out of memory");
		goto out;
	}
	len = (size_t)snprintf(xml, cap, "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
	for (i = 0; i < n; i++) {
		block_id(i, id);
		len += (size_t)snprintf(xml + len, cap - len, "<Latest>%s</Latest>", id);
	}
	len += (size_t)snprintf(xml + len, cap - len, "</BlockList>");
	body.data = xml;
	body.len = len;
	req_init(q, "PUT", path, "comp=blocklist", "put block list");
	q->body = &body;
	put_condition(q, mode, etag);
	r = az_perform(a, q);
	if (r == 0)
		r = put_status(a, q, mode);
	req_done(q);
out:
	free(q);
	free(xml);
	return r;
}

static int put_blocks(struct az_target *a, const char *path, struct az_body *whole,
                      enum target_put_mode mode, const char *etag)
{
	uint64_t nblocks = (whole->len + a->block - 1) / a->block, i;
	int r = 0;

	if (nblocks > BLOCKS_MAX)
		return target_fail(&a->base, -EFBIG,
		                   "PUT %s/%s: %" PRIu64 " bytes need more than "
		                   "%d blocks",
		                   a->base.describe, path, whole->len, BLOCKS_MAX);
	for (i = 0; i < nblocks && r == 0; i++) {
		struct az_body b = *whole;
		b.off = i * a->block;
		b.len = whole->len - b.off < a->block ? whole->len - b.off : a->block;
		b.pos = 0;
		r = put_block(a, path, &b, (unsigned)i);
	}
	return r < 0 ? r : put_block_list(a, path, (unsigned)nblocks, mode, etag);
}

/* Opens the local file of src as a body. */
static int open_body(struct az_target *a, const struct target_src *src, struct az_body *b)
{
	struct stat st;

	*b = (struct az_body){.data = src->data, .fd = -1, .len = src->len};
	if (!src->local_path)
		return 0;
	b->fd = open(src->local_path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0)
		return target_fail(&a->base, -errno, "%s: %s", src->local_path, strerror(errno));
	if (fstat(b->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		(void)close(b->fd);
		b->fd = -1;
		return target_fail(&a->base, -EINVAL, "%s: not a regular file", src->local_path);
	}
	b->len = (uint64_t)st.st_size;
	return 0;
}

static int az_put(struct target *t, const char *path, const struct target_src *src,
                  enum target_put_mode mode, const char *etag)
{
	struct az_target *a = az_of(t);
	struct az_body body;
	int r;

	r = open_body(a, src, &body);
	if (r < 0)
		return r;
	r = maybe_renew(a);
	if (r == 0 && body.len <= a->single_max)
		r = put_single(a, path, &body, mode, etag);
	else if (r == 0)
		r = put_blocks(a, path, &body, mode, etag);
	if (body.fd >= 0)
		(void)close(body.fd);
	return r;
}

/* ---- list ---- */

struct list_ctx {
	const char *strip; /* the target's prefix + "/", or "" */
	char what[AZURE_PREFIX_MAX + TARGET_PATH_MAX + 32];
	target_list_fn fn;
	void *arg;
};

static int list_cb(const char *name, uint64_t size, int64_t mtime, void *arg)
{
	struct list_ctx *c = arg;
	size_t n = strlen(c->strip);

	if (strncmp(name, c->strip, n) != 0 || strcmp(name + n, LOCK_BLOB) == 0)
		return 0;
	return c->fn(name + n, size, mtime, c->arg);
}

/* Fetches and parses one page; the next marker goes to marker. */
static int list_page(struct az_target *a, const char *enc_prefix, struct list_ctx *c, char *marker)
{
	char query[URL_MAX], enc_marker[3 * MARKER_MAX + 1];
	struct az_req *q;
	int r;

	(void)azure_url_encode(marker, false, enc_marker, sizeof(enc_marker));
	(void)snprintf(query, sizeof(query),
	               "restype=container&comp=list&prefix=%s&maxresults=5000%s%s", enc_prefix,
	               marker[0] ? "&marker=" : "", enc_marker);
	if (!(q = req_new(a, "GET", NULL, query, "list")))
		return -ENOMEM;
	q->what = c->what;
	q->resp.max = LIST_PAGE_MAX;
	r = az_perform(a, q);
	if (r == 0 && !ok_status(q))
		r = status_error(a, q, 0);
	if (r == 0) {
		r = azure_list_parse(q->resp.data ? q->resp.data : "", q->resp.len, list_cb, c,
		                     marker, MARKER_MAX);
		if (r == -EBADMSG)
			r = target_fail(&a->base, -EIO,
			                "GET %s (%s): malformed List Blobs "
			                "response",
			                a->base.describe, c->what);
	}
	req_free(q);
	return r;
}

static int az_list(struct target *t, const char *prefix, target_list_fn fn, void *arg)
{
	struct az_target *a = az_of(t);
	char strip[AZURE_PREFIX_MAX + 1], full[AZURE_PREFIX_MAX + TARGET_PATH_MAX + 2];
	char enc[3 * sizeof(full)], marker[MARKER_MAX] = "";
	struct list_ctx c = {.strip = strip, .fn = fn, .arg = arg};
	int r;

	(void)snprintf(strip, sizeof(strip), "%s%s", a->url.prefix, a->url.prefix[0] ? "/" : "");
	(void)snprintf(full, sizeof(full), "%s%s", strip, prefix);
	(void)snprintf(c.what, sizeof(c.what), "list '%s'", full);
	(void)azure_url_encode(full, false, enc, sizeof(enc));
	r = maybe_renew(a);
	do
		r = r < 0 ? r : list_page(a, enc, &c, marker);
	while (r == 0 && marker[0]);
	return r;
}

/* ---- open, free ---- */

static void az_free(struct target *t)
{
	struct az_target *a = az_of(t);

	az_unlock(t);
	if (a->curl)
		curl_easy_cleanup(a->curl);
	if (a->key)
		explicit_bzero(a->key, strlen(a->key));
	if (a->sas)
		explicit_bzero(a->sas, strlen(a->sas));
	free(a->key);
	free(a->sas);
	free(a);
}

static const struct target_ops az_ops = {
    .get = az_get,
    .read = az_read,
    .put = az_put,
    .del = az_del,
    .list = az_list,
    .lock = az_lock,
    .lock_renew = az_lock_renew,
    .unlock = az_unlock,
    .free = az_free,
};

/* Takes the credentials: a key, or a SAS from auth or the URL's query. */
static int take_auth(struct az_target *a, const struct target_auth *auth, char *err, size_t errlen)
{
	const char *key = auth ? auth->account_key : NULL;
	const char *sas = auth ? auth->sas_token : NULL;
	char sig[AZURE_AUTH_MAX];

	if (a->url.query[0] && sas) {
		(void)snprintf(err, errlen, "a SAS token both in the URL and given separately");
		return -EINVAL;
	}
	if (a->url.query[0])
		sas = a->url.query;
	if (key && sas) {
		(void)snprintf(err, errlen, "give either an account key or a SAS token, not both");
		return -EINVAL;
	}
	if (key && azure_sign_shared_key(a->url.account, key, "GET", "http://h/c", NULL, 0, sig,
	                                 sizeof(sig)) < 0) {
		(void)snprintf(err, errlen, "the account key is not valid base64");
		return -EINVAL;
	}
	if (sas && *sas == '?')
		sas++;
	if (sas && strspn(sas, SAS_CHARS) != strlen(sas)) {
		(void)snprintf(err, errlen, "the SAS token holds characters a URL query cannot");
		return -EINVAL;
	}
	a->key = key ? strdup(key) : NULL;
	a->sas = sas && *sas ? strdup(sas) : NULL;
	explicit_bzero(a->url.query, sizeof(a->url.query));
	if ((key && !a->key) || (sas && *sas && !a->sas)) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int target_azure_open(const char *url, const struct target_auth *auth, struct target **ret,
                      char *err, size_t errlen)
{
	struct az_target *a = calloc(1, sizeof(*a));
	char why[256];
	int r;

	if (!a) {
		(void)snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->base.ops = &az_ops;
	a->single_max = SINGLE_PUT_MAX;
	a->block = BLOCK_SIZE;
	r = azure_url_parse(url, &a->url, why, sizeof(why));
	if (r < 0) {
		char red[URL_MAX];
		(void)azure_redact_url(url, red, sizeof(red));
		(void)snprintf(err, errlen, "%s: %s", red, why);
		goto fail;
	}
	r = take_auth(a, auth, err, errlen);
	if (r < 0)
		goto fail;
	(void)snprintf(a->base.describe, sizeof(a->base.describe), "%s/%s%s%s", a->url.endpoint,
	               a->url.container, a->url.prefix[0] ? "/" : "", a->url.prefix);
	a->curl = curl_easy_init();
	if (!a->curl) {
		(void)snprintf(err, errlen, "curl_easy_init failed");
		r = -ENOMEM;
		goto fail;
	}
	*ret = &a->base;
	return 0;
fail:
	az_free(&a->base);
	return r;
}

int target_azure_set_block_size(struct target *t, uint64_t single_max, uint64_t block)
{
	struct az_target *a = az_of(t);

	if (t->ops != &az_ops || single_max == 0 || block == 0)
		return -EINVAL;
	a->single_max = single_max;
	a->block = block;
	return 0;
}

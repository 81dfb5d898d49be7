/*
 * azure — Azure Blob Storage URLs, Shared Key and SAS authorisation (see
 * azure.h).
 *
 * Shared Key: https://learn.microsoft.com/en-us/rest/api/storageservices/
 * authorize-with-shared-key (version 2015-02-21 and later: a zero
 * Content-Length signs as "").  Service SAS: .../create-service-sas (the
 * 16-line string-to-sign of version 2020-12-06 and later).
 *
 * The List Blobs and error responses are XML, and there is no XML library in
 * our stack.  We read only a small, fixed subset — the text of <Name>,
 * <Content-Length>, <Last-Modified> inside each <Blob>, <NextMarker>, and
 * <Code>/<Message> of an error — by searching for those literal tags with
 * bounded memmem over a body whose size the caller already capped.  The
 * service writes these elements without attributes (except Name's
 * Encoded="true"), never in CDATA, and escapes text with the five XML
 * entities, which is all this reader accepts; anything else is -EBADMSG
 * rather than a guess.
 */
#include "net/azure.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util/sbuf.h"

#define KEY_MAX 128    /* decoded Shared Key bytes (Azure's are 64) */
#define SIG_B64_LEN 45 /* base64 of a SHA-256 MAC and NUL */
#define QUERY_PARAMS_MAX 64
#define XML_NAME_MAX 4096
#define ISO_LEN 96 /* "YYYY-MM-DDTHH:MM:SSZ", room for any int */

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Appends to a fixed buffer; remembers overflow and keeps it terminated. */
struct fbuf {
	char *p;
	size_t len, cap;
	bool full;
};

static void fb_addn(struct fbuf *b, const char *s, size_t n)
{
	size_t room;

	if (b->cap == 0)
		return;
	room = b->cap - 1 - b->len;
	if (n > room) {
		n = room;
		b->full = true;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void fb_add(struct fbuf *b, const char *s)
{
	fb_addn(b, s, strlen(s));
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- URLs ---- */

static bool is_unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes [s, s+n) into a new string ('+' is a space, as in the
 * query strings Azure canonicalizes). */
static int pct_decode(const char *s, size_t n, bool plus_space, char **ret)
{
	char *out = malloc(n + 1), *o = out;
	size_t i;

	if (!out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			int hi = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int lo = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(out);
				return -EINVAL;
			}
			*o++ = (char)(hi * 16 + lo);
			i += 2;
		} else {
			*o++ = plus_space && s[i] == '+' ? ' ' : s[i];
		}
	}
	*o = '\0';
	*ret = out;
	return 0;
}

int azure_url_encode(const char *s, bool keep_slash, char *buf, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	struct fbuf b = {buf, 0, len, false};

	if (len > 0)
		buf[0] = '\0';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (is_unreserved(c) || (keep_slash && c == '/')) {
			fb_addn(&b, (const char *)&c, 1);
		} else {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			fb_addn(&b, e, 3);
		}
	}
	return b.full || len == 0 ? -ENOBUFS : 0;
}

static bool host_is_path_style(const char *host, size_t n)
{
	char tmp[64];
	struct in_addr a4;

	if (n > 0 && host[0] == '[')
		return true; /* IPv6 literal */
	if (n == 9 && strncasecmp(host, "localhost", 9) == 0)
		return true;
	if (n >= sizeof(tmp))
		return false;
	memcpy(tmp, host, n);
	tmp[n] = '\0';
	return inet_pton(AF_INET, tmp, &a4) == 1;
}

/* The pieces of an absolute http(s) URL, as spans into it. */
struct url_span {
	bool https;
	const char *auth, *host, *path, *query;
	size_t authlen, hostlen, pathlen, querylen;
};

static int split_url(const char *url, struct url_span *u)
{
	const char *p, *q;

	memset(u, 0, sizeof(*u));
	if (strncasecmp(url, "https://", 8) == 0) {
		u->https = true;
		p = url + 8;
	} else if (strncasecmp(url, "http://", 7) == 0) {
		p = url + 7;
	} else {
		return -EINVAL;
	}
	u->auth = p;
	u->authlen = strcspn(p, "/?#");
	u->host = p;
	if (*p == '[') {
		q = memchr(p, ']', u->authlen);
		u->hostlen = q ? (size_t)(q - p) + 1 : u->authlen;
	} else {
		q = memchr(p, ':', u->authlen);
		u->hostlen = q ? (size_t)(q - p) : u->authlen;
	}
	p += u->authlen;
	u->path = p;
	u->pathlen = strcspn(p, "?#");
	p += u->pathlen;
	if (*p == '?') {
		u->query = p + 1;
		u->querylen = strcspn(u->query, "#");
		p = u->query + u->querylen;
	}
	return *p == '#' ? -EINVAL : 0;
}

bool azure_url_is_path_style(const char *url)
{
	struct url_span u;

	return split_url(url, &u) == 0 && host_is_path_style(u.host, u.hostlen);
}

static bool valid_account(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || n > 24)
		return false;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool valid_container(const char *s, size_t n)
{
	size_t i;

	if (n < 3 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!islower(c) && !isdigit(c) && c != '-')
			return false;
		if (c == '-' && s[i + 1] == '-')
			return false;
	}
	return true;
}

/* Checks and copies a prefix (no leading '/', trailing '/'s dropped). */
static int take_prefix(const char *s, size_t n, char *out, char *err, size_t errlen)
{
	size_t i, seg = 0;

	while (n > 0 && s[n - 1] == '/')
		n--;
	if (n >= AZURE_PREFIX_MAX) {
		seterr(err, errlen, "prefix longer than %d characters", AZURE_PREFIX_MAX - 1);
		return -EINVAL;
	}
	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '/') {
			if (!is_unreserved((unsigned char)s[i])) {
				seterr(err, errlen, "prefix: character '%c' not allowed", s[i]);
				return -EINVAL;
			}
			continue;
		}
		if (i == seg || (i - seg == 1 && s[seg] == '.') ||
		    (i - seg == 2 && s[seg] == '.' && s[seg + 1] == '.')) {
			if (n == 0)
				break;
			seterr(err, errlen, "prefix: empty, '.' or '..' segment");
			return -EINVAL;
		}
		seg = i + 1;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* Next path segment of [*p, end): returns its length and advances *p. */
static size_t next_seg(const char **p, const char *end, const char **seg)
{
	const char *s = *p, *e;

	while (s < end && *s == '/')
		s++;
	e = s;
	while (e < end && *e != '/')
		e++;
	*seg = s;
	*p = e;
	return (size_t)(e - s);
}

static int parse_names(const struct url_span *s, struct azure_url *u, char *err, size_t errlen)
{
	const char *p = s->path, *end = s->path + s->pathlen, *seg;
	size_t n;

	if (u->path_style) {
		n = next_seg(&p, end, &seg);
		if (!valid_account(seg, n)) {
			seterr(err, errlen,
			       "path-style URL: account '%.*s' is not 3-24 lowercase "
			       "letters and digits",
			       (int)n, seg);
			return -EINVAL;
		}
		memcpy(u->account, seg, n);
		u->account[n] = '\0';
	}
	n = next_seg(&p, end, &seg);
	if (!valid_container(seg, n)) {
		seterr(err, errlen, "container '%.*s' is not 3-63 characters of a-z 0-9 -", (int)n,
		       seg);
		return -EINVAL;
	}
	memcpy(u->container, seg, n);
	u->container[n] = '\0';
	if (p < end)
		p++;
	return take_prefix(p, (size_t)(end - p), u->prefix, err, errlen);
}

static int account_from_host(const struct url_span *s, struct azure_url *u, char *err,
                             size_t errlen)
{
	size_t n = strcspn(s->host, ".:/?#"), i;

	if (n > s->hostlen)
		n = s->hostlen;
	if (n >= 3 && n <= 24) {
		for (i = 0; i < n; i++)
			u->account[i] = (char)tolower((unsigned char)s->host[i]);
		u->account[n] = '\0';
	}
	if (!valid_account(u->account, strlen(u->account))) {
		seterr(err, errlen,
		       "host '%.*s' does not start with an account name (3-24 "
		       "lowercase letters and digits)",
		       (int)s->hostlen, s->host);
		return -EINVAL;
	}
	return 0;
}

int azure_url_parse(const char *url, struct azure_url *ret, char *err, size_t errlen)
{
	struct azure_url *u = calloc(1, sizeof(*u));
	struct url_span s;
	int r;

	if (!u)
		return -ENOMEM;
	r = split_url(url, &s);
	if (r < 0 || s.hostlen == 0 || memchr(s.auth, '@', s.authlen)) {
		seterr(err, errlen, "not an http(s) URL without user name or fragment");
		r = -EINVAL;
		goto out;
	}
	u->https = s.https;
	u->path_style = host_is_path_style(s.host, s.hostlen);
	r = u->path_style ? 0 : account_from_host(&s, u, err, errlen);
	if (r < 0)
		goto out;
	r = parse_names(&s, u, err, errlen);
	if (r < 0)
		goto out;
	r = -EINVAL;
	if (s.querylen >= sizeof(u->query)) {
		seterr(err, errlen, "query string too long");
		goto out;
	}
	memcpy(u->query, s.query ? s.query : "", s.querylen);
	if (snprintf(u->endpoint, sizeof(u->endpoint), "%s://%.*s%s%s", s.https ? "https" : "http",
	             (int)s.authlen, s.auth, u->path_style ? "/" : "",
	             u->path_style ? u->account : "") >= (int)sizeof(u->endpoint)) {
		seterr(err, errlen, "host name too long");
		goto out;
	}
	*ret = *u;
	r = 0;
out:
	free(u);
	return r;
}

int azure_blob_url(const struct azure_url *u, const char *path, const char *query, char *buf,
                   size_t len)
{
	struct fbuf b = {buf, 0, len, false};
	int r = 0;

	if (len == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	fb_add(&b, u->endpoint);
	fb_add(&b, "/");
	fb_add(&b, u->container);
	if (path && u->prefix[0]) {
		fb_add(&b, "/");
		fb_add(&b, u->prefix);
	}
	if (path) {
		fb_add(&b, "/");
		r = azure_url_encode(path, true, buf + b.len, len - b.len);
		b.len += strlen(buf + b.len);
	}
	if (query && *query) {
		fb_add(&b, "?");
		fb_add(&b, query);
	}
	return b.full || r < 0 ? -ENOBUFS : 0;
}

/* ---- dates ---- */

void azure_format_date(time_t t, char buf[AZURE_DATE_LEN])
{
	char tmp[128];
	struct tm tm;
	size_t n;

	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		t = 0;
		(void)gmtime_r(&t, &tm);
	}
	/* Fields are in range here; the wide buffer only quiets the compiler. */
	(void)snprintf(tmp, sizeof(tmp), "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday],
	               tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	               tm.tm_sec);
	n = strnlen(tmp, AZURE_DATE_LEN - 1);
	memcpy(buf, tmp, n);
	buf[n] = '\0';
}

/* Reads exactly n digits. */
static bool digits(const char **p, int n, int *ret)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return true;
}

static bool literal(const char **p, const char *s)
{
	size_t n = strlen(s);

	if (strncmp(*p, s, n) != 0)
		return false;
	*p += n;
	return true;
}

int azure_parse_date(const char *s, int64_t *ret)
{
	struct tm tm = {0};
	const char *p = s;
	int mon;
	time_t t;

	if (strlen(s) != AZURE_DATE_LEN - 1 || s[3] != ',' || s[4] != ' ')
		return -EINVAL;
	p += 5;
	if (!digits(&p, 2, &tm.tm_mday) || !literal(&p, " "))
		return -EINVAL;
	for (mon = 0; mon < 12; mon++)
		if (strncmp(p, months[mon], 3) == 0)
			break;
	if (mon == 12)
		return -EINVAL;
	p += 3;
	tm.tm_mon = mon;
	if (!literal(&p, " ") || !digits(&p, 4, &tm.tm_year) || !literal(&p, " ") ||
	    !digits(&p, 2, &tm.tm_hour) || !literal(&p, ":") || !digits(&p, 2, &tm.tm_min) ||
	    !literal(&p, ":") || !digits(&p, 2, &tm.tm_sec) || !literal(&p, " GMT"))
		return -EINVAL;
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return -EINVAL;
	tm.tm_year -= 1900;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret = (int64_t)t;
	return 0;
}

/* ---- Shared Key ---- */

static const char *const signed_std[] = {
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-MD5",
    "Content-Type",
    "Date",
    "If-Modified-Since",
    "If-Match",
    "If-None-Match",
    "If-Unmodified-Since",
    "Range",
};

static const char *find_header(const struct azure_header *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

/* Appends value without surrounding white space. */
static void sb_add_trimmed(struct sbuf *b, const char *v)
{
	size_t n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		n--;
	sbuf_addn(b, v, n);
}

static void add_std_headers(struct sbuf *b, const struct azure_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(signed_std) / sizeof(signed_std[0]); i++) {
		const char *v = find_header(h, n, signed_std[i]);
		if (v && !(strcasecmp(signed_std[i], "Content-Length") == 0 && strcmp(v, "0") == 0))
			sb_add_trimmed(b, v);
		sbuf_add(b, "\n");
	}
}

static int cmp_header_ptr(const void *a, const void *b)
{
	const struct azure_header *x = *(const struct azure_header *const *)a;
	const struct azure_header *y = *(const struct azure_header *const *)b;

	return strcasecmp(x->name, y->name);
}

static int add_ms_headers(struct sbuf *b, const struct azure_header *h, size_t n)
{
	const struct azure_header **ms = calloc(n ? n : 1, sizeof(*ms));
	size_t i, k = 0, j;

	if (!ms)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (strncasecmp(h[i].name, "x-ms-", 5) == 0)
			ms[k++] = &h[i];
	qsort(ms, k, sizeof(*ms), cmp_header_ptr);
	for (i = 0; i < k; i++) {
		if (i > 0 && strcasecmp(ms[i - 1]->name, ms[i]->name) == 0) {
			free(ms);
			return -EINVAL;
		}
		for (j = 0; ms[i]->name[j]; j++) {
			char c = (char)tolower((unsigned char)ms[i]->name[j]);
			sbuf_addn(b, &c, 1);
		}
		sbuf_add(b, ":");
		sb_add_trimmed(b, ms[i]->value);
		sbuf_add(b, "\n");
	}
	free(ms);
	return 0;
}

struct qparam {
	char *name, *value;
};

static int cmp_qparam(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->value, y->value);
}

/* Splits a query into decoded, lowercased-name parameters. */
static int parse_query(const char *q, size_t n, struct qparam *ps, size_t *ret_n)
{
	const char *end = q + n;
	size_t k = 0, i;
	int r;

	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q)), *eq;
		const char *e = amp ? amp : end;
		if (e == q) {
			q++;
			continue;
		}
		if (k == QUERY_PARAMS_MAX)
			return -EINVAL;
		eq = memchr(q, '=', (size_t)(e - q));
		r = pct_decode(q, (size_t)((eq ? eq : e) - q), true, &ps[k].name);
		if (r < 0)
			return r;
		r = pct_decode(eq ? eq + 1 : e, eq ? (size_t)(e - eq - 1) : 0, true, &ps[k].value);
		if (r < 0) {
			free(ps[k].name);
			return r;
		}
		for (i = 0; ps[k].name[i]; i++)
			ps[k].name[i] = (char)tolower((unsigned char)ps[k].name[i]);
		k++;
		*ret_n = k;
		q = e;
	}
	return 0;
}

/* "\nname:v1,v2" for each distinct name, names and values sorted. */
static int add_query(struct sbuf *b, const char *q, size_t n)
{
	struct qparam ps[QUERY_PARAMS_MAX];
	size_t k = 0, i;
	int r = parse_query(q, n, ps, &k);

	if (r == 0) {
		qsort(ps, k, sizeof(ps[0]), cmp_qparam);
		for (i = 0; i < k; i++) {
			bool same = i > 0 && strcmp(ps[i - 1].name, ps[i].name) == 0;
			if (!same) {
				sbuf_add(b, "\n");
				sbuf_add(b, ps[i].name);
			}
			sbuf_add(b, same ? "," : ":");
			sbuf_add(b, ps[i].value);
		}
	}
	for (i = 0; i < k; i++) {
		free(ps[i].name);
		free(ps[i].value);
	}
	return r;
}

/* A header that would break the request's structure is refused: the
 * values we sign are the values curl sends. */
static bool headers_clean(const struct azure_header *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!h[i].name || !h[i].value || strpbrk(h[i].name, "\r\n: ") ||
		    strpbrk(h[i].value, "\r\n"))
			return false;
	return true;
}

int azure_string_to_sign(const char *account, const char *method, const char *url,
                         const struct azure_header *hdrs, size_t nhdrs, char **ret)
{
	struct sbuf b = {0};
	struct url_span u;
	int r;

	r = split_url(url, &u);
	if (r == 0 && !headers_clean(hdrs, nhdrs))
		r = -EINVAL;
	if (r < 0)
		goto out;
	sbuf_add(&b, method);
	sbuf_add(&b, "\n");
	add_std_headers(&b, hdrs, nhdrs);
	r = add_ms_headers(&b, hdrs, nhdrs);
	if (r < 0)
		goto out;
	sbuf_add(&b, "/");
	sbuf_add(&b, account);
	if (u.pathlen > 0)
		sbuf_addn(&b, u.path, u.pathlen);
	else
		sbuf_add(&b, "/");
	r = add_query(&b, u.query ? u.query : "", u.querylen);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	if (b.oom)
		goto out;
	*ret = b.p;
	b.p = NULL;
	r = 0;
out:
	free(b.p);
	return r;
}

/* Decodes a base64 account key strictly (length, alphabet, padding). */
static int decode_key(const char *b64, unsigned char *key, size_t *ret_len)
{
	size_t n = strlen(b64), pad = 0;
	int len;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > KEY_MAX)
		return -EINVAL;
	if (b64[n - 1] == '=')
		pad++;
	if (b64[n - 2] == '=')
		pad++;
	if (strspn(b64, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") !=
	    n - pad)
		return -EINVAL;
	len = EVP_DecodeBlock(key, (const unsigned char *)b64, (int)n);
	if (len < 0 || (size_t)len < pad)
		return -EINVAL;
	*ret_len = (size_t)len - pad;
	return 0;
}

/* base64(HMAC-SHA256(key, msg)) into out[SIG_B64_LEN]. */
static int hmac_b64(const char *key_b64, const char *msg, char out[SIG_B64_LEN])
{
	unsigned char key[KEY_MAX], mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t keylen = 0;
	int r = decode_key(key_b64, key, &keylen);

	if (r < 0)
		return r;
	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, strlen(msg), mac,
	          &maclen) ||
	    maclen != 32)
		return -EINVAL;
	(void)EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	return 0;
}

int azure_sign_shared_key(const char *account, const char *key_b64, const char *method,
                          const char *url, const struct azure_header *hdrs, size_t nhdrs, char *buf,
                          size_t len)
{
	char sig[SIG_B64_LEN];
	char *sts = NULL;
	int r;

	r = azure_string_to_sign(account, method, url, hdrs, nhdrs, &sts);
	if (r < 0)
		goto out;
	r = hmac_b64(key_b64, sts, sig);
	if (r < 0)
		goto out;
	r = snprintf(buf, len, "SharedKey %s:%s", account, sig) >= (int)len ? -ENOBUFS : 0;
out:
	free(sts);
	return r;
}

/* ---- SAS ---- */

static void iso8601(time_t t, char buf[ISO_LEN])
{
	struct tm tm;

	(void)gmtime_r(&t, &tm);
	(void)snprintf(buf, ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* token: "&name=encoded(value)" ("name=..." for the first). */
static void sas_param(struct fbuf *b, const char *name, const char *value)
{
	char enc[256];

	if (b->len > 0)
		fb_add(b, "&");
	fb_add(b, name);
	fb_add(b, "=");
	if (azure_url_encode(value, false, enc, sizeof(enc)) < 0)
		b->full = true;
	else
		fb_add(b, enc);
}

int azure_sas_container(const char *account, const char *key_b64, const char *container,
                        const char *permissions, time_t start, time_t expiry, char *buf, size_t len)
{
	char st[ISO_LEN] = "", se[ISO_LEN], sig[SIG_B64_LEN], *sts = NULL;
	struct fbuf b = {buf, 0, len, false};
	int r;

	if (!valid_account(account, strlen(account)) ||
	    !valid_container(container, strlen(container)) || !*permissions ||
	    strspn(permissions, "racwdxltmeopi") != strlen(permissions) || len == 0)
		return -EINVAL;
	if (start)
		iso8601(start, st);
	iso8601(expiry, se);
	r = asprintf(&sts, "%s\n%s\n%s\n/blob/%s/%s\n\n\nhttps,http\n%s\nc\n\n\n\n\n\n\n",
	             permissions, st, se, account, container, AZURE_API_VERSION);
	if (r < 0)
		return -ENOMEM;
	r = hmac_b64(key_b64, sts, sig);
	free(sts);
	if (r < 0)
		return r;
	buf[0] = '\0';
	sas_param(&b, "sv", AZURE_API_VERSION);
	sas_param(&b, "sr", "c");
	sas_param(&b, "sp", permissions);
	if (start)
		sas_param(&b, "st", st);
	sas_param(&b, "se", se);
	sas_param(&b, "spr", "https,http");
	sas_param(&b, "sig", sig);
	return b.full ? -ENOBUFS : 0;
}

int azure_sas_append(const char *url, const char *sas, char *buf, size_t len)
{
	struct fbuf b = {buf, 0, len, false};

	if (len == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	fb_add(&b, url);
	if (sas && *sas == '?')
		sas++;
	if (sas && *sas) {
		fb_add(&b, strchr(url, '?') ? "&" : "?");
		fb_add(&b, sas);
	}
	return b.full ? -ENOBUFS : 0;
}

/* ---- redaction ---- */

/* Copies a query with every value replaced; stops at '#' (dropped). */
static void redact_query(struct fbuf *b, const char *q)
{
	while (*q && *q != '#') {
		size_t name = strcspn(q, "=&#");
		fb_addn(b, q, name);
		q += name;
		if (*q == '=') {
			fb_add(b, "=REDACTED");
			q += 1 + strcspn(q + 1, "&#");
		}
		if (*q == '&') {
			fb_add(b, "&");
			q++;
		}
	}
}

int azure_redact_url(const char *url, char *buf, size_t len)
{
	struct fbuf b = {buf, 0, len, false};
	const char *p = url, *scheme = strstr(url, "://");

	if (len == 0)
		return -ENOBUFS;
	buf[0] = '\0';
	if (scheme && (size_t)(scheme - url) < strcspn(url, "/?#")) {
		size_t auth, at;
		p = scheme + 3;
		fb_addn(&b, url, (size_t)(p - url));
		auth = strcspn(p, "/?#");
		for (at = auth; at > 0 && p[at - 1] != '@'; at--)
			;
		if (at > 0) {
			fb_add(&b, "REDACTED@");
			p += at;
		}
	} else if (!strchr(url, '?')) {
		/* Not a URL: a bare SAS token ("sv=...&sig=...") is a query. */
		redact_query(&b, url);
		return b.full ? -ENOBUFS : 0;
	}
	fb_addn(&b, p, strcspn(p, "?#"));
	p += strcspn(p, "?#");
	if (*p == '?') {
		fb_add(&b, "?");
		redact_query(&b, p + 1);
	}
	return b.full ? -ENOBUFS : 0;
}

/* ---- the XML subset ---- */

/* Finds the first <tag> (or <tag attrs>) in [s, end): sets *b and *e to its
 * text and *after past its end tag; an empty element (tag ending in "/>")
 * has empty text.  Returns 1 when found, 0 when absent, -EBADMSG when the
 * element is not terminated within [s, end). */
static int xml_elem(const char *s, const char *end, const char *tag, const char **b, const char **e,
                    const char **after)
{
	size_t tl = strlen(tag);
	char close[64];
	const char *p = s, *gt, *c;

	if (tl + 4 > sizeof(close))
		return -EBADMSG;
	(void)snprintf(close, sizeof(close), "</%s>", tag);
	for (;;) {
		p = memchr(p, '<', (size_t)(end - p));
		if (!p || (size_t)(end - p) < tl + 2)
			return 0;
		if (strncmp(p + 1, tag, tl) == 0 &&
		    (p[tl + 1] == '>' || p[tl + 1] == ' ' || p[tl + 1] == '/'))
			break;
		p++;
	}
	gt = memchr(p, '>', (size_t)(end - p));
	if (!gt)
		return -EBADMSG;
	if (gt[-1] == '/') {
		*b = *e = *after = gt + 1;
		return 1;
	}
	c = memmem(gt + 1, (size_t)(end - gt - 1), close, tl + 3);
	if (!c)
		return -EBADMSG;
	*b = gt + 1;
	*e = c;
	*after = c + tl + 3;
	return 1;
}

/* Encodes a code point as UTF-8 into o (4 bytes room); returns bytes. */
static size_t utf8_put(unsigned long cp, char *o)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Decodes one entity at s (after '&'); returns its length through ';'. */
static size_t xml_entity(const char *s, const char *end, char *o, size_t *olen)
{
	static const struct {
		const char *name;
		char c;
	} ents[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	const char *semi = memchr(s, ';', (size_t)(end - s) < 12 ? (size_t)(end - s) : 12);
	unsigned long cp;
	char *numend;
	size_t i;

	if (!semi)
		return 0;
	for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
		if ((size_t)(semi + 1 - s) == strlen(ents[i].name) &&
		    strncmp(s, ents[i].name, strlen(ents[i].name)) == 0) {
			o[0] = ents[i].c;
			*olen = 1;
			return (size_t)(semi + 1 - s);
		}
	}
	if (*s != '#' || semi - s < 2)
		return 0;
	errno = 0;
	cp = s[1] == 'x' ? strtoul(s + 2, &numend, 16) : strtoul(s + 1, &numend, 10);
	if (errno || numend != semi || cp == 0 || cp > 0x10ffff ||
	    !isxdigit((unsigned char)s[s[1] == 'x' ? 2 : 1]))
		return 0;
	*olen = utf8_put(cp, o);
	return (size_t)(semi + 1 - s);
}

/* Copies XML text [b, e) into out[cap] decoding entities. */
static int xml_text(const char *b, const char *e, char *out, size_t cap)
{
	size_t n = 0;

	while (b < e) {
		char tmp[4];
		size_t tl = 1, used = 1;
		if (*b == '<')
			return -EBADMSG; /* markup (CDATA, comments) is not in our subset */
		tmp[0] = *b;
		if (*b == '&') {
			used = 1 + xml_entity(b + 1, e, tmp, &tl);
			if (used == 1)
				return -EBADMSG;
		}
		if (n + tl >= cap)
			return -EBADMSG;
		memcpy(out + n, tmp, tl);
		n += tl;
		b += used;
	}
	out[n] = '\0';
	return 0;
}

static int xml_u64(const char *b, const char *e, uint64_t *ret)
{
	uint64_t v = 0;

	if (b == e || e - b > 19)
		return -EBADMSG;
	for (; b < e; b++) {
		if (!isdigit((unsigned char)*b))
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*b - '0');
	}
	*ret = v;
	return 0;
}

/* Reads one <Blob> element [s, end) and calls fn. */
static int list_one(const char *s, const char *end, azure_list_fn fn, void *arg)
{
	char name[XML_NAME_MAX], *dec = NULL, date[64];
	const char *b, *e, *after, *lt;
	uint64_t size;
	int64_t mtime;
	int r;

	if (xml_elem(s, end, "Name", &b, &e, &after) != 1 || xml_text(b, e, name, sizeof(name)) < 0)
		return -EBADMSG;
	for (lt = b; lt > s && *lt != '<'; lt--)
		;
	if (memmem(lt, (size_t)(b - lt), "Encoded=\"true\"", 14)) {
		/* Names with characters XML cannot carry come percent-encoded. */
		r = pct_decode(name, strlen(name), false, &dec);
		if (r < 0 || strlen(dec) >= sizeof(name)) {
			free(dec);
			return -EBADMSG;
		}
		strcpy(name, dec);
		free(dec);
	}
	if (xml_elem(s, end, "Content-Length", &b, &e, &after) != 1 || xml_u64(b, e, &size) < 0)
		return -EBADMSG;
	if (xml_elem(s, end, "Last-Modified", &b, &e, &after) != 1 ||
	    xml_text(b, e, date, sizeof(date)) < 0 || azure_parse_date(date, &mtime) < 0)
		return -EBADMSG;
	return fn(name, size, mtime, arg);
}

int azure_list_parse(const char *xml, size_t len, azure_list_fn fn, void *arg, char *marker,
                     size_t markerlen)
{
	const char *p = xml, *end = xml + len, *b, *e, *after;
	int r;

	if (markerlen == 0 || !memmem(xml, len, "<EnumerationResults", 19) ||
	    !memmem(xml, len, "</EnumerationResults>", 21))
		return -EBADMSG; /* not a listing, or one cut short */
	for (;;) {
		r = xml_elem(p, end, "Blob", &b, &e, &after);
		if (r < 0)
			return r;
		if (r == 0)
			break;
		r = list_one(b, e, fn, arg);
		if (r != 0)
			return r;
		p = after;
	}
	marker[0] = '\0';
	r = xml_elem(xml, end, "NextMarker", &b, &e, &after);
	if (r <= 0)
		return r;
	return xml_text(b, e, marker, markerlen);
}

void azure_error_parse(const char *body, size_t len, char *code, size_t codelen, char *msg,
                       size_t msglen)
{
	const char *end = body + len, *b, *e, *after;
	size_t i;

	if (codelen > 0)
		code[0] = '\0';
	if (msglen > 0)
		msg[0] = '\0';
	if (codelen > 0 && xml_elem(body, end, "Code", &b, &e, &after) == 1 &&
	    xml_text(b, e, code, codelen) < 0)
		code[0] = '\0';
	if (msglen == 0 || xml_elem(body, end, "Message", &b, &e, &after) != 1)
		return;
	for (i = 0; b + i < e && b[i] != '\r' && b[i] != '\n'; i++)
		;
	e = b + i;
	if ((size_t)(e - b) >= msglen)
		e = b + msglen - 1; /* may cut an entity: then shown raw below */
	if (xml_text(b, e, msg, msglen) < 0) {
		memcpy(msg, b, (size_t)(e - b));
		msg[e - b] = '\0';
	}
	for (i = 0; msg[i]; i++)
		if ((unsigned char)msg[i] < 0x20)
			msg[i] = ' ';
}

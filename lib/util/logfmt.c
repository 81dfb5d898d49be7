/*
 * logfmt — level names, redaction, field values and stderr lines for the
 * daemon's logger (see logfmt.h).  Writes only into caller buffers.
 */
#include "util/logfmt.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define FIELD_NAME_MAX 64 /* journald's limit */

/* A bounded output buffer: appends truncate, the text stays NUL-terminated. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_init(struct out *o, char *buf, size_t size)
{
	o->buf = buf;
	o->size = size;
	o->len = 0;
	if (size > 0)
		buf[0] = '\0';
}

static void out_put(struct out *o, const char *s, size_t n)
{
	size_t room;

	if (o->size == 0)
		return;
	room = o->size - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static const char *const level_names[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

int logfmt_level_parse(const char *s, int *ret)
{
	static const struct {
		const char *name;
		int prio;
	} aliases[] = {{"error", 3}, {"warn", 4}};
	size_t i;

	for (i = 3; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*ret = (int)i;
			return 0;
		}
	}
	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(s, aliases[i].name) == 0) {
			*ret = aliases[i].prio;
			return 0;
		}
	}
	return -EINVAL;
}

const char *logfmt_level_name(int prio)
{
	if (prio < 0)
		prio = 0;
	if (prio > 7)
		prio = 7;
	return level_names[prio];
}

/* ---- redaction ---- */

/* Keys whose value is a secret wherever they appear (matched without a word
 * boundary on purpose: "sas_token=" and "access_token=" end in "token="). */
static const char *const secret_keys[] = {
    "sig=", "accountkey=", "sharedaccesssignature=", "password=", "passwd=", "secret=", "token=",
};

static size_t secret_key_at(const char *s, size_t n)
{
	size_t i, k;

	for (i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
		k = strlen(secret_keys[i]);
		if (k <= n && strncasecmp(s, secret_keys[i], k) == 0)
			return k;
	}
	return 0;
}

static bool value_end(char c)
{
	return c == '\0' || isspace((unsigned char)c) || strchr("&;,\"'#<>`", c) != NULL;
}

/* Copies s[0..n) replacing the value after every secret key. */
static void put_key_scrubbed(struct out *o, const char *s, size_t n)
{
	size_t i = 0, start = 0, k, j;

	while (i < n) {
		k = secret_key_at(s + i, n - i);
		if (k == 0) {
			i++;
			continue;
		}
		out_put(o, s + start, i + k - start);
		for (j = i + k; j < n && !value_end(s[j]); j++)
			;
		if (j > i + k)
			out_str(o, LOGFMT_REDACTED);
		i = start = j;
	}
	out_put(o, s + start, n - start);
}

/* Copies the query s[0..n) (after '?', up to '#' or the end) with each
 * parameter's value redacted; a parameter without '=' is redacted whole. */
static void put_query(struct out *o, const char *s, size_t n)
{
	size_t p = 0, q;
	const char *eq;

	while (p < n) {
		for (q = p; q < n && s[q] != '&'; q++)
			;
		eq = memchr(s + p, '=', q - p);
		if (eq != NULL) {
			out_put(o, s + p, (size_t)(eq - (s + p)) + 1);
			if (eq + 1 < s + q)
				out_str(o, LOGFMT_REDACTED);
		} else if (q > p) {
			out_str(o, LOGFMT_REDACTED);
		}
		if (q < n)
			out_put(o, "&", 1);
		p = q + 1;
	}
}

/* Copies "scheme://user:" and REDACTED for a password in the authority;
 * returns how much of s was consumed (0 when there is no password). */
static size_t put_userinfo(struct out *o, const char *s, size_t n)
{
	const char *sep = memmem(s, n, "://", 3);
	const char *at, *colon;
	size_t a, e;

	if (sep == NULL)
		return 0;
	a = (size_t)(sep - s) + 3;
	for (e = a; e < n && s[e] != '/' && s[e] != '?' && s[e] != '#'; e++)
		;
	at = memrchr(s + a, '@', e - a);
	if (at == NULL)
		return 0;
	colon = memchr(s + a, ':', (size_t)(at - (s + a)));
	if (colon == NULL)
		return 0;
	out_put(o, s, (size_t)(colon - s) + 1);
	out_str(o, LOGFMT_REDACTED);
	return (size_t)(at - s);
}

/* Copies the URL s[0..n) redacted. */
static void put_url(struct out *o, const char *s, size_t n)
{
	size_t i = put_userinfo(o, s, n), q, f;

	for (q = i; q < n && s[q] != '?' && s[q] != '#'; q++)
		;
	put_key_scrubbed(o, s + i, q - i);
	if (q < n && s[q] == '?') {
		for (f = q + 1; f < n && s[f] != '#'; f++)
			;
		out_put(o, "?", 1);
		put_query(o, s + q + 1, f - q - 1);
		q = f;
	}
	put_key_scrubbed(o, s + q, n - q);
}

char *logfmt_redact_url(const char *url, char *buf, size_t size)
{
	struct out o;

	out_init(&o, buf, size);
	put_url(&o, url, strlen(url));
	return buf;
}

static bool url_end(char c)
{
	return c == '\0' || isspace((unsigned char)c) || iscntrl((unsigned char)c) ||
	       strchr("\"'<>`", c) != NULL;
}

static bool scheme_char(char c)
{
	return isalnum((unsigned char)c) || c == '+' || c == '-' || c == '.';
}

/* Where the scheme before the "://" at p starts, or p when there is none. */
static size_t scheme_start(const char *text, size_t from, size_t p)
{
	size_t s = p;

	while (s > from && scheme_char(text[s - 1]))
		s--;
	while (s < p && !isalpha((unsigned char)text[s]))
		s++;
	return s;
}

static void put_scrubbed(struct out *o, const char *text)
{
	size_t cursor = 0, i = 0, p, s, e;
	const char *hit;

	while ((hit = strstr(text + i, "://")) != NULL) {
		p = (size_t)(hit - text);
		s = scheme_start(text, cursor, p);
		i = p + 3;
		if (s == p)
			continue;
		for (e = i; !url_end(text[e]); e++)
			;
		/* Trailing punctuation belongs to the sentence ("...?sig=x: 403"). */
		while (e > i && strchr(".,:;)]}", text[e - 1]) != NULL)
			e--;
		put_key_scrubbed(o, text + cursor, s - cursor);
		put_url(o, text + s, e - s);
		cursor = i = e;
	}
	put_key_scrubbed(o, text + cursor, strlen(text + cursor));
}

char *logfmt_scrub(const char *text, char *buf, size_t size)
{
	struct out o;

	out_init(&o, buf, size);
	put_scrubbed(&o, text);
	return buf;
}

char *logfmt_timestamp(time_t t, char buf[LOGFMT_TIMESTAMP_LEN])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, LOGFMT_TIMESTAMP_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, LOGFMT_TIMESTAMP_LEN, "%s", "0000-00-00T00:00:00Z");
	return buf;
}

/* ---- fields ---- */

bool logfmt_field_name_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] < 'A' || name[0] > 'Z')
		return false;
	for (i = 1; name[i] != '\0'; i++) {
		if (!(name[i] >= 'A' && name[i] <= 'Z') && !(name[i] >= '0' && name[i] <= '9') &&
		    name[i] != '_')
			return false;
	}
	return i <= FIELD_NAME_MAX;
}

int logfmt_field_format(const struct logfmt_field *f, char *buf, size_t size)
{
	struct out o;
	char num[24];
	uint64_t e;

	out_init(&o, buf, size);
	if (!logfmt_field_name_valid(f->name))
		return -EINVAL;
	if ((f->type == LOGFMT_T_STR || f->type == LOGFMT_T_URL) && f->v.s == NULL)
		return -ENOENT;
	out_str(&o, f->name);
	out_put(&o, "=", 1);
	switch (f->type) {
	case LOGFMT_T_STR:
		put_scrubbed(&o, f->v.s);
		return 0;
	case LOGFMT_T_URL:
		put_url(&o, f->v.s, strlen(f->v.s));
		return 0;
	case LOGFMT_T_U64:
		snprintf(num, sizeof(num), "%" PRIu64, f->v.u);
		break;
	case LOGFMT_T_I64:
		snprintf(num, sizeof(num), "%" PRId64, f->v.i);
		break;
	case LOGFMT_T_ERRNO:
		e = f->v.i < 0 ? -(uint64_t)f->v.i : (uint64_t)f->v.i;
		snprintf(num, sizeof(num), "%" PRIu64, e);
		break;
	default:
		out_init(&o, buf, size);
		return -EINVAL;
	}
	out_str(&o, num);
	return 0;
}

/* ---- lines ---- */

static void put_line_head(struct out *o, enum logfmt_style style, int prio, const char *ident,
                          long pid, time_t now)
{
	char head[LOGFMT_TIMESTAMP_LEN + 128];
	char ts[LOGFMT_TIMESTAMP_LEN];

	switch (style) {
	case LOGFMT_STYLE_PREFIX:
		snprintf(head, sizeof(head), "<%d>", prio < 0 ? 0 : prio > 7 ? 7 : prio);
		break;
	case LOGFMT_STYLE_TIMESTAMP:
		snprintf(head, sizeof(head), "%s %.64s[%ld]: %s: ", logfmt_timestamp(now, ts),
		         ident, pid, logfmt_level_name(prio));
		break;
	default:
		snprintf(head, sizeof(head), "%.64s: %s: ", ident, logfmt_level_name(prio));
		break;
	}
	out_str(o, head);
}

size_t logfmt_line(char *buf, size_t size, enum logfmt_style style, int prio, const char *ident,
                   long pid, time_t now, const char *msg)
{
	struct out o;
	size_t i;
	char c;

	if (size < 2) {
		if (size == 1)
			buf[0] = '\0';
		return 0;
	}
	out_init(&o, buf, size - 1); /* keep room for the '\n' */
	put_line_head(&o, style, prio, ident, pid, now);
	for (i = 0; msg[i] != '\0' && o.len + 1 < o.size; i++) {
		c = iscntrl((unsigned char)msg[i]) ? ' ' : msg[i];
		out_put(&o, &c, 1);
	}
	buf[o.len++] = '\n';
	buf[o.len] = '\0';
	return o.len;
}

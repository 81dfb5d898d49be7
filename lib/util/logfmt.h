/*
 * logfmt — the pure half of followerd's logging: level names, redaction of
 * secrets, structured field values and the text of a stderr line.
 *
 * The daemon's logger (daemon/log.c) decides where a record goes (journal or
 * stderr); everything here only turns values into text, so it is unit-tested
 * without a journal.  Redaction is the one rule that must never fail open: a
 * leader URL carries its SAS token in the query string, so every URL and
 * every free text that may embed one passes through logfmt_redact_url() or
 * logfmt_scrub() before it is written anywhere.
 *
 * All functions write into a caller's buffer, truncate rather than fail,
 * always NUL-terminate (size > 0) and never allocate.
 */
#ifndef FOLLOWERD_LOGFMT_H
#define FOLLOWERD_LOGFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define LOGFMT_REDACTED "REDACTED"
#define LOGFMT_TIMESTAMP_LEN 24 /* "2026-11-23T10:00:00Z" + NUL, with room */

/* Priorities are syslog's (LOG_ERR 3 .. LOG_DEBUG 7). */

/* Parses a level name ("err"/"error", "warning"/"warn", "notice", "info",
 * "debug") into a syslog priority in *ret; 0 or -EINVAL (*ret untouched). */
int logfmt_level_parse(const char *s, int *ret);

/* The name of a priority ("emerg" .. "debug"); "debug" past the end. */
const char *logfmt_level_name(int prio);

/* Copies url into buf with every query-string value (and a userinfo
 * password) replaced by REDACTED: "https://a/c?sv=1&sig=x" becomes
 * "https://a/c?sv=REDACTED&sig=REDACTED".  A query parameter without '=' is
 * replaced whole.  Also applies logfmt_scrub()'s key rule to the rest, so a
 * bare SAS token ("sv=1&sig=x") is redacted too.  Returns buf. */
char *logfmt_redact_url(const char *url, char *buf, size_t size);

/* Copies free text into buf with every embedded URL ("scheme://...", up to
 * white space or a quote) redacted as by logfmt_redact_url(), and the value
 * after a secret-looking key anywhere in the text ("sig=", "AccountKey=",
 * "SharedAccessSignature=", "password=", "secret=", "token=", case
 * insensitive) replaced by REDACTED.  Returns buf. */
char *logfmt_scrub(const char *text, char *buf, size_t size);

/* Formats t as UTC "2026-11-23T10:00:00Z" into buf; returns buf. */
char *logfmt_timestamp(time_t t, char buf[LOGFMT_TIMESTAMP_LEN]);

/* ---- structured fields ---- */

enum logfmt_type {
	LOGFMT_T_END,   /* terminates an array of fields */
	LOGFMT_T_STR,   /* free text: scrubbed */
	LOGFMT_T_URL,   /* a URL: redacted */
	LOGFMT_T_U64,   /* unsigned decimal */
	LOGFMT_T_I64,   /* signed decimal */
	LOGFMT_T_ERRNO, /* an errno of either sign, written positive */
};

/* One journal field.  name is upper case [A-Z0-9_], not starting with '_'
 * or a digit (journald's rule).  A NULL string value means "absent": the
 * field is skipped.  Build with the LOGFMT_* macros below, which let the
 * compiler check the value's type. */
struct logfmt_field {
	const char *name;
	enum logfmt_type type;
	union {
		const char *s;
		uint64_t u;
		int64_t i;
	} v;
};

#define LOGFMT_STR(n, x) ((struct logfmt_field){.name = (n), .type = LOGFMT_T_STR, .v.s = (x)})
#define LOGFMT_URL(n, x) ((struct logfmt_field){.name = (n), .type = LOGFMT_T_URL, .v.s = (x)})
#define LOGFMT_U64(n, x) ((struct logfmt_field){.name = (n), .type = LOGFMT_T_U64, .v.u = (x)})
#define LOGFMT_I64(n, x) ((struct logfmt_field){.name = (n), .type = LOGFMT_T_I64, .v.i = (x)})
#define LOGFMT_ERRNO(x) ((struct logfmt_field){.name = "ERRNO", .type = LOGFMT_T_ERRNO, .v.i = (x)})
#define LOGFMT_END ((struct logfmt_field){.name = NULL, .type = LOGFMT_T_END})

/* True when name is a valid journal field name. */
bool logfmt_field_name_valid(const char *name);

/* Writes "NAME=value" into buf (value redacted or scrubbed by type).
 * Returns 0, -ENOENT for an absent (NULL) string value, or -EINVAL for an
 * invalid name or type; buf is then "". */
int logfmt_field_format(const struct logfmt_field *f, char *buf, size_t size);

/* ---- stderr lines ---- */

enum logfmt_style {
	LOGFMT_STYLE_PREFIX,    /* "<4>message": sd-daemon(3) priority prefix */
	LOGFMT_STYLE_TIMESTAMP, /* "2026-11-23T10:00:00Z followerd[42]: warning: message" */
	LOGFMT_STYLE_PLAIN,     /* "followerd: warning: message" (a terminal) */
};

/* Formats one stderr line ending in '\n' into buf: control characters in
 * msg become spaces so a record is always one line.  msg is written as
 * given (the caller scrubs).  Returns the length written (< size). */
size_t logfmt_line(char *buf, size_t size, enum logfmt_style style, int prio, const char *ident,
                   long pid, time_t now, const char *msg);

#endif

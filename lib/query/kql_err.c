/*
 * kql_err — error filling shared by the lexer, parser and binder.  Messages
 * are cut to the buffer and never carry bytes that are not printable ASCII
 * or valid UTF-8 start bytes from the query: offending tokens are copied
 * with control bytes replaced, so a message is always safe to put in JSON.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "query/kql_err.h"

#define TOKEN_SHOWN 40

static void append_pos(struct kql_error *err)
{
	size_t n = strlen(err->message);

	(void)snprintf(err->message + n, sizeof(err->message) - n, " (line %u, column %u)",
	               err->pos.line, err->pos.col);
}

int kql_err_set(struct kql_error *err, const char *code, struct kql_pos pos, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL) {
		err->code = code;
		err->pos = pos;
		va_start(ap, fmt);
		(void)vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
		append_pos(err);
	}
	return strcmp(code, KQL_E_NOMEM) == 0 ? -ENOMEM : -EINVAL;
}

/* Copies at most TOKEN_SHOWN bytes of tok into buf, control bytes and
 * quotes made harmless. */
static void show_token(char *buf, const char *tok, size_t len)
{
	size_t n = 0;

	if (len > TOKEN_SHOWN)
		len = TOKEN_SHOWN;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)tok[i];
		buf[n++] = c < 0x20 || c == 0x7f || c == '\'' ? (c == '\'' ? '"' : ' ') : (char)c;
	}
	buf[n] = '\0';
}

int kql_err_syntax(struct kql_error *err, struct kql_pos pos, const char *tok, size_t toklen,
                   const char *fmt, ...)
{
	char shown[TOKEN_SHOWN + 1], why[200];
	va_list ap;

	if (err == NULL)
		return -EINVAL;
	if (tok != NULL)
		show_token(shown, tok, toklen);
	else
		(void)snprintf(shown, sizeof(shown), "<end of query>");
	va_start(ap, fmt);
	(void)vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	err->code = KQL_E_SYNTAX;
	err->pos = pos;
	(void)snprintf(err->message, sizeof(err->message),
	               "Query could not be parsed at '%s' on line [%u,%u]: %s", shown, pos.line,
	               pos.col, why);
	return -EINVAL;
}

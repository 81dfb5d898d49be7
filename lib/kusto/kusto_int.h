/*
 * kusto_int — what the kusto_*.c files share and nobody else sees: the
 * lexer's tokens and the error helpers.
 */
#ifndef FOLLOWERD_KUSTO_INT_H
#define FOLLOWERD_KUSTO_INT_H

#include <stddef.h>
#include <stdint.h>

#include "kusto/kusto.h"

enum kusto_tok_kind {
	KT_END,      /* after the last token */
	KT_COMMAND,  /* ".show", ".set-or-append": a dot and a word */
	KT_WORD,     /* a bare word: keyword or name; may hold '-' ("prefetch-extents") */
	KT_NAME,     /* a bracketed name ['x'] or ["x"]: text is x */
	KT_STRING,   /* 'x', "x", @'x', h'x': text is x, escapes decoded */
	KT_NUMBER,   /* 7d, 1.5h, -2, 30: text as written */
	KT_DATETIME, /* datetime(...): text is what the parentheses hold, trimmed */
	KT_TIMESPAN, /* time(...) or timespan(...): likewise */
	KT_LPAREN,
	KT_RPAREN,
	KT_COMMA,
	KT_EQ,
	KT_DOTDOT,
	KT_DOT,
};

struct kusto_tok {
	enum kusto_tok_kind kind;
	size_t pos;       /* byte offset of the token in the command */
	size_t len;       /* its length in the command */
	const char *text; /* NUL-terminated, in the lexer's arena */
};

/* A command split into tokens; the last one is KT_END. */
struct kusto_lex {
	struct kusto_tok *toks;
	size_t n;
	char *arena; /* every token's text */
};

/* Splits len bytes of src into lx (cleared with kusto_lex_clear, also after
 * a failure).  -EINVAL with a syntax error at the offending offset, -ENOMEM. */
int kusto_lex(const char *src, size_t len, struct kusto_lex *lx, struct kusto_error *err);
void kusto_lex_clear(struct kusto_lex *lx);

/* Fills err with code and a printf-style message; returns r. */
int kusto_fail(struct kusto_error *err, enum kusto_errcode code, int r, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A syntax error at offset pos of src: "Syntax error: WHAT at offset N (line
 * L, column C)"; returns -EINVAL. */
int kusto_syntax(struct kusto_error *err, const char *src, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True when s[0, n) is valid UTF-8 as JSON (and jansson) wants it: no
 * overlong forms, surrogates or code points past U+10FFFF. */
bool kusto_utf8_valid(const char *s, size_t n);

/* Replaces each byte of s that is not part of a valid UTF-8 sequence with
 * '?', in place (a message cut in the middle of a character). */
void kusto_utf8_fix(char *s);

/* The caching policy as Kusto writes it: {"DataHotSpan":{"Value":"7.00:00:00"},
 * "IndexHotSpan":{...}[,"HotWindows":[{"MinValue","MaxValue"}]]}.  A new
 * reference, NULL on ENOMEM. */
json_t *kusto_caching_json(int64_t hot, const struct proto_window *w, size_t nw);

/* ---- execution (kusto_exec.c, kusto_follow.c) ---- */

/* One command being executed. */
struct kusto_exec {
	const struct kusto_cmd *cmd;
	const char *db;      /* the database the command is about */
	const char *context; /* the request's database, "" when none */
	const struct kusto_backend *be;
	struct kusto_table *t; /* the result */
	struct kusto_error *err;
	int failed;              /* the error an emit callback put in err, 0: none */
	char berr[KUSTO_ERRLEN]; /* the backend's message */
};

/* Starts the result table "Table_0" with n columns; 0 or -ENOMEM. */
int kusto_exec_table(struct kusto_exec *x, const struct kusto_column *cols, size_t n);

/* Ends a row of the result; on failure fills x->err (too many rows, out of
 * memory) and returns the error for the emit callback to stop the walk. */
int kusto_exec_row_end(struct kusto_exec *x);

/* Fills err with "out of memory" for an emit callback; returns -ENOMEM. */
int kusto_exec_oom(struct kusto_exec *x);

/* What a backend call returned (r), as this module's error: an error set by
 * an emit callback stands; -ENOENT is "database db not found", -EINVAL a bad
 * request, -EPERM / -EACCES forbidden, others internal errors, each with the
 * backend's message. */
int kusto_exec_backend(struct kusto_exec *x, int r, const char *db);

/* "Admin", "User", "Viewer", "Monitor". */
const char *kusto_role_title(enum proto_role r);

/* .show follower database(s) and the control commands (kusto_follow.c). */
int kusto_exec_show_follower(struct kusto_exec *x);
int kusto_exec_control(struct kusto_exec *x);

/* .show [running] queries and .cancel query (kusto_queries.c). */
int kusto_exec_show_queries(struct kusto_exec *x);
int kusto_exec_cancel_query(struct kusto_exec *x);

/* The follower settings of db as an owned copy in *ret (clear it with
 * kusto_follower_clear: every pointer in it is then owned). */
int kusto_follower_get(struct kusto_exec *x, const char *db, struct kusto_follower *ret);
void kusto_follower_clear(struct kusto_follower *f);

#endif

/*
 * kql_err — the one error every KQL stage returns: Kusto's code (SYN0002 for
 * syntax, SEM0100 and friends for names and types), the position in the
 * query (byte offset, 1-based line and column) and a message that names the
 * offending token or entity.  The HTTP layer turns it into Kusto's error
 * shape; nothing in it comes from SQL or a file path.
 */
#ifndef FOLLOWERD_KQL_ERR_H
#define FOLLOWERD_KQL_ERR_H

#include <stddef.h>
#include <stdint.h>

#define KQL_ERR_MSG 320

/* Codes as ADX spells them; KQL_E_UNSUPPORTED is valid KQL this follower
 * refuses (an operator or function outside the subset), never a wrong answer. */
#define KQL_E_SYNTAX "SYN0002"
#define KQL_E_NAME "SEM0100"        /* unknown table, column or let name */
#define KQL_E_FUNCTION "SEM0260"    /* unknown function */
#define KQL_E_TYPE "SEM0101"        /* a type mismatch */
#define KQL_E_ARGS "SEM0219"        /* wrong number or kind of arguments */
#define KQL_E_UNSUPPORTED "SEM0002" /* outside the follower's subset */
#define KQL_E_LIMIT "SEM0003"       /* a bound on query size or depth */
#define KQL_E_NOMEM "SEM0004"
#define KQL_E_RUNAWAY "E_RUNAWAY_QUERY" /* a query's memory budget exceeded */

/* A source position: byte offset and 1-based line and column. */
struct kql_pos {
	uint32_t off;
	uint32_t line;
	uint32_t col;
};

struct kql_error {
	const char *code; /* one of KQL_E_*, static */
	struct kql_pos pos;
	char message[KQL_ERR_MSG];
};

/* Fills err (may be NULL) with code, pos and "FMT (line L, column C)";
 * returns -EINVAL (-ENOMEM for KQL_E_NOMEM). */
int kql_err_set(struct kql_error *err, const char *code, struct kql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A syntax error at pos, Kusto's way: "Query could not be parsed at 'TOK' on
 * line [L,C]: WHY"; tok is the offending token's text (cut at 40 bytes,
 * "<end of query>" for NULL).  Returns -EINVAL. */
int kql_err_syntax(struct kql_error *err, struct kql_pos pos, const char *tok, size_t toklen,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif

/*
 * kql_parse — the second stage: a KQL query (statements separated by ';':
 * set, let, tabular expressions) into a kql_ast tree whose nodes keep their
 * source positions.  The parser knows the syntax of the follower's subset
 * of KQL (issue 13) and refuses the rest of KQL by name: a tabular operator
 * or source it does not implement is a KQL_E_UNSUPPORTED error naming it
 * and its position, a malformed query a SYN0002 error naming the offending
 * token.  Names, types and functions are the binder's business.
 *
 * Bounds (on top of kql_lex's): KQL_MAX_DEPTH nested expressions or
 * parentheses (the parser recurses), KQL_MAX_OPERATORS tabular operators
 * and KQL_MAX_STATEMENTS statements per query.
 */
#ifndef FOLLOWERD_KQL_PARSE_H
#define FOLLOWERD_KQL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/kql_arena.h"
#include "query/kql_ast.h"
#include "query/kql_err.h"

#define KQL_MAX_DEPTH 128
#define KQL_MAX_OPERATORS 512
#define KQL_MAX_STATEMENTS 256
#define KQL_MAX_PARAMS 64 /* of a let function */

/* Parses len bytes of src.  On success *ret is the KQL_N_QUERY root,
 * owned by arena (as are all its nodes and strings).  -EINVAL with err
 * filled (SYN0002, KQL_E_UNSUPPORTED or KQL_E_LIMIT, with the position),
 * -ENOMEM.  *ret untouched on failure. */
int kql_parse(struct kql_arena *arena, const char *src, size_t len, struct kql_node **ret,
              struct kql_error *err);

/* The type a KQL type name spells (bool, boolean, int, long, real, double,
 * string, datetime, date, timespan, time, guid, uniqueid, dynamic, decimal);
 * -1 for anything else. */
int kql_parse_type_name(const char *word);

/* The text of a datetime literal (2020-01-02, 2020-01-02 03:04:05.1,
 * 2020-01-02T03:04:05.1234567Z, 2020-01-02T03:04:05+02:00 in UTC,
 * "2020-01-02", the RFC 822/850 forms) into ticks; 0 or -EINVAL.
 * Also what todatetime() accepts. */
int kql_parse_datetime(const char *s, int64_t *ret);

/* The text of a timespan literal (1d, 25min, 1.5h, 00:10:00, 2.03:04:05,
 * a bare number of days) into ticks; 0 or -EINVAL. */
int kql_parse_timespan(const char *s, int64_t *ret);

/* The text of a guid literal (8-4-4-4-12 hex digits, in braces or not, or
 * 32 digits; quoted or not) into ret, canonical (8-4-4-4-12, lower
 * case, NUL-terminated); 0 or -EINVAL, ret untouched. */
int kql_parse_guid(const char *s, char ret[37]);

#endif

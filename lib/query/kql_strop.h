/*
 * kql_strop — the string operators of KQL's where clauses (has, contains,
 * startswith, endswith, =~ and their _cs forms) on one row's text, the
 * per-row half of kql_strop(code, a, b) (kql_exec_fn.c).
 *
 * The needle is prepared once per statement (folded, measured) and kept by
 * the caller; a haystack of ASCII bytes is then matched case-insensitively
 * in place, without folding (contains and has with an ASCII needle in one
 * pass, 16 bytes at a time, where SSE2 is).  Only a haystack with other bytes is folded
 * (kql_fold), so the answer is always that of the full fold of both sides:
 * a KELVIN SIGN still finds "k".
 */
#ifndef FOLLOWERD_KQL_STROP_H
#define FOLLOWERD_KQL_STROP_H

#include <stdbool.h>
#include <stddef.h>

/* Operation codes of kql_strop(code, a, b) (values written into SQL). */
enum kql_strop {
	KQL_S_HAS,
	KQL_S_HAS_CS,
	KQL_S_HASPREFIX,
	KQL_S_HASPREFIX_CS,
	KQL_S_HASSUFFIX,
	KQL_S_HASSUFFIX_CS,
	KQL_S_CONTAINS,
	KQL_S_CONTAINS_CS,
	KQL_S_STARTSWITH,
	KQL_S_STARTSWITH_CS,
	KQL_S_ENDSWITH,
	KQL_S_ENDSWITH_CS,
	KQL_S_EQ_CI,
};

struct kql_needle;

/* A new needle (free with kql_needle_free) for op over the C string s:
 * lower-cased by kql_fold for the case-insensitive operators.  NULL on
 * ENOMEM or an unknown op. */
struct kql_needle *kql_needle_new(int op, const char *s);

/* Frees a needle; NULL is a no-op.  A void * for sqlite3_set_auxdata. */
void kql_needle_free(void *needle);

/* The op the needle was made for. */
int kql_needle_op(const struct kql_needle *nd);

/* 1 when hay (len bytes, NUL-terminated; the text stops at its first NUL)
 * matches the needle, 0 when not, -ENOMEM. */
int kql_strop_match(const struct kql_needle *nd, const char *hay, size_t len);

#endif

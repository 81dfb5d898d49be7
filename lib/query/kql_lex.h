/*
 * kql_lex — the first stage of the KQL engine: splits a query into tokens,
 * each with its source position, decoded text and value.  The whole query
 * is tokenized up front (it is at most KQL_MAX_QUERY bytes), so the parser
 * may look ahead freely.  Keywords are not reserved in KQL: every word is a
 * KQL_T_IDENT and the parser decides by context.
 *
 * Forms decoded here: // comments; words and $left/$right; negated words
 * (!has, !in~, !contains_cs) and in~ as one word; ['name'] stays three
 * tokens (the parser makes it a name); strings '..' ".." with escapes,
 * verbatim @'..', obfuscated h'..', multi-line ```..```; integers, reals,
 * 0x hex; timespans (1d 2h 30m 10s 100ms 1.5h 3microseconds 10ticks);
 * datetime(..) timespan(..) time(..) guid(..) literals, whose raw contents
 * are kept for the parser to check.
 */
#ifndef FOLLOWERD_KQL_LEX_H
#define FOLLOWERD_KQL_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "query/kql_arena.h"
#include "query/kql_err.h"

#define KQL_MAX_QUERY (256u << 10) /* bytes of query text */
#define KQL_MAX_TOKENS 65536
#define KQL_MAX_RAWLIT 128 /* bytes inside datetime(...) and friends */

enum kql_tok_kind {
	KQL_T_END,      /* after the last token */
	KQL_T_IDENT,    /* a word: name or keyword */
	KQL_T_STRING,   /* text is the decoded string */
	KQL_T_LONG,     /* value in i */
	KQL_T_REAL,     /* value in r */
	KQL_T_TIMESPAN, /* ticks in i */
	KQL_T_RAWLIT,   /* text is the word (datetime, ...), raw what () held */
	KQL_T_PUNCT,    /* text is the punctuation: "==", "|", "(" ... */
};

struct kql_tok {
	enum kql_tok_kind kind;
	struct kql_pos pos;
	uint32_t len;     /* bytes of the token in the query */
	bool space;       /* whitespace or a comment right before it */
	const char *text; /* NUL-terminated, in the arena */
	const char *raw;  /* KQL_T_RAWLIT: the contents, trimmed */
	int64_t i;
	double r;
};

/* The tokens of a query; the last one is KQL_T_END. */
struct kql_tokens {
	const struct kql_tok *v;
	size_t n;
};

/* Splits len bytes of src into tokens allocated from arena (text too).
 * Fills *ret on success; -EINVAL with a SYN0002 error at the offending
 * byte, or a KQL_E_LIMIT error past the bounds; -ENOMEM. */
int kql_lex(struct kql_arena *arena, const char *src, size_t len, struct kql_tokens *ret,
            struct kql_error *err);

/* Calls fn(arg, name) for each database("name") in len bytes of src, in
 * order (a name may come twice), so a caller can authorize and load them
 * before binding.  0, fn's non-zero return, or kql_lex's error (-EINVAL,
 * -ENOMEM; the binder reports a syntax error better). */
int kql_lex_databases(const char *src, size_t len, int (*fn)(void *arg, const char *name),
                      void *arg);

/* Timespan unit suffix (d, h, m, s, ms, day, hours, tick ...) to ticks; 0
 * when s[0, n) is not a unit. */
int64_t kql_lex_unit_ticks(const char *s, size_t n);

#endif

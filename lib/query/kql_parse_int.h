/*
 * kql_parse_int — what kql_parse.c (statements, tabular operators) and
 * kql_parse_expr.c (scalar expressions, literals) share: the parser's state
 * and its token helpers.  Every parse function returns a node or NULL with
 * the error already filled.
 */
#ifndef FOLLOWERD_KQL_PARSE_INT_H
#define FOLLOWERD_KQL_PARSE_INT_H

#include <stdbool.h>

#include "query/kql_lex.h"
#include "query/kql_parse.h"

struct kql_parser {
	struct kql_arena *a;
	const char *src;         /* the query, for quoting tokens in errors */
	size_t len;              /* its length: src is not NUL-terminated */
	const struct kql_tok *t; /* the tokens, ending with KQL_T_END */
	size_t n, i;             /* count, current */
	int depth;               /* of nested parse_* recursion */
	int nops;                /* tabular operators so far */
	struct kql_error *err;
};

const struct kql_tok *kqlp_tok(const struct kql_parser *p, size_t ahead);
bool kqlp_punct(const struct kql_parser *p, size_t ahead, const char *s);
bool kqlp_word(const struct kql_parser *p, size_t ahead, const char *s);
/* Consumes the current token when it is punctuation s / the word s. */
bool kqlp_accept(struct kql_parser *p, const char *s);
/* A SYN0002 error at the current token: "expected WHAT"; returns NULL. */
void *kqlp_expected(struct kql_parser *p, const char *what);
/* Like kqlp_accept, else an error "expected 'S'"; returns false on error. */
bool kqlp_expect(struct kql_parser *p, const char *s);
/* Bytes of src from off up to (not including) a byte of stop or the end. */
size_t kqlp_span(const struct kql_parser *p, size_t off, const char *stop);
/* A new node at the current token; NULL with an error on ENOMEM. */
struct kql_node *kqlp_node(struct kql_parser *p, enum kql_node_kind kind);
void *kqlp_nomem(struct kql_parser *p);
/* Depth accounting around recursion: false (error set) past KQL_MAX_DEPTH. */
bool kqlp_enter(struct kql_parser *p);
void kqlp_leave(struct kql_parser *p);
/* A name: a word or ['x'] / ["x"]; its text in the arena, NULL on error. */
const char *kqlp_name(struct kql_parser *p, const char *what);
/* True when the current tokens start "name =" (not "=="). */
bool kqlp_at_assign(const struct kql_parser *p);

/* A type name; its proto_coltype, or -1 with an error. */
int kqlp_type(struct kql_parser *p);
/* A KQL_E_UNSUPPORTED error at t: "the 'NAME' WHAT is not supported". */
void *kqlp_unsupported(struct kql_parser *p, const struct kql_tok *t, const char *what,
                       const char *name);
/* True when the current token ends an operator's arguments (| ; ) } end). */
bool kqlp_at_end(const struct kql_parser *p);
/* [name =] expr: a KQL_N_ASSIGN or the expression. */
struct kql_node *kqlp_item(struct kql_parser *p);
/* item, item, ... appended to n (at least one); n, or NULL on error. */
struct kql_node *kqlp_items(struct kql_parser *p, struct kql_node *n);
/* Operator parameters name=value for the names in known (NULL-ended) and
 * any hint.x=y (ignored); set() records one.  False on error. */
bool kqlp_params(struct kql_parser *p, struct kql_node *n, const char *const *known,
                 bool (*set)(struct kql_parser *, struct kql_node *, const char *,
                             const struct kql_tok *));
/* A table of union/join/lookup: a name, database("db").T or (...); in a
 * union (wild) also a wildcard name, a KQL_N_PATTERN. */
struct kql_node *kqlp_table_ref(struct kql_parser *p, bool wild);
/* True when the current tokens spell a wildcard name (T*, *Id, E*s, *):
 * '*' or a word, then words, integers and '*' each right after the token
 * before it, one '*' at least. */
bool kqlp_at_pattern(const struct kql_parser *p);
/* Consumes the wildcard name at the current token into n, made a
 * KQL_N_PATTERN (its other fields kept): name is its text, runs of '*'
 * written as one.  n, or NULL on ENOMEM. */
struct kql_node *kqlp_pattern(struct kql_parser *p, struct kql_node *n);
/* One tabular operator after '|' (kql_parse_ops.c). */
struct kql_node *kqlp_operator(struct kql_parser *p);

/* A scalar expression (kql_parse_expr.c). */
struct kql_node *kqlp_expr(struct kql_parser *p);
/* A scalar or tabular expression: a source and its '|' operators (kql_parse.c). */
struct kql_node *kqlp_tabular(struct kql_parser *p);

#endif

/*
 * kql_ast — the syntax tree the parser builds and the binder reads.  One
 * node shape for everything (statements, tabular operators, scalar
 * expressions): a kind, the source position of its first token, a few
 * fields whose meaning depends on the kind (documented on each kind) and an
 * ordered list of children.  Nodes live in the query's arena.
 */
#ifndef FOLLOWERD_KQL_AST_H
#define FOLLOWERD_KQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"
#include "query/kql_arena.h"
#include "query/kql_err.h"

enum kql_node_kind {
	/* statements */
	KQL_N_QUERY,   /* kids: statements */
	KQL_N_SET,     /* name; kids: [value literal] */
	KQL_N_LET,     /* name; kids: expression, tabular expression or KQL_N_FUNC */
	KQL_N_FUNC,    /* kids: KQL_N_PARAM..., then one KQL_N_BODY */
	KQL_N_PARAM,   /* name; type, or op=1 for a tabular parameter; kids: [default] */
	KQL_N_BODY,    /* kids: KQL_N_LET..., then the result expression */
	KQL_N_DECLARE, /* declare query_parameters: kids: KQL_N_PARAM (scalar) ... */
	/* tabular */
	KQL_N_PIPE,            /* kids: source, then operators in order */
	KQL_N_TABLE,           /* name; str: database or NULL (database("db").T) */
	KQL_N_PATTERN,         /* name: a wildcard name (T*, *Id; runs of '*' as one); str: as
	                          KQL_N_TABLE's in a union; in union, project-away, -keep and
	                          -reorder */
	KQL_N_DATATABLE,       /* i: number of columns; kids: KQL_N_COLDEF..., then values */
	KQL_N_COLDEF,          /* name, type */
	KQL_N_PRINT,           /* kids: expressions or KQL_N_ASSIGN */
	KQL_N_RANGE,           /* name; kids: from, to, step */
	KQL_N_UNION,           /* op: enum kql_union_kind; str: withsource or NULL; kids: tables,
	                          KQL_N_PATTERN among them */
	KQL_N_WHERE,           /* kids: predicate */
	KQL_N_PROJECT,         /* kids: expressions or KQL_N_ASSIGN */
	KQL_N_PROJECT_AWAY,    /* kids: KQL_N_NAME or KQL_N_PATTERN */
	KQL_N_PROJECT_RENAME,  /* kids: KQL_N_ASSIGN (name = KQL_N_NAME) */
	KQL_N_PROJECT_KEEP,    /* kids: KQL_N_NAME or KQL_N_PATTERN */
	KQL_N_PROJECT_REORDER, /* kids: KQL_N_NAME or KQL_N_PATTERN, i: 0, 1 asc, 2 desc */
	KQL_N_EXTEND,          /* kids: expressions or KQL_N_ASSIGN */
	KQL_N_SUMMARIZE,       /* kids: KQL_N_LIST aggregates, KQL_N_LIST keys */
	KQL_N_LIST,            /* kids: expressions or KQL_N_ASSIGN */
	KQL_N_COUNT,           /* no fields */
	KQL_N_TAKE,            /* kids: count */
	KQL_N_TOP,             /* kids: count, KQL_N_SORTKEY... */
	KQL_N_SORT,            /* kids: KQL_N_SORTKEY... */
	KQL_N_SORTKEY,         /* op: KQL_SORT_* flags; kids: expression */
	KQL_N_DISTINCT,        /* kids: expressions, or one KQL_N_STAR */
	KQL_N_JOIN,            /* op: enum kql_join_kind; kids: right side, conditions */
	KQL_N_LOOKUP,          /* op: enum kql_join_kind; kids: right side, conditions */
	KQL_N_JOINEQ,          /* kids: $left.a, $right.b as KQL_N_NAME with op 1 / 2 */
	KQL_N_MVEXPAND,        /* i: limit or -1; kids: KQL_N_MVCOL... */
	KQL_N_MVCOL,           /* name: alias or NULL; type + op=1 for "to typeof(T)"; kids: expr */
	KQL_N_AS,              /* name */
	KQL_N_RENDER,          /* name: visualization; kids: KQL_N_ASSIGN properties */
	KQL_N_GETSCHEMA,       /* no fields */
	/* scalar */
	KQL_N_LIT,     /* type; isnull; i (bool, int, long, datetime, timespan), r, str
	                  (string, guid, decimal text, dynamic JSON text) */
	KQL_N_NAME,    /* name; op: 0, or 1/2 for $left./$right. */
	KQL_N_BINARY,  /* op: enum kql_op; kids: left, right */
	KQL_N_UNARY,   /* op: KQL_OP_NEG or KQL_OP_PLUS; kids: operand */
	KQL_N_CALL,    /* name; kids: arguments */
	KQL_N_MEMBER,  /* name: the member; kids: object (d.a) */
	KQL_N_INDEX,   /* kids: object, index (d["a"], d[0]) */
	KQL_N_IN,      /* op: KQL_OP_IN...; kids: value, then the list */
	KQL_N_BETWEEN, /* op: KQL_OP_BETWEEN or KQL_OP_NOT_BETWEEN; kids: value, low, high */
	KQL_N_ASSIGN,  /* name; kids: value */
	KQL_N_STAR,    /* "*" as in distinct * or arg_max(x, *) */
	KQL_N_NKINDS
};

enum kql_op {
	KQL_OP_OR,
	KQL_OP_AND,
	KQL_OP_EQ,
	KQL_OP_NE,
	KQL_OP_LT,
	KQL_OP_LE,
	KQL_OP_GT,
	KQL_OP_GE,
	KQL_OP_EQ_CI, /* =~ */
	KQL_OP_NE_CI, /* !~ */
	KQL_OP_ADD,
	KQL_OP_SUB,
	KQL_OP_MUL,
	KQL_OP_DIV,
	KQL_OP_MOD,
	KQL_OP_NEG,
	KQL_OP_PLUS,
	KQL_OP_HAS,
	KQL_OP_NOT_HAS,
	KQL_OP_HAS_CS,
	KQL_OP_NOT_HAS_CS,
	KQL_OP_HASPREFIX,
	KQL_OP_NOT_HASPREFIX,
	KQL_OP_HASPREFIX_CS,
	KQL_OP_NOT_HASPREFIX_CS,
	KQL_OP_HASSUFFIX,
	KQL_OP_NOT_HASSUFFIX,
	KQL_OP_HASSUFFIX_CS,
	KQL_OP_NOT_HASSUFFIX_CS,
	KQL_OP_CONTAINS,
	KQL_OP_NOT_CONTAINS,
	KQL_OP_CONTAINS_CS,
	KQL_OP_NOT_CONTAINS_CS,
	KQL_OP_STARTSWITH,
	KQL_OP_NOT_STARTSWITH,
	KQL_OP_STARTSWITH_CS,
	KQL_OP_NOT_STARTSWITH_CS,
	KQL_OP_ENDSWITH,
	KQL_OP_NOT_ENDSWITH,
	KQL_OP_ENDSWITH_CS,
	KQL_OP_NOT_ENDSWITH_CS,
	KQL_OP_MATCHES_REGEX,
	KQL_OP_IN,
	KQL_OP_NOT_IN,
	KQL_OP_IN_CI,
	KQL_OP_NOT_IN_CI,
	KQL_OP_BETWEEN,
	KQL_OP_NOT_BETWEEN,
	KQL_OP_HAS_ANY, /* parsed as in; bound as has ... or has ... */
	KQL_OP_HAS_ALL, /* and has ... and has ... */
	KQL_OP_COUNT
};

enum kql_join_kind {
	KQL_JOIN_INNERUNIQUE, /* the default */
	KQL_JOIN_INNER,
	KQL_JOIN_LEFTOUTER,
	KQL_JOIN_RIGHTOUTER,
	KQL_JOIN_FULLOUTER,
	KQL_JOIN_LEFTANTI,
	KQL_JOIN_RIGHTANTI,
	KQL_JOIN_LEFTSEMI,
	KQL_JOIN_RIGHTSEMI,
	KQL_JOIN_COUNT
};

enum kql_union_kind {
	KQL_UNION_OUTER, /* the default */
	KQL_UNION_INNER,
};

/* Sort key flags.  Without KQL_SORT_NULLS_SET, nulls follow Kusto's default:
 * last when descending, first when ascending. */
#define KQL_SORT_ASC 1
#define KQL_SORT_NULLS_FIRST 2
#define KQL_SORT_NULLS_SET 4

struct kql_node {
	enum kql_node_kind kind;
	struct kql_pos pos;
	int op;
	enum proto_coltype type;
	bool isnull;
	const char *name;
	const char *str;
	int64_t i;
	double r;
	struct kql_node *kids, *last, *next; /* first child, last child, next sibling */
	size_t nkids;
	uint32_t height; /* of the subtree: 0 for a leaf (bounds every walk's recursion) */
};

/* A new node of kind at pos, owned by the arena; NULL on ENOMEM. */
struct kql_node *kql_ast_new(struct kql_arena *a, enum kql_node_kind kind, struct kql_pos pos);

/* Appends kid (may be NULL: ignored) to n's children; returns kid. */
struct kql_node *kql_ast_add(struct kql_node *n, struct kql_node *kid);

/* The i-th child of n, NULL past the end. */
struct kql_node *kql_ast_kid(const struct kql_node *n, size_t i);

/* Names for printing: "where", "==", "innerunique", "outer" (static). */
const char *kql_ast_kind_name(enum kql_node_kind k);
const char *kql_op_name(enum kql_op op);
const char *kql_join_kind_name(enum kql_join_kind k);

/* The operator a word or punctuation spells ("has", "!contains_cs", "=~"),
 * or -1; in/between forms included. */
int kql_op_lookup(const char *word);

/* An S-expression of the tree for tests and debugging, e.g.
 * (pipe (table T) (where (> (name x) (long 1)))); a new malloc'd string,
 * NULL on ENOMEM. */
char *kql_ast_dump(const struct kql_node *n);

#endif

/*
 * kql_bind_has — x has_any (a, b, ...) and x has_all (...), bound as what
 * they mean: x has a or x has b ..., x has a and x has b ...  A needle is a
 * string, or a constant dynamic array of strings, each element one needle
 * (a let-bound list, as in let words = dynamic(["a", "b"])).  Measured on
 * Kusto's emulator: a null element is a needle every value has (as "");
 * has_any of an empty array is false, has_all of one true.  Kusto has no
 * !has_any, !has_all nor has_any_cs; a tabular list is not supported here.
 */
#include <jansson.h>
#include <string.h>

#include "query/kql_bind_int.h"

/* SQLite nests "a or b or ..." a level per operand, to 1000 levels. */
#define HAS_NEEDLES_MAX 256

struct has_list {
	struct kqlb *b;
	const struct kqlb_scope *s;
	const struct kql_node *n;
	struct kql_expr *first_x; /* x, bound once before any needle */
	struct kql_expr *acc;     /* the chain so far, NULL: none */
	size_t count;
};

/* acc or (and) x has needle. */
static int add_needle(struct has_list *h, struct kql_expr *needle, struct kql_pos pos)
{
	struct kqlb *b = h->b;
	bool all = h->n->op == KQL_OP_HAS_ALL;
	struct kql_expr *x = h->first_x, *has;

	if (++h->count > HAS_NEEDLES_MAX)
		return kqlb_fail(b, KQL_E_UNSUPPORTED, pos,
		                 "'%s' with more than %d values is not supported",
		                 kql_op_name(h->n->op), HAS_NEEDLES_MAX),
		       -1;
	/* each has its own x: the plan is a tree */
	if (h->count > 1 && (x = kqlb_expr(b, h->s, h->n->kids)) == NULL)
		return -1;
	if ((has = kqlb_op2(b, KQL_OP_HAS, PROTO_T_BOOL, pos, x, needle)) == NULL)
		return -1;
	if (h->acc == NULL) {
		h->acc = has;
		return 0;
	}
	h->acc = kqlb_op2(b, all ? KQL_OP_AND : KQL_OP_OR, PROTO_T_BOOL, h->n->pos, h->acc, has);
	return h->acc != NULL ? 0 : -1;
}

static int element_needle(struct has_list *h, json_t *v, struct kql_pos pos)
{
	struct kql_expr *needle;

	if (!json_is_string(v) && !json_is_null(v))
		return kqlb_fail(h->b, KQL_E_UNSUPPORTED, pos,
		                 "'%s': an array element that is not a string (or null) is "
		                 "not supported",
		                 kql_op_name(h->n->op)),
		       -1;
	needle = kqlb_lit_string(h->b, pos, json_is_string(v) ? json_string_value(v) : "");
	return needle != NULL ? add_needle(h, needle, pos) : -1;
}

/* The elements of the constant dynamic array v, each a needle. */
static int array_needles(struct has_list *h, const struct kql_expr *v, struct kql_pos pos)
{
	json_t *arr = NULL, *el;
	size_t i;
	int rc = 0;

	if (v->kind != KQL_E_LIT || v->isnull || v->s == NULL ||
	    (arr = json_loads(v->s, JSON_DECODE_ANY, NULL)) == NULL || !json_is_array(arr)) {
		json_decref(arr);
		return kqlb_fail(h->b, KQL_E_UNSUPPORTED, pos,
		                 "'%s': a dynamic value other than a constant array is not "
		                 "supported",
		                 kql_op_name(h->n->op)),
		       -1;
	}
	json_array_foreach(arr, i, el)
	{
		if ((rc = element_needle(h, el, pos)) != 0)
			break;
	}
	json_decref(arr);
	return rc;
}

static int list_item(struct has_list *h, const struct kql_node *k)
{
	struct kql_expr *v;

	if (k->kind == KQL_N_PIPE)
		return kqlb_fail(h->b, KQL_E_UNSUPPORTED, k->pos,
		                 "a tabular expression in '%s' is not supported",
		                 kql_op_name(h->n->op)),
		       -1;
	if ((v = kqlb_expr(h->b, h->s, k)) == NULL)
		return -1;
	if (v->type == PROTO_T_DYNAMIC)
		return array_needles(h, v, k->pos);
	if (v->type != PROTO_T_STRING)
		return kqlb_fail(h->b, KQL_E_TYPE, k->pos,
		                 "'%s' expects strings (or a dynamic array of them), not '%s'",
		                 kql_op_name(h->n->op), proto_coltype_name(v->type)),
		       -1;
	return add_needle(h, v, k->pos);
}

struct kql_expr *kqlb_has_list(struct kqlb *b, const struct kqlb_scope *s, const struct kql_node *n)
{
	struct has_list h = {.b = b, .s = s, .n = n};

	if ((h.first_x = kqlb_expr(b, s, n->kids)) == NULL)
		return NULL;
	for (const struct kql_node *k = n->kids->next; k != NULL; k = k->next)
		if (list_item(&h, k) != 0)
			return NULL;
	return h.acc != NULL ? h.acc
	                     : kqlb_lit_int(b, n->pos, PROTO_T_BOOL, n->op == KQL_OP_HAS_ALL);
}

/*
 * kql_bind_decl — declare query_parameters(name:type [= default], ...):
 * each parameter a let bound to a literal of its declared type, its value
 * the text the request gives (properties.Parameters, as the SDKs'
 * setParameter sends it) or its default.  A value is never parsed as
 * KQL: it is converted as its type reads text (a string as it is; a
 * number, bool, datetime, timespan or guid as their conversions read
 * them, a guid as its literal reads it, or in the literal's own form,
 * datetime(...), time(...), guid(...), dynamic(...)), so nothing of it reaches the query but a
 * bound value.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "query/kql_bind_int.h"
#include "query/kql_json.h"
#include "query/kql_parse.h"

/* s without a literal's wrapper "name(...)" of its type (or an alias of
 * it), into buf; s itself when it has none; NULL when it does not fit. */
static const char *unwrapped(const char *s, enum proto_coltype t, char *buf, size_t n)
{
	static const struct {
		enum proto_coltype t;
		const char *name;
	} forms[] = {{PROTO_T_DATETIME, "datetime"}, {PROTO_T_TIMESPAN, "timespan"},
	             {PROTO_T_TIMESPAN, "time"},     {PROTO_T_GUID, "guid"},
	             {PROTO_T_DYNAMIC, "dynamic"},   {PROTO_T_LONG, "long"},
	             {PROTO_T_INT, "int"},           {PROTO_T_REAL, "real"},
	             {PROTO_T_BOOL, "bool"}};
	size_t len = strlen(s);

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t k = strlen(forms[i].name);
		if (forms[i].t != t || len < k + 2 || strncasecmp(s, forms[i].name, k) != 0 ||
		    s[k] != '(' || s[len - 1] != ')')
			continue;
		if (len - k - 2 >= n)
			return NULL;
		memcpy(buf, s + k + 1, len - k - 2);
		buf[len - k - 2] = '\0';
		return buf;
	}
	return s;
}

/* An integer's or a real's text into e; false when it is none. */
static bool number_of(const char *s, struct kql_expr *e)
{
	char *end;

	if (*s == '\0')
		return false;
	if (e->type == PROTO_T_REAL) {
		e->r = strtod(s, &end);
		return *end == '\0';
	}
	errno = 0;
	e->i = strtoll(s, &end, 10);
	return *end == '\0' && errno == 0 &&
	       (e->type == PROTO_T_LONG || (e->i >= INT32_MIN && e->i <= INT32_MAX));
}

/* A dynamic value's text (JSON) into e, written as Kusto writes it. */
static bool dynamic_of(struct kqlb *b, const char *s, struct kql_expr *e)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
	char *text = j != NULL ? kql_json_dump(j, 0) : NULL;

	json_decref(j);
	if (text == NULL)
		return false;
	e->s = kqlb_printf_name(b, "%s", text);
	free(text);
	return e->s != NULL;
}

/* The text s as a value of e's type into e; false when it is none. */
static bool value_of(struct kqlb *b, const char *s, struct kql_expr *e)
{
	char guid[37];

	switch (e->type) {
	case PROTO_T_STRING:
		return (e->s = kqlb_printf_name(b, "%s", s)) != NULL;
	case PROTO_T_INT:
	case PROTO_T_LONG:
	case PROTO_T_REAL:
		return number_of(s, e);
	case PROTO_T_BOOL:
		e->i = strcasecmp(s, "true") == 0;
		return e->i || strcasecmp(s, "false") == 0;
	case PROTO_T_DATETIME:
		return kql_parse_datetime(s, &e->i) == 0;
	case PROTO_T_TIMESPAN:
		return kql_parse_timespan(s, &e->i) == 0;
	case PROTO_T_GUID:
		return kql_parse_guid(s, guid) == 0 &&
		       (e->s = kqlb_printf_name(b, "%s", guid)) != NULL;
	case PROTO_T_DYNAMIC:
		return dynamic_of(b, s, e);
	default:
		return false;
	}
}

/* The request's text for parameter name, or NULL. */
static const char *given(const struct kqlb *b, const char *name)
{
	for (size_t i = 0; b->params != NULL && i < b->params->n; i++)
		if (strcmp(b->params->names[i], name) == 0)
			return b->params->values[i];
	return NULL;
}

/* Parameter k's value: the request's text converted, else its default (a
 * constant of its type), else an error. */
static struct kql_expr *param_value(struct kqlb *b, const struct kqlb_binding *env,
                                    const struct kql_node *k)
{
	const char *text = given(b, k->name), *s;
	struct kqlb_scope sc = {NULL, env, "declare", false};
	struct kql_expr *e;
	char buf[4096];

	if (text == NULL && k->kids == NULL)
		return kqlb_fail(b, KQL_E_NAME, k->pos,
		                 "query parameter '%s' has no value: give it in the request's "
		                 "properties (Parameters) or declare a default",
		                 k->name);
	if (text == NULL) {
		e = kqlb_expr(b, &sc, k->kids);
		if (e != NULL && (e->type != k->type || !kqlb_constant(e)))
			return kqlb_fail(
			    b, KQL_E_TYPE, k->kids->pos,
			    "query parameter '%s': its default must be a constant '%s'", k->name,
			    proto_coltype_name(k->type));
		return e;
	}
	if ((e = kqlb_alloc(b, sizeof(*e))) == NULL)
		return NULL;
	e->kind = KQL_E_LIT;
	e->type = k->type;
	e->pos = k->pos;
	s = k->type == PROTO_T_STRING ? text : unwrapped(text, k->type, buf, sizeof(buf));
	if (s != NULL && k->type != PROTO_T_STRING && strcmp(s, "null") == 0) {
		e->isnull = true;
		return e;
	}
	if (s == NULL || k->type == PROTO_T_DECIMAL || !value_of(b, s, e))
		return kqlb_fail(b, KQL_E_TYPE, k->pos,
		                 "query parameter '%s': '%.64s' is no '%s' value", k->name, text,
		                 proto_coltype_name(k->type));
	return e;
}

int kqlb_declare(struct kqlb *b, const struct kql_node *n, const struct kqlb_binding **env)
{
	for (const struct kql_node *k = n->kids; k != NULL; k = k->next) {
		struct kqlb_binding *p;
		if (kqlb_lookup(*env, k->name) != NULL)
			return kqlb_fail(b, KQL_E_NAME, k->pos, "the name '%s' is already declared",
			                 k->name),
			       -1;
		if ((p = kqlb_alloc(b, sizeof(*p))) == NULL ||
		    (p->expr = param_value(b, *env, k)) == NULL)
			return -1;
		p->name = k->name;
		p->ast = k;
		p->env = *env;
		p->next = *env;
		*env = p;
	}
	return 0;
}

/*
 * kreq — a Kusto query request's body and options (kreq.h).
 */
#include "query/kreq.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "data/kval.h"
#include "util/timefmt.h"

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

static int bad(char *err, const char *name, const char *value, const char *want)
{
	(void)snprintf(err, KREQ_ERRLEN, "request property '%s': '%.64s' is not %s", name, value,
	               want);
	return -EINVAL;
}

static int get_bool(const char *v, bool *ret)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*ret = true;
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int get_count(const char *v, uint64_t *ret)
{
	char *end;
	unsigned long long n;

	if (*v < '0' || *v > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = n;
	return 0;
}

/* ---- one option each ---- */

static int set_timeout(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	int64_t t;

	if (timefmt_parse_duration(v, &t) < 0 || t <= 0)
		return bad(err, n, v, "a timespan (00:02:00 or 2m)");
	if (t > KREQ_MAX_TIMEOUT)
		return bad(err, n, v, "at most 1 hour");
	o->timeout = t;
	return 0;
}

static int set_records(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	return get_count(v, &o->max_records) < 0 ? bad(err, n, v, "a count of records") : 0;
}

static int set_size(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	return get_count(v, &o->max_size) < 0 ? bad(err, n, v, "a size in bytes") : 0;
}

static int set_notruncation(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	return get_bool(v, &o->notruncation) < 0 ? bad(err, n, v, "true or false") : 0;
}

static int set_scope(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	if (strcasecmp(v, "default") == 0)
		o->scope = KREQ_SCOPE_DEFAULT;
	else if (strcasecmp(v, "all") == 0)
		o->scope = KREQ_SCOPE_ALL;
	else if (strcasecmp(v, "hotcache") == 0)
		o->scope = KREQ_SCOPE_HOTCACHE;
	else
		return bad(err, n, v, "default, all or hotcache");
	return 0;
}

static int set_now(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	int64_t t;

	if (kval_parse_datetime(v, strlen(v), &t) < 0)
		return bad(err, n, v, "a datetime");
	o->now = t;
	o->has_now = true;
	return 0;
}

static int set_progressive(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	return get_bool(v, &o->progressive) < 0 ? bad(err, n, v, "true or false") : 0;
}

static int set_fragments(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	return get_bool(v, &o->fragmented) < 0 ? bad(err, n, v, "true or false") : 0;
}

static int set_placement(struct kreq_opts *o, const char *n, const char *v, char *err)
{
	if (strcasecmp(v, "in_data") == 0 || strcasecmp(v, "indata") == 0)
		o->end_of_table = false;
	else if (strcasecmp(v, "end_of_table") == 0 || strcasecmp(v, "endoftable") == 0)
		o->end_of_table = true;
	else
		return bad(err, n, v, "in_data or end_of_table");
	return 0;
}

static const struct {
	const char *name;
	int (*set)(struct kreq_opts *o, const char *name, const char *value, char *err);
} options[] = {
    {"servertimeout", set_timeout},
    {"truncationmaxrecords", set_records},
    {"truncationmaxsize", set_size},
    {"notruncation", set_notruncation},
    {"query_datascope", set_scope},
    {"query_now", set_now},
    {"results_progressive_enabled", set_progressive},
    {"results_v2_fragment_primary_tables", set_fragments},
    {"results_error_reporting_placement", set_placement},
};

void kreq_opts_default(struct kreq_opts *o)
{
	*o = (struct kreq_opts){
	    .timeout = KREQ_DEFAULT_TIMEOUT,
	    .max_records = KREQ_DEFAULT_MAX_RECORDS,
	    .max_size = KREQ_DEFAULT_MAX_SIZE,
	};
}

int kreq_set(struct kreq_opts *o, const char *name, const char *value, char err[KREQ_ERRLEN])
{
	for (size_t i = 0; i < N_ELEMENTS(options); i++)
		if (strcasecmp(name, options[i].name) == 0)
			return options[i].set(o, options[i].name, value, err);
	return 1;
}

/* ---- the body ---- */

/* An option's JSON value as the text kreq_set takes. */
static int value_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		(void)snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_boolean(v))
		(void)snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else if (json_is_integer(v))
		(void)snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		return -EINVAL;
	return 0;
}

static int apply_options(struct kreq_opts *o, json_t *opts, char *err)
{
	const char *key;
	json_t *v;
	char text[256];
	int r;

	json_object_foreach(opts, key, v)
	{
		if (value_text(v, text, sizeof(text)) < 0) {
			if (kreq_set(o, key, "", err) == 1)
				continue; /* an unknown option of any form */
			return bad(err, key, "(a JSON object or array)", "a value");
		}
		if ((r = kreq_set(o, key, text, err)) < 0)
			return r;
	}
	return 0;
}

/* properties: an object, or a JSON string of one (owned in *ret_owned). */
static int properties(json_t *p, json_t **ret_owned, json_t **ret, char *err)
{
	json_error_t e;

	*ret = NULL;
	if (!p || json_is_null(p))
		return 0;
	if (json_is_string(p)) {
		*ret_owned = json_loads(json_string_value(p), JSON_REJECT_DUPLICATES, &e);
		p = *ret_owned;
	}
	if (!json_is_object(p)) {
		(void)snprintf(err, KREQ_ERRLEN, "request: 'properties' is not a JSON object");
		return -EINVAL;
	}
	*ret = p;
	return 0;
}

/* One parameter's value as text: a string as it is, a number or a bool
 * its JSON text. */
static char *param_text(json_t *v)
{
	if (json_is_string(v))
		return strdup(json_string_value(v));
	if (json_is_number(v) || json_is_boolean(v))
		return json_dumps(v, JSON_ENCODE_ANY);
	return NULL;
}

/* properties.Parameters (or parameters): name -> value. */
static int parse_parameters(struct kreq *r, json_t *p, char *err)
{
	json_t *params = json_object_get(p, "Parameters"), *v;
	const char *name;

	if (!params)
		params = json_object_get(p, "parameters");
	if (!params || json_is_null(params))
		return 0;
	if (!json_is_object(params) || json_object_size(params) > KREQ_MAX_PARAMS) {
		(void)snprintf(err, KREQ_ERRLEN,
		               "request: 'Parameters' is not a JSON object of at most %d values",
		               KREQ_MAX_PARAMS);
		return -EINVAL;
	}
	r->param_names = calloc(json_object_size(params) + 1, sizeof(char *));
	r->param_values = calloc(json_object_size(params) + 1, sizeof(char *));
	if (!r->param_names || !r->param_values)
		return -ENOMEM;
	json_object_foreach(params, name, v)
	{
		char *text = param_text(v);
		if (!text) {
			(void)snprintf(
			    err, KREQ_ERRLEN,
			    "request: parameter '%.64s' is not a string, a number or a bool", name);
			return -EINVAL;
		}
		r->param_values[r->nparams] = text;
		if (!(r->param_names[r->nparams++] = strdup(name)))
			return -ENOMEM;
	}
	return 0;
}

static int parse_properties(struct kreq *r, json_t *body, char *err)
{
	json_t *owned = NULL, *p, *opts;
	int rc = properties(json_object_get(body, "properties"), &owned, &p, err);

	if (rc == 0 && p) {
		opts = json_object_get(p, "Options");
		if (!opts)
			opts = json_object_get(p, "options");
		if (opts && !json_is_object(opts)) {
			(void)snprintf(err, KREQ_ERRLEN, "request: 'Options' is not a JSON object");
			rc = -EINVAL;
		} else if (opts) {
			rc = apply_options(&r->opts, opts, err);
		}
		if (rc == 0)
			rc = parse_parameters(r, p, err);
	}
	json_decref(owned);
	return rc;
}

static int get_string(json_t *body, const char *key, size_t max, bool required, char **ret,
                      char *err)
{
	json_t *v = json_object_get(body, key);

	if (!v && !required)
		return 0;
	if (!json_is_string(v)) {
		(void)snprintf(err, KREQ_ERRLEN, "request: '%s' %s", key,
		               v ? "is not a string" : "is missing");
		return -EINVAL;
	}
	if (json_string_length(v) > max) {
		(void)snprintf(err, KREQ_ERRLEN, "request: '%s' is over %zu bytes", key, max);
		return -E2BIG;
	}
	*ret = strdup(json_string_value(v));
	return *ret ? 0 : -ENOMEM;
}

int kreq_parse(const char *body, size_t len, struct kreq *ret, char err[KREQ_ERRLEN])
{
	struct kreq r = {0};
	json_error_t e;
	json_t *j = NULL;
	int rc = -EINVAL;

	kreq_opts_default(&r.opts);
	if (len > KREQ_MAX_BODY) {
		(void)snprintf(err, KREQ_ERRLEN, "request: the body is over %zu bytes",
		               KREQ_MAX_BODY);
		return -E2BIG;
	}
	if (!(j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e)) || !json_is_object(j)) {
		(void)snprintf(err, KREQ_ERRLEN, "request: the body is not a JSON object%s%s",
		               j ? "" : ": ", j ? "" : e.text);
		goto out;
	}
	if ((rc = get_string(j, "db", KREQ_MAX_NAME, false, &r.db, err)) < 0 ||
	    (rc = get_string(j, "csl", KREQ_MAX_QUERY, true, &r.csl, err)) < 0 ||
	    (rc = parse_properties(&r, j, err)) < 0)
		goto out;
	*ret = r;
	r = (struct kreq){0};
out:
	kreq_clear(&r);
	json_decref(j);
	return rc;
}

void kreq_clear(struct kreq *r)
{
	for (size_t i = 0; i < r->nparams; i++) {
		free(r->param_names[i]);
		free(r->param_values[i]);
	}
	free(r->param_names);
	free(r->param_values);
	free(r->db);
	free(r->csl);
	r->db = r->csl = NULL;
	r->param_names = r->param_values = NULL;
	r->nparams = 0;
}

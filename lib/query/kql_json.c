/*
 * kql_json — dynamic values' text as Kusto writes it (kql_json.h): reals
 * in .NET's round-trip form, the rest as compact JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_json.h"

char *kql_json_real(double r, char buf[KQL_JSON_REAL_LEN])
{
	char *e;

	/* .NET's "R": G15 when it reads back, else G17; C's %g and .NET's G
	 * choose the exponent form alike (below 1e-4, or at the precision). */
	(void)snprintf(buf, KQL_JSON_REAL_LEN, "%.15g", r);
	if (strtod(buf, NULL) != r)
		(void)snprintf(buf, KQL_JSON_REAL_LEN, "%.17g", r);
	if ((e = strchr(buf, 'e')) != NULL)
		*e = 'E';
	else if (strchr(buf, '.') == NULL)
		strcat(buf, ".0");
	return buf;
}

static int dump(const json_t *v, int sorted, FILE *f);

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A string (a key or a value) escaped as jansson escapes it. */
static int dump_string(const char *s, size_t n, FILE *f)
{
	json_t *j = json_stringn(s, n);
	char *text = j != NULL ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	int r = text != NULL && fputs(text, f) >= 0 ? 0 : -1;

	free(text);
	json_decref(j);
	return r;
}

static int dump_object(const json_t *v, int sorted, FILE *f)
{
	size_t n = json_object_size(v), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char *k;
	json_t *item;
	int r = -1;

	if (keys == NULL)
		return -1;
	json_object_foreach((json_t *)v, k, item) keys[i++] = k;
	if (sorted)
		qsort(keys, n, sizeof(*keys), compare_keys);
	fputc('{', f);
	for (i = 0; i < n; i++) {
		if ((i > 0 && fputc(',', f) == EOF) ||
		    dump_string(keys[i], strlen(keys[i]), f) != 0 || fputc(':', f) == EOF ||
		    dump(json_object_get(v, keys[i]), sorted, f) != 0)
			goto out;
	}
	r = fputc('}', f) == EOF ? -1 : 0;
out:
	free(keys);
	return r;
}

static int dump_array(const json_t *v, int sorted, FILE *f)
{
	fputc('[', f);
	for (size_t i = 0; i < json_array_size(v); i++)
		if ((i > 0 && fputc(',', f) == EOF) || dump(json_array_get(v, i), sorted, f) != 0)
			return -1;
	return fputc(']', f) == EOF ? -1 : 0;
}

static int dump(const json_t *v, int sorted, FILE *f)
{
	char buf[KQL_JSON_REAL_LEN];

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return dump_object(v, sorted, f);
	case JSON_ARRAY:
		return dump_array(v, sorted, f);
	case JSON_STRING:
		return dump_string(json_string_value(v), json_string_length(v), f);
	case JSON_REAL:
		if (!isfinite(json_real_value(v)))
			return -1;
		return fputs(kql_json_real(json_real_value(v), buf), f) >= 0 ? 0 : -1;
	case JSON_INTEGER:
		return fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) > 0 ? 0 : -1;
	case JSON_TRUE:
		return fputs("true", f) >= 0 ? 0 : -1;
	case JSON_FALSE:
		return fputs("false", f) >= 0 ? 0 : -1;
	default:
		return fputs("null", f) >= 0 ? 0 : -1;
	}
}

char *kql_json_dump(const json_t *v, int sorted)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (f == NULL)
		return NULL;
	r = dump(v, sorted, f);
	if (fclose(f) != 0 || r != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int kql_json_digits(double r, char buf[KQL_JSON_REAL_LEN])
{
	int prec = 1;

	for (;; prec++) {
		(void)snprintf(buf, KQL_JSON_REAL_LEN, "%.*e", prec - 1, r);
		if (prec == 17 || strtod(buf, NULL) == r)
			return prec;
	}
}

char *kql_json_shortest(double r, char buf[KQL_JSON_REAL_LEN])
{
	int prec = kql_json_digits(r, buf), exp10 = atoi(strchr(buf, 'e') + 1);

	if (exp10 < -28 || exp10 > 28)
		return buf;
	(void)snprintf(buf, KQL_JSON_REAL_LEN, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0,
	               r);
	return buf;
}

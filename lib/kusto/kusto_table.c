/*
 * kusto_table — result tables in Kusto's v1 response format, the shape of
 * POST /v1/rest/mgmt answers:
 *
 *   {"Tables":[{"TableName":"Table_0",
 *               "Columns":[{"ColumnName":"X","DataType":"Int64","ColumnType":"long"}],
 *               "Rows":[[1]]}]}
 *
 * Every column carries both DataType (the CLR name, older clients) and
 * ColumnType (the Kusto name): the Node SDK (azure-kusto-data 7.0.4,
 * KustoResultColumn) reads ColumnType and parses a value only when it is
 * "datetime" (new Date(value)) or "timespan" ([-][d.]hh:mm:ss[.f]); every
 * other value is taken as the JSON value it is.  So longs, ints and reals are
 * JSON numbers, bools JSON booleans, guids strings; a real that JSON cannot
 * hold is the string Kusto writes ("NaN", "Infinity", "-Infinity").
 *
 * Rows are built value by value with a sticky error, so the callers (one
 * per .show command) read as a list of columns.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kusto/kusto_int.h"
#include "util/timefmt.h"
#include "util/utf8.h"

struct kusto_table {
	char *name;
	struct kusto_column *cols; /* names owned */
	size_t ncols;
	json_t *rows; /* array of arrays */
	json_t *row;  /* the open row, NULL when none */
	int error;    /* the first failure, 0 when none */
};

static const struct {
	const char *data;
	const char *column;
} type_names[] = {
    [KUSTO_T_STRING] = {"String", "string"},
    [KUSTO_T_DATETIME] = {"DateTime", "datetime"},
    [KUSTO_T_TIMESPAN] = {"TimeSpan", "timespan"},
    [KUSTO_T_LONG] = {"Int64", "long"},
    [KUSTO_T_INT] = {"Int32", "int"},
    [KUSTO_T_REAL] = {"Double", "real"},
    [KUSTO_T_BOOL] = {"Boolean", "bool"},
    [KUSTO_T_GUID] = {"Guid", "guid"},
    [KUSTO_T_DYNAMIC] = {"Object", "dynamic"},
};

bool kusto_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0, k; i < n; i += k)
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return false;
	return true;
}

void kusto_utf8_fix(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t n = strlen(s), k;

	for (size_t i = 0; i < n; i += k)
		if ((k = utf8_seq(p + i, n - i)) == 0) {
			p[i] = '?';
			k = 1;
		}
}

static bool type_valid(enum kusto_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]);
}

const char *kusto_type_data_type(enum kusto_type t)
{
	return type_valid(t) ? type_names[t].data : "?";
}

const char *kusto_type_column_type(enum kusto_type t)
{
	return type_valid(t) ? type_names[t].column : "?";
}

struct kusto_table *kusto_table_new(const char *name, const struct kusto_column *cols, size_t ncols)
{
	struct kusto_table *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return NULL;
	t->name = strdup(name);
	t->cols = calloc(ncols ? ncols : 1, sizeof(*t->cols));
	t->rows = json_array();
	if (t->name == NULL || t->cols == NULL || t->rows == NULL)
		goto fail;
	for (; t->ncols < ncols; t->ncols++) {
		if (!type_valid(cols[t->ncols].type))
			goto fail;
		t->cols[t->ncols].type = cols[t->ncols].type;
		t->cols[t->ncols].name = strdup(cols[t->ncols].name);
		if (t->cols[t->ncols].name == NULL)
			goto fail;
	}
	return t;
fail:
	kusto_table_free(t);
	return NULL;
}

void kusto_table_free(struct kusto_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		free((char *)t->cols[i].name);
	free(t->cols);
	free(t->name);
	json_decref(t->rows);
	json_decref(t->row);
	free(t);
}

size_t kusto_table_nrows(const struct kusto_table *t)
{
	return json_array_size(t->rows);
}

static void fail(struct kusto_table *t, int r)
{
	if (t->error == 0)
		t->error = r;
}

/* Appends v (stolen; NULL means out of memory) as the next value of the
 * open row, opening one when needed; type is v's, null fits any column. */
static void add(struct kusto_table *t, enum kusto_type type, json_t *v)
{
	size_t i;

	if (v == NULL)
		fail(t, -ENOMEM);
	if (t->error == 0 && t->row == NULL) {
		if (json_array_size(t->rows) >= KUSTO_MAX_ROWS)
			fail(t, -E2BIG);
		else if ((t->row = json_array()) == NULL)
			fail(t, -ENOMEM);
	}
	if (t->error != 0) {
		json_decref(v);
		return;
	}
	i = json_array_size(t->row);
	if (i >= t->ncols || (!json_is_null(v) && t->cols[i].type != type)) {
		fail(t, -EINVAL);
		json_decref(v);
		return;
	}
	if (json_array_append_new(t->row, v) < 0)
		fail(t, -ENOMEM);
}

/* A JSON string of s, with what is not UTF-8 replaced: the data comes from
 * callers, and a bad byte must not fail a whole answer. */
static json_t *utf8_string(const char *s)
{
	char *fixed;
	json_t *v;

	if (kusto_utf8_valid(s, strlen(s)))
		return json_string(s);
	fixed = strdup(s);
	if (fixed == NULL)
		return NULL;
	kusto_utf8_fix(fixed);
	v = json_string(fixed);
	free(fixed);
	return v;
}

void kusto_add_string(struct kusto_table *t, const char *s)
{
	add(t, KUSTO_T_STRING, s != NULL ? utf8_string(s) : json_null());
}

void kusto_add_datetime(struct kusto_table *t, int64_t ticks)
{
	char buf[TIMEFMT_DATETIME_LEN];

	add(t, KUSTO_T_DATETIME, json_string(timefmt_format_datetime(ticks, buf)));
}

void kusto_add_timespan(struct kusto_table *t, int64_t ticks)
{
	char buf[TIMEFMT_TIMESPAN_LEN];

	add(t, KUSTO_T_TIMESPAN, json_string(timefmt_format_timespan(ticks, buf)));
}

void kusto_add_long(struct kusto_table *t, int64_t v)
{
	add(t, KUSTO_T_LONG, json_integer(v));
}

void kusto_add_int(struct kusto_table *t, int32_t v)
{
	add(t, KUSTO_T_INT, json_integer(v));
}

void kusto_add_real(struct kusto_table *t, double v)
{
	if (isnan(v))
		add(t, KUSTO_T_REAL, json_string("NaN"));
	else if (isinf(v))
		add(t, KUSTO_T_REAL, json_string(v > 0 ? "Infinity" : "-Infinity"));
	else
		add(t, KUSTO_T_REAL, json_real(v));
}

void kusto_add_bool(struct kusto_table *t, bool v)
{
	add(t, KUSTO_T_BOOL, json_boolean(v));
}

/* A guid in lowercase into buf, false when g is not one. */
static bool guid_lower(const char *g, char buf[PROTO_UUID_LEN + 1])
{
	for (size_t i = 0; i < PROTO_UUID_LEN; i++) {
		char c = g[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
		buf[i] = c;
	}
	buf[PROTO_UUID_LEN] = '\0';
	return g[PROTO_UUID_LEN] == '\0';
}

void kusto_add_guid(struct kusto_table *t, const char *guid)
{
	char buf[PROTO_UUID_LEN + 1];

	if (guid == NULL || guid[0] == '\0') {
		add(t, KUSTO_T_GUID, json_null());
	} else if (!guid_lower(guid, buf)) {
		fail(t, -EINVAL);
	} else {
		add(t, KUSTO_T_GUID, json_string(buf));
	}
}

void kusto_add_dynamic(struct kusto_table *t, json_t *v)
{
	if (v == NULL) {
		fail(t, -ENOMEM);
		return;
	}
	/* A JSON null here is a value of its own, not a typeless null. */
	add(t, KUSTO_T_DYNAMIC, v);
}

void kusto_add_null(struct kusto_table *t)
{
	add(t, KUSTO_T_STRING, json_null());
}

int kusto_row_end(struct kusto_table *t)
{
	if (t->error == 0 && json_array_size(t->row) != t->ncols)
		fail(t, -EINVAL);
	if (t->error == 0 && json_array_append_new(t->rows, t->row) < 0)
		fail(t, -ENOMEM);
	else if (t->error != 0)
		json_decref(t->row);
	t->row = NULL;
	return t->error;
}

static json_t *columns_json(const struct kusto_table *t)
{
	json_t *cols = json_array();

	for (size_t i = 0; cols != NULL && i < t->ncols; i++) {
		enum kusto_type ty = t->cols[i].type;
		json_t *c = json_pack("{s:s, s:s, s:s}", "ColumnName", t->cols[i].name, "DataType",
		                      type_names[ty].data, "ColumnType", type_names[ty].column);
		if (c == NULL || json_array_append_new(cols, c) < 0) {
			json_decref(cols);
			return NULL;
		}
	}
	return cols;
}

json_t *kusto_table_json(const struct kusto_table *t)
{
	json_t *cols;

	if (t->error != 0 || t->row != NULL)
		return NULL;
	cols = columns_json(t);
	if (cols == NULL)
		return NULL;
	/* "o": the table keeps its rows; "O" takes a reference of its own. */
	return json_pack("{s:s, s:o, s:O}", "TableName", t->name, "Columns", cols, "Rows", t->rows);
}

char *kusto_response(struct kusto_table *const *tables, size_t n)
{
	json_t *arr = json_array(), *top = NULL;
	char *s = NULL;

	if (arr == NULL || n == 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, kusto_table_json(tables[i])) < 0)
			goto out;
	top = json_pack("{s:O}", "Tables", arr);
	if (top != NULL)
		s = json_dumps(top, JSON_COMPACT);
out:
	json_decref(top);
	json_decref(arr);
	return s;
}

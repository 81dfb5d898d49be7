/*
 * kframe — Kusto's v2 frames and v1 tables, streamed (kframe.h).
 *
 * One buffer of KFRAME_CHUNK bytes collects the text and is handed to the
 * write callback when full; a row is never held whole anywhere else.  The
 * first failure of the callback is sticky.
 */
#include "query/kframe.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"
#include "util/utf8.h"

#define MAX_PROPS 16
#define FRAGMENT_ROWS 1000 /* rows per TableFragment */

struct kframe {
	struct kframe_opts o;
	kframe_write_fn fn;
	void *arg;
	char *buf;
	size_t len;
	int err;
	bool started, props_done, in_table;
	bool primary; /* the open table is a result (fragmented in that shape) */
	int next_id;  /* v2 TableId, v1 Table_N */
	int table_id; /* of the open table */
	const struct kframe_column *cols;
	size_t ncols;
	uint64_t table_rows, frag_rows, rows, bytes;
	char *prop_key[MAX_PROPS], *prop_value[MAX_PROPS];
	size_t nprops;
	char *results[MAX_PROPS]; /* v1: names of the result tables, for the TOC */
	size_t nresults;
};

static const struct {
	const char *kusto, *clr;
} type_names[] = {
    /* a query's bool column is SByte in ADX's v1 answer (measured; a
     * .show command's is Boolean: kusto/) */
    [PROTO_T_BOOL] = {"bool", "SByte"},
    [PROTO_T_DATETIME] = {"datetime", "DateTime"},
    [PROTO_T_DYNAMIC] = {"dynamic", "Object"},
    [PROTO_T_GUID] = {"guid", "Guid"},
    [PROTO_T_INT] = {"int", "Int32"},
    [PROTO_T_LONG] = {"long", "Int64"},
    [PROTO_T_REAL] = {"real", "Double"},
    [PROTO_T_STRING] = {"string", "String"},
    [PROTO_T_TIMESPAN] = {"timespan", "TimeSpan"},
    [PROTO_T_DECIMAL] = {"decimal", "Decimal"},
};

const char *kframe_type_name(enum proto_coltype t)
{
	return type_names[t].kusto;
}

const char *kframe_clr_name(enum proto_coltype t)
{
	return type_names[t].clr;
}

/* ---- output ---- */

static int flush(struct kframe *f)
{
	if (f->err == 0 && f->len > 0)
		f->err = f->fn(f->arg, f->buf, f->len);
	f->bytes += f->len;
	f->len = 0;
	return f->err;
}

static void put(struct kframe *f, const char *s, size_t n)
{
	if (f->len + n > KFRAME_CHUNK)
		(void)flush(f);
	if (n > KFRAME_CHUNK) {
		if (f->err == 0)
			f->err = f->fn(f->arg, s, n);
		f->bytes += n;
		return;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
}

static void puts_(struct kframe *f, const char *s)
{
	put(f, s, strlen(s));
}

static void putf(struct kframe *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct kframe *f, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(f, tmp, n < 0 ? 0 : (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Whether byte c goes into a JSON string as it is: printable ASCII other
 * than the two JSON escapes (the common case, checked before utf8_seq). */
static bool plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* A JSON string of s (n bytes). */
static void put_string(struct kframe *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0, len;

	put(f, "\"", 1);
	while (i < n) {
		if (plain_ascii(p[i])) {
			i++;
			run++;
			continue;
		}
		len = utf8_seq(p + i, n - i);
		if (len > 1) {
			i += len;
			run += len;
			continue;
		}
		put(f, s + i - run, run);
		run = 0;
		if (len == 0)
			put(f, "\\ufffd", 6);
		else if (p[i] == '"' || p[i] == '\\')
			putf(f, "\\%c", p[i]);
		else
			putf(f, "\\u%04x", p[i]);
		i++;
	}
	put(f, s + i - run, run);
	put(f, "\"", 1);
}

static void put_cstring(struct kframe *f, const char *s)
{
	put_string(f, s ? s : "", s ? strlen(s) : 0);
}

/* The decimal digits of v, at the end of a buffer ending at end; returns
 * where they start. */
static char *digits_back(uint64_t v, char *end)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return end;
}

static void put_long(struct kframe *f, int64_t v)
{
	char tmp[24], *p;

	p = digits_back(v < 0 ? -(uint64_t)v : (uint64_t)v, tmp + sizeof(tmp));
	if (v < 0)
		*--p = '-';
	put(f, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* r as m / 10^k, written "[-]int.frac", when some m of at most 15 digits
 * and k <= 15 read back as r exactly: the division is correctly rounded,
 * so the text parses to r, and with at most 15 significant digits it is
 * the text %.15g gives (which no 15-digit boundary separates from r). */
static bool put_real_fixed(struct kframe *f, double r)
{
	static const double pow10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
	                               1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
	char tmp[40], *p, *end = tmp + sizeof(tmp);
	double a = fabs(r);
	int64_t m = 0;
	int k;

	if (!(a >= 1e-4 && a < 1e15))
		return false; /* %g's exponent form, zero, NaN and the infinities */
	for (k = 0; k < 16; k++) {
		if (a * pow10[k] >= 1e15)
			return false;
		m = llround(a * pow10[k]);
		if ((double)m / pow10[k] == a)
			break;
	}
	if (k == 16)
		return false;
	p = digits_back((uint64_t)m, end);
	while (end - p <= k) /* a leading "0." */
		*--p = '0';
	if (k > 0) {
		memmove(p - 1, p, (size_t)(end - p - k));
		end[-k - 1] = '.';
		p--;
		while (end[-1] == '0') /* %g drops trailing zeros */
			end--;
		if (end[-1] == '.')
			end--;
	}
	if (r < 0)
		*--p = '-';
	put(f, p, (size_t)(end - p));
	return true;
}

/* The shortest %g text that reads back as r. */
static void put_real(struct kframe *f, double r)
{
	char tmp[40];

	if (isnan(r) || isinf(r)) {
		puts_(f, isnan(r) ? "\"NaN\"" : r < 0 ? "\"-Infinity\"" : "\"Infinity\"");
		return;
	}
	if (put_real_fixed(f, r))
		return;
	for (int prec = 15; prec <= 17; prec++) {
		(void)snprintf(tmp, sizeof(tmp), "%.*g", prec, r);
		if (strtod(tmp, NULL) == r)
			break;
	}
	puts_(f, tmp);
}

static void put_value(struct kframe *f, enum proto_coltype t, const struct kval *v)
{
	char tmp[TIMEFMT_TIMESPAN_LEN];

	if (v->null) {
		puts_(f, t == PROTO_T_STRING ? "\"\"" : "null");
		return;
	}
	switch (t) {
	case PROTO_T_BOOL:
		puts_(f, v->i ? "true" : "false");
		break;
	case PROTO_T_INT:
	case PROTO_T_LONG:
		put_long(f, v->i);
		break;
	case PROTO_T_REAL:
		put_real(f, v->r);
		break;
	case PROTO_T_DATETIME:
		put_cstring(f, timefmt_format_datetime(v->i, tmp));
		break;
	case PROTO_T_TIMESPAN:
		put_cstring(f, timefmt_format_timespan(v->i, tmp));
		break;
	case PROTO_T_DYNAMIC:
		if (v->s && v->len > 0)
			put(f, v->s, v->len);
		else
			puts_(f, "null");
		break;
	default:
		put_string(f, v->s ? v->s : "", v->s ? v->len : 0);
		break;
	}
}

/* ---- the header and the tables ---- */

static void start(struct kframe *f)
{
	if (f->started)
		return;
	f->started = true;
	if (f->o.shape == KFRAME_V1) {
		puts_(f, "{\"Tables\":[");
		return;
	}
	putf(f,
	     "[{\"FrameType\":\"DataSetHeader\",\"IsProgressive\":false,\"Version\":\"v2.0\","
	     "\"IsFragmented\":%s,\"ErrorReportingPlacement\":\"%s\"}",
	     f->o.shape == KFRAME_V2_FRAGMENTED ? "true" : "false",
	     f->o.end_of_table ? "EndOfTable" : "InData");
}

static void put_columns(struct kframe *f, const struct kframe_column *cols, size_t ncols)
{
	puts_(f, "\"Columns\":[");
	for (size_t i = 0; i < ncols; i++) {
		puts_(f, i ? ",{\"ColumnName\":" : "{\"ColumnName\":");
		put_cstring(f, cols[i].name);
		if (f->o.shape == KFRAME_V1)
			putf(f, ",\"DataType\":\"%s\"", kframe_clr_name(cols[i].type));
		putf(f, ",\"ColumnType\":\"%s\"}", kframe_type_name(cols[i].type));
	}
	puts_(f, "]");
}

static bool fragmented(const struct kframe *f)
{
	return f->o.shape == KFRAME_V2_FRAGMENTED && f->primary;
}

/* Opens a table: its header and the start of its rows. */
static void open_table(struct kframe *f, const char *kind, const char *name,
                       const struct kframe_column *cols, size_t ncols)
{
	f->table_id = f->next_id++;
	f->table_rows = f->frag_rows = 0;
	if (f->o.shape == KFRAME_V1) {
		putf(f, "%s{\"TableName\":\"Table_%d\",", f->table_id ? "," : "", f->table_id);
	} else {
		putf(f, ",{\"FrameType\":\"%s\",\"TableId\":%d,\"TableKind\":\"%s\",\"TableName\":",
		     fragmented(f) ? "TableHeader" : "DataTable", f->table_id, kind);
		put_cstring(f, name);
		puts_(f, ",");
	}
	put_columns(f, cols, ncols);
	if (fragmented(f))
		puts_(f, "}");
	else
		puts_(f, ",\"Rows\":[");
}

static void fragment_end(struct kframe *f)
{
	if (f->frag_rows > 0)
		puts_(f, "]}");
	f->frag_rows = 0;
}

static void close_table(struct kframe *f)
{
	if (fragmented(f)) {
		fragment_end(f);
		putf(f,
		     ",{\"FrameType\":\"TableCompletion\",\"TableId\":%d,\"RowCount\":%" PRIu64 "}",
		     f->table_id, f->table_rows);
	} else {
		puts_(f, "]}");
	}
}

/* ---- rows ---- */

static void row_start(struct kframe *f)
{
	if (fragmented(f) && f->frag_rows == 0)
		putf(f,
		     ",{\"FrameType\":\"TableFragment\",\"TableFragmentType\":\"DataAppend\","
		     "\"TableId\":%d,\"Rows\":[",
		     f->table_id);
	else if ((fragmented(f) ? f->frag_rows : f->table_rows) > 0)
		put(f, ",", 1);
	put(f, "[", 1);
}

static void row_end(struct kframe *f)
{
	put(f, "]", 1);
	f->table_rows++;
	f->frag_rows++;
	if (fragmented(f) && f->frag_rows == FRAGMENT_ROWS)
		fragment_end(f);
}

/* A row of the tables kframe writes itself: values as text, numbers of
 * int and long columns written as they are. */
static void text_row(struct kframe *f, const struct kframe_column *cols, const char *const *vals,
                     size_t n)
{
	row_start(f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			put(f, ",", 1);
		if (cols[i].type == PROTO_T_INT || cols[i].type == PROTO_T_LONG)
			puts_(f, vals[i]);
		else
			put_cstring(f, vals[i]);
	}
	row_end(f);
}

/* ---- the tables kframe writes itself ---- */

static const struct kframe_column props_cols[] = {
    {"TableId", PROTO_T_INT}, {"Key", PROTO_T_STRING}, {"Value", PROTO_T_DYNAMIC}};
static const struct kframe_column props_cols_v1[] = {{"Value", PROTO_T_STRING}};

static void write_props(struct kframe *f)
{
	char id[24];

	if (f->props_done || f->nprops == 0)
		return;
	f->props_done = true;
	if (f->o.shape == KFRAME_V1) {
		open_table(f, "QueryProperties", "@ExtendedProperties", props_cols_v1, 1);
		for (size_t i = 0; i < f->nprops; i++)
			text_row(f, props_cols_v1, (const char *const[]){f->prop_value[i]}, 1);
	} else {
		open_table(f, "QueryProperties", "@ExtendedProperties", props_cols, 3);
		(void)snprintf(id, sizeof(id), "%d", f->next_id);
		for (size_t i = 0; i < f->nprops; i++)
			text_row(f, props_cols,
			         (const char *const[]){id, f->prop_key[i], f->prop_value[i]}, 3);
	}
	close_table(f);
}

static const struct kframe_column qci_cols[] = {
    {"Timestamp", PROTO_T_DATETIME},    {"ClientRequestId", PROTO_T_STRING},
    {"ActivityId", PROTO_T_GUID},       {"SubActivityId", PROTO_T_GUID},
    {"ParentActivityId", PROTO_T_GUID}, {"Level", PROTO_T_INT},
    {"LevelName", PROTO_T_STRING},      {"StatusCode", PROTO_T_INT},
    {"StatusCodeName", PROTO_T_STRING}, {"EventType", PROTO_T_INT},
    {"EventTypeName", PROTO_T_STRING},  {"Payload", PROTO_T_STRING},
};

static void write_completion_v2(struct kframe *f, const struct kframe_status *st)
{
	char now[TIMEFMT_DATETIME_LEN], payload[1024];
	bool ok = !st || st->code == 0;

	(void)timefmt_format_datetime(timefmt_now(), now);
	if (ok)
		(void)snprintf(payload, sizeof(payload),
		               "{\"Count\":1,\"Text\":\"Query completed "
		               "successfully\"}");
	else
		(void)snprintf(payload, sizeof(payload), "%s", st->message ? st->message : "");
	open_table(f, "QueryCompletionInformation", "QueryCompletionInformation", qci_cols, 12);
	text_row(f, qci_cols,
	         (const char *const[]){now, f->o.client_request_id, f->o.activity_id,
	                               f->o.activity_id, f->o.activity_id, ok ? "4" : "2",
	                               ok ? "Info" : "Error", ok ? "0" : "-2133196797",
	                               ok ? "S_OK (0)" : st->kusto, "4", "QueryInfo", payload},
	         12);
	close_table(f);
}

static void put_oneapi(struct kframe *f, const struct kframe_status *st)
{
	puts_(f, "\"OneApiErrors\":[{\"error\":{\"code\":");
	put_cstring(f, st->kusto);
	puts_(f, ",\"message\":");
	put_cstring(f, st->message);
	puts_(f, ",\"@type\":\"Kusto.Data.Exceptions.KustoServicePartialQueryFailureException\","
	         "\"@message\":");
	put_cstring(f, st->message);
	puts_(f, ",\"@context\":{\"activityId\":");
	put_cstring(f, f->o.activity_id);
	puts_(f, ",\"clientRequestId\":");
	put_cstring(f, f->o.client_request_id);
	puts_(f, "},\"@permanent\":false}}]");
}

static void finish_v2(struct kframe *f, const struct kframe_status *st)
{
	bool ok = !st || st->code == 0;

	write_completion_v2(f, st);
	putf(f, ",{\"FrameType\":\"DataSetCompletion\",\"HasErrors\":%s,\"Cancelled\":%s",
	     ok ? "false" : "true", st && st->cancelled ? "true" : "false");
	if (!ok) {
		put(f, ",", 1);
		put_oneapi(f, st);
	}
	puts_(f, "}]");
}

static const struct kframe_column status_cols[] = {
    {"Timestamp", PROTO_T_DATETIME},       {"Severity", PROTO_T_INT},
    {"SeverityName", PROTO_T_STRING},      {"StatusCode", PROTO_T_INT},
    {"StatusDescription", PROTO_T_STRING}, {"Count", PROTO_T_INT},
    {"RequestId", PROTO_T_GUID},           {"ActivityId", PROTO_T_GUID},
    {"SubActivityId", PROTO_T_GUID},       {"ClientActivityId", PROTO_T_STRING},
};
static const struct kframe_column toc_cols[] = {
    {"Ordinal", PROTO_T_LONG}, {"Kind", PROTO_T_STRING},       {"Name", PROTO_T_STRING},
    {"Id", PROTO_T_STRING},    {"PrettyName", PROTO_T_STRING},
};

static void write_toc(struct kframe *f, int props_id, int status_id)
{
	char ord[24];
	int n = 0;

	open_table(f, "TableOfContents", "TableOfContents", toc_cols, 5);
	for (size_t i = 0; i < f->nresults; i++, n++) {
		(void)snprintf(ord, sizeof(ord), "%d", n);
		text_row(
		    f, toc_cols,
		    (const char *const[]){ord, "QueryResult", f->results[i], f->o.activity_id, ""},
		    5);
	}
	if (props_id >= 0) {
		(void)snprintf(ord, sizeof(ord), "%d", n++);
		text_row(f, toc_cols,
		         (const char *const[]){ord, "QueryProperties", "@ExtendedProperties",
		                               f->o.activity_id, ""},
		         5);
	}
	(void)snprintf(ord, sizeof(ord), "%d", n);
	text_row(f, toc_cols,
	         (const char *const[]){ord, "QueryStatus", "QueryStatus", f->o.activity_id, ""}, 5);
	close_table(f);
	(void)status_id;
}

static void finish_v1(struct kframe *f, const struct kframe_status *st)
{
	char now[TIMEFMT_DATETIME_LEN];
	bool ok = !st || st->code == 0;
	int props_id = f->nprops ? f->next_id : -1, status_id;

	write_props(f);
	status_id = f->next_id;
	(void)timefmt_format_datetime(timefmt_now(), now);
	open_table(f, "QueryStatus", "QueryStatus", status_cols, 10);
	text_row(f, status_cols,
	         (const char *const[]){
	             now, ok ? "4" : "2", ok ? "Info" : "Error", ok ? "0" : "-2133196797",
	             ok ? "Query completed successfully" : st->message, "1", f->o.activity_id,
	             f->o.activity_id, f->o.activity_id, f->o.client_request_id},
	         10);
	close_table(f);
	write_toc(f, props_id, status_id);
	puts_(f, "]}");
}

/* ---- the API ---- */

int kframe_new(const struct kframe_opts *o, kframe_write_fn fn, void *arg, struct kframe **ret)
{
	struct kframe *f = calloc(1, sizeof(*f));

	if (!f || !(f->buf = malloc(KFRAME_CHUNK))) {
		free(f);
		return -ENOMEM;
	}
	f->o = *o;
	if (!f->o.client_request_id)
		f->o.client_request_id = "";
	if (!f->o.activity_id)
		f->o.activity_id = "00000000-0000-0000-0000-000000000000";
	f->fn = fn;
	f->arg = arg;
	*ret = f;
	return 0;
}

void kframe_free(struct kframe *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nprops; i++) {
		free(f->prop_key[i]);
		free(f->prop_value[i]);
	}
	for (size_t i = 0; i < f->nresults; i++)
		free(f->results[i]);
	free(f->buf);
	free(f);
}

int kframe_property(struct kframe *f, const char *key, const char *json_value)
{
	if (f->nprops == MAX_PROPS || f->props_done)
		return -ENOSPC;
	f->prop_key[f->nprops] = strdup(key);
	f->prop_value[f->nprops] = strdup(json_value);
	if (!f->prop_key[f->nprops] || !f->prop_value[f->nprops]) {
		free(f->prop_key[f->nprops]);
		free(f->prop_value[f->nprops]);
		return -ENOMEM;
	}
	f->nprops++;
	return 0;
}

int kframe_table_begin(struct kframe *f, const char *name, const struct kframe_column *cols,
                       size_t ncols)
{
	if (f->in_table || f->nresults == MAX_PROPS)
		return -EINVAL;
	start(f);
	if (f->o.shape != KFRAME_V1)
		write_props(f);
	if (!(f->results[f->nresults] = strdup(name)))
		return -ENOMEM;
	f->nresults++;
	f->cols = cols;
	f->ncols = ncols;
	f->primary = true;
	open_table(f, "PrimaryResult", name, cols, ncols);
	f->in_table = true;
	return f->err;
}

int kframe_row(struct kframe *f, const struct kval *row)
{
	if (!f->in_table)
		return -EINVAL;
	row_start(f);
	for (size_t i = 0; i < f->ncols; i++) {
		if (i)
			put(f, ",", 1);
		put_value(f, f->cols[i].type, &row[i]);
	}
	row_end(f);
	f->rows++;
	return f->err;
}

int kframe_table_end(struct kframe *f)
{
	if (!f->in_table)
		return -EINVAL;
	close_table(f);
	f->in_table = false;
	f->primary = false;
	f->cols = NULL;
	return f->err;
}

int kframe_finish(struct kframe *f, const struct kframe_status *st)
{
	start(f);
	if (f->in_table)
		(void)kframe_table_end(f);
	if (f->o.shape == KFRAME_V1)
		finish_v1(f, st);
	else {
		write_props(f);
		finish_v2(f, st);
	}
	return flush(f);
}

uint64_t kframe_rows(const struct kframe *f)
{
	return f->rows;
}

uint64_t kframe_bytes(const struct kframe *f)
{
	return f->bytes + f->len;
}

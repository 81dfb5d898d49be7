/*
 * kusto_queries — .show queries, .show running queries and .cancel query:
 * the KQL queries the follower runs or ran, as the backend reports them
 * (the daemon keeps them; who sees which is the backend's decision), in the
 * columns of ADX's .show queries (learn.microsoft.com, kusto/management/
 * queries) plus RowCount, the rows of the answer.
 */
#include <errno.h>
#include <string.h>

#include <jansson.h>

#include "kusto/kusto_int.h"

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct kusto_column queries_cols[] = {
    {"ClientActivityId", KUSTO_T_STRING},
    {"Text", KUSTO_T_STRING},
    {"Database", KUSTO_T_STRING},
    {"StartedOn", KUSTO_T_DATETIME},
    {"LastUpdatedOn", KUSTO_T_DATETIME},
    {"Duration", KUSTO_T_TIMESPAN},
    {"State", KUSTO_T_STRING},
    {"RootActivityId", KUSTO_T_GUID},
    {"User", KUSTO_T_STRING},
    {"FailureReason", KUSTO_T_STRING},
    {"Application", KUSTO_T_STRING},
    {"MemoryPeak", KUSTO_T_LONG},
    {"Principal", KUSTO_T_STRING},
    {"ResultSetStatistics", KUSTO_T_DYNAMIC},
    {"RowCount", KUSTO_T_LONG},
};

/* .cancel operation's columns (ADX documents none for .cancel query). */
static const struct kusto_column cancel_cols[] = {
    {"ClientActivityId", KUSTO_T_STRING},
    {"CancellationState", KUSTO_T_STRING},
    {"ReasonPhrase", KUSTO_T_STRING},
};

/* ADX's ResultSetStatistics: {"TableCount":1,"TablesStatistics":[{"RowCount":N}]}. */
static json_t *result_stats(uint64_t rows)
{
	return json_pack("{s:i, s:[{s:I}]}", "TableCount", 1, "TablesStatistics", "RowCount",
	                 (json_int_t)rows);
}

static int query_row(void *ctx, const struct kusto_query *q)
{
	struct kusto_exec *x = ctx;
	json_t *stats = result_stats(q->row_count);

	if (stats == NULL)
		return kusto_exec_oom(x);
	kusto_add_string(x->t, q->client_activity_id);
	kusto_add_string(x->t, q->text);
	kusto_add_string(x->t, q->database);
	kusto_add_datetime(x->t, q->started_on);
	kusto_add_datetime(x->t, q->last_updated_on);
	kusto_add_timespan(x->t, q->duration);
	kusto_add_string(x->t, q->state);
	kusto_add_guid(x->t, q->root_activity_id[0] != '\0' ? q->root_activity_id : NULL);
	kusto_add_string(x->t, q->user);
	kusto_add_string(x->t, q->failure_reason);
	kusto_add_string(x->t, q->application);
	kusto_add_long(x->t, (int64_t)q->memory_peak);
	kusto_add_string(x->t, q->user);
	kusto_add_dynamic(x->t, stats);
	kusto_add_long(x->t, (int64_t)q->row_count);
	return kusto_exec_row_end(x);
}

int kusto_exec_show_queries(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	const struct kusto_cmd *c = x->cmd;
	int r = kusto_exec_table(x, queries_cols, NCOLS(queries_cols));

	if (r == 0 && be->queries != NULL)
		r = kusto_exec_backend(
		    x, be->queries(be->arg, c->running, c->user, query_row, x, x->berr), "");
	return r;
}

static int cancel_row(void *ctx, const struct kusto_cancel *c)
{
	struct kusto_exec *x = ctx;

	kusto_add_string(x->t, c->client_activity_id);
	kusto_add_string(x->t, c->state);
	kusto_add_string(x->t, c->reason);
	return kusto_exec_row_end(x);
}

int kusto_exec_cancel_query(struct kusto_exec *x)
{
	const struct kusto_backend *be = x->be;
	const struct kusto_cmd *c = x->cmd;
	int r = kusto_exec_table(x, cancel_cols, NCOLS(cancel_cols));

	if (r < 0)
		return r;
	r = be->cancel_query != NULL
	        ? be->cancel_query(be->arg, c->query_id, c->reason, cancel_row, x, x->berr)
	        : -ENOENT;
	if (r == -ENOENT && x->failed == 0)
		return kusto_fail(x->err, KUSTO_E_NOT_FOUND, r,
		                  "No query with ClientActivityId '%s' is running or ran recently "
		                  "on this follower (see .show queries)",
		                  c->query_id);
	return kusto_exec_backend(x, r, "");
}

/*
 * mgmt_queries — .show queries and .cancel query over the query context's
 * log (query.h), for one caller: its own queries, and every query of a
 * database it administers (admins; monitors see them too, as in ADX; the
 * superuser sees all).  Only an admin or the query's own principal may
 * cancel it.  A query waiting at the front door for a
 * max_concurrent_queries slot is listed Queued (with the running ones by
 * .show running queries) and can be cancelled too.
 */
#include "mgmt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "query.h"
#include "util/timefmt.h"

/* The followed database name as the caller's snapshot has it; NULL when
 * unknown (listed once per command). */
static const struct views_db *listed(struct mgmt_be *b, const char *name)
{
	char err[KUSTO_ERRLEN];

	if (!b->listed && b->v.store != NULL && views_db_list(&b->v, &b->dbs, &b->ndbs, err) < 0) {
		b->dbs = NULL;
		b->ndbs = 0;
	}
	b->listed = true;
	for (size_t i = 0; i < b->ndbs; i++)
		if (strcmp(b->dbs[i].info.local_name, name) == 0)
			return &b->dbs[i];
	return NULL;
}

/* Whether b's caller holds one of roles on the database of qi. */
static bool has_role(struct mgmt_be *b, const struct query_info *qi, unsigned roles)
{
	const struct views_db *d;

	if (b->who->superuser)
		return true;
	if (b->who->fqn[0] == '\0' || (d = listed(b, qi->db)) == NULL)
		return false;
	return (auth_roles(&d->effective, b->who->fqn) & roles) != 0;
}

static bool own(const struct mgmt_be *b, const struct query_info *qi)
{
	return strcasecmp(qi->user, b->who->fqn) == 0;
}

static bool may_see(struct mgmt_be *b, const struct query_info *qi)
{
	return own(b, qi) ||
	       has_role(b, qi, AUTH_ROLE(PROTO_ROLE_ADMINS) | AUTH_ROLE(PROTO_ROLE_MONITORS));
}

static bool outstanding(const struct query_info *qi)
{
	return qi->state == QUERY_IN_PROGRESS || qi->state == QUERY_QUEUED;
}

static int emit_info(const struct query_info *qi, int64_t now, kusto_query_fn *emit, void *ctx)
{
	int64_t end = qi->ended != 0 ? qi->ended : now;
	struct kusto_query k = {.client_activity_id = qi->request_id,
	                        .text = qi->text,
	                        .database = qi->db,
	                        .started_on = qi->started,
	                        .last_updated_on = end,
	                        .duration = end - qi->started,
	                        .state = query_state_name(qi->state),
	                        .root_activity_id = qi->activity_id,
	                        .user = qi->user,
	                        .failure_reason = qi->reason,
	                        .application = qi->app,
	                        .memory_peak = qi->mem_peak,
	                        .row_count = qi->rows};

	return emit(ctx, &k);
}

static int be_queries(void *arg, bool running, const char *user, kusto_query_fn *emit, void *ctx,
                      char *err)
{
	struct mgmt_be *b = arg;
	struct query_info *v = NULL;
	size_t n = 0;
	int64_t now = timefmt_now();
	int r = 0;

	if (b->query == NULL)
		return 0;
	if (query_list(b->query, &v, &n) < 0) {
		(void)snprintf(err, KUSTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; r == 0 && i < n; i++)
		if ((!running || outstanding(&v[i])) &&
		    (user == NULL || strcasecmp(v[i].user, user) == 0) && may_see(b, &v[i]))
			r = emit_info(&v[i], now, emit, ctx);
	query_list_free(v, n);
	return r;
}

/* The newest query of request id that the caller may see; NULL if none. */
static const struct query_info *find(struct mgmt_be *b, const struct query_info *v, size_t n,
                                     const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].request_id, id) == 0 && may_see(b, &v[i]))
			return &v[i];
	return NULL;
}

/* Cancels qi (running, the caller allowed) and says what happened. */
static int cancel_one(struct mgmt_be *b, const struct query_info *qi, const char *reason,
                      kusto_cancel_fn *emit, void *ctx)
{
	const char *by = b->who->fqn[0] != '\0' ? b->who->fqn : "an anonymous caller";
	struct kusto_cancel c = {qi->request_id, "Cancelled successfully", reason};
	char why[256], state[128];

	(void)snprintf(why, sizeof(why), "cancelled by %.120s with .cancel query%s%.100s", by,
	               reason[0] != '\0' ? ": " : "", reason);
	if (!outstanding(qi) || query_cancel(b->query, qi->request_id, why) < 0) {
		(void)snprintf(state, sizeof(state), "the query is no longer running (%s)",
		               query_state_name(outstanding(qi) ? QUERY_COMPLETED : qi->state));
		c = (struct kusto_cancel){qi->request_id, "Cancel failed", state};
	} else {
		log_info("query %s cancelled by %s", qi->request_id, by);
	}
	return emit(ctx, &c);
}

static int be_cancel_query(void *arg, const char *id, const char *reason, kusto_cancel_fn *emit,
                           void *ctx, char *err)
{
	struct mgmt_be *b = arg;
	struct query_info *v = NULL;
	const struct query_info *qi;
	size_t n = 0;
	int r;

	if (b->query == NULL)
		return -ENOENT;
	if (query_list(b->query, &v, &n) < 0) {
		(void)snprintf(err, KUSTO_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	if ((qi = find(b, v, n, id)) == NULL) {
		r = -ENOENT;
	} else if (!own(b, qi) && !has_role(b, qi, AUTH_ROLE(PROTO_ROLE_ADMINS))) {
		(void)snprintf(err, KUSTO_ERRLEN,
		               "%.160s may not cancel query '%.100s': only its principal or an "
		               "admin of database '%.100s' may",
		               b->who->fqn[0] != '\0' ? b->who->fqn : "an anonymous caller", id,
		               qi->db);
		r = -EACCES;
	} else {
		r = cancel_one(b, qi, reason, emit, ctx);
	}
	query_list_free(v, n);
	return r;
}

void mgmt_be_queries_init(struct kusto_backend *be)
{
	be->queries = be_queries;
	be->cancel_query = be_cancel_query;
}

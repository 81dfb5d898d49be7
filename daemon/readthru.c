/*
 * readthru — the read-through hook (see readthru.h).
 *
 * Serve once verified: the client waits while the artifact is downloaded
 * into the cache and checked (size and sha256), and gets the committed
 * file, never bytes on their way.  A client that goes away only leaves the
 * download's waiters; the download goes on (others may wait, and the cache
 * keeps it).
 */
#include "readthru.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "cache/warm.h"

/* One waiting request. */
struct rt_req {
	struct http_wait *wait;
	struct warm_demand *dem;
};

static void rt_gone(void *arg)
{
	struct rt_req *q = arg;

	warm_demand_cancel(q->dem);
	free(q);
}

/* The status and code of a failed demand. */
static int status_of(const struct warm_demand_result *res, const char **ret_code)
{
	int r = res->result;

	if (r == -ENOENT && !res->cache) {
		*ret_code = "NotFound";
		return 404;
	}
	if (r == -ENOSPC || r == -EDQUOT) {
		*ret_code = "InsufficientStorage";
		return 507;
	}
	if (res->cache || r == -EBUSY || r == -ENOMEM) {
		*ret_code = "CacheUnavailable";
		return 503;
	}
	if (r == -ETIMEDOUT) {
		*ret_code = "GatewayTimeout";
		return 504;
	}
	*ret_code = "BadGateway"; /* digest, size, redirect, the leader's errors */
	return 502;
}

static void rt_done(void *arg, const struct warm_demand_result *res)
{
	struct rt_req *q = arg;
	const char *code;
	int status;

	if (res->result == 0) {
		http_wait_serve(q->wait, res->fd);
	} else {
		status = status_of(res, &code);
		if (status != 404)
			log_warning("read-through: %s", res->error);
		http_wait_error(q->wait, status, code, res->error);
	}
	free(q);
}

int readthru_miss(struct warm *w, const struct http_miss *m)
{
	struct rt_req *q;
	char msg[256];
	int r;

	if (w == NULL)
		return 0;
	if (m->state == STORE_BLOB_QUARANTINED) {
		(void)snprintf(msg, sizeof(msg),
		               "artifact %s failed verification and is quarantined: never served",
		               m->sha256);
		http_wait_error(m->wait, 502, "BadGateway", msg);
		return 1;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -ENOMEM;
	q->wait = m->wait;
	r = warm_demand(w, m->sha256, m->database, rt_done, q, &q->dem);
	if (r < 0) {
		free(q);
		return r;
	}
	http_wait_on_gone(m->wait, rt_gone, q);
	return 1;
}

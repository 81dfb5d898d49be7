/*
 * mgmt — the Kusto management surface (POST /v1/rest/mgmt) and the admin
 * surface of attached database configurations (/v1/admin/attachments) of
 * the running daemon, over the store, the configuration and lib/overlay.
 *
 * Configurations: the daemon parses followerd.conf (the "file"
 * configuration); mgmt keeps the admin's run-time changes (lib/overlay,
 * persisted in the state store's overlay table) and composes the
 * "effective" configuration that sync, the cache warmer, http and the Kusto
 * surface use.  A run-time change (a Kusto control command, a PUT or DELETE
 * of an attachment) is applied at once through the same path as SIGHUP
 * (mgmt_events.apply), then persisted by the worker thread; the request is
 * answered once it is persisted (or the change undone when it cannot be).
 *
 * Threads: read commands (.show ...) run kusto_mgmt on one worker thread
 * with its own read-only store handle and a reference to the effective
 * configuration of their arrival, so a big answer (100,000 extents) never
 * stalls the loop; the answer is handed back through an eventfd and sent
 * from the loop.  Control commands are small: they run on the loop over the
 * request's snapshot, because they change the configuration the loop owns.
 *
 * Authorization: every command needs the caller to see the database
 * (metadata: any role of its effective principals; the superuser sees
 * everything); control commands need the admins role (403 otherwise);
 * /v1/admin/attachments needs the superuser or an admin of every followed
 * database (http decides, as for /v1/admin/sync).
 */
#ifndef FOLLOWERD_MGMT_H
#define FOLLOWERD_MGMT_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/http.h>

#include "conf/conf.h"
#include "http.h"

#define MGMT_QUEUE_MAX 64                       /* jobs waiting for the worker (503 past it) */
#define MGMT_MAX_ATTACH_BODY ((size_t)64 << 10) /* bytes of a PUT attachment body */

struct event_base;
struct mgmt;
struct query;

struct mgmt_events {
	void *arg;
	/* Switches the daemon to the effective configuration eff (borrowed
	 * until the next successful apply; mgmt keeps it alive) the way SIGHUP
	 * does: http and the engine.  0, or a negative errno with err filled
	 * (the daemon then still runs the previous one). */
	int (*apply)(void *arg, const struct conf *eff, char *err, size_t errlen);
};

/* Loads the overlay from the store at store_path (opened read-write,
 * created when absent: this blocks, call it before the loop runs).  ev is
 * copied.  0, or a negative errno with err filled. */
int mgmt_new(struct event_base *base, const char *store_path, const struct mgmt_events *ev,
             struct mgmt **ret, char *err, size_t errlen);

/* Stops the worker and answers every request still waiting (503): call it
 * before http_free.  NULL is a no-op. */
void mgmt_stop(struct mgmt *m);

/* Stops (if not yet) and frees, with the effective configuration: after
 * the engine and http are gone.  NULL is a no-op. */
void mgmt_free(struct mgmt *m);

/* The effective configuration of file (borrowed) and the overlay: a new one
 * (*ret, hand it to mgmt_set_conf or conf_free).  Entries that no longer
 * apply are logged and skipped. */
int mgmt_compose(struct mgmt *m, const struct conf *file, struct conf **ret, char *err,
                 size_t errlen);

/* Installs file (borrowed until the next call or mgmt_free) and eff
 * (stolen; freed when no job needs it any more) as current. */
void mgmt_set_conf(struct mgmt *m, const struct conf *file, struct conf *eff);

/* The query context whose running and recent queries .show queries and
 * .cancel query see (borrowed until mgmt_stop; NULL: none).  Call it before
 * requests arrive. */
void mgmt_set_query(struct mgmt *m, struct query *q);

/* The current effective configuration (borrowed). */
const struct conf *mgmt_conf(const struct mgmt *m);

/* http hooks (arg: the struct mgmt). */
void mgmt_on_mgmt(void *arg, struct evhttp_request *req, const struct http_kusto_call *call);
void mgmt_on_attachments(void *arg, struct evhttp_request *req, const struct http_admin_call *call);

#endif

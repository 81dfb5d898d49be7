/*
 * mgmt_int — what the files of mgmt share (not for callers).
 *
 * mgmt.c: life, the worker thread and its jobs, the Kusto hook;
 * mgmt_backend.c: struct kusto_backend over the store and the effective
 * configuration; mgmt_admin.c: run-time changes (prepare, apply, persist,
 * answer) and the /v1/admin/attachments hook.
 */
#ifndef FOLLOWERD_MGMT_INT_H
#define FOLLOWERD_MGMT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "policy/auth.h"
#include "conf/conf.h"
#include "kusto/kusto.h"
#include "mgmt.h"
#include "conf/overlay.h"
#include "views/views.h"

#define MGMT_ERRLEN 512
#define MGMT_PERSIST_TRIES 100 /* x MGMT_PERSIST_WAIT_MS against a busy store */
#define MGMT_PERSIST_WAIT_MS 50

/* An effective configuration and the jobs still reading it. */
struct mconf {
	struct conf *conf;
	unsigned refs; /* the current one holds one; touched on the loop only */
};

enum job_kind {
	JOB_SHOW,    /* kusto_mgmt on the worker */
	JOB_PERSIST, /* write one overlay entry, then answer a change */
};

struct mgmt_change;

struct job {
	struct job *next;
	enum job_kind kind;
	struct evhttp_request *req;
	/* JOB_SHOW */
	struct mconf *mc;
	struct auth_principal who;
	bool allow_anonymous;
	char *body;
	size_t len;
	/* JOB_PERSIST */
	struct mgmt_change *change;
	bool kusto;  /* errors in Kusto's shape */
	int persist; /* the store's answer */
	char err[MGMT_ERRLEN];
	/* the answer */
	int status;
	char *out;
};

struct mgmt {
	struct event_base *base;
	char *store_path;
	struct mgmt_events ev;
	struct overlay *overlay;
	const struct conf *file;
	struct mconf *cur;
	/* the worker */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue, **queue_tail; /* jobs for the worker, FIFO */
	size_t nqueued;
	struct job *done, **done_tail;
	bool quit;
	int efd;
	struct event *efd_ev;
	struct store *ro;    /* worker only */
	struct store *rw;    /* worker only */
	struct query *query; /* the query log (borrowed; NULL: none) */
	/* FOLLOWERD_TEST_QUERY_DELAY_MS: each read command takes this much
	 * longer on the worker — how the tests make a query slow (there is no
	 * long-running command yet); 0 in production. */
	long test_delay_ms;
};

/* A change of one overlay entry, composed but not applied yet. */
struct mgmt_change {
	char *name;
	char *old_text; /* the entry before; NULL: none */
	char *new_text; /* NULL: no entry */
	struct overlay *overlay;
	struct conf *eff;
};

/* ---- mgmt.c ---- */
/* Queues j for the worker; -EAGAIN when the queue is full. */
int mgmt_submit(struct mgmt *m, struct job *j);
void mgmt_job_free(struct job *j);
/* Replies body (stolen; NULL: an empty object) as JSON. */
void mgmt_reply(struct evhttp_request *req, int status, char *body);
void mgmt_conf_unref(struct mgmt *m, struct mconf *mc);

/* ---- mgmt_backend.c ---- */
/* The backend's state: a read-only store handle (NULL: nothing is
 * followed yet) and a configuration, for one caller. */
struct mgmt_be {
	struct views_ctx v;
	const struct auth_principal *who;
	bool allow_anonymous;
	struct views_db *dbs; /* .show databases: every one, loaded once */
	size_t ndbs;
	bool listed;
	struct views_db one; /* the last database found by name */
	bool have_one;
	struct mgmt *m;              /* control commands: NULL refuses them */
	struct mgmt_change *change;  /* what set_follower prepared */
	struct conf_attach *changed; /* borrowed from change->eff */
	struct query *query;         /* the query log (NULL: none, e.g. --once) */
};

void mgmt_be_init(struct mgmt_be *b, struct kusto_backend *ret);
void mgmt_be_clear(struct mgmt_be *b);
/* The database shown as name that b's caller may see into *ret (borrowed
 * from b until the next call); -ENOENT. */
int mgmt_be_find(struct mgmt_be *b, const char *name, const struct views_db **ret, char *err);
bool mgmt_be_may(const struct mgmt_be *b, const struct views_db *d, enum auth_request req);

/* ---- mgmt_queries.c ---- */
/* Sets be's .show queries and .cancel query (over b->query). */
void mgmt_be_queries_init(struct kusto_backend *be);

/* ---- mgmt_admin.c ---- */
/* Composes the overlay with name's entry set to new_text (borrowed; NULL:
 * none) into *ret.  -EINVAL / -EEXIST / -ENOMEM with err naming why. */
int mgmt_change_prepare(struct mgmt *m, const char *name, const char *new_text,
                        struct mgmt_change **ret, char *err, size_t errlen);
void mgmt_change_free(struct mgmt_change *c);
/* Applies c (stolen) and queues its persisting; req is then answered with
 * status and body (stolen) once persisted, or an error.  kusto: errors in
 * Kusto's shape. */
void mgmt_change_commit(struct mgmt *m, struct mgmt_change *c, struct evhttp_request *req,
                        bool kusto, int status, char *body);
/* The worker's part of a JOB_PERSIST, and the loop's after it. */
void mgmt_persist_run(struct mgmt *m, struct job *j);
void mgmt_persist_done(struct mgmt *m, struct job *j);
/* The follower's settings f applied to a (borrowed) as a new attach. */
int mgmt_attach_with(const struct conf_attach *a, const struct kusto_follower *f,
                     struct conf_attach **ret);

#endif

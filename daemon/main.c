/*
 * followerd — follows leader databases into a local store and serves
 * read-only views of them.
 *
 * This file is the process shell: arguments, the configuration's load and
 * reload, the one event loop, signals, sd_notify and exit codes.  The work
 * itself is done by the sync engine behind daemon/engine.h.
 *
 * Lifecycle: load the configuration (exit 1 with file:line when it is bad),
 * start the engine, bind the HTTP listeners (daemon/http.h; not with
 * --once), READY=1 when the engine says it serves.  SIGHUP parses
 * the file into a new configuration and swaps it in only when both the
 * parser and the engine accept it.  SIGTERM/SIGINT stop the engine
 * gracefully; a deadline forces the exit if that hangs.
 *
 * Exit codes: 0 success, 1 failure (bad configuration, start failure, a
 * failed --once, a stop that missed its deadline), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf/conf.h"
#include "engine.h"
#include "http.h"
#include "log.h"
#include "mgmt.h"
#include "notify.h"
#include "query.h"
#include "readthru.h"
#include "signals.h"
#include "util/fsutil.h"
#include "util/version.h"

#define DEFAULT_CONFIG "/etc/followerd/followerd.conf"
#define EXIT_USAGE 2
#define STOP_DEADLINE_SEC 5 /* graceful stop budget; then exit 1 */
#define ERR_MAX 1024
#define STATUS_MAX 256
#define STORE_FILE "state.db" /* in state_dir: the sync engine's store (engine_sync.c) */

/* ---- the configuration (lib/conf) ---- */

/* The file's log_level as a syslog priority. */
static int conf_prio(enum conf_log_level level)
{
	switch (level) {
	case CONF_LOG_ERROR:
		return LOG_ERR;
	case CONF_LOG_WARNING:
		return LOG_WARNING;
	case CONF_LOG_NOTICE:
		return LOG_NOTICE;
	case CONF_LOG_DEBUG:
		return LOG_DEBUG;
	default:
		return LOG_INFO;
	}
}

/* Warns about what the parser noticed and left to the caller. */
static void config_warn(const struct conf *c)
{
	size_t i;

	for (i = 0; i < c->nattach; i++) {
		if (c->attach[i]->secret_too_open)
			log_warning(
			    "attach %s: its credentials file is readable by group or others; "
			    "make it mode 0600",
			    c->attach[i]->name);
	}
}

/* Parses path into a new configuration (*ret, free with conf_free) and logs
 * its warnings; on failure err holds "FILE:LINE: what" and *ret is
 * untouched. */
static int config_load(const char *path, struct conf **ret, char *err, size_t errlen)
{
	int r = conf_load(path, 0, ret, err, errlen);

	if (r == 0)
		config_warn(*ret);
	return r;
}

/* Appends "; <what>a, b" to buf when list is not empty ("<what>a, b" when
 * buf is empty). */
static void diff_append(char *buf, size_t size, const char *what, const struct conf_list *list)
{
	size_t i, len;

	for (i = 0; i < list->n; i++) {
		len = strlen(buf);
		if (i == 0)
			snprintf(buf + len, size - len, "%s%s%s", len ? "; " : "", what,
			         list->items[i]);
		else
			snprintf(buf + len, size - len, ", %s", list->items[i]);
	}
}

/* One line saying what changed from old to next ("no changes" when nothing). */
static void config_diff_text(const struct conf *old, const struct conf *next, char *buf,
                             size_t size)
{
	struct conf_diff d;

	buf[0] = '\0';
	if (conf_diff(old, next, &d) < 0) {
		snprintf(buf, size, "changes unknown: out of memory");
		return;
	}
	diff_append(buf, size, "added ", &d.added);
	diff_append(buf, size, "removed ", &d.removed);
	diff_append(buf, size, "changed ", &d.changed);
	diff_append(buf, size, "[daemon] ", &d.daemon);
	if (buf[0] == '\0')
		snprintf(buf, size, "no changes");
	conf_diff_clear(&d);
}

/* ---- options ---- */

struct options {
	const char *config;
	bool check;      /* -n */
	bool once;       /* --once */
	bool foreground; /* -d */
	int level;
	bool level_set; /* -v or --log-level: wins over the file's log_level */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: followerd [-c FILE] [-n] [--once] [-d] [-v | --log-level LEVEL]\n"
	             "                 [--help] [--version]\n"
	             "  -c, --config FILE     configuration file (default " DEFAULT_CONFIG ")\n"
	             "  -n, --check           check the configuration and exit (0 good, 1 bad)\n"
	             "      --once            sync every configured database once and exit\n"
	             "  -d, --foreground      log to stderr with timestamps (debugging)\n"
	             "  -v, --verbose         log debug messages too\n"
	             "      --log-level LEVEL err, warning, notice, info (default) or debug\n"
	             "  -h, --help            print this help and exit\n"
	             "      --version         print the version and exit\n");
}

enum { OPT_ONCE = 256, OPT_LOG_LEVEL, OPT_VERSION };

static const struct option long_options[] = {
    {"config", required_argument, NULL, 'c'},
    {"check", no_argument, NULL, 'n'},
    {"once", no_argument, NULL, OPT_ONCE},
    {"foreground", no_argument, NULL, 'd'},
    {"verbose", no_argument, NULL, 'v'},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, or the exit code to leave with now. */
static int parse_option(int c, struct options *o)
{
	switch (c) {
	case 'c':
		o->config = optarg;
		return -1;
	case 'n':
		o->check = true;
		return -1;
	case OPT_ONCE:
		o->once = true;
		return -1;
	case 'd':
		o->foreground = true;
		return -1;
	case 'v':
		o->level = LOG_DEBUG;
		o->level_set = true;
		return -1;
	case OPT_LOG_LEVEL:
		o->level_set = true;
		if (logfmt_level_parse(optarg, &o->level) == 0)
			return -1;
		fprintf(stderr, "followerd: unknown log level '%s'\n", optarg);
		return EXIT_USAGE;
	case 'h':
		usage(stdout);
		return EXIT_SUCCESS;
	case OPT_VERSION:
		printf("followerd %s\n", FOLLOWERD_VERSION);
		return EXIT_SUCCESS;
	default:
		usage(stderr);
		return EXIT_USAGE;
	}
}

static int parse_args(int argc, char **argv, struct options *o)
{
	int c, r;

	o->config = DEFAULT_CONFIG;
	o->level = LOG_INFO;
	while ((c = getopt_long(argc, argv, "c:ndvh", long_options, NULL)) != -1) {
		r = parse_option(c, o);
		if (r >= 0)
			return r;
	}
	if (optind < argc) {
		fprintf(stderr, "followerd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return -1;
}

/* -n: check the configuration, print the verdict, exit 0 or 1. */
static int check_config(const char *path)
{
	char err[ERR_MAX], line[ERR_MAX];
	struct conf *conf = NULL;

	if (config_load(path, &conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "followerd: %s\n", logfmt_scrub(err, line, sizeof(line)));
		return EXIT_FAILURE;
	}
	conf_free(conf);
	fprintf(stderr, "followerd: %s: configuration OK\n",
	        logfmt_scrub(path, line, sizeof(line)));
	return EXIT_SUCCESS;
}

/* ---- the running daemon ---- */

struct daemon {
	const char *config_path;
	struct conf *conf; /* the file's; the effective one (with the admin's
	                      run-time changes) is mgmt_conf(mgmt) */
	struct mgmt *mgmt;
	struct event_base *base;
	struct notify *notify;
	struct signals *signals;
	struct log_memo *memo;
	struct event *deadline;
	const struct engine_ops *engine_ops;
	void *engine;
	struct http *http;   /* NULL with --once */
	struct query *query; /* KQL queries; NULL with --once */
	enum engine_mode mode;
	bool level_set; /* the command line chose the log level */
	bool ready;
	bool stopping;
	int exit_code;
	char status[STATUS_MAX]; /* the engine's last status line */
};

static void on_engine_ready(void *arg)
{
	struct daemon *d = arg;

	if (d->ready || d->stopping)
		return;
	d->ready = true;
	notify_ready(d->notify, d->status[0] ? d->status : "running");
	log_info("ready (engine: %s)", d->engine_ops->name);
}

static void on_engine_status(void *arg, const char *line)
{
	struct daemon *d = arg;

	snprintf(d->status, sizeof(d->status), "%s", line);
	log_debug("status: %s", d->status);
	if (!d->stopping)
		notify_status(d->notify, "%s", d->status);
}

static void on_engine_report(void *arg, const struct engine_report *r)
{
	struct daemon *d = arg;

	engine_report_log(d->memo, r);
}

static void on_engine_done(void *arg, int status, const char *err)
{
	struct daemon *d = arg;

	if (status < 0) {
		log_err("sync engine failed: %s", err ? err : strerror(-status));
		d->exit_code = EXIT_FAILURE;
	} else if (!d->stopping && d->mode == ENGINE_RUN) {
		log_err("sync engine ended on its own");
		d->exit_code = EXIT_FAILURE;
	} else {
		d->exit_code = EXIT_SUCCESS;
	}
	(void)event_base_loopexit(d->base, NULL);
}

/* Takes the file's log_level unless the command line chose one. */
static void apply_log_level(const struct daemon *d)
{
	if (!d->level_set)
		log_set_level(conf_prio(d->conf->log_level));
}

/* Switches http and the engine to the effective configuration eff
 * (borrowed: mgmt owns it); 0, or a negative errno with err filled and
 * everything as it was. */
static struct warm *on_warm(void *arg);

static int apply_conf(void *arg, const struct conf *eff, char *err, size_t errlen)
{
	struct daemon *d = arg;
	struct http_reload *hr = NULL;
	int r = 0;

	if (d->http != NULL)
		r = http_reload_prepare(d->http, eff, &hr, err, errlen);
	if (r == 0)
		r = d->engine_ops->reload(d->engine, eff, err, errlen);
	if (r < 0) {
		http_reload_abort(hr);
		return r;
	}
	if (d->http != NULL)
		http_reload_commit(d->http, hr, eff);
	query_set_conf(d->query, on_warm(d), eff);
	query_set_max_memory(d->query, eff->query_max_memory);
	return 0;
}

/* Swaps in a new configuration when the parser and the engine accept it
 * (composed with the admin's run-time changes); 0 with what changed in
 * changes, or a negative errno with err filled (the old one stays). */
static int reload_config(struct daemon *d, char *changes, char *err, size_t errlen)
{
	struct conf *conf = NULL, *eff = NULL;
	int r;

	r = config_load(d->config_path, &conf, err, errlen);
	if (r == 0)
		r = mgmt_compose(d->mgmt, conf, &eff, err, errlen);
	if (r == 0)
		r = apply_conf(d, eff, err, errlen);
	if (r < 0) {
		conf_free(eff);
		conf_free(conf);
		return r;
	}
	mgmt_set_conf(d->mgmt, conf, eff);
	config_diff_text(d->conf, conf, changes, errlen);
	conf_free(d->conf);
	d->conf = conf;
	apply_log_level(d);
	return 0;
}

static void on_reload(void *arg)
{
	struct daemon *d = arg;
	char err[ERR_MAX], changes[ERR_MAX], status[ERR_MAX + 64];
	bool announce = d->ready && !d->stopping;

	if (d->stopping)
		return;
	log_debug("SIGHUP: reloading %s", d->config_path);
	if (announce)
		notify_reloading(d->notify, "reloading configuration");
	if (reload_config(d, changes, err, sizeof(err)) < 0) {
		log_struct(LOG_ERR, MSGID_CONFIG_REJECTED,
		           LOG_FIELDS(LF_CONFIG_FILE(d->config_path)),
		           "configuration rejected, keeping the previous one: %s", err);
		snprintf(status, sizeof(status), "configuration rejected, previous one kept: %s",
		         err);
	} else {
		log_struct(LOG_NOTICE, MSGID_CONFIG_RELOADED,
		           LOG_FIELDS(LF_CONFIG_FILE(d->config_path)),
		           "configuration reloaded from %s: %s", d->config_path, changes);
		snprintf(status, sizeof(status), "%s", d->status[0] ? d->status : "running");
	}
	if (announce)
		notify_ready(d->notify, status);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	log_err("stop did not finish within %d s; exiting anyway", STOP_DEADLINE_SEC);
	_exit(EXIT_FAILURE);
}

static void on_stop(void *arg, int signo)
{
	struct daemon *d = arg;
	struct timeval tv = {STOP_DEADLINE_SEC, 0};

	if (d->stopping) {
		log_notice("SIG%s again: already stopping", sigabbrev_np(signo));
		return;
	}
	d->stopping = true;
	log_notice("SIG%s: stopping", sigabbrev_np(signo));
	notify_stopping(d->notify, "stopping");
	if (evtimer_add(d->deadline, &tv) < 0)
		log_warning("cannot arm the stop deadline; relying on the alarm");
	/* Backstop for a loop that no longer turns: SIGALRM's default action. */
	(void)alarm(STOP_DEADLINE_SEC + 2);
	http_stop(d->http);
	d->engine_ops->stop(d->engine);
}

/* The one event loop.  epoll's change list batches the enable/disable
 * pairs bufferevents make on every HTTP response into fewer epoll_ctl calls
 * (64 KiB artifact GETs: ~+20% on the loopback).  It is unsafe only with
 * dup()ed descriptors, which nothing on the loop uses. */
static struct event_base *loop_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base = NULL;

	if (cfg == NULL)
		return NULL;
	if (event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST) == 0)
		base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* Creates the loop and everything on it; 0 or a negative errno (logged). */
static int daemon_setup(struct daemon *d)
{
	const struct signals_handlers handlers = {on_reload, on_stop, d};
	int r;

	d->base = loop_new();
	d->memo = log_memo_new();
	if (d->base == NULL || d->memo == NULL ||
	    (d->deadline = evtimer_new(d->base, on_deadline, d)) == NULL) {
		log_err("cannot set up the event loop: out of memory");
		return -ENOMEM;
	}
	r = notify_new(d->base, &d->notify);
	if (r < 0) {
		log_err("cannot set up sd_notify: %s", strerror(-r));
		return r;
	}
	r = signals_new(d->base, &handlers, &d->signals);
	if (r < 0)
		log_err("cannot handle signals: %s", strerror(-r));
	return r;
}

/* POST /v1/admin/sync: the engine polls now. */
static int on_sync_now(void *arg)
{
	struct daemon *d = arg;

	if (d->engine_ops->poll_now == NULL || d->engine == NULL)
		return -EOPNOTSUPP;
	return d->engine_ops->poll_now(d->engine);
}

static void on_mgmt(void *arg, struct evhttp_request *req, const struct http_kusto_call *call)
{
	struct daemon *d = arg;

	mgmt_on_mgmt(d->mgmt, req, call);
}

static void on_query(void *arg, const struct http_kusto_call *call)
{
	struct daemon *d = arg;

	query_request(d->query, call);
}

static bool on_query_counts(void *arg, uint64_t *running, uint64_t *queued, uint64_t *finished)
{
	struct daemon *d = arg;

	if (d->query == NULL)
		return false;
	query_counts(d->query, running, queued, finished);
	return true;
}

static void on_throttled(void *arg, struct evhttp_request *req, const struct auth_principal *who)
{
	struct daemon *d = arg;

	query_throttled(d->query, req, who);
}

static void *on_queued(void *arg, struct evhttp_request *req, const struct auth_principal *who,
                       void (*cancel)(void *cancel_arg, const char *why), void *cancel_arg)
{
	struct daemon *d = arg;

	return query_wait_start(d->query, req, who, cancel, cancel_arg);
}

static bool on_unqueued(void *arg, void *token, const char *gone_reason, char *why, size_t len)
{
	return query_wait_end(token, gone_reason, why, len);
}

static void on_attachments(void *arg, struct evhttp_request *req,
                           const struct http_admin_call *call)
{
	struct daemon *d = arg;

	mgmt_on_attachments(d->mgmt, req, call);
}

static struct qsync *on_qsync(void *arg)
{
	struct daemon *d = arg;

	if (d->engine_ops->qsync == NULL || d->engine == NULL)
		return NULL;
	return d->engine_ops->qsync(d->engine);
}

static struct warm *on_warm(void *arg)
{
	struct daemon *d = arg;

	if (d->engine_ops->warm == NULL || d->engine == NULL)
		return NULL;
	return d->engine_ops->warm(d->engine);
}

static struct sync *on_sync(void *arg)
{
	struct daemon *d = arg;

	if (d->engine_ops->sync == NULL || d->engine == NULL)
		return NULL;
	return d->engine_ops->sync(d->engine);
}

static void on_query_totals(void *arg, struct http_query_totals *ret)
{
	struct daemon *d = arg;

	if (d->query != NULL)
		query_totals(d->query, ret);
}

static int on_miss(void *arg, struct evhttp_request *req, const struct http_miss *m)
{
	(void)req;
	return readthru_miss(on_warm(arg), m);
}

/* Binds the HTTP listeners (before READY=1, which the engine triggers from
 * the loop); the views read the engine's store through their own handle. */
static int http_start(struct daemon *d)
{
	char err[ERR_MAX], path[4096];
	struct http_options opt = {.store_path = path,
	                           .hooks = {.arg = d,
	                                     .sync_now = on_sync_now,
	                                     .mgmt = on_mgmt,
	                                     .attachments = on_attachments,
	                                     .warm = on_warm,
	                                     .qsync = on_qsync,
	                                     .query = on_query,
	                                     .throttled = on_throttled,
	                                     .queued = on_queued,
	                                     .unqueued = on_unqueued,
	                                     .query_counts = on_query_counts,
	                                     .sync = on_sync,
	                                     .miss = on_miss,
	                                     .query_totals = on_query_totals}};
	int r;

	notify_status(d->notify, "starting: binding the HTTP listeners");
	(void)snprintf(path, sizeof(path), "%s/%s", d->conf->state_dir, STORE_FILE);
	r = http_new(d->base, mgmt_conf(d->mgmt), &opt, &d->http, err, sizeof(err));
	if (r < 0)
		log_err("cannot serve HTTP: %s", err);
	return r;
}

/* Loads the admin's run-time changes from the store and composes the
 * effective configuration. */
static int start_mgmt(struct daemon *d, char *err, size_t errlen)
{
	const struct mgmt_events ev = {.arg = d, .apply = apply_conf};
	struct conf *eff = NULL;
	char path[4096];
	int r;

	(void)snprintf(path, sizeof(path), "%s/%s", d->conf->state_dir, STORE_FILE);
	r = mgmt_new(d->base, path, &ev, &d->mgmt, err, errlen);
	if (r == 0)
		r = mgmt_compose(d->mgmt, d->conf, &eff, err, errlen);
	if (r == 0)
		mgmt_set_conf(d->mgmt, d->conf, eff);
	return r;
}

/* The query workers (they read the store and the query stores). */
static int start_query(struct daemon *d, char *err, size_t errlen)
{
	char path[4096];
	int r;

	(void)snprintf(path, sizeof(path), "%s/%s", d->conf->state_dir, STORE_FILE);
	r = query_new(d->base, path, d->conf->cache_dir, on_qsync(d), &d->query, err, errlen);
	if (r < 0)
		log_err("cannot start: %s", err);
	if (r == 0) {
		mgmt_set_query(d->mgmt, d->query);
		query_set_conf(d->query, on_warm(d), mgmt_conf(d->mgmt));
		query_set_max_memory(d->query, mgmt_conf(d->mgmt)->query_max_memory);
	}
	return r;
}

/* SQLite's temporary files (a query's sorts and DISTINCTs past its
 * memory budget spill there) go to <cache_dir>/query/tmp, private to the
 * daemon and on the disk sized for data, unless SQLITE_TMPDIR is set.
 * Set once, before any thread: SQLite reads it at each temporary file. */
static void private_tmpdir(const struct conf *c)
{
	char path[4096];

	if (getenv("SQLITE_TMPDIR") != NULL)
		return;
	(void)snprintf(path, sizeof(path), "%s/query", c->cache_dir);
	if (fsutil_mkdirs(path, 0750) < 0 ||
	    (snprintf(path, sizeof(path), "%s/query/tmp", c->cache_dir) > 0 &&
	     mkdir(path, 0700) < 0 && errno != EEXIST)) {
		log_warning("cannot create %s for SQLite's temporary files: %s", path,
		            strerror(errno));
		return;
	}
	if (setenv("SQLITE_TMPDIR", path, 0) < 0)
		log_warning("cannot set SQLITE_TMPDIR: %s", strerror(errno));
}

static int daemon_start(struct daemon *d)
{
	const struct engine_events events = {d, on_engine_ready, on_engine_status, on_engine_report,
	                                     on_engine_done};
	char err[ERR_MAX];
	int r;

	notify_status(d->notify, "starting: loading configuration");
	r = config_load(d->config_path, &d->conf, err, sizeof(err));
	if (r < 0) {
		log_struct(LOG_ERR, MSGID_CONFIG_REJECTED,
		           LOG_FIELDS(LF_CONFIG_FILE(d->config_path)), "%s", err);
		return r;
	}
	apply_log_level(d);
	if (d->mode == ENGINE_RUN)
		private_tmpdir(d->conf);
	log_info("configuration %s: %zu attached database configuration%s", d->config_path,
	         d->conf->nattach, d->conf->nattach == 1 ? "" : "s");
	notify_status(d->notify, "starting: opening the store");
	if ((r = start_mgmt(d, err, sizeof(err))) < 0) {
		log_err("cannot start: %s", err);
		return r;
	}
	r = d->engine_ops->start(d->base, mgmt_conf(d->mgmt), d->mode, &events, &d->engine, err,
	                         sizeof(err));
	if (r < 0)
		log_err("cannot start: %s", err);
	if (r == 0 && d->mode == ENGINE_RUN)
		r = start_query(d, err, sizeof(err));
	if (r == 0 && d->mode == ENGINE_RUN)
		r = http_start(d);
	return r;
}

static void daemon_free(struct daemon *d)
{
	mgmt_stop(d->mgmt);
	http_free(d->http);
	query_free(d->query); /* after http: its clients are gone */
	if (d->engine != NULL)
		d->engine_ops->free(d->engine);
	mgmt_free(d->mgmt);
	signals_free(d->signals);
	notify_free(d->notify);
	if (d->deadline != NULL)
		event_free(d->deadline);
	if (d->base != NULL)
		event_base_free(d->base);
	log_memo_free(d->memo);
	conf_free(d->conf);
}

static int run(const struct options *o)
{
	struct daemon d = {
	    .config_path = o->config,
	    .engine_ops = &engine_sync,
	    .mode = o->once ? ENGINE_ONCE : ENGINE_RUN,
	    .level_set = o->level_set,
	    .exit_code = EXIT_FAILURE,
	};

	log_info("followerd %s starting (configuration %s)", FOLLOWERD_VERSION, o->config);
	if (daemon_setup(&d) == 0 && daemon_start(&d) == 0 && event_base_dispatch(d.base) < 0) {
		log_err("event loop failed");
		d.exit_code = EXIT_FAILURE;
	}
	daemon_free(&d);
	return d.exit_code;
}

int main(int argc, char **argv)
{
	struct options o = {0};
	int r;

	r = parse_args(argc, argv, &o);
	if (r >= 0)
		return r;
	log_open("followerd", o.foreground);
	log_set_level(o.level);
	if (o.check)
		return check_config(o.config);
	return run(&o);
}

/*
 * signals — the daemon's signals as events on its loop.
 *
 * SIGHUP asks for a reload, SIGTERM and SIGINT for a graceful stop.  libevent
 * turns them into ordinary callbacks on the loop, so the handlers may do
 * anything (no async-signal-safety rules).  SIGPIPE is ignored: a peer that
 * hangs up is an error return from write, not a dead daemon.
 */
#ifndef FOLLOWERD_SIGNALS_H
#define FOLLOWERD_SIGNALS_H

struct event_base;
struct signals;

struct signals_handlers {
	void (*reload)(void *arg);          /* SIGHUP */
	void (*stop)(void *arg, int signo); /* SIGTERM, SIGINT */
	void *arg;
};

/* Installs the signal events on base (borrowed); h is copied.  Returns 0 or
 * -ENOMEM / -errno (*ret untouched). */
int signals_new(struct event_base *base, const struct signals_handlers *h, struct signals **ret);

/* Removes the events and frees s; NULL is a no-op. */
void signals_free(struct signals *s);

#endif

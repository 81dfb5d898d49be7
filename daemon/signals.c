/*
 * signals — SIGHUP/SIGTERM/SIGINT as libevent events (see signals.h).
 */
#include "signals.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

static const int handled[] = {SIGHUP, SIGTERM, SIGINT};
#define NHANDLED (sizeof(handled) / sizeof(handled[0]))

struct signals {
	struct signals_handlers h;
	struct event *ev[NHANDLED];
};

static void signal_cb(evutil_socket_t signo, short what, void *arg)
{
	struct signals *s = arg;

	if (signo == SIGHUP)
		s->h.reload(s->h.arg);
	else
		s->h.stop(s->h.arg, (int)signo);
}

int signals_new(struct event_base *base, const struct signals_handlers *h, struct signals **ret)
{
	struct signals *s;
	size_t i;

	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		return -errno;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->h = *h;
	for (i = 0; i < NHANDLED; i++) {
		s->ev[i] = evsignal_new(base, handled[i], signal_cb, s);
		if (s->ev[i] == NULL || evsignal_add(s->ev[i], NULL) < 0) {
			signals_free(s);
			return -ENOMEM;
		}
	}
	*ret = s;
	return 0;
}

void signals_free(struct signals *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < NHANDLED; i++) {
		if (s->ev[i] != NULL)
			event_free(s->ev[i]);
	}
	free(s);
}

/*
 * notify — sd_notify(3) messages and the watchdog timer (see notify.h).
 */
#include "notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "log.h"

#define STATUS_MAX 512

struct notify {
	struct event *watchdog;
	uint64_t watchdog_usec;
	char status[STATUS_MAX];   /* last STATUS= sent */
	struct log_memo *failures; /* sd_notify errors, logged on change */
};

/* Sends state; failures are logged once per distinct error. */
static void notify_send(struct notify *n, const char *state)
{
	char err[128];
	int r;

	r = sd_notify(0, state);
	if (r >= 0) {
		if (log_memo_ok(n->failures, "sd_notify"))
			log_notice("sd_notify works again");
		return;
	}
	snprintf(err, sizeof(err), "%s", strerror(-r));
	if (log_memo_failed(n->failures, "sd_notify", err))
		log_struct(LOG_WARNING, NULL, LOG_FIELDS(LF_ERRNO(r)), "sd_notify failed: %s", err);
}

static void watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
	notify_send(arg, "WATCHDOG=1");
}

/* Arms the watchdog timer when systemd asked for one. */
static int watchdog_start(struct notify *n, struct event_base *base)
{
	struct timeval tv;
	uint64_t usec = 0;
	int r;

	r = sd_watchdog_enabled(0, &usec);
	if (r < 0)
		log_warning("watchdog disabled: WATCHDOG_USEC/WATCHDOG_PID invalid: %s",
		            strerror(-r));
	if (r <= 0 || usec == 0)
		return 0;
	n->watchdog = event_new(base, -1, EV_PERSIST, watchdog_cb, n);
	if (n->watchdog == NULL)
		return -ENOMEM;
	tv.tv_sec = (time_t)(usec / 2 / 1000000);
	tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
	if (event_add(n->watchdog, &tv) < 0)
		return -ENOMEM;
	n->watchdog_usec = usec;
	log_debug("watchdog: pinging every %llu ms", (unsigned long long)(usec / 2000));
	return 0;
}

int notify_new(struct event_base *base, struct notify **ret)
{
	struct notify *n;
	int r;

	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->failures = log_memo_new();
	if (n->failures == NULL) {
		notify_free(n);
		return -ENOMEM;
	}
	r = watchdog_start(n, base);
	if (r < 0) {
		notify_free(n);
		return r;
	}
	*ret = n;
	return 0;
}

void notify_free(struct notify *n)
{
	if (n == NULL)
		return;
	if (n->watchdog != NULL)
		event_free(n->watchdog);
	log_memo_free(n->failures);
	free(n);
}

/* Makes status one scrubbed line in line[STATUS_MAX]. */
static void status_line(const char *status, char *line)
{
	size_t i;

	logfmt_scrub(status, line, STATUS_MAX);
	for (i = 0; line[i] != '\0'; i++) {
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	}
}

/* Sends "<head>STATUS=<status>" and remembers the status. */
static void notify_with_status(struct notify *n, const char *head, const char *status)
{
	char line[STATUS_MAX], msg[STATUS_MAX + 128];

	status_line(status, line);
	snprintf(msg, sizeof(msg), "%sSTATUS=%s", head, line);
	notify_send(n, msg);
	memcpy(n->status, line, sizeof(n->status));
}

void notify_status(struct notify *n, const char *fmt, ...)
{
	char status[STATUS_MAX], line[STATUS_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(status, sizeof(status), fmt, ap);
	va_end(ap);
	status_line(status, line);
	if (strcmp(line, n->status) == 0)
		return;
	notify_with_status(n, "", status);
}

void notify_ready(struct notify *n, const char *status)
{
	notify_with_status(n, "READY=1\n", status);
}

void notify_reloading(struct notify *n, const char *status)
{
	struct timespec ts;
	char head[96];

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(head, sizeof(head), "RELOADING=1\nMONOTONIC_USEC=%llu\n",
	         (unsigned long long)ts.tv_sec * 1000000ULL +
	             (unsigned long long)ts.tv_nsec / 1000);
	notify_with_status(n, head, status);
}

void notify_stopping(struct notify *n, const char *status)
{
	notify_with_status(n, "STOPPING=1\n", status);
}

uint64_t notify_watchdog_usec(const struct notify *n)
{
	return n->watchdog_usec;
}

/*
 * notify — sd_notify(3) glue and the watchdog.
 *
 * Tells the service manager what the daemon is doing: STATUS= lines while
 * starting and running, READY=1 once the caller says the daemon serves,
 * RELOADING=1 + MONOTONIC_USEC= on SIGHUP (systemd 252 has no
 * Type=notify-reload, but the messages are the same), STOPPING=1 on stop.
 *
 * The watchdog is fed by a timer on the daemon's own event loop at half of
 * WATCHDOG_USEC: if the loop stops turning, the pings stop and systemd
 * restarts us, which is the point.
 *
 * Without NOTIFY_SOCKET every call does nothing.  A failed sd_notify() is
 * logged (once per distinct error) and never fatal.  Status text is one line
 * and scrubbed of secrets like any log line.
 */
#ifndef FOLLOWERD_NOTIFY_H
#define FOLLOWERD_NOTIFY_H

#include <stdint.h>

struct event_base;
struct notify;

/* Returns a new notifier in *ret; when the watchdog is enabled for this
 * process, arms its timer on base (borrowed; must outlive the notifier).
 * 0 or -ENOMEM (*ret untouched). */
int notify_new(struct event_base *base, struct notify **ret);

/* Stops the watchdog timer and frees n; NULL is a no-op. */
void notify_free(struct notify *n);

/* Sends STATUS=<fmt...> unless it equals the last status sent. */
void notify_status(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends READY=1 with STATUS=status. */
void notify_ready(struct notify *n, const char *status);

/* Sends RELOADING=1, MONOTONIC_USEC=<now> and STATUS=status; follow with
 * notify_ready() when the reload is over, whether it succeeded or not. */
void notify_reloading(struct notify *n, const char *status);

/* Sends STOPPING=1 with STATUS=status. */
void notify_stopping(struct notify *n, const char *status);

/* The watchdog interval systemd asked for, in µs; 0 when disabled. */
uint64_t notify_watchdog_usec(const struct notify *n);

#endif

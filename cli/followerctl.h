/*
 * followerctl — the command-line client of followerd's admin interface.
 *
 * Thin: every command is one or a few HTTP requests to the daemon (its admin
 * Unix socket, or a URL with a bearer token) whose JSON is printed as it is
 * (--json) or as an aligned table.  The CLI may block: one libcurl easy
 * handle, one request at a time.
 *
 * followerctl.c: options, the transport, exit codes; followerctl_cmds.c:
 * the commands; followerctl_explain.c: explain; followerctl_fmt.c: tables
 * and human-friendly numbers.
 */
#ifndef FOLLOWERD_FOLLOWERCTL_H
#define FOLLOWERD_FOLLOWERCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Exit codes (documented in followerctl(8)). */
enum ctl_exit {
	CTL_OK = 0,
	CTL_DAEMON = 1,      /* the daemon answered with an error */
	CTL_USAGE = 2,       /* bad command line */
	CTL_UNSUPPORTED = 3, /* this followerd has no such operation */
	CTL_UNREACHABLE = 4, /* cannot reach the daemon */
};

struct ctl {
	const char *socket; /* the admin socket, or NULL with url */
	const char *url;    /* http(s)://host:port, or NULL */
	char *token;        /* bearer token (from --token-file), or NULL */
	bool json;          /* print the daemon's JSON as is */
	void *curl;         /* CURL *, reused */
};

/* One request: method "GET" or "POST", path from "/v1/...".  On 2xx *ret is
 * the parsed body (new reference) and CTL_OK is returned; otherwise the
 * error was printed and the exit code is returned (1, 3 for a route this
 * daemon does not have, 4). */
int ctl_request(struct ctl *c, const char *method, const char *path, json_t **ret);

/* The same with method "PUT", "DELETE" etc. and a JSON body (borrowed;
 * NULL: none). */
int ctl_request_json(struct ctl *c, const char *method, const char *path, const json_t *body,
                     json_t **ret);

/* Prints msg as "followerctl: ..." on stderr and returns code. */
int ctl_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints j (borrowed) as indented JSON on stdout; CTL_OK. */
int ctl_print_json(const json_t *j);

/* Percent-encodes s into a new string for a path segment or a query value. */
char *ctl_escape(struct ctl *c, const char *s);

/* ---- commands (followerctl_cmds.c): argv after the command word ---- */
int cmd_status(struct ctl *c, int argc, char **argv);
int cmd_show(struct ctl *c, int argc, char **argv);
int cmd_history(struct ctl *c, int argc, char **argv);
int cmd_explain(struct ctl *c, int argc, char **argv);
int cmd_sync(struct ctl *c, int argc, char **argv);
int cmd_unsupported(struct ctl *c, int argc, char **argv);

/* ---- administration (followerctl_admin.c, followerctl_warm.c) ---- */
int cmd_attach(struct ctl *c, int argc, char **argv);
int cmd_detach(struct ctl *c, int argc, char **argv);
int cmd_alter(struct ctl *c, int argc, char **argv);
int cmd_warm(struct ctl *c, int argc, char **argv);

/* ---- formatting (followerctl_fmt.c) ---- */

/* A table of strings printed with aligned columns. */
struct ctl_table;

/* A new table with ncols columns and the given header cells (copied). */
struct ctl_table *ctl_table_new(size_t ncols, const char *const *header);
/* Adds a row of ncols cells (copied; NULL prints "-"); 0 or -ENOMEM. */
int ctl_table_add(struct ctl_table *t, const char *const *cells);
/* Prints the table on stdout. */
void ctl_table_print(const struct ctl_table *t);
void ctl_table_free(struct ctl_table *t);

/* "850ms", "12s", "3m05s", "2h03m", "4d02h" into buf (at least 32 bytes). */
const char *ctl_duration(double seconds, char *buf, size_t len);
/* "0 B", "512 B", "1.5 KiB", "3.2 GiB" into buf. */
const char *ctl_bytes(double bytes, char *buf, size_t len);
/* A member of o as text: strings as they are, integers, reals, true/false,
 * "-" for null or absent.  Into buf. */
const char *ctl_member(const json_t *o, const char *key, char *buf, size_t len);

#endif

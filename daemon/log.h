/*
 * log — followerd's logger.  The daemon logs; lib/ returns errors.
 *
 * Where a record goes is decided once, by log_open():
 *   - foreground (-d): "2026-11-23T10:00:00Z followerd[pid]: warning: msg" on stderr;
 *   - under systemd (JOURNAL_STREAM names our stderr): sd_journal_send() with
 *     MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, MESSAGE_ID, CODE_* and the caller's
 *     structured fields;
 *   - stderr not a terminal: "<4>msg" (sd-daemon(3) prefixes, read by journald
 *     or any supervisor that understands them);
 *   - a terminal: "followerd: warning: msg".
 * Every message and every field value is scrubbed of secrets (lib/util/logfmt.h):
 * URLs lose their query values, "sig=..." and friends lose theirs.
 *
 *	log_struct(LOG_WARNING, MSGID_LEADER_UNREACHABLE,
 *		   LOG_FIELDS(LF_DATABASE(db), LF_URL(url), LF_ERRNO(r)),
 *		   "%s: leader unreachable: %s", db, strerror(-r));
 *
 * The logger's settings are process-wide (one process, one stderr): the only
 * global state in the daemon, set before the event loop starts.
 */
#ifndef FOLLOWERD_LOG_H
#define FOLLOWERD_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "util/logfmt.h"

/* MESSAGE_ID= values, one per event kind, stable forever (journalctl
 * MESSAGE_ID=... finds every occurrence across versions).  Never reuse or
 * change one; add new ones with `systemd-id128 new`. */
#define MSGID_VERSION_APPLIED "e2957fd9913d40a09f8cc2d6ad3248fe"
#define MSGID_DATABASE_ATTACHED "c04669acdf8f4962bc4c343a5e70f273"
#define MSGID_DATABASE_DETACHED "7bad81e4b8b14448a94943d1491b24f2"
#define MSGID_LEADER_UNREACHABLE "4e55c1e9329f464dac3a45f477fe04e9"
#define MSGID_LEADER_REACHABLE "708be38f044b4845984106852702a701"
#define MSGID_ARTIFACT_QUARANTINED "1ea997d64b874b71875a18efcfd3cc6e"
#define MSGID_DISK_FULL "c2f20954d3e94bc0a0a19288f0f0d01c"
#define MSGID_DISK_RECOVERED "f1d5f6cf436449b59eec02a1ce13e941"
#define MSGID_CONFIG_RELOADED "389e5699fea14bd397f861b70cca5b99"
#define MSGID_CONFIG_REJECTED "ed05488b7e6447df910918fef5a12dc9"
#define MSGID_DATABASE_REWOUND "82bfef95cbda41b9bac4aaf777ad028c"
#define MSGID_SYNC_FAILED "29dd13021ad4425e930dd3cc694af2da"
#define MSGID_SYNC_RECOVERED "8a19ffe1a1074c71912537f491edf38d"

/* The structured fields followerd emits; the macros fix name and type. */
#define LF_DATABASE(s) LOGFMT_STR("FOLLOWER_DATABASE", (s))
#define LF_LEADER(url) LOGFMT_URL("LEADER", (url))
#define LF_LEADER_VERSION(v) LOGFMT_U64("LEADER_VERSION", (v))
#define LF_APPLIED_VERSION(v) LOGFMT_U64("APPLIED_VERSION", (v))
#define LF_EXTENT_ID(s) LOGFMT_STR("EXTENT_ID", (s))
#define LF_ARTIFACT_SHA256(s) LOGFMT_STR("ARTIFACT_SHA256", (s))
#define LF_URL(url) LOGFMT_URL("URL", (url))
#define LF_ERRNO(e) LOGFMT_ERRNO(e)
#define LF_CONFIG_FILE(s) LOGFMT_STR("CONFIG_FILE", (s))

/* An array of fields ended by LOGFMT_END, for log_struct(). */
#define LOG_FIELDS(...) ((const struct logfmt_field[]){__VA_ARGS__, LOGFMT_END})

#define LOG_MAX_FIELDS 16 /* fields past this are dropped */

/* Chooses the output (see above) for ident; foreground is -d.  Before it is
 * called, records go to stderr with "<N>" prefixes. */
void log_open(const char *ident, bool foreground);

/* Records above prio (numerically greater) are dropped; default LOG_INFO. */
void log_set_level(int prio);
int log_get_level(void);

/* Logs one record: msgid may be NULL, fields NULL or an array ended by
 * LOGFMT_END (borrowed).  Never fails from the caller's point of view: a
 * journal that refuses the record gets it on stderr instead. */
void log_struct_at(const char *file, int line, const char *func, int prio, const char *msgid,
                   const struct logfmt_field *fields, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

#define log_struct(prio, msgid, fields, ...)                                                       \
	log_struct_at(__FILE__, __LINE__, __func__, (prio), (msgid), (fields), __VA_ARGS__)
#define log_msg(prio, ...) log_struct((prio), NULL, NULL, __VA_ARGS__)
#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Log on change (OpenBSD ntpd's client_log_error): remembers the last
 * failure text per key, so a leader that is down for an hour is logged once
 * when it fails, again only if the reason changes, and once when it recovers.
 *
 *	if (log_memo_failed(memo, db, errtext))
 *		log_struct(LOG_WARNING, MSGID_LEADER_UNREACHABLE, ..., "%s", errtext);
 *	...
 *	if (log_memo_ok(memo, db))
 *		log_struct(LOG_NOTICE, MSGID_LEADER_REACHABLE, ..., "reachable again");
 */
struct log_memo;

/* Returns a new memo, or NULL when out of memory. */
struct log_memo *log_memo_new(void);
/* Frees m; NULL is a no-op. */
void log_memo_free(struct log_memo *m);
/* Records that key failed with text (both copied).  Returns true when the
 * caller should log it: the first failure, or a different text than the last
 * one (also when memory runs out: better twice than never). */
bool log_memo_failed(struct log_memo *m, const char *key, const char *text);
/* Records that key works.  Returns true when it had failed (log the
 * recovery once), false when it was already fine. */
bool log_memo_ok(struct log_memo *m, const char *key);

#endif

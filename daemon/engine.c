/*
 * engine — the logging of engine reports (see engine.h): one journal record
 * per report, with its MESSAGE_ID, priority and fields, and the memo that
 * keeps a repeated failure to one record until its reason changes.
 */
#include "engine.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* ---- reports ---- */

enum memo_rule {
	MEMO_NONE,    /* log every time */
	MEMO_FAIL,    /* log when the detail changes */
	MEMO_RECOVER, /* log only after a MEMO_FAIL of the same family */
};

static const struct report_kind {
	int prio;
	const char *msgid;
	const char *what;
	const char *family; /* memo key prefix shared by a failure and its recovery */
	enum memo_rule rule;
	bool global; /* one memo key for the whole process (the disk), not per database */
} report_kinds[] = {
    [ENGINE_VERSION_APPLIED] = {LOG_INFO, MSGID_VERSION_APPLIED, "applied", NULL, MEMO_NONE},
    [ENGINE_DATABASE_ATTACHED] = {LOG_NOTICE, MSGID_DATABASE_ATTACHED, "database attached", NULL,
                                  MEMO_NONE},
    [ENGINE_DATABASE_DETACHED] = {LOG_NOTICE, MSGID_DATABASE_DETACHED, "database detached", NULL,
                                  MEMO_NONE},
    [ENGINE_LEADER_UNREACHABLE] = {LOG_WARNING, MSGID_LEADER_UNREACHABLE, "leader unreachable",
                                   "leader", MEMO_FAIL},
    [ENGINE_LEADER_REACHABLE] = {LOG_NOTICE, MSGID_LEADER_REACHABLE, "leader reachable again",
                                 "leader", MEMO_RECOVER},
    [ENGINE_ARTIFACT_QUARANTINED] = {LOG_WARNING, MSGID_ARTIFACT_QUARANTINED,
                                     "artifact quarantined", NULL, MEMO_NONE},
    [ENGINE_DISK_FULL] = {LOG_ERR, MSGID_DISK_FULL, "disk full", "disk", MEMO_FAIL, true},
    [ENGINE_DISK_RECOVERED] = {LOG_NOTICE, MSGID_DISK_RECOVERED, "disk space available again",
                               "disk", MEMO_RECOVER, true},
    [ENGINE_DATABASE_REWOUND] = {LOG_WARNING, MSGID_DATABASE_REWOUND, "leader rewound", NULL,
                                 MEMO_NONE},
    [ENGINE_SYNC_FAILED] = {LOG_WARNING, MSGID_SYNC_FAILED, "sync failed", "sync", MEMO_FAIL},
    [ENGINE_SYNC_RECOVERED] = {LOG_NOTICE, MSGID_SYNC_RECOVERED, "syncing again", "sync",
                               MEMO_RECOVER},
};

/* The message: "<database>: <what>[ version N (leader at M)][: detail][: strerror]". */
static void report_message(const struct report_kind *k, const struct engine_report *r, char *buf,
                           size_t size)
{
	char version[96] = "";

	if (r->applied_version != 0 && r->leader_version > r->applied_version)
		snprintf(version, sizeof(version), " version %llu (leader at %llu)",
		         (unsigned long long)r->applied_version,
		         (unsigned long long)r->leader_version);
	else if (r->applied_version != 0)
		snprintf(version, sizeof(version), " version %llu",
		         (unsigned long long)r->applied_version);
	snprintf(buf, size, "%s%s%s%s%s%s%s%s", r->database ? r->database : "",
	         r->database ? ": " : "", k->what, version, r->detail ? ": " : "",
	         r->detail ? r->detail : "", r->error ? ": " : "",
	         r->error ? strerror(-r->error) : "");
}

/* Applies the kind's memo rule; true when the report is to be logged. */
static bool report_wanted(struct log_memo *memo, const struct report_kind *k,
                          const struct engine_report *r, const char *message)
{
	char key[512];

	if (k->rule == MEMO_NONE || memo == NULL)
		return true;
	snprintf(key, sizeof(key), "%s/%s", k->family,
	         k->global     ? ""
	         : r->database ? r->database
	         : r->leader   ? r->leader
	                       : "");
	if (k->rule == MEMO_FAIL)
		return log_memo_failed(memo, key, message);
	return log_memo_ok(memo, key);
}

void engine_report_log(struct log_memo *memo, const struct engine_report *r)
{
	struct logfmt_field f[10];
	const struct report_kind *k;
	char message[2048];
	size_t n = 0;

	if ((size_t)r->kind >= sizeof(report_kinds) / sizeof(report_kinds[0]))
		return;
	k = &report_kinds[r->kind];
	report_message(k, r, message, sizeof(message));
	if (!report_wanted(memo, k, r, message))
		return;
	f[n++] = LF_DATABASE(r->local_name != NULL ? r->local_name : r->database);
	f[n++] = LF_LEADER(r->leader);
	if (r->leader_version != 0)
		f[n++] = LF_LEADER_VERSION(r->leader_version);
	if (r->applied_version != 0)
		f[n++] = LF_APPLIED_VERSION(r->applied_version);
	f[n++] = LF_EXTENT_ID(r->extent_id);
	f[n++] = LF_ARTIFACT_SHA256(r->artifact_sha256);
	f[n++] = LF_URL(r->url);
	if (r->error != 0)
		f[n++] = LF_ERRNO(r->error);
	f[n] = LOGFMT_END;
	log_struct(k->prio, k->msgid, f, "%s", message);
}

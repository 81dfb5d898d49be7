/*
 * test_log — the daemon's logging: redaction and formatting (lib/logfmt),
 * the logger's stderr output and journal detection (daemon/log.c), the
 * log-on-change memo, and how engine reports are logged (daemon/engine.c).
 *
 * daemon/ is not in libfollower.a, so its two files are compiled in here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../daemon/engine.c"
#include "../../daemon/log.c"

/* ---- stderr capture ---- */

static int saved_stderr = -1;
static int capture_fd = -1;
static char captured[65536];

static void capture_start(void)
{
	char path[] = "/tmp/test_log.XXXXXX";

	capture_fd = mkstemp(path);
	assert_true(capture_fd >= 0);
	(void)unlink(path);
	saved_stderr = dup(STDERR_FILENO);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(capture_fd, STDERR_FILENO), STDERR_FILENO);
}

static const char *capture_end(void)
{
	ssize_t n;

	assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
	close(saved_stderr);
	n = pread(capture_fd, captured, sizeof(captured) - 1, 0);
	assert_true(n >= 0);
	captured[n] = '\0';
	close(capture_fd);
	return captured;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- logfmt: redaction ---- */

static void test_redact_url(void **state)
{
	char buf[512];

	assert_string_equal(
	    logfmt_redact_url("https://a.blob.core.windows.net/c/p?sv=2022-11-02&sig=abc%2Bdef",
	                      buf, sizeof(buf)),
	    "https://a.blob.core.windows.net/c/p?sv=REDACTED&sig=REDACTED");
	assert_string_equal(
	    logfmt_redact_url("http://127.0.0.1:10000/acct/c/head.json", buf, sizeof(buf)),
	    "http://127.0.0.1:10000/acct/c/head.json");
	assert_string_equal(
	    logfmt_redact_url("https://u:pw@host/x?token&a=&b=1#frag", buf, sizeof(buf)),
	    "https://u:REDACTED@host/x?REDACTED&a=&b=REDACTED#frag");
	assert_string_equal(logfmt_redact_url("https://user@host/x", buf, sizeof(buf)),
	                    "https://user@host/x");
	/* a bare SAS token, as it sits in a config file */
	assert_string_equal(logfmt_redact_url("sv=2022&ss=b&sig=xyz", buf, sizeof(buf)),
	                    "sv=2022&ss=b&sig=REDACTED");
	assert_string_equal(logfmt_redact_url("?sv=2022&sig=xyz", buf, sizeof(buf)),
	                    "?sv=REDACTED&sig=REDACTED");
}

static void test_redact_truncates_safely(void **state)
{
	const char *url = "https://h/p?sig=0123456789abcdef";
	char buf[64];
	size_t size;

	for (size = 1; size < sizeof(buf); size++) {
		memset(buf, 'x', sizeof(buf));
		logfmt_redact_url(url, buf, size);
		assert_true(strlen(buf) < size);
		assert_null(strstr(buf, "0123"));
	}
}

static void test_scrub(void **state)
{
	char buf[512];

	assert_string_equal(
	    logfmt_scrub("GET https://h/c/x?sv=1&sig=s3cr3t: HTTP 403", buf, sizeof(buf)),
	    "GET https://h/c/x?sv=REDACTED&sig=REDACTED: HTTP 403");
	assert_string_equal(logfmt_scrub("'http://a/?k=v' and <https://b/?k=w>", buf, sizeof(buf)),
	                    "'http://a/?k=REDACTED' and <https://b/?k=REDACTED>");
	assert_string_equal(
	    logfmt_scrub("DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9v==;"
	                 "EndpointSuffix=core.windows.net",
	                 buf, sizeof(buf)),
	    "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=REDACTED;"
	    "EndpointSuffix=core.windows.net");
	assert_string_equal(logfmt_scrub("bad SIG=abc, sas_token=sv&password=p", buf, sizeof(buf)),
	                    "bad SIG=REDACTED, sas_token=REDACTED&password=REDACTED");
	assert_string_equal(logfmt_scrub("no secrets: a=b ://x 1://y", buf, sizeof(buf)),
	                    "no secrets: a=b ://x 1://y");
	assert_string_equal(logfmt_scrub("", buf, sizeof(buf)), "");
}

/* ---- logfmt: levels, fields, lines ---- */

static void test_levels(void **state)
{
	int prio = -1;

	assert_int_equal(logfmt_level_parse("warning", &prio), 0);
	assert_int_equal(prio, LOG_WARNING);
	assert_int_equal(logfmt_level_parse("ERROR", &prio), 0);
	assert_int_equal(prio, LOG_ERR);
	assert_int_equal(logfmt_level_parse("debug", &prio), 0);
	assert_int_equal(prio, LOG_DEBUG);
	assert_int_equal(logfmt_level_parse("loud", &prio), -EINVAL);
	assert_int_equal(logfmt_level_parse("emerg", &prio), -EINVAL);
	assert_int_equal(prio, LOG_DEBUG);
	assert_string_equal(logfmt_level_name(LOG_NOTICE), "notice");
	assert_string_equal(logfmt_level_name(99), "debug");
}

static void test_fields(void **state)
{
	char buf[256];

	assert_int_equal(logfmt_field_format(&LF_DATABASE("Logs"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "FOLLOWER_DATABASE=Logs");
	assert_int_equal(logfmt_field_format(&LF_URL("https://h/x?sig=s"), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "URL=https://h/x?sig=REDACTED");
	assert_int_equal(
	    logfmt_field_format(&LF_LEADER_VERSION(UINT64_C(1) << 53), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "LEADER_VERSION=9007199254740992");
	assert_int_equal(logfmt_field_format(&LF_ERRNO(-ENOSPC), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "ERRNO=28");
	assert_int_equal(logfmt_field_format(&LOGFMT_I64("DELTA", -5), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "DELTA=-5");
	assert_int_equal(logfmt_field_format(&LF_EXTENT_ID(NULL), buf, sizeof(buf)), -ENOENT);
	assert_int_equal(logfmt_field_format(&LOGFMT_STR("lower", "x"), buf, sizeof(buf)), -EINVAL);
	assert_string_equal(buf, "");
	assert_false(logfmt_field_name_valid("_PID"));
	assert_false(logfmt_field_name_valid("1A"));
	assert_false(logfmt_field_name_valid("A-B"));
	assert_true(logfmt_field_name_valid("ARTIFACT_SHA256"));
}

static void test_lines(void **state)
{
	time_t t = 1795428000; /* 2026-11-23T10:00:00Z */
	char buf[128], ts[LOGFMT_TIMESTAMP_LEN];
	size_t n;

	assert_string_equal(logfmt_timestamp(t, ts), "2026-11-23T10:00:00Z");
	n = logfmt_line(buf, sizeof(buf), LOGFMT_STYLE_PREFIX, LOG_WARNING, "followerd", 7, t,
	                "two\nlines\ttab");
	assert_string_equal(buf, "<4>two lines tab\n");
	assert_int_equal(n, strlen(buf));
	logfmt_line(buf, sizeof(buf), LOGFMT_STYLE_TIMESTAMP, LOG_WARNING, "followerd", 42, t, "m");
	assert_string_equal(buf, "2026-11-23T10:00:00Z followerd[42]: warning: m\n");
	logfmt_line(buf, sizeof(buf), LOGFMT_STYLE_PLAIN, LOG_ERR, "followerd", 42, t, "m");
	assert_string_equal(buf, "followerd: err: m\n");
	n = logfmt_line(buf, 8, LOGFMT_STYLE_PREFIX, LOG_ERR, "followerd", 42, t, "long message");
	assert_int_equal(n, 7);
	assert_string_equal(buf, "<3>lon\n");
}

/* ---- daemon/log.c ---- */

static void test_log_prefix_output(void **state)
{
	const char *out;

	capture_start();
	log_open("followerd", false); /* stderr is a file: "<N>" */
	log_set_level(LOG_INFO);
	errno = EAGAIN;
	log_struct(LOG_WARNING, MSGID_LEADER_UNREACHABLE,
	           LOG_FIELDS(LF_DATABASE("Logs"), LF_URL("https://h/c?sig=s3cr3t")),
	           "Logs: leader https://h/c?sv=1&sig=s3cr3t unreachable");
	assert_int_equal(errno, EAGAIN);
	log_debug("not shown at info");
	log_info("shown at info");
	out = capture_end();
	assert_string_equal(out,
	                    "<4>Logs: leader https://h/c?sv=REDACTED&sig=REDACTED unreachable\n"
	                    "<6>shown at info\n");
}

static void test_log_foreground_output(void **state)
{
	const char *out;
	char expect[64];

	capture_start();
	log_open("followerd", true);
	log_set_level(LOG_DEBUG);
	log_debug("debug %d", 5);
	out = capture_end();
	snprintf(expect, sizeof(expect), "Z followerd[%ld]: debug: debug 5\n", (long)getpid());
	assert_int_equal(strlen(out), 19 + strlen(expect));
	assert_string_equal(out + 19, expect);
	log_open("followerd", false);
	log_set_level(LOG_INFO);
}

static void test_journal_detection(void **state)
{
	struct stat st;
	char env[64];

	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	assert_int_equal(setenv("JOURNAL_STREAM", env, 1), 0);
	assert_true(journal_stream_is_stderr());
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino + 1);
	assert_int_equal(setenv("JOURNAL_STREAM", env, 1), 0);
	assert_false(journal_stream_is_stderr());
	assert_int_equal(setenv("JOURNAL_STREAM", "12:34x", 1), 0);
	assert_false(journal_stream_is_stderr());
	assert_int_equal(unsetenv("JOURNAL_STREAM"), 0);
	assert_false(journal_stream_is_stderr());
}

static void test_memo(void **state)
{
	struct log_memo *m = log_memo_new();

	assert_non_null(m);
	assert_false(log_memo_ok(m, "a"));
	assert_true(log_memo_failed(m, "a", "timeout"));
	assert_false(log_memo_failed(m, "a", "timeout"));
	assert_true(log_memo_failed(m, "b", "timeout"));
	assert_true(log_memo_failed(m, "a", "HTTP 503"));
	assert_false(log_memo_failed(m, "a", "HTTP 503"));
	assert_true(log_memo_ok(m, "a"));
	assert_false(log_memo_ok(m, "a"));
	assert_true(log_memo_failed(m, "a", "HTTP 503"));
	assert_false(log_memo_failed(m, "b", "timeout"));
	log_memo_free(m);
	log_memo_free(NULL);
}

/* ---- daemon/engine.c: reports ---- */

static void test_reports_log_on_change(void **state)
{
	struct engine_report down = {
	    .kind = ENGINE_LEADER_UNREACHABLE,
	    .database = "Logs",
	    .leader = "https://h/c?sig=s3cr3t",
	    .error = -ETIMEDOUT,
	    .detail = "GET https://h/c/head.json?sig=s3cr3t",
	};
	struct engine_report up = {.kind = ENGINE_LEADER_REACHABLE, .database = "Logs"};
	struct engine_report applied = {.kind = ENGINE_VERSION_APPLIED,
	                                .database = "Logs",
	                                .applied_version = 7,
	                                .leader_version = 9};
	struct log_memo *m = log_memo_new();
	const char *out;

	capture_start();
	log_open("followerd", false);
	engine_report_log(m, &down);
	engine_report_log(m, &down);
	engine_report_log(m, &up);
	engine_report_log(m, &up);
	engine_report_log(m, &down);
	engine_report_log(m, &applied);
	out = capture_end();
	assert_int_equal(count_lines(out), 4);
	assert_null(strstr(out, "s3cr3t"));
	assert_non_null(strstr(out, "<4>Logs: leader unreachable: GET "
	                            "https://h/c/head.json?sig=REDACTED: Connection timed out\n"));
	assert_non_null(strstr(out, "<5>Logs: leader reachable again\n"));
	assert_non_null(strstr(out, "<6>Logs: applied version 7 (leader at 9)\n"));
	log_memo_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_redact_url),
	    cmocka_unit_test(test_redact_truncates_safely),
	    cmocka_unit_test(test_scrub),
	    cmocka_unit_test(test_levels),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_log_prefix_output),
	    cmocka_unit_test(test_log_foreground_output),
	    cmocka_unit_test(test_journal_detection),
	    cmocka_unit_test(test_memo),
	    cmocka_unit_test(test_reports_log_on_change),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

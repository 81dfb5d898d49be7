/*
 * log — followerd's logger: journal or stderr, levels, scrubbing, and the
 * log-on-change memo (see log.h).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#define LOG_LINE_MAX 4096  /* a formatted message; longer ones are cut */
#define LOG_FIELD_MAX 1024 /* one "NAME=value" */
#define LOG_MEMO_MAX 4096  /* keys remembered; past it every failure is logged */

enum log_output {
	LOG_TO_PREFIX,
	LOG_TO_TIMESTAMP,
	LOG_TO_PLAIN,
	LOG_TO_JOURNAL,
};

/* Process-wide by nature (one stderr), written only before the loop runs. */
static struct {
	const char *ident;
	int level;
	enum log_output output;
} log_state = {"followerd", LOG_INFO, LOG_TO_PREFIX};

/* systemd sets JOURNAL_STREAM to "dev:ino" of the stream it connected to
 * stdout/stderr; only when that is still our stderr is journald listening
 * (sd_journal_send() silently drops records when it is not). */
static bool journal_stream_is_stderr(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(const char *ident, bool foreground)
{
	log_state.ident = ident;
	if (foreground)
		log_state.output = LOG_TO_TIMESTAMP;
	else if (journal_stream_is_stderr())
		log_state.output = LOG_TO_JOURNAL;
	else if (isatty(STDERR_FILENO))
		log_state.output = LOG_TO_PLAIN;
	else
		log_state.output = LOG_TO_PREFIX;
}

void log_set_level(int prio)
{
	log_state.level = prio;
}

int log_get_level(void)
{
	return log_state.level;
}

static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, buf, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* nowhere left to report it */
		buf += w;
		len -= (size_t)w;
	}
}

static void stderr_write(int prio, const char *msg)
{
	char line[LOG_LINE_MAX + 128];
	enum logfmt_style style;
	size_t len;

	switch (log_state.output) {
	case LOG_TO_TIMESTAMP:
		style = LOGFMT_STYLE_TIMESTAMP;
		break;
	case LOG_TO_PLAIN:
		style = LOGFMT_STYLE_PLAIN;
		break;
	default:
		style = LOGFMT_STYLE_PREFIX;
		break;
	}
	len = logfmt_line(line, sizeof(line), style, prio, log_state.ident, (long)getpid(),
	                  time(NULL), msg);
	write_all(STDERR_FILENO, line, len);
}

static void iov_add(struct iovec *iov, size_t *n, const char *s)
{
	iov[*n].iov_base = (void *)s;
	iov[*n].iov_len = strlen(s);
	(*n)++;
}

/* Sends one record to journald; 0 or a negative errno. */
static int journal_write(const char *file, int line, const char *func, int prio, const char *msgid,
                         const struct logfmt_field *fields, const char *msg)
{
	char head[6][LOG_FIELD_MAX];
	char vals[LOG_MAX_FIELDS][LOG_FIELD_MAX];
	char message[LOG_LINE_MAX + 16];
	struct iovec iov[6 + LOG_MAX_FIELDS + 1];
	size_t n = 0, i, k = 0;

	snprintf(message, sizeof(message), "MESSAGE=%s", msg);
	iov_add(iov, &n, message);
	snprintf(head[0], LOG_FIELD_MAX, "PRIORITY=%d", prio);
	snprintf(head[1], LOG_FIELD_MAX, "SYSLOG_IDENTIFIER=%s", log_state.ident);
	snprintf(head[2], LOG_FIELD_MAX, "CODE_FILE=%s", file);
	snprintf(head[3], LOG_FIELD_MAX, "CODE_LINE=%d", line);
	snprintf(head[4], LOG_FIELD_MAX, "CODE_FUNC=%s", func);
	snprintf(head[5], LOG_FIELD_MAX, "MESSAGE_ID=%s", msgid != NULL ? msgid : "");
	for (i = 0; i < (msgid != NULL ? 6u : 5u); i++)
		iov_add(iov, &n, head[i]);
	for (i = 0; fields != NULL && fields[i].type != LOGFMT_T_END && k < LOG_MAX_FIELDS; i++) {
		if (logfmt_field_format(&fields[i], vals[k], LOG_FIELD_MAX) == 0)
			iov_add(iov, &n, vals[k++]);
	}
	return sd_journal_sendv(iov, (int)n);
}

void log_struct_at(const char *file, int line, const char *func, int prio, const char *msgid,
                   const struct logfmt_field *fields, const char *fmt, ...)
{
	char raw[LOG_LINE_MAX], msg[LOG_LINE_MAX];
	int saved_errno = errno;
	va_list ap;

	if (prio > log_state.level)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	logfmt_scrub(raw, msg, sizeof(msg));
	if (log_state.output != LOG_TO_JOURNAL ||
	    journal_write(file, line, func, prio, msgid, fields, msg) < 0)
		stderr_write(prio, msg);
	errno = saved_errno;
}

/* ---- log on change ---- */

struct memo_entry {
	char *key;
	char *text;
};

struct log_memo {
	struct memo_entry *v;
	size_t n, cap;
};

struct log_memo *log_memo_new(void)
{
	return calloc(1, sizeof(struct log_memo));
}

void log_memo_free(struct log_memo *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].text);
	}
	free(m->v);
	free(m);
}

static struct memo_entry *memo_find(struct log_memo *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->v[i].key, key) == 0)
			return &m->v[i];
	}
	return NULL;
}

/* Adds key with text; false when out of memory or full. */
static bool memo_add(struct log_memo *m, const char *key, const char *text)
{
	struct memo_entry *v;
	size_t cap;

	if (m->n == LOG_MEMO_MAX)
		return false;
	if (m->n == m->cap) {
		cap = m->cap ? m->cap * 2 : 8;
		v = realloc(m->v, cap * sizeof(*v));
		if (v == NULL)
			return false;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n].key = strdup(key);
	m->v[m->n].text = strdup(text);
	if (m->v[m->n].key == NULL || m->v[m->n].text == NULL) {
		free(m->v[m->n].key);
		free(m->v[m->n].text);
		return false;
	}
	m->n++;
	return true;
}

bool log_memo_failed(struct log_memo *m, const char *key, const char *text)
{
	struct memo_entry *e = memo_find(m, key);
	char *copy;

	if (e == NULL) {
		(void)memo_add(m, key, text);
		return true;
	}
	if (strcmp(e->text, text) == 0)
		return false;
	copy = strdup(text);
	if (copy != NULL) {
		free(e->text);
		e->text = copy;
	}
	return true;
}

bool log_memo_ok(struct log_memo *m, const char *key)
{
	struct memo_entry *e = memo_find(m, key);

	if (e == NULL)
		return false;
	free(e->key);
	free(e->text);
	*e = m->v[--m->n];
	return true;
}

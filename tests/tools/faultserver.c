/*
 * faultserver — a static HTTP/1.1 file server that misbehaves on request, for
 * followerd's end-to-end tests (Debian has no toxiproxy).
 *
 *   faultserver --root DIR --port N [--bind ADDR] [--rules FILE] [--control]
 *               [--max-conns N] [--port-file FILE]
 *
 * Serves the files under DIR (GET and HEAD) on ADDR:N (default 127.0.0.1;
 * --port 0 takes a free port, written to --port-file when given).  Paths are
 * percent-decoded, stripped of their query and opened with openat2(2)
 * RESOLVE_BENEATH, so nothing outside DIR is reachable; a missing file, a
 * directory or an escape is 404.  Answers carry Content-Length, a strong ETag
 * ("<size hex>-<mtime ns hex>"), Last-Modified and Accept-Ranges;
 * If-None-Match (a list, or *) gives 304; Range "bytes=N-", "bytes=N-M" and
 * "bytes=-N" give 206 + Content-Range (416 when N is past the end; If-Range
 * is honoured, multiple ranges are ignored).  Connections are kept alive
 * (HTTP/1.1 default, "Connection: close" honoured; pipelining works).
 *
 * Faults.  A rule is one line:
 *
 *   GLOB COUNT KIND [ARG...]
 *
 * GLOB is an fnmatch(3) pattern without flags matched against the decoded
 * path, which starts with '/'; '*' also matches '/', so "*.json" matches
 * every JSON object at any depth.  COUNT is how many of the next matching requests the rule
 * applies to (a positive integer; it is removed when used up) or '*' for
 * every one.  Kinds:
 *
 *   status CODE         answer CODE (200..599) with a short text body
 *   reset               read the request, then RST (SO_LINGER 0 + close)
 *   reset-after BYTES   send the headers and BYTES body bytes, then RST
 *   truncate BYTES      declare the full Content-Length, send BYTES, close (FIN)
 *   stall               read the request, never answer (until the client leaves)
 *   stall-after BYTES   send the headers and BYTES body bytes, then stall
 *   slow BPS            throttle the body to BPS bytes per second
 *   corrupt [OFF [K]]   flip (xor 0xff) the body byte at offset OFF (default 0;
 *                       a file offset, so a Range answer is corrupt at the same
 *                       place) and, with K, every K-th byte after it
 *   body TEXT           answer 200 with TEXT (rest of line; \n \r \t \\ \xHH)
 *                       instead of the file, whether it exists or not
 *   redirect URL        answer 302 with Location: URL
 *   delay MS            wait MS milliseconds before answering
 *   ignore-range        answer 200 with the whole file even when Range asks
 *
 * Every active rule that matches applies and uses one of its COUNT, so rules
 * combine ("delay 500" + "status 503" is a late 503; "status 500" + "body
 * {...}" a 500 with that body; "slow" + "reset-after" a slow death); when two
 * set the same thing the later rule wins.  A BYTES limit larger than the body
 * sends the whole body, then acts.  Lines may be blank or '#' comments.
 *
 * Control (only with --control; never faulted, never counted):
 *
 *   curl -d '/head.json 2 status 503' http://H:P/_fault     add rules (one per
 *        line; use --data-binary @FILE for several; 400 + reason when any
 *        line is bad, and then none is added)
 *   curl http://H:P/_fault                  list active rules with their hits
 *   curl -X POST http://H:P/_fault/clear    remove every rule
 *   curl http://H:P/_stats                  counters as JSON (below)
 *   curl http://H:P/_stats.txt              the same as "key... value" lines
 *   curl -X POST http://H:P/_stats/reset    zero the counters
 *
 * Stats count every non-control request: "requests", per method ("GET"),
 * "status" (per code sent; "none" for reset and stall), "faults" (per kind
 * applied), all of these again under "paths" -> PATH, and "connections"
 * ("current", which includes the one asking; "total", "rejected", "peak").
 * /_stats.txt prints one counter per line, e.g. "paths /head.json status 304
 * 1", for tests without jq.
 *
 * Bounds: request head 16 KiB (431), request body 64 KiB (413), path 4 KiB
 * (414), 1000 rules, 10000 distinct paths in the stats, --max-conns open
 * connections (default 64; up to 8 more are answered 503 and closed, beyond
 * that the server stops accepting until one closes), 60 s to send a request.
 * One line per request goes to stderr:
 *
 *   faultserver: 127.0.0.1:41234 GET /head.json 304 range=- fault=-
 *
 * SIGTERM and SIGINT close everything and exit 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <linux/sockios.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HEAD_MAX (16 * 1024) /* request line + header fields */
#define BODY_MAX (64 * 1024) /* request body (control requests) */
#define PATH_LEN 4096        /* decoded request path, NUL included */
#define RULES_MAX 1000       /* active rules */
#define RULE_TEXT_MAX 65536  /* body TEXT / redirect URL */
#define RULES_FILE_MAX (1 << 20)
#define PATHS_MAX 10000  /* distinct paths in the stats */
#define RESERVE_CONNS 8  /* slots that only answer 503 */
#define CHUNK 65536      /* body bytes staged per send */
#define REQUEST_MS 60000 /* to send a whole request (and keep-alive idle) */
#define LINGER_MS 2000   /* reading after our FIN, before close */
#define DRAIN_MS 2000    /* waiting for the peer's ACKs before a RST */

static volatile sig_atomic_t stop_signal;

enum fault_kind {
	F_STATUS,
	F_RESET,
	F_RESET_AFTER,
	F_TRUNCATE,
	F_STALL,
	F_STALL_AFTER,
	F_SLOW,
	F_CORRUPT,
	F_BODY,
	F_REDIRECT,
	F_DELAY,
	F_IGNORE_RANGE,
	F__COUNT
};

enum arg_kind { A_NONE, A_NUM, A_OPTNUMS, A_TEXT, A_WORD };

static const struct kind_info {
	const char *name;
	enum arg_kind arg;
	long long min, max;
} kinds[F__COUNT] = {
    [F_STATUS] = {"status", A_NUM, 200, 599},
    [F_RESET] = {"reset", A_NONE, 0, 0},
    [F_RESET_AFTER] = {"reset-after", A_NUM, 0, LLONG_MAX},
    [F_TRUNCATE] = {"truncate", A_NUM, 0, LLONG_MAX},
    [F_STALL] = {"stall", A_NONE, 0, 0},
    [F_STALL_AFTER] = {"stall-after", A_NUM, 0, LLONG_MAX},
    [F_SLOW] = {"slow", A_NUM, 1, 1000000000},
    [F_CORRUPT] = {"corrupt", A_OPTNUMS, 0, LLONG_MAX},
    [F_BODY] = {"body", A_TEXT, 0, 0},
    [F_REDIRECT] = {"redirect", A_WORD, 0, 0},
    [F_DELAY] = {"delay", A_NUM, 0, 3600000},
    [F_IGNORE_RANGE] = {"ignore-range", A_NONE, 0, 0},
};

struct rule {
	char *glob;
	enum fault_kind kind;
	long long num;  /* CODE, BYTES, BPS, MS or corrupt's OFF */
	long long num2; /* corrupt's K (0: only OFF) */
	char *text;     /* body TEXT (unescaped) or redirect URL */
	size_t text_len;
	long long left; /* requests still to fault; -1: every one */
	unsigned long long hits;
	struct rule *next;
};

/* What to do after the body bytes a limit allows have been sent. */
enum after { AFTER_NONE, AFTER_RESET, AFTER_CLOSE, AFTER_STALL };

/* The faults one request gets, copied out of the rules (a rule may be
 * cleared while its request is delayed). */
struct plan {
	int status;
	bool reset, stall, ignore_range, corrupt;
	enum after after;
	long long after_bytes;
	long long bps;
	long long corrupt_at, corrupt_every;
	long long delay_ms;
	char *body; /* owned */
	size_t body_len;
	char *redirect; /* owned */
	char desc[256];
};

enum method { M_OTHER, M_GET, M_HEAD, M_POST };

struct req {
	enum method method;
	char method_name[16];
	char path[PATH_LEN];
	char range[128];
	char if_none_match[1024];
	char if_range[256];
	long long content_length;
	bool keepalive;
	bool expect_continue;
	size_t head_len;
};

struct resp {
	int status;
	bool has_body; /* false for HEAD, 304, 204: Content-Length is not sent */
	char head[4096];
	size_t head_len, head_off;
	bool head_overflow;
	int fd;           /* body from this file, or */
	char *mem;        /* from this owned buffer */
	long long pos;    /* offset in the file or buffer of the next body byte */
	long long left;   /* body bytes not yet staged */
	long long staged; /* body bytes staged so far */
	long long t0;     /* when the body started (for slow) */
	char buf[CHUNK];
	size_t buf_off, buf_len;
};

enum cstate { CS_READ, CS_DELAY, CS_WRITE, CS_DRAIN, CS_STALL, CS_LINGER, CS_CLOSED };

struct conn {
	int fd;
	enum cstate state;
	bool rejected; /* beyond --max-conns: answer 503 and close */
	bool peer_eof;
	bool keepalive;
	bool continue_sent;
	bool throttled;
	bool again; /* stopped with work left (pipelined requests): run soon */
	char peer[64];
	long long deadline;    /* ms, CLOCK_MONOTONIC; 0: none */
	long long drain_until; /* CS_DRAIN gives up waiting then */
	struct req req;
	struct plan plan;
	struct resp resp;
	size_t in_len;
	char in[HEAD_MAX + BODY_MAX];
};

struct server {
	int listen_fd;
	int root_fd;
	bool control;
	size_t max_conns;
	size_t nslots;
	struct conn **conns; /* nslots entries, NULL when free */
	size_t nconns;
	long long accept_pause_until;
	struct rule *rules;
	size_t nrules;
	json_t *stats;
	json_int_t conns_total, conns_rejected, conns_peak;
};

struct options {
	const char *root, *port, *bind, *rules, *port_file;
	bool control;
	long max_conns;
};

__attribute__((format(printf, 1, 2))) static void logmsg(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "faultserver: %s\n", line);
}

static long long now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

/* ------------------------------------------------------------------ rules */

/* Parses a decimal integer in [min, max] that is the whole of s. */
static int parse_num(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

/* Splits the next blank-separated token off *p (NUL-terminating it in place). */
static char *next_token(char **p)
{
	char *s = *p, *tok;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	tok = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return tok;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes \n \r \t \\ \xHH of s into a new buffer; -1 on a bad escape. */
static int unescape(const char *s, char **ret, size_t *ret_len)
{
	size_t n = 0, len = strlen(s);
	char *out = malloc(len + 1);

	if (out == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '\\') {
			c = s[++i];
			if (c == 'n')
				c = '\n';
			else if (c == 'r')
				c = '\r';
			else if (c == 't')
				c = '\t';
			else if (c == 'x' && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
				c = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
				i += 2;
			} else if (c != '\\') {
				free(out);
				return -1;
			}
		}
		out[n++] = c;
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
}

static void rule_free(struct rule *r)
{
	if (r == NULL)
		return;
	free(r->glob);
	free(r->text);
	free(r);
}

static void rules_free(struct rule *list)
{
	while (list != NULL) {
		struct rule *next = list->next;
		rule_free(list);
		list = next;
	}
}

static int find_kind(const char *name)
{
	for (int k = 0; k < F__COUNT; k++) {
		if (strcmp(kinds[k].name, name) == 0)
			return k;
	}
	return -1;
}

/* Reads KIND's arguments from the rest of the line p into r. */
static int rule_args(struct rule *r, char *p, char *err, size_t errlen)
{
	const struct kind_info *k = &kinds[r->kind];
	char *a, *b;

	if (k->arg == A_TEXT) { /* the rest of the line, leading blanks dropped */
		while (*p == ' ' || *p == '\t')
			p++;
		if (unescape(p, &r->text, &r->text_len) < 0 || r->text_len > RULE_TEXT_MAX) {
			(void)snprintf(err, errlen, "body: bad escape or longer than %d",
			               RULE_TEXT_MAX);
			return -1;
		}
		return 0;
	}
	a = next_token(&p);
	b = next_token(&p);
	if ((k->arg == A_NONE && a != NULL) || (k->arg != A_OPTNUMS && b != NULL) ||
	    next_token(&p) != NULL) {
		(void)snprintf(err, errlen, "%s: too many arguments", k->name);
		return -1;
	}
	if (k->arg == A_WORD) {
		if (a == NULL || strlen(a) > 2048 || (r->text = strdup(a)) == NULL) {
			(void)snprintf(err, errlen, "%s: wants one URL of at most 2048 bytes",
			               k->name);
			return -1;
		}
		r->text_len = strlen(a);
		return 0;
	}
	if ((k->arg == A_NUM && (a == NULL || parse_num(a, k->min, k->max, &r->num) < 0)) ||
	    (k->arg == A_OPTNUMS && a != NULL && parse_num(a, 0, LLONG_MAX, &r->num) < 0) ||
	    (k->arg == A_OPTNUMS && b != NULL && parse_num(b, 1, LLONG_MAX, &r->num2) < 0)) {
		(void)snprintf(err, errlen, "%s: bad or missing number (range %lld..%lld)", k->name,
		               k->min, k->max);
		return -1;
	}
	return 0;
}

/* Parses one rule line (modified in place).  Returns 0 with *ret a new rule,
 * 0 with *ret NULL for a blank or comment line, -1 with err set. */
static int rule_parse(char *line, struct rule **ret, char *err, size_t errlen)
{
	char *p = line, *glob, *count, *kind;
	struct rule *r = NULL;
	int k;

	*ret = NULL;
	glob = next_token(&p);
	if (glob == NULL || glob[0] == '#')
		return 0;
	count = next_token(&p);
	kind = next_token(&p);
	if (kind == NULL || (k = find_kind(kind)) < 0) {
		(void)snprintf(err, errlen,
		               "want GLOB COUNT KIND [ARG...], kind one of status reset "
		               "reset-after truncate stall stall-after slow corrupt body "
		               "redirect delay ignore-range");
		return -1;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->glob = strdup(glob)) == NULL)
		goto fail;
	r->kind = (enum fault_kind)k;
	if (strcmp(count, "*") == 0)
		r->left = -1;
	else if (parse_num(count, 1, 1000000000, &r->left) < 0) {
		(void)snprintf(err, errlen, "COUNT '%s': want 1..1000000000 or *", count);
		goto fail;
	}
	if (rule_args(r, p, err, errlen) < 0)
		goto fail;
	*ret = r;
	return 0;
fail:
	if (r == NULL || r->glob == NULL)
		(void)snprintf(err, errlen, "out of memory");
	rule_free(r);
	return -1;
}

/* Parses rule lines from text (len bytes, no NUL inside) into a new list
 * (*ret_list, *ret_n); on error sets err to "ORIGIN:LINE: reason". */
static int rules_parse_text(const char *text, size_t len, const char *origin,
                            struct rule **ret_list, size_t *ret_n, char *err, size_t errlen)
{
	struct rule *head = NULL, **tail = &head;
	size_t n = 0, lineno = 0;
	char line[RULE_TEXT_MAX + 4096], why[256];

	for (size_t off = 0; off < len; lineno++) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t l = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		if (memchr(text + off, '\0', l) != NULL || l >= sizeof(line)) {
			(void)snprintf(why, sizeof(why), "NUL byte or line too long");
			goto bad;
		}
		memcpy(line, text + off, l);
		line[l] = '\0';
		if (l > 0 && line[l - 1] == '\r')
			line[l - 1] = '\0';
		off += l + 1;
		if (rule_parse(line, tail, why, sizeof(why)) < 0)
			goto bad;
		if (*tail != NULL) {
			tail = &(*tail)->next;
			n++;
		}
	}
	*ret_list = head;
	*ret_n = n;
	return 0;
bad:
	(void)snprintf(err, errlen, "%s:%zu: %s", origin, lineno + 1, why);
	rules_free(head);
	return -1;
}

/* Appends a parsed list (stolen) to the server's rules. */
static int rules_add(struct server *s, struct rule *list, size_t n, char *err, size_t errlen)
{
	struct rule **tail = &s->rules;

	if (s->nrules + n > RULES_MAX) {
		(void)snprintf(err, errlen, "too many rules (at most %d active)", RULES_MAX);
		rules_free(list);
		return -1;
	}
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = list;
	s->nrules += n;
	return 0;
}

static void rules_clear(struct server *s)
{
	rules_free(s->rules);
	s->rules = NULL;
	s->nrules = 0;
}

/* Writes text escaped the way "body" reads it. */
static void print_escaped(FILE *out, const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\\')
			(void)fputs("\\\\", out);
		else if (c > ' ' && c < 0x7f)
			(void)fputc(c, out);
		else
			(void)fprintf(out, "\\x%02x", c);
	}
}

/* One rule in its input syntax, followed by its hit count. */
static void rule_print(FILE *out, const struct rule *r)
{
	(void)fprintf(out, "%s ", r->glob);
	if (r->left < 0)
		(void)fputs("* ", out);
	else
		(void)fprintf(out, "%lld ", r->left);
	(void)fputs(kinds[r->kind].name, out);
	if (kinds[r->kind].arg == A_NUM || (r->kind == F_CORRUPT))
		(void)fprintf(out, " %lld", r->num);
	if (r->kind == F_CORRUPT && r->num2 > 0)
		(void)fprintf(out, " %lld", r->num2);
	if (r->text != NULL) {
		(void)fputc(' ', out);
		print_escaped(out, r->text, r->text_len);
	}
	(void)fprintf(out, "  # hits %llu\n", r->hits);
}

/* --------------------------------------------------------------- the plan */

static void plan_free(struct plan *p)
{
	free(p->body);
	free(p->redirect);
	memset(p, 0, sizeof(*p));
}

static int plan_copy_text(char **dst, size_t *ret_len, const struct rule *r)
{
	char *t = malloc(r->text_len + 1);

	if (t == NULL)
		return -1;
	memcpy(t, r->text, r->text_len + 1);
	free(*dst);
	*dst = t;
	if (ret_len != NULL)
		*ret_len = r->text_len;
	return 0;
}

/* Adds rule r's fault to plan p. */
static int plan_apply(struct plan *p, const struct rule *r)
{
	size_t d = strlen(p->desc);

	switch (r->kind) {
	case F_STATUS:
		p->status = (int)r->num;
		break;
	case F_RESET:
		p->reset = true;
		break;
	case F_RESET_AFTER:
		p->after = AFTER_RESET;
		p->after_bytes = r->num;
		break;
	case F_TRUNCATE:
		p->after = AFTER_CLOSE;
		p->after_bytes = r->num;
		break;
	case F_STALL:
		p->stall = true;
		break;
	case F_STALL_AFTER:
		p->after = AFTER_STALL;
		p->after_bytes = r->num;
		break;
	case F_SLOW:
		p->bps = r->num;
		break;
	case F_CORRUPT:
		p->corrupt = true;
		p->corrupt_at = r->num;
		p->corrupt_every = r->num2;
		break;
	case F_BODY:
		if (plan_copy_text(&p->body, &p->body_len, r) < 0)
			return -1;
		break;
	case F_REDIRECT:
		if (plan_copy_text(&p->redirect, NULL, r) < 0)
			return -1;
		break;
	case F_DELAY:
		p->delay_ms = r->num;
		break;
	case F_IGNORE_RANGE:
		p->ignore_range = true;
		break;
	case F__COUNT:
		return -1;
	}
	if (kinds[r->kind].arg == A_NUM || r->kind == F_CORRUPT)
		(void)snprintf(p->desc + d, sizeof(p->desc) - d, "%s%s %lld", d > 0 ? "," : "",
		               kinds[r->kind].name, r->num);
	else
		(void)snprintf(p->desc + d, sizeof(p->desc) - d, "%s%s", d > 0 ? "," : "",
		               kinds[r->kind].name);
	return 0;
}

/* ------------------------------------------------------------------ stats */

/* Adds by to the integer obj[key], creating it. */
static int stat_add(json_t *obj, const char *key, json_int_t by)
{
	json_t *v = json_object_get(obj, key);

	if (v != NULL)
		return json_integer_set(v, json_integer_value(v) + by);
	return json_object_set_new(obj, key, json_integer(by));
}

/* obj[key] as an object, created when absent (NULL when out of memory). */
static json_t *stat_child(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (v != NULL)
		return v;
	v = json_object();
	if (json_object_set_new(obj, key, v) < 0)
		return NULL;
	return v;
}

static json_t *stats_new(void)
{
	return json_pack("{s:i, s:{}, s:{}, s:{}}", "requests", 0, "status", "faults", "paths");
}

/* The stats object of path (the shared "(other)" once PATHS_MAX are known). */
static json_t *stats_path(struct server *s, const char *path)
{
	json_t *paths = stat_child(s->stats, "paths");

	if (paths == NULL)
		return NULL;
	if (json_object_get(paths, path) == NULL && json_object_size(paths) >= PATHS_MAX)
		path = "(other)";
	return stat_child(paths, path);
}

/* Counts key (in group when not NULL) at the top and under path. */
static void stats_count(struct server *s, const char *path, const char *group, const char *key)
{
	json_t *objs[2] = {s->stats, stats_path(s, path)};
	int r = 0;

	for (int i = 0; i < 2; i++) {
		json_t *o = objs[i];
		if (o != NULL && group != NULL)
			o = stat_child(o, group);
		r |= o == NULL ? -1 : stat_add(o, key, 1);
	}
	if (r < 0)
		logmsg("stats: out of memory counting %s", key);
}

static void stats_status(struct server *s, const char *path, int status)
{
	char code[16] = "none";

	if (status > 0)
		(void)snprintf(code, sizeof(code), "%d", status);
	stats_count(s, path, "status", code);
}

/* The stats with the connection counters, as a new JSON text. */
static char *stats_dump(struct server *s)
{
	json_t *c = json_pack("{s:I, s:I, s:I, s:I}", "current", (json_int_t)s->nconns, "total",
	                      s->conns_total, "rejected", s->conns_rejected, "peak", s->conns_peak);

	if (c == NULL || json_object_set_new(s->stats, "connections", c) < 0)
		return NULL;
	return json_dumps(s->stats, JSON_INDENT(1) | JSON_SORT_KEYS);
}

/* Zeroes every counter; "connections" restarts from the ones open now. */
static int stats_reset(struct server *s)
{
	json_t *fresh = stats_new();

	if (fresh == NULL)
		return -1;
	json_decref(s->stats);
	s->stats = fresh;
	s->conns_total = s->conns_rejected = 0;
	s->conns_peak = (json_int_t)s->nconns;
	return 0;
}

/* Prints obj as "key key ... value" lines. */
static void stats_text(FILE *out, json_t *obj, const char *prefix)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		if (json_is_object(v)) {
			char *p = NULL;
			if (asprintf(&p, "%s%s ", prefix, key) < 0)
				continue;
			stats_text(out, v, p);
			free(p);
		} else {
			(void)fprintf(out, "%s%s %" JSON_INTEGER_FORMAT "\n", prefix, key,
			              json_integer_value(v));
		}
	}
}

/* ------------------------------------------------------- request parsing */

/* Length of the request head (through the blank line) in buf, 0 if incomplete. */
static size_t head_end(const char *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
			return i + 3;
	}
	return 0;
}

/* Decodes the origin-form target into path (query dropped); an HTTP status on error. */
static int decode_target(const char *t, size_t len, char *path)
{
	size_t n = 0;

	if (len == 0 || t[0] != '/')
		return 400;
	for (size_t i = 0; i < len && t[i] != '?' && t[i] != '#'; i++) {
		int c = (unsigned char)t[i];
		if (c == '%') {
			if (i + 2 >= len || hexval(t[i + 1]) < 0 || hexval(t[i + 2]) < 0)
				return 400;
			c = hexval(t[i + 1]) * 16 + hexval(t[i + 2]);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return 400;
		if (n + 1 >= PATH_LEN)
			return 414;
		path[n++] = (char)c;
	}
	path[n] = '\0';
	return 0;
}

static int parse_request_line(const char *line, size_t len, struct req *r)
{
	const char *sp1 = memchr(line, ' ', len), *sp2, *end = line + len;
	size_t mlen;

	if (sp1 == NULL || (sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))) == NULL)
		return 400;
	mlen = (size_t)(sp1 - line);
	if (mlen == 0 || mlen >= sizeof(r->method_name))
		return 501;
	memcpy(r->method_name, line, mlen);
	r->method_name[mlen] = '\0';
	r->method = strcmp(r->method_name, "GET") == 0    ? M_GET
	            : strcmp(r->method_name, "HEAD") == 0 ? M_HEAD
	            : strcmp(r->method_name, "POST") == 0 ? M_POST
	                                                  : M_OTHER;
	if (end - sp2 - 1 != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1'))
		return 505;
	r->keepalive = sp2[8] == '1';
	return decode_target(sp1 + 1, (size_t)(sp2 - sp1 - 1), r->path);
}

static bool header_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && strncasecmp(name, want, nlen) == 0;
}

static int copy_value(char *dst, size_t size, const char *v, size_t vlen)
{
	if (vlen >= size)
		return 431;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
	return 0;
}

/* Applies the tokens of a Connection header to the keep-alive decision. */
static void connection_tokens(struct req *r, const char *v, size_t vlen)
{
	char tok[64];
	size_t i = 0;

	while (i < vlen) {
		size_t n = 0;
		while (i < vlen && (v[i] == ' ' || v[i] == ','))
			i++;
		while (i < vlen && v[i] != ',' && v[i] != ' ' && n + 1 < sizeof(tok))
			tok[n++] = v[i++];
		while (i < vlen && v[i] != ',')
			i++;
		tok[n] = '\0';
		if (strcasecmp(tok, "close") == 0)
			r->keepalive = false;
		else if (strcasecmp(tok, "keep-alive") == 0)
			r->keepalive = true;
	}
}

static int parse_header(const char *line, size_t len, struct req *r)
{
	const char *colon = memchr(line, ':', len), *v, *end = line + len;
	size_t nlen;
	long long cl;
	char num[24];

	if (colon == NULL || colon == line || line[0] == ' ' || line[0] == '\t')
		return 400;
	nlen = (size_t)(colon - line);
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	len = (size_t)(end - v);
	if (header_is(line, nlen, "Range"))
		return copy_value(r->range, sizeof(r->range), v, len);
	if (header_is(line, nlen, "If-None-Match"))
		return copy_value(r->if_none_match, sizeof(r->if_none_match), v, len);
	if (header_is(line, nlen, "If-Range"))
		return copy_value(r->if_range, sizeof(r->if_range), v, len);
	if (header_is(line, nlen, "Connection"))
		connection_tokens(r, v, len);
	if (header_is(line, nlen, "Expect"))
		r->expect_continue = len == 12 && strncasecmp(v, "100-continue", 12) == 0;
	if (header_is(line, nlen, "Transfer-Encoding"))
		return 501;
	if (header_is(line, nlen, "Content-Length")) {
		if (copy_value(num, sizeof(num), v, len) != 0 ||
		    parse_num(num, 0, LLONG_MAX, &cl) < 0 ||
		    (r->content_length >= 0 && r->content_length != cl))
			return 400;
		if (cl > BODY_MAX)
			return 413;
		r->content_length = cl;
	}
	return 0;
}

/* Parses the request at the start of buf: 0 when its head is complete (*r
 * filled, body not checked), 1 when more bytes are needed, else the HTTP
 * status to answer before closing. */
static int req_parse(const char *buf, size_t len, struct req *r)
{
	size_t end = head_end(buf, len < HEAD_MAX ? len : HEAD_MAX), off = 0;
	bool first = true;
	int st = 0;

	if (end == 0)
		return len >= HEAD_MAX ? 431 : 1;
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->head_len = end;
	while (off < end && st == 0) {
		const char *line = buf + off, *nl = memchr(line, '\n', end - off);
		size_t l = (size_t)(nl - line);
		off += l + 1;
		if (l > 0 && line[l - 1] == '\r')
			l--;
		if (l == 0)
			break;
		st = first ? parse_request_line(line, l, r) : parse_header(line, l, r);
		first = false;
	}
	if (st == 0 && first)
		return 1;
	if (r->content_length < 0)
		r->content_length = 0;
	return st;
}

/* ------------------------------------------------------------- responses */

static const char *reason(int status)
{
	static const struct {
		int code;
		const char *text;
	} t[] = {{100, "Continue"},
	         {200, "OK"},
	         {204, "No Content"},
	         {206, "Partial Content"},
	         {301, "Moved Permanently"},
	         {302, "Found"},
	         {304, "Not Modified"},
	         {307, "Temporary Redirect"},
	         {400, "Bad Request"},
	         {401, "Unauthorized"},
	         {403, "Forbidden"},
	         {404, "Not Found"},
	         {405, "Method Not Allowed"},
	         {408, "Request Timeout"},
	         {409, "Conflict"},
	         {412, "Precondition Failed"},
	         {413, "Content Too Large"},
	         {414, "URI Too Long"},
	         {416, "Range Not Satisfiable"},
	         {429, "Too Many Requests"},
	         {431, "Request Header Fields Too Large"},
	         {500, "Internal Server Error"},
	         {501, "Not Implemented"},
	         {502, "Bad Gateway"},
	         {503, "Service Unavailable"},
	         {504, "Gateway Timeout"},
	         {505, "HTTP Version Not Supported"}};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (t[i].code == status)
			return t[i].text;
	}
	return "Fault";
}

__attribute__((format(printf, 2, 3))) static void resp_header(struct resp *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(r->head + r->head_len, sizeof(r->head) - r->head_len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(r->head) - r->head_len)
		r->head_overflow = true;
	else
		r->head_len += (size_t)n;
}

static void http_date(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		(void)snprintf(buf, size, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* Starts the head of a response whose body is length bytes (a HEAD request
 * or a bodiless status gets no body; 304 and 204 no Content-Length). */
static void resp_begin(struct conn *c, int status, long long length, const char *ctype)
{
	struct resp *r = &c->resp;
	char date[64];

	r->status = status;
	r->has_body = status != 304 && status != 204 && c->req.method != M_HEAD;
	http_date(time(NULL), date, sizeof(date));
	resp_header(r, "HTTP/1.1 %d %s\r\nServer: faultserver\r\nDate: %s\r\n", status,
	            reason(status), date);
	if (status != 304 && status != 204)
		resp_header(r, "Content-Length: %lld\r\nContent-Type: %s\r\n", length, ctype);
	resp_header(r, "Connection: %s\r\n", c->keepalive ? "keep-alive" : "close");
}

/* The body: length bytes of fd (stolen) from offset pos, or of mem (stolen). */
static void resp_body(struct conn *c, int fd, char *mem, long long pos, long long length)
{
	struct resp *r = &c->resp;

	r->fd = fd;
	r->mem = mem;
	r->pos = pos;
	r->left = r->has_body ? length : 0;
	r->t0 = now_ms();
}

static void resp_clear(struct resp *r)
{
	if (r->fd >= 0)
		(void)close(r->fd);
	free(r->mem);
	memset(r, 0, offsetof(struct resp, buf));
	r->fd = -1;
	r->buf_off = r->buf_len = 0;
}

/* A response with a body copied from text (len bytes). */
static int respond_text(struct conn *c, int status, const char *ctype, const char *text, size_t len)
{
	char *mem = malloc(len + 1);

	if (mem == NULL)
		return -1;
	memcpy(mem, text, len);
	resp_begin(c, status, (long long)len, ctype);
	resp_header(&c->resp, "\r\n");
	resp_body(c, -1, mem, 0, (long long)len);
	return 0;
}

static int respond_msg(struct conn *c, int status, const char *msg)
{
	return respond_text(c, status, "text/plain", msg, strlen(msg));
}

static const char *content_type(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot != NULL && strcmp(dot, ".json") == 0)
		return "application/json";
	if (dot != NULL && strcmp(dot, ".ndjson") == 0)
		return "application/x-ndjson";
	if (dot != NULL && strcmp(dot, ".txt") == 0)
		return "text/plain";
	return "application/octet-stream";
}

/* ----------------------------------------------------------------- files */

/* Opens path (absolute, decoded) under root_fd, never outside it. */
static int open_beneath(int root_fd, const char *path)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};

	while (*path == '/')
		path++;
	if (*path == '\0')
		return -1;
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

static void make_etag(const struct stat *st, char *buf, size_t size)
{
	unsigned long long ns = (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
	                        (unsigned long long)st->st_mtim.tv_nsec;

	(void)snprintf(buf, size, "\"%llx-%llx\"", (unsigned long long)st->st_size, ns);
}

/* If-None-Match list matching (weak comparison, RFC 9110 13.1.2). */
static bool etag_list_match(const char *list, const char *etag)
{
	size_t elen = strlen(etag);

	for (const char *p = list; *p != '\0';) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		size_t n = strcspn(p, ", \t");
		if (n == elen && strncmp(p, etag, n) == 0)
			return true;
		p += n;
	}
	return false;
}

/* Range header against a file of size bytes: 200 (ignore it), 206 with
 * *start and *len set, or 416. */
static int parse_range(const char *h, long long size, long long *start, long long *len)
{
	char buf[128], *dash;
	long long a = -1, b = -1;

	if (strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 200;
	(void)snprintf(buf, sizeof(buf), "%s", h + 6);
	dash = strchr(buf, '-');
	if (dash == NULL)
		return 200;
	*dash = '\0';
	if ((buf[0] != '\0' && parse_num(buf, 0, LLONG_MAX, &a) < 0) ||
	    (dash[1] != '\0' && parse_num(dash + 1, 0, LLONG_MAX, &b) < 0) || (a < 0 && b < 0) ||
	    (a >= 0 && b >= 0 && b < a))
		return 200;
	if (a < 0) { /* suffix: the last b bytes */
		if (b == 0 || size == 0)
			return 416;
		a = size - min_ll(b, size);
		b = size - 1;
	}
	if (a >= size)
		return 416;
	if (b < 0 || b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return 206;
}

static int respond_416(struct conn *c, long long size)
{
	static const char msg[] = "range not satisfiable\n";
	char *mem = strdup(msg);

	if (mem == NULL)
		return -1;
	resp_begin(c, 416, (long long)strlen(msg), "text/plain");
	resp_header(&c->resp, "Content-Range: bytes */%lld\r\n\r\n", size);
	resp_body(c, -1, mem, 0, (long long)strlen(msg));
	return 0;
}

/* Answers from the file at the request's path: 404, 304, 416, 206 or 200. */
static int respond_file(struct server *s, struct conn *c)
{
	struct req *q = &c->req;
	long long start = 0, len;
	char etag[64], date[64];
	struct stat st;
	int fd = open_beneath(s->root_fd, q->path), code = 200;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			(void)close(fd);
		return respond_msg(c, 404, "not found\n");
	}
	make_etag(&st, etag, sizeof(etag));
	len = st.st_size;
	if (q->if_none_match[0] != '\0' && etag_list_match(q->if_none_match, etag))
		code = 304;
	else if (q->range[0] != '\0' && !c->plan.ignore_range &&
	         (q->if_range[0] == '\0' || strcmp(q->if_range, etag) == 0))
		code = parse_range(q->range, st.st_size, &start, &len);
	if (code == 416) {
		(void)close(fd);
		return respond_416(c, st.st_size);
	}
	resp_begin(c, code, len, content_type(q->path));
	http_date(st.st_mtim.tv_sec, date, sizeof(date));
	resp_header(&c->resp, "ETag: %s\r\nLast-Modified: %s\r\nAccept-Ranges: bytes\r\n", etag,
	            date);
	if (code == 206)
		resp_header(&c->resp, "Content-Range: bytes %lld-%lld/%lld\r\n", start,
		            start + len - 1, (long long)st.st_size);
	resp_header(&c->resp, "\r\n");
	resp_body(c, fd, NULL, start, code == 304 ? 0 : len);
	return 0;
}

/* FNV-1a, for the ETag of a "body" fault's text. */
static unsigned long long fnv1a(const char *p, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

/* Answers as the plan's status / redirect / body faults say. */
static int respond_fault(struct conn *c)
{
	struct plan *p = &c->plan;
	int status = p->redirect != NULL ? 302 : p->status > 0 ? p->status : 200;
	char msg[64];

	if (p->body == NULL) {
		(void)snprintf(msg, sizeof(msg), "faultserver: %d\n", status);
		p->body = strdup(p->redirect != NULL ? "" : msg);
		if (p->body == NULL)
			return -1;
		p->body_len = strlen(p->body);
	}
	resp_begin(c, status, (long long)p->body_len,
	           status == 200 ? content_type(c->req.path) : "text/plain");
	if (p->redirect != NULL)
		resp_header(&c->resp, "Location: %s\r\n", p->redirect);
	if (status == 200)
		resp_header(&c->resp, "ETag: \"body-%llx\"\r\n", fnv1a(p->body, p->body_len));
	resp_header(&c->resp, "\r\n");
	resp_body(c, -1, p->body, 0, (long long)p->body_len);
	p->body = NULL;
	return 0;
}

/* ------------------------------------------------------------ connections */

static void log_request(struct conn *c, int status)
{
	char st[16] = "-";

	if (status > 0)
		(void)snprintf(st, sizeof(st), "%d", status);
	logmsg("%s %s %s %s range=%s fault=%s", c->peer, c->req.method_name, c->req.path, st,
	       c->req.range[0] != '\0' ? c->req.range : "-",
	       c->plan.desc[0] != '\0' ? c->plan.desc : "-");
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	c->state = CS_CLOSED;
}

/* Closes with a RST: the peer sees ECONNRESET, not an end of stream. */
static void conn_reset(struct conn *c)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	(void)setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	conn_close(c);
}

/* Sends our FIN, then reads until the peer's (so unread input cannot turn
 * our close into a RST that would destroy the answer in flight). */
static void conn_linger(struct conn *c)
{
	(void)shutdown(c->fd, SHUT_WR);
	c->state = CS_LINGER;
	c->deadline = now_ms() + LINGER_MS;
}

static void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		(void)close(c->fd);
	resp_clear(&c->resp);
	plan_free(&c->plan);
	free(c);
}

/* Removes the first n input bytes (an answered request). */
static void conn_consume(struct conn *c, size_t n)
{
	memmove(c->in, c->in + n, c->in_len - n);
	c->in_len -= n;
}

/* Faults and answers a file request now (after any delay). */
static void conn_respond(struct server *s, struct conn *c)
{
	struct plan *p = &c->plan;
	int r;

	if (p->reset || p->stall) {
		log_request(c, 0);
		stats_status(s, c->req.path, 0);
		if (p->reset) {
			conn_reset(c);
			return;
		}
		c->state = CS_STALL;
		c->deadline = 0;
		return;
	}
	if (p->redirect != NULL || p->status > 0 || p->body != NULL)
		r = respond_fault(c);
	else
		r = respond_file(s, c);
	if (r < 0 || c->resp.head_overflow) {
		logmsg("%s %s: out of memory or head too long", c->peer, c->req.path);
		conn_close(c);
		return;
	}
	log_request(c, c->resp.status);
	stats_status(s, c->req.path, c->resp.status);
	c->state = CS_WRITE;
}

/* Builds the plan from every active rule matching path. */
static int conn_plan(struct server *s, struct conn *c)
{
	struct rule **rp = &s->rules;

	while (*rp != NULL) {
		struct rule *r = *rp;
		if (fnmatch(r->glob, c->req.path, 0) != 0) {
			rp = &r->next;
			continue;
		}
		r->hits++;
		stats_count(s, c->req.path, "faults", kinds[r->kind].name);
		if (plan_apply(&c->plan, r) < 0)
			return -1;
		if (r->left > 0 && --r->left == 0) {
			*rp = r->next;
			rule_free(r);
			s->nrules--;
			continue;
		}
		rp = &r->next;
	}
	return 0;
}

static void file_request(struct server *s, struct conn *c)
{
	stats_count(s, c->req.path, NULL, "requests");
	stats_count(s, c->req.path, NULL, c->req.method_name);
	if (c->req.method != M_GET && c->req.method != M_HEAD) {
		if (respond_msg(c, 405, "method not allowed\n") < 0) {
			conn_close(c);
			return;
		}
		log_request(c, 405);
		stats_status(s, c->req.path, 405);
		c->state = CS_WRITE;
		return;
	}
	if (conn_plan(s, c) < 0) {
		logmsg("%s %s: out of memory", c->peer, c->req.path);
		conn_close(c);
		return;
	}
	if (c->plan.delay_ms > 0) {
		c->state = CS_DELAY;
		c->deadline = now_ms() + c->plan.delay_ms;
		return;
	}
	conn_respond(s, c);
}

/* ---------------------------------------------------------------- control */

static int control_add(struct server *s, struct conn *c, const char *body, size_t len)
{
	struct rule *list = NULL;
	size_t n = 0;
	char err[512], msg[64];

	if (rules_parse_text(body, len, "rule", &list, &n, err, sizeof(err)) < 0 ||
	    rules_add(s, list, n, err, sizeof(err)) < 0) {
		logmsg("control: %s", err);
		(void)strncat(err, "\n", sizeof(err) - strlen(err) - 1);
		return respond_msg(c, 400, err);
	}
	(void)snprintf(msg, sizeof(msg), "added %zu\n", n);
	return respond_msg(c, 200, msg);
}

static int control_list(struct server *s, struct conn *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int r;

	if (out == NULL)
		return -1;
	for (const struct rule *rl = s->rules; rl != NULL; rl = rl->next)
		rule_print(out, rl);
	if (fclose(out) != 0) {
		free(text);
		return -1;
	}
	r = respond_text(c, 200, "text/plain", text, len);
	free(text);
	return r;
}

static int control_stats(struct server *s, struct conn *c, bool text)
{
	char *json = stats_dump(s), *out = NULL;
	size_t len = 0;
	FILE *f;
	int r = -1;

	if (json == NULL)
		return -1;
	if (!text) {
		r = respond_text(c, 200, "application/json", json, strlen(json));
		free(json);
		return r;
	}
	free(json);
	f = open_memstream(&out, &len);
	if (f == NULL)
		return -1;
	stats_text(f, s->stats, "");
	if (fclose(f) == 0)
		r = respond_text(c, 200, "text/plain", out, len);
	free(out);
	return r;
}

/* The control endpoints; false when path is not one (then it is a file). */
static bool control_request(struct server *s, struct conn *c, const char *body, size_t len)
{
	const char *p = c->req.path;
	bool get = c->req.method == M_GET || c->req.method == M_HEAD;
	bool post = c->req.method == M_POST;
	int r;

	if (strcmp(p, "/_fault") == 0 && post)
		r = control_add(s, c, body, len);
	else if (strcmp(p, "/_fault") == 0 && get)
		r = control_list(s, c);
	else if (strcmp(p, "/_fault/clear") == 0 && (get || post)) {
		rules_clear(s);
		r = respond_msg(c, 200, "cleared\n");
	} else if ((strcmp(p, "/_stats") == 0 || strcmp(p, "/_stats.txt") == 0) && get)
		r = control_stats(s, c, p[7] == '.');
	else if (strcmp(p, "/_stats/reset") == 0 && (get || post))
		r = stats_reset(s) < 0 ? -1 : respond_msg(c, 200, "reset\n");
	else if (strncmp(p, "/_fault", 7) == 0 || strncmp(p, "/_stats", 7) == 0)
		r = respond_msg(c, 405, "method not allowed\n");
	else
		return false;
	if (r < 0 || c->resp.head_overflow) {
		conn_close(c);
		return true;
	}
	logmsg("%s %s %s %d control", c->peer, c->req.method_name, p, c->resp.status);
	c->state = CS_WRITE;
	return true;
}

/* ------------------------------------------------------ connection states */

/* Answers a request the parser refused, then closes. */
static void conn_bad_request(struct conn *c, int status)
{
	char msg[64];

	c->keepalive = false;
	(void)snprintf(msg, sizeof(msg), "%d %s\n", status, reason(status));
	logmsg("%s bad request: %d %s", c->peer, status, reason(status));
	if (respond_msg(c, status, msg) < 0) {
		conn_close(c);
		return;
	}
	c->state = CS_WRITE;
}

static int send_continue(struct conn *c)
{
	static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";

	c->continue_sent = true;
	return send(c->fd, msg, sizeof(msg) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(msg) - 1) ? 0
	                                                                                     : -1;
}

/* Handles the request at the head of the input if it is complete: 1 when
 * handled (state changed), 0 when more input is needed. */
static int conn_try_request(struct server *s, struct conn *c)
{
	struct req *q = &c->req;
	size_t skip = 0, total;
	int st;

	while (skip < c->in_len && (c->in[skip] == '\r' || c->in[skip] == '\n'))
		skip++;
	conn_consume(c, skip); /* RFC 9112 2.2: ignore CRLF before a request line */
	st = req_parse(c->in, c->in_len, q);
	if (st == 1)
		return 0;
	if (st != 0) {
		conn_bad_request(c, st);
		return 1;
	}
	total = q->head_len + (size_t)q->content_length;
	if (c->in_len < total) {
		if (q->expect_continue && !c->continue_sent && send_continue(c) < 0)
			conn_close(c);
		return c->state == CS_CLOSED;
	}
	c->keepalive = q->keepalive && !c->peer_eof && !c->rejected;
	if (c->rejected) {
		log_request(c, 503);
		if (respond_msg(c, 503, "too many connections\n") == 0)
			c->state = CS_WRITE;
		else
			conn_close(c);
	} else if (!s->control || !control_request(s, c, c->in + q->head_len, q->content_length))
		file_request(s, c);
	conn_consume(c, total);
	return 1;
}

static int st_read(struct server *s, struct conn *c)
{
	for (;;) {
		if (conn_try_request(s, c) > 0)
			return 1;
		if (c->peer_eof || now_ms() >= c->deadline || c->in_len == sizeof(c->in)) {
			conn_close(c);
			return 0;
		}
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
		if (n > 0)
			c->in_len += (size_t)n;
		else if (n == 0)
			c->peer_eof = true;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		else if (errno != EINTR) {
			conn_close(c);
			return 0;
		}
	}
}

static int st_delay(struct server *s, struct conn *c)
{
	if (now_ms() < c->deadline)
		return 0;
	c->deadline = 0;
	conn_respond(s, c);
	return 1;
}

/* Sends what is staged (head, then body bytes): 1 all sent, 0 would block, -1 error. */
static int resp_flush(struct conn *c)
{
	struct resp *r = &c->resp;

	for (;;) {
		const char *p = r->head + r->head_off;
		size_t n = r->head_len - r->head_off;
		if (n == 0) {
			p = r->buf + r->buf_off;
			n = r->buf_len - r->buf_off;
		}
		if (n == 0)
			return 1;
		ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (r->head_off < r->head_len)
			r->head_off += (size_t)w;
		else
			r->buf_off += (size_t)w;
	}
}

/* Flips the bytes the corrupt fault names in buf (n bytes at offset pos). */
static void corrupt_apply(const struct plan *p, char *buf, size_t n, long long pos)
{
	long long q = p->corrupt_at;

	if (p->corrupt_every > 0 && pos > q)
		q += (pos - q + p->corrupt_every - 1) / p->corrupt_every * p->corrupt_every;
	for (; q < pos + (long long)n; q += p->corrupt_every) {
		if (q >= pos)
			buf[q - pos] ^= (char)0xff;
		if (p->corrupt_every == 0)
			break;
	}
}

/* How many body bytes slow lets out now (0: the deadline is set for later). */
static long long throttle(struct conn *c, long long want)
{
	long long bps = c->plan.bps, now = now_ms();
	long long budget = bps * (now - c->resp.t0) / 1000 - c->resp.staged;
	long long slice = min_ll(want, bps / 20 > 0 ? bps / 20 : 1);

	if (budget >= slice)
		return min_ll(budget, want);
	c->throttled = true;
	c->deadline = c->resp.t0 + ((c->resp.staged + slice) * 1000 + bps - 1) / bps;
	if (c->deadline <= now)
		c->deadline = now + 1;
	return 0;
}

/* Stages the next body bytes: 1 staged, 0 throttled, 2 nothing left to send
 * (body done or the fault's byte limit reached), -1 error. */
static int resp_stage(struct conn *c)
{
	struct resp *r = &c->resp;
	long long n = r->left;
	ssize_t got;

	if (c->plan.after != AFTER_NONE)
		n = min_ll(n,
		           c->plan.after_bytes > r->staged ? c->plan.after_bytes - r->staged : 0);
	if (n == 0)
		return 2;
	n = min_ll(n, CHUNK);
	if (c->plan.bps > 0 && (n = throttle(c, n)) == 0)
		return 0;
	if (r->mem != NULL)
		memcpy(r->buf, r->mem + r->pos, (size_t)n);
	else if ((got = pread(r->fd, r->buf, (size_t)n, r->pos)) != n) {
		logmsg("%s %s: read: %s", c->peer, c->req.path,
		       got < 0 ? strerror(errno) : "file shrank");
		return -1;
	}
	if (c->plan.corrupt)
		corrupt_apply(&c->plan, r->buf, (size_t)n, r->pos);
	r->pos += n;
	r->left -= n;
	r->staged += n;
	r->buf_off = 0;
	r->buf_len = (size_t)n;
	return 1;
}

/* The response went out as far as it will: act as the fault says, or take
 * the next request. */
static int resp_finish(struct conn *c)
{
	enum after after = c->plan.after;

	resp_clear(&c->resp);
	plan_free(&c->plan);
	c->continue_sent = false;
	switch (after) {
	case AFTER_RESET:
		c->state = CS_DRAIN;
		c->drain_until = now_ms() + DRAIN_MS;
		return 1;
	case AFTER_STALL:
		c->state = CS_STALL;
		c->deadline = 0;
		return 0;
	case AFTER_CLOSE:
		conn_linger(c);
		return 0;
	case AFTER_NONE:
		break;
	}
	if (!c->keepalive) {
		conn_linger(c);
		return 0;
	}
	c->state = CS_READ;
	c->deadline = now_ms() + REQUEST_MS;
	return 1;
}

static int st_write(struct conn *c)
{
	c->throttled = false;
	c->deadline = 0; /* throttle() sets it again when it has to wait */
	for (;;) {
		int r = resp_flush(c);
		if (r == 0)
			return 0;
		if (r == 1)
			r = resp_stage(c);
		if (r == 0)
			return 0;
		if (r == 2)
			return resp_finish(c);
		if (r < 0) {
			conn_close(c);
			return 0;
		}
	}
}

/* Before a RST, waits (briefly) until the peer has ACKed everything sent:
 * a RST discards whatever is still in our send queue. */
static int st_drain(struct conn *c)
{
	int outq = 0;
	long long now = now_ms();

	if (ioctl(c->fd, SIOCOUTQ, &outq) < 0 || outq == 0 || now >= c->drain_until) {
		conn_reset(c);
		return 0;
	}
	c->deadline = now + 1;
	return 0;
}

/* Reads and drops input until the peer closes (stall, and after our FIN). */
static int st_discard(struct conn *c)
{
	char sink[4096];

	if (c->state == CS_LINGER && now_ms() >= c->deadline) {
		conn_close(c);
		return 0;
	}
	for (;;) {
		ssize_t n = recv(c->fd, sink, sizeof(sink), 0);
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		conn_close(c);
		return 0;
	}
}

/* One step of c's state machine: 1 when another step can run at once. */
static int conn_step(struct server *s, struct conn *c)
{
	switch (c->state) {
	case CS_READ:
		return st_read(s, c);
	case CS_DELAY:
		return st_delay(s, c);
	case CS_WRITE:
		return st_write(c);
	case CS_DRAIN:
		return st_drain(c);
	case CS_STALL:
	case CS_LINGER:
		return st_discard(c);
	case CS_CLOSED:
		return 0;
	}
	return 0;
}

/* Runs c's steps until it must wait; a peer gone (error, hang-up) while we
 * wait to answer or send closes it. */
static void conn_run(struct server *s, struct conn *c, short revents)
{
	int i;

	c->again = false;
	if ((revents & POLLERR) ||
	    ((revents & POLLHUP) &&
	     (c->state == CS_DELAY || c->state == CS_WRITE || c->state == CS_DRAIN))) {
		if (c->state == CS_DELAY || c->state == CS_WRITE)
			logmsg("%s %s %s: client left before the answer was sent", c->peer,
			       c->req.method_name, c->req.path);
		conn_close(c);
		return;
	}
	for (i = 0; i < 256 && conn_step(s, c) > 0; i++)
		;
	if (i == 256)
		c->again = true; /* more pipelined work: come back after the others */
}

static short conn_events(const struct conn *c)
{
	switch (c->state) {
	case CS_READ:
	case CS_STALL:
	case CS_LINGER:
		return POLLIN;
	case CS_WRITE:
		return c->throttled ? 0 : POLLOUT;
	case CS_DELAY:
	case CS_DRAIN:
	case CS_CLOSED:
		return 0;
	}
	return 0;
}

/* ---------------------------------------------------------------- server */

static void peer_name(const struct sockaddr_storage *sa, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		(void)inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		(void)inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	(void)snprintf(buf, size, "%s:%d", host, port);
}

/* Takes one accepted socket into a free slot (the caller checked there is one). */
static void server_add_conn(struct server *s, int fd, const struct sockaddr_storage *sa)
{
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;
	size_t i;

	if (c == NULL) {
		logmsg("accept: out of memory");
		(void)close(fd);
		return;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->resp.fd = -1;
	c->state = CS_READ;
	c->deadline = now_ms() + REQUEST_MS;
	c->rejected = s->nconns >= s->max_conns;
	peer_name(sa, c->peer, sizeof(c->peer));
	for (i = 0; s->conns[i] != NULL; i++)
		;
	s->conns[i] = c;
	s->nconns++;
	s->conns_total++;
	s->conns_rejected += c->rejected;
	if ((json_int_t)s->nconns > s->conns_peak)
		s->conns_peak = (json_int_t)s->nconns;
}

static void server_accept(struct server *s)
{
	while (s->nconns < s->nslots) {
		struct sockaddr_storage sa;
		socklen_t salen = sizeof(sa);
		int fd = accept4(s->listen_fd, (struct sockaddr *)&sa, &salen,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
				logmsg("accept: %s", strerror(errno));
				s->accept_pause_until = now_ms() + 100; /* EMFILE: do not spin */
			}
			return;
		}
		server_add_conn(s, fd, &sa);
	}
}

/* Fills pfd (slot index in map) and returns how many; *timeout is the poll timeout. */
static nfds_t server_pollfds(struct server *s, struct pollfd *pfd, size_t *map, int *timeout)
{
	long long now = now_ms(), next = -1;
	nfds_t n = 1;

	pfd[0].fd = s->listen_fd;
	pfd[0].events = s->nconns < s->nslots && now >= s->accept_pause_until ? POLLIN : 0;
	if (now < s->accept_pause_until)
		next = s->accept_pause_until;
	for (size_t i = 0; i < s->nslots; i++) {
		struct conn *c = s->conns[i];
		if (c == NULL)
			continue;
		pfd[n].fd = c->fd;
		pfd[n].events = conn_events(c);
		map[n++] = i;
		if (c->deadline > 0 && (next < 0 || c->deadline < next))
			next = c->deadline;
		if (c->again)
			next = now;
	}
	*timeout = next < 0 ? -1 : next <= now ? 0 : (int)min_ll(next - now, INT_MAX);
	return n;
}

/* Runs the connections poll woke or whose deadline passed, then frees the closed. */
static void server_dispatch(struct server *s, const struct pollfd *pfd, const size_t *map, nfds_t n)
{
	long long now = now_ms();

	for (nfds_t k = 1; k < n; k++) {
		struct conn *c = s->conns[map[k]];
		if (pfd[k].revents != 0 || c->again || (c->deadline > 0 && now >= c->deadline))
			conn_run(s, c, pfd[k].revents);
		if (c->state == CS_CLOSED) {
			conn_free(c);
			s->conns[map[k]] = NULL;
			s->nconns--;
		}
	}
}

static int server_run(struct server *s, const sigset_t *waitmask)
{
	struct pollfd *pfd = calloc(s->nslots + 1, sizeof(*pfd));
	size_t *map = calloc(s->nslots + 1, sizeof(*map));
	int r = -1;

	if (pfd == NULL || map == NULL)
		goto out;
	while (!stop_signal) {
		int timeout;
		nfds_t n = server_pollfds(s, pfd, map, &timeout);
		struct timespec ts = {.tv_sec = timeout / 1000,
		                      .tv_nsec = (timeout % 1000) * 1000000L};
		if (ppoll(pfd, n, timeout < 0 ? NULL : &ts, waitmask) < 0) {
			if (errno == EINTR)
				continue;
			logmsg("poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[0].revents & POLLIN)
			server_accept(s);
		server_dispatch(s, pfd, map, n);
	}
	logmsg("exiting on signal %d", (int)stop_signal);
	r = 0;
out:
	free(pfd);
	free(map);
	return r;
}

static int server_listen(struct server *s, const char *addr, const char *port)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int one = 1, r, fd = -1;

	r = getaddrinfo(addr, port, &hints, &ai);
	if (r != 0) {
		logmsg("--bind %s --port %s: %s", addr, port, gai_strerror(r));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		logmsg("listen on %s port %s: %s", addr, port, strerror(errno));
		if (fd >= 0)
			(void)close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	s->listen_fd = fd;
	return 0;
}

/* The bound port, or -1. */
static int server_port(const struct server *s)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (getsockname(s->listen_fd, (struct sockaddr *)&sa, &len) < 0)
		return -1;
	if (sa.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
	return ntohs(((struct sockaddr_in *)&sa)->sin_port);
}

/* Writes the port to path atomically (a test polls for the file). */
static int write_port_file(const char *path, int port)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	(void)fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) < 0)
		return -1;
	return 0;
}

static int load_rules_file(struct server *s, const char *path)
{
	char *text = malloc(RULES_FILE_MAX + 1), err[512];
	struct rule *list = NULL;
	size_t len = 0, n = 0;
	FILE *f = fopen(path, "r");
	int r = -1;

	if (text == NULL || f == NULL) {
		logmsg("%s: %s", path, strerror(errno));
		goto out;
	}
	len = fread(text, 1, RULES_FILE_MAX + 1, f);
	if (ferror(f) || len > RULES_FILE_MAX) {
		logmsg("%s: unreadable or larger than %d bytes", path, RULES_FILE_MAX);
		goto out;
	}
	if (rules_parse_text(text, len, path, &list, &n, err, sizeof(err)) < 0 ||
	    rules_add(s, list, n, err, sizeof(err)) < 0) {
		logmsg("%s", err);
		goto out;
	}
	logmsg("%zu rules from %s", n, path);
	r = 0;
out:
	if (f != NULL)
		(void)fclose(f);
	free(text);
	return r;
}

static void server_free(struct server *s)
{
	for (size_t i = 0; s->conns != NULL && i < s->nslots; i++)
		conn_free(s->conns[i]);
	free(s->conns);
	rules_clear(s);
	json_decref(s->stats);
	if (s->listen_fd >= 0)
		(void)close(s->listen_fd);
	if (s->root_fd >= 0)
		(void)close(s->root_fd);
}

static int server_init(struct server *s, const struct options *o)
{
	int port;

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->root_fd = -1;
	s->control = o->control;
	s->max_conns = (size_t)o->max_conns;
	s->nslots = s->max_conns + RESERVE_CONNS;
	s->conns = calloc(s->nslots, sizeof(*s->conns));
	s->stats = stats_new();
	if (s->conns == NULL || s->stats == NULL)
		return -1;
	s->root_fd = open(o->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->root_fd < 0) {
		logmsg("--root %s: %s", o->root, strerror(errno));
		return -1;
	}
	if ((o->rules != NULL && load_rules_file(s, o->rules) < 0) ||
	    server_listen(s, o->bind, o->port) < 0 || (port = server_port(s)) < 0)
		return -1;
	if (o->port_file != NULL && write_port_file(o->port_file, port) < 0) {
		logmsg("--port-file %s: %s", o->port_file, strerror(errno));
		return -1;
	}
	logmsg("serving %s on %s port %d%s", o->root, o->bind, port,
	       o->control ? " (control at /_fault, /_stats)" : "");
	return 0;
}

/* ------------------------------------------------------------------ main */

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* Blocks SIGTERM/SIGINT except inside ppoll (waitmask), so none is lost
 * between the check of stop_signal and the wait. */
static int setup_signals(sigset_t *waitmask)
{
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block;

	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGTERM);
	(void)sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, waitmask) < 0)
		return -1;
	(void)sigdelset(waitmask, SIGTERM);
	(void)sigdelset(waitmask, SIGINT);
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0)
		return -1;
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL);
}

static void usage(FILE *out)
{
	(void)fputs("usage: faultserver --root DIR --port N [--bind ADDR] [--rules FILE] "
	            "[--control]\n"
	            "                   [--max-conns N] [--port-file FILE]\n"
	            "rule lines: GLOB COUNT|* KIND [ARG...] (see tests/tools/README.md)\n",
	            out);
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {{"root", required_argument, NULL, 'r'},
	                                         {"port", required_argument, NULL, 'p'},
	                                         {"bind", required_argument, NULL, 'b'},
	                                         {"rules", required_argument, NULL, 'R'},
	                                         {"control", no_argument, NULL, 'c'},
	                                         {"max-conns", required_argument, NULL, 'm'},
	                                         {"port-file", required_argument, NULL, 'P'},
	                                         {"help", no_argument, NULL, 'h'},
	                                         {NULL, 0, NULL, 0}};
	long long v;
	int ch;

	*o = (struct options){.bind = "127.0.0.1", .max_conns = 64};
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			o->root = optarg;
			break;
		case 'p':
			o->port = optarg;
			break;
		case 'b':
			o->bind = optarg;
			break;
		case 'R':
			o->rules = optarg;
			break;
		case 'c':
			o->control = true;
			break;
		case 'P':
			o->port_file = optarg;
			break;
		case 'm':
			if (parse_num(optarg, 1, 10000, &v) < 0)
				return -1;
			o->max_conns = (long)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -1;
		}
	}
	if (optind != argc || o->root == NULL || o->port == NULL)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct server s;
	sigset_t waitmask;
	int r = 1;

	if (parse_options(argc, argv, &o) < 0) {
		usage(stderr);
		return 2;
	}
	if (setup_signals(&waitmask) < 0) {
		logmsg("signals: %s", strerror(errno));
		return 1;
	}
	if (server_init(&s, &o) == 0 && server_run(&s, &waitmask) == 0)
		r = 0;
	server_free(&s);
	return r;
}

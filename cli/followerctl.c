/*
 * followerctl — options, the transport to followerd and exit codes.
 *
 * The daemon is reached on its admin Unix socket (--socket, else the
 * admin_socket of the configuration named by -c, else the default) where it
 * identifies the caller by uid, or at --url with the bearer token of
 * --token-file.  Everything else is in followerctl_cmds.c.
 */
#include "followerctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "conf/conf.h"

#define DEFAULT_CONFIG "/etc/followerd/followerd.conf"
#define DEFAULT_SOCKET "/run/followerd/admin.sock"
#define MAX_BODY ((size_t)64 << 20) /* bytes of a reply we accept */
#define MAX_TOKEN 4096
#define TIMEOUT_S 60L

struct body {
	char *p;
	size_t len;
	bool too_big;
};

int ctl_fail(int code, const char *fmt, ...)
{
	va_list ap;

	fputs("followerctl: ", stderr);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int ctl_print_json(const json_t *j)
{
	if (json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
		return ctl_fail(CTL_DAEMON, "cannot print the reply");
	putchar('\n');
	return CTL_OK;
}

char *ctl_escape(struct ctl *c, const char *s)
{
	char *e = curl_easy_escape(c->curl, s, 0);
	char *r = e != NULL ? strdup(e) : NULL;

	curl_free(e);
	return r;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	char *p;

	if (b->len + len > MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	p = realloc(b->p, b->len + len + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, data, len);
	b->len += len;
	p[b->len] = '\0';
	b->p = p;
	return len;
}

/* Where the daemon is, for messages. */
static const char *where(const struct ctl *c)
{
	return c->socket != NULL ? c->socket : c->url;
}

/* Prints the daemon's {"error":{"code","message"}} reply; the exit code. */
static int daemon_error(const struct ctl *c, long status, const json_t *j)
{
	const char *code = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
	const char *msg =
	    json_string_value(json_object_get(json_object_get(j, "error"), "message"));

	if (status == 404 && msg != NULL && strncmp(msg, "no such path", 12) == 0)
		return ctl_fail(CTL_UNSUPPORTED,
		                "not supported by this followerd yet (%s has no such "
		                "route)",
		                where(c));
	if (status == 401 || status == 403)
		return ctl_fail(CTL_DAEMON,
		                "%s: %s (HTTP %ld; run as a user the daemon admits, or "
		                "give --token-file)",
		                code != NULL ? code : "denied", msg != NULL ? msg : "", status);
	return ctl_fail(CTL_DAEMON, "%s: %s (HTTP %ld)", code != NULL ? code : "error",
	                msg != NULL ? msg : "(no message)", status);
}

/* Sets the method and the body (a JSON text, or NULL) of the request. */
static int setup_method(struct ctl *c, const char *method, const char *text,
                        struct curl_slist **hdrs)
{
	CURL *h = c->curl;

	if (text != NULL) {
		*hdrs = curl_slist_append(*hdrs, "Content-Type: application/json");
		if (*hdrs == NULL)
			return -ENOMEM;
		(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, text);
	} else if (strcmp(method, "POST") == 0) {
		(void)curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
		(void)curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	return 0;
}

static int setup(struct ctl *c, const char *method, const char *path, const char *text,
                 struct body *b, struct curl_slist **hdrs)
{
	char url[8192], auth[MAX_TOKEN + 32];
	CURL *h = c->curl;

	curl_easy_reset(h);
	(void)snprintf(url, sizeof(url), "%s%s", c->socket != NULL ? "http://localhost" : c->url,
	               path);
	if (c->socket != NULL)
		(void)curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	if (c->token != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		*hdrs = curl_slist_append(*hdrs, auth);
		if (*hdrs == NULL)
			return -ENOMEM;
	}
	if (setup_method(c, method, text, hdrs) < 0)
		return -ENOMEM;
	(void)curl_easy_setopt(h, CURLOPT_URL, url);
	(void)curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	(void)curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
	(void)curl_easy_setopt(h, CURLOPT_TIMEOUT, TIMEOUT_S);
	(void)curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	return 0;
}

int ctl_request(struct ctl *c, const char *method, const char *path, json_t **ret)
{
	return ctl_request_json(c, method, path, NULL, ret);
}

int ctl_request_json(struct ctl *c, const char *method, const char *path, const json_t *body,
                     json_t **ret)
{
	struct curl_slist *hdrs = NULL;
	struct body b = {0};
	json_error_t jerr;
	json_t *j = NULL;
	char *text = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
	long status = 0;
	CURLcode cc;
	int r;

	if ((body != NULL && text == NULL) || setup(c, method, path, text, &b, &hdrs) < 0) {
		r = ctl_fail(CTL_DAEMON, "out of memory");
		goto out;
	}
	cc = curl_easy_perform(c->curl);
	if (cc != CURLE_OK) {
		r = b.too_big ? ctl_fail(CTL_DAEMON, "%s%s: reply larger than %zu bytes", where(c),
		                         path, MAX_BODY)
		              : ctl_fail(CTL_UNREACHABLE, "cannot reach followerd at %s: %s",
		                         where(c), curl_easy_strerror(cc));
		goto out;
	}
	(void)curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	j = b.p != NULL ? json_loads(b.p, 0, &jerr) : NULL;
	if (status < 200 || status > 299) {
		r = daemon_error(c, status, j);
		goto out;
	}
	if (j == NULL) {
		r = ctl_fail(CTL_DAEMON, "%s%s: the reply is not JSON", where(c), path);
		goto out;
	}
	*ret = j;
	j = NULL;
	r = CTL_OK;
out:
	json_decref(j);
	curl_slist_free_all(hdrs);
	free(b.p);
	free(text);
	return r;
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fputs(
	    "usage: followerctl [-c CONFIG | --socket PATH | --url URL --token-file FILE]\n"
	    "                   [--json] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  status                          the followed databases at a glance\n"
	    "  show follower database [DB]     every detail of one or all databases\n"
	    "  history DB [--limit N]          the versions applied, newest first\n"
	    "  explain DB TABLE [EXTENT]       why extents are hot or cold\n"
	    "  sync                            poll every leader now\n"
	    "  warm DB [TABLE] [--timeout S]   fetch the hot set now and wait until cached\n"
	    "  attach list | show NAME         the attached database configurations\n"
	    "  attach [create] NAME --leader URL --database DB [--local-name N]\n"
	    "         [--include-tables T,..] [--exclude-tables T,..] [--hot-cache SPAN]\n"
	    "         [--principals-modification-kind K] [--caching-policies-modification-kind K]\n"
	    "         [--prefetch | --no-prefetch] [--viewers P,..] [--admins P,..] ...\n"
	    "  detach NAME | attach delete NAME remove an attached database configuration\n"
	    "  alter DB caching (--hot SPAN | --delete) [--table T] [--dry-run]\n"
	    "  alter DB add|drop ROLE PRINCIPAL... [--notes TEXT] [--dry-run]\n"
	    "  alter DB principals-modification-kind | caching-policies-modification-kind K\n"
	    "  alter DB prefetch true|false [--dry-run]\n"
	    "exit status: 0 ok, 1 daemon error, 2 usage, 3 unsupported, 4 unreachable\n",
	    f);
}

static int read_token(struct ctl *c, const char *file)
{
	char buf[MAX_TOKEN + 2];
	FILE *f = fopen(file, "r");
	size_t n;

	if (f == NULL)
		return ctl_fail(CTL_USAGE, "%s: %s", file, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	(void)fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (n > MAX_TOKEN || buf[0] == '\0')
		return ctl_fail(CTL_USAGE, "%s: expected one token of at most %d bytes", file,
		                MAX_TOKEN);
	c->token = strdup(buf);
	return c->token != NULL ? CTL_OK : ctl_fail(CTL_DAEMON, "out of memory");
}

/* The admin socket of config (a new string in *ret), or the default when
 * config is the default file and it does not exist or cannot be read (a
 * user in the followerd group may not read it). */
static int socket_of(const char *config, bool given, char **ret)
{
	char err[CONF_ERRLEN];
	struct conf *cf = NULL;
	int r;

	if (!given && access(config, R_OK) != 0) {
		*ret = strdup(DEFAULT_SOCKET);
		return *ret != NULL ? CTL_OK : ctl_fail(CTL_DAEMON, "out of memory");
	}
	r = conf_load(config, CONF_SKIP_SECRETS, &cf, err, sizeof(err));
	if (r < 0)
		return ctl_fail(CTL_USAGE, "%s", err);
	*ret = strdup(cf->admin_socket != NULL ? cf->admin_socket : DEFAULT_SOCKET);
	conf_free(cf);
	return *ret != NULL ? CTL_OK : ctl_fail(CTL_DAEMON, "out of memory");
}

struct opts {
	const char *config, *socket, *url, *token_file;
	bool json, help;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {{"config", required_argument, NULL, 'c'},
	                                      {"socket", required_argument, NULL, 's'},
	                                      {"url", required_argument, NULL, 'u'},
	                                      {"token-file", required_argument, NULL, 't'},
	                                      {"json", no_argument, NULL, 'j'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	int ch;

	while ((ch = getopt_long(argc, argv, "+c:s:u:t:jh", longs, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 't':
			o->token_file = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			o->help = true;
			break;
		default:
			return CTL_USAGE;
		}
	}
	return CTL_OK;
}

static int check_opts(const struct opts *o)
{
	if (o->url != NULL && (o->socket != NULL || o->config != NULL))
		return ctl_fail(CTL_USAGE, "--url excludes --socket and -c");
	if (o->token_file != NULL && o->url == NULL)
		return ctl_fail(CTL_USAGE, "--token-file needs --url");
	if (o->url != NULL && strncmp(o->url, "http://", 7) != 0 &&
	    strncmp(o->url, "https://", 8) != 0)
		return ctl_fail(CTL_USAGE, "--url %s: expected http://HOST:PORT or https://...",
		                o->url);
	return CTL_OK;
}

struct command {
	const char *name;
	int (*fn)(struct ctl *c, int argc, char **argv);
};

static const struct command commands[] = {
    {"status", cmd_status},   {"show", cmd_show},   {"history", cmd_history},
    {"explain", cmd_explain}, {"sync", cmd_sync},   {"attach", cmd_attach},
    {"detach", cmd_detach},   {"alter", cmd_alter}, {"warm", cmd_warm},
};

static const struct command *command_of(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Fills the transport of c from o; an exit code. */
static int connect_opts(struct ctl *c, const struct opts *o, char **ret_socket)
{
	int r;

	c->url = o->url;
	if (o->token_file != NULL && (r = read_token(c, o->token_file)) != CTL_OK)
		return r;
	if (o->url != NULL)
		return CTL_OK;
	if (o->socket != NULL) {
		c->socket = o->socket;
		return CTL_OK;
	}
	r = socket_of(o->config != NULL ? o->config : DEFAULT_CONFIG, o->config != NULL,
	              ret_socket);
	c->socket = *ret_socket;
	return r;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct ctl c = {0};
	const struct command *cmd;
	char *sock = NULL;
	int r = parse_opts(argc, argv, &o);

	if (r == CTL_OK && o.help) {
		usage(stdout);
		return CTL_OK;
	}
	if (r != CTL_OK || optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	cmd = command_of(argv[optind]);
	if (cmd == NULL) {
		usage(stderr);
		return ctl_fail(CTL_USAGE, "unknown command '%s'", argv[optind]);
	}
	c.json = o.json;
	if ((r = check_opts(&o)) != CTL_OK || (r = connect_opts(&c, &o, &sock)) != CTL_OK)
		goto out;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
	    (c.curl = curl_easy_init()) == NULL) {
		r = ctl_fail(CTL_DAEMON, "cannot initialise libcurl");
		goto out;
	}
	r = cmd->fn(&c, argc - optind - 1, argv + optind + 1);
	curl_easy_cleanup(c.curl);
	curl_global_cleanup();
out:
	free(c.token);
	free(sock);
	return r;
}

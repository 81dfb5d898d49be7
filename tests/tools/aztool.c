/*
 * aztool — a small CLI over lib/leader/target.h and lib/net/azure.h for end-to-end
 * tests: it drives a target (a directory or an Azure Blob container) the
 * way leaderctl will, and does the few Azure chores tests need (create a
 * container, mint a container SAS).
 *
 *   aztool [--account-key K | --sas S] [--block-size N] COMMAND ...
 *     mkcontainer URL                      create a container (exists: fine)
 *     sas URL PERMISSIONS SECONDS          print a container SAS token
 *     breaklease URL                       break the writer lease of URL
 *                                          (container[/prefix]) at once
 *     put TARGET PATH FILE [--new | --if-match ETAG]
 *     get TARGET PATH [--max BYTES] [--etag]   content (or ETag) to stdout
 *     list TARGET [PREFIX]                 "path<TAB>size<TAB>mtime" lines
 *     delete TARGET PATH
 *     lock TARGET SECONDS                  take the writer lock, print
 *                                          "locked", hold it until stdin
 *                                          ends, then release; renews every
 *                                          15 s and on each "renew" line
 *
 * Errors go to stderr as "aztool: ERRNO-NAME: text" and exit 1, so tests
 * can check both the errno mapping and the message.
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/azure.h"
#include "util/fsutil.h"
#include "leader/target.h"
#include "leader/target_int.h"

struct opts {
	const char *key, *sas;
	uint64_t block_size;
	int argc;
	char **argv;
};

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT:
		return "ENOENT";
	case EEXIST:
		return "EEXIST";
	case ESTALE:
		return "ESTALE";
	case EACCES:
		return "EACCES";
	case EIO:
		return "EIO";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EFBIG:
		return "EFBIG";
	case EINVAL:
		return "EINVAL";
	case ENOLCK:
		return "ENOLCK";
	case ENOTDIR:
		return "ENOTDIR";
	default:
		return "ERROR";
	}
}

static int fail(int r, const char *what)
{
	fprintf(stderr, "aztool: %s: %s\n", errno_name(-r), what);
	return 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: aztool [--account-key K | --sas S] [--block-size N] COMMAND ...\n"
	                "  mkcontainer URL | sas URL PERMS SECONDS | put TARGET PATH FILE "
	                "[--new|--if-match ETAG]\n"
	                "  get TARGET PATH [--max N] [--etag] | list TARGET [PREFIX] | "
	                "delete TARGET PATH | lock TARGET SECONDS\n");
	return 2;
}

static int open_target(const struct opts *o, const char *spec, struct target **ret)
{
	struct target_auth auth = {o->key, o->sas};
	char err[1024];
	int r = target_open(spec, &auth, ret, err, sizeof(err));

	if (r < 0)
		return fail(r, err);
	if (o->block_size && target_azure_set_block_size(*ret, o->block_size, o->block_size) < 0) {
		target_free(*ret);
		return fail(-EINVAL, "--block-size applies to Azure targets only");
	}
	return 0;
}

/* ---- Azure chores with azure.c and a bare curl handle ---- */

struct body {
	char buf[4096];
	size_t len;
};

static size_t body_cb(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t take =
	    size * n < sizeof(b->buf) - 1 - b->len ? size * n : sizeof(b->buf) - 1 - b->len;

	memcpy(b->buf + b->len, p, take);
	b->len += take;
	b->buf[b->len] = '\0';
	return size * n;
}

static size_t no_body(char *p, size_t size, size_t n, void *arg)
{
	return 0;
}

/* An empty-bodied PUT of blob path (NULL: the container) with query and the
 * extra x-ms-* headers, signed or with the SAS; the HTTP status or -1. */
static long raw_put(const struct opts *o, const struct azure_url *u, const char *path,
                    const char *query, const struct azure_header *extra, size_t nextra,
                    struct body *b, char *errbuf)
{
	char url[2048], full[8192], date[AZURE_DATE_LEN], line[256];
	struct azure_header h[8] = {
	    {"x-ms-date", date}, {"x-ms-version", AZURE_API_VERSION}, {"Content-Length", "0"}};
	struct curl_slist *sl = NULL;
	CURL *c = curl_easy_init();
	size_t i, n = 3;
	long status = -1;

	azure_format_date(time(NULL), date);
	for (i = 0; i < nextra && n < 8; i++)
		h[n++] = extra[i];
	if (!c || azure_blob_url(u, path, query, url, sizeof(url)) < 0 ||
	    azure_sas_append(url, o->sas, full, sizeof(full)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "%s: %s", h[i].name, h[i].value);
		sl = curl_slist_append(sl, line);
	}
	memcpy(line, "Authorization: ", 15);
	if (o->key && azure_sign_shared_key(u->account, o->key, "PUT", url, h, n, line + 15,
	                                    sizeof(line) - 15) < 0)
		goto out;
	if (o->key)
		sl = curl_slist_append(sl, line);
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, no_body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
out:
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
	return status;
}

/* Runs raw_put and judges it: 0 when the status is one of ok1/ok2. */
static int raw_cmd(const struct opts *o, const char *what, const char *path, const char *query,
                   const struct azure_header *extra, size_t nextra, long ok1, long ok2)
{
	char err[256], code[64], msg[256], errbuf[CURL_ERROR_SIZE] = "";
	struct body b = {.len = 0};
	struct azure_url u;
	long status;

	if (o->argc != 2)
		return usage();
	if (azure_url_parse(o->argv[1], &u, err, sizeof(err)) < 0)
		return fail(-EINVAL, err);
	status = raw_put(o, &u, path, query, extra, nextra, &b, errbuf);
	if (status == ok1 || status == ok2)
		return 0;
	azure_error_parse(b.buf, b.len, code, sizeof(code), msg, sizeof(msg));
	fprintf(stderr, "aztool: %s %s: %ld %s (%s) %s\n", what, o->argv[1], status, code, msg,
	        errbuf);
	return 1;
}

/* Creates the container of URL; one that exists is fine. */
static int cmd_mkcontainer(const struct opts *o)
{
	return raw_cmd(o, "create container", NULL, "restype=container", NULL, 0, 201, 409);
}

/* Breaks the writer lease of the target URL at once (a lost lock). */
static int cmd_breaklease(const struct opts *o)
{
	static const struct azure_header h[] = {{"x-ms-lease-action", "break"},
	                                        {"x-ms-lease-break-period", "0"}};

	return raw_cmd(o, "break lease", ".lock", "comp=lease", h, 2, 202, 202);
}

static int cmd_sas(const struct opts *o)
{
	char err[256], tok[1024];
	struct azure_url u;
	int r;

	if (o->argc != 4 || !o->key)
		return usage();
	if (azure_url_parse(o->argv[1], &u, err, sizeof(err)) < 0)
		return fail(-EINVAL, err);
	r = azure_sas_container(u.account, o->key, u.container, o->argv[2], 0,
	                        time(NULL) + atol(o->argv[3]), tok, sizeof(tok));
	if (r < 0)
		return fail(r, "cannot make a SAS token");
	printf("%s\n", tok);
	return 0;
}

/* ---- target commands ---- */

static int cmd_put(const struct opts *o, struct target *t)
{
	enum target_put_mode mode = TARGET_PUT_ANY;
	const char *etag = NULL;
	char *data = NULL;
	size_t len = 0;
	int r;

	if (o->argc == 5 && strcmp(o->argv[4], "--new") == 0)
		mode = TARGET_PUT_NEW;
	else if (o->argc == 6 && strcmp(o->argv[4], "--if-match") == 0)
		mode = TARGET_PUT_IF_MATCH, etag = o->argv[5];
	else if (o->argc != 4)
		return usage();
	if (mode != TARGET_PUT_IF_MATCH) {
		r = target_put_file(t, o->argv[2], o->argv[3], mode);
	} else {
		r = fsutil_read_file(o->argv[3], 1u << 30, &data, &len);
		if (r < 0)
			return fail(r, o->argv[3]);
		r = target_put(t, o->argv[2], data, len, mode, etag);
		free(data);
	}
	return r < 0 ? fail(r, target_error(t)) : 0;
}

static int cmd_get(const struct opts *o, struct target *t)
{
	char etag[TARGET_ETAG_MAX], *data = NULL;
	size_t max = 64u << 20, len = 0;
	bool want_etag = false;
	int i, r;

	if (o->argc < 3)
		return usage();
	for (i = 3; i < o->argc; i++) {
		if (strcmp(o->argv[i], "--etag") == 0)
			want_etag = true;
		else if (strcmp(o->argv[i], "--max") == 0 && i + 1 < o->argc)
			max = strtoull(o->argv[++i], NULL, 10);
		else
			return usage();
	}
	r = target_get(t, o->argv[2], max, &data, &len, etag);
	if (r < 0)
		return fail(r, target_error(t));
	if (want_etag)
		printf("%s\n", etag);
	else if (fwrite(data, 1, len, stdout) != len)
		r = -EIO;
	free(data);
	return r < 0 ? fail(r, "stdout") : 0;
}

static int print_entry(const char *path, uint64_t size, int64_t mtime, void *arg)
{
	printf("%s\t%" PRIu64 "\t%" PRId64 "\n", path, size, mtime);
	return 0;
}

static int cmd_list(const struct opts *o, struct target *t)
{
	int r;

	if (o->argc != 2 && o->argc != 3)
		return usage();
	r = target_list(t, o->argc == 3 ? o->argv[2] : "", print_entry, NULL);
	return r < 0 ? fail(r, target_error(t)) : 0;
}

static int cmd_delete(const struct opts *o, struct target *t)
{
	int r;

	if (o->argc != 3)
		return usage();
	r = target_delete(t, o->argv[2]);
	return r < 0 ? fail(r, target_error(t)) : 0;
}

static int renew(struct target *t)
{
	int r = target_lock_renew(t);

	if (r < 0)
		return fail(r, target_error(t));
	printf("renewed\n");
	fflush(stdout);
	return 0;
}

/* Holds the lock until stdin ends, renewing it every 15 s and whenever a
 * line "renew" arrives. */
static int hold_lock(struct target *t)
{
	struct pollfd p = {.fd = 0, .events = POLLIN};
	char buf[256];

	for (;;) {
		int n = poll(&p, 1, 15000), r = 0;
		ssize_t got;
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			r = renew(t);
		if (r != 0)
			return r;
		if (n == 0)
			continue;
		got = n < 0 ? -1 : read(0, buf, sizeof(buf) - 1);
		if (got <= 0)
			return 0;
		buf[got] = '\0';
		if (strstr(buf, "renew") && (r = renew(t)) != 0)
			return r;
	}
}

static int cmd_lock(const struct opts *o, struct target *t)
{
	int r;

	if (o->argc != 3)
		return usage();
	r = target_lock(t, (int)(atof(o->argv[2]) * 1000));
	if (r < 0)
		return fail(r, target_error(t));
	printf("locked\n");
	fflush(stdout);
	r = hold_lock(t);
	target_unlock(t);
	printf("unlocked\n");
	return r;
}

static int run_target_cmd(const struct opts *o)
{
	static const struct {
		const char *name;
		int (*fn)(const struct opts *, struct target *);
	} cmds[] = {{"put", cmd_put},
	            {"get", cmd_get},
	            {"list", cmd_list},
	            {"delete", cmd_delete},
	            {"lock", cmd_lock}};
	struct target *t = NULL;
	size_t i;
	int r;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(o->argv[0], cmds[i].name) != 0)
			continue;
		if (o->argc < 2)
			return usage();
		r = open_target(o, o->argv[1], &t);
		if (r != 0)
			return r;
		r = cmds[i].fn(o, t);
		target_free(t);
		return r;
	}
	return usage();
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int i, r;

	for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--account-key") == 0)
			o.key = argv[i + 1];
		else if (strcmp(argv[i], "--sas") == 0)
			o.sas = argv[i + 1];
		else if (strcmp(argv[i], "--block-size") == 0)
			o.block_size = strtoull(argv[i + 1], NULL, 10);
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	o.argc = argc - i;
	o.argv = argv + i;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(o.argv[0], "mkcontainer") == 0)
		r = cmd_mkcontainer(&o);
	else if (strcmp(o.argv[0], "breaklease") == 0)
		r = cmd_breaklease(&o);
	else if (strcmp(o.argv[0], "sas") == 0)
		r = cmd_sas(&o);
	else
		r = run_target_cmd(&o);
	curl_global_cleanup();
	return r;
}

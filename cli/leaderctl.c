/*
 * leaderctl — writes a followerd leader (docs/PROTOCOL.md) to a directory or
 * an Azure Blob container: databases, tables, extents, policies, principals,
 * and the maintenance of the leader (show, log, verify, vacuum, generate).
 *
 * This file holds main, the global options, the command table and the
 * helpers every command uses; the commands are in leaderctl_*.c, each a thin
 * layer over lib/leader/leader.h.  See leaderctl(1).
 */
#include "leaderctl.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fsutil.h"
#include "util/timefmt.h"

struct command {
	const char *name;
	int (*run)(struct lc *c, int argc, char **argv);
	const char *args;
};

static const struct command commands[] = {
    {"init", lc_cmd_init, "[--checkpoint-interval K]"},
    {"create-database", lc_cmd_create_database, "DB"},
    {"drop-database", lc_cmd_drop_database, "DB"},
    {"create-table", lc_cmd_entity, "DB TABLE COLUMNS [--folder F] [--docstring D]"},
    {"alter-table", lc_cmd_entity, "DB TABLE COLUMNS [--folder F] [--docstring D]"},
    {"drop-table", lc_cmd_entity, "DB TABLE"},
    {"create-external-table", lc_cmd_entity,
     "DB TABLE COLUMNS --location L [--folder F] "
     "[--docstring D]"},
    {"alter-external-table", lc_cmd_entity,
     "DB TABLE COLUMNS [--location L] [--folder F] "
     "[--docstring D]"},
    {"drop-external-table", lc_cmd_entity, "DB TABLE"},
    {"create-materialized-view", lc_cmd_entity,
     "DB VIEW COLUMNS --source TABLE --query Q "
     "[--folder F] [--docstring D]"},
    {"alter-materialized-view", lc_cmd_entity,
     "DB VIEW COLUMNS [--source TABLE] [--query Q] "
     "[--folder F] [--docstring D]"},
    {"drop-materialized-view", lc_cmd_entity, "DB VIEW"},
    {"ingest", lc_cmd_ingest,
     "DB TABLE FILE... [--created-on T | --min T --max T] "
     "[--tags A,B] [--rows N | --format csv|tsv|json "
     "[--compression none|gzip|zstd] [--ignore-first-record]]"},
    {"drop-extents", lc_cmd_drop_extents, "DB ID..."},
    {"merge-extents", lc_cmd_merge_extents, "DB ID ID..."},
    {"set-caching-policy", lc_cmd_caching,
     "DB [--table T] HOT_SPAN|none "
     "[--hot-window MIN..MAX]..."},
    {"set-retention-policy", lc_cmd_retention,
     "DB [--table T] SOFT_DELETE|none "
     "[--no-recoverability]"},
    {"add-principal", lc_cmd_principal, "DB ROLE FQN [--name DISPLAY]"},
    {"remove-principal", lc_cmd_principal, "DB ROLE FQN"},
    {"detach-follower", lc_cmd_follower, "DB FOLLOWER"},
    {"attach-follower", lc_cmd_follower, "DB FOLLOWER"},
    {"show", lc_cmd_show, "[DB] [--json]"},
    {"log", lc_cmd_log, "DB [--from V] [--json]"},
    {"dump", lc_cmd_dump, "DB [--replay]"},
    {"verify", lc_cmd_verify, ""},
    {"vacuum", lc_cmd_vacuum, "[--log-retention D] [--grace D] [--dry-run]"},
    {"checkpoint", lc_cmd_checkpoint, "DB"},
    {"generate", lc_cmd_generate,
     "DB [--tables N --extents N] [--artifact-size B | --rows N "
     "[--gzip]] [--commit-extents N] [--threads N]"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* ---- helpers shared by the commands ---- */

static void vsay(const char *cmd, const char *fmt, va_list ap)
{
	char msg[LEADER_ERRLEN + 512];

	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cmd)
		fprintf(stderr, "leaderctl: %s: %s\n", cmd, msg);
	else
		fprintf(stderr, "leaderctl: %s\n", msg);
}

int lc_fail(struct lc *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(c->cmd, fmt, ap);
	va_end(ap);
	return LC_FAIL;
}

int lc_usage(struct lc *c, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	vsay(c->cmd, fmt, ap);
	va_end(ap);
	for (i = 0; c->cmd && i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, c->cmd) == 0)
			fprintf(stderr, "usage: leaderctl [OPTIONS] %s %s\n", c->cmd,
			        commands[i].args);
	return LC_USAGE;
}

int lc_engine(struct lc *c)
{
	return lc_fail(c, "%s", leader_error(c->l));
}

int lc_getopt(struct lc *c, int argc, char **argv, const char *shortopts,
              const struct option *longopts)
{
	int opt;

	opterr = 0;
	opt = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (opt == '?') {
		if (optopt)
			(void)lc_usage(c, "unknown option or missing value: -%c", optopt);
		else
			(void)lc_usage(c, "unknown option or missing value: %s", argv[optind - 1]);
	}
	return opt;
}

int lc_positional(struct lc *c, int argc, char **argv, int min, int max)
{
	int n = argc - optind;

	if (n < min)
		return lc_usage(c, "missing argument");
	if (max >= 0 && n > max)
		return lc_usage(c, "unexpected argument '%s'", argv[optind + max]);
	return LC_OK;
}

int lc_parse_u64(struct lc *c, const char *what, const char *s, uint64_t max, uint64_t *ret)
{
	char *end = NULL;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *end || errno || v > max)
		return lc_usage(c, "%s: '%s' is not a whole number from 0 to %llu", what, s,
		                (unsigned long long)max);
	*ret = v;
	return LC_OK;
}

int lc_parse_duration(struct lc *c, const char *what, const char *s, int64_t *ret)
{
	if (timefmt_parse_duration(s, ret) < 0 || *ret < 0)
		return lc_usage(c, "%s: '%s' is not a duration (7d, 12h, 30m, 1.02:03:04...)", what,
		                s);
	return LC_OK;
}

int lc_parse_datetime(struct lc *c, const char *what, const char *s, int64_t *ret)
{
	if (timefmt_parse_datetime(s, ret) < 0)
		return lc_usage(c, "%s: '%s' is not a UTC datetime (YYYY-MM-DDTHH:MM:SS[.f]Z)",
		                what, s);
	return LC_OK;
}

int lc_check_name(struct lc *c, const char *what, const char *s)
{
	if (!proto_valid_name(s))
		return lc_usage(c,
		                "'%s' is not a valid %s name (1-256 of A-Z a-z 0-9 _ - . and "
		                "inner spaces)",
		                s, what);
	return LC_OK;
}

/* ---- main ---- */

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: leaderctl [-C TARGET] [--account-key-file F | --sas-token-file F]\n"
	           "                 [--lock-timeout SECONDS] [--state-cache DIR|off] [-v]\n"
	           "                 COMMAND [ARGS]\n\n"
	           "TARGET is a directory or an Azure Blob container URL (default: "
	           "$LEADERCTL_TARGET).\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %s %s\n", commands[i].name, commands[i].args);
	fprintf(f, "\nSee leaderctl(1).\n");
}

/* Reads a secret from a file: its first line, surrounding blanks removed. */
static int read_secret(const char *path, char **ret)
{
	char *buf = NULL, *s, *e;
	size_t len = 0;
	int r = fsutil_read_file(path, 64 * 1024, &buf, &len);

	if (r < 0) {
		fprintf(stderr, "leaderctl: %s: %s\n", path, strerror(-r));
		return LC_FAIL;
	}
	for (s = buf; *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'; s++)
		;
	for (e = s; *e && *e != '\n' && *e != '\r'; e++)
		;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	*e = '\0';
	if (!*s) {
		fprintf(stderr, "leaderctl: %s: empty\n", path);
		free(buf);
		return LC_FAIL;
	}
	memmove(buf, s, strlen(s) + 1);
	*ret = buf;
	return LC_OK;
}

struct globals {
	const char *target;
	char *key;
	char *sas;
	int lock_timeout_ms;
	int verbose;
	const char *state_cache;
};

static int parse_globals(int argc, char **argv, struct globals *g)
{
	static const struct option opts[] = {
	    {"account-key-file", required_argument, NULL, 'k'},
	    {"sas-token-file", required_argument, NULL, 's'},
	    {"lock-timeout", required_argument, NULL, 't'},
	    {"state-cache", required_argument, NULL, 'S'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "+C:vh", opts, NULL)) != -1) {
		char *end = NULL;
		long v;

		switch (opt) {
		case 'C':
			g->target = optarg;
			break;
		case 'k':
		case 's':
			if (g->key || g->sas) {
				fprintf(stderr, "leaderctl: give one --account-key-file or "
				                "--sas-token-file\n");
				return LC_USAGE;
			}
			if (read_secret(optarg, opt == 'k' ? &g->key : &g->sas) != LC_OK)
				return LC_FAIL;
			break;
		case 't':
			v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 3600) {
				fprintf(stderr,
				        "leaderctl: --lock-timeout: '%s' is not 0-3600 seconds\n",
				        optarg);
				return LC_USAGE;
			}
			g->lock_timeout_ms = (int)v * 1000;
			break;
		case 'S':
			g->state_cache = optarg;
			break;
		case 'v':
			g->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(LC_OK);
		default:
			usage(stderr);
			return LC_USAGE;
		}
	}
	return LC_OK;
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* TEST ONLY: LEADERCTL_TEST_CRASH_AT=POINT makes a commit raise SIGKILL at
 * POINT (after-artifacts, after-log, after-checkpoint), and
 * LEADERCTL_TEST_STOP_AT=POINT SIGSTOP, for the crash and lease-loss tests
 * on Azure, where system calls cannot be counted.  See leaderctl(1). */
static void test_hooks(struct leader *l)
{
	const char *crash = getenv("LEADERCTL_TEST_CRASH_AT");
	const char *stop = getenv("LEADERCTL_TEST_STOP_AT");

	if (crash && *crash)
		leader_set_crash_point(l, crash, SIGKILL);
	else if (stop && *stop)
		leader_set_crash_point(l, stop, SIGSTOP);
}

/* The state cache: --state-cache, else LEADERCTL_STATE_CACHE, else
 * $XDG_CACHE_HOME/followerd/leaderctl or ~/.cache/followerd/leaderctl;
 * "off" (or no home) turns it off. */
static int state_cache(struct globals *g, struct lc *c)
{
	const char *dir = g->state_cache ? g->state_cache : getenv("LEADERCTL_STATE_CACHE");
	const char *base = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char *path = NULL;
	int r;

	if (!dir && base && *base == '/')
		r = asprintf(&path, "%s/followerd/leaderctl", base);
	else if (!dir && home && *home == '/')
		r = asprintf(&path, "%s/.cache/followerd/leaderctl", home);
	else
		r = 0;
	if (r < 0)
		return lc_fail(c, "out of memory");
	if (dir && strcmp(dir, "off") == 0)
		dir = NULL;
	r = leader_set_state_cache(c->l, path ? path : dir);
	free(path);
	return r < 0 ? lc_engine(c) : LC_OK;
}

static int open_leader(struct globals *g, struct lc *c)
{
	struct target_auth auth = {g->key, g->sas};
	char err[LEADER_ERRLEN];

	if (!g->target)
		g->target = getenv("LEADERCTL_TARGET");
	if (!g->target || !*g->target)
		return lc_usage(c, "no target: give -C TARGET or set LEADERCTL_TARGET");
	if (g->key && g->sas)
		return lc_usage(c, "give --account-key-file or --sas-token-file, not both");
	if (!g->key && !g->sas && getenv("AZURE_STORAGE_KEY"))
		auth.account_key = getenv("AZURE_STORAGE_KEY");
	if (!g->key && !g->sas && getenv("AZURE_STORAGE_SAS_TOKEN"))
		auth.sas_token = getenv("AZURE_STORAGE_SAS_TOKEN");
	if (leader_open(g->target, &auth, &c->l, err, sizeof(err)) < 0)
		return lc_fail(c, "%s", err);
	if (g->lock_timeout_ms >= 0)
		leader_set_lock_timeout(c->l, g->lock_timeout_ms);
	test_hooks(c->l);
	return state_cache(g, c);
}

int main(int argc, char **argv)
{
	struct globals g = {.lock_timeout_ms = -1};
	struct lc c = {0};
	const struct command *cmd;
	int r = parse_globals(argc, argv, &g);

	if (r != LC_OK)
		goto out;
	if (optind >= argc) {
		usage(stderr);
		r = LC_USAGE;
		goto out;
	}
	cmd = find_command(argv[optind]);
	if (!cmd) {
		fprintf(stderr, "leaderctl: unknown command '%s' (leaderctl --help lists them)\n",
		        argv[optind]);
		r = LC_USAGE;
		goto out;
	}
	c.cmd = cmd->name;
	c.verbose = g.verbose;
	r = open_leader(&g, &c);
	if (r == LC_OK) {
		argv += optind;
		argc -= optind;
		optind = 0; /* getopt starts afresh on the command's arguments */
		r = cmd->run(&c, argc, argv);
	}
	if (c.l && c.verbose && *leader_state_note(c.l))
		fprintf(stderr, "leaderctl: %s: %s\n", c.cmd, leader_state_note(c.l));
out:
	leader_free(c.l);
	if (g.key)
		explicit_bzero(g.key, strlen(g.key));
	if (g.sas)
		explicit_bzero(g.sas, strlen(g.sas));
	free(g.key);
	free(g.sas);
	return r;
}

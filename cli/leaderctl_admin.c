/*
 * leaderctl_admin — commands about the leader as a whole and its databases:
 * init, create-database, drop-database, detach/attach-follower, checkpoint,
 * verify, vacuum and generate.  (show, log and dump are in leaderctl_show.c.)
 */
#include "leaderctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

/* A command with no options: anything that looks like one is refused. */
static int no_options(struct lc *c, int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};
	int opt = lc_getopt(c, argc, argv, "", none);

	return opt == -1 ? LC_OK : LC_USAGE;
}

int lc_cmd_init(struct lc *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"checkpoint-interval", required_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t k = LEADER_DEFAULT_CHECKPOINT_INTERVAL;
	int opt, r = LC_OK;

	while (r == LC_OK && (opt = lc_getopt(c, argc, argv, "", opts)) != -1)
		r = opt == 'k' ? lc_parse_u64(c, "--checkpoint-interval", optarg, UINT32_MAX, &k)
		               : LC_USAGE;
	if (r == LC_OK && k == 0)
		r = lc_usage(c, "--checkpoint-interval must be at least 1");
	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 0, 0);
	if (r == LC_OK && leader_init(c->l, (uint32_t)k) < 0)
		r = lc_engine(c);
	if (r == LC_OK && c->verbose)
		fprintf(stderr, "leaderctl: init: %s (checkpoint every %llu commits)\n",
		        leader_describe(c->l), (unsigned long long)k);
	return r;
}

/* DB as the only positional argument, checked. */
static int one_database(struct lc *c, int argc, char **argv, int extra)
{
	int r = no_options(c, argc, argv);

	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 1 + extra, 1 + extra);
	if (r == LC_OK)
		r = lc_check_name(c, "database", argv[optind]);
	return r;
}

int lc_cmd_create_database(struct lc *c, int argc, char **argv)
{
	char uuid[PROTO_UUID_LEN + 1];
	int r = one_database(c, argc, argv, 0);

	if (r == LC_OK && leader_create_database(c->l, argv[optind], uuid) < 0)
		r = lc_engine(c);
	if (r == LC_OK && c->verbose)
		fprintf(stderr, "leaderctl: create-database: %s is %s\n", argv[optind], uuid);
	return r;
}

int lc_cmd_drop_database(struct lc *c, int argc, char **argv)
{
	int r = one_database(c, argc, argv, 0);

	if (r == LC_OK && leader_drop_database(c->l, argv[optind]) < 0)
		r = lc_engine(c);
	return r;
}

int lc_cmd_follower(struct lc *c, int argc, char **argv)
{
	bool detach = strcmp(c->cmd, "detach-follower") == 0;
	int r = one_database(c, argc, argv, 1);

	if (r == LC_OK)
		r = lc_check_name(c, "follower", argv[optind + 1]);
	if (r == LC_OK && leader_set_detached(c->l, argv[optind], argv[optind + 1], detach) < 0)
		r = lc_engine(c);
	return r;
}

int lc_cmd_checkpoint(struct lc *c, int argc, char **argv)
{
	uint64_t version = 0;
	int r = one_database(c, argc, argv, 0);

	if (r == LC_OK && leader_checkpoint(c->l, argv[optind], &version) < 0)
		r = lc_engine(c);
	if (r == LC_OK && c->verbose)
		fprintf(stderr, "leaderctl: checkpoint: %s at version %llu\n", argv[optind],
		        (unsigned long long)version);
	return r;
}

/* ---- verify ---- */

static void print_line(const char *line, void *arg)
{
	FILE *f = arg;

	fprintf(f, "%s\n", line);
}

int lc_cmd_verify(struct lc *c, int argc, char **argv)
{
	size_t problems = 0;
	int r = no_options(c, argc, argv);

	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 0, 0);
	if (r != LC_OK)
		return r;
	if (leader_verify(c->l, print_line, stdout, &problems) < 0)
		return lc_engine(c);
	if (problems)
		return lc_fail(c, "%zu problem%s found", problems, problems == 1 ? "" : "s");
	if (c->verbose)
		fprintf(stderr, "leaderctl: verify: %s: no problems\n", leader_describe(c->l));
	return LC_OK;
}

/* ---- vacuum ---- */

static void vacuum_line(const char *line, void *arg)
{
	const struct lc *c = arg;

	if (c->verbose || strncmp(line, "deleted ", 8) != 0)
		printf("%s\n", line);
}

int lc_cmd_vacuum(struct lc *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"log-retention", required_argument, NULL, 'r'},
	    {"grace", required_argument, NULL, 'g'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	struct leader_vacuum_opts o = {.log_retention = 7 * 86400 * TIMEFMT_TICKS_PER_SEC,
	                               .grace = 86400 * TIMEFMT_TICKS_PER_SEC};
	struct leader_vacuum_stats s = {0};
	int opt, r = LC_OK;

	while (r == LC_OK && (opt = lc_getopt(c, argc, argv, "", opts)) != -1) {
		if (opt == 'r')
			r = lc_parse_duration(c, "--log-retention", optarg, &o.log_retention);
		else if (opt == 'g')
			r = lc_parse_duration(c, "--grace", optarg, &o.grace);
		else if (opt == 'n')
			o.dry_run = true;
		else
			r = LC_USAGE;
	}
	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 0, 0);
	if (r == LC_OK && leader_vacuum(c->l, &o, vacuum_line, c, &s) < 0)
		r = lc_engine(c);
	if (r == LC_OK)
		printf("%s %llu log objects, %llu checkpoint objects, %llu artifacts, %llu "
		       "leftovers (%llu bytes)\n",
		       o.dry_run ? "would delete" : "deleted", (unsigned long long)s.logs,
		       (unsigned long long)s.checkpoints, (unsigned long long)s.artifacts,
		       (unsigned long long)s.orphans, (unsigned long long)s.bytes);
	return r;
}

/* ---- generate ---- */

static int generate_option(struct lc *c, int opt, struct leader_generate_opts *o)
{
	uint64_t v = 0;
	int r;

	switch (opt) {
	case 't':
		r = lc_parse_u64(c, "--tables", optarg, 10000, &v);
		o->tables = (unsigned)v;
		return r;
	case 'e':
		return lc_parse_u64(c, "--extents", optarg, 100000000, &o->extents);
	case 's':
		r = lc_parse_u64(c, "--artifact-size", optarg, 1 << 20, &v);
		o->artifact_size = (size_t)v;
		return r == LC_OK && v == 0 ? lc_usage(c, "--artifact-size must be at least 1") : r;
	case 'c':
		return lc_parse_u64(c, "--commit-extents", optarg, 10000, &o->commit_extents);
	case 'j':
		r = lc_parse_u64(c, "--threads", optarg, 64, &v);
		o->threads = (unsigned)v;
		return r;
	case 'r':
		r = lc_parse_u64(c, "--rows", optarg, 1000000, &o->rows);
		return r == LC_OK && o->rows == 0 ? lc_usage(c, "--rows must be at least 1") : r;
	case 'z':
		o->gzip = true;
		return LC_OK;
	}
	return LC_USAGE;
}

int lc_cmd_generate(struct lc *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"tables", required_argument, NULL, 't'},
	    {"extents", required_argument, NULL, 'e'},
	    {"artifact-size", required_argument, NULL, 's'},
	    {"commit-extents", required_argument, NULL, 'c'},
	    {"threads", required_argument, NULL, 'j'},
	    {"rows", required_argument, NULL, 'r'},
	    {"gzip", no_argument, NULL, 'z'},
	    {NULL, 0, NULL, 0},
	};
	struct leader_generate_opts o = {.artifact_size = 64};
	int opt, r = LC_OK;

	while (r == LC_OK && (opt = lc_getopt(c, argc, argv, "", opts)) != -1)
		r = generate_option(c, opt, &o);
	if (r == LC_OK)
		r = lc_positional(c, argc, argv, 1, 1);
	if (r == LC_OK)
		r = lc_check_name(c, "database", argv[optind]);
	if (r == LC_OK && o.extents && !o.tables)
		r = lc_usage(c, "--extents needs --tables");
	if (r == LC_OK && o.gzip && !o.rows)
		r = lc_usage(c, "--gzip needs --rows");
	if (r == LC_OK && !o.tables && !o.commit_extents)
		r = lc_usage(c, "give --tables and --extents, or --commit-extents");
	o.database = argv[optind];
	if (r == LC_OK && leader_generate(c->l, &o) < 0)
		r = lc_engine(c);
	return r;
}

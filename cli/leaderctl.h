/*
 * leaderctl — what the command files of leaderctl share: the context of one
 * run and the helpers that print errors the same way everywhere
 * ("leaderctl: COMMAND: what was wrong").
 */
#ifndef FOLLOWERD_LEADERCTL_H
#define FOLLOWERD_LEADERCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "leader/leader.h"

/* Exit codes. */
#define LC_OK 0
#define LC_FAIL 1  /* the command failed (or verify found problems) */
#define LC_USAGE 2 /* malformed command line */

struct lc {
	struct leader *l;
	const char *cmd; /* the command's name, for messages */
	bool json;
	int verbose;
};

/* Print "leaderctl: CMD: message" on stderr; return LC_FAIL / LC_USAGE. */
int lc_fail(struct lc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int lc_usage(struct lc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The engine's last error as lc_fail. */
int lc_engine(struct lc *c);

/* Options of one command: getopt_long over argv (argv[0] is the command).
 * Returns the option, -1 at the end, '?' on a bad option (already said). */
int lc_getopt(struct lc *c, int argc, char **argv, const char *shortopts,
              const struct option *longopts);

/* Argument parsers: LC_OK, or LC_USAGE with the message printed. */
int lc_parse_u64(struct lc *c, const char *what, const char *s, uint64_t max, uint64_t *ret);
int lc_parse_duration(struct lc *c, const char *what, const char *s, int64_t *ret);
int lc_parse_datetime(struct lc *c, const char *what, const char *s, int64_t *ret);
int lc_check_name(struct lc *c, const char *what, const char *s);
/* Expects exactly n positional arguments after the options (optind on). */
int lc_positional(struct lc *c, int argc, char **argv, int min, int max);

/* Commands (argv[0] is the command name; options follow). */
int lc_cmd_init(struct lc *c, int argc, char **argv);
int lc_cmd_create_database(struct lc *c, int argc, char **argv);
int lc_cmd_drop_database(struct lc *c, int argc, char **argv);
int lc_cmd_entity(struct lc *c, int argc, char **argv);
int lc_cmd_ingest(struct lc *c, int argc, char **argv);
int lc_cmd_drop_extents(struct lc *c, int argc, char **argv);
int lc_cmd_merge_extents(struct lc *c, int argc, char **argv);
int lc_cmd_caching(struct lc *c, int argc, char **argv);
int lc_cmd_retention(struct lc *c, int argc, char **argv);
int lc_cmd_principal(struct lc *c, int argc, char **argv);
int lc_cmd_follower(struct lc *c, int argc, char **argv);
int lc_cmd_show(struct lc *c, int argc, char **argv);
int lc_cmd_log(struct lc *c, int argc, char **argv);
int lc_cmd_dump(struct lc *c, int argc, char **argv);
int lc_cmd_verify(struct lc *c, int argc, char **argv);
int lc_cmd_vacuum(struct lc *c, int argc, char **argv);
int lc_cmd_checkpoint(struct lc *c, int argc, char **argv);
int lc_cmd_generate(struct lc *c, int argc, char **argv);

#endif

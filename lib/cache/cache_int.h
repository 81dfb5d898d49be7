/*
 * cache_int — what cache.c, cache_writer.c and cache_walk.c share; not for
 * other modules.
 */
#ifndef FOLLOWERD_CACHE_INT_H
#define FOLLOWERD_CACHE_INT_H

#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache/cache.h"

#define CACHE_PART_SUFFIX ".part"
/* "ab/" + sha256 + NUL */
#define CACHE_OBJNAME_LEN (3 + CACHE_SHA256_LEN + 1)
/* sha256 + ".part" + NUL */
#define CACHE_PARTNAME_LEN (CACHE_SHA256_LEN + sizeof(CACHE_PART_SUFFIX))

struct cache {
	char *dir;
	int root_fd;
	int objects_fd;
	int tmp_fd;
	int quarantine_fd;
	struct cache_options opt;
	pthread_mutex_t lock; /* guards counted and usage */
	bool counted;         /* usage holds the real totals */
	struct cache_usage usage;
};

/* "ab/<sha256>" relative to objects/ (sha256 already validated). */
void cache_object_name(const char *sha256, char buf[CACHE_OBJNAME_LEN]);

/* "<sha256>.part" relative to tmp/. */
void cache_part_name(const char *sha256, char buf[CACHE_PARTNAME_LEN]);

/* Adds (add) or subtracts one object of bytes to the counters, if counted. */
void cache_count(struct cache *c, uint64_t bytes, bool add);

/* A new DIR stream over the directory dirfd, with its own offset. */
int cache_opendir(int dirfd, DIR **ret);

/* Removes name in dirfd without following symlinks: a file, a symlink, or a
 * directory and what it holds (a bounded depth). */
int cache_rm(int dirfd, const char *name);

/* Moves the file name in tmp/ to quarantine/<sha256> and trims the
 * quarantine; when that fails the file is removed.  Returns the number of
 * quarantined files removed by the trim. */
uint64_t cache_quarantine(struct cache *c, const char *name, const char *sha256);

/* Removes misnamed entries and the oldest files past the bounds; returns
 * the number removed, or a negative errno when the directory cannot be read. */
int64_t cache_quarantine_trim(struct cache *c);

/* Walks objects/ and sums the objects' sizes, removing nothing. */
int cache_scan_usage(struct cache *c, struct cache_usage *ret);

#endif

/*
 * policy — caching-policy evaluation: which extents are hot.
 *
 * Pure functions over plain values (no I/O, no clock: callers pass "now"), so
 * the sync engine, the eviction loop and `followerctl explain` all decide the
 * same way.  A caching policy is Kusto's: a hot span and hot windows
 * (struct proto_caching).
 *
 * Hotness of an extent whose created-on range is [min_created, max_created]:
 * - hot by span when hot_span > 0 and max_created >= now - hot_span.  The
 *   boundary is inclusive: an extent whose newest row is exactly hot_span old
 *   is hot, one tick older is cold.  Extents created in the future (clock
 *   skew) are hot.  A hot span of 0 makes nothing hot by span (Kusto's "0d:
 *   nothing is cached").
 * - hot by window when [min_created, max_created] overlaps a hot window
 *   [min, max], both ends inclusive (touching at one tick is an overlap).
 * - hot when either holds.  Passing time can only make an extent colder, and
 *   only through the span.
 *
 * The effective policy of a table combines four optional policies: the
 * leader's database and table policies and the follower's database and table
 * overrides (followerd.conf hot_cache / hot_window / table_hot_cache).  On
 * each side a table policy replaces its database's policy entirely (windows
 * included), as in Kusto.  The sides then combine by the attach's
 * caching_policies_modification_kind, following Azure Data Explorer's
 * follower documentation (learn.microsoft.com, "Follower commands", caching
 * policy):
 * - none:    the leader's policy; the overrides are ignored.
 * - replace: the leader's policies are removed; the follower's override
 *            applies.  With no override at all, everything is hot (ADX: "if
 *            the collection of override policies is empty, everything is
 *            cached by default") — not the leader's policy.
 * - union:   the leader's and the follower's policies together: hot when
 *            either says hot, i.e. the longer span and all windows.  Only
 *            policies that exist take part: a leader without any policy and
 *            a follower override of 7d give 7d (the combined collection holds
 *            one policy), not "everything" — else an override could never
 *            narrow a leader that sets no policy.
 * In every kind, when no policy takes part, everything is hot (Kusto's
 * default caching policy is unlimited).
 *
 * Times are Kusto ticks (100 ns) since the Unix epoch; spans are ticks.
 */
#ifndef FOLLOWERD_POLICY_H
#define FOLLOWERD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "proto/proto.h"

/* policy_next_change: hotness never changes by the passage of time. */
#define POLICY_NEVER INT64_MAX

/* Where a part of the effective policy came from. */
enum policy_source {
	POLICY_SRC_NONE,           /* no policy: the default (everything hot) */
	POLICY_SRC_LEADER_DB,      /* the leader's database policy */
	POLICY_SRC_LEADER_TABLE,   /* the leader's table policy */
	POLICY_SRC_FOLLOWER_DB,    /* the follower's database override */
	POLICY_SRC_FOLLOWER_TABLE, /* the follower's table override */
};

struct policy_window {
	int64_t min; /* ticks, inclusive */
	int64_t max; /* ticks, inclusive; min <= max */
	enum policy_source from;
};

/* An effective policy.  Callers may read every member; only policy_effective
 * builds one.  When all_hot, the span and windows are unused (0). */
struct policy {
	enum conf_modkind kind;
	bool all_hot;                   /* no policy took part: everything is hot */
	enum policy_source leader;      /* the leader's policy that took part, or NONE */
	enum policy_source follower;    /* the follower's policy that took part, or NONE */
	int64_t hot_span;               /* ticks, >= 0 */
	enum policy_source span_from;   /* the policy whose span this is (the longer on union) */
	size_t nwindows;                /* windows of the policies that took part */
	struct policy_window windows[]; /* sorted by (min, max) */
};

/* The effective policy of one table.  Each input is borrowed and may be NULL
 * (absent); kind is the attach's caching_policies_modification_kind.
 * Returns 0 and a new policy in *ret (free with policy_free), -EINVAL when a
 * span is negative, a window has min > max or kind is unknown, -E2BIG when a
 * policy has more than PROTO_MAX_WINDOWS windows, -ENOMEM. */
int policy_effective(const struct proto_caching *leader_db,
                     const struct proto_caching *leader_table,
                     const struct proto_caching *follower_db,
                     const struct proto_caching *follower_table, enum conf_modkind kind,
                     struct policy **ret);

/* Frees p; NULL is a no-op. */
void policy_free(struct policy *p);

/* The follower's database override configured in a (hot_cache and
 * hot_window), into *ret (caller clears with proto_caching_clear).  When a
 * gives neither, *ret_has is false and *ret is zeroed.  A hot_window without
 * hot_cache is a policy of span 0 with those windows.  0 or -ENOMEM. */
int policy_override_db(const struct conf_attach *a, struct proto_caching *ret, bool *ret_has);

/* The follower's override of table (table_hot_cache: a span, no window) in
 * *ret; false when a has none for it.  Nothing to free. */
bool policy_override_table(const struct conf_attach *a, const char *table,
                           struct proto_caching *ret);

/* True when an extent created in [min_created, max_created] is hot at now
 * under p.  min_created > max_created never comes from a validated extent;
 * the two are then swapped. */
bool policy_is_hot(const struct policy *p, int64_t min_created, int64_t max_created, int64_t now);

/* The oldest max_created that is hot by span at now: extents with
 * max_created >= *ret_cutoff are hot whatever the windows say (a store query
 * can select them by index).  False when nothing is hot by span (all_hot
 * policies answer true with INT64_MIN). */
bool policy_span_cutoff(const struct policy *p, int64_t now, int64_t *ret_cutoff);

/* The first time after now at which the extent's hotness under p changes by
 * the passage of time alone, or POLICY_NEVER: an extent hot only by span
 * turns cold at max_created + hot_span + 1; anything else never changes.
 * The daemon arms one timer at the minimum over its extents. */
int64_t policy_next_change(const struct policy *p, int64_t min_created, int64_t max_created,
                           int64_t now);

/* A short English name of a source: "the leader's table policy". */
const char *policy_source_name(enum policy_source s);

/* One line saying whether the extent is hot at now and which policy decided
 * why, for `followerctl explain`, e.g. "hot: max_created
 * 2026-01-02T00:00:00.0000000Z is within the hot span 7.00:00:00 (since
 * 2025-12-27T00:00:00.0000000Z) of the follower's database override (union)".
 * Written into buf (always NUL terminated when len > 0, truncated to len);
 * returns buf. */
char *policy_explain(const struct policy *p, int64_t min_created, int64_t max_created, int64_t now,
                     char *buf, size_t len);

/* The name of a modification kind: "none", "union", "replace". */
const char *policy_kind_name(enum conf_modkind kind);

#endif

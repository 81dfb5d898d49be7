/*
 * policy — caching-policy evaluation (see policy.h for the rules).
 *
 * The effective policy is one span and a list of windows: "hot when either
 * says hot" over two policies is exactly the longer span with both lists of
 * windows, because hotness by span grows with the span.  Each window keeps
 * the policy it came from so that explain can name it.
 */
#include "policy/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/timefmt.h"

/* One side's policy after "a table policy replaces its database's". */
struct side {
	const struct proto_caching *c; /* NULL: none */
	enum policy_source from;
};

static int check_caching(const struct proto_caching *c)
{
	if (c == NULL)
		return 0;
	if (c->hot_span < 0)
		return -EINVAL;
	if (c->nwindows > PROTO_MAX_WINDOWS)
		return -E2BIG;
	for (size_t i = 0; i < c->nwindows; i++)
		if (c->windows[i].min > c->windows[i].max)
			return -EINVAL;
	return 0;
}

static struct side pick(const struct proto_caching *db, const struct proto_caching *table,
                        enum policy_source db_src, enum policy_source table_src)
{
	if (table != NULL)
		return (struct side){table, table_src};
	if (db != NULL)
		return (struct side){db, db_src};
	return (struct side){NULL, POLICY_SRC_NONE};
}

static int cmp_window(const void *a, const void *b)
{
	const struct policy_window *x = a, *y = b;

	if (x->min != y->min)
		return x->min < y->min ? -1 : 1;
	if (x->max != y->max)
		return x->max < y->max ? -1 : 1;
	return (int)x->from - (int)y->from;
}

static void add_side(struct policy *p, struct side s)
{
	if (s.c == NULL)
		return;
	/* The longer span wins; on a tie the first side added (the leader) is named. */
	if (p->span_from == POLICY_SRC_NONE || s.c->hot_span > p->hot_span) {
		p->hot_span = s.c->hot_span;
		p->span_from = s.from;
	}
	for (size_t i = 0; i < s.c->nwindows; i++)
		p->windows[p->nwindows++] = (struct policy_window){
		    .min = s.c->windows[i].min, .max = s.c->windows[i].max, .from = s.from};
}

int policy_effective(const struct proto_caching *leader_db,
                     const struct proto_caching *leader_table,
                     const struct proto_caching *follower_db,
                     const struct proto_caching *follower_table, enum conf_modkind kind,
                     struct policy **ret)
{
	struct side lead =
	    pick(leader_db, leader_table, POLICY_SRC_LEADER_DB, POLICY_SRC_LEADER_TABLE);
	struct side fol =
	    pick(follower_db, follower_table, POLICY_SRC_FOLLOWER_DB, POLICY_SRC_FOLLOWER_TABLE);
	struct policy *p;
	size_t n;
	int r;

	if ((r = check_caching(leader_db)) < 0 || (r = check_caching(leader_table)) < 0 ||
	    (r = check_caching(follower_db)) < 0 || (r = check_caching(follower_table)) < 0)
		return r;
	if (kind == CONF_MOD_NONE)
		fol = (struct side){NULL, POLICY_SRC_NONE};
	else if (kind == CONF_MOD_REPLACE)
		lead = (struct side){NULL, POLICY_SRC_NONE};
	else if (kind != CONF_MOD_UNION)
		return -EINVAL;
	n = (lead.c ? lead.c->nwindows : 0) + (fol.c ? fol.c->nwindows : 0);
	p = calloc(1, sizeof(*p) + n * sizeof(p->windows[0]));
	if (p == NULL)
		return -ENOMEM;
	p->kind = kind;
	p->leader = lead.from;
	p->follower = fol.from;
	p->all_hot = lead.c == NULL && fol.c == NULL;
	add_side(p, lead);
	add_side(p, fol);
	qsort(p->windows, p->nwindows, sizeof(p->windows[0]), cmp_window);
	*ret = p;
	return 0;
}

void policy_free(struct policy *p)
{
	free(p);
}

int policy_override_db(const struct conf_attach *a, struct proto_caching *ret, bool *ret_has)
{
	struct proto_caching c = {0};

	if (a->hot_cache == CONF_UNSET && a->hot_windows.n == 0) {
		memset(ret, 0, sizeof(*ret));
		*ret_has = false;
		return 0;
	}
	c.hot_span = a->hot_cache == CONF_UNSET ? 0 : a->hot_cache;
	if (a->hot_windows.n > 0) {
		c.windows = calloc(a->hot_windows.n, sizeof(*c.windows));
		if (c.windows == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < a->hot_windows.n; i++)
			c.windows[i] =
			    (struct proto_window){a->hot_windows.v[i].min, a->hot_windows.v[i].max};
		c.nwindows = a->hot_windows.n;
	}
	*ret = c;
	*ret_has = true;
	return 0;
}

bool policy_override_table(const struct conf_attach *a, const char *table,
                           struct proto_caching *ret)
{
	for (size_t i = 0; i < a->table_hot_cache.n; i++) {
		if (strcmp(a->table_hot_cache.v[i].table, table) == 0) {
			*ret = (struct proto_caching){.hot_span = a->table_hot_cache.v[i].hot};
			return true;
		}
	}
	return false;
}

bool policy_span_cutoff(const struct policy *p, int64_t now, int64_t *ret_cutoff)
{
	int64_t cutoff;

	if (p->all_hot) {
		*ret_cutoff = INT64_MIN;
		return true;
	}
	if (p->hot_span <= 0)
		return false;
	if (__builtin_sub_overflow(now, p->hot_span, &cutoff))
		cutoff = INT64_MIN;
	*ret_cutoff = cutoff;
	return true;
}

static bool hot_by_span(const struct policy *p, int64_t max_created, int64_t now)
{
	int64_t cutoff;

	return !p->all_hot && policy_span_cutoff(p, now, &cutoff) && max_created >= cutoff;
}

/* The first window overlapping [lo, hi] (inclusive), or NULL. */
static const struct policy_window *window_hit(const struct policy *p, int64_t lo, int64_t hi)
{
	for (size_t i = 0; i < p->nwindows; i++)
		if (p->windows[i].min <= hi && lo <= p->windows[i].max)
			return &p->windows[i];
	return NULL;
}

static void order(int64_t *lo, int64_t *hi)
{
	if (*lo > *hi) {
		int64_t t = *lo;
		*lo = *hi;
		*hi = t;
	}
}

bool policy_is_hot(const struct policy *p, int64_t min_created, int64_t max_created, int64_t now)
{
	order(&min_created, &max_created);
	if (p->all_hot)
		return true;
	return hot_by_span(p, max_created, now) || window_hit(p, min_created, max_created) != NULL;
}

int64_t policy_next_change(const struct policy *p, int64_t min_created, int64_t max_created,
                           int64_t now)
{
	int64_t t;

	order(&min_created, &max_created);
	if (p->all_hot || window_hit(p, min_created, max_created) != NULL)
		return POLICY_NEVER;
	if (!hot_by_span(p, max_created, now))
		return POLICY_NEVER; /* cold, and time only makes it colder */
	if (__builtin_add_overflow(max_created, p->hot_span, &t) || t == INT64_MAX)
		return POLICY_NEVER;
	return t + 1;
}

const char *policy_source_name(enum policy_source s)
{
	switch (s) {
	case POLICY_SRC_NONE:
		return "no policy";
	case POLICY_SRC_LEADER_DB:
		return "the leader's database policy";
	case POLICY_SRC_LEADER_TABLE:
		return "the leader's table policy";
	case POLICY_SRC_FOLLOWER_DB:
		return "the follower's database override";
	case POLICY_SRC_FOLLOWER_TABLE:
		return "the follower's table override";
	}
	return "?";
}

const char *policy_kind_name(enum conf_modkind kind)
{
	switch (kind) {
	case CONF_MOD_NONE:
		return "none";
	case CONF_MOD_UNION:
		return "union";
	case CONF_MOD_REPLACE:
		return "replace";
	}
	return "?";
}

static const char *why_all_hot(enum conf_modkind kind)
{
	switch (kind) {
	case CONF_MOD_NONE:
		return "the leader sets none and overrides are ignored";
	case CONF_MOD_REPLACE:
		return "the leader's are replaced and the follower sets no override";
	case CONF_MOD_UNION:
		break;
	}
	return "neither the leader nor the follower sets one";
}

static void explain_span(const struct policy *p, int64_t max_created, int64_t now, bool hot,
                         char *buf, size_t len)
{
	char when[TIMEFMT_DATETIME_LEN], since[TIMEFMT_DATETIME_LEN], span[TIMEFMT_TIMESPAN_LEN];
	int64_t cutoff = INT64_MIN;

	(void)policy_span_cutoff(p, now, &cutoff);
	(void)snprintf(buf, len, "%s: max_created %s is %s the hot span %s (since %s) of %s%s",
	               hot ? "hot" : "cold", timefmt_format_datetime(max_created, when),
	               hot ? "within" : "older than", timefmt_format_timespan(p->hot_span, span),
	               timefmt_format_datetime(cutoff, since), policy_source_name(p->span_from),
	               hot ? "" : " and no hot window overlaps");
}

static void explain_window(const struct policy_window *w, int64_t lo, int64_t hi, char *buf,
                           size_t len)
{
	char a[TIMEFMT_DATETIME_LEN], b[TIMEFMT_DATETIME_LEN];
	char c[TIMEFMT_DATETIME_LEN], d[TIMEFMT_DATETIME_LEN];

	(void)snprintf(buf, len, "hot: created %s .. %s overlaps the hot window %s .. %s of %s",
	               timefmt_format_datetime(lo, a), timefmt_format_datetime(hi, b),
	               timefmt_format_datetime(w->min, c), timefmt_format_datetime(w->max, d),
	               policy_source_name(w->from));
}

static void explain_decision(const struct policy *p, int64_t lo, int64_t hi, int64_t now, char *buf,
                             size_t len)
{
	const struct policy_window *w;

	if (p->all_hot) {
		(void)snprintf(buf, len, "hot: no caching policy applies (%s): everything is hot",
		               why_all_hot(p->kind));
	} else if (hot_by_span(p, hi, now)) {
		explain_span(p, hi, now, true, buf, len);
	} else if ((w = window_hit(p, lo, hi)) != NULL) {
		explain_window(w, lo, hi, buf, len);
	} else if (p->hot_span == 0) {
		(void)snprintf(buf, len, "cold: the hot span of %s is 0 and no hot window overlaps",
		               policy_source_name(p->span_from));
	} else {
		explain_span(p, hi, now, false, buf, len);
	}
}

char *policy_explain(const struct policy *p, int64_t min_created, int64_t max_created, int64_t now,
                     char *buf, size_t len)
{
	size_t used;

	if (len == 0)
		return buf;
	order(&min_created, &max_created);
	explain_decision(p, min_created, max_created, now, buf, len);
	used = strlen(buf);
	if (used + 1 < len)
		(void)snprintf(buf + used, len - used, " (caching_policies_modification_kind %s)",
		               policy_kind_name(p->kind));
	return buf;
}

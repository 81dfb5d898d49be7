/*
 * match — '*' wildcards and include/exclude evaluation (see match.h).
 *
 * A pattern is split at its stars into segments.  The first segment must be
 * a prefix of the name and the last a suffix; the segments in between are
 * found left to right, each at its leftmost place after the previous one.
 * Taking the leftmost place is always right when '*' is the only wildcard
 * (it leaves the most room for what follows), so nothing is ever retried and
 * the work is linear: memmem() is glibc's two-way search.
 */
#include "util/match.h"

#include <string.h>

/* Finds the middle segments of pattern (between its first and last star) in
 * name[0..len), in order; true when they all fit. */
static bool match_middle(const char *pattern, const char *name, size_t len)
{
	const char *seg = pattern;
	size_t pos = 0;

	for (;;) {
		while (*seg == '*')
			seg++;
		const char *star = strchr(seg, '*');
		if (star == NULL)
			return true; /* what is left is the suffix, already checked */
		size_t seglen = (size_t)(star - seg);
		const char *hit = memmem(name + pos, len - pos, seg, seglen);
		if (hit == NULL)
			return false;
		pos = (size_t)(hit - name) + seglen;
		seg = star;
	}
}

bool match_wildcard(const char *pattern, const char *name)
{
	const char *first = strchr(pattern, '*');
	if (first == NULL)
		return strcmp(pattern, name) == 0;

	const char *last = strrchr(pattern, '*');
	size_t prelen = (size_t)(first - pattern);
	size_t suflen = strlen(last + 1);
	size_t len = strlen(name);

	if (prelen + suflen > len)
		return false;
	if (memcmp(name, pattern, prelen) != 0)
		return false;
	if (memcmp(name + len - suflen, last + 1, suflen) != 0)
		return false;
	/* The middle segments must fit between the prefix and the suffix. */
	return match_middle(first, name + prelen, len - prelen - suflen);
}

static bool match_any(char *const *patterns, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (match_wildcard(patterns[i], name))
			return true;
	return false;
}

bool match_included(char *const *include, size_t ninclude, char *const *exclude, size_t nexclude,
                    const char *name)
{
	if (match_any(exclude, nexclude, name))
		return false;
	return ninclude == 0 || match_any(include, ninclude, name);
}

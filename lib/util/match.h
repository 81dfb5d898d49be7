/*
 * match — Kusto-style name patterns for follower include/exclude lists.
 *
 * An attached database configuration selects the tables, external tables and
 * materialized views it follows with lists such as include_tables =
 * "tableA*, tableB*" and exclude_tables = "tableA_private".  Only '*' is
 * special (any run of characters, including none); everything else matches
 * itself, case-sensitively, as Kusto does.  Matching is linear in the length
 * of the name and the pattern: no backtracking, whatever the input.
 */
#ifndef FOLLOWERD_MATCH_H
#define FOLLOWERD_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* True when name matches pattern as a whole.  Both are borrowed,
 * NUL-terminated.  The empty pattern matches only the empty name. */
bool match_wildcard(const char *pattern, const char *name);

/* True when name is selected by the lists: an empty include list selects
 * every name, otherwise name must match one of its patterns; a name matching
 * any exclude pattern is never selected (exclusion wins).  Lists are
 * borrowed arrays of n patterns (n may be 0, the array then may be NULL). */
bool match_included(char *const *include, size_t ninclude, char *const *exclude, size_t nexclude,
                    const char *name);

#endif

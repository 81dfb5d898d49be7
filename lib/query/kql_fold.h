/*
 * kql_fold — the case of UTF-8 text as Kusto sees it: tolower/toupper and
 * its case-insensitive operators (=~, in~, has, contains, startswith …)
 * map every letter, not only ASCII ones ("CAFÉ" =~ "café").  Per code
 * point, with the C.UTF-8 locale's towlower/towupper; bytes that are not
 * UTF-8 are kept as they are.
 *
 * The operators compare as .NET's ordinal ignore-case does, which folds
 * to upper case: a final sigma is a sigma ("ΟΔΟΣ" =~ "οδος"), as are the
 * Greek symbol forms (ϐ β, ϑ θ …), which folding to lower case kept
 * apart.  KQL_FOLD_CASE is lower(upper(c)): equal where the upper cases
 * are, and ASCII lower case, which the operators' ASCII paths rely on.
 * Two letters whose upper case is ASCII are left alone, as .NET's
 * invariant casing leaves the dotless i: ı and ſ (U+0131, U+017F) stay
 * apart from i and s.  Still equal here, where .NET keeps them apart: the
 * Kelvin, Angstrom and Ohm signs and their letters (K k, Å å, Ω ω) and
 * İ and i, whose lower case is the other.
 */
#ifndef FOLLOWERD_KQL_FOLD_H
#define FOLLOWERD_KQL_FOLD_H

#include <stdbool.h>

/* true when s holds only ASCII bytes (then the C library's strcasecmp and
 * strcasestr already compare as Kusto does). */
bool kql_fold_ascii(const char *s);

enum kql_fold_to {
	KQL_FOLD_LOWER, /* tolower() */
	KQL_FOLD_UPPER, /* toupper() */
	KQL_FOLD_CASE,  /* the case-insensitive operators' key (above) */
};

/* A new string (the caller frees it): s mapped as to says.  NULL on
 * ENOMEM. */
char *kql_fold(const char *s, enum kql_fold_to to);

#endif

/*
 * kql_fold — the case of UTF-8 text as Kusto sees it: its case-insensitive
 * operators (=~, in~, has, contains, startswith …) and tolower/toupper
 * map every letter, not only ASCII ones ("CAFÉ" =~ "café").  Per code
 * point, with the C.UTF-8 locale's towlower/towupper; bytes that are not
 * UTF-8 are kept as they are.
 */
#ifndef FOLLOWERD_KQL_FOLD_H
#define FOLLOWERD_KQL_FOLD_H

#include <stdbool.h>

/* true when s holds only ASCII bytes (then the C library's strcasecmp and
 * strcasestr already compare as Kusto does). */
bool kql_fold_ascii(const char *s);

/* A new string (the caller frees it): s in lower case, or upper case when
 * upper.  NULL on ENOMEM. */
char *kql_fold(const char *s, bool upper);

#endif

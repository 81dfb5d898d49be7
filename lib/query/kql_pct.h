/*
 * kql_pct — percentile's partial state as text (a split's $pstate,
 * kql_split.h): a partition's non-null values of x each as kql_percentile
 * keeps it (a double, and whether SQLite gave it as an integer), so the
 * merge selects the nearest rank over exactly the whole plan's values,
 * whatever their order.  Text, because partial rows travel as kql_values
 * (NUL-terminated strings): a flag letter, 'i' when every value was an
 * integer (or there is none: the answer is then an integer, as the whole
 * plan's), else 'r'; then each double's 64 bits in KQL_PCT_DIGITS letters
 * of 6 bits ('0' + bits: printable, never NUL), the first holding 4.
 */
#ifndef FOLLOWERD_KQL_PCT_H
#define FOLLOWERD_KQL_PCT_H

#include <stdbool.h>
#include <stddef.h>

#define KQL_PCT_DIGITS 11 /* letters per value */

/* The bytes of the text of n values, its NUL included. */
size_t kql_pct_size(size_t n);

/* The text of v[0 .. n) into buf (kql_pct_size(n) bytes). */
void kql_pct_write(const double *v, size_t n, bool integral, char *buf);

/* The values text (len bytes, borrowed) holds, its integer flag into
 * *ret_integral; -1 when it is no such text. */
long kql_pct_count(const char *text, size_t len, bool *ret_integral);

/* Its n values (kql_pct_count's) into out; -1 on a letter outside the
 * digits (out then partly written). */
int kql_pct_read(const char *text, size_t n, double *out);

#endif

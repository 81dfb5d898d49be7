/*
 * kql_pct — percentile's partial state as text (a split's $pstate,
 * kql_split.h): a partition's non-null values of x each as kql_percentile
 * keeps it (a double, and whether SQLite gave it as an integer), so the
 * merge selects the nearest rank over exactly the whole plan's values,
 * whatever their order.  Text, because partial rows travel as kql_values
 * (NUL-terminated strings).  A flag letter: 'i' when every value was an
 * integer (or there is none: the answer is then an integer, as the whole
 * plan's), else 'r'; then each double's 64 bits in KQL_PCT_DIGITS letters
 * of 6 bits ('0' + bits: printable, never NUL), the first holding 4.
 * Values repeat (latencies in ms, codes, a day's timestamps by the
 * second): when at most an eighth of them are distinct, the flag is 'I'
 * or 'R' and each distinct value (its bits: 0 and -0 apart) comes once,
 * followed by its count in as many letters, a text of a few distinct
 * values instead of megabytes.
 */
#ifndef FOLLOWERD_KQL_PCT_H
#define FOLLOWERD_KQL_PCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KQL_PCT_DIGITS 11 /* letters per value or count */
/* values a state may hold: a bound on a count, far past any budget */
#define KQL_PCT_MAX ((size_t)1 << 40)

/* The text of v[0 .. n) (malloc'd; *ret_len its bytes, its NUL not
 * counted), or NULL out of memory.  Finding the repeated values holds
 * at most 8 n bytes a moment (beside v's own 8 n). */
char *kql_pct_text(const double *v, size_t n, bool integral, size_t *ret_len);

/* The values text (len bytes, borrowed) holds, counts added up, its
 * integer flag into *ret_integral; -1 when it is no such text, or past
 * KQL_PCT_MAX. */
long long kql_pct_count(const char *text, size_t len, bool *ret_integral);

/* Its values (kql_pct_count's, each repeated as counted) into out; -1 on
 * a letter outside the digits (out then partly written). */
int kql_pct_read(const char *text, size_t len, double *out);

/* A distinct value and its count. */
struct kql_pct_pair {
	double v;
	uint64_t n;
};

/* The pairs a paired text (kql_pct_count's, len bytes) holds; 0 when it
 * is a text of values one by one. */
size_t kql_pct_npairs(const char *text, size_t len);

/* Its pairs (kql_pct_npairs) into out; -1 as kql_pct_read. */
int kql_pct_read_pairs(const char *text, size_t len, struct kql_pct_pair *out);

/* The k-th smallest (from 0) of the values p[0 .. n) count (k below
 * their counts' sum); p is sorted.  Few pairs: a sort is cheap. */
double kql_pct_select(struct kql_pct_pair *p, size_t n, uint64_t k);

#endif

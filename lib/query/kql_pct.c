/*
 * kql_pct — percentile's partial state as text (kql_pct.h): the values
 * as they are, or each distinct value and its count, found with an
 * open-addressing table keyed by the values' bits, given up once more than
 * an eighth of the values are distinct (the plain text is then shorter
 * than pairs would be by at least half, and the table never outgrew the
 * values).
 */
#include "query/kql_pct.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash64.h"

/* A distinct value's bits and count (0: an empty slot). */
struct slot {
	uint64_t bits, n;
};

struct distinct {
	struct slot *s;
	size_t mask, used, most; /* most: distinct values before giving up */
};

static char *put(char *p, uint64_t w)
{
	/* the last letter holds the low 6 bits, the first the high 4 */
	for (int d = KQL_PCT_DIGITS - 1; d >= 0; d--, w >>= 6)
		p[d] = (char)('0' + (w & 63));
	return p + KQL_PCT_DIGITS;
}

/* The word at p; false on a letter outside the digits. */
static bool get(const char *p, uint64_t *ret)
{
	const unsigned char *s = (const unsigned char *)p;
	uint64_t w = 0;

	for (int d = 0; d < KQL_PCT_DIGITS; d++) {
		unsigned b = (unsigned)s[d] - '0';
		/* the first letter's 4 bits, the others' 6 */
		if (b >= (d == 0 ? 16u : 64u))
			return false;
		w = w << 6 | b;
	}
	*ret = w;
	return true;
}

static bool grow(struct distinct *t)
{
	size_t cap = t->s ? 2 * (t->mask + 1) : 64;
	struct slot *s = calloc(cap, sizeof(*s));

	if (!s)
		return false;
	for (size_t i = 0; t->s && i <= t->mask; i++) {
		size_t at = hash64_fmix(t->s[i].bits) & (cap - 1);
		if (!t->s[i].n)
			continue;
		for (; s[at].n; at = (at + 1) & (cap - 1))
			;
		s[at] = t->s[i];
	}
	free(t->s);
	t->s = s;
	t->mask = cap - 1;
	return true;
}

/* Counts bits; false once too many are distinct (or out of memory). */
static bool count(struct distinct *t, uint64_t bits)
{
	size_t at = hash64_fmix(bits) & t->mask;

	for (; t->s[at].n; at = (at + 1) & t->mask)
		if (t->s[at].bits == bits) {
			t->s[at].n++;
			return true;
		}
	if (++t->used > t->most)
		return false;
	t->s[at] = (struct slot){bits, 1};
	/* at most half full */
	return 2 * t->used <= t->mask + 1 || grow(t);
}

/* The distinct values of v into t; false when they are too many. */
static bool find_distinct(const double *v, size_t n, struct distinct *t)
{
	t->most = n / 8;
	if (t->most == 0 || !grow(t))
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &v[i], sizeof(bits));
		if (!count(t, bits))
			return false;
	}
	return true;
}

/* The pairs' text of t, *ret_len its length. */
static char *pairs_text(const struct distinct *t, bool integral, size_t *ret_len)
{
	size_t len = 1 + 2 * KQL_PCT_DIGITS * t->used;
	char *text = malloc(len + 1), *p = text;

	if (!text)
		return NULL;
	*p++ = integral ? 'I' : 'R';
	for (size_t i = 0; i <= t->mask; i++)
		if (t->s[i].n)
			p = put(put(p, t->s[i].bits), t->s[i].n);
	*p = '\0';
	*ret_len = len;
	return text;
}

char *kql_pct_text(const double *v, size_t n, bool integral, size_t *ret_len)
{
	struct distinct t = {0};
	char *text, *p;

	if (find_distinct(v, n, &t)) {
		text = pairs_text(&t, integral, ret_len);
		free(t.s);
		return text;
	}
	free(t.s);
	if (!(text = p = malloc(2 + n * KQL_PCT_DIGITS)))
		return NULL;
	*p++ = integral ? 'i' : 'r';
	for (size_t i = 0; i < n; i++) {
		uint64_t bits;
		memcpy(&bits, &v[i], sizeof(bits));
		p = put(p, bits);
	}
	*p = '\0';
	*ret_len = (size_t)(p - text);
	return text;
}

/* Whether text is paired (of counts), or -1 when no state's flag. */
static int paired(const char *text, size_t len, bool *ret_integral)
{
	if (len < 1 || (text[0] != 'i' && text[0] != 'I' && text[0] != 'r' && text[0] != 'R'))
		return -1;
	*ret_integral = text[0] == 'i' || text[0] == 'I';
	return text[0] == 'I' || text[0] == 'R';
}

long long kql_pct_count(const char *text, size_t len, bool *ret_integral)
{
	int pairs = paired(text, len, ret_integral);
	size_t step = (pairs ? 2 : 1) * KQL_PCT_DIGITS;
	uint64_t total = 0, n;

	if (pairs < 0 || (len - 1) % step != 0)
		return -1;
	if (!pairs)
		return (len - 1) / step <= KQL_PCT_MAX ? (long long)((len - 1) / step) : -1;
	for (size_t at = 1 + KQL_PCT_DIGITS; at < len; at += step) {
		if (!get(text + at, &n) || n == 0 || n > KQL_PCT_MAX - total)
			return -1;
		total += n;
	}
	return (long long)total;
}

int kql_pct_read(const char *text, size_t len, double *out)
{
	bool integral, pairs = paired(text, len, &integral) == 1;
	size_t step = (pairs ? 2 : 1) * KQL_PCT_DIGITS;

	for (size_t at = 1; at + step <= len; at += step) {
		uint64_t bits, n = 1;
		if (!get(text + at, &bits) || (pairs && !get(text + at + KQL_PCT_DIGITS, &n)))
			return -1;
		while (n-- > 0)
			memcpy(out++, &bits, sizeof(bits));
	}
	return 0;
}

size_t kql_pct_npairs(const char *text, size_t len)
{
	bool integral;

	return paired(text, len, &integral) == 1 ? (len - 1) / (2 * KQL_PCT_DIGITS) : 0;
}

int kql_pct_read_pairs(const char *text, size_t len, struct kql_pct_pair *out)
{
	for (size_t at = 1; at + 2 * KQL_PCT_DIGITS <= len; at += 2 * KQL_PCT_DIGITS, out++) {
		uint64_t bits;
		if (!get(text + at, &bits) || !get(text + at + KQL_PCT_DIGITS, &out->n))
			return -1;
		memcpy(&out->v, &bits, sizeof(bits));
	}
	return 0;
}

static int compare_pairs(const void *a, const void *b)
{
	double x = ((const struct kql_pct_pair *)a)->v, y = ((const struct kql_pct_pair *)b)->v;

	return x < y ? -1 : x > y;
}

double kql_pct_select(struct kql_pct_pair *p, size_t n, uint64_t k)
{
	size_t i = 0;

	qsort(p, n, sizeof(*p), compare_pairs);
	for (; i + 1 < n && k >= p[i].n; i++)
		k -= p[i].n;
	return p[i].v;
}

/*
 * kql_strop — KQL's string operators on one row's text (kql_strop.h).
 *
 * Kusto compares case-insensitively after folding every letter, and the
 * answer must stay the full fold's: fold(hay) op fold(needle).  Folding
 * the needle is done once (kql_needle_new).  Folding maps an ASCII byte
 * to its ASCII lower case and leaves every other byte non-ASCII, so over
 * a haystack of ASCII bytes fold(hay) is the haystack with its letters
 * lowered: it is matched in place, a byte lowered as it is compared
 * (a folded needle with a byte beyond ASCII simply never matches there).
 * Any other haystack is folded first: a KELVIN SIGN (U+212A) or a LONG S
 * (U+017F) fold to ASCII letters, so no shortcut is taken there.  The
 * case-sensitive forms never fold.  Terms (has, hasprefix, hassuffix) are
 * runs of ASCII letters and digits and of bytes beyond ASCII, as before.
 */
#include "query/kql_strop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_fold.h"

struct kql_needle {
	int op;
	bool ci;    /* case-insensitive: text is folded to lower case */
	size_t len; /* bytes of text */
	char text[];
};

static bool op_ci(int op)
{
	return op == KQL_S_HAS || op == KQL_S_HASPREFIX || op == KQL_S_HASSUFFIX ||
	       op == KQL_S_CONTAINS || op == KQL_S_STARTSWITH || op == KQL_S_ENDSWITH ||
	       op == KQL_S_EQ_CI;
}

struct kql_needle *kql_needle_new(int op, const char *s)
{
	bool ci = op_ci(op);
	char *folded = ci ? kql_fold(s, false) : NULL;
	const char *t = ci ? folded : s;
	struct kql_needle *nd = NULL;
	size_t len;

	if (t == NULL)
		return NULL;
	len = strlen(t);
	if ((nd = malloc(sizeof(*nd) + len + 1)) != NULL) {
		nd->op = op;
		nd->ci = ci;
		nd->len = len;
		memcpy(nd->text, t, len + 1);
	}
	free(folded);
	return nd;
}

void kql_needle_free(void *needle)
{
	free(needle);
}

int kql_needle_op(const struct kql_needle *nd)
{
	return nd->op;
}

/* ---- matching: x is the needle, lower case when ci ---- */

static inline unsigned char lower(unsigned char c)
{
	return (unsigned)(c - 'A') < 26u ? (unsigned char)(c | 0x20) : c;
}

/* The n bytes at h equal x (h lowered when ci). */
static bool same(const char *h, const char *x, size_t n, bool ci)
{
	if (!ci)
		return memcmp(h, x, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (lower((unsigned char)h[i]) != (unsigned char)x[i])
			return false;
	return true;
}

/* The first offset in [i, last] of h whose byte b has (b | mask) == c0;
 * SIZE_MAX if none.  Eight bytes at a time where the byte order allows:
 * a byte of v is zero where one matches, and the lowest set bit of
 * (v - ones) & ~v & highs marks the first zero byte exactly. */
static size_t first_of(const char *h, size_t i, size_t last, unsigned char c0, unsigned char mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones << 7;
	const uint64_t want = ones * c0, masks = ones * mask;
	uint64_t w, v, z;

	for (; i + 8 <= last + 1; i += 8) {
		memcpy(&w, h + i, 8);
		v = (w | masks) ^ want;
		if ((z = (v - ones) & ~v & highs) != 0)
			return i + (size_t)(__builtin_ctzll(z) >> 3);
	}
#endif
	for (; i <= last; i++)
		if (((unsigned char)h[i] | mask) == c0)
			return i;
	return SIZE_MAX;
}

/* The first match of x (m bytes) in h (n bytes) at or after offset from.
 * When ci, a byte of h matches x's first byte c0 when (byte | mask) == c0:
 * mask 0x20 when c0 is a letter (so 'A' and 'a' both match 'a', nothing
 * else), 0 otherwise (only c0 itself). */
static const char *find(const char *h, size_t n, size_t from, const char *x, size_t m, bool ci)
{
	unsigned char c0, mask;

	if (m > n || from > n - m)
		return NULL;
	if (!ci || m == 0)
		return memmem(h + from, n - from, x, m);
	c0 = (unsigned char)x[0];
	mask = (unsigned)(c0 - 'a') < 26u ? 0x20 : 0;
	for (size_t i = from, last = n - m; (i = first_of(h, i, last, c0, mask)) != SIZE_MAX; i++)
		if (same(h + i + 1, x + 1, m - 1, true))
			return h + i;
	return NULL;
}

static bool term_char(unsigned char c)
{
	return c >= 0x80 || (unsigned)((c | 0x20) - 'a') < 26u || (unsigned)(c - '0') < 10u;
}

/* has: x is a whole term of h; hasprefix (edge < 0) / hassuffix (edge > 0):
 * a term starts / ends with it. */
static bool has_term(const char *h, size_t n, const char *x, size_t m, bool ci, int edge)
{
	if (m == 0)
		return true;
	for (const char *p = h; (p = find(h, n, (size_t)(p - h), x, m, ci)) != NULL; p++) {
		bool start = p == h || !term_char((unsigned char)p[-1]);
		bool end = p + m == h + n || !term_char((unsigned char)p[m]);
		if ((edge == 0 && start && end) || (edge < 0 && start) || (edge > 0 && end))
			return true;
	}
	return false;
}

static bool affix(const char *h, size_t n, const char *x, size_t m, bool ci, bool prefix)
{
	return m <= n && same(prefix ? h : h + n - m, x, m, ci);
}

static bool match(const struct kql_needle *nd, const char *h, size_t n)
{
	const char *x = nd->text;
	size_t m = nd->len;
	bool ci = nd->ci;

	switch (nd->op) {
	case KQL_S_HAS:
	case KQL_S_HAS_CS:
		return has_term(h, n, x, m, ci, 0);
	case KQL_S_HASPREFIX:
	case KQL_S_HASPREFIX_CS:
		return has_term(h, n, x, m, ci, -1);
	case KQL_S_HASSUFFIX:
	case KQL_S_HASSUFFIX_CS:
		return has_term(h, n, x, m, ci, 1);
	case KQL_S_CONTAINS:
	case KQL_S_CONTAINS_CS:
		return find(h, n, 0, x, m, ci) != NULL;
	case KQL_S_STARTSWITH:
	case KQL_S_STARTSWITH_CS:
		return affix(h, n, x, m, ci, true);
	case KQL_S_ENDSWITH:
	case KQL_S_ENDSWITH_CS:
		return affix(h, n, x, m, ci, false);
	case KQL_S_EQ_CI:
		return n == m && same(h, x, n, true);
	}
	return false;
}

/* true when the len bytes at s are all ASCII and none is NUL (eight at a
 * time: a byte of 1..0x7f keeps the high bit of (b - 1) | b clear, and
 * no borrow crosses bytes then).  Otherwise *len is cut at the first NUL
 * and the bytes before it are checked one by one. */
static bool plain_ascii(const char *s, size_t *len)
{
	const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones << 7;
	size_t n = *len, i = 0;
	uint64_t acc = 0, w;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, s + i, 8);
		acc |= (w - ones) | w;
	}
	for (; i < n; i++)
		acc |= ((uint64_t)(unsigned char)s[i] - 1) | (unsigned char)s[i];
	if ((acc & highs) == 0)
		return true;
	*len = strnlen(s, n);
	for (i = 0; i < *len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return false;
	return true;
}

int kql_strop_match(const struct kql_needle *nd, const char *hay, size_t len)
{
	char *folded = NULL;
	int r;

	if (!plain_ascii(hay, &len) && nd->ci) {
		if ((folded = kql_fold(hay, false)) == NULL)
			return -ENOMEM;
		hay = folded;
		len = strlen(folded);
	}
	r = match(nd, hay, len);
	free(folded);
	return r;
}

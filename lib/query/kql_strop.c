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
 * Any other haystack is folded first: a KELVIN SIGN (U+212A) or a
 * capital I with a dot (U+0130) fold to ASCII letters, so no shortcut is
 * taken there (the fold, KQL_FOLD_CASE, is kql_fold.h's).  The
 * case-sensitive forms never fold.  Terms (has, hasprefix, hassuffix) are
 * runs of ASCII letters and digits and of bytes beyond ASCII, as before.
 *
 * The scans (contains, has, hasprefix, hassuffix) with a folded needle of
 * ASCII bytes read a haystack of 16 bytes or more once, 16 bytes at a
 * time (SSE2): the blocks are checked for ASCII as they are searched, and
 * a candidate is a position whose first two bytes match.  A match whose
 * bytes before it were checked is the full fold's answer even if bytes
 * beyond ASCII come later: kql_fold maps each code point alone, so an
 * ASCII prefix folds to itself lowered, and the needle's ASCII bytes only
 * match ASCII bytes.  A block with a byte beyond ASCII or a NUL before a
 * decision hands the haystack to the general path (checked, then folded),
 * as does a term's edge on such a byte.  The general path alone read the
 * haystack twice (the ASCII check, then the search) and was most of the
 * per-row cost of `where Message contains "fail"`.
 */
#include "query/kql_strop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/kql_fold.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct kql_needle {
	int op;
	bool ci;    /* case-insensitive: text is folded (KQL_FOLD_CASE) */
	bool fast;  /* a scan (contains, has…) for ASCII text: fast_match */
	size_t len; /* bytes of text */
	/* when fast: its first two bytes and their masks, 16 times each */
	unsigned char lanes[4][16];
	char text[];
};

static bool op_ci(int op)
{
	return op == KQL_S_HAS || op == KQL_S_HASPREFIX || op == KQL_S_HASSUFFIX ||
	       op == KQL_S_CONTAINS || op == KQL_S_STARTSWITH || op == KQL_S_ENDSWITH ||
	       op == KQL_S_EQ_CI;
}

/* Whether fast_match may answer op for the folded needle t (len bytes):
 * a case-insensitive scan for a non-empty needle of ASCII bytes. */
static bool op_fast(int op, const char *t, size_t len)
{
	if (op != KQL_S_HAS && op != KQL_S_HASPREFIX && op != KQL_S_HASSUFFIX &&
	    op != KQL_S_CONTAINS)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)t[i] >= 0x80)
			return false;
	return len > 0;
}

/* The lanes of a fast needle: its first two bytes (the first twice when
 * it has one) and their masks, 0x20 for a letter ('A' and 'a' both match
 * 'a'), 0 otherwise; set once, not per row. */
static void fast_lanes(struct kql_needle *nd)
{
	for (size_t k = 0; k < 2; k++) {
		unsigned char x = (unsigned char)nd->text[k < nd->len ? k : 0];
		memset(nd->lanes[2 * k], x, 16);
		memset(nd->lanes[2 * k + 1], (unsigned)(x - 'a') < 26u ? 0x20 : 0, 16);
	}
}

struct kql_needle *kql_needle_new(int op, const char *s)
{
	bool ci = op_ci(op);
	char *folded = ci ? kql_fold(s, KQL_FOLD_CASE) : NULL;
	const char *t = ci ? folded : s;
	struct kql_needle *nd = NULL;
	size_t len;

	if (t == NULL)
		return NULL;
	len = strlen(t);
	if ((nd = malloc(sizeof(*nd) + len + 1)) != NULL) {
		nd->op = op;
		nd->ci = ci;
		nd->fast = ci && op_fast(op, t, len);
		nd->len = len;
		memcpy(nd->text, t, len + 1);
		if (nd->fast)
			fast_lanes(nd);
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
 * a term starts / ends with it.  A term's edge is asked for only where
 * the needle's own character there is a term character (measured on
 * Kusto: 'x ab y' hasprefix ' a' and 'x-error' hasprefix '-err' are
 * true; 'xa b' hasprefix 'a ' false). */
static bool has_term(const char *h, size_t n, const char *x, size_t m, bool ci, int edge)
{
	if (m == 0)
		return true;
	bool open_start = !term_char((unsigned char)x[0]);
	bool open_end = !term_char((unsigned char)x[m - 1]);

	for (const char *p = h; (p = find(h, n, (size_t)(p - h), x, m, ci)) != NULL; p++) {
		bool start = open_start || p == h || !term_char((unsigned char)p[-1]);
		bool end = open_end || p + m == h + n || !term_char((unsigned char)p[m]);
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

/* ---- the fast path: an ASCII needle, the haystack read once ---- */

#if defined(__SSE2__)
#define FAST_MIN 16 /* bytes of haystack: one block at least */

/* 1 when an in-place match at offset i (its first two bytes known to
 * match) is a match of nd, 0 when not, -1 when a term's edge is a byte
 * beyond ASCII or a NUL not yet checked (the general path decides). */
static int fast_confirm(const struct kql_needle *nd, const char *h, size_t n, size_t i)
{
	size_t m = nd->len;
	bool start, end;
	unsigned char after;

	if (m > 2 && !same(h + i + 2, nd->text + 2, m - 2, true))
		return 0;
	if (nd->op == KQL_S_CONTAINS)
		return 1;
	after = i + m < n ? (unsigned char)h[i + m] : ' ';
	if (after >= 0x80 || after == 0)
		return -1;
	/* as has_term: an edge the needle's own delimiter opens */
	start =
	    i == 0 || !term_char((unsigned char)h[i - 1]) || !term_char((unsigned char)nd->text[0]);
	end = !term_char(after) || !term_char((unsigned char)nd->text[m - 1]);
	if (nd->op == KQL_S_HAS)
		return start && end;
	return nd->op == KQL_S_HASPREFIX ? start : end;
}

/* The 16-bit mask of the offsets p + k (k < 16) of h whose byte, with
 * mask k0 or'ed in, is c0 and whose next byte, with k1, is c1 (when the
 * needle has two bytes or more). */
static unsigned candidates(const char *h, size_t p, __m128i b, const struct kql_needle *nd,
                           const __m128i *c)
{
	unsigned bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(b, c[1]), c[0]));

	if (nd->len > 1) {
		__m128i b1 = _mm_loadu_si128((const __m128i *)(const void *)(h + p + 1));
		bits &= (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_or_si128(b1, c[3]), c[2]));
	}
	return bits;
}

/* nd over h (n >= FAST_MIN bytes, h[n] is its NUL), blocks of 16 bytes
 * at p = 0, 16, … and the last one at n - 16 (it may overlap the one
 * before: its candidates there were already refused).  Reading h + p + 1
 * reaches h[n] at most.  1 / 0: the answer; -1: the general path's. */
static int fast_match(const struct kql_needle *nd, const char *h, size_t n)
{
	const __m128i zero = _mm_setzero_si128();
	size_t m = nd->len, p = 0;
	__m128i c[4];

	if (m > n)
		return -1;
	for (size_t k = 0; k < 4; k++)
		c[k] = _mm_loadu_si128((const __m128i *)(const void *)nd->lanes[k]);
	for (bool last = false; !last; p += 16) {
		__m128i b;
		unsigned bits;

		last = p + 16 >= n;
		p = last ? n - 16 : p;
		b = _mm_loadu_si128((const __m128i *)(const void *)(h + p));
		if (_mm_movemask_epi8(b) | _mm_movemask_epi8(_mm_cmpeq_epi8(b, zero)))
			return -1;
		bits = p <= n - m ? candidates(h, p, b, nd, c) : 0;
		if (p <= n - m && n - m - p < 15)
			bits &= (2u << (n - m - p)) - 1; /* no candidate past n - m */
		for (int r; bits != 0; bits &= bits - 1)
			if ((r = fast_confirm(nd, h, n, p + (size_t)__builtin_ctz(bits))) != 0)
				return r;
	}
	return 0;
}
#else
#define FAST_MIN SIZE_MAX

static int fast_match(const struct kql_needle *nd, const char *h, size_t n)
{
	return -1;
}
#endif

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

	if (nd->fast && len >= FAST_MIN && (r = fast_match(nd, hay, len)) >= 0)
		return r;
	if (!plain_ascii(hay, &len) && nd->ci) {
		if ((folded = kql_fold(hay, KQL_FOLD_CASE)) == NULL)
			return -ENOMEM;
		hay = folded;
		len = strlen(folded);
	}
	r = match(nd, hay, len);
	free(folded);
	return r;
}

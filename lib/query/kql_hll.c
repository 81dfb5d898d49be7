/*
 * kql_hll — dcount's HyperLogLog state (kql_hll.h).  The estimate is
 * Ertl's ("New cardinality estimation algorithms for HyperLogLog
 * sketches", 2017, the improved raw estimator): unbiased from small to
 * huge counts without HLL++'s empirical tables.
 */
#include "query/kql_hll.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/hash64.h"

#define EXACT_SHARE 8 /* exact up to m / EXACT_SHARE hashes */
#define HASH_CHARS 11 /* 6 bits a character */

static const int precision[KQL_HLL_MAX + 1] = {12, 14, 16, 17, 18};

static uint64_t hash_bytes(const unsigned char *s, size_t n, uint64_t h)
{
	uint64_t w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = hash64_fmix(h ^ w) * UINT64_C(0x9fb21c651e98df25);
	}
	w = 0;
	memcpy(&w, s, n);
	return hash64_fmix(h ^ w ^ ((uint64_t)n << 56));
}

uint64_t kql_hll_hash_int(int64_t v)
{
	return hash64_fmix((uint64_t)v ^ UINT64_C(0x8a5cd789635d2dff));
}

uint64_t kql_hll_hash_real(double v)
{
	uint64_t bits;

	if (v >= -9.2e18 && v <= 9.2e18 && v == (double)(int64_t)v)
		return kql_hll_hash_int((int64_t)v);
	memcpy(&bits, &v, sizeof(bits));
	return hash64_fmix(bits ^ UINT64_C(0x121fd2155c472f96));
}

uint64_t kql_hll_hash_text(const void *s, size_t n)
{
	return hash_bytes(s, n, UINT64_C(0x27d4eb2f165667c5));
}

uint64_t kql_hll_hash_blob(const void *s, size_t n)
{
	return hash_bytes(s, n, UINT64_C(0x3c6ef372fe94f82b));
}

int kql_hll_init(struct kql_hll *h, int acc)
{
	if (acc < 0 || acc > KQL_HLL_MAX)
		return -EINVAL;
	*h = (struct kql_hll){.acc = acc, .p = precision[acc]};
	return 0;
}

void kql_hll_free(struct kql_hll *h)
{
	free(h->set);
	free(h->reg);
	h->set = NULL;
	h->reg = NULL;
	h->n = h->cap = h->bytes = 0;
}

static void reg_add(struct kql_hll *h, uint64_t hash)
{
	uint64_t w = hash << h->p;
	int q = 64 - h->p;
	uint8_t r = (uint8_t)(w ? __builtin_clzll(w) + 1 : q + 1);
	uint8_t *at = &h->reg[hash >> q];

	if (r > q + 1)
		r = (uint8_t)(q + 1);
	if (*at < r)
		*at = r;
}

/* Inserts into the exact set (room made): 1 when new. */
static int set_put(uint64_t *set, size_t cap, uint64_t hash)
{
	size_t i = (size_t)hash64_fmix(hash) & (cap - 1);

	for (; set[i]; i = (i + 1) & (cap - 1))
		if (set[i] == hash)
			return 0;
	set[i] = hash;
	return 1;
}

/* The exact set's hashes into new registers. */
static int to_registers(struct kql_hll *h)
{
	if (!(h->reg = calloc((size_t)1 << h->p, 1)))
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++)
		if (h->set[i])
			reg_add(h, h->set[i]);
	free(h->set);
	h->set = NULL;
	h->n = h->cap = 0;
	return 0;
}

static int set_grow(struct kql_hll *h)
{
	size_t cap = h->cap ? h->cap * 2 : 16;
	uint64_t *set = calloc(cap, sizeof(*set));

	if (!set)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++)
		if (h->set[i])
			(void)set_put(set, cap, h->set[i]);
	free(h->set);
	h->set = set;
	h->cap = cap;
	return 0;
}

/* The bytes held now past the most held before (the state's charge). */
static long grown(struct kql_hll *h)
{
	size_t now = h->reg ? (size_t)1 << h->p : h->cap * sizeof(*h->set);
	long d = now > h->bytes ? (long)(now - h->bytes) : 0;

	h->bytes += (size_t)d;
	return d;
}

long kql_hll_add(struct kql_hll *h, uint64_t hash)
{
	int r = 0;

	hash += !hash;
	if (h->reg) {
		reg_add(h, hash);
		return 0;
	}
	if ((h->n + 1) * 2 > h->cap && (r = set_grow(h)) < 0)
		return r;
	h->n += set_put(h->set, h->cap, hash);
	if (h->n > ((size_t)1 << h->p) / EXACT_SHARE && (r = to_registers(h)) < 0)
		return r;
	return grown(h);
}

/* ---- the estimate ---- */

static double sigma(double x)
{
	double y = 1, z = x, zp;

	if (x == 1)
		return INFINITY;
	do {
		x *= x;
		zp = z;
		z += x * y;
		y += y;
	} while (z != zp);
	return z;
}

static double tau(double x)
{
	double y = 1, z = 1 - x, zp;

	if (x == 0 || x == 1)
		return 0;
	do {
		x = sqrt(x);
		zp = z;
		y *= 0.5;
		z -= (1 - x) * (1 - x) * y;
	} while (z != zp);
	return z / 3;
}

int64_t kql_hll_count(const struct kql_hll *h)
{
	double m = (double)((size_t)1 << h->p), z;
	size_t c[66] = {0};
	int q = 64 - h->p;

	if (!h->reg)
		return (int64_t)h->n;
	for (size_t i = 0; i < ((size_t)1 << h->p); i++)
		c[h->reg[i]]++;
	z = m * tau(1 - (double)c[q + 1] / m);
	for (int k = q; k >= 1; k--)
		z = 0.5 * (z + (double)c[k]);
	z += m * sigma((double)c[0] / m);
	return (int64_t)llround(m * m / (2 * log(2) * z));
}

/* ---- the text ---- */

static int compare_hashes(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The exact set's hashes, sorted (one text for one set, whatever the
 * order they came in) from t + o, a NUL after them. */
static int put_hashes(const struct kql_hll *h, char *t, size_t o)
{
	uint64_t *v = malloc((h->n + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < h->cap; i++)
		if (h->set[i])
			v[n++] = h->set[i];
	qsort(v, n, sizeof(*v), compare_hashes);
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < HASH_CHARS; k++)
			t[o++] = (char)('0' + ((v[i] >> (6 * k)) & 63));
	t[o] = '\0';
	free(v);
	return 0;
}

char *kql_hll_text(const struct kql_hll *h)
{
	size_t m = (size_t)1 << h->p, len = 3 + (h->reg ? m : h->n * HASH_CHARS);
	char *t = malloc(len + 1);

	if (!t)
		return NULL;
	t[0] = 'h';
	t[1] = (char)('0' + h->acc);
	t[2] = h->reg ? 'R' : 'E';
	for (size_t i = 0; h->reg && i < m; i++)
		t[3 + i] = (char)('0' + h->reg[i]);
	t[len] = '\0';
	if (!h->reg && put_hashes(h, t, 3) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

static long merge_registers(struct kql_hll *h, const char *body, size_t len)
{
	size_t m = (size_t)1 << h->p;
	int r;

	if (len != m)
		return -EINVAL;
	for (size_t i = 0; i < m; i++)
		if (body[i] < '0' || body[i] > '0' + 65 - h->p)
			return -EINVAL;
	if (!h->reg && (r = to_registers(h)) < 0)
		return r;
	for (size_t i = 0; i < m; i++)
		if (h->reg[i] < (uint8_t)(body[i] - '0'))
			h->reg[i] = (uint8_t)(body[i] - '0');
	return grown(h);
}

static long merge_hashes(struct kql_hll *h, const char *body, size_t len)
{
	long r, sum = 0;

	if (len % HASH_CHARS)
		return -EINVAL;
	for (size_t i = 0; i < len; i += HASH_CHARS) {
		uint64_t hash = 0;
		for (int k = 0; k < HASH_CHARS; k++) {
			unsigned d = (unsigned char)body[i + k] - '0';
			if (d > 63)
				return -EINVAL;
			hash |= (uint64_t)d << (6 * k);
		}
		if ((r = kql_hll_add(h, hash)) < 0)
			return r;
		sum += r;
	}
	return sum;
}

long kql_hll_merge_text(struct kql_hll *h, const char *text, size_t len)
{
	int acc = len >= 3 ? text[1] - '0' : -1;

	if (len < 3 || text[0] != 'h' || acc < 0 || acc > KQL_HLL_MAX ||
	    (text[2] != 'R' && text[2] != 'E'))
		return -EINVAL;
	if (acc != h->acc && (h->n || h->reg))
		return -EINVAL;
	h->acc = acc;
	h->p = precision[acc];
	return text[2] == 'R' ? merge_registers(h, text + 3, len - 3)
	                      : merge_hashes(h, text + 3, len - 3);
}

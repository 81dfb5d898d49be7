/*
 * kql_hll — the state of KQL's dcount()/dcountif(): an estimate of the
 * number of distinct values, as Kusto computes it (HyperLogLog, its
 * accuracy levels 0..4 with 2^12, 2^14, 2^16, 2^17, 2^18 one-byte
 * registers: a standard error of 1.6, 0.8, 0.4, 0.28 and 0.2%).
 *
 * Below a threshold (m/8 distinct values, m the registers: the memory of
 * the registers) the values' 64-bit hashes are kept exactly and the count
 * is exact; past it they go into the registers, estimated with Ertl's
 * improved estimator (no bias tables, linear counting's accuracy for
 * small counts).  Two states of one accuracy merge exactly: the union of
 * the hashes, or the maximum per register; the state of a union of inputs
 * is the same however they were split.  A state travels between
 * partitions as a NUL-free text (kql_hll_text).
 */
#ifndef FOLLOWERD_KQL_HLL_H
#define FOLLOWERD_KQL_HLL_H

#include <stddef.h>
#include <stdint.h>

#define KQL_HLL_DEFAULT 1 /* Kusto's default accuracy */
#define KQL_HLL_MAX 4

struct kql_hll {
	int acc, p;    /* accuracy 0..4; 2^p registers */
	uint64_t *set; /* exact: open addressing, 0 empty (a 0 hash is 1) */
	size_t n, cap; /* exact: hashes kept, slots (a power of 2) */
	uint8_t *reg;  /* registers (NULL while exact) */
	size_t bytes;  /* memory held */
};

/* Hashes of a value (type-tagged: 1, 1.5 and "1" differ; a real equal to
 * an integer hashes as it, as SQLite's DISTINCT compares). */
uint64_t kql_hll_hash_int(int64_t v);
uint64_t kql_hll_hash_real(double v);
uint64_t kql_hll_hash_text(const void *s, size_t n);
uint64_t kql_hll_hash_blob(const void *s, size_t n);

/* An empty state of accuracy acc (0..4, else -EINVAL). */
int kql_hll_init(struct kql_hll *h, int acc);
void kql_hll_free(struct kql_hll *h);

/* Adds a hash.  The bytes the state grew by (>= 0), or -ENOMEM. */
long kql_hll_add(struct kql_hll *h, uint64_t hash);

/* Merges the state in text (kql_hll_text's) into h (h->acc 0 and empty:
 * takes the text's accuracy).  Bytes grown, -EINVAL (a malformed text or
 * another accuracy), -ENOMEM. */
long kql_hll_merge_text(struct kql_hll *h, const char *text, size_t len);

/* The estimate (exact below the threshold). */
int64_t kql_hll_count(const struct kql_hll *h);

/* h as a text: a new malloc'd string, NULL on ENOMEM. */
char *kql_hll_text(const struct kql_hll *h);

#endif

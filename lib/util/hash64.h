/*
 * hash64 — the 64-bit finalizer that the query engine's non-cryptographic
 * hashes end with (hash aggregation's table, HyperLogLog's registers).
 * Header-only: it runs once per value in the hot loops, where a call would
 * cost as much as the mixing.
 */
#ifndef FOLLOWERD_HASH64_H
#define FOLLOWERD_HASH64_H
#include <stdint.h>

/* murmur3's fmix64: every input bit flips about half the output bits. */
static inline uint64_t hash64_fmix(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64_C(0xc4ceb9fe1a85ec53);
	return h ^ (h >> 33);
}

#endif

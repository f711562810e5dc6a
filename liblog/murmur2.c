/* SPDX-License-Identifier: MIT */
/*
 * murmur2.c - Kafka's default partitioner for keyed records: the 32-bit
 * MurmurHash2 of the key bytes exactly as org.apache.kafka.common.utils.
 * Utils.murmur2 computes it, masked positive and taken modulo the
 * partition count.  A record keyed here lands in the same partition a Java
 * producer would pick, so mixed producers keep per-key ordering.
 *
 * Java's quirks are part of the contract: the initial hash mixes in the
 * length as a 32-bit int, words are read little-endian, tail bytes are
 * taken unsigned ((b & 0xff)), and the result is made positive by masking
 * the sign bit, not by abs(), which is why -1 maps to INT32_MAX.  Java's
 * int arithmetic wraps; uint32_t arithmetic here wraps the same way with
 * the same bits, without C's signed-overflow undefined behaviour.
 */
#include <stddef.h>
#include <stdint.h>

#include "mq.h"

#define MURMUR2_SEED	0x9747b28cu
#define MURMUR2_M	0x5bd1e995u
#define MURMUR2_R	24

/*
 * Returns Utils.murmur2(key) as unsigned; (int32_t) of it is Java's value.
 * key may be NULL when len is 0.  Java cannot hash more than INT_MAX bytes;
 * longer keys here mix in the length's low 32 bits.
 */
uint32_t
mq_murmur2(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint32_t h = MURMUR2_SEED ^ (uint32_t)len, k;
	size_t i, tail = len & ~(size_t)3;

	for (i = 0; i < tail; i += 4) {
		k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
		    (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
		k *= MURMUR2_M;
		k ^= k >> MURMUR2_R;
		k *= MURMUR2_M;
		h *= MURMUR2_M;
		h ^= k;
	}
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)p[tail + 2] << 16;
		/* FALLTHROUGH */
	case 2:
		h ^= (uint32_t)p[tail + 1] << 8;
		/* FALLTHROUGH */
	case 1:
		h ^= p[tail];
		h *= MURMUR2_M;
	}
	h ^= h >> 13;
	h *= MURMUR2_M;
	h ^= h >> 15;
	return h;
}

/*
 * Returns (murmur2(key) & 0x7fffffff) % partitions, a partition in
 * [0, partitions), or MQ_EBADPART if partitions is less than 1 (there is
 * no partition to pick, and the modulo would divide by zero).
 */
int
mq_partition_for_key(const void *key, size_t len, int partitions)
{
	if (partitions < 1)
		return MQ_EBADPART;
	return (int)((mq_murmur2(key, len) & 0x7fffffff) %
	    (uint32_t)partitions);
}

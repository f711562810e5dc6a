/* SPDX-License-Identifier: MIT */
/*
 * test_murmur2.c - checks mq_murmur2 against the vectors in Kafka's own
 * UtilsTest.testMurmur2, so that keyed records go to the partition a Java
 * producer would choose, and checks mq_partition_for_key against the
 * formula of BuiltInPartitioner.partitionForKey.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mq.h"
#include "tap.h"

static void
check_kafka_vectors(void)
{
	static const struct {
		const char *key;
		int32_t	hash;
	} v[] = {
		{ "21", -973932308 },
		{ "foobar", -790332482 },
		{ "a-little-bit-long-string", -985981536 },
		{ "a-little-bit-longer-string", -1486304829 },
		{ "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
		    -58897971 },
	};
	static const unsigned char abc[] = { 'a', 'b', 'c' };
	size_t i;
	int32_t h;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		h = (int32_t)mq_murmur2(v[i].key, strlen(v[i].key));
		ok(h == v[i].hash, "murmur2(\"%s\") = %d, want %d", v[i].key,
		    (int)h, (int)v[i].hash);
	}
	h = (int32_t)mq_murmur2(abc, sizeof(abc));
	ok(h == 479470107, "murmur2({'a','b','c'}) = %d, want 479470107",
	    (int)h);
}

/*
 * Tail bytes of 0x80 and up must count as unsigned (Java's b & 0xff): a
 * port that sign-extends them XORs ones into the high bits and lands
 * elsewhere.  Kafka's vectors are all ASCII, so these expected values
 * come from running Utils.murmur2's Java source under a JVM.
 */
static void
check_high_bytes(void)
{
	static const unsigned char k1[] = { 0xff };
	static const unsigned char k3[] = { 0x80, 0x81, 0xfe };
	static const unsigned char k7[] = { 0xde, 0xad, 0xbe, 0xef, 0x80,
	    0x81, 0xfe };

	ok((int32_t)mq_murmur2(k1, sizeof(k1)) == -311467685,
	    "murmur2({0xff}) takes the byte unsigned");
	ok((int32_t)mq_murmur2(k3, sizeof(k3)) == 796990047,
	    "murmur2({0x80,0x81,0xfe}) takes the bytes unsigned");
	ok((int32_t)mq_murmur2(k7, sizeof(k7)) == 1045362713,
	    "murmur2 of a high-byte word and a high-byte tail");
}

static void
check_partitions(void)
{
	char key[32];
	int i, n, p, bad_range = 0, bad_formula = 0, bad_one = 0;
	int hits[7] = { 0 }, empty = 0;
	uint32_t h;

	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "key-%d", i);
		h = mq_murmur2(key, strlen(key));
		if (mq_partition_for_key(key, strlen(key), 1) != 0)
			bad_one++;
		for (n = 1; n <= 64; n++) {
			p = mq_partition_for_key(key, strlen(key), n);
			if (p < 0 || p >= n)
				bad_range++;
			if (p != (int)((h & 0x7fffffff) % (uint32_t)n))
				bad_formula++;
		}
		hits[mq_partition_for_key(key, strlen(key), 7)]++;
	}
	ok(bad_one == 0, "1 partition: always 0 (%d bad)", bad_one);
	ok(bad_range == 0, "result within [0, n) for n 1..64 (%d bad)",
	    bad_range);
	ok(bad_formula == 0, "result is (h & 0x7fffffff) %% n (%d bad)",
	    bad_formula);
	for (i = 0; i < 7; i++)
		if (hits[i] < 10000 / 7 / 2)
			empty++;
	ok(empty == 0, "10000 keys spread over 7 partitions");

	/* Kafka's vector "21" hashes negative: the mask, not abs(), applies. */
	h = mq_murmur2("21", 2);
	ok(mq_partition_for_key("21", 2, 1000) ==
	    (int)(((uint32_t)-973932308 & 0x7fffffff) % 1000),
	    "negative hash masked, not negated (21 -> %d of 1000)",
	    mq_partition_for_key("21", 2, 1000));
	ok(h == (uint32_t)-973932308, "murmur2(\"21\") as unsigned");

	ok(mq_murmur2(NULL, 0) == mq_murmur2("", 0),
	    "empty key, NULL or not");
	ok(mq_partition_for_key("x", 1, 0) == MQ_EBADPART &&
	    mq_partition_for_key("x", 1, -3) == MQ_EBADPART,
	    "no partitions: MQ_EBADPART");
}

int
main(void)
{
	check_kafka_vectors();
	check_high_bytes();
	check_partitions();
	return done();
}

/* SPDX-License-Identifier: MIT */
/*
 * test_crc32c.c - checks liblog's CRC-32C against published check values
 * (the catalogue's "123456789" and RFC 3720's iSCSI vectors), against a
 * bit-at-a-time reference written here from the definition, and its two
 * implementations against each other, so that a mistake in a generated
 * table or in the three-way join cannot hide behind the other path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"
#include "mq.h"
#include "tap.h"

/*
 * Test-only entry points defined in liblog/crc32c.c and deliberately kept
 * out of mq.h: the portable slicing-by-8 path, and the SSE4.2 path (the
 * portable one again where the CPU or architecture lacks it).  Call
 * crc32c_hw only when hw_ok says the CPU can run it.
 */
extern uint32_t crc32c_sw(uint32_t crc, const void *buf, size_t len);
extern uint32_t crc32c_hw(uint32_t crc, const void *buf, size_t len);

static int hw_ok;

static uint32_t
hw(uint32_t crc, const void *buf, size_t len)
{
	return hw_ok ? crc32c_hw(crc, buf, len) : crc32c_sw(crc, buf, len);
}

/* xorshift64: a fixed, reproducible byte stream. */
static void
fill(unsigned char *p, size_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	while (n-- > 0) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*p++ = (unsigned char)(x >> 32);
	}
}

static void
check_vectors(void)
{
	unsigned char b[32];
	int i;

	ok(mq_crc32c(0, "123456789", 9) == 0xe3069283,
	    "check value 123456789 (mq_crc32c)");
	ok(crc32c_sw(0, "123456789", 9) == 0xe3069283,
	    "check value 123456789 (sw)");
	ok(hw(0, "123456789", 9) == 0xe3069283,
	    "check value 123456789 (hw%s)", hw_ok ? "" : ", absent: sw");
	ok(crc32c_ref(0, "123456789", 9) == 0xe3069283,
	    "check value 123456789 (reference)");

	ok(mq_crc32c(0, NULL, 0) == 0 && crc32c_sw(0, "", 0) == 0 &&
	    hw(0, "", 0) == 0, "empty input gives 0");
	ok(mq_crc32c(0xe3069283, "", 0) == 0xe3069283 &&
	    crc32c_sw(0xdeadbeef, NULL, 0) == 0xdeadbeef &&
	    hw(0xdeadbeef, NULL, 0) == 0xdeadbeef,
	    "empty input leaves the CRC alone");

	/* RFC 3720, B.4. */
	memset(b, 0, sizeof(b));
	ok(crc32c_sw(0, b, 32) == 0x8a9136aa && hw(0, b, 32) == 0x8a9136aa &&
	    mq_crc32c(0, b, 32) == 0x8a9136aa, "RFC 3720: 32 bytes of 0x00");
	memset(b, 0xff, sizeof(b));
	ok(crc32c_sw(0, b, 32) == 0x62a8ab43 && hw(0, b, 32) == 0x62a8ab43 &&
	    mq_crc32c(0, b, 32) == 0x62a8ab43, "RFC 3720: 32 bytes of 0xff");
	for (i = 0; i < 32; i++)
		b[i] = (unsigned char)i;
	ok(crc32c_sw(0, b, 32) == 0x46dd794e && hw(0, b, 32) == 0x46dd794e &&
	    mq_crc32c(0, b, 32) == 0x46dd794e, "RFC 3720: 32 bytes 0..31");
	for (i = 0; i < 32; i++)
		b[i] = (unsigned char)(31 - i);
	ok(crc32c_sw(0, b, 32) == 0x113fdb5c && hw(0, b, 32) == 0x113fdb5c &&
	    mq_crc32c(0, b, 32) == 0x113fdb5c, "RFC 3720: 32 bytes 31..0");
}

/* crc(crc(0, a), b) == crc(0, a || b) for every split of one buffer. */
static void
check_chaining(void)
{
	unsigned char b[1000];
	uint32_t whole, want;
	size_t i;
	int bad_sw = 0, bad_hw = 0, bad_mq = 0;

	fill(b, sizeof(b), 1);
	want = crc32c_ref(0, b, sizeof(b));
	whole = mq_crc32c(0, b, sizeof(b));
	ok(whole == want, "1000 bytes agree with the reference");
	for (i = 0; i <= sizeof(b); i++) {
		if (crc32c_sw(crc32c_sw(0, b, i), b + i, sizeof(b) - i) !=
		    want)
			bad_sw++;
		if (hw(hw(0, b, i), b + i, sizeof(b) - i) != want)
			bad_hw++;
		if (mq_crc32c(mq_crc32c(0, b, i), b + i, sizeof(b) - i) !=
		    want)
			bad_mq++;
	}
	ok(bad_sw == 0, "sw chains at every split (%d bad)", bad_sw);
	ok(bad_hw == 0, "hw chains at every split (%d bad)", bad_hw);
	ok(bad_mq == 0, "mq_crc32c chains at every split (%d bad)", bad_mq);
}

/* The paths agree with each other and with the reference. */
static void
check_agree(void)
{
	static unsigned char b[2048 + 16];
	size_t len, off;
	uint32_t r, seed;
	int bad = 0, badref = 0;

	fill(b, sizeof(b), 2);
	for (off = 0; off < 16; off++) {
		for (len = 0; len <= 2048; len++) {
			seed = (uint32_t)(len * 2654435761u);
			r = crc32c_sw(seed, b + off, len);
			if (hw(seed, b + off, len) != r)
				bad++;
			/* The reference is slow: every 7th length. */
			if (len % 7 == 0 && crc32c_ref(seed, b + off, len) != r)
				badref++;
		}
	}
	ok(bad == 0, "sw == hw for lengths 0..2048, offsets 0..15 (%d bad)",
	    bad);
	ok(badref == 0, "sw == reference over the same (%d bad)", badref);
}

/*
 * A few megabytes, whole and in uneven pieces, and lengths just either
 * side of the hardware path's block boundaries (3 * 256 and 3 * 4096 now;
 * 3 * 8192 too, in case the block sizes are retuned).
 */
static void
check_big(void)
{
	static const size_t edge[] = { 767, 768, 769, 775, 776, 1536,
	    12287, 12288, 12289, 12296, 12288 + 767, 12288 + 768, 24575,
	    24576, 24577, 24584, 24576 + 768, 49152, 49152 + 767 };
	size_t n = 5 * 1024 * 1024 + 13, i, step;
	unsigned char *b = malloc(n + 16);
	uint32_t want, c;
	int bad = 0;

	if (b == NULL) {
		ok(0, "malloc %zu", n);
		return;
	}
	fill(b, n + 16, 3);
	want = crc32c_ref(0, b, n);
	ok(crc32c_sw(0, b, n) == want, "sw: %zu bytes", n);
	ok(hw(0, b, n) == want, "hw: %zu bytes", n);
	ok(mq_crc32c(0, b, n) == want, "mq_crc32c: %zu bytes", n);
	ok(hw(0, b + 3, n) == crc32c_ref(0, b + 3, n),
	    "hw: %zu bytes from an odd address", n);

	c = 0;
	for (i = 0, step = 1; i < n; i += step, step = step * 3 + 1) {
		if (step > n - i)
			step = n - i;
		c = mq_crc32c(c, b + i, step);
	}
	ok(c == want, "mq_crc32c: same in growing pieces");

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		for (step = 0; step < 8; step++) {
			c = crc32c_ref(0, b + step, edge[i]);
			if (crc32c_sw(0, b + step, edge[i]) != c ||
			    hw(0, b + step, edge[i]) != c)
				bad++;
		}
	}
	ok(bad == 0, "block boundary lengths (%d bad)", bad);
	free(b);
}

int
main(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	hw_ok = __builtin_cpu_supports("sse4.2");
#endif
	printf("# hardware path %s\n", hw_ok ? "tested" : "not available");
	check_vectors();
	check_chaining();
	check_agree();
	check_big();
	return done();
}

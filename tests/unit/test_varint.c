/* SPDX-License-Identifier: MIT */
/*
 * test_varint.c - the zig-zag varints of Kafka's record format
 * (internal.h's put_varlong, varlong_size, get_varlong, get_varint):
 * exact bytes from the protobuf encoding rules, round trips at every
 * size boundary and over a pseudo-random sweep, and refusal of input that
 * is truncated, longer than the type allows, or out of int32's range.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

/* The zig-zag map written out from its definition, for comparison. */
static uint64_t
zigzag(int64_t v)
{
	return v >= 0 ? (uint64_t)v * 2 : ((uint64_t)-(v + 1)) * 2 + 1;
}

/* Bytes a base-128 varint of u takes: 7 bits each, at least one. */
static size_t
ref_size(uint64_t u)
{
	size_t n = 1;

	while (u >>= 7)
		n++;
	return n;
}

/* Encodes v and compares with the bytes the spec gives. */
static void
check_bytes(int64_t v, const unsigned char *want, size_t wlen)
{
	unsigned char b[VARINT_MAX + 2];
	size_t n;

	memset(b, 0xaa, sizeof(b));
	n = put_varlong(b, v);
	ok(n == wlen && memcmp(b, want, wlen) == 0 && b[n] == 0xaa,
	    "%" PRId64 " encodes as the spec's %zu bytes (got %zu)", v, wlen,
	    n);
	ok(varlong_size(v) == wlen, "varlong_size(%" PRId64 ") == %zu", v,
	    wlen);
}

static void
check_spec(void)
{
	static const unsigned char z[] = { 0x00 }, m1[] = { 0x01 },
	    p1[] = { 0x02 }, m2[] = { 0x03 }, p2[] = { 0x04 },
	    p63[] = { 0x7e }, m64[] = { 0x7f }, p64[] = { 0x80, 0x01 },
	    p150[] = { 0xac, 0x02 },
	    imax[] = { 0xfe, 0xff, 0xff, 0xff, 0x0f },
	    imin[] = { 0xff, 0xff, 0xff, 0xff, 0x0f },
	    lmax[] = { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01 },
	    lmin[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x01 };
	const unsigned char *p;
	int64_t l;
	int32_t i;

	/* protobuf's sint32/sint64 table: 0, -1, 1, -2, 2 -> 0, 1, 2, 3, 4. */
	check_bytes(0, z, sizeof(z));
	check_bytes(-1, m1, sizeof(m1));
	check_bytes(1, p1, sizeof(p1));
	check_bytes(-2, m2, sizeof(m2));
	check_bytes(2, p2, sizeof(p2));
	/* Largest one-byte values and the first two-byte one. */
	check_bytes(63, p63, sizeof(p63));
	check_bytes(-64, m64, sizeof(m64));
	check_bytes(64, p64, sizeof(p64));
	/* 150 zig-zags to 300 = 0b10_0101100: ac 02. */
	check_bytes(150, p150, sizeof(p150));
	/* protobuf: 2147483647 -> 4294967294, -2147483648 -> 4294967295. */
	check_bytes(INT32_MAX, imax, sizeof(imax));
	check_bytes(INT32_MIN, imin, sizeof(imin));
	check_bytes(INT64_MAX, lmax, sizeof(lmax));
	check_bytes(INT64_MIN, lmin, sizeof(lmin));

	/* And the decoders read the spec's bytes back. */
	p = p150;
	ok(get_varint(&p, p150 + sizeof(p150), &i) == 0 && i == 150 &&
	    p == p150 + 2, "ac 02 decodes as 150");
	p = imax;
	ok(get_varint(&p, imax + sizeof(imax), &i) == 0 && i == INT32_MAX,
	    "fe ff ff ff 0f decodes as INT32_MAX");
	p = imin;
	ok(get_varint(&p, imin + sizeof(imin), &i) == 0 && i == INT32_MIN,
	    "ff ff ff ff 0f decodes as INT32_MIN");
	p = lmax;
	ok(get_varlong(&p, lmax + sizeof(lmax), VARINT_MAX, &l) == 0 &&
	    l == INT64_MAX && p == lmax + sizeof(lmax),
	    "10-byte fe..01 decodes as INT64_MAX");
	p = lmin;
	ok(get_varlong(&p, lmin + sizeof(lmin), VARINT_MAX, &l) == 0 &&
	    l == INT64_MIN, "10-byte ff..01 decodes as INT64_MIN");
	p = m1;
	ok(get_varint(&p, m1 + 1, &i) == 0 && i == -1, "01 decodes as -1");
}

/*
 * Encodes v, checks the size against the definition and varlong_size,
 * and decodes it with get_varlong (and get_varint when v fits int32)
 * from a buffer with a trailing byte that must not be consumed.
 */
static int
roundtrip(int64_t v)
{
	unsigned char b[VARINT_MAX + 1];
	const unsigned char *p;
	int64_t l;
	int32_t i;
	size_t n;

	n = put_varlong(b, v);
	if (n != ref_size(zigzag(v)) || n != varlong_size(v) || n > VARINT_MAX)
		return 0;
	b[n] = 0x7f;
	p = b;
	if (get_varlong(&p, b + n + 1, VARINT_MAX, &l) != 0 || l != v ||
	    p != b + n)
		return 0;
	if (v >= INT32_MIN && v <= INT32_MAX) {
		p = b;
		if (get_varint(&p, b + n + 1, &i) != 0 || i != v || p != b + n)
			return 0;
	}
	return 1;
}

static void
check_roundtrips(void)
{
	static const int64_t vals[] = {
		0, 1, -1, 63, -63, 64, -64, 8191, -8191, 8192, -8192,
		INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1,
		(int64_t)INT32_MIN - 1, INT64_MAX, INT64_MIN, INT64_MAX - 1,
		INT64_MIN + 1, 1700000000000,
	};
	uint64_t x = 0x9e3779b97f4a7c15;
	size_t i;
	int k, bad;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ok(roundtrip(vals[i]), "round trip %" PRId64 " (%zu bytes)",
		    vals[i], varlong_size(vals[i]));

	/* Every size boundary: +-2^k and one either side. */
	bad = 0;
	for (k = 0; k < 63; k++) {
		int64_t p = (int64_t)1 << k;

		bad += !roundtrip(p) + !roundtrip(p - 1) + !roundtrip(p + 1);
		bad += !roundtrip(-p) + !roundtrip(-p - 1) + !roundtrip(-p + 1);
	}
	ok(bad == 0, "round trips at every power of two (%d failed)", bad);

	/* The zig-zag boundaries where the size grows: 64 * 128^k. */
	bad = 0;
	for (k = 0; k < 9; k++) {
		uint64_t u = (uint64_t)1 << (7 * (k + 1));

		/* u - 1 is the largest zig-zag value of k + 1 bytes. */
		if (varlong_size((int64_t)((u - 1) >> 1)) != (size_t)k + 1 ||
		    varlong_size(-(int64_t)(u >> 1)) != (size_t)k + 1 ||
		    varlong_size((int64_t)(u >> 1)) != (size_t)k + 2)
			bad++;
	}
	ok(bad == 0, "sizes grow exactly at zig-zag 128^k (%d wrong)", bad);

	/* A sweep of pseudo-random values of every magnitude. */
	bad = 0;
	for (i = 0; i < 200000; i++) {
		int64_t v;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = (int64_t)(x >> (i % 64));
		if ((i & 1) && v != INT64_MIN)
			v = -v;
		bad += !roundtrip(v);
	}
	ok(bad == 0, "round trips over a 200000-value sweep (%d failed)", bad);

	/* Every value of a dense range, as record lengths and deltas are. */
	bad = 0;
	for (i = 0; i < 70000; i++)
		bad += !roundtrip((int64_t)i - 35000);
	ok(bad == 0, "round trips -35000..34999 (%d failed)", bad);
}

static void
check_refusals(void)
{
	static const unsigned char six[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x00 };
	static const unsigned char eleven[] = { 0x80, 0x80, 0x80, 0x80, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
	/* 2^31 and -2^31 - 1: five bytes, but not int32. */
	static const unsigned char over[] = { 0x80, 0x80, 0x80, 0x80, 0x10 };
	static const unsigned char under[] = { 0x81, 0x80, 0x80, 0x80, 0x10 };
	/* Five bytes with all 35 bits set: way past int32. */
	static const unsigned char wide[] = { 0xff, 0xff, 0xff, 0xff, 0x7f };
	unsigned char b[VARINT_MAX];
	const unsigned char *p;
	int64_t l = 12345;
	int32_t i = 12345;
	size_t n, cut;
	int bad;

	p = six;
	ok(get_varint(&p, six + sizeof(six), &i) == -1 && p == six &&
	    i == 12345, "6-byte varint refused by get_varint, nothing moved");
	p = six;
	ok(get_varlong(&p, six + sizeof(six), VARINT_MAX, &l) == 0 &&
	    l == 0 && p == six + 6,
	    "the same 6 bytes are a (padded) varlong of 0");
	p = eleven;
	ok(get_varlong(&p, eleven + sizeof(eleven), VARINT_MAX, &l) == -1 &&
	    p == eleven, "11-byte varlong refused by get_varlong");
	p = eleven + 1;
	ok(get_varlong(&p, eleven + sizeof(eleven), VARINT_MAX, &l) == 0 &&
	    l == 0, "its last 10 bytes are accepted");

	/*
	 * Out of range is refused; unlike a truncated one, the pointer may
	 * have moved past it (callers give up on the batch either way).
	 */
	p = over;
	ok(get_varint(&p, over + sizeof(over), &i) == -1 && i == 12345,
	    "2^31 refused by get_varint");
	p = over;
	ok(get_varlong(&p, over + sizeof(over), VARINT_MAX, &l) == 0 &&
	    l == (int64_t)INT32_MAX + 1, "2^31 read by get_varlong");
	p = under;
	ok(get_varint(&p, under + sizeof(under), &i) == -1 && i == 12345,
	    "-2^31-1 refused by get_varint");
	p = under;
	ok(get_varlong(&p, under + sizeof(under), VARINT_MAX, &l) == 0 &&
	    l == (int64_t)INT32_MIN - 1, "-2^31-1 read by get_varlong");
	p = wide;
	ok(get_varint(&p, wide + sizeof(wide), &i) == -1,
	    "35-bit five-byte varint refused by get_varint");

	/* Every truncation of every size of varint is refused. */
	bad = 0;
	for (l = 1; l > 0 && l < INT64_MAX / 2; l = l * 3 + 1) {
		n = put_varlong(b, -l);
		for (cut = 0; cut < n; cut++) {
			int64_t v = 7;

			p = b;
			if (get_varlong(&p, b + cut, VARINT_MAX, &v) != -1 ||
			    p != b || v != 7)
				bad++;
			if (n <= 5) {
				int32_t w = 7;

				p = b;
				if (get_varint(&p, b + cut, &w) != -1 ||
				    p != b || w != 7)
					bad++;
			}
		}
	}
	ok(bad == 0, "truncated varints return -1 and move nothing (%d not)",
	    bad);
	p = b;
	ok(get_varlong(&p, b, VARINT_MAX, &l) == -1, "empty input refused");
}

int
main(void)
{
	check_spec();
	check_roundtrips();
	check_refusals();
	return done();
}

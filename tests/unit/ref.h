/* SPDX-License-Identifier: MIT */
/*
 * ref.h - what the C tests share: reference code written from the
 * definitions, independent of liblog's, to check liblog against, and
 * removing a test's temporary tree.
 */
#ifndef MQ_TEST_REF_H
#define MQ_TEST_REF_H

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>

/* CRC-32C by its definition, one bit at a time: slow, obviously right. */
static inline uint32_t
crc32c_ref(uint32_t crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int k;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc & 1 ? crc >> 1 ^ 0x82f63b78 : crc >> 1;
	}
	return ~crc;
}

/* A big-endian field of n bytes at p, without liblog's helpers. */
static inline uint64_t
be_ref(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return v;
}

static inline int
ref_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* rm -rf path.  Returns 0 or -1. */
static inline int
rm_tree(const char *path)
{
	return nftw(path, ref_rm, 16, FTW_DEPTH | FTW_PHYS);
}

#endif

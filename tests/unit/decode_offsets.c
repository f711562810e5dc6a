/* SPDX-License-Identifier: MIT */
/*
 * decode_offsets - prints a group's commits from an offsets file, decoded
 * as docs/format.md describes them and without liblog, so that the bats
 * tests check the file against the document: one line "PARTITION OFFSET
 * COMMIT" per partition, "- -" for nothing committed, "damaged -" when
 * both slots are damaged.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ref.h"

/* 1 a valid commit, 0 an empty slot, -1 a damaged one. */
static int
slot(const unsigned char *s, unsigned idx, uint64_t *seq, int64_t *off)
{
	static const unsigned char zero[64];

	if (memcmp(s, zero, 64) == 0)
		return 0;
	if (memcmp(s, "MQCO", 4) != 0 || s[4] != 1 ||
	    be_ref(s + 60, 4) != crc32c_ref(0, s, 60))
		return -1;
	*seq = be_ref(s + 8, 8);
	*off = (int64_t)be_ref(s + 16, 8);
	if (*seq == 0 || (*seq & 1) != idx || *off < 0)
		return -1;
	return 1;
}

int
main(int argc, char **argv)
{
	unsigned char pair[128];
	uint64_t s0 = 0, s1 = 0;
	int64_t o0 = 0, o1 = 0;
	size_t n;
	int p, r0, r1;
	FILE *f;

	if (argc != 2 || (f = fopen(argv[1], "rb")) == NULL) {
		perror(argc == 2 ? argv[1] : "usage: decode_offsets FILE");
		return 1;
	}
	for (p = 0; (n = fread(pair, 1, sizeof(pair), f)) > 0; p++) {
		memset(pair + n, 0, sizeof(pair) - n);
		r0 = slot(pair, 0, &s0, &o0);
		r1 = slot(pair + 64, 1, &s1, &o1);
		if (r0 == 1 && (r1 != 1 || s0 > s1))
			printf("%d %lld %llu\n", p, (long long)o0,
			    (unsigned long long)s0);
		else if (r1 == 1)
			printf("%d %lld %llu\n", p, (long long)o1,
			    (unsigned long long)s1);
		else if (r0 == -1 && r1 == -1)
			printf("%d damaged -\n", p);
		else
			printf("%d - -\n", p);
	}
	return ferror(f) != 0;
}

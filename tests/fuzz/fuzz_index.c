/* SPDX-License-Identifier: MIT */
/*
 * fuzz_index.c - a segment's offset and time indexes: the readers' binary
 * searches (index_lookup, tindex_lookup in segment.c), the verification
 * mq-check and mq-dump --verify-index share (verify.c), and rebuilding
 * them (index_rebuild, as mq-check --repair and cleaning do), whose
 * output must verify clean against the same segment.
 *
 * The input: .index length (2 bytes), .timeindex length (2), a seed for
 * the offsets and times looked up (4), flags (1), then the .index bytes,
 * the .timeindex bytes, and the .log.  Flags: 1 the segment's base
 * offset is 1000, not 0; 2 make the batches' CRCs right; 4 load the
 * indexes as an active segment's (a count from partition.state); 8 seal
 * the rebuilt indexes; 0x30 index.interval.bytes: 0, 100, 4096, 1 MiB.
 */
#include "fuzz.h"

#define HDR	9

static const int64_t intervals[4] = { 0, 100, 4096, 1 << 20 };

static void
on_mismatch(void *arg, const char *msg)
{
	size_t *n = arg;

	FUZZ_ASSERT(msg[0] != '\0', "empty mismatch");
	(*n)++;
}

static void
on_rebuilt(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "rebuilt index: %s\n", msg);
}

/* Feeds x the valid batches from the start, up to the first bad one. */
static int64_t
feed(struct mq_ixcheck *x, const unsigned char *log, size_t n)
{
	struct mq_batch_info info;
	const char *why;
	size_t pos = 0;

	while (pos < n && mq_batch_check(log + pos, n - pos, &info, &why) == 0) {
		mq_ixcheck_batch(x, (int64_t)pos, &info);
		pos += (size_t)info.length;
	}
	return (int64_t)pos;
}

static void
verify(struct mq_ixcheck *x, int64_t base, int ifd, int tfd, int64_t count,
    const unsigned char *log, size_t n, int64_t end)
{
	size_t calls = 0, got;
	int k;

	mq_ixcheck_start(x, base);
	FUZZ_ASSERT(mq_ixcheck_load(x, MQ_INDEX_OFFSET, ifd, count) == 0 &&
	    mq_ixcheck_load(x, MQ_INDEX_TIME, tfd, count) == 0,
	    "mq_ixcheck_load");
	feed(x, log, n);
	for (k = 0; k < 2; k++) {
		calls = 0;
		got = mq_ixcheck_report(x, k, (int64_t)n, end, on_mismatch,
		    &calls);
		FUZZ_ASSERT(got == calls, "mismatches miscounted");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mq_ixcheck *x;
	static int dirfd = -1;
	const unsigned char *p = data + HDR;
	unsigned char *log;
	size_t ilen, tlen, llen;
	int64_t base, pos, off, lts, valid, count, ts;
	uint32_t seed;
	struct pstate st;
	const char *why;
	int ifd, tfd, lfd, rifd, rtfd, flags, rc;
	char iname[SEGNAME_SIZE], tname[SEGNAME_SIZE], lname[SEGNAME_SIZE];
	size_t calls;

	if (size < HDR)
		return 0;
	if (dirfd == -1 && ((dirfd = open(fuzz_tmpdir(), O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1 || mq_ixcheck_open(&x) != 0))
		abort();
	fuzz_clear(dirfd);
	ilen = get_be16(data);
	tlen = get_be16(data + 2);
	seed = get_be32(data + 4);
	flags = data[8];
	size -= HDR;
	ilen = ilen < size ? ilen : size;
	tlen = tlen < size - ilen ? tlen : size - ilen;
	llen = size - ilen - tlen;
	base = flags & 1 ? 1000 : 0;
	log = fuzz_dup(p + ilen + tlen, llen);
	if (flags & 2)
		fuzz_fix_batches(log, llen);

	seg_name(iname, base, ".index");
	seg_name(tname, base, ".timeindex");
	seg_name(lname, base, ".log");
	ifd = fuzz_file(dirfd, iname, p, ilen);
	tfd = fuzz_file(dirfd, tname, p + ilen, tlen);
	lfd = fuzz_file(dirfd, lname, log, llen);

	/* The readers: any entries give an answer, never a crash. */
	off = base + (int64_t)(seed % 100000);
	rc = index_lookup(dirfd, base, off, &pos);
	FUZZ_ASSERT(rc == 0 && pos >= 0 && pos <= UINT32_MAX, "index_lookup");
	rc = index_lookup(dirfd, base, INT64_MAX, &pos);
	FUZZ_ASSERT(rc == 0, "index_lookup at the end");
	ts = (int64_t)seed * 1000;
	rc = tindex_lookup(dirfd, base, ts, &off, &lts);
	FUZZ_ASSERT(rc == 0, "tindex_lookup");
	rc = tindex_lookup(dirfd, base, INT64_MIN, &off, &lts);
	FUZZ_ASSERT(rc == 0 && off == base, "tindex_lookup before all");

	/* The verification, as mq-dump --verify-index and mq-check do. */
	count = flags & 4 ? (int64_t)(seed & 0xff) : -1;
	verify(x, base, ifd, tfd, count, log, llen, INT64_MAX);
	verify(x, base, ifd, tfd, -1, log, llen, base + (seed & 0xffff));

	/* Rebuilt indexes verify clean against the same segment. */
	rifd = fuzz_file(dirfd, "rebuilt.index", NULL, 0);
	rtfd = fuzz_file(dirfd, "rebuilt.timeindex", NULL, 0);
	rc = index_rebuild(lfd, base, (int64_t)llen, intervals[flags >> 4 & 3],
	    flags & 8, rifd, rtfd, &st, &valid, &why);
	FUZZ_ASSERT(rc == 0 || rc == MQ_ECORRUPT, "index_rebuild");
	FUZZ_ASSERT(valid == feed(x, log, llen), "index_rebuild: valid end");
	mq_ixcheck_start(x, base);
	FUZZ_ASSERT(mq_ixcheck_load(x, MQ_INDEX_OFFSET, rifd, -1) == 0 &&
	    mq_ixcheck_load(x, MQ_INDEX_TIME, rtfd, -1) == 0,
	    "mq_ixcheck_load rebuilt");
	feed(x, log, llen);
	calls = mq_ixcheck_report(x, MQ_INDEX_OFFSET, (int64_t)llen,
	    INT64_MAX, on_rebuilt, NULL);
	calls += mq_ixcheck_report(x, MQ_INDEX_TIME, (int64_t)llen,
	    INT64_MAX, on_rebuilt, NULL);
	FUZZ_ASSERT(calls == 0, "rebuilt indexes do not verify");

	close(ifd);
	close(tfd);
	close(lfd);
	close(rifd);
	close(rtfd);
	free(log);
	return 0;
}

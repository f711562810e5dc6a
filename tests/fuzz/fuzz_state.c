/* SPDX-License-Identifier: MIT */
/*
 * fuzz_state.c - the small CRC'd state files: partition.state (state.c),
 * a group's offsets and members slots (group.c) and a share group's state
 * (share.c's slot reader, as the tools call it: share_check).  The first
 * byte picks the file and whether its CRCs are made right first (bit 2),
 * so that mutations reach the checks behind the CRC; the rest is the file.
 * What decodes is encoded again and must decode the same.
 */
#include <sys/mman.h>

#include "fuzz.h"
/*
 * state.c's decoder is static, and pstate_read retries a copy that does
 * not decode a thousand times (a reader racing the writer): the harness
 * takes the file in whole to call the decoder once per input.
 */
#include "state.c"

#define SHARE_SLOT	65536		/* share.c's layout (docs/format.md) */
#define SHARE_HDR	64
#define SHARE_ENTRY	32

static int
memfile(const void *p, size_t n, off_t at)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd == -1 || (n > 0 && pwrite_all(fd, p, n, at) != 0))
		abort();
	return fd;
}

static void
same_pstate(const struct pstate *a, const struct pstate *b)
{
	FUZZ_ASSERT(a->hw_offset == b->hw_offset &&
	    a->hw_segment == b->hw_segment && a->hw_pos == b->hw_pos &&
	    a->start_offset == b->start_offset &&
	    a->sync_offset == b->sync_offset &&
	    a->last_index_pos == b->last_index_pos &&
	    a->seg_first_ts == b->seg_first_ts &&
	    a->seg_max_ts == b->seg_max_ts &&
	    a->seg_max_ts_offset == b->seg_max_ts_offset &&
	    a->last_tindex_ts == b->last_tindex_ts &&
	    a->index_entries == b->index_entries &&
	    a->tindex_entries == b->tindex_entries,
	    "partition.state: round trip differs");
}

static void
pstate_file(const unsigned char *p, size_t n, int fix)
{
	unsigned char b[STATE_SIZE] = { 0 };
	struct pstate s, s2;
	int fd;

	memcpy(b, p, n < STATE_SIZE ? n : STATE_SIZE);
	if (fix)
		put_be32(b + S_CRC, mq_crc32c(0, b, S_CRC));
	if (decode(b, &s) != 0)
		return;
	fd = memfile(NULL, 0, 0);
	FUZZ_ASSERT(pstate_write(fd, &s) == 0 && pstate_read(fd, &s2) == 0,
	    "partition.state: what decoded does not read back");
	same_pstate(&s, &s2);
	close(fd);
}

static void
fix_commit(unsigned char *s)
{
	put_be32(s + 60, mq_crc32c(0, s, 60));
}

static void
same_commit(const struct mq_commit *a, const struct mq_commit *b)
{
	FUZZ_ASSERT(a->offset == b->offset && a->timestamp == b->timestamp &&
	    a->seq == b->seq && a->member == b->member,
	    "commit: round trip differs");
}

/* An offsets file, read as mq_group_committed does; and members slots. */
static void
group_file(const unsigned char *p, size_t n, int fix)
{
	unsigned char pair[COMMIT_PAIR], *q = fuzz_dup(p, n);
	struct mq_member_info m;
	struct mq_commit c, c2;
	size_t i, k;
	int fd, rc;

	for (i = 0; fix && i + COMMIT_SIZE <= n; i += COMMIT_SIZE)
		fix_commit(q + i);
	fd = memfile(q, n, 0);
	for (k = 0; k * COMMIT_PAIR < n; k++) {
		rc = commit_read(fd, (int)k, &c);
		FUZZ_ASSERT(rc == 0 || rc == MQ_ECORRUPT, "commit_read");
		if (rc != 0 || c.seq == 0)
			continue;
		FUZZ_ASSERT(c.offset >= 0, "commit: negative offset");
		memset(pair, 0, sizeof(pair));
		commit_encode(pair + (c.seq & 1) * COMMIT_SIZE, &c);
		FUZZ_ASSERT(commit_decode(pair, &c2) == 0, "commit: lost");
		same_commit(&c, &c2);
	}
	/* Past the end: never committed. */
	FUZZ_ASSERT(commit_read(fd, (int)k, &c) == 0 && c.offset == -1,
	    "commit past the end");
	close(fd);
	for (i = 0; i + MEMBER_SIZE <= n; i += MEMBER_SIZE) {
		if (fix)
			put_be32(q + i + 124, mq_crc32c(0, q + i, 124));
		if (member_decode(q + i, &m) == 0)
			FUZZ_ASSERT(strlen(m.host) < sizeof(m.host),
			    "member: host");
	}
	free(q);
}

/* Gives a share slot's header and entries their CRC, if they fit. */
static void
fix_share(unsigned char *b, size_t n)
{
	uint32_t crc, k;

	if (n < SHARE_HDR)
		return;
	k = get_be32(b + 48);
	if (k > (n - SHARE_HDR) / SHARE_ENTRY)
		return;
	crc = mq_crc32c(0, b, 56);
	crc = mq_crc32c(crc, b + SHARE_HDR, (size_t)k * SHARE_ENTRY);
	put_be32(b + 56, crc);
}

/*
 * A share state: two bytes say where the first slot's bytes end and the
 * second's begin, so that one input of at most 64 KiB fills both slots
 * of partition 0 (they lie 64 KiB apart).
 */
static void
share_file(const unsigned char *p, size_t n, int fix)
{
	unsigned char *q;
	size_t split;
	int64_t end;
	int fd, rc, parts, part;

	if (n < 2)
		return;
	split = get_be16(p);
	p += 2;
	n -= 2;
	if (split > n)
		split = n;
	q = fuzz_dup(p, n);
	if (fix) {
		fix_share(q, split);
		fix_share(q + split, n - split);
	}
	fd = memfile(q, split, 0);
	if (n > split && pwrite_all(fd, q + split, n - split, SHARE_SLOT) != 0)
		abort();
	parts = share_parts(fd);
	FUZZ_ASSERT(parts == (n > split || split > 0 ? 1 : 0),
	    "share_parts");
	for (part = 0; part <= parts; part++) {
		rc = share_check(fd, part, &end);
		FUZZ_ASSERT(rc == 0 || rc == MQ_ECORRUPT, "share_check");
		/* Nothing there is a state never written. */
		FUZZ_ASSERT(part < parts || (rc == 0 && end == -1),
		    "share_check: past end");
		FUZZ_ASSERT(rc == 0 || end == -1, "share_check: end of damage");
	}
	close(fd);
	free(q);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fix;

	if (size < 1)
		return 0;
	fix = (data[0] & 4) != 0;
	switch (data[0] & 3) {
	case 0:
		pstate_file(data + 1, size - 1, fix);
		break;
	case 1:
		group_file(data + 1, size - 1, fix);
		break;
	default:
		share_file(data + 1, size - 1, fix);
		break;
	}
	return 0;
}

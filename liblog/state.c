/* SPDX-License-Identifier: MIT */
/*
 * state.c - partition.state, the one small file per partition that holds
 * the committed point (Kafka's high watermark), the log start offset, the
 * recovery point and the appender's bookkeeping for the active segment.
 *
 * The writer rewrites it in place with one pwrite after each append; it is
 * the publication step that makes a batch visible.  Readers pread it
 * without a lock.  A read can race a write, so the record carries a
 * CRC-32C and a reader that sees a torn copy reads again.  Everything in
 * it can be derived from the segments, so it is never fsync'd on its own:
 * after a power loss an old copy only makes the next writer recover more.
 */
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "internal.h"

enum {
	S_MAGIC = 0, S_VERSION = 4, S_HW_OFFSET = 8, S_HW_SEGMENT = 16,
	S_HW_POS = 24, S_START = 32, S_SYNC = 40, S_LAST_INDEX_POS = 48,
	S_FIRST_TS = 56, S_MAX_TS = 64, S_MAX_TS_OFFSET = 72,
	S_LAST_TINDEX_TS = 80, S_INDEX_ENTRIES = 88, S_TINDEX_ENTRIES = 92,
	S_CRC = STATE_SIZE - 4
};

void
pstate_init(struct pstate *s, int64_t base)
{
	memset(s, 0, sizeof(*s));
	s->hw_offset = s->hw_segment = s->start_offset = s->sync_offset = base;
	s->seg_first_ts = s->seg_max_ts = s->last_tindex_ts = -1;
	s->seg_max_ts_offset = -1;
}

int
pstate_write(int fd, const struct pstate *s)
{
	unsigned char b[STATE_SIZE] = { 0 };

	memcpy(b + S_MAGIC, STATE_MAGIC, 4);
	put_be32(b + S_VERSION, STATE_VERSION);
	put_be64(b + S_HW_OFFSET, (uint64_t)s->hw_offset);
	put_be64(b + S_HW_SEGMENT, (uint64_t)s->hw_segment);
	put_be64(b + S_HW_POS, (uint64_t)s->hw_pos);
	put_be64(b + S_START, (uint64_t)s->start_offset);
	put_be64(b + S_SYNC, (uint64_t)s->sync_offset);
	put_be64(b + S_LAST_INDEX_POS, (uint64_t)s->last_index_pos);
	put_be64(b + S_FIRST_TS, (uint64_t)s->seg_first_ts);
	put_be64(b + S_MAX_TS, (uint64_t)s->seg_max_ts);
	put_be64(b + S_MAX_TS_OFFSET, (uint64_t)s->seg_max_ts_offset);
	put_be64(b + S_LAST_TINDEX_TS, (uint64_t)s->last_tindex_ts);
	put_be32(b + S_INDEX_ENTRIES, s->index_entries);
	put_be32(b + S_TINDEX_ENTRIES, s->tindex_entries);
	put_be32(b + S_CRC, mq_crc32c(0, b, S_CRC));
	return pwrite_all(fd, b, sizeof(b), 0);
}

static int
decode(const unsigned char *b, struct pstate *s)
{
	if (memcmp(b + S_MAGIC, STATE_MAGIC, 4) != 0 ||
	    get_be32(b + S_VERSION) != STATE_VERSION ||
	    get_be32(b + S_CRC) != mq_crc32c(0, b, S_CRC))
		return MQ_ESTATE;
	s->hw_offset = (int64_t)get_be64(b + S_HW_OFFSET);
	s->hw_segment = (int64_t)get_be64(b + S_HW_SEGMENT);
	s->hw_pos = (int64_t)get_be64(b + S_HW_POS);
	s->start_offset = (int64_t)get_be64(b + S_START);
	s->sync_offset = (int64_t)get_be64(b + S_SYNC);
	s->last_index_pos = (int64_t)get_be64(b + S_LAST_INDEX_POS);
	s->seg_first_ts = (int64_t)get_be64(b + S_FIRST_TS);
	s->seg_max_ts = (int64_t)get_be64(b + S_MAX_TS);
	s->seg_max_ts_offset = (int64_t)get_be64(b + S_MAX_TS_OFFSET);
	s->last_tindex_ts = (int64_t)get_be64(b + S_LAST_TINDEX_TS);
	s->index_entries = get_be32(b + S_INDEX_ENTRIES);
	s->tindex_entries = get_be32(b + S_TINDEX_ENTRIES);
	if (s->hw_offset < s->hw_segment || s->hw_pos < 0 ||
	    s->start_offset < 0 || s->start_offset > s->hw_offset ||
	    s->last_index_pos > s->hw_pos)
		return MQ_ESTATE;
	return 0;
}

int
pstate_read(int fd, struct pstate *s)
{
	unsigned char b[STATE_SIZE];
	ssize_t n;
	int tries, rc = MQ_ESTATE;

	/* A torn copy (a read racing the writer's pwrite) fails the CRC. */
	for (tries = 0; tries < 1000; tries++) {
		if ((n = pread(fd, b, sizeof(b), 0)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == (ssize_t)sizeof(b) && (rc = decode(b, s)) == 0)
			return 0;
		sched_yield();
	}
	return rc;
}

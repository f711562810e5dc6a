/* SPDX-License-Identifier: MIT */
/*
 * index.c - building a segment's offset and time indexes the way Kafka's
 * LogSegment does, for the appender, the cleaner and mq-check's repair.
 *
 * The rule: track the segment's largest timestamp; once more than
 * index.interval.bytes were written since the last offset entry, the
 * next batch gets one (its last offset, its position), and a time entry
 * too if the largest timestamp grew.  A sealed segment gets one last
 * time entry for its largest timestamp, so its newest time can be read
 * from the index.  The bookkeeping lives in the segment fields of a
 * struct pstate, which is where the appender persists it.
 */
#include <errno.h>
#include <unistd.h>

#include "internal.h"

void
index_reset(struct pstate *s)
{
	s->hw_pos = s->last_index_pos = 0;
	s->index_entries = s->tindex_entries = 0;
	s->seg_first_ts = s->seg_max_ts = s->last_tindex_ts = -1;
	s->seg_max_ts_offset = -1;
}

int
index_seal(struct pstate *s, int64_t base, struct mq_buf *tidx)
{
	unsigned char e[TINDEX_ENTRY];
	int rc;

	if (s->seg_max_ts <= s->last_tindex_ts)
		return 0;
	put_be64(e, (uint64_t)s->seg_max_ts);
	put_be32(e + 8, (uint32_t)(s->seg_max_ts_offset - base));
	if ((rc = mq_buf_add(tidx, e, TINDEX_ENTRY)) != 0)
		return rc;
	s->tindex_entries++;
	s->last_tindex_ts = s->seg_max_ts;
	return 0;
}

int
index_note(struct pstate *s, int64_t base, int64_t interval,
    struct mq_buf *idx, struct mq_buf *tidx, int64_t pos,
    int64_t last_offset, int64_t max_ts)
{
	unsigned char e[INDEX_ENTRY];
	int rc;

	if (s->seg_first_ts < 0)
		s->seg_first_ts = max_ts;
	if (max_ts > s->seg_max_ts) {
		s->seg_max_ts = max_ts;
		s->seg_max_ts_offset = last_offset;
	}
	if (pos - s->last_index_pos <= interval)
		return 0;
	put_be32(e, (uint32_t)(last_offset - base));
	put_be32(e + 4, (uint32_t)pos);
	if ((rc = mq_buf_add(idx, e, INDEX_ENTRY)) != 0)
		return rc;
	s->index_entries++;
	s->last_index_pos = pos;
	return index_seal(s, base, tidx);
}

/* Replaces the whole of fd with q. */
static int
replace(int fd, const struct mq_buf *q)
{
	if (ftruncate(fd, 0) == -1)
		return errno;
	return q->len > 0 ? pwrite_all(fd, q->p, q->len, 0) : 0;
}

int
index_rebuild(int logfd, int64_t base, int64_t size, int64_t interval,
    int seal, int ifd, int tfd, struct pstate *st, int64_t *valid,
    const char **why)
{
	struct mq_buf idx = { 0 }, tidx = { 0 };
	struct mq_batch_info info;
	const unsigned char *b;
	struct segscan sc;
	int64_t prev = base - 1;
	int rc, bad;

	index_reset(st);
	*valid = 0;
	if ((rc = segscan_init(&sc, logfd, 0, size)) != 0)
		return rc;
	while ((rc = segscan_next(&sc, &b, &info, why)) == 1) {
		st->hw_pos = sc.pos;
		/*
		 * Entries rise and hold offsets relative to base in 32 bits:
		 * a batch out of that order (its baseOffset is outside the
		 * CRC, so damage can move it) gets none.
		 */
		if (info.base_offset <= prev ||
		    info.last_offset - base > INT32_MAX)
			continue;
		prev = info.last_offset;
		if ((rc = index_note(st, base, interval, &idx, &tidx, sc.at,
		    info.last_offset, info.max_timestamp)) != 0)
			break;
	}
	*valid = sc.at;
	segscan_free(&sc);
	/* Damage: the indexes cover the batches before it. */
	if ((bad = rc == MQ_ECORRUPT))
		rc = 0;
	if (rc == 0 && seal)
		rc = index_seal(st, base, &tidx);
	if (rc == 0 && (rc = replace(ifd, &idx)) == 0)
		rc = replace(tfd, &tidx);
	mq_buf_free(&idx);
	mq_buf_free(&tidx);
	return rc == 0 && bad ? MQ_ECORRUPT : rc;
}

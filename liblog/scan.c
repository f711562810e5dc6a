/* SPDX-License-Identifier: MIT */
/*
 * scan.c - walking the batches of a segment file in large reads.
 *
 * Recovery, cleaning and checking all need the same loop: read a
 * megabyte, hand out each whole batch that validates, read more when a
 * batch runs past the buffer, and stop at the first bytes that are not a
 * batch, saying where and why.  One buffer, whatever the segment's size;
 * it grows only for a batch larger than itself.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

#define SCAN_CHUNK	(1 << 20)

int
segscan_init(struct segscan *s, int fd, int64_t pos, int64_t end)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->pos = s->at = pos;
	s->end = end;
	if ((s->buf = malloc(SCAN_CHUNK)) == NULL)
		return ENOMEM;
	s->cap = SCAN_CHUNK;
	return 0;
}

void
segscan_seek(struct segscan *s, int64_t pos)
{
	s->pos = s->at = pos;
	s->have = s->off = 0;
}

void
segscan_free(struct segscan *s)
{
	free(s->buf);
	s->buf = NULL;
}

int
segscan_next(struct segscan *s, const unsigned char **batch,
    struct mq_batch_info *info, const char **why)
{
	unsigned char *nb;
	size_t need;
	ssize_t n;
	int rc;

	for (;;) {
		s->at = s->pos;
		if (s->pos >= s->end && s->have == s->off)
			return 0;
		rc = mq_batch_check(s->buf + s->off, s->have - s->off, info,
		    why);
		if (rc == 0) {
			*batch = s->buf + s->off;
			s->off += (size_t)info->length;
			s->pos += info->length;
			return 1;
		}
		if (rc != EAGAIN)
			return rc;
		need = info->length > 0 ? (size_t)info->length :
		    MQ_BATCH_HEADER;
		if (s->pos + (int64_t)need > s->end) {
			*why = "torn batch";
			return MQ_ECORRUPT;
		}
		memmove(s->buf, s->buf + s->off, s->have - s->off);
		s->have -= s->off;
		s->off = 0;
		if (need > s->cap) {
			if ((nb = realloc(s->buf, need)) == NULL)
				return ENOMEM;
			s->buf = nb;
			s->cap = need;
		}
		while (s->have < need) {
			size_t want = s->cap - s->have;
			int64_t left = s->end - s->pos - (int64_t)s->have;

			if ((int64_t)want > left)
				want = (size_t)left;
			n = pread(s->fd, s->buf + s->have, want,
			    (off_t)(s->pos + (int64_t)s->have));
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1)
				return errno;
			if (n == 0) {
				/* The file is shorter than end says. */
				*why = "segment ends early";
				return MQ_ECORRUPT;
			}
			s->have += (size_t)n;
		}
	}
}

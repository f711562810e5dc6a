/* SPDX-License-Identifier: MIT */
/*
 * read.c - reading a partition without taking any lock.
 *
 * A reader reads partition.state for the committed point and never reads
 * a byte past it: segments older than the active one are whole, and the
 * active one is read only up to the committed position.  Batches arrive
 * in large preads into one buffer, are checked (CRC and all) and handed
 * out whole, raw or record by record, so a reader never sees part of a
 * batch.  Memory is one buffer, whatever the size of the log.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define READ_CHUNK	(1 << 20)

struct mq_reader {
	struct mq_topic *t;
	struct mq_log *l;
	int	dirfd, statefd;
	struct pstate st;
	int64_t	limit;
	int	segfd;
	int64_t	segbase;
	dev_t	segdev;			/* the open segment's file, to tell */
	ino_t	segino;			/* it from a compaction's copy */
	int64_t	seg_end;		/* readable bytes of this segment */
	int	sealed;			/* an older segment: read to its end */
	int64_t	filepos;		/* file position of buf[len] */
	unsigned char *buf;
	size_t	cap, len, off;
	size_t	batch_off;		/* where the batch handed out starts */
	int64_t	next;			/* offset of the next record wanted */
	int64_t	seek_target;		/* -1, or an offset an index led to */
	struct mq_batch_iter it;
	int	in_batch;
	char	name[MQ_TOPIC_MAX + 16];
	char	watch[PATH_MAX];
};

static int
fail(struct mq_reader *r, int rc, const char *what)
{
	return log_fail(r->l, rc, "%s: %s: %s", r->name, what,
	    mq_strerror(rc));
}

static int
refresh(struct mq_reader *r)
{
	int rc;

	if ((rc = pstate_read(r->statefd, &r->st)) != 0)
		return fail(r, rc, STATE_FILE);
	return 0;
}

/* mq-delete unlinks partition.state: a missing file is no damage then. */
static int
deleted(struct mq_reader *r)
{
	struct stat sb;

	return fstat(r->statefd, &sb) == 0 && sb.st_nlink == 0;
}

static int
open_segment(struct mq_reader *r, int64_t base, int64_t pos)
{
	struct stat sb;
	char name[SEGNAME_SIZE];

	if (r->segfd != -1)
		close(r->segfd);
	seg_name(name, base, ".log");
	r->segfd = seg_open_log(r->dirfd, base);
	if (r->segfd == -1 && errno == ENOENT && deleted(r))
		return log_fail(r->l, MQ_ENOTOPIC, "%s: topic deleted",
		    r->name);
	/* ENOENT as it is: a seek retries when cleaning removed it. */
	if (r->segfd == -1)
		return log_fail(r->l, errno, "%s: %s: %s", r->name, name,
		    strerror(errno));
	if (fstat(r->segfd, &sb) == -1)
		return fail(r, errno, name);
	r->segbase = base;
	r->segdev = sb.st_dev;
	r->segino = sb.st_ino;
	r->sealed = base < r->st.hw_segment;
	r->seg_end = r->sealed ? sb.st_size : r->st.hw_pos;
	r->filepos = pos > r->seg_end ? r->seg_end : pos;
	r->len = r->off = 0;
	return 0;
}

int
mq_reader_open(struct mq_topic *t, int part, struct mq_reader **rp)
{
	struct mq_reader *r;
	int rc;

	*rp = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return ENOMEM;
	r->t = t;
	r->l = t->log;
	r->segfd = r->statefd = -1;
	r->limit = INT64_MAX;
	r->seek_target = -1;
	snprintf(r->name, sizeof(r->name), "%s-%d", t->name, part);
	if (snprintf(r->watch, sizeof(r->watch), "%s/topics/%s/%s/%s",
	    t->log->path, t->name, r->name, STATE_FILE) >=
	    (int)sizeof(r->watch)) {
		free(r);
		return log_fail(t->log, ENAMETOOLONG, "%s: %s", t->name,
		    strerror(ENAMETOOLONG));
	}
	if ((rc = part_open(t, part, &r->dirfd)) != 0) {
		free(r);
		return rc;
	}
	r->statefd = openat(r->dirfd, STATE_FILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (r->statefd == -1) {
		rc = errno;
		mq_reader_close(r);
		return log_fail(t->log, rc == ENOENT ? MQ_ESTATE : rc,
		    "%s: %s: %s", t->name, STATE_FILE, strerror(rc));
	}
	if ((r->buf = malloc(READ_CHUNK)) == NULL) {
		mq_reader_close(r);
		return ENOMEM;
	}
	r->cap = READ_CHUNK;
	if ((rc = refresh(r)) != 0 ||
	    (rc = mq_reader_seek(r, r->st.start_offset)) != 0) {
		mq_reader_close(r);
		return rc;
	}
	*rp = r;
	return 0;
}

void
mq_reader_close(struct mq_reader *r)
{
	if (r == NULL)
		return;
	if (r->segfd != -1)
		close(r->segfd);
	if (r->statefd != -1)
		close(r->statefd);
	close(r->dirfd);
	free(r->buf);
	free(r);
}

int
mq_reader_offsets(struct mq_reader *r, int64_t *start, int64_t *end)
{
	int rc;

	if ((rc = refresh(r)) != 0)
		return rc;
	if (start != NULL)
		*start = r->st.start_offset;
	if (end != NULL)
		*end = r->st.hw_offset;
	return 0;
}

void
mq_reader_set_limit(struct mq_reader *r, int64_t limit)
{
	r->limit = limit;
}

int64_t
mq_reader_position(const struct mq_reader *r)
{
	return r->next;
}

const char *
mq_reader_watch_path(const struct mq_reader *r)
{
	return r->watch;
}

/* The largest segment base <= offset (the first when none is). */
static int64_t
floor_base(const int64_t *bases, size_t n, int64_t offset)
{
	int64_t base = n > 0 ? bases[0] : -1;
	size_t i;

	for (i = 0; i < n && bases[i] <= offset; i++)
		base = bases[i];
	return base;
}

/* Opens segment base at the position its index gives for offset. */
static int
open_at(struct mq_reader *r, int64_t base, int64_t offset)
{
	int64_t pos;

	if (index_lookup(r->dirfd, base, offset, &pos) != 0)
		pos = 0;
	r->seek_target = pos > 0 ? offset : -1;
	return open_segment(r, base, pos);
}

int
mq_reader_seek(struct mq_reader *r, int64_t offset)
{
	int64_t *bases, base;
	size_t n;
	int rc, tries;

	/* mq-clean may remove the segment between the listing and the
	 * open; the next listing no longer names it. */
	for (tries = 0; tries < 100; tries++) {
		if ((rc = refresh(r)) != 0)
			return rc;
		if (offset < r->st.start_offset)
			offset = r->st.start_offset;
		if (offset > r->st.hw_offset)
			offset = r->st.hw_offset;
		if ((rc = seg_list(r->dirfd, &bases, &n)) != 0)
			return fail(r, rc, "list segments");
		base = floor_base(bases, n, offset);
		free(bases);
		if (base < 0 || base > r->st.hw_segment)
			base = r->st.hw_segment;
		r->next = offset;
		r->in_batch = 0;
		if ((rc = open_at(r, base, offset)) != ENOENT)
			break;
	}
	return rc == ENOENT ? log_fail(r->l, MQ_ECORRUPT, "%s: segment "
	    "%020lld.log is missing", r->name, (long long)base) : rc;
}

/*
 * The segment after this one, holding offsets from r->next on.  Usually
 * the one named by that offset; after cleaning, the one whose range holds
 * it: a compaction's copy of the run this segment was in, read from where
 * its index puts r->next, skipping what was read (even when it is this
 * very segment's name, a new file), else the next one up.  A reader
 * behind a log start offset that retention moved jumps to it.
 */
static int
next_segment(struct mq_reader *r)
{
	int64_t *bases, base = -1, expect;
	char name[SEGNAME_SIZE];
	struct stat sb;
	size_t n, i;
	int rc, tries;

	for (tries = 0; tries < 100; tries++) {
		if ((rc = refresh(r)) != 0)
			return rc;
		if (r->next < r->st.start_offset)
			r->next = r->st.start_offset;
		expect = r->next;
		/* Named by the offset, unless a compaction is hiding it. */
		seg_name(name, expect, ".log");
		if (expect > r->segbase && faccessat(r->dirfd, name, F_OK,
		    AT_SYMLINK_NOFOLLOW) == 0) {
			seg_name(name, expect, ".log.deleted");
			if (faccessat(r->dirfd, name, F_OK,
			    AT_SYMLINK_NOFOLLOW) == -1)
				return open_segment(r, expect, 0);
		}
		if ((rc = seg_list(r->dirfd, &bases, &n)) != 0)
			return fail(r, rc, "list segments");
		base = floor_base(bases, n, expect);
		if (base == r->segbase) {
			int fd = seg_open_log(r->dirfd, base);

			if (fd != -1 && fstat(fd, &sb) == 0 &&
			    (sb.st_dev != r->segdev || sb.st_ino != r->segino))
				base = r->segbase;	/* replaced: reread */
			else
				base = -1;
			if (fd != -1)
				close(fd);
		}
		for (i = 0; base == -1 && i < n; i++)
			if (bases[i] > r->segbase)
				base = bases[i];
		free(bases);
		if (base == -1 && deleted(r))
			return log_fail(r->l, MQ_ENOTOPIC, "%s: topic deleted",
			    r->name);
		if (base == -1)
			return log_fail(r->l, MQ_ECORRUPT, "%s: no segment "
			    "after %020lld.log", r->name,
			    (long long)r->segbase);
		if ((rc = open_at(r, base, expect)) != ENOENT)
			return rc;
	}
	return log_fail(r->l, MQ_ECORRUPT, "%s: segment %020lld.log is "
	    "missing", r->name, (long long)base);
}

/*
 * Fills the buffer with at least need bytes.  Returns 0, with *end set
 * when the segment's readable bytes ran out first, or an error (an errno
 * is positive: the end cannot be a return value).
 */
static int
fill(struct mq_reader *r, size_t need, int *end)
{
	unsigned char *nb;
	size_t want;
	ssize_t n;

	*end = 0;
	if (r->off > 0) {
		memmove(r->buf, r->buf + r->off, r->len - r->off);
		r->len -= r->off;
		r->off = 0;
	}
	if (need > r->cap) {
		if ((nb = realloc(r->buf, need)) == NULL)
			return fail(r, ENOMEM, "read");
		r->buf = nb;
		r->cap = need;
	}
	while (r->len < need) {
		if (r->filepos >= r->seg_end) {
			*end = 1;
			return 0;
		}
		want = r->cap - r->len;
		if ((int64_t)want > r->seg_end - r->filepos)
			want = (size_t)(r->seg_end - r->filepos);
		n = pread(r->segfd, r->buf + r->len, want, r->filepos);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return fail(r, errno, "read");
		if (n == 0)
			return log_fail(r->l, MQ_ECORRUPT, "%s: %020lld.log "
			    "ends before its committed size %lld", r->name,
			    (long long)r->segbase, (long long)r->seg_end);
		r->len += (size_t)n;
		r->filepos += n;
	}
	return 0;
}

/*
 * At the committed end with nothing new: 0, or MQ_ENOTOPIC when the
 * topic was deleted (mq-delete), so a follower stops instead of waiting
 * on a partition that will never grow.
 */
static int
at_end(struct mq_reader *r)
{
	if (deleted(r))
		return log_fail(r->l, MQ_ENOTOPIC, "%s: topic deleted",
		    r->name);
	return 0;
}

/* The next whole batch holding offsets >= r->next, without moving next. */
static int
fetch(struct mq_reader *r, const unsigned char **batch,
    struct mq_batch_info *info)
{
	const char *why = NULL;
	size_t need;
	int rc, end;

	for (;;) {
		rc = mq_batch_check(r->buf + r->off, r->len - r->off, info,
		    &why);
		if (rc == 0) {
			if (r->seek_target >= 0) {
				int64_t target = r->seek_target;

				r->seek_target = -1;
				/* An index that points past the target is
				 * stale: scan the segment from its start. */
				if (info->base_offset > target) {
					if ((rc = open_segment(r, r->segbase,
					    0)) != 0)
						return rc;
					continue;
				}
			}
			if (info->base_offset >= r->limit)
				return 0;
			if (info->last_offset < r->next) {
				r->off += (size_t)info->length;
				continue;
			}
			*batch = r->buf + r->off;
			r->batch_off = r->off;
			r->off += (size_t)info->length;
			return 1;
		}
		if (rc != EAGAIN && r->seek_target >= 0) {
			/* An index that leads into the middle of a batch
			 * is stale (cleaning rewrote the segment). */
			r->seek_target = -1;
			if ((rc = open_segment(r, r->segbase, 0)) != 0)
				return rc;
			continue;
		}
		if (rc != EAGAIN)
			return log_fail(r->l, rc, "%s: %020lld.log at position "
			    "%lld: %s", r->name, (long long)r->segbase,
			    (long long)(r->filepos - (int64_t)(r->len - r->off)),
			    why);
		need = info->length > 0 ? (size_t)info->length :
		    MQ_BATCH_HEADER;
		if ((rc = fill(r, need, &end)) != 0)
			return rc;
		if (!end)
			continue;
		/* Nothing more in this segment. */
		if (r->seek_target >= 0) {
			/* The index led past the end: stale. */
			r->seek_target = -1;
			if ((rc = open_segment(r, r->segbase, 0)) != 0)
				return rc;
			continue;
		}
		if (r->len > r->off)
			return log_fail(r->l, MQ_ECORRUPT, "%s: %020lld.log at "
			    "position %lld: batch cut short", r->name,
			    (long long)r->segbase, (long long)(r->filepos -
			    (int64_t)(r->len - r->off)));
		if (r->next >= r->limit)
			return 0;
		if (r->sealed) {
			if ((rc = next_segment(r)) != 0)
				return rc;
			continue;
		}
		if ((rc = refresh(r)) != 0)
			return rc;
		if (r->st.hw_segment != r->segbase) {
			struct stat sb;

			if (fstat(r->segfd, &sb) == -1)
				return fail(r, errno, "stat");
			r->sealed = 1;
			r->seg_end = sb.st_size;
		} else if (r->st.hw_pos > r->seg_end)
			r->seg_end = r->st.hw_pos;
		else
			return at_end(r);
	}
}

int
mq_reader_next_batch(struct mq_reader *r, const void **batch, size_t *len)
{
	struct mq_batch_info info;
	const unsigned char *b;
	int rc;

	/* A batch left part-read by mq_reader_next is handed out whole. */
	if (r->in_batch && r->next <= r->it.info.last_offset)
		r->off = r->batch_off;
	r->in_batch = 0;
	if ((rc = fetch(r, &b, &info)) != 1)
		return rc;
	*batch = b;
	*len = (size_t)info.length;
	r->next = info.last_offset + 1;
	return 1;
}

int
mq_reader_next(struct mq_reader *r, struct mq_record *rec)
{
	struct mq_batch_info info;
	const unsigned char *b;
	int rc;

	for (;;) {
		if (r->in_batch) {
			struct mq_batch_iter at = r->it;

			rc = mq_batch_iter_next(&r->it, rec);
			if (rc == 1) {
				if (rec->offset < r->next)
					continue;
				if (rec->offset >= r->limit) {
					/* Keep it for a raised limit. */
					r->it = at;
					return 0;
				}
				r->next = rec->offset + 1;
				return 1;
			}
			if (rc < 0)
				return log_fail(r->l, rc, "%s: bad record in "
				    "batch at offset %lld", r->name,
				    (long long)r->it.info.base_offset);
			r->in_batch = 0;
			if (r->it.info.last_offset + 1 > r->next)
				r->next = r->it.info.last_offset + 1;
		}
		if ((rc = fetch(r, &b, &info)) != 1)
			return rc;
		mq_batch_iter_init(&r->it, b);
		r->in_batch = 1;
	}
}

int
mq_reader_seek_time(struct mq_reader *r, int64_t ts)
{
	struct mq_batch_info info;
	struct mq_batch_iter it;
	struct mq_record rec;
	const unsigned char *b;
	int64_t *bases, off, last_ts, limit = r->limit;
	size_t n, i;
	int rc;

	if ((rc = refresh(r)) != 0)
		return rc;
	if ((rc = seg_list(r->dirfd, &bases, &n)) != 0)
		return fail(r, rc, "list segments");
	off = r->st.start_offset;
	/*
	 * Skip whole sealed segments whose newest record is older than ts;
	 * in the first one that is not, start where its time index says.
	 */
	for (i = 0; i < n && bases[i] <= r->st.hw_segment; i++) {
		if (tindex_lookup(r->dirfd, bases[i], ts, &off, &last_ts) != 0) {
			off = bases[i];
			break;
		}
		if (last_ts < 0 || last_ts >= ts || bases[i] == r->st.hw_segment)
			break;
		off = i + 1 < n ? bases[i + 1] : r->st.hw_offset;
	}
	free(bases);
	if ((rc = mq_reader_seek(r, off)) != 0)
		return rc;
	r->limit = INT64_MAX;
	while ((rc = fetch(r, &b, &info)) == 1) {
		if (info.max_timestamp < ts) {
			r->next = info.last_offset + 1;
			continue;
		}
		mq_batch_iter_init(&it, b);
		while (mq_batch_iter_next(&it, &rec) == 1)
			if (rec.offset >= r->next && rec.timestamp >= ts) {
				r->limit = limit;
				return mq_reader_seek(r, rec.offset);
			}
		r->next = info.last_offset + 1;
	}
	r->limit = limit;
	if (rc != 0)
		return rc;
	return mq_reader_seek(r, r->st.hw_offset);
}

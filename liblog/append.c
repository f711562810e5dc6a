/* SPDX-License-Identifier: MIT */
/*
 * append.c - appending batches to a partition, and recovering what a dead
 * writer left behind.
 *
 * One append call: take the partition's OFD lock, read partition.state,
 * check the active segment's size against the committed position (a
 * longer one holds whole batches another appender waits to sync, or a
 * dead writer's: take them over; a shorter one lost data: recover),
 * write the batches (one pwritev for a run of batches), add index
 * entries the way Kafka's LogSegment does, fsync as the sync mode says
 * (in a durable mode outside the lock, shared: commit_outside()), and
 * publish the new committed point by rewriting partition.state.  Only
 * then are the batches visible to readers.  The lock is held per call,
 * not per process, so any number of producers can share a partition.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"


struct mq_appender {
	struct mq_topic *t;
	struct mq_log *l;
	int	part, sync;
	int	dirfd, statefd;
	int64_t	segbase;		/* segment whose files are open */
	int	fds[3];			/* its .log, .index, .timeindex */
	struct pstate st;		/* working copy */
	struct pstate pub;		/* as last published */
	int64_t	leo, pos;		/* end of what this call wrote */
	int64_t	keep_pos;		/* what an undo keeps of the segment */
	uint32_t keep_ix, keep_tix;	/* and of its indexes */
	int64_t	run_pos;		/* where the unwritten run starts */
	struct iovec *iov;
	int	niov, iovcap;
	struct mq_buf idx, tidx;	/* index entries not yet written */
	int64_t	unsynced;		/* records since the last fsync */
	int	checked;		/* newer segments listed once */
	int64_t	synced_ms;
	int	syncerr;		/* a sync failed: no more appends */
	char	name[MQ_TOPIC_MAX + 16]; /* TOPIC-P, for messages */
};

static void
close_segment(struct mq_appender *a)
{
	int i;

	for (i = 0; i < 3; i++)
		if (a->fds[i] != -1) {
			close(a->fds[i]);
			a->fds[i] = -1;
		}
	a->segbase = -1;
}

int
mq_appender_open(struct mq_topic *t, int part, int sync,
    struct mq_appender **ap)
{
	struct mq_appender *a;
	int rc;

	*ap = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return ENOMEM;
	a->t = t;
	a->l = t->log;
	a->part = part;
	a->sync = sync;
	a->fds[0] = a->fds[1] = a->fds[2] = -1;
	a->segbase = -1;
	a->statefd = -1;
	a->synced_ms = mq_now_ms();
	snprintf(a->name, sizeof(a->name), "%s-%d", t->name, part);
	if ((rc = part_open(t, part, &a->dirfd)) != 0) {
		free(a);
		return rc;
	}
	/* A missing state file is rebuilt from the segments. */
	a->statefd = openat(a->dirfd, STATE_FILE, O_RDWR | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0666);
	if (a->statefd == -1) {
		rc = errno;
		close(a->dirfd);
		free(a);
		return log_fail(t->log, rc, "%s/%s: %s", t->name, STATE_FILE,
		    strerror(rc));
	}
	*ap = a;
	return 0;
}

int
mq_appender_close(struct mq_appender *a)
{
	if (a == NULL)
		return 0;
	close_segment(a);
	if (a->statefd != -1)
		close(a->statefd);
	close(a->dirfd);
	free(a->iov);
	mq_buf_free(&a->idx);
	mq_buf_free(&a->tidx);
	free(a);
	return 0;
}

static int
fail(struct mq_appender *a, int rc, const char *what)
{
	return log_fail(a->l, rc, "%s: %s: %s", a->name, what,
	    mq_strerror(rc));
}

/* Kafka's index bookkeeping for a batch placed at pos (index.c). */
static int
note_batch(struct mq_appender *a, int64_t pos, int64_t last_offset,
    int64_t max_ts)
{
	return index_note(&a->st, a->segbase,
	    a->t->config.index_interval_bytes, &a->idx, &a->tidx, pos,
	    last_offset, max_ts);
}

/* Writes the queued entries, the last of count entries of size bytes. */
static int
write_entries(struct mq_appender *a, int fd, struct mq_buf *q,
    uint32_t count, size_t size)
{
	int rc;

	if (q->len == 0)
		return 0;
	rc = pwrite_all(fd, q->p, q->len, (off_t)count * (off_t)size -
	    (off_t)q->len);
	if (rc != 0)
		return fail(a, rc, "write index");
	q->len = 0;
	return 0;
}

/* Writes the pending run of batches, then the index entries it added. */
static int
write_run(struct mq_appender *a)
{
	struct iovec *iov = a->iov;
	int niov = a->niov, rc;
	ssize_t n;
	off_t at = a->run_pos;

	while (niov > 0) {
		n = pwritev(a->fds[0], iov, niov > IOV_MAX ? IOV_MAX : niov,
		    at);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return fail(a, errno, "write");
		}
		at += n;
		while (niov > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			niov--;
		}
		if (niov > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	a->niov = 0;
	a->run_pos = at;
	if ((rc = write_entries(a, a->fds[1], &a->idx, a->st.index_entries,
	    INDEX_ENTRY)) != 0 || (rc = write_entries(a, a->fds[2], &a->tidx,
	    a->st.tindex_entries, TINDEX_ENTRY)) != 0)
		return rc;
	return 0;
}

/*
 * After a failed fsync the kernel may have dropped the dirty pages and
 * marked them clean, so a second fsync could succeed with the data never
 * written (PostgreSQL's "fsyncgate"): the appender fails for good, and
 * the next one starts over from what reached the disk.
 */
static int
sync_failed(struct mq_appender *a, int rc, const char *what)
{
	a->syncerr = rc;
	return fail(a, rc, what);
}

static int
sync_segment(struct mq_appender *a)
{
	if (fdatasync(a->fds[0]) == -1)
		return sync_failed(a, errno, "fsync");
	a->st.sync_offset = a->leo;
	a->unsynced = 0;
	a->synced_ms = mq_now_ms();
	return 0;
}

/* Nothing before the end of what is written now is undone. */
static void
keep_here(struct mq_appender *a)
{
	a->keep_pos = a->pos;
	a->keep_ix = a->st.index_entries;
	a->keep_tix = a->st.tindex_entries;
}

static int
publish(struct mq_appender *a)
{
	int rc;

	a->st.hw_offset = a->leo;
	a->st.hw_pos = a->pos;
	if ((rc = pstate_write(a->statefd, &a->st)) != 0)
		return fail(a, rc, STATE_FILE);
	a->pub = a->st;
	keep_here(a);
	return 0;
}

/*
 * Seals the active segment (with a last time index entry, as Kafka does,
 * so the segment's largest timestamp can be read from its index) and
 * starts a new one at the log end offset.  The roll is published at once,
 * so partition.state never points at a segment older than the newest
 * one holding data.
 */
static int
roll(struct mq_appender *a)
{
	const struct mq_config *c = &a->t->config;
	int fds[3], rc, i;

	if ((rc = index_seal(&a->st, a->segbase, &a->tidx)) != 0 ||
	    (rc = write_run(a)) != 0)
		return rc;
	/* A sealed segment is never written again: with flush.* set,
	 * --sync=none syncs it now or never. */
	if ((a->sync != MQ_SYNC_NONE || (a->unsynced > 0 &&
	    (c->flush_messages != INT64_MAX || c->flush_ms != INT64_MAX))) &&
	    (rc = sync_segment(a)) != 0)
		return rc;
	if ((rc = seg_create(a->dirfd, a->leo, fds)) != 0)
		return log_fail(a->l, rc, "%s: new segment %020lld.log: %s",
		    a->name, (long long)a->leo, rc == EEXIST ? "exists and "
		    "holds data: run mq-check" : mq_strerror(rc));
	if (a->sync != MQ_SYNC_NONE && (rc = fsync_dir(a->dirfd)) != 0) {
		for (i = 0; i < 3; i++)
			close(fds[i]);
		seg_remove(a->dirfd, a->leo);
		return sync_failed(a, rc, "fsync directory");
	}
	close_segment(a);
	memcpy(a->fds, fds, sizeof(fds));
	a->segbase = a->leo;
	index_reset(&a->st);
	a->st.hw_segment = a->leo;
	a->pos = a->run_pos = 0;
	if ((rc = publish(a)) != 0)
		return rc;
	/* The state must not name an older segment than durable data. */
	if (a->sync != MQ_SYNC_NONE && fsync(a->statefd) == -1)
		return sync_failed(a, errno, "fsync " STATE_FILE);
	return 0;
}

/*
 * Looks at segments newer than the one partition.state names.  An empty
 * one is a roll that died before it was published: it is removed.  One
 * that holds data means partition.state is older than the segments (a
 * power loss kept an old copy), so the state is rebuilt from the newest
 * segment and *rebuilt is set.  Without full, only the segment a roll at
 * the committed end would have made is looked at: that is all a writer
 * killed while this process runs can leave there (past it, see
 * drop_empty_at()).  A full listing is made at an appender's first
 * append and when the active segment is shorter than its committed
 * size, as after a power loss.
 */
static int
check_newer(struct mq_appender *a, int full, int *rebuilt)
{
	int64_t *bases = NULL, one = a->st.hw_offset, newest = -1, start;
	struct stat sb;
	char name[SEGNAME_SIZE];
	size_t n = 1, i;
	int rc;

	*rebuilt = 0;
	if (full && (rc = seg_list(a->dirfd, &bases, &n)) != 0)
		return fail(a, rc, "list segments");
	for (i = 0; i < n; i++) {
		int64_t base = full ? bases[i] : one;

		seg_name(name, base, ".log");
		if (base <= a->st.hw_segment ||
		    fstatat(a->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (sb.st_size > 0) {
			newest = base;
			continue;
		}
		seg_remove(a->dirfd, base);
	}
	free(bases);
	if (newest < 0)
		return 0;
	seg_name(name, newest, ".log");
	log_notify(a->l, "%s: %s is older than segment %s: rebuilt from the "
	    "segments", a->name, STATE_FILE, name);
	start = a->st.start_offset;
	pstate_init(&a->st, newest);
	a->st.start_offset = start;
	*rebuilt = 1;
	return 0;
}

/* Cuts fd to len if it is longer: 0, or -1 with errno. */
static int
shorten(int fd, int64_t len)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1)
		return -1;
	return sb.st_size > len ? ftruncate(fd, (off_t)len) : 0;
}

/*
 * A writer killed in a roll after writing batches it never published
 * left an empty segment at their end: once they are taken over, it goes
 * as check_newer() removes one at the committed end.  No live roll can
 * be under way: rolls happen under the append lock.
 */
static void
drop_empty_at(struct mq_appender *a, int64_t base)
{
	struct stat sb;
	char name[SEGNAME_SIZE];

	seg_name(name, base, ".log");
	if (fstatat(a->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    sb.st_size == 0)
		seg_remove(a->dirfd, base);
}

/* Does a valid batch start at pos?  1, 0, or an error. */
static int
batch_at(struct segscan *sc, int64_t pos)
{
	struct mq_batch_info info;
	const unsigned char *b;
	const char *why;

	if (pos >= sc->end)
		return 0;
	segscan_seek(sc, pos);
	return segscan_next(sc, &b, &info, &why);
}

/*
 * The active segment is longer than its committed size (a writer died
 * between write and publish, or one syncs its batches outside the lock)
 * or shorter (a power loss took unsynced data).  Keep every whole valid
 * batch that continues the offsets, cut the rest, rebuild the index
 * entries for what was kept, and publish, unless adopt: then the caller
 * goes on from the batches kept, and its own publish, after its own
 * sync, covers them.  Nothing that validates is removed.
 */
static int
recover(struct mq_appender *a, int64_t size, int unknown, int adopt)
{
	struct mq_batch_info info;
	const char *why = "torn batch";
	const unsigned char *b;
	int64_t at, synced = a->st.sync_offset;
	struct segscan sc;
	char seg[SEGNAME_SIZE];
	int rc, err = 0, tail = 0, shrunk = size < a->st.hw_pos;

	seg_name(seg, a->segbase, ".log");
	if (shrunk) {
		log_notify(a->l, "%s: %s is shorter than its committed size "
		    "(%lld < %lld bytes): rescanning it", a->name, seg,
		    (long long)size, (long long)a->st.hw_pos);
		index_reset(&a->st);
		a->st.hw_offset = a->segbase;
	} else {
		synced = a->st.hw_offset;	/* all past it is unpublished */
		tail = !unknown;
	}
	a->leo = a->st.hw_offset;
	if ((rc = segscan_init(&sc, a->fds[0], a->st.hw_pos, size)) != 0)
		return fail(a, rc, "recovery");
	while ((rc = segscan_next(&sc, &b, &info, &why)) == 1) {
		if (info.base_offset < a->leo) {
			why = "offsets go backwards";
			break;
		}
		/* An appender stamps each batch with the next offset, and the
		 * CRC does not cover it: past a known committed point a jump
		 * is a damaged base offset, not a batch to keep. */
		if (tail && info.base_offset != a->leo) {
			why = "offsets jump";
			break;
		}
		if ((err = note_batch(a, sc.at, info.last_offset,
		    info.max_timestamp)) != 0)
			break;
		a->leo = info.last_offset + 1;
	}
	at = sc.at;			/* where the kept batches end */
	if (rc != 1 && rc != 0 && rc != MQ_ECORRUPT)
		err = rc;
	/*
	 * A rebuilt state no longer says what was synced: damage that a
	 * valid batch follows is no torn tail.
	 */
	if (rc == MQ_ECORRUPT && unknown && info.length > 0 &&
	    batch_at(&sc, at + info.length) == 1)
		synced = INT64_MAX;
	segscan_free(&sc);
	if (err != 0)
		return fail(a, err, "recovery");
	if (a->leo < synced)
		return log_fail(a->l, MQ_ECORRUPT, "%s: damage inside %s "
		    "at position %lld of %s (%s): not cut, run mq-check",
		    a->name, synced == INT64_MAX ? "data valid batches follow" :
		    "synced data", (long long)at, seg, why);
	a->pos = a->run_pos = at;
	if (at < size) {
		if (ftruncate(a->fds[0], (off_t)at) == -1)
			return fail(a, errno, "truncate");
		log_notify(a->l, "%s: cut %lld bytes of torn tail at position "
		    "%lld of %s (%s)", a->name, (long long)(size - at),
		    (long long)at, seg, why);
	}
	/*
	 * The index entries of the batches kept are written again over
	 * what is there, and the rest cut: no truncate when they are the
	 * same, as for the batches of a live appender syncing outside the
	 * lock, since changing the files' sizes costs every fsync a journal
	 * commit.
	 */
	if ((rc = write_run(a)) != 0)
		return rc;
	if (shorten(a->fds[1], (int64_t)a->st.index_entries * INDEX_ENTRY) ==
	    -1 || shorten(a->fds[2], (int64_t)a->st.tindex_entries *
	    TINDEX_ENTRY) == -1)
		return fail(a, errno, "truncate index");
	if (adopt && !shrunk)
		return 0;
	/*
	 * A committed point lowered after a power loss must be durable
	 * before anything is written past it, whatever the sync mode: an
	 * old partition.state coming back after a second power loss would
	 * point into the bytes written since, and cut them as a torn tail.
	 */
	if ((a->sync != MQ_SYNC_NONE || shrunk) &&
	    (rc = sync_segment(a)) != 0)
		return rc;
	if ((rc = publish(a)) != 0)
		return rc;
	if (shrunk && fsync(a->statefd) == -1)
		return sync_failed(a, errno, "fsync " STATE_FILE);
	return 0;
}

/* partition.state unreadable: start over from the newest segment. */
static int
rebuild_state(struct mq_appender *a)
{
	int64_t *bases;
	size_t n;
	int rc, fds[3], i;

	if ((rc = seg_list(a->dirfd, &bases, &n)) != 0)
		return fail(a, rc, "list segments");
	if (n == 0) {
		if ((rc = seg_create(a->dirfd, 0, fds)) != 0)
			return fail(a, rc, "new segment");
		for (i = 0; i < 3; i++)
			close(fds[i]);
		pstate_init(&a->st, 0);
	} else {
		pstate_init(&a->st, bases[n - 1]);
		a->st.start_offset = bases[0];
	}
	free(bases);
	log_notify(a->l, "%s: %s unreadable: rebuilt from the segments",
	    a->name, STATE_FILE);
	return 0;
}

/*
 * Takes the lock and brings the partition to a clean end: the committed
 * one, or with adopt the end of the whole batches past it.
 */
static int
begin(struct mq_appender *a, int adopt)
{
	struct stat sb;
	char seg[SEGNAME_SIZE];
	int rc, rebuilt, unknown = 0;

	if (a->syncerr != 0)
		return fail(a, a->syncerr, "an earlier fsync failed");
	if ((rc = lock_exclusive(a->statefd)) != 0)
		return fail(a, rc, "lock");
	/* mq-delete unlinks it: nothing appended from now on is kept. */
	if (fstat(a->statefd, &sb) == 0 && sb.st_nlink == 0)
		return log_fail(a->l, MQ_ENOTOPIC, "%s: topic deleted",
		    a->name);
	rc = pstate_read(a->statefd, &a->st);
	if (rc == MQ_ESTATE && (rc = rebuild_state(a)) == 0)
		unknown = 1;
	if (rc != 0)
		return fail(a, rc, STATE_FILE);
	for (;;) {
		if (a->segbase != a->st.hw_segment) {
			close_segment(a);
			rc = seg_open(a->dirfd, a->st.hw_segment, a->fds);
			if (rc != 0) {
				seg_name(seg, a->st.hw_segment, ".log");
				return log_fail(a->l, rc == ENOENT ?
				    MQ_ECORRUPT : rc, "%s: active segment %s: %s",
				    a->name, seg, strerror(rc));
			}
			a->segbase = a->st.hw_segment;
		}
		if (fstat(a->fds[0], &sb) == -1)
			return fail(a, errno, "stat");
		if ((rc = check_newer(a, !a->checked ||
		    sb.st_size < a->st.hw_pos, &rebuilt)) != 0)
			return rc;
		a->checked = 1;
		if (!rebuilt)
			break;
		unknown = 1;
	}
	a->pub = a->st;
	a->leo = a->st.hw_offset;
	a->pos = a->run_pos = a->st.hw_pos;
	a->niov = 0;
	a->idx.len = a->tidx.len = 0;
	if (sb.st_size != a->st.hw_pos &&
	    (rc = recover(a, sb.st_size, unknown, adopt && !unknown)) != 0)
		return rc;
	if (a->leo > a->st.hw_offset)
		drop_empty_at(a, a->leo);
	keep_here(a);
	return 0;
}

/*
 * Cuts what this call wrote but did not publish, and only that: batches
 * it took over in begin() may be another appender's, syncing outside the
 * lock.  Only called after begin() succeeded.  The indexes are cut even
 * when the segment is not longer: a roll that failed after sealing the
 * time index wrote an entry there and nothing to the log.
 */
static void
undo(struct mq_appender *a)
{
	struct stat sb;
	int64_t made = a->segbase;

	/* A roll whose publish failed: its new segment, still empty, goes,
	 * and the published one is cut back like any other. */
	if (a->segbase != a->pub.hw_segment) {
		if (fstat(a->fds[0], &sb) == -1)
			return;
		close_segment(a);
		if (sb.st_size == 0 && made > a->pub.hw_segment)
			seg_remove(a->dirfd, made);
		if (seg_open(a->dirfd, a->pub.hw_segment, a->fds) != 0)
			return;
		a->segbase = a->pub.hw_segment;
	}
	/* Only ever shorten: a segment already shorter than its committed
	 * size is damage to report, not to pad with zeros. */
	if (shorten(a->fds[0], a->keep_pos) == -1)
		return;
	(void)shorten(a->fds[1], (int64_t)a->keep_ix * INDEX_ENTRY);
	(void)shorten(a->fds[2], (int64_t)a->keep_tix * TINDEX_ENTRY);
}

/* Has a publish since covered what this call wrote up to a->pos? */
static int
covered(const struct mq_appender *a, const struct pstate *now)
{
	return now->hw_segment > a->segbase ||
	    (now->hw_segment == a->segbase && now->hw_pos >= a->pos);
}

/*
 * Group commit.  A durable append writes its batches under the append
 * lock and leaves them whole past the committed point; then, outside
 * it, one appender at a time (the leader) takes over every batch
 * written so far (begin()), syncs them with one fsync, and publishes
 * them.  Those that wrote meanwhile wait for the leader's lock, and
 * find their batches published, synced by someone else; so N appenders
 * cost about two fsyncs, not N queued behind the lock.  Meanwhile each
 * holds a shared lock beside the append lock, which mq-check reads as a
 * write under way.  Called with the append lock held; returns with it
 * released.
 */
static int
commit_outside(struct mq_appender *a)
{
	struct pstate now;
	struct stat sb;
	int64_t own_pos = a->keep_pos, end = a->pos;
	uint32_t own_ix = a->keep_ix, own_tix = a->keep_tix;
	int rc, err = 0, led = 0;

	if ((rc = lock_syncing(a->statefd, 1)) != 0) {
		undo(a);
		lock_release(a->statefd);
		return fail(a, rc, "lock");
	}
	lock_release(a->statefd);
	if ((rc = lock_leader(a->statefd, 1)) != 0) {
		rc = fail(a, rc, "lock");
		goto unmark;
	}
	if ((rc = lock_exclusive(a->statefd)) != 0) {
		rc = fail(a, rc, "lock");
		goto unlead;
	}
	if ((rc = pstate_read(a->statefd, &now)) != 0) {
		rc = fail(a, rc, STATE_FILE);
		goto unlock;
	}
	if (covered(a, &now))
		goto synced;
	/* Ours and every batch written after it, to sync and publish
	 * (begin() locks again: an OFD lock already held is not doubled). */
	if (fstat(a->fds[0], &sb) == -1) {
		rc = fail(a, errno, "stat");
		goto unlock;
	}
	if (sb.st_size != end && (rc = begin(a, 1)) != 0)
		goto unlock;
	lock_release(a->statefd);
	led = 1;
	err = fdatasync(a->fds[0]) == -1 ? errno : 0;
	if ((rc = lock_exclusive(a->statefd)) != 0) {
		rc = err != 0 ? sync_failed(a, err, "fsync") :
		    fail(a, rc, "lock");
		goto unlead;
	}
	if (err != 0) {
		rc = sync_failed(a, err, "fsync");
		goto unlock;
	}
	if ((rc = pstate_read(a->statefd, &now)) != 0) {
		rc = fail(a, rc, STATE_FILE);
		goto unlock;
	}
synced:
	if (fstat(a->statefd, &sb) == 0 && sb.st_nlink == 0) {
		rc = log_fail(a->l, MQ_ENOTOPIC, "%s: topic deleted", a->name);
		goto unlock;
	}
	a->unsynced = 0;
	a->synced_ms = mq_now_ms();
	if (led && !covered(a, &now)) {
		a->st.sync_offset = a->leo;
		/* mq-clean may have moved the start meanwhile. */
		a->st.start_offset = now.start_offset;
		rc = publish(a);
	}
unlock:
	/* Unpublished, what this call wrote goes, if no one wrote after. */
	if (rc != 0 && led && a->pos == end &&
	    pstate_read(a->statefd, &now) == 0 &&
	    now.hw_segment == a->segbase && now.hw_pos <= own_pos &&
	    fstat(a->fds[0], &sb) == 0 && sb.st_size == end) {
		a->keep_pos = own_pos;
		a->keep_ix = own_ix;
		a->keep_tix = own_tix;
		undo(a);
	}
	lock_release(a->statefd);
unlead:
	lock_leader(a->statefd, 0);
unmark:
	lock_syncing(a->statefd, 0);
	return rc;
}

static int
add_iov(struct mq_appender *a, void *p, size_t len)
{
	if (a->niov == a->iovcap) {
		int cap = a->iovcap ? a->iovcap * 2 : 64;
		struct iovec *v = realloc(a->iov, (size_t)cap * sizeof(*v));

		if (v == NULL)
			return ENOMEM;
		a->iov = v;
		a->iovcap = cap;
	}
	a->iov[a->niov].iov_base = p;
	a->iov[a->niov++].iov_len = len;
	return 0;
}

int
mq_append(struct mq_appender *a, struct mq_batch *const *batches, size_t n,
    int64_t *first)
{
	const struct mq_config *c = &a->t->config;
	int64_t now = mq_now_ms();
	size_t i;
	int rc;

	/* A failed begin() wrote nothing to undo: recovery only cuts what
	 * it means to, and its state may not be published yet. */
	if ((rc = begin(a, 1)) != 0)
		goto unlock;
	*first = a->leo;
	for (i = 0; i < n; i++) {
		struct mq_batch *b = batches[i];
		unsigned char *h = b->buf;
		int64_t max_ts;

		if (b->count < 1 || b->len < MQ_BATCH_HEADER) {
			rc = log_fail(a->l, EINVAL, "%s: a batch without "
			    "records", a->name);
			goto out;
		}
		if ((int64_t)b->len > c->max_message_bytes) {
			rc = log_fail(a->l, MQ_ETOOBIG, "%s: batch of %zu bytes "
			    "is over max.message.bytes %lld", a->name, b->len,
			    (long long)c->max_message_bytes);
			goto out;
		}
		if (c->timestamp_type == MQ_TS_LOGAPPEND) {
			put_be64(h + B_MAX_TS, (uint64_t)now);
			put_be16(h + B_ATTRIBUTES, get_be16(h + B_ATTRIBUTES) |
			    MQ_ATTR_LOGAPPEND);
			put_be32(h + B_CRC, mq_crc32c(0, h + B_ATTRIBUTES,
			    b->len - B_ATTRIBUTES));
		}
		max_ts = (int64_t)get_be64(h + B_MAX_TS);
		if (a->pos > 0 && (a->pos + (int64_t)b->len > c->segment_bytes ||
		    (a->st.seg_first_ts >= 0 && max_ts - a->st.seg_first_ts >
		    c->segment_ms) ||
		    a->leo + b->count - 1 - a->segbase > INT32_MAX)) {
			if ((rc = roll(a)) != 0)
				goto out;
		}
		put_be64(h + B_BASE_OFFSET, (uint64_t)a->leo);
		if ((rc = note_batch(a, a->pos, a->leo + b->count - 1,
		    max_ts)) != 0 || (rc = add_iov(a, h, b->len)) != 0)
			goto out;
		a->pos += (int64_t)b->len;
		a->leo += b->count;
		if (a->sync == MQ_SYNC_NONE)
			a->unsynced += b->count;
		/* The last batch is synced outside the lock, below; the
		 * others under it, so that the call's offsets stay one run. */
		if (a->sync == MQ_SYNC_ALWAYS && i + 1 < n &&
		    ((rc = write_run(a)) != 0 || (rc = sync_segment(a)) != 0 ||
		    (rc = publish(a)) != 0))
			goto out;
	}
	if ((rc = write_run(a)) != 0)
		goto out;
	if (a->sync != MQ_SYNC_NONE)
		return commit_outside(a);
	if (a->unsynced > 0 && (a->unsynced >= c->flush_messages ||
	    mq_now_ms() - a->synced_ms >= c->flush_ms) &&
	    (rc = sync_segment(a)) != 0)
		goto out;
	rc = publish(a);
out:
	if (rc != 0)
		undo(a);
unlock:
	lock_release(a->statefd);
	return rc;
}

int
mq_appender_recover(struct mq_appender *a)
{
	int rc = begin(a, 0);

	lock_release(a->statefd);
	return rc;
}

int
mq_appender_sync(struct mq_appender *a)
{
	if (a->syncerr != 0)
		return fail(a, a->syncerr, "an earlier fsync failed");
	if (a->unsynced == 0 || a->fds[0] == -1)
		return 0;
	if (fdatasync(a->fds[0]) == -1)
		return sync_failed(a, errno, "fsync");
	a->unsynced = 0;
	a->synced_ms = mq_now_ms();
	return 0;
}

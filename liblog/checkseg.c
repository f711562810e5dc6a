/* SPDX-License-Identifier: MIT */
/*
 * checkseg.c - mq-check's look at segments: every batch scanned (a bad
 * one whose length leads on to a batch is measured and passed, as
 * mq-dump does), offsets in order within and across segments, indexes
 * judged against the batches, and the repairs.
 *
 * A forced repair removes a bad batch whose length leads on to the next
 * batch alone and cuts the segment at other damage, saying what offsets
 * were lost; nothing that validates is ever removed, and the end offset
 * never goes down, so no offset is handed out twice.  A sealed segment
 * is replaced by a whole new file (rename).  The active one is only cut
 * in place, because a live writer keeps it open across appends: to take
 * a batch from its middle the log is first rolled, as a writer rolls
 * it, and the segment is then rewritten as a sealed one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define COPY_CHUNK	(1 << 20)
#define HDR_MIN		17		/* a batch's length and magic */
#define OPEN_END	INT64_MIN	/* lost offsets' end not known yet */

/* A stretch of a segment that is no valid batch. */
struct check_bad {
	int64_t	pos, len;
	int64_t	first, last;		/* offsets lost with it; last < first:
					   none */
	const char *why;
	int	skip;			/* batches follow: only it is bad */
};

/*
 * A batch that validates but whose offsets are out of place: a person
 * must tell which copy of those offsets is right, so no repair removes
 * it.
 */
struct check_odd {
	int64_t	pos, len, first, last;
	const char *why;
};

/* One scan of a segment. */
struct scan {
	int64_t	leo;			/* next offset past the valid batches */
	int64_t	valid_end;		/* position past the last valid batch */
	int	after;			/* a valid batch follows the damage */
};

/* What is wrong with a segment's two indexes; "" when nothing. */
struct ixmsgs {
	char	msg[2][320];
};

/* What the active segment's scan found, and what a repair did. */
struct active {
	int64_t	size, end;		/* its size; bytes committed */
	struct scan sc;
	int	torn;			/* damage ending unsynced data */
	int	damage;			/* damage only --force removes */
	int	shortfall;		/* 1: unsynced bytes lost; 2: synced */
	struct ixmsgs ix;		/* index problems */
	const char *where;		/* its damage: "synced", "committed" */
	int	cut, fixed, rolled;	/* what the repair did */
	int64_t	hw;			/* the end offset it left */
};

static const char *const idx_ext[2] = { ".index", ".timeindex" };

/* The first of an index's problems and how many followed. */
struct firstmsg {
	char	msg[256];
	size_t	n;
};

static void
keep_first(void *arg, const char *msg)
{
	struct firstmsg *f = arg;

	if (f->n++ == 0)
		snprintf(f->msg, sizeof(f->msg), "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Scanning a segment                                                  */

static int
add_bad(struct mq_check *c, int64_t pos, int64_t len, int64_t first,
    const char *why, int skip)
{
	struct check_bad *v;
	size_t cap;

	if (c->nbad == c->badcap) {
		cap = c->badcap ? 2 * c->badcap : 16;
		if ((v = realloc(c->bad, cap * sizeof(*v))) == NULL)
			return ENOMEM;
		c->bad = v;
		c->badcap = cap;
	}
	c->bad[c->nbad++] = (struct check_bad){ pos, len, first, OPEN_END, why,
	    skip };
	return 0;
}

static int
add_odd(struct mq_check *c, int64_t pos, const struct mq_batch_info *b,
    const char *why)
{
	struct check_odd *v;
	size_t cap;

	if (c->nodd == c->oddcap) {
		cap = c->oddcap ? 2 * c->oddcap : 16;
		if ((v = realloc(c->odd, cap * sizeof(*v))) == NULL)
			return ENOMEM;
		c->odd = v;
		c->oddcap = cap;
	}
	c->odd[c->nodd++] = (struct check_odd){ pos, b->length, b->base_offset,
	    b->last_offset, why };
	return 0;
}

/* The offsets lost with the bad stretches before a batch at base end. */
static void
close_bad(struct mq_check *c, int64_t last)
{
	size_t i;

	for (i = c->nbad; i > 0 && c->bad[i - 1].last == OPEN_END; i--)
		c->bad[i - 1].last = last;
}

/*
 * Does a batch start at pos, or the scanned bytes end there?  The same
 * test as mq-dump's: a sane length and magic 2.
 */
static int
plausible(int fd, int64_t pos, int64_t end)
{
	struct mq_batch_info info;
	unsigned char h[HDR_MIN];
	const char *why;
	ssize_t n;

	if (pos == end)
		return 1;
	if (end - pos < HDR_MIN)
		return 0;
	do
		n = pread(fd, h, sizeof(h), (off_t)pos);
	while (n == -1 && errno == EINTR);
	return n == (ssize_t)sizeof(h) &&
	    mq_batch_check(h, sizeof(h), &info, &why) != MQ_ECORRUPT;
}

/* Why a valid batch is still out of place, or NULL. */
static const char *
misplaced(const struct mq_batch_info *b, int64_t base, int64_t prev,
    int64_t limit, const char *past)
{
	if (b->base_offset < base)
		return "base offset below the segment's base";
	if (b->base_offset <= prev)
		return "offsets going back";
	if (b->last_offset >= limit)
		return past;
	return NULL;
}

/*
 * Scans the first end bytes of the segment of base offset base open as
 * fd: valid batches go to c->ix, damage to c->bad, valid batches out of
 * place to c->odd.  Offsets must stay below limit (INT64_MAX for none),
 * what past says a batch beyond it is: the next segment's base, or the
 * committed end offset.  A batch's offsets, outside its CRC, may be
 * damaged too, so one out of place is never believed: the offsets that
 * follow are checked against the last batch in place.  Returns 0 or
 * errno.
 */
static int
scan_batches(struct mq_check *c, int fd, int64_t base, int64_t end,
    int64_t limit, const char *past, struct scan *sc)
{
	struct mq_batch_info info;
	const unsigned char *b;
	const char *why;
	struct segscan s;
	int64_t prev = base - 1;
	int rc;

	memset(sc, 0, sizeof(*sc));
	sc->leo = base;
	c->nbad = c->nodd = 0;
	if ((rc = segscan_init(&s, fd, 0, end)) != 0)
		return rc;
	for (;;) {
		if ((rc = segscan_next(&s, &b, &info, &why)) == 1) {
			mq_ixcheck_batch(c->ix, s.at, &info);
			sc->after |= c->nbad > 0;
			sc->valid_end = s.pos;
			if ((why = misplaced(&info, base, prev, limit,
			    past)) != NULL) {
				if ((rc = add_odd(c, s.at, &info, why)) != 0)
					break;
				continue;
			}
			close_bad(c, info.base_offset - 1);
			prev = info.last_offset;
			sc->leo = prev + 1;
			continue;
		}
		if (rc != MQ_ECORRUPT)
			break;
		/*
		 * Only this batch is bad if its length leads to a batch.
		 * Magic 2 says the header was decoded: the batch is all
		 * there, and its length was sane.
		 */
		if (info.magic == 2 && s.at + info.length <= end &&
		    plausible(fd, s.at + info.length, end)) {
			if ((rc = add_bad(c, s.at, info.length, prev + 1, why,
			    1)) != 0)
				break;
			segscan_seek(&s, s.at + info.length);
			continue;
		}
		rc = add_bad(c, s.at, end - s.at, prev + 1, why, 0);
		break;
	}
	segscan_free(&s);
	close_bad(c, limit == INT64_MAX ? INT64_MAX : limit - 1);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Files of a partition                                                */

/*
 * Opens segment base's .log read-only into *fd, its size in *size.
 * Returns 0; 1 after reporting a file that is no segment (a symbolic
 * link, a directory), which is then not checked; or errno.
 */
static int
open_log(struct check_part *pc, int64_t base, int *fd, int64_t *size)
{
	struct mq_check *c = pc->c;
	struct stat sb;
	char name[SEGNAME_SIZE];
	int rc;

	/* What readers read: a compaction cut short past its commit
	 * point is the cleaner's to finish, its .swap copy what counts. */
	seg_view_name(pc->dirfd, base, ".log", name);
	check_file(c, "%s/%s", pc->rel, name);
	*fd = openat(pc->dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (*fd == -1 && errno == ELOOP) {
		check_report(c, MQ_PROBLEM_DAMAGE, -1, 0, NULL, "a symbolic "
		    "link in place of a segment: not followed");
		return 1;
	}
	if (*fd == -1)
		return log_fail(c->l, errno, "%s: %s", c->file,
		    strerror(errno));
	if (fstat(*fd, &sb) == -1) {
		rc = log_fail(c->l, errno, "%s: %s", c->file,
		    strerror(errno));
		close(*fd);
		return rc;
	}
	if (!S_ISREG(sb.st_mode)) {
		close(*fd);
		check_report(c, MQ_PROBLEM_DAMAGE, -1, 0, NULL, "not a regular "
		    "file");
		return 1;
	}
	*size = sb.st_size;
	return 0;
}

/*
 * Loads segment base's indexes into c->ix, count[k] entries of each
 * (-1: all); a missing or unreadable one gets its problem in m.  over,
 * if not NULL, gets the bytes each holds past the entries counted.
 */
static int
load_indexes(struct check_part *pc, int64_t base, const int64_t count[2],
    struct ixmsgs *m, int64_t over[2])
{
	struct stat sb;
	char name[SEGNAME_SIZE];
	int k, fd, rc;

	mq_ixcheck_start(pc->c->ix, base);
	for (k = 0; k < 2; k++) {
		m->msg[k][0] = '\0';
		seg_view_name(pc->dirfd, base, idx_ext[k], name);
		fd = openat(pc->dirfd, name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC | O_NONBLOCK);
		if (fd == -1 && (errno == ENOENT || errno == ELOOP)) {
			snprintf(m->msg[k], sizeof(m->msg[k]), "%s",
			    errno == ENOENT ?
			    "missing" : "a symbolic link: not followed");
			continue;
		}
		if (fd == -1)
			return log_fail(pc->c->l, errno, "%s/%s: %s", pc->rel,
			    name, strerror(errno));
		rc = mq_ixcheck_load(pc->c->ix, k, fd, count[k]);
		if (rc == 0 && over != NULL && fstat(fd, &sb) == -1)
			rc = errno;
		else if (rc == 0 && over != NULL)
			over[k] = sb.st_size - count[k] * (int64_t)(k ==
			    MQ_INDEX_OFFSET ? INDEX_ENTRY : TINDEX_ENTRY);
		close(fd);
		if (rc != 0)
			return log_fail(pc->c->l, rc, "%s/%s: %s", pc->rel,
			    name, strerror(rc));
	}
	return 0;
}

/* Judges the loaded indexes against the scanned batches into m. */
static void
judge_indexes(struct check_part *pc, int64_t logsize, struct ixmsgs *m)
{
	struct firstmsg f;
	int k;

	for (k = 0; k < 2; k++) {
		if (m->msg[k][0] != '\0')
			continue;
		f.n = 0;
		if (mq_ixcheck_report(pc->c->ix, k, logsize, INT64_MAX,
		    keep_first, &f) == 0)
			continue;
		if (f.n == 1)
			snprintf(m->msg[k], sizeof(m->msg[k]), "%s", f.msg);
		else
			snprintf(m->msg[k], sizeof(m->msg[k]), "%s (and %zu "
			    "more problem%s)", f.msg, f.n - 1, f.n == 2 ? "" :
			    "s");
	}
}

static int
has_index_problem(const struct ixmsgs *m)
{
	return m->msg[0][0] != '\0' || m->msg[1][0] != '\0';
}

static void
report_indexes(struct check_part *pc, int64_t base, const struct ixmsgs *m,
    int rebuilt)
{
	char name[SEGNAME_SIZE];
	int k;

	for (k = 0; k < 2; k++) {
		if (m->msg[k][0] == '\0')
			continue;
		seg_name(name, base, idx_ext[k]);
		check_file(pc->c, "%s/%s", pc->rel, name);
		check_report(pc->c, MQ_PROBLEM_INDEX, -1, MQ_CHECK_REPAIR,
		    rebuilt ? "rebuilt" : NULL, "%s", m->msg[k]);
	}
}

/* Creates file name for writing; a stale one of ours is replaced. */
static int
create_temp(struct check_part *pc, const char *name)
{
	int fd;

	unlinkat(pc->dirfd, name, 0);
	fd = openat(pc->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0666);
	return fd == -1 ? -errno : fd;
}

/* New indexes for a segment, under names no segment file can have. */
struct newidx {
	int	fd[2];
	char	tmp[2][64];
};

/*
 * Builds segment base's indexes, sealed, from the first size bytes of
 * logfd, into new files in ni.  Returns 0 or errno.
 */
static int
build_indexes(struct check_part *pc, int64_t base, int logfd, int64_t size,
    struct newidx *ni)
{
	struct pstate st;
	const char *why;
	char name[SEGNAME_SIZE];
	int64_t valid;
	int rc = 0, k;

	ni->fd[0] = ni->fd[1] = -1;
	for (k = 0; k < 2 && rc == 0; k++) {
		seg_name(name, base, idx_ext[k]);
		snprintf(ni->tmp[k], sizeof(ni->tmp[k]), CHECK_TMP "%s", name);
		if ((ni->fd[k] = create_temp(pc, ni->tmp[k])) < 0)
			rc = -ni->fd[k];
	}
	if (rc == 0)
		rc = index_rebuild(logfd, base, size,
		    pc->t->config.index_interval_bytes, 1, ni->fd[0], ni->fd[1],
		    &st, &valid, &why);
	/* Damage left: the indexes cover the batches before it. */
	if (rc == MQ_ECORRUPT)
		rc = 0;
	for (k = 0; k < 2 && rc == 0; k++)
		if (fsync(ni->fd[k]) == -1)
			rc = errno;
	return rc;
}

/* Renames the new indexes into place: readers see old or new, whole. */
static int
place_indexes(struct check_part *pc, int64_t base, const struct newidx *ni)
{
	char name[SEGNAME_SIZE];
	int k;

	for (k = 0; k < 2; k++) {
		seg_name(name, base, idx_ext[k]);
		if (renameat(pc->dirfd, ni->tmp[k], pc->dirfd, name) == -1)
			return errno;
	}
	return 0;
}

/* Closes ni's files, and removes what was not put in place. */
static void
drop_indexes(struct check_part *pc, struct newidx *ni)
{
	int k;

	for (k = 0; k < 2; k++)
		if (ni->fd[k] >= 0) {
			close(ni->fd[k]);
			unlinkat(pc->dirfd, ni->tmp[k], 0);
		}
}

/*
 * Empties segment base's indexes in place, before its .log is replaced:
 * an index with no entries only makes a reader scan, where one that
 * points into the old file would make it fail.
 */
static int
empty_indexes(struct check_part *pc, int64_t base)
{
	char name[SEGNAME_SIZE];
	int k, fd, rc;

	for (k = 0; k < 2; k++) {
		seg_name(name, base, idx_ext[k]);
		fd = openat(pc->dirfd, name, O_WRONLY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd == -1 && (errno == ENOENT || errno == ELOOP))
			continue;
		if (fd == -1)
			return errno;
		rc = ftruncate(fd, 0) == -1 ? errno : 0;
		close(fd);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Rebuilds sealed segment base's indexes from its size bytes in logfd. */
static int
reindex_sealed(struct check_part *pc, int64_t base, int logfd, int64_t size)
{
	struct newidx ni;
	int rc;

	if ((rc = build_indexes(pc, base, logfd, size, &ni)) == 0 &&
	    (rc = place_indexes(pc, base, &ni)) == 0)
		rc = fsync_dir(pc->dirfd);
	drop_indexes(pc, &ni);
	if (rc != 0)
		return log_fail(pc->c->l, rc, "%s: indexes of %020" PRId64
		    ".log: %s", pc->rel, base, mq_strerror(rc));
	return 0;
}

/* Copies [from, to) of src to dst at *at, which it advances. */
static int
copy_range(struct mq_check *c, int src, int dst, int64_t from, int64_t to,
    int64_t *at)
{
	ssize_t n;
	size_t want;
	int rc;

	if (c->buf == NULL && (c->buf = malloc(COPY_CHUNK)) == NULL)
		return ENOMEM;
	while (from < to) {
		want = to - from < COPY_CHUNK ? (size_t)(to - from) :
		    COPY_CHUNK;
		if ((n = pread(src, c->buf, want, (off_t)from)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;	/* the file shrank under us */
		if ((rc = pwrite_all(dst, c->buf, (size_t)n, (off_t)*at)) != 0)
			return rc;
		from += n;
		*at += n;
	}
	return 0;
}

/*
 * Replaces sealed segment base (logfd, size bytes) by a copy without
 * the bad stretches the last scan found: written whole and synced under
 * a name no segment can have, then renamed over it, with its indexes
 * rebuilt.  A reader with the old file open goes on reading that.
 */
static int
rewrite_sealed(struct check_part *pc, int64_t base, int logfd, int64_t size)
{
	struct mq_check *c = pc->c;
	struct newidx ni = { { -1, -1 } };
	char tmp[64], name[32];
	int64_t from = 0, at = 0;
	size_t i;
	int fd, rc = 0;

	seg_name(name, base, ".log");
	snprintf(tmp, sizeof(tmp), CHECK_TMP "%s", name);
	if ((fd = create_temp(pc, tmp)) < 0)
		return log_fail(c->l, -fd, "%s/%s: %s", pc->rel, tmp,
		    strerror(-fd));
	for (i = 0; i < c->nbad && rc == 0; i++) {
		rc = copy_range(c, logfd, fd, from, c->bad[i].pos, &at);
		from = c->bad[i].pos + c->bad[i].len;
	}
	if (rc == 0)
		rc = copy_range(c, logfd, fd, from, size, &at);
	if (rc == 0 && fsync(fd) == -1)
		rc = errno;
	if (rc == 0)
		rc = build_indexes(pc, base, fd, at, &ni);
	if (rc == 0)
		rc = empty_indexes(pc, base);
	if (rc == 0 && renameat(pc->dirfd, tmp, pc->dirfd, name) == -1)
		rc = errno;
	if (rc == 0)
		rc = place_indexes(pc, base, &ni);
	if (rc == 0)
		rc = fsync_dir(pc->dirfd);
	close(fd);
	unlinkat(pc->dirfd, tmp, 0);
	drop_indexes(pc, &ni);
	if (rc != 0)
		return log_fail(c->l, rc, "%s/%s: rewriting: %s", pc->rel,
		    name, mq_strerror(rc));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sealed segments                                                     */

/* Reports the valid batches out of place the last scan found. */
static void
report_odd(struct check_part *pc, int64_t base, const char *where)
{
	struct mq_check *c = pc->c;
	const struct check_odd *o;
	size_t i;

	check_file(c, "%s/%020" PRId64 ".log", pc->rel, base);
	for (i = 0; i < c->nodd; i++) {
		o = &c->odd[i];
		check_report(c, MQ_PROBLEM_DAMAGE, o->pos, 0, NULL, "%s in %s "
		    "data: a batch of %" PRId64 " bytes that validates, "
		    "offsets %" PRId64 "-%" PRId64 ": not removed", o->why,
		    where, o->len, o->first, o->last);
	}
}

/* Reports the bad stretches the last scan of segment base found. */
static void
report_bad(struct check_part *pc, int64_t base, const char *where,
    int removed)
{
	struct mq_check *c = pc->c;
	char lost[64], done[128];
	const struct check_bad *b;
	size_t i;

	report_odd(pc, base, where);
	check_file(c, "%s/%020" PRId64 ".log", pc->rel, base);
	for (i = 0; i < c->nbad; i++) {
		b = &c->bad[i];
		check_offsets(lost, sizeof(lost), b->first, b->last);
		snprintf(done, sizeof(done), "%s %" PRId64 " bytes: %s lost",
		    b->skip ? "removed" : "cut", b->len, lost);
		check_report(c, MQ_PROBLEM_DAMAGE, b->pos, MQ_CHECK_REPAIR |
		    MQ_CHECK_FORCE, removed ? done : NULL, "%s in %s data: %"
		    PRId64 " bytes%s, %s", b->why, where, b->len, b->skip ? "" :
		    " to the end", lost);
	}
}

/*
 * Checks sealed segment i, batches and indexes, and repairs it as the
 * flags allow.  where names its data in messages: "sealed", or
 * "committed" for the active segment a repair has just sealed.
 */
int
check_sealed(struct check_part *pc, size_t i, const char *where)
{
	static const int64_t all[2] = { -1, -1 };
	struct mq_check *c = pc->c;
	int64_t base = pc->bases[i], size, limit = i + 1 < pc->n ?
	    pc->bases[i + 1] : pc->active;
	struct ixmsgs ix;
	struct scan sc;
	int fd, rc, rewritten = 0, reindexed = 0;

	if ((rc = open_log(pc, base, &fd, &size)) != 0)
		return rc == 1 ? 0 : rc;
	c->n.segments++;
	if ((rc = load_indexes(pc, base, all, &ix, NULL)) == 0 &&
	    (rc = scan_batches(c, fd, base, size, limit, "offsets reaching "
	    "into the next segment", &sc)) != 0)
		rc = log_fail(c->l, rc, "%s: %s", c->file, mq_strerror(rc));
	if (rc == 0)
		judge_indexes(pc, size, &ix);
	if (rc == 0 && c->nbad > 0 && check_forcing(c)) {
		if ((rc = rewrite_sealed(pc, base, fd, size)) == 0)
			rewritten = 1;
	} else if (rc == 0 && check_repairing(c) && has_index_problem(&ix)) {
		if ((rc = reindex_sealed(pc, base, fd, size)) == 0)
			reindexed = 1;
	}
	close(fd);
	if (rc != 0)
		return rc;
	report_bad(pc, base, where, rewritten);
	report_indexes(pc, base, &ix, rewritten || reindexed);
	return 0;
}

/*
 * Rebuilds the active segment's indexes in place (a live writer has
 * them open) from its first end bytes, into st's segment fields, with
 * end as its committed size.
 */
static int
active_indexes(struct check_part *pc, const int fds[3], int64_t base,
    int64_t end, struct pstate *st)
{
	struct pstate ix;
	const char *why;
	int64_t valid;
	int rc;

	rc = index_rebuild(fds[0], base, end,
	    pc->t->config.index_interval_bytes, 0, fds[1], fds[2], &ix, &valid,
	    &why);
	/* Damage left: the indexes cover the batches before it. */
	if (rc != 0 && rc != MQ_ECORRUPT)
		return rc;
	st->hw_pos = end;
	st->last_index_pos = ix.last_index_pos;
	st->seg_first_ts = ix.seg_first_ts;
	st->seg_max_ts = ix.seg_max_ts;
	st->seg_max_ts_offset = ix.seg_max_ts_offset;
	st->last_tindex_ts = ix.last_tindex_ts;
	st->index_entries = ix.index_entries;
	st->tindex_entries = ix.tindex_entries;
	return 0;
}

/*
 * Under the append lock: partition.state anew from the segments.  The
 * newest segment is the active one, committed up to its last valid
 * batch (what follows is a tail for the writer's recovery to cut), and
 * counted as synced, so that damage inside it is never cut without
 * --force.  Unlike a writer's rebuild, which cuts at the first bad
 * batch, nothing that validates is left out.  The end offset never goes
 * below what a readable old state said.  *hw gets the new end offset.
 */
int
check_rebuild_state(struct check_part *pc, int64_t *hw)
{
	struct pstate st;
	struct scan sc;
	int64_t base, size = 0;
	int fds[3], rc, i;

	base = pc->n > 0 ? pc->bases[pc->n - 1] : pc->strc == 0 ?
	    pc->st.hw_offset : 0;
	rc = pc->n > 0 ? seg_open(pc->dirfd, base, fds) :
	    seg_create(pc->dirfd, base, fds);
	if (rc != 0)
		return log_fail(pc->c->l, rc, "%s/%020" PRId64 ".log: %s",
		    pc->rel, base, strerror(rc));
	pstate_init(&st, base);
	if (pc->n > 0)
		st.start_offset = pc->strc == 0 && pc->st.start_offset >=
		    pc->bases[0] ? pc->st.start_offset : pc->bases[0];
	if (pc->n == 0)
		rc = fsync_dir(pc->dirfd);
	else if ((size = lseek(fds[0], 0, SEEK_END)) == -1)
		rc = errno;
	mq_ixcheck_start(pc->c->ix, base);
	if (rc == 0 && (rc = scan_batches(pc->c, fds[0], base, size, INT64_MAX,
	    NULL, &sc)) == 0)
		rc = active_indexes(pc, fds, base, sc.valid_end, &st);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	if (rc != 0)
		return log_fail(pc->c->l, rc, "%s: rebuilding %s: %s", pc->rel,
		    STATE_FILE, mq_strerror(rc));
	st.hw_offset = sc.leo;
	if (pc->strc == 0 && pc->st.hw_offset > st.hw_offset)
		st.hw_offset = pc->st.hw_offset;
	if (st.start_offset > st.hw_offset)
		st.start_offset = st.hw_offset;
	st.sync_offset = st.hw_offset;
	*hw = st.hw_offset;
	return check_publish(pc, &st);
}

/* ------------------------------------------------------------------ */
/* The active segment                                                  */

/*
 * One look at the active segment open as fd: its committed bytes
 * scanned, the index entries partition.state counts judged, and what is
 * wrong sorted out.  Without a trusted state all of it counts.  Bytes
 * past what the state counts are a live writer's unless locked says
 * the caller holds the append lock or no writer is at work.
 */
static int
look_active(struct check_part *pc, int fd, int locked, struct active *a)
{
	struct mq_check *c = pc->c;
	int usable = pc->unusable[0] == '\0';
	int64_t count[2] = { pc->st.index_entries, pc->st.tindex_entries };
	int64_t over[2] = { 0, 0 };
	int rc = 0, k;

	memset(a, 0, sizeof(*a));
	if ((a->size = lseek(fd, 0, SEEK_END)) == -1)
		return errno;
	a->end = usable && pc->st.hw_pos < a->size ? pc->st.hw_pos : a->size;
	if (usable)
		rc = load_indexes(pc, pc->active, count, &a->ix, over);
	else
		mq_ixcheck_start(c->ix, pc->active);
	if (rc == 0)
		rc = scan_batches(c, fd, pc->active, a->end, usable ?
		    pc->st.hw_offset : INT64_MAX, "offsets past the committed "
		    "end offset", &a->sc);
	if (rc != 0)
		return rc;
	if (usable)
		judge_indexes(pc, a->end, &a->ix);
	for (k = 0; k < 2; k++)
		if (over[k] > 0 && a->ix.msg[k][0] == '\0' && (locked ||
		    !check_busy(pc)))
			snprintf(a->ix.msg[k], sizeof(a->ix.msg[k]), "%" PRId64
			    " bytes past the %" PRId64 " entries "
			    "partition.state counts: a writer died mid-append",
			    over[k], count[k]);
	a->where = c->nbad > 0 && usable && c->bad[0].first >=
	    pc->st.sync_offset ? "committed" : "synced";
	if (c->nbad > 0) {
		/* Nothing valid past it, nothing synced in it: torn. */
		if (!a->sc.after && (!usable || c->bad[0].first >=
		    pc->st.sync_offset))
			a->torn = 1;
		else
			a->damage = 1;
	} else if (usable && a->size < pc->st.hw_pos)
		a->shortfall = a->sc.leo >= pc->st.sync_offset ? 1 : 2;
	return 0;
}

/* Would a repair with flags change anything the look found? */
static int
wants(const struct active *a, int flags)
{
	if (!(flags & MQ_CHECK_REPAIR))
		return 0;
	if (a->torn || a->shortfall == 1 || has_index_problem(&a->ix))
		return 1;
	return (flags & MQ_CHECK_FORCE) && (a->damage || a->shortfall == 2);
}

/*
 * Under the append lock: rolls the log as a writer rolls it, a new
 * empty segment at the end offset published as the active one, so that
 * the segment that was active is sealed and can be replaced by rename.
 * A writer holding the old one open notices at its next append.
 */
static int
roll(struct check_part *pc, struct pstate *st)
{
	int fds[3], rc, i;

	if ((rc = seg_create(pc->dirfd, st->hw_offset, fds)) != 0)
		return log_fail(pc->c->l, rc, "%s: new segment %020" PRId64
		    ".log: %s", pc->rel, st->hw_offset, rc == EEXIST ?
		    "exists and holds data" : strerror(rc));
	for (i = 0; i < 3; i++)
		close(fds[i]);
	if ((rc = fsync_dir(pc->dirfd)) != 0)
		return log_fail(pc->c->l, rc, "%s: %s", pc->rel, strerror(rc));
	st->hw_segment = st->hw_offset;
	index_reset(st);
	return check_publish(pc, st);
}

/*
 * Under the append lock: cuts the active segment at cut (-1: not), sets
 * its committed size to pos and the end offset to hw, and rebuilds its
 * indexes, in place.
 */
static int
settle(struct check_part *pc, int64_t cut, int64_t pos, int64_t hw)
{
	struct pstate st = pc->st;
	struct stat sb;
	char name[SEGNAME_SIZE];
	int fds[3], rc, i;

	/* An index that is a symbolic link goes; missing ones are made. */
	for (i = 0; i < 2; i++) {
		seg_name(name, pc->active, idx_ext[i]);
		if (fstatat(pc->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(sb.st_mode))
			unlinkat(pc->dirfd, name, 0);
	}
	if ((rc = seg_open(pc->dirfd, pc->active, fds)) != 0)
		return log_fail(pc->c->l, rc, "%s: %s", pc->c->file,
		    strerror(rc));
	if (cut >= 0 && (ftruncate(fds[0], (off_t)cut) == -1 ||
	    fdatasync(fds[0]) == -1))
		rc = errno;
	if (rc == 0)
		rc = active_indexes(pc, fds, pc->active, pos, &st);
	for (i = 0; i < 3; i++)
		close(fds[i]);
	if (rc != 0)
		return log_fail(pc->c->l, rc, "%s: %s", pc->c->file,
		    mq_strerror(rc));
	st.hw_offset = hw;
	if (st.sync_offset > hw)
		st.sync_offset = hw;
	return check_publish(pc, &st);
}

/*
 * Under the append lock, looks at the active segment again and repairs
 * what a repair with the check's flags may: a torn tail or a shortfall
 * in unsynced data is cut back as a writer would, lowering the end
 * offset; with force, damage at the end is cut keeping the end offset,
 * and damage with batches after it gets the log rolled, for the caller
 * to rewrite the segment sealed; indexes and a lagging end offset are
 * set right.  A partition that moved on meanwhile is left to the next
 * check.
 */
static int
repair_active(struct check_part *pc, struct active *a)
{
	struct mq_check *c = pc->c;
	struct pstate st;
	int64_t cut = -1, pos, hw, size;
	int fd = -1, rc;

	if ((rc = check_lock(pc)) != 0)
		return rc;
	/* An appender syncing its batches outside the lock (our own lock
	 * does not show) is a partition moving on. */
	if (lock_busy(pc->statefd) || pstate_read(pc->statefd, &st) != 0 ||
	    st.hw_segment != pc->active)
		goto out;
	pc->st = st;
	if ((rc = open_log(pc, pc->active, &fd, &size)) != 0) {
		rc = rc == 1 ? 0 : rc;
		goto out;
	}
	if ((rc = look_active(pc, fd, 1, a)) != 0) {
		rc = log_fail(c->l, rc, "%s: %s", c->file, mq_strerror(rc));
		goto out;
	}
	if (!wants(a, c->flags))
		goto out;
	if (a->damage && check_forcing(c) && a->sc.after) {
		/* A tail a writer left would end up sealed: not now. */
		if (a->size != st.hw_pos)
			goto out;
		if ((rc = roll(pc, &st)) == 0)
			a->rolled = 1;
		goto out;
	}
	if (a->torn || (a->damage && check_forcing(c)))
		cut = c->bad[0].pos;
	pos = cut >= 0 ? cut : a->shortfall == 1 || (a->shortfall == 2 &&
	    check_forcing(c)) ? a->size : st.hw_pos;
	hw = a->torn ? c->bad[0].first : a->shortfall == 1 ? a->sc.leo :
	    st.hw_offset;
	if ((rc = settle(pc, cut, pos, hw)) == 0) {
		a->fixed = 1;
		a->cut = cut >= 0;
		a->hw = hw;
	}
out:
	if (fd != -1)
		close(fd);
	lock_release(pc->statefd);
	return rc;
}

/*
 * Damage with nothing valid after it: one stretch to the end.  Torn
 * when it is all unsynced, damage in committed data when not.
 */
static void
report_end(struct check_part *pc, const struct active *a)
{
	struct mq_check *c = pc->c;
	const struct check_bad *b = c->bad;
	int64_t tail = a->end - b->pos, cut = a->size - b->pos;
	char lost[64], done[128];

	check_offsets(lost, sizeof(lost), b->first, c->bad[c->nbad - 1].last);
	if (a->torn) {
		snprintf(done, sizeof(done), "cut %" PRId64 " bytes", cut);
		check_report(c, MQ_PROBLEM_TAIL, b->pos, MQ_CHECK_REPAIR,
		    a->cut ? done : NULL, "torn tail in unsynced data: %s, %"
		    PRId64 " bytes to the end, %s", b->why, tail, lost);
		return;
	}
	snprintf(done, sizeof(done), "cut %" PRId64 " bytes: %s lost", cut,
	    lost);
	check_report(c, MQ_PROBLEM_DAMAGE, b->pos, MQ_CHECK_REPAIR |
	    MQ_CHECK_FORCE, a->cut ? done : NULL, "%s in %s data: %" PRId64
	    " bytes to the end, %s", b->why, a->where, tail, lost);
}

/* A segment shorter than its committed size, ending between batches. */
static void
report_short(struct check_part *pc, const struct active *a)
{
	int synced = a->shortfall == 2;
	char lost[64], done[128];

	check_offsets(lost, sizeof(lost), a->sc.leo, pc->st.hw_offset - 1);
	if (synced)
		snprintf(done, sizeof(done), "committed size set to %" PRId64
		    ": %s lost", a->size, lost);
	else
		snprintf(done, sizeof(done), "end offset set back to %" PRId64,
		    a->hw);
	check_report(pc->c, synced ? MQ_PROBLEM_DAMAGE : MQ_PROBLEM_TAIL,
	    a->size, synced ? MQ_CHECK_REPAIR | MQ_CHECK_FORCE :
	    MQ_CHECK_REPAIR, a->fixed ? done : NULL, "the segment ends %"
	    PRId64 " bytes short of its committed size, in %s data (%s)",
	    pc->st.hw_pos - a->size, synced ? "synced" : "unsynced", lost);
}

/* Reports what the active segment's look found, and what was done. */
static void
report_active(struct check_part *pc, const struct active *a)
{
	check_file(pc->c, "%s/%020" PRId64 ".log", pc->rel, pc->active);
	if (a->torn || (a->damage && !a->sc.after))
		report_end(pc, a);
	else if (a->damage)
		report_bad(pc, pc->active, a->where, 0);
	if (!a->damage || !a->sc.after)
		report_odd(pc, pc->active, a->where);
	if (a->shortfall != 0)
		report_short(pc, a);
	report_indexes(pc, pc->active, &a->ix, a->fixed);
}

int
check_active(struct check_part *pc)
{
	struct mq_check *c = pc->c;
	struct active a;
	int64_t base = pc->active, size;
	size_t i;
	int fd, rc;

	if ((rc = open_log(pc, base, &fd, &size)) != 0)
		return rc == 1 ? 0 : rc;
	rc = look_active(pc, fd, 0, &a);
	close(fd);
	if (rc != 0)
		return log_fail(c->l, rc, "%s: %s", c->file, mq_strerror(rc));
	if (wants(&a, c->flags) && (rc = repair_active(pc, &a)) != 0)
		return rc;
	if (!a.rolled) {
		c->n.segments++;
		report_active(pc, &a);
		return 0;
	}
	/* Sealed now: rewritten as any sealed segment is. */
	if ((rc = check_snapshot(pc)) != 0)
		return rc;
	for (i = 0; i + 1 < pc->n; i++)
		if (pc->bases[i] == base)
			return check_sealed(pc, i, a.where);
	return 0;
}

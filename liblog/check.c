/* SPDX-License-Identifier: MIT */
/*
 * check.c - mq-check: verifying a log directory and repairing it; here
 * the handle, the reports, and a partition as a whole: partition.state
 * and what a writer or an operation cut short left in it.  Segments are
 * checkseg.c's, topics/ and groups/ checkdir.c's.
 *
 * A partition is checked under its partition lock (shared to look,
 * exclusive to repair, so no cleaner works beside it) but never under
 * its append lock while it is only looked at: committed data does not
 * change under a reader, and a tail or a new segment seen while a writer
 * holds the append lock, or has published since, is its write in
 * progress, not damage.  A repair takes the append lock, looks again,
 * and changes only what it saw then.
 *
 * The rules are SPEC guarantee 3's.  What does not validate past the
 * last valid batch of unsynced data is a torn tail and is cut, as the
 * next writer would; indexes and partition.state are derived, and
 * rebuilt; leftovers are removed.  Damage anywhere else is reported and
 * left unless the caller forces it (checkseg.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Reporting                                                           */

void
check_file(struct mq_check *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->file, sizeof(c->file), fmt, ap);
	va_end(ap);
}

/* Hands one problem about c->file to the caller, and counts it. */
void
check_report(struct mq_check *c, int kind, int64_t pos, int fix,
    const char *done, const char *fmt, ...)
{
	struct mq_problem p;
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p = (struct mq_problem){ kind, c->file, pos, what, fix, done };
	c->n.problems++;
	if (done != NULL)
		c->n.repaired++;
	else if (kind != MQ_PROBLEM_LEFTOVER && kind != MQ_PROBLEM_NOTE)
		c->n.left++;
	c->fn(c->arg, &p);
}

/* "offsets 4-7", "offset 4", "offsets from 4 on", "no offset". */
const char *
check_offsets(char *buf, size_t size, int64_t first, int64_t last)
{
	if (last == INT64_MAX)
		snprintf(buf, size, "offsets from %" PRId64 " on", first);
	else if (last < first)
		snprintf(buf, size, "no offset");
	else if (last == first)
		snprintf(buf, size, "offset %" PRId64, first);
	else
		snprintf(buf, size, "offsets %" PRId64 "-%" PRId64, first,
		    last);
	return buf;
}

/* A notice from an appender's recovery, without its "TOPIC-P: ". */
static void
catch_note(void *arg, const char *msg)
{
	struct mq_check *c = arg;
	size_t len = strlen(c->notes), plen = strlen(c->prefix);

	if (strncmp(msg, c->prefix, plen) == 0)
		msg += plen;
	snprintf(c->notes + len, sizeof(c->notes) - len, "%s%s",
	    len > 0 ? "; " : "", msg);
}

/* ------------------------------------------------------------------ */
/* partition.state and what a writer left                              */

/*
 * Is segment base's .log a regular file?  A symbolic link or a
 * directory under a segment's name is no segment: strays() reports it,
 * and it bounds no other segment's offsets.
 */
static int
regular(struct check_part *pc, int64_t base, struct stat *sb)
{
	char name[SEGNAME_SIZE];

	seg_name(name, base, ".log");
	return fstatat(pc->dirfd, name, sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb->st_mode);
}

/* Reports what is named as a segment and is no regular file. */
static int
strays(struct check_part *pc)
{
	struct mq_check *c = pc->c;
	struct stat sb;
	char name[SEGNAME_SIZE];
	int64_t *bases;
	size_t n, i;
	int rc;

	if ((rc = seg_list(pc->dirfd, &bases, &n)) != 0)
		return log_fail(c->l, rc, "%s: %s", pc->rel, strerror(rc));
	for (i = 0; i < n; i++) {
		seg_name(name, bases[i], ".log");
		if (fstatat(pc->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
		    S_ISREG(sb.st_mode))
			continue;
		check_file(c, "%s/%s", pc->rel, name);
		check_report(c, MQ_PROBLEM_DAMAGE, -1, 0, NULL, "%s", S_ISLNK(
		    sb.st_mode) ? "a symbolic link in place of a segment: not "
		    "followed" : "not a regular file");
	}
	free(bases);
	return 0;
}

/*
 * Reads partition.state and lists the segments, then reads the state
 * again: a writer's roll in between makes it start over, so that the
 * state and the listing agree.  Then judges whether the state can be
 * trusted: it must be readable, its active segment must exist, and no
 * newer segment may hold data.
 */
int
check_snapshot(struct check_part *pc)
{
	struct pstate first;
	struct stat sb;
	char name[SEGNAME_SIZE];
	size_t i, k;
	int rc, tries;

	for (tries = 0; ; tries++) {
		rc = pc->statefd == -1 ? ENOENT : pstate_read(pc->statefd,
		    &first);
		free(pc->bases);
		pc->bases = NULL;
		if ((pc->strc = seg_list(pc->dirfd, &pc->bases, &pc->n)) != 0)
			return log_fail(pc->c->l, pc->strc, "%s: %s", pc->rel,
			    strerror(pc->strc));
		for (i = 0, k = 0; i < pc->n; i++)
			if (regular(pc, pc->bases[i], &sb))
				pc->bases[k++] = pc->bases[i];
		pc->n = k;
		pc->strc = pc->statefd == -1 ? ENOENT :
		    pstate_read(pc->statefd, &pc->st);
		/* A writer that keeps rolling: the state is the newer. */
		if (tries == 100 || (rc == pc->strc && (rc != 0 ||
		    first.hw_segment == pc->st.hw_segment)))
			break;
	}
	if (pc->strc != 0 && pc->strc != ENOENT && pc->strc != MQ_ESTATE)
		return log_fail(pc->c->l, pc->strc, "%s/%s: %s", pc->rel,
		    STATE_FILE, strerror(pc->strc));
	pc->unusable[0] = '\0';
	pc->active = pc->n > 0 ? pc->bases[pc->n - 1] : -1;
	if (pc->strc != 0) {
		snprintf(pc->unusable, sizeof(pc->unusable), "%s",
		    pc->strc == ENOENT ? "missing" : "unreadable (bad magic, "
		    "version or CRC)");
		return 0;
	}
	if (!regular(pc, pc->st.hw_segment, &sb)) {
		seg_name(name, pc->st.hw_segment, ".log");
		snprintf(pc->unusable, sizeof(pc->unusable), "names active "
		    "segment %s, which is missing", name);
		return 0;
	}
	for (i = 0; i < pc->n; i++) {
		seg_name(name, pc->bases[i], ".log");
		if (pc->bases[i] > pc->st.hw_segment &&
		    fstatat(pc->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    sb.st_size > 0) {
			snprintf(pc->unusable, sizeof(pc->unusable), "is older "
			    "than segment %s, which holds data", name);
			return 0;
		}
	}
	pc->active = pc->st.hw_segment;
	return 0;
}

/*
 * Is a writer at work, so that a tail or a segment seen past the
 * committed end is its write in progress?  It holds the append lock,
 * or syncs what it wrote outside it, or it has published since the
 * snapshot.
 */
int
check_busy(struct check_part *pc)
{
	struct pstate now;

	if (pc->statefd == -1)
		return 0;
	if (lock_busy(pc->statefd))
		return 1;
	return pstate_read(pc->statefd, &now) != 0 ||
	    memcmp(&now, &pc->st, sizeof(now)) != 0;
}

int
check_lock(struct check_part *pc)
{
	int rc;

	if ((rc = lock_exclusive(pc->statefd)) != 0)
		return log_fail(pc->c->l, rc, "%s/%s: lock: %s", pc->rel,
		    STATE_FILE, strerror(rc));
	return 0;
}

/* Writes st as partition.state, durably.  Under the append lock. */
int
check_publish(struct check_part *pc, const struct pstate *st)
{
	int rc;

	if ((rc = pstate_write(pc->statefd, st)) == 0 &&
	    fsync(pc->statefd) == -1)
		rc = errno;
	if (rc != 0)
		return log_fail(pc->c->l, rc, "%s/%s: %s", pc->rel, STATE_FILE,
		    strerror(rc));
	pc->st = *st;
	return 0;
}

/* An unusable partition.state: reported, and with a repair rebuilt. */
static int
state_problem(struct check_part *pc)
{
	struct mq_check *c = pc->c;
	char done[96], what[sizeof(pc->unusable)];
	int64_t hw = 0;
	int rc;

	snprintf(what, sizeof(what), "%s", pc->unusable);
	if (!check_repairing(c)) {
		check_file(c, "%s/%s", pc->rel, STATE_FILE);
		check_report(c, MQ_PROBLEM_STATE, -1, MQ_CHECK_REPAIR, NULL,
		    "%s", what);
		return 0;
	}
	if ((rc = check_lock(pc)) != 0)
		return rc;
	/* Writers are out now: look again, as they left it. */
	if ((rc = check_snapshot(pc)) == 0) {
		if (pc->unusable[0] == '\0')
			snprintf(done, sizeof(done), "a writer rebuilt it "
			    "meanwhile");
		else if ((rc = check_rebuild_state(pc, &hw)) == 0)
			snprintf(done, sizeof(done), "rebuilt from the "
			    "segments: end offset %" PRId64, hw);
	}
	lock_release(pc->statefd);
	if (rc == 0)
		rc = check_snapshot(pc);
	if (rc != 0)
		return rc;
	check_file(c, "%s/%s", pc->rel, STATE_FILE);
	check_report(c, MQ_PROBLEM_STATE, -1, MQ_CHECK_REPAIR, done, "%s",
	    what);
	return 0;
}

/*
 * Empty segments newer than the active one: rolls that died before they
 * were published.  A repair removes them under the append lock, where
 * no roll can be under way.
 */
static int
newer_empties(struct check_part *pc)
{
	struct mq_check *c = pc->c;
	struct pstate st;
	struct stat sb;
	char name[SEGNAME_SIZE];
	size_t i;
	int rc, gone;

	for (i = 0; i < pc->n; i++) {
		seg_name(name, pc->bases[i], ".log");
		if (pc->bases[i] <= pc->active || fstatat(pc->dirfd, name,
		    &sb, AT_SYMLINK_NOFOLLOW) == -1 || sb.st_size > 0 ||
		    check_busy(pc))
			continue;
		gone = 0;
		if (check_repairing(c)) {
			if ((rc = check_lock(pc)) != 0)
				return rc;
			if (pstate_read(pc->statefd, &st) == 0 &&
			    pc->bases[i] > st.hw_segment &&
			    fstatat(pc->dirfd, name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 && sb.st_size == 0) {
				if ((rc = seg_remove(pc->dirfd,
				    pc->bases[i])) == 0)
					rc = fsync_dir(pc->dirfd);
				gone = rc == 0;
			}
			lock_release(pc->statefd);
			/* A failed write is an error, not damage left. */
			if (rc != 0)
				return log_fail(c->l, rc, "%s/%s: %s", pc->rel,
				    name, strerror(rc));
		}
		check_file(c, "%s/%s", pc->rel, name);
		check_report(c, MQ_PROBLEM_TAIL, -1, MQ_CHECK_REPAIR, gone ?
		    "removed" : NULL, "an empty segment newer than the active "
		    "one: a roll cut short");
	}
	return 0;
}

/*
 * Bytes past the active segment's committed size that no live writer
 * is writing: a writer died mid-append.  A repair is the writer's own
 * recovery, which keeps whole batches and cuts the rest.
 */
static int
tail(struct check_part *pc)
{
	struct mq_check *c = pc->c;
	struct mq_appender *a;
	mq_notify_fn *fn;
	struct stat sb;
	char name[32], kept[64];
	void *arg;
	int64_t over;
	int rc;

	seg_name(name, pc->active, ".log");
	if (fstatat(pc->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(sb.st_mode) || sb.st_size <= pc->st.hw_pos ||
	    check_busy(pc))
		return 0;
	over = sb.st_size - pc->st.hw_pos;
	if (check_repairing(c)) {
		if ((rc = mq_appender_open(pc->t, pc->part, MQ_SYNC_BATCH,
		    &a)) != 0)
			return rc;
		fn = c->l->notify;
		arg = c->l->notify_arg;
		c->notes[0] = '\0';
		c->prefix = pc->prefix;
		mq_log_set_notify(c->l, catch_note, c);
		rc = mq_appender_recover(a);
		mq_log_set_notify(c->l, fn, arg);
		mq_appender_close(a);
		if (rc != 0)
			return rc;
		if (c->notes[0] == '\0')
			snprintf(kept, sizeof(kept), "kept: whole batches");
		if ((rc = check_snapshot(pc)) != 0)
			return rc;
	}
	check_file(c, "%s/%s", pc->rel, name);
	check_report(c, MQ_PROBLEM_TAIL, sb.st_size - over, MQ_CHECK_REPAIR,
	    !check_repairing(c) ? NULL : c->notes[0] != '\0' ? c->notes : kept,
	    "%" PRId64 " bytes past the committed size: a writer died "
	    "mid-append", over);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Partitions and topics                                               */

/*
 * What was cut short inside a partition directory: a compaction (the
 * cleaner's to finish or undo), and a repair's new files not renamed.
 */
static int
partition_leftovers(struct check_part *pc)
{
	struct mq_check *c = pc->c;
	const char *what;
	struct dirent *d;
	DIR *dir;
	int rc, repair = check_repairing(c);

	check_file(c, "%s", pc->rel);
	if ((rc = compact_recover(pc->dirfd, repair, &what)) != 0)
		return log_fail(c->l, rc, "%s: %s", pc->rel, strerror(rc));
	/* Readers see the old log or the new one meanwhile. */
	if (what != NULL)
		check_report(c, MQ_PROBLEM_LEFTOVER, -1, repair ?
		    MQ_CHECK_REPAIR : 0, repair ? what : NULL,
		    "a compaction cut short%s", repair ? "" :
		    strcmp(what, "would finish") == 0 ? ": the next mq-clean, "
		    "or --repair, finishes it" : ": the next mq-clean, or "
		    "--repair, undoes it");
	if ((dir = dir_stream(pc->dirfd)) == NULL)
		return log_fail(c->l, errno, "%s: %s", pc->rel,
		    strerror(errno));
	while ((d = readdir(dir)) != NULL) {
		if (strncmp(d->d_name, CHECK_TMP, strlen(CHECK_TMP)) != 0)
			continue;
		check_file(c, "%s/%s", pc->rel, d->d_name);
		rc = repair && unlinkat(pc->dirfd, d->d_name, 0) == -1 &&
		    errno != ENOENT ? errno : 0;
		check_report(c, MQ_PROBLEM_LEFTOVER, -1, MQ_CHECK_REPAIR,
		    repair && rc == 0 ? "removed" : NULL, "a repair cut short");
		/* A failed write is an error, not a leftover left. */
		if (rc != 0)
			break;
	}
	closedir(dir);
	if (rc != 0)
		return log_fail(c->l, rc, "%s: %s", c->file, strerror(rc));
	return 0;
}

/* The checks of one partition, under its partition lock. */
static int
check_files(struct check_part *pc)
{
	struct mq_check *c = pc->c;
	size_t i;
	int rc;

	if ((rc = partition_leftovers(pc)) != 0 || (rc = strays(pc)) != 0)
		return rc;
	/* No lock is ever taken on it without a repair to make. */
	pc->statefd = openat(pc->dirfd, STATE_FILE, (check_repairing(c) ?
	    O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
	if (pc->statefd == -1 && errno != ENOENT)
		return log_fail(c->l, errno, "%s/%s: %s", pc->rel, STATE_FILE,
		    strerror(errno));
	if ((rc = check_snapshot(pc)) != 0)
		return rc;
	if (pc->unusable[0] != '\0') {
		if (check_repairing(c) && pc->statefd == -1 &&
		    (pc->statefd = openat(pc->dirfd, STATE_FILE, O_RDWR |
		    O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666)) == -1)
			return log_fail(c->l, errno, "%s/%s: %s", pc->rel,
			    STATE_FILE, strerror(errno));
		if ((rc = state_problem(pc)) != 0)
			return rc;
	}
	if (pc->unusable[0] == '\0' && ((rc = newer_empties(pc)) != 0 ||
	    (rc = tail(pc)) != 0))
		return rc;
	for (i = 0; i < pc->n && pc->bases[i] < pc->active; i++)
		if ((rc = check_sealed(pc, i, "sealed")) != 0)
			return rc;
	return pc->active >= 0 ? check_active(pc) : 0;
}

static int
check_partition(struct mq_check *c, struct mq_topic *t, int part)
{
	struct check_part pc = { .c = c, .t = t, .part = part, .dirfd = -1,
	    .statefd = -1 };
	int rc;

	snprintf(pc.name, sizeof(pc.name), "%s-%d", t->name, part);
	snprintf(pc.prefix, sizeof(pc.prefix), "%s: ", pc.name);
	snprintf(pc.rel, sizeof(pc.rel), "topics/%s/%s", t->name, pc.name);
	if ((rc = part_open(t, part, &pc.dirfd)) == MQ_ECORRUPT) {
		check_file(c, "%s", pc.rel);
		check_report(c, MQ_PROBLEM_CONFIG, -1, 0, NULL, "missing: "
		    "topic.yaml says %d partitions", t->partitions);
		return 0;
	}
	if (rc != 0)
		return rc;
	c->n.partitions++;
	if ((rc = part_lock(pc.dirfd, check_repairing(c))) != 0)
		rc = log_fail(c->l, rc, "%s: lock: %s", pc.rel, strerror(rc));
	else {
		rc = check_files(&pc);
		part_unlock(pc.dirfd);
	}
	free(pc.bases);
	if (pc.statefd != -1)
		close(pc.statefd);
	close(pc.dirfd);
	return rc;
}

/* Is name "TOPIC-N", N a partition number of parts or more? */
static int
extra_partition(const char *name, const char *topic, int parts)
{
	size_t len = strlen(topic), i;
	long n = 0;

	if (strncmp(name, topic, len) != 0 || name[len] != '-' ||
	    name[len + 1] == '\0' || (name[len + 1] == '0' &&
	    name[len + 2] != '\0'))
		return 0;
	for (i = len + 1; name[i] != '\0'; i++) {
		if (name[i] < '0' || name[i] > '9' || n >= MQ_PARTITIONS_MAX)
			return 0;
		n = n * 10 + (name[i] - '0');
	}
	return n >= parts && n < MQ_PARTITIONS_MAX;
}

/*
 * What an alter cut short left in topic t: topic.yaml.new and partition
 * directories past the count topic.yaml says.  Looked at only when no
 * alter holds the topic's lock, and against topic.yaml as it is under
 * that lock, so that an alter at work is never taken for a dead one.
 */
static int
topic_leftovers(struct mq_check *c, struct mq_topic *t)
{
	struct mq_topic *now;
	struct dirent *d;
	char what[80];
	DIR *dir;
	int fd, rc = 0, e, repair = check_repairing(c);

	if (flock(t->fd, (repair ? LOCK_EX : LOCK_SH) | LOCK_NB) == -1)
		return errno == EWOULDBLOCK ? 0 : log_fail(c->l, errno,
		    "%s: lock: %s", t->name, strerror(errno));
	if ((rc = mq_topic_open(c->l, t->name, &now)) != 0) {
		flock(t->fd, LOCK_UN);
		/* Deleted or broken meanwhile: nothing left to judge. */
		return rc == MQ_ENOTOPIC || rc == MQ_EBADCONF ? 0 : rc;
	}
	if ((fd = openat(t->fd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (dir = fdopendir(fd)) == NULL) {
		rc = log_fail(c->l, errno, "topics/%s: %s", t->name,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		goto out;
	}
	while ((d = readdir(dir)) != NULL) {
		/* mq_topic_alter() writes the new file under that name. */
		if (strcmp(d->d_name, "topic.yaml.new") == 0)
			snprintf(what, sizeof(what), "an alter cut short");
		else if (extra_partition(d->d_name, t->name, now->partitions))
			snprintf(what, sizeof(what), "a partition an alter cut "
			    "short made: topic.yaml says %d", now->partitions);
		else
			continue;
		check_file(c, "topics/%s/%s", t->name, d->d_name);
		e = 0;
		if (repair && unlinkat(t->fd, d->d_name, 0) == -1 &&
		    errno != ENOENT)
			e = errno == EISDIR || errno == EPERM ?
			    rmtree_at(t->fd, d->d_name) : errno;
		check_report(c, MQ_PROBLEM_LEFTOVER, -1, MQ_CHECK_REPAIR,
		    repair && e == 0 ? "removed" : NULL, "%s", what);
		/* A failed write is an error, not a leftover left. */
		if (e != 0) {
			rc = log_fail(c->l, e, "%s: %s", c->file, strerror(e));
			break;
		}
	}
	closedir(dir);
out:
	mq_topic_close(now);
	flock(t->fd, LOCK_UN);
	return rc;
}

/* The log's detail for a bad topic.yaml, without its path. */
static const char *
conf_detail(const struct mq_check *c, const char *topic)
{
	const char *d = mq_log_errdetail(c->l);
	char prefix[PATH_MAX + 2 * MQ_TOPIC_MAX];
	int n;

	n = snprintf(prefix, sizeof(prefix), "%s/topics/%s/topic.yaml:",
	    c->l->path, topic);
	if (n > 0 && (size_t)n < sizeof(prefix) &&
	    strncmp(d, prefix, (size_t)n) == 0)
		return d + n + (d[n] == ' ');
	return d;
}

int
mq_check_topic(struct mq_check *c, const char *topic, int part)
{
	struct mq_topic *t;
	int rc, p, last;

	if ((rc = mq_topic_open(c->l, topic, &t)) == MQ_EBADCONF) {
		c->n.topics++;
		check_file(c, "topics/%s/topic.yaml", topic);
		check_report(c, MQ_PROBLEM_CONFIG, -1, 0, NULL, "%s",
		    conf_detail(c, topic));
		return 0;
	}
	if (rc != 0)
		return rc;
	c->n.topics++;
	if (part >= t->partitions)
		rc = log_fail(c->l, MQ_EBADPART, "%s: partition %d: %s (the "
		    "topic has %d)", topic, part, mq_strerror(MQ_EBADPART),
		    t->partitions);
	last = part < 0 ? t->partitions - 1 : part;
	for (p = part < 0 ? 0 : part; rc == 0 && p <= last; p++)
		rc = check_partition(c, t, p);
	if (rc == 0 && part < 0)
		rc = topic_leftovers(c, t);
	mq_topic_close(t);
	return rc;
}

/* ------------------------------------------------------------------ */

int
mq_check_open(struct mq_log *l, int flags, mq_problem_fn *fn, void *arg,
    struct mq_check **cp)
{
	struct mq_check *c;

	*cp = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return ENOMEM;
	if (mq_ixcheck_open(&c->ix) != 0) {
		free(c);
		return ENOMEM;
	}
	c->l = l;
	c->flags = flags;
	c->fn = fn;
	c->arg = arg;
	*cp = c;
	return 0;
}

void
mq_check_close(struct mq_check *c)
{
	if (c == NULL)
		return;
	mq_ixcheck_close(c->ix);
	free(c->bad);
	free(c->odd);
	free(c->buf);
	free(c);
}

void
mq_check_counts(const struct mq_check *c, struct mq_check_counts *n)
{
	*n = c->n;
}

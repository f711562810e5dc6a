/* SPDX-License-Identifier: MIT */
/*
 * checkdir.c - mq-check's look at the log directory beyond partitions:
 * creates and deletes cut short in topics/ and groups/, and the groups'
 * state.  A commit is a pair of CRC'd slots, so one damaged slot is a
 * commit torn by a crash and the other holds; only two damaged slots
 * are damage, which a forced repair clears, so that the partition
 * counts as never committed rather than as garbage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Leftovers in topics/ and groups/                                    */

/*
 * Is topics/+new.* (a create's work directory) free, so that no create
 * is at work in it?  A create holds its lock from just after making it
 * until it is renamed.  Returns the locked directory's descriptor, -1
 * when it is busy or gone, or -2 with errno set when it does not open.
 */
static int
new_dir_free(int topicsfd, const char *name)
{
	int fd = openat(topicsfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);

	if (fd == -1)
		return errno == ENOENT ? -1 : -2;
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Creates and deletes cut short in dirfd (topics/ or groups/, rel). */
static int
sweep(struct mq_check *c, int dirfd, const char *rel)
{
	const char *what;
	struct dirent *d;
	DIR *dir;
	int lockfd, rc = 0;

	if ((dir = dir_stream(dirfd)) == NULL)
		return log_fail(c->l, errno, "%s: %s", rel, strerror(errno));
	while ((d = readdir(dir)) != NULL) {
		lockfd = -1;
		if (strncmp(d->d_name, "+del.", 5) == 0)
			what = dirfd == c->l->topicsfd ? "a topic delete cut "
			    "short" : "a group delete cut short";
		else if (strncmp(d->d_name, "+new.", 5) == 0 &&
		    dirfd == c->l->topicsfd &&
		    (lockfd = new_dir_free(dirfd, d->d_name)) != -1)
			what = "a topic create cut short";
		else
			continue;
		check_file(c, "%s/%s", rel, d->d_name);
		if (lockfd == -2) {
			rc = errno;
			break;
		}
		rc = check_repairing(c) ? rmtree_at(dirfd, d->d_name) : 0;
		if (lockfd != -1)
			close(lockfd);
		check_report(c, MQ_PROBLEM_LEFTOVER, -1, MQ_CHECK_REPAIR,
		    check_repairing(c) && rc == 0 ? "removed" : NULL, "%s",
		    what);
		/* A failed write is an error, not a leftover left. */
		if (rc != 0)
			break;
	}
	closedir(dir);
	if (rc != 0)
		return log_fail(c->l, rc, "%s: %s", c->file, strerror(rc));
	return 0;
}

int
mq_check_leftovers(struct mq_check *c)
{
	int fd, rc;

	if (c->l->topicsfd != -1 && (rc = sweep(c, c->l->topicsfd,
	    "topics")) != 0)
		return rc;
	fd = openat(c->l->dirfd, GROUPS_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return errno == ENOENT ? 0 : log_fail(c->l, errno, "%s: %s",
		    GROUPS_DIR, strerror(errno));
	rc = sweep(c, fd, GROUPS_DIR);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Groups                                                              */

/* Reads partition part's commit pair; a torn read is read again. */
static int
read_pair(int fd, int part, struct mq_commit *cm)
{
	int rc, tries;

	for (tries = 0; tries < 3; tries++)
		if ((rc = commit_read(fd, part, cm)) != MQ_ECORRUPT)
			break;
	return rc;
}

/*
 * Clears a damaged pair, so that the partition counts as never
 * committed; not while a live member owns the partition (holds its
 * lock).  Returns 1 when cleared, 0 when owned, or -errno.
 */
static int
clear_pair(int fd, int part)
{
	static const unsigned char zero[COMMIT_PAIR];
	off_t at = (off_t)part * COMMIT_PAIR;
	int rc;

	if ((rc = range_trylock(fd, F_WRLCK, at, COMMIT_PAIR)) == EAGAIN)
		return 0;
	if (rc == 0 && (rc = pwrite_all(fd, zero, sizeof(zero), at)) == 0 &&
	    fdatasync(fd) == -1)
		rc = errno;
	range_unlock(fd, at, COMMIT_PAIR);
	return rc == 0 ? 1 : -rc;
}

/*
 * A whole number of slots of size bytes: a file cut inside one (a write
 * torn by a crash as it grew the file) is padded with zeros, which read
 * as an empty slot, as the missing bytes did.
 */
static int
whole_slots(struct mq_check *c, int fd, off_t slot, const char *what)
{
	struct stat sb;
	off_t part;
	int padded = 0;

	if (fstat(fd, &sb) == -1)
		return log_fail(c->l, errno, "%s: %s", c->file,
		    strerror(errno));
	if ((part = sb.st_size % slot) == 0)
		return 0;
	if (check_repairing(c)) {
		if (ftruncate(fd, sb.st_size - part + slot) == -1)
			return log_fail(c->l, errno, "%s: %s", c->file,
			    strerror(errno));
		padded = 1;
	}
	check_report(c, MQ_PROBLEM_GROUP, sb.st_size - part, MQ_CHECK_REPAIR,
	    padded ? "padded with zeros" : NULL, "%jd bytes at the end are "
	    "not a whole %s", (intmax_t)part, what);
	return 0;
}

/* The commits of one group on topic t (NULL when it does not open). */
static int
group_commits(struct mq_check *c, int fd, struct mq_topic *t)
{
	struct mq_partition_info pi;
	struct mq_commit cm;
	struct stat sb;
	int64_t pairs, at;
	int p, rc, cleared;

	if ((rc = whole_slots(c, fd, COMMIT_PAIR, "partition's pair of "
	    "commit slots")) != 0)
		return rc;
	if (fstat(fd, &sb) == -1)
		return log_fail(c->l, errno, "%s: %s", c->file,
		    strerror(errno));
	pairs = (sb.st_size + COMMIT_PAIR - 1) / COMMIT_PAIR;
	for (p = 0; p < pairs && p < MQ_PARTITIONS_MAX; p++) {
		at = (int64_t)p * COMMIT_PAIR;
		if ((rc = read_pair(fd, p, &cm)) == MQ_ECORRUPT) {
			cleared = check_forcing(c) ? clear_pair(fd, p) : 0;
			if (cleared < 0)
				return log_fail(c->l, -cleared, "%s: %s",
				    c->file, strerror(-cleared));
			check_report(c, MQ_PROBLEM_GROUP, at, MQ_CHECK_REPAIR |
			    MQ_CHECK_FORCE, cleared ? "cleared: never "
			    "committed now" : NULL, "partition %d: both commit "
			    "slots damaged%s", p, check_forcing(c) && !cleared ?
			    " (a live member owns it)" : "");
			continue;
		}
		if (rc != 0)
			return log_fail(c->l, rc, "%s: %s", c->file,
			    strerror(rc));
		if (t == NULL || cm.offset < 0)
			continue;
		if (p >= t->partitions)
			check_report(c, MQ_PROBLEM_NOTE, at, 0, NULL,
			    "partition %d: a commit, but topic %s has %d "
			    "partitions", p, t->name, t->partitions);
		else if (mq_partition_info(t, p, &pi) == 0 &&
		    cm.offset > pi.end)
			check_report(c, MQ_PROBLEM_NOTE, at, 0, NULL,
			    "partition %d: committed offset %" PRId64
			    " is past the end offset %" PRId64, p, cm.offset,
			    pi.end);
	}
	return 0;
}

/*
 * A share group's state: each partition's newest slot must read.  The
 * repair is a reset, which only the group's owner can choose.  An end
 * past the partition's end (a log that lost records the group had
 * taken) is a note, as a commit past it is: members start at the end.
 */
static int
share_state(struct mq_check *c, struct mq_group *g, int fd,
    struct mq_topic *t, const char *topic)
{
	struct mq_partition_info pi;
	int64_t end;
	int n = share_parts(fd), p, rc;

	if (n < 0)
		return log_fail(c->l, -n, "%s: %s", c->file, strerror(-n));
	for (p = 0; p < n && p < MQ_PARTITIONS_MAX; p++) {
		if ((rc = share_check(fd, p, &end)) == MQ_ECORRUPT)
			check_report(c, MQ_PROBLEM_GROUP, -1, 0, NULL,
			    "partition %d: share state damaged "
			    "(mq-offsets -g %s --reset ... %s:%d writes it "
			    "anew)", p, g->name, topic, p);
		else if (rc != 0)
			return log_fail(c->l, rc, "%s: %s", c->file,
			    strerror(rc));
		else if (t == NULL || end < 0)
			continue;
		else if (p >= t->partitions)
			check_report(c, MQ_PROBLEM_NOTE, -1, 0, NULL,
			    "partition %d: share state, but topic %s has %d "
			    "partitions", p, t->name, t->partitions);
		else if (mq_partition_info(t, p, &pi) == 0 && end > pi.end)
			check_report(c, MQ_PROBLEM_NOTE, -1, 0, NULL,
			    "partition %d: share end offset %" PRId64 " is "
			    "past the end offset %" PRId64, p, end, pi.end);
	}
	return 0;
}

/* One group's state on one topic. */
static int
check_group_topic(struct mq_check *c, struct mq_group *g, const char *topic)
{
	struct mq_topic *t = NULL;
	struct gfiles f;
	int rc;

	if ((rc = gfiles_open(g, topic, 0, &f)) != 0)
		return rc;
	check_file(c, "%s/%s/%s", GROUPS_DIR, g->name, topic);
	if ((rc = mq_topic_open(c->l, topic, &t)) == MQ_ENOTOPIC)
		check_report(c, MQ_PROBLEM_NOTE, -1, 0, NULL, "state for topic "
		    "%s, which does not exist", topic);
	rc = 0;
	if (f.offfd != -1) {
		check_file(c, "%s/%s/%s/%s", GROUPS_DIR, g->name, topic,
		    GROUP_OFFSETS);
		rc = group_commits(c, f.offfd, t);
	}
	if (rc == 0 && f.shfd != -1) {
		check_file(c, "%s/%s/%s/%s", GROUPS_DIR, g->name, topic,
		    GROUP_SHARE);
		rc = share_state(c, g, f.shfd, t, topic);
	}
	if (rc == 0 && f.memfd != -1) {
		check_file(c, "%s/%s/%s/%s", GROUPS_DIR, g->name, topic,
		    GROUP_MEMBERS);
		rc = whole_slots(c, f.memfd, MEMBER_SIZE, "member slot");
	}
	mq_topic_close(t);
	gfiles_close(&f);
	return rc;
}

int
mq_check_group(struct mq_check *c, const char *group)
{
	struct mq_group *g;
	char **topics;
	size_t n, i;
	int rc;

	if ((rc = mq_group_open(c->l, group, 0, &g)) != 0)
		return rc;
	c->n.groups++;
	if ((rc = mq_group_topics(g, &topics, &n)) == 0) {
		for (i = 0; i < n && rc == 0; i++)
			rc = check_group_topic(c, g, topics[i]);
		free(topics);
	}
	mq_group_close(g);
	return rc;
}

/* SPDX-License-Identifier: MIT */
/*
 * member.c - membership of a consumer group, by locks.
 *
 * A member holds an OFD lock on its slot in the topic's member table for
 * as long as it lives, and a lock on each partition it owns in the
 * offsets file.  The kernel drops both when the process dies, so there
 * is no heartbeat and no session timeout: survivors see the slot free at
 * their next look and deal the partitions again.  The assignment is a
 * pure function of which slots are live, so every member computes the
 * same one without talking to the others; during a change a partition
 * moves only when its old owner lets go of the lock, which keeps it
 * owned by one member at a time whatever the timing.  Every member,
 * in the deal or not, also read-locks the group's +lock, which is how a
 * tool knows it can change the group with no one inside.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct owned {
	uint64_t seq;			/* the last commit seen or written */
	int	held;
};

/* Sleeps ms; -1 if a signal came (the caller may want to stop). */
static int
nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	return nanosleep(&ts, NULL);
}

/* Takes the lowest free slot of the member table.  Returns 0 or errno. */
static int
take_slot(struct mq_member *m)
{
	int fd = m->f.memfd, held, rc;
	off_t k;

	for (k = 0; k < MEMBERS_MAX; k++) {
		if ((held = range_probe(fd, k * MEMBER_SIZE, MEMBER_SIZE)) < 0)
			return -held;
		if (held)
			continue;
		rc = range_trylock(fd, F_WRLCK, k * MEMBER_SIZE, MEMBER_SIZE);
		if (rc == EAGAIN)
			continue;	/* another joiner was quicker */
		if (rc != 0)
			return rc;
		m->self.slot = (int)k;
		return 0;
	}
	return EUSERS;
}

/*
 * Read-locks the group's +lock, the way in for members: a tool holding
 * it (a reset, a delete) makes us wait, and a delete that renamed the
 * group away makes us open it again by its path, which may name a new
 * group.  Returns 0, EINTR when a signal came while waiting, or errno.
 */
static int
enter(struct mq_member *m)
{
	struct mq_group *g = m->g, *fresh;
	int fd, rc;

	for (;;) {
		if ((fd = group_lockfile(g)) < 0)
			rc = -fd;
		else if ((rc = range_trylock(fd, F_RDLCK, 0, 0)) == 0 &&
		    !group_linked(g, fd, GROUP_LOCK))
			rc = ENOENT;
		if (rc == 0) {
			m->lockfd = fd;
			return 0;
		}
		if (fd >= 0)
			close(fd);
		if (rc != EAGAIN && rc != ENOENT)
			return log_fail(g->log, rc, "group %s: %s/%s/%s/%s: %s",
			    g->name, g->log->path, GROUPS_DIR, g->name,
			    GROUP_LOCK, strerror(rc));
		if ((g->log->stop != NULL && *g->log->stop) ||
		    nap_ms(20) != 0)
			return log_fail(g->log, EINTR, "group %s: %s", g->name,
			    "interrupted while waiting for a tool");
		if ((rc = mq_group_open(g->log, g->name, MQ_GROUP_CREATE,
		    &fresh)) != 0)
			return rc;
		close(g->fd);
		g->fd = fresh->fd;
		fresh->fd = -1;
		mq_group_close(fresh);
	}
}

/*
 * Joins, or with MEMBER_ASSIGN only opens the group's state to own chosen
 * partitions: a member outside the deal takes no slot, so the others
 * neither wait for it nor count it.
 */
int
member_open(struct mq_group *g, struct mq_topic *t, int sync, int mode,
    struct mq_member **mp)
{
	unsigned char rec[MEMBER_SIZE];
	struct mq_member *m;
	int rc;

	*mp = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ENOMEM;
	m->g = g;
	m->t = t;
	m->sync = sync;
	m->nparts = mq_topic_partitions(t);
	if ((m->parts = calloc((size_t)m->nparts, sizeof(*m->parts))) ==
	    NULL) {
		free(m);
		return ENOMEM;
	}
	while (getrandom(&m->self.id, sizeof(m->self.id), 0) !=
	    sizeof(m->self.id) || m->self.id == 0)
		m->self.id = (uint64_t)getpid() << 32 ^ (uint64_t)mq_now_ms();
	m->self.pid = getpid();
	if (gethostname(m->self.host, sizeof(m->self.host)) != 0)
		m->self.host[0] = '\0';
	m->self.host[sizeof(m->self.host) - 1] = '\0';
	m->self.slot = -1;
	m->lockfd = m->f.dirfd = m->f.offfd = m->f.memfd = m->f.shfd = -1;
	if ((rc = enter(m)) != 0)
		goto fail;
	if ((rc = gfiles_open(g, mq_topic_name(t), mode == MEMBER_SHARE ?
	    GF_SHARE : GF_CLASSIC, &m->f)) != 0)
		goto fail;
	if (mode != MEMBER_ASSIGN) {
		m->self.since = mq_now_ms();
		member_encode(rec, &m->self);
		if ((rc = take_slot(m)) != 0 || (rc = pwrite_all(m->f.memfd,
		    rec, sizeof(rec), (off_t)m->self.slot * MEMBER_SIZE)) != 0) {
			rc = log_fail(g->log, rc, "group %s: %s/%s/%s/%s/%s: %s",
			    g->name, g->log->path, GROUPS_DIR, g->name,
			    mq_topic_name(t), GROUP_MEMBERS, rc == EUSERS ?
			    "no free member slot" : strerror(rc));
			goto fail;
		}
	}
	*mp = m;
	return 0;
fail:
	gfiles_close(&m->f);
	if (m->lockfd != -1)
		close(m->lockfd);
	free(m->parts);
	free(m);
	return rc;
}

int
mq_member_join(struct mq_group *g, struct mq_topic *t, int sync,
    struct mq_member **mp)
{
	return member_open(g, t, sync, MEMBER_DEAL, mp);
}

int
mq_member_assign(struct mq_group *g, struct mq_topic *t, int sync,
    struct mq_member **mp)
{
	return member_open(g, t, sync, MEMBER_ASSIGN, mp);
}

/*
 * A sync that failed is not tried again: the kernel may have dropped the
 * commits it could not write and a second fsync succeed without them
 * (see sync_failed() in append.c).
 */
int
mq_member_sync(struct mq_member *m)
{
	if (m->syncerr != 0)
		return log_fail(m->g->log, m->syncerr, "group %s: %s: commit: "
		    "an earlier sync failed: %s", m->g->name,
		    mq_topic_name(m->t), strerror(m->syncerr));
	if (!m->dirty)
		return 0;
	if (fdatasync(m->f.offfd) == -1) {
		m->syncerr = errno;
		return log_fail(m->g->log, errno, "group %s: %s: commit: %s",
		    m->g->name, mq_topic_name(m->t), strerror(errno));
	}
	m->dirty = 0;
	return 0;
}

int
member_close(struct mq_member *m)
{
	/* Closing drops the slot's and the partitions' locks. */
	gfiles_close(&m->f);
	close(m->lockfd);
	free(m->parts);
	free(m);
	return 0;
}

int
mq_member_leave(struct mq_member *m)
{
	int rc = 0;

	if (m == NULL)
		return 0;
	if (m->sync != MQ_SYNC_NONE)
		rc = mq_member_sync(m);
	member_close(m);
	return rc;
}

static int
member_fail(struct mq_member *m, int rc)
{
	return log_fail(m->g->log, rc, "group %s: %s/%s/%s/%s/%s: %s",
	    m->g->name, m->g->log->path, GROUPS_DIR, m->g->name,
	    mq_topic_name(m->t), GROUP_MEMBERS, strerror(rc));
}

static int
commit_fail(struct mq_member *m, int part, const char *what, int rc)
{
	if (rc == MQ_ECORRUPT)
		return commit_damaged(m->g, mq_topic_name(m->t), part);
	return log_fail(m->g->log, rc, "group %s: %s-%d: %s: %s", m->g->name,
	    mq_topic_name(m->t), part, what, strerror(rc));
}

int
mq_member_assignment(struct mq_member *m, unsigned char *want)
{
	struct stat st;
	off_t k, nslots;
	uint32_t h;
	int n = 0, rank = 0, held, p;

	if (m->self.slot < 0) {
		memset(want, 0, (size_t)m->nparts);
		return 0;
	}
	if (fstat(m->f.memfd, &st) == -1)
		return member_fail(m, errno);
	nslots = (st.st_size + MEMBER_SIZE - 1) / MEMBER_SIZE;
	if (nslots > MEMBERS_MAX)
		nslots = MEMBERS_MAX;
	if (nslots <= m->self.slot)
		nslots = m->self.slot + 1;
	for (k = 0; k < nslots; k++) {
		if (k == m->self.slot) {
			rank = n++;
			continue;
		}
		/* Our own locks never conflict with us: ask about others. */
		if ((held = range_probe(m->f.memfd, k * MEMBER_SIZE,
		    MEMBER_SIZE)) < 0)
			return member_fail(m, -held);
		n += held > 0;
	}
	h = mq_murmur2(mq_topic_name(m->t), strlen(mq_topic_name(m->t))) &
	    0x7fffffff;
	for (p = 0; p < m->nparts; p++)
		want[p] = ((uint32_t)p + h) % (uint32_t)n == (uint32_t)rank;
	return 0;
}

int
mq_member_acquire(struct mq_member *m, int part, int64_t *committed)
{
	struct mq_commit c;
	int rc;

	if (part < 0 || part >= m->nparts)
		return MQ_EBADPART;
	if (m->parts[part].held) {
		if ((rc = commit_read(m->f.offfd, part, &c)) != 0)
			return commit_fail(m, part, "read", rc);
		*committed = c.offset;
		return 0;
	}
	rc = range_trylock(m->f.offfd, F_WRLCK, (off_t)part * COMMIT_PAIR,
	    COMMIT_PAIR);
	if (rc == EAGAIN)
		return MQ_ELOCKED;
	if (rc != 0)
		return commit_fail(m, part, "lock", rc);
	if ((rc = commit_read(m->f.offfd, part, &c)) != 0)
		rc = commit_fail(m, part, "read", rc);
	if (rc != 0) {
		range_unlock(m->f.offfd, (off_t)part * COMMIT_PAIR,
		    COMMIT_PAIR);
		return rc;
	}
	m->parts[part].held = 1;
	m->parts[part].seq = c.seq;
	*committed = c.offset;
	return 0;
}

int
mq_member_commit(struct mq_member *m, int part, int64_t offset,
    int64_t *moved)
{
	struct mq_commit c;
	int rc;

	*moved = -1;
	if (part < 0 || part >= m->nparts || !m->parts[part].held ||
	    offset < 0)
		return EINVAL;
	/* After a failed sync nothing more is written: it stays failed. */
	if (m->syncerr != 0)
		return mq_member_sync(m);
	if ((rc = commit_read(m->f.offfd, part, &c)) != 0)
		return commit_fail(m, part, "read", rc);
	if (c.seq != m->parts[part].seq) {
		/* mq-offsets --reset --force wrote here: follow it. */
		m->parts[part].seq = c.seq;
		*moved = c.offset;
		return 0;
	}
	if (c.offset == offset && c.member == m->self.id)
		return 0;
	c.seq++;
	c.offset = offset;
	c.timestamp = mq_now_ms();
	c.member = m->self.id;
	if ((rc = commit_write(m->f.offfd, part, &c)) != 0)
		return commit_fail(m, part, "commit", rc);
	m->parts[part].seq = c.seq;
	m->dirty = 1;
	if (m->sync == MQ_SYNC_ALWAYS)
		return mq_member_sync(m);
	return 0;
}

int
mq_member_release(struct mq_member *m, int part)
{
	int rc = 0;

	if (part < 0 || part >= m->nparts || !m->parts[part].held)
		return 0;
	if (m->sync != MQ_SYNC_NONE)
		rc = mq_member_sync(m);
	m->parts[part].held = 0;
	range_unlock(m->f.offfd, (off_t)part * COMMIT_PAIR, COMMIT_PAIR);
	return rc;
}

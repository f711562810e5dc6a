/* SPDX-License-Identifier: MIT */
/*
 * group.c - consumer groups on disk: the group directories, the commit
 * and member slot formats, and what tools do to a group (read commits,
 * list members and owners, reset, delete).  Membership itself is
 * member.c.
 *
 * A commit is one 64-byte pwrite into the older of a partition's two
 * slots, CRC-checked, so a write torn by a crash spoils only the slot it
 * was writing and the other still holds the previous commit: a reader
 * sees the old offset or the new one, never garbage, and never needs a
 * lock.  This costs no rename and no directory sync, which is what lets a
 * consumer commit after every output write.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define COMMIT_MAGIC	"MQCO"
#define MEMBER_MAGIC	"MQMB"
#define SLOT_VERSION	1

static int
all_zero(const unsigned char *p, size_t n)
{
	while (n > 0 && *p == 0) {
		p++;
		n--;
	}
	return n == 0;
}

void
commit_encode(unsigned char slot[COMMIT_SIZE], const struct mq_commit *c)
{
	memset(slot, 0, COMMIT_SIZE);
	memcpy(slot, COMMIT_MAGIC, 4);
	slot[4] = SLOT_VERSION;
	put_be64(slot + 8, c->seq);
	put_be64(slot + 16, (uint64_t)c->offset);
	put_be64(slot + 24, (uint64_t)c->timestamp);
	put_be64(slot + 32, c->member);
	put_be32(slot + 60, mq_crc32c(0, slot, 60));
}

/* 1 for a whole commit, 0 for an empty slot, -1 for a damaged one. */
static int
slot_decode(const unsigned char *s, unsigned idx, struct mq_commit *c)
{
	if (all_zero(s, COMMIT_SIZE))
		return 0;
	if (memcmp(s, COMMIT_MAGIC, 4) != 0 || s[4] != SLOT_VERSION ||
	    get_be32(s + 60) != mq_crc32c(0, s, 60))
		return -1;
	c->seq = get_be64(s + 8);
	c->offset = (int64_t)get_be64(s + 16);
	c->timestamp = (int64_t)get_be64(s + 24);
	c->member = get_be64(s + 32);
	/* Commit n always goes to slot n % 2. */
	if (c->seq == 0 || (c->seq & 1) != idx || c->offset < 0)
		return -1;
	return 1;
}

int
commit_decode(const unsigned char pair[COMMIT_PAIR], struct mq_commit *c)
{
	struct mq_commit s[2];
	int r0, r1;

	r0 = slot_decode(pair, 0, &s[0]);
	r1 = slot_decode(pair + COMMIT_SIZE, 1, &s[1]);
	if (r0 == 1 && (r1 != 1 || s[0].seq > s[1].seq))
		*c = s[0];
	else if (r1 == 1)
		*c = s[1];
	else if (r0 == -1 && r1 == -1)
		return MQ_ECORRUPT;
	else {
		/* Empty, or a first commit torn by a crash: nothing yet. */
		memset(c, 0, sizeof(*c));
		c->offset = -1;
	}
	return 0;
}

int
commit_read(int offfd, int part, struct mq_commit *c)
{
	unsigned char pair[COMMIT_PAIR];
	ssize_t n;

	do
		n = pread(offfd, pair, sizeof(pair), (off_t)part * COMMIT_PAIR);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return errno;
	/* Past the end of the file: never committed. */
	memset(pair + n, 0, sizeof(pair) - (size_t)n);
	return commit_decode(pair, c);
}

int
commit_write(int offfd, int part, const struct mq_commit *c)
{
	unsigned char slot[COMMIT_SIZE];

	commit_encode(slot, c);
	return pwrite_all(offfd, slot, sizeof(slot), (off_t)part *
	    COMMIT_PAIR + (off_t)(c->seq & 1) * COMMIT_SIZE);
}

void
member_encode(unsigned char *p, const struct mq_member_info *m)
{
	memset(p, 0, MEMBER_SIZE);
	memcpy(p, MEMBER_MAGIC, 4);
	p[4] = SLOT_VERSION;
	put_be64(p + 8, m->id);
	put_be32(p + 16, (uint32_t)m->pid);
	put_be64(p + 24, (uint64_t)m->since);
	memcpy(p + 32, m->host, strnlen(m->host, sizeof(m->host) - 1));
	put_be32(p + 124, mq_crc32c(0, p, 124));
}

/* 0, or -1 for a slot that does not hold a whole member record. */
int
member_decode(const unsigned char *p, struct mq_member_info *m)
{
	if (memcmp(p, MEMBER_MAGIC, 4) != 0 || p[4] != SLOT_VERSION ||
	    get_be32(p + 124) != mq_crc32c(0, p, 124))
		return -1;
	m->id = get_be64(p + 8);
	m->pid = (pid_t)get_be32(p + 16);
	m->since = (int64_t)get_be64(p + 24);
	memcpy(m->host, p + 32, sizeof(m->host));
	m->host[sizeof(m->host) - 1] = '\0';
	return 0;
}

int
member_live(int memfd, int slot, uint64_t id)
{
	unsigned char rec[MEMBER_SIZE];
	struct mq_member_info m;
	ssize_t n;
	int held;

	if ((held = range_probe(memfd, (off_t)slot * MEMBER_SIZE,
	    MEMBER_SIZE)) <= 0)
		return held;
	do
		n = pread(memfd, rec, sizeof(rec), (off_t)slot * MEMBER_SIZE);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -errno;
	/* A slot taken anew holds another id, or none yet. */
	return n == sizeof(rec) && member_decode(rec, &m) == 0 && m.id == id;
}

/* ------------------------------------------------------------------ */

/*
 * Makes directory name in dirfd unless it exists, and syncs dirfd so the
 * name outlives a power loss with the commits under it.  Returns 0 or
 * errno: a commit must not be reported durable in a directory whose
 * creation failed to reach the disk.  An existing one is synced too: its
 * maker may have died, or failed, before its sync.
 */
static int
make_dir(int dirfd, const char *name)
{
	if (mkdirat(dirfd, name, 0777) == -1 && errno != EEXIST)
		return errno;
	return fsync_dir(dirfd);
}

static int
groups_dir(struct mq_log *l, int create)
{
	int fd, rc;

	if (create && (rc = make_dir(l->dirfd, GROUPS_DIR)) != 0)
		return -rc;
	fd = openat(l->dirfd, GROUPS_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	return fd == -1 ? -errno : fd;
}

/* Opens groups/NAME into g->fd. */
static int
group_dir(struct mq_group *g, int create)
{
	struct mq_log *l = g->log;
	int gfd, fd, rc;

	if ((gfd = groups_dir(l, create)) < 0) {
		rc = -gfd;
		if (rc == ENOENT)
			return log_fail(l, MQ_ENOGROUP, "group %s: %s",
			    g->name, mq_strerror(MQ_ENOGROUP));
		return log_fail(l, rc, "%s/%s: %s", l->path, GROUPS_DIR,
		    strerror(rc));
	}
	if (create && (rc = make_dir(gfd, g->name)) != 0) {
		close(gfd);
		return log_fail(l, rc, "%s/%s/%s: %s", l->path, GROUPS_DIR,
		    g->name, strerror(rc));
	}
	fd = openat(gfd, g->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	rc = errno;
	close(gfd);
	if (fd == -1 && rc == ENOENT)
		return log_fail(l, MQ_ENOGROUP, "group %s: %s", g->name,
		    mq_strerror(MQ_ENOGROUP));
	if (fd == -1)
		return log_fail(l, rc, "%s/%s/%s: %s", l->path, GROUPS_DIR,
		    g->name, strerror(rc));
	if (g->fd != -1)
		close(g->fd);
	g->fd = fd;
	return 0;
}

int
mq_group_open(struct mq_log *l, const char *name, int flags,
    struct mq_group **gp)
{
	struct mq_group *g;
	char q[64];
	int rc;

	*gp = NULL;
	if (mq_name_check(name) != 0)
		return log_fail(l, MQ_EBADGROUP, "group '%s': %s",
		    mq_quote(q, sizeof(q), name, strlen(name)),
		    mq_strerror(MQ_EBADGROUP));
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return ENOMEM;
	g->log = l;
	g->fd = g->lockfd = -1;
	snprintf(g->name, sizeof(g->name), "%s", name);
	if ((rc = group_dir(g, flags & MQ_GROUP_CREATE)) != 0) {
		free(g);
		return rc;
	}
	*gp = g;
	return 0;
}

void
mq_group_close(struct mq_group *g)
{
	if (g == NULL)
		return;
	mq_group_unlock(g);
	if (g->fd != -1)
		close(g->fd);
	free(g);
}

const char *
mq_group_name(const struct mq_group *g)
{
	return g->name;
}

/* Read-write if we may, else read-only (someone else's group). */
static int
open_state(int dirfd, const char *name, int create)
{
	int flags = O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0);
	int fd = openat(dirfd, name, O_RDWR | flags, 0666);

	if (fd == -1 && !create && (errno == EACCES || errno == EROFS))
		fd = openat(dirfd, name, O_RDONLY | flags);
	return fd;
}

int
mq_group_list(struct mq_log *l, char ***names, size_t *n)
{
	int fd, rc;

	if ((fd = groups_dir(l, 0)) < 0) {
		*names = NULL;
		*n = 0;
		if (fd == -ENOENT)
			return 0;
		return log_fail(l, -fd, "%s/%s: %s", l->path, GROUPS_DIR,
		    strerror(-fd));
	}
	if ((rc = dir_names(fd, names, n)) != 0)
		return log_fail(l, rc, "%s/%s: %s", l->path, GROUPS_DIR,
		    strerror(rc));
	return 0;
}

int
mq_group_topics(struct mq_group *g, char ***names, size_t *n)
{
	int fd = openat(g->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1) {
		*names = NULL;
		*n = 0;
		rc = errno;
	} else
		rc = dir_names(fd, names, n);
	if (rc != 0)
		return log_fail(g->log, rc, "group %s: %s/%s/%s: %s", g->name,
		    g->log->path, GROUPS_DIR, g->name, strerror(rc));
	return 0;
}

int
group_lockfile(struct mq_group *g)
{
	int fd = open_state(g->fd, GROUP_LOCK, 1);

	return fd == -1 ? -errno : fd;
}

int
group_linked(struct mq_group *g, int fd, const char *rel)
{
	struct stat a, b;
	char path[3 * (MQ_TOPIC_MAX + 1) + 16];

	snprintf(path, sizeof(path), "%s/%s/%s", GROUPS_DIR, g->name, rel);
	return fstat(fd, &a) == 0 &&
	    fstatat(g->log->dirfd, path, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
mq_group_lock(struct mq_group *g)
{
	struct mq_log *l = g->log;
	int fd, rc, held;

	if (g->lockfd != -1)
		return 0;
	if ((fd = group_lockfile(g)) < 0)
		return log_fail(l, -fd, "group %s: %s/%s/%s/%s: %s", g->name,
		    l->path, GROUPS_DIR, g->name, GROUP_LOCK, strerror(-fd));
	if ((rc = range_trylock(fd, F_WRLCK, 0, 0)) == EAGAIN) {
		held = range_probe(fd, 0, 0);
		close(fd);
		/* Members read-lock it; another tool write-locks it. */
		rc = held == 2 ? MQ_ELOCKED : MQ_EACTIVE;
		return log_fail(l, rc, "group %s: %s", g->name,
		    rc == MQ_ELOCKED ? "another tool is changing the group" :
		    mq_strerror(rc));
	}
	/* A delete may have renamed it away between the open and the lock. */
	if (rc == 0 && !group_linked(g, fd, GROUP_LOCK))
		rc = ENOENT;
	if (rc != 0) {
		close(fd);
		if (rc == ENOENT)
			return log_fail(l, MQ_ENOGROUP, "group %s: %s",
			    g->name, mq_strerror(MQ_ENOGROUP));
		return log_fail(l, rc, "group %s: %s/%s/%s/%s: lock: %s",
		    g->name, l->path, GROUPS_DIR, g->name, GROUP_LOCK,
		    strerror(rc));
	}
	g->lockfd = fd;
	return 0;
}

void
mq_group_unlock(struct mq_group *g)
{
	if (g->lockfd != -1)
		close(g->lockfd);
	g->lockfd = -1;
}

int
commit_damaged(struct mq_group *g, const char *topic, int part)
{
	return log_fail(g->log, MQ_ECORRUPT, "group %s: %s/%s/%s/%s/%s: "
	    "partition %d: both commit slots damaged", g->name, g->log->path,
	    GROUPS_DIR, g->name, topic, GROUP_OFFSETS, part);
}

void
gfiles_close(struct gfiles *f)
{
	if (f->offfd != -1)
		close(f->offfd);
	if (f->memfd != -1)
		close(f->memfd);
	if (f->shfd != -1)
		close(f->shfd);
	if (f->dirfd != -1)
		close(f->dirfd);
	f->dirfd = f->offfd = f->memfd = f->shfd = -1;
}

int
gfiles_open(struct mq_group *g, const char *topic, int create,
    struct gfiles *f)
{
	struct mq_log *l = g->log;
	int rc;

	f->dirfd = f->offfd = f->memfd = f->shfd = -1;
	if (mq_name_check(topic) != 0)
		return log_fail(l, MQ_EBADNAME, "%s: %s", topic,
		    mq_strerror(MQ_EBADNAME));
	if (create && (rc = make_dir(g->fd, topic)) != 0) {
		errno = rc;
		goto fail;
	}
	f->dirfd = openat(g->fd, topic, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (f->dirfd == -1) {
		if (errno == ENOENT && !create)
			return 0;
		goto fail;
	}
	if ((f->offfd = open_state(f->dirfd, GROUP_OFFSETS, 0)) == -1 &&
	    errno != ENOENT)
		goto fail;
	if ((f->shfd = open_state(f->dirfd, GROUP_SHARE, 0)) == -1 &&
	    errno != ENOENT)
		goto fail;
	if ((create == GF_CLASSIC && f->shfd != -1) ||
	    (create == GF_SHARE && f->offfd != -1)) {
		gfiles_close(f);
		return log_fail(l, MQ_EGROUPTYPE, "group %s: topic %s: %s",
		    g->name, topic, create == GF_CLASSIC ? "is a share group "
		    "(mq-consume --queue)" : "not a share group: it has "
		    "committed offsets");
	}
	if (create == GF_CLASSIC && f->offfd == -1 &&
	    (f->offfd = open_state(f->dirfd, GROUP_OFFSETS, 1)) == -1)
		goto fail;
	if (create == GF_SHARE && f->shfd == -1 &&
	    (f->shfd = open_state(f->dirfd, GROUP_SHARE, 1)) == -1)
		goto fail;
	if ((f->memfd = open_state(f->dirfd, GROUP_MEMBERS, create != 0)) ==
	    -1 && (create || errno != ENOENT))
		goto fail;
	/* New files must outlive a power loss along with their commits. */
	if (create && fsync_dir(f->dirfd) != 0)
		goto fail;
	return 0;
fail:
	rc = errno;
	gfiles_close(f);
	return log_fail(l, rc, "group %s: %s/%s/%s/%s: %s", g->name, l->path,
	    GROUPS_DIR, g->name, topic, strerror(rc));
}

int
mq_group_committed(struct mq_group *g, const char *topic, int part,
    struct mq_commit *c)
{
	struct gfiles f;
	int rc;

	memset(c, 0, sizeof(*c));
	c->offset = -1;
	if ((rc = gfiles_open(g, topic, 0, &f)) != 0 || f.offfd == -1)
		return rc;
	rc = commit_read(f.offfd, part, c);
	gfiles_close(&f);
	if (rc == MQ_ECORRUPT)
		return commit_damaged(g, topic, part);
	if (rc != 0)
		return log_fail(g->log, rc, "group %s: %s: %s", g->name, topic,
		    strerror(rc));
	return 0;
}

/* Live members in f.memfd; slot records not yet whole get slot only. */
static int
members_read(int memfd, struct mq_member_info **mp, size_t *np)
{
	unsigned char rec[MEMBER_SIZE];
	struct mq_member_info *m = NULL, *nm;
	struct stat st;
	size_t n = 0;
	off_t k, nslots;
	ssize_t got;
	int held;

	*mp = NULL;
	*np = 0;
	if (fstat(memfd, &st) == -1)
		return errno;
	nslots = (st.st_size + MEMBER_SIZE - 1) / MEMBER_SIZE;
	if (nslots > MEMBERS_MAX)
		nslots = MEMBERS_MAX;
	for (k = 0; k < nslots; k++) {
		if ((held = range_probe(memfd, k * MEMBER_SIZE,
		    MEMBER_SIZE)) < 0) {
			free(m);
			return -held;
		}
		if (!held)
			continue;
		if ((nm = realloc(m, (n + 1) * sizeof(*m))) == NULL) {
			free(m);
			return ENOMEM;
		}
		m = nm;
		memset(&m[n], 0, sizeof(m[n]));
		got = pread(memfd, rec, sizeof(rec), k * MEMBER_SIZE);
		if (got != (ssize_t)sizeof(rec) || member_decode(rec, &m[n]))
			memset(&m[n], 0, sizeof(m[n]));
		m[n++].slot = (int)k;
	}
	*mp = m;
	*np = n;
	return 0;
}

int
mq_group_members(struct mq_group *g, const char *topic,
    struct mq_member_info **m, size_t *n)
{
	struct gfiles f;
	int rc;

	*m = NULL;
	*n = 0;
	if ((rc = gfiles_open(g, topic, 0, &f)) != 0 || f.memfd == -1)
		return rc;
	rc = members_read(f.memfd, m, n);
	gfiles_close(&f);
	return rc;
}

int
mq_group_owner(struct mq_group *g, const char *topic, int part, int *held,
    struct mq_member_info *m)
{
	struct mq_member_info *v;
	struct mq_commit c;
	struct gfiles f;
	size_t n, i;
	int rc;

	*held = 0;
	memset(m, 0, sizeof(*m));
	m->slot = -1;
	if ((rc = gfiles_open(g, topic, 0, &f)) != 0 || f.offfd == -1)
		return rc;
	rc = range_probe(f.offfd, (off_t)part * COMMIT_PAIR, COMMIT_PAIR);
	if (rc < 0) {
		gfiles_close(&f);
		return -rc;
	}
	*held = rc > 0;
	/* An owner stamps a commit with its id on taking over. */
	if (*held && f.memfd != -1 && commit_read(f.offfd, part, &c) == 0 &&
	    c.member != 0 && members_read(f.memfd, &v, &n) == 0) {
		for (i = 0; i < n; i++)
			if (v[i].id == c.member)
				*m = v[i];
		free(v);
	}
	gfiles_close(&f);
	return 0;
}

int
mq_group_reset(struct mq_group *g, const char *topic,
    const int64_t *offsets, int n, int force)
{
	struct mq_log *l = g->log;
	struct mq_commit c;
	struct gfiles f;
	int rc = 0, p, locked, mine = g->lockfd == -1 && !force;

	if (mine && (rc = mq_group_lock(g)) != 0)
		return rc;
	if ((rc = gfiles_open(g, topic, GF_CLASSIC, &f)) != 0)
		goto out;
	for (p = 0; p < n && rc == 0; p++) {
		if (offsets[p] < 0)
			continue;
		locked = range_trylock(f.offfd, F_WRLCK, (off_t)p *
		    COMMIT_PAIR, COMMIT_PAIR) == 0;
		/* Under the group lock only a forced reset finds an owner. */
		if (!locked && !force) {
			rc = log_fail(l, MQ_EACTIVE, "group %s: %s-%d: %s",
			    g->name, topic, p, mq_strerror(MQ_EACTIVE));
			break;
		}
		/* A reset is also how damaged slots are written anew. */
		if ((rc = commit_read(f.offfd, p, &c)) == MQ_ECORRUPT) {
			memset(&c, 0, sizeof(c));
			rc = 0;
		}
		c.offset = offsets[p];
		c.timestamp = mq_now_ms();
		c.member = 0;
		if (rc == 0 && locked) {
			c.seq++;
			rc = commit_write(f.offfd, p, &c);
		} else if (rc == 0) {
			/*
			 * The owner may be writing its next commits meanwhile:
			 * both slots get numbers far past any it could reach,
			 * so whichever slot it overwrites, the other holds the
			 * reset, and the owner sees the number jump.
			 */
			c.seq += (uint64_t)1 << 32;
			if ((rc = commit_write(f.offfd, p, &c)) == 0) {
				c.seq++;
				rc = commit_write(f.offfd, p, &c);
			}
		}
		if (locked)
			range_unlock(f.offfd, (off_t)p * COMMIT_PAIR,
			    COMMIT_PAIR);
		if (rc != 0)
			rc = log_fail(l, rc, "group %s: %s-%d: %s", g->name,
			    topic, p, mq_strerror(rc));
	}
	if (rc == 0 && fdatasync(f.offfd) == -1)
		rc = log_fail(l, errno, "group %s: %s/%s/%s/%s/%s: sync: %s",
		    g->name, l->path, GROUPS_DIR, g->name, topic,
		    GROUP_OFFSETS, strerror(errno));
	gfiles_close(&f);
out:
	if (mine)
		mq_group_unlock(g);
	return rc;
}

int
mq_group_delete(struct mq_log *l, const char *name, int force)
{
	struct mq_group *g;
	char tmp[32];
	uint32_t rnd;
	int rc, gfd;

	if ((rc = mq_group_open(l, name, 0, &g)) != 0)
		return rc;
	/* Held until the group is gone: no member can join meanwhile. */
	if (!force && (rc = mq_group_lock(g)) != 0)
		goto out;
	if ((gfd = groups_dir(l, 0)) < 0) {
		rc = log_fail(l, -gfd, "%s/%s: %s", l->path, GROUPS_DIR,
		    strerror(-gfd));
		goto out;
	}
	for (;;) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)getpid() ^ (uint32_t)mq_now_ms();
		snprintf(tmp, sizeof(tmp), "+del.%08" PRIx32, rnd);
		if (renameat2(gfd, name, gfd, tmp, RENAME_NOREPLACE) == 0)
			break;
		/* No RENAME_NOREPLACE here: the name is random anyway. */
		if (errno == EINVAL && renameat(gfd, name, gfd, tmp) == 0)
			break;
		if (errno != EEXIST) {
			rc = log_fail(l, errno, "group %s: %s", name,
			    strerror(errno));
			break;
		}
	}
	if (rc == 0) {
		fsync_dir(gfd);
		sweep_deleted(gfd);
	}
	close(gfd);
out:
	mq_group_close(g);
	return rc;
}

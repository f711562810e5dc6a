/* SPDX-License-Identifier: MIT */
/*
 * topic.c - the log directory and its topics.
 *
 * Layout: DIR/topics/NAME/topic.yaml and DIR/topics/NAME/NAME-P/ per
 * partition, the partition directories named as Kafka names them.  A topic
 * is built whole under a temporary name that no topic can have (it starts
 * with '+') and renamed into place, so readers and writers see it all or
 * not at all.  Every path is opened relative to a directory descriptor
 * with O_NOFOLLOW, and names are checked, never cleaned up: a name that is
 * not a legal topic name never becomes a path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define TOPICS_DIR	"topics"
#define TOPIC_CONF	"topic.yaml"
#define CONF_MAX	(1 << 20)

int
mq_name_check(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (i >= MQ_TOPIC_MAX || !((c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return MQ_EBADNAME;
	}
	if (i == 0 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return MQ_EBADNAME;
	return 0;
}

int
mq_dir_resolve(const char *dir, char *buf, size_t size)
{
	const char *env;
	int n;

	if (dir != NULL)
		n = snprintf(buf, size, "%s", dir);
	else if ((env = getenv("MQ_DIR")) != NULL && *env != '\0')
		n = snprintf(buf, size, "%s", env);
	else if ((env = getenv("XDG_DATA_HOME")) != NULL && *env == '/')
		n = snprintf(buf, size, "%s/mq", env);
	else if ((env = getenv("HOME")) != NULL && *env != '\0')
		n = snprintf(buf, size, "%s/.local/share/mq", env);
	else
		return ENOENT;
	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

static int
bad_name(struct mq_log *l, const char *name)
{
	char q[64];

	return log_fail(l, MQ_EBADNAME, "'%s': %s", mq_quote(q, sizeof(q),
	    name, strlen(name)), mq_strerror(MQ_EBADNAME));
}

/* mkdir -p, for the log directory only. */
static int
mkdir_p(const char *path)
{
	char tmp[PATH_MAX], *p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return ENAMETOOLONG;
	for (p = tmp + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(tmp, 0777) == -1 && errno != EEXIST)
			return errno;
		if ((*p = c) == '\0')
			return 0;
	}
}

int
mq_log_open(struct mq_log **lp, const char *dir, int flags)
{
	struct mq_log *l;
	int rc;

	*lp = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return ENOMEM;
	l->dirfd = l->topicsfd = -1;
	if (snprintf(l->path, sizeof(l->path), "%s", dir) >=
	    (int)sizeof(l->path)) {
		free(l);
		return ENAMETOOLONG;
	}
	*lp = l;
	if ((flags & MQ_LOG_CREATE) && (rc = mkdir_p(dir)) != 0)
		return log_fail(l, rc, "%s: %s", dir, strerror(rc));
	l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd == -1) {
		rc = errno;
		if (rc == ENOENT || rc == ENOTDIR)
			return log_fail(l, MQ_ENOLOGDIR, "%s: %s", dir,
			    rc == ENOENT ? "no such log directory" :
			    "not a directory");
		return log_fail(l, rc, "%s: %s", dir, strerror(rc));
	}
	if ((flags & MQ_LOG_CREATE) && mkdirat(l->dirfd, TOPICS_DIR, 0777) ==
	    -1 && errno != EEXIST) {
		rc = errno;
		return log_fail(l, rc, "%s/%s: %s", dir, TOPICS_DIR,
		    strerror(rc));
	}
	l->topicsfd = openat(l->dirfd, TOPICS_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (l->topicsfd == -1 && errno != ENOENT) {
		rc = errno;
		return log_fail(l, rc, "%s/%s: %s", dir, TOPICS_DIR,
		    strerror(rc));
	}
	return 0;
}

void
mq_log_close(struct mq_log *l)
{
	if (l == NULL)
		return;
	if (l->topicsfd != -1)
		close(l->topicsfd);
	if (l->dirfd != -1)
		close(l->dirfd);
	free(l);
}

const char *
mq_log_path(const struct mq_log *l)
{
	return l->path;
}

void
sweep_deleted(int dirfd)
{
	struct dirent *d;
	DIR *dir;

	if ((dir = dir_stream(dirfd)) == NULL)
		return;
	while ((d = readdir(dir)) != NULL)
		if (strncmp(d->d_name, "+del.", 5) == 0)
			rmtree_at(dirfd, d->d_name);
	closedir(dir);
}

int
rmtree_at(int dirfd, const char *name)
{
	struct dirent *d;
	DIR *dir;
	int fd, rc = 0, e;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 && errno != ENOENT && errno != ENOTDIR)
		rc = errno;
	if (fd != -1 && (dir = fdopendir(fd)) != NULL) {
		while ((d = readdir(dir)) != NULL) {
			if (strcmp(d->d_name, ".") == 0 ||
			    strcmp(d->d_name, "..") == 0)
				continue;
			if (d->d_type == DT_DIR)
				e = rmtree_at(fd, d->d_name);
			else
				e = unlinkat(fd, d->d_name, 0) == -1 &&
				    errno != ENOENT ? errno : 0;
			if (rc == 0)
				rc = e;
		}
		closedir(dir);
	} else if (fd != -1) {
		rc = errno;
		close(fd);
	}
	if (unlinkat(dirfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT &&
	    rc == 0)
		rc = errno;
	return rc;
}

/* One partition directory with an empty first segment and its state. */
static int
make_partition(int topicfd, const char *topic, int part)
{
	struct pstate st;
	char name[MQ_TOPIC_MAX + 16];
	int fd, sfd, fds[3], rc, i;

	snprintf(name, sizeof(name), "%s-%d", topic, part);
	if (mkdirat(topicfd, name, 0777) == -1)
		return errno;
	fd = openat(topicfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return errno;
	if ((rc = seg_create(fd, 0, fds)) == 0) {
		for (i = 0; i < 3; i++)
			close(fds[i]);
		pstate_init(&st, 0);
		sfd = openat(fd, STATE_FILE, O_RDWR | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0666);
		if (sfd == -1)
			rc = errno;
		else {
			rc = pstate_write(sfd, &st);
			if (rc == 0 && fsync(sfd) == -1)
				rc = errno;
			close(sfd);
		}
	}
	if (rc == 0)
		rc = fsync_dir(fd);
	close(fd);
	return rc;
}

/*
 * Removes every group's state for topic name: a new topic of that name
 * starts with no commits.  Returns 0 or the first errno: a create must
 * not go on with a commit it could not forget.
 */
static int
forget_groups(struct mq_log *l, const char *name)
{
	char **groups;
	size_t n, i;
	int gfd, fd, rc, e;

	if ((gfd = openat(l->dirfd, GROUPS_DIR, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : errno;
	if ((fd = dup(gfd)) == -1)
		rc = errno;
	else if ((rc = dir_names(fd, &groups, &n)) == 0) {
		for (i = 0; i < n; i++) {
			int g = openat(gfd, groups[i], O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);

			/* A group deleted meanwhile has nothing to forget. */
			if (g == -1) {
				if (errno != ENOENT && rc == 0)
					rc = errno;
				continue;
			}
			if ((e = rmtree_at(g, name)) != 0 && rc == 0)
				rc = e;
			close(g);
		}
		free(groups);
	}
	close(gfd);
	return rc;
}

int
mq_topic_create(struct mq_log *l, const char *name, int partitions,
    const struct mq_config *c)
{
	struct mq_config defaults;
	char tmp[32];
	uint32_t rnd;
	int fd = -1, rc, p;

	if (mq_name_check(name) != 0)
		return bad_name(l, name);
	if (partitions < 1 || partitions > MQ_PARTITIONS_MAX)
		return log_fail(l, MQ_EBADCONF, "%s: partitions must be "
		    "between 1 and %d", name, MQ_PARTITIONS_MAX);
	if (c == NULL) {
		mq_config_init(&defaults);
		c = &defaults;
	}
	if (l->topicsfd == -1)
		return log_fail(l, ENOENT, "%s/%s: %s", l->path, TOPICS_DIR,
		    strerror(ENOENT));
	if (faccessat(l->topicsfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return log_fail(l, MQ_ETOPICEXISTS, "%s: %s", name,
		    mq_strerror(MQ_ETOPICEXISTS));
	for (;;) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)getpid() ^ (uint32_t)mq_now_ms();
		snprintf(tmp, sizeof(tmp), "+new.%08" PRIx32, rnd);
		if (mkdirat(l->topicsfd, tmp, 0777) == 0)
			break;
		if (errno != EEXIST) {
			rc = errno;
			return log_fail(l, rc, "%s/%s: %s", l->path,
			    TOPICS_DIR, strerror(rc));
		}
	}
	fd = openat(l->topicsfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		rc = errno;
		goto fail;
	}
	/*
	 * Held until the rename: mq-check takes a +new.* it can lock for
	 * a create cut short, and one it cannot for a create at work.
	 */
	while (flock(fd, LOCK_EX) == -1 && errno == EINTR)
		;
	{
		int cfd = openat(fd, TOPIC_CONF, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0666);

		if (cfd == -1) {
			rc = errno;
			goto fail;
		}
		rc = mq_config_write(cfd, c, partitions);
		if (rc == 0 && fsync(cfd) == -1)
			rc = errno;
		close(cfd);
		if (rc != 0)
			goto fail;
	}
	for (p = 0; p < partitions; p++)
		if ((rc = make_partition(fd, name, p)) != 0)
			goto fail;
	if ((rc = fsync_dir(fd)) != 0)
		goto fail;
	/*
	 * Commits left by a topic of this name, whose delete a crash cut
	 * short, must not apply to this one.
	 */
	if ((rc = forget_groups(l, name)) != 0)
		goto fail;
	if (renameat2(l->topicsfd, tmp, l->topicsfd, name,
	    RENAME_NOREPLACE) == -1) {
		rc = errno;
		/* Filesystems without RENAME_NOREPLACE: a directory still
		 * cannot replace a topic, which is never empty. */
		if (rc == EINVAL && renameat(l->topicsfd, tmp, l->topicsfd,
		    name) == 0)
			rc = 0;
		else if (rc == EINVAL)
			rc = errno;
		if (rc == EEXIST || rc == ENOTEMPTY) {
			close(fd);
			rmtree_at(l->topicsfd, tmp);
			return log_fail(l, MQ_ETOPICEXISTS, "%s: %s", name,
			    mq_strerror(MQ_ETOPICEXISTS));
		}
		if (rc != 0)
			goto fail;
	}
	close(fd);
	if ((rc = fsync_dir(l->topicsfd)) != 0)
		return log_fail(l, rc, "%s/%s: %s", l->path, TOPICS_DIR,
		    strerror(rc));
	return 0;
fail:
	if (fd != -1)
		close(fd);
	rmtree_at(l->topicsfd, tmp);
	return log_fail(l, rc, "%s: %s", name, strerror(rc));
}

static int
read_conf(struct mq_topic *t)
{
	struct mq_log *l = t->log;
	struct mq_conferr ce = { 0 };
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd, rc;

	fd = openat(t->fd, TOPIC_CONF, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1) {
		rc = errno;
		return log_fail(l, rc, "%s/%s/%s/%s: %s", l->path, TOPICS_DIR,
		    t->name, TOPIC_CONF, strerror(rc));
	}
	if ((buf = malloc(CONF_MAX + 1)) == NULL) {
		close(fd);
		return ENOMEM;
	}
	while (len <= CONF_MAX && (n = read(fd, buf + len,
	    CONF_MAX + 1 - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			rc = errno;
			free(buf);
			close(fd);
			return log_fail(l, rc, "%s/%s/%s/%s: %s", l->path,
			    TOPICS_DIR, t->name, TOPIC_CONF, strerror(rc));
		}
		len += (size_t)n;
	}
	close(fd);
	/* Past CONF_MAX it refuses the whole file, saying so. */
	rc = mq_config_parse(buf, len, &t->config, &t->partitions, &ce);
	free(buf);
	/* An error about the whole file has no place (line 0). */
	if (rc == MQ_EBADCONF && ce.line == 0)
		return log_fail(l, rc, "%s/%s/%s/%s: %s", l->path,
		    TOPICS_DIR, t->name, TOPIC_CONF, ce.msg);
	if (rc == MQ_EBADCONF)
		return log_fail(l, rc, "%s/%s/%s/%s:%zu:%zu: %s", l->path,
		    TOPICS_DIR, t->name, TOPIC_CONF, ce.line, ce.col, ce.msg);
	if (rc != 0)
		return log_fail(l, rc, "%s: %s", t->name, mq_strerror(rc));
	return 0;
}

int
mq_topic_open(struct mq_log *l, const char *name, struct mq_topic **tp)
{
	struct mq_topic *t;
	int rc;

	*tp = NULL;
	if (mq_name_check(name) != 0)
		return bad_name(l, name);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return ENOMEM;
	t->log = l;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->fd = l->topicsfd == -1 ? -1 : openat(l->topicsfd, name,
	    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (t->fd == -1) {
		rc = l->topicsfd == -1 ? ENOENT : errno;
		free(t);
		if (rc == ENOENT)
			return log_fail(l, MQ_ENOTOPIC, "%s: %s", name,
			    mq_strerror(MQ_ENOTOPIC));
		return log_fail(l, rc, "%s: %s", name, strerror(rc));
	}
	mq_config_init(&t->config);
	if ((rc = read_conf(t)) != 0) {
		mq_topic_close(t);
		return rc;
	}
	*tp = t;
	return 0;
}

void
mq_topic_close(struct mq_topic *t)
{
	if (t == NULL)
		return;
	if (t->fd != -1)
		close(t->fd);
	free(t);
}

const char *
mq_topic_name(const struct mq_topic *t)
{
	return t->name;
}

int
mq_topic_partitions(const struct mq_topic *t)
{
	return t->partitions;
}

const struct mq_config *
mq_topic_config(const struct mq_topic *t)
{
	return &t->config;
}

int
mq_topic_list(struct mq_log *l, char ***names, size_t *n)
{
	int fd, rc;

	*names = NULL;
	*n = 0;
	if (l->topicsfd == -1)
		return 0;
	if ((fd = openat(l->topicsfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		rc = errno;
	else
		rc = dir_names(fd, names, n);
	if (rc != 0)
		return log_fail(l, rc, "%s/%s: %s", l->path, TOPICS_DIR,
		    strerror(rc));
	return 0;
}

int
mq_topic_delete(struct mq_log *l, const char *name)
{
	char tmp[32];
	uint32_t rnd;
	int rc;

	if (mq_name_check(name) != 0)
		return bad_name(l, name);
	if (l->topicsfd == -1)
		return log_fail(l, MQ_ENOTOPIC, "%s: %s", name,
		    mq_strerror(MQ_ENOTOPIC));
	/* The rename is the delete: new opens fail from here on. */
	for (;;) {
		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)getpid() ^ (uint32_t)mq_now_ms();
		snprintf(tmp, sizeof(tmp), "+del.%08" PRIx32, rnd);
		if (renameat2(l->topicsfd, name, l->topicsfd, tmp,
		    RENAME_NOREPLACE) == 0)
			break;
		rc = errno;
		/* No RENAME_NOREPLACE here: the name is random anyway. */
		if (rc == EINVAL && renameat(l->topicsfd, name, l->topicsfd,
		    tmp) == 0)
			break;
		if (rc == EINVAL)
			rc = errno;
		if (rc == ENOENT)
			return log_fail(l, MQ_ENOTOPIC, "%s: %s", name,
			    mq_strerror(MQ_ENOTOPIC));
		if (rc != EEXIST)
			return log_fail(l, rc, "%s: %s", name, strerror(rc));
	}
	if ((rc = fsync_dir(l->topicsfd)) != 0)
		return log_fail(l, rc, "%s/%s: %s", l->path, TOPICS_DIR,
		    strerror(rc));
	/* Best effort: what it leaves, the next create of name forgets. */
	(void)forget_groups(l, name);
	/* This delete's directory, and any a crash left before. */
	sweep_deleted(l->topicsfd);
	return 0;
}

/* Under the alter lock: new partitions, then the new topic.yaml. */
static int
alter(struct mq_topic *t, int partitions,
    const struct mq_config_change *v, size_t nv)
{
	struct mq_log *l = t->log;
	struct mq_config conf;
	const struct mq_config_change *c = v;
	char name[MQ_TOPIC_MAX + 16];
	const char *why = NULL;
	int fd, rc, p;

	/* The changes go on the file as it is now, not as the caller read
	 * it, so that two alters at once both land. */
	if ((rc = read_conf(t)) != 0)
		return rc;
	conf = t->config;
	for (c = v; c < v + nv; c++)
		if ((c->value != NULL ? mq_config_set(&conf, c->key, c->value,
		    &why) : mq_config_unset(&conf, c->key, &why)) != 0)
			return log_fail(l, MQ_EBADCONF, "%s: %s: %s", t->name,
			    c->key, why);
	if (partitions == 0)
		partitions = t->partitions;
	if (partitions < t->partitions || partitions > MQ_PARTITIONS_MAX)
		return log_fail(l, MQ_EBADPART, "%s: has %d partitions: %s",
		    t->name, t->partitions, partitions < t->partitions ?
		    "partitions can only be added" : "too many partitions");
	/*
	 * New partitions first, then the file that makes them part of the
	 * topic.  A crash between leaves directories no one reads, and the
	 * next alter makes them anew.
	 */
	for (p = t->partitions; p < partitions; p++) {
		snprintf(name, sizeof(name), "%s-%d", t->name, p);
		rmtree_at(t->fd, name);
		if ((rc = make_partition(t->fd, t->name, p)) != 0)
			return log_fail(l, rc, "%s: %s", name, strerror(rc));
	}
	if ((rc = fsync_dir(t->fd)) != 0)
		return log_fail(l, rc, "%s: %s", t->name, strerror(rc));
	/* The whole new file under a name no partition has, then renamed. */
	fd = openat(t->fd, TOPIC_CONF ".new", O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0666);
	if (fd == -1)
		return log_fail(l, errno, "%s/%s/%s/%s.new: %s", l->path,
		    TOPICS_DIR, t->name, TOPIC_CONF, strerror(errno));
	rc = mq_config_write(fd, &conf, partitions);
	if (rc == 0 && fsync(fd) == -1)
		rc = errno;
	close(fd);
	if (rc == 0 && renameat(t->fd, TOPIC_CONF ".new", t->fd,
	    TOPIC_CONF) == -1)
		rc = errno;
	if (rc == 0)
		rc = fsync_dir(t->fd);
	if (rc != 0) {
		unlinkat(t->fd, TOPIC_CONF ".new", 0);
		return log_fail(l, rc, "%s/%s/%s/%s: %s", l->path, TOPICS_DIR,
		    t->name, TOPIC_CONF, strerror(rc));
	}
	t->partitions = partitions;
	t->config = conf;
	return 0;
}

int
mq_topic_alter(struct mq_topic *t, int partitions,
    const struct mq_config_change *v, size_t n)
{
	int rc;

	/*
	 * One alter at a time: another one's new partition must never be
	 * taken for a crashed alter's leftover.  flock(2), because an OFD
	 * write lock needs a descriptor open for writing, and a directory
	 * cannot be; like those, it dies with its holder.
	 */
	while (flock(t->fd, LOCK_EX) == -1)
		if (errno != EINTR)
			return log_fail(t->log, errno, "%s: lock: %s", t->name,
			    strerror(errno));
	rc = alter(t, partitions, v, n);
	flock(t->fd, LOCK_UN);
	return rc;
}

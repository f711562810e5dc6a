/* SPDX-License-Identifier: MIT */
/*
 * util.c - small system helpers: whole writes, directory fsync, OFD locks,
 * listing names in a directory, and the clock.
 *
 * Locks are open file description locks: the kernel drops them when the
 * holder dies, so a crashed writer never leaves a stale lock behind, and
 * unlike classic POSIX locks they are not lost when some other descriptor
 * for the same file is closed in the same process.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

int
pwrite_all(int fd, const void *buf, size_t len, off_t pos)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, pos)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
		pos += n;
	}
	return 0;
}

DIR *
dir_stream(int dirfd)
{
	DIR *dir;
	int fd, err;

	if ((fd = dup(dirfd)) == -1)
		return NULL;
	if ((dir = fdopendir(fd)) == NULL) {
		err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	/* A dup shares the offset: start from the top however it was
	 * read before. */
	rewinddir(dir);
	return dir;
}

int
fsync_dir(int dirfd)
{
	return fsync(dirfd) == -1 ? errno : 0;
}

/*
 * The append lock is a write lock on byte 0 of partition.state, not on
 * the whole file: byte 1 holds the read locks of appenders whose batches
 * wait for a sync outside the append lock (lock_syncing), and byte 2 the
 * lock of the one that syncs for them all (lock_leader).
 */
static int
ofd_lock(int fd, short type, off_t start)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
	    .l_start = start, .l_len = 1 };

	while (fcntl(fd, F_OFD_SETLKW, &fl) == -1) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

int
lock_exclusive(int fd)
{
	return ofd_lock(fd, F_WRLCK, 0);
}

int
lock_release(int fd)
{
	return ofd_lock(fd, F_UNLCK, 0);
}

int
lock_syncing(int fd, int on)
{
	return ofd_lock(fd, on ? F_RDLCK : F_UNLCK, 1);
}

int
lock_leader(int fd, int on)
{
	return ofd_lock(fd, on ? F_WRLCK : F_UNLCK, 2);
}

int
lock_busy(int fd)
{
	return range_probe(fd, 0, 2) != 0;
}

int
range_probe(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_start = start, .l_len = len };

	if (fcntl(fd, F_OFD_GETLK, &fl) == -1)
		return -errno;
	return fl.l_type == F_UNLCK ? 0 : fl.l_type == F_RDLCK ? 1 : 2;
}

int
range_trylock(int fd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
	    .l_start = start, .l_len = len };

	if (fcntl(fd, F_OFD_SETLK, &fl) == -1)
		return errno == EACCES ? EAGAIN : errno;
	return 0;
}

int
range_lock(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET,
	    .l_start = start, .l_len = len };

	return fcntl(fd, F_OFD_SETLKW, &fl) == -1 ? errno : 0;
}

int
range_unlock(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
	    .l_start = start, .l_len = len };

	return fcntl(fd, F_OFD_SETLK, &fl) == -1 ? errno : 0;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Is entry d of directory fd a directory, not a symlink to one? */
static int
is_dir(int fd, const struct dirent *d)
{
	struct stat st;

	if (d->d_type != DT_UNKNOWN)
		return d->d_type == DT_DIR;
	return fstatat(fd, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode);
}

/* readdir(3), telling an error from the end: 1, 0 at the end, or -errno. */
static int
next_entry(DIR *dir, struct dirent **d)
{
	errno = 0;
	if ((*d = readdir(dir)) != NULL)
		return 1;
	return errno == 0 ? 0 : -errno;
}

int
dir_names(int fd, char ***names, size_t *np)
{
	struct dirent *d;
	DIR *dir;
	char **v, *p;
	size_t n = 0, bytes = 0, i = 0, len;
	int rc;

	*names = NULL;
	*np = 0;
	if ((dir = fdopendir(fd)) == NULL) {
		rc = errno;
		close(fd);
		return rc;
	}
	/* Two passes over one allocation: count, then copy. */
	while ((rc = next_entry(dir, &d)) == 1) {
		if (mq_name_check(d->d_name) != 0 || !is_dir(fd, d))
			continue;
		n++;
		bytes += strlen(d->d_name) + 1;
	}
	if (rc < 0 || (v = malloc((n + 1) * sizeof(*v) + bytes)) == NULL) {
		closedir(dir);
		return rc < 0 ? -rc : ENOMEM;
	}
	p = (char *)(v + n + 1);
	rewinddir(dir);
	while (i < n && (rc = next_entry(dir, &d)) == 1) {
		len = strlen(d->d_name) + 1;
		if (mq_name_check(d->d_name) != 0 || !is_dir(fd, d) ||
		    (size_t)(p - (char *)(v + n + 1)) + len > bytes)
			continue;
		memcpy(p, d->d_name, len);
		v[i++] = p;
		p += len;
	}
	closedir(dir);
	if (rc < 0) {
		free(v);
		return -rc;
	}
	v[i] = NULL;
	qsort(v, i, sizeof(*v), cmpstr);
	*names = v;
	*np = i;
	return 0;
}

int64_t
mq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

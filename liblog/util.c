/* SPDX-License-Identifier: MIT */
/*
 * util.c - small system helpers: whole writes, directory fsync, OFD locks
 * and the clock.
 *
 * Locks are open file description locks: the kernel drops them when the
 * holder dies, so a crashed writer never leaves a stale lock behind, and
 * unlike classic POSIX locks they are not lost when some other descriptor
 * for the same file is closed in the same process.
 */
#include <errno.h>
#include <fcntl.h>
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

int
fsync_dir(int dirfd)
{
	return fsync(dirfd) == -1 ? errno : 0;
}

static int
ofd_lock(int fd, short type)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET };

	while (fcntl(fd, F_OFD_SETLKW, &fl) == -1) {
		if (errno != EINTR)
			return errno;
	}
	return 0;
}

int
lock_exclusive(int fd)
{
	return ofd_lock(fd, F_WRLCK);
}

int
lock_release(int fd)
{
	return ofd_lock(fd, F_UNLCK);
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
range_unlock(int fd, off_t start, off_t len)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET,
	    .l_start = start, .l_len = len };

	return fcntl(fd, F_OFD_SETLK, &fl) == -1 ? errno : 0;
}

int64_t
mq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

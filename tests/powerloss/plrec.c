/* SPDX-License-Identifier: MIT */
/*
 * plrec.c - an LD_PRELOAD recorder of what a command does to the log
 * directory, for the power-loss simulator (plsim.c, t9800-powerloss).
 *
 * With PLREC_TRACE=FILE in the environment, every call that changes a
 * file or directory under $MQ_DIR is appended to FILE once it has
 * succeeded, and so is every write to standard output (an "ack": what
 * the command told its user is done).  A power loss can keep or lose
 * anything not made durable, so the simulator needs the order of the
 * writes, the syncs and the acks, and nothing else.  Without
 * PLREC_TRACE the shim only passes calls on.
 *
 * Paths are taken from /proc/self/fd at the time of the call, so a file
 * renamed while open is named where it is then.  A file already
 * unlinked is not recorded: nothing of it can survive a crash.
 *
 * Trace format: a sequence of records, each one write(2) on an O_APPEND
 * descriptor, so that processes sharing a trace never interleave within
 * a record.  All integers are in host byte order:
 *
 *	uint32_t magic		PLREC_MAGIC ("PLR1")
 *	uint16_t op		PL_* below
 *	uint16_t flags		PL_OPEN: PLF_CREAT, PLF_TRUNC, PLF_EXCL
 *	uint32_t pid
 *	uint32_t len1		bytes of path 1 (no NUL)
 *	uint32_t len2		bytes of path 2 (rename, link target)
 *	uint32_t dlen		bytes of data (write, ack)
 *	int64_t	 off		write: file offset; truncate: new length
 *	path 1, path 2, data
 *
 * Paths are relative to $MQ_DIR, "." being the directory itself.
 * PL_FSYNC is an fsync or fdatasync of a file, PL_DIRSYNC one of a
 * directory; mq relies on fdatasync for the data and the size, which is
 * what the simulator gives both.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "plrec.h"

static int tracefd = -1;
static char root[PATH_MAX];
static size_t rootlen;

static ssize_t (*real_write)(int, const void *, size_t);

/* ISO C has no cast from dlsym's void * to a function pointer. */
#define SYM(fp, name) do { \
	void *s_ = dlsym(RTLD_NEXT, name); \
	memcpy(&(fp), &s_, sizeof(s_)); \
} while (0)
#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (real_##name == NULL) \
		SYM(real_##name, #name)

/* Records one operation; best effort, as a failed record fails the
 * test's consistency checks later anyway. */
static void
emit(int op, int flags, const char *p1, const char *p2, const void *data,
    size_t dlen, int64_t off)
{
	struct plrec_hdr h;
	size_t l1 = p1 ? strlen(p1) : 0, l2 = p2 ? strlen(p2) : 0, n;
	char *buf, *q;
	int saved = errno;

	h.magic = PLREC_MAGIC;
	h.op = (uint16_t)op;
	h.flags = (uint16_t)flags;
	h.pid = (uint32_t)getpid();
	h.len1 = (uint32_t)l1;
	h.len2 = (uint32_t)l2;
	h.dlen = (uint32_t)dlen;
	h.off = off;
	n = sizeof(h) + l1 + l2 + dlen;
	if ((buf = malloc(n)) == NULL)
		abort();
	q = buf;
	memcpy(q, &h, sizeof(h));
	q += sizeof(h);
	if (l1)
		memcpy(q, p1, l1);
	q += l1;
	if (l2)
		memcpy(q, p2, l2);
	q += l2;
	if (dlen)
		memcpy(q, data, dlen);
	/* A short record would corrupt the trace: better die loudly. */
	if (real_write(tracefd, buf, n) != (ssize_t)n)
		abort();
	free(buf);
	errno = saved;
}

/* The path under the log directory, or NULL when abs is outside it. */
static const char *
relpath(const char *abs)
{
	if (strncmp(abs, root, rootlen) != 0)
		return NULL;
	if (abs[rootlen] == '\0')
		return ".";
	if (abs[rootlen] != '/')
		return NULL;
	return abs + rootlen + 1;
}

/* The absolute path of fd, or -1 when it has none that can survive. */
static int
fdpath(int fd, char *buf, size_t size)
{
	char link[64];
	struct stat sb;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, buf, size - 1)) <= 0)
		return -1;
	buf[n] = '\0';
	if (buf[0] != '/' || (fstat(fd, &sb) == 0 && sb.st_nlink == 0 &&
	    !S_ISDIR(sb.st_mode)))
		return -1;
	return 0;
}

/*
 * The absolute path of name relative to dirfd, its directory resolved
 * (the name itself may not exist, as after an unlink).
 */
static int
atpath(int dirfd, const char *name, char *buf, size_t size)
{
	char dir[PATH_MAX], tmp[2 * PATH_MAX + 2], rp[PATH_MAX];
	const char *slash, *base;

	if (strlen(name) >= PATH_MAX)
		return -1;
	if (name[0] == '/')
		snprintf(tmp, sizeof(tmp), "%s", name);
	else {
		if (dirfd == AT_FDCWD) {
			if (getcwd(dir, sizeof(dir)) == NULL)
				return -1;
		} else if (fdpath(dirfd, dir, sizeof(dir)) != 0)
			return -1;
		snprintf(tmp, sizeof(tmp), "%s/%s", dir, name);
	}
	/* Trailing slashes (mkdir("a/")) name the same entry. */
	for (size_t l = strlen(tmp); l > 1 && tmp[l - 1] == '/'; l--)
		tmp[l - 1] = '\0';
	slash = strrchr(tmp, '/');
	base = slash + 1;
	if (slash == tmp)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - tmp), tmp);
	if (realpath(dir, rp) == NULL)
		return -1;
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return -1;
	if (strlen(rp) + strlen(base) + 2 > size)
		return -1;
	strcpy(buf, strcmp(rp, "/") ? rp : "");
	strcat(buf, "/");
	strcat(buf, base);
	return 0;
}

static void
note_fd(int op, int flags, int fd, const void *data, size_t dlen,
    int64_t off)
{
	char abs[PATH_MAX];
	const char *rel;

	if (tracefd == -1 || fdpath(fd, abs, sizeof(abs)) != 0 ||
	    (rel = relpath(abs)) == NULL)
		return;
	emit(op, flags, rel, NULL, data, dlen, off);
}

static void
note_at(int op, int dirfd, const char *name)
{
	char abs[PATH_MAX];
	const char *rel;

	if (tracefd == -1 || atpath(dirfd, name, abs, sizeof(abs)) != 0 ||
	    (rel = relpath(abs)) == NULL)
		return;
	emit(op, 0, rel, NULL, NULL, 0, 0);
}

/* ------------------------------------------------------------ writes */

static void
note_write(int fd, const void *p, ssize_t n, int64_t off)
{
	if (tracefd == -1 || n <= 0)
		return;
	if (fd == STDOUT_FILENO)
		emit(PL_ACK, 0, NULL, NULL, p, (size_t)n, 0);
	else
		note_fd(PL_WRITE, 0, fd, p, (size_t)n, off);
}

/* Where a write that moved the file offset to its end began. */
static int64_t
start_of(int fd, ssize_t n)
{
	off_t end = lseek(fd, 0, SEEK_CUR);

	return end == -1 ? -1 : (int64_t)end - n;
}

ssize_t
write(int fd, const void *p, size_t len)
{
	ssize_t n;
	int err;

	if (real_write == NULL)
		SYM(real_write, "write");
	n = real_write(fd, p, len);
	/* start_of's lseek must not leave ESPIPE behind a good write. */
	err = errno;
	if (n > 0 && tracefd != -1 && fd != tracefd)
		note_write(fd, p, n, fd == STDOUT_FILENO ? 0 : start_of(fd, n));
	errno = err;
	return n;
}

ssize_t
pwrite(int fd, const void *p, size_t len, off_t off)
{
	ssize_t n;

	REAL(pwrite);
	n = real_pwrite(fd, p, len, off);
	note_write(fd, p, n, off);
	return n;
}

ssize_t
pwrite64(int fd, const void *p, size_t len, off_t off)
{
	return pwrite(fd, p, len, off);
}

/* The first n bytes of iov, gathered for the record. */
static void
note_iov(int fd, const struct iovec *iov, int cnt, ssize_t n, int64_t off)
{
	char *buf, *q;
	size_t left = (size_t)n, k;
	int i;

	if (tracefd == -1 || n <= 0)
		return;
	if ((buf = malloc((size_t)n)) == NULL)
		abort();
	q = buf;
	for (i = 0; i < cnt && left > 0; i++) {
		k = iov[i].iov_len < left ? iov[i].iov_len : left;
		memcpy(q, iov[i].iov_base, k);
		q += k;
		left -= k;
	}
	note_write(fd, buf, n, off);
	free(buf);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	ssize_t n;
	int err;

	REAL(writev);
	n = real_writev(fd, iov, cnt);
	err = errno;
	if (n > 0 && tracefd != -1)
		note_iov(fd, iov, cnt, n, fd == STDOUT_FILENO ? 0 :
		    start_of(fd, n));
	errno = err;
	return n;
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t n;

	REAL(pwritev);
	n = real_pwritev(fd, iov, cnt, off);
	note_iov(fd, iov, cnt, n, off);
	return n;
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pwritev(fd, iov, cnt, off);
}

ssize_t
pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	ssize_t n;

	REAL(pwritev2);
	n = real_pwritev2(fd, iov, cnt, off, flags);
	if (n > 0 && tracefd != -1)
		note_iov(fd, iov, cnt, n, off != -1 ? off : start_of(fd, n));
	return n;
}

int
ftruncate(int fd, off_t len)
{
	int rc;

	REAL(ftruncate);
	if ((rc = real_ftruncate(fd, len)) == 0)
		note_fd(PL_TRUNC, 0, fd, NULL, 0, len);
	return rc;
}

int
ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int
truncate(const char *path, off_t len)
{
	char abs[PATH_MAX];
	const char *rel;
	int rc;

	REAL(truncate);
	if ((rc = real_truncate(path, len)) == 0 && tracefd != -1 &&
	    realpath(path, abs) != NULL && (rel = relpath(abs)) != NULL)
		emit(PL_TRUNC, 0, rel, NULL, NULL, 0, len);
	return rc;
}

/* ------------------------------------------------------------ opens */

static void
note_open(int fd, int flags)
{
	int f = 0;

	if (fd < 0 || tracefd == -1 || !(flags & (O_CREAT | O_TRUNC)))
		return;
	if (flags & O_CREAT)
		f |= PLF_CREAT;
	if ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY)
		f |= PLF_TRUNC;
	if (flags & O_EXCL)
		f |= PLF_EXCL;
	note_fd(PL_OPEN, f, fd, NULL, 0, 0);
}

static mode_t
mode_arg(int flags, va_list ap)
{
	return ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) ?
	    (mode_t)va_arg(ap, int) : 0;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int fd;

	REAL(openat);
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	fd = real_openat(dirfd, path, flags, mode);
	note_open(fd, flags);
	return fd;
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return openat(dirfd, path, flags, mode);
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return openat(AT_FDCWD, path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return openat(AT_FDCWD, path, flags, mode);
}

/* What _FORTIFY_SOURCE turns open calls into. */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);

int
__open_2(const char *path, int flags)
{
	return openat(AT_FDCWD, path, flags);
}

int
__open64_2(const char *path, int flags)
{
	return openat(AT_FDCWD, path, flags);
}

int
__openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int
__openat64_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int
creat(const char *path, mode_t mode)
{
	return openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int
creat64(const char *path, mode_t mode)
{
	return creat(path, mode);
}

/* ------------------------------------------------------------ names */

int
renameat2(int odir, const char *old, int ndir, const char *new,
    unsigned int flags)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *ra, *rb;
	int okp, rc;

	REAL(renameat2);
	/* Resolved before: the old name is gone after. */
	okp = tracefd != -1 && atpath(odir, old, a, sizeof(a)) == 0;
	if ((rc = real_renameat2(odir, old, ndir, new, flags)) != 0 || !okp)
		return rc;
	if (atpath(ndir, new, b, sizeof(b)) != 0)
		return rc;
	ra = relpath(a);
	rb = relpath(b);
	if (ra != NULL && rb != NULL)
		emit(PL_RENAME, 0, ra, rb, NULL, 0, 0);
	else if (ra != NULL)		/* moved out: gone from the log */
		emit(PL_UNLINK, 0, ra, NULL, NULL, 0, 0);
	else if (rb != NULL)
		emit(PL_LINK, 0, rb, NULL, NULL, 0, 0);
	return rc;
}

int
renameat(int odir, const char *old, int ndir, const char *new)
{
	return renameat2(odir, old, ndir, new, 0);
}

int
rename(const char *old, const char *new)
{
	return renameat2(AT_FDCWD, old, AT_FDCWD, new, 0);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	char abs[PATH_MAX];
	const char *rel = NULL;
	int rc;

	REAL(unlinkat);
	if (tracefd != -1 && atpath(dirfd, path, abs, sizeof(abs)) == 0)
		rel = relpath(abs);
	if ((rc = real_unlinkat(dirfd, path, flags)) == 0 && rel != NULL)
		emit((flags & AT_REMOVEDIR) ? PL_RMDIR : PL_UNLINK, 0, rel,
		    NULL, NULL, 0, 0);
	return rc;
}

int
unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}

int
rmdir(const char *path)
{
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	int rc;

	REAL(mkdirat);
	if ((rc = real_mkdirat(dirfd, path, mode)) == 0)
		note_at(PL_MKDIR, dirfd, path);
	return rc;
}

int
mkdir(const char *path, mode_t mode)
{
	return mkdirat(AT_FDCWD, path, mode);
}

/* Hard and symbolic links are outside the model: recorded so that the
 * simulator refuses a trace holding one rather than get it wrong. */
int
linkat(int odir, const char *old, int ndir, const char *new, int flags)
{
	int rc;

	REAL(linkat);
	if ((rc = real_linkat(odir, old, ndir, new, flags)) == 0)
		note_at(PL_LINK, ndir, new);
	return rc;
}

int
link(const char *old, const char *new)
{
	return linkat(AT_FDCWD, old, AT_FDCWD, new, 0);
}

int
symlinkat(const char *target, int ndir, const char *new)
{
	int rc;

	REAL(symlinkat);
	if ((rc = real_symlinkat(target, ndir, new)) == 0)
		note_at(PL_LINK, ndir, new);
	return rc;
}

int
symlink(const char *target, const char *new)
{
	return symlinkat(target, AT_FDCWD, new);
}

/* ------------------------------------------------------------ syncs */

static void
note_sync(int fd)
{
	struct stat sb;

	if (tracefd == -1 || fstat(fd, &sb) != 0)
		return;
	note_fd(S_ISDIR(sb.st_mode) ? PL_DIRSYNC : PL_FSYNC, 0, fd, NULL, 0,
	    0);
}

int
fsync(int fd)
{
	int rc;

	REAL(fsync);
	if ((rc = real_fsync(fd)) == 0)
		note_sync(fd);
	return rc;
}

int
fdatasync(int fd)
{
	int rc;

	REAL(fdatasync);
	if ((rc = real_fdatasync(fd)) == 0)
		note_sync(fd);
	return rc;
}

void
sync(void)
{
	REAL(sync);
	real_sync();
	if (tracefd != -1)
		emit(PL_SYNCALL, 0, NULL, NULL, NULL, 0, 0);
}

int
syncfs(int fd)
{
	int rc;

	REAL(syncfs);
	if ((rc = real_syncfs(fd)) == 0 && tracefd != -1)
		emit(PL_SYNCALL, 0, NULL, NULL, NULL, 0, 0);
	return rc;
}

/* ------------------------------------------------------------ stdout */

/*
 * stdio writes through libc's own write, which no preload sees, so
 * stdout is replaced by a stream that writes through ours: a printf
 * then becomes an ack at the moment its bytes leave the process.
 */
static ssize_t
cookie_write(void *c, const char *p, size_t len)
{
	(void)c;
	return write(STDOUT_FILENO, p, len);
}

__attribute__((constructor)) static void
init(void)
{
	cookie_io_functions_t io = { .write = cookie_write };
	const char *trace = getenv("PLREC_TRACE"), *dir = getenv("MQ_DIR");
	int (*ropen)(const char *, int, ...);
	FILE *f;

	SYM(real_write, "write");
	if (trace == NULL || *trace == '\0' || dir == NULL ||
	    realpath(dir, root) == NULL)
		return;
	rootlen = strlen(root);
	SYM(ropen, "open");
	tracefd = ropen(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0666);
	if (tracefd == -1) {
		fprintf(stderr, "plrec: %s: %s\n", trace, strerror(errno));
		abort();
	}
	if ((f = fopencookie(NULL, "w", io)) != NULL) {
		setvbuf(f, NULL, _IOFBF, BUFSIZ);
		stdout = f;
	}
}

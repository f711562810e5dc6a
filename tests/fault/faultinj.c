/* SPDX-License-Identifier: MIT */
/*
 * faultinj.c - an LD_PRELOAD shim that makes the file operations liblog
 * uses fail on demand, for tests/t9600-faults.bats and
 * tests/t9610-faults-admin.bats.
 *
 *   MQ_FAULT=RULE[,RULE...]	RULE is OP:N:WHAT[:forever]
 *	OP	open (read-only), openw (O_WRONLY, O_RDWR or O_CREAT), write,
 *		pwrite, pwritev, writev, fsync, fdatasync, dirsync (either
 *		sync on a directory), ftruncate, rename, link, unlink, rmdir,
 *		mkdir
 *	N	the OP call that fails, counting from 1; with "forever" that
 *		one and every later one
 *	WHAT	an errno name (EIO, ENOSPC, EROFS, EACCES, EDQUOT, EPERM), or
 *		"short": a write of half the bytes that returns the short
 *		count (write operations only), or "pauseMS": the call is
 *		made after MS milliseconds (to hold a command at that point)
 *   MQ_FAULT_LOG=FILE	appends "OP N PATH" per counted call, and " = WHAT"
 *		when the shim made it fail
 *
 * Only calls on paths and descriptors under $MQ_DIR (resolved once) are
 * counted or failed: stdout, stderr, pipes and the test's own files go
 * through untouched.  A failed call does nothing, as when the kernel
 * refuses it up front, except for "short", which writes half, and a
 * pause, which fails nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum op {
	OP_OPEN, OP_OPENW, OP_WRITE, OP_PWRITE, OP_PWRITEV, OP_WRITEV,
	OP_FSYNC, OP_FDATASYNC, OP_DIRSYNC, OP_FTRUNCATE, OP_RENAME, OP_LINK,
	OP_UNLINK, OP_RMDIR, OP_MKDIR, OP_N
};

static const char *const opname[OP_N] = {
	"open", "openw", "write", "pwrite", "pwritev", "writev", "fsync",
	"fdatasync", "dirsync", "ftruncate", "rename", "link", "unlink",
	"rmdir", "mkdir"
};

static const struct {
	const char *name;
	int	err;
} errs[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EROFS", EROFS },
	{ "EACCES", EACCES }, { "EDQUOT", EDQUOT }, { "EPERM", EPERM },
};

#define SHORT	(-1)
#define PAUSE	(-2)
#define RULES	16

static struct rule {
	enum op	op;
	long	n;
	int	err;			/* or SHORT, PAUSE */
	long	pause_ms;
	int	forever;
	const char *what;
} rules[RULES];
static int nrules;
static long count[OP_N];
static char root[PATH_MAX];		/* $MQ_DIR, resolved */
static size_t rootlen;
static const char *logpath;
static int ready;

#define REAL(name) \
	static __typeof__(name) *real_##name; \
	if (real_##name == NULL) \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static void
bad_spec(const char *s)
{
	static const char msg[] = "faultinj: bad MQ_FAULT rule: ";

	(void)!write(2, msg, sizeof(msg) - 1);
	(void)!write(2, s, strlen(s));
	(void)!write(2, "\n", 1);
	_exit(99);
}

static void
parse_rule(char *s)
{
	struct rule *r = &rules[nrules];
	char *f[4], *end;
	int nf = 0, i;

	if (nrules == RULES)
		bad_spec(s);
	for (f[nf++] = s; nf < 4 && (s = strchr(s, ':')) != NULL; )
		*s++ = '\0', f[nf++] = s;
	if (nf < 3 || (nf == 4 && strcmp(f[3], "forever") != 0))
		bad_spec(f[0]);
	for (i = 0; i < OP_N && strcmp(opname[i], f[0]) != 0; i++)
		;
	r->n = strtol(f[1], &end, 10);
	if (i == OP_N || *end != '\0' || r->n < 1)
		bad_spec(f[0]);
	r->op = (enum op)i;
	r->forever = nf == 4;
	r->what = f[2];
	if (strcmp(f[2], "short") == 0) {
		if (r->op != OP_WRITE && r->op != OP_PWRITE &&
		    r->op != OP_PWRITEV && r->op != OP_WRITEV)
			bad_spec(f[0]);
		r->err = SHORT;
	} else if (strncmp(f[2], "pause", 5) == 0) {
		r->pause_ms = strtol(f[2] + 5, &end, 10);
		if (*end != '\0' || r->pause_ms < 1 || r->pause_ms > 60000)
			bad_spec(f[0]);
		r->err = PAUSE;
	} else {
		for (i = 0; i < (int)(sizeof(errs) / sizeof(errs[0])); i++)
			if (strcmp(errs[i].name, f[2]) == 0)
				break;
		if (i == (int)(sizeof(errs) / sizeof(errs[0])))
			bad_spec(f[0]);
		r->err = errs[i].err;
	}
	nrules++;
}

static void
init(void)
{
	char *spec, *s, *next;
	const char *dir;

	if (ready)
		return;
	ready = 1;
	logpath = getenv("MQ_FAULT_LOG");
	if ((dir = getenv("MQ_DIR")) == NULL || realpath(dir, root) == NULL)
		root[0] = '\0';		/* nothing counts */
	rootlen = strlen(root);
	if ((s = getenv("MQ_FAULT")) == NULL || *s == '\0')
		return;
	/* The environment stays as it was, for the commands we start. */
	if ((spec = strdup(s)) == NULL)
		return;
	for (s = spec; s != NULL; s = next) {
		if ((next = strchr(s, ',')) != NULL)
			*next++ = '\0';
		if (*s != '\0')
			parse_rule(s);
	}
}

/* The absolute path dirfd/path names, resolved as far as it exists. */
static int
resolve(int dirfd, const char *path, char *out)
{
	char base[PATH_MAX], full[PATH_MAX * 2], link[32], *slash;
	ssize_t n;

	if (path[0] == '/')
		base[0] = '\0';
	else if (dirfd == AT_FDCWD) {
		if (getcwd(base, sizeof(base)) == NULL)
			return -1;
	} else {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		if ((n = readlink(link, base, sizeof(base) - 1)) == -1)
			return -1;
		base[n] = '\0';
	}
	if (snprintf(full, sizeof(full), "%s%s%s", base, base[0] ? "/" :
	    "", path) >= PATH_MAX)
		return -1;
	if (realpath(full, out) != NULL)
		return 0;
	/* Not there (yet): resolve its directory. */
	if ((slash = strrchr(full, '/')) == NULL || slash == full)
		return -1;
	*slash = '\0';
	if (realpath(full, out) == NULL)
		return -1;
	if (strlen(out) + strlen(slash + 1) + 2 > PATH_MAX)
		return -1;
	strcat(out, "/");
	strcat(out, slash + 1);
	return 0;
}

static int
fd_path(int fd, char *out)
{
	char link[32];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, out, PATH_MAX - 1)) == -1)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
inside(const char *p)
{
	return rootlen > 0 && strncmp(p, root, rootlen) == 0 &&
	    (p[rootlen] == '/' || p[rootlen] == '\0');
}

static void
log_call(enum op op, const char *path, const char *what)
{
	char line[PATH_MAX + 64];
	int fd, n;

	REAL(open);
	REAL(write);
	if (logpath == NULL)
		return;
	n = snprintf(line, sizeof(line), "%s %ld %s%s%s\n", opname[op],
	    count[op], path, what ? " = " : "", what ? what : "");
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	if ((fd = real_open(logpath, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, 0666)) == -1)
		return;
	(void)!real_write(fd, line, (size_t)n);
	close(fd);
}

/*
 * Counts a call on path (NULL: not under $MQ_DIR) and says what to do:
 * 0 go ahead, SHORT, or an errno to fail with.
 */
static int
judge(enum op op, const char *path)
{
	const struct rule *hit = NULL;
	int i;

	if (path == NULL || !inside(path))
		return 0;
	count[op]++;
	for (i = 0; i < nrules && hit == NULL; i++)
		if (rules[i].op == op && (count[op] == rules[i].n ||
		    (rules[i].forever && count[op] > rules[i].n)))
			hit = &rules[i];
	log_call(op, path, hit ? hit->what : NULL);
	if (hit != NULL && hit->err == PAUSE) {
		struct timespec ts = { hit->pause_ms / 1000,
		    hit->pause_ms % 1000 * 1000000 };

		while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
			;
		return 0;
	}
	return hit ? hit->err : 0;
}

static int
judge_fd(enum op op, int fd)
{
	char p[PATH_MAX];
	int saved = errno, rc;

	init();
	rc = judge(op, fd_path(fd, p) == 0 ? p : NULL);
	errno = saved;
	return rc;
}

static int
judge_at(enum op op, int dirfd, const char *path)
{
	char p[PATH_MAX];
	int saved = errno, rc;

	init();
	rc = judge(op, path != NULL && resolve(dirfd, path, p) == 0 ? p :
	    NULL);
	errno = saved;
	return rc;
}

static int
is_dir(int fd)
{
	struct stat sb;

	return fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static enum op
open_op(int flags)
{
	return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC)) ? OP_OPENW :
	    OP_OPEN;
}

/* errno, and -1 as the call's return. */
#define FAIL(e)	(errno = (e), -1)

/* ------------------------------------------------------------------ */

static mode_t
open_mode(int flags, va_list ap)
{
	/* O_TMPFILE holds O_DIRECTORY's bit: a directory open has no mode. */
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ?
	    (mode_t)va_arg(ap, int) : 0;
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int e;

	REAL(openat);
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if ((e = judge_at(open_op(flags), dirfd, path)) != 0)
		return FAIL(e);
	return real_openat(dirfd, path, flags, mode);
}

int
open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;
	int e;

	REAL(open);
	va_start(ap, flags);
	mode = open_mode(flags, ap);
	va_end(ap);
	if ((e = judge_at(open_op(flags), AT_FDCWD, path)) != 0)
		return FAIL(e);
	return real_open(path, flags, mode);
}

int open64(const char *, int, ...) __attribute__((alias("open")));
int openat64(int, const char *, int, ...) __attribute__((alias("openat")));

/* Writes that "short" cuts to half (at least one byte). */
static size_t
half(size_t len)
{
	return len > 1 ? len / 2 : len;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	int e;

	REAL(write);
	if ((e = judge_fd(OP_WRITE, fd)) == SHORT)
		len = half(len);
	else if (e != 0)
		return FAIL(e);
	return real_write(fd, buf, len);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t pos)
{
	int e;

	REAL(pwrite);
	if ((e = judge_fd(OP_PWRITE, fd)) == SHORT)
		len = half(len);
	else if (e != 0)
		return FAIL(e);
	return real_pwrite(fd, buf, len, pos);
}

ssize_t pwrite64(int, const void *, size_t, off_t)
    __attribute__((alias("pwrite")));

/* The first half of the bytes iov holds, as a new vector in out. */
static int
cut_iov(const struct iovec *iov, int n, struct iovec *out)
{
	size_t total = 0, want;
	int i, k;

	for (i = 0; i < n; i++)
		total += iov[i].iov_len;
	want = half(total);
	for (k = 0; k < n && k < IOV_MAX && want > 0; k++) {
		out[k] = iov[k];
		if (out[k].iov_len > want)
			out[k].iov_len = want;
		want -= out[k].iov_len;
	}
	return k;
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t pos)
{
	struct iovec cut[IOV_MAX];
	int e;

	REAL(pwritev);
	if ((e = judge_fd(OP_PWRITEV, fd)) == SHORT) {
		n = cut_iov(iov, n, cut);
		iov = cut;
	} else if (e != 0)
		return FAIL(e);
	return real_pwritev(fd, iov, n, pos);
}

ssize_t pwritev64(int, const struct iovec *, int, off_t)
    __attribute__((alias("pwritev")));

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	struct iovec cut[IOV_MAX];
	int e;

	REAL(writev);
	if ((e = judge_fd(OP_WRITEV, fd)) == SHORT) {
		n = cut_iov(iov, n, cut);
		iov = cut;
	} else if (e != 0)
		return FAIL(e);
	return real_writev(fd, iov, n);
}

int
fsync(int fd)
{
	int e;

	REAL(fsync);
	if ((e = judge_fd(is_dir(fd) ? OP_DIRSYNC : OP_FSYNC, fd)) != 0)
		return FAIL(e);
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	int e;

	REAL(fdatasync);
	if ((e = judge_fd(is_dir(fd) ? OP_DIRSYNC : OP_FDATASYNC, fd)) != 0)
		return FAIL(e);
	return real_fdatasync(fd);
}

int
ftruncate(int fd, off_t len)
{
	int e;

	REAL(ftruncate);
	if ((e = judge_fd(OP_FTRUNCATE, fd)) != 0)
		return FAIL(e);
	return real_ftruncate(fd, len);
}

int ftruncate64(int, off_t) __attribute__((alias("ftruncate")));

/* A rename or link counts once, by its source. */
int
renameat2(int olddir, const char *from, int newdir, const char *to,
    unsigned flags)
{
	int e;

	REAL(renameat2);
	if ((e = judge_at(OP_RENAME, olddir, from)) != 0)
		return FAIL(e);
	return real_renameat2(olddir, from, newdir, to, flags);
}

int
renameat(int olddir, const char *from, int newdir, const char *to)
{
	int e;

	REAL(renameat);
	if ((e = judge_at(OP_RENAME, olddir, from)) != 0)
		return FAIL(e);
	return real_renameat(olddir, from, newdir, to);
}

int
rename(const char *from, const char *to)
{
	int e;

	REAL(rename);
	if ((e = judge_at(OP_RENAME, AT_FDCWD, from)) != 0)
		return FAIL(e);
	return real_rename(from, to);
}

int
linkat(int olddir, const char *from, int newdir, const char *to, int flags)
{
	int e;

	REAL(linkat);
	if ((e = judge_at(OP_LINK, olddir, from)) != 0)
		return FAIL(e);
	return real_linkat(olddir, from, newdir, to, flags);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	int e;

	REAL(unlinkat);
	if ((e = judge_at(flags & AT_REMOVEDIR ? OP_RMDIR : OP_UNLINK, dirfd,
	    path)) != 0)
		return FAIL(e);
	return real_unlinkat(dirfd, path, flags);
}

int
unlink(const char *path)
{
	int e;

	REAL(unlink);
	if ((e = judge_at(OP_UNLINK, AT_FDCWD, path)) != 0)
		return FAIL(e);
	return real_unlink(path);
}

int
rmdir(const char *path)
{
	int e;

	REAL(rmdir);
	if ((e = judge_at(OP_RMDIR, AT_FDCWD, path)) != 0)
		return FAIL(e);
	return real_rmdir(path);
}

int
mkdirat(int dirfd, const char *path, mode_t mode)
{
	int e;

	REAL(mkdirat);
	if ((e = judge_at(OP_MKDIR, dirfd, path)) != 0)
		return FAIL(e);
	return real_mkdirat(dirfd, path, mode);
}

int
mkdir(const char *path, mode_t mode)
{
	int e;

	REAL(mkdir);
	if ((e = judge_at(OP_MKDIR, AT_FDCWD, path)) != 0)
		return FAIL(e);
	return real_mkdir(path, mode);
}

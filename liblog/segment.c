/* SPDX-License-Identifier: MIT */
/*
 * segment.c - the files of a partition directory: segment names, listing,
 * creation, and lookups in the offset and time indexes.
 *
 * Index files are Kafka's: .index holds 8-byte entries (offset - base,
 * file position), .timeindex 12-byte entries (timestamp, offset - base),
 * both big-endian and sorted.  They are derived data, so a lookup that
 * meets an entry past the data only costs the caller a longer scan.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define INDEX_ENTRY	8
#define TINDEX_ENTRY	12

void
seg_name(char *buf, int64_t base, const char *ext)
{
	snprintf(buf, SEGNAME_SIZE, "%020" PRId64 "%s", base, ext);
}

/* Has mq-delete removed the topic t has open?  (Its directory is gone.) */
int
topic_deleted(const struct mq_topic *t)
{
	struct stat sb;

	return fstat(t->fd, &sb) == 0 && sb.st_nlink == 0;
}

int
part_open(struct mq_topic *t, int part, int *dirfd)
{
	char name[MQ_TOPIC_MAX + 16];
	int rc;

	if (part < 0 || part >= t->partitions)
		return log_fail(t->log, MQ_EBADPART, "%s: partition %d: %s "
		    "(the topic has %d)", t->name, part,
		    mq_strerror(MQ_EBADPART), t->partitions);
	snprintf(name, sizeof(name), "%s-%d", t->name, part);
	*dirfd = openat(t->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (*dirfd != -1)
		return 0;
	rc = errno;
	if (rc == ENOENT && topic_deleted(t))
		return log_fail(t->log, MQ_ENOTOPIC, "%s: topic deleted",
		    t->name);
	if (rc == ENOENT)
		return log_fail(t->log, MQ_ECORRUPT, "%s: partition directory "
		    "%s is missing (topic.yaml says %d partitions)", t->name,
		    name, t->partitions);
	return log_fail(t->log, rc, "%s: %s", name, strerror(rc));
}

int
mq_segment_parse(const char *name, int64_t *base, const char **ext)
{
	static const char *const exts[] = { ".log", ".index", ".timeindex" };
	size_t i;

	for (i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
		if ((*base = seg_parse(name, exts[i])) >= 0) {
			*ext = exts[i];
			return 0;
		}
	return -1;
}

int64_t
seg_parse(const char *name, const char *ext)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < MQ_SEGNAME_LEN; i++) {
		if (name[i] < '0' || name[i] > '9' || v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	return strcmp(name + i, ext) == 0 ? v : -1;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

struct i64v {
	int64_t	*v;
	size_t	n, cap;
};

static int
i64v_add(struct i64v *a, int64_t x)
{
	int64_t *nv;

	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		if ((nv = realloc(a->v, a->cap * sizeof(*nv))) == NULL)
			return ENOMEM;
		a->v = nv;
	}
	a->v[a->n++] = x;
	return 0;
}

static int
i64v_has(const struct i64v *a, int64_t x)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (a->v[i] == x)
			return 1;
	return 0;
}

/*
 * The segments as readers must see them.  A compaction that reached its
 * commit point (a .log.swap exists; see clean.c) replaces its first
 * segment with the .log.swap and hides the segments it marked
 * .log.deleted, even before it has renamed and removed them, so a reader
 * sees the old log or the new one, never a mix.
 */
int
seg_list(int dirfd, int64_t **bases, size_t *n)
{
	struct i64v log = { 0 }, swap = { 0 }, del = { 0 };
	struct dirent *d;
	int64_t base;
	size_t i, j;
	DIR *dir;
	int rc = 0;

	if ((dir = dir_stream(dirfd)) == NULL)
		return errno;
	while (rc == 0 && (d = readdir(dir)) != NULL) {
		if ((base = seg_parse(d->d_name, ".log")) >= 0)
			rc = i64v_add(&log, base);
		else if ((base = seg_parse(d->d_name, ".log.swap")) >= 0)
			rc = i64v_add(&swap, base);
		else if ((base = seg_parse(d->d_name, ".log.deleted")) >= 0)
			rc = i64v_add(&del, base);
	}
	closedir(dir);
	for (i = 0; rc == 0 && i < swap.n; i++)
		if (!i64v_has(&log, swap.v[i]))
			rc = i64v_add(&log, swap.v[i]);
	if (rc == 0 && swap.n > 0) {
		for (i = j = 0; i < log.n; i++)
			if (!i64v_has(&del, log.v[i]))
				log.v[j++] = log.v[i];
		log.n = j;
	}
	free(swap.v);
	free(del.v);
	if (rc != 0) {
		free(log.v);
		return rc;
	}
	if (log.n > 1)
		qsort(log.v, log.n, sizeof(*log.v), cmp64);
	*bases = log.v;
	*n = log.n;
	return 0;
}

int
seg_open_log(int dirfd, int64_t base)
{
	char name[SEGNAME_SIZE];
	int fd;

	/* The .swap first: a rename to .log may come between the two. */
	seg_name(name, base, ".log.swap");
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd != -1 || errno != ENOENT)
		return fd;
	seg_name(name, base, ".log");
	return openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

void
seg_view_name(int dirfd, int64_t base, const char *ext, char *buf)
{
	char swap[24];

	seg_name(buf, base, ".log.swap");
	if (faccessat(dirfd, buf, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(swap, sizeof(swap), "%s.swap", ext);
		seg_name(buf, base, swap);
		if (faccessat(dirfd, buf, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
			return;
	}
	seg_name(buf, base, ext);
}

/*
 * Opens a segment's three files, the .log with the given extra flags.
 * Returns 0, or -1 with errno set.
 */
static const char *const seg_ext[3] = { ".log", ".index", ".timeindex" };

static int
seg_files(int dirfd, int64_t base, int fds[3], int flags)
{
	char name[SEGNAME_SIZE];
	int i, err;

	for (i = 0; i < 3; i++) {
		seg_name(name, base, seg_ext[i]);
		/* Only the .log takes flags: indexes are always made anew
		 * when missing. */
		fds[i] = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC |
		    (i == 0 ? flags : O_CREAT), 0666);
		if (fds[i] == -1) {
			err = errno;
			/* A .log this call made would look like a roll that
			 * died: it goes with the call. */
			if (i > 0 && (flags & O_EXCL))
				seg_remove(dirfd, base);
			/* The caller's array may be its open segment's. */
			while (i-- > 0) {
				close(fds[i]);
				fds[i] = -1;
			}
			errno = err;
			return -1;
		}
	}
	return 0;
}

int
seg_create(int dirfd, int64_t base, int fds[3])
{
	struct stat sb;
	int i;

	/* An empty .log left by a roll that died is taken over; one that
	 * holds data is never truncated. */
	if (seg_files(dirfd, base, fds, O_CREAT | O_EXCL) == 0)
		return 0;
	if (errno != EEXIST || seg_files(dirfd, base, fds, 0) != 0)
		return errno;
	if (fstat(fds[0], &sb) == 0 && sb.st_size == 0 &&
	    ftruncate(fds[1], 0) == 0 && ftruncate(fds[2], 0) == 0)
		return 0;
	for (i = 0; i < 3; i++)
		close(fds[i]);
	return EEXIST;
}

int
seg_remove(int dirfd, int64_t base)
{
	char name[SEGNAME_SIZE];
	int i, rc = 0;

	/* The .log first, and alone if it stays: a segment without its
	 * indexes is damage to mq-check, one left whole is not. */
	for (i = 0; i < 3; i++) {
		seg_name(name, base, seg_ext[i]);
		if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT) {
			if (rc == 0)
				rc = errno;
			if (i == 0)
				break;
		}
	}
	return rc;
}

int
seg_open(int dirfd, int64_t base, int fds[3])
{
	return seg_files(dirfd, base, fds, 0) == 0 ? 0 : errno;
}

/* Opens an index file read-only and counts its whole entries. */
static int
open_index(int dirfd, int64_t base, const char *ext, size_t entry,
    int *fd, int64_t *n)
{
	struct stat sb;
	char name[SEGNAME_SIZE];

	seg_name(name, base, ext);
	*n = 0;
	if ((*fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : errno;
	if (fstat(*fd, &sb) == -1) {
		close(*fd);
		*fd = -1;
		return errno;
	}
	*n = sb.st_size / (off_t)entry;
	return 0;
}

static int
read_entry(int fd, int64_t i, unsigned char *e, size_t size)
{
	ssize_t n = pread(fd, e, size, (off_t)i * (off_t)size);

	if (n == (ssize_t)size)
		return 0;
	return n == -1 ? errno : MQ_ECORRUPT;
}

int
index_lookup(int dirfd, int64_t base, int64_t target, int64_t *pos)
{
	unsigned char e[INDEX_ENTRY];
	int64_t lo = 0, hi, mid, n;
	int fd = -1, rc;

	*pos = 0;
	if ((rc = open_index(dirfd, base, ".index", INDEX_ENTRY, &fd, &n)) ||
	    fd == -1)
		return rc;
	/* Largest entry whose offset is <= target. */
	hi = n - 1;
	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if ((rc = read_entry(fd, mid, e, sizeof(e))) != 0)
			break;
		if (base + get_be32(e) <= target) {
			*pos = get_be32(e + 4);
			lo = mid + 1;
		} else
			hi = mid - 1;
	}
	close(fd);
	return rc;
}

/* Is time index entry k (k > 0) in order with entry k - 1?  0, -1 if
 * not, or errno. */
static int
tentry_ordered(int fd, int64_t k)
{
	unsigned char a[TINDEX_ENTRY], b[TINDEX_ENTRY];
	int rc;

	if (k == 0)
		return 0;
	if ((rc = read_entry(fd, k - 1, a, sizeof(a))) != 0 ||
	    (rc = read_entry(fd, k, b, sizeof(b))) != 0)
		return rc;
	return (int64_t)get_be64(a) <= (int64_t)get_be64(b) &&
	    get_be32(a + 8) <= get_be32(b + 8) ? 0 : -1;
}

int
tindex_lookup(int dirfd, int64_t base, int64_t ts, int64_t *offset,
    int64_t *last_ts)
{
	unsigned char e[TINDEX_ENTRY];
	int64_t lo = 0, hi, mid, n;
	int fd = -1, rc;

	*offset = base;
	*last_ts = -1;
	if ((rc = open_index(dirfd, base, ".timeindex", TINDEX_ENTRY, &fd,
	    &n)) || fd == -1)
		return rc;
	if (n > 0 && (rc = read_entry(fd, n - 1, e, sizeof(e))) == 0)
		*last_ts = (int64_t)get_be64(e);
	hi = n - 1;
	while (rc == 0 && lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if ((rc = read_entry(fd, mid, e, sizeof(e))) != 0)
			break;
		if ((int64_t)get_be64(e) < ts) {
			*offset = base + get_be32(e + 8);
			lo = mid + 1;
		} else
			hi = mid - 1;
	}
	/*
	 * The index is derived data that may be damaged: an entry is
	 * believed only if it is in order with the one before it, or an
	 * entry going backwards would send a reader past records it wants.
	 * Otherwise the segment is read from its start.
	 */
	if (rc == 0 && hi >= 0 && (rc = tentry_ordered(fd, hi)) == -1) {
		*offset = base;
		rc = 0;
		if (hi == n - 1)
			*last_ts = -1;
	}
	if (rc == 0 && hi != n - 1 && (rc = tentry_ordered(fd, n - 1)) == -1) {
		*last_ts = -1;
		rc = 0;
	}
	close(fd);
	return rc;
}

int
mq_segments(struct mq_topic *t, int part, int64_t **bases, size_t *n)
{
	int fd, rc;

	*bases = NULL;
	*n = 0;
	if ((rc = part_open(t, part, &fd)) != 0)
		return rc;
	rc = seg_list(fd, bases, n);
	close(fd);
	if (rc != 0)
		return log_fail(t->log, rc, "%s-%d: %s", t->name, part,
		    strerror(rc));
	return 0;
}

int
mq_segment_path(const struct mq_topic *t, int part, int64_t base,
    const char *ext, char *buf, size_t size)
{
	char seg[SEGNAME_SIZE], dir[MQ_TOPIC_MAX + 16];
	int n, fd;

	snprintf(dir, sizeof(dir), "%s-%d", t->name, part);
	if (ext != NULL) {
		fd = openat(t->fd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd != -1) {
			seg_view_name(fd, base, ext, seg);
			close(fd);
		} else
			seg_name(seg, base, ext);
	}
	n = snprintf(buf, size, "%s/topics/%s/%s%s%s", t->log->path,
	    t->name, dir, ext != NULL ? "/" : "", ext != NULL ? seg : "");
	return n < 0 || (size_t)n >= size ? ENAMETOOLONG : 0;
}

int
mq_partition_info(struct mq_topic *t, int part, struct mq_partition_info *pi)
{
	struct pstate st;
	struct stat sb;
	int64_t *bases;
	char name[SEGNAME_SIZE];
	size_t i;
	int fd, sfd, rc;

	memset(pi, 0, sizeof(*pi));
	if ((rc = part_open(t, part, &fd)) != 0)
		return rc;
	if ((sfd = openat(fd, STATE_FILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		rc = errno;
	else {
		rc = pstate_read(sfd, &st);
		close(sfd);
	}
	if (rc == 0 && (rc = seg_list(fd, &bases, &pi->segments)) == 0) {
		for (i = 0; i < pi->segments; i++) {
			seg_name(name, bases[i], ".log");
			if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
				pi->bytes += sb.st_size;
		}
		free(bases);
	}
	close(fd);
	if (rc != 0)
		return log_fail(t->log, rc, "%s-%d: %s: %s", t->name, part,
		    STATE_FILE, mq_strerror(rc));
	pi->start = st.start_offset;
	pi->end = st.hw_offset;
	return 0;
}

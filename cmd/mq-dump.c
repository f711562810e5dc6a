/* SPDX-License-Identifier: MIT */
/*
 * mq-dump - show segment files batch by batch, as kafka-dump-log.sh does:
 * each batch's header, with -r each record, the entries of the offset and
 * time indexes, and with --verify-index whether those entries agree with
 * the log.
 *
 * It is the tool for a person looking at a log by hand, so it shows
 * damage where it is rather than stopping at it: a batch whose CRC fails
 * but whose length still leads to a batch is shown as bad and the walk
 * goes on; only a length that cannot be trusted ends the walk, with the
 * bytes left counted.  Files are read with pread(2) in large blocks and
 * never written.  A TOPIC operand reads only the partition's own files
 * (O_NOFOLLOW), and bytes past the partition's committed end are a
 * producer's write in progress, not damage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define CHUNK		(1 << 20)	/* read this much at a time */
#define HDR_MIN		17		/* length field and magic */
#define IDX_ENTRY	8
#define TIDX_ENTRY	12
#define NOEND		INT64_MAX	/* no committed end known */

static const char usage_str[] =
    "usage: mq-dump [-cir] [-d dir] file ...\n"
    "       mq-dump [-cir] [-d dir] topic[:partition] ...\n";

enum { OPT_VERIFY = 256 };

static const struct option longopts[] = {
	{ "dir",		required_argument,	NULL, 'd' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "indexes",		no_argument,		NULL, 'i' },
	{ "print-data-log",	no_argument,		NULL, 'r' },
	{ "records",		no_argument,		NULL, 'r' },
	{ "verify-index",	no_argument,		NULL, 'c' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

enum kind { K_LOG, K_INDEX, K_TIMEINDEX };
static const char *const kind_ext[] = { ".log", ".index", ".timeindex" };

/* An operand, checked before anything is dumped. */
struct operand {
	const char *arg;
	enum kind kind;		/* files */
	int64_t	base;		/* files: from the name */
	struct mq_topic *t;	/* topics; NULL for a file */
	int	part;		/* -1 for every partition */
	int	skip;		/* could not be opened */
};

/* A file being read: a window of it in buf. */
struct src {
	const char *path;
	int	fd;
	off_t	size;
	unsigned char *buf;
	size_t	cap, len;
	off_t	at;		/* file position of buf[0] */
};

static struct {
	int	records, indexes, verify;
} opt;

static struct mq_ixcheck *ix;	/* --verify-index: the entries checked */

static int damaged;		/* damage was found: exit 3 */
static int failed;		/* a runtime error: exit 1 */

/* ------------------------------------------------------------------ */
/* Reading                                                             */

/*
 * Opens path read-only; nofollow refuses a symbolic link.  Returns the
 * descriptor, or -1 after a warning.
 */
static int
open_file(int dirfd, const char *name, const char *path, int nofollow,
    off_t *size)
{
	struct stat sb;
	int fd, flags = O_RDONLY | O_NONBLOCK | O_CLOEXEC;

	if (nofollow)
		flags |= O_NOFOLLOW;
	if ((fd = openat(dirfd, name, flags)) == -1) {
		if (errno == ELOOP && nofollow)
			warnmsg("%s: a symbolic link: not followed", path);
		else
			warnmsg("%s: %s", path, strerror(errno));
		failed = 1;
		return -1;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		warnmsg("%s: %s", path, S_ISREG(sb.st_mode) ? strerror(errno) :
		    "not a regular file");
		close(fd);
		failed = 1;
		return -1;
	}
	*size = sb.st_size;
	return fd;
}

/*
 * Makes the n bytes at pos readable, fewer at the end of the file.
 * Returns a pointer with *got set, or NULL after a read error.
 */
static const unsigned char *
get(struct src *s, off_t pos, size_t n, size_t *got)
{
	size_t want;
	ssize_t r;

	if ((off_t)n > s->size - pos)
		n = (size_t)(s->size - pos);
	if (pos >= s->at && pos + (off_t)n <= s->at + (off_t)s->len) {
		*got = n;
		return s->buf + (pos - s->at);
	}
	want = n > CHUNK ? n : CHUNK;
	if (want > s->cap) {
		unsigned char *p;

		if ((p = realloc(s->buf, want)) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		s->buf = p;
		s->cap = want;
	}
	s->at = pos;
	s->len = 0;
	while (s->len < want) {
		r = pread(s->fd, s->buf + s->len, want - s->len,
		    pos + (off_t)s->len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			warnmsg("%s: %s", s->path, strerror(errno));
			failed = 1;
			s->len = 0;
			return NULL;
		}
		if (r == 0)
			break;
		s->len += (size_t)r;
	}
	*got = n < s->len ? n : s->len;
	return s->buf;
}

static void
src_close(struct src *s)
{
	if (s->fd != -1)
		close(s->fd);
	free(s->buf);
	memset(s, 0, sizeof(*s));
	s->fd = -1;
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
be64(const unsigned char *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */

/*
 * Writes len bytes as one line of text, whole: printable ASCII as it is,
 * a backslash as \\, other bytes (and, with comma set, a comma) as \xHH.
 */
static void
put_escaped(const void *p, size_t len, int comma)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\\')
			fputs("\\\\", stdout);
		else if (s[i] < 0x20 || s[i] > 0x7e || (comma && s[i] == ','))
			printf("\\x%02x", s[i]);
		else
			putchar(s[i]);
	}
}

static const char *
codec(int16_t attributes)
{
	static const char *const name[] = {
		"none", "gzip", "snappy", "lz4", "zstd"
	};
	int c = attributes & 0x07;

	return c < 5 ? name[c] : "unknown";
}

static const char *
ts_name(int16_t attributes)
{
	return attributes & MQ_ATTR_LOGAPPEND ? "LogAppendTime" : "CreateTime";
}

/* Kafka's sequence arithmetic: wraps at 2^31. */
static int32_t
seq_add(int32_t base, int64_t delta)
{
	if (base < 0)
		return -1;
	return (int32_t)(((int64_t)base + delta) % ((int64_t)INT32_MAX + 1));
}

static void
print_batch(const struct mq_batch_info *b, int64_t pos, int valid)
{
	printf("baseOffset: %" PRId64 " lastOffset: %" PRId64 " count: %"
	    PRId32 " baseSequence: %" PRId32 " lastSequence: %" PRId32
	    " producerId: %" PRId64 " producerEpoch: %d partitionLeaderEpoch: %"
	    PRId32 " isTransactional: %s isControl: %s deleteHorizonMs: ",
	    b->base_offset, b->last_offset, b->count, b->base_sequence,
	    seq_add(b->base_sequence, b->last_offset - b->base_offset),
	    b->producer_id, b->producer_epoch, b->leader_epoch,
	    b->attributes & 0x10 ? "true" : "false",
	    b->attributes & 0x20 ? "true" : "false");
	if (b->attributes & 0x40)
		printf("OptionalLong[%" PRId64 "]", b->base_timestamp);
	else
		fputs("OptionalLong.empty", stdout);
	printf(" position: %" PRId64 " %s: %" PRId64 " size: %" PRId32
	    " magic: %d compresscodec: %s crc: %" PRIu32 " isvalid: %s\n",
	    pos, ts_name(b->attributes), b->max_timestamp, b->length,
	    b->magic, codec(b->attributes), b->crc, valid ? "true" : "false");
}

/* Prints the records of a valid batch; returns -1 on a bad record. */
static int
print_records(const unsigned char *batch, int64_t pos)
{
	struct mq_batch_iter it;
	struct mq_record r;
	struct mq_header h;
	size_t i;
	int rc;

	mq_batch_iter_init(&it, batch);
	while ((rc = mq_batch_iter_next(&it, &r)) == 1) {
		printf("| offset: %" PRId64 " %s: %" PRId64 " keySize: %zd "
		    "valueSize: %zd sequence: %" PRId32 " headerKeys: [",
		    r.offset, ts_name(it.info.attributes), r.timestamp,
		    r.keylen, r.vallen, seq_add(it.info.base_sequence,
		    r.offset - it.info.base_offset));
		for (i = 0; i < r.nheaders; i++) {
			if (mq_record_header(&r, i, &h) != 0) {
				printf("]\nposition: %" PRId64 ": bad record "
				    "at offset %" PRId64 ": bad header\n", pos,
				    r.offset);
				return -1;
			}
			if (i > 0)
				putchar(',');
			put_escaped(h.key, h.keylen, 1);
		}
		putchar(']');
		if (r.key != NULL) {
			fputs(" key: ", stdout);
			put_escaped(r.key, (size_t)r.keylen, 0);
		}
		if (r.value != NULL) {
			fputs(" payload: ", stdout);
			put_escaped(r.value, (size_t)r.vallen, 0);
		}
		putchar('\n');
	}
	if (rc != 0) {
		printf("position: %" PRId64 ": bad record after offset %" PRId64
		    "\n", pos, it.info.base_offset + it.info.count -
		    it.left - 1);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Segments                                                            */

/* Does the next batch start at pos?  (At the end counts as yes.) */
static int
plausible(struct src *s, off_t pos)
{
	struct mq_batch_info b;
	const unsigned char *p;
	const char *why;
	size_t got;

	if (pos == s->size)
		return 1;
	if ((p = get(s, pos, HDR_MIN, &got)) == NULL)
		return 0;
	return got == HDR_MIN && mq_batch_check(p, got, &b, &why) !=
	    MQ_ECORRUPT;
}

/*
 * Walks the .log open in s, whose base offset (from its name) is base:
 * prints each batch (and its records with -r) if print is set, and
 * damage where it is found; hands the valid batches to x, if not NULL,
 * to check the indexes against.  Batches at or past the committed end
 * offset end are an uncommitted tail.
 */
static void
walk_log(struct src *s, int64_t base, int64_t end, int print,
    struct mq_ixcheck *x)
{
	struct mq_batch_info b;
	const unsigned char *p;
	const char *why;
	int64_t next = base, prev = -1;
	off_t pos = 0;
	size_t got;
	int rc;

	if (print) {
		printf("Dumping %s\nLog starting offset: %" PRId64 "\n",
		    s->path, base);
		if (s->size == 0)
			printf("%s is empty.\n", s->path);
	}
	while (pos < s->size) {
		if (next >= end) {
			if (print)
				printf("%jd uncommitted bytes at the end of %s "
				    "(past the committed end)\n",
				    (intmax_t)(s->size - pos), s->path);
			break;
		}
		if ((p = get(s, pos, MQ_BATCH_HEADER, &got)) == NULL)
			break;
		rc = mq_batch_check(p, got, &b, &why);
		if (rc == EAGAIN && got >= HDR_MIN && b.length <= s->size -
		    pos) {
			if ((p = get(s, pos, (size_t)b.length, &got)) == NULL)
				break;
			rc = mq_batch_check(p, got, &b, &why);
		}
		if (rc == 0) {
			if (prev >= 0 && b.base_offset != prev + 1 && print)
				printf("Non-consecutive offsets in %s: %" PRId64
				    " is followed by %" PRId64 "\n", s->path,
				    prev, b.base_offset);
			if (prev >= 0 && b.base_offset <= prev)
				damaged = 1;
			if (print)
				print_batch(&b, pos, 1);
			if (b.base_offset < base) {
				damaged = 1;
				if (print)
					printf("position: %jd: base offset %"
					    PRId64 " is below the segment's "
					    "%" PRId64 "\n", (intmax_t)pos,
					    b.base_offset, base);
			}
			if (print && opt.records && print_records(p, pos) != 0)
				damaged = 1;
			if (x != NULL)
				mq_ixcheck_batch(x, pos, &b);
			prev = b.last_offset;
			next = b.last_offset + 1;
			pos += b.length;
			continue;
		}
		damaged = 1;
		if (rc == EAGAIN) {
			if (print) {
				if (got >= HDR_MIN)
					printf("position: %jd: batch cut short: "
					    "%" PRId32 " bytes, %jd there\n",
					    (intmax_t)pos, b.length,
					    (intmax_t)(s->size - pos));
				printf("Found %jd invalid bytes at the end of "
				    "%s\n", (intmax_t)(s->size - pos),
				    s->path);
			}
			break;
		}
		if (b.magic == 2 && strcmp(why, "bad batch length") != 0 &&
		    plausible(s, pos + b.length)) {
			/* The length led to a batch: only this one is bad. */
			if (print) {
				print_batch(&b, pos, 0);
				if (strcmp(why, "CRC mismatch") == 0)
					printf("position: %jd: bad batch: CRC "
					    "mismatch (stored 0x%08" PRIx32
					    ", computed 0x%08" PRIx32 ")\n",
					    (intmax_t)pos, b.crc, mq_crc32c(0,
					    p + 21, (size_t)b.length - 21));
				else
					printf("position: %jd: bad batch: %s\n",
					    (intmax_t)pos, why);
			}
			prev = -1;
			next = b.last_offset + 1;
			pos += b.length;
			continue;
		}
		if (print) {
			printf("position: %jd: bad batch: %s\n", (intmax_t)pos,
			    b.magic == 2 && strcmp(why, "bad batch length") != 0
			    ? "length leads to no batch" : why);
			printf("Found %jd invalid bytes at the end of %s\n",
			    (intmax_t)(s->size - pos), s->path);
		}
		break;
	}
}

/* Where --verify-index prints an index's problems. */
struct mismatches {
	const char *path;
	size_t	n;
};

/* Prints the "Mismatches in" header once per file, then one problem. */
static void
mismatch(void *arg, const char *msg)
{
	struct mismatches *mm = arg;

	if (mm->n++ == 0)
		printf("Mismatches in :%s\n", mm->path);
	printf("  %s\n", msg);
	damaged = 1;
}

/*
 * Dumps the index open in s, of kind k and base offset base; or with x
 * (--verify-index), which holds its entries and was fed the valid
 * batches of its log (logsize bytes), checks them.  end is the
 * committed end offset: entries at or past it belong to a write in
 * progress and are not checked.
 */
static void
walk_index(struct src *s, enum kind k, int64_t base, int64_t end,
    const struct mq_ixcheck *x, int64_t logsize)
{
	size_t esize = k == K_INDEX ? IDX_ENTRY : TIDX_ENTRY, got;
	struct mismatches mm = { s->path, 0 };
	int64_t i, n = s->size / (off_t)esize;
	const unsigned char *p;

	printf("Dumping %s\n", s->path);
	if (s->size == 0) {
		printf("%s is empty.\n", s->path);
		if (x != NULL)
			printf("%s passed sanity check.\n", s->path);
		return;
	}
	if (x != NULL) {
		if (mq_ixcheck_report(x, k == K_INDEX ? MQ_INDEX_OFFSET :
		    MQ_INDEX_TIME, logsize, end, mismatch, &mm) == 0)
			printf("%s passed sanity check.\n", s->path);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((p = get(s, (off_t)(i * (int64_t)esize), esize, &got)) ==
		    NULL)
			return;
		if (got < esize)
			break;
		if (k == K_INDEX)
			printf("offset: %" PRId64 " position: %" PRIu32 "\n",
			    base + (int32_t)be32(p), be32(p + 4));
		else
			printf("timestamp: %" PRId64 " offset: %" PRId64 "\n",
			    (int64_t)be64(p), base + (int32_t)be32(p + 8));
	}
	if (s->size % (off_t)esize != 0) {
		damaged = 1;
		printf("Found %jd invalid bytes at the end of %s\n",
		    (intmax_t)(s->size % (off_t)esize), s->path);
	}
}

/*
 * Loads the index open in s into ix for --verify-index; one that cannot
 * be read is closed, not checked.
 */
static void
load_index(struct src *s, enum kind k)
{
	int rc;

	rc = mq_ixcheck_load(ix, k == K_INDEX ? MQ_INDEX_OFFSET :
	    MQ_INDEX_TIME, s->fd, -1);
	if (rc != 0) {
		warnmsg("%s: %s", s->path, strerror(rc));
		failed = 1;
		src_close(s);
	}
}

/* ------------------------------------------------------------------ */
/* Operands                                                            */

/* A segment file's kind and base offset, from its name; -1 if not one. */
static int
parse_segname(const char *path, enum kind *k, int64_t *base)
{
	const char *name = strrchr(path, '/'), *ext;
	int i;

	if (mq_segment_parse(name == NULL ? path : name + 1, base, &ext) != 0)
		return -1;
	for (i = 0; strcmp(ext, kind_ext[i]) != 0; i++)
		;
	*k = (enum kind)i;
	return 0;
}

/* Is arg a file (a slash, or a segment extension) rather than a topic? */
static int
is_file(const char *arg)
{
	size_t len = strlen(arg), i, e;

	if (strchr(arg, '/') != NULL)
		return 1;
	for (i = 0; i < 3; i++) {
		e = strlen(kind_ext[i]);
		if (len >= e && strcmp(arg + len - e, kind_ext[i]) == 0)
			return 1;
	}
	return 0;
}

static void
parse_operand(struct operand *o, const char *arg, struct mq_log **l,
    const char *dir)
{
	char *name;
	int rc, part;

	o->arg = arg;
	o->part = -1;
	if (is_file(arg)) {
		if (parse_segname(arg, &o->kind, &o->base) != 0)
			die(EXIT_USAGE, "%s: not a segment file (expected "
			    "a 20-digit base offset and .log, .index or "
			    ".timeindex)", arg);
		return;
	}
	if ((name = strdup(arg)) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	topic_part(usage_str, name, &part);
	if (*l == NULL)
		*l = open_log(dir, 0);
	/* A topic that cannot be opened is a runtime error, like a
	 * missing file: the other operands are still dumped. */
	if ((rc = mq_topic_open(*l, name, &o->t)) != 0) {
		warnmsg("%s", mq_log_errdetail(*l));
		if (exit_for(rc) == EXIT_DATA)
			damaged = 1;
		else
			failed = 1;
		o->skip = 1;
		free(name);
		return;
	}
	if (part >= mq_topic_partitions(o->t))
		die(EXIT_USAGE, "%s: partition %d: no such partition "
		    "(the topic has %d)", name, part,
		    mq_topic_partitions(o->t));
	o->part = part;
	free(name);
}

/* Dumps a file operand. */
static void
dump_file(const struct operand *o)
{
	struct src s = { .fd = -1 }, ls = { .fd = -1 };
	char *logpath;
	size_t len;

	s.path = o->arg;
	if ((s.fd = open_file(AT_FDCWD, o->arg, o->arg, 0, &s.size)) == -1)
		return;
	if (o->kind == K_LOG) {
		walk_log(&s, o->base, NOEND, 1, NULL);
	} else if (!opt.verify) {
		walk_index(&s, o->kind, o->base, NOEND, NULL, 0);
	} else {
		/* The log beside it, to check the entries against. */
		len = strlen(o->arg) - strlen(kind_ext[o->kind]);
		if ((logpath = malloc(len + 5)) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		memcpy(logpath, o->arg, len);
		memcpy(logpath + len, ".log", 5);
		ls.path = logpath;
		if ((ls.fd = open_file(AT_FDCWD, logpath, logpath, 0,
		    &ls.size)) != -1) {
			mq_ixcheck_start(ix, o->base);
			load_index(&s, o->kind);
			walk_log(&ls, o->base, NOEND, 0, ix);
			if (s.fd != -1)
				walk_index(&s, o->kind, o->base, NOEND, ix,
				    ls.size);
		} else
			warnmsg("%s: cannot verify without its log", o->arg);
		src_close(&ls);
		free(logpath);
	}
	src_close(&s);
}

/*
 * Opens file k of segment base of a partition (dirfd) into s, its path
 * in path (4096 bytes).  Returns 0, or -1 after a warning.
 */
static int
open_seg(struct mq_topic *t, int part, int dirfd, int64_t base, enum kind k,
    struct src *s, char *path)
{
	if (mq_segment_path(t, part, base, kind_ext[k], path, 4096) != 0)
		die(EXIT_FAIL, "%020" PRId64 "%s: %s", base, kind_ext[k],
		    strerror(ENAMETOOLONG));
	/* The file readers read, which a compaction cut short may have
	 * named .swap. */
	s->path = path;
	s->fd = open_file(dirfd, strrchr(path, '/') + 1, path, 1, &s->size);
	return s->fd == -1 ? -1 : 0;
}

/*
 * Dumps one segment of a partition (dirfd) and, with -i or -c, its
 * indexes.  end is the partition's committed end offset: batches at or
 * past it are a write in progress.  For -c the indexes are loaded
 * before the log is walked, so that the walk can check them.
 */
static void
dump_segment(struct mq_topic *t, int part, int dirfd, int64_t base,
    int64_t end)
{
	struct src s[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = -1 } };
	char path[3][4096];
	int k, files = opt.indexes || opt.verify ? 3 : 1;

	if (open_seg(t, part, dirfd, base, K_LOG, &s[K_LOG],
	    path[K_LOG]) == -1)
		return;
	for (k = K_INDEX; k < files; k++)
		open_seg(t, part, dirfd, base, (enum kind)k, &s[k], path[k]);
	if (opt.verify) {
		mq_ixcheck_start(ix, base);
		for (k = K_INDEX; k < files; k++)
			if (s[k].fd != -1)
				load_index(&s[k], (enum kind)k);
	}
	walk_log(&s[K_LOG], base, end, 1, opt.verify ? ix : NULL);
	for (k = K_INDEX; k < files; k++)
		if (s[k].fd != -1)
			walk_index(&s[k], (enum kind)k, base, end, opt.verify ?
			    ix : NULL, s[K_LOG].size);
	for (k = K_LOG; k < files; k++)
		src_close(&s[k]);
}

/* Dumps a partition's segments in offset order. */
static void
dump_partition(struct mq_log *l, struct mq_topic *t, int part)
{
	struct mq_reader *r;
	int64_t *bases, end = NOEND;
	char dpath[4096];
	size_t n, i;
	int rc, dirfd;

	/* The committed end first: what is past it when the files are
	 * read is a write in progress. */
	if ((rc = mq_reader_open(t, part, &r)) == 0) {
		rc = mq_reader_offsets(r, NULL, &end);
		mq_reader_close(r);
	}
	if (rc != 0) {
		warnmsg("%s", mq_log_errdetail(l));
		failed = 1;
		end = NOEND;
	}
	if ((rc = mq_segments(t, part, &bases, &n)) != 0) {
		warnmsg("%s", mq_log_errdetail(l));
		failed = 1;
		return;
	}
	if (mq_segment_path(t, part, 0, NULL, dpath, sizeof(dpath)) != 0 ||
	    (dirfd = open(dpath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		warnmsg("%s: %s", dpath, strerror(errno));
		failed = 1;
		free(bases);
		return;
	}
	for (i = 0; i < n; i++)
		dump_segment(t, part, dirfd, bases[i], end);
	close(dirfd);
	free(bases);
}

int
main(int argc, char *argv[])
{
	struct operand *ops;
	struct mq_log *l = NULL;
	const char *dir = NULL;
	int ch, k, p;

	prog = "mq-dump";
	argv[0] = (char *)prog;		/* for getopt's messages */
	while ((ch = getopt_long(argc, argv, "cd:hirV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			opt.verify = 1;
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'i':
			opt.indexes = 1;
			break;
		case 'r':
			opt.records = 1;
			break;
		case 'V':
			print_version();
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(usage_str, "no file or topic given");
	if (opt.verify && mq_ixcheck_open(&ix) != 0)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	if ((ops = calloc((size_t)argc, sizeof(*ops))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (k = 0; k < argc; k++)
		parse_operand(&ops[k], argv[k], &l, dir);
	if (setvbuf(stdout, NULL, _IOFBF, CHUNK) != 0)
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
	for (k = 0; k < argc; k++) {
		if (ops[k].skip)
			continue;
		if (ops[k].t == NULL)
			dump_file(&ops[k]);
		else if (ops[k].part >= 0)
			dump_partition(l, ops[k].t, ops[k].part);
		else
			for (p = 0; p < mq_topic_partitions(ops[k].t); p++)
				dump_partition(l, ops[k].t, p);
	}
	for (k = 0; k < argc; k++)
		if (ops[k].t != NULL)
			mq_topic_close(ops[k].t);
	free(ops);
	mq_ixcheck_close(ix);
	if (l != NULL)
		mq_log_close(l);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
	return failed ? EXIT_FAIL : damaged ? EXIT_DATA : EXIT_OK;
}

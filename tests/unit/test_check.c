/* SPDX-License-Identifier: MIT */
/*
 * test_check.c - the checker through liblog's public API: the index
 * verifier against entries and batches made by hand, and mq_check_* on
 * a log damaged on purpose, down to what the bats tests cannot see:
 * each problem's kind, fix and done, and the counts.  Works in a mkdtemp
 * directory under /tmp, removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ref.h"
#include "tap.h"

static char tmpdir[] = "/tmp/mq-test-check.XXXXXX";

/* ------------------------------------------------------------------ */
/* The index verifier                                                  */

#define BASE	100

/* What a report said: how many lines, and the first. */
struct said {
	size_t	n;
	char	first[256];
};

static void
hear(void *arg, const char *msg)
{
	struct said *s = arg;

	if (s->n++ == 0)
		snprintf(s->first, sizeof(s->first), "%s", msg);
}

/* Three batches: 101 at 0, 102-103 at 70, 104-105 at 140; 210 bytes. */
static const struct mq_batch_info batch[3] = {
	{ .base_offset = 100, .last_offset = 101, .length = 70,
	    .max_timestamp = 10 },
	{ .base_offset = 102, .last_offset = 103, .length = 70,
	    .max_timestamp = 20 },
	{ .base_offset = 104, .last_offset = 105, .length = 70,
	    .max_timestamp = 30 },
};

/* A file holding len bytes, open for reading. */
static int
file_of(const void *p, size_t len)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "%s/idx", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || pwrite(fd, p, len, 0) != (ssize_t)len)
		ok(0, "write %s: %s", path, strerror(errno));
	return fd;
}

/*
 * Loads entries (pairs of relative offset and position, or timestamp
 * and relative offset) plus extra stray bytes as an index of kind, with
 * count, feeds the three batches and reports up to end.
 */
static struct said
judge(struct mq_ixcheck *x, int kind, const int64_t (*e)[2], size_t n,
    size_t extra, int64_t count, int64_t end)
{
	unsigned char buf[256] = { 0 };
	struct said s = { 0 };
	size_t es = kind == MQ_INDEX_OFFSET ? 8 : 12, i;
	int fd;

	for (i = 0; i < n; i++)
		if (kind == MQ_INDEX_OFFSET) {
			put_be32(buf + i * es, (uint32_t)e[i][0]);
			put_be32(buf + i * es + 4, (uint32_t)e[i][1]);
		} else {
			put_be64(buf + i * es, (uint64_t)e[i][0]);
			put_be32(buf + i * es + 8, (uint32_t)e[i][1]);
		}
	mq_ixcheck_start(x, BASE);
	fd = file_of(buf, n * es + extra);
	ok(mq_ixcheck_load(x, kind, fd, count) == 0, "load %zu entries", n);
	close(fd);
	for (i = 0; i < 3; i++)
		mq_ixcheck_batch(x, 70 * (int64_t)i, &batch[i]);
	mq_ixcheck_report(x, kind, 210, end, hear, &s);
	return s;
}

static void
check_verifier(void)
{
	static const int64_t good[][2] = { { 1, 0 }, { 5, 140 } };
	static const int64_t tgood[][2] = { { 10, 1 }, { 30, 5 } };
	static const int64_t wrong[][2] = { { 3, 0 } };
	static const int64_t inside[][2] = { { 3, 71 } };
	static const int64_t past[][2] = { { 5, 500 } };
	static const int64_t back[][2] = { { 5, 140 }, { 3, 70 } };
	static const int64_t below[][2] = { { -1, 0 } };
	static const int64_t twrong[][2] = { { 20, 1 } };
	static const int64_t tnone[][2] = { { 20, 2 } };
	static const int64_t tback[][2] = { { 30, 5 }, { 10, 1 } };
	struct mq_ixcheck *x;
	struct said s;

	ok(mq_ixcheck_open(&x) == 0, "mq_ixcheck_open");
	s = judge(x, MQ_INDEX_OFFSET, good, 2, 0, -1, INT64_MAX);
	ok(s.n == 0, "a right offset index passes (%s)", s.first);
	s = judge(x, MQ_INDEX_TIME, tgood, 2, 0, -1, INT64_MAX);
	ok(s.n == 0, "a right time index passes (%s)", s.first);

	s = judge(x, MQ_INDEX_OFFSET, wrong, 1, 0, -1, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "entry 0: Index offset: 103, log "
	    "offset: 101") == 0, "wrong offset: %s", s.first);
	s = judge(x, MQ_INDEX_OFFSET, inside, 1, 0, -1, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "entry 0: offset 103 position 71: not "
	    "the start of a valid batch") == 0, "inside a batch: %s", s.first);
	s = judge(x, MQ_INDEX_OFFSET, past, 1, 0, -1, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "entry 0: offset 105 position 500: "
	    "past the end of the log (210 bytes)") == 0, "past the end: %s",
	    s.first);
	s = judge(x, MQ_INDEX_OFFSET, back, 2, 0, -1, INT64_MAX);
	ok(s.n == 1 && strncmp(s.first, "entry 1: offset 103 position 70: "
	    "not above the entry before", 59) == 0, "out of order: %s",
	    s.first);
	s = judge(x, MQ_INDEX_OFFSET, below, 1, 0, -1, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "entry 0: offset 99 is below the "
	    "segment's base offset") == 0, "below the base: %s", s.first);
	s = judge(x, MQ_INDEX_OFFSET, good, 2, 5, -1, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "5 bytes at the end are not a whole "
	    "entry") == 0, "part of an entry: %s", s.first);

	s = judge(x, MQ_INDEX_TIME, twrong, 1, 0, -1, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "entry 0: Index timestamp: 20, log "
	    "timestamp: 10") == 0, "wrong time: %s", s.first);
	s = judge(x, MQ_INDEX_TIME, tnone, 1, 0, -1, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "entry 0: timestamp 20 offset 102: "
	    "no valid batch ends at that offset") == 0, "no batch ends: %s",
	    s.first);
	s = judge(x, MQ_INDEX_TIME, tback, 2, 0, -1, INT64_MAX);
	ok(s.n == 1 && strncmp(s.first, "entry 1: timestamp 10 offset 101: "
	    "out of order", 46) == 0, "time out of order: %s", s.first);

	/* An active segment's index: entries past the count are not its. */
	s = judge(x, MQ_INDEX_OFFSET, back, 2, 5, 1, INT64_MAX);
	ok(s.n == 0, "entries past the count are not judged (%s)", s.first);
	s = judge(x, MQ_INDEX_OFFSET, good, 2, 0, 3, INT64_MAX);
	ok(s.n == 1 && strcmp(s.first, "2 entries, partition.state counts 3")
	    == 0, "fewer entries than counted: %s", s.first);
	/* mq-dump's committed end: entries at or past it are skipped. */
	s = judge(x, MQ_INDEX_OFFSET, past, 1, 0, -1, 105);
	ok(s.n == 0, "entries past the end offset are not judged (%s)",
	    s.first);
	mq_ixcheck_close(x);
}

/* ------------------------------------------------------------------ */
/* Checking a log                                                      */

#define MAXP	16

/* What a check reported. */
struct seen {
	size_t	n;
	struct {
		int	kind, fix, done;
		int64_t	pos;
		char	file[128], what[256], how[128];
	} p[MAXP];
};

static void
see(void *arg, const struct mq_problem *p)
{
	struct seen *s = arg;

	if (s->n < MAXP) {
		s->p[s->n].kind = p->kind;
		s->p[s->n].fix = p->fix;
		s->p[s->n].done = p->done != NULL;
		s->p[s->n].pos = p->pos;
		snprintf(s->p[s->n].file, sizeof(s->p[0].file), "%s", p->file);
		snprintf(s->p[s->n].what, sizeof(s->p[0].what), "%s", p->what);
		snprintf(s->p[s->n].how, sizeof(s->p[0].how), "%s",
		    p->done != NULL ? p->done : "");
	}
	s->n++;
}

/* Checks topic t with flags; s gets the problems, n the counts. */
static int
run_check(struct mq_log *l, int flags, const char *topic, int part,
    struct seen *s, struct mq_check_counts *n)
{
	struct mq_check *c;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = mq_check_open(l, flags, see, s, &c)) != 0)
		return rc;
	rc = mq_check_topic(c, topic, part);
	mq_check_counts(c, n);
	mq_check_close(c);
	return rc;
}

/* Topic t: nine batches of two records, three to a 300-byte segment. */
static int
fill(struct mq_log *l)
{
	struct mq_appender *a;
	struct mq_topic *t;
	struct mq_config conf;
	struct mq_batch b, *bp = &b;
	struct mq_record r;
	const char *why;
	char val[8];
	int64_t first;
	int i, k, rc;

	mq_config_init(&conf);
	if ((rc = mq_config_set(&conf, "segment.bytes", "300", &why)) != 0 ||
	    (rc = mq_config_set(&conf, "index.interval.bytes", "0",
	    &why)) != 0 || (rc = mq_topic_create(l, "t", 1, &conf)) != 0 ||
	    (rc = mq_topic_open(l, "t", &t)) != 0)
		return rc;
	if ((rc = mq_appender_open(t, 0, MQ_SYNC_BATCH, &a)) != 0) {
		mq_topic_close(t);
		return rc;
	}
	mq_batch_init(&b, 1 << 20);
	for (i = 1; rc == 0 && i <= 9; i++) {
		mq_batch_reset(&b);
		for (k = 0; k < 2; k++) {
			memset(&r, 0, sizeof(r));
			r.keylen = -1;
			r.vallen = snprintf(val, sizeof(val), "%c%d",
			    "ab"[k], i);
			r.value = val;
			r.timestamp = 1700000000000 + 2 * i + k;
			rc |= mq_batch_add(&b, &r);
		}
		mq_batch_finish(&b, 0);
		if (rc == 0)
			rc = mq_append(a, &bp, 1, &first);
	}
	mq_batch_free(&b);
	mq_appender_close(a);
	mq_topic_close(t);
	return rc;
}

static void
check_log(void)
{
	struct mq_check_counts n;
	struct mq_check *c;
	struct mq_log *l;
	struct seen s;
	char logdir[64], seg[160];
	unsigned char z = 0;
	int fd, rc;

	snprintf(logdir, sizeof(logdir), "%s/log", tmpdir);
	rc = mq_log_open(&l, logdir, MQ_LOG_CREATE);
	ok(rc == 0, "log opened (%s)", mq_strerror(rc));
	if (rc != 0)
		return;
	rc = fill(l);
	ok(rc == 0, "topic filled (%s)", mq_strerror(rc));

	rc = run_check(l, 0, "t", -1, &s, &n);
	ok(rc == 0 && s.n == 0, "a clean topic: no problem (%d, %zu)", rc,
	    s.n);
	ok(n.topics == 1 && n.partitions == 1 && n.segments == 3 &&
	    n.groups == 0 && n.problems == 0, "counts: %zu topic, %zu "
	    "partition, %zu segments", n.topics, n.partitions, n.segments);

	/* A flipped byte in the batch at 79 of the first segment. */
	snprintf(seg, sizeof(seg), "%s/topics/t/t-0/%020d.log", logdir, 0);
	if ((fd = open(seg, O_RDWR)) == -1 || pread(fd, &z, 1, 100) != 1 ||
	    (z ^= 0xff, pwrite(fd, &z, 1, 100)) != 1)
		ok(0, "flip a byte of %s", seg);
	if (fd != -1)
		close(fd);

	rc = run_check(l, 0, "t", 0, &s, &n);
	ok(rc == 0 && s.n == 3, "damage found: %zu problems", s.n);
	ok(s.p[0].kind == MQ_PROBLEM_DAMAGE && s.p[0].pos == 79 &&
	    s.p[0].fix == (MQ_CHECK_REPAIR | MQ_CHECK_FORCE) && !s.p[0].done &&
	    strcmp(s.p[0].file, "topics/t/t-0/00000000000000000000.log") == 0,
	    "damage: %s at %" PRId64 ": %s", s.p[0].file, s.p[0].pos,
	    s.p[0].what);
	ok(s.p[1].kind == MQ_PROBLEM_INDEX && s.p[1].fix == MQ_CHECK_REPAIR &&
	    s.p[2].kind == MQ_PROBLEM_INDEX, "and the indexes pointing at it");
	ok(n.problems == 3 && n.left == 3 && n.repaired == 0,
	    "counts: %zu problems, %zu left", n.problems, n.left);

	rc = run_check(l, MQ_CHECK_REPAIR, "t", -1, &s, &n);
	ok(rc == 0 && s.n == 3 && !s.p[0].done && s.p[1].done && s.p[2].done,
	    "--repair: indexes rebuilt, the damage left");
	ok(n.repaired == 2 && n.left == 1, "counts: %zu repaired, %zu left",
	    n.repaired, n.left);

	rc = run_check(l, MQ_CHECK_REPAIR | MQ_CHECK_FORCE, "t", -1, &s, &n);
	ok(rc == 0 && s.n == 1 && s.p[0].done && strcmp(s.p[0].how,
	    "removed 79 bytes: offsets 2-3 lost") == 0, "--force: %s",
	    s.p[0].how);
	rc = run_check(l, 0, "t", -1, &s, &n);
	ok(rc == 0 && s.n == 0 && n.left == 0, "clean after the repair");

	/* What is no problem but an error. */
	if (mq_check_open(l, 0, see, &s, &c) == 0) {
		ok(mq_check_topic(c, "nosuch", -1) == MQ_ENOTOPIC,
		    "unknown topic: MQ_ENOTOPIC");
		ok(mq_check_topic(c, "t", 1) == MQ_EBADPART,
		    "no such partition: MQ_EBADPART");
		ok(mq_check_topic(c, "../x", -1) == MQ_EBADNAME,
		    "a bad name: MQ_EBADNAME");
		ok(mq_check_group(c, "nogroup") == MQ_ENOGROUP,
		    "unknown group: MQ_ENOGROUP");
		ok(mq_check_leftovers(c) == 0, "no leftovers");
		mq_check_close(c);
	}
	mq_log_close(l);
}

int
main(void)
{
	ok(mkdtemp(tmpdir) != NULL, "mkdtemp %s", tmpdir);
	check_verifier();
	check_log();
	ok(rm_tree(tmpdir) == 0 && access(tmpdir, F_OK) == -1, "%s removed",
	    tmpdir);
	return done();
}

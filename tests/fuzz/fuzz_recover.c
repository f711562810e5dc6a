/* SPDX-License-Identifier: MIT */
/*
 * fuzz_recover.c - what a writer and mq-check do with the active segment
 * a dead writer left: the input becomes partition 0's only segment, with
 * a partition.state claiming a committed size, in a log directory made
 * once; then mq_appender_recover (docs/recovery.md), a read of all that
 * is committed, and mq-check with or without --repair and --force.
 *
 * The input: flags (1 byte), committed size (4), committed end offset
 * (4), index entries counted (1), then the segment.  Flags: 1 write
 * partition.state (else it is missing); 2 make the batches' CRCs right;
 * 4 check with --repair, 8 with --force too; 0x10 the state says it was
 * synced to its end; 0x20 the state tells the truth: the committed size
 * is cut back to the end of a valid batch and the end offset is that
 * batch's; 0x40 an empty next segment (a roll that died); 0x80 the
 * segment's base offset is 1000, not 0.
 *
 * A recovery that succeeded from a truthful state leaves a partition
 * that reads to its end, and a forced repair leaves nothing that a
 * repair says it fixes (only what a person must look at).
 */
#include "fuzz.h"

#define HDR	10

static struct mq_log *lg;
static struct mq_topic *tp;
static int pdir = -1;

static void
setup(void)
{
	char path[PATH_MAX + 16];
	int rc;

	if ((rc = mq_log_open(&lg, fuzz_tmpdir(), MQ_LOG_CREATE)) != 0 ||
	    (rc = mq_topic_create(lg, "f", 1, NULL)) != 0 ||
	    (rc = mq_topic_open(lg, "f", &tp)) != 0) {
		fprintf(stderr, "setup: %s\n", mq_strerror(rc));
		abort();
	}
	snprintf(path, sizeof(path), "%s/topics/f/f-0", fuzz_tmpdir());
	if ((pdir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		abort();
}

struct seen {
	size_t	n;
	size_t	fixable;		/* problems a forced repair fixes */
};

static void
on_problem(void *arg, const struct mq_problem *p)
{
	struct seen *s = arg;

	FUZZ_ASSERT(p->what != NULL && p->what[0] != '\0' && p->file != NULL,
	    "a problem without words");
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "problem %d fix %d %s @%lld: %s%s%s\n",
		    p->kind, p->fix, p->file, (long long)p->pos, p->what,
		    p->done ? " -- " : "", p->done ? p->done : "");
	s->n++;
	if (p->fix != 0 && p->done == NULL && p->kind != MQ_PROBLEM_NOTE)
		s->fixable++;
}

static void
on_notice(void *arg, const char *msg)
{
	(void)arg;
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "notice: %s\n", msg);
}

/* Checks the partition with flags; returns what a repair would fix. */
static size_t
check(int flags)
{
	struct mq_check_counts n;
	struct mq_check *c;
	struct seen s = { 0 };
	int rc;

	if (mq_check_open(lg, flags, on_problem, &s, &c) != 0)
		abort();
	rc = mq_check_topic(c, "f", 0);
	FUZZ_ASSERT(rc == 0, "mq_check_topic failed");
	mq_check_counts(c, &n);
	FUZZ_ASSERT(n.problems == s.n, "problems miscounted");
	mq_check_close(c);
	return s.fixable;
}

/* Reads all that is committed: 0 when it all reads, else the error. */
static int
read_all(void)
{
	struct mq_reader *r;
	struct mq_record rec;
	int64_t prev = -1;
	int rc;

	if ((rc = mq_reader_open(tp, 0, &r)) != 0)
		return rc;
	while ((rc = mq_reader_next(r, &rec)) == 1) {
		FUZZ_ASSERT(rec.offset > prev, "offsets go backwards");
		prev = rec.offset;
	}
	mq_reader_close(r);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_appender *a;
	struct mq_batch_info info;
	struct pstate st;
	const unsigned char *seg;
	const char *why;
	unsigned char *log;
	char name[SEGNAME_SIZE];
	int64_t base, hw_pos, hw_offset, pos;
	size_t len;
	int flags, fd, rc, truthful;

	if (size < HDR)
		return 0;
	if (lg == NULL)
		setup();
	mq_log_set_notify(lg, on_notice, NULL);
	fuzz_clear(pdir);
	flags = data[0];
	truthful = (flags & 0x21) == 0x21;
	base = flags & 0x80 ? 1000 : 0;
	seg = data + HDR;
	len = size - HDR;
	log = fuzz_dup(seg, len);
	if (flags & 2)
		fuzz_fix_batches(log, len);
	/* A little past the end too: a power loss took its tail. */
	hw_pos = (int64_t)(get_be32(data + 1) % (len + 64));
	hw_offset = base + (int64_t)(get_be32(data + 5) % (1 << 20));
	if (flags & 0x20) {
		hw_offset = base;
		for (pos = 0; pos < (int64_t)len && mq_batch_check(log + pos,
		    len - (size_t)pos, &info, &why) == 0 && pos +
		    info.length <= hw_pos; pos += info.length)
			hw_offset = info.last_offset + 1;
		hw_pos = pos;
	}

	seg_name(name, base, ".log");
	close(fuzz_file(pdir, name, log, len));
	seg_name(name, base, ".index");
	close(fuzz_file(pdir, name, NULL, 0));
	seg_name(name, base, ".timeindex");
	close(fuzz_file(pdir, name, NULL, 0));
	if (flags & 0x40 && hw_offset > base) {
		seg_name(name, hw_offset, ".log");
		close(fuzz_file(pdir, name, NULL, 0));
	}
	if (flags & 1) {
		pstate_init(&st, base);
		st.hw_pos = hw_pos;
		st.hw_offset = hw_offset;
		st.sync_offset = flags & 0x10 ? hw_offset : base;
		st.index_entries = data[9] & 3;
		st.tindex_entries = data[9] >> 2 & 3;
		fd = fuzz_file(pdir, STATE_FILE, NULL, 0);
		if (pstate_write(fd, &st) != 0)
			abort();
		close(fd);
	}

	if ((rc = mq_appender_open(tp, 0, MQ_SYNC_NONE, &a)) != 0)
		abort();
	rc = mq_appender_recover(a);
	mq_appender_close(a);
	FUZZ_ASSERT(rc == 0 || rc == MQ_ECORRUPT, "recovery failed");
	if (rc == 0) {
		rc = read_all();
		if (rc != 0 && getenv("FUZZ_VERBOSE") != NULL)
			fprintf(stderr, "read: %s: %s\n", mq_strerror(rc),
			    mq_log_errdetail(lg));
		FUZZ_ASSERT(!truthful || rc == 0,
		    "a recovered partition does not read");
	}

	if (flags & 4) {
		check(flags & 8 ? MQ_CHECK_REPAIR | MQ_CHECK_FORCE :
		    MQ_CHECK_REPAIR);
		if (flags & 8)
			FUZZ_ASSERT(check(0) == 0,
			    "a forced repair left what it says it fixes");
	} else
		check(0);
	free(log);
	return 0;
}

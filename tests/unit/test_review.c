/* SPDX-License-Identifier: MIT */
/*
 * test_review.c - library-level checks from an independent review:
 * mixing mq_reader_next with mq_reader_next_batch must not lose records,
 * and mq_append must not publish a batch that no reader can read.  Works
 * in a mkdtemp directory under /tmp, removed at the end.
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "ref.h"
#include "tap.h"

static char tmpdir[] = "/tmp/mq-test-review.XXXXXX";

/* One finished batch of n records "v<first+i>". */
static void
fill(struct mq_batch *b, int first, int n)
{
	struct mq_record r;
	char val[32];
	int i;

	mq_batch_reset(b);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.keylen = -1;
		r.value = val;
		r.vallen = sprintf(val, "v%d", first + i);
		r.timestamp = 1700000000000 + first + i;
		mq_batch_add(b, &r);
	}
	mq_batch_finish(b, 0);
}

/*
 * mq.h: mq_reader_next_batch "returns the next whole batch holding
 * offsets at or past the position".  After mq_reader_next has returned
 * offset 0 of a 5-record batch, the position is 1 and the batch holding
 * it is that same batch: offsets 1-4 must not be skipped.
 */
static void
next_then_next_batch(struct mq_log *l)
{
	struct mq_topic *t;
	struct mq_appender *a;
	struct mq_reader *r;
	struct mq_batch b1, b2, *bs[1];
	struct mq_batch_info info;
	struct mq_record rec;
	const void *batch;
	const char *why;
	size_t len;
	int64_t first;
	int rc;

	ok(mq_topic_create(l, "mix", 1, NULL) == 0, "topic mix created");
	ok(mq_topic_open(l, "mix", &t) == 0, "topic mix opened");
	ok(mq_appender_open(t, 0, MQ_SYNC_NONE, &a) == 0, "appender opened");
	mq_batch_init(&b1, 1 << 20);
	mq_batch_init(&b2, 1 << 20);
	fill(&b1, 0, 5);
	fill(&b2, 5, 5);
	bs[0] = &b1;
	ok(mq_append(a, bs, 1, &first) == 0 && first == 0, "batch 0-4");
	bs[0] = &b2;
	ok(mq_append(a, bs, 1, &first) == 0 && first == 5, "batch 5-9");

	ok(mq_reader_open(t, 0, &r) == 0, "reader opened");
	rc = mq_reader_next(r, &rec);
	ok(rc == 1 && rec.offset == 0, "mq_reader_next gives offset 0");
	ok(mq_reader_position(r) == 1, "position is 1");
	rc = mq_reader_next_batch(r, &batch, &len);
	ok(rc == 1, "mq_reader_next_batch gives a batch (%d)", rc);
	if (rc == 1) {
		mq_batch_check(batch, len, &info, &why);
		ok(info.base_offset <= 1 && info.last_offset >= 1,
		    "it holds the position, offset 1 (got %" PRId64 "-%"
		    PRId64 ": offsets 1-4 were skipped)", info.base_offset,
		    info.last_offset);
	}
	mq_reader_close(r);

	/*
	 * Same cause: an exit-at-end limit inside a batch, raised later
	 * (mq_reader_set_limit), must go on at the limit, not after the
	 * batch that held it.
	 */
	ok(mq_reader_open(t, 0, &r) == 0, "reader opened");
	mq_reader_set_limit(r, 2);
	while ((rc = mq_reader_next(r, &rec)) == 1)
		;
	ok(rc == 0 && mq_reader_position(r) == 2, "stops at the limit 2");
	mq_reader_set_limit(r, INT64_MAX);
	rc = mq_reader_next(r, &rec);
	ok(rc == 1 && rec.offset == 2, "after raising the limit the next "
	    "record is offset 2 (rc %d, offset %" PRId64 ")", rc,
	    rc == 1 ? rec.offset : -1);
	mq_reader_close(r);
	mq_appender_close(a);
	mq_batch_free(&b1);
	mq_batch_free(&b2);
	mq_topic_close(t);
}

/*
 * A finished batch with no records (lastOffsetDelta -1) is not a valid
 * RecordBatch: mq_batch_check refuses it.  mq_append must refuse it too
 * rather than publish it, which leaves every reader of the partition
 * stuck at an MQ_ECORRUPT error.
 */
static void
empty_batch(struct mq_log *l)
{
	struct mq_topic *t;
	struct mq_appender *a;
	struct mq_reader *r;
	struct mq_batch b, *bs[1] = { &b };
	struct mq_record rec;
	int64_t first;
	int rc, n = 0;

	ok(mq_topic_create(l, "empty", 1, NULL) == 0, "topic empty created");
	ok(mq_topic_open(l, "empty", &t) == 0, "topic empty opened");
	ok(mq_appender_open(t, 0, MQ_SYNC_NONE, &a) == 0, "appender opened");
	mq_batch_init(&b, 1 << 20);
	fill(&b, 0, 1);		/* the buffer exists; then emptied */
	fill(&b, 0, 0);
	rc = mq_append(a, bs, 1, &first);
	ok(rc != 0, "mq_append refuses a batch of no records (rc %d)", rc);
	fill(&b, 0, 3);
	ok(mq_append(a, bs, 1, &first) == 0, "a 3-record batch after it");

	ok(mq_reader_open(t, 0, &r) == 0, "reader opened");
	while ((rc = mq_reader_next(r, &rec)) == 1)
		n++;
	ok(rc == 0 && n == 3, "the reader reads the 3 records to the end "
	    "(rc %d: %s; %d records)", rc, mq_strerror(rc), n);
	mq_reader_close(r);
	mq_appender_close(a);
	mq_batch_free(&b);
	mq_topic_close(t);
}

int
main(void)
{
	struct mq_log *l;
	char logdir[64];

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(logdir, sizeof(logdir), "%s/log", tmpdir);
	ok(mq_log_open(&l, logdir, MQ_LOG_CREATE) == 0, "log opened");
	next_then_next_batch(l);
	empty_batch(l);
	mq_log_close(l);
	rm_tree(tmpdir);
	return done();
}

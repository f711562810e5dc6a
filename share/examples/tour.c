/* SPDX-License-Identifier: MIT */
/*
 * tour.c - liblog from C: open a log directory, create a topic, append a
 * batch of records, read them back from an offset and from a time, and
 * consume the topic as a member of a consumer group that commits its
 * offsets.  Run it twice: the second run appends three more records and
 * the group reads only those.
 *
 *	cc -o tour tour.c $(pkg-config --cflags --libs liblog)
 *	./tour [dir]
 *
 * Without dir the log directory is the commands' default ($MQ_DIR, ...).
 * Every liblog call returns 0 or an error code that mq_strerror() names;
 * mq_log_errdetail() says what the failing call was about.
 */
#define _POSIX_C_SOURCE 200809L	/* PATH_MAX, ssize_t */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mq.h>

#define TOPIC	"tour"
#define GROUP	"tour-readers"

static struct mq_log *lg;

/* Prints what failed and exits 1: an example has nothing to undo. */
static void
fail(const char *what, int rc)
{
	fprintf(stderr, "tour: %s: %s", what, mq_strerror(rc));
	if (lg != NULL)
		fprintf(stderr, " (%s)", mq_log_errdetail(lg));
	fputc('\n', stderr);
	exit(1);
}

/* Creates the topic unless a run before this one did. */
static void
create_topic(void)
{
	struct mq_config c;
	const char *why;
	int rc;

	mq_config_init(&c);
	if ((rc = mq_config_set(&c, "retention.ms", "86400000", &why)) != 0) {
		fprintf(stderr, "tour: retention.ms: %s\n", why);
		exit(1);
	}
	rc = mq_topic_create(lg, TOPIC, 2, &c);
	if (rc == 0)
		printf("created topic %s with 2 partitions\n", TOPIC);
	else if (rc != MQ_ETOPICEXISTS)
		fail("create " TOPIC, rc);
}

/*
 * Appends three records with key "alice" as one batch: the reader sees
 * all three or none.  A key picks the partition as Kafka's producers
 * pick it.  Returns the partition; *first and *ts get the first
 * record's offset and the second one's timestamp.
 */
static int
produce(struct mq_topic *t, int64_t *first, int64_t *ts)
{
	static const char *const values[] = { "book", "pen", "lamp" };
	struct mq_appender *a;
	struct mq_batch b, *bp = &b;
	struct mq_header h = { "source", 6, "tour.c", 6 };
	struct mq_record r;
	int64_t now = mq_now_ms();
	int part, rc;
	size_t i;

	part = mq_partition_for_key("alice", 5, mq_topic_partitions(t));
	mq_batch_init(&b, (size_t)mq_topic_config(t)->max_message_bytes);
	for (i = 0; i < 3; i++) {
		memset(&r, 0, sizeof(r));
		r.key = "alice";
		r.keylen = 5;
		r.value = values[i];
		r.vallen = (ssize_t)strlen(values[i]);
		r.headers = &h;
		r.nheaders = 1;
		r.timestamp = now + (int64_t)i;	/* 1 ms apart */
		if ((rc = mq_batch_add(&b, &r)) != 0)
			fail("batch", rc);
	}
	mq_batch_finish(&b, 0);
	*ts = now + 1;

	/* MQ_SYNC_BATCH: back from mq_append, the batch is on disk. */
	if ((rc = mq_appender_open(t, part, MQ_SYNC_BATCH, &a)) != 0)
		fail("open appender", rc);
	if ((rc = mq_append(a, &bp, 1, first)) != 0)
		fail("append", rc);
	if ((rc = mq_appender_close(a)) != 0)
		fail("close appender", rc);
	mq_batch_free(&b);
	printf("appended 3 records to %s-%d at offset %" PRId64 "\n", TOPIC,
	    part, *first);
	return part;
}

/* Prints one record: offset, key, value and its first header. */
static void
print_record(const struct mq_record *r)
{
	struct mq_header h;

	printf("  %" PRId64 " %.*s=%.*s", r->offset, (int)r->keylen,
	    (const char *)r->key, (int)r->vallen, (const char *)r->value);
	if (r->nheaders > 0 && mq_record_header(r, 0, &h) == 0)
		printf(" [%.*s=%.*s]", (int)h.keylen, (const char *)h.key,
		    (int)h.vallen, (const char *)h.value);
	putchar('\n');
}

/*
 * Reads partition part from offset, then from the first record at or
 * after time ts.  A reader takes no lock and never sees a record before
 * its batch is complete.
 */
static void
consume(struct mq_topic *t, int part, int64_t offset, int64_t ts)
{
	struct mq_reader *r;
	struct mq_record rec;
	int rc;

	if ((rc = mq_reader_open(t, part, &r)) != 0)
		fail("open reader", rc);
	if ((rc = mq_reader_seek(r, offset)) != 0)
		fail("seek", rc);
	printf("from offset %" PRId64 ":\n", offset);
	/* 1 is a record, 0 the end; anything else is an error. */
	while ((rc = mq_reader_next(r, &rec)) == 1)
		print_record(&rec);
	if (rc != 0)
		fail("read", rc);

	if ((rc = mq_reader_seek_time(r, ts)) != 0)
		fail("seek to time", rc);
	printf("from the second record's time: offset %" PRId64 "\n",
	    mq_reader_position(r));
	mq_reader_close(r);
}

/*
 * Joins the group as a member, reads the partitions it is dealt from
 * the group's committed offsets to their ends, and commits how far it
 * got.  Alone in the group, it is dealt every partition.
 */
static void
group_read(struct mq_topic *t)
{
	struct mq_group *g;
	struct mq_member *m;
	struct mq_reader *r;
	struct mq_record rec;
	unsigned char *want;
	int64_t committed, moved, n;
	int p, rc;

	if ((rc = mq_group_open(lg, GROUP, MQ_GROUP_CREATE, &g)) != 0)
		fail("open group", rc);
	if ((rc = mq_member_join(g, t, MQ_SYNC_BATCH, &m)) != 0)
		fail("join group", rc);
	if ((want = calloc((size_t)mq_topic_partitions(t), 1)) == NULL)
		fail("assignment", ENOMEM);
	if ((rc = mq_member_assignment(m, want)) != 0)
		fail("assignment", rc);
	for (p = 0; p < mq_topic_partitions(t); p++) {
		if (!want[p])
			continue;
		/* MQ_ELOCKED: another member has not let it go yet. */
		if ((rc = mq_member_acquire(m, p, &committed)) != 0)
			fail("acquire", rc);
		if ((rc = mq_reader_open(t, p, &r)) != 0)
			fail("open reader", rc);
		/* -1: nothing committed yet, so from the log start. */
		if (committed >= 0 && (rc = mq_reader_seek(r, committed)) != 0)
			fail("seek", rc);
		for (n = 0; (rc = mq_reader_next(r, &rec)) == 1; n++)
			continue;
		if (rc != 0)
			fail("read", rc);
		if (n > 0 && (rc = mq_member_commit(m, p,
		    mq_reader_position(r), &moved)) != 0)
			fail("commit", rc);
		printf("group %s read %" PRId64 " records of %s-%d; "
		    "next offset %" PRId64 "\n", GROUP, n, TOPIC, p,
		    mq_reader_position(r));
		mq_reader_close(r);
		if ((rc = mq_member_release(m, p)) != 0)
			fail("release", rc);
	}
	free(want);
	if ((rc = mq_member_leave(m)) != 0)
		fail("leave group", rc);
	mq_group_close(g);
}

int
main(int argc, char *argv[])
{
	char dir[PATH_MAX];
	struct mq_topic *t;
	int64_t first, ts;
	int part, rc;

	if (argc > 2) {
		fprintf(stderr, "usage: tour [dir]\n");
		return 2;
	}
	if ((rc = mq_dir_resolve(argc == 2 ? argv[1] : NULL, dir,
	    sizeof(dir))) != 0)
		fail("log directory", rc);
	if ((rc = mq_log_open(&lg, dir, MQ_LOG_CREATE)) != 0)
		fail(dir, rc);
	create_topic();
	if ((rc = mq_topic_open(lg, TOPIC, &t)) != 0)
		fail("open " TOPIC, rc);
	part = produce(t, &first, &ts);
	consume(t, part, first, ts);
	group_read(t);
	mq_topic_close(t);
	mq_log_close(lg);
	return 0;
}

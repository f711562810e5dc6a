/* SPDX-License-Identifier: MIT */
/*
 * test_share.c - share groups below the commands: acquisition by one
 * member at a time, acknowledgements, delivery counts, lock timeouts, a
 * member leaving, dead letters, the in-flight cap, the state's bytes as
 * docs/format.md gives them, and dead-letter marks left by a crash,
 * written here by hand from the doc.  Two members in one process hold
 * separate open file descriptions, so their locks conflict as two
 * processes' would.  Works in a mkdtemp directory under /tmp.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "ref.h"
#include "tap.h"

#define SLOT	65536

static char tmpdir[] = "/tmp/mq-test-share.XXXXXX";
static char logdir[64];
static struct mq_log *l;
static struct mq_group *groups[16];	/* must outlive their members */
static int ngroups;

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
be(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
rd(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static struct mq_topic *
topic(const char *name, int parts, int records)
{
	struct mq_appender *a;
	struct mq_topic *t;
	struct mq_batch b, *bp = &b;
	struct mq_record r = { 0 };
	char v[16];
	int64_t first;
	int i;

	if (mq_topic_create(l, name, parts, NULL) != 0 ||
	    mq_topic_open(l, name, &t) != 0)
		return NULL;
	if (records == 0)
		return t;
	mq_batch_init(&b, 1 << 20);
	for (i = 0; i < records; i++) {
		snprintf(v, sizeof(v), "job%d", i);
		r.value = v;
		r.vallen = (ssize_t)strlen(v);
		r.keylen = -1;
		r.timestamp = 1700000000000;
		mq_batch_add(&b, &r);
	}
	mq_batch_finish(&b, 0);
	if (mq_appender_open(t, 0, MQ_SYNC_NONE, &a) != 0 ||
	    mq_append(a, &bp, 1, &first) != 0)
		return NULL;
	mq_appender_close(a);
	mq_batch_free(&b);
	return t;
}

static struct mq_share *
join(const char *group, struct mq_topic *t, int64_t lock_ms, int max,
    struct mq_topic *dl)
{
	struct mq_group *g;
	struct mq_share *s = NULL;
	struct mq_share_opts o;
	int rc;

	mq_share_opts_init(&o);
	o.sync = MQ_SYNC_NONE;
	o.lock_ms = lock_ms;
	o.max_deliveries = max;
	o.dead_letter = dl;
	if ((rc = mq_group_open(l, group, MQ_GROUP_CREATE, &g)) == 0) {
		groups[ngroups++] = g;
		rc = mq_share_join(g, t, &o, &s);
	}
	ok(rc == 0, "joined share group %s (%s)", group, mq_strerror(rc));
	return s;
}

static void
nap(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* Takes up to max; returns how many, copying deliveries to d. */
static size_t
take(struct mq_share *s, size_t max, int flags, struct mq_delivery *d)
{
	struct mq_delivery *got;
	size_t n = 0;
	int rc = mq_share_acquire(s, max, flags, &got, &n, NULL);

	if (rc != 0 || n == 0)
		return 0;
	memcpy(d, got, n * sizeof(*d));
	return n;
}

static void
one_at_a_time(void)
{
	struct mq_topic *t = topic("jobs", 1, 10);
	struct mq_share *a = join("g1", t, 60000, 5, NULL);
	struct mq_share *b = join("g1", t, 60000, 5, NULL);
	struct mq_delivery da[16], db[16], dz[16];
	size_t na, nb;

	na = take(a, 3, 0, da);
	nb = take(b, 16, 0, db);
	ok(na == 3 && da[0].rec.offset == 0 && da[2].rec.offset == 2 &&
	    da[0].delivery == 1, "a takes offsets 0-2, first delivery");
	ok(nb == 7 && db[0].rec.offset == 3, "b takes the other 7, not a's "
	    "(got %zu from %" PRId64 ")", nb, nb ? db[0].rec.offset : -1);
	ok(da[1].rec.vallen == 4 && memcmp(da[1].rec.value, "job1", 4) == 0,
	    "a delivery carries its record");
	ok(take(b, 16, 0, dz) == 0, "nothing more to take");
	ok(mq_share_ack(a, &da[0], MQ_ACK_ACCEPT) == 0, "a accepts 0");
	ok(mq_share_ack(a, &da[0], MQ_ACK_ACCEPT) == MQ_ELOCKLOST,
	    "a second accept of 0 does not count");
	ok(mq_share_ack(b, &da[1], MQ_ACK_ACCEPT) == MQ_ELOCKLOST,
	    "b cannot acknowledge what a holds");
	ok(mq_share_ack(a, &da[1], MQ_ACK_RELEASE) == 0, "a releases 1");
	nb = take(b, 16, 0, dz);
	ok(nb == 1 && dz[0].rec.offset == 1 && dz[0].delivery == 2,
	    "b gets 1 again, second delivery (%zu)", nb);
	/* a leaves holding 2: b may take it at once, not at the timeout. */
	mq_share_leave(a);
	nb = take(b, 16, 0, da);
	ok(nb == 1 && da[0].rec.offset == 2 && da[0].delivery == 2,
	    "a member that left loses its records at once (%zu)", nb);
	mq_share_leave(b);
	mq_topic_close(t);
}

static void
lock_timeout(void)
{
	struct mq_topic *t = topic("slow", 1, 1);
	struct mq_share *a = join("g2", t, 50, 5, NULL);
	struct mq_share *b = join("g2", t, 50, 5, NULL);
	struct mq_delivery da[4], db[4];

	ok(take(a, 1, 0, da) == 1 && take(b, 1, 0, db) == 0,
	    "a holds the one record");
	nap(120);
	ok(take(b, 1, 0, db) == 1 && db[0].delivery == 2,
	    "after the lock runs out, b gets it, second delivery");
	ok(mq_share_ack(a, &da[0], MQ_ACK_ACCEPT) == MQ_ELOCKLOST,
	    "a's late accept does not count");
	ok(mq_share_ack(b, &db[0], MQ_ACK_ACCEPT) == 0, "b's does");
	mq_share_leave(a);
	mq_share_leave(b);
	mq_topic_close(t);
}

/* The records of t's partition 0 and their mq.dlq.reason, as "v:r,". */
static void
letters(struct mq_topic *t, char *out, size_t size)
{
	struct mq_reader *r;
	struct mq_record rec;
	struct mq_header h;
	size_t i, n = 0;

	out[0] = '\0';
	if (mq_reader_open(t, 0, &r) != 0)
		return;
	while (mq_reader_next(r, &rec) == 1) {
		n += (size_t)snprintf(out + n, size - n, "%.*s:",
		    (int)rec.vallen, (const char *)rec.value);
		for (i = 0; i < rec.nheaders; i++)
			if (mq_record_header(&rec, i, &h) == 0 &&
			    h.keylen == 13 && memcmp(h.key, "mq.dlq.reason",
			    13) == 0)
				n += (size_t)snprintf(out + n, size - n,
				    "%.*s", (int)h.vallen,
				    (const char *)h.value);
		n += (size_t)snprintf(out + n, size - n, ",");
	}
	mq_reader_close(r);
}

static void
dead_letters(void)
{
	struct mq_topic *t = topic("work", 1, 3), *dl = topic("dead", 1, 0);
	struct mq_share *a = join("g3", t, 60000, 2, dl);
	struct mq_share_info si;
	struct mq_delivery d[4];
	struct mq_group *g;
	char got[512];

	ok(take(a, 1, 0, d) == 1 && mq_share_ack(a, &d[0], MQ_ACK_REJECT) ==
	    0, "job0 rejected");
	ok(take(a, 1, 0, d) == 1 && d[0].rec.offset == 1 &&
	    mq_share_ack(a, &d[0], MQ_ACK_RELEASE) == 0, "job1 released");
	ok(take(a, 1, 0, d) == 1 && d[0].rec.offset == 1 &&
	    d[0].delivery == 2 && mq_share_ack(a, &d[0], MQ_ACK_RELEASE) == 0,
	    "job1 released again, its last delivery");
	ok(take(a, 4, 0, d) == 1 && d[0].rec.offset == 2 &&
	    mq_share_ack(a, &d[0], MQ_ACK_ACCEPT) == 0,
	    "job1 is not delivered a third time; job2 accepted");
	letters(dl, got, sizeof(got));
	ok(strcmp(got, "job0:rejected,job1:delivery count exhausted,") == 0,
	    "dead letters: %s", got);
	ok(mq_group_open(l, "g3", 0, &g) == 0 &&
	    mq_share_describe(g, "work", 0, &si) == 0 && si.start == 3 &&
	    si.end == 3 && si.archived == 2 && si.accepted == 1 &&
	    si.in_flight == 0, "described: start %" PRId64 ", archived %"
	    PRId64 ", accepted %" PRId64, si.start, si.archived, si.accepted);
	mq_group_close(g);
	mq_share_leave(a);
	mq_topic_close(t);
	mq_topic_close(dl);
}

/*
 * Writes partition 0's state by hand, as docs/format.md describes it,
 * with one entry in state 5 (being dead-lettered) for offset 0.
 */
static void
put_mark(const char *path, uint64_t seq, int64_t dlend, uint32_t hash)
{
	unsigned char b[64 + 32];
	uint32_t crc;
	int fd = open(path, O_WRONLY);

	memset(b, 0, sizeof(b));
	memcpy(b, "MQSH", 4);
	b[4] = 1;
	be(b + 8, seq, 8);
	be(b + 16, 0, 8);		/* start */
	be(b + 24, 1, 8);		/* end */
	be(b + 48, 1, 4);		/* entries */
	be(b + 64, 0, 8);		/* offset 0 */
	b[64 + 8] = 5;
	be(b + 64 + 10, 1, 2);		/* delivery count */
	be(b + 64 + 12, 0, 4);		/* dead-letter partition */
	be(b + 64 + 16, (uint64_t)hash << 32 | 1, 8);	/* rejected */
	be(b + 64 + 24, (uint64_t)dlend, 8);
	crc = crc32c_ref(0, b, 56);
	crc = crc32c_ref(crc, b + 64, 32);
	be(b + 56, crc, 4);
	ok(fd != -1 && pwrite(fd, b, sizeof(b), (off_t)(seq & 1) * SLOT) ==
	    (ssize_t)sizeof(b), "wrote a dead-letter mark, write %" PRIu64,
	    seq);
	close(fd);
}

static void
crash_marks(void)
{
	struct mq_topic *t = topic("marked", 1, 1), *dl = topic("graves", 1, 0);
	struct mq_share *a = join("g4", t, 60000, 5, dl);
	struct mq_delivery d[4];
	uint32_t hash = mq_murmur2("graves", 6);
	char path[256], got[256];

	snprintf(path, sizeof(path), "%s/groups/g4/marked/share", logdir);
	/* Crashed after the mark: nothing appended yet. */
	put_mark(path, 101, 0, hash);
	ok(take(a, 4, 0, d) == 0, "a marked record is not delivered");
	letters(dl, got, sizeof(got));
	ok(strcmp(got, "job0:rejected,") == 0, "the mark was finished: "
	    "appended once (%s)", got);
	/* Crashed after the append: the record is there already. */
	put_mark(path, 201, 0, hash);
	ok(take(a, 4, 0, d) == 0, "nothing to deliver");
	letters(dl, got, sizeof(got));
	ok(strcmp(got, "job0:rejected,") == 0, "the mark of a record "
	    "appended already is not appended again (%s)", got);
	/* Another topic's mark is left for a member that has it. */
	put_mark(path, 301, 0, hash ^ 1);
	ok(take(a, 4, 0, d) == 0, "nothing to deliver");
	letters(dl, got, sizeof(got));
	ok(strcmp(got, "job0:rejected,") == 0, "a mark for another "
	    "dead-letter topic is left alone (%s)", got);
	mq_share_leave(a);
	mq_topic_close(t);
	mq_topic_close(dl);
}

static void
state_bytes(void)
{
	struct mq_topic *t = topic("bytes", 1, 5);
	struct mq_share *a = join("g5", t, 60000, 5, NULL);
	struct mq_delivery d[8];
	unsigned char b[2][64 + 32 * 4];
	char path[256];
	uint64_t seq;
	int fd, k;

	ok(take(a, 1, MQ_SHARE_ACCEPT, d) == 1, "one taken and accepted");
	ok(take(a, 2, 0, d) == 2, "two acquired");
	snprintf(path, sizeof(path), "%s/groups/g5/bytes/share", logdir);
	fd = open(path, O_RDONLY);
	ok(fd != -1 && pread(fd, b[0], sizeof(b[0]), 0) > 0 &&
	    pread(fd, b[1], sizeof(b[1]), SLOT) > 0, "state read");
	close(fd);
	k = rd(b[1] + 8, 8) > rd(b[0] + 8, 8);
	seq = rd(b[k] + 8, 8);
	ok(memcmp(b[k], "MQSH", 4) == 0 && b[k][4] == 1 && seq % 2 == (unsigned)k,
	    "newest write %" PRIu64 " in slot %d", seq, k);
	ok(rd(b[k] + 16, 8) == 1 && rd(b[k] + 24, 8) == 3 &&
	    rd(b[k] + 40, 8) == 1 && rd(b[k] + 48, 4) == 2,
	    "start 1, end 3, accepted 1, 2 entries");
	ok(rd(b[k] + 64, 8) == 1 && b[k][72] == 1 && rd(b[k] + 74, 2) == 1 &&
	    rd(b[k] + 96, 8) == 2, "entries: offset 1 acquired once, then 2");
	ok(rd(b[k] + 56, 4) == crc32c_ref(crc32c_ref(0, b[k], 56), b[k] + 64,
	    64), "CRC-32C over bytes 0-55 and the entries");
	mq_share_leave(a);
	mq_topic_close(t);
}

static void
damage_and_types(void)
{
	struct mq_topic *t = topic("hurt", 1, 2);
	struct mq_share *a = join("g6", t, 60000, 5, NULL), *b;
	struct mq_delivery d[4], *dp;
	struct mq_share_opts o;
	struct mq_member *m;
	struct mq_group *g;
	char path[256];
	size_t n;
	int fd, rc;

	ok(take(a, 1, 0, d) == 1 && mq_share_ack(a, &d[0], MQ_ACK_RELEASE) ==
	    0, "one acquired and released: two writes");
	snprintf(path, sizeof(path), "%s/groups/g6/hurt/share", logdir);
	fd = open(path, O_WRONLY);
	/* The newest slot (write 2, slot 0) torn: write 1 holds. */
	ok(pwrite(fd, "XX", 2, 20) == 2, "newest slot torn");
	ok(take(a, 2, 0, d) == 1 && d[0].rec.offset == 1, "the state before "
	    "the torn write holds");
	ok(pwrite(fd, "garbage!", 8, 0) == 8 && pwrite(fd, "garbage!", 8,
	    SLOT) == 8, "both slots spoiled");
	close(fd);
	rc = mq_share_acquire(a, 1, 0, &dp, &n, NULL);
	ok(rc == MQ_ECORRUPT && n == 0, "both damaged: MQ_ECORRUPT (%s)",
	    mq_strerror(rc));
	ok(mq_group_open(l, "g6", 0, &g) == 0 &&
	    mq_share_reset(g, "hurt", (int64_t[]){ 0 }, 1, 1) == 0,
	    "a forced reset writes it anew");
	ok(take(a, 4, 0, d) == 2, "both records delivered again");
	ok(mq_member_join(g, t, MQ_SYNC_NONE, &m) == MQ_EGROUPTYPE,
	    "a share group is no consumer group");
	mq_group_close(g);
	ok(mq_group_open(l, "classic", MQ_GROUP_CREATE, &g) == 0 &&
	    mq_member_join(g, t, MQ_SYNC_NONE, &m) == 0, "a consumer group");
	mq_member_leave(m);
	mq_share_opts_init(&o);
	ok(mq_share_join(g, t, &o, &b) == MQ_EGROUPTYPE,
	    "a consumer group is no share group");
	o.dead_letter = t;
	ok(mq_share_join(g, t, &o, &b) == EINVAL,
	    "a topic is not its own dead-letter topic");
	mq_group_close(g);
	mq_share_leave(a);
	mq_topic_close(t);
}

static void
in_flight_cap(void)
{
	struct mq_topic *t = topic("many", 1, 2500);
	struct mq_share *a = join("g7", t, 60000, 5, NULL);
	struct mq_delivery *d;
	size_t n;
	int rc;

	rc = mq_share_acquire(a, 3000, 0, &d, &n, NULL);
	ok(rc == 0 && n == MQ_SHARE_INFLIGHT_MAX, "at most %d in flight "
	    "(got %zu)", MQ_SHARE_INFLIGHT_MAX, n);
	rc = mq_share_acquire(a, 3000, MQ_SHARE_ACCEPT, &d, &n, NULL);
	ok(rc == 0 && n == 500 && d[0].rec.offset == 2000,
	    "accepting as taken needs no room in flight (got %zu)", n);
	mq_share_leave(a);
	mq_topic_close(t);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(logdir, sizeof(logdir), "%s/log", tmpdir);
	ok(mq_log_open(&l, logdir, MQ_LOG_CREATE) == 0, "log opened");
	one_at_a_time();
	lock_timeout();
	dead_letters();
	crash_marks();
	state_bytes();
	damage_and_types();
	in_flight_cap();
	while (ngroups > 0)
		mq_group_close(groups[--ngroups]);
	mq_log_close(l);
	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return done();
}

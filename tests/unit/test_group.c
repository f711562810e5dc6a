/* SPDX-License-Identifier: MIT */
/*
 * test_group.c - consumer groups below the commands: the two-slot commit
 * format (docs/format.md, "Group offsets") checked against an encoder
 * written here from the doc, torn and damaged slots, and membership by
 * OFD locks.  Two members in one process hold separate open file
 * descriptions, so their locks conflict as two processes' would.  Works
 * in a mkdtemp directory under /tmp, removed at the end.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "ref.h"
#include "tap.h"

static char tmpdir[] = "/tmp/mq-test-group.XXXXXX";
static char logdir[64];

static void
be64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* A commit slot as docs/format.md describes it. */
static void
doc_slot(unsigned char *s, uint64_t seq, int64_t offset, int64_t ts,
    uint64_t member)
{
	uint32_t crc;

	memset(s, 0, COMMIT_SIZE);
	memcpy(s, "MQCO", 4);
	s[4] = 1;
	be64(s + 8, seq);
	be64(s + 16, (uint64_t)offset);
	be64(s + 24, (uint64_t)ts);
	be64(s + 32, member);
	crc = crc32c_ref(0, s, 60);
	s[60] = (unsigned char)(crc >> 24);
	s[61] = (unsigned char)(crc >> 16);
	s[62] = (unsigned char)(crc >> 8);
	s[63] = (unsigned char)crc;
}

/* Puts a doc-encoded commit into the slot its seq selects. */
static void
put_doc(unsigned char pair[COMMIT_PAIR], uint64_t seq, int64_t offset)
{
	doc_slot(pair + (seq & 1) * COMMIT_SIZE, seq, offset,
	    1700000000000 + (int64_t)seq, 0x1122334455667788ULL);
}

static void
slot_format(void)
{
	unsigned char pair[COMMIT_PAIR], mine[COMMIT_SIZE];
	struct mq_commit c = { 12345, 1700000000123, 7, 0xdeadbeef01ULL }, d;

	/* liblog's encoder writes exactly the documented bytes. */
	commit_encode(mine, &c);
	doc_slot(pair, 7, 12345, 1700000000123, 0xdeadbeef01ULL);
	ok(memcmp(mine, pair, COMMIT_SIZE) == 0,
	    "commit_encode writes the slot docs/format.md describes");

	/* Round trip through the slot its seq selects. */
	memset(pair, 0, sizeof(pair));
	memcpy(pair + (c.seq & 1) * COMMIT_SIZE, mine, COMMIT_SIZE);
	memset(&d, 0xa5, sizeof(d));
	ok(commit_decode(pair, &d) == 0 && d.offset == c.offset &&
	    d.timestamp == c.timestamp && d.seq == c.seq &&
	    d.member == c.member, "encode/decode round trip (offset %" PRId64
	    ", seq %" PRIu64 ")", d.offset, d.seq);

	/* Nothing there: no commit. */
	memset(pair, 0, sizeof(pair));
	ok(commit_decode(pair, &d) == 0 && d.offset == -1,
	    "an empty pair is no commit");

	/* The same commit in the other slot breaks "n % 2 is the slot". */
	memset(pair, 0, sizeof(pair));
	memcpy(pair + (1 - (c.seq & 1)) * COMMIT_SIZE, mine, COMMIT_SIZE);
	ok(commit_decode(pair, &d) == 0 && d.offset == -1,
	    "a slot with the wrong parity is not a commit (got %" PRId64 ")",
	    d.offset);

	/* A valid CRC over a negative offset or seq 0 is still damage. */
	memset(pair, 0, sizeof(pair));
	doc_slot(pair + COMMIT_SIZE, 1, -5, 1, 1);
	ok(commit_decode(pair, &d) == 0 && d.offset == -1,
	    "a negative offset is not a commit");
	memset(pair, 0, sizeof(pair));
	doc_slot(pair, 0, 5, 1, 1);
	ok(commit_decode(pair, &d) == 0 && d.offset == -1,
	    "commit number 0 is not a commit");
	doc_slot(pair + COMMIT_SIZE, 1, -5, 1, 1);
	ok(commit_decode(pair, &d) == MQ_ECORRUPT,
	    "two slots that break the rules are damage");
}

static void
newest_wins(void)
{
	unsigned char pair[COMMIT_PAIR];
	struct mq_commit d;

	memset(pair, 0, sizeof(pair));
	put_doc(pair, 4, 40);
	put_doc(pair, 5, 50);
	ok(commit_decode(pair, &d) == 0 && d.offset == 50 && d.seq == 5,
	    "seq 5 in slot 1 beats seq 4 in slot 0 (got %" PRId64 ")",
	    d.offset);
	put_doc(pair, 6, 60);
	ok(commit_decode(pair, &d) == 0 && d.offset == 60 && d.seq == 6,
	    "seq 6 in slot 0 beats seq 5 in slot 1 (got %" PRId64 ")",
	    d.offset);
	/* The larger seq wins even with the smaller offset (a reset). */
	put_doc(pair, 7, 3);
	ok(commit_decode(pair, &d) == 0 && d.offset == 3 && d.seq == 7,
	    "the newer commit wins even when it moves back (got %" PRId64
	    ")", d.offset);
}

static void
damaged(void)
{
	unsigned char pair[COMMIT_PAIR];
	struct mq_commit d;
	int i, bad = 0;

	/* Every single-byte flip of the newer slot falls back to the older. */
	for (i = 0; i < COMMIT_SIZE; i++) {
		memset(pair, 0, sizeof(pair));
		put_doc(pair, 8, 80);
		put_doc(pair, 9, 90);
		pair[COMMIT_SIZE + i] ^= 0x40;
		if (commit_decode(pair, &d) != 0 || d.offset != 80 ||
		    d.seq != 8)
			bad++;
	}
	ok(bad == 0, "a flipped byte anywhere in the newer slot: the older "
	    "commit (%d of 64 flips wrong)", bad);

	/* The older one damaged: the newer still counts. */
	memset(pair, 0, sizeof(pair));
	put_doc(pair, 8, 80);
	put_doc(pair, 9, 90);
	pair[20] ^= 1;
	ok(commit_decode(pair, &d) == 0 && d.offset == 90,
	    "a damaged older slot leaves the newer commit");

	/* A write torn half way: the new half over the old slot. */
	memset(pair, 0, sizeof(pair));
	put_doc(pair, 10, 100);
	put_doc(pair, 11, 110);
	{
		unsigned char next[COMMIT_SIZE];

		doc_slot(next, 12, 120, 1, 1);
		memcpy(pair, next, 32);		/* first half only */
	}
	ok(commit_decode(pair, &d) == 0 && d.offset == 110,
	    "a torn commit leaves the one before it (got %" PRId64 ")",
	    d.offset);

	/* Both damaged. */
	memset(pair, 0, sizeof(pair));
	put_doc(pair, 8, 80);
	put_doc(pair, 9, 90);
	pair[17] ^= 1;
	pair[COMMIT_SIZE + 17] ^= 1;
	ok(commit_decode(pair, &d) == MQ_ECORRUPT,
	    "both slots damaged: MQ_ECORRUPT");
	memset(pair, 0xff, sizeof(pair));
	ok(commit_decode(pair, &d) == MQ_ECORRUPT,
	    "a pair of 0xff bytes: MQ_ECORRUPT");

	/* A first commit torn by a crash, either slot: nothing yet. */
	memset(pair, 0, sizeof(pair));
	memset(pair + COMMIT_SIZE, 0x5a, 30);
	ok(commit_decode(pair, &d) == 0 && d.offset == -1,
	    "garbage in slot 1 beside an empty slot 0: no commit");
	memset(pair, 0, sizeof(pair));
	memcpy(pair, "MQCO", 4);
	ok(commit_decode(pair, &d) == 0 && d.offset == -1,
	    "garbage in slot 0 beside an empty slot 1: no commit");
}

/* ------------------------------------------------------------------ */

struct fixture {
	struct mq_log *l;
	struct mq_topic *t;
};

static struct mq_group *
group(struct fixture *fx, const char *name)
{
	struct mq_group *g = NULL;
	int rc = mq_group_open(fx->l, name, MQ_GROUP_CREATE, &g);

	ok(rc == 0, "group %s opened (%s)", name, mq_strerror(rc));
	return g;
}

static struct mq_member *
join(struct mq_group *g, struct mq_topic *t)
{
	struct mq_member *m = NULL;
	int rc = mq_member_join(g, t, MQ_SYNC_NONE, &m);

	ok(rc == 0 && m != NULL, "member joined (%s)", mq_strerror(rc));
	return m;
}

static void
acquire_commit_release(struct fixture *fx)
{
	struct mq_group *g1 = group(fx, "acr"), *g2 = group(fx, "acr");
	struct mq_member *m1, *m2;
	struct mq_member_info *info, own;
	struct mq_commit c;
	size_t n;
	int64_t committed, moved;
	int rc, held;

	m1 = join(g1, fx->t);
	m2 = join(g2, fx->t);
	if (m1 == NULL || m2 == NULL)
		return;

	ok(mq_group_members(g1, "six", &info, &n) == 0 && n == 2 &&
	    info[0].slot == 0 && info[1].slot == 1 &&
	    info[0].pid == getpid() && info[1].pid == getpid() &&
	    info[0].id != info[1].id && info[0].id != 0,
	    "two live members, slots 0 and 1, this pid, distinct ids");
	free(info);

	committed = 99;
	rc = mq_member_acquire(m1, 0, &committed);
	ok(rc == 0 && committed == -1, "m1 takes partition 0: nothing "
	    "committed yet (rc %d, %" PRId64 ")", rc, committed);
	rc = mq_member_acquire(m2, 0, &committed);
	ok(rc == MQ_ELOCKED, "m2 cannot take partition 0 while m1 holds it "
	    "(%s)", mq_strerror(rc));
	ok(mq_member_acquire(m1, 0, &committed) == 0,
	    "m1 taking it again is fine");
	rc = mq_member_commit(m2, 0, 5, &moved);
	ok(rc == EINVAL, "m2 cannot commit a partition it does not own "
	    "(%s)", mq_strerror(rc));
	ok(mq_member_acquire(m1, 6, &committed) == MQ_EBADPART,
	    "partition 6 of 6: MQ_EBADPART");

	ok(mq_member_commit(m1, 0, 5, &moved) == 0 && moved == -1,
	    "m1 commits 5");
	ok(mq_group_committed(g2, "six", 0, &c) == 0 && c.offset == 5 &&
	    c.seq == 1, "the group reads offset 5, commit 1 (%" PRId64
	    ", %" PRIu64 ")", c.offset, c.seq);
	ok(mq_member_commit(m1, 0, 5, &moved) == 0 &&
	    mq_group_committed(g2, "six", 0, &c) == 0 && c.seq == 1,
	    "committing the same offset again writes nothing");
	ok(mq_member_commit(m1, 0, 9, &moved) == 0 &&
	    mq_group_committed(g2, "six", 0, &c) == 0 && c.offset == 9 &&
	    c.seq == 2, "m1 commits 9: commit 2");

	ok(mq_group_owner(g2, "six", 0, &held, &own) == 0 && held == 1 &&
	    own.slot == 0 && own.id == c.member,
	    "the owner of partition 0 is m1, slot 0 (held %d, slot %d)",
	    held, own.slot);
	ok(mq_group_owner(g2, "six", 1, &held, &own) == 0 && held == 0,
	    "no one owns partition 1");

	ok(mq_member_release(m1, 0) == 0, "m1 gives partition 0 up");
	ok(mq_member_commit(m1, 0, 10, &moved) == EINVAL,
	    "m1 can no longer commit it");
	rc = mq_member_acquire(m2, 0, &committed);
	ok(rc == 0 && committed == 9, "m2 takes partition 0 at 9 (rc %d, %"
	    PRId64 ")", rc, committed);
	ok(mq_member_acquire(m1, 0, &committed) == MQ_ELOCKED,
	    "now m1 is the one locked out");

	/* Leaving drops the slot and the partitions. */
	ok(mq_member_leave(m2) == 0, "m2 leaves");
	ok(mq_group_owner(g1, "six", 0, &held, &own) == 0 && held == 0,
	    "partition 0 is free once m2 left");
	ok(mq_member_acquire(m1, 0, &committed) == 0 && committed == 9,
	    "m1 takes it back at 9");
	ok(mq_group_members(g1, "six", &info, &n) == 0 && n == 1 &&
	    info[0].slot == 0, "one member left, in slot 0");
	free(info);

	/* A new member takes the lowest free slot. */
	m2 = join(g2, fx->t);
	ok(mq_group_members(g1, "six", &info, &n) == 0 && n == 2 &&
	    info[1].slot == 1, "a new member reuses slot 1");
	free(info);
	mq_member_leave(m2);
	mq_member_leave(m1);
	ok(mq_group_members(g1, "six", &info, &n) == 0 && n == 0,
	    "no members left");
	free(info);
	mq_group_close(g1);
	mq_group_close(g2);
}

/*
 * k members of one group, each with its own handle: their assignments
 * are disjoint, cover all 6 partitions, and are within one of each other.
 */
static void
assignment(struct fixture *fx, int k)
{
	struct mq_group *g[4];
	struct mq_member *m[4];
	unsigned char want[4][6];
	int i, p, owners, disjoint = 1, cover = 1, min = 6, max = 0, cnt;
	char name[16];

	snprintf(name, sizeof(name), "assign%d", k);
	for (i = 0; i < k; i++) {
		g[i] = group(fx, name);
		m[i] = join(g[i], fx->t);
	}
	for (i = 0; i < k; i++)
		ok(mq_member_assignment(m[i], want[i]) == 0,
		    "%d members: assignment of member %d", k, i);
	for (p = 0; p < 6; p++) {
		for (owners = 0, i = 0; i < k; i++)
			owners += want[i][p] != 0;
		disjoint &= owners <= 1;
		cover &= owners >= 1;
	}
	for (i = 0; i < k; i++) {
		for (cnt = 0, p = 0; p < 6; p++)
			cnt += want[i][p] != 0;
		min = cnt < min ? cnt : min;
		max = cnt > max ? cnt : max;
	}
	ok(disjoint && cover, "%d members: every partition has exactly one "
	    "member", k);
	ok(max - min <= 1 && min >= 6 / k, "%d members: balanced (%d to %d "
	    "each)", k, min, max);

	/* Every member can take what it is dealt. */
	for (i = 0, cnt = 0; i < k; i++)
		for (p = 0; p < 6; p++) {
			int64_t c;

			if (want[i][p] && mq_member_acquire(m[i], p, &c) == 0)
				cnt++;
		}
	ok(cnt == 6, "%d members: each takes its share (%d of 6)", k, cnt);

	/* The first leaves: the others' deal covers everything again. */
	if (k > 1) {
		mq_member_leave(m[0]);
		memset(want, 0, sizeof(want));
		for (i = 1; i < k; i++)
			mq_member_assignment(m[i], want[i]);
		for (cover = 1, disjoint = 1, p = 0; p < 6; p++) {
			for (owners = 0, i = 1; i < k; i++)
				owners += want[i][p] != 0;
			disjoint &= owners <= 1;
			cover &= owners >= 1;
		}
		ok(cover && disjoint, "%d members, one left: the other %d "
		    "cover all 6, once", k, k - 1);
	} else
		mq_member_leave(m[0]);
	for (i = 1; i < k; i++)
		mq_member_leave(m[i]);
	for (i = 0; i < k; i++)
		mq_group_close(g[i]);
}

static void
reset(struct fixture *fx)
{
	struct mq_group *g = group(fx, "rst"), *tool = group(fx, "rst");
	struct mq_member *m;
	struct mq_commit c;
	int64_t offs[6] = { 3, -1, -1, -1, -1, -1 }, none[6] = { -1, -1, -1,
	    -1, -1, -1 }, committed, moved;
	int rc;

	/* No members: a reset just writes. */
	ok(mq_group_reset(tool, "six", offs, 6, 0) == 0, "reset with no "
	    "members");
	ok(mq_group_committed(tool, "six", 0, &c) == 0 && c.offset == 3 &&
	    c.member == 0, "partition 0 is at 3, committed by a tool");
	ok(mq_group_committed(tool, "six", 1, &c) == 0 && c.offset == -1,
	    "partition 1 (-1 in the reset) is untouched");

	m = join(g, fx->t);
	if (m == NULL)
		return;
	ok(mq_member_acquire(m, 0, &committed) == 0 && committed == 3,
	    "the member starts partition 0 at the reset's 3");
	ok(mq_member_commit(m, 0, 7, &moved) == 0 && moved == -1,
	    "it commits 7");

	offs[0] = 1;
	rc = mq_group_reset(tool, "six", offs, 6, 0);
	ok(rc == MQ_EACTIVE, "reset with a live member: MQ_EACTIVE (%s)",
	    mq_strerror(rc));
	ok(mq_group_committed(tool, "six", 0, &c) == 0 && c.offset == 7,
	    "and nothing changed");

	rc = mq_group_reset(tool, "six", offs, 6, 1);
	ok(rc == 0, "forced reset with a live member (%s)", mq_strerror(rc));
	ok(mq_group_committed(tool, "six", 0, &c) == 0 && c.offset == 1,
	    "partition 0 is at 1");
	ok(mq_member_commit(m, 0, 8, &moved) == 0 && moved == 1,
	    "the member's next commit reports the move to 1 (%" PRId64 ")",
	    moved);
	ok(mq_group_committed(tool, "six", 0, &c) == 0 && c.offset == 1,
	    "and did not write over it (%" PRId64 ")", c.offset);
	ok(mq_member_commit(m, 0, 2, &moved) == 0 && moved == -1 &&
	    mq_group_committed(tool, "six", 0, &c) == 0 && c.offset == 2,
	    "the commit after that is written (%" PRId64 ")", c.offset);

	/* A forced reset that changes nothing is not a failure. */
	rc = mq_group_reset(tool, "six", none, 6, 1);
	ok(rc == 0, "a forced reset of no partition with a live member "
	    "succeeds (%s)", mq_strerror(rc));

	mq_member_leave(m);
	mq_group_close(g);
	mq_group_close(tool);
}

/*
 * A partition whose two slots are both damaged: reading reports it, and
 * members cannot take it.
 */
static void
corrupt(struct fixture *fx)
{
	struct mq_group *g = group(fx, "bad");
	struct mq_member *m = join(g, fx->t);
	struct mq_commit c;
	unsigned char junk[COMMIT_PAIR];
	char path[256];
	int64_t committed, moved, offs[6] = { -1, -1, 4, -1, -1, -1 };
	int fd, rc;

	if (m == NULL)
		return;
	ok(mq_member_acquire(m, 2, &committed) == 0 &&
	    mq_member_commit(m, 2, 6, &moved) == 0 &&
	    mq_member_commit(m, 2, 7, &moved) == 0, "commits 6 and 7");
	mq_member_release(m, 2);
	snprintf(path, sizeof(path), "%s/groups/bad/six/offsets", logdir);
	memset(junk, 0x33, sizeof(junk));
	fd = open(path, O_WRONLY);
	ok(fd != -1 && pwrite(fd, junk, sizeof(junk), 2 * COMMIT_PAIR) ==
	    COMMIT_PAIR, "partition 2's pair overwritten with junk");
	if (fd != -1)
		close(fd);
	rc = mq_group_committed(g, "six", 2, &c);
	ok(rc == MQ_ECORRUPT, "mq_group_committed: MQ_ECORRUPT (%s)",
	    mq_strerror(rc));
	ok(strstr(mq_log_errdetail(fx->l), "groups/bad/six/offsets") !=
	    NULL && strstr(mq_log_errdetail(fx->l), "partition 2") != NULL,
	    "the detail names the file and the partition: %s",
	    mq_log_errdetail(fx->l));
	rc = mq_member_acquire(m, 2, &committed);
	ok(rc == MQ_ECORRUPT, "mq_member_acquire: MQ_ECORRUPT (%s)",
	    mq_strerror(rc));
	ok(mq_member_acquire(m, 3, &committed) == 0 && committed == -1,
	    "the other partitions still work");
	ok(mq_member_acquire(m, 2, &committed) == MQ_ECORRUPT,
	    "partition 2 stays damaged (the failed take left no lock)");
	mq_member_leave(m);

	/*
	 * mq-offsets --reset is how a person repairs it: a fresh commit
	 * over both slots' damage, which a member then takes up.
	 */
	rc = mq_group_reset(g, "six", offs, 6, 0);
	ok(rc == 0 && mq_group_committed(g, "six", 2, &c) == 0 &&
	    c.offset == 4, "a reset repairs a damaged partition (%s)",
	    mq_strerror(rc));
	m = join(g, fx->t);
	ok(m != NULL && mq_member_acquire(m, 2, &committed) == 0 &&
	    committed == 4 && mq_member_commit(m, 2, 5, &moved) == 0 &&
	    moved == -1 && mq_group_committed(g, "six", 2, &c) == 0 &&
	    c.offset == 5, "a member takes the repaired partition at 4 and "
	    "commits 5");
	mq_member_leave(m);
	mq_group_close(g);
}

static void
delete_and_list(struct fixture *fx)
{
	static const char *const names[] = { "b", "a", "c.x", "A", "a-b",
	    "a_b" };
	static const char *const sorted[] = { "A", "a", "a-b", "a_b", "b",
	    "c.x" };
	struct mq_group *g, *h;
	struct mq_member *m;
	struct mq_topic *tops[3];
	char **v, path[128];
	size_t n, i;
	int rc, good;

	/* A fresh log directory: no groups directory at all. */
	ok(mq_group_list(fx->l, &v, &n) == 0 && n == 0, "no groups yet");
	free(v);
	rc = mq_group_open(fx->l, "nosuch", 0, &g);
	ok(rc == MQ_ENOGROUP && g == NULL, "opening a missing group: "
	    "MQ_ENOGROUP (%s)", mq_strerror(rc));
	rc = mq_group_open(fx->l, "../x", MQ_GROUP_CREATE, &g);
	ok(rc == MQ_EBADGROUP, "a group name with a slash: MQ_EBADGROUP");
	rc = mq_group_open(fx->l, "..", MQ_GROUP_CREATE, &g);
	ok(rc == MQ_EBADGROUP, "group '..': MQ_EBADGROUP");

	for (i = 0; i < 6; i++) {
		ok(mq_group_open(fx->l, names[i], MQ_GROUP_CREATE, &g) == 0,
		    "group %s created", names[i]);
		mq_group_close(g);
	}
	/* A group being deleted is no group. */
	snprintf(path, sizeof(path), "%s/groups/+del.0badf00d", logdir);
	ok(mkdir(path, 0777) == 0, "a +del.* directory beside them");
	ok(mq_group_list(fx->l, &v, &n) == 0 && n == 6, "six groups listed "
	    "(%zu)", n);
	for (good = n == 6, i = 0; good && i < n; i++)
		good = strcmp(v[i], sorted[i]) == 0;
	ok(good, "in byte order: A a a-b a_b b c.x");
	free(v);

	/* Topics of a group: those it has joined, sorted. */
	ok(mq_topic_create(fx->l, "zz", 1, NULL) == 0 &&
	    mq_topic_create(fx->l, "Za", 1, NULL) == 0 &&
	    mq_topic_create(fx->l, "m.1", 1, NULL) == 0, "topics zz Za m.1");
	ok(mq_topic_open(fx->l, "zz", &tops[0]) == 0 &&
	    mq_topic_open(fx->l, "Za", &tops[1]) == 0 &&
	    mq_topic_open(fx->l, "m.1", &tops[2]) == 0, "topics opened");
	g = group(fx, "b");
	for (i = 0; i < 3; i++) {
		m = join(g, tops[i]);
		mq_member_leave(m);
	}
	ok(mq_group_topics(g, &v, &n) == 0 && n == 3 &&
	    strcmp(v[0], "Za") == 0 && strcmp(v[1], "m.1") == 0 &&
	    strcmp(v[2], "zz") == 0, "group b's topics: Za m.1 zz");
	free(v);

	/* Delete: refused while a member lives, unless forced. */
	h = group(fx, "b");
	m = join(h, tops[1]);
	rc = mq_group_delete(fx->l, "b", 0);
	ok(rc == MQ_EACTIVE, "deleting a group with a live member: "
	    "MQ_EACTIVE (%s)", mq_strerror(rc));
	ok(mq_group_list(fx->l, &v, &n) == 0 && n == 6, "it is still there");
	free(v);
	mq_member_leave(m);
	mq_group_close(h);
	rc = mq_group_delete(fx->l, "b", 0);
	ok(rc == 0, "deleted once the member left (%s)", mq_strerror(rc));
	ok(mq_group_list(fx->l, &v, &n) == 0 && n == 5 &&
	    strcmp(v[n - 2], "a_b") == 0 && strcmp(v[n - 1], "c.x") == 0,
	    "five groups left, b gone");
	free(v);
	h = NULL;
	ok(mq_group_open(fx->l, "b", 0, &h) == MQ_ENOGROUP,
	    "group b no longer opens");
	ok(mq_group_delete(fx->l, "b", 0) == MQ_ENOGROUP,
	    "deleting it again: MQ_ENOGROUP");

	/*
	 * g was opened before the delete, as mq-consume opens its group
	 * before it joins: joining now makes a new, empty group b, as a join
	 * that finds the members table replaced does.
	 */
	m = join(g, tops[0]);
	ok(mq_group_list(fx->l, &v, &n) == 0 && n == 6, "a member of the "
	    "deleted group's old handle makes a new group b");
	free(v);
	mq_member_leave(m);
	mq_group_close(g);

	rc = mq_group_delete(fx->l, "a", 1);
	ok(rc == 0, "forced delete of a group without members");
	for (i = 0; i < 3; i++)
		mq_topic_close(tops[i]);
}

int
main(void)
{
	struct fixture fx;
	int k;

	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(logdir, sizeof(logdir), "%s/log", tmpdir);
	slot_format();
	newest_wins();
	damaged();

	ok(mq_log_open(&fx.l, logdir, MQ_LOG_CREATE) == 0, "log opened");
	delete_and_list(&fx);
	ok(mq_topic_create(fx.l, "six", 6, NULL) == 0 &&
	    mq_topic_open(fx.l, "six", &fx.t) == 0, "topic six, 6 partitions");
	acquire_commit_release(&fx);
	for (k = 1; k <= 4; k++)
		assignment(&fx, k);
	reset(&fx);
	corrupt(&fx);
	mq_topic_close(fx.t);
	mq_log_close(fx.l);
	rm_tree(tmpdir);
	return done();
}

/* SPDX-License-Identifier: MIT */
/*
 * share.c - share groups (queue mode): records acquired one by one,
 * acknowledged, delivered again, archived and dead-lettered.
 *
 * A partition's state is the records in flight between its start offset
 * (everything below is accepted or archived) and its end offset (nothing
 * at or above was ever delivered): one entry per record acquired, waiting
 * for another delivery, or being dead-lettered.  An offset in between
 * without an entry is done.  So the state is as large as what is in
 * flight, never as the log.
 *
 * Each change is one transition under a write lock on the partition's
 * region of the file, ending in one pwrite of the whole state into the
 * older of two CRC'd slots, as commits are made (group.c): a crash
 * leaves the previous state whole, and needs no rename or directory sync.
 *
 * Nothing runs in the background.  Whoever takes the lock next finds a
 * lock that ran out, or an owner whose member slot lock the kernel
 * dropped (kill -9), and frees the record then; a record released after
 * its last delivery is archived by the same hand.
 *
 * Dead-lettering spans two logs, so it goes in two steps: the entry is
 * marked with where the dead-letter partition ended, the mark written,
 * the record appended, then the entry removed.  Whoever finds a mark
 * left by a crash looks for the record past that end before appending,
 * so each archived record lands there once.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define SHARE_MAGIC	"MQSH"
#define SHARE_VERSION	1
#define SHARE_SLOT	65536
#define SHARE_REGION	(2 * (off_t)SHARE_SLOT)
#define SHARE_HDR	64
#define SHARE_ENTRY	32
#define SHARE_ENTRIES	((SHARE_SLOT - SHARE_HDR) / SHARE_ENTRY)

/* Entry states; the numbers are Kafka's where Kafka has one. */
enum { SE_AVAILABLE = 0, SE_ACQUIRED = 1, SE_DEADLETTER = 5 };

/* Why a record was archived, kept in a dead-letter mark. */
enum { WHY_REJECTED = 1, WHY_EXHAUSTED = 2 };

/*
 * An entry.  While acquired: owner's slot and id, and the lock's end.
 * While being dead-lettered: slot is the dead-letter partition, id the
 * dead-letter topic's hash << 32 | reason, deadline where that
 * partition ended before the append.
 */
struct sentry {
	int64_t	offset, deadline;
	uint64_t id;
	int32_t	slot;
	uint16_t count;
	uint8_t	state;
};

struct sstate {
	uint64_t seq;			/* 0: never written */
	int64_t	start, end, archived, accepted;
	uint32_t n;
	struct sentry e[SHARE_ENTRIES];
};

struct spart {
	struct mq_reader *r;
	uint64_t seq;			/* of st, 0 when st is not known */
	struct sstate *st;
	int	cut;			/* begin() moved the end back */
};

/* Offsets into the arena of a delivery's bytes, until it stops moving. */
struct dref {
	size_t	key, value, hdr;
};

struct mq_share {
	struct mq_member *m;
	struct mq_share_opts o;
	int	nparts, next, dirty, fd;
	int	syncerr;		/* a sync failed: it stays failed */
	struct spart *p;
	unsigned char *wbuf;		/* a slot being encoded */
	struct mq_buf arena;
	struct mq_delivery *d;
	struct dref *refs;
	size_t	dcap;
	/* The dead-letter topic's appenders and readers, by partition. */
	struct mq_appender **dla;
	struct mq_reader **dlr;
	uint32_t dlhash;
	struct mq_batch batch;
};

static struct mq_log *
slog(const struct mq_share *s)
{
	return s->m->g->log;
}

static const char *
tname(const struct mq_share *s)
{
	return mq_topic_name(s->m->t);
}

static int
share_fail(struct mq_share *s, int part, const char *what, int rc)
{
	return log_fail(slog(s), rc, "group %s: %s-%d: %s: %s", s->m->g->name,
	    tname(s), part, what, mq_strerror(rc));
}

static int
damaged(struct mq_group *g, const char *topic, int part)
{
	return log_fail(g->log, MQ_ECORRUPT, "group %s: %s-%d: share state "
	    "damaged (%s/%s/%s/%s/%s); mq-offsets -g %s --reset can write it "
	    "anew", g->name, topic, part, g->log->path, GROUPS_DIR, g->name,
	    topic, GROUP_SHARE, g->name);
}

/* ------------------------------------------------------------------ */
/* The slots                                                            */

static size_t
encode(unsigned char *b, const struct sstate *st)
{
	unsigned char *p;
	uint32_t i, crc;

	memset(b, 0, SHARE_HDR);
	memcpy(b, SHARE_MAGIC, 4);
	b[4] = SHARE_VERSION;
	put_be64(b + 8, st->seq);
	put_be64(b + 16, (uint64_t)st->start);
	put_be64(b + 24, (uint64_t)st->end);
	put_be64(b + 32, (uint64_t)st->archived);
	put_be64(b + 40, (uint64_t)st->accepted);
	put_be32(b + 48, st->n);
	for (i = 0, p = b + SHARE_HDR; i < st->n; i++, p += SHARE_ENTRY) {
		const struct sentry *e = &st->e[i];

		put_be64(p, (uint64_t)e->offset);
		p[8] = e->state;
		p[9] = 0;
		put_be16(p + 10, e->count);
		put_be32(p + 12, (uint32_t)e->slot);
		put_be64(p + 16, e->id);
		put_be64(p + 24, (uint64_t)e->deadline);
	}
	crc = mq_crc32c(0, b, 56);
	crc = mq_crc32c(crc, b + SHARE_HDR, (size_t)st->n * SHARE_ENTRY);
	put_be32(b + 56, crc);
	return SHARE_HDR + (size_t)st->n * SHARE_ENTRY;
}

/* The header of slot idx: 1 plausible, 0 empty, -1 damaged. */
static int
header(const unsigned char *b, unsigned idx, struct sstate *st)
{
	size_t i;

	for (i = 0; i < SHARE_HDR && b[i] == 0; i++)
		;
	if (i == SHARE_HDR)
		return 0;
	if (memcmp(b, SHARE_MAGIC, 4) != 0 || b[4] != SHARE_VERSION)
		return -1;
	st->seq = get_be64(b + 8);
	st->start = (int64_t)get_be64(b + 16);
	st->end = (int64_t)get_be64(b + 24);
	st->archived = (int64_t)get_be64(b + 32);
	st->accepted = (int64_t)get_be64(b + 40);
	st->n = get_be32(b + 48);
	if (st->seq == 0 || (st->seq & 1) != idx || st->start < 0 ||
	    st->end < st->start || st->archived < 0 || st->accepted < 0 ||
	    st->n > SHARE_ENTRIES)
		return -1;
	return 1;
}

/* Decodes and checks the entries after a plausible header: 0 or -1. */
static int
entries(const unsigned char *b, const unsigned char *p, struct sstate *st)
{
	uint32_t i, crc;
	int64_t prev = -1;

	crc = mq_crc32c(0, b, 56);
	crc = mq_crc32c(crc, p, (size_t)st->n * SHARE_ENTRY);
	if (crc != get_be32(b + 56))
		return -1;
	for (i = 0; i < st->n; i++, p += SHARE_ENTRY) {
		struct sentry *e = &st->e[i];

		e->offset = (int64_t)get_be64(p);
		e->state = p[8];
		e->count = get_be16(p + 10);
		e->slot = (int32_t)get_be32(p + 12);
		e->id = get_be64(p + 16);
		e->deadline = (int64_t)get_be64(p + 24);
		if (e->offset <= prev || e->offset < st->start ||
		    e->offset >= st->end || (e->state != SE_AVAILABLE &&
		    e->state != SE_ACQUIRED && e->state != SE_DEADLETTER) ||
		    e->slot < 0)
			return -1;
		prev = e->offset;
	}
	return 0;
}

static int
pread_full(int fd, void *buf, size_t len, off_t at, size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = pread(fd, (char *)buf + *got, len - *got, at +
		    (off_t)*got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return errno;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return 0;
}

/*
 * Reads partition part's state into st: the valid slot with the larger
 * number.  known is the number of a state the caller holds already in
 * st, which is then not read again (0 for none).  Both slots empty, or
 * slot 1 damaged beside an empty slot 0 (write 1, the first, torn by a
 * crash), is a state never written: seq 0.  Slot 0 is written only after
 * slot 1, so slot 0 damaged beside an empty slot 1 is damage (a file cut
 * short), as are entries past the end of the file.  Returns 0, errno, or
 * MQ_ECORRUPT.
 */
static int
state_read(int fd, int part, struct sstate *st, uint64_t known,
    unsigned char *buf)
{
	unsigned char h[2][SHARE_HDR];
	struct sstate hs[2];
	off_t at = (off_t)part * SHARE_REGION;
	size_t got;
	int r[2], k, order[2], i, rc;

	for (k = 0; k < 2; k++) {
		if ((rc = pread_full(fd, h[k], SHARE_HDR, at + k * SHARE_SLOT,
		    &got)) != 0)
			return rc;
		memset(h[k] + got, 0, SHARE_HDR - got);
		r[k] = header(h[k], (unsigned)k, &hs[k]);
	}
	order[0] = r[1] == 1 && (r[0] != 1 || hs[1].seq > hs[0].seq);
	order[1] = !order[0];
	for (i = 0; i < 2; i++) {
		k = order[i];
		if (r[k] != 1)
			continue;
		if (known != 0 && hs[k].seq == known)
			return 0;
		if ((rc = pread_full(fd, buf, (size_t)hs[k].n * SHARE_ENTRY,
		    at + k * SHARE_SLOT + SHARE_HDR, &got)) != 0)
			return rc;
		if (got != (size_t)hs[k].n * SHARE_ENTRY) {
			/* Cut short: zeros there would fail the CRC. */
			r[k] = -1;
			continue;
		}
		st->seq = hs[k].seq;
		st->start = hs[k].start;
		st->end = hs[k].end;
		st->archived = hs[k].archived;
		st->accepted = hs[k].accepted;
		st->n = hs[k].n;
		if (entries(h[k], buf, st) == 0)
			return 0;
		r[k] = -1;
	}
	if (r[0] == -1)
		return MQ_ECORRUPT;
	memset(st, 0, offsetof(struct sstate, e));
	return 0;
}

/*
 * state_read() for tools, which take no lock: a state read while it is
 * written fails its CRC, so damage is damage only when it stays.
 */
static int
state_peek(int fd, int part, struct sstate *st, unsigned char *buf)
{
	int rc, tries;

	for (tries = 0; tries < 3; tries++)
		if ((rc = state_read(fd, part, st, 0, buf)) != MQ_ECORRUPT)
			break;
	return rc;
}

static int
state_write(int fd, int part, struct sstate *st, unsigned char *buf)
{
	size_t len;

	st->seq++;
	len = encode(buf, st);
	return pwrite_all(fd, buf, len, (off_t)part * SHARE_REGION +
	    (off_t)(st->seq & 1) * SHARE_SLOT);
}

/* ------------------------------------------------------------------ */
/* Transitions                                                          */

static void
drop(struct sstate *st, uint32_t i)
{
	memmove(&st->e[i], &st->e[i + 1], (st->n - i - 1) * sizeof(st->e[0]));
	st->n--;
}

/* The start offset follows the lowest entry. */
static void
settle_start(struct sstate *st)
{
	st->start = st->n > 0 ? st->e[0].offset : st->end;
}

/*
 * Retention took the records below lstart away: what was in flight there
 * is gone, and the state starts at lstart.
 */
static void
forget_below(struct sstate *st, int64_t lstart)
{
	uint32_t i;

	if (lstart <= st->start)
		return;
	for (i = 0; i < st->n && st->e[i].offset < lstart; i++)
		;
	memmove(st->e, st->e + i, (st->n - i) * sizeof(st->e[0]));
	st->n -= i;
	if (st->end < lstart)
		st->end = lstart;
	settle_start(st);
}

/*
 * A log that lost records the group had taken (a power loss under
 * --sync=none) ends below the state's end: the records produced at
 * those offsets next are new, and must be delivered, as a consumer
 * group's reader delivers them.  What was in flight there is gone.
 */
static int
forget_above(struct sstate *st, int64_t lend)
{
	if (st->end <= lend)
		return 0;
	while (st->n > 0 && st->e[st->n - 1].offset >= lend)
		st->n--;
	st->end = lend;
	settle_start(st);
	return 1;
}

/* The log start and end offsets of topic's partition part. */
static int
log_offsets(struct mq_log *l, const char *topic, int part, int64_t *lstart,
    int64_t *lend)
{
	struct mq_topic *t;
	struct mq_reader *r;
	int rc;

	if ((rc = mq_topic_open(l, topic, &t)) != 0)
		return rc;
	if ((rc = mq_reader_open(t, part, &r)) == 0) {
		rc = mq_reader_offsets(r, lstart, lend);
		mq_reader_close(r);
	}
	mq_topic_close(t);
	return rc;
}

/* Locks partition part's region and brings its state up to date. */
static int
begin(struct mq_share *s, int part)
{
	struct spart *sp = &s->p[part];
	const volatile sig_atomic_t *stop = slog(s)->stop;
	int64_t lstart, lend;
	int rc;

	while ((rc = range_lock(s->fd, (off_t)part * SHARE_REGION,
	    SHARE_REGION)) == EINTR)
		if (stop != NULL && *stop)
			return log_fail(slog(s), EINTR, "group %s: %s",
			    s->m->g->name, "interrupted");
	if (rc != 0)
		return share_fail(s, part, "lock", rc);
	if (sp->r == NULL && (rc = mq_reader_open(s->m->t, part, &sp->r)) != 0)
		goto fail;
	rc = state_read(s->fd, part, sp->st, sp->seq, s->wbuf);
	if (rc == MQ_ECORRUPT) {
		rc = damaged(s->m->g, tname(s), part);
		goto fail;
	}
	if (rc != 0) {
		rc = share_fail(s, part, "read", rc);
		goto fail;
	}
	sp->seq = sp->st->seq;
	if ((rc = mq_reader_offsets(sp->r, &lstart, &lend)) != 0)
		goto fail;
	/* New groups start at the log start, as a queue of jobs should. */
	if (sp->st->seq == 0)
		sp->st->start = sp->st->end = lstart;
	forget_below(sp->st, lstart);
	/* Written at once: once the log grows past it, it cannot be seen. */
	sp->cut = forget_above(sp->st, lend);
	return 0;
fail:
	range_unlock(s->fd, (off_t)part * SHARE_REGION, SHARE_REGION);
	return rc;
}

/*
 * Syncs the share state, unless a sync failed before: that one is not
 * tried again (see sync_failed() in append.c).  Returns 0 or errno.
 */
static int
sync_state(struct mq_share *s)
{
	if (s->syncerr == 0 && fdatasync(s->fd) == -1)
		s->syncerr = errno;
	return s->syncerr;
}

/* Writes the state if changed, and unlocks.  Returns 0 or errno. */
static int
finish(struct mq_share *s, int part, int changed)
{
	struct spart *sp = &s->p[part];
	int rc = 0;

	if (changed || sp->cut) {
		sp->cut = 0;
		settle_start(sp->st);
		/* After a failed sync nothing more is written. */
		if (s->syncerr != 0)
			rc = share_fail(s, part, "sync", s->syncerr);
		else if ((rc = state_write(s->fd, part, sp->st, s->wbuf)) != 0)
			rc = share_fail(s, part, "write", rc);
		else if (s->o.sync == MQ_SYNC_ALWAYS &&
		    (rc = sync_state(s)) != 0)
			rc = share_fail(s, part, "sync", rc);
		else
			s->dirty = 1;
		/* A failed write may have reached the disk or not. */
		sp->seq = rc == 0 ? sp->st->seq : 0;
	}
	range_unlock(s->fd, (off_t)part * SHARE_REGION, SHARE_REGION);
	return rc;
}

/* The record at offset of partition part: 1, 0 when it is gone, or rc. */
static int
read_at(struct mq_share *s, int part, int64_t offset, struct mq_record *rec)
{
	struct mq_reader *r = s->p[part].r;
	int rc;

	if (mq_reader_position(r) != offset &&
	    (rc = mq_reader_seek(r, offset)) != 0)
		return rc;
	rc = mq_reader_next(r, rec);
	if (rc == 1 && rec->offset != offset)
		return 0;
	return rc;
}

/* ------------------------------------------------------------------ */
/* Dead letters                                                         */

static const char *const dlq_key[] = {
	"mq.dlq.topic", "mq.dlq.partition", "mq.dlq.offset", "mq.dlq.group",
	"mq.dlq.reason", "mq.dlq.deliveries"
};
#define DLQ_HEADERS (sizeof(dlq_key) / sizeof(dlq_key[0]))

static int
header_is(const struct mq_header *h, const char *key, const char *value)
{
	return h->keylen == strlen(key) && memcmp(h->key, key, h->keylen) ==
	    0 && h->vallen == (ssize_t)strlen(value) && memcmp(h->value, value,
	    (size_t)h->vallen) == 0;
}

/* Does dead letter rec say it is offset of partition part of our topic? */
static int
is_ours(struct mq_share *s, const struct mq_record *rec, const char *part,
    const char *offset)
{
	struct mq_header h;
	size_t i;
	int found = 0;

	for (i = 0; i < rec->nheaders; i++) {
		if (mq_record_header(rec, i, &h) != 0)
			return 0;
		found += header_is(&h, dlq_key[0], tname(s)) +
		    header_is(&h, dlq_key[1], part) +
		    header_is(&h, dlq_key[2], offset) +
		    header_is(&h, dlq_key[3], s->m->g->name);
	}
	return found == 4;
}

static int
dl_reader(struct mq_share *s, int dpart, struct mq_reader **rp)
{
	int rc = 0;

	if (s->dlr[dpart] == NULL)
		rc = mq_reader_open(s->o.dead_letter, dpart, &s->dlr[dpart]);
	*rp = s->dlr[dpart];
	return rc;
}

/* Marks entry e of partition part for the dead-letter topic. */
static int
dl_mark(struct mq_share *s, int part, struct sentry *e, int why)
{
	struct mq_record rec;
	struct mq_reader *r;
	int64_t end;
	int dn = mq_topic_partitions(s->o.dead_letter), rc, dpart;

	if ((rc = read_at(s, part, e->offset, &rec)) != 1)
		return rc;
	if (rec.keylen >= 0)
		dpart = mq_partition_for_key(rec.key, (size_t)rec.keylen, dn);
	else
		dpart = part % dn;
	if ((rc = dl_reader(s, dpart, &r)) != 0 ||
	    (rc = mq_reader_offsets(r, NULL, &end)) != 0)
		return rc;
	e->state = SE_DEADLETTER;
	e->slot = dpart;
	e->id = (uint64_t)s->dlhash << 32 | (uint64_t)why;
	e->deadline = end;
	return 1;
}

/*
 * Appends the record of a marked entry to the dead-letter topic, unless
 * it is there already.  Returns 0 (also when the record is gone), or an
 * error.
 */
static int
dl_append(struct mq_share *s, int part, const struct sentry *e)
{
	struct mq_header *hs = NULL;
	struct mq_record rec, dl;
	struct mq_reader *r;
	struct mq_batch *bp = &s->batch;
	char pbuf[16], obuf[24], dbuf[8];
	const char *val[DLQ_HEADERS];
	int64_t first;
	size_t i;
	int rc, why = (int)(e->id & 0xff), dpart = e->slot;

	if (dpart >= mq_topic_partitions(s->o.dead_letter))
		return log_fail(slog(s), MQ_EBADPART, "dead-letter topic %s: "
		    "partition %d is gone", mq_topic_name(s->o.dead_letter),
		    dpart);
	snprintf(pbuf, sizeof(pbuf), "%d", part);
	snprintf(obuf, sizeof(obuf), "%" PRId64, e->offset);
	snprintf(dbuf, sizeof(dbuf), "%u", (unsigned)e->count);
	if (s->dla[dpart] == NULL && (rc = mq_appender_open(s->o.dead_letter,
	    dpart, s->o.sync, &s->dla[dpart])) != 0)
		return rc;
	/*
	 * An append cut short may have left our record written but not
	 * published; the next append would publish it.  Recover first, so
	 * the look below sees what the next append would keep.
	 */
	if ((rc = mq_appender_recover(s->dla[dpart])) != 0 ||
	    (rc = dl_reader(s, dpart, &r)) != 0 ||
	    (rc = mq_reader_seek(r, e->deadline)) != 0)
		return rc;
	while ((rc = mq_reader_next(r, &dl)) == 1)
		if (is_ours(s, &dl, pbuf, obuf))
			return 0;
	if (rc != 0)
		return rc;
	if ((rc = read_at(s, part, e->offset, &rec)) != 1)
		return rc;
	if ((hs = calloc(rec.nheaders + DLQ_HEADERS, sizeof(*hs))) == NULL)
		return ENOMEM;
	for (i = 0; i < rec.nheaders; i++)
		if (mq_record_header(&rec, i, &hs[i]) != 0) {
			rc = MQ_ECORRUPT;
			goto out;
		}
	val[0] = tname(s);
	val[1] = pbuf;
	val[2] = obuf;
	val[3] = s->m->g->name;
	val[4] = why == WHY_REJECTED ? "rejected" : "delivery count exhausted";
	val[5] = dbuf;
	for (i = 0; i < DLQ_HEADERS; i++) {
		struct mq_header *h = &hs[rec.nheaders + i];

		h->key = dlq_key[i];
		h->keylen = strlen(dlq_key[i]);
		h->value = val[i];
		h->vallen = (ssize_t)strlen(val[i]);
	}
	rec.headers = hs;
	rec.nheaders += DLQ_HEADERS;
	rec.hdrbuf = NULL;
	rec.hdrlen = 0;
	mq_batch_reset(bp);
	if ((rc = mq_batch_add(bp, &rec)) == MQ_ETOOBIG)
		rc = log_fail(slog(s), rc, "dead-letter topic %s: %s-%d offset "
		    "%" PRId64 ": too big with its mq.dlq headers for the "
		    "topic's max.message.bytes %" PRId64,
		    mq_topic_name(s->o.dead_letter), tname(s), part, e->offset,
		    mq_topic_config(s->o.dead_letter)->max_message_bytes);
	if (rc != 0)
		goto out;
	mq_batch_finish(bp, 0);
	rc = mq_append(s->dla[dpart], &bp, 1, &first);
out:
	free(hs);
	return rc;
}

/*
 * Archives entry i: with a dead-letter topic, marks it (the caller then
 * runs dead_letters()); without, drops it.  Returns 1 when marked, 0 when
 * dropped, or an error.
 */
static int
archive(struct mq_share *s, int part, uint32_t i, int why)
{
	struct sstate *st = s->p[part].st;
	int rc;

	if (s->o.dead_letter != NULL) {
		rc = dl_mark(s, part, &st->e[i], why);
		if (rc != 0)
			return rc;
		/* The record is gone from the log: nothing to send. */
	}
	drop(st, i);
	st->archived++;
	return 0;
}

/* Sends our marked entries: mark written first, then each appended. */
static int
dead_letters(struct mq_share *s, int part, int *changed)
{
	struct sstate *st = s->p[part].st;
	struct spart *sp = &s->p[part];
	uint32_t i;
	int rc, any = 0;

	if (s->o.dead_letter == NULL)
		return 0;
	for (i = 0; i < st->n; i++)
		any |= st->e[i].state == SE_DEADLETTER &&
		    st->e[i].id >> 32 == s->dlhash;
	if (!any)
		return 0;
	if (*changed) {
		settle_start(st);
		if (s->syncerr != 0) {
			sp->seq = 0;
			return share_fail(s, part, "sync", s->syncerr);
		}
		if ((rc = state_write(s->fd, part, st, s->wbuf)) != 0) {
			sp->seq = 0;
			return share_fail(s, part, "write", rc);
		}
		sp->seq = st->seq;
		if (s->o.sync != MQ_SYNC_NONE && (rc = sync_state(s)) != 0)
			return share_fail(s, part, "sync", rc);
	}
	for (i = 0; i < st->n; ) {
		if (st->e[i].state != SE_DEADLETTER ||
		    st->e[i].id >> 32 != s->dlhash) {
			i++;
			continue;
		}
		if ((rc = dl_append(s, part, &st->e[i])) != 0)
			return rc;
		drop(st, i);
		st->archived++;
		*changed = 1;
	}
	return 0;
}

/*
 * Frees what ran out or lost its owner, archiving what had its last
 * delivery; *wait gets the time to the next lock of another member to
 * run out (or stays).  Sets *changed.  Returns 0 or an error.
 */
static int
expire(struct mq_share *s, int part, int64_t now, int64_t *wait,
    int *changed)
{
	struct sstate *st = s->p[part].st;
	const struct mq_member_info *me = &s->m->self;
	struct sentry *e;
	uint32_t i;
	int live, rc;

	for (i = 0; i < st->n; ) {
		e = &st->e[i];
		if (e->state == SE_ACQUIRED) {
			if (e->slot == me->slot && e->id == me->id)
				live = 1;
			else if ((live = member_live(s->m->f.memfd, e->slot,
			    e->id)) < 0)
				return share_fail(s, part, "members", -live);
			if (live && now < e->deadline) {
				if (e->id != me->id && (*wait < 0 ||
				    e->deadline - now < *wait))
					*wait = e->deadline - now;
				i++;
				continue;
			}
			e->state = SE_AVAILABLE;
			*changed = 1;
		}
		if (e->state == SE_AVAILABLE &&
		    e->count >= s->o.max_deliveries) {
			*changed = 1;
			if ((rc = archive(s, part, i, WHY_EXHAUSTED)) < 0 ||
			    rc > 1)
				return rc;
			if (rc == 0)
				continue;
		}
		i++;
	}
	return dead_letters(s, part, changed);
}

/* ------------------------------------------------------------------ */
/* The API                                                              */

void
mq_share_opts_init(struct mq_share_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->lock_ms = 30000;
	o->max_deliveries = 5;
	o->sync = MQ_SYNC_BATCH;
}

int
mq_share_leave(struct mq_share *s)
{
	int rc = 0, i;

	if (s == NULL)
		return 0;
	if (s->m != NULL && s->o.sync != MQ_SYNC_NONE)
		rc = mq_share_sync(s);
	for (i = 0; s->p != NULL && i < s->nparts; i++) {
		mq_reader_close(s->p[i].r);
		free(s->p[i].st);
	}
	if (s->o.dead_letter != NULL && s->dla != NULL) {
		for (i = 0; i < mq_topic_partitions(s->o.dead_letter); i++) {
			if (s->dla[i] != NULL) {
				if (rc == 0 && s->o.sync != MQ_SYNC_NONE)
					rc = mq_appender_sync(s->dla[i]);
				mq_appender_close(s->dla[i]);
			}
			mq_reader_close(s->dlr[i]);
		}
	}
	if (s->m != NULL)
		member_close(s->m);
	mq_batch_free(&s->batch);
	mq_buf_free(&s->arena);
	free(s->dla);
	free(s->dlr);
	free(s->p);
	free(s->wbuf);
	free(s->d);
	free(s->refs);
	free(s);
	return rc;
}

int
mq_share_join(struct mq_group *g, struct mq_topic *t,
    const struct mq_share_opts *o, struct mq_share **sp)
{
	struct mq_share *s;
	int rc, i, dn;

	*sp = NULL;
	if (o->lock_ms < 1 || o->max_deliveries < 1 ||
	    o->max_deliveries > 255 || (o->dead_letter != NULL &&
	    strcmp(mq_topic_name(o->dead_letter), mq_topic_name(t)) == 0))
		return EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ENOMEM;
	s->o = *o;
	s->nparts = mq_topic_partitions(t);
	dn = o->dead_letter != NULL ? mq_topic_partitions(o->dead_letter) : 0;
	mq_batch_init(&s->batch, o->dead_letter != NULL ? (size_t)
	    mq_topic_config(o->dead_letter)->max_message_bytes : 0);
	if ((s->p = calloc((size_t)s->nparts, sizeof(*s->p))) == NULL ||
	    (s->wbuf = malloc(SHARE_SLOT)) == NULL ||
	    (dn > 0 && ((s->dla = calloc((size_t)dn, sizeof(*s->dla))) ==
	    NULL || (s->dlr = calloc((size_t)dn, sizeof(*s->dlr))) == NULL))) {
		mq_share_leave(s);
		return ENOMEM;
	}
	for (i = 0; i < s->nparts; i++)
		if ((s->p[i].st = malloc(sizeof(*s->p[i].st))) == NULL) {
			mq_share_leave(s);
			return ENOMEM;
		}
	if (o->dead_letter != NULL)
		s->dlhash = mq_murmur2(mq_topic_name(o->dead_letter),
		    strlen(mq_topic_name(o->dead_letter)));
	if ((rc = member_open(g, t, o->sync, MEMBER_SHARE, &s->m)) != 0) {
		s->m = NULL;
		mq_share_leave(s);
		return rc;
	}
	s->fd = s->m->f.shfd;
	/* Members start at different partitions, to meet less on locks. */
	s->next = s->m->self.slot % s->nparts;
	*sp = s;
	return 0;
}

int
mq_share_sync(struct mq_share *s)
{
	int rc;

	if (!s->dirty && s->syncerr == 0)
		return 0;
	if ((rc = sync_state(s)) != 0)
		return log_fail(slog(s), rc, "group %s: %s: share state: "
		    "sync: %s", s->m->g->name, tname(s), strerror(rc));
	s->dirty = 0;
	return 0;
}

/* Copies rec into the arena as delivery number *n. */
static int
deliver(struct mq_share *s, int part, const struct sentry *e,
    const struct mq_record *rec, size_t *n)
{
	struct mq_delivery *d;
	struct dref *ref;
	size_t want = *n + 1;

	if (want > s->dcap) {
		size_t cap = s->dcap ? s->dcap * 2 : 64;

		if ((d = realloc(s->d, cap * sizeof(*d))) == NULL)
			return ENOMEM;
		s->d = d;
		if ((ref = realloc(s->refs, cap * sizeof(*ref))) == NULL)
			return ENOMEM;
		s->refs = ref;
		s->dcap = cap;
	}
	d = &s->d[*n];
	ref = &s->refs[*n];
	d->part = part;
	d->delivery = e != NULL ? e->count : 1;
	d->deadline = e != NULL ? e->deadline : 0;
	d->rec = *rec;
	ref->key = s->arena.len;
	if (rec->keylen > 0 && mq_buf_add(&s->arena, rec->key,
	    (size_t)rec->keylen) != 0)
		return ENOMEM;
	ref->value = s->arena.len;
	if (rec->vallen > 0 && mq_buf_add(&s->arena, rec->value,
	    (size_t)rec->vallen) != 0)
		return ENOMEM;
	ref->hdr = s->arena.len;
	if (rec->hdrlen > 0 && mq_buf_add(&s->arena, rec->hdrbuf,
	    rec->hdrlen) != 0)
		return ENOMEM;
	*n = want;
	return 0;
}

/* Makes e acquired by this member until its lock runs out. */
static void
hold(struct mq_share *s, struct sentry *e, int64_t now)
{
	e->state = SE_ACQUIRED;
	e->slot = s->m->self.slot;
	e->id = s->m->self.id;
	e->deadline = now + s->o.lock_ms;
}

/* Takes up to max records from partition part. */
static int
take(struct mq_share *s, int part, size_t max, int flags, int64_t now,
    size_t *n, int64_t *wait)
{
	struct sstate *st = s->p[part].st;
	struct mq_reader *r;
	struct mq_record rec;
	struct sentry *e;
	size_t got = 0;
	uint32_t i;
	int changed = 0, rc;

	if ((rc = begin(s, part)) != 0)
		return rc;
	if ((rc = expire(s, part, now, wait, &changed)) != 0)
		goto out;
	/* Records released for another delivery go first. */
	for (i = 0; i < st->n && got < max; ) {
		e = &st->e[i];
		if (e->state != SE_AVAILABLE) {
			i++;
			continue;
		}
		if ((rc = read_at(s, part, e->offset, &rec)) == 0) {
			/* Compacted away: nothing left to deliver. */
			drop(st, i);
			changed = 1;
			continue;
		}
		if (rc != 1)
			goto out;
		changed = 1;
		e->count++;
		hold(s, e, now);
		if ((rc = deliver(s, part, e, &rec, n)) != 0)
			goto out;
		got++;
		if (flags & MQ_SHARE_ACCEPT) {
			drop(st, i);
			st->accepted++;
		} else
			i++;
	}
	r = s->p[part].r;
	if (got < max && mq_reader_position(r) != st->end &&
	    (rc = mq_reader_seek(r, st->end)) != 0)
		goto out;
	while (got < max && ((flags & MQ_SHARE_ACCEPT) ||
	    st->n < MQ_SHARE_INFLIGHT_MAX)) {
		if ((rc = mq_reader_next(r, &rec)) == 0)
			break;
		if (rc != 1)
			goto out;
		changed = 1;
		st->end = rec.offset + 1;
		if (flags & MQ_SHARE_ACCEPT) {
			st->accepted++;
			e = NULL;
		} else {
			e = &st->e[st->n++];
			e->offset = rec.offset;
			e->count = 1;
			hold(s, e, now);
		}
		if ((rc = deliver(s, part, e, &rec, n)) != 0)
			goto out;
		got++;
	}
	rc = 0;
out:
	if (rc == 0)
		return finish(s, part, changed);
	/* Nothing of this transition is written: it did not happen. */
	s->p[part].seq = 0;
	s->p[part].cut = 0;
	finish(s, part, 0);
	return rc;
}

int
mq_share_acquire(struct mq_share *s, size_t max, int flags,
    struct mq_delivery **dp, size_t *np, int64_t *wait_ms)
{
	int64_t now = mq_now_ms(), wait = -1;
	size_t n = 0, i;
	int k, part, rc = 0, first = -1;

	s->arena.len = 0;
	for (k = 0; k < s->nparts && n < max; k++) {
		part = (s->next + k) % s->nparts;
		if ((rc = take(s, part, max - n, flags, now, &n, &wait)) != 0)
			break;
		if (n > 0 && first < 0)
			first = part;
	}
	/* Next time, start past the partition that gave records. */
	if (first >= 0)
		s->next = (first + 1) % s->nparts;
	for (i = 0; i < n; i++) {
		struct mq_record *r = &s->d[i].rec;

		r->key = r->keylen > 0 ? s->arena.p + s->refs[i].key : NULL;
		r->value = r->vallen > 0 ? s->arena.p + s->refs[i].value :
		    NULL;
		r->hdrbuf = (const unsigned char *)s->arena.p +
		    s->refs[i].hdr;
		if (r->keylen == 0)
			r->key = "";
		if (r->vallen == 0)
			r->value = "";
	}
	*dp = s->d;
	*np = n;
	if (wait_ms != NULL)
		*wait_ms = wait;
	return rc;
}

static int
find(const struct sstate *st, int64_t offset)
{
	uint32_t lo = 0, hi = st->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (st->e[mid].offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < st->n && st->e[lo].offset == offset ? (int)lo : -1;
}

int
mq_share_ack(struct mq_share *s, const struct mq_delivery *d,
    enum mq_ack type)
{
	struct sstate *st;
	struct sentry *e;
	int64_t now = mq_now_ms(), wait = -1;
	int changed = 0, i, rc, part = d->part;

	if (part < 0 || part >= s->nparts || (type != MQ_ACK_ACCEPT &&
	    type != MQ_ACK_RELEASE && type != MQ_ACK_REJECT))
		return EINVAL;
	if ((rc = begin(s, part)) != 0)
		return rc;
	st = s->p[part].st;
	if ((rc = expire(s, part, now, &wait, &changed)) != 0)
		goto fail;
	i = find(st, d->rec.offset);
	e = i >= 0 ? &st->e[i] : NULL;
	if (e == NULL || e->state != SE_ACQUIRED ||
	    e->id != s->m->self.id || e->slot != s->m->self.slot ||
	    e->count != d->delivery) {
		if ((rc = finish(s, part, changed)) != 0)
			return rc;
		return log_fail(slog(s), MQ_ELOCKLOST, "%s-%d offset %" PRId64
		    ": %s", tname(s), part, d->rec.offset,
		    mq_strerror(MQ_ELOCKLOST));
	}
	changed = 1;
	if (type == MQ_ACK_ACCEPT) {
		drop(st, (uint32_t)i);
		st->accepted++;
	} else if (type == MQ_ACK_RELEASE &&
	    e->count < s->o.max_deliveries)
		e->state = SE_AVAILABLE;
	else if ((rc = archive(s, part, (uint32_t)i, type ==
	    MQ_ACK_REJECT ? WHY_REJECTED : WHY_EXHAUSTED)) < 0 ||
	    rc > 1 || (rc = dead_letters(s, part, &changed)) != 0)
		goto fail;
	return finish(s, part, changed);
fail:
	s->p[part].seq = 0;
	s->p[part].cut = 0;
	finish(s, part, 0);
	return rc;
}

/* ------------------------------------------------------------------ */
/* For tools                                                            */

int
share_parts(int fd)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1)
		return -errno;
	return (int)((sb.st_size + SHARE_REGION - 1) / SHARE_REGION);
}

int
share_check(int fd, int part, int64_t *end)
{
	struct sstate *st = malloc(sizeof(*st));
	unsigned char *buf = malloc(SHARE_SLOT);
	int rc = ENOMEM;

	*end = -1;
	if (st != NULL && buf != NULL &&
	    (rc = state_peek(fd, part, st, buf)) == 0 && st->seq != 0)
		*end = st->end;
	free(st);
	free(buf);
	return rc;
}

int
mq_group_is_share(struct mq_group *g, const char *topic)
{
	struct gfiles f;
	int rc;

	if ((rc = gfiles_open(g, topic, 0, &f)) != 0)
		return -rc;
	rc = f.shfd != -1;
	gfiles_close(&f);
	return rc;
}

int
mq_share_describe(struct mq_group *g, const char *topic, int part,
    struct mq_share_info *si)
{
	struct sstate *st;
	struct gfiles f;
	unsigned char *buf;
	int64_t now = mq_now_ms(), lstart, lend;
	uint32_t i;
	int rc, live;

	memset(si, 0, sizeof(*si));
	si->start = si->end = -1;
	if ((rc = gfiles_open(g, topic, 0, &f)) != 0)
		return rc;
	if (f.shfd == -1) {
		rc = f.offfd != -1 ? log_fail(g->log, MQ_EGROUPTYPE, "group "
		    "%s: topic %s: not a share group", g->name, topic) : 0;
		gfiles_close(&f);
		return rc;
	}
	st = malloc(sizeof(*st));
	buf = malloc(SHARE_SLOT);
	if (st == NULL || buf == NULL) {
		rc = ENOMEM;
		goto out;
	}
	if ((rc = state_peek(f.shfd, part, st, buf)) == MQ_ECORRUPT) {
		rc = damaged(g, topic, part);
		goto out;
	}
	if (rc != 0) {
		rc = log_fail(g->log, rc, "group %s: %s-%d: %s", g->name,
		    topic, part, strerror(rc));
		goto out;
	}
	if (st->seq == 0)
		goto out;
	/* As the next member will see it. */
	if ((rc = log_offsets(g->log, topic, part, &lstart, &lend)) != 0)
		goto out;
	forget_below(st, lstart);
	forget_above(st, lend);
	si->start = st->start;
	si->end = st->end;
	si->archived = st->archived;
	si->accepted = st->accepted;
	si->in_flight = st->n;
	for (i = 0; i < st->n; i++) {
		if (st->e[i].state != SE_ACQUIRED || now >= st->e[i].deadline)
			continue;
		live = f.memfd != -1 ? member_live(f.memfd, st->e[i].slot,
		    st->e[i].id) : 0;
		si->acquired += live > 0;
	}
out:
	free(st);
	free(buf);
	gfiles_close(&f);
	return rc;
}

int
mq_share_reset(struct mq_group *g, const char *topic,
    const int64_t *offsets, int n, int force)
{
	struct mq_log *l = g->log;
	struct sstate *st = NULL;
	struct gfiles f;
	unsigned char *buf = NULL;
	int rc = 0, p, mine = g->lockfd == -1 && !force;

	if (mine && (rc = mq_group_lock(g)) != 0)
		return rc;
	if ((rc = gfiles_open(g, topic, GF_SHARE, &f)) != 0)
		goto out;
	st = malloc(sizeof(*st));
	buf = malloc(SHARE_SLOT);
	if (st == NULL || buf == NULL)
		rc = log_fail(l, ENOMEM, "%s", strerror(ENOMEM));
	for (p = 0; p < n && rc == 0; p++) {
		if (offsets[p] < 0)
			continue;
		/* A member's transitions are short: wait for one to end. */
		if ((rc = range_lock(f.shfd, (off_t)p * SHARE_REGION,
		    SHARE_REGION)) != 0) {
			rc = log_fail(l, rc, "group %s: %s-%d: %s", g->name,
			    topic, p, strerror(rc));
			break;
		}
		/* A reset is also how a damaged state is written anew. */
		if ((rc = state_read(f.shfd, p, st, 0, buf)) == MQ_ECORRUPT) {
			memset(st, 0, offsetof(struct sstate, e));
			/* Past any number either slot could hold. */
			st->seq = (uint64_t)1 << 48;
			rc = 0;
		}
		if (rc == 0) {
			st->start = st->end = offsets[p];
			st->n = 0;
			rc = state_write(f.shfd, p, st, buf);
		}
		range_unlock(f.shfd, (off_t)p * SHARE_REGION, SHARE_REGION);
		if (rc != 0)
			rc = log_fail(l, rc, "group %s: %s-%d: %s", g->name,
			    topic, p, strerror(rc));
	}
	if (rc == 0 && fdatasync(f.shfd) == -1)
		rc = log_fail(l, errno, "group %s: %s/%s/%s/%s/%s: sync: %s",
		    g->name, l->path, GROUPS_DIR, g->name, topic, GROUP_SHARE,
		    strerror(errno));
	gfiles_close(&f);
out:
	free(st);
	free(buf);
	if (mine)
		mq_group_unlock(g);
	return rc;
}

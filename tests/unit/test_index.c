/* SPDX-License-Identifier: MIT */
/*
 * test_index.c - segments and their indexes as an appender leaves them:
 * rolls at segment.bytes, .index and .timeindex entries by Kafka's
 * LogSegment rules, index_lookup and tindex_lookup around every entry,
 * readers seeking by offset and by time across segments, and
 * partition.state's round trip and refusal of damaged copies.  Works in a
 * mkdtemp directory under /tmp, removed at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "ref.h"
#include "tap.h"

#define TS0		INT64_C(1700000000000)
#define TS_STEP		10		/* ms between records */
#define NREC		600		/* records appended */
#define INTERVAL	100		/* index.interval.bytes */
#define SEGBYTES	2000		/* segment.bytes */
#define MAXSEG		64

static char tmpdir[] = "/tmp/mq-test-index.XXXXXX";
static char logdir[64], partdir[128];

/* The record at offset i: its key, value and timestamp. */
static int
keyof(int64_t i, char *buf)
{
	return sprintf(buf, "key-%" PRId64, i);
}

static int
valof(int64_t i, char *buf)
{
	int n = sprintf(buf, "value-%" PRId64 "-", i);

	/* 0 to 36 bytes of padding, so batch sizes vary. */
	memset(buf + n, 'a' + (int)(i % 26), (size_t)(i % 37));
	return n + (int)(i % 37);
}

static int64_t
tsof(int64_t i)
{
	return TS0 + TS_STEP * i;
}

/* ------------------------------------------------------------------ */
/* What the files hold                                                 */

struct batchpos {
	int64_t	pos, base, last, max_ts;
};

struct seg {
	int64_t	base;
	int64_t	size;
	struct batchpos *b;	/* its batches */
	size_t	nb;
	unsigned char *idx, *tidx;	/* raw index files */
	size_t	idxlen, tidxlen;
};

static struct seg segs[MAXSEG];
static size_t nsegs;

static unsigned char *
slurp(const char *dir, int64_t base, const char *ext, size_t *len)
{
	char path[256];
	unsigned char *p;
	struct stat sb;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%020" PRId64 "%s", dir, base, ext);
	*len = 0;
	if ((fd = open(path, O_RDONLY)) == -1)
		return NULL;
	if (fstat(fd, &sb) == -1 || (p = malloc((size_t)sb.st_size + 1)) ==
	    NULL) {
		close(fd);
		return NULL;
	}
	n = read(fd, p, (size_t)sb.st_size);
	close(fd);
	*len = n < 0 ? 0 : (size_t)n;
	return p;
}

static int
cmpseg(const void *a, const void *b)
{
	int64_t x = ((const struct seg *)a)->base;
	int64_t y = ((const struct seg *)b)->base;

	return (x > y) - (x < y);
}

/* Lists NNNNNNNNNNNNNNNNNNNN.log files; returns how many other files. */
static int
list_segments(void)
{
	struct dirent *d;
	DIR *dir;
	int odd = 0;

	nsegs = 0;
	if ((dir = opendir(partdir)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		size_t len = strlen(d->d_name), i;

		if (len != 24 || strcmp(d->d_name + 20, ".log") != 0)
			continue;
		for (i = 0; i < 20; i++)
			if (d->d_name[i] < '0' || d->d_name[i] > '9')
				break;
		if (i < 20 || nsegs == MAXSEG) {
			odd++;
			continue;
		}
		segs[nsegs++].base = strtoll(d->d_name, NULL, 10);
	}
	closedir(dir);
	qsort(segs, nsegs, sizeof(segs[0]), cmpseg);
	return odd;
}

/* Reads a segment's .log batch by batch; 0 if all check. */
static int
load_segment(struct seg *s)
{
	struct mq_batch_info info;
	const char *why;
	unsigned char *log;
	size_t len, off = 0, cap = 0;

	if ((log = slurp(partdir, s->base, ".log", &len)) == NULL)
		return -1;
	s->size = (int64_t)len;
	while (off < len) {
		if (mq_batch_check(log + off, len - off, &info, &why) != 0)
			break;
		if (s->nb == cap) {
			cap = cap ? cap * 2 : 64;
			s->b = realloc(s->b, cap * sizeof(*s->b));
		}
		s->b[s->nb].pos = (int64_t)off;
		s->b[s->nb].base = info.base_offset;
		s->b[s->nb].last = info.last_offset;
		s->b[s->nb].max_ts = info.max_timestamp;
		s->nb++;
		off += (size_t)info.length;
	}
	free(log);
	s->idx = slurp(partdir, s->base, ".index", &s->idxlen);
	s->tidx = slurp(partdir, s->base, ".timeindex", &s->tidxlen);
	return off == len && s->idx != NULL && s->tidx != NULL ? 0 : -1;
}

/* ------------------------------------------------------------------ */
/* Setting up                                                          */

static struct mq_log *log_;
static struct mq_topic *topic;
static int64_t nbatches;

static void
fill_batch(struct mq_batch *b, int64_t first, int n)
{
	char key[32], val[64];
	struct mq_record r;
	int i, rc = 0;

	mq_batch_reset(b);
	for (i = 0; i < n; i++) {
		memset(&r, 0, sizeof(r));
		r.key = key;
		r.keylen = keyof(first + i, key);
		r.value = val;
		r.vallen = valof(first + i, val);
		r.timestamp = tsof(first + i);
		rc |= mq_batch_add(b, &r);
	}
	mq_batch_finish(b, 0);
	if (rc != 0)
		ok(0, "batch of %d records from %" PRId64 " built", n, first);
}

static void
setup(void)
{
	struct mq_batch bs[3], *bp[3];
	struct mq_appender *a;
	struct mq_config c;
	const char *why = NULL;
	int64_t next = 0, first, callfirst;
	int i, j, rc, bad = 0, calls = 0;

	ok(mkdtemp(tmpdir) != NULL, "mkdtemp %s", tmpdir);
	snprintf(logdir, sizeof(logdir), "%s/log", tmpdir);
	snprintf(partdir, sizeof(partdir), "%s/topics/idx/idx-0", logdir);
	rc = mq_log_open(&log_, logdir, MQ_LOG_CREATE);
	ok(rc == 0, "mq_log_open creates %s (%s)", logdir, mq_strerror(rc));
	mq_config_init(&c);
	ok(mq_config_set(&c, "index.interval.bytes", "100", &why) == 0 &&
	    mq_config_set(&c, "segment.bytes", "2000", &why) == 0,
	    "config: index.interval.bytes 100, segment.bytes 2000");
	rc = mq_topic_create(log_, "idx", 1, &c);
	ok(rc == 0, "topic created (%s)", mq_strerror(rc));
	rc = mq_topic_open(log_, "idx", &topic);
	ok(rc == 0, "topic opened (%s)", mq_strerror(rc));
	rc = mq_appender_open(topic, 0, MQ_SYNC_NONE, &a);
	ok(rc == 0, "appender opened (%s)", mq_strerror(rc));
	if (topic == NULL || a == NULL)
		return;

	for (i = 0; i < 3; i++) {
		mq_batch_init(&bs[i], 1 << 20);
		bp[i] = &bs[i];
	}
	/* Batches of 1-4 records, one or three batches per append call. */
	while (next < NREC) {
		int nb = calls % 3 == 2 ? 3 : 1;

		callfirst = next;
		for (j = 0; j < nb && next < NREC; j++) {
			int n = 1 + (int)(nbatches % 4);

			if (next + n > NREC)
				n = (int)(NREC - next);
			fill_batch(&bs[j], next, n);
			next += n;
			nbatches++;
		}
		first = -1;
		rc = mq_append(a, bp, (size_t)j, &first);
		bad += rc != 0 || first != callfirst;
		if (rc != 0)
			ok(0, "mq_append: %s", mq_strerror(rc));
		calls++;
	}
	ok(bad == 0, "%d append calls, %" PRId64 " batches, %d records",
	    calls, nbatches, NREC);
	for (i = 0; i < 3; i++)
		mq_batch_free(&bs[i]);
	ok(mq_appender_close(a) == 0, "appender closed");
}

/* ------------------------------------------------------------------ */
/* Segments                                                            */

static void
check_segments(void)
{
	int64_t expect = 0;
	size_t i;
	int odd, bad = 0, big = 0, loaded = 0;

	odd = list_segments();
	ok(odd == 0, "only 20-digit NAME.log segment files (%d others)", odd);
	ok(nsegs >= 3, "segments rolled: %zu .log files", nsegs);
	ok(nsegs > 0 && segs[0].base == 0,
	    "first segment is 00000000000000000000.log");
	for (i = 0; i < nsegs; i++) {
		struct seg *s = &segs[i];

		loaded += load_segment(s) == 0;
		/* Named by its first offset; contiguous with the last. */
		if (s->nb == 0 || s->b[0].base != s->base ||
		    s->base != expect)
			bad++;
		if (s->nb > 0)
			expect = s->b[s->nb - 1].last + 1;
		big += s->size > SEGBYTES;
	}
	ok(loaded == (int)nsegs, "every segment's batches check, with its "
	    ".index and .timeindex (%d of %zu)", loaded, nsegs);
	ok(bad == 0, "segments named by base offset and contiguous (%d not)",
	    bad);
	ok(expect == NREC, "segments hold offsets 0..%d (end %" PRId64 ")",
	    NREC - 1, expect);
	ok(big == 0, "no segment over segment.bytes (%d)", big);
	/* A roll happens when the next batch would not fit. */
	bad = 0;
	for (i = 0; i + 1 < nsegs; i++) {
		struct seg *n = &segs[i + 1];
		int64_t first = n->nb > 0 ? (n->nb > 1 ? n->b[1].pos :
		    n->size) : 0;

		bad += segs[i].size + first <= SEGBYTES;
	}
	ok(bad == 0, "each roll was needed: the next batch would not have "
	    "fitted (%d early)", bad);
}

/*
 * Kafka's rules for the offset index: 8-byte entries (relative offset,
 * position), both strictly increasing; each position is the start of a
 * batch holding the entry's offset.  And Kafka's placement rule: an
 * entry (batch's last offset, its position) goes in when more than
 * index.interval.bytes were appended since the last one.
 */
static void
check_index_files(void)
{
	size_t i, k;
	int bad_size = 0, bad_order = 0, bad_target = 0, bad_rule = 0;
	int bad_tsize = 0, bad_torder = 0, bad_tts = 0, bad_trule = 0;
	int entries = 0, tentries = 0, fd;

	fd = -1;
	for (i = 0; i < nsegs; i++) {
		struct seg *s = &segs[i];
		char path[256];
		int64_t lastpos = 0, seg_max = -1, seg_max_off = -1;
		int64_t last_t = -1, prev_rel = -1, prev_pos = -1;
		int64_t prev_ts = -1, prev_trel = -1;
		size_t e = 0, te = 0, n, tn;

		bad_size += s->idxlen % 8 != 0;
		bad_tsize += s->tidxlen % 12 != 0;
		n = s->idxlen / 8;
		tn = s->tidxlen / 12;
		entries += (int)n;
		tentries += (int)tn;
		snprintf(path, sizeof(path), "%s/%020" PRId64 ".log", partdir,
		    s->base);
		fd = open(path, O_RDONLY);
		for (k = 0; k < n; k++) {
			const unsigned char *p = s->idx + 8 * k;
			int64_t rel = get_be32(p), pos = get_be32(p + 4);
			unsigned char h[MQ_BATCH_HEADER];
			int64_t b0, last;

			bad_order += rel <= prev_rel || pos <= prev_pos;
			prev_rel = rel;
			prev_pos = pos;
			/* Read the batch header there with plain pread. */
			if (pread(fd, h, sizeof(h), pos) != sizeof(h)) {
				bad_target++;
				continue;
			}
			b0 = (int64_t)get_be64(h);
			last = b0 + (int32_t)get_be32(h + 23);
			bad_target += h[16] != 2 || !(b0 <= s->base + rel &&
			    s->base + rel <= last);
		}
		if (fd != -1)
			close(fd);
		for (k = 0; k < tn; k++) {
			const unsigned char *p = s->tidx + 12 * k;
			int64_t ts = (int64_t)get_be64(p);
			int64_t rel = get_be32(p + 8);

			bad_torder += ts < prev_ts || rel < prev_trel;
			prev_ts = ts;
			prev_trel = rel;
			/* Records are 10 ms apart, so the time names one. */
			bad_tts += ts != tsof(s->base + rel);
		}

		/* Replay LogSegment.append over the batches found. */
		for (k = 0; k < s->nb; k++) {
			struct batchpos *b = &s->b[k];

			if (b->max_ts > seg_max) {
				seg_max = b->max_ts;
				seg_max_off = b->last;
			}
			if (b->pos - lastpos <= INTERVAL)
				continue;
			lastpos = b->pos;
			if (e >= n || get_be32(s->idx + 8 * e) !=
			    (uint32_t)(b->last - s->base) ||
			    get_be32(s->idx + 8 * e + 4) != (uint32_t)b->pos)
				bad_rule++;
			e++;
			if (seg_max <= last_t)
				continue;
			last_t = seg_max;
			if (te >= tn || (int64_t)get_be64(s->tidx + 12 * te) !=
			    seg_max || get_be32(s->tidx + 12 * te + 8) !=
			    (uint32_t)(seg_max_off - s->base))
				bad_trule++;
			te++;
		}
		/* A sealed segment gets a last time entry for its max. */
		if (i + 1 < nsegs && seg_max > last_t) {
			if (te >= tn || (int64_t)get_be64(s->tidx + 12 * te) !=
			    seg_max)
				bad_trule++;
			te++;
		}
		bad_rule += e != n;
		bad_trule += te != tn;
	}
	ok(entries >= 2 * (int)nsegs, "%d .index entries in %zu segments",
	    entries, nsegs);
	ok(tentries >= 2 * (int)nsegs, "%d .timeindex entries", tentries);
	ok(bad_size == 0, ".index sizes are multiples of 8 (%d not)",
	    bad_size);
	ok(bad_tsize == 0, ".timeindex sizes are multiples of 12 (%d not)",
	    bad_tsize);
	ok(bad_order == 0, ".index relative offsets and positions strictly "
	    "increase (%d not)", bad_order);
	ok(bad_target == 0, ".index positions are batch starts holding the "
	    "entry's offset (%d not)", bad_target);
	ok(bad_rule == 0, ".index entries are exactly Kafka's, one per "
	    "index.interval.bytes (%d wrong)", bad_rule);
	ok(bad_torder == 0, ".timeindex timestamps and offsets do not "
	    "decrease (%d do)", bad_torder);
	ok(bad_tts == 0, ".timeindex entries name the record with that "
	    "timestamp (%d not)", bad_tts);
	ok(bad_trule == 0, ".timeindex entries are exactly Kafka's, with a "
	    "last one on roll (%d wrong)", bad_trule);
}

/* ------------------------------------------------------------------ */
/* Lookups                                                             */

/* The answer index_lookup must give, from the entries read. */
static int64_t
ref_index(const struct seg *s, int64_t target)
{
	int64_t pos = 0;
	size_t k;

	for (k = 0; k < s->idxlen / 8; k++)
		if (s->base + get_be32(s->idx + 8 * k) <= target)
			pos = get_be32(s->idx + 8 * k + 4);
	return pos;
}

/*
 * And tindex_lookup's: the offset of the last entry strictly below ts,
 * so that a scan from there cannot skip a record at ts (an entry names a
 * batch's last offset, and earlier records of that batch may share its
 * time).  Kafka's TimeIndex takes the last entry <= ts instead, but then
 * scans from a batch start found through the offset index.
 */
static int64_t
ref_tindex(const struct seg *s, int64_t ts)
{
	int64_t off = s->base;
	size_t k;

	for (k = 0; k < s->tidxlen / 12; k++)
		if ((int64_t)get_be64(s->tidx + 12 * k) < ts)
			off = s->base + get_be32(s->tidx + 12 * k + 8);
	return off;
}

static void
check_lookups(void)
{
	const struct seg *s;
	int64_t pos, off, last_ts, t, a0, p0, a1, p1, an, pn;
	size_t i, n, tn;
	int dfd, rc, bad = 0, tbad = 0, rcbad = 0;

	dfd = open(partdir, O_RDONLY | O_DIRECTORY);
	ok(dfd != -1, "partition directory opened");
	if (dfd == -1 || nsegs < 2)
		return;

	/* Exhaustively, every target in and around every segment. */
	for (i = 0; i < nsegs; i++) {
		int64_t hi;

		s = &segs[i];
		hi = s->nb > 0 ? s->b[s->nb - 1].last : s->base;
		for (t = s->base - 2; t <= hi + 3; t++) {
			rcbad += index_lookup(dfd, s->base, t, &pos) != 0;
			bad += pos != ref_index(s, t);
		}
		for (t = tsof(s->base) - 15; t <= tsof(hi) + 25; t += 5) {
			rcbad += tindex_lookup(dfd, s->base, t, &off,
			    &last_ts) != 0;
			tbad += off != ref_tindex(s, t) || last_ts !=
			    (s->tidxlen < 12 ? -1 :
			    (int64_t)get_be64(s->tidx + s->tidxlen - 12));
		}
	}
	ok(rcbad == 0, "lookups return 0 (%d did not)", rcbad);
	ok(bad == 0, "index_lookup: largest entry <= target, for every "
	    "offset of every segment (%d wrong)", bad);
	ok(tbad == 0, "tindex_lookup: last entry below ts and the last "
	    "entry's time, every 5 ms (%d wrong)", tbad);

	/* The cases by name, on the first segment with two entries. */
	for (i = 0; i < nsegs; i++)
		if (segs[i].idxlen >= 16 && segs[i].tidxlen >= 24)
			break;
	ok(i < nsegs, "a segment with two entries in each index");
	if (i == nsegs) {
		close(dfd);
		return;
	}
	s = &segs[i];
	n = s->idxlen / 8;
	a0 = s->base + get_be32(s->idx);
	p0 = get_be32(s->idx + 4);
	a1 = s->base + get_be32(s->idx + 8);
	p1 = get_be32(s->idx + 12);
	an = s->base + get_be32(s->idx + 8 * (n - 1));
	pn = get_be32(s->idx + 8 * (n - 1) + 4);
	index_lookup(dfd, s->base, s->base, &pos);
	ok(a0 > s->base && pos == 0, "index: base offset, before the first "
	    "entry: position 0");
	index_lookup(dfd, s->base, a0 - 1, &pos);
	ok(pos == 0, "index: just before the first entry: position 0");
	index_lookup(dfd, s->base, a0, &pos);
	ok(pos == p0, "index: at the first entry: its position %" PRId64,
	    p0);
	index_lookup(dfd, s->base, a0 + 1, &pos);
	ok(a0 + 1 < a1 && pos == p0, "index: between entries: the earlier");
	index_lookup(dfd, s->base, a1, &pos);
	ok(pos == p1, "index: at the second entry: its position");
	index_lookup(dfd, s->base, an + 1000, &pos);
	ok(pos == pn, "index: past the last entry: the last position");

	tn = s->tidxlen / 12;
	a0 = (int64_t)get_be64(s->tidx);		/* times now */
	p0 = s->base + get_be32(s->tidx + 8);
	a1 = (int64_t)get_be64(s->tidx + 12);
	p1 = s->base + get_be32(s->tidx + 20);
	an = (int64_t)get_be64(s->tidx + 12 * (tn - 1));
	pn = s->base + get_be32(s->tidx + 12 * (tn - 1) + 8);
	tindex_lookup(dfd, s->base, a0 - 1, &off, &last_ts);
	ok(off == s->base && last_ts == an,
	    "tindex: before the first entry: base, last time %" PRId64, an);
	tindex_lookup(dfd, s->base, INT64_MIN, &off, &last_ts);
	ok(off == s->base, "tindex: INT64_MIN: base");
	tindex_lookup(dfd, s->base, a0, &off, &last_ts);
	ok(off == s->base, "tindex: at the first entry's time: base (no "
	    "entry below it)");
	tindex_lookup(dfd, s->base, a0 + 1, &off, &last_ts);
	ok(a0 + 1 < a1 && off == p0,
	    "tindex: between the first two entries: the first's offset");
	tindex_lookup(dfd, s->base, a1, &off, &last_ts);
	ok(off == p0, "tindex: at the second entry's time: the first's "
	    "offset");
	tindex_lookup(dfd, s->base, a1 + 1, &off, &last_ts);
	ok(off == p1, "tindex: just past the second: its offset");
	tindex_lookup(dfd, s->base, an, &off, &last_ts);
	ok(tn >= 2 && off == s->base + get_be32(s->tidx + 12 * (tn - 2) + 8),
	    "tindex: at the last entry's time: the one before it");
	tindex_lookup(dfd, s->base, INT64_MAX, &off, &last_ts);
	ok(off == pn && last_ts == an,
	    "tindex: after the last entry: its offset");

	/* Missing index files: the start of the segment. */
	pos = 99;
	rc = index_lookup(dfd, 987654, 987700, &pos);
	ok(rc == 0 && pos == 0, "index: missing file: rc 0, position 0");
	off = last_ts = 99;
	rc = tindex_lookup(dfd, 987654, tsof(10), &off, &last_ts);
	ok(rc == 0 && off == 987654 && last_ts == -1,
	    "tindex: missing file: rc 0, base, last time -1");
	close(dfd);
}

/* ------------------------------------------------------------------ */
/* Readers                                                             */

static int
rec_ok(const struct mq_record *r, int64_t o)
{
	char key[32], val[64];
	int kl = keyof(o, key), vl = valof(o, val);

	return r->offset == o && r->timestamp == tsof(o) && r->keylen == kl &&
	    memcmp(r->key, key, (size_t)kl) == 0 && r->vallen == vl &&
	    memcmp(r->value, val, (size_t)vl) == 0 && r->nheaders == 0;
}

static void
check_reader(void)
{
	struct mq_reader *r;
	struct mq_record rec;
	int64_t start = -1, end = -1, o;
	int rc, bad, n;

	rc = mq_reader_open(topic, 0, &r);
	ok(rc == 0, "reader opened (%s)", mq_strerror(rc));
	if (rc != 0)
		return;
	rc = mq_reader_offsets(r, &start, &end);
	ok(rc == 0 && start == 0 && end == NREC,
	    "offsets: start 0, end %d (%" PRId64 ", %" PRId64 ")", NREC, start,
	    end);
	ok(mq_reader_position(r) == 0, "a new reader is at the start");

	/* Straight through, across every segment. */
	bad = n = 0;
	while ((rc = mq_reader_next(r, &rec)) == 1) {
		bad += !rec_ok(&rec, n);
		n++;
	}
	ok(rc == 0 && n == NREC, "read %d records across %zu segments, then "
	    "0 (rc %d)", n, nsegs, rc);
	ok(bad == 0, "every record as written (%d not)", bad);
	ok(mq_reader_position(r) == NREC, "position at the end: %d", NREC);

	/* Seek to every offset. */
	bad = 0;
	for (o = 0; o < NREC; o++) {
		if (mq_reader_seek(r, o) != 0 || mq_reader_position(r) != o ||
		    mq_reader_next(r, &rec) != 1 || !rec_ok(&rec, o))
			bad++;
	}
	ok(bad == 0, "seek to each of 0..%d returns that record first (%d "
	    "not)", NREC - 1, bad);
	/* And on from there, over a segment boundary. */
	bad = 0;
	if (nsegs > 1) {
		o = segs[1].base - 2;
		mq_reader_seek(r, o);
		for (n = 0; n < 5; n++)
			bad += mq_reader_next(r, &rec) != 1 ||
			    !rec_ok(&rec, o + n);
	}
	ok(bad == 0, "from 2 before segment 1 on, 5 records in order");
	ok(mq_reader_seek(r, NREC) == 0 && mq_reader_next(r, &rec) == 0,
	    "seek to the end: no record");
	ok(mq_reader_seek(r, NREC + 100) == 0 &&
	    mq_reader_position(r) == NREC, "seek past the end clamps to it");
	ok(mq_reader_seek(r, -5) == 0 && mq_reader_position(r) == 0 &&
	    mq_reader_next(r, &rec) == 1 && rec.offset == 0,
	    "seek before the start clamps to 0");

	/* Seek by time: the first record with timestamp >= T. */
	bad = 0;
	for (o = 0; o < NREC; o++) {
		if (mq_reader_seek_time(r, tsof(o)) != 0 ||
		    mq_reader_position(r) != o ||
		    mq_reader_next(r, &rec) != 1 || !rec_ok(&rec, o))
			bad++;
		if (mq_reader_seek_time(r, tsof(o) - TS_STEP / 2) != 0 ||
		    mq_reader_next(r, &rec) != 1 || rec.offset != o)
			bad++;
		if (mq_reader_seek_time(r, tsof(o) - TS_STEP + 1) != 0 ||
		    mq_reader_next(r, &rec) != 1 || rec.offset != o)
			bad++;
	}
	ok(bad == 0, "seek_time to each record's time, and to 1 and 5 ms "
	    "after the one before, finds it (%d not)", bad);
	ok(mq_reader_seek_time(r, TS0 - 100000) == 0 &&
	    mq_reader_next(r, &rec) == 1 && rec.offset == 0,
	    "seek_time before all: offset 0");
	ok(mq_reader_seek_time(r, 0) == 0 && mq_reader_next(r, &rec) == 1 &&
	    rec.offset == 0, "seek_time 0: offset 0");
	ok(mq_reader_seek_time(r, tsof(NREC - 1) + 1) == 0 &&
	    mq_reader_position(r) == NREC && mq_reader_next(r, &rec) == 0,
	    "seek_time after all: the end, no record");
	ok(mq_reader_seek_time(r, INT64_MAX) == 0 &&
	    mq_reader_position(r) == NREC, "seek_time INT64_MAX: the end");
	/* Reading on after a time seek crosses segments too. */
	bad = n = 0;
	if (mq_reader_seek_time(r, tsof(NREC / 3)) == 0)
		while (mq_reader_next(r, &rec) == 1)
			bad += !rec_ok(&rec, NREC / 3 + n++);
	ok(bad == 0 && n == NREC - NREC / 3, "after seek_time, %d records "
	    "to the end", n);
	mq_reader_close(r);
}

/* ------------------------------------------------------------------ */
/* partition.state                                                     */

/*
 * Records sharing a timestamp within a batch: a time index entry names
 * the batch's last offset, so a time seek that started at an entry equal
 * to T would skip the batch's earlier records at T.
 */
static void
check_same_times(void)
{
	struct mq_appender *a = NULL;
	struct mq_reader *r = NULL;
	struct mq_topic *t = NULL;
	struct mq_record rec;
	struct mq_batch b, *bp = &b;
	struct mq_config c;
	const char *why;
	int64_t first[100], off = 0, got;
	char val[64];
	int i, j, n, rc, bad = 0;

	mq_config_init(&c);
	mq_config_set(&c, "index.interval.bytes", "0", &why);
	mq_config_set(&c, "segment.bytes", "1000", &why);
	rc = mq_topic_create(log_, "same", 1, &c);
	if (rc == 0)
		rc = mq_topic_open(log_, "same", &t);
	if (rc == 0)
		rc = mq_appender_open(t, 0, MQ_SYNC_NONE, &a);
	ok(rc == 0, "same-time topic ready (%s)", mq_strerror(rc));
	if (rc != 0) {
		mq_topic_close(t);
		return;
	}
	/* Batch i: 1 + i % 5 records, all at TS0 + 100 i. */
	mq_batch_init(&b, 1 << 20);
	for (i = 0; i < 100; i++) {
		mq_batch_reset(&b);
		n = 1 + i % 5;
		for (j = 0; j < n; j++) {
			memset(&rec, 0, sizeof(rec));
			rec.keylen = -1;
			rec.value = val;
			rec.vallen = sprintf(val, "%d.%d", i, j);
			rec.timestamp = TS0 + 100 * i;
			mq_batch_add(&b, &rec);
		}
		mq_batch_finish(&b, 0);
		bad += mq_append(a, &bp, 1, &first[i]) != 0 || first[i] != off;
		off += n;
	}
	mq_batch_free(&b);
	mq_appender_close(a);
	ok(bad == 0, "100 batches of records sharing a time appended");

	bad = 0;
	rc = mq_reader_open(t, 0, &r);
	for (i = 0; rc == 0 && i < 100; i++) {
		int64_t ts = TS0 + 100 * i;

		got = -1;
		if (mq_reader_seek_time(r, ts) == 0 &&
		    mq_reader_next(r, &rec) == 1)
			got = rec.offset;
		bad += got != first[i] || rec.timestamp != ts;
		got = -1;
		if (mq_reader_seek_time(r, ts - 1) == 0 &&
		    mq_reader_next(r, &rec) == 1)
			got = rec.offset;
		bad += got != first[i];
	}
	ok(rc == 0 && bad == 0, "seek_time to a batch's time (or 1 ms "
	    "before) gives its first record, not its last (%d wrong)", bad);
	mq_reader_close(r);
	mq_topic_close(t);
}

static void
check_state(void)
{
	struct pstate s, t;
	char path[256];
	unsigned char b[STATE_SIZE], c;
	struct stat sb;
	const struct seg *last;
	int fd, i, bad, rc;

	/* The appender's own, after everything above. */
	snprintf(path, sizeof(path), "%s/%s", partdir, STATE_FILE);
	fd = open(path, O_RDONLY);
	rc = fd == -1 ? errno : pstate_read(fd, &s);
	ok(rc == 0, "partition.state reads (%s)", mq_strerror(rc));
	if (fd != -1)
		close(fd);
	if (rc == 0 && nsegs > 0) {
		last = &segs[nsegs - 1];
		ok(s.hw_offset == NREC && s.start_offset == 0 &&
		    s.hw_segment == last->base && s.hw_pos == last->size,
		    "state: end %" PRId64 ", active segment %" PRId64 " at %"
		    PRId64, s.hw_offset, s.hw_segment, s.hw_pos);
		ok(s.index_entries == last->idxlen / 8 &&
		    s.tindex_entries == last->tidxlen / 12,
		    "state: entry counts match the active segment's indexes");
		ok(s.seg_max_ts == tsof(NREC - 1) &&
		    s.seg_max_ts_offset == NREC - 1,
		    "state: active segment's largest time and its offset");
	}

	pstate_init(&s, 42);
	ok(s.hw_offset == 42 && s.hw_segment == 42 && s.start_offset == 42 &&
	    s.sync_offset == 42 && s.hw_pos == 0 && s.seg_first_ts == -1 &&
	    s.seg_max_ts == -1 && s.seg_max_ts_offset == -1 &&
	    s.last_tindex_ts == -1 && s.index_entries == 0 &&
	    s.tindex_entries == 0, "pstate_init(42)");

	/* Round trip with every field distinct. */
	snprintf(path, sizeof(path), "%s/state.XXXXXX", tmpdir);
	fd = mkstemp(path);
	ok(fd != -1, "temp state file");
	if (fd == -1)
		return;
	memset(&s, 0, sizeof(s));
	s.hw_offset = INT64_C(0x0102030405060708);
	s.hw_segment = INT64_C(0x0102030405060000);
	s.hw_pos = 123456789;
	s.start_offset = 77;
	s.sync_offset = INT64_C(0x0102030405060001);
	s.last_index_pos = 123456000;
	s.seg_first_ts = TS0;
	s.seg_max_ts = TS0 + 999;
	s.seg_max_ts_offset = INT64_C(0x0102030405060707);
	s.last_tindex_ts = TS0 + 500;
	s.index_entries = 0xdeadbeef;
	s.tindex_entries = 12345;
	ok(pstate_write(fd, &s) == 0, "pstate_write");
	ok(fstat(fd, &sb) == 0 && sb.st_size == STATE_SIZE,
	    "state file is %d bytes", STATE_SIZE);
	memset(&t, 0x55, sizeof(t));
	ok(pstate_read(fd, &t) == 0 && t.hw_offset == s.hw_offset &&
	    t.hw_segment == s.hw_segment && t.hw_pos == s.hw_pos &&
	    t.start_offset == s.start_offset &&
	    t.sync_offset == s.sync_offset &&
	    t.last_index_pos == s.last_index_pos &&
	    t.seg_first_ts == s.seg_first_ts &&
	    t.seg_max_ts == s.seg_max_ts &&
	    t.seg_max_ts_offset == s.seg_max_ts_offset &&
	    t.last_tindex_ts == s.last_tindex_ts &&
	    t.index_entries == s.index_entries &&
	    t.tindex_entries == s.tindex_entries,
	    "pstate_read gives back every field");
	pstate_init(&s, 0);
	ok(pstate_write(fd, &s) == 0 && pstate_read(fd, &t) == 0 &&
	    t.seg_max_ts == -1 && t.hw_offset == 0,
	    "a fresh state (-1 times) round-trips");

	/* Every byte flipped, the CRC itself included: MQ_ESTATE. */
	ok(pread(fd, b, sizeof(b), 0) == sizeof(b) && memcmp(b, "MQPS", 4) ==
	    0, "state starts with MQPS");
	bad = 0;
	for (i = 0; i < STATE_SIZE; i++) {
		c = b[i];
		b[i] ^= 0x20;
		bad += pwrite(fd, b, sizeof(b), 0) != sizeof(b) ||
		    pstate_read(fd, &t) != MQ_ESTATE;
		b[i] = c;
	}
	ok(bad == 0, "a flipped byte at each of %d positions gives "
	    "MQ_ESTATE (%d not)", STATE_SIZE, bad);
	ok(pwrite(fd, b, sizeof(b), 0) == sizeof(b) &&
	    pstate_read(fd, &t) == 0, "restored copy reads again");

	/* Short files. */
	ok(ftruncate(fd, STATE_SIZE - 1) == 0 && pstate_read(fd, &t) ==
	    MQ_ESTATE, "a %d-byte file gives MQ_ESTATE", STATE_SIZE - 1);
	ok(ftruncate(fd, 0) == 0 && pstate_read(fd, &t) == MQ_ESTATE,
	    "an empty file gives MQ_ESTATE");

	/* A good CRC over values that cannot be: MQ_ESTATE too. */
	pstate_init(&s, 10);
	s.start_offset = 11;
	ok(pstate_write(fd, &s) == 0 && pstate_read(fd, &t) == MQ_ESTATE,
	    "start offset past the end gives MQ_ESTATE");
	pstate_init(&s, 10);
	s.hw_offset = 9;
	s.start_offset = 9;
	ok(pstate_write(fd, &s) == 0 && pstate_read(fd, &t) == MQ_ESTATE,
	    "end before the active segment gives MQ_ESTATE");
	close(fd);
	unlink(path);
}

/* ------------------------------------------------------------------ */

int
main(void)
{
	size_t i;

	setup();
	if (topic != NULL) {
		check_segments();
		check_index_files();
		check_lookups();
		check_reader();
		check_same_times();
	}
	check_state();

	for (i = 0; i < nsegs; i++) {
		free(segs[i].b);
		free(segs[i].idx);
		free(segs[i].tidx);
	}
	mq_topic_close(topic);
	mq_log_close(log_);
	ok(rm_tree(tmpdir) == 0 &&
	    access(tmpdir, F_OK) == -1, "%s removed", tmpdir);
	return done();
}

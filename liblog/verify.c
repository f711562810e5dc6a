/* SPDX-License-Identifier: MIT */
/*
 * verify.c - checking a segment's offset and time indexes against its
 * batches, for mq-check and mq-dump --verify-index alike.
 *
 * The entries are loaded first and the batches fed after, in file order,
 * each one marking the entries that name it: an offset index entry names
 * a batch by its position, a time index entry by its last offset.  So
 * the memory is that of the indexes, which are sparse, and never that of
 * the segment, which may hold millions of small batches.  Entries are
 * then judged in file order, one line per mismatch, in the words of
 * Kafka's DumpLogSegments.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define LOAD_CHUNK	(64 * 1024)	/* bytes read at a time */

struct ixent {
	int64_t	rel;			/* offset relative to the base */
	int64_t	val;			/* .index: position; .timeindex: time */
	int64_t	got;			/* what the batch it names holds */
	int	hit;			/* a batch was found for it */
};

struct ixkind {
	struct ixent *v;		/* in file order */
	size_t	*by;			/* v's indexes sorted by key */
	size_t	n, cap;
	int64_t	count;			/* entries that count, -1 all */
	int64_t	whole;			/* whole entries in the file */
	int64_t	extra;			/* bytes past the last whole one */
	int	loaded;
};

struct mq_ixcheck {
	int64_t	base;
	struct ixkind k[2];
};

static const size_t esize[2] = { INDEX_ENTRY, TINDEX_ENTRY };

int
mq_ixcheck_open(struct mq_ixcheck **xp)
{
	*xp = calloc(1, sizeof(**xp));
	return *xp == NULL ? ENOMEM : 0;
}

void
mq_ixcheck_close(struct mq_ixcheck *x)
{
	int k;

	if (x == NULL)
		return;
	for (k = 0; k < 2; k++) {
		free(x->k[k].v);
		free(x->k[k].by);
	}
	free(x);
}

void
mq_ixcheck_start(struct mq_ixcheck *x, int64_t base)
{
	int k;

	x->base = base;
	for (k = 0; k < 2; k++) {
		x->k[k].n = 0;
		x->k[k].loaded = 0;
	}
}

/* The key a batch finds an entry by: position, or absolute offset. */
static int64_t
key(const struct mq_ixcheck *x, int kind, const struct ixent *e)
{
	return kind == MQ_INDEX_OFFSET ? e->val : x->base + e->rel;
}

/* qsort(3) has no argument for the comparison: sort pairs instead. */
struct keyed {
	int64_t	key;
	size_t	i;
};

static int
cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->key != y->key)
		return (x->key > y->key) - (x->key < y->key);
	return (x->i > y->i) - (x->i < y->i);
}

/* Sorts kind's entries by key into ik->by. */
static int
sort_keys(struct mq_ixcheck *x, int kind)
{
	struct ixkind *ik = &x->k[kind];
	struct keyed *tmp;
	size_t i;

	if (ik->n == 0)
		return 0;
	if ((tmp = malloc(ik->n * sizeof(*tmp))) == NULL)
		return ENOMEM;
	for (i = 0; i < ik->n; i++)
		tmp[i] = (struct keyed){ key(x, kind, &ik->v[i]), i };
	qsort(tmp, ik->n, sizeof(*tmp), cmp_keyed);
	for (i = 0; i < ik->n; i++)
		ik->by[i] = tmp[i].i;
	free(tmp);
	return 0;
}

static int
grow(struct ixkind *ik, size_t n)
{
	struct ixent *v;
	size_t *by;

	if (n <= ik->cap)
		return 0;
	if ((v = realloc(ik->v, n * sizeof(*v))) == NULL)
		return ENOMEM;
	ik->v = v;
	if ((by = realloc(ik->by, n * sizeof(*by))) == NULL)
		return ENOMEM;
	ik->by = by;
	ik->cap = n;
	return 0;
}

int
mq_ixcheck_load(struct mq_ixcheck *x, int kind, int fd, int64_t count)
{
	struct ixkind *ik = &x->k[kind];
	unsigned char buf[LOAD_CHUNK];
	size_t es = esize[kind], per = LOAD_CHUNK / es, i, got;
	int64_t want;
	struct stat sb;
	ssize_t r;
	int rc;

	ik->n = 0;
	ik->loaded = 0;
	if (fstat(fd, &sb) == -1)
		return errno;
	ik->whole = sb.st_size / (off_t)es;
	ik->extra = sb.st_size % (off_t)es;
	ik->count = count;
	want = count >= 0 && count < ik->whole ? count : ik->whole;
	if ((uint64_t)want > SIZE_MAX / sizeof(struct ixent))
		return ENOMEM;
	if ((rc = grow(ik, (size_t)want)) != 0)
		return rc;
	while (ik->n < (size_t)want) {
		got = (size_t)want - ik->n < per ? (size_t)want - ik->n : per;
		r = pread(fd, buf, got * es, (off_t)(ik->n * es));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return errno;
		/* The file shrank under us: what is there is what counts. */
		if ((size_t)r < es) {
			ik->whole = (int64_t)ik->n;
			break;
		}
		for (i = 0; i + es <= (size_t)r; i += es) {
			struct ixent *e = &ik->v[ik->n++];
			const unsigned char *p = buf + i;

			if (kind == MQ_INDEX_OFFSET) {
				e->rel = (int32_t)get_be32(p);
				e->val = get_be32(p + 4);
			} else {
				e->val = (int64_t)get_be64(p);
				e->rel = (int32_t)get_be32(p + 8);
			}
			e->hit = 0;
		}
	}
	if ((rc = sort_keys(x, kind)) != 0)
		return rc;
	ik->loaded = 1;
	return 0;
}

/* The first of kind's entries (in key order) whose key is k; n if none. */
static size_t
lower(const struct mq_ixcheck *x, int kind, int64_t k)
{
	const struct ixkind *ik = &x->k[kind];
	size_t lo = 0, hi = ik->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (key(x, kind, &ik->v[ik->by[mid]]) < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Marks the entries of kind whose key is k with v, if not marked yet. */
static void
mark(struct mq_ixcheck *x, int kind, int64_t k, int64_t v)
{
	struct ixkind *ik = &x->k[kind];
	struct ixent *e;
	size_t j;

	for (j = lower(x, kind, k); j < ik->n; j++) {
		e = &ik->v[ik->by[j]];
		if (key(x, kind, e) != k)
			break;
		/* The first batch in file order is the one an entry names. */
		if (!e->hit) {
			e->got = v;
			e->hit = 1;
		}
	}
}

void
mq_ixcheck_batch(struct mq_ixcheck *x, int64_t pos,
    const struct mq_batch_info *b)
{
	mark(x, MQ_INDEX_OFFSET, pos, b->last_offset);
	mark(x, MQ_INDEX_TIME, b->last_offset, b->max_timestamp);
}

/* One mismatch: formatted, handed to fn, counted. */
static void
say(mq_mismatch_fn *fn, void *arg, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
say(mq_mismatch_fn *fn, void *arg, size_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fn(arg, msg);
	(*n)++;
}

/* An offset index entry: at the start of a valid batch, its last offset. */
static void
judge_offset(const struct ixent *e, int64_t i, int64_t off, int64_t *poff,
    int64_t *ppos, int64_t logsize, mq_mismatch_fn *fn, void *arg,
    size_t *n)
{
	if (off <= *poff || e->val <= *ppos)
		say(fn, arg, n, "entry %" PRId64 ": offset %" PRId64
		    " position %" PRId64 ": not above the entry before "
		    "(offset %" PRId64 " position %" PRId64 ")", i, off, e->val,
		    *poff, *ppos);
	*poff = off;
	*ppos = e->val;
	if (e->val >= logsize)
		say(fn, arg, n, "entry %" PRId64 ": offset %" PRId64
		    " position %" PRId64 ": past the end of the log (%" PRId64
		    " bytes)", i, off, e->val, logsize);
	else if (!e->hit)
		say(fn, arg, n, "entry %" PRId64 ": offset %" PRId64
		    " position %" PRId64 ": not the start of a valid batch", i,
		    off, e->val);
	else if (e->got != off)
		say(fn, arg, n, "entry %" PRId64 ": Index offset: %" PRId64
		    ", log offset: %" PRId64, i, off, e->got);
}

/* A time index entry: the largest time of the batch ending at offset. */
static void
judge_time(const struct ixent *e, int64_t i, int64_t off, int64_t *pts,
    int64_t *poff, mq_mismatch_fn *fn, void *arg, size_t *n)
{
	if (e->val <= *pts || off < *poff)
		say(fn, arg, n, "entry %" PRId64 ": timestamp %" PRId64
		    " offset %" PRId64 ": out of order (after timestamp %"
		    PRId64 " offset %" PRId64 ")", i, e->val, off, *pts, *poff);
	*pts = e->val;
	*poff = off;
	if (!e->hit)
		say(fn, arg, n, "entry %" PRId64 ": timestamp %" PRId64
		    " offset %" PRId64 ": no valid batch ends at that offset",
		    i, e->val, off);
	else if (e->got != e->val)
		say(fn, arg, n, "entry %" PRId64 ": Index timestamp: %" PRId64
		    ", log timestamp: %" PRId64, i, e->val, e->got);
}

size_t
mq_ixcheck_report(const struct mq_ixcheck *x, int kind, int64_t logsize,
    int64_t end, mq_mismatch_fn *fn, void *arg)
{
	const struct ixkind *ik = &x->k[kind];
	int64_t poff = -1, ppos = -1, pts = INT64_MIN, off;
	size_t i, n = 0;

	if (!ik->loaded)
		return 0;
	for (i = 0; i < ik->n; i++) {
		const struct ixent *e = &ik->v[i];

		off = x->base + e->rel;
		/* Past the committed end: a write in progress. */
		if (off >= end)
			continue;
		if (e->rel < 0) {
			say(fn, arg, &n, "entry %zu: offset %" PRId64 " is "
			    "below the segment's base offset", i, off);
			continue;
		}
		if (kind == MQ_INDEX_OFFSET)
			judge_offset(e, (int64_t)i, off, &poff, &ppos, logsize,
			    fn, arg, &n);
		else
			judge_time(e, (int64_t)i, off, &pts, &poff, fn, arg,
			    &n);
	}
	if (ik->count < 0 && ik->extra > 0)
		say(fn, arg, &n, "%" PRId64 " bytes at the end are not a whole "
		    "entry", ik->extra);
	if (ik->count >= 0 && ik->whole < ik->count)
		say(fn, arg, &n, "%" PRId64 " entries, partition.state counts %"
		    PRId64, ik->whole, ik->count);
	return n;
}

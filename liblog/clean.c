/* SPDX-License-Identifier: MIT */
/*
 * clean.c - retention, delete-records and compaction: Kafka's log
 * cleaning, done by a command instead of a broker thread.
 *
 * Cleaning only ever touches sealed segments, which no appender writes
 * again, so it needs no lock against producers except for the moment it
 * moves the log start offset in partition.state.  Cleaners of one
 * partition serialise on the partition directory's flock.
 *
 * Retention deletes whole sealed segments, oldest first, after first
 * publishing the new log start offset: a reader that still names a
 * deleted segment finds the start moved and follows it.
 *
 * Compaction rewrites a run of sealed segments [A, D) into one, A', with
 * Kafka's file steps, ordered so that a reader sees the old log or the new
 * one and a crash at any point is finished or undone (compact_recover):
 *
 *   1. write A.log.cleaned, A.index.cleaned, A.timeindex.cleaned; fsync
 *   2. hard-link each other segment X of the run to X.log.deleted
 *   3. rename the .cleaned indexes to .swap, then A.log.cleaned to
 *      A.log.swap, and fsync the directory: the commit point.  From here
 *      readers (seg_list, seg_open_log) read A.log.swap for A and no
 *      longer see the segments marked .deleted.
 *   4. remove the marked segments' .log, .index and .timeindex
 *   5. rename the .swap indexes, then A.log.swap, over A's files
 *   6. remove the .deleted links; fsync the directory
 *
 * A crash before 3 leaves a .log.cleaned: undo.  After it, a .log.swap or
 * nothing: finish.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define OUT_CHUNK	(1 << 20)	/* cleaned bytes written at once */

int
part_lock(int dirfd, int exclusive)
{
	while (flock(dirfd, exclusive ? LOCK_EX : LOCK_SH) == -1)
		if (errno != EINTR)
			return errno;
	return 0;
}

void
part_unlock(int dirfd)
{
	flock(dirfd, LOCK_UN);
}

/* ------------------------------------------------------------------ */
/* Recovering a compaction cut short                                   */

static const char *const leftover_ext[] = {
	".log.cleaned", ".index.cleaned", ".timeindex.cleaned",
	".log.swap", ".index.swap", ".timeindex.swap", ".log.deleted"
};
enum { L_LOG_CLEANED, L_LOG_SWAP = 3, L_DELETED = 6, L_N = 7 };

/* Which of leftover_ext name ends with, after 20 digits; -1 if none. */
static int
leftover_kind(const char *name, int64_t *base)
{
	int i;

	for (i = 0; i < L_N; i++)
		if ((*base = seg_parse(name, leftover_ext[i])) >= 0)
			return i;
	return -1;
}

static int
rename_swap(int dirfd, int64_t base, const char *ext)
{
	char from[SEGNAME_SIZE], to[SEGNAME_SIZE], swap[16];

	snprintf(swap, sizeof(swap), "%s.swap", ext);
	seg_name(from, base, swap);
	seg_name(to, base, ext);
	if (renameat(dirfd, from, dirfd, to) == -1 && errno != ENOENT)
		return errno;
	return 0;
}

int
compact_recover(int dirfd, int repair, const char **what)
{
	struct leftover {
		int64_t	base;
		int	kind;
	} *v = NULL, *nv;
	struct dirent *d;
	int64_t base;
	int k, commit = 0, undo = 0, rc = 0;
	size_t n = 0, cap = 0, i;
	char name[SEGNAME_SIZE];
	DIR *dir;

	*what = NULL;
	if ((dir = dir_stream(dirfd)) == NULL)
		return errno;
	while ((d = readdir(dir)) != NULL) {
		if ((k = leftover_kind(d->d_name, &base)) < 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = ENOMEM;
				break;
			}
			v = nv;
		}
		v[n++] = (struct leftover){ base, k };
		undo |= k == L_LOG_CLEANED;
		commit |= k == L_LOG_SWAP;
	}
	closedir(dir);
	if (rc != 0 || n == 0)
		goto out;
	if (!repair) {
		*what = undo ? "would undo" : "would finish";
		goto out;
	}
	if (undo) {
		/* Before the commit point: the old segments are whole. */
		for (i = 0; i < n; i++) {
			seg_name(name, v[i].base, leftover_ext[v[i].kind]);
			unlinkat(dirfd, name, 0);
		}
	} else {
		/* Steps 4 to 6.  Without a .log.swap, 5 is done.  The
		 * links go last, only once every marked segment has. */
		for (i = 0; commit && i < n && rc == 0; i++)
			if (v[i].kind == L_DELETED)
				rc = seg_remove(dirfd, v[i].base);
		for (i = 0; i < n && rc == 0; i++)
			if (v[i].kind == L_LOG_SWAP &&
			    (rc = rename_swap(dirfd, v[i].base, ".index")) == 0 &&
			    (rc = rename_swap(dirfd, v[i].base,
			    ".timeindex")) == 0)
				rc = rename_swap(dirfd, v[i].base, ".log");
		for (i = 0; i < n && rc == 0; i++)
			if (v[i].kind != L_LOG_SWAP) {
				seg_name(name, v[i].base,
				    leftover_ext[v[i].kind]);
				unlinkat(dirfd, name, 0);
			}
	}
	if (rc == 0)
		rc = fsync_dir(dirfd);
	if (rc == 0)
		*what = undo ? "undone" : "finished";
out:
	free(v);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The cleaner                                                         */

struct cleaner {
	struct mq_topic *t;
	struct mq_log *l;
	const struct mq_clean_opts *o;
	struct mq_clean_result *r;
	int	dirfd, statefd;
	struct pstate st;
	int64_t	*bases;			/* segments, oldest first */
	size_t	n, sealed;		/* bases[0 .. sealed) are sealed */
	char	name[MQ_TOPIC_MAX + 16];
};

static int
fail(struct cleaner *c, int rc, const char *what)
{
	return log_fail(c->l, rc, "%s: %s: %s", c->name, what,
	    mq_strerror(rc));
}

static int64_t
seg_size(struct cleaner *c, int64_t base)
{
	char name[SEGNAME_SIZE];
	struct stat sb;

	/* A dry run looks at a compaction cut short as readers do. */
	seg_view_name(c->dirfd, base, ".log", name);
	return fstatat(c->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 ?
	    sb.st_size : 0;
}

/*
 * Calls fn for each batch of segment base, as readers see it.  Damage
 * stops the walk, and the cleaning of the partition, before anything is
 * changed.
 */
typedef int batch_fn(struct cleaner *c, void *arg, const unsigned char *b,
    const struct mq_batch_info *info);

static int
each_batch(struct cleaner *c, int64_t base, batch_fn *fn, void *arg)
{
	struct mq_batch_info info;
	const unsigned char *b;
	const char *why = "bad record";
	struct segscan sc;
	int fd, rc;

	if ((fd = seg_open_log(c->dirfd, base)) == -1)
		return fail(c, errno, "open segment");
	if ((rc = segscan_init(&sc, fd, 0, seg_size(c, base))) != 0) {
		close(fd);
		return fail(c, rc, "read segment");
	}
	while ((rc = segscan_next(&sc, &b, &info, &why)) == 1)
		if ((rc = fn(c, arg, b, &info)) != 0)
			break;
	segscan_free(&sc);
	close(fd);
	if (rc == MQ_ECORRUPT)
		return log_fail(c->l, rc, "%s: %020lld.log at position %lld: "
		    "%s: run mq-check", c->name, (long long)base,
		    (long long)sc.at, why);
	return rc != 0 && rc != 1 ? fail(c, rc, "read segment") : 0;
}

static int
max_ts_batch(struct cleaner *c, void *arg, const unsigned char *b,
    const struct mq_batch_info *info)
{
	int64_t *ts = arg;

	(void)c;
	(void)b;
	if (info->max_timestamp > *ts)
		*ts = info->max_timestamp;
	return 0;
}

/*
 * A sealed segment's largest timestamp: its time index's last entry (a
 * roll writes one), else a scan, for an index that is missing or was
 * never sealed.  -1 for an empty segment.
 */
static int
seg_max_ts(struct cleaner *c, int64_t base, int64_t *ts)
{
	int64_t off;
	int rc;

	if ((rc = tindex_lookup(c->dirfd, base, INT64_MAX, &off, ts)) != 0)
		return fail(c, rc, "read time index");
	return *ts >= 0 ? 0 : each_batch(c, base, max_ts_batch, ts);
}

/*
 * Publishes start as the log start offset (under the append lock, so no
 * appender's state write loses it), then deletes the sealed segments
 * wholly below it, oldest first, so a crash never leaves a hole.
 */
static int
advance_start(struct cleaner *c, int64_t start, int reason)
{
	size_t i, gone = 0;
	int rc = 0;

	for (i = 0; i < c->sealed && c->bases[i + 1] <= start; i++) {
		gone++;
		c->r->deleted_bytes += seg_size(c, c->bases[i]);
	}
	if (start <= c->st.start_offset && gone == 0)
		return 0;
	c->r->deleted += gone;
	c->r->reasons |= reason;
	if (start > c->r->new_start)
		c->r->new_start = start;
	if (!c->o->dry_run) {
		if ((rc = lock_exclusive(c->statefd)) != 0)
			return fail(c, rc, "lock");
		if ((rc = pstate_read(c->statefd, &c->st)) == 0 &&
		    start > c->st.start_offset) {
			c->st.start_offset = start;
			if ((rc = pstate_write(c->statefd, &c->st)) == 0 &&
			    fsync(c->statefd) == -1)
				rc = errno;
		}
		lock_release(c->statefd);
		if (rc != 0)
			return fail(c, rc, STATE_FILE);
		for (i = 0; i < gone; i++)
			seg_remove(c->dirfd, c->bases[i]);
		if (gone > 0 && (rc = fsync_dir(c->dirfd)) != 0)
			return fail(c, rc, "fsync directory");
	} else if (start > c->st.start_offset)
		c->st.start_offset = start;
	/* What is left, for size retention and compaction after this. */
	memmove(c->bases, c->bases + gone, (c->n - gone) * sizeof(*c->bases));
	c->n -= gone;
	c->sealed -= gone;
	return 0;
}

/* Kafka's time and size retention, in that order. */
static int
retention(struct cleaner *c)
{
	const struct mq_config *cf = &c->t->config;
	int64_t ts, total = 0, cut;
	size_t i, k = 0;
	int rc;

	if (cf->retention_ms >= 0) {
		cut = c->o->now - cf->retention_ms;
		for (; k < c->sealed; k++) {
			if ((rc = seg_max_ts(c, c->bases[k], &ts)) != 0)
				return rc;
			if (ts >= cut)
				break;
		}
		if (k > 0 && (rc = advance_start(c, c->bases[k],
		    MQ_CLEAN_BY_TIME)) != 0)
			return rc;
	}
	if (cf->retention_bytes < 0)
		return 0;
	for (i = 0; i < c->n; i++)
		total += seg_size(c, c->bases[i]);
	for (k = 0; k < c->sealed; k++) {
		int64_t sz = seg_size(c, c->bases[k]);

		if (total - sz < cf->retention_bytes)
			break;
		total -= sz;
	}
	if (k > 0)
		return advance_start(c, c->bases[k], MQ_CLEAN_BY_SIZE);
	return 0;
}

/* Kafka's delete-records: the log start offset moves up to before. */
static int
delete_records(struct cleaner *c)
{
	int64_t before = c->o->before;

	if (!(c->t->config.cleanup_policy & MQ_CLEANUP_DELETE))
		return log_fail(c->l, MQ_EBADCONF, "%s: records cannot be "
		    "deleted from a topic whose cleanup.policy is compact",
		    c->name);
	if (before == MQ_CLEAN_END)
		before = c->st.hw_offset;
	if (before > c->st.hw_offset)
		return log_fail(c->l, MQ_EBADOFFSET, "%s: offset %lld is past "
		    "the end offset %lld", c->name, (long long)before,
		    (long long)c->st.hw_offset);
	return advance_start(c, before, MQ_CLEAN_BY_BEFORE);
}

/* ------------------------------------------------------------------ */
/* Compaction                                                          */

/*
 * Key -> offset of its latest record, keys compared whole: a hash
 * collision must never drop a live record.  Open addressing; the keys
 * live in one arena.
 */
struct kslot {
	uint64_t hash;
	int64_t	offset;			/* -1: empty */
	size_t	koff;
	size_t	klen;
};

struct keymap {
	struct kslot *v;
	size_t	cap, n;
	struct mq_buf keys;
};

static uint64_t
key_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	while (len-- > 0)
		h = (h ^ *s++) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static struct kslot *
km_find(struct keymap *m, const void *key, size_t len, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);

	for (;; i = (i + 1) & (m->cap - 1)) {
		struct kslot *s = &m->v[i];

		if (s->offset < 0 || (s->hash == h && s->klen == len &&
		    memcmp(m->keys.p + s->koff, key, len) == 0))
			return s;
	}
}

static int
km_grow(struct keymap *m)
{
	struct kslot *old = m->v, *s;
	size_t oldcap = m->cap, i;

	m->cap = m->cap ? 2 * m->cap : 1024;
	if ((m->v = malloc(m->cap * sizeof(*m->v))) == NULL) {
		m->v = old;
		m->cap = oldcap;
		return ENOMEM;
	}
	for (i = 0; i < m->cap; i++)
		m->v[i].offset = -1;
	for (i = 0; i < oldcap; i++)
		if (old[i].offset >= 0) {
			s = km_find(m, m->keys.p + old[i].koff, old[i].klen,
			    old[i].hash);
			*s = old[i];
		}
	free(old);
	return 0;
}

static int
km_put(struct keymap *m, const void *key, size_t len, int64_t offset)
{
	uint64_t h = key_hash(key, len);
	struct kslot *s;
	int rc;

	if (2 * (m->n + 1) > m->cap && (rc = km_grow(m)) != 0)
		return rc;
	s = km_find(m, key, len, h);
	if (s->offset < 0) {
		s->hash = h;
		s->koff = m->keys.len;
		s->klen = len;
		if ((rc = mq_buf_add(&m->keys, key, len)) != 0)
			return rc;
		m->n++;
	}
	s->offset = offset;
	return 0;
}

static int64_t
km_get(struct keymap *m, const void *key, size_t len)
{
	return km_find(m, key, len, key_hash(key, len))->offset;
}

static void
km_free(struct keymap *m)
{
	free(m->v);
	mq_buf_free(&m->keys);
}

/* Does the record stay?  Superseded ones go, and expired tombstones. */
static int
keep(struct cleaner *c, struct keymap *m, const struct mq_record *rec)
{
	if (rec->key == NULL)
		return 1;		/* nothing can supersede it */
	if (km_get(m, rec->key, (size_t)rec->keylen) != rec->offset)
		return 0;
	return rec->value != NULL || rec->timestamp >= c->o->now -
	    c->t->config.delete_retention_ms;
}

/* Pass 1: the latest offset of every key. */
static int
map_batch(struct cleaner *c, void *arg, const unsigned char *b,
    const struct mq_batch_info *info)
{
	struct mq_batch_iter it;
	struct mq_record rec;
	int rc;

	(void)c;
	(void)info;
	mq_batch_iter_init(&it, b);
	while ((rc = mq_batch_iter_next(&it, &rec)) == 1)
		if (rec.key != NULL && (rc = km_put(arg, rec.key,
		    (size_t)rec.keylen, rec.offset)) != 0)
			return rc;
	return rc < 0 ? MQ_ECORRUPT : 0;
}

/* A run of segments being compacted into one. */
struct run {
	struct keymap *map;
	int64_t	base;			/* A: the first segment's base */
	int	write;			/* 0: only count */
	int	fds[3];			/* A.*.cleaned */
	struct pstate ix;		/* index bookkeeping */
	struct mq_buf out, idx, tidx;
	int64_t	pos;			/* bytes of A.log.cleaned */
	unsigned char *scratch;		/* a batch being rebuilt */
	size_t	scap;
	int64_t	in, kept, dropped_bytes;
};

static int
flush_out(struct run *u)
{
	int rc;

	if (u->out.len == 0)
		return 0;
	rc = pwrite_all(u->fds[0], u->out.p, u->out.len,
	    (off_t)(u->pos - (int64_t)u->out.len));
	u->out.len = 0;
	return rc;
}

static int
emit(struct cleaner *c, struct run *u, const unsigned char *b, size_t len,
    int64_t last_offset, int64_t max_ts)
{
	int rc;

	if ((rc = index_note(&u->ix, u->base,
	    c->t->config.index_interval_bytes, &u->idx, &u->tidx, u->pos,
	    last_offset, max_ts)) != 0 ||
	    (rc = mq_buf_add(&u->out, b, len)) != 0)
		return rc;
	u->pos += (int64_t)len;
	return u->out.len >= OUT_CHUNK ? flush_out(u) : 0;
}

/*
 * Pass 2 (count) and 3 (write): each batch whole when every record stays,
 * not at all when none does, else rebuilt from the records that stay,
 * copied byte for byte.  A rebuilt batch keeps its base offset, base
 * timestamp and lastOffsetDelta (so the offsets it spans are unchanged,
 * as Kafka does), with a new count, max timestamp and CRC.
 */
static int
clean_batch(struct cleaner *c, void *arg, const unsigned char *b,
    const struct mq_batch_info *info)
{
	struct run *u = arg;
	const unsigned char *p = b + MQ_BATCH_HEADER, *end = b + info->length;
	struct mq_batch_iter it;
	struct mq_record rec;
	int64_t max_ts = -1, len;
	int32_t kept = 0;
	size_t at = MQ_BATCH_HEADER;
	int rc, logappend = info->attributes & MQ_ATTR_LOGAPPEND;

	if (u->write && u->scap < (size_t)info->length) {
		unsigned char *ns = realloc(u->scratch, (size_t)info->length);

		if (ns == NULL)
			return ENOMEM;
		u->scratch = ns;
		u->scap = (size_t)info->length;
	}
	mq_batch_iter_init(&it, b);
	while ((rc = mq_batch_iter_next(&it, &rec)) == 1) {
		const unsigned char *start = p;

		/* The record's bytes: its length varint and that many. */
		if (get_varlong(&p, end, 5, &len) != 0 || len < 0 ||
		    len > end - p)
			return MQ_ECORRUPT;
		p += len;
		u->in++;
		if (!keep(c, u->map, &rec))
			continue;
		kept++;
		if (rec.timestamp > max_ts)
			max_ts = rec.timestamp;
		if (u->write)
			memcpy(u->scratch + at, start, (size_t)(p - start));
		at += (size_t)(p - start);
	}
	if (rc < 0)
		return MQ_ECORRUPT;
	u->kept += kept;
	if (kept == info->count)
		return u->write ? emit(c, u, b, (size_t)info->length,
		    info->last_offset, info->max_timestamp) : 0;
	u->dropped_bytes += info->length - (kept > 0 ? (int64_t)at : 0);
	if (kept == 0 || !u->write)
		return 0;
	if (logappend)
		max_ts = info->max_timestamp;
	memcpy(u->scratch, b, MQ_BATCH_HEADER);
	put_be32(u->scratch + B_LENGTH, (uint32_t)(at - B_LOG_OVERHEAD));
	put_be64(u->scratch + B_MAX_TS, (uint64_t)max_ts);
	put_be32(u->scratch + B_COUNT, (uint32_t)kept);
	put_be32(u->scratch + B_CRC, mq_crc32c(0, u->scratch + B_ATTRIBUTES,
	    at - B_ATTRIBUTES));
	return emit(c, u, u->scratch, at, info->last_offset, max_ts);
}

static int
open_cleaned(struct cleaner *c, struct run *u)
{
	static const char *const ext[3] = { ".log.cleaned",
	    ".index.cleaned", ".timeindex.cleaned" };
	char name[SEGNAME_SIZE];
	int i;

	for (i = 0; i < 3; i++) {
		seg_name(name, u->base, ext[i]);
		u->fds[i] = openat(c->dirfd, name, O_RDWR | O_CREAT | O_TRUNC |
		    O_NOFOLLOW | O_CLOEXEC, 0666);
		if (u->fds[i] == -1)
			return errno;
	}
	return 0;
}

static void
close_cleaned(struct run *u)
{
	int i;

	for (i = 0; i < 3; i++)
		if (u->fds[i] != -1) {
			close(u->fds[i]);
			u->fds[i] = -1;
		}
}

static int
link_deleted(struct cleaner *c, int64_t base)
{
	char from[SEGNAME_SIZE], to[SEGNAME_SIZE];

	seg_name(from, base, ".log");
	seg_name(to, base, ".log.deleted");
	unlinkat(c->dirfd, to, 0);
	return linkat(c->dirfd, from, c->dirfd, to, 0) == -1 ? errno : 0;
}

static int
rename_cleaned(struct cleaner *c, int64_t base, const char *ext)
{
	char from[SEGNAME_SIZE], to[SEGNAME_SIZE], e[24];

	snprintf(e, sizeof(e), "%s.cleaned", ext);
	seg_name(from, base, e);
	snprintf(e, sizeof(e), "%s.swap", ext);
	seg_name(to, base, e);
	return renameat(c->dirfd, from, c->dirfd, to) == -1 ? errno : 0;
}

/* Steps 1 to 6 for the run bases[first .. last]. */
static int
swap_in(struct cleaner *c, struct run *u, size_t first, size_t last)
{
	size_t i;
	int rc, k;

	/* 1 */
	if ((rc = flush_out(u)) != 0 ||
	    (rc = index_seal(&u->ix, u->base, &u->tidx)) != 0 ||
	    (u->idx.len > 0 && (rc = pwrite_all(u->fds[1], u->idx.p,
	    u->idx.len, 0)) != 0) ||
	    (u->tidx.len > 0 && (rc = pwrite_all(u->fds[2], u->tidx.p,
	    u->tidx.len, 0)) != 0))
		return rc;
	for (k = 0; k < 3; k++)
		if (fsync(u->fds[k]) == -1)
			return errno;
	/* 2 */
	for (i = first + 1; i <= last; i++)
		if ((rc = link_deleted(c, c->bases[i])) != 0)
			return rc;
	/* 3: the commit point */
	if ((rc = rename_cleaned(c, u->base, ".index")) != 0 ||
	    (rc = rename_cleaned(c, u->base, ".timeindex")) != 0 ||
	    (rc = rename_cleaned(c, u->base, ".log")) != 0 ||
	    (rc = fsync_dir(c->dirfd)) != 0)
		return rc;
	/* 4 to 6 are recovery's finishing steps. */
	return compact_recover(c->dirfd, 1, &c->r->recovered);
}

/* What compacting a segment keeps, from the counting pass. */
struct segcount {
	int64_t	in, kept;		/* records */
	int64_t	in_bytes, out_bytes;
};

/* Compacts bases[first .. last] into one segment. */
static int
compact_run(struct cleaner *c, struct keymap *m, const struct segcount *sc,
    size_t first, size_t last)
{
	struct run u = { .map = m, .base = c->bases[first], .write = 1,
	    .fds = { -1, -1, -1 } };
	const char *saved = c->r->recovered;
	int64_t in = 0, kept = 0;
	size_t i;
	int rc = 0;

	for (i = first; i <= last; i++) {
		in += sc[i].in;
		kept += sc[i].kept;
	}
	/* A lone segment with nothing to drop is left alone. */
	if (kept == in && first == last)
		return 0;
	c->r->compacted += last - first + 1;
	c->r->compacted_into++;
	c->r->records_in += in;
	c->r->records_out += kept;
	for (i = first; i <= last; i++) {
		c->r->bytes_in += sc[i].in_bytes;
		c->r->bytes_out += sc[i].out_bytes;
	}
	if (c->o->dry_run)
		return 0;
	index_reset(&u.ix);
	if ((rc = open_cleaned(c, &u)) != 0) {
		rc = fail(c, rc, "create cleaned segment");
		goto out;
	}
	for (i = first; i <= last && rc == 0; i++)
		rc = each_batch(c, c->bases[i], clean_batch, &u);
	if (rc == 0 && (rc = swap_in(c, &u, first, last)) != 0)
		rc = fail(c, rc, "swap in cleaned segment");
	c->r->recovered = saved;
out:
	close_cleaned(&u);
	if (rc != 0) {
		const char *what;

		/* Undo before the commit point, finish after it. */
		compact_recover(c->dirfd, 1, &what);
	}
	free(u.scratch);
	mq_buf_free(&u.out);
	mq_buf_free(&u.idx);
	mq_buf_free(&u.tidx);
	return rc;
}

static int
compact(struct cleaner *c)
{
	const struct mq_config *cf = &c->t->config;
	struct keymap m = { 0 };
	struct segcount *sc = NULL;
	size_t k = 0, i, first, last;
	int64_t ts, size;
	int rc = 0;

	/* Cleanable: sealed segments older than min.compaction.lag.ms. */
	for (; k < c->sealed; k++) {
		if (cf->min_compaction_lag_ms > 0) {
			if ((rc = seg_max_ts(c, c->bases[k], &ts)) != 0)
				return rc;
			if (ts > c->o->now - cf->min_compaction_lag_ms)
				break;
		}
	}
	if (k == 0)
		return 0;
	if ((sc = calloc(k, sizeof(*sc))) == NULL)
		return fail(c, ENOMEM, "compact");
	/* Pass 1: each key's latest offset.  Pass 2: what stays. */
	for (i = 0; i < k && rc == 0; i++)
		rc = each_batch(c, c->bases[i], map_batch, &m);
	for (i = 0; i < k && rc == 0; i++) {
		struct run u = { .map = &m };

		rc = each_batch(c, c->bases[i], clean_batch, &u);
		sc[i].in = u.in;
		sc[i].kept = u.kept;
		sc[i].in_bytes = seg_size(c, c->bases[i]);
		sc[i].out_bytes = sc[i].in_bytes - u.dropped_bytes;
	}
	/*
	 * Runs as Kafka groups them, but by what they will hold:
	 * consecutive segments whose compacted sizes add up to at most
	 * segment.bytes and whose offsets fit the index's 32-bit relative
	 * offsets.
	 */
	for (first = 0; first < k && rc == 0; first = last + 1) {
		size = sc[first].out_bytes;
		for (last = first; last + 1 < k; last++) {
			if (size + sc[last + 1].out_bytes > cf->segment_bytes ||
			    c->bases[last + 2] - c->bases[first] > INT32_MAX)
				break;
			size += sc[last + 1].out_bytes;
		}
		rc = compact_run(c, &m, sc, first, last);
	}
	free(sc);
	km_free(&m);
	return rc;
}

/* ------------------------------------------------------------------ */

int
mq_clean_partition(struct mq_topic *t, int part,
    const struct mq_clean_opts *o, struct mq_clean_result *r)
{
	struct cleaner c = { .t = t, .l = t->log, .o = o, .r = r,
	    .statefd = -1 };
	int rc;

	memset(r, 0, sizeof(*r));
	snprintf(c.name, sizeof(c.name), "%s-%d", t->name, part);
	if ((rc = part_open(t, part, &c.dirfd)) != 0)
		return rc;
	if ((c.statefd = openat(c.dirfd, STATE_FILE, O_RDWR | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		rc = fail(&c, errno, STATE_FILE);
		close(c.dirfd);
		return rc;
	}
	if ((rc = part_lock(c.dirfd, 1)) != 0) {
		rc = fail(&c, rc, "lock");
		goto out;
	}
	if ((rc = compact_recover(c.dirfd, !o->dry_run, &r->recovered)) != 0) {
		rc = fail(&c, rc, "recover compaction");
		goto unlock;
	}
	if ((rc = pstate_read(c.statefd, &c.st)) != 0) {
		rc = log_fail(c.l, rc, "%s: %s: %s: run mq-check --repair",
		    c.name, STATE_FILE, mq_strerror(rc));
		goto unlock;
	}
	r->old_start = r->new_start = c.st.start_offset;
	if ((rc = seg_list(c.dirfd, &c.bases, &c.n)) != 0) {
		rc = fail(&c, rc, "list segments");
		goto unlock;
	}
	while (c.sealed < c.n && c.bases[c.sealed] < c.st.hw_segment)
		c.sealed++;
	if (c.sealed == c.n || c.bases[c.sealed] != c.st.hw_segment) {
		rc = log_fail(c.l, MQ_ECORRUPT, "%s: active segment %020lld.log "
		    "is missing: run mq-check", c.name,
		    (long long)c.st.hw_segment);
		free(c.bases);
		goto unlock;
	}
	if (o->before >= 0)
		rc = delete_records(&c);
	else {
		if (t->config.cleanup_policy & MQ_CLEANUP_DELETE)
			rc = retention(&c);
		if (rc == 0 && t->config.cleanup_policy & MQ_CLEANUP_COMPACT)
			rc = compact(&c);
	}
	free(c.bases);
unlock:
	part_unlock(c.dirfd);
out:
	close(c.statefd);
	close(c.dirfd);
	return rc;
}

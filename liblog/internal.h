/* SPDX-License-Identifier: MIT */
/*
 * internal.h - what liblog's files share and callers never see: byte
 * order helpers, varints, and the structures behind the opaque handles.
 */
#ifndef MQ_INTERNAL_H
#define MQ_INTERNAL_H

#include <dirent.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "mq.h"

#define MQ_SEGNAME_LEN 20		/* digits in a segment file name */

/* ------------------------- Byte order ------------------------------- */

static inline uint16_t
get_be16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t
get_be64(const unsigned char *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static inline void
put_be16(unsigned char *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

static inline void
put_be64(unsigned char *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v & 0xffffffff);
}

/* ------------------------- Varints (zig-zag, protobuf) --------------- */

#define VARINT_MAX 10			/* bytes of a 64-bit varint */

/* Writes v as a zig-zag varint; returns the bytes written. */
static inline size_t
put_varlong(unsigned char *p, int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 0;

	while (u >= 0x80) {
		p[n++] = (unsigned char)(u | 0x80);
		u >>= 7;
	}
	p[n++] = (unsigned char)u;
	return n;
}

static inline size_t
varlong_size(int64_t v)
{
	uint64_t u = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
	size_t n = 1;

	while (u >= 0x80) {
		u >>= 7;
		n++;
	}
	return n;
}

/*
 * Reads a zig-zag varint of at most maxbytes (5 for int32, 10 for int64)
 * from [*pp, end).  Returns 0 and advances *pp, or -1 if it is truncated
 * or too long.
 */
static inline int
get_varlong(const unsigned char **pp, const unsigned char *end,
    int maxbytes, int64_t *v)
{
	const unsigned char *p = *pp;
	uint64_t u = 0;
	int shift = 0, i;

	for (i = 0; i < maxbytes && p < end; i++, shift += 7) {
		u |= (uint64_t)(*p & 0x7f) << shift;
		if ((*p++ & 0x80) == 0) {
			*pp = p;
			*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
			return 0;
		}
	}
	return -1;
}

static inline int
get_varint(const unsigned char **pp, const unsigned char *end, int32_t *v)
{
	const unsigned char *p = *pp;
	int64_t l;

	if (get_varlong(&p, end, 5, &l) == -1 || l < INT32_MIN ||
	    l > INT32_MAX)
		return -1;
	*pp = p;
	*v = (int32_t)l;
	return 0;
}

/* ------------------------- Batch layout ----------------------------- */

#define B_BASE_OFFSET	0
#define B_LENGTH	8
#define B_EPOCH		12
#define B_MAGIC		16
#define B_CRC		17
#define B_ATTRIBUTES	21
#define B_LAST_DELTA	23
#define B_BASE_TS	27
#define B_MAX_TS	35
#define B_PRODUCER_ID	43
#define B_PRODUCER_EPOCH 51
#define B_BASE_SEQ	53
#define B_COUNT		57
#define B_LOG_OVERHEAD	12		/* baseOffset + length */

/* ------------------------- Handles -------------------------------- */

struct mq_log {
	int	dirfd;			/* the log directory */
	int	topicsfd;		/* its topics/ directory */
	char	path[PATH_MAX];
	char	detail[PATH_MAX + 256];	/* last error, one line */
	mq_notify_fn *notify;
	void	*notify_arg;
	const volatile sig_atomic_t *stop;	/* mq_log_set_stop */
};

struct mq_topic {
	struct mq_log *log;
	int	fd;			/* topics/NAME */
	char	name[MQ_TOPIC_MAX + 1];
	int	partitions;
	struct mq_config config;
};

/* ------------------------- Groups ---------------------------------- */

/*
 * DIR/groups/GROUP/ holds "+lock", read-locked by every member for its
 * life and write-locked by a tool that must keep members out (a reset,
 * a delete); its name can be no topic's.  DIR/groups/GROUP/TOPIC/ holds
 * two files (docs/format.md): "offsets", a pair of 64-byte commit slots
 * per partition, the pair's byte range locked by the partition's owner;
 * and "members", a 128-byte slot per member of the deal, each locked by
 * the member that wrote it.
 */
#define GROUPS_DIR	"groups"
#define GROUP_LOCK	"+lock"
#define GROUP_OFFSETS	"offsets"
#define GROUP_MEMBERS	"members"
#define GROUP_SHARE	"share"
#define COMMIT_SIZE	64
#define COMMIT_PAIR	(2 * COMMIT_SIZE)
#define MEMBER_SIZE	128
#define MEMBERS_MAX	4096		/* slots looked at: a bound on a
					   hostile file, not a real limit */

struct mq_group {
	struct mq_log *log;
	int	fd;			/* groups/GROUP */
	int	lockfd;			/* +lock, while mq_group_lock holds it */
	char	name[MQ_TOPIC_MAX + 1];
};

/*
 * The files of a group's topic; any may be -1 when missing.  A classic
 * group has "offsets", a share group "share" (share.c), never both.
 */
struct gfiles {
	int	dirfd, offfd, memfd, shfd;
};

#define GF_CLASSIC	1	/* create offsets and members */
#define GF_SHARE	2	/* create share and members */

/*
 * Opens groups/GROUP/TOPIC's files, creating those of kind create
 * (0: none).  Without create, a missing topic directory gives all -1
 * and 0.  Creating one kind where the other exists is MQ_EGROUPTYPE.
 */
int gfiles_open(struct mq_group *g, const char *topic, int create,
    struct gfiles *f);
void gfiles_close(struct gfiles *f);

/* Decodes a partition's slot pair: the newest whole commit, or none. */
int commit_decode(const unsigned char pair[COMMIT_PAIR], struct mq_commit *c);
/* Encodes c into the slot its seq selects, in pair. */
void commit_encode(unsigned char slot[COMMIT_SIZE], const struct mq_commit *c);
int commit_read(int offfd, int part, struct mq_commit *c);
int commit_write(int offfd, int part, const struct mq_commit *c);

int member_decode(const unsigned char *p, struct mq_member_info *m);
/*
 * A share state file's partitions (regions), or -errno; and whether
 * partition part's state reads: 0, MQ_ECORRUPT, or errno, with its end
 * offset in *end (-1: no state yet).
 */
int share_parts(int fd);
int share_check(int fd, int part, int64_t *end);

/* Is slot k of the member table held by the live member id?  1, 0, -errno. */
int member_live(int memfd, int slot, uint64_t id);

/*
 * A member: of the deal (MEMBER_DEAL), outside it (MEMBER_ASSIGN: no
 * slot), or of a share group (MEMBER_SHARE: a slot, for liveness only).
 */
struct mq_member {
	struct mq_group *g;
	struct mq_topic *t;
	struct gfiles f;
	int	lockfd;			/* the group's +lock, read-locked */
	struct mq_member_info self;
	int	sync, dirty, nparts;
	int	syncerr;		/* a sync failed: it stays failed */
	struct owned *parts;
};

enum { MEMBER_DEAL, MEMBER_ASSIGN, MEMBER_SHARE };

int member_open(struct mq_group *g, struct mq_topic *t, int sync, int mode,
    struct mq_member **mp);
int member_close(struct mq_member *m);
void member_encode(unsigned char *p, const struct mq_member_info *m);

/* Opens groups/GROUP/+lock, created if missing.  Returns fd or -errno. */
int group_lockfile(struct mq_group *g);

/* Is fd still the file at groups/GROUP/rel?  (A delete renames.) */
int group_linked(struct mq_group *g, int fd, const char *rel);

/* The detail for a partition whose two commit slots are damaged. */
int commit_damaged(struct mq_group *g, const char *topic, int part);

/*
 * OFD lock probes and try-locks on a byte range (len 0: to the end).
 * range_probe returns 0 when free, 1 when another description holds a
 * read lock there, 2 a write lock, or -errno.  range_trylock returns 0,
 * EAGAIN when held, or errno.
 */
int range_probe(int fd, off_t start, off_t len);
int range_trylock(int fd, short type, off_t start, off_t len);
int range_unlock(int fd, off_t start, off_t len);
/* Waits for a write lock on the range.  Returns 0, EINTR, or errno. */
int range_lock(int fd, off_t start, off_t len);

/* ------------------------- partition.state -------------------------- */

/*
 * The committed point and the writer's bookkeeping for the active
 * segment, rewritten in place (one pwrite, CRC-checked) after each append.
 * See docs/format.md.
 */
#define STATE_FILE	"partition.state"
#define STATE_SIZE	128
#define STATE_MAGIC	"MQPS"
#define STATE_VERSION	1

struct pstate {
	int64_t	hw_offset;		/* committed end: next offset */
	int64_t	hw_segment;		/* base offset of the active segment */
	int64_t	hw_pos;			/* committed bytes of it */
	int64_t	start_offset;		/* log start offset */
	int64_t	sync_offset;		/* recovery point: fsync'd up to */
	int64_t	last_index_pos;		/* position of last .index entry */
	int64_t	seg_first_ts;		/* for segment.ms; -1 when empty */
	int64_t	seg_max_ts;		/* largest timestamp in segment */
	int64_t	seg_max_ts_offset;	/* its batch's last offset */
	int64_t	last_tindex_ts;		/* last .timeindex entry's time */
	uint32_t index_entries;		/* entries in the active .index */
	uint32_t tindex_entries;	/* entries in the active .timeindex */
};

void pstate_init(struct pstate *s, int64_t base);
int pstate_read(int fd, struct pstate *s);	/* 0, errno, MQ_ESTATE */
int pstate_write(int fd, const struct pstate *s);

/* ------------------------- Segment scans and indexes --------------- */

#define INDEX_ENTRY	8		/* .index: relative offset, position */
#define TINDEX_ENTRY	12		/* .timeindex: timestamp, rel. offset */

/*
 * Walks the batches of the segment open as fd from pos up to end.
 * segscan_next returns 1 with a whole valid batch (at position s->at;
 * *batch lasts until the next call), 0 at end, MQ_ECORRUPT at bytes that
 * are no valid batch (s->at is their position, *why says why, "torn
 * batch" when one runs past end), or errno.
 */
struct segscan {
	int	fd;
	int64_t	end;
	int64_t	pos;			/* file position of buf[off] */
	int64_t	at;			/* position of the last batch or damage */
	unsigned char *buf;
	size_t	cap, have, off;
};

int segscan_init(struct segscan *s, int fd, int64_t pos, int64_t end);
int segscan_next(struct segscan *s, const unsigned char **batch,
    struct mq_batch_info *info, const char **why);
/* Goes on from pos: past damage the caller has measured (mq-check). */
void segscan_seek(struct segscan *s, int64_t pos);
void segscan_free(struct segscan *s);

/*
 * Kafka's index bookkeeping (index.c), kept in the segment fields of a
 * struct pstate.  index_note accounts for a batch written at pos and
 * queues the entries it earns in idx and tidx; index_seal queues the
 * last time entry a sealed segment gets; index_reset starts a segment.
 */
void index_reset(struct pstate *s);
int index_note(struct pstate *s, int64_t base, int64_t interval,
    struct mq_buf *idx, struct mq_buf *tidx, int64_t pos,
    int64_t last_offset, int64_t max_ts);
int index_seal(struct pstate *s, int64_t base, struct mq_buf *tidx);

/*
 * Rewrites the indexes ifd and tfd of the segment whose .log is logfd,
 * from its first size bytes, sealed (a last time entry) when seal is
 * set; st gets the bookkeeping.  *valid gets the position where valid
 * batches end.  Returns 0, MQ_ECORRUPT with *why when damage stopped the
 * scan (the indexes then cover what comes before it), or errno.
 */
int index_rebuild(int logfd, int64_t base, int64_t size, int64_t interval,
    int seal, int ifd, int tfd, struct pstate *st, int64_t *valid,
    const char **why);

/* ------------------------- Partitions and segments ------------------ */

/*
 * "NNNN...NNNN.ext" for base offset base, in a buffer of SEGNAME_SIZE
 * bytes: room for the longest, a compaction's ".timeindex.cleaned".
 */
#define SEGNAME_SIZE	40
void seg_name(char *buf, int64_t base, const char *ext);

/* The base offset of a file named "NNNN...NNNN" + ext; -1 for others. */
int64_t seg_parse(const char *name, const char *ext);

/*
 * Opens a segment's .log for reading as readers see it: a compaction's
 * committed .log.swap before the .log it replaces (seg_list).
 * Returns the fd, or -1 with errno set.
 */
int seg_open_log(int dirfd, int64_t base);

/*
 * The name in dirfd of segment base's ext (".log", ".index",
 * ".timeindex") as readers see it: a committed compaction's .swap copy
 * when there is one.  buf holds SEGNAME_SIZE bytes.
 */
void seg_view_name(int dirfd, int64_t base, const char *ext, char *buf);

/* Has mq-delete removed the topic t has open? */
int topic_deleted(const struct mq_topic *t);

/*
 * Opens topics/TOPIC/TOPIC-part, setting the log's error detail on
 * failure.  Returns 0, errno, MQ_EBADPART, MQ_ECORRUPT (directory missing).
 */
int part_open(struct mq_topic *t, int part, int *dirfd);

/*
 * Sorted base offsets of the partition's segments, as readers see them
 * (see segment.c for a compaction's swap files); *bases is malloc'd.
 * Returns 0 or errno.
 */
int seg_list(int dirfd, int64_t **bases, size_t *n);

/*
 * Creates empty .log, .index and .timeindex for base, or opens them
 * read-write; fds gets the three descriptors in that order.  seg_create
 * takes over an empty .log but returns EEXIST for one that holds data.
 */
int seg_create(int dirfd, int64_t base, int fds[3]);
int seg_open(int dirfd, int64_t base, int fds[3]);

/*
 * Removes a segment's three files, all it can.  Returns 0 (a file that
 * is already gone is no error) or the first errno.
 */
int seg_remove(int dirfd, int64_t base);

/*
 * Offset index lookup: file position of the batch holding the largest
 * indexed offset <= target in segment base (0 when none).
 */
int index_lookup(int dirfd, int64_t base, int64_t target, int64_t *pos);

/*
 * Time index lookup: the offset of the last entry with a timestamp below
 * ts (base when none): every record up to that offset is older than ts,
 * so a scan for the first record at or after ts can start there.
 * *last_ts gets the segment's last entry time, or -1.
 */
int tindex_lookup(int dirfd, int64_t base, int64_t ts, int64_t *offset,
    int64_t *last_ts);

/* Makes room for n headers in d->hdrs.  Returns 0 or ENOMEM. */
int decoded_reserve_hdrs(struct mq_decoded *d, size_t n);

/*
 * The subdirectories of fd (consumed) whose names are legal topic or
 * group names, sorted, in one allocation (free(*names)); others, such as
 * "+new.*" and "+del.*", are not listed.  Returns 0 or errno.
 */
int dir_names(int fd, char ***names, size_t *n);

/* Removes the "+del.*" directories in dirfd: deletes done or cut short. */
void sweep_deleted(int dirfd);

/*
 * A directory stream over a dup of dirfd, read from its start; dirfd
 * stays open.  NULL with errno set on failure.
 */
DIR *dir_stream(int dirfd);

/*
 * Removes a directory tree of plain files and directories, going on past
 * failures.  Returns 0 (also when it was not there) or the first errno.
 */
int rmtree_at(int dirfd, const char *name);

/*
 * The append lock on partition.state's fd: an exclusive OFD lock,
 * waiting.  0 or errno.
 */
int lock_exclusive(int fd);
int lock_release(int fd);
/*
 * Marks (on) or unmarks an appender fsyncing outside the append lock,
 * with a shared lock beside it: any number may sync at once.  0 or errno.
 */
int lock_syncing(int fd, int on);
/* Takes (on, waiting) or drops the lock of the one appender that syncs
 * for all those waiting.  0 or errno. */
int lock_leader(int fd, int on);
/* Does a writer hold the append lock, or sync outside it?  1 or 0. */
int lock_busy(int fd);

/* write(2) all of buf at pos, retrying short writes and EINTR. */
int pwrite_all(int fd, const void *buf, size_t len, off_t pos);
int fsync_dir(int dirfd);

/* ------------------------- Cleaning --------------------------------- */

/*
 * A partition directory's flock(2): exclusive for mq-clean and for
 * mq-check --repair, shared for a read-only mq-check, so a check never
 * takes a live cleaner's half-done compaction for damage.  Appenders do
 * not take it: cleaning never touches the active segment, and retention
 * takes the append lock for the moment it moves the log start offset.
 * Waits.  Returns 0 or errno.
 */
int part_lock(int dirfd, int exclusive);
void part_unlock(int dirfd);

/*
 * Looks in partition directory dirfd for a compaction cut short (files
 * named *.cleaned, *.swap or *.log.deleted; docs/format.md) and, with
 * repair, finishes it when it had reached its commit point (a .log.swap)
 * or undoes it when not.  *what gets NULL when there is none, else what
 * was done: "finished", "undone", or without repair "would finish",
 * "would undo".  Returns 0 or errno.  The caller holds part_lock
 * exclusively, or shared without repair.
 */
int compact_recover(int dirfd, int repair, const char **what);

/* ------------------------- Checking (check*.c) ---------------------- */

#define CHECK_TMP	"+repair."	/* a repair's files: never a segment's
					   name */

struct check_bad;			/* checkseg.c's */
struct check_odd;

struct mq_check {
	struct mq_log *l;
	int	flags;
	mq_problem_fn *fn;
	void	*arg;
	struct mq_ixcheck *ix;
	struct check_bad *bad;		/* damage the last scan found */
	size_t	nbad, badcap;
	struct check_odd *odd;		/* valid batches out of place */
	size_t	nodd, oddcap;
	unsigned char *buf;		/* for copying segments */
	struct mq_check_counts n;
	const char *prefix;		/* "TOPIC-P: ", as notices start */
	char	file[PATH_MAX];		/* the problem's file */
	char	notes[512];		/* notices caught from an appender */
};

/* A partition being checked. */
struct check_part {
	struct mq_check *c;
	struct mq_topic *t;
	int	part;
	int	dirfd, statefd;
	char	name[MQ_TOPIC_MAX + 16];	/* TOPIC-P */
	char	prefix[MQ_TOPIC_MAX + 18];	/* "TOPIC-P: " */
	char	rel[2 * MQ_TOPIC_MAX + 40];	/* topics/TOPIC/TOPIC-P */
	struct pstate st;
	int	strc;			/* what reading partition.state gave */
	int64_t	*bases;			/* segments: regular .log files */
	size_t	n;
	int64_t	active;			/* the active segment; -1 for none */
	char	unusable[96];		/* why st cannot be trusted; "" if it
					   can */
};

static inline int
check_repairing(const struct mq_check *c)
{
	return c->flags & MQ_CHECK_REPAIR;
}

static inline int
check_forcing(const struct mq_check *c)
{
	return (c->flags & (MQ_CHECK_REPAIR | MQ_CHECK_FORCE)) ==
	    (MQ_CHECK_REPAIR | MQ_CHECK_FORCE);
}

/* check.c: the problem's file, relative to the log directory. */
void check_file(struct mq_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands one problem about the file to the caller, and counts it. */
void check_report(struct mq_check *c, int kind, int64_t pos, int fix,
    const char *done, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* "offsets 4-7", "offset 4", "offsets from 4 on" (last INT64_MAX). */
const char *check_offsets(char *buf, size_t size, int64_t first,
    int64_t last);

/*
 * partition.state and the segment list, consistent with each other;
 * pc->unusable says why the state cannot be trusted, if it cannot.
 */
int check_snapshot(struct check_part *pc);

/*
 * Is a writer at work (it holds the append lock, or has published since
 * the snapshot), so that what lies past the committed end is its?
 */
int check_busy(struct check_part *pc);

/* The append lock, and writing partition.state durably under it. */
int check_lock(struct check_part *pc);
int check_publish(struct check_part *pc, const struct pstate *st);

/* checkseg.c: segment i (sealed), the active segment, a new state. */
int check_sealed(struct check_part *pc, size_t i, const char *where);
int check_active(struct check_part *pc);
int check_rebuild_state(struct check_part *pc, int64_t *hw);

/* ------------------------- Shared internals ------------------------- */

/* Sets the handle's error detail (printf-style); returns err. */
int log_fail(struct mq_log *l, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Hands msg to the notify callback, if any. */
void log_notify(struct mq_log *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif

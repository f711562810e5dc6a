/* SPDX-License-Identifier: MIT */
/*
 * mq.h - liblog, the library behind the mq commands.
 *
 * A log directory holds topics; a topic holds partitions; a partition is a
 * directory of Kafka-format segment files (RecordBatch v2) with their
 * offset and time indexes.  There is no server: appenders serialise on an
 * OFD lock per partition and publish a committed point (Kafka's high
 * watermark) after each write; readers take no lock and never read past
 * that point.
 *
 * Conventions: every function that can fail returns int, 0 on success, a
 * positive errno value for a system error, or a negative enum mq_error.
 * mq_strerror() turns either into text; mq_log_errdetail() says which
 * object (file, offset, YAML line:column) the last error was about.
 * Handles are opaque and hold all the state there is: a handle is for one
 * thread at a time.  The library never prints and never exits.
 *
 * Build with: cc prog.c $(pkg-config --cflags --libs liblog).  The
 * manual pages liblog(3), and one per area (mq_log_open(3),
 * mq_topic_create(3), mq_append(3), mq_reader_open(3), mq_group_open(3),
 * ...) say more; share/examples/tour.c is a whole program.  liblog.so
 * exports the mq_* functions declared here and nothing else.
 */
#ifndef MQ_H
#define MQ_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MQ_VERSION "0.1.0"

/*
 * Library error codes.  The numbers are API: new codes go at the end,
 * none is ever renumbered or reused.
 */
enum mq_error {
	MQ_EBADNAME = -30600,	/* topic name not 1-249 of [A-Za-z0-9._-] */
	MQ_ENOTOPIC,		/* no such topic */
	MQ_ETOPICEXISTS,	/* topic exists already */
	MQ_EBADCONF,		/* malformed or invalid topic configuration */
	MQ_EBADPART,		/* partition out of range */
	MQ_ECORRUPT,		/* damaged data: bad CRC, bad batch, bad index */
	MQ_ETOOBIG,		/* batch over max.message.bytes */
	MQ_ENOLOGDIR,		/* log directory missing or not a directory */
	MQ_EBADOFFSET,		/* offset out of range or not a valid offset */
	MQ_EBADRECORD,		/* malformed record in an input format */
	MQ_ESTATE,		/* partition.state unreadable */
	MQ_ELOCKED,		/* lock held by another process (non-blocking) */
	MQ_ENOGROUP,		/* no such consumer group */
	MQ_EACTIVE,		/* the group has live members */
	MQ_EBADGROUP,		/* group name not 1-249 of [A-Za-z0-9._-] */
	MQ_EGROUPTYPE,		/* a share group used as a classic one, or
				   the other way round */
	MQ_ELOCKLOST,		/* a share group's acquisition lock ran out or
				   was lost: the acknowledgement did not count */
	MQ__LASTERR
};

/* Returns a description of err (0, errno or enum mq_error); never NULL. */
const char *mq_strerror(int err);

/*
 * Makes len bytes at s fit a one-line message in buf: printable ASCII as
 * it is, other bytes as \xHH, cut short with "..." to fit size (at least
 * 8).  Returns buf.
 */
const char *mq_quote(char *buf, size_t size, const void *s, size_t len);

/* ------------------------------------------------------------------ */
/* Names and directories                                               */

#define MQ_TOPIC_MAX 249
#define MQ_PARTITIONS_MAX 99999	/* NAME-P fits a 255-byte file name */

/* Returns 0 if name is a legal topic (or group) name, MQ_EBADNAME if not. */
int mq_name_check(const char *name);

/*
 * Resolves the log directory: dir if not NULL, else $MQ_DIR, else
 * $XDG_DATA_HOME/mq, else $HOME/.local/share/mq.  Writes it to buf.
 * Returns 0, ENAMETOOLONG, or ENOENT when no variable gives a home.
 */
int mq_dir_resolve(const char *dir, char *buf, size_t size);

/* ------------------------------------------------------------------ */
/* Topic configuration (Kafka's names and defaults)                    */

enum mq_ts_type { MQ_TS_CREATE = 0, MQ_TS_LOGAPPEND = 1 };
enum mq_cleanup { MQ_CLEANUP_DELETE = 1, MQ_CLEANUP_COMPACT = 2 };

struct mq_config {
	int64_t segment_bytes;		/* segment.bytes */
	int64_t segment_ms;		/* segment.ms */
	int64_t retention_ms;		/* retention.ms, -1 unlimited */
	int64_t retention_bytes;	/* retention.bytes, -1 unlimited */
	int	cleanup_policy;		/* cleanup.policy, MQ_CLEANUP_* bits */
	int64_t max_message_bytes;	/* max.message.bytes */
	int64_t index_interval_bytes;	/* index.interval.bytes */
	int	timestamp_type;		/* message.timestamp.type */
	int64_t min_compaction_lag_ms;	/* min.compaction.lag.ms */
	int64_t delete_retention_ms;	/* delete.retention.ms */
	int64_t flush_messages;		/* flush.messages */
	int64_t flush_ms;		/* flush.ms */
	uint32_t set;			/* bit per key set explicitly */
};

/* Fills c with Kafka's defaults, nothing marked as set. */
void mq_config_init(struct mq_config *c);

/*
 * Sets key to value (text, as on a command line or in YAML), validating
 * both.  Returns 0, or MQ_EBADCONF with a reason in *why (static text).
 */
int mq_config_set(struct mq_config *c, const char *key, const char *value,
    const char **why);

/*
 * Clears key back to its default.  Returns 0 or MQ_EBADCONF (unknown key).
 */
int mq_config_unset(struct mq_config *c, const char *key, const char **why);

/*
 * Number of known keys, and the i-th key's name and current value as
 * text (buf must hold 32 bytes).  For listing and writing configs.
 */
int mq_config_nkeys(void);
const char *mq_config_key(int i);
const char *mq_config_value(const struct mq_config *c, int i, char *buf);
int mq_config_isset(const struct mq_config *c, int i);

struct mq_conferr {
	size_t	line, col;	/* 1-based; 0 when not about a place */
	char	msg[160];
};

/*
 * Reads a topic.yaml file: a flat mapping of "partitions" and Kafka
 * config names to scalars.  On MQ_EBADCONF, err says where and why.
 * Returns 0, errno, or MQ_EBADCONF.
 */
int mq_config_read(const char *path, struct mq_config *c, int *partitions,
    struct mq_conferr *err);

/* Same, from a string (for tests and for callers holding the text). */
int mq_config_parse(const char *text, size_t len, struct mq_config *c,
    int *partitions, struct mq_conferr *err);

/*
 * Writes partitions and the explicitly set keys as YAML to fd.
 * Returns 0 or errno.
 */
int mq_config_write(int fd, const struct mq_config *c, int partitions);

/* ------------------------------------------------------------------ */
/* Records and batches (RecordBatch v2, byte for byte as Kafka)         */

#define MQ_BATCH_HEADER 61		/* bytes before the first record */
#define MQ_ATTR_LOGAPPEND 0x08		/* timestamp type bit */

struct mq_header {
	const void *key;
	size_t	keylen;
	const void *value;		/* NULL with vallen -1: null value */
	ssize_t	vallen;
};

/*
 * A record as the caller sees it.  keylen/vallen -1 means null.  On the
 * read side the pointers point into the batch buffer and headers are
 * decoded on demand with mq_record_header().
 */
struct mq_record {
	int64_t	offset;
	int64_t	timestamp;
	const void *key;
	ssize_t	keylen;
	const void *value;
	ssize_t	vallen;
	const struct mq_header *headers;	/* producer side only */
	size_t	nheaders;
	const unsigned char *hdrbuf;	/* reader side: encoded headers */
	size_t	hdrlen;
	int	ts_type;		/* reader side: MQ_TS_CREATE or
					   MQ_TS_LOGAPPEND, from the batch */
};

/*
 * Decodes the i-th header of a record read from a batch (i < nheaders).
 * Returns 0 or MQ_ECORRUPT.
 */
int mq_record_header(const struct mq_record *r, size_t i,
    struct mq_header *h);

/* Header fields of a batch, decoded from its first 61 bytes. */
struct mq_batch_info {
	int64_t	base_offset;
	int64_t	last_offset;
	int32_t	length;			/* whole batch, bytes */
	int32_t	leader_epoch;
	int8_t	magic;
	uint32_t crc;
	int16_t	attributes;
	int64_t	base_timestamp;
	int64_t	max_timestamp;
	int64_t	producer_id;
	int16_t	producer_epoch;
	int32_t	base_sequence;
	int32_t	count;
};

/*
 * Checks the batch at buf (avail bytes available) and decodes its header.
 * Returns 0 for a whole valid batch; MQ_ECORRUPT for a batch that can
 * never be valid (bad magic, bad length, CRC mismatch, records that do not
 * parse), with *why set; EAGAIN when avail is short of the whole batch
 * (then info->length, if at least 12 bytes were there, says how much is
 * needed).
 */
int mq_batch_check(const void *buf, size_t avail, struct mq_batch_info *info,
    const char **why);

/* Record iterator over one checked batch. */
struct mq_batch_iter {
	const unsigned char *p, *end;
	struct mq_batch_info info;
	int32_t	left;
};

void mq_batch_iter_init(struct mq_batch_iter *it, const void *batch);

/* Returns 1 with *r filled, 0 at the end, MQ_ECORRUPT on a bad record. */
int mq_batch_iter_next(struct mq_batch_iter *it, struct mq_record *r);

/*
 * Batch builder.  Records are encoded as they are added; finishing fills
 * the header and CRC.  The base offset is left 0: the appender sets it,
 * which needs no new CRC since baseOffset is outside the CRC's range.
 */
struct mq_batch {
	unsigned char *buf;
	size_t	len, cap;
	int32_t	count;
	int64_t	base_ts, max_ts;
	size_t	max_bytes;		/* refuse to grow past this */
};

void mq_batch_init(struct mq_batch *b, size_t max_bytes);
void mq_batch_free(struct mq_batch *b);
void mq_batch_reset(struct mq_batch *b);

/* Bytes a batch holding only r would take. */
size_t mq_batch_size1(const struct mq_record *r);

/*
 * Appends r.  Returns 0, ENOMEM, or MQ_ETOOBIG if the batch would exceed
 * max_bytes (the batch is unchanged then; an empty batch refusing a
 * record means the record can never fit).
 */
int mq_batch_add(struct mq_batch *b, const struct mq_record *r);

/* Fills in the header and CRC.  attributes: 0 or MQ_ATTR_LOGAPPEND. */
void mq_batch_finish(struct mq_batch *b, int16_t attributes);

/* ------------------------------------------------------------------ */
/* Log directory, topics                                               */

struct mq_log;
struct mq_topic;

#define MQ_LOG_CREATE 0x1	/* create the log directory if missing */

/*
 * Opens the log directory dir (already resolved).  With MQ_LOG_CREATE the
 * directory and its parents are created as needed.
 * Returns 0, errno, or MQ_ENOLOGDIR.  Unless the error is ENOMEM or
 * ENAMETOOLONG, *lp is set even on failure, for mq_log_errdetail(); the
 * caller closes it.
 */
int mq_log_open(struct mq_log **lp, const char *dir, int flags);
void mq_log_close(struct mq_log *l);
const char *mq_log_path(const struct mq_log *l);

/* What the last failing call on l was about: "topic orders", a file... */
const char *mq_log_errdetail(const struct mq_log *l);

/*
 * Notices the library has for a person (recovery cut a torn tail, ...).
 * The library calls fn with one line of text, no newline.
 */
typedef void mq_notify_fn(void *arg, const char *msg);
void mq_log_set_notify(struct mq_log *l, mq_notify_fn *fn, void *arg);

/*
 * A flag, set by the caller's signal handler, that the library's waits
 * (a member waiting for a tool to let go of its group) look at between
 * naps: once it is non-zero they give up with EINTR.  A nap's EINTR
 * alone misses a signal that comes between two naps.  NULL for none.
 */
void mq_log_set_stop(struct mq_log *l, const volatile sig_atomic_t *flag);

/*
 * Creates topic name with partitions partitions and config c (NULL for
 * defaults).  Atomic: the topic appears whole or not at all.
 * Returns 0, errno, MQ_EBADNAME, MQ_ETOPICEXISTS, MQ_EBADCONF.
 */
int mq_topic_create(struct mq_log *l, const char *name, int partitions,
    const struct mq_config *c);

/* A config change: key set to value, or back to its default (NULL). */
struct mq_config_change {
	const char *key;
	const char *value;
};

/*
 * Changes topic t: its partition count (0 keeps it; it can only grow,
 * as in Kafka) and the n config changes in v, applied in order to the
 * topic.yaml as it is when the change is made, so two alters at once
 * both land.  New partitions are made whole before topic.yaml is
 * replaced, atomically: readers see the old topic or the new one.
 * Commands that opened the topic before keep its old partition count
 * until they open it again.  Returns 0, errno, MQ_EBADCONF (a bad change
 * or topic.yaml), or MQ_EBADPART (fewer partitions than it has).
 */
int mq_topic_alter(struct mq_topic *t, int partitions,
    const struct mq_config_change *v, size_t n);

/*
 * Deletes topic name: renamed away at once, so new readers and writers
 * find no such topic, then removed, with every group's commits on it.
 * A reader already running finishes what it was reading, and a follower
 * then gets MQ_ENOTOPIC; an appender's next append gets MQ_ENOTOPIC.
 * Returns 0, errno, MQ_EBADNAME, MQ_ENOTOPIC.
 */
int mq_topic_delete(struct mq_log *l, const char *name);

/*
 * Sorted names of the log's topics; *names is one allocation:
 * free(*names) releases it all.  Returns 0 or errno.
 */
int mq_topic_list(struct mq_log *l, char ***names, size_t *n);

/* Opens a topic.  Returns 0, errno, MQ_EBADNAME, MQ_ENOTOPIC, MQ_EBADCONF. */
int mq_topic_open(struct mq_log *l, const char *name, struct mq_topic **tp);
void mq_topic_close(struct mq_topic *t);
const char *mq_topic_name(const struct mq_topic *t);
int mq_topic_partitions(const struct mq_topic *t);
const struct mq_config *mq_topic_config(const struct mq_topic *t);

/*
 * Parses a segment file's name (no directory): 20 digits of base offset
 * and ".log", ".index" or ".timeindex", to which *ext then points.
 * Returns 0, or -1 for any other name.
 */
int mq_segment_parse(const char *name, int64_t *base, const char **ext);

/* What mq-list shows of a partition. */
struct mq_partition_info {
	int64_t	start;			/* log start offset */
	int64_t	end;			/* committed end offset */
	int64_t	bytes;			/* of its .log files */
	size_t	segments;
};

/* Returns 0, errno, MQ_EBADPART, MQ_ECORRUPT, MQ_ESTATE. */
int mq_partition_info(struct mq_topic *t, int part,
    struct mq_partition_info *pi);

/*
 * Sorted base offsets of partition part's segments; *bases is malloc'd.
 * Returns 0, errno, MQ_EBADPART, or MQ_ECORRUPT (directory missing).
 */
int mq_segments(struct mq_topic *t, int part, int64_t **bases, size_t *n);

/*
 * The path of partition part's directory (ext NULL), or of the segment
 * file of base with extension ext (".log", ".index", ".timeindex") that
 * readers read: during a compaction past its commit point, its ".swap"
 * copy.  For messages and for tools that read files by hand.  Returns 0
 * or ENAMETOOLONG.
 */
int mq_segment_path(const struct mq_topic *t, int part, int64_t base,
    const char *ext, char *buf, size_t size);

/* Kafka's default partitioner for a keyed record. */
uint32_t mq_murmur2(const void *key, size_t len);
int mq_partition_for_key(const void *key, size_t len, int partitions);

/* ------------------------------------------------------------------ */
/* Appending                                                           */

enum mq_sync {
	MQ_SYNC_NONE = 0,	/* never fsync; publish after write */
	MQ_SYNC_BATCH = 1,	/* fsync each append call, then publish */
	MQ_SYNC_ALWAYS = 2	/* fsync each batch, then publish */
};

struct mq_appender;

/*
 * Opens partition part of t for appending.  Takes no lock yet.
 * Returns 0, errno, MQ_EBADPART.
 */
int mq_appender_open(struct mq_topic *t, int part, int sync,
    struct mq_appender **ap);

/*
 * Appends n finished batches as the next offsets: takes the partition
 * lock (waiting for it), recovers a torn tail a dead writer left, rolls
 * the segment as segment.bytes/segment.ms say, writes each batch with one
 * write, syncs as the mode says, publishes the new committed point, and
 * drops the lock.  *first gets the offset of the first record.
 * Returns 0, errno (EINVAL for a batch without records), MQ_ETOOBIG,
 * MQ_ECORRUPT.  On error, batches not yet published stay invisible and
 * are cut off again; a roll publishes the batches before it.
 */
int mq_append(struct mq_appender *a, struct mq_batch *const *batches,
    size_t n, int64_t *first);

/*
 * Does now what the next append would do first: takes the lock, brings
 * the partition to a clean committed end (cutting a torn tail, rebuilding
 * a lost partition.state, as docs/recovery.md says; what it cut goes to
 * the notify callback) and drops the lock.  Returns as mq_append.
 */
int mq_appender_recover(struct mq_appender *a);

/*
 * fsyncs what this appender wrote and not yet synced (flush.ms, exit).
 * Returns 0 or errno.
 */
int mq_appender_sync(struct mq_appender *a);

/* Closes and frees the appender, without syncing.  Returns 0. */
int mq_appender_close(struct mq_appender *a);

/* ------------------------------------------------------------------ */
/* Cleaning: retention, delete-records and compaction                  */

#define MQ_CLEAN_END INT64_MAX	/* before: the end offset */

struct mq_clean_opts {
	int64_t	now;		/* ms since the epoch: retention.ms and
				   delete.retention.ms count back from it */
	int64_t	before;		/* -1, or move the log start offset up to
				   this offset (Kafka's delete-records)
				   instead of retention and compaction */
	int	dry_run;	/* say what would be done, do nothing */
};

/* Why segments were deleted: bits of mq_clean_result.reasons. */
#define MQ_CLEAN_BY_TIME	0x1	/* retention.ms */
#define MQ_CLEAN_BY_SIZE	0x2	/* retention.bytes */
#define MQ_CLEAN_BY_BEFORE	0x4	/* before */

struct mq_clean_result {
	int64_t	old_start, new_start;	/* log start offset */
	size_t	deleted;		/* segments deleted */
	int64_t	deleted_bytes;
	int	reasons;		/* MQ_CLEAN_BY_* */
	size_t	compacted;		/* segments compacted */
	size_t	compacted_into;		/* segments they became */
	int64_t	records_in, records_out;
	int64_t	bytes_in, bytes_out;
	const char *recovered;		/* NULL, or what was done with a
					   compaction cut short */
};

/*
 * Cleans partition part of t as its cleanup.policy says (Kafka's rules;
 * docs/decisions.md): with "delete", deletes whole sealed segments, oldest
 * first, past retention.ms (by their largest timestamp) or beyond
 * retention.bytes, and moves the log start offset to the first segment
 * kept; with "compact", keeps only the latest record of each key in the
 * sealed segments older than min.compaction.lag.ms, tombstones until
 * delete.retention.ms after their timestamp, offsets unchanged, swapping
 * the new segments in so a crash at any point leaves the old log or the
 * new one.  With o->before, only moves the log start offset up to it and
 * deletes the segments wholly below it.  First finishes or undoes a
 * compaction a crash cut short.  Safe beside appenders and readers; one
 * cleaner per partition at a time (others wait).  *r says what was done.
 * Returns 0, errno, MQ_EBADOFFSET (before past the end offset),
 * MQ_EBADCONF (before on a compact-only topic), MQ_ECORRUPT (damaged
 * data: nothing was changed), MQ_ESTATE.
 */
int mq_clean_partition(struct mq_topic *t, int part,
    const struct mq_clean_opts *o, struct mq_clean_result *r);

/* ------------------------------------------------------------------ */
/* Reading                                                             */

struct mq_reader;

/*
 * Opens partition part of t for reading at the log start offset.
 * Returns 0, errno, MQ_EBADPART.
 */
int mq_reader_open(struct mq_topic *t, int part, struct mq_reader **rp);
void mq_reader_close(struct mq_reader *r);

/*
 * Re-reads the committed point.  *start and *end (may be NULL) get the
 * log start offset and the committed end offset (next offset to be
 * written and published).  Returns 0, errno, MQ_ESTATE.
 */
int mq_reader_offsets(struct mq_reader *r, int64_t *start, int64_t *end);

/* Positions at offset (clamped into [start, end]). */
int mq_reader_seek(struct mq_reader *r, int64_t offset);

/* Positions at the first record with timestamp >= ts, or at the end. */
int mq_reader_seek_time(struct mq_reader *r, int64_t ts);

/* The offset the next record returned will have (or the end). */
int64_t mq_reader_position(const struct mq_reader *r);

/*
 * Stops returning records at offset limit (exit-at-end snapshots);
 * INT64_MAX for none.
 */
void mq_reader_set_limit(struct mq_reader *r, int64_t limit);

/*
 * Returns the next whole batch holding offsets at or past the position,
 * raw, byte for byte as stored: 1 with *batch and *len set (valid until the
 * next call), 0 at the committed end or the limit, or an error code:
 * errno, MQ_ECORRUPT, MQ_ESTATE, MQ_ENOTOPIC.  An errno is positive too,
 * so test for 1 and 0, not for < 0.  The position moves past the batch.
 */
int mq_reader_next_batch(struct mq_reader *r, const void **batch,
    size_t *len);

/*
 * Returns the next record: 1 with *rec set (valid until the next call),
 * 0 at the committed end or the limit, or an error code as
 * mq_reader_next_batch().
 */
int mq_reader_next(struct mq_reader *r, struct mq_record *rec);

/* Path of the partition's state file, for inotify watches. */
const char *mq_reader_watch_path(const struct mq_reader *r);

/* ------------------------------------------------------------------ */
/* Consumer groups                                                      */

/*
 * A group keeps a committed offset (the next offset to read) per
 * topic-partition, in DIR/groups/GROUP/TOPIC/ (docs/format.md).  Members
 * of a group split each topic's partitions between them: a member owns a
 * partition while it holds that partition's lock, and the kernel drops
 * the lock when the member dies.  Group names follow topic names' rules.
 */
struct mq_group;
struct mq_member;

#define MQ_GROUP_CREATE 0x1	/* create the group if missing */

/*
 * Opens group name.  Returns 0, errno, MQ_EBADGROUP, or MQ_ENOGROUP
 * (missing and not MQ_GROUP_CREATE).
 */
int mq_group_open(struct mq_log *l, const char *name, int flags,
    struct mq_group **gp);
void mq_group_close(struct mq_group *g);
const char *mq_group_name(const struct mq_group *g);

/*
 * Sorted names of the log's groups, or of the topics group g has state
 * for.  *names is one allocation: free(*names) releases it all.
 * Returns 0 or errno.
 */
int mq_group_list(struct mq_log *l, char ***names, size_t *n);
int mq_group_topics(struct mq_group *g, char ***names, size_t *n);

/* A committed offset. */
struct mq_commit {
	int64_t	offset;			/* next offset to read; -1: none */
	int64_t	timestamp;		/* when, ms since the epoch */
	uint64_t seq;			/* commits so far to this partition */
	uint64_t member;		/* id of the member that wrote it;
					   0 for a tool (mq-offsets) */
};

/*
 * Reads the committed offset of topic's partition part.  No lock: a
 * commit is seen whole or not at all.  Returns 0 (c->offset -1 when
 * nothing was ever committed), errno, or MQ_ECORRUPT.
 */
int mq_group_committed(struct mq_group *g, const char *topic, int part,
    struct mq_commit *c);

/* A live member, as it describes itself. */
struct mq_member_info {
	uint64_t id;			/* random, fixed for its lifetime */
	int	slot;			/* its place in the member table */
	pid_t	pid;
	int64_t	since;			/* joined, ms since the epoch */
	char	host[64];
};

/*
 * The live members of the group on topic, in slot order; *m is malloc'd.
 * Returns 0 or errno.
 */
int mq_group_members(struct mq_group *g, const char *topic,
    struct mq_member_info **m, size_t *n);

/*
 * Who holds topic's partition part: *held is 1 when a live member does,
 * with *m filled (m->slot -1 if it has not said who it is yet), 0 when
 * no one does.  Returns 0 or errno.
 */
int mq_group_owner(struct mq_group *g, const char *topic, int part,
    int *held, struct mq_member_info *m);

/*
 * Keeps members out of group g while a tool changes it: no one can join
 * until mq_group_unlock() or mq_group_close().  Returns 0, MQ_EACTIVE
 * while any member (of any topic, in the deal or not) is live,
 * MQ_ELOCKED while another tool holds it, MQ_ENOGROUP, or errno.
 */
int mq_group_lock(struct mq_group *g);
void mq_group_unlock(struct mq_group *g);

/*
 * Sets committed offsets on topic for a tool: offsets[p] for partition p
 * of n (-1 leaves one as it is), durably; a partition whose commit is
 * damaged gets a whole new one.  Unless force, holds the group lock for
 * the call (if the caller does not already), so it refuses as
 * mq_group_lock() does and changes nothing then.  A member that owns a
 * partition reset by force follows the reset at its next commit or look
 * at the group.
 */
int mq_group_reset(struct mq_group *g, const char *topic,
    const int64_t *offsets, int n, int force);

/*
 * Deletes group name and its state: atomically for new members.  Unless
 * force, holds the group lock while it does, so it refuses as
 * mq_group_lock() does.
 */
int mq_group_delete(struct mq_log *l, const char *name, int force);

/*
 * Joins group g as a member consuming topic t.  Waits while a tool
 * holds the group (a reset or a delete), and follows a delete by
 * joining the group of that name anew.  sync is how commits are made
 * durable: MQ_SYNC_NONE never, MQ_SYNC_BATCH at mq_member_sync() and
 * release, MQ_SYNC_ALWAYS at each commit.  Returns 0, errno, or EINTR
 * when a signal came while it waited.
 */
int mq_member_join(struct mq_group *g, struct mq_topic *t, int sync,
    struct mq_member **mp);

/*
 * Opens the group's state on topic t to own partitions the caller
 * chooses, outside the deal (Kafka's assign()): takes no member slot,
 * is dealt nothing and counts for no one's share; a partition is still
 * owned by one process at a time.  Otherwise as mq_member_join().
 */
int mq_member_assign(struct mq_group *g, struct mq_topic *t, int sync,
    struct mq_member **mp);

/* Syncs, releases every partition and leaves.  Returns 0 or errno. */
int mq_member_leave(struct mq_member *m);

/*
 * The partitions this member should own now: want[p] set to 1 or 0 for
 * each of the topic's partitions.  Per topic, the live members in slot
 * order are dealt the partitions round-robin, starting at a member
 * chosen by the topic name's hash.  Returns 0 or errno.
 */
int mq_member_assignment(struct mq_member *m, unsigned char *want);

/*
 * Takes partition part if no one else holds it: 0 with *committed set
 * (-1 when nothing was committed), MQ_ELOCKED when it is held, errno,
 * or MQ_ECORRUPT.
 */
int mq_member_acquire(struct mq_member *m, int part, int64_t *committed);

/*
 * Commits offset for an owned partition.  If a tool reset the partition
 * since this member's last commit (mq-offsets --reset --force), nothing
 * is written and *moved gets the reset offset; otherwise *moved is -1.
 * Returns 0, errno, or EINVAL when the partition is not owned.
 */
int mq_member_commit(struct mq_member *m, int part, int64_t offset,
    int64_t *moved);

/* Commits made durable now (MQ_SYNC_BATCH).  Returns 0 or errno. */
int mq_member_sync(struct mq_member *m);

/* Syncs and gives partition part up.  Returns 0 or errno. */
int mq_member_release(struct mq_member *m, int part);

/* ------------------------------------------------------------------ */
/* Share groups (queue mode, Kafka's KIP-932)                          */

/*
 * Members of a share group take single records from any partition of a
 * topic: a record is acquired by one member at a time, for a lock time,
 * and then accepted, released for another delivery, or rejected.  Each
 * acquisition counts a delivery; a record released after its last
 * delivery, or rejected, is archived, and with a dead-letter topic
 * appended there.  A member holds a slot of the member table locked for
 * as long as it lives, so a dead member's records are free at once.  The
 * state lives in DIR/groups/GROUP/TOPIC/share (docs/format.md); a topic's
 * group is a share group or a consumer group, not both (MQ_EGROUPTYPE).
 */
struct mq_share;

#define MQ_SHARE_INFLIGHT_MAX	2000	/* records in flight per partition */

struct mq_share_opts {
	int64_t	lock_ms;		/* acquisition lock; default 30000 */
	int	max_deliveries;		/* 1..255; default 5 */
	int	sync;			/* enum mq_sync, for the state */
	struct mq_topic *dead_letter;	/* NULL, or where archived records
					   go (not the topic consumed) */
};

/* Fills o with the defaults. */
void mq_share_opts_init(struct mq_share_opts *o);

/*
 * Joins share group g on topic t.  Waits while a tool holds the group,
 * as mq_member_join().  Returns 0, errno, EINVAL (bad options),
 * MQ_EGROUPTYPE, or EINTR.
 */
int mq_share_join(struct mq_group *g, struct mq_topic *t,
    const struct mq_share_opts *o, struct mq_share **sp);

/*
 * Syncs the state and leaves; records still acquired are free for the
 * others at once, their delivery counted.  Returns 0 or errno.
 */
int mq_share_leave(struct mq_share *s);

/* An acquired record. */
struct mq_delivery {
	int	part;
	int	delivery;		/* 1 on the first delivery */
	int64_t	deadline;		/* the lock runs out then, ms since
					   the epoch */
	struct mq_record rec;		/* valid until the next acquire */
};

#define MQ_SHARE_ACCEPT	0x1	/* accept records as they are taken:
				   at-most-once, no acknowledgement */

/*
 * Acquires up to max records, from the partitions in turn, records
 * released for redelivery first: *d gets *n of them (0 when nothing is
 * available now).  *wait_ms (may be NULL) gets how long until a record
 * held by another member may come free by its lock running out (-1: none
 * held).  Returns 0, errno, MQ_ECORRUPT (damaged state or log), or an
 * error of the dead-letter topic's appender; even then *n records were
 * taken, and are the caller's to deal with.
 */
int mq_share_acquire(struct mq_share *s, size_t max, int flags,
    struct mq_delivery **d, size_t *n, int64_t *wait_ms);

enum mq_ack {
	MQ_ACK_ACCEPT = 1,	/* done: never delivered again */
	MQ_ACK_RELEASE = 2,	/* deliver again (archived after the last) */
	MQ_ACK_REJECT = 3	/* archived now (poison) */
};

/*
 * Acknowledges delivery d (its part, rec.offset and delivery).
 * Returns 0, MQ_ELOCKLOST when the lock ran out or the record was taken
 * from this member (nothing counted), errno, or MQ_ECORRUPT.
 */
int mq_share_ack(struct mq_share *s, const struct mq_delivery *d,
    enum mq_ack type);

/* Makes the state durable now (MQ_SYNC_BATCH).  Returns 0 or errno. */
int mq_share_sync(struct mq_share *s);

/* A share partition as tools show it. */
struct mq_share_info {
	int64_t	start;			/* all below are accepted or archived */
	int64_t	end;			/* the next offset never delivered */
	int64_t	archived, accepted;	/* so far */
	size_t	in_flight;		/* acquired or waiting for redelivery */
	size_t	acquired;		/* by a live member, lock not run out */
};

/*
 * Reads the state of topic's partition part in share group g, without
 * what retention removed, as the next member will find it.  Returns
 * 0 (all zero when nothing was ever delivered), errno, MQ_EGROUPTYPE
 * (the group is a consumer group on topic), or MQ_ECORRUPT.
 */
int mq_share_describe(struct mq_group *g, const char *topic, int part,
    struct mq_share_info *si);

/*
 * Is g a share group on topic?  1 yes, 0 no (a consumer group, or no
 * state), or -errno.
 */
int mq_group_is_share(struct mq_group *g, const char *topic);

/*
 * Moves topic's share partitions to start afresh: offsets[p] for
 * partition p of n (-1 leaves one as it is) becomes its start offset,
 * with nothing in flight; damaged state is written anew.  Unless force,
 * holds the group lock for the call, so refuses as mq_group_lock().
 * Returns 0, errno, MQ_EACTIVE, MQ_ELOCKED, MQ_EGROUPTYPE.
 */
int mq_share_reset(struct mq_group *g, const char *topic,
    const int64_t *offsets, int n, int force);

/* ------------------------------------------------------------------ */
/* Round-trip formats: the JSON envelope and raw length-framed records  */

/* A growable byte buffer. */
struct mq_buf {
	char	*p;
	size_t	len, cap;
};

int mq_buf_reserve(struct mq_buf *b, size_t more);	/* 0 or ENOMEM */
int mq_buf_add(struct mq_buf *b, const void *p, size_t n);
void mq_buf_free(struct mq_buf *b);

/*
 * A record decoded from an input format.  partition is -1 when the input
 * did not name one, timestamp -1 when it gave none.  The record's pointers
 * stay valid until the next decode into the same struct or until the
 * input buffer changes; mq_decoded_free() releases what it owns.
 */
struct mq_decoded {
	struct mq_record rec;
	int	partition;
	struct mq_header *hdrs;		/* owned */
	size_t	nhdrs, hdrcap;
	struct mq_buf scratch;		/* owned: unescaped JSON bytes */
};

void mq_decoded_free(struct mq_decoded *d);

/*
 * Appends rec's JSON envelope and a newline to out:
 * {"topic":..,"partition":..,"offset":..,"tstype":"create"|"logappend",
 *  "ts":..,"headers":[k,v,...],"key":..,"payload":..}
 * Bytes are a JSON string when valid UTF-8, {"base64":"..."} otherwise,
 * null when null.  Returns 0 or ENOMEM.
 */
int mq_json_encode(struct mq_buf *out, const char *topic, int part,
    int ts_type, const struct mq_record *rec);

/*
 * Parses one JSON envelope (one line, without its newline) into d.  Reads
 * key, payload, headers, ts and partition; ignores the other members.
 * Returns 0, ENOMEM, or MQ_EBADRECORD with *why set.
 */
int mq_json_decode(const char *line, size_t len, struct mq_decoded *d,
    const char **why);

/*
 * Raw framing, big-endian: u32 length of what follows, i32 partition,
 * i64 offset, i64 timestamp, i32 key length (-1 null), key, i32 value
 * length (-1 null), value, i32 header count, then per header i32 key
 * length, key, i32 value length (-1 null), value.
 */
int mq_frame_encode(struct mq_buf *out, int part, const struct mq_record *rec);

/*
 * Decodes one frame from buf (len bytes available).  Returns 0 with *used
 * set and d filled (pointers into buf), EAGAIN when more bytes are
 * needed, ENOMEM, or MQ_EBADRECORD with *why set.
 */
int mq_frame_decode(const void *buf, size_t len, size_t *used,
    struct mq_decoded *d, const char **why);

/* ------------------------------------------------------------------ */
/* Checking                                                            */

/*
 * Index verification, shared by mq-check and mq-dump --verify-index:
 * load a segment's index entries, feed in the segment's valid batches in
 * file order, then ask which entries disagree with them.  An offset
 * index entry must sit at the start of a valid batch and hold its last
 * offset; a time index entry must name the last offset of a valid batch
 * and hold its largest timestamp; both must rise.  Memory is the size
 * of the indexes, not of the segment.  A handle checks one segment at a
 * time and is reused for the next.
 */
enum mq_index_kind { MQ_INDEX_OFFSET = 0, MQ_INDEX_TIME = 1 };

struct mq_ixcheck;

/* Returns 0 or ENOMEM. */
int mq_ixcheck_open(struct mq_ixcheck **xp);
void mq_ixcheck_close(struct mq_ixcheck *x);

/* Starts on the segment of base offset base, with no entries loaded. */
void mq_ixcheck_start(struct mq_ixcheck *x, int64_t base);

/*
 * Loads the entries of the index of kind open as fd: the first count,
 * or all with count -1.  With -1, bytes past the last whole entry are a
 * mismatch; with a count (an active segment's index, which the writer
 * may be extending), entries past it are not looked at and fewer than
 * count are a mismatch.  Returns 0 or errno.
 */
int mq_ixcheck_load(struct mq_ixcheck *x, int kind, int fd, int64_t count);

/* Notes a valid batch of the segment, at file position pos. */
void mq_ixcheck_batch(struct mq_ixcheck *x, int64_t pos,
    const struct mq_batch_info *b);

typedef void mq_mismatch_fn(void *arg, const char *msg);

/*
 * Calls fn, in entry order, once per problem with the loaded index of
 * kind, with one line such as "entry 3: Index offset: 9, log offset:
 * 11".  logsize is the segment's size; entries for offsets at or past
 * end (a committed end offset, INT64_MAX for none) are not judged.
 * Returns the number of problems.
 */
size_t mq_ixcheck_report(const struct mq_ixcheck *x, int kind,
    int64_t logsize, int64_t end, mq_mismatch_fn *fn, void *arg);

/*
 * Checking a whole log directory (mq-check): every segment's batches
 * (CRCs, lengths, offsets rising within and across segments), the
 * indexes, partition.state against the segments, the topics' configs,
 * the groups' state, and what operations cut short left behind.  Each
 * problem goes to a callback; nothing is printed.  Partitions are
 * read beside live producers and consumers without blocking them.
 *
 * With MQ_CHECK_REPAIR what can be fixed without removing anything that
 * validates is fixed: torn tails cut (as the next writer would),
 * indexes and partition.state rebuilt, leftovers removed.  Damage inside
 * sealed or synced data is only reported, unless MQ_CHECK_FORCE is set
 * too: then a bad batch whose length leads to the next batch is removed
 * alone, other damage cuts the segment there, and the offsets lost are
 * reported.  Offsets are never handed out twice: a forced repair leaves
 * a gap rather than lower the end offset.
 */
#define MQ_CHECK_REPAIR	0x1
#define MQ_CHECK_FORCE	0x2

enum mq_problem_kind {
	MQ_PROBLEM_TAIL = 1,	/* a torn or unpublished tail, a roll cut
				   short: what the next writer would fix */
	MQ_PROBLEM_STATE,	/* partition.state lost or at odds with the
				   segments */
	MQ_PROBLEM_INDEX,	/* an index that disagrees with its segment */
	MQ_PROBLEM_DAMAGE,	/* damage inside sealed or synced data */
	MQ_PROBLEM_CONFIG,	/* a bad topic.yaml, a missing partition */
	MQ_PROBLEM_GROUP,	/* damaged consumer group state */
	MQ_PROBLEM_LEFTOVER,	/* what an operation cut short left: no
				   damage */
	MQ_PROBLEM_NOTE		/* worth knowing, nothing wrong */
};

struct mq_problem {
	int	kind;		/* enum mq_problem_kind */
	const char *file;	/* relative to the log directory */
	int64_t	pos;		/* byte position in file; -1 when none */
	const char *what;	/* what is wrong: one line */
	int	fix;		/* the MQ_CHECK_* flags that repair it; 0 when
				   only a person can */
	const char *done;	/* what was repaired; NULL when nothing was */
};

/* Called once per problem; p and its strings last until it returns. */
typedef void mq_problem_fn(void *arg, const struct mq_problem *p);

struct mq_check;

/* What a check has looked at and found so far. */
struct mq_check_counts {
	size_t	topics, partitions, segments, groups;
	size_t	problems;
	size_t	repaired;
	size_t	left;		/* not repaired, and neither leftovers
				   nor notes: damage still there */
};

/*
 * Starts a check of log l with flags (MQ_CHECK_*), reporting to fn.
 * Returns 0 or ENOMEM.
 */
int mq_check_open(struct mq_log *l, int flags, mq_problem_fn *fn,
    void *arg, struct mq_check **cp);
void mq_check_close(struct mq_check *c);

/*
 * Checks topic's partition part, or with part -1 all of them and what
 * an alter cut short left in the topic.  A bad topic.yaml or a missing
 * partition directory is a problem, not an error.  Returns 0, errno,
 * MQ_EBADNAME, MQ_ENOTOPIC or MQ_EBADPART (the detail says which).
 */
int mq_check_topic(struct mq_check *c, const char *topic, int part);

/*
 * Checks group's state: every commit decodes (two damaged slots are
 * damage; a forced repair clears them, so the partition counts as
 * never committed), whole slots, and commits past a partition's end or
 * for topics that no longer exist (notes).  Returns 0, errno,
 * MQ_EBADGROUP or MQ_ENOGROUP.
 */
int mq_check_group(struct mq_check *c, const char *group);

/*
 * Checks for creates and deletes cut short (topics/+new.*, topics/+del.*,
 * groups/+del.*); a create still running is left alone.  Returns 0 or
 * errno.
 */
int mq_check_leftovers(struct mq_check *c);

void mq_check_counts(const struct mq_check *c, struct mq_check_counts *n);

/* ------------------------------------------------------------------ */
/* Utilities                                                           */

/* CRC-32C (Castagnoli), hardware where the CPU has it. */
uint32_t mq_crc32c(uint32_t crc, const void *buf, size_t len);

/* Milliseconds since the epoch. */
int64_t mq_now_ms(void);

#ifdef __cplusplus
}
#endif
#endif

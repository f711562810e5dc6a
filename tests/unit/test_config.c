/* SPDX-License-Identifier: MIT */
/*
 * test_config.c - topic configuration: Kafka's defaults, setting and
 * clearing keys, every way a value can be wrong, and topic.yaml parsing
 * with the exact line:column a person is pointed at.  Runs as one TAP
 * program; the only file it makes is a mkstemp one in /tmp, removed again.
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mq.h"
#include "tap.h"

static const char *const names[] = {
	"segment.bytes", "segment.ms", "retention.ms", "retention.bytes",
	"cleanup.policy", "max.message.bytes", "index.interval.bytes",
	"message.timestamp.type", "min.compaction.lag.ms",
	"delete.retention.ms", "flush.messages", "flush.ms",
};

#define NNAMES	((int)(sizeof(names) / sizeof(names[0])))

/* Each numeric key with its limits and the words for breaking them. */
static const struct {
	const char *key;
	const char *min, *max;		/* the limits, as text */
	const char *below, *above;	/* just past them; NULL if none */
	const char *why;
} ranges[] = {
	{ "segment.bytes", "14", "2147483647", "13", "2147483648",
	    "must be between 14 and 2147483647" },
	{ "segment.ms", "1", "9223372036854775807", "0",
	    "9223372036854775808",
	    "must be between 1 and 9223372036854775807" },
	{ "retention.ms", "-1", "9223372036854775807", "-2",
	    "9223372036854775808",
	    "must be between -1 and 9223372036854775807" },
	{ "retention.bytes", "-1", "9223372036854775807", "-2",
	    "9223372036854775808",
	    "must be between -1 and 9223372036854775807" },
	{ "max.message.bytes", "0", "2147483647", "-1", "2147483648",
	    "must be between 0 and 2147483647" },
	{ "index.interval.bytes", "0", "2147483647", "-1", "2147483648",
	    "must be between 0 and 2147483647" },
	{ "min.compaction.lag.ms", "0", "9223372036854775807", "-1",
	    "9223372036854775808",
	    "must be between 0 and 9223372036854775807" },
	{ "delete.retention.ms", "0", "9223372036854775807", "-1",
	    "9223372036854775808",
	    "must be between 0 and 9223372036854775807" },
	{ "flush.messages", "1", "9223372036854775807", "0",
	    "9223372036854775808",
	    "must be between 1 and 9223372036854775807" },
	{ "flush.ms", "0", "9223372036854775807", "-1",
	    "9223372036854775808",
	    "must be between 0 and 9223372036854775807" },
};

static int
key_index(const char *key)
{
	int i;

	for (i = 0; i < mq_config_nkeys(); i++)
		if (strcmp(mq_config_key(i), key) == 0)
			return i;
	return -1;
}

/* key's current value as text. */
static const char *
val(const struct mq_config *c, const char *key)
{
	static char buf[32];

	return mq_config_value(c, key_index(key), buf);
}

static void
test_defaults(void)
{
	struct mq_config c;
	char buf[32];
	int i;

	memset(&c, 0xa5, sizeof(c));
	mq_config_init(&c);
	ok(c.segment_bytes == 1073741824, "default segment.bytes");
	ok(c.segment_ms == 604800000, "default segment.ms");
	ok(c.retention_ms == 604800000, "default retention.ms");
	ok(c.retention_bytes == -1, "default retention.bytes");
	ok(c.cleanup_policy == MQ_CLEANUP_DELETE, "default cleanup.policy");
	ok(c.max_message_bytes == 1048588, "default max.message.bytes");
	ok(c.index_interval_bytes == 4096, "default index.interval.bytes");
	ok(c.timestamp_type == MQ_TS_CREATE, "default timestamp type");
	ok(c.min_compaction_lag_ms == 0, "default min.compaction.lag.ms");
	ok(c.delete_retention_ms == 86400000, "default delete.retention.ms");
	ok(c.flush_messages == INT64_MAX, "default flush.messages");
	ok(c.flush_ms == INT64_MAX, "default flush.ms");
	ok(c.set == 0, "nothing set after init");

	ok(mq_config_nkeys() == NNAMES, "%d keys", mq_config_nkeys());
	for (i = 0; i < NNAMES && i < mq_config_nkeys(); i++) {
		ok(strcmp(mq_config_key(i), names[i]) == 0, "key %d is %s",
		    i, names[i]);
		ok(!mq_config_isset(&c, i), "%s not set", names[i]);
	}
	ok(mq_config_key(-1) == NULL, "key -1 is NULL");
	ok(mq_config_key(mq_config_nkeys()) == NULL, "key past end is NULL");
	ok(mq_config_value(&c, -1, buf) == NULL, "value -1 is NULL");
	ok(mq_config_value(&c, mq_config_nkeys(), buf) == NULL,
	    "value past end is NULL");
	ok(!mq_config_isset(&c, -1) && !mq_config_isset(&c, 99),
	    "isset out of range is 0");

	ok(strcmp(val(&c, "segment.bytes"), "1073741824") == 0,
	    "segment.bytes text");
	ok(strcmp(val(&c, "retention.bytes"), "-1") == 0,
	    "retention.bytes text");
	ok(strcmp(val(&c, "cleanup.policy"), "delete") == 0,
	    "cleanup.policy text");
	ok(strcmp(val(&c, "message.timestamp.type"), "CreateTime") == 0,
	    "timestamp type text");
	ok(strcmp(val(&c, "flush.ms"), "9223372036854775807") == 0,
	    "flush.ms text");
	ok(mq_config_value(&c, 0, buf) == buf, "value returns buf");
}

static void
test_set_unset(void)
{
	struct mq_config c;
	const char *why = NULL;
	int i, rc;

	mq_config_init(&c);
	ok(mq_config_set(&c, "segment.bytes", "14", &why) == 0,
	    "set segment.bytes 14");
	ok(c.segment_bytes == 14, "segment.bytes is 14");
	i = key_index("segment.bytes");
	ok(mq_config_isset(&c, i), "segment.bytes marked set");
	ok(c.set == 1u << i, "only its bit set");
	ok(mq_config_set(&c, "retention.ms", "-1", NULL) == 0,
	    "set with NULL why");
	ok(c.retention_ms == -1, "retention.ms is -1");
	ok(mq_config_set(&c, "message.timestamp.type", "LogAppendTime",
	    &why) == 0 && c.timestamp_type == MQ_TS_LOGAPPEND,
	    "set LogAppendTime");
	ok(strcmp(val(&c, "message.timestamp.type"), "LogAppendTime") == 0,
	    "LogAppendTime text");
	ok(mq_config_set(&c, "message.timestamp.type", "CreateTime",
	    &why) == 0 && c.timestamp_type == MQ_TS_CREATE, "set CreateTime");
	ok(mq_config_isset(&c, key_index("message.timestamp.type")),
	    "set to the default value still counts as set");

	ok(mq_config_unset(&c, "segment.bytes", &why) == 0, "unset");
	ok(c.segment_bytes == 1073741824, "unset restores default");
	ok(!mq_config_isset(&c, i), "unset clears the bit");
	ok(mq_config_unset(&c, "segment.bytes", &why) == 0,
	    "unset of an unset key is fine");
	ok(mq_config_unset(&c, "retention.ms", NULL) == 0 &&
	    c.retention_ms == 604800000, "unset with NULL why");
	ok(mq_config_unset(&c, "message.timestamp.type", NULL) == 0 &&
	    c.set == 0, "all unset");

	why = NULL;
	rc = mq_config_set(&c, "segment.byte", "100", &why);
	ok(rc == MQ_EBADCONF, "set unknown key fails");
	ok(why != NULL && strcmp(why, "unknown config") == 0,
	    "why: unknown config");
	why = NULL;
	ok(mq_config_unset(&c, "nope", &why) == MQ_EBADCONF,
	    "unset unknown key fails");
	ok(why != NULL && strcmp(why, "unknown config") == 0,
	    "unset why: unknown config");
	ok(mq_config_set(&c, "Segment.Bytes", "100", &why) == MQ_EBADCONF,
	    "keys are case-sensitive");
	ok(mq_config_set(&c, "partitions", "3", &why) == MQ_EBADCONF,
	    "partitions is not a config key");
	ok(mq_config_set(&c, "", "3", &why) == MQ_EBADCONF, "empty key");
}

/* value must fail for key with why, leaving c untouched. */
static void
set_bad(const char *key, const char *value, const char *expect)
{
	struct mq_config c, before;
	const char *why = NULL;
	int rc;

	mq_config_init(&c);
	before = c;
	rc = mq_config_set(&c, key, value, &why);
	ok(rc == MQ_EBADCONF && why != NULL && strcmp(why, expect) == 0 &&
	    memcmp(&c, &before, sizeof(c)) == 0,
	    "%s '%s' refused: %s (got %d, %s)", key, value, expect, rc,
	    why != NULL ? why : "(null)");
}

static void
set_good(const char *key, const char *value, const char *text)
{
	struct mq_config c;
	const char *why = "none";
	int rc;

	mq_config_init(&c);
	rc = mq_config_set(&c, key, value, &why);
	ok(rc == 0 && strcmp(val(&c, key), text) == 0 &&
	    mq_config_isset(&c, key_index(key)),
	    "%s '%s' -> %s (got %d, %s)", key, value, text, rc,
	    rc == 0 ? val(&c, key) : why);
}

static void
test_numbers(void)
{
	static const char *const junk[] = {
		"12abc", "-", "abc", "+5", " 5", "5 ", "0x10", "1.5", "1e3",
		"--1", "1_000", "5-", "\t5", "\xd9\xa1",
	};
	size_t i, j;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		const char *k = ranges[i].key;

		set_good(k, ranges[i].min, ranges[i].min);
		set_good(k, ranges[i].max, ranges[i].max);
		set_bad(k, ranges[i].below, ranges[i].why);
		set_bad(k, ranges[i].above, ranges[i].why);
		set_bad(k, "99999999999999999999", ranges[i].why);
		set_bad(k, "-99999999999999999999", ranges[i].why);
		set_bad(k, "-9223372036854775808", ranges[i].why);
		set_bad(k, "", "empty value");
		for (j = 0; j < sizeof(junk) / sizeof(junk[0]); j++)
			set_bad(k, junk[j], "not a decimal integer");
		/* Junk is the first thing wrong, even past an overflow. */
		set_bad(k, "99999999999999999999x", "not a decimal integer");
	}
	set_good("segment.bytes", "0000100", "100");
	set_good("retention.ms", "-0", "0");
	set_good("segment.ms", "1000", "1000");
	set_good("index.interval.bytes", "0", "0");

	/* The enumerations do not take numbers. */
	set_bad("cleanup.policy", "1",
	    "must be delete, compact or delete,compact");
	set_bad("message.timestamp.type", "0",
	    "must be CreateTime or LogAppendTime");
}

static void
test_cleanup(void)
{
	static const char *const bad[] = {
		"", "Delete", "DELETE", "compacted", "delete,", ",delete",
		"delete,delete", "compact,compact", "delete compact",
		"delete;compact", " delete", "delete ", "delete ,compact",
		"delete,compact,delete", "[delete, compact]", "none",
	};
	const char *why = "must be delete, compact or delete,compact";
	struct mq_config c;
	size_t i;

	set_good("cleanup.policy", "delete", "delete");
	set_good("cleanup.policy", "compact", "compact");
	set_good("cleanup.policy", "delete,compact", "delete,compact");
	set_good("cleanup.policy", "compact,delete", "delete,compact");
	set_good("cleanup.policy", "compact, delete", "delete,compact");
	set_good("cleanup.policy", "delete,   compact", "delete,compact");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		set_bad("cleanup.policy", bad[i], why);

	mq_config_init(&c);
	ok(mq_config_set(&c, "cleanup.policy", "compact", NULL) == 0 &&
	    c.cleanup_policy == MQ_CLEANUP_COMPACT, "compact bit");
	ok(mq_config_set(&c, "cleanup.policy", "compact,delete", NULL) == 0 &&
	    c.cleanup_policy == (MQ_CLEANUP_DELETE | MQ_CLEANUP_COMPACT),
	    "both bits");

	set_bad("message.timestamp.type", "", "must be CreateTime or "
	    "LogAppendTime");
	set_bad("message.timestamp.type", "createtime", "must be CreateTime "
	    "or LogAppendTime");
	set_bad("message.timestamp.type", "CreateTime ", "must be CreateTime "
	    "or LogAppendTime");
	set_bad("message.timestamp.type", "LogAppend", "must be CreateTime "
	    "or LogAppendTime");
}

/* ------------------------------------------------------------------ */

static int
parse(const char *text, struct mq_config *c, int *parts,
    struct mq_conferr *err)
{
	return mq_config_parse(text, strlen(text), c, parts, err);
}

/* text must fail at line:col with msg, leaving c and partitions alone. */
static void
bad_yaml(const char *name, const char *text, size_t line, size_t col,
    const char *msg)
{
	struct mq_config c, before;
	struct mq_conferr err;
	int parts = -7, rc;

	mq_config_init(&c);
	c.segment_ms = 12345;
	before = c;
	rc = parse(text, &c, &parts, &err);
	ok(rc == MQ_EBADCONF, "%s: MQ_EBADCONF (got %d)", name, rc);
	ok(err.line == line && err.col == col,
	    "%s: at %zu:%zu (got %zu:%zu)", name, line, col, err.line,
	    err.col);
	ok(strcmp(err.msg, msg) == 0, "%s: '%s' (got '%s')", name, msg,
	    err.msg);
	ok(parts == -7 && memcmp(&c, &before, sizeof(c)) == 0,
	    "%s: outputs untouched", name);
}

static void
test_parse_good(void)
{
	struct mq_config c;
	struct mq_conferr err;
	int parts = 0, rc;

	mq_config_init(&c);
	c.segment_ms = 1;	/* parse starts over from defaults */
	c.set = 0xfff;
	rc = parse("# a topic\n"
	    "partitions: 3\n"
	    "segment.bytes: 1048576\n"
	    "retention.ms: -1\n"
	    "cleanup.policy: compact, delete\n"
	    "message.timestamp.type: LogAppendTime\n"
	    "'flush.ms': \"1000\"\n"
	    "...\n", &c, &parts, &err);
	ok(rc == 0, "block mapping parses (%d %zu:%zu %s)", rc, err.line,
	    err.col, err.msg);
	ok(parts == 3, "partitions 3");
	ok(c.segment_bytes == 1048576, "segment.bytes from file");
	ok(c.retention_ms == -1, "retention.ms from file");
	ok(c.cleanup_policy == (MQ_CLEANUP_DELETE | MQ_CLEANUP_COMPACT),
	    "cleanup.policy from file");
	ok(c.timestamp_type == MQ_TS_LOGAPPEND, "timestamp type from file");
	ok(c.flush_ms == 1000, "quoted key and value");
	ok(c.segment_ms == 604800000, "unlisted key is default");
	ok(c.set == (1u << 0 | 1u << 2 | 1u << 4 | 1u << 7 | 1u << 11),
	    "set bits are the keys present (%#" PRIx32 ")", c.set);
	ok(err.line == 0 && err.col == 0 && err.msg[0] == '\0',
	    "err cleared on success");

	mq_config_init(&c);
	rc = parse("{partitions: 99999, retention.bytes: 5,\n"
	    "  segment.ms: 60000}", &c, &parts, &err);
	ok(rc == 0, "flow mapping parses (%d %s)", rc, err.msg);
	ok(parts == 99999 && c.retention_bytes == 5 && c.segment_ms == 60000,
	    "flow values");
	ok(c.set == (1u << 1 | 1u << 3), "flow set bits");

	rc = parse("---\npartitions: 1\n", &c, &parts, &err);
	ok(rc == 0 && parts == 1 && c.set == 0,
	    "explicit document start, only partitions");
	rc = parse("%YAML 1.1\n---\npartitions: 2\n", &c, &parts, &err);
	ok(rc == 0 && parts == 2, "YAML directive");
	rc = parse("partitions: 3\r\nsegment.bytes: 100\r\n", &c, &parts,
	    &err);
	ok(rc == 0 && parts == 3 && c.segment_bytes == 100, "CRLF lines");
	rc = mq_config_parse("partitions: 4\nsegment.bytes: 100xyz", 32, &c,
	    &parts, &err);
	ok(rc == 0 && parts == 4 && c.segment_bytes == 100,
	    "len bounds the text");
}

static void
test_parse_bad(void)
{
	char big[200];
	struct mq_config c;
	struct mq_conferr err;
	int parts, rc;

	bad_yaml("tab indentation",
	    "partitions: 3\n\tsegment.bytes: 100\n", 2, 1,
	    "found a tab character that violates indentation "
	    "(while scanning a plain scalar at 1:13)");
	bad_yaml("leading tab", "\tpartitions: 3\n", 1, 1,
	    "found character that cannot start any token "
	    "(while scanning for the next token): a tab (YAML indents with "
	    "spaces only)");
	bad_yaml("unknown key", "partitions: 3\nsegment.byte: 100\n", 2, 1,
	    "segment.byte: unknown config");
	bad_yaml("duplicate key",
	    "partitions: 3\nsegment.bytes: 100\nsegment.bytes: 200\n", 3, 1,
	    "duplicate key 'segment.bytes'");
	bad_yaml("duplicate partitions", "partitions: 3\n'partitions': 4\n",
	    2, 1, "duplicate key 'partitions'");
	bad_yaml("anchor", "partitions: &n 3\n", 1, 13,
	    "anchors are not allowed");
	bad_yaml("anchor on key", "partitions: 3\n&k segment.ms: 5\n", 2, 1,
	    "anchors are not allowed");
	bad_yaml("alias", "partitions: 3\nsegment.ms: *n\n", 2, 13,
	    "aliases are not allowed");
	bad_yaml("tag", "partitions: !!int 3\n", 1, 13,
	    "tags are not allowed");
	bad_yaml("tag on mapping", "!!map {partitions: 3}\n", 1, 1,
	    "tags are not allowed");
	bad_yaml("sequence value",
	    "partitions: 3\ncleanup.policy: [delete, compact]\n", 2, 17,
	    "cleanup.policy: expected a scalar value, found a sequence");
	bad_yaml("block sequence value",
	    "partitions: 3\ncleanup.policy:\n  - delete\n", 3, 3,
	    "cleanup.policy: expected a scalar value, found a sequence");
	bad_yaml("mapping value", "partitions: {a: 1}\n", 1, 13,
	    "partitions: expected a scalar value, found a mapping");
	bad_yaml("sequence key", "partitions: 3\n? [a]\n: 1\n", 2, 3,
	    "expected a key, found a sequence");
	bad_yaml("missing partitions",
	    "# nothing\nsegment.bytes: 100\n", 2, 1, "missing partitions");
	bad_yaml("missing partitions, flow",
	    "\n  {segment.bytes: 100}\n", 2, 3, "missing partitions");
	bad_yaml("partitions 0", "partitions: 0\n", 1, 13,
	    "partitions: must be between 1 and 99999");
	bad_yaml("partitions too many", "partitions: 100000\n", 1, 13,
	    "partitions: must be between 1 and 99999");
	bad_yaml("partitions overflow", "partitions: 99999999999999999999\n",
	    1, 13, "partitions: must be between 1 and 99999");
	bad_yaml("partitions not a number", "partitions: three\n", 1, 13,
	    "partitions: not a decimal integer");
	bad_yaml("partitions empty", "partitions:\n", 1, 12,
	    "partitions: empty value");
	bad_yaml("two documents",
	    "partitions: 3\n---\npartitions: 4\n", 2, 1,
	    "multiple documents: expected one");
	bad_yaml("empty text", "", 1, 1,
	    "empty configuration: expected a mapping with partitions");
	bad_yaml("only comments", "# x\n# y\n", 3, 1,
	    "empty configuration: expected a mapping with partitions");
	bad_yaml("only a document marker", "---\n", 2, 1,
	    "empty configuration: expected a mapping with partitions");
	bad_yaml("a sequence", "- partitions\n- 3\n", 1, 1,
	    "expected a mapping of config keys, found a sequence");
	bad_yaml("a scalar", "partitions 3\n", 1, 1,
	    "expected a mapping of config keys, found a scalar");
	bad_yaml("bad value on line 3",
	    "partitions: 3\nsegment.ms: 1\nsegment.bytes:    12\n", 3, 19,
	    "segment.bytes: must be between 14 and 2147483647");
	bad_yaml("junk value on line 3",
	    "partitions: 3\nsegment.ms: 1\nretention.ms: 12abc\n", 3, 15,
	    "retention.ms: not a decimal integer");
	bad_yaml("bad value in flow",
	    "{partitions: 3, cleanup.policy: keep}", 1, 33,
	    "cleanup.policy: must be delete, compact or delete,compact");
	bad_yaml("unterminated quote", "partitions: 3\nsegment.ms: \"12\n",
	    3, 1, "found unexpected end of stream "
	    "(while scanning a quoted scalar at 2:13)");
	bad_yaml("bad UTF-8", "partitions: 3\nx: \xff\n", 2, 4,
	    "invalid leading UTF-8 octet: #FF");
	bad_yaml("control character", "partitions: 3\n\x01\n", 2, 1,
	    "control characters are not allowed: #1");
	bad_yaml("NUL in a quoted value", "partitions: \"3\\0\"\n", 1, 13,
	    "NUL character in a scalar");
	bad_yaml("newline in a key is masked", "partitions: 3\n\"a\\nb\": 1\n",
	    2, 1, "a?b: unknown config");

	/* A key too long for the message is cut, not overrun. */
	memset(big, 'k', sizeof(big));
	memcpy(big, "partitions: 1\n", 14);
	memcpy(big + sizeof(big) - 5, ": 1\n", 5);
	mq_config_init(&c);
	rc = mq_config_parse(big, sizeof(big) - 1, &c, &parts, &err);
	ok(rc == MQ_EBADCONF && err.line == 2 && err.col == 1 &&
	    strlen(err.msg) < sizeof(err.msg) &&
	    strstr(err.msg, ": unknown config") != NULL,
	    "long unknown key: %s", err.msg);

	rc = mq_config_parse(NULL, 0, &c, &parts, &err);
	ok(rc == MQ_EBADCONF && err.line == 1 && err.col == 1,
	    "NULL text, 0 length is empty");
}

/* ------------------------------------------------------------------ */

static int
write_file(const char *path, const char *text, size_t len)
{
	int fd, rc = 0;

	if ((fd = open(path, O_WRONLY | O_TRUNC)) == -1)
		return errno;
	if (write(fd, text, len) != (ssize_t)len)
		rc = EIO;
	close(fd);
	return rc;
}

static void
test_files(void)
{
	char path[] = "/tmp/test_config.XXXXXX";
	char *text, buf[4096] = "";
	struct mq_config c, d;
	struct mq_conferr err;
	ssize_t n;
	int fd, parts = 0, rc;
	size_t len;

	if ((fd = mkstemp(path)) == -1) {
		ok(0, "mkstemp: %s", strerror(errno));
		return;
	}

	/* Every key set, to values other than the defaults. */
	mq_config_init(&c);
	ok(mq_config_set(&c, "segment.bytes", "2147483647", NULL) == 0 &&
	    mq_config_set(&c, "segment.ms", "1", NULL) == 0 &&
	    mq_config_set(&c, "retention.ms", "-1", NULL) == 0 &&
	    mq_config_set(&c, "retention.bytes", "9223372036854775807",
	    NULL) == 0 &&
	    mq_config_set(&c, "cleanup.policy", "compact,delete", NULL) == 0 &&
	    mq_config_set(&c, "max.message.bytes", "0", NULL) == 0 &&
	    mq_config_set(&c, "index.interval.bytes", "1", NULL) == 0 &&
	    mq_config_set(&c, "message.timestamp.type", "LogAppendTime",
	    NULL) == 0 &&
	    mq_config_set(&c, "min.compaction.lag.ms", "5", NULL) == 0 &&
	    mq_config_set(&c, "delete.retention.ms", "0", NULL) == 0 &&
	    mq_config_set(&c, "flush.messages", "1", NULL) == 0 &&
	    mq_config_set(&c, "flush.ms", "0", NULL) == 0, "set every key");
	ok(mq_config_write(fd, &c, 7) == 0, "write");
	close(fd);
	mq_config_init(&d);
	rc = mq_config_read(path, &d, &parts, &err);
	ok(rc == 0, "read back (%d %zu:%zu %s)", rc, err.line, err.col,
	    err.msg);
	ok(parts == 7, "partitions round trip");
	ok(memcmp(&c, &d, sizeof(c)) == 0, "config round trip");

	/* Only what is set is written, in table order, after a comment. */
	mq_config_init(&c);
	mq_config_set(&c, "flush.ms", "10", NULL);
	mq_config_set(&c, "cleanup.policy", "compact", NULL);
	mq_config_set(&c, "segment.bytes", "1073741824", NULL);
	fd = open(path, O_RDWR | O_TRUNC);
	ok(fd != -1 && mq_config_write(fd, &c, 1) == 0, "write some keys");
	if (fd != -1) {
		lseek(fd, 0, SEEK_SET);
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	ok(strcmp(buf, "# mq topic configuration: see mq-create(1)\n"
	    "partitions: 1\n"
	    "segment.bytes: 1073741824\n"
	    "cleanup.policy: compact\n"
	    "flush.ms: 10\n") == 0, "written text:\n%s", buf);
	rc = mq_config_read(path, &d, &parts, &err);
	ok(rc == 0 && parts == 1 && memcmp(&c, &d, sizeof(c)) == 0,
	    "default value set explicitly stays set");

	mq_config_init(&c);
	ok(mq_config_write(-1, &c, 1) == EBADF, "bad fd gives EBADF");
	ok(mq_config_write(1, &c, 0) == EINVAL, "partitions 0 refused");
	ok(mq_config_write(1, &c, 100001) == EINVAL,
	    "partitions 100001 refused");
	c.segment_bytes = 3;
	c.set = 1;
	ok(mq_config_write(1, &c, 1) == EINVAL,
	    "set key with bad value refused");
	mq_config_init(&c);
	c.cleanup_policy = 0;
	c.set = 1u << key_index("cleanup.policy");
	ok(mq_config_write(1, &c, 1) == EINVAL,
	    "bad cleanup bits refused");

	/* Errors from the file, with the file's line numbers. */
	ok(write_file(path, "partitions: 2\nbogus: 1\n", 23) == 0,
	    "write bad file");
	rc = mq_config_read(path, &d, &parts, &err);
	ok(rc == MQ_EBADCONF && err.line == 2 && err.col == 1 &&
	    strcmp(err.msg, "bogus: unknown config") == 0,
	    "read reports place (%d %zu:%zu %s)", rc, err.line, err.col,
	    err.msg);
	ok(write_file(path, "", 0) == 0, "write empty file");
	rc = mq_config_read(path, &d, &parts, &err);
	ok(rc == MQ_EBADCONF && err.line == 1 && err.col == 1,
	    "empty file is an error");

	/* Over 1 MiB: refused without parsing, even if valid YAML. */
	len = 1024 * 1024 + 1;
	if ((text = malloc(len)) != NULL) {
		memset(text, ' ', len);
		memcpy(text, "partitions: 1\n#", 15);
		ok(write_file(path, text, len) == 0, "write huge file");
		rc = mq_config_read(path, &d, &parts, &err);
		ok(rc == MQ_EBADCONF && err.line == 0 && err.col == 0 &&
		    strcmp(err.msg, "file too large (over 1 MiB)") == 0,
		    "huge file refused (%d %s)", rc, err.msg);
		ok(write_file(path, text, len - 1) == 0, "write 1 MiB file");
		rc = mq_config_read(path, &d, &parts, &err);
		ok(rc == 0 && parts == 1, "1 MiB exactly is fine (%d %s)",
		    rc, err.msg);
		free(text);
	}

	ok(unlink(path) == 0, "remove temp file");
	rc = mq_config_read(path, &d, &parts, &err);
	ok(rc == ENOENT, "missing file gives ENOENT (%d)", rc);
	rc = mq_config_read("/tmp", &d, &parts, &err);
	ok(rc == EISDIR, "directory gives EISDIR (%d)", rc);
}

int
main(void)
{
	test_defaults();
	test_set_unset();
	test_numbers();
	test_cleanup();
	test_parse_good();
	test_parse_bad();
	test_files();
	return done();
}

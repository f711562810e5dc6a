/* SPDX-License-Identifier: MIT */
/*
 * config.c - topic configuration: Kafka's per-topic settings with Kafka's
 * names, defaults and limits, and the topic.yaml file that holds them.
 *
 * One table drives everything: the order of its rows is the key index the
 * API hands out and the bit in mq_config.set, and each row says where the
 * value lives and what it may be.  A value given on a command line and a
 * value read from YAML go through the same mq_config_set(), so both are
 * checked alike and fail with the same words.
 *
 * The file is a flat mapping of scalars, so libyaml's event API is enough:
 * no document tree, and every event has a mark to point a person at
 * (FILE:LINE:COL, 1-based).  Anything richer than a flat mapping (aliases,
 * anchors, tags, nested nodes, several documents) is refused rather than
 * half-understood.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "mq.h"

#define PARTITIONS_MAX	MQ_PARTITIONS_MAX
#define CONF_MAX	(1024 * 1024)	/* larger is not a topic.yaml */

/* ------------------------- The key table ---------------------------- */

enum ktype { K_INT, K_CLEANUP, K_TSTYPE };

struct key {
	const char	*name;
	enum ktype	 type;
	size_t		 off;		/* the field in struct mq_config */
	int64_t		 def;
	int64_t		 min, max;	/* K_INT only */
	const char	*bad;		/* why, for a value out of range */
};

#define F(field)	offsetof(struct mq_config, field)

static const struct key keys[] = {
	{ "segment.bytes", K_INT, F(segment_bytes), 1073741824,
	    14, INT32_MAX, "must be between 14 and 2147483647" },
	{ "segment.ms", K_INT, F(segment_ms), 604800000,
	    1, INT64_MAX, "must be between 1 and 9223372036854775807" },
	{ "retention.ms", K_INT, F(retention_ms), 604800000,
	    -1, INT64_MAX, "must be between -1 and 9223372036854775807" },
	{ "retention.bytes", K_INT, F(retention_bytes), -1,
	    -1, INT64_MAX, "must be between -1 and 9223372036854775807" },
	{ "cleanup.policy", K_CLEANUP, F(cleanup_policy), MQ_CLEANUP_DELETE,
	    0, 0, "must be delete, compact or delete,compact" },
	{ "max.message.bytes", K_INT, F(max_message_bytes), 1048588,
	    0, INT32_MAX, "must be between 0 and 2147483647" },
	{ "index.interval.bytes", K_INT, F(index_interval_bytes), 4096,
	    0, INT32_MAX, "must be between 0 and 2147483647" },
	{ "message.timestamp.type", K_TSTYPE, F(timestamp_type), MQ_TS_CREATE,
	    0, 0, "must be CreateTime or LogAppendTime" },
	{ "min.compaction.lag.ms", K_INT, F(min_compaction_lag_ms), 0,
	    0, INT64_MAX, "must be between 0 and 9223372036854775807" },
	{ "delete.retention.ms", K_INT, F(delete_retention_ms), 86400000,
	    0, INT64_MAX, "must be between 0 and 9223372036854775807" },
	{ "flush.messages", K_INT, F(flush_messages), INT64_MAX,
	    1, INT64_MAX, "must be between 1 and 9223372036854775807" },
	{ "flush.ms", K_INT, F(flush_ms), INT64_MAX,
	    0, INT64_MAX, "must be between 0 and 9223372036854775807" },
};

#define NKEYS	((int)(sizeof(keys) / sizeof(keys[0])))

/* One bit per key in mq_config.set. */
_Static_assert(sizeof(keys) / sizeof(keys[0]) <= 32, "too many keys");

/*
 * The field behind key i.  K_INT rows point at int64_t fields, the two
 * enumerations at int fields; the table above is the only place that
 * pairs a type with an offset.
 */
static int64_t *
ifield(struct mq_config *c, int i)
{
	return (int64_t *)(void *)((char *)c + keys[i].off);
}

static int *
efield(struct mq_config *c, int i)
{
	return (int *)(void *)((char *)c + keys[i].off);
}

static int64_t
iget(const struct mq_config *c, int i)
{
	return *(const int64_t *)(const void *)((const char *)c +
	    keys[i].off);
}

static int
eget(const struct mq_config *c, int i)
{
	return *(const int *)(const void *)((const char *)c + keys[i].off);
}

static int
key_find(const char *name)
{
	int i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return i;
	return -1;
}

/* ------------------------- Values ----------------------------------- */

/*
 * Reads a decimal integer: an optional '-', then digits, nothing else.
 * No '+', hex or spaces, so that what a person reads in the file is what
 * the number is.  An overflow is reported as out of range, since the
 * limits are what the person needs to see.  Returns 0, or -1 with *why.
 */
static int
parse_int(const char *s, int64_t min, int64_t max, const char *bad,
    int64_t *v, const char **why)
{
	const char *p = s;
	uint64_t u = 0, lim;
	int neg = 0, over = 0;
	int64_t n;

	if (*p == '\0') {
		*why = "empty value";
		return -1;
	}
	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p < '0' || *p > '9') {
		*why = "not a decimal integer";
		return -1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		/* Keep scanning after an overflow: junk outranks range. */
		if (over || u > (lim - d) / 10)
			over = 1;
		else
			u = u * 10 + d;
	}
	if (*p != '\0') {
		*why = "not a decimal integer";
		return -1;
	}
	if (over) {
		*why = bad;
		return -1;
	}
	if (!neg)
		n = (int64_t)u;
	else if (u == lim)
		n = INT64_MIN;
	else
		n = -(int64_t)u;
	if (n < min || n > max) {
		*why = bad;
		return -1;
	}
	*v = n;
	return 0;
}

/*
 * cleanup.policy is Kafka's list type written as text: "delete",
 * "compact", or both joined by a comma, in either order, with spaces
 * allowed after the comma as Kafka's own list parser allows.
 */
static int
parse_cleanup(const char *s, int *bits)
{
	int b = 0, t;
	size_t n;

	for (;;) {
		n = strcspn(s, ",");
		if (n == 6 && memcmp(s, "delete", 6) == 0)
			t = MQ_CLEANUP_DELETE;
		else if (n == 7 && memcmp(s, "compact", 7) == 0)
			t = MQ_CLEANUP_COMPACT;
		else
			return -1;
		if (b & t)
			return -1;
		b |= t;
		if (s[n] == '\0')
			break;
		s += n + 1;
		while (*s == ' ')
			s++;
	}
	*bits = b;
	return 0;
}

/* Whether key i holds a value mq_config_set() would accept. */
static int
valid(const struct mq_config *c, int i)
{
	int64_t v;
	int e;

	switch (keys[i].type) {
	case K_INT:
		v = iget(c, i);
		return v >= keys[i].min && v <= keys[i].max;
	case K_CLEANUP:
		e = eget(c, i);
		return e >= MQ_CLEANUP_DELETE &&
		    e <= (MQ_CLEANUP_DELETE | MQ_CLEANUP_COMPACT);
	case K_TSTYPE:
		e = eget(c, i);
		return e == MQ_TS_CREATE || e == MQ_TS_LOGAPPEND;
	}
	return 0;
}

/* ------------------------- The API on values ------------------------ */

void
mq_config_init(struct mq_config *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].type == K_INT)
			*ifield(c, i) = keys[i].def;
		else
			*efield(c, i) = (int)keys[i].def;
	}
}

/*
 * Validates value fully before storing it, so a failed set leaves c as it
 * was.  why may be NULL for a caller that only wants the verdict.
 */
int
mq_config_set(struct mq_config *c, const char *key, const char *value,
    const char **why)
{
	const char *dummy;
	int64_t v;
	int i, e;

	if (why == NULL)
		why = &dummy;
	if ((i = key_find(key)) == -1) {
		*why = "unknown config";
		return MQ_EBADCONF;
	}
	switch (keys[i].type) {
	case K_INT:
		if (parse_int(value, keys[i].min, keys[i].max, keys[i].bad,
		    &v, why) == -1)
			return MQ_EBADCONF;
		*ifield(c, i) = v;
		break;
	case K_CLEANUP:
		if (parse_cleanup(value, &e) == -1) {
			*why = keys[i].bad;
			return MQ_EBADCONF;
		}
		*efield(c, i) = e;
		break;
	case K_TSTYPE:
		if (strcmp(value, "CreateTime") == 0)
			e = MQ_TS_CREATE;
		else if (strcmp(value, "LogAppendTime") == 0)
			e = MQ_TS_LOGAPPEND;
		else {
			*why = keys[i].bad;
			return MQ_EBADCONF;
		}
		*efield(c, i) = e;
		break;
	}
	c->set |= UINT32_C(1) << i;
	return 0;
}

int
mq_config_unset(struct mq_config *c, const char *key, const char **why)
{
	int i;

	if ((i = key_find(key)) == -1) {
		if (why != NULL)
			*why = "unknown config";
		return MQ_EBADCONF;
	}
	if (keys[i].type == K_INT)
		*ifield(c, i) = keys[i].def;
	else
		*efield(c, i) = (int)keys[i].def;
	c->set &= ~(UINT32_C(1) << i);
	return 0;
}

int
mq_config_nkeys(void)
{
	return NKEYS;
}

/* Returns NULL for an index out of range. */
const char *
mq_config_key(int i)
{
	if (i < 0 || i >= NKEYS)
		return NULL;
	return keys[i].name;
}

/*
 * Returns buf, or NULL for an index out of range.  An enumeration holding
 * a value no setter produces comes out as "", which no reader accepts, so
 * it cannot pass for a real setting.
 */
const char *
mq_config_value(const struct mq_config *c, int i, char *buf)
{
	const char *s = "";

	if (i < 0 || i >= NKEYS)
		return NULL;
	switch (keys[i].type) {
	case K_INT:
		snprintf(buf, 32, "%" PRId64, iget(c, i));
		return buf;
	case K_CLEANUP:
		switch (eget(c, i)) {
		case MQ_CLEANUP_DELETE:
			s = "delete";
			break;
		case MQ_CLEANUP_COMPACT:
			s = "compact";
			break;
		case MQ_CLEANUP_DELETE | MQ_CLEANUP_COMPACT:
			s = "delete,compact";
			break;
		}
		break;
	case K_TSTYPE:
		switch (eget(c, i)) {
		case MQ_TS_CREATE:
			s = "CreateTime";
			break;
		case MQ_TS_LOGAPPEND:
			s = "LogAppendTime";
			break;
		}
		break;
	}
	snprintf(buf, 32, "%s", s);
	return buf;
}

int
mq_config_isset(const struct mq_config *c, int i)
{
	if (i < 0 || i >= NKEYS)
		return 0;
	return (c->set >> i & 1) != 0;
}

/* ------------------------- Reading YAML ----------------------------- */

/*
 * The parse state.  ev is the one live event: next_event() deletes it
 * before fetching the next and the caller of parse_doc() deletes the last,
 * so no path can leak one (libcyaml's wrapper, for the same reason).
 */
struct yp {
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	int		 have;		/* ev needs yaml_event_delete() */
	const char	*text;
	size_t		 len;
	struct mq_conferr *err;
};

static void
conferr_clear(struct mq_conferr *err)
{
	err->line = 0;
	err->col = 0;
	err->msg[0] = '\0';
}

/*
 * Fills err and returns MQ_EBADCONF.  Marks are libyaml's, 0-based; people
 * count from 1.  Control characters (a quoted key can hold a newline) are
 * masked so the message stays one line on a terminal.
 */
static int
conf_fail(struct mq_conferr *err, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
conf_fail(struct mq_conferr *err, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	char *p;

	err->line = m != NULL ? m->line + 1 : 0;
	err->col = m != NULL ? m->column + 1 : 0;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	for (p = err->msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return MQ_EBADCONF;
}

/*
 * libyaml gives a reader error (bad UTF-8, a control character) only a
 * byte offset.  Count lines and characters up to it the way libyaml's
 * marks do, so every error has a place.
 */
static void
offset_mark(const char *text, size_t len, size_t off, yaml_mark_t *m)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t i = 0;

	memset(m, 0, sizeof(*m));
	if (off > len)
		off = len;
	if (off >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		i = 3;		/* a BOM is not a column */
	for (; i < off; i++) {
		if (p[i] == '\r' || (p[i] == '\n' &&
		    (i == 0 || p[i - 1] != '\r'))) {
			m->line++;
			m->column = 0;
		} else if (p[i] != '\n' && (p[i] & 0xc0) != 0x80)
			m->column++;
	}
	m->index = off;
}

/* Turns the parser's error into err.  Returns ENOMEM or MQ_EBADCONF. */
static int
yaml_fail(struct yp *y)
{
	yaml_parser_t *p = &y->parser;
	const yaml_mark_t *pm = &p->problem_mark, *cm = &p->context_mark;
	const char *problem = p->problem != NULL ? p->problem : "bad YAML";
	yaml_mark_t m;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return ENOMEM;
	case YAML_READER_ERROR:
		offset_mark(y->text, y->len, p->problem_offset, &m);
		if (p->problem_value != -1)
			return conf_fail(y->err, &m, "%s: #%X", problem,
			    (unsigned)p->problem_value);
		return conf_fail(y->err, &m, "%s", problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
		/* libyaml does not say that the character it cannot start
		 * a token with is a tab, the usual cause. */
		if (pm->index < y->len && y->text[pm->index] == '\t' &&
		    p->context != NULL && strstr(problem, "tab") == NULL)
			return conf_fail(y->err, pm, "%s (%s): a tab (YAML "
			    "indents with spaces only)", problem, p->context);
		if (p->context == NULL)
			return conf_fail(y->err, pm, "%s", problem);
		/* The context often starts elsewhere: an unclosed quote. */
		if (cm->line != pm->line || cm->column != pm->column)
			return conf_fail(y->err, pm, "%s (%s at %zu:%zu)",
			    problem, p->context, cm->line + 1,
			    cm->column + 1);
		return conf_fail(y->err, pm, "%s (%s)", problem, p->context);
	case YAML_NO_ERROR:
	case YAML_COMPOSER_ERROR:
	case YAML_WRITER_ERROR:
	case YAML_EMITTER_ERROR:
		break;
	}
	return conf_fail(y->err, pm, "%s", problem);
}

static int
next_event(struct yp *y)
{
	if (y->have) {
		yaml_event_delete(&y->ev);
		y->have = 0;
	}
	if (!yaml_parser_parse(&y->parser, &y->ev))
		return yaml_fail(y);
	y->have = 1;
	return 0;
}

/*
 * Refuses what a flat mapping of plain settings never needs.  Aliases and
 * anchors would let one value stand for another; explicit tags (even
 * !!str or !!int) are rejected too rather than ignored, because honouring
 * some and ignoring others would make the file mean different things to
 * mq and to other YAML readers.
 */
static int
check_props(struct yp *y)
{
	const yaml_event_t *e = &y->ev;
	const yaml_char_t *anchor = NULL, *tag = NULL;

	if (e->type == YAML_ALIAS_EVENT)
		return conf_fail(y->err, &e->start_mark,
		    "aliases are not allowed");
	if (e->type == YAML_SCALAR_EVENT) {
		anchor = e->data.scalar.anchor;
		tag = e->data.scalar.tag;
	} else if (e->type == YAML_SEQUENCE_START_EVENT) {
		anchor = e->data.sequence_start.anchor;
		tag = e->data.sequence_start.tag;
	} else if (e->type == YAML_MAPPING_START_EVENT) {
		anchor = e->data.mapping_start.anchor;
		tag = e->data.mapping_start.tag;
	}
	if (anchor != NULL)
		return conf_fail(y->err, &e->start_mark,
		    "anchors are not allowed");
	if (tag != NULL)
		return conf_fail(y->err, &e->start_mark,
		    "tags are not allowed");
	return 0;
}

static const char *
node_kind(const yaml_event_t *e)
{
	if (e->type == YAML_SEQUENCE_START_EVENT)
		return "a sequence";
	if (e->type == YAML_MAPPING_START_EVENT)
		return "a mapping";
	return "a scalar";
}

/*
 * A scalar's text as a C string; a "\0" escape in a quoted scalar would
 * otherwise cut the value short where the person cannot see it.
 */
static int
scalar_text(struct yp *y, const char **s)
{
	const yaml_event_t *e = &y->ev;

	*s = (const char *)e->data.scalar.value;
	if (strlen(*s) != e->data.scalar.length)
		return conf_fail(y->err, &e->start_mark,
		    "NUL character in a scalar");
	return 0;
}

/*
 * Walks stream, document, mapping, and the end of the stream, setting
 * each key into c.  Returns 0, ENOMEM or MQ_EBADCONF.
 */
static int
parse_doc(struct yp *y, struct mq_config *c, int *partitions)
{
	yaml_mark_t map, kmark;
	const char *key, *val, *why;
	uint32_t seen = 0;
	int havepart = 0, i, rc;
	int64_t np = 0;

	if ((rc = next_event(y)) != 0)		/* stream start */
		return rc;
	if ((rc = next_event(y)) != 0)
		return rc;
	if (y->ev.type == YAML_STREAM_END_EVENT)
		return conf_fail(y->err, &y->ev.start_mark,
		    "empty configuration: expected a mapping with partitions");
	if ((rc = next_event(y)) != 0)		/* the document's root */
		return rc;
	if ((rc = check_props(y)) != 0)
		return rc;
	/* "---" alone is a document holding an empty plain scalar. */
	if (y->ev.type == YAML_SCALAR_EVENT &&
	    y->ev.data.scalar.length == 0 &&
	    y->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return conf_fail(y->err, &y->ev.start_mark,
		    "empty configuration: expected a mapping with partitions");
	if (y->ev.type != YAML_MAPPING_START_EVENT)
		return conf_fail(y->err, &y->ev.start_mark,
		    "expected a mapping of config keys, found %s",
		    node_kind(&y->ev));
	map = y->ev.start_mark;

	for (;;) {
		if ((rc = next_event(y)) != 0)
			return rc;
		if (y->ev.type == YAML_MAPPING_END_EVENT)
			break;
		if ((rc = check_props(y)) != 0)
			return rc;
		if (y->ev.type != YAML_SCALAR_EVENT)
			return conf_fail(y->err, &y->ev.start_mark,
			    "expected a key, found %s", node_kind(&y->ev));
		if ((rc = scalar_text(y, &key)) != 0)
			return rc;
		kmark = y->ev.start_mark;
		if (strcmp(key, "partitions") == 0) {
			if (havepart)
				return conf_fail(y->err, &kmark,
				    "duplicate key 'partitions'");
			havepart = 1;
			i = -1;
		} else if ((i = key_find(key)) == -1) {
			return conf_fail(y->err, &kmark,
			    "%.64s: unknown config", key);
		} else if (seen & UINT32_C(1) << i) {
			return conf_fail(y->err, &kmark, "duplicate key '%s'",
			    keys[i].name);
		}
		if (i != -1)
			seen |= UINT32_C(1) << i;
		/* key points into the event about to go: use the table. */
		key = i == -1 ? "partitions" : keys[i].name;

		if ((rc = next_event(y)) != 0)
			return rc;
		if ((rc = check_props(y)) != 0)
			return rc;
		if (y->ev.type != YAML_SCALAR_EVENT)
			return conf_fail(y->err, &y->ev.start_mark,
			    "%s: expected a scalar value, found %s", key,
			    node_kind(&y->ev));
		if ((rc = scalar_text(y, &val)) != 0)
			return rc;
		if (i != -1)
			rc = mq_config_set(c, key, val, &why);
		else if (parse_int(val, 1, PARTITIONS_MAX,
		    "must be between 1 and 99999", &np, &why) == -1)
			rc = MQ_EBADCONF;
		if (rc != 0)
			return conf_fail(y->err, &y->ev.start_mark, "%s: %s",
			    key, why);
	}
	if (!havepart)
		return conf_fail(y->err, &map, "missing partitions");

	if ((rc = next_event(y)) != 0)		/* document end */
		return rc;
	if ((rc = next_event(y)) != 0)
		return rc;
	if (y->ev.type != YAML_STREAM_END_EVENT)
		return conf_fail(y->err, &y->ev.start_mark,
		    "multiple documents: expected one");
	*partitions = (int)np;
	return 0;
}

/*
 * c gets Kafka's defaults plus what the text sets: the file is the whole
 * configuration, not a change to c.  On error c and *partitions are left
 * as they were.
 */
int
mq_config_parse(const char *text, size_t len, struct mq_config *c,
    int *partitions, struct mq_conferr *err)
{
	struct mq_config nc;
	struct yp y;
	int np = 0, rc;

	conferr_clear(err);
	if (len > CONF_MAX)
		return conf_fail(err, NULL, "file too large (over 1 MiB)");
	if (text == NULL)
		text = "";		/* libyaml asserts on NULL input */
	mq_config_init(&nc);
	memset(&y, 0, sizeof(y));
	y.text = text;
	y.len = len;
	y.err = err;
	if (!yaml_parser_initialize(&y.parser))
		return ENOMEM;
	yaml_parser_set_input_string(&y.parser, (const unsigned char *)text,
	    len);
	rc = parse_doc(&y, &nc, &np);
	if (y.have)
		yaml_event_delete(&y.ev);
	yaml_parser_delete(&y.parser);
	if (rc == 0) {
		*c = nc;
		*partitions = np;
	}
	return rc;
}

/*
 * Reads the whole file first (at most a byte over the limit, so a huge or
 * endless file costs little) and parses the text: one code path for files
 * and strings, and reader errors can be placed by offset.  On an errno
 * return err says nothing more; the caller names the file.
 */
int
mq_config_read(const char *path, struct mq_config *c, int *partitions,
    struct mq_conferr *err)
{
	FILE *fp;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, n;
	int rc;

	conferr_clear(err);
	if ((fp = fopen(path, "r")) == NULL)
		return errno;
	for (;;) {
		if (len == cap) {
			if (cap > CONF_MAX)
				break;
			cap = cap == 0 ? 4096 : cap * 2;
			if (cap > CONF_MAX + 1)
				cap = CONF_MAX + 1;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				rc = ENOMEM;
				goto out;
			}
			buf = nbuf;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0) {
			if (ferror(fp)) {
				rc = errno != 0 ? errno : EIO;
				goto out;
			}
			break;
		}
	}
	rc = mq_config_parse(buf, len, c, partitions, err);
out:
	free(buf);
	fclose(fp);
	return rc;
}

/* ------------------------- Writing YAML ----------------------------- */

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		if (n == 0)
			return EIO;	/* no progress: never spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Builds the whole text, then writes it with one loop; syncing and
 * renaming into place are the caller's.  Returns EINVAL rather than write
 * a file mq_config_read() would refuse (partitions out of range, a set
 * key holding a value no setter produces).
 */
int
mq_config_write(int fd, const struct mq_config *c, int partitions)
{
	char buf[1024], val[32];
	size_t len;
	int i, n;

	if (partitions < 1 || partitions > PARTITIONS_MAX)
		return EINVAL;
	n = snprintf(buf, sizeof(buf),
	    "# mq topic configuration: see mq-create(1)\npartitions: %d\n",
	    partitions);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return ENOBUFS;
	len = (size_t)n;
	for (i = 0; i < NKEYS; i++) {
		if (!mq_config_isset(c, i))
			continue;
		if (!valid(c, i))
			return EINVAL;
		n = snprintf(buf + len, sizeof(buf) - len, "%s: %s\n",
		    keys[i].name, mq_config_value(c, i, val));
		/* 12 keys of at most 45 bytes: cannot happen. */
		if (n < 0 || (size_t)n >= sizeof(buf) - len)
			return ENOBUFS;
		len += (size_t)n;
	}
	return write_all(fd, buf, len);
}

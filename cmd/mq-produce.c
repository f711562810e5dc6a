/* SPDX-License-Identifier: MIT */
/*
 * mq-produce - append records from stdin or files to a topic.
 *
 * Input is read in large blocks and cut into records in place; records
 * are encoded straight into per-partition batches, and a flush hands all
 * finished batches to the library, which writes each with one write and
 * syncs per the --sync mode.  A flush happens when enough is pending or
 * when the input has nothing more ready, so `tail -F log | mq-produce t`
 * stays live while a big file still goes out in big writes.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "common.h"

#define IN_CHUNK	(1 << 20)	/* bytes per read(2) */
#define BATCH_TARGET	(1 << 20)	/* close a batch at this size */
#define FLUSH_BYTES	(8 << 20)	/* flush when this much is pending */
#define MAX_HEADERS	64

static const char usage_str[] =
    "usage: mq-produce [-0JlRv] [-D delim] [-d dir] [-H key=value] "
    "[-K delim]\n"
    "                  [-p partition] [--print-offsets] "
    "[--sync=none|batch|always]\n"
    "                  topic [file ...]\n";

enum { OPT_PRINT_OFFSETS = 256, OPT_SYNC };

static const struct option longopts[] = {
	{ "delimiter",		required_argument,	NULL, 'D' },
	{ "dir",		required_argument,	NULL, 'd' },
	{ "header",		required_argument,	NULL, 'H' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "json",		no_argument,		NULL, 'J' },
	{ "key-delimiter",	required_argument,	NULL, 'K' },
	{ "file-records",	no_argument,		NULL, 'l' },
	{ "null",		no_argument,		NULL, '0' },
	{ "partition",		required_argument,	NULL, 'p' },
	{ "print-offsets",	no_argument,		NULL, OPT_PRINT_OFFSETS },
	{ "raw",		no_argument,		NULL, 'R' },
	{ "sync",		required_argument,	NULL, OPT_SYNC },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

enum mode { M_DELIM, M_FILE, M_JSON, M_RAW };

struct part {
	struct mq_appender *app;
	struct mq_batch *batches;	/* reused across flushes */
	size_t	nb, cap;		/* in use; the last may be open */
	int	open;			/* batches[nb - 1] takes records */
	int64_t	first, printed;		/* for --print-offsets */
};

struct input {
	int	fd;
	const char *name;		/* "stdin" or a file operand */
	int64_t	recno;			/* records read from it so far */
	char	*buf;
	size_t	cap, have, start;
	int	eof;
};

struct producer {
	struct mq_log *l;
	struct mq_topic *t;
	const char *topic;
	int	nparts, fixed, rr, sync;
	struct part *parts;
	struct mq_batch **ptrs;
	size_t	ptrcap;
	size_t	pending;		/* bytes in unflushed batches */
	int64_t	records;
	int	print_offsets;
	int	*order;			/* partition of each pending record */
	size_t	norder, ordercap;
	struct mq_header hdrs[MAX_HEADERS];
	size_t	nhdrs;
	int64_t	max_msg;
	int64_t	flush_ms;
	const struct input *in;		/* being read, for messages */
};

static struct producer pr;

static void
fail_lib(int rc)
{
	die(exit_for(rc), "%s", mq_log_errdetail(pr.l));
}

/* Hands every pending batch to the library, then reports offsets. */
static void
flush(void)
{
	struct part *p;
	size_t i;
	int rc, n;

	for (n = 0; n < pr.nparts; n++) {
		p = &pr.parts[n];
		if (p->open) {
			if (p->batches[p->nb - 1].count == 0)
				p->nb--;
			else
				mq_batch_finish(&p->batches[p->nb - 1], 0);
			p->open = 0;
		}
		if (p->nb == 0)
			continue;
		if (p->app == NULL && (rc = mq_appender_open(pr.t, n, pr.sync,
		    &p->app)) != 0)
			fail_lib(rc);
		for (i = 0; i < p->nb; i++)
			pr.ptrs[i] = &p->batches[i];
		if ((rc = mq_append(p->app, pr.ptrs, p->nb, &p->first)) != 0)
			fail_lib(rc);
		p->printed = 0;
		for (i = 0; i < p->nb; i++)
			mq_batch_reset(&p->batches[i]);
		p->nb = 0;
	}
	if (pr.print_offsets) {
		for (i = 0; i < pr.norder; i++) {
			p = &pr.parts[pr.order[i]];
			printf("%s %d %lld\n", pr.topic, pr.order[i],
			    (long long)(p->first + p->printed++));
		}
		pr.norder = 0;
		if (fflush(stdout) == EOF)
			die(EXIT_FAIL, "stdout: %s", strerror(errno));
	}
	pr.pending = 0;
}

/* The open batch of partition n, starting one if needed. */
static struct mq_batch *
open_batch(int n)
{
	struct part *p = &pr.parts[n];
	struct mq_batch *nb;

	if (p->open)
		return &p->batches[p->nb - 1];
	if (p->nb == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4;

		if ((nb = realloc(p->batches, cap * sizeof(*nb))) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		for (size_t i = p->cap; i < cap; i++)
			mq_batch_init(&nb[i], (size_t)pr.max_msg);
		p->batches = nb;
		p->cap = cap;
	}
	/* flush() hands the library an array of any partition's batches. */
	if (p->cap > pr.ptrcap) {
		if ((pr.ptrs = realloc(pr.ptrs, p->cap * sizeof(*pr.ptrs))) ==
		    NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		pr.ptrcap = p->cap;
	}
	p->open = 1;
	return &p->batches[p->nb++];
}

static int
choose(const struct mq_record *r, int named)
{
	if (pr.fixed >= 0)
		return pr.fixed;
	if (named >= 0)
		return named;
	if (r->keylen >= 0)
		return mq_partition_for_key(r->key, (size_t)r->keylen,
		    pr.nparts);
	pr.rr = (pr.rr + 1) % pr.nparts;
	return pr.rr;
}

/*
 * Adds one record.  Returns 0, or MQ_ETOOBIG when the record cannot fit
 * a batch of max.message.bytes on its own (nothing is added then).
 */
static int
add(const struct mq_record *r, int named)
{
	struct mq_batch *b;
	size_t before;
	int n, rc;

	n = choose(r, named);
	b = open_batch(n);
	before = b->len;
	if ((rc = mq_batch_add(b, r)) == MQ_ETOOBIG && b->count > 0) {
		mq_batch_finish(b, 0);
		pr.parts[n].open = 0;
		b = open_batch(n);
		before = b->len;
		rc = mq_batch_add(b, r);
	}
	/* Even an empty batch of max.message.bytes cannot hold it. */
	if (rc == MQ_ETOOBIG)
		return rc;
	if (rc != 0)
		die(EXIT_FAIL, "%s", mq_strerror(rc));
	pr.pending += b->len - before;
	if (b->len >= BATCH_TARGET) {
		mq_batch_finish(b, 0);
		pr.parts[n].open = 0;
	}
	if (pr.print_offsets) {
		if (pr.norder == pr.ordercap) {
			pr.ordercap = pr.ordercap ? pr.ordercap * 2 : 4096;
			pr.order = realloc(pr.order, pr.ordercap *
			    sizeof(*pr.order));
			if (pr.order == NULL)
				die(EXIT_FAIL, "%s", strerror(ENOMEM));
		}
		pr.order[pr.norder++] = n;
	}
	pr.records++;
	return 0;
}

/* Flushes what came before, then reports bad input and exits. */
static void
input_error(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

static void
input_error(int status, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	flush();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (pr.in != NULL && strcmp(pr.in->name, "stdin") != 0)
		die(status, "%s: %s: %s", pr.topic, pr.in->name, msg);
	die(status, "%s: %s", pr.topic, msg);
}

/* True when fd has nothing to read right now: time to flush. */
static int
idle(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

/* ------------------------- Input ------------------------------------ */


/*
 * With --sync=none the topic's flush.ms still bounds how long written
 * records stay unsynced: before blocking on input, wait at most that
 * long, and fsync what was written if nothing came.
 */
static void
await_input(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int i, rc;

	if (pr.sync != MQ_SYNC_NONE || pr.flush_ms > INT_MAX ||
	    poll(&p, 1, (int)pr.flush_ms) != 0)
		return;
	for (i = 0; i < pr.nparts; i++)
		if (pr.parts[i].app != NULL &&
		    (rc = mq_appender_sync(pr.parts[i].app)) != 0)
			fail_lib(rc);
}

/*
 * Reads more into in->buf, keeping [start, have).  Grows the buffer up to
 * limit when the unparsed part fills it.  Returns bytes read (0 at EOF).
 */
static ssize_t
refill(struct input *in, size_t limit)
{
	ssize_t n;
	char *nb;

	if (in->start > 0) {
		memmove(in->buf, in->buf + in->start, in->have - in->start);
		in->have -= in->start;
		in->start = 0;
	}
	if (in->have == in->cap && in->cap < limit) {
		size_t cap = in->cap * 2 > limit ? limit : in->cap * 2;

		if ((nb = realloc(in->buf, cap)) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		in->buf = nb;
		in->cap = cap;
	}
	if (in->have == in->cap)
		return -2;		/* full at the limit */
	await_input(in->fd);
	do
		n = read(in->fd, in->buf + in->have, in->cap - in->have);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		die(EXIT_FAIL, "%s: %s", in->name, strerror(errno));
	if (n == 0)
		in->eof = 1;
	in->have += (size_t)n;
	return n;
}

struct delim {
	char	rec[64], key[64];
	int	reclen, keylen;		/* keylen 0: no key split */
};

static const char *
find(const char *p, size_t len, const char *d, int dlen)
{
	if (dlen == 1)
		return memchr(p, d[0], len);
	return memmem(p, len, d, (size_t)dlen);
}

/*
 * "record at line 7" for lines, "record 7" for other delimiters,
 * "record" for -l (recno -1).  Made only for a message: formatting it
 * for every record took a quarter of mq-produce's time.
 */
static const char *
where(const struct delim *d, int64_t recno)
{
	static char buf[48];

	if (recno < 0)
		return "record";
	snprintf(buf, sizeof(buf), "record %s%lld", d->reclen == 1 &&
	    d->rec[0] == '\n' ? "at line " : "", (long long)recno);
	return buf;
}

static void
too_big(const struct delim *d, int64_t recno, size_t len)
{
	input_error(EXIT_DATA, "%s is %zu bytes, over max.message.bytes %lld",
	    where(d, recno), len, (long long)pr.max_msg);
}

/*
 * Adds the record at p, splitting off the key at -K's delimiter.  recno
 * names it in messages (see where()).
 */
static void
delim_record(const struct delim *d, const char *p, size_t len,
    int64_t ts, int64_t recno)
{
	struct mq_record r = { .timestamp = ts, .keylen = -1,
	    .headers = pr.hdrs, .nheaders = pr.nhdrs };
	size_t total = len;
	const char *k;

	if (d->keylen > 0) {
		if ((k = find(p, len, d->key, d->keylen)) == NULL)
			input_error(EXIT_DATA, "%s has no key delimiter",
			    where(d, recno));
		r.key = p;
		r.keylen = k - p;
		len -= (size_t)(k - p) + (size_t)d->keylen;
		p = k + d->keylen;
	}
	r.value = p;
	r.vallen = (ssize_t)len;
	if (add(&r, -1) == MQ_ETOOBIG)
		input_error(EXIT_DATA, "%s is %zu bytes (a %zu-byte batch), "
		    "over max.message.bytes %lld", where(d, recno), total,
		    mq_batch_size1(&r), (long long)pr.max_msg);
}

/* Delimited records: lines by default, -0, -D. */
static void
read_delimited(struct input *in, const struct delim *d)
{
	/* A record longer than max.message.bytes can never be appended. */
	size_t limit = (size_t)pr.max_msg + (size_t)d->reclen + 1;
	const char *e;
	int64_t ts;
	size_t skipped = 0;

	for (;;) {
		if (refill(in, limit) == -2) {
			/* Count the oversized record to its end, then fail. */
			skipped += in->have;
			in->have = in->start = 0;
			continue;
		}
		ts = mq_now_ms();
		while ((e = find(in->buf + in->start, in->have - in->start,
		    d->rec, d->reclen)) != NULL) {
			in->recno++;
			if (skipped > 0)
				too_big(d, in->recno, skipped +
				    (size_t)(e - in->buf));
			delim_record(d, in->buf + in->start,
			    (size_t)(e - in->buf) - in->start, ts, in->recno);
			in->start = (size_t)(e - in->buf) + (size_t)d->reclen;
		}
		if (in->eof) {
			if (in->have > in->start || skipped > 0) {
				in->recno++;
				if (skipped > 0)
					too_big(d, in->recno, skipped +
					    in->have);
				delim_record(d, in->buf + in->start,
				    in->have - in->start, ts, in->recno);
			}
			return;
		}
		if (pr.pending >= FLUSH_BYTES || idle(in->fd))
			flush();
	}
}

/* -l: the whole input is one record. */
static void
read_file_record(struct input *in, const struct delim *d)
{
	size_t limit = (size_t)pr.max_msg + 1, skipped = 0;
	ssize_t n;

	/* Past the limit, only count the bytes: the size goes in the error. */
	while ((n = refill(in, limit)) != 0)
		if (n == -2) {
			skipped += in->have;
			in->have = 0;
		}
	if (skipped > 0)
		input_error(EXIT_DATA, "record is %zu bytes, over "
		    "max.message.bytes %lld", skipped + in->have,
		    (long long)pr.max_msg);

	delim_record(d, in->buf, in->have, mq_now_ms(), -1);
}

/* Fills in what a decoded record left open, checks it, adds it. */
static void
add_decoded(struct mq_decoded *dec, int64_t now, const char *what,
    int64_t recno)
{
	if (dec->rec.timestamp < 0)
		dec->rec.timestamp = now;
	if (dec->partition >= pr.nparts && pr.fixed < 0)
		input_error(EXIT_DATA, "%s %lld names partition %d, the topic "
		    "has %d", what, (long long)recno, dec->partition,
		    pr.nparts);
	if (add(&dec->rec, dec->partition) == MQ_ETOOBIG)
		input_error(EXIT_DATA, "%s %lld is over max.message.bytes "
		    "%lld", what, (long long)recno, (long long)pr.max_msg);
}

/* -J: one JSON envelope per line, as mq-consume -J writes them. */
static void
read_json(struct input *in)
{
	/* Escapes can take six bytes per input byte. */
	size_t limit = (size_t)pr.max_msg * 6 + 65536;
	struct mq_decoded dec = { 0 };
	const char *e, *why;
	size_t len;
	int64_t now;
	ssize_t n;
	int rc;

	for (;;) {
		if ((n = refill(in, limit)) == -2)
			input_error(EXIT_DATA, "line %lld is over "
			    "max.message.bytes %lld", (long long)in->recno + 1,
			    (long long)pr.max_msg);
		now = mq_now_ms();
		for (;;) {
			e = memchr(in->buf + in->start, '\n', in->have -
			    in->start);
			if (e == NULL && !(in->eof && in->have > in->start))
				break;
			len = (e ? (size_t)(e - in->buf) : in->have) -
			    in->start;
			in->recno++;
			rc = mq_json_decode(in->buf + in->start, len, &dec,
			    &why);
			if (rc == MQ_EBADRECORD)
				input_error(EXIT_DATA, "line %lld: %s",
				    (long long)in->recno, why);
			if (rc != 0)
				die(EXIT_FAIL, "%s", mq_strerror(rc));
			add_decoded(&dec, now, "line", in->recno);
			in->start += len + (e != NULL);
		}
		if (in->eof)
			break;
		if (pr.pending >= FLUSH_BYTES || idle(in->fd))
			flush();
	}
	mq_decoded_free(&dec);
}

/* -R: length-framed records, as mq-consume -R writes them. */
static void
read_raw(struct input *in)
{
	size_t limit = (size_t)pr.max_msg * 2 + 65536, used;
	struct mq_decoded dec = { 0 };
	const char *why;
	int64_t now;
	ssize_t n;
	int rc;

	for (;;) {
		if ((n = refill(in, limit)) == -2)
			input_error(EXIT_DATA, "frame %lld is over "
			    "max.message.bytes %lld", (long long)in->recno + 1,
			    (long long)pr.max_msg);
		now = mq_now_ms();
		while ((rc = mq_frame_decode(in->buf + in->start, in->have -
		    in->start, &used, &dec, &why)) == 0) {
			in->recno++;
			add_decoded(&dec, now, "frame", in->recno);
			in->start += used;
		}
		if (rc == MQ_EBADRECORD)
			input_error(EXIT_DATA, "frame %lld: %s",
			    (long long)in->recno + 1, why);
		if (rc != EAGAIN)
			die(EXIT_FAIL, "%s", mq_strerror(rc));
		if (in->eof) {
			if (in->have > in->start)
				input_error(EXIT_DATA, "frame %lld: input ends "
				    "inside it", (long long)in->recno + 1);
			break;
		}
		if (pr.pending >= FLUSH_BYTES || idle(in->fd))
			flush();
	}
	mq_decoded_free(&dec);
}

static enum mode
set_mode(enum mode old, enum mode new)
{
	if (old != M_DELIM && old != new)
		usage_error(usage_str, "-J, -l and -R do not go together");
	return new;
}

static void
parse_delim(const char *opt, const char *s, char *out, int *len)
{
	if ((*len = unescape(s, out, 64)) <= 0)
		usage_error(usage_str, "%s '%s': expected 1 to 64 bytes, with "
		    "escapes \\n \\t \\r \\0 \\\\ \\xHH", opt, s);
}

int
main(int argc, char *argv[])
{
	struct delim d = { .rec = "\n", .reclen = 1 };
	struct input in = { 0 };
	const char *dir = NULL, *why;
	char *eq;
	enum mode mode = M_DELIM;
	int64_t v;
	uint32_t rnd;
	int ch, rc, i, verbose = 0;

	prog = "mq-produce";
	argv[0] = (char *)prog;		/* for getopt's messages */
	pr.fixed = -1;
	pr.sync = MQ_SYNC_BATCH;
	while ((ch = getopt_long(argc, argv, "0D:d:H:hJK:lp:RvV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case '0':
			d.rec[0] = '\0';
			d.reclen = 1;
			break;
		case 'D':
			parse_delim("-D", optarg, d.rec, &d.reclen);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'H':
			if ((eq = strchr(optarg, '=')) == NULL)
				usage_error(usage_str, "-H %s: expected "
				    "key=value", optarg);
			if (pr.nhdrs == MAX_HEADERS)
				usage_error(usage_str, "more than %d -H "
				    "headers", MAX_HEADERS);
			pr.hdrs[pr.nhdrs].key = optarg;
			pr.hdrs[pr.nhdrs].keylen = (size_t)(eq - optarg);
			pr.hdrs[pr.nhdrs].value = eq + 1;
			pr.hdrs[pr.nhdrs++].vallen = (ssize_t)strlen(eq + 1);
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'J':
			mode = set_mode(mode, M_JSON);
			break;
		case 'K':
			parse_delim("-K", optarg, d.key, &d.keylen);
			break;
		case 'l':
			mode = set_mode(mode, M_FILE);
			break;
		case 'p':
			if (parse_int64(optarg, 0, MQ_PARTITIONS_MAX - 1, &v,
			    &why) != 0)
				usage_error(usage_str, "-p %s: %s", optarg,
				    why);
			pr.fixed = (int)v;
			break;
		case 'R':
			mode = set_mode(mode, M_RAW);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			print_version();
		case OPT_PRINT_OFFSETS:
			pr.print_offsets = 1;
			break;
		case OPT_SYNC:
			pr.sync = parse_sync(usage_str, optarg);
			break;
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(usage_str, "no topic given");
	if ((mode == M_JSON || mode == M_RAW) && (d.keylen > 0 ||
	    pr.nhdrs > 0))
		usage_error(usage_str, "-K and -H do not go with -J or -R: "
		    "their input carries keys and headers");

	pr.l = open_log(dir, 0);
	pr.t = open_topic(pr.l, argv[0]);
	pr.topic = argv[0];
	pr.nparts = mq_topic_partitions(pr.t);
	pr.max_msg = mq_topic_config(pr.t)->max_message_bytes;
	pr.flush_ms = mq_topic_config(pr.t)->flush_ms;
	if (pr.fixed >= pr.nparts)
		die(EXIT_USAGE, "%s: partition %d: no such partition (the "
		    "topic has %d)", pr.topic, pr.fixed, pr.nparts);
	if ((pr.parts = calloc((size_t)pr.nparts, sizeof(*pr.parts))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	/* Unkeyed records start at a random partition, as Kafka's did, so
	 * many one-record runs spread out. */
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)getpid();
	pr.rr = (int)(rnd % (uint32_t)pr.nparts);
	if ((in.buf = malloc(IN_CHUNK)) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	in.cap = IN_CHUNK;

	for (i = 1; i < argc || (argc == 1 && i == 1); i++) {
		in.name = argc == 1 || strcmp(argv[i], "-") == 0 ? "stdin" :
		    argv[i];
		in.fd = STDIN_FILENO;
		if (strcmp(in.name, "stdin") != 0 &&
		    (in.fd = open(argv[i], O_RDONLY | O_CLOEXEC)) == -1)
			input_error(EXIT_FAIL, "%s: %s", argv[i],
			    strerror(errno));
		in.have = in.start = 0;
		in.recno = 0;
		in.eof = 0;
		pr.in = &in;
		switch (mode) {
		case M_DELIM:
			read_delimited(&in, &d);
			break;
		case M_FILE:
			read_file_record(&in, &d);
			break;
		case M_JSON:
			read_json(&in);
			break;
		case M_RAW:
			read_raw(&in);
			break;
		}
		if (in.fd != STDIN_FILENO)
			close(in.fd);
	}
	flush();
	for (i = 0; i < pr.nparts; i++) {
		struct part *p = &pr.parts[i];

		if (p->app != NULL && (rc = mq_appender_close(p->app)) != 0)
			fail_lib(rc);
		for (size_t j = 0; j < p->cap; j++)
			mq_batch_free(&p->batches[j]);
		free(p->batches);
	}
	free(pr.parts);
	free(pr.ptrs);
	free(pr.order);
	free(in.buf);
	mq_topic_close(pr.t);
	mq_log_close(pr.l);
	if (verbose)
		warnmsg("%s: %lld records", pr.topic, (long long)pr.records);
	if (fclose(stdout) == EOF)
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
	return EXIT_OK;
}

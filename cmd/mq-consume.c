/* SPDX-License-Identifier: MIT */
/*
 * mq-consume - write a topic's records to stdout.
 *
 * Records are formatted into one large output buffer and written with
 * write(2) when it fills and before any wait, so a fast reader gets big
 * writes and `mq-consume -f t | grep x` is still live.  Without -f the
 * end is the committed end seen at start, so a busy topic still lets the
 * command finish.  With -f it waits on inotify for partition.state to
 * change: no polling.  A reader that goes away (EPIPE) ends the run
 * quietly, like reaching the end.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common.h"

#define OUT_FLUSH	(1 << 20)	/* write when this much is buffered */
#define BURST		4096		/* records from one partition in a row */

static const char usage_str[] =
    "usage: mq-consume [-0fJRv] [-d dir] [-F format] [-n count] "
    "[-o offset]\n"
    "                  [-p partition] topic ...\n";

static const struct option longopts[] = {
	{ "dir",	required_argument,	NULL, 'd' },
	{ "follow",	no_argument,		NULL, 'f' },
	{ "format",	required_argument,	NULL, 'F' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "json",	no_argument,		NULL, 'J' },
	{ "count",	required_argument,	NULL, 'n' },
	{ "null",	no_argument,		NULL, '0' },
	{ "offset",	required_argument,	NULL, 'o' },
	{ "partition",	required_argument,	NULL, 'p' },
	{ "raw",	no_argument,		NULL, 'R' },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

enum start { S_BEGINNING, S_END, S_OFFSET, S_BACK, S_TIME };

/* One step of a -F format: a literal run or a %-token. */
struct op {
	char	tok;			/* 0 for a literal */
	const char *lit;
	size_t	len;
};

struct source {
	struct mq_topic *t;
	struct mq_reader *r;
	int	part, done;
};

static struct mq_buf out;
static struct op *ops;
static size_t nops;
static char *litbuf;			/* the literals ops point into */

/* Writes the buffer out.  Returns 0, or -1 when the reader went away. */
static int
out_flush(void)
{
	size_t off = 0;
	ssize_t n;

	while (off < out.len) {
		n = write(STDOUT_FILENO, out.p + off, out.len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EPIPE)
			return -1;
		if (n == -1)
			die(EXIT_FAIL, "stdout: %s", strerror(errno));
		off += (size_t)n;
	}
	out.len = 0;
	return 0;
}

static void
add(const void *p, size_t n)
{
	if (mq_buf_add(&out, p, n) != 0)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
}

static void
add_num(long long v)
{
	char b[24];
	int n = snprintf(b, sizeof(b), "%lld", v);

	add(b, (size_t)n);
}

/* Parses -F: kcat's tokens and backslash escapes. */
static void
parse_format(const char *f)
{
	static const char toks[] = "skoptThSK%";
	size_t len = strlen(f), i, n;
	char *p;

	/* The last -F wins. */
	free(ops);
	free(litbuf);
	nops = 0;
	if ((ops = calloc(len + 1, sizeof(*ops))) == NULL ||
	    (litbuf = malloc(len + 1)) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	p = litbuf;
	for (i = 0; i < len; ) {
		if (f[i] == '%') {
			if (f[i + 1] == '\0' || strchr(toks, f[i + 1]) == NULL)
				usage_error(usage_str, "-F: unknown token "
				    "'%%%c'", f[i + 1] ? f[i + 1] : ' ');
			ops[nops++].tok = f[i + 1];
			i += 2;
			continue;
		}
		ops[nops].lit = p;
		for (n = 0; i < len && f[i] != '%'; n++) {
			if (f[i] != '\\') {
				*p++ = f[i++];
				continue;
			}
			switch (f[i + 1]) {
			case 'n': *p++ = '\n'; break;
			case 'r': *p++ = '\r'; break;
			case 't': *p++ = '\t'; break;
			case '0': *p++ = '\0'; break;
			case '\\': *p++ = '\\'; break;
			default:
				usage_error(usage_str, "-F: unknown escape "
				    "'\\%c'", f[i + 1] ? f[i + 1] : ' ');
			}
			i += 2;
		}
		ops[nops++].len = n;
	}
}

static void
add_headers(const struct mq_record *r)
{
	struct mq_header h;
	size_t i;

	for (i = 0; i < r->nheaders; i++) {
		if (mq_record_header(r, i, &h) != 0)
			die(EXIT_DATA, "offset %lld: bad header",
			    (long long)r->offset);
		if (i > 0)
			add(",", 1);
		add(h.key, h.keylen);
		add("=", 1);
		if (h.vallen > 0)
			add(h.value, (size_t)h.vallen);
	}
}

static void
format(const struct source *s, const struct mq_record *r)
{
	size_t i;

	for (i = 0; i < nops; i++) {
		switch (ops[i].tok) {
		case 0:
			add(ops[i].lit, ops[i].len);
			break;
		case 's':
			if (r->vallen > 0)
				add(r->value, (size_t)r->vallen);
			break;
		case 'k':
			if (r->keylen > 0)
				add(r->key, (size_t)r->keylen);
			break;
		case 'o':
			add_num(r->offset);
			break;
		case 'p':
			add_num(s->part);
			break;
		case 't':
			add(mq_topic_name(s->t), strlen(mq_topic_name(s->t)));
			break;
		case 'T':
			add_num(r->timestamp);
			break;
		case 'h':
			add_headers(r);
			break;
		case 'S':
			add_num(r->vallen);
			break;
		case 'K':
			add_num(r->keylen);
			break;
		case '%':
			add("%", 1);
			break;
		}
	}
}

static void
parse_start(const char *s, enum start *how, int64_t *v)
{
	const char *why;

	if (strcmp(s, "beginning") == 0)
		*how = S_BEGINNING;
	else if (strcmp(s, "end") == 0)
		*how = S_END;
	else if (s[0] == '@') {
		*how = S_TIME;
		if (parse_time(s + 1, v) != 0)
			usage_error(usage_str, "-o %s: bad time (milliseconds "
			    "since the epoch, or ISO 8601)", s);
	} else if (s[0] == '-') {
		*how = S_BACK;
		if (parse_int64(s + 1, 0, INT64_MAX, v, &why) != 0)
			usage_error(usage_str, "-o %s: %s", s, why);
	} else {
		*how = S_OFFSET;
		if (parse_int64(s, 0, INT64_MAX, v, &why) != 0)
			usage_error(usage_str, "-o %s: expected beginning, "
			    "end, N, -N or @TIME", s);
	}
}

/* Positions a source and sets its exit-at-end limit. */
static void
position(struct mq_log *l, struct source *s, enum start how, int64_t v,
    int follow)
{
	int64_t start, end;
	int rc;

	if ((rc = mq_reader_offsets(s->r, &start, &end)) != 0)
		die(exit_for(rc), "%s", mq_log_errdetail(l));
	if (!follow)
		mq_reader_set_limit(s->r, end);
	switch (how) {
	case S_BEGINNING:
		rc = mq_reader_seek(s->r, start);
		break;
	case S_END:
		rc = mq_reader_seek(s->r, end);
		break;
	case S_OFFSET:
		rc = mq_reader_seek(s->r, v);
		break;
	case S_BACK:
		rc = mq_reader_seek(s->r, end - v < start ? start : end - v);
		break;
	case S_TIME:
		rc = mq_reader_seek_time(s->r, v);
		break;
	}
	if (rc != 0)
		die(exit_for(rc), "%s", mq_log_errdetail(l));
}

/*
 * Waits until some partition's state changes or stdout's reader goes
 * away.  Returns -1 in the latter case.
 */
static int
wait_change(int ifd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	struct pollfd p[2] = {
		{ .fd = ifd, .events = POLLIN },
		{ .fd = STDOUT_FILENO, .events = 0 }
	};

	while (poll(p, 2, -1) == -1)
		if (errno != EINTR)
			die(EXIT_FAIL, "poll: %s", strerror(errno));
	if (p[1].revents & (POLLERR | POLLHUP))
		return -1;
	/* Drain the queue: one pass over the readers answers all events. */
	while (read(ifd, buf, sizeof(buf)) > 0)
		;
	return 0;
}

int
main(int argc, char *argv[])
{
	struct mq_log *l;
	struct source *src;
	struct mq_record rec;
	const char *dir = NULL, *why;
	enum start how = S_BEGINNING;
	int64_t v = 0, count = -1, seen = 0, part = -1;
	size_t nsrc = 0, i;
	int ch, rc, k, follow = 0, json = 0, raw = 0, verbose = 0,
	    ifd = -1, progress, gone = 0, ntopics;
	char term = '\n';

	prog = "mq-consume";
	argv[0] = (char *)prog;		/* for getopt's messages */
	while ((ch = getopt_long(argc, argv, "0d:fF:hJn:o:p:RvV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case '0':
			term = '\0';
			break;
		case 'd':
			dir = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		case 'F':
			parse_format(optarg);
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'J':
			json = 1;
			break;
		case 'n':
			if (parse_int64(optarg, 0, INT64_MAX, &count, &why))
				usage_error(usage_str, "-n %s: %s", optarg,
				    why);
			break;
		case 'o':
			parse_start(optarg, &how, &v);
			break;
		case 'p':
			if (parse_int64(optarg, 0, MQ_PARTITIONS_MAX - 1, &part,
			    &why))
				usage_error(usage_str, "-p %s: %s", optarg,
				    why);
			break;
		case 'R':
			raw = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			print_version();
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(usage_str, "no topic given");
	if (json + raw + (ops != NULL) > 1)
		usage_error(usage_str, "-F, -J and -R do not go together");
	for (k = 0; k < argc; k++)
		check_name(argv[k]);
	signal(SIGPIPE, SIG_IGN);
	verbose |= isatty(STDERR_FILENO);

	l = open_log(dir, 0);
	ntopics = argc;
	src = NULL;
	for (k = 0; k < ntopics; k++) {
		struct mq_topic *t = open_topic(l, argv[k]);
		int n = mq_topic_partitions(t), p;

		if (part >= n)
			die(EXIT_USAGE, "%s: partition %lld: no such partition "
			    "(the topic has %d)", argv[k], (long long)part, n);
		if ((src = realloc(src, (nsrc + (size_t)n) *
		    sizeof(*src))) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		for (p = 0; p < n; p++) {
			if (part >= 0 && p != part)
				continue;
			struct source *s = &src[nsrc++];

			memset(s, 0, sizeof(*s));
			s->t = t;
			s->part = p;
			if ((rc = mq_reader_open(t, p, &s->r)) != 0)
				die(exit_for(rc), "%s", mq_log_errdetail(l));
			position(l, s, how, v, follow);
		}
	}
	if (follow) {
		if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
			die(EXIT_FAIL, "inotify: %s", strerror(errno));
		for (i = 0; i < nsrc; i++)
			if (inotify_add_watch(ifd, mq_reader_watch_path(
			    src[i].r), IN_MODIFY) == -1)
				die(EXIT_FAIL, "%s: %s",
				    mq_reader_watch_path(src[i].r),
				    strerror(errno));
	}

	while (!gone && count != 0) {
		progress = 0;
		for (i = 0; i < nsrc && count != 0 && !gone; i++) {
			struct source *s = &src[i];

			for (k = 0; k < BURST && !s->done && count != 0; k++) {
				rc = mq_reader_next(s->r, &rec);
				if (rc < 0) {
					/* What was read before stays output. */
					out_flush();
					die(exit_for(rc), "%s",
					    mq_log_errdetail(l));
				}
				if (rc == 0) {
					s->done = !follow;
					break;
				}
				progress = 1;
				seen++;
				if (count > 0)
					count--;
				if (json) {
					if (mq_json_encode(&out,
					    mq_topic_name(s->t), s->part,
					    rec.ts_type, &rec) != 0)
						die(EXIT_FAIL, "%s",
						    strerror(ENOMEM));
				} else if (raw) {
					if (mq_frame_encode(&out, s->part,
					    &rec) != 0)
						die(EXIT_FAIL, "%s",
						    strerror(ENOMEM));
				} else if (ops != NULL)
					format(s, &rec);
				else {
					if (rec.vallen > 0)
						add(rec.value,
						    (size_t)rec.vallen);
					add(&term, 1);
				}
				if (out.len >= OUT_FLUSH && out_flush() != 0)
					gone = 1;
			}
		}
		if (gone || count == 0)
			break;
		if (!follow) {
			for (i = 0; i < nsrc && src[i].done; i++)
				;
			if (i == nsrc)
				break;
			continue;
		}
		if (!progress && (out_flush() != 0 || wait_change(ifd) != 0))
			gone = 1;
	}
	if (!gone)
		out_flush();
	if (verbose)
		warnmsg("%lld records", (long long)seen);
	/* Each topic is closed once: its sources are consecutive. */
	for (i = 0; i < nsrc; i++) {
		mq_reader_close(src[i].r);
		if (i + 1 == nsrc || src[i + 1].t != src[i].t)
			mq_topic_close(src[i].t);
	}
	free(src);
	mq_buf_free(&out);
	free(ops);
	free(litbuf);
	mq_log_close(l);
	return EXIT_OK;
}

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
 *
 * With -g the partitions are the group's: this process owns those its
 * member locks (liblog/member.c), looks again every half second, and
 * commits a partition's position only after the output holding its
 * records was written whole (or, with --exec, after the command exited
 * 0).  A partition it gives up is committed first.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "exec.h"
#include "queue.h"

#define OUT_FLUSH	(1 << 20)	/* write when this much is buffered */
#define BURST		4096		/* records from one partition in a row */
#define LOOK_MS		500		/* how often a member looks at the group */
#define SYNC_MS		1000		/* --sync=batch: commits fsync'd this often */

static const char usage_str[] =
    "usage: mq-consume [-0fJRv] [-d dir] [-F format] [-g group] [-n count]\n"
    "                  [-o offset] [-p partition] [--exec command] "
    "[--retries n]\n"
    "                  [--sync=none|batch|always] topic ...\n"
    "       mq-consume --queue -g group [-0fJRv] [-d dir] [-F format] "
    "[-j jobs]\n"
    "                  [-n count] [--dead-letter topic] [--exec command]\n"
    "                  [--lock-timeout ms] [--max-deliveries n]\n"
    "                  [--sync=none|batch|always] topic ...\n";

enum {
	OPT_EXEC = 256, OPT_RETRIES, OPT_SYNC, OPT_QUEUE, OPT_DEADLETTER,
	OPT_LOCKTIMEOUT, OPT_MAXDELIVERIES
};

static const struct option longopts[] = {
	{ "dead-letter", required_argument,	NULL, OPT_DEADLETTER },
	{ "dir",	required_argument,	NULL, 'd' },
	{ "follow",	no_argument,		NULL, 'f' },
	{ "exec",	required_argument,	NULL, OPT_EXEC },
	{ "format",	required_argument,	NULL, 'F' },
	{ "group",	required_argument,	NULL, 'g' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "jobs",	required_argument,	NULL, 'j' },
	{ "json",	no_argument,		NULL, 'J' },
	{ "lock-timeout", required_argument,	NULL, OPT_LOCKTIMEOUT },
	{ "max-deliveries", required_argument,	NULL, OPT_MAXDELIVERIES },
	{ "count",	required_argument,	NULL, 'n' },
	{ "null",	no_argument,		NULL, '0' },
	{ "offset",	required_argument,	NULL, 'o' },
	{ "partition",	required_argument,	NULL, 'p' },
	{ "queue",	no_argument,		NULL, OPT_QUEUE },
	{ "raw",	no_argument,		NULL, 'R' },
	{ "retries",	required_argument,	NULL, OPT_RETRIES },
	{ "sync",	required_argument,	NULL, OPT_SYNC },
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
	struct mq_member *m;		/* the topic's membership, with -g */
	int	part, done;
	int	want, owned;		/* with -g: assigned, and held */
	int64_t	end;			/* exit-at-end point */
	int64_t	outpos;			/* next offset after what was output */
	int64_t	written;		/* outpos when output was last written */
	int64_t	committed;		/* what was last committed */
};

/* What the command line chose. */
static struct {
	const char *group, *exec, *dead_letter;
	enum start how;
	int64_t	v, part;
	int	follow, json, raw, verbose, sync, queue, started;
	int	queue_only;		/* an option only --queue takes */
	int64_t	retries, jobs, lock_ms, max_deliveries;
	char	term;
} opt;

static struct mq_buf out;
static struct op *ops;
static size_t nops;
static char *litbuf;			/* the literals ops point into */
static volatile sig_atomic_t stopsig;	/* SIGINT or SIGTERM came */
static int64_t count = -1;		/* -n: records still to go */
static int exitstatus = EXIT_OK;	/* EXIT_EXEC once a command failed */
static int64_t seen;			/* records written or run */
static int outfile;			/* stdout is a regular file */

/*
 * Writes the buffer out.  Returns 0, or -1 when the reader went away or
 * a signal asked us to stop: then the buffer's records count as not
 * written.
 */
static int
out_flush(void)
{
	size_t off = 0;
	ssize_t n;

	while (off < out.len) {
		/* A queue's records were accepted: they go out regardless. */
		if (stopsig && !opt.queue)
			return -1;
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

/* Positions a source as -o says. */
static void
position(struct mq_log *l, struct source *s)
{
	int64_t start, end;
	int rc = 0;

	fail_on(l, mq_reader_offsets(s->r, &start, &end));
	switch (opt.how) {
	case S_BEGINNING:
		rc = mq_reader_seek(s->r, start);
		break;
	case S_END:
		rc = mq_reader_seek(s->r, end);
		break;
	case S_OFFSET:
		rc = mq_reader_seek(s->r, opt.v);
		break;
	case S_BACK:
		rc = mq_reader_seek(s->r, end - opt.v < start ? start :
		    end - opt.v);
		break;
	case S_TIME:
		rc = mq_reader_seek_time(s->r, opt.v);
		break;
	}
	fail_on(l, rc);
}

static void
note(const struct source *s, const char *what, int64_t off)
{
	if (opt.verbose)
		warnmsg("group %s: %s %s-%d at offset %lld", opt.group, what,
		    mq_topic_name(s->t), s->part, (long long)off);
}

/*
 * Commits what of s was written, and follows a reset that moved it
 * (mq-offsets --reset --force).  A look commits nothing new, but asks,
 * so an idle member notices a reset too.
 */
static void
commit(struct mq_log *l, struct source *s, int look)
{
	int64_t moved, to = look ? s->committed : s->written;

	if (!look && s->written == s->committed)
		return;
	fail_on(l, mq_member_commit(s->m, s->part, to, &moved));
	if (moved >= 0) {
		fail_on(l, mq_reader_seek(s->r, moved));
		s->outpos = s->written = to = mq_reader_position(s->r);
		s->done = !opt.follow && s->outpos >= s->end;
		note(s, "reset moved", s->outpos);
	}
	s->committed = to;
}

static void
sync_stdout(void)
{
	if (fdatasync(STDOUT_FILENO) == -1 && errno != EINVAL)
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
}

/*
 * Writes the output buffer out.  Returns -1 when it could not be written
 * whole: its records then stay uncommitted.
 */
static int
flush_out(struct source *src, size_t nsrc)
{
	size_t i;

	if (out_flush() != 0)
		return -1;
	for (i = 0; i < nsrc; i++)
		src[i].written = src[i].outpos;
	return 0;
}

/*
 * Commits what was written.  When stdout is a regular file and commits
 * are synced, the file is synced first, since a commit must never
 * outlive the output it stands for; with --sync=batch that happens once
 * a second (or when forced), not at every write, which would halve the
 * speed of `mq-consume -g g t >file`.
 */
static void
commit_written(struct mq_log *l, struct source *src, size_t nsrc, int force)
{
	static int64_t last;
	size_t i;
	int pending = 0;

	if (opt.group == NULL)
		return;
	for (i = 0; i < nsrc; i++)
		pending |= src[i].owned && src[i].written != src[i].committed;
	if (!pending)
		return;
	if (outfile && opt.sync != MQ_SYNC_NONE) {
		if (!force && opt.sync == MQ_SYNC_BATCH && mono_ms() - last <
		    SYNC_MS)
			return;
		sync_stdout();
	}
	for (i = 0; i < nsrc; i++)
		if (src[i].owned)
			commit(l, &src[i], 0);
	last = mono_ms();
}

static void
release(struct mq_log *l, struct source *s)
{
	fail_on(l, mq_member_release(s->m, s->part));
	s->owned = 0;
	note(s, "gave up", s->committed);
}

/* Takes s if its owner let go; positions it at the commit or per -o. */
static void
acquire(struct mq_log *l, struct source *s)
{
	int64_t committed;
	int rc;

	if ((rc = mq_member_acquire(s->m, s->part, &committed)) ==
	    MQ_ELOCKED)
		return;
	fail_on(l, rc);
	if (committed >= 0)
		fail_on(l, mq_reader_seek(s->r, committed));
	else
		position(l, s);
	s->owned = 1;
	s->outpos = s->written = mq_reader_position(s->r);
	s->committed = -1;
	/* Stamps the partition with our id, and fixes where -o put us. */
	commit(l, s, 0);
	s->done = !opt.follow && s->outpos >= s->end;
	note(s, "took", s->outpos);
}

/*
 * Brings ownership in line with the group's current assignment: gives
 * up what is no longer ours (after writing and committing its output),
 * then takes what is ours and free.  Returns -1 if stdout went away.
 */
static int
rebalance(struct mq_log *l, struct source *src, size_t nsrc)
{
	unsigned char *want = NULL;
	size_t i, j, cap = 0;
	int n, gave = 0;

	for (i = 0; i < nsrc; i = j) {
		n = mq_topic_partitions(src[i].t);
		if ((size_t)n > cap && (want = realloc(want, cap = (size_t)n))
		    == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		/* -p: that partition, outside the deal. */
		if (opt.part < 0)
			fail_on(l, mq_member_assignment(src[i].m, want));
		for (j = i; j < nsrc && src[j].t == src[i].t; j++) {
			struct source *s = &src[j];

			s->want = opt.part >= 0 || want[s->part];
			gave |= s->owned && !s->want;
		}
	}
	free(want);
	if (gave) {
		if (flush_out(src, nsrc) != 0)
			return -1;
		commit_written(l, src, nsrc, 1);
	}
	for (i = 0; i < nsrc; i++) {
		if (src[i].owned && !src[i].want)
			release(l, &src[i]);
		else if (!src[i].owned && src[i].want)
			acquire(l, &src[i]);
		else if (src[i].owned)
			commit(l, &src[i], 1);
	}
	return 0;
}

static void
sync_members(struct mq_log *l, struct source *src, size_t nsrc)
{
	size_t i;

	for (i = 0; i < nsrc; i++)
		if (i == 0 || src[i].m != src[i - 1].m)
			fail_on(l, mq_member_sync(src[i].m));
}

/*
 * Runs --exec for one record, with retries.  Returns 0 when it exited 0,
 * -1 when a signal stopped us or it kept failing (then status is
 * EXIT_EXEC: the caller still syncs what was committed before).
 */
static int
run(const struct source *s, const struct mq_record *r)
{
	struct exec_ctx ctx = { opt.exec, opt.group, mq_topic_name(s->t),
	    s->part };
	int64_t try, backoff = 100;
	int status, rc;

	for (try = 0; ; try++) {
		if ((rc = exec_record(&ctx, r, &status)) != 0)
			die(EXIT_FAIL, "--exec: /bin/sh: %s", strerror(rc));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return 0;
		if (stopsig)
			return -1;
		if (try == opt.retries)
			break;
		if (opt.verbose)
			warnmsg("%s-%d offset %lld: command failed, retrying",
			    ctx.topic, s->part, (long long)r->offset);
		struct timespec ts = { backoff / 1000, backoff % 1000 *
		    1000000 };

		nanosleep(&ts, NULL);
		if (stopsig)
			return -1;
		if ((backoff *= 2) > 10000)
			backoff = 10000;
	}
	if (WIFEXITED(status))
		warnmsg("%s-%d offset %lld: command exited %d; not committed",
		    ctx.topic, s->part, (long long)r->offset,
		    WEXITSTATUS(status));
	else
		warnmsg("%s-%d offset %lld: command killed by signal %d; not "
		    "committed", ctx.topic, s->part, (long long)r->offset,
		    WTERMSIG(status));
	exitstatus = EXIT_EXEC;
	return -1;
}

/* Formats one record into the output buffer. */
static void
output(const struct source *s, const struct mq_record *rec)
{
	if (opt.json) {
		if (mq_json_encode(&out, mq_topic_name(s->t), s->part,
		    rec->ts_type, rec) != 0)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
	} else if (opt.raw) {
		if (mq_frame_encode(&out, s->part, rec) != 0)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
	} else if (ops != NULL)
		format(s, rec);
	else {
		if (rec->vallen > 0)
			add(rec->value, (size_t)rec->vallen);
		add(&opt.term, 1);
	}
}

/*
 * Waits until some partition's state changes, stdout's reader goes away
 * (-1), a signal comes (-1), or timeout ms pass (-1 for none).
 */
static int
wait_change(int ifd, int timeout)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	struct pollfd p[2] = {
		{ .fd = ifd, .events = POLLIN },
		{ .fd = STDOUT_FILENO, .events = 0 }
	};

	while (poll(p, ifd == -1 ? 0 : 2, timeout) == -1) {
		if (errno != EINTR)
			die(EXIT_FAIL, "poll: %s", strerror(errno));
		if (stopsig)
			return -1;
	}
	if (stopsig || (p[1].revents & (POLLERR | POLLHUP)))
		return -1;
	/* Drain the queue: one pass over the readers answers all events. */
	while (ifd != -1 && read(ifd, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static void
on_signal(int sig)
{
	stopsig = sig;
}

/* Opens every partition of the topics (or -p's), with its end point. */
static struct source *
open_sources(struct mq_log *l, struct mq_group **gp, char **topics,
    int ntopics, size_t *np)
{
	/* Static: still reachable when an error below exits. */
	static struct mq_topic **tv;
	static struct source *src;
	size_t nsrc = 0;
	int k, j, nt, p, rc;

	/* A topic named twice is read once, as Kafka subscribes. */
	for (k = 0, nt = 0; k < ntopics; k++) {
		for (j = 0; j < nt && strcmp(topics[j], topics[k]) != 0; j++)
			;
		if (j == nt)
			topics[nt++] = topics[k];
	}
	ntopics = nt;
	/* Every topic first: a typo must not leave a new empty group. */
	if ((tv = calloc((size_t)nt, sizeof(*tv))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (k = 0; k < ntopics; k++) {
		tv[k] = open_topic(l, topics[k]);
		if (opt.part >= mq_topic_partitions(tv[k]))
			die(EXIT_USAGE, "%s: partition %lld: no such partition "
			    "(the topic has %d)", topics[k],
			    (long long)opt.part, mq_topic_partitions(tv[k]));
	}
	if (opt.group != NULL)
		fail_on(l, mq_group_open(l, opt.group, MQ_GROUP_CREATE, gp));
	for (k = 0; k < ntopics; k++) {
		struct mq_topic *t = tv[k];
		struct mq_member *m = NULL;
		int n = mq_topic_partitions(t);

		if (*gp != NULL && (rc = (opt.part >= 0 ? mq_member_assign :
		    mq_member_join)(*gp, t, opt.sync, &m)) != 0) {
			/* A signal while waiting for a tool: stop, as asked. */
			if (rc == EINTR && stopsig) {
				signal(stopsig, SIG_DFL);
				raise(stopsig);
			}
			fail_on(l, rc);
		}
		if ((src = realloc(src, (nsrc + (size_t)n) *
		    sizeof(*src))) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		for (p = 0; p < n; p++) {
			if (opt.part >= 0 && p != opt.part)
				continue;
			struct source *s = &src[nsrc++];

			memset(s, 0, sizeof(*s));
			s->t = t;
			s->m = m;
			s->part = p;
			fail_on(l, mq_reader_open(t, p, &s->r));
			fail_on(l, mq_reader_offsets(s->r, NULL, &s->end));
			if (!opt.follow)
				mq_reader_set_limit(s->r, s->end);
			if (*gp == NULL) {
				position(l, s);
				s->owned = s->want = 1;
			}
		}
	}
	free(tv);
	tv = NULL;
	*np = nsrc;
	return src;
}

/*
 * Reads up to BURST records of s, and fewer when the group is due a
 * look (an --exec command may take long).  Returns 1 if it read any, 0
 * if none, -1 when stdout went away.
 */
static int
burst(struct mq_log *l, struct source *s, struct source *src, size_t nsrc,
    int64_t looked)
{
	struct mq_record rec;
	int k, rc;

	for (k = 0; k < BURST && s->owned && !s->done && count != 0 &&
	    !stopsig && exitstatus == EXIT_OK; k++) {
		/* 1 a record, 0 the end; an errno is positive too. */
		if ((rc = mq_reader_next(s->r, &rec)) != 1 && rc != 0) {
			/* What was read before stays output. */
			if (flush_out(src, nsrc) == 0)
				commit_written(l, src, nsrc, 1);
			fail_on(l, rc);
		}
		if (rc == 0) {
			s->done = !opt.follow;
			break;
		}
		if (opt.exec != NULL) {
			if (run(s, &rec) != 0)
				return 1;
			s->outpos = s->written = rec.offset + 1;
			/*
			 * At once: a record may run twice only if we die
			 * while its command runs.  What the command wrote to
			 * a file stdout is synced first only with
			 * --sync=always; its output is its own business.
			 */
			if (outfile && opt.sync == MQ_SYNC_ALWAYS &&
			    s->m != NULL)
				sync_stdout();
			if (s->m != NULL)
				commit(l, s, 0);
		} else {
			output(s, &rec);
			s->outpos = rec.offset + 1;
		}
		seen++;
		if (count > 0)
			count--;
		if (out.len >= OUT_FLUSH) {
			if (flush_out(src, nsrc) != 0)
				return -1;
			commit_written(l, src, nsrc, 0);
		}
		if (s->m != NULL && (opt.exec != NULL || k % 256 == 255) &&
		    mono_ms() - looked >= LOOK_MS)
			return 1;
	}
	return k > 0;
}

/* Without -f: has every source this process should read reached its end? */
static int
all_done(const struct source *src, size_t nsrc)
{
	size_t i;

	for (i = 0; i < nsrc; i++)
		if (src[i].want && !(src[i].owned && src[i].done))
			return 0;
	return 1;
}

/*
 * Frees what both modes hold, and dies of the signal that stopped us,
 * if one did, as a shell expects; else returns status.
 */
static int
finish(struct mq_log *l, struct mq_group *g, int status)
{
	mq_buf_free(&out);
	free(ops);
	free(litbuf);
	exec_free();
	mq_group_close(g);
	mq_log_close(l);
	if (stopsig) {
		signal(stopsig, SIG_DFL);
		raise(stopsig);
	}
	return status;
}

/* The options --queue takes, and those it does not. */
static void
check_queue(int argc, char *argv[])
{
	int k;

	if (!opt.queue) {
		if (opt.queue_only)
			usage_error(usage_str, "-j, --dead-letter, "
			    "--lock-timeout and --max-deliveries are for "
			    "--queue");
		return;
	}
	if (opt.group == NULL)
		usage_error(usage_str, "--queue needs -g group");
	if (opt.started)
		usage_error(usage_str, "-o makes no sense with --queue: the "
		    "share group knows where it is");
	if (opt.part >= 0)
		usage_error(usage_str, "-p makes no sense with --queue: "
		    "members share every partition");
	if (opt.retries >= 0)
		usage_error(usage_str, "--retries makes no sense with "
		    "--queue: a failed command's record is delivered again");
	if (opt.jobs > 0 && opt.exec == NULL)
		usage_error(usage_str, "-j is for --exec commands");
	for (k = 0; opt.dead_letter != NULL && k < argc; k++)
		if (strcmp(argv[k], opt.dead_letter) == 0)
			usage_error(usage_str, "--dead-letter %s: the topic "
			    "consumed cannot be its own dead-letter topic",
			    opt.dead_letter);
}

static void
queue_emit(const struct mq_topic *t, int part, const struct mq_record *r)
{
	struct source s = { .t = (struct mq_topic *)t, .part = part };

	output(&s, r);
}

static int
queue_flush(void)
{
	return out_flush();
}

/* mq-consume --queue: opens what the member needs and runs it. */
static int
queue(struct mq_log *l, char **names, int n)
{
	struct queue_opts qo = { opt.group, opt.exec, opt.follow,
	    opt.verbose, opt.jobs > 0 ? (int)opt.jobs : 1, count, { 0 } };
	struct mq_topic **tv;
	struct mq_group *g;
	int k, j, nt, rc, status;

	mq_share_opts_init(&qo.share);
	qo.share.lock_ms = opt.lock_ms;
	qo.share.max_deliveries = (int)opt.max_deliveries;
	qo.share.sync = opt.sync;
	if (opt.dead_letter != NULL) {
		rc = mq_topic_open(l, opt.dead_letter, &qo.share.dead_letter);
		if (rc == MQ_ENOTOPIC)
			die(EXIT_FAIL, "dead-letter topic %s: no such topic",
			    opt.dead_letter);
		fail_on(l, rc);
	}
	/* A topic named twice is read once, as Kafka subscribes. */
	for (k = 0, nt = 0; k < n; k++) {
		for (j = 0; j < nt && strcmp(names[j], names[k]) != 0; j++)
			;
		if (j == nt)
			names[nt++] = names[k];
	}
	if ((tv = calloc((size_t)nt, sizeof(*tv))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (k = 0; k < nt; k++)
		tv[k] = open_topic(l, names[k]);
	fail_on(l, mq_group_open(l, opt.group, MQ_GROUP_CREATE, &g));
	status = queue_run(l, g, tv, nt, &qo, queue_emit, queue_flush,
	    &stopsig);
	for (k = 0; k < nt; k++)
		mq_topic_close(tv[k]);
	free(tv);
	mq_topic_close(qo.share.dead_letter);
	return finish(l, g, status);
}

int
main(int argc, char *argv[])
{
	struct mq_log *l;
	struct mq_group *g = NULL;
	struct source *src;
	struct stat st;
	const char *dir = NULL, *why;
	int64_t looked, synced;
	size_t nsrc, i;
	int ch, rc, ifd = -1, progress, gone = 0;

	prog = "mq-consume";
	argv[0] = (char *)prog;		/* for getopt's messages */
	opt.how = S_BEGINNING;
	opt.part = -1;
	opt.sync = -1;
	opt.retries = -1;
	opt.jobs = -1;
	opt.lock_ms = 30000;
	opt.max_deliveries = 5;
	opt.term = '\n';
	while ((ch = getopt_long(argc, argv, "0d:fF:g:hj:Jn:o:p:RvV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case '0':
			opt.term = '\0';
			break;
		case 'd':
			dir = optarg;
			break;
		case 'f':
			opt.follow = 1;
			break;
		case 'F':
			parse_format(optarg);
			break;
		case 'g':
			check_group(optarg);
			opt.group = optarg;
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'j':
			if (parse_int64(optarg, 1, 1024, &opt.jobs, &why))
				usage_error(usage_str, "-j %s: %s (1-1024)",
				    optarg, why);
			opt.queue_only = 1;
			break;
		case 'J':
			opt.json = 1;
			break;
		case 'n':
			if (parse_int64(optarg, 0, INT64_MAX, &count, &why))
				usage_error(usage_str, "-n %s: %s", optarg,
				    why);
			break;
		case 'o':
			parse_start(optarg, &opt.how, &opt.v);
			opt.started = 1;
			break;
		case 'p':
			if (parse_int64(optarg, 0, MQ_PARTITIONS_MAX - 1,
			    &opt.part, &why))
				usage_error(usage_str, "-p %s: %s", optarg,
				    why);
			break;
		case 'R':
			opt.raw = 1;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'V':
			print_version();
		case OPT_EXEC:
			if (*optarg == '\0')
				usage_error(usage_str, "--exec: empty command");
			opt.exec = optarg;
			break;
		case OPT_RETRIES:
			if (parse_int64(optarg, 0, INT32_MAX, &opt.retries,
			    &why))
				usage_error(usage_str, "--retries %s: %s",
				    optarg, why);
			break;
		case OPT_SYNC:
			opt.sync = parse_sync(usage_str, optarg);
			break;
		case OPT_QUEUE:
			opt.queue = 1;
			break;
		case OPT_DEADLETTER:
			check_name(optarg);
			opt.dead_letter = optarg;
			opt.queue_only = 1;
			break;
		case OPT_LOCKTIMEOUT:
			if (parse_int64(optarg, 1, 86400000, &opt.lock_ms,
			    &why))
				usage_error(usage_str, "--lock-timeout %s: %s "
				    "(1-86400000 ms)", optarg, why);
			opt.queue_only = 1;
			break;
		case OPT_MAXDELIVERIES:
			if (parse_int64(optarg, 1, 255, &opt.max_deliveries,
			    &why))
				usage_error(usage_str, "--max-deliveries %s: %s "
				    "(1-255)", optarg, why);
			opt.queue_only = 1;
			break;
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(usage_str, "no topic given");
	if (opt.json + opt.raw + (ops != NULL) > 1)
		usage_error(usage_str, "-F, -J and -R do not go together");
	if (opt.exec != NULL && (opt.json || opt.raw || ops != NULL ||
	    opt.term != '\n'))
		usage_error(usage_str, "--exec does not go with -0, -F, -J "
		    "or -R");
	if (opt.sync >= 0 && opt.group == NULL)
		usage_error(usage_str, "--sync is for group commits: it needs "
		    "-g");
	if (opt.retries > 0 && opt.exec == NULL)
		usage_error(usage_str, "--retries is for --exec commands");
	check_queue(argc, argv);
	if (opt.retries < 0)
		opt.retries = 0;
	if (opt.sync < 0)
		opt.sync = MQ_SYNC_BATCH;
	check_names(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	if (opt.group != NULL || opt.exec != NULL) {
		/* Stop between records, with what was done committed. */
		struct sigaction sa = { .sa_handler = on_signal };

		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	opt.verbose |= isatty(STDERR_FILENO);
	outfile = fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	l = open_log(dir, 0);
	mq_log_set_stop(l, &stopsig);
	if (opt.exec != NULL)
		exec_init(mq_log_path(l));
	if (opt.queue)
		return queue(l, argv, argc);
	src = open_sources(l, &g, argv, argc, &nsrc);
	if (opt.follow) {
		if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
			die(EXIT_FAIL, "inotify: %s", strerror(errno));
		for (i = 0; i < nsrc; i++)
			/* IN_ATTRIB: the link count drops when mq-delete
			 * removes the topic. */
			if (inotify_add_watch(ifd, mq_reader_watch_path(
			    src[i].r), IN_MODIFY | IN_ATTRIB) == -1)
				die(EXIT_FAIL, "%s: %s",
				    mq_reader_watch_path(src[i].r),
				    strerror(errno));
	}
	looked = synced = mono_ms();
	if (g != NULL && rebalance(l, src, nsrc) != 0)
		gone = 1;

	while (!gone && count != 0 && !stopsig && exitstatus == EXIT_OK) {
		progress = 0;
		for (i = 0; i < nsrc && count != 0 && !gone && !stopsig &&
		    exitstatus == EXIT_OK; i++) {
			if ((rc = burst(l, &src[i], src, nsrc, looked)) < 0)
				gone = 1;
			progress |= rc > 0;
		}
		if (gone || count == 0 || stopsig || exitstatus != EXIT_OK)
			break;
		if (g != NULL && mono_ms() - looked >= LOOK_MS) {
			looked = mono_ms();
			if (rebalance(l, src, nsrc) != 0)
				break;
			progress = 1;
		}
		if (g != NULL && mono_ms() - synced >= SYNC_MS) {
			synced = mono_ms();
			commit_written(l, src, nsrc, 1);
			if (opt.sync == MQ_SYNC_BATCH)
				sync_members(l, src, nsrc);
		}
		if (!opt.follow && all_done(src, nsrc))
			break;
		if (progress)
			continue;
		/*
		 * Idle: following, or waiting for a partition another member
		 * still holds.  Output is written before any wait.
		 */
		if (flush_out(src, nsrc) != 0) {
			gone = 1;
			break;
		}
		commit_written(l, src, nsrc, 0);
		if (wait_change(opt.follow ? ifd : -1, g != NULL ?
		    LOOK_MS : -1) != 0)
			gone = 1;
	}
	if (!gone && !stopsig)
		flush_out(src, nsrc);
	commit_written(l, src, nsrc, 1);
	if (opt.verbose)
		warnmsg("%lld records", (long long)seen);
	/* Each topic is closed once: its sources are consecutive. */
	for (i = 0; i < nsrc; i++) {
		mq_reader_close(src[i].r);
		if (i + 1 == nsrc || src[i + 1].t != src[i].t) {
			fail_on(l, mq_member_leave(src[i].m));
			mq_topic_close(src[i].t);
		}
	}
	free(src);
	if (ifd != -1)
		close(ifd);
	return finish(l, g, exitstatus);
}

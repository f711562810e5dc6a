/* SPDX-License-Identifier: MIT */
/*
 * mqbench - the small timing tools `make bench` (tests/bench/run.sh)
 * needs where a shell cannot time precisely enough.  Not installed.
 *
 *   mqbench fsync FILE N SIZE
 *	write() + fdatasync() of one SIZE-byte record, N times: the rate
 *	of "one fsync per record".  Prints the seconds taken.
 *   mqbench pingpong N SIZE CMD [ARG ...]
 *	Runs CMD with pipes on its stdin and stdout, and N times writes
 *	one SIZE-byte line to it and waits for one line back (the offset
 *	`mq-produce --print-offsets` prints once the record is durable):
 *	a closed-loop, line-at-a-time producer.  Prints the seconds taken.
 *   mqbench latency N GAP_US DIR TOPIC
 *	Runs `mq-consume -f -d DIR TOPIC` and `mq-produce -d DIR TOPIC`
 *	(from PATH), and N times writes one line stamped with
 *	CLOCK_MONOTONIC to the producer, reads it back from the follower
 *	and notes the time between; waits about GAP_US between records so
 *	the follower is asleep when each arrives.  Prints p50, p99 and the
 *	largest latency in microseconds.
 *   mqbench lookup DIR TOPIC K offset|time
 *	K lookups in partition 0 of TOPIC through liblog, each a fresh
 *	reader: open, seek to an offset (mq_reader_seek) or to a time
 *	(mq_reader_seek_time), read the record there, close, as
 *	`mq-consume -o N|@TIME -n 1` does after its start-up.  The targets
 *	are spread over the whole partition (a fixed pseudo-random
 *	sequence); each result is checked.  Prints the median and p90 of
 *	one lookup in microseconds.
 *   mqbench rss FILE CMD [ARG ...]
 *	Runs CMD (stdin and stdout inherited) and writes its peak resident
 *	set size in KiB (getrusage via wait4) to FILE.  Exits 1 if CMD
 *	failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mq.h"

static void
die(const char *fmt, ...)
{
	va_list ap;

	fputs("mqbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long long
num(const char *s, long long min)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min)
		die("'%s': expected an integer >= %lld", s, min);
	return v;
}

static void
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		n = write(fd, c, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die("write: %s", strerror(errno));
		c += n;
		len -= (size_t)n;
	}
}

/* A line reader over a pipe. */
struct lines {
	int	fd;
	char	buf[1 << 16];
	size_t	len, off;
};

/* The next line, without its '\n' (NUL-terminated), or NULL at EOF. */
static char *
next_line(struct lines *in)
{
	char *nl, *line;
	ssize_t n;

	for (;;) {
		nl = memchr(in->buf + in->off, '\n', in->len - in->off);
		if (nl != NULL) {
			*nl = '\0';
			line = in->buf + in->off;
			in->off = (size_t)(nl - in->buf) + 1;
			return line;
		}
		memmove(in->buf, in->buf + in->off, in->len - in->off);
		in->len -= in->off;
		in->off = 0;
		if (in->len == sizeof(in->buf) - 1)
			die("line too long");
		n = read(in->fd, in->buf + in->len, sizeof(in->buf) - 1 -
		    in->len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			die("read: %s", strerror(errno));
		if (n == 0)
			return NULL;
		in->len += (size_t)n;
	}
}

/*
 * Starts argv with a pipe to its stdin (*to, unless to is NULL) and one
 * from its stdout (*from, unless NULL).
 */
static pid_t
spawn(char *const argv[], int *to, int *from)
{
	int in[2], out[2];
	pid_t pid;

	if ((to != NULL && pipe2(in, O_CLOEXEC) == -1) ||
	    (from != NULL && pipe2(out, O_CLOEXEC) == -1))
		die("pipe: %s", strerror(errno));
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((to != NULL && dup2(in[0], STDIN_FILENO) == -1) ||
		    (from != NULL && dup2(out[1], STDOUT_FILENO) == -1))
			_exit(127);
		execvp(argv[0], argv);
		fprintf(stderr, "mqbench: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (to != NULL) {
		close(in[0]);
		*to = in[1];
	}
	if (from != NULL) {
		close(out[1]);
		*from = out[0];
	}
	return pid;
}

static void
reap(pid_t pid, const char *what)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s failed (status %#x)", what, status);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (0..1) of n sorted values, nearest rank. */
static int64_t
quantile(const int64_t *v, size_t n, double q)
{
	size_t i = (size_t)(q * (double)n + 0.999999);

	if (i == 0)
		i = 1;
	return v[(i > n ? n : i) - 1];
}

static int
cmd_fsync(int argc, char **argv)
{
	long long n, size, i;
	int64_t t0;
	char *rec;
	int fd;

	if (argc != 3)
		die("usage: mqbench fsync FILE N SIZE");
	n = num(argv[1], 1);
	size = num(argv[2], 1);
	if ((rec = malloc((size_t)size)) == NULL)
		die("%s", strerror(ENOMEM));
	memset(rec, 'x', (size_t)size);
	rec[size - 1] = '\n';
	if ((fd = open(argv[0], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND |
	    O_CLOEXEC, 0644)) == -1)
		die("%s: %s", argv[0], strerror(errno));
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		write_all(fd, rec, (size_t)size);
		if (fdatasync(fd) == -1)
			die("fdatasync: %s", strerror(errno));
	}
	printf("%.6f\n", (double)(now_ns() - t0) / 1e9);
	close(fd);
	free(rec);
	return 0;
}

static int
cmd_pingpong(int argc, char **argv)
{
	struct lines in = { 0 };
	long long n, size, i;
	int64_t t0;
	char *rec;
	pid_t pid;
	int to;

	if (argc < 3)
		die("usage: mqbench pingpong N SIZE CMD [ARG ...]");
	n = num(argv[0], 1);
	size = num(argv[1], 2);
	if ((rec = malloc((size_t)size)) == NULL)
		die("%s", strerror(ENOMEM));
	memset(rec, 'p', (size_t)size);
	rec[size - 1] = '\n';
	signal(SIGPIPE, SIG_IGN);
	pid = spawn(argv + 2, &to, &in.fd);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		write_all(to, rec, (size_t)size);
		if (next_line(&in) == NULL)
			die("%s ended after %lld of %lld records", argv[2], i,
			    n);
	}
	printf("%.6f\n", (double)(now_ns() - t0) / 1e9);
	close(to);
	reap(pid, argv[2]);
	close(in.fd);
	free(rec);
	return 0;
}

static int
cmd_latency(int argc, char **argv)
{
	struct lines in = { 0 };
	char rec[101], *line, *dir, *topic;
	long long n, gap, i;
	int64_t *lat, sent, got;
	pid_t prod, cons;
	int to, len;

	if (argc != 4)
		die("usage: mqbench latency N GAP_US DIR TOPIC");
	n = num(argv[0], 1);
	gap = num(argv[1], 0);
	dir = argv[2];
	topic = argv[3];
	char *pargv[] = { "mq-produce", "-d", dir, topic, NULL };
	char *cargv[] = { "mq-consume", "-f", "-d", dir, topic, NULL };

	if ((lat = calloc((size_t)n, sizeof(*lat))) == NULL)
		die("%s", strerror(ENOMEM));
	signal(SIGPIPE, SIG_IGN);
	cons = spawn(cargv, NULL, &in.fd);
	prod = spawn(pargv, &to, NULL);
	srand(1);
	/* i = -1: a warm-up record, not counted, that also shows both
	 * commands are up. */
	for (i = -1; i < n; i++) {
		sent = now_ns();
		/* 100-byte lines: "L <seq> <ns> " padded with '.'. */
		len = snprintf(rec, sizeof(rec), "L %lld %lld ", i,
		    (long long)sent);
		memset(rec + len, '.', sizeof(rec) - 1 - (size_t)len);
		rec[99] = '\n';
		write_all(to, rec, 100);
		if ((line = next_line(&in)) == NULL)
			die("mq-consume -f ended");
		got = now_ns();
		long long seq, stamp;

		if (sscanf(line, "L %lld %lld ", &seq, &stamp) != 2 ||
		    seq != i || stamp != sent)
			die("record %lld: the follower wrote '%.40s'", i,
			    line);
		if (i >= 0)
			lat[i] = got - sent;
		if (gap > 0) {
			/* gap/2 .. 3gap/2, so records do not arrive in step
			 * with anything periodic. */
			long long us = gap / 2 + rand() % (gap + 1);
			struct timespec ts = { us / 1000000, us % 1000000 *
			    1000 };

			nanosleep(&ts, NULL);
		}
	}
	close(to);
	reap(prod, "mq-produce");
	kill(cons, SIGTERM);
	waitpid(cons, NULL, 0);
	close(in.fd);
	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("%.1f %.1f %.1f\n", (double)quantile(lat, (size_t)n, 0.5) /
	    1e3, (double)quantile(lat, (size_t)n, 0.99) / 1e3,
	    (double)lat[n - 1] / 1e3);
	free(lat);
	return 0;
}

static void
lib_fail(struct mq_log *l, int rc, const char *what)
{
	die("%s: %s (%s)", what, mq_strerror(rc), l != NULL ?
	    mq_log_errdetail(l) : "");
}

static int
cmd_lookup(int argc, char **argv)
{
	struct mq_log *l;
	struct mq_topic *t;
	struct mq_reader *r;
	struct mq_record rec;
	int64_t start, end, *target, *ts, *took, t0;
	long long k, i;
	uint64_t x = 88172645463325252ull;
	int rc, bytime;

	if (argc != 4 || (strcmp(argv[3], "offset") != 0 &&
	    strcmp(argv[3], "time") != 0))
		die("usage: mqbench lookup DIR TOPIC K offset|time");
	k = num(argv[2], 1);
	bytime = strcmp(argv[3], "time") == 0;
	if ((rc = mq_log_open(&l, argv[0], 0)) != 0)
		lib_fail(l, rc, argv[0]);
	if ((rc = mq_topic_open(l, argv[1], &t)) != 0)
		lib_fail(l, rc, argv[1]);
	if ((rc = mq_reader_open(t, 0, &r)) != 0 ||
	    (rc = mq_reader_offsets(r, &start, &end)) != 0)
		lib_fail(l, rc, "open");
	if (end - start < 1)
		die("%s: empty", argv[1]);
	target = calloc((size_t)k, sizeof(*target));
	ts = calloc((size_t)k, sizeof(*ts));
	took = calloc((size_t)k, sizeof(*took));
	if (target == NULL || ts == NULL || took == NULL)
		die("%s", strerror(ENOMEM));
	/* The targets (xorshift64) and, untimed, the time of each. */
	for (i = 0; i < k; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		target[i] = start + (int64_t)(x % (uint64_t)(end - start));
		if (bytime) {
			if ((rc = mq_reader_seek(r, target[i])) != 0 ||
			    (rc = mq_reader_next(r, &rec)) != 1)
				lib_fail(l, rc, "read");
			ts[i] = rec.timestamp;
		}
	}
	mq_reader_close(r);
	for (i = 0; i < k; i++) {
		t0 = now_ns();
		if ((rc = mq_reader_open(t, 0, &r)) != 0)
			lib_fail(l, rc, "open");
		rc = bytime ? mq_reader_seek_time(r, ts[i]) :
		    mq_reader_seek(r, target[i]);
		if (rc != 0 || (rc = mq_reader_next(r, &rec)) != 1)
			lib_fail(l, rc, "lookup");
		mq_reader_close(r);
		took[i] = now_ns() - t0;
		/* Offsets: exactly there.  Times: the first record at or
		 * after ts, which is at most the record ts came from. */
		if (bytime ? rec.timestamp < ts[i] || rec.offset > target[i] :
		    rec.offset != target[i])
			die("lookup of %s %lld found offset %lld (time %lld)",
			    argv[3], (long long)(bytime ? ts[i] : target[i]),
			    (long long)rec.offset, (long long)rec.timestamp);
	}
	qsort(took, (size_t)k, sizeof(*took), cmp_i64);
	printf("%.1f %.1f\n", (double)quantile(took, (size_t)k, 0.5) / 1e3,
	    (double)quantile(took, (size_t)k, 0.9) / 1e3);
	free(target);
	free(ts);
	free(took);
	mq_topic_close(t);
	mq_log_close(l);
	return 0;
}

static int
cmd_rss(int argc, char **argv)
{
	struct rusage ru;
	FILE *f;
	pid_t pid;
	int status;

	if (argc < 2)
		die("usage: mqbench rss FILE CMD [ARG ...]");
	if ((pid = fork()) == -1)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		fprintf(stderr, "mqbench: %s: %s\n", argv[1], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) == -1)
		if (errno != EINTR)
			die("wait4: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("%s failed (status %#x)", argv[1], status);
	if ((f = fopen(argv[0], "w")) == NULL ||
	    fprintf(f, "%ld\n", ru.ru_maxrss) < 0 || fclose(f) == EOF)
		die("%s: %s", argv[0], strerror(errno));
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {
		{ "fsync", cmd_fsync },
		{ "pingpong", cmd_pingpong },
		{ "latency", cmd_latency },
		{ "lookup", cmd_lookup },
		{ "rss", cmd_rss },
	};
	size_t i;

	if (argc >= 2)
		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (strcmp(argv[1], cmds[i].name) == 0)
				return cmds[i].fn(argc - 2, argv + 2);
	die("usage: mqbench fsync|pingpong|latency|lookup|rss ...");
	return 1;
}

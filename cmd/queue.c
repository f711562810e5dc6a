/* SPDX-License-Identifier: MIT */
/*
 * queue.c - mq-consume --queue: a member of a share group
 * (liblog/share.c), taking records one by one.
 *
 * Without --exec, records are accepted as they are taken, then written
 * to stdout: at-most-once, and a take is one state write for a whole
 * chunk.  With --exec, each record is acquired for its command and
 * acknowledged by its exit: 0 accepts, 100 rejects, anything else
 * releases it for another delivery; up to -j commands run at once and a
 * member acquires only as many records as it has free places.
 *
 * The loop waits in ppoll(2) with SIGCHLD, SIGINT and SIGTERM blocked
 * outside it, so an exit or a signal is never lost between a look and
 * the wait.  A signal stops the taking; the commands running get SIGTERM
 * and their exits still count.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "exec.h"
#include "queue.h"

#define CHUNK		4096	/* records taken at once for stdout */
#define LOOK_MS		200	/* how often to look for a dead member's
				   records while others hold some */
#define SYNC_MS		1000	/* --sync=batch: state fsync'd this often */

struct job {
	pid_t	pid;
	int	share;			/* index into shares */
	struct mq_delivery d;		/* rec's pointers are not kept */
};

static struct mq_share **shares;
static struct mq_topic **topics;
static int nshares, turn;
static struct job *jobs;
static int running;
static int64_t accepted, released, rejected, lost, taken;

static void
on_chld(int sig)
{
	(void)sig;
}

/*
 * Takes up to max records from the topics, the next topic first each
 * time: *which gets the share they came from.  *wait gets the shortest
 * time until another member's lock runs out (-1: none).
 */
static size_t
take(struct mq_log *l, size_t max, int flags, struct mq_delivery **d,
    int *which, int64_t *wait)
{
	int64_t w;
	size_t n;
	int k, i, rc;

	*wait = -1;
	for (k = 0; k < nshares; k++) {
		i = (turn + k) % nshares;
		rc = mq_share_acquire(shares[i], max, flags, d, &n, &w);
		if (w >= 0 && (*wait < 0 || w < *wait))
			*wait = w;
		/* Records taken before an error are the caller's; die next. */
		if (rc != 0 && n == 0)
			fail_on(l, rc);
		if (n > 0) {
			turn = (i + 1) % nshares;
			*which = i;
			return n;
		}
	}
	return 0;
}

/*
 * Waits for inotify (ifd, -1 for none), a child's exit or a signal, at
 * most timeout ms (-1: no limit).  The blocked signals are let in here
 * only.
 */
static void
wait_event(int ifd, int timeout)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct
	    inotify_event))));
	struct pollfd p = { .fd = ifd, .events = POLLIN };
	struct timespec ts, *tp = NULL;
	sigset_t none;

	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000;
		tp = &ts;
	}
	sigemptyset(&none);
	if (ppoll(&p, ifd != -1, tp, &none) == -1 && errno != EINTR)
		die(EXIT_FAIL, "ppoll: %s", strerror(errno));
	while (ifd != -1 && read(ifd, buf, sizeof(buf)) > 0)
		;
}

static int
watch_all(struct mq_log *l)
{
	struct mq_reader *r;
	int ifd, i, p;

	if ((ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		die(EXIT_FAIL, "inotify: %s", strerror(errno));
	for (i = 0; i < nshares; i++)
		for (p = 0; p < mq_topic_partitions(topics[i]); p++) {
			fail_on(l, mq_reader_open(topics[i], p, &r));
			if (inotify_add_watch(ifd, mq_reader_watch_path(r),
			    IN_MODIFY | IN_ATTRIB) == -1)
				die(EXIT_FAIL, "%s: %s",
				    mq_reader_watch_path(r), strerror(errno));
			mq_reader_close(r);
		}
	return ifd;
}

/*
 * Lets in a SIGINT or SIGTERM that came while the member was busy: one
 * that always finds records to take would otherwise never wait, and
 * never see it.
 */
static void
let_signals_in(void)
{
	wait_event(-1, 0);
}

/* How long to wait when nothing was taken. */
static int
idle_timeout(int64_t wait)
{
	if (wait < 0)
		return -1;
	return wait < LOOK_MS ? (int)wait : LOOK_MS;
}

/* ------------------------------------------------------------------ */
/* --exec                                                               */

static void
describe(char *buf, size_t size, int status)
{
	if (WIFEXITED(status))
		snprintf(buf, size, "exit %d", WEXITSTATUS(status));
	else
		snprintf(buf, size, "signal %d", WTERMSIG(status));
}

/* Acknowledges job j by its command's exit status. */
static void
finish_job(struct mq_log *l, const struct queue_opts *o, struct job *j,
    int status)
{
	struct mq_share *s = shares[j->share];
	const char *topic = mq_topic_name(topics[j->share]);
	enum mq_ack how = MQ_ACK_RELEASE;
	char what[32];
	int rc;

	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		how = MQ_ACK_ACCEPT;
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 100)
		how = MQ_ACK_REJECT;
	describe(what, sizeof(what), status);
	rc = mq_share_ack(s, &j->d, how);
	if (rc == MQ_ELOCKLOST) {
		warnmsg("%s-%d offset %lld: lock timed out; %s not counted",
		    topic, j->d.part, (long long)j->d.rec.offset, what);
		lost++;
		return;
	}
	fail_on(l, rc);
	if (how == MQ_ACK_ACCEPT)
		accepted++;
	else if (how == MQ_ACK_REJECT)
		rejected++;
	else
		released++;
	if (o->verbose && how != MQ_ACK_ACCEPT)
		warnmsg("%s-%d offset %lld: command %s: %s (delivery %d of "
		    "%d)", topic, j->d.part, (long long)j->d.rec.offset, what,
		    how == MQ_ACK_REJECT ? "rejected, archived" :
		    j->d.delivery >= o->share.max_deliveries ?
		    "released after its last delivery, archived" : "released",
		    j->d.delivery, o->share.max_deliveries);
}

/* Acknowledges every command that has exited. */
static void
reap(struct mq_log *l, const struct queue_opts *o)
{
	pid_t pid;
	int status, k;

	while (running > 0 && (pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (k = 0; k < running && jobs[k].pid != pid; k++)
			;
		if (k == running)
			continue;
		finish_job(l, o, &jobs[k], status);
		jobs[k] = jobs[--running];
	}
}

/*
 * The time until the first lock of a running command runs out, in ms
 * (-1: none): its record is available again then, to this member too.
 */
static int64_t
own_wait(void)
{
	int64_t now = mq_now_ms(), w = -1;
	int k;

	for (k = 0; k < running; k++)
		if (jobs[k].d.deadline > now && (w < 0 ||
		    jobs[k].d.deadline - now < w))
			w = jobs[k].d.deadline - now;
	return w;
}

static void
start_job(const struct queue_opts *o, int which, const struct mq_delivery *d)
{
	struct exec_ctx ctx = { o->exec, o->group,
	    mq_topic_name(topics[which]), d->part, d->delivery };
	struct job *j = &jobs[running];
	int rc;

	if ((rc = exec_start(&ctx, &d->rec, &j->pid)) != 0)
		die(EXIT_FAIL, "--exec: /bin/sh: %s", strerror(rc));
	j->share = which;
	j->d = *d;
	j->d.rec.key = j->d.rec.value = NULL;
	j->d.rec.hdrbuf = NULL;
	running++;
}

static void
run_exec(struct mq_log *l, const struct queue_opts *o, int ifd,
    volatile sig_atomic_t *stop)
{
	struct mq_delivery *d;
	int64_t count = o->count, wait = -1, synced = mono_ms(), own;
	size_t n, i, max;
	int which, k, signalled = 0, timeout;

	if ((jobs = calloc((size_t)o->jobs, sizeof(*jobs))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (;;) {
		reap(l, o);
		n = 0;
		if (!*stop && count != 0 && running < o->jobs) {
			max = (size_t)(o->jobs - running);
			if (count > 0 && (int64_t)max > count)
				max = (size_t)count;
			n = take(l, max, 0, &d, &which, &wait);
			for (i = 0; i < n; i++)
				start_job(o, which, &d[i]);
			taken += (int64_t)n;
			if (count > 0)
				count -= (int64_t)n;
		}
		if (o->share.sync == MQ_SYNC_BATCH &&
		    mono_ms() - synced >= SYNC_MS) {
			for (k = 0; k < nshares; k++)
				fail_on(l, mq_share_sync(shares[k]));
			synced = mono_ms();
		}
		if (n > 0) {
			let_signals_in();
			continue;
		}
		if (running == 0 && (*stop || count == 0 || !o->follow))
			break;
		if (*stop && !signalled) {
			/* Their exits still count: a kill releases. */
			for (k = 0; k < running; k++)
				kill(jobs[k].pid, SIGTERM);
			signalled = 1;
		}
		/*
		 * Free places and following: new records wake us too, and
		 * the lock of a command of ours running out.
		 */
		if (running < o->jobs && o->follow && !*stop && count != 0) {
			timeout = idle_timeout(wait);
			own = own_wait();
			if (own >= 0 && (timeout < 0 || own < timeout))
				timeout = (int)own;
			wait_event(ifd, timeout);
		} else
			wait_event(-1, -1);
	}
	free(jobs);
}

/* ------------------------------------------------------------------ */
/* stdout                                                               */

static void
run_stdout(struct mq_log *l, const struct queue_opts *o, int ifd,
    queue_emit_fn *emit, queue_flush_fn *flush, volatile sig_atomic_t *stop)
{
	struct mq_delivery *d;
	int64_t count = o->count, wait;
	size_t n, i, max;
	int which;

	while (!*stop && count != 0) {
		max = CHUNK;
		if (count > 0 && (int64_t)max > count)
			max = (size_t)count;
		n = take(l, max, MQ_SHARE_ACCEPT, &d, &which, &wait);
		for (i = 0; i < n; i++)
			emit(topics[which], d[i].part, &d[i].rec);
		taken += (int64_t)n;
		if (count > 0)
			count -= (int64_t)n;
		/* Accepted already: written even when a signal came. */
		if (flush() != 0)
			break;
		if (n > 0) {
			let_signals_in();
			continue;
		}
		if (!o->follow)
			break;
		wait_event(ifd, idle_timeout(wait));
	}
}

int
queue_run(struct mq_log *l, struct mq_group *g, struct mq_topic **t,
    int nt, const struct queue_opts *o, queue_emit_fn *emit,
    queue_flush_fn *flush, volatile sig_atomic_t *stop)
{
	struct sigaction sa = { .sa_handler = on_chld };
	sigset_t block, old;
	int i, rc, ifd = -1;

	topics = t;
	nshares = nt;
	if ((shares = calloc((size_t)nt, sizeof(*shares))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (i = 0; i < nt; i++)
		if ((rc = mq_share_join(g, t[i], &o->share, &shares[i])) != 0) {
			/* A signal while waiting for a tool: stop, as asked. */
			if (rc == EINTR && *stop)
				return EXIT_OK;
			fail_on(l, rc);
		}
	if (o->follow)
		ifd = watch_all(l);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (o->exec != NULL)
		run_exec(l, o, ifd, stop);
	else
		run_stdout(l, o, ifd, emit, flush, stop);
	sigprocmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < nt; i++)
		fail_on(l, mq_share_leave(shares[i]));
	free(shares);
	if (ifd != -1)
		close(ifd);
	if (o->verbose && o->exec != NULL)
		warnmsg("%lld records: %lld accepted, %lld released, %lld "
		    "rejected, %lld timed out", (long long)taken,
		    (long long)accepted, (long long)released,
		    (long long)rejected, (long long)lost);
	else if (o->verbose)
		warnmsg("%lld records", (long long)taken);
	return EXIT_OK;
}

/* SPDX-License-Identifier: MIT */
/*
 * exec.c - running a command per record for mq-consume --exec.
 *
 * The command is /bin/sh -c CMD, so a user writes it as in a shell.  The
 * value goes to its stdin through a pipe; the rest of the record goes in
 * the environment (docs/mq-consume.1 lists the variables).  Environment
 * strings cannot hold NUL, so a key or header value is cut at its first
 * NUL byte there; the value on stdin is always whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "exec.h"

/* The most of a value put into the pipe before its command starts: the
 * pipe's buffer is kernel memory the command holds until it reads. */
#define PREFILL_MAX	(1024 * 1024)

extern char **environ;

static char *logdir;		/* absolute: the command may cd */
static char **base;		/* the inherited environment, minus ours */
static size_t nbase;
static struct mq_buf vars;	/* this record's NAME=value strings */
static char **envp;
static size_t envcap;

/* Variables a record sets, or unsets when it has no such field. */
static int
ours(const char *e)
{
	static const char *const names[] = { "MQ_TOPIC=", "MQ_PARTITION=",
	    "MQ_OFFSET=", "MQ_TIMESTAMP=", "MQ_KEY=", "MQ_GROUP=",
	    "MQ_DIR=", "MQ_DELIVERY=", "MQ_HEADER_" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(e, names[i], strlen(names[i])) == 0)
			return 1;
	return 0;
}

void
exec_init(const char *dir)
{
	size_t n = 0, i;

	if ((logdir = realpath(dir, NULL)) == NULL &&
	    (logdir = strdup(dir)) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	while (environ[n] != NULL)
		n++;
	if ((base = calloc(n + 1, sizeof(*base))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (i = 0; i < n; i++)
		if (!ours(environ[i]))
			base[nbase++] = environ[i];
}

void
exec_free(void)
{
	free(logdir);
	free(base);
	free(envp);
	mq_buf_free(&vars);
	logdir = NULL;
	base = envp = NULL;
	nbase = envcap = 0;
}

static void
put(const void *p, size_t n)
{
	if (mq_buf_add(&vars, p, n) != 0)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
}

/* NAME=value\0, value cut at its first NUL. */
static void
var(const char *name, const void *value, size_t len)
{
	const char *nul = memchr(value, '\0', len);

	put(name, strlen(name));
	put("=", 1);
	put(value, nul != NULL ? (size_t)(nul - (const char *)value) : len);
	put("", 1);
}

static void
var_num(const char *name, long long v)
{
	char b[24];

	var(name, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

/* MQ_HEADER_<key>, the key's bytes outside [A-Za-z0-9_] as '_'. */
static void
var_header(const struct mq_header *h)
{
	const unsigned char *k = h->key;
	size_t i;

	put("MQ_HEADER_", 10);
	for (i = 0; i < h->keylen; i++) {
		char c = (char)k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			c = '_';
		put(&c, 1);
	}
	put("=", 1);
	if (h->vallen > 0) {
		const char *nul = memchr(h->value, '\0', (size_t)h->vallen);

		put(h->value, nul != NULL ? (size_t)(nul - (const char *)
		    h->value) : (size_t)h->vallen);
	}
	put("", 1);
}

static void
build_env(const struct exec_ctx *ctx, const struct mq_record *r)
{
	struct mq_header h;
	size_t i, n, off;

	vars.len = 0;
	var("MQ_TOPIC", ctx->topic, strlen(ctx->topic));
	var_num("MQ_PARTITION", ctx->part);
	var_num("MQ_OFFSET", r->offset);
	var_num("MQ_TIMESTAMP", r->timestamp);
	var("MQ_DIR", logdir, strlen(logdir));
	if (ctx->group != NULL)
		var("MQ_GROUP", ctx->group, strlen(ctx->group));
	if (ctx->delivery > 0)
		var_num("MQ_DELIVERY", ctx->delivery);
	if (r->keylen >= 0)
		var("MQ_KEY", r->key, (size_t)r->keylen);
	for (i = 0; i < r->nheaders; i++) {
		if (mq_record_header(r, i, &h) != 0)
			die(EXIT_DATA, "%s-%d offset %lld: bad header",
			    ctx->topic, ctx->part, (long long)r->offset);
		var_header(&h);
	}
	/* Pointers last: vars may have moved while it grew. */
	for (n = 0, off = 0; off < vars.len; off += strlen(vars.p + off) + 1)
		n++;
	if (nbase + n + 1 > envcap) {
		envcap = nbase + n + 1;
		if ((envp = realloc(envp, envcap * sizeof(*envp))) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
	}
	memcpy(envp, base, nbase * sizeof(*envp));
	for (n = nbase, off = 0; off < vars.len; off += strlen(vars.p +
	    off) + 1)
		envp[n++] = vars.p + off;
	envp[n] = NULL;
}

int
exec_start(const struct exec_ctx *ctx, const struct mq_record *r,
    pid_t *pidp)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t dfl, none;
	char *argv[] = { "sh", "-c", (char *)ctx->cmd, NULL };
	const char *p = r->value;
	size_t left = r->vallen > 0 ? (size_t)r->vallen : 0;
	ssize_t n;
	pid_t pid;
	int pfd[2], rc;

	build_env(ctx, r);
	if (pipe2(pfd, O_CLOEXEC) == -1)
		return errno;
	/*
	 * The value goes into the pipe before the command starts when the
	 * pipe can hold it, so that a kill -9 of ours leaves no command, or
	 * one with its whole value: never one reading part of it as if it
	 * were all.  A bigger value is written as the command reads it.
	 */
	if (left > 0 && fcntl(pfd[1], F_GETPIPE_SZ) < (long)left &&
	    left <= PREFILL_MAX)
		(void)fcntl(pfd[1], F_SETPIPE_SZ, (int)left);
	if (left > 0 && fcntl(pfd[1], F_GETPIPE_SZ) >= (long)left)
		while (left > 0) {
			if ((n = write(pfd[1], p, left)) == -1) {
				if (errno == EINTR)
					continue;
				rc = errno;
				close(pfd[0]);
				close(pfd[1]);
				return rc;
			}
			p += n;
			left -= (size_t)n;
		}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], STDIN_FILENO);
	/*
	 * We ignore SIGPIPE and may block signals we wait for; the command
	 * must inherit neither.
	 */
	posix_spawnattr_init(&attr);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGTERM);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETSIGMASK);
	rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pfd[0]);
	if (rc != 0) {
		close(pfd[1]);
		return rc;
	}
	/* A command that does not read its stdin gets EPIPE'd: fine. */
	while (left > 0) {
		if ((n = write(pfd[1], p, left)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		p += n;
		left -= (size_t)n;
	}
	close(pfd[1]);
	*pidp = pid;
	return 0;
}

int
exec_record(const struct exec_ctx *ctx, const struct mq_record *r,
    int *status)
{
	pid_t pid;
	int rc;

	if ((rc = exec_start(ctx, r, &pid)) != 0)
		return rc;
	while (waitpid(pid, status, 0) == -1)
		if (errno != EINTR)
			return errno;
	return 0;
}

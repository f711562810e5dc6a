/* SPDX-License-Identifier: MIT */
/*
 * exec.h - running a command per record (mq-consume --exec).
 */
#ifndef MQ_EXEC_H
#define MQ_EXEC_H

#include <sys/types.h>

#include "mq.h"

/* What a command learns about its record besides the value. */
struct exec_ctx {
	const char *cmd;		/* run with /bin/sh -c */
	const char *group;		/* NULL without -g */
	const char *topic;
	int	part;
	int	delivery;		/* MQ_DELIVERY with --queue; else 0 */
};

/*
 * Takes the environment the commands start from, and the log directory
 * they get as MQ_DIR; call once.
 */
void exec_init(const char *dir);

/*
 * Runs ctx->cmd with r's value on its stdin and the record in MQ_*
 * variables, and waits for it.  Returns 0 with *status set as by
 * waitpid(2), or errno when it could not be started.
 */
int exec_record(const struct exec_ctx *ctx, const struct mq_record *r,
    int *status);

/*
 * Starts ctx->cmd as exec_record() does, without waiting: *pid gets its
 * process id.  Returns 0 or errno.
 */
int exec_start(const struct exec_ctx *ctx, const struct mq_record *r,
    pid_t *pid);

/* Frees what exec_init and exec_record keep. */
void exec_free(void);

#endif

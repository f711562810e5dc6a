/* SPDX-License-Identifier: MIT */
/*
 * exec.h - running a command per record (mq-consume --exec).
 */
#ifndef MQ_EXEC_H
#define MQ_EXEC_H

#include "mq.h"

/* What a command learns about its record besides the value. */
struct exec_ctx {
	const char *cmd;		/* run with /bin/sh -c */
	const char *group;		/* NULL without -g */
	const char *topic;
	int	part;
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

/* Frees what exec_init and exec_record keep. */
void exec_free(void);

#endif

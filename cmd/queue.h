/* SPDX-License-Identifier: MIT */
/*
 * queue.h - mq-consume --queue: a member of a share group.
 */
#ifndef MQ_QUEUE_H
#define MQ_QUEUE_H

#include <signal.h>

#include "mq.h"

struct queue_opts {
	const char *group;
	const char *exec;		/* NULL: records go to stdout */
	int	follow, verbose;
	int	jobs;			/* commands at once, with exec */
	int64_t	count;			/* -n: records to take; -1 all */
	struct mq_share_opts share;
};

/* Formats a record into the caller's output buffer. */
typedef void queue_emit_fn(const struct mq_topic *t, int part,
    const struct mq_record *r);

/* Writes the output buffer out: 0, or -1 when the reader went away. */
typedef int queue_flush_fn(void);

/*
 * Runs the member until the end (without follow), -n records, or a
 * signal sets *stop; topics t[0..nt) are open, g the group.  Returns the
 * exit status; dies on errors.
 */
int queue_run(struct mq_log *l, struct mq_group *g, struct mq_topic **t,
    int nt, const struct queue_opts *o, queue_emit_fn *emit,
    queue_flush_fn *flush, volatile sig_atomic_t *stop);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * refuse.c - for tests/t9600-faults.bats: appends one record a call
 * through one appender and, with --sync=always, one member commit after
 * each, going on after failures, as a long-lived library user would.
 * Prints "append N ok|fail" and "commit N ok|fail" per call, so the test
 * can see that once a sync failed nothing succeeds again.
 *
 *   refuse DIR TOPIC GROUP COUNT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mq.h"

int
main(int argc, char *argv[])
{
	struct mq_log *l;
	struct mq_topic *t;
	struct mq_group *g;
	struct mq_appender *a;
	struct mq_member *m;
	struct mq_batch b, *bp = &b;
	struct mq_record r = { .timestamp = 1, .keylen = -1 };
	int64_t first, committed, moved;
	int i, n, rc;

	if (argc != 5)
		return 2;
	n = atoi(argv[4]);
	if (mq_log_open(&l, argv[1], 0) != 0 ||
	    mq_topic_open(l, argv[2], &t) != 0 ||
	    mq_group_open(l, argv[3], MQ_GROUP_CREATE, &g) != 0 ||
	    mq_appender_open(t, 0, MQ_SYNC_ALWAYS, &a) != 0 ||
	    mq_member_join(g, t, MQ_SYNC_ALWAYS, &m) != 0 ||
	    mq_member_acquire(m, 0, &committed) != 0)
		return 1;
	mq_batch_init(&b, 1 << 20);
	for (i = 1; i <= n; i++) {
		r.value = "x";
		r.vallen = 1;
		mq_batch_reset(&b);
		if (mq_batch_add(&b, &r) != 0)
			return 1;
		mq_batch_finish(&b, 0);
		rc = mq_append(a, &bp, 1, &first);
		printf("append %d %s\n", i, rc == 0 ? "ok" : "fail");
		rc = mq_member_commit(m, 0, i, &moved);
		printf("commit %d %s\n", i, rc == 0 ? "ok" : "fail");
	}
	rc = mq_appender_sync(a);
	printf("sync %s\n", rc == 0 ? "ok" : "fail");
	rc = mq_member_leave(m);
	printf("leave %s\n", rc == 0 ? "ok" : "fail");
	mq_batch_free(&b);
	mq_appender_close(a);
	mq_group_close(g);
	mq_topic_close(t);
	mq_log_close(l);
	return 0;
}

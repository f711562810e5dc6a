/* SPDX-License-Identifier: MIT */
/*
 * mq-clean - retention, delete-records and compaction, for cron: what a
 * Kafka broker's log cleaner and retention threads do, and
 * kafka-delete-records.sh.
 *
 * Quiet unless it did something (or -v): a line per partition it
 * changed, on stdout, so cron mails only news.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq-clean [-nv] [-d dir] [--before offset|end] "
    "[topic[:partition] ...]\n";

static const struct option longopts[] = {
	{ "before",		required_argument,	NULL, 'b' },
	{ "dir",		required_argument,	NULL, 'd' },
	{ "dry-run",		no_argument,		NULL, 'n' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

static int dry_run, verbose;
static int *parts;		/* each operand's partition, -1 for all */

static const char *
reasons(int r)
{
	switch (r) {
	case MQ_CLEAN_BY_TIME:
		return "retention.ms";
	case MQ_CLEAN_BY_SIZE:
		return "retention.bytes";
	case MQ_CLEAN_BY_TIME | MQ_CLEAN_BY_SIZE:
		return "retention.ms and retention.bytes";
	default:
		return "--before";
	}
}

/* One line for what was done to a partition, or nothing. */
static void
report(const char *topic, int part, const struct mq_clean_result *r)
{
	const char *sep = "";

	if (r->recovered == NULL && r->deleted == 0 && r->compacted == 0 &&
	    r->new_start == r->old_start) {
		if (verbose)
			printf("%s-%d: nothing to do\n", topic, part);
		return;
	}
	printf("%s-%d: ", topic, part);
	if (r->recovered != NULL) {
		printf("%s a compaction cut short", r->recovered);
		sep = "; ";
	}
	if (r->deleted > 0) {
		printf("%s%s %zu segment%s, %lld bytes (%s)", sep, dry_run ?
		    "would delete" : "deleted", r->deleted, r->deleted == 1 ?
		    "" : "s", (long long)r->deleted_bytes,
		    reasons(r->reasons));
		sep = "; ";
	}
	if (r->new_start != r->old_start) {
		printf("%slog start offset %lld -> %lld", sep,
		    (long long)r->old_start, (long long)r->new_start);
		if (r->deleted == 0)
			printf(" (%s)", reasons(r->reasons));
		sep = "; ";
	}
	if (r->compacted > 0)
		printf("%s%s %zu segment%s into %zu: %lld -> %lld records, "
		    "%lld -> %lld bytes", sep, dry_run ? "would compact" :
		    "compacted", r->compacted, r->compacted == 1 ? "" : "s",
		    r->compacted_into, (long long)r->records_in,
		    (long long)r->records_out, (long long)r->bytes_in,
		    (long long)r->bytes_out);
	putchar('\n');
}

/* Cleans one partition of t, or all with part -1; the worst status. */
static int
clean_topic(struct mq_log *l, struct mq_topic *t, int part,
    const struct mq_clean_opts *o, int status)
{
	struct mq_clean_result r;
	int i, rc, n = mq_topic_partitions(t);

	for (i = part < 0 ? 0 : part; i < (part < 0 ? n : part + 1); i++) {
		if ((rc = mq_clean_partition(t, i, o, &r)) != 0) {
			/* A refused --before is a request turned down;
			 * a partition the topic lacks, a bad operand. */
			status = carry_on(l, rc == MQ_EBADCONF ||
			    rc == MQ_EBADOFFSET ? EXIT_FAIL : rc ==
			    MQ_EBADPART ? EXIT_USAGE : exit_for(rc), status);
			continue;
		}
		report(mq_topic_name(t), i, &r);
	}
	if (fflush(stdout) == EOF)
		die(EXIT_FAIL, "stdout: write error");
	return status;
}

int
main(int argc, char *argv[])
{
	struct mq_clean_opts o = { .before = -1 };
	struct mq_topic *t;
	struct mq_log *l;
	const char *dir = NULL, *why;
	char **names;
	size_t n, j;
	int c, i, rc, status = EXIT_OK;

	prog = "mq-clean";
	argv[0] = (char *)prog;		/* for getopt's messages */
	while ((c = getopt_long(argc, argv, "d:hnvV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (strcmp(optarg, "end") == 0)
				o.before = MQ_CLEAN_END;
			else if (parse_int64(optarg, 0, INT64_MAX - 1,
			    &o.before, &why) != 0)
				usage_error(usage_str, "--before %s: %s "
				    "(expected an offset or end)", optarg,
				    why);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'n':
			dry_run = 1;
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
	if (o.before >= 0 && argc == 0)
		usage_error(usage_str, "--before needs a topic");
	if ((parts = calloc((size_t)argc + 1, sizeof(*parts))) == NULL)
		die(EXIT_FAIL, "out of memory");
	for (i = 0; i < argc; i++)
		topic_part(usage_str, argv[i], &parts[i]);
	o.now = mq_now_ms();
	o.dry_run = dry_run;
	l = open_log(dir, 0);
	if (argc == 0) {
		fail_on(l, mq_topic_list(l, &names, &n));
		for (j = 0; j < n; j++) {
			/* One deleted meanwhile is no longer ours to clean. */
			if ((rc = mq_topic_open(l, names[j], &t)) == MQ_ENOTOPIC)
				continue;
			if (rc != 0) {
				status = carry_on(l, exit_for(rc), status);
				continue;
			}
			status = clean_topic(l, t, -1, &o, status);
			mq_topic_close(t);
		}
		free(names);
	}
	for (i = 0; i < argc; i++) {
		if ((rc = mq_topic_open(l, argv[i], &t)) != 0) {
			status = carry_on(l, exit_for(rc), status);
			continue;
		}
		status = clean_topic(l, t, parts[i], &o, status);
		mq_topic_close(t);
	}
	free(parts);
	mq_log_close(l);
	return status;
}

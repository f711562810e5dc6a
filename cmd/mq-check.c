/* SPDX-License-Identifier: MIT */
/*
 * mq-check - verify a log directory and, with --repair, mend it: every
 * segment's batches and indexes, partition.state, the topics' configs,
 * the groups' commits, and what a crash left behind.
 *
 * The library decides what is wrong and what a repair may do (SPEC
 * guarantee 3: a torn tail is cut, derived data rebuilt, damage in
 * sealed or synced data only reported unless --force); this file says
 * it, one line per problem on stdout and nothing when all is well, and
 * exits 3 while damage is left, so that a cron job mails only trouble.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq-check [-v] [--repair [--force]] [-d dir] "
    "[topic[:partition] ...]\n";

enum { OPT_FORCE = 256, OPT_REPAIR };

static const struct option longopts[] = {
	{ "dir",	required_argument,	NULL, 'd' },
	{ "force",	no_argument,		NULL, OPT_FORCE },
	{ "help",	no_argument,		NULL, 'h' },
	{ "repair",	no_argument,		NULL, OPT_REPAIR },
	{ "verbose",	no_argument,		NULL, 'v' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

/* A TOPIC[:PARTITION] operand. */
struct operand {
	char	*name;
	int	part;			/* -1: every partition */
};

/* What a problem left alone needs, in the words of the options. */
static const char *
hint(const struct mq_problem *p, int flags)
{
	if ((p->fix & flags) == p->fix)
		return "not repaired";
	if (p->kind == MQ_PROBLEM_LEFTOVER)
		return "--repair removes it";
	if (!(p->fix & MQ_CHECK_FORCE))
		return "--repair fixes it";
	if (p->kind == MQ_PROBLEM_GROUP)
		return "--repair --force clears it";
	return "--repair --force removes it";
}

static void
print_problem(void *arg, const struct mq_problem *p)
{
	const int *flags = arg;

	fputs(p->file, stdout);
	if (p->pos >= 0)
		printf(": position %" PRId64, p->pos);
	printf(": %s", p->what);
	if (p->done != NULL)
		printf(": repaired: %s", p->done);
	else if (p->fix != 0)
		printf(" (%s)", hint(p, *flags));
	putchar('\n');
}

/*
 * A partition a topic does not have is a usage error, found before
 * anything is checked or repaired.  A topic that does not open is left
 * for the check to report.
 */
static void
check_partitions(struct mq_log *l, const struct operand *ops, int n)
{
	struct mq_topic *t;
	int i, parts;

	for (i = 0; i < n; i++) {
		if (ops[i].part < 0 || mq_topic_open(l, ops[i].name, &t) != 0)
			continue;
		parts = mq_topic_partitions(t);
		mq_topic_close(t);
		if (ops[i].part >= parts)
			die(EXIT_USAGE, "%s: partition %d: no such partition "
			    "(the topic has %d)", ops[i].name, ops[i].part,
			    parts);
	}
}

/* Everything: every topic, what was cut short, every group. */
static int
check_all(struct mq_log *l, struct mq_check *c)
{
	char **names;
	size_t n, i;
	int rc, status = EXIT_OK;

	if ((rc = mq_topic_list(l, &names, &n)) != 0)
		return carry_on(l, EXIT_FAIL, status);
	for (i = 0; i < n; i++)
		/* A topic deleted since the listing is no concern. */
		if ((rc = mq_check_topic(c, names[i], -1)) != 0 &&
		    rc != MQ_ENOTOPIC)
			status = carry_on(l, EXIT_FAIL, status);
	free(names);
	if (mq_check_leftovers(c) != 0)
		status = carry_on(l, EXIT_FAIL, status);
	if ((rc = mq_group_list(l, &names, &n)) != 0)
		return carry_on(l, EXIT_FAIL, status);
	for (i = 0; i < n; i++)
		if ((rc = mq_check_group(c, names[i])) != 0 &&
		    rc != MQ_ENOGROUP)
			status = carry_on(l, EXIT_FAIL, status);
	free(names);
	return status;
}

static void
summary(const struct mq_check_counts *n)
{
	printf("checked %zu topic%s, %zu partition%s, %zu segment%s, %zu "
	    "group%s: %zu problem%s, %zu repaired\n", n->topics,
	    n->topics == 1 ? "" : "s", n->partitions,
	    n->partitions == 1 ? "" : "s", n->segments,
	    n->segments == 1 ? "" : "s", n->groups, n->groups == 1 ? "" : "s",
	    n->problems, n->problems == 1 ? "" : "s", n->repaired);
}

int
main(int argc, char *argv[])
{
	struct mq_check_counts counts;
	struct operand *ops;
	struct mq_check *c;
	struct mq_log *l;
	const char *dir = NULL;
	int ch, i, flags = 0, force = 0, verbose = 0, status = EXIT_OK;

	prog = "mq-check";
	argv[0] = (char *)prog;		/* for getopt's messages */
	while ((ch = getopt_long(argc, argv, "d:hvV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			print_version();
		case OPT_FORCE:
			force = 1;
			break;
		case OPT_REPAIR:
			flags |= MQ_CHECK_REPAIR;
			break;
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (force && !(flags & MQ_CHECK_REPAIR))
		usage_error(usage_str, "--force is for --repair");
	if (force)
		flags |= MQ_CHECK_FORCE;
	if ((ops = calloc((size_t)argc + 1, sizeof(*ops))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (i = 0; i < argc; i++) {
		topic_part(usage_str, argv[i], &ops[i].part);
		ops[i].name = argv[i];
	}

	l = open_log(dir, 0);
	check_partitions(l, ops, argc);
	if (mq_check_open(l, flags, print_problem, &flags, &c) != 0)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	if (argc == 0)
		status = check_all(l, c);
	for (i = 0; i < argc; i++)
		if (mq_check_topic(c, ops[i].name, ops[i].part) != 0)
			status = carry_on(l, EXIT_FAIL, status);
	mq_check_counts(c, &counts);
	if (verbose)
		summary(&counts);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
	mq_check_close(c);
	mq_log_close(l);
	free(ops);
	if (status == EXIT_OK && counts.left > 0)
		status = EXIT_DATA;
	return status;
}

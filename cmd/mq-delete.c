/* SPDX-License-Identifier: MIT */
/*
 * mq-delete - delete topics.
 *
 * A topic is renamed away first, which is the delete as far as anyone
 * opening it is concerned, then removed with every group's commits on
 * it.  Readers already running finish what they read; followers and
 * producers stop with "topic deleted" at their next look (liblog).
 */
#include <getopt.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq-delete [-v] [-d dir] [--if-exists] topic ...\n";

static const struct option longopts[] = {
	{ "dir",		required_argument,	NULL, 'd' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "if-exists",		no_argument,		NULL, 'x' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

int
main(int argc, char *argv[])
{
	struct mq_log *l;
	const char *dir = NULL;
	int ch, rc, status = EXIT_OK, if_exists = 0, verbose = 0, i;

	prog = "mq-delete";
	argv[0] = (char *)prog;		/* for getopt's messages */
	while ((ch = getopt_long(argc, argv, "d:hvV", longopts, NULL)) != -1) {
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
		case 'x':
			if_exists = 1;
			break;
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0)
		usage_error(usage_str, "no topic given");
	check_names(argc, argv);

	verbose |= isatty(STDERR_FILENO);
	l = open_log(dir, 0);
	for (i = 0; i < argc; i++) {
		rc = mq_topic_delete(l, argv[i]);
		if (rc == MQ_ENOTOPIC && if_exists)
			continue;
		if (rc != 0) {
			status = carry_on(l, exit_for(rc), status);
			continue;
		}
		if (verbose)
			warnmsg("deleted topic %s", argv[i]);
	}
	mq_log_close(l);
	return status;
}

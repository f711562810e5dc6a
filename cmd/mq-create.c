/* SPDX-License-Identifier: MIT */
/*
 * mq-create - create topics.
 *
 * Each topic is built whole under a temporary name and renamed into
 * place, so a topic never exists half made.  Configs are validated by the
 * library exactly as they are when read back from topic.yaml.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq-create [-v] [-c key=value] [-d dir] [-p partitions] "
    "[--if-not-exists]\n"
    "                 topic ...\n";

static const struct option longopts[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "dir",		required_argument,	NULL, 'd' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "if-not-exists",	no_argument,		NULL, 'x' },
	{ "partitions",		required_argument,	NULL, 'p' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

int
main(int argc, char *argv[])
{
	struct mq_config conf;
	struct mq_log *l;
	const char *dir = NULL, *why;
	char *eq;
	int64_t parts = 1;
	int ch, rc, status = EXIT_OK, if_not_exists = 0, verbose = 0, i;

	prog = "mq-create";
	argv[0] = (char *)prog;		/* for getopt's messages */
	mq_config_init(&conf);
	while ((ch = getopt_long(argc, argv, "c:d:hp:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			if ((eq = strchr(optarg, '=')) == NULL)
				usage_error(usage_str, "-c %s: expected "
				    "key=value", optarg);
			*eq = '\0';
			if (mq_config_set(&conf, optarg, eq + 1, &why) != 0)
				usage_error(usage_str, "-c %s=%s: %s", optarg,
				    eq + 1, why);
			break;
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'p':
			if (parse_int64(optarg, 1, MQ_PARTITIONS_MAX, &parts,
			    &why) != 0)
				usage_error(usage_str, "-p %s: %s (1 to %d)",
				    optarg, why, MQ_PARTITIONS_MAX);
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			print_version();
		case 'x':
			if_not_exists = 1;
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
	l = open_log(dir, MQ_LOG_CREATE);
	for (i = 0; i < argc; i++) {
		rc = mq_topic_create(l, argv[i], (int)parts, &conf);
		if (rc == MQ_ETOPICEXISTS && if_not_exists)
			continue;
		if (rc != 0) {
			status = carry_on(l, exit_for(rc), status);
			continue;
		}
		if (verbose)
			warnmsg("created topic %s with %d partition%s",
			    argv[i], (int)parts, parts == 1 ? "" : "s");
	}
	mq_log_close(l);
	return status;
}

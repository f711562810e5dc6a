/* SPDX-License-Identifier: MIT */
/*
 * mq-alter - change topics: add partitions, set and unset configs
 * (kafka-topics.sh --alter and kafka-configs.sh --alter in one).
 *
 * Every change is validated, for every topic, before any topic is
 * touched; the library then makes new partitions whole before it
 * replaces topic.yaml atomically.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq-alter [-v] [-c key=value] [-d dir] [-p partitions] "
    "[-u key] topic ...\n";

static const struct option longopts[] = {
	{ "config",		required_argument,	NULL, 'c' },
	{ "dir",		required_argument,	NULL, 'd' },
	{ "help",		no_argument,		NULL, 'h' },
	{ "partitions",		required_argument,	NULL, 'p' },
	{ "unset",		required_argument,	NULL, 'u' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

/*
 * Applies the changes (-c and -u in command-line order: later ones win)
 * to c; returns 0, or -1 with *bad the culprit.
 */
static int
apply(struct mq_config *c, const struct mq_config_change *v, int n,
    const struct mq_config_change **bad, const char **why)
{
	int i;

	for (i = 0; i < n; i++) {
		*bad = &v[i];
		if (v[i].value != NULL ? mq_config_set(c, v[i].key,
		    v[i].value, why) : mq_config_unset(c, v[i].key, why))
			return -1;
	}
	return 0;
}

/* The -c and -u given; static, so it is reachable when a usage error
 * exits. */
static struct mq_config_change *ch;

int
main(int argc, char *argv[])
{
	struct mq_config conf;
	const struct mq_config_change *bad;
	struct mq_topic *t;
	struct mq_log *l;
	const char *dir = NULL, *why;
	char *eq;
	int64_t parts = 0;
	int c, rc, n = 0, status = EXIT_OK, verbose = 0, i;

	prog = "mq-alter";
	argv[0] = (char *)prog;		/* for getopt's messages */
	if ((ch = calloc((size_t)argc, sizeof(*ch))) == NULL)
		die(EXIT_FAIL, "out of memory");
	while ((c = getopt_long(argc, argv, "c:d:hp:u:vV", longopts,
	    NULL)) != -1) {
		switch (c) {
		case 'c':
			if ((eq = strchr(optarg, '=')) == NULL)
				usage_error(usage_str, "-c %s: expected "
				    "key=value", optarg);
			*eq = '\0';
			ch[n].key = optarg;
			ch[n++].value = eq + 1;
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
		case 'u':
			ch[n++].key = optarg;
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
	if (argc == 0)
		usage_error(usage_str, "no topic given");
	if (parts == 0 && n == 0)
		usage_error(usage_str, "nothing to change: give -p, -c or -u");
	check_names(argc, argv);
	/* Bad keys and values are refused before any topic is opened. */
	mq_config_init(&conf);
	if (apply(&conf, ch, n, &bad, &why) != 0)
		usage_error(usage_str, "-%c %s%s%s: %s", bad->value ? 'c' :
		    'u', bad->key, bad->value ? "=" : "", bad->value ?
		    bad->value : "", why);

	verbose |= isatty(STDERR_FILENO);
	l = open_log(dir, 0);
	for (i = 0; i < argc; i++) {
		if ((rc = mq_topic_open(l, argv[i], &t)) == 0)
			rc = mq_topic_alter(t, (int)parts, ch, (size_t)n);
		/* Fewer partitions is a bad request, as in Kafka. */
		if (rc != 0)
			status = carry_on(l, rc == MQ_EBADPART ? EXIT_USAGE :
			    exit_for(rc), status);
		else if (verbose)
			warnmsg("altered topic %s: %d partition%s", argv[i],
			    mq_topic_partitions(t), mq_topic_partitions(t) ==
			    1 ? "" : "s");
		mq_topic_close(t);
	}
	free(ch);
	mq_log_close(l);
	return status;
}

/* SPDX-License-Identifier: MIT */
/*
 * mq-list - list topics; with -l describe them (kafka-topics.sh --list
 * and --describe): partitions with their start and end offsets, bytes and
 * segments, and the configs a topic sets.
 *
 * Everything is read before anything is printed, so a failure leaves no
 * half listing on stdout.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq-list [-Jl] [-d dir] [topic ...]\n";

static const struct option longopts[] = {
	{ "dir",	required_argument,	NULL, 'd' },
	{ "help",	no_argument,		NULL, 'h' },
	{ "json",	no_argument,		NULL, 'J' },
	{ "long",	no_argument,		NULL, 'l' },
	{ "version",	no_argument,		NULL, 'V' },
	{ NULL,		0,			NULL, 0 }
};

/* A topic as -l shows it. */
struct topic {
	struct mq_topic *t;
	struct mq_partition_info *parts;
};

/* Is s a number, so that -J can print it as one? */
static int
numeric(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '\0')
		return 0;
	while (*s >= '0' && *s <= '9')
		s++;
	return *s == '\0';
}

static void
describe(const struct topic *v, size_t n)
{
	const struct mq_config *c;
	const struct mq_partition_info *pi;
	const char *name;
	char buf[32];
	size_t i;
	int p, k, sep;

	for (i = 0; i < n; i++) {
		name = mq_topic_name(v[i].t);
		c = mq_topic_config(v[i].t);
		/* Kafka's describe lines, less what has no meaning here. */
		printf("Topic: %s\tPartitionCount: %d\tConfigs:", name,
		    mq_topic_partitions(v[i].t));
		for (k = 0, sep = 0; k < mq_config_nkeys(); k++) {
			if (!mq_config_isset(c, k))
				continue;
			printf("%s%s=%s", sep++ ? "," : " ", mq_config_key(k),
			    mq_config_value(c, k, buf));
		}
		putchar('\n');
		for (p = 0; p < mq_topic_partitions(v[i].t); p++) {
			pi = &v[i].parts[p];
			printf("\tTopic: %s\tPartition: %d\tStartOffset: %lld\t"
			    "EndOffset: %lld\tSize: %lld\tSegments: %zu\n",
			    name, p, (long long)pi->start, (long long)pi->end,
			    (long long)pi->bytes, pi->segments);
		}
	}
}

static void
describe_json(const struct topic *v, size_t n)
{
	const struct mq_config *c;
	const struct mq_partition_info *pi;
	const char *val;
	char buf[32];
	size_t i;
	int p, k;

	for (i = 0; i < n; i++) {
		json_sep(i);
		c = mq_topic_config(v[i].t);
		printf("{\"topic\":\"%s\",\"partitions\":[",
		    mq_topic_name(v[i].t));
		for (p = 0; p < mq_topic_partitions(v[i].t); p++) {
			pi = &v[i].parts[p];
			printf("%s{\"partition\":%d,\"start\":%lld,\"end\":%lld,"
			    "\"size\":%lld,\"segments\":%zu}", p ? "," : "", p,
			    (long long)pi->start, (long long)pi->end,
			    (long long)pi->bytes, pi->segments);
		}
		/* Every config, in effect: set or Kafka's default. */
		fputs("],\"configs\":{", stdout);
		for (k = 0; k < mq_config_nkeys(); k++) {
			val = mq_config_value(c, k, buf);
			printf("%s\"%s\":", k ? "," : "", mq_config_key(k));
			if (numeric(val))
				fputs(val, stdout);
			else
				json_str(val);
		}
		fputs("}}", stdout);
	}
	json_end(n);
}

int
main(int argc, char *argv[])
{
	struct mq_log *l;
	struct topic *v;
	char **names = NULL, **list;
	const char *dir = NULL;
	size_t n, i;
	int ch, json = 0, lng = 0, p;

	prog = "mq-list";
	argv[0] = (char *)prog;		/* for getopt's messages */
	while ((ch = getopt_long(argc, argv, "d:hJlV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'J':
			json = 1;
			break;
		case 'l':
			lng = 1;
			break;
		case 'V':
			print_version();
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;
	check_names(argc, argv);

	l = open_log(dir, 0);
	if (argc > 0) {
		list = argv;
		n = (size_t)argc;
	} else {
		fail_on(l, mq_topic_list(l, &names, &n));
		list = names;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	/* Named topics must exist, and every listed one must open. */
	for (i = 0; i < n; i++) {
		v[i].t = open_topic(l, list[i]);
		if (!lng)
			continue;
		if ((v[i].parts = calloc((size_t)mq_topic_partitions(v[i].t),
		    sizeof(*v[i].parts))) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		for (p = 0; p < mq_topic_partitions(v[i].t); p++)
			fail_on(l, mq_partition_info(v[i].t, p,
			    &v[i].parts[p]));
	}
	if (lng && json)
		describe_json(v, n);
	else if (lng)
		describe(v, n);
	else if (json) {
		for (i = 0; i < n; i++) {
			json_sep(i);
			printf("\"%s\"", mq_topic_name(v[i].t));
		}
		json_end(n);
	} else
		for (i = 0; i < n; i++)
			printf("%s\n", mq_topic_name(v[i].t));
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		free(v[i].parts);
		mq_topic_close(v[i].t);
	}
	free(v);
	free(names);
	mq_log_close(l);
	return EXIT_OK;
}

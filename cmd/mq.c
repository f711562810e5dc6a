/* SPDX-License-Identifier: MIT */
/*
 * mq - run an mq command: `mq produce t` runs `mq-produce t`, as git runs
 * its commands.  The mq-* programs next to this one come first, then
 * $PATH, so an uninstalled build tree runs its own commands.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq command [argument ...]\n"
    "       mq help [command]\n";

static const struct {
	const char *name, *what;
} cmds[] = {
	{ "alter",	"add partitions to topics, set and unset their configs" },
	{ "check",	"verify a log directory; with --repair mend it" },
	{ "clean",	"apply retention and compaction; delete records" },
	{ "consume",	"write a topic's records to stdout" },
	{ "create",	"create topics" },
	{ "delete",	"delete topics" },
	{ "dump",	"show segment files batch by batch, and check indexes" },
	{ "list",	"list topics; -l describes them" },
	{ "offsets",	"show offsets, groups and lag; reset and delete groups" },
	{ "produce",	"append records from stdin or files to a topic" },
};

static void
list(FILE *f)
{
	size_t i;

	fputs(usage_str, f);
	fputs("\ncommands:\n", f);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "   %-10s %s\n", cmds[i].name, cmds[i].what);
	fputs("\nEach command has a manual page, e.g. man mq-produce.\n", f);
}

static void
run(const char *cmd, char *argv[])
{
	char self[PATH_MAX], path[PATH_MAX + 80], found[PATH_MAX + 80] = "";
	char name[64], *slash;
	const char *p;
	ssize_t n;

	for (p = cmd; *p != '\0'; p++)
		if ((*p < 'a' || *p > 'z') && *p != '-')
			die(EXIT_USAGE, "'%s' is not an mq command", cmd);
	if (snprintf(name, sizeof(name), "mq-%s", cmd) >= (int)sizeof(name))
		die(EXIT_USAGE, "'%s' is not an mq command", cmd);
	argv[0] = name;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/%s", self, name);
			if (access(path, X_OK) == 0)
				execv(path, argv);
		}
	}
	/* Our own $PATH walk: execvp's EACCES for an unsearchable directory
	 * would make a missing command look like one that cannot run. */
	if ((p = getenv("PATH")) == NULL || *p == '\0')
		p = "/usr/local/bin:/usr/bin:/bin";
	for (; *p != '\0'; p += *p == ':') {
		size_t len = strcspn(p, ":");

		snprintf(path, sizeof(path), "%.*s%s%s", (int)len, p,
		    len > 0 ? "/" : "", name);
		p += len;
		if (access(path, X_OK) == 0) {
			execv(path, argv);
			die(EXIT_FAIL, "%s: %s", path, strerror(errno));
		}
		if (found[0] == '\0' && access(path, F_OK) == 0)
			snprintf(found, sizeof(found), "%s", path);
	}
	if (found[0] != '\0')
		die(EXIT_FAIL, "%s: %s", found, strerror(EACCES));
	die(EXIT_USAGE, "'%s' is not an mq command; see 'mq help'", cmd);
}

int
main(int argc, char *argv[])
{
	char *help[] = { NULL, "--help", NULL };

	prog = "mq";
	if (argc < 2) {
		list(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		if (argc < 3) {
			list(stdout);
			return EXIT_OK;
		}
		run(argv[2], help);
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)
		print_version();
	if (argv[1][0] == '-')
		usage_error(usage_str, "unknown option %s", argv[1]);
	run(argv[1], argv + 1);
}

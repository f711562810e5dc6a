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
	{ "consume",	"write a topic's records to stdout" },
	{ "create",	"create topics" },
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
	char self[PATH_MAX], path[PATH_MAX + 80], name[64], *slash;
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
			execv(path, argv);
		}
	}
	execvp(name, argv);
	if (errno == ENOENT)
		die(EXIT_USAGE, "'%s' is not an mq command; see 'mq help'",
		    cmd);
	die(EXIT_FAIL, "%s: %s", name, strerror(errno));
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

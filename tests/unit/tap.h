/* SPDX-License-Identifier: MIT */
/*
 * tap.h - the smallest TAP producer that does the job: ok() reports one
 * check with the file and line that failed, done() prints the plan and
 * returns the exit status.  Each unit test is one program of checks.
 */
#ifndef TAP_H
#define TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

/* The condition is evaluated first, as a statement of its own: the
 * message may print what the condition's calls filled in, and function
 * arguments have no order of evaluation. */
#define ok(cond, ...) do {						\
	int tap_pass_ = !!(cond);					\
	tap_ok(tap_pass_, __FILE__, __LINE__, __VA_ARGS__);		\
} while (0)

static void
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>

static void
tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", pass ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
}

static int
done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed != 0;
}

#endif

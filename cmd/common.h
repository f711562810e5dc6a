/* SPDX-License-Identifier: MIT */
/*
 * common.h - what the mq commands share: exit statuses, the program name,
 * number and time parsing, and opening the log directory.
 */
#ifndef MQ_COMMON_H
#define MQ_COMMON_H

#include <stdint.h>

#include "mq.h"

/* Exit statuses, documented in every page and in mq(7). */
#define EXIT_OK		0
#define EXIT_FAIL	1	/* runtime failure */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_DATA	3	/* bad data: corrupt log, bad config, bad input */
#define EXIT_BUSY	4	/* lock held, or a group has live members */
#define EXIT_EXEC	5	/* an --exec command failed */

extern const char *prog;	/* set by each main from argv[0] */

/* The exit status for a liblog error code. */
int exit_for(int err);

/* Prints "prog: msg" to stderr and exits with status. */
void die(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void warnmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: usage error\n" plus usage text on stderr, exit 2. */
void usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* A monotonic clock in milliseconds, for intervals. */
int64_t mono_ms(void);

/* Prints the version line and exits 0. */
void print_version(void) __attribute__((noreturn));

/*
 * Parses a decimal integer in [min, max]; returns 0, or -1 with *why
 * static text ("not a number", "out of range").
 */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *v,
    const char **why);

/*
 * Parses a time: milliseconds since the epoch, or ISO 8601
 * (YYYY-MM-DD[THH:MM[:SS[.sss]]][Z|+HH:MM|-HH:MM], UTC when no zone).
 * Returns 0 or -1.
 */
int parse_time(const char *s, int64_t *ms);

/*
 * Decodes C-style escapes (\n \t \r \0 \\ \xHH) in s into out (at most
 * size bytes); returns the length, or -1 if bad or too long.
 */
int unescape(const char *s, char *out, size_t size);

/* --sync=none|batch|always as enum mq_sync; a usage error otherwise. */
int parse_sync(const char *usage, const char *s);

/* Exits 2 with a one-line message if name is not a legal topic name. */
void check_name(const char *name);

/* check_name() for each, before anything touches the disk. */
void check_names(int n, char *const names[]);
void check_group(const char *name);

/* Resolves -d/$MQ_DIR/XDG and opens the log; dies on failure. */
struct mq_log *open_log(const char *dir, int flags);

/*
 * JSON on stdout for -J: a string (anything but printable ASCII as
 * \u00XX, which keeps it valid), and arrays with one element a line, so
 * grep and diff still work: json_sep(i) before element i, json_end(n)
 * after n elements.
 */
void json_str(const char *s);
void json_sep(size_t i);
void json_end(size_t n);

/*
 * For commands that go on to their next operand after a failure: prints
 * the log's one-line detail and returns the worse of status and code,
 * the exit status for this failure.
 */
int carry_on(struct mq_log *l, int code, int status);

/* Dies with the log's one-line detail of the last error, if rc is one. */
void fail_on(struct mq_log *l, int rc);

/*
 * Splits a TOPIC[:PART] operand in place: arg keeps the topic name, which
 * is checked, and *part gets PART, or -1 without one.  A bad operand is
 * a usage error.
 */
void topic_part(const char *usage, char *arg, int *part);

/* Opens a topic; dies (with the library's one-line message) on failure. */
struct mq_topic *open_topic(struct mq_log *l, const char *name);

#endif

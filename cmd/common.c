/* SPDX-License-Identifier: MIT */
/*
 * common.c - helpers every mq command uses, so that messages, exit
 * statuses and argument parsing look the same in all of them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"

const char *prog = "mq";

int
exit_for(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case MQ_EBADCONF:
	case MQ_ECORRUPT:
	case MQ_ETOOBIG:
	case MQ_EBADRECORD:
	case MQ_ESTATE:
		return EXIT_DATA;
	case MQ_ELOCKED:
	case MQ_EACTIVE:
		return EXIT_BUSY;
	case MQ_EBADNAME:
	case MQ_EBADGROUP:
		return EXIT_USAGE;
	default:
		return EXIT_FAIL;
	}
}

int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
vmsg(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", prog);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(status);
}

void
warnmsg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void
usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vmsg(fmt, ap);
		va_end(ap);
	}
	fputs(usage, stderr);
	exit(EXIT_USAGE);
}

void
print_version(void)
{
	printf("%s (mq) %s\n", prog, MQ_VERSION);
	exit(EXIT_OK);
}

int
parse_int64(const char *s, int64_t min, int64_t max, int64_t *v,
    const char **why)
{
	const char *p = s;
	int neg = 0;
	uint64_t u = 0, lim;

	if (*p == '-') {
		neg = 1;
		p++;
	}
	if (*p == '\0') {
		*why = "not a number";
		return -1;
	}
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			*why = "not a number";
			return -1;
		}
		if (u > (lim - (uint64_t)(*p - '0')) / 10) {
			*why = "out of range";
			return -1;
		}
		u = u * 10 + (uint64_t)(*p - '0');
	}
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	if (*v < min || *v > max) {
		*why = "out of range";
		return -1;
	}
	return 0;
}

/* Reads exactly n digits into *v. */
static int
digits(const char **pp, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++, (*pp)++) {
		if (**pp < '0' || **pp > '9')
			return -1;
		*v = *v * 10 + (**pp - '0');
	}
	return 0;
}

int
parse_time(const char *s, int64_t *ms)
{
	const char *p = s, *why;
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, zh, zm, sign;
	int64_t t;

	if (strchr(s, '-') == NULL)
		return parse_int64(s, 0, INT64_MAX, ms, &why);
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.') {
				int n;

				p++;
				for (n = 0; *p >= '0' && *p <= '9'; n++, p++)
					if (n < 3)
						frac = frac * 10 + (*p - '0');
				if (n == 0)
					return -1;
				for (; n < 3; n++)
					frac *= 10;
			}
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = (int64_t)timegm(&tm);
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '+' ? 1 : -1;
		if (digits(&p, 2, &zh))
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &zm) || zh > 23 || zm > 59)
			return -1;
		t -= sign * (zh * 3600 + zm * 60);
	}
	if (*p != '\0' || t < 0)
		return -1;
	*ms = t * 1000 + frac;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
unescape(const char *s, char *out, size_t size)
{
	size_t n = 0;
	int hi, lo;
	char c;

	for (; *s != '\0'; s++) {
		c = *s;
		if (c == '\\') {
			switch (*++s) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case '0': c = '\0'; break;
			case '\\': c = '\\'; break;
			case 'x':
				if ((hi = hexval(s[1])) < 0 ||
				    (lo = hexval(s[2])) < 0)
					return -1;
				c = (char)(hi << 4 | lo);
				s += 2;
				break;
			default:
				return -1;
			}
		}
		if (n == size)
			return -1;
		out[n++] = c;
	}
	return (int)n;
}

void
check_name(const char *name)
{
	char q[64];

	if (mq_name_check(name) != 0)
		die(EXIT_USAGE, "'%s': %s", mq_quote(q, sizeof(q), name,
		    strlen(name)), mq_strerror(MQ_EBADNAME));
}

void
check_names(int n, char *const names[])
{
	int i;

	for (i = 0; i < n; i++)
		check_name(names[i]);
}

void
check_group(const char *name)
{
	char q[64];

	if (mq_name_check(name) != 0)
		die(EXIT_USAGE, "group '%s': %s", mq_quote(q, sizeof(q), name,
		    strlen(name)), mq_strerror(MQ_EBADGROUP));
}

static void
notify_stderr(void *arg, const char *msg)
{
	(void)arg;
	warnmsg("%s", msg);
}

struct mq_log *
open_log(const char *dir, int flags)
{
	char path[4096];
	struct mq_log *l;
	int rc;

	if ((rc = mq_dir_resolve(dir, path, sizeof(path))) != 0)
		die(EXIT_FAIL, "cannot find the log directory: set -d or "
		    "MQ_DIR (%s)", strerror(rc));
	if ((rc = mq_log_open(&l, path, flags)) != 0) {
		if (l == NULL)
			die(EXIT_FAIL, "%s: %s", path, mq_strerror(rc));
		die(exit_for(rc), "%s", mq_log_errdetail(l));
	}
	mq_log_set_notify(l, notify_stderr, NULL);
	return l;
}

int
carry_on(struct mq_log *l, int code, int status)
{
	warnmsg("%s", mq_log_errdetail(l));
	return code > status ? code : status;
}

void
fail_on(struct mq_log *l, int rc)
{
	if (rc != 0)
		die(exit_for(rc), "%s", mq_log_errdetail(l));
}

void
topic_part(const char *usage, char *arg, int *part)
{
	char *colon;
	const char *why;
	int64_t v;

	*part = -1;
	if ((colon = strchr(arg, ':')) != NULL) {
		if (parse_int64(colon + 1, 0, MQ_PARTITIONS_MAX - 1, &v,
		    &why) != 0)
			usage_error(usage, "%s: bad partition '%s': %s "
			    "(expected topic:N)", arg, colon + 1, why);
		*colon = '\0';
		*part = (int)v;
	}
	check_name(arg);
}

struct mq_topic *
open_topic(struct mq_log *l, const char *name)
{
	struct mq_topic *t;
	int rc;

	if ((rc = mq_topic_open(l, name, &t)) != 0)
		die(exit_for(rc), "%s", mq_log_errdetail(l));
	return t;
}

int
parse_sync(const char *usage, const char *s)
{
	if (strcmp(s, "none") == 0)
		return MQ_SYNC_NONE;
	if (strcmp(s, "batch") == 0)
		return MQ_SYNC_BATCH;
	if (strcmp(s, "always") == 0)
		return MQ_SYNC_ALWAYS;
	usage_error(usage, "--sync=%s: expected none, batch or always", s);
}

void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

void
json_sep(size_t i)
{
	fputs(i == 0 ? "[\n" : ",\n", stdout);
}

void
json_end(size_t n)
{
	fputs(n == 0 ? "[]\n" : "\n]\n", stdout);
}

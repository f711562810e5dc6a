/* SPDX-License-Identifier: MIT */
/*
 * err.c - error text.  mq_strerror() covers both errno values and the
 * library's own codes; the per-handle detail says what an error was about,
 * so a command can print one line naming the object and the cause.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *
mq_strerror(int err)
{
	if (err >= 0)
		return err == 0 ? "success" : strerror(err);
	/* A switch with no default: -Wswitch names any code without text. */
	switch ((enum mq_error)err) {
	case MQ_EBADNAME:
		return "invalid topic name (1-249 of [A-Za-z0-9._-], not . or ..)";
	case MQ_ENOTOPIC:
		return "no such topic";
	case MQ_ETOPICEXISTS:
		return "topic already exists";
	case MQ_EBADCONF:
		return "invalid topic configuration";
	case MQ_EBADPART:
		return "no such partition";
	case MQ_ECORRUPT:
		return "corrupt data";
	case MQ_ETOOBIG:
		return "record batch over max.message.bytes";
	case MQ_ENOLOGDIR:
		return "not a log directory";
	case MQ_EBADOFFSET:
		return "offset out of range";
	case MQ_EBADRECORD:
		return "malformed record";
	case MQ_ESTATE:
		return "unreadable partition state";
	case MQ_ELOCKED:
		return "locked by another process";
	case MQ_ENOGROUP:
		return "no such consumer group";
	case MQ_EACTIVE:
		return "the group has live members";
	case MQ_EBADGROUP:
		return "invalid group name (1-249 of [A-Za-z0-9._-], not . or ..)";
	case MQ_EGROUPTYPE:
		return "a share group and a consumer group cannot mix";
	case MQ_ELOCKLOST:
		return "acquisition lock lost";
	case MQ__LASTERR:
		break;
	}
	return "unknown error";
}

const char *
mq_quote(char *buf, size_t size, const void *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = s;
	size_t i, n = 0;

	for (i = 0; i < len; i++) {
		int plain = p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\';

		if (n + (plain ? 1 : 4) + 4 > size) {
			memcpy(buf + n, "...", 4);
			return buf;
		}
		if (plain)
			buf[n++] = (char)p[i];
		else {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[p[i] >> 4];
			buf[n++] = hex[p[i] & 0xf];
		}
	}
	buf[n] = '\0';
	return buf;
}

int
log_fail(struct mq_log *l, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
	va_end(ap);
	return err;
}

void
log_notify(struct mq_log *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (l->notify == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->notify(l->notify_arg, msg);
}

const char *
mq_log_errdetail(const struct mq_log *l)
{
	return l->detail;
}

void
mq_log_set_notify(struct mq_log *l, mq_notify_fn *fn, void *arg)
{
	l->notify = fn;
	l->notify_arg = arg;
}

void
mq_log_set_stop(struct mq_log *l, const volatile sig_atomic_t *flag)
{
	l->stop = flag;
}

/* SPDX-License-Identifier: MIT */
/*
 * mq-offsets - offsets and consumer groups: each partition's start and
 * end offsets or the offset for a time (kafka-get-offsets.sh), and a
 * group's commits, lag and owners, which it can reset or delete
 * (kafka-consumer-groups.sh).
 *
 * Every mode reads all it will print before it prints a line, so a
 * failure leaves no half table on stdout and the columns fit the widest
 * value.  A reset works out the whole plan, for every topic, before it
 * changes anything: a partition that cannot be shifted, or a damaged
 * commit, fails the command with the group untouched.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static const char usage_str[] =
    "usage: mq-offsets [-Jv] [-d dir] [-t time] topic[:partitions] ...\n"
    "       mq-offsets [-Jv] [-d dir] -g group [topic[:partitions] ...]\n"
    "       mq-offsets [-Jv] [-d dir] -g group --reset spec [--dry-run] "
    "[--force]\n"
    "                  [topic[:partitions] ...]\n"
    "       mq-offsets [-v] [-d dir] -g group --delete-group [--force]\n"
    "       mq-offsets [-J] [-d dir] --groups\n";

enum {
	OPT_DELETE = 256, OPT_DRYRUN, OPT_FORCE, OPT_GROUPS, OPT_RESET
};

static const struct option longopts[] = {
	{ "delete-group",	no_argument,		NULL, OPT_DELETE },
	{ "dir",		required_argument,	NULL, 'd' },
	{ "dry-run",		no_argument,		NULL, OPT_DRYRUN },
	{ "force",		no_argument,		NULL, OPT_FORCE },
	{ "group",		required_argument,	NULL, 'g' },
	{ "groups",		no_argument,		NULL, OPT_GROUPS },
	{ "help",		no_argument,		NULL, 'h' },
	{ "json",		no_argument,		NULL, 'J' },
	{ "reset",		required_argument,	NULL, OPT_RESET },
	{ "time",		required_argument,	NULL, 't' },
	{ "verbose",		no_argument,		NULL, 'v' },
	{ "version",		no_argument,		NULL, 'V' },
	{ NULL,			0,			NULL, 0 }
};

/* Where -t or --reset points. */
enum how { H_EARLIEST, H_LATEST, H_OFFSET, H_TIME, H_FORWARD, H_BACK };

/* A topic operand: the topic and the partitions it names. */
struct sel {
	const char *name;
	int	all;			/* no :partitions, or merged with one */
	int64_t	*parts;
	size_t	nparts;
	int	total;			/* the topic's partition count; 0 until
					   opened, and for a topic skipped */
};

/* One output line: a partition and what the mode says about it. */
struct row {
	const struct sel *s;
	int	part;
	int64_t	start, end;
	int64_t	value;			/* -t's offset, the commit or the new
					   offset; -1 for none */
	int	held;
	struct mq_member_info m;
	int	share;			/* a share group's partition */
	struct mq_share_info si;
};

static struct {
	const char *group, *spec;
	enum how how;
	int64_t	v;
	int	json, verbose, dry_run, force;
} opt;

static struct row *rows;
static size_t nrows, rowcap;

static struct row *
add_row(const struct sel *s, int part)
{
	struct row *r;

	if (nrows == rowcap) {
		rowcap = rowcap ? 2 * rowcap : 64;
		if ((rows = realloc(rows, rowcap * sizeof(*rows))) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
	}
	r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->part = part;
	r->value = -1;
	r->m.slot = -1;
	return r;
}

/* For the calls that return a bare errno, with no detail in the log. */
static void
fail_group(int rc, const char *what)
{
	if (rc != 0)
		die(exit_for(rc), "group %s: %s: %s", opt.group, what,
		    mq_strerror(rc));
}

/* -t TIME: earliest, latest, or a time. */
static void
parse_when(const char *s)
{
	if (strcmp(s, "earliest") == 0)
		opt.how = H_EARLIEST;
	else if (strcmp(s, "latest") == 0)
		opt.how = H_LATEST;
	else if (parse_time(s, &opt.v) == 0)
		opt.how = H_TIME;
	else
		usage_error(usage_str, "-t %s: bad time (earliest, latest, "
		    "milliseconds since the epoch, or ISO 8601)", s);
}

/* --reset SPEC: earliest, latest, N, @TIME, +N or -N. */
static void
parse_reset(const char *s)
{
	const char *why;

	if (strcmp(s, "earliest") == 0)
		opt.how = H_EARLIEST;
	else if (strcmp(s, "latest") == 0)
		opt.how = H_LATEST;
	else if (s[0] == '@') {
		opt.how = H_TIME;
		if (parse_time(s + 1, &opt.v) != 0)
			usage_error(usage_str, "--reset %s: bad time "
			    "(milliseconds since the epoch, or ISO 8601)", s);
	} else if ((s[0] == '+' || s[0] == '-') && s[1] >= '0' &&
	    s[1] <= '9') {
		opt.how = s[0] == '+' ? H_FORWARD : H_BACK;
		if (parse_int64(s + 1, 0, INT64_MAX, &opt.v, &why) != 0)
			usage_error(usage_str, "--reset %s: %s", s, why);
	} else if (parse_int64(s, 0, INT64_MAX, &opt.v, &why) == 0)
		opt.how = H_OFFSET;
	else if (s[0] >= '0' && s[0] <= '9' && strcmp(why, "not a number"))
		usage_error(usage_str, "--reset %s: %s", s, why);
	else
		usage_error(usage_str, "--reset %s: expected earliest, latest, "
		    "N, @TIME, +N or -N", s);
	opt.spec = s;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * Parses the operands (topic or topic:0,1) into sels.  A topic named
 * twice is one topic with the union of the partitions.
 */
static struct sel *
parse_sels(char **av, int ac, size_t *np)
{
	struct sel *v, *s;
	const char *why;
	char *colon, *p, num[24];
	size_t n = 0, i, len;
	int64_t part;
	int k;

	if ((v = calloc((size_t)ac + 1, sizeof(*v))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (k = 0; k < ac; k++) {
		if ((colon = strchr(av[k], ':')) != NULL)
			*colon = '\0';
		check_name(av[k]);
		for (i = 0; i < n && strcmp(v[i].name, av[k]) != 0; i++)
			;
		s = &v[i];
		if (i == n) {
			s->name = av[k];
			n++;
		}
		if (colon == NULL) {
			s->all = 1;
			continue;
		}
		for (p = colon + 1; ; p += len + 1) {
			len = strcspn(p, ",");
			snprintf(num, sizeof(num), "%.*s", (int)len, p);
			if (len >= sizeof(num) || parse_int64(num, 0,
			    MQ_PARTITIONS_MAX - 1, &part, &why) != 0)
				usage_error(usage_str, "%s:%s: bad partition "
				    "'%.*s': %s (expected topic:N[,N...])",
				    av[k], colon + 1, (int)len, p,
				    len >= sizeof(num) ? "out of range" : why);
			if ((s->parts = realloc(s->parts, (s->nparts + 1) *
			    sizeof(*s->parts))) == NULL)
				die(EXIT_FAIL, "%s", strerror(ENOMEM));
			s->parts[s->nparts++] = part;
			if (p[len] == '\0')
				break;
		}
	}
	for (i = 0; i < n; i++)
		if (v[i].nparts > 0)
			qsort(v[i].parts, v[i].nparts, sizeof(*v[i].parts),
			    cmp64);
	*np = n;
	return v;
}

/* Does s select partition p of its topic? */
static int
picks(const struct sel *s, int p)
{
	return s->all || bsearch(&(int64_t){ p }, s->parts, s->nparts,
	    sizeof(*s->parts), cmp64) != NULL;
}

/* Notes the topic's partition count; dies on a partition it lacks. */
static void
check_parts(struct sel *s, int total)
{
	size_t i;

	s->total = total;
	for (i = 0; i < s->nparts; i++)
		if (s->parts[i] >= total)
			die(EXIT_USAGE, "%s: partition %lld: no such partition "
			    "(the topic has %d)", s->name,
			    (long long)s->parts[i], total);
}

/*
 * The partition's start and end; with how H_TIME also the first offset
 * at or after the time (-1 for none).  The end is read after the seek,
 * so a record appended meanwhile cannot pass for one past the end.
 */
static void
read_offsets(struct mq_log *l, struct mq_topic *t, int p, int64_t *start,
    int64_t *end, int64_t *at)
{
	struct mq_reader *r;

	fail_on(l, mq_reader_open(t, p, &r));
	if (at != NULL) {
		fail_on(l, mq_reader_seek_time(r, opt.v));
		*at = mq_reader_position(r);
	}
	fail_on(l, mq_reader_offsets(r, start, end));
	if (at != NULL && *at >= *end)
		*at = -1;
	mq_reader_close(r);
}

/* ------------------------------------------------------------------ */
/* Output                                                               */

/* Prints one table line, less the padding its last column may leave. */
static void __attribute__((format(printf, 1, 2)))
line(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
	if ((size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	while (n > 0 && buf[n - 1] == ' ')
		n--;
	printf("%.*s\n", n, buf);
}

/* v as text, or "-" for none (-1). */
static const char *
num(char *buf, int64_t v)
{
	if (v < 0)
		return "-";
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

/* v as JSON: a number, or null for none. */
static void
json_num(int64_t v)
{
	if (v < 0)
		fputs("null", stdout);
	else
		printf("%lld", (long long)v);
}

static int
topic_width(void)
{
	size_t i, w = 15;

	for (i = 0; i < nrows; i++)
		if (strlen(rows[i].s->name) > w)
			w = strlen(rows[i].s->name);
	return (int)w;
}

static void
print_topics(int timed)
{
	char a[24], b[24];
	size_t i;
	int tw = topic_width();

	if (opt.json) {
		for (i = 0; i < nrows; i++) {
			json_sep(i);
			printf("{\"topic\":\"%s\",\"partition\":%d,",
			    rows[i].s->name, rows[i].part);
			if (timed) {
				fputs("\"offset\":", stdout);
				json_num(rows[i].value);
			} else
				printf("\"start\":%lld,\"end\":%lld",
				    (long long)rows[i].start,
				    (long long)rows[i].end);
			putchar('}');
		}
		json_end(nrows);
		return;
	}
	if (timed)
		line("%-*s %-10s %-15s", tw, "TOPIC", "PARTITION", "OFFSET");
	else
		line("%-*s %-10s %-15s %-15s", tw, "TOPIC", "PARTITION",
		    "START-OFFSET", "END-OFFSET");
	for (i = 0; i < nrows; i++) {
		if (timed)
			line("%-*s %-10d %-15s", tw, rows[i].s->name,
			    rows[i].part, num(a, rows[i].value));
		else
			line("%-*s %-10d %-15s %-15s", tw, rows[i].s->name,
			    rows[i].part, num(a, rows[i].start),
			    num(b, rows[i].end));
	}
}

/* The end less the commit, never below 0; -1 when nothing committed. */
static int64_t
lag(const struct row *r)
{
	int64_t from;

	if (r->share) {
		/* Records never delivered, and those in flight. */
		if (r->si.start < 0)
			return r->end - r->start;
		from = r->si.end > r->start ? r->si.end : r->start;
		return (from > r->end ? 0 : r->end - from) +
		    (int64_t)r->si.in_flight;
	}
	if (r->value < 0)
		return -1;
	return r->value > r->end ? 0 : r->end - r->value;
}

/* A row's owner as the table shows it: known only once it said who. */
static int
known(const struct row *r)
{
	return r->held && r->m.slot >= 0;
}

static const char *
host(char *buf, size_t size, const struct row *r)
{
	if (!known(r) || r->m.host[0] == '\0')
		return "-";
	return mq_quote(buf, size, r->m.host, strlen(r->m.host));
}

/* A share group's partitions: kafka-share-groups.sh --describe. */
static void
print_share(void)
{
	char a[24], b[24], c[24];
	size_t i;
	int gw, tw = topic_width();

	gw = strlen(opt.group) > 15 ? (int)strlen(opt.group) : 15;
	line("%-*s %-*s %-10s %-15s %-10s %-10s %-15s %s", gw, "GROUP", tw,
	    "TOPIC", "PARTITION", "START-OFFSET", "IN-FLIGHT", "ARCHIVED",
	    "LOG-END-OFFSET", "LAG");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (!r->share)
			continue;
		line("%-*s %-*s %-10d %-15s %-10zu %-10lld %-15s %s", gw,
		    opt.group, tw, r->s->name, r->part, num(a, r->si.start),
		    r->si.in_flight, (long long)r->si.archived,
		    num(b, r->end), num(c, lag(r)));
	}
}

static void
json_share(const struct row *r)
{
	printf("{\"group\":\"%s\",\"topic\":\"%s\",\"partition\":%d,"
	    "\"share\":true,\"start\":", opt.group, r->s->name, r->part);
	json_num(r->si.start);
	printf(",\"in_flight\":%zu,\"acquired\":%zu,\"archived\":%lld,"
	    "\"accepted\":%lld,\"end\":%lld,\"lag\":%lld}",
	    r->si.in_flight, r->si.acquired, (long long)r->si.archived,
	    (long long)r->si.accepted, (long long)r->end,
	    (long long)lag(r));
}

static void
print_describe(void)
{
	char id[24], client[40], h[80], a[24], b[24], c[24];
	size_t i, classic = 0;
	int gw, tw = topic_width(), cw = 15, hw = 15;

	gw = strlen(opt.group) > 15 ? (int)strlen(opt.group) : 15;
	for (i = 0; i < nrows; i++) {
		if (known(&rows[i]) && cw < 16)
			cw = 16;
		if ((int)strlen(host(h, sizeof(h), &rows[i])) > hw)
			hw = (int)strlen(h);
	}
	if (opt.json) {
		for (i = 0; i < nrows; i++) {
			const struct row *r = &rows[i];

			json_sep(i);
			if (r->share) {
				json_share(r);
				continue;
			}
			printf("{\"group\":\"%s\",\"topic\":\"%s\","
			    "\"partition\":%d,\"committed\":", opt.group,
			    r->s->name, r->part);
			json_num(r->value);
			printf(",\"end\":%lld,\"lag\":", (long long)r->end);
			json_num(lag(r));
			fputs(",\"owner\":", stdout);
			if (!r->held)
				fputs("null", stdout);
			else if (!known(r))
				fputs("{\"id\":null,\"host\":null,"
				    "\"pid\":null}", stdout);
			else {
				printf("{\"id\":\"%016" PRIx64 "\",\"host\":",
				    r->m.id);
				json_str(r->m.host);
				printf(",\"pid\":%ld}", (long)r->m.pid);
			}
			putchar('}');
		}
		json_end(nrows);
		return;
	}
	for (i = 0; i < nrows; i++)
		classic += !rows[i].share;
	if (classic < nrows)
		print_share();
	if (classic == 0 && nrows > 0)
		return;
	line("%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", gw, "GROUP",
	    tw, "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET",
	    "LAG", cw, "CONSUMER-ID", hw, "HOST", "CLIENT-ID");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (r->share)
			continue;
		if (known(r)) {
			snprintf(id, sizeof(id), "%016" PRIx64, r->m.id);
			snprintf(client, sizeof(client), "mq-consume-%ld",
			    (long)r->m.pid);
		} else {
			strcpy(id, "-");
			strcpy(client, "-");
		}
		line("%-*s %-*s %-10d %-15s %-15s %-15s %-*s %-*s %s", gw,
		    opt.group, tw, r->s->name, r->part, num(a, r->value),
		    num(b, r->end), num(c, lag(r)), cw, id, hw,
		    host(h, sizeof(h), r), client);
	}
}

static void
print_plan(void)
{
	char a[24];
	size_t i;

	if (opt.json) {
		for (i = 0; i < nrows; i++) {
			json_sep(i);
			printf("{\"group\":\"%s\",\"topic\":\"%s\","
			    "\"partition\":%d,\"offset\":%lld}", opt.group,
			    rows[i].s->name, rows[i].part,
			    (long long)rows[i].value);
		}
		json_end(nrows);
		return;
	}
	/* Kafka's fixed widths, so scripts written for it still cut. */
	line("%-30s %-30s %-10s %-15s", "GROUP", "TOPIC", "PARTITION",
	    "NEW-OFFSET");
	for (i = 0; i < nrows; i++)
		line("%-30s %-30s %-10d %-15s", opt.group, rows[i].s->name,
		    rows[i].part, num(a, rows[i].value));
}

/* ------------------------------------------------------------------ */
/* Modes                                                                */

static void
topic_offsets(struct mq_log *l, struct sel *sels, size_t nsels, int timed)
{
	struct mq_topic *t;
	struct row *r;
	size_t i;
	int p;

	for (i = 0; i < nsels; i++) {
		t = open_topic(l, sels[i].name);
		check_parts(&sels[i], mq_topic_partitions(t));
		for (p = 0; p < sels[i].total; p++) {
			if (!picks(&sels[i], p))
				continue;
			r = add_row(&sels[i], p);
			read_offsets(l, t, p, &r->start, &r->end,
			    timed && opt.how == H_TIME ? &r->value : NULL);
			if (timed && opt.how == H_EARLIEST)
				r->value = r->start;
			else if (timed && opt.how == H_LATEST)
				r->value = r->end;
		}
		mq_topic_close(t);
	}
	print_topics(timed);
}

/*
 * Opens the group.  A missing one is an error, or NULL with may_miss:
 * for a reset, which makes the group only once its plan holds, and
 * not at all in a dry run.
 */
static struct mq_group *
open_group(struct mq_log *l, int flags, int may_miss)
{
	struct mq_group *g;
	int rc;

	rc = mq_group_open(l, opt.group, flags, &g);
	if (rc == MQ_ENOGROUP && may_miss)
		return NULL;
	if (rc == MQ_ENOGROUP)
		die(EXIT_FAIL, "group %s: %s", opt.group, mq_strerror(rc));
	fail_on(l, rc);
	return g;
}

/*
 * The topics the group has state for, as sels of all partitions.
 * *names holds the strings the sels point into.
 */
static struct sel *
group_sels(struct mq_group *g, char ***names, size_t *np)
{
	struct sel *v;
	size_t n = 0, i;

	*names = NULL;
	if (g != NULL)
		fail_group(mq_group_topics(g, names, &n), "list topics");
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		die(EXIT_FAIL, "%s", strerror(ENOMEM));
	for (i = 0; i < n; i++) {
		v[i].name = (*names)[i];
		v[i].all = 1;
	}
	*np = n;
	return v;
}

/*
 * Opens a sel's topic.  One the group named that has since been deleted
 * is skipped with a warning (NULL); one the user named must exist.
 */
static struct mq_topic *
open_sel(struct mq_log *l, struct sel *s, int from_group)
{
	struct mq_topic *t;
	int rc;

	rc = mq_topic_open(l, s->name, &t);
	if (rc == MQ_ENOTOPIC && from_group) {
		warnmsg("group %s: %s: no such topic; skipped", opt.group,
		    s->name);
		return NULL;
	}
	fail_on(l, rc);
	check_parts(s, mq_topic_partitions(t));
	return t;
}

static void
describe(struct mq_log *l, struct sel *sels, size_t nsels, int from_group)
{
	struct mq_group *g = open_group(l, 0, 0);
	struct mq_member_info *mv;
	struct mq_commit c;
	struct mq_topic *t;
	char **names = NULL;
	struct row *r;
	size_t i, nm;
	int p, live = 0, share, shared = 0, classic = 0;

	if (from_group)
		sels = group_sels(g, &names, &nsels);
	for (i = 0; i < nsels; i++) {
		if ((t = open_sel(l, &sels[i], from_group)) == NULL)
			continue;
		fail_group(mq_group_members(g, sels[i].name, &mv, &nm),
		    sels[i].name);
		free(mv);
		live |= nm > 0;
		if ((share = mq_group_is_share(g, sels[i].name)) < 0)
			fail_group(-share, sels[i].name);
		shared |= share;
		classic |= !share;
		for (p = 0; p < sels[i].total; p++) {
			if (!picks(&sels[i], p))
				continue;
			r = add_row(&sels[i], p);
			read_offsets(l, t, p, &r->start, &r->end, NULL);
			if ((r->share = share)) {
				fail_on(l, mq_share_describe(g, sels[i].name,
				    p, &r->si));
				continue;
			}
			fail_on(l, mq_group_committed(g, sels[i].name, p, &c));
			r->value = c.offset;
			fail_group(mq_group_owner(g, sels[i].name, p, &r->held,
			    &r->m), sels[i].name);
		}
		mq_topic_close(t);
	}
	/* Kafka's words, for people; scripts read the owner column. */
	if (!live && opt.verbose)
		fprintf(stderr, "%s group '%s' has no active members.\n",
		    shared && !classic ? "Share" : "Consumer", opt.group);
	print_describe();
	if (from_group)
		free(sels);
	free(names);
	mq_group_close(g);
}

/*
 * Where --reset puts partition p of topic, given its range and commit
 * (-1: none); -1 with *bad set for a shift with nothing to shift from.
 * @TIME is the caller's: it needs the reader.
 */
static int64_t
target(const char *topic, int p, int64_t start, int64_t end, int64_t c,
    int *bad)
{
	int64_t at;

	switch (opt.how) {
	case H_EARLIEST:
		return start;
	case H_LATEST:
	case H_TIME:
		return end;
	case H_OFFSET:
		return opt.v < start ? start : opt.v > end ? end : opt.v;
	case H_FORWARD:
	case H_BACK:
		break;
	}
	if (c < 0) {
		warnmsg("group %s: %s-%d: nothing committed to shift from",
		    opt.group, topic, p);
		*bad = 1;
		return -1;
	}
	/* Written so that no sum can overflow, whatever N is. */
	if (opt.how == H_FORWARD)
		at = opt.v > end - c ? end : c + opt.v;
	else
		at = opt.v > c - start ? start : c - opt.v;
	return at < start ? start : at > end ? end : at;
}

/*
 * A share partition's start offset, for a shift (-1: none).  Damaged
 * state has none: a reset to a place of its own writes it anew.
 */
static int64_t
share_start(struct mq_log *l, struct mq_group *g, const char *topic, int p)
{
	struct mq_share_info si;
	int rc = mq_share_describe(g, topic, p, &si);

	if (rc == MQ_ECORRUPT) {
		warnmsg("%s", mq_log_errdetail(l));
		return -1;
	}
	fail_on(l, rc);
	return si.start;
}

/* Keeps members out of g; dies as the man page says when it cannot. */
static void
lock_group(struct mq_log *l, struct mq_group *g)
{
	int rc = mq_group_lock(g);

	if (rc == MQ_EACTIVE)
		die(EXIT_BUSY, "%s (stop them, or use --force)",
		    mq_log_errdetail(l));
	fail_on(l, rc);
}

static void
reset(struct mq_log *l, struct sel *sels, size_t nsels, int from_group)
{
	struct mq_group *g = open_group(l, 0, 1);
	struct mq_commit c;
	struct mq_topic *t;
	char **names = NULL;
	int64_t *offsets;
	struct row *r;
	size_t i, j;
	int p, bad = 0, rc, share;

	if (from_group) {
		sels = group_sels(g, &names, &nsels);
		if (nsels == 0)
			usage_error(usage_str, "no topic given and group %s "
			    "has none", opt.group);
	}
	/*
	 * Members kept out from before the plan, so the commits it shifts
	 * from cannot move under it, and a refusal changes nothing.
	 */
	if (g != NULL && !opt.dry_run && !opt.force)
		lock_group(l, g);
	/* The plan, whole, before anything changes. */
	for (i = 0; i < nsels; i++) {
		if ((t = open_sel(l, &sels[i], from_group)) == NULL)
			continue;
		share = g != NULL ? mq_group_is_share(g, sels[i].name) : 0;
		if (share < 0)
			fail_group(-share, sels[i].name);
		for (p = 0; p < sels[i].total; p++) {
			if (!picks(&sels[i], p))
				continue;
			r = add_row(&sels[i], p);
			r->share = share;
			/* Read even when unused: damage stops us here. */
			c.offset = -1;
			if (share)
				c.offset = share_start(l, g, sels[i].name, p);
			else if (g != NULL)
				fail_on(l, mq_group_committed(g, sels[i].name,
				    p, &c));
			read_offsets(l, t, p, &r->start, &r->end,
			    opt.how == H_TIME ? &r->value : NULL);
			if (opt.how != H_TIME)
				r->value = target(sels[i].name, p, r->start,
				    r->end, c.offset, &bad);
			else if (r->value < 0) {
				/* Kafka's to-datetime falls back the same. */
				warnmsg("%s-%d: no record at or after %s; "
				    "using the end offset %lld", sels[i].name,
				    p, opt.spec + 1, (long long)r->end);
				r->value = r->end;
			}
		}
		mq_topic_close(t);
	}
	if (bad)
		exit(EXIT_FAIL);
	if (opt.dry_run) {
		if (opt.verbose)
			warnmsg("group %s: dry run: nothing changed",
			    opt.group);
		print_plan();
		goto out;
	}
	if (g == NULL) {
		g = open_group(l, MQ_GROUP_CREATE, 0);
		if (!opt.force)
			lock_group(l, g);
	}
	for (i = 0, j = 0; i < nsels; i++) {
		if (sels[i].total == 0)
			continue;
		if ((offsets = malloc((size_t)sels[i].total *
		    sizeof(*offsets))) == NULL)
			die(EXIT_FAIL, "%s", strerror(ENOMEM));
		for (p = 0; p < sels[i].total; p++)
			offsets[p] = -1;
		share = j < nrows && rows[j].s == &sels[i] && rows[j].share;
		for (; j < nrows && rows[j].s == &sels[i]; j++)
			offsets[rows[j].part] = rows[j].value;
		rc = (share ? mq_share_reset : mq_group_reset)(g, sels[i].name,
		    offsets, sels[i].total, opt.force);
		free(offsets);
		fail_on(l, rc);
	}
	if (opt.verbose)
		warnmsg("group %s: %zu partition%s reset", opt.group, nrows,
		    nrows == 1 ? "" : "s");
	print_plan();
out:
	if (from_group)
		free(sels);
	free(names);
	mq_group_close(g);
}

static void
delete_group(struct mq_log *l)
{
	int rc = mq_group_delete(l, opt.group, opt.force);

	if (rc == MQ_EACTIVE)
		die(EXIT_BUSY, "%s (stop them, or use --force)",
		    mq_log_errdetail(l));
	fail_on(l, rc);
	if (opt.verbose)
		warnmsg("deleted group %s", opt.group);
}

static void
list_groups(struct mq_log *l)
{
	char **names;
	size_t n, i;

	fail_on(l, mq_group_list(l, &names, &n));
	for (i = 0; i < n; i++) {
		if (opt.json) {
			json_sep(i);
			printf("\"%s\"", names[i]);
		} else
			printf("%s\n", names[i]);
	}
	if (opt.json)
		json_end(n);
	free(names);
}

int
main(int argc, char *argv[])
{
	struct mq_log *l;
	struct sel *sels;
	const char *dir = NULL, *when = NULL;
	size_t nsels, i;
	int ch, groups = 0, del = 0;

	prog = "mq-offsets";
	argv[0] = (char *)prog;		/* for getopt's messages */
	while ((ch = getopt_long(argc, argv, "d:g:hJt:vV", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'd':
			dir = optarg;
			break;
		case 'g':
			check_group(optarg);
			opt.group = optarg;
			break;
		case 'h':
			fputs(usage_str, stdout);
			return EXIT_OK;
		case 'J':
			opt.json = 1;
			break;
		case 't':
			when = optarg;
			break;
		case 'v':
			opt.verbose = 1;
			break;
		case 'V':
			print_version();
		case OPT_DELETE:
			del = 1;
			break;
		case OPT_DRYRUN:
			opt.dry_run = 1;
			break;
		case OPT_FORCE:
			opt.force = 1;
			break;
		case OPT_GROUPS:
			groups = 1;
			break;
		case OPT_RESET:
			opt.spec = optarg;
			break;
		default:
			usage_error(usage_str, NULL);
		}
	}
	argc -= optind;
	argv += optind;

	/* One mode, and only the options that mean something in it. */
	if (groups && (opt.group != NULL || opt.spec != NULL || del ||
	    when != NULL || argc > 0))
		usage_error(usage_str, "--groups takes no group, topic or "
		    "other mode");
	if (opt.spec != NULL && del)
		usage_error(usage_str, "--reset and --delete-group do not go "
		    "together");
	if ((opt.spec != NULL || del) && opt.group == NULL)
		usage_error(usage_str, "%s needs -g", del ? "--delete-group" :
		    "--reset");
	if (opt.dry_run && opt.spec == NULL)
		usage_error(usage_str, "--dry-run goes with --reset");
	if (opt.force && opt.spec == NULL && !del)
		usage_error(usage_str, "--force goes with --reset or "
		    "--delete-group");
	if (when != NULL && opt.group != NULL)
		usage_error(usage_str, "-t does not go with -g");
	if (del && (argc > 0 || opt.json))
		usage_error(usage_str, "--delete-group takes no topic and "
		    "no -J");
	if (!groups && opt.group == NULL && argc == 0)
		usage_error(usage_str, "no topic given");
	if (when != NULL)
		parse_when(when);
	if (opt.spec != NULL)
		parse_reset(opt.spec);
	/* Refuse bad names before touching the disk. */
	sels = parse_sels(argv, argc, &nsels);

	opt.verbose |= isatty(STDERR_FILENO);
	l = open_log(dir, 0);
	if (groups)
		list_groups(l);
	else if (del)
		delete_group(l);
	else if (opt.spec != NULL)
		reset(l, sels, nsels, argc == 0);
	else if (opt.group != NULL)
		describe(l, sels, nsels, argc == 0);
	else
		topic_offsets(l, sels, nsels, when != NULL);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EXIT_FAIL, "stdout: %s", strerror(errno));
	for (i = 0; i < nsels; i++)
		free(sels[i].parts);
	free(sels);
	free(rows);
	mq_log_close(l);
	return EXIT_OK;
}

/* SPDX-License-Identifier: MIT */
/*
 * test_clean.c - a compaction cut short at every step.  The steps are
 * replayed here from docs/format.md ("Compaction files"), one file
 * operation at a time, on a partition directory holding segments A, B, C
 * (compacted into a new A) and D.  After each prefix of the steps, the
 * segment list readers see must be all old or all new, and recovery must
 * leave exactly the old files or exactly the new ones.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "ref.h"
#include "tap.h"

#define A "00000000000000000000"
#define B "00000000000000000100"
#define C "00000000000000000200"
#define D "00000000000000000300"

static char tmpdir[] = "/tmp/mq-test-clean.XXXXXX";

static void
put(int dirfd, const char *name, const char *text)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, 0666);

	if (fd == -1 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	close(fd);
}

/* The contents of a segment's .log as readers open it, or "". */
static const char *
read_seg(int dirfd, int64_t base, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	buf[0] = '\0';
	if ((fd = seg_open_log(dirfd, base)) == -1)
		return buf;
	n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/* The readers' view: "base=contents ..." */
static void
view(int dirfd, char *out, size_t size)
{
	int64_t *bases;
	char buf[32];
	size_t n, i, len = 0;

	out[0] = '\0';
	if (seg_list(dirfd, &bases, &n) != 0)
		abort();
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%lld=%s",
		    i ? " " : "", (long long)bases[i], read_seg(dirfd,
		    bases[i], buf, sizeof(buf)));
	free(bases);
}

/* Every file name in the directory, sorted, space-separated. */
static void
files(const char *dir, char *out, size_t size)
{
	char cmd[256];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "ls %s | tr '\\n' ' '", dir);
	if ((p = popen(cmd, "r")) == NULL)
		abort();
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	pclose(p);
}

/* The first n file operations of a compaction of A, B, C into A. */
static int
steps(int dirfd, int n)
{
	int k = 0;

#define STEP(op) do { if (k++ == n) return 0; op; } while (0)
	STEP(put(dirfd, A ".log.cleaned", "newA"));
	STEP(put(dirfd, A ".index.cleaned", "newAi"));
	STEP(put(dirfd, A ".timeindex.cleaned", "newAt"));
	STEP(linkat(dirfd, B ".log", dirfd, B ".log.deleted", 0));
	STEP(linkat(dirfd, C ".log", dirfd, C ".log.deleted", 0));
	STEP(renameat(dirfd, A ".index.cleaned", dirfd, A ".index.swap"));
	STEP(renameat(dirfd, A ".timeindex.cleaned", dirfd,
	    A ".timeindex.swap"));
	STEP(renameat(dirfd, A ".log.cleaned", dirfd, A ".log.swap"));
	STEP(unlinkat(dirfd, B ".log", 0));
	STEP(unlinkat(dirfd, B ".index", 0));
	STEP(unlinkat(dirfd, B ".timeindex", 0));
	STEP(unlinkat(dirfd, C ".log", 0));
	STEP(unlinkat(dirfd, C ".index", 0));
	STEP(unlinkat(dirfd, C ".timeindex", 0));
	STEP(renameat(dirfd, A ".index.swap", dirfd, A ".index"));
	STEP(renameat(dirfd, A ".timeindex.swap", dirfd, A ".timeindex"));
	STEP(renameat(dirfd, A ".log.swap", dirfd, A ".log"));
	STEP(unlinkat(dirfd, B ".log.deleted", 0));
	STEP(unlinkat(dirfd, C ".log.deleted", 0));
#undef STEP
	return 1;			/* all done */
}

#define COMMIT 8			/* steps before the commit point */

static const char old_view[] = "0=oldA 100=oldB 200=oldC 300=D";
static const char new_view[] = "0=newA 300=D";
static const char old_files[] = A ".index " A ".log " A ".timeindex "
    B ".index " B ".log " B ".timeindex " C ".index " C ".log "
    C ".timeindex " D ".index " D ".log " D ".timeindex ";
static const char new_files[] = A ".index " A ".log " A ".timeindex "
    D ".index " D ".log " D ".timeindex ";

static void
one(int n)
{
	static const char *const segs[] = { A, B, C, D };
	char dir[128], name[64], v[256], f[1024], buf[32];
	const char *what, *want;
	int dirfd, i, done;

	snprintf(dir, sizeof(dir), "%s/p%d", tmpdir, n);
	if (mkdir(dir, 0777) == -1 || (dirfd = open(dir, O_RDONLY |
	    O_DIRECTORY)) == -1)
		abort();
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s.log", segs[i]);
		snprintf(buf, sizeof(buf), "%s%c", i < 3 ? "old" : "",
		    "ABCD"[i]);
		put(dirfd, name, buf);
		snprintf(name, sizeof(name), "%s.index", segs[i]);
		put(dirfd, name, "");
		snprintf(name, sizeof(name), "%s.timeindex", segs[i]);
		put(dirfd, name, "");
	}
	done = steps(dirfd, n);
	view(dirfd, v, sizeof(v));
	ok(strcmp(v, n < COMMIT ? old_view : new_view) == 0,
	    "after %d steps readers see the %s log (%s)", n,
	    n < COMMIT ? "old" : "new", v);

	ok(compact_recover(dirfd, 0, &what) == 0, "look after %d steps", n);
	want = n == 0 || done ? NULL : n < COMMIT ? "would undo" :
	    "would finish";
	ok(what == want || (what && want && strcmp(what, want) == 0),
	    "after %d steps a look says %s", n, want ? want : "nothing");
	files(dir, f, sizeof(f));
	ok(compact_recover(dirfd, 1, &what) == 0, "recover after %d steps",
	    n);
	want = n == 0 || done ? NULL : n < COMMIT ? "undone" : "finished";
	ok(what == want || (what && want && strcmp(what, want) == 0),
	    "after %d steps recovery says %s", n, want ? want : "nothing");
	files(dir, f, sizeof(f));
	ok(strcmp(f, n < COMMIT ? old_files : new_files) == 0,
	    "after %d steps recovery leaves the %s files only (%s)", n,
	    n < COMMIT ? "old" : "new", f);
	view(dirfd, v, sizeof(v));
	ok(strcmp(v, n < COMMIT ? old_view : new_view) == 0,
	    "after %d steps and recovery readers see the %s log", n,
	    n < COMMIT ? "old" : "new");
	close(dirfd);
}

int
main(void)
{
	int n;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	for (n = 0; n <= 19; n++)
		one(n);
	rm_tree(tmpdir);
	return done();
}

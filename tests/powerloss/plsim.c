/* SPDX-License-Identifier: MIT */
/*
 * plsim.c - builds the states a power loss could leave a log directory
 * in, from the directory as it was before a run and the trace of the run
 * (plrec.c), in the manner of ALICE and CrashMonkey.
 *
 *	plsim dump TRACE [FROM [TO]]
 *		prints the operations FROM..TO (1-based), one a line
 *	plsim final INIT TRACE OUT
 *		builds the directory as the run left it (every operation
 *		applied), into OUT/log: a check of the recorder and of the
 *		model against the real directory
 *	plsim build [-n points] [-v variants] [-s seed] INIT TRACE OUT
 *		builds crash states into OUT/K.V, K the crash point (the
 *		first K operations happened) and V the variant, printing
 *		the name of each state built
 *
 * The model is the strict one of a file system that promises only what
 * POSIX and Linux promise:
 *
 * - A file's content is durable as of its last fsync or fdatasync.
 *   What was written or truncated since may be kept (variant 0), lost
 *   (1), kept up to a byte somewhere in the middle (2), kept in size
 *   with the newly allocated part zeroed (3), or kept with some bytes
 *   flipped (4).  Variants 5 and up mix these, file by file, at random.
 *   A write within one 512-byte sector is atomic, as disks make it (and
 *   as PostgreSQL assumes for pg_control): old or new, never cut,
 *   zeroed or flipped.  partition.state is such a write.
 * - A directory's entries are durable as of its last fsync: entries
 *   made, renamed or removed since (creations, renames, unlinks,
 *   mkdirs) are all applied (variants 0, 3, 4), none (1), the first half
 *   (2), or each at random (5 and up).  A rename within a directory is
 *   one change, so the file is at the old name or at the new one; a new
 *   file's content is empty until its own fsync.
 *
 * Each state holds log/ (the log directory), acks (the bytes the run
 * wrote to standard output before the crash point), acklines (for each
 * ack, the lines written up to it), and info (what the state is).  A
 * state identical to one already built (same files, same acks) is not
 * built again.
 *
 * Plain C, no dependencies; one pass over the trace builds every state.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plrec.h"

#define NBASE	5		/* the fixed variants */

struct op {
	int	type, flags;
	uint32_t pid;
	char	*p1, *p2;
	const unsigned char *data;
	size_t	dlen;
	int64_t	off;
};

struct fop {			/* a change to a file since its fsync */
	int	type;		/* PL_WRITE, PL_TRUNC */
	int64_t	off;
	const unsigned char *data;
	size_t	len;
};

struct ent {
	char	*name;
	int	ino;
};

struct entab {
	struct ent *v;
	size_t	n, cap;
};

enum { D_ADD, D_DEL, D_REN };

struct dop {			/* a change to a directory since its fsync */
	int	kind;
	char	*name, *name2;
	int	ino;
};

struct ino {
	int	isdir;
	/* a file: content as of the fsync, and the changes since */
	unsigned char *syn;
	size_t	synlen;
	struct fop *pend;
	size_t	npend, cappend;
	/* a directory: entries now, as of its fsync, and the changes */
	struct entab cur, dur;
	struct dop *dpend;
	size_t	ndpend, capdpend;
};

static struct op *ops;
static size_t nops;
static struct ino *inos;
static size_t ninos, capinos;
static unsigned char *tracebuf;

/* Acks so far: their bytes and cumulative line counts. */
static unsigned char *acks;
static size_t acklen, ackcap;
static size_t *acklines;
static size_t nacks, capacks;

static uint64_t *built;
static size_t nbuilt, capbuilt;
static int nstates, ndup;

static void die(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "plsim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n ? n : 1)) == NULL)
		die("out of memory");
	return p;
}

#define GROW(v, n, cap) do { \
	if ((n) == (cap)) { \
		(cap) = (cap) ? (cap) * 2 : 16; \
		(v) = xrealloc((v), (cap) * sizeof(*(v))); \
	} \
} while (0)

static char *
xstrndup(const char *s, size_t n)
{
	char *p = xrealloc(NULL, n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

/* A small deterministic generator, so a state can be named and rebuilt. */
static uint64_t rng;

static uint32_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* ------------------------------------------------------------ trace */

static void
load_trace(const char *path)
{
	struct plrec_hdr h;
	size_t len = 0, cap = 0, at, cap2 = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		die("%s: %s", path, strerror(errno));
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			tracebuf = xrealloc(tracebuf, cap);
		}
		if ((n = read(fd, tracebuf + len, cap - len)) < 0)
			die("%s: %s", path, strerror(errno));
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	for (at = 0; at < len; ) {
		struct op *o;

		if (len - at < sizeof(h))
			die("%s: truncated record at byte %zu", path, at);
		memcpy(&h, tracebuf + at, sizeof(h));
		if (h.magic != PLREC_MAGIC || h.op < PL_OPEN ||
		    h.op > PL_LINK)
			die("%s: bad record at byte %zu", path, at);
		if (len - at - sizeof(h) < (size_t)h.len1 + h.len2 + h.dlen)
			die("%s: truncated record at byte %zu", path, at);
		GROW(ops, nops, cap2);
		o = &ops[nops++];
		at += sizeof(h);
		o->type = h.op;
		o->flags = h.flags;
		o->pid = h.pid;
		o->off = h.off;
		o->p1 = h.len1 ? xstrndup((char *)tracebuf + at, h.len1) : NULL;
		at += h.len1;
		o->p2 = h.len2 ? xstrndup((char *)tracebuf + at, h.len2) : NULL;
		at += h.len2;
		o->data = tracebuf + at;
		o->dlen = h.dlen;
		at += h.dlen;
	}
}

static const char *const opname[] = {
	[PL_OPEN] = "open", [PL_WRITE] = "write", [PL_TRUNC] = "truncate",
	[PL_RENAME] = "rename", [PL_UNLINK] = "unlink", [PL_MKDIR] = "mkdir",
	[PL_RMDIR] = "rmdir", [PL_FSYNC] = "fsync", [PL_DIRSYNC] = "dirsync",
	[PL_ACK] = "ACK", [PL_SYNCALL] = "sync", [PL_LINK] = "link"
};

static void
print_op(FILE *f, size_t i)
{
	const struct op *o = &ops[i];
	size_t k;

	fprintf(f, "%5zu [%u] %-8s ", i + 1, o->pid, opname[o->type]);
	switch (o->type) {
	case PL_OPEN:
		fprintf(f, "%s%s%s%s", o->p1, o->flags & PLF_CREAT ?
		    " O_CREAT" : "", o->flags & PLF_EXCL ? "|O_EXCL" : "",
		    o->flags & PLF_TRUNC ? " O_TRUNC" : "");
		break;
	case PL_WRITE:
		fprintf(f, "%s %zu bytes at %lld", o->p1, o->dlen,
		    (long long)o->off);
		break;
	case PL_TRUNC:
		fprintf(f, "%s to %lld", o->p1, (long long)o->off);
		break;
	case PL_RENAME:
		fprintf(f, "%s -> %s", o->p1, o->p2);
		break;
	case PL_ACK:
		fputc('"', f);
		for (k = 0; k < o->dlen && k < 60; k++)
			if (o->data[k] == '\n')
				fputs("\\n", f);
			else if (o->data[k] < 32 || o->data[k] > 126)
				fprintf(f, "\\x%02x", o->data[k]);
			else
				fputc(o->data[k], f);
		fprintf(f, "%s\"", k < o->dlen ? "..." : "");
		break;
	case PL_SYNCALL:
		break;
	default:
		fprintf(f, "%s", o->p1 ? o->p1 : "");
	}
	fputc('\n', f);
}

/* ------------------------------------------------------------ model */

static int
new_ino(int isdir)
{
	GROW(inos, ninos, capinos);
	memset(&inos[ninos], 0, sizeof(inos[0]));
	inos[ninos].isdir = isdir;
	return (int)ninos++;
}

static struct ent *
ent_find(struct entab *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

static void
ent_set(struct entab *t, const char *name, int ino)
{
	struct ent *e;

	if ((e = ent_find(t, name)) != NULL) {
		e->ino = ino;
		return;
	}
	GROW(t->v, t->n, t->cap);
	t->v[t->n].name = xstrndup(name, strlen(name));
	t->v[t->n++].ino = ino;
}

static void
ent_del(struct entab *t, const char *name)
{
	struct ent *e;

	if ((e = ent_find(t, name)) == NULL)
		return;
	free(e->name);
	*e = t->v[--t->n];
}

static void
ent_copy(struct entab *to, const struct entab *from)
{
	size_t i;

	for (i = 0; i < to->n; i++)
		free(to->v[i].name);
	to->n = 0;
	for (i = 0; i < from->n; i++)
		ent_set(to, from->v[i].name, from->v[i].ino);
}

static void
dpend_add(int dir, int kind, const char *name, const char *name2, int ino)
{
	struct ino *d = &inos[dir];

	GROW(d->dpend, d->ndpend, d->capdpend);
	d->dpend[d->ndpend].kind = kind;
	d->dpend[d->ndpend].name = xstrndup(name, strlen(name));
	d->dpend[d->ndpend].name2 = name2 ? xstrndup(name2, strlen(name2)) :
	    NULL;
	d->dpend[d->ndpend++].ino = ino;
}

static void
fpend_add(int f, int type, int64_t off, const unsigned char *data,
    size_t len)
{
	struct ino *i = &inos[f];

	GROW(i->pend, i->npend, i->cappend);
	i->pend[i->npend].type = type;
	i->pend[i->npend].off = off;
	i->pend[i->npend].data = data;
	i->pend[i->npend++].len = len;
}

/*
 * Looks path up in the current tree.  Returns the inode or -1; *dir and
 * *base get the parent directory and the last name (dir -1 when the
 * parent itself is missing).
 */
static int
lookup(const char *path, int *dir, const char **base)
{
	char buf[4096], *s, *slash;
	int cur = 0;
	struct ent *e;

	if (strcmp(path, ".") == 0) {
		if (dir)
			*dir = -1;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", path);
	s = buf;
	while ((slash = strchr(s, '/')) != NULL) {
		*slash = '\0';
		if ((e = ent_find(&inos[cur].cur, s)) == NULL ||
		    !inos[e->ino].isdir) {
			if (dir)
				*dir = -1;
			return -1;
		}
		cur = e->ino;
		s = slash + 1;
	}
	if (dir)
		*dir = cur;
	if (base)
		*base = path + (s - buf);
	e = ent_find(&inos[cur].cur, s);
	return e ? e->ino : -1;
}

/* File content with changes applied: the first nfull whole, then
 * cut bytes of the next write (cut 0: none of it). */
static unsigned char *
apply(const struct ino *f, size_t nfull, size_t cut, size_t *lenp)
{
	size_t len = f->synlen, cap = len, i, end;
	unsigned char *p = xrealloc(NULL, cap);

	if (len > 0)
		memcpy(p, f->syn, len);
	for (i = 0; i < f->npend && i <= nfull; i++) {
		const struct fop *c = &f->pend[i];
		size_t n = c->len;

		if (i == nfull) {
			if (c->type != PL_WRITE || cut == 0)
				break;
			n = cut < n ? cut : n;
		}
		if (c->type == PL_TRUNC) {
			end = (size_t)c->off;
			if (end > cap) {
				p = xrealloc(p, end);
				cap = end;
			}
			if (end > len)
				memset(p + len, 0, end - len);
			len = end;
			continue;
		}
		end = (size_t)c->off + n;
		if (end > cap) {
			cap = end * 2;
			p = xrealloc(p, cap);
		}
		if ((size_t)c->off > len)
			memset(p + len, 0, (size_t)c->off - len);
		memcpy(p + c->off, c->data, n);
		if (end > len)
			len = end;
	}
	*lenp = len;
	return p;
}

static void
fsync_file(int f)
{
	struct ino *i = &inos[f];
	unsigned char *p;
	size_t len;

	if (i->isdir || i->npend == 0)
		return;
	p = apply(i, i->npend, 0, &len);
	free(i->syn);
	i->syn = p;
	i->synlen = len;
	i->npend = 0;
}

static void
fsync_dir(int d)
{
	size_t k;

	ent_copy(&inos[d].dur, &inos[d].cur);
	for (k = 0; k < inos[d].ndpend; k++) {
		free(inos[d].dpend[k].name);
		free(inos[d].dpend[k].name2);
	}
	inos[d].ndpend = 0;
}

static void
step(size_t k)
{
	const struct op *o = &ops[k];
	const char *base, *base2;
	int f, d, f2, d2;
	size_t i, n;

	switch (o->type) {
	case PL_OPEN:
		f = lookup(o->p1, &d, &base);
		if (d == -1 && f == -1)
			die("op %zu: open %s: no parent directory", k + 1,
			    o->p1);
		if (f == -1) {
			if (!(o->flags & PLF_CREAT))
				die("op %zu: open %s: no such file", k + 1,
				    o->p1);
			f = new_ino(0);
			ent_set(&inos[d].cur, base, f);
			dpend_add(d, D_ADD, base, NULL, f);
		}
		if ((o->flags & PLF_TRUNC) && !inos[f].isdir)
			fpend_add(f, PL_TRUNC, 0, NULL, 0);
		break;
	case PL_WRITE:
	case PL_TRUNC:
		if ((f = lookup(o->p1, NULL, NULL)) == -1 || inos[f].isdir)
			die("op %zu: %s: no such file", k + 1, o->p1);
		if (o->off < 0)
			die("op %zu: %s: unknown offset", k + 1, o->p1);
		fpend_add(f, o->type, o->off, o->data, o->dlen);
		break;
	case PL_RENAME:
		if ((f = lookup(o->p1, &d, &base)) == -1)
			die("op %zu: rename %s: no such file", k + 1, o->p1);
		f2 = lookup(o->p2, &d2, &base2);
		if (d2 == -1)
			die("op %zu: rename to %s: no parent", k + 1, o->p2);
		if (f2 == f)
			break;
		ent_del(&inos[d].cur, base);
		ent_set(&inos[d2].cur, base2, f);
		if (d == d2)
			dpend_add(d, D_REN, base, base2, f);
		else {
			dpend_add(d, D_DEL, base, NULL, f);
			dpend_add(d2, D_ADD, base2, NULL, f);
		}
		break;
	case PL_UNLINK:
	case PL_RMDIR:
		if ((f = lookup(o->p1, &d, &base)) == -1)
			die("op %zu: unlink %s: no such file", k + 1, o->p1);
		ent_del(&inos[d].cur, base);
		dpend_add(d, D_DEL, base, NULL, f);
		break;
	case PL_MKDIR:
		if (lookup(o->p1, &d, &base) != -1 || d == -1)
			die("op %zu: mkdir %s: exists or no parent", k + 1,
			    o->p1);
		f = new_ino(1);
		ent_set(&inos[d].cur, base, f);
		dpend_add(d, D_ADD, base, NULL, f);
		break;
	case PL_FSYNC:
	case PL_DIRSYNC:
		if ((f = lookup(o->p1, NULL, NULL)) == -1)
			die("op %zu: sync %s: no such file", k + 1, o->p1);
		if (inos[f].isdir)
			fsync_dir(f);
		else
			fsync_file(f);
		break;
	case PL_SYNCALL:
		n = ninos;
		for (i = 0; i < n; i++)
			if (inos[i].isdir)
				fsync_dir((int)i);
			else
				fsync_file((int)i);
		break;
	case PL_ACK:
		while (ackcap - acklen < o->dlen) {
			ackcap = ackcap ? ackcap * 2 : 4096;
			acks = xrealloc(acks, ackcap);
		}
		memcpy(acks + acklen, o->data, o->dlen);
		acklen += o->dlen;
		GROW(acklines, nacks, capacks);
		n = nacks ? acklines[nacks - 1] : 0;
		for (i = 0; i < o->dlen; i++)
			n += o->data[i] == '\n';
		acklines[nacks++] = n;
		break;
	case PL_LINK:
		die("op %zu: %s: links are not modelled", k + 1, o->p1);
	}
}

/* Reads the directory as it was before the run: all of it durable. */
static void
load_tree(int dfd, int dir)
{
	DIR *dp;
	struct dirent *de;
	struct stat sb;
	int fd, ino;
	ssize_t n;

	if ((dp = fdopendir(dfd)) == NULL)
		die("opendir: %s", strerror(errno));
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == -1)
			die("%s: %s", de->d_name, strerror(errno));
		if (S_ISDIR(sb.st_mode)) {
			ino = new_ino(1);
			if ((fd = openat(dfd, de->d_name, O_RDONLY |
			    O_DIRECTORY)) == -1)
				die("%s: %s", de->d_name, strerror(errno));
			load_tree(fd, ino);
		} else if (S_ISREG(sb.st_mode)) {
			ino = new_ino(0);
			inos[ino].synlen = (size_t)sb.st_size;
			inos[ino].syn = xrealloc(NULL, inos[ino].synlen);
			if ((fd = openat(dfd, de->d_name, O_RDONLY)) == -1 ||
			    (n = read(fd, inos[ino].syn, inos[ino].synlen)) !=
			    sb.st_size)
				die("%s: cannot read", de->d_name);
			close(fd);
		} else
			die("%s: not a file or directory", de->d_name);
		ent_set(&inos[dir].cur, de->d_name, ino);
		ent_set(&inos[dir].dur, de->d_name, ino);
	}
	closedir(dp);
}

/* ------------------------------------------------------------ states */

enum { V_KEEP, V_DROP, V_PREFIX, V_ZERO, V_GARBLE };

static const char *const vname[] = { "keep", "drop", "prefix", "zero",
	"garble" };

struct out {
	struct entab *tabs;	/* each directory's entries in the state */
	int	variant;
	uint64_t hash;
	FILE	*info;
};

static void
hash_bytes(uint64_t *h, const void *p, size_t n)
{
	const unsigned char *s = p;

	while (n-- > 0) {
		*h ^= *s++;
		*h *= 0x100000001b3ull;
	}
}

/* Does write c fall within one sector? */
static int
atomic(const struct fop *c)
{
	return c->len > 0 && c->len <= 512 &&
	    c->off / 512 == (c->off + (int64_t)c->len - 1) / 512;
}

/* A file's content in a state: pass 0 hashes, pass 1 writes too. */
static unsigned char *
content(const struct ino *f, int mode, size_t *lenp, char *how,
    size_t howlen)
{
	size_t total = 0, want, i, nfull = f->npend, cut = 0, len, a, b;
	unsigned char *p;

	snprintf(how, howlen, "%s", vname[mode]);
	if (f->npend == 0)
		mode = V_KEEP;
	if (mode == V_DROP)
		nfull = 0;
	if (mode == V_PREFIX) {
		/* Cut in the middle of the bytes written since the sync,
		 * half-way for the fixed variant, anywhere for a mix. */
		for (i = 0; i < f->npend; i++)
			total += f->pend[i].type == PL_WRITE ? f->pend[i].len :
			    0;
		want = rng ? (total ? rnd() % total : 0) : total / 2;
		for (nfull = 0; nfull < f->npend; nfull++) {
			const struct fop *c = &f->pend[nfull];

			if (c->type != PL_WRITE)
				continue;
			if (want < c->len) {
				cut = atomic(c) ? 0 : want;
				break;
			}
			want -= c->len;
		}
		snprintf(how, howlen, "prefix: %zu whole changes of %zu, "
		    "%zu bytes of the next", nfull, f->npend, cut);
	}
	p = apply(f, nfull, cut, &len);
	if (mode == V_ZERO || mode == V_GARBLE) {
		for (i = 0; i < f->npend; i++) {
			const struct fop *c = &f->pend[i];

			if (c->type != PL_WRITE || atomic(c))
				continue;
			a = (size_t)c->off;
			b = a + c->len < len ? a + c->len : len;
			/* Only newly allocated space comes back as zeros;
			 * an overwrite leaves old or new bytes. */
			if (mode == V_ZERO && a < f->synlen)
				a = f->synlen;
			if (a >= b)
				continue;
			if (mode == V_ZERO)
				memset(p + a, 0, b - a);
			else if (rng) {
				size_t m = 1 + rnd() % 3, j;

				for (j = 0; j < m; j++)
					p[a + rnd() % (b - a)] ^=
					    (unsigned char)(1 + rnd() % 255);
			} else {
				p[a] ^= 0xff;
				p[a + (b - a) / 2] ^= 0x5a;
				p[b - 1] ^= 0x01;
			}
		}
	}
	*lenp = len;
	return p;
}

static int
cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct ent *)a)->name,
	    ((const struct ent *)b)->name);
}

/* Picks each file's variant: fixed, or at random for a mix. */
static int
file_mode(int variant)
{
	return variant < NBASE ? variant : (int)(rnd() % NBASE);
}

/*
 * Walks the state's tree from dir.  With fd -1 only hashes (the random
 * choices are replayed from the same seed when writing).
 */
static void
walk(struct out *s, int dir, int fd, const char *path)
{
	struct entab *t = &s->tabs[dir];
	char sub[4096], how[128];
	unsigned char *p;
	size_t i, len;
	int cfd, ino;

	if (t->n > 1)
		qsort(t->v, t->n, sizeof(t->v[0]), cmp_ent);
	for (i = 0; i < t->n; i++) {
		ino = t->v[i].ino;
		snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "/" : "",
		    t->v[i].name);
		hash_bytes(&s->hash, sub, strlen(sub) + 1);
		if (inos[ino].isdir) {
			hash_bytes(&s->hash, "/", 1);
			cfd = -1;
			if (fd != -1) {
				if (mkdirat(fd, t->v[i].name, 0777) == -1 ||
				    (cfd = openat(fd, t->v[i].name, O_RDONLY |
				    O_DIRECTORY)) == -1)
					die("%s: %s", sub, strerror(errno));
			}
			walk(s, ino, cfd, sub);
			if (cfd != -1)
				close(cfd);
			continue;
		}
		p = content(&inos[ino], file_mode(s->variant), &len, how,
		    sizeof(how));
		hash_bytes(&s->hash, &len, sizeof(len));
		hash_bytes(&s->hash, p, len);
		if (fd != -1) {
			if ((cfd = openat(fd, t->v[i].name, O_WRONLY |
			    O_CREAT | O_EXCL, 0666)) == -1 ||
			    write(cfd, p, len) != (ssize_t)len)
				die("%s: %s", sub, strerror(errno));
			close(cfd);
			if (inos[ino].npend > 0)
				fprintf(s->info, "file %s: %s (%zu changes "
				    "unsynced, %zu bytes synced, %zu in "
				    "state)\n", sub, how, inos[ino].npend,
				    inos[ino].synlen, len);
		}
		free(p);
	}
}

/* Every directory's entries in the state, per the variant. */
static void
make_tabs(struct out *s, FILE *info)
{
	size_t d, k, keep;

	s->tabs = xrealloc(NULL, ninos * sizeof(*s->tabs));
	memset(s->tabs, 0, ninos * sizeof(*s->tabs));
	for (d = 0; d < ninos; d++) {
		struct ino *di = &inos[d];

		if (!di->isdir)
			continue;
		ent_copy(&s->tabs[d], &di->dur);
		keep = s->variant == V_DROP ? 0 : s->variant == V_PREFIX ?
		    di->ndpend / 2 : di->ndpend;
		for (k = 0; k < di->ndpend; k++) {
			const struct dop *c = &di->dpend[k];
			int on = s->variant < NBASE ? k < keep : rnd() % 2;

			if (info != NULL)
				fprintf(info, "entry %s %s%s%s: %s\n",
				    c->kind == D_ADD ? "add" : c->kind ==
				    D_DEL ? "remove" : "rename", c->name,
				    c->name2 ? " -> " : "", c->name2 ?
				    c->name2 : "", on ? "applied" :
				    "not applied");
			if (!on)
				continue;
			if (c->kind == D_ADD)
				ent_set(&s->tabs[d], c->name, c->ino);
			else if (c->kind == D_DEL)
				ent_del(&s->tabs[d], c->name);
			else if (ent_find(&s->tabs[d], c->name) != NULL) {
				ent_del(&s->tabs[d], c->name);
				ent_set(&s->tabs[d], c->name2, c->ino);
			}
		}
	}
}

static void
free_tabs(struct out *s)
{
	size_t d, i;

	for (d = 0; d < ninos; d++) {
		for (i = 0; i < s->tabs[d].n; i++)
			free(s->tabs[d].v[i].name);
		free(s->tabs[d].v);
	}
	free(s->tabs);
}

static void
write_file(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL || (n > 0 && fwrite(p, 1, n, f) != n) ||
	    fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/* Builds state k.variant, unless an identical one was built. */
static void
build(const char *outdir, size_t k, int variant, uint64_t seed)
{
	struct out s = { .variant = variant };
	char dir[4096], name[64], *buf;
	uint64_t h;
	size_t i, len;
	int fd;

	/* Pass 1 hashes the state, pass 2 replays the same choices. */
	rng = variant < NBASE ? 0 : seed * 0x9e3779b97f4a7c15ull +
	    k * 1000003u + (uint64_t)variant;
	if (variant >= NBASE && rng == 0)
		rng = 1;
	h = rng;
	s.hash = 0xcbf29ce484222325ull;
	hash_bytes(&s.hash, &acklen, sizeof(acklen));
	make_tabs(&s, NULL);
	walk(&s, 0, -1, "");
	free_tabs(&s);
	nstates++;
	for (i = 0; i < nbuilt; i++)
		if (built[i] == s.hash) {
			ndup++;
			return;
		}
	GROW(built, nbuilt, capbuilt);
	built[nbuilt++] = s.hash;

	snprintf(name, sizeof(name), "%zu.%d", k, variant);
	snprintf(dir, sizeof(dir), "%s/%s", outdir, name);
	if (mkdir(dir, 0777) == -1)
		die("%s: %s", dir, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/%s/log", outdir, name);
	if (mkdir(dir, 0777) == -1 || (fd = open(dir, O_RDONLY |
	    O_DIRECTORY)) == -1)
		die("%s: %s", dir, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/%s", outdir, name);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "/info");
	if ((s.info = fopen(dir, "w")) == NULL)
		die("%s: %s", dir, strerror(errno));
	fprintf(s.info, "state %s: crash after op %zu of %zu, variant %s%s\n",
	    name, k, nops, variant < NBASE ? vname[variant] : "mix",
	    variant < NBASE ? "" : " (each file and entry at random)");
	rng = h;
	make_tabs(&s, s.info);
	walk(&s, 0, fd, "");
	free_tabs(&s);
	close(fd);
	fclose(s.info);
	snprintf(dir, sizeof(dir), "%s/%s", outdir, name);
	write_file(dir, "acks", acks, acklen);
	len = 0;
	buf = xrealloc(NULL, nacks * 24 + 1);
	for (i = 0; i < nacks; i++)
		len += (size_t)sprintf(buf + len, "%zu\n", acklines[i]);
	write_file(dir, "acklines", buf, len);
	free(buf);
	printf("%s\n", name);
}

/*
 * Which crash points to build when there are more than max: the ones
 * next to a sync or an ack first (where durability is promised), then
 * evenly spaced others.
 */
static unsigned char *
choose_points(size_t max)
{
	unsigned char *pick = xrealloc(NULL, nops + 1);
	size_t k, want = 0, step, n = 0;

	memset(pick, max >= nops + 1, nops + 1);
	if (max >= nops + 1)
		return pick;
	for (k = 0; k <= nops; k++) {
		int t0 = k > 0 ? ops[k - 1].type : 0;
		int t1 = k < nops ? ops[k].type : 0;

		pick[k] = k == 0 || k == nops || t0 == PL_FSYNC ||
		    t0 == PL_DIRSYNC || t0 == PL_ACK || t1 == PL_FSYNC ||
		    t1 == PL_DIRSYNC || t1 == PL_ACK;
		want += pick[k];
	}
	if (want > max) {
		/* Too many even so: every step-th of them. */
		step = (want + max - 1) / max;
		for (k = 0; k <= nops; k++)
			if (pick[k] && n++ % step != 0)
				pick[k] = 0;
		return pick;
	}
	step = (nops + 1) / (max - want + 1) + 1;
	for (k = 0; k <= nops; k += step)
		pick[k] = 1;
	return pick;
}

static void
load_init(const char *init)
{
	int fd;

	new_ino(1);			/* the log directory, inode 0 */
	if ((fd = open(init, O_RDONLY | O_DIRECTORY)) == -1)
		die("%s: %s", init, strerror(errno));
	load_tree(fd, 0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: plsim dump trace [from [to]]\n"
	    "       plsim final init trace out\n"
	    "       plsim build [-n points] [-v variants] [-s seed] init "
	    "trace out\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	size_t k, from = 1, to, maxpts = (size_t)-1;
	unsigned char *pick;
	uint64_t seed = 1;
	int nvar = NBASE, c, v, npts = 0;

	if (argc < 2)
		usage();
	if (strcmp(argv[1], "dump") == 0) {
		if (argc < 3 || argc > 5)
			usage();
		load_trace(argv[2]);
		to = nops;
		if (argc > 3)
			from = strtoul(argv[3], NULL, 10);
		if (argc > 4)
			to = strtoul(argv[4], NULL, 10);
		if (from < 1)
			from = 1;
		for (k = from; k <= to && k <= nops; k++)
			print_op(stdout, k - 1);
		return 0;
	}
	if (strcmp(argv[1], "final") == 0) {
		if (argc != 5)
			usage();
		load_trace(argv[3]);
		load_init(argv[2]);
		for (k = 0; k < nops; k++)
			step(k);
		/* Everything synced: the state is the tree as it is now. */
		for (k = 0; k < ninos; k++)
			if (inos[k].isdir)
				fsync_dir((int)k);
		build(argv[4], nops, V_KEEP, 0);
		return 0;
	}
	if (strcmp(argv[1], "build") != 0)
		usage();
	optind = 2;
	while ((c = getopt(argc, argv, "n:v:s:")) != -1)
		switch (c) {
		case 'n':
			maxpts = strtoul(optarg, NULL, 10);
			if (maxpts < 2)
				maxpts = 2;
			break;
		case 'v':
			nvar = atoi(optarg);
			if (nvar < 1)
				nvar = 1;
			break;
		case 's':
			seed = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	if (argc - optind != 3)
		usage();
	load_trace(argv[optind + 1]);
	load_init(argv[optind]);
	pick = choose_points(maxpts);
	for (k = 0; ; k++) {
		if (pick[k]) {
			npts++;
			for (v = 0; v < nvar; v++)
				build(argv[optind + 2], k, v, seed);
		}
		if (k == nops)
			break;
		step(k);
	}
	fprintf(stderr, "plsim: %zu ops, %d crash points, %d states, %d "
	    "built (%d duplicates)\n", nops, npts, nstates, nstates - ndup,
	    ndup);
	free(pick);
	return 0;
}

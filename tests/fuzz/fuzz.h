/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - what the harnesses share: a scratch directory made once per
 * process (files are cleared each run, which is much cheaper than a new
 * directory), files written whole, and CRCs fixed up so that mutations
 * get past the checksums into the code behind them.
 */
#ifndef MQ_FUZZ_H
#define MQ_FUZZ_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir[PATH_MAX];

static inline int
fuzz_rm1(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	remove(path);
	return 0;
}

static inline void
fuzz_rmdir(void)
{
	if (fuzz_dir[0] != '\0')
		nftw(fuzz_dir, fuzz_rm1, 16, FTW_DEPTH | FTW_PHYS);
}

/* The scratch directory, made at the first call; abort()s if it cannot. */
static inline const char *
fuzz_tmpdir(void)
{
	const char *tmp;

	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	/* TMPDIR lets make fuzz put the files on a tmpfs. */
	if ((tmp = getenv("TMPDIR")) == NULL || *tmp == '\0' ||
	    strlen(tmp) > sizeof(fuzz_dir) - 20)
		tmp = "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/mq-fuzz.XXXXXX", tmp);
	if (mkdtemp(fuzz_dir) == NULL) {
		perror(fuzz_dir);
		abort();
	}
	atexit(fuzz_rmdir);
	return fuzz_dir;
}

/* Removes the plain files in dirfd. */
static inline void
fuzz_clear(int dirfd)
{
	struct dirent *de;
	DIR *d;
	int fd;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL)
		abort();
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' || (de->d_name[1] != '\0' &&
		    (de->d_name[1] != '.' || de->d_name[2] != '\0')))
			unlinkat(dirfd, de->d_name, 0);
	closedir(d);
}

/* Writes name in dirfd: n bytes of p.  Returns the fd, read-write. */
static inline int
fuzz_file(int dirfd, const char *name, const void *p, size_t n)
{
	int fd;

	if ((fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0666)) == -1 || (n > 0 && pwrite_all(fd, p, n, 0) != 0)) {
		perror(name);
		abort();
	}
	return fd;
}

/*
 * Gives every batch whose length fits in the buffer its right CRC,
 * walking the lengths from the start.  Without it a mutation of a batch
 * almost never gets past mq_batch_check's CRC.
 */
static inline void
fuzz_fix_batches(unsigned char *p, size_t n)
{
	size_t pos = 0, len;

	while (n - pos >= MQ_BATCH_HEADER) {
		len = (size_t)get_be32(p + pos + B_LENGTH) + B_LOG_OVERHEAD;
		if (len < MQ_BATCH_HEADER || len > n - pos)
			break;
		put_be32(p + pos + B_CRC, mq_crc32c(0, p + pos + B_ATTRIBUTES,
		    len - B_ATTRIBUTES));
		pos += len;
	}
}

/* A private copy of n bytes: ASan then sees a read past them. */
static inline unsigned char *
fuzz_dup(const void *p, size_t n)
{
	unsigned char *q = malloc(n > 0 ? n : 1);

	if (q == NULL)
		abort();
	if (n > 0)
		memcpy(q, p, n);
	return q;
}

/* Fails the run with msg: a property that must hold did not. */
#define FUZZ_ASSERT(cond, msg) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, msg);\
		abort();						\
	}								\
} while (0)

#endif

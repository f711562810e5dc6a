/* SPDX-License-Identifier: MIT */
/* plrec.h - the trace format plrec.c writes and plsim.c reads. */
#ifndef PLREC_H
#define PLREC_H

#include <stdint.h>

#define PLREC_MAGIC	0x31524c50u	/* "PLR1" read as little-endian */

enum {
	PL_OPEN = 1,		/* open with O_CREAT and/or O_TRUNC */
	PL_WRITE,		/* off, data */
	PL_TRUNC,		/* off = new length */
	PL_RENAME,		/* path 1 -> path 2 */
	PL_UNLINK,
	PL_MKDIR,
	PL_RMDIR,
	PL_FSYNC,		/* fsync or fdatasync of a file */
	PL_DIRSYNC,		/* fsync of a directory */
	PL_ACK,			/* a write to standard output: data */
	PL_SYNCALL,		/* sync(2), syncfs(2) */
	PL_LINK			/* link or symlink: not modelled */
};

enum { PLF_CREAT = 1, PLF_TRUNC = 2, PLF_EXCL = 4 };

struct plrec_hdr {
	uint32_t magic;
	uint16_t op;
	uint16_t flags;
	uint32_t pid;
	uint32_t len1;
	uint32_t len2;
	uint32_t dlen;
	int64_t	off;
};

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - topic.yaml's parser (config.c over libyaml).  The input
 * is the file.  A config that parses must write out (as mq-alter writes
 * it) and parse back the same; one that does not must say where and why.
 */
#include <sys/mman.h>

#include "fuzz.h"

static void
same_config(const struct mq_config *a, int pa, const struct mq_config *b,
    int pb)
{
	char va[32], vb[32];
	int i;

	FUZZ_ASSERT(pa == pb, "partitions differ after a round trip");
	for (i = 0; i < mq_config_nkeys(); i++) {
		FUZZ_ASSERT(mq_config_isset(a, i) == mq_config_isset(b, i),
		    "a key's set bit differs after a round trip");
		FUZZ_ASSERT(strcmp(mq_config_value(a, i, va),
		    mq_config_value(b, i, vb)) == 0,
		    "a value differs after a round trip");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mq_config c, c2;
	struct mq_conferr err;
	char *text = (char *)fuzz_dup(data, size), *out;
	int np = -7, np2, rc, fd;
	off_t len;

	rc = mq_config_parse(text, size, &c, &np, &err);
	if (rc != 0) {
		FUZZ_ASSERT(rc == MQ_EBADCONF, "parse: bad return");
		FUZZ_ASSERT(err.msg[0] != '\0' && memchr(err.msg, '\0',
		    sizeof(err.msg)) != NULL, "parse: no reason");
		FUZZ_ASSERT(np == -7, "parse: partitions set on failure");
		free(text);
		return 0;
	}
	FUZZ_ASSERT(np >= 1 && np <= MQ_PARTITIONS_MAX, "partitions");
	if ((fd = memfd_create("fuzz", MFD_CLOEXEC)) == -1)
		abort();
	FUZZ_ASSERT(mq_config_write(fd, &c, np) == 0,
	    "a config that parsed does not write");
	if ((len = lseek(fd, 0, SEEK_END)) <= 0 ||
	    (out = malloc((size_t)len)) == NULL ||
	    pread(fd, out, (size_t)len, 0) != len)
		abort();
	rc = mq_config_parse(out, (size_t)len, &c2, &np2, &err);
	if (rc != 0)
		fprintf(stderr, "%zu:%zu: %s\n", err.line, err.col, err.msg);
	FUZZ_ASSERT(rc == 0, "what mq_config_write wrote does not parse");
	same_config(&c, np, &c2, np2);
	free(out);
	close(fd);
	free(text);
	return 0;
}

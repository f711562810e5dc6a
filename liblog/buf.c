/* SPDX-License-Identifier: MIT */
/*
 * buf.c - the growable byte buffer the round-trip formats write into, and
 * the release of what a decoded record owns.
 *
 * Encoders append many small pieces and the odd megabyte-sized value, so
 * the buffer grows geometrically: appending n bytes one piece at a time
 * costs O(n) copies in all, not O(n^2).  Every size computation is
 * checked, because the sizes come from records a stranger may have
 * written and a wrapped size_t would turn into a short allocation.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define BUF_MIN 256			/* first allocation, bytes */

/*
 * Makes room for more bytes past b->len.  Returns 0, or ENOMEM when the
 * allocation fails or the size would not fit in a size_t; b is unchanged
 * then.
 */
int
mq_buf_reserve(struct mq_buf *b, size_t more)
{
	size_t need, cap;
	char *p;

	if (more > SIZE_MAX - b->len)
		return ENOMEM;
	need = b->len + more;
	if (need <= b->cap)
		return 0;
	cap = b->cap > BUF_MIN ? b->cap : BUF_MIN;
	while (cap < need) {
		/* Doubling would wrap: take exactly what is needed. */
		if (cap > SIZE_MAX / 2) {
			cap = need;
			break;
		}
		cap *= 2;
	}
	if ((p = realloc(b->p, cap)) == NULL)
		return ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

/* Appends n bytes from p.  Returns 0 or ENOMEM (b unchanged). */
int
mq_buf_add(struct mq_buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = mq_buf_reserve(b, n)) != 0)
		return rc;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

/* Frees the storage and leaves b empty and ready for reuse. */
void
mq_buf_free(struct mq_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/*
 * Frees the header array and scratch buffer d owns.  The record's
 * pointers may point into either, so they are cleared too: a use after
 * free then fails loudly on NULL instead of quietly reading freed memory.
 */
void
mq_decoded_free(struct mq_decoded *d)
{
	free(d->hdrs);
	mq_buf_free(&d->scratch);
	memset(d, 0, sizeof(*d));
	d->rec.offset = -1;
	d->rec.timestamp = -1;
	d->rec.keylen = d->rec.vallen = -1;
	d->partition = -1;
}

int
decoded_reserve_hdrs(struct mq_decoded *d, size_t n)
{
	struct mq_header *h;
	size_t cap;

	if (n <= d->hdrcap)
		return 0;
	cap = d->hdrcap > 8 ? d->hdrcap : 8;
	while (cap < n) {
		if (cap > SIZE_MAX / 2 / sizeof(*h))
			return ENOMEM;
		cap *= 2;
	}
	if ((h = realloc(d->hdrs, cap * sizeof(*h))) == NULL)
		return ENOMEM;
	d->hdrs = h;
	d->hdrcap = cap;
	return 0;
}

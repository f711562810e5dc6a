/* SPDX-License-Identifier: MIT */
/*
 * test_frame.c - raw length-framed records: the exact bytes of a known
 * frame, round trips of binary data, EAGAIN for every truncation, and
 * MQ_EBADRECORD for every length that lies about the frame.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mq.h"
#include "tap.h"

#ifdef TEST_STANDALONE
/* Built without the library: only producer-side headers are used. */
int
mq_record_header(const struct mq_record *r, size_t i, struct mq_header *h)
{
	(void)r;
	(void)i;
	(void)h;
	return MQ_ECORRUPT;
}
#endif

static struct mq_record
mkrec(const void *key, ssize_t keylen, const void *val, ssize_t vallen,
    const struct mq_header *h, size_t nh)
{
	struct mq_record r;

	memset(&r, 0, sizeof(r));
	r.offset = 0x0102030405060708;
	r.timestamp = 1700000000123;
	r.key = key;
	r.keylen = keylen;
	r.value = val;
	r.vallen = vallen;
	r.headers = h;
	r.nheaders = nh;
	return r;
}

static int
same(const void *a, ssize_t alen, const void *b, ssize_t blen)
{
	if (alen != blen)
		return 0;
	if (alen <= 0)
		return 1;
	return memcmp(a, b, (size_t)alen) == 0;
}

/* Encodes r as a frame, decodes it, and compares every field. */
static int
roundtrip(const struct mq_record *r, int part)
{
	struct mq_buf b = { NULL, 0, 0 };
	struct mq_decoded d;
	const char *why;
	size_t used = 0, i;
	int good = 0;

	memset(&d, 0, sizeof(d));
	if (mq_frame_encode(&b, part, r) != 0)
		goto out;
	if (mq_frame_decode(b.p, b.len, &used, &d, &why) != 0 ||
	    used != b.len)
		goto out;
	if (d.partition != (part < 0 ? -1 : part) ||
	    d.rec.offset != r->offset || d.rec.timestamp != r->timestamp ||
	    !same(d.rec.key, d.rec.keylen, r->key, r->keylen) ||
	    !same(d.rec.value, d.rec.vallen, r->value, r->vallen) ||
	    d.rec.nheaders != r->nheaders)
		goto out;
	if ((r->keylen == 0 && d.rec.key == NULL) ||
	    (r->vallen == 0 && d.rec.value == NULL))
		goto out;		/* empty must not become null */
	for (i = 0; i < r->nheaders; i++)
		if (!same(d.rec.headers[i].key,
		    (ssize_t)d.rec.headers[i].keylen, r->headers[i].key,
		    (ssize_t)r->headers[i].keylen) ||
		    !same(d.rec.headers[i].value, d.rec.headers[i].vallen,
		    r->headers[i].value, r->headers[i].vallen))
			goto out;
	good = 1;
out:
	mq_buf_free(&b);
	mq_decoded_free(&d);
	return good;
}

static void
test_encode(void)
{
	static const unsigned char want[] = {
		0, 0, 0, 52,			/* length */
		0, 0, 0, 3,			/* partition */
		1, 2, 3, 4, 5, 6, 7, 8,		/* offset */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* ts -1 */
		0, 0, 0, 1, 'k',		/* key */
		0xff, 0xff, 0xff, 0xff,		/* null value */
		0, 0, 0, 2,			/* header count */
		0, 0, 0, 1, 'h', 0, 0, 0, 2, 'v', 'w',
		0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	};
	struct mq_header h[2] = {
		{ "h", 1, "vw", 2 },
		{ NULL, 0, NULL, -1 },
	};
	struct mq_buf b = { NULL, 0, 0 };
	struct mq_record r;
	size_t before;

	r = mkrec("k", 1, NULL, -1, h, 2);
	r.timestamp = -1;
	mq_buf_add(&b, "x", 1);
	ok(mq_frame_encode(&b, 3, &r) == 0 && b.len == 1 + sizeof(want) &&
	    memcmp(b.p + 1, want, sizeof(want)) == 0,
	    "exact bytes, appended after what was there");

#ifdef TEST_STANDALONE
	r.headers = NULL;
	before = b.len;
	ok(mq_frame_encode(&b, 3, &r) == MQ_ECORRUPT && b.len == before,
	    "reader-side header error rolls back");
#else
	(void)before;
#endif
	mq_buf_free(&b);
}

static void
test_roundtrip(void)
{
	static const unsigned char bin[] = { 0, '\n', 0xff, 0xc3, 0, 0x80 };
	struct mq_header h[3] = {
		{ "a", 1, "1", 1 },
		{ "nullval", 7, NULL, -1 },
		{ "", 0, "", 0 },
	};
	struct mq_record r;
	unsigned char *big;
	size_t i;

	r = mkrec("key", 3, "value", 5, NULL, 0);
	ok(roundtrip(&r, 0), "plain record");
	r = mkrec(bin, sizeof(bin), bin, sizeof(bin), h, 3);
	ok(roundtrip(&r, 7), "binary, headers with null and empty values");
	r = mkrec(NULL, -1, NULL, -1, NULL, 0);
	r.timestamp = -1;
	r.offset = -1;
	ok(roundtrip(&r, 2147483647), "nulls, ts -1, offset -1, max partition");
	r = mkrec("", 0, "", 0, NULL, 0);
	ok(roundtrip(&r, 0), "empty key and value stay empty, not null");
	r = mkrec("k", 1, "v", 1, NULL, 0);
	ok(roundtrip(&r, -1), "partition -1 means none");
	r.timestamp = INT64_MIN;
	r.offset = INT64_MAX;
	ok(roundtrip(&r, -5), "negative partition decodes as -1, extremes");

	big = malloc(1 << 20);
	for (i = 0; i < 1 << 20; i++)
		big[i] = (unsigned char)(i * 2654435761U >> 11);
	r = mkrec("big", 3, big, 1 << 20, h, 1);
	ok(roundtrip(&r, 1), "1 MiB value");
	free(big);
}

/* A frame built by hand, for lying about its lengths. */
struct raw {
	unsigned char b[256];
	size_t	n;
};

static void
raw32(struct raw *f, uint32_t v)
{
	f->b[f->n++] = v >> 24;
	f->b[f->n++] = (v >> 16) & 0xff;
	f->b[f->n++] = (v >> 8) & 0xff;
	f->b[f->n++] = v & 0xff;
}

static void
raw_bytes(struct raw *f, const char *s, size_t n)
{
	memcpy(f->b + f->n, s, n);
	f->n += n;
}

/* Starts a frame: length to fix later, partition 0, offset 1, ts 2. */
static void
raw_start(struct raw *f)
{
	f->n = 0;
	raw32(f, 0);
	raw32(f, 0);
	raw32(f, 0);
	raw32(f, 1);
	raw32(f, 0);
	raw32(f, 2);
}

/* Sets the length field to what follows it. */
static void
raw_fix(struct raw *f)
{
	size_t n = f->n;

	f->n = 0;
	raw32(f, (uint32_t)(n - 4));
	f->n = n;
}

/* Decodes f and checks for MQ_EBADRECORD with the reason want. */
static int
rejects(const struct raw *f, const char *want)
{
	struct mq_decoded d;
	const char *why = NULL;
	size_t used = 0;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = mq_frame_decode(f->b, f->n, &used, &d, &why);
	mq_decoded_free(&d);
	if (rc != MQ_EBADRECORD || why == NULL || strcmp(why, want) != 0) {
		printf("# rc %d why \"%s\"\n", rc, why ? why : "(null)");
		return 0;
	}
	return 1;
}

static void
test_lies(void)
{
	struct raw f;

	raw_start(&f);
	raw32(&f, 1);
	raw_bytes(&f, "k", 1);
	raw32(&f, 0xffffffff);
	raw32(&f, 0);
	raw_fix(&f);
	{
		struct mq_decoded d;
		const char *why;
		size_t used;

		memset(&d, 0, sizeof(d));
		ok(mq_frame_decode(f.b, f.n, &used, &d, &why) == 0 &&
		    used == f.n && d.rec.keylen == 1 && d.rec.vallen == -1 &&
		    d.rec.offset == 1 && d.rec.timestamp == 2,
		    "control: the hand-built frame is good");
		mq_decoded_free(&d);
	}

	raw_start(&f);
	raw32(&f, 0xfffffffe);		/* key length -2 */
	raw32(&f, 0);
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad key length in frame"), "key length -2");

	raw_start(&f);
	raw32(&f, 0x80000000);		/* key length INT32_MIN */
	raw32(&f, 0);
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad key length in frame"), "key length INT32_MIN");

	raw_start(&f);
	raw32(&f, 100);			/* key past the frame */
	raw32(&f, 0);
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad key length in frame"), "key past end of frame");

	raw_start(&f);
	raw32(&f, 9);			/* key swallows value and count */
	raw32(&f, 0);
	raw32(&f, 0);
	raw_bytes(&f, "x", 1);
	raw_fix(&f);
	ok(rejects(&f, "bad value length in frame"),
	    "key takes the value's length field");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0x7fffffff);		/* value past the frame */
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad value length in frame"), "value past end");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0xfffffff0);
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad value length in frame"), "value length -16");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 4);			/* value eats the header count */
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "frame too short for its header count"),
	    "no room for header count");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 0xffffffff);		/* header count -1 */
	raw_fix(&f);
	ok(rejects(&f, "bad header count in frame"), "header count -1");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 0x7fffffff);		/* a huge count: no allocation */
	raw_fix(&f);
	ok(rejects(&f, "bad header count in frame"), "header count 2^31-1");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 2);			/* two headers, room for one */
	raw32(&f, 0);
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad header count in frame"), "header count over room");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 1);
	raw32(&f, 0xffffffff);		/* null header key */
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad header key length in frame"), "null header key");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 1);
	raw32(&f, 5);			/* header key past the frame */
	raw32(&f, 0);
	raw_fix(&f);
	ok(rejects(&f, "bad header key length in frame"),
	    "header key past end");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 1);
	raw32(&f, 0);
	raw32(&f, 1);			/* header value past the frame */
	raw_fix(&f);
	ok(rejects(&f, "bad header value length in frame"),
	    "header value past end");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 1);
	raw32(&f, 0);
	raw32(&f, 0xfffffffe);		/* header value -2 */
	raw_fix(&f);
	ok(rejects(&f, "bad header value length in frame"),
	    "header value length -2");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 0);
	raw_bytes(&f, "junk", 4);	/* inside the frame, after headers */
	raw_fix(&f);
	ok(rejects(&f, "trailing bytes in frame"), "trailing bytes in frame");

	raw_start(&f);
	raw32(&f, 0);
	raw32(&f, 0);
	raw32(&f, 0);
	raw_fix(&f);
	f.b[3] = 31;			/* length says one byte less */
	ok(rejects(&f, "frame too short"), "length under the fixed part");

	f.n = 0;
	raw32(&f, 0x80000000);		/* over 2^31-1, judged at 4 bytes */
	ok(rejects(&f, "frame length over 2^31-1"), "length 2^31");
	f.n = 0;
	raw32(&f, 0xffffffff);
	ok(rejects(&f, "frame length over 2^31-1"), "length 2^32-1");
	f.n = 0;
	raw32(&f, 0);
	ok(rejects(&f, "frame too short"), "length 0");
}

static void
test_truncation(void)
{
	struct mq_header h[2] = {
		{ "hk", 2, "hv", 2 },
		{ "n", 1, NULL, -1 },
	};
	struct mq_buf b = { NULL, 0, 0 };
	struct mq_decoded d;
	struct mq_record r, r2;
	const char *why;
	unsigned char *copy;
	size_t n, used, first;
	int good = 1, rc;

	memset(&d, 0, sizeof(d));
	r = mkrec("key", 3, "value", 5, h, 2);
	mq_frame_encode(&b, 1, &r);
	first = b.len;
	/* Every prefix into its own allocation, so ASan sees overreads. */
	for (n = 0; n < first; n++) {
		copy = malloc(n ? n : 1);
		memcpy(copy, b.p, n);
		used = 0;
		rc = mq_frame_decode(copy, n, &used, &d, &why);
		if (rc != EAGAIN || used != (n < 4 ? 4 : first)) {
			printf("# length %zu: rc %d used %zu\n", n, rc, used);
			good = 0;
		}
		free(copy);
	}
	ok(good, "EAGAIN for every prefix of a %zu-byte frame", first);

	/* Two frames back to back: each decodes from where the last ended. */
	r2 = mkrec(NULL, -1, "second", 6, NULL, 0);
	mq_frame_encode(&b, 2, &r2);
	rc = mq_frame_decode(b.p, b.len, &used, &d, &why);
	ok(rc == 0 && used == first && d.partition == 1 &&
	    d.rec.nheaders == 2 && d.rec.headers[1].vallen == -1,
	    "first of two frames");
	rc = mq_frame_decode(b.p + used, b.len - used, &used, &d, &why);
	ok(rc == 0 && used == b.len - first && d.partition == 2 &&
	    d.rec.keylen == -1 && d.rec.vallen == 6 && d.rec.nheaders == 0 &&
	    memcmp(d.rec.value, "second", 6) == 0, "second of two frames");
	ok((const char *)d.rec.value > b.p &&
	    (const char *)d.rec.value < b.p + b.len,
	    "value points into the input buffer");

	mq_decoded_free(&d);
	mq_buf_free(&b);
}

#ifndef TEST_STANDALONE
/*
 * A record read back from a batch has no header array, only the encoded
 * headers: the encoder must decode them through mq_record_header.
 */
static void
test_reader_headers(void)
{
	struct mq_header h[2] = {
		{ "h", 1, "v", 1 },
		{ "n", 1, NULL, -1 },
	};
	struct mq_batch batch;
	struct mq_batch_iter it;
	struct mq_record r;

	mq_batch_init(&batch, 1 << 20);
	r = mkrec("k", 1, "v", 1, h, 2);
	r.offset = 0;
	if (mq_batch_add(&batch, &r) == 0) {
		mq_batch_finish(&batch, 0);
		mq_batch_iter_init(&it, batch.buf);
		ok(mq_batch_iter_next(&it, &r) == 1 && r.headers == NULL &&
		    r.nheaders == 2, "record read from a batch");
		/* Framed from the encoded headers, then read back. */
		{
			struct mq_buf b = { NULL, 0, 0 };
			struct mq_decoded d;
			const char *why;
			size_t used;

			memset(&d, 0, sizeof(d));
			ok(mq_frame_encode(&b, 0, &r) == 0 &&
			    mq_frame_decode(b.p, b.len, &used, &d, &why) == 0 &&
			    d.rec.nheaders == 2 &&
			    d.rec.headers[0].keylen == 1 &&
			    memcmp(d.rec.headers[0].value, "v", 1) == 0 &&
			    d.rec.headers[1].vallen == -1,
			    "reader-side headers framed");
			mq_decoded_free(&d);
			mq_buf_free(&b);
		}
	} else
		ok(0, "batch built");
	mq_batch_free(&batch);
}
#endif

int
main(void)
{
	test_encode();
	test_roundtrip();
	test_lies();
	test_truncation();
#ifndef TEST_STANDALONE
	test_reader_headers();
#endif
	return done();
}

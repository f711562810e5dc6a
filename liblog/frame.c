/* SPDX-License-Identifier: MIT */
/*
 * frame.c - raw length-framed records: the binary round-trip format, for
 * pipes between mq commands and programs that would rather not parse
 * JSON or base64 a megabyte payload.
 *
 * A frame is a big-endian u32 length and then that many bytes: i32
 * partition, i64 offset, i64 timestamp, i32 key length (-1 null), key,
 * i32 value length (-1 null), value, i32 header count, and per header i32
 * key length, key, i32 value length (-1 null), value.  Every length is
 * checked against the frame it sits in, so a lying length is an error
 * here, not a read past the buffer or a giant allocation later.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"

/* Partition, offset, timestamp, key and value lengths, header count. */
#define FRAME_FIXED	32
#define FRAME_MAX	INT32_MAX	/* largest length field accepted */

/* Two's complement reads that do not lean on implementation-defined casts. */
static int32_t
get_i32(const unsigned char *p)
{
	uint32_t u = get_be32(p);

	return u <= INT32_MAX ? (int32_t)u : -(int32_t)(UINT32_MAX - u) - 1;
}

static int64_t
get_i64(const unsigned char *p)
{
	uint64_t u = get_be64(p);

	return u <= INT64_MAX ? (int64_t)u : -(int64_t)(UINT64_MAX - u) - 1;
}

/* Writes an i32 length (-1 for null) and the bytes; returns the end. */
static unsigned char *
put_field(unsigned char *o, const void *p, size_t n, int isnull)
{
	put_be32(o, isnull ? UINT32_MAX : (uint32_t)n);
	o += 4;
	if (n > 0 && !isnull) {
		memcpy(o, p, n);
		o += n;
	}
	return o;
}

/*
 * Appends one frame for rec, tagged with partition part.  Headers come
 * from rec->headers, or from the record's encoded headers when it was
 * read from a batch.  Returns 0, ENOMEM, MQ_ETOOBIG when the frame would
 * be over 2^31-1 bytes, or MQ_ECORRUPT when a reader-side header does not
 * decode; out is as it was on error.
 */
int
mq_frame_encode(struct mq_buf *out, int part, const struct mq_record *rec)
{
	size_t start = out->len, klen, vlen, body, i;
	struct mq_header h;
	unsigned char *o;
	int rc;

	klen = rec->keylen > 0 ? (size_t)rec->keylen : 0;
	vlen = rec->vallen > 0 ? (size_t)rec->vallen : 0;
	/* Bounded one by one first so that the sum cannot wrap. */
	if (klen > FRAME_MAX || vlen > FRAME_MAX ||
	    klen + vlen > FRAME_MAX - FRAME_FIXED || rec->nheaders > FRAME_MAX)
		return MQ_ETOOBIG;
	if ((rc = mq_buf_reserve(out, 4 + FRAME_FIXED + klen + vlen)) != 0)
		return rc;
	o = (unsigned char *)out->p + out->len;
	put_be32(o + 4, (uint32_t)part);
	put_be64(o + 8, (uint64_t)rec->offset);
	put_be64(o + 16, (uint64_t)rec->timestamp);
	o = put_field(o + 24, rec->key, klen, rec->keylen < 0);
	o = put_field(o, rec->value, vlen, rec->vallen < 0);
	put_be32(o, (uint32_t)rec->nheaders);
	out->len = (size_t)((char *)o + 4 - out->p);

	for (i = 0; i < rec->nheaders; i++) {
		if (rec->headers != NULL)
			h = rec->headers[i];
		else if ((rc = mq_record_header(rec, i, &h)) != 0)
			goto fail;
		vlen = h.vallen > 0 ? (size_t)h.vallen : 0;
		if (h.keylen > FRAME_MAX || vlen > FRAME_MAX ||
		    h.keylen + vlen > FRAME_MAX - 8) {
			rc = MQ_ETOOBIG;
			goto fail;
		}
		if ((rc = mq_buf_reserve(out, 8 + h.keylen + vlen)) != 0)
			goto fail;
		o = (unsigned char *)out->p + out->len;
		o = put_field(o, h.key, h.keylen, 0);
		o = put_field(o, h.value, vlen, h.vallen < 0);
		out->len = (size_t)((char *)o - out->p);
		if (out->len - start - 4 > FRAME_MAX) {
			rc = MQ_ETOOBIG;
			goto fail;
		}
	}

	body = out->len - start - 4;
	if (body > FRAME_MAX) {
		rc = MQ_ETOOBIG;
		goto fail;
	}
	put_be32((unsigned char *)out->p + start, (uint32_t)body);
	return 0;

fail:
	out->len = start;
	return rc;
}

/*
 * Reads an i32 length and that many bytes from [*pp, end); -1 means null
 * where nullok.  Returns 0, or -1 when the length is negative or runs
 * past end.
 */
static int
get_field(const unsigned char **pp, const unsigned char *end, int nullok,
    const void **vp, ssize_t *np)
{
	const unsigned char *p = *pp;
	int32_t n;

	if (end - p < 4)
		return -1;
	n = get_i32(p);
	p += 4;
	if (n == -1 && nullok) {
		*vp = NULL;
		*np = -1;
	} else if (n < 0 || n > end - p)
		return -1;
	else {
		*vp = p;
		*np = n;
		p += n;
	}
	*pp = p;
	return 0;
}

static int
bad(const char **why, const char *msg)
{
	*why = msg;
	return MQ_EBADRECORD;
}

/*
 * Decodes the frame at buf.  On EAGAIN, *used says how many bytes the
 * frame needs in all, as far as is known yet (4 until the length is in),
 * so a caller can size its buffer.
 */
int
mq_frame_decode(const void *buf, size_t len, size_t *used,
    struct mq_decoded *d, const char **why)
{
	const unsigned char *p = buf, *end;
	const void *key, *val, *hk;
	ssize_t keylen, vallen, hklen;
	int64_t offset, ts;
	int32_t part, count, i;
	uint32_t flen;
	int rc;

	*why = NULL;
	d->nhdrs = 0;
	if (len < 4) {
		*used = 4;
		return EAGAIN;
	}
	/*
	 * Judge the length before waiting for it: a garbage length would
	 * otherwise have the caller buffer up to 4 GiB before we object.
	 */
	flen = get_be32(p);
	if (flen > FRAME_MAX)
		return bad(why, "frame length over 2^31-1");
	if (flen < FRAME_FIXED)
		return bad(why, "frame too short");
	if (len - 4 < flen) {
		*used = 4 + (size_t)flen;
		return EAGAIN;
	}
	p += 4;
	end = p + flen;

	part = get_i32(p);
	offset = get_i64(p + 4);
	ts = get_i64(p + 12);
	p += 20;
	if (get_field(&p, end, 1, &key, &keylen) == -1)
		return bad(why, "bad key length in frame");
	if (get_field(&p, end, 1, &val, &vallen) == -1)
		return bad(why, "bad value length in frame");
	if (end - p < 4)
		return bad(why, "frame too short for its header count");
	count = get_i32(p);
	p += 4;
	/* Each header takes 8 bytes at least: no allocating for a liar. */
	if (count < 0 || count > (end - p) / 8)
		return bad(why, "bad header count in frame");
	if ((rc = decoded_reserve_hdrs(d, (size_t)count)) != 0) {
		*why = "out of memory";
		return rc;
	}
	for (i = 0; i < count; i++) {
		if (get_field(&p, end, 0, &hk, &hklen) == -1)
			return bad(why, "bad header key length in frame");
		d->hdrs[i].key = hk;
		d->hdrs[i].keylen = (size_t)hklen;
		if (get_field(&p, end, 1, &d->hdrs[i].value,
		    &d->hdrs[i].vallen) == -1)
			return bad(why, "bad header value length in frame");
	}
	if (p != end)
		return bad(why, "trailing bytes in frame");

	d->rec.offset = offset;
	d->rec.timestamp = ts;
	d->rec.key = key;
	d->rec.keylen = keylen;
	d->rec.value = val;
	d->rec.vallen = vallen;
	d->rec.headers = d->hdrs;
	d->rec.nheaders = (size_t)count;
	d->rec.hdrbuf = NULL;
	d->rec.hdrlen = 0;
	d->nhdrs = (size_t)count;
	d->partition = part < 0 ? -1 : part;
	*used = 4 + (size_t)flen;
	return 0;
}

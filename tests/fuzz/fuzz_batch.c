/* SPDX-License-Identifier: MIT */
/*
 * fuzz_batch.c - the decoders of records: RecordBatch v2 (mq_batch_check,
 * the record iterator, headers), the raw frames of mq-produce -f raw and
 * the JSON envelope.  The first byte picks the decoder, the rest is its
 * input: 0 a segment as stored, 1 the same with every batch's CRC made
 * right (to get past it), 2 frames, 3 JSON lines.  What decodes is
 * encoded again and must decode to the same record.
 */
#include "fuzz.h"

static void
same_record(const struct mq_record *a, const struct mq_record *b)
{
	struct mq_header ha, hb;
	size_t i;

	FUZZ_ASSERT(a->keylen == b->keylen && a->vallen == b->vallen &&
	    a->nheaders == b->nheaders, "round trip: lengths differ");
	FUZZ_ASSERT(a->keylen <= 0 || memcmp(a->key, b->key,
	    (size_t)a->keylen) == 0, "round trip: key differs");
	FUZZ_ASSERT(a->vallen <= 0 || memcmp(a->value, b->value,
	    (size_t)a->vallen) == 0, "round trip: value differs");
	for (i = 0; i < a->nheaders; i++) {
		if (a->headers != NULL)
			ha = a->headers[i];
		else
			FUZZ_ASSERT(mq_record_header(a, i, &ha) == 0,
			    "header lost");
		if (b->headers != NULL)
			hb = b->headers[i];
		else
			FUZZ_ASSERT(mq_record_header(b, i, &hb) == 0,
			    "header lost");
		FUZZ_ASSERT(ha.keylen == hb.keylen && ha.vallen == hb.vallen &&
		    memcmp(ha.key, hb.key, ha.keylen) == 0 && (ha.vallen <= 0 ||
		    memcmp(ha.value, hb.value, (size_t)ha.vallen) == 0),
		    "round trip: header differs");
	}
}

/* Encodes r as a frame and as JSON; each must decode to r. */
static void
round_trip(const struct mq_record *r)
{
	struct mq_decoded d = { 0 };
	struct mq_buf b = { 0 };
	const char *why;
	size_t used;
	int rc;

	if ((rc = mq_frame_encode(&b, 3, r)) == 0) {
		FUZZ_ASSERT(mq_frame_decode(b.p, b.len, &used, &d, &why) == 0 &&
		    used == b.len && d.partition == 3, "frame does not decode");
		same_record(r, &d.rec);
	} else
		FUZZ_ASSERT(rc == MQ_ECORRUPT || rc == MQ_ETOOBIG,
		    "frame encode failed");
	b.len = 0;
	/*
	 * The JSON envelope takes no time below -1 (none), which frames
	 * and batches can hold; the commands put the time of the append
	 * for any negative one, so no such record is ever written.
	 */
	if (rc == 0 && r->timestamp >= -1 &&
	    mq_json_encode(&b, "t", 3, r->ts_type, r) == 0) {
		FUZZ_ASSERT(b.len > 0 && b.p[b.len - 1] == '\n', "no newline");
		FUZZ_ASSERT(mq_json_decode(b.p, b.len - 1, &d, &why) == 0,
		    "JSON does not decode");
		FUZZ_ASSERT(d.rec.timestamp == r->timestamp &&
		    d.partition == 3, "JSON: timestamp or partition differs");
		same_record(r, &d.rec);
	}
	mq_buf_free(&b);
	mq_decoded_free(&d);
}

/* One checked batch, in a buffer of its own length. */
static void
records(const unsigned char *p, const struct mq_batch_info *info)
{
	struct mq_batch_iter it;
	struct mq_record r;
	unsigned char *b = fuzz_dup(p, (size_t)info->length);
	int32_t n = 0;
	int rc;

	struct mq_header h;
	size_t i;

	mq_batch_iter_init(&it, b);
	while ((rc = mq_batch_iter_next(&it, &r)) == 1) {
		FUZZ_ASSERT(r.offset >= info->base_offset &&
		    r.offset <= info->last_offset, "record outside its batch");
		for (i = 0; i < r.nheaders; i++)
			FUZZ_ASSERT(mq_record_header(&r, i, &h) == 0,
			    "a checked batch has a header that does not read");
		n++;
		round_trip(&r);
	}
	/* mq_batch_check said the records parse: readers rely on it. */
	FUZZ_ASSERT(rc == 0, "a checked batch has a record that does not read");
	FUZZ_ASSERT(n == info->count, "iterator: count differs");
	free(b);
}

static void
batches(const unsigned char *p, size_t n)
{
	struct mq_batch_info info;
	const char *why;
	size_t pos = 0;
	int rc;

	while (pos < n) {
		why = NULL;
		rc = mq_batch_check(p + pos, n - pos, &info, &why);
		if (rc != 0) {
			FUZZ_ASSERT(rc == EAGAIN || (rc == MQ_ECORRUPT &&
			    why != NULL), "mq_batch_check: bad return");
			break;
		}
		FUZZ_ASSERT(info.length >= MQ_BATCH_HEADER &&
		    (size_t)info.length <= n - pos, "batch length");
		records(p + pos, &info);
		pos += (size_t)info.length;
	}
}

static void
frames(const unsigned char *p, size_t n)
{
	struct mq_decoded d = { 0 };
	struct mq_buf b = { 0 };
	const char *why;
	size_t used;
	int rc;

	while (n > 0) {
		rc = mq_frame_decode(p, n, &used, &d, &why);
		if (rc != 0) {
			FUZZ_ASSERT(rc == EAGAIN ? used > n :
			    rc == MQ_EBADRECORD && why != NULL,
			    "mq_frame_decode: bad return");
			break;
		}
		FUZZ_ASSERT(used >= 4 && used <= n, "frame: bad length used");
		/* Encoding it again gives the same bytes, but for a
		 * negative partition, which decodes as -1. */
		b.len = 0;
		FUZZ_ASSERT(mq_frame_encode(&b, d.partition, &d.rec) == 0 &&
		    b.len == used && memcmp(b.p, p, 4) == 0 &&
		    memcmp(b.p + 8, p + 8, used - 8) == 0,
		    "frame: encodes differently");
		round_trip(&d.rec);
		p += used;
		n -= used;
	}
	mq_buf_free(&b);
	mq_decoded_free(&d);
}

static void
lines(const unsigned char *p, size_t n)
{
	struct mq_decoded d = { 0 };
	const unsigned char *nl;
	const char *why;
	size_t len;

	while (n > 0) {
		nl = memchr(p, '\n', n);
		len = nl != NULL ? (size_t)(nl - p) : n;
		/* Its own buffer, with no newline after it to lean on. */
		char *line = (char *)fuzz_dup(p, len);

		why = NULL;
		if (mq_json_decode(line, len, &d, &why) == 0) {
			d.rec.ts_type = MQ_TS_CREATE;
			round_trip(&d.rec);
		} else
			FUZZ_ASSERT(why != NULL, "JSON: no reason");
		free(line);
		if (nl == NULL)
			break;
		p += len + 1;
		n -= len + 1;
	}
	mq_decoded_free(&d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *p;

	if (size < 1)
		return 0;
	p = fuzz_dup(data + 1, size - 1);
	switch (data[0] & 3) {
	case 0:
		batches(p, size - 1);
		break;
	case 1:
		fuzz_fix_batches(p, size - 1);
		batches(p, size - 1);
		break;
	case 2:
		frames(p, size - 1);
		break;
	default:
		lines(p, size - 1);
		break;
	}
	free(p);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * batch.c - RecordBatch v2, byte for byte as Kafka writes it: building a
 * batch from records, checking a stored batch, and walking its records.
 *
 * A batch is built in one buffer with its 61-byte header reserved in
 * front, so the appender can hand it to write(2) as it is.  The CRC-32C
 * covers attributes..end; baseOffset and partitionLeaderEpoch lie outside
 * it, which is what lets an appender assign offsets without rehashing.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

#define MAGIC_V2	2
#define CODEC_MASK	0x07

void
mq_batch_init(struct mq_batch *b, size_t max_bytes)
{
	memset(b, 0, sizeof(*b));
	b->max_bytes = max_bytes < MQ_BATCH_HEADER ? MQ_BATCH_HEADER : max_bytes;
	b->len = MQ_BATCH_HEADER;
}

void
mq_batch_free(struct mq_batch *b)
{
	free(b->buf);
	b->buf = NULL;
	b->cap = 0;
}

void
mq_batch_reset(struct mq_batch *b)
{
	b->len = MQ_BATCH_HEADER;
	b->count = 0;
}

/* Bytes of a record's body (everything after its length varint). */
static size_t
record_body(const struct mq_record *r, int64_t ts_delta, int32_t off_delta)
{
	size_t n, i;

	n = 1 + varlong_size(ts_delta) + varlong_size(off_delta);
	n += varlong_size(r->keylen) + (r->keylen > 0 ? (size_t)r->keylen : 0);
	n += varlong_size(r->vallen) + (r->vallen > 0 ? (size_t)r->vallen : 0);
	n += varlong_size((int64_t)r->nheaders);
	for (i = 0; i < r->nheaders; i++) {
		const struct mq_header *h = &r->headers[i];

		n += varlong_size((int64_t)h->keylen) + h->keylen;
		n += varlong_size(h->vallen) + (h->vallen > 0 ? (size_t)h->vallen : 0);
	}
	return n;
}

size_t
mq_batch_size1(const struct mq_record *r)
{
	size_t body = record_body(r, 0, 0);

	return MQ_BATCH_HEADER + varlong_size((int64_t)body) + body;
}

static unsigned char *
put_bytes(unsigned char *p, const void *data, ssize_t len)
{
	p += put_varlong(p, len);
	if (len > 0) {
		memcpy(p, data, (size_t)len);
		p += len;
	}
	return p;
}

int
mq_batch_add(struct mq_batch *b, const struct mq_record *r)
{
	int64_t ts_delta = b->count == 0 ? 0 : r->timestamp - b->base_ts;
	size_t body, need, i;
	unsigned char *p;

	body = record_body(r, ts_delta, b->count);
	need = varlong_size((int64_t)body) + body;
	if (need > b->max_bytes - b->len)
		return MQ_ETOOBIG;
	if (b->len + need > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;

		while (cap < b->len + need)
			cap *= 2;
		if (cap > b->max_bytes)
			cap = b->max_bytes;
		if ((p = realloc(b->buf, cap)) == NULL)
			return ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	if (b->count == 0)
		b->base_ts = b->max_ts = r->timestamp;
	else if (r->timestamp > b->max_ts)
		b->max_ts = r->timestamp;

	p = b->buf + b->len;
	p += put_varlong(p, (int64_t)body);
	*p++ = 0;			/* record attributes: unused */
	p += put_varlong(p, ts_delta);
	p += put_varlong(p, b->count);
	p = put_bytes(p, r->key, r->keylen);
	p = put_bytes(p, r->value, r->vallen);
	p += put_varlong(p, (int64_t)r->nheaders);
	for (i = 0; i < r->nheaders; i++) {
		p = put_bytes(p, r->headers[i].key, (ssize_t)r->headers[i].keylen);
		p = put_bytes(p, r->headers[i].value, r->headers[i].vallen);
	}
	b->len = (size_t)(p - b->buf);
	b->count++;
	return 0;
}

void
mq_batch_finish(struct mq_batch *b, int16_t attributes)
{
	unsigned char *h = b->buf;

	put_be64(h + B_BASE_OFFSET, 0);
	put_be32(h + B_LENGTH, (uint32_t)(b->len - B_LOG_OVERHEAD));
	/* A broker stamps its leader epoch; a one-node log is leader 0. */
	put_be32(h + B_EPOCH, 0);
	h[B_MAGIC] = MAGIC_V2;
	put_be16(h + B_ATTRIBUTES, (uint16_t)attributes);
	put_be32(h + B_LAST_DELTA, (uint32_t)(b->count - 1));
	put_be64(h + B_BASE_TS, (uint64_t)b->base_ts);
	put_be64(h + B_MAX_TS, (uint64_t)b->max_ts);
	put_be64(h + B_PRODUCER_ID, (uint64_t)-1);
	put_be16(h + B_PRODUCER_EPOCH, (uint16_t)-1);
	put_be32(h + B_BASE_SEQ, (uint32_t)-1);
	put_be32(h + B_COUNT, (uint32_t)b->count);
	put_be32(h + B_CRC, mq_crc32c(0, h + B_ATTRIBUTES,
	    b->len - B_ATTRIBUTES));
}

static void
decode_header(const unsigned char *h, struct mq_batch_info *info)
{
	info->base_offset = (int64_t)get_be64(h + B_BASE_OFFSET);
	info->length = (int32_t)get_be32(h + B_LENGTH) + B_LOG_OVERHEAD;
	info->leader_epoch = (int32_t)get_be32(h + B_EPOCH);
	info->magic = (int8_t)h[B_MAGIC];
	info->crc = get_be32(h + B_CRC);
	info->attributes = (int16_t)get_be16(h + B_ATTRIBUTES);
	/* Unsigned: a hostile base offset must not overflow; the check
	 * refuses what wrapped. */
	info->last_offset = (int64_t)((uint64_t)info->base_offset +
	    (uint64_t)(int64_t)(int32_t)get_be32(h + B_LAST_DELTA));
	info->base_timestamp = (int64_t)get_be64(h + B_BASE_TS);
	info->max_timestamp = (int64_t)get_be64(h + B_MAX_TS);
	info->producer_id = (int64_t)get_be64(h + B_PRODUCER_ID);
	info->producer_epoch = (int16_t)get_be16(h + B_PRODUCER_EPOCH);
	info->base_sequence = (int32_t)get_be32(h + B_BASE_SEQ);
	info->count = (int32_t)get_be32(h + B_COUNT);
}

static int get_bytes(const unsigned char **, const unsigned char *,
    const void **, ssize_t *);

/*
 * Walks the records: their lengths must tile the batch exactly, and
 * their offset deltas rise within [0, last_delta], so that no record
 * claims an offset outside its batch (compaction may leave gaps, as in
 * Kafka, but never moves a record).  Key, value and headers must fill
 * each record exactly too, so that a batch that passes here is one
 * mq_batch_iter_next() and mq_record_header() never fail on: a reader
 * sees damage as a bad batch at its position, never mid-batch.
 */
static int
check_records(const unsigned char *p, const unsigned char *end,
    int32_t count, int32_t last_delta)
{
	const unsigned char *q, *rend;
	const void *data;
	ssize_t klen, vlen;
	int64_t ts;
	int32_t i, h, nh, len, delta, prev = -1;

	for (i = 0; i < count; i++) {
		if (get_varint(&p, end, &len) == -1 || len < 1 ||
		    len > end - p)
			return -1;
		q = p + 1;		/* past the attributes byte */
		rend = p + len;
		if (get_varlong(&q, rend, VARINT_MAX, &ts) == -1 ||
		    get_varint(&q, rend, &delta) == -1 ||
		    delta <= prev || delta > last_delta ||
		    get_bytes(&q, rend, &data, &klen) == -1 ||
		    get_bytes(&q, rend, &data, &vlen) == -1 ||
		    get_varint(&q, rend, &nh) == -1 || nh < 0)
			return -1;
		for (h = 0; h < nh; h++)
			if (get_bytes(&q, rend, &data, &klen) == -1 ||
			    klen < 0 ||
			    get_bytes(&q, rend, &data, &vlen) == -1)
				return -1;
		if (q != rend)
			return -1;
		prev = delta;
		p = rend;
	}
	return p == end ? 0 : -1;
}

int
mq_batch_check(const void *buf, size_t avail, struct mq_batch_info *info,
    const char **why)
{
	const unsigned char *b = buf;
	uint32_t len;

	memset(info, 0, sizeof(*info));
	if (avail < B_LOG_OVERHEAD)
		return EAGAIN;
	len = get_be32(b + B_LENGTH);
	if (len < MQ_BATCH_HEADER - B_LOG_OVERHEAD || len > INT32_MAX -
	    B_LOG_OVERHEAD) {
		*why = "bad batch length";
		return MQ_ECORRUPT;
	}
	info->length = (int32_t)len + B_LOG_OVERHEAD;
	if (avail > B_MAGIC && b[B_MAGIC] != MAGIC_V2) {
		*why = "bad magic (not a v2 record batch)";
		return MQ_ECORRUPT;
	}
	if (avail < (size_t)info->length)
		return EAGAIN;
	decode_header(b, info);
	if (mq_crc32c(0, b + B_ATTRIBUTES, (size_t)info->length -
	    B_ATTRIBUTES) != info->crc) {
		*why = "CRC mismatch";
		return MQ_ECORRUPT;
	}
	if (info->base_offset < 0 || info->base_offset > INT64_MAX - INT32_MAX) {
		*why = "bad base offset";
		return MQ_ECORRUPT;
	}
	if (info->count < 0 || info->last_offset < info->base_offset ||
	    info->count - 1 > info->last_offset - info->base_offset) {
		*why = "bad record count";
		return MQ_ECORRUPT;
	}
	if ((info->attributes & CODEC_MASK) != 0) {
		*why = "compressed batch (not supported)";
		return MQ_ECORRUPT;
	}
	if (check_records(b + MQ_BATCH_HEADER, b + info->length,
	    info->count, (int32_t)(info->last_offset - info->base_offset)) ==
	    -1) {
		*why = "records do not fill the batch, or claim offsets outside "
		    "it";
		return MQ_ECORRUPT;
	}
	return 0;
}

void
mq_batch_iter_init(struct mq_batch_iter *it, const void *batch)
{
	const unsigned char *b = batch;

	decode_header(b, &it->info);
	it->p = b + MQ_BATCH_HEADER;
	it->end = b + it->info.length;
	it->left = it->info.count;
}

/* Reads a varint length and that many bytes; -1 length means null. */
static int
get_bytes(const unsigned char **pp, const unsigned char *end,
    const void **data, ssize_t *len)
{
	int32_t n;

	if (get_varint(pp, end, &n) == -1 || n < -1 || n > end - *pp)
		return -1;
	*len = n;
	*data = n < 0 ? NULL : *pp;
	if (n > 0)
		*pp += n;
	return 0;
}

int
mq_batch_iter_next(struct mq_batch_iter *it, struct mq_record *r)
{
	const unsigned char *p = it->p, *end;
	int64_t ts_delta;
	int32_t len, off_delta, nh;

	if (it->left <= 0)
		return 0;
	if (get_varint(&p, it->end, &len) == -1 || len < 1 ||
	    len > it->end - p)
		return MQ_ECORRUPT;
	end = p + len;
	p++;				/* record attributes */
	if (get_varlong(&p, end, VARINT_MAX, &ts_delta) == -1 ||
	    get_varint(&p, end, &off_delta) == -1 ||
	    get_bytes(&p, end, &r->key, &r->keylen) == -1 ||
	    get_bytes(&p, end, &r->value, &r->vallen) == -1 ||
	    get_varint(&p, end, &nh) == -1 || nh < 0)
		return MQ_ECORRUPT;
	r->offset = it->info.base_offset + off_delta;
	if (it->info.attributes & MQ_ATTR_LOGAPPEND) {
		r->timestamp = it->info.max_timestamp;
		r->ts_type = MQ_TS_LOGAPPEND;
	} else {
		r->timestamp = it->info.base_timestamp + ts_delta;
		r->ts_type = MQ_TS_CREATE;
	}
	r->headers = NULL;
	r->nheaders = (size_t)nh;
	r->hdrbuf = p;
	r->hdrlen = (size_t)(end - p);
	it->p = end;
	it->left--;
	return 1;
}

int
mq_record_header(const struct mq_record *r, size_t i, struct mq_header *h)
{
	const unsigned char *p = r->hdrbuf, *end = r->hdrbuf + r->hdrlen;
	const void *k;
	ssize_t klen;
	size_t j;

	for (j = 0; j <= i; j++) {
		if (get_bytes(&p, end, &k, &klen) == -1 || klen < 0 ||
		    get_bytes(&p, end, &h->value, &h->vallen) == -1)
			return MQ_ECORRUPT;
		h->key = k;
		h->keylen = (size_t)klen;
	}
	return 0;
}

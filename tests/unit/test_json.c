/* SPDX-License-Identifier: MIT */
/*
 * test_json.c - the JSON envelope: exact output for known records, byte
 * for byte round trips of binary data, tolerant parsing of what JSON
 * allows, and a reason for each thing it does not.
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
	r.offset = 42;
	r.timestamp = 1700000000123;
	r.key = key;
	r.keylen = keylen;
	r.value = val;
	r.vallen = vallen;
	r.headers = h;
	r.nheaders = nh;
	return r;
}

/* Encodes r and returns the text, NUL-terminated, in a static buffer. */
static const char *
enc(struct mq_buf *b, const struct mq_record *r)
{
	b->len = 0;
	if (mq_json_encode(b, "orders", 3, MQ_TS_CREATE, r) != 0 ||
	    mq_buf_add(b, "", 1) != 0)
		return "(encode failed)";
	b->len--;
	return b->p;
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

/* Encodes r, decodes the line, and compares every field. */
static int
roundtrip(const struct mq_record *r)
{
	struct mq_buf b = { NULL, 0, 0 };
	struct mq_decoded d;
	const char *why;
	size_t i;
	int good = 0;

	memset(&d, 0, sizeof(d));
	if (mq_json_encode(&b, "t", 7, MQ_TS_LOGAPPEND, r) != 0 ||
	    b.len == 0 || b.p[b.len - 1] != '\n')
		goto out;
	if (memchr(b.p, '\n', b.len - 1) != NULL)
		goto out;
	if (mq_json_decode(b.p, b.len - 1, &d, &why) != 0)
		goto out;
	if (d.partition != 7 || d.rec.timestamp != r->timestamp ||
	    d.rec.offset != -1 ||
	    !same(d.rec.key, d.rec.keylen, r->key, r->keylen) ||
	    !same(d.rec.value, d.rec.vallen, r->value, r->vallen) ||
	    d.rec.nheaders != r->nheaders || d.rec.hdrbuf != NULL)
		goto out;
	if (r->keylen == 0 && d.rec.key == NULL)
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

/* Decodes text; returns the result, *why for failures. */
static int
dec(struct mq_decoded *d, const char *text, const char **why)
{
	*why = NULL;
	return mq_json_decode(text, strlen(text), d, why);
}

/* Decodes text and checks that it fails with exactly the reason want. */
static int
fails(const char *text, const char *want)
{
	struct mq_decoded d;
	const char *why;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = dec(&d, text, &why);
	mq_decoded_free(&d);
	if (rc != MQ_EBADRECORD || why == NULL || strcmp(why, want) != 0) {
		printf("# rc %d why \"%s\" for %s\n", rc,
		    why != NULL ? why : "(null)", text);
		return 0;
	}
	return 1;
}

static void
test_encode(void)
{
	struct mq_buf b = { NULL, 0, 0 };
	struct mq_header h[2] = {
		{ "h", 1, "v", 1 },
		{ "n", 1, NULL, -1 },
	};
	struct mq_record r;
	size_t before;

	r = mkrec("k", 1, "hello", 5, h, 2);
	ok(strcmp(enc(&b, &r), "{\"topic\":\"orders\",\"partition\":3,"
	    "\"offset\":42,\"tstype\":\"create\",\"ts\":1700000000123,"
	    "\"headers\":[\"h\",\"v\",\"n\",null],\"key\":\"k\","
	    "\"payload\":\"hello\"}\n") == 0, "simple record, exact text");

	r = mkrec(NULL, -1, "", 0, NULL, 0);
	r.offset = 0;
	r.timestamp = -1;
	ok(strcmp(enc(&b, &r), "{\"topic\":\"orders\",\"partition\":3,"
	    "\"offset\":0,\"tstype\":\"create\",\"ts\":-1,\"headers\":[],"
	    "\"key\":null,\"payload\":\"\"}\n") == 0,
	    "null key, empty payload, no headers, ts -1");

	b.len = 0;
	r.offset = INT64_MAX;
	r.timestamp = INT64_MIN;
	ok(mq_json_encode(&b, "x", 0, MQ_TS_LOGAPPEND, &r) == 0 &&
	    b.len == strlen("{\"topic\":\"x\",\"partition\":0,"
	    "\"offset\":9223372036854775807,\"tstype\":\"logappend\","
	    "\"ts\":-9223372036854775808,\"headers\":[],\"key\":null,"
	    "\"payload\":\"\"}\n") &&
	    memcmp(b.p, "{\"topic\":\"x\",\"partition\":0,"
	    "\"offset\":9223372036854775807,\"tstype\":\"logappend\","
	    "\"ts\":-9223372036854775808,\"headers\":[],\"key\":null,"
	    "\"payload\":\"\"}\n", b.len) == 0,
	    "logappend and extreme numbers");

	r = mkrec(NULL, -1, "a\"b\\c\n\r\t\b\f\x01\x1f\x7f/", 14, NULL, 0);
	ok(strstr(enc(&b, &r), "\"payload\":\"a\\\"b\\\\c\\n\\r\\t\\b\\f"
	    "\\u0001\\u001f\\u007f/\"}") != NULL, "escapes");

	r = mkrec(NULL, -1, "\0", 1, NULL, 0);
	ok(strstr(enc(&b, &r), "\"payload\":\"\\u0000\"") != NULL,
	    "NUL is a string escape");

	r = mkrec(NULL, -1, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
	    NULL, 0);
	ok(strstr(enc(&b, &r), "\"payload\":\"caf\xc3\xa9 \xe2\x82\xac "
	    "\xf0\x9f\x98\x80\"") != NULL, "valid UTF-8 passes through");

	r = mkrec("\xff", 1, "\xfe\xff\x00\x01\x02", 5, NULL, 0);
	ok(strstr(enc(&b, &r), "\"key\":{\"base64\":\"/w==\"},"
	    "\"payload\":{\"base64\":\"/v8AAQI=\"}") != NULL,
	    "invalid UTF-8 is base64, with padding");

	r = mkrec(NULL, -1, "abc\xc3", 4, NULL, 0);
	ok(strstr(enc(&b, &r), "{\"base64\":\"YWJjww==\"}") != NULL,
	    "truncated sequence is base64");
	r = mkrec(NULL, -1, "\xc0\x80", 2, NULL, 0);
	ok(strstr(enc(&b, &r), "\"base64\"") != NULL, "overlong NUL: base64");
	r = mkrec(NULL, -1, "\xe0\x80\xaf", 3, NULL, 0);
	ok(strstr(enc(&b, &r), "\"base64\"") != NULL, "overlong '/': base64");
	r = mkrec(NULL, -1, "\xed\xa0\x80", 3, NULL, 0);
	ok(strstr(enc(&b, &r), "\"base64\"") != NULL, "surrogate: base64");
	r = mkrec(NULL, -1, "\xf4\x90\x80\x80", 4, NULL, 0);
	ok(strstr(enc(&b, &r), "\"base64\"") != NULL, "past U+10FFFF: base64");
	r = mkrec(NULL, -1, "\xf4\x8f\xbf\xbf", 4, NULL, 0);
	ok(strstr(enc(&b, &r), "\"payload\":\"\xf4\x8f\xbf\xbf\"") != NULL,
	    "U+10FFFF is a string");
	r = mkrec(NULL, -1, "\xed\x9f\xbf", 3, NULL, 0);
	ok(strstr(enc(&b, &r), "\"payload\":\"\xed\x9f\xbf\"") != NULL,
	    "U+D7FF is a string");

	/* The eight-byte scanner must stop on a special byte anywhere. */
	{
		char s[40];
		int pos, okall = 1;

		for (pos = 0; pos < 24; pos++) {
			memset(s, 'a', 24);
			s[pos] = '"';
			r = mkrec(NULL, -1, s, 24, NULL, 0);
			enc(&b, &r);
			if (strstr(b.p, "a\\\"a") == NULL &&
			    strstr(b.p, ":\"\\\"a") == NULL &&
			    strstr(b.p, "a\\\"\"}") == NULL)
				okall = 0;
		}
		ok(okall, "quote escaped at every position of a run");
	}
	r = mkrec(NULL, -1, "abcdefghijklmnop\x7fqrstuvwxyz0123456", 34, NULL,
	    0);
	ok(strstr(enc(&b, &r), "\"abcdefghijklmnop\\u007fqrstuvwxyz0123456\"")
	    != NULL, "DEL escaped inside a long run");
	r = mkrec(NULL, -1, "abcdefghijklmnop\x1bqrstuvwxyz0123456", 34, NULL,
	    0);
	ok(strstr(enc(&b, &r), "\"abcdefghijklmnop\\u001bqrstuvwxyz0123456\"")
	    != NULL, "ESC escaped inside a long run");

	/* A failing encode leaves the buffer as it was. */
#ifdef TEST_STANDALONE
	r = mkrec("k", 1, "v", 1, NULL, 2);
	b.len = 0;
	mq_buf_add(&b, "keep", 4);
	before = b.len;
	ok(mq_json_encode(&b, "t", 0, MQ_TS_CREATE, &r) == MQ_ECORRUPT &&
	    b.len == before, "reader-side header error rolls back");
#else
	(void)before;
#endif
	mq_buf_free(&b);
}

static void
test_roundtrip(void)
{
	static const unsigned char bin[] = { 0, '\n', 0xff, 0xc3, 'x', 0x80,
	    '"', '\\', 0x7f, 0xed, 0xa0, 0x80, 0 };
	struct mq_header h[4] = {
		{ "a", 1, "1", 1 },
		{ "nullval", 7, NULL, -1 },
		{ "", 0, "", 0 },
		{ "\xff\x00", 2, bin, sizeof(bin) },
	};
	struct mq_record r;
	unsigned char *big;
	size_t i;

	r = mkrec("key", 3, "value", 5, NULL, 0);
	ok(roundtrip(&r), "plain text");
	r = mkrec(bin, sizeof(bin), bin, sizeof(bin), NULL, 0);
	ok(roundtrip(&r), "binary with NUL, newline, invalid UTF-8");
	r = mkrec("\0", 1, "\n", 1, NULL, 0);
	ok(roundtrip(&r), "lone NUL and lone newline");
	r = mkrec(NULL, -1, NULL, -1, NULL, 0);
	ok(roundtrip(&r), "null key and value");
	r = mkrec("", 0, "", 0, NULL, 0);
	ok(roundtrip(&r), "empty key and value stay empty, not null");
	r = mkrec(NULL, -1, "x", 1, h, 4);
	ok(roundtrip(&r), "headers with null, empty and binary values");
	r = mkrec("\xc3\xa9", 2, "\xf0\x9f\x98\x80", 4, NULL, 0);
	ok(roundtrip(&r), "multibyte UTF-8");
	for (i = 1; i <= 5; i++) {
		r = mkrec(NULL, -1, "\xff\xfe\xfd\xfc\xfb", (ssize_t)i,
		    NULL, 0);
		if (!roundtrip(&r))
			break;
	}
	ok(i == 6, "base64 of every padding length");

	big = malloc(1 << 20);
	for (i = 0; i < 1 << 20; i++)
		big[i] = (unsigned char)(i * 2654435761U >> 13);
	r = mkrec("big", 3, big, 1 << 20, NULL, 0);
	ok(roundtrip(&r), "1 MiB binary value");
	for (i = 0; i < 1 << 20; i++)
		big[i] = (unsigned char)(' ' + i % 95);
	big[12345] = '\n';
	big[999999] = '"';
	ok(roundtrip(&r), "1 MiB text value");
	for (i = 0; i + 2 <= 1 << 20; i += 2) {
		big[i] = 0xc3;
		big[i + 1] = 0xa9;
	}
	ok(roundtrip(&r), "1 MiB two-byte UTF-8 value");
	free(big);
}

static void
test_decode(void)
{
	struct mq_decoded d;
	const char *why;
	const void *p1;
	int rc;

	memset(&d, 0, sizeof(d));

	rc = dec(&d, " \t\r\n{ \"payload\" : \"v\" ,\n\t\"key\"\r:\"k\" , "
	    "\"ts\" : 5 , \"partition\" : 2 } \r\n\t ", &why);
	ok(rc == 0 && d.rec.keylen == 1 && memcmp(d.rec.key, "k", 1) == 0 &&
	    d.rec.vallen == 1 && memcmp(d.rec.value, "v", 1) == 0 &&
	    d.rec.timestamp == 5 && d.partition == 2 && d.rec.nheaders == 0 &&
	    d.rec.offset == -1, "odd whitespace and member order");

	rc = dec(&d, "{\"topic\":\"t\",\"x\":[1,-2.5e+3,true,false,null,"
	    "{\"a\":{\"b\":[[],{}]},\"c\":\"\\u00e9\\\"\"}],\"offset\":99,"
	    "\"tstype\":\"create\",\"key\":null,\"y\":{},\"payload\":\"p\","
	    "\"n\":-0,\"f\":0.5,\"e\":1E9}", &why);
	ok(rc == 0 && d.rec.key == NULL && d.rec.keylen == -1 &&
	    d.rec.vallen == 1 && d.rec.timestamp == -1 && d.partition == -1,
	    "unknown members of every kind skipped");

	rc = dec(&d, "{}", &why);
	ok(rc == 0 && d.rec.key == NULL && d.rec.keylen == -1 &&
	    d.rec.value == NULL && d.rec.vallen == -1 &&
	    d.rec.timestamp == -1 && d.partition == -1 && d.rec.nheaders == 0,
	    "empty object: all absent");

	rc = dec(&d, "{\"partition\":null,\"ts\":-1,\"headers\":null}", &why);
	ok(rc == 0 && d.partition == -1 && d.rec.timestamp == -1 &&
	    d.rec.nheaders == 0, "null partition and headers, ts -1");

	rc = dec(&d, "{\"ts\":9223372036854775807,\"partition\":2147483647}",
	    &why);
	ok(rc == 0 && d.rec.timestamp == INT64_MAX &&
	    d.partition == 2147483647, "largest ts and partition");

	rc = dec(&d, "{\"payload\":\"\\u0041\\u00e9\\u20ac\\ud83d\\ude00"
	    "\\u0000\\/\\b\\f\\n\\r\\t\\\\\\\"\x7f\"}", &why);
	ok(rc == 0 && d.rec.vallen == 20 && memcmp(d.rec.value,
	    "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0/\b\f\n\r\t\\\"\x7f",
	    20) == 0, "escapes, surrogate pair, \\u0000, raw DEL");

	rc = dec(&d, "{\"key\":{ \"base64\" : \"AAEC/w==\" },\"payload\":"
	    "{\"base64\":\"\"},\"headers\":[\"a\",{\"base64\":\"AP8=\"},"
	    "{\"base64\":\"eA==\"},null]}", &why);
	ok(rc == 0 && d.rec.keylen == 4 &&
	    memcmp(d.rec.key, "\0\1\2\xff", 4) == 0 && d.rec.vallen == 0 &&
	    d.rec.value != NULL && d.rec.nheaders == 2 &&
	    d.rec.headers[0].keylen == 1 && d.rec.headers[0].vallen == 2 &&
	    memcmp(d.rec.headers[0].value, "\0\xff", 2) == 0 &&
	    d.rec.headers[1].keylen == 1 &&
	    memcmp(d.rec.headers[1].key, "x", 1) == 0 &&
	    d.rec.headers[1].value == NULL && d.rec.headers[1].vallen == -1,
	    "base64 objects everywhere, empty base64");

	rc = dec(&d, "{\"payload\":{\"base64\":\"YW\\/i\"}}", &why);
	ok(rc == 0 && d.rec.vallen == 3 &&
	    memcmp(d.rec.value, "ao\xe2", 3) == 0,
	    "escaped '/' inside base64");

	rc = dec(&d, "{\"k\\u0065y\":\"x\"}", &why);
	ok(rc == 0 && d.rec.keylen == 1, "escaped member name is still key");

	/* A second decode reuses the struct; the first's data is gone. */
	rc = dec(&d, "{\"key\":\"first\"}", &why);
	p1 = d.rec.key;
	rc |= dec(&d, "{\"key\":\"second\",\"headers\":[\"h\",\"v\"]}", &why);
	ok(rc == 0 && d.rec.key == p1 && d.rec.keylen == 6 &&
	    memcmp(d.rec.key, "second", 6) == 0 && d.rec.nheaders == 1,
	    "scratch reset between decodes");
	rc = dec(&d, "{}", &why);
	ok(rc == 0 && d.rec.nheaders == 0, "headers reset between decodes");

	{
		/* Many headers: the array grows while values are held. */
		struct mq_buf b = { NULL, 0, 0 };
		int i, good = 1;
		char tmp[32];

		mq_buf_add(&b, "{\"headers\":[", 12);
		for (i = 0; i < 1000; i++) {
			snprintf(tmp, sizeof(tmp), "%s\"k%d\",\"v%d\"",
			    i ? "," : "", i, i);
			mq_buf_add(&b, tmp, strlen(tmp));
		}
		mq_buf_add(&b, "]}", 2);
		rc = mq_json_decode(b.p, b.len, &d, &why);
		for (i = 0; rc == 0 && i < 1000; i++) {
			snprintf(tmp, sizeof(tmp), "v%d", i);
			if (d.rec.headers[i].vallen != (ssize_t)strlen(tmp) ||
			    memcmp(d.rec.headers[i].value, tmp,
			    strlen(tmp)) != 0)
				good = 0;
		}
		ok(rc == 0 && good && d.rec.nheaders == 1000, "1000 headers");
		mq_buf_free(&b);
	}

	{
		/* Nesting: 64 levels in all is the limit. */
		char deep[300];
		int i, n;

		n = snprintf(deep, sizeof(deep), "{\"x\":");
		for (i = 0; i < 63; i++)
			deep[n++] = '[';
		for (i = 0; i < 63; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		deep[n] = '\0';
		ok(dec(&d, deep, &why) == 0, "nesting 64 deep accepted");
		n = snprintf(deep, sizeof(deep), "{\"x\":");
		for (i = 0; i < 64; i++)
			deep[n++] = '[';
		for (i = 0; i < 64; i++)
			deep[n++] = ']';
		deep[n++] = '}';
		deep[n] = '\0';
		ok(fails(deep, "nesting too deep"), "nesting 65 deep refused");
	}

	/* Input is not NUL-terminated: nothing may be read past len. */
	{
		char *line = malloc(15);

		memcpy(line, "{\"key\":\"abc\"}", 13);
		line[13] = '\r';
		line[14] = '\n';
		rc = mq_json_decode(line, 14, &d, &why);
		ok(rc == 0 && d.rec.keylen == 3, "trailing \\r allowed");
		rc = mq_json_decode(line, 12, &d, &why);
		ok(rc == MQ_EBADRECORD, "cut short before '}'");
		rc = mq_json_decode(line, 10, &d, &why);
		ok(rc == MQ_EBADRECORD &&
		    strcmp(why, "unterminated string") == 0,
		    "cut short inside a string");
		free(line);
	}
	mq_decoded_free(&d);
}

static void
test_errors(void)
{
	ok(fails("", "expected '{'"), "empty line");
	ok(fails("  ", "expected '{'"), "only whitespace");
	ok(fails("[]", "expected '{'"), "array, not object");
	ok(fails("{\"key\":\"a\"} x", "trailing data after object"),
	    "trailing data");
	ok(fails("{}{}", "trailing data after object"), "two objects");
	ok(fails("{\"key\":\"a\",\"key\":\"b\"}", "duplicate member \"key\""),
	    "duplicate key");
	ok(fails("{\"payload\":null,\"payload\":null}",
	    "duplicate member \"payload\""), "duplicate payload");
	ok(fails("{\"headers\":[],\"headers\":[]}",
	    "duplicate member \"headers\""), "duplicate headers");
	ok(fails("{\"ts\":1,\"ts\":1}", "duplicate member \"ts\""),
	    "duplicate ts");
	ok(fails("{\"partition\":1,\"partition\":1}",
	    "duplicate member \"partition\""), "duplicate partition");
	ok(fails("{\"headers\":[\"a\"]}",
	    "headers must have an even number of items"), "odd headers");
	ok(fails("{\"headers\":[null,\"v\"]}", "header key may not be null"),
	    "null header key");
	ok(fails("{\"headers\":{}}", "headers must be an array or null"),
	    "headers object");
	ok(fails("{\"headers\":[1,2]}",
	    "expected null, a string or {\"base64\":\"...\"}"),
	    "number as header");
	ok(fails("{\"key\":5}",
	    "expected null, a string or {\"base64\":\"...\"}"),
	    "number as key");
	ok(fails("{\"key\":true}",
	    "expected null, a string or {\"base64\":\"...\"}"), "true as key");
	ok(fails("{\"key\":nul}",
	    "expected null, a string or {\"base64\":\"...\"}"), "nul");
	ok(fails("{\"key\":{\"b64\":\"AA==\"}}",
	    "expected null, a string or {\"base64\":\"...\"}"),
	    "wrong base64 member name");
	ok(fails("{\"key\":{\"base64\":\"AA==\",\"x\":1}}",
	    "expected null, a string or {\"base64\":\"...\"}"),
	    "extra member in base64 object");
	ok(fails("{\"key\":{\"base64\":\"AA=\"}}", "bad base64"),
	    "base64 length not a multiple of 4");
	ok(fails("{\"key\":{\"base64\":\"A===\"}}", "bad base64"),
	    "three padding characters");
	ok(fails("{\"key\":{\"base64\":\"AA=A\"}}", "bad base64"),
	    "padding in the middle");
	ok(fails("{\"key\":{\"base64\":\"AA==AAAA\"}}", "bad base64"),
	    "padding before the end");
	ok(fails("{\"key\":{\"base64\":\"AB==\"}}", "bad base64"),
	    "nonzero bits under padding");
	ok(fails("{\"key\":{\"base64\":\"AAB=\"}}", "bad base64"),
	    "nonzero bits under one pad");
	ok(fails("{\"key\":{\"base64\":\"A-_A\"}}", "bad base64"),
	    "base64url alphabet");
	ok(fails("{\"key\":{\"base64\":\"AA AA\"}}", "bad base64"),
	    "space in base64");
	ok(fails("{\"key\":{\"base64\":null}}", "bad base64"), "null base64");
	ok(fails("{\"key\":\"\xff\"}", "invalid UTF-8 in string"),
	    "invalid byte in string");
	ok(fails("{\"key\":\"\xc0\x80\"}", "invalid UTF-8 in string"),
	    "overlong in string");
	ok(fails("{\"key\":\"\xed\xa0\x80\"}", "invalid UTF-8 in string"),
	    "raw surrogate in string");
	ok(fails("{\"key\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8 in string"),
	    "past U+10FFFF in string");
	ok(fails("{\"x\":\"\xe2\x82\"}", "invalid UTF-8 in string"),
	    "truncated sequence in skipped string");
	ok(fails("{\"key\":\"a\tb\"}", "control character in string"),
	    "raw tab in string");
	ok(fails("{\"key\":\"a\nb\"}", "control character in string"),
	    "raw newline in string");
	ok(fails("{\"key\":\"\\ud800\"}", "lone surrogate in string"),
	    "lone high surrogate");
	ok(fails("{\"key\":\"\\udc00\"}", "lone surrogate in string"),
	    "lone low surrogate");
	ok(fails("{\"key\":\"\\ud800\\u0041\"}", "lone surrogate in string"),
	    "high surrogate then non-surrogate");
	ok(fails("{\"key\":\"\\ud800\\ud800\"}", "lone surrogate in string"),
	    "two high surrogates");
	ok(fails("{\"key\":\"\\u12\"}", "bad \\u escape in string"),
	    "short \\u");
	ok(fails("{\"key\":\"\\u12g4\"}", "bad \\u escape in string"),
	    "non-hex \\u");
	ok(fails("{\"key\":\"\\x41\"}", "bad escape in string"), "\\x escape");
	ok(fails("{\"key\":\"\\'\"}", "bad escape in string"), "\\' escape");
	ok(fails("{\"key\":\"abc", "unterminated string"), "unterminated");
	ok(fails("{\"key\":\"abc\\", "unterminated string"),
	    "unterminated after backslash");
	ok(fails("{\"ts\":1.5}", "ts must be an integer >= -1"), "ts fraction");
	ok(fails("{\"ts\":1e3}", "ts must be an integer >= -1"), "ts exponent");
	ok(fails("{\"ts\":-2}", "ts must be an integer >= -1"), "ts -2");
	ok(fails("{\"ts\":\"5\"}", "ts must be an integer >= -1"), "ts string");
	ok(fails("{\"ts\":9223372036854775808}", "ts must be an integer >= -1"),
	    "ts overflow");
	ok(fails("{\"partition\":-1}", "partition must be an integer >= 0"),
	    "partition -1");
	ok(fails("{\"partition\":2147483648}",
	    "partition must be an integer >= 0"), "partition over int32");
	ok(fails("{\"partition\":true}", "partition must be an integer >= 0"),
	    "partition true");
	ok(fails("{\"ts\":01}", "expected ',' or '}' in object"),
	    "leading zero");
	ok(fails("{\"x\":-}", "bad number"), "bare minus");
	ok(fails("{\"x\":1.}", "bad number"), "no fraction digits");
	ok(fails("{\"x\":1e}", "bad number"), "no exponent digits");
	ok(fails("{\"x\":.5}", "expected a value"), "no integer part");
	ok(fails("{\"x\":+1}", "expected a value"), "plus sign");
	ok(fails("{\"x\":tru}", "expected a value"), "tru");
	ok(fails("{\"x\":[1,]}", "expected a value"),
	    "trailing comma in array");
	ok(fails("{\"x\":[1 2]}", "expected ',' or ']' in array"),
	    "missing comma in array");
	ok(fails("{\"x\":{\"a\":1,}}", "expected a member name"),
	    "trailing comma in nested object");
	ok(fails("{\"key\":\"a\",}", "expected a member name"),
	    "trailing comma in envelope");
	ok(fails("{\"key\" \"a\"}", "expected ':' after member name"),
	    "missing colon");
	ok(fails("{key:\"a\"}", "expected a member name"), "bare name");
	ok(fails("{\"key\":\"a\" \"ts\":1}", "expected ',' or '}' in object"),
	    "missing comma");
	ok(fails("{\"key\":\"a\"", "expected ',' or '}' in object"),
	    "missing closing brace");
	ok(fails("{\"x\":[}", "expected a value"), "mismatched bracket");
	ok(fails("{\"x\":'a'}", "expected a value"), "single quotes");
	{
		struct mq_decoded d;
		const char *why;

		memset(&d, 0, sizeof(d));
		ok(dec(&d, "{\"x\":1,\"x\":2}", &why) == 0,
		    "duplicate unknown members are fine");
		ok(mq_json_decode("{}\0", 3, &d, &why) == MQ_EBADRECORD &&
		    strcmp(why, "trailing data after object") == 0,
		    "NUL after object");
		ok(mq_json_decode("{\"key\":\"a\0b\"}", 13, &d, &why) ==
		    MQ_EBADRECORD &&
		    strcmp(why, "control character in string") == 0,
		    "raw NUL in string");
		mq_decoded_free(&d);
	}
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
	struct mq_buf b = { NULL, 0, 0 };
	struct mq_record r;
	const char *text = "\"headers\":[\"h\",\"v\",\"n\",null]";

	mq_batch_init(&batch, 1 << 20);
	r = mkrec("k", 1, "v", 1, h, 2);
	if (mq_batch_add(&batch, &r) == 0) {
		mq_batch_finish(&batch, 0);
		mq_batch_iter_init(&it, batch.buf);
		ok(mq_batch_iter_next(&it, &r) == 1 && r.headers == NULL &&
		    r.nheaders == 2 && strstr(enc(&b, &r), text) != NULL,
		    "reader-side headers encoded");
	} else
		ok(0, "batch built");
	mq_batch_free(&batch);
	mq_buf_free(&b);
}
#endif

int
main(void)
{
	test_encode();
	test_roundtrip();
	test_decode();
	test_errors();
#ifndef TEST_STANDALONE
	test_reader_headers();
#endif
	return done();
}

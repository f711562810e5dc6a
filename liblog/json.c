/* SPDX-License-Identifier: MIT */
/*
 * json.c - the JSON envelope: one record as one line of JSON, in the shape
 * kcat -J prints, so that mq-consume's output can be read by people and
 * jq, and fed back to mq-produce without losing a byte.
 *
 * Kafka keys, values and headers are bytes, JSON strings are Unicode.  So
 * each bytes value is written as a string when it is valid UTF-8 (the
 * common case, and the readable one) and as {"base64":"..."} when it is
 * not; null stays null.  Reading accepts exactly that, strictly: a
 * lenient reader would let a typo silently become different bytes in the
 * log, which nobody finds until a consumer chokes on it.
 *
 * Encoding is on the path of every consumed record, so text is scanned
 * eight bytes at a time and plain runs are copied with one memcpy.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "internal.h"

#define JSON_DEPTH	64		/* deepest nesting the reader accepts */

/* ------------------------- Shared scanning ------------------------- */

#define ONES	UINT64_C(0x0101010101010101)
#define HIGHS	UINT64_C(0x8080808080808080)

/*
 * Nonzero when some byte of v is below n (n <= 128).  Borrows can mark
 * the wrong byte, but never make a word with no such byte test true, and
 * a word testing true is rescanned a byte at a time.
 */
#define HASLESS(v, n)	(((v) - ONES * (n)) & ~(v) & HIGHS)
#define HASBYTE(v, c)	HASLESS((v) ^ (ONES * (c)), 1)

/* A byte JSON carries as itself, in both directions. */
#define PLAIN(c)	((c) >= 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\')

/*
 * Returns how many bytes at the start of p[0..n) are PLAIN: eight at a
 * step while whole words are, then byte by byte to the exact spot.
 */
static inline size_t
plain_run(const unsigned char *p, size_t n)
{
	size_t i = 0;
	uint64_t v;

	while (n - i >= 8) {
		memcpy(&v, p + i, 8);
		if ((v & HIGHS) | HASLESS(v, 0x20) | HASBYTE(v, '"') |
		    HASBYTE(v, '\\') | HASBYTE(v, 0x7f))
			break;
		i += 8;
	}
	while (i < n && PLAIN(p[i]))
		i++;
	return i;
}

/*
 * Returns the length of the UTF-8 sequence at p (n bytes available, p[0]
 * >= 0x80), or 0 if it is not one: RFC 3629's table, so overlong forms,
 * surrogates and code points past U+10FFFF are all refused.
 */
static inline size_t
utf8_len(const unsigned char *p, size_t n)
{
	unsigned int c = p[0], lo = 0x80, hi = 0xbf;
	size_t len, i;

	if (c < 0xc2)
		return 0;
	if (c < 0xe0)
		len = 2;
	else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* ------------------------- Encoding -------------------------------- */

static const char hexdig[] = "0123456789abcdef";
static const char b64enc[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The letter of a two-byte escape for a control character, or 0. */
static inline int
short_escape(unsigned int c)
{
	switch (c) {
	case '\b':
		return 'b';
	case '\f':
		return 'f';
	case '\n':
		return 'n';
	case '\r':
		return 'r';
	case '\t':
		return 't';
	default:
		return 0;
	}
}

/*
 * Checks that p[0..n) is UTF-8 and counts the bytes escaping will add, so
 * the writer can reserve once.  Returns 1 with *extra set, or 0.
 */
static int
utf8_scan(const unsigned char *p, size_t n, uint64_t *extra)
{
	uint64_t x = 0;
	size_t i = 0, k;

	for (;;) {
		i += plain_run(p + i, n - i);
		if (i == n)
			break;
		if (p[i] < 0x80) {
			/* '"', '\\' and \n-style take 2 bytes, \u00XX 6. */
			if (p[i] == '"' || p[i] == '\\' ||
			    short_escape(p[i]) != 0)
				x += 1;
			else
				x += 5;
			i++;
		} else if ((k = utf8_len(p + i, n - i)) == 0)
			return 0;
		else
			i += k;
	}
	*extra = x;
	return 1;
}

/* Writes p[0..n), known to be UTF-8, as a JSON string. */
static int
put_string(struct mq_buf *out, const unsigned char *p, size_t n,
    uint64_t extra)
{
	unsigned char *o;
	size_t i = 0, k;
	unsigned int c;
	int rc;

	if (extra > SIZE_MAX - 2 || n > SIZE_MAX - 2 - extra)
		return ENOMEM;
	if ((rc = mq_buf_reserve(out, n + extra + 2)) != 0)
		return rc;
	o = (unsigned char *)out->p + out->len;
	*o++ = '"';
	for (;;) {
		k = plain_run(p + i, n - i);
		memcpy(o, p + i, k);
		o += k;
		i += k;
		if (i == n)
			break;
		c = p[i++];
		if (c >= 0x80) {
			/* Validated already: the lead byte gives the length. */
			*o++ = c;
			k = c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
			while (k-- > 0)
				*o++ = p[i++];
		} else if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = c;
		} else if (short_escape(c) != 0) {
			*o++ = '\\';
			*o++ = short_escape(c);
		} else {
			/* Other controls and DEL, which terminals act on. */
			memcpy(o, "\\u00", 4);
			o[4] = hexdig[c >> 4];
			o[5] = hexdig[c & 0xf];
			o += 6;
		}
	}
	*o++ = '"';
	out->len = (size_t)((char *)o - out->p);
	return 0;
}

/* Writes p[0..n) as {"base64":"..."}, padded as RFC 4648 says. */
static int
put_base64(struct mq_buf *out, const unsigned char *p, size_t n)
{
	static const char pre[] = "{\"base64\":\"";
	unsigned char *o;
	size_t i, quads = n / 3 + (n % 3 != 0);
	uint32_t v;
	int rc;

	if (quads > (SIZE_MAX - sizeof(pre) - 2) / 4)
		return ENOMEM;
	if ((rc = mq_buf_reserve(out, quads * 4 + sizeof(pre) + 2)) != 0)
		return rc;
	o = (unsigned char *)out->p + out->len;
	memcpy(o, pre, sizeof(pre) - 1);
	o += sizeof(pre) - 1;
	for (i = 0; n - i >= 3; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		o[0] = b64enc[v >> 18];
		o[1] = b64enc[(v >> 12) & 0x3f];
		o[2] = b64enc[(v >> 6) & 0x3f];
		o[3] = b64enc[v & 0x3f];
		o += 4;
	}
	if (n - i > 0) {
		v = (uint32_t)p[i] << 16;
		if (n - i == 2)
			v |= (uint32_t)p[i + 1] << 8;
		o[0] = b64enc[v >> 18];
		o[1] = b64enc[(v >> 12) & 0x3f];
		o[2] = n - i == 2 ? b64enc[(v >> 6) & 0x3f] : '=';
		o[3] = '=';
		o += 4;
	}
	*o++ = '"';
	*o++ = '}';
	out->len = (size_t)((char *)o - out->p);
	return 0;
}

/* Writes bytes as null, a JSON string, or {"base64":...}. */
static int
put_bytes(struct mq_buf *out, const void *p, size_t n, int isnull)
{
	uint64_t extra;

	if (isnull)
		return mq_buf_add(out, "null", 4);
	if (n == 0)
		return mq_buf_add(out, "\"\"", 2);
	if (utf8_scan(p, n, &extra))
		return put_string(out, p, n, extra);
	return put_base64(out, p, n);
}

/* The same, for a record's fields, where a negative length means null. */
static int
put_field(struct mq_buf *out, const void *p, ssize_t n)
{
	return put_bytes(out, p, n > 0 ? (size_t)n : 0, n < 0);
}

/* Writes v in decimal at o; returns the end.  Needs 20 bytes. */
static char *
fmt_i64(char *o, int64_t v)
{
	char tmp[20], *t = tmp + sizeof(tmp);
	uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
	size_t n;

	do {
		*--t = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--t = '-';
	n = (size_t)(tmp + sizeof(tmp) - t);
	memcpy(o, t, n);
	return o + n;
}

static char *
fmt_lit(char *o, const char *s)
{
	size_t n = strlen(s);

	memcpy(o, s, n);
	return o + n;
}

/* Longest run of fixed text and numbers between topic and headers. */
#define ENCODE_MID 128

/*
 * Appends rec's envelope and a newline to out.  Returns 0, ENOMEM, or
 * MQ_ECORRUPT when a reader-side header does not decode; out is as it was
 * on error, so a caller never prints half a record.
 */
int
mq_json_encode(struct mq_buf *out, const char *topic, int part,
    int ts_type, const struct mq_record *rec)
{
	size_t start = out->len, i;
	struct mq_header h;
	char *o;
	int rc;

	if ((rc = mq_buf_add(out, "{\"topic\":", 9)) != 0 ||
	    (rc = put_bytes(out, topic, topic != NULL ? strlen(topic) : 0,
	    topic == NULL)) != 0)
		goto fail;

	if ((rc = mq_buf_reserve(out, ENCODE_MID)) != 0)
		goto fail;
	o = out->p + out->len;
	o = fmt_lit(o, ",\"partition\":");
	o = fmt_i64(o, part);
	o = fmt_lit(o, ",\"offset\":");
	o = fmt_i64(o, rec->offset);
	o = fmt_lit(o, ts_type == MQ_TS_LOGAPPEND ?
	    ",\"tstype\":\"logappend\"" : ",\"tstype\":\"create\"");
	o = fmt_lit(o, ",\"ts\":");
	o = fmt_i64(o, rec->timestamp);
	o = fmt_lit(o, ",\"headers\":[");
	out->len = (size_t)(o - out->p);

	for (i = 0; i < rec->nheaders; i++) {
		if (rec->headers != NULL)
			h = rec->headers[i];
		else if ((rc = mq_record_header(rec, i, &h)) != 0)
			goto fail;
		if ((i > 0 && (rc = mq_buf_add(out, ",", 1)) != 0) ||
		    (rc = put_bytes(out, h.key, h.keylen, 0)) != 0 ||
		    (rc = mq_buf_add(out, ",", 1)) != 0 ||
		    (rc = put_field(out, h.value, h.vallen)) != 0)
			goto fail;
	}

	if ((rc = mq_buf_add(out, "],\"key\":", 8)) != 0 ||
	    (rc = put_field(out, rec->key, rec->keylen)) != 0 ||
	    (rc = mq_buf_add(out, ",\"payload\":", 11)) != 0 ||
	    (rc = put_field(out, rec->value, rec->vallen)) != 0 ||
	    (rc = mq_buf_add(out, "}\n", 2)) != 0)
		goto fail;
	return 0;

fail:
	out->len = start;
	return rc;
}

/* ------------------------- Decoding -------------------------------- */

/*
 * Parser state.  Unescaped bytes go to d->scratch, which mq_json_decode
 * sizes up front so that it never moves while pointers into it are held.
 */
struct jp {
	const unsigned char *p, *end;
	struct mq_decoded *d;
	const char *why;
};

enum { M_KEY, M_PAYLOAD, M_HEADERS, M_TS, M_PARTITION, M_OTHER };

static const struct {
	const char *name;
	size_t	len;
	const char *dup;
} members[] = {
	{ "key", 3, "duplicate member \"key\"" },
	{ "payload", 7, "duplicate member \"payload\"" },
	{ "headers", 7, "duplicate member \"headers\"" },
	{ "ts", 2, "duplicate member \"ts\"" },
	{ "partition", 9, "duplicate member \"partition\"" },
};

static const char bytes_why[] =
    "expected null, a string or {\"base64\":\"...\"}";

static int
bad(struct jp *j, const char *why)
{
	j->why = why;
	return MQ_EBADRECORD;
}

/* Skips whitespace; returns the next byte, or -1 at the end. */
static inline int
peek(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
	    *j->p == '\n' || *j->p == '\r'))
		j->p++;
	return j->p < j->end ? *j->p : -1;
}

/* Moves past the literal s if it is next; returns 0, or -1 if not. */
static int
literal(struct jp *j, const char *s, size_t n)
{
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int
hex4(const unsigned char *p, const unsigned char *end, uint32_t *v)
{
	uint32_t x = 0;
	int i, c;

	if (end - p < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = p[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return -1;
		x = x << 4 | (uint32_t)c;
	}
	*v = x;
	return 0;
}

static unsigned char *
put_utf8(unsigned char *o, uint32_t cp)
{
	if (cp < 0x80)
		*o++ = (unsigned char)cp;
	else if (cp < 0x800) {
		*o++ = (unsigned char)(0xc0 | cp >> 6);
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*o++ = (unsigned char)(0xe0 | cp >> 12);
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*o++ = (unsigned char)(0xf0 | cp >> 18);
		*o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*o++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	return o;
}

/*
 * Parses the string whose opening quote is at j->p.  With store, appends
 * its unescaped bytes to the scratch buffer; without, only checks it.
 */
static int
jstring(struct jp *j, int store)
{
	const unsigned char *p = j->p + 1, *end = j->end;
	struct mq_buf *s = &j->d->scratch;
	unsigned char *o = store ? (unsigned char *)s->p + s->len : NULL;
	uint32_t cp, lo;
	size_t k;
	int c;

	for (;;) {
		k = plain_run(p, (size_t)(end - p));
		if (store) {
			memcpy(o, p, k);
			o += k;
		}
		p += k;
		if (p == end)
			return bad(j, "unterminated string");
		c = *p;
		if (c == '"')
			break;
		if (c < 0x20)
			return bad(j, "control character in string");
		if (c >= 0x80) {
			if ((k = utf8_len(p, (size_t)(end - p))) == 0)
				return bad(j, "invalid UTF-8 in string");
			if (store) {
				memcpy(o, p, k);
				o += k;
			}
			p += k;
			continue;
		}
		if (c != '\\') {
			/* DEL: legal in JSON text, escaped only on output. */
			if (store)
				*o++ = (unsigned char)c;
			p++;
			continue;
		}
		if (end - p < 2)
			return bad(j, "unterminated string");
		switch (p[1]) {
		case '"':
		case '\\':
		case '/':
			c = p[1];
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u':
			c = -1;
			break;
		default:
			return bad(j, "bad escape in string");
		}
		if (c != -1) {
			if (store)
				*o++ = (unsigned char)c;
			p += 2;
			continue;
		}
		if (hex4(p + 2, end, &cp) == -1)
			return bad(j, "bad \\u escape in string");
		p += 6;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return bad(j, "lone surrogate in string");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
			    hex4(p + 2, end, &lo) == -1 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return bad(j, "lone surrogate in string");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			p += 6;
		}
		if (store)
			o = put_utf8(o, cp);
	}
	j->p = p + 1;
	if (store)
		s->len = (size_t)((char *)o - s->p);
	return 0;
}

/*
 * Checks the number at j->p against JSON's grammar and moves past it.
 * *isint says whether it was an integer that fits in int64_t, in *v.
 */
static int
jnumber(struct jp *j, int64_t *v, int *isint)
{
	const unsigned char *p = j->p, *end = j->end;
	uint64_t u = 0, lim = INT64_MAX;
	unsigned int dig;
	int neg = 0, fits = 1, integral = 1;

	if (p < end && *p == '-') {
		neg = 1;
		lim = (uint64_t)INT64_MAX + 1;
		p++;
	}
	if (p == end || *p < '0' || *p > '9')
		return bad(j, "bad number");
	if (*p == '0')
		p++;
	else
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			dig = (unsigned int)(*p - '0');
			if (u > (lim - dig) / 10)
				fits = 0;
			else
				u = u * 10 + dig;
		}
	if (p < end && *p == '.') {
		integral = 0;
		if (++p == end || *p < '0' || *p > '9')
			return bad(j, "bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		integral = 0;
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		if (p == end || *p < '0' || *p > '9')
			return bad(j, "bad number");
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	j->p = p;
	*isint = integral && fits;
	if (*isint)
		*v = neg && u > 0 ? -(int64_t)(u - 1) - 1 : (int64_t)u;
	return 0;
}

/*
 * Checks and skips any JSON value; depth is how many arrays and objects
 * are open around it.  The cap bounds the recursion an input can cause.
 */
static int
jskip(struct jp *j, int depth)
{
	int64_t v;
	int c, close, isint, rc;

	switch ((c = peek(j))) {
	case '"':
		return jstring(j, 0);
	case 't':
		rc = literal(j, "true", 4);
		return rc == 0 ? 0 : bad(j, "expected a value");
	case 'f':
		rc = literal(j, "false", 5);
		return rc == 0 ? 0 : bad(j, "expected a value");
	case 'n':
		rc = literal(j, "null", 4);
		return rc == 0 ? 0 : bad(j, "expected a value");
	case '[':
	case '{':
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9'))
			return jnumber(j, &v, &isint);
		return bad(j, "expected a value");
	}

	if (depth >= JSON_DEPTH)
		return bad(j, "nesting too deep");
	close = c == '[' ? ']' : '}';
	j->p++;
	if (peek(j) == close) {
		j->p++;
		return 0;
	}
	for (;;) {
		if (c == '{') {
			if (peek(j) != '"')
				return bad(j, "expected a member name");
			if ((rc = jstring(j, 0)) != 0)
				return rc;
			if (peek(j) != ':')
				return bad(j, "expected ':' after member name");
			j->p++;
		}
		if ((rc = jskip(j, depth + 1)) != 0)
			return rc;
		if (peek(j) == ',') {
			j->p++;
			continue;
		}
		if (peek(j) == close) {
			j->p++;
			return 0;
		}
		return bad(j, c == '{' ? "expected ',' or '}' in object" :
		    "expected ',' or ']' in array");
	}
}

static inline int
b64val(unsigned int c)
{
	if (c >= 'A' && c <= 'Z')
		return (int)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (int)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (int)(c - '0' + 52);
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decodes the base64 in s[0..n) in place, which works because output
 * trails input and each quad is read whole before it is written.  Strict:
 * padding to a multiple of four, '=' only at the end, and the bits the
 * padding leaves over zero, so each byte string has one spelling.
 * Returns 0 with *outlen set, or -1.
 */
static int
b64_decode(unsigned char *s, size_t n, size_t *outlen)
{
	size_t i, o = 0;
	int a, b, c, e;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		a = b64val(s[i]);
		b = b64val(s[i + 1]);
		c = b64val(s[i + 2]);
		e = b64val(s[i + 3]);
		if (a < 0 || b < 0)
			return -1;
		if (i + 4 == n && s[i + 2] == '=' && s[i + 3] == '=') {
			if ((b & 0xf) != 0)
				return -1;
			s[o++] = (unsigned char)(a << 2 | b >> 4);
			break;
		}
		if (c < 0)
			return -1;
		if (i + 4 == n && s[i + 3] == '=') {
			if ((c & 0x3) != 0)
				return -1;
			s[o++] = (unsigned char)(a << 2 | b >> 4);
			s[o++] = (unsigned char)((b & 0xf) << 4 | c >> 2);
			break;
		}
		if (e < 0)
			return -1;
		s[o++] = (unsigned char)(a << 2 | b >> 4);
		s[o++] = (unsigned char)((b & 0xf) << 4 | c >> 2);
		s[o++] = (unsigned char)((c & 0x3) << 6 | e);
	}
	*outlen = o;
	return 0;
}

/*
 * Parses a member name and its colon.  The unescaped name is left in
 * scratch space past s->len, which is given back: *namep is only good
 * until the next string is stored.
 */
static int
jname(struct jp *j, const char **namep, size_t *np)
{
	struct mq_buf *s = &j->d->scratch;
	size_t mark = s->len;
	int rc;

	if (peek(j) != '"')
		return bad(j, "expected a member name");
	if ((rc = jstring(j, 1)) != 0)
		return rc;
	*namep = s->p + mark;
	*np = s->len - mark;
	s->len = mark;
	if (peek(j) != ':')
		return bad(j, "expected ':' after member name");
	j->p++;
	return 0;
}

/* Parses null, a string or {"base64":"..."}; *np is -1 for null. */
static int
jbytes(struct jp *j, const void **vp, ssize_t *np)
{
	struct mq_buf *s = &j->d->scratch;
	size_t mark = s->len, n;
	const char *name;
	int c, rc;

	c = peek(j);
	if (c == 'n') {
		if (literal(j, "null", 4) != 0)
			return bad(j, bytes_why);
		*vp = NULL;
		*np = -1;
		return 0;
	}
	if (c == '"') {
		if ((rc = jstring(j, 1)) != 0)
			return rc;
	} else if (c == '{') {
		j->p++;
		if ((rc = jname(j, &name, &n)) != 0)
			return rc;
		if (n != 6 || memcmp(name, "base64", 6) != 0)
			return bad(j, bytes_why);
		if (peek(j) != '"')
			return bad(j, "bad base64");
		if ((rc = jstring(j, 1)) != 0)
			return rc;
		if (b64_decode((unsigned char *)s->p + mark, s->len - mark,
		    &n) == -1)
			return bad(j, "bad base64");
		s->len = mark + n;
		if (peek(j) != '}')
			return bad(j, bytes_why);
		j->p++;
	} else
		return bad(j, bytes_why);
	*vp = s->p + mark;
	*np = (ssize_t)(s->len - mark);
	return 0;
}

/* Parses null or an array of key, value, key, value... into d->hdrs. */
static int
jheaders(struct jp *j)
{
	struct mq_decoded *d = j->d;
	struct mq_header *h;
	const void *v;
	ssize_t n;
	size_t items = 0;
	int c, rc;

	c = peek(j);
	if (c == 'n' && literal(j, "null", 4) == 0)
		return 0;
	if (c != '[')
		return bad(j, "headers must be an array or null");
	j->p++;
	if (peek(j) == ']') {
		j->p++;
		return 0;
	}
	for (;;) {
		if ((rc = jbytes(j, &v, &n)) != 0)
			return rc;
		if (items++ % 2 == 0) {
			if (n < 0)
				return bad(j, "header key may not be null");
			if ((rc = decoded_reserve_hdrs(d, d->nhdrs + 1)) != 0)
				return rc;
			h = &d->hdrs[d->nhdrs];
			h->key = v;
			h->keylen = (size_t)n;
		} else {
			h = &d->hdrs[d->nhdrs++];
			h->value = v;
			h->vallen = n;
		}
		if ((c = peek(j)) == ',') {
			j->p++;
			continue;
		}
		if (c == ']') {
			j->p++;
			break;
		}
		return bad(j, "expected ',' or ']' in array");
	}
	if (items % 2 != 0)
		return bad(j, "headers must have an even number of items");
	return 0;
}

/* Parses an integer in [min, max], or null for -1. */
static int
jint(struct jp *j, int64_t *v, int64_t min, int64_t max, const char *why)
{
	int64_t x;
	int c, isint, rc;

	c = peek(j);
	if (c == 'n' && literal(j, "null", 4) == 0) {
		*v = -1;
		return 0;
	}
	if (c != '-' && (c < '0' || c > '9'))
		return bad(j, why);
	if ((rc = jnumber(j, &x, &isint)) != 0)
		return rc;
	if (!isint || x < min || x > max)
		return bad(j, why);
	*v = x;
	return 0;
}

/*
 * Parses one envelope into d.  Returns 0, ENOMEM, or MQ_EBADRECORD with
 * *why set (static text).
 */
int
mq_json_decode(const char *line, size_t len, struct mq_decoded *d,
    const char **why)
{
	struct jp j;
	const void *key = NULL, *val = NULL;
	const char *name;
	ssize_t keylen = -1, vallen = -1;
	int64_t ts = -1, part = -1;
	unsigned int seen = 0;
	size_t n, i;
	int c, m, rc;

	*why = NULL;
	d->scratch.len = 0;
	d->nhdrs = 0;
	if (len == 0) {
		*why = "expected '{'";
		return MQ_EBADRECORD;
	}
	/*
	 * Unescaping never lengthens text: an escape is longer than what
	 * it stands for and base64 is a third longer than its bytes.  So
	 * len bytes hold every value, scratch never moves while it is
	 * being filled, and pointers into it can be taken as we go.
	 */
	if ((rc = mq_buf_reserve(&d->scratch, len)) != 0) {
		*why = "out of memory";
		return rc;
	}
	j.p = (const unsigned char *)line;
	j.end = j.p + len;
	j.d = d;
	j.why = NULL;

	if (peek(&j) != '{') {
		rc = bad(&j, "expected '{'");
		goto fail;
	}
	j.p++;
	if (peek(&j) == '}')
		j.p++;
	else
		for (;;) {
			if ((rc = jname(&j, &name, &n)) != 0)
				goto fail;
			m = M_OTHER;
			for (i = 0; i < M_OTHER; i++)
				if (members[i].len == n &&
				    memcmp(members[i].name, name, n) == 0)
					m = (int)i;
			if (m != M_OTHER) {
				if (seen & 1U << m) {
					rc = bad(&j, members[m].dup);
					goto fail;
				}
				seen |= 1U << m;
			}
			if (m == M_KEY)
				rc = jbytes(&j, &key, &keylen);
			else if (m == M_PAYLOAD)
				rc = jbytes(&j, &val, &vallen);
			else if (m == M_HEADERS)
				rc = jheaders(&j);
			else if (m == M_TS)
				rc = jint(&j, &ts, -1, INT64_MAX,
				    "ts must be an integer >= -1");
			else if (m == M_PARTITION)
				rc = jint(&j, &part, 0, INT32_MAX,
				    "partition must be an integer >= 0");
			else
				rc = jskip(&j, 1);
			if (rc != 0)
				goto fail;
			if ((c = peek(&j)) == ',') {
				j.p++;
				continue;
			}
			if (c == '}') {
				j.p++;
				break;
			}
			rc = bad(&j, "expected ',' or '}' in object");
			goto fail;
		}
	if (peek(&j) != -1) {
		rc = bad(&j, "trailing data after object");
		goto fail;
	}

	d->rec.offset = -1;
	d->rec.timestamp = ts;
	d->rec.key = key;
	d->rec.keylen = keylen;
	d->rec.value = val;
	d->rec.vallen = vallen;
	d->rec.headers = d->hdrs;
	d->rec.nheaders = d->nhdrs;
	d->rec.hdrbuf = NULL;
	d->rec.hdrlen = 0;
	d->partition = (int)part;
	return 0;

fail:
	*why = rc == ENOMEM ? "out of memory" : j.why;
	return rc;
}

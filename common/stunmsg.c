/*
 * STUN messages of any method, for TURN: attribute bounds are checked
 * once by stunmsg_parse(), so the lookups after it only walk what is
 * known to fit.  Integrity uses OpenSSL's HMAC (SHA-1 and SHA-256) over
 * a copy whose length field is set as RFC 8489 section 14.5 says.
 */
#include "config.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/crypto.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "stun.h"
#include "stunmsg.h"

#define STUNMSG_FP_XOR 0x5354554eu
#define STUNMSG_MAX    4096 /* longest message whose integrity is checked */

/*
 * Check a message with the magic cookie: its header, that every
 * attribute fits, FINGERPRINT last and right.  known() says which
 * comprehension-required attributes the caller understands.  0, or -1
 * with why.
 */
int
stunmsg_parse(const uint8_t *p, size_t len, int (*known)(uint16_t),
    struct stunmsg *m, const char **why)
{
	size_t off = STUN_HDR_LEN;

	memset(m, 0, sizeof(*m));
	if (!stun_looks_like(p, len) ||
	    ((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 |
		p[7]) != STUN_COOKIE) {
		*why = "not a STUN message with the magic cookie";
		return -1;
	}
	m->p = p;
	m->len = len;
	m->cls = be16_get(p) & 0x0110;
	m->method = be16_get(p) & (uint16_t)~0x0110;
	m->tid = p + 8;
	while (off < len) {
		uint16_t type, alen;

		if (len - off < 4) {
			*why = "truncated attribute header";
			return -1;
		}
		type = be16_get(p + off);
		alen = be16_get(p + off + 2);
		if ((size_t)((alen + 3) & ~3) > len - off - 4) {
			*why = "attribute longer than the message";
			return -1;
		}
		if (m->fingerprint) {
			*why = "attribute after FINGERPRINT";
			return -1;
		}
		if (type == STUN_ATTR_FINGERPRINT) {
			uint32_t fp =
			    (uint32_t)crc32(0, p, (uInt)off) ^ STUNMSG_FP_XOR;
			uint8_t b[4] = {(uint8_t)(fp >> 24),
			    (uint8_t)(fp >> 16), (uint8_t)(fp >> 8),
			    (uint8_t)fp};

			if (alen != 4 || memcmp(p + off + 4, b, 4) != 0) {
				*why = "bad FINGERPRINT";
				return -1;
			}
			m->fingerprint = 1;
		} else if (type == STUN_ATTR_MESSAGE_INTEGRITY && m->mi == 0 &&
		    m->mi256 == 0) {
			if (alen != 20) {
				*why = "MESSAGE-INTEGRITY is not 20 bytes";
				return -1;
			}
			m->mi = off;
		} else if (type == STUN_ATTR_MESSAGE_INTEGRITY_SHA256 &&
		    m->mi256 == 0) {
			if (alen < 16 || alen > 32) {
				*why = "MESSAGE-INTEGRITY-SHA256 of a bad size";
				return -1;
			}
			m->mi256 = off;
		} else if (m->mi == 0 && m->mi256 == 0 && type < 0x8000 &&
		    !known(type) && m->nunknown < STUNMSG_UNKNOWN_MAX)
			m->unknown[m->nunknown++] = type;
		off += 4 + (size_t)((alen + 3) & ~3);
	}
	return 0;
}

/* Where integrity protection starts: attributes after it are ignored. */
static size_t
stunmsg_end(const struct stunmsg *m)
{
	if (m->mi != 0)
		return m->mi;
	return m->mi256 != 0 ? m->mi256 : m->len;
}

/*
 * The next attribute of type after *pos (start with *pos = 0); its value
 * and *len, or NULL.  Only those before the integrity attributes count.
 */
const uint8_t *
stunmsg_attr_next(const struct stunmsg *m, uint16_t type, size_t *pos,
    size_t *len)
{
	size_t off = *pos == 0 ? STUN_HDR_LEN : *pos, end = stunmsg_end(m);

	while (off + 4 <= end) {
		uint16_t t = be16_get(m->p + off), alen = be16_get(m->p + off + 2);

		*pos = off + 4 + (size_t)((alen + 3) & ~3);
		if (t == type) {
			*len = alen;
			return m->p + off + 4;
		}
		off = *pos;
	}
	*pos = end;
	return NULL;
}

/* The first attribute of type, or NULL. */
const uint8_t *
stunmsg_attr(const struct stunmsg *m, uint16_t type, size_t *len)
{
	size_t pos = 0;

	return stunmsg_attr_next(m, type, &pos, len);
}

/* An XOR-ed address value (XOR-PEER-ADDRESS and kin): 0 or -1. */
int
stunmsg_attr_addr(const uint8_t *v, size_t len, const uint8_t *tid,
    struct sockaddr_storage *ss)
{
	return stun_decode_addr(v, len, tid - 4, 1, ss);
}

/* A 32-bit attribute: 0, or -1 when missing or of another size. */
int
stunmsg_attr_u32(const struct stunmsg *m, uint16_t type, uint32_t *v)
{
	const uint8_t *a;
	size_t	       len;

	if ((a = stunmsg_attr(m, type, &len)) == NULL || len != 4)
		return -1;
	*v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 |
	    a[3];
	return 0;
}

/* The HMAC of m->p[0..at) with the length field saying it ends at end. */
static int
stunmsg_hmac(const struct stunmsg *m, size_t at, size_t end, int sha256,
    const uint8_t *key, size_t keylen, uint8_t *mac)
{
	uint8_t	     copy[STUNMSG_MAX];
	unsigned int maclen = 0;

	if (at > sizeof(copy))
		return -1;
	memcpy(copy, m->p, at);
	be16_put(copy + 2, (uint16_t)(end - STUN_HDR_LEN));
	return HMAC(sha256 ? EVP_sha256() : EVP_sha1(), key, (int)keylen, copy,
		   at, mac, &maclen) == NULL
	    ? -1
	    : (int)maclen;
}

/*
 * Does the message's integrity attribute hold for key?  The SHA-256 one
 * is checked when present (RFC 8489 section 14.6), else the SHA-1 one.
 */
int
stunmsg_integrity_ok(const struct stunmsg *m, const uint8_t *key, size_t keylen)
{
	uint8_t mac[EVP_MAX_MD_SIZE];
	size_t	at = m->mi256 != 0 ? m->mi256 : m->mi, alen;
	int	n;

	if (at == 0)
		return 0;
	alen = be16_get(m->p + at + 2);
	n = stunmsg_hmac(m, at, at + 4 + alen, m->mi256 != 0, key, keylen, mac);
	return n >= (int)alen && CRYPTO_memcmp(mac, m->p + at + 4, alen) == 0;
}

/* Start an answer of type to a message whose id is tid. */
void
stunbuf_start(struct stunbuf *b, uint8_t *out, size_t max, uint16_t type,
    const uint8_t *tid)
{
	b->p = out;
	b->max = max;
	b->err = max < STUN_HDR_LEN;
	b->len = STUN_HDR_LEN;
	if (b->err)
		return;
	be16_put(out, type);
	be16_put(out + 2, 0);
	out[4] = 0x21, out[5] = 0x12, out[6] = 0xa4, out[7] = 0x42;
	memcpy(out + 8, tid, 12);
}

/* Append an attribute, zero-padded to a word. */
void
stunbuf_attr(struct stunbuf *b, uint16_t type, const void *v, size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;

	if (b->err || len > 0xffff || b->len + 4 + padded > b->max) {
		b->err = 1;
		return;
	}
	be16_put(b->p + b->len, type);
	be16_put(b->p + b->len + 2, (uint16_t)len);
	if (len > 0)
		memcpy(b->p + b->len + 4, v, len);
	memset(b->p + b->len + 4 + len, 0, padded - len);
	b->len += 4 + padded;
}

void
stunbuf_u32(struct stunbuf *b, uint16_t type, uint32_t v)
{
	uint8_t a[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16),
	    (uint8_t)(v >> 8), (uint8_t)v};

	stunbuf_attr(b, type, a, 4);
}

/* An XOR-ed address attribute (XOR-MAPPED-ADDRESS, XOR-PEER-ADDRESS...). */
void
stunbuf_xaddr(struct stunbuf *b, uint16_t type, const struct sockaddr *sa)
{
	size_t n;

	if (b->err)
		return;
	n = stun_attr_addr(b->p, b->len, b->max, type, sa, b->p + 4, 1);
	if (n == 0)
		b->err = 1;
	else
		b->len = n;
}

/* ERROR-CODE with its class, number and reason phrase. */
void
stunbuf_error(struct stunbuf *b, int code, const char *reason)
{
	uint8_t v[4 + 128];
	size_t	rlen = strlen(reason);

	if (rlen > 128)
		rlen = 128;
	memset(v, 0, 4);
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rlen);
	stunbuf_attr(b, STUN_ATTR_ERROR_CODE, v, 4 + rlen);
}

/* MESSAGE-INTEGRITY (or its SHA-256 form) over what is built so far. */
void
stunbuf_integrity(struct stunbuf *b, const uint8_t *key, size_t keylen,
    int sha256)
{
	struct stunmsg m;
	uint8_t	       mac[EVP_MAX_MD_SIZE];
	size_t	       mlen = sha256 ? 32 : 20;

	if (b->err || b->len + 4 + mlen > b->max) {
		b->err = 1;
		return;
	}
	memset(&m, 0, sizeof(m));
	m.p = b->p;
	m.len = b->len;
	if (stunmsg_hmac(&m, b->len, b->len + 4 + mlen, sha256, key, keylen,
		mac) < (int)mlen) {
		b->err = 1;
		return;
	}
	stunbuf_attr(b,
	    sha256 ? STUN_ATTR_MESSAGE_INTEGRITY_SHA256
		   : STUN_ATTR_MESSAGE_INTEGRITY,
	    mac, mlen);
}

/* Set the length and, if asked, add FINGERPRINT: the size, or 0. */
size_t
stunbuf_finish(struct stunbuf *b, int fingerprint)
{
	uint32_t fp;
	uint8_t	 v[4];

	if (b->err)
		return 0;
	if (fingerprint) {
		if (b->len + 8 > b->max)
			return 0;
		be16_put(b->p + 2, (uint16_t)(b->len + 8 - STUN_HDR_LEN));
		fp = (uint32_t)crc32(0, b->p, (uInt)b->len) ^ STUNMSG_FP_XOR;
		v[0] = (uint8_t)(fp >> 24), v[1] = (uint8_t)(fp >> 16);
		v[2] = (uint8_t)(fp >> 8), v[3] = (uint8_t)fp;
		stunbuf_attr(b, STUN_ATTR_FINGERPRINT, v, 4);
	} else
		be16_put(b->p + 2, (uint16_t)(b->len - STUN_HDR_LEN));
	return b->err ? 0 : b->len;
}

/*
 * STUN codec.  Requests are checked strictly (length, padding, attribute
 * bounds) and answered only with Binding responses; every response is
 * built in the caller's buffer, nothing is allocated.
 *
 * RFC 3489 requests carry no magic cookie: their 16-byte transaction id
 * starts where the cookie would be.  They get MAPPED-ADDRESS,
 * SOURCE-ADDRESS and CHANGED-ADDRESS, never XOR-MAPPED-ADDRESS.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <zlib.h>

#include "bytes.h"
#include "stun.h"

#define STUN_SOFTWARE "natkit " PACKAGE_VERSION
#define STUN_FP_XOR   0x5354554eu

/* Could this be a STUN message: top bits 00, a whole number of words? */
int
stun_looks_like(const uint8_t *p, size_t len)
{
	return len >= STUN_HDR_LEN && (p[0] & 0xc0) == 0 &&
	    (be16_get(p + 2) & 3) == 0 &&
	    (size_t)be16_get(p + 2) + STUN_HDR_LEN == len;
}

/* On a stream: the length of the message that starts at p, or 0. */
size_t
stun_frame_len(const uint8_t *p, size_t len)
{
	if (len < 4 || (p[0] & 0xc0) != 0 || (be16_get(p + 2) & 3) != 0)
		return 0;
	return (size_t)be16_get(p + 2) + STUN_HDR_LEN;
}

/* Attributes a Binding server knows (and, apart from a few, ignores). */
static int
stun_attr_known(uint16_t type)
{
	switch (type) {
	case 0x0001: /* MAPPED-ADDRESS */
	case 0x0002: /* RESPONSE-ADDRESS: never obeyed, it would reflect */
	case 0x0003: /* CHANGE-REQUEST */
	case 0x0004: /* SOURCE-ADDRESS */
	case 0x0005: /* CHANGED-ADDRESS */
	case 0x0006: /* USERNAME */
	case 0x0007: /* PASSWORD */
	case 0x0008: /* MESSAGE-INTEGRITY */
	case 0x0009: /* ERROR-CODE */
	case 0x000a: /* UNKNOWN-ATTRIBUTES */
	case 0x000b: /* REFLECTED-FROM */
	case 0x0014: /* REALM */
	case 0x0015: /* NONCE */
	case 0x001c: /* MESSAGE-INTEGRITY-SHA256 */
	case 0x001d: /* PASSWORD-ALGORITHM */
	case 0x001e: /* USERHASH */
	case 0x0020: /* XOR-MAPPED-ADDRESS */
	case 0x0024: /* PRIORITY (ICE) */
	case 0x0025: /* USE-CANDIDATE (ICE) */
	case 0x0026: /* PADDING */
	case 0x0027: /* RESPONSE-PORT */
		return 1;
	}
	return type >= 0x8000;
}

/* Read a request; see enum stun_verdict. */
enum stun_verdict
stun_parse(const uint8_t *p, size_t len, struct stun_msg *m)
{
	size_t off = STUN_HDR_LEN;

	memset(m, 0, sizeof(*m));
	if (!stun_looks_like(p, len))
		return STUN_NOT;
	m->type = be16_get(p);
	m->classic = be32_get(p + 4) != STUN_COOKIE;
	memcpy(m->tid, p + 4, 16);
	/* Only requests (class bits 00) are answered. */
	if ((m->type & 0x0110) != 0)
		return STUN_IGNORE;
	while (off < len) {
		uint16_t type, alen;

		if (len - off < 4) {
			m->why = "truncated attribute header";
			return STUN_BAD;
		}
		type = be16_get(p + off);
		alen = be16_get(p + off + 2);
		if ((size_t)alen > len - off - 4 ||
		    (size_t)((alen + 3) & ~3) > len - off - 4) {
			m->why = "attribute longer than the message";
			return STUN_BAD;
		}
		if (m->fingerprint) {
			m->why = "attribute after FINGERPRINT";
			return STUN_BAD;
		}
		if (type == STUN_ATTR_CHANGE_REQUEST) {
			if (alen != 4) {
				m->why = "CHANGE-REQUEST is not 4 bytes";
				return STUN_BAD;
			}
			m->change = (int)(be32_get(p + off + 4) &
			    (STUN_CHANGE_IP | STUN_CHANGE_PORT));
		} else if (type == STUN_ATTR_FINGERPRINT) {
			if (alen != 4) {
				m->why = "FINGERPRINT is not 4 bytes";
				return STUN_BAD;
			}
			if ((crc32(0, p, (uInt)off) ^ STUN_FP_XOR) !=
			    be32_get(p + off + 4))
				return STUN_IGNORE;
			m->fingerprint = 1;
		} else if (!stun_attr_known(type) &&
		    m->nunknown < STUN_MAX_UNKNOWN)
			m->unknown[m->nunknown++] = type;
		off += 4 + (size_t)((alen + 3) & ~3);
	}
	if (m->type != STUN_BINDING_REQUEST) {
		m->why = "only Binding is served";
		return STUN_BAD;
	}
	return m->nunknown > 0 ? STUN_UNKNOWN : STUN_OK;
}

/* Start a message: header with type and the request's transaction id. */
static size_t
stun_header(const struct stun_msg *m, uint16_t type, uint8_t *out)
{
	be16_put(out, type);
	be16_put(out + 2, 0);
	memcpy(out + 4, m->tid, 16);
	return STUN_HDR_LEN;
}

/* Append an attribute, padded to 4 bytes; 0 when it does not fit. */
static size_t
stun_attr(uint8_t *out, size_t off, size_t max, uint16_t type, const void *val,
    size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;

	if (off + 4 + padded > max)
		return 0;
	be16_put(out + off, type);
	be16_put(out + off + 2, (uint16_t)len);
	memcpy(out + off + 4, val, len);
	memset(out + off + 4 + len, 0, padded - len);
	return off + 4 + padded;
}

/* An address attribute, XORed with the cookie and id when xor is set. */
size_t
stun_attr_addr(uint8_t *out, size_t off, size_t max, uint16_t type,
    const struct sockaddr *sa, const uint8_t *tid, int xor)
{
	uint8_t v[20];
	size_t	n, i;

	memset(v, 0, sizeof(v));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)sa;

		v[1] = 0x01;
		memcpy(v + 2, &sin->sin_port, 2);
		memcpy(v + 4, &sin->sin_addr, 4);
		n = 8;
	} else {
		const struct sockaddr_in6 *sin6 = (const void *)sa;

		v[1] = 0x02;
		memcpy(v + 2, &sin6->sin6_port, 2);
		memcpy(v + 4, &sin6->sin6_addr, 16);
		n = 20;
	}
	if (xor) {
		/* Port with the cookie's top half, address with cookie+id. */
		for (i = 2; i < n; i++)
			v[i] ^= tid[i < 4 ? i - 2 : i - 4];
	}
	return stun_attr(out, off, max, type, v, n);
}

/* Set the length field and, if asked, append FINGERPRINT. */
static size_t
stun_finish(uint8_t *out, size_t off, size_t max, int fingerprint)
{
	uint8_t crc[4];

	if (off == 0)
		return 0;
	if (fingerprint) {
		if (off + 8 > max)
			return 0;
		be16_put(out + 2, (uint16_t)(off + 8 - STUN_HDR_LEN));
		be32_put(crc, (uint32_t)crc32(0, out, (uInt)off) ^ STUN_FP_XOR);
		return stun_attr(out, off, max, STUN_ATTR_FINGERPRINT, crc, 4);
	}
	be16_put(out + 2, (uint16_t)(off - STUN_HDR_LEN));
	return off;
}

/* A Binding success response for a request from src. */
size_t
stun_binding_success(const struct stun_msg *m, const struct sockaddr *src,
    const struct stun_origin *o, uint8_t *out, size_t max)
{
	size_t off;

	if (max < STUN_HDR_LEN)
		return 0;
	off = stun_header(m, STUN_BINDING_SUCCESS, out);
	if (m->classic) {
		off = stun_attr_addr(out, off, max, STUN_ATTR_MAPPED_ADDRESS,
		    src, m->tid, 0);
		if (off != 0 && o->local != NULL)
			off = stun_attr_addr(out, off, max,
			    STUN_ATTR_SOURCE_ADDRESS, o->local, m->tid, 0);
		if (off != 0 && (o->other != NULL || o->local != NULL))
			off = stun_attr_addr(out, off, max,
			    STUN_ATTR_CHANGED_ADDRESS,
			    o->other != NULL ? o->other : o->local, m->tid, 0);
	} else {
		off = stun_attr_addr(out, off, max,
		    STUN_ATTR_XOR_MAPPED_ADDRESS, src, m->tid, 1);
		if (off != 0)
			off = stun_attr_addr(out, off, max,
			    STUN_ATTR_MAPPED_ADDRESS, src, m->tid, 0);
		if (off != 0 && o->other != NULL)
			off = stun_attr_addr(out, off, max,
			    STUN_ATTR_OTHER_ADDRESS, o->other, m->tid, 0);
		if (off != 0 && o->other != NULL && o->local != NULL)
			off = stun_attr_addr(out, off, max,
			    STUN_ATTR_RESPONSE_ORIGIN, o->local, m->tid, 0);
	}
	if (off != 0)
		off = stun_attr(out, off, max, STUN_ATTR_SOFTWARE,
		    STUN_SOFTWARE, strlen(STUN_SOFTWARE));
	return stun_finish(out, off, max, m->fingerprint);
}

/* An error response: 400 or 420 (with UNKNOWN-ATTRIBUTES). */
size_t
stun_error(const struct stun_msg *m, int code, const char *reason, uint8_t *out,
    size_t max)
{
	uint8_t v[4 + 128], u[2 * STUN_MAX_UNKNOWN];
	size_t	off, rlen = strlen(reason);
	int	i;

	if (max < STUN_HDR_LEN || rlen > 128)
		return 0;
	off = stun_header(m, STUN_BINDING_ERROR, out);
	memset(v, 0, 4);
	v[2] = (uint8_t)(code / 100);
	v[3] = (uint8_t)(code % 100);
	memcpy(v + 4, reason, rlen);
	off = stun_attr(out, off, max, STUN_ATTR_ERROR_CODE, v, 4 + rlen);
	if (off != 0 && code == 420) {
		for (i = 0; i < m->nunknown; i++)
			be16_put(u + 2 * i, m->unknown[i]);
		off = stun_attr(out, off, max, STUN_ATTR_UNKNOWN_ATTRIBUTES, u,
		    2 * (size_t)m->nunknown);
	}
	if (off != 0)
		off = stun_attr(out, off, max, STUN_ATTR_SOFTWARE,
		    STUN_SOFTWARE, strlen(STUN_SOFTWARE));
	return stun_finish(out, off, max, m->fingerprint);
}

/*
 * A Binding request (RFC 8489) with id tid, optionally with FINGERPRINT,
 * and with a CHANGE-REQUEST when change has STUN_CHANGE_* flags.
 */
size_t
stun_binding_request(const uint8_t tid[12], int change, int fingerprint,
    uint8_t *out, size_t max)
{
	struct stun_msg m;
	uint8_t		flags[4] = {0, 0, 0, (uint8_t)change};
	size_t		off;

	if (max < STUN_HDR_LEN)
		return 0;
	memset(&m, 0, sizeof(m));
	be32_put(m.tid, STUN_COOKIE);
	memcpy(m.tid + 4, tid, 12);
	off = stun_header(&m, STUN_BINDING_REQUEST, out);
	if (change != 0)
		off = stun_attr(out, off, max, STUN_ATTR_CHANGE_REQUEST, flags,
		    4);
	return stun_finish(out, off, max, fingerprint);
}

/* Decode one address attribute value into ss; -1 when malformed. */
int
stun_decode_addr(const uint8_t *v, size_t len, const uint8_t *tid, int xor,
    struct sockaddr_storage *ss)
{
	uint8_t a[18];
	size_t	n, i;

	if (len < 4 || (v[1] != 1 && v[1] != 2))
		return -1;
	n = v[1] == 1 ? 6 : 18;
	if (len != n + 2)
		return -1;
	memcpy(a, v + 2, n);
	if (xor)
		for (i = 0; i < n; i++)
			a[i] ^= tid[i < 2 ? i : i - 2];
	memset(ss, 0, sizeof(*ss));
	if (v[1] == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_port, a, 2);
		memcpy(&sin->sin_addr, a + 2, 4);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_port, a, 2);
		memcpy(&sin6->sin6_addr, a + 2, 16);
	}
	return 0;
}

/*
 * The address in attribute type of a Binding success response to our
 * request tid.  0, or -1 when the message is not such a response, is
 * malformed, or has no such attribute.
 */
int
stun_response_addr(const uint8_t *p, size_t len, const uint8_t tid[12],
    uint16_t type, struct sockaddr_storage *ss)
{
	size_t off = STUN_HDR_LEN;

	if (!stun_looks_like(p, len) || be16_get(p) != STUN_BINDING_SUCCESS ||
	    be32_get(p + 4) != STUN_COOKIE || memcmp(p + 8, tid, 12) != 0)
		return -1;
	while (off + 4 <= len) {
		uint16_t t = be16_get(p + off), alen = be16_get(p + off + 2);

		if ((size_t)alen > len - off - 4)
			return -1;
		if (t == type)
			return stun_decode_addr(p + off + 4, alen, p + 4,
			    type == STUN_ATTR_XOR_MAPPED_ADDRESS, ss);
		off += 4 + (size_t)((alen + 3) & ~3);
	}
	return -1;
}

/* The mapped address: XOR-MAPPED-ADDRESS, else MAPPED-ADDRESS. */
int
stun_response_mapped(const uint8_t *p, size_t len, const uint8_t tid[12],
    struct sockaddr_storage *ss)
{
	if (stun_response_addr(p, len, tid, STUN_ATTR_XOR_MAPPED_ADDRESS, ss) ==
	    0)
		return 0;
	return stun_response_addr(p, len, tid, STUN_ATTR_MAPPED_ADDRESS, ss);
}

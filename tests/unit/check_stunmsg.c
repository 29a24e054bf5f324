/*
 * stunmsg: RFC 5769's sample request (short-term credentials, so the
 * key is the password), answers built and read back, integrity with
 * SHA-1 and SHA-256, and malformed messages refused.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "stun.h"
#include "stunmsg.h"
#include "unit.h"

/* RFC 5769 section 2.1. */
static const uint8_t rfc5769_req[] = {0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4,
    0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf,
    0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65,
    0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00,
    0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9,
    0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74,
    0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00,
    0x14, 0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2,
    0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00,
    0x04, 0xe5, 0x7a, 0x3b, 0xcf};
static const char    rfc5769_pass[] = "VOkJxbRl1RmTxUk/WvJxBt";

static int
known_all(uint16_t type)
{
	(void)type;
	return 1;
}

static int
known_none(uint16_t type)
{
	(void)type;
	return 0;
}

START_TEST(test_rfc5769_request)
{
	struct stunmsg m;
	const char    *why = NULL;
	const uint8_t *u;
	uint8_t	       bad[sizeof(rfc5769_req)];
	size_t	       len;

	ck_assert_int_eq(stunmsg_parse(rfc5769_req, sizeof(rfc5769_req),
			     known_all, &m, &why),
	    0);
	ck_assert_int_eq(m.method, 0x0001);
	ck_assert_int_eq(m.cls, STUNMSG_CLASS_REQUEST);
	ck_assert(m.fingerprint);
	ck_assert_uint_ne(m.mi, 0);
	u = stunmsg_attr(&m, STUN_ATTR_USERNAME, &len);
	ck_assert_ptr_nonnull(u);
	ck_assert_uint_eq(len, 9);
	ck_assert(memcmp(u, "evtj:h6vY", 9) == 0);
	ck_assert(stunmsg_integrity_ok(&m, (const uint8_t *)rfc5769_pass,
	    strlen(rfc5769_pass)));
	ck_assert(!stunmsg_integrity_ok(&m, (const uint8_t *)"wrong", 5));
	/* One bit of the username changed: integrity fails (and the
	 * fingerprint, so the message is refused outright). */
	memcpy(bad, rfc5769_req, sizeof(bad));
	bad[64] ^= 1;
	ck_assert_int_eq(stunmsg_parse(bad, sizeof(bad), known_all, &m, &why),
	    -1);
	ck_assert_str_eq(why, "bad FINGERPRINT");
	/* Comprehension-required attributes we do not know are listed. */
	ck_assert_int_eq(stunmsg_parse(rfc5769_req, sizeof(rfc5769_req),
			     known_none, &m, &why),
	    0);
	ck_assert_int_eq(m.nunknown, 2); /* PRIORITY, USERNAME */
	ck_assert_int_eq(m.unknown[0], 0x0024);
}
END_TEST

/* Build an answer with integrity, read it back, as a client would. */
static void
roundtrip(int sha256)
{
	static const uint8_t	tid[12] = "abcdefghijkl";
	static const uint8_t	key[16] = "0123456789abcdef";
	struct sockaddr_in	sin;
	struct sockaddr_storage ss;
	struct stunbuf		b;
	struct stunmsg		m;
	uint8_t			out[256];
	const uint8_t	       *v;
	const char	       *why;
	size_t			n, len;
	uint32_t		life;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(49152);
	inet_pton(AF_INET, "203.0.113.9", &sin.sin_addr);
	stunbuf_start(&b, out, sizeof(out), 0x0103, tid);
	stunbuf_xaddr(&b, 0x0016, (struct sockaddr *)&sin);
	stunbuf_u32(&b, 0x000d, 600);
	stunbuf_integrity(&b, key, sizeof(key), sha256);
	n = stunbuf_finish(&b, 1);
	ck_assert_uint_eq(n, 20 + 12 + 8 + (sha256 ? 36 : 24) + 8);
	ck_assert_int_eq(stunmsg_parse(out, n, known_all, &m, &why), 0);
	ck_assert_int_eq(m.cls, STUNMSG_CLASS_SUCCESS);
	ck_assert_int_eq(m.method, 0x0003);
	ck_assert(stunmsg_integrity_ok(&m, key, sizeof(key)));
	ck_assert_int_eq(stunmsg_attr_u32(&m, 0x000d, &life), 0);
	ck_assert_uint_eq(life, 600);
	v = stunmsg_attr(&m, 0x0016, &len);
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(stunmsg_attr_addr(v, len, m.tid, &ss), 0);
	ck_assert(memcmp(&((struct sockaddr_in *)&ss)->sin_addr, &sin.sin_addr,
		      4) == 0);
	ck_assert_uint_eq(((struct sockaddr_in *)&ss)->sin_port, sin.sin_port);
	/* Any other key fails; so does a changed lifetime. */
	ck_assert(!stunmsg_integrity_ok(&m, (const uint8_t *)"x", 1));
	out[20 + 12 + 7] ^= 1;
	ck_assert(stunmsg_parse(out, n, known_all, &m, &why) == -1 ||
	    !stunmsg_integrity_ok(&m, key, sizeof(key)));
}

START_TEST(test_integrity_sha1)
{
	roundtrip(0);
}
END_TEST

START_TEST(test_integrity_sha256)
{
	roundtrip(1);
}
END_TEST

/* Attributes after MESSAGE-INTEGRITY are not read (RFC 8489 14.5). */
START_TEST(test_after_integrity)
{
	static const uint8_t tid[12] = "abcdefghijkl";
	struct stunbuf	     b;
	struct stunmsg	     m;
	uint8_t		     out[128];
	const char	    *why;
	size_t		     n, len;

	stunbuf_start(&b, out, sizeof(out), 0x0003, tid);
	stunbuf_integrity(&b, (const uint8_t *)"k", 1, 0);
	stunbuf_u32(&b, 0x000d, 1);
	n = stunbuf_finish(&b, 0);
	ck_assert_int_eq(stunmsg_parse(out, n, known_all, &m, &why), 0);
	ck_assert_ptr_null(stunmsg_attr(&m, 0x000d, &len));
}
END_TEST

START_TEST(test_malformed)
{
	static const uint8_t tid[12] = "abcdefghijkl";
	struct stunbuf	     b;
	struct stunmsg	     m;
	uint8_t		     out[64];
	const char	    *why;
	size_t		     n;

	stunbuf_start(&b, out, sizeof(out), 0x0003, tid);
	stunbuf_u32(&b, 0x0019, 0x11000000);
	n = stunbuf_finish(&b, 0);
	/* An attribute running past the end. */
	out[22] = 0, out[23] = 40;
	ck_assert_int_eq(stunmsg_parse(out, n, known_all, &m, &why), -1);
	out[23] = 4;
	/* No magic cookie. */
	out[4] ^= 1;
	ck_assert_int_eq(stunmsg_parse(out, n, known_all, &m, &why), -1);
	out[4] ^= 1;
	/* A truncated message. */
	ck_assert_int_eq(stunmsg_parse(out, n - 4, known_all, &m, &why), -1);
	ck_assert_int_eq(stunmsg_parse(out, n, known_all, &m, &why), 0);
	/* Too small a buffer: nothing, never a partial message. */
	stunbuf_start(&b, out, 30, 0x0003, tid);
	stunbuf_attr(&b, 0x0006, "a user name too long", 20);
	ck_assert_uint_eq(stunbuf_finish(&b, 0), 0);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_rfc5769_request);
	tcase_add_test(tc, test_integrity_sha1);
	tcase_add_test(tc, test_integrity_sha256);
	tcase_add_test(tc, test_after_integrity);
	tcase_add_test(tc, test_malformed);
}

int
main(void)
{
	return unit_run("stunmsg", 30, add_tests);
}

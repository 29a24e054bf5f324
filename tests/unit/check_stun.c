/* Unit tests for common/stun.c: requests good and bad, responses. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "stun.h"
#include "unit.h"

static const uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

/* Find attribute type in a message; its value or NULL. */
static const uint8_t *
find_attr(const uint8_t *p, size_t len, uint16_t type, uint16_t *alen)
{
	size_t off = STUN_HDR_LEN;

	while (off + 4 <= len) {
		uint16_t t = (uint16_t)(p[off] << 8 | p[off + 1]);
		uint16_t l = (uint16_t)(p[off + 2] << 8 | p[off + 3]);

		if (t == type) {
			*alen = l;
			return p + off + 4;
		}
		off += 4 + ((l + 3u) & ~3u);
	}
	return NULL;
}

/* A request with extra raw attribute bytes appended (length fixed up). */
static size_t
request_with(uint8_t *buf, const uint8_t *attrs, size_t alen, int cookie)
{
	size_t n = stun_binding_request(tid, 0, 0, buf, 512);

	if (!cookie)
		memset(buf + 4, 0x77, 4);
	memcpy(buf + n, attrs, alen);
	n += alen;
	buf[2] = (uint8_t)((n - STUN_HDR_LEN) >> 8);
	buf[3] = (uint8_t)(n - STUN_HDR_LEN);
	return n;
}

START_TEST(test_binding_roundtrip)
{
	uint8_t			req[512], resp[512];
	struct sockaddr_in	src = unit_v4("198.51.100.20", 40000);
	struct sockaddr_in	local = unit_v4("203.0.113.1", 3478);
	struct stun_origin	o = {(struct sockaddr *)&local, NULL};
	struct sockaddr_storage got;
	struct stun_msg		m;
	const uint8_t	       *a;
	uint16_t		alen;
	size_t			n;

	n = stun_binding_request(tid, 0, 1, req, sizeof(req));
	ck_assert_uint_eq(n, 28);
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_OK);
	ck_assert(!m.classic);
	ck_assert(m.fingerprint);
	n = stun_binding_success(&m, (struct sockaddr *)&src, &o, resp,
	    sizeof(resp));
	ck_assert_uint_gt(n, 0);
	ck_assert_int_eq(stun_response_mapped(resp, n, tid, &got), 0);
	ck_assert_int_eq(got.ss_family, AF_INET);
	ck_assert(memcmp(&((struct sockaddr_in *)&got)->sin_addr, &src.sin_addr,
		      4) == 0);
	ck_assert_int_eq(((struct sockaddr_in *)&got)->sin_port, src.sin_port);
	/* Plain MAPPED-ADDRESS too, and the FINGERPRINT is right. */
	a = find_attr(resp, n, STUN_ATTR_MAPPED_ADDRESS, &alen);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(alen, 8);
	ck_assert(memcmp(a + 4, &src.sin_addr, 4) == 0);
	a = find_attr(resp, n, STUN_ATTR_FINGERPRINT, &alen);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq((uint32_t)(a[0] << 24 | a[1] << 16 | a[2] << 8 |
			      a[3]),
	    (uint32_t)crc32(0, resp, (uInt)(n - 8)) ^ 0x5354554eu);
	ck_assert_ptr_nonnull(find_attr(resp, n, STUN_ATTR_SOFTWARE, &alen));
	/* No RFC 5780 attributes without an alternate address. */
	ck_assert_ptr_null(find_attr(resp, n, STUN_ATTR_OTHER_ADDRESS, &alen));
	/* A response to another transaction is not ours. */
	resp[19] ^= 1;
	ck_assert_int_eq(stun_response_mapped(resp, n, tid, &got), -1);
}
END_TEST

START_TEST(test_ipv6_and_rfc5780)
{
	uint8_t			req[512], resp[512];
	struct sockaddr_in6	src, local, other;
	struct stun_origin	o = {(struct sockaddr *)&local,
		 (struct sockaddr *)&other};
	struct sockaddr_storage got;
	struct stun_msg		m;
	uint16_t		alen;
	size_t			n;

	memset(&src, 0, sizeof(src));
	src.sin6_family = AF_INET6;
	src.sin6_port = htons(5555);
	inet_pton(AF_INET6, "2001:db8::7", &src.sin6_addr);
	local = src;
	other = src;
	inet_pton(AF_INET6, "2001:db8::1", &local.sin6_addr);
	inet_pton(AF_INET6, "2001:db8::2", &other.sin6_addr);
	n = stun_binding_request(tid, 0, 0, req, sizeof(req));
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_OK);
	ck_assert(!m.fingerprint);
	n = stun_binding_success(&m, (struct sockaddr *)&src, &o, resp,
	    sizeof(resp));
	ck_assert_int_eq(stun_response_mapped(resp, n, tid, &got), 0);
	ck_assert(memcmp(&((struct sockaddr_in6 *)&got)->sin6_addr,
		      &src.sin6_addr, 16) == 0);
	ck_assert_ptr_nonnull(
	    find_attr(resp, n, STUN_ATTR_OTHER_ADDRESS, &alen));
	ck_assert_uint_eq(alen, 20);
	ck_assert_ptr_nonnull(
	    find_attr(resp, n, STUN_ATTR_RESPONSE_ORIGIN, &alen));
	ck_assert_ptr_null(find_attr(resp, n, STUN_ATTR_FINGERPRINT, &alen));
}
END_TEST

/* No magic cookie: RFC 3489 answers, never XOR-MAPPED-ADDRESS. */
START_TEST(test_rfc3489)
{
	static const uint8_t change0[] = {0, 3, 0, 4, 0, 0, 0, 0};
	uint8_t		     req[512], resp[512];
	struct sockaddr_in   src = unit_v4("198.51.100.20", 40000);
	struct sockaddr_in   local = unit_v4("203.0.113.1", 3478);
	struct stun_origin   o = {(struct sockaddr *)&local, NULL};
	struct stun_msg	     m;
	const uint8_t	    *a;
	uint16_t	     alen;
	size_t		     n;

	n = request_with(req, change0, sizeof(change0), 0);
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_OK);
	ck_assert(m.classic);
	ck_assert_int_eq(m.change, 0);
	n = stun_binding_success(&m, (struct sockaddr *)&src, &o, resp,
	    sizeof(resp));
	ck_assert(memcmp(resp + 4, req + 4, 16) == 0);
	ck_assert_ptr_null(
	    find_attr(resp, n, STUN_ATTR_XOR_MAPPED_ADDRESS, &alen));
	a = find_attr(resp, n, STUN_ATTR_MAPPED_ADDRESS, &alen);
	ck_assert_ptr_nonnull(a);
	ck_assert(memcmp(a + 2, &src.sin_port, 2) == 0);
	a = find_attr(resp, n, STUN_ATTR_SOURCE_ADDRESS, &alen);
	ck_assert_ptr_nonnull(a);
	ck_assert(memcmp(a + 4, &local.sin_addr, 4) == 0);
	ck_assert_ptr_nonnull(
	    find_attr(resp, n, STUN_ATTR_CHANGED_ADDRESS, &alen));
}
END_TEST

START_TEST(test_not_stun)
{
	uint8_t		req[512];
	struct stun_msg m;
	size_t		n = stun_binding_request(tid, 0, 0, req, sizeof(req));

	ck_assert_int_eq(stun_parse((const uint8_t *)"//nat", 5, &m), STUN_NOT);
	/* Truncated below the header. */
	ck_assert_int_eq(stun_parse(req, 19, &m), STUN_NOT);
	/* Length field larger, or smaller, than the datagram. */
	req[3] = 4;
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_NOT);
	req[3] = 0;
	ck_assert_int_eq(stun_parse(req, n + 4, &m), STUN_NOT);
	/* Length not a multiple of 4. */
	req[3] = 2;
	ck_assert_int_eq(stun_parse(req, n + 2, &m), STUN_NOT);
	req[3] = 0;
	/* Top bits set: not STUN (RTP, DTLS, ...). */
	req[0] = 0x80;
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_NOT);
}
END_TEST

START_TEST(test_bad_bodies)
{
	static const uint8_t overrun[] = {0x80, 0x22, 0, 9, 'a', 'b', 'c', 'd'};
	static const uint8_t nopad[] = {0x80, 0x22, 0, 3, 'a', 'b', 'c', 0,
	    0x80, 0x22, 0, 5, 'a', 'b', 'c', 'd'};
	static const uint8_t shortchange[] = {0, 3, 0, 2, 0, 0, 0, 0};
	static const uint8_t halfattr[] = {0x80, 0x22, 0, 0, 0, 1, 0, 0};
	uint8_t		     req[512];
	struct stun_msg	     m;
	size_t		     n;

	n = request_with(req, overrun, sizeof(overrun), 1);
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_BAD);
	ck_assert_str_eq(m.why, "attribute longer than the message");
	/* Second attribute's padding runs past the end. */
	n = request_with(req, nopad, sizeof(nopad), 1);
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_BAD);
	n = request_with(req, shortchange, sizeof(shortchange), 1);
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_BAD);
	ck_assert_str_eq(m.why, "CHANGE-REQUEST is not 4 bytes");
	/* 4 bytes left: a header claiming none is fine, then 4 stray. */
	n = request_with(req, halfattr, 6, 1);
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_NOT);
	/* A method other than Binding. */
	n = stun_binding_request(tid, 0, 0, req, sizeof(req));
	req[1] = 0x03;
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_BAD);
	/* Indications and responses are not answered. */
	req[1] = 0x11;
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_IGNORE);
	req[0] = 0x01;
	req[1] = 0x01;
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_IGNORE);
}
END_TEST

START_TEST(test_fingerprint)
{
	static const uint8_t after[] = {0x80, 0x22, 0, 4, 'a', 'b', 'c', 'd'};
	uint8_t		     req[512];
	struct stun_msg	     m;
	size_t n = stun_binding_request(tid, 0, 1, req, sizeof(req));

	req[n - 1] ^= 0xff;
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_IGNORE);
	req[n - 1] ^= 0xff;
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_OK);
	/* Nothing may follow FINGERPRINT, even with a valid CRC. */
	memcpy(req + n, after, sizeof(after));
	n += sizeof(after);
	req[3] = (uint8_t)(n - STUN_HDR_LEN);
	{
		uint32_t crc = (uint32_t)crc32(0, req, 20) ^ 0x5354554eu;

		req[24] = (uint8_t)(crc >> 24);
		req[25] = (uint8_t)(crc >> 16);
		req[26] = (uint8_t)(crc >> 8);
		req[27] = (uint8_t)crc;
	}
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_BAD);
	ck_assert_str_eq(m.why, "attribute after FINGERPRINT");
}
END_TEST

START_TEST(test_unknown_attributes)
{
	static const uint8_t attrs[] = {0x00, 0x33, 0, 0, 0x80, 0x33, 0, 0,
	    0x7f, 0xff, 0, 4, 1, 2, 3, 4};
	uint8_t		     req[512], resp[512];
	struct stun_msg	     m;
	const uint8_t	    *a;
	uint16_t	     alen;
	size_t		     n;

	n = request_with(req, attrs, sizeof(attrs), 1);
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_UNKNOWN);
	/* Comprehension-optional 0x8033 is not listed. */
	ck_assert_int_eq(m.nunknown, 2);
	ck_assert_uint_eq(m.unknown[0], 0x0033);
	ck_assert_uint_eq(m.unknown[1], 0x7fff);
	n = stun_error(&m, 420, "Unknown Attribute", resp, sizeof(resp));
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(resp[0] << 8 | resp[1], STUN_BINDING_ERROR);
	a = find_attr(resp, n, STUN_ATTR_ERROR_CODE, &alen);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(a[2], 4);
	ck_assert_uint_eq(a[3], 20);
	a = find_attr(resp, n, STUN_ATTR_UNKNOWN_ATTRIBUTES, &alen);
	ck_assert_ptr_nonnull(a);
	ck_assert_uint_eq(alen, 4);
	ck_assert_uint_eq(a[0] << 8 | a[1], 0x0033);
}
END_TEST

/* The client's request with CHANGE-REQUEST, and OTHER-ADDRESS read back. */
START_TEST(test_change_request_and_other)
{
	uint8_t			req[512], resp[512];
	struct sockaddr_in	src = unit_v4("198.51.100.20", 1);
	struct sockaddr_in	local = unit_v4("203.0.113.1", 3478);
	struct sockaddr_in	other = unit_v4("203.0.113.2", 3479);
	struct stun_origin	o = {(struct sockaddr *)&local,
		 (struct sockaddr *)&other};
	struct sockaddr_storage got;
	struct stun_msg		m;
	size_t			n;

	n = stun_binding_request(tid, STUN_CHANGE_IP | STUN_CHANGE_PORT, 1, req,
	    sizeof(req));
	ck_assert_int_eq(stun_parse(req, n, &m), STUN_OK);
	ck_assert_int_eq(m.change, STUN_CHANGE_IP | STUN_CHANGE_PORT);
	n = stun_binding_success(&m, (struct sockaddr *)&src, &o, resp,
	    sizeof(resp));
	ck_assert_int_eq(stun_response_addr(resp, n, tid,
			     STUN_ATTR_OTHER_ADDRESS, &got),
	    0);
	ck_assert(memcmp(&((struct sockaddr_in *)&got)->sin_addr,
		      &other.sin_addr, 4) == 0);
	ck_assert_int_eq(((struct sockaddr_in *)&got)->sin_port,
	    other.sin_port);
	ck_assert_int_eq(stun_response_addr(resp, n, tid,
			     STUN_ATTR_CHANGED_ADDRESS, &got),
	    -1);
}
END_TEST

START_TEST(test_small_buffers)
{
	uint8_t		   req[512], resp[512];
	struct sockaddr_in src = unit_v4("198.51.100.20", 1);
	struct stun_origin o = {NULL, NULL};
	struct stun_msg	   m;
	size_t n = stun_binding_request(tid, 0, 1, req, sizeof(req)), i;

	ck_assert_int_eq(stun_parse(req, n, &m), STUN_OK);
	for (i = 0; i < 64; i++) {
		size_t r = stun_binding_success(&m, (struct sockaddr *)&src, &o,
		    resp, i);

		ck_assert(r == 0 || r <= i);
	}
	ck_assert_uint_eq(stun_binding_request(tid, 0, 1, req, 19), 0);
}
END_TEST

/* Random bytes and random mutations of a good request: never a crash. */
START_TEST(test_random_input)
{
	uint8_t			buf[600], good[64];
	struct sockaddr_storage ss;
	struct stun_msg		m;
	size_t glen = stun_binding_request(tid, 0, 1, good, sizeof(good)), n, i;
	int    round;

	srandom(42);
	for (round = 0; round < 200000; round++) {
		if (round % 2) {
			n = (size_t)random() % sizeof(buf);
			for (i = 0; i < n; i++)
				buf[i] = (uint8_t)random();
			if (n >= 4) {
				buf[0] &= 0x3f;
				buf[2] = (uint8_t)((n - 20) >> 8);
				buf[3] = (uint8_t)(n - 20);
			}
		} else {
			memcpy(buf, good, glen);
			n = glen;
			buf[(size_t)random() % n] = (uint8_t)random();
		}
		stun_parse(buf, n, &m);
		stun_response_mapped(buf, n, tid, &ss);
	}
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_binding_roundtrip);
	tcase_add_test(tc, test_ipv6_and_rfc5780);
	tcase_add_test(tc, test_rfc3489);
	tcase_add_test(tc, test_not_stun);
	tcase_add_test(tc, test_bad_bodies);
	tcase_add_test(tc, test_fingerprint);
	tcase_add_test(tc, test_unknown_attributes);
	tcase_add_test(tc, test_change_request_and_other);
	tcase_add_test(tc, test_small_buffers);
	tcase_add_test(tc, test_random_input);
}

int
main(void)
{
	return unit_run("stun", 60, add_tests);
}

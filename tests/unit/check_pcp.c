/*
 * Unit tests for client/pcp.c: the MAP request laid out as RFC 6887
 * section 11.1 draws it, and responses taken only when they answer
 * that request.
 */
#include "config.h"

#include <check.h>
#include <netinet/in.h>

#include "pcp.h"
#include "unit.h"

static const uint8_t nonce[PCP_NONCE_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
    12};

static struct addr
ip(const char *s)
{
	struct addr a;
	const char *why;

	ck_assert_int_eq(addr_parse_ip(s, &a, &why), 0);
	return a;
}

START_TEST(test_map_request)
{
	struct addr	     client = ip("10.1.0.2");
	uint8_t		     b[PCP_MAP_LEN];
	static const uint8_t want_client[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff, 10, 1, 0, 2};

	ck_assert_uint_eq(pcp_map_request(b, &client, nonce, IPPROTO_UDP, 40000,
			      600),
	    60);
	ck_assert_uint_eq(b[0], 2);	   /* version */
	ck_assert_uint_eq(b[1], 1);	   /* R = 0, MAP */
	ck_assert_uint_eq(b[2] | b[3], 0); /* reserved */
	ck_assert_uint_eq(b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7], 600);
	ck_assert_mem_eq(b + 8, want_client, 16); /* ::ffff:10.1.0.2 */
	ck_assert_mem_eq(b + 24, nonce, 12);
	ck_assert_uint_eq(b[36], 17); /* UDP */
	ck_assert_uint_eq(b[37] | b[38] | b[39], 0);
	ck_assert_uint_eq(b[40] << 8 | b[41], 40000); /* internal port */
	ck_assert_uint_eq(b[42] << 8 | b[43], 40000); /* suggested */
	ck_assert_uint_eq(b[54] | b[55], 0);	      /* any external IP */
	ck_assert_uint_eq(pcp_announce_request(b, &client), 24);
	ck_assert_uint_eq(b[1], 0);
}
END_TEST

/* What a gateway answers to test_map_request's request. */
static void
answer(uint8_t *b, int result)
{
	struct addr client = ip("10.1.0.2");

	pcp_map_request(b, &client, nonce, IPPROTO_UDP, 40000, 600);
	b[1] = 0x81;
	b[3] = (uint8_t)result;
	b[6] = 0x01; /* lifetime 300 */
	b[7] = 0x2c;
	b[42] = 0xc3; /* external port 50000 */
	b[43] = 0x50;
	b[54] = b[55] = 0xff;
	b[56] = 198;
	b[57] = 51;
	b[58] = 100;
	b[59] = 10;
}

START_TEST(test_map_response)
{
	uint8_t	    b[PCP_MAP_LEN + 4];
	uint32_t    life = 0;
	struct addr ext;
	char	    s[ADDR_STRLEN];

	answer(b, PCP_OK);
	ck_assert_int_eq(pcp_parse_response(b, PCP_MAP_LEN, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40000, &life, &ext),
	    PCP_OK);
	ck_assert_uint_eq(life, 300);
	ck_assert_str_eq(addr_format(&ext, s, sizeof(s)),
	    "198.51.100.10:50000");
	/* A refusal is a result, with its name. */
	answer(b, 8);
	ck_assert_int_eq(pcp_parse_response(b, PCP_MAP_LEN, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40000, &life, &ext),
	    8);
	ck_assert_str_eq(pcp_result_name(8), "no resources");
	ck_assert_str_eq(pcp_result_name(200), "an unknown result");
}
END_TEST

/* Answers to something else are not ours, whatever they say. */
START_TEST(test_not_ours)
{
	uint8_t b[PCP_MAP_LEN + 4];

	answer(b, PCP_OK);
	b[24] ^= 1; /* another nonce */
	ck_assert_int_eq(pcp_parse_response(b, PCP_MAP_LEN, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40000, NULL, NULL),
	    PCP_NOT_OURS);
	answer(b, PCP_OK);
	ck_assert_int_eq(pcp_parse_response(b, PCP_MAP_LEN, PCP_OP_MAP, nonce,
			     IPPROTO_TCP, 40000, NULL, NULL),
	    PCP_NOT_OURS);
	ck_assert_int_eq(pcp_parse_response(b, PCP_MAP_LEN, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40001, NULL, NULL),
	    PCP_NOT_OURS);
	/* Cut short, not in words, a request rather than a response. */
	ck_assert_int_eq(pcp_parse_response(b, 56, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40000, NULL, NULL),
	    PCP_NOT_OURS);
	ck_assert_int_eq(pcp_parse_response(b, 58, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40000, NULL, NULL),
	    PCP_NOT_OURS);
	b[1] = 0x01;
	ck_assert_int_eq(pcp_parse_response(b, PCP_MAP_LEN, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40000, NULL, NULL),
	    PCP_NOT_OURS);
	/* A NAT-PMP gateway's "unsupported version". */
	b[0] = 0;
	b[1] = 0x81;
	b[2] = 0;
	b[3] = 1;
	ck_assert_int_eq(pcp_parse_response(b, 8, PCP_OP_MAP, nonce,
			     IPPROTO_UDP, 40000, NULL, NULL),
	    PCP_OLD_VERSION);
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_map_request);
	tcase_add_test(tc, test_map_response);
	tcase_add_test(tc, test_not_ours);
}

int
main(void)
{
	return unit_run("pcp", 0, add);
}

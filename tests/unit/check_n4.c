/* Unit tests for common/n4.c: n4.py's packets, byte for byte. */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <string.h>

#include "n4.h"
#include "unit.h"

START_TEST(test_ident_padding)
{
	uint8_t id[N4_IDENT_LEN];

	ck_assert_int_eq(n4_ident("ab", id), 0);
	ck_assert_mem_eq(id, "ab    ", 6);
	ck_assert_int_eq(n4_ident("n4n4n4", id), 0);
	ck_assert_mem_eq(id, "n4n4n4", 6);
	ck_assert_int_eq(n4_ident("toolong", id), -1);
	ck_assert_int_eq(n4_ident("", id), -1);
}
END_TEST

START_TEST(test_pack_as_n4py)
{
	struct n4_packet p;
	uint8_t		 b[N4_SIZE];

	memset(&p, 0, sizeof(p));
	p.cmd = N4_HELLO;
	memcpy(p.ident, "n4n4n4", 6);
	n4_pack(&p, b);
	ck_assert_mem_eq(b,
	    "\x01\x00"
	    "n4n4n4",
	    8);
	p.cmd = N4_READY;
	n4_pack(&p, b);
	ck_assert_mem_eq(b, "\x02\x00\x00\x00\x00\x00\x00\x00", 8);
	p.cmd = N4_PEERINFO;
	p.addr = unit_v4("198.51.100.7", 30020);
	n4_pack(&p, b);
	ck_assert_mem_eq(b, "\x04\x00\xc6\x33\x64\x07\x75\x44", 8);
}
END_TEST

START_TEST(test_parse)
{
	struct n4_packet p;

	ck_assert_int_eq(n4_parse((const uint8_t *)"\x03\x00"
						   "abc   ",
			     8, &p),
	    0);
	ck_assert_int_eq(p.cmd, N4_EXCHANGE);
	ck_assert_mem_eq(p.ident, "abc   ", 6);
	/* The reserved byte is not checked, as in n4.py. */
	ck_assert_int_eq(n4_parse((const uint8_t *)"\x05\x07"
						   "abc   ",
			     8, &p),
	    0);
	ck_assert_int_eq(p.cmd, N4_PUNCH);
	ck_assert_int_eq(n4_parse((const uint8_t
					  *)"\x04\x00\xc6\x33\x64\x07\x75\x44",
			     8, &p),
	    0);
	ck_assert_int_eq(ntohs(p.addr.sin_port), 30020);
	ck_assert_int_eq(ntohl(p.addr.sin_addr.s_addr), 0xc6336407);
}
END_TEST

START_TEST(test_bad_packets)
{
	struct n4_packet p;
	uint8_t		 nine[9] = {1, 0, 'a', 'b', 'c', 'd', 'e', 'f', 0};

	ck_assert_int_eq(n4_parse(nine, 7, &p), -1); /* truncated */
	ck_assert_int_eq(n4_parse(nine, 9, &p), -1); /* oversized */
	ck_assert_int_eq(n4_parse(nine, 0, &p), -1);
	nine[0] = 0;
	ck_assert_int_eq(n4_parse(nine, 8, &p), -1); /* unknown commands */
	nine[0] = 6;
	ck_assert_int_eq(n4_parse(nine, 8, &p), -1);
	nine[0] = 0xff;
	ck_assert_int_eq(n4_parse(nine, 8, &p), -1);
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_ident_padding);
	tcase_add_test(tc, test_pack_as_n4py);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_bad_packets);
}

int
main(void)
{
	return unit_run("n4", 0, add);
}

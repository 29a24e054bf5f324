/* Unit tests for common/proxyproto.c: v1 and v2 headers, byte for byte. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"
#include "unit.h"

static struct addr
a(const char *s)
{
	struct addr r;
	const char *why;

	ck_assert_int_eq(addr_parse(s, 0, &r, &why), 0);
	return r;
}

static char *
v1(const char *from, const char *to)
{
	static char   out[PROXY_HEADER_MAX + 1];
	struct addr f = a(from), t = a(to);
	size_t	      n = proxy_header(PROXY_V1, &f, &t, (uint8_t *)out);

	out[n] = '\0';
	return out;
}

START_TEST(test_v1)
{
	ck_assert_str_eq(v1("192.0.2.1:56324", "198.51.100.2:443"),
	    "PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n");
	ck_assert_str_eq(v1("[2001:db8::1]:1", "[2001:db8::2]:65535"),
	    "PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n");
	/* A mapped address is IPv4; families that still differ: UNKNOWN. */
	ck_assert_str_eq(v1("[::ffff:192.0.2.7]:9", "198.51.100.2:22"),
	    "PROXY TCP4 192.0.2.7 198.51.100.2 9 22\r\n");
	ck_assert_str_eq(v1("192.0.2.1:5", "[2001:db8::2]:22"),
	    "PROXY UNKNOWN\r\n");
	/* The longest line fits, ended by CRLF. */
	{
		const char *m = "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535";
		const char *l = v1(m, m);

		ck_assert_uint_eq(strlen(l), 104);
		ck_assert_str_eq(l + strlen(l) - 2, "\r\n");
	}
}
END_TEST

START_TEST(test_v2)
{
	static const uint8_t want4[] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
	    0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c, 192, 0,
	    2, 1, 198, 51, 100, 2, 0xdc, 0x04, 0x01, 0xbb};
	uint8_t	    out[PROXY_HEADER_MAX];
	struct addr f = a("192.0.2.1:56324"), t = a("198.51.100.2:443");
	size_t	    n = proxy_header(PROXY_V2, &f, &t, out);

	ck_assert_uint_eq(n, sizeof(want4));
	ck_assert_mem_eq(out, want4, n);
	f = a("[2001:db8::1]:1");
	t = a("[2001:db8::2]:2");
	n = proxy_header(PROXY_V2, &f, &t, out);
	ck_assert_uint_eq(n, 52);
	ck_assert_uint_eq(out[13], 0x21);
	ck_assert_uint_eq(out[15], 36);
	ck_assert_uint_eq(out[16], 0x20);
	ck_assert_uint_eq(out[31], 0x01);
	ck_assert_uint_eq(out[47], 0x02);
	ck_assert_uint_eq(out[48] << 8 | out[49], 1);
	ck_assert_uint_eq(out[50] << 8 | out[51], 2);
	/* Families that differ: LOCAL, no addresses. */
	t = a("192.0.2.9:3");
	n = proxy_header(PROXY_V2, &f, &t, out);
	ck_assert_uint_eq(n, 16);
	ck_assert_uint_eq(out[12], 0x20);
	ck_assert_uint_eq(out[15], 0);
}
END_TEST

START_TEST(test_version)
{
	struct addr f = a("192.0.2.1:1"), t = a("192.0.2.2:2");
	uint8_t	    out[PROXY_HEADER_MAX];

	ck_assert_int_eq(proxy_version("v1"), PROXY_V1);
	ck_assert_int_eq(proxy_version("v2"), PROXY_V2);
	ck_assert_int_eq(proxy_version("no"), PROXY_NONE);
	ck_assert_int_eq(proxy_version(""), PROXY_NONE);
	ck_assert_int_eq(proxy_version("v3"), -1);
	ck_assert_int_eq(proxy_version("V1"), -1);
	ck_assert_uint_eq(proxy_header(PROXY_NONE, &f, &t, out), 0);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_v1);
	tcase_add_test(tc, test_v2);
	tcase_add_test(tc, test_version);
}

int
main(void)
{
	return unit_run("proxyproto", 0, add_tests);
}

/* Unit tests for common/addr.c: IPv4, IPv6, defaults and junk. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "unit.h"

/* Parse s and format it back. */
static const char *
roundtrip(const char *s, uint16_t defport)
{
	static char buf[ADDR_STRLEN];
	struct addr a;
	const char *why;

	if (addr_parse(s, defport, &a, &why) == -1)
		return NULL;
	return addr_format(&a, buf, sizeof(buf));
}

START_TEST(test_ipv4)
{
	ck_assert_str_eq(roundtrip("192.0.2.1:3478", 0), "192.0.2.1:3478");
	ck_assert_str_eq(roundtrip("192.0.2.1", 1721), "192.0.2.1:1721");
	ck_assert_str_eq(roundtrip("0.0.0.0:65535", 0), "0.0.0.0:65535");
}
END_TEST

START_TEST(test_ipv6)
{
	ck_assert_str_eq(roundtrip("[2001:db8::1]:3478", 0),
	    "[2001:db8::1]:3478");
	ck_assert_str_eq(roundtrip("[::1]", 8848), "[::1]:8848");
	ck_assert_str_eq(roundtrip("2001:db8::2", 8888), "[2001:db8::2]:8888");
	ck_assert_str_eq(roundtrip("[2001:DB8:0:0::1]:1", 0),
	    "[2001:db8::1]:1");
}
END_TEST

START_TEST(test_junk)
{
	static const char *bad[] = {
	    "",
	    ":80",
	    "192.0.2.1:",
	    "192.0.2.1:0",
	    "192.0.2.1:65536",
	    "192.0.2.1:80x",
	    "192.0.2.1:-1",
	    "300.0.0.1:80",
	    "192.0.2:80",
	    "[::1",
	    "[::1]x",
	    "[::1]:",
	    "[192.0.2.1]:80",
	    "[]:80",
	    "host.example:80",
	    "1.2.3.4:99999999999999999999",
	    "2001:db8::1",
	    "::1:",
	    "[::1]:80:80",
	};
	size_t	    i;
	struct addr a;
	const char *why;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		ck_assert_msg(addr_parse(bad[i], 0, &a, &why) == -1,
		    "accepted '%s'", bad[i]);
		ck_assert_ptr_nonnull(why);
	}
}
END_TEST

START_TEST(test_too_long)
{
	char	    big[2000];
	struct addr a;
	const char *why = NULL;

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(addr_parse(big, 80, &a, &why), -1);
	ck_assert_str_eq(why, "address too long");
}
END_TEST

START_TEST(test_split_names)
{
	char	    host[ADDR_HOSTLEN];
	uint16_t    port = 0;
	const char *why;

	ck_assert_int_eq(addr_split("localhost:99", host, sizeof(host), &port,
			     0, &why),
	    0);
	ck_assert_str_eq(host, "localhost");
	ck_assert_uint_eq(port, 99);
	ck_assert_int_eq(addr_split("localhost", host, sizeof(host), &port,
			     3478, &why),
	    0);
	ck_assert_uint_eq(port, 3478);
	ck_assert_int_eq(addr_split("localhost", host, sizeof(host), &port, 0,
			     &why),
	    -1);
	ck_assert_str_eq(why, "missing port");
}
END_TEST

/* A bare address: no port, no brackets. */
START_TEST(test_bare_ip)
{
	static const char *bad[] = {"1.2.3.4:5", "[::1]", "[::1]:5", "host", "",
	    "1.2.3", "::1:", "300.1.1.1"};
	struct addr	   a;
	const char	  *why;
	size_t		   i;

	ck_assert_int_eq(addr_parse_ip("192.0.2.7", &a, &why), 0);
	ck_assert_int_eq(addr_family(&a), AF_INET);
	ck_assert_uint_eq(addr_port(&a), 0);
	ck_assert_int_eq(addr_parse_ip("2001:db8::7", &a, &why), 0);
	ck_assert_int_eq(addr_family(&a), AF_INET6);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(addr_parse_ip(bad[i], &a, &why) == -1,
		    "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_equal)
{
	struct addr a, b, c;
	const char *why;

	ck_assert_int_eq(addr_parse("[::1]:5", 0, &a, &why), 0);
	ck_assert_int_eq(addr_parse("[0::1]:5", 0, &b, &why), 0);
	ck_assert_int_eq(addr_parse("[::1]:6", 0, &c, &why), 0);
	ck_assert(addr_equal(&a, &b));
	ck_assert(!addr_equal(&a, &c));
	ck_assert_int_eq(addr_parse("127.0.0.1:5", 0, &c, &why), 0);
	ck_assert(!addr_equal(&a, &c));
	ck_assert_uint_eq(addr_port(&c), 5);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_ipv4);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_junk);
	tcase_add_test(tc, test_too_long);
	tcase_add_test(tc, test_split_names);
	tcase_add_test(tc, test_bare_ip);
	tcase_add_test(tc, test_equal);
}

int
main(void)
{
	return unit_run("addr", 0, add_tests);
}

/* Unit tests for common/tracktext.c and common/slotset.c. */
#include "config.h"

#include <sys/mman.h>
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "slotset.h"
#include "tracktext.h"
#include "unit.h"

static int
parse(const char *s, struct tt_request *r, const char **why)
{
	return tt_parse(s, strlen(s), r, why);
}

START_TEST(test_simple_requests)
{
	struct tt_request r;
	const char	 *why;

	ck_assert_int_eq(parse("//nat", &r, &why), 0);
	ck_assert_int_eq(r.kind, TT_NAT);
	ck_assert_int_eq(parse("//tcksvr", &r, &why), 0);
	ck_assert_int_eq(r.kind, TT_TRACKERS);
	ck_assert_int_eq(parse("//tcksvr/198.51.100.1:3478;[2001:db8::1]:43283",
			     &r, &why),
	    0);
	ck_assert_int_eq(r.kind, TT_TRACKERS_ADD);
	ck_assert_int_eq(r.ntrackers, 2);
	ck_assert_int_eq(r.trackers[1].family, 6);
}
END_TEST

START_TEST(test_register)
{
	struct tt_request  r;
	struct tt_member   m;
	struct sockaddr_in src = unit_v4("198.51.100.7", 40000);
	char		   line[TT_LINE_MAX];
	const char	  *why;

	ck_assert_int_eq(parse("//51pwn/P2P&E2E/group-0001/0/0", &r, &why), 0);
	ck_assert_int_eq(r.kind, TT_REGISTER);
	ck_assert_str_eq(r.ns, "51pwn");
	ck_assert_str_eq(r.group, "group-0001");
	ck_assert_int_eq(r.npublic, 0);
	ck_assert_int_eq(r.nlan, 0);
	tt_member_make(&r, (struct sockaddr *)&src, &m);
	ck_assert_uint_gt(tt_member_line(&m, 1, line, sizeof(line)), 0);
	ck_assert_str_eq(line, "198.51.100.7:40000");

	/* Empty namespace: the default. */
	ck_assert_int_eq(parse("///P2P&E2E/abcdefghij/"
			       "203.0.113.9:5000,[2001:db8::9]:5001/"
			       "aa:bb:cc:dd:ee:ff-10.0.0.2,10.0.1.2;"
			       "001122334455-fe80::1",
			     &r, &why),
	    0);
	ck_assert_str_eq(r.ns, "51pwn");
	ck_assert_int_eq(r.npublic, 2);
	ck_assert_int_eq(r.nlan, 3);
	tt_member_make(&r, (struct sockaddr *)&src, &m);
	tt_member_line(&m, 1, line, sizeof(line));
	ck_assert_str_eq(line,
	    "203.0.113.9:5000,[2001:db8::9]:5001;"
	    "10.0.0.2,10.0.1.2,fe80::1");
	tt_member_line(&m, 0, line, sizeof(line));
	ck_assert_str_eq(line, "203.0.113.9:5000,[2001:db8::9]:5001");
	/* The identity is the first public address, not the source. */
	ck_assert_int_eq(m.first.family, 4);
	ck_assert(m.first.ip[0] == 203);
	ck_assert(m.seen.ip[0] == 198);
}
END_TEST

START_TEST(test_bad_requests)
{
	static const struct {
		const char *req, *why;
	} bad[] = {
	    {"/nat", "unknown request"},
	    {"//nat ", "bad namespace"},
	    {"//x/P2P&E2E/abcdefghij/0/0", NULL},
	    {"//51pwn/P2P/abcdefghij/0/0", "unknown request"},
	    {"//51pwn/P2P&E2E/short/0/0", "bad group"},
	    {"//51pwn/P2P&E2E/bad group!/0/0", "bad group"},
	    {"//51pwn/P2P&E2E/"
	     "a1234567890123456789012345678901234567890123456789012345678901"
	     "234/0/0",
		"bad group"},
	    {"//5 1/P2P&E2E/abcdefghij/0/0", "bad namespace"},
	    {"//51pwn/P2P&E2E/abcdefghij", "bad request"},
	    {"//51pwn/P2P&E2E/abcdefghij/0", "bad request"},
	    {"//51pwn/P2P&E2E/abcdefghij/1.2.3.4/0", "bad address"},
	    {"//51pwn/P2P&E2E/abcdefghij/1.2.3.4:5,,/0", "bad address"},
	    {"//51pwn/P2P&E2E/abcdefghij/1.1.1.1:1,2.2.2.2:2,3.3.3.3:3,"
	     "4.4.4.4:4/0",
		"too many addresses"},
	    {"//51pwn/P2P&E2E/abcdefghij/0/10.0.0.1", "bad lan"},
	    {"//51pwn/P2P&E2E/abcdefghij/0/zz-10.0.0.1", "bad mac"},
	    {"//51pwn/P2P&E2E/abcdefghij/0/aabbccddeeff-10.0.0.1:80",
		"bad address"},
	    {"//51pwn/P2P&E2E/abcdefghij/0/aabbccddeeff-10.0.0.1,10.0.0.2;"
	     "aabbccddeeff-10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6",
		"too many addresses"},
	    {"//tcksvr/", "unknown request"},
	    {"//tcksvr/1.2.3.4", "bad address"},
	};
	struct tt_request r;
	const char	 *why;
	size_t		  i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = parse(bad[i].req, &r, &why);

		if (bad[i].why == NULL) {
			ck_assert_int_eq(rv, 0);
			continue;
		}
		ck_assert_msg(rv == -1, "accepted '%s'", bad[i].req);
		ck_assert_msg(strcmp(why, bad[i].why) == 0,
		    "'%s': got '%s', wanted '%s'", bad[i].req, why, bad[i].why);
	}
	/* A NUL inside. */
	ck_assert_int_eq(tt_parse("//nat\0x", 7, &r, &why), -1);
}
END_TEST

/* Random mutations of a good request: never a crash, never a bad line. */
START_TEST(test_random_input)
{
	static const char  good[] = "//ns/P2P&E2E/abcdefghij/1.2.3.4:5;"
				    "[::1]:6/aabbccddeeff-10.0.0.1,::2";
	char		   buf[sizeof(good)], line[TT_LINE_MAX];
	struct tt_request  r;
	struct tt_member   m;
	struct sockaddr_in src = unit_v4("198.51.100.7", 1);
	const char	  *why;
	int		   round;

	srandom(7);
	for (round = 0; round < 200000; round++) {
		size_t len = 1 + (size_t)random() % (sizeof(good) - 1);

		memcpy(buf, good, sizeof(good));
		buf[(size_t)random() % len] = (char)(random() % 128);
		if (tt_parse(buf, len, &r, &why) == 0 &&
		    r.kind == TT_REGISTER) {
			tt_member_make(&r, (struct sockaddr *)&src, &m);
			ck_assert_uint_gt(tt_member_line(&m, 1, line,
					      sizeof(line)),
			    0);
		}
	}
}
END_TEST

static void
count_cb(void *arg, int slot, const void *val, size_t len)
{
	(void)slot;
	(void)val;
	(void)len;
	(*(int *)arg)++;
}

/* The longest forms are printed whole (a 46-byte buffer cut them). */
START_TEST(test_addr_text_longest)
{
	static const char *longest[] = {
	    "[2a02:1234:5678:9abc:def0:1234:5678:9abc]:51820",
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
	    "255.255.255.255:65535"};
	struct sockaddr_storage ss;
	struct tt_addr		t;
	struct addr		a;
	const char	       *why;
	char			out[128];
	size_t			i;

	for (i = 0; i < sizeof(longest) / sizeof(longest[0]); i++) {
		ck_assert_int_eq(addr_parse(longest[i], 0, &a, &why), 0);
		memcpy(&ss, &a.ss, sizeof(ss));
		tt_addr_from_sa(&t, (struct sockaddr *)&ss);
		ck_assert_uint_eq(tt_addr_text(&t, out, sizeof(out)),
		    strlen(longest[i]));
		ck_assert_str_eq(out, longest[i]);
	}
}
END_TEST

START_TEST(test_slotset)
{
	struct table_config tc;
	struct slotset	    s;
	struct unit_table   u;
	char		    val[32];
	int		    i, n = 0;

	memset(&tc, 0, sizeof(tc));
	tc.capacity = 4096;
	tc.stripes = 8;
	tc.quota_pct[TABLE_KIND_GROUP] = 100;
	u = unit_table(&tc);
	memset(&s, 0, sizeof(s));
	s.table = u.t;
	s.kind = TABLE_KIND_GROUP;
	memcpy(s.id, "0123456789abcdef", 16);
	s.nslots = 4;
	for (i = 0; i < 4; i++) {
		snprintf(val, sizeof(val), "member%d-extra", i);
		ck_assert_int_eq(slotset_put(&s, val, strlen(val), 7, 1000, 0),
		    i);
	}
	/* Refreshing a member keeps its slot; a fifth does not fit. */
	ck_assert_int_eq(slotset_put(&s, "member2-new", 11, 7, 1000, 500), 2);
	ck_assert_int_eq(slotset_put(&s, "member4-x", 9, 7, 1000, 500), -1);
	ck_assert_int_eq(errno, ENOSPC);
	ck_assert_int_eq(slotset_list(&s, count_cb, &n, 500), 4);
	ck_assert_int_eq(n, 4);
	/* Members expire; their slots are taken again. */
	ck_assert_int_eq(slotset_list(&s, NULL, NULL, 1200), 1);
	ck_assert_int_eq(slotset_put(&s, "member4-x", 9, 7, 1000, 1200), 0);
	/* A refresh in place keeps the slot; a wrong slot finds the member. */
	ck_assert_int_eq(slotset_refresh(&s, 2, "member2-z", 9, 7, 1000, 1300),
	    2);
	ck_assert_int_eq(slotset_refresh(&s, 0, "member2-z", 9, 7, 1000, 1300),
	    2);
	ck_assert_int_eq(slotset_list(&s, NULL, NULL, 2250), 1);
	/* Slot 2 expired and another took it: the member moves. */
	ck_assert_int_eq(slotset_put(&s, "member5-y", 9, 7, 1000, 2400), 0);
	ck_assert_int_eq(slotset_put(&s, "member6-y", 9, 7, 1000, 2400), 1);
	ck_assert_int_eq(slotset_put(&s, "member7-y", 9, 7, 1000, 2400), 2);
	ck_assert_int_eq(slotset_refresh(&s, 2, "member2-z", 9, 7, 1000, 2400),
	    3);
	/* Another set with the same slots is separate. */
	s.id[0] = 'X';
	ck_assert_int_eq(slotset_list(&s, NULL, NULL, 1200), 0);
	unit_table_free(&u);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_simple_requests);
	tcase_add_test(tc, test_register);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_random_input);
	tcase_add_test(tc, test_slotset);
	tcase_add_test(tc, test_addr_text_longest);
}

int
main(void)
{
	return unit_run("tracktext", 60, add_tests);
}

/* Unit tests for common/ratelimit.c: token buckets in the table. */
#include "config.h"

#include <sys/mman.h>
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ratelimit.h"
#include "unit.h"

static struct unit_table ut;
static struct table	*t;

static void
setup(void)
{
	struct table_config tc;

	memset(&tc, 0, sizeof(tc));
	tc.capacity = 1024;
	tc.stripes = 8;
	tc.quota_pct[TABLE_KIND_BUCKET] = 100;
	ut = unit_table(&tc);
	t = ut.t;
}

static void
teardown(void)
{
	unit_table_free(&ut);
}

/* The NatTrackerServer rule: a bucket of 10, refilled at 10 a minute. */
static const struct ratelimit_rule fed = {10, 10};

START_TEST(test_burst_then_limited)
{
	struct sockaddr_in a = unit_v4("198.51.100.7", 1000);
	int		   i;

	for (i = 0; i < 10; i++)
		ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION,
				     (struct sockaddr *)&a, &fed, 5000),
		    1);
	ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a,
			     &fed, 5000),
	    0);
	/* The port is not part of the key. */
	a.sin_port = htons(2000);
	ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a,
			     &fed, 5000),
	    0);
}
END_TEST

START_TEST(test_refill)
{
	struct sockaddr_in a = unit_v4("198.51.100.8", 1);
	int		   i;

	for (i = 0; i < 10; i++)
		ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a, &fed,
		    0);
	ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a,
			     &fed, 5999),
	    0);
	/* One token every 6 s. */
	ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a,
			     &fed, 6000 + 5999),
	    1);
	ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a,
			     &fed, 6000 + 5999),
	    0);
	/* A long pause refills to the burst, not beyond. */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION,
				     (struct sockaddr *)&a, &fed, 10000000),
		    1);
	ck_assert_int_eq(ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a,
			     &fed, 10000000),
	    0);
}
END_TEST

START_TEST(test_keys_independent)
{
	struct sockaddr_in a = unit_v4("198.51.100.9", 1),
			   b = unit_v4("198.51.100.10", 1);
	struct sockaddr_in6		   c;
	static const struct ratelimit_rule one = {1, 1};

	memset(&c, 0, sizeof(c));
	c.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::9", &c.sin6_addr);
	ck_assert_int_eq(ratelimit_take(t, RL_REGISTER, (struct sockaddr *)&a,
			     &one, 0),
	    1);
	ck_assert_int_eq(ratelimit_take(t, RL_REGISTER, (struct sockaddr *)&a,
			     &one, 0),
	    0);
	ck_assert_int_eq(ratelimit_take(t, RL_CONNECT, (struct sockaddr *)&a,
			     &one, 0),
	    1);
	ck_assert_int_eq(ratelimit_take(t, RL_REGISTER, (struct sockaddr *)&b,
			     &one, 0),
	    1);
	ck_assert_int_eq(ratelimit_take(t, RL_REGISTER, (struct sockaddr *)&c,
			     &one, 0),
	    1);
	ck_assert_int_eq(ratelimit_take(t, RL_REGISTER, (struct sockaddr *)&c,
			     &one, 0),
	    0);
}
END_TEST

/* A full bucket is the same as none: the record expires and goes. */
START_TEST(test_bucket_expires)
{
	struct sockaddr_in a = unit_v4("198.51.100.11", 1);
	struct table_stats s;
	uint32_t	   cursor = 0;

	ratelimit_take(t, RL_FEDERATION, (struct sockaddr *)&a, &fed, 0);
	table_stats(t, &s);
	ck_assert_uint_eq(s.count[TABLE_KIND_BUCKET], 1);
	table_sweep(t, &cursor, 1024 / TABLE_WINDOW, 60001);
	table_stats(t, &s);
	ck_assert_uint_eq(s.count[TABLE_KIND_BUCKET], 0);
}
END_TEST

/* With no room for a bucket, requests are refused, not waved through. */
START_TEST(test_full_table_refuses)
{
	struct table_config tc;
	struct sockaddr_in  a = unit_v4("198.51.100.12", 1);
	struct unit_table   small;

	memset(&tc, 0, sizeof(tc));
	tc.capacity = 16;
	tc.stripes = 1;
	tc.quota_pct[TABLE_KIND_BUCKET] = 0;
	small = unit_table(&tc);
	ck_assert_int_eq(ratelimit_take(small.t, RL_FEDERATION,
			     (struct sockaddr *)&a, &fed, 0),
	    0);
	unit_table_free(&small);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_burst_then_limited);
	tcase_add_test(tc, test_refill);
	tcase_add_test(tc, test_keys_independent);
	tcase_add_test(tc, test_bucket_expires);
	tcase_add_test(tc, test_full_table_refuses);
}

int
main(void)
{
	return unit_run("ratelimit", 0, add_tests);
}

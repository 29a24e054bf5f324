/* Unit tests for common/table.c in one process (and one crashing child). */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"
#include "unit.h"

static struct unit_table ut;

/* A table in shared memory, all quotas at pct, for one test. */
static struct table *
make_table(uint32_t capacity, uint32_t stripes, int pct)
{
	struct table_config tc;
	int		    k;

	memset(&tc, 0, sizeof(tc));
	tc.capacity = capacity;
	tc.stripes = stripes;
	for (k = 1; k < TABLE_KIND_MAX; k++)
		tc.quota_pct[k] = (uint8_t)pct;
	memcpy(tc.seed, "0123456789abcdef", 16);
	ut = unit_table(&tc);
	return ut.t;
}

static void
free_table(struct table *t)
{
	(void)t;
	unit_table_free(&ut);
}

static uint64_t
live(struct table *t)
{
	struct table_stats s;
	uint64_t	   n = 0;
	int		   k;

	table_stats(t, &s);
	for (k = 0; k < TABLE_KIND_MAX; k++)
		n += s.count[k];
	return n;
}

START_TEST(test_put_get_update_del)
{
	struct table *t = make_table(1024, 16, 100);
	char	      val[TABLE_VAL_MAX];
	int	      n;

	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, "g1", 2, "hello", 5, 0,
			     1000),
	    0);
	n = table_get(t, TABLE_KIND_GROUP, "g1", 2, val, sizeof(val), 1000);
	ck_assert_int_eq(n, 5);
	ck_assert(memcmp(val, "hello", 5) == 0);
	/* Same key, other kind: a different record. */
	ck_assert_int_eq(table_get(t, TABLE_KIND_NAMED, "g1", 2, val,
			     sizeof(val), 1000),
	    -1);
	ck_assert_int_eq(errno, ENOENT);
	/* Replace. */
	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, "g1", 2, "bye", 3, 0,
			     1001),
	    0);
	n = table_get(t, TABLE_KIND_GROUP, "g1", 2, val, sizeof(val), 1001);
	ck_assert_int_eq(n, 3);
	ck_assert(memcmp(val, "bye", 3) == 0);
	ck_assert_uint_eq(live(t), 1);
	ck_assert_int_eq(table_del(t, TABLE_KIND_GROUP, "g1", 2), 0);
	ck_assert_int_eq(table_del(t, TABLE_KIND_GROUP, "g1", 2), -1);
	ck_assert_int_eq(table_get(t, TABLE_KIND_GROUP, "g1", 2, val,
			     sizeof(val), 1002),
	    -1);
	ck_assert_uint_eq(live(t), 0);
	free_table(t);
}
END_TEST

START_TEST(test_bad_arguments)
{
	struct table *t = make_table(64, 1, 100);
	char	      key[TABLE_KEY_MAX + 1], val[TABLE_VAL_MAX + 1];

	memset(key, 'k', sizeof(key));
	memset(val, 'v', sizeof(val));
	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, key, sizeof(key), "x",
			     1, 0, 0),
	    -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, key, 0, "x", 1, 0, 0),
	    -1);
	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, "k", 1, val,
			     sizeof(val), 0, 0),
	    -1);
	ck_assert_int_eq(table_put(t, TABLE_KIND_NONE, "k", 1, "x", 1, 0, 0),
	    -1);
	ck_assert_int_eq(table_put(t, TABLE_KIND_MAX, "k", 1, "x", 1, 0, 0),
	    -1);
	/* The largest key and value fit. */
	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, key, TABLE_KEY_MAX, val,
			     TABLE_VAL_MAX, 0, 0),
	    0);
	ck_assert_uint_eq(live(t), 1);
	free_table(t);
}
END_TEST

START_TEST(test_expiry)
{
	struct table	  *t = make_table(1024, 16, 100);
	struct table_stats s;
	char		   val[8];
	uint32_t	   cursor = 0;

	ck_assert_int_eq(table_put(t, TABLE_KIND_N4, "a", 1, "1", 1, 100, 1000),
	    0);
	ck_assert_int_eq(table_put(t, TABLE_KIND_N4, "b", 1, "2", 1, 500, 1000),
	    0);
	ck_assert_int_eq(table_get(t, TABLE_KIND_N4, "a", 1, val, sizeof(val),
			     1099),
	    1);
	/* Expired on read. */
	ck_assert_int_eq(table_get(t, TABLE_KIND_N4, "a", 1, val, sizeof(val),
			     1100),
	    -1);
	ck_assert_uint_eq(live(t), 1);
	/* The sweep reclaims what nobody reads. */
	ck_assert_uint_eq(table_sweep(t, &cursor, 1024 / TABLE_WINDOW, 1499),
	    0);
	ck_assert_uint_eq(table_sweep(t, &cursor, 1024 / TABLE_WINDOW, 1500),
	    1);
	ck_assert_uint_eq(live(t), 0);
	table_stats(t, &s);
	ck_assert_uint_eq(s.expired, 2);
	free_table(t);
}
END_TEST

/* Keys that land in one window: the table has only one. */
START_TEST(test_evicts_oldest_when_full)
{
	struct table	  *t = make_table(TABLE_WINDOW, 1, 100);
	struct table_stats s;
	char		   key[16], val[8];
	int		   i;

	ck_assert_uint_eq(table_slots(t), TABLE_WINDOW);
	for (i = 0; i < TABLE_WINDOW; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, key,
				     strlen(key), "v", 1, 0, 1000 + i),
		    0);
	}
	/* k0 is the oldest; touch it so that k1 becomes the oldest. */
	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, "k0", 2, "w", 1, 0,
			     2000),
	    0);
	ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, "new", 3, "n", 1, 0,
			     2001),
	    0);
	ck_assert_int_eq(table_get(t, TABLE_KIND_GROUP, "k1", 2, val,
			     sizeof(val), 2001),
	    -1);
	ck_assert_int_eq(table_get(t, TABLE_KIND_GROUP, "k0", 2, val,
			     sizeof(val), 2001),
	    1);
	ck_assert_int_eq(table_get(t, TABLE_KIND_GROUP, "new", 3, val,
			     sizeof(val), 2001),
	    1);
	ck_assert_uint_eq(live(t), TABLE_WINDOW);
	table_stats(t, &s);
	ck_assert_uint_eq(s.evicted, 1);
	free_table(t);
}
END_TEST

/* Many more keys than room: the count never passes the capacity. */
START_TEST(test_capacity_never_exceeded)
{
	struct table	  *t = make_table(4096, 64, 100);
	struct table_stats s;
	char		   key[32], val[8];
	int		   i, found = 0;

	for (i = 0; i < 100000; i++) {
		snprintf(key, sizeof(key), "member-%d", i);
		ck_assert_int_eq(table_put(t, TABLE_KIND_GROUP, key,
				     strlen(key), "v", 1, 0, i),
		    0);
		ck_assert_uint_le(live(t), table_slots(t));
	}
	table_stats(t, &s);
	ck_assert_uint_eq(s.count[TABLE_KIND_GROUP], table_slots(t));
	ck_assert_uint_eq(s.evicted, 100000 - table_slots(t));
	/* The newest keys are all there. */
	for (i = 100000 - 64; i < 100000; i++) {
		snprintf(key, sizeof(key), "member-%d", i);
		if (table_get(t, TABLE_KIND_GROUP, key, strlen(key), val,
			sizeof(val), 100000) == 1)
			found++;
	}
	ck_assert_int_eq(found, 64);
	free_table(t);
}
END_TEST

/* A flood of one kind stays within its quota and evicts no other kind. */
START_TEST(test_quota_protects_other_kinds)
{
	struct table_config tc;
	struct table	   *t;
	struct table_stats  s;
	char		    key[32], val[8];
	int		    i, kept = 0;

	memset(&tc, 0, sizeof(tc));
	tc.capacity = 4096;
	tc.stripes = 16;
	tc.quota_pct[TABLE_KIND_GROUP] = 50;
	tc.quota_pct[TABLE_KIND_BUCKET] = 25;
	ut = unit_table(&tc);
	t = ut.t;
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "bucket-%d", i);
		ck_assert_int_eq(table_put(t, TABLE_KIND_BUCKET, key,
				     strlen(key), "b", 1, 0, i),
		    0);
	}
	/* The flood: far more groups than the table holds. */
	for (i = 0; i < 50000; i++) {
		snprintf(key, sizeof(key), "spoofed-%d", i);
		table_put(t, TABLE_KIND_GROUP, key, strlen(key), "g", 1, 0,
		    1000 + i);
	}
	table_stats(t, &s);
	ck_assert_uint_le(s.count[TABLE_KIND_GROUP], table_slots(t) / 2);
	ck_assert_uint_eq(s.count[TABLE_KIND_BUCKET], 500);
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "bucket-%d", i);
		if (table_get(t, TABLE_KIND_BUCKET, key, strlen(key), val,
			sizeof(val), 60000) == 1)
			kept++;
	}
	ck_assert_int_eq(kept, 500);
	/* A kind with no quota gets nothing. */
	ck_assert_int_eq(table_put(t, TABLE_KIND_N4, "x", 1, "v", 1, 0, 0), -1);
	ck_assert_int_eq(errno, ENOSPC);
	free_table(t);
}
END_TEST

static enum table_action
count_up(void *val, size_t *len, int found, void *arg)
{
	uint32_t n = 0;

	(void)arg;
	if (found)
		memcpy(&n, val, sizeof(n));
	n++;
	memcpy(val, &n, sizeof(n));
	*len = sizeof(n);
	return n == 3 ? TABLE_DELETE : TABLE_STORE;
}

/* A kind that must not be evicted: a full quota refuses new records. */
START_TEST(test_no_evict_refuses)
{
	struct table_config tc;
	struct table	   *t;
	struct table_stats  s;
	char		    key[32], val[8];
	int		    i, stored = 0, kept = 0;

	memset(&tc, 0, sizeof(tc));
	tc.capacity = 1024;
	tc.stripes = 4;
	tc.quota_pct[TABLE_KIND_NAMED] = 10;
	tc.no_evict[TABLE_KIND_NAMED] = 1;
	ut = unit_table(&tc);
	t = ut.t;
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "name-%d", i);
		if (table_put(t, TABLE_KIND_NAMED, key, strlen(key), "n", 1,
			60000, i) == 0)
			stored++;
		else
			ck_assert_int_eq(errno, ENOSPC);
	}
	ck_assert_int_gt(stored, 0);
	ck_assert_int_lt(stored, 5000);
	table_stats(t, &s);
	ck_assert_uint_eq(s.evicted, 0);
	/* Every name stored is still there: none was taken for another. */
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "name-%d", i);
		if (table_get(t, TABLE_KIND_NAMED, key, strlen(key), val,
			sizeof(val), 5000) == 1)
			kept++;
	}
	ck_assert_int_eq(kept, stored);
	free_table(t);
}
END_TEST

START_TEST(test_update)
{
	struct table *t = make_table(256, 4, 100);
	uint32_t      n;

	ck_assert_int_eq(table_update(t, TABLE_KIND_BUCKET, "c", 1, count_up,
			     NULL, 0, 0),
	    0);
	ck_assert_int_eq(table_update(t, TABLE_KIND_BUCKET, "c", 1, count_up,
			     NULL, 0, 0),
	    0);
	ck_assert_int_eq(table_get(t, TABLE_KIND_BUCKET, "c", 1, &n, sizeof(n),
			     0),
	    4);
	ck_assert_uint_eq(n, 2);
	/* The third call asks for deletion. */
	ck_assert_int_eq(table_update(t, TABLE_KIND_BUCKET, "c", 1, count_up,
			     NULL, 0, 0),
	    0);
	ck_assert_int_eq(table_get(t, TABLE_KIND_BUCKET, "c", 1, &n, sizeof(n),
			     0),
	    -1);
	free_table(t);
}
END_TEST

static void
die_midwrite(void)
{
	_exit(9);
}

/*
 * A child dies half way through rewriting a record, holding the stripe:
 * the next locker recovers the stripe and the torn record is gone, while
 * the record beside it is intact.
 */
START_TEST(test_torn_write_recovered)
{
	struct table	  *t = make_table(TABLE_WINDOW, 1, 100);
	struct table_stats s;
	char		   val[TABLE_VAL_MAX];
	int		   status;
	pid_t		   pid;

	ck_assert_int_eq(table_put(t, TABLE_KIND_NAMED, "victim", 6, "old", 3,
			     0, 0),
	    0);
	ck_assert_int_eq(table_put(t, TABLE_KIND_NAMED, "bystander", 9, "safe",
			     4, 0, 0),
	    0);
	if ((pid = fork()) == 0) {
		table_midwrite_hook = die_midwrite;
		table_put(t, TABLE_KIND_NAMED, "victim", 6, "new-value", 9, 0,
		    1);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 9);
	ck_assert_int_eq(table_get(t, TABLE_KIND_NAMED, "victim", 6, val,
			     sizeof(val), 2),
	    -1);
	ck_assert_int_eq(table_get(t, TABLE_KIND_NAMED, "bystander", 9, val,
			     sizeof(val), 2),
	    4);
	ck_assert(memcmp(val, "safe", 4) == 0);
	table_stats(t, &s);
	ck_assert_uint_eq(s.recovered, 1);
	ck_assert_uint_eq(s.torn, 1);
	ck_assert_uint_eq(s.count[TABLE_KIND_NAMED], 1);
	/* The stripe works normally afterwards. */
	ck_assert_int_eq(table_put(t, TABLE_KIND_NAMED, "victim", 6, "again", 5,
			     0, 3),
	    0);
	ck_assert_int_eq(table_get(t, TABLE_KIND_NAMED, "victim", 6, val,
			     sizeof(val), 3),
	    5);
	free_table(t);
}
END_TEST

START_TEST(test_attach)
{
	struct table *t = make_table(128, 4, 100), *t2;
	char	      val[8];

	ck_assert_int_eq(table_put(t, TABLE_KIND_RELAY_PORT, "p", 1, "x", 1, 0,
			     0),
	    0);
	t2 = table_attach(ut.mem);
	ck_assert_ptr_nonnull(t2);
	ck_assert_int_eq(table_get(t2, TABLE_KIND_RELAY_PORT, "p", 1, val,
			     sizeof(val), 0),
	    1);
	table_detach(t2);
	memset(ut.mem, 0, 8);
	ck_assert_ptr_null(table_attach(ut.mem));
	free_table(t);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_put_get_update_del);
	tcase_add_test(tc, test_bad_arguments);
	tcase_add_test(tc, test_expiry);
	tcase_add_test(tc, test_evicts_oldest_when_full);
	tcase_add_test(tc, test_capacity_never_exceeded);
	tcase_add_test(tc, test_quota_protects_other_kinds);
	tcase_add_test(tc, test_no_evict_refuses);
	tcase_add_test(tc, test_update);
	tcase_add_test(tc, test_torn_write_recovered);
	tcase_add_test(tc, test_attach);
}

int
main(void)
{
	return unit_run("table", 60, add_tests);
}

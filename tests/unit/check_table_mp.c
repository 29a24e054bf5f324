/*
 * Several processes hammer one shared table; one is SIGKILLed while it
 * holds a stripe lock, half way through a write.  The others must carry
 * on, and no record may be lost or come back corrupted.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "table.h"
#include "unit.h"

#define MP_PROCS  4
#define MP_KEYS	  2000 /* per process */
#define MP_ROUNDS 30
#define MP_VICTIM 0

/* A value that proves itself: owner, key, round, and a checksum. */
struct mp_val {
	uint32_t owner, key, round, check;
	uint8_t	 pad[64];
};

static struct table *t;
static int	     hook_pipe[2];
static int	     hook_armed_after;

static uint32_t
mp_check(const struct mp_val *v)
{
	uint32_t c = v->owner * 2654435761u ^ v->key * 40503u ^ v->round;
	size_t	 i;

	for (i = 0; i < sizeof(v->pad); i++)
		c = c * 31 + v->pad[i];
	return c;
}

static void
mp_make(struct mp_val *v, uint32_t owner, uint32_t key, uint32_t round)
{
	memset(v, 0, sizeof(*v));
	v->owner = owner;
	v->key = key;
	v->round = round;
	memset(v->pad, (int)(owner * 7 + key + round), sizeof(v->pad));
	v->check = mp_check(v);
}

static int
mp_key(char *buf, size_t len, uint32_t owner, uint32_t key)
{
	return snprintf(buf, len, "p%u-key%u", owner, key);
}

/* Read any process's key: absent, or whole and correct. */
static int
mp_verify(uint32_t owner, uint32_t key, struct mp_val *v)
{
	char k[32];
	int  n = mp_key(k, sizeof(k), owner, key);

	if (table_get(t, TABLE_KIND_GROUP, k, (size_t)n, v, sizeof(*v),
		table_now_ms()) == -1)
		return 0;
	if (v->owner != owner || v->key != key || v->check != mp_check(v))
		return -1;
	return 1;
}

/* The victim stops for good in the middle of a write, holding the lock. */
static void
mp_freeze(void)
{
	if (--hook_armed_after > 0)
		return;
	if (write(hook_pipe[1], "x", 1) != 1)
		_exit(3);
	for (;;)
		pause();
}

/* One worker: rewrite its own keys each round, read everyone's. */
static void
mp_worker(uint32_t me)
{
	struct mp_val v;
	uint32_t      r, k, other;
	char	      key[32];
	int	      n;

	if (me == MP_VICTIM) {
		hook_armed_after = MP_KEYS + MP_KEYS / 2;
		table_midwrite_hook = mp_freeze;
	}
	for (r = 1; r <= MP_ROUNDS; r++) {
		for (k = 0; k < MP_KEYS; k++) {
			mp_make(&v, me, k, r);
			n = mp_key(key, sizeof(key), me, k);
			if (table_put(t, TABLE_KIND_GROUP, key, (size_t)n, &v,
				sizeof(v), 0, table_now_ms()) == -1)
				_exit(4);
			other = (me + 1 + k) % MP_PROCS;
			if (mp_verify(other, k, &v) == -1)
				_exit(5);
		}
	}
	_exit(0);
}

START_TEST(test_kill_while_locked)
{
	struct table_config tc;
	struct table_stats  s;
	struct mp_val	    v;
	pid_t		    pids[MP_PROCS];
	struct unit_table   u;
	char		    c;
	uint32_t	    p, k;
	int		    status, torn_keys = 0;

	memset(&tc, 0, sizeof(tc));
	tc.capacity = 65536;
	tc.stripes = 32; /* few stripes: the workers meet on them */
	tc.quota_pct[TABLE_KIND_GROUP] = 100;
	u = unit_table(&tc);
	t = u.t;
	ck_assert_int_eq(pipe(hook_pipe), 0);

	for (p = 0; p < MP_PROCS; p++) {
		if ((pids[p] = fork()) == 0)
			mp_worker(p);
		ck_assert_int_gt(pids[p], 0);
	}
	/* The victim says it holds a stripe half-written: kill it there. */
	ck_assert_int_eq(read(hook_pipe[0], &c, 1), 1);
	ck_assert_int_eq(kill(pids[MP_VICTIM], SIGKILL), 0);
	ck_assert_int_eq(waitpid(pids[MP_VICTIM], &status, 0), pids[MP_VICTIM]);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	for (p = 0; p < MP_PROCS; p++) {
		if (p == MP_VICTIM)
			continue;
		ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "worker %u failed: status %d", p, status);
	}
	/* Survivors' records: all there, from the last round. */
	for (p = 0; p < MP_PROCS; p++) {
		if (p == MP_VICTIM)
			continue;
		for (k = 0; k < MP_KEYS; k++) {
			ck_assert_int_eq(mp_verify(p, k, &v), 1);
			ck_assert_uint_eq(v.round, MP_ROUNDS);
		}
	}
	/*
	 * The victim's: whole records from round 1 or 2, except the one it
	 * was writing, which is gone rather than corrupt.
	 */
	for (k = 0; k < MP_KEYS; k++) {
		int r = mp_verify(MP_VICTIM, k, &v);

		ck_assert_int_ne(r, -1);
		if (r == 0)
			torn_keys++;
		else
			ck_assert(v.round == 1 || v.round == 2);
	}
	ck_assert_int_eq(torn_keys, 1);
	table_stats(t, &s);
	ck_assert_uint_eq(s.recovered, 1);
	ck_assert_uint_eq(s.torn, 1);
	ck_assert_uint_eq(s.count[TABLE_KIND_GROUP], MP_PROCS * MP_KEYS - 1);
	ck_assert_uint_eq(s.evicted, 0);
	unit_table_free(&u);
}
END_TEST

static void
add_tests(TCase *tc)
{
	tcase_add_test(tc, test_kill_while_locked);
}

int
main(void)
{
	return unit_run("table_mp", 120, add_tests);
}

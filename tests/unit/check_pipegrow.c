/* Unit tests for common/pipegrow.c: a pipe grows once its stream is bulk. */
#include "config.h"

#include <fcntl.h>
#include <unistd.h>

#include "pipegrow.h"
#include "unit.h"

START_TEST(test_grow)
{
	int    p[2];
	size_t moved = 0;
	int    before;

	ck_assert_int_eq(pipe(p), 0);
	before = fcntl(p[1], F_GETPIPE_SZ);
	ck_assert_int_lt(before, PIPE_CHUNK);
	pipe_note(p[1], &moved, 1024 * 1024);
	pipe_note(p[1], &moved, 2 * 1024 * 1024);
	ck_assert_int_eq(fcntl(p[1], F_GETPIPE_SZ), before); /* not yet */
	pipe_note(p[1], &moved, 1024 * 1024);
	ck_assert_int_eq(fcntl(p[1], F_GETPIPE_SZ), PIPE_CHUNK);
	/* Counting stops once grown. */
	pipe_note(p[1], &moved, 1024 * 1024);
	ck_assert_uint_eq(moved, 4 * 1024 * 1024);
	close(p[0]);
	close(p[1]);
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_grow);
}

int
main(void)
{
	return unit_run("pipegrow", 0, add);
}

/* Unit tests for common/pipegrow.c: a pipe grows once its stream is
 * bulk; an empty small pipe is reused, any other is closed. */
#include "config.h"

#include <sys/wait.h>
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

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

START_TEST(test_spares)
{
	int   p[2], q[2], r[2], kept[2], i, status;
	pid_t pid;

	ck_assert_int_eq(pipe_spare_count(), 0);
	ck_assert_int_eq(pipe_get(p), 0);
	ck_assert_int_ne(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0);
	kept[0] = p[0];
	kept[1] = p[1];
	pipe_put(p, 1000, 0); /* empty and small: kept */
	ck_assert_int_eq(p[0], -1);
	ck_assert_int_eq(pipe_spare_count(), 1);
	ck_assert(is_open(kept[0]) && is_open(kept[1]));
	ck_assert_int_eq(pipe_get(q), 0); /* the same pipe again */
	ck_assert_int_eq(q[0], kept[0]);
	ck_assert_int_eq(q[1], kept[1]);
	ck_assert_int_eq(pipe_spare_count(), 0);
	/* Bytes still in it: closed, never handed to another pair. */
	ck_assert_int_eq(write(q[1], "x", 1), 1);
	pipe_put(q, 1, 1);
	ck_assert(!is_open(kept[0]) && !is_open(kept[1]));
	/* Grown: closed. */
	ck_assert_int_eq(pipe_get(r), 0);
	kept[0] = r[0];
	pipe_put(r, 8 * 1024 * 1024, 0);
	ck_assert(!is_open(kept[0]));
	ck_assert_int_eq(pipe_spare_count(), 0);
	/* Bounded: past the bound they are closed. */
	for (i = 0; i < PIPE_SPARE_MAX + 8; i++) {
		ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
		kept[0] = p[0];
		pipe_put(p, 0, 0);
	}
	ck_assert_int_eq(pipe_spare_count(), PIPE_SPARE_MAX);
	ck_assert(!is_open(kept[0]));
	/* A forked child has none of its parent's. */
	if ((pid = fork()) == 0)
		_exit(pipe_spare_count() == 0 ? 0 : 1);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_eq(pipe_spare_count(), PIPE_SPARE_MAX);
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_grow);
	tcase_add_test(tc, test_spares);
}

int
main(void)
{
	return unit_run("pipegrow", 0, add);
}

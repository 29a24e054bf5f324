/*
 * Unit tests for common/fdsplice.c, two loopback TCP connections joined
 * in an event loop: small messages back and forth (a read that found
 * the source empty waits for it), bulk both ways at once after small
 * messages, bytes read before the join out at once, half-close, and
 * the pipes kept for the next pair once a pair ends cleanly.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include "fdsplice.h"
#include "pipegrow.h"
#include "sockrig.h"
#include "unit.h"

static int closed;

static void
on_closed(void *arg)
{
	(void)arg;
	closed++;
}

struct rig {
	struct event_base  *base;
	struct fdsplice_ops ops;
	struct fdsplice	   *p;
	int		    left, right; /* our ends: left to a, right to b */
};

static void
rig_join(struct rig *r)
{
	int a, b;

	r->base = event_base_new();
	ck_assert_ptr_nonnull(r->base);
	memset(&r->ops, 0, sizeof(r->ops));
	r->ops.base = r->base;
	r->ops.splice = 1;
	r->ops.closed = on_closed;
	sock_tcp_pair(&r->left, &a);
	sock_tcp_pair(&b, &r->right);
	/* Non-blocking, as the relay's and the agent's sockets are. */
	ck_assert_int_eq(fcntl(a, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(b, F_SETFL, O_NONBLOCK), 0);
	closed = 0;
	r->p = fdsplice_join(&r->ops, NULL, a, b);
	ck_assert_ptr_nonnull(r->p);
}

/* Run the loop until fd has n bytes to read (or EOF), read them. */
static size_t
rig_read(struct rig *r, int fd, char *buf, size_t n)
{
	return sock_read(r->base, fd, buf, n);
}

START_TEST(test_pingpong)
{
	struct rig r;
	char	   out[64], in[64];
	int	   i;

	rig_join(&r);
	for (i = 0; i < 300; i++) {
		memset(out, 'a' + i % 26, sizeof(out));
		ck_assert_int_eq(send(r.left, out, sizeof(out), 0),
		    sizeof(out));
		ck_assert_uint_eq(rig_read(&r, r.right, in, sizeof(in)),
		    sizeof(in));
		ck_assert(memcmp(in, out, sizeof(in)) == 0);
		out[0] = 'Z';
		ck_assert_int_eq(send(r.right, out, sizeof(out), 0),
		    sizeof(out));
		ck_assert_uint_eq(rig_read(&r, r.left, in, sizeof(in)),
		    sizeof(in));
		ck_assert(memcmp(in, out, sizeof(in)) == 0);
	}
	ck_assert_int_eq(closed, 0);
}
END_TEST

START_TEST(test_small_then_bulk)
{
	struct rig r;
	char	   in[5];

	rig_join(&r);
	/* A small message each way, then bulk both ways at once from two
	 * other processes, so that it arrives while the loop waits after
	 * the short reads. */
	ck_assert_int_eq(send(r.left, "hello", 5, 0), 5);
	ck_assert_uint_eq(rig_read(&r, r.right, in, 5), 5);
	ck_assert_int_eq(send(r.right, "olleh", 5, 0), 5);
	ck_assert_uint_eq(rig_read(&r, r.left, in, 5), 5);
	sock_bulk_both(r.base, r.left, r.right, 4 << 20);
	ck_assert_int_eq(closed, 0);
}
END_TEST

START_TEST(test_pre_at_once)
{
	struct rig r;
	char	   in[16];

	rig_join(&r);
	ck_assert_int_eq(fdsplice_pre(r.p, 0, "early", 5), 0);
	/* Out before the loop runs at all. */
	ck_assert_int_eq(recv(r.right, in, sizeof(in), MSG_DONTWAIT), 5);
	ck_assert(memcmp(in, "early", 5) == 0);
	ck_assert_int_eq(send(r.left, "later", 5, 0), 5);
	ck_assert_uint_eq(rig_read(&r, r.right, in, 5), 5);
	ck_assert(memcmp(in, "later", 5) == 0);
}
END_TEST

START_TEST(test_half_close_and_spares)
{
	struct rig r;
	char	   in[16];
	int	   spares = pipe_spare_count();

	rig_join(&r);
	ck_assert_int_eq(shutdown(r.left, SHUT_WR), 0);
	ck_assert_uint_eq(rig_read(&r, r.right, in, 1), 0); /* EOF passed on */
	/* The other way still carries. */
	ck_assert_int_eq(send(r.right, "back", 4, 0), 4);
	ck_assert_uint_eq(rig_read(&r, r.left, in, 4), 4);
	ck_assert(memcmp(in, "back", 4) == 0);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(shutdown(r.right, SHUT_WR), 0);
	ck_assert_uint_eq(rig_read(&r, r.left, in, 1), 0);
	ck_assert_int_eq(closed, 1);
	/* Both pipes were empty and small: kept, and the next pair's. */
	ck_assert_int_eq(pipe_spare_count(), spares + 2);
	rig_join(&r);
	ck_assert_int_eq(pipe_spare_count(), spares);
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_pingpong);
	tcase_add_test(tc, test_small_then_bulk);
	tcase_add_test(tc, test_pre_at_once);
	tcase_add_test(tc, test_half_close_and_spares);
}

int
main(void)
{
	return unit_run("fdsplice", 30, add);
}

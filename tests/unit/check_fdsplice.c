/*
 * Unit tests for common/fdsplice.c, two loopback TCP connections joined
 * in an event loop: small messages back and forth (a read that found
 * the source empty waits for it), bulk after a small message, bytes
 * read before the join out at once, half-close, and the pipes kept for
 * the next pair once a pair ends cleanly.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include "fdsplice.h"
#include "pipegrow.h"
#include "unit.h"

static int closed;

static void
on_closed(void *arg)
{
	(void)arg;
	closed++;
}

/* A connected pair of loopback TCP sockets: *a and *b. */
static void
tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = unit_v4("127.0.0.1", 0);
	socklen_t	   len = sizeof(sin);
	int		   l = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_eq(bind(l, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(listen(l, 1), 0);
	ck_assert_int_eq(getsockname(l, (struct sockaddr *)&sin, &len), 0);
	*a = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*a, (struct sockaddr *)&sin, sizeof(sin)), 0);
	*b = accept(l, NULL, NULL);
	ck_assert_int_ge(*b, 0);
	close(l);
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
	tcp_pair(&r->left, &a);
	tcp_pair(&b, &r->right);
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
	struct pollfd pfd = {fd, POLLIN, 0};
	size_t	      got = 0;
	ssize_t	      k;
	int	      spins;

	for (spins = 0; got < n && spins < 100000; spins++) {
		event_base_loop(r->base, EVLOOP_NONBLOCK);
		if (poll(&pfd, 1, 1) != 1)
			continue;
		if ((k = recv(fd, buf + got, n - got, MSG_DONTWAIT)) == 0)
			break;
		if (k > 0)
			got += (size_t)k;
	}
	return got;
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
	size_t	   n = 4 << 20, i;
	char	  *out = malloc(n), *in = malloc(n);
	pid_t	   pid;

	rig_join(&r);
	for (i = 0; i < n; i++)
		out[i] = (char)(i * 7 + i / 4096);
	/* A small message, then bulk from another process, so that the
	 * bulk arrives while the loop waits after the short read. */
	ck_assert_int_eq(send(r.left, "hello", 5, 0), 5);
	ck_assert_uint_eq(rig_read(&r, r.right, in, 5), 5);
	if ((pid = fork()) == 0) {
		size_t	at = 0;
		ssize_t k;

		while (at < n && (k = send(r.left, out + at, n - at, 0)) > 0)
			at += (size_t)k;
		_exit(at == n ? 0 : 1);
	}
	ck_assert_uint_eq(rig_read(&r, r.right, in, n), n);
	ck_assert(memcmp(in, out, n) == 0);
	free(out);
	free(in);
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

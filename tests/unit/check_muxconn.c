/*
 * Unit tests for many streams over one carrier (common/muxconn.c,
 * muxframe.c, evsock.c): an opening carrier (the relay's) and an
 * accepting one (the agent's) over a socketpair in one event loop,
 * each stream's ends loopback TCP pairs.  Frames and the table of
 * streams; bulk both ways at once; bytes before the accepting side
 * attached, and half-close; a stream whose reader stalls holds up
 * only itself, its bytes bounded by the window; a reset's reason; a
 * peer that breaks a window, or sends a frame that cannot be; idle
 * streams.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "evsock.h"
#include "muxconn.h"
#include "sockrig.h"
#include "unit.h"

struct side {
	struct muxc	   *m;
	struct muxc_stream *opened; /* the accepting side's newest */
	char		    meta[MUXF_META_MAX + 1];
	size_t		    moved[2];
	int		    ended, dead;
	char		    reason[MUXF_REASON_MAX + 1], why[64];
};

static struct event_base *base;
static struct side	  opener, acceptor;
static int		  attach_at_once = 1;
static int		  local_app; /* the test's end of the last attached */
static int		  carrier_fd; /* the opener's end of the carrier */

static void
nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void
on_moved(void *arg, int dir, size_t n)
{
	((struct side *)arg)->moved[dir] += n;
}

static void
on_ended(void *arg, const char *reason)
{
	struct side *s = arg;

	s->ended++;
	snprintf(s->reason, sizeof(s->reason), "%s", reason ? reason : "-");
}

static void
on_dead(void *arg, const char *why)
{
	struct side *s = arg;

	s->dead++;
	snprintf(s->why, sizeof(s->why), "%s", why);
}

/* The accepting side's stream to a new local pair (test's end kept). */
static void
attach(struct muxc_stream *s)
{
	int in, small = 64 * 1024;

	sock_tcp_pair(&in, &local_app);
	nonblock(in);
	/* Not megabytes in the kernel: the window is what bounds. */
	setsockopt(in, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	muxc_attach(s, evsock_new(base, in, NULL, NULL));
}

static void
on_opened(void *arg, struct muxc_stream *s, const char *meta)
{
	struct side *a = arg;

	a->opened = s;
	snprintf(a->meta, sizeof(a->meta), "%s", meta);
	muxc_set_arg(s, a);
	if (attach_at_once)
		attach(s);
}

static struct muxc_ops opener_ops = {0, NULL, on_moved, on_ended, on_dead};
static struct muxc_ops acceptor_ops = {0, on_opened, on_moved, on_ended,
    on_dead};

/* Carriers over a socketpair, the opener's and the acceptor's; or, for
 * raw_acceptor (raw_opener), the test's own end in its place,
 * returned, to speak frames on. */
static int
rig(int raw_acceptor, int raw_opener)
{
	int sv[2];

	memset(&opener, 0, sizeof(opener));
	memset(&acceptor, 0, sizeof(acceptor));
	base = event_base_new();
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	nonblock(sv[0]);
	nonblock(sv[1]);
	carrier_fd = sv[0];
	if (!raw_opener)
		opener.m = muxc_new(base, evsock_new(base, sv[0], NULL, NULL),
		    &opener_ops, &opener, 1);
	if (!raw_acceptor)
		acceptor.m = muxc_new(base,
		    evsock_new(base, sv[1], NULL, NULL), &acceptor_ops,
		    &acceptor, 0);
	return raw_acceptor ? sv[1] : raw_opener ? sv[0] : -1;
}

/* A visitor's stream from the opener: the test's end of it. */
static int
visit(const char *meta)
{
	int app, in;

	sock_tcp_pair(&app, &in);
	nonblock(in);
	ck_assert_ptr_nonnull(
	    muxc_open(opener.m, evsock_new(base, in, NULL, NULL), meta,
		&opener));
	return app;
}

static void
spin(int rounds)
{
	while (rounds-- > 0) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
}

/* Run the loop until *flag reaches want (or about 5 s). */
static void
spin_until(const int *flag, int want)
{
	int i;

	for (i = 0; i < 5000 && *flag < want; i++)
		spin(1);
	ck_assert_int_ge(*flag, want);
}

/* Run the loop until the acceptor heard of a new stream (or about 5 s). */
static void
wait_opened(void)
{
	int i;

	for (i = 0; i < 5000 && acceptor.opened == NULL; i++)
		spin(1);
	ck_assert_ptr_nonnull(acceptor.opened);
}

START_TEST(test_frames_and_table)
{
	struct muxf_table t = {0};
	uint8_t		  h[MUXF_HEAD];
	uint32_t	  id, i;
	size_t		  n;
	int		  kind;

	muxf_head(h, MUXF_DATA, 0x01020304, 70000);
	ck_assert_int_eq(muxf_parse(h, &kind, &id, &n), 0);
	ck_assert(kind == MUXF_DATA && id == 0x01020304 && n == 70000);
	muxf_head(h, MUXF_DATA, 1, MUXF_CHUNK + 1);
	ck_assert_int_eq(muxf_parse(h, &kind, &id, &n), -1); /* too long */
	muxf_head(h, MUXF_DATA, 0, 10);
	ck_assert_int_eq(muxf_parse(h, &kind, &id, &n), -1); /* stream 0 */
	muxf_head(h, MUXF_WINDOW, 3, 5);
	ck_assert_int_eq(muxf_parse(h, &kind, &id, &n), -1);
	muxf_head(h, MUXF_PING, 3, 8);
	ck_assert_int_eq(muxf_parse(h, &kind, &id, &n), -1); /* not stream 0 */
	muxf_head(h, 9, 3, 0);
	ck_assert_int_eq(muxf_parse(h, &kind, &id, &n), -1);
	/* Ten thousand streams, half gone, the rest found, room again. */
	for (i = 1; i <= 10000; i++)
		ck_assert_int_eq(muxf_add(&t, i, (void *)(uintptr_t)i), 0);
	for (i = 1; i <= 10000; i += 2)
		muxf_remove(&t, i);
	for (i = 1; i <= 10000; i++)
		ck_assert_ptr_eq(muxf_find(&t, i),
		    i % 2 ? NULL : (void *)(uintptr_t)i);
	for (i = 10001; i <= 15000; i++)
		ck_assert_int_eq(muxf_add(&t, i, (void *)(uintptr_t)i), 0);
	ck_assert_uint_eq(t.used, 10000);
	ck_assert_ptr_eq(muxf_find(&t, 15000), (void *)(uintptr_t)15000);
	muxf_table_free(&t);
}
END_TEST

START_TEST(test_bulk_both_ways)
{
	size_t n = 4 << 20;
	int    app;

	rig(0, 0);
	app = visit("192.0.2.1:40000 198.51.100.2:7000");
	wait_opened();
	ck_assert_str_eq(acceptor.meta, "192.0.2.1:40000 198.51.100.2:7000");
	sock_bulk_both(base, app, local_app, n);
	ck_assert_uint_eq(opener.moved[0], n);
	ck_assert_uint_eq(opener.moved[1], n);
	ck_assert_uint_eq(acceptor.moved[0], n);
	ck_assert_uint_eq(acceptor.moved[1], n);
	ck_assert_int_eq(muxc_count(opener.m), 1);
}
END_TEST

START_TEST(test_early_bytes_and_half_close)
{
	char in[32];
	int  app;

	attach_at_once = 0;
	rig(0, 0);
	app = visit("a b");
	ck_assert_int_eq(send(app, "before the attach", 17, 0), 17);
	ck_assert_int_eq(shutdown(app, SHUT_WR), 0);
	wait_opened();
	spin(50); /* the bytes and the EOF wait for the local socket */
	attach(acceptor.opened);
	ck_assert_uint_eq(sock_read(base, local_app, in, sizeof(in)), 17);
	ck_assert(memcmp(in, "before the attach", 17) == 0);
	/* The other way still carries, then ends: both sides done. */
	ck_assert_int_eq(send(local_app, "reply", 5, 0), 5);
	ck_assert_int_eq(shutdown(local_app, SHUT_WR), 0);
	ck_assert_uint_eq(sock_read(base, app, in, sizeof(in)), 5);
	ck_assert(memcmp(in, "reply", 5) == 0);
	spin_until(&opener.ended, 1);
	spin_until(&acceptor.ended, 1);
	ck_assert_str_eq(opener.reason, "-");
	ck_assert_int_eq(muxc_count(opener.m), 0);
	ck_assert_int_eq(muxc_count(acceptor.m), 0);
}
END_TEST

/*
 * A local reader that does not read holds up its own stream, with at
 * most a window and the kernel's small buffers sent; another stream on
 * the carrier ping-pongs meanwhile, and the first one's bytes all come
 * out once it reads.
 */
START_TEST(test_slow_reader_holds_only_its_stream)
{
	size_t n = 8 << 20, got = 0;
	int    small = 32 * 1024, slow_app, slow_local, fast_app, i;
	char  *pattern = sock_pattern(n, 7), *in = malloc(n), buf[8];
	pid_t  pid;

	rig(0, 0);
	slow_app = visit("slow -");
	wait_opened();
	slow_local = local_app;
	setsockopt(slow_local, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	pid = sock_sender(slow_app, pattern, n);
	spin(500);
	ck_assert_uint_lt(opener.moved[0], 2 << 20);
	ck_assert_uint_ge(opener.moved[0], MUXF_INFLIGHT);
	acceptor.opened = NULL;
	fast_app = visit("fast -");
	wait_opened();
	for (i = 0; i < 100; i++) {
		ck_assert_int_eq(send(fast_app, "ping", 4, 0), 4);
		ck_assert_uint_eq(sock_read(base, local_app, buf, 4), 4);
		ck_assert_int_eq(send(local_app, "pong", 4, 0), 4);
		ck_assert_uint_eq(sock_read(base, fast_app, buf, 4), 4);
	}
	ck_assert_uint_lt(opener.moved[0], (2 << 20) + 800);
	while (got < n) {
		size_t k = sock_read(base, slow_local, in + got,
		    n - got < 65536 ? n - got : 65536);

		ck_assert_uint_gt(k, 0);
		got += k;
	}
	ck_assert(memcmp(in, pattern, n) == 0);
	sock_sender_ok(pid);
	free(pattern);
	free(in);
}
END_TEST

/* Streams enough to fill the carrier: those that waited for room in it
 * read on as it drains, and every byte comes through. */
START_TEST(test_many_streams_fill_the_carrier)
{
	enum { N = 8 };
	size_t		 n = 2 << 20;
	char		*pattern = sock_pattern(n, 11);
	int		 app[N], local[N], i, small = 8 * 1024;
	pid_t		 pid[N];
	struct sock_want w[2];

	rig(0, 0);
	/* A carrier that takes little at a time: its output backs up. */
	setsockopt(carrier_fd, SOL_SOCKET, SO_SNDBUF,
	    &small, sizeof(small));
	for (i = 0; i < N; i++) {
		acceptor.opened = NULL;
		app[i] = visit("many -");
		wait_opened();
		local[i] = local_app;
		pid[i] = sock_sender(app[i], pattern, n);
	}
	for (i = 0; i < N; i += 2) {
		char *in[2] = {malloc(n), malloc(n)};

		w[0] = (struct sock_want){local[i], in[0], n, 0, 0};
		w[1] = (struct sock_want){local[i + 1], in[1], n, 0, 0};
		sock_wait(base, w, 2);
		ck_assert_uint_eq(w[0].got, n);
		ck_assert_uint_eq(w[1].got, n);
		ck_assert(memcmp(in[0], pattern, n) == 0);
		ck_assert(memcmp(in[1], pattern, n) == 0);
		free(in[0]);
		free(in[1]);
	}
	for (i = 0; i < N; i++)
		sock_sender_ok(pid[i]);
	free(pattern);
}
END_TEST

START_TEST(test_reset_says_why)
{
	char in[8];
	int  app;

	attach_at_once = 0;
	rig(0, 0);
	app = visit("x y");
	wait_opened();
	muxc_reset(acceptor.opened, "local service 127.0.0.1:9: refused");
	ck_assert_int_eq(acceptor.ended, 1);
	spin_until(&opener.ended, 1);
	ck_assert_str_eq(opener.reason, "local service 127.0.0.1:9: refused");
	ck_assert_uint_eq(sock_read(base, app, in, sizeof(in)), 0);
	ck_assert_int_eq(opener.dead + acceptor.dead, 0); /* carrier lives */
}
END_TEST

/* Raw frames from the test, as a peer that breaks the rules would. */
static void
raw_frame(int fd, int kind, uint32_t id, const void *p, size_t n)
{
	uint8_t h[MUXF_HEAD];
	size_t	at = 0;
	ssize_t k;

	muxf_head(h, kind, id, n);
	ck_assert_int_eq(send(fd, h, sizeof(h), 0), sizeof(h));
	while (at < n) {
		if ((k = send(fd, (const char *)p + at, n - at, 0)) > 0)
			at += (size_t)k;
		else
			spin(1);
	}
}

START_TEST(test_past_the_window_is_reset)
{
	int	raw = rig(0, 1), small = 16 * 1024, i, kind = 0;
	char   *chunk = sock_pattern(65536, 3);
	uint8_t h[MUXF_HEAD];
	uint32_t id = 0;
	size_t	n = 0;

	raw_frame(raw, MUXF_OPEN, 1, "p q", 3);
	wait_opened();
	setsockopt(local_app, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	/* Never granted more: twice the window, the local side not reading. */
	for (i = 0; i < 2 * MUXF_INFLIGHT / 65536 && acceptor.ended == 0; i++) {
		raw_frame(raw, MUXF_DATA, 1, chunk, 65536);
		spin(5);
	}
	spin_until(&acceptor.ended, 1);
	/* The acceptor said so: a RESET for stream 1 among its frames. */
	while (kind != MUXF_RESET) {
		ck_assert_uint_eq(sock_read(base, raw, (char *)h, sizeof(h)),
		    sizeof(h));
		ck_assert_int_eq(muxf_parse(h, &kind, &id, &n), 0);
		if (n > 0) {
			char skip[MUXF_REASON_MAX + 8];

			ck_assert_uint_eq(sock_read(base, raw, skip, n), n);
		}
	}
	ck_assert_uint_eq(id, 1);
	ck_assert_int_eq(acceptor.dead, 0);
	free(chunk);
}
END_TEST

START_TEST(test_junk_breaks_the_carrier)
{
	int raw = rig(0, 1);

	raw_frame(raw, MUXF_OPEN, 1, "p q", 3);
	wait_opened();
	raw_frame(raw, 9, 1, NULL, 0);
	spin_until(&acceptor.dead, 1);
	ck_assert_str_eq(acceptor.why, "a frame that cannot be");
	ck_assert_int_eq(acceptor.ended, 1); /* its stream first */
	/* And an OPEN from the side that does not open. */
	raw = rig(1, 0);
	raw_frame(raw, MUXF_OPEN, 1, "p q", 3);
	spin_until(&opener.dead, 1);
	ck_assert_str_eq(opener.why, "an OPEN it may not send");
}
END_TEST

START_TEST(test_idle_streams_are_reset)
{
	char in[8];
	int  quiet, busy, i;

	opener_ops.idle_s = 1;
	rig(0, 0);
	quiet = visit("q -");
	wait_opened();
	acceptor.opened = NULL;
	busy = visit("b -");
	wait_opened();
	for (i = 0; i < 25 && opener.ended == 0; i++) {
		ck_assert_int_eq(send(busy, "tick", 4, 0), 4);
		ck_assert_uint_eq(sock_read(base, local_app, in, 4), 4);
		spin(100);
	}
	ck_assert_int_eq(opener.ended, 1);
	ck_assert_uint_eq(sock_read(base, quiet, in, sizeof(in)), 0);
	spin_until(&acceptor.ended, 1);
	ck_assert_int_eq(muxc_count(opener.m), 1); /* the busy one goes on */
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_frames_and_table);
	tcase_add_test(tc, test_bulk_both_ways);
	tcase_add_test(tc, test_early_bytes_and_half_close);
	tcase_add_test(tc, test_slow_reader_holds_only_its_stream);
	tcase_add_test(tc, test_many_streams_fill_the_carrier);
	tcase_add_test(tc, test_reset_says_why);
	tcase_add_test(tc, test_past_the_window_is_reset);
	tcase_add_test(tc, test_junk_breaks_the_carrier);
	tcase_add_test(tc, test_idle_streams_are_reset);
}

int
main(void)
{
	return unit_run("muxconn", 60, add);
}

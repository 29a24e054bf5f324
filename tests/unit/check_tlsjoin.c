/*
 * Unit tests for a TLS pump's plain end joined to another socket in the
 * same process (common/tlsloop.c's tlsloop_adopt, through
 * common/fdsplice.c): the pump takes the other socket itself.  Two
 * pumps, a server's and a client's, talk TLS over loopback TCP in one
 * event loop; the client's plain end is joined to a "local service"
 * connection, from either side of the pair.  The bytes the socketpair
 * and the pump held at the join come out in order, after and before the
 * caller's own (fdsplice_pre), then bulk goes both ways at once,
 * half-close crosses, an idle pump holds no buffer, and idleness ends
 * the pair.  A number that was a
 * pump's and was closed and reused, and a caller that must see the
 * bytes (ops->allow), are not taken for one.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include "fdsplice.h"
#include "sockrig.h"
#include "tlsloop.h"
#include "unit.h"

static int    closed;
static size_t moved[2];

static void
on_moved(void *arg, int dir, size_t n)
{
	(void)arg;
	moved[dir] += n;
}

static void
on_closed(void *arg)
{
	(void)arg;
	closed++;
}

static ssize_t
allow_all(void *arg, int fd)
{
	(void)arg;
	(void)fd;
	return FDSPLICE_ALL;
}

/* A server context with a fresh self-signed P-256 certificate. */
static SSL_CTX *
server_ctx(void)
{
	SSL_CTX	  *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY  *k = EVP_EC_gen("P-256");
	X509	  *x = X509_new();
	X509_NAME *name;

	ck_assert_ptr_nonnull(ctx);
	ck_assert_ptr_nonnull(k);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"tlsjoin", -1, -1, 0);
	X509_set_issuer_name(x, name);
	ck_assert_int_gt(X509_sign(x, k, EVP_sha256()), 0);
	ck_assert_int_eq(SSL_CTX_use_certificate(ctx, x), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(ctx, k), 1);
	X509_free(x);
	EVP_PKEY_free(k);
	return ctx;
}

struct rig {
	struct event_base  *base;
	struct fdsplice_ops ops;
	struct fdsplice	   *p;
	int		    srv;  /* the server pump's plain end: ours */
	int		    cli;  /* the client pump's plain end: joined */
	int		    lout; /* ours, to the "local service" socket */
	int		    lin;  /* joined */
};

/* Two pumps over loopback, handshaken ("hi" crossed). */
static void
rig_start(struct rig *r)
{
	static SSL_CTX *sctx, *cctx;
	SSL	       *s, *c;
	int		ns, nc;
	char		in[2];

	if (sctx == NULL) {
		sctx = server_ctx();
		cctx = SSL_CTX_new(TLS_client_method());
	}
	r->base = event_base_new();
	memset(&r->ops, 0, sizeof(r->ops));
	r->ops.base = r->base;
	r->ops.splice = 1;
	r->ops.moved = on_moved;
	r->ops.closed = on_closed;
	closed = 0;
	moved[0] = moved[1] = 0;
	sock_tcp_pair(&nc, &ns);
	ck_assert_int_eq(fcntl(nc, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(ns, F_SETFL, O_NONBLOCK), 0);
	s = SSL_new(sctx);
	c = SSL_new(cctx);
	SSL_set_accept_state(s);
	SSL_set_connect_state(c);
	r->srv = tlsloop_start(r->base, s, ns, NULL, NULL);
	r->cli = tlsloop_start(r->base, c, nc, NULL, NULL);
	ck_assert_int_ge(r->srv, 0);
	ck_assert_int_ge(r->cli, 0);
	ck_assert_int_eq(send(r->cli, "hi", 2, 0), 2);
	ck_assert_uint_eq(sock_read(r->base, r->srv, in, 2), 2);
	sock_tcp_pair(&r->lout, &r->lin);
	ck_assert_int_eq(fcntl(r->lin, F_SETFL, O_NONBLOCK), 0);
}

/* Join the client's plain end and lin, the plain end as a (side 0) or b. */
static void
rig_join(struct rig *r, int side)
{
	r->p = fdsplice_join(&r->ops, NULL, side == 0 ? r->cli : r->lin,
	    side == 0 ? r->lin : r->cli);
	ck_assert_ptr_nonnull(r->p);
}

/* Whether fd is still open in this process. */
static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

/* Run the loop until the client's plain end holds at least n bytes. */
static void
fill_until(struct rig *r, int n)
{
	int spins, have = 0;

	for (spins = 0; spins < 100000 && have < n; spins++) {
		event_base_loop(r->base, EVLOOP_NONBLOCK);
		ck_assert_int_eq(ioctl(r->cli, FIONREAD, &have), 0);
		usleep(100);
	}
	ck_assert_int_ge(have, n);
	for (spins = 0; spins < 50; spins++) /* and let the pump fill up */
		event_base_loop(r->base, EVLOOP_NONBLOCK);
}

START_TEST(test_adopt)
{
	struct rig	 r;
	size_t		 held = 1 << 20, bulk = 4 << 20;
	char		*early = sock_pattern(held, 7), *in = malloc(9 + held);
	char		 line[32];
	struct sock_want w[2];
	pid_t		 pid;
	int		 side = _i, to_local = side, to_tls = !side;

	rig_start(&r);
	/* Before the join: a MiB from the server, more than the socketpair
	 * takes, and a line the caller writes into its plain end. */
	pid = sock_sender(r.srv, early, held);
	fill_until(&r, 64 * 1024);
	ck_assert_int_eq(send(r.cli, "caller-line\n", 12, 0), 12);
	rig_join(&r, side);
	ck_assert(!is_open(r.cli)); /* taken: the socketpair is gone */
	ck_assert_int_eq(fdsplice_pre(r.p, to_local, "PRE-LOCAL", 9), 0);
	ck_assert_int_eq(fdsplice_pre(r.p, to_tls, "PRE-TLS", 7), 0);
	ck_assert_ptr_nonnull(in);
	w[0] = (struct sock_want){r.lout, in, 9 + held, 0, 0};
	w[1] = (struct sock_want){r.srv, line, 19, 0, 0};
	sock_wait(r.base, w, 2);
	sock_sender_ok(pid);
	ck_assert_uint_eq(w[0].got, 9 + held);
	ck_assert(memcmp(in, "PRE-LOCAL", 9) == 0);
	ck_assert(memcmp(in + 9, early, held) == 0);
	ck_assert_uint_eq(w[1].got, 19);
	ck_assert(memcmp(line, "caller-line\nPRE-TLS", 19) == 0);
	/* The socketpair's and the pump's bytes count as moved; the
	 * caller's pre-join bytes were its own to count. */
	ck_assert_uint_eq(moved[to_local], held);
	ck_assert_uint_eq(moved[to_tls], 0);
	free(in);
	free(early);

	/* Bulk both ways at once, from two other processes. */
	sock_bulk_both(r.base, r.srv, r.lout, bulk);
	ck_assert_uint_eq(moved[to_local], held + bulk);
	ck_assert_uint_eq(moved[to_tls], bulk);

	/* Half-close: the local end's EOF reaches the server as a
	 * close_notify, the other way still carries, then its end too. */
	ck_assert_int_eq(shutdown(r.lout, SHUT_WR), 0);
	ck_assert_uint_eq(sock_read(r.base, r.srv, line, 1), 0);
	ck_assert_int_eq(send(r.srv, "back", 4, 0), 4);
	ck_assert_uint_eq(sock_read(r.base, r.lout, line, 4), 4);
	ck_assert(memcmp(line, "back", 4) == 0);
	ck_assert_int_eq(closed, 0);
	ck_assert_int_eq(shutdown(r.srv, SHUT_WR), 0);
	ck_assert_uint_eq(sock_read(r.base, r.lout, line, 1), 0);
	ck_assert_int_eq(closed, 1);
	ck_assert_int_eq(tlsloop_count(), 0); /* both ends came: both gone */
	close(r.srv);
	close(r.lout);
}
END_TEST

START_TEST(test_idle)
{
	struct rig r;
	char	   c;
	int	   spins;

	rig_start(&r);
	r.ops.idle_s = 1;
	rig_join(&r, 0);
	ck_assert(!is_open(r.cli));
	ck_assert_int_eq(send(r.srv, "x", 1, 0), 1);
	ck_assert_uint_eq(sock_read(r.base, r.lout, &c, 1), 1);
	ck_assert_int_eq(send(r.lout, "y", 1, 0), 1);
	ck_assert_uint_eq(sock_read(r.base, r.srv, &c, 1), 1);
	/* Idle, the pumps hold no buffer (thousands of idle visitors). */
	ck_assert_int_eq(tlsloop_holding(), 0);
	for (spins = 0; spins < 3000 && closed == 0; spins++) {
		event_base_loop(r.base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	ck_assert_int_eq(closed, 1);
	ck_assert_uint_eq(sock_read(r.base, r.lout, &c, 1), 0);
	close(r.srv);
	close(r.lout);
}
END_TEST

START_TEST(test_not_a_pump)
{
	struct rig r;
	char	   in[8];
	int	   x, y, num;

	/* A pump's number, closed and taken by another socket. */
	rig_start(&r);
	num = r.cli;
	sock_tcp_pair(&x, &y);
	ck_assert_int_eq(dup2(x, num), num);
	close(x);
	ck_assert_int_eq(fcntl(num, F_SETFL, O_NONBLOCK), 0);
	rig_join(&r, 0);
	ck_assert(is_open(num)); /* the pair's, not a pump's */
	ck_assert_int_eq(send(y, "plain", 5, 0), 5);
	ck_assert_uint_eq(sock_read(r.base, r.lout, in, 5), 5);
	ck_assert(memcmp(in, "plain", 5) == 0);
	fdsplice_close(r.p);

	/* A caller that sees the bytes (ops->allow) keeps the socketpair. */
	rig_start(&r);
	r.ops.allow = allow_all;
	rig_join(&r, 0);
	ck_assert(is_open(r.cli));
	ck_assert_int_eq(send(r.srv, "pair", 4, 0), 4);
	ck_assert_uint_eq(sock_read(r.base, r.lout, in, 4), 4);
	ck_assert(memcmp(in, "pair", 4) == 0);
	fdsplice_close(r.p);
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_loop_test(tc, test_adopt, 0, 2);
	tcase_add_test(tc, test_idle);
	tcase_add_test(tc, test_not_a_pump);
}

int
main(void)
{
	return unit_run("tlsjoin", 60, add);
}

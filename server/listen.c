/*
 * The master binds every listening socket before it forks and keeps them
 * open, so what the kernel has queued on one survives the death of a
 * worker.  Most sockets are shared by all workers of their kind.  The
 * tracker's UDP addresses instead get one SO_REUSEPORT socket per worker
 * (its "shard", by worker ordinal): the kernel spreads clients over them
 * and no two workers wake for one datagram; a respawned worker takes its
 * ordinal's socket over and drains its queue.  On reload, sockets whose
 * address (and shard) did not change are kept open.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"


static int listeners_add(struct listeners *, const struct listeners *, int, int,
    const struct conf_listen *, int, char *, size_t);
static int listener_bind(struct listener *, char *, size_t);
static int listener_same(const struct listener *, const struct listener *);

static const char *
listener_proto(const struct listener *l)
{
	return l->type == SOCK_DGRAM ? "udp" : "tcp";
}

static int
listener_same(const struct listener *a, const struct listener *b)
{
	return a->kind == b->kind && a->use == b->use && a->type == b->type &&
	    a->shard == b->shard && addr_equal(&a->addr, &b->addr);
}

/* Bound to 0.0.0.0 or ::? */
static int
listener_wildcard(const struct listener *l)
{
	static const uint8_t any6[16];

	if (addr_family(&l->addr) == AF_INET)
		return ((const struct sockaddr_in *)&l->addr.ss)
			   ->sin_addr.s_addr == INADDR_ANY;
	return memcmp(&((const struct sockaddr_in6 *)&l->addr.ss)->sin6_addr,
		   any6, 16) == 0;
}

/*
 * Open one socket: 0, 1 when skipped, or -1 with an error that names
 * protocol and address.
 */
static int
listener_bind(struct listener *l, char *err, size_t errlen)
{
	char a[ADDR_STRLEN];
	int  fd, on = 1;

	fd = socket(addr_family(&l->addr),
	    l->type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1 && errno == EAFNOSUPPORT &&
	    addr_family(&l->addr) == AF_INET6) {
		/* A kernel without IPv6: serve IPv4 rather than nothing. */
		log_warnx("IPv6 is not available: not listening on %s %s",
		    listener_proto(l), addr_format(&l->addr, a, sizeof(a)));
		return 1;
	}
	if (fd == -1)
		goto fail;
	if (l->type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
		goto fail;
	if (l->shard >= 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1)
		goto fail;
	if (addr_family(&l->addr) == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	/*
	 * On a wildcard address, datagram servers learn which local address
	 * a request came to, and answer from it.  An explicit address needs
	 * neither, and sending without pktinfo spares a route lookup.
	 */
	if (l->type == SOCK_DGRAM && listener_wildcard(l) &&
	    (addr_family(&l->addr) == AF_INET
		    ? setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on))
		    : setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
			  sizeof(on))) == -1)
		goto fail;
	if (bind(fd, (struct sockaddr *)&l->addr.ss, l->addr.len) == -1)
		goto fail;
	if (l->type == SOCK_STREAM && listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	l->fd = fd;
	return 0;
fail:
	snprintf(err, errlen, "cannot listen on %s %s (%s): %s",
	    listener_proto(l), addr_format(&l->addr, a, sizeof(a)),
	    roles[l->kind].name, strerror(errno));
	if (fd != -1)
		close(fd);
	return -1;
}

/*
 * Is a UDP address free?  SO_REUSEPORT would let a second natserver of the
 * same user join the port unnoticed, so a fresh address is first bound
 * once without it.
 */
static int
listener_probe(const struct listener *l, char *err, size_t errlen)
{
	struct listener probe = *l;

	probe.shard = -1;
	if (listener_bind(&probe, err, errlen) == -1)
		return -1;
	if (probe.fd != -1)
		close(probe.fd);
	return 0;
}

/* Does old hold any socket for this address, whatever its shard? */
static int
listeners_hold(const struct listeners *old, const struct listener *l)
{
	int j;

	for (j = 0; old != NULL && j < old->n; j++)
		if (old->v[j].kind == l->kind && old->v[j].type == l->type &&
		    old->v[j].fd != -1 && addr_equal(&old->v[j].addr, &l->addr))
			return 1;
	return 0;
}

/* Add one socket, reusing the one open in old; -1 on error. */
static int
listeners_add_one(struct listeners *ls, const struct listeners *old,
    const struct listener *want, char *err, size_t errlen)
{
	struct listener *l;
	int		 j, r;

	if (ls->n == LISTENERS_MAX) {
		snprintf(err, errlen, "more than %d listening sockets",
		    LISTENERS_MAX);
		return -1;
	}
	l = &ls->v[ls->n];
	*l = *want;
	l->fd = -1;
	for (j = 0; old != NULL && j < old->n; j++)
		if (listener_same(&old->v[j], l))
			l->fd = old->v[j].fd;
	if (l->fd == -1 && (r = listener_bind(l, err, errlen)) != 0)
		return r == 1 ? 0 : -1;
	ls->n++;
	return 0;
}

/*
 * Add the sockets of one listen key.  With shards > 0 each UDP address
 * gets that many SO_REUSEPORT sockets, one per worker ordinal.
 */
static int
listeners_add(struct listeners *ls, const struct listeners *old, int kind,
    int use, const struct conf_listen *cl, int shards, char *err, size_t errlen)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	struct listener	 want;
	int		 i, t, k, n;

	memset(&want, 0, sizeof(want));
	want.kind = kind;
	want.use = use;
	want.alt = -1;
	for (i = 0; i < cl->n; i++) {
		for (t = 0; t < 2; t++) {
			int proto = types[t] == SOCK_DGRAM ? CONF_PROTO_UDP
							   : CONF_PROTO_TCP;

			if ((cl->v[i].protos & proto) == 0)
				continue;
			want.type = types[t];
			want.addr = cl->v[i].addr;
			n = types[t] == SOCK_DGRAM && shards > 0 ? shards : 1;
			want.shard = -1;
			if (types[t] == SOCK_DGRAM && shards > 0 &&
			    !listeners_hold(old, &want) &&
			    listener_probe(&want, err, errlen) == -1)
				return -1;
			for (k = 0; k < n; k++) {
				want.shard =
				    types[t] == SOCK_DGRAM && shards > 0 ? k
									 : -1;
				if (listeners_add_one(ls, old, &want, err,
					errlen) == -1)
					return -1;
			}
		}
	}
	return 0;
}

/*
 * Build the listener set for conf in ls.  On failure the sockets opened
 * here are closed again, old is untouched, and err names the address.
 */
int
listeners_open(const struct server_conf *c, const struct listeners *old,
    struct listeners *ls, char *err, size_t errlen)
{
	struct conf_listen rfc5780;
	struct addr	   alt[4];
	int		   i, j;

	/* The three RFC 5780 addresses beside the primary one. */
	memset(&rfc5780, 0, sizeof(rfc5780));
	if (server_conf_rfc5780(c, alt) == 0)
		for (i = 1; i < 4; i++) {
			rfc5780.v[rfc5780.n].addr = alt[i];
			rfc5780.v[rfc5780.n++].protos =
			    CONF_PROTO_UDP | CONF_PROTO_TCP;
		}
	memset(ls, 0, sizeof(*ls));
	if ((c->tracker_workers > 0 &&
		(listeners_add(ls, old, WORKER_TRACKER, LISTEN_TRACKER,
		     &c->tracker_listen, c->tracker_workers, err,
		     errlen) == -1 ||
		    listeners_add(ls, old, WORKER_TRACKER, LISTEN_TRACKER,
			&rfc5780, c->tracker_workers, err, errlen) == -1)) ||
	    (c->rendezvous_workers > 0 &&
		(listeners_add(ls, old, WORKER_RENDEZVOUS, LISTEN_N4,
		     &c->n4_listen, 0, err, errlen) == -1 ||
		    listeners_add(ls, old, WORKER_RENDEZVOUS, LISTEN_NAMED,
			&c->named_listen, 0, err, errlen) == -1)) ||
	    (c->relay_workers > 0 &&
		(listeners_add(ls, old, WORKER_RELAY, LISTEN_RELAY,
		     &c->relay_listen, 0, err, errlen) == -1 ||
		    listeners_add(ls, old, WORKER_RELAY, LISTEN_HTTP,
			&c->relay_http_listen, 0, err, errlen) == -1 ||
		    listeners_add(ls, old, WORKER_RELAY, LISTEN_HTTPS,
			&c->relay_https_listen, 0, err, errlen) == -1))) {
		listeners_close_unused(ls, old);
		ls->n = 0;
		return -1;
	}
	for (i = 0; rfc5780.n > 0 && i < ls->n; i++)
		for (j = 0; j < 4; j++)
			if (ls->v[i].kind == WORKER_TRACKER &&
			    addr_equal(&ls->v[i].addr, &alt[j]))
				ls->v[i].alt = j;
	return 0;
}

/* Close the sockets of ls that keep does not also hold. */
void
listeners_close_unused(struct listeners *ls, const struct listeners *keep)
{
	int i, j;

	for (i = 0; i < ls->n; i++) {
		int kept = 0;

		for (j = 0; keep != NULL && j < keep->n; j++)
			if (keep->v[j].fd == ls->v[i].fd)
				kept = 1;
		if (!kept && ls->v[i].fd != -1)
			close(ls->v[i].fd);
		ls->v[i].fd = -1;
	}
}

void
listeners_close(struct listeners *ls)
{
	listeners_close_unused(ls, NULL);
	ls->n = 0;
}

/*
 * The master binds every listening socket before it forks.  Workers of one
 * kind share each socket, so what the kernel has queued on it survives the
 * death of any one worker.  On reload, sockets whose address did not change
 * are kept open, so nothing queued on them is lost either.
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

#define LISTEN_BACKLOG 1024

static int listeners_add(struct listeners *, const struct listeners *, int, int,
    const struct conf_listen *, char *, size_t);
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
	    addr_equal(&a->addr, &b->addr);
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
	if (addr_family(&l->addr) == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
		goto fail;
	/* Datagram servers learn which local address a request came to. */
	if (l->type == SOCK_DGRAM &&
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

/* Add the sockets of one listen key, reusing those open in old. */
static int
listeners_add(struct listeners *ls, const struct listeners *old, int kind,
    int use, const struct conf_listen *cl, char *err, size_t errlen)
{
	static const int types[] = {SOCK_DGRAM, SOCK_STREAM};
	int		 i, t, j;

	for (i = 0; i < cl->n; i++) {
		for (t = 0; t < 2; t++) {
			struct listener *l;
			int proto = types[t] == SOCK_DGRAM ? CONF_PROTO_UDP
							   : CONF_PROTO_TCP;

			if ((cl->v[i].protos & proto) == 0)
				continue;
			if (ls->n == LISTENERS_MAX) {
				snprintf(err, errlen,
				    "more than %d listening "
				    "sockets",
				    LISTENERS_MAX);
				return -1;
			}
			l = &ls->v[ls->n];
			l->kind = kind;
			l->use = use;
			l->type = types[t];
			l->addr = cl->v[i].addr;
			l->fd = -1;
			l->alt = -1;
			for (j = 0; old != NULL && j < old->n; j++)
				if (listener_same(&old->v[j], l))
					l->fd = old->v[j].fd;
			if (l->fd == -1) {
				int r = listener_bind(l, err, errlen);

				if (r == -1)
					return -1;
				if (r == 1)
					continue;
			}
			ls->n++;
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
		     &c->tracker_listen, err, errlen) == -1 ||
		    listeners_add(ls, old, WORKER_TRACKER, LISTEN_TRACKER,
			&rfc5780, err, errlen) == -1)) ||
	    (c->rendezvous_workers > 0 &&
		(listeners_add(ls, old, WORKER_RENDEZVOUS, LISTEN_N4,
		     &c->n4_listen, err, errlen) == -1 ||
		    listeners_add(ls, old, WORKER_RENDEZVOUS, LISTEN_NAMED,
			&c->named_listen, err, errlen) == -1)) ||
	    (c->relay_workers > 0 &&
		listeners_add(ls, old, WORKER_RELAY, LISTEN_RELAY,
		    &c->relay_listen, err, errlen) == -1)) {
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

/* Reaching the server: name lookup, sockets, one UDP question. */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "natclient.h"

/* Resolve -s HOST[:PORT], with defport when no port is given. */
int
client_resolve(const struct client_opts *o, uint16_t defport, struct addr *a)
{
	struct addrinfo hints, *res;
	char		host[ADDR_HOSTLEN];
	const char     *why;
	uint16_t	port;
	int		rv;

	if (o->server[0] == '\0')
		client_fail(o,
		    "no server: use -s HOST[:PORT] or set server "
		    "in natclient.conf");
	if (addr_split(o->server, host, sizeof(host), &port, defport, &why) ==
	    -1)
		client_fail(o, "server '%s': %s", o->server, why);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = o->family;
	hints.ai_socktype = SOCK_DGRAM;
	if ((rv = getaddrinfo(host, NULL, &hints, &res)) != 0)
		client_fail(o, "server '%s': %s", host, gai_strerror(rv));
	if (addr_from_sa(a, res->ai_addr, res->ai_addrlen) == -1) {
		freeaddrinfo(res);
		client_fail(o, "server '%s': not an IP address", host);
	}
	freeaddrinfo(res);
	if (addr_family(a) == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
	return 0;
}

/* A socket of family and type, bound to --interface when one is given. */
int
client_socket(const struct client_opts *o, int family, int type)
{
	int fd;

	if ((fd = socket(family, type | SOCK_CLOEXEC, 0)) == -1)
		client_fail(o, "socket: %s", strerror(errno));
	if (o->interface[0] != '\0' &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->interface,
		(socklen_t)strlen(o->interface)) == -1)
		client_fail(o, "interface %s: %s", o->interface,
		    strerror(errno));
	return fd;
}

/* A UDP socket of family, bound to --interface when one is given. */
int
client_udp_new(const struct client_opts *o, int family)
{
	return client_socket(o, family, SOCK_DGRAM);
}

/* A UDP socket connected to the server, so only its answers arrive. */
int
client_udp_socket(const struct client_opts *o, const struct addr *srv)
{
	int fd = client_udp_new(o, addr_family(srv));

	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) == -1)
		client_fail(o, "connect: %s", strerror(errno));
	return fd;
}

/* The monotonic clock in microseconds (round trips), and in ms. */
int64_t
client_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
client_now_ms(void)
{
	return client_now_us() / 1000;
}

/*
 * Send req and wait for one answer, resending every second (UDP may lose
 * either).  Returns the answer's length, or -1 on timeout (errno
 * ETIMEDOUT) or error.
 */
int
client_udp_ask(int fd, const void *req, size_t len, char *ans, size_t anslen,
    int timeout_s)
{
	int64_t	      deadline = client_now_ms() + (int64_t)timeout_s * 1000;
	int64_t	      now, resend = 0;
	struct pollfd pfd = {fd, POLLIN, 0};
	ssize_t	      n;

	while ((now = client_now_ms()) < deadline) {
		int wait;

		/*
		 * The socket is connected, so an ICMP port unreachable from
		 * the server comes back as ECONNREFUSED: no one listens
		 * there, and waiting longer will not change that.
		 */
		if (now >= resend) {
			if (send(fd, req, len, 0) == -1)
				return -1;
			resend = now + 1000;
		}
		wait = (int)((resend < deadline ? resend : deadline) - now);
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		n = recv(fd, ans, anslen - 1, 0);
		if (n >= 0) {
			ans[n] = '\0';
			return (int)n;
		}
		if (errno != EINTR)
			return -1;
	}
	errno = ETIMEDOUT;
	return -1;
}

/*
 * Ask over TCP (the text protocol): send req and a newline, read the
 * answer up to its empty line.  Returns its length (without the empty
 * line), or -1 on timeout or error.
 */
int
client_tcp_ask(const struct client_opts *o, const struct addr *srv,
    const char *req, char *ans, size_t anslen)
{
	int64_t	      deadline = client_now_ms() + (int64_t)o->timeout * 1000;
	struct pollfd pfd;
	size_t	      have = 0;
	ssize_t	      n;
	int	      fd, wait;

	fd = socket(addr_family(srv), SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (o->interface[0] != '\0')
		setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->interface,
		    (socklen_t)strlen(o->interface));
	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) == -1 ||
	    write(fd, req, strlen(req)) == -1 || write(fd, "\n", 1) == -1)
		goto fail;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (have + 1 < anslen) {
		ans[have] = '\0';
		/* An answer ends with an empty line; an empty answer is one. */
		if ((have >= 1 && ans[0] == '\n') ||
		    (have >= 2 && strstr(ans, "\n\n") != NULL))
			break;
		wait = (int)(deadline - client_now_ms());
		if (wait <= 0 || poll(&pfd, 1, wait) != 1) {
			errno = ETIMEDOUT;
			goto fail;
		}
		if ((n = read(fd, ans + have, anslen - 1 - have)) <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	ans[have] = '\0';
	if (ans[0] == '\n')
		ans[0] = '\0';
	else if ((req = strstr(ans, "\n\n")) != NULL)
		*(char *)req = '\0';
	return (int)strlen(ans);
fail:
	close(fd);
	return -1;
}

/* A TCP connection to the server (with --interface), or exit. */
int
client_tcp_connect(const struct client_opts *o, const struct addr *srv)
{
	char a[ADDR_STRLEN];
	int  fd = client_socket(o, addr_family(srv), SOCK_STREAM);

	if (connect(fd, (const struct sockaddr *)&srv->ss, srv->len) == -1)
		client_fail(o, "%s: %s", addr_format(srv, a, sizeof(a)),
		    strerror(errno));
	return fd;
}

/* Bind a UDP socket to any port of srv's family; local gets the port. */
void
client_bind_any(const struct client_opts *o, int fd, const struct addr *srv,
    struct addr *local)
{
	struct sockaddr_storage ss;
	socklen_t		len;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)addr_family(srv);
	len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in)
				      : sizeof(struct sockaddr_in6);
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		client_fail(o, "bind: %s", strerror(errno));
	addr_from_sa(local, (struct sockaddr *)&ss, len);
}

/*
 * Another service of the server: addr if given (--tracker, --relay), or
 * the server's host on the service's default port.
 */
void
client_service(const struct client_opts *o, const char *addr, uint16_t port,
    struct addr *a)
{
	struct client_opts t = *o;
	char		   host[ADDR_HOSTLEN];
	const char	  *why;
	uint16_t	   p;

	if (addr[0] != '\0')
		snprintf(t.server, sizeof(t.server), "%s", addr);
	else if (addr_split(o->server, host, sizeof(host), &p, 0, &why) == 0)
		snprintf(t.server, sizeof(t.server),
		    strchr(host, ':') != NULL ? "[%s]" : "%s", host);
	client_resolve(&t, port, a);
}

/* Write all of b, or -1. */
int
client_write_all(int fd, const void *b, size_t n)
{
	const char *p = b;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * The next JSON object, one per line, from fd within timeout_ms (-1: no
 * limit), buffered in buf (size bytes, *have used); NULL on timeout
 * (errno ETIMEDOUT), on a line longer than buf, or when fd closed.
 */
json_t *
client_json_read(int fd, char *buf, size_t size, size_t *have, int timeout_ms)
{
	int64_t	      deadline = client_now_ms() + timeout_ms;
	struct pollfd pfd = {fd, POLLIN, 0};
	char	     *nl;
	ssize_t	      n;

	for (;;) {
		if ((nl = memchr(buf, '\n', *have)) != NULL) {
			size_t	len = (size_t)(nl - buf) + 1;
			json_t *msg = json_loadb(buf, len - 1, 0, NULL);

			memmove(buf, buf + len, *have - len);
			*have -= len;
			if (msg != NULL && json_is_object(msg))
				return msg;
			json_decref(msg);
			continue;
		}
		if (*have == size) {
			errno = EMSGSIZE;
			return NULL;
		}
		if (timeout_ms >= 0 && client_now_ms() >= deadline) {
			errno = ETIMEDOUT;
			return NULL;
		}
		if (poll(&pfd, 1,
			timeout_ms < 0 ? -1
				       : (int)(deadline - client_now_ms())) < 1)
			continue;
		n = read(fd, buf + *have, size - *have);
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			return NULL;
		}
		*have += (size_t)n;
	}
}

/* Send one JSON object as a line (and free it); 0, or -1. */
int
client_send_json(int fd, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	int   rv = -1;

	json_decref(msg);
	if (s != NULL && client_write_all(fd, s, strlen(s)) == 0 &&
	    client_write_all(fd, "\n", 1) == 0)
		rv = 0;
	free(s);
	return rv;
}

/* A message's "type", or "". */
const char *
client_json_type(json_t *msg)
{
	const char *t = json_string_value(json_object_get(msg, "type"));

	return t != NULL ? t : "";
}

/*
 * Closed-loop UDP load: SOCKETS sockets keep DEPTH requests each in
 * flight, read answers in batches (recvmmsg) and send one new request per
 * answer (sendmmsg).  Requests lost on the way are sent again after 200 ms
 * of silence and counted.
 *	udp_load HOST PORT SECONDS stun|nat|register [SOCKETS [DEPTH [COUNT]]]
 * With COUNT > 0 it stops sending after COUNT answers and waits for the
 * rest, so the server handled exactly the "sent" requests (callgrind).
 * Sends only to HOST, which the bench scripts set to loopback.
 */
#include "config.h"

#include <sys/socket.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stun.h"

#define LOAD_SOCKETS_MAX 256
#define LOAD_BATCH	 64

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct load_sock {
	int	fd;
	int64_t last;
	char	req[128];
	size_t	reqlen;
};

static uint64_t sent, answers, bad, resent;

/* Send n copies of the socket's request. */
static void
load_send(struct load_sock *s, int n)
{
	struct mmsghdr m[LOAD_BATCH];
	struct iovec   iov;
	int	       i, r;

	iov.iov_base = s->req;
	iov.iov_len = s->reqlen;
	while (n > 0) {
		int k = n < LOAD_BATCH ? n : LOAD_BATCH;

		memset(m, 0, sizeof(m));
		for (i = 0; i < k; i++) {
			m[i].msg_hdr.msg_iov = &iov;
			m[i].msg_hdr.msg_iovlen = 1;
		}
		r = sendmmsg(s->fd, m, (unsigned)k, MSG_DONTWAIT);
		if (r <= 0)
			return;
		sent += (uint64_t)r;
		n -= r;
	}
}

/* Is this a real answer for the kind of request? */
static int
load_valid(const char *kind, const uint8_t *p, ssize_t n)
{
	if (strcmp(kind, "stun") == 0)
		return n >= 20 && p[0] == 0x01 && p[1] == 0x01;
	return n > 0 && p[0] >= '0' && p[0] <= '9';
}

int
main(int argc, char *argv[])
{
	static struct load_sock socks[LOAD_SOCKETS_MAX];
	static uint8_t		bufs[LOAD_BATCH][2048];
	struct pollfd		pfd[LOAD_SOCKETS_MAX];
	struct mmsghdr		m[LOAD_BATCH];
	struct iovec		iov[LOAD_BATCH];
	struct addrinfo		hints, *res;
	const char	       *kind;
	int64_t			start, end, t, lastcheck;
	uint64_t		count = 0;
	int			nsock = 64, depth = 8, i, j, n, done = 0;
	uint8_t			tid[12];

	if (argc < 5) {
		fprintf(stderr,
		    "usage: udp_load host port seconds "
		    "stun|nat|register [sockets [depth [count]]]\n");
		return 2;
	}
	kind = argv[4];
	if (argc > 5)
		nsock = atoi(argv[5]);
	if (argc > 6)
		depth = atoi(argv[6]);
	if (argc > 7)
		count = strtoull(argv[7], NULL, 10);
	if (nsock < 1 || nsock > LOAD_SOCKETS_MAX || depth < 1)
		return 2;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0)
		return 2;
	for (i = 0; i < nsock; i++) {
		struct load_sock *s = &socks[i];

		s->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (s->fd == -1 ||
		    connect(s->fd, res->ai_addr, res->ai_addrlen) == -1) {
			perror("socket");
			return 1;
		}
		if (strcmp(kind, "stun") == 0) {
			memset(tid, i, sizeof(tid));
			s->reqlen = stun_binding_request(tid, 0, 0,
			    (uint8_t *)s->req, sizeof(s->req));
		} else if (strcmp(kind, "nat") == 0)
			s->reqlen =
			    (size_t)snprintf(s->req, sizeof(s->req), "//nat");
		else
			s->reqlen = (size_t)snprintf(s->req, sizeof(s->req),
			    "//51pwn/P2P&E2E/bench-group-%04d/0/0", i);
		pfd[i].fd = s->fd;
		pfd[i].events = POLLIN;
	}
	start = now_ms();
	end = start + (int64_t)(atof(argv[3]) * 1000);
	lastcheck = start;
	for (i = 0; i < nsock; i++) {
		socks[i].last = start;
		load_send(&socks[i], depth);
	}
	for (;;) {
		t = now_ms();
		if (count == 0 && t >= end)
			break;
		if (count > 0 && done && t - lastcheck > 300)
			break;
		if (poll(pfd, (nfds_t)nsock, 10) <= 0)
			for (i = 0; i < nsock; i++)
				pfd[i].revents = 0;
		for (i = 0; i < nsock; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			for (j = 0; j < LOAD_BATCH; j++) {
				iov[j].iov_base = bufs[j];
				iov[j].iov_len = sizeof(bufs[j]);
				memset(&m[j].msg_hdr, 0, sizeof(m[j].msg_hdr));
				m[j].msg_hdr.msg_iov = &iov[j];
				m[j].msg_hdr.msg_iovlen = 1;
			}
			n = recvmmsg(socks[i].fd, m, LOAD_BATCH, MSG_DONTWAIT,
			    NULL);
			if (n <= 0)
				continue;
			for (j = 0; j < n; j++)
				if (!load_valid(kind, bufs[j],
					(ssize_t)m[j].msg_len))
					bad++;
			answers += (uint64_t)n;
			socks[i].last = t;
			if (count > 0 && answers >= count) {
				done = 1;
				lastcheck = t;
				continue;
			}
			load_send(&socks[i], n);
		}
		/* Lost requests: prime a silent socket again. */
		if (!done && t - lastcheck >= 50) {
			lastcheck = t;
			for (i = 0; i < nsock; i++)
				if (t - socks[i].last > 200) {
					socks[i].last = t;
					resent += (uint64_t)depth;
					load_send(&socks[i], depth);
				}
		}
	}
	t = now_ms();
	printf("kind=%s sockets=%d depth=%d seconds=%.2f sent=%llu "
	       "answers=%llu bad=%llu resent=%llu rate=%.0f\n",
	    kind, nsock, depth, (double)(t - start) / 1000.0,
	    (unsigned long long)sent, (unsigned long long)answers,
	    (unsigned long long)bad, (unsigned long long)resent,
	    (double)answers * 1000.0 / (double)(t - start));
	return 0;
}

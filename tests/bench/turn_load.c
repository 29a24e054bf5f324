/*
 * Closed-loop TURN load, so that the server is measured rather than the
 * client (turnutils_uclient paces itself): SESSIONS allocations, each
 * with a channel bound to an echo peer, keep DEPTH ChannelData messages
 * of SIZE bytes in flight for SECS seconds.  Prints "rate=N" (messages
 * back per second; each was relayed twice) and "lost=N" (of those
 * sent: a closed loop's window shrinks by one for each).
 *	turn_load HOST PORT USER PASS PEERPORT SECS SESSIONS DEPTH SIZE
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stun.h"
#include "stunmsg.h"

#define LOAD_MAX 4096

static int
load_known(uint16_t t)
{
	(void)t;
	return 1;
}

static double
load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send a request and wait for its answer (2 s): its length, or -1. */
static ssize_t
load_ask(int fd, const uint8_t *req, size_t len, uint8_t *ans)
{
	struct timeval tv = {2, 0};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, req, len, 0) != (ssize_t)len)
		return -1;
	return recv(fd, ans, LOAD_MAX, 0);
}

/* One session: an allocation with channel 0x4000 to the peer. */
static int
load_session(const struct sockaddr_in *srv, const char *user, const char *pass,
    const struct sockaddr_in *peer)
{
	uint8_t	       req[512], ans[LOAD_MAX], key[16], tid[12];
	char	       buf[512], realm[128], nonce[128];
	struct stunbuf b;
	struct stunmsg m;
	const uint8_t *v;
	const char    *why;
	size_t	       len;
	unsigned int   klen = 16;
	uint8_t	       tr[4] = {17, 0, 0, 0}, ch[4] = {0x40, 0, 0, 0};
	ssize_t	       n;
	int	       fd, step;

	if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    connect(fd, (const struct sockaddr *)srv, sizeof(*srv)) == -1)
		return -1;
	memset(tid, 1, sizeof(tid));
	stunbuf_start(&b, req, sizeof(req), 0x0003, tid);
	stunbuf_attr(&b, 0x0019, tr, 4);
	if ((n = load_ask(fd, req, stunbuf_finish(&b, 0), ans)) <= 0 ||
	    stunmsg_parse(ans, (size_t)n, load_known, &m, &why) == -1 ||
	    (v = stunmsg_attr(&m, STUN_ATTR_REALM, &len)) == NULL ||
	    len >= sizeof(realm))
		return -1;
	memcpy(realm, v, len);
	realm[len] = '\0';
	if ((v = stunmsg_attr(&m, STUN_ATTR_NONCE, &len)) == NULL ||
	    len >= sizeof(nonce))
		return -1;
	memcpy(nonce, v, len);
	nonce[len] = '\0';
	snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, pass);
	EVP_Digest(buf, strlen(buf), key, &klen, EVP_md5(), NULL);
	for (step = 0; step < 2; step++) {
		tid[0]++;
		stunbuf_start(&b, req, sizeof(req), step == 0 ? 0x0003 : 0x0009,
		    tid);
		if (step == 0)
			stunbuf_attr(&b, 0x0019, tr, 4);
		else {
			stunbuf_attr(&b, 0x000c, ch, 4);
			stunbuf_xaddr(&b, 0x0012,
			    (const struct sockaddr *)peer);
		}
		stunbuf_attr(&b, STUN_ATTR_USERNAME, user, strlen(user));
		stunbuf_attr(&b, STUN_ATTR_REALM, realm, strlen(realm));
		stunbuf_attr(&b, STUN_ATTR_NONCE, nonce, strlen(nonce));
		stunbuf_integrity(&b, key, 16, 0);
		if ((n = load_ask(fd, req, stunbuf_finish(&b, 0), ans)) <= 0 ||
		    stunmsg_parse(ans, (size_t)n, load_known, &m, &why) == -1 ||
		    m.cls != STUNMSG_CLASS_SUCCESS) {
			fprintf(stderr, "turn_load: %s refused\n",
			    step == 0 ? "Allocate" : "ChannelBind");
			return -1;
		}
	}
	return fd;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in srv, peer;
	struct epoll_event ev, evs[64];
	uint8_t		   msg[LOAD_MAX], in[LOAD_MAX];
	unsigned long long back = 0, sent = 0;
	double		   end, start;
	int		   ep, i, k, n, secs, sessions, depth, size;

	if (argc != 10) {
		fprintf(stderr,
		    "usage: turn_load HOST PORT USER PASS PEERPORT "
		    "SECS SESSIONS DEPTH SIZE\n");
		return 2;
	}
	memset(&srv, 0, sizeof(srv));
	srv.sin_family = AF_INET;
	srv.sin_port = htons((uint16_t)atoi(argv[2]));
	inet_pton(AF_INET, argv[1], &srv.sin_addr);
	peer = srv;
	peer.sin_port = htons((uint16_t)atoi(argv[5]));
	secs = atoi(argv[6]);
	sessions = atoi(argv[7]);
	depth = atoi(argv[8]);
	size = atoi(argv[9]);
	if (size < 1 || size > LOAD_MAX - 8 || (ep = epoll_create1(0)) == -1)
		return 2;
	msg[0] = 0x40, msg[1] = 0;
	msg[2] = (uint8_t)(size >> 8), msg[3] = (uint8_t)size;
	memset(msg + 4, 'x', (size_t)size);
	for (i = 0; i < sessions; i++) {
		int fd = load_session(&srv, argv[3], argv[4], &peer);

		if (fd == -1) {
			fprintf(stderr, "turn_load: session %d failed\n", i);
			return 1;
		}
		ev.events = EPOLLIN;
		ev.data.fd = fd;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		for (k = 0; k < depth; k++)
			if (send(fd, msg, 4 + (size_t)size, 0) > 0)
				sent++;
	}
	start = load_now();
	end = start + secs;
	while (load_now() < end) {
		n = epoll_wait(ep, evs, 64, 100);
		for (i = 0; i < n; i++) {
			while (recv(evs[i].data.fd, in, sizeof(in),
				   MSG_DONTWAIT) > 0) {
				back++;
				if (send(evs[i].data.fd, msg, 4 + (size_t)size,
					0) > 0)
					sent++;
			}
		}
	}
	/* Each lost message leaves one less in flight for good. */
	printf("rate=%.0f lost=%llu sent=%llu\n",
	    (double)back / (load_now() - start),
	    (unsigned long long)sessions * (unsigned long long)depth -
		(sent - back),
	    sent);
	return 0;
}

/*
 * Shared by the unit tests that join sockets in an event loop
 * (check_fdsplice, check_tlsjoin): loopback TCP pairs, reading our ends
 * while the loop runs, and senders in other processes, so that bytes
 * arrive while the loop waits; bulk both ways at once.
 */
#ifndef NATKIT_SOCKRIG_H
#define NATKIT_SOCKRIG_H

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <unistd.h>

#include "unit.h"

/* A connected pair of loopback TCP sockets: *a and *b. */
static inline void
sock_tcp_pair(int *a, int *b)
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

/* What one of our ends is to read. */
struct sock_want {
	int    fd;
	char  *buf;
	size_t n, got;
	int    eof;
};

/* Run the loop until each of nw (at most 2) has its n bytes, or EOF. */
static inline void
sock_wait(struct event_base *base, struct sock_want *w, int nw)
{
	struct pollfd pfd[2];
	ssize_t	      k;
	int	      i, spins, left;

	for (spins = 0; spins < 100000; spins++) {
		for (left = 0, i = 0; i < nw; i++)
			left += w[i].got < w[i].n && !w[i].eof;
		if (left == 0)
			break;
		event_base_loop(base, EVLOOP_NONBLOCK);
		for (i = 0; i < nw; i++)
			pfd[i] = (struct pollfd){w[i].fd, POLLIN, 0};
		if (poll(pfd, (nfds_t)nw, 1) < 1)
			continue;
		for (i = 0; i < nw; i++) {
			if (pfd[i].revents == 0 || w[i].got == w[i].n ||
			    w[i].eof)
				continue;
			k = recv(w[i].fd, w[i].buf + w[i].got,
			    w[i].n - w[i].got, MSG_DONTWAIT);
			if (k == 0)
				w[i].eof = 1;
			else if (k > 0)
				w[i].got += (size_t)k;
		}
	}
}

/* Run the loop until fd has n bytes to read (or EOF), read them. */
static inline size_t
sock_read(struct event_base *base, int fd, char *buf, size_t n)
{
	struct sock_want w = {fd, buf, n, 0, 0};

	sock_wait(base, &w, 1);
	return w.got;
}

/* A child that sends n bytes of b on fd and exits (0: all sent). */
static inline pid_t
sock_sender(int fd, const char *b, size_t n)
{
	pid_t pid = fork();

	if (pid == 0) {
		size_t	at = 0;
		ssize_t k;

		struct pollfd pfd = {fd, POLLOUT, 0};

		while (at < n) {
			k = send(fd, b + at, n - at, MSG_NOSIGNAL);
			if (k == -1 && errno == EAGAIN) /* a pump's end */
				poll(&pfd, 1, -1);
			else if (k <= 0)
				break;
			else
				at += (size_t)k;
		}
		_exit(at == n ? 0 : 1);
	}
	ck_assert_int_gt(pid, 0);
	return pid;
}

static inline void
sock_sender_ok(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* n bytes that differ from position to position, and by k. */
static inline char *
sock_pattern(size_t n, int k)
{
	char  *b = malloc(n);
	size_t i;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < n; i++)
		b[i] = (char)(i * (size_t)k + i / 4093);
	return b;
}

/*
 * n bytes each way at once between our ends x and y, sent by two other
 * processes so that they arrive while the loop runs: each byte-exact.
 */
static inline void
sock_bulk_both(struct event_base *base, int x, int y, size_t n)
{
	char		*out[2] = {sock_pattern(n, 13), sock_pattern(n, 31)};
	char		*in[2] = {malloc(n), malloc(n)};
	struct sock_want w[2] = {{y, in[0], n, 0, 0}, {x, in[1], n, 0, 0}};
	pid_t		 pid[2];
	int		 i;

	ck_assert(in[0] != NULL && in[1] != NULL);
	pid[0] = sock_sender(x, out[0], n);
	pid[1] = sock_sender(y, out[1], n);
	sock_wait(base, w, 2);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(w[i].got, n);
		ck_assert(memcmp(in[i], out[i], n) == 0);
		sock_sender_ok(pid[i]);
		free(out[i]);
		free(in[i]);
	}
}

#endif

/* See fuzz_worker.h. */
#define _GNU_SOURCE
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_worker.h"
#include "log.h"

static int fuzz_log_fd = -1;

/* A listener of the worker's kind on 127.0.0.1, a port of its own. */
static void
fuzz_listener(struct listener *l, int kind, int use, int type)
{
	struct sockaddr_in sin = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}, {0}};
	socklen_t	   len = sizeof(sin);

	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->use = use;
	l->type = type;
	l->alt = -1;
	l->shard = -1;
	l->fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd == -1 || bind(l->fd, (struct sockaddr *)&sin, len) == -1 ||
	    (type == SOCK_STREAM && listen(l->fd, 128) == -1) ||
	    getsockname(l->fd, (struct sockaddr *)&sin, &len) == -1 ||
	    addr_from_sa(&l->addr, (struct sockaddr *)&sin, len) == -1) {
		perror("fuzz: listener");
		exit(1);
	}
}

struct worker *
fuzz_worker(int kind, const int *uses, int nuses)
{
	static struct server_conf conf;
	static struct listeners	  ls;
	static struct worker	  w;
	struct table_config	  tc;
	char			  err[CONF_ERR_MAX];
	int			  i;

	if (server_conf_load(&conf, NULL, 0, err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz: %s\n", err);
		exit(1);
	}
	conf.state_records = 65536;
	/*
	 * Every connection comes from 127.0.0.1: limits per source would
	 * soon refuse them all and hide the paths behind.  (Their own
	 * behaviour is for the integration tests.)
	 */
	conf.register_burst = conf.register_per_minute = 1000000000;
	conf.connect_burst = conf.connect_per_minute = 1000000000;
	conf.named_register_burst = conf.named_register_per_minute = 1000000000;
	conf.list_burst = conf.list_per_minute = 1000000000;
	conf.relay_conn_burst = conf.relay_conn_per_minute = 1000000000;
	conf.relay_auth_burst = conf.relay_auth_per_minute = 1000000000;
	conf.tracker_per_ip = conf.rendezvous_per_ip = conf.relay_per_ip = 1000000;
	/* Exposures bind loopback ports of a small range, nothing else. */
	conf.relay_port_range.low = 47100;
	conf.relay_port_range.high = 47119;
	server_table_config(&conf, &tc);
	tc.stripes = 64; /* a small table: fewer stripes than the master's */
	log_init("fuzz", LOG_DEST_STDERR, 1);
	fuzz_log_fd = memfd_create("fuzz.log", 0);
	log_set_fd(fuzz_log_fd);
	memset(&w, 0, sizeof(w));
	w.kind = kind;
	w.conf = &conf;
	w.ls = &ls;
	for (i = 0; i < nuses; i++) {
		fuzz_listener(&ls.v[ls.n++], kind, uses[i], SOCK_STREAM);
		fuzz_listener(&ls.v[ls.n++], kind, uses[i], SOCK_DGRAM);
	}
	if ((w.state = state_create(&tc)) == NULL ||
	    (w.base = event_base_new()) == NULL) {
		fprintf(stderr, "fuzz: no state or event base\n");
		exit(1);
	}
	w.slot = &w.state->slots[0];
	w.slot->pid = getpid();
	mailbox_create(&conf);
	mailbox_keep(kind, 0);
	return &w;
}

/* The role's main, as a forked worker runs it. */
void
fuzz_start(struct worker *w)
{
	roles[w->kind].main(w);
}

/*
 * What the input made the worker log, read back and emptied: every byte
 * printable or a line's end, or abort (a peer's string reached the log
 * unsanitized).
 */
void
fuzz_log_check(void)
{
	char	buf[65536];
	ssize_t n = pread(fuzz_log_fd, buf, sizeof(buf), 0), i;

	for (i = 0; i < n; i++)
		if ((buf[i] < 0x20 && buf[i] != '\n') || buf[i] == 0x7f) {
			fprintf(stderr, "fuzz: raw byte 0x%02x in the log: %.*s\n",
			    (unsigned char)buf[i], (int)n, buf);
			abort();
		}
	if (ftruncate(fuzz_log_fd, 0) == -1 ||
	    lseek(fuzz_log_fd, 0, SEEK_SET) == -1)
		abort();
}

/*
 * A new source for each input, so that the per-source rate limits (which
 * the tests check) do not hide the paths behind them.
 */
void
fuzz_peer(struct sockaddr_storage *ss, socklen_t *len)
{
	static uint32_t	    next = 0x0a000001;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(40000);
	sin->sin_addr.s_addr = htonl(next++);
	*len = sizeof(*sin);
}

/*
 * connect(), finished where a signal (libFuzzer's timer) interrupted it:
 * the connection then completes on its own, and is waited for.
 */
int
fuzz_connect_fd(int fd, const struct sockaddr *to, socklen_t tolen)
{
	struct pollfd p = {fd, POLLOUT, 0};
	socklen_t     len = sizeof(int);
	int	      err = 0;

	if (connect(fd, to, tolen) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	while (poll(&p, 1, -1) == -1)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0)
		return -1;
	return 0;
}

/* A client socket connected to the worker's listener of use and type. */
int
fuzz_connect(struct worker *w, int use, int type)
{
	int i, fd;

	for (i = 0; i < w->ls->n; i++) {
		struct listener *l = &w->ls->v[i];

		if (l->use != use || l->type != type)
			continue;
		fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
		if (fd == -1 ||
		    fuzz_connect_fd(fd, (const struct sockaddr *)&l->addr.ss,
			l->addr.len) == -1) {
			perror("fuzz: connect");
			exit(1);
		}
		return fd;
	}
	abort();
}

/* Send all of b, through signals; 0, or -1 when the socket refused. */
int
fuzz_send_all(int fd, const void *b, size_t n)
{
	const char *p = b;
	ssize_t	    w;

	while (n > 0) {
		if ((w = send(fd, p, n, MSG_NOSIGNAL)) == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Let the worker run what is ready, rounds times. */
void
fuzz_run(struct worker *w, int rounds)
{
	while (rounds-- > 0)
		event_base_loop(w->base, EVLOOP_NONBLOCK);
}

/*
 * Run the worker until a line has come on fd: its length, or -1 when the
 * server closed fd or said nothing for 2000 rounds.
 */
int
fuzz_line(struct worker *w, int fd, char *buf, size_t size)
{
	size_t	have = 0;
	int	quiet = 0;
	ssize_t n;

	while (have + 1 < size && quiet < 2000) {
		fuzz_run(w, 1);
		n = recv(fd, buf + have, 1, MSG_DONTWAIT);
		if (n == 0)
			return -1;
		if (n < 0) {
			quiet++;
			continue;
		}
		if (buf[have++] == '\n') {
			buf[have] = '\0';
			return (int)have;
		}
	}
	return -1;
}

/*
 * The client is done: read the server's answers until it closes or goes
 * quiet, then close with a reset.  Not a FIN: the side that sends the
 * first FIN keeps a TIME_WAIT, and thousands of connections a second
 * would fill the ephemeral ports, so that other tests running beside
 * this one could not bind or connect.  The worker sees the reset and
 * frees the connection.
 */
void
fuzz_finish(struct worker *w, int fd)
{
	struct linger lg = {1, 0};
	char	      buf[65536];
	int	      quiet = 0;
	ssize_t	      n;

	while (quiet < 50) {
		fuzz_run(w, 1);
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0)
			break;
		quiet = n > 0 ? 0 : quiet + 1;
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	fuzz_run(w, 5);
	fuzz_log_check();
}

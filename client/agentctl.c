/*
 * The agent's control socket, and natclient status, which asks it.
 *
 * A unix socket: control_socket in natclient.conf, else
 * $XDG_RUNTIME_DIR/natclient.sock, else (root) /run/natclient/
 * natclient.sock, else /tmp/natclient-UID/natclient.sock; mode 0600, so
 * only the agent's own user (and root) may ask.  A question is one line,
 * "status"; the answer is one JSON object, and the connection closes.
 * At most AGENTCTL_MAX questions at once, each within AGENTCTL_TIMEOUT
 * seconds and AGENTCTL_LINE bytes; more are closed at once.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

#define AGENTCTL_MAX	 16
#define AGENTCTL_TIMEOUT 5
#define AGENTCTL_LINE	 64

/* Where the control socket is, for the agent and for status alike. */
static int
agentctl_path(const struct client_opts *o, char *path, size_t n)
{
	const char *run = getenv("XDG_RUNTIME_DIR");
	char	    dir[PATH_MAX];

	if (o->control_socket[0] != '\0') {
		snprintf(path, n, "%s", o->control_socket);
		return 0;
	}
	if (run != NULL && run[0] == '/')
		snprintf(dir, sizeof(dir), "%s", run);
	else if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/run/natclient");
	else
		snprintf(dir, sizeof(dir), "/tmp/natclient-%u",
		    (unsigned)geteuid());
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if (snprintf(path, n, "%s/natclient.sock", dir) >= (int)n)
		return -1;
	return 0;
}

static json_t *
agentctl_status(struct agent *a)
{
	json_t	       *list = json_array();
	struct service *s;

	LIST_FOREACH(s, &a->services, entry) {
		json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s}",
		    "name", s->spec.name, "kind", s->kind->name, "state",
		    s->state, "public", s->public_addr, "visitors",
		    (json_int_t)s->visitors, "visitors_total",
		    (json_int_t)s->visitors_total, "bytes_in",
		    (json_int_t)s->bytes_in, "bytes_out",
		    (json_int_t)s->bytes_out, "last_error", s->last_error);

		s->kind->status(s, j);
		json_array_append_new(list, j);
	}
	return json_pack("{s:{s:i,s:I,s:s,s:s},s:o}", "agent", "pid",
	    (int)getpid(), "uptime_s",
	    (json_int_t)((client_now_ms() - a->started) / 1000), "config",
	    a->path, "server", a->o.server, "services", list);
}

static void
agentctl_done_cb(struct bufferevent *bev, void *arg)
{
	struct agent *a = arg;

	a->nctl--;
	bufferevent_free(bev);
}

static void
agentctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	agentctl_done_cb(bev, arg);
}

static void
agentctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct agent	*a = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char		*line, *out;
	size_t		 n;
	json_t		*ans;

	if ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) > AGENTCTL_LINE)
			agentctl_done_cb(bev, a);
		return;
	}
	ans = strcmp(line, "status") == 0
	    ? agentctl_status(a)
	    : json_pack("{s:s}", "error", "unknown question: ask 'status'");
	free(line);
	out = json_dumps(ans, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(ans);
	bufferevent_disable(bev, EV_READ);
	if (out != NULL) {
		bufferevent_write(bev, out, strlen(out));
		bufferevent_write(bev, "\n", 1);
	}
	free(out);
	bufferevent_setcb(bev, NULL, agentctl_done_cb, agentctl_event_cb, a);
}

static void
agentctl_accept_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct agent	   *a = arg;
	struct bufferevent *bev;
	struct timeval	    tv = {AGENTCTL_TIMEOUT, 0};
	int		    c;

	(void)ev;
	if ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	if (a->nctl >= AGENTCTL_MAX ||
	    (bev = bufferevent_socket_new(a->base, c, BEV_OPT_CLOSE_ON_FREE)) ==
		NULL) {
		close(c);
		return;
	}
	a->nctl++;
	bufferevent_setcb(bev, agentctl_read_cb, NULL, agentctl_event_cb, a);
	bufferevent_set_timeouts(bev, &tv, &tv);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

/* The control socket: 0, or -1 (said why). */
int
agentctl_open(struct agent *a)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	mode_t		   old;

	if (agentctl_path(&a->o, a->ctl_path, sizeof(a->ctl_path)) == -1 ||
	    strlen(a->ctl_path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "natclient: no place for the control socket "
				"(control_socket in natclient.conf)\n");
		return -1;
	}
	strcpy(sun.sun_path, a->ctl_path);
	a->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A socket left by an agent that died is taken over. */
	if (connect(a->ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		fprintf(stderr,
		    "natclient: another agent answers on %s: not started\n",
		    a->ctl_path);
		return -1;
	}
	unlink(a->ctl_path);
	old = umask(077);
	if (bind(a->ctl_fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(a->ctl_path, 0600) == -1 || listen(a->ctl_fd, 16) == -1) {
		umask(old);
		fprintf(stderr, "natclient: control socket %s: %s\n",
		    a->ctl_path, strerror(errno));
		return -1;
	}
	umask(old);
	a->ctl_ev = event_new(a->base, a->ctl_fd, EV_READ | EV_PERSIST,
	    agentctl_accept_cb, a);
	event_add(a->ctl_ev, NULL);
	return 0;
}

void
agentctl_close(struct agent *a)
{
	if (a->ctl_fd == -1)
		return;
	if (a->ctl_ev != NULL)
		event_free(a->ctl_ev);
	close(a->ctl_fd);
	unlink(a->ctl_path);
	a->ctl_fd = -1;
}

static const char *
agentctl_bytes(uint64_t n, char *buf, size_t len)
{
	const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double	    v = (double)n;
	int	    i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i == 0 ? "%.0f %s" : "%.1f %s", v, unit[i]);
	return buf;
}

/* A peer link's path: direct (and how) or relay, to whom, round trip. */
static void
agentctl_path_line(json_t *s)
{
	const char *path = "", *strategy = "", *peer = "";
	json_t	   *rtt = json_object_get(s, "rtt_ms");

	json_unpack(s, "{s?s,s?s,s?s}", "path", &path, "strategy", &strategy,
	    "peer", &peer);
	if (path[0] == '\0')
		return;
	printf("  path: %s", path);
	if (strcmp(path, "direct") == 0)
		printf(" (%s)", strategy);
	printf(" to %s", peer);
	if (json_is_number(rtt))
		printf(", rtt %.1f ms", json_number_value(rtt));
	printf("\n");
}

/* natclient status: what the running agent says, as a table or JSON. */
int
cmd_status(struct client_opts *o, int argc, char **argv)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	char		   path[PATH_MAX], buf[1 << 16], in[32], out[32];
	size_t		   have = 0, i;
	json_t		  *ans, *list, *s;
	int		   fd;

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient status [--json]");
	if (agentctl_path(o, path, sizeof(path)) == -1 ||
	    strlen(path) >= sizeof(sun.sun_path))
		client_fail(o, "no control socket path");
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		client_fail(o, "no agent answers on %s (is natclient up running?)",
		    path);
	client_write_all(fd, "status\n", 7);
	ans = client_json_read(fd, buf, sizeof(buf), &have, o->timeout * 1000);
	close(fd);
	if (ans == NULL || (list = json_object_get(ans, "services")) == NULL)
		client_fail(o, "the agent on %s did not answer", path);
	if (o->json) {
		client_print_json(ans); /* it takes ans */
		return 0;
	}
	printf("%-16s %-8s %-12s %-22s %8s %8s %10s %10s\n", "NAME", "KIND",
	    "STATE", "PUBLIC", "VISITORS", "TOTAL", "IN", "OUT");
	json_array_foreach(list, i, s) {
		const char *name = "", *kind = "", *state = "", *pub = "",
			   *err = "";
		json_int_t  v = 0, t = 0, bi = 0, bo = 0;

		json_unpack(s, "{s?s,s?s,s?s,s?s,s?I,s?I,s?I,s?I,s?s}", "name",
		    &name, "kind", &kind, "state", &state, "public", &pub,
		    "visitors", &v, "visitors_total", &t, "bytes_in", &bi,
		    "bytes_out", &bo, "last_error", &err);
		printf("%-16s %-8s %-12s %-22s %8lld %8lld %10s %10s\n", name,
		    kind, state, pub[0] ? pub : "-", (long long)v, (long long)t,
		    agentctl_bytes((uint64_t)bi, in, sizeof(in)),
		    agentctl_bytes((uint64_t)bo, out, sizeof(out)));
		agentctl_path_line(s);
		if (err[0] != '\0')
			printf("  last error: %s\n", err);
	}
	json_decref(ans);
	return 0;
}

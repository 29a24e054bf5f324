/*
 * What a peer link's child (agent_child.c) says of its path, for
 * natclient status: the child writes one JSON line per event to a pipe
 * (NATCLIENT_STATUS_FD, output.c's client_status) and the agent reads
 * them here.
 *
 *   public  our public address, as the server saw it
 *   path    a path was made: direct (with the strategy) or relay, to peer
 *   nopath  no path could be made with a peer
 *   lost    the path ended (a listener waits for the next peer)
 *   stats   the path's round trip, bytes each way, TCP connections
 *
 * The child is ours, but what it says is still bounded: a line longer
 * than CLIENT_STATUS_LINE is dropped, strings are cut to their fields
 * and sanitized, and a child that writes nonsense only blanks its own
 * fields.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "agent_link.h"

static void
link_copy(char *dst, size_t size, json_t *j, const char *key)
{
	const char *v = json_string_value(json_object_get(j, key));

	if (v == NULL)
		return;
	snprintf(dst, size, "%s", v);
	client_sanitize(dst, 0);
}

static void
link_event(struct agent_link *l, const char *line)
{
	json_t	   *j = json_loads(line, 0, NULL);
	const char *ev = json_string_value(json_object_get(j, "event"));
	struct service *s = l->s;
	int	    listener = s->kind == &listen_kind;

	if (ev == NULL) {
		json_decref(j);
		return;
	}
	if (strcmp(ev, "public") == 0) {
		link_copy(s->public_addr, sizeof(s->public_addr), j, "public");
		agent_state(s, listener ? "listening" : "connecting");
	} else if (strcmp(ev, "path") == 0) {
		link_copy(l->path, sizeof(l->path), j, "path");
		link_copy(l->strategy, sizeof(l->strategy), j, "strategy");
		link_copy(l->peer, sizeof(l->peer), j, "peer");
		l->rtt_ms = -1;
		agent_state(s, "connected");
	} else if (strcmp(ev, "nopath") == 0) {
		char peer[ADDR_STRLEN] = "";

		link_copy(peer, sizeof(peer), j, "peer");
		agent_error(s, "no path to %s", peer);
	} else if (strcmp(ev, "lost") == 0) {
		agent_link_reset(l);
		agent_state(s, "listening");
	} else if (strcmp(ev, "stats") == 0) {
		json_int_t in = 0, out = 0, total = 0;
		int	   now = 0;
		double	   rtt = -1;

		json_unpack(j, "{s?F,s?I,s?I,s?i,s?I}", "rtt_ms", &rtt,
		    "bytes_in", &in, "bytes_out", &out, "streams", &now,
		    "streams_total", &total);
		l->rtt_ms = rtt;
		s->bytes_in = (uint64_t)in;
		s->bytes_out = (uint64_t)out;
		s->visitors = now > 0 ? (unsigned)now : 0;
		s->visitors_total = (unsigned)total;
	}
	json_decref(j);
}

static void
link_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent_link *l = arg;
	char		  *nl;
	ssize_t		   n;

	(void)what;
	n = read(fd, l->line + l->have, sizeof(l->line) - 1 - l->have);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		agent_link_close(l); /* the child ended */
		return;
	}
	l->have += (size_t)n;
	l->line[l->have] = '\0';
	while ((nl = memchr(l->line, '\n', l->have)) != NULL) {
		size_t len = (size_t)(nl - l->line) + 1;

		*nl = '\0';
		if (!l->skipping)
			link_event(l, l->line);
		l->skipping = 0;
		memmove(l->line, l->line + len, l->have - len);
		l->have -= len;
	}
	if (l->have == sizeof(l->line) - 1) {
		l->have = 0; /* too long: dropped to its end */
		l->skipping = 1;
	}
}

void
agent_link_reset(struct agent_link *l)
{
	l->path[0] = l->strategy[0] = l->peer[0] = '\0';
	l->rtt_ms = -1;
	l->s->visitors = 0;
}

/* The pipe for the next child: its end to give, or -1 (said why). */
int
agent_link_open(struct agent_link *l, struct service *s)
{
	int p[2];

	agent_link_close(l);
	l->s = s;
	agent_link_reset(l);
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) == -1) {
		agent_error(s, "pipe: %s", strerror(errno));
		return -1;
	}
	l->fd = p[0];
	l->have = 0;
	l->skipping = 0;
	l->ev = event_new(s->a->base, p[0], EV_READ | EV_PERSIST,
	    link_read_cb, l);
	event_add(l->ev, NULL);
	return p[1];
}

/* In the child, before exec: its end of the pipe becomes fd 3. */
void
agent_link_child(int fd)
{
	if (fd == -1)
		return;
	if (fd == AGENT_LINK_FD)
		fcntl(fd, F_SETFD, 0);
	else if (dup2(fd, AGENT_LINK_FD) == -1)
		return;
	setenv("NATCLIENT_STATUS_FD", AGENT_LINK_FD_STR, 1);
}

void
agent_link_close(struct agent_link *l)
{
	if (l->ev != NULL)
		event_free(l->ev);
	if (l->fd >= 0)
		close(l->fd);
	l->ev = NULL;
	l->fd = -1;
}

/* Its fields of natclient status. */
void
agent_link_status(struct agent_link *l, json_t *j)
{
	json_object_set_new(j, "path", json_string(l->path));
	json_object_set_new(j, "strategy", json_string(l->strategy));
	json_object_set_new(j, "peer", json_string(l->peer));
	json_object_set_new(j, "rtt_ms",
	    l->rtt_ms >= 0 ? json_real(l->rtt_ms) : json_null());
}

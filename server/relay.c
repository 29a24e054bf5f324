/*
 * The relay worker: control and data connections on 8888 (DESIGN 3.3).
 * A connection's first line says which it is: {"type":"hello",…} opens
 * a control connection, {"type":"data","id":…} is a client's half of a
 * visitor's stream (with "ack":true the client waits for our joined
 * line, or the refusal, before it joins its local service).  The first
 * line is read exactly (peeked up to its newline), so not one byte of
 * the stream behind it is taken.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <event2/event.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "jsonline.h"
#include "log.h"
#include "ratelimit.h"
#include "relay.h"

struct relay_new {
	struct worker *w;
	int	       fd;
	struct addr    peer;
	struct event  *ev, *timer;
	int	       awaited; /* a data connection a visitor waited for */
};

/* Streams joined now, spliced or muxed. */
static int
relay_streams(void)
{
	return splice_count() + relay_mux_count();
}

/*
 * Freed when its first line is read (it moves on) or it fails.  It is
 * spent from its address's bucket (relay.conn_burst) then, unless a
 * visitor waited for it: an exposing client opens one per visitor, and
 * a busy service is not an abuser.  The bucket is looked at on accept.
 */
static void
relay_new_free(struct relay_new *n, int close_fd)
{
	struct ratelimit_rule rule = {(uint32_t)n->w->conf->relay_conn_burst,
	    (uint32_t)n->w->conf->relay_conn_per_minute};

	if (!n->awaited)
		ratelimit_take(n->w->state->table, RL_RELAY_CONN,
		    (const struct sockaddr *)&n->peer.ss, &rule,
		    table_now_ms());
	if (close_fd)
		close(n->fd);
	event_free(n->ev);
	event_free(n->timer);
	gate_leave(LISTEN_RELAY, (struct sockaddr *)&n->peer.ss);
	free(n);
}

static void
relay_refuse(struct relay_new *n, const char *code, const char *message)
{
	char  a[ADDR_STRLEN];
	char *line = jsonline_error_line(code, message);

	if (line != NULL)
		send(n->fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
	free(line);
	proc_count(n->w, STAT_ERRORS);
	if (worker_log_ok(n->w, (const struct sockaddr *)&n->peer.ss))
		log_info("%s from %s", message,
		    addr_format(&n->peer, a, sizeof(a)));
	worker_linger(n->w, n->fd);
	relay_new_free(n, 0);
}

/* Whether the peer has shut its sending side (peeking cannot see it). */
static int
relay_peer_done(int fd)
{
	struct pollfd p = {fd, POLLRDHUP, 0};

	return poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP));
}

static void
relay_first_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct relay_new *n = arg;
	char		  line[RELAY_LINE_MAX];
	const char	 *type = NULL, *id = NULL, *error = NULL;
	json_t		 *msg;
	char		 *nl;
	ssize_t		  got;
	size_t		  len;
	int		  ack = 0;

	(void)ev;
	got = recv(fd, line, sizeof(line) - 1, MSG_PEEK);
	if (got == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (got <= 0) {
		relay_new_free(n, 1);
		return;
	}
	line[got] = '\0';
	if ((nl = memchr(line, '\n', (size_t)got)) == NULL) {
		if (got == (ssize_t)sizeof(line) - 1)
			relay_refuse(n, "too_long",
			    "a first line over 4096 bytes");
		else if (relay_peer_done(fd))
			relay_new_free(n, 1); /* the rest can never come */
		return; /* the rest of the line is on its way */
	}
	len = (size_t)(nl - line) + 1;
	if (recv(fd, line, len, 0) != (ssize_t)len) {
		relay_new_free(n, 1);
		return;
	}
	line[len - 1] = '\0';
	proc_count(n->w, STAT_REQUESTS);
	msg = json_loads(line, 0, NULL);
	if (json_unpack(msg, "{s:s}", "type", &type) == -1)
		relay_refuse(n, "bad_message", "not a JSON object with a type");
	else if (strcmp(type, "hello") == 0) {
		relay_ctl_start(n->w, n->fd, line, len - 1, &n->peer);
		relay_new_free(n, 0);
	} else if (strcmp(type, "data") == 0 &&
	    json_unpack(msg, "{s:s,s?s,s?b}", "id", &id, "error", &error,
		"ack", &ack) == 0) {
		n->awaited = relay_data_start(n->w, n->fd, id, error, ack);
		relay_new_free(n, 0);
	} else
		relay_refuse(n, "bad_message", "hello or data first");
	json_decref(msg);
}

static void
relay_first_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	proc_count(((struct relay_new *)arg)->w, STAT_TIMEOUTS);
	relay_new_free(arg, 1);
}

static void
relay_accept(struct worker *w, struct listener *l, int fd,
    const struct addr *peer)
{
	struct timeval	      tv = {w->conf->relay_handshake_timeout, 0};
	struct ratelimit_rule rule = {(uint32_t)w->conf->relay_conn_burst,
	    (uint32_t)w->conf->relay_conn_per_minute};
	struct relay_new     *n;
	const char	     *code = NULL, *text = NULL;
	char		     *line;

	if (l->use != LISTEN_RELAY) {
		relay_vhost_accept(w, l, fd, peer);
		return;
	}
	/* The gate counted this one among the first lines; streams and
	 * pooled data connections too. */
	if (gate_count(LISTEN_RELAY) + relay_streams() + relay_pooled_count() >
	    w->conf->relay_max_connections) {
		code = "server_full";
		text = "the server is full";
	} else if (ratelimit_peek(w->state->table, RL_RELAY_CONN,
		       (const struct sockaddr *)&peer->ss, &rule,
		       table_now_ms()) == 0) {
		code = "rate_limited";
		text = "too many new connections from your address";
	}
	if (code != NULL || (n = calloc(1, sizeof(*n))) == NULL) {
		gate_leave(LISTEN_RELAY, (const struct sockaddr *)&peer->ss);
		proc_count(w, STAT_TCP_REFUSED);
		if (code != NULL && (line = jsonline_error_line(code, text)) !=
			NULL) {
			send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);
			free(line);
			worker_linger(w, fd);
		} else
			close(fd);
		return;
	}
	n->w = w;
	n->fd = fd;
	n->peer = *peer;
	n->ev = event_new(w->base, fd, EV_READ | EV_PERSIST | EV_ET,
	    relay_first_cb, n);
	n->timer = evtimer_new(w->base, relay_first_timeout_cb, n);
	if (n->ev == NULL || n->timer == NULL) {
		/* Refused, not fatal: the worker serves everyone else. */
		if (n->ev != NULL)
			event_free(n->ev);
		gate_leave(LISTEN_RELAY, (const struct sockaddr *)&peer->ss);
		free(n);
		close(fd);
		proc_count(w, STAT_NOMEM);
		return;
	}
	event_add(n->ev, NULL);
	evtimer_add(n->timer, &tv);
}

/* SIGTERM: the clients move to other workers; streams finish here. */
void
relay_drain(struct worker *w)
{
	(void)w;
	relay_ctl_drain();
	log_info("draining %d streams", relay_streams());
}

/* What still holds this worker: streams, visitors, first lines. */
int
relay_busy(struct worker *w)
{
	(void)w;
	return relay_streams() + relay_visitors_waiting() +
	    relay_vhost_waiting() + gate_count(LISTEN_RELAY) +
	    tls_front_count();
}

void
relay_main(struct worker *w)
{
	wconn_init(w, w->conf->relay_max_connections);
	gate_set(LISTEN_RELAY, w->conf->relay_max_connections,
	    w->conf->relay_per_ip, GATE_SAY_JSON);
	gate_set(LISTEN_HTTP, w->conf->relay_max_connections,
	    w->conf->relay_per_ip, GATE_SAY_HTTP);
	gate_set(LISTEN_HTTPS, w->conf->relay_max_connections,
	    w->conf->relay_per_ip, GATE_SAY_NOTHING);
	wmail_start(w);
	worker_listen(w, worker_drop_dgram, relay_accept);
}

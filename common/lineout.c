/*
 * One JSON line out on a bufferevent (the relay's and the rendezvous's
 * control lines, natclient's to the relay).  When nothing waits in the
 * output buffer the line goes straight to the socket: one system call,
 * where the bufferevent takes three (watch the socket for room, write,
 * stop watching), and a busy relay sends a line or two per visitor.
 * What the socket does not take, or anything behind queued output,
 * goes through the buffer as before, in order; an error is left for
 * the bufferevent to find on its next write or read.
 */
#include "config.h"

#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdlib.h>
#include <string.h>

#include "lineout.h"

/* n bytes of s out on bev, now where they can be. */
void
line_write(struct bufferevent *bev, const char *s, size_t n)
{
	evutil_socket_t fd = bufferevent_getfd(bev);
	ssize_t		sent = 0;

	if (fd != -1 && evbuffer_get_length(bufferevent_get_output(bev)) == 0 &&
	    (sent = send(fd, s, n, MSG_DONTWAIT | MSG_NOSIGNAL)) < 0)
		sent = 0;
	if ((size_t)sent < n)
		bufferevent_write(bev, s + sent, n - (size_t)sent);
}

/* msg (taken) as one compact line. */
void
line_send_json(struct bufferevent *bev, json_t *msg)
{
	char  *s = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL;
	char  *line;
	size_t n;

	json_decref(msg);
	if (s == NULL)
		return;
	n = strlen(s);
	if ((line = realloc(s, n + 2)) == NULL) {
		free(s);
		return;
	}
	line[n] = '\n';
	line_write(bev, line, n + 1);
	free(line);
}

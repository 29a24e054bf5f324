/*
 * JSON objects, one per line, over a bufferevent: what the named
 * sessions and the relay's control connections both speak, as one
 * connection object.  A protocol gives its bounds and a table of
 * operations (jsonline_kind); this reads each line, refuses what is too
 * long, not JSON or not an object with a type, dispatches by type (with
 * the table's login rule), answers unknown types, and closes after a
 * final error only once the error has been sent.
 *
 * A connection may end inside one of its own operations (an error that
 * closes it, a meeting that takes its socket): jsonline_end then frees
 * it only once the operation has returned.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jsonline.h"
#include "lineout.h"

static void jsonline_read_cb(struct bufferevent *, void *);
static void jsonline_write_cb(struct bufferevent *, void *);
static void jsonline_event_cb(struct bufferevent *, short, void *);

/* Take fd (closed on failure too): 0, or -1 when out of memory. */
int
jsonline_open(struct jsonline *jl, const struct jsonline_kind *kind,
    struct worker *w, int fd, void *conn)
{
	memset(jl, 0, sizeof(*jl));
	jl->kind = kind;
	jl->w = w;
	jl->conn = conn;
	if ((jl->bev = bufferevent_socket_new(w->base, fd,
		 BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return -1;
	}
	bufferevent_setcb(jl->bev, jsonline_read_cb, jsonline_write_cb,
	    jsonline_event_cb, jl);
	bufferevent_enable(jl->bev, EV_READ | EV_WRITE);
	return 0;
}

/* Queue one message (and free it). */
void
jsonline_send(struct jsonline *jl, json_t *msg)
{
	line_send_json(jl->bev, msg);
}

/* {"type":"error","code":…,"message":…}, counted. */
void
jsonline_error(struct jsonline *jl, const char *code, const char *message)
{
	proc_count(jl->w, STAT_ERRORS);
	jsonline_send(jl,
	    json_pack("{s:s,s:s,s:s}", "type", "error", "code", code, "message",
		message));
}

/* An error of ours, through the protocol's own error where it has one. */
static void
jsonline_say(struct jsonline *jl, const char *code, const char *message)
{
	if (jl->kind->error != NULL)
		jl->kind->error(jl->conn, code, message);
	else
		jsonline_error(jl, code, message);
}

/* The connection is over: free it now, or after our callback returns. */
void
jsonline_end(struct jsonline *jl)
{
	if (jl->busy)
		jl->ended = 1;
	else
		jl->kind->free(jl->conn);
}

/* Read no more; end once what is queued has been sent. */
void
jsonline_finish(struct jsonline *jl)
{
	jl->closing = 1;
	bufferevent_disable(jl->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(jl->bev)) == 0)
		jsonline_end(jl);
}

/* Say why, then close once it has been sent. */
void
jsonline_close_with(struct jsonline *jl, const char *code,
    const char *message)
{
	jsonline_error(jl, code, message);
	jsonline_finish(jl);
}

/*
 * For the protocol's free: the bufferevent and its socket; after a
 * final error through worker_linger, so that the error arrives (closing
 * with unread input would send a reset instead).
 */
void
jsonline_free(struct jsonline *jl)
{
	int fd;

	if (jl->bev == NULL)
		return;
	if (!jl->closing) {
		bufferevent_free(jl->bev);
	} else {
		fd = bufferevent_getfd(jl->bev);
		bufferevent_setfd(jl->bev, -1);
		bufferevent_free(jl->bev);
		worker_linger(jl->w, fd);
	}
	jl->bev = NULL;
}

/*
 * The next line (for the caller to free), without its newline: 1, with
 * *line set; 0 when there is none yet, or when more than max_out bytes
 * wait to be sent (read again from the write callback); -1 when a line
 * is max_line bytes or longer.  Empty lines are skipped.
 */
static int
jsonline_next(struct jsonline *jl, char **line, size_t *len)
{
	struct evbuffer *in = bufferevent_get_input(jl->bev);

	for (;;) {
		if (evbuffer_get_length(bufferevent_get_output(jl->bev)) >
		    jl->kind->max_out)
			return 0;
		*line = evbuffer_readln(in, len, EVBUFFER_EOL_LF);
		if (*line == NULL)
			return evbuffer_get_length(in) >= jl->kind->max_line
			    ? -1
			    : 0;
		if (*len >= jl->kind->max_line) {
			free(*line);
			return -1;
		}
		if (*len > 0)
			return 1;
		free(*line);
	}
}

/* One message, by the table. */
static void
jsonline_dispatch(struct jsonline *jl, const char *line, size_t len)
{
	const struct jsonline_kind *k = jl->kind;
	json_t			   *msg;
	json_error_t		    err;
	const char		   *type = NULL;
	size_t			    i;
	int			    in;

	proc_count(jl->w, STAT_REQUESTS);
	if ((msg = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err)) ==
	    NULL)
		return jsonline_say(jl, "bad_json", err.text);
	if (!json_is_object(msg) ||
	    json_unpack(msg, "{s:s}", "type", &type) == -1) {
		jsonline_say(jl, "bad_message",
		    "a message is an object with a type");
		json_decref(msg);
		return;
	}
	in = k->logged_in == NULL || k->logged_in(jl->conn);
	for (i = 0; i < k->nops; i++)
		if (strcmp(type, k->ops[i].type) == 0 &&
		    !(k->ops[i].when == JSONLINE_BEFORE_LOGIN && in))
			break;
	if (i == k->nops)
		jsonline_say(jl, "unknown_type", type);
	else if (k->ops[i].when == JSONLINE_AFTER_LOGIN && !in) {
		jsonline_say(jl, "not_authenticated", "log in first");
		jsonline_finish(jl);
	} else
		k->ops[i].run(jl->conn, msg);
	json_decref(msg);
}

static void
jsonline_read_cb(struct bufferevent *bev, void *arg)
{
	struct jsonline *jl = arg;
	char		*line;
	size_t		 len;
	int		 got;

	(void)bev;
	jl->busy = 1;
	while (!jl->closing && !jl->ended &&
	    (got = jsonline_next(jl, &line, &len)) != 0) {
		if (got == -1) {
			char why[64];

			snprintf(why, sizeof(why), "a message is at most %zu bytes",
			    jl->kind->max_line);
			jsonline_say(jl, "too_long", why);
			jsonline_finish(jl);
			break;
		}
		jsonline_dispatch(jl, line, len);
		free(line);
	}
	jl->busy = 0;
	if (jl->ended)
		jl->kind->free(jl->conn);
}

/* Output drained: end a closing connection, or read what waited. */
static void
jsonline_write_cb(struct bufferevent *bev, void *arg)
{
	struct jsonline *jl = arg;

	if (jl->closing)
		jsonline_end(jl);
	else if (evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		jsonline_read_cb(bev, jl);
}

static void
jsonline_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct jsonline *jl = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		proc_count(jl->w, STAT_TIMEOUTS);
	jsonline_end(jl);
}

/*
 * An error as one line, for a socket with no connection object yet (the
 * relay's first line): built by jansson so that any message is escaped;
 * the caller frees it (NULL: no memory).
 */
char *
jsonline_error_line(const char *code, const char *message)
{
	json_t *msg = json_pack("{s:s,s:s,s:s}", "type", "error", "code", code,
	    "message", message);
	char   *s = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL, *line;

	json_decref(msg);
	if (s == NULL || (line = malloc(strlen(s) + 2)) == NULL) {
		free(s);
		return NULL;
	}
	strcpy(line, s);
	strcat(line, "\n");
	free(s);
	return line;
}

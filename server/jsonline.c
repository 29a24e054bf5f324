/*
 * JSON objects, one per line, over a bufferevent: what the named
 * sessions and the relay's control connections both speak.
 */
#include "config.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "natserver.h"

/* Queue one message (and free it). */
void
jsonline_send(struct bufferevent *bev, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);

	json_decref(msg);
	if (s == NULL)
		return;
	bufferevent_write(bev, s, strlen(s));
	bufferevent_write(bev, "\n", 1);
	free(s);
}

/*
 * An error as one line, for a socket with no bufferevent yet (the relay's
 * first line): {"type":"error","code":…,"message":…}\n, built by jansson
 * so that any message is escaped; the caller frees it (NULL: no memory).
 */
char *
jsonline_error(const char *code, const char *message)
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

/*
 * The next line (for the caller to free), without its newline: 1, with
 * *line set; 0 when there is none yet, or when more than max_out bytes
 * wait to be sent (read again from the write callback); -1 when a line
 * is max_line bytes or longer.  Empty lines are skipped.
 */
int
jsonline_next(struct bufferevent *bev, size_t max_line, size_t max_out,
    char **line, size_t *len)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) > max_out)
			return 0;
		*line = evbuffer_readln(in, len, EVBUFFER_EOL_LF);
		if (*line == NULL)
			return evbuffer_get_length(in) >= max_line ? -1 : 0;
		if (*len >= max_line) {
			free(*line);
			return -1;
		}
		if (*len > 0)
			return 1;
		free(*line);
	}
}

/*
 * Free a bufferevent and close its socket; after an error message that
 * closes the connection (linger), through worker_linger, so that the
 * message arrives.
 */
void
jsonline_close(struct worker *w, struct bufferevent *bev, int linger)
{
	int fd = bufferevent_getfd(bev);

	if (!linger) {
		bufferevent_free(bev);
		return;
	}
	bufferevent_setfd(bev, -1);
	bufferevent_free(bev);
	worker_linger(w, fd);
}

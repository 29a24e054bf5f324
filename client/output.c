/*
 * Printing results: plain lines for people, or with --json one object
 * (jansson) for scripts.  Failures print a message and exit 1.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "natclient.h"

/*
 * Print a result given as NULL-terminated key, value string pairs: for
 * people the value of plain_key alone, with --json every pair in one object.
 */
void
client_print(const struct client_opts *o, const char *plain_key, ...)
{
	json_t	   *obj = json_object();
	const char *k, *v, *plain = NULL;
	va_list	    ap;

	va_start(ap, plain_key);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		json_object_set_new(obj, k, json_string(v));
		if (strcmp(k, plain_key) == 0)
			plain = v;
	}
	va_end(ap);
	if (o->json) {
		client_print_json(obj);
		return;
	}
	if (plain != NULL)
		puts(plain);
	json_decref(obj);
	fflush(stdout);
}

/* Make a server's text safe for a terminal: no control bytes (lines
 * keep their newlines when asked). */
void
client_sanitize(char *s, int lines)
{
	for (; *s != '\0'; s++)
		if (!isprint((unsigned char)*s) && !(lines && *s == '\n'))
			*s = '?';
}

/* Report a failure and exit 1; with --json as {"error": ...}. */
void
client_fail(const struct client_opts *o, const char *fmt, ...)
{
	char	msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (o != NULL && o->json)
		client_print_json(json_pack("{s:s}", "error", msg));
	fprintf(stderr, "natclient: %s\n", msg);
	exit(1);
}

/* Print a JSON object on one line and free it. */
void
client_print_json(json_t *obj)
{
	char *s = obj != NULL
	    ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)
	    : NULL;

	if (s != NULL)
		puts(s);
	free(s);
	json_decref(obj);
	fflush(stdout);
}

/*
 * Tell the agent that runs us (agent_child.c) what became of our path:
 * one JSON line, taken, to the fd in NATCLIENT_STATUS_FD; without it,
 * nothing.  The pipe is non-blocking: a line the agent has no room for
 * is dropped, never waited for, so that the data path does not stall.
 */
void
client_status(json_t *ev)
{
	static int fd = -2;
	char	  *s;

	if (fd == -2) {
		const char *v = getenv("NATCLIENT_STATUS_FD");

		fd = v != NULL && *v >= '3' && *v <= '9' && v[1] == '\0'
		    ? *v - '0'
		    : -1;
	}
	if (fd == -1 || ev == NULL ||
	    (s = json_dumps(ev, JSON_COMPACT)) == NULL) {
		json_decref(ev);
		return;
	}
	json_decref(ev);
	if (strlen(s) < CLIENT_STATUS_LINE) {
		size_t n = strlen(s);

		s[n] = '\n'; /* json_dumps leaves room: its NUL */
		if (write(fd, s, n + 1) == -1 && errno != EAGAIN)
			fd = -1; /* the agent went */
	}
	free(s);
}

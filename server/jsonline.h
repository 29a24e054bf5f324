/*
 * A connection that speaks JSON objects, one per line, over a
 * bufferevent: what named sessions and the relay's control connections
 * share; see jsonline.c.
 */
#ifndef NATSERVER_JSONLINE_H
#define NATSERVER_JSONLINE_H

#include <jansson.h>
#include <stddef.h>

#include "natserver.h"

/* When a message type may come: always, or before or after a login. */
enum jsonline_when {
	JSONLINE_ANY,
	JSONLINE_BEFORE_LOGIN,
	JSONLINE_AFTER_LOGIN,
};

/* One row of a protocol's table of operations. */
struct jsonline_op {
	const char *type;
	void (*run)(void *conn, json_t *msg);
	enum jsonline_when when;
};

/*
 * The row's run for a handler that takes its own connection type:
 * JSONLINE_OP(fn) defines fn_op.
 */
#define JSONLINE_OP(fn)                                                 \
	static void fn##_op(void *c, json_t *msg)                       \
	{                                                               \
		fn(c, msg);                                             \
	}

/* A protocol: its bounds, its operations, and its connection's end. */
struct jsonline_kind {
	size_t			  max_line, max_out;
	const struct jsonline_op *ops;
	size_t			  nops;
	int (*logged_in)(void *conn); /* NULL: no login */
	void (*free)(void *conn);     /* frees conn, calls jsonline_free */
	/* Errors of the connection object's own, or NULL: jsonline_error. */
	void (*error)(void *conn, const char *code, const char *message);
};

struct jsonline {
	const struct jsonline_kind *kind;
	struct worker		   *w;
	struct bufferevent	   *bev;
	void			   *conn;
	int			    closing; /* say the last, then close */
	int			    busy;    /* in a callback of ours */
	int			    ended;   /* conn to be freed after it */
};

int  jsonline_open(struct jsonline *, const struct jsonline_kind *,
     struct worker *, int, void *);
void jsonline_send(struct jsonline *, json_t *);
void jsonline_error(struct jsonline *, const char *, const char *);
void jsonline_close_with(struct jsonline *, const char *, const char *);
void jsonline_finish(struct jsonline *);
void jsonline_end(struct jsonline *);
void jsonline_free(struct jsonline *);
char *jsonline_error_line(const char *, const char *);

#endif

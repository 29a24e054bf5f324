/* Connections to the server made in the agent's event loop; dial.c. */
#ifndef NATCLIENT_DIAL_H
#define NATCLIENT_DIAL_H

#include <event2/bufferevent.h>

#include "natclient.h"

struct dial;

/*
 * The connection (NULL when it failed, why saying why), once; final
 * when trying again cannot help (a server certificate we do not trust).
 */
typedef void dial_fn(struct bufferevent *, const char *, int, void *);

struct dial *dial_start(struct event_base *, const struct client_opts *,
    const struct addr *, int, dial_fn *, void *);
void	     dial_cancel(struct dial *);

#endif

/* What a peer link's child says of its path; see agent_link.c. */
#ifndef NATCLIENT_AGENT_LINK_H
#define NATCLIENT_AGENT_LINK_H

#include <event2/event.h>
#include <jansson.h>

#include "natclient.h"

#define AGENT_LINK_FD	  3
#define AGENT_LINK_FD_STR "3"

struct service;

struct agent_link {
	struct service *s;
	int		fd; /* our end of the child's pipe, or -1 */
	struct event   *ev;
	char		line[CLIENT_STATUS_LINE + 1];
	size_t		have;
	int		skipping; /* a line too long, to its end */
	char		path[8]; /* direct, relay, none, or "" */
	char		strategy[24];
	char		peer[ADDR_STRLEN];
	double		rtt_ms; /* -1: not known */
};

int  agent_link_open(struct agent_link *, struct service *);
void agent_link_child(int);
void agent_link_reset(struct agent_link *);
void agent_link_close(struct agent_link *);
void agent_link_status(struct agent_link *, json_t *);

#endif

/* A named session with the rendezvous server; see session.c. */
#ifndef NATCLIENT_SESSION_H
#define NATCLIENT_SESSION_H

#include <jansson.h>

#include "named.h"
#include "natclient.h"
#include "portmap.h"

struct session {
	int		  tcp;	     /* JSON lines to the server */
	int		  udp;	     /* the socket that punches */
	struct addr	  server;    /* rendezvous, named port */
	struct addr	  local;     /* udp's local address (port) */
	struct addr	  observed;  /* udp's public mapping */
	struct addr	  tcp_local; /* --tcp: the control connection's port */
	struct nat_result nat;
	int class, delta;
	int    keepalive_ms; /* a third of the server's ttl */
	struct portmap *pm;  /* the gateway's mapping of udp, or NULL */
	char   token[2 * NAMED_TOKEN_LEN + 1];
	char   buf[NAMED_LINE_MAX];
	size_t have;
};

struct client_key;

void session_open(const struct client_opts *, struct session *, const char *,
    const struct client_key *);
int  session_send(struct session *, json_t *);
json_t *session_read(struct session *, int);
void	session_keepalive(struct session *);
int	session_wait_ms(const struct session *);
void	session_fail(const struct client_opts *, json_t *, const char *)
    __attribute__((noreturn));
void session_note(const struct client_opts *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

#endif

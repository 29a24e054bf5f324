/*
 * A path to the peer natclient, whatever carries it: punched UDP
 * datagrams, an ENet stream over punched UDP, or a TCP connection
 * (punched with --tcp, or joined by the relay).  Each carrier moves
 * messages of up to PATH_MSG_MAX bytes; secure.c seals them, bridge.c
 * runs stdin/stdout or datagrams over them.  See path.c.
 */
#ifndef NATCLIENT_PATH_H
#define NATCLIENT_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "natclient.h"

#define PATH_MSG_MAX 65535
#define PATH_TCP_QUEUE (256 * 1024) /* bytes a TCP carrier holds to send */

struct path;

struct path_ops {
	const char *name;
	int reliable; /* ordered and never lost: streams */
	/* One message: 0, or -1 when the carrier failed. */
	int (*send)(struct path *, const uint8_t *, size_t);
	/* A message: its length; 0 when none is whole yet; -1 at the end. */
	int (*recv)(struct path *, uint8_t *, size_t);
	/* 1 when a message sent now would not pile up (backpressure). */
	int (*room)(struct path *);
	/* poll(2) events to wait for besides POLLIN, and what to do then. */
	short (*events)(struct path *);
	int (*flush)(struct path *);
	/* Let go: after the last message when clean, at once otherwise. */
	void (*close)(struct path *, int);
};

struct path {
	const struct path_ops *ops;
	int		       fd;
	struct addr	       peer;
	void		      *enet_host, *enet_peer; /* the ENet carrier */
	uint8_t		      *in, *out; /* the TCP carrier's buffers */
	size_t		       in_have, out_have;
	uint64_t	       junk; /* datagrams not from the peer */
};

int  path_udp(struct path *, int, const struct addr *);
int  path_tcp(struct path *, int);
int  path_enet(const struct client_opts *, struct path *, int,
     const struct addr *, int);
int  path_wait(struct path *, int);

#endif

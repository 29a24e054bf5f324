/* Datagrams to and from the local application; see datagram.c. */
#ifndef NATCLIENT_DATAGRAM_H
#define NATCLIENT_DATAGRAM_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "natclient.h"

#define DG_MAX 65535 /* what a 2-byte frame length holds */

/*
 * The local side: --forward sends to a service, --local answers whoever
 * sent to us last.
 */
struct dg_local {
	int			fd;
	int			has_service;
	struct addr		service;
	struct sockaddr_storage app;
	socklen_t		app_len;
};

void	dg_local_open(const struct client_opts *, struct dg_local *);
ssize_t dg_local_recv(struct dg_local *, void *, size_t);
void	dg_local_send(struct dg_local *, const void *, size_t);
int	dg_stream(int, struct dg_local *, int);

#endif

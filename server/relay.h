/*
 * The relay worker's parts: the first line of a connection to 8888
 * (relay.c), control connections and exposed ports (relay_ctl.c), and
 * joined sockets (relay_splice.c).
 */
#ifndef NATSERVER_RELAY_H
#define NATSERVER_RELAY_H

#include <event2/util.h>
#include <stdint.h>

#include "named.h"

#include "addr.h"
#include "conns.h"
#include "natserver.h"

#define RELAY_LINE_MAX	4096
#define RELAY_ID_LEN	16 /* bytes of a data connection id */
#define RELAY_NONCE_LEN 32 /* bytes of a login challenge */

/* The record of a visitor waiting for its data connection. */
struct relay_wait {
	uint64_t visitor; /* connection id in the holding worker */
	uint16_t ordinal; /* the holding worker */
};

struct relay_ctl;

struct relay_port {
	struct relay_ctl   *ctl; /* NULL once the control connection is gone */
	int		    port, fd, nconns, closed, udp;
	struct relay_usess *usess; /* udp: its visitors' sessions */
	char		    name[NAMED_NAME_MAX + 1];
	struct event	   *ev;
};

struct relay_ctl {
	struct wconn	    base; /* a meeting partner's socket comes by mail */
	struct worker	   *w;
	struct bufferevent *bev;
	struct addr	    peer, local;
	uint8_t		    nonce[RELAY_NONCE_LEN];
	char		    client_id[NAMED_NAME_MAX * 2 + 1];
	int		    authed, closing, nports;
	struct relay_port  *ports[1000];
};

/* relay_ctl.c */
void relay_ctl_start(struct worker *, int, const char *, size_t,
    const struct addr *);
void relay_data_start(struct worker *, int, const char *);
void relay_port_release(struct relay_port *);
int  relay_announce(struct relay_port *, uint64_t, const struct sockaddr *,
     const char *);

/* relay_udp.c */
void relay_udp_read(evutil_socket_t, short, void *);
void relay_udp_close(struct relay_port *);

/* relay_splice.c */
int splice_join(struct worker *, int, int, void (*)(void *), void *);
int splice_count(void);

#endif

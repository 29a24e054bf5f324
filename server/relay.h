/*
 * The relay worker's parts: the first line of a connection to 8888
 * (relay.c), control connections and exposed ports (relay_ctl.c), and
 * joined sockets (relay_splice.c).
 */
#ifndef NATSERVER_RELAY_H
#define NATSERVER_RELAY_H

#include <sys/queue.h>
#include <event2/util.h>
#include <stddef.h>
#include <stdint.h>

#include "named.h"

#include "addr.h"
#include "conns.h"
#include "jsonline.h"
#include "natserver.h"

#define RELAY_LINE_MAX	 4096
#define RELAY_ID_LEN	 16  /* bytes of a data connection id */
#define RELAY_NONCE_LEN	 32  /* bytes of a login challenge */
#define RELAY_REASON_MAX 200 /* bytes of a client's reason, kept */

/* The record of a visitor waiting for its data connection. */
struct relay_wait {
	uint64_t visitor; /* connection id in the holding worker */
	uint16_t ordinal; /* the holding worker */
};

struct relay_ctl;
struct relay_port;

/*
 * A kind of exposure (the expose message's proto): its row in
 * relay_kinds (relay_port.c).  A new kind (http, https) is a row: the
 * socket it listens on, what a visitor there does, what it holds.
 */
struct relay_kind {
	const char	 *name;	    /* tcp, udp */
	int		  socktype; /* of the port's listening socket */
	event_callback_fn visitor;  /* the port's socket is readable */
	void (*close)(struct relay_port *); /* its own state, or NULL */
	int pooled; /* it takes ready data connections (relay_pool.c) */
};

struct relay_port {
	struct relay_ctl	*ctl; /* NULL once the control connection is gone */
	const struct relay_kind *kind;
	int			 port, fd, nconns, closed;
	struct relay_usess *usess; /* udp: its visitors' sessions */
	struct relay_pool  *pool; /* tcp: its ready data connections, or NULL */
	uint64_t	   *bytes; /* its counters in the worker's slot */
	char		    name[NAMED_NAME_MAX + 1];
	struct event	   *ev;
};

struct relay_ctl {
	struct wconn	    base; /* a meeting partner's socket comes by mail */
	struct worker	   *w;
	struct jsonline	    jl; /* the JSON-line connection */
	struct addr	    peer, local;
	uint8_t		    nonce[RELAY_NONCE_LEN];
	char		    client_id[NAMED_NAME_MAX * 2 + 1];
	char		    client[NAMED_NAME_MAX + 1]; /* its token's, or "-" */
	int		    token; /* its line in relay.token_file */
	int		    authed, nports;
	struct relay_port  *ports[1000];
	LIST_ENTRY(relay_ctl) entry; /* in relay_ctls */
};

struct json_t;

/* relay_ctl.c */
LIST_HEAD(relay_ctl_list, relay_ctl);
extern struct relay_ctl_list relay_ctls; /* this worker's */
void relay_ctl_start(struct worker *, int, const char *, size_t,
    const struct addr *);
void relay_ctl_drain(void);
void relay_send(struct relay_ctl *, struct json_t *);
void relay_error(struct relay_ctl *, const char *, const char *);
void relay_close_with(struct relay_ctl *, const char *, const char *);

/* relay_port.c */
void   relay_expose(struct relay_ctl *, struct json_t *);
void   relay_list(struct relay_ctl *);
void   relay_unexpose(struct relay_ctl *, struct json_t *);
void   relay_port_close(struct relay_port *);
void   relay_port_release(struct relay_port *);
size_t relay_key(uint8_t *, char, const void *, size_t);
int    relay_data_start(struct worker *, int, const char *, const char *, int);
int    relay_visitors_waiting(void);
void   relay_refused_log(struct worker *, int, const char *, size_t);
int    relay_announce(struct relay_port *, uint64_t, const struct sockaddr *,
       const struct sockaddr *);

/* relay_pool.c */
int  relay_pool_open(struct relay_port *, int);
int  relay_pool_take(struct relay_port *, int, const struct sockaddr *,
     void (*)(void *), void *);
void relay_pool_close(struct relay_port *);
int  relay_pooled_count(void);

/* relay_udp.c */
void relay_udp_read(evutil_socket_t, short, void *);
void relay_udp_close(struct relay_port *);

/* relay_splice.c */
int splice_join(struct worker *, int, int, uint64_t *, void (*)(void *),
    void *);
int splice_count(void);

#endif

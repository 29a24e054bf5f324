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
#include <sys/types.h>

#include "hostname.h"
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
struct relay_http;
struct relay_mux;
struct fdsplice;
struct json_t;
struct state_exposure;

/*
 * What goes with a visitor to its stream: the bytes read before it (a
 * virtual host's head, to go to the client first), and what kind of
 * visitor it is: LISTEN_HTTP's requests are routed one by one
 * (relay_http.c) among the names of port.
 */
struct relay_lead {
	const void	  *pre;
	size_t		   prelen;
	int		   use; /* LISTEN_HTTP(S) for a virtual host's, else 0 */
	struct relay_port *port;
};

/*
 * A kind of exposure (the expose message's proto): its row in
 * relay_kinds (relay_port.c).  tcp and udp own a port of their own;
 * http and https own domains on the shared ports 80 and 443
 * (relay_vhost.c).  open takes what the expose message asks for and
 * says what was given in the exposed message, or answers the error.
 */
struct relay_kind {
	const char	 *name;	    /* tcp, udp, http, https */
	int		  socktype; /* of the port's listening socket */
	event_callback_fn visitor;  /* the port's socket is readable */
	void (*close)(struct relay_port *); /* its own state, or NULL */
	int pooled; /* it takes ready data connections (relay_pool.c) */
	int mux;    /* its visitors may share one (relay_mux.c) */
	int (*open)(struct relay_ctl *, struct relay_port *, struct json_t *,
	    struct json_t *);
};

#define RELAY_DOMAINS_MAX 8 /* names of one http/https exposure */

struct relay_port {
	struct wconn		 base; /* vhost: its visitors come by mail */
	struct relay_ctl	*ctl; /* NULL once the control connection is gone */
	const struct relay_kind *kind;
	int			 port, fd, nconns, closed;
	struct relay_usess *usess; /* udp: its visitors' sessions */
	struct relay_pool  *pool; /* tcp: its ready data connections, or NULL */
	struct relay_mux   *mux;  /* tcp: its visitors' carrier, or NULL */
	struct state_exposure *expo; /* its counters in the worker's slot */
	char		    name[NAMED_NAME_MAX + 1];
	struct event	   *ev;
	int		    ndomains; /* http, https: */
	char		    domains[RELAY_DOMAINS_MAX][HOSTNAME_MAX + 1];
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
int    relay_port_open(struct relay_ctl *, struct relay_port *, struct json_t *,
       struct json_t *);
int    relay_visitor_start(struct relay_port *, int, const struct sockaddr *,
       struct state_exposure *, const struct relay_lead *);
void   relay_list(struct relay_ctl *);
void   relay_unexpose(struct relay_ctl *, struct json_t *);
void   relay_port_close(struct relay_port *);
void   relay_port_release(struct relay_port *);
size_t relay_key(uint8_t *, char, const void *, size_t);
int    relay_wait_id(struct worker *, uint64_t, uint8_t *, int);
int    relay_data_start(struct worker *, int, const char *, const char *, int);
int    relay_visitors_waiting(void);
void   relay_refused_log(struct worker *, int, const char *, size_t);
int    relay_announce(struct relay_port *, uint64_t, const struct sockaddr *,
       const struct sockaddr *);

/* relay_pool.c */
int  relay_pool_open(struct relay_port *, int);
int  relay_pool_take(struct relay_port *, int, const struct sockaddr *,
     struct state_exposure *, const struct relay_lead *, void (*)(void *),
     void *);
void relay_pool_close(struct relay_port *);
int  relay_pooled_count(void);

/* relay_mux.c */
int  relay_mux_open(struct relay_port *);
int  relay_mux_take(struct relay_port *, int, const struct sockaddr *,
     struct state_exposure *, void (*)(void *), void *);
void relay_mux_close(struct relay_port *);
int  relay_mux_count(void);

/* relay_udp.c */
void relay_udp_read(evutil_socket_t, short, void *);
void relay_udp_close(struct relay_port *);

/* relay_vhost.c */
void relay_vhost_accept(struct worker *, struct listener *, int,
    const struct addr *);
void relay_vhost_fail(struct worker *, int, int, int);
int  relay_vhost_waiting(void);
void relay_vhost_mail(struct wconn *, const struct wmail *, int);
void relay_vhost_again(struct worker *, int, int);

/* relay_http.c */
struct relay_http *relay_http_new(struct worker *, const struct relay_port *,
    struct state_exposure *, const char *, size_t);
void	relay_http_free(struct relay_http *);
void	relay_http_join(struct relay_http *, struct fdsplice *);
ssize_t relay_http_allow(struct relay_http *, int);
void	relay_http_moved(struct relay_http *, size_t);
int	relay_http_leaving(const struct relay_http *, int *);

/* relay_domain.c */
int  relay_vhost_open(struct relay_ctl *, struct relay_port *, struct json_t *,
     struct json_t *);
void relay_vhost_close(struct relay_port *);
int  relay_domain_find(struct worker *, const char *, uint16_t *, uint64_t *,
     char *);

/* relay_splice.c */
int splice_join(struct worker *, int, int, struct state_exposure *,
    const struct relay_lead *, void (*)(void *), void *);
int splice_count(void);

#endif

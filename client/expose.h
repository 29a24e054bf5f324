/* An [expose] service of the agent; expose.c, expose_udp.c. */
#ifndef NATCLIENT_EXPOSE_H
#define NATCLIENT_EXPOSE_H

#include <event2/bufferevent.h>

#include "agent.h"
#include "dial.h"
#include "relaylogin.h"
#include "splice.h"

#define EXPOSE_LINE_MAX	    (64 * 1024) /* a JSON line from the relay */
#define EXPOSE_UDP_IDLE_MS  120000
#define EXPOSE_WAITING_MAX  1024 /* visitors being connected, at most */

struct expose_visitor;
struct expose_pooled;

struct expose_visitor;

/*
 * A kind of exposure (the relay's proto, [expose] type): a row of
 * expose_types in expose.c.  A stream kind dials the local service for
 * each visitor and may pool data connections and send PROXY headers;
 * join starts a visitor's traffic once the relay joined it.
 */
struct expose_type {
	const char *name; /* tcp, udp, http, https */
	int	    stream;
	void (*join)(struct expose_visitor *);
	int	    vhost; /* by name on the relay's port 80 or 443: 1 http, 2 https */
};

struct expose_run {
	struct service	     *s;
	const struct expose_type *type;
	struct client_opts    relay; /* the agent's, server = the relay */
	struct addr	      server, local; /* server: the relay's address */
	char		      token[RELAY_TOKEN_MAX + 1];
	char		      client_id[65];
	struct dial	     *dial;
	struct bufferevent   *ctl;
	int		      step; /* EXPOSE_* */
	int		      port; /* what we were given last */
	int		      exposed; /* once, since it started */
	int		      backoff; /* seconds */
	int		      heartbeat_s; /* within the relay's idle timeout */
	struct event	     *timer;
	struct splice_owner   joins;
	LIST_HEAD(, expose_visitor) waiting;
	unsigned	      nwaiting;
	LIST_HEAD(, expose_udp) udp;
	LIST_HEAD(, expose_pooled) pooled; /* ready data connections */
	unsigned	      npooled; /* open or being opened */
	char		      asks[EXPOSE_POOL_MAX][64]; /* waiting for room */
	unsigned	      nasks;
	LIST_HEAD(, expose_mux) muxes; /* visitors' carriers (mux = yes) */
	unsigned	      nmux, nmuxed; /* carriers; their streams */
	int		      proxy; /* PROXY_V1, PROXY_V2 or PROXY_NONE */
	char		      urls[600]; /* http, https: what the relay gave */
};

void expose_send(struct bufferevent *, json_t *);
void expose_proxy(struct expose_run *, struct bufferevent *, const char *,
    const char *);
void expose_addr(char *, json_t *, const char *);

/* expose_pool.c */
int  expose_id_ok(const char *, size_t);
void expose_pool_ask(struct expose_run *, const char *);
void expose_pool_close_all(struct expose_run *);

/* expose_mux.c */
struct expose_mux;
void	expose_mux_ask(struct expose_run *, const char *);
void	expose_mux_close_all(struct expose_run *);
int64_t expose_mux_rtt_us(const struct expose_run *);

/* expose_udp.c */
struct expose_udp;
int  expose_udp_start(struct expose_run *, struct bufferevent *);
void expose_udp_close_all(struct expose_run *);

#endif

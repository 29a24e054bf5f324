/*
 * Port mapping: ask the default gateway to forward a port to us, by PCP
 * (RFC 6887), NAT-PMP (RFC 6886) or UPnP IGD, so that a hard NAT acts
 * as a full cone for the socket that punches.  Each protocol is one
 * entry in a table of operations (portmap.c); a mapping lives until
 * portmap_release(), which also runs at exit and on SIGINT/SIGTERM.
 */
#ifndef NATCLIENT_PORTMAP_H
#define NATCLIENT_PORTMAP_H

#include <stdint.h>

#include "natclient.h"

#define PORTMAP_LIFETIME   600	/* seconds asked for; renewed at half */
#define PORTMAP_TIMEOUT_MS 2000 /* all of discovery, every protocol */
#define PORTMAP_PORT	   5351 /* PCP and NAT-PMP on the gateway */

enum portmap_proto {
	PORTMAP_PCP,
	PORTMAP_NATPMP,
	PORTMAP_UPNP,
	PORTMAP_NPROTOS,
};

struct portmap {
	int	    proto;	  /* enum portmap_proto, or -1: no mapping */
	int	    ipproto;	  /* IPPROTO_UDP or IPPROTO_TCP */
	uint16_t    internal;	  /* our port */
	struct addr external;	  /* the gateway's address and port for us */
	struct addr gateway;	  /* the default gateway, port PORTMAP_PORT */
	struct addr lan;	  /* our address towards the gateway */
	int64_t	    renew_ms;	  /* when to ask again */
	uint8_t	    nonce[12];	  /* PCP: the mapping's nonce */
	char	    ctl_url[256]; /* UPnP: the IGD's control URL */
	char	    service[128]; /* UPnP: its service type */
	char	    why[256];	  /* the last failure, one line */
};

/* One protocol: 0 on success, -1 with pm->why said. */
struct portmap_ops {
	const char *name;
	/* Whether the gateway speaks it; its external IP into pm. */
	int (*probe)(struct portmap *, int timeout_ms);
	/* Map pm->internal for lifetime seconds; 0 deletes. */
	int (*map)(struct portmap *, int lifetime, int timeout_ms);
	/* Optional: begin a slow discovery now, for map to finish. */
	void (*prefetch)(const struct portmap *, int timeout_ms);
};

extern const struct portmap_ops portmap_pcp_ops, portmap_natpmp_ops,
    portmap_upnp_ops;

int portmap_gateway(struct portmap *);
int portmap_useful(const struct addr *);
int portmap_order(const char *, int *, char *, size_t);
struct portmap *
portmap_open(const struct client_opts *, int, uint16_t, const struct addr *);
void	       portmap_renew(struct portmap *);
void	       portmap_release(void);
void	       portmap_on_signal(int (*)(int));
void	       portmap_upnp_drop(void);
struct json_t *portmap_report(const struct client_opts *, const struct addr *);

#endif

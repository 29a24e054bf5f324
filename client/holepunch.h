/* Punch strategies for listen and connect; see holepunch.c. */
#ifndef NATCLIENT_HOLEPUNCH_H
#define NATCLIENT_HOLEPUNCH_H

#include <stdint.h>

#include "named.h"
#include "natclient.h"

#define HP_LAN_MAX NAMED_LAN_MAX

enum hp_packet {
	HP_PROBE = 1,	  /* "are you there?" */
	HP_ACK = 2,	  /* "yes" */
	HP_SELECT = 3,	  /* the connector chose this path */
	HP_KEEPALIVE = 4, /* holds an idle path open */
	HP_BYE = 5,	  /* the peer is leaving (datagram mode) */
};

#define HP_PACKET_LEN (4 + NAMED_TOKEN_LEN + 1)

struct hp_plan {
	int	    connector; /* 1: the side that chooses the path */
	int	    strategy;  /* enum named_strategy */
	uint8_t	    session[NAMED_TOKEN_LEN];
	int	    delay_ms, rtt_ms, timeout_ms;
	int	    my_class, my_delta, peer_class, peer_delta;
	struct addr peer_public;
	struct addr peer_mapped; /* its gateway's mapping, if peer_class
				    is NAMED_MAPPED */
	struct addr peer_lan[HP_LAN_MAX];
	int	    npeer_lan;
	int	    main_fd; /* the socket the server saw */
};

struct hp_result {
	int	    fd;
	struct addr peer;
	int	    ms; /* from the start of punching */
	int	    probes;
	int	    handshake_ms; /* the end-to-end handshake after it */
};

int  holepunch(const struct client_opts *, const struct hp_plan *,
     struct hp_result *);
void hp_packet(uint8_t *, const uint8_t *, int);
int  hp_parse(const uint8_t *, size_t, const uint8_t *);

#endif

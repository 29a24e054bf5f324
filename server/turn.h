/*
 * TURN (RFC 8656) in the tracker worker: its config (turn_conf.c), the
 * credentials and nonces (turn_auth.c), the requests (turn.c) and the
 * allocations with their relayed sockets (turn_alloc.c).
 */
#ifndef NATSERVER_TURN_H
#define NATSERVER_TURN_H

#include <sys/socket.h>
#include <stdint.h>

#include "natserver.h"

#include "stunmsg.h"

struct worker;
struct listener;
struct server_conf;

#define TURN_ALLOCATE	       0x003
#define TURN_REFRESH	       0x004
#define TURN_SEND	       0x006
#define TURN_DATA	       0x007
#define TURN_CREATE_PERMISSION 0x008
#define TURN_CHANNEL_BIND      0x009

#define TURN_ATTR_CHANNEL_NUMBER      0x000c
#define TURN_ATTR_LIFETIME	      0x000d
#define TURN_ATTR_XOR_PEER_ADDRESS    0x0012
#define TURN_ATTR_DATA		      0x0013
#define TURN_ATTR_XOR_RELAYED_ADDRESS 0x0016
#define TURN_ATTR_REQUESTED_FAMILY    0x0017
#define TURN_ATTR_EVEN_PORT	      0x0018
#define TURN_ATTR_REQUESTED_TRANSPORT 0x0019
#define TURN_ATTR_DONT_FRAGMENT	      0x001a
#define TURN_ATTR_RESERVATION_TOKEN   0x0022
#define TURN_ATTR_ADDITIONAL_FAMILY   0x8000

#define TURN_PERMISSION_S 300  /* RFC 8656 section 9 */
#define TURN_CHANNEL_S	  600  /* section 12 */
#define TURN_LIFETIME_S	  600  /* an allocation's default lifetime */
#define TURN_EVEN	  0x1  /* turn_alloc_new(): an even port */
#define TURN_DF		  0x2  /* set DF on what is relayed */
#define TURN_RESERVE	  0x4  /* and hold the next port for a token */
#define TURN_TAKE	  0x8  /* the port a token held */
#define TURN_SHARED	  0x10 /* bound with SO_REUSEPORT: a held port */
#define TURN_TOKEN_LEN	  8
#define TURN_RESERVED_S	  30 /* how long a held port waits */
#define TURN_CHANNEL_LOW  0x4000
#define TURN_CHANNEL_HIGH 0x7ffe /* RFC 5766's range, which clients still use  \
				  */

/* A transport address kept small: allocations hold several. */
struct turn_addr {
	uint8_t	 family; /* AF_INET or AF_INET6 */
	uint16_t port;	 /* network order */
	uint8_t	 ip[16]; /* 4 bytes used for AF_INET */
};

/* What authenticating a request found out. */
struct turn_cred {
	char	user[129];
	uint8_t key[STUNMSG_KEY_LEN];
};

struct turn_perm {
	struct turn_addr peer;
	int64_t		 until_ms;
};

struct turn_chan {
	struct turn_addr peer;
	uint16_t	 num;
	int64_t		 until_ms;
};

/* One allocation: turn_alloc.c keeps them, turn_data.c relays for them. */
struct turn_alloc {
	struct turn_alloc  *next; /* in its hash chain */
	struct worker	   *w;
	struct listener	   *l;
	struct bufferevent *bev; /* over TCP: the client's connection */
	struct turn_addr    client, local, relayed;
	int		    fd;
	struct event	   *ev;
	int64_t		    until_ms;
	uint8_t		    tid[12]; /* of the Allocate, for retransmits */
	struct turn_cred    cred;
	int		    nperm, nchan, capperm, capchan;
	struct turn_perm   *perm;
	struct turn_chan   *chan;
	int64_t		    tokens, refill_ms; /* turn.max_bps bucket */
};

/* turn_conf.c */
int  turn_conf_load(struct server_conf *, const char *, char *, size_t);
int  turn_enabled(const struct server_conf *);
int  turn_peer_allowed(const struct server_conf *, const struct sockaddr *);
void turn_addr_set(struct turn_addr *, const struct sockaddr *);
socklen_t turn_addr_get(const struct turn_addr *, struct sockaddr_storage *);
int	  turn_addr_same_ip(const struct turn_addr *, const struct turn_addr *);
void	  turn_user_key(const char *, const char *, const char *, uint8_t[16]);

/* turn_auth.c */
void turn_auth_init(void);
void turn_nonce_make(const struct sockaddr *, int64_t, char[25]);
int
turn_nonce_ok(const uint8_t *, size_t, const struct sockaddr *, int64_t, int);
int turn_auth_key(const struct server_conf *, const uint8_t *, size_t, int64_t,
    struct turn_cred *, const char **);

/* turn.c */
int turn_wants(const uint8_t *, size_t);
struct bufferevent;
ssize_t turn_answer(struct worker *, struct listener *, const uint8_t *, size_t,
    const struct sockaddr *, const struct sockaddr *, struct bufferevent *,
    uint8_t *, size_t);

/* turn_port.c */
int  turn_port_open(struct worker *, int, const struct sockaddr *, int,
     uint8_t *, struct turn_addr *, int *, const char **);
void turn_port_sweep(struct worker *, int64_t);

/* turn_quota.c */
int	turn_quota_user(struct worker *, const char *);
void	turn_quota_add(struct worker *, const char *, int);
int64_t turn_quota_total(struct worker *);

/* turn_data.c */
void turn_data_init(void);
void turn_peer_cb(int, short, void *);
int  turn_permitted(const struct turn_alloc *, const struct turn_addr *);

/* turn_alloc.c */
void		   turn_alloc_start(struct worker *);
struct turn_alloc *turn_alloc_find(struct listener *, const struct sockaddr *);
struct turn_alloc      *
turn_alloc_new(struct worker *, struct listener *, const struct sockaddr *,
	 const struct sockaddr *, int, int, struct bufferevent *,
	 const struct turn_cred *, const uint8_t *, uint8_t *, const char **, int *);
void turn_alloc_free(struct turn_alloc *);
void turn_conn_closed(struct listener *, const struct sockaddr *);
void turn_alloc_refresh(struct turn_alloc *, uint32_t);
const char    *turn_alloc_user(const struct turn_alloc *);
const uint8_t *turn_alloc_tid(const struct turn_alloc *);
void turn_alloc_relayed(const struct turn_alloc *, struct sockaddr_storage *);
int  turn_alloc_permit(struct turn_alloc *, const struct turn_addr *, int);
int  turn_alloc_bind(struct turn_alloc *, uint16_t, const struct turn_addr *);
void turn_alloc_send(struct turn_alloc *, const struct sockaddr *,
    const uint8_t *, size_t);
void
turn_alloc_channel_send(struct turn_alloc *, uint16_t, const uint8_t *, size_t);
int turn_alloc_family(const struct turn_alloc *);

#endif

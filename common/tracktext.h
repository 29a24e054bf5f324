/*
 * The NatTrackerServer text protocol: parsing requests and formatting
 * member lines.  Members are stored in binary with capped address counts.
 */
#ifndef NATKIT_TRACKTEXT_H
#define NATKIT_TRACKTEXT_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define TT_NS_DEFAULT	"51pwn"
#define TT_NS_MAX	32
#define TT_GROUP_MIN	10
#define TT_GROUP_MAX	64
#define TT_PUBLIC_MAX	3
#define TT_LAN_MAX	5
#define TT_TRACKERS_MAX 8
#define TT_LINE_MAX	512 /* a formatted member line */

enum tt_kind {
	TT_NAT,		 /* //nat */
	TT_REGISTER,	 /* //<ns>/P2P&E2E/<group>/<public>/<lan> */
	TT_TRACKERS,	 /* //tcksvr */
	TT_TRACKERS_ADD, /* //tcksvr/<ip:port>[;<ip:port>...] */
};

/* An address as stored: family (4 or 6), port, 16 address bytes. */
struct tt_addr {
	uint8_t family;
	uint8_t port[2];
	uint8_t ip[16];
};

/* A group member as stored in the table; its identity comes first. */
struct tt_member {
	struct tt_addr first; /* identity: the first public address */
	struct tt_addr seen;  /* where its registration came from */
	uint8_t	       npublic, nlan;
	struct tt_addr public[TT_PUBLIC_MAX - 1];
	struct tt_addr lan[TT_LAN_MAX]; /* ports are 0 */
};

struct tt_request {
	enum tt_kind kind;
	char	     ns[TT_NS_MAX + 1];
	char	     group[TT_GROUP_MAX + 1];
	int	     npublic; /* 0: "the address you see me from" */
	struct tt_addr public[TT_PUBLIC_MAX];
	int	       nlan;
	struct tt_addr lan[TT_LAN_MAX];
	int	       ntrackers;
	struct tt_addr trackers[TT_TRACKERS_MAX];
};

int    tt_parse(const char *, size_t, struct tt_request *, const char **);
void   tt_addr_from_sa(struct tt_addr *, const struct sockaddr *);
int    tt_addr_to_sa(const struct tt_addr *, struct sockaddr_storage *);
int    tt_same_ip(const struct tt_addr *, const struct tt_addr *);
void   tt_member_make(const struct tt_request *, const struct sockaddr *,
      struct tt_member *);
size_t tt_member_line(const struct tt_member *, int, char *, size_t);
size_t tt_addr_text(const struct tt_addr *, char *, size_t);

#endif

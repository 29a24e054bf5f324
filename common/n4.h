/*
 * The N4 wire format (n4.py): 8-byte packets, [cmd][reserved][6 data
 * bytes].  Idents are 6 bytes, padded with spaces.
 */
#ifndef NATKIT_N4_H
#define NATKIT_N4_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define N4_SIZE	     8
#define N4_IDENT_LEN 6

enum n4_cmd {
	N4_HELLO = 0x01,    /* client -> server, TCP, ident */
	N4_READY = 0x02,    /* server -> client, TCP */
	N4_EXCHANGE = 0x03, /* client -> server, UDP, ident */
	N4_PEERINFO = 0x04, /* server -> client, TCP, IPv4 + port */
	N4_PUNCH = 0x05,    /* client <-> client, UDP, ident */
};

struct n4_packet {
	uint8_t		   cmd;
	uint8_t		   ident[N4_IDENT_LEN]; /* HELLO, EXCHANGE, PUNCH */
	struct sockaddr_in addr;		/* PEERINFO */
};

int  n4_ident(const char *, uint8_t[N4_IDENT_LEN]);
void n4_pack(const struct n4_packet *, uint8_t[N4_SIZE]);
int  n4_parse(const uint8_t *, size_t, struct n4_packet *);

#endif

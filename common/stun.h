/*
 * STUN (RFC 8489, and RFC 3489 clients that send no magic cookie):
 * parsing requests and building Binding responses.  Shared by natserver
 * and natclient.
 */
#ifndef NATKIT_STUN_H
#define NATKIT_STUN_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define STUN_HDR_LEN	 20
#define STUN_COOKIE	 0x2112a442u
#define STUN_MAX_UNKNOWN 8

#define STUN_BINDING_REQUEST 0x0001
#define STUN_BINDING_SUCCESS 0x0101
#define STUN_BINDING_ERROR   0x0111

#define STUN_ATTR_MAPPED_ADDRESS     0x0001
#define STUN_ATTR_RESPONSE_ADDRESS   0x0002
#define STUN_ATTR_CHANGE_REQUEST     0x0003
#define STUN_ATTR_SOURCE_ADDRESS     0x0004
#define STUN_ATTR_CHANGED_ADDRESS    0x0005
#define STUN_ATTR_ERROR_CODE	     0x0009
#define STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000a
#define STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define STUN_ATTR_SOFTWARE	     0x8022
#define STUN_ATTR_FINGERPRINT	     0x8028
#define STUN_ATTR_RESPONSE_ORIGIN    0x802b
#define STUN_ATTR_OTHER_ADDRESS	     0x802c

#define STUN_CHANGE_IP	 0x04
#define STUN_CHANGE_PORT 0x02

/* What stun_parse() makes of a datagram. */
enum stun_verdict {
	STUN_NOT,     /* not STUN at all: junk to drop */
	STUN_IGNORE,  /* STUN, but nothing to answer (a response, bad CRC) */
	STUN_BAD,     /* a request with a good header and bad body: 400 */
	STUN_UNKNOWN, /* unknown comprehension-required attributes: 420 */
	STUN_OK,      /* a request to answer */
};

struct stun_msg {
	uint16_t    type;
	int	    classic;	 /* RFC 3489: no magic cookie */
	uint8_t	    tid[16];	 /* cookie + 12 bytes, or RFC 3489's 16 */
	int	    fingerprint; /* the request carried one */
	int	    change;	 /* STUN_CHANGE_* of CHANGE-REQUEST */
	int	    nunknown;
	uint16_t    unknown[STUN_MAX_UNKNOWN];
	const char *why; /* for STUN_BAD: what was wrong */
};

/* Addresses a Binding response reports besides the mapped one. */
struct stun_origin {
	const struct sockaddr *local; /* where the reply leaves from */
	const struct sockaddr *other; /* RFC 5780 alternate, or NULL */
};

int		  stun_looks_like(const uint8_t *, size_t);
size_t		  stun_frame_len(const uint8_t *, size_t);
enum stun_verdict stun_parse(const uint8_t *, size_t, struct stun_msg *);
size_t stun_binding_success(const struct stun_msg *, const struct sockaddr *,
    const struct stun_origin *, uint8_t *, size_t);
size_t
stun_error(const struct stun_msg *, int, const char *, uint8_t *, size_t);
size_t stun_binding_request(const uint8_t[12], int, int, uint8_t *, size_t);
int    stun_response_addr(const uint8_t *, size_t, const uint8_t[12], uint16_t,
       struct sockaddr_storage *);
size_t stun_attr_addr(uint8_t *, size_t, size_t, uint16_t,
       const struct sockaddr *, const uint8_t *, int);
int    stun_decode_addr(const uint8_t *, size_t, const uint8_t *, int,
       struct sockaddr_storage *);
int    stun_response_mapped(const uint8_t *, size_t, const uint8_t[12],
       struct sockaddr_storage *);

#endif

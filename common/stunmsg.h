/*
 * STUN messages of any method (RFC 8489), as TURN needs them: reading
 * attributes of a request, checking MESSAGE-INTEGRITY(-SHA256), and
 * building answers with integrity and FINGERPRINT.  Only messages with
 * the magic cookie; stun.c serves RFC 3489 Binding.
 */
#ifndef NATKIT_STUNMSG_H
#define NATKIT_STUNMSG_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#define STUNMSG_CLASS_REQUEST	 0x0000
#define STUNMSG_CLASS_INDICATION 0x0010
#define STUNMSG_CLASS_SUCCESS	 0x0100
#define STUNMSG_CLASS_ERROR	 0x0110

#define STUN_ATTR_USERNAME		   0x0006
#define STUN_ATTR_MESSAGE_INTEGRITY	   0x0008
#define STUN_ATTR_REALM			   0x0014
#define STUN_ATTR_NONCE			   0x0015
#define STUN_ATTR_MESSAGE_INTEGRITY_SHA256 0x001c

#define STUNMSG_KEY_LEN	    16 /* MD5(user:realm:password) */
#define STUNMSG_UNKNOWN_MAX 8

/* A message that passed stunmsg_parse(): pointers into its bytes. */
struct stunmsg {
	const uint8_t *p;
	size_t	       len;
	uint16_t       method; /* type without the class bits */
	uint16_t       cls;    /* STUNMSG_CLASS_* */
	const uint8_t *tid;    /* the 12 bytes after the cookie */
	size_t	       mi;     /* offset of MESSAGE-INTEGRITY, or 0 */
	size_t	       mi256;  /* of MESSAGE-INTEGRITY-SHA256, or 0 */
	int	       fingerprint;
	int	       nunknown; /* comprehension-required ones we lack */
	uint16_t       unknown[STUNMSG_UNKNOWN_MAX];
};

/* Building an answer in a caller's buffer; err once it overflowed. */
struct stunbuf {
	uint8_t *p;
	size_t	 len, max;
	int	 err;
};

int stunmsg_parse(const uint8_t *, size_t, int (*)(uint16_t), struct stunmsg *,
    const char **);
const uint8_t *stunmsg_attr(const struct stunmsg *, uint16_t, size_t *);
const uint8_t	  *
stunmsg_attr_next(const struct stunmsg *, uint16_t, size_t *, size_t *);
int stunmsg_attr_addr(const uint8_t *, size_t, const uint8_t *,
    struct sockaddr_storage *);
int stunmsg_attr_u32(const struct stunmsg *, uint16_t, uint32_t *);
int stunmsg_integrity_ok(const struct stunmsg *, const uint8_t *, size_t);

void
stunbuf_start(struct stunbuf *, uint8_t *, size_t, uint16_t, const uint8_t *);
void   stunbuf_attr(struct stunbuf *, uint16_t, const void *, size_t);
void   stunbuf_u32(struct stunbuf *, uint16_t, uint32_t);
void   stunbuf_xaddr(struct stunbuf *, uint16_t, const struct sockaddr *);
void   stunbuf_error(struct stunbuf *, int, const char *);
void   stunbuf_integrity(struct stunbuf *, const uint8_t *, size_t, int);
size_t stunbuf_finish(struct stunbuf *, int);

#endif

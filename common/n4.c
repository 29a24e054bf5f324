/* The N4 packet codec; see n4.h. */
#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "n4.h"

/* Pad an ident with spaces as n4.py does; -1 if it is too long or empty. */
int
n4_ident(const char *s, uint8_t ident[N4_IDENT_LEN])
{
	size_t n = strlen(s);

	if (n == 0 || n > N4_IDENT_LEN)
		return -1;
	memset(ident, ' ', N4_IDENT_LEN);
	memcpy(ident, s, n);
	return 0;
}

void
n4_pack(const struct n4_packet *p, uint8_t out[N4_SIZE])
{
	memset(out, 0, N4_SIZE);
	out[0] = p->cmd;
	switch (p->cmd) {
	case N4_HELLO:
	case N4_EXCHANGE:
	case N4_PUNCH:
		memcpy(out + 2, p->ident, N4_IDENT_LEN);
		break;
	case N4_PEERINFO:
		memcpy(out + 2, &p->addr.sin_addr, 4);
		memcpy(out + 6, &p->addr.sin_port, 2);
		break;
	}
}

/*
 * Decode one packet: 0, or -1 when it has the wrong size or an unknown
 * command.  The reserved byte is ignored, as n4.py ignores it.
 */
int
n4_parse(const uint8_t *buf, size_t len, struct n4_packet *p)
{
	memset(p, 0, sizeof(*p));
	if (len != N4_SIZE || buf[0] < N4_HELLO || buf[0] > N4_PUNCH)
		return -1;
	p->cmd = buf[0];
	if (p->cmd == N4_PEERINFO) {
		p->addr.sin_family = AF_INET;
		memcpy(&p->addr.sin_addr, buf + 2, 4);
		memcpy(&p->addr.sin_port, buf + 6, 2);
	} else
		memcpy(p->ident, buf + 2, N4_IDENT_LEN);
	return 0;
}

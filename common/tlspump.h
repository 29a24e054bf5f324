/* Moving bytes between a TLS connection and a plain socket; tlspump.c. */
#ifndef NATKIT_TLSPUMP_H
#define NATKIT_TLSPUMP_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#define TLSPUMP_BUF 16384 /* a TLS record */
/* A read that brought less most likely emptied its source (as in
 * fdsplice.c): the next waits for the level-triggered read event
 * instead of a system call that would only say EAGAIN. */
#define TLSPUMP_SHORT 4096

struct tlspump {
	SSL   *ssl; /* over net, the peer's socket */
	int    net, app; /* app: the plain socket (a socketpair's end) */
	/* At least TLSPUMP_BUF each (more with what tlspump_queue took),
	 * held only with bytes. */
	uint8_t *to_app, *to_net;
	size_t	app_off, app_len, net_off, net_len;
	int	net_eof, app_eof, shut_sent, app_shut, failed, handshaken;
	short	want_net, want_app; /* POLLIN | POLLOUT to wait for */
	size_t	from_net, from_app; /* bytes read since the owner looked */
	int	net_dry, app_dry; /* its source is empty: wait until readable */
};

void tlspump_fingerprint(X509 *, char *, size_t);
void tlspump_init(struct tlspump *, SSL *, int, int);
int  tlspump_run(struct tlspump *);
void tlspump_readable(struct tlspump *, int);
int  tlspump_queue(struct tlspump *, int, const void *, size_t, int);
void tlspump_free(struct tlspump *);

#endif

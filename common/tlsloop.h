/* A TLS connection pumped to a plain socket in an event loop; tlsloop.c. */
#ifndef NATKIT_TLSLOOP_H
#define NATKIT_TLSLOOP_H

#include <sys/socket.h>
#include <event2/event.h>
#include <openssl/ssl.h>

/* Called once the handshake is done: 0 to go on, -1 to end the pump. */
typedef int tlsloop_check_fn(SSL *, void *);

int tlsloop_start(struct event_base *, SSL *, int, tlsloop_check_fn *,
    void *);
int tlsloop_count(void);
int tlsloop_sockname(int, struct sockaddr_storage *, socklen_t *);
void tlsloop_forget(void *);

#endif

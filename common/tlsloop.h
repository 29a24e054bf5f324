/* A TLS connection pumped to a plain socket in an event loop; tlsloop.c. */
#ifndef NATKIT_TLSLOOP_H
#define NATKIT_TLSLOOP_H

#include <sys/socket.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stddef.h>

/* Called once the handshake is done: 0 to go on, -1 to end the pump. */
typedef int tlsloop_check_fn(SSL *, void *);

/* What the owner of an adopted pump hears (to_app: bytes from TLS). */
struct tlsloop_hooks {
	void (*moved)(void *arg, int to_app, size_t n);
	void (*ended)(void *arg);
};

struct tlsloop;

int tlsloop_start(struct event_base *, SSL *, int, tlsloop_check_fn *,
    void *);
int tlsloop_count(void);
int tlsloop_holding(void);
int tlsloop_sockname(int, struct sockaddr_storage *, socklen_t *);
void tlsloop_forget(void *);
int  tlsloop_adopt(int, int, const struct tlsloop_hooks *, void *,
     struct tlsloop **);
int  tlsloop_pre(struct tlsloop *, int, const void *, size_t);
void tlsloop_end(struct tlsloop *);

#endif

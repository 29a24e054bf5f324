/*
 * A buffered socket in an event loop, as a bufferevent is, but reading
 * up to EVSOCK_READ bytes at a time: libevent 2.1's bufferevents read
 * at most 4 KiB per round of the loop (EVBUFFER_MAX_READ), which held
 * a muxed stream to a tenth of the speed of a spliced one.  evsock.c.
 */
#ifndef NATKIT_EVSOCK_H
#define NATKIT_EVSOCK_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

/*
 * A read's room, from EVSOCK_READ_MIN, doubled while reads fill it and
 * halved when they leave most of it, up to EVSOCK_READ: a busy stream
 * reads 64 KiB at once, a short request does not cost a 64 KiB buffer
 * (malloc's and the kernel's work for each).  libevent adds its chain's
 * head and rounds up to a power of 2: 256 bytes less keeps to it.
 */
#define EVSOCK_READ	(64 * 1024 - 256)
#define EVSOCK_READ_MIN (4 * 1024 - 256)

#define EVSOCK_EOF   1 /* the peer ended its direction */
#define EVSOCK_ERROR 2 /* errno says why */

struct evsock;

/* What the owner hears; each is the last thing evsock does before it
 * returns to the loop, so the owner may free the socket in it. */
struct evsock_cbs {
	void (*read)(void *arg);	     /* new bytes in the input */
	void (*write)(void *arg);	     /* the output at or below low */
	void (*event)(void *arg, int what); /* EVSOCK_EOF or _ERROR */
};

struct evsock	*evsock_new(struct event_base *, int,
		     const struct evsock_cbs *, void *);
struct evsock	*evsock_take(struct event_base *, struct bufferevent *,
		     const struct evsock_cbs *, void *);
int		 evsock_unwrap(struct bufferevent *, struct evbuffer *,
		     struct evbuffer *);
void		 evsock_setcb(struct evsock *, const struct evsock_cbs *,
		     void *);
void		 evsock_free(struct evsock *);
struct evbuffer *evsock_input(struct evsock *);
struct evbuffer *evsock_output(struct evsock *);
int		 evsock_fd(const struct evsock *);
void		 evsock_reading(struct evsock *, int);
void		 evsock_flush(struct evsock *);
void		 evsock_low(struct evsock *, size_t);

#endif

/* Two sockets joined in an event loop, spliced or copied; fdsplice.c. */
#ifndef NATKIT_FDSPLICE_H
#define NATKIT_FDSPLICE_H

#include <event2/event.h>
#include <stddef.h>

struct fdsplice;

/* How a caller's pairs run, and what it hears of them (arg: the pair's). */
struct fdsplice_ops {
	struct event_base *base;
	int		   splice; /* 0: copy through a buffer */
	int		   idle_s; /* closed after this long idle; 0: never */
	void (*moved)(void *arg, int dir, size_t n); /* dir 0: a to b */
	void (*copied)(void *arg); /* a direction copies */
	void (*closed)(void *arg); /* the pair ended */
};

struct fdsplice *fdsplice_join(const struct fdsplice_ops *, void *, int, int);
int  fdsplice_pre(struct fdsplice *, int, const void *, size_t);
void fdsplice_close(struct fdsplice *);

#endif

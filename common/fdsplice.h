/* Two sockets joined in an event loop, spliced or copied; fdsplice.c. */
#ifndef NATKIT_FDSPLICE_H
#define NATKIT_FDSPLICE_H

#include <event2/event.h>
#include <stddef.h>
#include <sys/types.h>

struct fdsplice;

/*
 * What ops->allow may say of direction 0 (a to b) before each read: a
 * number of bytes (at most that many are taken), or one of these.
 */
#define FDSPLICE_ALL  ((ssize_t)1 << 30) /* as much as comes */
#define FDSPLICE_WAIT ((ssize_t)-1)	/* nothing there: wait for input */
#define FDSPLICE_HOLD ((ssize_t)0)	/* take nothing until fdsplice_resume */
#define FDSPLICE_END  ((ssize_t)-2)	/* take no more: as at end of input */

/* How a caller's pairs run, and what it hears of them (arg: the pair's). */
struct fdsplice_ops {
	struct event_base *base;
	int		   splice; /* 0: copy through a buffer */
	int		   idle_s; /* closed after this long idle; 0: never */
	void (*moved)(void *arg, int dir, size_t n); /* dir 0: a to b */
	void (*copied)(void *arg); /* a direction copies */
	void (*closed)(void *arg); /* the pair ended */
	/* Or NULL: how much of a's input may be taken now (FDSPLICE_*). */
	ssize_t (*allow)(void *arg, int a);
};

struct fdsplice *fdsplice_join(const struct fdsplice_ops *, void *, int, int);
int  fdsplice_pre(struct fdsplice *, int, const void *, size_t);
void fdsplice_close(struct fdsplice *);
void fdsplice_resume(struct fdsplice *);
int  fdsplice_keep(struct fdsplice *);

#endif

/* Two connections joined in the agent's event loop; splice.c. */
#ifndef NATCLIENT_SPLICE_H
#define NATCLIENT_SPLICE_H

#include <sys/queue.h>
#include <event2/bufferevent.h>
#include <stdint.h>

#define SPLICE_HIGH (256 * 1024) /* a UDP visitor's bytes queued, at most */

struct splice;
LIST_HEAD(splices, splice);

/* Where a join counts what it carried, and whom it tells of its end. */
struct splice_owner {
	struct splices list;
	uint64_t      *a_to_b, *b_to_a;
	unsigned      *now;		   /* joins alive */
};

int  splice_join(struct event_base *, struct bufferevent *,
     struct bufferevent *, struct splice_owner *);
void splice_close_all(struct splice_owner *);

#endif

/*
 * The rendezvous worker: N4 pairing on 1721 and named sessions on 8848.
 * Neither protocol is served yet: the worker holds its sockets, counts
 * datagrams as dropped and closes connections at once.
 */
#include "config.h"

#include "natserver.h"

void
rendezvous_main(struct worker *w)
{
	worker_listen(w, worker_drop_dgram, worker_refuse_conn);
}

/*
 * The relay worker: control and data connections on 8888.  The relay
 * protocol is not served yet: the worker holds its sockets and closes
 * connections at once.
 */
#include "config.h"

#include "natserver.h"

void
relay_main(struct worker *w)
{
	worker_listen(w, worker_drop_dgram, worker_refuse_conn);
}

/*
 * libFuzzer: the rendezvous worker's handlers (server/rdv_named.c and
 * server/rdv_n4.c) on a real worker, through its real listeners on
 * loopback.  The first byte picks the door: a named session over TCP
 * (the rest as its lines), a named datagram, an N4 connection, an N4
 * datagram.  Whatever comes, the worker answers or closes and logs only
 * sanitized lines; ASan and UBSan watch the rest.
 */
#include "config.h"

#include <sys/socket.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_worker.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const int uses[] = {LISTEN_NAMED, LISTEN_N4};
	static struct worker *w;
	int		      use, type, fd;

	if (w == NULL) {
		w = fuzz_worker(WORKER_RENDEZVOUS, uses, 2);
		fuzz_start(w);
	}
	if (n < 1)
		return 0;
	use = d[0] & 1 ? LISTEN_N4 : LISTEN_NAMED;
	type = d[0] & 2 ? SOCK_DGRAM : SOCK_STREAM;
	fd = fuzz_connect(w, use, type);
	if (n > 1)
		fuzz_send_all(fd, d + 1, n - 1); /* the server may close first */
	fuzz_finish(w, fd);
	return 0;
}

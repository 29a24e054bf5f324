/*
 * libFuzzer: the tracker's answer path (server/tracker_req.c and the
 * group code behind it) on a real worker and state table.  The first
 * byte picks UDP or TCP; over UDP every answer keeps the rule of at most
 * max(3 x the request, 128) bytes.  Logged lines stay sanitized.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_worker.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct worker  *w;
	static struct listener l;
	struct sockaddr_storage from;
	struct listener	      *via;
	socklen_t	       len;
	uint8_t		       out[4096];
	ssize_t		       got;
	int		       tcp;

	if (w == NULL) {
		w = fuzz_worker(WORKER_TRACKER, NULL, 0);
		l.kind = WORKER_TRACKER;
		l.type = SOCK_DGRAM;
		l.alt = -1;
		l.shard = -1;
		l.fd = -1;
		addr_parse("127.0.0.1:3478", 0, &l.addr, &(const char *){0});
	}
	if (n < 1)
		return 0;
	tcp = d[0] & 1;
	d++;
	n--;
	fuzz_peer(&from, &len);
	got = tracker_answer(w, &l, d, n, (struct sockaddr *)&from,
	    (struct sockaddr *)&l.addr.ss, tcp, NULL, out, sizeof(out), &via);
	if (got > (ssize_t)sizeof(out) || (got >= 0 && via == NULL))
		abort();
	if (!tcp && got > (ssize_t)(n * 3 > 128 ? n * 3 : 128))
		abort();
	fuzz_log_check();
	return 0;
}

/*
 * The tracker worker: STUN and the NatTrackerServer text protocol on
 * 3478.  Datagrams are taken and answered in batches (recvmmsg/sendmmsg)
 * from buffers allocated once, so the hot path allocates nothing.
 */
#include "config.h"

#include <sys/socket.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "natserver.h"

#define TRACKER_BATCH	  32
#define TRACKER_DGRAM_MAX 2048
#define TRACKER_REPLY_MAX 512
#define TRACKER_BATCHES	  8 /* per read event, for fairness */

struct tracker_batch {
	struct mmsghdr		in[TRACKER_BATCH];
	struct mmsghdr		out[TRACKER_BATCH];
	struct iovec		iov_in[TRACKER_BATCH];
	struct iovec		iov_out[TRACKER_BATCH];
	struct sockaddr_storage from[TRACKER_BATCH];
	char			buf[TRACKER_BATCH][TRACKER_DGRAM_MAX];
	char			reply[TRACKER_BATCH][TRACKER_REPLY_MAX];
};

static struct tracker_batch tb;

static size_t tracker_answer(struct worker *, const char *, size_t,
    const struct sockaddr *, char *, size_t);
static void   tracker_dgram(struct worker *, struct listener *);

/*
 * One datagram's answer, or 0 to drop it.  Text requests start with "//";
 * the answer is at most max(3 × the request, 128) bytes, so the server
 * cannot be used to amplify a spoofed flood.
 */
static size_t
tracker_answer(struct worker *w, const char *req, size_t len,
    const struct sockaddr *from, char *out, size_t outmax)
{
	size_t cap = len * 3 > 128 ? len * 3 : 128;
	int    n;

	if (cap > outmax)
		cap = outmax;
	if (len < 2 || req[0] != '/' || req[1] != '/') {
		proc_count(w, STAT_DROP_JUNK);
		return 0;
	}
	proc_count(w, STAT_REQUESTS);
	while (len > 0 && (req[len - 1] == '\n' || req[len - 1] == '\r'))
		len--;
	if (len == 5 && memcmp(req, "//nat", 5) == 0) {
		char a[ADDR_STRLEN];

		addr_format_sa(from, a, sizeof(a));
		n = snprintf(out, cap, "%s", a);
	} else {
		proc_count(w, STAT_ERRORS);
		n = snprintf(out, cap, "error: unknown request");
	}
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Read what is queued, a batch at a time, and answer it. */
static void
tracker_dgram(struct worker *w, struct listener *l)
{
	int i, n, nout, b, sent;

	for (b = 0; b < TRACKER_BATCHES; b++) {
		for (i = 0; i < TRACKER_BATCH; i++) {
			tb.iov_in[i].iov_base = tb.buf[i];
			tb.iov_in[i].iov_len = TRACKER_DGRAM_MAX;
			memset(&tb.in[i].msg_hdr, 0, sizeof(tb.in[i].msg_hdr));
			tb.in[i].msg_hdr.msg_iov = &tb.iov_in[i];
			tb.in[i].msg_hdr.msg_iovlen = 1;
			tb.in[i].msg_hdr.msg_name = &tb.from[i];
			tb.in[i].msg_hdr.msg_namelen = sizeof(tb.from[i]);
		}
		n = recvmmsg(l->fd, tb.in, TRACKER_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0, nout = 0; i < n; i++) {
			struct msghdr *h = &tb.in[i].msg_hdr;
			size_t	       len;

			if (h->msg_flags & MSG_TRUNC) {
				proc_count(w, STAT_DROP_JUNK);
				continue;
			}
			len = tracker_answer(w, tb.buf[i], tb.in[i].msg_len,
			    h->msg_name, tb.reply[nout], TRACKER_REPLY_MAX);
			if (len == 0)
				continue;
			tb.iov_out[nout].iov_base = tb.reply[nout];
			tb.iov_out[nout].iov_len = len;
			memset(&tb.out[nout].msg_hdr, 0, sizeof(struct msghdr));
			tb.out[nout].msg_hdr.msg_iov = &tb.iov_out[nout];
			tb.out[nout].msg_hdr.msg_iovlen = 1;
			tb.out[nout].msg_hdr.msg_name = h->msg_name;
			tb.out[nout].msg_hdr.msg_namelen = h->msg_namelen;
			nout++;
		}
		for (i = 0; i < nout; i += sent) {
			sent = sendmmsg(l->fd, tb.out + i, (unsigned)(nout - i),
			    MSG_DONTWAIT);
			if (sent <= 0) {
				/* Skip the one the kernel refused. */
				proc_count(w, STAT_DROP_SEND);
				sent = 1;
			} else
				w->slot->counter[STAT_REPLIES] +=
				    (uint64_t)sent;
		}
		if (n < TRACKER_BATCH)
			return;
	}
}

void
tracker_main(struct worker *w)
{
	/* TCP serves the same protocols once they need it; not yet. */
	worker_listen(w, tracker_dgram, worker_refuse_conn);
}

/*
 * The tracker worker: STUN and the NatTrackerServer text protocol on
 * 3478.  Datagrams are taken and answered in batches (recvmmsg/sendmmsg)
 * from buffers allocated once, so the hot path allocates nothing.  Each
 * answer leaves from the local address its request came to (IP_PKTINFO),
 * which a multi-homed server needs and STUN's SOURCE-ADDRESS reports.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <string.h>

#include "gate.h"
#include "log.h"
#include "natserver.h"
#include "turn.h"

#define TRACKER_BATCH	  32
#define TRACKER_DGRAM_MAX (4096 + 128) /* a TURN payload and its header */
#define TRACKER_REPLY_MAX 512
#define TRACKER_BATCHES	  8 /* per read event, for fairness */
#define TRACKER_CTL_LEN	  CMSG_SPACE(sizeof(struct in6_pktinfo))

struct tracker_batch {
	struct mmsghdr		in[TRACKER_BATCH];
	struct mmsghdr		out[TRACKER_BATCH];
	struct iovec		iov_in[TRACKER_BATCH];
	struct iovec		iov_out[TRACKER_BATCH];
	struct sockaddr_storage from[TRACKER_BATCH];
	struct sockaddr_storage local[TRACKER_BATCH];
	uint8_t			buf[TRACKER_BATCH][TRACKER_DGRAM_MAX];
	uint8_t			reply[TRACKER_BATCH][TRACKER_REPLY_MAX];
	char			ctl_in[TRACKER_BATCH][TRACKER_CTL_LEN];
	char			ctl_out[TRACKER_BATCH][TRACKER_CTL_LEN];
};

static struct tracker_batch tb;

static void tracker_dgram(struct worker *, struct listener *);

/*
 * The local address a datagram came to, from its pktinfo, with the port
 * of the socket; and the control message that sends the answer from it.
 */
static void
tracker_local(struct listener *l, struct msghdr *in, struct sockaddr *local,
    struct msghdr *out, char *ctl)
{
	struct cmsghdr *c;

	memcpy(local, &l->addr.ss, l->addr.len);
	out->msg_control = NULL;
	out->msg_controllen = 0;
	for (c = CMSG_FIRSTHDR(in); c != NULL; c = CMSG_NXTHDR(in, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in *)local)->sin_addr = pi.ipi_addr;
			worker_pktinfo(out, ctl, AF_INET, &pi.ipi_addr);
			return;
		}
		if (c->cmsg_level == IPPROTO_IPV6 &&
		    c->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			((struct sockaddr_in6 *)local)->sin6_addr =
			    pi.ipi6_addr;
			worker_pktinfo(out, ctl, AF_INET6, &pi.ipi6_addr);
			return;
		}
	}
}

/*
 * Read what is queued, a batch at a time, and answer it: up to
 * TRACKER_BATCHES batches, so that under load a batch that came while
 * the last was answered is read without another trip through epoll.
 */
static void
tracker_dgram(struct worker *w, struct listener *l)
{
	int i, n, nout, b;

	for (b = 0; b < TRACKER_BATCHES; b++) {
		for (i = 0; i < TRACKER_BATCH; i++) {
			struct msghdr *h = &tb.in[i].msg_hdr;

			tb.iov_in[i].iov_base = tb.buf[i];
			tb.iov_in[i].iov_len = TRACKER_DGRAM_MAX;
			memset(h, 0, sizeof(*h));
			h->msg_iov = &tb.iov_in[i];
			h->msg_iovlen = 1;
			h->msg_name = &tb.from[i];
			h->msg_namelen = sizeof(tb.from[i]);
			h->msg_control = tb.ctl_in[i];
			h->msg_controllen = TRACKER_CTL_LEN;
		}
		n = recvmmsg(l->fd, tb.in, TRACKER_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (i = 0, nout = 0; i < n; i++) {
			struct msghdr	*h = &tb.in[i].msg_hdr;
			struct msghdr	*o = &tb.out[nout].msg_hdr;
			struct listener *via;
			ssize_t		 len;

			if (h->msg_flags & MSG_TRUNC) {
				proc_count(w, STAT_DROP_JUNK);
				continue;
			}
			memset(o, 0, sizeof(*o));
			tracker_local(l, h, (struct sockaddr *)&tb.local[i], o,
			    tb.ctl_out[nout]);
			len = tracker_answer(w, l, tb.buf[i], tb.in[i].msg_len,
			    h->msg_name, (struct sockaddr *)&tb.local[i], 0,
			    NULL, tb.reply[nout], TRACKER_REPLY_MAX, &via);
			if (len < 0)
				continue;
			if (via != l) {
				/* RFC 5780: from another address or port. */
				if (sendto(via->fd, tb.reply[nout], (size_t)len,
					MSG_DONTWAIT, h->msg_name,
					h->msg_namelen) == -1)
					proc_count(w, STAT_DROP_SEND);
				else
					proc_count(w, STAT_REPLIES);
				continue;
			}
			tb.iov_out[nout].iov_base = tb.reply[nout];
			tb.iov_out[nout].iov_len = (size_t)len;
			o->msg_iov = &tb.iov_out[nout];
			o->msg_iovlen = 1;
			o->msg_name = h->msg_name;
			o->msg_namelen = h->msg_namelen;
			nout++;
		}
		worker_sendmmsg(w, l->fd, tb.out, nout, STAT_REPLIES);
	}
}

void
tracker_main(struct worker *w)
{
	tracker_rfc5780_init(w);
	if (turn_enabled(w->conf))
		turn_alloc_start(w);
	gate_set(LISTEN_TRACKER, w->conf->tracker_max_connections,
	    w->conf->tracker_per_ip, GATE_SAY_TEXT);
	worker_listen(w, tracker_dgram, tracker_accept);
	tracker_fed_start(w);
}

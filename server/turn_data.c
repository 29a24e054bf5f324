/*
 * TURN's data path: a client's ChannelData and Send indications to its
 * peers, and the peers' datagrams back as ChannelData (when a channel is
 * bound) or Data indications, read and sent in batches (recvmmsg and
 * sendmmsg) from buffers allocated once.  Each datagram is checked
 * against the allocation's permissions and spends its turn.max_bps.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sodium.h>
#include <string.h>

#include "stun.h"
#include "table.h"
#include "turn.h"

#define TURN_BATCH	 16
#define TURN_BATCHES	 4    /* per read event, for fairness */
#define TURN_HEAD	 48   /* room for a Data indication's header */
#define TURN_PAYLOAD_MAX 4096 /* longer datagrams are dropped */
#define TURN_CTL_LEN	 CMSG_SPACE(sizeof(struct in6_pktinfo))
#define TURN_TCP_QUEUE	 (64 * 1024) /* queued to a TCP client, at most */

static uint8_t turn_ind_tid[12]; /* Data indications' ids */

/* Buffers for datagrams from peers, allocated once. */
static struct {
	struct mmsghdr		in[TURN_BATCH], out[TURN_BATCH];
	struct iovec		iov_in[TURN_BATCH], iov_out[TURN_BATCH];
	struct sockaddr_storage from[TURN_BATCH], to;
	uint8_t buf[TURN_BATCH][TURN_HEAD + TURN_PAYLOAD_MAX + 4];
	char	ctl[TURN_CTL_LEN];
} tp;

void
turn_data_init(void)
{
	randombytes_buf(turn_ind_tid, sizeof(turn_ind_tid));
}

/* Has the peer's IP a permission? */
int
turn_permitted(const struct turn_alloc *a, const struct turn_addr *peer)
{
	int i;

	for (i = 0; i < a->nperm; i++)
		if (turn_addr_same_ip(&a->perm[i].peer, peer))
			return 1;
	return 0;
}

/* Spend len bytes of the allocation's turn.max_bps: 0, or -1 when over. */
static int
turn_spend(struct turn_alloc *a, size_t len)
{
	int64_t bps = a->w->conf->turn_max_bps, now;

	if (bps == 0)
		return 0;
	now = table_now_ms();
	a->tokens += (now - a->refill_ms) * bps / 1000;
	a->refill_ms = now;
	if (a->tokens > bps)
		a->tokens = bps;
	if (a->tokens < (int64_t)len) {
		proc_count(a->w, STAT_TURN_OVER_BPS);
		return -1;
	}
	a->tokens -= (int64_t)len;
	return 0;
}

static void
turn_to_peer(struct turn_alloc *a, const struct sockaddr *peer, socklen_t plen,
    const uint8_t *data, size_t len)
{
	if (turn_spend(a, len) == -1)
		return;
	if (sendto(a->fd, data, len, MSG_DONTWAIT, peer, plen) == -1) {
		proc_count(a->w, STAT_DROP_SEND);
		return;
	}
	a->w->slot->counter[STAT_TURN_PKTS_OUT]++;
	a->w->slot->counter[STAT_TURN_BYTES_OUT] += len;
}

/* A Send indication's data, to a peer with a permission. */
void
turn_alloc_send(struct turn_alloc *a, const struct sockaddr *peer,
    const uint8_t *data, size_t len)
{
	struct turn_addr p;

	turn_addr_set(&p, peer);
	if (peer->sa_family != a->relayed.family || !turn_permitted(a, &p)) {
		proc_count(a->w, STAT_TURN_NO_PERM);
		return;
	}
	turn_to_peer(a, peer,
	    peer->sa_family == AF_INET ? sizeof(struct sockaddr_in)
				       : sizeof(struct sockaddr_in6),
	    data, len);
}

/* ChannelData's payload, to the peer bound to the channel. */
void
turn_alloc_channel_send(struct turn_alloc *a, uint16_t num, const uint8_t *data,
    size_t len)
{
	struct sockaddr_storage ss;
	socklen_t		sl;
	int			i;

	for (i = 0; i < a->nchan; i++)
		if (a->chan[i].num == num)
			break;
	if (i == a->nchan || !turn_permitted(a, &a->chan[i].peer)) {
		proc_count(a->w, STAT_TURN_NO_PERM);
		return;
	}
	sl = turn_addr_get(&a->chan[i].peer, &ss);
	turn_to_peer(a, (struct sockaddr *)&ss, sl, data, len);
}

/*
 * Wrap a peer's datagram at buf + TURN_HEAD (len bytes) for the client:
 * ChannelData when a channel is bound to the peer, else a Data
 * indication.  Returns where the message starts, its length in *out.
 */
static uint8_t *
turn_wrap(struct turn_alloc *a, uint8_t *buf, size_t len,
    const struct sockaddr *peer, const struct turn_addr *p, size_t *out)
{
	struct stunbuf b;
	uint8_t	       head[TURN_HEAD], *at;
	size_t	       pad = (4 - (len & 3)) & 3;
	int	       i;

	for (i = 0; i < a->nchan; i++)
		if (memcmp(&a->chan[i].peer, p, sizeof(*p)) == 0) {
			at = buf + TURN_HEAD - 4;
			at[0] = (uint8_t)(a->chan[i].num >> 8);
			at[1] = (uint8_t)a->chan[i].num;
			at[2] = (uint8_t)(len >> 8);
			at[3] = (uint8_t)len;
			*out = len + 4;
			return at;
		}
	/* Indications need unique ids only: a counter in a random id. */
	for (i = 11; i >= 0 && ++turn_ind_tid[i] == 0; i--)
		;
	stunbuf_start(&b, head, sizeof(head),
	    (uint16_t)(TURN_DATA | STUNMSG_CLASS_INDICATION), turn_ind_tid);
	stunbuf_xaddr(&b, TURN_ATTR_XOR_PEER_ADDRESS, peer);
	head[b.len] = (uint8_t)(TURN_ATTR_DATA >> 8);
	head[b.len + 1] = (uint8_t)TURN_ATTR_DATA;
	head[b.len + 2] = (uint8_t)(len >> 8);
	head[b.len + 3] = (uint8_t)len;
	b.len += 4;
	head[2] = (uint8_t)((b.len - STUN_HDR_LEN + len + pad) >> 8);
	head[3] = (uint8_t)(b.len - STUN_HDR_LEN + len + pad);
	at = buf + TURN_HEAD - b.len;
	memcpy(at, head, b.len);
	memset(buf + TURN_HEAD + len, 0, pad);
	*out = b.len + len + pad;
	return at;
}

/*
 * A peer's datagram to a client over TCP: framed as over UDP, ChannelData
 * padded to a word; dropped (and counted) while the client is slow.
 */
static void
turn_to_stream(struct turn_alloc *a, uint8_t *buf, size_t len,
    const struct sockaddr *peer, const struct turn_addr *p)
{
	struct evbuffer *out = bufferevent_get_output(a->bev);
	uint8_t		*at;
	size_t		 olen;

	if (evbuffer_get_length(out) > TURN_TCP_QUEUE) {
		proc_count(a->w, STAT_DROP_SEND);
		return;
	}
	at = turn_wrap(a, buf, len, peer, p, &olen);
	if ((at[0] & 0xc0) == 0x40) {
		memset(at + olen, 0, (4 - (olen & 3)) & 3);
		olen = (olen + 3) & ~(size_t)3;
	}
	if (evbuffer_add(out, at, olen) == -1) {
		proc_count(a->w, STAT_DROP_SEND);
		return;
	}
	a->w->slot->counter[STAT_TURN_BYTES_IN] += len;
	a->w->slot->counter[STAT_TURN_PKTS_IN]++;
}

/* Datagrams from peers: to the client, if permitted. */
void
turn_peer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct turn_alloc *a = arg;
	struct worker	  *w = a->w;
	socklen_t	   tolen;
	int		   i, n, nout, b;

	(void)ev;
	tolen = turn_addr_get(&a->client, &tp.to);
	for (b = 0; b < TURN_BATCHES; b++) {
		for (i = 0; i < TURN_BATCH; i++) {
			struct msghdr *h = &tp.in[i].msg_hdr;

			memset(h, 0, sizeof(*h));
			tp.iov_in[i].iov_base = tp.buf[i] + TURN_HEAD;
			tp.iov_in[i].iov_len = TURN_PAYLOAD_MAX;
			h->msg_iov = &tp.iov_in[i];
			h->msg_iovlen = 1;
			h->msg_name = &tp.from[i];
			h->msg_namelen = sizeof(tp.from[i]);
		}
		if ((n = recvmmsg(fd, tp.in, TURN_BATCH, MSG_DONTWAIT, NULL)) <=
		    0)
			return;
		for (i = 0, nout = 0; i < n; i++) {
			struct msghdr	*o = &tp.out[nout].msg_hdr;
			struct turn_addr p;
			size_t		 len = tp.in[i].msg_len, olen;

			turn_addr_set(&p, (struct sockaddr *)&tp.from[i]);
			if (tp.in[i].msg_hdr.msg_flags & MSG_TRUNC) {
				proc_count(w, STAT_DROP_JUNK);
				continue;
			}
			if (!turn_permitted(a, &p)) {
				proc_count(w, STAT_TURN_NO_PERM);
				continue;
			}
			if (turn_spend(a, len) == -1)
				continue;
			if (a->bev != NULL) {
				turn_to_stream(a, tp.buf[i], len,
				    (struct sockaddr *)&tp.from[i], &p);
				continue;
			}
			memset(o, 0, sizeof(*o));
			tp.iov_out[nout].iov_base = turn_wrap(a, tp.buf[i], len,
			    (struct sockaddr *)&tp.from[i], &p, &olen);
			tp.iov_out[nout].iov_len = olen;
			o->msg_iov = &tp.iov_out[nout];
			o->msg_iovlen = 1;
			o->msg_name = &tp.to;
			o->msg_namelen = tolen;
			/* From the address the client sent its request to. */
			worker_pktinfo(o, tp.ctl, a->local.family, a->local.ip);
			w->slot->counter[STAT_TURN_BYTES_IN] += len;
			nout++;
		}
		worker_sendmmsg(w, a->l->fd, tp.out, nout, STAT_TURN_PKTS_IN);
	}
}

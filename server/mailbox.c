/*
 * Mailboxes: how one worker reaches another of its kind.  Before it
 * forks, the master makes one unix datagram socket pair per worker
 * ordinal of the kinds that pass messages.  Every worker keeps all the
 * sending ends and only its own receiving end, so any worker can post a
 * message (and, later, a descriptor) to any other, and a respawned worker
 * takes its ordinal's mailbox over.  Messages carry connection ids with a
 * generation, so mail meant for a dead worker's connections is ignored.
 */
#include "config.h"

#include <sys/socket.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"

/* [kind][ordinal][0] receives, [1] sends; -1 when the kind has none. */
static int mailbox_fds[WORKER_KINDS][ORDINALS_MAX][2];

static int
mailbox_kind_used(int kind)
{
	return kind == WORKER_RENDEZVOUS || kind == WORKER_RELAY;
}

static int mailbox_n[WORKER_KINDS]; /* made for ordinals 0..n-1 */

/*
 * Make the mailboxes the config's workers need, before they fork: one
 * per ordinal, twice as many for a kind that drains (the new workers
 * and those draining after a reload).  Called again on reload, it adds
 * what a larger config needs; the workers forked after see them all.
 */
void
mailbox_create(const struct server_conf *c)
{
	int k, i, want;

	for (k = 0; k < WORKER_KINDS; k++) {
		want = server_conf_workers(c, k) * (roles[k].drain ? 2 : 1);
		if (!mailbox_kind_used(k))
			want = 0;
		for (i = mailbox_n[k]; i < want && i < ORDINALS_MAX; i++) {
			if (socketpair(AF_UNIX,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				mailbox_fds[k][i]) == -1)
				fatal("mailbox socketpair");
			mailbox_n[k] = i + 1;
		}
	}
}

/* Ordinals of kind that have a mailbox. */
int
mailbox_count(int kind)
{
	return mailbox_n[kind];
}

/* In a new worker: keep what it may use, close the rest. */
void
mailbox_keep(int kind, int ordinal)
{
	int k, i;

	for (k = 0; k < WORKER_KINDS; k++)
		for (i = 0; i < mailbox_n[k]; i++) {
			if (k != kind || i != ordinal) {
				close(mailbox_fds[k][i][0]);
				mailbox_fds[k][i][0] = -1;
			}
			if (k != kind) {
				close(mailbox_fds[k][i][1]);
				mailbox_fds[k][i][1] = -1;
			}
		}
}

/* This worker's receiving end. */
int
mailbox_fd(const struct worker *w)
{
	if (w->ordinal >= mailbox_n[w->kind])
		return -1;
	return mailbox_fds[w->kind][w->ordinal][0];
}

/*
 * Post one message to worker ordinal of this worker's kind, with a
 * descriptor when fd is not -1: 0, or -1 when the mailbox is full or the
 * message too long (the caller counts it).
 */
int
mailbox_post(const struct worker *w, int ordinal, const void *msg, size_t len,
    int fd)
{
	struct iovec  iov = {(void *)msg, len};
	struct msghdr mh;
	union {
		struct cmsghdr h;
		char	       buf[CMSG_SPACE(sizeof(int))];
	} ctl;

	if (ordinal < 0 || ordinal >= mailbox_n[w->kind] ||
	    mailbox_fds[w->kind][ordinal][1] == -1)
		return -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (fd != -1) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), &fd, sizeof(int));
	}
	if (sendmsg(mailbox_fds[w->kind][ordinal][1], &mh, MSG_DONTWAIT) !=
	    (ssize_t)len)
		return -1;
	return 0;
}

/*
 * Read one message; its length, or -1 when there is none.  *fd gets the
 * descriptor that came with it, or -1.
 */
ssize_t
mailbox_read(const struct worker *w, void *buf, size_t len, int *fd)
{
	struct iovec	iov = {buf, len};
	struct msghdr	mh;
	struct cmsghdr *c;
	ssize_t		n;
	union {
		struct cmsghdr h;
		char	       buf[CMSG_SPACE(sizeof(int))];
	} ctl;

	*fd = -1;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = ctl.buf;
	mh.msg_controllen = sizeof(ctl.buf);
	n = recvmsg(mailbox_fd(w), &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1)
		return -1;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(c), sizeof(int));
	if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
		/* A length or a descriptor count no sender uses. */
		if (*fd != -1)
			close(*fd);
		*fd = -1;
		return 0;
	}
	return n;
}

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
static int mailbox_fds[WORKER_KINDS][WORKERS_MAX][2];

static int
mailbox_kind_used(int kind)
{
	return kind == WORKER_RENDEZVOUS || kind == WORKER_RELAY;
}

void
mailbox_create(void)
{
	int k, i;

	for (k = 0; k < WORKER_KINDS; k++)
		for (i = 0; i < WORKERS_MAX; i++) {
			mailbox_fds[k][i][0] = mailbox_fds[k][i][1] = -1;
			if (mailbox_kind_used(k) &&
			    socketpair(AF_UNIX,
				SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
				mailbox_fds[k][i]) == -1)
				fatal("mailbox socketpair");
		}
}

/* In a new worker: keep what it may use, close the rest. */
void
mailbox_keep(int kind, int ordinal)
{
	int k, i;

	for (k = 0; k < WORKER_KINDS; k++)
		for (i = 0; i < WORKERS_MAX; i++) {
			if (mailbox_fds[k][i][0] == -1)
				continue;
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
	return mailbox_fds[w->kind][w->ordinal][0];
}

/*
 * Post one message to worker ordinal of this worker's kind: 0, or -1 when
 * the mailbox is full or the message too long (the caller counts it).
 */
int
mailbox_post(const struct worker *w, int ordinal, const void *msg, size_t len)
{
	if (ordinal < 0 || ordinal >= WORKERS_MAX ||
	    mailbox_fds[w->kind][ordinal][1] == -1)
		return -1;
	if (send(mailbox_fds[w->kind][ordinal][1], msg, len, MSG_DONTWAIT) !=
	    (ssize_t)len)
		return -1;
	return 0;
}

/* Read one message; its length, or -1 when there is none. */
ssize_t
mailbox_read(const struct worker *w, void *buf, size_t len)
{
	ssize_t n;

	n = recv(mailbox_fd(w), buf, len, MSG_DONTWAIT | MSG_TRUNC);
	if (n > (ssize_t)len)
		return 0; /* cut: a length no sender uses; skipped */
	return n;
}

/*
 * Starting a worker process.  This file knows nothing about what a worker
 * does: it forks, drops privileges, ties the worker's life to the master's,
 * runs the role's main function inside a fresh libevent loop, and beats
 * the heartbeat that the master watches.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/types.h>
#include <event2/event.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"

static pid_t		  proc_master;
static const struct role *proc_role;

static void proc_drop_privileges(uid_t, gid_t);
static void proc_signal_cb(evutil_socket_t, short, void *);
static void proc_tick_cb(evutil_socket_t, short, void *);

/* Never returns on failure: a worker that stays root must not run. */
static void
proc_drop_privileges(uid_t uid, gid_t gid)
{
	if (geteuid() != 0)
		return;
	if (setgroups(1, &gid) == -1 || setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1) {
		log_warn("cannot drop privileges to uid %u gid %u",
		    (unsigned)uid, (unsigned)gid);
		exit(WORKER_EXIT_NORESPAWN);
	}
}

/*
 * SIGTERM/SIGINT: a kind that drains stops accepting and finishes what
 * it holds (the tick sees when it is done); others, or a second signal,
 * end the loop at once.
 */
static void
proc_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct worker *w = arg;

	(void)ev;
	if (proc_role->drain != NULL && !w->draining) {
		w->draining = 1;
		worker_unlisten(w);
		proc_role->drain(w);
		log_debug("signal %d: draining", (int)sig);
		return;
	}
	log_debug("signal %d: exiting", (int)sig);
	event_base_loopexit(w->base, NULL);
}

/* Once a second: heartbeat, and exit if the master is gone. */
static void
proc_tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)ev;
	w->slot->heartbeat_ms = table_now_ms();
	if (w->draining && proc_role->busy(w) == 0) {
		log_debug("drained: exiting");
		event_base_loopexit(w->base, NULL);
	}
	if (getppid() != proc_master) {
		log_warnx("master is gone: exiting");
		event_base_loopexit(w->base, NULL);
	}
}

/*
 * Fork a worker of role r.  In the child, cleanup(arg) first releases what
 * only the master may hold.  The caller blocks signals around the call;
 * the child unblocks them once its own handlers are in place.
 */
pid_t
proc_spawn(const struct role *r, struct worker *w, pid_t master, uid_t uid,
    gid_t gid, void (*cleanup)(void *), void *arg)
{
	struct event  *sigterm, *sigint, *tick;
	struct timeval second = {1, 0};
	sigset_t       none;
	pid_t	       pid;
	int	       i;

	if ((pid = fork()) != 0)
		return pid;

	proc_master = master;
	proc_role = r;
	cleanup(arg);
	log_set_role(r->name);
	proctitle_set("%s worker", r->name);
	for (i = 0; i < w->ls->n; i++)
		if ((w->ls->v[i].kind != w->kind ||
			(w->ls->v[i].shard >= 0 &&
			    w->ls->v[i].shard != w->ordinal)) &&
		    w->ls->v[i].fd != -1) {
			close(w->ls->v[i].fd);
			w->ls->v[i].fd = -1;
		}
	mailbox_keep(w->kind, w->ordinal);
	proc_drop_privileges(uid, gid);
	/* setuid() clears the death signal, so set it afterwards. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("prctl(PR_SET_PDEATHSIG)");
	if (getppid() != master)
		exit(0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);

	if ((w->base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	sigterm = evsignal_new(w->base, SIGTERM, proc_signal_cb, w);
	sigint = evsignal_new(w->base, SIGINT, proc_signal_cb, w);
	tick = event_new(w->base, -1, EV_PERSIST, proc_tick_cb, w);
	if (sigterm == NULL || sigint == NULL || tick == NULL ||
	    evsignal_add(sigterm, NULL) == -1 ||
	    evsignal_add(sigint, NULL) == -1 ||
	    evtimer_add(tick, &second) == -1)
		fatalx("cannot set up the event loop");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	w->slot->heartbeat_ms = table_now_ms();
	r->main(w);
	log_debug("serving");
	if (event_base_dispatch(w->base) == -1)
		fatalx("event loop failed");
	exit(0);
}

/* Count an event in this worker's own slot. */
void
proc_count(struct worker *w, int counter)
{
	w->slot->counter[counter]++;
}

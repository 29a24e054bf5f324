/*
 * [listen NAME] and [connect NAME]: a peer link of the agent, run as
 * one child process per service (natclient listen --keep-listening, or
 * natclient connect --local), supervised: restarted with back-off when
 * it ends, stopped with SIGTERM when its section goes.  The punching
 * and the sealed path are the blocking code of listen and connect, not
 * yet the agent's loop: a process per service, never per visitor.
 */
#include "config.h"

#include <sys/wait.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "agent_link.h"

#define CHILD_BACKOFF_MAX 30
#define CHILD_ARGS_MAX	  32

struct child_run {
	struct service *s;
	pid_t		pid;
	int		backoff, restarts, last_status;
	struct event   *timer, *sigchld;
	struct agent_link link; /* what the child says of its path */
};

static void child_spawn(struct child_run *);

/* The command line of the service's natclient. */
static void
child_argv(struct child_run *c, const char **av)
{
	const struct service_spec *p = &c->s->spec;
	const struct agent	  *a = c->s->a;
	int			   n = 0;

	av[n++] = "natclient";
	av[n++] = "-c";
	av[n++] = a->path;
	av[n++] = "-s";
	av[n++] = a->o.server;
	if (!a->o.tls)
		av[n++] = "--no-tls";
	if (p->secret_file[0] != '\0') {
		av[n++] = "--secret-file";
		av[n++] = p->secret_file;
	}
	if (c->s->kind == &listen_kind) {
		av[n++] = "listen";
		av[n++] = "--keep-listening";
		if (p->forward[0] != '\0') {
			av[n++] = "--forward";
			av[n++] = p->forward;
		}
		if (p->forward_tcp[0] != '\0') {
			av[n++] = "--forward-tcp";
			av[n++] = p->forward_tcp;
		}
		if (p->tcp)
			av[n++] = "--tcp";
		if (p->allow[0] != '\0') {
			av[n++] = "--allow";
			av[n++] = p->allow;
		}
		if (p->allow_any)
			av[n++] = "--allow-any";
	} else {
		static char port[8];

		snprintf(port, sizeof(port), "%d",
		    p->local_tcp ? p->local_tcp : p->local_port);
		av[n++] = "connect";
		av[n++] = p->local_tcp ? "--local-tcp" : "--local";
		av[n++] = port;
		if (p->peer_key[0] != '\0') {
			av[n++] = "--peer-key";
			av[n++] = p->peer_key;
		}
	}
	av[n++] = p->name;
	av[n] = NULL;
}

static void
child_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	child_spawn(arg);
}

/* A child ended (any child: the others' are theirs to reap). */
static void
child_sigchld_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct child_run *c = arg;
	struct timeval	  tv;
	int		  status;

	(void)sig;
	(void)ev;
	if (c->pid <= 0 || waitpid(c->pid, &status, WNOHANG) != c->pid)
		return;
	c->pid = 0;
	c->last_status = status;
	agent_link_close(&c->link);
	agent_link_reset(&c->link);
	agent_error(c->s, "%s ended (%s %d); again in %d s",
	    c->s->kind->name, WIFEXITED(status) ? "exit" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
	    c->backoff);
	agent_state(c->s, "restarting");
	tv.tv_sec = c->backoff;
	tv.tv_usec = 0;
	evtimer_add(c->timer, &tv);
	c->backoff = c->backoff * 2 > CHILD_BACKOFF_MAX ? CHILD_BACKOFF_MAX
							: c->backoff * 2;
}

static void
child_spawn(struct child_run *c)
{
	const char *av[CHILD_ARGS_MAX];
	int	    status_fd;

	child_argv(c, av);
	status_fd = agent_link_open(&c->link, c->s);
	if ((c->pid = fork()) == -1) {
		agent_error(c->s, "fork: %s", strerror(errno));
		c->pid = 0;
		if (status_fd != -1)
			close(status_fd);
		return;
	}
	if (c->pid == 0) {
		agent_link_child(status_fd);
		signal(SIGPIPE, SIG_DFL);
		execv(c->s->a->self, (char *const *)av);
		fprintf(stderr, "natclient: %s: %s\n", c->s->a->self,
		    strerror(errno));
		_exit(127);
	}
	if (status_fd != -1)
		close(status_fd);
	c->restarts++;
	agent_state(c->s, "running");
}

static int
child_start(struct service *s, char *why, size_t len)
{
	struct child_run *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	c->s = s;
	c->link.fd = -1;
	c->backoff = 1;
	c->restarts = -1; /* the first start is not a restart */
	c->timer = evtimer_new(s->a->base, child_timer_cb, c);
	c->sigchld = evsignal_new(s->a->base, SIGCHLD, child_sigchld_cb, c);
	event_add(c->sigchld, NULL);
	s->run = c;
	child_spawn(c);
	return 0;
}

static void
child_stop(struct service *s)
{
	struct child_run *c = s->run;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		waitpid(c->pid, NULL, 0);
	}
	agent_link_close(&c->link);
	event_free(c->timer);
	event_free(c->sigchld);
	free(c);
}

static void
child_status(struct service *s, json_t *j)
{
	struct child_run *c = s->run;

	json_object_set_new(j, "pid", json_integer(c->pid));
	json_object_set_new(j, "restarts", json_integer(c->restarts));
	agent_link_status(&c->link, j);
}

static int
listen_check(const struct service_spec *p, char *why, size_t len)
{
	struct addr a;
	const char *bad;

	if (p->allow[0] == '\0' && p->secret_file[0] == '\0' && !p->allow_any) {
		snprintf(why, len,
		    "who may connect: allow_file, secret_file or allow_any");
		return -1;
	}
	if (p->tcp && p->forward[0] != '\0') {
		snprintf(why, len, "tcp carries a stream: not with forward");
		return -1;
	}
	if (p->forward[0] != '\0' && p->forward_tcp[0] != '\0') {
		snprintf(why, len, "forward (datagrams) or forward_tcp (TCP "
		    "connections): not both");
		return -1;
	}
	if (p->forward_tcp[0] != '\0' &&
	    addr_parse(p->forward_tcp, 0, &a, &bad) == -1) {
		snprintf(why, len, "forward_tcp %s: %s", p->forward_tcp, bad);
		return -1;
	}
	return 0;
}

static int
connect_check(const struct service_spec *p, char *why, size_t len)
{
	if ((p->local_port == 0) == (p->local_tcp == 0)) {
		snprintf(why, len, "local_port (datagrams) or local_tcp (TCP "
		    "connections): one of them, 1 to 65535");
		return -1;
	}
	return 0;
}

const struct service_kind listen_kind = {"listen", listen_keys, listen_check,
    child_start, child_stop, child_status};
const struct service_kind connect_kind = {"connect", connect_keys,
    connect_check, child_start, child_stop, child_status};

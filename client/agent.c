/*
 * natclient up: the agent.  One event loop serves every [KIND NAME]
 * section of natclient.conf: each is started by its kind's row
 * (agent_kinds), and counted for natclient status.  SIGHUP reads the
 * file again: services whose section changed are started again, new
 * ones started, gone ones stopped, and the others are not touched (nor
 * their streams); a file with an error is refused, line named, and the
 * services stay as they were.  A change to [client] (the server, the
 * token) starts every service again.  SIGTERM and SIGINT stop it.
 */
#include "config.h"

#include <sys/resource.h>
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

const struct service_kind *const agent_kinds[] = {&expose_kind, &listen_kind,
    &connect_kind, NULL};

/* The last error of a service: kept for status, and said on stderr. */
void
agent_error(struct service *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);
	va_end(ap);
	/* It may carry the server's or a peer's words. */
	client_sanitize(s->last_error, 0);
	fprintf(stderr, "natclient: %s: %s\n", s->spec.name, s->last_error);
}

void
agent_state(struct service *s, const char *state)
{
	snprintf(s->state, sizeof(s->state), "%s", state);
}

static struct service *
agent_find(struct agent *a, const char *name)
{
	struct service *s;

	LIST_FOREACH(s, &a->services, entry)
	if (strcmp(s->spec.name, name) == 0)
		return s;
	return NULL;
}

/* Start one; a service that cannot start is said and not kept. */
static void
agent_start(struct agent *a, const struct service_spec *spec)
{
	struct service *s = calloc(1, sizeof(*s));
	char		why[AGENT_ERROR_MAX] = "";

	if (s == NULL) {
		fprintf(stderr, "natclient: %s: out of memory\n", spec->name);
		return;
	}
	s->a = a;
	s->spec = *spec;
	s->kind = agent_kinds[spec->kind];
	agent_state(s, "starting");
	LIST_INSERT_HEAD(&a->services, s, entry);
	if (s->kind->start(s, why, sizeof(why)) == -1) {
		fprintf(stderr, "natclient: %s: not started: %s\n", spec->name,
		    why);
		LIST_REMOVE(s, entry);
		free(s);
		if (a->once)
			exit(1);
	}
}

static void
agent_stop(struct service *s)
{
	s->kind->stop(s);
	LIST_REMOVE(s, entry);
	free(s);
}

/* From what runs to what specs say. */
static void
agent_apply(struct agent *a, struct service_specs *specs, int all)
{
	struct service_spec *p;
	struct service	    *s, *next;

	for (s = LIST_FIRST(&a->services); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		STAILQ_FOREACH(p, specs, entry)
		if (strcmp(p->name, s->spec.name) == 0)
			break;
		if (p == NULL || all || !agent_spec_same(p, &s->spec)) {
			fprintf(stderr, "natclient: %s: stopped\n",
			    s->spec.name);
			agent_stop(s);
		}
	}
	STAILQ_FOREACH(p, specs, entry)
	if (agent_find(a, p->name) == NULL) {
		if (!a->once)
			fprintf(stderr, "natclient: %s: starting\n", p->name);
		agent_start(a, p);
	}
}

static void
agent_reload_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct agent	    *a = arg;
	struct service_specs specs;
	struct client_opts   o;
	char		     err[CONF_ERR_MAX];
	int		     all;

	(void)sig;
	(void)ev;
	memset(&o, 0, sizeof(o));
	if (agent_conf_load(a->path, &o, &specs, err, sizeof(err)) == -1) {
		fprintf(stderr,
		    "natclient: reload refused, the services stay as they "
		    "were: %s\n",
		    err);
		return;
	}
	/* [client] changed: everything starts again with it. */
	o.json = a->file.json;
	o.conf_path = a->file.conf_path;
	all = memcmp(&o, &a->file, sizeof(o)) != 0;
	if (all) {
		a->file = o;
		a->o = o;
	}
	agent_apply(a, &specs, all);
	agent_specs_free(&specs);
	fprintf(stderr, "natclient: reloaded %s\n", a->path);
}

static void
agent_stop_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct agent *a = arg;

	(void)ev;
	fprintf(stderr, "natclient: signal %d: stopping\n", (int)sig);
	event_base_loopbreak(a->base);
}

/* Visitors by the thousand: as many descriptors as we may have. */
static void
agent_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Serve specs until a signal stops it; 0. */
int
agent_run(struct agent *a, struct service_specs *specs)
{
	struct service *s;

	signal(SIGPIPE, SIG_IGN);
	agent_nofile();
	if ((a->base = event_base_new()) == NULL)
		client_fail(&a->o, "libevent cannot start");
	LIST_INIT(&a->services);
	a->started = client_now_ms();
	a->ctl_fd = -1;
	if (readlink("/proc/self/exe", a->self, sizeof(a->self) - 1) == -1)
		snprintf(a->self, sizeof(a->self), "natclient");
	a->sighup = evsignal_new(a->base, SIGHUP, agent_reload_cb, a);
	a->sigterm = evsignal_new(a->base, SIGTERM, agent_stop_cb, a);
	a->sigint = evsignal_new(a->base, SIGINT, agent_stop_cb, a);
	event_add(a->sigterm, NULL);
	event_add(a->sigint, NULL);
	if (!a->once) {
		event_add(a->sighup, NULL);
		if (agentctl_open(a) == -1)
			return 1;
	}
	agent_apply(a, specs, 0);
	if (!a->once)
		fprintf(stderr, "natclient: up: %d services from %s; status on %s\n",
		    agent_count(a), a->path, a->ctl_path);
	event_base_dispatch(a->base);
	while ((s = LIST_FIRST(&a->services)) != NULL)
		agent_stop(s);
	agentctl_close(a);
	return 0;
}

int
agent_count(struct agent *a)
{
	struct service *s;
	int		n = 0;

	LIST_FOREACH(s, &a->services, entry)
	n++;
	return n;
}

/* natclient -t: the file's services, checked, and nothing run. */
int
agent_test(const char *path)
{
	struct service_specs specs;
	struct service_spec *p;
	struct client_opts   o;
	char		     err[CONF_ERR_MAX];
	int		     n = 0;

	memset(&o, 0, sizeof(o));
	if (agent_conf_load(path, &o, &specs, err, sizeof(err)) == -1) {
		fprintf(stderr, "natclient: %s\n", err);
		return 2;
	}
	STAILQ_FOREACH(p, &specs, entry)
	n++;
	agent_specs_free(&specs);
	printf("natclient: %s: syntax ok, %d services\n", path, n);
	return 0;
}

int
cmd_up(struct client_opts *o, int argc, char **argv)
{
	static struct agent  a;
	struct service_specs specs;
	char		     err[CONF_ERR_MAX];

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient [-c natclient.conf] up");
	a.path = o->conf_path;
	memset(&a.file, 0, sizeof(a.file));
	if (agent_conf_load(a.path, &a.file, &specs, err, sizeof(err)) == -1)
		client_fail(o, "%s", err);
	a.file.json = o->json;
	a.file.conf_path = o->conf_path;
	a.o = *o;
	if (o->server[0] == '\0')
		client_fail(o, "no server: server in natclient.conf's [client], "
			       "or -s");
	agent_run(&a, &specs);
	agent_specs_free(&specs);
	return 0;
}

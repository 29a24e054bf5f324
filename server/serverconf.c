/*
 * natserver's configuration keys, their bounds and built-in defaults.
 * natserver.conf.5 and etc/natserver.conf document the same keys.
 */
#include "config.h"

#include <sys/resource.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "natserver.h"

#ifndef NATSERVER_PIDFILE
#define NATSERVER_PIDFILE "/var/run/natserver.pid"
#endif

#define OFF(f)	offsetof(struct server_conf, f)
#define UDP_TCP (CONF_PROTO_UDP | CONF_PROTO_TCP)

const struct conf_key server_conf_keys[] =
    {{"server", "user", CONF_STR, OFF(user),
	 sizeof(((struct server_conf *)0)->user), 0, 0, 0, "natserver"},
	{"server", "pidfile", CONF_STR, OFF(pidfile), PATH_MAX, 0, 0, 0,
	    NATSERVER_PIDFILE},
	{"server", "log_file", CONF_STR, OFF(log_file), PATH_MAX, 0, 0, 0, ""},
	{"server", "state_records", CONF_INT, OFF(state_records), 0, 64,
	    16 * 1024 * 1024, 0, "65536"},
	{"server", "shutdown_grace", CONF_INT, OFF(shutdown_grace), 0, 0, 3600,
	    0, "10"},
	{"tracker", "listen", CONF_LISTEN, OFF(tracker_listen), 0, 0, 0,
	    UDP_TCP, "0.0.0.0:3478 [::]:3478"},
	{"tracker", "workers", CONF_INT, OFF(tracker_workers), 0, 0,
	    WORKERS_MAX, 0, "2"},
	{"tracker", "max_connections", CONF_INT, OFF(tracker_max_connections),
	    0, 1, 1000000, 0, "1024"},
	{"rendezvous", "listen", CONF_LISTEN, OFF(n4_listen), 0, 0, 0, UDP_TCP,
	    "0.0.0.0:1721"},
	{"rendezvous", "named_listen", CONF_LISTEN, OFF(named_listen), 0, 0, 0,
	    UDP_TCP, "0.0.0.0:8848 [::]:8848"},
	{"rendezvous", "workers", CONF_INT, OFF(rendezvous_workers), 0, 0,
	    WORKERS_MAX, 0, "1"},
	{"rendezvous", "max_connections", CONF_INT,
	    OFF(rendezvous_max_connections), 0, 1, 1000000, 0, "16384"},
	{"relay", "listen", CONF_LISTEN, OFF(relay_listen), 0, 0, 0,
	    CONF_PROTO_TCP, "0.0.0.0:8888 [::]:8888"},
	{"relay", "workers", CONF_INT, OFF(relay_workers), 0, 0, WORKERS_MAX, 0,
	    "1"},
	{"relay", "max_connections", CONF_INT, OFF(relay_max_connections), 0, 1,
	    1000000, 0, "4096"},
	{"relay", "port_range", CONF_RANGE, OFF(relay_port_range), 0, 1, 65535,
	    0, "10000-20000"},
	{NULL, NULL, 0, 0, 0, 0, 0, 0, NULL}};

/* Load path (NULL: defaults only); err gets "file:line: key: why". */
int
server_conf_load(struct server_conf *c, const char *path, int must_exist,
    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (conf_load(server_conf_keys, c, path, must_exist, err, errlen) == -1)
		return -1;
	if (c->tracker_workers + c->rendezvous_workers + c->relay_workers ==
	    0) {
		snprintf(err, errlen,
		    "%s: no workers: set tracker.workers, "
		    "rendezvous.workers or relay.workers above 0",
		    path ? path : "(defaults)");
		return -1;
	}
	return 0;
}

int
server_conf_workers(const struct server_conf *c, int kind)
{
	switch (kind) {
	case WORKER_TRACKER:
		return c->tracker_workers;
	case WORKER_RENDEZVOUS:
		return c->rendezvous_workers;
	case WORKER_RELAY:
		return c->relay_workers;
	}
	return 0;
}

/*
 * Descriptors one process may need: its connections (two per relayed
 * stream), the listening sockets, and a margin for logs, pipes and
 * libevent.
 */
rlim_t
server_conf_nofile(const struct server_conf *c, int nlisteners)
{
	rlim_t need = (rlim_t)c->tracker_max_connections;

	if ((rlim_t)c->rendezvous_max_connections > need)
		need = (rlim_t)c->rendezvous_max_connections;
	if ((rlim_t)c->relay_max_connections * 2 > need)
		need = (rlim_t)c->relay_max_connections * 2;
	return need + (rlim_t)nlisteners + 64;
}

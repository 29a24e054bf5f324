/*
 * natclient's agent (natclient up): one event loop serving every
 * service of natclient.conf.  A kind of service is a row of
 * agent_kinds: its [KIND NAME] section's keys, and how one starts,
 * stops and says how it is.  agent.c runs the loop and the reloads.
 */
#ifndef NATCLIENT_AGENT_H
#define NATCLIENT_AGENT_H

#include <sys/queue.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdint.h>

#include "conf.h"
#include "natclient.h"

#define AGENT_ERROR_MAX 200

struct agent;
struct service;

#define EXPOSE_POOL_MAX 64 /* ready data connections an exposure keeps */

/* What a [KIND NAME] section gives (one record for every kind). */
struct service_spec {
	char name[CONF_NAME_MAX + 1];
	char label[CONF_NAME_MAX + 1]; /* the name the server is told */
	int  kind; /* index in agent_kinds */
	int  line; /* of its header, for messages */
	/* [expose]: */
	char type[8]; /* tcp, udp, http, https */
	char local_host[ADDR_HOSTLEN];
	int  local_port; /* [connect] too: where local programs send */
	int  remote_port;
	int  pool; /* ready data connections (tcp) */
	int  mux;  /* tcp: visitors over one data connection */
	char proxy_protocol[8]; /* v1, v2 or no (tcp) */
	char domains[512]; /* http, https: names, apart by spaces */
	char subdomain[64]; /* http, https: a label under the relay's host */
	/* [listen] and [connect]: */
	char forward[ADDR_HOSTLEN + 8]; /* listen: HOST:PORT */
	char forward_tcp[ADDR_HOSTLEN + 8]; /* listen: HOST:PORT */
	int  local_tcp;			    /* connect: PORT */
	char allow[PATH_MAX];
	char secret_file[PATH_MAX];
	int  allow_any;
	char peer_key[128];
	int  tcp;
	STAILQ_ENTRY(service_spec) entry;
};
STAILQ_HEAD(service_specs, service_spec);

struct service_kind {
	const char	      *name;
	const struct conf_key *keys;
	int (*check)(const struct service_spec *, char *, size_t);
	/* Start a service; 0, or -1 with why (it is then not kept). */
	int (*start)(struct service *, char *, size_t);
	void (*stop)(struct service *);
	/* Its own fields of `natclient status`. */
	void (*status)(struct service *, json_t *);
};

/* One running service; the counters are what status shows. */
struct service {
	struct agent		  *a;
	const struct service_kind *kind;
	struct service_spec	   spec;
	void			  *run; /* the kind's state */
	char			   state[24];
	char			   last_error[AGENT_ERROR_MAX];
	char			   public_addr[ADDR_STRLEN];
	uint64_t		   bytes_in, bytes_out; /* to the service, from it */
	unsigned		   visitors, visitors_total;
	LIST_ENTRY(service) entry;
};

struct agent {
	struct event_base  *base;
	struct client_opts  o;	  /* [client] and the command line */
	struct client_opts  file; /* [client] alone, as last read */
	const char	   *path; /* natclient.conf */
	int		    once; /* natclient expose: one service, exit on a final error */
	LIST_HEAD(, service) services;
	struct event	   *sighup, *sigterm, *sigint;
	int		    ctl_fd; /* status socket, or -1 */
	struct event	   *ctl_ev;
	char		    ctl_path[PATH_MAX];
	unsigned	    nctl; /* status connections now */
	int64_t		    started;
	char		    self[PATH_MAX]; /* this program, for [listen] */
};

extern const struct service_kind *const agent_kinds[];
extern const struct conf_key	 expose_keys[], listen_keys[], connect_keys[];
extern const struct service_kind expose_kind, listen_kind, connect_kind;

/* agent.c */
void agent_error(struct service *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
void agent_state(struct service *, const char *);
int  agent_run(struct agent *, struct service_specs *);
int  agent_count(struct agent *);
int  agent_test(const char *);
int  cmd_up(struct client_opts *, int, char **);

/* agentconf.c */
int  agent_conf_load(const char *, struct client_opts *, struct service_specs *,
     char *, size_t);
void agent_specs_free(struct service_specs *);
int  agent_spec_same(const struct service_spec *, const struct service_spec *);

/* agentctl.c */
int  agentctl_open(struct agent *);
void agentctl_close(struct agent *);
int  cmd_status(struct client_opts *, int, char **);

#endif

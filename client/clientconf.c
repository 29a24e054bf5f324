/* natclient's config keys (/etc/natclient.conf); natclient.1 lists them. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "conf.h"
#include "natclient.h"

#define OFF(f) offsetof(struct client_opts, f)

static const struct conf_key client_conf_keys[] =
    {{"client", "server", CONF_STR, OFF(server),
	 sizeof(((struct client_opts *)0)->server), 0, 0, 0, ""},
	{"client", "interface", CONF_STR, OFF(interface),
	    sizeof(((struct client_opts *)0)->interface), 0, 0, 0, ""},
	{"client", "timeout", CONF_INT, OFF(timeout), 0, 1, 3600, 0, "5"},
	{"client", "token_file", CONF_STR, OFF(token_file),
	    sizeof(((struct client_opts *)0)->token_file), 0, 0, 0, ""},
	{"client", "key_file", CONF_STR, OFF(key_file),
	    sizeof(((struct client_opts *)0)->key_file), 0, 0, 0, ""},
	{"client", "allow_file", CONF_STR, OFF(allow),
	    sizeof(((struct client_opts *)0)->allow), 0, 0, 0, ""},
	{"client", "secret_file", CONF_STR, OFF(secret_file),
	    sizeof(((struct client_opts *)0)->secret_file), 0, 0, 0, ""},
	{"client", "known_peers", CONF_STR, OFF(known_peers),
	    sizeof(((struct client_opts *)0)->known_peers), 0, 0, 0, ""},
	{"client", "tls", CONF_BOOL, OFF(tls), 0, 0, 0, 0, "yes"},
	{"client", "portmap", CONF_BOOL, OFF(portmap), 0, 0, 0, 0, "yes"},
	{"client", "portmap_protocols", CONF_STR, OFF(portmap_protocols),
	    sizeof(((struct client_opts *)0)->portmap_protocols), 0, 0, 0,
	    "pcp nat-pmp upnp"},
	{"client", "tls_ca_file", CONF_STR, OFF(tls_ca_file),
	    sizeof(((struct client_opts *)0)->tls_ca_file), 0, 0, 0, ""},
	{"client", "tls_fingerprint", CONF_STR, OFF(tls_fingerprint),
	    sizeof(((struct client_opts *)0)->tls_fingerprint), 0, 0, 0, ""},
	{"client", "known_servers", CONF_STR, OFF(known_servers),
	    sizeof(((struct client_opts *)0)->known_servers), 0, 0, 0, ""},
	{"client", "tracker", CONF_STR, OFF(tracker),
	    sizeof(((struct client_opts *)0)->tracker), 0, 0, 0, ""},
	{"client", "relay", CONF_STR, OFF(relay),
	    sizeof(((struct client_opts *)0)->relay), 0, 0, 0, ""},
	{"client", "control_socket", CONF_STR, OFF(control_socket),
	    sizeof(((struct client_opts *)0)->control_socket), 0, 0, 0, ""},
	{NULL, NULL, 0, 0, 0, 0, 0, 0, NULL}};


/*
 * The agent's sections: [expose NAME], [listen NAME], [connect NAME],
 * each a service_spec; the kinds' rows (agent_kinds) say which keys
 * each has.  A bad section or key is named with its line, as natserver
 * -t does.
 */
#include <stdlib.h>
#include <unistd.h>

#include "agent.h"
#include "portmap.h"

#define SOFF(f) offsetof(struct service_spec, f)
#define SSIZE(f) sizeof(((struct service_spec *)0)->f)

const struct conf_key expose_keys[] = {
	{"expose", "type", CONF_STR, SOFF(type), SSIZE(type), 0, 0, 0, "tcp"},
	{"expose", "local_host", CONF_STR, SOFF(local_host), SSIZE(local_host),
	    0, 0, 0, "127.0.0.1"},
	{"expose", "local_port", CONF_INT, SOFF(local_port), 0, 0, 65535, 0,
	    "0"},
	{"expose", "remote_port", CONF_INT, SOFF(remote_port), 0, 0, 65535, 0,
	    "0"},
	{"expose", "pool", CONF_INT, SOFF(pool), 0, 0, EXPOSE_POOL_MAX, 0,
	    "2"},
	{"expose", "mux", CONF_BOOL, SOFF(mux), 0, 0, 0, 0, "no"},
	{"expose", "proxy_protocol", CONF_STR, SOFF(proxy_protocol),
	    SSIZE(proxy_protocol), 0, 0, 0, "no"},
	{"expose", "domain", CONF_STR, SOFF(domains), SSIZE(domains), 0, 0, 0,
	    ""},
	{"expose", "subdomain", CONF_STR, SOFF(subdomain), SSIZE(subdomain), 0,
	    0, 0, ""},
	{NULL, NULL, 0, 0, 0, 0, 0, 0, NULL}};

const struct conf_key listen_keys[] = {
	{"listen", "forward", CONF_STR, SOFF(forward), SSIZE(forward), 0, 0, 0,
	    ""},
	{"listen", "forward_tcp", CONF_STR, SOFF(forward_tcp),
	    SSIZE(forward_tcp), 0, 0, 0, ""},
	{"listen", "tcp", CONF_BOOL, SOFF(tcp), 0, 0, 0, 0, "no"},
	{"listen", "allow_file", CONF_STR, SOFF(allow), SSIZE(allow), 0, 0, 0,
	    ""},
	{"listen", "secret_file", CONF_STR, SOFF(secret_file),
	    SSIZE(secret_file), 0, 0, 0, ""},
	{"listen", "allow_any", CONF_BOOL, SOFF(allow_any), 0, 0, 0, 0, "no"},
	{NULL, NULL, 0, 0, 0, 0, 0, 0, NULL}};

const struct conf_key connect_keys[] = {
	{"connect", "local_port", CONF_INT, SOFF(local_port), 0, 0, 65535, 0,
	    "0"},
	{"connect", "local_tcp", CONF_INT, SOFF(local_tcp), 0, 0, 65535, 0,
	    "0"},
	{"connect", "secret_file", CONF_STR, SOFF(secret_file),
	    SSIZE(secret_file), 0, 0, 0, ""},
	{"connect", "peer_key", CONF_STR, SOFF(peer_key), SSIZE(peer_key), 0, 0,
	    0, ""},
	{NULL, NULL, 0, 0, 0, 0, 0, 0, NULL}};

struct agent_conf_ctx {
	struct service_specs *specs;
	int		      n;
};

#define AGENT_SERVICES_MAX 256

static void *
agent_conf_open(void *arg, const struct conf_named *named, const char *name,
    unsigned int line, char *why, size_t len)
{
	struct agent_conf_ctx *c = arg;
	struct service_spec   *s;
	int		       k;

	STAILQ_FOREACH(s, c->specs, entry)
	if (strcmp(s->name, name) == 0) {
		snprintf(why, len, "a service named '%s' is already at line %d",
		    name, s->line);
		return NULL;
	}
	if (c->n >= AGENT_SERVICES_MAX) {
		snprintf(why, len, "more than %d services",
		    AGENT_SERVICES_MAX);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	for (k = 0; agent_kinds[k] != NULL; k++)
		if (strcmp(agent_kinds[k]->name, named->kind) == 0)
			s->kind = k;
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->label, sizeof(s->label), "%s", name);
	s->line = (int)line;
	c->n++;
	STAILQ_INSERT_TAIL(c->specs, s, entry);
	return s;
}

static int
agent_conf_close(void *arg, void *rec, char *why, size_t len)
{
	struct service_spec *s = rec;

	(void)arg;
	return agent_kinds[s->kind]->check(s, why, len);
}

void
agent_specs_free(struct service_specs *specs)
{
	struct service_spec *s;

	while ((s = STAILQ_FIRST(specs)) != NULL) {
		STAILQ_REMOVE_HEAD(specs, entry);
		free(s);
	}
}

/*
 * natclient.conf with its services: [client] into o (defaults first),
 * each section into specs.  0, or -1 with "file:line: why" in err (and
 * specs empty).
 */
int
agent_conf_load(const char *path, struct client_opts *o,
    struct service_specs *specs, char *err, size_t errlen)
{
	struct conf_named     named[8];
	struct agent_conf_ctx c = {specs, 0};
	int		      k, order[PORTMAP_NPROTOS];
	char		      bad[32];

	STAILQ_INIT(specs);
	for (k = 0; agent_kinds[k] != NULL && k < 7; k++) {
		named[k].kind = agent_kinds[k]->name;
		named[k].keys = agent_kinds[k]->keys;
		named[k].open = agent_conf_open;
		named[k].close = agent_conf_close;
	}
	named[k].kind = NULL;
	if (conf_load_named(client_conf_keys, o, named, &c, path, 1, err,
		errlen) == -1) {
		agent_specs_free(specs);
		return -1;
	}
	if (portmap_order(o->portmap_protocols, order, bad, sizeof(bad)) ==
	    -1) {
		snprintf(err, errlen,
		    "%s: portmap_protocols: '%s' is not pcp, nat-pmp or upnp "
		    "(each once)",
		    path, bad);
		agent_specs_free(specs);
		return -1;
	}
	return 0;
}

/*
 * natclient.conf's [client] into o for every command (the services'
 * sections are checked too, and left to natclient up).
 */
int
client_conf_load(struct client_opts *o, const char *path, int must_exist,
    char *err, size_t errlen)
{
	struct service_specs specs;

	if (!must_exist && access(path, F_OK) == -1)
		return conf_load(client_conf_keys, o, NULL, 0, err, errlen);
	if (agent_conf_load(path, o, &specs, err, errlen) == -1)
		return -1;
	agent_specs_free(&specs);
	return 0;
}

/* Does a reload leave this service as it is? */
int
agent_spec_same(const struct service_spec *a, const struct service_spec *b)
{
	struct service_spec x = *a, y = *b;

	/* Where it is in the file is not what it does. */
	x.line = y.line = 0;
	memset(&x.entry, 0, sizeof(x.entry));
	memset(&y.entry, 0, sizeof(y.entry));
	return memcmp(&x, &y, sizeof(x)) == 0;
}

/*
 * The domains of the relay's HTTP and HTTPS exposures (the kinds http
 * and https of relay_kinds): who owns a name, and where its port is.
 *
 *   H|sha256(name)   the port that serves name: its worker (ordinal)
 *		      and connection id, and its owner
 *
 * A name belongs to the client that first exposes it (its token's
 * client name; a bare token's client by its client id) while the
 * exposure lives: another owner's claim is refused with domain_taken,
 * the same owner's takes it over (a client that reconnects).  The
 * worker that holds an exposure renews its records every
 * RELAY_DOMAIN_RENEW_S; a record not renewed (its worker died) expires
 * after RELAY_DOMAIN_TTL_MS, and the client, reconnecting, claims it
 * again.  Records are never evicted for others (no_evict): a full
 * table refuses a new claim.  Which names a client may claim:
 * its token's domains=, else relay.allowed_domains, else any; a name
 * under relay.subdomain_host always.
 */
#include "config.h"

#include <openssl/evp.h>
#include <ctype.h>
#include <event2/event.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "relay.h"

#define RELAY_DOMAIN_TTL_MS  30000
#define RELAY_DOMAIN_RENEW_S 10
#define RELAY_WILDCARD_DEPTH 8 /* labels stripped looking for a wildcard */

struct relay_domain {
	uint64_t port;	  /* the port's connection id in its worker */
	uint16_t ordinal; /* that worker */
	char	 owner[NAMED_NAME_MAX * 4 + 2];
};

struct relay_claim {
	struct relay_domain d;
	int		    taken; /* another owner's */
};

static struct event *relay_domain_timer;

static size_t
relay_domain_key(uint8_t *key, const char *name)
{
	unsigned int n = 32;

	key[0] = 'H';
	EVP_Digest(name, strlen(name), key + 1, &n, EVP_sha256(), NULL);
	return 1 + 32;
}

static void
relay_domain_self(const struct relay_port *p, struct relay_domain *d)
{
	const struct relay_ctl *c = p->ctl;

	memset(d, 0, sizeof(*d));
	d->port = p->base.id;
	d->ordinal = (uint16_t)c->w->ordinal;
	if (strcmp(c->client, "-") == 0)
		snprintf(d->owner, sizeof(d->owner), "-|%s", c->client_id);
	else
		snprintf(d->owner, sizeof(d->owner), "%s", c->client);
}

/* Claim or renew: store ours, unless another owner holds it. */
static enum table_action
relay_domain_claim_fn(void *val, size_t *len, int found, void *arg)
{
	struct relay_claim  *c = arg;
	struct relay_domain *old = val;

	if (found && *len == sizeof(*old) &&
	    strcmp(old->owner, c->d.owner) != 0) {
		c->taken = 1;
		return TABLE_KEEP;
	}
	memcpy(val, &c->d, sizeof(c->d));
	*len = sizeof(c->d);
	return TABLE_STORE;
}

/* Is a found record c's port's (not taken over by another)? */
static int
relay_domain_ours(const void *val, size_t len, const struct relay_claim *c)
{
	const struct relay_domain *old = val;

	return len == sizeof(*old) && old->port == c->d.port &&
	    old->ordinal == c->d.ordinal;
}

/* Renew: only while the record is this port's. */
static enum table_action
relay_domain_renew_fn(void *val, size_t *len, int found, void *arg)
{
	struct relay_claim *c = arg;

	if (found && !relay_domain_ours(val, *len, c))
		return TABLE_KEEP;
	memcpy(val, &c->d, sizeof(c->d));
	*len = sizeof(c->d);
	return TABLE_STORE;
}

/* Release: delete the record if it is still this port's. */
static enum table_action
relay_domain_release_fn(void *val, size_t *len, int found, void *arg)
{
	return found && relay_domain_ours(val, *len, arg) ? TABLE_DELETE
							   : TABLE_KEEP;
}

static int
relay_domain_edit(struct relay_port *p, const char *name, table_update_fn fn,
    struct relay_claim *c)
{
	uint8_t key[TABLE_KEY_MAX];

	return table_update(p->ctl->w->state->table, TABLE_KIND_RELAY_DOMAIN,
	    key, relay_domain_key(key, name), fn, c, RELAY_DOMAIN_TTL_MS,
	    table_now_ms());
}

static void
relay_domain_renew_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval	  tv = {RELAY_DOMAIN_RENEW_S, 0};
	struct relay_ctl *c;
	struct relay_claim cl;
	int		  i, j;

	(void)fd;
	(void)ev;
	(void)arg;
	LIST_FOREACH(c, &relay_ctls, entry)
	for (i = 0; i < c->nports; i++)
		for (j = 0; j < c->ports[i]->ndomains; j++) {
			memset(&cl, 0, sizeof(cl));
			relay_domain_self(c->ports[i], &cl.d);
			relay_domain_edit(c->ports[i], c->ports[i]->domains[j],
			    relay_domain_renew_fn, &cl);
		}
	evtimer_add(relay_domain_timer, &tv);
}

/* Does one of the patterns (words apart by spaces or commas) match? */
static int
relay_domain_listed(const char *patterns, const char *name)
{
	char  copy[RELAY_DOMAINS_LEN], *save = NULL, *p;

	snprintf(copy, sizeof(copy), "%s", patterns);
	for (p = copy; *p != '\0'; p++) /* names are matched lower-cased */
		*p = (char)tolower((unsigned char)*p);
	for (p = strtok_r(copy, " ,\t", &save); p != NULL;
	     p = strtok_r(NULL, " ,\t", &save))
		if (hostname_match(p, name))
			return 1;
	return 0;
}

static int
relay_domain_allowed(const struct relay_ctl *c, const char *name)
{
	const struct relay_token *t = &c->w->conf->relay_tokens[c->token];
	const char		 *sub = c->w->conf->relay_subdomain_host;
	size_t			  nl = strlen(name), sl = strlen(sub);

	if (sl > 0 && nl > sl + 1 && name[nl - sl - 1] == '.' &&
	    strcmp(name + nl - sl, sub) == 0)
		return 1;
	if (t->domains[0] != '\0')
		return relay_domain_listed(t->domains, name);
	if (c->w->conf->relay_allowed_domains[0] != '\0')
		return relay_domain_listed(c->w->conf->relay_allowed_domains,
		    name);
	return 1;
}

/* The names an expose message asks for into p; 0, or -1 answered. */
static int
relay_domain_names(struct relay_ctl *c, struct relay_port *p, json_t *msg)
{
	const char *sub = NULL, *name;
	json_t	   *domains = NULL, *v;
	char	    full[HOSTNAME_MAX + 320];
	size_t	    i;

	if (json_unpack(msg, "{s?o,s?s}", "domains", &domains, "subdomain",
		&sub) == -1 ||
	    (domains != NULL && !json_is_array(domains))) {
		relay_error(c, "bad_message",
		    "domains is a list of names, subdomain a label");
		return -1;
	}
	json_array_foreach(domains, i, v) {
		if ((name = json_string_value(v)) == NULL ||
		    p->ndomains == RELAY_DOMAINS_MAX ||
		    hostname_norm(p->domains[p->ndomains], name, strlen(name),
			1) == -1) {
			relay_error(c, "bad_domain",
			    p->ndomains == RELAY_DOMAINS_MAX
				? "at most 8 domains an exposure"
				: "a domain is a host name (a-z 0-9 - in "
				  "labels), or *. and one");
			return -1;
		}
		p->ndomains++;
	}
	if (sub != NULL) {
		if (c->w->conf->relay_subdomain_host[0] == '\0') {
			relay_error(c, "no_subdomain_host",
			    "this relay has no relay.subdomain_host");
			return -1;
		}
		snprintf(full, sizeof(full), "%s.%s", sub,
		    c->w->conf->relay_subdomain_host);
		if (strchr(sub, '.') != NULL || strchr(sub, '*') != NULL ||
		    p->ndomains == RELAY_DOMAINS_MAX ||
		    hostname_norm(p->domains[p->ndomains], full, strlen(full),
			0) == -1) {
			relay_error(c, "bad_domain",
			    "a subdomain is one label: a-z 0-9 -");
			return -1;
		}
		p->ndomains++;
	}
	if (p->ndomains == 0) {
		relay_error(c, "bad_message",
		    "http and https need domains or a subdomain");
		return -1;
	}
	return 0;
}

/*
 * open for http and https: the names asked for, each allowed to this
 * client and not another's, claimed for this port.  0, or -1 answered.
 */
int
relay_vhost_open(struct relay_ctl *c, struct relay_port *p, json_t *msg,
    json_t *exposed)
{
	const struct server_conf *conf = c->w->conf;
	struct timeval		  tv = {RELAY_DOMAIN_RENEW_S, 0};
	struct relay_claim	  cl;
	json_t			 *names;
	char			  msgbuf[HOSTNAME_MAX + 64];
	int			  i, j;

	if ((strcmp(p->kind->name, "http") == 0 ? conf->relay_http_listen.n
						: conf->relay_https_listen.n) ==
	    0) {
		relay_error(c, "unsupported",
		    strcmp(p->kind->name, "http") == 0
			? "this relay has no relay.http_listen"
			: "this relay has no relay.https_listen");
		return -1;
	}
	if (relay_domain_names(c, p, msg) == -1)
		return -1;
	for (i = 0; i < p->ndomains; i++)
		if (!relay_domain_allowed(c, p->domains[i])) {
			snprintf(msgbuf, sizeof(msgbuf), "%s is not allowed",
			    p->domains[i]);
			relay_error(c, "domain_not_allowed", msgbuf);
			return -1;
		}
	p->base.mail = relay_vhost_mail;
	if (wconn_add(&p->base) == -1) {
		relay_error(c, "internal", "out of connections");
		return -1;
	}
	for (i = 0; i < p->ndomains; i++) {
		memset(&cl, 0, sizeof(cl));
		relay_domain_self(p, &cl.d);
		if (relay_domain_edit(p, p->domains[i], relay_domain_claim_fn,
			&cl) == 0 &&
		    !cl.taken)
			continue;
		for (j = 0; j < i; j++) {
			relay_domain_self(p, &cl.d);
			relay_domain_edit(p, p->domains[j],
			    relay_domain_release_fn, &cl);
		}
		wconn_remove(&p->base);
		snprintf(msgbuf, sizeof(msgbuf), "%s %s", p->domains[i],
		    cl.taken ? "is another client's" : ": no room for it now");
		relay_error(c, cl.taken ? "domain_taken" : "server_full",
		    msgbuf);
		return -1;
	}
	if (relay_domain_timer == NULL &&
	    (relay_domain_timer = evtimer_new(c->w->base,
		 relay_domain_renew_cb, NULL)) != NULL)
		evtimer_add(relay_domain_timer, &tv);
	names = json_array();
	for (i = 0; i < p->ndomains; i++) {
		json_array_append_new(names, json_string(p->domains[i]));
		log_info("client %s (id %s) exposes %s for %s", c->client,
		    c->client_id, p->kind->name, p->domains[i]);
	}
	json_object_set_new(exposed, "domains", names);
	json_object_set_new(exposed, "remote_port", json_integer(0));
	return 0;
}

/* close for http and https: its names are free again. */
void
relay_vhost_close(struct relay_port *p)
{
	struct relay_claim cl;
	int		   i;

	memset(&cl, 0, sizeof(cl));
	relay_domain_self(p, &cl.d);
	for (i = 0; i < p->ndomains; i++)
		relay_domain_edit(p, p->domains[i], relay_domain_release_fn,
		    &cl);
	wconn_remove(&p->base);
}

/*
 * Where host is served: the record of host, else of the nearest
 * wildcard above it; its claimed name into claimed.  0, or -1.
 */
int
relay_domain_find(struct worker *w, const char *host, uint16_t *ordinal,
    uint64_t *port, char *claimed)
{
	struct relay_domain d;
	uint8_t		    key[TABLE_KEY_MAX];
	int		    level;

	snprintf(claimed, HOSTNAME_MAX + 1, "%s", host);
	for (level = 0; level <= RELAY_WILDCARD_DEPTH; level++) {
		if (level > 0 && hostname_wildcard(claimed, host, level) == -1)
			return -1;
		if (table_get(w->state->table, TABLE_KIND_RELAY_DOMAIN, key,
			relay_domain_key(key, claimed), &d, sizeof(d),
			table_now_ms()) == (int)sizeof(d)) {
			*ordinal = d.ordinal;
			*port = d.port;
			return 0;
		}
	}
	return -1;
}

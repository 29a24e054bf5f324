/*
 * natserver's configuration keys, their bounds and built-in defaults.
 * natserver.conf.5 and etc/natserver.conf document the same keys.
 */
#include "config.h"

#include <sys/resource.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "natserver.h"
#include "pipegrow.h"
#include "turn.h"

#ifndef NATSERVER_STATEDIR
#define NATSERVER_STATEDIR "/var/lib/natserver"
#endif
#ifndef NATSERVER_PIDFILE
#define NATSERVER_PIDFILE "/var/run/natserver/natserver.pid"
#endif

#define OFF(f)	offsetof(struct server_conf, f)
#define UDP_TCP (CONF_PROTO_UDP | CONF_PROTO_TCP)

#define STR(f)	       OFF(f), sizeof(((struct server_conf *)0)->f), 0, 0, 0
#define INT(f, lo, hi) OFF(f), 0, lo, hi, 0

/* section, key, type, where and bounds, default */
const struct conf_key server_conf_keys[] = {
    {"server", "user", CONF_STR, STR(user), "natserver"},
    {"server", "pidfile", CONF_STR, STR(pidfile), NATSERVER_PIDFILE},
    {"server", "log_file", CONF_STR, STR(log_file), ""},
    {"server", "state_records", CONF_INT,
	INT(state_records, 64, 16 * 1024 * 1024), "65536"},
    {"server", "shutdown_grace", CONF_INT, INT(shutdown_grace, 0, 3600), "10"},
    {"server", "external_address", CONF_STR, STR(external_address), ""},
    {"server", "tls", CONF_BOOL, OFF(tls), 0, 0, 0, 0, "yes"},
    {"server", "tls_cert", CONF_STR, STR(tls_cert), ""},
    {"server", "tls_key", CONF_STR, STR(tls_key), ""},
    {"server", "tls_dir", CONF_STR, STR(tls_dir), NATSERVER_STATEDIR},
    {"server", "metrics_listen", CONF_LISTEN, OFF(metrics_listen), 0, 0, 0,
	CONF_PROTO_TCP, "127.0.0.1:9478"},
    {"tracker", "listen", CONF_LISTEN, OFF(tracker_listen), 0, 0, 0, UDP_TCP,
	"0.0.0.0:3478 [::]:3478"},
    {"tracker", "workers", CONF_INT, INT(tracker_workers, 0, WORKERS_MAX), "2"},
    {"tracker", "max_connections", CONF_INT,
	INT(tracker_max_connections, 1, 1000000), "1024"},
    {"tracker", "max_connections_per_ip", CONF_INT,
	INT(tracker_per_ip, 1, 1000000), "32"},
    {"tracker", "idle_timeout", CONF_INT, INT(tracker_idle_timeout, 1, 86400),
	"60"},
    {"tracker", "member_ttl", CONF_INT, INT(member_ttl, 1, 86400), "120"},
    {"tracker", "max_group_members", CONF_INT, INT(max_group_members, 2, 255),
	"32"},
    {"tracker", "register_burst", CONF_INT, INT(register_burst, 1, 1000000),
	"60"},
    {"tracker", "register_per_minute", CONF_INT,
	INT(register_per_minute, 1, 1000000), "120"},
    {"tracker", "peers", CONF_LISTEN, OFF(tracker_peers), 0, 0, 0,
	CONF_PROTO_UDP, ""},
    {"tracker", "peer_ttl", CONF_INT, INT(peer_ttl, 1, 86400), "300"},
    {"tracker", "announce_interval", CONF_INT, INT(announce_interval, 1, 86400),
	"60"},
    {"tracker", "max_trackers", CONF_INT, INT(max_trackers, 1, 255), "64"},
    {"tracker", "alternate_address", CONF_STR, STR(alternate_address), ""},
    {"tracker", "alternate_port", CONF_INT, INT(alternate_port, 0, 65535), "0"},
    {"rendezvous", "listen", CONF_LISTEN, OFF(n4_listen), 0, 0, 0, UDP_TCP,
	"0.0.0.0:1721"},
    {"rendezvous", "named_listen", CONF_LISTEN, OFF(named_listen), 0, 0, 0,
	UDP_TCP, "0.0.0.0:8848 [::]:8848"},
    {"rendezvous", "workers", CONF_INT, INT(rendezvous_workers, 0, WORKERS_MAX),
	"1"},
    {"rendezvous", "max_connections", CONF_INT,
	INT(rendezvous_max_connections, 1, 1000000), "16384"},
    {"rendezvous", "n4_max_connections", CONF_INT,
	INT(n4_max_connections, 1, 1000000), "16384"},
    {"rendezvous", "max_connections_per_ip", CONF_INT,
	INT(rendezvous_per_ip, 1, 1000000), "64"},
    {"rendezvous", "register_timeout", CONF_INT,
	INT(register_timeout, 1, 86400), "10"},
    {"rendezvous", "wait_timeout", CONF_INT, INT(wait_timeout, 1, 86400), "60"},
    {"rendezvous", "name_ttl", CONF_INT, INT(name_ttl, 5, 86400), "60"},
    {"rendezvous", "connect_burst", CONF_INT, INT(connect_burst, 1, 1000000),
	"10"},
    {"rendezvous", "connect_per_minute", CONF_INT,
	INT(connect_per_minute, 1, 1000000), "30"},
    {"rendezvous", "register_burst", CONF_INT, INT(named_register_burst, 1, 1000000),
	"20"},
    {"rendezvous", "register_per_minute", CONF_INT,
	INT(named_register_per_minute, 1, 1000000), "60"},
    {"rendezvous", "list_burst", CONF_INT, INT(list_burst, 1, 1000000), "5"},
    {"rendezvous", "list_per_minute", CONF_INT,
	INT(list_per_minute, 1, 1000000), "30"},
    {"rendezvous", "list", CONF_BOOL, OFF(named_list), 0, 0, 0, 0, "no"},
    {"rendezvous", "owner_ttl", CONF_INT, INT(owner_ttl, 60, 31536000),
	"2592000"},
    {"relay", "listen", CONF_LISTEN, OFF(relay_listen), 0, 0, 0, CONF_PROTO_TCP,
	"0.0.0.0:8888 [::]:8888"},
    {"relay", "workers", CONF_INT, INT(relay_workers, 0, WORKERS_MAX), "1"},
    {"relay", "max_connections", CONF_INT,
	INT(relay_max_connections, 1, 1000000), "4096"},
    {"relay", "max_connections_per_ip", CONF_INT,
	INT(relay_per_ip, 1, 1000000), "256"},
    {"relay", "token_file", CONF_STR, STR(relay_token_file), ""},
    {"relay", "max_ports_per_client", CONF_INT, INT(relay_max_ports, 1, 1000),
	"8"},
    {"relay", "max_conns_per_port", CONF_INT,
	INT(relay_max_conns_per_port, 1, 1000000), "256"},
    {"relay", "pool_max", CONF_INT, INT(relay_pool_max, 0, RELAY_POOL_MAX),
	"8"},
    {"relay", "handshake_timeout", CONF_INT,
	INT(relay_handshake_timeout, 1, 3600), "10"},
    {"relay", "idle_timeout", CONF_INT, INT(relay_idle_timeout, 1, 604800),
	"3600"},
    {"relay", "splice", CONF_BOOL, OFF(relay_splice), 0, 0, 0, 0, "yes"},
    {"relay", "conn_burst", CONF_INT, INT(relay_conn_burst, 1, 100000000),
	"1000"},
    {"relay", "conn_per_minute", CONF_INT,
	INT(relay_conn_per_minute, 1, 100000000), "60000"},
    {"relay", "auth_fail_burst", CONF_INT, INT(relay_auth_burst, 1, 1000000),
	"5"},
    {"relay", "auth_fail_per_minute", CONF_INT,
	INT(relay_auth_per_minute, 1, 1000000), "5"},
    {"relay", "http_listen", CONF_LISTEN, OFF(relay_http_listen), 0, 0, 0,
	CONF_PROTO_TCP, ""},
    {"relay", "https_listen", CONF_LISTEN, OFF(relay_https_listen), 0, 0, 0,
	CONF_PROTO_TCP, ""},
    {"relay", "http_head_max", CONF_INT,
	INT(relay_http_head_max, 1024, RELAY_HEAD_MAX), "16384"},
    {"relay", "http_head_timeout", CONF_INT,
	INT(relay_http_head_timeout, 1, 3600), "10"},
    {"relay", "http_forwarded", CONF_BOOL, OFF(relay_http_forwarded), 0, 0, 0,
	0, "yes"},
    {"relay", "subdomain_host", CONF_STR, STR(relay_subdomain_host), ""},
    {"relay", "allowed_domains", CONF_STR, STR(relay_allowed_domains), ""},
    {"relay", "port_range", CONF_RANGE, OFF(relay_port_range), 0, 1, 65535, 0,
	"10000-20000"},
    {"turn", "realm", CONF_STR, STR(turn_realm), "natkit"},
    {"turn", "users_file", CONF_STR, STR(turn_users_file), ""},
    {"turn", "secret_file", CONF_STR, STR(turn_secret_file), ""},
    {"turn", "relay_address", CONF_STR, STR(turn_relay_address_s), ""},
    {"turn", "relay_port_range", CONF_RANGE, OFF(turn_port_range), 0, 1024,
	65535, 0, "49152-65535"},
    {"turn", "allowed_peer", CONF_STR, STR(turn_allowed_peer_s), ""},
    {"turn", "denied_peer", CONF_STR, STR(turn_denied_peer_s), ""},
    {"turn", "max_allocations", CONF_INT,
	INT(turn_max_allocations, 1, 1000000), "10000"},
    {"turn", "user_quota", CONF_INT, INT(turn_user_quota, 1, 1000000), "100"},
    {"turn", "max_lifetime", CONF_INT, INT(turn_max_lifetime, 600, 86400),
	"3600"},
    {"turn", "nonce_lifetime", CONF_INT, INT(turn_nonce_lifetime, 10, 86400),
	"600"},
    {"turn", "max_bps", CONF_INT, INT(turn_max_bps, 0, 2000000000),
	"1250000"},
    {"turn", "allocate_burst", CONF_INT, INT(turn_allocate_burst, 1, 1000000),
	"100"},
    {"turn", "allocate_per_minute", CONF_INT,
	INT(turn_allocate_per_minute, 1, 1000000), "300"},
    {"turn", "max_permissions", CONF_INT, INT(turn_max_permissions, 1, 1024),
	"32"},
    {"turn", "max_channels", CONF_INT, INT(turn_max_channels, 1, 4096), "32"},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL},
};

/*
 * RFC 5780 needs an explicit primary address (the first of tracker.listen)
 * and an alternate address and port of the same family, both set.
 */
static int
server_conf_check_rfc5780(const struct server_conf *c, char *err, size_t errlen,
    const char *path)
{
	const struct addr   *p = &c->tracker_listen.v[0].addr;
	struct addr	     alt;
	const char	    *why = NULL;
	static const uint8_t zero[16];

	if (c->alternate_address[0] == '\0' && c->alternate_port == 0)
		return 0;
	if (c->alternate_address[0] == '\0' || c->alternate_port == 0)
		why = "set both tracker.alternate_address and "
		      "tracker.alternate_port";
	else if (addr_parse_ip(c->alternate_address, &alt, &why) == -1)
		why = "tracker.alternate_address is not an IP address";
	else if (c->tracker_listen.n == 0 ||
	    addr_family(p) != addr_family(&alt))
		why = "tracker.alternate_address must have the family of the "
		      "first tracker.listen address";
	else if ((addr_family(p) == AF_INET &&
		     ((const struct sockaddr_in *)&p->ss)->sin_addr.s_addr ==
			 0) ||
	    (addr_family(p) == AF_INET6 &&
		memcmp(&((const struct sockaddr_in6 *)&p->ss)->sin6_addr, zero,
		    16) == 0))
		why = "RFC 5780 needs the first tracker.listen address to be "
		      "an explicit one, not a wildcard";
	else if (c->alternate_port == addr_port(p))
		why = "tracker.alternate_port must differ from the first "
		      "tracker.listen port";
	if (why == NULL)
		return 0;
	snprintf(err, errlen, "%s: %s", path ? path : "(defaults)", why);
	return -1;
}

/*
 * The four RFC 5780 addresses, indexed by bit 0 (alternate IP) and bit 1
 * (alternate port); 0 when configured, -1 when not.
 */
int
server_conf_rfc5780(const struct server_conf *c, struct addr a[4])
{
	const char *why;
	int	    i;

	if (c->alternate_address[0] == '\0' || c->tracker_listen.n == 0)
		return -1;
	a[0] = c->tracker_listen.v[0].addr;
	if (addr_parse(c->alternate_address, (uint16_t)addr_port(&a[0]), &a[1],
		&why) == -1)
		return -1;
	for (i = 2; i < 4; i++) {
		a[i] = a[i - 2];
		if (addr_family(&a[i]) == AF_INET)
			((struct sockaddr_in *)&a[i].ss)->sin_port =
			    htons((uint16_t)c->alternate_port);
		else
			((struct sockaddr_in6 *)&a[i].ss)->sin6_port =
			    htons((uint16_t)c->alternate_port);
	}
	return 0;
}

/* Load path (NULL: defaults only); err gets "file:line: key: why". */
int
server_conf_load(struct server_conf *c, const char *path, int must_exist,
    char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (conf_load(server_conf_keys, c, path, must_exist, err, errlen) == -1)
		return -1;
	if (c->external_address[0] != '\0') {
		struct addr a;
		const char *why;

		if (addr_parse_ip(c->external_address, &a, &why) == -1) {
			snprintf(err, errlen,
			    "%s: server.external_address: "
			    "not an IP address: '%s'",
			    path ? path : "(defaults)", c->external_address);
			return -1;
		}
	}
	if (server_conf_check_rfc5780(c, err, errlen, path) == -1 ||
	    relay_tokens_load(c, err, errlen) == -1 ||
	    turn_conf_load(c, path, err, errlen) == -1)
		return -1;
	if (c->tracker_peers.n > 0 && c->external_address[0] == '\0') {
		snprintf(err, errlen,
		    "%s: tracker.peers needs "
		    "server.external_address, the address to announce",
		    path ? path : "(defaults)");
		return -1;
	}
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
 * The shared table as the config asks for it: its size, and each kind's
 * share (natserver.conf(5) lists them).
 */
void
server_table_config(const struct server_conf *c, struct table_config *tc)
{
	memset(tc, 0, sizeof(*tc));
	tc->capacity = (uint32_t)c->state_records;
	tc->stripes = 1024;
	tc->quota_pct[TABLE_KIND_GROUP] = 30;
	tc->quota_pct[TABLE_KIND_TRACKER] = 2;
	tc->quota_pct[TABLE_KIND_NAMED] = 15;
	tc->quota_pct[TABLE_KIND_N4] = 15;
	/* Apart, so that a flood of visitors to an exposed port, or of
	 * meetings, cannot push out the ports clients are to get back. */
	tc->quota_pct[TABLE_KIND_RELAY_PORT] = 4;
	tc->quota_pct[TABLE_KIND_RELAY_VISITOR] = 6;
	tc->quota_pct[TABLE_KIND_RELAY_MEET] = 2;
	tc->quota_pct[TABLE_KIND_BUCKET] = 18;
	tc->quota_pct[TABLE_KIND_RELAY_DOMAIN] = 2;
	/* EVEN-PORT reservations: RTP's allocation holds RTCP's port. */
	tc->quota_pct[TABLE_KIND_TURN_PORT] = 1;
	/* A record per TURN user with allocations (turn.user_quota); one
	 * evicted when full only makes that user's quota lenient. */
	tc->quota_pct[TABLE_KIND_TURN_USER] = 5;
	/* A live name is never evicted for another's (hijack): refused. */
	tc->no_evict[TABLE_KIND_NAMED] = 1;
	tc->no_evict[TABLE_KIND_RELAY_DOMAIN] = 1;
}

/*
 * Descriptors one process may need: its connections (six per relayed
 * stream), the listening sockets, the spare pipes (pipegrow.c), and a
 * margin for logs, pipes and libevent.
 */
rlim_t
server_conf_nofile(const struct server_conf *c, int nlisteners)
{
	rlim_t need = (rlim_t)c->tracker_max_connections;

	if ((rlim_t)c->rendezvous_max_connections + c->n4_max_connections >
	    need)
		need = (rlim_t)c->rendezvous_max_connections +
		    (rlim_t)c->n4_max_connections;
	/* A relayed stream: two sockets and two pipes (splice). */
	if ((rlim_t)c->relay_max_connections * 6 > need)
		need = (rlim_t)c->relay_max_connections * 6;
	/* A tracker's connections and its TURN allocations' sockets. */
	if (turn_enabled(c) && (rlim_t)c->tracker_max_connections +
		(rlim_t)c->turn_max_allocations >
	    need)
		need = (rlim_t)c->tracker_max_connections +
		    (rlim_t)c->turn_max_allocations;
	return need + (rlim_t)nlisteners + 2 * PIPE_SPARE_MAX + 64;
}

/*
 * natserver -t: what the file cannot show.  server.user must exist (the
 * default may be missing: then nobody, with a warning) and the log
 * file's directory must be writable.  Run as another user than root,
 * as the daemon starts, access is checked as that user: a warning says
 * so.  0, or -1 after an error was printed.
 */
int
server_conf_check_host(const struct server_conf *c)
{
	char dir[PATH_MAX], *slash;
	int  rv = 0;

	if (getpwnam(c->user) == NULL) {
		if (strcmp(c->user, "natserver") == 0)
			fprintf(stderr,
			    "natserver: warning: server.user: no user "
			    "'natserver': the workers would run as nobody\n");
		else {
			fprintf(stderr,
			    "natserver: server.user: no user '%s'\n", c->user);
			rv = -1;
		}
	}
	if (c->log_file[0] != '\0') {
		snprintf(dir, sizeof(dir), "%s", c->log_file);
		slash = strrchr(dir, '/');
		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
		if (access(dir, W_OK) == -1) {
			fprintf(stderr,
			    "natserver: server.log_file: cannot write in "
			    "%s: %s\n",
			    dir, strerror(errno));
			rv = -1;
		}
	}
	if (geteuid() != 0)
		fprintf(stderr,
		    "natserver: warning: checked as uid %u, not as root, "
		    "which the daemon starts as\n",
		    (unsigned)geteuid());
	return rv;
}

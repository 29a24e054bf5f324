/* natclient's internal interface. */
#ifndef NATCLIENT_H
#define NATCLIENT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

struct json_t;

#define CLIENT_PORT_TRACKER 3478
#define CLIENT_PORT_N4	    1721
#define CLIENT_PORT_NAMED   8848
#define CLIENT_PORT_RELAY   8888

struct client_opts {
	char server[ADDR_HOSTLEN + 8]; /* HOST[:PORT] */
	char interface[32];
	int  timeout; /* seconds */
	int  json;
	int  stun;		/* nat: ask with STUN instead of //nat */
	int  family;		/* AF_UNSPEC, AF_INET, AF_INET6 */
	int  once;		/* register: once, then exit */
	int  interval;		/* register: seconds between refreshes */
	char ns[33];		/* tracker namespace */
	char public_addrs[256]; /* register: --public, or "" for "0" */
	char ident[8];		/* punch -a */
	int  src_port;		/* punch -b */
	int  src_count;		/* punch -n */
	int  peer_offset;	/* punch -o */
	char forward[ADDR_HOSTLEN + 8]; /* listen --forward HOST:PORT */
	int  local_port;		/* connect --local PORT */
	char forward_tcp[ADDR_HOSTLEN + 8]; /* listen --forward-tcp H:P */
	int  local_tcp;			/* connect --local-tcp PORT */
	int  local_tcp_fd;		/* its socket, bound first */
	int  tcp;			/* listen/connect --tcp */
	int  keep_listening;		/* listen --keep-listening */
	int  ping_count;		/* ping --count; 0: not ping */
	int  ping_stream;		/* ping --stream: an ENet listener */
	const char *ping_name;		/* ping NAME */
	char tracker[ADDR_HOSTLEN + 8]; /* listen/connect --tracker */
	char relay[ADDR_HOSTLEN + 8];	/* listen/connect --relay */
	char local_host[ADDR_HOSTLEN];	/* expose --local-host */
	int  remote_port;		/* expose --remote-port */
	int  pool;			/* expose --pool */
	int  mux;			/* expose --mux */
	char proxy_protocol[8];		/* expose --proxy-protocol */
	char domains[512];		/* expose --domain, apart by spaces */
	char subdomain[64];		/* expose --subdomain */
	char name[33];			/* expose --name */
	char token_file[PATH_MAX];	/* expose --token-file, or conf */
	char key_file[PATH_MAX];	/* --key, or conf key_file */
	char allow[PATH_MAX];		/* listen --allow, or conf allow_file */
	char secret_file[PATH_MAX];	/* --secret-file, or conf */
	char known_peers[PATH_MAX];	/* --known-peers, or conf */
	char peer_key[128];		/* connect --peer-key */
	int  allow_any;			/* listen --allow-any */
	int  listed;			/* listen --listed */
	int  tls;			/* conf tls, --no-tls: 0 */
	int  portmap;			/* conf portmap, --no-portmap: 0 */
	char portmap_protocols[64];	/* conf: which, in this order */
	char tls_ca_file[PATH_MAX];	/* --tls-ca-file, or conf */
	char tls_fingerprint[96];	/* --tls-fingerprint, or conf */
	char known_servers[PATH_MAX];	/* --known-servers, or conf */
	char control_socket[PATH_MAX];	/* up/status: conf control_socket */
	const char *conf_path;		/* natclient.conf, or -c */
};

/* clientconf.c */
int client_conf_load(struct client_opts *, const char *, int, char *, size_t);

/* net.c */
int	    client_resolve(const struct client_opts *, uint16_t, struct addr *);
int	    client_socket(const struct client_opts *, int, int);
int	    client_udp_new(const struct client_opts *, int);
int	    client_udp_socket(const struct client_opts *, const struct addr *);
int	    client_udp_ask(int, const void *, size_t, char *, size_t, int);
int64_t	    client_now_ms(void);
int64_t	    client_now_us(void);
int	    client_send_json(int, struct json_t *);
const char *client_json_type(struct json_t *);
struct json_t *client_json_read(int, char *, size_t, size_t *, int);
int	       client_write_all(int, const void *, size_t);
void client_bind_any(const struct client_opts *, int, const struct addr *,
    struct addr *);
void client_service(const struct client_opts *, const char *, uint16_t,
    struct addr *);
int  client_tcp_connect(const struct client_opts *, const struct addr *);
int  client_tcp_ask(const struct client_opts *, const struct addr *,
     const char *, char *, size_t);

/* tls.c */
struct ssl_st;
int client_tls(const struct client_opts *, int, const struct addr *,
    const char *);
struct ssl_st *client_tls_new(const struct client_opts *, const char *);
int  client_tls_trust(const struct client_opts *, struct ssl_st *,
     const char *, char *, size_t);
void client_tls_warn_plain(void);

/* join.c */
int client_join(int, int, int, int);

/* output.c */
struct json_t;
void client_print_json(struct json_t *);
#define CLIENT_STATUS_LINE 1024 /* bytes of one client_status line */
void client_status(struct json_t *);
void client_sanitize(char *, int);
void client_print(const struct client_opts *, const char *, ...)
    __attribute__((sentinel));
void client_fail(const struct client_opts *, const char *, ...)
    __attribute__((format(printf, 2, 3), noreturn));

/* nat.c */
int cmd_nat(struct client_opts *, int, char **);

/* nattype.c */
struct nat_result {
	struct addr public_addr;
	const char *name, *mapping, *filtering, *allocation, *why;
	int	    nat, delta, hairpin;
};
void nattype_probe(const struct client_opts *, const struct addr *,
    struct nat_result *, int);
int  nattype_ask(int, const struct addr *, int, struct addr *, struct addr *);
int  cmd_nat_type(struct client_opts *, int, char **);

/* netcheck.c */
int cmd_netcheck(struct client_opts *, int, char **);

/* lan.c */
size_t client_lan_field(char *, size_t);

/* punch.c */
int cmd_punch(struct client_opts *, int, char **);

/* rendezvous.c */
int cmd_listen(struct client_opts *, int, char **);
int cmd_connect(struct client_opts *, int, char **);
int cmd_ping(struct client_opts *, int, char **);

/* expose.c */
int cmd_expose(struct client_opts *, int, char **);

/* tracker.c */
int cmd_register(struct client_opts *, int, char **);
int cmd_peers(struct client_opts *, int, char **);
int cmd_trackers(struct client_opts *, int, char **);

#endif

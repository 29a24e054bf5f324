/* natserver's internal interface: config, listeners, process roles. */
#ifndef NATSERVER_H
#define NATSERVER_H

#include <sys/types.h>
#include <sys/resource.h>
#include <limits.h>

#include "addr.h"
#include "conf.h"
#include "state.h"

struct event_base;

/* Exit code of a worker that must not be respawned (as nginx's 2). */
#define WORKER_EXIT_NORESPAWN 2
#define WORKERS_MAX	      32 /* of one kind */
#define LISTEN_BACKLOG	      1024 /* a burst of visitors or clients */
/* Ordinals (mailboxes) of a kind: the running ones and those draining. */
#define ORDINALS_MAX	 (2 * WORKERS_MAX)
#define LISTENERS_MAX	 512
#define RELAY_TOKENS_MAX 32
#define RELAY_POOL_MAX	 64 /* relay.pool_max: ready data connections per exposure */
#define RELAY_TOKEN_MAX	 128
#define RELAY_DOMAINS_LEN 512 /* patterns of relay.allowed_domains */
#define RELAY_HEAD_MAX	 65536 /* relay.http_head_max at the most */
#define TURN_USERS_MAX	 256 /* lines of turn.users_file */
#define TURN_USER_MAX	 128 /* bytes of a TURN user name */
#define TURN_REALM_MAX	 48  /* a 401 must stay small (no amplification) */
#define TURN_RANGES_MAX	 32  /* of turn.allowed_peer, of turn.denied_peer */
#define TURN_SECRET_MAX	 256

enum worker_kind {
	WORKER_TRACKER,
	WORKER_RENDEZVOUS,
	WORKER_RELAY,
	WORKER_KINDS
};

/* What a listening socket is for, within its worker kind. */
enum listen_use {
	LISTEN_TRACKER, /* STUN and tracker text, 3478 */
	LISTEN_N4,	/* N4 pairing, 1721 */
	LISTEN_NAMED,	/* named rendezvous, 8848 */
	LISTEN_RELAY,	/* relay control and data, 8888 */
	LISTEN_HTTP,	/* relay virtual hosts by Host, 80 */
	LISTEN_HTTPS,	/* relay virtual hosts by TLS SNI, 443 */
	LISTEN_USES
};

/*
 * A line of relay.token_file: a bare token, or "NAME TOKEN" with the
 * client's own limits (relay_auth.c).
 */
struct relay_token {
	char name[33]; /* "" for a bare token */
	char secret[RELAY_TOKEN_MAX + 1];
	int  port_low, port_high; /* 0: relay.port_range */
	int  max_ports;		  /* 0: relay.max_ports_per_client */
	char domains[RELAY_DOMAINS_LEN]; /* domains=: its patterns, or "" */
};

/* A line of turn.users_file: the name and its long-term key. */
struct turn_user {
	char	name[TURN_USER_MAX + 1];
	uint8_t key[16]; /* MD5(name:realm:password) */
};

/* An address range of turn.allowed_peer or turn.denied_peer. */
struct turn_range {
	uint8_t ip[16]; /* IPv4 as IPv4-mapped IPv6 */
	int	bits;	/* of the 128 */
};

struct server_conf {
	int		   tls; /* server.tls: 8848 and 8888 over TLS */
	char		   tls_cert[PATH_MAX];
	char		   tls_key[PATH_MAX];
	char		   tls_dir[PATH_MAX];
	char		   user[64];
	char		   pidfile[PATH_MAX];
	char		   log_file[PATH_MAX];
	int		   state_records;
	int		   shutdown_grace;
	char		   external_address[INET6_ADDRSTRLEN];
	struct conf_listen metrics_listen;
	struct conf_listen tracker_listen;
	int		   member_ttl;
	int		   max_group_members;
	int		   register_burst;
	int		   register_per_minute;
	struct conf_listen tracker_peers;
	int		   peer_ttl;
	int		   announce_interval;
	int		   max_trackers;
	char		   alternate_address[INET6_ADDRSTRLEN];
	int		   alternate_port;
	int		   tracker_workers;
	int		   tracker_max_connections;
	int		   tracker_per_ip;
	int		   tracker_idle_timeout;
	struct conf_listen n4_listen;
	struct conf_listen named_listen;
	int		   rendezvous_workers;
	int		   rendezvous_max_connections;
	int		   n4_max_connections;
	int		   rendezvous_per_ip;
	int		   register_timeout;
	int		   wait_timeout;
	int		   name_ttl;
	int		   connect_burst;
	int		   connect_per_minute;
	int		   named_register_burst;
	int		   named_register_per_minute;
	int		   list_burst;
	int		   list_per_minute;
	int		   named_list; /* rendezvous.list */
	int		   owner_ttl;
	struct conf_listen relay_listen;
	int		   relay_workers;
	int		   relay_max_connections;
	int		   relay_per_ip;
	struct conf_range  relay_port_range;
	char		   relay_token_file[PATH_MAX];
	int		   relay_max_ports;
	int		   relay_max_conns_per_port;
	int		   relay_handshake_timeout;
	int		   relay_pool_max;
	int		   relay_idle_timeout;
	int		   relay_splice;
	int		   relay_conn_burst;
	int		   relay_conn_per_minute;
	int		   relay_auth_burst;
	int		   relay_auth_per_minute;
	struct conf_listen relay_http_listen;
	struct conf_listen relay_https_listen;
	int		   relay_http_head_max;
	int		   relay_http_head_timeout;
	int		   relay_http_forwarded;
	char		   relay_subdomain_host[256];
	char		   relay_allowed_domains[RELAY_DOMAINS_LEN];
	char		   turn_realm[TURN_REALM_MAX + 1];
	char		   turn_users_file[PATH_MAX];
	char		   turn_secret_file[PATH_MAX];
	char		   turn_relay_address_s[2 * INET6_ADDRSTRLEN + 2];
	struct conf_range  turn_port_range;
	char		   turn_allowed_peer_s[1024];
	char		   turn_denied_peer_s[1024];
	int		   turn_max_allocations;
	int		   turn_user_quota;
	int		   turn_max_lifetime;
	int		   turn_nonce_lifetime;
	int		   turn_max_bps;
	int		   turn_allocate_burst;
	int		   turn_allocate_per_minute;
	int		   turn_max_permissions;
	int		   turn_max_channels;
	/* Made by turn_conf_load() from the strings and files above. */
	int		   turn_nusers;
	struct turn_user   turn_users[TURN_USERS_MAX];
	char		   turn_secret[TURN_SECRET_MAX + 1];
	int		   turn_nrelay;
	struct addr	   turn_relay[2];
	int		   turn_nallowed, turn_ndenied;
	struct turn_range  turn_allowed[TURN_RANGES_MAX];
	struct turn_range  turn_denied[TURN_RANGES_MAX];
	/* Read by the master from relay.token_file; workers never read it. */
	int		   relay_ntokens;
	struct relay_token relay_tokens[RELAY_TOKENS_MAX];
};

struct listener {
	int	    kind; /* enum worker_kind */
	int	    use;  /* enum listen_use */
	int	    type; /* SOCK_DGRAM or SOCK_STREAM */
	struct addr addr;
	int	    fd;
	int	    alt; /* RFC 5780 index (bit 0 other IP, bit 1 other
			    port), or -1 */
	int shard;	 /* the worker ordinal it serves, or -1: all */
};

struct listeners {
	int		n;
	struct listener v[LISTENERS_MAX];
};

/* What a worker process is given. */
struct worker {
	int			  kind;
	int			  index;   /* state slot */
	int			  ordinal; /* 0..n-1 among its kind */
	struct event_base	 *base;
	const struct server_conf *conf;
	struct listeners	 *ls;
	struct state		 *state;
	struct state_slot	 *slot;
	int			  draining; /* stopped accepting (SIGTERM) */
};

/*
 * One row of the role table: how to run a worker kind.  A kind with
 * drain finishes gracefully on SIGTERM: it stops accepting, drain lets
 * go of what a new worker takes over, and the worker exits once busy
 * says nothing is left (or the master kills it at the grace period).
 * A kind without drain exits at once.
 */
struct role {
	int	    kind;
	const char *name;
	void (*main)(struct worker *);
	void (*drain)(struct worker *);
	int (*busy)(struct worker *);
};

/* serverconf.c */
extern const struct conf_key server_conf_keys[];
int server_conf_load(struct server_conf *, const char *, int, char *, size_t);
int server_conf_workers(const struct server_conf *, int);
rlim_t server_conf_nofile(const struct server_conf *, int);
void   server_table_config(const struct server_conf *, struct table_config *);
int    server_conf_rfc5780(const struct server_conf *, struct addr[4]);
int    server_conf_check_host(const struct server_conf *);

/* tlsfront.c */
int  tls_setup(const struct server_conf *, char *, size_t);
int  tls_front(struct worker *, int);
int  tls_front_count(void);
int  tls_sockname(int, struct sockaddr_storage *, socklen_t *);

/* relay_auth.c */
int relay_tokens_load(struct server_conf *, char *, size_t);
int relay_auth_find(const struct server_conf *, const uint8_t *, size_t,
    const char *);

/* listen.c */
int  listeners_open(const struct server_conf *, const struct listeners *,
     struct listeners *, char *, size_t);
void listeners_close_unused(struct listeners *, const struct listeners *);
void listeners_close(struct listeners *);

/* mailbox.c */
void	mailbox_create(const struct server_conf *);
int	mailbox_count(int);
void	mailbox_keep(int, int);
int	mailbox_fd(const struct worker *);
int	mailbox_post(const struct worker *, int, const void *, size_t, int);
ssize_t mailbox_read(const struct worker *, void *, size_t, int *);

/* metrics.c */
int  metrics_bind(const struct server_conf *, char *, size_t);
void metrics_start(struct event_base *, struct state *);
void metrics_close_in_worker(void);
void metrics_retire_slot(struct state_slot *);

/* master.c */
int  master_slot_live(int);
void master_worker_counts(int *);
int  master_run(const char *, int, struct server_conf *, int);

/* proc.c */
pid_t proc_spawn(const struct role *, struct worker *, pid_t, uid_t, gid_t,
    void (*)(void *), void *);
void  proc_count(struct worker *, int);

/* proctitle.c */
void proctitle_init(int, char **);
void proctitle_set(const char *, ...) __attribute__((format(printf, 1, 2)));

/* logfile.c */
int  logfile_open(const char *, char *, size_t);
int  logfile_reopen(void);
void logfile_close_in_worker(void);
void logfile_pump(struct event_base *);

/* pidfile.c */
int  pidfile_lock(const char *, char *, size_t);
int  pidfile_write(int);
void pidfile_remove(const char *, int);

/* worker_io.c: event plumbing shared by the worker kinds */
typedef void (*worker_dgram_fn)(struct worker *, struct listener *);
typedef void (*worker_accept_fn)(struct worker *, struct listener *, int,
    const struct addr *);
void worker_listen(struct worker *, worker_dgram_fn, worker_accept_fn);
void worker_unlisten(struct worker *);
void worker_drop_dgram(struct worker *, struct listener *);
void worker_linger(struct worker *, int);
void worker_nodelay(int);
int  worker_log_ok(struct worker *, const struct sockaddr *);
struct mmsghdr;
struct msghdr;
void worker_sendmmsg(struct worker *, int, struct mmsghdr *, int, int);
void worker_pktinfo(struct msghdr *, char *, int, const void *);

/* tracker_req.c */
struct bufferevent;
ssize_t tracker_answer(struct worker *, struct listener *, const uint8_t *,
    size_t, const struct sockaddr *, const struct sockaddr *, int,
    struct bufferevent *, uint8_t *, size_t, struct listener **);
void	tracker_rfc5780_init(struct worker *);

/* tracker_group.c */
struct tt_request;
size_t tracker_text_group(struct worker *, const struct tt_request *,
    const struct sockaddr *, char *, size_t);

/* tracker_fed.c */
void tracker_fed_start(struct worker *);

/* tracker_tcp.c */
void
tracker_accept(struct worker *, struct listener *, int, const struct addr *);

/* The worker kinds. */
extern const struct role roles[WORKER_KINDS];
void			 tracker_main(struct worker *);
void			 rendezvous_main(struct worker *);
void			 relay_main(struct worker *);
void			 relay_drain(struct worker *);
int			 relay_busy(struct worker *);

#endif

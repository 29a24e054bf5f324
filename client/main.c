/*
 * natclient: find your public address, and (as features land) punch
 * through NATs and expose services.  There is no built-in server: it is
 * named with -s or in natclient.conf.
 */
#include "config.h"

#include <sys/socket.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "agent.h"
#include "keys.h"
#include "natclient.h"

#ifndef NATCLIENT_CONF
#define NATCLIENT_CONF "/etc/natclient.conf"
#endif

struct command {
	const char *name;
	int (*run)(struct client_opts *, int, char **);
	const char *help;
	const char *usage; /* natclient CMD --help: options, an example */
};

static const struct command commands[] = {
    {"nat", cmd_nat, "print the public address the server sees",
	"natclient -s host[:port] [--stun] [--json] [--timeout s] nat\n"
	"  --stun   ask with a STUN Binding request instead of //nat\n"
	"example: natclient -s nat.example.org nat\n"},
    {"nat-type", cmd_nat_type, "NAT mapping, filtering, port allocation",
	"natclient -s host[:port] [--json] [--interface if] [--no-portmap]\n"
	"          nat-type\n"
	"  also: which port mapping the gateway offers (PCP, NAT-PMP, UPnP)\n"
	"example: natclient -s nat.example.org nat-type\n"},
    {"netcheck", cmd_netcheck, "UDP, public addresses, NAT, relay, trackers",
	"natclient -s host[:port] [--relay host[:port]] [--tracker host[:port]]\n"
	"          [--no-portmap] [--json] netcheck\n"
	"example: natclient -s nat.example.org netcheck\n"},
    {"register", cmd_register, "join a group and follow its members",
	"natclient -s host[:port] [--once] [--interval s] [--public addr]\n"
	"          [--ns ns] [--json] register GROUP\n"
	"example: natclient -s nat.example.org register my-group-name\n"},
    {"peers", cmd_peers, "list the other members of a group",
	"natclient -s host[:port] [--ns ns] [--json] peers GROUP\n"
	"example: natclient -s nat.example.org peers my-group-name\n"},
    {"trackers", cmd_trackers, "list the federated trackers",
	"natclient -s host[:port] [--json] trackers\n"
	"example: natclient -s nat.example.org trackers\n"},
    {"punch", cmd_punch, "N4 hole punching (n4.py's protocol)",
	"natclient -s host[:port] [-a ident] [-b port] [-n count] "
	"[-o offset] punch\n"
	"example: natclient -s nat.example.org punch -a mypair\n"},
    {"listen", cmd_listen, "wait under a name; bridge the first peer",
	"natclient -s host[:port] [--forward host:port | --forward-tcp h:p]\n"
	"          [--tcp] [--keep-listening] [--tracker h[:p]] [--relay h[:p]]\n"
	"          [--token-file f] [--key f] [--listed] [--no-portmap]\n"
	"          --allow f | --secret-file f | --allow-any  listen NAME\n"
	"  --forward h:p    the peer's datagrams to this UDP service\n"
	"  --forward-tcp h:p  each of the peer's TCP connections to h:p\n"
	"  --listed         let the server's list show the name (if it lists)\n"
	"  --allow f        accept only the public keys in f, one a line\n"
	"  --secret-file f  accept whoever holds the same secret\n"
	"  --no-portmap     ask the gateway for no port mapping\n"
	"example: natclient -s nat.example.org --allow ~/.config/natkit/"
	"allowed listen office < file\n"},
    {"connect", cmd_connect, "punch to a name; bridge stdin/stdout",
	"natclient -s host[:port] [--local port | --local-tcp port] [--tcp]\n"
	"          [--tracker h[:p]] [--relay h[:p]] [--token-file f] [--key f]\n"
	"          [--peer-key key | --known-peers f] [--secret-file f]\n"
	"          [--no-portmap] connect NAME\n"
	"  --local port     datagrams sent to 127.0.0.1:port, to the peer\n"
	"  --local-tcp port TCP connections to 127.0.0.1:port, each to the\n"
	"                   peer's --forward-tcp, over the one path\n"
	"  --peer-key key   the listener must have this key\n"
	"  (else its key is trusted the first time and checked after)\n"
	"example: natclient -s nat.example.org connect office > file\n"
	"example: natclient -s nat.example.org --local-tcp 2222 connect "
	"office\n"},
    {"ping", cmd_ping, "ping a listener over the path; direct or relay",
	"natclient -s host[:port] [--count n] [--stream] [--tcp] [--relay h[:p]]\n"
	"          [--token-file f] [--key f] [--peer-key key | --known-peers f]\n"
	"          [--secret-file f] [--json] ping NAME\n"
	"  --count n   pings, one a second (default 4)\n"
	"  --stream    the listener carries stdin/stdout (not --forward)\n"
	"example: natclient -s nat.example.org --secret-file ~/.s ping office\n"},
    {"keygen", cmd_keygen, "make this machine's identity key",
	"natclient [--key f] keygen\n"
	"  writes the private key (mode 0600) and f.pub; prints the public "
	"key\n"
	"example: natclient --key ~/.config/natkit/key keygen\n"},
    {"key", cmd_key, "print this machine's public key",
	"natclient [--key f] key\n"
	"example: natclient --key ~/.config/natkit/key key >> allowed\n"},
    {"expose", cmd_expose, "make a local TCP, UDP or web service public",
	"natclient -s host[:port] --token-file f [--local-host h]\n"
	"          [--remote-port n] [--name n] [--pool n] [--mux]\n"
	"          [--proxy-protocol v] [--domain name]... [--subdomain label]\n"
	"          [--json] expose tcp|udp|http|https LOCAL_PORT\n"
	"  --mux            tcp: all visitors over one data connection to the\n"
	"                   relay (no new connection or TLS handshake each)\n"
	"  --proxy-protocol v1|v2  tell the service each visitor's address\n"
	"                   first (tcp; haproxy's accept-proxy, nginx's\n"
	"                   proxy_protocol)\n"
	"  --domain name    http, https: a host name (or *.name) that the\n"
	"                   relay's port 80 (443) routes here; repeatable\n"
	"  --subdomain l    http, https: l.SUBDOMAIN_HOST of the relay\n"
	"example: natclient -s nat.example.org --token-file ~/.natkit-token "
	"expose tcp 22\n"
	"example: natclient -s nat.example.org --token-file ~/.natkit-token "
	"expose http 8080 --domain www.example.org\n"},
    {"up", cmd_up, "serve every service of natclient.conf (the agent)",
	"natclient [-c natclient.conf] up\n"
	"  [expose NAME], [listen NAME] and [connect NAME] sections; SIGHUP\n"
	"  reads the file again, natclient -t checks it\n"
	"example: natclient -c /etc/natclient.conf up\n"},
    {"status", cmd_status, "what the running agent serves, and how",
	"natclient [-c natclient.conf] [--json] status\n"
	"example: natclient -c /etc/natclient.conf --json status\n"},
    {NULL, NULL, NULL, NULL},
};

static const struct option longopts[] = {
    {"config", required_argument, NULL, 'c'},
    {"server", required_argument, NULL, 's'},
    {"json", no_argument, NULL, 'j'},
    {"stun", no_argument, NULL, 'S'},
    {"once", no_argument, NULL, 'O'},
    {"interval", required_argument, NULL, 'N'},
    {"public", required_argument, NULL, 'P'},
    {"ns", required_argument, NULL, 'X'},
    {"forward", required_argument, NULL, 'F'},
    {"local", required_argument, NULL, 'L'},
    {"tcp", no_argument, NULL, 1000},
    {"keep-listening", no_argument, NULL, 'K'},
    {"tracker", required_argument, NULL, 'R'},
    {"relay", required_argument, NULL, 'Y'},
    {"local-host", required_argument, NULL, 'H'},
    {"remote-port", required_argument, NULL, 'p'},
    {"pool", required_argument, NULL, 1001},
    {"count", required_argument, NULL, 1002},
    {"stream", no_argument, NULL, 1003},
    {"forward-tcp", required_argument, NULL, 1004},
    {"local-tcp", required_argument, NULL, 1005},
    {"proxy-protocol", required_argument, NULL, 1006},
    {"domain", required_argument, NULL, 1007},
    {"subdomain", required_argument, NULL, 1008},
    {"name", required_argument, NULL, 'm'},
    {"token-file", required_argument, NULL, 'k'},
    {"key", required_argument, NULL, 'E'},
    {"allow", required_argument, NULL, 'W'},
    {"allow-any", no_argument, NULL, 'A'},
    {"listed", no_argument, NULL, 'M'},
    {"no-tls", no_argument, NULL, 'G'},
    {"no-portmap", no_argument, NULL, 1009},
    {"mux", no_argument, NULL, 1010},
    {"tls-ca-file", required_argument, NULL, 'B'},
    {"tls-fingerprint", required_argument, NULL, 'C'},
    {"known-servers", required_argument, NULL, 'D'},
    {"secret-file", required_argument, NULL, 'Z'},
    {"peer-key", required_argument, NULL, 'Q'},
    {"known-peers", required_argument, NULL, 'U'},
    {"timeout", required_argument, NULL, 'T'},
    {"interface", required_argument, NULL, 'I'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *, int) __attribute__((noreturn));
static void command_help(const char *) __attribute__((noreturn));

/* A whole number of seconds from 1 to max, or usage error (exit 2). */
static long
parse_seconds(const char *opt, const char *arg, long max)
{
	char *end;
	long  v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < 1 || v > max) {
		fprintf(stderr,
		    "natclient: %s: must be 1 to %ld seconds, not "
		    "'%s'\n",
		    opt, max, arg);
		exit(2);
	}
	return v;
}

/* A whole number from lo to hi, or usage error (exit 2). */
static long
parse_number(const char *opt, const char *arg, long lo, long hi)
{
	char *end;
	long  v = strtol(arg, &end, 10);

	if (*arg == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "natclient: %s: must be %ld to %ld, not '%s'\n",
		    opt, lo, hi, arg);
		exit(2);
	}
	return v;
}

static void
usage(FILE *fp, int code)
{
	const struct command *c;

	fprintf(fp,
	    "usage: natclient [-46htv] [-c file] [-s host[:port]] "
	    "[--json] [--stun] [--timeout s]\n"
	    "                 [--once] [--interval s] [--public addr] [--ns ns]\n"
	    "                 [-a ident] [-b port] [-n count] [-o offset]\n"
	    "                 [--forward host:port] [--local port] [--tcp]\n"
	    "                 [--forward-tcp host:port] [--local-tcp port]\n"
	    "                 [--keep-listening] [--count n] [--stream]\n"
	    "                 [--tracker host[:port]] [--relay host[:port]]\n"
	    "                 [--local-host host]\n"
	    "                 [--remote-port port] [--name name] [--pool n] "
	    "[--mux]\n"
	    "                 [--proxy-protocol v1|v2]\n"
	    "                 [--token-file file]\n"
	    "                 [--key file] [--allow file] [--allow-any] "
	    "[--secret-file file]\n"
	    "                 [--peer-key key] [--known-peers file] [--listed]\n"
	    "                 [--no-tls] [--tls-ca-file file] "
	    "[--tls-fingerprint sha256:hex]\n"
	    "                 [--known-servers file] [--no-portmap]\n"
	    "                 [--interface ifname] command [args]\n"
	    "commands:\n");
	for (c = commands; c->name != NULL; c++)
		fprintf(fp, "  %-10s %s\n", c->name, c->help);
	exit(code);
}

/* --help, for one command when it is named: to stdout, exit 0. */
static void
command_help(const char *name)
{
	const struct command *c;

	for (c = commands; name != NULL && c->name != NULL; c++)
		if (strcmp(c->name, name) == 0) {
			printf("natclient %s: %s\nusage: %s"
			       "exit: 0 ok, 1 no or an error answer, 2 bad "
			       "command line; see natclient(1)\n",
			    c->name, c->help, c->usage);
			exit(0);
		}
	usage(stdout, 0);
}

/*
 * A string option's value into its field of the options (unless it was
 * not given, which keeps natclient.conf's): 0, or -1 when too long.
 */
static int
opt_copy(char *field, size_t size, const char *val, const char *opt)
{
	if (val == NULL)
		return 0;
	if (strlen(val) >= size) {
		fprintf(stderr, "natclient: %s: longer than %zu bytes\n", opt,
		    size - 1);
		return -1;
	}
	strcpy(field, val);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = NATCLIENT_CONF, *server = NULL, *iface = NULL;
	const char *pub = NULL, *ns = "51pwn";
	char	    err[CONF_ERR_MAX];
	const struct command *c;
	struct client_opts    o;
	int	    ch, must_exist = 0, json = 0, family = AF_UNSPEC, stun = 0;
	long	    timeout = 0, interval = 20;
	int	    once = 0, src_port = 30000, src_count = 25, offset = 20;
	int	    local = 0, tcp = 0, keep = 0, help = 0, test = 0;
	const char *ident = "n4n4n4", *forward = NULL, *tracker = NULL;
	const char *relay = NULL, *forward_tcp = NULL;
	int	    local_tcp = 0;
	const char *proxy_protocol = "no", *subdomain = "";
	static char domains[512];
	const char *local_host = "127.0.0.1", *name = "", *token_file = NULL;
	const char *key_file = NULL, *allow = NULL, *secret = NULL;
	const char *peer_key = NULL, *known = NULL;
	int	    allow_any = 0, listed = 0, no_tls = 0, no_portmap = 0;
	const char *ca = NULL, *fingerprint = NULL, *known_servers = NULL;
	int	    remote_port = 0, pool = 2, mux = 0, ping_count = 0, ping_stream = 0;

	while ((ch = getopt_long(argc, argv, "46a:b:c:hn:o:s:tv", longopts,
		    NULL)) != -1) {
		switch (ch) {
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'c':
			path = optarg;
			must_exist = 1;
			break;
		case 's':
			server = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'S':
			stun = 1;
			break;
		case 'O':
			once = 1;
			break;
		case 'N':
			interval = parse_seconds("--interval", optarg, 86400);
			break;
		case 'P':
			pub = optarg;
			break;
		case 'X':
			ns = optarg;
			break;
		case 'T':
			timeout = parse_seconds("--timeout", optarg, 3600);
			break;
		case 'I':
			iface = optarg;
			break;
		case 'a':
			ident = optarg;
			break;
		case 'b':
			src_port = (int)parse_number("-b", optarg, 0, 65535);
			break;
		case 'n':
			src_count = (int)parse_number("-n", optarg, 1, 256);
			break;
		case 'o':
			offset = (int)parse_number("-o", optarg, -65535, 65535);
			break;
		case 'F':
			forward = optarg;
			break;
		case 'L':
			local = (int)parse_number("--local", optarg, 1, 65535);
			break;
		case 1000:
			tcp = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'K':
			keep = 1;
			break;
		case 1002:
			ping_count = (int)parse_number("--count", optarg, 1,
			    3600);
			break;
		case 1003:
			ping_stream = 1;
			break;
		case 1004:
			forward_tcp = optarg;
			break;
		case 1006:
			proxy_protocol = optarg;
			break;
		case 1007: /* repeatable: the names, apart by spaces */
			if (strlen(domains) + strlen(optarg) + 2 >
			    sizeof(domains)) {
				fprintf(stderr, "natclient: --domain: too many "
						"names\n");
				return 2;
			}
			if (domains[0] != '\0')
				strcat(domains, " ");
			strcat(domains, optarg);
			break;
		case 1008:
			subdomain = optarg;
			break;
		case 1005:
			local_tcp = (int)parse_number("--local-tcp", optarg, 1,
			    65535);
			break;
		case 'R':
			tracker = optarg;
			break;
		case 'Y':
			relay = optarg;
			break;
		case 'H':
			local_host = optarg;
			break;
		case 'p':
			remote_port = (int)parse_number("--remote-port", optarg,
			    1, 65535);
			break;
		case 1001:
			pool = (int)parse_number("--pool", optarg, 0,
			    EXPOSE_POOL_MAX);
			break;
		case 1010:
			mux = 1;
			break;
		case 'm':
			name = optarg;
			break;
		case 'k':
			token_file = optarg;
			break;
		case 'E':
			key_file = optarg;
			break;
		case 'W':
			allow = optarg;
			break;
		case 'A':
			allow_any = 1;
			break;
		case 'M':
			listed = 1;
			break;
		case 'G':
			no_tls = 1;
			break;
		case 1009:
			no_portmap = 1;
			break;
		case 'B':
			ca = optarg;
			break;
		case 'C':
			fingerprint = optarg;
			break;
		case 'D':
			known_servers = optarg;
			break;
		case 'Z':
			secret = optarg;
			break;
		case 'Q':
			peer_key = optarg;
			break;
		case 'U':
			known = optarg;
			break;
		case 'h':
			help = 1;
			break;
		case 'v':
			printf("natclient %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr, 2);
		}
	}
	argc -= optind;
	argv += optind;
	if (help)
		command_help(argc > 0 ? argv[0] : NULL);
	if (test)
		return agent_test(path);
	if (argc < 1)
		usage(stderr, 2);
	/* Status lines reach a file or pipe at once, not at exit. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&o, 0, sizeof(o));
	if (client_conf_load(&o, path, must_exist, err, sizeof(err)) == -1) {
		fprintf(stderr, "natclient: %s\n", err);
		return 2;
	}
	o.json = json;
	o.conf_path = path;
	o.stun = stun;
	o.once = once;
	o.interval = (int)interval;
	if (opt_copy(o.public_addrs, sizeof(o.public_addrs), pub, "--public") ||
	    opt_copy(o.ns, sizeof(o.ns), ns, "--ns") ||
	    opt_copy(o.ident, sizeof(o.ident), ident, "-a") ||
	    opt_copy(o.forward, sizeof(o.forward), forward, "--forward") ||
	    opt_copy(o.forward_tcp, sizeof(o.forward_tcp), forward_tcp,
		"--forward-tcp") ||
	    opt_copy(o.proxy_protocol, sizeof(o.proxy_protocol),
		proxy_protocol, "--proxy-protocol") ||
	    opt_copy(o.domains, sizeof(o.domains), domains, "--domain") ||
	    opt_copy(o.subdomain, sizeof(o.subdomain), subdomain,
		"--subdomain") ||
	    opt_copy(o.tracker, sizeof(o.tracker), tracker, "--tracker") ||
	    opt_copy(o.relay, sizeof(o.relay), relay, "--relay") ||
	    opt_copy(o.local_host, sizeof(o.local_host), local_host,
		"--local-host") ||
	    opt_copy(o.name, sizeof(o.name), name, "--name") ||
	    opt_copy(o.token_file, sizeof(o.token_file), token_file,
		"--token-file") ||
	    opt_copy(o.key_file, sizeof(o.key_file), key_file, "--key") ||
	    opt_copy(o.allow, sizeof(o.allow), allow, "--allow") ||
	    opt_copy(o.secret_file, sizeof(o.secret_file), secret,
		"--secret-file") ||
	    opt_copy(o.peer_key, sizeof(o.peer_key), peer_key, "--peer-key") ||
	    opt_copy(o.known_peers, sizeof(o.known_peers), known,
		"--known-peers") ||
	    opt_copy(o.tls_ca_file, sizeof(o.tls_ca_file), ca, "--tls-ca-file") ||
	    opt_copy(o.tls_fingerprint, sizeof(o.tls_fingerprint), fingerprint,
		"--tls-fingerprint") ||
	    opt_copy(o.known_servers, sizeof(o.known_servers), known_servers,
		"--known-servers"))
		return 2;
	if (no_tls)
		o.tls = 0;
	if (no_portmap)
		o.portmap = 0;
	o.allow_any = allow_any;
	o.listed = listed;
	o.remote_port = remote_port;
	o.pool = pool;
	o.mux = mux;
	o.src_port = src_port;
	o.src_count = src_count;
	o.peer_offset = offset;
	o.local_port = local;
	o.local_tcp = local_tcp;
	o.local_tcp_fd = -1;
	o.tcp = tcp;
	o.keep_listening = keep;
	o.ping_count = ping_count;
	o.ping_stream = ping_stream;
	o.family = family;
	if (timeout > 0)
		o.timeout = (int)timeout;
	if (opt_copy(o.server, sizeof(o.server), server, "-s") ||
	    opt_copy(o.interface, sizeof(o.interface), iface, "--interface"))
		return 2;
	for (c = commands; c->name != NULL; c++)
		if (strcmp(c->name, argv[0]) == 0)
			return c->run(&o, argc, argv);
	fprintf(stderr, "natclient: unknown command '%s'\n", argv[0]);
	usage(stderr, 2);
}

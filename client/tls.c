/*
 * natclient's TLS 1.3 to the server's rendezvous (8848) and relay
 * (8888) doors.  The server's certificate is checked against a CA file
 * (tls_ca_file, with the host name), a pinned fingerprint
 * (tls_fingerprint, "sha256:HEX" as natserver logs it), or else the
 * known servers file, trusting the first certificate a server shows and
 * refusing a changed one, loudly.  Plaintext only with tls = no.
 *
 * After the handshake a small child process (tlspump.c) joins the TLS
 * connection to one end of a socketpair, and the caller gets the other:
 * the JSON lines, logins and streams of natclient stay as they are.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "keys.h"
#include "natclient.h"
#include "tlspump.h"

/*
 * The known servers' record for where, checked or made: 0, or -1 with
 * why (a changed certificate, or a file we cannot write).
 */
static int
tls_known(const struct client_opts *o, const char *where, const char *fp,
    char *why, size_t len)
{
	/* The last server trusted: a visitor's connection reads no file. */
	static char trusted[128 + 96 + 2];
	char	    path[PATH_MAX], line[256], who[128], seen[96];
	FILE	   *f;

	snprintf(line, sizeof(line), "%s %s", where, fp);
	if (strcmp(line, trusted) == 0)
		return 0;
	key_config_path(o->known_servers, "known_servers", path, sizeof(path));
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "%127s %95s", who, seen) != 2 ||
			    strcmp(who, where) != 0)
				continue;
			fclose(f);
			if (strcasecmp(seen, fp) == 0) {
				snprintf(trusted, sizeof(trusted), "%s %s",
				    where, fp);
				return 0;
			}
			snprintf(why, len,
			    "WARNING: THE CERTIFICATE OF SERVER %s HAS CHANGED!\n"
			    "natclient: someone may be in the middle, or the "
			    "server has a new certificate.\n"
			    "natclient: %s records %s; the server now shows "
			    "%s.\n"
			    "natclient: refused.  If the change is expected, "
			    "remove the line for %s from %s.",
			    where, path, seen, fp, where, path);
			return -1;
		}
		fclose(f);
	}
	key_config_mkdir(path);
	if ((f = fopen(path, "a")) == NULL ||
	    fprintf(f, "%s %s\n", where, fp) < 0 || fclose(f) != 0) {
		snprintf(why, len, "known servers %s: %s", path,
		    strerror(errno));
		return -1;
	}
	fprintf(stderr,
	    "natclient: first connection to server %s: trusting its "
	    "certificate %s (recorded in %s)\n",
	    where, fp, path);
	return 0;
}

/*
 * Is the server's certificate (the handshake done) the one we trust?
 * 0, or -1 with why.
 */
int
client_tls_trust(const struct client_opts *o, SSL *ssl, const char *where,
    char *why, size_t len)
{
	X509 *x = SSL_get0_peer_certificate(ssl);
	char  fp[80];
	long  v;

	if (x == NULL) {
		snprintf(why, len, "server %s: no certificate", where);
		return -1;
	}
	tlspump_fingerprint(x, fp, sizeof(fp));
	if (o->tls_ca_file[0] != '\0') {
		if ((v = SSL_get_verify_result(ssl)) == X509_V_OK)
			return 0;
		snprintf(why, len,
		    "server %s: its certificate does not verify against %s: "
		    "%s",
		    where, o->tls_ca_file, X509_verify_cert_error_string(v));
		return -1;
	}
	if (o->tls_fingerprint[0] != '\0') {
		const char *want = o->tls_fingerprint;

		if (strncasecmp(want, "sha256:", 7) == 0 &&
		    strcasecmp(want, fp) == 0)
			return 0;
		snprintf(why, len,
		    "server %s: certificate %s is not the pinned %s: refused",
		    where, fp, want);
		return -1;
	}
	return tls_known(o, where, fp, why, len);
}

/* The join, in a grandchild (nobody waits for it). */
static void
tls_pump_child(SSL *ssl, int net, int app)
{
	struct tlspump p;
	int	       fd;

	/* Nothing of the parent's: not its stdout, which a reader waits on. */
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	for (fd = 3; fd < 1024; fd++)
		if (fd != net && fd != app)
			close(fd);
	fcntl(net, F_SETFL, fcntl(net, F_GETFL) | O_NONBLOCK);
	fcntl(app, F_SETFL, fcntl(app, F_GETFL) | O_NONBLOCK);
	tlspump_init(&p, ssl, net, app);
	while (tlspump_run(&p) == 1) {
		struct pollfd pfd[2] = {{net, p.want_net, 0}, {app, p.want_app, 0}};
		int	      i;

		if (poll(pfd, 2, -1) == -1 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++)
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				tlspump_readable(&p, pfd[i].fd);
	}
	_exit(0);
}

/* The TLS handshake on fd, within the timeout: 0, or -1 (said why). */
static int
tls_handshake(const struct client_opts *o, SSL *ssl, int fd, const char *where)
{
	int64_t deadline = client_now_ms() + 1000 * o->timeout;
	int	rv;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while ((rv = SSL_connect(ssl)) != 1) {
		struct pollfd pfd = {fd, 0, 0};
		int	      e = SSL_get_error(ssl, rv);
		int	      wait = (int)(deadline - client_now_ms());

		if (e == SSL_ERROR_WANT_READ)
			pfd.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			pfd.events = POLLOUT;
		else if (o->tls_ca_file[0] != '\0' &&
		    SSL_get_verify_result(ssl) != X509_V_OK)
			/* Not what a retry can change: the end. */
			client_fail(o,
			    "server %s: its certificate does not verify "
			    "against %s: %s",
			    where, o->tls_ca_file,
			    X509_verify_cert_error_string(
				SSL_get_verify_result(ssl)));
		else {
			/* One error off the queue: asking twice took two. */
			const char *why = ERR_reason_error_string(ERR_get_error());

			fprintf(stderr, "natclient: TLS with server %s: %s\n",
			    where,
			    why != NULL ? why
					: "the connection closed (is it a TLS "
					  "server? tls = no on both sides for "
					  "plaintext)");
			ERR_clear_error();
			return -1;
		}
		if (wait <= 0 || poll(&pfd, 1, wait) != 1) {
			fprintf(stderr,
			    "natclient: TLS with server %s: timed out\n", where);
			return -1;
		}
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return 0;
}

/*
 * Resumption: the latest session ticket a server gave us, so that the
 * next connection to it (a visitor's data connection, a reconnect)
 * skips the certificate exchange.  What is trusted does not change: a
 * resumed session carries the certificate of its first handshake, and
 * client_tls_trust judges it as before; only that server can accept
 * its ticket.  One server at a time, as natclient talks to one.
 */
static struct {
	char	     hostport[256];
	SSL_SESSION *session;
	int	     index; /* of the SSL's hostport copy, ex_data */
} tls_resume = {"", NULL, -1};

static void
tls_hostport_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	free(ptr);
}

/* A new ticket (TLS 1.3 sends them after the handshake): keep it. */
static int
tls_new_session(SSL *ssl, SSL_SESSION *session)
{
	const char *hostport = SSL_get_ex_data(ssl, tls_resume.index);

	if (hostport == NULL)
		return 0;
	if (tls_resume.session != NULL)
		SSL_SESSION_free(tls_resume.session);
	snprintf(tls_resume.hostport, sizeof(tls_resume.hostport), "%s",
	    hostport);
	tls_resume.session = session;
	return 1; /* the reference is ours */
}

static void
tls_resume_offer(SSL *ssl, const char *hostport)
{
	char *copy = strdup(hostport);

	if (copy == NULL || SSL_set_ex_data(ssl, tls_resume.index, copy) != 1) {
		free(copy);
		return;
	}
	if (tls_resume.session != NULL &&
	    strcmp(tls_resume.hostport, hostport) == 0 &&
	    SSL_SESSION_is_resumable(tls_resume.session))
		SSL_set_session(ssl, tls_resume.session);
}

/*
 * A TLS client for hostport's server, with the checks the options ask
 * for (a CA file: the host name too).  Exits when OpenSSL cannot start.
 */
SSL *
client_tls_new(const struct client_opts *o, const char *hostport)
{
	static SSL_CTX *ctx;
	char		host[ADDR_HOSTLEN] = "";
	const char     *why;
	uint16_t	port;
	SSL	       *ssl;

	if (ctx == NULL) {
		if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
		    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION))
			client_fail(o, "OpenSSL cannot start");
		SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
		/* Idle connections by the thousand: no buffers kept idle. */
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
		SSL_CTX_set_session_cache_mode(ctx,
		    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
		tls_resume.index =
		    SSL_get_ex_new_index(0, NULL, NULL, NULL, tls_hostport_free);
		if (o->tls_ca_file[0] != '\0' &&
		    SSL_CTX_load_verify_locations(ctx, o->tls_ca_file, NULL) !=
			1)
			client_fail(o, "tls_ca_file %s: cannot be read",
			    o->tls_ca_file);
	}
	if ((ssl = SSL_new(ctx)) == NULL)
		client_fail(o, "OpenSSL: out of memory");
	tls_resume_offer(ssl, hostport);
	if (o->tls_ca_file[0] != '\0') {
		/* Verified, host name too, but judged after the handshake
		 * (client_tls_trust), so that the failure can be told. */
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		addr_split(hostport, host, sizeof(host), &port, 0, &why);
		SSL_set1_host(ssl, host);
		SSL_set_tlsext_host_name(ssl, host);
	}
	return ssl;
}

/* Say once that tls = no sends plaintext. */
void
client_tls_warn_plain(void)
{
	static int warned;

	if (!warned++)
		fprintf(stderr,
		    "natclient: warning: tls = no: what goes to the "
		    "server is plaintext (logins, names, exposed "
		    "streams)\n");
}

/*
 * TLS over fd, connected to server: the descriptor to use instead (fd
 * closed), fd itself with tls = no, or -1 when the handshake fails (fd
 * closed; said why).  A certificate we do not trust ends natclient.
 */
int
client_tls(const struct client_opts *o, int fd, const struct addr *server,
    const char *hostport)
{
	char  where[ADDR_STRLEN], why[1024];
	SSL  *ssl;
	int   sp[2];
	pid_t pid;

	if (!o->tls) {
		client_tls_warn_plain();
		return fd;
	}
	addr_format(server, where, sizeof(where));
	ssl = client_tls_new(o, hostport);
	SSL_set_fd(ssl, fd);
	if (tls_handshake(o, ssl, fd, where) == -1) {
		SSL_free(ssl);
		close(fd);
		return -1;
	}
	if (client_tls_trust(o, ssl, where, why, sizeof(why)) == -1)
		client_fail(o, "%s", why);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    (pid = fork()) == -1)
		client_fail(o, "TLS: %s", strerror(errno));
	if (pid == 0) {
		if (fork() == 0)
			tls_pump_child(ssl, fd, sp[0]);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	SSL_free(ssl); /* the pump has its copy; no close_notify from here */
	close(fd);
	close(sp[0]);
	return sp[1];
}

/*
 * TLS in front of the rendezvous (8848) and relay (8888) connections.
 *
 * The master makes the TLS context before it forks the workers: from
 * server.tls_cert and tls_key, or from a self-signed certificate it
 * makes on first start in server.tls_dir (and logs the SHA-256
 * fingerprint that clients pin).  A worker that accepts a connection on
 * one of those doors joins it to one end of a socketpair with a
 * tlspump, in its event loop (common/tlsloop.c), and gives the protocol
 * code the other end as though it were the connection: the JSON lines,
 * the logins and the relay's splicing stay as they are, and see only
 * plaintext.  The protocol's own deadlines bound the handshake (its end
 * closes the pump).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "natserver.h"
#include "tlsloop.h"
#include "tlspump.h"

#define TLS_DAYS 3650 /* the self-signed certificate's life */

static SSL_CTX *tls_ctx;

/* Write a PEM file only its owner may read: 0, or -1. */
static int
tls_write(const char *path, EVP_PKEY *key, X509 *x)
{
	int   fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	FILE *fp;
	int   ok;

	if (fd == -1 || (fp = fdopen(fd, "w")) == NULL)
		return -1;
	ok = key != NULL
	    ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL)
	    : PEM_write_X509(fp, x);
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/* A self-signed P-256 certificate, CN=natserver, at cert and key. */
static int
tls_make(const char *cert, const char *key, char *err, size_t errlen)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509	 *x = X509_new();
	X509_NAME *name;
	int	  ok = 0;

	if (pk != NULL && x != NULL) {
		X509_set_version(x, 2);
		ASN1_INTEGER_set(X509_get_serialNumber(x),
		    (long)(time(NULL) & 0x7fffffff));
		X509_gmtime_adj(X509_getm_notBefore(x), -3600);
		X509_gmtime_adj(X509_getm_notAfter(x), 86400L * TLS_DAYS);
		X509_set_pubkey(x, pk);
		name = X509_get_subject_name(x);
		X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
		    (const unsigned char *)"natserver", -1, -1, 0);
		X509_set_issuer_name(x, name);
		ok = X509_sign(x, pk, EVP_sha256()) > 0 &&
		    tls_write(key, pk, NULL) == 0 && tls_write(cert, NULL, x) == 0;
	}
	if (!ok)
		snprintf(err, errlen, "cannot make a certificate in %s: %s",
		    cert, errno != 0 ? strerror(errno) : "OpenSSL failed");
	EVP_PKEY_free(pk);
	X509_free(x);
	return ok ? 0 : -1;
}

/*
 * The master's TLS context for the workers it forks next: 0, or -1
 * with err.  With tls = no there is none (and a warning).
 */
int
tls_setup(const struct server_conf *c, char *err, size_t errlen)
{
	char	 cert[PATH_MAX + 32], key[PATH_MAX + 32], fp[80];
	SSL_CTX *ctx;

	if (!c->tls) {
		if (tls_ctx != NULL)
			SSL_CTX_free(tls_ctx);
		tls_ctx = NULL;
		log_warnx("server.tls = no: rendezvous and relay connections "
			  "are plaintext, and natclient must say tls = no too");
		return 0;
	}
	if (c->tls_cert[0] != '\0') {
		snprintf(cert, sizeof(cert), "%s", c->tls_cert);
		snprintf(key, sizeof(key), "%s", c->tls_key);
	} else {
		snprintf(cert, sizeof(cert), "%s/natserver.crt", c->tls_dir);
		snprintf(key, sizeof(key), "%s/natserver.key", c->tls_dir);
		mkdir(c->tls_dir, 0700);
		if (access(cert, F_OK) == -1 &&
		    tls_make(cert, key, err, errlen) == -1)
			return -1;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "TLS certificate %s or key %s: %s", cert,
		    key, ERR_reason_error_string(ERR_get_error()));
		ERR_clear_error();
		SSL_CTX_free(ctx);
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Idle connections by the thousand: no buffers kept idle. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (tls_ctx != NULL)
		SSL_CTX_free(tls_ctx);
	tls_ctx = ctx;
	tlspump_fingerprint(SSL_CTX_get0_certificate(ctx), fp, sizeof(fp));
	log_info("TLS certificate %s, fingerprint %s", cert, fp);
	return 0;
}

/* The handshake is done: count a resumed one (no certificate sent). */
static int
tls_front_done(SSL *ssl, void *arg)
{
	if (SSL_session_reused(ssl))
		proc_count(arg, STAT_TLS_RESUMED);
	return 0;
}

/*
 * Put TLS in front of fd (a connection to a TLS door): the descriptor
 * the protocol code should take instead; fd itself without TLS; -1
 * when there is no memory or no descriptor for it (fd closed).
 */
int
tls_front(struct worker *w, int fd)
{
	SSL *ssl;

	if (tls_ctx == NULL)
		return fd;
	if ((ssl = SSL_new(tls_ctx)) == NULL) {
		close(fd);
		return -1;
	}
	SSL_set_accept_state(ssl);
	return tlsloop_start(w->base, ssl, fd, tls_front_done, w);
}

/* The local address of a connection the protocol code holds. */
int
tls_sockname(int fd, struct sockaddr_storage *ss, socklen_t *len)
{
	return tlsloop_sockname(fd, ss, len);
}

/* TLS connections this worker still pumps (a draining relay waits). */
int
tls_front_count(void)
{
	return tlsloop_count();
}

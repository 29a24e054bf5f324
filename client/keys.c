/*
 * natclient's identity and whom it trusts.
 *
 * The identity is an Ed25519 key pair (libsodium): the private file
 * holds "natkit-ed25519-private BASE64-SEED", mode 0600 and refused when
 * others may read it, as ssh refuses; the public key is one line,
 * "natkit-ed25519 BASE64 comment", in FILE.pub.  Its X25519 form is the
 * Noise static key (secure.c).  By default it lives in
 * $XDG_CONFIG_HOME/natkit/key (~/.config/natkit/key), made on first use.
 *
 * A listener accepts the keys of its allow-list (--allow FILE, lines as
 * in FILE.pub), or anyone who proves the shared secret (--secret-file:
 * the Noise pre-shared key is SHA-256 of the file), or with --allow-any
 * anyone at all.  A connector checks the listener's key: --peer-key, or
 * its known peers (trust on first use, per name; a changed key is
 * refused until the user removes the old line).
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"

#define KEY_PRIVATE "natkit-ed25519-private"
#define KEY_SECRET_MAX 4096
#define KEY_PSK_LABEL "natkit-secret-1"

/* $XDG_CONFIG_HOME/natkit/leaf (or ~/.config/natkit/leaf) into out. */
static void
key_default(const char *leaf, char *out, size_t size)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");

	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, size, "%s/natkit/%s", xdg, leaf);
	else
		snprintf(out, size, "%s/.config/natkit/%s",
		    home != NULL ? home : "", leaf);
}

/* given, or else the default file leaf, into out. */
void
key_config_path(const char *given, const char *leaf, char *out, size_t size)
{
	if (given[0] != '\0')
		snprintf(out, size, "%s", given);
	else
		key_default(leaf, out, size);
}

/* Make the directory that holds path, private to us. */
void
key_config_mkdir(const char *path)
{
	char dir[PATH_MAX], *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = dir + 1; (slash = strchr(slash, '/')) != NULL; slash++) {
		*slash = '\0';
		mkdir(dir, 0700);
		*slash = '/';
	}
}

void
key_format(const uint8_t *pk, char *out, size_t size)
{
	char b64[sodium_base64_ENCODED_LEN(32,
	    sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), pk, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, size, "%s %s", KEY_PREFIX, b64);
}

/* Where our identity key is (libsodium made ready for it). */
static void
key_path(const struct client_opts *o, char *path, size_t size)
{
	if (sodium_init() == -1)
		client_fail(o, "libsodium cannot start");
	key_config_path(o->key_file, "key", path, size);
}

/* A public key ("natkit-ed25519 BASE64 ..." or "BASE64"): 0, or -1. */
int
key_parse(const char *line, uint8_t *pk)
{
	char   word[KEY_LINE_MAX];
	size_t len;

	line += strspn(line, " \t");
	if (strncmp(line, KEY_PREFIX " ", sizeof(KEY_PREFIX)) == 0)
		line += sizeof(KEY_PREFIX);
	line += strspn(line, " \t");
	len = strcspn(line, " \t\r\n");
	if (len == 0 || len >= sizeof(word))
		return -1;
	memcpy(word, line, len);
	word[len] = '\0';
	if (sodium_base642bin(pk, 32, word, len, NULL, &len, NULL,
		sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != 32)
		return -1;
	return 0;
}

/* A file only we may read (what ssh demands of a private key). */
FILE *
key_private_open(const struct client_opts *o, const char *path,
    const char *what)
{
	struct stat st;
	FILE	   *fp;

	if ((fp = fopen(path, "r")) == NULL)
		client_fail(o, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fileno(fp), &st) == -1 || (st.st_mode & 077) != 0 ||
	    st.st_uid != geteuid())
		client_fail(o,
		    "%s %s: readable by others (mode %04o): chmod 600 %s",
		    what, path, (unsigned)(st.st_mode & 07777), path);
	return fp;
}

/*
 * A new key pair at path (and path.pub): 0, or 1 when another natclient
 * made one there first (it is written aside and linked into place, so
 * that two first uses at once never see half a key).
 */
static int
key_generate(const struct client_opts *o, const char *path,
    struct client_key *k)
{
	char	b64[sodium_base64_ENCODED_LEN(32,
	       sodium_base64_VARIANT_ORIGINAL)];
	char	tmp[PATH_MAX + 32], pub[PATH_MAX + 8], line[KEY_LINE_MAX];
	char	host[64] = "";
	uint8_t seed[32];
	FILE   *fp;
	int	fd;

	key_config_mkdir(path);
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		client_fail(o, "key %s: %s", tmp, strerror(errno));
	sodium_bin2base64(b64, sizeof(b64), seed, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(seed, sizeof(seed));
	if (dprintf(fd, "%s %s\n", KEY_PRIVATE, b64) < 0 || fsync(fd) == -1 ||
	    close(fd) == -1)
		client_fail(o, "key %s: %s", tmp, strerror(errno));
	sodium_memzero(b64, sizeof(b64));
	if (link(tmp, path) == -1) {
		int e = errno;

		unlink(tmp);
		if (e == EEXIST)
			return 1;
		client_fail(o, "key %s: %s", path, strerror(e));
	}
	unlink(tmp);
	gethostname(host, sizeof(host) - 1);
	snprintf(pub, sizeof(pub), "%s.pub", path);
	key_format(k->pk, line, sizeof(line));
	if ((fp = fopen(pub, "w")) == NULL ||
	    fprintf(fp, "%s %s\n", line, host) < 0 || fclose(fp) != 0)
		client_fail(o, "key %s: %s", pub, strerror(errno));
	snprintf(k->path, sizeof(k->path), "%s", path);
	return 0;
}

/*
 * Our identity into k: natclient.conf's key_file or --key, else the
 * default, made there when create is set and none exists.
 */
int
key_load(const struct client_opts *o, struct client_key *k, int create)
{
	char	path[PATH_MAX], line[KEY_LINE_MAX], *b64;
	uint8_t seed[32];
	size_t	len;
	FILE   *fp;

	memset(k, 0, sizeof(*k));
	key_path(o, path, sizeof(path));
	if (access(path, F_OK) == -1 && errno == ENOENT && create &&
	    o->key_file[0] == '\0' && key_generate(o, path, k) == 0) {
		fprintf(stderr, "natclient: made a new identity key in %s\n",
		    path);
		return 0;
	}
	fp = key_private_open(o, path, "key");
	if (fgets(line, sizeof(line), fp) == NULL ||
	    strncmp(line, KEY_PRIVATE " ", sizeof(KEY_PRIVATE)) != 0)
		client_fail(o, "key %s: not a natkit private key", path);
	fclose(fp);
	b64 = line + sizeof(KEY_PRIVATE);
	if (sodium_base642bin(seed, sizeof(seed), b64, strcspn(b64, "\r\n"),
		NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != 32)
		client_fail(o, "key %s: a damaged private key", path);
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(line, sizeof(line));
	snprintf(k->path, sizeof(k->path), "%s", path);
	return 0;
}

/* 1 when pk is a line of the allow-list at path (checked when loaded). */
static int
key_listed(const struct client_opts *o, const char *path, const uint8_t *pk,
    int strict)
{
	char	line[512];
	uint8_t k[32];
	FILE   *fp = fopen(path, "r");
	int	lineno = 0, found = 0;

	if (fp == NULL)
		client_fail(o, "--allow %s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), fp) != NULL) {
		const char *s = line + strspn(line, " \t");

		lineno++;
		if (*s == '#' || *s == '\n' || *s == '\0')
			continue;
		if (key_parse(s, k) == -1) {
			if (strict)
				client_fail(o,
				    "--allow %s line %d: not a natkit public "
				    "key",
				    path, lineno);
			continue;
		}
		if (pk != NULL && sodium_memcmp(k, pk, 32) == 0)
			found = 1;
	}
	fclose(fp);
	return found;
}

/* The listener's rule: the allow-list, the secret, or anyone. */
static int
key_check_connector(const struct secure_policy *pol, const uint8_t *pk)
{
	char line[KEY_LINE_MAX];

	if (pol->o->allow[0] == '\0' || key_listed(pol->o, pol->o->allow, pk, 0))
		return 0;
	key_format(pk, line, sizeof(line));
	fprintf(stderr,
	    "natclient: refused a peer whose key is not in %s: %s\n",
	    pol->o->allow, line);
	return -1;
}

/* The connector's rule: --peer-key, or the known peers (TOFU). */
static int
key_check_listener(const struct secure_policy *pol, const uint8_t *pk)
{
	const struct client_opts *o = pol->o;
	char	path[PATH_MAX], line[512], seen[KEY_LINE_MAX];
	char	name[64];
	uint8_t want[32];
	FILE   *fp;

	key_format(pk, seen, sizeof(seen));
	if (o->peer_key[0] != '\0') {
		if (key_parse(o->peer_key, want) == 0 &&
		    sodium_memcmp(want, pk, 32) == 0)
			return 0;
		fprintf(stderr,
		    "natclient: '%s' is not the peer --peer-key names: it "
		    "has key %s\n",
		    pol->name, seen);
		return -1;
	}
	if (o->known_peers[0] != '\0')
		snprintf(path, sizeof(path), "%s", o->known_peers);
	else
		key_default("known_peers", path, sizeof(path));
	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (sscanf(line, "%63s", name) != 1 ||
			    strcmp(name, pol->name) != 0 ||
			    key_parse(line + strlen(name), want) == -1)
				continue;
			fclose(fp);
			if (sodium_memcmp(want, pk, 32) == 0)
				return 0;
			fprintf(stderr,
			    "natclient: WARNING: THE KEY OF '%s' HAS CHANGED!\n"
			    "natclient: someone may be in the middle, or the "
			    "listener made a new key.\n"
			    "natclient: %s records another key; '%s' now has "
			    "%s\n"
			    "natclient: refused.  If the change is expected, "
			    "remove the line for '%s' from %s.\n",
			    pol->name, path, pol->name, seen, pol->name, path);
			return -1;
		}
		fclose(fp);
	}
	key_config_mkdir(path);
	if ((fp = fopen(path, "a")) == NULL ||
	    fprintf(fp, "%s %s\n", pol->name, seen) < 0 || fclose(fp) != 0) {
		fprintf(stderr, "natclient: known peers %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	fprintf(stderr,
	    "natclient: first connection to '%s': trusting its key %s "
	    "(recorded in %s)\n",
	    pol->name, seen, path);
	return 0;
}

/* The shared secret's pre-shared key: SHA-256 of a label and the file. */
static void
key_secret(const struct client_opts *o, struct secure_policy *pol)
{
	crypto_hash_sha256_state st;
	char			 buf[KEY_SECRET_MAX + 1];
	FILE			*fp = key_private_open(o, o->secret_file,
				 "secret file");
	size_t			 n = fread(buf, 1, sizeof(buf), fp);

	fclose(fp);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
			    buf[n - 1] == ' '))
		n--;
	if (n == 0 || n > KEY_SECRET_MAX)
		client_fail(o, "secret file %s: must hold 1 to %d bytes",
		    o->secret_file, KEY_SECRET_MAX);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)KEY_PSK_LABEL,
	    sizeof(KEY_PSK_LABEL));
	crypto_hash_sha256_update(&st, (const uint8_t *)buf, n);
	crypto_hash_sha256_final(&st, pol->psk);
	sodium_memzero(buf, sizeof(buf));
	pol->has_psk = 1;
}

/*
 * The policy of a listener (or a connector when connector is set) under
 * name: a listener must be told whom to accept, and says so otherwise.
 */
void
key_policy(const struct client_opts *o, const struct client_key *k,
    int connector, const char *name, struct secure_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	memcpy(pol->ed_pk, k->pk, 32);
	crypto_sign_ed25519_sk_to_curve25519(pol->x_sk, k->sk);
	pol->o = o;
	pol->name = name;
	if (o->secret_file[0] != '\0')
		key_secret(o, pol);
	if (connector) {
		pol->check = key_check_listener;
		return;
	}
	pol->check = key_check_connector;
	if (o->allow[0] != '\0')
		key_listed(o, o->allow, NULL, 1); /* bad lines now, not later */
	else if (!pol->has_psk && !o->allow_any)
		client_fail(o,
		    "listen: say who may connect: --allow FILE (their public "
		    "keys), --secret-file FILE (a secret you share), or "
		    "--allow-any");
	else if (!pol->has_psk)
		fprintf(stderr,
		    "natclient: warning: --allow-any: anyone who knows the "
		    "name '%s' may connect (the path is still encrypted)\n",
		    name);
}

/* natclient keygen: a new identity where key_file or --key says. */
int
cmd_keygen(struct client_opts *o, int argc, char **argv)
{
	struct client_key k;
	char		  path[PATH_MAX], line[KEY_LINE_MAX];

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient [--key FILE] keygen");
	key_path(o, path, sizeof(path));
	if (access(path, F_OK) == 0)
		client_fail(o,
		    "key %s exists: remove it first to make a new identity "
		    "(peers that know the old key will refuse the new one)",
		    path);
	if (key_generate(o, path, &k) != 0)
		client_fail(o, "key %s exists", path);
	key_format(k.pk, line, sizeof(line));
	fprintf(stderr, "natclient: wrote %s (private, mode 0600) and %s.pub\n",
	    path, path);
	printf("%s\n", line);
	sodium_memzero(&k, sizeof(k));
	return 0;
}

/* natclient key: our public key, for a peer's allow-list. */
int
cmd_key(struct client_opts *o, int argc, char **argv)
{
	struct client_key k;
	char		  line[KEY_LINE_MAX];

	(void)argv;
	if (argc != 1)
		client_fail(o, "usage: natclient [--key FILE] key");
	key_load(o, &k, 1);
	key_format(k.pk, line, sizeof(line));
	printf("%s\n", line);
	sodium_memzero(&k, sizeof(k));
	return 0;
}

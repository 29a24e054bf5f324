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
	{"client", "tls_ca_file", CONF_STR, OFF(tls_ca_file),
	    sizeof(((struct client_opts *)0)->tls_ca_file), 0, 0, 0, ""},
	{"client", "tls_fingerprint", CONF_STR, OFF(tls_fingerprint),
	    sizeof(((struct client_opts *)0)->tls_fingerprint), 0, 0, 0, ""},
	{"client", "known_servers", CONF_STR, OFF(known_servers),
	    sizeof(((struct client_opts *)0)->known_servers), 0, 0, 0, ""},
	{NULL, NULL, 0, 0, 0, 0, 0, 0, NULL}};

int
client_conf_load(struct client_opts *o, const char *path, int must_exist,
    char *err, size_t errlen)
{
	return conf_load(client_conf_keys, o, path, must_exist, err, errlen);
}

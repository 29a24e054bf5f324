/*
 * The server_name a TLS client asks for (RFC 6066 section 3), read from
 * its ClientHello (RFC 8446 4.1.2) by the relay's HTTPS virtual hosts,
 * which pass the TLS stream on without terminating it.  Every length is
 * checked against what encloses it.  The ClientHello must sit in the
 * first record (16 KiB at most; TLS clients send it so); a hello split
 * over records is refused rather than reassembled.
 */
#include "config.h"

#include <string.h>

#include "tlssni.h"

#define TLS_HANDSHAKE	     22
#define TLS_CLIENT_HELLO     1
#define TLS_EXT_SERVER_NAME  0
#define TLS_NAME_TYPE_HOST   0
#define TLS_RECORD_MAX	     16384

struct tlssni_reader {
	const uint8_t *p;
	size_t	       n;
};

static int
tlssni_take(struct tlssni_reader *r, size_t len, struct tlssni_reader *out)
{
	if (len > r->n)
		return -1;
	if (out != NULL) {
		out->p = r->p;
		out->n = len;
	}
	r->p += len;
	r->n -= len;
	return 0;
}

/* A length of width 1, 2 or 3 bytes, then that many bytes into out. */
static int
tlssni_vector(struct tlssni_reader *r, int width, struct tlssni_reader *out)
{
	size_t len = 0;
	int    i;

	if (r->n < (size_t)width)
		return -1;
	for (i = 0; i < width; i++)
		len = len << 8 | r->p[i];
	r->p += width;
	r->n -= (size_t)width;
	return tlssni_take(r, len, out);
}

static enum tlssni_result
tlssni_server_name(struct tlssni_reader ext, char *name, const char **why)
{
	struct tlssni_reader list, host;

	if (tlssni_vector(&ext, 2, &list) == -1 || ext.n != 0) {
		*why = "a malformed server_name extension";
		return TLSSNI_BAD;
	}
	while (list.n > 0) {
		uint8_t type = list.p[0];

		list.p++;
		list.n--;
		if (tlssni_vector(&list, 2, &host) == -1) {
			*why = "a malformed server_name extension";
			return TLSSNI_BAD;
		}
		if (type != TLS_NAME_TYPE_HOST)
			continue;
		if (host.n > HOSTNAME_MAX ||
		    hostname_norm(name, (const char *)host.p, host.n, 0) ==
			-1) {
			*why = "the server_name is not a host name";
			return TLSSNI_NO_NAME;
		}
		return TLSSNI_OK;
	}
	*why = "the server_name has no host name";
	return TLSSNI_NO_NAME;
}

/*
 * The server name of the ClientHello in b[0..n) into name
 * (HOSTNAME_MAX + 1 bytes); with BAD or NO_NAME, why says what.
 */
enum tlssni_result
tlssni_parse(const uint8_t *b, size_t n, char *name, const char **why)
{
	struct tlssni_reader r = {b, n}, hello, body, skip, exts, ext;
	size_t		     reclen;

	*why = "not a TLS ClientHello";
	if (n >= 1 && b[0] != TLS_HANDSHAKE)
		return TLSSNI_BAD;
	if (n >= 2 && b[1] != 3)
		return TLSSNI_BAD;
	if (n < 5)
		return TLSSNI_MORE;
	reclen = (size_t)b[3] << 8 | b[4];
	if (reclen == 0 || reclen > TLS_RECORD_MAX) {
		*why = "a TLS record of a bad length";
		return TLSSNI_BAD;
	}
	if (n < 5 + reclen)
		return TLSSNI_MORE;
	r.p = b + 5;
	r.n = reclen;
	if (r.n < 4 || r.p[0] != TLS_CLIENT_HELLO)
		return TLSSNI_BAD;
	r.p++;
	r.n--;
	if (tlssni_vector(&r, 3, &hello) == -1) {
		*why = "a ClientHello split over records";
		return TLSSNI_BAD;
	}
	body = hello;
	*why = "a malformed ClientHello";
	/* version (2), random (32), session id, ciphers, compression */
	if (tlssni_take(&body, 34, NULL) == -1 ||
	    tlssni_vector(&body, 1, &skip) == -1 ||
	    tlssni_vector(&body, 2, &skip) == -1 ||
	    tlssni_vector(&body, 1, &skip) == -1)
		return TLSSNI_BAD;
	if (body.n == 0) {
		*why = "a ClientHello without extensions (no server_name)";
		return TLSSNI_NO_NAME;
	}
	if (tlssni_vector(&body, 2, &exts) == -1 || body.n != 0)
		return TLSSNI_BAD;
	while (exts.n > 0) {
		uint16_t type;

		if (exts.n < 2)
			return TLSSNI_BAD;
		type = (uint16_t)(exts.p[0] << 8 | exts.p[1]);
		exts.p += 2;
		exts.n -= 2;
		if (tlssni_vector(&exts, 2, &ext) == -1)
			return TLSSNI_BAD;
		if (type == TLS_EXT_SERVER_NAME)
			return tlssni_server_name(ext, name, why);
	}
	*why = "a ClientHello without server_name";
	return TLSSNI_NO_NAME;
}

/* A fatal alert record (TLS 1.0 version on the record, as any peer reads). */
void
tlssni_alert(uint8_t *out, uint8_t description)
{
	static const uint8_t head[5] = {21, 3, 1, 0, 2};

	memcpy(out, head, sizeof(head));
	out[5] = 2; /* fatal */
	out[6] = description;
}

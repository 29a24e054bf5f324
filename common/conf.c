/*
 * The config reader.  A caller describes its keys in a table (section, name,
 * type, where the value goes, bounds, default); conf_load() applies the
 * defaults, then the file.  Every error names the file, the line and the
 * key, as "natserver.conf:12: tracker.workers: must be ...".
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static char *conf_trim(char *);
static int   conf_parse_int(const char *, long, long, long *);
static int
conf_parse_listen(const char *, int, struct conf_listen *, const char **);
static int
conf_set(const struct conf_key *, void *, const char *, char *, size_t);
static int conf_section_known(const struct conf_key *, const char *);

/* Strip leading and trailing white space in place. */
static char *
conf_trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* A whole decimal number within [min, max]. */
static int
conf_parse_int(const char *s, long min, long max, long *out)
{
	char *end;
	long  v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A list of listen addresses, each with an optional "udp:"/"tcp:". */
static int
conf_parse_listen(const char *s, int protos, struct conf_listen *l,
    const char **why)
{
	char buf[CONF_LINE_MAX], *tok, *save = NULL;

	memset(l, 0, sizeof(*l));
	if (strlen(s) >= sizeof(buf)) {
		*why = "value too long";
		return -1;
	}
	strcpy(buf, s);
	for (tok = strtok_r(buf, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		struct conf_listen_addr *la;
		int			 p = protos;

		if (l->n == CONF_LISTEN_MAX) {
			*why = "too many addresses";
			return -1;
		}
		if (strncmp(tok, "udp:", 4) == 0) {
			p = CONF_PROTO_UDP;
			tok += 4;
		} else if (strncmp(tok, "tcp:", 4) == 0) {
			p = CONF_PROTO_TCP;
			tok += 4;
		}
		la = &l->v[l->n];
		if (addr_parse(tok, 0, &la->addr, why) == -1)
			return -1;
		la->protos = p;
		l->n++;
	}
	return 0;
}

/* Parse one value into the caller's struct; on error fill err. */
static int
conf_set(const struct conf_key *k, void *dst, const char *val, char *err,
    size_t errlen)
{
	char	   *p = (char *)dst + k->offset;
	const char *why = NULL;
	long	    v;

	switch (k->type) {
	case CONF_INT:
		if (conf_parse_int(val, k->min, k->max, &v) == -1) {
			snprintf(err, errlen,
			    "must be a whole number from %ld "
			    "to %ld, not '%s'",
			    k->min, k->max, val);
			return -1;
		}
		*(int *)p = (int)v;
		return 0;
	case CONF_BOOL:
		if (!strcmp(val, "yes") || !strcmp(val, "true") ||
		    !strcmp(val, "on") || !strcmp(val, "1"))
			*(int *)p = 1;
		else if (!strcmp(val, "no") || !strcmp(val, "false") ||
		    !strcmp(val, "off") || !strcmp(val, "0"))
			*(int *)p = 0;
		else {
			snprintf(err, errlen, "must be yes or no, not '%s'",
			    val);
			return -1;
		}
		return 0;
	case CONF_STR:
		if (strlen(val) >= k->size) {
			snprintf(err, errlen, "longer than %zu bytes",
			    k->size - 1);
			return -1;
		}
		strcpy(p, val);
		return 0;
	case CONF_LISTEN:
		if (conf_parse_listen(val, k->protos, (struct conf_listen *)p,
			&why) == -1) {
			snprintf(err, errlen, "%s in '%s'", why, val);
			return -1;
		}
		return 0;
	case CONF_RANGE: {
		struct conf_range *r = (struct conf_range *)p;
		char		   buf[64], *dash;
		long		   lo, hi;

		if (strlen(val) >= sizeof(buf) ||
		    (dash = strchr(strcpy(buf, val), '-')) == NULL)
			goto badrange;
		*dash = '\0';
		if (conf_parse_int(conf_trim(buf), k->min, k->max, &lo) == -1 ||
		    conf_parse_int(conf_trim(dash + 1), k->min, k->max, &hi) ==
			-1 ||
		    lo > hi)
			goto badrange;
		r->low = (int)lo;
		r->high = (int)hi;
		return 0;
	badrange:
		snprintf(err, errlen,
		    "must be LOW-HIGH within %ld-%ld, not "
		    "'%s'",
		    k->min, k->max, val);
		return -1;
	}
	}
	snprintf(err, errlen, "unknown key type");
	return -1;
}

/* Look a key up in the schema. */
const struct conf_key *
conf_find(const struct conf_key *keys, const char *section, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (!strcmp(keys->section, section) &&
		    !strcmp(keys->name, name))
			return keys;
	return NULL;
}

static int
conf_section_known(const struct conf_key *keys, const char *section)
{
	for (; keys->name != NULL; keys++)
		if (!strcmp(keys->section, section))
			return 1;
	return 0;
}

/*
 * Apply the defaults, then read path.  A missing file is an error only when
 * must_exist is set.  Returns 0, or -1 with "file:line: key: why" in err.
 */
int
conf_load(const struct conf_key *keys, void *dst, const char *path,
    int must_exist, char *err, size_t errlen)
{
	return conf_load_named(keys, dst, NULL, NULL, path, must_exist, err,
	    errlen);
}

/* A record's defaults: 0, or -1 with err. */
static int
conf_defaults(const struct conf_key *keys, void *dst, char *err,
    size_t errlen)
{
	const struct conf_key *k;
	char		       why[512];

	for (k = keys; k->name != NULL; k++)
		if (conf_set(k, dst, k->def, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "(default): %s.%s: %s",
			    k->section, k->name, why);
			return -1;
		}
	return 0;
}

/* A section's name: letters, digits, '.', '_' and '-', at most 32. */
static int
conf_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CONF_NAME_MAX)
		return 0;
	return strspn(s,
		   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		   "0123456789._-") == n;
}

/*
 * A [KIND NAME] header: the kind's schema, its new record in *rec; NULL
 * with err when the kind is unknown or the record refused.
 */
static const struct conf_named *
conf_open_named(const struct conf_named *named, void *ctx, char *s,
    void **rec, const char *path, unsigned int lineno, char *err,
    size_t errlen)
{
	char *name = s + strcspn(s, " \t");
	char  why[CONF_ERR_MAX] = "";

	*name++ = '\0';
	name = conf_trim(name);
	for (; named != NULL && named->kind != NULL; named++)
		if (strcmp(named->kind, s) == 0)
			break;
	if (named == NULL || named->kind == NULL) {
		snprintf(err, errlen, "%s:%u: unknown section [%s %s]", path,
		    lineno, s, name);
		return NULL;
	}
	if (!conf_name_ok(name)) {
		snprintf(err, errlen,
		    "%s:%u: [%s %s]: a name is 1 to %d letters, digits, "
		    "'.', '_' or '-'",
		    path, lineno, s, name, CONF_NAME_MAX);
		return NULL;
	}
	if ((*rec = named->open(ctx, named, name, lineno, why,
		 sizeof(why))) == NULL) {
		snprintf(err, errlen, "%s:%u: [%s %s]: %s", path, lineno, s,
		    name, why);
		return NULL;
	}
	if (conf_defaults(named->keys, *rec, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
		return NULL;
	}
	return named;
}

/* The end of a [KIND NAME] section: 0, or -1 with err. */
static int
conf_close_named(const struct conf_named *cur, void *ctx, void *rec,
    const char *path, unsigned int header, char *err, size_t errlen)
{
	char why[CONF_ERR_MAX] = "";

	if (cur == NULL || cur->close == NULL ||
	    cur->close(ctx, rec, why, sizeof(why)) == 0)
		return 0;
	snprintf(err, errlen, "%s:%u: [%s]: %s", path, header, cur->kind, why);
	return -1;
}

/*
 * As conf_load, and [KIND NAME] sections too, for each kind in named
 * (ended by a NULL kind): each opens a record of its own, gets the
 * kind's defaults and keys, and is closed (checked) at its end.
 */
int
conf_load_named(const struct conf_key *keys, void *dst,
    const struct conf_named *named, void *ctx, const char *path,
    int must_exist, char *err, size_t errlen)
{
	char line[CONF_LINE_MAX + 2], section[64] = "", why[CONF_ERR_MAX];
	const struct conf_key	*k;
	const struct conf_named *cur = NULL;
	void			*rec = NULL;
	int			 seen[256] = {0}, nseen[64] = {0};
	unsigned int		 lineno = 0, header = 0;
	FILE			*fp;

	for (k = keys; k->name != NULL; k++) {
		if (k - keys >= (long)(sizeof(seen) / sizeof(seen[0])))
			abort();
		if (conf_set(k, dst, k->def, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "(default): %s.%s: %s",
			    k->section, k->name, why);
			return -1;
		}
	}
	if (path == NULL)
		return 0;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT && !must_exist)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *s, *eq, *name, *val;
		int  *slot;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, errlen,
			    "%s:%u: line longer than %d "
			    "bytes",
			    path, lineno, CONF_LINE_MAX);
			goto fail;
		}
		if ((s = strchr(line, '#')) != NULL)
			*s = '\0';
		s = conf_trim(line);
		if (*s == '\0')
			continue;
		if (*s == '[') {
			char *close = strchr(s, ']');

			if (close == NULL || close[1] != '\0') {
				snprintf(err, errlen,
				    "%s:%u: bad section "
				    "header '%s'",
				    path, lineno, s);
				goto fail;
			}
			*close = '\0';
			s = conf_trim(s + 1);
			if (conf_close_named(cur, ctx, rec, path, header, err,
				errlen) == -1)
				goto fail;
			cur = NULL;
			if (strpbrk(s, " \t") != NULL) {
				if ((cur = conf_open_named(named, ctx, s, &rec,
					 path, lineno, err, errlen)) == NULL)
					goto fail;
				memset(nseen, 0, sizeof(nseen));
				header = lineno;
				snprintf(section, sizeof(section), "%s",
				    cur->kind);
				continue;
			}
			if (!conf_section_known(keys, s) ||
			    strlen(s) >= sizeof(section)) {
				snprintf(err, errlen,
				    "%s:%u: unknown section "
				    "[%s]",
				    path, lineno, s);
				goto fail;
			}
			strcpy(section, s);
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen,
			    "%s:%u: expected 'key = value', "
			    "got '%s'",
			    path, lineno, s);
			goto fail;
		}
		*eq = '\0';
		name = conf_trim(s);
		val = conf_trim(eq + 1);
		if (section[0] == '\0') {
			snprintf(err, errlen,
			    "%s:%u: %s: key outside any "
			    "[section]",
			    path, lineno, name);
			goto fail;
		}
		if ((k = conf_find(cur != NULL ? cur->keys : keys, section,
			 name)) == NULL) {
			snprintf(err, errlen, "%s:%u: %s.%s: unknown key", path,
			    lineno, section, name);
			goto fail;
		}
		slot = cur != NULL ? &nseen[k - cur->keys] : &seen[k - keys];
		if (*slot != 0) {
			snprintf(err, errlen,
			    "%s:%u: %s.%s: set again (first "
			    "at line %d)",
			    path, lineno, section, name, *slot);
			goto fail;
		}
		*slot = (int)lineno;
		if (conf_set(k, cur != NULL ? rec : dst, val, why,
			sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%u: %s.%s: %s", path, lineno,
			    section, name, why);
			goto fail;
		}
	}
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		goto fail;
	}
	if (conf_close_named(cur, ctx, rec, path, header, err, errlen) == -1)
		goto fail;
	fclose(fp);
	return 0;
fail:
	fclose(fp);
	return -1;
}

/*
 * Open a file of secrets named by config key: it must exist and be
 * readable by its owner alone.  The stream, or NULL with err saying why.
 */
FILE *
conf_open_private(const char *key, const char *path, char *err, size_t errlen)
{
	struct stat st;
	FILE	   *fp;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1 || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s %s: readable by others (chmod 600 it)",
		    key, path);
		fclose(fp);
		return NULL;
	}
	return fp;
}

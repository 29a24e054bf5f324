/* Names, NAT classes and punch strategies; see named.h. */
#include "config.h"

#include <string.h>

#include "named.h"

static const char *named_strategies[] = {
    [NAMED_LAN] = "lan",
    [NAMED_SIMULTANEOUS] = "simultaneous",
    [NAMED_PREDICT] = "predict",
    [NAMED_BIRTHDAY] = "birthday",
    [NAMED_NONE] = "none",
    [NAMED_TCP] = "tcp",
    [NAMED_RELAY] = "relay",
    [NAMED_PORTMAP] = "portmap",
};

static const char *named_classes[] = {
    [NAMED_OPEN] = "cone",
    [NAMED_INCREMENTING] = "symmetric incrementing",
    [NAMED_RANDOM] = "symmetric random",
    [NAMED_MAPPED] = "port-mapped",
};

/* 1 to 32 of [A-Za-z0-9._-]: safe in logs, keys and terminals. */
int
named_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAMED_NAME_MAX)
		return 0;
	return strspn(s,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		   "0123456789._-") == n;
}

/*
 * The class of a NAT from natclient nat-type's mapping ("EIM", "ADM",
 * "APDM", "none" for no NAT) and allocation ("preserving",
 * "incrementing", "random"); -1 when either is unknown.
 */
int
named_class(const char *mapping, const char *allocation)
{
	if (strcmp(mapping, "none") == 0 || strcmp(mapping, "EIM") == 0)
		return NAMED_OPEN;
	if (strcmp(mapping, "ADM") != 0 && strcmp(mapping, "APDM") != 0)
		return -1;
	if (strcmp(allocation, "incrementing") == 0)
		return NAMED_INCREMENTING;
	if (strcmp(allocation, "random") == 0 ||
	    strcmp(allocation, "preserving") == 0)
		/* A symmetric NAT that preserves ports still moves when the
		   port is taken; nothing can be predicted. */
		return NAMED_RANDOM;
	return -1;
}

const char *
named_class_name(int c)
{
	return c >= NAMED_OPEN && c <= NAMED_MAPPED ? named_classes[c]
						    : "unknown";
}

/* The strategy for two sides of classes a and b; same_ip: one NAT. */
int
named_strategy(int a, int b, int same_ip)
{
	if (same_ip)
		return NAMED_LAN;
	/* A mapped port takes anything sent to it, but the mapped side
	   must not send first (see holepunch.c): a strategy of its own. */
	if (a == NAMED_MAPPED || b == NAMED_MAPPED)
		return NAMED_PORTMAP;
	if (a == NAMED_OPEN && b == NAMED_OPEN)
		return NAMED_SIMULTANEOUS;
	if (a == NAMED_RANDOM || b == NAMED_RANDOM)
		return a == NAMED_OPEN || b == NAMED_OPEN ? NAMED_BIRTHDAY
							  : NAMED_NONE;
	return NAMED_PREDICT;
}

const char *
named_strategy_name(int s)
{
	return s >= NAMED_LAN && s <= NAMED_PORTMAP ? named_strategies[s]
						  : "none";
}

int
named_strategy_parse(const char *s)
{
	int i;

	for (i = NAMED_LAN; i <= NAMED_PORTMAP; i++)
		if (strcmp(s, named_strategies[i]) == 0)
			return i;
	return -1;
}

/* Socket addresses: parse and format "ip:port" and "[v6]:port". */
#ifndef NATKIT_ADDR_H
#define NATKIT_ADDR_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

/* Room for "[v6-address]:65535" and its NUL. */
#define ADDR_STRLEN  (INET6_ADDRSTRLEN + 8)
#define ADDR_HOSTLEN 256

struct addr {
	struct sockaddr_storage ss;
	socklen_t		len;
};

int
addr_split(const char *, char *, size_t, uint16_t *, uint16_t, const char **);
int	 addr_parse(const char *, uint16_t, struct addr *, const char **);
int	 addr_parse_ip(const char *, struct addr *, const char **);
int	 addr_from_sa(struct addr *, const struct sockaddr *, socklen_t);
char	*addr_format(const struct addr *, char *, size_t);
char	*addr_format_sa(const struct sockaddr *, char *, size_t);
int	 addr_equal(const struct addr *, const struct addr *);
int	 addr_family(const struct addr *);
uint16_t addr_port(const struct addr *);
void	 addr_set_port(struct addr *, uint16_t);

#endif

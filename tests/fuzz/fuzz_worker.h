/*
 * A real worker for the handler harnesses: natserver's default
 * configuration, a state segment and mailboxes made as the master makes
 * them, listeners on loopback ports of its own, and the role's own main
 * function watching them.  A harness connects to a listener as a client
 * would and runs the worker's event loop until the server has answered.
 */
#ifndef NATKIT_FUZZ_WORKER_H
#define NATKIT_FUZZ_WORKER_H

#include "natserver.h"

struct worker *fuzz_worker(int kind, const int *uses, int nuses);
void	       fuzz_start(struct worker *);
void	       fuzz_peer(struct sockaddr_storage *, socklen_t *);
void	       fuzz_log_check(void);
int	       fuzz_connect(struct worker *, int use, int type);
int	       fuzz_connect_fd(int, const struct sockaddr *, socklen_t);
void	       fuzz_run(struct worker *, int rounds);
int	       fuzz_send_all(int, const void *, size_t);
int	       fuzz_line(struct worker *, int fd, char *buf, size_t size);
void	       fuzz_finish(struct worker *, int fd);

#endif

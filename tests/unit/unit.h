/* Shared by the unit tests: the Check runner, addresses, shared tables. */
#ifndef NATKIT_UNIT_H
#define NATKIT_UNIT_H

#include <sys/mman.h>
#include <arpa/inet.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

/* Run the tests add() puts in one case; main()'s exit status. */
static inline int
unit_run(const char *name, int timeout, void (*add)(TCase *))
{
	Suite	*s = suite_create(name);
	TCase	*tc = tcase_create(name);
	SRunner *sr;
	int	 failed;

	if (timeout > 0)
		tcase_set_timeout(tc, timeout);
	add(tc);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static inline struct sockaddr_in
unit_v4(const char *ip, int port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin.sin_addr);
	return sin;
}

/* A table in shared anonymous memory, as natserver makes it. */
struct unit_table {
	struct table *t;
	void	     *mem;
	size_t	      len;
};

static inline struct unit_table
unit_table(const struct table_config *tc)
{
	struct unit_table u;

	u.len = table_size(tc);
	u.mem = mmap(NULL, u.len, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(u.mem, MAP_FAILED);
	u.t = table_init(u.mem, u.len, tc);
	ck_assert_ptr_nonnull(u.t);
	return u;
}

static inline void
unit_table_free(struct unit_table *u)
{
	table_detach(u->t);
	munmap(u->mem, u->len);
}

#endif

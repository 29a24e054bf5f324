/*
 * Unit tests for common/named.c (names, NAT classes, strategies) and
 * common/hex.c, which carries the sessions' tokens.
 */
#include "config.h"

#include <check.h>

#include "hex.h"
#include "named.h"
#include "unit.h"

START_TEST(test_names)
{
	ck_assert(named_name_ok("office"));
	ck_assert(named_name_ok("a.b_c-9"));
	ck_assert(named_name_ok("12345678901234567890123456789012"));
	ck_assert(!named_name_ok("123456789012345678901234567890123"));
	ck_assert(!named_name_ok(""));
	ck_assert(!named_name_ok("a b"));
	ck_assert(!named_name_ok("a/b"));
	ck_assert(!named_name_ok("\x1b[31m"));
	ck_assert(!named_name_ok("caf\xc3\xa9"));
}
END_TEST

START_TEST(test_classes)
{
	ck_assert_int_eq(named_class("none", "preserving"), NAMED_OPEN);
	ck_assert_int_eq(named_class("EIM", "random"), NAMED_OPEN);
	ck_assert_int_eq(named_class("APDM", "incrementing"),
	    NAMED_INCREMENTING);
	ck_assert_int_eq(named_class("ADM", "incrementing"),
	    NAMED_INCREMENTING);
	ck_assert_int_eq(named_class("APDM", "random"), NAMED_RANDOM);
	ck_assert_int_eq(named_class("APDM", "preserving"), NAMED_RANDOM);
	ck_assert_int_eq(named_class("unknown", "random"), -1);
	ck_assert_int_eq(named_class("APDM", "sideways"), -1);
}
END_TEST

/* The matrix: which pairs get which strategy. */
START_TEST(test_strategies)
{
	const int o = NAMED_OPEN, i = NAMED_INCREMENTING, r = NAMED_RANDOM;

	ck_assert_int_eq(named_strategy(o, o, 0), NAMED_SIMULTANEOUS);
	ck_assert_int_eq(named_strategy(o, i, 0), NAMED_PREDICT);
	ck_assert_int_eq(named_strategy(i, o, 0), NAMED_PREDICT);
	ck_assert_int_eq(named_strategy(i, i, 0), NAMED_PREDICT);
	ck_assert_int_eq(named_strategy(o, r, 0), NAMED_BIRTHDAY);
	ck_assert_int_eq(named_strategy(r, o, 0), NAMED_BIRTHDAY);
	ck_assert_int_eq(named_strategy(i, r, 0), NAMED_NONE);
	ck_assert_int_eq(named_strategy(r, i, 0), NAMED_NONE);
	ck_assert_int_eq(named_strategy(r, r, 0), NAMED_NONE);
	/* One NAT: its LAN, whatever the NAT. */
	ck_assert_int_eq(named_strategy(r, r, 1), NAMED_LAN);
	/* A mapped side makes any pair direct, mapped or not. */
	ck_assert_int_eq(named_strategy(NAMED_MAPPED, r, 0), NAMED_PORTMAP);
	ck_assert_int_eq(named_strategy(r, NAMED_MAPPED, 0), NAMED_PORTMAP);
	ck_assert_int_eq(named_strategy(i, NAMED_MAPPED, 0), NAMED_PORTMAP);
	ck_assert_int_eq(
	    named_strategy(NAMED_MAPPED, NAMED_MAPPED, 0), NAMED_PORTMAP);
	ck_assert_int_eq(named_strategy(NAMED_MAPPED, r, 1), NAMED_LAN);
}
END_TEST

START_TEST(test_strategy_names)
{
	int s;

	for (s = NAMED_LAN; s <= NAMED_PORTMAP; s++)
		ck_assert_int_eq(named_strategy_parse(named_strategy_name(s)),
		    s);
	ck_assert_int_eq(named_strategy_parse("teleport"), -1);
	ck_assert_str_eq(named_strategy_name(99), "none");
	ck_assert_str_eq(named_class_name(-1), "unknown");
	ck_assert_str_eq(named_class_name(NAMED_MAPPED), "port-mapped");
}
END_TEST

START_TEST(test_hex)
{
	uint8_t b[3], in[3] = {0x00, 0xab, 0xff};
	char	s[7];

	ck_assert_str_eq(hex_encode(in, 3, s), "00abff");
	ck_assert_int_eq(hex_decode("00abff", b, 3), 0);
	ck_assert_mem_eq(b, in, 3);
	ck_assert_int_eq(hex_decode("00abf", b, 3), -1);   /* short */
	ck_assert_int_eq(hex_decode("00abff0", b, 3), -1); /* long */
	ck_assert_int_eq(hex_decode("00ABFF", b, 3), -1);  /* upper case */
	ck_assert_int_eq(hex_decode("00abzz", b, 3), -1);
	ck_assert_int_eq(hex_decode(" 0abff", b, 3), -1);
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_hex);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_classes);
	tcase_add_test(tc, test_strategies);
	tcase_add_test(tc, test_strategy_names);
}

int
main(void)
{
	return unit_run("named", 0, add);
}

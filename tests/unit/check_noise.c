/*
 * Unit tests for common/noise.c and common/replay.c: the handshake
 * reproduces another implementation's bytes (noise_vectors.h, made by
 * dissononce), tampering and a wrong pre-shared key fail, and the replay
 * window takes each counter once.
 */
#include "config.h"

#include <sodium.h>

#include "noise.h"
#include "noise_vectors.h"
#include "replay.h"
#include "unit.h"

static const uint8_t prologue[] = "natkit test";

static void
fixed(uint8_t *k, int b)
{
	memset(k, b, 32);
}

/* Replays the vector's handshake; checks every message and the data. */
static void
vector(const uint8_t *psk, const uint8_t *m1, size_t n1, const uint8_t *m2,
    size_t n2, const uint8_t *m3, size_t n3, const uint8_t *data, size_t nd)
{
	struct noise_hs	    i, r;
	struct noise_cipher is, ir, rs, rr;
	uint8_t		    k[32], msg[NOISE_HS_MAX], pl[NOISE_HS_MAX];
	int		    n;

	fixed(k, 1);
	ck_assert_int_eq(noise_init(&i, 1, k, psk, prologue, 11), 0);
	fixed(k, 3);
	ck_assert_int_eq(noise_init(&r, 0, k, psk, prologue, 11), 0);
	fixed(k, 2);
	noise_set_ephemeral(&i, k);
	fixed(k, 4);
	noise_set_ephemeral(&r, k);
	n = noise_write(&i, NULL, 0, msg, sizeof(msg));
	ck_assert_int_eq(n, (int)n1);
	ck_assert_mem_eq(msg, m1, n1);
	ck_assert_int_eq(noise_read(&r, msg, (size_t)n, pl, sizeof(pl)), 0);
	n = noise_write(&r, (const uint8_t *)"two", 3, msg, sizeof(msg));
	ck_assert_int_eq(n, (int)n2);
	ck_assert_mem_eq(msg, m2, n2);
	ck_assert_int_eq(noise_read(&i, msg, (size_t)n, pl, sizeof(pl)), 3);
	ck_assert_mem_eq(pl, "two", 3);
	n = noise_write(&i, (const uint8_t *)"three", 5, msg, sizeof(msg));
	ck_assert_int_eq(n, (int)n3);
	ck_assert_mem_eq(msg, m3, n3);
	ck_assert_int_eq(noise_read(&r, msg, (size_t)n, pl, sizeof(pl)), 5);
	noise_split(&i, &is, &ir);
	noise_split(&r, &rs, &rr);
	n = noise_seal(&is, 0, NULL, 0, (const uint8_t *)"data", 4, msg);
	ck_assert_int_eq(n, (int)nd);
	ck_assert_mem_eq(msg, data, nd);
	ck_assert_int_eq(noise_open(&rr, 0, NULL, 0, msg, (size_t)n, pl), 4);
	ck_assert_mem_eq(pl, "data", 4);
	/* The other direction has its own key. */
	ck_assert_int_eq(noise_open(&ir, 0, NULL, 0, msg, (size_t)n, pl), -1);
}

START_TEST(test_vector_xx)
{
	vector(NULL, xx_msg1, sizeof(xx_msg1), xx_msg2, sizeof(xx_msg2),
	    xx_msg3, sizeof(xx_msg3), xx_data, sizeof(xx_data));
}
END_TEST

START_TEST(test_vector_psk)
{
	uint8_t psk[32];

	fixed(psk, 7);
	vector(psk, psk_msg1, sizeof(psk_msg1), psk_msg2, sizeof(psk_msg2),
	    psk_msg3, sizeof(psk_msg3), psk_data, sizeof(psk_data));
}
END_TEST

/*
 * A handshake between fresh keys with psks a and b, a byte of message
 * flip (1-3, 0 for none) flipped: 0 when both sides finish agreeing.
 */
static int
handshake(const uint8_t *pa, const uint8_t *pb, int flip)
{
	struct noise_hs	    hs[2];
	struct noise_cipher s, r;
	uint8_t		    k[32], msg[NOISE_HS_MAX], pl[NOISE_HS_MAX];
	int		    step, n;

	randombytes_buf(k, 32);
	noise_init(&hs[0], 1, k, pa, prologue, 11);
	randombytes_buf(k, 32);
	noise_init(&hs[1], 0, k, pb, prologue, 11);
	for (step = 0; step < 3; step++) {
		n = noise_write(&hs[step % 2], NULL, 0, msg, sizeof(msg));
		ck_assert_int_gt(n, 0);
		if (flip == step + 1)
			msg[n - 1] ^= 1;
		if (noise_read(&hs[(step + 1) % 2], msg, (size_t)n, pl,
			sizeof(pl)) == -1)
			return -1;
	}
	/* Each side knows the other's static key. */
	ck_assert_mem_eq(hs[0].rs, hs[1].s_pk, 32);
	ck_assert_mem_eq(hs[1].rs, hs[0].s_pk, 32);
	noise_split(&hs[0], &s, &r);
	noise_split(&hs[1], &r, &s);
	return memcmp(s.k, r.k, 32) == 0 ? -1 : 0;
}

START_TEST(test_tamper)
{
	uint8_t a[32], b[32];

	ck_assert_int_eq(handshake(NULL, NULL, 0), 0);
	/* Message 1 is plaintext e: a flip changes the keys, and 2 fails. */
	ck_assert_int_eq(handshake(NULL, NULL, 1), -1);
	ck_assert_int_eq(handshake(NULL, NULL, 2), -1);
	ck_assert_int_eq(handshake(NULL, NULL, 3), -1);
	randombytes_buf(a, 32);
	memcpy(b, a, 32);
	ck_assert_int_eq(handshake(a, b, 0), 0);
	b[5] ^= 0x10;
	ck_assert_int_eq(handshake(a, b, 0), -1);
	/* A secret on one side only is a different protocol. */
	ck_assert_int_eq(handshake(a, NULL, 0), -1);
}
END_TEST

START_TEST(test_order)
{
	struct noise_hs hs;
	uint8_t		k[32] = {1}, msg[NOISE_HS_MAX];

	noise_init(&hs, 0, k, NULL, prologue, 11);
	/* A responder cannot speak first, nor read short messages. */
	ck_assert_int_eq(noise_write(&hs, NULL, 0, msg, sizeof(msg)), -1);
	ck_assert_int_eq(noise_read(&hs, msg, 31, msg, sizeof(msg)), -1);
}
END_TEST

START_TEST(test_replay)
{
	struct replay r;
	uint64_t      n;

	memset(&r, 0, sizeof(r));
	ck_assert(replay_ok(&r, 0));
	replay_take(&r, 0);
	ck_assert(!replay_ok(&r, 0));
	ck_assert(replay_ok(&r, 5));
	replay_take(&r, 5);
	ck_assert(replay_ok(&r, 3)); /* late, in the window: taken once */
	replay_take(&r, 3);
	ck_assert(!replay_ok(&r, 3));
	ck_assert(!replay_ok(&r, 5));
	for (n = 6; n < 10000; n++) {
		ck_assert(replay_ok(&r, n));
		replay_take(&r, n);
	}
	ck_assert(!replay_ok(&r, 9999 - REPLAY_WINDOW));
	ck_assert(!replay_ok(&r, 9000));
	/* A jump clears the window it passes over. */
	replay_take(&r, 100000);
	ck_assert(replay_ok(&r, 99990));
	ck_assert(!replay_ok(&r, 100000));
	ck_assert(!replay_ok(&r, 9999));
	ck_assert(!replay_ok(&r, UINT64_MAX));
}
END_TEST

static void
add(TCase *tc)
{
	tcase_add_test(tc, test_vector_xx);
	tcase_add_test(tc, test_vector_psk);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_replay);
}

int
main(void)
{
	return unit_run("noise", 0, add);
}

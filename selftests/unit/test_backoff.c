// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_backoff.c - reconnect backoff with jitter, Retry-After parsing. */
#include <errno.h>

#include "lib/backoff.h"
#include "runner.h"

static uint32_t rand_max(void *ctx)
{
	(void)ctx;
	return UINT32_MAX;
}

static uint32_t rand_zero(void *ctx)
{
	(void)ctx;
	return 0;
}

void test_backoff(void)
{
	static const uint32_t ceilings[] = { 100,  200,	 400,	800,  1600,
					     3200, 6400, 10000, 10000 };
	uint64_t seed = 42;
	struct backoff b;
	uint32_t d, prev, ceil;
	size_t i;
	bool ok, mono;

	if (test__start_subtest("full_growth_to_cap")) {
		backoff_init(&b, BACKOFF_FULL, 100, 10000);
		for (i = 0; i < sizeof(ceilings) / sizeof(ceilings[0]); i++) {
			ASSERT_EQ(backoff_ceiling_ms(&b), ceilings[i],
				  "ceiling");
			ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL),
				  ceilings[i], "delay with the largest draw");
		}
		for (i = 0; i < 100; i++)
			backoff_next_ms(&b, rand_max, NULL);
		ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL), 10000,
			  "stays at cap after many attempts");
		ASSERT_EQ(backoff_next_ms(&b, rand_zero, NULL), 0,
			  "smallest draw");
	}
	if (test__start_subtest("full_jitter_bounds")) {
		backoff_init(&b, BACKOFF_FULL, 250, 30000);
		ok = true;
		mono = true;
		prev = 0;
		for (i = 0; i < 2000; i++) {
			ceil = backoff_ceiling_ms(&b);
			mono &= ceil >= prev && ceil <= 30000;
			prev = ceil;
			d = backoff_next_ms(&b, backoff_rand_splitmix, &seed);
			ok &= d <= ceil;
			if (i % 50 == 49) {
				backoff_reset(&b);
				prev = 0;
			}
		}
		ASSERT_TRUE(ok, "delays within [0, ceiling]");
		ASSERT_TRUE(mono, "ceilings monotone up to cap between resets");
	}
	if (test__start_subtest("decorrelated_bounds")) {
		backoff_init(&b, BACKOFF_DECORRELATED, 100, 5000);
		ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL), 300, "3 x base");
		ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL), 900, "3 x prev");
		ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL), 2700,
			  "3 x prev");
		ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL), 5000, "cap");
		ASSERT_EQ(backoff_next_ms(&b, rand_zero, NULL), 100, "base");
		ok = true;
		prev = b.base_ms;
		for (i = 0; i < 2000; i++) {
			uint64_t hi = (uint64_t)prev * 3;

			d = backoff_next_ms(&b, backoff_rand_splitmix, &seed);
			ok &= d >= 100 && d <= 5000 && d <= hi;
			prev = d;
		}
		ASSERT_TRUE(ok, "delays within [base, min(cap, 3 x prev)]");
	}
	if (test__start_subtest("reset")) {
		backoff_init(&b, BACKOFF_FULL, 100, 10000);
		for (i = 0; i < 10; i++)
			backoff_next_ms(&b, rand_max, NULL);
		backoff_reset(&b);
		ASSERT_EQ(b.attempt, 0, "attempt");
		ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL), 100,
			  "first delay again");
		backoff_init(&b, BACKOFF_DECORRELATED, 100, 10000);
		for (i = 0; i < 10; i++)
			backoff_next_ms(&b, rand_max, NULL);
		backoff_reset(&b);
		ASSERT_EQ(backoff_next_ms(&b, rand_max, NULL), 300,
			  "decorrelated starts from base again");
	}
	if (test__start_subtest("odd_parameters")) {
		backoff_init(&b, BACKOFF_FULL, 0, 0);
		ASSERT_EQ(b.base_ms, 1, "base 0 taken as 1");
		ASSERT_EQ(b.cap_ms, 1, "cap raised to base");
		backoff_init(&b, BACKOFF_FULL, UINT32_MAX, UINT32_MAX);
		for (i = 0; i < 40; i++)
			d = backoff_next_ms(&b, rand_max, NULL);
		ASSERT_EQ(d, UINT32_MAX, "no overflow at the top");
	}
}

void test_retry_after(void)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT */
	const time_t t = 784111777;

	if (test__start_subtest("delta_seconds")) {
		ASSERT_EQ(retry_after_ms("120", t), 120000, "120");
		ASSERT_EQ(retry_after_ms(" 5\r\n", t), 5000, "spaces around");
		ASSERT_EQ(retry_after_ms("0", t), 0, "0");
		ASSERT_EQ(retry_after_ms("600", t), 600000, "at the maximum");
		ASSERT_EQ(retry_after_ms("601", t), RETRY_AFTER_MAX_MS,
			  "clamped");
		ASSERT_EQ(retry_after_ms("99999999999999999999999", t),
			  RETRY_AFTER_MAX_MS, "huge clamped, no overflow");
	}
	if (test__start_subtest("http_date")) {
		ASSERT_EQ(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT",
					 t - 30),
			  30000, "30 s ahead");
		ASSERT_EQ(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", t), 0,
			  "now");
		ASSERT_EQ(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT",
					 t + 3600),
			  0, "in the past");
		ASSERT_EQ(retry_after_ms("Mon, 07 Nov 1994 08:49:37 GMT", t),
			  RETRY_AFTER_MAX_MS, "a day ahead, clamped");
		ASSERT_EQ(retry_after_ms("Thu, 29 Feb 2024 00:00:10 GMT",
					 1709164800),
			  10000, "leap day");
		ASSERT_EQ(retry_after_ms("  Sun, 06 Nov 1994 08:49:37 GMT ",
					 t - 1),
			  1000, "spaces around");
	}
	if (test__start_subtest("garbage")) {
		static const char *const bad[] = {
			"",
			"   ",
			"abc",
			"-1",
			"+1",
			"1.5",
			"12a",
			"1 2",
			"Sun, 06 Nov 1994 08:49:37 UTC",
			"Sun, 06 Nov 1994 08:49:37 GMT extra",
			"Sun, 6 Nov 1994 08:49:37 GMT",
			"Sun, 31 Feb 1994 08:49:37 GMT",
			"Sun, 29 Feb 1900 08:49:37 GMT",
			"Sun, 06 Foo 1994 08:49:37 GMT",
			"Xyz, 06 Nov 1994 08:49:37 GMT",
			"Sun, 06 Nov 1994 24:49:37 GMT",
			"Sunday, 06-Nov-94 08:49:37 GMT",
			"Sun Nov  6 08:49:37 1994",
		};
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ASSERT_EQ(retry_after_ms(bad[i], t), -EINVAL, bad[i]);
		ASSERT_EQ(retry_after_ms(NULL, t), -EINVAL, "NULL");
	}
}

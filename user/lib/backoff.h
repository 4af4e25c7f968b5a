/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * backoff.h - reconnect delays: exponential backoff with jitter, and the
 * Retry-After header of a 429/503 answer. Pure: randomness comes from a
 * caller-supplied function, time from a caller-supplied "now".
 */
#ifndef SVCD_BACKOFF_H
#define SVCD_BACKOFF_H

#include <stdint.h>
#include <time.h>

enum backoff_jitter {
	/* uniform in [0, min(cap, base * 2^attempt)] ("full jitter") */
	BACKOFF_FULL = 0,
	/* min(cap, uniform in [base, 3 * previous delay]) ("decorrelated") */
	BACKOFF_DECORRELATED = 1,
};

struct backoff {
	uint32_t base_ms; /* first ceiling; > 0 */
	uint32_t cap_ms;  /* no delay is longer; >= base_ms */
	uint32_t attempt; /* delays handed out since the last reset */
	uint32_t prev_ms; /* last delay (decorrelated jitter) */
	enum backoff_jitter jitter;
};

/* Returns a uniformly distributed 32-bit value. */
typedef uint32_t (*backoff_rand_fn)(void *ctx);

/* base_ms 0 is taken as 1; cap_ms below base_ms is raised to base_ms. */
void backoff_init(struct backoff *b, enum backoff_jitter jitter,
		  uint32_t base_ms, uint32_t cap_ms);
/* After a success: the next delay starts from base again. */
void backoff_reset(struct backoff *b);
/* The upper bound of the next delay (full jitter): min(cap, base*2^attempt). */
uint32_t backoff_ceiling_ms(const struct backoff *b);
/* The next delay in ms; counts one attempt. */
uint32_t backoff_next_ms(struct backoff *b, backoff_rand_fn rand_fn,
			 void *rand_ctx);

/*
 * A backoff_rand_fn over a caller-owned uint64_t state (splitmix64): seed
 * *ctx once (time, pid, getrandom) and pass it as rand_ctx.
 */
uint32_t backoff_rand_splitmix(void *ctx);

/* Longest Retry-After honoured; a server asking for more gets this. */
#define RETRY_AFTER_MAX_MS (600u * 1000u)

/*
 * Parse a Retry-After value (RFC 7231 7.1.3): delta-seconds ("120") or an
 * IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), taken relative to now.
 * Surrounding spaces are allowed. Returns the delay in ms clamped to
 * [0, RETRY_AFTER_MAX_MS] (a date in the past is 0), or -EINVAL.
 */
int retry_after_ms(const char *value, time_t now);

#endif

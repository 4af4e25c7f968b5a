/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* clock.h - CLOCK_MONOTONIC in nanoseconds and milliseconds, one copy for
 * the agent's event loop, its syncs and the API client. */
#ifndef SVCD_CLOCK_H
#define SVCD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_ms(void)
{
	return mono_ns() / 1000000ull;
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fuzz.h - what the libFuzzer harnesses share: an assertion that a run
 * counts as a crash (abort: libFuzzer keeps the input), and a splitter of
 * the input into lines for the harnesses that take one line per step.
 */
#ifndef SVCD_FUZZ_H
#define SVCD_FUZZ_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A broken property: say which, then abort so that the input is kept. */
#define FUZZ_ASSERT(cond, what)                                            \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "fuzz: %s:%d: %s: %s\n", __FILE__, \
				__LINE__, what, #cond);                    \
			abort();                                           \
		}                                                          \
	} while (0)

/* A NUL-terminated malloc'ed copy of data[0..len), as svcd reads a file
 * or a line (text[len] == '\0'); aborts when out of memory. */
static inline char *fuzz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		abort();
	if (len)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}

#endif

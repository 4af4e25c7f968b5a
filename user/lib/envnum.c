// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* envnum.c - a number from an environment variable (envnum.h). */
#include <errno.h>
#include <stdlib.h>

#include "envnum.h"
#include "log.h"

unsigned int env_uint(const char *name, unsigned int min, unsigned int max,
		      unsigned int dflt, const char *what)
{
	const char *env = getenv(name);
	unsigned long long v;
	char *end;

	if (!env || !*env)
		return dflt;
	errno = 0;
	v = strtoull(env, &end, 10);
	if (errno || *end || env[0] == '-' || v < min || v > max) {
		pr_warn("%s '%s' is not %s from %u to %u; using %u", name, env,
			what ? what : "a number", min, max, dflt);
		return dflt;
	}
	return (unsigned int)v;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* envnum.h - a number from an environment variable (test knobs such as
 * SVCD_K8S_LIST_LIMIT), with a default and one warning when it is bad. */
#ifndef SVCD_ENVNUM_H
#define SVCD_ENVNUM_H

/*
 * The decimal value of environment variable name if it is a number from
 * min to max; dflt when it is unset or empty, and also (after a warning
 * that says what it should be: "a number of seconds" for what "seconds")
 * when it is anything else.
 */
unsigned int env_uint(const char *name, unsigned int min, unsigned int max,
		      unsigned int dflt, const char *what);

#endif

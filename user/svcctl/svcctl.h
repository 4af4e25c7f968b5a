/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* svcctl.h - what every svcctl command shares: its context and the handlers. */
#ifndef SVCCTL_H
#define SVCCTL_H

#include <stdbool.h>

#define DEFAULT_PIN_DIR "/sys/fs/bpf/svcd"

/* Exit status: 0 ok, 1 runtime error, 2 usage error. */
#define EXIT_RUNTIME 1
#define EXIT_USAGE 2

struct ctx {
	const char *pin_dir;
	bool json; /* -o json: one JSON document on stdout, errors too */
};

/* The subcommands of main.c's table; each returns the exit status. */
int do_dump(const struct ctx *c, int argc, char **argv);
int do_lookup(const struct ctx *c, int argc, char **argv);
int do_status(const struct ctx *c, int argc, char **argv);

#endif

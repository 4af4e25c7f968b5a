// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcctl/main.c - reads svcd's pinned maps: dump, lookup, status.
 *
 * A table of {name, handler, help} subcommands, as bpftool's main.h.
 * `-o json` anywhere on the line prints one JSON document on stdout and
 * nothing else, errors included ({"error": "..."}). Exit status: 0 ok,
 * 1 runtime error, 2 usage error. output.c prints, view.c reads the maps,
 * dump.c, lookup.c and status.c are the commands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "svcctl/svcctl.h"
#include "svcctl/output.h"
#include "lib/log.h"

struct cmd {
	const char *name;
	int (*handler)(const struct ctx *c, int argc, char **argv);
	const char *args; /* synopsis */
	const char *help;
};

static int do_help(const struct ctx *c, int argc, char **argv);

static const struct cmd cmds[] = {
	{ "dump", do_dump,
	  "dump [services|backends|conntrack|affinity|src-ranges|stats]",
	  "print a map (services by default)" },
	{ "lookup", do_lookup,
	  "lookup tcp|udp DST_IP:PORT [--from SRC_IP:PORT]",
	  "the frontend that matches, its backends, the flow's entry (IPv6: [ADDR]:PORT)" },
	{ "status", do_status, "status",
	  "pin dir, map fill levels, attached programs" },
	{ "help", do_help, "help", "this text" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: svcctl [--pin-dir DIR] [-o json] COMMAND [ARGS]\n\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-60s %s\n", cmds[i].args, cmds[i].help);
	fprintf(f,
		"\n  --pin-dir DIR   where svcd pins its maps (default %s)\n"
		"  -o json         JSON on stdout, errors too (anywhere on the line)\n"
		"\nExit status: 0 ok, 1 runtime error, 2 usage error.\n",
		DEFAULT_PIN_DIR);
}

static int do_help(const struct ctx *c, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (c->json)
		return fail(c, EXIT_USAGE, "help has no JSON form");
	usage(stdout);
	return 0;
}

/* libbpf speaks only through our logger, and not at all in JSON mode. */
static int libbpf_quiet(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx c = { .pin_dir = DEFAULT_PIN_DIR };
	char **args;
	int i, n = 0, ret;
	size_t k;

	log_set_prefix("svcctl");
	libbpf_set_print(libbpf_quiet);

	/* Global options anywhere on the line; the rest stays in order. */
	args = calloc(argc + 1, sizeof(*args));
	if (!args) {
		pr_err("out of memory");
		return EXIT_RUNTIME;
	}
	for (i = 1; i < argc; i++)
		if ((!strcmp(argv[i], "-o") && i + 1 < argc &&
		     !strcmp(argv[i + 1], "json")) ||
		    !strcmp(argv[i], "-ojson") || !strcmp(argv[i], "--json") ||
		    !strcmp(argv[i], "-j"))
			c.json = true;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc || strcmp(argv[i + 1], "json")) {
				ret = fail(
					&c, EXIT_USAGE,
					"-o: the only output format is json");
				goto out;
			}
			i++;
			continue;
		}
		if (!strcmp(argv[i], "-ojson") || !strcmp(argv[i], "--json") ||
		    !strcmp(argv[i], "-j"))
			continue;
		if (!strcmp(argv[i], "--pin-dir")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				ret = fail(&c, EXIT_USAGE,
					   "--pin-dir needs a directory");
				goto out;
			}
			c.pin_dir = argv[++i];
			continue;
		}
		if (!strncmp(argv[i], "--pin-dir=", 10)) {
			c.pin_dir = argv[i] + 10;
			continue;
		}
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			args[n++] = "help";
			continue;
		}
		args[n++] = argv[i];
	}
	if (!n) {
		ret = fail(&c, EXIT_USAGE, "no command (try svcctl help)");
		goto out;
	}
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
		if (!strcmp(args[0], cmds[k].name)) {
			ret = cmds[k].handler(&c, n - 1, args + 1);
			goto out;
		}
	}
	ret = fail(&c, EXIT_USAGE, "unknown command '%s' (try svcctl help)",
		   args[0]);
out:
	free(args);
	return ret;
}

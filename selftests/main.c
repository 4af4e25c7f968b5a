// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* main.c - runs every test_<name>() of one tier (TESTS_DEF lists them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "runner_int.h"

#define DEFINE_TEST(fn) void fn(void);
#include TESTS_DEF
#undef DEFINE_TEST

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
#define DEFINE_TEST(fn) { &(#fn)[5], fn },
#include TESTS_DEF
#undef DEFINE_TEST
};

int main(int argc, char **argv)
{
	size_t i;
	int opt;

	while ((opt = getopt(argc, argv, "t:lh")) != -1) {
		switch (opt) {
		case 't':
			runner.filter = optarg;
			break;
		case 'l':
			for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
				printf("%s\n", tests[i].name);
			return 0;
		default:
			fprintf(stderr, "usage: %s [-t FILTER] [-l]\n",
				argv[0]);
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		/* A filter naming a subtest still has to enter its test. */
		if (runner.filter && !strstr(runner.filter, tests[i].name) &&
		    !strstr(tests[i].name, runner.filter))
			continue;
		runner_run_test(tests[i].name, tests[i].fn);
	}
	printf("%d passed, %d failed, %d skipped\n", runner.n_passed,
	       runner.n_failed, runner.n_skipped);
	return runner.n_failed ? 1 : 0;
}

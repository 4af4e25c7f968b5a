/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* runner_int.h - runner state shared by runner.c and main.c only. */
#ifndef SVCD_RUNNER_INT_H
#define SVCD_RUNNER_INT_H

#include <stdbool.h>
#include <stddef.h>

struct runner_state {
	const char *filter;
	const char *test_name;
	char subtest_name[256];
	bool in_subtest;
	bool failed, test_failed, skipped;
	int n_subtests;
	char skip_reason[256];
	char log[16384];
	size_t log_len;
	int n_passed, n_failed, n_skipped;
};

extern struct runner_state runner;

void runner_run_test(const char *name, void (*fn)(void));
void runner_end_subtest(void);
bool runner_selected(const char *full);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include <stdarg.h>
#include <stdlib.h>

#include "runner.h"
#include "runner_int.h"

struct runner_state runner;

static void flush_log(void)
{
	if (runner.log_len) {
		fputs(runner.log, stdout);
		runner.log_len = 0;
		runner.log[0] = '\0';
	}
}

static void finish(const char *name)
{
	if (runner.skipped && !runner.failed) {
		printf("[SKIP] %s: %s\n", name, runner.skip_reason);
		runner.n_skipped++;
	} else if (runner.failed) {
		flush_log();
		printf("[FAIL] %s\n", name);
		runner.n_failed++;
	} else {
		printf("[ OK ] %s\n", name);
		runner.n_passed++;
	}
	runner.log_len = 0;
	runner.log[0] = '\0';
	runner.failed = false;
	runner.skipped = false;
	fflush(stdout);
}

void runner_end_subtest(void)
{
	char name[512];

	if (!runner.in_subtest)
		return;
	snprintf(name, sizeof(name), "%s/%s", runner.test_name,
		 runner.subtest_name);
	if (runner.failed)
		runner.test_failed = true;
	finish(name);
	runner.in_subtest = false;
	runner.n_subtests++;
}

bool runner_selected(const char *full)
{
	return !runner.filter || strstr(full, runner.filter);
}

bool test__start_subtest(const char *name)
{
	char full[512];

	runner_end_subtest();
	snprintf(full, sizeof(full), "%s/%s", runner.test_name, name);
	if (!runner_selected(full) && !runner_selected(runner.test_name))
		return false;
	snprintf(runner.subtest_name, sizeof(runner.subtest_name), "%s", name);
	runner.in_subtest = true;
	return true;
}

void test__skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(runner.skip_reason, sizeof(runner.skip_reason), fmt, ap);
	va_end(ap);
	runner.skipped = true;
}

static void log_append(const char *fmt, va_list ap)
{
	size_t room = sizeof(runner.log) - runner.log_len;
	int n;

	if (room <= 1)
		return;
	n = vsnprintf(runner.log + runner.log_len, room, fmt, ap);
	if (n < 0)
		return;
	runner.log_len += (size_t)n < room ? (size_t)n : room - 1;
}

void test__log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_append(fmt, ap);
	va_end(ap);
}

void test__fail(const char *file, int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	test__log("  %s:%d: %s\n", file, line, msg);
	runner.failed = true;
}

void runner_run_test(const char *name, void (*fn)(void))
{
	runner.test_name = name;
	runner.n_subtests = 0;
	runner.test_failed = false;
	fn();
	if (runner.in_subtest) {
		runner_end_subtest();
	} else if (runner.n_subtests == 0) {
		finish(name);
		return;
	}
	/* failures recorded outside any subtest after the last one */
	if (runner.failed) {
		finish(name);
	}
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * runner.h - a test_progs-style runner (kernel selftests/bpf/test_progs.h).
 *
 * A test is `void test_<name>(void)` in selftests/<tier>/test_*.c; the
 * Makefile finds them. Inside, test__start_subtest("case") opens a subtest;
 * ASSERT_*() return true when they hold and print both values when they do
 * not. Every (sub)test prints one line: "[ OK ] name", "[FAIL] name" or
 * "[SKIP] name: reason"; the runner ends with "N passed, N failed, N skipped".
 * Run one test or subtest with `-t NAME` (substring match on "test/sub").
 */
#ifndef SVCD_RUNNER_H
#define SVCD_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Returns false when the subtest is filtered out: skip its body. */
bool test__start_subtest(const char *name);
/* Mark the current (sub)test skipped, with a reason naming what is missing. */
void test__skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record a failure with a message (used by the ASSERT macros). */
void test__fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Extra context printed only when the current subtest fails. */
void test__log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ASSERT_TRUE(cond, what)                                             \
	({                                                                  \
		bool ___ok = !!(cond);                                      \
		if (!___ok)                                                 \
			test__fail(__FILE__, __LINE__, "%s: expected true", \
				   (what));                                 \
		___ok;                                                      \
	})

#define ASSERT_FALSE(cond, what) ASSERT_TRUE(!(cond), what)

#define ASSERT_CMP(a, b, op, what)                                         \
	({                                                                 \
		long long ___a = (long long)(a), ___b = (long long)(b);    \
		bool ___ok = ___a op ___b;                                 \
		if (!___ok)                                                \
			test__fail(__FILE__, __LINE__,                     \
				   "%s: %lld (0x%llx) not " #op            \
				   " %lld (0x%llx)",                       \
				   (what), ___a, (unsigned long long)___a, \
				   ___b, (unsigned long long)___b);        \
		___ok;                                                     \
	})

#define ASSERT_EQ(a, b, what) ASSERT_CMP(a, b, ==, what)
#define ASSERT_NEQ(a, b, what) ASSERT_CMP(a, b, !=, what)
#define ASSERT_LT(a, b, what) ASSERT_CMP(a, b, <, what)
#define ASSERT_LE(a, b, what) ASSERT_CMP(a, b, <=, what)
#define ASSERT_GT(a, b, what) ASSERT_CMP(a, b, >, what)
#define ASSERT_GE(a, b, what) ASSERT_CMP(a, b, >=, what)
#define ASSERT_OK(err, what) ASSERT_CMP(err, 0, ==, what)

#define ASSERT_STREQ(a, b, what)                                               \
	({                                                                     \
		const char *___a = (a), *___b = (b);                           \
		bool ___ok = ___a && ___b && strcmp(___a, ___b) == 0;          \
		if (!___ok)                                                    \
			test__fail(__FILE__, __LINE__, "%s: \"%s\" != \"%s\"", \
				   (what), ___a ? ___a : "(null)",             \
				   ___b ? ___b : "(null)");                    \
		___ok;                                                         \
	})

#define ASSERT_OK_PTR(p, what) ASSERT_TRUE((p) != NULL, what)

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_envnum.c - numbers from environment variables (lib/envnum.h). */
#include <stdlib.h>

#include "lib/envnum.h"
#include "lib/log.h"
#include "runner.h"

#define VAR "SVCD_TEST_ENVNUM"

static unsigned int with(const char *value)
{
	int level = log_get_level();
	unsigned int v;

	if (value)
		setenv(VAR, value, 1);
	else
		unsetenv(VAR);
	log_set_level(-1); /* the warning for a bad value */
	v = env_uint(VAR, 1, 500, 300, "a number of things");
	log_set_level(level);
	return v;
}

void test_envnum(void)
{
	if (test__start_subtest("unset_or_empty_is_default")) {
		ASSERT_EQ(with(NULL), 300, "unset");
		ASSERT_EQ(with(""), 300, "empty");
	}
	if (test__start_subtest("in_range")) {
		ASSERT_EQ(with("1"), 1, "lowest");
		ASSERT_EQ(with("500"), 500, "highest");
		ASSERT_EQ(with("42"), 42, "middle");
	}
	if (test__start_subtest("bad_is_default")) {
		ASSERT_EQ(with("0"), 300, "below the range");
		ASSERT_EQ(with("501"), 300, "above the range");
		ASSERT_EQ(with("-1"), 300, "negative");
		ASSERT_EQ(with("12x"), 300, "trailing text");
		ASSERT_EQ(with("x"), 300, "not a number");
		ASSERT_EQ(with("99999999999999999999999"), 300, "overflow");
	}
	unsetenv(VAR);
}

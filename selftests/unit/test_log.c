// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_log.c - masking a credential in text from elsewhere (lib/log.h). */
#include <stdio.h>
#include <string.h>

#include "lib/log.h"
#include "runner.h"

#define TOKEN "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0"

/* log_redact on a copy of in; the result in out. */
static unsigned int redact(const char *in, const char *secret, char *out,
			   size_t size)
{
	snprintf(out, size, "%s", in);
	return log_redact(out, secret);
}

void test_log_redact(void)
{
	char out[512];

	if (test__start_subtest("every_copy")) {
		ASSERT_EQ(redact("{\"message\":\"Authorization: Bearer " TOKEN
				 "\",\"again\":\"" TOKEN "\"}",
				 TOKEN, out, sizeof(out)),
			  2, "copies");
		ASSERT_STREQ(
			out,
			"{\"message\":\"Authorization: Bearer [redacted]\","
			"\"again\":\"[redacted]\"}",
			"masked");
	}
	if (test__start_subtest("adjacent_copies")) {
		ASSERT_EQ(redact(TOKEN TOKEN, TOKEN, out, sizeof(out)), 2,
			  "copies");
		ASSERT_STREQ(out, "[redacted][redacted]", "masked");
	}
	if (test__start_subtest("cut_off_at_the_end")) {
		/* an error body kept up to a limit that falls in the token */
		ASSERT_EQ(redact("Bearer eyJhbGciOiJSUz", TOKEN, out,
				 sizeof(out)),
			  1, "tail");
		ASSERT_STREQ(out, "Bearer [redacted]", "long tail");
		ASSERT_EQ(redact("Bearer eyJh", TOKEN, out, sizeof(out)), 1,
			  "short tail");
		ASSERT_STREQ(out, "Bearer ****", "short tail masked");
		ASSERT_EQ(redact("Bearer eyJ", TOKEN, out, sizeof(out)), 0,
			  "3 characters are left");
		ASSERT_STREQ(out, "Bearer eyJ", "unchanged");
	}
	if (test__start_subtest("short_secret_in_place")) {
		ASSERT_EQ(redact("a:abcdef:b", "abcdef", out, sizeof(out)), 1,
			  "copies");
		ASSERT_STREQ(out, "a:******:b", "masked");
	}
	if (test__start_subtest("nothing_to_do")) {
		ASSERT_EQ(redact("HTTP 500: injected fault", TOKEN, out,
				 sizeof(out)),
			  0, "no copy");
		ASSERT_STREQ(out, "HTTP 500: injected fault", "unchanged");
		ASSERT_EQ(redact("abc abc", "abc", out, sizeof(out)), 0,
			  "too short a secret");
		ASSERT_EQ(redact("text", NULL, out, sizeof(out)), 0,
			  "no secret");
		ASSERT_EQ(log_redact(NULL, TOKEN), 0, "no text");
		ASSERT_EQ(redact("", TOKEN, out, sizeof(out)), 0, "empty");
		ASSERT_STREQ(out, "", "still empty");
	}
	if (test__start_subtest("secret_is_the_mask_word")) {
		ASSERT_EQ(redact("x [redacted] y", "[redacted]", out,
				 sizeof(out)),
			  1, "ends");
		ASSERT_STREQ(out, "x [redacted] y", "same text");
	}
}

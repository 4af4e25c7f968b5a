// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_linesplit.c - the watch-stream splitter over any chunk boundaries. */
#include <errno.h>
#include <stdlib.h>

#include "lib/linesplit.h"
#include "runner.h"

/* The lines seen, joined by '|', and how many. */
struct seen {
	char text[4096];
	size_t len;
	int n;
	int stop_at; /* return -ECANCELED on this line (1-based), 0: never */
};

static int collect(void *ctx, const char *line, size_t len)
{
	struct seen *seen = ctx;

	seen->n++;
	if (strlen(line) != len || memchr(line, '\n', len) ||
	    (len && line[len - 1] == '\r'))
		return -EBADMSG;
	if (seen->len + len + 2 < sizeof(seen->text)) {
		memcpy(seen->text + seen->len, line, len);
		seen->len += len;
		seen->text[seen->len++] = '|';
		seen->text[seen->len] = '\0';
	}
	return seen->n == seen->stop_at ? -ECANCELED : 0;
}

static const char stream[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n"
	"\n"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}\r\n"
	"\r\n"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n";
static const char expected[] =
	"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}|"
	"{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"7\"}}}|"
	"{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}|";

void test_linesplit(void)
{
	size_t len = sizeof(stream) - 1;
	struct linesplit ls;
	struct seen seen;
	size_t i, j;
	bool ok;
	int err;

	linesplit_init(&ls, 0);
	if (test__start_subtest("basic")) {
		memset(&seen, 0, sizeof(seen));
		err = linesplit_feed(&ls, "a\nb\r\n\n\r\nc", 9, collect, &seen);
		ASSERT_OK(err, "feed");
		ASSERT_STREQ(seen.text, "a|b|", "lines");
		ASSERT_EQ(linesplit_pending(&ls), 1, "partial c held");
		err = linesplit_feed(&ls, "d\n", 2, collect, &seen);
		ASSERT_OK(err, "feed rest");
		ASSERT_STREQ(seen.text, "a|b|cd|", "joined across feeds");
		ASSERT_EQ(linesplit_pending(&ls), 0, "nothing pending");
		ASSERT_OK(linesplit_feed(&ls, "", 0, collect, &seen), "empty");
		ASSERT_EQ(seen.n, 3, "callback count");
	}
	if (test__start_subtest("every_split_point")) {
		ok = true;
		/* Three chunks: [0, i), [i, j), [j, len) for all i <= j. */
		for (i = 0; i <= len && ok; i++) {
			for (j = i; j <= len && ok; j++) {
				memset(&seen, 0, sizeof(seen));
				linesplit_reset(&ls);
				err = linesplit_feed(&ls, stream, i, collect,
						     &seen);
				err = err   ?:
					      linesplit_feed(&ls, stream + i,
							     j - i, collect,
							     &seen);
				err = err   ?:
					      linesplit_feed(&ls, stream + j,
							     len - j, collect,
							     &seen);
				if (err || strcmp(seen.text, expected) ||
				    linesplit_pending(&ls)) {
					test__log("split at %zu, %zu\n", i, j);
					ok = false;
				}
			}
		}
		ASSERT_TRUE(ok, "same lines for every pair of split points");
	}
	if (test__start_subtest("byte_by_byte")) {
		memset(&seen, 0, sizeof(seen));
		linesplit_reset(&ls);
		err = 0;
		for (i = 0; i < len && !err; i++)
			err = linesplit_feed(&ls, stream + i, 1, collect,
					     &seen);
		ASSERT_OK(err, "feeds");
		ASSERT_STREQ(seen.text, expected, "lines");
		ASSERT_EQ(seen.n, 3, "callback count");
	}
	if (test__start_subtest("callback_stops")) {
		memset(&seen, 0, sizeof(seen));
		seen.stop_at = 2;
		linesplit_reset(&ls);
		err = linesplit_feed(&ls, "a\nb\nc\nd", 7, collect, &seen);
		ASSERT_EQ(err, -ECANCELED, "callback's value returned");
		ASSERT_STREQ(seen.text, "a|b|", "nothing after the stop");
		ASSERT_EQ(linesplit_pending(&ls), 0, "splitter reset");
	}
	if (test__start_subtest("reset")) {
		memset(&seen, 0, sizeof(seen));
		linesplit_feed(&ls, "half a li", 9, collect, &seen);
		linesplit_reset(&ls);
		err = linesplit_feed(&ls, "x\n", 2, collect, &seen);
		ASSERT_OK(err, "feed");
		ASSERT_STREQ(seen.text, "x|", "partial line forgotten");
	}
	linesplit_free(&ls);
}

void test_linesplit_max_line(void)
{
	struct linesplit ls;
	struct seen seen;
	char input[256];
	int err, n_big;
	size_t i, len;

	linesplit_init(&ls, 16);
	if (test__start_subtest("one_chunk")) {
		memset(&seen, 0, sizeof(seen));
		len = snprintf(input, sizeof(input), "short\n%s\nafter\n",
			       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		err = linesplit_feed(&ls, input, len, collect, &seen);
		ASSERT_EQ(err, -E2BIG, "long line reported");
		ASSERT_STREQ(seen.text, "short|after|", "long line dropped");
	}
	if (test__start_subtest("byte_by_byte_reported_once")) {
		memset(&seen, 0, sizeof(seen));
		linesplit_reset(&ls);
		n_big = 0;
		for (i = 0; i < len; i++) {
			err = linesplit_feed(&ls, input + i, 1, collect, &seen);
			if (err == -E2BIG)
				n_big++;
			else if (!ASSERT_OK(err, "feed"))
				break;
		}
		ASSERT_EQ(n_big, 1, "-E2BIG once for one long line");
		ASSERT_STREQ(seen.text, "short|after|", "lines around it");
	}
	if (test__start_subtest("boundaries")) {
		memset(&seen, 0, sizeof(seen));
		linesplit_reset(&ls);
		/* exactly 16: fits; 16 + "\r" split from its "\n": fits */
		err = linesplit_feed(&ls, "0123456789abcdef\n", 17, collect,
				     &seen);
		ASSERT_OK(err, "16 bytes");
		err = linesplit_feed(&ls, "0123456789abcdef\r", 17, collect,
				     &seen);
		err = err ?: linesplit_feed(&ls, "\n", 1, collect, &seen);
		ASSERT_OK(err, "16 bytes + CRLF");
		err = linesplit_feed(&ls, "0123456789abcdefg", 17, collect,
				     &seen);
		err = err ?: linesplit_feed(&ls, "\nok\n", 4, collect, &seen);
		ASSERT_EQ(err, -E2BIG, "17 bytes");
		err = linesplit_feed(&ls, "0123456789abcdefgh", 18, collect,
				     &seen);
		ASSERT_EQ(err, -E2BIG, "18 bytes, no newline yet");
		err = linesplit_feed(&ls, "more\nlast\n", 10, collect, &seen);
		ASSERT_OK(err, "not reported twice");
		ASSERT_STREQ(seen.text,
			     "0123456789abcdef|0123456789abcdef|ok|last|",
			     "lines kept");
	}
	linesplit_free(&ls);
}

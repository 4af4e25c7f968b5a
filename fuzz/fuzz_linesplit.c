// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * fuzz_linesplit.c - the watch stream's line splitter (linesplit.h), fed
 * in chunks of sizes drawn from the input, against a reference split of
 * the whole stream at once: the same lines, in order, byte for byte.
 *
 * Input: byte 0 picks max_line (0: the default, else 1..255), byte 1 the
 * largest chunk (1..256), bytes 2-3 seed the chunk sizes; the rest is the
 * stream.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fuzz.h"
#include "linesplit.h"

#define HEADER 4

struct expect {
	const char *stream; /* the reference: lines are cut from here */
	size_t len, pos;    /* where the next reference line is sought */
	size_t max_line;
	size_t delivered;
	bool too_long; /* a line past max_line was met */
};

/*
 * The next line the splitter must deliver, from e->pos: lines end at
 * '\n'; one trailing '\r' goes; empty ones and ones longer than max_line
 * are skipped (too long ones noted). false: none before the end.
 */
static bool next_line(struct expect *e, const char **line, size_t *len)
{
	while (e->pos < e->len) {
		const char *start = e->stream + e->pos;
		const char *nl = memchr(start, '\n', e->len - e->pos);
		size_t n;

		if (!nl)
			return false; /* a partial line: held, not delivered */
		n = nl - start;
		e->pos += n + 1;
		if (n && start[n - 1] == '\r')
			n--;
		if (n > e->max_line) {
			e->too_long = true;
			continue;
		}
		if (!n)
			continue;
		*line = start;
		*len = n;
		return true;
	}
	return false;
}

static int on_line(void *ctx, const char *line, size_t len)
{
	struct expect *e = ctx;
	const char *want;
	size_t want_len;

	FUZZ_ASSERT(next_line(e, &want, &want_len), "no line expected");
	FUZZ_ASSERT(len == want_len, "line length");
	FUZZ_ASSERT(!memcmp(line, want, len), "line bytes");
	FUZZ_ASSERT(line[len] == '\0', "NUL-terminated");
	e->delivered++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expect e = {};
	struct linesplit ls;
	uint32_t rng;
	size_t max_chunk, off = 0, tail, i;
	const char *last_nl;
	bool saw_e2big = false;
	int ret;

	if (size < HEADER)
		return 0;
	linesplit_init(&ls, data[0]);
	max_chunk = (size_t)data[1] + 1;
	rng = (uint32_t)data[2] << 8 | data[3] | 1u << 16;
	e.stream = (const char *)data + HEADER;
	e.len = size - HEADER;
	e.max_line = ls.max_line;

	while (off < e.len) {
		size_t n;

		rng = rng * 1103515245u + 12345u; /* any sequence will do */
		n = 1 + (rng >> 8) % max_chunk;
		if (n > e.len - off)
			n = e.len - off;
		ret = linesplit_feed(&ls, e.stream + off, n, on_line, &e);
		FUZZ_ASSERT(ret == 0 || ret == -E2BIG, "0 or -E2BIG");
		saw_e2big |= ret == -E2BIG;
		off += n;
	}
	/* every complete line was delivered, and no more */
	{
		const char *line;
		size_t len;

		FUZZ_ASSERT(!next_line(&e, &line, &len),
			    "a line not delivered");
	}
	FUZZ_ASSERT(!e.too_long || saw_e2big, "a line too long is reported");
	/* the partial line at the end is held whole, or dropped when too
	 * long (then it was reported) */
	last_nl = e.len ? memrchr(e.stream, '\n', e.len) : NULL;
	tail = last_nl ? e.len - (size_t)(last_nl + 1 - e.stream) : e.len;
	if (tail <= e.max_line + 1) {
		FUZZ_ASSERT(linesplit_pending(&ls) == tail,
			    "partial line held");
		for (i = 0; i < tail; i++)
			FUZZ_ASSERT(ls.buf[i] == e.stream[e.len - tail + i],
				    "partial line bytes");
	} else {
		FUZZ_ASSERT(linesplit_pending(&ls) == 0 && saw_e2big,
			    "too long partial line dropped and reported");
	}
	if (!e.too_long && tail <= e.max_line + 1)
		FUZZ_ASSERT(!saw_e2big, "-E2BIG only for a line too long");
	linesplit_free(&ls);
	return 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * linesplit.h - incremental splitter for newline-delimited JSON (a watch
 * stream). Bytes arrive in chunks cut anywhere; each complete line is
 * handed to a callback once, without its "\n" (or "\r\n"). Empty lines are
 * skipped. A partial line is kept until the rest of it arrives.
 *
 * Pure: no I/O, no globals. One splitter per stream.
 */
#ifndef SVCD_LINESPLIT_H
#define SVCD_LINESPLIT_H

#include <stdbool.h>
#include <stddef.h>

#define LINESPLIT_DEF_MAX_LINE (64u << 20) /* 64 MiB */

struct linesplit {
	char *buf;	 /* the partial line so far, NUL-terminated */
	size_t len;	 /* bytes in buf, without the NUL */
	size_t cap;	 /* allocated size of buf */
	size_t max_line; /* longest line accepted, without its newline */
	bool discarding; /* inside a line that was too long: drop to '\n' */
};

/*
 * Called for each complete line: line[len] == '\0' and the line holds no
 * '\n' and no trailing '\r'. Return 0 to go on; a non-zero value stops the
 * feed, is returned by linesplit_feed(), and resets the splitter (the
 * rest of the chunk is dropped: the caller is expected to drop the stream).
 */
typedef int (*linesplit_fn)(void *ctx, const char *line, size_t len);

/* max_line 0 means LINESPLIT_DEF_MAX_LINE. Allocates nothing. */
void linesplit_init(struct linesplit *ls, size_t max_line);
/* Frees the buffer; the splitter can be fed again afterwards. */
void linesplit_free(struct linesplit *ls);
/* Forget any partial line (a new stream starts); keeps the buffer. */
void linesplit_reset(struct linesplit *ls);
/* Bytes of a partial line held (non-zero at end of stream = truncated). */
size_t linesplit_pending(const struct linesplit *ls);

/*
 * Feed len bytes. Calls cb for every line completed by them. Returns 0;
 * the callback's non-zero value; -ENOMEM (the partial line is dropped);
 * or -E2BIG when a line grew past max_line: reported once per such line,
 * which is then discarded up to its newline, and the lines after it in
 * the same chunk are still delivered.
 */
int linesplit_feed(struct linesplit *ls, const char *data, size_t len,
		   linesplit_fn cb, void *ctx);

#endif

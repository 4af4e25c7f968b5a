// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* linesplit.c - incremental newline-delimited splitter (see linesplit.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linesplit.h"

void linesplit_init(struct linesplit *ls, size_t max_line)
{
	memset(ls, 0, sizeof(*ls));
	ls->max_line = max_line ? max_line : LINESPLIT_DEF_MAX_LINE;
	if (ls->max_line > SIZE_MAX / 2)
		ls->max_line = SIZE_MAX / 2;
}

void linesplit_free(struct linesplit *ls)
{
	free(ls->buf);
	ls->buf = NULL;
	ls->cap = 0;
	linesplit_reset(ls);
}

void linesplit_reset(struct linesplit *ls)
{
	ls->len = 0;
	ls->discarding = false;
}

size_t linesplit_pending(const struct linesplit *ls)
{
	return ls->len;
}

/* Append n bytes to the partial line; the caller checked max_line. */
static int append(struct linesplit *ls, const char *data, size_t n)
{
	size_t need = ls->len + n + 1;

	if (need > ls->cap) {
		size_t cap = ls->cap ? ls->cap : 4096;
		char *buf;

		while (cap < need)
			cap *= 2;
		if (cap > ls->max_line + 2)
			cap = ls->max_line + 2;
		buf = realloc(ls->buf, cap);
		if (!buf)
			return -ENOMEM;
		ls->buf = buf;
		ls->cap = cap;
	}
	memcpy(ls->buf + ls->len, data, n);
	ls->len += n;
	ls->buf[ls->len] = '\0';
	return 0;
}

int linesplit_feed(struct linesplit *ls, const char *data, size_t len,
		   linesplit_fn cb, void *ctx)
{
	const char *end = data + len;
	int ret = 0, err;

	while (data < end) {
		const char *nl = memchr(data, '\n', end - data);
		size_t n = (nl ? nl : end) - data;

		/* One byte over max_line is room for a "\r" to strip. */
		if (!ls->discarding && n > ls->max_line + 1 - ls->len) {
			ls->len = 0;
			ls->discarding = true;
			ret = -E2BIG;
		}
		if (!ls->discarding) {
			err = append(ls, data, n);
			if (err) {
				linesplit_reset(ls);
				return err;
			}
		}
		if (!nl)
			break;
		data = nl + 1;
		if (ls->discarding) {
			ls->discarding = false;
			continue;
		}
		n = ls->len;
		ls->len = 0;
		if (n && ls->buf[n - 1] == '\r')
			n--;
		if (n > ls->max_line) {
			ret = -E2BIG;
			continue;
		}
		if (!n)
			continue;
		ls->buf[n] = '\0';
		err = cb(ctx, ls->buf, n);
		if (err) {
			linesplit_reset(ls);
			return err;
		}
	}
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* log.c - levelled one-line logger (see log.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

static int log_level = LOG_INFO;
static const char *log_prefix = "svcd";

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	char line[1024];
	va_list ap;
	size_t len;

	if ((int)level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	fprintf(stderr, "%s: %s: %s\n", log_prefix, names[level], line);
}

/* Masks the n characters at p; returns how many it left there. */
static size_t mask(char *p, size_t n)
{
	static const char word[] = "[redacted]";

	if (n < sizeof(word) - 1) {
		memset(p, '*', n);
		return n;
	}
	memcpy(p, word, sizeof(word) - 1);
	return sizeof(word) - 1;
}

unsigned int log_redact(char *s, const char *secret)
{
	size_t slen, len, k, left;
	unsigned int n = 0;
	char *p;

	if (!s || !secret)
		return 0;
	slen = strlen(secret);
	if (slen < LOG_REDACT_MIN_TAIL)
		return 0;
	p = s;
	while ((p = strstr(p, secret))) {
		left = mask(p, slen);
		memmove(p + left, p + slen, strlen(p + slen) + 1);
		p += left;
		n++;
	}
	/* the longest tail that starts the secret */
	len = strlen(s);
	for (k = slen - 1 < len ? slen - 1 : len; k >= LOG_REDACT_MIN_TAIL;
	     k--) {
		if (!memcmp(s + len - k, secret, k)) {
			s[len - k + mask(s + len - k, k)] = '\0';
			n++;
			break;
		}
	}
	return n;
}

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

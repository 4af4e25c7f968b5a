// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* vlog.c - the reason in a BPF verifier log. See vlog.h. */
#include <string.h>

#include "vlog.h"

static const char BEGIN[] = "-- BEGIN PROG LOAD LOG --\n";
static const char END[] = "-- END PROG LOAD LOG --";

static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && !memcmp(s, prefix, n);
}

/* The verifier's own summary lines, after its verdict. */
static bool is_statistics(const char *s, size_t len)
{
	return starts(s, len, "processed ") ||
	       starts(s, len, "verification time ") ||
	       starts(s, len, "stack depth ") || starts(s, len, ";");
}

static void copy_cut(char *out, size_t size, const char *s, size_t len)
{
	if (!size)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(out, s, len);
	out[len] = '\0';
}

size_t vlog_reason(const char *log, size_t len, char *out, size_t size)
{
	size_t end = len, start, n;

	copy_cut(out, size, "", 0);
	while (end > 0) {
		start = end;
		while (start > 0 && log[start - 1] != '\n')
			start--;
		n = end - start;
		/* trailing blanks and '\r' do not count */
		while (n > 0 && (log[start + n - 1] == ' ' ||
				 log[start + n - 1] == '\t' ||
				 log[start + n - 1] == '\r'))
			n--;
		if (n > 0 && !is_statistics(log + start, n)) {
			copy_cut(out, size, log + start, n);
			return n;
		}
		end = start ? start - 1 : 0;
	}
	return 0;
}

bool vlog_unframe(const char *msg, const char **log, size_t *log_len,
		  char *prog, size_t prog_size)
{
	const char *begin, *end, *name, *quote;

	begin = strstr(msg, BEGIN);
	if (!begin)
		return false;
	end = strstr(begin + strlen(BEGIN), END);
	if (!end)
		end = begin + strlen(begin); /* cut: take what came */
	copy_cut(prog, prog_size, "", 0);
	name = strstr(msg, "prog '");
	if (name && name < begin) {
		name += strlen("prog '");
		quote = memchr(name, '\'', (size_t)(begin - name));
		if (quote)
			copy_cut(prog, prog_size, name, (size_t)(quote - name));
	}
	*log = begin + strlen(BEGIN);
	*log_len = (size_t)(end - *log);
	return true;
}

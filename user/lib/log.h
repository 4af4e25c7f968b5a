/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* log.h - levelled one-line logger shared by svcd and svcctl. */
#ifndef SVCD_LOG_H
#define SVCD_LOG_H

enum log_level {
	LOG_ERR = 0,   /* always shown */
	LOG_WARN = 1,  /* -v 0 and up */
	LOG_INFO = 2,  /* -v 1 and up (svcd's default is -v 2) */
	LOG_DEBUG = 3, /* -v 3 and up, libbpf debug output at -v 4 */
};

/* Messages above this level are dropped; set from -v. */
void log_set_level(int level);
int log_get_level(void);
/* Prefix printed before every line, e.g. "svcd". */
void log_set_prefix(const char *prefix);

/* One line on stderr: "PREFIX: LEVEL: message\n"; a trailing newline in
 * fmt is not doubled. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Masks every copy of secret in s, in place, and a trailing start of it of
 * LOG_REDACT_MIN_TAIL characters or more (text cut off mid-secret): with
 * "[redacted]" where the copy is at least that long, else with '*'. For
 * text from elsewhere (a server's error body) that may repeat a credential
 * svcd sent. A secret shorter than LOG_REDACT_MIN_TAIL is left alone (no
 * credential is that short, and masking it would garble messages).
 * Returns the number of copies masked.
 */
#define LOG_REDACT_MIN_TAIL 4
unsigned int log_redact(char *s, const char *secret);

#define pr_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

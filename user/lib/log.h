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

#define pr_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif

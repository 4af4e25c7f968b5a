/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * vlog.h - the reason in a BPF verifier log. The kernel's log of a refused
 * program is long (a line per instruction at log level 2) and ends with
 * statistics; the line an operator needs is the last one before them, the
 * verifier's verdict ("R1 invalid mem access 'scalar'", "unknown func
 * bpf_ktime_get_coarse_ns#160"). libbpf hands the whole log to its print
 * callback in one message, framed by "-- BEGIN PROG LOAD LOG --" and
 * "-- END PROG LOAD LOG --".
 *
 * Pure: no I/O, no globals.
 */
#ifndef SVCD_VLOG_H
#define SVCD_VLOG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Copy into out (size bytes, NUL-terminated, cut if longer) the verdict of
 * the verifier log log[0..len): its last non-empty line that is not one of
 * the verifier's statistics lines ("processed N insns ...", "verification
 * time ...", "stack depth ...") nor a source line (";" first). Returns the
 * verdict's length before any cut, 0 when the log has none.
 */
size_t vlog_reason(const char *log, size_t len, char *out, size_t size);

/*
 * If msg is libbpf's framed load log ("...prog 'NAME': -- BEGIN PROG LOAD
 * LOG --\n<log>-- END PROG LOAD LOG --\n"), point *log and *log_len at the
 * log inside it, copy NAME into prog (prog_size bytes, cut if longer) and
 * return true; else return false and touch nothing.
 */
bool vlog_unframe(const char *msg, const char **log, size_t *log_len,
		  char *prog, size_t prog_size);

#endif /* SVCD_VLOG_H */

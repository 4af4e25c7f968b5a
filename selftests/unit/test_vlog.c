// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_vlog.c - the verifier's verdict out of libbpf's load log. */
#include <string.h>

#include "lib/vlog.h"
#include "runner.h"

/* A refused program's log as 6.1 writes it at log level 1, framed as
 * libbpf 1.1 prints it. */
static const char framed[] =
	"libbpf: prog 'from_pod': -- BEGIN PROG LOAD LOG --\n"
	"0: R1=ctx(off=0,imm=0) R10=fp0\n"
	"; int from_pod(struct __sk_buff *skb)\n"
	"0: (b7) r0 = 0                        ; R0_w=0\n"
	"1: (85) call bpf_ktime_get_coarse_ns#160\n"
	"unknown func bpf_ktime_get_coarse_ns#160\n"
	"processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
	"-- END PROG LOAD LOG --\n";

void test_vlog_unframe_and_reason(void)
{
	char prog[16], reason[128];
	const char *log;
	size_t len;

	ASSERT_TRUE(vlog_unframe(framed, &log, &len, prog, sizeof(prog)),
		    "framed log found");
	ASSERT_STREQ(prog, "from_pod", "program name");
	ASSERT_TRUE(!strncmp(log, "0: R1=ctx", 9),
		    "log starts after the frame");
	ASSERT_EQ(log[len - 1], '\n', "log ends at the end frame");
	ASSERT_EQ(vlog_reason(log, len, reason, sizeof(reason)),
		  strlen("unknown func bpf_ktime_get_coarse_ns#160"),
		  "verdict length");
	ASSERT_STREQ(reason, "unknown func bpf_ktime_get_coarse_ns#160",
		     "verdict");
}

void test_vlog_reason_skips_statistics(void)
{
	static const char log[] =
		"10: (61) r2 = *(u32 *)(r1 +0)\n"
		"R1 invalid mem access 'scalar'\r\n"
		"verification time 35 usec\n"
		"stack depth 0+8\n"
		"processed 11 insns (limit 1000000) max_states_per_insn 0\n"
		"\n  \n";
	char reason[64];

	vlog_reason(log, strlen(log), reason, sizeof(reason));
	ASSERT_STREQ(reason, "R1 invalid mem access 'scalar'",
		     "verdict before statistics");
}

void test_vlog_reason_cut_and_empty(void)
{
	static const char only_stats[] =
		"processed 1 insns (limit 1000000)\n; return 0;\n";
	char small[8] = "junk";

	ASSERT_EQ(vlog_reason("abcdefghijkl\n", 13, small, sizeof(small)), 12,
		  "length before the cut");
	ASSERT_STREQ(small, "abcdefg", "verdict cut to the buffer");
	ASSERT_EQ(vlog_reason(only_stats, strlen(only_stats), small,
			      sizeof(small)),
		  0, "statistics only: no verdict");
	ASSERT_STREQ(small, "", "no verdict: empty string");
	ASSERT_EQ(vlog_reason("", 0, small, sizeof(small)), 0, "empty log");
}

void test_vlog_unframe_rejects_other_lines(void)
{
	char prog[16] = "keep";
	const char *log = NULL;
	size_t len = 0;

	ASSERT_FALSE(
		vlog_unframe(
			"libbpf: prog 'x': BPF program load failed: Permission denied\n",
			&log, &len, prog, sizeof(prog)),
		"a one-line message is not a log");
	ASSERT_STREQ(prog, "keep", "name untouched");
	ASSERT_TRUE(log == NULL, "log untouched");
	/* a log cut before its end frame still gives what came */
	ASSERT_TRUE(
		vlog_unframe(
			"libbpf: prog 'a_very_long_program_name': -- BEGIN PROG LOAD LOG --\nR0 !read_ok\n",
			&log, &len, prog, sizeof(prog)),
		"cut log still unframed");
	ASSERT_STREQ(prog, "a_very_long_pro", "name cut to the buffer");
	ASSERT_EQ(len, strlen("R0 !read_ok\n"), "cut log's length");
}

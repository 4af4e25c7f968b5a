// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_probe.c - the feature probes (user/sys/probe.c) on the running
 * kernel: each answers yes or no (never "cannot tell" as root), every
 * feature mainline had by the running release is found (the kernels svcd
 * is tested on are distribution builds with BPF fully on), the answers
 * agree with what a real load does, and --disable-feature's names work.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "runner.h"
#include "sys/probe.h"

/* "6.1.0-41-amd64" -> 6001; "6.16" -> 6016 */
static int version_of(const char *s)
{
	int major = 0, minor = 0;

	if (sscanf(s, "%d.%d", &major, &minor) < 1)
		return 0;
	return major * 1000 + minor;
}

void test_probe_running_kernel(void)
{
	struct utsname u;
	struct probes p;
	int f, running;

	ASSERT_OK(probes_run(&p, NULL, 0), "probes_run");
	ASSERT_OK(uname(&u), "uname");
	ASSERT_STREQ(p.release, u.release, "release");
	running = version_of(u.release);
	for (f = 0; f < FEAT_MAX; f++) {
		test__log("%-18s %-7s since %s", probe_name(f),
			  probe_state_str(p.f[f].state), probe_since(f));
		if (!ASSERT_NEQ(p.f[f].state, PROBE_UNKNOWN, probe_name(f)))
			test__log("%s: %s", probe_name(f),
				  strerror(-p.f[f].err));
		/* mainline had it by this release: a distribution kernel
		 * has it too (a backport may add newer ones, never remove),
		 * but for what a kernel build was seen to take away:
		 * 6.18.44-fc-v1300's XDP cannot call bpf_xdp_adjust_meta
		 * (svcd then hands over without metadata; the probe's
		 * answer is checked against a real load below) */
		if (version_of(probe_since(f)) <= running &&
		    f != FEAT_XDP_ADJUST_META)
			ASSERT_EQ(p.f[f].state, PROBE_YES, probe_name(f));
	}
}

/* An XDP program calling bpf_xdp_adjust_meta loads exactly when the
 * probe says so (libbpf 1.1's own probe said yes on a kernel that
 * refuses it: "program of this type cannot use helper"). */
void test_probe_xdp_meta_agrees_with_load(void)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_2 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_xdp_adjust_meta },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K,
		  .dst_reg = BPF_REG_0,
		  .imm = 2 /* XDP_PASS */ },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct probes p;
	int fd;

	ASSERT_OK(probes_run(&p, NULL, 0), "probes_run");
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, NULL, "GPL", prog, 4, NULL);
	test__log("xdp_adjust_meta: probe %s, a real load %s\n",
		  probe_have(&p, FEAT_XDP_ADJUST_META) ? "yes" : "no",
		  fd >= 0 ? "loads" : strerror(errno));
	ASSERT_EQ(fd >= 0, probe_have(&p, FEAT_XDP_ADJUST_META),
		  "bpf_xdp_adjust_meta in XDP loads iff probed");
	if (fd >= 0)
		close(fd);
}

/* The probes' answer matches a real load: a tc program calling
 * bpf_ktime_get_coarse_ns loads exactly when the probe says it can. */
void test_probe_agrees_with_load(void)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_JMP | BPF_CALL,
		  .imm = BPF_FUNC_ktime_get_coarse_ns },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct probes p;
	int fd;

	ASSERT_OK(probes_run(&p, NULL, 0), "probes_run");
	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, NULL, "GPL", prog, 3, NULL);
	ASSERT_EQ(fd >= 0, probe_have(&p, FEAT_TC_COARSE_CLOCK),
		  "coarse clock loads iff probed");
	if (fd >= 0)
		close(fd);
}

void test_probe_disable(void)
{
	const char *off[] = { "tc_coarse_clock", "map_batch" };
	const char *bad[] = { "tcx", "no_such_feature" };
	struct probes p;
	int f;

	ASSERT_EQ(probe_by_name("tcx"), FEAT_TCX, "by name");
	ASSERT_EQ(probe_by_name("TCX"), -1, "names are exact");
	for (f = 0; f < FEAT_MAX; f++)
		ASSERT_EQ(probe_by_name(probe_name(f)), f, probe_name(f));
	ASSERT_OK(probes_run(&p, off, 2), "probes_run with two off");
	ASSERT_EQ(p.f[FEAT_TC_COARSE_CLOCK].state, PROBE_OFF, "clock off");
	ASSERT_EQ(p.f[FEAT_MAP_BATCH].state, PROBE_OFF, "batch off");
	ASSERT_FALSE(probe_have(&p, FEAT_TC_COARSE_CLOCK), "off is not had");
	ASSERT_EQ(p.f[FEAT_MAP_HASH].state, PROBE_YES, "the rest probed");
	ASSERT_EQ(probes_run(&p, bad, 2), -EINVAL, "an unknown name");
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* xdp_pass.bpf.c - one XDP_PASS program (section "xdp") for the netns
 * tests' router veths: a veth peer needs an XDP program of its own for
 * XDP_TX/redirect into it to work (lib.sh, make_router). Built by make, so
 * a machine or VM without clang runs the tests too. */
#include <linux/bpf.h>

__attribute__((section("xdp"), used)) int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

__attribute__((section("license"), used)) char LICENSE[] = "GPL";

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ct.h - conntrack's family-free part: the clock, and how long an entry
 * lives in each state. The per-family functions (keys, liveness, touch)
 * are in the template svc_af.h.
 */
#ifndef SVCD_BPF_CT_H
#define SVCD_BPF_CT_H

#include <linux/errno.h>

#include "maps.h"
#include "parse.h"

/* ct_create() (svc_af.h) found the forward key taken by a live flow. */
#define CT_LIVE 1

/*
 * The datapath's clock, for every timestamp in the maps (conntrack
 * created_ns/last_seen_ns, affinity last_used_ns): CLOCK_MONOTONIC as of
 * the last tick (bpf_ktime_get_coarse_ns(), 1-4 ms behind the exact
 * clock). Lifetimes, the refresh granularity and affinity timeouts are
 * whole seconds, so a tick does not matter; the exact clock reads the
 * clocksource on every packet, which is most of a non-service packet's
 * cost under a paravirtual clock (kvm-clock). Every hook uses this one, so
 * stamps are compared with stamps of the same clock.
 */
/*
 * 0 on a kernel without bpf_ktime_get_coarse_ns (before 5.11, or
 * --disable-feature tc_coarse_clock): the exact clock instead, same
 * CLOCK_MONOTONIC base (ns_since() takes a stamp up to a tick ahead), so
 * entries stay valid across a switch. Set by svcd before load; the
 * verifier prunes the call the kernel cannot make.
 */
const volatile __u8 coarse_clock = 1;

static __always_inline __u64 svcd_now(void)
{
	if (coarse_clock)
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}

/*
 * How long before now a stamp was. A stamp ahead of now counts as "just
 * now", not as 2^64 ns ago: entries pinned by an svcd that stamped with
 * the exact clock are up to a tick ahead of this one for a tick after an
 * upgrade, and an unsigned wrap would expire live flows.
 */
static __always_inline __u64 ns_since(__u64 now, __u64 then)
{
	__u64 d = now - then;

	/* branchless: one path for the verifier, not two per comparison */
	return d & ~(__u64)((__s64)d >> 63);
}

static __always_inline __u64 ct_state_lifetime(__u8 tcp_state)
{
	switch (tcp_state) {
	case SVCD_TCP_NONE:
		return SVCD_CT_LIFETIME_UDP;
	case SVCD_TCP_SYN_SENT:
		return SVCD_CT_LIFETIME_SYN;
	case SVCD_TCP_CLOSING:
		return SVCD_CT_LIFETIME_CLOSING;
	default:
		return SVCD_CT_LIFETIME_TCP;
	}
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ct.h - conntrack's family-free part: how long an entry lives in each
 * state. The per-family functions (keys, liveness, touch) are in the
 * template svc_af.h.
 */
#ifndef SVCD_BPF_CT_H
#define SVCD_BPF_CT_H

#include "maps.h"
#include "parse.h"

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

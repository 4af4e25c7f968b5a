/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp_af.h - template (see af.h) for icmp.h: tc_icmp_error4/6() and
 * xdp_icmp_error4/6(). No include guard.
 */

/*
 * tc: a packet the parser passed as PASS_OTHER_PROTO (reason). An ICMP
 * error about a translated flow is translated back: SVCD_R_ICMP_ERROR.
 * Anything else keeps its reason.
 */
static __always_inline int AFN(tc_icmp_error)(struct __sk_buff *skb, int reason)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct AFN(icmp_err) e = {};
	struct AFN(nat_target) t;
	int ret;

	if (AFN(parse_icmp_err)(data, data_end, &e) ||
	    AFN(svc_icmp_error)(&e, &t) != SVCD_R_ICMP_ERROR)
		return reason;
	ret = icmp_err_rewrite(skb, SVC_AF == 6, e.icmp_off, e.in_l3_off, e.end,
			       e.in.proto, &t.saddr, &t.daddr, t.sport, t.dport,
			       &e.outer_daddr);
	return ret ? ret : SVCD_R_ICMP_ERROR;
}

/* XDP: is this an ICMP error about a translated flow (for from_wire_tc)? */
static __always_inline bool AFN(xdp_icmp_error)(void *data, void *data_end)
{
	struct AFN(icmp_err) e = {};
	struct AFN(nat_target) t;

	return !AFN(parse_icmp_err)(data, data_end, &e) &&
	       AFN(svc_icmp_error)(&e, &t) == SVCD_R_ICMP_ERROR;
}

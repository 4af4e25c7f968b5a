/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * wire_af.h - what from_wire, from_wire_tc and to_wire do with a packet
 * of one family: a template (see af.h), included by wire.bpf.c once per
 * family, giving from_wire4/6() (XDP), from_wire_tc4/6() and
 * to_wire4/6(). They return a reason (negative: not translated) or a
 * bpf_redirect*() action, for wire.bpf.c's verdict functions. Needs
 * wire.bpf.c's snat_of4/6() and xdp_handoff(). No include guard.
 */

/* Translate and send: out the same uplink (XDP_TX), up the stack, or
 * over to from_wire_tc. */
static __always_inline int AFN(xdp_output)(struct xdp_md *ctx, const flow_t *f,
					   const struct AFN(nat_target) * t,
					   int reason)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup params;
	struct ethhdr *eth = data;
	int ret;

	ret = AFN(fib_lookup_target)(ctx, ctx->ingress_ifindex, f, t, &params);
	if (xdp_tx_ok && ret == BPF_FIB_LKUP_RET_SUCCESS &&
	    params.ifindex == ctx->ingress_ifindex) {
		ret = AFN(nat_apply_xdp)(data, data_end, f, t);
		if (ret)
			return ret;
		if ((void *)(eth + 1) > data_end)
			return -SVCD_R_DROP_REWRITE;
		__builtin_memcpy(eth->h_dest, params.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, params.smac, ETH_ALEN);
		stats_add(t->service_id, STAT_PACKET, data_end - data);
		return SVCD_R_TX;
	}
	if (t->ct_flags & SVCD_CT_LOCAL_SRC)
		return xdp_handoff(ctx);
	/* Toward a local pod or through another interface, with a source
	 * the stack accepts: let it forward. */
	ret = AFN(nat_apply_xdp)(data, data_end, f, t);
	if (ret)
		return ret;
	stats_add(t->service_id, STAT_PACKET, data_end - data);
	return reason;
}

static __always_inline int AFN(from_wire)(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct AFN(snat_config) snat;
	struct AFN(nat_target) t;
	flow_t f = {};
	int ret;

	ret = AFN(parse_flow)(data, data_end, &f);
	if (ret == -SVCD_R_PASS_OTHER_PROTO &&
	    AFN(xdp_icmp_error)(data, data_end))
		return xdp_handoff(ctx);
	if (ret < 0)
		return ret;
	ret = AFN(svc_reverse)(&f, &t);
	if (ret == SVCD_R_REVERSE)
		return AFN(xdp_output)(ctx, &f, &t, ret);
	if (ret == -SVCD_R_PASS_STALE_REPLY)
		return ret;
	AFN(snat_of)(&snat);
	ret = AFN(svc_forward)(&f, SVCD_SCOPE_EXTERNAL, &snat, &t, false, true);
	if (ret == SVCD_R_FORWARD)
		return AFN(xdp_output)(ctx, &f, &t, ret);
	if (ret == SVCD_R_REFUSED)
		/* For a node address the stack answers RST or port
		 * unreachable itself: nothing listens on a NodePort. */
		return -SVCD_R_PASS_REFUSE_STACK;
	return ret;
}

static __always_inline int AFN(from_wire_tc)(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct AFN(snat_config) snat;
	struct AFN(nat_target) t;
	struct bpf_fib_lookup params;
	flow_t f = {};
	int ret, reason;

	ret = AFN(parse_flow)(data, data_end, &f);
	if (ret == -SVCD_R_PASS_OTHER_PROTO)
		/* an ICMP error: the stack forwards it to the client */
		return AFN(tc_icmp_error)(skb, ret);
	if (ret < 0)
		return ret;
	ret = AFN(svc_reverse)(&f, &t);
	if (ret == -SVCD_R_PASS_STALE_REPLY)
		return ret;
	if (ret != SVCD_R_REVERSE) {
		AFN(snat_of)(&snat);
		ret = AFN(svc_forward)(&f, SVCD_SCOPE_EXTERNAL, &snat, &t,
				       false, tc_only);
		if (ret != SVCD_R_FORWARD)
			return ret;
	}
	reason = ret;
	ret = AFN(nat_apply)(skb, &f, &t);
	if (ret)
		return ret;
	stats_add(t.service_id, STAT_PACKET, skb->len);
	ret = AFN(fib_lookup_target)(skb, skb->ifindex, &f, &t, &params);
	/* A hostNetwork backend (an address of this node): no interface to
	 * send it out of; the stack delivers it, as after from_wire's
	 * XDP_PASS. A node address as the new source would be a martian. */
	if (ret == BPF_FIB_LKUP_RET_NOT_FWDED &&
	    !(t.ct_flags & SVCD_CT_LOCAL_SRC))
		return reason;
	/* counted here (tc_verdict() does not count a redirect); a failed
	 * one is counted there, under its own reason */
	ret = tc_fib_redirect(skb, ret, &params);
	if (ret == TC_ACT_REDIRECT)
		stats_reason(SVCD_HOOK_FROM_WIRE_TC, SVCD_R_TX);
	return ret;
}

static __always_inline int AFN(to_wire)(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct AFN(nat_target) t;
	flow_t f = {};
	int ret;

	ret = AFN(parse_flow)(data, data_end, &f);
	if (ret == -SVCD_R_PASS_OTHER_PROTO)
		return AFN(tc_icmp_error)(skb, ret);
	if (ret < 0)
		return ret;
	ret = AFN(svc_reverse)(&f, &t);
	if (ret != SVCD_R_REVERSE)
		return ret;
	ret = AFN(nat_apply)(skb, &f, &t);
	if (ret)
		return ret;
	stats_add(t.service_id, STAT_PACKET, skb->len);
	return SVCD_R_REVERSE;
}

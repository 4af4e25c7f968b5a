/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pod_af.h - what from_pod and to_pod do with a packet of one family: a
 * template (see af.h), included by pod.bpf.c once per family, giving
 * from_pod4/6() and to_pod4/6(). They return a reason (negative: not
 * translated) or a bpf_redirect*() action, for pod.bpf.c's tc_verdict().
 * No include guard.
 */

/* Pods never get SNAT (hairpin aside): backends see the pod's address. */
static const struct AFN(snat_config) AFN(no_snat) = {};

static __always_inline int AFN(apply)(struct __sk_buff *skb, const flow_t *f,
				      const struct AFN(nat_target) * t,
				      int reason, enum svcd_hook hook)
{
	int ret;

	ret = AFN(nat_apply)(skb, f, t);
	if (ret)
		return ret;
	stats_add(t->service_id, STAT_PACKET, skb->len);
	/* A NodePort reply now comes from this node's address: the stack
	 * would drop it as a martian, so it goes out directly. */
	if (t->ct_flags & SVCD_CT_LOCAL_SRC) {
		/* counted here, as tc_verdict() does not count a redirect;
		 * a failed one is counted there, under its own reason */
		ret = AFN(tc_fib_redirect)(skb, f, t);
		if (ret == TC_ACT_REDIRECT)
			stats_reason(hook, reason);
		return ret;
	}
	return reason;
}

static __always_inline int AFN(from_pod)(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct AFN(nat_target) t;
	bool client_first;
	flow_t f = {};
	int ret;

	ret = AFN(parse_flow)(data, data_end, &f);
	if (ret == -SVCD_R_PASS_OTHER_PROTO)
		return AFN(tc_icmp_error)(skb, ret);
	if (ret < 0)
		return ret;
	/* Steps 6, 7-8 in the order the ports suggest (svc_af.h). */
	client_first = AFN(svc_client_first)(&f);
	if (!client_first) {
		ret = AFN(svc_reverse)(&f, &t);
		if (ret == SVCD_R_REVERSE)
			return AFN(apply)(skb, &f, &t, ret, SVCD_HOOK_FROM_POD);
		if (ret == -SVCD_R_PASS_STALE_REPLY)
			return ret;
	}
	ret = AFN(svc_forward)(&f, SVCD_SCOPE_INTERNAL, &AFN(no_snat), &t,
			       client_first, true);
	if (ret == SVCD_R_FORWARD || ret == SVCD_R_REVERSE)
		return AFN(apply)(skb, &f, &t, ret, SVCD_HOOK_FROM_POD);
	if (ret == SVCD_R_REFUSED) {
		ret = AFN(refuse)(skb, &f);
		return ret ? ret : SVCD_R_REFUSED;
	}
	return ret;
}

static __always_inline int AFN(to_pod)(struct __sk_buff *skb)
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
	if (ret == SVCD_R_REVERSE)
		ret = AFN(apply)(skb, &f, &t, ret, SVCD_HOOK_TO_POD);
	return ret;
}

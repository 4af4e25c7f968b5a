// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pod.bpf.c - tc programs on the host side of pod veths.
 *
 *   from_pod (ingress: packets the pod sends): reverse NAT of replies from
 *            local backends, DNAT of flows to frontends, refusal.
 *   to_pod   (egress: packets delivered to the pod): reverse NAT of replies
 *            that were not translated on the way in.
 *
 * docs/datapath.md describes every step; lib/svc.h decides, nat.h writes.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/fib.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"
#include "lib/refuse.h"
#include "lib/stats.h"
#include "lib/svc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Pods never get SNAT (hairpin aside): backends see the pod's address. */
static const struct snat_config no_snat = {};

static __always_inline int apply(struct __sk_buff *skb, const struct flow4 *f,
				 const struct nat_target *t, int reason)
{
	int ret;

	ret = nat_rewrite(skb, f, t->saddr, t->sport, t->daddr, t->dport);
	if (ret)
		return ret;
	stats_add(t->service_id, STAT_PACKET, skb->len);
	/* A NodePort reply now comes from this node's address: the stack
	 * would drop it as a martian, so it goes out directly. */
	if (t->ct_flags & SVCD_CT_LOCAL_SRC) {
		stats_reason(reason);
		return tc_fib_redirect(skb, f, t);
	}
	return reason;
}

/* The one place a reason becomes an action, and is counted. */
static __always_inline int tc_verdict(struct __sk_buff *skb, int ret)
{
	int reason = ret < 0 ? -ret : ret;

	/* bpf_redirect*() results are actions already (counted before). */
	if (ret == TC_ACT_REDIRECT)
		return ret;
	stats_reason(reason);
	if (reason == SVCD_R_REFUSED)
		return bpf_redirect(skb->ifindex, 0);
	return reason_drops(reason) ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u64 now = bpf_ktime_get_ns();
	struct nat_target t;
	struct flow4 f = {};
	int ret;

	ret = parse_flow4(data, data_end, &f);
	if (ret < 0)
		return tc_verdict(skb, ret);
	ret = svc_reverse(&f, now, &t);
	if (ret == SVCD_R_REVERSE)
		return tc_verdict(skb, apply(skb, &f, &t, ret));
	ret = svc_forward(&f, SVCD_SCOPE_INTERNAL, now, &no_snat, &t);
	if (ret == SVCD_R_FORWARD)
		return tc_verdict(skb, apply(skb, &f, &t, ret));
	if (ret == SVCD_R_REFUSED) {
		ret = refuse_icmp(skb, &f);
		return tc_verdict(skb, ret ? ret : SVCD_R_REFUSED);
	}
	return tc_verdict(skb, ret);
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct nat_target t;
	struct flow4 f = {};
	int ret;

	ret = parse_flow4(data, data_end, &f);
	if (ret < 0)
		return tc_verdict(skb, ret);
	ret = svc_reverse(&f, bpf_ktime_get_ns(), &t);
	if (ret == SVCD_R_REVERSE)
		ret = apply(skb, &f, &t, ret);
	return tc_verdict(skb, ret);
}

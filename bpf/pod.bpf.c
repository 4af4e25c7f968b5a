// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pod.bpf.c - tc programs on the host side of pod veths.
 *
 *   from_pod (ingress: packets the pod sends): reverse NAT of replies from
 *            local backends, DNAT of flows to frontends, refusal.
 *   to_pod   (egress: packets delivered to the pod): reverse NAT of replies
 *            that were not translated on the way in.
 *
 * Both families: the ethertype picks from_pod4/6() (lib/pod_af.h, one
 * text for both). docs/datapath.md describes every step; lib/svc.h
 * decides, nat.h writes.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/fib.h"
#include "lib/icmp.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"
#include "lib/refuse.h"
#include "lib/stats.h"
#include "lib/svc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SVC_AF 4
#include "lib/af.h"
#include "lib/pod_af.h"
#include "lib/af_end.h"

#define SVC_AF 6
#include "lib/af.h"
#include "lib/pod_af.h"
#include "lib/af_end.h"

/* The one place a reason becomes an action, and is counted. */
static __always_inline int tc_verdict(struct __sk_buff *skb,
				      enum svcd_hook hook, int ret)
{
	int reason = ret < 0 ? -ret : ret;

	/* bpf_redirect*() results are actions already (counted before). */
	if (ret == TC_ACT_REDIRECT)
		return ret;
	stats_reason(hook, reason);
	if (reason == SVCD_R_REFUSED)
		return bpf_redirect(skb->ifindex, 0);
	return reason_drops(reason) ? TC_ACT_SHOT : TC_ACT_OK;
}

/* Entry points: the ethertype picks the family. */
SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int proto = eth_proto(data, data_end);

	if (proto == bpf_htons(ETH_P_IP))
		return tc_verdict(skb, SVCD_HOOK_FROM_POD, from_pod4(skb));
	if (proto == bpf_htons(ETH_P_IPV6))
		return tc_verdict(skb, SVCD_HOOK_FROM_POD, from_pod6(skb));
	return tc_verdict(skb, SVCD_HOOK_FROM_POD, -SVCD_R_PASS_NOT_IP);
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int proto = eth_proto(data, data_end);

	if (proto == bpf_htons(ETH_P_IP))
		return tc_verdict(skb, SVCD_HOOK_TO_POD, to_pod4(skb));
	if (proto == bpf_htons(ETH_P_IPV6))
		return tc_verdict(skb, SVCD_HOOK_TO_POD, to_pod6(skb));
	return tc_verdict(skb, SVCD_HOOK_TO_POD, -SVCD_R_PASS_NOT_IP);
}

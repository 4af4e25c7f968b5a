// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * wire.bpf.c - programs on uplinks, for traffic from and to outside:
 *
 *   from_wire    (XDP): NodePort / externalIP / LoadBalancer DNAT, SNAT
 *                toward other nodes (externalTrafficPolicy Cluster), and
 *                the reverse of both for the replies. Sends out with XDP_TX
 *                when the route leads back out the same uplink, passes to
 *                the stack what it may see, and leaves to from_wire_tc what
 *                needs a neighbour lookup XDP cannot do.
 *   from_wire_tc (tc ingress): finishes what from_wire handed over (a
 *                metadata mark says which packets), with skb helpers and
 *                bpf_redirect_neigh().
 *   to_wire      (tc egress): reverse NAT of replies from local processes
 *                (hostNetwork backends) to external clients.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/fib.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/nat_xdp.h"
#include "lib/parse.h"
#include "lib/stats.h"
#include "lib/svc.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by svcd through the skeleton before load (--snat-port-range and the
 * uplink's address). */
const volatile __be32 snat_addr = 0;
/* IPv6 node address for SNAT, as union svcd_ip6 (words: the skeleton
 * header must not need svcd_abi.h); all zero: none */
const volatile __be32 snat_addr6[4] = {};
const volatile __u16 snat_port_min = 61000;
const volatile __u16 snat_port_max = 65535;
/*
 * 0 on veth uplinks: a packet a local socket sent over veth keeps a
 * partial checksum (CHECKSUM_PARTIAL) that only the skb path knows how to
 * update; XDP_TX would turn it into a frame with a wrong checksum. Such
 * packets go through from_wire_tc instead. Real NICs: 1.
 */
const volatile __u8 xdp_tx_ok = 1;

/* from_wire -> from_wire_tc: "this packet is yours" in the metadata. */
#define HANDOFF_MAGIC 0x5cd0ff5e

static __always_inline void snat_of(struct snat_config *snat)
{
	snat->addr = snat_addr;
	snat->port_min = snat_port_min;
	snat->port_max = snat_port_max;
}

static __always_inline int xdp_verdict(int ret)
{
	int reason = ret < 0 ? -ret : ret;

	stats_reason(reason);
	if (reason == SVCD_R_TX)
		return XDP_TX;
	return reason_drops(reason) ? XDP_DROP : XDP_PASS;
}

/* Leave the packet untranslated for from_wire_tc. */
static __always_inline int xdp_handoff(struct xdp_md *ctx)
{
	void *data, *meta;

	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)))
		return -SVCD_R_DROP_FIB;
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if (meta + sizeof(__u32) > data)
		return -SVCD_R_DROP_FIB;
	*(__u32 *)meta = HANDOFF_MAGIC;
	return -SVCD_R_PASS_TO_TC;
}

/* Translate and send: out the same uplink (XDP_TX), up the stack, or
 * over to from_wire_tc. */
static __always_inline int xdp_output(struct xdp_md *ctx, const struct flow4 *f,
				      const struct nat_target *t, int reason)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup params;
	struct ethhdr *eth = data;
	int ret;

	ret = fib_lookup_target(ctx, ctx->ingress_ifindex, f, t, &params);
	if (xdp_tx_ok && ret == BPF_FIB_LKUP_RET_SUCCESS &&
	    params.ifindex == ctx->ingress_ifindex) {
		ret = nat_rewrite_xdp(data, data_end, f, t->saddr, t->sport,
				      t->daddr, t->dport);
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
	ret = nat_rewrite_xdp(data, data_end, f, t->saddr, t->sport, t->daddr,
			      t->dport);
	if (ret)
		return ret;
	stats_add(t->service_id, STAT_PACKET, data_end - data);
	return reason;
}

SEC("xdp")
int from_wire(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 now = bpf_ktime_get_ns();
	struct snat_config snat;
	struct nat_target t;
	struct flow4 f = {};
	int ret;

	ret = parse_flow4(data, data_end, &f);
	if (ret < 0)
		return xdp_verdict(ret);
	ret = svc_reverse(&f, now, &t);
	if (ret == SVCD_R_REVERSE)
		return xdp_verdict(xdp_output(ctx, &f, &t, ret));
	snat_of(&snat);
	ret = svc_forward(&f, SVCD_SCOPE_EXTERNAL, now, &snat, &t);
	if (ret == SVCD_R_FORWARD)
		return xdp_verdict(xdp_output(ctx, &f, &t, ret));
	if (ret == SVCD_R_REFUSED)
		/* For a node address the stack answers RST or port
		 * unreachable itself: nothing listens on a NodePort. */
		return xdp_verdict(-SVCD_R_PASS_REFUSE_STACK);
	return xdp_verdict(ret);
}

static __always_inline int tc_verdict(int ret)
{
	int reason = ret < 0 ? -ret : ret;

	/* bpf_redirect*() results are actions already. */
	if (ret == TC_ACT_REDIRECT)
		return ret;
	stats_reason(reason);
	return reason_drops(reason) ? TC_ACT_SHOT : TC_ACT_OK;
}

static __always_inline bool handed_over(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *meta = (void *)(long)skb->data_meta;

	if (meta + sizeof(__u32) > data)
		return false;
	return *(__u32 *)meta == HANDOFF_MAGIC;
}

SEC("tc")
int from_wire_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u64 now = bpf_ktime_get_ns();
	struct snat_config snat;
	struct nat_target t;
	struct flow4 f = {};
	int ret;

	if (!handed_over(skb))
		return TC_ACT_OK;
	ret = parse_flow4(data, data_end, &f);
	if (ret < 0)
		return tc_verdict(ret);
	ret = svc_reverse(&f, now, &t);
	if (ret != SVCD_R_REVERSE) {
		snat_of(&snat);
		ret = svc_forward(&f, SVCD_SCOPE_EXTERNAL, now, &snat, &t);
		if (ret != SVCD_R_FORWARD)
			return tc_verdict(ret);
	}
	ret = nat_rewrite(skb, &f, t.saddr, t.sport, t.daddr, t.dport);
	if (ret)
		return tc_verdict(ret);
	stats_add(t.service_id, STAT_PACKET, skb->len);
	stats_reason(SVCD_R_TX);
	return tc_verdict(tc_fib_redirect(skb, &f, &t));
}

SEC("tc")
int to_wire(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct nat_target t;
	struct flow4 f = {};
	int ret;

	ret = parse_flow4(data, data_end, &f);
	if (ret < 0)
		return tc_verdict(ret);
	ret = svc_reverse(&f, bpf_ktime_get_ns(), &t);
	if (ret != SVCD_R_REVERSE)
		return tc_verdict(ret);
	ret = nat_rewrite(skb, &f, t.saddr, t.sport, t.daddr, t.dport);
	if (ret)
		return tc_verdict(ret);
	stats_add(t.service_id, STAT_PACKET, skb->len);
	return tc_verdict(SVCD_R_REVERSE);
}

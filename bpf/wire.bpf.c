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
 *                bpf_redirect_neigh(); on an uplink without XDP (tc_only:
 *                a kernel or device that cannot run from_wire, or
 *                --disable-feature prog_xdp) it does all of from_wire's
 *                work itself.
 *   to_wire      (tc egress): reverse NAT of replies from local processes
 *                (hostNetwork backends) to external clients.
 *
 * Both families: the ethertype picks the per-family work, written once in
 * lib/wire_af.h.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/fib.h"
#include "lib/icmp.h"
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
/* The IPv6 SNAT source; all-zero: no IPv6 SNAT (flows that need it are
 * dropped as DROP_SNAT_PORTS, as IPv4 without snat_addr). */
const volatile union svcd_ip6 snat_addr6 = {};
const volatile __u16 snat_port_min = 61000;
const volatile __u16 snat_port_max = 65535;
/*
 * 0 on veth uplinks: a packet a local socket sent over veth keeps a
 * partial checksum (CHECKSUM_PARTIAL) that only the skb path knows how to
 * update; XDP_TX would turn it into a frame with a wrong checksum. Such
 * packets go through from_wire_tc instead. Real NICs: 1.
 */
const volatile __u8 xdp_tx_ok = 1;
/*
 * 1: from_wire runs on no uplink of this instance, so from_wire_tc takes
 * every packet, not only those handed over (svcd loads this variant when
 * XDP cannot run; an uplink never has both, or a packet XDP translated
 * would be translated again).
 */
const volatile __u8 tc_only = 0;
/*
 * 1: from_wire marks what it hands over in the XDP metadata, and
 * from_wire_tc takes only those. 0: the kernel's XDP cannot call
 * bpf_xdp_adjust_meta (6.18.44-fc-v1300 refuses it), so from_wire passes
 * such packets unmarked and from_wire_tc looks at every packet, as
 * tc_only does: one XDP translated are no frontend's or flow's as they
 * arrive (a frontend's packet has the backend's address by then, a
 * reply the frontend's), so it passes them untouched, at the cost of its
 * lookups. Its port-reuse check (svc_af.h ct_forget_reused()) stays off:
 * from_wire made it for every untranslated packet, and on a packet it
 * translated the check would find that packet's own new flow.
 */
const volatile __u8 xdp_meta = 1;

/* from_wire -> from_wire_tc: "this packet is yours" in the metadata. */
#define HANDOFF_MAGIC 0x5cd0ff5e

static __always_inline void snat_of4(struct snat_config4 *snat)
{
	snat->addr = snat_addr;
	snat->port_min = snat_port_min;
	snat->port_max = snat_port_max;
}

static __always_inline void snat_of6(struct snat_config6 *snat)
{
	snat->addr.w[0] = snat_addr6.w[0];
	snat->addr.w[1] = snat_addr6.w[1];
	snat->addr.w[2] = snat_addr6.w[2];
	snat->addr.w[3] = snat_addr6.w[3];
	snat->port_min = snat_port_min;
	snat->port_max = snat_port_max;
}

static __always_inline int xdp_verdict(int ret)
{
	int reason = ret < 0 ? -ret : ret;

	stats_reason(SVCD_HOOK_FROM_WIRE, reason);
	if (reason == SVCD_R_TX)
		return XDP_TX;
	return reason_drops(reason) ? XDP_DROP : XDP_PASS;
}

/* Leave the packet untranslated for from_wire_tc. */
static __always_inline int xdp_handoff(struct xdp_md *ctx)
{
	void *data, *meta;

	if (!xdp_meta)
		return -SVCD_R_PASS_TO_TC;
	if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(__u32)))
		return -SVCD_R_DROP_FIB;
	data = (void *)(long)ctx->data;
	meta = (void *)(long)ctx->data_meta;
	if (meta + sizeof(__u32) > data)
		return -SVCD_R_DROP_FIB;
	*(__u32 *)meta = HANDOFF_MAGIC;
	return -SVCD_R_PASS_TO_TC;
}

static __always_inline int tc_verdict(enum svcd_hook hook, int ret)
{
	int reason = ret < 0 ? -ret : ret;

	/* bpf_redirect*() results are actions already (counted before). */
	if (ret == TC_ACT_REDIRECT)
		return ret;
	stats_reason(hook, reason);
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

#define SVC_AF 4
#include "lib/af.h"
#include "lib/wire_af.h"
#include "lib/af_end.h"

#define SVC_AF 6
#include "lib/af.h"
#include "lib/wire_af.h"
#include "lib/af_end.h"

/* Entry points: the ethertype picks the family. */
SEC("xdp")
int from_wire(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int proto = eth_proto(data, data_end);

	if (proto == bpf_htons(ETH_P_IP))
		return xdp_verdict(from_wire4(ctx));
	if (proto == bpf_htons(ETH_P_IPV6))
		return xdp_verdict(from_wire6(ctx));
	return xdp_verdict(-SVCD_R_PASS_NOT_IP);
}

SEC("tc")
int from_wire_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int proto, ret;

	if (!tc_only && xdp_meta && !handed_over(skb))
		return TC_ACT_OK;
	proto = eth_proto(data, data_end);
	if (proto == bpf_htons(ETH_P_IP))
		ret = from_wire_tc4(skb);
	else if (proto == bpf_htons(ETH_P_IPV6))
		ret = from_wire_tc6(skb);
	else
		ret = -SVCD_R_PASS_NOT_IP;
	/* As from_wire: for a node address the stack answers RST or port
	 * unreachable itself (only tc_only meets it: XDP never hands such
	 * a packet over). */
	if (ret == SVCD_R_REFUSED)
		ret = -SVCD_R_PASS_REFUSE_STACK;
	return tc_verdict(SVCD_HOOK_FROM_WIRE_TC, ret);
}

SEC("tc")
int to_wire(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	int proto = eth_proto(data, data_end);

	if (proto == bpf_htons(ETH_P_IP))
		return tc_verdict(SVCD_HOOK_TO_WIRE, to_wire4(skb));
	if (proto == bpf_htons(ETH_P_IPV6))
		return tc_verdict(SVCD_HOOK_TO_WIRE, to_wire6(skb));
	return tc_verdict(SVCD_HOOK_TO_WIRE, -SVCD_R_PASS_NOT_IP);
}

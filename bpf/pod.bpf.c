// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * pod.bpf.c - tc programs on the host side of pod veths.
 *
 *   from_pod (ingress: packets the pod sends): reverse NAT of replies from
 *            local backends, DNAT of flows to frontends, refusal.
 *   to_pod   (egress: packets delivered to the pod): reverse NAT of replies
 *            that were not translated on the way in.
 *
 * docs/datapath.md describes every step; the numbers below refer to it.
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "lib/ct.h"
#include "lib/lb.h"
#include "lib/maps.h"
#include "lib/nat.h"
#include "lib/parse.h"
#include "lib/refuse.h"
#include "lib/stats.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Step 6: a reply from a backend gets the frontend back as its source. */
static __always_inline int reverse_nat(struct __sk_buff *skb,
				       const struct flow4 *f, __u64 now)
{
	struct svcd_ct_value *ct, *fwd;
	struct svcd_ct_key key, fwd_key;
	int ret;

	ct_key_of(f, SVCD_CT_REVERSE, &key);
	ct = bpf_map_lookup_elem(&svcd_conntrack, &key);
	if (!ct)
		return -SVCD_R_PASS_NOT_OURS;
	ct_touch(ct, f, true, now);

	/* The forward entry decides the flow's lifetime: replies move its
	 * TCP state too (SYN_SENT -> ESTABLISHED, FIN/RST -> CLOSING). */
	fwd_key.saddr = ct->nat_saddr;
	fwd_key.sport = ct->nat_sport;
	fwd_key.daddr = ct->nat_daddr;
	fwd_key.dport = ct->nat_dport;
	fwd_key.proto = f->proto;
	fwd_key.dir = SVCD_CT_FORWARD;
	fwd_key.pad = 0;
	fwd = bpf_map_lookup_elem(&svcd_conntrack, &fwd_key);
	if (fwd)
		ct_touch(fwd, f, true, now);
	ret = nat_rewrite(skb, f, ct->nat_daddr, ct->nat_dport, ct->nat_saddr,
			  ct->nat_sport);
	if (ret)
		return ret;
	stats_add(ct->service_id, STAT_PACKET, skb->len);
	return SVCD_R_REVERSE;
}

/* Steps 11-12: remember the flow both ways. */
static __always_inline int ct_create(const struct flow4 *f,
				     const struct svcd_frontend_value *fe,
				     const struct svcd_backend *be,
				     __u32 backend_id, __u64 now,
				     struct svcd_ct_value *fwd)
{
	struct svcd_ct_value rev = {};
	struct svcd_ct_key key;
	bool hairpin = be->addr == f->saddr;

	fwd->nat_saddr = hairpin ? f->daddr : f->saddr;
	fwd->nat_sport = f->sport;
	fwd->nat_daddr = be->addr;
	fwd->nat_dport = be->port;
	fwd->backend_id = backend_id;
	fwd->service_id = fe->service_id;
	fwd->flags = hairpin ? SVCD_CT_SNAT : 0;
	fwd->tcp_state = f->proto == IPPROTO_TCP ? SVCD_TCP_SYN_SENT :
						   SVCD_TCP_NONE;
	if (f->proto == IPPROTO_TCP && (f->tcp_flags & (TCP_FIN | TCP_RST)))
		fwd->tcp_state = SVCD_TCP_CLOSING;
	fwd->created_ns = now;
	fwd->last_seen_ns = now;

	rev = *fwd;
	rev.nat_saddr = f->saddr;
	rev.nat_sport = f->sport;
	rev.nat_daddr = f->daddr;
	rev.nat_dport = f->dport;

	/* The reverse entry first: once the forward one exists, a reply can
	 * come back at any moment. */
	key.saddr = be->addr;
	key.sport = be->port;
	key.daddr = fwd->nat_saddr;
	key.dport = fwd->nat_sport;
	key.proto = f->proto;
	key.dir = SVCD_CT_REVERSE;
	key.pad = 0;
	if (bpf_map_update_elem(&svcd_conntrack, &key, &rev, BPF_ANY))
		return -SVCD_R_DROP_CT_FULL;
	ct_key_of(f, SVCD_CT_FORWARD, &key);
	if (bpf_map_update_elem(&svcd_conntrack, &key, fwd, BPF_ANY))
		return -SVCD_R_DROP_CT_FULL;
	return 0;
}

/* Steps 7-13. */
static __always_inline int forward_nat(struct __sk_buff *skb,
				       const struct flow4 *f, __u64 now)
{
	struct svcd_frontend_value *fe_ptr, fe;
	struct svcd_ct_value *ct, new_ct;
	struct svcd_backend *be;
	struct svcd_ct_key key;
	__u32 backend_id = 0;
	int ret;

	fe_ptr = lb_lookup_frontend(f, SVCD_SCOPE_INTERNAL);
	if (!fe_ptr)
		return -SVCD_R_PASS_NOT_OURS;
	/* One copy: slot_count and rev of the same revision. */
	fe = *fe_ptr;

	ct_key_of(f, SVCD_CT_FORWARD, &key);
	ct = bpf_map_lookup_elem(&svcd_conntrack, &key);
	if (ct && ct_is_live(ct, f, now)) {
		ct_touch(ct, f, false, now);
		goto rewrite;
	}

	if (fe.slot_count == 0) {
		stats_add(fe.service_id, STAT_NO_BACKEND, 0);
		if (fe.flags & SVCD_FE_EMPTY_DROP)
			return -SVCD_R_DROP_NO_LOCAL;
		ret = refuse_icmp(skb, f);
		if (ret)
			return ret;
		return SVCD_R_REFUSED;
	}
	be = lb_select_backend(&fe, &backend_id);
	if (!be)
		return -SVCD_R_DROP_NO_SLOT;
	ret = ct_create(f, &fe, be, backend_id, now, &new_ct);
	if (ret) {
		stats_add(fe.service_id, STAT_MAP_FULL, 0);
		return ret;
	}
	stats_add(fe.service_id, STAT_NEW_FLOW, 0);
	ct = &new_ct;

rewrite:
	ret = nat_rewrite(skb, f, ct->nat_saddr, ct->nat_sport, ct->nat_daddr,
			  ct->nat_dport);
	if (ret)
		return ret;
	stats_add(ct->service_id, STAT_PACKET, skb->len);
	return SVCD_R_FORWARD;
}

/* The one place a reason becomes an action, and is counted. */
static __always_inline int tc_verdict(struct __sk_buff *skb, int ret)
{
	int reason = ret < 0 ? -ret : ret;

	stats_reason(reason);
	switch (reason) {
	case SVCD_R_REFUSED:
		return bpf_redirect(skb->ifindex, 0);
	case SVCD_R_DROP_NO_SLOT:
	case SVCD_R_DROP_CT_FULL:
	case SVCD_R_DROP_REWRITE:
	case SVCD_R_DROP_NO_LOCAL:
		return TC_ACT_SHOT;
	default:
		return TC_ACT_OK;
	}
}

SEC("tc")
int from_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	__u64 now = bpf_ktime_get_ns();
	struct flow4 f = {};
	int ret;

	ret = parse_flow4(data, data_end, &f);
	if (ret < 0)
		return tc_verdict(skb, ret);
	ret = reverse_nat(skb, &f, now);
	if (ret != -SVCD_R_PASS_NOT_OURS)
		return tc_verdict(skb, ret);
	return tc_verdict(skb, forward_nat(skb, &f, now));
}

SEC("tc")
int to_pod(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct flow4 f = {};
	int ret;

	ret = parse_flow4(data, data_end, &f);
	if (ret < 0)
		return tc_verdict(skb, ret);
	return tc_verdict(skb, reverse_nat(skb, &f, bpf_ktime_get_ns()));
}

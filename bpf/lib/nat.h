/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat.h - address and port rewriting on tc (struct __sk_buff) with
 * incremental L3/L4 checksum updates. The csum helpers also handle
 * CHECKSUM_PARTIAL packets (local senders on veth), where only the
 * pseudo-header sum is in the packet.
 */
#ifndef SVCD_BPF_NAT_H
#define SVCD_BPF_NAT_H

#include <stddef.h>

#include "parse.h"
#include "svc.h"

#define IP_CSUM_OFF(f) ((f)->l3_off + offsetof(struct iphdr, check))
#define IP_SADDR_OFF(f) ((f)->l3_off + offsetof(struct iphdr, saddr))
#define IP_DADDR_OFF(f) ((f)->l3_off + offsetof(struct iphdr, daddr))

static __always_inline __u32 l4_csum_off(const struct flow4 *f)
{
	if (f->proto == IPPROTO_TCP)
		return f->l4_off + offsetof(struct tcphdr, check);
	return f->l4_off + offsetof(struct udphdr, check);
}

/* UDP checksum 0 means "none": BPF_F_MARK_MANGLED_0 leaves it 0. */
static __always_inline __u64 l4_csum_flags(const struct flow4 *f)
{
	return f->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
}

/* The checksum updates of one address (L4 pseudo-header and IPv4 header)
 * and of one port; the bytes themselves are stored by the caller. */
static __always_inline int nat_csum_addr(struct __sk_buff *skb,
					 const struct flow4 *f, __be32 from,
					 __be32 to)
{
	if (from == to)
		return 0;
	if (bpf_l4_csum_replace(skb, l4_csum_off(f), from, to,
				BPF_F_PSEUDO_HDR | l4_csum_flags(f) |
					sizeof(to)))
		return -1;
	return bpf_l3_csum_replace(skb, IP_CSUM_OFF(f), from, to, sizeof(to));
}

static __always_inline int nat_csum_port(struct __sk_buff *skb,
					 const struct flow4 *f, __be16 from,
					 __be16 to)
{
	if (from == to)
		return 0;
	return bpf_l4_csum_replace(skb, l4_csum_off(f), from, to,
				   l4_csum_flags(f) | sizeof(to));
}

/*
 * Make the packet's tuple (saddr:sport -> daddr:dport) the given one:
 * the checksum helpers per changed field, then the bytes. Without IP
 * options the four fields are 12 adjacent bytes (saddr, daddr, then the
 * L4 ports), so when more than one changes (a reply from a backend whose
 * port is not the frontend's, a client's packet to such a backend) one
 * store writes them all, unchanged ones included, where each had its
 * own. One field, or IP options: a store per changed field.
 */
static __always_inline int nat_rewrite(struct __sk_buff *skb,
				       const struct flow4 *f, __be32 saddr,
				       __be16 sport, __be32 daddr, __be16 dport)
{
	struct {
		__be32 saddr;
		__be32 daddr;
		__be16 sport;
		__be16 dport;
	} tuple = { saddr, daddr, sport, dport };
	int changed = (saddr != f->saddr) + (daddr != f->daddr) +
		      (sport != f->sport) + (dport != f->dport);

	if (!changed)
		return 0;
	if (nat_csum_addr(skb, f, f->saddr, saddr) ||
	    nat_csum_addr(skb, f, f->daddr, daddr) ||
	    nat_csum_port(skb, f, f->sport, sport) ||
	    nat_csum_port(skb, f, f->dport, dport))
		return -SVCD_R_DROP_REWRITE;
	if (changed > 1 && f->ihl_bytes == sizeof(struct iphdr))
		return bpf_skb_store_bytes(skb, IP_SADDR_OFF(f), &tuple,
					   sizeof(tuple), 0) ?
			       -SVCD_R_DROP_REWRITE :
			       0;
	if ((saddr != f->saddr &&
	     bpf_skb_store_bytes(skb, IP_SADDR_OFF(f), &saddr, sizeof(saddr),
				 0)) ||
	    (daddr != f->daddr &&
	     bpf_skb_store_bytes(skb, IP_DADDR_OFF(f), &daddr, sizeof(daddr),
				 0)) ||
	    (sport != f->sport &&
	     bpf_skb_store_bytes(skb, f->l4_off, &sport, sizeof(sport), 0)) ||
	    (dport != f->dport &&
	     bpf_skb_store_bytes(skb, f->l4_off + 2, &dport, sizeof(dport), 0)))
		return -SVCD_R_DROP_REWRITE;
	return 0;
}

static __always_inline int nat_apply4(struct __sk_buff *skb,
				      const struct flow4 *f,
				      const struct nat_target4 *t)
{
	return nat_rewrite(skb, f, t->saddr, t->sport, t->daddr, t->dport);
}

/*
 * IPv6: no header checksum; both addresses are in the L4 pseudo-header.
 * They sit next to each other, so one diff over the 32 bytes, one
 * pseudo-header update of the L4 checksum (size 0: "by diff") and one
 * store cover both; the ports follow as for IPv4.
 */
static __always_inline int nat_apply6(struct __sk_buff *skb,
				      const struct flow6 *f,
				      const struct nat_target6 *t)
{
	union svcd_ip6 from[2] = { f->saddr, f->daddr };
	union svcd_ip6 to[2] = { t->saddr, t->daddr };
	__u32 l4_check = f->proto == IPPROTO_TCP ?
				 f->l4_off + offsetof(struct tcphdr, check) :
				 f->l4_off + offsetof(struct udphdr, check);
	__u64 mangled = f->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__s64 diff;

	if (!ip6_eq(&from[0], &to[0]) || !ip6_eq(&from[1], &to[1])) {
		diff = bpf_csum_diff((__be32 *)from, sizeof(from), (__be32 *)to,
				     sizeof(to), 0);
		if (diff < 0)
			return -SVCD_R_DROP_REWRITE;
		if (bpf_l4_csum_replace(skb, l4_check, 0, (__u32)diff,
					BPF_F_PSEUDO_HDR | mangled) ||
		    bpf_skb_store_bytes(
			    skb, f->l3_off + offsetof(struct ipv6hdr, saddr),
			    to, sizeof(to), 0))
			return -SVCD_R_DROP_REWRITE;
	}
	if (t->sport != f->sport &&
	    (bpf_l4_csum_replace(skb, l4_check, f->sport, t->sport,
				 mangled | sizeof(t->sport)) ||
	     bpf_skb_store_bytes(skb, f->l4_off, &t->sport, sizeof(t->sport),
				 0)))
		return -SVCD_R_DROP_REWRITE;
	if (t->dport != f->dport &&
	    (bpf_l4_csum_replace(skb, l4_check, f->dport, t->dport,
				 mangled | sizeof(t->dport)) ||
	     bpf_skb_store_bytes(skb, f->l4_off + 2, &t->dport,
				 sizeof(t->dport), 0)))
		return -SVCD_R_DROP_REWRITE;
	return 0;
}

#endif

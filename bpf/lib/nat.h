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

/* Rewrite one address (saddr or daddr) and fix both checksums. */
static __always_inline int nat_addr(struct __sk_buff *skb,
				    const struct flow4 *f, __u32 off,
				    __be32 from, __be32 to)
{
	int ret;

	if (from == to)
		return 0;
	ret = bpf_l4_csum_replace(skb, l4_csum_off(f), from, to,
				  BPF_F_PSEUDO_HDR | l4_csum_flags(f) |
					  sizeof(to));
	if (ret)
		return ret;
	ret = bpf_l3_csum_replace(skb, IP_CSUM_OFF(f), from, to, sizeof(to));
	if (ret)
		return ret;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0);
}

/* Rewrite one port (at l4_off + 0 for source, + 2 for destination). */
static __always_inline int nat_port(struct __sk_buff *skb,
				    const struct flow4 *f, __u32 off,
				    __be16 from, __be16 to)
{
	int ret;

	if (from == to)
		return 0;
	ret = bpf_l4_csum_replace(skb, l4_csum_off(f), from, to,
				  l4_csum_flags(f) | sizeof(to));
	if (ret)
		return ret;
	return bpf_skb_store_bytes(skb, off, &to, sizeof(to), 0);
}

/* Make the packet's tuple (saddr:sport -> daddr:dport) the given one. */
static __always_inline int nat_rewrite(struct __sk_buff *skb,
				       const struct flow4 *f, __be32 saddr,
				       __be16 sport, __be32 daddr, __be16 dport)
{
	if (nat_addr(skb, f, IP_SADDR_OFF(f), f->saddr, saddr) ||
	    nat_addr(skb, f, IP_DADDR_OFF(f), f->daddr, daddr) ||
	    nat_port(skb, f, f->l4_off, f->sport, sport) ||
	    nat_port(skb, f, f->l4_off + 2, f->dport, dport))
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

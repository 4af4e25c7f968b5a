/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * nat_xdp.h - address and port rewriting with direct packet access and
 * incremental checksums (RFC 1624), for XDP where no csum helpers exist
 * and no CHECKSUM_PARTIAL packet is ever seen.
 */
#ifndef SVCD_BPF_NAT_XDP_H
#define SVCD_BPF_NAT_XDP_H

#include "parse.h"
#include "svc.h"

static __always_inline __u16 csum16_add(__u16 a, __u16 b)
{
	__u32 sum = (__u32)a + b;

	return (__u16)((sum & 0xffff) + (sum >> 16));
}

/* HC' = ~(~HC + ~m + m') for one 16-bit word m -> m'. */
static __always_inline void csum_replace2(__sum16 *sum, __u16 from, __u16 to)
{
	__u16 s = ~*sum;

	s = csum16_add(s, ~from);
	s = csum16_add(s, to);
	*sum = ~s;
}

static __always_inline void csum_replace4(__sum16 *sum, __be32 from, __be32 to)
{
	csum_replace2(sum, (__u16)from, (__u16)to);
	csum_replace2(sum, (__u16)(from >> 16), (__u16)(to >> 16));
}

/*
 * Rewrite the tuple in place. Packet pointers are derived here from
 * (data, data_end) and the parse offsets; returns 0 or a negative reason.
 */
static __always_inline int nat_rewrite_xdp(void *data, void *data_end,
					   const struct flow4 *f, __be32 saddr,
					   __be16 sport, __be32 daddr,
					   __be16 dport)
{
	struct iphdr *ip = data + sizeof(struct ethhdr);
	__sum16 *l4_check;
	__be16 *ports;
	bool l4_csum;

	/* verifier: a packet pointer plus a variable offset only gets a
	 * range when offset + access stays below 64 KiB, so the __u16
	 * offsets are narrowed (L4 starts at most 14 + 60 bytes in). The
	 * IPv4 header follows an untagged Ethernet header (parse_flow4). */
	if ((void *)(ip + 1) > data_end)
		return -SVCD_R_DROP_REWRITE;
	ports = data + (f->l4_off & 0x7f);
	if ((void *)(ports + 2) > data_end)
		return -SVCD_R_DROP_REWRITE;
	if (f->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)ports;

		if ((void *)(tcp + 1) > data_end)
			return -SVCD_R_DROP_REWRITE;
		l4_check = &tcp->check;
		l4_csum = true;
	} else {
		struct udphdr *udp = (void *)ports;

		if ((void *)(udp + 1) > data_end)
			return -SVCD_R_DROP_REWRITE;
		l4_check = &udp->check;
		l4_csum = udp->check != 0; /* 0: no checksum, keep it so */
	}

	if (l4_csum) {
		csum_replace4(l4_check, ip->saddr, saddr);
		csum_replace4(l4_check, ip->daddr, daddr);
		csum_replace2(l4_check, ports[0], sport);
		csum_replace2(l4_check, ports[1], dport);
		if (f->proto == IPPROTO_UDP && !*l4_check)
			*l4_check = 0xffff; /* 0 would mean "none" */
	}
	csum_replace4(&ip->check, ip->saddr, saddr);
	csum_replace4(&ip->check, ip->daddr, daddr);
	ip->saddr = saddr;
	ip->daddr = daddr;
	ports[0] = sport;
	ports[1] = dport;
	return 0;
}

static __always_inline int nat_apply_xdp4(void *data, void *data_end,
					  const struct flow4 *f,
					  const struct nat_target4 *t)
{
	return nat_rewrite_xdp(data, data_end, f, t->saddr, t->sport, t->daddr,
			       t->dport);
}

/* RFC 1624 over the eight 16-bit words of an IPv6 address. */
static __always_inline void csum_replace16(__sum16 *sum,
					   const union svcd_ip6 *from,
					   const union svcd_ip6 *to)
{
	int i;

	for (i = 0; i < 8; i++)
		csum_replace2(sum, from->h[i], to->h[i]);
}

/*
 * IPv6: no header checksum, the addresses are in the L4 pseudo-header.
 * UDP always carries a checksum (parse_flow6 passes a zero one), and a
 * result of 0 is sent as 0xffff.
 */
static __always_inline int nat_apply_xdp6(void *data, void *data_end,
					  const struct flow6 *f,
					  const struct nat_target6 *t)
{
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);
	union svcd_ip6 *addrs;
	__sum16 *l4_check;
	__be16 *ports;

	/* verifier: as nat_rewrite_xdp; extension headers put L4 at most
	 * 14 + 40 + 4 * 2048 bytes in, so 14 bits of offset are kept. */
	if ((void *)(ip6 + 1) > data_end)
		return -SVCD_R_DROP_REWRITE;
	addrs = (union svcd_ip6 *)&ip6->saddr;
	ports = data + (f->l4_off & 0x3fff);
	if (f->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = (void *)ports;

		if ((void *)(tcp + 1) > data_end)
			return -SVCD_R_DROP_REWRITE;
		l4_check = &tcp->check;
	} else {
		struct udphdr *udp = (void *)ports;

		if ((void *)(udp + 1) > data_end)
			return -SVCD_R_DROP_REWRITE;
		l4_check = &udp->check;
	}
	csum_replace16(l4_check, &addrs[0], &t->saddr);
	csum_replace16(l4_check, &addrs[1], &t->daddr);
	csum_replace2(l4_check, ports[0], t->sport);
	csum_replace2(l4_check, ports[1], t->dport);
	if (f->proto == IPPROTO_UDP && !*l4_check)
		*l4_check = 0xffff;
	addrs[0] = t->saddr;
	addrs[1] = t->daddr;
	ports[0] = t->sport;
	ports[1] = t->dport;
	return 0;
}

#endif

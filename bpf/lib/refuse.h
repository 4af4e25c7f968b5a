/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * refuse.h - turn a packet to a frontend without backends into its
 * refusal, in place: a TCP segment into a RST (refuse_rst4/6, below: why
 * not ICMP is explained there), a UDP datagram into the ICMP port
 * unreachable that kube-proxy's REJECT rule would send:
 *
 *   before: eth | ip (20) | l4 ...
 *   after:  eth' | ip' (20) | icmp (8) | ip (20) | quoted l4
 *
 * eth' has the MACs swapped, ip' goes from the frontend to the client.
 * The quoted header stays where it was: bpf_skb_adjust_room(MAC) opens the
 * 28 bytes for ip' and icmp right after the Ethernet header.
 *
 * The quote is the IPv4 header and 8 bytes of UDP, or the first 20 bytes
 * of TCP: a locally sent SYN is CHECKSUM_PARTIAL, and the kernel refuses
 * to trim such a packet short of its L4 checksum field (bytes 16-17 of
 * TCP). RFC 1812 allows quoting more than 8 bytes. The packet stays
 * CHECKSUM_PARTIAL, which the pod's veth peer takes as verified.
 *
 * IPv6 the same way: ICMPv6 destination unreachable, code 4 (port
 * unreachable), quoting the IPv6 header and the same 8 or 20 L4 bytes:
 *
 *   after:  eth' | ip6' (40) | icmp6 (8) | ip6 (40) | quoted l4
 *
 * The ICMPv6 checksum covers a pseudo-header (both addresses, length,
 * next header 58). A packet with extension headers is dropped instead
 * (as IPv4 with options): the quote would have a variable length.
 */
#ifndef SVCD_BPF_REFUSE_H
#define SVCD_BPF_REFUSE_H

#include "parse.h"

/* linux/icmp.h pulls in libc's socket headers, which a BPF build lacks. */
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 unused;
};

#define REFUSE_QUOTE_UDP (sizeof(struct iphdr) + 8)
#define REFUSE_QUOTE_TCP (sizeof(struct iphdr) + 20)
#define REFUSE_GROW (sizeof(struct iphdr) + sizeof(struct icmphdr))

struct refuse_hdrs {
	struct iphdr ip;
	struct icmphdr icmp;
};

static __always_inline __u16 csum_fold(__u32 csum)
{
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return (__u16)~csum;
}

/* quote_len is a constant at each call site, so every size is one. */
static __always_inline int refuse_icmp_quote(struct __sk_buff *skb,
					     const struct flow4 *f,
					     const __u32 quote_len)
{
	__u32 quote[REFUSE_QUOTE_TCP / 4];
	struct refuse_hdrs h = {};
	struct ethhdr eth, new_eth;
	__s64 csum;

	/* Quoting options would make every length variable; a SYN with IP
	 * options to a frontend without backends is dropped instead. */
	if (f->l3_off != sizeof(struct ethhdr) ||
	    f->ihl_bytes != sizeof(struct iphdr))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_change_tail(skb, sizeof(eth) + quote_len, 0))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_adjust_room(skb, REFUSE_GROW, BPF_ADJ_ROOM_MAC, 0))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_load_bytes(skb, sizeof(eth) + sizeof(h), quote, quote_len))
		return -SVCD_R_DROP_REWRITE;

	__builtin_memcpy(new_eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(new_eth.h_source, eth.h_dest, ETH_ALEN);
	new_eth.h_proto = bpf_htons(ETH_P_IP);
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tot_len = bpf_htons(sizeof(h.ip) + sizeof(h.icmp) + quote_len);
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_ICMP;
	h.ip.saddr = f->daddr;
	h.ip.daddr = f->saddr;
	h.icmp.type = ICMP_DEST_UNREACH;
	h.icmp.code = ICMP_PORT_UNREACH;

	csum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	h.ip.check = csum_fold((__u32)csum);
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp), 0);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)quote, quote_len, (__u32)csum);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	h.icmp.checksum = csum_fold((__u32)csum);

	if (bpf_skb_store_bytes(skb, 0, &new_eth, sizeof(new_eth), 0) ||
	    bpf_skb_store_bytes(skb, sizeof(new_eth), &h, sizeof(h), 0))
		return -SVCD_R_DROP_REWRITE;
	return 0;
}

#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PORT_UNREACH 4

#define REFUSE6_QUOTE_UDP (sizeof(struct ipv6hdr) + 8)
#define REFUSE6_QUOTE_TCP (sizeof(struct ipv6hdr) + 20)

struct refuse6_hdrs {
	struct ipv6hdr ip;
	struct icmphdr icmp; /* the same 8 bytes: type, code, sum, unused */
};

#define REFUSE6_GROW sizeof(struct refuse6_hdrs)

/* The ICMPv6 checksum's pseudo-header (RFC 8200 8.1). */
struct icmp6_pseudo {
	union svcd_ip6 saddr;
	union svcd_ip6 daddr;
	__be32 len;
	__u8 zero[3];
	__u8 nexthdr;
};

static __always_inline int refuse_icmp6_quote(struct __sk_buff *skb,
					      const struct flow6 *f,
					      const __u32 quote_len)
{
	__u32 quote[REFUSE6_QUOTE_TCP / 4];
	struct refuse6_hdrs h = {};
	struct icmp6_pseudo ph = {};
	struct ethhdr eth, new_eth;
	__s64 csum;

	if (f->l3_off != sizeof(struct ethhdr) ||
	    f->l4_off != sizeof(struct ethhdr) + sizeof(struct ipv6hdr))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_change_tail(skb, sizeof(eth) + quote_len, 0))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_adjust_room(skb, REFUSE6_GROW, BPF_ADJ_ROOM_MAC, 0))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_load_bytes(skb, sizeof(eth) + sizeof(h), quote, quote_len))
		return -SVCD_R_DROP_REWRITE;

	__builtin_memcpy(new_eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(new_eth.h_source, eth.h_dest, ETH_ALEN);
	new_eth.h_proto = bpf_htons(ETH_P_IPV6);
	h.ip.version = 6;
	h.ip.payload_len = bpf_htons(sizeof(h.icmp) + quote_len);
	h.ip.nexthdr = NEXTHDR_ICMP;
	h.ip.hop_limit = 64;
	__builtin_memcpy(&h.ip.saddr, &f->daddr, sizeof(f->daddr));
	__builtin_memcpy(&h.ip.daddr, &f->saddr, sizeof(f->saddr));
	h.icmp.type = ICMPV6_DEST_UNREACH;
	h.icmp.code = ICMPV6_PORT_UNREACH;

	ph.saddr = f->daddr;
	ph.daddr = f->saddr;
	ph.len = bpf_htonl(sizeof(h.icmp) + quote_len);
	ph.nexthdr = NEXTHDR_ICMP;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&h.icmp, sizeof(h.icmp),
			     (__u32)csum);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)quote, quote_len, (__u32)csum);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	h.icmp.checksum = csum_fold((__u32)csum);

	if (bpf_skb_store_bytes(skb, 0, &new_eth, sizeof(new_eth), 0) ||
	    bpf_skb_store_bytes(skb, sizeof(new_eth), &h, sizeof(h), 0))
		return -SVCD_R_DROP_REWRITE;
	return 0;
}

/* linux/tcp.h's flag bits, byte 13 of the header. */
#define REFUSE_TCP_FIN 0x01
#define REFUSE_TCP_SYN 0x02
#define REFUSE_TCP_RST 0x04
#define REFUSE_TCP_ACK 0x10

/*
 * IPv6 TCP is refused with a RST, as Linux's tcp_v6_send_reset() would
 * answer a segment for a closed port, built in place:
 *
 *   before: eth | ip6 (40) | tcp (20 + options) | payload
 *   after:  eth' | ip6' (40) | tcp' (20)
 *
 * ip6' goes from the frontend to the client, hop limit 64; tcp' from the
 * frontend port to the client port, no options, window 0. To a segment
 * without ACK (a SYN): RST+ACK, seq 0, ack = seq + payload + SYN + FIN.
 * To one with ACK: RST, seq = its ack. A RST is not answered (dropped).
 *
 * Why not ICMPv6: the SYN's error comes back while connect() still owns
 * the socket, tcp_v6_err() only records it as a soft error (TcpExt
 * LockDroppedIcmps), and connect() fails at the SYN's retransmission,
 * 1 s later. A RST to an owned SYN_SENT socket goes to its backlog and
 * fails connect() with ECONNREFUSED when it releases the socket: at once.
 *
 * The headers keep their offsets, so a locally sent SYN, which is
 * CHECKSUM_PARTIAL (csum_start at the TCP header, the field holding the
 * pseudo-header sum), stays valid as one: the field is stored as the new
 * pseudo-header sum, then bpf_l4_csum_replace() without BPF_F_PSEUDO_HDR
 * adds (pseudo-header + header) - field. That helper leaves a
 * CHECKSUM_PARTIAL field alone and turns any other into the full
 * checksum: right for the pod's stack either way, and for the prog
 * tests' CHECKSUM_NONE packets byte for byte.
 */
/* The RST's TCP header, from the refused segment's (l4_len: its TCP
 * header and payload); the checksum is left to refuse_rst_csum(). */
static __always_inline int refuse_rst_tcp(struct __sk_buff *skb, __u32 tcp_off,
					  __u32 l4_len, struct tcphdr *rst)
{
	struct tcphdr th;
	__u32 seg_len;

	if (bpf_skb_load_bytes(skb, tcp_off, &th, sizeof(th)))
		return -SVCD_R_DROP_REWRITE;
	if (th.rst || l4_len < th.doff * 4U)
		return -SVCD_R_DROP_REWRITE;
	seg_len = l4_len - th.doff * 4U + th.syn + th.fin;

	__builtin_memset(rst, 0, sizeof(*rst));
	rst->source = th.dest;
	rst->dest = th.source;
	rst->doff = sizeof(*rst) / 4;
	rst->rst = 1;
	if (th.ack) {
		rst->seq = th.ack_seq;
	} else {
		rst->ack = 1;
		rst->ack_seq = bpf_htonl(bpf_ntohl(th.seq) + seg_len);
	}
	return 0;
}

/* psum: the pseudo-header's bpf_csum_diff(). Called with the headers
 * stored and the field = ~csum_fold(psum) (the pseudo-header sum, as a
 * CHECKSUM_PARTIAL packet has it); for any other packet the field
 * becomes ~(pseudo + header): bpf_l4_csum_replace() computes
 * ~(~field + diff), so diff = pseudo + header + field. */
static __always_inline int refuse_rst_csum(struct __sk_buff *skb, __u32 tcp_off,
					   __u32 psum, const struct tcphdr *rst)
{
	__be32 sums[2] = { psum, psum };
	struct tcphdr th = *rst;
	__s64 csum;

	th.check = 0;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&th, sizeof(th), 0);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	csum = bpf_csum_diff(NULL, 0, sums, sizeof(sums), (__u32)csum);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	if (bpf_l4_csum_replace(
		    skb, tcp_off + __builtin_offsetof(struct tcphdr, check), 0,
		    (__u32)csum, 0))
		return -SVCD_R_DROP_REWRITE;
	return 0;
}

struct refuse_rst4 {
	struct iphdr ip;
	struct tcphdr tcp;
};

/* The TCP checksum's IPv4 pseudo-header (RFC 793). */
struct tcp4_pseudo {
	__be32 saddr;
	__be32 daddr;
	__u8 zero;
	__u8 proto;
	__be16 len;
};

/* IPv4 TCP the same way: eth' | ip' (20, no options, id 0) | tcp' (20). */
static __always_inline int refuse_rst4(struct __sk_buff *skb,
				       const struct flow4 *f)
{
	const __u32 tcp_off = sizeof(struct ethhdr) + sizeof(struct iphdr);
	struct refuse_rst4 h = {};
	struct tcp4_pseudo ph = {};
	struct ethhdr eth, new_eth;
	__s64 csum;

	if (f->l3_off != sizeof(struct ethhdr) || f->l4_off != tcp_off ||
	    f->ihl_bytes != sizeof(struct iphdr) ||
	    f->ip_len < sizeof(struct iphdr))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return -SVCD_R_DROP_REWRITE;
	if (refuse_rst_tcp(skb, tcp_off, f->ip_len - sizeof(struct iphdr),
			   &h.tcp))
		return -SVCD_R_DROP_REWRITE;

	__builtin_memcpy(new_eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(new_eth.h_source, eth.h_dest, ETH_ALEN);
	new_eth.h_proto = bpf_htons(ETH_P_IP);
	h.ip.version = 4;
	h.ip.ihl = 5;
	h.ip.tot_len = bpf_htons(sizeof(h));
	h.ip.ttl = 64;
	h.ip.protocol = IPPROTO_TCP;
	h.ip.saddr = f->daddr;
	h.ip.daddr = f->saddr;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&h.ip, sizeof(h.ip), 0);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	h.ip.check = csum_fold((__u32)csum);

	ph.saddr = f->daddr;
	ph.daddr = f->saddr;
	ph.proto = IPPROTO_TCP;
	ph.len = bpf_htons(sizeof(h.tcp));
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	h.tcp.check = (__sum16)~csum_fold((__u32)csum);

	/* 20 bytes of TCP: as short as a CHECKSUM_PARTIAL packet trims */
	if (bpf_skb_change_tail(skb, tcp_off + sizeof(h.tcp), 0))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_store_bytes(skb, 0, &new_eth, sizeof(new_eth), 0) ||
	    bpf_skb_store_bytes(skb, sizeof(new_eth), &h, sizeof(h), 0))
		return -SVCD_R_DROP_REWRITE;
	return refuse_rst_csum(skb, tcp_off, (__u32)csum, &h.tcp);
}

struct refuse6_rst {
	struct ipv6hdr ip;
	struct tcphdr tcp;
};

static __always_inline int refuse_rst6(struct __sk_buff *skb,
				       const struct flow6 *f)
{
	const __u32 tcp_off = sizeof(struct ethhdr) + sizeof(struct ipv6hdr);
	struct refuse6_rst h = {};
	struct icmp6_pseudo ph = {};
	struct ethhdr eth, new_eth;
	__s64 csum;

	if (f->l3_off != sizeof(struct ethhdr) || f->l4_off != tcp_off ||
	    f->ip_len < sizeof(struct ipv6hdr))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)))
		return -SVCD_R_DROP_REWRITE;
	/* ip_len is 40 + payload length, parsed and bounded by the packet */
	if (refuse_rst_tcp(skb, tcp_off, f->ip_len - sizeof(struct ipv6hdr),
			   &h.tcp))
		return -SVCD_R_DROP_REWRITE;

	__builtin_memcpy(new_eth.h_dest, eth.h_source, ETH_ALEN);
	__builtin_memcpy(new_eth.h_source, eth.h_dest, ETH_ALEN);
	new_eth.h_proto = bpf_htons(ETH_P_IPV6);
	h.ip.version = 6;
	h.ip.payload_len = bpf_htons(sizeof(h.tcp));
	h.ip.nexthdr = IPPROTO_TCP;
	h.ip.hop_limit = 64;
	__builtin_memcpy(&h.ip.saddr, &f->daddr, sizeof(f->daddr));
	__builtin_memcpy(&h.ip.daddr, &f->saddr, sizeof(f->saddr));

	ph.saddr = f->daddr;
	ph.daddr = f->saddr;
	ph.len = bpf_htonl(sizeof(h.tcp));
	ph.nexthdr = IPPROTO_TCP;
	csum = bpf_csum_diff(NULL, 0, (__be32 *)&ph, sizeof(ph), 0);
	if (csum < 0)
		return -SVCD_R_DROP_REWRITE;
	h.tcp.check = (__sum16)~csum_fold((__u32)csum);

	if (bpf_skb_change_tail(skb, tcp_off + sizeof(h.tcp), 0))
		return -SVCD_R_DROP_REWRITE;
	if (bpf_skb_store_bytes(skb, 0, &new_eth, sizeof(new_eth), 0) ||
	    bpf_skb_store_bytes(skb, sizeof(new_eth), &h, sizeof(h), 0))
		return -SVCD_R_DROP_REWRITE;
	return refuse_rst_csum(skb, tcp_off, (__u32)csum, &h.tcp);
}

/* Returns 0 when the packet is now the RST or ICMP error, ready to
 * redirect back. */
static __always_inline int refuse4(struct __sk_buff *skb, const struct flow4 *f)
{
	if (f->proto == IPPROTO_TCP)
		return refuse_rst4(skb, f);
	return refuse_icmp_quote(skb, f, REFUSE_QUOTE_UDP);
}

/* Returns 0 when the packet is now the RST or ICMPv6 error. */
static __always_inline int refuse6(struct __sk_buff *skb, const struct flow6 *f)
{
	if (f->proto == IPPROTO_TCP)
		return refuse_rst6(skb, f);
	return refuse_icmp6_quote(skb, f, REFUSE6_QUOTE_UDP);
}

#endif

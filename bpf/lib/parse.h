/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - header parsing with a cursor. Each parse_<header>() checks its
 * own bounds and returns the next protocol, or a negative svcd_reason.
 * Works on any (data, data_end) pair, so XDP and tc share it.
 *
 * struct flow4 and struct flow6 carry the same field names (only the
 * address type differs), so the family template svc_af.h reads either.
 */
#ifndef SVCD_BPF_PARSE_H
#define SVCD_BPF_PARSE_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "svcd_abi.h"

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

struct cursor {
	void *pos;
	void *end;
};

/* What the datapath needs of an IPv4 TCP/UDP packet, offsets from data. */
struct flow4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags; /* TCP_FLAG_* below; 0 for UDP */
	__u16 l3_off;
	__u16 l4_off;
	__u16 ihl_bytes;
	__u16 ip_len; /* tot_len, host order */
	__be16 udp_check;
};

/* The same for IPv6. l4_off may lie past extension headers. */
struct flow6 {
	union svcd_ip6 saddr;
	union svcd_ip6 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u16 l3_off;
	__u16 l4_off;
	__u16 ip_len; /* 40 + payload_len, host order (bpf_fib_lookup) */
	__be16 udp_check;
};

static __always_inline bool ip6_eq(const union svcd_ip6 *a,
				   const union svcd_ip6 *b)
{
	return ((a->w[0] ^ b->w[0]) | (a->w[1] ^ b->w[1]) |
		(a->w[2] ^ b->w[2]) | (a->w[3] ^ b->w[3])) == 0;
}

static __always_inline bool ip6_is_zero(const union svcd_ip6 *a)
{
	return (a->w[0] | a->w[1] | a->w[2] | a->w[3]) == 0;
}

/* Extension headers walked before giving up (docs/datapath.md). */
#define IPV6_MAX_EXT_HDRS 4

#ifndef NEXTHDR_HOP
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_ICMP 58
#define NEXTHDR_NONE 59
#define NEXTHDR_DEST 60
#endif

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static __always_inline int parse_ipv4(struct cursor *c, struct flow4 *f)
{
	struct iphdr *ip = c->pos;
	__u32 ihl;

	if ((void *)(ip + 1) > c->end)
		return -SVCD_R_PASS_MALFORMED;
	ihl = ip->ihl * 4;
	if (ip->version != 4 || ihl < sizeof(*ip))
		return -SVCD_R_PASS_MALFORMED;
	if (c->pos + ihl > c->end)
		return -SVCD_R_PASS_MALFORMED;
	if (bpf_ntohs(ip->tot_len) < ihl)
		return -SVCD_R_PASS_MALFORMED;
	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->proto = ip->protocol;
	f->ihl_bytes = ihl;
	f->ip_len = bpf_ntohs(ip->tot_len);
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return -SVCD_R_PASS_OTHER_PROTO;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return -SVCD_R_PASS_FRAGMENT;
	c->pos += ihl;
	return ip->protocol;
}

/* TCP or UDP ports and flags, into the fields of either flow type. */
struct l4_fields {
	__be16 *sport;
	__be16 *dport;
	__u8 *tcp_flags;
	__be16 *udp_check;
};

static __always_inline int parse_tcp(struct cursor *c,
				     const struct l4_fields *l4)
{
	struct tcphdr *tcp = c->pos;
	__u32 doff;

	if ((void *)(tcp + 1) > c->end)
		return -SVCD_R_PASS_MALFORMED;
	doff = tcp->doff * 4;
	if (doff < sizeof(*tcp) || c->pos + doff > c->end)
		return -SVCD_R_PASS_MALFORMED;
	*l4->sport = tcp->source;
	*l4->dport = tcp->dest;
	*l4->tcp_flags = ((__u8 *)tcp)[13];
	c->pos += doff;
	return 0;
}

static __always_inline int parse_udp(struct cursor *c,
				     const struct l4_fields *l4)
{
	struct udphdr *udp = c->pos;

	if ((void *)(udp + 1) > c->end)
		return -SVCD_R_PASS_MALFORMED;
	*l4->sport = udp->source;
	*l4->dport = udp->dest;
	*l4->udp_check = udp->check;
	*l4->tcp_flags = 0;
	c->pos = udp + 1;
	return 0;
}

#define L4_FIELDS_OF(f)                                                    \
	{                                                                  \
		.sport = &(f)->sport, .dport = &(f)->dport,                \
		.tcp_flags = &(f)->tcp_flags, .udp_check = &(f)->udp_check \
	}

/*
 * Parse IPv4 + TCP/UDP behind the Ethernet header, whose ethertype the
 * entry point read (eth_proto(): one Ethernet parse per packet); the IP
 * header's bounds check covers the Ethernet header's. Returns 0 with *f
 * filled, or a negative svcd_reason saying why the packet is not one the
 * datapath translates.
 */
static __always_inline int parse_flow4(void *data, void *data_end,
				       struct flow4 *f)
{
	struct cursor c = { .pos = data + sizeof(struct ethhdr),
			    .end = data_end };
	struct l4_fields l4 = L4_FIELDS_OF(f);
	int ret;

	f->l3_off = sizeof(struct ethhdr);
	ret = parse_ipv4(&c, f);
	if (ret < 0)
		return ret;
	f->l4_off = (__u16)(c.pos - data);
	if (ret == IPPROTO_TCP)
		ret = parse_tcp(&c, &l4);
	else
		ret = parse_udp(&c, &l4);
	/* tot_len must hold the headers parsed, as it must hold ihl: the
	 * stack trims a packet to it, so a shorter one is malformed. (Past
	 * data_end is no sign: a non-linear skb's head ends there.) */
	if (!ret && (__u32)(c.pos - data) > (__u32)f->l3_off + f->ip_len)
		return -SVCD_R_PASS_MALFORMED;
	return ret;
}

/*
 * IPv6 header and up to IPV6_MAX_EXT_HDRS hop-by-hop, routing and
 * destination options headers. ICMPv6 (neighbour discovery ...), "no next
 * header" and a few other upper-layer protocols pass as OTHER_PROTO. A
 * fragment header, an unknown next header, or one extension header more
 * than walked: -SVCD_R_PASS_EXT_HDR, the packet passes untranslated (never
 * half-translated: a port may sit in a later fragment, an unknown header
 * may be an extension header with the real L4 behind it).
 */
static __always_inline int parse_ipv6(struct cursor *c, struct flow6 *f)
{
	struct ipv6hdr *ip6 = c->pos;
	struct ipv6_opt_hdr *opt;
	__u8 nh;
	int i;

	if ((void *)(ip6 + 1) > c->end)
		return -SVCD_R_PASS_MALFORMED;
	if (ip6->version != 6)
		return -SVCD_R_PASS_MALFORMED;
	__builtin_memcpy(&f->saddr, &ip6->saddr, sizeof(f->saddr));
	__builtin_memcpy(&f->daddr, &ip6->daddr, sizeof(f->daddr));
	f->ip_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	nh = ip6->nexthdr;
	c->pos = ip6 + 1;
	for (i = 0; i < IPV6_MAX_EXT_HDRS; i++) {
		if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING &&
		    nh != NEXTHDR_DEST)
			break;
		opt = c->pos;
		if ((void *)(opt + 1) > c->end)
			return -SVCD_R_PASS_MALFORMED;
		nh = opt->nexthdr;
		/* verifier: at most 2 KiB per header, 4 headers: the cursor
		 * stays a bounded packet offset */
		c->pos += ((__u32)opt->hdrlen + 1) * 8;
	}
	f->proto = nh;
	switch (nh) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		return nh;
	/* Upper-layer protocols known not to be extension headers. */
	case NEXTHDR_ICMP:
	case NEXTHDR_NONE:
	case IPPROTO_SCTP:
	case IPPROTO_UDPLITE:
	case IPPROTO_GRE:
	case IPPROTO_ESP:
	case IPPROTO_IPIP:
	case IPPROTO_IPV6:
		return -SVCD_R_PASS_OTHER_PROTO;
	default:
		return -SVCD_R_PASS_EXT_HDR;
	}
}

/*
 * Parse IPv6 (+ extension headers) + TCP/UDP, as parse_flow4.
 * UDP with checksum 0 is invalid over IPv6 (RFC 8200 8.1): such a
 * datagram is passed untranslated as malformed rather than given a
 * checksum it never had.
 */
static __always_inline int parse_flow6(void *data, void *data_end,
				       struct flow6 *f)
{
	struct cursor c = { .pos = data + sizeof(struct ethhdr),
			    .end = data_end };
	struct ipv6hdr *ip6 = c.pos;
	struct l4_fields l4 = L4_FIELDS_OF(f);
	__u32 payload_len;
	int ret;

	f->l3_off = sizeof(struct ethhdr);
	ret = parse_ipv6(&c, f);
	if (ret < 0)
		return ret;
	/* parse_ipv6() checked its own copy of the pointer, not this one */
	if ((void *)(ip6 + 1) > data_end)
		return -SVCD_R_PASS_MALFORMED;
	payload_len = bpf_ntohs(ip6->payload_len);
	f->l4_off = (__u16)(c.pos - data);
	if (ret == IPPROTO_TCP) {
		ret = parse_tcp(&c, &l4);
	} else {
		ret = parse_udp(&c, &l4);
		if (!ret && !f->udp_check)
			return -SVCD_R_PASS_MALFORMED;
	}
	/* As parse_flow4: the payload length must hold the extension and
	 * L4 headers. 0 is a jumbogram's or a BIG TCP packet's. */
	if (!ret && payload_len &&
	    (__u32)(c.pos - data) > f->l3_off + sizeof(*ip6) + payload_len)
		return -SVCD_R_PASS_MALFORMED;
	return ret;
}

/*
 * ICMP errors (stretch of issue 12): an ICMPv4 destination unreachable
 * (3, fragmentation needed included) or time exceeded (11), an ICMPv6
 * destination unreachable (1), packet too big (2) or time exceeded (3),
 * quoting a TCP or UDP packet. in is the quoted packet's tuple; offsets
 * are from data. The quoted IPv4 header must have no options and the
 * quoted IPv6 header no extension headers, and the outer IPv6 header none
 * either; anything else stays a plain PASS_OTHER_PROTO packet.
 */
struct icmp_err4 {
	struct flow4 in;
	__be32 outer_daddr;
	__u16 icmp_off;
	__u16 in_l3_off;
	/* where the outer IP packet ends: padding is no quote. Past
	 * data_end in a non-linear skb, whose head alone tc sees (the
	 * rewrite reads with bpf_skb_load_bytes) */
	__u32 end;
};

struct icmp_err6 {
	struct flow6 in;
	union svcd_ip6 outer_daddr;
	__u16 icmp_off;
	__u16 in_l3_off;
	__u32 end; /* as icmp_err4's */
};

#define ICMP4_DEST_UNREACH 3
#define ICMP4_TIME_EXCEEDED 11
#define ICMP6_DEST_UNREACH 1
#define ICMP6_PKT_TOOBIG 2
#define ICMP6_TIME_EXCEED 3

/* Ports of the quoted L4 header (RFC 792/4443 quote at least 8 bytes). */
static __always_inline int parse_icmp_inner_ports(void *pos, void *end,
						  __be16 *sport, __be16 *dport)
{
	__be16 *ports = pos;

	if ((void *)(ports + 2) > end)
		return -SVCD_R_PASS_OTHER_PROTO;
	*sport = ports[0];
	*dport = ports[1];
	return 0;
}

static __always_inline int parse_icmp_err4(void *data, void *data_end,
					   struct icmp_err4 *e)
{
	struct iphdr *ip = data + sizeof(struct ethhdr), *in;
	__u8 *icmp;
	__u32 ihl;

	if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_ICMP)
		return -SVCD_R_PASS_OTHER_PROTO;
	ihl = ip->ihl * 4;
	if (ihl < sizeof(*ip) || (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return -SVCD_R_PASS_OTHER_PROTO;
	icmp = (void *)ip + ihl;
	if ((void *)(icmp + 8) > data_end)
		return -SVCD_R_PASS_OTHER_PROTO;
	if (icmp[0] != ICMP4_DEST_UNREACH && icmp[0] != ICMP4_TIME_EXCEEDED)
		return -SVCD_R_PASS_OTHER_PROTO;
	in = (void *)(icmp + 8);
	if ((void *)(in + 1) > data_end || in->version != 4 || in->ihl != 5 ||
	    (in->protocol != IPPROTO_TCP && in->protocol != IPPROTO_UDP))
		return -SVCD_R_PASS_OTHER_PROTO;
	e->in.saddr = in->saddr;
	e->in.daddr = in->daddr;
	e->in.proto = in->protocol;
	e->end = sizeof(struct ethhdr) + bpf_ntohs(ip->tot_len);
	e->outer_daddr = ip->daddr;
	e->icmp_off = (__u16)((void *)icmp - data);
	e->in_l3_off = (__u16)((void *)in - data);
	return parse_icmp_inner_ports(in + 1, data_end, &e->in.sport,
				      &e->in.dport);
}

static __always_inline int parse_icmp_err6(void *data, void *data_end,
					   struct icmp_err6 *e)
{
	struct ipv6hdr *ip6 = data + sizeof(struct ethhdr), *in;
	__u8 *icmp = (void *)(ip6 + 1);

	if ((void *)(icmp + 8) > data_end || ip6->nexthdr != NEXTHDR_ICMP)
		return -SVCD_R_PASS_OTHER_PROTO;
	if (icmp[0] != ICMP6_DEST_UNREACH && icmp[0] != ICMP6_PKT_TOOBIG &&
	    icmp[0] != ICMP6_TIME_EXCEED)
		return -SVCD_R_PASS_OTHER_PROTO;
	in = (void *)(icmp + 8);
	if ((void *)(in + 1) > data_end || in->version != 6 ||
	    (in->nexthdr != IPPROTO_TCP && in->nexthdr != IPPROTO_UDP))
		return -SVCD_R_PASS_OTHER_PROTO;
	__builtin_memcpy(&e->in.saddr, &in->saddr, sizeof(e->in.saddr));
	__builtin_memcpy(&e->in.daddr, &in->daddr, sizeof(e->in.daddr));
	__builtin_memcpy(&e->outer_daddr, &ip6->daddr, sizeof(e->outer_daddr));
	e->end = sizeof(struct ethhdr) + sizeof(*ip6) +
		 bpf_ntohs(ip6->payload_len);
	e->in.proto = in->nexthdr;
	e->icmp_off = (__u16)((void *)icmp - data);
	e->in_l3_off = (__u16)((void *)in - data);
	return parse_icmp_inner_ports(in + 1, data_end, &e->in.sport,
				      &e->in.dport);
}

/*
 * The ethertype of a frame (network order), or -SVCD_R_PASS_NOT_IP: the
 * one Ethernet parse of a packet. Every entry point dispatches on it and
 * parse_flow4/6() start behind the header (untagged Ethernet only: a VLAN
 * tag's ethertype is neither IP one).
 */
static __always_inline int eth_proto(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -SVCD_R_PASS_NOT_IP;
	return eth->h_proto;
}

#endif

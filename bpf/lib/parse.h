/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * parse.h - header parsing with a cursor. Each parse_<header>() checks its
 * own bounds and returns the next protocol, or a negative svcd_reason.
 * Works on any (data, data_end) pair, so XDP and tc share it.
 */
#ifndef SVCD_BPF_PARSE_H
#define SVCD_BPF_PARSE_H

#include <stdbool.h>

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
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

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

static __always_inline int parse_eth(struct cursor *c, __u16 *l3_off,
				     void *data)
{
	struct ethhdr *eth = c->pos;

	if ((void *)(eth + 1) > c->end)
		return -SVCD_R_PASS_NOT_IP;
	c->pos = eth + 1;
	*l3_off = (__u16)((void *)c->pos - data);
	return eth->h_proto; /* __be16 ethertype, as an int >= 0 */
}

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

static __always_inline int parse_tcp(struct cursor *c, struct flow4 *f)
{
	struct tcphdr *tcp = c->pos;
	__u32 doff;

	if ((void *)(tcp + 1) > c->end)
		return -SVCD_R_PASS_MALFORMED;
	doff = tcp->doff * 4;
	if (doff < sizeof(*tcp) || c->pos + doff > c->end)
		return -SVCD_R_PASS_MALFORMED;
	f->sport = tcp->source;
	f->dport = tcp->dest;
	f->tcp_flags = ((__u8 *)tcp)[13];
	c->pos += doff;
	return 0;
}

static __always_inline int parse_udp(struct cursor *c, struct flow4 *f)
{
	struct udphdr *udp = c->pos;

	if ((void *)(udp + 1) > c->end)
		return -SVCD_R_PASS_MALFORMED;
	f->sport = udp->source;
	f->dport = udp->dest;
	f->udp_check = udp->check;
	f->tcp_flags = 0;
	c->pos = udp + 1;
	return 0;
}

/*
 * Parse Ethernet + IPv4 + TCP/UDP. Returns 0 with *f filled, or a negative
 * svcd_reason saying why the packet is not one the datapath translates.
 */
static __always_inline int parse_flow4(void *data, void *data_end,
				       struct flow4 *f)
{
	struct cursor c = { .pos = data, .end = data_end };
	int ret;

	ret = parse_eth(&c, &f->l3_off, data);
	if (ret < 0)
		return ret;
	if (ret != bpf_htons(ETH_P_IP))
		return -SVCD_R_PASS_NOT_IP;
	ret = parse_ipv4(&c, f);
	if (ret < 0)
		return ret;
	f->l4_off = (__u16)(c.pos - data);
	if (ret == IPPROTO_TCP)
		return parse_tcp(&c, f);
	return parse_udp(&c, f);
}

#endif

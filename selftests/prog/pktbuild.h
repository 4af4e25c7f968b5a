/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pktbuild.h - build test frames from a description and parse frames back
 * into fields, verifying every checksum from scratch (katran's
 * PacketBuilder, in C). Tests describe packets, never hex dumps.
 *
 * A struct pkt_spec is read with "zero means the usual": ethertype 0 is
 * IPv4, ttl 0 is 64, ihl/doff/tot_len 0 are computed, truncate 0 keeps the
 * whole frame. Addresses and ports are in network order (IP4(), bpf_htons()).
 *
 * IPv6: a spec's IPv4 test addresses stand for IPv6 ones (pkt_ip6_of(),
 * within 2001:db8::/32 as the brief's plan has it), so one table describes
 * a flow in both families. pkt_parse() gives them back the same way in
 * saddr/daddr (and the real ones in saddr6/daddr6).
 */
#ifndef SVCD_PKTBUILD_H
#define SVCD_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <bpf/bpf_endian.h>

#define PKT_MAX 1514

/* An IPv4 address a.b.c.d in network order, usable in static tables. */
#define IP4(a, b, c, d)                                     \
	bpf_htonl(((__u32)(a) << 24) | ((__u32)(b) << 16) | \
		  ((__u32)(c) << 8) | (__u32)(d))

/* TCP flags (the header's byte 13). */
#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_PSH 0x08
#define PKT_ACK 0x10

/* pkt_spec.frag, host order, as in the IPv4 header's frag_off field. */
#define PKT_DF 0x4000
#define PKT_MF 0x2000
#define PKT_OFFSET_MASK 0x1fff /* in 8-byte units */

/* The IPv6 address an IPv4 test address stands for (network order):
 *   198.18.k.x          -> 2001:db8:k::x      (pods of node k)
 *   198.19.96.x-111.x   -> 2001:db8:96::N     (ClusterIPs, N = low 12 bits)
 *   198.19.y.x (others) -> 2001:db8::y:x      (nodes, external clients)
 *   0.0.0.0             -> ::
 *   anything else       -> 2001:db8:ffff::a.b.c.d
 * pkt_ip4_of() is the inverse (0xffffffff for an address not of this
 * form); a source prefix of length len maps to length 96 + len. */
void pkt_ip6_of(__be32 v4, __u8 out[16]);
__be32 pkt_ip4_of(const __u8 a[16]);

/*
 * With pkt_default_ipv6 set, a spec whose ethertype is 0 builds IPv6
 * (and the harness talks to the IPv6 maps): how the prog tests run one
 * table in both families. Set through pt_family().
 */
extern bool pkt_default_ipv6;

#define PKT_MAX_EXT 6

struct pkt {
	__u8 data[PKT_MAX];
	size_t len;
};

struct pkt_spec {
	/* Ethernet */
	__u8 smac[6];	 /* all zero: PKT_MAC_A */
	__u8 dmac[6];	 /* all zero: PKT_MAC_B */
	__u16 ethertype; /* host order; 0: ETH_P_IP. ETH_P_ARP builds an ARP
			  * request, ETH_P_IPV6 an IPv6 header + L4,
			  * ETH_P_8021Q a VLAN tag around IPv4 */
	/* IPv4 (addresses also used by ARP and, mapped, by IPv6) */
	__be32 saddr;
	__be32 daddr;
	__u8 proto; /* IPPROTO_TCP, _UDP, _ICMP or any other (payload) */
	__u8 tos;
	__u8 ttl;	     /* 0: 64 */
	__u16 id;	     /* host order */
	__u16 frag;	     /* host order: PKT_DF | PKT_MF | offset */
	const __u8 *ip_opts; /* raw option bytes, ip_opts_len % 4 == 0 */
	__u8 ip_opts_len;
	/* TCP/UDP */
	__be16 sport;
	__be16 dport;
	__u8 tcp_flags;	    /* PKT_SYN | ... */
	__u32 seq;	    /* host order */
	__u32 ack;	    /* host order */
	bool tcp_win_zero;  /* window 0 (a RST's), not 65535 */
	bool udp_zero_csum; /* send UDP with checksum 0 ("none") */
	/* ICMP */
	__u8 icmp_type;
	__u8 icmp_code;
	__u32 icmp_rest; /* host order: the 4 bytes after the checksum */
	/* L4 payload (for other protocols: everything after IPv4) */
	const void *payload;
	size_t payload_len;
	/* malformation knobs; 0 = correct value */
	__u8 ihl;	 /* IPv4 header length in 32-bit words */
	__u16 tot_len;	 /* host order */
	__u8 doff;	 /* TCP data offset in 32-bit words */
	size_t truncate; /* cut the frame to this many bytes */
	bool bad_ip_csum;
	/* IPv6 extension headers, in order, before the L4 header: next
	 * header values (0 hop-by-hop, 43 routing, 44 fragment, 60
	 * destination options, or any other value for an unknown one). Each
	 * is 8 * (1 + ext_len8) bytes of padding options (a fragment header
	 * is 8 bytes, from frag and id). */
	__u8 ext[PKT_MAX_EXT];
	__u8 n_ext;
	__u8 ext_len8;
};

/* Default MACs when a spec leaves them zero. */
extern const __u8 PKT_MAC_A[6];
extern const __u8 PKT_MAC_B[6];

/* Builds the frame into *out. Returns 0, or -EINVAL for a spec that does
 * not fit PKT_MAX or has malformed option lengths. */
int pkt_build(const struct pkt_spec *spec, struct pkt *out);

struct pkt_parsed {
	__u8 smac[6], dmac[6];
	__u16 ethertype; /* host order */
	bool ipv4;	 /* an IPv4 header was parsed */
	bool ipv6;	 /* an IPv6 header was parsed (ttl: hop limit,
			  * tot_len: 40 + payload length, proto: the last
			  * next header, ip_csum_ok: true) */
	__u8 saddr6[16], daddr6[16];
	__u8 n_ext; /* extension headers skipped */
	__u8 ihl, tos, ttl, proto;
	__u16 tot_len, id, frag; /* host order */
	__be32 saddr, daddr;
	bool ip_csum_ok;
	size_t l3_off, l4_off; /* offsets in the frame */
	bool l4;	       /* a TCP/UDP/ICMP header was parsed */
	__be16 sport, dport;
	__u8 tcp_flags, doff;
	__u32 seq, ack;	 /* host order */
	__u16 l4_csum;	 /* as found in the header, network order */
	bool l4_csum_ok; /* UDP with checksum 0 counts as ok */
	__u8 icmp_type, icmp_code;
	__u32 icmp_rest;		 /* host order */
	size_t payload_off, payload_len; /* after the L4 header */
};

/*
 * Parses an Ethernet frame. Returns 0 when all headers it announces are
 * present and consistent (the checksum verdicts are in *p, not in the
 * return value), -EINVAL for a truncated or inconsistent frame.
 */
int pkt_parse(const void *frame, size_t len, struct pkt_parsed *p);

/* Internet checksum helpers, exposed for tests that check by hand. */
__u32 pkt_csum_add(__u32 sum, const void *data, size_t len);
__u16 pkt_csum_fold(__u32 sum);

/* "198.18.0.1:80" into buf, for messages. */
const char *pkt_addr_str(__be32 addr, __be16 port, char *buf, size_t size);

/* A one-line summary of a frame, for test__log(). */
void pkt_describe(const void *frame, size_t len, char *buf, size_t size);

#endif

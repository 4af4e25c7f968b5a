/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * icmp.h - ICMP and ICMPv6 errors about translated flows, translated back
 * on tc (skb helpers), so the client's stack finds its socket:
 *
 *   before: client' <- ICMP error quoting [client':cport' -> backend:bport]
 *   after:  client  <- ICMP error quoting [client:cport -> frontend:fport]
 *
 * client':cport' is the client, or the SNAT address and port. The quoted
 * tuple and the outer destination come from the flow's reverse conntrack
 * entry (svc_icmp_error4/6). Checksums: the quoted IPv4 header's, the
 * quoted TCP/UDP checksum when it is in the quote (pseudo-header and
 * ports; UDP 0 stays 0), the ICMP checksum (over everything that changed;
 * for ICMPv6 also the outer destination, in its pseudo-header) and the
 * outer IPv4 header's. XDP hands these packets to from_wire_tc.
 * Counted as SVCD_R_ICMP_ERROR.
 */
#ifndef SVCD_BPF_ICMP_H
#define SVCD_BPF_ICMP_H

#include <stddef.h>

#include "parse.h"
#include "svc.h"

/* ~(~check + diff), for a checksum field read as stored. */
static __always_inline __u16 csum_apply_diff(__u16 check, __s64 diff)
{
	__u64 sum = (__u16)~check;

	sum += (__u32)diff;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/*
 * The rewrite for both families; v6 is a constant at each call, so every
 * length below is one. saddr/daddr: the quoted packet's new addresses
 * (4 or 16 bytes); the outer destination becomes saddr. end: where the
 * outer IP packet ends; the ICMP checksum covers nothing after it (tc
 * ingress sees Ethernet padding before the stack trims it), so neither
 * does the quote.
 */
static __always_inline int
icmp_err_rewrite(struct __sk_buff *skb, const bool v6, __u32 icmp_off,
		 __u32 in_l3_off, __u32 end, __u8 proto, const void *saddr,
		 const void *daddr, __be16 sport, __be16 dport,
		 const void *outer_daddr)
{
	const __u32 hlen = v6 ? 40 : 20; /* quoted IP header */
	const __u32 quote = hlen + 8;	 /* + 8 bytes of L4 */
	const __u32 aoff = v6 ? 8 : 12;	 /* addresses in it */
	const __u32 alen = v6 ? 16 : 4;	 /* one address */
	const __u32 l3 = sizeof(struct ethhdr);
	__u32 oldb[12] = {}, newb[12] = {}, otcp = 0, ntcp = 0;
	__u8 *n = (__u8 *)newb;
	__be16 *ports = (__be16 *)(n + hlen);
	__u16 *check;
	bool tcp_csum = false;
	__s64 d, pd;

	if (in_l3_off + quote > end ||
	    bpf_skb_load_bytes(skb, in_l3_off, oldb, quote))
		return -SVCD_R_DROP_REWRITE;
	__builtin_memcpy(newb, oldb, sizeof(newb));
	__builtin_memcpy(n + aoff, saddr, alen);
	__builtin_memcpy(n + aoff + alen, daddr, alen);
	ports[0] = sport;
	ports[1] = dport;

	/* The quoted L4 checksum: its pseudo-header and ports changed. */
	pd = bpf_csum_diff((__be32 *)((__u8 *)oldb + aoff), 2 * alen + 4,
			   (__be32 *)(n + aoff), 2 * alen + 4, 0);
	if (pd < 0)
		return -SVCD_R_DROP_REWRITE;
	if (proto == IPPROTO_UDP) {
		check = (__u16 *)(n + hlen + 6);
		if (*check) {
			*check = csum_apply_diff(*check, pd);
			if (!*check)
				*check = 0xffff;
		}
	} else if (in_l3_off + hlen + 20 <= end &&
		   !bpf_skb_load_bytes(skb, in_l3_off + hlen + 16, &otcp, 4)) {
		/* TCP's checksum is at 16: only in a quote of 20+ bytes */
		ntcp = otcp;
		check = (__u16 *)&ntcp;
		*check = csum_apply_diff(*check, pd);
		tcp_csum = true;
	}
	if (!v6) {
		/* the quoted IPv4 header's own checksum, from scratch */
		check = (__u16 *)(n + 10);
		*check = 0;
		d = bpf_csum_diff(NULL, 0, (__be32 *)n, 20, 0);
		if (d < 0)
			return -SVCD_R_DROP_REWRITE;
		*check = csum_apply_diff(0xffff, d);
	}

	/* ICMP checksum: the quote's changes (no pseudo-header part). */
	d = bpf_csum_diff((__be32 *)oldb, quote, (__be32 *)newb, quote, 0);
	if (d >= 0 && tcp_csum)
		d = bpf_csum_diff(&otcp, 4, &ntcp, 4, (__u32)d);
	if (d < 0 || bpf_l4_csum_replace(skb, icmp_off + 2, 0, (__u32)d, 0) ||
	    bpf_skb_store_bytes(skb, in_l3_off, newb, quote, 0) ||
	    (tcp_csum &&
	     bpf_skb_store_bytes(skb, in_l3_off + hlen + 16, &ntcp, 4, 0)))
		return -SVCD_R_DROP_REWRITE;

	/* The outer destination: the client. */
	if (v6) {
		d = bpf_csum_diff((__be32 *)outer_daddr, 16, (__be32 *)saddr,
				  16, 0);
		if (d < 0 ||
		    bpf_l4_csum_replace(skb, icmp_off + 2, 0, (__u32)d,
					BPF_F_PSEUDO_HDR) ||
		    bpf_skb_store_bytes(skb,
					l3 + offsetof(struct ipv6hdr, daddr),
					saddr, 16, 0))
			return -SVCD_R_DROP_REWRITE;
	} else {
		if (bpf_l3_csum_replace(skb, l3 + offsetof(struct iphdr, check),
					*(__be32 *)outer_daddr,
					*(__be32 *)saddr, 4) ||
		    bpf_skb_store_bytes(skb, l3 + offsetof(struct iphdr, daddr),
					saddr, 4, 0))
			return -SVCD_R_DROP_REWRITE;
	}
	return 0;
}

#define SVC_AF 4
#include "af.h"
#include "icmp_af.h"
#include "af_end.h"

#define SVC_AF 6
#include "af.h"
#include "icmp_af.h"
#include "af_end.h"

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pktbuild.c - test frame builder and checksum-verifying parser. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_ether.h>
#include <netinet/in.h>

#include "pktbuild.h"

const __u8 PKT_MAC_A[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a };
const __u8 PKT_MAC_B[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b };

#define ETH_LEN 14
#define VLAN_LEN 4
#define IPV4_LEN 20
#define IPV6_LEN 40
#define TCP_LEN 20
#define UDP_LEN 8
#define ICMP_LEN 8
#define ARP_LEN 28

static void put16(__u8 *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 get32(const __u8 *p)
{
	return (__u32)get16(p) << 16 | get16(p + 2);
}

/* Sums 16-bit big-endian words; an odd last byte is padded with zero. */
__u32 pkt_csum_add(__u32 sum, const void *data, size_t len)
{
	const __u8 *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	return sum;
}

__u16 pkt_csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __u32 pseudo4_sum(__be32 saddr, __be32 daddr, __u8 proto, size_t len)
{
	__u32 sum = 0;

	sum = pkt_csum_add(sum, &saddr, 4);
	sum = pkt_csum_add(sum, &daddr, 4);
	sum += proto;
	sum += (__u32)len;
	return sum;
}

bool pkt_default_ipv6;

void pkt_ip6_of(__be32 v4, __u8 a[16])
{
	__u32 h = ntohl(v4);
	__u8 b0 = h >> 24, b1 = (h >> 16) & 0xff, b2 = (h >> 8) & 0xff,
	     b3 = h & 0xff;

	memset(a, 0, 16);
	if (!h)
		return;
	a[0] = 0x20;
	a[1] = 0x01;
	a[2] = 0x0d;
	a[3] = 0xb8;
	if (b0 == 198 && b1 == 18) {
		a[5] = b2;
		a[15] = b3;
	} else if (b0 == 198 && b1 == 19 && b2 >= 96 && b2 < 112) {
		a[5] = 0x96;
		a[14] = b2 - 96;
		a[15] = b3;
	} else if (b0 == 198 && b1 == 19) {
		a[13] = b2;
		a[15] = b3;
	} else {
		a[4] = 0xff;
		a[5] = 0xff;
		memcpy(a + 12, &v4, 4);
	}
}

static bool zero_bytes(const __u8 *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

__be32 pkt_ip4_of(const __u8 a[16])
{
	static const __u8 doc[4] = { 0x20, 0x01, 0x0d, 0xb8 };
	__be32 v4;

	if (zero_bytes(a, 16))
		return 0;
	if (memcmp(a, doc, 4))
		return 0xffffffff;
	if (a[4] == 0xff && a[5] == 0xff && zero_bytes(a + 6, 6)) {
		memcpy(&v4, a + 12, 4);
		return v4;
	}
	if (a[4] == 0 && a[5] == 0x96 && zero_bytes(a + 6, 8) && a[14] < 16)
		return htonl(198u << 24 | 19u << 16 | (96u + a[14]) << 8 |
			     a[15]);
	if (a[4] == 0 && a[5] && zero_bytes(a + 6, 9))
		return htonl(198u << 24 | 18u << 16 | (__u32)a[5] << 8 | a[15]);
	if (zero_bytes(a + 4, 9) && a[14] == 0)
		return htonl(198u << 24 | 19u << 16 | (__u32)a[13] << 8 |
			     a[15]);
	return 0xffffffff;
}

static __u32 pseudo6_sum(const __u8 *saddr, const __u8 *daddr, __u8 proto,
			 size_t len)
{
	__u32 sum = 0;

	sum = pkt_csum_add(sum, saddr, 16);
	sum = pkt_csum_add(sum, daddr, 16);
	sum += (__u32)(len >> 16) + (__u32)(len & 0xffff);
	sum += proto;
	return sum;
}

/* Writes the L4 header and payload at p; returns its length or -EINVAL. */
static int build_l4(const struct pkt_spec *s, __u8 *p, size_t room,
		    __u32 pseudo)
{
	size_t hlen, len;
	__u16 csum;

	switch (s->proto) {
	case IPPROTO_TCP:
		hlen = TCP_LEN;
		break;
	case IPPROTO_UDP:
		hlen = UDP_LEN;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		hlen = ICMP_LEN;
		break;
	default:
		hlen = 0;
		break;
	}
	len = hlen + s->payload_len;
	if (len > room)
		return -EINVAL;
	memset(p, 0, hlen);
	if (s->payload_len)
		memcpy(p + hlen, s->payload, s->payload_len);

	switch (s->proto) {
	case IPPROTO_TCP:
		memcpy(p, &s->sport, 2);
		memcpy(p + 2, &s->dport, 2);
		put32(p + 4, s->seq);
		put32(p + 8, s->ack);
		p[12] = (s->doff ? s->doff : TCP_LEN / 4) << 4;
		p[13] = s->tcp_flags;
		put16(p + 14, s->tcp_win_zero ? 0 : 65535);
		csum = pkt_csum_fold(pkt_csum_add(pseudo + len, p, len));
		put16(p + 16, csum);
		break;
	case IPPROTO_UDP:
		memcpy(p, &s->sport, 2);
		memcpy(p + 2, &s->dport, 2);
		put16(p + 4, (__u16)len);
		csum = pkt_csum_fold(pkt_csum_add(pseudo + len, p, len));
		if (csum == 0)
			csum = 0xffff; /* 0 means "no checksum" */
		put16(p + 6, s->udp_zero_csum ? 0 : csum);
		break;
	case IPPROTO_ICMP:
		p[0] = s->icmp_type;
		p[1] = s->icmp_code;
		put32(p + 4, s->icmp_rest);
		put16(p + 2, pkt_csum_fold(pkt_csum_add(0, p, len)));
		break;
	case IPPROTO_ICMPV6:
		p[0] = s->icmp_type;
		p[1] = s->icmp_code;
		put32(p + 4, s->icmp_rest);
		put16(p + 2, pkt_csum_fold(pkt_csum_add(pseudo + len, p, len)));
		break;
	}
	return (int)len;
}

static int build_ipv4(const struct pkt_spec *s, __u8 *p, size_t room)
{
	size_t hlen = IPV4_LEN + s->ip_opts_len;
	__u8 proto = s->proto;
	__u32 pseudo;
	int l4;

	if (s->ip_opts_len % 4 || s->ip_opts_len > 40 || hlen > room)
		return -EINVAL;
	/* tot_len and the L4 pseudo header use the real length */
	pseudo = pseudo4_sum(s->saddr, s->daddr, proto, 0);
	l4 = build_l4(s, p + hlen, room - hlen, pseudo);
	if (l4 < 0)
		return l4;

	memset(p, 0, IPV4_LEN);
	p[0] = 0x40 | (s->ihl ? s->ihl : hlen / 4);
	p[1] = s->tos;
	put16(p + 2, s->tot_len ? s->tot_len : (__u16)(hlen + l4));
	put16(p + 4, s->id);
	put16(p + 6, s->frag);
	p[8] = s->ttl ? s->ttl : 64;
	p[9] = proto;
	memcpy(p + 12, &s->saddr, 4);
	memcpy(p + 16, &s->daddr, 4);
	if (s->ip_opts_len)
		memcpy(p + IPV4_LEN, s->ip_opts, s->ip_opts_len);
	put16(p + 10, pkt_csum_fold(pkt_csum_add(0, p, hlen)) ^
			      (s->bad_ip_csum ? 0x5555 : 0));
	return (int)(hlen + l4);
}

static int build_ipv6(const struct pkt_spec *s, __u8 *p, size_t room)
{
	__u8 src[16], dst[16], nh;
	size_t off = IPV6_LEN, elen;
	__u32 pseudo;
	int l4, i;

	if (room < IPV6_LEN || s->n_ext > PKT_MAX_EXT)
		return -EINVAL;
	pkt_ip6_of(s->saddr, src);
	pkt_ip6_of(s->daddr, dst);
	memset(p, 0, IPV6_LEN);
	p[0] = 0x60;
	nh = s->n_ext ? s->ext[0] : s->proto;
	p[6] = nh;
	p[7] = s->ttl ? s->ttl : 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	for (i = 0; i < s->n_ext; i++) {
		__u8 next = i + 1 < s->n_ext ? s->ext[i + 1] : s->proto;
		__u8 *e = p + off;

		elen = s->ext[i] == 44 ? 8 : 8 * (1 + (size_t)s->ext_len8);
		if (off + elen > room)
			return -EINVAL;
		memset(e, 0, elen);
		e[0] = next;
		if (s->ext[i] == 44) { /* fragment: offset, MF, id */
			put16(e + 2, (__u16)((s->frag & PKT_OFFSET_MASK) << 3 |
					     !!(s->frag & PKT_MF)));
			put32(e + 4, s->id);
		} else {
			e[1] = s->ext_len8;
			e[2] = 1; /* PadN over the rest */
			e[3] = (__u8)(elen - 4);
		}
		off += elen;
	}
	pseudo = pseudo6_sum(src, dst, s->proto, 0);
	l4 = build_l4(s, p + off, room - off, pseudo);
	if (l4 < 0)
		return l4;
	put16(p + 4, s->tot_len ? s->tot_len : (__u16)(off - IPV6_LEN + l4));
	return (int)off + l4;
}

static int build_arp(const struct pkt_spec *s, __u8 *p, size_t room)
{
	if (room < ARP_LEN)
		return -EINVAL;
	put16(p, 1); /* Ethernet */
	put16(p + 2, ETH_P_IP);
	p[4] = 6;
	p[5] = 4;
	put16(p + 6, 1); /* request */
	memcpy(p + 8, s->smac, 6);
	memcpy(p + 14, &s->saddr, 4);
	memset(p + 18, 0, 6);
	memcpy(p + 24, &s->daddr, 4);
	return ARP_LEN;
}

int pkt_build(const struct pkt_spec *spec, struct pkt *out)
{
	static const __u8 zero[6];
	struct pkt_spec s = *spec;
	__u16 type = s.ethertype      ? s.ethertype :
		     pkt_default_ipv6 ? ETH_P_IPV6 :
					ETH_P_IP;
	size_t off = ETH_LEN;
	int n;

	if (!memcmp(s.smac, zero, 6))
		memcpy(s.smac, PKT_MAC_A, 6);
	if (!memcmp(s.dmac, zero, 6))
		memcpy(s.dmac, PKT_MAC_B, 6);
	memset(out, 0, sizeof(*out));
	memcpy(out->data, s.dmac, 6);
	memcpy(out->data + 6, s.smac, 6);
	put16(out->data + 12, type);
	if (type == ETH_P_8021Q) {
		put16(out->data + 14, 100); /* VLAN 100 */
		put16(out->data + 16, ETH_P_IP);
		off += VLAN_LEN;
	}

	switch (type) {
	case ETH_P_ARP:
		n = build_arp(&s, out->data + off, PKT_MAX - off);
		break;
	case ETH_P_IPV6:
		n = build_ipv6(&s, out->data + off, PKT_MAX - off);
		break;
	default:
		n = build_ipv4(&s, out->data + off, PKT_MAX - off);
		break;
	}
	if (n < 0)
		return n;
	out->len = off + (size_t)n;
	if (s.truncate && s.truncate < out->len)
		out->len = s.truncate;
	return 0;
}

static int parse_l4(const __u8 *f, struct pkt_parsed *p, size_t end)
{
	const __u8 *l4 = f + p->l4_off;
	size_t len = end - p->l4_off;
	__u32 pseudo =
		p->ipv6 ? pseudo6_sum(p->saddr6, p->daddr6, p->proto, len) :
			  pseudo4_sum(p->saddr, p->daddr, p->proto, len);
	size_t hlen;

	switch (p->proto) {
	case IPPROTO_TCP:
		if (len < TCP_LEN)
			return -EINVAL;
		p->doff = l4[12] >> 4;
		hlen = (size_t)p->doff * 4;
		if (p->doff < 5 || hlen > len)
			return -EINVAL;
		memcpy(&p->sport, l4, 2);
		memcpy(&p->dport, l4 + 2, 2);
		p->seq = get32(l4 + 4);
		p->ack = get32(l4 + 8);
		p->tcp_flags = l4[13];
		p->l4_csum = htons(get16(l4 + 16));
		p->l4_csum_ok = pkt_csum_fold(pkt_csum_add(pseudo, l4, len)) ==
				0;
		break;
	case IPPROTO_UDP:
		hlen = UDP_LEN;
		if (len < UDP_LEN || get16(l4 + 4) != len)
			return -EINVAL;
		memcpy(&p->sport, l4, 2);
		memcpy(&p->dport, l4 + 2, 2);
		p->l4_csum = htons(get16(l4 + 6));
		p->l4_csum_ok = (p->l4_csum == 0 && !p->ipv6) ||
				pkt_csum_fold(pkt_csum_add(pseudo, l4, len)) ==
					0;
		break;
	case IPPROTO_ICMP:
		hlen = ICMP_LEN;
		if (len < ICMP_LEN)
			return -EINVAL;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		p->l4_csum = htons(get16(l4 + 2));
		p->icmp_rest = get32(l4 + 4);
		p->l4_csum_ok = pkt_csum_fold(pkt_csum_add(0, l4, len)) == 0;
		break;
	case IPPROTO_ICMPV6:
		hlen = ICMP_LEN;
		if (len < ICMP_LEN)
			return -EINVAL;
		p->icmp_type = l4[0];
		p->icmp_code = l4[1];
		p->l4_csum = htons(get16(l4 + 2));
		p->icmp_rest = get32(l4 + 4);
		p->l4_csum_ok = pkt_csum_fold(pkt_csum_add(pseudo, l4, len)) ==
				0;
		break;
	default:
		p->payload_off = p->l4_off;
		p->payload_len = len;
		return 0;
	}
	p->l4 = true;
	p->payload_off = p->l4_off + hlen;
	p->payload_len = len - hlen;
	return 0;
}

/* IPv6 with hop-by-hop, routing and destination options skipped; a
 * fragment header ends the parse (no L4 in *p). */
static int parse_ipv6(const __u8 *f, size_t len, struct pkt_parsed *p)
{
	const __u8 *ip = f + ETH_LEN;
	size_t off, end;
	__u8 nh;

	p->l3_off = ETH_LEN;
	if (len - ETH_LEN < IPV6_LEN || ip[0] >> 4 != 6)
		return -EINVAL;
	p->tot_len = IPV6_LEN + get16(ip + 4);
	if (ETH_LEN + (size_t)p->tot_len > len)
		return -EINVAL;
	p->ttl = ip[7];
	memcpy(p->saddr6, ip + 8, 16);
	memcpy(p->daddr6, ip + 24, 16);
	p->saddr = pkt_ip4_of(p->saddr6);
	p->daddr = pkt_ip4_of(p->daddr6);
	p->ipv6 = true;
	p->ip_csum_ok = true;
	end = ETH_LEN + (size_t)p->tot_len;
	off = ETH_LEN + IPV6_LEN;
	nh = ip[6];
	while (nh == 0 || nh == 43 || nh == 60 || nh == 44) {
		if (off + 8 > end)
			return -EINVAL;
		p->n_ext++;
		if (nh == 44) {
			p->proto = nh;
			p->frag = (__u16)(get16(f + off + 2) >> 3) |
				  (f[off + 3] & 1 ? PKT_MF : 0);
			p->l4_off = off + 8;
			return 0;
		}
		nh = f[off];
		off += 8 * (1 + (size_t)f[off + 1]);
	}
	p->proto = nh;
	p->l4_off = off;
	if (off > end)
		return -EINVAL;
	return parse_l4(f, p, end);
}

int pkt_parse(const void *frame, size_t len, struct pkt_parsed *p)
{
	const __u8 *f = frame;
	const __u8 *ip;
	size_t hlen;

	memset(p, 0, sizeof(*p));
	if (len < ETH_LEN)
		return -EINVAL;
	memcpy(p->dmac, f, 6);
	memcpy(p->smac, f + 6, 6);
	p->ethertype = get16(f + 12);
	if (p->ethertype == ETH_P_IPV6)
		return parse_ipv6(f, len, p);
	if (p->ethertype != ETH_P_IP)
		return 0;

	p->l3_off = ETH_LEN;
	ip = f + ETH_LEN;
	if (len - ETH_LEN < IPV4_LEN || ip[0] >> 4 != 4)
		return -EINVAL;
	p->ihl = ip[0] & 0xf;
	hlen = (size_t)p->ihl * 4;
	p->tos = ip[1];
	p->tot_len = get16(ip + 2);
	p->id = get16(ip + 4);
	p->frag = get16(ip + 6);
	p->ttl = ip[8];
	p->proto = ip[9];
	memcpy(&p->saddr, ip + 12, 4);
	memcpy(&p->daddr, ip + 16, 4);
	if (p->ihl < 5 || ETH_LEN + hlen > len || p->tot_len < hlen ||
	    ETH_LEN + (size_t)p->tot_len > len)
		return -EINVAL;
	p->ipv4 = true;
	p->ip_csum_ok = pkt_csum_fold(pkt_csum_add(0, ip, hlen)) == 0;
	p->l4_off = ETH_LEN + hlen;
	if (p->frag & (PKT_MF | PKT_OFFSET_MASK))
		return 0;
	return parse_l4(f, p, ETH_LEN + (size_t)p->tot_len);
}

const char *pkt_addr_str(__be32 addr, __be16 port, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, a, sizeof(a));
	snprintf(buf, size, "%s:%u", a, ntohs(port));
	return buf;
}

void pkt_describe(const void *frame, size_t len, char *buf, size_t size)
{
	struct pkt_parsed p;
	char src[32], dst[32];
	int err = pkt_parse(frame, len, &p);

	if (!p.ipv4 && !p.ipv6) {
		snprintf(buf, size, "ethertype 0x%04x len %zu%s", p.ethertype,
			 len, err ? " (malformed)" : "");
		return;
	}
	pkt_addr_str(p.saddr, p.sport, src, sizeof(src));
	pkt_addr_str(p.daddr, p.dport, dst, sizeof(dst));
	snprintf(
		buf, size,
		"%s > %s proto %u%s%s%s%s%s icmp %u/%u len %zu ipcsum %s l4csum %s%s",
		src, dst, p.proto, p.tcp_flags & PKT_SYN ? " S" : "",
		p.tcp_flags & PKT_ACK ? " A" : "",
		p.tcp_flags & PKT_FIN ? " F" : "",
		p.tcp_flags & PKT_RST ? " R" : "",
		p.frag & (PKT_MF | PKT_OFFSET_MASK) ? " frag" : "", p.icmp_type,
		p.icmp_code, len, p.ip_csum_ok ? "ok" : "BAD",
		p.l4 ? (p.l4_csum_ok ? "ok" : "BAD") : "-",
		err ? " (malformed)" : "");
}

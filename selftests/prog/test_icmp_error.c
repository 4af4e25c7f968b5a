// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_icmp_error.c - ICMP and ICMPv6 errors about translated flows are
 * translated back (SVCD_R_ICMP_ERROR): the quoted packet's tuple becomes
 * the one the client sent (client -> frontend), the outer destination the
 * client, and every checksum is right. The expected frame is built from
 * scratch (the error quoting the untranslated packet), so the quoted IPv4
 * header checksum, the quoted TCP/UDP checksum and the ICMP checksum are
 * all compared byte for byte, and recomputed by pkt_parse(). Both
 * families: from_pod/to_pod (ClusterIP); on the wire an error from a
 * remote backend to the SNAT address (from_wire hands it to from_wire_tc)
 * and the node's own error about a hostNetwork backend's flow (to_wire).
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "runner.h"
#include "world.h"

#define NP_TCP 20
#define ROUTER IP4(198, 19, 0, 2) /* a hop that sends errors */

static const struct pt_service svc_tcp_a =
	SVC_TCP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service svc_udp_a =
	SVC_UDP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service np_tcp_remote = {
	.id = NP_TCP,
	.addr = NODE_A,
	.port = NODEPORT_TCP,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.external = true,
	.flags = SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT | SVCD_FE_NODE_ADDR,
	.backends = { BACKEND(BE_B, BACKEND_B) },
};

static const struct pt_service np_udp_host = {
	.id = NP_TCP + 1,
	.addr = NODE_A,
	.port = NODEPORT_UDP,
	.proto = IPPROTO_UDP,
	.rev = 1,
	.external = true,
	.flags = SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT | SVCD_FE_NODE_ADDR,
	.backends = { { .id = BE_HOST,
			.addr = NODE_A,
			.port = BACKEND_PORT,
			.flags = SVCD_BE_LOCAL } },
};

struct icmp_kind {
	const char *name;
	__u8 type4, code4, type6, code6;
	__u32 rest; /* host order: MTU of "too big" */
};

static const struct icmp_kind port_unreach = {
	.name = "port_unreachable",
	.type4 = 3,
	.code4 = 3,
	.type6 = 1,
	.code6 = 4,
};
static const struct icmp_kind too_big = {
	.name = "packet_too_big",
	.type4 = 3,
	.code4 = 4,
	.type6 = 2,
	.rest = 1280,
};
static const struct icmp_kind time_exceeded = {
	.name = "time_exceeded",
	.type4 = 11,
	.type6 = 3,
};

/* An ICMP error from src to dst quoting the first quote bytes (from the
 * IP header on) of the packet inner describes. */
static int error_frame(struct pt *pt, const struct icmp_kind *k, __be32 src,
		       __be32 dst, const struct pkt_spec *inner, size_t quote,
		       const __u8 mac_src[6], const __u8 mac_dst[6],
		       struct pkt *out)
{
	struct pkt_spec s = {};
	struct pkt in;

	if (pkt_build(inner, &in))
		return -1;
	if (quote > in.len - ETH_HLEN)
		quote = in.len - ETH_HLEN;
	memcpy(s.smac, mac_src, 6);
	memcpy(s.dmac, mac_dst, 6);
	s.saddr = src;
	s.daddr = dst;
	s.proto = pt->v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
	s.icmp_type = pt->v6 ? k->type6 : k->type4;
	s.icmp_code = pt->v6 ? k->code6 : k->code4;
	s.icmp_rest = k->rest;
	s.payload = in.data + ETH_HLEN;
	s.payload_len = quote;
	return pkt_build(&s, out);
}

/* Runs prog on in; it must return verdict, count reason once and, when
 * want is set, leave exactly want (checksums verified too). */
static void expect_run(struct pt *pt, enum pt_prog prog, const struct pkt *in,
		       __u32 verdict, int reason, const struct pkt *want,
		       struct pkt *out)
{
	__u64 rb[SVCD_R_MAX], ra[SVCD_R_MAX];
	struct pkt_parsed p;
	__u32 retval = ~0U;
	char msg[96];

	pt_reasons_get(pt, rb);
	if (!ASSERT_OK(pt_run(pt, prog, in, out, &retval), "run"))
		return;
	pt_reasons_get(pt, ra);
	ASSERT_EQ(retval, verdict, "verdict");
	snprintf(msg, sizeof(msg), "svcd_reasons[%s] delta",
		 pt_reason_name(reason));
	ASSERT_EQ(ra[reason] - rb[reason], 1, msg);
	if (!want)
		return;
	if (ASSERT_EQ(out->len, want->len, "output length"))
		ASSERT_EQ(memcmp(out->data, want->data, out->len), 0,
			  "output == the error quoting the client's packet");
	if (!ASSERT_OK(pkt_parse(out->data, out->len, &p), "output parses"))
		return;
	ASSERT_TRUE(p.ip_csum_ok, "outer IPv4 header checksum");
	ASSERT_TRUE(p.l4 && p.l4_csum_ok, "ICMP checksum");
}

static const __u8 mac_a[6] = { 2, 0, 0, 0, 0, 0x0a };
static const __u8 mac_b[6] = { 2, 0, 0, 0, 0, 0x0b };

/* Bytes after the IP packet (Ethernet padding, a trailer): tc ingress
 * sees them before the stack trims the skb to the IP length. */
static void pad_frame(struct pkt *f, size_t pad)
{
	memset(f->data + f->len, 0xaa, pad);
	f->len += pad;
}

/*
 * A ClusterIP flow (from_pod DNAT to A), then an error about its packet
 * C -> A, from a router (to_pod, toward the client pod) or from backend
 * A itself (from_pod, A's interface). pad: bytes after the error's IP
 * packet, which must stay as they are.
 */
static void pod_error(struct pt *pt, const struct icmp_kind *k, bool udp,
		      bool from_backend, size_t quote, size_t pad)
{
	struct pkt_spec syn = C_TO_FE(PKT_SYN), dnat = C_TO_A(PKT_SYN);
	struct pkt_spec uq = UDP_C_TO_FE(.payload = "query", .payload_len = 5);
	struct pkt_spec ua = UDP_C_TO_A(.payload = "query", .payload_len = 5);
	const struct pkt_spec *first = udp ? &uq : &syn;
	const struct pkt_spec *sent = udp ? &ua : &dnat;
	__be32 from = from_backend ? BACKEND_A : ROUTER;
	struct pkt in, err, want, out;
	__u32 retval;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, udp ? &svc_udp_a : &svc_tcp_a),
		       "set service") ||
	    !ASSERT_OK(pkt_build(first, &in), "build"))
		return;
	if (!ASSERT_OK(pt_run(pt, PT_FROM_POD, &in, &out, &retval), "DNAT") ||
	    !ASSERT_EQ(retval, TC_ACT_OK, "DNAT verdict"))
		return;
	if (error_frame(pt, k, from, CLIENT, sent, quote, mac_b, mac_a, &err) ||
	    error_frame(pt, k, from, CLIENT, first, quote, mac_b, mac_a, &want))
		return;
	pad_frame(&err, pad);
	pad_frame(&want, pad);
	expect_run(pt, from_backend ? PT_FROM_POD : PT_TO_POD, &err, TC_ACT_OK,
		   SVCD_R_ICMP_ERROR, &want, &out);
}

/*
 * Hairpin: the client pod is the backend and sees the frontend as the
 * source; its port unreachable goes to the frontend address and must
 * reach itself as the client: the outer destination changes too.
 */
static void hairpin_error(struct pt *pt)
{
	static const struct pt_service svc_udp_self =
		SVC_UDP_ON(1, BACKEND(BE_SELF, CLIENT));
	struct pkt_spec first = UDP_C_TO_FE(.payload = "q", .payload_len = 1);
	struct pkt_spec sent = UDP_PKT(FRONTEND, CLIENT_PORT, CLIENT,
				       BACKEND_PORT, .payload = "q",
				       .payload_len = 1);
	struct pkt in, err, want, out;
	__u32 retval;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_udp_self), "set service") ||
	    !ASSERT_OK(pkt_build(&first, &in), "build"))
		return;
	if (!ASSERT_OK(pt_run(pt, PT_FROM_POD, &in, &out, &retval), "DNAT") ||
	    !ASSERT_EQ(retval, TC_ACT_OK, "DNAT verdict"))
		return;
	if (error_frame(pt, &port_unreach, CLIENT, FRONTEND, &sent, 1000, mac_a,
			mac_b, &err) ||
	    error_frame(pt, &port_unreach, CLIENT, CLIENT, &first, 1000, mac_a,
			mac_b, &want))
		return;
	expect_run(pt, PT_FROM_POD, &err, TC_ACT_OK, SVCD_R_ICMP_ERROR, &want,
		   &out);
}

/* An error quoting a packet of no translated flow passes untouched. */
static void not_ours(struct pt *pt)
{
	struct pkt_spec direct = C_TO_A(PKT_SYN);
	struct pkt err, out;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_tcp_a), "set service") ||
	    error_frame(pt, &port_unreach, ROUTER, CLIENT, &direct, 1000, mac_b,
			mac_a, &err))
		return;
	expect_run(pt, PT_TO_POD, &err, TC_ACT_OK, SVCD_R_PASS_OTHER_PROTO,
		   &err, &out);
}

static void run_pod(int family)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	if (test__start_subtest("tcp_port_unreachable_full_quote_to_pod"))
		pod_error(&pt, &port_unreach, false, false, 1000, 0);
	if (test__start_subtest("tcp_time_exceeded_8_byte_quote_to_pod"))
		pod_error(&pt, &time_exceeded, false, false,
			  (family == 6 ? 40 : 20) + 8, 0);
	/* fuzz/corpus/packet/regress-icmp-quote-padding: the quoted TCP
	 * checksum was sought in the padding past the ICMP message, which
	 * was rewritten and its change put in the ICMP checksum */
	if (test__start_subtest("tcp_8_byte_quote_with_padding_to_pod"))
		pod_error(&pt, &time_exceeded, false, false,
			  (family == 6 ? 40 : 20) + 8, 24);
	if (test__start_subtest("tcp_packet_too_big_to_pod"))
		pod_error(&pt, &too_big, false, false, 1000, 0);
	if (test__start_subtest("udp_port_unreachable_from_backend"))
		pod_error(&pt, &port_unreach, true, true, 1000, 0);
	if (test__start_subtest("udp_port_unreachable_8_byte_quote"))
		pod_error(&pt, &port_unreach, true, false,
			  (family == 6 ? 40 : 20) + 8, 0);
	if (test__start_subtest("udp_hairpin_error_outer_destination"))
		hairpin_error(&pt);
	if (test__start_subtest("error_about_untranslated_packet_passes"))
		not_ours(&pt);
	pt_close(&pt);
}

void test_icmp_error(void)
{
	run_pod(4);
}

void test_icmp_error6(void)
{
	run_pod(6);
}

/*
 * NodePort to a remote backend with SNAT (XDP_TX), then backend B's error
 * to node A's SNAT port: from_wire hands it to from_wire_tc
 * (PASS_TO_TC), which translates it back toward the external client.
 */
static void wire_snat_error(struct pt *pt)
{
	static const __u8 mac_up0[6] = MAC_UP0, mac_node_b[6] = MAC_NODE_B;
	struct pkt_spec syn = TCP_PKT(EXT_CLIENT, EXT_PORT, NODE_A,
				      NODEPORT_TCP, PKT_SYN, .seq = SEQ_C,
				      ON_UP0(MAC_CLIENT));
	struct pkt_spec sent = TCP_PKT(NODE_A, 0, BACKEND_B, BACKEND_PORT,
				       PKT_SYN, .seq = SEQ_C);
	struct pkt in, err, out;
	struct pkt_parsed p;
	__u32 retval;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &np_tcp_remote), "set service") ||
	    !ASSERT_OK(pkt_build(&syn, &in), "build"))
		return;
	if (!ASSERT_OK(pt_run(pt, PT_FROM_WIRE, &in, &out, &retval), "SNAT") ||
	    !ASSERT_EQ(retval, XDP_TX, "SNAT: XDP_TX") ||
	    !ASSERT_OK(pkt_parse(out.data, out.len, &p), "SNAT output"))
		return;
	sent.sport = p.sport; /* the SNAT port */
	if (error_frame(pt, &too_big, BACKEND_B, NODE_A, &sent, 1000,
			mac_node_b, mac_up0, &err))
		return;
	expect_run(pt, PT_FROM_WIRE, &err, XDP_PASS, SVCD_R_PASS_TO_TC, NULL,
		   &out);
	/* the mark, unless this kernel's XDP cannot write metadata (then
	 * from_wire_tc looks at every packet: wire.bpf.c xdp_meta) */
	ASSERT_EQ(pt->meta_len, pt->xdp_meta ? sizeof(__u32) : 0,
		  "handoff mark");
	if (ASSERT_EQ(out.len, err.len, "XDP output length"))
		ASSERT_EQ(memcmp(out.data, err.data, err.len), 0,
			  "XDP leaves it untranslated for from_wire_tc");
	/* from_wire_tc's translation is tc_icmp_error4/6(), which to_wire
	 * runs too (host_backend_error_to_wire); BPF_PROG_TEST_RUN gives a
	 * tc program no XDP metadata to find the mark in. */
}

/*
 * A NodePort whose backend is the node itself (hostNetwork): the node's
 * stack answers a UDP datagram with port unreachable, quoting the
 * translated datagram; to_wire translates it back.
 */
static void host_backend_error(struct pt *pt)
{
	static const __u8 mac_client[6] = MAC_CLIENT, mac_up0[6] = MAC_UP0;
	struct pkt_spec dgram = UDP_PKT(EXT_CLIENT, EXT_PORT, NODE_A,
					NODEPORT_UDP, .payload = "query",
					.payload_len = 5, ON_UP0(MAC_CLIENT));
	struct pkt_spec sent = UDP_PKT(EXT_CLIENT, EXT_PORT, NODE_A,
				       BACKEND_PORT, .payload = "query",
				       .payload_len = 5);
	struct pkt in, err, want, out;
	__u32 retval;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &np_udp_host), "set service") ||
	    !ASSERT_OK(pkt_build(&dgram, &in), "build"))
		return;
	if (!ASSERT_OK(pt_run(pt, PT_FROM_WIRE, &in, &out, &retval), "DNAT") ||
	    !ASSERT_EQ(retval, XDP_PASS, "DNAT: XDP_PASS"))
		return;
	if (error_frame(pt, &port_unreach, NODE_A, EXT_CLIENT, &sent, 1000,
			mac_up0, mac_client, &err) ||
	    error_frame(pt, &port_unreach, NODE_A, EXT_CLIENT, &dgram, 1000,
			mac_up0, mac_client, &want))
		return;
	expect_run(pt, PT_TO_WIRE, &err, TC_ACT_OK, SVCD_R_ICMP_ERROR, &want,
		   &out);
}

static void run_wire(int family)
{
	static const struct pt_wire_config cfg = {
		.snat_addr = NODE_A,
		.port_min = WIRE_SNAT_MIN,
		.port_max = WIRE_SNAT_MAX,
	};
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	if (pt_open_wire(&pt, &cfg))
		goto out;
	if (wire_world_enter(&pt))
		goto out;
	if (ASSERT_NEQ(pt.uplink_ifindex, 0, "up0 exists")) {
		if (test__start_subtest("snat_flow_error_handed_to_tc"))
			wire_snat_error(&pt);
		if (test__start_subtest("host_backend_error_to_wire"))
			host_backend_error(&pt);
	}
	pt_netns_leave();
out:
	pt_close(&pt);
}

void test_icmp_error_wire(void)
{
	run_wire(4);
}

void test_icmp_error_wire6(void)
{
	run_wire(6);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_ipv6.c - what only IPv6 has, on from_pod/to_pod: extension headers
 * (walked up to 4 and translated through; a fragment header, an unknown
 * next header or a 5th header pass untranslated as PASS_EXT_HDR, never
 * half-translated), ICMPv6 neighbour discovery passing untouched, UDP
 * without a checksum (invalid over IPv6) or a payload length short of its
 * headers passing untranslated, and a
 * refusal of a packet with extension headers (dropped: the quote would
 * have a variable length). The rows every family shares run as IPv6 in
 * forward6, flows6, refuse6, ... (the same tables, pt_family(6)).
 */
#include "runner.h"
#include "world.h"

#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST 60
#define NEXTHDR_UNKNOWN 253 /* RFC 3692 experimental */

static const struct pt_service svc_tcp_a =
	SVC_TCP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service svc_udp_a =
	SVC_UDP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service svc_tcp_empty = SVC_TCP_ON(1);

static const char payload[] = "GET / HTTP/1.1\r\n\r\n";

#define FWD(svc_id, be, in_, out_)                                         \
	.prog = PT_FROM_POD, .in = in_, .out = out_, .verdict = TC_ACT_OK, \
	.reason = SVCD_R_FORWARD, .out_kind = PT_OUT_PKT,                  \
	.service_id = (svc_id), .stats = NEW_FLOW, .ct_backend = (be),     \
	.ct_count = PT_CT_ENTRIES(2)
#define REV(prog_, svc_id, in_, out_)                                  \
	.prog = (prog_), .in = in_, .out = out_, .verdict = TC_ACT_OK, \
	.reason = SVCD_R_REVERSE, .out_kind = PT_OUT_PKT,              \
	.service_id = (svc_id), .stats = ONE_PACKET
#define PASSES(prog_, reason_, ...)                               \
	.prog = (prog_), .in = __VA_ARGS__, .verdict = TC_ACT_OK, \
	.reason = (reason_), .out_kind = PT_OUT_SAME

/* Headers as a spec's fields. */
#define HBH .ext = { NEXTHDR_HOP }, .n_ext = 1
#define FOUR_EXT                                                             \
	.ext = { NEXTHDR_HOP, NEXTHDR_DEST, NEXTHDR_ROUTING, NEXTHDR_DEST }, \
	.n_ext = 4, .ext_len8 = 1
#define FIVE_EXT                                                           \
	.ext = { NEXTHDR_HOP, NEXTHDR_DEST, NEXTHDR_ROUTING, NEXTHDR_DEST, \
		 NEXTHDR_DEST },                                           \
	.n_ext = 5
/* ICMPv6 neighbour solicitation (type 135): target in the payload */
static const __u8 ns_target[20] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0x96, [15] = 10 };

static const struct pt_case ipv6_cases[] = {
	{
		.name = "hop_by_hop_dnat_and_reverse",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, BE_A, C_TO_FE(PKT_SYN, HBH),
			      C_TO_A(PKT_SYN, HBH)),
			  .ct_state = PT_STATE(SVCD_TCP_SYN_SENT) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK, HBH),
			      FE_TO_C(PKT_SYN | PKT_ACK, HBH)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
			/* the client's ACK ends the handshake */
			{ .prog = PT_FROM_POD, .in = C_TO_FE(PKT_ACK, HBH),
			  .out = C_TO_A(PKT_ACK, HBH), .verdict = TC_ACT_OK,
			  .reason = SVCD_R_FORWARD, .out_kind = PT_OUT_PKT,
			  .service_id = SVC_ID, .stats = ONE_PACKET,
			  .ct_count = PT_CT_ENTRIES(2) },
			{ REV(PT_TO_POD, SVC_ID, A_TO_C(PKT_ACK, HBH),
			      FE_TO_C(PKT_ACK, HBH)) },
		},
	},
	{
		/* 4 headers of 16 bytes: the most the parser walks */
		.name = "four_ext_headers_dnat",
		.services = { &svc_tcp_a },
		.steps = { { FWD(SVC_ID, BE_A,
				 C_TO_FE(PKT_SYN, FOUR_EXT, .payload = payload,
					 .payload_len = sizeof(payload) - 1),
				 C_TO_A(PKT_SYN, FOUR_EXT, .payload = payload,
					.payload_len = sizeof(payload) - 1)) } },
	},
	{
		.name = "udp_with_dest_options_dnat_and_reverse",
		.services = { &svc_udp_a },
		.steps = {
			{ FWD(SVC_ID_UDP, BE_A,
			      UDP_C_TO_FE(.ext = { NEXTHDR_DEST }, .n_ext = 1,
					  .payload = "q", .payload_len = 1),
			      UDP_C_TO_A(.ext = { NEXTHDR_DEST }, .n_ext = 1,
					 .payload = "q", .payload_len = 1)) },
			{ REV(PT_TO_POD, SVC_ID_UDP,
			      UDP_A_TO_C(.payload = "answer", .payload_len = 6),
			      UDP_FE_TO_C(.payload = "answer",
					  .payload_len = 6)) },
		},
	},
	{
		.name = "five_ext_headers_pass",
		.services = { &svc_tcp_a },
		.steps = { { PASSES(PT_FROM_POD, SVCD_R_PASS_EXT_HDR,
				    C_TO_FE(PKT_SYN, FIVE_EXT)) } },
	},
	{
		.name = "fragment_header_pass",
		.services = { &svc_udp_a },
		.steps = { { PASSES(PT_FROM_POD, SVCD_R_PASS_EXT_HDR,
				    UDP_C_TO_FE(.ext = { NEXTHDR_FRAGMENT },
						.n_ext = 1, .frag = PKT_MF,
						.id = 77, .payload = payload,
						.payload_len = 8)) } },
	},
	{
		/* a later fragment: no L4 header at all, but the same rule */
		.name = "later_fragment_after_hop_by_hop_pass",
		.services = { &svc_tcp_a },
		.steps = { { PASSES(PT_FROM_POD, SVCD_R_PASS_EXT_HDR,
				    { .saddr = CLIENT,
				      .daddr = FRONTEND,
				      .proto = 254,
				      .ext = { NEXTHDR_HOP, NEXTHDR_FRAGMENT },
				      .n_ext = 2,
				      .frag = 185,
				      .payload = payload,
				      .payload_len = 16 }) } },
	},
	{
		.name = "unknown_next_header_pass",
		.services = { &svc_tcp_a },
		.steps = { { PASSES(PT_FROM_POD, SVCD_R_PASS_EXT_HDR,
				    C_TO_FE(PKT_SYN,
					    .ext = { NEXTHDR_UNKNOWN },
					    .n_ext = 1)) } },
	},
	{
		.name = "reply_with_fragment_header_to_pod_pass",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, BE_A, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN)) },
			{ PASSES(PT_TO_POD, SVCD_R_PASS_EXT_HDR,
				 A_TO_C(PKT_SYN | PKT_ACK,
					.ext = { NEXTHDR_FRAGMENT },
					.n_ext = 1)),
			  .ct_count = PT_CT_ENTRIES(2) },
		},
	},
	{
		.name = "icmpv6_neighbour_solicitation_untouched",
		.services = { &svc_tcp_a },
		.steps = {
			{ PASSES(PT_FROM_POD, SVCD_R_PASS_OTHER_PROTO,
				 { .saddr = CLIENT,
				   .daddr = FRONTEND,
				   .proto = IPPROTO_ICMPV6,
				   .ttl = 255,
				   .icmp_type = 135,
				   .payload = ns_target + 4,
				   .payload_len = 16 }) },
			{ PASSES(PT_TO_POD, SVCD_R_PASS_OTHER_PROTO,
				 { .saddr = FRONTEND,
				   .daddr = CLIENT,
				   .proto = IPPROTO_ICMPV6,
				   .ttl = 255,
				   .icmp_type = 136,
				   .icmp_rest = 0x60000000,
				   .payload = ns_target + 4,
				   .payload_len = 16 }) },
		},
	},
	{
		/* RFC 8200 8.1: UDP over IPv6 must carry a checksum */
		.name = "udp_zero_checksum_passes_untranslated",
		.services = { &svc_udp_a },
		.steps = { { PASSES(PT_FROM_POD, SVCD_R_PASS_MALFORMED,
				    UDP_C_TO_FE(.udp_zero_csum = true,
						.payload = "q",
						.payload_len = 1)) } },
	},
	{
		/* the payload length must hold the extension and L4 headers
		 * (fuzz/corpus/packet/regress-ipv6-short-payload-length); 0
		 * is a jumbogram's or a BIG TCP packet's */
		.name = "payload_length_short_of_headers_passes",
		.services = { &svc_tcp_a },
		.steps = {
			{ PASSES(PT_FROM_POD, SVCD_R_PASS_MALFORMED,
				 C_TO_FE(PKT_SYN, HBH, .tot_len = 3)) },
			{ PASSES(PT_FROM_POD, SVCD_R_PASS_MALFORMED,
				 C_TO_FE(PKT_SYN, .tot_len = 12)) },
			{ PASSES(PT_TO_POD, SVCD_R_PASS_MALFORMED,
				 A_TO_C(PKT_ACK, .tot_len = 19)) },
			{ FWD(SVC_ID, BE_A, C_TO_FE(PKT_SYN, .tot_len = 20),
			      C_TO_A(PKT_SYN, .tot_len = 20)) },
		},
	},
	{
		.name = "refusal_with_ext_header_dropped",
		.services = { &svc_tcp_empty },
		.steps = { {
			.prog = PT_FROM_POD,
			.in = C_TO_FE(PKT_SYN, HBH),
			.verdict = TC_ACT_SHOT,
			.reason = SVCD_R_DROP_REWRITE,
			.out_kind = PT_OUT_ANY,
			.service_id = SVC_ID,
			.stats = { .no_backend = 1 },
			.ct_count = PT_CT_ENTRIES(0),
		} },
	},
	{
		.name = "tcp_to_other_address_not_ours",
		.services = { &svc_tcp_a },
		.steps = { { PASSES(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
				    TCP_PKT(CLIENT, CLIENT_PORT, ELSEWHERE, TCP_PORT,
					    PKT_SYN)) } },
	},
};

void test_ipv6(void)
{
	struct pt pt;
	size_t i;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, 6);
	/* pt_run_case(), not pt_run_table(): these rows use the fields an
	 * IPv6 run of an IPv4 table leaves out (frag, udp_zero_csum). */
	for (i = 0; i < ARRAY_SIZE(ipv6_cases); i++)
		if (test__start_subtest(ipv6_cases[i].name))
			pt_run_case(&pt, &ipv6_cases[i]);
	pt_close(&pt);
}

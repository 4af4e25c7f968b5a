// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_refuse.c - new flows that cannot be served (docs/datapath.md steps 9
 * and 10): refused with a TCP RST or an ICMP port unreachable (UDP) sent
 * back out of the interface, dropped under EMPTY_DROP, dropped when a slot or backend is
 * missing. None of them leaves conntrack state.
 */
#include "runner.h"
#include "world.h"

static const struct pt_service svc_tcp_empty = SVC_TCP_ON(1);
static const struct pt_service svc_udp_empty = SVC_UDP_ON(1);
static const struct pt_service svc_tcp_empty_drop = {
	.id = SVC_ID,
	.addr = FRONTEND,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.flags = SVCD_FE_EMPTY_DROP | SVCD_FE_LOCAL_ONLY,
};
static const struct pt_service svc_tcp_no_slot = {
	.id = SVC_ID,
	.addr = FRONTEND,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.no_slots = true,
	.backends = { BACKEND(BE_A, BACKEND_A) },
};
static const struct pt_service svc_tcp_no_backend = {
	.id = SVC_ID,
	.addr = FRONTEND,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.no_backends = true,
	.backends = { BACKEND(BE_A, BACKEND_A) },
};
static const struct pt_service svc_tcp_a =
	SVC_TCP_ON(1, BACKEND(BE_A, BACKEND_A));

static const __u8 ip_opts[] = { 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00 };
static const char big_payload[300] = "a UDP datagram longer than its quote";

#define REFUSED(svc_id)                                       \
	.prog = PT_FROM_POD, .verdict = TC_ACT_REDIRECT,      \
	.reason = SVCD_R_REFUSED, .out_kind = PT_OUT_REFUSAL, \
	.service_id = (svc_id), .stats = { .no_backend = 1 }, \
	.ct_count = PT_CT_ENTRIES(0)

static const struct pt_case refuse_cases[] = {
	{
		.name = "udp_no_backend_icmp_port_unreachable",
		.services = { &svc_udp_empty },
		.steps = { { REFUSED(SVC_ID_UDP),
			     .in = UDP_C_TO_FE(.payload = "query",
					       .payload_len = 5) } },
	},
	{
		.name = "udp_long_datagram_quote_is_header_plus_8",
		.services = { &svc_udp_empty },
		.steps = { { REFUSED(SVC_ID_UDP),
			     .in = UDP_C_TO_FE(.payload = big_payload,
					       .payload_len =
						       sizeof(big_payload)) } },
	},
	{
		.name = "udp_zero_checksum_no_backend",
		.services = { &svc_udp_empty },
		.steps = { { REFUSED(SVC_ID_UDP),
			     .in = UDP_C_TO_FE(.udp_zero_csum = true) } },
	},
	{
		/* docs/datapath.md step 9: options are not quoted; dropped */
		.name = "tcp_with_ip_options_dropped",
		.services = { &svc_tcp_empty },
		.steps = { {
			.prog = PT_FROM_POD,
			.in = C_TO_FE(PKT_SYN, .ip_opts = ip_opts,
				      .ip_opts_len = sizeof(ip_opts)),
			.verdict = TC_ACT_SHOT,
			.reason = SVCD_R_DROP_REWRITE,
			.out_kind = PT_OUT_ANY, .service_id = SVC_ID,
			.stats = { .no_backend = 1 },
			.ct_count = PT_CT_ENTRIES(0),
		} },
	},
	{
		/* endpoints exist, none local, externalTrafficPolicy=Local */
		.name = "empty_drop_flag_drops_silently",
		.services = { &svc_tcp_empty_drop },
		.steps = { {
			.prog = PT_FROM_POD, .in = C_TO_FE(PKT_SYN),
			.verdict = TC_ACT_SHOT,
			.reason = SVCD_R_DROP_NO_LOCAL,
			.out_kind = PT_OUT_ANY, .service_id = SVC_ID,
			/* "refusal" or not: the contract does not say */
			.stats_unchecked = true,
			.ct_count = PT_CT_ENTRIES(0),
		} },
	},
	{
		.name = "missing_slot_drops",
		.services = { &svc_tcp_no_slot },
		.steps = { {
			.prog = PT_FROM_POD, .in = C_TO_FE(PKT_SYN),
			.verdict = TC_ACT_SHOT, .reason = SVCD_R_DROP_NO_SLOT,
			.out_kind = PT_OUT_ANY, .service_id = SVC_ID,
			.ct_count = PT_CT_ENTRIES(0),
		} },
	},
	{
		.name = "missing_backend_drops",
		.services = { &svc_tcp_no_backend },
		.steps = { {
			.prog = PT_FROM_POD, .in = C_TO_FE(PKT_SYN),
			.verdict = TC_ACT_SHOT, .reason = SVCD_R_DROP_NO_SLOT,
			.out_kind = PT_OUT_ANY, .service_id = SVC_ID,
			.ct_count = PT_CT_ENTRIES(0),
		} },
	},
	{
		/* a tracked flow keeps its backend even when the service
		 * has none left: no refusal mid-connection */
		.name = "tracked_flow_survives_service_emptied",
		.services = { &svc_tcp_a },
		.steps = {
			{ .prog = PT_FROM_POD, .in = C_TO_FE(PKT_SYN),
			  .out = C_TO_A(PKT_SYN), .verdict = TC_ACT_OK,
			  .reason = SVCD_R_FORWARD, .out_kind = PT_OUT_PKT,
			  .service_id = SVC_ID, .stats = NEW_FLOW },
			{ .set = &svc_tcp_empty, .del_backend = BE_A,
			  .prog = PT_FROM_POD, .in = C_TO_FE(PKT_ACK),
			  .out = C_TO_A(PKT_ACK), .verdict = TC_ACT_OK,
			  .reason = SVCD_R_FORWARD, .out_kind = PT_OUT_PKT,
			  .service_id = SVC_ID, .stats = ONE_PACKET },
		},
	},
};

/*
 * TCP: a RST from the frontend to the client (docs/datapath.md step 9),
 * built here from its fields and compared byte for byte, its checksum
 * (with the IPv4 or IPv6 pseudo-header) verified by pkt_parse().
 */
#define RST_TO_C(flags, ...)                                                \
	TCP_PKT(FRONTEND, TCP_PORT, CLIENT, CLIENT_PORT, PKT_RST | (flags), \
		.smac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0b },             \
		.dmac = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x0a },             \
		.tcp_win_zero = true, __VA_ARGS__)
#define REFUSED_RST(rst)                                              \
	.prog = PT_FROM_POD, .verdict = TC_ACT_REDIRECT,              \
	.reason = SVCD_R_REFUSED, .out_kind = PT_OUT_PKT, .out = rst, \
	.service_id = SVC_ID, .stats = { .no_backend = 1 },           \
	.ct_count = PT_CT_ENTRIES(0)

static const __u8 syn_opts_payload[] = "a SYN with data (TCP Fast Open)";

static const struct pt_case refuse_tcp_cases[] = {
	{
		/* RST+ACK, seq 0, ack = the SYN's seq + 1 */
		.name = "tcp_syn_no_backend_rst",
		.services = { &svc_tcp_empty },
		.steps = { { REFUSED_RST(RST_TO_C(PKT_ACK, .ack = SEQ_C + 1)),
			     .in = C_TO_FE(PKT_SYN) } },
	},
	{
		/* the payload is trimmed off and acknowledged */
		.name = "tcp_syn_with_data_rst_acks_data",
		.services = { &svc_tcp_empty },
		.steps = { { REFUSED_RST(RST_TO_C(
				     PKT_ACK,
				     .ack = SEQ_C + 1 +
					    sizeof(syn_opts_payload))),
			     .in = C_TO_FE(PKT_SYN,
					   .payload = syn_opts_payload,
					   .payload_len =
						   sizeof(syn_opts_payload)) } },
	},
	{
		/* a segment with ACK (no flow: e.g. svcd restarted without
		 * its conntrack): RST, seq = its ack, as tcp_v6_send_reset() */
		.name = "tcp_ack_no_flow_rst_seq_is_its_ack",
		.services = { &svc_tcp_empty },
		.steps = { { REFUSED_RST(RST_TO_C(0, .seq = SEQ_B + 1)),
			     .in = C_TO_FE(PKT_ACK, .ack = SEQ_B + 1) } },
	},
	{
		.name = "tcp_fin_ack_no_flow_rst",
		.services = { &svc_tcp_empty },
		.steps = { { REFUSED_RST(RST_TO_C(0, .seq = 77)),
			     .in = C_TO_FE(PKT_FIN | PKT_ACK, .ack = 77) } },
	},
	{
		/* a RST is never answered */
		.name = "tcp_rst_not_answered",
		.services = { &svc_tcp_empty },
		.steps = { {
			.prog = PT_FROM_POD,
			.in = C_TO_FE(PKT_RST),
			.verdict = TC_ACT_SHOT,
			.reason = SVCD_R_DROP_REWRITE,
			.out_kind = PT_OUT_ANY, .service_id = SVC_ID,
			.stats = { .no_backend = 1 },
			.ct_count = PT_CT_ENTRIES(0),
		} },
	},
	{
		.name = "refusal_repeats_for_every_packet",
		.services = { &svc_tcp_empty },
		.steps = {
			{ REFUSED_RST(RST_TO_C(PKT_ACK, .ack = SEQ_C + 1)),
			  .in = C_TO_FE(PKT_SYN) },
			{ REFUSED_RST(RST_TO_C(PKT_ACK, .ack = SEQ_C + 1)),
			  .in = C_TO_FE(PKT_SYN) },
		},
	},
};

static void run_refuse(int family)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	pt_run_table(&pt, refuse_tcp_cases, ARRAY_SIZE(refuse_tcp_cases));
	pt_run_table(&pt, refuse_cases, ARRAY_SIZE(refuse_cases));
	pt_close(&pt);
}

void test_refuse(void)
{
	run_refuse(4);
}

/* IPv6: TCP refused with a RST, UDP with ICMPv6 1/4; drop vs refuse of
 * Local policies. IPv4 (test_refuse): RST and ICMP 3/3. */
void test_refuse6(void)
{
	run_refuse(6);
}

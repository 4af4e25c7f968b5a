// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_flows.c - flows over several packets (docs/datapath.md steps 6, 8,
 * 11, 12 and "TCP state"): tracked flows keep their backend, replies are
 * translated back in from_pod and to_pod exactly once, hairpin round trips,
 * FIN/RST close a flow so that a new SYN is a new flow.
 */
#include "runner.h"
#include "world.h"

static const struct pt_service svc_tcp_a =
	SVC_TCP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service svc_tcp_b =
	SVC_TCP_ON(2, BACKEND(BE_B, BACKEND_B));
static const struct pt_service svc_udp_a =
	SVC_UDP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service svc_udp_b =
	SVC_UDP_ON(2, BACKEND(BE_B, BACKEND_B));
static const struct pt_service svc_tcp_self =
	SVC_TCP_ON(1, BACKEND(BE_SELF, CLIENT));

static const __u8 ip_opts[] = { 0x94, 0x04, 0x00, 0x00 }; /* router alert */

/* client -> frontend, translated to backend A or B */
#define FWD(svc_id, in_, out_, stats_)                                     \
	.prog = PT_FROM_POD, .in = in_, .out = out_, .verdict = TC_ACT_OK, \
	.reason = SVCD_R_FORWARD, .out_kind = PT_OUT_PKT,                  \
	.service_id = (svc_id), .stats = stats_
/* backend -> client, translated back to frontend -> client */
#define REV(prog_, svc_id, in_, out_)                                  \
	.prog = (prog_), .in = in_, .out = out_, .verdict = TC_ACT_OK, \
	.reason = SVCD_R_REVERSE, .out_kind = PT_OUT_PKT,              \
	.service_id = (svc_id), .stats = ONE_PACKET
#define PASS(prog_, reason_, in_)                                              \
	.prog = (prog_), .in = in_, .verdict = TC_ACT_OK, .reason = (reason_), \
	.out_kind = PT_OUT_SAME

static const struct pt_case flow_cases[] = {
	{
		.name = "tcp_established_keeps_backend_after_slot_change",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW), .ct_backend = BE_A },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
			/* A leaves the service and the backend table; TCP
			 * flows survive endpoint removal */
			{ .set = &svc_tcp_b, .del_backend = BE_A,
			  FWD(SVC_ID, C_TO_FE(PKT_ACK), C_TO_A(PKT_ACK),
			      ONE_PACKET),
			  .ct_count = PT_CT_ENTRIES(2) },
		},
	},
	{
		.name = "tcp_syn_retransmit_keeps_backend",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ .set = &svc_tcp_b,
			  FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      ONE_PACKET),
			  .ct_state = PT_STATE(SVCD_TCP_SYN_SENT) },
		},
	},
	{
		.name = "udp_flow_keeps_backend_after_slot_change",
		.services = { &svc_udp_a },
		.steps = {
			{ FWD(SVC_ID_UDP, UDP_C_TO_FE(), UDP_C_TO_A(),
			      NEW_FLOW), .ct_backend = BE_A },
			{ .set = &svc_udp_b,
			  FWD(SVC_ID_UDP, UDP_C_TO_FE(), UDP_C_TO_A(),
			      ONE_PACKET),
			  .ct_count = PT_CT_ENTRIES(2) },
		},
	},
	{
		.name = "new_flow_after_slot_change_uses_new_backend",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ .set = &svc_tcp_b,
			  FWD(SVC_ID,
			      TCP_PKT(CLIENT, bpf_htons(40001), FRONTEND,
				      TCP_PORT, PKT_SYN),
			      TCP_PKT(CLIENT, bpf_htons(40001), BACKEND_B,
				      BACKEND_PORT, PKT_SYN),
			      NEW_FLOW),
			  .ct_backend = BE_B, .ct_count = PT_CT_ENTRIES(4) },
		},
	},
	{
		.name = "reply_reverse_nat_in_from_pod",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED),
			  .ct_count = PT_CT_ENTRIES(2) },
			{ REV(PT_FROM_POD, SVC_ID,
			      A_TO_C(PKT_ACK, .payload = "hello",
				     .payload_len = 5),
			      FE_TO_C(PKT_ACK, .payload = "hello",
				      .payload_len = 5)) },
		},
	},
	{
		/* backend A is not behind a from_pod hook (another node):
		 * its reply is translated on the way into the client pod */
		.name = "reply_reverse_nat_in_to_pod",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_TO_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
		},
	},
	{
		.name = "to_pod_leaves_translated_reply_alone",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)) },
			{ PASS(PT_TO_POD, SVCD_R_PASS_NOT_OURS,
			       FE_TO_C(PKT_SYN | PKT_ACK)) },
		},
	},
	{
		.name = "udp_reply_reverse_nat",
		.services = { &svc_udp_a },
		.steps = {
			{ FWD(SVC_ID_UDP, UDP_C_TO_FE(.payload = "q",
						      .payload_len = 1),
			      UDP_C_TO_A(.payload = "q", .payload_len = 1),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID_UDP,
			      UDP_A_TO_C(.payload = "answer",
					 .payload_len = 6),
			      UDP_FE_TO_C(.payload = "answer",
					  .payload_len = 6)) },
			{ REV(PT_TO_POD, SVC_ID_UDP,
			      UDP_A_TO_C(.udp_zero_csum = true),
			      UDP_FE_TO_C(.udp_zero_csum = true)) },
		},
	},
	{
		.name = "reply_with_ip_options_reverse_nat",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID,
			      A_TO_C(PKT_SYN | PKT_ACK, .ip_opts = ip_opts,
				     .ip_opts_len = sizeof(ip_opts)),
			      FE_TO_C(PKT_SYN | PKT_ACK, .ip_opts = ip_opts,
				      .ip_opts_len = sizeof(ip_opts))) },
		},
	},
	{
		/* pod -> its own service -> itself: it sees frontend:40000
		 * as the peer and answers there */
		.name = "hairpin_round_trip",
		.services = { &svc_tcp_self },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN),
			      TCP_PKT(FRONTEND, CLIENT_PORT, CLIENT,
				      BACKEND_PORT, PKT_SYN, .seq = SEQ_C),
			      NEW_FLOW), .ct_backend = BE_SELF },
			{ REV(PT_FROM_POD, SVC_ID,
			      TCP_PKT(CLIENT, BACKEND_PORT, FRONTEND,
				      CLIENT_PORT, PKT_SYN | PKT_ACK,
				      .seq = SEQ_B, .ack = SEQ_C + 1),
			      FE_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
			{ FWD(SVC_ID, C_TO_FE(PKT_ACK),
			      TCP_PKT(FRONTEND, CLIENT_PORT, CLIENT,
				      BACKEND_PORT, PKT_ACK, .seq = SEQ_C),
			      ONE_PACKET) },
		},
	},
	{
		.name = "client_fin_closes_then_syn_is_new_flow",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
			{ FWD(SVC_ID, C_TO_FE(PKT_FIN | PKT_ACK),
			      C_TO_A(PKT_FIN | PKT_ACK), ONE_PACKET),
			  .ct_state = PT_STATE(SVCD_TCP_CLOSING) },
			/* still tracked: the last ACK goes to A */
			{ .set = &svc_tcp_b,
			  FWD(SVC_ID, C_TO_FE(PKT_ACK), C_TO_A(PKT_ACK),
			      ONE_PACKET) },
			/* the port is reused: a SYN on a closing flow is new */
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_B(PKT_SYN),
			      NEW_FLOW),
			  .ct_backend = BE_B,
			  .ct_state = PT_STATE(SVCD_TCP_SYN_SENT) },
		},
	},
	{
		.name = "backend_rst_closes_flow",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_RST | PKT_ACK),
			      FE_TO_C(PKT_RST | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_CLOSING) },
			{ .set = &svc_tcp_b,
			  FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_B(PKT_SYN),
			      NEW_FLOW),
			  .ct_backend = BE_B },
		},
	},
	{
		.name = "backend_fin_in_to_pod_closes_flow",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_TO_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
			{ REV(PT_TO_POD, SVC_ID, A_TO_C(PKT_FIN | PKT_ACK),
			      FE_TO_C(PKT_FIN | PKT_ACK)),
			  .ct_state = PT_STATE(SVCD_TCP_CLOSING) },
		},
	},
	{
		/* a backend talking to the client on its own is not a
		 * reply: nothing to translate */
		.name = "backend_initiated_packet_not_translated",
		.services = { &svc_tcp_a },
		.steps = {
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       A_TO_C(PKT_SYN)),
			  .ct_count = PT_CT_ENTRIES(0) },
			{ PASS(PT_TO_POD, SVCD_R_PASS_NOT_OURS,
			       A_TO_C(PKT_SYN)) },
		},
	},
};

void test_flows(void)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_run_table(&pt, flow_cases, ARRAY_SIZE(flow_cases));
	pt_close(&pt);
}

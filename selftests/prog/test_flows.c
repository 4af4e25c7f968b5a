// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_flows.c - flows over several packets (docs/datapath.md steps 6, 8,
 * 11, 12 and "TCP state"): tracked flows keep their backend, replies are
 * translated back in from_pod and to_pod exactly once, hairpin round trips,
 * FIN/RST close a flow so that a new SYN is a new flow.
 */
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>

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

/* a second frontend on backend A (another Service on the same pods) */
#define FRONTEND2 IP4(198, 19, 96, 11)
#define SVC_ID2 9
static const struct pt_service svc2_tcp_a = {
	.id = SVC_ID2,
	.addr = FRONTEND2,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.backends = { BACKEND(BE_A, BACKEND_A) },
};

static const __u8 ip_opts[] = { 0x94, 0x04, 0x00, 0x00 }; /* router alert */

/* client -> frontend, translated to backend A or B */
#define FWD(svc_id, in_, out_, stats_)                                     \
	.prog = PT_FROM_POD, .in = in_, .out = out_, .verdict = TC_ACT_OK, \
	.reason = SVCD_R_FORWARD, .out_kind = PT_OUT_PKT,                  \
	.service_id = (svc_id), .stats = stats_
/* the same with the client's port remapped (a backend tuple clash) */
#define FWD_REMAPPED(svc_id, in_, out_, stats_)                              \
	.prog = PT_FROM_POD, .in = in_, .out = out_, .verdict = TC_ACT_OK,   \
	.reason = SVCD_R_FORWARD, .out_kind = PT_OUT_SNAT, .remapped = true, \
	.service_id = (svc_id), .stats = stats_
/* backend -> client, translated back to frontend -> client */
#define REV(prog_, svc_id, in_, out_)                                  \
	.prog = (prog_), .in = in_, .out = out_, .verdict = TC_ACT_OK, \
	.reason = SVCD_R_REVERSE, .out_kind = PT_OUT_PKT,              \
	.service_id = (svc_id), .stats = ONE_PACKET
#define PASS(prog_, reason_, in_)                                              \
	.prog = (prog_), .in = in_, .verdict = TC_ACT_OK, .reason = (reason_), \
	.out_kind = PT_OUT_SAME

/* The first three steps of a TCP flow through from_pod: the SYN, the
 * backend's SYN-ACK, the client's ACK that ends the handshake. */
#define HANDSHAKE_A                                                        \
	{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN), NEW_FLOW) },      \
		{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),      \
		      FE_TO_C(PKT_SYN | PKT_ACK)) },                       \
	{                                                                  \
		FWD(SVC_ID, C_TO_FE(PKT_ACK), C_TO_A(PKT_ACK), ONE_PACKET) \
	}

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
			/* the handshake's end: the pair leaves svcd_ct_syn */
			{ FWD(SVC_ID, C_TO_FE(PKT_ACK), C_TO_A(PKT_ACK),
			      ONE_PACKET),
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
		/* from_pod tries the frontend first when the destination
		 * port is below the source port (svc_client_first()): this
		 * reply (8080 -> 80) goes to a frontend's address and port,
		 * so the frontend hits and the forward lookup misses; it is
		 * still the flow's reply, not a new flow */
		.name = "hairpin_from_frontend_port_reply_after_frontend_hit",
		.services = { &svc_tcp_self },
		.steps = {
			{ FWD(SVC_ID,
			      TCP_PKT(CLIENT, TCP_PORT, FRONTEND, TCP_PORT,
				      PKT_SYN, .seq = SEQ_C),
			      TCP_PKT(FRONTEND, TCP_PORT, CLIENT,
				      BACKEND_PORT, PKT_SYN, .seq = SEQ_C),
			      NEW_FLOW), .ct_backend = BE_SELF },
			{ REV(PT_FROM_POD, SVC_ID,
			      TCP_PKT(CLIENT, BACKEND_PORT, FRONTEND, TCP_PORT,
				      PKT_SYN | PKT_ACK, .seq = SEQ_B,
				      .ack = SEQ_C + 1),
			      TCP_PKT(FRONTEND, TCP_PORT, CLIENT, TCP_PORT,
				      PKT_SYN | PKT_ACK, .seq = SEQ_B,
				      .ack = SEQ_C + 1)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED),
			  .ct_count = PT_CT_ENTRIES(2) },
			{ FWD(SVC_ID,
			      TCP_PKT(CLIENT, TCP_PORT, FRONTEND, TCP_PORT,
				      PKT_ACK, .seq = SEQ_C),
			      TCP_PKT(FRONTEND, TCP_PORT, CLIENT,
				      BACKEND_PORT, PKT_ACK, .seq = SEQ_C),
			      ONE_PACKET) },
		},
	},
	{
		/* a client port below the backend's: the reply (8080 ->
		 * 1000) looks like a client's packet, misses the frontends
		 * and is found as a reply after all */
		.name = "reply_to_low_client_port",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID,
			      TCP_PKT(CLIENT, bpf_htons(1000), FRONTEND,
				      TCP_PORT, PKT_SYN, .seq = SEQ_C),
			      TCP_PKT(CLIENT, bpf_htons(1000), BACKEND_A,
				      BACKEND_PORT, PKT_SYN, .seq = SEQ_C),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID,
			      TCP_PKT(BACKEND_A, BACKEND_PORT, CLIENT,
				      bpf_htons(1000), PKT_SYN | PKT_ACK,
				      .seq = SEQ_B, .ack = SEQ_C + 1),
			      TCP_PKT(FRONTEND, TCP_PORT, CLIENT,
				      bpf_htons(1000), PKT_SYN | PKT_ACK,
				      .seq = SEQ_B, .ack = SEQ_C + 1)),
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED),
			  .ct_count = PT_CT_ENTRIES(2) },
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
		/* the client reuses its port toward another frontend on
		 * the same backend once the first flow closed (netns
		 * test_f15_weights: two loads in a row): the backend tuple
		 * is still the old flow's (and A's socket of it may be in
		 * TIME_WAIT), so the new flow gets another source port, and
		 * its SYN-ACK is the new flow's, from the new frontend; the
		 * old flow keeps its entries */
		.name = "port_reused_toward_another_frontend",
		.services = { &svc_tcp_a, &svc2_tcp_a },
		.steps = {
			HANDSHAKE_A,
			{ FWD(SVC_ID, C_TO_FE(PKT_FIN | PKT_ACK),
			      C_TO_A(PKT_FIN | PKT_ACK), ONE_PACKET) },
			{ FWD_REMAPPED(SVC_ID2,
				       TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND2,
					       TCP_PORT, PKT_SYN, .seq = SEQ_C),
				       C_TO_A(PKT_SYN), NEW_FLOW),
			  .ct_count = PT_CT_ENTRIES(4) },
			{ REV(PT_FROM_POD, SVC_ID2, A_TO_C(PKT_SYN | PKT_ACK),
			      TCP_PKT(FRONTEND2, TCP_PORT, CLIENT, CLIENT_PORT,
				      PKT_SYN | PKT_ACK, .seq = SEQ_B,
				      .ack = SEQ_C + 1)),
			  .to_snat_port = true },
			/* the handshake's end: the client's port again */
			{ FWD_REMAPPED(SVC_ID2,
				       TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND2,
					       TCP_PORT, PKT_ACK, .seq = SEQ_C),
				       C_TO_A(PKT_ACK), ONE_PACKET) },
			/* the old flow's reply still reads as the old
			 * frontend's */
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_ACK),
			      FE_TO_C(PKT_ACK)) },
		},
	},
	{
		/* the client reuses its port toward the same frontend once
		 * the first flow closed, and the new flow lands on the same
		 * backend: the old flow's tuple, from the same client tuple,
		 * whose TCP timestamps and sequence numbers the backend's
		 * TIME_WAIT sees move forward: the client's port is kept
		 * (another one could meet some other flow's TIME_WAIT) */
		.name = "port_reused_same_frontend_keeps_port",
		.services = { &svc_tcp_a },
		.steps = {
			HANDSHAKE_A,
			{ FWD(SVC_ID, C_TO_FE(PKT_FIN | PKT_ACK),
			      C_TO_A(PKT_FIN | PKT_ACK), ONE_PACKET) },
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW),
			  .ct_count = PT_CT_ENTRIES(3) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)) },
		},
	},
	{
		/* the client closed; a connection svcd never saw (the
		 * stack's rules took its SYN while svcd drained, or a socket
		 * connected to A itself) reuses the port, and A answers it:
		 * the closed flow's reverse entry must not show the client
		 * the frontend. It goes, and so the rest of A's replies
		 * pass too; the closed flow's forward entry goes with it
		 * (left, it would translate the client's packets with no
		 * reverse entry for their replies: fuzz_packet). */
		.name = "stale_synack_on_closed_flow_passes",
		.services = { &svc_tcp_a },
		.steps = {
			HANDSHAKE_A,
			{ FWD(SVC_ID, C_TO_FE(PKT_FIN | PKT_ACK),
			      C_TO_A(PKT_FIN | PKT_ACK), ONE_PACKET) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_STALE_REPLY,
			       A_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_count = PT_CT_ENTRIES(0) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       A_TO_C(PKT_ACK)) },
		},
	},
	{
		/* A sends its SYN-ACK again after the handshake ended (the
		 * client's ACK was slow): the live flow's, translated */
		.name = "synack_again_after_handshake_translated",
		.services = { &svc_tcp_a },
		.steps = {
			HANDSHAKE_A,
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)),
			  .ct_count = PT_CT_ENTRIES(2) },
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
		/* the client connects straight to A from the source port
		 * its closed flow through the frontend used: that flow is
		 * forgotten, and A's SYN-ACK reaches the client as A's */
		.name = "direct_syn_on_closed_flow_tuple",
		.services = { &svc_tcp_a },
		.steps = {
			{ FWD(SVC_ID, C_TO_FE(PKT_SYN), C_TO_A(PKT_SYN),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_SYN | PKT_ACK),
			      FE_TO_C(PKT_SYN | PKT_ACK)) },
			{ FWD(SVC_ID, C_TO_FE(PKT_FIN | PKT_ACK),
			      C_TO_A(PKT_FIN | PKT_ACK), ONE_PACKET),
			  .ct_state = PT_STATE(SVCD_TCP_CLOSING) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       C_TO_A(PKT_SYN)),
			  .ct_count = PT_CT_ENTRIES(0) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       A_TO_C(PKT_SYN | PKT_ACK)) },
		},
	},
	{
		/* the same while the translated flow is live: it keeps its
		 * entries (the two connections collide on A's tuple; the
		 * live one wins) */
		.name = "direct_syn_on_live_flow_tuple",
		.services = { &svc_tcp_a },
		.steps = {
			HANDSHAKE_A,
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       C_TO_A(PKT_SYN)),
			  .ct_count = PT_CT_ENTRIES(2) },
			{ REV(PT_FROM_POD, SVC_ID, A_TO_C(PKT_ACK),
			      FE_TO_C(PKT_ACK)) },
		},
	},
	{
		/* a UDP client reuses its port straight toward A (or toward
		 * a frontend that another node translated to A) while its
		 * flow through the frontend is still live: the latest flow
		 * on A's tuple wins, the old pair goes, and A's replies
		 * reach the client as A's (CI: test_f07_pod_to_nodeport,
		 * a port reused toward b1 through another node's
		 * externalIP); back through the frontend, a new flow */
		.name = "udp_direct_on_live_flow_tuple_forgets_it",
		.services = { &svc_udp_a },
		.steps = {
			{ FWD(SVC_ID_UDP, UDP_C_TO_FE(), UDP_C_TO_A(),
			      NEW_FLOW) },
			{ REV(PT_FROM_POD, SVC_ID_UDP, UDP_A_TO_C(),
			      UDP_FE_TO_C()) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       UDP_C_TO_A()),
			  .ct_count = PT_CT_ENTRIES(0) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       UDP_A_TO_C()) },
			{ PASS(PT_TO_POD, SVCD_R_PASS_NOT_OURS,
			       UDP_A_TO_C()) },
			{ FWD(SVC_ID_UDP, UDP_C_TO_FE(), UDP_C_TO_A(),
			      NEW_FLOW),
			  .ct_count = PT_CT_ENTRIES(2) },
			{ REV(PT_FROM_POD, SVC_ID_UDP, UDP_A_TO_C(),
			      UDP_FE_TO_C()) },
		},
	},
	{
		/* datagrams straight to A from other tuples (another client
		 * port, another port of A) leave the flow alone */
		.name = "udp_direct_on_other_tuples_keeps_flow",
		.services = { &svc_udp_a },
		.steps = {
			{ FWD(SVC_ID_UDP, UDP_C_TO_FE(), UDP_C_TO_A(),
			      NEW_FLOW) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       UDP_PKT(CLIENT, bpf_htons(40001), BACKEND_A,
				       BACKEND_PORT)),
			  .ct_count = PT_CT_ENTRIES(2) },
			{ PASS(PT_FROM_POD, SVCD_R_PASS_NOT_OURS,
			       UDP_PKT(CLIENT, CLIENT_PORT, BACKEND_A,
				       bpf_htons(8081))),
			  .ct_count = PT_CT_ENTRIES(2) },
			{ REV(PT_FROM_POD, SVC_ID_UDP, UDP_A_TO_C(),
			      UDP_FE_TO_C()) },
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

/* Runs one packet through from_pod; false (and recorded) on failure. */
static bool run_from_pod(struct pt *pt, const struct pkt_spec *spec,
			 const char *what)
{
	struct pkt in, out;
	__u32 retval;

	pkt_build(spec, &in);
	return ASSERT_OK(pt_run(pt, PT_FROM_POD, &in, &out, &retval), what) &&
	       ASSERT_EQ(retval, TC_ACT_OK, what);
}

/* Both conntrack entries of the client's flow to A. */
static bool flow_entries(struct pt *pt, struct svcd_ct_value *fwd,
			 struct svcd_ct_value *rev)
{
	return ASSERT_OK(pt_ct_get(pt, CLIENT, FRONTEND, CLIENT_PORT, TCP_PORT,
				   IPPROTO_TCP, SVCD_CT_FORWARD, fwd),
			 "forward entry") &&
	       ASSERT_OK(pt_ct_get(pt, BACKEND_A, CLIENT, BACKEND_PORT,
				   CLIENT_PORT, IPPROTO_TCP, SVCD_CT_REVERSE,
				   rev),
			 "reverse entry");
}

static void ct_entry_put(struct pt *pt, __be32 saddr, __be32 daddr,
			 __be16 sport, __be16 dport, __u8 dir,
			 const struct svcd_ct_value *val)
{
	struct svcd_ct_key key = {
		.saddr = saddr,
		.daddr = daddr,
		.sport = sport,
		.dport = dport,
		.proto = IPPROTO_TCP,
		.dir = dir,
	};

	ASSERT_OK(bpf_map_update_elem(pt->conntrack, &key, val, BPF_EXIST),
		  "rewrite a conntrack entry");
}

/*
 * A reply looks at the flow's forward entry only when it has something to
 * change there (docs/datapath.md step 6): the first reply, a FIN or RST,
 * or the once-a-second refresh that keeps the forward entry alive while
 * only the backend talks. Marked on the forward entry: a last_seen_ns that
 * only a skipped lookup leaves alone.
 */
static void reply_touches_forward_when_needed(struct pt *pt)
{
	struct pkt_spec syn = C_TO_FE(PKT_SYN),
			synack = A_TO_C(PKT_SYN | PKT_ACK);
	struct pkt_spec ack = A_TO_C(PKT_ACK), fin = A_TO_C(PKT_FIN | PKT_ACK),
			client_ack = C_TO_FE(PKT_ACK);
	struct svcd_ct_value fwd, rev;
	const __u64 mark = 12345; /* in the past, and recognisable */

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_tcp_a), "set service") ||
	    !run_from_pod(pt, &syn, "SYN") ||
	    !run_from_pod(pt, &synack, "SYN-ACK") ||
	    !run_from_pod(pt, &client_ack, "the client's ACK") ||
	    !flow_entries(pt, &fwd, &rev))
		return;
	ASSERT_EQ(fwd.tcp_state, SVCD_TCP_ESTABLISHED,
		  "the first reply moved the forward entry");

	/* an established reply, reverse entry fresh: forward untouched */
	fwd.last_seen_ns = mark;
	ct_entry_put(pt, CLIENT, FRONTEND, CLIENT_PORT, TCP_PORT,
		     SVCD_CT_FORWARD, &fwd);
	if (!run_from_pod(pt, &ack, "established reply") ||
	    !flow_entries(pt, &fwd, &rev))
		return;
	ASSERT_EQ(
		fwd.last_seen_ns, mark,
		"established reply with a fresh reverse entry: no forward lookup");

	/* the reverse entry due for its refresh: the forward one too */
	rev.last_seen_ns -= 2 * SVCD_CT_REFRESH_NS;
	ct_entry_put(pt, BACKEND_A, CLIENT, BACKEND_PORT, CLIENT_PORT,
		     SVCD_CT_REVERSE, &rev);
	if (!run_from_pod(pt, &ack, "reply after a second") ||
	    !flow_entries(pt, &fwd, &rev))
		return;
	ASSERT_GT(fwd.last_seen_ns, mark, "refresh reached the forward entry");

	/* a FIN while both are fresh: the forward entry closes */
	fwd.last_seen_ns = mark;
	ct_entry_put(pt, CLIENT, FRONTEND, CLIENT_PORT, TCP_PORT,
		     SVCD_CT_FORWARD, &fwd);
	if (!run_from_pod(pt, &fin, "FIN reply") ||
	    !flow_entries(pt, &fwd, &rev))
		return;
	ASSERT_EQ(fwd.tcp_state, SVCD_TCP_CLOSING,
		  "FIN closed the forward entry");
	ASSERT_EQ(rev.tcp_state, SVCD_TCP_CLOSING, "and the reverse entry");
}

/* Runs one packet through from_pod; true when it left as want. */
static bool from_pod_gives(struct pt *pt, const struct pkt_spec *spec,
			   const struct pkt_spec *want_spec, const char *what)
{
	struct pkt in, out, want;
	__u32 retval;

	pkt_build(spec, &in);
	pkt_build(want_spec, &want);
	return ASSERT_OK(pt_run(pt, PT_FROM_POD, &in, &out, &retval), what) &&
	       ASSERT_EQ(retval, TC_ACT_OK, what) &&
	       ASSERT_EQ(out.len, want.len, what) &&
	       ASSERT_OK(memcmp(out.data, want.data, want.len), what);
}

/*
 * docs/design.md "Conntrack under pressure": a SYN's entry pair lives in
 * svcd_ct_syn until the handshake ends (the client's ACK after the
 * backend's SYN-ACK), then moves whole to svcd_conntrack; an ACK before
 * any reply moves nothing.
 */
static void handshake_moves_pair(struct pt *pt)
{
	struct pkt_spec syn = C_TO_FE(PKT_SYN),
			synack = A_TO_C(PKT_SYN | PKT_ACK),
			ack = C_TO_FE(PKT_ACK), ack_out = C_TO_A(PKT_ACK),
			reply = A_TO_C(PKT_ACK), reply_out = FE_TO_C(PKT_ACK);
	struct svcd_ct_value fwd, rev;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_tcp_a), "set service") ||
	    !run_from_pod(pt, &syn, "SYN"))
		return;
	ASSERT_EQ(pt_ct_syn_count(pt), 2, "SYN: a pair in svcd_ct_syn");
	ASSERT_EQ(pt_ct_count(pt), 2, "SYN: nothing in svcd_conntrack");
	/* an ACK before the backend answered: translated, not moved */
	if (!from_pod_gives(pt, &ack, &ack_out, "ACK before the SYN-ACK"))
		return;
	ASSERT_EQ(pt_ct_syn_count(pt), 2, "early ACK: still embryonic");
	if (!run_from_pod(pt, &synack, "SYN-ACK"))
		return;
	ASSERT_EQ(pt_ct_syn_count(pt), 2, "SYN-ACK: still embryonic");
	if (!from_pod_gives(pt, &ack, &ack_out, "the client's ACK"))
		return;
	ASSERT_EQ(pt_ct_syn_count(pt), 0, "ACK: svcd_ct_syn empty");
	ASSERT_EQ(pt_ct_count(pt), 2, "ACK: the pair in svcd_conntrack");
	if (!flow_entries(pt, &fwd, &rev))
		return;
	ASSERT_EQ(fwd.backend_id, BE_A, "moved: same backend");
	ASSERT_EQ(fwd.tcp_state, SVCD_TCP_ESTABLISHED, "moved: established");
	ASSERT_EQ(rev.tcp_state, SVCD_TCP_ESTABLISHED, "reverse moved too");
	from_pod_gives(pt, &reply, &reply_out, "a reply after the move");
}

/*
 * A SYN flood churns svcd_ct_syn only: an established flow's pair in
 * svcd_conntrack survives twice svcd_ct_syn's size in SYNs, and its next
 * packet still goes to its backend after the service moved to B.
 */
static void syn_flood_spares_established(struct pt *pt)
{
	struct pkt_spec syn = C_TO_FE(PKT_SYN),
			synack = A_TO_C(PKT_SYN | PKT_ACK),
			ack = C_TO_FE(PKT_ACK), ack_out = C_TO_A(PKT_ACK);
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), size, i;
	struct svcd_ct_value fwd, rev;
	char what[64];

	if (!ASSERT_OK(bpf_obj_get_info_by_fd(pt->ct_syn, &info, &len),
		       "svcd_ct_syn's size"))
		return;
	size = info.max_entries;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_tcp_a), "set service") ||
	    !run_from_pod(pt, &syn, "SYN") ||
	    !run_from_pod(pt, &synack, "SYN-ACK") ||
	    !run_from_pod(pt, &ack, "ACK"))
		return;
	for (i = 0; i < 2 * size; i++) {
		struct pkt_spec flood = TCP_PKT(CLIENT, bpf_htons(1024 + i),
						FRONTEND, TCP_PORT, PKT_SYN);

		snprintf(what, sizeof(what), "flood SYN %u", i);
		if (!run_from_pod(pt, &flood, what))
			return;
	}
	ASSERT_LE(pt_ct_syn_count(pt), (int)size, "svcd_ct_syn at most full");
	ASSERT_GE(pt_ct_syn_count(pt), (int)size / 2, "the flood filled it");
	ASSERT_EQ(pt_ct_count(pt) - pt_ct_syn_count(pt), 2,
		  "svcd_conntrack: the established pair only");
	if (!flow_entries(pt, &fwd, &rev) ||
	    !ASSERT_OK(pt_service_set(pt, &svc_tcp_b), "service moves to B"))
		return;
	from_pod_gives(pt, &ack, &ack_out, "established flow after the flood");
}

/*
 * svcd --cleanup --drain (svcd_control SVCD_CTL_DRAIN): a new flow passes
 * untranslated, for the stack's rules (kube-proxy's) to take; the flows
 * conntrack holds are still translated both ways; cleared, new flows are
 * translated again.
 */
static void drain_keeps_tracked_flows(struct pt *pt)
{
	struct pkt_spec syn = C_TO_FE(PKT_SYN),
			synack = A_TO_C(PKT_SYN | PKT_ACK),
			ack = C_TO_FE(PKT_ACK), ack_out = C_TO_A(PKT_ACK),
			reply = A_TO_C(PKT_ACK), reply_out = FE_TO_C(PKT_ACK);
	struct pkt_spec syn2 = TCP_PKT(CLIENT, bpf_htons(40001), FRONTEND,
				       TCP_PORT, PKT_SYN, .seq = SEQ_C),
			syn2_out = TCP_PKT(CLIENT, bpf_htons(40001), BACKEND_A,
					   BACKEND_PORT, PKT_SYN, .seq = SEQ_C),
			udp = UDP_C_TO_FE(), fin = C_TO_FE(PKT_FIN | PKT_ACK),
			fin_out = C_TO_A(PKT_FIN | PKT_ACK);

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_tcp_a), "set service") ||
	    !ASSERT_OK(pt_service_set(pt, &svc_udp_a), "set UDP service") ||
	    !run_from_pod(pt, &syn, "SYN") ||
	    !run_from_pod(pt, &synack, "SYN-ACK") ||
	    !run_from_pod(pt, &ack, "ACK") ||
	    !ASSERT_OK(pt_control_set(pt, SVCD_CTL_DRAIN), "drain"))
		return;
	from_pod_gives(pt, &syn2, &syn2, "draining: a new SYN passes as it is");
	from_pod_gives(pt, &udp, &udp,
		       "draining: a new UDP flow passes as it is");
	ASSERT_EQ(pt_ct_count(pt), 2, "draining: no entry made");
	from_pod_gives(pt, &ack, &ack_out, "draining: tracked flow forward");
	from_pod_gives(pt, &reply, &reply_out, "draining: tracked flow reply");
	/* the tracked flow closes; the client reuses its port for a new
	 * connection, which the stack's rules take (to A again): svcd's
	 * dead pair must not translate A's SYN-ACK */
	if (!from_pod_gives(pt, &fin, &fin_out, "draining: FIN") ||
	    !from_pod_gives(pt, &syn, &syn, "draining: SYN on the old tuple"))
		return;
	from_pod_gives(pt, &synack, &synack,
		       "draining: the stack's flow's SYN-ACK untouched");
	if (!ASSERT_OK(pt_control_set(pt, 0), "drain off"))
		return;
	from_pod_gives(pt, &syn2, &syn2_out, "drain off: the SYN translated");
}

/* IPv6: the same TCP/UDP lifecycles (states, lifetimes, port reuse). */
void test_flows6(void)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, 6);
	pt_run_table(&pt, flow_cases, ARRAY_SIZE(flow_cases));
	pt_close(&pt);
}

void test_flows(void)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_run_table(&pt, flow_cases, ARRAY_SIZE(flow_cases));
	if (test__start_subtest("reply_touches_forward_when_needed"))
		reply_touches_forward_when_needed(&pt);
	if (test__start_subtest("handshake_moves_pair"))
		handshake_moves_pair(&pt);
	if (test__start_subtest("syn_flood_spares_established"))
		syn_flood_spares_established(&pt);
	if (test__start_subtest("drain_keeps_tracked_flows"))
		drain_keeps_tracked_flows(&pt);
	pt_close(&pt);
}

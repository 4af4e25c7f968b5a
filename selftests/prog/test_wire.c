// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_wire.c - wire.bpf.o's from_wire (XDP on uplinks) for traffic from
 * outside: NodePort / externalIP / LoadBalancer DNAT to a local backend
 * (XDP_PASS, the stack delivers it), DNAT + SNAT to a remote backend
 * (XDP_TX when the route leads back out the uplink, handed to
 * from_wire_tc when it needs a neighbour lookup or another interface),
 * the replies of both, externalTrafficPolicy Local, loadBalancerSourceRanges,
 * refusal left to the stack, and what is not ours passing untouched.
 *
 * The verdict of a translated packet depends on the FIB, which
 * BPF_PROG_TEST_RUN consults in the test process's network namespace, so
 * the test runs in a namespace of its own with the routes of world.h
 * (WIRE_BATCH): every row then has one right verdict. The maps are the
 * pod object's (pt_open_wire reuses them), as svcd shares them by pins.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>

#include "runner.h"
#include "world.h"

/* ---- services ----------------------------------------------------------- */

#define NP_TCP 20 /* service ids */
#define NP_UDP 21
#define NP_LOCAL 22
#define EIP 23
#define LB 24
#define CIP 25

#define LOCAL_BE(id_, addr_)                                        \
	{                                                           \
		.id = (id_), .addr = (addr_), .port = BACKEND_PORT, \
		.flags = SVCD_BE_LOCAL                              \
	}

/* A frontend for traffic from outside (scope EXTERNAL) on addr_:port_. */
#define EXT_SVC(id_, addr_, port_, proto_, flags_, ...)         \
	{                                                       \
		.id = (id_), .addr = (addr_), .port = (port_),  \
		.proto = (proto_), .rev = 1, .external = true,  \
		.flags = (flags_), .backends = { __VA_ARGS__ }, \
	}

/* externalTrafficPolicy Cluster (SNAT toward remote backends) */
#define CLUSTER_NP (SVCD_TYPE_NODE_PORT | SVCD_FE_SNAT | SVCD_FE_NODE_ADDR)
/* externalTrafficPolicy Local */
#define LOCAL_NP (SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY | SVCD_FE_NODE_ADDR)

static const struct pt_service np_tcp_local =
	EXT_SVC(NP_TCP, NODE_A, NODEPORT_TCP, IPPROTO_TCP, CLUSTER_NP,
		LOCAL_BE(BE_A, BACKEND_A));
static const struct pt_service np_tcp_remote =
	EXT_SVC(NP_TCP, NODE_A, NODEPORT_TCP, IPPROTO_TCP, CLUSTER_NP,
		BACKEND(BE_B, BACKEND_B));
static const struct pt_service np_tcp_no_neigh =
	EXT_SVC(NP_TCP, NODE_A, NODEPORT_TCP, IPPROTO_TCP, CLUSTER_NP,
		BACKEND(BE_C, BACKEND_C));
static const struct pt_service np_tcp_other_uplink =
	EXT_SVC(NP_TCP, NODE_A, NODEPORT_TCP, IPPROTO_TCP, CLUSTER_NP,
		BACKEND(BE_D, BACKEND_D));
static const struct pt_service np_tcp_host =
	EXT_SVC(NP_TCP, NODE_A, NODEPORT_TCP, IPPROTO_TCP, CLUSTER_NP,
		LOCAL_BE(BE_HOST, NODE_A));
static const struct pt_service np_tcp_empty =
	EXT_SVC(NP_TCP, NODE_A, NODEPORT_TCP, IPPROTO_TCP, CLUSTER_NP);
static const struct pt_service np_udp_local =
	EXT_SVC(NP_UDP, NODE_A, NODEPORT_UDP, IPPROTO_UDP, CLUSTER_NP,
		LOCAL_BE(BE_A, BACKEND_A));
static const struct pt_service np_udp_remote =
	EXT_SVC(NP_UDP, NODE_A, NODEPORT_UDP, IPPROTO_UDP, CLUSTER_NP,
		BACKEND(BE_B, BACKEND_B));
static const struct pt_service np_udp_empty =
	EXT_SVC(NP_UDP, NODE_A, NODEPORT_UDP, IPPROTO_UDP, CLUSTER_NP);
static const struct pt_service np_etp_local =
	EXT_SVC(NP_LOCAL, NODE_A, NODEPORT_TCP, IPPROTO_TCP, LOCAL_NP,
		LOCAL_BE(BE_A, BACKEND_A));
/* endpoints exist, none on this node */
static const struct pt_service np_etp_local_none =
	EXT_SVC(NP_LOCAL, NODE_A, NODEPORT_TCP, IPPROTO_TCP,
		LOCAL_NP | SVCD_FE_EMPTY_DROP);
static const struct pt_service eip_remote =
	EXT_SVC(EIP, EXTERNAL_IP, SVC_PORT, IPPROTO_TCP,
		SVCD_TYPE_EXTERNAL_IP | SVCD_FE_SNAT, BACKEND(BE_B, BACKEND_B));
static const struct pt_service lb_ranges =
	EXT_SVC(LB, LB_IP, SVC_PORT, IPPROTO_TCP,
		SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT | SVCD_FE_SRC_RANGES,
		LOCAL_BE(BE_A, BACKEND_A));
/* the same LoadBalancer IP when the Service sets no source ranges */
static const struct pt_service lb_open = EXT_SVC(
	LB, LB_IP, SVC_PORT, IPPROTO_TCP,
	SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SNAT, LOCAL_BE(BE_A, BACKEND_A));
/* a ClusterIP: a frontend for local pods only (scope INTERNAL) */
static const struct pt_service cluster_ip = {
	.id = CIP,
	.addr = FRONTEND,
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.backends = { LOCAL_BE(BE_A, BACKEND_A) },
};

/* ---- packets -------------------------------------------------------------- */

/* client -> dst:dport, as it arrives on up0 */
#define EXT_TO(dst, dport, flags, ...)                                 \
	TCP_PKT(EXT_CLIENT, EXT_PORT, dst, dport, flags, .seq = SEQ_C, \
		ON_UP0(MAC_CLIENT), __VA_ARGS__)
#define UDP_EXT_TO(dst, dport, ...)                                   \
	UDP_PKT(EXT_CLIENT, EXT_PORT, dst, dport, ON_UP0(MAC_CLIENT), \
		__VA_ARGS__)
/* the same after DNAT only (MACs untouched: the stack forwards it) */
#define EXT_TO_BE(be, flags, ...) EXT_TO(be, BACKEND_PORT, flags, __VA_ARGS__)
#define UDP_EXT_TO_BE(be, ...) UDP_EXT_TO(be, BACKEND_PORT, __VA_ARGS__)
/* after DNAT + SNAT, sent back out up0 to node B (source port: SNAT's) */
#define SNAT_TO_B(flags, ...)                                            \
	TCP_PKT(NODE_A, 0, BACKEND_B, BACKEND_PORT, flags, .seq = SEQ_C, \
		TX_TO(MAC_NODE_B), __VA_ARGS__)
#define UDP_SNAT_TO_B(...)                                             \
	UDP_PKT(NODE_A, 0, BACKEND_B, BACKEND_PORT, TX_TO(MAC_NODE_B), \
		__VA_ARGS__)
/* backend B's reply to node A's SNAT port (set by .to_snat_port) */
#define B_TO_SNAT(flags, ...)                                            \
	TCP_PKT(BACKEND_B, BACKEND_PORT, NODE_A, 0, flags, .seq = SEQ_B, \
		.ack = SEQ_C + 1, ON_UP0(MAC_NODE_B), __VA_ARGS__)
#define UDP_B_TO_SNAT(...)                                              \
	UDP_PKT(BACKEND_B, BACKEND_PORT, NODE_A, 0, ON_UP0(MAC_NODE_B), \
		__VA_ARGS__)
/* the reply as the client must get it, sent back out up0 */
#define FROM_TO_CLIENT(src, sport, flags, ...)                         \
	TCP_PKT(src, sport, EXT_CLIENT, EXT_PORT, flags, .seq = SEQ_B, \
		.ack = SEQ_C + 1, TX_TO(MAC_CLIENT), __VA_ARGS__)
#define UDP_FROM_TO_CLIENT(src, sport, ...)                          \
	UDP_PKT(src, sport, EXT_CLIENT, EXT_PORT, TX_TO(MAC_CLIENT), \
		__VA_ARGS__)

/* 39 NOPs and an end of list: the longest IPv4 header */
static const __u8 ip_opts40[40] = {
	[0 ... 38] = 0x01,
	[39] = 0x00,
};
static const char dns_query[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00";
static const char dns_answer[] = "\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00";

/* ---- steps ------------------------------------------------------------------ */

/* DNAT toward a local backend: the stack delivers it (XDP_PASS). */
#define PASS_DNAT(svc_id, be, in_, out_)                                   \
	.prog = PT_FROM_WIRE, .in = in_, .out = out_, .verdict = XDP_PASS, \
	.reason = SVCD_R_FORWARD, .out_kind = PT_OUT_PKT,                  \
	.service_id = (svc_id), .stats = NEW_FLOW, .ct_backend = (be),     \
	.ct_count = PT_CT_ENTRIES(2)
/* translated and sent straight back out up0 */
#define TX(svc_id, in_, out_, kind, stats_)                              \
	.prog = PT_FROM_WIRE, .in = in_, .out = out_, .verdict = XDP_TX, \
	.reason = SVCD_R_TX, .out_kind = (kind), .service_id = (svc_id), \
	.stats = stats_
/* left untranslated, marked, for from_wire_tc */
#define HANDOFF(svc_id, in_, stats_)                                           \
	.prog = PT_FROM_WIRE, .in = in_, .verdict = XDP_PASS,                  \
	.reason = SVCD_R_PASS_TO_TC, .out_kind = PT_OUT_SAME, .handoff = true, \
	.service_id = (svc_id), .stats = stats_, .ct_count = PT_CT_ENTRIES(2)
#define XDP_DROPPED(svc_id, reason_, in_, stats_)                            \
	.prog = PT_FROM_WIRE, .in = in_, .verdict = XDP_DROP,                \
	.reason = (reason_), .out_kind = PT_OUT_ANY, .service_id = (svc_id), \
	.stats = stats_
#define XDP_PASSED(reason_, ...)                                      \
	.prog = PT_FROM_WIRE, .in = __VA_ARGS__, .verdict = XDP_PASS, \
	.reason = (reason_), .out_kind = PT_OUT_SAME,                 \
	.ct_count = PT_CT_ENTRIES(0)

#define NO_BACKEND              \
	{                       \
		.no_backend = 1 \
	}
#define NEW_FLOW_ONLY          \
	{                      \
		.new_flows = 1 \
	}

static const struct pt_case wire_cases[] = {
	{
		/* eTP Cluster, local backend: DNAT only; the reply passes
		 * from_pod, which sends it out itself (source = node). */
		.name = "nodeport_tcp_local_backend_dnat_and_reply",
		.services = { &np_tcp_local },
		.steps = {
			{ PASS_DNAT(NP_TCP, BE_A,
				    EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				    EXT_TO_BE(BACKEND_A, PKT_SYN)),
			  .ct_fwd_flags = PT_FLAGS(0),
			  .ct_rev_flags = PT_FLAGS(SVCD_CT_LOCAL_SRC),
			  .ct_state = PT_STATE(SVCD_TCP_SYN_SENT) },
			{ .prog = PT_FROM_POD,
			  .in = TCP_PKT(BACKEND_A, BACKEND_PORT, EXT_CLIENT,
					EXT_PORT, PKT_SYN | PKT_ACK,
					.seq = SEQ_B, .ack = SEQ_C + 1),
			  .out = FROM_TO_CLIENT(NODE_A, NODEPORT_TCP,
						PKT_SYN | PKT_ACK),
			  .verdict = TC_ACT_REDIRECT, .reason = SVCD_R_REVERSE,
			  .out_kind = PT_OUT_PKT, .service_id = NP_TCP,
			  .stats = ONE_PACKET,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
			{ .prog = PT_FROM_WIRE,
			  .in = EXT_TO(NODE_A, NODEPORT_TCP, PKT_ACK),
			  .out = EXT_TO_BE(BACKEND_A, PKT_ACK),
			  .verdict = XDP_PASS, .reason = SVCD_R_FORWARD,
			  .out_kind = PT_OUT_PKT, .service_id = NP_TCP,
			  .stats = ONE_PACKET, .ct_count = PT_CT_ENTRIES(2) },
		},
	},
	{
		.name = "nodeport_udp_local_backend_dnat",
		.services = { &np_udp_local },
		.steps = { {
			PASS_DNAT(NP_UDP, BE_A,
				  UDP_EXT_TO(NODE_A, NODEPORT_UDP,
					     .payload = dns_query,
					     .payload_len = sizeof(dns_query) - 1),
				  UDP_EXT_TO_BE(BACKEND_A, .payload = dns_query,
						.payload_len =
							sizeof(dns_query) - 1)),
			.ct_fwd_flags = PT_FLAGS(0),
			.ct_rev_flags = PT_FLAGS(SVCD_CT_LOCAL_SRC),
		} },
	},
	{
		/* the client's next datagram from the same port goes to A
		 * itself (or to a frontend another node translated to A):
		 * the NodePort flow's pair goes, and A's reply leaves as
		 * A's (svc_af.h ct_forget_reused()) */
		.name = "nodeport_udp_then_straight_to_backend_forgets_flow",
		.services = { &np_udp_local },
		.steps = {
			{ PASS_DNAT(NP_UDP, BE_A,
				    UDP_EXT_TO(NODE_A, NODEPORT_UDP),
				    UDP_EXT_TO_BE(BACKEND_A)) },
			{ XDP_PASSED(SVCD_R_PASS_NOT_OURS,
				     UDP_EXT_TO_BE(BACKEND_A)) },
			{ .prog = PT_FROM_POD,
			  .in = UDP_PKT(BACKEND_A, BACKEND_PORT, EXT_CLIENT,
					EXT_PORT),
			  .verdict = TC_ACT_OK,
			  .reason = SVCD_R_PASS_NOT_OURS,
			  .out_kind = PT_OUT_SAME },
		},
	},
	{
		.name = "nodeport_udp_zero_checksum_local_stays_zero",
		.services = { &np_udp_local },
		.steps = { {
			PASS_DNAT(NP_UDP, BE_A,
				  UDP_EXT_TO(NODE_A, NODEPORT_UDP,
					     .udp_zero_csum = true,
					     .payload = dns_query,
					     .payload_len = sizeof(dns_query) - 1),
				  UDP_EXT_TO_BE(BACKEND_A, .udp_zero_csum = true,
						.payload = dns_query,
						.payload_len =
							sizeof(dns_query) - 1)),
		} },
	},
	{
		/* eTP Cluster, remote backend: DNAT + SNAT to node A, out
		 * the uplink it came in on; the reply comes back to node A's
		 * SNAT port and goes back out to the client. */
		.name = "nodeport_tcp_remote_backend_snat_tx_and_reply",
		.services = { &np_tcp_remote },
		.steps = {
			{ TX(NP_TCP, EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
			     SNAT_TO_B(PKT_SYN), PT_OUT_SNAT, NEW_FLOW),
			  .ct_backend = BE_B, .ct_count = PT_CT_ENTRIES(2),
			  .ct_fwd_flags =
				  PT_FLAGS(SVCD_CT_SNAT | SVCD_CT_LOCAL_SRC),
			  .ct_rev_flags = PT_FLAGS(SVCD_CT_LOCAL_SRC),
			  .ct_state = PT_STATE(SVCD_TCP_SYN_SENT) },
			{ TX(NP_TCP, B_TO_SNAT(PKT_SYN | PKT_ACK),
			     FROM_TO_CLIENT(NODE_A, NODEPORT_TCP,
					    PKT_SYN | PKT_ACK),
			     PT_OUT_PKT, ONE_PACKET),
			  .to_snat_port = true, .reply = true,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
			/* the flow keeps its SNAT port */
			{ TX(NP_TCP, EXT_TO(NODE_A, NODEPORT_TCP, PKT_ACK),
			     SNAT_TO_B(PKT_ACK), PT_OUT_SNAT, ONE_PACKET),
			  .ct_count = PT_CT_ENTRIES(2) },
			{ TX(NP_TCP, EXT_TO(NODE_A, NODEPORT_TCP,
					   PKT_FIN | PKT_ACK),
			     SNAT_TO_B(PKT_FIN | PKT_ACK), PT_OUT_SNAT,
			     ONE_PACKET),
			  .ct_state = PT_STATE(SVCD_TCP_CLOSING) },
		},
	},
	{
		/* the L4 header further in: 40 bytes of IPv4 options */
		.name = "nodeport_snat_with_ip_options",
		.services = { &np_tcp_remote },
		.steps = { {
			TX(NP_TCP,
			   EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN,
				  .ip_opts = ip_opts40,
				  .ip_opts_len = sizeof(ip_opts40)),
			   SNAT_TO_B(PKT_SYN, .ip_opts = ip_opts40,
				     .ip_opts_len = sizeof(ip_opts40)),
			   PT_OUT_SNAT, NEW_FLOW),
			.ct_backend = BE_B,
		} },
	},
	{
		.name = "nodeport_udp_remote_backend_snat_tx_and_reply",
		.services = { &np_udp_remote },
		.steps = {
			{ TX(NP_UDP,
			     UDP_EXT_TO(NODE_A, NODEPORT_UDP,
					.payload = dns_query,
					.payload_len = sizeof(dns_query) - 1),
			     UDP_SNAT_TO_B(.payload = dns_query,
					   .payload_len = sizeof(dns_query) - 1),
			     PT_OUT_SNAT, NEW_FLOW),
			  .ct_backend = BE_B, .ct_count = PT_CT_ENTRIES(2),
			  .ct_fwd_flags =
				  PT_FLAGS(SVCD_CT_SNAT | SVCD_CT_LOCAL_SRC),
			  .ct_rev_flags = PT_FLAGS(SVCD_CT_LOCAL_SRC) },
			{ TX(NP_UDP,
			     UDP_B_TO_SNAT(.payload = dns_answer,
					   .payload_len = sizeof(dns_answer) - 1),
			     UDP_FROM_TO_CLIENT(NODE_A, NODEPORT_UDP,
						.payload = dns_answer,
						.payload_len =
							sizeof(dns_answer) - 1),
			     PT_OUT_PKT, ONE_PACKET),
			  .to_snat_port = true, .reply = true,
			  .ct_state = PT_STATE(SVCD_TCP_NONE) },
		},
	},
	{
		.name = "nodeport_udp_zero_checksum_snat_stays_zero",
		.services = { &np_udp_remote },
		.steps = {
			{ TX(NP_UDP,
			     UDP_EXT_TO(NODE_A, NODEPORT_UDP,
					.udp_zero_csum = true,
					.payload = dns_query,
					.payload_len = sizeof(dns_query) - 1),
			     UDP_SNAT_TO_B(.udp_zero_csum = true,
					   .payload = dns_query,
					   .payload_len = sizeof(dns_query) - 1),
			     PT_OUT_SNAT, NEW_FLOW) },
			{ TX(NP_UDP,
			     UDP_B_TO_SNAT(.udp_zero_csum = true),
			     UDP_FROM_TO_CLIENT(NODE_A, NODEPORT_UDP,
						.udp_zero_csum = true),
			     PT_OUT_PKT, ONE_PACKET),
			  .to_snat_port = true, .reply = true },
		},
	},
	{
		/* the route to the backend needs a neighbour lookup that XDP
		 * cannot start: untranslated, marked for from_wire_tc; the
		 * flow (and its SNAT port) exists already */
		.name = "snat_next_hop_without_neighbour_handed_to_tc",
		.services = { &np_tcp_no_neigh },
		.steps = {
			{ HANDOFF(NP_TCP, EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				  NEW_FLOW_ONLY) },
			/* a retransmission: same flow, handed over again */
			{ HANDOFF(NP_TCP, EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				  {}) },
			/* the reply comes back to the SNAT port */
			{ TX(NP_TCP,
			     TCP_PKT(BACKEND_C, BACKEND_PORT, NODE_A, 0,
				     PKT_SYN | PKT_ACK, .seq = SEQ_B,
				     .ack = SEQ_C + 1, ON_UP0(MAC_NODE_B)),
			     FROM_TO_CLIENT(NODE_A, NODEPORT_TCP,
					    PKT_SYN | PKT_ACK),
			     PT_OUT_PKT, ONE_PACKET),
			  .to_snat_port = true, .reply = true,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
		},
	},
	{
		/* the backend is behind the other uplink: not XDP_TX */
		.name = "snat_route_via_other_uplink_handed_to_tc",
		.services = { &np_tcp_other_uplink },
		.steps = { { HANDOFF(NP_TCP,
				     EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				     NEW_FLOW_ONLY) } },
	},
	{
		.name = "externalip_remote_backend_snat_tx_and_reply",
		.services = { &eip_remote },
		.steps = {
			{ TX(EIP, EXT_TO(EXTERNAL_IP, SVC_PORT, PKT_SYN),
			     SNAT_TO_B(PKT_SYN), PT_OUT_SNAT, NEW_FLOW),
			  .ct_backend = BE_B, .ct_count = PT_CT_ENTRIES(2),
			  /* not a node address: the reply's source is not
			   * local */
			  .ct_fwd_flags =
				  PT_FLAGS(SVCD_CT_SNAT | SVCD_CT_LOCAL_SRC),
			  .ct_rev_flags = PT_FLAGS(0) },
			{ TX(EIP, B_TO_SNAT(PKT_SYN | PKT_ACK),
			     FROM_TO_CLIENT(EXTERNAL_IP, SVC_PORT,
					    PKT_SYN | PKT_ACK),
			     PT_OUT_PKT, ONE_PACKET),
			  .to_snat_port = true, .reply = true,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
		},
	},
	{
		/* a hostNetwork backend (node A itself): delivered locally,
		 * the reply is translated by to_wire on the way out */
		.name = "nodeport_host_backend_dnat_and_to_wire_reply",
		.services = { &np_tcp_host },
		.steps = {
			{ PASS_DNAT(NP_TCP, BE_HOST,
				    EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				    EXT_TO(NODE_A, BACKEND_PORT, PKT_SYN)) },
			{ .prog = PT_TO_WIRE,
			  .in = TCP_PKT(NODE_A, BACKEND_PORT, EXT_CLIENT,
					EXT_PORT, PKT_SYN | PKT_ACK,
					.seq = SEQ_B, .ack = SEQ_C + 1),
			  .out = TCP_PKT(NODE_A, NODEPORT_TCP, EXT_CLIENT,
					 EXT_PORT, PKT_SYN | PKT_ACK,
					 .seq = SEQ_B, .ack = SEQ_C + 1),
			  .verdict = TC_ACT_OK, .reason = SVCD_R_REVERSE,
			  .out_kind = PT_OUT_PKT, .service_id = NP_TCP,
			  .stats = ONE_PACKET,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
		},
	},
	{
		/* eTP Local: only local backends in the slots, no SNAT, the
		 * backend sees the client */
		.name = "etp_local_dnat_keeps_client_address",
		.services = { &np_etp_local },
		.steps = { {
			PASS_DNAT(NP_LOCAL, BE_A,
				  EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				  EXT_TO_BE(BACKEND_A, PKT_SYN)),
			.ct_fwd_flags = PT_FLAGS(0),
			.ct_rev_flags = PT_FLAGS(SVCD_CT_LOCAL_SRC),
		} },
	},
	{
		.name = "etp_local_no_local_endpoint_drops",
		.services = { &np_etp_local_none },
		.steps = { { XDP_DROPPED(NP_LOCAL, SVCD_R_DROP_NO_LOCAL,
					 EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
					 NO_BACKEND),
			     .ct_count = PT_CT_ENTRIES(0) } },
	},
	{
		/* nothing listens on a NodePort: the stack answers RST */
		.name = "no_endpoints_tcp_left_to_stack_to_refuse",
		.services = { &np_tcp_empty },
		.steps = { { XDP_PASSED(SVCD_R_PASS_REFUSE_STACK,
					EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN)),
			     .service_id = NP_TCP, .stats = NO_BACKEND } },
	},
	{
		.name = "no_endpoints_udp_left_to_stack_to_refuse",
		.services = { &np_udp_empty },
		.steps = { { XDP_PASSED(SVCD_R_PASS_REFUSE_STACK,
					UDP_EXT_TO(NODE_A, NODEPORT_UDP)),
			     .service_id = NP_UDP, .stats = NO_BACKEND } },
	},
	{
		.name = "source_range_allows_client_inside",
		.services = { &lb_ranges },
		.ranges = { { LB_IP, IP4(198, 19, 0, 0), 24 } },
		.steps = { { PASS_DNAT(LB, BE_A, EXT_TO(LB_IP, SVC_PORT, PKT_SYN),
				       EXT_TO_BE(BACKEND_A, PKT_SYN)) } },
	},
	{
		.name = "source_range_drops_client_outside",
		.services = { &lb_ranges },
		.ranges = { { LB_IP, IP4(198, 19, 0, 0), 24 } },
		.steps = { { XDP_DROPPED(
			LB, SVCD_R_DROP_SOURCE_RANGE,
			TCP_PKT(EXT_OUTSIDER, EXT_PORT, LB_IP, SVC_PORT, PKT_SYN,
				ON_UP0(MAC_CLIENT)),
			{}),
			     .ct_count = PT_CT_ENTRIES(0) } },
	},
	{
		/* a range of another LoadBalancer IP allows nothing here */
		.name = "source_range_of_other_lb_ip_does_not_allow",
		.services = { &lb_ranges },
		.ranges = { { LB_IP_OTHER, IP4(198, 19, 0, 0), 24 } },
		.steps = { { XDP_DROPPED(LB, SVCD_R_DROP_SOURCE_RANGE,
					 EXT_TO(LB_IP, SVC_PORT, PKT_SYN),
					 {}),
			     .ct_count = PT_CT_ENTRIES(0) } },
	},
	{
		.name = "source_range_host_prefix_and_zero_prefix",
		.services = { &lb_ranges },
		.ranges = { { LB_IP, IP4(198, 19, 0, 100), 32 },
			    { LB_IP_OTHER, IP4(0, 0, 0, 0), 0 } },
		.steps = {
			{ PASS_DNAT(LB, BE_A, EXT_TO(LB_IP, SVC_PORT, PKT_SYN),
				    EXT_TO_BE(BACKEND_A, PKT_SYN)) },
			{ XDP_DROPPED(LB, SVCD_R_DROP_SOURCE_RANGE,
				      TCP_PKT(IP4(198, 19, 0, 101), EXT_PORT,
					      LB_IP, SVC_PORT, PKT_SYN,
					      ON_UP0(MAC_CLIENT)),
				      {}),
			  .ct_count = PT_CT_ENTRIES(2) },
		},
	},
	{
		.name = "source_range_zero_prefix_allows_all",
		.services = { &lb_ranges },
		.ranges = { { LB_IP, IP4(0, 0, 0, 0), 0 } },
		.steps = { { PASS_DNAT(
			LB, BE_A,
			TCP_PKT(EXT_OUTSIDER, EXT_PORT, LB_IP, SVC_PORT, PKT_SYN,
				.seq = SEQ_C, ON_UP0(MAC_CLIENT)),
			TCP_PKT(EXT_OUTSIDER, EXT_PORT, BACKEND_A, BACKEND_PORT,
				PKT_SYN, .seq = SEQ_C, ON_UP0(MAC_CLIENT))) } },
	},
	{
		/* without SVCD_FE_SRC_RANGES the map is not consulted */
		.name = "no_source_ranges_flag_allows_all",
		.services = { &lb_open },
		.steps = { { PASS_DNAT(
			LB, BE_A,
			TCP_PKT(EXT_OUTSIDER, EXT_PORT, LB_IP, SVC_PORT, PKT_SYN,
				.seq = SEQ_C, ON_UP0(MAC_CLIENT)),
			TCP_PKT(EXT_OUTSIDER, EXT_PORT, BACKEND_A, BACKEND_PORT,
				PKT_SYN, .seq = SEQ_C, ON_UP0(MAC_CLIENT))) } },
	},
};

/* ---- not ours: untouched, XDP_PASS ---------------------------------------- */

static const struct pt_case wire_pass_cases[] = {
	{
		.name = "arp_for_node_address",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_IP,
					{ .ethertype = ETH_P_ARP,
					  .saddr = EXT_CLIENT,
					  .daddr = NODE_A,
					  ON_UP0(MAC_CLIENT) }) } },
	},
	{
		.name = "ipv6_tcp_to_nodeport",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_OURS,
					EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN,
					       .ethertype = ETH_P_IPV6)) } },
	},
	{
		.name = "vlan_tagged_to_nodeport",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_IP,
					EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN,
					       .ethertype = ETH_P_8021Q)) } },
	},
	{
		.name = "icmp_echo_to_node",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_OTHER_PROTO,
					{ .saddr = EXT_CLIENT,
					  .daddr = NODE_A,
					  .proto = IPPROTO_ICMP,
					  .icmp_type = 8,
					  ON_UP0(MAC_CLIENT) }) } },
	},
	{
		.name = "tcp_to_node_other_port",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_OURS,
					EXT_TO(NODE_A, bpf_htons(22),
					       PKT_SYN)) } },
	},
	{
		.name = "udp_to_tcp_nodeport",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_OURS,
					UDP_EXT_TO(NODE_A, NODEPORT_TCP)) } },
	},
	{
		.name = "tcp_to_other_host_same_port",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_OURS,
					EXT_TO(ELSEWHERE, NODEPORT_TCP,
					       PKT_SYN)) } },
	},
	{
		/* ClusterIPs are for local pods and the node (INTERNAL) */
		.name = "clusterip_not_served_from_wire",
		.services = { &cluster_ip },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_OURS,
					EXT_TO(FRONTEND, TCP_PORT, PKT_SYN)) } },
	},
	{
		/* a reply to a SNAT port no flow holds */
		.name = "reply_to_unknown_snat_port",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_NOT_OURS,
					TCP_PKT(BACKEND_B, BACKEND_PORT, NODE_A,
						bpf_htons(WIRE_SNAT_MIN),
						PKT_SYN | PKT_ACK,
						ON_UP0(MAC_NODE_B))) } },
	},
	{
		.name = "fragment_to_nodeport",
		.services = { &np_udp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_FRAGMENT,
					UDP_EXT_TO(NODE_A, NODEPORT_UDP,
						   .frag = PKT_MF)) } },
	},
	{
		.name = "truncated_tcp_to_nodeport",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_MALFORMED,
					EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN,
					       .truncate = 14 + 20 + 10)) } },
	},
	{
		.name = "bad_ip_version_to_nodeport",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_MALFORMED,
					EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN,
					       .ihl = 4)) } },
	},
	{
		/* from_wire_tc only finishes what from_wire marked */
		.name = "from_wire_tc_ignores_unmarked",
		.meta_mode = PT_META_ONLY,
		.services = { &np_tcp_remote },
		.steps = { { .prog = PT_FROM_WIRE_TC,
			     .in = EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
			     .verdict = TC_ACT_OK,
			     .uncounted = true,
			     .out_kind = PT_OUT_SAME,
			     .ct_count = PT_CT_ENTRIES(0) } },
	},
	{
		/* without metadata from_wire_tc looks at every packet, the
		 * ones from_wire translated and passed too: a UDP datagram
		 * DNATed to a local backend is no frontend's or flow's any
		 * more, so it passes untouched, and its new flow stays (the
		 * port-reuse check, which would take the datagram for a
		 * client's straight to the backend, is from_wire's alone) */
		.name = "no_meta_tc_passes_what_xdp_translated",
		.meta_mode = PT_NO_META_ONLY,
		.services = { &np_udp_local },
		.steps = {
			{ PASS_DNAT(NP_UDP, BE_A,
				    UDP_EXT_TO(NODE_A, NODEPORT_UDP),
				    UDP_EXT_TO_BE(BACKEND_A)) },
			{ .prog = PT_FROM_WIRE_TC,
			  .in = UDP_EXT_TO_BE(BACKEND_A),
			  .verdict = TC_ACT_OK,
			  .reason = SVCD_R_PASS_NOT_OURS,
			  .out_kind = PT_OUT_SAME,
			  .ct_count = PT_CT_ENTRIES(2) },
			{ .prog = PT_FROM_POD,
			  .in = UDP_PKT(BACKEND_A, BACKEND_PORT, EXT_CLIENT,
					EXT_PORT),
			  .out = UDP_FROM_TO_CLIENT(NODE_A, NODEPORT_UDP),
			  .verdict = TC_ACT_REDIRECT,
			  .reason = SVCD_R_REVERSE,
			  .out_kind = PT_OUT_PKT,
			  .service_id = NP_UDP,
			  .stats = ONE_PACKET },
		},
	},
	{
		.name = "to_wire_not_ours",
		.services = { &np_tcp_remote },
		.steps = { { .prog = PT_TO_WIRE,
			     .in = TCP_PKT(NODE_A, bpf_htons(22), EXT_CLIENT,
					   EXT_PORT, PKT_ACK),
			     .verdict = TC_ACT_OK,
			     .reason = SVCD_R_PASS_NOT_OURS,
			     .out_kind = PT_OUT_SAME,
			     .ct_count = PT_CT_ENTRIES(0) } },
	},
};

/* ---- beyond one table row ---------------------------------------------------- */

/*
 * A UDP checksum that the translation turns into 0x0000 must be sent as
 * 0xffff (0 means "no checksum"). Two payload bytes are chosen so that the
 * translated datagram's checksum is exactly that.
 */
static void udp_checksum_folds_to_ffff(struct pt *pt)
{
	struct pt_step st = {
		PASS_DNAT(NP_UDP, BE_A, UDP_EXT_TO(NODE_A, NODEPORT_UDP),
			  UDP_EXT_TO_BE(BACKEND_A)),
	};
	struct pt_case c = { .name = "udp_checksum_folds_to_ffff",
			     .services = { &np_udp_local } };
	struct pkt want;
	struct pkt_parsed p;
	static __u8 payload[2];
	unsigned int v;

	st.in.payload = st.out.payload = payload;
	st.in.payload_len = st.out.payload_len = sizeof(payload);
	for (v = 0; v < 0x10000; v++) {
		payload[0] = v >> 8;
		payload[1] = v & 0xff;
		if (pkt_build(&st.out, &want) ||
		    pkt_parse(want.data, want.len, &p))
			break;
		if (p.l4_csum == 0xffff)
			break;
	}
	if (!ASSERT_LT(v, 0x10000, "a payload whose checksum is 0xffff"))
		return;
	c.steps[0] = st;
	pt_run_case(pt, &c);
}

/*
 * SNAT ports are a finite range (WIRE_SNAT_MIN..MAX, 8 ports) per backend:
 * 8 flows get 8 different ports, the 9th is dropped, not given a port in
 * use.
 */
static void snat_ports_exhausted(struct pt *pt)
{
	__u64 rb[SVCD_R_MAX], ra[SVCD_R_MAX];
	bool used[WIRE_SNAT_MAX - WIRE_SNAT_MIN + 1] = {};
	struct pkt_spec in = EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN);
	struct pkt_parsed p;
	struct pkt pin, out;
	__u32 retval;
	char msg[96];
	int i, n = WIRE_SNAT_MAX - WIRE_SNAT_MIN + 1;

	if (!ASSERT_OK(pt_reset(pt), "empty the maps") ||
	    !ASSERT_OK(pt_service_set(pt, &np_tcp_remote), "set service"))
		return;
	for (i = 0; i <= n; i++) {
		in.sport = bpf_htons(40000 + i);
		pkt_build(&in, &pin);
		pt_reasons_get(pt, rb);
		snprintf(msg, sizeof(msg), "flow %d: run", i);
		if (!ASSERT_OK(pt_run(pt, PT_FROM_WIRE, &pin, &out, &retval),
			       msg))
			return;
		pt_reasons_get(pt, ra);
		if (i == n) {
			ASSERT_EQ(retval, XDP_DROP,
				  "flow past the range: XDP_DROP");
			ASSERT_EQ(ra[SVCD_R_DROP_SNAT_PORTS] -
					  rb[SVCD_R_DROP_SNAT_PORTS],
				  1, "flow past the range: DROP_SNAT_PORTS");
			break;
		}
		snprintf(msg, sizeof(msg), "flow %d: XDP_TX", i);
		ASSERT_EQ(retval, XDP_TX, msg);
		snprintf(msg, sizeof(msg), "flow %d: output parses", i);
		if (!ASSERT_OK(pkt_parse(out.data, out.len, &p), msg))
			return;
		snprintf(msg, sizeof(msg), "flow %d: port %u in range, unused",
			 i, ntohs(p.sport));
		if (!ASSERT_TRUE(ntohs(p.sport) >= WIRE_SNAT_MIN &&
					 ntohs(p.sport) <= WIRE_SNAT_MAX &&
					 !used[ntohs(p.sport) - WIRE_SNAT_MIN],
				 msg))
			return;
		used[ntohs(p.sport) - WIRE_SNAT_MIN] = true;
	}
	ASSERT_EQ(pt_ct_count(pt), 2 * n,
		  "conntrack: two entries per flow, none for the dropped one");
}

/* IPv6 only: extension headers and ICMPv6 on the uplink (run with
 * pt_run_case(): frag is an IPv4-table field pt_run_table() filters). */
static const struct pt_case wire6_cases[] = {
	{
		/* XDP with L4 behind a 24-byte hop-by-hop header: DNAT +
		 * SNAT, XDP_TX, checksums by RFC 1624 over 16-byte
		 * addresses; the reply comes back the same way */
		.name = "nodeport_hop_by_hop_snat_tx_and_reply",
		.services = { &np_tcp_remote },
		.steps = {
			{ TX(NP_TCP,
			     EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN, .ext = { 0 },
				    .n_ext = 1, .ext_len8 = 2),
			     SNAT_TO_B(PKT_SYN, .ext = { 0 }, .n_ext = 1,
				       .ext_len8 = 2),
			     PT_OUT_SNAT, NEW_FLOW),
			  .ct_backend = BE_B, .ct_count = PT_CT_ENTRIES(2) },
			{ TX(NP_TCP,
			     B_TO_SNAT(PKT_SYN | PKT_ACK, .ext = { 60 },
				       .n_ext = 1),
			     FROM_TO_CLIENT(NODE_A, NODEPORT_TCP,
					    PKT_SYN | PKT_ACK, .ext = { 60 },
					    .n_ext = 1),
			     PT_OUT_PKT, ONE_PACKET),
			  .to_snat_port = true, .reply = true,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
		},
	},
	{
		.name = "nodeport_udp_fragment_pass",
		.services = { &np_udp_local },
		.steps = { { XDP_PASSED(SVCD_R_PASS_EXT_HDR,
					UDP_EXT_TO(NODE_A, NODEPORT_UDP,
						   .ext = { 44 }, .n_ext = 1,
						   .frag = PKT_MF,
						   .payload = dns_query,
						   .payload_len = 8)) } },
	},
	{
		.name = "icmpv6_neighbour_solicitation_to_node",
		.services = { &np_tcp_remote },
		.steps = { { XDP_PASSED(SVCD_R_PASS_OTHER_PROTO,
					{ .saddr = EXT_CLIENT,
					  .daddr = NODE_A,
					  .proto = IPPROTO_ICMPV6,
					  .ttl = 255,
					  .icmp_type = 135,
					  ON_UP0(MAC_CLIENT) }) } },
	},
};

/*
 * The tc-only variant (no XDP on the uplink: a kernel or device that
 * cannot, issue 15): from_wire_tc takes every packet, unmarked, and does
 * from_wire's work itself, sending translated packets on with
 * bpf_redirect_neigh (the MACs are the neighbour code's, so untouched
 * here); refusal and what is not ours go up the stack. Run with the
 * exact clock too, the variant a kernel before 5.11 gets.
 */
#define TC_XLAT(svc_id, in_, out_, kind, stats_)                             \
	.prog = PT_FROM_WIRE_TC, .in = in_, .out = out_,                     \
	.verdict = TC_ACT_REDIRECT, .reason = SVCD_R_TX, .out_kind = (kind), \
	.service_id = (svc_id), .stats = stats_

static const struct pt_case wire_tc_only_cases[] = {
	{
		.name = "tc_only_nodeport_local_backend_dnat",
		.services = { &np_tcp_local },
		.steps = { { TC_XLAT(NP_TCP,
				     EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				     EXT_TO_BE(BACKEND_A, PKT_SYN), PT_OUT_PKT,
				     NEW_FLOW),
			     .ct_backend = BE_A,
			     .ct_count = PT_CT_ENTRIES(2) } },
	},
	{
		/* a hostNetwork backend (node A itself): no interface to
		 * redirect to, the stack delivers it, as after from_wire's
		 * XDP_PASS (found by fuzz_packet's seed nodeport_host) */
		.name = "tc_only_nodeport_host_backend_to_the_stack",
		.services = { &np_tcp_host },
		.steps = {
			{ .prog = PT_FROM_WIRE_TC,
			  .in = EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
			  .out = EXT_TO(NODE_A, BACKEND_PORT, PKT_SYN),
			  .verdict = TC_ACT_OK, .reason = SVCD_R_FORWARD,
			  .out_kind = PT_OUT_PKT, .service_id = NP_TCP,
			  .stats = NEW_FLOW, .ct_backend = BE_HOST,
			  .ct_count = PT_CT_ENTRIES(2) },
			{ .prog = PT_TO_WIRE,
			  .in = TCP_PKT(NODE_A, BACKEND_PORT, EXT_CLIENT,
					EXT_PORT, PKT_SYN | PKT_ACK,
					.seq = SEQ_B, .ack = SEQ_C + 1),
			  .out = TCP_PKT(NODE_A, NODEPORT_TCP, EXT_CLIENT,
					 EXT_PORT, PKT_SYN | PKT_ACK,
					 .seq = SEQ_B, .ack = SEQ_C + 1),
			  .verdict = TC_ACT_OK, .reason = SVCD_R_REVERSE,
			  .out_kind = PT_OUT_PKT, .service_id = NP_TCP,
			  .stats = ONE_PACKET,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
		},
	},
	{
		.name = "tc_only_nodeport_remote_backend_snat_and_reply",
		.services = { &np_tcp_remote },
		.steps = {
			/* node B's neighbour is known: sent with its MACs */
			{ TC_XLAT(NP_TCP, EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
				  SNAT_TO_B(PKT_SYN), PT_OUT_SNAT, NEW_FLOW),
			  .ct_backend = BE_B, .ct_count = PT_CT_ENTRIES(2) },
			{ TC_XLAT(NP_TCP,
				  TCP_PKT(BACKEND_B, BACKEND_PORT, NODE_A, 0,
					  PKT_SYN | PKT_ACK, .seq = SEQ_B,
					  .ack = SEQ_C + 1, ON_UP0(MAC_NODE_B)),
				  FROM_TO_CLIENT(NODE_A, NODEPORT_TCP,
						 PKT_SYN | PKT_ACK),
				  PT_OUT_PKT, ONE_PACKET),
			  .to_snat_port = true, .reply = true,
			  .ct_state = PT_STATE(SVCD_TCP_ESTABLISHED) },
		},
	},
	{
		.name = "tc_only_no_endpoints_to_the_stack",
		.services = { &np_tcp_empty },
		.steps = { { .prog = PT_FROM_WIRE_TC,
			     .in = EXT_TO(NODE_A, NODEPORT_TCP, PKT_SYN),
			     .verdict = TC_ACT_OK,
			     .reason = SVCD_R_PASS_REFUSE_STACK,
			     .out_kind = PT_OUT_SAME, .service_id = NP_TCP,
			     .stats = NO_BACKEND,
			     .ct_count = PT_CT_ENTRIES(0) } },
	},
	{
		.name = "tc_only_not_ours_passes",
		.services = { &np_tcp_remote },
		.steps = { { .prog = PT_FROM_WIRE_TC,
			     .in = EXT_TO(NODE_A, bpf_htons(22), PKT_SYN),
			     .verdict = TC_ACT_OK,
			     .reason = SVCD_R_PASS_NOT_OURS,
			     .out_kind = PT_OUT_SAME,
			     .ct_count = PT_CT_ENTRIES(0) } },
	},
};

static void run_wire_tc_only(int family, bool exact_clock)
{
	const struct pt_wire_config cfg = {
		.snat_addr = NODE_A,
		.port_min = WIRE_SNAT_MIN,
		.port_max = WIRE_SNAT_MAX,
		.tc_only = true,
		.exact_clock = exact_clock,
	};
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	if (pt_open_wire(&pt, &cfg))
		goto out;
	if (wire_world_enter(&pt))
		goto out;
	if (ASSERT_NEQ(pt.uplink_ifindex, 0, "up0 exists"))
		pt_run_table(&pt, wire_tc_only_cases,
			     ARRAY_SIZE(wire_tc_only_cases));
	pt_netns_leave();
out:
	pt_close(&pt);
}

void test_wire_tc_only(void)
{
	run_wire_tc_only(4, false);
}

void test_wire6_tc_only(void)
{
	run_wire_tc_only(6, false);
}

void test_wire_tc_only_exact_clock(void)
{
	run_wire_tc_only(4, true);
}

static void run_wire(int family, bool no_meta)
{
	size_t i;
	const struct pt_wire_config cfg = {
		.snat_addr = NODE_A,
		.port_min = WIRE_SNAT_MIN,
		.port_max = WIRE_SNAT_MAX,
		.no_meta = no_meta,
	};
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	if (pt_open_wire(&pt, &cfg))
		goto out;
	if (wire_world_enter(&pt))
		goto out;
	if (ASSERT_NEQ(pt.uplink_ifindex, 0, "up0 exists") &&
	    ASSERT_NEQ(pt.pod_ifindex, 0, "pod0 exists")) {
		pt_run_table(&pt, wire_cases, ARRAY_SIZE(wire_cases));
		pt_run_table(&pt, wire_pass_cases, ARRAY_SIZE(wire_pass_cases));
		if (test__start_subtest("udp_checksum_folds_to_ffff"))
			udp_checksum_folds_to_ffff(&pt);
		if (test__start_subtest("snat_ports_exhausted"))
			snat_ports_exhausted(&pt);
		for (i = 0; family == 6 && i < ARRAY_SIZE(wire6_cases); i++)
			if (test__start_subtest(wire6_cases[i].name))
				pt_run_case(&pt, &wire6_cases[i]);
	}
	pt_netns_leave();
out:
	pt_close(&pt);
}

void test_wire(void)
{
	run_wire(4, false);
}

/* The same tables with from_wire handing over unmarked (wire.bpf.c
 * xdp_meta = 0), as svcd loads it on a kernel whose XDP cannot call
 * bpf_xdp_adjust_meta; on every kernel, so both ways stay tested. */
void test_wire_no_meta(void)
{
	run_wire(4, true);
}

void test_wire6_no_meta(void)
{
	run_wire(6, true);
}

/* IPv6 on the uplinks: NodePort/externalIP/LB DNAT with XDP_TX, passes
 * and the handoff to from_wire_tc, SNAT toward node B and its reply,
 * source ranges, to_wire (bpf_fib_lookup AF_INET6 in the namespace's
 * IPv6 routes). */
void test_wire6(void)
{
	run_wire(6, false);
}

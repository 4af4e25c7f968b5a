// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_forward.c - from_pod's DNAT of new flows (docs/datapath.md steps
 * 7-13): the packet that leaves, the conntrack entries it leaves behind and
 * the counters it bumps.
 */
#include "runner.h"
#include "world.h"

static const struct pt_service svc_tcp_a =
	SVC_TCP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service svc_udp_a =
	SVC_UDP_ON(1, BACKEND(BE_A, BACKEND_A));
/* the client pod is the only backend of its own service */
static const struct pt_service svc_tcp_self =
	SVC_TCP_ON(1, BACKEND(BE_SELF, CLIENT));
/* a second port on the same address, another service */
static const struct pt_service svc_https_b = {
	.id = SVC_ID + 10,
	.addr = FRONTEND,
	.port = bpf_htons(443),
	.proto = IPPROTO_TCP,
	.rev = 1,
	.backends = { { .id = BE_B,
			.addr = BACKEND_B,
			.port = bpf_htons(8443) } },
};

/* router alert, three NOPs, end of list */
static const __u8 ip_opts[] = { 0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00 };
static const char payload[] = "GET / HTTP/1.1\r\nHost: svc\r\n\r\n";
static const char dns_query[] = "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00";

#define FORWARD_NEW(svc_id, be)                                              \
	.prog = PT_FROM_POD, .verdict = TC_ACT_OK, .reason = SVCD_R_FORWARD, \
	.out_kind = PT_OUT_PKT, .service_id = (svc_id), .stats = NEW_FLOW,   \
	.ct_backend = (be), .ct_count = PT_CT_ENTRIES(2)

static const struct pt_case forward_cases[] = {
	{
		.name = "tcp_syn_dnat_to_backend",
		.services = { &svc_tcp_a },
		.steps = { {
			FORWARD_NEW(SVC_ID, BE_A),
			.in = C_TO_FE(PKT_SYN),
			.out = C_TO_A(PKT_SYN),
			.ct_state = PT_STATE(SVCD_TCP_SYN_SENT),
		} },
	},
	{
		.name = "tcp_syn_with_ip_options",
		.services = { &svc_tcp_a },
		.steps = { {
			FORWARD_NEW(SVC_ID, BE_A),
			.in = C_TO_FE(PKT_SYN, .ip_opts = ip_opts,
				      .ip_opts_len = sizeof(ip_opts)),
			.out = C_TO_A(PKT_SYN, .ip_opts = ip_opts,
				      .ip_opts_len = sizeof(ip_opts)),
			.ct_state = PT_STATE(SVCD_TCP_SYN_SENT),
		} },
	},
	{
		.name = "tcp_with_payload_dnat",
		.services = { &svc_tcp_a },
		.steps = { {
			FORWARD_NEW(SVC_ID, BE_A),
			.in = C_TO_FE(PKT_SYN, .payload = payload,
				      .payload_len = sizeof(payload) - 1),
			.out = C_TO_A(PKT_SYN, .payload = payload,
				      .payload_len = sizeof(payload) - 1),
		} },
	},
	{
		.name = "udp_dnat_to_backend",
		.services = { &svc_udp_a },
		.steps = { {
			FORWARD_NEW(SVC_ID_UDP, BE_A),
			.in = UDP_C_TO_FE(.payload = dns_query,
					  .payload_len = sizeof(dns_query) - 1),
			.out = UDP_C_TO_A(.payload = dns_query,
					  .payload_len = sizeof(dns_query) - 1),
			.ct_state = PT_STATE(SVCD_TCP_NONE),
		} },
	},
	{
		.name = "udp_zero_checksum_stays_zero",
		.services = { &svc_udp_a },
		.steps = { {
			FORWARD_NEW(SVC_ID_UDP, BE_A),
			.in = UDP_C_TO_FE(.udp_zero_csum = true,
					  .payload = dns_query,
					  .payload_len = sizeof(dns_query) - 1),
			.out = UDP_C_TO_A(.udp_zero_csum = true,
					  .payload = dns_query,
					  .payload_len = sizeof(dns_query) - 1),
		} },
	},
	{
		.name = "udp_empty_payload",
		.services = { &svc_udp_a },
		.steps = { {
			FORWARD_NEW(SVC_ID_UDP, BE_A),
			.in = UDP_C_TO_FE(),
			.out = UDP_C_TO_A(),
		} },
	},
	{
		/* the pod reaches itself through its service: it must see
		 * the frontend as the source, or its reply would bypass us */
		.name = "hairpin_snat_to_frontend",
		.services = { &svc_tcp_self },
		.steps = { {
			FORWARD_NEW(SVC_ID, BE_SELF),
			.in = C_TO_FE(PKT_SYN),
			.out = TCP_PKT(FRONTEND, CLIENT_PORT, CLIENT,
				       BACKEND_PORT, PKT_SYN, .seq = SEQ_C),
			.ct_state = PT_STATE(SVCD_TCP_SYN_SENT),
		} },
	},
	{
		.name = "second_port_is_another_service",
		.services = { &svc_tcp_a, &svc_https_b },
		.steps = { {
			FORWARD_NEW(SVC_ID + 10, BE_B),
			.in = TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND,
				      bpf_htons(443), PKT_SYN),
			.out = TCP_PKT(CLIENT, CLIENT_PORT, BACKEND_B,
				       bpf_htons(8443), PKT_SYN),
		} },
	},
	{
		.name = "ttl_tos_id_df_untouched",
		.services = { &svc_tcp_a },
		.steps = { {
			FORWARD_NEW(SVC_ID, BE_A),
			.in = C_TO_FE(PKT_SYN, .ttl = 3, .tos = 0xb8,
				      .id = 0xbeef, .frag = PKT_DF),
			.out = C_TO_A(PKT_SYN, .ttl = 3, .tos = 0xb8,
				      .id = 0xbeef, .frag = PKT_DF),
		} },
	},
};

static void run_forward(int family)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	pt_run_table(&pt, forward_cases, ARRAY_SIZE(forward_cases));
	pt_close(&pt);
}

void test_forward(void)
{
	run_forward(4);
}

/* The same rows over IPv6 (pkt_ip6_of() addresses, the IPv6 maps). */
void test_forward6(void)
{
	run_forward(6);
}

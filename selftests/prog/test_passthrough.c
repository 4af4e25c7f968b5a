// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_passthrough.c - everything that is not service traffic leaves both
 * programs byte for byte as it came, TC_ACT_OK, counted under the reason
 * docs/datapath.md gives (steps 1-5 and 7): other hosts, ports and
 * protocols, ARP, IPv6, VLAN, malformed headers, fragments.
 */
#include <linux/if_ether.h>

#include "runner.h"
#include "world.h"

static const struct pt_service svc_tcp_a =
	SVC_TCP_ON(1, BACKEND(BE_A, BACKEND_A));
static const struct pt_service svc_udp_a =
	SVC_UDP_ON(1, BACKEND(BE_A, BACKEND_A));
/* a frontend only for traffic from outside the node */
static const struct pt_service svc_tcp_external = {
	.id = SVC_ID + 1,
	.addr = IP4(198, 19, 96, 11),
	.port = TCP_PORT,
	.proto = IPPROTO_TCP,
	.rev = 1,
	.external = true,
	.backends = { BACKEND(BE_B, BACKEND_B) },
};

static const __u8 ip_opts4[] = { 0x01, 0x01, 0x01, 0x00 };
static const char echo[] = "ping";
static const char sctp_init[16] = { 0x9c, 0x40, 0x00, 0x50 };

#define PASS(prog_, reason_, ...)                                         \
	{                                                                 \
		.prog = (prog_), .in = __VA_ARGS__, .verdict = TC_ACT_OK, \
		.reason = (reason_), .out_kind = PT_OUT_SAME,             \
		.ct_count = PT_CT_ENTRIES(0),                             \
	}

/* One row per (program, packet); both programs see the same packets. */
#define ROW(name_, prog_, reason_, ...)                                    \
	{                                                                  \
		.name = name_,                                             \
		.services = { &svc_tcp_a, &svc_udp_a, &svc_tcp_external }, \
		.steps = { PASS(prog_, reason_, __VA_ARGS__) },            \
	}

#define ETH 14
#define IPH 20

/* A table macro reads better hand-aligned. */
/* clang-format off */
#define PASS_ROWS(p, tag)                                                                                                                                                                                                     \
	ROW(tag "arp", p, SVCD_R_PASS_NOT_IP,                                                                                                                                                                                 \
	    { .ethertype = ETH_P_ARP, .saddr = CLIENT, .daddr = FRONTEND }),                                                                                                                                                  \
		ROW(tag "ipv6_tcp_to_port_80", p, SVCD_R_PASS_NOT_OURS,                                                                                                                                                         \
		    TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND, TCP_PORT, PKT_SYN,                                                                                                                                                 \
			    .ethertype = ETH_P_IPV6)),                                                                                                                                                                        \
		ROW(tag "vlan_tagged_ipv4_to_frontend", p, SVCD_R_PASS_NOT_IP,                                                                                                                                                \
		    C_TO_FE(PKT_SYN, .ethertype = ETH_P_8021Q)),                                                                                                                                                              \
		ROW(tag "icmp_echo_to_frontend", p, SVCD_R_PASS_OTHER_PROTO,                                                                                                                                                  \
		    { .saddr = CLIENT,                                                                                                                                                                                        \
		      .daddr = FRONTEND,                                                                                                                                                                                      \
		      .proto = IPPROTO_ICMP,                                                                                                                                                                                  \
		      .icmp_type = 8,                                                                                                                                                                                         \
		      .icmp_rest = 0x12340001,                                                                                                                                                                                \
		      .payload = echo,                                                                                                                                                                                        \
		      .payload_len = 4 }),                                                                                                                                                                                    \
		ROW(tag "sctp_to_frontend", p, SVCD_R_PASS_OTHER_PROTO,                                                                                                                                                       \
		    { .saddr = CLIENT,                                                                                                                                                                                        \
		      .daddr = FRONTEND,                                                                                                                                                                                      \
		      .proto = 132,                                                                                                                                                                                           \
		      .payload = sctp_init,                                                                                                                                                                                   \
		      .payload_len = sizeof(                                                                                                                                                                                  \
			      sctp_init) }), /* Frames cut inside the 20-byte IPv4 header can't be fed: */ /* BPF_PROG_TEST_RUN answers -EINVAL; ihl_beyond_packet and */ /* options_cut_off reach the same bounds checks. */ \
		ROW(tag "ihl_below_5", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                              \
		    C_TO_FE(PKT_SYN, .ihl = 4)),                                                                                                                                                                              \
		ROW(tag "ihl_beyond_packet", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                        \
		    C_TO_FE(PKT_SYN, .ihl = 15)),                                                                                                                                                                             \
		ROW(tag "options_cut_off", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                          \
		    C_TO_FE(PKT_SYN, .ip_opts = ip_opts4, .ip_opts_len = 4,                                                                                                                                                   \
			    .truncate = ETH + IPH + 2)),                                                                                                                                                                      \
		ROW(tag "tot_len_below_header", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                     \
		    C_TO_FE(PKT_SYN, .tot_len = 16)),                                                                                                                                                                         \
		ROW(tag "tot_len_below_ihl_with_options", p,                                                                                                                                                                  \
		    SVCD_R_PASS_MALFORMED,                                                                                                                                                                                    \
		    C_TO_FE(PKT_SYN, .ip_opts = ip_opts4, .ip_opts_len = 4,                                                                                                                                                   \
			    .tot_len = 22)),                                                                                                                                                                                  \
		ROW(tag "tot_len_short_of_tcp_header", p, SVCD_R_PASS_MALFORMED,                                                                                                                                              \
		    C_TO_FE(PKT_SYN, .tot_len = 30)),                                                                                                                                                                         \
		ROW(tag "tot_len_short_of_udp_header", p, SVCD_R_PASS_MALFORMED,                                                                                                                                              \
		    UDP_C_TO_FE(.tot_len = 24)),                                                                                                                                                                              \
		ROW(tag "truncated_tcp_header", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                     \
		    C_TO_FE(PKT_SYN, .truncate = ETH + IPH + 12)),                                                                                                                                                            \
		ROW(tag "tcp_doff_below_5", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                         \
		    C_TO_FE(PKT_SYN, .doff = 4)),                                                                                                                                                                             \
		ROW(tag "tcp_doff_beyond_packet", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                   \
		    C_TO_FE(PKT_SYN, .doff = 15)),                                                                                                                                                                            \
		ROW(tag "truncated_udp_header", p, SVCD_R_PASS_MALFORMED,                                                                                                                                                     \
		    UDP_C_TO_FE(.truncate = ETH + IPH + 4)),                                                                                                                                                                  \
		ROW(tag "first_fragment_to_frontend", p, SVCD_R_PASS_FRAGMENT,                                                                                                                                                \
		    UDP_C_TO_FE(.frag = PKT_MF, .payload = sctp_init,                                                                                                                                                         \
				.payload_len = sizeof(sctp_init))),                                                                                                                                                           \
		ROW(tag "later_fragment_to_frontend", p, SVCD_R_PASS_FRAGMENT,                                                                                                                                                \
		    UDP_C_TO_FE(.frag = 185, .payload = sctp_init,                                                                                                                                                            \
				.payload_len = sizeof(sctp_init))),                                                                                                                                                           \
		ROW(tag "last_fragment_tcp_to_frontend", p,                                                                                                                                                                   \
		    SVCD_R_PASS_FRAGMENT, C_TO_FE(PKT_SYN, .frag = 1)),                                                                                                                                                       \
		ROW(tag "fragment_not_for_a_service", p, SVCD_R_PASS_FRAGMENT,                                                                                                                                                \
		    UDP_PKT(CLIENT, CLIENT_PORT, ELSEWHERE, UDP_PORT,                                                                                                                                                         \
			    .frag = PKT_MF)),                                                                                                                                                                                 \
		ROW(tag "tcp_to_other_address", p, SVCD_R_PASS_NOT_OURS,                                                                                                                                                      \
		    TCP_PKT(CLIENT, CLIENT_PORT, ELSEWHERE, TCP_PORT,                                                                                                                                                         \
			    PKT_SYN)),                                                                                                                                                                                        \
		ROW(tag "tcp_to_other_port", p, SVCD_R_PASS_NOT_OURS,                                                                                                                                                         \
		    TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND, bpf_htons(81),                                                                                                                                                     \
			    PKT_SYN)),                                                                                                                                                                                        \
		ROW(tag "udp_to_tcp_only_port", p, SVCD_R_PASS_NOT_OURS,                                                                                                                                                      \
		    UDP_PKT(CLIENT, CLIENT_PORT, FRONTEND, TCP_PORT)),                                                                                                                                                        \
		ROW(tag "tcp_to_udp_only_port", p, SVCD_R_PASS_NOT_OURS,                                                                                                                                                      \
		    TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND, UDP_PORT,                                                                                                                                                          \
			    PKT_SYN)),                                                                                                                                                                                        \
		ROW(tag "tcp_to_external_scope_frontend", p,                                                                                                                                                                  \
		    SVCD_R_PASS_NOT_OURS,                                                                                                                                                                                     \
		    TCP_PKT(CLIENT, CLIENT_PORT, IP4(198, 19, 96, 11),                                                                                                                                                        \
			    TCP_PORT, PKT_SYN)),                                                                                                                                                                              \
		ROW(tag "tcp_from_frontend_port", p, SVCD_R_PASS_NOT_OURS,                                                                                                                                                    \
		    TCP_PKT(FRONTEND, TCP_PORT, CLIENT, CLIENT_PORT, PKT_SYN))
/* clang-format on */

static const struct pt_case pass_cases[] = {
	PASS_ROWS(PT_FROM_POD, "from_pod_"),
	PASS_ROWS(PT_TO_POD, "to_pod_"),
	/* to_pod only translates replies: a frontend packet is not DNATed */
	ROW("to_pod_frontend_packet_not_translated", PT_TO_POD,
	    SVCD_R_PASS_NOT_OURS, C_TO_FE(PKT_SYN)),
	ROW("to_pod_udp_frontend_packet_not_translated", PT_TO_POD,
	    SVCD_R_PASS_NOT_OURS, UDP_C_TO_FE()),
};

static void run_passthrough(int family)
{
	struct pt pt;

	if (pt_open(&pt, NULL))
		return;
	pt_family(&pt, family);
	pt_run_table(&pt, pass_cases, ARRAY_SIZE(pass_cases));
	pt_close(&pt);
}

void test_passthrough(void)
{
	run_passthrough(4);
}

void test_passthrough6(void)
{
	run_passthrough(6);
}

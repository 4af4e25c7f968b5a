/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * world.h - the addresses every prog test talks about.
 *
 *   client pod 198.18.1.5:40000 --from_pod--> frontend 198.19.96.10:80 (tcp)
 *                                                    198.19.96.10:53 (udp)
 *        backend A 198.18.1.10:8080   backend B 198.18.2.20:8080
 *        hairpin: the client itself, 198.18.1.5:8080, is the backend
 *
 * Packets are macros so table rows read as "client -> frontend, SYN" and
 * can add fields (payload, options) without repeating the tuple.
 */
#ifndef SVCD_PROG_WORLD_H
#define SVCD_PROG_WORLD_H

#include <netinet/in.h>

#include "progtest.h"

#define CLIENT IP4(198, 18, 1, 5)
#define CLIENT_PORT bpf_htons(40000)
#define FRONTEND IP4(198, 19, 96, 10)
#define TCP_PORT bpf_htons(80)
#define UDP_PORT bpf_htons(53)
#define BACKEND_A IP4(198, 18, 1, 10)
#define BACKEND_B IP4(198, 18, 2, 20)
#define BACKEND_PORT bpf_htons(8080)
#define ELSEWHERE IP4(198, 19, 0, 77)

#define SVC_ID 7 /* the service under test */
#define SVC_ID_UDP 8
#define BE_A 1 /* backend ids */
#define BE_B 2
#define BE_SELF 3 /* the client pod as a backend (hairpin) */

#define SEQ_C 1000 /* client's sequence number */
#define SEQ_B 5000 /* backend's */

/* TCP from client (address, port) to (address, port). */
#define TCP_PKT(src, sp, dst, dp, flags, ...)                                 \
	{                                                                     \
		.saddr = (src), .sport = (sp), .daddr = (dst), .dport = (dp), \
		.proto = IPPROTO_TCP, .tcp_flags = (flags), __VA_ARGS__       \
	}
#define UDP_PKT(src, sp, dst, dp, ...)                                        \
	{                                                                     \
		.saddr = (src), .sport = (sp), .daddr = (dst), .dport = (dp), \
		.proto = IPPROTO_UDP, __VA_ARGS__                             \
	}

/* The client's packets before and after DNAT to A or B. */
#define C_TO_FE(flags, ...)                                                   \
	TCP_PKT(CLIENT, CLIENT_PORT, FRONTEND, TCP_PORT, flags, .seq = SEQ_C, \
		__VA_ARGS__)
#define C_TO_A(flags, ...)                                           \
	TCP_PKT(CLIENT, CLIENT_PORT, BACKEND_A, BACKEND_PORT, flags, \
		.seq = SEQ_C, __VA_ARGS__)
#define C_TO_B(flags, ...)                                           \
	TCP_PKT(CLIENT, CLIENT_PORT, BACKEND_B, BACKEND_PORT, flags, \
		.seq = SEQ_C, __VA_ARGS__)
/* Replies, as the backend sends them and as the client must see them. */
#define A_TO_C(flags, ...)                                           \
	TCP_PKT(BACKEND_A, BACKEND_PORT, CLIENT, CLIENT_PORT, flags, \
		.seq = SEQ_B, .ack = SEQ_C + 1, __VA_ARGS__)
#define FE_TO_C(flags, ...)                                                   \
	TCP_PKT(FRONTEND, TCP_PORT, CLIENT, CLIENT_PORT, flags, .seq = SEQ_B, \
		.ack = SEQ_C + 1, __VA_ARGS__)

#define UDP_C_TO_FE(...) \
	UDP_PKT(CLIENT, CLIENT_PORT, FRONTEND, UDP_PORT, __VA_ARGS__)
#define UDP_C_TO_A(...) \
	UDP_PKT(CLIENT, CLIENT_PORT, BACKEND_A, BACKEND_PORT, __VA_ARGS__)
#define UDP_C_TO_B(...) \
	UDP_PKT(CLIENT, CLIENT_PORT, BACKEND_B, BACKEND_PORT, __VA_ARGS__)
#define UDP_A_TO_C(...) \
	UDP_PKT(BACKEND_A, BACKEND_PORT, CLIENT, CLIENT_PORT, __VA_ARGS__)
#define UDP_FE_TO_C(...) \
	UDP_PKT(FRONTEND, UDP_PORT, CLIENT, CLIENT_PORT, __VA_ARGS__)

/* Services: the TCP one on A, the same moved to B (next revision), the
 * UDP one on A, and the TCP one without endpoints. */
#define SVC_TCP_ON(rev_, ...)                                     \
	{                                                         \
		.id = SVC_ID, .addr = FRONTEND, .port = TCP_PORT, \
		.proto = IPPROTO_TCP, .rev = (rev_),              \
		.backends = { __VA_ARGS__ },                      \
	}
#define SVC_UDP_ON(rev_, ...)                                         \
	{                                                             \
		.id = SVC_ID_UDP, .addr = FRONTEND, .port = UDP_PORT, \
		.proto = IPPROTO_UDP, .rev = (rev_),                  \
		.backends = { __VA_ARGS__ },                          \
	}
#define BACKEND(id_, addr_)                                        \
	{                                                          \
		.id = (id_), .addr = (addr_), .port = BACKEND_PORT \
	}

/* Counter deltas */
#define NEW_FLOW                             \
	{                                    \
		.packets = 1, .new_flows = 1 \
	}
#define ONE_PACKET           \
	{                    \
		.packets = 1 \
	}

/*
 * From the wire (wire.bpf.o on an uplink of node A), in the namespace
 * test_wire*.c build for bpf_fib_lookup():
 *
 *   client 198.19.0.100 (MAC ..:00:64) --- up0 198.19.0.1/24 (..:01:01) node A
 *   node B 198.19.0.2   (MAC ..:00:02) --/   pod0 -> 198.18.1.0/24 (local pods)
 *   198.18.2.0/24 via node B (up0, neighbour known): XDP_TX back out up0
 *   198.18.3.0/24 via 198.19.0.3 (up0, no neighbour): handed to tc
 *   198.18.4.0/24 via 198.19.1.254 on up1, the other uplink: handed to tc
 *
 *   NodePort node A :30080/TCP, :30053/UDP; externalIP 198.19.10.1:80;
 *   LoadBalancer IP 198.19.20.1:80; SNAT from node A, ports 62000-62007.
 */
#define NODE_A IP4(198, 19, 0, 1)
#define NODE_B IP4(198, 19, 0, 2)
#define EXT_CLIENT IP4(198, 19, 0, 100)
#define EXT_OUTSIDER IP4(198, 18, 200, 5) /* outside the source ranges */
#define EXT_PORT bpf_htons(40000)
#define NODEPORT_TCP bpf_htons(30080)
#define NODEPORT_UDP bpf_htons(30053)
#define EXTERNAL_IP IP4(198, 19, 10, 1)
#define LB_IP IP4(198, 19, 20, 1)
#define LB_IP_OTHER IP4(198, 19, 20, 2)
#define SVC_PORT bpf_htons(80)
#define BACKEND_C IP4(198, 18, 3, 30) /* next hop without a neighbour */
#define BACKEND_D IP4(198, 18, 4, 40) /* behind the other uplink */
#define BE_C 4
#define BE_D 5
#define BE_HOST 6 /* a hostNetwork backend: node A itself */
#define WIRE_SNAT_MIN 62000
#define WIRE_SNAT_MAX 62007

#define MAC_UP0                           \
	{                                 \
		0x02, 0, 0, 0, 0x01, 0x01 \
	}
#define MAC_UP1                           \
	{                                 \
		0x02, 0, 0, 0, 0x01, 0x02 \
	}
#define MAC_CLIENT                        \
	{                                 \
		0x02, 0, 0, 0, 0x00, 0x64 \
	}
#define MAC_NODE_B                        \
	{                                 \
		0x02, 0, 0, 0, 0x00, 0x02 \
	}
#define MAC_GW_UP1                        \
	{                                 \
		0x02, 0, 0, 0, 0x01, 0xfe \
	}

/* Frames as they arrive on up0 (from the client's or node B's MAC) and
 * as XDP_TX sends them (from up0 to the FIB's next hop). */
#define ON_UP0(src_mac) .smac = src_mac, .dmac = MAC_UP0
#define TX_TO(dst_mac) .smac = MAC_UP0, .dmac = dst_mac

/* The same world in IPv6, at the addresses pkt_ip6_of() maps the IPv4
 * ones to: up0 2001:db8::1/112 (198.19.0.1/24), up1 2001:db8::1:1/112,
 * node k's pods 2001:db8:k::/64. */
#define WIRE_BATCH6                                                                   \
	"addr add 2001:db8::1/112 dev up0 nodad\n"                                    \
	"addr add 2001:db8::1:1/112 dev up1 nodad\n"                                  \
	"addr add 2001:db8:1::1/128 dev pod0 nodad\n"                                 \
	"route add 2001:db8:1::/64 dev pod0\n"                                        \
	"route add 2001:db8:2::/64 via 2001:db8::2 dev up0\n"                         \
	"route add 2001:db8:3::/64 via 2001:db8::3 dev up0\n"                         \
	"route add 2001:db8:4::/64 via 2001:db8::1:fe dev up1\n"                      \
	"neigh replace 2001:db8::64 lladdr 02:00:00:00:00:64 dev up0 nud permanent\n" \
	"neigh replace 2001:db8::2 lladdr 02:00:00:00:00:02 dev up0 nud permanent\n"  \
	"neigh replace 2001:db8::1:fe lladdr 02:00:00:00:01:fe dev up1 nud permanent\n"

#define WIRE_BATCH                                                                    \
	"link add up0 address 02:00:00:00:01:01 type veth peer name up0p\n"           \
	"link add up1 address 02:00:00:00:01:02 type veth peer name up1p\n"           \
	"link add pod0 type veth peer name pod0p\n"                                   \
	"link set up0p up\n"                                                          \
	"link set up0 up\n"                                                           \
	"link set up1p up\n"                                                          \
	"link set up1 up\n"                                                           \
	"link set pod0p up\n"                                                         \
	"link set pod0 up\n"                                                          \
	"addr add 198.19.0.1/24 dev up0\n"                                            \
	"addr add 198.19.1.1/24 dev up1\n"                                            \
	"addr add 198.18.1.1/32 dev pod0\n"                                           \
	"route add 198.18.1.0/24 dev pod0\n"                                          \
	"route add 198.18.2.0/24 via 198.19.0.2 dev up0\n"                            \
	"route add 198.18.3.0/24 via 198.19.0.3 dev up0\n"                            \
	"route add 198.18.4.0/24 via 198.19.1.254 dev up1\n"                          \
	"neigh replace 198.19.0.100 lladdr 02:00:00:00:00:64 dev up0 nud permanent\n" \
	"neigh replace 198.19.0.2 lladdr 02:00:00:00:00:02 dev up0 nud permanent\n"   \
	"neigh replace 198.19.1.254 lladdr 02:00:00:00:01:fe dev up1 nud permanent\n" WIRE_BATCH6

/* Into the wire tests' namespace (WIRE_BATCH), with the ifindexes the
 * programs run on (0 when an interface is missing); -errno on failure. */
static inline int wire_world_enter(struct pt *pt)
{
	int err = pt_netns_enter(WIRE_BATCH);

	if (err)
		return err;
	pt->uplink_ifindex = pt_ifindex("up0");
	pt->pod_ifindex = pt_ifindex("pod0");
	return 0;
}

#endif

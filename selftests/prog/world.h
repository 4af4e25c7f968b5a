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

#endif

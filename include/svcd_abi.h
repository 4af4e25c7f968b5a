/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * svcd_abi.h - every map key and value, limit, flag and counter shared by the
 * datapath (bpf/), the agent and CLI (user/) and the tests (selftests/).
 *
 * Byte order is in the type: __be* fields hold network order and are
 * converted only at the edges (the Kubernetes parser and the printers).
 * Every struct has explicit padding and a size assertion; a layout change
 * gets a new map name (..._v2) so an upgrade never misreads old pins.
 */
#ifndef SVCD_ABI_H
#define SVCD_ABI_H

#include <linux/types.h>

/* ---- pinned map names (stable contract; see docs/design.md) ---------------- */
#define SVCD_MAP_FRONTENDS "svcd_frontends"
#define SVCD_MAP_SLOTS "svcd_slots"
#define SVCD_MAP_BACKENDS "svcd_backends"
#define SVCD_MAP_CONNTRACK "svcd_conntrack"
/* embryonic TCP flows (SYN seen, handshake not over): same layout */
#define SVCD_MAP_CT_SYN "svcd_ct_syn"
#define SVCD_MAP_SERVICES "svcd_services"
#define SVCD_MAP_STATS "svcd_stats"
#define SVCD_MAP_REASONS "svcd_reasons"
#define SVCD_MAP_AFFINITY "svcd_affinity"
#define SVCD_MAP_AFFINITY_MATCH "svcd_affinity_match"
/* IPv6: one map per family where an address is in the key or value (an
 * IPv4 key stays small; docs/design.md "IPv6 and dual-stack"). Service
 * ids, slots, backend ids, stats and reasons are shared by both. */
#define SVCD_MAP_FRONTENDS6 "svcd_frontends6"
#define SVCD_MAP_BACKENDS6 "svcd_backends6"
#define SVCD_MAP_CONNTRACK6 "svcd_conntrack6"
#define SVCD_MAP_CT6_SYN "svcd_ct6_syn"
#define SVCD_MAP_AFFINITY6 "svcd_affinity6"

/* ---- default sizes (all overridable by svcd flags) -------------------- */
#define SVCD_DEF_FRONTENDS 65536
#define SVCD_DEF_SERVICES 65536 /* service ids: 1..SERVICES-1, 0 = global */
#define SVCD_DEF_BACKENDS 262144
#define SVCD_DEF_SLOTS 1048576
#define SVCD_DEF_CONNTRACK 262144
/* svcd_ct_syn's size for a conntrack size: handshakes in flight need far
 * fewer entries than flows, and a floor keeps small nodes usable. */
#define SVCD_CT_SYN_SIZE(ct) ((ct) / 4 > 256 ? (ct) / 4 : 256)
#define SVCD_DEF_AFFINITY 65536 /* {service, client} pairs remembered */

/* A TCP SYN whose backend tuple an older flow of the same client port
 * still holds (the port reused toward another frontend on that backend,
 * whose socket of the old connection may be in TIME_WAIT) gets a source
 * port drawn from this range, as netfilter's NAT does on a clash. */
#define SVCD_REMAP_PORT_MIN 32768
#define SVCD_REMAP_PORT_MAX 60999

/* Largest slot table of one service; weights are scaled down to fit. */
#define SVCD_MAX_SLOTS_PER_SERVICE 16384
#define SVCD_MAX_WEIGHT 255

/* An IPv6 address in network order, readable as bytes or as 32-bit words
 * (what the datapath compares and checksums). */
union svcd_ip6 {
	__u8 b[16];
	__be16 h[8];
	__be32 w[4];
};
_Static_assert(sizeof(union svcd_ip6) == 16, "ip6 size");

/* ---- frontends: {address, port, protocol, scope} -> service ----------- */

enum svcd_scope {
	SVCD_SCOPE_EXTERNAL = 0, /* traffic from outside the node */
	SVCD_SCOPE_INTERNAL = 1, /* traffic from local pods / the node */
};

struct svcd_frontend_key {
	__be32 addr; /* frontend IPv4 address */
	__be16 port; /* frontend port */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 scope;  /* enum svcd_scope */
};
_Static_assert(sizeof(struct svcd_frontend_key) == 8, "frontend key size");

/* svcd_frontends6: the same for IPv6; the value is struct
 * svcd_frontend_value, and its service id's slots name backend ids of
 * svcd_backends6. */
struct svcd_frontend6_key {
	union svcd_ip6 addr; /* frontend IPv6 address */
	__be16 port;
	__u8 proto;
	__u8 scope;
};
_Static_assert(sizeof(struct svcd_frontend6_key) == 20, "frontend6 key size");

enum svcd_frontend_type {
	SVCD_TYPE_CLUSTER_IP = 0,
	SVCD_TYPE_NODE_PORT = 1,
	SVCD_TYPE_EXTERNAL_IP = 2,
	SVCD_TYPE_LOAD_BALANCER = 3,
};

/* svcd_frontend_value.flags */
#define SVCD_FE_TYPE_MASK 0x0003  /* enum svcd_frontend_type */
#define SVCD_FE_LOCAL_ONLY 0x0004 /* slots hold only node-local backends */
/* slot_count 0 means "endpoints exist, none local": drop, don't refuse */
#define SVCD_FE_EMPTY_DROP 0x0008
/* LoadBalancer IP with loadBalancerSourceRanges: svcd_src_ranges decides */
#define SVCD_FE_SRC_RANGES 0x0010
/* externalTrafficPolicy Cluster from outside: SNAT to the node address */
#define SVCD_FE_SNAT 0x0020
/* The frontend address is one of this node's (NodePorts, and externalIPs
 * or LB IPs the node holds): a reply's new source is a local address. */
#define SVCD_FE_NODE_ADDR 0x0040

/*
 * The value is replaced whole by one map update, so a packet sees either
 * the old (rev, slot_count) or the new one, never a mix. Slots of a
 * revision are written before the frontend points at them and deleted
 * after it stops pointing at them.
 */
struct svcd_frontend_value {
	__u32 service_id; /* index into svcd_stats and svcd_services */
	__u16 slot_count; /* 0: no usable backend -> refuse */
	__u16 rev;	  /* slot table revision in svcd_slots */
	__u16 flags;	  /* SVCD_FE_* */
	__u16 pad;
	__u32 affinity_timeout; /* seconds; 0 = no session affinity */
};
_Static_assert(sizeof(struct svcd_frontend_value) == 16, "frontend value size");

/* ---- slots: {service, revision, slot} -> backend id ------------------- */

struct svcd_slot_key {
	__u32 service_id;
	__u16 rev;  /* matches svcd_frontend_value.rev */
	__u16 slot; /* 0 .. slot_count-1 */
};
_Static_assert(sizeof(struct svcd_slot_key) == 8, "slot key size");

/* ---- backends: id -> address ------------------------------------------ */

/* svcd_backend.flags */
#define SVCD_BE_LOCAL 0x01	 /* endpoint runs on this node */
#define SVCD_BE_TERMINATING 0x02 /* serving but terminating */

struct svcd_backend {
	__be32 addr; /* backend IPv4 address */
	__be16 port; /* backend port (EndpointSlice port) */
	__u8 proto;  /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 flags;  /* SVCD_BE_* */
};
_Static_assert(sizeof(struct svcd_backend) == 8, "backend size");

/* svcd_backends6: id -> IPv6 backend. Ids come from one allocator for both
 * families, so an id is in svcd_backends or in svcd_backends6, never both. */
struct svcd_backend6 {
	union svcd_ip6 addr; /* backend IPv6 address */
	__be16 port;
	__u8 proto;
	__u8 flags; /* SVCD_BE_* */
};
_Static_assert(sizeof(struct svcd_backend6) == 20, "backend6 size");

/* ---- services: id -> names, for people (svcctl) and restarts --------- */

#define SVCD_NAME_LEN 128     /* "namespace/name": 63 + 1 + 63, NUL */
#define SVCD_PORT_NAME_LEN 16 /* IANA service name: 15 chars, NUL */

/* svcd_service.set */
enum svcd_backend_set {
	SVCD_SET_CLUSTER = 0, /* all usable endpoints */
	SVCD_SET_LOCAL = 1,   /* node-local usable endpoints */
};

struct svcd_service {
	char name[SVCD_NAME_LEN];	    /* "namespace/name" */
	char port_name[SVCD_PORT_NAME_LEN]; /* Service port name, "" if unnamed */
	__u8 proto;			    /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 set;			    /* enum svcd_backend_set */
	__u16 pad;
	__u32 pad2;
};
_Static_assert(sizeof(struct svcd_service) == 152, "service size");

/* ---- loadBalancerSourceRanges: LPM trie {LB IP, source prefix} -------- */

#define SVCD_MAP_SRC_RANGES "svcd_src_ranges"

struct svcd_src_range_key {
	__u32 prefixlen; /* 32 (the LB IP) + source prefix length */
	__be32 lb_addr;	 /* LoadBalancer ingress IP */
	__be32 src_addr; /* allowed source prefix */
};
_Static_assert(sizeof(struct svcd_src_range_key) == 12, "src range key size");

#define SVCD_MAP_SRC_RANGES6 "svcd_src_ranges6"

struct svcd_src_range6_key {
	__u32 prefixlen;	 /* 128 (the LB IP) + source prefix length */
	union svcd_ip6 lb_addr;	 /* LoadBalancer ingress IP */
	union svcd_ip6 src_addr; /* allowed source prefix */
};
_Static_assert(sizeof(struct svcd_src_range6_key) == 36, "src range6 key size");

/* ---- socket translation (F8): reverse map of translated sockets ------ */

#define SVCD_MAP_SOCK_REV "svcd_sock_rev"

/*
 * Written by connect4/sendmsg4 when they send a socket to a backend, read
 * by recvmsg4/getpeername4 to show the frontend instead: an LRU hash, so
 * entries of closed sockets age out (the cookie is never reused).
 */
struct svcd_sock_rev_key {
	__u64 cookie; /* bpf_get_socket_cookie() of the socket */
	__be32 addr;  /* backend address */
	__be16 port;  /* backend port */
	__u8 proto;   /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};
_Static_assert(sizeof(struct svcd_sock_rev_key) == 16, "sock rev key size");

struct svcd_sock_rev_value {
	__be32 addr; /* frontend address the socket asked for */
	__be16 port; /* frontend port */
	__u16 pad;
};
_Static_assert(sizeof(struct svcd_sock_rev_value) == 8, "sock rev value size");

/* The same for IPv6 sockets (connect6/sendmsg6/recvmsg6/getpeername6). */
#define SVCD_MAP_SOCK_REV6 "svcd_sock_rev6"

struct svcd_sock_rev6_key {
	__u64 cookie;	     /* bpf_get_socket_cookie() of the socket */
	union svcd_ip6 addr; /* backend address */
	__be16 port;	     /* backend port */
	__u8 proto;
	__u8 pad[5];
};
_Static_assert(sizeof(struct svcd_sock_rev6_key) == 32, "sock rev6 key size");

struct svcd_sock_rev6_value {
	union svcd_ip6 addr; /* frontend address the socket asked for */
	__be16 port;
	__u16 pad;
};
_Static_assert(sizeof(struct svcd_sock_rev6_value) == 20,
	       "sock rev6 value size");

/*
 * svcd_sock_fwd: the backend an unconnected UDP socket's datagrams to a
 * frontend go to (sendmsg4), so that they stay on one backend as a UDP
 * flow does on the tc path (its conntrack entry). The key is struct
 * svcd_sock_rev_key with the frontend's address and port. A datagram
 * follows the entry while the frontend still points at the same service
 * and slot table revision (the backend is then in it for sure); after a
 * change of the Service's endpoints, a new weighted choice, remembered.
 * LRU: entries of closed sockets age out.
 */
#define SVCD_MAP_SOCK_FWD "svcd_sock_fwd"

struct svcd_sock_fwd_value {
	__u32 backend_id; /* svcd_backends (svcd_backends6) id */
	__u32 service_id;
	__u16 rev; /* svcd_frontend_value.rev when it was chosen */
	__u16 pad;
};
_Static_assert(sizeof(struct svcd_sock_fwd_value) == 12, "sock fwd value size");

/* The same for IPv6 (sendmsg6): key struct svcd_sock_rev6_key, value
 * struct svcd_sock_fwd_value (ids of svcd_backends6). */
#define SVCD_MAP_SOCK_FWD6 "svcd_sock_fwd6"
/* per hook and reason (issue 15): see enum svcd_hook */
#define SVCD_MAP_HOOK_REASONS "svcd_hook_reasons"

/*
 * svcd_shortfall (issue 16): made and written by the agent (no program
 * reads it) after each sync, read by `svcctl status`. Array, key enum
 * svcd_shortfall_map, value __u32: the Service ports (sets) the last sync
 * could not install, or left at their previous version, because that map
 * (or its id space) was full. All 0 when everything fit.
 */
#define SVCD_MAP_SHORTFALL "svcd_shortfall"

enum svcd_shortfall_map {
	SVCD_SF_SERVICES,	/* svcd_services: ids, --max-services */
	SVCD_SF_BACKENDS,	/* svcd_backends: ids, --max-backends */
	SVCD_SF_BACKENDS6,	/* svcd_backends6 */
	SVCD_SF_SLOTS,		/* svcd_slots: --max-backends x 4 */
	SVCD_SF_AFFINITY_MATCH, /* svcd_affinity_match: as slots */
	SVCD_SF_FRONTENDS,	/* svcd_frontends: --max-services */
	SVCD_SF_FRONTENDS6,	/* svcd_frontends6 */
	SVCD_SF_COUNT,
	SVCD_SF_MAX = 16, /* max_entries: room to grow */
};

/*
 * svcd_control: one entry (key 0) every program reads before it makes a
 * new flow. SVCD_CTL_DRAIN (set by `svcd --cleanup --drain`, cleared by
 * every agent start): no new flow is translated, at any hook (packets
 * and sockets pass as not ours, for kube-proxy's rules to take), while
 * the flows conntrack holds are still translated until they end.
 */
#define SVCD_MAP_CONTROL "svcd_control"
#define SVCD_CTL_DRAIN 1u

struct svcd_control {
	__u32 flags; /* SVCD_CTL_* */
	__u32 pad;
};

/* ---- conntrack -------------------------------------------------------- */

enum svcd_ct_dir {
	SVCD_CT_FORWARD = 0, /* client -> frontend, as the client sent it */
	SVCD_CT_REVERSE = 1, /* backend -> client, as the backend sends it */
};

struct svcd_ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir; /* enum svcd_ct_dir */
	__u16 pad;
};
_Static_assert(sizeof(struct svcd_ct_key) == 16, "ct key size");

/* svcd_ct_value.flags */
#define SVCD_CT_SNAT 0x01     /* source rewritten too (hairpin, SNAT, remap) */
#define SVCD_CT_SEEN_FIN 0x02 /* a FIN or RST was seen: short lifetime */
#define SVCD_CT_SEEN_REPLY 0x04
/* After translation the source is a node address (SNAT, or the reply of a
 * NodePort flow): the stack would drop it as a martian, so the hook sends
 * it out itself (fib lookup + redirect) instead of passing it up. */
#define SVCD_CT_LOCAL_SRC 0x08

enum svcd_tcp_state {
	SVCD_TCP_NONE = 0, /* UDP */
	SVCD_TCP_SYN_SENT = 1,
	SVCD_TCP_ESTABLISHED = 2,
	SVCD_TCP_CLOSING = 3,
};

/*
 * Forward entry: key = client->frontend tuple; the value says where the
 * packet goes (backend, and the source to use when SNAT is set).
 * Reverse entry: key = backend->client tuple as the backend replies; the
 * value says what to put back (frontend as source, client as destination).
 */
struct svcd_ct_value {
	__be32 nat_saddr; /* fwd: new source (SNAT); rev: client address */
	__be32 nat_daddr; /* fwd: backend address; rev: frontend address */
	__be16 nat_sport; /* fwd: new source port; rev: client port */
	__be16 nat_dport; /* fwd: backend port; rev: frontend port */
	__u32 backend_id; /* svcd_backends id the flow was given */
	__u32 service_id; /* for counters */
	__u8 flags;	  /* SVCD_CT_* */
	__u8 tcp_state;	  /* enum svcd_tcp_state */
	__u16 pad;
	__u64 created_ns; /* svcd_now() (CLOCK_MONOTONIC_COARSE) at creation */
	__u64 last_seen_ns; /* refreshed at most every SVCD_CT_REFRESH_NS */
};
_Static_assert(sizeof(struct svcd_ct_value) == 40, "ct value size");

/* svcd_conntrack6: the same entries for IPv6 flows. */
struct svcd_ct6_key {
	union svcd_ip6 saddr;
	union svcd_ip6 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 dir; /* enum svcd_ct_dir */
	__u16 pad;
};
_Static_assert(sizeof(struct svcd_ct6_key) == 40, "ct6 key size");

struct svcd_ct6_value {
	union svcd_ip6 nat_saddr; /* as svcd_ct_value, 16-byte addresses */
	union svcd_ip6 nat_daddr;
	__be16 nat_sport;
	__be16 nat_dport;
	__u32 backend_id; /* svcd_backends6 id */
	__u32 service_id;
	__u8 flags;
	__u8 tcp_state;
	__u16 pad;
	__u64 created_ns;
	__u64 last_seen_ns;
};
_Static_assert(sizeof(struct svcd_ct6_value) == 64, "ct6 value size");

/* Lifetimes after the last packet, by state. */
#define SVCD_NS_PER_SEC 1000000000ULL
#define SVCD_CT_LIFETIME_SYN (60 * SVCD_NS_PER_SEC)
#define SVCD_CT_LIFETIME_TCP (6 * 3600 * SVCD_NS_PER_SEC)
#define SVCD_CT_LIFETIME_CLOSING (10 * SVCD_NS_PER_SEC)
#define SVCD_CT_LIFETIME_UDP (120 * SVCD_NS_PER_SEC)
#define SVCD_CT_REFRESH_NS (1 * SVCD_NS_PER_SEC)

/* ---- session affinity (sessionAffinity ClientIP) ---------------------- */

/*
 * affinity (LRU hash): the backend a client was last given by a service,
 * written by the datapath for every new flow to a frontend with an
 * affinity_timeout. Keyed by service id, so every frontend of one backend
 * set (ClusterIP, NodePort, ...) shares it, as kube-proxy's per-chain
 * `recent` lists do.
 */
struct svcd_affinity_key {
	__u32 service_id; /* svcd_frontend_value.service_id */
	__be32 client;	  /* client address as it arrived (before any SNAT) */
};
_Static_assert(sizeof(struct svcd_affinity_key) == 8, "affinity key size");

/* svcd_affinity6: IPv6 clients; the value is struct svcd_affinity_value. */
struct svcd_affinity6_key {
	__u32 service_id;
	union svcd_ip6 client;
};
_Static_assert(sizeof(struct svcd_affinity6_key) == 20, "affinity6 key size");

struct svcd_affinity_value {
	__u32 backend_id; /* svcd_backends id the client was given */
	__u32 pad;
	__u64 last_used_ns; /* svcd_now() of the last new flow */
};
_Static_assert(sizeof(struct svcd_affinity_value) == 16, "affinity value size");

/*
 * affinity_match (hash): {service, backend} -> 1 for every backend in the
 * slot table of a service whose frontends have an affinity_timeout. The
 * datapath follows a remembered backend only when its pair is here: a
 * backend id is shared by every service that uses the address, so being
 * in svcd_backends says nothing about being in this service. The agent
 * writes a set's pairs before its frontends use the new slot table and
 * deletes those of departed backends only after no frontend uses the old
 * one, so a remembered backend is always in the old or the new set.
 */
struct svcd_affinity_match_key {
	__u32 service_id;
	__u32 backend_id;
};
_Static_assert(sizeof(struct svcd_affinity_match_key) == 8,
	       "affinity match key size");

/* ---- counters --------------------------------------------------------- */

/* svcd_stats: per-CPU array, index = service id, index 0 = all services */
struct svcd_stats {
	__u64 packets; /* translated packets, both directions */
	__u64 bytes;
	__u64 new_flows;  /* conntrack entries created */
	__u64 no_backend; /* refused: frontend without usable backend */
	__u64 map_full;	  /* conntrack insert failed, or no SNAT port */
};
_Static_assert(sizeof(struct svcd_stats) == 40, "stats size");

/*
 * svcd_reasons: per-CPU array of packet counts, one per verdict reason.
 * Programs return an action or a negative reason; the entry point counts
 * -reason here and maps it to an action.
 */
enum svcd_reason {
	SVCD_R_NONE = 0,	  /* unused: 0 cannot be told from success */
	SVCD_R_PASS_NOT_IP,	  /* neither IPv4 nor IPv6: passed */
	SVCD_R_PASS_NOT_OURS,	  /* IP not for a frontend, no conntrack */
	SVCD_R_FORWARD,		  /* translated client -> backend */
	SVCD_R_REVERSE,		  /* translated backend -> client */
	SVCD_R_REFUSED,		  /* no backend: ICMP port unreachable sent */
	SVCD_R_PASS_FRAGMENT,	  /* non-first fragment or fragmented frontend
				     * packet: passed untranslated */
	SVCD_R_DROP_NO_SLOT,	  /* slot or backend missing (writer race) */
	SVCD_R_DROP_CT_FULL,	  /* conntrack insert failed */
	SVCD_R_DROP_REWRITE,	  /* a helper failed while rewriting */
	SVCD_R_PASS_MALFORMED,	  /* truncated or invalid IPv4/L4 headers:
				     * passed untouched, the stack drops them */
	SVCD_R_PASS_OTHER_PROTO,  /* IPv4 but neither TCP nor UDP */
	SVCD_R_DROP_NO_LOCAL,	  /* Local policy, no local endpoint: dropped */
	SVCD_R_DROP_SNAT_PORTS,	  /* no free SNAT port toward that backend */
	SVCD_R_DROP_SOURCE_RANGE, /* source outside loadBalancerSourceRanges */
	SVCD_R_PASS_REFUSE_STACK, /* no backend, from the wire: passed so the
				   * stack answers (RST / port unreachable) */
	SVCD_R_PASS_TO_TC,	  /* XDP: needs a neighbour lookup, left to the
				   * tc ingress program (from_wire_tc) */
	SVCD_R_DROP_FIB,	  /* no route toward the translated address */
	SVCD_R_TX,		  /* XDP/tc: translated and sent out directly */
	/* Socket programs (sock.bpf.c) count calls, not packets, and only
	 * calls that concern a frontend. DROP_NO_LOCAL and DROP_NO_SLOT from
	 * them mean the call failed with EPERM. */
	SVCD_R_SOCK_FORWARD, /* connect/sendmsg: frontend -> backend */
	SVCD_R_SOCK_REVERSE, /* recvmsg/getpeername: backend -> frontend */
	SVCD_R_SOCK_REFUSED, /* connect/sendmsg to a frontend without
			      * backends: failed with ECONNREFUSED */
	/* IPv6 (appended: a pinned svcd_reasons keeps its indexes). */
	SVCD_R_PASS_EXT_HDR, /* IPv6 with a fragment header, an unknown next
			      * header or more extension headers than the
			      * parser walks: passed untranslated */
	SVCD_R_ICMP_ERROR,   /* ICMP/ICMPv6 error about a translated flow:
			      * its quoted tuple translated back */
	/* A SYN-ACK on the backend tuple of a flow conntrack holds as over:
	 * the answer to a connection svcd did not make; the old reverse
	 * entry is deleted, the packet passed untranslated. */
	SVCD_R_PASS_STALE_REPLY,
	SVCD_R_MAX,
};

/*
 * svcd_hook_reasons: per-CPU array of the same counts split by the hook
 * that counted them, key hook * SVCD_REASON_STRIDE + reason. Each hook
 * counts every packet it takes under exactly one reason, so a hook's
 * reasons add up to the packets it took; svcd_reasons[r] is the sum over
 * hooks of r. What a hook does not take: from_wire_tc beside XDP takes
 * only what from_wire handed over (XDP counted the rest); socket hooks
 * count calls, and only those that concern a frontend. The stride and
 * hook slots leave room to append reasons and hooks with the layout kept.
 */
enum svcd_hook {
	SVCD_HOOK_FROM_POD = 0, /* tc ingress of pod interfaces */
	SVCD_HOOK_TO_POD,	/* tc egress of pod interfaces */
	SVCD_HOOK_FROM_WIRE,	/* XDP on uplinks */
	SVCD_HOOK_FROM_WIRE_TC, /* tc ingress of uplinks */
	SVCD_HOOK_TO_WIRE,	/* tc egress of uplinks */
	SVCD_HOOK_SOCK,		/* cgroup sock_addr programs (calls) */
	SVCD_HOOK_MAX,
};
#define SVCD_REASON_STRIDE 64
#define SVCD_HOOK_SLOTS 8
_Static_assert(SVCD_R_MAX <= SVCD_REASON_STRIDE, "reason stride");
_Static_assert(SVCD_HOOK_MAX <= SVCD_HOOK_SLOTS, "hook slots");

#endif /* SVCD_ABI_H */

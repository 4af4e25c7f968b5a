/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * maps.h - the pinned maps every svcd program shares. Sizes here are the
 * defaults; svcd sets the real ones from its flags before load.
 */
#ifndef SVCD_BPF_MAPS_H
#define SVCD_BPF_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "svcd_abi.h"

/*
 * BPF_F_NO_PREALLOC: a replaced element is freed after an RCU grace
 * period, so a program still reading the old frontend value never sees it
 * reused for another key mid-read (preallocated hash maps recycle elements
 * at once).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVCD_DEF_FRONTENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct svcd_frontend_key);
	__type(value, struct svcd_frontend_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_frontends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVCD_DEF_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct svcd_slot_key);
	__type(value, __u32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVCD_DEF_BACKENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct svcd_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_backends SEC(".maps");

/* Read by svcctl and by svcd on restart; the datapath never looks here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVCD_DEF_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct svcd_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK);
	__type(key, struct svcd_ct_key);
	__type(value, struct svcd_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_conntrack SEC(".maps");

/* svcd_abi.h: the drain switch of `svcd --cleanup --drain`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct svcd_control);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_control SEC(".maps");

/* No new flow while draining (one array lookup, inlined by the
 * verifier; only on the way to a new flow). */
static __always_inline int svcd_draining(void)
{
	__u32 key = 0;
	struct svcd_control *c = bpf_map_lookup_elem(&svcd_control, &key);

	return c && (c->flags & SVCD_CTL_DRAIN);
}

/*
 * Embryonic TCP flows: the entry pair of a SYN lives here, not in
 * svcd_conntrack, until the handshake ends (the client's first ACK after
 * the backend's reply); then it moves there. A SYN flood churns only this
 * map, so it cannot evict established flows (docs/design.md, "Conntrack
 * under pressure"). Sized by svcd before load (SVCD_CT_SYN_SIZE).
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK / 4);
	__type(key, struct svcd_ct_key);
	__type(value, struct svcd_ct_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_ct_syn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVCD_DEF_SERVICES);
	__type(key, __u32);
	__type(value, struct svcd_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVCD_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_reasons SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SVCD_HOOK_SLOTS *SVCD_REASON_STRIDE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_hook_reasons SEC(".maps");

/* sessionAffinity ClientIP: {service, client} -> backend, last used. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_AFFINITY);
	__type(key, struct svcd_affinity_key);
	__type(value, struct svcd_affinity_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_affinity SEC(".maps");

/* {service, backend} pairs a remembered backend must be in (svcd_abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVCD_DEF_SLOTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct svcd_affinity_match_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_affinity_match SEC(".maps");

/* Allowed sources of LoadBalancer IPs that set loadBalancerSourceRanges. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct svcd_src_range_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_src_ranges SEC(".maps");

/*
 * IPv6: the maps whose keys or values hold an address, one per family
 * (svcd_abi.h). svcd sizes them from the same flags as their IPv4 twins
 * when the node serves IPv6, and to 1 entry otherwise, so an IPv4-only
 * node pays nothing for the preallocated LRU maps.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVCD_DEF_FRONTENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct svcd_frontend6_key);
	__type(value, struct svcd_frontend_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_frontends6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SVCD_DEF_BACKENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct svcd_backend6);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_backends6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK);
	__type(key, struct svcd_ct6_key);
	__type(value, struct svcd_ct6_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_conntrack6 SEC(".maps");

/* svcd_ct_syn for IPv6 flows. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_CONNTRACK / 4);
	__type(key, struct svcd_ct6_key);
	__type(value, struct svcd_ct6_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_ct6_syn SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SVCD_DEF_AFFINITY);
	__type(key, struct svcd_affinity6_key);
	__type(value, struct svcd_affinity_value);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_affinity6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct svcd_src_range6_key);
	__type(value, __u8);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} svcd_src_ranges6 SEC(".maps");

#endif

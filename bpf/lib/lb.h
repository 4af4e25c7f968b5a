/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lb.h - frontend lookup and weighted backend selection. */
#ifndef SVCD_BPF_LB_H
#define SVCD_BPF_LB_H

#include "maps.h"
#include "parse.h"

static __always_inline struct svcd_frontend_value *
lb_lookup_frontend_addr(__be32 addr, __be16 port, __u8 proto, __u8 scope)
{
	struct svcd_frontend_key key = {
		.addr = addr,
		.port = port,
		.proto = proto,
		.scope = scope,
	};

	return bpf_map_lookup_elem(&svcd_frontends, &key);
}

static __always_inline struct svcd_frontend_value *
lb_lookup_frontend(const struct flow4 *f, __u8 scope)
{
	return lb_lookup_frontend_addr(f->daddr, f->dport, f->proto, scope);
}

/*
 * Pick a backend for a new flow: a backend of weight w owns w of the
 * slot_count slots, so one random index is a weighted choice. fe is a copy
 * taken once, so slot_count and rev belong to the same revision.
 * Returns the backend, or NULL if the slot or backend is missing.
 */
static __always_inline struct svcd_backend *
lb_select_backend(const struct svcd_frontend_value *fe, __u32 *backend_id)
{
	struct svcd_slot_key key = {
		.service_id = fe->service_id,
		.rev = fe->rev,
		.slot = bpf_get_prandom_u32() % fe->slot_count,
	};
	__u32 *id;

	id = bpf_map_lookup_elem(&svcd_slots, &key);
	if (!id)
		return NULL;
	*backend_id = *id;
	return bpf_map_lookup_elem(&svcd_backends, id);
}

/* IPv6 twins of the two above (svcd_frontends6, svcd_backends6); the
 * slots are shared, so only the last lookup differs. */
static __always_inline struct svcd_frontend_value *
lb6_lookup_frontend_addr(const union svcd_ip6 *addr, __be16 port, __u8 proto,
			 __u8 scope)
{
	struct svcd_frontend6_key key = {
		.addr = *addr,
		.port = port,
		.proto = proto,
		.scope = scope,
	};

	return bpf_map_lookup_elem(&svcd_frontends6, &key);
}

static __always_inline struct svcd_backend6 *
lb6_select_backend(const struct svcd_frontend_value *fe, __u32 *backend_id)
{
	struct svcd_slot_key key = {
		.service_id = fe->service_id,
		.rev = fe->rev,
		.slot = bpf_get_prandom_u32() % fe->slot_count,
	};
	__u32 *id;

	id = bpf_map_lookup_elem(&svcd_slots, &key);
	if (!id)
		return NULL;
	*backend_id = *id;
	return bpf_map_lookup_elem(&svcd_backends6, id);
}

/*
 * sessionAffinity ClientIP (kube-proxy's `recent` match): a new flow from
 * a client goes to the backend the service last gave it, if that was
 * within affinity_timeout seconds and the backend is still in the set;
 * otherwise to a weighted choice, which is remembered. Either way the
 * entry's clock restarts, so a client that keeps opening flows stays.
 * Two CPUs starting flows of one client at once may choose twice; the
 * last write wins, as it would with iptables.
 */
static __always_inline struct svcd_backend *
lb_select_affinity(const struct flow4 *f, const struct svcd_frontend_value *fe,
		   __u64 now, __u32 *backend_id)
{
	struct svcd_affinity_key key = {
		.service_id = fe->service_id,
		.client = f->saddr,
	};
	struct svcd_affinity_match_key match;
	struct svcd_affinity_value *aff, val;
	struct svcd_backend *be;

	aff = bpf_map_lookup_elem(&svcd_affinity, &key);
	if (aff && now - aff->last_used_ns <=
			   (__u64)fe->affinity_timeout * SVCD_NS_PER_SEC) {
		match.service_id = fe->service_id;
		match.backend_id = aff->backend_id;
		be = bpf_map_lookup_elem(&svcd_affinity_match, &match) ?
			     bpf_map_lookup_elem(&svcd_backends,
						 &match.backend_id) :
			     NULL;
		if (be) {
			*backend_id = match.backend_id;
			aff->last_used_ns = now;
			return be;
		}
	}
	be = lb_select_backend(fe, backend_id);
	if (!be)
		return NULL;
	val.backend_id = *backend_id;
	val.pad = 0;
	val.last_used_ns = now;
	/* An LRU map makes room itself; a failure only loses the pin. */
	bpf_map_update_elem(&svcd_affinity, &key, &val, BPF_ANY);
	return be;
}

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* lb.h - frontend lookup and weighted backend selection (both families;
 * sessionAffinity, which needs the flow, is in the template svc_af.h). */
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

#endif

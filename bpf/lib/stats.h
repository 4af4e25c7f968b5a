/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* stats.h - per-CPU counters: per service, all services, per reason. */
#ifndef SVCD_BPF_STATS_H
#define SVCD_BPF_STATS_H

#include <stdbool.h>

#include "maps.h"

enum stat_field {
	STAT_PACKET,
	STAT_NEW_FLOW,
	STAT_NO_BACKEND,
	STAT_MAP_FULL,
};

static __always_inline void stats_add_one(__u32 index, enum stat_field field,
					  __u64 bytes)
{
	struct svcd_stats *s = bpf_map_lookup_elem(&svcd_stats, &index);

	if (!s)
		return;
	switch (field) {
	case STAT_PACKET:
		s->packets++;
		s->bytes += bytes;
		break;
	case STAT_NEW_FLOW:
		s->new_flows++;
		break;
	case STAT_NO_BACKEND:
		s->no_backend++;
		break;
	case STAT_MAP_FULL:
		s->map_full++;
		break;
	}
}

/* Counts in the service's slot and in slot 0 (all services). */
static __always_inline void stats_add(__u32 service_id, enum stat_field field,
				      __u64 bytes)
{
	if (service_id)
		stats_add_one(service_id, field, bytes);
	stats_add_one(0, field, bytes);
}

/* The reasons that end in a drop, whatever the hook. */
static __always_inline bool reason_drops(int reason)
{
	switch (reason) {
	case SVCD_R_DROP_NO_SLOT:
	case SVCD_R_DROP_CT_FULL:
	case SVCD_R_DROP_REWRITE:
	case SVCD_R_DROP_NO_LOCAL:
	case SVCD_R_DROP_SNAT_PORTS:
	case SVCD_R_DROP_SOURCE_RANGE:
	case SVCD_R_DROP_FIB:
		return true;
	default:
		return false;
	}
}

/* One packet (or socket call) of hook, under reason: in svcd_reasons and
 * in svcd_hook_reasons. */
static __always_inline void stats_reason(enum svcd_hook hook, int reason)
{
	__u32 key = reason;
	__u64 *count = bpf_map_lookup_elem(&svcd_reasons, &key);

	if (count)
		*count += 1;
	key = hook * SVCD_REASON_STRIDE + (reason & (SVCD_REASON_STRIDE - 1));
	count = bpf_map_lookup_elem(&svcd_hook_reasons, &key);
	if (count)
		*count += 1;
}

#endif

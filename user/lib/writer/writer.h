/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * writer/writer.h - the map writer: makes the maps equal to a desired model_state
 * by writing only the difference, in an order that never shows a packet a
 * half-written service (docs/design.md invariants 1 and 3).
 *
 * Both families: IPv6 frontends, backends and source ranges go to the
 * WMAP_*6 maps, backend ids come from one allocator for both, and a
 * set's identity includes its family (one service id per family); the
 * services map does not hold the family, so writer_new() learns it from
 * the frontends (or backends) that name each service.
 *
 * The writer never calls libbpf: it talks to the maps through a small ops
 * table, so unit tests drive it over in-memory maps that check the
 * invariants after every single operation, and svcd drives it over the
 * pinned BPF maps (sys/pinned.c). The same code does the first sync after a
 * restart (the mirror is loaded from the maps) and every later change.
 */
#ifndef SVCD_WRITER_H
#define SVCD_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"
#include "svcd_abi.h"
#include "writer/ops.h"

struct writer_limits {
	uint32_t max_services; /* service ids are 1 .. max_services-1 */
	uint32_t max_backends; /* backend ids are 1 .. max_backends-1 */
};

struct writer_stats {
	uint32_t services_added, services_updated, services_removed;
	uint32_t frontends_added, frontends_removed;
	uint32_t backends_added, backends_removed;
	uint32_t udp_flows_flushed;
	uint32_t src_ranges_added, src_ranges_removed;
	uint32_t errors; /* sets left at their old version (or absent) */
	/* of those, the ones a full map (or id space) stopped, by map
	 * (enum svcd_shortfall_map), and the first such set's name; each
	 * set's own line is at debug level, the sync says it once */
	uint32_t full[SVCD_SF_COUNT];
	char full_first[SVCD_SF_COUNT][200];
};

struct writer; /* opaque: the mirror of what the maps hold + id allocators */

/*
 * Create a writer over ops and load its mirror from the maps (services,
 * backends, slots, frontends, affinity match pairs, source ranges), so ids
 * stay stable across restarts and an unchanged state writes nothing.
 * Entries that do not form a consistent service (orphan slots, frontends
 * naming a missing service) are kept until the first sync removes them.
 * Returns NULL and sets errno on failure.
 */
struct writer *writer_new(const struct writer_ops *ops, void *ops_ctx,
			  const struct writer_limits *limits);
void writer_free(struct writer *w);

/*
 * Make the maps equal to desired. Each set is installed whole or not at
 * all: on a map error the set keeps its previous version (or stays
 * absent), the error is logged with the set's name, counted in
 * stats->errors, and the sync goes on with the other sets.
 * UDP conntrack entries whose backend left its set are deleted. Sets with
 * an affinity timeout get a WMAP_AFFINITY_MATCH pair per backend of their
 * slot table, written before the frontends use the table and deleted
 * after no frontend uses one that holds the backend. The source ranges
 * (WMAP_SRC_RANGES, desired->src_ranges) are written before any frontend
 * and deleted after the frontends that checked them are gone or updated;
 * a range that fails is logged with its LB IP and prefix and counted in
 * stats->errors, and its frontends are written all the same (they drop
 * what no range they find allows).
 * Returns 0 when everything was applied, or the first -errno seen.
 */
int writer_sync(struct writer *w, const struct model_state *desired,
		struct writer_stats *stats);

/*
 * The same for the Services named (names[i] is "namespace/name") alone:
 * the maps become what they held for every other Service plus desired,
 * which holds the wanted sets of those Services and nothing else (a name
 * with no set in desired is removed). Costs O(the sets of those Services),
 * plus a walk of the frontends. Every invariant of writer_sync() holds.
 * Returns -EAGAIN, having written nothing, when it cannot: no
 * writer_sync() before it (or it ran out of memory), or source ranges
 * (desired holds some, or a frontend of those Services checks some: they
 * are shared by LB IP, and only a whole sync may take them away); the
 * caller then syncs whole.
 */
int writer_sync_partial(struct writer *w, const struct model_state *desired,
			const char *const *names, size_t n_names,
			struct writer_stats *stats);

/* Number of service ids / backend ids in use (for logs and tests). */
size_t writer_service_count(const struct writer *w);
size_t writer_backend_count(const struct writer *w);

#endif

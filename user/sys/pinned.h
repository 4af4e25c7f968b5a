/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pinned.h - the pinned maps seen from userspace: opened by name under
 * the pin directory, driven by the writer through svcd_bpf_writer_ops, and
 * read by svcctl (per-CPU counters summed over the possible CPUs).
 */
#ifndef SVCD_PINNED_H
#define SVCD_PINNED_H

#include <linux/types.h>

#include "svcd_abi.h"
#include "lib/writer/writer.h"

struct svcd_maps {
	int fd[WMAP_COUNT]; /* by enum writer_map; -1 when not open */
	int stats_fd;	    /* SVCD_MAP_STATS */
	int reasons_fd;	    /* SVCD_MAP_REASONS */
	int affinity_fd;    /* SVCD_MAP_AFFINITY (datapath-written) */
};

/*
 * Open every pinned map as PIN_DIR/<name> (names in svcd_abi.h) and check its
 * key and value sizes against svcd_abi.h, so pins left by a build with another
 * layout are refused instead of misread. Returns 0, or -errno after one
 * pr_err() line naming the path and what to try; on failure nothing stays
 * open and every fd is -1.
 */
int svcd_maps_open_pinned(const char *pin_dir, struct svcd_maps *maps);

/* Close what is open; safe on a struct that failed to open or was closed. */
void svcd_maps_close(struct svcd_maps *maps);

/*
 * The writer's map access over BPF syscalls; ctx is a struct svcd_maps *.
 * delete treats -ENOENT as done; iterate skips entries that vanish while
 * it walks (normal for the LRU conntrack map) and may show an entry twice
 * when the walk restarts after its cursor vanished.
 */
extern const struct writer_ops svcd_bpf_writer_ops;

/* Sum of the per-CPU counters of one service id (0: all services).
 * Returns 0 or -errno. */
int svcd_maps_read_stats(const struct svcd_maps *m, __u32 service_id,
			 struct svcd_stats *sum);

/* Packets per verdict reason, summed over CPUs. Returns 0 or -errno. */
int svcd_maps_read_reasons(const struct svcd_maps *m, __u64 counts[SVCD_R_MAX]);

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * pinned.h - the one door to svcd's pinned maps from userspace: each opened
 * by name under the pin directory and checked against the layout this build
 * expects (the loader before it reuses a pin, svcd's writer, svcctl); read
 * whole, per-CPU counters summed, and driven by the writer through
 * svcd_bpf_writer_ops.
 */
#ifndef SVCD_PINNED_H
#define SVCD_PINNED_H

#include <stddef.h>

#include <linux/types.h>
#include <bpf/bpf.h>

#include "svcd_abi.h"
#include "lib/writer/ops.h"

/*
 * What a pinned map must be for this build to use it: what the BPF objects
 * declare (bpf/lib/maps.h, bpf/sock.bpf.c) with the sizes of svcd_abi.h.
 * max_entries is not part of it: svcd sizes maps from its flags and a
 * restarted svcd keeps the pinned size.
 */
struct svcd_map_layout {
	__u32 type;	  /* enum bpf_map_type */
	__u32 key_size;	  /* bytes */
	__u32 value_size; /* bytes; per CPU for per-CPU maps */
	__u32 map_flags;  /* BPF_F_* */
};

/* The layout this build expects of the map pinned as NAME (SVCD_MAP_*), or
 * NULL when NAME is none of svcd's maps. */
const struct svcd_map_layout *svcd_map_layout(const char *name);

/* "hash key 4 value 8 flags 0x1", for messages. */
void svcd_map_layout_str(const struct svcd_map_layout *l, char *buf,
			 size_t len);

/* Room for the one line svcd_pinned_open() explains a failure with. */
#define SVCD_PIN_WHY_LEN 1024

/*
 * Open the map pinned as PIN_DIR/NAME and check its type, key size, value
 * size and flags against svcd_map_layout(NAME), so that pins left by a
 * build with another layout are refused instead of misread. Returns the fd
 * (and *info, when info is not NULL), or -errno with one line in why that
 * names the path, the cause and what to try: -ENOENT when nothing is
 * pinned there, -EINVAL when the pin has another layout (both named).
 */
int svcd_pinned_open(const char *pin_dir, const char *name,
		     struct bpf_map_info *info, char *why, size_t why_len);

/*
 * Calls fn on every entry of the hash-type map fd (keys of key_size bytes,
 * values of value_size; value is NULL when value_size is 0). Entries that
 * vanish during the walk are skipped; when the key the walk stands on
 * vanishes, the kernel starts it over, so an entry may come twice, and a
 * walk that keeps restarting stops after 4 * max_entries + 1024 steps with
 * a warning naming the map. Returns 0, fn's non-zero return, or -errno.
 */
int svcd_pinned_walk(int fd, const char *name, __u32 key_size, __u32 value_size,
		     __u32 max_entries,
		     int (*fn)(const void *key, const void *value, void *arg),
		     void *arg);

/* Every entry of a map in one array of key+value records (key at 0, value
 * at vofs, both 8-byte aligned). */
struct svcd_entries {
	char *data;
	size_t n, cap, rec, vofs;
	size_t key_size, value_size; /* of the map */
};

/* svcd_pinned_walk() of the map fd (info as svcd_pinned_open() gave it)
 * into *e, which svcd_entries_free() releases, also on failure. 0 or
 * -errno. */
int svcd_pinned_read_all(int fd, const struct bpf_map_info *info,
			 struct svcd_entries *e);
void svcd_entries_free(struct svcd_entries *e);

static inline void *svcd_entry_key(const struct svcd_entries *e, size_t i)
{
	return e->data + i * e->rec;
}

static inline void *svcd_entry_value(const struct svcd_entries *e, size_t i)
{
	return e->data + i * e->rec + e->vofs;
}

/*
 * Look up key in the per-CPU map fd, whose values are value_size bytes of
 * __u64 counters, and add every possible CPU's up into sum (value_size
 * bytes). 0 or -errno (-ENOENT: no such key).
 */
int svcd_pinned_sum_percpu(int fd, const void *key, __u32 value_size,
			   void *sum);

struct svcd_maps {
	int fd[WMAP_COUNT];  /* by enum writer_map; -1 when not open */
	int stats_fd;	     /* SVCD_MAP_STATS */
	int reasons_fd;	     /* SVCD_MAP_REASONS */
	int affinity_fd;     /* SVCD_MAP_AFFINITY (datapath-written) */
	int affinity6_fd;    /* SVCD_MAP_AFFINITY6 (datapath-written) */
	int hook_reasons_fd; /* SVCD_MAP_HOOK_REASONS; -1: pinned by an
			      * older build, no per-hook counts */
};

/*
 * svcd_pinned_open() of every map of struct svcd_maps. Returns 0, or -errno
 * after one pr_err() line naming the path and what to try; on failure
 * nothing stays open and every fd is -1. An IPv6 map that is not pinned
 * (a pin dir of a build before IPv6) is no failure: its fd stays -1 (a
 * debug line says so), the writer ops read it as empty, deletes from it
 * succeed and writes to it fail with -ENOENT.
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
/* The same per hook (svcd_hook_reasons). 0, -ENOENT (no such map: an
 * older build pinned the maps) or -errno. */
int svcd_maps_read_hook_reasons(const struct svcd_maps *m,
				__u64 counts[SVCD_HOOK_MAX][SVCD_R_MAX]);

/*
 * svcd_shortfall (svcd_abi.h): the agent's count, per map, of the Service
 * ports the last sync could not install because the map was full.
 * svcd_shortfall_open() opens the pin or makes it (one warning line on
 * failure: svcctl then shows none); returns the fd or -errno.
 * svcd_shortfall_write() stores sets[SVCD_SF_COUNT]; svcd_shortfall_read()
 * reads them back (-ENOENT: no agent made it). The name of each map, and
 * the flag that gives it room.
 */
int svcd_shortfall_open(const char *pin_dir);
int svcd_shortfall_write(int fd, const __u32 *sets);
int svcd_shortfall_read(const char *pin_dir, __u32 *sets);
const char *svcd_shortfall_name(int map);
const char *svcd_shortfall_flag(int map);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pinned.c - pinned maps through libbpf: open, writer ops, counters. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sys/pinned.h"
#include "lib/log.h"

/* Indexes past the writer's maps: the counter arrays and the affinity
 * map (written by the datapath only). */
enum {
	MAP_STATS = WMAP_COUNT,
	MAP_REASONS,
	MAP_AFFINITY,
	MAP_ALL,
};

static const struct {
	const char *name;
	__u32 key_size;
	__u32 value_size; /* per CPU for the counter arrays */
} map_defs[MAP_ALL] = {
	[WMAP_FRONTENDS] = { SVCD_MAP_FRONTENDS,
			     sizeof(struct svcd_frontend_key),
			     sizeof(struct svcd_frontend_value) },
	[WMAP_SLOTS] = { SVCD_MAP_SLOTS, sizeof(struct svcd_slot_key),
			 sizeof(__u32) },
	[WMAP_BACKENDS] = { SVCD_MAP_BACKENDS, sizeof(__u32),
			    sizeof(struct svcd_backend) },
	[WMAP_SERVICES] = { SVCD_MAP_SERVICES, sizeof(__u32),
			    sizeof(struct svcd_service) },
	[WMAP_CONNTRACK] = { SVCD_MAP_CONNTRACK, sizeof(struct svcd_ct_key),
			     sizeof(struct svcd_ct_value) },
	[WMAP_AFFINITY_MATCH] = { SVCD_MAP_AFFINITY_MATCH,
				  sizeof(struct svcd_affinity_match_key),
				  sizeof(__u8) },
	[WMAP_SRC_RANGES] = { SVCD_MAP_SRC_RANGES,
			      sizeof(struct svcd_src_range_key), sizeof(__u8) },
	[MAP_STATS] = { SVCD_MAP_STATS, sizeof(__u32),
			sizeof(struct svcd_stats) },
	[MAP_REASONS] = { SVCD_MAP_REASONS, sizeof(__u32), sizeof(__u64) },
	[MAP_AFFINITY] = { SVCD_MAP_AFFINITY, sizeof(struct svcd_affinity_key),
			   sizeof(struct svcd_affinity_value) },
};

/* Buffers for iterate: the largest key and value of the writer's maps. */
#define MAX_KEY_SIZE 16
#define MAX_VALUE_SIZE 152
_Static_assert(sizeof(struct svcd_ct_key) <= MAX_KEY_SIZE, "key buffer");
_Static_assert(sizeof(struct svcd_service) <= MAX_VALUE_SIZE, "value buffer");
_Static_assert(sizeof(struct svcd_ct_value) <= MAX_VALUE_SIZE, "value buffer");

static int *fd_of(struct svcd_maps *maps, int i)
{
	if (i == MAP_STATS)
		return &maps->stats_fd;
	if (i == MAP_REASONS)
		return &maps->reasons_fd;
	if (i == MAP_AFFINITY)
		return &maps->affinity_fd;
	return &maps->fd[i];
}

static const char *err_name(int err)
{
	return strerrorname_np(-err) ?: "EUNKNOWN";
}

void svcd_maps_close(struct svcd_maps *maps)
{
	int i, *fd;

	for (i = 0; i < MAP_ALL; i++) {
		fd = fd_of(maps, i);
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
	}
}

static int check_layout(int fd, int i, const char *path)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int err;

	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	if (err) {
		err = -errno;
		pr_err("reading map info of %s failed (-%s)", path,
		       err_name(err));
		return err;
	}
	if (info.key_size != map_defs[i].key_size ||
	    info.value_size != map_defs[i].value_size) {
		pr_err("pinned map %s has key/value size %u/%u, this build expects %u/%u: left by another svcd version? run `svcd --cleanup` and restart svcd",
		       path, info.key_size, info.value_size,
		       map_defs[i].key_size, map_defs[i].value_size);
		return -EINVAL;
	}
	return 0;
}

int svcd_maps_open_pinned(const char *pin_dir, struct svcd_maps *maps)
{
	char path[PATH_MAX];
	int i, fd, err = 0;

	for (i = 0; i < MAP_ALL; i++)
		*fd_of(maps, i) = -1;

	for (i = 0; i < MAP_ALL; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", pin_dir,
			     map_defs[i].name) >= (int)sizeof(path)) {
			err = -ENAMETOOLONG;
			pr_err("pin directory %s: path too long", pin_dir);
			goto out;
		}
		fd = bpf_obj_get(path);
		if (fd < 0) {
			err = -errno;
			pr_err("opening pinned map %s failed (-%s): is svcd running with --pin-dir %s?",
			       path, err_name(err), pin_dir);
			goto out;
		}
		*fd_of(maps, i) = fd;
		err = check_layout(fd, i, path);
		if (err)
			goto out;
	}
	return 0;
out:
	svcd_maps_close(maps);
	return err;
}

/* ---- writer ops -------------------------------------------------------- */

static int bpf_update(void *ctx, enum writer_map map, const void *key,
		      const void *value)
{
	const struct svcd_maps *maps = ctx;

	if (bpf_map_update_elem(maps->fd[map], key, value, BPF_ANY))
		return -errno;
	return 0;
}

static int bpf_delete(void *ctx, enum writer_map map, const void *key)
{
	const struct svcd_maps *maps = ctx;

	if (bpf_map_delete_elem(maps->fd[map], key))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

static int bpf_iterate(void *ctx, enum writer_map map,
		       int (*fn)(const void *key, const void *value, void *arg),
		       void *arg)
{
	const struct svcd_maps *maps = ctx;
	__u64 key[MAX_KEY_SIZE / 8], next[MAX_KEY_SIZE / 8];
	__u64 value[MAX_VALUE_SIZE / 8];
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = maps->fd[map], err;
	unsigned long visits, limit;
	const void *prev = NULL;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	/*
	 * When the key we stand on vanishes, get_next_key starts over from
	 * the first bucket; bound the walk so a map that churns faster than
	 * we walk cannot keep us here.
	 */
	limit = 4UL * info.max_entries + 1024;
	for (visits = 0; visits < limit; visits++) {
		if (bpf_map_get_next_key(fd, prev, next)) {
			err = -errno;
			return err == -ENOENT ? 0 : err;
		}
		memcpy(key, next, map_defs[map].key_size);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value)) {
			err = -errno;
			if (err == -ENOENT)
				continue; /* gone since get_next_key */
			return err;
		}
		err = fn(key, value, arg);
		if (err)
			return err;
	}
	pr_warn("walk of map %s cut short after %lu entries: it changes faster than it can be read",
		map_defs[map].name, visits);
	return 0;
}

const struct writer_ops svcd_bpf_writer_ops = {
	.update = bpf_update,
	.delete = bpf_delete,
	.iterate = bpf_iterate,
};

/* ---- counters ---------------------------------------------------------- */

int svcd_maps_read_stats(const struct svcd_maps *m, __u32 service_id,
			 struct svcd_stats *sum)
{
	struct svcd_stats *percpu = NULL;
	int ncpus, cpu, err = 0;

	memset(sum, 0, sizeof(*sum));
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return ncpus;
	/* Per-CPU values are 8-byte aligned; svcd_stats is already. */
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(m->stats_fd, &service_id, percpu)) {
		err = -errno;
		goto out;
	}
	for (cpu = 0; cpu < ncpus; cpu++) {
		sum->packets += percpu[cpu].packets;
		sum->bytes += percpu[cpu].bytes;
		sum->new_flows += percpu[cpu].new_flows;
		sum->no_backend += percpu[cpu].no_backend;
		sum->map_full += percpu[cpu].map_full;
	}
out:
	free(percpu);
	return err;
}

int svcd_maps_read_reasons(const struct svcd_maps *m, __u64 counts[SVCD_R_MAX])
{
	__u64 *percpu = NULL;
	int ncpus, cpu, err = 0;
	__u32 reason;

	memset(counts, 0, SVCD_R_MAX * sizeof(*counts));
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return ncpus;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (reason = 0; reason < SVCD_R_MAX; reason++) {
		if (bpf_map_lookup_elem(m->reasons_fd, &reason, percpu)) {
			/* a map pinned by an older svcd, before the last
			 * reasons were added: those count nothing yet */
			if (errno == ENOENT && reason)
				break;
			err = -errno;
			goto out;
		}
		for (cpu = 0; cpu < ncpus; cpu++)
			counts[reason] += percpu[cpu];
	}
out:
	free(percpu);
	return err;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* pinned.c - the one door to pinned maps: checked open, reads, writer ops. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
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
	MAP_AFFINITY6,
	MAP_HOOK_REASONS,
	MAP_ALL,
};

/* The maps of struct svcd_maps, by index. */
static const char *const map_names[MAP_ALL] = {
	[WMAP_FRONTENDS] = SVCD_MAP_FRONTENDS,
	[WMAP_SLOTS] = SVCD_MAP_SLOTS,
	[WMAP_BACKENDS] = SVCD_MAP_BACKENDS,
	[WMAP_SERVICES] = SVCD_MAP_SERVICES,
	[WMAP_CONNTRACK] = SVCD_MAP_CONNTRACK,
	[WMAP_AFFINITY_MATCH] = SVCD_MAP_AFFINITY_MATCH,
	[WMAP_SRC_RANGES] = SVCD_MAP_SRC_RANGES,
	[MAP_STATS] = SVCD_MAP_STATS,
	[MAP_REASONS] = SVCD_MAP_REASONS,
	[MAP_AFFINITY] = SVCD_MAP_AFFINITY,
	[WMAP_FRONTENDS6] = SVCD_MAP_FRONTENDS6,
	[WMAP_BACKENDS6] = SVCD_MAP_BACKENDS6,
	[WMAP_CONNTRACK6] = SVCD_MAP_CONNTRACK6,
	[WMAP_SRC_RANGES6] = SVCD_MAP_SRC_RANGES6,
	[MAP_AFFINITY6] = SVCD_MAP_AFFINITY6,
	[MAP_HOOK_REASONS] = SVCD_MAP_HOOK_REASONS,
};

/*
 * Every map svcd pins, as the BPF objects declare it: types and flags of
 * bpf/lib/maps.h and bpf/sock.bpf.c, sizes of svcd_abi.h. The loader
 * refuses to load objects that declare anything else (a build bug).
 */
#define NO_PREALLOC BPF_F_NO_PREALLOC
static const struct {
	const char *name;
	struct svcd_map_layout layout;
} layouts[] = {
	{ SVCD_MAP_FRONTENDS,
	  { BPF_MAP_TYPE_HASH, sizeof(struct svcd_frontend_key),
	    sizeof(struct svcd_frontend_value), NO_PREALLOC } },
	{ SVCD_MAP_SLOTS,
	  { BPF_MAP_TYPE_HASH, sizeof(struct svcd_slot_key), sizeof(__u32),
	    NO_PREALLOC } },
	{ SVCD_MAP_BACKENDS,
	  { BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(struct svcd_backend),
	    NO_PREALLOC } },
	{ SVCD_MAP_SERVICES,
	  { BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(struct svcd_service),
	    NO_PREALLOC } },
	{ SVCD_MAP_CONNTRACK,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_ct_key),
	    sizeof(struct svcd_ct_value), 0 } },
	{ SVCD_MAP_CONTROL,
	  { BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct svcd_control),
	    0 } },
	{ SVCD_MAP_CT_SYN,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_ct_key),
	    sizeof(struct svcd_ct_value), 0 } },
	{ SVCD_MAP_STATS,
	  { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(struct svcd_stats),
	    0 } },
	{ SVCD_MAP_REASONS,
	  { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64), 0 } },
	{ SVCD_MAP_HOOK_REASONS,
	  { BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64), 0 } },
	{ SVCD_MAP_AFFINITY,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_affinity_key),
	    sizeof(struct svcd_affinity_value), 0 } },
	{ SVCD_MAP_AFFINITY_MATCH,
	  { BPF_MAP_TYPE_HASH, sizeof(struct svcd_affinity_match_key),
	    sizeof(__u8), NO_PREALLOC } },
	{ SVCD_MAP_SRC_RANGES,
	  { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct svcd_src_range_key),
	    sizeof(__u8), NO_PREALLOC } },
	{ SVCD_MAP_SOCK_REV,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_sock_rev_key),
	    sizeof(struct svcd_sock_rev_value), 0 } },
	{ SVCD_MAP_FRONTENDS6,
	  { BPF_MAP_TYPE_HASH, sizeof(struct svcd_frontend6_key),
	    sizeof(struct svcd_frontend_value), NO_PREALLOC } },
	{ SVCD_MAP_BACKENDS6,
	  { BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(struct svcd_backend6),
	    NO_PREALLOC } },
	{ SVCD_MAP_CONNTRACK6,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_ct6_key),
	    sizeof(struct svcd_ct6_value), 0 } },
	{ SVCD_MAP_CT6_SYN,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_ct6_key),
	    sizeof(struct svcd_ct6_value), 0 } },
	{ SVCD_MAP_AFFINITY6,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_affinity6_key),
	    sizeof(struct svcd_affinity_value), 0 } },
	{ SVCD_MAP_SRC_RANGES6,
	  { BPF_MAP_TYPE_LPM_TRIE, sizeof(struct svcd_src_range6_key),
	    sizeof(__u8), NO_PREALLOC } },
	{ SVCD_MAP_SOCK_REV6,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_sock_rev6_key),
	    sizeof(struct svcd_sock_rev6_value), 0 } },
	{ SVCD_MAP_SOCK_FWD,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_sock_rev_key),
	    sizeof(struct svcd_sock_fwd_value), 0 } },
	{ SVCD_MAP_SOCK_FWD6,
	  { BPF_MAP_TYPE_LRU_HASH, sizeof(struct svcd_sock_rev6_key),
	    sizeof(struct svcd_sock_fwd_value), 0 } },
	/* the agent's, not a BPF object's (svcd_shortfall_open) */
	{ SVCD_MAP_SHORTFALL,
	  { BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(__u32), 0 } },
};

static int *fd_of(struct svcd_maps *maps, int i)
{
	if (i == MAP_STATS)
		return &maps->stats_fd;
	if (i == MAP_REASONS)
		return &maps->reasons_fd;
	if (i == MAP_AFFINITY)
		return &maps->affinity_fd;
	if (i == MAP_AFFINITY6)
		return &maps->affinity6_fd;
	if (i == MAP_HOOK_REASONS)
		return &maps->hook_reasons_fd;
	return &maps->fd[i];
}

const struct svcd_map_layout *svcd_map_layout(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++)
		if (!strcmp(layouts[i].name, name))
			return &layouts[i].layout;
	return NULL;
}

void svcd_map_layout_str(const struct svcd_map_layout *l, char *buf, size_t len)
{
	const char *type = libbpf_bpf_map_type_str(l->type);
	char other[24];

	if (!type) {
		snprintf(other, sizeof(other), "type %u", l->type);
		type = other;
	}
	snprintf(buf, len, "%s key %u value %u flags 0x%x", type, l->key_size,
		 l->value_size, l->map_flags);
}

static bool same_layout(const struct svcd_map_layout *a,
			const struct svcd_map_layout *b)
{
	return a->type == b->type && a->key_size == b->key_size &&
	       a->value_size == b->value_size && a->map_flags == b->map_flags;
}

int svcd_pinned_open(const char *pin_dir, const char *name,
		     struct bpf_map_info *info, char *why, size_t why_len)
{
	const struct svcd_map_layout *want = svcd_map_layout(name);
	char path[PATH_MAX], have_s[80], want_s[80];
	struct svcd_map_layout have;
	struct bpf_map_info mine;
	__u32 len = sizeof(mine);
	int fd, err;

	if (!info)
		info = &mine;
	if (!want) {
		snprintf(why, why_len, "map %s is none of svcd's pinned maps",
			 name);
		return -EINVAL;
	}
	if (snprintf(path, sizeof(path), "%s/%s", pin_dir, name) >=
	    (int)sizeof(path)) {
		snprintf(why, why_len, "pin directory %s: path too long",
			 pin_dir);
		return -ENAMETOOLONG;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		if (err == -ENOENT)
			snprintf(
				why, why_len,
				"no pinned map %s (has svcd run with --pin-dir %s?)",
				path, pin_dir);
		else
			snprintf(why, why_len, "open pinned map %s: %s%s", path,
				 strerror(-err),
				 err == -EPERM || err == -EACCES ?
					 " (run as root)" :
					 "");
		return err;
	}
	memset(info, 0, sizeof(*info));
	if (bpf_obj_get_info_by_fd(fd, info, &len)) {
		err = -errno;
		snprintf(why, why_len, "read pinned map %s: %s", path,
			 strerror(-err));
		goto out_close;
	}
	have.type = info->type;
	have.key_size = info->key_size;
	have.value_size = info->value_size;
	have.map_flags = info->map_flags;
	if (!same_layout(&have, want)) {
		svcd_map_layout_str(&have, have_s, sizeof(have_s));
		svcd_map_layout_str(want, want_s, sizeof(want_s));
		snprintf(
			why, why_len,
			"pinned map %s has %s, this build expects %s: left by another svcd version? run svcd --cleanup (or use another --pin-dir)",
			path, have_s, want_s);
		err = -EINVAL;
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return err;
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

/* The IPv6 maps: a pin dir of a build before IPv6 has none of them. */
static bool is_v6_map(int i)
{
	return i == WMAP_FRONTENDS6 || i == WMAP_BACKENDS6 ||
	       i == WMAP_CONNTRACK6 || i == WMAP_SRC_RANGES6 ||
	       i == MAP_AFFINITY6;
}

int svcd_maps_open_pinned(const char *pin_dir, struct svcd_maps *maps)
{
	char why[SVCD_PIN_WHY_LEN];
	int i, fd;

	for (i = 0; i < MAP_ALL; i++)
		*fd_of(maps, i) = -1;

	for (i = 0; i < MAP_ALL; i++) {
		fd = svcd_pinned_open(pin_dir, map_names[i], NULL, why,
				      sizeof(why));
		if (fd == -ENOENT && i == MAP_HOOK_REASONS) {
			/* pinned by a build before per-hook counters */
			pr_debug("%s: no per-hook counts", why);
			continue;
		}
		if (fd == -ENOENT && is_v6_map(i)) {
			/* pinned by a build before IPv6: read as empty,
			 * written never (the loader pins them first) */
			pr_debug("%s: read as empty", why);
			continue;
		}
		if (fd < 0) {
			pr_err("%s", why);
			svcd_maps_close(maps);
			return fd;
		}
		*fd_of(maps, i) = fd;
	}
	return 0;
}

/* ---- reading ------------------------------------------------------------ */

int svcd_pinned_walk(int fd, const char *name, __u32 key_size, __u32 value_size,
		     __u32 max_entries,
		     int (*fn)(const void *key, const void *value, void *arg),
		     void *arg)
{
	char *key, *next, *value = NULL;
	unsigned long visits, limit;
	const void *prev = NULL;
	int err = 0;

	key = malloc(key_size);
	next = malloc(key_size);
	if (value_size)
		value = malloc(value_size);
	if (!key || !next || (value_size && !value)) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * When the key we stand on vanishes, get_next_key starts over from
	 * the first bucket; bound the walk so a map that churns faster than
	 * we walk cannot keep us here.
	 */
	limit = 4UL * max_entries + 1024;
	for (visits = 0; visits < limit; visits++) {
		if (bpf_map_get_next_key(fd, prev, next)) {
			err = errno == ENOENT ? 0 : -errno;
			goto out;
		}
		if (value && bpf_map_lookup_elem(fd, next, value)) {
			err = -errno;
			if (err == -ENOENT)
				continue; /* gone since get_next_key: go on
					   * from the last key that was there */
			goto out;
		}
		memcpy(key, next, key_size);
		prev = key;
		err = fn(key, value, arg);
		if (err)
			goto out;
	}
	pr_warn("walk of map %s cut short after %lu entries: it changes faster than it can be read",
		name, visits);
out:
	free(key);
	free(next);
	free(value);
	return err;
}

static int append_entry(const void *key, const void *value, void *arg)
{
	struct svcd_entries *e = arg;
	size_t cap;
	char *grown;

	if (e->n == e->cap) {
		cap = e->cap ? 2 * e->cap : 256;
		grown = realloc(e->data, cap * e->rec);
		if (!grown)
			return -ENOMEM;
		e->data = grown;
		e->cap = cap;
	}
	memset(svcd_entry_key(e, e->n), 0, e->rec);
	memcpy(svcd_entry_key(e, e->n), key, e->key_size);
	memcpy(svcd_entry_value(e, e->n), value, e->value_size);
	e->n++;
	return 0;
}

int svcd_pinned_read_all(int fd, const struct bpf_map_info *info,
			 struct svcd_entries *e)
{
	memset(e, 0, sizeof(*e));
	/* a per-CPU value is one per CPU: not what a record holds */
	if (!info->value_size || info->type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	    info->type == BPF_MAP_TYPE_PERCPU_HASH ||
	    info->type == BPF_MAP_TYPE_LRU_PERCPU_HASH)
		return -EINVAL;
	e->key_size = info->key_size;
	e->value_size = info->value_size;
	e->vofs = (info->key_size + 7) & ~(size_t)7;
	e->rec = e->vofs + ((info->value_size + 7) & ~(size_t)7);
	return svcd_pinned_walk(fd, info->name, info->key_size,
				info->value_size, info->max_entries,
				append_entry, e);
}

void svcd_entries_free(struct svcd_entries *e)
{
	free(e->data);
	memset(e, 0, sizeof(*e));
}

int svcd_pinned_sum_percpu(int fd, const void *key, __u32 value_size, void *sum)
{
	size_t stride = (value_size + 7) & ~(size_t)7, words = value_size / 8;
	__u64 *percpu = NULL, *out = sum;
	int ncpus, cpu, err = 0;
	size_t w;

	memset(sum, 0, value_size);
	ncpus = libbpf_num_possible_cpus();
	if (ncpus < 0)
		return ncpus;
	/* per-CPU values come in 8-byte steps, one per possible CPU */
	percpu = calloc(ncpus, stride);
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, percpu)) {
		err = -errno;
		goto out;
	}
	for (cpu = 0; cpu < ncpus; cpu++)
		for (w = 0; w < words; w++)
			out[w] += percpu[cpu * (stride / 8) + w];
out:
	free(percpu);
	return err;
}

/* ---- writer ops -------------------------------------------------------- */

static int bpf_update(void *ctx, enum writer_map map, const void *key,
		      const void *value)
{
	const struct svcd_maps *maps = ctx;

	if (maps->fd[map] < 0) /* an IPv6 map a pin dir lacks */
		return -ENOENT;
	if (bpf_map_update_elem(maps->fd[map], key, value, BPF_ANY))
		return -errno;
	return 0;
}

/*
 * BPF_MAP_UPDATE_BATCH (hash maps: 5.6 and later): one syscall for a
 * set's slots instead of one each. A kernel or map type without it
 * answers EINVAL or ENOTSUPP before the first element; it is not asked
 * again for that map.
 */
#ifndef ENOTSUPP
#define ENOTSUPP 524 /* the kernel's own, not in the uapi headers */
#endif

static int bpf_update_batch(void *ctx, enum writer_map map, const void *keys,
			    const void *values, unsigned int n,
			    unsigned int *done)
{
	static bool unsupported[WMAP_COUNT];
	const struct svcd_maps *maps = ctx;
	LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
	__u32 count = n;
	int err;

	*done = 0;
	if (maps->fd[map] < 0) /* an IPv6 map a pin dir lacks */
		return -ENOENT;
	if (unsupported[map])
		return -EOPNOTSUPP;
	if (!bpf_map_update_batch(maps->fd[map], keys, values, &count, &opts)) {
		*done = n;
		return 0;
	}
	err = -errno;
	*done = count <= n ? count : 0;
	if (!*done &&
	    (err == -EINVAL || err == -ENOTSUPP || err == -EOPNOTSUPP))
		unsupported[map] = true;
	return err;
}

static int bpf_delete(void *ctx, enum writer_map map, const void *key)
{
	const struct svcd_maps *maps = ctx;

	if (maps->fd[map] < 0) /* an IPv6 map a pin dir lacks: empty */
		return 0;
	if (bpf_map_delete_elem(maps->fd[map], key))
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

static int bpf_iterate(void *ctx, enum writer_map map,
		       int (*fn)(const void *key, const void *value, void *arg),
		       void *arg)
{
	const struct svcd_map_layout *l = svcd_map_layout(map_names[map]);
	const struct svcd_maps *maps = ctx;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd = maps->fd[map];

	if (fd < 0) /* an IPv6 map a pin dir lacks: empty */
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	return svcd_pinned_walk(fd, map_names[map], l->key_size, l->value_size,
				info.max_entries, fn, arg);
}

const struct writer_ops svcd_bpf_writer_ops = {
	.update = bpf_update,
	.update_batch = bpf_update_batch,
	.delete = bpf_delete,
	.iterate = bpf_iterate,
};

/* ---- counters ---------------------------------------------------------- */

int svcd_maps_read_stats(const struct svcd_maps *m, __u32 service_id,
			 struct svcd_stats *sum)
{
	return svcd_pinned_sum_percpu(m->stats_fd, &service_id, sizeof(*sum),
				      sum);
}

int svcd_maps_read_hook_reasons(const struct svcd_maps *m,
				__u64 counts[SVCD_HOOK_MAX][SVCD_R_MAX])
{
	__u32 hook, reason, key;
	int err;

	memset(counts, 0, SVCD_HOOK_MAX * SVCD_R_MAX * sizeof(**counts));
	if (m->hook_reasons_fd < 0)
		return -ENOENT;
	for (hook = 0; hook < SVCD_HOOK_MAX; hook++) {
		for (reason = 0; reason < SVCD_R_MAX; reason++) {
			key = hook * SVCD_REASON_STRIDE + reason;
			err = svcd_pinned_sum_percpu(m->hook_reasons_fd, &key,
						     sizeof(**counts),
						     &counts[hook][reason]);
			if (err)
				return err;
		}
	}
	return 0;
}

int svcd_maps_read_reasons(const struct svcd_maps *m, __u64 counts[SVCD_R_MAX])
{
	__u32 reason;
	int err;

	memset(counts, 0, SVCD_R_MAX * sizeof(*counts));
	for (reason = 0; reason < SVCD_R_MAX; reason++) {
		err = svcd_pinned_sum_percpu(m->reasons_fd, &reason,
					     sizeof(*counts), &counts[reason]);
		/* a map pinned by an older svcd, before the last reasons
		 * were added: those count nothing yet */
		if (err == -ENOENT && reason)
			break;
		if (err)
			return err;
	}
	return 0;
}

int svcd_shortfall_open(const char *pin_dir)
{
	const struct svcd_map_layout *l = svcd_map_layout(SVCD_MAP_SHORTFALL);
	char path[PATH_MAX], why[SVCD_PIN_WHY_LEN];
	int fd, err;

	fd = svcd_pinned_open(pin_dir, SVCD_MAP_SHORTFALL, NULL, why,
			      sizeof(why));
	if (fd >= 0)
		return fd;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, SVCD_MAP_SHORTFALL);
	if (fd == -EINVAL) /* another layout: nothing in it is worth keeping */
		unlink(path);
	else if (fd != -ENOENT)
		goto fail;
	fd = bpf_map_create(l->type, SVCD_MAP_SHORTFALL, l->key_size,
			    l->value_size, SVCD_SF_MAX, NULL);
	if (fd < 0) {
		fd = -errno;
		snprintf(why, sizeof(why), "create %s: %s", SVCD_MAP_SHORTFALL,
			 strerror(-fd));
		goto fail;
	}
	if (bpf_obj_pin(fd, path)) {
		err = -errno;
		snprintf(why, sizeof(why), "pin %s in %.900s: %s",
			 SVCD_MAP_SHORTFALL, pin_dir, strerror(-err));
		close(fd);
		fd = err;
		goto fail;
	}
	return fd;
fail:
	pr_warn("%s; svcctl status shows no shortfall", why);
	return fd;
}

int svcd_shortfall_write(int fd, const __u32 *sets)
{
	__u32 i;

	for (i = 0; i < SVCD_SF_COUNT; i++)
		if (bpf_map_update_elem(fd, &i, &sets[i], BPF_ANY))
			return -errno;
	return 0;
}

int svcd_shortfall_read(const char *pin_dir, __u32 *sets)
{
	char why[SVCD_PIN_WHY_LEN];
	__u32 i;
	int fd, err = 0;

	fd = svcd_pinned_open(pin_dir, SVCD_MAP_SHORTFALL, NULL, why,
			      sizeof(why));
	if (fd < 0)
		return fd;
	for (i = 0; i < SVCD_SF_COUNT && !err; i++)
		if (bpf_map_lookup_elem(fd, &i, &sets[i]))
			err = -errno;
	close(fd);
	return err;
}

const char *svcd_shortfall_name(int map)
{
	static const char *const names[SVCD_SF_COUNT] = {
		[SVCD_SF_SERVICES] = SVCD_MAP_SERVICES,
		[SVCD_SF_BACKENDS] = SVCD_MAP_BACKENDS,
		[SVCD_SF_BACKENDS6] = SVCD_MAP_BACKENDS6,
		[SVCD_SF_SLOTS] = SVCD_MAP_SLOTS,
		[SVCD_SF_AFFINITY_MATCH] = SVCD_MAP_AFFINITY_MATCH,
		[SVCD_SF_FRONTENDS] = SVCD_MAP_FRONTENDS,
		[SVCD_SF_FRONTENDS6] = SVCD_MAP_FRONTENDS6,
	};

	return map >= 0 && map < SVCD_SF_COUNT ? names[map] : "?";
}

const char *svcd_shortfall_flag(int map)
{
	switch (map) {
	case SVCD_SF_SERVICES:
	case SVCD_SF_FRONTENDS:
	case SVCD_SF_FRONTENDS6:
		return "--max-services";
	default:
		return "--max-backends";
	}
}

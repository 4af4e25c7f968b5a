// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* migrate.c - a pinned map given a new size, its entries kept; see migrate.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys/migrate.h"
#include "lib/log.h"

static void pin_path(char *path, size_t size, const char *pin_dir,
		     const char *name, bool old)
{
	snprintf(path, size, "%s/%s%s", pin_dir, name,
		 old ? SVCD_MIGRATING_SUFFIX : "");
}

static bool is_lru(__u32 type)
{
	return type == BPF_MAP_TYPE_LRU_HASH ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_percpu(__u32 type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_array(__u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

/* Only the maps the datapath itself writes can gain entries once svcd's
 * writer has moved to the new maps. */
static bool datapath_writes(__u32 type)
{
	return is_lru(type);
}

/*
 * Every entry of from into to with flags (BPF_NOEXIST: what to already
 * holds wins). Entries deleted meanwhile are skipped; the walk is bounded
 * (a key deleted under get_next_key restarts it from the first).
 * Returns entries copied, or -errno; *unfit counts those with no room.
 */
static long copy_entries(int from, int to, const struct bpf_map_info *fi,
			 __u64 flags, __u32 *unfit)
{
	size_t vsize = fi->value_size;
	unsigned long limit = 2UL * fi->max_entries + 64;
	void *key, *next, *val;
	long n = 0;
	int ncpus, err;

	if (is_percpu(fi->type)) {
		ncpus = libbpf_num_possible_cpus();
		if (ncpus < 1)
			return ncpus < 0 ? ncpus : -EINVAL;
		vsize = ((vsize + 7) & ~(size_t)7) * (size_t)ncpus;
	}
	key = calloc(1, fi->key_size);
	next = calloc(1, fi->key_size);
	val = calloc(1, vsize);
	if (!key || !next || !val) {
		n = -ENOMEM;
		goto out;
	}
	err = bpf_map_get_next_key(from, NULL, next);
	while (!err && limit--) {
		if (!bpf_map_lookup_elem(from, next, val)) {
			if (!bpf_map_update_elem(to, next, val, flags))
				n++;
			else if (errno == E2BIG || errno == ENOSPC ||
				 errno == ENOMEM)
				(*unfit)++;
			else if (errno != EEXIST) {
				n = -errno;
				goto out;
			}
		}
		memcpy(key, next, fi->key_size);
		err = bpf_map_get_next_key(from, key, next);
	}
	if (err && errno != ENOENT)
		n = -errno;
out:
	free(key);
	free(next);
	free(val);
	return n;
}

int migrate_prepare(struct migrations *mg, const char *pin_dir,
		    struct bpf_map *map, const struct bpf_map_info *info,
		    __u32 want)
{
	const char *name = bpf_map__name(map);
	char path[PATH_MAX], old[PATH_MAX];
	struct migration *m;
	int fd, err;

	if (want < info->max_entries && !is_lru(info->type)) {
		/* Writer maps hold ids up to their size: a smaller map could
		 * not take them back. Arrays are indexed by those ids. */
		pr_warn("map %s: keeping the pinned size %u, not %u (a smaller map could not hold the ids in use; svcd --cleanup starts afresh at any size)",
			name, info->max_entries, want);
		return 0;
	}
	if (mg->n >= MIGRATE_MAX) {
		pr_err("map %s: more than %d maps to migrate at once (a bug)",
		       name, MIGRATE_MAX);
		return -E2BIG;
	}
	pin_path(path, sizeof(path), pin_dir, name, false);
	pin_path(old, sizeof(old), pin_dir, name, true);
	fd = bpf_obj_get(path);
	if (fd < 0) {
		err = -errno;
		pr_err("map %s: open %s: %s", name, path, strerror(-err));
		return err;
	}
	if (rename(path, old)) {
		err = -errno;
		pr_err("map %s: rename the pin %s to %s: %s", name, path, old,
		       strerror(-err));
		close(fd);
		return err;
	}
	m = &mg->m[mg->n++];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	m->map = map;
	m->old_fd = fd;
	m->type = info->type;
	m->old_size = info->max_entries;
	m->new_size = want;
	pr_info("map %s: pinned with room for %u entries, %u asked: migrated to a new map (the old one stays pinned as %s%s until every program uses the new one)",
		name, info->max_entries, want, name, SVCD_MIGRATING_SUFFIX);
	return 1;
}

int migrate_recover(const char *pin_dir, const char *name)
{
	char path[PATH_MAX], old[PATH_MAX];
	struct bpf_map_info fi = {}, ti = {};
	__u32 len, unfit = 0;
	int from, to, err = 0;
	long n;

	pin_path(old, sizeof(old), pin_dir, name, true);
	if (access(old, F_OK))
		return 0;
	pin_path(path, sizeof(path), pin_dir, name, false);
	if (access(path, F_OK)) {
		/* stopped after the rename, before the new map was pinned */
		if (rename(old, path)) {
			err = -errno;
			pr_err("map %s: rename %s back to %s: %s", name, old,
			       path, strerror(-err));
			return err;
		}
		pr_info("map %s: the pin an interrupted migration left is %s again",
			name, path);
		return 0;
	}
	/* stopped after the new map was made: what the old one still holds
	 * goes into it, the new one winning */
	from = bpf_obj_get(old);
	to = bpf_obj_get(path);
	len = sizeof(fi);
	if (from < 0 || to < 0 || bpf_obj_get_info_by_fd(from, &fi, &len)) {
		err = -errno;
		goto out;
	}
	len = sizeof(ti);
	if (bpf_obj_get_info_by_fd(to, &ti, &len)) {
		err = -errno;
		goto out;
	}
	if (fi.type != ti.type || fi.key_size != ti.key_size ||
	    fi.value_size != ti.value_size) {
		pr_warn("map %s: %s left by an interrupted migration has another layout; removed, not merged",
			name, old);
		n = 0;
	} else {
		n = copy_entries(from, to, &fi,
				 is_array(fi.type) ? BPF_ANY : BPF_NOEXIST,
				 &unfit);
		if (n < 0) {
			err = (int)n;
			goto out;
		}
	}
	if (unlink(old)) {
		err = -errno;
		goto out;
	}
	pr_info("map %s: an interrupted migration finished: %ld entries merged from %s, %u without room",
		name, n, old, unfit);
out:
	if (err)
		pr_err("map %s: finish the migration %s left: %s", name, old,
		       strerror(-err));
	if (from >= 0)
		close(from);
	if (to >= 0)
		close(to);
	return err;
}

int migrate_copy_new(struct migrations *mg)
{
	struct bpf_map_info fi = {};
	struct migration *m;
	__u32 len;
	long n;
	int i, to;

	for (i = 0; i < mg->n; i++) {
		m = &mg->m[i];
		to = bpf_map__fd(m->map);
		if (m->first_done || to < 0)
			continue;
		len = sizeof(fi);
		if (bpf_obj_get_info_by_fd(m->old_fd, &fi, &len)) {
			pr_err("map %s: read the old map: %s", m->name,
			       strerror(errno));
			return -errno;
		}
		n = copy_entries(m->old_fd, to, &fi,
				 is_array(m->type) ? BPF_ANY : BPF_NOEXIST,
				 &m->unfit);
		if (n < 0) {
			pr_err("map %s: copy the entries into the new map: %s",
			       m->name, strerror((int)-n));
			return (int)n;
		}
		m->carried += (__u32)n;
		m->first_done = true;
		pr_info("map %s: %ld entries carried over into %u slots%s",
			m->name, n, m->new_size,
			datapath_writes(m->type) ?
				" (those made until the programs switch follow)" :
				"");
	}
	return 0;
}

/* The entries the old programs made since the last pass, for a map the
 * datapath writes: the count, 0 for another map, or -errno. */
static long copy_datapath_made(struct migration *m)
{
	struct bpf_map_info fi = {};
	__u32 len = sizeof(fi);
	int to = bpf_map__fd(m->map);
	long n;

	if (to < 0 || !datapath_writes(m->type))
		return 0;
	if (bpf_obj_get_info_by_fd(m->old_fd, &fi, &len))
		return -errno;
	n = copy_entries(m->old_fd, to, &fi, BPF_NOEXIST, &m->unfit);
	if (n > 0)
		m->carried += (__u32)n;
	return n;
}

void migrate_catch_up(struct migrations *mg)
{
	int i;

	/* a failure here is pass 2's to say */
	for (i = 0; i < mg->n; i++)
		if (mg->m[i].old_fd >= 0 && mg->m[i].first_done)
			copy_datapath_made(&mg->m[i]);
}

void migrate_finish(struct migrations *mg, const char *pin_dir)
{
	char old[PATH_MAX];
	struct migration *m;
	long n;
	int i;

	for (i = 0; i < mg->n; i++) {
		m = &mg->m[i];
		if (m->old_fd < 0 || !m->first_done || bpf_map__fd(m->map) < 0)
			continue;
		n = copy_datapath_made(m);
		pin_path(old, sizeof(old), pin_dir, m->name, true);
		if (unlink(old) && errno != ENOENT)
			pr_warn("map %s: remove the old map's pin %s: %s",
				m->name, old, strerror(errno));
		close(m->old_fd);
		m->old_fd = -1;
		if (n < 0)
			pr_warn("map %s: entries made by the old programs during the switch not carried over: %s",
				m->name, strerror((int)-n));
		if (m->unfit)
			pr_warn("map %s: migrated from %u to %u entries: %u carried over, %u did not fit",
				m->name, m->old_size, m->new_size, m->carried,
				m->unfit);
		else
			pr_info("map %s: migrated from %u to %u entries: %u carried over",
				m->name, m->old_size, m->new_size, m->carried);
	}
}

void migrate_abort(struct migrations *mg, const char *pin_dir)
{
	char path[PATH_MAX], old[PATH_MAX];
	struct migration *m;
	int i;

	for (i = 0; i < mg->n; i++) {
		m = &mg->m[i];
		if (m->old_fd < 0 || m->first_done)
			continue;
		pin_path(path, sizeof(path), pin_dir, m->name, false);
		pin_path(old, sizeof(old), pin_dir, m->name, true);
		/* a new map libbpf pinned is empty: the old one is the truth */
		if (unlink(path) && errno != ENOENT)
			pr_warn("map %s: remove %s: %s", m->name, path,
				strerror(errno));
		if (rename(old, path))
			pr_err("map %s: rename %s back to %s: %s", m->name, old,
			       path, strerror(errno));
		close(m->old_fd);
		m->old_fd = -1;
	}
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * migrate.h - a pinned map given a new size without losing what it holds.
 *
 * A map's size is fixed when the kernel creates it. When svcd starts with
 * a larger --max-* than the pinned map has (the map filled up, the
 * operator gave room), the map is migrated instead of kept:
 *
 *   1. before load: the old pin is renamed NAME_migrating (the map lives
 *      on: the attached programs still use it), and libbpf creates NAME
 *      at the new size;
 *   2. after load: every entry is copied from the old map into the new
 *      one (pass 1), before the writer reads its mirror back from it;
 *   3. after the programs are attached (each hook swapped in place, so
 *      from then on only the new map is written): the entries the old
 *      programs made meanwhile are copied too (pass 2, the maps the
 *      datapath writes: conntrack, affinity, socket maps), and the old
 *      pin goes.
 *
 * Just before the swap, a catch-up pass copies what the old programs made
 * since pass 1 (a load with a slow start can be seconds). A flow whose
 * conntrack entry the old programs created after that pass and whose next
 * packet meets a new program before pass 2 has copied it is the one window
 * left (milliseconds: between the catch-up and pass 2). A TCP handshake in
 * it loses its SYN-ACK (the client's retransmitted SYN, a second later,
 * finds its pair); its first ACK, if the new programs see it first, is
 * taken as a flow picked up mid-stream.
 * Growing is always done; shrinking only for LRU maps (they evict by
 * themselves), never for the writer's maps, whose ids may lie past the
 * new size (svcd --cleanup starts afresh at any size).
 *
 * A NAME_migrating left by a crash is merged back at the next start.
 */
#ifndef SVCD_MIGRATE_H
#define SVCD_MIGRATE_H

#include <stdbool.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define SVCD_MIGRATING_SUFFIX "_migrating" /* bpffs refuses a "." in a name */
#define MIGRATE_MAX 24

struct migration {
	char name[BPF_OBJ_NAME_LEN];
	struct bpf_map *map; /* the new one, created at load */
	int old_fd;
	__u32 type, old_size, new_size;
	__u32 carried;	 /* entries copied over, both passes */
	__u32 unfit;	 /* entries the new map had no room for */
	bool first_done; /* pass 1 made */
};

struct migrations {
	struct migration m[MIGRATE_MAX];
	int n;
};

/*
 * Before load, for a map pinned as name under pin_dir whose size (info)
 * is not want: decides. Returns 1 when the map is migrated (its pin
 * renamed, map recorded; the caller sets want as its size), 0 when the
 * pinned map is to be kept as it is (a shrink of a writer map: logged),
 * or -errno (logged).
 */
int migrate_prepare(struct migrations *mg, const char *pin_dir,
		    struct bpf_map *map, const struct bpf_map_info *info,
		    __u32 want);

/*
 * Before anything else looks at the pin of name: a NAME_migrating left
 * by a run that stopped half-way is merged into NAME (or renamed back when
 * NAME is gone). 0 or -errno (logged).
 */
int migrate_recover(const char *pin_dir, const char *name);

/* Pass 1 for every migrated map whose new map exists (after each
 * skeleton's load). 0 or -errno (logged). */
int migrate_copy_new(struct migrations *mg);

/* Just before the hooks are swapped: the entries the old programs made
 * since pass 1 (a handshake's, most of all), so that the new programs
 * find them at once; pass 2 then only has the swap's own to carry. */
void migrate_catch_up(struct migrations *mg);

/* Pass 2 and the old pins removed; idempotent. Logs one line a map. */
void migrate_finish(struct migrations *mg, const char *pin_dir);

/* Undo of migrate_prepare when the load failed: the old pins back. */
void migrate_abort(struct migrations *mg, const char *pin_dir);

#endif

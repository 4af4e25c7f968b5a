/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * writer/ops.h - the maps the writer owns and the interface it reaches
 * them through: sys/pinned.c implements it over the BPF syscalls on the
 * pinned maps, selftests/unit/test_writer.c over in-memory maps that check
 * the datapath's invariants after every operation.
 */
#ifndef SVCD_WRITER_OPS_H
#define SVCD_WRITER_OPS_H

enum writer_map {
	WMAP_FRONTENDS, /* struct svcd_frontend_key -> struct svcd_frontend_value */
	WMAP_SLOTS,	/* struct svcd_slot_key -> __u32 backend id */
	WMAP_BACKENDS,	/* __u32 backend id -> struct svcd_backend */
	WMAP_SERVICES,	/* __u32 service id -> struct svcd_service */
	WMAP_CONNTRACK, /* struct svcd_ct_key -> struct svcd_ct_value */
	/* struct svcd_affinity_match_key -> __u8 1 */
	WMAP_AFFINITY_MATCH,
	/* struct svcd_src_range_key -> __u8 1 (LPM trie: iterate only) */
	WMAP_SRC_RANGES,
	/* IPv6 twins (svcd_abi.h): same roles, IPv6 keys/values */
	WMAP_FRONTENDS6,  /* struct svcd_frontend6_key -> svcd_frontend_value */
	WMAP_BACKENDS6,	  /* __u32 backend id -> struct svcd_backend6 */
	WMAP_CONNTRACK6,  /* struct svcd_ct6_key -> struct svcd_ct6_value */
	WMAP_SRC_RANGES6, /* struct svcd_src_range6_key -> __u8 1 */
	WMAP_COUNT,
};

/* Map access; every function returns 0 or -errno (-ENOENT, -E2BIG/-ENOSPC
 * when full, ...). */
struct writer_ops {
	int (*update)(void *ctx, enum writer_map map, const void *key,
		      const void *value);
	int (*delete)(void *ctx, enum writer_map map, const void *key);
	/*
	 * Optional (NULL: none): n updates of one map in one call, in
	 * order, as n calls of update() would make them. Returns 0, or
	 * -errno with *done set to how many went in before the one that
	 * failed (0 too when the kernel has no batches): the writer then
	 * goes on from there one update at a time.
	 */
	int (*update_batch)(void *ctx, enum writer_map map, const void *keys,
			    const void *values, unsigned int n,
			    unsigned int *done);
	/* Calls fn for each entry; fn returns 0 to go on. */
	int (*iterate)(void *ctx, enum writer_map map,
		       int (*fn)(const void *key, const void *value, void *arg),
		       void *arg);
};

#endif

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* writer/table.h - the writer's containers: hash index, u64 set, id allocator. */
#ifndef SVCD_WRITER_TABLE_H
#define SVCD_WRITER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Small open-addressing hash table of 32-bit values. Linear probing with
 * backward-shift deletion (no tombstones). The table stores a value (an id
 * or an index + 1; 0 marks an empty bucket) and its hash; keys live with
 * the caller, which compares them in an eq callback.
 */
struct hent {
	uint32_t hash;
	uint32_t val;
};

struct htab {
	struct hent *e;
	uint32_t mask; /* buckets - 1; buckets is a power of two */
	uint32_t n;
};

typedef bool (*ht_eq_fn)(const void *ctx, uint32_t val, const void *key);

/* The 64-bit finalizer of MurmurHash3, folded to the bucket hash width. */
static inline uint32_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

void ht_fini(struct htab *t);
/* Room for want more entries at a load of at most one half. */
int ht_reserve(struct htab *t, uint32_t want);
/* The value stored under hash for which eq(ctx, value, key) holds, or 0. */
uint32_t ht_find(const struct htab *t, uint32_t hash, ht_eq_fn eq,
		 const void *ctx, const void *key);
/* The caller made sure the value is not in the table yet. */
int ht_insert(struct htab *t, uint32_t hash, uint32_t val);
void ht_remove(struct htab *t, uint32_t hash, uint32_t val);
void ht_replace(struct htab *t, uint32_t hash, uint32_t old_val,
		uint32_t new_val);

/* Room in *v (n elements of size bytes) for one more: *cap doubles,
 * starting at first. Returns 0 or -ENOMEM (*v unchanged). */
int array_reserve(void **v, size_t *cap, size_t n, size_t size, size_t first);

/* A set of 64-bit keys, for per-sync lookups (frontend references, UDP
 * flush pairs, addresses of a set). v[0..n-1] lists the keys. */
struct u64set {
	struct htab t;
	uint64_t *v;
	size_t n, cap;
};

bool u64set_has(const struct u64set *s, uint64_t key);
int u64set_add(struct u64set *s, uint64_t key);
/* Moves the last key into the hole: callers walking v go backwards. */
void u64set_remove(struct u64set *s, uint64_t key);
void u64set_fini(struct u64set *s);

/*
 * Id allocator: lowest free id first. Ids freed during a sync are
 * quarantined until the next one starts, so an id never names two things
 * within one sync (a conntrack flush by id, or a reader of the maps, sees
 * one meaning).
 */
struct idalloc {
	uint64_t *bits; /* set: in use or quarantined */
	uint32_t max;	/* ids are 1 .. max-1 */
	uint32_t hint;	/* no free id below this */
	uint32_t *quarantine;
	size_t n_quarantine, cap_quarantine;
};

int ida_init(struct idalloc *a, uint32_t max);
void ida_fini(struct idalloc *a);
/* Mark id in use (ids found in the maps). */
void ida_set(struct idalloc *a, uint32_t id);
/* Returns 0 when every id is taken. */
uint32_t ida_alloc(struct idalloc *a);
/* Free id at the start of the next sync. */
int ida_free_later(struct idalloc *a, uint32_t id);
/* The start of a sync: quarantined ids become free. */
void ida_release(struct idalloc *a);

#endif

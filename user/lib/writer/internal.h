/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* writer/internal.h - the writer's mirror and sync context, shared in writer/. */
#ifndef SVCD_WRITER_INTERNAL_H
#define SVCD_WRITER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "writer/slots.h"
#include "writer/table.h"
#include "writer/writer.h"

/* "E2BIG" for -E2BIG; messages print it as "(-E2BIG)", libbpf style. */
static inline const char *err_name(int err)
{
	return strerrorname_np(-err) ?: "EUNKNOWN";
}

/* ---- the mirror ------------------------------------------------------- */

/*
 * A frontend key of either family (enum model_family): v4 for
 * WMAP_FRONTENDS, v6 for WMAP_FRONTENDS6. Always made whole by fe_key_of()
 * or fe_key_v4/v6(), zeros after a v4 key, so keys compare with memcmp().
 */
struct fe_key {
	uint8_t family;
	uint8_t pad[3];
	union {
		struct svcd_frontend_key v4;
		struct svcd_frontend6_key v6;
	};
};

/*
 * A backend of either family: WMAP_BACKENDS holds the IPv4 ones
 * (struct svcd_backend), WMAP_BACKENDS6 the IPv6 ones; ids come from one
 * allocator, so an id names one of them. IPv4: addr.w[0], zeros after.
 */
struct wbackend {
	uint8_t family;
	uint8_t proto;
	uint8_t flags;
	uint8_t pad;
	__be16 port;
	uint16_t pad2;
	union svcd_ip6 addr;
};

static inline void fe_key_v4(struct fe_key *k,
			     const struct svcd_frontend_key *v4)
{
	memset(k, 0, sizeof(*k));
	k->family = MODEL_IPV4;
	k->v4 = *v4;
}

static inline void fe_key_v6(struct fe_key *k,
			     const struct svcd_frontend6_key *v6)
{
	memset(k, 0, sizeof(*k));
	k->family = MODEL_IPV6;
	k->v6 = *v6;
}

static inline void fe_key_of(struct fe_key *k, const struct model_frontend *mf)
{
	if (mf->family == MODEL_IPV6)
		fe_key_v6(k, &mf->key6);
	else
		fe_key_v4(k, &mf->key);
}

#define SLOT_NONE UINT32_MAX /* slot not in the map */

/* The slots of one service under one revision, as the map holds them. */
struct slot_table {
	uint16_t rev;
	uint32_t len; /* slots 0 .. len-1 may be present */
	uint32_t cap;
	uint32_t present; /* how many of them are */
	uint32_t *bids;	  /* backend id per slot, or SLOT_NONE */
};

struct wsvc {
	struct svcd_service info; /* identity, as in WMAP_SERVICES */
	/* and the family of its frontends and backends (enum model_family):
	 * not in the services entry, so learnt from them at load */
	uint8_t family;
	bool in_map; /* the services entry exists */
	/*
	 * The version frontends should use: slot table live_rev with
	 * live_count complete slots (none when live_count is 0). False for
	 * a set that never got installed completely.
	 */
	bool has_live;
	bool seen_frontend; /* scratch while loading */
	bool match_stuck;   /* scratch in phase 4: a match pair stayed */
	uint16_t live_rev;
	uint16_t live_count;
	uint32_t live_affinity; /* affinity timeout of the live version */
	uint32_t n_match;	/* affinity match pairs of this service */
	uint32_t desired_gen;	/* == writer.gen: wanted by the current sync */
	struct slot_table *tables;
	uint32_t n_tables, cap_tables;
	/* the keys of the frontends naming it, while w->sname_ok (for
	 * writer_sync_partial: no walk of every frontend) */
	struct fe_key *fkeys;
	size_t n_fkeys, cap_fkeys;
};

struct wbe {
	struct wbackend be;
	/* slots and affinity match pairs in the maps naming this id: a
	 * backend goes only after both, so an id is never reused while a
	 * pair could still send a remembered client to it */
	uint32_t refs;
	bool present; /* the backends entry exists */
};

struct wfe {
	struct fe_key key;
	struct svcd_frontend_value val;
};

/* A frontend written while applying a set, and what it was before. */
struct fe_undo {
	struct fe_key key;
	struct svcd_frontend_value old;
	bool existed;
};

/* Source-range keys (host bits zero), sorted: struct svcd_src_range_key
 * (size 12) or struct svcd_src_range6_key (size 36), compared bytewise. */
struct range_set {
	uint8_t *v;
	size_t n, cap;
	size_t size; /* of one key */
};

struct writer {
	const struct writer_ops *ops;
	void *ctx;
	struct writer_limits lim;

	struct wsvc **svc; /* by service id */
	size_t n_svc;
	struct idalloc svc_ids;
	struct htab svc_by_name; /* identity -> service id */

	struct wbe *be; /* by backend id */
	size_t n_be;	/* present entries */
	uint32_t be_hi; /* no backend id above this was ever used */
	struct idalloc be_ids;
	struct htab be_by_value; /* struct svcd_backend -> backend id */

	struct wfe *fe;
	size_t n_fe, cap_fe;
	struct htab fe_by_key; /* key -> index + 1 */

	struct u64set match; /* MATCH_KEY(sid, bid) of WMAP_AFFINITY_MATCH */
	/* keys of WMAP_SRC_RANGES, WMAP_SRC_RANGES6 */
	struct range_set ranges[MODEL_FAMILIES];

	uint32_t gen;
	/* writer_sync_partial(): Service name ("namespace/name") -> service
	 * ids, rebuilt whole by every writer_sync() and kept up to date
	 * after it; backend ids whose last reference went during a partial
	 * sync (the only ones its phase 5 looks at) */
	struct htab svc_by_sname;
	bool sname_ok; /* a writer_sync() built svc_by_sname */
	bool track_unref;
	struct u64set be_unrefd;

	/* Scratch for one set, grown as needed. */
	uint8_t *weights;
	uint32_t *bids;
	bool *used;
	size_t cap_backends;
	uint32_t *slot_idx; /* SVCD_MAX_SLOTS_PER_SERVICE */
	/* a set's slots for ops->update_batch, SVCD_MAX_SLOTS_PER_SERVICE
	 * each (allocated at the first batch) */
	struct svcd_slot_key *batch_keys;
	uint32_t *batch_bids;
	void *build_scratch;	 /* for slots_build() */
	uint32_t *undo_be;	 /* backends written for the set */
	uint32_t *undo_match;	 /* match pairs written for the set */
	struct fe_undo *undo_fe; /* frontends written for the set */
	size_t cap_undo_fe;
};

#define MATCH_KEY(sid, bid) ((uint64_t)(sid) << 32 | (bid))

/* ---- mirror.c: lookups and reference counts --------------------------- */

/* A set's identity: its services entry and its family. */
struct svc_ident {
	struct svcd_service info;
	uint8_t family;
};

uint32_t svc_hash(const struct svc_ident *id);
/* Of a Service name alone (svc_by_sname). */
uint32_t sname_hash(const char *name);
bool svc_same(const struct svc_ident *a, const struct svc_ident *b);
/* ht_eq_fn over w->svc_by_name (ctx: the writer, key: struct svc_ident). */
bool svc_eq(const void *ctx, uint32_t sid, const void *key);
uint32_t be_hash(const struct wbackend *b);
/* ht_eq_fn over w->be_by_value (ctx: the writer). */
bool be_eq(const void *ctx, uint32_t bid, const void *key);
uint32_t fe_hash(const struct fe_key *k);
struct wfe *fe_find(const struct writer *w, const struct fe_key *key);
uint32_t be_find(const struct writer *w, const struct wbackend *b);
struct slot_table *table_find(struct wsvc *s, uint16_t rev);
struct slot_table *table_add(struct wsvc *s, uint16_t rev, uint32_t len);
/* Make slot index fit in t (only while loading: slots come in any order). */
int table_grow(struct slot_table *t, uint32_t slot);
struct wsvc *svc_get(const struct writer *w, uint32_t sid);
struct wsvc *svc_create(struct writer *w, uint32_t sid);
void svc_destroy(struct writer *w, uint32_t sid);
void be_ref(struct writer *w, uint32_t bid);
void be_unref(struct writer *w, uint32_t bid);
bool match_has(const struct writer *w, uint32_t sid, uint32_t bid);

/* ---- mirror.c: map operations that keep the mirror equal to the maps -- */

int svc_entry_write(struct writer *w, uint32_t sid, struct wsvc *s);
int svc_entry_delete(struct writer *w, uint32_t sid, struct wsvc *s);
int be_write(struct writer *w, uint32_t bid, const struct wbackend *b);
/*
 * be_write() in two steps, for many at once: be_stage() makes bid b in
 * the mirror (found by be_find() from then on), be_commit() writes
 * bids[0, n) staged so (batched where ops can) and says how many of the
 * first went in; the caller be_unstage()s the rest.
 */
int be_stage(struct writer *w, uint32_t bid, const struct wbackend *b);
void be_unstage(struct writer *w, uint32_t bid);
int be_commit(struct writer *w, const uint32_t *bids, uint32_t n,
	      uint32_t *written);
int be_delete(struct writer *w, uint32_t bid);
int slot_write(struct writer *w, uint32_t sid, struct slot_table *t,
	       uint32_t slot, uint32_t bid);
/* Slots [0, n) of t, slot i to backend w->bids[w->slot_idx[i]]: batched
 * where ops can, else (and from where a batch stopped) one slot_write()
 * at a time. */
int slots_write(struct writer *w, uint32_t sid, struct slot_table *t,
		uint32_t n);
/* Delete every slot of t, then t itself; returns the first error. */
int table_delete(struct writer *w, uint32_t sid, struct wsvc *s,
		 struct slot_table *t);
/* Room in w->fe for one frontend more. */
int fe_reserve(struct writer *w);
int fe_write(struct writer *w, const struct fe_key *key,
	     const struct svcd_frontend_value *val);
/* Moves the last frontend into idx: callers walk the array backwards. */
int fe_delete(struct writer *w, size_t idx);
/* The frontend key lists of the services (wsvc.fkeys), anew. */
void fkeys_rebuild(struct writer *w);
int match_write(struct writer *w, uint32_t sid, uint32_t bid);
int match_delete(struct writer *w, uint32_t sid, uint32_t bid);

/* ---- one sync ---------------------------------------------------------- */

struct sync {
	struct writer *w;
	const struct model_state *desired;
	struct writer_stats *stats;
	int err;	      /* first error */
	struct htab want_fe;  /* desired frontend key -> index + 1 */
	struct htab want_set; /* set identity -> set index + 1 */
	size_t *set_first;    /* per set: first frontend index + 1 */
	size_t *fe_next;      /* per frontend: next of the same set + 1 */
	/* UDP sets whose flows phase 6 checks, by service id, and the
	 * families they are of (which conntrack maps to walk). */
	struct u64set udp_changed;
	struct u64set udp_removed;
	bool udp_family[MODEL_FAMILIES];
	/* the desired source ranges per family */
	struct range_set want_ranges[MODEL_FAMILIES];
	bool want_ranges_ok; /* listed whole: pruning is safe */
	/* writer_sync_partial(): the service ids of the Services it covers;
	 * NULL for writer_sync() (all) */
	struct u64set *scope;
	uint64_t *scope_bits; /* the same as a bitmap by service id */
	/* the keys of the frontends the scope had and wants: what the
	 * phases of a partial sync walk (writer.c, phase_fe) */
	struct fe_key *scope_keys;
	size_t n_scope_keys;
};

/* Whether service id sid is covered by this sync. */
static inline bool in_scope(const struct sync *s, uint32_t sid)
{
	return !s->scope || (sid < s->w->lim.max_services &&
			     (s->scope_bits[sid / 64] >> (sid % 64) & 1));
}

static inline void note_err(struct sync *s, int err)
{
	if (err && !s->err)
		s->err = err;
}

/* "namespace/name:port/TCP (local)", for messages. */
/* "namespace/name:port/TCP (local)", " IPv6" after it for IPv6 sets. */
void set_label(const struct svcd_service *info, char *buf, size_t len);
void set_label_fam(const struct svcd_service *info, uint8_t family, char *buf,
		   size_t len);
void info_from_set(struct svcd_service *info, const struct model_set *ms);
void ident_from_set(struct svc_ident *id, const struct model_set *ms);

/* The desired frontend with key k, or NULL. */
const struct model_frontend *sync_want_fe(const struct sync *s,
					  const struct fe_key *k);

/* Source ranges (ranges.c): loading, then around the frontend writes. */
int ranges_load(struct writer *w, int family, const void *key);
void ranges_init(struct writer *w);
void ranges_loaded(struct writer *w);
void ranges_write(struct sync *s);
void ranges_prune(struct sync *s);
void range_set_fini(struct range_set *set);

/* Phase 2 (apply.c): install or change one set whole, or leave it as it was. */
int apply_set(struct sync *s, size_t set);
/* Phase 6 (flush.c): UDP flows whose backend left their set. */
void flush_udp_flows(struct sync *s);

#endif

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * writer/writer.c - makes the maps equal to a desired model_state, writing only
 * the difference, in the order DESIGN.md invariants 1 and 3 require.
 *
 * The writer keeps a mirror of what the maps hold (services, backends with
 * reference counts, slot tables per service and revision, frontends,
 * affinity match pairs) and changes the mirror only after the map
 * operation it stands for succeeded, so the mirror equals the maps after
 * any failure.
 *
 * One sync runs in phases; per set the order of DESIGN.md holds because
 * every deletion of a shared thing waits for a later phase:
 *   1. delete frontends nobody wants;
 *   2. per set: services entry (new set), new backends, the new slot table
 *      under a new revision, the affinity match pairs of its backends (sets
 *      with an affinity timeout), then its frontends (one update each); on
 *      any error undo that set's writes and keep its previous version;
 *   3. frontends still pointing at a revision that is going away (moved to
 *      a set that failed) are re-pointed to their set's live revision or
 *      deleted;
 *   4. affinity match pairs no frontend needs (backends that left, sets
 *      that lost their timeout or went away), then slot tables no frontend
 *      uses, then services entries of removed sets;
 *   5. backends no slot holds;
 *   6. UDP conntrack entries whose backend left its set.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "writer/writer.h"

/* ---- small open-addressing hash table of 32-bit values ---------------- */

/*
 * Linear probing with backward-shift deletion (no tombstones). The table
 * stores a value (an id or an index + 1; 0 marks an empty bucket) and its
 * hash; keys live with the caller, which compares them in an eq callback.
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

static uint32_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static int ht_resize(struct htab *t, uint32_t buckets)
{
	struct hent *old = t->e;
	uint32_t old_buckets = old ? t->mask + 1 : 0;
	uint32_t i, j;

	t->e = calloc(buckets, sizeof(*t->e));
	if (!t->e) {
		t->e = old;
		return -ENOMEM;
	}
	t->mask = buckets - 1;
	for (i = 0; i < old_buckets; i++) {
		if (!old[i].val)
			continue;
		for (j = old[i].hash & t->mask; t->e[j].val;
		     j = (j + 1) & t->mask)
			;
		t->e[j] = old[i];
	}
	free(old);
	return 0;
}

static void ht_fini(struct htab *t)
{
	free(t->e);
	memset(t, 0, sizeof(*t));
}

/* Room for want more entries at a load of at most one half. */
static int ht_reserve(struct htab *t, uint32_t want)
{
	uint32_t buckets = t->e ? t->mask + 1 : 0;
	uint64_t need = ((uint64_t)t->n + want) * 2;

	if (buckets >= need && buckets)
		return 0;
	if (!buckets)
		buckets = 16;
	while (buckets < need) {
		if (buckets >= 1u << 31)
			return -ENOMEM;
		buckets *= 2;
	}
	return ht_resize(t, buckets);
}

static uint32_t ht_find(const struct htab *t, uint32_t hash, ht_eq_fn eq,
			const void *ctx, const void *key)
{
	uint32_t i;

	if (!t->e)
		return 0;
	for (i = hash & t->mask; t->e[i].val; i = (i + 1) & t->mask) {
		if (t->e[i].hash == hash && eq(ctx, t->e[i].val, key))
			return t->e[i].val;
	}
	return 0;
}

/* The caller made sure the value is not in the table yet. */
static int ht_insert(struct htab *t, uint32_t hash, uint32_t val)
{
	uint32_t i;
	int err;

	err = ht_reserve(t, 1);
	if (err)
		return err;
	for (i = hash & t->mask; t->e[i].val; i = (i + 1) & t->mask)
		;
	t->e[i].hash = hash;
	t->e[i].val = val;
	t->n++;
	return 0;
}

static struct hent *ht_slot_of(const struct htab *t, uint32_t hash,
			       uint32_t val)
{
	uint32_t i;

	if (!t->e)
		return NULL;
	for (i = hash & t->mask; t->e[i].val; i = (i + 1) & t->mask) {
		if (t->e[i].val == val)
			return &t->e[i];
	}
	return NULL;
}

static void ht_remove(struct htab *t, uint32_t hash, uint32_t val)
{
	struct hent *h = ht_slot_of(t, hash, val);
	uint32_t i, j, home;

	if (!h)
		return;
	i = h - t->e;
	t->e[i].val = 0;
	t->n--;
	/* Pull back every later entry of the run that may sit at i. */
	for (j = (i + 1) & t->mask; t->e[j].val; j = (j + 1) & t->mask) {
		home = t->e[j].hash & t->mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			t->e[i] = t->e[j];
			t->e[j].val = 0;
			i = j;
		}
	}
}

static void ht_replace(struct htab *t, uint32_t hash, uint32_t old_val,
		       uint32_t new_val)
{
	struct hent *h = ht_slot_of(t, hash, old_val);

	if (h)
		h->val = new_val;
}

/* A set of 64-bit keys, for per-sync lookups (frontend references, UDP
 * flush pairs, addresses of a set). */
struct u64set {
	struct htab t;
	uint64_t *v;
	size_t n, cap;
};

static bool u64_eq(const void *ctx, uint32_t val, const void *key)
{
	const struct u64set *s = ctx;

	return s->v[val - 1] == *(const uint64_t *)key;
}

static bool u64set_has(const struct u64set *s, uint64_t key)
{
	return ht_find(&s->t, mix64(key), u64_eq, s, &key) != 0;
}

static int u64set_add(struct u64set *s, uint64_t key)
{
	uint64_t *v;
	size_t cap;
	int err;

	if (u64set_has(s, key))
		return 0;
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 64;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	err = ht_insert(&s->t, mix64(key), s->n + 1);
	if (err)
		return err;
	s->v[s->n++] = key;
	return 0;
}

/* Moves the last key into the hole: callers walking v go backwards. */
static void u64set_remove(struct u64set *s, uint64_t key)
{
	uint32_t hash = mix64(key), idx1;
	uint64_t last;

	idx1 = ht_find(&s->t, hash, u64_eq, s, &key);
	if (!idx1)
		return;
	ht_remove(&s->t, hash, idx1);
	last = s->v[s->n - 1];
	if (idx1 != s->n) {
		s->v[idx1 - 1] = last;
		ht_replace(&s->t, mix64(last), s->n, idx1);
	}
	s->n--;
}

static void u64set_fini(struct u64set *s)
{
	ht_fini(&s->t);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- id allocator ------------------------------------------------------ */

/*
 * Lowest free id first. Ids freed during a sync are quarantined until the
 * next one starts, so an id never names two things within one sync (a
 * conntrack flush by id, or a reader of the maps, sees one meaning).
 */
struct idalloc {
	uint64_t *bits; /* set: in use or quarantined */
	uint32_t max;	/* ids are 1 .. max-1 */
	uint32_t hint;	/* no free id below this */
	uint32_t *quarantine;
	size_t n_quarantine, cap_quarantine;
};

static int ida_init(struct idalloc *a, uint32_t max)
{
	a->bits = calloc((max + 63) / 64, sizeof(*a->bits));
	if (!a->bits)
		return -ENOMEM;
	a->max = max;
	a->bits[0] = 1; /* id 0 is reserved */
	a->hint = 1;
	return 0;
}

static void ida_fini(struct idalloc *a)
{
	free(a->bits);
	free(a->quarantine);
}

static void ida_set(struct idalloc *a, uint32_t id)
{
	a->bits[id / 64] |= 1ULL << (id % 64);
}

static uint32_t ida_alloc(struct idalloc *a)
{
	uint32_t word, id;
	uint64_t free_bits;

	for (word = a->hint / 64; word < (a->max + 63) / 64; word++) {
		free_bits = ~a->bits[word];
		if (!free_bits)
			continue;
		id = word * 64 + __builtin_ctzll(free_bits);
		if (id >= a->max)
			break;
		ida_set(a, id);
		a->hint = id + 1;
		return id;
	}
	a->hint = a->max;
	return 0;
}

/* Free id at the start of the next sync. */
static int ida_free_later(struct idalloc *a, uint32_t id)
{
	uint32_t *q;
	size_t cap;

	if (a->n_quarantine == a->cap_quarantine) {
		cap = a->cap_quarantine ? a->cap_quarantine * 2 : 64;
		q = realloc(a->quarantine, cap * sizeof(*q));
		if (!q)
			return -ENOMEM; /* the id leaks until restart */
		a->quarantine = q;
		a->cap_quarantine = cap;
	}
	a->quarantine[a->n_quarantine++] = id;
	return 0;
}

static void ida_release(struct idalloc *a)
{
	size_t i;
	uint32_t id;

	for (i = 0; i < a->n_quarantine; i++) {
		id = a->quarantine[i];
		a->bits[id / 64] &= ~(1ULL << (id % 64));
		if (id < a->hint)
			a->hint = id;
	}
	a->n_quarantine = 0;
}

/* "E2BIG" for -E2BIG; messages print it as "(-E2BIG)", libbpf style. */
static const char *err_name(int err)
{
	return strerrorname_np(-err) ?: "EUNKNOWN";
}

/* ---- the mirror ------------------------------------------------------- */

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
	bool in_map;		  /* the services entry exists */
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
};

struct wbe {
	struct svcd_backend be;
	/* slots and affinity match pairs in the maps naming this id: a
	 * backend goes only after both, so an id is never reused while a
	 * pair could still send a remembered client to it */
	uint32_t refs;
	bool present; /* the backends entry exists */
};

struct wfe {
	struct svcd_frontend_key key;
	struct svcd_frontend_value val;
};

/* A frontend written while applying a set, and what it was before. */
struct fe_undo {
	struct svcd_frontend_key key;
	struct svcd_frontend_value old;
	bool existed;
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

	uint32_t gen;

	/* Scratch for one set, grown as needed. */
	uint8_t *weights;
	uint32_t *bids;
	bool *used;
	size_t cap_backends;
	uint32_t *slot_idx;	 /* SVCD_MAX_SLOTS_PER_SERVICE */
	void *build_scratch;	 /* for build_slots() */
	uint32_t *undo_be;	 /* backends written for the set */
	uint32_t *undo_match;	 /* match pairs written for the set */
	struct fe_undo *undo_fe; /* frontends written for the set */
	size_t cap_undo_fe;
};

static uint32_t svc_hash(const struct svcd_service *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < sizeof(s->name) && s->name[i]; i++)
		h = (h ^ (uint8_t)s->name[i]) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (i = 0; i < sizeof(s->port_name) && s->port_name[i]; i++)
		h = (h ^ (uint8_t)s->port_name[i]) * 0x100000001b3ULL;
	h ^= (uint64_t)s->proto << 8 | s->set;
	return mix64(h);
}

static bool svc_same(const struct svcd_service *a, const struct svcd_service *b)
{
	return a->proto == b->proto && a->set == b->set &&
	       strncmp(a->name, b->name, sizeof(a->name)) == 0 &&
	       strncmp(a->port_name, b->port_name, sizeof(a->port_name)) == 0;
}

static bool svc_eq(const void *ctx, uint32_t sid, const void *key)
{
	const struct writer *w = ctx;

	return w->svc[sid] && svc_same(&w->svc[sid]->info, key);
}

static uint64_t be_bits(const struct svcd_backend *b)
{
	uint64_t v;

	memcpy(&v, b, sizeof(v));
	return v;
}

static bool be_eq(const void *ctx, uint32_t bid, const void *key)
{
	const struct writer *w = ctx;

	return w->be[bid].present && be_bits(&w->be[bid].be) == be_bits(key);
}

static uint32_t fe_hash(const struct svcd_frontend_key *k)
{
	uint64_t v;

	memcpy(&v, k, sizeof(v));
	return mix64(v);
}

static bool fe_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct writer *w = ctx;

	return !memcmp(&w->fe[idx1 - 1].key, key,
		       sizeof(struct svcd_frontend_key));
}

static struct wfe *fe_find(const struct writer *w,
			   const struct svcd_frontend_key *key)
{
	uint32_t idx1 = ht_find(&w->fe_by_key, fe_hash(key), fe_eq, w, key);

	return idx1 ? &w->fe[idx1 - 1] : NULL;
}

static uint32_t be_find(const struct writer *w, const struct svcd_backend *b)
{
	return ht_find(&w->be_by_value, mix64(be_bits(b)), be_eq, w, b);
}

static struct slot_table *table_find(struct wsvc *s, uint16_t rev)
{
	uint32_t i;

	for (i = 0; i < s->n_tables; i++) {
		if (s->tables[i].rev == rev)
			return &s->tables[i];
	}
	return NULL;
}

static struct slot_table *table_add(struct wsvc *s, uint16_t rev, uint32_t len)
{
	struct slot_table *t;
	uint32_t cap;

	if (s->n_tables == s->cap_tables) {
		cap = s->cap_tables ? s->cap_tables * 2 : 2;
		t = realloc(s->tables, cap * sizeof(*t));
		if (!t)
			return NULL;
		s->tables = t;
		s->cap_tables = cap;
	}
	t = &s->tables[s->n_tables];
	memset(t, 0, sizeof(*t));
	t->rev = rev;
	t->cap = len ? len : 1;
	t->bids = malloc(t->cap * sizeof(*t->bids));
	if (!t->bids)
		return NULL;
	memset(t->bids, 0xff, t->cap * sizeof(*t->bids));
	s->n_tables++;
	return t;
}

/* Make slot index fit in t (only while loading: slots come in any order). */
static int table_grow(struct slot_table *t, uint32_t slot)
{
	uint32_t cap = t->cap, *bids;

	if (slot < t->cap)
		return 0;
	while (cap <= slot)
		cap *= 2;
	bids = realloc(t->bids, cap * sizeof(*bids));
	if (!bids)
		return -ENOMEM;
	memset(bids + t->cap, 0xff, (cap - t->cap) * sizeof(*bids));
	t->bids = bids;
	t->cap = cap;
	return 0;
}

static void table_drop(struct wsvc *s, struct slot_table *t)
{
	free(t->bids);
	*t = s->tables[--s->n_tables];
}

static struct wsvc *svc_get(const struct writer *w, uint32_t sid)
{
	return sid && sid < w->lim.max_services ? w->svc[sid] : NULL;
}

static struct wsvc *svc_create(struct writer *w, uint32_t sid)
{
	struct wsvc *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	w->svc[sid] = s;
	w->n_svc++;
	ida_set(&w->svc_ids, sid);
	return s;
}

static void svc_destroy(struct writer *w, uint32_t sid)
{
	struct wsvc *s = w->svc[sid];
	uint32_t i;

	ht_remove(&w->svc_by_name, svc_hash(&s->info), sid);
	for (i = 0; i < s->n_tables; i++)
		free(s->tables[i].bids);
	free(s->tables);
	free(s);
	w->svc[sid] = NULL;
	w->n_svc--;
	ida_free_later(&w->svc_ids, sid);
}

static void be_ref(struct writer *w, uint32_t bid)
{
	if (!bid || bid >= w->lim.max_backends)
		return;
	w->be[bid].refs++;
	ida_set(&w->be_ids, bid);
	if (bid > w->be_hi)
		w->be_hi = bid;
}

static void be_unref(struct writer *w, uint32_t bid)
{
	if (!bid || bid >= w->lim.max_backends)
		return;
	if (--w->be[bid].refs == 0 && !w->be[bid].present)
		ida_free_later(&w->be_ids, bid);
}

/* ---- map operations that keep the mirror equal to the maps ------------ */

static int map_delete(struct writer *w, enum writer_map map, const void *key)
{
	int err = w->ops->delete (w->ctx, map, key);

	/* Already gone is what we wanted. */
	return err == -ENOENT ? 0 : err;
}

static int svc_entry_write(struct writer *w, uint32_t sid, struct wsvc *s)
{
	int err = w->ops->update(w->ctx, WMAP_SERVICES, &sid, &s->info);

	if (!err)
		s->in_map = true;
	return err;
}

static int svc_entry_delete(struct writer *w, uint32_t sid, struct wsvc *s)
{
	int err = map_delete(w, WMAP_SERVICES, &sid);

	if (!err)
		s->in_map = false;
	return err;
}

static int be_write(struct writer *w, uint32_t bid,
		    const struct svcd_backend *b)
{
	uint32_t hash = mix64(be_bits(b));
	int err;

	/* Hash first: an allocation failure must not leave the map ahead. */
	err = ht_insert(&w->be_by_value, hash, bid);
	if (err)
		return err;
	err = w->ops->update(w->ctx, WMAP_BACKENDS, &bid, b);
	if (err) {
		ht_remove(&w->be_by_value, hash, bid);
		return err;
	}
	w->be[bid].be = *b;
	w->be[bid].present = true;
	w->n_be++;
	if (bid > w->be_hi)
		w->be_hi = bid;
	return 0;
}

static int be_delete(struct writer *w, uint32_t bid)
{
	struct wbe *e = &w->be[bid];
	int err = map_delete(w, WMAP_BACKENDS, &bid);

	if (err)
		return err;
	ht_remove(&w->be_by_value, mix64(be_bits(&e->be)), bid);
	e->present = false;
	w->n_be--;
	if (!e->refs)
		ida_free_later(&w->be_ids, bid);
	return 0;
}

static int slot_write(struct writer *w, uint32_t sid, struct slot_table *t,
		      uint32_t slot, uint32_t bid)
{
	struct svcd_slot_key key = {
		.service_id = sid,
		.rev = t->rev,
		.slot = slot,
	};
	int err = w->ops->update(w->ctx, WMAP_SLOTS, &key, &bid);

	if (err)
		return err;
	if (t->bids[slot] == SLOT_NONE)
		t->present++;
	else
		be_unref(w, t->bids[slot]);
	t->bids[slot] = bid;
	be_ref(w, bid);
	if (slot >= t->len)
		t->len = slot + 1;
	return 0;
}

/* Delete every slot of t, then t itself; returns the first error. */
static int table_delete(struct writer *w, uint32_t sid, struct wsvc *s,
			struct slot_table *t)
{
	struct svcd_slot_key key = { .service_id = sid, .rev = t->rev };
	int err, first = 0;
	uint32_t slot;

	for (slot = 0; slot < t->len; slot++) {
		if (t->bids[slot] == SLOT_NONE)
			continue;
		key.slot = slot;
		err = map_delete(w, WMAP_SLOTS, &key);
		if (err) {
			if (!first)
				first = err;
			continue;
		}
		be_unref(w, t->bids[slot]);
		t->bids[slot] = SLOT_NONE;
		t->present--;
	}
	if (!t->present)
		table_drop(s, t);
	return first;
}

static int fe_write(struct writer *w, const struct svcd_frontend_key *key,
		    const struct svcd_frontend_value *val)
{
	uint32_t hash = fe_hash(key);
	struct wfe *f = fe_find(w, key), *fe;
	size_t cap;
	int err;

	if (f) {
		err = w->ops->update(w->ctx, WMAP_FRONTENDS, key, val);
		if (!err)
			f->val = *val;
		return err;
	}
	if (w->n_fe == w->cap_fe) {
		cap = w->cap_fe ? w->cap_fe * 2 : 64;
		fe = realloc(w->fe, cap * sizeof(*fe));
		if (!fe)
			return -ENOMEM;
		w->fe = fe;
		w->cap_fe = cap;
	}
	err = ht_insert(&w->fe_by_key, hash, w->n_fe + 1);
	if (err)
		return err;
	err = w->ops->update(w->ctx, WMAP_FRONTENDS, key, val);
	if (err) {
		ht_remove(&w->fe_by_key, hash, w->n_fe + 1);
		return err;
	}
	w->fe[w->n_fe].key = *key;
	w->fe[w->n_fe].val = *val;
	w->n_fe++;
	return 0;
}

/* Moves the last frontend into idx: callers walk the array backwards. */
static int fe_delete(struct writer *w, size_t idx)
{
	size_t last = w->n_fe - 1;
	int err;

	err = map_delete(w, WMAP_FRONTENDS, &w->fe[idx].key);
	if (err)
		return err;
	ht_remove(&w->fe_by_key, fe_hash(&w->fe[idx].key), idx + 1);
	if (idx != last) {
		w->fe[idx] = w->fe[last];
		ht_replace(&w->fe_by_key, fe_hash(&w->fe[idx].key), last + 1,
			   idx + 1);
	}
	w->n_fe--;
	return 0;
}

#define MATCH_KEY(sid, bid) ((uint64_t)(sid) << 32 | (bid))

static bool match_has(const struct writer *w, uint32_t sid, uint32_t bid)
{
	return u64set_has(&w->match, MATCH_KEY(sid, bid));
}

static int match_write(struct writer *w, uint32_t sid, uint32_t bid)
{
	struct svcd_affinity_match_key key = {
		.service_id = sid,
		.backend_id = bid,
	};
	uint8_t one = 1;
	int err;

	/* Mirror first: an allocation failure must not leave the map ahead. */
	err = u64set_add(&w->match, MATCH_KEY(sid, bid));
	if (err)
		return err;
	err = w->ops->update(w->ctx, WMAP_AFFINITY_MATCH, &key, &one);
	if (err) {
		u64set_remove(&w->match, MATCH_KEY(sid, bid));
		return err;
	}
	w->svc[sid]->n_match++;
	be_ref(w, bid);
	return 0;
}

static int match_delete(struct writer *w, uint32_t sid, uint32_t bid)
{
	struct svcd_affinity_match_key key = {
		.service_id = sid,
		.backend_id = bid,
	};
	int err = map_delete(w, WMAP_AFFINITY_MATCH, &key);

	if (err)
		return err;
	u64set_remove(&w->match, MATCH_KEY(sid, bid));
	w->svc[sid]->n_match--;
	be_unref(w, bid);
	return 0;
}

/* ---- slot tables from weights ----------------------------------------- */

struct slot_pos {
	uint32_t num; /* the k-th slot of a backend with s slots sits at */
	uint32_t den; /* (2k + 1) / (2s) of the table */
	uint32_t idx; /* backend index */
};

static int slot_pos_cmp(const void *pa, const void *pb)
{
	const struct slot_pos *a = pa, *b = pb;
	uint64_t l = (uint64_t)a->num * b->den, r = (uint64_t)b->num * a->den;

	if (l != r)
		return l < r ? -1 : 1;
	if (a->idx != b->idx)
		return a->idx < b->idx ? -1 : 1;
	return 0;
}

static uint32_t gcd(uint32_t a, uint32_t b)
{
	uint32_t t;

	while (b) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static size_t scratch_size(size_t n, size_t max_slots)
{
	return n * sizeof(uint32_t) + max_slots * sizeof(struct slot_pos);
}

/* Sum of slots when the table is scaled to budget slots (each >= 1). */
static uint64_t scaled_sum(const uint8_t *weights, size_t n, uint64_t total,
			   uint64_t budget)
{
	uint64_t sum = 0, s;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!weights[i])
			continue;
		s = weights[i] * budget / total;
		sum += s ? s : 1;
	}
	return sum;
}

static size_t build_slots(const uint8_t *weights, size_t n, uint32_t *out,
			  size_t max_slots, void *scratch)
{
	uint32_t *count = scratch, g = 0, m = 0, k;
	struct slot_pos *pos = (void *)(count + n);
	uint64_t total = 0, lo, hi, mid, s;
	size_t i, n_slots = 0;

	for (i = 0; i < n; i++) {
		if (!weights[i])
			continue;
		g = gcd(weights[i], g);
		total += weights[i];
		m++;
	}
	if (!m || !max_slots)
		return 0;

	if (m > max_slots) {
		/* Not even one slot each: the first max_slots get one. */
		for (i = 0, k = 0; i < n; i++) {
			count[i] = weights[i] && k < max_slots;
			k += count[i];
		}
	} else if (total / g > max_slots) {
		/* Largest budget whose scaled table (each >= 1) fits. */
		lo = 0;
		hi = max_slots;
		while (lo < hi) {
			mid = (lo + hi + 1) / 2;
			if (scaled_sum(weights, n, total, mid) <= max_slots)
				lo = mid;
			else
				hi = mid - 1;
		}
		g = 0;
		for (i = 0; i < n; i++) {
			s = weights[i] ? weights[i] * lo / total : 0;
			count[i] = weights[i] && !s ? 1 : s;
			if (count[i])
				g = gcd(count[i], g);
		}
		for (i = 0; i < n; i++)
			count[i] /= g;
	} else {
		for (i = 0; i < n; i++)
			count[i] = weights[i] / g;
	}

	/*
	 * Interleave: place the k-th of a backend's s slots at (k + 1/2) / s
	 * of the table and sort by position, so any prefix of the table (and
	 * any window of it) is close to the final proportions.
	 */
	for (i = 0; i < n; i++) {
		for (k = 0; k < count[i]; k++) {
			pos[n_slots].num = 2 * k + 1;
			pos[n_slots].den = 2 * count[i];
			pos[n_slots].idx = i;
			n_slots++;
		}
	}
	if (n_slots)
		qsort(pos, n_slots, sizeof(*pos), slot_pos_cmp);
	for (i = 0; i < n_slots; i++)
		out[i] = pos[i].idx;
	return n_slots;
}

size_t writer_build_slots(const uint8_t *weights, size_t n, uint32_t *out,
			  size_t max_slots)
{
	size_t n_slots, most = n * SVCD_MAX_WEIGHT;
	void *scratch;

	/* No table is longer than the sum of the weights. */
	scratch = malloc(scratch_size(n, max_slots < most ? max_slots : most) +
			 1);
	if (!scratch) {
		errno = ENOMEM;
		return 0;
	}
	n_slots = build_slots(weights, n, out, max_slots, scratch);
	free(scratch);
	return n_slots;
}

/* ---- loading the mirror from the maps --------------------------------- */

struct load_ctx {
	struct writer *w;
	unsigned int skipped;
};

static int load_service(const void *key, const void *value, void *arg)
{
	struct load_ctx *lc = arg;
	struct writer *w = lc->w;
	uint32_t sid = *(const uint32_t *)key;
	const struct svcd_service *info = value;
	struct wsvc *s;

	if (!sid || sid >= w->lim.max_services) {
		lc->skipped++;
		return 0;
	}
	/* A map walk that restarted shows an entry twice. */
	if (w->svc[sid])
		return 0;
	s = svc_create(w, sid);
	if (!s)
		return -ENOMEM;
	s->info = *info;
	s->in_map = true;
	/* Two entries with one identity: the second is removed at sync. */
	if (ht_find(&w->svc_by_name, svc_hash(info), svc_eq, w, info))
		return 0;
	return ht_insert(&w->svc_by_name, svc_hash(info), sid);
}

static int load_backend(const void *key, const void *value, void *arg)
{
	struct load_ctx *lc = arg;
	struct writer *w = lc->w;
	uint32_t bid = *(const uint32_t *)key;
	const struct svcd_backend *b = value;
	uint32_t hash = mix64(be_bits(b));

	if (!bid || bid >= w->lim.max_backends) {
		lc->skipped++;
		return 0;
	}
	if (w->be[bid].present)
		return 0;
	/* A duplicate keeps its id until no slot holds it any more. */
	if (!ht_find(&w->be_by_value, hash, be_eq, w, b) &&
	    ht_insert(&w->be_by_value, hash, bid))
		return -ENOMEM;
	w->be[bid].be = *b;
	w->be[bid].present = true;
	w->n_be++;
	ida_set(&w->be_ids, bid);
	if (bid > w->be_hi)
		w->be_hi = bid;
	return 0;
}

static int load_slot(const void *key, const void *value, void *arg)
{
	const struct svcd_slot_key *k = key;
	uint32_t bid = *(const uint32_t *)value;
	struct load_ctx *lc = arg;
	struct writer *w = lc->w;
	struct slot_table *t;
	struct wsvc *s;

	if (!k->service_id || k->service_id >= w->lim.max_services ||
	    bid == SLOT_NONE) {
		lc->skipped++;
		return 0;
	}
	s = w->svc[k->service_id];
	if (!s)
		s = svc_create(w, k->service_id); /* orphan: removed at sync */
	if (!s)
		return -ENOMEM;
	t = table_find(s, k->rev);
	if (!t)
		t = table_add(s, k->rev, k->slot + 1);
	if (!t || table_grow(t, k->slot))
		return -ENOMEM;
	if (t->bids[k->slot] != SLOT_NONE)
		return 0;
	t->present++;
	t->bids[k->slot] = bid;
	if (k->slot >= t->len)
		t->len = k->slot + 1;
	be_ref(w, bid);
	return 0;
}

static int load_frontend(const void *key, const void *value, void *arg)
{
	struct load_ctx *lc = arg;
	struct writer *w = lc->w;
	struct wfe *fe;
	size_t cap;

	if (fe_find(w, key))
		return 0;
	if (w->n_fe == w->cap_fe) {
		cap = w->cap_fe ? w->cap_fe * 2 : 64;
		fe = realloc(w->fe, cap * sizeof(*fe));
		if (!fe)
			return -ENOMEM;
		w->fe = fe;
		w->cap_fe = cap;
	}
	if (ht_insert(&w->fe_by_key, fe_hash(key), w->n_fe + 1))
		return -ENOMEM;
	memcpy(&w->fe[w->n_fe].key, key, sizeof(struct svcd_frontend_key));
	memcpy(&w->fe[w->n_fe].val, value, sizeof(struct svcd_frontend_value));
	w->n_fe++;
	return 0;
}

static int load_match(const void *key, const void *value, void *arg)
{
	const struct svcd_affinity_match_key *k = key;
	struct load_ctx *lc = arg;
	struct writer *w = lc->w;
	struct wsvc *s;
	int err;

	(void)value;
	if (!k->service_id || k->service_id >= w->lim.max_services ||
	    !k->backend_id || k->backend_id >= w->lim.max_backends) {
		lc->skipped++;
		return 0;
	}
	if (match_has(w, k->service_id, k->backend_id))
		return 0;
	s = w->svc[k->service_id];
	if (!s)
		s = svc_create(w, k->service_id); /* orphan: removed at sync */
	if (!s)
		return -ENOMEM;
	err = u64set_add(&w->match, MATCH_KEY(k->service_id, k->backend_id));
	if (err)
		return err;
	s->n_match++;
	be_ref(w, k->backend_id);
	return 0;
}

/* Every slot of 0..count-1 present under rev, each naming a backend. */
static bool table_complete(const struct writer *w, struct slot_table *t,
			   uint32_t count)
{
	uint32_t i, bid;

	if (!t || t->len != count || t->present != count)
		return false;
	for (i = 0; i < count; i++) {
		bid = t->bids[i];
		if (bid >= w->lim.max_backends || !w->be[bid].present)
			return false;
	}
	return true;
}

/*
 * Which version of each service is live: the one its frontends use, or,
 * without frontends, its only table. A service whose frontends disagree
 * (svcd stopped between two frontend updates) follows the first one seen;
 * the first sync writes a fresh revision if that is not the desired one.
 */
static void load_pick_live(struct writer *w)
{
	struct slot_table *t;
	struct wsvc *s;
	uint32_t sid;
	size_t i;

	for (i = 0; i < w->n_fe; i++) {
		s = svc_get(w, w->fe[i].val.service_id);
		if (!s || s->seen_frontend)
			continue;
		s->seen_frontend = true;
		s->live_rev = w->fe[i].val.rev;
		s->live_count = w->fe[i].val.slot_count;
		s->live_affinity = w->fe[i].val.affinity_timeout;
	}
	for (sid = 1; sid < w->lim.max_services; sid++) {
		s = w->svc[sid];
		if (!s)
			continue;
		if (!s->seen_frontend) {
			if (!s->n_tables) {
				s->has_live = true;
				continue;
			}
			t = &s->tables[0];
			if (s->n_tables != 1 ||
			    t->len > SVCD_MAX_SLOTS_PER_SERVICE)
				continue;
			s->live_rev = t->rev;
			s->live_count = t->len;
		}
		s->has_live = !s->live_count ||
			      table_complete(w, table_find(s, s->live_rev),
					     s->live_count);
	}
}

void writer_free(struct writer *w)
{
	uint32_t sid;

	if (!w)
		return;
	if (w->svc) {
		for (sid = 1; sid < w->lim.max_services; sid++) {
			if (w->svc[sid])
				svc_destroy(w, sid);
		}
	}
	free(w->svc);
	ida_fini(&w->svc_ids);
	ht_fini(&w->svc_by_name);
	free(w->be);
	ida_fini(&w->be_ids);
	ht_fini(&w->be_by_value);
	free(w->fe);
	ht_fini(&w->fe_by_key);
	u64set_fini(&w->match);
	free(w->weights);
	free(w->bids);
	free(w->used);
	free(w->slot_idx);
	free(w->build_scratch);
	free(w->undo_fe);
	free(w->undo_be);
	free(w->undo_match);
	free(w);
}

struct writer *writer_new(const struct writer_ops *ops, void *ops_ctx,
			  const struct writer_limits *limits)
{
	static const struct {
		enum writer_map map;
		int (*fn)(const void *key, const void *value, void *arg);
		const char *name;
	} loads[] = {
		{ WMAP_SERVICES, load_service, "services" },
		{ WMAP_BACKENDS, load_backend, "backends" },
		{ WMAP_SLOTS, load_slot, "slots" },
		{ WMAP_FRONTENDS, load_frontend, "frontends" },
		{ WMAP_AFFINITY_MATCH, load_match, "affinity match" },
	};
	struct load_ctx lc = { 0 };
	struct writer *w;
	size_t i;
	int err;

	if (!ops || !limits || limits->max_services < 2 ||
	    limits->max_backends < 2) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->ops = ops;
	w->ctx = ops_ctx;
	w->lim = *limits;
	lc.w = w;

	err = -ENOMEM;
	w->svc = calloc(limits->max_services, sizeof(*w->svc));
	w->be = calloc(limits->max_backends, sizeof(*w->be));
	w->slot_idx = malloc(SVCD_MAX_SLOTS_PER_SERVICE * sizeof(uint32_t));
	if (!w->svc || !w->be || !w->slot_idx)
		goto out;
	if (ida_init(&w->svc_ids, limits->max_services) ||
	    ida_init(&w->be_ids, limits->max_backends))
		goto out;

	for (i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
		err = ops->iterate(ops_ctx, loads[i].map, loads[i].fn, &lc);
		if (err) {
			pr_err("writer: reading the %s map failed (-%s)",
			       loads[i].name, err_name(err));
			goto out;
		}
	}
	if (lc.skipped)
		pr_warn("writer: %u map entries with ids outside the limits ignored",
			lc.skipped);
	load_pick_live(w);
	pr_debug("writer: loaded %zu services, %zu backends, %zu frontends",
		 w->n_svc, w->n_be, w->n_fe);
	return w;
out:
	writer_free(w);
	errno = -err;
	return NULL;
}

size_t writer_service_count(const struct writer *w)
{
	return w->n_svc;
}

size_t writer_backend_count(const struct writer *w)
{
	return w->n_be;
}

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
	/* UDP sets whose flows phase 6 checks, by service id. */
	struct u64set udp_changed;
	struct u64set udp_removed;
};

static void note_err(struct sync *s, int err)
{
	if (err && !s->err)
		s->err = err;
}

static void set_label(const struct svcd_service *info, char *buf, size_t len)
{
	const char *proto = info->proto == IPPROTO_TCP ? "TCP" :
			    info->proto == IPPROTO_UDP ? "UDP" :
							 "SCTP?";

	snprintf(buf, len, "%.*s%s%.*s/%s%s", (int)sizeof(info->name),
		 info->name, info->port_name[0] ? ":" : "",
		 (int)sizeof(info->port_name), info->port_name, proto,
		 info->set == SVCD_SET_LOCAL ? " (local)" : "");
}

static bool want_fe_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct model_state *d = ctx;

	return !memcmp(&d->frontends[idx1 - 1].key, key,
		       sizeof(struct svcd_frontend_key));
}

static void info_from_set(struct svcd_service *info, const struct model_set *ms)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->name, ms->name, sizeof(info->name) - 1);
	memcpy(info->port_name, ms->port_name, sizeof(info->port_name) - 1);
	info->proto = ms->proto;
	info->set = ms->set;
}

static bool want_set_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct model_state *d = ctx;
	struct svcd_service info;

	info_from_set(&info, &d->sets[idx1 - 1]);
	return svc_same(&info, key);
}

static void sync_fini(struct sync *s)
{
	ht_fini(&s->want_fe);
	ht_fini(&s->want_set);
	free(s->set_first);
	free(s->fe_next);
	u64set_fini(&s->udp_changed);
	u64set_fini(&s->udp_removed);
}

/*
 * Index the desired state: frontends by key, sets by identity (a set
 * named twice is applied once, from its first occurrence), and the
 * frontends of each set as a list.
 */
static int sync_prepare(struct sync *s)
{
	const struct model_state *d = s->desired;
	struct svcd_service info;
	char label[200];
	size_t i, set;
	uint32_t hash, first;
	int err;

	s->set_first = calloc(d->n_sets + 1, sizeof(*s->set_first));
	s->fe_next = calloc(d->n_frontends + 1, sizeof(*s->fe_next));
	if (!s->set_first || !s->fe_next)
		return -ENOMEM;
	err = ht_reserve(&s->want_set, d->n_sets);
	err = err ?: ht_reserve(&s->want_fe, d->n_frontends);
	if (err)
		return err;

	for (i = 0; i < d->n_sets; i++) {
		info_from_set(&info, &d->sets[i]);
		hash = svc_hash(&info);
		first = ht_find(&s->want_set, hash, want_set_eq, d, &info);
		if (first) {
			set_label(&info, label, sizeof(label));
			pr_warn("service %s: listed twice in the desired state, using the first",
				label);
			continue;
		}
		err = ht_insert(&s->want_set, hash, i + 1);
		if (err)
			return err;
	}

	for (i = 0; i < d->n_frontends; i++) {
		const struct model_frontend *mf = &d->frontends[i];

		hash = fe_hash(&mf->key);
		if (mf->set_index >= d->n_sets) {
			pr_err("writer: frontend %zu names set %zu of %zu, ignored",
			       i, mf->set_index, d->n_sets);
			note_err(s, -EINVAL);
			s->stats->errors++;
			continue;
		}
		if (ht_find(&s->want_fe, hash, want_fe_eq, d, &mf->key)) {
			pr_warn("writer: frontend %zu listed twice, using the first",
				i);
			continue;
		}
		err = ht_insert(&s->want_fe, hash, i + 1);
		if (err)
			return err;
	}

	/* Backwards, so each set's list comes out in input order. */
	for (i = d->n_frontends; i-- > 0;) {
		const struct model_frontend *mf = &d->frontends[i];

		if (ht_find(&s->want_fe, fe_hash(&mf->key), want_fe_eq, d,
			    &mf->key) != i + 1)
			continue;
		/* Frontends of a duplicate set go to its first occurrence. */
		info_from_set(&info, &d->sets[mf->set_index]);
		set = ht_find(&s->want_set, svc_hash(&info), want_set_eq, d,
			      &info) -
		      1;
		s->fe_next[i] = s->set_first[set];
		s->set_first[set] = i + 1;
	}
	return 0;
}

static bool fe_wanted(const struct sync *s, const struct svcd_frontend_key *k)
{
	return ht_find(&s->want_fe, fe_hash(k), want_fe_eq, s->desired, k);
}

/* Phase 1: frontends nobody wants go first, before what they point at. */
static void remove_frontends(struct sync *s)
{
	struct writer *w = s->w;
	size_t i;
	int err;

	for (i = w->n_fe; i-- > 0;) {
		if (fe_wanted(s, &w->fe[i].key))
			continue;
		err = fe_delete(w, i);
		if (err) {
			pr_err("writer: deleting a frontend failed (-%s)",
			       err_name(err));
			note_err(s, err);
			s->stats->errors++;
			continue;
		}
		s->stats->frontends_removed++;
	}
}

static int ensure_scratch(struct writer *w, size_t n_backends, size_t n_fe)
{
	void *p;

	if (n_backends > w->cap_backends || !w->build_scratch) {
		free(w->weights);
		free(w->bids);
		free(w->used);
		free(w->undo_be);
		free(w->undo_match);
		free(w->build_scratch);
		w->cap_backends = n_backends > 64 ? n_backends : 64;
		w->weights = malloc(w->cap_backends);
		w->bids = malloc(w->cap_backends * sizeof(*w->bids));
		w->used = malloc(w->cap_backends * sizeof(*w->used));
		w->undo_be = malloc(w->cap_backends * sizeof(*w->undo_be));
		w->undo_match =
			malloc(w->cap_backends * sizeof(*w->undo_match));
		w->build_scratch = malloc(scratch_size(
			w->cap_backends, SVCD_MAX_SLOTS_PER_SERVICE));
		if (!w->weights || !w->bids || !w->used || !w->undo_be ||
		    !w->undo_match || !w->build_scratch) {
			w->cap_backends = 0;
			return -ENOMEM;
		}
	}
	if (n_fe > w->cap_undo_fe) {
		p = realloc(w->undo_fe, n_fe * sizeof(*w->undo_fe));
		if (!p)
			return -ENOMEM;
		w->undo_fe = p;
		w->cap_undo_fe = n_fe;
	}
	return 0;
}

struct set_undo {
	bool created;	    /* the service record is new in this sync */
	bool wrote_service; /* the services entry was written */
	bool wrote_table;
	uint16_t rev;	/* of the new table */
	size_t n_be;	/* backends written: w->undo_be */
	size_t n_match; /* match pairs written: w->undo_match */
	size_t n_fe;	/* frontends touched: w->undo_fe/undo_val */
	bool fe_failed; /* a frontend could not be put back */
};

/* Take back what apply_set wrote, newest first. */
static void undo_set(struct writer *w, uint32_t sid, struct set_undo *u)
{
	struct wsvc *s = w->svc[sid];
	struct fe_undo *fu;
	struct slot_table *t;
	struct wfe *f;
	size_t i;
	int err;

	for (i = u->n_fe; i-- > 0;) {
		fu = &w->undo_fe[i];
		f = fe_find(w, &fu->key);
		if (fu->existed)
			err = fe_write(w, &fu->key, &fu->old);
		else
			err = f ? fe_delete(w, f - w->fe) : 0;
		if (err)
			u->fe_failed = true;
	}
	/* A frontend still on the new table keeps it and its backends. */
	if (u->fe_failed)
		return;
	/* A pair left behind keeps the table that holds its backend, so a
	 * remembered client still goes only to a backend of the service;
	 * phase 4 takes both away later, in that order. */
	for (i = u->n_match; i-- > 0;) {
		if (match_delete(w, sid, w->undo_match[i]))
			return;
	}
	t = u->wrote_table ? table_find(s, u->rev) : NULL;
	if (t && table_delete(w, sid, s, t))
		return;
	for (i = u->n_be; i-- > 0;) {
		if (!w->be[w->undo_be[i]].refs)
			be_delete(w, w->undo_be[i]);
	}
	if (u->wrote_service && !s->n_tables)
		svc_entry_delete(w, sid, s);
	if (u->created && !s->in_map && !s->n_tables)
		svc_destroy(w, sid);
}

static uint16_t pick_rev(struct wsvc *s)
{
	uint16_t rev = s->has_live ? s->live_rev + 1 : 0;
	uint32_t tries;

	for (tries = 0; tries < 65536 && table_find(s, rev); tries++)
		rev++;
	return rev;
}

static bool table_matches(const struct writer *w, struct wsvc *s,
			  size_t n_slots)
{
	struct slot_table *t;
	size_t i;

	if (!s->has_live || s->live_count != n_slots)
		return false;
	if (!n_slots)
		return true;
	t = table_find(s, s->live_rev);
	if (!t || t->len != n_slots || t->present != n_slots)
		return false;
	for (i = 0; i < n_slots; i++) {
		if (t->bids[i] != w->bids[w->slot_idx[i]])
			return false;
	}
	return true;
}

enum set_step {
	STEP_MEMORY,
	STEP_SERVICE_ID,
	STEP_BACKEND_ID,
	STEP_SERVICES,
	STEP_BACKENDS,
	STEP_SLOTS,
	STEP_AFFINITY,
	STEP_FRONTENDS,
	STEP_FLUSH,
};

static void log_set_failure(const struct svcd_service *info, enum set_step step,
			    int err, bool had_previous)
{
	static const char *const maps[] = {
		[STEP_SERVICES] = "services",
		[STEP_BACKENDS] = "backends",
		[STEP_SLOTS] = "slots",
		[STEP_AFFINITY] = "affinity match",
		[STEP_FRONTENDS] = "frontends",
	};
	const char *outcome = had_previous ? "kept previous version" :
					     "not installed";
	char label[200];

	set_label(info, label, sizeof(label));
	switch (step) {
	case STEP_MEMORY:
		pr_err("service %s: out of memory (-%s), %s", label,
		       err_name(err), outcome);
		break;
	case STEP_SERVICE_ID:
		pr_err("service %s: no free service id (-%s, raise the services map size), %s",
		       label, err_name(err), outcome);
		break;
	case STEP_FLUSH:
		pr_err("service %s: out of memory (-%s), UDP flows of removed backends not flushed",
		       label, err_name(err));
		break;
	case STEP_BACKEND_ID:
		pr_err("service %s: no free backend id (-%s, raise the backends map size), %s",
		       label, err_name(err), outcome);
		break;
	default:
		if (err == -E2BIG || err == -ENOSPC || err == -ENOMEM)
			pr_err("service %s: %s map full (-%s), %s", label,
			       maps[step], err_name(err), outcome);
		else
			pr_err("service %s: %s map update failed (-%s), %s",
			       label, maps[step], err_name(err), outcome);
		break;
	}
}

/* Phase 2 for one set: install or change it whole, or leave it as it was. */
static int apply_set(struct sync *s, size_t set)
{
	const struct model_set *ms = &s->desired->sets[set];
	struct writer *w = s->w;
	struct set_undo u = { 0 };
	struct svcd_frontend_value val;
	struct svcd_service info;
	struct svcd_backend b;
	struct slot_table *t;
	enum set_step step;
	size_t i, n_slots, n_fe = 0, fe1;
	bool changed, had_previous = false;
	uint32_t sid = 0, bid;
	uint16_t rev;
	struct wsvc *svc;
	struct wfe *f;
	int err;

	info_from_set(&info, ms);
	for (fe1 = s->set_first[set]; fe1; fe1 = s->fe_next[fe1 - 1])
		n_fe++;
	step = STEP_MEMORY;
	err = ensure_scratch(w, ms->n_backends, n_fe);
	if (err)
		goto fail;

	sid = ht_find(&w->svc_by_name, svc_hash(&info), svc_eq, w, &info);
	if (!sid) {
		step = STEP_SERVICE_ID;
		err = -ENOSPC;
		sid = ida_alloc(&w->svc_ids);
		if (!sid)
			goto fail;
		step = STEP_MEMORY;
		err = -ENOMEM;
		svc = svc_create(w, sid);
		if (!svc) {
			ida_free_later(&w->svc_ids, sid);
			sid = 0;
			goto fail;
		}
		svc->info = info;
		u.created = true;
		err = ht_insert(&w->svc_by_name, svc_hash(&info), sid);
		if (err)
			goto fail;
	}
	svc = w->svc[sid];
	svc->desired_gen = w->gen;
	had_previous = svc->has_live;

	/* The table in backend indexes, then in backend ids where known. */
	for (i = 0; i < ms->n_backends; i++) {
		w->weights[i] = ms->backends[i].weight;
		w->used[i] = false;
	}
	n_slots = build_slots(w->weights, ms->n_backends, w->slot_idx,
			      SVCD_MAX_SLOTS_PER_SERVICE, w->build_scratch);
	for (i = 0; i < n_slots; i++)
		w->used[w->slot_idx[i]] = true;
	changed = false;
	for (i = 0; i < ms->n_backends; i++) {
		w->bids[i] = 0;
		if (!w->used[i])
			continue;
		b = (struct svcd_backend){
			.addr = ms->backends[i].addr,
			.port = ms->backends[i].port,
			.proto = ms->proto,
			.flags = ms->backends[i].flags,
		};
		w->bids[i] = be_find(w, &b);
		if (!w->bids[i])
			changed = true;
	}
	changed = changed || !table_matches(w, svc, n_slots);

	rev = svc->live_rev;
	if (changed) {
		if (!svc->in_map) {
			step = STEP_SERVICES;
			err = svc_entry_write(w, sid, svc);
			if (err)
				goto fail;
			u.wrote_service = true;
		}
		for (i = 0; i < ms->n_backends; i++) {
			if (!w->used[i] || w->bids[i])
				continue;
			b = (struct svcd_backend){
				.addr = ms->backends[i].addr,
				.port = ms->backends[i].port,
				.proto = ms->proto,
				.flags = ms->backends[i].flags,
			};
			/* The same backend twice in one set. */
			bid = be_find(w, &b);
			if (!bid) {
				step = STEP_BACKEND_ID;
				err = -ENOSPC;
				bid = ida_alloc(&w->be_ids);
				if (!bid)
					goto fail;
				step = STEP_BACKENDS;
				err = be_write(w, bid, &b);
				if (err) {
					ida_free_later(&w->be_ids, bid);
					goto fail;
				}
				w->undo_be[u.n_be++] = bid;
			}
			w->bids[i] = bid;
		}
		step = STEP_MEMORY;
		err = -ENOMEM;
		rev = pick_rev(svc);
		if (n_slots) {
			t = table_add(svc, rev, n_slots);
			if (!t)
				goto fail;
			u.wrote_table = true;
			u.rev = rev;
			step = STEP_SLOTS;
			for (i = 0; i < n_slots; i++) {
				err = slot_write(w, sid, t, i,
						 w->bids[w->slot_idx[i]]);
				if (err)
					goto fail;
			}
		}
	}

	/*
	 * Every backend of the table the frontends will use gets its match
	 * pair before they use it (also when only the timeout went from 0 to
	 * N); pairs of backends that left go in phase 4, after the frontends
	 * stopped using the table that held them.
	 */
	if (ms->affinity_timeout) {
		step = STEP_AFFINITY;
		for (i = 0; i < n_slots; i++) {
			bid = w->bids[w->slot_idx[i]];
			if (match_has(w, sid, bid))
				continue;
			err = match_write(w, sid, bid);
			if (err)
				goto fail;
			w->undo_match[u.n_match++] = bid;
		}
	}

	step = STEP_FRONTENDS;
	for (fe1 = s->set_first[set]; fe1; fe1 = s->fe_next[fe1 - 1]) {
		const struct model_frontend *mf =
			&s->desired->frontends[fe1 - 1];

		val = (struct svcd_frontend_value){
			.service_id = sid,
			.slot_count = n_slots,
			.rev = rev,
			.flags = mf->flags,
			.affinity_timeout = ms->affinity_timeout,
		};
		f = fe_find(w, &mf->key);
		if (f && !memcmp(&f->val, &val, sizeof(val)))
			continue;
		w->undo_fe[u.n_fe] = (struct fe_undo){
			.key = mf->key,
			.old = f ? f->val : val,
			.existed = f != NULL,
		};
		err = fe_write(w, &mf->key, &val);
		if (err)
			goto fail;
		u.n_fe++;
	}

	if (changed) {
		if (ms->proto == IPPROTO_UDP && had_previous) {
			err = u64set_add(&s->udp_changed, sid);
			if (err) {
				/* Installed; only the flush is lost. */
				log_set_failure(&info, STEP_FLUSH, err, true);
				note_err(s, err);
			}
		}
		svc->has_live = true;
		svc->live_rev = rev;
		svc->live_count = n_slots;
	}
	svc->live_affinity = ms->affinity_timeout;
	if (changed || u.n_fe) {
		if (u.created || !had_previous)
			s->stats->services_added++;
		else
			s->stats->services_updated++;
	}
	for (i = 0; i < u.n_fe; i++)
		s->stats->frontends_added += !w->undo_fe[i].existed;
	s->stats->backends_added += u.n_be;
	return 0;

fail:
	log_set_failure(&info, step, err, had_previous);
	s->stats->errors++;
	if (sid)
		undo_set(w, sid, &u);
	return err;
}

/*
 * Phase 3: a frontend still on a revision that is going away (it moved to
 * a set that could not be installed, or its set failed to take it back)
 * is re-pointed at its current set's live version, or deleted when that
 * set is going away too.
 */
static void fix_frontends(struct sync *s)
{
	struct svcd_frontend_value val;
	struct writer *w = s->w;
	struct wsvc *svc;
	bool live;
	size_t i;
	int err;

	for (i = w->n_fe; i-- > 0;) {
		val = w->fe[i].val;
		svc = svc_get(w, val.service_id);
		live = svc && svc->desired_gen == w->gen && svc->has_live;
		if (live && val.rev == svc->live_rev &&
		    val.slot_count == svc->live_count &&
		    val.affinity_timeout == svc->live_affinity)
			continue;
		if (live) {
			/* The live version's timeout: its match pairs are the
			 * ones written. */
			val.rev = svc->live_rev;
			val.slot_count = svc->live_count;
			val.affinity_timeout = svc->live_affinity;
			if (!fe_write(w, &w->fe[i].key, &val))
				continue;
		}
		err = fe_delete(w, i);
		if (err) {
			pr_err("writer: deleting a frontend of removed service %u failed (-%s)",
			       val.service_id, err_name(err));
			note_err(s, err);
			s->stats->errors++;
			continue;
		}
		s->stats->frontends_removed++;
	}
}

#define REF_SID(sid) ((uint64_t)(sid))
#define REF_REV(sid, rev) (1ULL << 63 | (uint64_t)(sid) << 16 | (rev))

/* Adds the match pairs of the first count slots of (sid, rev) to want. */
static int want_table_pairs(struct writer *w, struct u64set *want, uint32_t sid,
			    uint16_t rev, uint32_t count)
{
	struct wsvc *svc = svc_get(w, sid);
	struct slot_table *t = svc ? table_find(svc, rev) : NULL;
	uint32_t k;
	int err;

	for (k = 0; t && k < t->len && k < count; k++) {
		if (t->bids[k] == SLOT_NONE)
			continue;
		err = u64set_add(want, MATCH_KEY(sid, t->bids[k]));
		if (err)
			return err;
	}
	return 0;
}

/*
 * The match pairs a packet may still need: the backends of every table a
 * frontend with a timeout uses, and of the live table of each wanted set
 * with one (set also when the set has no frontend, so that its pairs are
 * not deleted here and written again by the next sync).
 */
static int want_match_pairs(struct writer *w, struct u64set *want)
{
	struct u64set done = { 0 }; /* REF_REV of the tables walked */
	const struct wfe *f;
	struct wsvc *svc;
	uint32_t sid;
	size_t i;
	int err = 0;

	for (i = 0; i < w->n_fe && !err; i++) {
		f = &w->fe[i];
		if (!f->val.affinity_timeout || !f->val.slot_count)
			continue;
		/* A set's frontends share its table: walk it once. */
		if (u64set_has(&done, REF_REV(f->val.service_id, f->val.rev)))
			continue;
		err = u64set_add(&done, REF_REV(f->val.service_id, f->val.rev));
		if (!err)
			err = want_table_pairs(w, want, f->val.service_id,
					       f->val.rev, f->val.slot_count);
	}
	for (sid = 1; sid < w->lim.max_services && !err; sid++) {
		svc = w->svc[sid];
		if (!svc || svc->desired_gen != w->gen || !svc->has_live ||
		    !svc->live_affinity || !svc->live_count ||
		    u64set_has(&done, REF_REV(sid, svc->live_rev)))
			continue;
		err = want_table_pairs(w, want, sid, svc->live_rev,
				       svc->live_count);
	}
	u64set_fini(&done);
	return err;
}

/*
 * Before the slot tables: a pair that stays (its delete failed) keeps its
 * service's tables, so the backend it names is still in one of them.
 */
static void remove_match_pairs(struct sync *s, const struct u64set *want)
{
	struct writer *w = s->w;
	uint32_t sid, bid;
	uint64_t key;
	size_t i;
	int err;

	for (i = w->match.n; i-- > 0;) {
		key = w->match.v[i];
		if (u64set_has(want, key))
			continue;
		sid = key >> 32;
		bid = (uint32_t)key;
		err = match_delete(w, sid, bid);
		if (err) {
			pr_err("writer: deleting the affinity match pair of service %u, backend %u failed (-%s)",
			       sid, bid, err_name(err));
			note_err(s, err);
			s->stats->errors++;
			w->svc[sid]->match_stuck = true;
		}
	}
}

/*
 * Phase 4: affinity match pairs no frontend needs, slot tables no
 * frontend uses, then services of removed sets.
 */
static void remove_tables_and_services(struct sync *s)
{
	struct u64set refs = { 0 }, want = { 0 };
	struct writer *w = s->w;
	const struct wfe *f;
	struct slot_table *t;
	struct wsvc *svc;
	bool keep_live;
	char label[200];
	uint32_t sid, i, j;
	int err = 0;

	for (i = 0; i < w->n_fe && !err; i++) {
		f = &w->fe[i];
		err = u64set_add(&refs, REF_SID(f->val.service_id));
		if (!err && f->val.slot_count)
			err = u64set_add(&refs, REF_REV(f->val.service_id,
							f->val.rev));
	}
	if (!err)
		err = want_match_pairs(w, &want);
	if (err) {
		/* Deleting blind could pull slots from under a frontend. */
		pr_err("writer: out of memory, old slots and affinity pairs kept until the next sync");
		note_err(s, err);
		goto out;
	}
	remove_match_pairs(s, &want);

	for (sid = 1; sid < w->lim.max_services; sid++) {
		svc = w->svc[sid];
		if (!svc)
			continue;
		if (svc->match_stuck) {
			svc->match_stuck = false;
			continue;
		}
		keep_live = svc->desired_gen == w->gen && svc->has_live;
		for (j = svc->n_tables; j-- > 0;) {
			t = &svc->tables[j];
			if (keep_live && svc->live_count &&
			    t->rev == svc->live_rev)
				continue;
			if (u64set_has(&refs, REF_REV(sid, t->rev)))
				continue;
			err = table_delete(w, sid, svc, t);
			if (err) {
				pr_err("writer: deleting old slots of service %u failed (-%s)",
				       sid, err_name(err));
				note_err(s, err);
				s->stats->errors++;
			}
		}
		if (keep_live || svc->n_tables || svc->n_match ||
		    u64set_has(&refs, REF_SID(sid)))
			continue;
		if (svc->in_map) {
			err = svc_entry_delete(w, sid, svc);
			if (err) {
				set_label(&svc->info, label, sizeof(label));
				pr_err("service %s: deleting its services entry failed (-%s)",
				       label, err_name(err));
				note_err(s, err);
				s->stats->errors++;
				continue;
			}
			if (svc->desired_gen != w->gen)
				s->stats->services_removed++;
			/* All flows of a removed UDP set lost their backend. */
			if (svc->info.proto == IPPROTO_UDP &&
			    u64set_add(&s->udp_removed, sid))
				note_err(s, -ENOMEM);
		}
		svc_destroy(w, sid);
	}
out:
	u64set_fini(&refs);
	u64set_fini(&want);
}

/* Phase 5: backends no slot or affinity match pair holds any more. */
static void remove_backends(struct sync *s)
{
	struct writer *w = s->w;
	uint32_t bid;
	int err;

	for (bid = 1; bid <= w->be_hi; bid++) {
		if (!w->be[bid].present || w->be[bid].refs)
			continue;
		err = be_delete(w, bid);
		if (err) {
			pr_err("writer: deleting backend %u failed (-%s)", bid,
			       err_name(err));
			note_err(s, err);
			s->stats->errors++;
			continue;
		}
		s->stats->backends_removed++;
	}
}

/* Where a UDP flow of a changed set may still go: (service, address). */
struct flow_dst {
	uint32_t sid;
	__be32 addr;
	__be16 port;
};

struct dst_set {
	struct htab t;
	struct flow_dst *v;
	size_t n, cap;
};

static uint32_t dst_hash(const struct flow_dst *d)
{
	return mix64((uint64_t)d->sid * 0x9e3779b97f4a7c15ULL ^
		     ((uint64_t)d->addr << 16 | d->port));
}

static bool dst_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct flow_dst *a = &((const struct dst_set *)ctx)->v[idx1 - 1];
	const struct flow_dst *b = key;

	return a->sid == b->sid && a->addr == b->addr && a->port == b->port;
}

static bool dst_has(const struct dst_set *s, const struct flow_dst *d)
{
	return ht_find(&s->t, dst_hash(d), dst_eq, s, d) != 0;
}

static int dst_add(struct dst_set *s, const struct flow_dst *d)
{
	struct flow_dst *v;
	size_t cap;
	int err;

	if (dst_has(s, d))
		return 0;
	if (s->n == s->cap) {
		cap = s->cap ? s->cap * 2 : 64;
		v = realloc(s->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	err = ht_insert(&s->t, dst_hash(d), s->n + 1);
	if (err)
		return err;
	s->v[s->n++] = *d;
	return 0;
}

struct flush_ctx {
	const struct sync *s;
	struct dst_set keep; /* backends the changed sets hold now */
	struct svcd_ct_key *keys;
	size_t n, cap;
	int err;
};

/* The backends of each changed UDP set, as they are after this sync. */
static int flush_keep_build(struct flush_ctx *fc)
{
	const struct sync *s = fc->s;
	struct writer *w = s->w;
	struct flow_dst d;
	struct slot_table *t;
	struct wsvc *svc;
	uint32_t sid, bid;
	size_t i, k;
	int err;

	for (i = 0; i < s->udp_changed.n; i++) {
		sid = s->udp_changed.v[i];
		svc = svc_get(w, sid);
		if (!svc || !svc->has_live || !svc->live_count)
			continue;
		t = table_find(svc, svc->live_rev);
		for (k = 0; t && k < t->len; k++) {
			bid = t->bids[k];
			if (bid >= w->lim.max_backends || !w->be[bid].present)
				continue;
			d = (struct flow_dst){ .sid = sid,
					       .addr = w->be[bid].be.addr,
					       .port = w->be[bid].be.port };
			err = dst_add(&fc->keep, &d);
			if (err)
				return err;
		}
	}
	return 0;
}

/*
 * A flow is flushed when its set was removed, or when its set changed and
 * the backend address it goes to is no longer in the set. By address, not
 * by backend id: a backend that only turned terminating gets a new id but
 * still serves (kube-proxy keeps such flows), and its flows, still on the
 * old id, must go when the address itself leaves later. The address is in
 * the forward value (nat_daddr) and the reverse key (saddr).
 */
static int collect_flows(const void *key, const void *value, void *arg)
{
	const struct svcd_ct_value *v = value;
	const struct svcd_ct_key *k = key;
	struct flush_ctx *fc = arg;
	struct svcd_ct_key *keys;
	struct flow_dst d = { .sid = v->service_id };
	size_t cap;

	if (k->proto != IPPROTO_UDP)
		return 0;
	if (!u64set_has(&fc->s->udp_removed, v->service_id)) {
		if (!u64set_has(&fc->s->udp_changed, v->service_id))
			return 0;
		d.addr = k->dir == SVCD_CT_REVERSE ? k->saddr : v->nat_daddr;
		d.port = k->dir == SVCD_CT_REVERSE ? k->sport : v->nat_dport;
		if (dst_has(&fc->keep, &d))
			return 0;
	}
	if (fc->n == fc->cap) {
		cap = fc->cap ? fc->cap * 2 : 256;
		keys = realloc(fc->keys, cap * sizeof(*keys));
		if (!keys) {
			fc->err = -ENOMEM;
			return -ENOMEM;
		}
		fc->keys = keys;
		fc->cap = cap;
	}
	fc->keys[fc->n++] = *k;
	return 0;
}

/*
 * Phase 6: UDP has no end of flow, so a flow whose backend left its set
 * would keep going there; delete both directions of it. Keys are
 * collected first: deleting while walking a hash map restarts the walk.
 */
static void flush_udp_flows(struct sync *s)
{
	struct flush_ctx fc = { .s = s };
	struct writer *w = s->w;
	size_t i;
	int err;

	if (!s->udp_changed.n && !s->udp_removed.n)
		return;
	err = flush_keep_build(&fc);
	if (!err)
		err = w->ops->iterate(w->ctx, WMAP_CONNTRACK, collect_flows,
				      &fc);
	err = fc.err ?: err;
	if (err) {
		pr_err("writer: collecting UDP flows of removed backends failed (-%s), none flushed",
		       err_name(err));
		note_err(s, err);
		goto out;
	}
	for (i = 0; i < fc.n; i++) {
		err = w->ops->delete (w->ctx, WMAP_CONNTRACK, &fc.keys[i]);
		if (!err) {
			s->stats->udp_flows_flushed++;
		} else if (err != -ENOENT) {
			pr_err("writer: deleting a UDP flow failed (-%s)",
			       err_name(err));
			note_err(s, err);
		}
	}
out:
	ht_fini(&fc.keep.t);
	free(fc.keep.v);
	free(fc.keys);
}

int writer_sync(struct writer *w, const struct model_state *desired,
		struct writer_stats *stats)
{
	struct writer_stats local;
	struct sync s = {
		.w = w,
		.desired = desired,
		.stats = stats ?: &local,
	};
	size_t i;
	int err;

	memset(s.stats, 0, sizeof(*s.stats));
	w->gen++;
	/* Ids freed by the previous sync are nobody's now. */
	ida_release(&w->svc_ids);
	ida_release(&w->be_ids);

	err = sync_prepare(&s);
	if (err) {
		pr_err("writer: out of memory indexing %zu sets, nothing written",
		       desired->n_sets);
		note_err(&s, err);
		goto out;
	}
	remove_frontends(&s);
	for (i = 0; i < desired->n_sets; i++) {
		struct svcd_service info;

		/* Apply a set named twice only at its first occurrence. */
		info_from_set(&info, &desired->sets[i]);
		if (ht_find(&s.want_set, svc_hash(&info), want_set_eq, desired,
			    &info) != i + 1)
			continue;
		note_err(&s, apply_set(&s, i));
	}
	fix_frontends(&s);
	remove_tables_and_services(&s);
	remove_backends(&s);
	flush_udp_flows(&s);
out:
	sync_fini(&s);
	return s.err;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * writer/mirror.c - the writer's mirror of the maps: lookups, reference
 * counts, and the map operations that change the mirror only after the
 * map operation it stands for succeeded, so the mirror equals the maps
 * after any failure.
 */
#include <errno.h>
#include <stdlib.h>

#include "writer/internal.h"

uint32_t svc_hash(const struct svc_ident *id)
{
	const struct svcd_service *s = &id->info;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < sizeof(s->name) && s->name[i]; i++)
		h = (h ^ (uint8_t)s->name[i]) * 0x100000001b3ULL;
	h = (h ^ 0xff) * 0x100000001b3ULL;
	for (i = 0; i < sizeof(s->port_name) && s->port_name[i]; i++)
		h = (h ^ (uint8_t)s->port_name[i]) * 0x100000001b3ULL;
	h ^= (uint64_t)s->proto << 8 | s->set | (uint64_t)id->family << 16;
	return mix64(h);
}

bool svc_same(const struct svc_ident *a, const struct svc_ident *b)
{
	return a->family == b->family && a->info.proto == b->info.proto &&
	       a->info.set == b->info.set &&
	       strncmp(a->info.name, b->info.name, sizeof(a->info.name)) == 0 &&
	       strncmp(a->info.port_name, b->info.port_name,
		       sizeof(a->info.port_name)) == 0;
}

uint32_t sname_hash(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < SVCD_NAME_LEN && name[i]; i++)
		h = (h ^ (uint8_t)name[i]) * 0x100000001b3ULL;
	return mix64(h);
}

bool svc_eq(const void *ctx, uint32_t sid, const void *key)
{
	const struct writer *w = ctx;
	struct svc_ident id;

	if (!w->svc[sid])
		return false;
	id.info = w->svc[sid]->info;
	id.family = w->svc[sid]->family;
	return svc_same(&id, key);
}

/* Hash of n bytes taken 8 at a time (n a multiple of 8). */
static uint32_t words_hash(const void *p, size_t n)
{
	uint64_t h = 0, v;
	size_t i;

	for (i = 0; i < n; i += 8) {
		memcpy(&v, (const uint8_t *)p + i, sizeof(v));
		h = mix64(h ^ v) + v;
	}
	return mix64(h);
}

uint32_t be_hash(const struct wbackend *b)
{
	_Static_assert(sizeof(*b) == 24, "wbackend is 3 words");
	return words_hash(b, sizeof(*b));
}

bool be_eq(const void *ctx, uint32_t bid, const void *key)
{
	const struct writer *w = ctx;

	return w->be[bid].present &&
	       !memcmp(&w->be[bid].be, key, sizeof(struct wbackend));
}

uint32_t fe_hash(const struct fe_key *k)
{
	_Static_assert(sizeof(*k) == 24, "fe_key is 3 words");
	return words_hash(k, sizeof(*k));
}

static bool fe_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct writer *w = ctx;

	return !memcmp(&w->fe[idx1 - 1].key, key, sizeof(struct fe_key));
}

struct wfe *fe_find(const struct writer *w, const struct fe_key *key)
{
	uint32_t idx1 = ht_find(&w->fe_by_key, fe_hash(key), fe_eq, w, key);

	return idx1 ? &w->fe[idx1 - 1] : NULL;
}

uint32_t be_find(const struct writer *w, const struct wbackend *b)
{
	return ht_find(&w->be_by_value, be_hash(b), be_eq, w, b);
}

struct slot_table *table_find(struct wsvc *s, uint16_t rev)
{
	uint32_t i;

	for (i = 0; i < s->n_tables; i++) {
		if (s->tables[i].rev == rev)
			return &s->tables[i];
	}
	return NULL;
}

struct slot_table *table_add(struct wsvc *s, uint16_t rev, uint32_t len)
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
int table_grow(struct slot_table *t, uint32_t slot)
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

struct wsvc *svc_get(const struct writer *w, uint32_t sid)
{
	return sid && sid < w->lim.max_services ? w->svc[sid] : NULL;
}

struct wsvc *svc_create(struct writer *w, uint32_t sid)
{
	struct wsvc *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	w->svc[sid] = s;
	w->n_svc++;
	ida_set(&w->svc_ids, sid);
	return s;
}

void svc_destroy(struct writer *w, uint32_t sid)
{
	struct wsvc *s = w->svc[sid];
	uint32_t i;
	struct svc_ident id = { .info = s->info, .family = s->family };

	ht_remove(&w->svc_by_name, svc_hash(&id), sid);
	ht_remove(&w->svc_by_sname, sname_hash(s->info.name), sid);
	for (i = 0; i < s->n_tables; i++)
		free(s->tables[i].bids);
	free(s->tables);
	free(s->fkeys);
	free(s);
	w->svc[sid] = NULL;
	w->n_svc--;
	ida_free_later(&w->svc_ids, sid);
}

void be_ref(struct writer *w, uint32_t bid)
{
	if (!bid || bid >= w->lim.max_backends)
		return;
	w->be[bid].refs++;
	ida_set(&w->be_ids, bid);
	if (bid > w->be_hi)
		w->be_hi = bid;
}

void be_unref(struct writer *w, uint32_t bid)
{
	if (!bid || bid >= w->lim.max_backends)
		return;
	if (--w->be[bid].refs)
		return;
	if (!w->be[bid].present)
		ida_free_later(&w->be_ids, bid);
	else if (w->track_unref && u64set_add(&w->be_unrefd, bid))
		w->sname_ok = false; /* out of memory: a full sync next */
}

/* ---- map operations that keep the mirror equal to the maps ------------ */

static int map_delete(struct writer *w, enum writer_map map, const void *key)
{
	int err = w->ops->delete (w->ctx, map, key);

	/* Already gone is what we wanted. */
	return err == -ENOENT ? 0 : err;
}

int svc_entry_write(struct writer *w, uint32_t sid, struct wsvc *s)
{
	int err = w->ops->update(w->ctx, WMAP_SERVICES, &sid, &s->info);

	if (!err)
		s->in_map = true;
	return err;
}

int svc_entry_delete(struct writer *w, uint32_t sid, struct wsvc *s)
{
	int err = map_delete(w, WMAP_SERVICES, &sid);

	if (!err)
		s->in_map = false;
	return err;
}

static void be_values(const struct wbackend *b, struct svcd_backend *b4,
		      struct svcd_backend6 *b6)
{
	if (b6)
		*b6 = (struct svcd_backend6){
			.addr = b->addr,
			.port = b->port,
			.proto = b->proto,
			.flags = b->flags,
		};
	if (b4)
		*b4 = (struct svcd_backend){
			.addr = b->addr.w[0],
			.port = b->port,
			.proto = b->proto,
			.flags = b->flags,
		};
}

int be_stage(struct writer *w, uint32_t bid, const struct wbackend *b)
{
	/* Hash first: an allocation failure must not leave the map ahead. */
	int err = ht_insert(&w->be_by_value, be_hash(b), bid);

	if (err)
		return err;
	w->be[bid].be = *b;
	w->be[bid].present = true;
	w->n_be++;
	if (bid > w->be_hi)
		w->be_hi = bid;
	return 0;
}

void be_unstage(struct writer *w, uint32_t bid)
{
	ht_remove(&w->be_by_value, be_hash(&w->be[bid].be), bid);
	w->be[bid].present = false;
	w->n_be--;
}

/* One staged backend into its map. */
static int be_put(struct writer *w, uint32_t bid)
{
	const struct wbackend *b = &w->be[bid].be;
	struct svcd_backend6 b6;
	struct svcd_backend b4;

	if (b->family == MODEL_IPV6) {
		be_values(b, NULL, &b6);
		return w->ops->update(w->ctx, WMAP_BACKENDS6, &bid, &b6);
	}
	be_values(b, &b4, NULL);
	return w->ops->update(w->ctx, WMAP_BACKENDS, &bid, &b4);
}

int be_write(struct writer *w, uint32_t bid, const struct wbackend *b)
{
	int err = be_stage(w, bid, b);

	if (err)
		return err;
	err = be_put(w, bid);
	if (err)
		be_unstage(w, bid);
	return err;
}

int be_commit(struct writer *w, const uint32_t *bids, uint32_t n,
	      uint32_t *written)
{
	bool v6 = n && w->be[bids[0]].be.family == MODEL_IPV6;
	unsigned int done = 0, i;
	void *values = NULL;
	int err;

	for (i = 1; i < n; i++)
		if ((w->be[bids[i]].be.family == MODEL_IPV6) != v6)
			break;
	/* one family (a set's), more than one: a batch */
	if (w->ops->update_batch && n > 1 && i == n)
		values = calloc(n, v6 ? sizeof(struct svcd_backend6) :
					sizeof(struct svcd_backend));
	if (values) {
		for (i = 0; i < n; i++)
			be_values(&w->be[bids[i]].be,
				  v6 ? NULL : (struct svcd_backend *)values + i,
				  v6 ? (struct svcd_backend6 *)values + i :
				       NULL);
		err = w->ops->update_batch(w->ctx,
					   v6 ? WMAP_BACKENDS6 : WMAP_BACKENDS,
					   bids, values, n, &done);
		if (!err)
			done = n;
		else if (done > n)
			done = 0;
		free(values);
	}
	/* no batches, or from where one stopped: its error again, exact */
	for (*written = done; *written < n; (*written)++) {
		err = be_put(w, bids[*written]);
		if (err)
			return err;
	}
	return 0;
}

int be_delete(struct writer *w, uint32_t bid)
{
	struct wbe *e = &w->be[bid];
	int err = map_delete(
		w, e->be.family == MODEL_IPV6 ? WMAP_BACKENDS6 : WMAP_BACKENDS,
		&bid);

	if (err)
		return err;
	ht_remove(&w->be_by_value, be_hash(&e->be), bid);
	e->present = false;
	w->n_be--;
	if (!e->refs)
		ida_free_later(&w->be_ids, bid);
	return 0;
}

/* The mirror of a slot the map now holds. */
static void slot_written(struct writer *w, struct slot_table *t, uint32_t slot,
			 uint32_t bid)
{
	if (t->bids[slot] == SLOT_NONE)
		t->present++;
	else
		be_unref(w, t->bids[slot]);
	t->bids[slot] = bid;
	be_ref(w, bid);
	if (slot >= t->len)
		t->len = slot + 1;
}

int slot_write(struct writer *w, uint32_t sid, struct slot_table *t,
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
	slot_written(w, t, slot, bid);
	return 0;
}

int slots_write(struct writer *w, uint32_t sid, struct slot_table *t,
		uint32_t n)
{
	unsigned int done = 0, i;
	int err;

	if (w->ops->update_batch && n > 1 && !w->batch_keys) {
		w->batch_keys = calloc(SVCD_MAX_SLOTS_PER_SERVICE,
				       sizeof(*w->batch_keys));
		w->batch_bids = calloc(SVCD_MAX_SLOTS_PER_SERVICE,
				       sizeof(*w->batch_bids));
		if (!w->batch_keys || !w->batch_bids) {
			free(w->batch_keys);
			free(w->batch_bids);
			w->batch_keys = NULL;
			w->batch_bids = NULL;
		}
	}
	if (w->ops->update_batch && n > 1 && w->batch_keys &&
	    n <= SVCD_MAX_SLOTS_PER_SERVICE) {
		for (i = 0; i < n; i++) {
			w->batch_keys[i] = (struct svcd_slot_key){
				.service_id = sid,
				.rev = t->rev,
				.slot = i,
			};
			w->batch_bids[i] = w->bids[w->slot_idx[i]];
		}
		err = w->ops->update_batch(w->ctx, WMAP_SLOTS, w->batch_keys,
					   w->batch_bids, n, &done);
		if (!err)
			done = n;
		else if (done > n)
			done = 0;
		for (i = 0; i < done; i++)
			slot_written(w, t, i, w->batch_bids[i]);
	}
	/* no batches, or from where one stopped: its error again, exact */
	for (i = done; i < n; i++) {
		err = slot_write(w, sid, t, i, w->bids[w->slot_idx[i]]);
		if (err)
			return err;
	}
	return 0;
}

/* Delete every slot of t, then t itself; returns the first error. */
int table_delete(struct writer *w, uint32_t sid, struct wsvc *s,
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

/* Room in w->fe for one frontend more. */
int fe_reserve(struct writer *w)
{
	return array_reserve((void **)&w->fe, &w->cap_fe, w->n_fe,
			     sizeof(*w->fe), 64);
}

/* The map of a frontend key and the key as that map holds it. */
static enum writer_map fe_map(const struct fe_key *key, const void **mkey)
{
	if (key->family == MODEL_IPV6) {
		*mkey = &key->v6;
		return WMAP_FRONTENDS6;
	}
	*mkey = &key->v4;
	return WMAP_FRONTENDS;
}

/* wsvc.fkeys follow the frontends while w->sname_ok; a service record
 * missing or no memory: no list is trusted until the next whole sync. */
static void fkey_add(struct writer *w, uint32_t sid, const struct fe_key *key)
{
	struct wsvc *s = svc_get(w, sid);

	if (!w->sname_ok)
		return;
	if (!s || array_reserve((void **)&s->fkeys, &s->cap_fkeys, s->n_fkeys,
				sizeof(*s->fkeys), 4)) {
		w->sname_ok = false;
		return;
	}
	s->fkeys[s->n_fkeys++] = *key;
}

static void fkey_del(struct writer *w, uint32_t sid, const struct fe_key *key)
{
	struct wsvc *s = svc_get(w, sid);
	size_t i;

	if (!w->sname_ok)
		return;
	for (i = 0; s && i < s->n_fkeys; i++) {
		if (!memcmp(&s->fkeys[i], key, sizeof(*key))) {
			s->fkeys[i] = s->fkeys[--s->n_fkeys];
			return;
		}
	}
	w->sname_ok = false;
}

void fkeys_rebuild(struct writer *w)
{
	uint32_t sid;
	size_t i;

	for (sid = 1; sid < w->lim.max_services; sid++)
		if (w->svc[sid])
			w->svc[sid]->n_fkeys = 0;
	for (i = 0; i < w->n_fe && w->sname_ok; i++)
		fkey_add(w, w->fe[i].val.service_id, &w->fe[i].key);
}

int fe_write(struct writer *w, const struct fe_key *key,
	     const struct svcd_frontend_value *val)
{
	uint32_t hash = fe_hash(key);
	struct wfe *f = fe_find(w, key);
	const void *mkey;
	enum writer_map map = fe_map(key, &mkey);
	int err;

	if (f) {
		uint32_t old = f->val.service_id;

		err = w->ops->update(w->ctx, map, mkey, val);
		if (err)
			return err;
		f->val = *val;
		if (old != val->service_id) {
			fkey_del(w, old, key);
			fkey_add(w, val->service_id, key);
		}
		return 0;
	}
	err = fe_reserve(w);
	if (err)
		return err;
	err = ht_insert(&w->fe_by_key, hash, w->n_fe + 1);
	if (err)
		return err;
	err = w->ops->update(w->ctx, map, mkey, val);
	if (err) {
		ht_remove(&w->fe_by_key, hash, w->n_fe + 1);
		return err;
	}
	w->fe[w->n_fe].key = *key;
	w->fe[w->n_fe].val = *val;
	w->n_fe++;
	fkey_add(w, val->service_id, key);
	return 0;
}

/* Moves the last frontend into idx: callers walk the array backwards. */
int fe_delete(struct writer *w, size_t idx)
{
	size_t last = w->n_fe - 1;
	const void *mkey;
	enum writer_map map = fe_map(&w->fe[idx].key, &mkey);
	int err;

	err = map_delete(w, map, mkey);
	if (err)
		return err;
	fkey_del(w, w->fe[idx].val.service_id, &w->fe[idx].key);
	ht_remove(&w->fe_by_key, fe_hash(&w->fe[idx].key), idx + 1);
	if (idx != last) {
		w->fe[idx] = w->fe[last];
		ht_replace(&w->fe_by_key, fe_hash(&w->fe[idx].key), last + 1,
			   idx + 1);
	}
	w->n_fe--;
	return 0;
}

bool match_has(const struct writer *w, uint32_t sid, uint32_t bid)
{
	return u64set_has(&w->match, MATCH_KEY(sid, bid));
}

int match_write(struct writer *w, uint32_t sid, uint32_t bid)
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

int match_delete(struct writer *w, uint32_t sid, uint32_t bid)
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

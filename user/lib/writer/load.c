// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * writer/load.c - writer_new() and writer_free(): the mirror loaded from
 * the maps at start-up, so ids stay stable across restarts and the first
 * sync writes only the difference.
 */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "writer/internal.h"

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
	/* indexed by identity once its family is known: load_index() */
	return 0;
}

static int load_wbackend(struct load_ctx *lc, uint32_t bid,
			 const struct wbackend *b)
{
	struct writer *w = lc->w;
	uint32_t hash = be_hash(b);

	if (!bid || bid >= w->lim.max_backends) {
		lc->skipped++;
		return 0;
	}
	/* An id in both maps (never written so): the first map's wins, the
	 * other entry stays until restart (its id is in use). */
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

static int load_backend(const void *key, const void *value, void *arg)
{
	const struct svcd_backend *b = value;
	struct wbackend wb = {
		.family = MODEL_IPV4,
		.proto = b->proto,
		.flags = b->flags,
		.port = b->port,
		.addr.w[0] = b->addr,
	};

	return load_wbackend(arg, *(const uint32_t *)key, &wb);
}

static int load_backend6(const void *key, const void *value, void *arg)
{
	const struct svcd_backend6 *b = value;
	struct wbackend wb = {
		.family = MODEL_IPV6,
		.proto = b->proto,
		.flags = b->flags,
		.port = b->port,
		.addr = b->addr,
	};

	return load_wbackend(arg, *(const uint32_t *)key, &wb);
}

/* The service sid, created when only slots or pairs name it (an orphan
 * the first sync removes). */
static struct wsvc *svc_or_orphan(struct writer *w, uint32_t sid)
{
	return w->svc[sid] ?: svc_create(w, sid);
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
	s = svc_or_orphan(w, k->service_id);
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

static int load_fe_key(struct writer *w, const struct fe_key *key,
		       const void *value)
{
	if (fe_find(w, key))
		return 0;
	if (fe_reserve(w))
		return -ENOMEM;
	if (ht_insert(&w->fe_by_key, fe_hash(key), w->n_fe + 1))
		return -ENOMEM;
	w->fe[w->n_fe].key = *key;
	memcpy(&w->fe[w->n_fe].val, value, sizeof(struct svcd_frontend_value));
	w->n_fe++;
	return 0;
}

static int load_frontend(const void *key, const void *value, void *arg)
{
	struct load_ctx *lc = arg;
	struct fe_key k;

	fe_key_v4(&k, key);
	return load_fe_key(lc->w, &k, value);
}

static int load_frontend6(const void *key, const void *value, void *arg)
{
	struct load_ctx *lc = arg;
	struct fe_key k;

	fe_key_v6(&k, key);
	return load_fe_key(lc->w, &k, value);
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
	s = svc_or_orphan(w, k->service_id);
	if (!s)
		return -ENOMEM;
	err = u64set_add(&w->match, MATCH_KEY(k->service_id, k->backend_id));
	if (err)
		return err;
	s->n_match++;
	be_ref(w, k->backend_id);
	return 0;
}

static int load_src_range(const void *key, const void *value, void *arg)
{
	struct load_ctx *lc = arg;

	(void)value;
	return ranges_load(lc->w, MODEL_IPV4, key);
}

static int load_src_range6(const void *key, const void *value, void *arg)
{
	struct load_ctx *lc = arg;

	(void)value;
	return ranges_load(lc->w, MODEL_IPV6, key);
}

/*
 * The family of each service, which its services entry does not hold:
 * that of the frontends naming it, else of the backends its slots name
 * (IPv4 for an orphan without either: the first sync removes it); then
 * the services indexed by identity. Two entries with one identity: the
 * second is not indexed and the first sync removes it.
 */
static int load_index(struct writer *w)
{
	struct svc_ident id;
	struct wsvc *s;
	uint32_t sid, k, j, bid;
	size_t i;

	for (i = 0; i < w->n_fe; i++) {
		s = svc_get(w, w->fe[i].val.service_id);
		if (s && !s->seen_frontend) {
			s->family = w->fe[i].key.family;
			s->seen_frontend = true;
		}
	}
	for (sid = 1; sid < w->lim.max_services; sid++) {
		s = w->svc[sid];
		if (!s)
			continue;
		for (k = 0; !s->seen_frontend && k < s->n_tables; k++) {
			for (j = 0; j < s->tables[k].len; j++) {
				bid = s->tables[k].bids[j];
				if (bid < w->lim.max_backends &&
				    w->be[bid].present) {
					s->family = w->be[bid].be.family;
					break;
				}
			}
			if (j < s->tables[k].len)
				break;
		}
		s->seen_frontend = false; /* scratch: load_pick_live's now */
		if (!s->in_map)
			continue;
		id.info = s->info;
		id.family = s->family;
		if (ht_find(&w->svc_by_name, svc_hash(&id), svc_eq, w, &id))
			continue;
		if (ht_insert(&w->svc_by_name, svc_hash(&id), sid))
			return -ENOMEM;
	}
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
	ht_fini(&w->svc_by_sname);
	u64set_fini(&w->be_unrefd);
	free(w->be);
	ida_fini(&w->be_ids);
	ht_fini(&w->be_by_value);
	free(w->fe);
	ht_fini(&w->fe_by_key);
	u64set_fini(&w->match);
	range_set_fini(&w->ranges[MODEL_IPV4]);
	range_set_fini(&w->ranges[MODEL_IPV6]);
	free(w->weights);
	free(w->bids);
	free(w->used);
	free(w->slot_idx);
	free(w->batch_keys);
	free(w->batch_bids);
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
		{ WMAP_BACKENDS6, load_backend6, "backends6" },
		{ WMAP_SLOTS, load_slot, "slots" },
		{ WMAP_FRONTENDS, load_frontend, "frontends" },
		{ WMAP_FRONTENDS6, load_frontend6, "frontends6" },
		{ WMAP_AFFINITY_MATCH, load_match, "affinity match" },
		{ WMAP_SRC_RANGES, load_src_range, "source ranges" },
		{ WMAP_SRC_RANGES6, load_src_range6, "source ranges6" },
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
	ranges_init(w);

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
	err = load_index(w);
	if (err)
		goto out;
	load_pick_live(w);
	ranges_loaded(w);
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

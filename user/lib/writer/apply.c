// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * writer/apply.c - phase 2 of a sync: one set installed or changed whole
 * (services entry, new backends, a new slot table under a new revision,
 * affinity match pairs, then its frontends), or, on any error, its writes
 * taken back and its previous version kept.
 */
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "log.h"
#include "writer/internal.h"

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
		w->build_scratch = malloc(slots_scratch_size(
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

/* The map a full-map failure at step was in, or -1 when the error is
 * not a full map (or id space). */
static int full_map(enum set_step step, int err, int family)
{
	bool v6 = family == MODEL_IPV6;
	bool full = err == -E2BIG || err == -ENOSPC || err == -ENOMEM;

	switch (step) {
	case STEP_SERVICE_ID:
		return SVCD_SF_SERVICES;
	case STEP_BACKEND_ID:
		return SVCD_SF_BACKENDS;
	case STEP_SERVICES:
		return full ? SVCD_SF_SERVICES : -1;
	case STEP_BACKENDS:
		return !full ? -1 : v6 ? SVCD_SF_BACKENDS6 : SVCD_SF_BACKENDS;
	case STEP_SLOTS:
		return full ? SVCD_SF_SLOTS : -1;
	case STEP_AFFINITY:
		return full ? SVCD_SF_AFFINITY_MATCH : -1;
	case STEP_FRONTENDS:
		return !full ? -1 : v6 ? SVCD_SF_FRONTENDS6 : SVCD_SF_FRONTENDS;
	default:
		return -1;
	}
}

static void log_set_failure(struct writer_stats *stats,
			    const struct svc_ident *id, enum set_step step,
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
	int map = full_map(step, err, id->family);
	char label[200];

	set_label_fam(&id->info, id->family, label, sizeof(label));
	if (map >= 0) {
		/* the sync's one line says it (svcd/sync.c) */
		if (!stats->full[map]++)
			snprintf(stats->full_first[map],
				 sizeof(stats->full_first[map]), "%s", label);
		if (step == STEP_SERVICE_ID || step == STEP_BACKEND_ID)
			pr_debug("service %s: no free %s id (-%s), %s", label,
				 step == STEP_SERVICE_ID ? "service" :
							   "backend",
				 err_name(err), outcome);
		else
			pr_debug("service %s: %s map full (-%s), %s", label,
				 maps[step], err_name(err), outcome);
		return;
	}
	switch (step) {
	case STEP_MEMORY:
		pr_err("service %s: out of memory (-%s), %s", label,
		       err_name(err), outcome);
		break;
	case STEP_FLUSH:
		pr_err("service %s: out of memory (-%s), UDP flows of removed backends not flushed",
		       label, err_name(err));
		break;
	default:
		pr_err("service %s: %s map update failed (-%s), %s", label,
		       maps[step], err_name(err), outcome);
		break;
	}
}

/* One set while phase 2 applies it. */
struct set_apply {
	const struct model_set *ms;
	struct svc_ident id; /* its identity */
	uint32_t sid;	     /* 0 until it has a service record */
	struct wsvc *svc;
	enum set_step step; /* what was being done, for the message */
	size_t n_slots;
	uint16_t rev; /* of the table its frontends get */
	bool changed; /* a new table: a backend is new or the slots differ */
	struct set_undo u;
};

static void backend_of(struct wbackend *b, const struct svc_ident *id,
		       const struct model_set *ms, size_t i)
{
	*b = (struct wbackend){
		.family = id->family,
		.port = ms->backends[i].port,
		.proto = ms->proto,
		.flags = ms->backends[i].flags,
	};
	if (id->family == MODEL_IPV6)
		b->addr = ms->backends[i].addr6;
	else
		b->addr.w[0] = ms->backends[i].addr;
}

/* The set's service record: found by identity, or new under a free id. */
static int find_service(struct writer *w, struct set_apply *a)
{
	int err;

	a->sid = ht_find(&w->svc_by_name, svc_hash(&a->id), svc_eq, w, &a->id);
	if (!a->sid) {
		a->step = STEP_SERVICE_ID;
		a->sid = ida_alloc(&w->svc_ids);
		if (!a->sid)
			return -ENOSPC;
		a->step = STEP_MEMORY;
		if (!svc_create(w, a->sid)) {
			ida_free_later(&w->svc_ids, a->sid);
			a->sid = 0;
			return -ENOMEM;
		}
		w->svc[a->sid]->info = a->id.info;
		w->svc[a->sid]->family = a->id.family;
		a->u.created = true;
		err = ht_insert(&w->svc_by_name, svc_hash(&a->id), a->sid);
		if (!err && w->sname_ok) {
			err = ht_insert(&w->svc_by_sname,
					sname_hash(a->id.info.name), a->sid);
			if (err)
				w->sname_ok = false; /* the next full sync */
			err = 0;
		}
		if (err)
			return err;
	}
	a->svc = w->svc[a->sid];
	return 0;
}

/* The table in backend indexes, then in backend ids where known. */
static void plan_table(struct writer *w, struct set_apply *a)
{
	const struct model_set *ms = a->ms;
	struct wbackend b;
	size_t i;

	for (i = 0; i < ms->n_backends; i++) {
		w->weights[i] = ms->backends[i].weight;
		w->used[i] = false;
	}
	a->n_slots = slots_build(w->weights, ms->n_backends, w->slot_idx,
				 SVCD_MAX_SLOTS_PER_SERVICE, w->build_scratch);
	for (i = 0; i < a->n_slots; i++)
		w->used[w->slot_idx[i]] = true;
	a->changed = false;
	for (i = 0; i < ms->n_backends; i++) {
		w->bids[i] = 0;
		if (!w->used[i])
			continue;
		backend_of(&b, &a->id, ms, i);
		w->bids[i] = be_find(w, &b);
		if (!w->bids[i])
			a->changed = true;
	}
	a->changed = a->changed || !table_matches(w, a->svc, a->n_slots);
}

/* A changed set: its services entry, new backends, then the new table
 * under a new revision. */
static int write_table(struct writer *w, struct set_apply *a)
{
	const struct model_set *ms = a->ms;
	struct wbackend b;
	struct slot_table *t;
	uint32_t bid, written;
	size_t i, first, staged;
	int err, werr;

	if (!a->svc->in_map) {
		a->step = STEP_SERVICES;
		err = svc_entry_write(w, a->sid, a->svc);
		if (err)
			return err;
		a->u.wrote_service = true;
	}
	/* new backends staged, then written together (a batch) */
	first = a->u.n_be;
	err = 0;
	for (i = 0; i < ms->n_backends && !err; i++) {
		if (!w->used[i] || w->bids[i])
			continue;
		backend_of(&b, &a->id, ms, i);
		/* The same backend twice in one set. */
		bid = be_find(w, &b);
		if (!bid) {
			a->step = STEP_BACKEND_ID;
			bid = ida_alloc(&w->be_ids);
			if (!bid) {
				err = -ENOSPC;
				break;
			}
			a->step = STEP_BACKENDS;
			err = be_stage(w, bid, &b);
			if (err) {
				ida_free_later(&w->be_ids, bid);
				break;
			}
			w->undo_be[a->u.n_be++] = bid;
		}
		w->bids[i] = bid;
	}
	staged = a->u.n_be - first;
	werr = be_commit(w, &w->undo_be[first], (uint32_t)staged, &written);
	if (werr)
		a->step = STEP_BACKENDS;
	/* those not written are nobody's: as if never staged */
	while (a->u.n_be > first + written) {
		bid = w->undo_be[--a->u.n_be];
		be_unstage(w, bid);
		ida_free_later(&w->be_ids, bid);
	}
	if (err || werr)
		return werr ?: err;
	a->step = STEP_MEMORY;
	a->rev = pick_rev(a->svc);
	if (!a->n_slots)
		return 0;
	t = table_add(a->svc, a->rev, a->n_slots);
	if (!t)
		return -ENOMEM;
	a->u.wrote_table = true;
	a->u.rev = a->rev;
	a->step = STEP_SLOTS;
	return slots_write(w, a->sid, t, (uint32_t)a->n_slots);
}

/*
 * Every backend of the table the frontends will use gets its match pair
 * before they use it (also when only the timeout went from 0 to N); pairs
 * of backends that left go in phase 4, after the frontends stopped using
 * the table that held them.
 */
static int write_match_pairs(struct writer *w, struct set_apply *a)
{
	uint32_t bid;
	size_t i;
	int err;

	if (!a->ms->affinity_timeout)
		return 0;
	a->step = STEP_AFFINITY;
	for (i = 0; i < a->n_slots; i++) {
		bid = w->bids[w->slot_idx[i]];
		if (match_has(w, a->sid, bid))
			continue;
		err = match_write(w, a->sid, bid);
		if (err)
			return err;
		w->undo_match[a->u.n_match++] = bid;
	}
	return 0;
}

/* The set's frontends, each written only when its value changes. */
static int write_frontends(struct sync *s, size_t set, struct set_apply *a)
{
	struct svcd_frontend_value val;
	const struct model_frontend *mf;
	struct writer *w = s->w;
	struct fe_key key;
	struct wfe *f;
	size_t fe1;
	int err;

	a->step = STEP_FRONTENDS;
	for (fe1 = s->set_first[set]; fe1; fe1 = s->fe_next[fe1 - 1]) {
		mf = &s->desired->frontends[fe1 - 1];
		val = (struct svcd_frontend_value){
			.service_id = a->sid,
			.slot_count = a->n_slots,
			.rev = a->rev,
			.flags = mf->flags,
			.affinity_timeout = a->ms->affinity_timeout,
		};
		fe_key_of(&key, mf);
		f = fe_find(w, &key);
		if (f && !memcmp(&f->val, &val, sizeof(val)))
			continue;
		w->undo_fe[a->u.n_fe] = (struct fe_undo){
			.key = key,
			.old = f ? f->val : val,
			.existed = f != NULL,
		};
		err = fe_write(w, &key, &val);
		if (err)
			return err;
		a->u.n_fe++;
	}
	return 0;
}

/* Phase 2 for one set: install or change it whole, or leave it as it was. */
int apply_set(struct sync *s, size_t set)
{
	struct set_apply a = {
		.ms = &s->desired->sets[set],
		.step = STEP_MEMORY,
	};
	struct writer *w = s->w;
	bool had_previous = false;
	size_t i, n_fe = 0, fe1;
	struct wsvc *svc;
	int err;

	ident_from_set(&a.id, a.ms);
	for (fe1 = s->set_first[set]; fe1; fe1 = s->fe_next[fe1 - 1])
		n_fe++;
	err = ensure_scratch(w, a.ms->n_backends, n_fe);
	err = err ?: find_service(w, &a);
	if (err)
		goto fail;
	svc = a.svc;
	svc->desired_gen = w->gen;
	had_previous = svc->has_live;

	plan_table(w, &a);
	a.rev = svc->live_rev;
	err = a.changed ? write_table(w, &a) : 0;
	err = err ?: write_match_pairs(w, &a);
	err = err ?: write_frontends(s, set, &a);
	if (err)
		goto fail;

	if (a.changed) {
		if (a.ms->proto == IPPROTO_UDP && had_previous) {
			err = u64set_add(&s->udp_changed, a.sid);
			if (err) {
				/* Installed; only the flush is lost. */
				log_set_failure(s->stats, &a.id, STEP_FLUSH,
						err, true);
				note_err(s, err);
			}
			s->udp_family[a.id.family] = true;
		}
		svc->has_live = true;
		svc->live_rev = a.rev;
		svc->live_count = a.n_slots;
	}
	svc->live_affinity = a.ms->affinity_timeout;
	if (a.changed || a.u.n_fe) {
		if (a.u.created || !had_previous)
			s->stats->services_added++;
		else
			s->stats->services_updated++;
	}
	for (i = 0; i < a.u.n_fe; i++)
		s->stats->frontends_added += !w->undo_fe[i].existed;
	s->stats->backends_added += a.u.n_be;
	return 0;

fail:
	log_set_failure(s->stats, &a.id, a.step, err, had_previous);
	s->stats->errors++;
	if (a.sid)
		undo_set(w, a.sid, &a.u);
	return err;
}

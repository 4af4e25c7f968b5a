// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * writer/writer.c - makes the maps equal to a desired model_state, writing
 * only the difference, in the order docs/design.md invariants 1 and 3 require.
 *
 * The writer keeps a mirror of what the maps hold (services, backends with
 * reference counts, slot tables per service and revision, frontends,
 * affinity match pairs) and changes the mirror only after the map
 * operation it stands for succeeded, so the mirror equals the maps after
 * any failure.
 *
 * One sync runs in phases; per set the order of docs/design.md holds because
 * every deletion of a shared thing waits for a later phase:
 *   1. delete frontends nobody wants; write the wanted source ranges
 *      (loadBalancerSourceRanges) the map lacks, so no frontend written
 *      later checks a range that is not there yet;
 *   2. per set: services entry (new set), new backends, the new slot table
 *      under a new revision, the affinity match pairs of its backends (sets
 *      with an affinity timeout), then its frontends (one update each); on
 *      any error undo that set's writes and keep its previous version;
 *   3. frontends still pointing at a revision that is going away (moved to
 *      a set that failed) are re-pointed to their set's live revision or
 *      deleted; then source ranges nobody wants are deleted (unless a
 *      frontend left at its old version still checks them);
 *   4. affinity match pairs no frontend needs (backends that left, sets
 *      that lost their timeout or went away), then slot tables no frontend
 *      uses, then services entries of removed sets;
 *   5. backends no slot holds;
 *   6. UDP conntrack entries whose backend left its set.
 *
 * A partial sync (writer_sync_partial: the API source's incremental
 * syncs) runs the same phases over the sets of the Services it names
 * alone: their service ids (svc_by_sname), their frontends (wsvc.fkeys)
 * and the backends that lost their last reference in it (be_unrefd).
 *
 * This file holds the sync and phases 1, 3, 4 and 5; apply.c phase 2,
 * flush.c phase 6, ranges.c the source ranges; mirror.c the mirror and the
 * map operations that keep it equal to the maps, load.c loading it at
 * start-up; slots.c the slot table.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "writer/internal.h"

void set_label(const struct svcd_service *info, char *buf, size_t len)
{
	const char *proto = info->proto == IPPROTO_TCP ? "TCP" :
			    info->proto == IPPROTO_UDP ? "UDP" :
							 "SCTP?";

	snprintf(buf, len, "%.*s%s%.*s/%s%s", (int)sizeof(info->name),
		 info->name, info->port_name[0] ? ":" : "",
		 (int)sizeof(info->port_name), info->port_name, proto,
		 info->set == SVCD_SET_LOCAL ? " (local)" : "");
}

void set_label_fam(const struct svcd_service *info, uint8_t family, char *buf,
		   size_t len)
{
	size_t n;

	set_label(info, buf, len);
	n = strlen(buf);
	if (family == MODEL_IPV6 && n < len)
		snprintf(buf + n, len - n, " IPv6");
}

static bool want_fe_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct model_state *d = ctx;
	struct fe_key k;

	fe_key_of(&k, &d->frontends[idx1 - 1]);
	return !memcmp(&k, key, sizeof(k));
}

void info_from_set(struct svcd_service *info, const struct model_set *ms)
{
	memset(info, 0, sizeof(*info));
	memcpy(info->name, ms->name, sizeof(info->name) - 1);
	memcpy(info->port_name, ms->port_name, sizeof(info->port_name) - 1);
	info->proto = ms->proto;
	info->set = ms->set;
}

void ident_from_set(struct svc_ident *id, const struct model_set *ms)
{
	memset(id, 0, sizeof(*id));
	info_from_set(&id->info, ms);
	id->family = ms->family == MODEL_IPV6 ? MODEL_IPV6 : MODEL_IPV4;
}

static bool want_set_eq(const void *ctx, uint32_t idx1, const void *key)
{
	const struct model_state *d = ctx;
	struct svc_ident id;

	ident_from_set(&id, &d->sets[idx1 - 1]);
	return svc_same(&id, key);
}

static void sync_fini(struct sync *s)
{
	ht_fini(&s->want_fe);
	ht_fini(&s->want_set);
	free(s->set_first);
	free(s->fe_next);
	u64set_fini(&s->udp_changed);
	u64set_fini(&s->udp_removed);
	range_set_fini(&s->want_ranges[MODEL_IPV4]);
	range_set_fini(&s->want_ranges[MODEL_IPV6]);
}

/*
 * Index the desired state: frontends by key, sets by identity (a set
 * named twice is applied once, from its first occurrence), and the
 * frontends of each set as a list.
 */
static int sync_prepare(struct sync *s)
{
	const struct model_state *d = s->desired;
	struct svc_ident id;
	struct fe_key k;
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
		ident_from_set(&id, &d->sets[i]);
		hash = svc_hash(&id);
		first = ht_find(&s->want_set, hash, want_set_eq, d, &id);
		if (first) {
			set_label_fam(&id.info, id.family, label,
				      sizeof(label));
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

		fe_key_of(&k, mf);
		hash = fe_hash(&k);
		if (mf->set_index >= d->n_sets) {
			pr_err("writer: frontend %zu names set %zu of %zu, ignored",
			       i, mf->set_index, d->n_sets);
			note_err(s, -EINVAL);
			s->stats->errors++;
			continue;
		}
		if (mf->family != d->sets[mf->set_index].family) {
			pr_err("writer: frontend %zu is not of its set's family, ignored",
			       i);
			note_err(s, -EINVAL);
			s->stats->errors++;
			continue;
		}
		if (ht_find(&s->want_fe, hash, want_fe_eq, d, &k)) {
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

		fe_key_of(&k, mf);
		if (ht_find(&s->want_fe, fe_hash(&k), want_fe_eq, d, &k) !=
		    i + 1)
			continue;
		/* Frontends of a duplicate set go to its first occurrence. */
		ident_from_set(&id, &d->sets[mf->set_index]);
		set = ht_find(&s->want_set, svc_hash(&id), want_set_eq, d,
			      &id) -
		      1;
		s->fe_next[i] = s->set_first[set];
		s->set_first[set] = i + 1;
	}
	return 0;
}

const struct model_frontend *sync_want_fe(const struct sync *s,
					  const struct fe_key *k)
{
	uint32_t idx1 =
		ht_find(&s->want_fe, fe_hash(k), want_fe_eq, s->desired, k);

	return idx1 ? &s->desired->frontends[idx1 - 1] : NULL;
}

/*
 * The frontends a phase walks: every one (a whole sync; walked backwards,
 * a deletion moves the last one into the hole), or those of the scope of
 * a partial sync, found again by key each time (s->scope_keys: those it
 * had when the sync began and those desired).
 */
static size_t phase_count(const struct sync *s)
{
	return s->scope ? s->n_scope_keys : s->w->n_fe;
}

static struct wfe *phase_fe(const struct sync *s, size_t i)
{
	struct wfe *f;

	if (!s->scope)
		return i < s->w->n_fe ? &s->w->fe[i] : NULL;
	f = fe_find(s->w, &s->scope_keys[i]);
	return f && in_scope(s, f->val.service_id) ? f : NULL;
}

/* Phase 1: frontends nobody wants go first, before what they point at. */
static void remove_frontends(struct sync *s)
{
	struct writer *w = s->w;
	struct wfe *f;
	size_t i;
	int err;

	for (i = phase_count(s); i-- > 0;) {
		f = phase_fe(s, i);
		if (!f || !in_scope(s, f->val.service_id) ||
		    sync_want_fe(s, &f->key))
			continue;
		err = fe_delete(w, (size_t)(f - w->fe));
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
	struct wfe *f;
	struct wsvc *svc;
	bool live;
	size_t i;
	int err;

	for (i = phase_count(s); i-- > 0;) {
		f = phase_fe(s, i);
		if (!f)
			continue;
		val = f->val;
		if (!in_scope(s, val.service_id))
			continue;
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
			if (!fe_write(w, &f->key, &val))
				continue;
		}
		err = fe_delete(w, (size_t)(f - w->fe));
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
static int want_match_pairs(const struct sync *s, struct u64set *want)
{
	struct writer *w = s->w;
	struct u64set done = { 0 }; /* REF_REV of the tables walked */
	const struct wfe *f;
	struct wsvc *svc;
	uint32_t sid;
	size_t i;
	int err = 0;

	for (i = 0; i < phase_count(s) && !err; i++) {
		f = phase_fe(s, i);
		if (!f || !f->val.affinity_timeout || !f->val.slot_count ||
		    !in_scope(s, f->val.service_id))
			continue;
		/* A set's frontends share its table: walk it once. */
		if (u64set_has(&done, REF_REV(f->val.service_id, f->val.rev)))
			continue;
		err = u64set_add(&done, REF_REV(f->val.service_id, f->val.rev));
		if (!err)
			err = want_table_pairs(w, want, f->val.service_id,
					       f->val.rev, f->val.slot_count);
	}
	for (i = 0;
	     !err && (s->scope ? i < s->scope->n : i + 1 < w->lim.max_services);
	     i++) {
		sid = s->scope ? (uint32_t)s->scope->v[i] : (uint32_t)i + 1;
		svc = svc_get(w, sid);
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
		sid = key >> 32;
		if (u64set_has(want, key) || !in_scope(s, sid))
			continue;
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
	uint32_t sid, j;
	size_t i;
	int err = 0;

	for (i = 0; i < phase_count(s) && !err; i++) {
		f = phase_fe(s, i);
		if (!f || !in_scope(s, f->val.service_id))
			continue;
		err = u64set_add(&refs, REF_SID(f->val.service_id));
		if (!err && f->val.slot_count)
			err = u64set_add(&refs, REF_REV(f->val.service_id,
							f->val.rev));
	}
	if (!err)
		err = want_match_pairs(s, &want);
	if (err) {
		/* Deleting blind could pull slots from under a frontend. */
		pr_err("writer: out of memory, old slots and affinity pairs kept until the next sync");
		note_err(s, err);
		goto out;
	}
	remove_match_pairs(s, &want);

	for (i = 0; s->scope ? i < s->scope->n : i + 1 < w->lim.max_services;
	     i++) {
		sid = s->scope ? (uint32_t)s->scope->v[i] : (uint32_t)i + 1;
		svc = svc_get(w, sid);
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
				set_label_fam(&svc->info, svc->family, label,
					      sizeof(label));
				pr_err("service %s: deleting its services entry failed (-%s)",
				       label, err_name(err));
				note_err(s, err);
				s->stats->errors++;
				continue;
			}
			if (svc->desired_gen != w->gen)
				s->stats->services_removed++;
			/* All flows of a removed UDP set lost their backend. */
			if (svc->info.proto == IPPROTO_UDP) {
				if (u64set_add(&s->udp_removed, sid))
					note_err(s, -ENOMEM);
				s->udp_family[svc->family] = true;
			}
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
	size_t i;
	int err;

	/* a partial sync: only those that lost their last reference in it */
	for (i = 0; s->scope ? i < w->be_unrefd.n : i < w->be_hi; i++) {
		bid = s->scope ? (uint32_t)w->be_unrefd.v[i] : (uint32_t)i + 1;
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

/* After a whole sync: the name index of every service record, anew. */
static void sname_rebuild(struct writer *w)
{
	uint32_t sid;

	ht_fini(&w->svc_by_sname);
	w->sname_ok = !ht_reserve(&w->svc_by_sname, (uint32_t)w->n_svc);
	for (sid = 1; sid < w->lim.max_services && w->sname_ok; sid++) {
		if (w->svc[sid] &&
		    ht_insert(&w->svc_by_sname,
			      sname_hash(w->svc[sid]->info.name), sid))
			w->sname_ok = false;
	}
	fkeys_rebuild(w);
}

/* The phases after sync_prepare(), for both kinds of sync. */
static void sync_run(struct sync *s)
{
	const struct model_state *desired = s->desired;
	struct writer *w = s->w;
	struct svc_ident id;
	uint32_t sid;
	size_t i;

	remove_frontends(s);
	ranges_write(s);
	for (i = 0; i < desired->n_sets; i++) {
		/* Apply a set named twice only at its first occurrence. */
		ident_from_set(&id, &desired->sets[i]);
		if (ht_find(&s->want_set, svc_hash(&id), want_set_eq, desired,
			    &id) != i + 1)
			continue;
		note_err(s, apply_set(s, i));
		/* a set new to a partial sync is in its scope too */
		sid = s->scope ? ht_find(&w->svc_by_name, svc_hash(&id), svc_eq,
					 w, &id) :
				 0;
		if (sid && u64set_add(s->scope, sid)) {
			note_err(s, -ENOMEM);
			w->sname_ok = false;
		}
	}
	fix_frontends(s);
	/* a partial sync has no source ranges to take away (see writer.h) */
	if (!s->scope)
		ranges_prune(s);
	remove_tables_and_services(s);
	remove_backends(s);
	flush_udp_flows(s);
}

/*
 * Both kinds of sync after their setup: index the desired state, run the
 * phases (a whole sync then indexes every service by name anew), free
 * the index. Returns the first error, as writer_sync().
 */
static int sync_exec(struct sync *s)
{
	int err = sync_prepare(s);

	if (err) {
		pr_err("writer: out of memory indexing %zu sets, nothing written",
		       s->desired->n_sets);
		note_err(s, err);
		s->w->sname_ok = false;
	} else {
		sync_run(s);
		if (!s->scope)
			sname_rebuild(s->w);
	}
	sync_fini(s);
	return s->err;
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

	memset(s.stats, 0, sizeof(*s.stats));
	w->gen++;
	/* Ids freed by the previous sync are nobody's now. */
	ida_release(&w->svc_ids);
	ida_release(&w->be_ids);
	w->track_unref = false;

	return sync_exec(&s);
}

/* Service ids named name (svc_by_sname) into scope. */
static int scope_add_name(struct writer *w, struct u64set *scope,
			  const char *name)
{
	const struct htab *t = &w->svc_by_sname;
	uint32_t hash = sname_hash(name), i, sid;
	int err;

	if (!t->e)
		return 0;
	for (i = hash & t->mask; t->e[i].val; i = (i + 1) & t->mask) {
		sid = t->e[i].val;
		if (t->e[i].hash != hash || !w->svc[sid] ||
		    strncmp(w->svc[sid]->info.name, name, SVCD_NAME_LEN))
			continue;
		err = u64set_add(scope, sid);
		if (err)
			return err;
	}
	return 0;
}

int writer_sync_partial(struct writer *w, const struct model_state *desired,
			const char *const *names, size_t n_names,
			struct writer_stats *stats)
{
	struct writer_stats local;
	struct u64set scope = { 0 };
	struct sync s = {
		.w = w,
		.desired = desired,
		.stats = stats ?: &local,
		.scope = &scope,
	};
	struct wsvc *svc;
	size_t i, cap_keys;
	int err = 0;

	memset(s.stats, 0, sizeof(*s.stats));
	if (!w->sname_ok || desired->n_src_ranges)
		return -EAGAIN;
	s.scope_bits = calloc(w->lim.max_services / 64 + 1, sizeof(uint64_t));
	if (!s.scope_bits)
		return -EAGAIN;
	for (i = 0; i < n_names && !err; i++)
		err = scope_add_name(w, &scope, names[i]);
	for (i = 0; i < scope.n; i++)
		s.scope_bits[scope.v[i] / 64] |= 1ull << (scope.v[i] % 64);
	/* The scope's frontends, by key, for the phases (and the desired
	 * ones after them). Source ranges are shared by LB IP, not owned by
	 * a set: a Service that had some needs a whole sync to take them
	 * away. */
	cap_keys = desired->n_frontends + 16;
	s.scope_keys = calloc(cap_keys, sizeof(*s.scope_keys));
	if (!s.scope_keys)
		err = -ENOMEM;
	for (i = 0; i < scope.n && !err; i++) {
		struct wsvc *sv = svc_get(w, (uint32_t)scope.v[i]);
		const struct wfe *f;
		size_t k;

		for (k = 0; sv && k < sv->n_fkeys && !err; k++) {
			f = fe_find(w, &sv->fkeys[k]);
			if (f && (f->val.flags & SVCD_FE_SRC_RANGES))
				err = -EAGAIN;
			else if (array_reserve((void **)&s.scope_keys,
					       &cap_keys, s.n_scope_keys,
					       sizeof(*s.scope_keys), 16))
				err = -ENOMEM;
			else
				s.scope_keys[s.n_scope_keys++] = sv->fkeys[k];
		}
	}
	for (i = 0; i < desired->n_frontends && !err; i++) {
		if (array_reserve((void **)&s.scope_keys, &cap_keys,
				  s.n_scope_keys, sizeof(*s.scope_keys), 16))
			err = -ENOMEM;
		else
			fe_key_of(&s.scope_keys[s.n_scope_keys++],
				  &desired->frontends[i]);
	}
	if (err) {
		free(s.scope_keys);
		free(s.scope_bits);
		u64set_fini(&scope);
		return -EAGAIN;
	}
	/* No new generation: the Services outside the scope stay wanted as
	 * the last sync left them; those inside are wanted again only if
	 * desired holds them (apply_set). */
	for (i = 0; i < scope.n; i++) {
		svc = svc_get(w, (uint32_t)scope.v[i]);
		if (svc && svc->desired_gen == w->gen)
			svc->desired_gen = w->gen - 1;
	}
	ida_release(&w->svc_ids);
	ida_release(&w->be_ids);
	w->be_unrefd.n = 0;
	ht_fini(&w->be_unrefd.t);
	w->track_unref = true;

	err = sync_exec(&s);
	w->track_unref = false;
	u64set_fini(&w->be_unrefd);
	u64set_fini(&scope);
	free(s.scope_bits);
	free(s.scope_keys);
	return err;
}

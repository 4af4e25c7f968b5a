// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * writer/ranges.c - the source-range map (loadBalancerSourceRanges) in two
 * halves around the frontend writes: wanted ranges are written before any
 * frontend (one never checks a range that is not there yet), unwanted ones
 * deleted after the frontends that checked them are gone or updated.
 *
 * The map is an LPM trie: an entry is its prefix, host bits do not count.
 * Keys are kept with host bits zero, so a key read back compares equal to
 * the one the desired state names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "writer/internal.h"

/* Bits of lb_addr and src_addr, the trie's data, after the prefix. */
static void range_norm(struct svcd_src_range_key *k)
{
	uint8_t *data = (uint8_t *)&k->lb_addr;
	int i, bits;

	_Static_assert(sizeof(*k) == 12 && offsetof(struct svcd_src_range_key,
						    lb_addr) == 4,
		       "trie data follows prefixlen");
	if (k->prefixlen > 64)
		k->prefixlen = 64;
	for (i = 0; i < 8; i++) {
		bits = (int)k->prefixlen - 8 * i;
		if (bits >= 8)
			continue;
		data[i] &= bits <= 0 ? 0 : 0xff << (8 - bits);
	}
}

static int range_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct svcd_src_range_key));
}

static bool range_in(const struct range_set *set, size_t n,
		     const struct svcd_src_range_key *k)
{
	return n && bsearch(k, set->v, n, sizeof(*k), range_cmp);
}

static int range_append(struct range_set *set,
			const struct svcd_src_range_key *k)
{
	int err = array_reserve((void **)&set->v, &set->cap, set->n,
				sizeof(*set->v), 16);

	if (!err)
		set->v[set->n++] = *k;
	return err;
}

/* Sorted, each key once. */
static void range_sort(struct range_set *set)
{
	size_t i, n = 0;

	if (!set->n)
		return;
	qsort(set->v, set->n, sizeof(*set->v), range_cmp);
	for (i = 1; i < set->n; i++) {
		if (range_cmp(&set->v[n], &set->v[i]))
			set->v[++n] = set->v[i];
	}
	set->n = n + 1;
}

void range_set_fini(struct range_set *set)
{
	free(set->v);
	memset(set, 0, sizeof(*set));
}

int ranges_load(struct writer *w, const struct svcd_src_range_key *key)
{
	struct svcd_src_range_key k = *key;

	range_norm(&k);
	return range_append(&w->ranges, &k);
}

void ranges_loaded(struct writer *w)
{
	range_sort(&w->ranges);
}

static void log_range(const struct svcd_src_range_key *k, const char *what,
		      int err)
{
	char lb[INET_ADDRSTRLEN], src[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &k->lb_addr, lb, sizeof(lb));
	inet_ntop(AF_INET, &k->src_addr, src, sizeof(src));
	pr_err("loadBalancerSourceRanges of %s: %s %s/%u failed (-%s)", lb,
	       what, src, k->prefixlen - 32, err_name(err));
}

/* Before phase 2: every wanted range the map lacks. */
void ranges_write(struct sync *s)
{
	const struct model_state *d = s->desired;
	struct range_set *want = &s->want_ranges;
	struct writer *w = s->w;
	struct svcd_src_range_key k;
	size_t i, n_old = w->ranges.n;
	uint8_t one = 1;
	int err;

	for (i = 0; i < d->n_src_ranges; i++) {
		k = (struct svcd_src_range_key){
			.prefixlen = 32 + d->src_ranges[i].len,
			.lb_addr = d->src_ranges[i].lb_addr,
			.src_addr = d->src_ranges[i].prefix,
		};
		range_norm(&k);
		err = range_append(want, &k);
		if (err) {
			pr_err("writer: out of memory listing %zu source ranges, none written or deleted",
			       d->n_src_ranges);
			note_err(s, err);
			return;
		}
	}
	range_sort(want);
	s->want_ranges_ok = true;

	for (i = 0; i < want->n; i++) {
		/* Ranges added here are past n_old, and want has no twins. */
		if (range_in(&w->ranges, n_old, &want->v[i]))
			continue;
		/* Mirror first: an allocation failure must not leave the map
		 * ahead. */
		err = range_append(&w->ranges, &want->v[i]);
		if (!err) {
			err = w->ops->update(w->ctx, WMAP_SRC_RANGES,
					     &want->v[i], &one);
			if (err)
				w->ranges.n--;
		}
		if (err) {
			log_range(&want->v[i], "adding", err);
			note_err(s, err);
			s->stats->errors++;
			continue;
		}
		s->stats->src_ranges_added++;
	}
	range_sort(&w->ranges);
}

/*
 * LB IPs whose ranges a frontend still in the map checks although the
 * desired state takes them away: its set could not be updated (or its
 * delete failed), so it keeps its ranges until a later sync.
 */
static int held_lb_addrs(struct sync *s, struct u64set *held)
{
	const struct model_frontend *mf;
	struct writer *w = s->w;
	size_t i;
	int err;

	for (i = 0; i < w->n_fe; i++) {
		if (!(w->fe[i].val.flags & SVCD_FE_SRC_RANGES))
			continue;
		mf = sync_want_fe(s, &w->fe[i].key);
		if (mf && mf->flags & SVCD_FE_SRC_RANGES)
			continue;
		err = u64set_add(held, w->fe[i].key.addr);
		if (err)
			return err;
	}
	return 0;
}

/* After phase 3: ranges nobody wants, unless a frontend still checks them. */
void ranges_prune(struct sync *s)
{
	struct u64set held = { 0 };
	struct writer *w = s->w;
	struct range_set *r = &w->ranges;
	size_t i, n = 0;
	int err;

	if (!s->want_ranges_ok)
		return;
	for (i = 0; i < r->n; i++) {
		if (!range_in(&s->want_ranges, s->want_ranges.n, &r->v[i]))
			break;
	}
	if (i == r->n)
		return; /* all wanted: the usual sync */
	err = held_lb_addrs(s, &held);
	if (err) {
		pr_err("writer: out of memory, old source ranges kept until the next sync");
		note_err(s, err);
		goto out;
	}
	/* Compact in place: the kept ones stay sorted. */
	for (i = 0; i < r->n; i++) {
		if (range_in(&s->want_ranges, s->want_ranges.n, &r->v[i]) ||
		    u64set_has(&held, r->v[i].lb_addr)) {
			r->v[n++] = r->v[i];
			continue;
		}
		err = w->ops->delete (w->ctx, WMAP_SRC_RANGES, &r->v[i]);
		if (err && err != -ENOENT) {
			log_range(&r->v[i], "deleting", err);
			note_err(s, err);
			s->stats->errors++;
			r->v[n++] = r->v[i];
			continue;
		}
		s->stats->src_ranges_removed++;
	}
	r->n = n;
out:
	u64set_fini(&held);
}

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

static const size_t key_size[MODEL_FAMILIES] = {
	[MODEL_IPV4] = sizeof(struct svcd_src_range_key),
	[MODEL_IPV6] = sizeof(struct svcd_src_range6_key),
};

static const enum writer_map range_map[MODEL_FAMILIES] = {
	[MODEL_IPV4] = WMAP_SRC_RANGES,
	[MODEL_IPV6] = WMAP_SRC_RANGES6,
};

/* Bits of lb_addr and src_addr, the trie's data, after the prefix (the
 * same layout in both families: __u32 prefixlen, then the data). */
static void range_norm(uint8_t *key, size_t size)
{
	uint8_t *data = key + 4;
	int i, bits, nbits = (int)(size - 4) * 8;
	uint32_t prefixlen;

	_Static_assert(
		sizeof(struct svcd_src_range_key) == 12 &&
			offsetof(struct svcd_src_range_key, lb_addr) == 4 &&
			sizeof(struct svcd_src_range6_key) == 36 &&
			offsetof(struct svcd_src_range6_key, lb_addr) == 4,
		"trie data follows prefixlen");
	memcpy(&prefixlen, key, sizeof(prefixlen));
	if (prefixlen > (uint32_t)nbits) {
		prefixlen = (uint32_t)nbits;
		memcpy(key, &prefixlen, sizeof(prefixlen));
	}
	for (i = 0; i < nbits / 8; i++) {
		bits = (int)prefixlen - 8 * i;
		if (bits >= 8)
			continue;
		data[i] &= bits <= 0 ? 0 : 0xff << (8 - bits);
	}
}

static int range_cmp(const void *a, const void *b, void *size)
{
	return memcmp(a, b, *(const size_t *)size);
}

static const uint8_t *range_at(const struct range_set *set, size_t i)
{
	return set->v + i * set->size;
}

/* Whether k is among the first n (sorted) keys of set. */
static bool range_in(const struct range_set *set, size_t n, const void *k)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = memcmp(range_at(set, mid), k, set->size);
		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int range_append(struct range_set *set, const void *k)
{
	int err = array_reserve((void **)&set->v, &set->cap, set->n, set->size,
				16);

	if (!err)
		memcpy(set->v + set->n++ * set->size, k, set->size);
	return err;
}

/* Sorted, each key once. */
static void range_sort(struct range_set *set)
{
	size_t i, n = 0;

	if (!set->n)
		return;
	qsort_r(set->v, set->n, set->size, range_cmp, &set->size);
	for (i = 1; i < set->n; i++) {
		if (memcmp(range_at(set, n), range_at(set, i), set->size))
			memmove(set->v + ++n * set->size, range_at(set, i),
				set->size);
	}
	set->n = n + 1;
}

void range_set_fini(struct range_set *set)
{
	size_t size = set->size;

	free(set->v);
	memset(set, 0, sizeof(*set));
	set->size = size;
}

void ranges_init(struct writer *w)
{
	w->ranges[MODEL_IPV4].size = key_size[MODEL_IPV4];
	w->ranges[MODEL_IPV6].size = key_size[MODEL_IPV6];
}

int ranges_load(struct writer *w, int family, const void *key)
{
	uint8_t k[sizeof(struct svcd_src_range6_key)];

	memcpy(k, key, key_size[family]);
	range_norm(k, key_size[family]);
	return range_append(&w->ranges[family], k);
}

void ranges_loaded(struct writer *w)
{
	range_sort(&w->ranges[MODEL_IPV4]);
	range_sort(&w->ranges[MODEL_IPV6]);
}

static void log_range(int family, const void *key, const char *what, int err)
{
	char lb[INET6_ADDRSTRLEN], src[INET6_ADDRSTRLEN];

	if (family == MODEL_IPV6) {
		const struct svcd_src_range6_key *k = key;

		inet_ntop(AF_INET6, &k->lb_addr, lb, sizeof(lb));
		inet_ntop(AF_INET6, &k->src_addr, src, sizeof(src));
		pr_err("loadBalancerSourceRanges of %s: %s %s/%u failed (-%s)",
		       lb, what, src, k->prefixlen - 128, err_name(err));
	} else {
		const struct svcd_src_range_key *k = key;

		inet_ntop(AF_INET, &k->lb_addr, lb, sizeof(lb));
		inet_ntop(AF_INET, &k->src_addr, src, sizeof(src));
		pr_err("loadBalancerSourceRanges of %s: %s %s/%u failed (-%s)",
		       lb, what, src, k->prefixlen - 32, err_name(err));
	}
}

/* The map key of a desired range, host bits zero. */
static void range_key_of(const struct model_src_range *r, uint8_t *out)
{
	if (r->family == MODEL_IPV6) {
		struct svcd_src_range6_key k = {
			.prefixlen = 128 + r->len,
			.lb_addr = r->lb_addr6,
			.src_addr = r->prefix6,
		};

		memcpy(out, &k, sizeof(k));
	} else {
		struct svcd_src_range_key k = {
			.prefixlen = 32 + r->len,
			.lb_addr = r->lb_addr,
			.src_addr = r->prefix,
		};

		memcpy(out, &k, sizeof(k));
	}
	range_norm(out, key_size[r->family == MODEL_IPV6]);
}

/* Before phase 2: every wanted range the map lacks. */
void ranges_write(struct sync *s)
{
	const struct model_state *d = s->desired;
	struct writer *w = s->w;
	uint8_t k[sizeof(struct svcd_src_range6_key)];
	size_t i, n_old;
	uint8_t one = 1;
	int err, fam;

	for (fam = 0; fam < MODEL_FAMILIES; fam++)
		s->want_ranges[fam].size = key_size[fam];
	for (i = 0; i < d->n_src_ranges; i++) {
		fam = d->src_ranges[i].family == MODEL_IPV6;
		range_key_of(&d->src_ranges[i], k);
		err = range_append(&s->want_ranges[fam], k);
		if (err) {
			pr_err("writer: out of memory listing %zu source ranges, none written or deleted",
			       d->n_src_ranges);
			note_err(s, err);
			return;
		}
	}
	s->want_ranges_ok = true;

	for (fam = 0; fam < MODEL_FAMILIES; fam++) {
		struct range_set *want = &s->want_ranges[fam];
		struct range_set *have = &w->ranges[fam];

		range_sort(want);
		n_old = have->n;
		for (i = 0; i < want->n; i++) {
			const uint8_t *key = range_at(want, i);

			/* Ranges added here are past n_old, and want has
			 * no twins. */
			if (range_in(have, n_old, key))
				continue;
			/* Mirror first: an allocation failure must not
			 * leave the map ahead. */
			err = range_append(have, key);
			if (!err) {
				err = w->ops->update(w->ctx, range_map[fam],
						     key, &one);
				if (err)
					have->n--;
			}
			if (err) {
				log_range(fam, key, "adding", err);
				note_err(s, err);
				s->stats->errors++;
				continue;
			}
			s->stats->src_ranges_added++;
		}
		range_sort(have);
	}
}

/* LB IPs (IPv6) whose ranges are held: few, searched linearly. */
struct held6 {
	union svcd_ip6 *v;
	size_t n, cap;
};

static bool held6_has(const struct held6 *h, const union svcd_ip6 *a)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!memcmp(&h->v[i], a, sizeof(*a)))
			return true;
	return false;
}

/*
 * LB IPs whose ranges a frontend still in the map checks although the
 * desired state takes them away: its set could not be updated (or its
 * delete failed), so it keeps its ranges until a later sync.
 */
static int held_lb_addrs(struct sync *s, struct u64set *held,
			 struct held6 *held6)
{
	const struct model_frontend *mf;
	struct writer *w = s->w;
	const struct fe_key *k;
	size_t i;
	int err;

	for (i = 0; i < w->n_fe; i++) {
		if (!(w->fe[i].val.flags & SVCD_FE_SRC_RANGES))
			continue;
		k = &w->fe[i].key;
		mf = sync_want_fe(s, k);
		if (mf && mf->flags & SVCD_FE_SRC_RANGES)
			continue;
		if (k->family == MODEL_IPV4) {
			err = u64set_add(held, k->v4.addr);
			if (err)
				return err;
			continue;
		}
		if (held6_has(held6, &k->v6.addr))
			continue;
		err = array_reserve((void **)&held6->v, &held6->cap, held6->n,
				    sizeof(*held6->v), 8);
		if (err)
			return err;
		held6->v[held6->n++] = k->v6.addr;
	}
	return 0;
}

static bool range_held(int fam, const uint8_t *key, const struct u64set *held,
		       const struct held6 *held6)
{
	if (fam == MODEL_IPV6) {
		const struct svcd_src_range6_key *k = (const void *)key;

		return held6_has(held6, &k->lb_addr);
	} else {
		const struct svcd_src_range_key *k = (const void *)key;

		return u64set_has(held, k->lb_addr);
	}
}

/* After phase 3: ranges nobody wants, unless a frontend still checks them. */
void ranges_prune(struct sync *s)
{
	struct u64set held = { 0 };
	struct held6 held6 = { 0 };
	struct writer *w = s->w;
	size_t i, n;
	int err, fam;
	bool all = true;

	if (!s->want_ranges_ok)
		return;
	for (fam = 0; fam < MODEL_FAMILIES && all; fam++) {
		const struct range_set *r = &w->ranges[fam];
		const struct range_set *want = &s->want_ranges[fam];

		for (i = 0; i < r->n; i++) {
			if (!range_in(want, want->n, range_at(r, i))) {
				all = false;
				break;
			}
		}
	}
	if (all)
		return; /* all wanted: the usual sync */
	err = held_lb_addrs(s, &held, &held6);
	if (err) {
		pr_err("writer: out of memory, old source ranges kept until the next sync");
		note_err(s, err);
		goto out;
	}
	for (fam = 0; fam < MODEL_FAMILIES; fam++) {
		struct range_set *r = &w->ranges[fam];
		const struct range_set *want = &s->want_ranges[fam];

		/* Compact in place: the kept ones stay sorted. */
		for (i = 0, n = 0; i < r->n; i++) {
			const uint8_t *key = range_at(r, i);

			if (range_in(want, want->n, key) ||
			    range_held(fam, key, &held, &held6)) {
				memmove(r->v + n++ * r->size, key, r->size);
				continue;
			}
			err = w->ops->delete (w->ctx, range_map[fam], key);
			if (err && err != -ENOENT) {
				log_range(fam, key, "deleting", err);
				note_err(s, err);
				s->stats->errors++;
				memmove(r->v + n++ * r->size, key, r->size);
				continue;
			}
			s->stats->src_ranges_removed++;
		}
		r->n = n;
	}
out:
	u64set_fini(&held);
	free(held6.v);
}

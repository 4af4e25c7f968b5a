// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * test_writer.c - the map writer over in-memory maps.
 *
 * The fake maps check the datapath's view after every single update and
 * delete: each frontend's (service id, rev) has slots 0..slot_count-1, each
 * slot names a backend that exists, no slot a frontend uses is rewritten
 * and no backend a slot names is changed (invariant 1). With session
 * affinity: a frontend with a timeout finds the match pair of every
 * backend in its table, and every match pair names a backend that exists
 * and that a slot of its service (any revision) still holds, so a
 * remembered client goes only to a backend of the old or the new set.
 * Source ranges, when a test names the desired state (ranges_want): a
 * frontend that checks them finds every range of its LB IP when it is
 * written, and no range is deleted while a frontend the desired state
 * takes off the ranges still checks them.
 * Maps can be given
 * a capacity ("map full", invariant 3), the Nth update or delete can fail,
 * and the maps can "crash" (every operation after the Nth does nothing),
 * which is what a restart after kill -9 looks like.
 *
 * Desired states are built by hand: these tests need the structs of
 * model.h, not model.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "runner.h"
#include "lib/writer/slots.h"
#include "lib/writer/writer.h"

/* ---- fake maps ---------------------------------------------------------- */

/* One hash map: a dense entry array and an open-addressing index. */
struct fmap {
	size_t ksz, vsz;
	size_t cap; /* most entries; 0: unlimited */
	size_t n, alloc;
	uint8_t *keys, *vals;
	uint32_t *hashes;
	uint32_t *bucket; /* dense index + 1; 0: empty */
	size_t nbuckets;  /* power of two */
};

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		abort();
	return p;
}

static uint32_t bytes_hash(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (uint32_t)h;
}

static size_t fmap_bucket_of(const struct fmap *m, const void *key,
			     uint32_t hash)
{
	size_t mask = m->nbuckets - 1, i;
	uint32_t idx;

	if (!m->nbuckets)
		return SIZE_MAX;
	for (i = hash & mask; m->bucket[i]; i = (i + 1) & mask) {
		idx = m->bucket[i] - 1;
		if (m->hashes[idx] == hash &&
		    !memcmp(m->keys + idx * m->ksz, key, m->ksz))
			return i;
	}
	return SIZE_MAX;
}

static void *fmap_get(const struct fmap *m, const void *key)
{
	size_t b = fmap_bucket_of(m, key, bytes_hash(key, m->ksz));

	return b == SIZE_MAX ? NULL : m->vals + (m->bucket[b] - 1) * m->vsz;
}

static void fmap_place(struct fmap *m, uint32_t idx)
{
	size_t mask = m->nbuckets - 1, i;

	for (i = m->hashes[idx] & mask; m->bucket[i]; i = (i + 1) & mask)
		;
	m->bucket[i] = idx + 1;
}

static int fmap_put(struct fmap *m, const void *key, const void *val)
{
	void *v = fmap_get(m, key);
	size_t i;

	if (v) {
		memcpy(v, val, m->vsz);
		return 0;
	}
	if (m->cap && m->n >= m->cap)
		return -E2BIG;
	if (m->n == m->alloc) {
		m->alloc = m->alloc ? m->alloc * 2 : 64;
		m->keys = xrealloc(m->keys, m->alloc * m->ksz);
		m->vals = xrealloc(m->vals, m->alloc * m->vsz);
		m->hashes = xrealloc(m->hashes, m->alloc * sizeof(*m->hashes));
	}
	if ((m->n + 1) * 2 > m->nbuckets) {
		m->nbuckets = m->nbuckets ? m->nbuckets * 2 : 128;
		free(m->bucket);
		m->bucket = calloc(m->nbuckets, sizeof(*m->bucket));
		if (!m->bucket)
			abort();
		for (i = 0; i < m->n; i++)
			fmap_place(m, i);
	}
	memcpy(m->keys + m->n * m->ksz, key, m->ksz);
	memcpy(m->vals + m->n * m->vsz, val, m->vsz);
	m->hashes[m->n] = bytes_hash(key, m->ksz);
	fmap_place(m, m->n);
	m->n++;
	return 0;
}

static int fmap_del(struct fmap *m, const void *key)
{
	size_t mask = m->nbuckets - 1, i, j, home;
	size_t b = fmap_bucket_of(m, key, bytes_hash(key, m->ksz));
	uint32_t idx, last;

	if (b == SIZE_MAX)
		return -ENOENT;
	idx = m->bucket[b] - 1;
	/* Backward-shift deletion of bucket b. */
	m->bucket[b] = 0;
	i = b;
	for (j = (i + 1) & mask; m->bucket[j]; j = (j + 1) & mask) {
		home = m->hashes[m->bucket[j] - 1] & mask;
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && home <= i && home > j)) {
			m->bucket[i] = m->bucket[j];
			m->bucket[j] = 0;
			i = j;
		}
	}
	/* Move the last entry into the hole. */
	last = m->n - 1;
	if (idx != last) {
		for (j = m->hashes[last] & mask; m->bucket[j] != last + 1;
		     j = (j + 1) & mask)
			;
		m->bucket[j] = idx + 1;
		memcpy(m->keys + idx * m->ksz, m->keys + last * m->ksz, m->ksz);
		memcpy(m->vals + idx * m->vsz, m->vals + last * m->vsz, m->vsz);
		m->hashes[idx] = m->hashes[last];
	}
	m->n--;
	return 0;
}

static void fmap_fini(struct fmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	free(m->bucket);
}

struct fake {
	struct fmap map[WMAP_COUNT];
	struct fmap fe_refs;	   /* sid << 16 | rev -> frontends on it */
	struct fmap slot_refs;	   /* backend id -> slots naming it */
	struct fmap match_refs;	   /* backend id -> match pairs naming it */
	struct fmap svc_slot_refs; /* sid << 32 | bid -> slots of sid on bid */
	size_t updates, deletes;   /* attempted operations */
	/* update_batch (fake_batch_ops): calls, updates made through it,
	 * and whether it answers as a kernel without batches */
	size_t batches, batched;
	bool no_batches;
	bool in_batch[512];    /* update number (1-based) made in a batch */
	size_t fail_update_at; /* 1-based; 0: never */
	size_t fail_delete_at;
	size_t crash_after; /* later operations do nothing; 0: never */
	int fail_err;
	bool full_check; /* whole-map check after every op */
	/* The state being synced, for the source-range checks (NULL: off). */
	const struct model_state *ranges_want;
	int violations;
	char first_violation[256];
};

static const size_t key_sizes[WMAP_COUNT] = {
	[WMAP_FRONTENDS] = sizeof(struct svcd_frontend_key),
	[WMAP_SLOTS] = sizeof(struct svcd_slot_key),
	[WMAP_BACKENDS] = sizeof(__u32),
	[WMAP_SERVICES] = sizeof(__u32),
	[WMAP_CONNTRACK] = sizeof(struct svcd_ct_key),
	[WMAP_AFFINITY_MATCH] = sizeof(struct svcd_affinity_match_key),
	[WMAP_SRC_RANGES] = sizeof(struct svcd_src_range_key),
	[WMAP_FRONTENDS6] = sizeof(struct svcd_frontend6_key),
	[WMAP_BACKENDS6] = sizeof(__u32),
	[WMAP_CONNTRACK6] = sizeof(struct svcd_ct6_key),
	[WMAP_SRC_RANGES6] = sizeof(struct svcd_src_range6_key),
};
static const size_t val_sizes[WMAP_COUNT] = {
	[WMAP_FRONTENDS] = sizeof(struct svcd_frontend_value),
	[WMAP_SLOTS] = sizeof(__u32),
	[WMAP_BACKENDS] = sizeof(struct svcd_backend),
	[WMAP_SERVICES] = sizeof(struct svcd_service),
	[WMAP_CONNTRACK] = sizeof(struct svcd_ct_value),
	[WMAP_AFFINITY_MATCH] = sizeof(__u8),
	[WMAP_SRC_RANGES] = sizeof(__u8),
	[WMAP_FRONTENDS6] = sizeof(struct svcd_frontend_value),
	[WMAP_BACKENDS6] = sizeof(struct svcd_backend6),
	[WMAP_CONNTRACK6] = sizeof(struct svcd_ct6_value),
	[WMAP_SRC_RANGES6] = sizeof(__u8),
};

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	int i;

	if (!f)
		abort();
	for (i = 0; i < WMAP_COUNT; i++) {
		f->map[i].ksz = key_sizes[i];
		f->map[i].vsz = val_sizes[i];
	}
	f->fe_refs.ksz = sizeof(uint64_t);
	f->fe_refs.vsz = sizeof(uint32_t);
	f->slot_refs.ksz = sizeof(uint32_t);
	f->slot_refs.vsz = sizeof(uint32_t);
	f->match_refs.ksz = sizeof(uint32_t);
	f->match_refs.vsz = sizeof(uint32_t);
	f->svc_slot_refs.ksz = sizeof(uint64_t);
	f->svc_slot_refs.vsz = sizeof(uint32_t);
	f->fail_err = -EIO;
	f->full_check = true;
	return f;
}

static void fake_free(struct fake *f)
{
	int i;

	for (i = 0; i < WMAP_COUNT; i++)
		fmap_fini(&f->map[i]);
	fmap_fini(&f->fe_refs);
	fmap_fini(&f->slot_refs);
	fmap_fini(&f->match_refs);
	fmap_fini(&f->svc_slot_refs);
	free(f);
}

static void violation(struct fake *f, const char *what, uint32_t a, uint32_t b,
		      uint32_t c)
{
	if (!f->violations++)
		snprintf(f->first_violation, sizeof(f->first_violation),
			 "%s (%u, %u, %u) after op %zu", what, a, b, c,
			 f->updates + f->deletes);
}

static void count_add(struct fmap *m, const void *key, int delta)
{
	uint32_t *v = fmap_get(m, key), n;

	n = (v ? *v : 0) + delta;
	if (n)
		fmap_put(m, key, &n);
	else
		fmap_del(m, key);
}

static uint32_t count_get(const struct fmap *m, const void *key)
{
	uint32_t *v = fmap_get(m, key);

	return v ? *v : 0;
}

static uint64_t ref_key(uint32_t sid, uint16_t rev)
{
	return (uint64_t)sid << 16 | rev;
}

static uint64_t pair_key(uint32_t sid, uint32_t bid)
{
	return (uint64_t)sid << 32 | bid;
}

/* Slot bookkeeping of one slot naming bid (delta +1 or -1). */
static void slot_ref(struct fake *f, const struct svcd_slot_key *sk,
		     const __u32 *bid, int delta)
{
	uint64_t pk = pair_key(sk->service_id, *bid);

	count_add(&f->slot_refs, bid, delta);
	count_add(&f->svc_slot_refs, &pk, delta);
}

static bool has_pair(const struct fake *f, uint32_t sid, uint32_t bid)
{
	struct svcd_affinity_match_key mk = { .service_id = sid,
					      .backend_id = bid };

	return fmap_get(&f->map[WMAP_AFFINITY_MATCH], &mk) != NULL;
}

/* Some frontend reads slot `slot` of (sid, rev). */
static bool slot_in_use(const struct fake *f, uint32_t sid, uint16_t rev,
			uint32_t slot)
{
	static const enum writer_map fe_maps[] = { WMAP_FRONTENDS,
						   WMAP_FRONTENDS6 };
	const struct svcd_frontend_value *v;
	uint64_t key = ref_key(sid, rev);
	size_t i, m;

	if (!count_get(&f->fe_refs, &key))
		return false;
	for (m = 0; m < 2; m++) {
		const struct fmap *fe = &f->map[fe_maps[m]];

		for (i = 0; i < fe->n; i++) {
			v = (const void *)(fe->vals + i * fe->vsz);
			if (v->service_id == sid && v->rev == rev &&
			    slot < v->slot_count)
				return true;
		}
	}
	return false;
}

/* A backend id is in one of the backends maps (ids are shared). */
static bool backend_any(const struct fake *f, const __u32 *bid)
{
	return fmap_get(&f->map[WMAP_BACKENDS], bid) ||
	       fmap_get(&f->map[WMAP_BACKENDS6], bid);
}

/* The frontends map and the backends map its slots' ids are read in. */
static enum writer_map backends_of(enum writer_map fe_map)
{
	return fe_map == WMAP_FRONTENDS6 ? WMAP_BACKENDS6 : WMAP_BACKENDS;
}

static void check_frontend_in(struct fake *f, enum writer_map fe_map,
			      const struct svcd_frontend_value *v)
{
	struct svcd_slot_key sk = { .service_id = v->service_id,
				    .rev = v->rev };
	__u32 *bid;

	for (sk.slot = 0; sk.slot < v->slot_count; sk.slot++) {
		bid = fmap_get(&f->map[WMAP_SLOTS], &sk);
		if (!bid) {
			violation(f, "frontend uses a missing slot",
				  sk.service_id, sk.rev, sk.slot);
			return;
		}
		if (!fmap_get(&f->map[backends_of(fe_map)], bid)) {
			violation(
				f,
				backend_any(f, bid) ?
					"frontend slot names a backend of the other family" :
					"frontend slot names a missing backend",
				sk.service_id, sk.slot, *bid);
			return;
		}
		if (v->affinity_timeout && !has_pair(f, v->service_id, *bid)) {
			violation(
				f,
				"affinity frontend's backend has no match pair",
				sk.service_id, sk.rev, *bid);
			return;
		}
	}
}

/* A match pair may send a client to its backend: it must be one. */
static void check_pair(struct fake *f, const struct svcd_affinity_match_key *mk)
{
	uint64_t pk = pair_key(mk->service_id, mk->backend_id);

	if (!backend_any(f, &mk->backend_id))
		violation(f, "match pair names a missing backend",
			  mk->service_id, mk->backend_id, 0);
	else if (!count_get(&f->svc_slot_refs, &pk))
		violation(
			f,
			"match pair names a backend no slot of its service holds",
			mk->service_id, mk->backend_id, 0);
}

/* The invariant over the whole maps. */
static void check_all(struct fake *f)
{
	const struct fmap *fe = &f->map[WMAP_FRONTENDS];
	const struct fmap *fe6 = &f->map[WMAP_FRONTENDS6];
	const struct fmap *be6 = &f->map[WMAP_BACKENDS6];
	const struct fmap *slots = &f->map[WMAP_SLOTS];
	const struct fmap *pairs = &f->map[WMAP_AFFINITY_MATCH];
	const struct svcd_slot_key *sk;
	size_t i;

	for (i = 0; i < fe->n; i++)
		check_frontend_in(f, WMAP_FRONTENDS,
				  (const void *)(fe->vals + i * fe->vsz));
	for (i = 0; i < fe6->n; i++)
		check_frontend_in(f, WMAP_FRONTENDS6,
				  (const void *)(fe6->vals + i * fe6->vsz));
	for (i = 0; i < pairs->n; i++)
		check_pair(f, (const void *)(pairs->keys + i * pairs->ksz));
	for (i = 0; i < slots->n; i++) {
		sk = (const void *)(slots->keys + i * slots->ksz);
		if (!backend_any(f,
				 (const void *)(slots->vals + i * slots->vsz)))
			violation(f, "slot names a missing backend",
				  sk->service_id, sk->rev, sk->slot);
	}
	for (i = 0; i < be6->n; i++)
		if (fmap_get(&f->map[WMAP_BACKENDS], be6->keys + i * be6->ksz))
			violation(f, "backend id in both families' maps",
				  *(const __u32 *)(be6->keys + i * be6->ksz), 0,
				  0);
}

static struct svcd_src_range_key range_key(const struct model_src_range *r)
{
	return (struct svcd_src_range_key){
		.prefixlen = 32 + r->len,
		.lb_addr = r->lb_addr,
		.src_addr = r->prefix,
	};
}

static struct svcd_src_range6_key range6_key(const struct model_src_range *r)
{
	return (struct svcd_src_range6_key){
		.prefixlen = 128 + r->len,
		.lb_addr = r->lb_addr6,
		.src_addr = r->prefix6,
	};
}

static const struct model_frontend *
want_frontend6(const struct model_state *want,
	       const struct svcd_frontend6_key *k)
{
	size_t i;

	for (i = 0; i < want->n_frontends; i++) {
		if (want->frontends[i].family == MODEL_IPV6 &&
		    !memcmp(&want->frontends[i].key6, k, sizeof(*k)))
			return &want->frontends[i];
	}
	return NULL;
}

/* The IPv6 twins of check_fe_ranges and check_range_delete. */
static void check_fe6_ranges(struct fake *f, const struct svcd_frontend6_key *k,
			     const struct svcd_frontend_value *v)
{
	const struct model_state *want = f->ranges_want;
	struct svcd_src_range6_key rk;
	size_t i;

	if (!want || !(v->flags & SVCD_FE_SRC_RANGES))
		return;
	for (i = 0; i < want->n_src_ranges; i++) {
		if (want->src_ranges[i].family != MODEL_IPV6)
			continue;
		rk = range6_key(&want->src_ranges[i]);
		if (!memcmp(&rk.lb_addr, &k->addr, sizeof(k->addr)) &&
		    !fmap_get(&f->map[WMAP_SRC_RANGES6], &rk))
			violation(
				f,
				"IPv6 frontend written before its source range",
				ntohl(rk.lb_addr.w[3]), ntohl(rk.src_addr.w[0]),
				rk.prefixlen - 128);
	}
}

static void check_range6_delete(struct fake *f,
				const struct svcd_src_range6_key *rk)
{
	const struct model_state *want = f->ranges_want;
	const struct fmap *fe = &f->map[WMAP_FRONTENDS6];
	const struct svcd_frontend_value *v;
	const struct svcd_frontend6_key *k;
	const struct model_frontend *mf;
	struct svcd_src_range6_key wk;
	size_t i;

	if (!want || !fmap_get(&f->map[WMAP_SRC_RANGES6], rk))
		return;
	for (i = 0; i < want->n_src_ranges; i++) {
		if (want->src_ranges[i].family != MODEL_IPV6)
			continue;
		wk = range6_key(&want->src_ranges[i]);
		if (!memcmp(&wk, rk, sizeof(wk)))
			violation(f, "wanted IPv6 source range deleted",
				  ntohl(rk->lb_addr.w[3]),
				  ntohl(rk->src_addr.w[0]),
				  rk->prefixlen - 128);
	}
	for (i = 0; i < fe->n; i++) {
		k = (const void *)(fe->keys + i * fe->ksz);
		v = (const void *)(fe->vals + i * fe->vsz);
		if (memcmp(&k->addr, &rk->lb_addr, sizeof(k->addr)) ||
		    !(v->flags & SVCD_FE_SRC_RANGES))
			continue;
		mf = want_frontend6(want, k);
		if (!mf || !(mf->flags & SVCD_FE_SRC_RANGES))
			violation(
				f,
				"IPv6 source range deleted while a frontend checks it",
				ntohl(rk->lb_addr.w[3]),
				ntohl(rk->src_addr.w[0]), rk->prefixlen - 128);
	}
}

static const struct model_frontend *
want_frontend(const struct model_state *want, const struct svcd_frontend_key *k)
{
	size_t i;

	for (i = 0; i < want->n_frontends; i++) {
		if (want->frontends[i].family == MODEL_IPV4 &&
		    !memcmp(&want->frontends[i].key, k, sizeof(*k)))
			return &want->frontends[i];
	}
	return NULL;
}

/* A frontend that checks source ranges is written after all of them. */
static void check_fe_ranges(struct fake *f, const struct svcd_frontend_key *k,
			    const struct svcd_frontend_value *v)
{
	const struct model_state *want = f->ranges_want;
	struct svcd_src_range_key rk;
	size_t i;

	if (!want || !(v->flags & SVCD_FE_SRC_RANGES))
		return;
	for (i = 0; i < want->n_src_ranges; i++) {
		if (want->src_ranges[i].family != MODEL_IPV4)
			continue;
		rk = range_key(&want->src_ranges[i]);
		if (rk.lb_addr == k->addr &&
		    !fmap_get(&f->map[WMAP_SRC_RANGES], &rk))
			violation(f, "frontend written before its source range",
				  ntohl(rk.lb_addr), ntohl(rk.src_addr),
				  rk.prefixlen - 32);
	}
}

/* A range goes only when no frontend still relies on it: none that the
 * desired state removes or takes off the ranges still checks them. */
static void check_range_delete(struct fake *f,
			       const struct svcd_src_range_key *rk)
{
	const struct model_state *want = f->ranges_want;
	const struct fmap *fe = &f->map[WMAP_FRONTENDS];
	const struct svcd_frontend_value *v;
	const struct svcd_frontend_key *k;
	const struct model_frontend *mf;
	struct svcd_src_range_key wk;
	size_t i;

	if (!want || !fmap_get(&f->map[WMAP_SRC_RANGES], rk))
		return;
	for (i = 0; i < want->n_src_ranges; i++) {
		if (want->src_ranges[i].family != MODEL_IPV4)
			continue;
		wk = range_key(&want->src_ranges[i]);
		if (!memcmp(&wk, rk, sizeof(wk)))
			violation(f, "wanted source range deleted",
				  ntohl(rk->lb_addr), ntohl(rk->src_addr),
				  rk->prefixlen - 32);
	}
	for (i = 0; i < fe->n; i++) {
		k = (const void *)(fe->keys + i * fe->ksz);
		v = (const void *)(fe->vals + i * fe->vsz);
		if (k->addr != rk->lb_addr || !(v->flags & SVCD_FE_SRC_RANGES))
			continue;
		mf = want_frontend(want, k);
		if (!mf || !(mf->flags & SVCD_FE_SRC_RANGES))
			violation(
				f,
				"source range deleted while a frontend checks it",
				ntohl(rk->lb_addr), ntohl(rk->src_addr),
				rk->prefixlen - 32);
	}
}

/* Operations after a crash or an injected failure do nothing. */
static int fake_fault(struct fake *f, bool update)
{
	size_t ops = f->updates + f->deletes;

	if (f->crash_after && ops > f->crash_after)
		return f->fail_err;
	if (update && f->fail_update_at && f->updates == f->fail_update_at)
		return f->fail_err;
	if (!update && f->fail_delete_at && f->deletes == f->fail_delete_at)
		return f->fail_err;
	return 0;
}

static int fake_update(void *ctx, enum writer_map map, const void *key,
		       const void *value)
{
	struct fake *f = ctx;
	const struct svcd_frontend_value *nv = value, *ov;
	const struct svcd_slot_key *sk = key;
	struct svcd_backend *ob;
	uint64_t rk;
	__u32 *obid;
	int err;

	f->updates++;
	err = fake_fault(f, true);
	if (err)
		return err;

	switch (map) {
	case WMAP_SLOTS:
		if (!backend_any(f, value))
			violation(f, "slot written with a missing backend",
				  sk->service_id, sk->slot,
				  *(const __u32 *)value);
		obid = fmap_get(&f->map[WMAP_SLOTS], key);
		if (obid && slot_in_use(f, sk->service_id, sk->rev, sk->slot))
			violation(f, "slot in use rewritten", sk->service_id,
				  sk->rev, sk->slot);
		if (!obid && f->map[map].cap &&
		    f->map[map].n >= f->map[map].cap)
			return -E2BIG;
		if (obid)
			slot_ref(f, sk, obid, -1);
		slot_ref(f, sk, value, 1);
		break;
	case WMAP_BACKENDS:
	case WMAP_BACKENDS6:
		ob = fmap_get(&f->map[map], key);
		if (ob && memcmp(ob, value, f->map[map].vsz) &&
		    (count_get(&f->slot_refs, key) ||
		     count_get(&f->match_refs, key)))
			violation(f, "backend in use changed",
				  *(const __u32 *)key, 0, 0);
		if (fmap_get(&f->map[map == WMAP_BACKENDS ? WMAP_BACKENDS6 :
							    WMAP_BACKENDS],
			     key))
			violation(f, "backend id written in both families",
				  *(const __u32 *)key, 0, 0);
		break;
	case WMAP_AFFINITY_MATCH:
		if (!fmap_get(&f->map[map], key) && f->map[map].cap &&
		    f->map[map].n >= f->map[map].cap)
			return -E2BIG;
		check_pair(f, key);
		if (!fmap_get(&f->map[map], key))
			count_add(&f->match_refs,
				  &((const struct svcd_affinity_match_key *)key)
					   ->backend_id,
				  1);
		break;
	case WMAP_FRONTENDS:
	case WMAP_FRONTENDS6:
		ov = fmap_get(&f->map[map], key);
		if (!ov && f->map[map].cap && f->map[map].n >= f->map[map].cap)
			return -E2BIG;
		if (ov && ov->slot_count) {
			rk = ref_key(ov->service_id, ov->rev);
			count_add(&f->fe_refs, &rk, -1);
		}
		if (nv->slot_count) {
			rk = ref_key(nv->service_id, nv->rev);
			count_add(&f->fe_refs, &rk, 1);
		}
		break;
	default:
		break;
	}
	err = fmap_put(&f->map[map], key, value);
	if (err)
		return err;
	if (map == WMAP_FRONTENDS) {
		check_frontend_in(f, map, nv);
		check_fe_ranges(f, key, nv);
	}
	if (map == WMAP_FRONTENDS6) {
		check_frontend_in(f, map, nv);
		check_fe6_ranges(f, key, nv);
	}
	if (f->full_check)
		check_all(f);
	return 0;
}

static int fake_delete(void *ctx, enum writer_map map, const void *key)
{
	struct fake *f = ctx;
	const struct svcd_slot_key *sk = key;
	const struct svcd_frontend_value *ov;
	uint64_t rk;
	__u32 *obid;
	int err;

	f->deletes++;
	err = fake_fault(f, false);
	if (err)
		return err;

	switch (map) {
	case WMAP_SLOTS:
		obid = fmap_get(&f->map[WMAP_SLOTS], key);
		if (obid && slot_in_use(f, sk->service_id, sk->rev, sk->slot))
			violation(f, "slot in use deleted", sk->service_id,
				  sk->rev, sk->slot);
		if (obid)
			slot_ref(f, sk, obid, -1);
		break;
	case WMAP_BACKENDS:
	case WMAP_BACKENDS6:
		if (count_get(&f->slot_refs, key))
			violation(f, "backend named by a slot deleted",
				  *(const __u32 *)key, 0, 0);
		if (count_get(&f->match_refs, key))
			violation(f, "backend named by a match pair deleted",
				  *(const __u32 *)key, 0, 0);
		break;
	case WMAP_SRC_RANGES:
		check_range_delete(f, key);
		break;
	case WMAP_SRC_RANGES6:
		check_range6_delete(f, key);
		break;
	case WMAP_AFFINITY_MATCH:
		if (fmap_get(&f->map[map], key))
			count_add(&f->match_refs,
				  &((const struct svcd_affinity_match_key *)key)
					   ->backend_id,
				  -1);
		break;
	case WMAP_FRONTENDS:
	case WMAP_FRONTENDS6:
		ov = fmap_get(&f->map[map], key);
		if (ov && ov->slot_count) {
			rk = ref_key(ov->service_id, ov->rev);
			count_add(&f->fe_refs, &rk, -1);
		}
		break;
	default:
		break;
	}
	err = fmap_del(&f->map[map], key);
	if (!err && f->full_check)
		check_all(f);
	return err;
}

static int fake_iterate(void *ctx, enum writer_map map,
			int (*fn)(const void *key, const void *value,
				  void *arg),
			void *arg)
{
	struct fake *f = ctx;
	struct fmap *m = &f->map[map];
	size_t i;
	int err;

	for (i = 0; i < m->n; i++) {
		err = fn(m->keys + i * m->ksz, m->vals + i * m->vsz, arg);
		if (err)
			return err;
	}
	return 0;
}

static const struct writer_ops fake_ops = {
	.update = fake_update,
	.delete = fake_delete,
	.iterate = fake_iterate,
};

/* A batch is its updates in order, each checked as one (the kernel's
 * generic batch); *done says how many went in before one failed. */
static int fake_update_batch(void *ctx, enum writer_map map, const void *keys,
			     const void *values, unsigned int n,
			     unsigned int *done)
{
	struct fake *f = ctx;
	int err;

	*done = 0;
	f->batches++;
	if (f->no_batches)
		return -EINVAL;
	for (; *done < n; (*done)++) {
		err = fake_update(
			ctx, map, (const char *)keys + *done * key_sizes[map],
			(const char *)values + *done * val_sizes[map]);
		if (f->updates < sizeof(f->in_batch))
			f->in_batch[f->updates] = true;
		if (err)
			return err;
		f->batched++;
	}
	return 0;
}

static const struct writer_ops fake_batch_ops = {
	.update = fake_update,
	.update_batch = fake_update_batch,
	.delete = fake_delete,
	.iterate = fake_iterate,
};

static const struct writer_limits limits = {
	.max_services = 64,
	.max_backends = 256,
};

static size_t fake_writes(const struct fake *f)
{
	return f->updates + f->deletes;
}

/* Insert without the checks (to plant state a crash left behind). */
static void fake_plant(struct fake *f, enum writer_map map, const void *key,
		       const void *value)
{
	const struct svcd_frontend_value *v = value;
	uint64_t rk;

	fmap_put(&f->map[map], key, value);
	if (map == WMAP_SLOTS)
		slot_ref(f, key, value, 1);
	if (map == WMAP_AFFINITY_MATCH)
		count_add(&f->match_refs,
			  &((const struct svcd_affinity_match_key *)key)
				   ->backend_id,
			  1);
	if ((map == WMAP_FRONTENDS || map == WMAP_FRONTENDS6) &&
	    v->slot_count) {
		rk = ref_key(v->service_id, v->rev);
		count_add(&f->fe_refs, &rk, 1);
	}
}

/* ---- desired states by hand -------------------------------------------- */

static __be32 ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	return htonl((uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 |
		     d);
}

static size_t add_set(struct model_state *s, const char *name,
		      const char *port_name, uint8_t proto, uint8_t which)
{
	struct model_set *ms;

	s->sets = xrealloc(s->sets, (s->n_sets + 1) * sizeof(*s->sets));
	ms = &s->sets[s->n_sets];
	memset(ms, 0, sizeof(*ms));
	snprintf(ms->name, sizeof(ms->name), "%s", name);
	snprintf(ms->port_name, sizeof(ms->port_name), "%s", port_name);
	ms->proto = proto;
	ms->set = which;
	return s->n_sets++;
}

static void add_backend(struct model_state *s, size_t set, __be32 addr,
			uint16_t port, uint8_t weight, uint8_t flags)
{
	struct model_set *ms = &s->sets[set];

	ms->backends = xrealloc(ms->backends,
				(ms->n_backends + 1) * sizeof(*ms->backends));
	ms->backends[ms->n_backends++] = (struct model_backend){
		.addr = addr,
		.port = htons(port),
		.weight = weight,
		.flags = flags,
	};
}

static struct svcd_frontend_key fkey(__be32 addr, uint16_t port, uint8_t proto,
				     uint8_t scope)
{
	return (struct svcd_frontend_key){
		.addr = addr,
		.port = htons(port),
		.proto = proto,
		.scope = scope,
	};
}

static void add_frontend(struct model_state *s, size_t set, __be32 addr,
			 uint16_t port, uint8_t scope, uint16_t flags)
{
	s->frontends = xrealloc(s->frontends,
				(s->n_frontends + 1) * sizeof(*s->frontends));
	s->frontends[s->n_frontends++] = (struct model_frontend){
		.key = fkey(addr, port, s->sets[set].proto, scope),
		.flags = flags,
		.set_index = set,
	};
}

static void state_free(struct model_state *s)
{
	size_t i;

	for (i = 0; i < s->n_sets; i++)
		free(s->sets[i].backends);
	free(s->sets);
	free(s->frontends);
	free(s->src_ranges);
	memset(s, 0, sizeof(*s));
}

/* A copy of n bytes of src; NULL for none (memcpy may not read NULL). */
static void *dup_bytes(const void *src, size_t n)
{
	void *dst;

	if (!n)
		return NULL;
	dst = xrealloc(NULL, n);
	memcpy(dst, src, n);
	return dst;
}

static void state_copy(struct model_state *dst, const struct model_state *src)
{
	size_t i;

	dst->n_sets = src->n_sets;
	dst->sets = dup_bytes(src->sets, src->n_sets * sizeof(*dst->sets));
	for (i = 0; i < src->n_sets; i++)
		dst->sets[i].backends = dup_bytes(
			src->sets[i].backends,
			src->sets[i].n_backends * sizeof(struct model_backend));
	dst->n_frontends = src->n_frontends;
	dst->frontends = dup_bytes(src->frontends,
				   src->n_frontends * sizeof(*dst->frontends));
	dst->n_src_ranges = src->n_src_ranges;
	dst->src_ranges = dup_bytes(
		src->src_ranges, src->n_src_ranges * sizeof(*dst->src_ranges));
}

static void add_src_range(struct model_state *s, __be32 lb, __be32 prefix,
			  uint8_t len)
{
	s->src_ranges = xrealloc(s->src_ranges, (s->n_src_ranges + 1) *
							sizeof(*s->src_ranges));
	s->src_ranges[s->n_src_ranges++] = (struct model_src_range){
		.lb_addr = lb,
		.prefix = prefix,
		.len = len,
	};
}

static void remove_backend(struct model_state *s, size_t set, __be32 addr)
{
	struct model_set *ms = &s->sets[set];
	size_t i;

	for (i = 0; i < ms->n_backends; i++) {
		if (ms->backends[i].addr != addr)
			continue;
		memmove(&ms->backends[i], &ms->backends[i + 1],
			(ms->n_backends - i - 1) * sizeof(*ms->backends));
		ms->n_backends--;
		return;
	}
}

static struct model_backend *find_backend(struct model_state *s, size_t set,
					  __be32 addr)
{
	size_t i;

	for (i = 0; i < s->sets[set].n_backends; i++) {
		if (s->sets[set].backends[i].addr == addr)
			return &s->sets[set].backends[i];
	}
	abort();
}

/* Drop a set and its frontends. */
static void remove_set(struct model_state *s, size_t set)
{
	size_t i, j = 0;

	for (i = 0; i < s->n_frontends; i++) {
		if (s->frontends[i].set_index == set)
			continue;
		s->frontends[j] = s->frontends[i];
		if (s->frontends[j].set_index > set)
			s->frontends[j].set_index--;
		j++;
	}
	s->n_frontends = j;
	free(s->sets[set].backends);
	memmove(&s->sets[set], &s->sets[set + 1],
		(s->n_sets - set - 1) * sizeof(*s->sets));
	s->n_sets--;
}

static void remove_frontend(struct model_state *s,
			    const struct svcd_frontend_key *key)
{
	size_t i;

	for (i = 0; i < s->n_frontends; i++) {
		if (!memcmp(&s->frontends[i].key, key, sizeof(*key))) {
			memmove(&s->frontends[i], &s->frontends[i + 1],
				(s->n_frontends - i - 1) *
					sizeof(*s->frontends));
			s->n_frontends--;
			return;
		}
	}
	abort();
}

static struct model_frontend *find_frontend(struct model_state *s,
					    const struct svcd_frontend_key *key)
{
	size_t i;

	for (i = 0; i < s->n_frontends; i++) {
		if (!memcmp(&s->frontends[i].key, key, sizeof(*key)))
			return &s->frontends[i];
	}
	abort();
}

/*
 * The reference picture: default/a:http (TCP, cluster set) with two
 * frontends, default/a:http's local set, default/b:dns (UDP), and
 * default/c (TCP, unnamed port, affinity) with weights 1:2:3.
 */
enum { SET_A, SET_A_LOCAL, SET_B, SET_C };

static void base_state(struct model_state *s)
{
	size_t a, al, b, c;

	memset(s, 0, sizeof(*s));
	a = add_set(s, "default/a", "http", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(s, a, ip4(198, 18, 1, 2), 8080, 1, SVCD_BE_LOCAL);
	add_backend(s, a, ip4(198, 18, 1, 3), 8080, 1, SVCD_BE_LOCAL);
	add_backend(s, a, ip4(198, 18, 2, 2), 8080, 1, 0);
	add_frontend(s, a, ip4(198, 19, 96, 10), 80, SVCD_SCOPE_INTERNAL,
		     SVCD_TYPE_CLUSTER_IP);
	add_frontend(s, a, ip4(198, 19, 0, 1), 30080, SVCD_SCOPE_INTERNAL,
		     SVCD_TYPE_NODE_PORT);

	al = add_set(s, "default/a", "http", IPPROTO_TCP, SVCD_SET_LOCAL);
	add_backend(s, al, ip4(198, 18, 1, 2), 8080, 1, SVCD_BE_LOCAL);
	add_backend(s, al, ip4(198, 18, 1, 3), 8080, 1, SVCD_BE_LOCAL);
	add_frontend(s, al, ip4(198, 19, 0, 1), 30080, SVCD_SCOPE_EXTERNAL,
		     SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY);

	b = add_set(s, "default/b", "dns", IPPROTO_UDP, SVCD_SET_CLUSTER);
	add_backend(s, b, ip4(198, 18, 1, 5), 53, 1, SVCD_BE_LOCAL);
	add_backend(s, b, ip4(198, 18, 2, 5), 53, 1, 0);
	add_frontend(s, b, ip4(198, 19, 96, 11), 53, SVCD_SCOPE_INTERNAL,
		     SVCD_TYPE_CLUSTER_IP);

	c = add_set(s, "default/c", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	s->sets[c].affinity_timeout = 10800;
	add_backend(s, c, ip4(198, 18, 1, 7), 9000, 1, SVCD_BE_LOCAL);
	add_backend(s, c, ip4(198, 18, 2, 7), 9000, 2, 0);
	add_backend(s, c, ip4(198, 18, 3, 7), 9000, 3, 0);
	add_frontend(s, c, ip4(198, 19, 96, 12), 9000, SVCD_SCOPE_INTERNAL,
		     SVCD_TYPE_CLUSTER_IP);
}

/* ---- checking the maps against a desired state ------------------------- */

static const struct svcd_frontend_value *
fe_get(const struct fake *f, const struct svcd_frontend_key *k)
{
	return fmap_get(&f->map[WMAP_FRONTENDS], k);
}

/* A backend of either family as the tests compare them. */
struct tbe {
	uint8_t family, proto, flags, pad;
	__be16 port;
	uint16_t pad2;
	union svcd_ip6 addr;
};

/* Backend bid from the backends map of family; false when absent. */
static bool tbe_get(const struct fake *f, int family, __u32 bid,
		    struct tbe *out)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	if (family == MODEL_IPV6) {
		const struct svcd_backend6 *b =
			fmap_get(&f->map[WMAP_BACKENDS6], &bid);

		if (!b)
			return false;
		out->addr = b->addr;
		out->port = b->port;
		out->proto = b->proto;
		out->flags = b->flags;
	} else {
		const struct svcd_backend *b =
			fmap_get(&f->map[WMAP_BACKENDS], &bid);

		if (!b)
			return false;
		out->addr.w[0] = b->addr;
		out->port = b->port;
		out->proto = b->proto;
		out->flags = b->flags;
	}
	return true;
}

static struct tbe tbe_of(const struct model_set *ms,
			 const struct model_backend *mb)
{
	struct tbe t;

	memset(&t, 0, sizeof(t));
	t.family = ms->family;
	if (ms->family == MODEL_IPV6)
		t.addr = mb->addr6;
	else
		t.addr.w[0] = mb->addr;
	t.port = mb->port;
	t.proto = ms->proto;
	t.flags = mb->flags;
	return t;
}

static bool backend_is(const struct tbe *b, const struct model_set *ms,
		       const struct model_backend *mb)
{
	struct tbe t = tbe_of(ms, mb);

	return !memcmp(b, &t, sizeof(t));
}

/* Index of the set with the same identity seen first, for duplicates. */
static bool set_is_first(const struct model_state *want, size_t i)
{
	const struct model_set *a = &want->sets[i], *b;
	size_t j;

	for (j = 0; j < i; j++) {
		b = &want->sets[j];
		if (!strcmp(a->name, b->name) &&
		    !strcmp(a->port_name, b->port_name) &&
		    a->proto == b->proto && a->set == b->set &&
		    a->family == b->family)
			return false;
	}
	return true;
}

/* The first set of want with identity (info, family), or NULL. */
static const struct model_set *set_named(const struct model_state *want,
					 const struct svcd_service *info,
					 int family)
{
	const struct model_set *ms;
	size_t i;

	for (i = 0; i < want->n_sets; i++) {
		ms = &want->sets[i];
		if (!strcmp(info->name, ms->name) &&
		    !strcmp(info->port_name, ms->port_name) &&
		    info->proto == ms->proto && info->set == ms->set &&
		    ms->family == family)
			return ms;
	}
	return NULL;
}

/*
 * Affinity match pairs: one per distinct backend of weight > 0 of each set
 * with a timeout, naming that set's service, and nothing else.
 */
static bool pairs_match(const struct fake *f, const struct model_state *want)
{
	const struct fmap *pairs = &f->map[WMAP_AFFINITY_MATCH];
	const struct svcd_affinity_match_key *mk;
	struct fmap seen = { .ksz = sizeof(struct tbe), .vsz = 1 };
	const struct svcd_service *info;
	const struct model_set *ms;
	struct tbe b;
	size_t i, k, want_pairs = 0;
	uint8_t one = 1;
	bool ok = true, found, have;

	for (i = 0; i < want->n_sets; i++) {
		ms = &want->sets[i];
		if (!set_is_first(want, i) || !ms->affinity_timeout)
			continue;
		for (k = 0; k < ms->n_backends; k++) {
			struct tbe key = tbe_of(ms, &ms->backends[k]);

			if (ms->backends[k].weight && !fmap_get(&seen, &key)) {
				fmap_put(&seen, &key, &one);
				want_pairs++;
			}
		}
		fmap_fini(&seen);
		memset(&seen, 0, sizeof(seen));
		seen.ksz = sizeof(struct tbe);
		seen.vsz = 1;
	}
	for (i = 0; i < pairs->n && ok; i++) {
		mk = (const void *)(pairs->keys + i * pairs->ksz);
		info = fmap_get(&f->map[WMAP_SERVICES], &mk->service_id);
		have = tbe_get(f, MODEL_IPV4, mk->backend_id, &b) ||
		       tbe_get(f, MODEL_IPV6, mk->backend_id, &b);
		ms = info && have ? set_named(want, info, b.family) : NULL;
		found = false;
		for (k = 0; ms && k < ms->n_backends && !found; k++)
			found = ms->backends[k].weight &&
				backend_is(&b, ms, &ms->backends[k]);
		if (!ms || !ms->affinity_timeout || !found) {
			test__log(
				"match pair (%u, %u) is not a backend of a set with affinity\n",
				mk->service_id, mk->backend_id);
			ok = false;
		}
	}
	if (pairs->n != want_pairs) {
		test__log("%zu match pairs in the map, want %zu\n", pairs->n,
			  want_pairs);
		ok = false;
	}
	return ok;
}

/* The value of the wanted frontend mf in its family's map. */
static const struct svcd_frontend_value *
fe_get_model(const struct fake *f, const struct model_frontend *mf)
{
	if (mf->family == MODEL_IPV6)
		return fmap_get(&f->map[WMAP_FRONTENDS6], &mf->key6);
	return fe_get(f, &mf->key);
}

/*
 * The maps hold exactly want: every frontend with its set's slot table in
 * the order slots_build gives (IPv6 frontends in the IPv6 maps, their
 * slots naming IPv6 backends), the set's identity in services, the
 * affinity match pairs of sets with a timeout, and nothing else (no extra
 * frontend, slot, backend, services entry or match pair).
 */
static bool maps_match(const struct fake *f, const struct model_state *want)
{
	static uint32_t idx[SVCD_MAX_SLOTS_PER_SERVICE];
	size_t i, k, n_slots, want_slots = 0, want_sets = 0;
	size_t want_backends[2] = { 0 }, want_fes[2] = { 0 };
	const struct svcd_frontend_value *v;
	const struct model_frontend *mf;
	const struct svcd_service *info;
	const struct model_set *ms;
	struct svcd_slot_key sk;
	struct fmap seen = { .ksz = sizeof(struct tbe), .vsz = 1 };
	uint8_t weights[256], one = 1;
	struct tbe b;
	__u32 *bid;
	bool ok = true;
	int fam;

	for (i = 0; i < want->n_sets; i++) {
		ms = &want->sets[i];
		if (!set_is_first(want, i))
			continue;
		want_sets++;
		for (k = 0; k < ms->n_backends; k++)
			weights[k] = ms->backends[k].weight;
		n_slots = slots_build(weights, ms->n_backends, idx,
				      SVCD_MAX_SLOTS_PER_SERVICE, NULL);
		want_slots += n_slots;
		for (k = 0; k < ms->n_backends; k++) {
			struct tbe key = tbe_of(ms, &ms->backends[k]);

			if (ms->backends[k].weight && !fmap_get(&seen, &key)) {
				fmap_put(&seen, &key, &one);
				want_backends[ms->family == MODEL_IPV6]++;
			}
		}
	}
	fmap_fini(&seen);
	memset(&seen, 0, sizeof(seen));
	seen.ksz = sizeof(struct tbe);
	seen.vsz = 1;

	for (i = 0; i < want->n_frontends && ok; i++) {
		mf = &want->frontends[i];
		ms = &want->sets[mf->set_index];
		want_fes[mf->family == MODEL_IPV6]++;
		v = fe_get_model(f, mf);
		if (!v) {
			test__log("frontend %zu missing\n", i);
			ok = false;
			break;
		}
		info = fmap_get(&f->map[WMAP_SERVICES], &v->service_id);
		if (!info || strcmp(info->name, ms->name) ||
		    strcmp(info->port_name, ms->port_name) ||
		    info->proto != ms->proto || info->set != ms->set) {
			test__log("frontend %zu: service %u is not %s:%s\n", i,
				  v->service_id, ms->name, ms->port_name);
			ok = false;
			break;
		}
		if (v->flags != mf->flags ||
		    v->affinity_timeout != ms->affinity_timeout) {
			test__log("frontend %zu: flags %#x affinity %u\n", i,
				  v->flags, v->affinity_timeout);
			ok = false;
		}
		for (k = 0; k < ms->n_backends; k++)
			weights[k] = ms->backends[k].weight;
		n_slots = slots_build(weights, ms->n_backends, idx,
				      SVCD_MAX_SLOTS_PER_SERVICE, NULL);
		if (v->slot_count != n_slots) {
			test__log("frontend %zu: %u slots, want %zu\n", i,
				  v->slot_count, n_slots);
			ok = false;
			break;
		}
		sk = (struct svcd_slot_key){ .service_id = v->service_id,
					     .rev = v->rev };
		for (k = 0; k < n_slots && ok; k++) {
			sk.slot = k;
			bid = fmap_get(&f->map[WMAP_SLOTS], &sk);
			if (!bid || !tbe_get(f, ms->family, *bid, &b) ||
			    !backend_is(&b, ms, &ms->backends[idx[k]])) {
				test__log("frontend %zu: slot %zu wrong\n", i,
					  k);
				ok = false;
			}
		}
	}
	for (fam = 0; fam < 2; fam++) {
		enum writer_map fm = fam ? WMAP_FRONTENDS6 : WMAP_FRONTENDS;
		enum writer_map bm = fam ? WMAP_BACKENDS6 : WMAP_BACKENDS;

		if (f->map[fm].n != want_fes[fam]) {
			test__log("%zu frontends in the IPv%d map, want %zu\n",
				  f->map[fm].n, fam ? 6 : 4, want_fes[fam]);
			ok = false;
		}
		if (f->map[bm].n != want_backends[fam]) {
			test__log("%zu backends in the IPv%d map, want %zu\n",
				  f->map[bm].n, fam ? 6 : 4,
				  want_backends[fam]);
			ok = false;
		}
		/* One entry per backend: sharing works. */
		for (i = 0; i < f->map[bm].n && ok; i++) {
			tbe_get(f, fam,
				*(const __u32 *)(f->map[bm].keys +
						 i * f->map[bm].ksz),
				&b);
			if (fmap_get(&seen, &b)) {
				test__log("backend stored twice\n");
				ok = false;
			}
			fmap_put(&seen, &b, &one);
		}
	}
	if (f->map[WMAP_SLOTS].n != want_slots) {
		test__log("%zu slots in the map, want %zu\n",
			  f->map[WMAP_SLOTS].n, want_slots);
		ok = false;
	}
	if (f->map[WMAP_SERVICES].n != want_sets) {
		test__log("%zu services in the map, want %zu\n",
			  f->map[WMAP_SERVICES].n, want_sets);
		ok = false;
	}
	fmap_fini(&seen);
	return pairs_match(f, want) && ok;
}

static bool no_violations(const struct fake *f)
{
	if (f->violations)
		test__log("first violation: %s\n", f->first_violation);
	return ASSERT_EQ(f->violations, 0, "invariant violations");
}

/* Backend id of addr:port in the maps (0: none). */
static __u32 backend_id(const struct fake *f, __be32 addr, uint16_t port)
{
	const struct fmap *m = &f->map[WMAP_BACKENDS];
	const struct svcd_backend *b;
	size_t i;

	for (i = 0; i < m->n; i++) {
		b = (const void *)(m->vals + i * m->vsz);
		if (b->addr == addr && b->port == htons(port))
			return *(const __u32 *)(m->keys + i * m->ksz);
	}
	return 0;
}

/* Slots of (sid, rev) that hold backend bid. */
static size_t slots_of(const struct fake *f,
		       const struct svcd_frontend_value *v, __u32 bid)
{
	struct svcd_slot_key sk = { .service_id = v->service_id,
				    .rev = v->rev };
	size_t n = 0;
	__u32 *b;

	for (sk.slot = 0; sk.slot < v->slot_count; sk.slot++) {
		b = fmap_get(&f->map[WMAP_SLOTS], &sk);
		n += b && *b == bid;
	}
	return n;
}

/* Run a sync with error lines silenced (tests that expect failures). */
static int sync_quiet(struct writer *w, const struct model_state *want,
		      struct writer_stats *st)
{
	int level = log_get_level(), err;

	log_set_level(-1);
	err = writer_sync(w, want, st);
	log_set_level(level);
	return err;
}

/* Run a sync and return what it printed on stderr (caller frees). */
static char *sync_capture(struct writer *w, const struct model_state *want,
			  struct writer_stats *st, int *err)
{
	FILE *tmp = tmpfile();
	int saved;
	char *out;
	long len;

	if (!tmp)
		abort();
	fflush(stderr);
	saved = dup(2);
	dup2(fileno(tmp), 2);
	*err = writer_sync(w, want, st);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	len = ftell(tmp);
	out = xrealloc(NULL, len + 1);
	rewind(tmp);
	len = fread(out, 1, len, tmp);
	out[len] = '\0';
	fclose(tmp);
	return out;
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ---- tests -------------------------------------------------------------- */

void test_writer_install(void)
{
	struct model_state want;
	struct writer_stats st;
	const struct svcd_frontend_value *v1, *v2;
	struct svcd_frontend_key k1, k2;
	struct writer *w;
	struct fake *f;
	size_t writes;

	f = fake_new();
	base_state(&want);
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new"))
		goto out;

	if (test__start_subtest("initial")) {
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		no_violations(f);
		ASSERT_EQ(st.services_added, 4, "services_added");
		ASSERT_EQ(st.frontends_added, 5, "frontends_added");
		/* a and a-local share two backends; b has 2, c has 3. */
		ASSERT_EQ(st.backends_added, 3 + 2 + 3, "backends_added");
		ASSERT_EQ(st.errors, 0, "errors");
		ASSERT_EQ(writer_service_count(w), 4, "service count");
		ASSERT_EQ(writer_backend_count(w), 8, "backend count");
	}
	if (test__start_subtest("two_frontends_one_set")) {
		k1 = fkey(ip4(198, 19, 96, 10), 80, IPPROTO_TCP,
			  SVCD_SCOPE_INTERNAL);
		k2 = fkey(ip4(198, 19, 0, 1), 30080, IPPROTO_TCP,
			  SVCD_SCOPE_INTERNAL);
		v1 = fe_get(f, &k1);
		v2 = fe_get(f, &k2);
		if (ASSERT_OK_PTR(v1, "clusterIP") &&
		    ASSERT_OK_PTR(v2, "nodePort")) {
			ASSERT_EQ(v1->service_id, v2->service_id, "same set");
			ASSERT_EQ(v1->rev, v2->rev, "same rev");
			ASSERT_EQ(v2->flags, SVCD_TYPE_NODE_PORT, "flags");
			ASSERT_GE(v1->service_id, 1, "id 0 is global");
		}
	}
	if (test__start_subtest("unchanged_writes_nothing")) {
		writes = fake_writes(f);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_EQ(fake_writes(f) - writes, 0, "map writes");
		ASSERT_EQ(st.services_updated + st.services_added, 0,
			  "updated");
	}
	writer_free(w);
out:
	state_free(&want);
	fake_free(f);
}

void test_writer_weights(void)
{
	struct model_state want = { 0 };
	const struct svcd_frontend_value *v;
	struct svcd_frontend_key k;
	struct writer *w;
	struct fake *f;
	size_t set;

	f = fake_new();
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new"))
		goto out;
	k = fkey(ip4(198, 19, 96, 20), 80, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	set = add_set(&want, "default/w", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(&want, set, ip4(198, 18, 1, 1), 80, 1, 0);
	add_backend(&want, set, ip4(198, 18, 1, 2), 80, 2, 0);
	add_backend(&want, set, ip4(198, 18, 1, 3), 80, 3, 0);
	add_frontend(&want, set, k.addr, 80, SVCD_SCOPE_INTERNAL, 0);

	if (test__start_subtest("1_2_3")) {
		ASSERT_OK(writer_sync(w, &want, NULL), "sync");
		v = fe_get(f, &k);
		if (ASSERT_OK_PTR(v, "frontend")) {
			ASSERT_EQ(v->slot_count, 6, "slots");
			ASSERT_EQ(
				slots_of(f, v,
					 backend_id(f, ip4(198, 18, 1, 1), 80)),
				1, "weight 1");
			ASSERT_EQ(
				slots_of(f, v,
					 backend_id(f, ip4(198, 18, 1, 2), 80)),
				2, "weight 2");
			ASSERT_EQ(
				slots_of(f, v,
					 backend_id(f, ip4(198, 18, 1, 3), 80)),
				3, "weight 3");
		}
	}
	if (test__start_subtest("2_4_6_same_table")) {
		size_t writes = fake_writes(f);

		want.sets[set].backends[0].weight = 2;
		want.sets[set].backends[1].weight = 4;
		want.sets[set].backends[2].weight = 6;
		ASSERT_OK(writer_sync(w, &want, NULL), "sync");
		v = fe_get(f, &k);
		if (ASSERT_OK_PTR(v, "frontend"))
			ASSERT_EQ(v->slot_count, 6, "slots after gcd");
		/* Same table as 1:2:3: nothing to write. */
		ASSERT_EQ(fake_writes(f) - writes, 0, "map writes");
	}
	no_violations(f);
	writer_free(w);
out:
	state_free(&want);
	fake_free(f);
}

void test_writer_backends(void)
{
	struct model_state want;
	struct writer_stats st;
	const struct svcd_frontend_value *v;
	struct svcd_frontend_key k;
	struct writer *w;
	struct fake *f;
	uint16_t rev;
	__u32 bid;

	f = fake_new();
	base_state(&want);
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new") ||
	    !ASSERT_OK(writer_sync(w, &want, NULL), "first sync"))
		goto out;
	k = fkey(ip4(198, 19, 96, 10), 80, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	rev = fe_get(f, &k)->rev;

	if (test__start_subtest("add")) {
		add_backend(&want, SET_A, ip4(198, 18, 3, 2), 8080, 1, 0);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		v = fe_get(f, &k);
		ASSERT_EQ(v->rev, (uint16_t)(rev + 1), "rev + 1");
		ASSERT_EQ(st.backends_added, 1, "backends_added");
		ASSERT_EQ(st.services_updated, 1, "services_updated");
		ASSERT_EQ(writer_backend_count(w), 9, "backend count");
		rev = v->rev;
	}
	if (test__start_subtest("remove")) {
		bid = backend_id(f, ip4(198, 18, 2, 2), 8080);
		remove_backend(&want, SET_A, ip4(198, 18, 2, 2));
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(st.backends_removed, 1, "backends_removed");
		ASSERT_FALSE(fmap_get(&f->map[WMAP_BACKENDS], &bid),
			     "backend entry gone");
		ASSERT_EQ(writer_backend_count(w), 8, "backend count");
	}
	if (test__start_subtest("reweight")) {
		find_backend(&want, SET_A, ip4(198, 18, 1, 2))->weight = 5;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(st.backends_added + st.backends_removed, 0,
			  "backends untouched");
		v = fe_get(f, &k);
		ASSERT_EQ(slots_of(f, v,
				   backend_id(f, ip4(198, 18, 1, 2), 8080)),
			  5, "five slots");
	}
	if (test__start_subtest("terminating_is_a_new_backend")) {
		find_backend(&want, SET_A, ip4(198, 18, 1, 3))->flags |=
			SVCD_BE_TERMINATING;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		/* a-local still uses the old entry of 198.18.1.3. */
		ASSERT_EQ(st.backends_added, 1, "backends_added");
		ASSERT_EQ(st.backends_removed, 0, "backends_removed");
	}
	if (test__start_subtest("to_empty_and_back")) {
		want.sets[SET_C].n_backends = 0;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "empty matches");
		k = fkey(ip4(198, 19, 96, 12), 9000, IPPROTO_TCP,
			 SVCD_SCOPE_INTERNAL);
		ASSERT_EQ(fe_get(f, &k)->slot_count, 0, "refuse");
		want.sets[SET_C].n_backends = 3;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "back");
	}
	no_violations(f);
out:
	writer_free(w);
	state_free(&want);
	fake_free(f);
}

void test_writer_shared_backend(void)
{
	struct model_state want = { 0 };
	struct writer_stats st;
	struct writer *w;
	struct fake *f;
	size_t s1, s2;
	__u32 bid;

	f = fake_new();
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new"))
		goto out;
	s1 = add_set(&want, "default/x", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(&want, s1, ip4(198, 18, 1, 9), 80, 1, 0);
	add_backend(&want, s1, ip4(198, 18, 1, 10), 80, 1, 0);
	add_frontend(&want, s1, ip4(198, 19, 96, 30), 80, SVCD_SCOPE_INTERNAL,
		     0);
	s2 = add_set(&want, "default/y", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(&want, s2, ip4(198, 18, 1, 9), 80, 1, 0);
	add_frontend(&want, s2, ip4(198, 19, 96, 31), 80, SVCD_SCOPE_INTERNAL,
		     0);

	ASSERT_OK(writer_sync(w, &want, &st), "sync");
	ASSERT_TRUE(maps_match(f, &want), "maps match");
	ASSERT_EQ(writer_backend_count(w), 2, "one entry shared");
	bid = backend_id(f, ip4(198, 18, 1, 9), 80);

	remove_backend(&want, s1, ip4(198, 18, 1, 9));
	ASSERT_OK(writer_sync(w, &want, &st), "sync");
	ASSERT_TRUE(maps_match(f, &want), "maps match");
	ASSERT_EQ(backend_id(f, ip4(198, 18, 1, 9), 80), bid, "kept for y");
	ASSERT_EQ(st.backends_removed, 0, "nothing removed");

	remove_backend(&want, s2, ip4(198, 18, 1, 9));
	ASSERT_OK(writer_sync(w, &want, &st), "sync");
	ASSERT_TRUE(maps_match(f, &want), "maps match");
	ASSERT_EQ(backend_id(f, ip4(198, 18, 1, 9), 80), 0, "gone");
	ASSERT_EQ(st.backends_removed, 1, "removed once");
	no_violations(f);
	writer_free(w);
out:
	state_free(&want);
	fake_free(f);
}

void test_writer_remove_service(void)
{
	struct model_state want;
	struct writer_stats st;
	struct svcd_frontend_key k;
	struct writer *w;
	struct fake *f;
	__u32 sid_c, sid_new;
	size_t set;

	f = fake_new();
	base_state(&want);
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new") ||
	    !ASSERT_OK(writer_sync(w, &want, NULL), "first sync"))
		goto out;
	k = fkey(ip4(198, 19, 96, 12), 9000, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	sid_c = fe_get(f, &k)->service_id;

	/* c goes and d comes in the same sync: d must not get c's id. */
	remove_set(&want, SET_C);
	set = add_set(&want, "default/d", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(&want, set, ip4(198, 18, 4, 4), 80, 1, 0);
	add_frontend(&want, set, ip4(198, 19, 96, 40), 80, SVCD_SCOPE_INTERNAL,
		     0);
	ASSERT_OK(writer_sync(w, &want, &st), "sync");
	ASSERT_TRUE(maps_match(f, &want), "maps match");
	ASSERT_EQ(st.services_removed, 1, "services_removed");
	ASSERT_EQ(st.services_added, 1, "services_added");
	ASSERT_EQ(st.frontends_removed, 1, "frontends_removed");
	ASSERT_EQ(st.backends_removed, 3, "backends_removed");
	ASSERT_FALSE(fmap_get(&f->map[WMAP_SERVICES], &sid_c), "entry gone");
	k = fkey(ip4(198, 19, 96, 40), 80, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	ASSERT_NEQ(fe_get(f, &k)->service_id, sid_c,
		   "freed id not reused at once");
	ASSERT_EQ(writer_service_count(w), 4, "service count");

	/* The next sync may reuse it. */
	set = add_set(&want, "default/e", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(&want, set, ip4(198, 18, 4, 5), 80, 1, 0);
	add_frontend(&want, set, ip4(198, 19, 96, 41), 80, SVCD_SCOPE_INTERNAL,
		     0);
	ASSERT_OK(writer_sync(w, &want, &st), "sync");
	k = fkey(ip4(198, 19, 96, 41), 80, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	sid_new = fe_get(f, &k)->service_id;
	ASSERT_EQ(sid_new, sid_c, "lowest free id reused later");

	/* Everything goes. */
	state_free(&want);
	ASSERT_OK(writer_sync(w, &want, &st), "sync to empty");
	ASSERT_EQ(f->map[WMAP_FRONTENDS].n + f->map[WMAP_SLOTS].n +
			  f->map[WMAP_BACKENDS].n + f->map[WMAP_SERVICES].n,
		  0, "maps empty");
	ASSERT_EQ(writer_service_count(w) + writer_backend_count(w), 0,
		  "mirror empty");
	no_violations(f);
out:
	writer_free(w);
	state_free(&want);
	fake_free(f);
}

void test_writer_frontend_changes(void)
{
	struct model_state want;
	struct writer_stats st;
	struct svcd_frontend_key k;
	struct writer *w;
	struct fake *f;
	size_t ups, dels;
	__u32 sid_a, sid_c;

	f = fake_new();
	base_state(&want);
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new") ||
	    !ASSERT_OK(writer_sync(w, &want, NULL), "first sync"))
		goto out;
	k = fkey(ip4(198, 19, 0, 1), 30080, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	sid_a = fe_get(f, &k)->service_id;

	if (test__start_subtest("moved")) {
		find_frontend(&want, &k)->set_index = SET_C;
		ups = f->updates;
		dels = f->deletes;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(f->updates - ups, 1, "one update");
		ASSERT_EQ(f->deletes - dels, 0, "no delete");
		sid_c = fe_get(f, &k)->service_id;
		ASSERT_NEQ(sid_c, sid_a, "points at c");
		ASSERT_EQ(fe_get(f, &k)->affinity_timeout, 10800,
			  "c's affinity");
	}
	if (test__start_subtest("flags")) {
		find_frontend(&want, &k)->flags |= SVCD_FE_EMPTY_DROP;
		ups = f->updates;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(f->updates - ups, 1, "one update");
	}
	if (test__start_subtest("affinity")) {
		want.sets[SET_A].affinity_timeout = 60;
		ups = f->updates;
		dels = f->deletes;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		/* a's three match pairs, then its one frontend left (the
		 * other moved to c); the fake checks the order. */
		ASSERT_EQ(f->updates - ups, 4, "three pairs, one frontend");
		ASSERT_EQ(f->deletes - dels, 0, "no delete");
	}
	if (test__start_subtest("removed_frontend")) {
		remove_frontend(&want, &k);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(st.frontends_removed, 1, "frontends_removed");
		ASSERT_FALSE(fe_get(f, &k), "gone");
	}
	if (test__start_subtest("set_without_frontends")) {
		/* b loses its only frontend: the set stays installed. */
		remove_frontend(&want,
				&want.frontends[want.n_frontends - 2].key);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
	}
	no_violations(f);
out:
	writer_free(w);
	state_free(&want);
	fake_free(f);
}

/* Frontend values of the maps, to compare ids before and after. */
static bool same_frontends(const struct fake *f, const struct fmap *before)
{
	size_t i;
	const void *v;

	if (before->n != f->map[WMAP_FRONTENDS].n)
		return false;
	for (i = 0; i < before->n; i++) {
		v = fe_get(f, (const void *)(before->keys + i * before->ksz));
		if (!v ||
		    memcmp(v, before->vals + i * before->vsz, before->vsz))
			return false;
	}
	return true;
}

void test_writer_restart(void)
{
	struct fmap before = { .ksz = sizeof(struct svcd_frontend_key),
			       .vsz = sizeof(struct svcd_frontend_value) };
	struct model_state want, next;
	struct writer_stats st;
	struct writer *w, *w2;
	struct fake *f;
	size_t i, writes, ops;

	f = fake_new();
	base_state(&want);
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new") ||
	    !ASSERT_OK(writer_sync(w, &want, NULL), "first sync")) {
		writer_free(w);
		goto out;
	}
	/* Make revisions non-zero so a rebuild would show. */
	add_backend(&want, SET_A, ip4(198, 18, 5, 5), 8080, 1, 0);
	ASSERT_OK(writer_sync(w, &want, NULL), "second sync");
	writer_free(w);
	for (i = 0; i < f->map[WMAP_FRONTENDS].n; i++)
		fmap_put(&before, f->map[WMAP_FRONTENDS].keys + i * 8,
			 f->map[WMAP_FRONTENDS].vals + i * 16);

	if (test__start_subtest("unchanged")) {
		w2 = writer_new(&fake_ops, f, &limits);
		if (ASSERT_OK_PTR(w2, "writer_new")) {
			ASSERT_EQ(writer_service_count(w2), 4,
				  "services loaded");
			ASSERT_EQ(writer_backend_count(w2), 9,
				  "backends loaded");
			writes = fake_writes(f);
			ASSERT_OK(writer_sync(w2, &want, &st), "sync");
			ASSERT_EQ(fake_writes(f) - writes, 0, "map writes");
			ASSERT_TRUE(same_frontends(f, &before),
				    "ids identical");
			/* And it goes on working from there. */
			remove_backend(&want, SET_A, ip4(198, 18, 5, 5));
			ASSERT_OK(writer_sync(w2, &want, &st), "sync");
			ASSERT_TRUE(maps_match(f, &want), "maps match");
			ASSERT_EQ(st.backends_removed, 1, "backends_removed");
		}
		writer_free(w2);
	}
	if (test__start_subtest("leftovers_cleaned")) {
		/* What a crash can leave: orphan slots, a stray backend, a
		 * frontend naming a missing service, a services entry alone. */
		struct svcd_slot_key sk = { .service_id = 40, .rev = 3 };
		struct svcd_service lone = { .name = "gone/svc", .proto = 6 };
		struct svcd_backend stray = { .addr = ip4(198, 18, 9, 9),
					      .port = htons(1),
					      .proto = 6 };
		struct svcd_frontend_key fk =
			fkey(ip4(198, 19, 96, 99), 1, IPPROTO_TCP, 0);
		struct svcd_frontend_value fv = { .service_id = 50 };
		__u32 id = 200, lone_id = 41;

		f->full_check = false; /* planted state breaks it on purpose */
		fake_plant(f, WMAP_BACKENDS, &id, &stray);
		fake_plant(f, WMAP_SLOTS, &sk, &id);
		fake_plant(f, WMAP_SERVICES, &lone_id, &lone);
		fake_plant(f, WMAP_FRONTENDS, &fk, &fv);
		w2 = writer_new(&fake_ops, f, &limits);
		if (ASSERT_OK_PTR(w2, "writer_new")) {
			ASSERT_OK(writer_sync(w2, &want, &st), "sync");
			ASSERT_TRUE(maps_match(f, &want), "maps match");
			writes = fake_writes(f);
			ASSERT_OK(writer_sync(w2, &want, &st), "sync again");
			ASSERT_EQ(fake_writes(f) - writes, 0, "map writes");
		}
		writer_free(w2);
		f->full_check = true;
	}
	if (test__start_subtest("crash_at_every_op")) {
		/* svcd killed after op N of a big change, then restarted. */
		struct fake *probe = fake_new();
		size_t n, failed = 0;

		state_copy(&next, &want);
		find_backend(&next, SET_A, ip4(198, 18, 1, 2))->weight = 3;
		add_backend(&next, SET_C, ip4(198, 18, 6, 6), 9000, 1, 0);
		find_frontend(&next, &want.frontends[0].key)->set_index = SET_C;
		remove_backend(&next, SET_C, ip4(198, 18, 1, 7));
		next.sets[SET_A].affinity_timeout = 30;
		remove_set(&next, SET_B); /* last: it renumbers the sets */
		w = writer_new(&fake_ops, probe, &limits);
		writer_sync(w, &want, NULL);
		ops = fake_writes(probe);
		writer_sync(w, &next, NULL);
		ops = fake_writes(probe) - ops;
		writer_free(w);
		fake_free(probe);

		for (n = 0; n < ops; n++) {
			struct fake *c = fake_new();
			struct writer *w3;

			w = writer_new(&fake_ops, c, &limits);
			writer_sync(w, &want, NULL);
			c->crash_after = fake_writes(c) + n;
			sync_quiet(w, &next, NULL);
			writer_free(w);
			c->crash_after = 0;
			w3 = writer_new(&fake_ops, c, &limits);
			if (!w3 || writer_sync(w3, &next, NULL) ||
			    !maps_match(c, &next) || c->violations) {
				test__log("crash after op %zu: %s\n", n,
					  c->first_violation);
				failed++;
			}
			writer_free(w3);
			fake_free(c);
		}
		ASSERT_GT(ops, 10, "ops in the change");
		ASSERT_EQ(failed, 0, "restarts that did not converge");
		state_free(&next);
	}
	no_violations(f);
out:
	fmap_fini(&before);
	state_free(&want);
	fake_free(f);
}

/*
 * Map full at each step. From base_state, the next state changes b first
 * (one backend more: applies), then a (three backends more, one frontend
 * more: fails when the map is limited) and adds d (fails too). The
 * expected maps: next with a as before and without d.
 */
static void full_states(struct model_state *base, struct model_state *next,
			struct model_state *expect)
{
	size_t d;

	base_state(base);
	state_copy(next, base);
	/* b before a, so the one that fits is written first. */
	add_backend(next, SET_B, ip4(198, 18, 3, 5), 53, 1, 0);
	add_backend(next, SET_A, ip4(198, 18, 3, 2), 8080, 1, 0);
	add_backend(next, SET_A, ip4(198, 18, 3, 3), 8080, 1, 0);
	add_backend(next, SET_A, ip4(198, 18, 3, 4), 8080, 1, 0);
	d = add_set(next, "default/d", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(next, d, ip4(198, 18, 4, 4), 80, 1, 0);
	add_backend(next, d, ip4(198, 18, 4, 5), 80, 1, 0);
	add_frontend(next, d, ip4(198, 19, 96, 40), 80, SVCD_SCOPE_INTERNAL, 0);
	/* a's frontends: the existing ones first, then a new one. */
	add_frontend(next, SET_A, ip4(198, 19, 96, 50), 80, SVCD_SCOPE_INTERNAL,
		     0);
	{
		/* Move set b to the front of the list. */
		struct model_set tmp = next->sets[SET_B];
		size_t i;

		memmove(&next->sets[1], &next->sets[0], 2 * sizeof(tmp));
		next->sets[0] = tmp;
		for (i = 0; i < next->n_frontends; i++) {
			size_t *si = &next->frontends[i].set_index;

			*si = *si == SET_B ? 0 : *si < SET_B ? *si + 1 : *si;
		}
	}
	state_copy(expect, base);
	add_backend(expect, SET_B, ip4(198, 18, 3, 5), 53, 1, 0);
}

void test_writer_map_full(void)
{
	static const struct {
		const char *name;
		enum writer_map map;
		int room; /* entries beyond what base_state uses */
		bool a_fails;
		enum svcd_shortfall_map sf;
	} cases[] = {
		/* b needs one backend more; a three, d two. */
		{ "backends", WMAP_BACKENDS, 1, true, SVCD_SF_BACKENDS },
		/* b's new table needs 3 slots while its old one is live. */
		{ "slots", WMAP_SLOTS, 3, true, SVCD_SF_SLOTS },
		/* d needs a services entry. */
		{ "services", WMAP_SERVICES, 0, false, SVCD_SF_SERVICES },
		/* a and d each need one frontend more. */
		{ "frontends", WMAP_FRONTENDS, 0, true, SVCD_SF_FRONTENDS },
	};
	size_t k;
	struct model_state base, next, expect;
	struct writer_stats st;
	struct writer *w;
	struct fake *f;
	size_t i, d;
	char *log;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!test__start_subtest(cases[i].name))
			continue;
		full_states(&base, &next, &expect);
		if (!cases[i].a_fails) {
			state_free(&expect);
			state_copy(&expect, &next);
			d = expect.n_sets - 1;
			remove_set(&expect, d);
		}
		f = fake_new();
		w = writer_new(&fake_ops, f, &limits);
		ASSERT_OK(writer_sync(w, &base, NULL), "first sync");
		f->map[cases[i].map].cap =
			f->map[cases[i].map].n + cases[i].room;

		log = sync_capture(w, &next, &st, &err);
		ASSERT_EQ(err, -E2BIG, "first error");
		ASSERT_EQ(st.errors, cases[i].a_fails ? 2 : 1, "errors");
		/* counted by map for the sync's one line; each set's own
		 * line is at debug level */
		ASSERT_EQ(count_lines(log), 0, "no line per set");
		ASSERT_EQ(st.full[cases[i].sf], st.errors, "counted full");
		for (k = 0; k < SVCD_SF_COUNT; k++)
			if (k != cases[i].sf)
				ASSERT_EQ(st.full[k], 0, "no other map");
		ASSERT_STREQ(st.full_first[cases[i].sf],
			     cases[i].a_fails ? "default/a:http/TCP" :
						"default/d/TCP",
			     "the first set named");
		if (!maps_match(f, &expect))
			test__log("stderr: %s", log);
		ASSERT_TRUE(maps_match(f, &expect), "old a, new b, no d");
		no_violations(f);
		free(log);

		/* Room again: everything applies, from the same mirror. */
		f->map[cases[i].map].cap = 0;
		ASSERT_OK(writer_sync(w, &next, &st), "sync with room");
		ASSERT_TRUE(maps_match(f, &next), "all applied");
		no_violations(f);
		writer_free(w);
		fake_free(f);
		state_free(&base);
		state_free(&next);
		state_free(&expect);
	}
}

/*
 * A set that fails after writing part of its table gives the room back at
 * once: a later set in the same sync fits in it.
 */
void test_writer_full_undo(void)
{
	struct model_state base, next, expect;
	struct writer_stats st;
	struct svcd_frontend_key k;
	struct writer *w;
	struct fake *f;
	size_t d;

	base_state(&base);
	f = fake_new();
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new") ||
	    !ASSERT_OK(writer_sync(w, &base, NULL), "first sync"))
		goto out_free;

	if (test__start_subtest("room_given_back")) {
		/* a: 3 -> 6 slots (fails after 4), then b: 2 -> 3 slots. */
		state_copy(&next, &base);
		add_backend(&next, SET_A, ip4(198, 18, 3, 2), 8080, 1, 0);
		add_backend(&next, SET_A, ip4(198, 18, 3, 3), 8080, 1, 0);
		add_backend(&next, SET_A, ip4(198, 18, 3, 4), 8080, 1, 0);
		add_backend(&next, SET_B, ip4(198, 18, 3, 5), 53, 1, 0);
		state_copy(&expect, &base);
		add_backend(&expect, SET_B, ip4(198, 18, 3, 5), 53, 1, 0);
		f->map[WMAP_SLOTS].cap = f->map[WMAP_SLOTS].n + 4;
		ASSERT_EQ(sync_quiet(w, &next, &st), -E2BIG, "error");
		ASSERT_EQ(st.errors, 1, "only a failed");
		ASSERT_TRUE(maps_match(f, &expect), "old a, new b");
		f->map[WMAP_SLOTS].cap = 0;
		ASSERT_OK(writer_sync(w, &next, NULL), "with room");
		ASSERT_TRUE(maps_match(f, &next), "all applied");
		state_free(&base);
		state_copy(&base, &next);
		state_free(&next);
		state_free(&expect);
	}
	if (test__start_subtest("moved_to_failed_set")) {
		/* c changes and its frontend moves to a new set d that does
		 * not fit: the frontend stays with c, at c's new version. */
		state_copy(&next, &base);
		add_backend(&next, SET_C, ip4(198, 18, 6, 7), 9000, 1, 0);
		d = add_set(&next, "default/d", "", IPPROTO_TCP,
			    SVCD_SET_CLUSTER);
		add_backend(&next, d, ip4(198, 18, 6, 8), 9000, 1, 0);
		next.sets[d].affinity_timeout = 10800;
		k = fkey(ip4(198, 19, 96, 12), 9000, IPPROTO_TCP,
			 SVCD_SCOPE_INTERNAL);
		find_frontend(&next, &k)->set_index = d;
		state_copy(&expect, &next);
		find_frontend(&expect, &k)->set_index = SET_C;
		remove_set(&expect, d);
		f->map[WMAP_SERVICES].cap = f->map[WMAP_SERVICES].n;
		ASSERT_EQ(sync_quiet(w, &next, &st), -E2BIG, "error");
		ASSERT_TRUE(maps_match(f, &expect), "frontend on new c");
		f->map[WMAP_SERVICES].cap = 0;
		ASSERT_OK(writer_sync(w, &next, NULL), "with room");
		ASSERT_TRUE(maps_match(f, &next), "all applied");
		state_free(&next);
		state_free(&expect);
	}
	no_violations(f);
out_free:
	writer_free(w);
	state_free(&base);
	fake_free(f);
}

/* A transition touching every path: used by the failure injection tests. */
static void big_change(struct model_state *from, struct model_state *to)
{
	size_t d;

	base_state(from);
	state_copy(to, from);
	add_backend(to, SET_A, ip4(198, 18, 3, 2), 8080, 2, 0);
	remove_backend(to, SET_A, ip4(198, 18, 2, 2));
	remove_backend(to, SET_B, ip4(198, 18, 2, 5));
	add_backend(to, SET_B, ip4(198, 18, 3, 5), 53, 1, 0);
	find_backend(to, SET_C, ip4(198, 18, 2, 7))->weight = 7;
	/* Affinity: c loses a backend (its match pair goes), a gets a
	 * timeout (pairs for all of a's new table). */
	remove_backend(to, SET_C, ip4(198, 18, 3, 7));
	to->sets[SET_A].affinity_timeout = 60;
	/* a's nodePort moves to c; a-local's frontend goes; d comes. */
	find_frontend(to, &from->frontends[1].key)->set_index = SET_C;
	remove_frontend(to, &from->frontends[2].key);
	d = add_set(to, "default/d", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(to, d, ip4(198, 18, 1, 2), 8080, 1, SVCD_BE_LOCAL);
	add_frontend(to, d, ip4(198, 19, 96, 40), 80, SVCD_SCOPE_INTERNAL, 0);
	add_frontend(to, d, ip4(198, 19, 96, 41), 80, SVCD_SCOPE_INTERNAL, 0);
	/* a-local loses its last frontend and goes. */
	remove_set(to, SET_A_LOCAL);
}

/* Each update (or delete) of from -> to failing in turn: every failure
 * reported, the invariants kept, the mirror exact. */
static void fail_each_states(const struct model_state *from_p,
			     const struct model_state *to_p, bool deletes)
{
	const struct model_state from = *from_p, to = *to_p;
	struct fake *probe, *f;
	struct writer *w;
	size_t n, ops, failed = 0, errs = 0;
	int err;

	probe = fake_new();
	w = writer_new(&fake_ops, probe, &limits);
	writer_sync(w, &from, NULL);
	ops = deletes ? probe->deletes : probe->updates;
	writer_sync(w, &to, NULL);
	ops = (deletes ? probe->deletes : probe->updates) - ops;
	writer_free(w);
	fake_free(probe);
	ASSERT_GT(ops, 5, "operations in the change");

	for (n = 1; n <= ops; n++) {
		f = fake_new();
		w = writer_new(&fake_ops, f, &limits);
		writer_sync(w, &from, NULL);
		f->ranges_want = to_p;
		if (deletes)
			f->fail_delete_at = f->deletes + n;
		else
			f->fail_update_at = f->updates + n;
		err = sync_quiet(w, &to, NULL);
		errs += err == -EIO;
		f->fail_delete_at = f->fail_update_at = 0;
		/* The mirror must still be exact: the next sync converges
		 * and the one after writes nothing. */
		if (f->violations || writer_sync(w, &to, NULL) ||
		    !maps_match(f, &to)) {
			test__log("failing op %zu: %s\n", n,
				  f->first_violation);
			failed++;
		} else {
			size_t writes = fake_writes(f);

			writer_sync(w, &to, NULL);
			if (fake_writes(f) != writes) {
				test__log("failing op %zu: mirror off\n", n);
				failed++;
			}
		}
		writer_free(w);
		fake_free(f);
	}
	ASSERT_EQ(errs, ops, "every injected failure reported");
	ASSERT_EQ(failed, 0, "cases that broke an invariant or diverged");
}

static void fail_each(bool deletes)
{
	struct model_state from, to;

	big_change(&from, &to);
	fail_each_states(&from, &to, deletes);
	state_free(&from);
	state_free(&to);
}

void test_writer_fail_nth(void)
{
	if (test__start_subtest("update"))
		fail_each(false);
	if (test__start_subtest("delete"))
		fail_each(true);
	if (test__start_subtest("first_install")) {
		struct model_state want;
		size_t n, failed = 0;

		base_state(&want);
		for (n = 1; n <= 30; n++) {
			struct fake *f = fake_new();
			struct writer *w = writer_new(&fake_ops, f, &limits);

			f->fail_update_at = n;
			sync_quiet(w, &want, NULL);
			f->fail_update_at = 0;
			if (f->violations || writer_sync(w, &want, NULL) ||
			    !maps_match(f, &want))
				failed++;
			writer_free(w);
			fake_free(f);
		}
		ASSERT_EQ(failed, 0, "cases that diverged");
		state_free(&want);
	}
}

/* ---- session affinity: match pairs ------------------------------------- */

/* Match pairs of service sid in the maps. */
static size_t pairs_of(const struct fake *f, __u32 sid)
{
	const struct fmap *m = &f->map[WMAP_AFFINITY_MATCH];
	const struct svcd_affinity_match_key *mk;
	size_t i, n = 0;

	for (i = 0; i < m->n; i++) {
		mk = (const void *)(m->keys + i * m->ksz);
		n += mk->service_id == sid;
	}
	return n;
}

static __u32 sid_of(const struct fake *f, __be32 addr, uint16_t port)
{
	struct svcd_frontend_key k =
		fkey(addr, port, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	const struct svcd_frontend_value *v = fe_get(f, &k);

	return v ? v->service_id : 0;
}

/*
 * The fake checks the order after every operation (a frontend with a
 * timeout never uses a backend without its pair; a pair never outlives
 * every slot of its backend in its service, nor the backend); these cases
 * check what is there after each sync, and what the sync wrote.
 */
void test_writer_affinity(void)
{
	struct model_state want, next;
	struct writer_stats st;
	struct writer *w, *w2;
	struct fake *f;
	size_t ups, dels, writes;
	__u32 sid_a, sid_c, bid, bid2;
	char *log;
	int err;

	base_state(&want);
	f = fake_new();
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new") ||
	    !ASSERT_OK(writer_sync(w, &want, NULL), "first sync"))
		goto out;
	sid_a = sid_of(f, ip4(198, 19, 96, 10), 80);
	sid_c = sid_of(f, ip4(198, 19, 96, 12), 9000);

	if (test__start_subtest("install")) {
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(pairs_of(f, sid_c), 3, "c: one pair per backend");
		ASSERT_EQ(pairs_of(f, sid_a), 0, "a: no timeout, no pair");
		ASSERT_TRUE(has_pair(f, sid_c,
				     backend_id(f, ip4(198, 18, 3, 7), 9000)),
			    "c's weight-3 backend has a pair");
	}
	if (test__start_subtest("backend_added")) {
		add_backend(&want, SET_C, ip4(198, 18, 4, 7), 9000, 1, 0);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		bid = backend_id(f, ip4(198, 18, 4, 7), 9000);
		ASSERT_TRUE(has_pair(f, sid_c, bid), "new backend's pair");
		ASSERT_EQ(pairs_of(f, sid_c), 4, "c: 4 pairs");
	}
	if (test__start_subtest("backend_removed")) {
		bid = backend_id(f, ip4(198, 18, 4, 7), 9000);
		remove_backend(&want, SET_C, ip4(198, 18, 4, 7));
		dels = f->deletes;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_FALSE(has_pair(f, sid_c, bid), "its pair is gone");
		ASSERT_EQ(backend_id(f, ip4(198, 18, 4, 7), 9000), 0,
			  "and the backend");
		ASSERT_EQ(st.backends_removed, 1, "backends_removed");
		/* 1 pair, old table's 7 slots (1+2+3+1), 1 backend */
		ASSERT_EQ(f->deletes - dels, 9, "deletes");
	}
	if (test__start_subtest("shared_backend")) {
		/* a's local backend joins c (same address and port). */
		add_backend(&want, SET_C, ip4(198, 18, 1, 2), 8080, 1,
			    SVCD_BE_LOCAL);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		bid = backend_id(f, ip4(198, 18, 1, 2), 8080);
		ASSERT_TRUE(has_pair(f, sid_c, bid), "c's pair on it");
		ASSERT_FALSE(has_pair(f, sid_a, bid), "none for a");
		remove_backend(&want, SET_C, ip4(198, 18, 1, 2));
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_FALSE(has_pair(f, sid_c, bid), "c's pair gone");
		ASSERT_EQ(backend_id(f, ip4(198, 18, 1, 2), 8080), bid,
			  "backend kept for a");
	}
	if (test__start_subtest("timeout_on")) {
		/* Same tables: only the pairs, then the frontends. */
		want.sets[SET_A].affinity_timeout = 60;
		ups = f->updates;
		dels = f->deletes;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(pairs_of(f, sid_a), 3, "a: 3 pairs");
		ASSERT_EQ(f->updates - ups, 3 + 2, "3 pairs, 2 frontends");
		ASSERT_EQ(f->deletes - dels, 0, "no delete");
		ASSERT_EQ(fe_get(f, &want.frontends[0].key)->affinity_timeout,
			  60, "a's timeout");
	}
	if (test__start_subtest("timeout_off")) {
		want.sets[SET_A].affinity_timeout = 0;
		ups = f->updates;
		dels = f->deletes;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(pairs_of(f, sid_a), 0, "a: no pair");
		ASSERT_EQ(f->updates - ups, 2, "2 frontends");
		ASSERT_EQ(f->deletes - dels, 3, "then 3 pairs");
	}
	if (test__start_subtest("map_full")) {
		/* a wants 3 pairs, 2 fit: a keeps its version without a
		 * timeout, and takes back the pairs it wrote. */
		state_copy(&next, &want);
		next.sets[SET_A].affinity_timeout = 60;
		add_backend(&next, SET_B, ip4(198, 18, 3, 5), 53, 1, 0);
		f->map[WMAP_AFFINITY_MATCH].cap =
			f->map[WMAP_AFFINITY_MATCH].n + 2;
		log = sync_capture(w, &next, &st, &err);
		ASSERT_EQ(err, -E2BIG, "first error");
		ASSERT_EQ(st.errors, 1, "a failed");
		ASSERT_EQ(st.full[SVCD_SF_AFFINITY_MATCH], 1, "counted full");
		ASSERT_STREQ(st.full_first[SVCD_SF_AFFINITY_MATCH],
			     "default/a:http/TCP", "a named");
		free(log);
		add_backend(&want, SET_B, ip4(198, 18, 3, 5), 53, 1, 0);
		ASSERT_TRUE(maps_match(f, &want), "old a, new b");
		ASSERT_EQ(pairs_of(f, sid_a), 0, "no pair of a left");
		/* The mirror equals the maps: a restarted writer agrees. */
		w2 = writer_new(&fake_ops, f, &limits);
		writes = fake_writes(f);
		ASSERT_OK(writer_sync(w2, &want, NULL),
			  "restarted: same state");
		ASSERT_EQ(fake_writes(f) - writes, 0, "restarted: no write");
		writer_free(w2);
		f->map[WMAP_AFFINITY_MATCH].cap = 0;
		ASSERT_OK(writer_sync(w, &next, &st), "sync with room");
		ASSERT_TRUE(maps_match(f, &next), "all applied");
		ASSERT_EQ(pairs_of(f, sid_a), 3, "a: 3 pairs");
		state_free(&want);
		state_copy(&want, &next);
		state_free(&next);
	}
	if (test__start_subtest("restart_rebuilds")) {
		/* A pair lost and a stray one (what a crash of an older
		 * svcd, or a hand, leaves): the first sync mends both. */
		struct svcd_affinity_match_key lost = { .service_id = sid_c },
					       stray = { .service_id = sid_c };

		lost.backend_id = backend_id(f, ip4(198, 18, 1, 7), 9000);
		stray.backend_id = backend_id(f, ip4(198, 18, 2, 2), 8080);
		bid2 = 1;
		f->full_check = false; /* planted state breaks it on purpose */
		fmap_del(&f->map[WMAP_AFFINITY_MATCH], &lost);
		count_add(&f->match_refs, &lost.backend_id, -1);
		fake_plant(f, WMAP_AFFINITY_MATCH, &stray, &bid2);
		w2 = writer_new(&fake_ops, f, &limits);
		if (ASSERT_OK_PTR(w2, "writer_new")) {
			ASSERT_OK(writer_sync(w2, &want, &st), "sync");
			ASSERT_TRUE(maps_match(f, &want), "maps match");
			ASSERT_TRUE(has_pair(f, sid_c, lost.backend_id),
				    "lost pair written");
			ASSERT_FALSE(has_pair(f, sid_c, stray.backend_id),
				     "stray pair deleted");
			writes = fake_writes(f);
			ASSERT_OK(writer_sync(w2, &want, &st), "sync again");
			ASSERT_EQ(fake_writes(f) - writes, 0, "map writes");
		}
		writer_free(w2);
		f->full_check = true;
	}
	if (test__start_subtest("pair_delete_fails")) {
		/* The pair of a departing backend cannot be deleted: the old
		 * table holding the backend stays, and so does the backend,
		 * until a later sync deletes pair, table, backend in turn. */
		bid = backend_id(f, ip4(198, 18, 3, 7), 9000);
		remove_backend(&want, SET_C, ip4(198, 18, 3, 7));
		f->fail_delete_at = f->deletes + 1;
		ASSERT_EQ(sync_quiet(w, &want, &st), -EIO, "error");
		f->fail_delete_at = 0;
		ASSERT_TRUE(has_pair(f, sid_c, bid), "pair still there");
		ASSERT_NEQ(backend_id(f, ip4(198, 18, 3, 7), 9000), 0,
			   "backend kept");
		ASSERT_OK(writer_sync(w, &want, &st), "next sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(backend_id(f, ip4(198, 18, 3, 7), 9000), 0,
			  "backend gone");
	}
	if (test__start_subtest("set_removed")) {
		remove_set(&want, SET_C);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_EQ(pairs_of(f, sid_c), 0, "c's pairs gone");
		ASSERT_EQ(st.services_removed, 1, "services_removed");
	}
	no_violations(f);
out:
	writer_free(w);
	state_free(&want);
	fake_free(f);
}

/*
 * A UDP or TCP flow to frontend :53 (the datapath's two entries): the
 * forward value names the backend address, the reverse key starts at it.
 */
static void plant_flow(struct fake *f, uint8_t proto, uint16_t sport, __u32 sid,
		       __u32 bid, __be32 backend, uint16_t port)
{
	struct svcd_ct_key k = {
		.saddr = ip4(198, 18, 1, 100),
		.daddr = ip4(198, 19, 96, 11),
		.sport = htons(sport),
		.dport = htons(53),
		.proto = proto,
		.dir = SVCD_CT_FORWARD,
	};
	struct svcd_ct_value v = {
		.nat_saddr = k.saddr,
		.nat_sport = k.sport,
		.nat_daddr = backend,
		.nat_dport = htons(port),
		.backend_id = bid,
		.service_id = sid,
	};

	fake_plant(f, WMAP_CONNTRACK, &k, &v);
	k = (struct svcd_ct_key){
		.saddr = backend,
		.daddr = ip4(198, 18, 1, 100),
		.sport = htons(port),
		.dport = htons(sport),
		.proto = proto,
		.dir = SVCD_CT_REVERSE,
	};
	v.nat_saddr = k.daddr;
	v.nat_sport = k.dport;
	v.nat_daddr = ip4(198, 19, 96, 11);
	v.nat_dport = htons(53);
	fake_plant(f, WMAP_CONNTRACK, &k, &v);
}

static bool has_flow(struct fake *f, uint8_t proto, uint16_t sport)
{
	struct svcd_ct_key k = {
		.saddr = ip4(198, 18, 1, 100),
		.daddr = ip4(198, 19, 96, 11),
		.sport = htons(sport),
		.dport = htons(53),
		.proto = proto,
		.dir = SVCD_CT_FORWARD,
	};

	return fmap_get(&f->map[WMAP_CONNTRACK], &k);
}

/* Backend id of addr:port/proto in the maps (0: none). */
static __u32 backend_id_proto(const struct fake *f, __be32 addr, uint16_t port,
			      uint8_t proto)
{
	const struct fmap *m = &f->map[WMAP_BACKENDS];
	const struct svcd_backend *b;
	size_t i;

	for (i = 0; i < m->n; i++) {
		b = (const void *)(m->vals + i * m->vsz);
		if (b->addr == addr && b->port == htons(port) &&
		    b->proto == proto)
			return *(const __u32 *)(m->keys + i * m->ksz);
	}
	return 0;
}

void test_writer_udp_flush(void)
{
	const __be32 b1 = ip4(198, 18, 1, 5), b2 = ip4(198, 18, 2, 5);
	const __be32 b3 = ip4(198, 18, 3, 5), a1 = ip4(198, 18, 1, 2);
	struct model_state want;
	struct writer_stats st;
	struct svcd_frontend_key kb, ka;
	struct writer *w;
	struct fake *f;
	__u32 sid_b, sid_a;

	f = fake_new();
	base_state(&want);
	/* 198.18.2.5:53 in TCP set a too: one entry per protocol. */
	add_backend(&want, SET_A, b2, 53, 1, 0);
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new") ||
	    !ASSERT_OK(writer_sync(w, &want, NULL), "first sync"))
		goto out;
	kb = fkey(ip4(198, 19, 96, 11), 53, IPPROTO_UDP, SVCD_SCOPE_INTERNAL);
	ka = fkey(ip4(198, 19, 96, 10), 80, IPPROTO_TCP, SVCD_SCOPE_INTERNAL);
	sid_b = fe_get(f, &kb)->service_id;
	sid_a = fe_get(f, &ka)->service_id;
	ASSERT_NEQ(backend_id_proto(f, b2, 53, IPPROTO_UDP),
		   backend_id_proto(f, b2, 53, IPPROTO_TCP), "one per proto");
	plant_flow(f, IPPROTO_UDP, 1001, sid_b,
		   backend_id_proto(f, b1, 53, IPPROTO_UDP), b1, 53);
	plant_flow(f, IPPROTO_UDP, 1002, sid_b,
		   backend_id_proto(f, b2, 53, IPPROTO_UDP), b2, 53);
	plant_flow(f, IPPROTO_UDP, 1003, sid_b,
		   backend_id_proto(f, b2, 53, IPPROTO_UDP), b2, 53);
	plant_flow(f, IPPROTO_TCP, 1004, sid_a,
		   backend_id_proto(f, a1, 8080, IPPROTO_TCP), a1, 8080);
	plant_flow(f, IPPROTO_TCP, 1005, sid_a,
		   backend_id_proto(f, b2, 53, IPPROTO_TCP), b2, 53);

	if (test__start_subtest("removed_backend")) {
		remove_backend(&want, SET_B, b2);
		remove_backend(&want, SET_A, b2);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_EQ(st.udp_flows_flushed, 4,
			  "two flows, both directions");
		ASSERT_EQ(f->map[WMAP_CONNTRACK].n, 6, "left");
		ASSERT_TRUE(has_flow(f, IPPROTO_UDP, 1001), "b1 flow kept");
		ASSERT_FALSE(has_flow(f, IPPROTO_UDP, 1002), "b2 flow gone");
		ASSERT_FALSE(has_flow(f, IPPROTO_UDP, 1003), "b2 flow gone");
		ASSERT_TRUE(has_flow(f, IPPROTO_TCP, 1005), "TCP flow kept");
	}
	if (test__start_subtest("terminating_kept")) {
		find_backend(&want, SET_B, b1)->flags |= SVCD_BE_TERMINATING;
		add_backend(&want, SET_B, b3, 53, 1, 0);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_EQ(st.udp_flows_flushed, 0, "still serving");
		ASSERT_TRUE(has_flow(f, IPPROTO_UDP, 1001), "kept");
	}
	if (test__start_subtest("old_id_removed_later")) {
		/* 1001 still names b1's id from before it turned
		 * terminating; b1 leaving must flush it all the same. */
		remove_backend(&want, SET_B, b1);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_EQ(st.udp_flows_flushed, 2, "both directions");
		ASSERT_FALSE(has_flow(f, IPPROTO_UDP, 1001), "gone");
	}
	if (test__start_subtest("removed_set")) {
		plant_flow(f, IPPROTO_UDP, 1006, sid_b,
			   backend_id_proto(f, b3, 53, IPPROTO_UDP), b3, 53);
		remove_set(&want, SET_B);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_EQ(st.udp_flows_flushed, 2, "its flows");
		ASSERT_FALSE(has_flow(f, IPPROTO_UDP, 1006), "gone");
		ASSERT_EQ(f->map[WMAP_CONNTRACK].n, 4, "TCP flows left");
		ASSERT_TRUE(has_flow(f, IPPROTO_TCP, 1004), "TCP kept");
	}
	no_violations(f);
out:
	writer_free(w);
	state_free(&want);
	fake_free(f);
}

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void test_writer_scale(void)
{
	const struct writer_limits big = {
		.max_services = SVCD_DEF_SERVICES,
		.max_backends = SVCD_DEF_BACKENDS,
	};
	struct model_state want = { 0 };
	struct writer_stats st;
	double t0, t_install, t_noop, t_change, t_restart;
	struct writer *w;
	struct fake *f;
	size_t i, j, set, writes;
	char name[64];

	/* 10,000 sets of 10 backends each, all distinct: 100,000. */
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "ns%zu/svc%zu", i / 100, i);
		set = add_set(&want, name, "http", IPPROTO_TCP,
			      SVCD_SET_CLUSTER);
		for (j = 0; j < 10; j++)
			add_backend(&want, set, htonl(0xc6120000 + i * 10 + j),
				    8080, 1 + j % 3, 0);
		add_frontend(&want, set, htonl(0xc6136000 + i), 80,
			     SVCD_SCOPE_INTERNAL, SVCD_TYPE_CLUSTER_IP);
	}
	f = fake_new();
	f->full_check = false; /* the per-operation checks stay on */
	w = writer_new(&fake_ops, f, &big);
	if (!ASSERT_OK_PTR(w, "writer_new"))
		goto out;

	t0 = cpu_seconds();
	ASSERT_OK(writer_sync(w, &want, &st), "install");
	t_install = cpu_seconds() - t0;
	ASSERT_EQ(writer_service_count(w), 10000, "services");
	ASSERT_EQ(writer_backend_count(w), 100000, "backends");
	ASSERT_TRUE(maps_match(f, &want), "maps match");

	writes = fake_writes(f);
	t0 = cpu_seconds();
	ASSERT_OK(writer_sync(w, &want, &st), "no-op sync");
	t_noop = cpu_seconds() - t0;
	ASSERT_EQ(fake_writes(f) - writes, 0, "no writes");

	/* 1% of the sets lose a backend and gain another. */
	for (i = 0; i < 10000; i += 100) {
		want.sets[i].backends[0].addr = htonl(0xc7000000 + i);
		want.sets[i].backends[1].weight = 5;
	}
	t0 = cpu_seconds();
	ASSERT_OK(writer_sync(w, &want, &st), "change");
	t_change = cpu_seconds() - t0;
	ASSERT_EQ(st.services_updated, 100, "updated");
	ASSERT_TRUE(maps_match(f, &want), "maps match");
	writer_free(w);

	writes = fake_writes(f);
	t0 = cpu_seconds();
	w = writer_new(&fake_ops, f, &big);
	ASSERT_OK(writer_sync(w, &want, &st), "restart sync");
	t_restart = cpu_seconds() - t0;
	ASSERT_EQ(fake_writes(f) - writes, 0, "restart writes nothing");
	no_violations(f);
	printf("#      10000 sets / 100000 backends, CPU seconds incl. fake maps: install %.3f, no-op %.3f, 1%% change %.3f, restart+sync %.3f\n",
	       t_install, t_noop, t_change, t_restart);
	writer_free(w);
out:
	state_free(&want);
	fake_free(f);
}

void test_writer_bad_input(void)
{
	struct model_state want;
	struct writer_limits tiny = { .max_services = 1, .max_backends = 8 };
	struct writer *w;
	struct fake *f;
	size_t dup;

	f = fake_new();
	ASSERT_FALSE(writer_new(&fake_ops, f, &tiny), "limits too small");
	ASSERT_EQ(errno, EINVAL, "errno");

	base_state(&want);
	/* The same identity twice: the first wins, the second is ignored. */
	dup = add_set(&want, "default/b", "dns", IPPROTO_UDP, SVCD_SET_CLUSTER);
	add_backend(&want, dup, ip4(198, 18, 8, 8), 53, 1, 0);
	w = writer_new(&fake_ops, f, &limits);
	if (ASSERT_OK_PTR(w, "writer_new")) {
		ASSERT_OK(sync_quiet(w, &want, NULL), "sync");
		ASSERT_TRUE(maps_match(f, &want), "first one applied");
		/* A frontend naming a set that does not exist. */
		want.frontends[0].set_index = 99;
		ASSERT_EQ(sync_quiet(w, &want, NULL), -EINVAL, "bad index");
		ASSERT_FALSE(fe_get(f, &want.frontends[0].key), "skipped");
	}
	/* Out of service ids: the set is not installed, the rest is. */
	writer_free(w);
	fake_free(f);
	f = fake_new();
	state_free(&want);
	base_state(&want);
	tiny.max_services = 4; /* ids 1..3 for four sets */
	w = writer_new(&fake_ops, f, &tiny);
	if (ASSERT_OK_PTR(w, "writer_new")) {
		ASSERT_EQ(sync_quiet(w, &want, NULL), -ENOSPC, "no id");
		ASSERT_EQ(writer_service_count(w), 3, "three installed");
		no_violations(f);
	}
	writer_free(w);
	state_free(&want);
	fake_free(f);
}

/* ---- source ranges ------------------------------------------------------ */

/* The maps hold exactly the source ranges of want. */
static bool ranges_match(const struct fake *f, const struct model_state *want)
{
	struct svcd_src_range_key rk;
	size_t i, n = 0;

	for (i = 0; i < want->n_src_ranges; i++) {
		if (want->src_ranges[i].family != MODEL_IPV4)
			continue;
		n++;
		rk = range_key(&want->src_ranges[i]);
		if (!fmap_get(&f->map[WMAP_SRC_RANGES], &rk)) {
			test__log("source range %zu missing\n", i);
			return false;
		}
	}
	if (f->map[WMAP_SRC_RANGES].n != n) {
		test__log("%zu source ranges in the map, want %zu\n",
			  f->map[WMAP_SRC_RANGES].n, n);
		return false;
	}
	return true;
}

/* base_state plus default/lb: LoadBalancer IP 198.19.200.1 that allows
 * 10.0.0.0/8 and 192.168.1.0/24. */
static void lb_state(struct model_state *s)
{
	size_t lb;

	base_state(s);
	lb = add_set(s, "default/lb", "https", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend(s, lb, ip4(198, 18, 4, 2), 8443, 1, 0);
	add_frontend(s, lb, ip4(198, 19, 200, 1), 443, SVCD_SCOPE_EXTERNAL,
		     SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SRC_RANGES);
	add_src_range(s, ip4(198, 19, 200, 1), ip4(10, 0, 0, 0), 8);
	add_src_range(s, ip4(198, 19, 200, 1), ip4(192, 168, 1, 0), 24);
}

/* lb_state without the ranges: the frontend no longer checks any. */
static void lb_state_open(struct model_state *s)
{
	lb_state(s);
	s->frontends[s->n_frontends - 1].flags &= ~SVCD_FE_SRC_RANGES;
	s->n_src_ranges = 0;
}

void test_writer_src_ranges(void)
{
	struct model_state want, next, open;
	struct writer_stats st;
	struct writer *w = NULL;
	struct fake *f;
	size_t writes;
	char *log;
	int err;

	f = fake_new();
	lb_state(&want);
	state_copy(&next, &want);
	next.src_ranges[1].prefix = ip4(172, 16, 0, 0);
	next.src_ranges[1].len = 12;
	lb_state_open(&open);

	if (test__start_subtest("install")) {
		f->ranges_want = &want;
		w = writer_new(&fake_ops, f, &limits);
		if (ASSERT_OK_PTR(w, "writer_new")) {
			ASSERT_OK(writer_sync(w, &want, &st), "sync");
			ASSERT_EQ(st.src_ranges_added, 2, "src_ranges_added");
			ASSERT_TRUE(ranges_match(f, &want), "ranges");
			ASSERT_TRUE(maps_match(f, &want), "maps match");
		}
	}
	if (w && test__start_subtest("change")) {
		f->ranges_want = &next;
		ASSERT_OK(writer_sync(w, &next, &st), "sync");
		ASSERT_EQ(st.src_ranges_added, 1, "src_ranges_added");
		ASSERT_EQ(st.src_ranges_removed, 1, "src_ranges_removed");
		ASSERT_TRUE(ranges_match(f, &next), "ranges");
	}
	if (w && test__start_subtest("restart_unchanged")) {
		writer_free(w);
		w = writer_new(&fake_ops, f, &limits);
		if (ASSERT_OK_PTR(w, "writer_new")) {
			writes = fake_writes(f);
			ASSERT_OK(writer_sync(w, &next, &st), "sync");
			ASSERT_EQ(fake_writes(f) - writes, 0, "map writes");
			ASSERT_TRUE(ranges_match(f, &next), "ranges");
		}
	}
	if (w && test__start_subtest("kept_while_frontend_checks_them")) {
		/* The LB frontend's update fails: it keeps checking ranges,
		 * so they stay until a sync takes it off them. */
		f->ranges_want = &open;
		f->fail_update_at = f->updates + 1;
		err = sync_quiet(w, &open, &st);
		f->fail_update_at = 0;
		ASSERT_EQ(err, -EIO, "sync");
		ASSERT_EQ(st.errors, 1, "errors");
		ASSERT_EQ(st.src_ranges_removed, 0, "src_ranges_removed");
		ASSERT_TRUE(ranges_match(f, &next), "ranges kept");
		ASSERT_OK(writer_sync(w, &open, &st), "sync again");
		ASSERT_EQ(st.src_ranges_removed, 2, "src_ranges_removed");
		ASSERT_TRUE(ranges_match(f, &open), "ranges gone");
		ASSERT_TRUE(maps_match(f, &open), "maps match");
	}
	if (w && test__start_subtest("service_removed")) {
		f->ranges_want = &want;
		ASSERT_OK(writer_sync(w, &want, &st), "sync back");
		remove_set(&want, want.n_sets - 1);
		want.n_src_ranges = 0;
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_EQ(st.frontends_removed, 1, "frontends_removed");
		ASSERT_EQ(st.src_ranges_removed, 2, "src_ranges_removed");
		ASSERT_TRUE(ranges_match(f, &want), "ranges gone");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
	}
	no_violations(f);
	writer_free(w);
	fake_free(f);
	state_free(&want);

	if (test__start_subtest("errors_logged")) {
		/* The first update of a first sync is a range: it fails. */
		f = fake_new();
		lb_state(&want);
		w = writer_new(&fake_ops, f, &limits);
		f->fail_update_at = 1;
		log = sync_capture(w, &want, &st, &err);
		f->fail_update_at = 0;
		ASSERT_EQ(err, -EIO, "sync");
		ASSERT_EQ(st.errors, 1, "errors");
		ASSERT_EQ(count_lines(log), 1, "one line");
		ASSERT_OK_PTR(
			strstr(log,
			       "loadBalancerSourceRanges of 198.19.200.1: adding 10.0.0.0/8 failed (-EIO)"),
			"names the LB IP and the prefix");
		free(log);
		ASSERT_OK(writer_sync(w, &want, &st), "retried");
		ASSERT_EQ(st.src_ranges_added, 1, "the failed one");
		/* A delete that fails keeps the range for the next sync. */
		state_free(&want);
		lb_state_open(&want);
		f->fail_delete_at = f->deletes + 1;
		log = sync_capture(w, &want, &st, &err);
		f->fail_delete_at = 0;
		ASSERT_EQ(err, -EIO, "sync");
		ASSERT_EQ(st.errors, 1, "errors");
		ASSERT_OK_PTR(strstr(log, "deleting 10.0.0.0/8 failed (-EIO)"),
			      "delete names the prefix");
		free(log);
		ASSERT_EQ(f->map[WMAP_SRC_RANGES].n, 1, "one left");
		ASSERT_OK(writer_sync(w, &want, &st), "retried");
		ASSERT_TRUE(ranges_match(f, &want), "ranges gone");
		no_violations(f);
		writer_free(w);
		fake_free(f);
		state_free(&want);
	}
	if (test__start_subtest("crash_at_every_op")) {
		/* Killed after op N of a change of the ranges (next) or of
		 * dropping them (open), then restarted. */
		const struct model_state *to[] = { &next, &open };
		size_t n, t, ops = 0, failed = 0;

		lb_state(&want);
		for (t = 0; t < 2; t++) {
			for (n = 0; n == 0 || n < ops; n++) {
				struct fake *c = fake_new();
				struct writer *w3;

				c->ranges_want = &want;
				w = writer_new(&fake_ops, c, &limits);
				writer_sync(w, &want, NULL);
				c->ranges_want = to[t];
				writes = fake_writes(c);
				if (n)
					c->crash_after = writes + n;
				sync_quiet(w, to[t], NULL);
				if (!n)
					ops = fake_writes(c) - writes;
				writer_free(w);
				c->crash_after = 0;
				w3 = writer_new(&fake_ops, c, &limits);
				if (!w3 || writer_sync(w3, to[t], NULL) ||
				    !maps_match(c, to[t]) ||
				    !ranges_match(c, to[t]) || c->violations) {
					test__log(
						"to %zu, crash after op %zu: %s\n",
						t, n, c->first_violation);
					failed++;
				}
				writer_free(w3);
				fake_free(c);
			}
			ASSERT_GE(ops, 2, "ops in the change");
		}
		ASSERT_EQ(failed, 0, "restarts that did not converge");
		state_free(&want);
	}
	state_free(&next);
	state_free(&open);
}

/* ---- IPv6 and dual-stack ------------------------------------------------ */

static union svcd_ip6 ip6(const char *s)
{
	union svcd_ip6 a = { 0 };

	if (inet_pton(AF_INET6, s, &a) != 1)
		abort();
	return a;
}

static size_t add_set6(struct model_state *s, const char *name,
		       const char *port_name, uint8_t proto, uint8_t which)
{
	size_t set = add_set(s, name, port_name, proto, which);

	s->sets[set].family = MODEL_IPV6;
	return set;
}

static void add_backend6(struct model_state *s, size_t set, const char *addr,
			 uint16_t port, uint8_t weight, uint8_t flags)
{
	struct model_set *ms = &s->sets[set];

	ms->backends = xrealloc(ms->backends,
				(ms->n_backends + 1) * sizeof(*ms->backends));
	ms->backends[ms->n_backends++] = (struct model_backend){
		.addr6 = ip6(addr),
		.port = htons(port),
		.weight = weight,
		.flags = flags,
	};
}

static struct svcd_frontend6_key fkey6(const char *addr, uint16_t port,
				       uint8_t proto, uint8_t scope)
{
	return (struct svcd_frontend6_key){
		.addr = ip6(addr),
		.port = htons(port),
		.proto = proto,
		.scope = scope,
	};
}

static void add_frontend6(struct model_state *s, size_t set, const char *addr,
			  uint16_t port, uint8_t scope, uint16_t flags)
{
	s->frontends = xrealloc(s->frontends,
				(s->n_frontends + 1) * sizeof(*s->frontends));
	s->frontends[s->n_frontends++] = (struct model_frontend){
		.family = MODEL_IPV6,
		.key6 = fkey6(addr, port, s->sets[set].proto, scope),
		.flags = flags,
		.set_index = set,
	};
}

static void add_src_range6(struct model_state *s, const char *lb,
			   const char *prefix, uint8_t len)
{
	s->src_ranges = xrealloc(s->src_ranges, (s->n_src_ranges + 1) *
							sizeof(*s->src_ranges));
	s->src_ranges[s->n_src_ranges++] = (struct model_src_range){
		.family = MODEL_IPV6,
		.lb_addr6 = ip6(lb),
		.prefix6 = ip6(prefix),
		.len = len,
	};
}

static const struct svcd_frontend_value *fe6_get(const struct fake *f,
						 const char *addr,
						 uint16_t port, uint8_t proto,
						 uint8_t scope)
{
	struct svcd_frontend6_key k = fkey6(addr, port, proto, scope);

	return fmap_get(&f->map[WMAP_FRONTENDS6], &k);
}

/* IPv6 ranges of want all in the map, and nothing else. */
static bool ranges6_match(const struct fake *f, const struct model_state *want)
{
	struct svcd_src_range6_key rk;
	size_t i, n = 0;

	for (i = 0; i < want->n_src_ranges; i++) {
		if (want->src_ranges[i].family != MODEL_IPV6)
			continue;
		n++;
		rk = range6_key(&want->src_ranges[i]);
		if (!fmap_get(&f->map[WMAP_SRC_RANGES6], &rk)) {
			test__log("IPv6 source range %zu missing\n", i);
			return false;
		}
	}
	if (f->map[WMAP_SRC_RANGES6].n != n) {
		test__log("%zu IPv6 source ranges in the map, want %zu\n",
			  f->map[WMAP_SRC_RANGES6].n, n);
		return false;
	}
	return true;
}

/*
 * base_state's sets, plus the IPv6 halves of a dual-stack default/a
 * (cluster set, ClusterIP and NodePort) and default/b (UDP), and an
 * IPv6-only LoadBalancer default/lb6 with two source ranges.
 */
enum { SET_A6 = SET_C + 1, SET_B6, SET_LB6 };

static void dual_state(struct model_state *s)
{
	size_t a6, b6, lb6;

	base_state(s);
	a6 = add_set6(s, "default/a", "http", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend6(s, a6, "2001:db8:1::2", 8080, 1, SVCD_BE_LOCAL);
	add_backend6(s, a6, "2001:db8:2::2", 8080, 1, 0);
	add_frontend6(s, a6, "2001:db8:96::a", 80, SVCD_SCOPE_INTERNAL,
		      SVCD_TYPE_CLUSTER_IP);
	add_frontend6(s, a6, "2001:db8::1", 30080, SVCD_SCOPE_INTERNAL,
		      SVCD_TYPE_NODE_PORT);

	b6 = add_set6(s, "default/b", "dns", IPPROTO_UDP, SVCD_SET_CLUSTER);
	add_backend6(s, b6, "2001:db8:1::5", 53, 1, SVCD_BE_LOCAL);
	add_backend6(s, b6, "2001:db8:2::5", 53, 1, 0);
	add_frontend6(s, b6, "2001:db8:96::b", 53, SVCD_SCOPE_INTERNAL,
		      SVCD_TYPE_CLUSTER_IP);

	lb6 = add_set6(s, "default/lb6", "https", IPPROTO_TCP,
		       SVCD_SET_CLUSTER);
	s->sets[lb6].affinity_timeout = 60;
	add_backend6(s, lb6, "2001:db8:4::2", 8443, 1, 0);
	add_backend6(s, lb6, "2001:db8:4::3", 8443, 2, 0);
	add_frontend6(s, lb6, "2001:db8::200:1", 443, SVCD_SCOPE_EXTERNAL,
		      SVCD_TYPE_LOAD_BALANCER | SVCD_FE_SRC_RANGES |
			      SVCD_FE_SNAT);
	add_src_range6(s, "2001:db8::200:1", "2001:db8:7::", 48);
	add_src_range6(s, "2001:db8::200:1", "2001:db8::", 64);
}

/* A change in both families: v4 and v6 backends, a v6 range, the v6 UDP
 * set gone, a v6 frontend moved, a new IPv6 set. */
static void dual_next(struct model_state *next, const struct model_state *from)
{
	size_t d6;

	state_copy(next, from);
	add_backend6(next, SET_A6, "2001:db8:3::2", 8080, 2, 0);
	find_backend(next, SET_A, ip4(198, 18, 1, 2))->weight = 3;
	next->src_ranges[next->n_src_ranges - 1].prefix6 = ip6("2001:db8:9::");
	next->src_ranges[next->n_src_ranges - 1].len = 56;
	d6 = add_set6(next, "default/d", "", IPPROTO_TCP, SVCD_SET_CLUSTER);
	add_backend6(next, d6, "2001:db8:1::2", 8080, 1, SVCD_BE_LOCAL);
	add_frontend6(next, d6, "2001:db8:96::d", 80, SVCD_SCOPE_INTERNAL,
		      SVCD_TYPE_CLUSTER_IP);
	/* the v6 NodePort moves to default/lb6 */
	next->frontends[next->n_frontends - 1 - 4].set_index = SET_LB6;
	remove_set(next, SET_B6); /* last: it renumbers the sets */
}

static void plant_flow6(struct fake *f, uint16_t sport, __u32 sid, __u32 bid,
			const char *backend, uint16_t port)
{
	struct svcd_ct6_key k = {
		.saddr = ip6("2001:db8:1::100"),
		.daddr = ip6("2001:db8:96::b"),
		.sport = htons(sport),
		.dport = htons(53),
		.proto = IPPROTO_UDP,
		.dir = SVCD_CT_FORWARD,
	};
	struct svcd_ct6_value v = {
		.nat_saddr = k.saddr,
		.nat_sport = k.sport,
		.nat_daddr = ip6(backend),
		.nat_dport = htons(port),
		.backend_id = bid,
		.service_id = sid,
	};

	fake_plant(f, WMAP_CONNTRACK6, &k, &v);
	k = (struct svcd_ct6_key){
		.saddr = ip6(backend),
		.daddr = ip6("2001:db8:1::100"),
		.sport = htons(port),
		.dport = htons(sport),
		.proto = IPPROTO_UDP,
		.dir = SVCD_CT_REVERSE,
	};
	v.nat_saddr = k.daddr;
	v.nat_sport = k.dport;
	v.nat_daddr = ip6("2001:db8:96::b");
	v.nat_dport = htons(53);
	fake_plant(f, WMAP_CONNTRACK6, &k, &v);
}

static bool has_flow6(struct fake *f, uint16_t sport)
{
	struct svcd_ct6_key k = {
		.saddr = ip6("2001:db8:1::100"),
		.daddr = ip6("2001:db8:96::b"),
		.sport = htons(sport),
		.dport = htons(53),
		.proto = IPPROTO_UDP,
		.dir = SVCD_CT_FORWARD,
	};

	return fmap_get(&f->map[WMAP_CONNTRACK6], &k) != NULL;
}

/* Backend id of an IPv6 addr:port in the maps (0: none). */
static __u32 backend6_id(const struct fake *f, const char *addr, uint16_t port)
{
	const struct fmap *m = &f->map[WMAP_BACKENDS6];
	union svcd_ip6 a = ip6(addr);
	const struct svcd_backend6 *b;
	size_t i;

	for (i = 0; i < m->n; i++) {
		b = (const void *)(m->vals + i * m->vsz);
		if (!memcmp(&b->addr, &a, sizeof(a)) && b->port == htons(port))
			return *(const __u32 *)(m->keys + i * m->ksz);
	}
	return 0;
}

/* svcd killed after each op of from -> to, restarted, synced to to. */
static size_t crash_each_op(const struct model_state *from,
			    const struct model_state *to, size_t *ops_out)
{
	size_t n, ops = 0, writes, failed = 0;

	for (n = 0; n == 0 || n < ops; n++) {
		struct fake *c = fake_new();
		struct writer *w, *w3;

		c->ranges_want = from;
		w = writer_new(&fake_ops, c, &limits);
		writer_sync(w, from, NULL);
		c->ranges_want = to;
		writes = fake_writes(c);
		if (n)
			c->crash_after = writes + n;
		sync_quiet(w, to, NULL);
		if (!n)
			ops = fake_writes(c) - writes;
		writer_free(w);
		c->crash_after = 0;
		w3 = writer_new(&fake_ops, c, &limits);
		if (!w3 || writer_sync(w3, to, NULL) || !maps_match(c, to) ||
		    !ranges_match(c, to) || !ranges6_match(c, to) ||
		    c->violations) {
			test__log("crash after op %zu: %s\n", n,
				  c->first_violation);
			failed++;
		}
		writer_free(w3);
		fake_free(c);
	}
	*ops_out = ops;
	return failed;
}

void test_writer_dual_stack(void)
{
	const struct svcd_frontend_value *v4, *v6;
	struct model_state want, next, v4only;
	struct fmap before = { 0 };
	struct writer_stats st;
	struct writer *w, *w2;
	size_t i, writes, ops;
	struct fake *f;

	f = fake_new();
	dual_state(&want);
	f->ranges_want = &want;
	w = writer_new(&fake_ops, f, &limits);
	if (!ASSERT_OK_PTR(w, "writer_new"))
		goto out;

	if (test__start_subtest("install")) {
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		ASSERT_TRUE(ranges6_match(f, &want), "v6 ranges");
		no_violations(f);
		ASSERT_EQ(st.services_added, 7, "4 IPv4 + 3 IPv6 sets");
		ASSERT_EQ(f->map[WMAP_FRONTENDS6].n, 4, "IPv6 frontends");
		ASSERT_EQ(f->map[WMAP_BACKENDS6].n, 6, "IPv6 backends");
		ASSERT_EQ(f->map[WMAP_SRC_RANGES6].n, 2, "IPv6 ranges");
		ASSERT_EQ(st.src_ranges_added, 2, "ranges added");
		ASSERT_EQ(writer_backend_count(w), 8 + 6, "one id space");
		v4 = fe_get(f, &want.frontends[0].key);
		v6 = fe6_get(f, "2001:db8:96::a", 80, IPPROTO_TCP,
			     SVCD_SCOPE_INTERNAL);
		if (ASSERT_OK_PTR(v4, "v4 ClusterIP") &&
		    ASSERT_OK_PTR(v6, "v6 ClusterIP"))
			ASSERT_NEQ(v4->service_id, v6->service_id,
				   "one service id per family");
		ASSERT_EQ(st.errors, 0, "errors");
	}
	if (test__start_subtest("unchanged_writes_nothing")) {
		writes = fake_writes(f);
		ASSERT_OK(writer_sync(w, &want, &st), "sync");
		ASSERT_EQ(fake_writes(f) - writes, 0, "map writes");
	}
	if (test__start_subtest("restart_unchanged")) {
		before.ksz = sizeof(struct svcd_frontend6_key);
		before.vsz = sizeof(struct svcd_frontend_value);
		for (i = 0; i < f->map[WMAP_FRONTENDS6].n; i++)
			fmap_put(&before,
				 f->map[WMAP_FRONTENDS6].keys + i * before.ksz,
				 f->map[WMAP_FRONTENDS6].vals + i * before.vsz);
		w2 = writer_new(&fake_ops, f, &limits);
		if (ASSERT_OK_PTR(w2, "writer_new")) {
			ASSERT_EQ(writer_service_count(w2), 7, "services");
			ASSERT_EQ(writer_backend_count(w2), 14, "backends");
			writes = fake_writes(f);
			ASSERT_OK(writer_sync(w2, &want, &st), "sync");
			ASSERT_EQ(fake_writes(f) - writes, 0,
				  "map writes: families told apart");
			for (i = 0; i < before.n; i++)
				ASSERT_TRUE(
					!memcmp(fmap_get(
							&f->map[WMAP_FRONTENDS6],
							before.keys +
								i * before.ksz),
						before.vals + i * before.vsz,
						before.vsz),
					"v6 frontend values identical");
			writer_free(w);
			w = w2;
		}
	}
	if (test__start_subtest("v6_change_leaves_v4_alone")) {
		state_copy(&next, &want);
		next.sets[SET_A6].n_backends = 1; /* 2001:db8:2::2 leaves */
		writes = fake_writes(f);
		f->ranges_want = &next;
		v4 = fe_get(f, &want.frontends[0].key);
		if (v4) {
			struct svcd_frontend_value old = *v4;

			ASSERT_OK(writer_sync(w, &next, &st), "sync");
			v4 = fe_get(f, &want.frontends[0].key);
			ASSERT_TRUE(v4 && !memcmp(v4, &old, sizeof(old)),
				    "v4 frontend untouched");
		}
		ASSERT_TRUE(maps_match(f, &next), "maps match");
		ASSERT_EQ(st.backends_removed, 1, "the v6 backend");
		ASSERT_EQ(st.services_updated, 1, "the v6 set only");
		f->ranges_want = &want;
		ASSERT_OK(writer_sync(w, &want, &st), "back");
		ASSERT_TRUE(maps_match(f, &want), "maps match again");
		state_free(&next);
	}
	if (test__start_subtest("udp_flush_v6")) {
		__u32 sid6, bid_gone = backend6_id(f, "2001:db8:2::5", 53);
		__u32 bid_kept = backend6_id(f, "2001:db8:1::5", 53);

		v6 = fe6_get(f, "2001:db8:96::b", 53, IPPROTO_UDP,
			     SVCD_SCOPE_INTERNAL);
		sid6 = v6 ? v6->service_id : 0;
		ASSERT_GT(bid_gone, 0, "backend id");
		plant_flow6(f, 40000, sid6, bid_gone, "2001:db8:2::5", 53);
		plant_flow6(f, 40001, sid6, bid_kept, "2001:db8:1::5", 53);
		plant_flow(f, IPPROTO_UDP, 40002,
			   sid_of(f, ip4(198, 19, 96, 11), 53),
			   backend_id(f, ip4(198, 18, 2, 5), 53),
			   ip4(198, 18, 2, 5), 53);
		state_copy(&next, &want);
		next.sets[SET_B6].n_backends = 1; /* 2001:db8:2::5 leaves */
		f->ranges_want = &next;
		ASSERT_OK(writer_sync(w, &next, &st), "sync");
		ASSERT_FALSE(has_flow6(f, 40000), "v6 flow of the removed "
						  "backend flushed");
		ASSERT_TRUE(has_flow6(f, 40001), "v6 flow of a kept backend");
		ASSERT_TRUE(has_flow(f, IPPROTO_UDP, 40002),
			    "v4 flows of the v4 set untouched");
		ASSERT_EQ(st.udp_flows_flushed, 2, "both directions");
		ASSERT_TRUE(maps_match(f, &next), "maps match");
		f->ranges_want = &want;
		ASSERT_OK(writer_sync(w, &want, &st), "back");
		state_free(&next);
	}
	if (test__start_subtest("family_removed")) {
		base_state(&v4only);
		f->ranges_want = &v4only;
		ASSERT_OK(writer_sync(w, &v4only, &st), "sync");
		ASSERT_TRUE(maps_match(f, &v4only), "maps match");
		ASSERT_EQ(f->map[WMAP_FRONTENDS6].n, 0, "v6 frontends gone");
		ASSERT_EQ(f->map[WMAP_BACKENDS6].n, 0, "v6 backends gone");
		ASSERT_EQ(f->map[WMAP_SRC_RANGES6].n, 0, "v6 ranges gone");
		ASSERT_EQ(st.services_removed, 3, "v6 sets removed");
		f->ranges_want = &want;
		ASSERT_OK(writer_sync(w, &want, &st), "back");
		ASSERT_TRUE(maps_match(f, &want), "maps match");
		state_free(&v4only);
	}
	if (test__start_subtest("v6_map_full")) {
		/* the IPv6 frontends map of a node without IPv6 (1-entry
		 * placeholder): IPv6 sets fail alone, IPv4 is installed */
		struct fake *c = fake_new();
		struct writer *wc;

		c->map[WMAP_FRONTENDS6].cap = 1;
		wc = writer_new(&fake_ops, c, &limits);
		if (ASSERT_OK_PTR(wc, "writer_new")) {
			ASSERT_NEQ(sync_quiet(wc, &want, &st), 0, "error");
			ASSERT_GE(st.errors, 1, "counted");
			ASSERT_TRUE(fe_get(c, &want.frontends[0].key) != NULL,
				    "IPv4 installed");
			ASSERT_LE(c->map[WMAP_FRONTENDS6].n, 1, "capped");
			no_violations(c);
		}
		writer_free(wc);
		fake_free(c);
	}
	if (test__start_subtest("fail_nth_update")) {
		dual_next(&next, &want);
		fail_each_states(&want, &next, false);
		state_free(&next);
	}
	if (test__start_subtest("fail_nth_delete")) {
		dual_next(&next, &want);
		fail_each_states(&want, &next, true);
		state_free(&next);
	}
	if (test__start_subtest("crash_at_every_op")) {
		size_t failed;

		dual_next(&next, &want);
		failed = crash_each_op(&want, &next, &ops);
		ASSERT_GT(ops, 20, "ops in the change");
		ASSERT_EQ(failed, 0, "restarts that did not converge");
		/* and a v4-only node growing its IPv6 half, and back */
		base_state(&v4only);
		failed = crash_each_op(&v4only, &want, &ops);
		ASSERT_GT(ops, 20, "ops adding IPv6");
		ASSERT_EQ(failed, 0, "restarts adding IPv6");
		failed = crash_each_op(&want, &v4only, &ops);
		ASSERT_GT(ops, 10, "ops removing IPv6");
		ASSERT_EQ(failed, 0, "restarts removing IPv6");
		state_free(&v4only);
		state_free(&next);
	}
	no_violations(f);
	writer_free(w);
out:
	fmap_fini(&before);
	state_free(&want);
	fake_free(f);
}

/* ---- partial syncs ---------------------------------------------------- */

#define PARTIAL_SVCS 24

/* Service i of version ver (0: absent), as sets and frontends appended
 * to s: one or two ports, a local set now and then, UDP, affinity, and
 * backends drawn from a small pool so that Services share them. */
static void partial_service(struct model_state *s, int i, unsigned int ver)
{
	unsigned int r = ver * 2654435761u + (unsigned int)i * 40503u;
	char name[32];
	size_t set, n_ports, p, k, n_be;
	uint8_t proto;

	if (!ver)
		return;
	snprintf(name, sizeof(name), "ns/svc-%02d", i);
	n_ports = 1 + (r >> 3) % 2;
	for (p = 0; p < n_ports; p++) {
		proto = (r >> (5 + p)) % 4 == 0 ? IPPROTO_UDP : IPPROTO_TCP;
		set = add_set(s, name, p ? "b" : "a", proto, SVCD_SET_CLUSTER);
		if ((r >> 9) % 3 == 0)
			s->sets[set].affinity_timeout = 100 + (r >> 11) % 3;
		n_be = (r >> (12 + p)) % 5; /* 0: refuse */
		for (k = 0; k < n_be; k++)
			add_backend(s, set,
				    ip4(198, 18, 1, 1 + (r + k * 7) % 11),
				    8080 + p, 1 + (r >> (16 + k)) % 3,
				    (r >> (20 + k)) % 4 == 0 ?
					    SVCD_BE_TERMINATING :
					    0);
		add_frontend(s, set, ip4(198, 19, 96, (uint8_t)i), 80 + p,
			     SVCD_SCOPE_INTERNAL, SVCD_TYPE_CLUSTER_IP);
		if ((r >> 22) % 3 == 0) {
			add_frontend(s, set, ip4(198, 19, 0, 1),
				     (uint16_t)(30000 + i * 2 + p),
				     SVCD_SCOPE_INTERNAL, SVCD_TYPE_NODE_PORT);
			set = add_set(s, name, p ? "b" : "a", proto,
				      SVCD_SET_LOCAL);
			if (n_be)
				add_backend(s, set, ip4(198, 18, 1, 1), 8080, 1,
					    SVCD_BE_LOCAL);
			add_frontend(s, set, ip4(198, 19, 0, 1),
				     (uint16_t)(30000 + i * 2 + p),
				     SVCD_SCOPE_EXTERNAL,
				     SVCD_TYPE_NODE_PORT | SVCD_FE_LOCAL_ONLY);
		}
	}
}

static void partial_state(struct model_state *s, const unsigned int *ver,
			  const bool *only)
{
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < PARTIAL_SVCS; i++)
		if (!only || only[i])
			partial_service(s, i, ver[i]);
}

/*
 * Random changes to a few Services at a time, each written by
 * writer_sync_partial() with only their sets: after every step the maps
 * equal the whole desired state, as a writer that syncs whole each time
 * has them, and no invariant broke on the way (the fake checks every
 * operation).
 */
/* The random partial syncs below, by a writer over pops (wp's fake into
 * *fake_out when not NULL, freed by the caller). */
static bool partial_random_run(const struct writer_ops *pops,
			       struct fake **fake_out)
{
	unsigned int ver[PARTIAL_SVCS] = { 0 }, seed = 14;
	struct model_state full, part;
	struct writer *wp = NULL, *wf = NULL;
	struct fake *fp, *ff;
	const char *names[4];
	char name_buf[4][32];
	bool only[PARTIAL_SVCS];
	struct writer_stats st;
	int step, i, n, j, ret;
	bool ok = true;

	fp = fake_new();
	ff = fake_new();
	wp = writer_new(pops, fp, &limits);
	wf = writer_new(&fake_ops, ff, &limits);
	if (!ASSERT_OK_PTR(wp, "writer_new") || !ASSERT_OK_PTR(wf, "writer"))
		goto out;
	for (i = 0; i < PARTIAL_SVCS; i++)
		ver[i] = i % 4 ? 1 + i : 0;
	partial_state(&full, ver, NULL);
	ASSERT_EQ(writer_sync_partial(wp, &full, names, 0, &st), -EAGAIN,
		  "partial before a whole sync");
	ASSERT_OK(writer_sync(wp, &full, &st), "first sync");
	ASSERT_OK(writer_sync(wf, &full, &st), "first sync (whole)");
	state_free(&full);

	for (step = 0; step < 400 && ok; step++) {
		memset(only, 0, sizeof(only));
		n = 1 + rand_r(&seed) % 3;
		for (j = 0; j < n; j++) {
			i = rand_r(&seed) % PARTIAL_SVCS;
			only[i] = true;
			/* absent a quarter of the time */
			ver[i] = rand_r(&seed) % 4 ? 1 + rand_r(&seed) % 50 : 0;
		}
		for (i = 0, n = 0; i < PARTIAL_SVCS; i++) {
			if (!only[i])
				continue;
			snprintf(name_buf[n], sizeof(name_buf[n]),
				 "ns/svc-%02d", i);
			names[n] = name_buf[n];
			n++;
		}
		partial_state(&full, ver, NULL);
		partial_state(&part, ver, only);
		/* now and then a whole sync in between, as a relist does */
		if (step % 37 == 36)
			ret = writer_sync(wp, &full, &st);
		else
			ret = writer_sync_partial(wp, &part, names, (size_t)n,
						  &st);
		ok = ASSERT_OK(ret, "sync") && ok;
		ok = ASSERT_OK(writer_sync(wf, &full, &st), "whole sync") && ok;
		if (!maps_match(fp, &full)) {
			test__log("step %d: partial syncs differ\n", step);
			ok = false;
		}
		if (!maps_match(ff, &full)) {
			test__log("step %d: whole syncs differ\n", step);
			ok = false;
		}
		ok = no_violations(fp) && no_violations(ff) && ok;
		ASSERT_EQ(writer_service_count(wp), writer_service_count(wf),
			  "service count");
		ASSERT_EQ(writer_backend_count(wp), writer_backend_count(wf),
			  "backend count");
		state_free(&full);
		state_free(&part);
	}
	ASSERT_TRUE(ok, "partial syncs equal whole ones");

	/* source ranges: a partial sync declines, writing nothing */
	memset(&part, 0, sizeof(part));
	add_src_range(&part, ip4(198, 19, 50, 1), ip4(198, 18, 0, 0), 16);
	ASSERT_EQ(writer_sync_partial(wp, &part, names, 1, &st), -EAGAIN,
		  "partial with source ranges");
	state_free(&part);
out:
	writer_free(wp);
	writer_free(wf);
	if (fake_out)
		*fake_out = fp;
	else
		fake_free(fp);
	fake_free(ff);
	return ok;
}

void test_writer_partial_random(void)
{
	partial_random_run(&fake_ops, NULL);
}

/*
 * Batched map updates (ops->update_batch: a set's new backends, its slot
 * table): the same maps as one update at a time, every operation checked
 * by the fake, and a batch that stops part way goes on one at a time.
 */
void test_writer_batch(void)
{
	struct model_state want;
	struct writer_stats st;
	struct writer *w;
	struct fake *f = NULL;
	size_t fail_at;

	if (test__start_subtest("random_partial_syncs")) {
		ASSERT_TRUE(partial_random_run(&fake_batch_ops, &f),
			    "batched partial syncs equal whole ones");
		if (f) {
			ASSERT_GT(f->batched, 0, "updates made in batches");
			ASSERT_LT(f->batches, f->batched,
				  "fewer calls than batched updates");
			fake_free(f);
		}
	}
	if (test__start_subtest("kernel_without_batches")) {
		f = fake_new();
		f->no_batches = true;
		w = writer_new(&fake_batch_ops, f, &limits);
		base_state(&want);
		if (ASSERT_OK_PTR(w, "writer_new")) {
			ASSERT_OK(writer_sync(w, &want, &st), "sync");
			ASSERT_EQ(st.errors, 0, "errors");
			ASSERT_TRUE(maps_match(f, &want), "maps match");
			ASSERT_TRUE(no_violations(f), "no violations");
			ASSERT_GT(f->batches, 0, "batches tried");
			ASSERT_EQ(f->batched, 0, "none made");
		}
		writer_free(w);
		state_free(&want);
		fake_free(f);
	}
	/* a failure at every update of the first sync in turn: the batch it
	 * falls in stops there, and the rest goes one at a time (the one
	 * that failed is tried again and, the fault being once, goes in) */
	if (test__start_subtest("batch_stops_part_way")) {
		bool in_batch[sizeof(f->in_batch)];
		size_t total, n_in = 0;

		f = fake_new();
		w = writer_new(&fake_batch_ops, f, &limits);
		base_state(&want);
		if (ASSERT_OK_PTR(w, "writer_new"))
			ASSERT_OK(writer_sync(w, &want, &st), "clean sync");
		total = f->updates;
		memcpy(in_batch, f->in_batch, sizeof(in_batch));
		writer_free(w);
		fake_free(f);
		ASSERT_LT(total, sizeof(in_batch), "updates of the sync");
		for (fail_at = 1;
		     fail_at <= total && fail_at < sizeof(in_batch);
		     fail_at++) {
			f = fake_new();
			f->fail_update_at = fail_at;
			w = writer_new(&fake_batch_ops, f, &limits);
			if (!ASSERT_OK_PTR(w, "writer_new")) {
				fake_free(f);
				break;
			}
			sync_quiet(w, &want, &st);
			/* in a batch: the rest one at a time, no error */
			if (in_batch[fail_at]) {
				n_in++;
				ASSERT_EQ(st.errors, 0,
					  "errors after a batch stopped");
			}
			/* outside one it fails its set; the next sync mends
			 * it, as without batches */
			f->fail_update_at = 0;
			if (st.errors)
				ASSERT_OK(sync_quiet(w, &want, &st),
					  "second sync");
			if (!ASSERT_TRUE(maps_match(f, &want), "maps match") ||
			    !ASSERT_TRUE(no_violations(f), "no violations")) {
				test__log("failure at update %zu of %zu\n",
					  fail_at, total);
				fail_at = total;
			}
			writer_free(w);
			fake_free(f);
		}
		ASSERT_GT(n_in, 0, "failures inside a batch");
		state_free(&want);
	}
}
